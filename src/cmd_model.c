/* cmd_model.c -- `bpcheck model --exec CMD`: any model's gradient, checked
 * through loss and gradient requests across the process boundary
 * (doc/reference.md, "The protocol of bpcheck model"; the check itself is
 * bpcheck_check_function, proofs/09-any-function.md).
 *
 * The candidate owns its model and data; bpcheck asks for its parameters
 * once, then for the loss (and the gradient) at points theta of its
 * choosing, one JSON line each way. */

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "external.h"
#include "options.h"

static const char usage[] =
    "Usage: bpcheck model --exec 'CMD' [--mode full|directional|auto]\n"
    "                     [--seed S] [--points N] [--timeout SEC]\n"
    "                     [--max-params N] [--no-along]\n"
    "Checks the gradient of any model -- convolutions, attention, custom\n"
    "autograd functions, in any language -- through its loss. CMD is started\n"
    "once; bpcheck writes one request per line on its stdin and reads one\n"
    "answer per line from its stdout:\n"
    "  {\"request\": \"parameters\"}\n"
    "      -> {\"parameters\": [{\"name\": \"conv1.weight\", \"shape\": [8, "
    "1, 3, "
    "3],\n"
    "                          \"values\": [...]}, ...]}   (row-major)\n"
    "  {\"request\": \"loss\", \"theta\": [[...], ...]}  -> {\"loss\": C}\n"
    "  {\"request\": \"gradient\", \"theta\": [[...], ...]}\n"
    "      -> {\"loss\": C, \"gradient\": [[...], ...]}\n"
    "(theta and the gradient: one flat list per tensor, in the order given;\n"
    "the loss a deterministic function of theta.) A model whose parameters\n"
    "answer adds \"supports\": [\"along\"] is sent each direction once and\n"
    "then only steps along it, theta0 being the last gradient request's "
    "theta:\n"
    "  {\"request\": \"direction\", \"id\": N, \"v\": [[1, -1, 0, ...], 0, "
    "...]}\n"
    "      -> {\"direction\": N}   (entries -1, 0, 1; a tensor all 0 as 0)\n"
    "  {\"request\": \"loss\", \"along\": N, \"t\": T}  -> {\"loss\": C at "
    "theta0 + T v}\n"
    "(theta0 + T v in double precision.) {\"error\": \"...\"}\n"
    "ends the run (exit 3); {\"skip\": \"...\"} declines it (exit 2: nothing\n"
    "checked). The gradient is compared with Richardson central\n"
    "differences of the loss, entry by entry (full) or along random\n"
    "directions, with a tolerance from the difference table and the loss's\n"
    "observed rounding noise; a disagreeing direction is narrowed to its\n"
    "tensors and entries, named as conv1.weight[3,0,1,2].\n"
    "\n"
    "  --exec CMD       the model (required), run with /bin/sh -c\n"
    "  --mode M         full: every entry; directional: random directions;\n"
    "                   auto (default): directional above 20000 parameters\n"
    "  --seed S         of the directions and the points (default\n"
    "                   $BPCHECK_SEED, else 1)\n"
    "  --points N       also check N random points near the parameters\n"
    "                   (default 2), until one fails\n"
    "  --timeout SEC    seconds for each request (default 10)\n"
    "  --max-params N   refuse larger models (default 10000000)\n"
    "  --no-along       send theta in full even to a model that supports the\n"
    "                   along form\n"
    "\n"
    "Exit codes: 0 the gradient agrees, 1 it does not (the tensors and\n"
    "entries named), 2 bad usage, or a loss that is not finite, 3 the model\n"
    "failed (crashed, timed out, answered an error or something invalid).\n";

/* The model behind the protocol: its tensors and the request buffer,
 * grown once to the size of a request and reused. */
typedef struct {
  external x;
  size_t P, T;
  char **names;
  size_t *rank, *shape; /* shape: BPCHECK_MAX_RANK per tensor */
  size_t *count;        /* entries of each tensor */
  char *req;
  size_t req_cap;
  /* The along form: whether it is used (the model supports it, and
   * --no-along is not given); the theta of the last gradient request, its
   * base (have_base: one was sent); the direction the model holds (0:
   * none); whether a loss along a direction at this base was confirmed by
   * the same point sent in full; x, that point. */
  int along, have_base, confirmed;
  double *base, *point;
  size_t direction;
  const char *context; /* what the request was, for an error answer */
  /* The traffic, in requests and bytes. */
  size_t full_loss, along_loss, directions;
  double sent, received;
} model;

