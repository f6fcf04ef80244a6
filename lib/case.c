/* case.c -- case files (doc/reference.md): a network, a batch and optionally a
 * candidate's gradients, as JSON; and the candidate's answers of the
 * external protocol.
 *
 * Errors name the file and the field ("weights[1][2]": W^2, row 2), and the
 * line and column where the parser knows them (malformed JSON).  Unknown
 * keys are errors, never ignored.  JSON rows are samples ("inputs" is
 * B x n_0) where the library's batch has samples as columns. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "internal.h"

static const char *const case_keys[] = {
    "bpcheck", "layers", "activations", "cost",      "reduction",   "weights",
    "biases",  "inputs", "targets",     "gradients", "weight_decay"};

/* Every parse error goes through here: "NAME: field 'F': ...". */
#define FAIL_FIELD(status, field, ...)                                        \
  bpcheck_fail_field((status), name, (field), __VA_ARGS__)

static int bpcheck_fail_field(int status, const char *name, const char *field,
                              const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
bpcheck_fail_field(int status, const char *name, const char *field,
                   const char *fmt, ...)
{
  char detail[384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  return bpcheck_fail(status, "%s: field '%s': %s", name, field, detail);
}

int
bpcheck_case_alloc(bpcheck_case **out, const bpcheck_arch *arch, size_t B)
{
  bpcheck_case *c = bpcheck_calloc(1, sizeof *c);
  if (!c)
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for a case");
  int status = bpcheck_net_alloc(&c->net, arch);
  if (!status)
    status = bpcheck_batch_alloc(&c->batch, arch->n[0], arch->n[arch->L], B);
  if (status) {
    bpcheck_case_free(c);
    return status;
  }
  *out = c;
  return BPCHECK_SUCCESS;
}

void
bpcheck_case_free(bpcheck_case *c)
{
  if (!c)
    return;
  bpcheck_net_free(c->net);
  bpcheck_batch_free(c->batch);
  bpcheck_params_free(c->grad);
  /* dx: a gsl_matrix and its data, one block (dx_alloc) */
  BPCHECK_FREE(c->dx, c);
}

/* A JSON number into *v; an error naming the field otherwise. */
static int
get_number(const json_t *j, const char *name, const char *field, double *v)
{
  if (!json_is_number(j))
    return FAIL_FIELD(BPCHECK_EINVAL, field, "expected a number");
  *v = json_number_value(j);
  if (!isfinite(*v))
    return FAIL_FIELD(BPCHECK_EDOM, field, "%g is not a finite number", *v);
  return BPCHECK_SUCCESS;
}

/* An array of exactly n numbers into v[0], v[stride], ... */
static int
get_vector(const json_t *j, size_t n, const char *name, const char *field,
           double *v, size_t stride)
{
  if (!json_is_array(j))
    return FAIL_FIELD(BPCHECK_EINVAL, field,
                      "expected an array of %zu numbers", n);
  if (json_array_size(j) != n)
    return FAIL_FIELD(BPCHECK_EBADLEN, field, "expected %zu numbers, got %zu",
                      n, json_array_size(j));
  for (size_t i = 0; i < n; i++) {
    const json_t *e = json_array_get(j, i);
    if (json_is_number(e)) { /* the common case, without naming the field */
      const double x = json_number_value(e);
      if (isfinite(x)) {
        v[i * stride] = x;
        continue;
      }
    }
    char sub[96];
    snprintf(sub, sizeof sub, "%s[%zu]", field, i);
    if (json_is_array(e) && json_array_size(e) == 1 && stride == 1)
      return FAIL_FIELD(BPCHECK_EINVAL, sub,
                        "expected a number, got a list of one: %s must be a "
                        "flat list of %zu numbers, not a column ([[b], [b]]: "
                        "flatten it, e.g. b.reshape(-1).tolist())",
                        field, n);
    int status = get_number(e, name, sub, &v[i * stride]);
    if (status)
      return status;
  }
  return BPCHECK_SUCCESS;
}

/* An array of rows rows of cols numbers into the row-major data, or, when
 * transpose is set, into the columns of an cols x rows matrix. */
static int
get_matrix(const json_t *j, size_t rows, size_t cols, const char *name,
           const char *field, gsl_matrix *m, int transpose)
{
  if (!json_is_array(j))
    return FAIL_FIELD(BPCHECK_EINVAL, field, "expected an array of %zu rows",
                      rows);
  if (json_array_size(j) != rows) {
    const json_t *first = json_array_get(j, 0);
    int transposed = json_array_size(j) == cols && json_is_array(first) &&
                     json_array_size(first) == rows;
    return FAIL_FIELD(BPCHECK_EBADLEN, field, "expected %zu rows, got %zu%s",
                      rows, json_array_size(j),
                      transposed ? ": transposed? W^l has n_l rows (receiving "
                                   "nodes) of n_(l-1) numbers (emitting "
                                   "nodes), as PyTorch's nn.Linear (out, in)"
                                 : "");
  }
  for (size_t r = 0; r < rows; r++) {
    char sub[96];
    snprintf(sub, sizeof sub, "%s[%zu]", field, r);
    double *start = transpose ? m->data + r : m->data + r * m->tda;
    int status = get_vector(json_array_get(j, r), cols, name, sub, start,
                            transpose ? m->tda : 1);
    if (status)
      return status;
  }
  return BPCHECK_SUCCESS;
}

/* "weights" and "biases" (of the case or of "gradients") into p. */
static int
get_params(const json_t *weights, const json_t *biases, const char *name,
           const char *prefix, bpcheck_params *p)
{
  char field[64];
  snprintf(field, sizeof field, "%sweights", prefix);
  if (!json_is_array(weights) || json_array_size(weights) != p->L)
    return FAIL_FIELD(BPCHECK_EBADLEN, field,
                      "expected an array of %zu weight matrices (one per "
                      "layer after the input)",
                      p->L);
  snprintf(field, sizeof field, "%sbiases", prefix);
  if (!json_is_array(biases) || json_array_size(biases) != p->L)
    return FAIL_FIELD(BPCHECK_EBADLEN, field,
                      "expected an array of %zu bias vectors", p->L);
  for (size_t l = 1; l <= p->L; l++) {
    int status;
    snprintf(field, sizeof field, "%sweights[%zu]", prefix, l - 1);
    if ((status = get_matrix(json_array_get(weights, l - 1), p->n[l],
                             p->n[l - 1], name, field, &p->W[l], 0)))
      return status;
    snprintf(field, sizeof field, "%sbiases[%zu]", prefix, l - 1);
    if ((status = get_vector(json_array_get(biases, l - 1), p->n[l], name,
                             field, p->b[l].data, 1)))
      return status;
  }
  return BPCHECK_SUCCESS;
}

/* An n_0 x B matrix for dC/da^0 and its data, in one block. */
static int
dx_alloc(gsl_matrix **out, size_t n0, size_t B)
{
  gsl_matrix *m = bpcheck_calloc(1, sizeof *m + n0 * B * sizeof(double));
  if (!m)
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for dC/da^0");
  *m = bpcheck_matrix_on((double *)(m + 1), n0, B);
  *out = m;
  return BPCHECK_SUCCESS;
}

/* "inputs" of an answer or of "gradients": dC/da^0, one row of n_0 numbers
 * per sample like the case's "inputs", into the columns of dx (n_0 x B). */
static int
get_dx(const json_t *j, const char *name, const char *field, gsl_matrix *dx)
{
  const size_t n0 = dx->size1, B = dx->size2;
  const json_t *first = json_array_get(j, 0);
  if (json_is_array(j) && json_array_size(j) != B && n0 != B &&
      json_array_size(j) == n0 && json_is_array(first) &&
      json_array_size(first) == B)
    return FAIL_FIELD(BPCHECK_EBADLEN, field,
                      "expected %zu rows (one per sample) of %zu numbers, "
                      "got %zu rows of %zu: transposed? dC/da^0 has the "
                      "shape of the case's inputs, B x n_0 (PyTorch's "
                      "x.grad for x of shape (B, n_0))",
                      B, n0, n0, B);
  return get_matrix(j, B, n0, name, field, dx, 1);
}

/* The keys of an object must be among allowed. */
static int
check_keys(const json_t *obj, const char *const *allowed, size_t n_allowed,
           const char *name, const char *where)
{
  const char *key;
  json_t *value;
  json_object_foreach((json_t *)obj, key, value)
  {
    size_t i = 0;
    while (i < n_allowed && strcmp(key, allowed[i]) != 0)
      i++;
    if (i == n_allowed)
      return bpcheck_fail(BPCHECK_EINVAL, "%s: unknown key '%s'%s", name, key,
                          where);
  }
  (void)value;
  return BPCHECK_SUCCESS;
}

/* "layers", "activations", "cost", "reduction" into an architecture. */
static int
get_arch(const json_t *root, const char *name, size_t max_params, size_t *n,
         bpcheck_activation *f, bpcheck_arch *arch)
{
  const json_t *layers = json_object_get(root, "layers");
  if (!layers)
    return FAIL_FIELD(BPCHECK_EINVAL, "layers", "missing");
  size_t count = json_is_array(layers) ? json_array_size(layers) : 0;
  if (count < 2 || count > BPCHECK_MAX_LAYERS + 1)
    return FAIL_FIELD(BPCHECK_EINVAL, "layers",
                      "expected an array of 2 to %d layer sizes",
                      BPCHECK_MAX_LAYERS + 1);
  double total = 0;
  for (size_t l = 0; l < count; l++) {
    const json_t *v = json_array_get(layers, l);
    json_int_t size = json_is_integer(v) ? json_integer_value(v) : 0;
    if (size < 1 || size > (json_int_t)BPCHECK_MAX_PARAMS) {
      char sub[48];
      snprintf(sub, sizeof sub, "layers[%zu]", l);
      return FAIL_FIELD(BPCHECK_EINVAL, sub, "expected a whole number >= 1");
    }
    n[l] = (size_t)size;
    if (l > 0)
      total += (double)n[l] * ((double)n[l - 1] + 1);
  }
  if (total > (double)max_params)
    return FAIL_FIELD(BPCHECK_ETOOBIG, "layers",
                      "%.0f parameters exceed the limit of %zu (raise it with "
                      "--max-params)",
                      total, max_params);
  arch->L = count - 1;
  arch->n = n;
  arch->f = f;

  const json_t *acts = json_object_get(root, "activations");
  if (!acts || json_is_string(acts)) {
    bpcheck_activation a = BPCHECK_SIGMOID;
    if (acts && bpcheck_activation_parse(json_string_value(acts), &a))
      return FAIL_FIELD(BPCHECK_EINVAL, "activations", "%s", bpcheck_errmsg());
    for (size_t l = 1; l <= arch->L; l++)
      f[l] = a;
  } else if (json_is_array(acts) && json_array_size(acts) == arch->L) {
    for (size_t l = 0; l < arch->L; l++) {
      char sub[48];
      snprintf(sub, sizeof sub, "activations[%zu]", l);
      const char *s = json_string_value(json_array_get(acts, l));
      if (!s || bpcheck_activation_parse(s, &f[l + 1]))
        return FAIL_FIELD(BPCHECK_EINVAL, sub, "%s",
                          s ? bpcheck_errmsg() : "expected a name");
    }
  } else
    return FAIL_FIELD(BPCHECK_EINVAL, "activations",
                      "expected one name or a list of %zu names", arch->L);

  arch->cost = BPCHECK_QUADRATIC;
  arch->reduction = BPCHECK_MEAN;
  const json_t *cost = json_object_get(root, "cost");
  const json_t *red = json_object_get(root, "reduction");
  if (cost && (!json_is_string(cost) ||
               bpcheck_cost_parse(json_string_value(cost), &arch->cost)))
    return FAIL_FIELD(BPCHECK_EINVAL, "cost", "%s",
                      json_is_string(cost) ? bpcheck_errmsg()
                                           : "expected a name");
  if (red &&
      (!json_is_string(red) ||
       bpcheck_reduction_parse(json_string_value(red), &arch->reduction)))
    return FAIL_FIELD(BPCHECK_EINVAL, "reduction", "%s",
                      json_is_string(red) ? bpcheck_errmsg()
                                          : "expected mean or sum");
  /* The architecture's rules, each with the field that breaks it. */
  for (size_t l = 0; l + 1 < arch->L; l++)
    if (f[l + 1] == BPCHECK_SOFTMAX) {
      char sub[48];
      if (json_is_array(acts))
        snprintf(sub, sizeof sub, "activations[%zu]", l);
      else
        snprintf(sub, sizeof sub, "activations");
      return FAIL_FIELD(BPCHECK_EINVAL, sub,
                        "softmax is only allowed on the output layer "
                        "(layer %zu of %zu)",
                        l + 1, arch->L);
    }
  if (bpcheck_arch_validate(arch))
    return FAIL_FIELD(BPCHECK_EINVAL, "cost", "%s", bpcheck_errmsg());
  return BPCHECK_SUCCESS;
}

/* The targets of the cross-entropy costs are in [0, 1]. */
static int
check_targets(const bpcheck_case *c, const char *name)
{
  const gsl_matrix *Y = c->batch->Y;
  if (c->net->cost != BPCHECK_CROSS_ENTROPY &&
      c->net->cost != BPCHECK_CATEGORICAL_CROSS_ENTROPY)
    return BPCHECK_SUCCESS;
  for (size_t s = 0; s < Y->size2; s++)
    for (size_t k = 0; k < Y->size1; k++) {
      double y = gsl_matrix_get(Y, k, s);
      if (y < 0.0 || y > 1.0) {
        char sub[64];
        snprintf(sub, sizeof sub, "targets[%zu][%zu]", s, k);
        return FAIL_FIELD(BPCHECK_EDOM, sub,
                          "%g is outside [0,1], where %s is defined", y,
                          bpcheck_cost_name(c->net->cost));
      }
    }
  return BPCHECK_SUCCESS;
}

static int
parse_root(const json_t *root, const char *name, size_t max_params,
           bpcheck_case **out)
{
  if (!json_is_object(root))
    return bpcheck_fail(BPCHECK_EINVAL, "%s: expected a JSON object", name);
  int status = check_keys(root, case_keys,
                          sizeof case_keys / sizeof *case_keys, name, "");
  if (status)
    return status;
  const json_t *version = json_object_get(root, "bpcheck");
  if (!version || !json_is_integer(version) ||
      json_integer_value(version) != 1)
    return FAIL_FIELD(BPCHECK_EINVAL, "bpcheck",
                      "%s (this is version 1 of the format)",
                      version ? "expected 1" : "missing");
  static const char *const required[] = {"weights", "biases", "inputs",
                                         "targets"};
  for (size_t i = 0; i < 4; i++)
    if (!json_object_get(root, required[i]))
      return FAIL_FIELD(BPCHECK_EINVAL, required[i], "missing");

  size_t n[BPCHECK_MAX_LAYERS + 1];
  bpcheck_activation f[BPCHECK_MAX_LAYERS + 1]; /* f[1..L] */
  bpcheck_arch arch;
  if ((status = get_arch(root, name, max_params, n, f, &arch)))
    return status;
  const json_t *inputs = json_object_get(root, "inputs");
  const json_t *targets = json_object_get(root, "targets");
  size_t B = json_is_array(inputs) ? json_array_size(inputs) : 0;
  if (B == 0)
    return FAIL_FIELD(BPCHECK_EINVAL, "inputs",
                      "expected a non-empty array of samples (rows of %zu "
                      "numbers)",
                      n[0]);
  if (B > max_params / (n[0] + n[arch.L]))
    return FAIL_FIELD(BPCHECK_ETOOBIG, "inputs",
                      "%zu samples exceed the limit (raise it with "
                      "--max-params)",
                      B);
  if (!json_is_array(targets) || json_array_size(targets) != B)
    return FAIL_FIELD(BPCHECK_EBADLEN, "targets",
                      "expected %zu rows, one per sample of inputs", B);

  bpcheck_case *c;
  if ((status = bpcheck_case_alloc(&c, &arch, B)))
    return status;
  /* (WD.1) lambda, optional: a finite number >= 0 */
  const json_t *decay = json_object_get(root, "weight_decay");
  if (decay && (status = get_number(decay, name, "weight_decay",
                                    &c->net->weight_decay)))
    goto fail;
  if (c->net->weight_decay < 0) {
    status = FAIL_FIELD(BPCHECK_EDOM, "weight_decay",
                        "%g is negative; lambda must be >= 0",
                        c->net->weight_decay);
    goto fail;
  }
  if ((status = get_params(json_object_get(root, "weights"),
                           json_object_get(root, "biases"), name, "",
                           c->net->theta)) ||
      (status = get_matrix(inputs, B, n[0], name, "inputs", c->batch->X, 1)) ||
      (status =
           get_matrix(targets, B, n[arch.L], name, "targets", c->batch->Y, 1)))
    goto fail;
  if ((status = check_targets(c, name)))
    goto fail;
  if ((status = bpcheck_batch_validate(c->net, c->batch))) {
    status = bpcheck_fail(status, "%s: %s", name, bpcheck_errmsg());
    goto fail;
  }
  const json_t *grad = json_object_get(root, "gradients");
  if (grad) {
    static const char *const grad_keys[] = {"weights", "biases", "inputs"};
    if (!json_is_object(grad)) {
      status = FAIL_FIELD(BPCHECK_EINVAL, "gradients",
                          "expected {\"weights\": ..., \"biases\": ...}");
      goto fail;
    }
    if ((status = check_keys(grad, grad_keys, 3, name, " in 'gradients'")) ||
        (status = bpcheck_params_alloc(&c->grad, arch.L, n)) ||
        (status = get_params(json_object_get(grad, "weights"),
                             json_object_get(grad, "biases"), name,
                             "gradients.", c->grad)))
      goto fail;
    const json_t *dx = json_object_get(grad, "inputs");
    if (dx && ((status = dx_alloc(&c->dx, n[0], B)) ||
               (status = get_dx(dx, name, "gradients.inputs", c->dx))))
      goto fail;
  }
  *out = c;
  return BPCHECK_SUCCESS;
fail:
  bpcheck_case_free(c);
  return status;
}

int
bpcheck_case_parse(const char *text, size_t len, const char *name,
                   size_t max_params, bpcheck_case **out)
{
  json_t *root;
  json_error_t error;
  int status = bpcheck_json_load(text, len, name, &root, &error);
  if (status == BPCHECK_EINVAL && error.line < 1)
    return bpcheck_fail(status, "%s: malformed JSON: %s", name, error.text);
  if (status == BPCHECK_EINVAL)
    return bpcheck_fail(status, "%s:%d:%d: malformed JSON: %s", name,
                        error.line, error.column, error.text);
  if (status)
    return status;
  status = parse_root(root, name, max_params, out);
  json_decref(root);
  return status;
}

size_t
bpcheck_case_max_bytes(size_t max_params)
{
  size_t slack = (size_t)1 << 20;
  if (max_params > (SIZE_MAX - slack) / BPCHECK_CASE_BYTES_PER_PARAM)
    return SIZE_MAX;
  return BPCHECK_CASE_BYTES_PER_PARAM * max_params + slack;
}

static int
too_big(const char *name, const char *size, size_t max_bytes)
{
  return bpcheck_fail(BPCHECK_ETOOBIG,
                      "%s: %s than the limit of %zu bytes for a case "
                      "(--max-bytes; by default 120 bytes a parameter of "
                      "--max-params, plus 1 MiB)",
                      name, size, max_bytes);
}

/* The whole of a file ("-": standard input) into a new buffer, refused as
 * soon as it passes max_bytes: a regular file by its size before anything
 * is read, anything else while it is read.  A FIFO, device or socket is
 * opened without blocking and may stay silent at most
 * BPCHECK_CASE_READ_WAIT seconds (a FIFO without a writer). */
static int
slurp(const char *path, size_t max_bytes, char **text, size_t *len)
{
  int is_stdin = strcmp(path, "-") == 0;
  const char *name = is_stdin ? "(stdin)" : path;
  int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_NONBLOCK);
  struct stat st;
  if (fd < 0)
    return bpcheck_fail(BPCHECK_EINVAL, "%s: cannot open: %s", name,
                        strerror(errno));
  int status = BPCHECK_SUCCESS;
  if (fstat(fd, &st))
    status = bpcheck_fail(BPCHECK_EINVAL, "%s: cannot read: %s", name,
                          strerror(errno));
  else if (S_ISDIR(st.st_mode))
    status = bpcheck_fail(BPCHECK_EINVAL, "%s: is a directory", name);
  else if (S_ISREG(st.st_mode) && st.st_size >= 0 &&
           (uintmax_t)st.st_size > max_bytes) {
    char size[64];
    snprintf(size, sizeof size, "%jd bytes, more", (intmax_t)st.st_size);
    status = too_big(name, size, max_bytes);
  }
  if (status) {
    if (!is_stdin)
      close(fd);
    return status;
  }
  int bounded_wait = !is_stdin && !S_ISREG(st.st_mode), waited = 0;
  size_t cap = 65536, used = 0;
  if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size < max_bytes)
    cap = (size_t)st.st_size + 1; /* one more: the end is seen in one go */
  char *buf = bpcheck_calloc(cap, 1);
  if (!buf) {
    if (!is_stdin)
      close(fd);
    return bpcheck_fail(BPCHECK_ENOMEM, "%s: out of memory reading it", name);
  }
  for (;;) {
    if (used == cap) {
      size_t bigger_cap = cap > max_bytes / 2 ? max_bytes + 1 : 2 * cap;
      if (cap > max_bytes) {
        status = too_big(name, "longer", max_bytes);
        break;
      }
      char *bigger = realloc(buf, bigger_cap);
      if (!bigger) {
        status = bpcheck_fail(BPCHECK_ENOMEM,
                              "%s: out of memory reading it (%zu bytes)", name,
                              bigger_cap);
        break;
      }
      buf = bigger, cap = bigger_cap;
    }
    ssize_t got = read(fd, buf + used, cap - used);
    if (got > 0) {
      used += (size_t)got;
      continue;
    }
    if (got < 0 && errno == EINTR)
      continue;
    int again = got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    /* A FIFO without a writer reads as empty: wait for one, a while. */
    int no_writer = got == 0 && used == 0 && S_ISFIFO(st.st_mode) &&
                    bounded_wait && !waited;
    if (!again && !no_writer) {
      if (got < 0)
        status = bpcheck_fail(BPCHECK_EINVAL, "%s: cannot read: %s", name,
                              strerror(errno));
      break;
    }
    waited = 1;
    struct pollfd p = {fd, POLLIN, 0};
    int ready = poll(&p, 1, bounded_wait ? BPCHECK_CASE_READ_WAIT * 1000 : -1);
    if (ready == 0) {
      status = bpcheck_fail(BPCHECK_EINVAL,
                            "%s: nothing to read within %d s (a FIFO "
                            "without a writer?)",
                            name, BPCHECK_CASE_READ_WAIT);
      break;
    }
    if (ready < 0 && errno != EINTR) {
      status = bpcheck_fail(BPCHECK_EINVAL, "%s: cannot read: %s", name,
                            strerror(errno));
      break;
    }
  }
  if (!is_stdin)
    close(fd);
  if (!status && used > max_bytes)
    status = too_big(name, "longer", max_bytes);
  if (status) {
    free(buf);
    return status;
  }
  *text = buf;
  *len = used;
  return BPCHECK_SUCCESS;
}

