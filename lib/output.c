/* output.c -- the output layer of one sample: its cost C_s, delta^L and
 * their rounding-error bounds, in forms that stay accurate where the
 * outputs saturate (proofs/02-costs.md, (COST.6)-(COST.9)).
 *
 * Where a sigmoid or softmax output is close to 1, 1 - a keeps few digits
 * and a - y cancels; where it is close to 0 (z below -745), a underflows
 * and ln a is -inf, though the exact cost and gradient are ordinary
 * numbers.  So every quantity is computed from z, with the complement
 * abar = 1 - a computed on its own (COST.8):
 *
 *   sigmoid   a = sigma(z), abar = sigma(-z)
 *   softmax   e_i = e^(z_i - m), m = max z = z_t, R = sum_(i != t) e_i,
 *             a_k = e_k / (1 + R), abar_t = R / (1 + R),
 *             abar_k = (1 + (R - e_k)) / (1 + R) for k != t
 *
 * and a - y = (1 - y) a - y abar (COST.9), in which no two terms cancel
 * when 0 <= y <= 1.  The costs:
 *
 *   cross entropy after sigmoid   C = max(z, 0) - z y + ln(1 + e^-|z|)
 *   after softmax                 ln a_k = (z_k - m) - ln(1 + R),
 *                                 ln abar_t = ln R - ln(1 + R)
 *   categorical cross entropy     C = sum_k y_k ((m - z_k) + ln(1 + R))
 *
 * and delta^L: a - y after a sigmoid with cross entropy (COST.7);
 * after a softmax, with H_k = a_k dC/da_k and U_k = sum_(i != k) H_i,
 *
 *   delta^L_k = abar_k H_k - a_k U_k                              (ACT.9)
 *
 * which is (ACT.8) with sum_i a_i = 1 used to take H_k out of the sum, so
 * that nothing cancels at a saturated output; with (COST.4) it is (COST.6).
 *
 * The bounds follow the running error analysis of proofs/06 (CD.7), (CD.8):
 * e_x bounds the absolute error of the computed x, to first order, given
 * the bounds e_z of the output's inputs; eps is the precision's machine
 * epsilon. */

#include <float.h>
#include <math.h>

#include "internal.h"

const bpcheck_rounding bpcheck_rounding_double = {DBL_EPSILON, 0.0};

/* The sums of a softmax column (COST.8). */
typedef struct {
  double m;    /* max_i z_i = z_t */
  double R;    /* sum_(i != t) e^(z_i - m) */
  double logE; /* ln(1 + R) */
  size_t t;
} softmax_sums;

static softmax_sums
sums_of(size_t n, const double *z, size_t zs)
{
  softmax_sums S = {z[0], 0.0, 0.0, 0};
  for (size_t i = 1; i < n; i++)
    if (z[i * zs] > S.m)
      S.m = z[i * zs], S.t = i;
  for (size_t i = 0; i < n; i++)
    if (i != S.t)
      S.R += exp(z[i * zs] - S.m);
  S.logE = log1p(S.R);
  return S;
}

/* 1 - a_k of a softmax column, and ln(1 - a_k), from its sums. */
static double
softmax_abar(const softmax_sums *S, double e_k, size_t k)
{
  return (k == S->t ? S->R : 1.0 + (S->R - e_k)) / (1.0 + S->R);
}

static double
softmax_log_abar(const softmax_sums *S, double e_k, size_t k)
{
  return (k == S->t ? log(S->R) : log1p(S->R - e_k)) - S->logE;
}

void
bpcheck_softmax_pair(size_t n, const double *z, size_t zs, double *a,
                     size_t as, double *abar, size_t abs)
{
  const softmax_sums S = sums_of(n, z, zs);
  const double E = 1.0 + S.R;
  for (size_t k = 0; k < n; k++) {
    const double e_k = k == S.t ? 1.0 : exp(z[k * zs] - S.m);
    a[k * as] = e_k / E;
    if (abar)
      abar[k * abs] = softmax_abar(&S, e_k, k);
  }
}

double
bpcheck_output_abar(bpcheck_activation f, double z, double a)
{
  return f == BPCHECK_SIGMOID ? bpcheck_activation_f(f, -z) : 1.0 - a;
}

/* (COST.9) a - y; with abar where the output has one. */
static double
diff(bpcheck_activation f, double a, double abar, double y)
{
  return f == BPCHECK_SIGMOID || f == BPCHECK_SOFTMAX
             ? (1.0 - y) * a - y * abar
             : a - y;
}

