/* cstep.c -- the gradient by the complex step (proofs/07-complex-step.md).
 *
 * For a cost that is real-analytic in theta_i,
 *
 *   (CS.1) C(theta + i h e_i) = C + i h C' - h^2 C''/2 - i h^3 C'''/6 + ...
 *   (CS.2) C' = Im C(theta + i h e_i) / h + O(h^2)
 *
 * with no difference of nearby values: no cancellation, so h can be tiny
 * (1e-20) and the truncation term vanishes below rounding.  The result is
 * as accurate as the cost itself: it is forward-mode differentiation
 * carried by the imaginary part.  Relu branches on the real part, so the
 * imaginary step never crosses its kink and gives its derivative on the side
 * of the real value (0 at z = 0, the library's convention (ACT.3)).
 *
 * The forward pass here is its own, in C99 complex arithmetic: it shares no
 * code with either backprop nor with the real forward pass. */

#include <complex.h>
#include <math.h>
#include <stdlib.h>

#include "internal.h"

#define CSTEP_H 1e-20

struct bpcheck_cstep_workspace {
  size_t L, n_max, B;
  double complex *a, *z; /* one layer's a^(l-1) and z^l, n_max each */
};

int
bpcheck_cstep_alloc(bpcheck_cstep_workspace **out, const bpcheck_net *net)
{
  size_t n_max = 1;
  for (size_t l = 0; l <= net->L; l++)
    n_max = net->n[l] > n_max ? net->n[l] : n_max;
  bpcheck_cstep_workspace *w = bpcheck_calloc(1, sizeof *w);
  if (w) {
    w->L = net->L;
    w->n_max = n_max;
    w->a = bpcheck_calloc(n_max, sizeof *w->a);
    w->z = bpcheck_calloc(n_max, sizeof *w->z);
  }
  if (!w || !w->a || !w->z) {
    bpcheck_cstep_free(w);
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for the complex step");
  }
  *out = w;
  return BPCHECK_SUCCESS;
}

void
bpcheck_cstep_free(bpcheck_cstep_workspace *w)
{
  if (w)
    BPCHECK_FREE(w->a, w->z, w);
}

/* The activations in complex arithmetic; branches on the real part. */
static double complex
f_complex(bpcheck_activation f, double complex z)
{
  switch (f) {
  case BPCHECK_SIGMOID: /* (ACT.1), without overflow of cexp */
    return creal(z) >= 0 ? 1.0 / (1.0 + cexp(-z)) : cexp(z) / (1.0 + cexp(z));
  case BPCHECK_TANH: return ctanh(z);
  case BPCHECK_RELU: return creal(z) > 0 ? z : 0.0; /* (ACT.3) */
  case BPCHECK_IDENTITY: return z;
  case BPCHECK_SOFTPLUS: /* (ACT.5): max(z, 0) + ln(1 + e^-|z|) */
    return creal(z) > 0 ? z + clog(1.0 + cexp(-z)) : clog(1.0 + cexp(z));
  default: return NAN;
  }
}

/* ln a_k and ln(1 - a_k) of a softmax column, in complex arithmetic, in
 * forms whose imaginary parts do not cancel either (they are the
 * derivative: Im ln a_t = Im z_t - Im ln E would be a difference of two
 * nearly equal numbers where a_t is near 1):
 *
 *   ln a_t = -ln(1 + sum_(i != t) e^(z_i - z_t))     ln a_k = (z_k - mx) - ln
 * E ln(1 - a_t) = ln sum_(i != t) e^(z_i - mx) - ln E    ln(1 - a_k) = ln(1 -
 * a_k)
 *
 * with t the output of the largest real part mx, and each sum shifted by
 * its own largest real part, so that its log stays finite where its terms
 * underflow (a gap above 745). */
static double complex
log_sum_except(const double complex *z, size_t n, size_t k, double shift)
{
  double mk = -INFINITY;
  double complex rest = 0;
  for (size_t i = 0; i < n; i++)
    if (i != k)
      mk = fmax(mk, creal(z[i]));
  for (size_t i = 0; i < n; i++)
    if (i != k)
      rest += cexp(z[i] - mk);
  return (mk - shift) + clog(rest);
}

static double complex
softmax_log(const double complex *z, size_t n, size_t t, double mx,
            double complex logE, size_t k, int complement)
{
  if (!complement)
    return k == t ? -clog(1.0 + cexp(log_sum_except(z, n, t, creal(z[t])) +
                                     (creal(z[t]) - z[t])))
                  : (z[k] - mx) - logE;
  return k == t ? log_sum_except(z, n, t, mx) - logE
                : clog(1.0 - cexp((z[k] - mx) - logE));
}

/* One sample's cost from z^L and a^L, in the forms of output.c that stay
 * accurate at saturated outputs (COST.6)-(COST.9): only the imaginary part
 * is used, but it is the derivative of the real part's formula, so that
 * formula must not cancel either. */