static void
model_free(model *m)
{
  for (size_t t = 0; m->names && t < m->T; t++)
    free(m->names[t]);
  free(m->names);
  free(m->rank);
  free(m->shape);
  free(m->count);
  free(m->req);
  free(m->base);
  free(m->point);
}

/* The answer of a request, parsed; NULL (x failed) when it is not JSON or
 * says {"error": ...}. */
static json_t *
ask(model *m, size_t len, size_t limit, int *status)
{
  char *text;
  size_t n;
  m->sent += (double)len;
  if ((*status = external_request(&m->x, m->req, len, limit, &text, &n)))
    return NULL;
  m->received += (double)n + 1;
  json_error_t err;
  json_t *a = json_loadb(text, n, JSON_REJECT_DUPLICATES, &err);
  free(text);
  if (!a || !json_is_object(a)) {
    char what[320];
    snprintf(what, sizeof what, "its answer is not a JSON object (%s)",
             a ? "not an object" : err.text);
    json_decref(a);
    *status = external_reject(&m->x, what);
    return NULL;
  }
  json_t *skip = json_object_get(a, "skip");
  if (skip) { /* the model declines: nothing is checked */
    *status = bpcheck_fail(BPCHECK_EINVAL, "the model declined (skip): %s",
                           json_is_string(skip) ? json_string_value(skip)
                                                : "(no reason given)");
    json_decref(a);
    return NULL;
  }
  json_t *e = json_object_get(a, "error");
  if (e) {
    char what[320];
    snprintf(what, sizeof what, "it answered with an error%s: %s",
             m->context ? m->context : "",
             json_is_string(e) ? json_string_value(e) : "(not a string)");
    json_decref(a);
    *status = external_reject(&m->x, what);
    return NULL;
  }
  return a;
}

/* Fails with a message about the answer's field. */
static int
bad_answer(model *m, json_t *a, const char *fmt, const char *field)
{
  char what[320];
  snprintf(what, sizeof what, fmt, field);
  json_decref(a);
  return external_reject(&m->x, what);
}

