/* check_case.c -- case files: a written case reads back bit for bit, and
 * every kind of bad input is refused with a message that names the file,
 * the field, and the line and column of malformed JSON. */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "suites.h"
#include "testutil.h"

static bpcheck_case *
random_case(unsigned long seed)
{
  static const size_t n[] = {3, 4, 2};
  static const bpcheck_activation f[] = {[1] = BPCHECK_TANH, BPCHECK_SOFTMAX};
  bpcheck_arch a = {2, n, f, BPCHECK_CATEGORICAL_CROSS_ENTROPY, BPCHECK_SUM};
  bpcheck_case *c;
  ck_assert_ok(bpcheck_case_alloc(&c, &a, 3));
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, seed);
  bpcheck_net_init_random(c->net, rng);
  ck_assert_ok(bpcheck_batch_init_random(c->batch, c->net, rng));
  gsl_rng_free(rng);
  return c;
}

/* Written and read back: the same architecture and the same doubles (17
 * significant digits round-trip exactly), gradients included. */
START_TEST(test_round_trip)
{
  bpcheck_case *c = random_case(test_seed(8)), *d;
  ck_assert_ok(bpcheck_params_alloc(&c->grad, 2, c->net->n));
  for (size_t i = 0; i < c->grad->size; i++)
    c->grad->data[i] = 1.0 / 3.0 + (double)i;
  char *text = bpcheck_case_dump(c, 1);
  ck_assert_ptr_nonnull(text);
  ck_assert_ptr_null(strchr(text, '\n')); /* one line: the protocol's */
  ck_assert_ok(bpcheck_case_parse(text, strlen(text), "t.json",
                                  BPCHECK_CASE_MAX_PARAMS, &d));
  ck_assert_uint_eq(d->net->L, 2);
  ck_assert_int_eq(d->net->f[2], BPCHECK_SOFTMAX);
  ck_assert_int_eq(d->net->cost, BPCHECK_CATEGORICAL_CROSS_ENTROPY);
  ck_assert_int_eq(d->net->reduction, BPCHECK_SUM);
  ck_assert_uint_eq(d->batch->B, 3);
  ck_assert_int_eq(memcmp(c->net->theta->data, d->net->theta->data,
                          c->net->theta->size * sizeof(double)),
                   0);
  ck_assert_int_eq(
      memcmp(c->grad->data, d->grad->data, c->grad->size * sizeof(double)), 0);
  for (size_t s = 0; s < 3; s++) {
    for (size_t j = 0; j < 3; j++)
      ck_assert(gsl_matrix_get(c->batch->X, j, s) ==
                gsl_matrix_get(d->batch->X, j, s));
    for (size_t k = 0; k < 2; k++)
      ck_assert(gsl_matrix_get(c->batch->Y, k, s) ==
                gsl_matrix_get(d->batch->Y, k, s));
  }
  bpcheck_case_dump_free(text);
  text = bpcheck_case_dump(c, 0);
  ck_assert_ptr_null(strstr(text, "gradients"));
  bpcheck_case_dump_free(text);
  bpcheck_case_free(c);
  bpcheck_case_free(d);
}
END_TEST

/* A small case written by hand: rows are samples, W^l rows are receiving
 * nodes; defaults sigmoid, quadratic, mean. */
START_TEST(test_hand_written)
{
  const char *text = "{\"bpcheck\": 1, \"layers\": [2, 1],\n"
                     " \"weights\": [[[0.5, -1]]], \"biases\": [[0.25]],\n"
                     " \"inputs\": [[1, 2], [3, 4]], \"targets\": [[0], [1]]}";
  bpcheck_case *c;
  ck_assert_ok(bpcheck_case_parse(text, strlen(text), "h.json", 100, &c));
  ck_assert_int_eq(c->net->f[1], BPCHECK_SIGMOID);
  ck_assert_int_eq(c->net->cost, BPCHECK_QUADRATIC);
  ck_assert_int_eq(c->net->reduction, BPCHECK_MEAN);
  ck_assert_double_eq(gsl_matrix_get(&c->net->theta->W[1], 0, 1), -1);
  ck_assert_double_eq(gsl_matrix_get(c->batch->X, 1, 0), 2); /* x_1, s 0 */
  ck_assert_double_eq(gsl_matrix_get(c->batch->X, 0, 1), 3); /* x_0, s 1 */
  ck_assert_double_eq(gsl_matrix_get(c->batch->Y, 0, 1), 1);
  ck_assert_ptr_null(c->grad);
  bpcheck_case_free(c);
}
END_TEST

