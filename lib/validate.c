/* validate.c -- randomized differential testing of a candidate backprop, with
 * shrinking of the first failure to the smallest case that still fails.
 *
 * The reference is the matrix backprop (confirmed against the literal one
 * and the central differences by `bpcheck selftest` over the same space).
 * Shrinking is greedy: from the failing case, try in turn to remove a hidden
 * layer (W^(l+1) W^l replaces the pair, so the network stays close to the
 * one that failed), a node of any layer, a sample, and to round every value
 * to a multiple of 1/4; keep the first change after which the candidate
 * still fails, and start again, until no change keeps the failure. */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>

#include "internal.h"

/* The candidate calls a shrink may spend. */
#define SHRINK_BUDGET 2000

void
bpcheck_validation_free(bpcheck_validation *v)
{
  bpcheck_case_free(v->failure);
  bpcheck_params_free(v->reference);
  bpcheck_report_free(v->report);
  memset(v, 0, sizeof *v);
}

/* Asks the candidate about c (into c->grad, allocated here) and compares
 * with the reference (into *ref).  BPCHECK_EMISMATCH when it fails. */
static int
try_case(bpcheck_case *c, const bpcheck_tolerance *tol,
         bpcheck_candidate_fn fn, void *data, bpcheck_params **ref,
         bpcheck_report **report)
{
  const bpcheck_net *net = c->net;
  bpcheck_matrix_workspace *w = NULL;
  bpcheck_params *abs = NULL, *alt = NULL;
  bpcheck_tolerance t;
  int status;
  *ref = NULL;
  *report = NULL;
  if (!c->grad && (status = bpcheck_params_alloc(&c->grad, net->L, net->n)))
    return status;
  if ((status = fn(c, c->grad, data)))
    return status;
  if ((status = bpcheck_params_alloc(ref, net->L, net->n)) ||
      (status = bpcheck_report_alloc(report, net->L)) ||
      (status = bpcheck_matrix_alloc(&w, net, c->batch->B)) ||
      (status = bpcheck_matrix_backprop(net, c->batch, *ref, NULL, w)) ||
      (status =
           bpcheck_tolerance_apply(net, c->batch, *ref, tol, &t, &abs, &alt)))
    goto done;
  status = bpcheck_compare(*ref, c->grad, &t, *report);
done:
  bpcheck_matrix_free(w);
  bpcheck_params_free(abs);
  bpcheck_params_free(alt);
  return status;
}

/* A new case from c keeping, in each layer l, the nodes keep[l][0..m[l]-1]
 * and the samples keep_s[0..B-1]; the activations, cost and reduction of c.
 */
static int
subcase(const bpcheck_case *c, size_t *const *keep, const size_t *m,
        const size_t *keep_s, size_t B, bpcheck_case **out)
{
  const bpcheck_net *net = c->net;
  bpcheck_arch arch = {net->L, m, net->f + 1, net->cost, net->reduction};
  bpcheck_case *s;
  int status = bpcheck_case_alloc(&s, &arch, B);
  if (status)
    return status;
  for (size_t l = 1; l <= net->L; l++)
    for (size_t k = 0; k < m[l]; k++) {
      for (size_t j = 0; j < m[l - 1]; j++)
        gsl_matrix_set(
            &s->net->theta->W[l], k, j,
            gsl_matrix_get(&net->theta->W[l], keep[l][k], keep[l - 1][j]));
      gsl_vector_set(&s->net->theta->b[l], k,
                     gsl_vector_get(&net->theta->b[l], keep[l][k]));
    }
  for (size_t q = 0; q < B; q++) {
    for (size_t j = 0; j < m[0]; j++)
      gsl_matrix_set(s->batch->X, j, q,
                     gsl_matrix_get(c->batch->X, keep[0][j], keep_s[q]));
    for (size_t k = 0; k < m[net->L]; k++)
      gsl_matrix_set(s->batch->Y, k, q,
                     gsl_matrix_get(c->batch->Y, keep[net->L][k], keep_s[q]));
  }
  *out = s;
  return BPCHECK_SUCCESS;
}

/* c without hidden layer l: W^(l+1) W^l and W^(l+1) b^l + b^(l+1) join
 * layer l-1 to layer l+1. */