/* {"request": "parameters"}: the tensors and theta (allocated). */
static int
get_parameters(model *m, size_t max_params, double **theta)
{
  static const char line[] = "{\"request\": \"parameters\"}\n";
  int status;
  free(m->req);
  m->req = strdup(line);
  if (!m->req)
    return BPCHECK_ENOMEM;
  m->req_cap = sizeof line;
  json_t *a = ask(m, sizeof line - 1,
                  EXTERNAL_BYTES_PER_NUMBER * max_params + EXTERNAL_LINE_SLACK,
                  &status);
  if (!a)
    return status;
  json_t *ps = json_object_get(a, "parameters");
  if (!json_is_array(ps) || json_array_size(ps) == 0)
    return bad_answer(m, a, "%s must be a non-empty list of tensors",
                      "parameters");
  m->T = json_array_size(ps);
  m->names = calloc(m->T, sizeof *m->names);
  m->rank = calloc(m->T, sizeof *m->rank);
  m->shape = calloc(m->T * BPCHECK_MAX_RANK, sizeof *m->shape);
  m->count = calloc(m->T, sizeof *m->count);
  if (!m->names || !m->rank || !m->shape || !m->count) {
    json_decref(a);
    return BPCHECK_ENOMEM;
  }
  size_t P = 0;
  for (size_t t = 0; t < m->T; t++) {
    json_t *tj = json_array_get(ps, t), *name = json_object_get(tj, "name");
    json_t *shape = json_object_get(tj, "shape");
    json_t *values = json_object_get(tj, "values");
    char field[64];
    snprintf(field, sizeof field, "parameters[%zu]", t);
    if (!json_is_string(name) || !json_is_array(shape) ||
        !json_is_array(values))
      return bad_answer(m, a,
                        "%s needs \"name\" (a string), \"shape\" and "
                        "\"values\" (lists)",
                        field);
    size_t rank = json_array_size(shape), count = 1;
    if (rank < 1 || rank > BPCHECK_MAX_RANK)
      return bad_answer(m, a, "%s.shape must have 1 to 8 sizes", field);
    for (size_t r = 0; r < rank; r++) {
      json_t *d = json_array_get(shape, r);
      if (!json_is_integer(d) || json_integer_value(d) < 1 ||
          (size_t)json_integer_value(d) > max_params / count)
        return bad_answer(m, a,
                          "%s.shape: sizes must be whole numbers >= 1, "
                          "their product within --max-params",
                          field);
      m->shape[t * BPCHECK_MAX_RANK + r] = (size_t)json_integer_value(d);
      count *= (size_t)json_integer_value(d);
    }
    if (json_array_size(values) != count)
      return bad_answer(m, a,
                        "%s.values must hold the shape's product of "
                        "numbers, row-major",
                        field);
    if (P + count > max_params)
      return bad_answer(m, a,
                        "%s: the model has more parameters than "
                        "--max-params",
                        field);
    m->rank[t] = rank, m->count[t] = count, P += count;
    m->names[t] = strdup(json_string_value(name));
    if (!m->names[t]) {
      json_decref(a);
      return BPCHECK_ENOMEM;
    }
  }
  json_t *supports = json_object_get(a, "supports");
  if (supports && !json_is_array(supports))
    return bad_answer(m, a, "%s must be a list of strings", "\"supports\"");
  int along = 0;
  for (size_t k = 0; k < json_array_size(supports); k++) {
    json_t *f = json_array_get(supports, k);
    if (!json_is_string(f))
      return bad_answer(m, a, "%s must be a list of strings", "\"supports\"");
    along |= !strcmp(json_string_value(f), "along");
  }
  m->along &= along;
  m->P = P;
  if (m->along) {
    m->base = malloc(P * sizeof *m->base);
    m->point = malloc(P * sizeof *m->point);
    if (!m->base || !m->point) {
      json_decref(a);
      return BPCHECK_ENOMEM;
    }
  }
  *theta = malloc(P * sizeof **theta);
  if (!*theta) {
    json_decref(a);
    return BPCHECK_ENOMEM;
  }
  for (size_t t = 0, i = 0; t < m->T; t++) {
    json_t *values = json_object_get(json_array_get(ps, t), "values");
    for (size_t e = 0; e < m->count[t]; e++, i++) {
      json_t *v = json_array_get(values, e);
      if (!json_is_number(v)) {
        char field[64];
        snprintf(field, sizeof field, "parameters[%zu].values[%zu]", t, e);
        return bad_answer(m, a, "%s is not a number", field);
      }
      (*theta)[i] = json_number_value(v);
    }
  }
  json_decref(a);
  return BPCHECK_SUCCESS;
}

/* m->req of at least need bytes. */
static int
reserve(model *m, size_t need)
{
  if (need > m->req_cap) {
    char *r = realloc(m->req, need);
    if (!r)
      return -1;
    m->req = r, m->req_cap = need;
  }
  return 0;
}

/* Writes the request for theta into m->req (grown as needed): its length. */
static size_t
write_request(model *m, const char *kind, const double *theta)
{
  if (reserve(m, 64 + m->P * 26 + m->T * 4))
    return 0;
  size_t len =
      (size_t)sprintf(m->req, "{\"request\": \"%s\", \"theta\": [", kind);
  for (size_t t = 0, i = 0; t < m->T; t++) {
    m->req[len++] = t ? ',' : '[';
    if (t)
      m->req[len++] = '[';
    for (size_t e = 0; e < m->count[t]; e++, i++)
      len += (size_t)sprintf(m->req + len, e ? ",%.17g" : "%.17g", theta[i]);
    m->req[len++] = ']';
  }
  len += (size_t)sprintf(m->req + len, "]}\n");
  return len;
}

/* The answer's "loss" at *loss; NULL (the answer freed, x failed) when
 * there is none. */
static json_t *
take_loss(model *m, json_t *a, double *loss, int *status)
{
  json_t *c = json_object_get(a, "loss");
  if (!json_is_number(c)) {
    *status = bad_answer(m, a,
                         "its answer needs %s, a number (JSON has no NaN or "
                         "Infinity: answer {\"error\": ...} for a loss that "
                         "is not finite)",
                         "\"loss\"");
    return NULL;
  }
  *loss = json_number_value(c);
  return a;
}