double
bpcheck_output_diff(bpcheck_activation f, double z, double a, double y)
{
  return diff(f, a, bpcheck_output_abar(f, z, a), y);
}

/* (COST.1)-(COST.3) of an element-wise output; cross entropy only after a
 * sigmoid (bpcheck_arch_validate). */
double
bpcheck_output_term(bpcheck_activation f, bpcheck_cost c, size_t n_L, double z,
                    double a, double y)
{
  switch (c) {
  case BPCHECK_QUADRATIC: {
    const double d = bpcheck_output_diff(f, z, a, y);
    return 0.5 * d * d;
  }
  case BPCHECK_MSE: {
    const double d = bpcheck_output_diff(f, z, a, y);
    return d * d / (double)n_L;
  }
  case BPCHECK_CROSS_ENTROPY: /* (COST.3) = softplus(z) - y z */
    return fmax(z, 0.0) - z * y + log1p(exp(-fabs(z)));
  default: return NAN;
  }
}

/* The cost term of output k of a softmax column (COST.1)-(COST.4). */
static double
softmax_term(bpcheck_cost c, size_t n, const softmax_sums *S, double z,
             double e_k, size_t k, double y)
{
  switch (c) {
  case BPCHECK_CATEGORICAL_CROSS_ENTROPY:
    return y != 0.0 ? y * ((S->m - z) + S->logE) : 0.0;
  case BPCHECK_CROSS_ENTROPY: {
    /* A term whose weight y or 1 - y is 0 is 0, even where its log is
     * -inf. */
    double t = 0.0;
    if (y != 0.0)
      t -= y * ((z - S->m) - S->logE);
    if (y != 1.0)
      t -= (1.0 - y) * softmax_log_abar(S, e_k, k);
    return t;
  }
  default: {
    const double E = 1.0 + S->R;
    const double d =
        diff(BPCHECK_SOFTMAX, e_k / E, softmax_abar(S, e_k, k), y);
    return c == BPCHECK_QUADRATIC ? 0.5 * d * d : d * d / (double)n;
  }
  }
}

double
bpcheck_output_softmax_cost(bpcheck_cost c, size_t n, const double *z,
                            size_t zs, const double *y, size_t ys)
{
  const softmax_sums S = sums_of(n, z, zs);
  double C = 0.0;
  for (size_t k = 0; k < n; k++) {
    const double e_k = k == S.t ? 1.0 : exp(z[k * zs] - S.m);
    C += softmax_term(c, n, &S, z[k * zs], e_k, k, y[k * ys]);
  }
  return C;
}

double
bpcheck_output_cost(const bpcheck_net *net, const double *z, const double *a,
                    size_t zs, const double *y, size_t ys)
{
  const size_t L = net->L, n = net->n[L];
  if (net->f[L] == BPCHECK_SOFTMAX)
    return bpcheck_output_softmax_cost(net->cost, n, z, zs, y, ys);
  double C = 0.0;
  for (size_t k = 0; k < n; k++)
    C += bpcheck_output_term(net->f[L], net->cost, n, z[k * zs], a[k * zs],
                             y[k * ys]);
  return C;
}

/* dC/da of an element-wise output, from d = a - y: (COST.1), (COST.2). */
static double
dC_da(bpcheck_cost c, double d, size_t n)
{
  return c == BPCHECK_MSE ? 2.0 * d / (double)n : d;
}

/* The error bound e_x of an element-wise quantity's computed value. */
static double
f_second(bpcheck_activation f, double z)
{
  switch (f) { /* |f''(z)|: (ACT.1), (ACT.2), (ACT.5); 0 for the others */
  case BPCHECK_SIGMOID:
    return fabs(bpcheck_activation_df(f, z) *
                (1.0 - 2.0 * bpcheck_activation_f(f, z)));
  case BPCHECK_TANH: return fabs(2.0 * tanh(z) * bpcheck_activation_df(f, z));
  case BPCHECK_SOFTPLUS: return bpcheck_activation_df(BPCHECK_SIGMOID, z);
  default: return 0.0;
  }
}

double
bpcheck_output_f_second(bpcheck_activation f, double z)
{
  return f_second(f, z);
}