/* Bad inputs: each with the text of its message. */
static const struct {
  const char *json, *message;
  int status;
} bad[] = {
    {"{\"bpcheck\": 1,\n \"layers\": [2, 1],, }",
     "b.json:2:19: malformed JSON", BPCHECK_EINVAL},
    {"[1, 2]", "expected a JSON object", BPCHECK_EINVAL},
    {"{\"bpcheck\": 2}", "field 'bpcheck'", BPCHECK_EINVAL},
    {"{\"bpcheck\": 1, \"layer\": [2, 1]}", "unknown key 'layer'",
     BPCHECK_EINVAL},
    {"{\"bpcheck\": 1, \"layers\": [2, 1], \"biases\": [], \"inputs\": [],"
     " \"targets\": []}",
     "field 'weights': missing", BPCHECK_EINVAL},
    {"{\"bpcheck\": 1, \"layers\": [2], \"weights\": [], \"biases\": [],"
     " \"inputs\": [], \"targets\": []}",
     "field 'layers'", BPCHECK_EINVAL},
    {"{\"bpcheck\": 1, \"layers\": [2, 0], \"weights\": [], \"biases\": [],"
     " \"inputs\": [], \"targets\": []}",
     "field 'layers[1]'", BPCHECK_EINVAL},
    {"{\"bpcheck\": 1, \"layers\": [2, 1], \"activations\": \"swish\","
     " \"weights\": [], \"biases\": [], \"inputs\": [], \"targets\": []}",
     "unknown activation 'swish'", BPCHECK_EINVAL},
    {"{\"bpcheck\": 1, \"layers\": [2, 1], \"cost\": \"hinge\","
     " \"weights\": [], \"biases\": [], \"inputs\": [], \"targets\": []}",
     "unknown cost 'hinge'", BPCHECK_EINVAL},
    {"{\"bpcheck\": 1, \"layers\": [2, 1], \"activations\": \"softmax\","
     " \"weights\": [], \"biases\": [], \"inputs\": [[1,2]], \"targets\": "
     "[[1]], \"cost\": \"cross_entropy\"}",
     "softmax over one output", BPCHECK_EINVAL},
    {"{\"bpcheck\": 1, \"layers\": [2, 1], \"weights\": [[[1, 2]]],"
     " \"biases\": [[0]], \"inputs\": [], \"targets\": []}",
     "field 'inputs': expected a non-empty array", BPCHECK_EINVAL},
    {"{\"bpcheck\": 1, \"layers\": [2, 1], \"weights\": [[[1]]],"
     " \"biases\": [[0]], \"inputs\": [[1, 2]], \"targets\": [[0]]}",
     "field 'weights[0][0]': expected 2 numbers, got 1", BPCHECK_EBADLEN},
    {"{\"bpcheck\": 1, \"layers\": [2, 1], \"weights\": [[[1, \"x\"]]],"
     " \"biases\": [[0]], \"inputs\": [[1, 2]], \"targets\": [[0]]}",
     "field 'weights[0][0][1]': expected a number", BPCHECK_EINVAL},
    {"{\"bpcheck\": 1, \"layers\": [2, 1], \"weights\": [[[1, 2]]],"
     " \"biases\": [[0]], \"inputs\": [[1, 2]], \"targets\": [[0], [1]]}",
     "field 'targets': expected 1 rows", BPCHECK_EBADLEN},
    {"{\"bpcheck\": 1, \"layers\": [2, 1], \"weights\": [[[1, 2]]],"
     " \"biases\": [[0]], \"inputs\": [[1, 2]], \"targets\": [[1e999]]}",
     "malformed JSON", BPCHECK_EINVAL},
    {"{\"bpcheck\": 1, \"layers\": [2, 1], \"weights\": [[[1, 2]]],"
     " \"biases\": [[0]], \"inputs\": [[1, NaN]], \"targets\": [[0]]}",
     "malformed JSON", BPCHECK_EINVAL},
    {"{\"bpcheck\": 1, \"layers\": [2, 1], \"cost\": \"cross_entropy\","
     " \"weights\": [[[1, 2]]], \"biases\": [[0]], \"inputs\": [[1, 2]],"
     " \"targets\": [[1.5]]}",
     "outside [0,1]", BPCHECK_EDOM},
    {"{\"bpcheck\": 1, \"layers\": [2, 1], \"weights\": [[[1, 2]]],"
     " \"biases\": [[0]], \"inputs\": [[1, 2]], \"targets\": [[0]],"
     " \"gradients\": {\"weights\": [[[1, 2]]]}}",
     "field 'gradients.biases'", BPCHECK_EBADLEN},
    {"{\"bpcheck\": 1, \"layers\": [2, 1], \"weights\": [[[1, 2]]],"
     " \"biases\": [[0]], \"inputs\": [[1, 2]], \"targets\": [[0]],"
     " \"gradients\": {\"weights\": [[[1, 2]]], \"biases\": [[0]], \"x\": 1}}",
     "unknown key 'x' in 'gradients'", BPCHECK_EINVAL},
    {"{\"bpcheck\": 1, \"bpcheck\": 1}", "duplicate", BPCHECK_EINVAL},
    /* Field paths for the rules of the targets and the architecture. */
    {"{\"bpcheck\": 1, \"layers\": [2, 1], \"cost\": \"cross_entropy\","
     " \"weights\": [[[1, 2]]], \"biases\": [[0]], \"inputs\": [[1, 2],"
     " [0, 0]], \"targets\": [[0], [-1]]}",
     "field 'targets[1][0]': -1 is outside [0,1]", BPCHECK_EDOM},
    {"{\"bpcheck\": 1, \"layers\": [2, 2, 1], \"activations\": [\"softmax\","
     " \"sigmoid\"], \"weights\": [], \"biases\": [], \"inputs\": [[1,2]],"
     " \"targets\": [[1]]}",
     "field 'activations[0]': softmax is only allowed", BPCHECK_EINVAL},
    {"{\"bpcheck\": 1, \"layers\": [2, 1], \"activations\": \"relu\","
     " \"cost\": \"cross_entropy\", \"weights\": [], \"biases\": [],"
     " \"inputs\": [[1,2]], \"targets\": [[1]]}",
     "field 'cost': cross_entropy needs outputs in (0,1)", BPCHECK_EINVAL},
    {"{\"bpcheck\": 1, \"layers\": [4000, 4000], \"weights\": [],"
     " \"biases\": [], \"inputs\": [], \"targets\": []}",
     "exceed the limit of 1000000", BPCHECK_ETOOBIG},
};

