/* json.c -- a fast reader for the JSON of case files and answers.
 *
 * jansson's reader takes a character at a time through a stream, and on a
 * case file of 17,802 parameters it was half of verify's time.  This one
 * reads the common case, numbers in arrays, in one tight loop, and builds
 * the same jansson values (so that case.c reads them as before).  It is
 * deliberately partial: it accepts a subset of JSON and returns NULL on
 * anything outside it, and the caller then reads the text with jansson,
 * whose result (a value, or an error with its line and column) is the
 * answer.  The subset:
 *
 *   - objects and arrays nested at most MAX_DEPTH deep, an object or an
 *     array at the top, only JSON's white space around tokens;
 *   - strings of printable ASCII without escapes (keys, activation names);
 *   - numbers of JSON's grammar
 * (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?): with a fraction or an
 * exponent, the correctly rounded double, as strtod (and so jansson) reads it,
 * by to_double below where it is sure and by strtod itself otherwise; without,
 * integers of at most 18 digits; a number that overflows or underflows, or is
 * longer than MAX_NUMBER characters, is outside;
 *   - true, false, null; no key twice in an object (JSON_REJECT_DUPLICATES).
 *
 * Within the subset the values equal jansson's, bit for bit
 * (tests/check_json.c compares both readers on valid, invalid and mutated
 * texts). */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_DEPTH 64
#define MAX_NUMBER 64

/* lib/pow10.c (scripts/pow10-table): 10^e, e = -348..347, as 128 bits
 * {lo, hi} rounded down, the top bit of hi set. */
extern const uint64_t bpcheck_pow10[696][2];

/* The correctly rounded double of w 10^q (w != 0), or 0 when this cannot
 * be sure of it (the caller then asks strtod).  Two exact methods:
 *
 * Clinger's: w <= 2^53 and |q| <= 22, so w and 10^|q| are exact doubles and
 * one multiplication or division rounds once, correctly.
 *
 * Eisel and Lemire's (D. Lemire, "Number parsing at a gigabyte per
 * second", Software: Practice and Experience 51(8), 2021): w normalized to
 * 64 bits times the 128-bit 10^q rounded down; the top 54 bits of the
 * product are the double's 53 and a rounding bit, unless the bits below
 * could still carry into them (the product's low bits all ones: one more
 * 64-bit product decides, or it gives up) or the value is half-way between
 * two doubles as far as the truncation can tell (it gives up).  Results
 * that would be subnormal or infinite are left to strtod as well. */
