/* validate.c -- randomized differential testing of a candidate backprop, with
 * shrinking of each failure to the smallest case that still fails.
 *
 * The reference is the matrix backprop (confirmed against the literal one
 * and the central differences by `bpcheck selftest` over the same space).
 * Shrinking is greedy: from the failing case, try in turn to remove a hidden
 * layer (W^(l+1) W^l replaces the pair, so the network stays close to the
 * one that failed), to make a hidden activation the identity, the cost
 * quadratic and then the output the identity, to remove a node of any
 * layer, a sample, and to round every value to a multiple of 1/4; keep the
 * first change after which the candidate still fails, and start again,
 * until no change keeps the failure.  A change the candidate declines
 * (BPCHECK_ESKIP) is not kept.
 *
 * Both the shrunk case and the original are diagnosed: a shrunk case is
 * often a 1-1 network at batch 1, where dC/dW = x dC/db and every error
 * looks like a constant factor; there the original's diagnosis, made on a
 * network where the patterns can be told apart, is preferred. */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>

#include "internal.h"

/* The candidate calls a shrink may spend: on the first failure, and on
 * each later one (bpcheck_validate_run going on after failures). */
#define SHRINK_BUDGET 2000
#define LATER_SHRINK_BUDGET 200

void
bpcheck_validation_free(bpcheck_validation *v)
{
  /* The original is the shrunk case itself when nothing was shrunk. */
  if (v->original != v->failure)
    bpcheck_case_free(v->original);
  if (v->original_reference != v->reference)
    bpcheck_params_free(v->original_reference);
  if (v->original_report != v->report)
    bpcheck_report_free(v->original_report);
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
  bpcheck_arch arch = {net->L, m, net->f, net->cost, net->reduction};
  bpcheck_case *s;
  int status = bpcheck_case_alloc(&s, &arch, B);
  if (status)
    return status;
  s->net->weight_decay = net->weight_decay; /* (WD.1) */
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
  bpcheck_activation f[BPCHECK_MAX_LAYERS + 1];
  for (size_t i = 0, o = 0; i <= net->L; i++)
    if (i != l)
      n[o++] = net->n[i];
  for (size_t i = 1, o = 1; i <= net->L; i++)
    if (i != l)
      f[o++] = net->f[i];
  bpcheck_arch arch = {net->L - 1, n, f, net->cost, net->reduction};
  bpcheck_case *s;
  int status = bpcheck_case_alloc(&s, &arch, c->batch->B);
  if (status)
    return status;
  s->net->weight_decay = net->weight_decay; /* (WD.1) */
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

/* A new case in *s with the network of c (its parameters copied) and a
 * batch of B samples, to be filled in. */
static int
case_like(const bpcheck_case *c, size_t B, bpcheck_case **s)
{
  const bpcheck_net *net = c->net;
  bpcheck_arch arch = {net->L, net->n, net->f, net->cost, net->reduction};
  int status = bpcheck_case_alloc(s, &arch, B);
  if (status == BPCHECK_SUCCESS) {
    (*s)->net->weight_decay = net->weight_decay; /* (WD.1) */
    memcpy((*s)->net->theta->data, net->theta->data,
           net->theta->size * sizeof *net->theta->data);
  }
  return status;
}

/* Every parameter, input and target rounded to a multiple of 1/4; NULL in
 * *out when nothing changes. */
static int
simplify(const bpcheck_case *c, bpcheck_case **out)
{
  const bpcheck_net *net = c->net;
  bpcheck_case *s;
  int status = case_like(c, c->batch->B, &s), changed = 0;
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

/* c with the activations f[1..L] and the cost given (the same sizes,
 * values and reduction); NULL in *out when that architecture is not valid
 * (bpcheck_arch_validate) or its targets not in the cost's domain. */
static int
with_arch(const bpcheck_case *c, const bpcheck_activation *f,
          bpcheck_cost cost, bpcheck_case **out)
{
  const bpcheck_net *net = c->net;
  bpcheck_arch arch = {net->L, net->n, f, cost, net->reduction};
  bpcheck_case *s;
  *out = NULL;
  if (bpcheck_arch_validate(&arch))
    return BPCHECK_SUCCESS;
  int status = bpcheck_case_alloc(&s, &arch, c->batch->B);
  if (status)
    return status;
  s->net->weight_decay = net->weight_decay; /* (WD.1) */
  memcpy(s->net->theta->data, net->theta->data,
         net->theta->size * sizeof *net->theta->data);
  gsl_matrix_memcpy(s->batch->X, c->batch->X);
  gsl_matrix_memcpy(s->batch->Y, c->batch->Y);
  if (bpcheck_batch_validate(s->net, s->batch)) {
    bpcheck_case_free(s);
    return BPCHECK_SUCCESS;
  }
  *out = s;
  return BPCHECK_SUCCESS;
}

/* The simpler functions of c: k = 0..L-2 makes hidden layer k+1's
 * activation the identity, k = L-1 the cost quadratic, k = L the output
 * the identity (under a quadratic or MSE cost).  *out NULL when that one
 * changes nothing or is not valid. */
static int
simpler_function(const bpcheck_case *c, size_t k, bpcheck_case **out)
{
  const bpcheck_net *net = c->net;
  bpcheck_activation f[BPCHECK_MAX_LAYERS + 1];
  bpcheck_cost cost = net->cost;
  for (size_t l = 0; l <= net->L; l++)
    f[l] = net->f[l];
  *out = NULL;
  if (k + 1 < net->L) {
    if (f[k + 1] == BPCHECK_IDENTITY)
      return BPCHECK_SUCCESS;
    f[k + 1] = BPCHECK_IDENTITY;
  } else if (k + 1 == net->L) {
    if (cost == BPCHECK_QUADRATIC)
      return BPCHECK_SUCCESS;
    cost = BPCHECK_QUADRATIC;
  } else {
    if (f[net->L] == BPCHECK_IDENTITY ||
        (cost != BPCHECK_QUADRATIC && cost != BPCHECK_MSE))
      return BPCHECK_SUCCESS;
    f[net->L] = BPCHECK_IDENTITY;
  }
  return with_arch(c, f, cost, out);
}

/* c without the weight decay (lambda = 0), all else the same. */
static int
without_decay(const bpcheck_case *c, bpcheck_case **out)
{
  int status = case_like(c, c->batch->B, out);
  if (status == BPCHECK_SUCCESS) {
    (*out)->net->weight_decay = 0;
    gsl_matrix_memcpy((*out)->batch->X, c->batch->X);
    gsl_matrix_memcpy((*out)->batch->Y, c->batch->Y);
  }
  return status;
}

/* The k-th smaller case of c (k = 0, 1, ...): the weight decay removed,
 * then layers, then activations and cost, then nodes, then samples, then
 * values.  *end when there is no k-th; otherwise *out NULL when the k-th
 * change does not apply to c. */
static int
smaller(const bpcheck_case *c, size_t k, bpcheck_case **out, int *end)
{
  const bpcheck_net *net = c->net;
  const size_t L = net->L, B = c->batch->B;
  *out = NULL;
  *end = 0;
  if (k == 0) /* lambda -> 0: kept only when the failure needs it */
    return net->weight_decay > 0 ? without_decay(c, out) : BPCHECK_SUCCESS;
  k--;
  if (k < L - 1)
    return drop_layer(c, k + 1, out);
  k -= L - 1;
  if (k < L + 1)
    return simpler_function(c, k, out);
  k -= L + 1;
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
    else if (k == (B > 1 ? B : 0)) {
      *end = 1; /* simplify is the last change */
      return simplify(c, out);
    } else {
      *end = 1;
      return BPCHECK_SUCCESS; /* no more */
    }
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

/* Shrinks v->failure while the candidate still fails on it, within budget
 * calls; stops at the first error of the candidate (v->shrink_status,
 * v->shrink_error).  v->original is never freed here. */
static void
shrink(bpcheck_validation *v, const bpcheck_tolerance *tol,
       bpcheck_candidate_fn fn, void *data, size_t budget)
{
  size_t calls = 0;
  int progress = 1;
  while (progress && calls < budget) {
    progress = 0;
    for (size_t k = 0; calls < budget; k++) {
      bpcheck_case *s;
      int end;
      int status = smaller(v->failure, k, &s, &end);
      if (status) {
        v->shrink_status = status;
        snprintf(v->shrink_error, sizeof v->shrink_error, "%s",
                 bpcheck_errmsg());
        return;
      }
      if (!s) {
        if (end)
          break; /* simplify, the last change, gives NULL when values are
                    already simple */
        continue;
      }
      bpcheck_params *ref;
      bpcheck_report *report;
      calls++;
      status = try_case(s, tol, fn, data, &ref, &report);
      if (status == BPCHECK_EMISMATCH) {
        if (v->failure != v->original)
          bpcheck_case_free(v->failure);
        if (v->reference != v->original_reference)
          bpcheck_params_free(v->reference);
        if (v->report != v->original_report)
          bpcheck_report_free(v->report);
        v->failure = s, v->reference = ref, v->report = report;
        v->shrink_steps++;
        progress = 1;
        break;
      }
      bpcheck_case_free(s);
      bpcheck_params_free(ref);
      bpcheck_report_free(report);
      if (status != BPCHECK_SUCCESS && status != BPCHECK_ESKIP) {
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

/* The diagnosis of c's candidate gradient c->grad against ref, with the
 * tolerance of the comparison derived for c; the report compared again
 * (the detail of the failure for bpcheck_errmsg()). */
static int
diagnose_case(const bpcheck_case *c, const bpcheck_params *ref,
              const bpcheck_tolerance *tol, bpcheck_report *report,
              bpcheck_diagnosis *d)
{
  bpcheck_params *abs = NULL, *alt = NULL;
  bpcheck_tolerance t;
  int status =
      bpcheck_tolerance_apply(c->net, c->batch, ref, tol, &t, &abs, &alt);
  if (!status)
    status = bpcheck_diagnose(c->net, c->batch, ref, c->grad, &t, d);
  if (!status)
    bpcheck_compare(ref, c->grad, &t, report);
  bpcheck_params_free(abs);
  bpcheck_params_free(alt);
  return status;
}

/* Every layer of one node, one sample: dC/dW^l = a^(l-1) dC/db^l, and a
 * wrong gradient is a constant factor of the right one in each layer. */
static int
degenerate(const bpcheck_case *c)
{
  for (size_t l = 0; l <= c->net->L; l++)
    if (c->net->n[l] != 1)
      return 0;
  return c->batch->B == 1;
}

/* A diagnosis that names no mechanism, or two: an unnamed factor (its
 * text has no ": why"), a factor of 2 at B = 2 under a quadratic cost and
 * the mean (the batch or the 1/2), small errors, errors in one layer, no
 * known pattern. */
static int
vague(const bpcheck_diagnosis *d, const bpcheck_case *c)
{
  const bpcheck_net *net = c->net;
  int factor_2_at_2 = c->batch->B == 2 && fabs(d->factor - 2.0) < 1e-6 &&
                      net->cost == BPCHECK_QUADRATIC &&
                      net->reduction == BPCHECK_MEAN;
  return d->bug == BPCHECK_BUG_SMALL || d->bug == BPCHECK_BUG_ONE_LAYER ||
         d->bug == BPCHECK_BUG_UNKNOWN ||
         (d->bug == BPCHECK_BUG_FACTOR &&
          (!strstr(d->text, ": ") || factor_2_at_2));
}

/* The least-squares factor of the data term of g over that of r, c's
 * reference: <g - D, r - D>/<r - D, r - D> with D = lambda W on the weights
 * and 0 on the biases, the decay's term (WD.3), so that a factor on the
 * data term is seen whatever lambda (WD.8); 0 when r = D. */
static double
ls_factor(const bpcheck_case *c, const bpcheck_params *r,
          const bpcheck_params *g)
{
  const double lambda = c->net->weight_decay;
  double gr = 0, rr = 0;
  for (size_t i = 0; i < r->size; i++) {
    size_t l, k, j;
    int is_bias;
    bpcheck_params_entry(r, i, &l, &is_bias, &k, &j);
    const double D = is_bias ? 0.0 : lambda * c->net->theta->data[i];
    gr += (g->data[i] - D) * (r->data[i] - D);
    rr += (r->data[i] - D) * (r->data[i] - D);
  }
  return rr > 0 ? gr / rr : 0.0;
}

/* The least-squares ratio <e2, e1>/<e1, e1> of the errors e = g - r of two
 * answers on the same network (0 when e1 = 0). */
static double
error_ratio(const bpcheck_params *r1, const bpcheck_params *g1,
            const bpcheck_params *r2, const bpcheck_params *g2)
{
  double ee = 0, e11 = 0;
  for (size_t i = 0; i < r1->size; i++) {
    const double e1 = g1->data[i] - r1->data[i];
    ee += (g2->data[i] - r2->data[i]) * e1, e11 += e1 * e1;
  }
  return e11 > 0 ? ee / e11 : 0.0;
}

static int
near_ratio(double a, double b)
{
  return fabs(a - b) <= 1e-6 * fabs(b);
}

/* c with every sample twice (batch 2B): under the mean the reference is
 * the same, under the sum its data term is twice as large and the weight
 * decay's term lambda W the same (WD.8). */
static int
doubled_batch(const bpcheck_case *c, bpcheck_case **out)
{
  const size_t B = c->batch->B;
  bpcheck_case *s;
  int status = case_like(c, 2 * B, &s);
  if (status)
    return status;
  for (size_t q = 0; q < 2 * B; q++) {
    for (size_t j = 0; j < c->batch->X->size1; j++)
      gsl_matrix_set(s->batch->X, j, q, gsl_matrix_get(c->batch->X, j, q % B));
    for (size_t k = 0; k < c->batch->Y->size1; k++)
      gsl_matrix_set(s->batch->Y, k, q, gsl_matrix_get(c->batch->Y, k, q % B));
  }
  *out = s;
  return BPCHECK_SUCCESS;
}

/* c with other inputs: each x_j replaced by 1/2 - x_j / 2 + j / 8 (the
 * same targets). */
static int
other_inputs(const bpcheck_case *c, bpcheck_case **out)
{
  bpcheck_case *s;
  int status = case_like(c, c->batch->B, &s);
  if (status)
    return status;
  gsl_matrix_memcpy(s->batch->Y, c->batch->Y);
  for (size_t j = 0; j < c->batch->X->size1; j++)
    for (size_t q = 0; q < c->batch->X->size2; q++)
      gsl_matrix_set(s->batch->X, j, q,
                     0.5 - 0.5 * gsl_matrix_get(c->batch->X, j, q) +
                         0.125 * (double)j);
  *out = s;
  return BPCHECK_SUCCESS;
}

/* Runs the candidate on s (freed here) as experiment e of the failure f;
 * its factor over the reference (of the data terms, WD.8) and in *ratio
 * its error over f's (error_ratio).  Non-zero when the candidate failed
 * (the run stops). */
static int
experiment(bpcheck_case *s, const char *what, const bpcheck_validation *f,
           const bpcheck_tolerance *tol, bpcheck_candidate_fn fn, void *data,
           bpcheck_experiment *e, double *ratio)
{
  bpcheck_params *ref = NULL;
  bpcheck_report *report = NULL;
  memset(e, 0, sizeof *e);
  *ratio = 0;
  snprintf(e->what, sizeof e->what, "%s", what);
  int status = try_case(s, tol, fn, data, &ref, &report);
  if (ref && s->grad &&
      (status == BPCHECK_SUCCESS || status == BPCHECK_EMISMATCH)) {
    e->factor = ls_factor(s, ref, s->grad);
    *ratio = error_ratio(f->reference, f->failure->grad, ref, s->grad);
  }
  e->status = status;
  bpcheck_case_free(s);
  bpcheck_params_free(ref);
  bpcheck_report_free(report);
  return status == BPCHECK_SUCCESS || status == BPCHECK_EMISMATCH ||
                 status == BPCHECK_ESKIP
             ? BPCHECK_SUCCESS
             : status;
}

/* Experiments on the shrunk case where its diagnosis is ambiguous or the
 * original's differs: with weight decay, the same without it (is the bug
 * in the decay's term?); the same at batch 2 (each sample twice: does the
 * factor follow B?), with other inputs (is it a constant factor, or one
 * that follows z?), with an identity output and a quadratic cost (is the
 * bug in the output layer's f' or the cost's gradient?).  Factors are of
 * the data terms, the decay's lambda W taken out of the answer and of the
 * reference (WD.8); where the failure is in the decay's term, the doubled
 * batch and other inputs are judged by how the error itself changed. */
static void
experiments(bpcheck_validation *f, const bpcheck_tolerance *tol,
            bpcheck_candidate_fn fn, void *data)
{
  const bpcheck_case *c = f->failure;
  const double c0 = ls_factor(c, f->reference, c->grad);
  bpcheck_case *s = NULL;
  int status, in_decay = 0;
  double ratio;
  bpcheck_experiment *e;
  /* 0. Without the weight decay. */
  if (c->net->weight_decay > 0) {
    if ((status = without_decay(c, &s)))
      goto stop;
    e = &f->experiments[f->n_experiments++];
    if ((status = experiment(s,
                             "the shrunk case without the weight decay "
                             "(lambda = 0)",
                             f, tol, fn, data, e, &ratio)))
      goto stop;
    in_decay = e->status == BPCHECK_SUCCESS;
    if (in_decay)
      snprintf(e->showed, sizeof e->showed,
               "it passed: the bug is in the weight decay's term lambda W^l "
               "(WD.3), added once to the reduced cost (WD.1)");
    else if (e->status == BPCHECK_EMISMATCH)
      snprintf(e->showed, sizeof e->showed,
               "it still failed (factor %.6g): not (only) the weight decay",
               e->factor);
    else
      snprintf(e->showed, sizeof e->showed, "the candidate skipped it");
  }
  /* 1. Batch 2B. */
  if ((status = doubled_batch(c, &s)))
    goto stop;
  e = &f->experiments[f->n_experiments++];
  if ((status = experiment(s,
                           "the shrunk case with each sample twice (batch "
                           "doubled)",
                           f, tol, fn, data, e, &ratio)))
    goto stop;
  if (e->status == BPCHECK_SUCCESS)
    snprintf(e->showed, sizeof e->showed,
             "it passed: the failure depends on the samples themselves");
  else if (e->status == BPCHECK_EMISMATCH && in_decay &&
           near_ratio(ratio, 1.0))
    snprintf(e->showed, sizeof e->showed,
             "the same error, where the data term %s: a term added once, "
             "whatever B: the decay's, not the batch reduction",
             c->net->reduction == BPCHECK_SUM ? "doubled" : "is the same");
  else if (e->status == BPCHECK_EMISMATCH && in_decay)
    snprintf(e->showed, sizeof e->showed,
             "the error changed with the batch (x %.6g): the decay's term "
             "follows B, where it is added once to the reduced cost (WD.1)",
             ratio);
  else if (e->status == BPCHECK_EMISMATCH && c0 != 0 &&
           near_ratio(e->factor / c0, 2.0))
    snprintf(e->showed, sizeof e->showed,
             "its factor doubled with the batch (%.6g -> %.6g): it sums over "
             "the batch where the cost takes the mean",
             c0, e->factor);
  else if (e->status == BPCHECK_EMISMATCH && c0 != 0 &&
           near_ratio(e->factor / c0, 0.5))
    snprintf(e->showed, sizeof e->showed,
             "its factor halved with the batch (%.6g -> %.6g): it averages "
             "where the cost takes the sum",
             c0, e->factor);
  else if (e->status == BPCHECK_EMISMATCH && c0 != 0 &&
           near_ratio(e->factor, c0))
    snprintf(e->showed, sizeof e->showed,
             "the same factor (%.6g): not the batch reduction", e->factor);
  else if (e->status == BPCHECK_ESKIP)
    snprintf(e->showed, sizeof e->showed, "the candidate skipped it");
  else
    snprintf(e->showed, sizeof e->showed, "it failed, factor %.6g", e->factor);
  /* 2. Other inputs. */
  if ((status = other_inputs(c, &s)))
    goto stop;
  e = &f->experiments[f->n_experiments++];
  if ((status = experiment(s, "the shrunk network with other inputs", f, tol,
                           fn, data, e, &ratio)))
    goto stop;
  if (e->status == BPCHECK_SUCCESS)
    snprintf(e->showed, sizeof e->showed,
             "it passed: the error appears for some inputs only");
  else if (e->status == BPCHECK_EMISMATCH && in_decay &&
           near_ratio(ratio, 1.0))
    snprintf(e->showed, sizeof e->showed,
             "the same error: it does not depend on the input, as the "
             "decay's term does not");
  else if (e->status == BPCHECK_EMISMATCH && in_decay)
    snprintf(e->showed, sizeof e->showed,
             "the error changed with the input (x %.6g): the decay's term "
             "is taken with something that depends on the data",
             ratio);
  else if (e->status == BPCHECK_EMISMATCH && c0 != 0 &&
           near_ratio(e->factor, c0))
    snprintf(e->showed, sizeof e->showed,
             "the same factor (%.6g): a constant factor whatever the input "
             "(a constant of the cost or of the reduction)",
             e->factor);
  else if (e->status == BPCHECK_EMISMATCH)
    snprintf(e->showed, sizeof e->showed,
             "the factor changed with the input (%.6g -> %.6g): not a "
             "constant, a term that depends on z (a derivative missing, or "
             "f'(a) for f'(z))",
             c0, e->factor);
  else
    snprintf(e->showed, sizeof e->showed, "the candidate skipped it");
  /* 3. An identity output with a quadratic cost. */
  if (c->net->f[c->net->L] != BPCHECK_IDENTITY ||
      c->net->cost != BPCHECK_QUADRATIC) {
    bpcheck_activation fl[BPCHECK_MAX_LAYERS + 1];
    for (size_t l = 0; l <= c->net->L; l++)
      fl[l] = c->net->f[l];
    fl[c->net->L] = BPCHECK_IDENTITY;
    if ((status = with_arch(c, fl, BPCHECK_QUADRATIC, &s)))
      goto stop;
    if (s) {
      e = &f->experiments[f->n_experiments++];
      if ((status = experiment(s,
                               "the shrunk network with an identity output "
                               "and a quadratic cost",
                               f, tol, fn, data, e, &ratio)))
        goto stop;
      if (e->status == BPCHECK_SUCCESS)
        snprintf(e->showed, sizeof e->showed,
                 "it passed: the bug is in the output layer's f_L' or in "
                 "the cost's gradient");
      else if (e->status == BPCHECK_EMISMATCH)
        snprintf(e->showed, sizeof e->showed,
                 "it still failed (factor %.6g): not (only) the output "
                 "activation or the cost",
                 e->factor);
      else
        snprintf(e->showed, sizeof e->showed, "the candidate skipped it");
    }
  }
  return;
stop:
  /* The candidate failed (or no memory): as while shrinking. */
  f->shrink_status = status;
  snprintf(f->shrink_error, sizeof f->shrink_error, "%s", bpcheck_errmsg());
}

/* Shrinks the failure f (f->failure and f->original the case as drawn),
 * diagnoses the shrunk case and the original, and chooses the one a
 * report leads with. */
static int
process_failure(bpcheck_validation *f, const bpcheck_tolerance *tol,
                bpcheck_candidate_fn fn, void *data, size_t budget)
{
  shrink(f, tol, fn, data, budget);
  int status = BPCHECK_SUCCESS;
  if (f->failure != f->original)
    status = diagnose_case(f->original, f->original_reference, tol,
                           f->original_report, &f->original_diagnosis);
  if (!status)
    status =
        diagnose_case(f->failure, f->reference, tol, f->report, &f->diagnosis);
  if (status)
    return status;
  if (f->failure == f->original)
    f->original_diagnosis = f->diagnosis;
  const bpcheck_diagnosis *s = &f->diagnosis, *o = &f->original_diagnosis;
  f->shrunk_ambiguous = vague(s, f->failure) || (degenerate(f->failure) &&
                                                 s->bug == BPCHECK_BUG_FACTOR);
  f->likely = *s;
  f->likely_from_original = 0;
  if (f->failure != f->original && f->shrunk_ambiguous &&
      o->bug != BPCHECK_BUG_NONE && o->bug != BPCHECK_BUG_UNKNOWN &&
      (o->bug != s->bug || strcmp(o->text, s->text) != 0)) {
    f->likely = *o;
    f->likely_from_original = 1;
  }
  const int differ = s->bug != o->bug ||
                     (s->bug == BPCHECK_BUG_FACTOR &&
                      fabs(s->factor - o->factor) > 1e-6 * fabs(o->factor));
  if (!f->shrink_status && (f->shrunk_ambiguous || differ))
    experiments(f, tol, fn, data);
  /* The detail of the shrunk failure again, for bpcheck_errmsg(). */
  return diagnose_case(f->failure, f->reference, tol, f->report,
                       &f->diagnosis);
}

static void
cover(bpcheck_coverage *cv, const bpcheck_case *c)
{
  const bpcheck_net *net = c->net;
  for (size_t l = 1; l <= net->L; l++)
    if ((int)net->f[l] >= 0 && net->f[l] < BPCHECK_N_ACTIVATIONS)
      cv->act[net->f[l]]++;
  cv->cost[net->cost]++;
  cv->reduction[net->reduction]++;
  cv->depth[net->L < 32 ? net->L : 32]++;
  if (net->theta->size > cv->max_params)
    cv->max_params = net->theta->size;
  if (c->batch->B > cv->max_batch)
    cv->max_batch = c->batch->B;
}

int
bpcheck_validate_run(const bpcheck_space *s, size_t trials, unsigned long seed,
                     const bpcheck_tolerance *tol, bpcheck_candidate_fn fn,
                     void *data, const bpcheck_validate_options *o,
                     bpcheck_validation *v)
{
  static const bpcheck_validate_options first_only = {1,    0,    0,
                                                      NULL, NULL, NULL};
  if (!o)
    o = &first_only;
  memset(v, 0, sizeof *v);
  int status = bpcheck_space_validate(s);
  if (status)
    return status;
  gsl_error_handler_t *old = gsl_set_error_handler_off();
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_set_error_handler(old);
  if (!rng)
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for a generator");
  const size_t budget = o->shrink_budget ? o->shrink_budget : SHRINK_BUDGET;
  const size_t later =
      o->later_shrink_budget ? o->later_shrink_budget : LATER_SHRINK_BUDGET;

  int stop = 0;
  for (size_t t = 0; t < trials && !stop; t++) {
    size_t n[BPCHECK_MAX_LAYERS + 1], B;
    bpcheck_activation f[BPCHECK_MAX_LAYERS + 1];
    bpcheck_arch arch;
    bpcheck_case *c;
    v->trials = t + 1;
    v->seed = seed + t;
    gsl_rng_set(rng, seed + t);
    if ((status = bpcheck_space_draw(s, rng, &arch, n, f, &B)) ||
        (status = bpcheck_case_alloc(&c, &arch, B)))
      break;
    c->net->weight_decay = s->weight_decay; /* (WD.1) */
    bpcheck_net_init_random(c->net, rng);
    bpcheck_batch_init_random(c->batch, c->net, rng);
    bpcheck_net_describe(c->net, v->arch, sizeof v->arch);
    size_t used = strlen(v->arch);
    snprintf(v->arch + used, sizeof v->arch - used, " batch %zu", B);

    bpcheck_params *ref;
    bpcheck_report *report;
    int st = try_case(c, tol, fn, data, &ref, &report);
    if (st == BPCHECK_SUCCESS) {
      v->passed++;
      cover(&v->coverage, c);
      if (report->max_ratio > v->worst_margin || v->passed == 1) {
        v->worst_margin = report->max_ratio;
        v->worst_seed = seed + t;
      }
      bpcheck_case_free(c);
      bpcheck_params_free(ref);
      bpcheck_report_free(report);
    } else if (st == BPCHECK_ESKIP) {
      v->skipped++;
      char reason[512];
      snprintf(reason, sizeof reason, "%s", bpcheck_errmsg());
      bpcheck_case_free(c);
      bpcheck_params_free(ref);
      bpcheck_report_free(report);
      if (o->on_skip)
        o->on_skip(t, seed + t, v->arch, reason, data);
    } else if (st == BPCHECK_EMISMATCH) {
      v->failed++;
      cover(&v->coverage, c);
      bpcheck_validation later_failure;
      memset(&later_failure, 0, sizeof later_failure);
      bpcheck_validation *fv = v->failed == 1 ? v : &later_failure;
      fv->failure = fv->original = c;
      fv->reference = fv->original_reference = ref;
      fv->report = fv->original_report = report;
      fv->failure_trial = t;
      fv->failure_seed = seed + t;
      snprintf(fv->failure_arch, sizeof fv->failure_arch, "%s", v->arch);
      if (fv != v) {
        fv->trials = v->trials, fv->seed = v->seed;
        snprintf(fv->arch, sizeof fv->arch, "%s", v->arch);
      }
      int d = process_failure(fv, tol, fn, data, fv == v ? budget : later);
      if (!d && o->on_failure)
        o->on_failure(fv, data);
      if (fv->shrink_status == BPCHECK_ECANDIDATE) {
        /* The candidate is broken: no more cases. */
        if (fv != v) {
          v->shrink_status = fv->shrink_status;
          snprintf(v->shrink_error, sizeof v->shrink_error, "%s",
                   fv->shrink_error);
        }
        stop = 1;
      }
      if (fv != v)
        bpcheck_validation_free(fv);
      if (d) {
        status = d;
        break;
      }
      if (o->max_failures && v->failed >= o->max_failures)
        stop = 1;
    } else {
      /* The candidate failed (or an error): the case it failed on is kept
       * unless a failure is. */
      if (!v->failed) {
        v->failure = c, v->reference = ref, v->report = report;
      } else {
        bpcheck_case_free(c);
        bpcheck_params_free(ref);
        bpcheck_report_free(report);
      }
      status = st;
      stop = 1;
    }
    if (o->progress)
      o->progress(t, data);
  }
  gsl_rng_free(rng);
  if (status == BPCHECK_SUCCESS && v->failed)
    status = BPCHECK_EMISMATCH;
  return status;
}

int
bpcheck_validate(const bpcheck_space *s, size_t trials, unsigned long seed,
                 const bpcheck_tolerance *tol, bpcheck_candidate_fn fn,
                 void *data, void (*progress)(size_t trial, void *data),
                 bpcheck_validation *v)
{
  bpcheck_validate_options o = {1, 0, 0, progress, NULL, NULL};
  return bpcheck_validate_run(s, trials, seed, tol, fn, data, &o, v);
}
