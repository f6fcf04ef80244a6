/* inputs.c -- the gradient with respect to the inputs, dC/da^0
 * (proofs/10-weight-decay.md, (IN.1)-(IN.3)): computed by both backprops,
 * its tolerance from the bound model of the parameters' (CD.10), and the
 * comparison of a candidate's.
 *
 * a^0 = x enters only z^1, so by the chain rule as in (FC.5), with r folded
 * into delta as in (MX.2):
 *
 *   (IN.1) dC/da^0_js = sum_k W^1_kj delta^1_ks      dX = (W^1)^T D^1
 *
 * The weight decay does not depend on x and does not enter it. */

#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_blas.h>

#include "internal.h"

static int
check_dx(const bpcheck_net *net, const bpcheck_batch *batch,
         const gsl_matrix *dx, const char *what)
{
  if (!dx || dx->size1 != net->n[0] || dx->size2 != batch->B)
    return bpcheck_fail(BPCHECK_EBADLEN,
                        "%s: expected an n_0 x B = %zu x %zu matrix", what,
                        net->n[0], batch->B);
  return BPCHECK_SUCCESS;
}

int
bpcheck_matrix_input_gradient_variant(const bpcheck_net *net,
                                      const bpcheck_batch *batch,
                                      bpcheck_params *nabla, gsl_matrix *dx,
                                      bpcheck_matrix_workspace *w, int flags)
{
  int status = check_dx(net, batch, dx, "dC/da^0");
  if (status || (status = bpcheck_matrix_backprop_variant(net, batch, nabla,
                                                          NULL, w, flags)))
    return status;
  /* (IN.1) [n_0 x B] = [n_1 x n_0]^T [n_1 x B] */
  gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, &net->theta->W[1],
                 bpcheck_matrix_D(w, 1), 0.0, dx);
  return BPCHECK_SUCCESS;
}

int
bpcheck_matrix_input_gradient(const bpcheck_net *net,
                              const bpcheck_batch *batch,
                              bpcheck_params *nabla, gsl_matrix *dx,
                              bpcheck_matrix_workspace *w)
{
  return bpcheck_matrix_input_gradient_variant(net, batch, nabla, dx, w, 0);
}

int
bpcheck_literal_input_gradient(const bpcheck_net *net,
                               const bpcheck_batch *batch,
                               bpcheck_params *nabla, gsl_matrix *dx,
                               bpcheck_literal_workspace *w)
{
  int status = check_dx(net, batch, dx, "dC/da^0");
  if (status)
    return status;
  /* Each sample alone, as a batch of one (r = 1), the decay apart: its
   * delta^1 is left in the workspace. */
  const double r = bpcheck_reduction_factor(net->reduction, batch->B);
  bpcheck_net data_only = *net;
  data_only.weight_decay = 0.0;
  const gsl_matrix *X = batch->X, *Y = batch->Y;
  for (size_t s = 0; s < batch->B; s++) {
    gsl_matrix Xs = {X->size1, 1, X->tda, X->data + s, NULL, 0};
    gsl_matrix Ys = {Y->size1, 1, Y->tda, Y->data + s, NULL, 0};
    bpcheck_batch one = {1, &Xs, &Ys};
    if ((status = bpcheck_literal_backprop(&data_only, &one, nabla, NULL, w)))
      return status;
    const double *delta =
        bpcheck_literal_quantity(w, BPCHECK_LITERAL_DELTA, 1);
    for (size_t j = 0; j < net->n[0]; j++) {
      /* (IN.1) dC/da^0_j = sum_k W^1_kj delta^1_k, times r */
      double sum = 0.0;
      for (size_t k = 0; k < net->n[1]; k++)
        sum += gsl_matrix_get(&net->theta->W[1], k, j) * delta[k];
      gsl_matrix_set(dx, j, s, r * sum);
    }
  }
  return bpcheck_literal_backprop(net, batch, nabla, NULL, w);
}