/* One element-wise output k (not softmax). */
static void
element(const bpcheck_net *net, const bpcheck_rounding *u, double r, double z,
        double a, double y, double ez, double *C, double *eC, double *delta,
        double *ed)
{
  const bpcheck_activation f = net->f[net->L];
  const bpcheck_cost c = net->cost;
  const size_t n = net->n[net->L];
  const double eps = u ? u->eps : 0.0, ey = u ? u->eps_in * fabs(y) : 0.0;
  const double abar = bpcheck_output_abar(f, z, a), d = diff(f, a, abar, y);
  /* f' at a relu kink within rounding: 1, for the bound (either side). */
  const int kink = bpcheck_relu_at_kink(f, z, ez), exact = ez == 0 && z == 0;
  const double df = bpcheck_activation_df(f, z);
  const double dfb = kink || (exact && f == BPCHECK_RELU) ? 1.0 : fabs(df);
  /* e_d: a and abar carry |f'| e_z from z and 4 eps of their own (exp, one
   * add, one divide); (1 - y) a - y abar three roundings more. */
  const double ed_ = dfb * ez +
                     (f == BPCHECK_SIGMOID
                          ? 7.0 * eps * (fabs((1.0 - y) * a) + fabs(y * abar))
                          : 4.0 * eps * fabs(a) + eps * fabs(d)) +
                     ey;
  if (c == BPCHECK_CROSS_ENTROPY) { /* sigmoid: (COST.3), (COST.7) */
    const double sp = log1p(exp(-fabs(z)));
    if (C)
      *C = fmax(z, 0.0) - z * y + sp;
    if (eC) /* dC/dz = a - y; each of three parts rounds, and the sum */
      *eC = fabs(d) * ez + 4.0 * eps * (fmax(z, 0.0) + fabs(z * y) + sp) +
            fabs(z) * ey;
    if (delta)
      *delta = r * d;
    if (ed)
      *ed = r * (ed_ + eps * fabs(d)) * (1.0 + eps);
    return;
  }
  const double G = dC_da(c, d, n), s = c == BPCHECK_MSE ? 2.0 / n : 1.0;
  const double eG = s * ed_ + 2.0 * eps * fabs(G);
  const double t = c == BPCHECK_MSE ? d * d / (double)n : 0.5 * d * d;
  if (C)
    *C = t;
  if (eC) /* dt/dd = G */
    *eC = fabs(G) * ed_ + 3.0 * eps * t;
  if (delta)
    *delta = r * G * df; /* (FC.4) */
  if (ed) {
    double e =
        eG * dfb + fabs(G) * f_second(f, z) * ez + 4.0 * eps * fabs(G * df);
    if (kink) /* one computation may take f' = 1, another 0 */
      e += fabs(G) + eG;
    *ed = r * e * (1.0 + eps);
  }
}

/* H_k = a_k dC/da_k of a softmax output, from a, abar and d = a - y. */
static double
softmax_H(bpcheck_cost c, size_t n, double a, double abar, double d, double y)
{
  switch (c) {
  case BPCHECK_QUADRATIC: return a * d;
  case BPCHECK_MSE: return 2.0 * a * d / (double)n;
  case BPCHECK_CROSS_ENTROPY: return d / abar; /* (COST.3) */
  default: return -y;                          /* (COST.4) */
  }
}

