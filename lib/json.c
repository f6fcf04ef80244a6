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
 *   - numbers of JSON's grammar,
 * -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, read by strtod (as jansson
 * does) when they have a fraction or an exponent, else as integers of at most
 * 18 digits; a number that overflows, or is longer than MAX_NUMBER characters,
 * is outside;
 *   - true, false, null; no key twice in an object (JSON_REJECT_DUPLICATES).
 *
 * Within the subset the values equal jansson's, bit for bit
 * (tests/check_json.c compares both readers on valid, invalid and mutated
 * texts). */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_DEPTH 64
#define MAX_NUMBER 64

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
  const double x = strtod(token, &stop);
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
