/* diagnose.c -- from the pattern of a candidate's errors, the likely bug.
 *
 * Each pattern is tested against the reference r (and variants of it) with
 * the tolerance of the comparison, so that "g = c r" means every entry of g
 * is within tolerance of c r_i:
 *
 *   a constant factor c   g = c r, c from least squares <g,r> / <r,r>;
 *                         named when it is -1 (a sign flip), B or 1/B
 *                         (batch sum vs mean), 2 (the 1/2 of the quadratic
 *                         cost), n_L/2 or n_L (MSE's 2/n_L or 1/n_L)
 *   output derivative     g is the gradient with delta^L = dC/da^L, without
 *                         f_L'(z^L) (FC.4)
 *   transposed            a square W^l block where g = (r)^T
 *   rounded               every g_i printed with d <= 12 significant digits
 *                         and within half a unit of its last digit of r_i
 *   precision             every entry within the tolerance of a float32
 *                         implementation (CD.10): use --precision single
 *   shortcut              g is the gradient with delta^L = a - y after a
 *                         softmax where (COST.6) or (COST.7) does not give it
 *   one entry             a single entry fails
 *   bias not reduced      the weights pass, and the biases are B r_b (summed
 *                         where the cost takes the mean) or one sample's
 *   one layer             every failing entry is in W^l or b^l of one l
 *   small                 every relative error below 1e-2: an approximated
 *                         function rather than a wrong formula
 *   weight decay          with lambda > 0, g is the gradient without the
 *                         decay plus c_W lambda W on the weights and c_b
 *                         lambda b on the biases (WD.3 has c_W = 1, c_b =
 *                         0): missing (0, 0), the biases decayed (c, c),
 *                         lambda divided as the data term (r, 0), once per
 *                         sample (B, 0), the square's 2 or the 1/2 lost
 *                         (2 or 1/2, 0), or another c_W by least squares;
 *                         else, the decay right, a constant factor (or
 *                         sign) of the data term g - lambda W (WD.8) */

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* The tolerance of entry i of a block whose allowances start at abs (NULL
 * when tol has none) for g_i against e = c r_i: the comparison's, with the
 * derived allowance scaled by |c| when c makes the reference larger. */
static double
allowance(const bpcheck_tolerance *tol, const double *abs, size_t i, double v,
          double e, double c)
{
  return tol->atol + tol->rtol * fmax(fabs(v), fabs(e)) +
         (abs ? abs[i] * fmax(1.0, fabs(c)) : 0.0);
}

/* The allowances of the block starting at entry first, or NULL. */
static const double *
block_abs(const bpcheck_tolerance *tol, size_t first)
{
  return tol->abs ? tol->abs->data + first : NULL;
}

/* Does g match c r (+ 0) over n entries within tol, entry by entry (abs:
 * the block's allowances, or NULL)?  Uses the same per-entry tolerance as
 * bpcheck_compare, without its block term. */
static int
matches(const double *r, const double *g, size_t n, double c,
        const bpcheck_tolerance *tol, const double *abs)
{
  for (size_t i = 0; i < n; i++) {
    double e = c * r[i];
    if (!(fabs(g[i] - e) <= allowance(tol, abs, i, g[i], e, c)))
      return 0;
  }
  return 1;
}

/* The least-squares factor c of g ~ c r over n entries (0 when r = 0). */
static double
factor(const double *r, const double *g, size_t n)
{
  double gr = 0, rr = 0;
  for (size_t i = 0; i < n; i++)
    gr += g[i] * r[i], rr += r[i] * r[i];
  return rr > 0 ? gr / rr : 0.0;
}

/* The largest |g_i - r_i| / |r_i| (inf where r_i = 0 and g_i is not). */
static double
max_relerr(const double *r, const double *g, size_t n)
{
  double m = 0;
  for (size_t i = 0; i < n; i++) {
    const double e = fabs(g[i] - r[i]);
    if (e > 0)
      m = fmax(m, r[i] != 0 ? e / fabs(r[i]) : INFINITY);
  }
  return m;
}

