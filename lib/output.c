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

const bpcheck_rounding bpcheck_rounding_double = {DBL_EPSILON, 0.0, 0};

/* The sums of a softmax column (COST.8).  The others' sum is also kept
 * shifted by their own maximum m2, R = e^(m2 - m) S2: where every other
 * output underflows (a logit gap above 745), R is 0 but ln R and the
 * ratios a_k / (1 - a_t) = e^(z_k - m2) / S2 are not. */
typedef struct {
  double m;    /* max_i z_i = z_t */
  double R;    /* sum_(i != t) e^(z_i - m) */
  double logE; /* ln(1 + R) */
  double m2;   /* max_(i != t) z_i (-inf for one output) */
  double S2;   /* sum_(i != t) e^(z_i - m2), >= 1 (0 for one output) */
  size_t t;
} softmax_sums;

static softmax_sums
sums_of(size_t n, const double *z, size_t zs)
{
  softmax_sums S = {z[0], 0.0, 0.0, -INFINITY, 0.0, 0};
  for (size_t i = 1; i < n; i++)
    if (z[i * zs] > S.m)
      S.m = z[i * zs], S.t = i;
  for (size_t i = 0; i < n; i++)
    if (i != S.t) {
      S.R += exp(z[i * zs] - S.m);
      S.m2 = fmax(S.m2, z[i * zs]);
    }
  for (size_t i = 0; i < n; i++)
    if (i != S.t)
      S.S2 += exp(z[i * zs] - S.m2);
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
  return (k == S->t ? (S->m2 - S->m) + log(S->S2) : log1p(S->R - e_k)) -
         S->logE;
}

