/* check_json.c -- the fast JSON reader (lib/json.c) against jansson's: on
 * every text it accepts, jansson reads the same values, bit for bit; texts
 * outside its subset (invalid JSON, escapes, overflowing numbers, duplicate
 * keys, ...) it leaves to jansson (NULL); and on thousands of random
 * mutations of a case file the two never disagree. */

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "../lib/internal.h"
#include "suites.h"
#include "testutil.h"

/* json_equal, and every real bit for bit (json_equal compares reals with
 * ==, for which 0.0 equals -0.0). */
static int
same(const json_t *a, const json_t *b)
{
  if (!json_equal(a, b))
    return 0;
  if (json_is_real(a)) {
    const double x = json_real_value(a), y = json_real_value(b);
    return memcmp(&x, &y, sizeof x) == 0;
  }
  if (json_is_array(a)) {
    for (size_t i = 0; i < json_array_size(a); i++)
      if (!same(json_array_get(a, i), json_array_get(b, i)))
        return 0;
  }
  if (json_is_object(a)) {
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)a, key, v)
    {
      if (!same(v, json_object_get(b, key)))
        return 0;
    }
  }
  return 1;
}

/* The fast reader on text: NULL, or what jansson reads. */
static int
agrees(const char *text, size_t len)
{
  json_t *fast = bpcheck_json_read(text, len);
  if (!fast)
    return 1;
  json_error_t error;
  json_t *slow = json_loadb(text, len, JSON_REJECT_DUPLICATES, &error);
  int ok = slow && same(fast, slow);
  json_decref(fast);
  json_decref(slow);
  return ok;
}

static const char *const inside[] = {
    "{}",
    "[]",
    " \t\r\n{\"a\" : [1, -2, 0, 3.5, -0.0, 1e3, 1E-3, 2.5e+2]}\n ",
    "[0.1, 0.30000000000000004, 1.7976931348623157e308, "
    "2.2250738585072014e-308]",
    "[123456789012345678, -123456789012345678, -0]",
    "{\"layers\": [3, 4, 2], \"activations\": [\"tanh\", \"softmax\"], "
    "\"ok\": true, \"no\": false, \"none\": null, \"nested\": {\"x\": [[]]}}",
    "[[1.0000000000000002, 0.99999999999999989], [5e-300, -1e-307]]",
};

static const char *const outside[] = {
    "",
    "3",
    "\"top\"",
    "[1,]",
    "[01]",
    "[1.]",
    "[.5]",
    "[1e]",
    "[-]",
    "[+1]",
    "[1e400]",
    "[-1e400]",
    /* underflow to 0 or to a subnormal (strtod's ERANGE): jansson reads
     * them; left to it */
    "[1e-400]",
    "[4.9e-324]",
    "[2.2250738585072011e-308]",
    "[1234567890123456789]",
    "[NaN]",
    "[Infinity]",
    "[0x10]",
    "{\"a\": 1, \"a\": 2}",
    "{\"a\\n\": 1}",
    "[\"caf\xc3\xa9\"]",
    "[\"tab\there\"]",
    "{\"a\" 1}",
    "{\"a\": 1,}",
    "{a: 1}",
    "[1] [2]",
    "[1",
    "[tru]",
    "[1 2]",
    "{\"a\": [1, 2}",
};

START_TEST(test_inside_subset)
{
  const char *text = inside[_i];
  json_t *fast = bpcheck_json_read(text, strlen(text));
  ck_assert_msg(fast != NULL, "not read: %s", text);
  json_decref(fast);
  ck_assert_msg(agrees(text, strlen(text)), "differs from jansson: %s", text);
}
END_TEST

START_TEST(test_outside_subset)
{
  const char *text = outside[_i];
  json_t *fast = bpcheck_json_read(text, strlen(text));
  ck_assert_msg(fast == NULL, "read, though outside the subset: %s", text);
}
END_TEST

/* A case file mutated at random (a byte changed, removed, or doubled) many
 * times: wherever the fast reader accepts the result, jansson reads the
 * same values. */