static int
drop_layer(const bpcheck_case *c, size_t l, bpcheck_case **out)
{
  const bpcheck_net *net = c->net;
  size_t n[BPCHECK_MAX_LAYERS + 1];
  bpcheck_activation f[BPCHECK_MAX_LAYERS];
  for (size_t i = 0, o = 0; i <= net->L; i++)
    if (i != l)
      n[o++] = net->n[i];
  for (size_t i = 1, o = 0; i <= net->L; i++)
    if (i != l)
      f[o++] = net->f[i];
  bpcheck_arch arch = {net->L - 1, n, f, net->cost, net->reduction};
  bpcheck_case *s;
  int status = bpcheck_case_alloc(&s, &arch, c->batch->B);
  if (status)
    return status;
  for (size_t i = 1, o = 1; i <= net->L; i++) {
    if (i == l)
      continue;
    gsl_matrix *W = &s->net->theta->W[o];
    gsl_vector *b = &s->net->theta->b[o];
    if (i == l + 1) { /* the joined layer */
      for (size_t k = 0; k < W->size1; k++) {
        double bk = gsl_vector_get(&net->theta->b[i], k);
        for (size_t h = 0; h < net->n[l]; h++)
          bk += gsl_matrix_get(&net->theta->W[i], k, h) *
                gsl_vector_get(&net->theta->b[l], h);
        gsl_vector_set(b, k, bk);
        for (size_t j = 0; j < W->size2; j++) {
          double w = 0;
          for (size_t h = 0; h < net->n[l]; h++)
            w += gsl_matrix_get(&net->theta->W[i], k, h) *
                 gsl_matrix_get(&net->theta->W[l], h, j);
          gsl_matrix_set(W, k, j, w);
        }
      }
    } else {
      gsl_matrix_memcpy(W, &net->theta->W[i]);
      gsl_vector_memcpy(b, &net->theta->b[i]);
    }
    o++;
  }
  gsl_matrix_memcpy(s->batch->X, c->batch->X);
  gsl_matrix_memcpy(s->batch->Y, c->batch->Y);
  *out = s;
  return BPCHECK_SUCCESS;
}

/* Every parameter, input and target rounded to a multiple of 1/4; NULL in
 * *out when nothing changes. */
static int
simplify(const bpcheck_case *c, bpcheck_case **out)
{
  const bpcheck_net *net = c->net;
  bpcheck_arch arch = {net->L, net->n, net->f + 1, net->cost, net->reduction};
  bpcheck_case *s;
  int status = bpcheck_case_alloc(&s, &arch, c->batch->B), changed = 0;
  if (status)
    return status;
  for (size_t i = 0; i < net->theta->size; i++) {
    double v = net->theta->data[i], q = round(4 * v) / 4;
    s->net->theta->data[i] = q;
    changed |= q != v;
  }
  gsl_matrix *const dst[2] = {s->batch->X, s->batch->Y};
  const gsl_matrix *const src[2] = {c->batch->X, c->batch->Y};
  for (int m = 0; m < 2; m++)
    for (size_t i = 0; i < src[m]->size1; i++)
      for (size_t q = 0; q < src[m]->size2; q++) {
        double v = gsl_matrix_get(src[m], i, q), r = round(4 * v) / 4;
        gsl_matrix_set(dst[m], i, q, r);
        changed |= r != v;
      }
  if (!changed) {
    bpcheck_case_free(s);
    s = NULL;
  }
  *out = s;
  return BPCHECK_SUCCESS;
}

/* The k-th smaller case of c (k = 0, 1, ...): layers, then nodes, then
 * samples, then values; *out NULL when there is no k-th. */
static int
smaller(const bpcheck_case *c, size_t k, bpcheck_case **out)
{
  const bpcheck_net *net = c->net;
  const size_t L = net->L, B = c->batch->B;
  *out = NULL;
  if (k < L - 1)
    return drop_layer(c, k + 1, out);
  k -= L - 1;
  size_t *keep[BPCHECK_MAX_LAYERS + 1], m[BPCHECK_MAX_LAYERS + 1];
  size_t total = 0, l = 0, drop_node = SIZE_MAX, drop_sample = SIZE_MAX;
  for (l = 0; l <= L; l++) {
    /* A softmax output keeps two nodes (over one it is constant). */
    size_t min = l == L && net->f[L] == BPCHECK_SOFTMAX ? 2 : 1;
    size_t removable = net->n[l] > min ? net->n[l] : 0;
    if (k < total + removable) {
      drop_node = k - total;
      break;
    }
    total += removable;
  }
  if (drop_node == SIZE_MAX) {
    k -= total;
    if (B > 1 && k < B)
      drop_sample = k;
    else if (k == (B > 1 ? B : 0))
      return simplify(c, out);
    else
      return BPCHECK_SUCCESS; /* no more */
  }
  int status = BPCHECK_SUCCESS;
  size_t *keep_s = bpcheck_calloc(B, sizeof *keep_s);
  for (size_t i = 0; i <= L; i++) {
    m[i] = net->n[i] - (i == l && drop_node != SIZE_MAX);
    keep[i] = bpcheck_calloc(net->n[i], sizeof **keep);
    if (!keep[i] || !keep_s)
      status = BPCHECK_ENOMEM;
    for (size_t o = 0, q = 0; keep[i] && o < net->n[i]; o++)
      if (!(i == l && o == drop_node))
        keep[i][q++] = o;
  }
  size_t Bn = B - (drop_sample != SIZE_MAX);
  for (size_t o = 0, q = 0; keep_s && o < B; o++)
    if (o != drop_sample)
      keep_s[q++] = o;
  if (!status)
    status = subcase(c, keep, m, keep_s, Bn, out);
  for (size_t i = 0; i <= L; i++)
    free(keep[i]);
  free(keep_s);
  return status ? bpcheck_fail(status, "no memory to shrink a case")
                : BPCHECK_SUCCESS;
}

