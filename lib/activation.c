/* activation.c -- f_l and f_l' of proofs/01-activations.md.
 *
 * Element-wise activations take z and return f(z) or f'(z); the derivative
 * is always a function of z, never of a = f(z) (using a where z is meant is
 * a classic bug that the bug zoo keeps).  Softmax is not element-wise: its
 * Jacobian is applied by the backprops themselves, (ACT.8). */

#include <math.h>

#include "internal.h"

/* (ACT.1) sigma(z) = 1 / (1 + e^-z), evaluated so that exp never overflows:
 * for z < 0 the equal form e^z / (1 + e^z).  Both with e = e^-|z|, and the
 * choice a select rather than a branch (the signs of z are random, and a
 * mispredicted branch cost more than the exponential). */
static double
sigmoid(double z)
{
  const double e = exp(-fabs(z));
  return (z >= 0 ? 1.0 : e) / (1.0 + e);
}

/* (ACT.1) sigma'(z) = sigma(z) (1 - sigma(z)) = e / (1 + e)^2 with
 * e = e^-|z| (sigma' is even): one exponential, and none of the
 * cancellation of 1 - sigma(z) for large z (at z = 30, 1 - sigma keeps 3
 * digits; this form keeps them all). */
static double
sigmoid_prime(double z)
{
  double e = exp(-fabs(z));
  return e / ((1.0 + e) * (1.0 + e));
}

double
bpcheck_activation_f(bpcheck_activation f, double z)
{
  switch (f) {
  case BPCHECK_SIGMOID: return sigmoid(z);
  case BPCHECK_TANH: return tanh(z);
  case BPCHECK_RELU: return z > 0 ? z : 0.0;
  case BPCHECK_IDENTITY: return z;
  /* (ACT.5) softplus(z) = ln(1 + e^z) = max(z, 0) + log1p(e^-|z|) */
  case BPCHECK_SOFTPLUS: return fmax(z, 0.0) + log1p(exp(-fabs(z)));
  default: return NAN; /* softmax is not element-wise */
  }
}

double
bpcheck_activation_df(bpcheck_activation f, double z)
{
  switch (f) {
  case BPCHECK_SIGMOID: return sigmoid_prime(z);
  case BPCHECK_TANH: {
    /* (ACT.2) 1 - tanh^2 z = 1 / cosh^2 z, the second without the
     * cancellation of the first for large |z| (where cosh^2 overflows, the
     * true value is below 1e-300 and 0 is returned). */
    double c = cosh(z);
    return 1.0 / (c * c);
  }
  case BPCHECK_RELU: return z > 0 ? 1.0 : 0.0; /* (ACT.3), 0 at the kink */
  case BPCHECK_IDENTITY: return 1.0;           /* (ACT.4) */
  case BPCHECK_SOFTPLUS: return sigmoid(z);    /* (ACT.5) */
  default: return NAN;
  }
}

/* (ACT.6) a_k = e^(z_k - m) / sum_i e^(z_i - m) with m = max_i z_i: the same
 * value as without m, and no exponential overflows. */
void
bpcheck_softmax(size_t n, const double *z, size_t zstride, double *a,
                size_t astride)
{
  double m = -INFINITY, sum = 0.0;
  for (size_t i = 0; i < n; i++)
    m = fmax(m, z[i * zstride]);
  for (size_t i = 0; i < n; i++) {
    a[i * astride] = exp(z[i * zstride] - m);
    sum += a[i * astride];
  }
  for (size_t i = 0; i < n; i++)
    a[i * astride] /= sum;
}

/* The same functions over arrays, the switch taken once per array so that
 * the loop is the compiler's to unroll; used by the hot paths (matrix.c,
 * fastfd.c). */
void
bpcheck_activation_array(bpcheck_activation f, size_t n, const double *z,
                         double *a)
{
  switch (f) {
  case BPCHECK_SIGMOID:
    for (size_t i = 0; i < n; i++)
      a[i] = sigmoid(z[i]);
    break;
  case BPCHECK_TANH:
    for (size_t i = 0; i < n; i++)
      a[i] = tanh(z[i]);
    break;
  case BPCHECK_RELU:
    for (size_t i = 0; i < n; i++)
      a[i] = z[i] > 0 ? z[i] : 0.0;
    break;
  case BPCHECK_IDENTITY:
    for (size_t i = 0; i < n; i++)
      a[i] = z[i];
    break;
  default:
    for (size_t i = 0; i < n; i++)
      a[i] = bpcheck_activation_f(f, z[i]);
  }
}

/* d (.)= f'(z): the Hadamard product of (MX.2) and (MX.3) in one pass. */
void
bpcheck_activation_dmul(bpcheck_activation f, size_t n, const double *z,
                        double *d)
{
  switch (f) {
  case BPCHECK_SIGMOID:
    for (size_t i = 0; i < n; i++)
      d[i] *= sigmoid_prime(z[i]); /* (ACT.1) */
    break;
  case BPCHECK_RELU:
    for (size_t i = 0; i < n; i++)
      d[i] = z[i] > 0 ? d[i] : 0.0; /* (ACT.3) */
    break;
  case BPCHECK_IDENTITY: break; /* (ACT.4) */
  default:
    for (size_t i = 0; i < n; i++)
      d[i] *= bpcheck_activation_df(f, z[i]);
  }
}
