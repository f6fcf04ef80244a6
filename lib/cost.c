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