/* Shrinks v->failure while the candidate still fails on it; stops at the
 * first error of the candidate (v->shrink_status, v->shrink_error). */
static void
shrink(bpcheck_validation *v, const bpcheck_tolerance *tol,
       bpcheck_candidate_fn fn, void *data)
{
  size_t calls = 0;
  int progress = 1;
  while (progress && calls < SHRINK_BUDGET) {
    progress = 0;
    for (size_t k = 0; calls < SHRINK_BUDGET; k++) {
      bpcheck_case *s;
      if (smaller(v->failure, k, &s) || !s)
        break; /* simplify, the last change, gives NULL when values are
                  already simple */
      bpcheck_params *ref;
      bpcheck_report *report;
      calls++;
      int status = try_case(s, tol, fn, data, &ref, &report);
      if (status == BPCHECK_EMISMATCH) {
        bpcheck_case_free(v->failure);
        bpcheck_params_free(v->reference);
        bpcheck_report_free(v->report);
        v->failure = s, v->reference = ref, v->report = report;
        v->shrink_steps++;
        progress = 1;
        break;
      }
      bpcheck_case_free(s);
      bpcheck_params_free(ref);
      bpcheck_report_free(report);
      if (status != BPCHECK_SUCCESS) {
        /* The candidate failed on a smaller case (hung, crashed, ...):
         * shrinking stops, the failure found so far stands. */
        v->shrink_status = status;
        snprintf(v->shrink_error, sizeof v->shrink_error, "%s",
                 bpcheck_errmsg());
        return;
      }
    }
  }
}

int
bpcheck_validate(const bpcheck_space *s, size_t trials, unsigned long seed,
                 const bpcheck_tolerance *tol, bpcheck_candidate_fn fn,
                 void *data, void (*progress)(size_t trial, void *data),
                 bpcheck_validation *v)
{
  memset(v, 0, sizeof *v);
  int status = bpcheck_space_validate(s);
  if (status)
    return status;
  gsl_error_handler_t *old = gsl_set_error_handler_off();
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_set_error_handler(old);
  if (!rng)
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for a generator");

  for (size_t t = 0; t < trials && status == BPCHECK_SUCCESS; t++) {
    size_t n[BPCHECK_MAX_LAYERS + 1], B;
    bpcheck_activation f[BPCHECK_MAX_LAYERS];
    bpcheck_arch arch;
    bpcheck_case *c;
    v->trials = t + 1;
    v->seed = seed + t;
    gsl_rng_set(rng, seed + t);
    if ((status = bpcheck_space_draw(s, rng, &arch, n, f, &B)) ||
        (status = bpcheck_case_alloc(&c, &arch, B)))
      break;
    bpcheck_net_init_random(c->net, rng);
    bpcheck_batch_init_random(c->batch, c->net, rng);
    bpcheck_net_describe(c->net, v->arch, sizeof v->arch);
    size_t used = strlen(v->arch);
    snprintf(v->arch + used, sizeof v->arch - used, " batch %zu", B);

    bpcheck_params *ref;
    bpcheck_report *report;
    status = try_case(c, tol, fn, data, &ref, &report);
    if (status == BPCHECK_SUCCESS) {
      bpcheck_case_free(c);
      bpcheck_params_free(ref);
      bpcheck_report_free(report);
    } else {
      v->failure = c, v->reference = ref, v->report = report;
    }
    if (progress)
      progress(t, data);
  }
  gsl_rng_free(rng);
  if (status == BPCHECK_EMISMATCH) {
    shrink(v, tol, fn, data);
    bpcheck_params *abs = NULL, *alt = NULL;
    bpcheck_tolerance t;
    int d = bpcheck_tolerance_apply(v->failure->net, v->failure->batch,
                                    v->reference, tol, &t, &abs, &alt);
    if (!d)
      d = bpcheck_diagnose(v->failure->net, v->failure->batch, v->reference,
                           v->failure->grad, &t, &v->diagnosis);
    /* The detail of the shrunk failure, for bpcheck_errmsg(). */
    if (!d)
      bpcheck_compare(v->reference, v->failure->grad, &t, v->report);
    bpcheck_params_free(abs);
    bpcheck_params_free(alt);
    if (d)
      return d;
  }
  return status;
}