/* The bpcheck_loss_fn of the model: a loss or a gradient request. */
static int
model_loss(const double *theta, size_t P, double *loss, double *grad,
           void *data)
{
  model *m = data;
  (void)P;
  size_t len = write_request(m, grad ? "gradient" : "loss", theta);
  if (!len)
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for a request");
  int status;
  m->context = NULL;
  m->full_loss += !grad;
  if (grad && m->along) { /* the base of the loss requests along */
    memcpy(m->base, theta, m->P * sizeof *m->base);
    m->have_base = 1, m->confirmed = 0;
  }
  json_t *a =
      ask(m, len, EXTERNAL_BYTES_PER_NUMBER * (m->P + 1) + EXTERNAL_LINE_SLACK,
          &status);
  if (!a || !(a = take_loss(m, a, loss, &status)))
    return status;
  if (grad) {
    json_t *g = json_object_get(a, "gradient");
    if (!json_is_array(g) || json_array_size(g) != m->T)
      return bad_answer(m, a,
                        "%s must be one list per tensor, in the order "
                        "of the parameters",
                        "\"gradient\"");
    for (size_t t = 0, i = 0; t < m->T; t++) {
      json_t *gt = json_array_get(g, t);
      char field[64];
      snprintf(field, sizeof field, "gradient[%zu]", t);
      if (!json_is_array(gt) || json_array_size(gt) != m->count[t])
        return bad_answer(m, a,
                          "%s must be a flat list of the tensor's "
                          "entries, row-major",
                          field);
      for (size_t e = 0; e < m->count[t]; e++, i++) {
        json_t *v = json_array_get(gt, e);
        if (!json_is_number(v))
          return bad_answer(m, a, "%s holds something that is not a number",
                            field);
        grad[i] = json_number_value(v);
      }
    }
  }
  json_decref(a);
  return BPCHECK_SUCCESS;
}

/* {"request": "direction", "id": N, "v": [...]}: v on [a, b), one list
 * per tensor, a tensor outside [a, b) as the number 0; its length. */
static size_t
write_direction(model *m, const signed char *v, size_t a, size_t b,
                size_t direction)
{
  if (reserve(m, 96 + m->P * 3 + m->T * 4))
    return 0;
  size_t len = (size_t)sprintf(
      m->req, "{\"request\": \"direction\", \"id\": %zu, \"v\": [", direction);
  for (size_t t = 0, first = 0; t < m->T; first += m->count[t++]) {
    if (t)
      m->req[len++] = ',';
    if (first + m->count[t] <= a || first >= b) {
      m->req[len++] = '0';
      continue;
    }
    m->req[len++] = '[';
    for (size_t i = first; i < first + m->count[t]; i++) {
      if (i > first)
        m->req[len++] = ',';
      if (i < a || i >= b)
        m->req[len++] = '0';
      else if (v[i] < 0)
        m->req[len++] = '-', m->req[len++] = '1';
      else
        m->req[len++] = '1';
    }
    m->req[len++] = ']';
  }
  len += (size_t)sprintf(m->req + len, "]}\n");
  return len;
}

/* Sends direction number `direction`: the model answers {"direction":
 * N}. */
static int
send_direction(model *m, const signed char *v, size_t a, size_t b,
               size_t direction)
{
  size_t len = write_direction(m, v, a, b, direction);
  if (!len)
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for a request");
  int status;
  m->context = " to a direction request (its parameters answer says it "
               "supports \"along\")";
  m->directions++;
  json_t *ans = ask(m, len, EXTERNAL_LINE_SLACK, &status);
  if (!ans)
    return status;
  json_t *id = json_object_get(ans, "direction");
  if (!json_is_integer(id) || json_integer_value(id) < 0 ||
      (size_t)json_integer_value(id) != direction) {
    char what[200];
    snprintf(what, sizeof what,
             "its answer to {\"request\": \"direction\", \"id\": %zu, ...} "
             "must be {\"direction\": %zu} (its parameters answer says it "
             "supports \"along\")",
             direction, direction);
    return bad_answer(m, ans, "%s", what);
  }
  json_decref(ans);
  m->direction = direction;
  return BPCHECK_SUCCESS;
}