static double complex
cost_complex(const bpcheck_net *net, const double complex *z,
             const double complex *a, const bpcheck_batch *batch, size_t s)
{
  const size_t n = net->n[net->L];
  const bpcheck_activation f = net->f[net->L];
  const bpcheck_cost c = net->cost;
  double complex C = 0, E = 0, logE = 0;
  double mx = -INFINITY;
  size_t t = 0;
  if (f == BPCHECK_SOFTMAX) { /* (ACT.6) shifted by max Re z */
    for (size_t k = 0; k < n; k++)
      if (creal(z[k]) > mx)
        mx = creal(z[k]), t = k;
    for (size_t k = 0; k < n; k++)
      E += cexp(z[k] - mx);
    logE = clog(E);
  }
  for (size_t k = 0; k < n; k++) {
    const double y = gsl_matrix_get(batch->Y, k, s);
    if (c == BPCHECK_CATEGORICAL_CROSS_ENTROPY) { /* softmax: (COST.4) */
      C -= y != 0 ? y * softmax_log(z, n, t, mx, logE, k, 0) : 0;
    } else if (c == BPCHECK_CROSS_ENTROPY && f == BPCHECK_SIGMOID) {
      /* (COST.3) softplus(z) - y z, the z of softplus's max(z, 0) taken
       * into (1 - y) z so that nothing cancels at y = 1 */
      C += creal(z[k]) > 0 ? (1 - y) * z[k] + clog(1.0 + cexp(-z[k]))
                           : -y * z[k] + clog(1.0 + cexp(z[k]));
    } else if (c == BPCHECK_CROSS_ENTROPY) { /* after a softmax */
      if (y != 0)
        C -= y * softmax_log(z, n, t, mx, logE, k, 0);
      if (y != 1)
        C -= (1 - y) * softmax_log(z, n, t, mx, logE, k, 1);
    } else {
      /* (COST.9) with 1 - a_k on its own */
      double complex abar = 0;
      if (f == BPCHECK_SOFTMAX)
        abar = cexp(log_sum_except(z, n, k, mx)) / E;
      else if (f == BPCHECK_SIGMOID)
        abar = f_complex(BPCHECK_SIGMOID, -z[k]);
      const double complex d = f == BPCHECK_SIGMOID || f == BPCHECK_SOFTMAX
                                   ? (1 - y) * a[k] - y * abar
                                   : a[k] - y;
      C += c == BPCHECK_QUADRATIC ? 0.5 * d * d : d * d / (double)n;
    }
  }
  return C;
}

/* C at theta with parameter i moved by i h: the imaginary part, over h. */
static double
derivative(const bpcheck_net *net, const bpcheck_batch *batch, size_t i,
           bpcheck_cstep_workspace *w)
{
  const bpcheck_params *th = net->theta;
  const size_t L = net->L;
  double complex C = 0;
  for (size_t s = 0; s < batch->B; s++) {
    double complex *a = w->a, *z = w->z;
    for (size_t j = 0; j < net->n[0]; j++)
      a[j] = gsl_matrix_get(batch->X, j, s);
    for (size_t l = 1; l <= L; l++) {
      const double *W = th->W[l].data, *b = th->b[l].data;
      const size_t n = net->n[l], m = net->n[l - 1];
      size_t iW = (size_t)(W - th->data), ib = (size_t)(b - th->data);
      for (size_t k = 0; k < n; k++) { /* (FC.1), the step on entry i */
        double complex zk = b[k] + (ib + k == i ? I * CSTEP_H : 0);
        for (size_t j = 0; j < m; j++)
          zk +=
              (W[k * m + j] + (iW + k * m + j == i ? I * CSTEP_H : 0)) * a[j];
        z[k] = zk;
      }
      if (net->f[l] == BPCHECK_SOFTMAX) { /* (ACT.6), shifted by max Re z */
        double mx = -INFINITY;
        double complex sum = 0;
        for (size_t k = 0; k < n; k++)
          mx = fmax(mx, creal(z[k]));
        for (size_t k = 0; k < n; k++)
          sum += (a[k] = cexp(z[k] - mx));
        for (size_t k = 0; k < n; k++)
          a[k] /= sum;
      } else
        for (size_t k = 0; k < n; k++)
          a[k] = f_complex(net->f[l], z[k]);
    }
    C += cost_complex(net, w->z, a, batch, s);
  }
  return bpcheck_reduction_factor(net->reduction, batch->B) * cimag(C) /
         CSTEP_H;
}

int
bpcheck_cstep_gradient(const bpcheck_net *net, const bpcheck_batch *batch,
                       bpcheck_params *g, bpcheck_cstep_workspace *w)
{
  int status = bpcheck_params_match(net->theta, g);
  if (status)
    return status;
  if (w->L != net->L)
    return bpcheck_fail(BPCHECK_EBADLEN,
                        "the workspace was allocated for another network");
  for (size_t l = 0; l <= net->L; l++)
    if (net->n[l] > w->n_max)
      return bpcheck_fail(BPCHECK_EBADLEN,
                          "the workspace was allocated for another network");
  if ((status = bpcheck_batch_validate(net, batch)))
    return status;
  for (size_t i = 0; i < net->theta->size; i++) {
    g->data[i] = derivative(net, batch, i, w);
    size_t l, k, j;
    int is_bias;
    bpcheck_params_entry(net->theta, i, &l, &is_bias, &k, &j);
    if (net->weight_decay && !is_bias) {
      /* (WD.1) lambda/2 (W_kj + i h)^2 of the decay, once after the
       * reduction: its imaginary part over h is lambda W_kj (WD.3), within
       * two roundings */
      const double complex wh = net->theta->data[i] + I * CSTEP_H;
      g->data[i] += cimag(0.5 * net->weight_decay * wh * wh) / CSTEP_H;
    }
  }
  return BPCHECK_SUCCESS;
}
