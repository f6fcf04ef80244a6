/* trace.c -- every quantity of the literal backprop, indexed, with the
 * equation it comes from (proofs/04-fully-connected.md).
 *
 * Each sample is run alone through bpcheck_literal_backprop as a batch of
 * one (r = 1 for both reductions), and the workspace's z, a, delta and the
 * factors of delta (f'(z), the backward sum) are read back; the batch's
 * gradient is then the literal backprop of the whole batch, which is r times
 * the sum of the per-sample gradients (COST.5). */

#include <stdlib.h>

#include "internal.h"

/* A batch of one: column s of the caller's batch, in place. */
typedef struct {
  bpcheck_batch batch;
  gsl_matrix X, Y;
} sample_view;

static void
view_sample(sample_view *v, const bpcheck_batch *batch, size_t s)
{
  const gsl_matrix *X = batch->X, *Y = batch->Y;
  v->X = (gsl_matrix){X->size1, 1, X->tda, X->data + s, NULL, 0};
  v->Y = (gsl_matrix){Y->size1, 1, Y->tda, Y->data + s, NULL, 0};
  v->batch = (bpcheck_batch){1, &v->X, &v->Y};
}

/* Emits one event; returns non-zero when the callback asks to stop. */
static int
emit(bpcheck_trace_fn fn, void *data, bpcheck_trace_kind kind, size_t s,
     size_t l, size_t k, size_t j, double value, const char *equation)
{
  bpcheck_trace_event e = {kind, s, l, k, j, value, equation};
  return fn(&e, data);
}

/* The label of the output layer's delta, as literal.c computes it: (FC.4);
 * (COST.7) a - y for a sigmoid with cross entropy; after a softmax (COST.6)
 * with categorical cross entropy, else (ACT.9), which is (ACT.8) with the
 * diagonal apart. */
static const char *
output_equation(const bpcheck_net *net)
{
  const bpcheck_activation f = net->f[net->L];
  if (f == BPCHECK_SIGMOID && net->cost == BPCHECK_CROSS_ENTROPY)
    return "COST.7";
  if (f != BPCHECK_SOFTMAX)
    return "FC.4";
  return net->cost == BPCHECK_CATEGORICAL_CROSS_ENTROPY ? "COST.6" : "ACT.9";
}

/* The label of f'(z) for activation f: (ACT.1)-(ACT.5). */
static const char *
fprime_equation(bpcheck_activation f)
{
  static const char *eq[] = {"ACT.1", "ACT.2", "ACT.3", "ACT.4", "ACT.5"};
  return f < BPCHECK_SOFTMAX ? eq[f] : "ACT.7";
}

static const char *const cost_eq[] = {"COST.1", "COST.2", "COST.3", "COST.4"};

/* The forward pass of sample s: z^l_k and a^l_k, node by node; a softmax
 * layer needs every z^l_i before any a^l_k (ACT.6). */
static int
emit_forward(const bpcheck_net *net, size_t s,
             const bpcheck_literal_workspace *w, bpcheck_trace_fn fn,
             void *data)
{
  for (size_t l = 1; l <= net->L; l++) {
    const double *z = bpcheck_literal_quantity(w, BPCHECK_LITERAL_Z, l);
    const double *a = bpcheck_literal_quantity(w, BPCHECK_LITERAL_A, l);
    const int softmax = net->f[l] == BPCHECK_SOFTMAX;
    for (size_t k = 0; k < net->n[l]; k++)
      if (emit(fn, data, BPCHECK_TRACE_Z, s, l, k, 0, z[k], "FC.1") ||
          (!softmax &&
           emit(fn, data, BPCHECK_TRACE_A, s, l, k, 0, a[k], "FC.2")))
        return 1;
    for (size_t k = 0; softmax && k < net->n[l]; k++)
      if (emit(fn, data, BPCHECK_TRACE_A, s, l, k, 0, a[k], "ACT.6"))
        return 1;
  }
  return 0;
}

/* The backward pass of sample s: each delta after its factors. */
static int
emit_backward(const bpcheck_net *net, size_t s,
              const bpcheck_literal_workspace *w, bpcheck_trace_fn fn,
              void *data)
{
  const size_t L = net->L, *n = net->n;
  const double *a = bpcheck_literal_quantity(w, BPCHECK_LITERAL_A, L);
  const double *dC_da = bpcheck_literal_quantity(w, BPCHECK_LITERAL_DC_DA, L);
  for (size_t l = L; l >= 1; l--) {
    const double *delta =
        bpcheck_literal_quantity(w, BPCHECK_LITERAL_DELTA, l);
    const double *fp = bpcheck_literal_quantity(w, BPCHECK_LITERAL_FP, l);
    const double *back = bpcheck_literal_quantity(w, BPCHECK_LITERAL_BACK, l);
    if (l == L && net->f[L] == BPCHECK_SOFTMAX) {
      double sum = 0.0; /* (ACT.8), in literal.c's order */
      for (size_t i = 0; i < n[L]; i++)
        sum += a[i] * dC_da[i];
      if (emit(fn, data, BPCHECK_TRACE_SM_SUM, s, L, 0, 0, sum, "ACT.8"))
        return 1;
    }
    for (size_t k = 0; k < n[l]; k++) {
      if (l < L &&
          emit(fn, data, BPCHECK_TRACE_BACK, s, l, k, 0, back[k], "FC.5"))
        return 1;
      if (net->f[l] != BPCHECK_SOFTMAX &&
          emit(fn, data, BPCHECK_TRACE_FPRIME, s, l, k, 0, fp[k],
               fprime_equation(net->f[l])))
        return 1;
      if (emit(fn, data, BPCHECK_TRACE_DELTA, s, l, k, 0, delta[k],
               l == L ? output_equation(net) : "FC.5"))
        return 1;
    }
  }
  return 0;
}