/* The bpcheck_along_fn of the model: {"request": "loss", "along": N, "t":
 * T}, the direction sent first when it is new.  The first such loss at
 * each base is confirmed by the same point sent in full: the model forms
 * theta0 + t v as bpcheck does (one rounding), so the two losses are the
 * same number, or the model mishandles the form.  Where the base is not
 * the last gradient request's theta (never, in bpcheck_check_function),
 * the point is sent in full. */
static int
model_along(const double *theta0, const signed char *v, size_t a, size_t b,
            size_t direction, double t, double *loss, void *data)
{
  model *m = data;
  for (size_t i = 0; i < m->P; i++)
    m->point[i] = i >= a && i < b ? theta0[i] + t * v[i] : theta0[i];
  if (!m->have_base || memcmp(theta0, m->base, m->P * sizeof *theta0))
    return model_loss(m->point, m->P, loss, NULL, m);
  int status;
  if (direction != m->direction &&
      (status = send_direction(m, v, a, b, direction)))
    return status;
  if (reserve(m, 96))
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for a request");
  size_t len = (size_t)sprintf(
      m->req, "{\"request\": \"loss\", \"along\": %zu, \"t\": %.17g}\n",
      direction, t);
  m->context = " to a loss request along a direction (its parameters "
               "answer says it supports \"along\")";
  m->along_loss++;
  json_t *ans = ask(m, len, EXTERNAL_LINE_SLACK, &status);
  if (!ans || !(ans = take_loss(m, ans, loss, &status)))
    return status;
  json_decref(ans);
  if (m->confirmed || t == 0)
    return BPCHECK_SUCCESS;
  double full;
  if ((status = model_loss(m->point, m->P, &full, NULL, m)))
    return status;
  m->confirmed = 1;
  if (full == *loss)
    return BPCHECK_SUCCESS;
  char what[480];
  snprintf(what, sizeof what,
           "it mishandles the along form: its loss along direction %zu at "
           "t = %.17g is %.17g, but %.17g when the same point is sent in "
           "full (the point is theta0 + t v, theta0 the theta of the last "
           "gradient request, computed in double precision; or answer "
           "without \"supports\": [\"along\"])",
           direction, t, *loss, full);
  return external_reject(&m->x, what);
}

/* 1234567 bytes as "1.23 MB". */
static const char *
bytes(double n, char *buf, size_t len)
{
  static const char *const unit[] = {"bytes", "kB", "MB", "GB", "TB"};
  size_t u = 0;
  while (n >= 1000 && u < 4)
    n /= 1000, u++;
  snprintf(buf, len, u ? "%.3g %s" : "%.0f %s", n, unit[u]);
  return buf;
}

static void
print_result(const model *m, const bpcheck_function_workspace *w,
             const bpcheck_function_result *r, int status)
{
  printf("bpcheck model: %zu parameters in %zu tensor%s (", m->P, m->T,
         m->T == 1 ? "" : "s");
  for (size_t t = 0; t < m->T && t < 6; t++)
    printf("%s%s", t ? ", " : "", m->names[t]);
  printf("%s)\n", m->T > 6 ? ", ..." : "");
  printf("checked: %zu %s%s, %zu at a kink (not judged), %zu not finite\n",
         r->checked, r->directional ? "random direction" : "entr",
         r->directional ? (r->checked == 1 ? "" : "s")
                        : (r->checked == 1 ? "y" : "ies"),
         r->kinks, r->overflows);
  printf(
      "tolerance rests on: central differences at h = %.3g (Richardson's "
      "table), the loss's rounding %.3g (noise %s %.3g); K = 2 (proofs/09)\n",
      r->step, r->noise, r->noise_observed ? "observed" : "bounded",
      r->noise_sigma);
  if (!isnan(r->taylor_slope))
    printf("Taylor remainder slope: %.3g (2 for the gradient, 1 for a wrong "
           "one)%s\n",
           r->taylor_slope, r->taylor_kink ? ", broken by a kink" : "");
  char sent[32], received[32];
  if (m->along_loss)
    printf("requests: %zu loss (%zu along %zu direction%s, %zu in full), "
           "%zu gradient; ",
           m->along_loss + m->full_loss, m->along_loss, m->directions,
           m->directions == 1 ? "" : "s", m->full_loss, r->grad_calls);
  else
    printf("requests: %zu loss, %zu gradient; ", m->full_loss, r->grad_calls);
  printf("%s sent, %s received\n", bytes(m->sent, sent, sizeof sent),
         bytes(m->received, received, sizeof received));
  if (r->point)
    printf("at random point %zu near the parameters (--points)\n", r->point);
  if (status == BPCHECK_SUCCESS) {
    printf("PASS: the gradient agrees (worst: %.3g of its tolerance)\n",
           r->max_ratio);
    return;
  }
  printf("FAIL: %zu of %zu disagree; worst: difference %.17g, gradient "
         "%.17g (estimate %.3g, tolerance %.3g)\n",
         r->failed, r->checked, r->expected, r->received, r->estimate, r->tol);
  for (size_t t = 0; t < bpcheck_function_tensors(w); t++)
    if (bpcheck_function_tensor_failed(w, t))
      printf("tensor %s: its directions disagree\n",
             bpcheck_function_tensor_name(w, t));
  for (size_t i = 0; i < r->n_named; i++)
    printf("wrong entry %s: central difference %.17g, gradient %.17g "
           "(tolerance %.3g)\n",
           r->named[i].name, r->named[i].expected, r->named[i].received,
           r->named[i].tol);
}