START_TEST(test_bad_input)
{
  bpcheck_case *c = NULL;
  int status = bpcheck_case_parse(bad[_i].json, strlen(bad[_i].json), "b.json",
                                  1000000, &c);
  ck_assert_msg(status == bad[_i].status, "case %d: status %d (%s), not %d",
                _i, status, bpcheck_errmsg(), bad[_i].status);
  ck_assert_msg(strstr(bpcheck_errmsg(), bad[_i].message),
                "case %d: '%s' lacks '%s'", _i, bpcheck_errmsg(),
                bad[_i].message);
  ck_assert_msg(strncmp(bpcheck_errmsg(), "b.json", 6) == 0,
                "the message names the file: %s", bpcheck_errmsg());
  ck_assert_ptr_null(c);
  gsl_guard_check();
}
END_TEST

START_TEST(test_unreadable)
{
  bpcheck_case *c = NULL;
  ck_assert_int_eq(bpcheck_case_read("/nonexistent/x.json", 100, &c),
                   BPCHECK_EINVAL);
  ck_assert_ptr_nonnull(strstr(bpcheck_errmsg(), "cannot open"));
}
END_TEST

/* A file over the byte bound is refused by its size, before it is read. */
START_TEST(test_read_bounded)
{
  char path[] = "/tmp/bpcheck-check-case-XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  char spaces[2000];
  memset(spaces, ' ', sizeof spaces);
  ck_assert_int_eq(write(fd, spaces, sizeof spaces), (int)sizeof spaces);
  close(fd);
  bpcheck_case *c = NULL;
  ck_assert_int_eq(bpcheck_case_read_max(path, 100, 1000, &c),
                   BPCHECK_ETOOBIG);
  ck_assert_ptr_nonnull(
      strstr(bpcheck_errmsg(), "2000 bytes, more than the limit of 1000"));
  ck_assert_int_eq(bpcheck_case_read_max(path, 100, 2000, &c),
                   BPCHECK_EINVAL); /* within the bound: read, not JSON */
  ck_assert_ptr_nonnull(strstr(bpcheck_errmsg(), "malformed JSON"));
  ck_assert_ptr_null(c);
  unlink(path);
  ck_assert_int_eq(bpcheck_case_read_max("/tmp", 100, 1000, &c),
                   BPCHECK_EINVAL);
  ck_assert_ptr_nonnull(strstr(bpcheck_errmsg(), "is a directory"));
  ck_assert_uint_eq(bpcheck_case_max_bytes(10000), 120 * 10000 + (1 << 20));
  ck_assert_uint_eq(bpcheck_case_max_bytes(SIZE_MAX / 2), SIZE_MAX);
}
END_TEST

static void *
no_memory(size_t n)
{
  (void)n;
  return NULL;
}