static int
to_double(uint64_t w, int q, int negative, double *x)
{
  if (w <= (UINT64_C(1) << 53) && q >= -22 && q <= 22) {
    static const double p10[] = {
        1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    double v = (double)w;
    v = q >= 0 ? v * p10[q] : v / p10[-q];
    *x = negative ? -v : v;
    return 1;
  }
#ifdef __SIZEOF_INT128__
  if (q < -348 || q > 347)
    return 0;
  const int clz = __builtin_clzll(w);
  const uint64_t man = w << clz;
  /* floor(q 217706 / 2^16) = floor(q log2(10)) over the table's range */
  const int64_t p = (int64_t)217706 * q;
  const int64_t f = p >= 0 ? p / 65536 : -((-p + 65535) / 65536);
  int64_t exp2 = f + 64 + 1023 - clz;
  const uint64_t *t = bpcheck_pow10[q + 348];
  const unsigned __int128 xp = (unsigned __int128)man * t[1];
  uint64_t hi = (uint64_t)(xp >> 64), lo = (uint64_t)xp;
  if ((hi & 0x1FF) == 0x1FF && lo + man < man) {
    const unsigned __int128 yp = (unsigned __int128)man * t[0];
    const uint64_t y_hi = (uint64_t)(yp >> 64), y_lo = (uint64_t)yp;
    uint64_t m_hi = hi, m_lo = lo + y_hi;
    if (m_lo < lo)
      m_hi++;
    if ((m_hi & 0x1FF) == 0x1FF && m_lo + 1 == 0 && y_lo + man < man)
      return 0;
    hi = m_hi, lo = m_lo;
  }
  const uint64_t msb = hi >> 63;
  uint64_t mantissa = hi >> (msb + 9);
  exp2 -= (int64_t)(1 ^ msb);
  if (lo == 0 && (hi & 0x1FF) == 0 && (mantissa & 3) == 1)
    return 0;               /* half-way, as far as it can tell */
  mantissa += mantissa & 1; /* to 53 bits, ties to even */
  mantissa >>= 1;
  if (mantissa >> 53) {
    mantissa >>= 1;
    exp2++;
  }
  if (exp2 <= 0 || exp2 >= 0x7FF)
    return 0;
  const uint64_t bits = (uint64_t)exp2 << 52 |
                        (mantissa & ((UINT64_C(1) << 52) - 1)) |
                        (negative ? UINT64_C(1) << 63 : 0);
  memcpy(x, &bits, sizeof *x);
  return 1;
#else
  return 0;
#endif
}

/* A decimal token of JSON's grammar (checked by the caller) as w 10^q,
 * then to_double; 0 when it has more than 19 significant digits or an
 * exponent of more than 4 digits, or to_double is not sure (strtod then).
 * (internal.h: the tests compare it with strtod.) */
int
bpcheck_json_decimal(const char *s, size_t n, double *x)
{
  const char *end = s + n;
  const int negative = *s == '-';
  s += negative;
  uint64_t w = 0;
  int digits = 0, q = 0, frac = 0;
  for (; s < end && *s != 'e' && *s != 'E'; s++) {
    if (*s == '.') {
      frac = 1;
      continue;
    }
    if (w || *s != '0') { /* a significant digit */
      if (++digits > 19)
        return 0;
      w = 10 * w + (uint64_t)(*s - '0');
    }
    q -= frac;
  }
  if (s < end) { /* the exponent */
    s++;
    const int minus = *s == '-';
    s += *s == '-' || *s == '+';
    if (end - s > 4)
      return 0;
    int e = 0;
    for (; s < end; s++)
      e = 10 * e + (*s - '0');
    q += minus ? -e : e;
  }
  if (w == 0) {
    *x = negative ? -0.0 : 0.0;
    return 1;
  }
  return to_double(w, q, negative, x);
}

typedef struct {
  const char *p, *end;
} reader;

static void
skip_space(reader *r)
{
  while (r->p < r->end &&
         (*r->p == ' ' || *r->p == '\n' || *r->p == '\t' || *r->p == '\r'))
    r->p++;
}

static int
is_digit(const reader *r)
{
  return r->p < r->end && *r->p >= '0' && *r->p <= '9';
}

/* A number of JSON's grammar into a new jansson value; NULL when outside
 * the subset. */
static json_t *
read_number(reader *r)
{
  const char *start = r->p;
  int real = 0;
  if (r->p < r->end && *r->p == '-')
    r->p++;
  if (!is_digit(r))
    return NULL;
  if (*r->p == '0')
    r->p++;
  else
    while (is_digit(r))
      r->p++;
  if (r->p < r->end && *r->p == '.') {
    real = 1, r->p++;
    if (!is_digit(r))
      return NULL;
    while (is_digit(r))
      r->p++;
  }
  if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
    real = 1, r->p++;
    if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
      r->p++;
    if (!is_digit(r))
      return NULL;
    while (is_digit(r))
      r->p++;
  }
  const size_t n = (size_t)(r->p - start);
  char token[MAX_NUMBER + 1];
  if (n > MAX_NUMBER || (!real && n - (*start == '-') > 18))
    return NULL;
  memcpy(token, start, n);
  token[n] = '\0';
  char *stop;
  errno = 0;
  if (!real) {
    const long long i = strtoll(token, &stop, 10);
    return stop == token + n && !errno ? json_integer(i) : NULL;
  }
  double x;
  if (bpcheck_json_decimal(start, n, &x))
    return json_real(x);
  x = strtod(token, &stop);
  /* ERANGE: an overflow, which jansson refuses, or an underflow, which it
   * reads: both are left to it. */
  return stop == token + n && !errno ? json_real(x) : NULL;
}