int
cmd_model(int argc, char **argv)
{
  bpcheck_function_options opt;
  bpcheck_function_options_default(&opt);
  opt.points = 2;
  const char *cmd = NULL;
  size_t timeout = 10, points = 2, max_params = BPCHECK_CASE_MAX_PARAMS;
  int have_seed = 0, no_along = 0, opt_exit;
  const option_spec options[] = {
      OPTION_STRING("--exec", &cmd),
      OPTION_PARSE("--mode", option_mode, &opt.mode),
      OPTION_SEED("--seed", &opt.seed, &have_seed),
      OPTION_SIZE("--points", &points, 0, 1000),
      OPTION_SIZE("--timeout", &timeout, 1, 86400),
      OPTION_SIZE("--max-params", &max_params, 1, BPCHECK_MAX_PARAMS),
      OPTION_FLAG("--no-along", &no_along),
      OPTION_END};
  if (parse_options("model", usage, options, argc, argv, &opt_exit) ||
      no_arguments(argc, argv, NULL, &opt_exit))
    return opt_exit;
  const int along = !no_along;
  if (!cmd) {
    say_error("model needs --exec 'CMD' (see bpcheck model --help)");
    return EXIT_USAGE;
  }
  if (!have_seed && default_seed(1, &opt.seed))
    return EXIT_USAGE;
  opt.points = points;

  model m;
  memset(&m, 0, sizeof m);
  m.along = along;
  if (external_start(&m.x, cmd, (double)timeout))
    return EXIT_EXTERNAL;
  double *theta = NULL;
  bpcheck_tensor *tensors = NULL;
  bpcheck_function_workspace *w = NULL;
  bpcheck_function_result res;
  int code = EXIT_EXTERNAL;
  int status = get_parameters(&m, max_params, &theta);
  if (!status) {
    tensors = calloc(m.T, sizeof *tensors);
    status = tensors ? BPCHECK_SUCCESS : BPCHECK_ENOMEM;
    for (size_t t = 0; !status && t < m.T; t++)
      tensors[t] = (bpcheck_tensor){m.names[t], m.rank[t],
                                    m.shape + t * BPCHECK_MAX_RANK};
  }
  if (!status)
    status = bpcheck_function_alloc(&w, m.P, tensors, m.T);
  if (!status)
    status =
        bpcheck_check_function_along(model_loss, m.along ? model_along : NULL,
                                     &m, theta, m.P, &opt, w, &res);
  if (status == BPCHECK_SUCCESS || status == BPCHECK_EMISMATCH) {
    print_result(&m, w, &res, status);
    code = status ? EXIT_MISMATCH : EXIT_PASS;
    if (external_finish(&m.x)) {
      say_error("the model failed at the end: %s", bpcheck_errmsg());
      code = EXIT_EXTERNAL;
    }
  } else {
    say_error("%s%s", status == BPCHECK_ECANDIDATE ? "the model failed: " : "",
              bpcheck_errmsg());
    code = status == BPCHECK_ECANDIDATE || status == BPCHECK_ENOMEM
               ? EXIT_EXTERNAL
               : EXIT_USAGE;
  }
  external_stop(&m.x);
  bpcheck_function_free(w);
  free(tensors);
  free(theta);
  model_free(&m);
  return code;
}