/* jansson out of memory is named as such, not as malformed JSON. */
START_TEST(test_parse_out_of_memory)
{
  json_malloc_t m;
  json_free_t f;
  json_get_alloc_funcs(&m, &f);
  json_set_alloc_funcs(no_memory, f);
  bpcheck_case *c = NULL;
  const char *text = "{\"bpcheck\": 1}";
  int status = bpcheck_case_parse(text, strlen(text), "m.json", 100, &c);
  json_set_alloc_funcs(m, f);
  ck_assert_int_eq(status, BPCHECK_ENOMEM);
  ck_assert_str_eq(bpcheck_errmsg(), "m.json: out of memory parsing its 14 "
                                     "bytes");
}
END_TEST

/* Answers of the protocol. */
START_TEST(test_answers)
{
  static const size_t n[] = {2, 1};
  bpcheck_params *g;
  char why[64];
  ck_assert_ok(bpcheck_params_alloc(&g, 1, n));
  const char *ok = "{\"weights\": [[[1.5, -2]]], \"biases\": [[0.25]]}";
  ck_assert_ok(bpcheck_answer_parse(ok, strlen(ok), g, why, sizeof why));
  ck_assert_double_eq(g->data[1], -2);
  ck_assert_double_eq(g->data[2], 0.25);
  const char *err = "{\"error\": \"softplus not supported\"}";
  ck_assert_int_eq(bpcheck_answer_parse(err, strlen(err), g, why, sizeof why),
                   BPCHECK_ECANDIDATE);
  ck_assert_str_eq(why, "softplus not supported");
  const char *shape = "{\"weights\": [[[1.5]]], \"biases\": [[0.25]]}";
  ck_assert_int_eq(
      bpcheck_answer_parse(shape, strlen(shape), g, why, sizeof why),
      BPCHECK_EBADLEN);
  const char *extra = "{\"weights\": [[[1, 2]]], \"biases\": [[0]], \"x\":0}";
  ck_assert_int_eq(
      bpcheck_answer_parse(extra, strlen(extra), g, why, sizeof why),
      BPCHECK_EINVAL);
  ck_assert_int_eq(bpcheck_answer_parse("nope", 4, g, why, sizeof why),
                   BPCHECK_EINVAL);
  /* {"skip": reason}: declined, the reason kept. */
  const char *skip = "{\"skip\": \"no relu\"}";
  ck_assert_int_eq(
      bpcheck_answer_parse(skip, strlen(skip), g, why, sizeof why),
      BPCHECK_ESKIP);
  ck_assert_str_eq(why, "no relu");
  ck_assert_str_eq(bpcheck_errmsg(), "no relu");
  /* Biases as a column: a shape hint. */
  const char *column = "{\"weights\": [[[1, 2]]], \"biases\": [[[0]]]}";
  ck_assert_int_eq(
      bpcheck_answer_parse(column, strlen(column), g, why, sizeof why),
      BPCHECK_EINVAL);
  ck_assert_ptr_nonnull(strstr(bpcheck_errmsg(),
                               "biases[0] must be a flat list of 1 numbers, "
                               "not a column"));
  /* NaN, -Infinity: JSON has none, and what to answer instead. */
  const char *nonfinite[] = {"{\"weights\": [[[NaN, 2]]], \"biases\": [[0]]}",
                             "{\"weights\": [[[1, -Infinity]]], "
                             "\"biases\": [[0]]}"};
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(bpcheck_answer_parse(nonfinite[i], strlen(nonfinite[i]),
                                          g, why, sizeof why),
                     BPCHECK_EINVAL);
    ck_assert_ptr_nonnull(
        strstr(bpcheck_errmsg(), "JSON has no NaN or Infinity"));
  }
  /* The first line of a pretty-printed answer. */
  ck_assert_int_eq(bpcheck_answer_parse("{", 1, g, why, sizeof why),
                   BPCHECK_EINVAL);
  ck_assert_ptr_nonnull(
      strstr(bpcheck_errmsg(), "print the answer on one line"));
  bpcheck_params_free(g);
}
END_TEST

Suite *
make_case_suite(void)
{
  Suite *s = suite_create("case");
  TCase *core = tcase_create("Core");
  tcase_set_timeout(core, TEST_TIMEOUT);
  tcase_add_test(core, test_round_trip);
  tcase_add_test(core, test_hand_written);
  tcase_add_test(core, test_answers);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("Errors");
  tcase_set_timeout(errors, TEST_TIMEOUT);
  tcase_add_checked_fixture(errors, gsl_guard_setup, gsl_guard_teardown);
  tcase_add_loop_test(errors, test_bad_input, 0,
                      (int)(sizeof bad / sizeof bad[0]));
  tcase_add_test(errors, test_unreadable);
  tcase_add_test(errors, test_read_bounded);
  tcase_add_test(errors, test_parse_out_of_memory);
  suite_add_tcase(s, errors);
  return s;
}