START_TEST(test_mutations_agree)
{
  static const size_t n[] = {3, 4, 2};
  static const bpcheck_activation f[] = {[1] = BPCHECK_TANH, BPCHECK_SIGMOID};
  bpcheck_arch a = {2, n, f, BPCHECK_QUADRATIC, BPCHECK_MEAN};
  bpcheck_case *c;
  ck_assert_ok(bpcheck_case_alloc(&c, &a, 2));
  const unsigned long seed = test_seed(77);
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, seed);
  bpcheck_net_init_random(c->net, rng);
  ck_assert_ok(bpcheck_batch_init_random(c->batch, c->net, rng));
  char *text = bpcheck_case_dump(c, 0);
  ck_assert_ptr_nonnull(text);
  const size_t len = strlen(text);
  char *m = malloc(2 * len + 1);
  static const char alphabet[] = "0123456789.eE+-,[]{}\": \ntfn\\x";
  size_t read = 0;
  for (int trial = 0; trial < 3000; trial++) {
    memcpy(m, text, len + 1);
    size_t mlen = len;
    for (int edits = 1 + (int)gsl_rng_uniform_int(rng, 3); edits > 0;
         edits--) {
      const size_t at = gsl_rng_uniform_int(rng, mlen);
      switch (gsl_rng_uniform_int(rng, 3)) {
      case 0:
        m[at] = alphabet[gsl_rng_uniform_int(rng, sizeof alphabet - 1)];
        break;
      case 1:
        memmove(m + at, m + at + 1, mlen - at);
        mlen--;
        break;
      default: memmove(m + at + 1, m + at, mlen - at + 1); mlen++;
      }
    }
    ck_assert_msg(agrees(m, mlen), "seed %lu trial %d: %.*s", seed, trial,
                  (int)mlen, m);
    json_t *j = bpcheck_json_read(m, mlen);
    read += j != NULL;
    json_decref(j);
  }
  /* Both kinds occur: the test exercises acceptance and refusal. */
  ck_assert_uint_gt(read, 100);
  ck_assert_uint_lt(read, 2900);
  free(m);
  bpcheck_case_dump_free(text);
  gsl_rng_free(rng);
  bpcheck_case_free(c);
}
END_TEST

/* One token: where the fast conversion answers, strtod's double bit for
 * bit; returns whether it answered. */
static int
decimal_agrees(const char *token, unsigned long seed)
{
  double fast, slow = strtod(token, NULL);
  if (!bpcheck_json_decimal(token, strlen(token), &fast))
    return 0;
  ck_assert_msg(memcmp(&fast, &slow, sizeof fast) == 0,
                "seed %lu: %s: fast %.17g, strtod %.17g", seed, token, fast,
                slow);
  return 1;
}

/* Numbers as written by %.17g, %.16g, %.15g and %.6e of random doubles over
 * the whole normal range (every power of ten of the table), random digit
 * strings of 1 to 19 digits with the point anywhere and any exponent, and
 * near-half-way values (a double and its neighbour's midpoint, written
 * with 19 digits): the fast conversion equals strtod wherever it answers,
 * and answers for nearly all that a program writes. */
START_TEST(test_decimal_equals_strtod)
{
  const unsigned long seed = test_seed(78);
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, seed);
  char token[64];
  size_t answered = 0, written = 0;
  static const char *const formats[] = {"%.17g", "%.16g", "%.15g", "%.6e"};
  for (int i = 0; i < 200000; i++) {
    /* a random normal double: mantissa in [1, 2), exponent -1021..1023 */
    const double x = ldexp(1.0 + gsl_rng_uniform(rng),
                           (int)gsl_rng_uniform_int(rng, 2045) - 1021) *
                     (gsl_rng_uniform(rng) < 0.5 ? -1.0 : 1.0);
    snprintf(token, sizeof token, formats[i % 4], x);
    if (isfinite(strtod(token, NULL)) &&
        fabs(strtod(token, NULL)) >= DBL_MIN) {
      written++;
      answered += (size_t)decimal_agrees(token, seed);
    }
    /* random digits, point and exponent */
    char *t = token;
    const int digits = 1 + (int)gsl_rng_uniform_int(rng, 19);
    const int point = (int)gsl_rng_uniform_int(rng, (unsigned long)digits);
    *t++ = gsl_rng_uniform(rng) < 0.5 ? '-' : '1';
    for (int d = 0; d < digits; d++) {
      *t++ = (char)('0' + gsl_rng_uniform_int(rng, 10));
      if (d == point)
        *t++ = '.', *t++ = (char)('0' + gsl_rng_uniform_int(rng, 10));
    }
    snprintf(t, (size_t)(token + sizeof token - t), "e%d",
             (int)gsl_rng_uniform_int(rng, 640) - 330);
    const double v = strtod(token, NULL);
    if (isfinite(v) && (v == 0 || fabs(v) >= DBL_MIN))
      decimal_agrees(token, seed);
    /* near half-way: the midpoint of x and its neighbour to 19 digits */
    const double mid = x + (nextafter(x, 2 * x) - x) / 2;
    snprintf(token, sizeof token, "%.18e", mid);
    decimal_agrees(token, seed);
  }
  ck_assert_msg(answered >= written - written / 100,
                "seed %lu: the fast conversion answered %zu of %zu", seed,
                answered, written);
  gsl_rng_free(rng);
}
END_TEST

Suite *
make_json_suite(void)
{
  Suite *s = suite_create("json");
  TCase *core = tcase_create("Core");
  tcase_set_timeout(core, TEST_TIMEOUT);
  tcase_add_loop_test(core, test_inside_subset, 0,
                      (int)(sizeof inside / sizeof inside[0]));
  tcase_add_test(core, test_mutations_agree);
  tcase_add_test(core, test_decimal_equals_strtod);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("Errors");
  tcase_set_timeout(errors, TEST_TIMEOUT);
  tcase_add_loop_test(errors, test_outside_subset, 0,
                      (int)(sizeof outside / sizeof outside[0]));
  suite_add_tcase(s, errors);
  return s;
}
