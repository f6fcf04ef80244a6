/* cost.c -- the per-sample costs of proofs/02-costs.md, one output at a time.
 *
 * All four costs are sums over the outputs k of a term in (a_k, y_k), so
 * C_s = sum_k term(a_k, y_k) and dC_s/da_k = dterm(a_k, y_k). */

#include <math.h>

#include "internal.h"

double
bpcheck_cost_term(bpcheck_cost c, double a, double y, size_t n_L)
{
  double d = a - y;
  switch (c) {
  case BPCHECK_QUADRATIC: return 0.5 * d * d;   /* (COST.1) */
  case BPCHECK_MSE: return d * d / (double)n_L; /* (COST.2) */
  case BPCHECK_CROSS_ENTROPY: {                 /* (COST.3) */
    /* A term whose weight y or 1 - y is 0 is 0, even where its log is
     * -inf; log1p(-a) is ln(1 - a) without the cancellation of 1 - a. */
    double t = 0.0;
    if (y != 0.0)
      t -= y * log(a);
    if (y != 1.0)
      t -= (1.0 - y) * log1p(-a);
    return t;
  }
  case BPCHECK_CATEGORICAL_CROSS_ENTROPY: /* (COST.4) */
    return y != 0.0 ? -y * log(a) : 0.0;
  default: return NAN;
  }
}

double
bpcheck_cost_dterm(bpcheck_cost c, double a, double y, size_t n_L)
{
  switch (c) {
  case BPCHECK_QUADRATIC: return a - y;                         /* (COST.1) */
  case BPCHECK_MSE: return 2.0 * (a - y) / (double)n_L;         /* (COST.2) */
  case BPCHECK_CROSS_ENTROPY: return (a - y) / (a * (1.0 - a)); /* (COST.3) */
  case BPCHECK_CATEGORICAL_CROSS_ENTROPY: return -y / a;        /* (COST.4) */
  default: return NAN;
  }
}

/* sum_s [term(z_s, y_s) - t0_s] over n samples of an element-wise output,
 * each term from z (the fast check's inner loop, fastfd.c); a - y directly
 * where no complement is needed (output.c). */
double
bpcheck_cost_change(bpcheck_activation f, bpcheck_cost c, size_t n,
                    const double *z, const double *y, const double *t0,
                    size_t n_L)
{
  double sum = 0.0;
  if (f == BPCHECK_IDENTITY && c == BPCHECK_QUADRATIC) {
    for (size_t s = 0; s < n; s++) {
      const double d = z[s] - y[s];
      sum += 0.5 * d * d - t0[s];
    }
    return sum;
  }
  for (size_t s = 0; s < n; s++)
    sum += bpcheck_output_term_z(f, c, n_L, z[s], y[s]) - t0[s];
  return sum;
}

/* (COST.5) C = r sum_s C_s. */
double
bpcheck_reduction_factor(bpcheck_reduction r, size_t B)
{
  return r == BPCHECK_MEAN ? 1.0 / (double)B : 1.0;
}

/* (WD.1) D = lambda/2 sum_l sum_kj (W^l_kj)^2.  The squares are summed with
 * Kahan's compensation, so that the rounding of D does not grow with the
 * number of weights (WD.5): a central difference divides it by its step. */
double
bpcheck_decay_cost(const bpcheck_net *net)
{
  const double lambda = net->weight_decay;
  if (lambda == 0.0)
    return 0.0;
  double sum = 0.0, c = 0.0; /* c: the low part that sum lost */
  for (size_t l = 1; l <= net->L; l++) {
    const gsl_matrix *W = &net->theta->W[l];
    for (size_t k = 0; k < W->size1; k++)
      for (size_t j = 0; j < W->size2; j++) {
        const double w = W->data[k * W->tda + j];
        const double y = w * w - c, t = sum + y;
        c = (t - sum) - y;
        sum = t;
      }
  }
  return 0.5 * lambda * sum;
}

/* (WD.5) Each square rounds once (eps), Kahan's sum adds at most (2 eps +
 * O(P eps^2)) of the sum of its terms (Higham, (4.8); 4 P eps^2 for the
 * second order), lambda times it once more (eps) and the halving is exact:
 * (4 eps + 4 P eps^2) D to first order with room; adding D to C rounds
 * once, eps |C + D| <= eps (|C| + D). */
double
bpcheck_decay_cost_error(const bpcheck_net *net, double D, double C)
{
  if (D == 0.0)
    return 0.0;
  double P = 0.0;
  for (size_t l = 1; l <= net->L; l++)
    P += (double)net->n[l] * (double)net->n[l - 1];
  const double eps = DBL_EPSILON;
  return (4.0 * eps + 4.0 * P * eps * eps) * D + eps * (fabs(C) + D);
}
