/* fdiff.c -- the gradient by central differences, with an error estimate
 * for every entry (proofs/06-central-differences.md).
 *
 * Method: for each parameter theta_i, with e_i its unit vector, the central
 * differences at three steps h, h/2, h/4,
 *
 *   (CD.1) D(h) = (C(theta + h e_i) - C(theta - h e_i)) / (2h)   error O(h^2)
 *
 * and Richardson's table over them (CD.5): each column cancels the next
 * even power of h, and the last entry, T_22, has error O(h^6).  The step
 * (CD.4) h = eps^(1/7) max(1, |theta_i|), rounded to a power of two, makes
 * that truncation of the order of the rounding.  The error estimate (CD.6)
 * adds the truncation, as the largest difference between T_22 and its two
 * neighbours in the table (which are O(h^4) away), and the rounding: each
 * cost carries an absolute error of at most e_C, bounded to first order by
 * a running error analysis of the forward pass (CD.7), through the weights
 * with which T_22 combines the costs.
 *
 * Where a step crosses a relu kink (the sign of some relu input z differs
 * between theta and theta +/- h), the entry is computed again with the two
 * levels h', h'/2 of a much smaller step h' = eps^(1/3) max(1, |theta_i|)
 * (CD.4); where those cross it too, its estimate is +inf: see below.
 *
 * The oracle shares no code with either backprop: it only evaluates the cost,
 * through the matrix forward pass (bpcheck_matrix_cost). */

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "internal.h"

