/* fdiff.c -- the gradient by central differences, with an error estimate
 * for every entry (proofs/06-central-differences.md).
 *
 * Method: for each parameter theta_i, with e_i its unit vector,
 *
 *   (CD.1) D(h) = (C(theta + h e_i) - C(theta - h e_i)) / (2h)   error O(h^2)
 *   (CD.5) r5   = (4 D(h/2) - D(h)) / 3                           error O(h^4)
 *
 * Richardson's extrapolation, as gsl_deriv_central does.  The step is
 * (CD.4) h = cbrt(eps) max(1, |theta_i|), rounded to a power of two.  The
 * error estimate (CD.6) adds the truncation error of D(h), |r5 - D(h)|
 * (which bounds that of r5 with a wide margin), and the rounding error:
 * each cost carries an absolute error of at most eps_C = m eps |C| (CD.7),
 * m the length of the longest chain of floating-point operations in the
 * forward pass, amplified by 1/h.
 *
 * Where a step crosses a relu kink (the sign of some relu input z differs
 * between theta and theta +/- h), the entry's estimate is +inf: see below.
 *
 * The oracle shares no code with either backprop: it only evaluates the cost,
 * through the matrix forward pass (bpcheck_matrix_cost). */

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "internal.h"

struct bpcheck_fdiff_workspace {
  bpcheck_matrix_workspace *forward;
  double m;     /* (CD.7) the operation-chain length of one cost evaluation */
  size_t kinks; /* entries of the last gradient that crossed a relu kink */
};

size_t
bpcheck_fdiff_kinks(const bpcheck_fdiff_workspace *w)
{
  return w->kinks;
}

int
bpcheck_fdiff_alloc(bpcheck_fdiff_workspace **out, const bpcheck_net *net,
                    size_t B)
{
  bpcheck_fdiff_workspace *w = bpcheck_calloc(1, sizeof *w);
  if (!w)
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for the fdiff workspace");
  int status = bpcheck_matrix_alloc(&w->forward, net, B);
  if (status) {
    free(w);
    return status;
  }
  w->m = bpcheck_fdiff_chain_length(net, B);
  *out = w;
  return BPCHECK_SUCCESS;
}

/* (CD.7) A cost is a chain of: per layer, a dot product of n_(l-1) terms
 * plus the bias and the activation (n_(l-1) + 2 roundings, and softmax's
 * normalisation counts n_l more); then the sum of n_L B cost terms, each a
 * few operations. */
double
bpcheck_fdiff_chain_length(const bpcheck_net *net, size_t B)
{
  double m = 0.0;
  for (size_t l = 1; l <= net->L; l++)
    m += (double)net->n[l - 1] + 2.0 +
         (net->f[l] == BPCHECK_SOFTMAX ? (double)net->n[l] : 0.0);
  return m + (double)(net->n[net->L] * B) + 4.0;
}

void
bpcheck_fdiff_free(bpcheck_fdiff_workspace *w)
{
  if (!w)
    return;
  bpcheck_matrix_free(w->forward);
  free(w);
}

/* C at theta_i = v (theta_i is left at v); *same is cleared when the relu
 * sign pattern differs from pattern0: a kink lies between. */
static void
cost_at(bpcheck_net *net, size_t i, double v, const bpcheck_batch *batch,
        bpcheck_fdiff_workspace *w, uint64_t pattern0, int *same, double *C)
{
  net->theta->data[i] = v;
  /* The batch and the workspace fit (checked once by the caller), so this
   * cannot fail. */
  bpcheck_matrix_cost(net, batch, C, w->forward);
  if (bpcheck_matrix_relu_pattern(w->forward) != pattern0)
    *same = 0;
}

int
bpcheck_fdiff_prepare(const bpcheck_net *net, const bpcheck_batch *batch,
                      const bpcheck_params *g, const bpcheck_params *err,
                      bpcheck_matrix_workspace *forward, double *C0)
{
  int status = bpcheck_params_match(net->theta, g);
  if (status)
    return status;
  if (err && (status = bpcheck_params_match(net->theta, err)))
    return status;
  /* Fails when the batch or the workspace does not fit the network. */
  return bpcheck_matrix_cost(net, batch, C0, forward);
}

double
bpcheck_fdiff_combine(double d1, double dh, double mag1, double magh, double h,
                      double theta, double eps_C, double *trunc_err,
                      double *round_err)
{
  /* Differences of the cost over a step 2h, as in gsl_deriv_central. */
  const double r3 = 0.5 * d1;
  const double r5 = (4.0 / 3.0) * dh - (1.0 / 3.0) * r3;
  /* (CD.6) rounding: eps_C |C| per value, through the weights of r3 and r5;
   * and the error of theta +/- h itself, |r5/h| eps |theta| / h. */
  const double e3 = mag1 * eps_C;
  const double e5 = 2.0 * magh * eps_C + e3;
  const double dy =
      fmax(fabs(r3 / h), fabs(r5 / h)) * (fabs(theta) / h) * DBL_EPSILON;
  *round_err = fabs(e5 / h) + dy;
  *trunc_err = fabs((r5 - r3) / h);
  return r5 / h;
}

/* (CD.4) cbrt(eps) max(1, |theta|), to the nearest power of two, so that the
 * step itself is exact and theta +/- h, theta +/- h/2 are exact whenever
 * theta's last bit is not below h's. */
double
bpcheck_fdiff_step(double theta)
{
  double h0 = cbrt(DBL_EPSILON) * fmax(1.0, fabs(theta));
  return exp2(round(log2(h0)));
}

int
bpcheck_fdiff_gradient(bpcheck_net *net, const bpcheck_batch *batch,
                       bpcheck_params *g, bpcheck_params *err,
                       bpcheck_fdiff_workspace *w)
{
  double C0;
  int status = bpcheck_fdiff_prepare(net, batch, g, err, w->forward, &C0);
  if (status)
    return status;

  const double eps_C = w->m * DBL_EPSILON;
  const uint64_t pattern0 = bpcheck_matrix_relu_pattern(w->forward);
  w->kinks = 0;
  for (size_t i = 0; i < net->theta->size; i++) {
    const double theta = net->theta->data[i], h = bpcheck_fdiff_step(theta);
    double fp1, fm1, fph, fmh;
    int smooth = 1;
    cost_at(net, i, theta + h, batch, w, pattern0, &smooth, &fp1);
    cost_at(net, i, theta - h, batch, w, pattern0, &smooth, &fm1);
    cost_at(net, i, theta + h / 2, batch, w, pattern0, &smooth, &fph);
    cost_at(net, i, theta - h / 2, batch, w, pattern0, &smooth, &fmh);
    net->theta->data[i] = theta; /* restored exactly: the saved value */

    double trunc_err, round_err;
    g->data[i] = bpcheck_fdiff_combine(
        fp1 - fm1, fph - fmh, fabs(fp1) + fabs(fm1), fabs(fph) + fabs(fmh), h,
        theta, eps_C, &trunc_err, &round_err);
    /* (ACT.3) Across a relu kink C is not differentiable along e_i within
     * the step, and no difference quotient estimates the one-sided
     * derivative that backprop returns: the entry gets an infinite error
     * estimate, which the comparison counts as skipped, not passed. */
    w->kinks += !smooth;
    if (err)
      err->data[i] = smooth ? trunc_err + round_err : INFINITY;
  }
  return BPCHECK_SUCCESS;
}