/* A string of printable ASCII without escapes, from after its opening
 * quote; its length in *n, the reader after its closing quote. */
static const char *
read_string(reader *r, size_t *n)
{
  const char *start = r->p;
  while (r->p < r->end && *r->p != '"') {
    const unsigned char c = (unsigned char)*r->p;
    if (c < 0x20 || c > 0x7e || c == '\\')
      return NULL;
    r->p++;
  }
  if (r->p == r->end)
    return NULL;
  *n = (size_t)(r->p++ - start);
  return start;
}

static int
read_word(reader *r, const char *word)
{
  const size_t n = strlen(word);
  if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n))
    return 0;
  r->p += n;
  return 1;
}

static json_t *read_value(reader *r, int depth);

/* An object's next key, and the ':' after it, into key (size bytes): 0
 * when it is not a string shorter than size, or o has it already. */
static int
read_key(reader *r, const json_t *o, char *key, size_t size)
{
  size_t n;
  const char *k;
  skip_space(r);
  if (r->p == r->end || *r->p++ != '"' || !(k = read_string(r, &n)) ||
      n >= size)
    return 0;
  memcpy(key, k, n);
  key[n] = '\0';
  skip_space(r);
  return r->p < r->end && *r->p++ == ':' && !json_object_get(o, key);
}

/* An array (close is ']') or an object ('}') after its opening bracket. */
static json_t *
read_container(reader *r, int depth, char close)
{
  const int object = close == '}';
  json_t *x = object ? json_object() : json_array();
  if (!x)
    return NULL;
  skip_space(r);
  if (r->p < r->end && *r->p == close) {
    r->p++;
    return x;
  }
  for (;;) {
    char key[256];
    if (object && !read_key(r, x, key, sizeof key))
      break;
    json_t *v = read_value(r, depth + 1);
    if (!v || (object ? json_object_set_new(x, key, v)
                      : json_array_append_new(x, v)))
      break;
    skip_space(r);
    if (r->p == r->end)
      break;
    const char c = *r->p++;
    if (c == close)
      return x;
    if (c != ',')
      break;
  }
  json_decref(x);
  return NULL;
}

static json_t *
read_value(reader *r, int depth)
{
  if (depth > MAX_DEPTH)
    return NULL;
  skip_space(r);
  if (r->p == r->end)
    return NULL;
  switch (*r->p) {
  case '[': r->p++; return read_container(r, depth, ']');
  case '{': r->p++; return read_container(r, depth, '}');
  case '"': {
    size_t n;
    r->p++;
    const char *s = read_string(r, &n);
    return s ? json_stringn_nocheck(s, n) : NULL;
  }
  case 't': return read_word(r, "true") ? json_true() : NULL;
  case 'f': return read_word(r, "false") ? json_false() : NULL;
  case 'n': return read_word(r, "null") ? json_null() : NULL;
  default: return read_number(r);
  }
}

json_t *
bpcheck_json_read(const char *text, size_t len)
{
  reader r = {text, text + len};
  skip_space(&r);
  if (r.p == r.end || (*r.p != '{' && *r.p != '['))
    return NULL; /* jansson's default: an object or an array at the top */
  json_t *root = read_value(&r, 1);
  if (!root)
    return NULL;
  skip_space(&r);
  if (r.p != r.end) {
    json_decref(root);
    return NULL;
  }
  return root;
}

int
bpcheck_json_load(const char *text, size_t len, const char *name,
                  json_t **root, json_error_t *error)
{
  memset(error, 0, sizeof *error); /* its code is not always set */
  *root = bpcheck_json_read(text, len);
  if (!*root)
    *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, error);
  if (*root)
    return BPCHECK_SUCCESS;
  /* jansson runs out of memory with that code, or with no message. */
  if (json_error_code(error) == json_error_out_of_memory || !error->text[0])
    return bpcheck_fail(BPCHECK_ENOMEM,
                        "%s: out of memory parsing its %zu bytes", name, len);
  return BPCHECK_EINVAL;
}