int
bpcheck_case_read_max(const char *path, size_t max_params, size_t max_bytes,
                      bpcheck_case **out)
{
  char *text = NULL;
  size_t len = 0;
  const char *name = strcmp(path, "-") ? path : "(stdin)";
  int status = slurp(path, max_bytes, &text, &len);
  if (status)
    return status;
  status = bpcheck_case_parse(text, len, name, max_params, out);
  free(text);
  return status;
}

int
bpcheck_case_read(const char *path, size_t max_params, bpcheck_case **out)
{
  return bpcheck_case_read_max(path, max_params,
                               bpcheck_case_max_bytes(max_params), out);
}

/* Writing ----------------------------------------------------------------- */

static json_t *
vector_json(const double *v, size_t n, size_t stride)
{
  json_t *a = json_array();
  for (size_t i = 0; a && i < n; i++)
    if (json_array_append_new(a, json_real(v[i * stride]))) {
      json_decref(a);
      return NULL;
    }
  return a;
}

/* rows x cols of m, or its columns as rows when transpose is set. */
static json_t *
matrix_json(const gsl_matrix *m, int transpose)
{
  size_t rows = transpose ? m->size2 : m->size1;
  size_t cols = transpose ? m->size1 : m->size2;
  json_t *a = json_array();
  for (size_t r = 0; a && r < rows; r++) {
    const double *start = transpose ? m->data + r : m->data + r * m->tda;
    if (json_array_append_new(
            a, vector_json(start, cols, transpose ? m->tda : 1))) {
      json_decref(a);
      return NULL;
    }
  }
  return a;
}