int
bpcheck_tolerance_derive_inputs(const bpcheck_net *net,
                                const bpcheck_batch *batch,
                                bpcheck_precision p, gsl_matrix *dx,
                                gsl_matrix *tol, gsl_matrix *alt,
                                int *have_alt)
{
  int status = check_dx(net, batch, dx, "the reference dC/da^0");
  if (!status)
    status = check_dx(net, batch, tol, "the tolerance of dC/da^0");
  if (!status && alt)
    status = check_dx(net, batch, alt, "the alternative dC/da^0");
  if (status)
    return status;
  const int single = p == BPCHECK_PRECISION_SINGLE;
  const double eps = single ? FLT_EPSILON : DBL_EPSILON;
  const double eta = single ? FLT_MIN : DBL_MIN;
  const size_t n0 = net->n[0], B = batch->B;
  bpcheck_bound_workspace *bw = NULL;
  bpcheck_matrix_workspace *mw = NULL;
  bpcheck_params *nabla = NULL;
  double *ep = bpcheck_calloc(n0 * B, sizeof *ep);
  if (!ep)
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for the bound of dC/da^0");
  gsl_matrix E = bpcheck_matrix_on(ep, n0, B);
  if ((status = bpcheck_params_alloc(&nabla, net->L, net->n)) ||
      (status = bpcheck_matrix_alloc(&mw, net, B)) ||
      (status = bpcheck_matrix_input_gradient(net, batch, nabla, dx, mw)) ||
      (status = bpcheck_bound_alloc(&bw, net, B)) ||
      (status = bpcheck_bound_input_gradient_at(
           net, batch, BPCHECK_PRECISION_DOUBLE, tol, bw)) ||
      (status = bpcheck_bound_input_gradient_at(net, batch, p, &E, bw)))
    goto done;
  /* (IN.3) = (CD.10) for the block of the inputs */
  double rmax = 0.0;
  for (size_t j = 0; j < n0; j++)
    for (size_t s = 0; s < B; s++)
      rmax = fmax(rmax, fabs(gsl_matrix_get(dx, j, s)));
  for (size_t j = 0; j < n0; j++)
    for (size_t s = 0; s < B; s++) {
      const double t =
          BPCHECK_TOL_K * (gsl_matrix_get(tol, j, s) + ep[j * B + s]) +
          eps * rmax + eta;
      if (!isfinite(t)) {
        status = bpcheck_fail(BPCHECK_EDOM,
                              "the rounding-error bound of dC/da^0 of sample "
                              "%zu, input %zu overflows",
                              s, j);
        goto done;
      }
      gsl_matrix_set(tol, j, s, t);
    }
  if (have_alt)
    *have_alt = 0;
  if (alt) {
    if ((status = bpcheck_matrix_input_gradient_variant(
             net, batch, nabla, alt, mw, BPCHECK_VARIANT_RELU_AT_ZERO_ONE)))
      goto done;
    for (size_t j = 0; have_alt && j < n0; j++)
      for (size_t s = 0; s < B; s++)
        if (gsl_matrix_get(alt, j, s) != gsl_matrix_get(dx, j, s))
          *have_alt = 1;
  }
done:
  free(ep);
  bpcheck_params_free(nabla);
  bpcheck_matrix_free(mw);
  bpcheck_bound_free(bw);
  return status;
}

int
bpcheck_compare_inputs(const gsl_matrix *r, const gsl_matrix *alt,
                       const gsl_matrix *g, const gsl_matrix *tol, double atol,
                       double rtol, bpcheck_input_report *rep)
{
  if (!r || !g || !tol || g->size1 != r->size1 || g->size2 != r->size2 ||
      tol->size1 != r->size1 || tol->size2 != r->size2 ||
      (alt && (alt->size1 != r->size1 || alt->size2 != r->size2)))
    return bpcheck_fail(BPCHECK_EBADLEN,
                        "dC/da^0: the candidate's, the reference and the "
                        "tolerance differ in shape");
  *rep = (bpcheck_input_report){0};
  rep->max_ratio = 0.0;
  for (size_t s = 0; s < r->size2; s++)
    for (size_t j = 0; j < r->size1; j++) {
      const double e = gsl_matrix_get(r, j, s), v = gsl_matrix_get(g, j, s);
      const double a = alt ? gsl_matrix_get(alt, j, s) : e;
      const double lo = fmin(e, a), hi = fmax(e, a);
      const double err = v < lo ? lo - v : v > hi ? v - hi : 0.0;
      const double t =
          atol + rtol * fmax(fabs(v), fabs(e)) + gsl_matrix_get(tol, j, s);
      const double ratio = isnan(v)  ? INFINITY
                           : err > 0 ? err / t
                                     : 0.0; /* not 0/0 where t = 0 */
      rep->n_checked++;
      if (!(err <= t) || isnan(v)) {
        if (rep->n_fail++ == 0)
          rep->first_s = s, rep->first_j = j;
      }
      if (rep->n_checked == 1 || ratio > rep->max_ratio) {
        rep->max_ratio = ratio;
        rep->worst_s = s, rep->worst_j = j;
        rep->expected = e, rep->received = v, rep->tol = t;
      }
    }
  return rep->n_fail ? BPCHECK_EMISMATCH : BPCHECK_SUCCESS;
}