struct bpcheck_fdiff_workspace {
  bpcheck_matrix_workspace *forward;
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
  *out = w;
  return BPCHECK_SUCCESS;
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

/* The derivative along e_i from the costs at theta_i +/- h / 2^q, q <
 * levels (theta_i is left moved); *smooth cleared as by cost_at. */
static double
table(bpcheck_net *net, size_t i, const bpcheck_batch *batch,
      bpcheck_fdiff_workspace *w, uint64_t pattern0, size_t levels, double h,
      double e_C, int *smooth, double *trunc_err, double *round_err)
{
  const double theta = net->theta->data[i];
  double delta[BPCHECK_FDIFF_LEVELS];
  for (size_t q = 0; q < levels; q++) {
    const double hq = ldexp(h, -(int)q);
    double fp, fm;
    cost_at(net, i, theta + hq, batch, w, pattern0, smooth, &fp);
    cost_at(net, i, theta - hq, batch, w, pattern0, smooth, &fm);
    delta[q] = fp - fm;
  }
  net->theta->data[i] = theta;
  return bpcheck_fdiff_richardson(levels, delta, h, theta, e_C, trunc_err,
                                  round_err);
}

int
bpcheck_fdiff_prepare(const bpcheck_net *net, const bpcheck_batch *batch,
                      const bpcheck_params *g, const bpcheck_params *err,
                      bpcheck_matrix_workspace *forward, double *C0,
                      double *e_C)
{
  int status = bpcheck_params_match(net->theta, g);
  if (status)
    return status;
  if (err && (status = bpcheck_params_match(net->theta, err)))
    return status;
  /* Fails when the batch or the workspace does not fit the network. */
  if ((status = bpcheck_matrix_cost(net, batch, C0, forward)))
    return status;
  /* At theta; within the steps it changes by a relative O(h): a second-
   * order term. */
  *e_C =
      bpcheck_matrix_cost_error(net, batch, forward, NULL, NULL, NULL, NULL);
  return BPCHECK_SUCCESS;
}

/* (CD.5), (CD.6) Richardson's table: T_i0 = D(h / 2^i), and
 *   T_ij = T_i,j-1 + (T_i,j-1 - T_i-1,j-1) / (4^j - 1),
 * each column cancelling the h^(2j) term of the one before.  The weights of
 * the D(h / 2^i) in the result are carried through the same recurrence, for
 * the rounding estimate. */
double
bpcheck_fdiff_richardson(size_t levels, const double *delta, double h,
                         double theta, double e_C, double *trunc_err,
                         double *round_err)
{
  double T[BPCHECK_FDIFF_LEVELS][BPCHECK_FDIFF_LEVELS];
  double c[BPCHECK_FDIFF_LEVELS][BPCHECK_FDIFF_LEVELS][BPCHECK_FDIFF_LEVELS];
  double hi = h; /* h / 2^i, exact */
  for (size_t i = 0; i < levels; i++, hi *= 0.5) {
    T[i][0] = delta[i] / (2.0 * hi);
    for (size_t q = 0; q < levels; q++)
      c[i][0][q] = q == i;
    double f4 = 1.0; /* 4^j */
    for (size_t j = 1; j <= i; j++) {
      const double f = 1.0 / ((f4 *= 4.0) - 1.0); /* 1/(4^j-1) */
      T[i][j] = T[i][j - 1] + (T[i][j - 1] - T[i - 1][j - 1]) * f;
      for (size_t q = 0; q < levels; q++)
        c[i][j][q] =
            c[i][j - 1][q] + (c[i][j - 1][q] - c[i - 1][j - 1][q]) * f;
    }
  }
  const size_t n = levels - 1;
  const double r = T[n][n];
  /* Truncation: the distance to the two neighbours, as in Numerical
   * Recipes' dfridr; both are an order of h^2 less accurate than r.  With
   * one level there is no estimate: +inf. */
  *trunc_err =
      n ? fmax(fabs(r - T[n][n - 1]), fabs(r - T[n - 1][n - 1])) : INFINITY;
  /* Rounding: e_C for each of the two costs of D(h_q), through the weight
   * c_q / (2 h_q) of each in r, and the error of theta +/- h_q itself, a
   * relative eps |theta| / h_q of D(h_q). */
  double e = 0.0, hq = h;
  for (size_t q = 0; q < levels; q++, hq *= 0.5)
    e += fabs(c[n][n][q]) * (e_C + fabs(T[q][0]) * DBL_EPSILON * fabs(theta)) /
         hq;
  *round_err = e;
  return r;
}

/* (CD.4) eps^(1/root) max(1, |theta|), to the nearest power of two, so that
 * the step itself is exact and theta +/- h / 2^i are exact whenever
 * theta's last bit is not below h / 2^i. */
double
bpcheck_fdiff_step(double theta, double root)
{
  double h0 = pow(DBL_EPSILON, 1.0 / root) * fmax(1.0, fabs(theta));
  return exp2(round(log2(h0)));
}

/* The entries first .. first + count - 1. */
static int
gradient_range(bpcheck_net *net, const bpcheck_batch *batch, size_t first,
               size_t count, bpcheck_params *g, bpcheck_params *err,
               bpcheck_fdiff_workspace *w)
{
  double C0, e_C;
  int status =
      bpcheck_fdiff_prepare(net, batch, g, err, w->forward, &C0, &e_C);
  if (status)
    return status;

  const uint64_t pattern0 = bpcheck_matrix_relu_pattern(w->forward);
  w->kinks = 0;
  for (size_t i = first; i < first + count; i++) {
    const double theta = net->theta->data[i];
    double trunc_err, round_err;
    int smooth = 1;
    g->data[i] = table(net, i, batch, w, pattern0, BPCHECK_FDIFF_LEVELS,
                       bpcheck_fdiff_step(theta, BPCHECK_FDIFF_ROOT), e_C,
                       &smooth, &trunc_err, &round_err);
    if (!smooth) { /* again, with a step that may miss the kink */
      smooth = 1;
      g->data[i] = table(net, i, batch, w, pattern0, 2,
                         bpcheck_fdiff_step(theta, BPCHECK_FDIFF_KINK_ROOT),
                         e_C, &smooth, &trunc_err, &round_err);
    }
    net->theta->data[i] = theta; /* restored exactly: the saved value */
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

int
bpcheck_fdiff_gradient(bpcheck_net *net, const bpcheck_batch *batch,
                       bpcheck_params *g, bpcheck_params *err,
                       bpcheck_fdiff_workspace *w)
{
  return gradient_range(net, batch, 0, net->theta->size, g, err, w);
}

int
bpcheck_fdiff_layer(bpcheck_net *net, const bpcheck_batch *batch, size_t l,
                    bpcheck_params *g, bpcheck_params *err,
                    bpcheck_fdiff_workspace *w)
{
  size_t first, count;
  int status = bpcheck_params_layer(net->theta, l, &first, &count);
  return status ? status : gradient_range(net, batch, first, count, g, err, w);
}