/* The softmax column: (ACT.9), its cost, and their bounds. */
static void
softmax_column(const bpcheck_net *net, const bpcheck_rounding *u, double r,
               const double *z, size_t zs, const double *y, size_t ys,
               const double *ez, double *C, double *eC, double *delta,
               double *ed)
{
  const size_t n = net->n[net->L];
  const bpcheck_cost c = net->cost;
  const softmax_sums S = sums_of(n, z, zs);
  const double E = 1.0 + S.R, eps = u ? u->eps : 0.0;
  const double ein = u ? u->eps_in : 0.0;
  /* Sums over i != t, and the values at t, for U_k and its bound. */
  double Ht = 0, Hsum = 0, Habs = 0, eHt = 0, eHsum = 0, Vt = 0, Vsum = 0;
  double cost = 0, ecost = 0;
  const double eLog = bpcheck_gamma(n + 2.0, eps) + 2.0 * eps;
  for (int pass = 0; pass < 2; pass++)
    for (size_t k = 0; k < n; k++) {
      const double zk = z[k * zs], yk = y[k * ys];
      const double e_k = k == S.t ? 1.0 : exp(zk - S.m);
      const double a = e_k / E, abar = softmax_abar(&S, e_k, k);
      const double d = diff(BPCHECK_SOFTMAX, a, abar, yk);
      const double H = softmax_H(c, n, a, abar, d, yk);
      const double ezk = ez ? ez[k * zs] : 0.0;
      if (pass == 0) { /* the sums; V = sum a_i e_z_i, for e_a */
        if (k == S.t)
          Ht = H, Vt = a * ezk;
        else
          Hsum += H, Habs += fabs(H), Vsum += a * ezk;
        if (C)
          cost += softmax_term(c, n, &S, zk, e_k, k, yk);
        continue;
      }
      /* e_a, e_abar: a_k (abar_k e_z_k + sum_(i != k) a_i e_z_i) through z
       * (ACT.7), and the roundings of the exponentials and of R. */
      const double V = k == S.t ? Vsum : Vsum - a * ezk + Vt;
      const double P = a * (abar * ezk + fmax(V, 0.0));
      const double ea = P + (n + 4.0) * eps * a;
      const double eab = P + (n + 6.0) * eps * abar;
      const double edd = P +
                         7.0 * eps * (fabs((1.0 - yk) * a) + fabs(yk * abar)) +
                         ein * fabs(yk);
      double eH;
      switch (c) {
      case BPCHECK_QUADRATIC:
        eH = ea * fabs(d) + a * edd + eps * fabs(H);
        break;
      case BPCHECK_MSE:
        eH = 2.0 / n * (ea * fabs(d) + a * edd) + 3.0 * eps * fabs(H);
        break;
      case BPCHECK_CROSS_ENTROPY:
        eH = (edd + fabs(H) * eab) / abar + 2.0 * eps * fabs(H);
        break;
      default: eH = ein * fabs(yk);
      }
      if (k == S.t)
        eHt = eH;
      else
        eHsum += eH;
      if (eC) { /* dC_s/dz_k = delta_k / r, through e_z; and the logs */
        double t_round;
        if (c == BPCHECK_CATEGORICAL_CROSS_ENTROPY)
          t_round = fabs(yk) * (eps * fabs(S.m - zk) + eLog * (1.0 + S.logE));
        else if (c == BPCHECK_CROSS_ENTROPY)
          t_round =
              eLog * (fabs(yk) * (1.0 + fabs(zk - S.m) + S.logE) +
                      fabs(1.0 - yk) * (n + 1.0 + S.logE +
                                        fabs(softmax_log_abar(&S, e_k, k))));
        else
          t_round = fabs(d) * (edd - P) * (c == BPCHECK_MSE ? 2.0 / n : 1.0) +
                    3.0 * eps * fabs(d * d);
        ecost += t_round;
      }
      if (pass == 1 && (delta || ed || eC)) {
        /* U_k = sum_(i != k) H_i: the sum without t, then t's term */
        const double U = k == S.t ? Hsum : (Hsum - H) + Ht;
        const double Pk = c == BPCHECK_CROSS_ENTROPY ? d : abar * H;
        const double ePk = c == BPCHECK_CROSS_ENTROPY
                               ? edd
                               : eab * fabs(H) + abar * eH + eps * fabs(Pk);
        const double eU = (k == S.t ? eHsum : eHsum + eHt) +
                          bpcheck_gamma(n + 2.0, eps) *
                              (k == S.t ? Habs : Habs + fabs(H) + fabs(Ht));
        const double dk = Pk - a * U;
        if (delta)
          delta[k * zs] = r * dk;
        if (ed)
          ed[k * zs] = r *
                       (ePk + ea * fabs(U) + a * eU +
                        2.0 * eps * (fabs(Pk) + fabs(a * U))) *
                       (1.0 + eps);
        if (eC)
          ecost += fabs(dk) * ezk;
      }
    }
  if (C)
    *C = cost;
  if (eC)
    *eC = ecost + bpcheck_gamma((double)n, eps) * fabs(cost);
}

void
bpcheck_output_sample(const bpcheck_net *net, const bpcheck_rounding *u,
                      double r, const double *z, const double *a, size_t zs,
                      const double *y, size_t ys, const double *ez, double *C,
                      double *eC, double *delta, double *ed)
{
  const size_t n = net->n[net->L];
  if (net->f[net->L] == BPCHECK_SOFTMAX) {
    softmax_column(net, u, r, z, zs, y, ys, ez, C, eC, delta, ed);
    return;
  }
  double cost = 0, ecost = 0, t = 0, et = 0;
  for (size_t k = 0; k < n; k++) {
    element(net, u, r, z[k * zs], a[k * zs], y[k * ys], ez ? ez[k * zs] : 0,
            C ? &t : NULL, eC ? &et : NULL, delta ? &delta[k * zs] : NULL,
            ed ? &ed[k * zs] : NULL);
    cost += t, ecost += et;
  }
  if (C)
    *C = cost;
  if (eC)
    *eC = ecost + bpcheck_gamma((double)n, u ? u->eps : 0.0) * fabs(cost);
}