static int
put_params(json_t *obj, const bpcheck_params *p)
{
  json_t *w = json_array(), *b = json_array();
  int bad = !w || !b;
  for (size_t l = 1; !bad && l <= p->L; l++)
    bad = json_array_append_new(w, matrix_json(&p->W[l], 0)) ||
          json_array_append_new(b, vector_json(p->b[l].data, p->n[l], 1));
  if (bad) {
    json_decref(w);
    json_decref(b);
    return -1;
  }
  return json_object_set_new(obj, "weights", w) ||
         json_object_set_new(obj, "biases", b);
}

static json_t *
case_json(const bpcheck_case *c, int with_gradients)
{
  const bpcheck_net *net = c->net;
  json_t *root = json_object(), *layers = json_array(), *acts;
  int same = 1, bad = !root || !layers;
  for (size_t l = 0; !bad && l <= net->L; l++)
    bad = json_array_append_new(layers, json_integer((json_int_t)net->n[l]));
  for (size_t l = 2; l <= net->L; l++)
    same = same && net->f[l] == net->f[1];
  if (same)
    acts = json_string(bpcheck_activation_name(net->f[1]));
  else {
    acts = json_array();
    for (size_t l = 1; acts && l <= net->L; l++)
      json_array_append_new(acts,
                            json_string(bpcheck_activation_name(net->f[l])));
  }
  bad = bad || json_object_set_new(root, "bpcheck", json_integer(1)) ||
        json_object_set_new(root, "layers", layers) ||
        json_object_set_new(root, "activations", acts) ||
        json_object_set_new(root, "cost",
                            json_string(bpcheck_cost_name(net->cost))) ||
        json_object_set_new(
            root, "reduction",
            json_string(bpcheck_reduction_name(net->reduction))) ||
        put_params(root, net->theta) ||
        json_object_set_new(root, "inputs", matrix_json(c->batch->X, 1)) ||
        json_object_set_new(root, "targets", matrix_json(c->batch->Y, 1));
  if (!bad && net->weight_decay != 0.0)
    bad = json_object_set_new(root, "weight_decay",
                              json_real(net->weight_decay));
  if (!bad && with_gradients && c->grad) {
    json_t *g = json_object();
    bad = !g || put_params(g, c->grad) ||
          (c->dx && json_object_set_new(g, "inputs", matrix_json(c->dx, 1))) ||
          json_object_set_new(root, "gradients", g);
  }
  if (bad) {
    json_decref(root);
    return NULL;
  }
  return root;
}