/* The fewest significant digits d (1..17) that print every g_i exactly. */
static int
digits_of(const double *g, size_t n)
{
  int d = 1;
  char buf[40];
  for (size_t i = 0; i < n; i++)
    while (d < 17) {
      snprintf(buf, sizeof buf, "%.*g", d, g[i]);
      if (strtod(buf, NULL) == g[i])
        break;
      d++;
    }
  return d;
}

/* Is every |g_i - r_i| within half a unit of the d-th significant digit
 * of g_i (and a rounding of r_i beside)? */
static int
rounded_to(const double *r, const double *g, size_t n, int d)
{
  for (size_t i = 0; i < n; i++) {
    const double m = fmax(fabs(g[i]), fabs(r[i]));
    if (m == 0)
      continue;
    const double unit = pow(10.0, floor(log10(m)) - (d - 1));
    if (!(fabs(g[i] - r[i]) <= 0.5 * unit * (1 + 1e-9) + 4 * DBL_EPSILON * m))
      return 0;
  }
  return 1;
}

/* Within a relative 1e-6 of a known value? */
static int
near(double c, double known)
{
  return fabs(c - known) <= 1e-6 * fabs(known);
}

/* "WHAT c times the reference: why" for a factor c of the gradient (what:
 * "every entry is") or of its data term. */
static void
name_factor(const bpcheck_net *net, size_t B, double c, const char *what,
            char *text, size_t len)
{
  const double nL = (double)net->n[net->L];
  const char *why = "";
  const int mean = net->reduction == BPCHECK_MEAN;
  const int quadratic = net->cost == BPCHECK_QUADRATIC;
  /* A factor B means the batch summed only where the cost takes the mean
   * (and 1/B the reverse); at B = 2 under a quadratic cost it may as well
   * be its missing 1/2. */
  if (B == 2 && mean && quadratic && near(c, 2.0))
    why = ": the batch is summed where the cost takes the mean (reduction "
          "'mean' divides by B = 2), or the 1/2 of the quadratic cost is "
          "missing (its gradient is a - y, not 2 (a - y))";
  else if (B > 1 && mean && near(c, (double)B))
    why = ": the batch is summed where the cost takes the mean (reduction "
          "'mean' divides by B)";
  else if (B > 1 && !mean && near(c, 1.0 / (double)B))
    why = ": the batch is averaged where the cost takes the sum";
  else if (B > 1 && mean && near(c, 1.0 / (double)B))
    why = ": the batch mean is taken twice (divided by B twice)";
  else if (quadratic && near(c, 2.0))
    why = ": the 1/2 of the quadratic cost is missing (its gradient is "
          "a - y, not 2 (a - y))";
  else if (quadratic && near(c, 0.5))
    why = ": the 1/2 of the quadratic cost is applied twice";
  else if (net->cost == BPCHECK_MSE && near(c, nL / 2.0))
    why = ": MSE's 2/n_L is missing (dC/da = 2 (a - y) / n_L)";
  else if (net->cost == BPCHECK_MSE && near(c, nL))
    why = ": MSE's 1/n_L is missing";
  snprintf(text, len, "%s %.6g times the reference%s", what, c, why);
}

