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
 * through the matrix forward pass (bpcheck_matrix_cost).
 *
 * The same table in the inputs, x_js (IN.4), differences the cost of
 * sample s alone, the only one that x_js moves: r dC_s/dx_js, its estimate
 * from the rounding bound of C_s, not of the whole cost. */

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
  if (w)
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
      double C0, double e_C, int *smooth, double *trunc_err, double *round_err)
{
  const double theta = net->theta->data[i];
  double delta[BPCHECK_FDIFF_LEVELS], moved = 0.0;
  for (size_t q = 0; q < levels; q++) {
    const double hq = ldexp(h, -(int)q);
    double fp, fm;
    cost_at(net, i, theta + hq, batch, w, pattern0, smooth, &fp);
    cost_at(net, i, theta - hq, batch, w, pattern0, smooth, &fm);
    delta[q] = fp - fm;
    moved = fmax(moved, fmax(fabs(fp - C0), fabs(fm - C0)));
  }
  net->theta->data[i] = theta;
  /* (CD.13) e_C is the bound at theta; the costs the steps reach may be
   * far from C0 (a case whose numbers are all tiny), and round by m eps of
   * their change more, m = 4 + L + n_L B, as in the fast check. */
  const double m =
      4.0 + (double)net->L + (double)net->n[net->L] * (double)batch->X->size2;
  return bpcheck_fdiff_richardson(levels, delta, h, theta,
                                  e_C + m * DBL_EPSILON * moved, trunc_err,
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
  /* At theta; the tables add the rounding of the costs their steps reach
   * (CD.13). */
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
                       bpcheck_fdiff_step(theta, BPCHECK_FDIFF_ROOT), C0, e_C,
                       &smooth, &trunc_err, &round_err);
    if (!smooth) { /* again, with a step that may miss the kink */
      smooth = 1;
      g->data[i] = table(net, i, batch, w, pattern0, 2,
                         bpcheck_fdiff_step(theta, BPCHECK_FDIFF_KINK_ROOT),
                         C0, e_C, &smooth, &trunc_err, &round_err);
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

/* Central differences in x (IN.4) ------------------------------------- */

/* The columns of one pass: STEPS per entry of x, as fastfd.c's chunks. */
#define INPUT_COLUMNS 1024
#define STEPS (2 * BPCHECK_FDIFF_LEVELS)

struct bpcheck_fdiff_inputs_workspace {
  size_t n0, nL, B;
  size_t per;                     /* entries x_js per pass */
  bpcheck_matrix_workspace *one;  /* sample s alone, unperturbed */
  bpcheck_matrix_workspace *wide; /* STEPS per columns: the steps */
  double *Xw, *Yw;                /* their inputs and targets */
  double *Cc;                     /* each column's cost C_s */
  unsigned char *crossed;         /* each column: a relu input changed sign */
  size_t *redo;                   /* the entries of a pass to try again */
  size_t kinks;
};

int
bpcheck_fdiff_inputs_alloc(bpcheck_fdiff_inputs_workspace **out,
                           const bpcheck_net *net, size_t B)
{
  bpcheck_fdiff_inputs_workspace *w = bpcheck_calloc(1, sizeof *w);
  if (!w)
    return bpcheck_fail(BPCHECK_ENOMEM,
                        "no memory for the input fdiff workspace");
  w->n0 = net->n[0], w->nL = net->n[net->L], w->B = B;
  w->per = w->n0 < INPUT_COLUMNS / STEPS ? w->n0 : INPUT_COLUMNS / STEPS;
  const size_t cols = STEPS * w->per;
  int status;
  if ((status = bpcheck_matrix_alloc(&w->one, net, 1)) ||
      (status = bpcheck_matrix_alloc(&w->wide, net, cols))) {
    bpcheck_fdiff_inputs_free(w);
    return status;
  }
  w->Xw = bpcheck_calloc(w->n0 * cols, sizeof *w->Xw);
  w->Yw = bpcheck_calloc(w->nL * cols, sizeof *w->Yw);
  w->Cc = bpcheck_calloc(cols, sizeof *w->Cc);
  w->crossed = bpcheck_calloc(cols, sizeof *w->crossed);
  w->redo = bpcheck_calloc(w->per, sizeof *w->redo);
  if (!w->Xw || !w->Yw || !w->Cc || !w->crossed || !w->redo) {
    bpcheck_fdiff_inputs_free(w);
    return bpcheck_fail(BPCHECK_ENOMEM,
                        "no memory for the input fdiff workspace");
  }
  *out = w;
  return BPCHECK_SUCCESS;
}

void
bpcheck_fdiff_inputs_free(bpcheck_fdiff_inputs_workspace *w)
{
  if (!w)
    return;
  bpcheck_matrix_free(w->one);
  bpcheck_matrix_free(w->wide);
  BPCHECK_FREE(w->Xw, w->Yw, w->Cc, w->crossed, w->redo, w);
}

size_t
bpcheck_fdiff_inputs_kinks(const bpcheck_fdiff_inputs_workspace *w)
{
  return w->kinks;
}

/* Sample s's cost at the steps of the entries j[0 .. count-1] of x_s,
 * levels each: column (c, q, +/-) = (levels c + q) 2 + {0, 1} holds x_s with
 * x_js +/- h_c / 2^q, and the columns after the last hold x_s itself.  Each
 * column's cost into w->Cc, and w->crossed set where one of its relu inputs
 * is on the other side of 0 than sample s's own (left in w->one). */
static int
input_costs(const bpcheck_net *net, const bpcheck_batch *batch, size_t s,
            const size_t *j, const double *h, size_t count, size_t levels,
            bpcheck_fdiff_inputs_workspace *w)
{
  const size_t cols = STEPS * w->per, n0 = w->n0, L = net->L;
  const gsl_matrix *X = batch->X;
  for (size_t i = 0; i < n0; i++)
    for (size_t c = 0; c < cols; c++)
      w->Xw[i * cols + c] = X->data[i * X->tda + s];
  for (size_t c = 0; c < count; c++) {
    double hq = h[c];
    for (size_t q = 0; q < levels; q++, hq *= 0.5) {
      const size_t col = 2 * (levels * c + q);
      const double x = X->data[j[c] * X->tda + s];
      w->Xw[j[c] * cols + col] = x + hq;
      w->Xw[j[c] * cols + col + 1] = x - hq;
    }
  }
  gsl_matrix Xw = bpcheck_matrix_on(w->Xw, n0, cols);
  gsl_matrix Yw = bpcheck_matrix_on(w->Yw, w->nL, cols);
  bpcheck_batch wide = {cols, &Xw, &Yw};
  double C;
  /* The workspace fits the network and the targets are sample s's, which
   * the caller's forward pass of it validated; only a step that overflows
   * (an input near the largest double) fails here. */
  int status = bpcheck_matrix_cost(net, &wide, &C, w->wide);
  if (status)
    return status;
  const double *ZL = bpcheck_matrix_Z(w->wide, L)->data;
  const double *AL = bpcheck_matrix_A(w->wide, L)->data;
  for (size_t c = 0; c < cols; c++) {
    w->Cc[c] = bpcheck_output_cost(net, ZL + c, AL + c, cols, w->Yw + c, cols);
    w->crossed[c] = 0;
  }
  for (size_t l = 1; l <= L; l++) {
    if (net->f[l] != BPCHECK_RELU)
      continue;
    const double *Z = bpcheck_matrix_Z(w->wide, l)->data;
    const double *Z0 = bpcheck_matrix_Z(w->one, l)->data; /* n_l x 1 */
    for (size_t k = 0; k < net->n[l]; k++)
      for (size_t c = 0; c < cols; c++)
        w->crossed[c] |= (Z[k * cols + c] > 0) != (Z0[k] > 0);
  }
  return BPCHECK_SUCCESS;
}

/* (CD.5), (CD.6) for entry c of the last pass: T of sample s's cost and
 * its estimate with e_C_s; 0 when one of its steps crossed a kink. */
static int
input_table(const bpcheck_net *net, const bpcheck_fdiff_inputs_workspace *w,
            size_t c, size_t levels, double h, double x, double C_s,
            double e_Cs, double *T, double *E)
{
  double delta[BPCHECK_FDIFF_LEVELS], moved = 0.0;
  int smooth = 1;
  for (size_t q = 0; q < levels; q++) {
    const size_t col = 2 * (levels * c + q);
    delta[q] = w->Cc[col] - w->Cc[col + 1];
    smooth = smooth && !w->crossed[col] && !w->crossed[col + 1];
    moved =
        fmax(moved, fmax(fabs(w->Cc[col] - C_s), fabs(w->Cc[col + 1] - C_s)));
  }
  /* (CD.13) the costs the steps reach round by m eps of their change more
   * than e_Cs, the bound at x: m = 4 + L + n_L for one sample. */
  const double m = 4.0 + (double)net->L + (double)net->n[net->L];
  double trunc_err, round_err;
  *T = bpcheck_fdiff_richardson(levels, delta, h, x,
                                e_Cs + m * DBL_EPSILON * moved, &trunc_err,
                                &round_err);
  *E = trunc_err + round_err;
  return smooth;
}

/* (IN.4) the entries of sample s, per at a time. */
static int
input_sample(const bpcheck_net *net, const bpcheck_batch *batch, size_t s,
             double r, double C_s, double e_Cs, gsl_matrix *dx,
             gsl_matrix *err, bpcheck_fdiff_inputs_workspace *w)
{
  const gsl_matrix *X = batch->X;
  size_t j[INPUT_COLUMNS / STEPS];
  double h[INPUT_COLUMNS / STEPS];
  for (size_t j0 = 0; j0 < w->n0; j0 += w->per) {
    const size_t count = w->n0 - j0 < w->per ? w->n0 - j0 : w->per;
    for (size_t c = 0; c < count; c++) {
      j[c] = j0 + c;
      h[c] =
          bpcheck_fdiff_step(X->data[j[c] * X->tda + s], BPCHECK_FDIFF_ROOT);
    }
    int status =
        input_costs(net, batch, s, j, h, count, BPCHECK_FDIFF_LEVELS, w);
    if (status)
      return status;
    size_t again = 0;
    for (size_t c = 0; c < count; c++) {
      double T, E;
      if (!input_table(net, w, c, BPCHECK_FDIFF_LEVELS, h[c],
                       X->data[j[c] * X->tda + s], C_s, e_Cs, &T, &E))
        w->redo[again++] = j[c];
      const double g = r * T;
      gsl_matrix_set(dx, j[c], s, g);
      gsl_matrix_set(err, j[c], s, r * E + DBL_EPSILON * fabs(g));
    }
    if (!again)
      continue;
    /* As the parameters' entries: two levels of a smaller step, then +inf
     * (ACT.3) where those cross a kink too. */
    for (size_t c = 0; c < again; c++) {
      j[c] = w->redo[c];
      h[c] = bpcheck_fdiff_step(X->data[j[c] * X->tda + s],
                                BPCHECK_FDIFF_KINK_ROOT);
    }
    if ((status = input_costs(net, batch, s, j, h, again, 2, w)))
      return status;
    for (size_t c = 0; c < again; c++) {
      double T, E;
      const int smooth = input_table(
          net, w, c, 2, h[c], X->data[j[c] * X->tda + s], C_s, e_Cs, &T, &E);
      const double g = r * T;
      gsl_matrix_set(dx, j[c], s, g);
      gsl_matrix_set(err, j[c], s,
                     smooth ? r * E + DBL_EPSILON * fabs(g) : INFINITY);
      w->kinks += (size_t)!smooth;
    }
  }
  return BPCHECK_SUCCESS;
}

int
bpcheck_fdiff_inputs(const bpcheck_net *net, const bpcheck_batch *batch,
                     gsl_matrix *dx, gsl_matrix *err,
                     bpcheck_fdiff_inputs_workspace *w)
{
  const size_t n0 = net->n[0], B = batch->B;
  if (w->n0 != n0 || w->nL != net->n[net->L] || w->B != B)
    return bpcheck_fail(BPCHECK_EBADLEN,
                        "the input fdiff workspace was allocated for another "
                        "network or batch");
  if (!dx || !err || dx->size1 != n0 || dx->size2 != B || err->size1 != n0 ||
      err->size2 != B)
    return bpcheck_fail(BPCHECK_EBADLEN,
                        "dC/da^0 and its estimate: expected n_0 x B = %zu x "
                        "%zu matrices",
                        n0, B);
  /* Each sample's cost alone: a batch of one (r = 1), without the decay,
   * which does not depend on x (WD.1). */
  const double r = bpcheck_reduction_factor(net->reduction, B);
  bpcheck_net data_only = *net;
  data_only.weight_decay = 0.0;
  const gsl_matrix *X = batch->X, *Y = batch->Y;
  const size_t cols = STEPS * w->per;
  w->kinks = 0;
  for (size_t s = 0; s < B; s++) {
    gsl_matrix Xs = {X->size1, 1, X->tda, X->data + s, NULL, 0};
    gsl_matrix Ys = {Y->size1, 1, Y->tda, Y->data + s, NULL, 0};
    bpcheck_batch one = {1, &Xs, &Ys};
    double C_s;
    /* Fails when the network is not one the workspace fits, or the
     * sample is not valid (a target out of its range, a NaN input). */
    int status = bpcheck_matrix_cost(&data_only, &one, &C_s, w->one);
    if (status)
      return status;
    /* (CD.7) for C_s alone, at x_s */
    const double e_Cs = bpcheck_matrix_cost_error(&data_only, &one, w->one,
                                                  NULL, NULL, NULL, NULL);
    for (size_t k = 0; k < w->nL; k++)
      for (size_t c = 0; c < cols; c++)
        w->Yw[k * cols + c] = Y->data[k * Y->tda + s];
    if ((status =
             input_sample(&data_only, batch, s, r, C_s, e_Cs, dx, err, w)))
      return status;
  }
  return BPCHECK_SUCCESS;
}