char *
bpcheck_case_dump(const bpcheck_case *c, int with_gradients)
{
  json_t *root = case_json(c, with_gradients);
  char *text = root ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                           JSON_REAL_PRECISION(17))
                    : NULL;
  json_decref(root);
  if (!text)
    bpcheck_fail(BPCHECK_ENOMEM, "no memory to write a case");
  return text;
}

void
bpcheck_case_dump_free(char *text)
{
  free(text); /* jansson allocates with malloc by default */
}

/* Answers of the external protocol --------------------------------------- */

/* What to do about an answer that is not JSON: a non-finite number (JSON
 * has none), or an answer cut at the end of its line (printed on several
 * lines); "" otherwise. */
static const char *
answer_hint(const char *text, size_t len, const json_error_t *error)
{
  if (strstr(error->text, "invalid token")) {
    /* A bare NaN, nan, Infinity, inf, -Infinity anywhere on the line (the
     * parser names only where it stopped). */
    for (size_t i = 0; i + 3 <= len; i++) {
      const int starts = i == 0 || strchr(" ,:[-+", text[i - 1]);
      if (starts && (strncasecmp(text + i, "nan", 3) == 0 ||
                     strncasecmp(text + i, "inf", 3) == 0))
        return ": JSON has no NaN or Infinity; a candidate whose gradient "
               "is not finite should answer {\"error\": \"...\"} saying "
               "so (or {\"skip\": \"...\"} for a case it does not "
               "support)";
    }
  }
  if (strstr(error->text, "end of file"))
    return ": the answer line ends before its JSON does; print the answer "
           "on one line (a pretty-printed answer, e.g. json.dumps(a, "
           "indent=2), spans several)";
  return "";
}