/* The diagnosis d: bug, in layer, and its text. */
static void name_bug(bpcheck_diagnosis *d, bpcheck_bug bug, size_t layer,
                     const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void
name_bug(bpcheck_diagnosis *d, bpcheck_bug bug, size_t layer, const char *fmt,
         ...)
{
  va_list ap;
  va_start(ap, fmt);
  d->bug = bug;
  d->layer = layer;
  vsnprintf(d->text, sizeof d->text, fmt, ap);
  va_end(ap);
}

const char *
bpcheck_bug_name(bpcheck_bug b)
{
  static const char *const names[] = {
      "none",         "factor", "sign",      "output_derivative",
      "transposed",   "bias",   "one_layer", "precision",
      "shortcut",     "entry",  "small",     "rounded",
      "weight_decay", "unknown"};
  _Static_assert(sizeof names / sizeof *names == BPCHECK_BUG_UNKNOWN + 1,
                 "a name for every bpcheck_bug");
  return (int)b >= 0 && b <= BPCHECK_BUG_UNKNOWN ? names[b] : "invalid";
}

/* The decay's term wrong in some layers only: g the reference with c_l
 * lambda W^l in place of lambda W^l (c_l by least squares in each layer,
 * the biases undecayed), some c_l != 1.  1 with d filled in when so (the
 * first such layer in d->layer); v has room for the parameters. */
static int
decay_by_layer(const bpcheck_net *net, const bpcheck_params *r,
               const bpcheck_params *g, const bpcheck_tolerance *tol,
               bpcheck_params *v, bpcheck_diagnosis *d)
{
  const double lambda = net->weight_decay;
  double c[BPCHECK_MAX_LAYERS + 1];
  memcpy(v->data, r->data, r->size * sizeof *v->data);
  size_t first = 0;
  for (size_t l = 1; l <= r->L; l++) {
    const size_t at = bpcheck_params_index_W(r, l, 0, 0);
    double gr = 0, rr = 0;
    for (size_t i = at; i < at + r->n[l] * r->n[l - 1]; i++) {
      const double lw = lambda * net->theta->data[i];
      gr += (g->data[i] - r->data[i] + lw) * lw, rr += lw * lw;
    }
    c[l] = rr > 0 ? gr / rr : 1.0;
    for (size_t i = at; i < at + r->n[l] * r->n[l - 1]; i++)
      v->data[i] += (c[l] - 1.0) * lambda * net->theta->data[i];
    if (!first && !near(c[l], 1.0))
      first = l;
  }
  if (!first ||
      !matches(v->data, g->data, r->size, 1.0, tol, block_abs(tol, 0)))
    return 0;
  d->bug = BPCHECK_BUG_DECAY;
  d->factor = c[first];
  d->layer = first;
  size_t used = (size_t)snprintf(d->text, sizeof d->text,
                                 "the weight decay's term is wrong in some "
                                 "layers only: dC/dW^l gains");
  for (size_t l = 1; l <= r->L && used < sizeof d->text; l++)
    if (!near(c[l], 1.0))
      used += (size_t)snprintf(d->text + used, sizeof d->text - used,
                               "%s %.3g lambda W^%zu", l == first ? "" : ",",
                               c[l], l);
  if (used < sizeof d->text)
    snprintf(d->text + used, sizeof d->text - used,
             " where it gains lambda W^l in every layer (WD.3)");
  return 1;
}

/* The weight decay's classic bugs (WD.3), when lambda > 0: is g the
 * reference r with c_W lambda W in place of lambda W and c_b lambda b added
 * to the biases, for one of the named pairs, or c_W from least squares?  1
 * with d filled in when so; v has room for the parameters. */
static int
decay_bug(const bpcheck_net *net, size_t B, const bpcheck_params *r,
          const bpcheck_params *g, const bpcheck_tolerance *tol,
          bpcheck_params *v, bpcheck_diagnosis *d)
{
  const double lambda = net->weight_decay;
  const double rf = bpcheck_reduction_factor(net->reduction, B);
  const size_t P = r->size;
  /* c_W from least squares on the weights: g_W - r_W + lambda W ~ c_W
   * lambda W */
  double gr = 0, rr = 0;
  for (size_t l = 1; l <= r->L; l++)
    for (size_t i = 0; i < r->n[l] * r->n[l - 1]; i++) {
      const size_t at = bpcheck_params_index_W(r, l, 0, 0) + i;
      const double lw = lambda * net->theta->data[at];
      gr += (g->data[at] - r->data[at] + lw) * lw, rr += lw * lw;
    }
  const double cls = rr > 0 ? gr / rr : 0.0;
  struct {
    double cW, cb;
    const char *what;
  } const tries[] = {
      {0, 0,
       "the weight decay is missing: dC/dW^l lacks lambda W^l (WD.3); the "
       "cost has lambda/2 sum_l ||W^l||^2 added once"},
      {1, 1,
       "the biases are decayed too: dC/db^l has lambda b^l, but the decay "
       "lambda/2 sum_l ||W^l||^2 is on the weights alone (WD.1), so dC/db^l "
       "is the data term's (FC.7)"},
      {rf, 0,
       "lambda is divided as the data term is (r lambda W, r = 1/B): the "
       "decay is added once to the reduced cost (WD.1), so dC/dW^l gains "
       "lambda W^l itself (WD.3)"},
      {rf, rf,
       "the biases are decayed too, and lambda divided as the data term "
       "(r lambda): dC/dW^l gains lambda W^l, the biases nothing (WD.3)"},
      {(double)B, 0,
       "the decay is added for every sample (B lambda W): it is added once, "
       "to the reduced cost (WD.1), so dC/dW^l gains lambda W^l (WD.3)"},
      {2, 0,
       "dC/dW^l gains 2 lambda W^l: the decay is lambda/2 ||W||^2, whose "
       "derivative is lambda W (WD.3)"},
      {0.5, 0,
       "dC/dW^l gains lambda/2 W^l: the derivative of the square's 1/2 "
       "lambda W^2 is lambda W, not lambda/2 W (WD.3)"},
      {cls, 0, NULL}};
  for (size_t t = 0; t < sizeof tries / sizeof *tries; t++) {
    if (((t == 2 || t == 3) && rf == 1.0) || (t == 4 && B == 1))
      continue; /* the same as another try */
    for (size_t i = 0; i < P; i++) {
      size_t l, k, j;
      int is_bias;
      bpcheck_params_entry(r, i, &l, &is_bias, &k, &j);
      const double th = net->theta->data[i];
      v->data[i] = is_bias ? r->data[i] + tries[t].cb * lambda * th
                           : r->data[i] + (tries[t].cW - 1.0) * lambda * th;
    }
    if (!matches(v->data, g->data, P, 1.0, tol, block_abs(tol, 0)))
      continue;
    d->bug = BPCHECK_BUG_DECAY;
    d->factor = tries[t].cW;
    if (tries[t].what)
      snprintf(d->text, sizeof d->text, "%s", tries[t].what);
    else
      snprintf(d->text, sizeof d->text,
               "dC/dW^l gains %.6g lambda W^l where the decay lambda/2 "
               "sum_l ||W^l||^2 gives lambda W^l (WD.3)",
               tries[t].cW);
    return 1;
  }
  return decay_by_layer(net, r, g, tol, v, d);
}

/* With lambda > 0 and the decay's term right: is the data term of g, g - D
 * with D = lambda W on the weights and 0 on the biases (WD.3), a constant
 * factor c of the reference's (a bug of the cost or the reduction, WD.8)?
 * 1 with d filled in when so; v has room for the parameters. */
static int
data_factor(const bpcheck_net *net, size_t B, const bpcheck_params *r,
            const bpcheck_params *g, const bpcheck_tolerance *tol,
            bpcheck_params *v, bpcheck_diagnosis *d)
{
  const size_t P = r->size;
  double gr = 0, rr = 0;
  for (size_t i = 0; i < P; i++) {
    size_t l, k, j;
    int is_bias;
    bpcheck_params_entry(r, i, &l, &is_bias, &k, &j);
    const double D = is_bias ? 0.0 : net->weight_decay * net->theta->data[i];
    v->data[i] = D;
    gr += (g->data[i] - D) * (r->data[i] - D);
    rr += (r->data[i] - D) * (r->data[i] - D);
  }
  const double c = rr > 0 ? gr / rr : 0.0;
  if (c == 0 || near(c, 1.0))
    return 0;
  for (size_t i = 0; i < P; i++)
    v->data[i] += c * (r->data[i] - v->data[i]);
  if (!matches(v->data, g->data, P, 1.0, tol, block_abs(tol, 0)))
    return 0;
  d->factor = c;
  if (near(c, -1.0)) {
    d->bug = BPCHECK_BUG_SIGN;
    snprintf(d->text, sizeof d->text,
             "a sign flip of the data term: the gradient without the weight "
             "decay is -1 times the reference's, the decay's lambda W^l right "
             "(WD.3)");
  } else {
    d->bug = BPCHECK_BUG_FACTOR;
    name_factor(net, B, c,
                "the data term (the gradient without the weight decay's "
                "lambda W^l, which is right) is",
                d->text, sizeof d->text);
  }
  return 1;
}

int
bpcheck_diagnose(const bpcheck_net *net, const bpcheck_batch *batch,
                 const bpcheck_params *r, const bpcheck_params *g,
                 const bpcheck_tolerance *tol, bpcheck_diagnosis *d)
{
  int status = bpcheck_params_match(r, g);
  if (status)
    return status;
  memset(d, 0, sizeof *d);
  const size_t P = r->size, B = batch->B;

  /* The weight decay's bugs, first: they look like nothing else. */
  if (net->weight_decay > 0 &&
      !matches(r->data, g->data, P, 1.0, tol, block_abs(tol, 0))) {
    bpcheck_params *v;
    if ((status = bpcheck_params_alloc(&v, r->L, r->n)))
      return status;
    int found = decay_bug(net, B, r, g, tol, v, d);
    if (!found)
      found = data_factor(net, B, r, g, tol, v, d);
    bpcheck_params_free(v);
    if (found)
      return BPCHECK_SUCCESS;
  }

  /* A constant factor across everything, or a sign flip. */
  double c = factor(r->data, g->data, P);
  if (c != 0 && !near(c, 1.0) &&
      matches(r->data, g->data, P, c, tol, block_abs(tol, 0))) {
    d->factor = c;
    if (near(c, -1.0)) {
      d->bug = BPCHECK_BUG_SIGN;
      snprintf(d->text, sizeof d->text,
               "a sign flip: every entry is -1 times the reference (the "
               "gradient of -C, or theta + eta grad where - is meant)");
    } else {
      d->bug = BPCHECK_BUG_FACTOR;
      name_factor(net, B, c, "every entry is", d->text, sizeof d->text);
    }
    return BPCHECK_SUCCESS;
  }

  /* An answer printed with few digits: every error within half a unit of
   * the last digit printed. */
  const int d_g = digits_of(g->data, P);
  if (d_g <= 12 && rounded_to(r->data, g->data, P, d_g)) {
    d->bug = BPCHECK_BUG_ROUNDED;
    snprintf(d->text, sizeof d->text,
             "the answer looks rounded to %d significant digits: every error "
             "is within half a unit of the last digit printed; print 17 "
             "digits (%%.17g, repr) or accept them with --rtol %.0e",
             d_g, 0.5 * pow(10.0, 1 - d_g));
    return BPCHECK_SUCCESS;
  }

  /* Errors of float32's size, checked at double precision. */
  bpcheck_params *alt = NULL;
  bpcheck_matrix_workspace *w = NULL;
  bpcheck_literal_workspace *lw = NULL;
  if ((status = bpcheck_params_alloc(&alt, r->L, r->n)) ||
      (status = bpcheck_matrix_alloc(&w, net, B)))
    goto done;
  if (tol->derive && tol->precision == BPCHECK_PRECISION_DOUBLE) {
    if ((status = bpcheck_tolerance_derive(
             net, batch, BPCHECK_PRECISION_SINGLE, r, alt, NULL, NULL)))
      goto done;
    const bpcheck_tolerance single = {
        tol->atol, tol->rtol, 0, alt, tol->alt, 0, BPCHECK_PRECISION_SINGLE};
    if (matches(r->data, g->data, P, 1.0, &single, alt->data)) {
      d->bug = BPCHECK_BUG_PRECISION;
      snprintf(d->text, sizeof d->text,
               "every error is of the size float32 rounding leaves (largest "
               "relative error %.2g): the implementation computes in single "
               "precision; check it with --precision single, or compute in "
               "float64",
               max_relerr(r->data, g->data, P));
      goto done;
    }
  }

  /* delta^L = a - y where it does not hold: after a softmax with
   * categorical cross entropy when the targets do not sum to 1 (COST.6),
   * or with binary cross entropy (COST.7 is the sigmoid's). */
  if (net->f[net->L] == BPCHECK_SOFTMAX && net->cost != BPCHECK_QUADRATIC &&
      net->cost != BPCHECK_MSE) {
    if ((status = bpcheck_matrix_backprop_variant(net, batch, alt, NULL, w,
                                                  BPCHECK_VARIANT_SHORTCUT)))
      goto done;
    if (matches(alt->data, g->data, P, 1.0, tol, block_abs(tol, 0))) {
      d->bug = BPCHECK_BUG_SHORTCUT;
      d->layer = net->L;
      if (net->cost == BPCHECK_CATEGORICAL_CROSS_ENTROPY)
        snprintf(d->text, sizeof d->text,
                 "the candidate uses the shortcut delta^L = a - y, which "
                 "holds only when each sample's targets sum to 1; in "
                 "general delta^L = a sum(y) - y (COST.6)");
      else
        snprintf(d->text, sizeof d->text,
                 "the candidate uses delta^L = a - y, the shortcut of a "
                 "sigmoid output with cross entropy (COST.7); after a softmax "
                 "the cross entropy's gradient goes through the softmax "
                 "Jacobian (ACT.8)");
      goto done;
    }
  }

  /* The activation derivative missing at the output layer: the bug zoo's
   * no_output_derivative. */
  if ((status = bpcheck_literal_alloc(&lw, net)) ||
      (status = bpcheck_literal_backprop_mutant(
           net, batch, alt, NULL, lw, BPCHECK_MUTANT_NO_OUTPUT_DERIVATIVE)))
    goto done;
  if (net->f[net->L] != BPCHECK_IDENTITY &&
      matches(alt->data, g->data, P, 1.0, tol, block_abs(tol, 0))) {
    name_bug(d, BPCHECK_BUG_OUTPUT_DERIVATIVE, net->L,
             "the output layer's activation derivative is missing: the "
             "candidate uses delta^L = dC/da^L instead of dC/da^L f_L'(z^L) "
             "(FC.4)%s",
             net->f[net->L] == BPCHECK_SOFTMAX ? ", (ACT.8) for softmax" : "");
    goto done;
  }

  /* Which blocks fail; a transposed square W^l; the biases alone. */
  size_t failing_layers = 0, last = 0;
  int weights_fail = 0, biases_fail = 0;
  for (size_t l = 1; l <= r->L; l++) {
    size_t iW = bpcheck_params_index_W(r, l, 0, 0);
    size_t ib = bpcheck_params_index_b(r, l, 0);
    size_t nW = r->n[l] * r->n[l - 1], nb = r->n[l];
    int fw =
        !matches(r->data + iW, g->data + iW, nW, 1.0, tol, block_abs(tol, iW));
    int fb =
        !matches(r->data + ib, g->data + ib, nb, 1.0, tol, block_abs(tol, ib));
    weights_fail |= fw, biases_fail |= fb;
    if (fw || fb)
      failing_layers++, last = l;
    if (fw && r->n[l] == r->n[l - 1] && r->n[l] > 1) {
      /* g_kj = r_jk for every k, j? */
      const gsl_matrix *R = &r->W[l], *G = &g->W[l];
      int transposed = 1;
      for (size_t k = 0; transposed && k < R->size1; k++)
        for (size_t j = 0; transposed && j < R->size2; j++) {
          double e = gsl_matrix_get(R, j, k), v = gsl_matrix_get(G, k, j);
          transposed = fabs(v - e) <= allowance(tol, block_abs(tol, iW),
                                                k * R->size2 + j, v, e, 1.0);
        }
      if (transposed) {
        name_bug(d, BPCHECK_BUG_TRANSPOSED, l,
                 "dC/dW^%zu is transposed: W^l_kj has k the receiving node "
                 "(layer l) and j the emitting node (layer l-1), so dC/dW^l "
                 "= delta^l (a^(l-1))^T, shape n_l x n_(l-1) (FC.6)",
                 l);
        goto done;
      }
    }
  }
  size_t n_wrong = 0, wrong = 0;
  for (size_t i = 0; i < P; i++)
    if (!matches(r->data + i, g->data + i, 1, 1.0, tol, block_abs(tol, i)))
      n_wrong++, wrong = i;
  size_t wl = 0, wk, wj;
  int w_bias = 0;
  if (n_wrong == 1)
    bpcheck_params_entry(r, wrong, &wl, &w_bias, &wk, &wj);
  /* One wrong entry that is its block's only one is that block wrong: a
   * bias of one node is the bias pattern's. */
  const size_t w_block =
      n_wrong == 1 ? (w_bias ? r->n[wl] : r->n[wl] * r->n[wl - 1]) : 0;
  if (n_wrong == 1 && P > 1 && w_block > 1) {
    char name[64];
    bpcheck_params_entry_name(r, wrong, name, sizeof name);
    const size_t l = wl;
    name_bug(d, BPCHECK_BUG_ENTRY, l,
             "only %s is wrong (expected %.6g, received %.6g); every other "
             "entry is right: an indexing slip at that one place (an "
             "off-by-one bound, a stale value) rather than a wrong formula",
             name, r->data[wrong], g->data[wrong]);
    goto done;
  }
  if (!weights_fail && biases_fail) {
    d->bug = BPCHECK_BUG_BIAS;
    double cb = 0;
    size_t l0 = 0;
    for (size_t l = 1; l <= r->L && !l0; l++) {
      size_t ib = bpcheck_params_index_b(r, l, 0);
      if (!matches(r->data + ib, g->data + ib, r->n[l], 1.0, tol,
                   block_abs(tol, ib)))
        l0 = l, cb = factor(r->data + ib, g->data + ib, r->n[l]);
    }
    d->layer = l0;
    d->factor = cb;
    if (B > 1 && near(cb, (double)B))
      snprintf(d->text, sizeof d->text,
               "the bias gradient is summed over the batch where the cost "
               "takes the mean (factor %zu); the weights are right",
               B);
    else if (near(cb, -1.0))
      snprintf(d->text, sizeof d->text,
               "the bias gradient of layer %zu has the wrong sign while every "
               "weight gradient is right: dC/db^l_k = delta^l_k (FC.7)",
               l0);
    else if (B == 1)
      snprintf(d->text, sizeof d->text,
               "the bias gradient is wrong while every weight gradient is "
               "right (layer %zu, %.6g times the reference): dC/db^l_k = "
               "delta^l_k (FC.7)",
               l0, cb);
    else
      snprintf(d->text, sizeof d->text,
               "the bias gradient is wrong while every weight gradient is "
               "right: dC/db^l_k = r sum_s delta^l_k of each sample (FC.7, "
               "COST.5); is it reduced over the batch?");
    goto done;
  }
  if (failing_layers == 0) {
    d->bug = BPCHECK_BUG_NONE;
    snprintf(d->text, sizeof d->text, "every entry is within tolerance");
    goto done;
  }
  const double rel = max_relerr(r->data, g->data, P);
  if (rel < 1e-2) {
    d->bug = BPCHECK_BUG_SMALL;
    snprintf(d->text, sizeof d->text,
             "every error is small (at most %.2g relative) but well above "
             "rounding, and not a constant factor or a sign: typical of an "
             "approximated function (a lookup-table or polynomial "
             "activation, a clipped log) or of a wrong term that is small "
             "in this case",
             rel);
    goto done;
  }
  if (failing_layers == 1 && r->L == 1) {
    name_bug(d, BPCHECK_BUG_ONE_LAYER, 1,
             "the errors are in the network's one layer: look at delta^1 = "
             "dC/da^1 f'(z^1) (FC.4) or dC/dW^1 = x delta^1 (FC.6)");
    goto done;
  }
  if (failing_layers == 1 && last == r->L) {
    name_bug(d, BPCHECK_BUG_ONE_LAYER, last,
             "the errors are confined to the output layer %zu (W^%zu, b^%zu) "
             "while the layers below are right: look at dC/dW^%zu = "
             "a^(%zu) delta^%zu (FC.6) and dC/db^%zu (FC.7)",
             last, last, last, last, last - 1, last, last);
    goto done;
  }
  if (failing_layers == 1) {
    name_bug(d, BPCHECK_BUG_ONE_LAYER, last,
             "the errors are confined to layer %zu (W^%zu, b^%zu): the "
             "layers after it are right, so look at delta^%zu (FC.5) or "
             "dC/dW^%zu = a^(%zu) delta^%zu (FC.6)",
             last, last, last, last, last, last - 1, last);
    goto done;
  }
  d->bug = BPCHECK_BUG_UNKNOWN;
  snprintf(d->text, sizeof d->text, "no known pattern: %zu layers have errors",
           failing_layers);
done:
  bpcheck_params_free(alt);
  bpcheck_matrix_free(w);
  bpcheck_literal_free(lw);
  return status;
}