/* The events of sample s, whose quantities are in w and gradient in g. */
static int
emit_sample(const bpcheck_net *net, const bpcheck_batch *batch, size_t s,
            double C_s, const bpcheck_params *g,
            const bpcheck_literal_workspace *w, bpcheck_trace_fn fn,
            void *data)
{
  const size_t L = net->L, *n = net->n;
  for (size_t j = 0; j < n[0]; j++) /* a^0 = x: a definition */
    if (emit(fn, data, BPCHECK_TRACE_X, s, 0, j, 0,
             gsl_matrix_get(batch->X, j, s), "definition"))
      return 1;
  for (size_t k = 0; k < n[L]; k++) /* y enters the cost's equation */
    if (emit(fn, data, BPCHECK_TRACE_Y, s, L, k, 0,
             gsl_matrix_get(batch->Y, k, s), cost_eq[net->cost]))
      return 1;
  if (emit_forward(net, s, w, fn, data))
    return 1;
  if (emit(fn, data, BPCHECK_TRACE_COST, s, L, 0, 0, C_s, cost_eq[net->cost]))
    return 1;
  const double *dC_da = bpcheck_literal_quantity(w, BPCHECK_LITERAL_DC_DA, L);
  for (size_t k = 0; k < n[L]; k++)
    if (emit(fn, data, BPCHECK_TRACE_DC_DA, s, L, k, 0, dC_da[k],
             cost_eq[net->cost]))
      return 1;
  if (emit_backward(net, s, w, fn, data))
    return 1;
  for (size_t l = 1; l <= L; l++)
    for (size_t k = 0; k < n[l]; k++) {
      for (size_t j = 0; j < n[l - 1]; j++)
        if (emit(fn, data, BPCHECK_TRACE_DW, s, l, k, j,
                 gsl_matrix_get(&g->W[l], k, j), "FC.6"))
          return 1;
      if (emit(fn, data, BPCHECK_TRACE_DB, s, l, k, 0,
               gsl_vector_get(&g->b[l], k), "FC.7"))
        return 1;
    }
  return 0;
}

/* The batch's gradient and cost; with weight decay, (WD.3) and (WD.1). */
static void
emit_batch(const bpcheck_net *net, const bpcheck_params *nabla, double C,
           bpcheck_trace_fn fn, void *data)
{
  const int decay = net->weight_decay != 0.0;
  for (size_t l = 1; l <= net->L; l++)
    for (size_t k = 0; k < net->n[l]; k++) {
      for (size_t j = 0; j < net->n[l - 1]; j++)
        if (emit(fn, data, BPCHECK_TRACE_GRAD_W, 0, l, k, j,
                 gsl_matrix_get(&nabla->W[l], k, j),
                 decay ? "WD.3" : "COST.5"))
          return;
      if (emit(fn, data, BPCHECK_TRACE_GRAD_B, 0, l, k, 0,
               gsl_vector_get(&nabla->b[l], k), "COST.5"))
        return;
    }
  emit(fn, data, BPCHECK_TRACE_C, 0, 0, 0, 0, C, decay ? "WD.1" : "COST.5");
}

int
bpcheck_trace(const bpcheck_net *net, const bpcheck_batch *batch,
              bpcheck_params *nabla, bpcheck_literal_workspace *w,
              bpcheck_trace_fn fn, void *data)
{
  return bpcheck_trace_mutant(net, batch, nabla, w, fn, data,
                              BPCHECK_MUTANT_NONE);
}

int
bpcheck_trace_mutant(const bpcheck_net *net, const bpcheck_batch *batch,
                     bpcheck_params *nabla, bpcheck_literal_workspace *w,
                     bpcheck_trace_fn fn, void *data, bpcheck_mutant m)
{
  int status = bpcheck_params_match(net->theta, nabla);
  if (status)
    return status;
  if ((status = bpcheck_batch_validate(net, batch)))
    return status;
  bpcheck_params *g;
  if ((status = bpcheck_params_alloc(&g, net->L, net->n)))
    return status;
  /* Each sample's C_s and dC_s/dtheta are those of the data alone: the
   * weight decay is added once, to the batch's (WD.1). */
  bpcheck_net data_only = *net;
  data_only.weight_decay = 0.0;
  for (size_t s = 0; s < batch->B; s++) {
    sample_view one;
    double C_s;
    view_sample(&one, batch, s);
    status =
        bpcheck_literal_backprop_mutant(&data_only, &one.batch, g, &C_s, w, m);
    if (status || emit_sample(net, batch, s, C_s, g, w, fn, data)) {
      bpcheck_params_free(g);
      return status;
    }
  }
  bpcheck_params_free(g);
  double C;
  if ((status = bpcheck_literal_backprop_mutant(net, batch, nabla, &C, w, m)))
    return status;
  emit_batch(net, nabla, C, fn, data);
  return BPCHECK_SUCCESS;
}