int
bpcheck_answer_parse(const char *text, size_t len, bpcheck_params *g,
                     char *candidate_error, size_t errlen)
{
  return bpcheck_answer_parse_inputs(text, len, g, NULL, NULL, candidate_error,
                                     errlen);
}

int
bpcheck_answer_parse_inputs(const char *text, size_t len, bpcheck_params *g,
                            gsl_matrix *dx, int *have_dx,
                            char *candidate_error, size_t errlen)
{
  if (have_dx)
    *have_dx = 0;
  const char *name = "answer";
  json_t *root;
  json_error_t error;
  int status = bpcheck_json_load(text, len, name, &root, &error);
  if (status == BPCHECK_EINVAL)
    return bpcheck_fail(status, "answer:%d: not valid JSON: %s%s",
                        error.column, error.text,
                        answer_hint(text, len, &error));
  if (status)
    return status;
  static const char *const keys[] = {"weights", "biases", "inputs"};
  const json_t *err = json_object_get(root, "error");
  const json_t *skip = json_object_get(root, "skip");
  if (!json_is_object(root))
    status = bpcheck_fail(BPCHECK_EINVAL, "answer: expected a JSON object");
  else if (err) {
    snprintf(candidate_error, errlen, "%s",
             json_is_string(err) ? json_string_value(err) : "(not a string)");
    status = bpcheck_fail(BPCHECK_ECANDIDATE, "the candidate reported: %s",
                          candidate_error);
  } else if (skip) {
    snprintf(candidate_error, errlen, "%s",
             json_is_string(skip) ? json_string_value(skip)
                                  : "(not a string)");
    status = bpcheck_fail(BPCHECK_ESKIP, "%s", candidate_error);
  } else if (!(status = check_keys(root, keys, dx ? 3 : 2, name,
                                   dx ? " (expected weights, biases and "
                                        "optionally inputs)"
                                      : " (expected weights and biases)")) &&
             !(status =
                   get_params(json_object_get(root, "weights"),
                              json_object_get(root, "biases"), name, "", g))) {
    const json_t *in = json_object_get(root, "inputs");
    if (in && !(status = get_dx(in, name, "inputs", dx)) && have_dx)
      *have_dx = 1;
  }
  json_decref(root);
  return status;
}