/* a_k / (1 - a_t) for k != t: e^(z_k - m2) / S2, at most 1. */
static double
softmax_ratio(const softmax_sums *S, double z_k)
{
  return exp(z_k - S->m2) / S->S2;
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

double
bpcheck_output_term_z(bpcheck_activation f, bpcheck_cost c, size_t n_L,
                      double z, double y)
{
  if (c == BPCHECK_CROSS_ENTROPY) /* (COST.3) = softplus(z) - y z */
    return fmax(z, 0.0) - z * y + log1p(exp(-fabs(z)));
  double d;
  if (f == BPCHECK_SIGMOID) { /* a and 1 - a from one exponential */
    const double e = exp(-fabs(z)), q = 1.0 / (1.0 + e);
    const double a = z >= 0 ? q : e * q, abar = z >= 0 ? e * q : q;
    d = (1.0 - y) * a - y * abar; /* (COST.9) */
  } else {
    d = bpcheck_activation_f(f, z) - y;
  }
  return c == BPCHECK_QUADRATIC ? 0.5 * d * d : d * d / (double)n_L;
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
  /* 1 - a, and f'(z); after a sigmoid both from one exponential (ACT.1),
   * sigma' = sigma(z) sigma(-z) of two accurate factors */
  double abar, df;
  if (f == BPCHECK_SIGMOID) {
    const double e = exp(-fabs(z)), q = 1.0 / (1.0 + e);
    abar = z >= 0 ? e * q : q;
    df = e * q * q;
  } else {
    abar = bpcheck_output_abar(f, z, a);
    df = bpcheck_activation_df(f, z);
  }
  const double d = diff(f, a, abar, y);
  /* f' at a relu kink within rounding: 1, for the bound (either side). */
  const int kink = bpcheck_relu_at_kink(f, z, ez), exact = ez == 0 && z == 0;
  const double dfb = kink || (exact && f == BPCHECK_RELU) ? 1.0 : fabs(df);
  /* e_d: a and abar carry |f'| e_z from z and 4 eps of their own (exp, one
   * add, one divide); (1 - y) a - y abar three roundings more. */
  const double ed_ = dfb * ez +
                     (f == BPCHECK_SIGMOID && !(u && u->direct)
                          ? 7.0 * eps * (fabs((1.0 - y) * a) + fabs(y * abar))
                          : 4.0 * eps * fabs(a) + eps * fabs(d)) +
                     ey;
  if (c == BPCHECK_CROSS_ENTROPY) { /* sigmoid: (COST.3), (COST.7) */
    const double sp = C || eC ? log1p(exp(-fabs(z))) : 0.0;
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
  const double G = dC_da(c, d, n),
               s = c == BPCHECK_MSE ? 2.0 / (double)n : 1.0;
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

/* One output of a softmax column: a, abar = 1 - a, d = a - y (COST.9),
 * and the bounds ea, eab, ed of each (eps, ein as in bpcheck_rounding). */
typedef struct {
  double a, abar, d, ea, eab, ed;
} softmax_out;

/* H_k = a_k dC/da_k and P_k = (1 - a_k) H_k, with their bounds.  After a
 * cross entropy P = d, and H = d / (1 - a) is not formed for t. */
static void
softmax_HP(bpcheck_cost c, size_t n, const softmax_out *o, double y,
           double eps, double ein, int is_t, double *H, double *eH, double *P,
           double *eP)
{
  const double a = o->a, d = o->d;
  switch (c) {
  case BPCHECK_QUADRATIC: /* (COST.1) */
    *H = a * d, *eH = o->ea * fabs(d) + a * o->ed + eps * fabs(*H);
    break;
  case BPCHECK_MSE: /* (COST.2) */
    *H = 2.0 * a * d / (double)n;
    *eH =
        2.0 / (double)n * (o->ea * fabs(d) + a * o->ed) + 3.0 * eps * fabs(*H);
    break;
  case BPCHECK_CROSS_ENTROPY: /* (COST.3) */
    *H = is_t ? 0.0 : d / o->abar;
    *eH = is_t ? 0.0
               : (o->ed + fabs(*H) * o->eab) / o->abar + 2.0 * eps * fabs(*H);
    *P = d, *eP = o->ed;
    return;
  default: *H = -y, *eH = ein * fabs(y); /* (COST.4) */
  }
  *P = o->abar * *H;
  *eP = o->eab * fabs(*H) + o->abar * *eH + eps * fabs(*P);
}

/* a_k of a softmax column with sums S. */
static double
a_of(const softmax_sums *S, const double *z, size_t zs, size_t k)
{
  return (k == S->t ? 1.0 : exp(z[k * zs] - S->m)) / (1.0 + S->R);
}

/* Output k of a softmax column with sums S; V = sum_(i != k) a_i e_z_i
 * (for e_a: a_k (abar_k e_z_k + V) through z by (ACT.7), and the roundings
 * of the exponentials and of R). */
static softmax_out
softmax_output(const softmax_sums *S, size_t n, double zk, double yk,
               double ezk, double V, double eps, double ein, int direct,
               size_t k, double *e_k)
{
  softmax_out o;
  *e_k = k == S->t ? 1.0 : exp(zk - S->m);
  o.a = *e_k / (1.0 + S->R);
  o.abar = softmax_abar(S, *e_k, k);
  o.d = diff(BPCHECK_SOFTMAX, o.a, o.abar, yk);
  const double Pz = o.a * (o.abar * ezk + fmax(V, 0.0));
  o.ea = Pz + ((double)n + 4.0) * eps * o.a;
  o.eab = Pz + ((double)n + 6.0) * eps * o.abar;
  o.ed = Pz +
         (direct ? ((double)n + 4.0) * eps * o.a + eps * fabs(o.d)
                 : 7.0 * eps * (fabs((1.0 - yk) * o.a) + fabs(yk * o.abar))) +
         ein * fabs(yk);
  return o;
}

/* The softmax column: (ACT.9), its cost, and their bounds.  With P_k =
 * (1 - a_k) H_k, the term of t in U_k is a_k H_t = rho_k P_t, rho_k = a_k /
 * (1 - a_t) <= 1, so that no H_t is formed (after a cross entropy it is
 * (a_t - y_t) / (1 - a_t), which overflows where 1 - a_t underflows):
 *
 *   delta_t = P_t - a_t sum_(i != t) H_i
 *   delta_k = P_k - a_k (sum_(i != t) H_i - H_k) - rho_k P_t     (k != t) */
static void
softmax_column(const bpcheck_net *net, const bpcheck_rounding *u, double r,
               const double *z, size_t zs, const double *y, size_t ys,
               const double *ez, double *C, double *eC, double *delta,
               double *ed)
{
  const size_t n = net->n[net->L];
  const bpcheck_cost c = net->cost;
  const softmax_sums S = sums_of(n, z, zs);
  const double eps = u ? u->eps : 0.0, ein = u ? u->eps_in : 0.0;
  const int direct = u && u->direct;
  const double eLog = bpcheck_gamma((double)n + 2.0, eps) + 2.0 * eps;
  double Sy = 0; /* sum_i y_i, for a direct a sum y - y */
  for (size_t k = 0; k < n; k++)
    Sy += y[k * ys];
  /* First: sum_(i != t) a_i e_z_i, a_t e_z_t, the largest e_z. */
  double Vs = 0, Vt = 0, ezmax = 0;
  for (size_t k = 0; ez && k < n; k++) {
    const double a = a_of(&S, z, zs, k), ezk = ez[k * zs];
    ezmax = fmax(ezmax, ezk);
    if (k == S.t)
      Vt = a * ezk;
    else
      Vs += a * ezk;
  }
  /* Then the cost, P_t, and over i != t: sum H_i, sum |H_i|, sum e_H_i. */
  double Hs = 0, Habs = 0, eHs = 0, Pt = 0, ePt = 0, cost = 0, ecost = 0;
  for (size_t k = 0; k < n; k++) {
    const double zk = z[k * zs], yk = y[k * ys], ezk = ez ? ez[k * zs] : 0;
    double e_k, H, eH, P, eP;
    const double V = k == S.t ? Vs : Vs - a_of(&S, z, zs, k) * ezk + Vt;
    const softmax_out o =
        softmax_output(&S, n, zk, yk, ezk, V, eps, ein, direct, k, &e_k);
    softmax_HP(c, n, &o, yk, eps, ein, k == S.t, &H, &eH, &P, &eP);
    if (k == S.t)
      Pt = P, ePt = eP;
    else
      Hs += H, Habs += fabs(H), eHs += eH;
    if (C)
      cost += softmax_term(c, n, &S, zk, e_k, k, yk);
    if (!eC)
      continue;
    /* the rounding of the cost term, apart from z's (below) */
    if (c == BPCHECK_CATEGORICAL_CROSS_ENTROPY)
      ecost += fabs(yk) * (eps * fabs(S.m - zk) + eLog * (1.0 + S.logE));
    else if (c == BPCHECK_CROSS_ENTROPY)
      ecost += eLog * (fabs(yk) * (1.0 + fabs(zk - S.m) + S.logE) +
                       fabs(1.0 - yk) * ((double)n + 1.0 + S.logE +
                                         fabs(softmax_log_abar(&S, e_k, k))));
    else
      ecost += fabs(o.d) *
                   (7.0 * eps * (fabs((1.0 - yk) * o.a) + fabs(yk * o.abar)) +
                    ein * fabs(yk)) *
                   (c == BPCHECK_MSE ? 2.0 / (double)n : 1.0) +
               3.0 * eps * o.d * o.d;
  }
  /* Last, delta_k, now that the sums over i != t are known. */
  for (size_t k = 0; (delta || ed || eC) && k < n; k++) {
    const double zk = z[k * zs], yk = y[k * ys], ezk = ez ? ez[k * zs] : 0;
    double e_k, dk, e;
    const double V = k == S.t ? Vs : Vs - a_of(&S, z, zs, k) * ezk + Vt;
    const softmax_out o =
        softmax_output(&S, n, zk, yk, ezk, V, eps, ein, direct, k, &e_k);
    if (k == S.t) {
      dk = Pt - o.a * Hs;
      e = ePt + o.ea * fabs(Hs) +
          o.a * (eHs + bpcheck_gamma((double)n, eps) * Habs) +
          2.0 * eps * (fabs(Pt) + fabs(o.a * Hs));
    } else {
      double H, eH, P, eP;
      softmax_HP(c, n, &o, yk, eps, ein, 0, &H, &eH, &P, &eP);
      /* rho = e^(z_k) / sum_(i != t) e^(z_i): relative error through z at
       * most 2 max e_z, and n + 4 roundings */
      const double rho = softmax_ratio(&S, zk);
      const double erho = rho * (2.0 * ezmax + ((double)n + 4.0) * eps);
      const double U = Hs - H;
      const double eU =
          eHs + bpcheck_gamma((double)n + 1.0, eps) * (Habs + fabs(H));
      dk = P - o.a * U - rho * Pt;
      e = eP + o.ea * fabs(U) + o.a * eU + rho * ePt + fabs(Pt) * erho +
          3.0 * eps * (fabs(P) + fabs(o.a * U) + fabs(rho * Pt));
    }
    if (direct && c == BPCHECK_CATEGORICAL_CROSS_ENTROPY) /* a sum y - y */
      e += ((double)n + 6.0) * eps * (o.a * fabs(Sy) + fabs(yk));
    if (delta)
      delta[k * zs] = r * dk;
    if (ed)
      ed[k * zs] = r * e * (1.0 + eps);
    if (eC) /* dC_s/dz_k = delta_k / r, through e_z */
      ecost += fabs(dk) * ezk;
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

void
bpcheck_output_rows(const bpcheck_net *net, double r, const double *Z,
                    const double *A, size_t B, const double *Y, size_t ys,
                    double *C_s, double *D)
{
  const size_t n = net->n[net->L];
  for (size_t s = 0; s < B; s++)
    C_s[s] = 0.0;
  for (size_t k = 0; k < n; k++)
    for (size_t s = 0; s < B; s++) {
      double t;
      element(net, NULL, r, Z[k * B + s], A[k * B + s], Y[k * ys + s], 0.0, &t,
              NULL, &D[k * B + s], NULL);
      C_s[s] += t;
    }
}
