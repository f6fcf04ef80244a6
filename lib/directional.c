/* directional.c -- cheap checks of a whole gradient along random directions
 * (proofs/08-directional-and-taylor.md).
 *
 * Directional check: for a direction v, the derivative of C along v is
 * v . g.  Its central difference with one Richardson step,
 *
 *   (DR.1) D_v(h) = (C(theta + h v) - C(theta - h v)) / (2h),
 *          r5 = (4 D_v(h/2) - D_v(h)) / 3,
 *
 * has the error estimate of (CD.6) with eps |theta_i| summed along v; one
 * direction costs four forward passes whatever the number of parameters.
 * Two levels, not fdiff.c's three, and fdiff.c's small step eps^(1/3) (the
 * one it takes near a kink): a direction moves every parameter, so a
 * larger step would cross some relu kink in most directions of a large
 * relu network, and a third level would cost two more passes.
 *
 * Taylor remainder: R(h) = |C(theta + h v) - C(theta) - h v . g| is O(h^2)
 * when g is the gradient and O(h) when it is not (TY.1); the slope of
 * log R against log h, fitted over the steps where R is above rounding,
 * tells which (TY.2).  It needs no tolerance. */

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct bpcheck_directional_workspace {
  bpcheck_matrix_workspace *forward;
  size_t P;
  double *theta0, *v; /* the saved parameters, a direction */
  double C0, e_C;     /* the cost at theta, its rounding error (CD.7) */
  uint64_t p0;        /* the relu pattern at theta */
  /* Over the entries checked: sum |g_i theta_i|, sum s_i |g_i|. */
  double gth, gsum;
};

int
bpcheck_directional_alloc(bpcheck_directional_workspace **out,
                          const bpcheck_net *net, size_t B)
{
  bpcheck_directional_workspace *w = bpcheck_calloc(1, sizeof *w);
  if (!w)
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for directional checks");
  int status = bpcheck_matrix_alloc(&w->forward, net, B);
  if (!status) {
    w->P = net->theta->size;
    w->theta0 = bpcheck_calloc(w->P, sizeof *w->theta0);
    w->v = bpcheck_calloc(w->P, sizeof *w->v);
    if (!w->theta0 || !w->v)
      status = bpcheck_fail(BPCHECK_ENOMEM, "no memory for directions");
  }
  if (status) {
    bpcheck_directional_free(w);
    return status;
  }
  *out = w;
  return BPCHECK_SUCCESS;
}

void
bpcheck_directional_free(bpcheck_directional_workspace *w)
{
  if (!w)
    return;
  bpcheck_matrix_free(w->forward);
  BPCHECK_FREE(w->theta0, w->v, w);
}

/* C at theta0 + t v; *kink set when the relu pattern differs from p0. */
static double
cost_along(bpcheck_net *net, const bpcheck_batch *batch, double t,
           bpcheck_directional_workspace *w, int *kink)
{
  double *theta = net->theta->data, C;
  for (size_t i = 0; i < w->P; i++)
    theta[i] = w->theta0[i] + t * w->v[i];
  bpcheck_matrix_cost(net, batch, &C, w->forward); /* fits: checked */
  if (bpcheck_matrix_relu_pattern(w->forward) != w->p0)
    *kink = 1;
  return C;
}

/* (DR.3) The scale of entry i's step: the power of two at or below
 * max(1, |theta_i|), so that each parameter moves by the same relative
 * amount whatever the scales of the others (one step for all, scaled by the
 * largest, would move a small parameter far outside the range where the
 * difference quotient is accurate), and t s_i is exact for t a power of
 * two. */
static double
scale(double theta)
{
  if (fabs(theta) < 2.0) /* most parameters: no frexp */
    return 1.0;
  int e;
  frexp(fabs(theta), &e);
  return ldexp(1.0, e - 1);
}

/* A random direction of random signs, v_i = +/-s_i (DR.3) (for parameters
 * of magnitude up to 1, +/-1: every entry seen with weight one) for i in
 * first .. first + count - 1, 0 elsewhere, 16 signs per draw of the
 * generator; and v . g. */
static double
draw_direction(bpcheck_directional_workspace *w, const bpcheck_params *g,
               gsl_rng *rng, size_t first, size_t count)
{
  double vg = 0;
  unsigned long bits = 0;
  memset(w->v, 0, w->P * sizeof *w->v);
  for (size_t i = first; i < first + count; i++) {
    if ((i - first) % 16 == 0)
      bits = gsl_rng_uniform_int(rng, 65536);
    w->v[i] = bits & 1 ? scale(w->theta0[i]) : -scale(w->theta0[i]);
    bits >>= 1;
    vg += w->v[i] * g->data[i];
  }
  return vg;
}

/* The workspace's record of theta, for checks of g's entries first ..
 * first + count - 1. */
static int
prepare(bpcheck_net *net, const bpcheck_batch *batch, const bpcheck_params *g,
        size_t first, size_t count, bpcheck_directional_workspace *w)
{
  int status = bpcheck_params_match(net->theta, g);
  if (status)
    return status;
  if (w->P != net->theta->size)
    return bpcheck_fail(BPCHECK_EBADLEN,
                        "the workspace was allocated for another network");
  if ((status = bpcheck_matrix_cost(net, batch, &w->C0, w->forward)))
    return status;
  w->p0 = bpcheck_matrix_relu_pattern(w->forward);
  w->e_C = bpcheck_matrix_cost_error(net, batch, w->forward, NULL, w->v, NULL,
                                     NULL);
  memcpy(w->theta0, net->theta->data, w->P * sizeof *w->theta0);
  w->gth = w->gsum = 0;
  for (size_t i = first; i < first + count; i++) {
    w->gth += fabs(g->data[i] * w->theta0[i]);
    w->gsum += scale(w->theta0[i]) * fabs(g->data[i]);
  }
  return BPCHECK_SUCCESS;
}

/* k directions within entries first .. first + count - 1. */
static int
check_range(bpcheck_net *net, const bpcheck_batch *batch,
            const bpcheck_params *g, size_t first, size_t count, size_t k,
            gsl_rng *rng, bpcheck_directional_workspace *w,
            bpcheck_directional_result *res)
{
  int status = prepare(net, batch, g, first, count, w);
  if (status)
    return status;
  memset(res, 0, sizeof *res);
  /* (CD.4) along v, every component moves by at most h s_i (DR.3). */
  const double h = bpcheck_fdiff_step(1.0, BPCHECK_FDIFF_KINK_ROOT);
  for (size_t d = 0; d < k; d++) {
    double vg = draw_direction(w, g, rng, first, count);
    int kink = 0;
    double fp1 = cost_along(net, batch, h, w, &kink);
    double fm1 = cost_along(net, batch, -h, w, &kink);
    double fph = cost_along(net, batch, h / 2, w, &kink);
    double fmh = cost_along(net, batch, -h / 2, w, &kink);
    if (kink) { /* (ACT.3): not differentiable within the step */
      res->kinks++;
      continue;
    }
    double trunc_err, round_err;
    const double delta[2] = {fp1 - fm1, fph - fmh};
    double r5 = bpcheck_fdiff_richardson(2, delta, h, 0.0, w->e_C, &trunc_err,
                                         &round_err);
    /* (DR.2) theta + h v is rounded in every component: eps |theta_i| each,
     * through g_i. */
    double err = trunc_err + round_err + w->gth * DBL_EPSILON / h;
    if (!isfinite(r5) || !isfinite(err)) { /* the steps overflow C */
      res->overflows++;
      continue;
    }
    /* and v.g itself rounds: gamma_P sum |v_i g_i| */
    err += bpcheck_gamma((double)count, DBL_EPSILON) * w->gsum;
    const double diff = fabs(vg - r5);
    double ratio = diff == 0 ? 0.0 : diff / (BPCHECK_FD_SAFETY * err);
    res->checked++;
    if (ratio > res->max_ratio) {
      res->max_ratio = ratio;
      res->expected = r5;
      res->received = vg;
      res->tol = BPCHECK_FD_SAFETY * err;
    }
    if (!(ratio <= 1))
      res->failed++;
  }
  memcpy(net->theta->data, w->theta0, w->P * sizeof *w->theta0);
  return res->failed ? bpcheck_fail(BPCHECK_EMISMATCH,
                                    "%zu of %zu directions disagree: v.g = "
                                    "%.17g, difference %.17g",
                                    res->failed, res->checked, res->received,
                                    res->expected)
                     : BPCHECK_SUCCESS;
}

int
bpcheck_directional_check(bpcheck_net *net, const bpcheck_batch *batch,
                          const bpcheck_params *g, size_t k, gsl_rng *rng,
                          bpcheck_directional_workspace *w,
                          bpcheck_directional_result *res)
{
  return check_range(net, batch, g, 0, net->theta->size, k, rng, w, res);
}

int
bpcheck_directional_check_layer(bpcheck_net *net, const bpcheck_batch *batch,
                                const bpcheck_params *g, size_t l, size_t k,
                                gsl_rng *rng, bpcheck_directional_workspace *w,
                                bpcheck_directional_result *res)
{
  size_t first, count;
  int status = bpcheck_params_layer(net->theta, l, &first, &count);
  return status ? status
                : check_range(net, batch, g, first, count, k, rng, w, res);
}

int
bpcheck_taylor_slope(bpcheck_net *net, const bpcheck_batch *batch,
                     const bpcheck_params *g, gsl_rng *rng,
                     bpcheck_directional_workspace *w, double *slope,
                     size_t *points)
{
  int status = prepare(net, batch, g, 0, w->P, w);
  if (status)
    return status;
  const double vg = draw_direction(w, g, rng, 0, w->P);
  /* (TY.3) The rounding of R: e_C for each cost (CD.7) and, as in
   * (DR.2), eps |theta_i| for each rounded theta_i + h v_i, through g_i.  A
   * point counts when R is 100 times above it (so that rounding moves its
   * logarithm by less than 0.01) and no kink lies within the step. */
  const double noise = 2.0 * w->e_C + w->gth * DBL_EPSILON;
  /* Steps h = 2^-1 .. 2^-BPCHECK_TAYLOR_STEPS (each parameter's scaled by
   * s_i, (DR.3)), all of them: R is not monotone in h where the h^2 and h^3
   * terms of (TY.1) have opposite signs, so a point under the threshold
   * does not end the sweep. */
  double x[BPCHECK_TAYLOR_STEPS], y[BPCHECK_TAYLOR_STEPS];
  size_t n = 0;
  for (int e = 1; e <= BPCHECK_TAYLOR_STEPS; e++) {
    double h = ldexp(1.0, -e);
    int kink = 0;
    double R = fabs(cost_along(net, batch, h, w, &kink) - w->C0 - h * vg);
    if (kink || !(R > 1e2 * noise))
      continue;
    x[n] = log(h), y[n] = log(R), n++;
  }
  memcpy(net->theta->data, w->theta0, w->P * sizeof *w->theta0);
  *slope = bpcheck_taylor_fit(n, x, y, points);
  return BPCHECK_SUCCESS;
}

double
bpcheck_taylor_fit(size_t n, const double *x, const double *y, size_t *points)
{
  /* (TY.2) the least-squares slope of log R on log h over the smallest
   * steps, at most four: there a wrong gradient's O(h) error dominates the
   * O(h^2) term even when it is small.  The points are those where R still
   * falls with h, counted from the smallest step up: a point where R rises
   * again lies before a sign change of the remainder (TY.3), not in the
   * asymptotic range. */
  size_t first = n ? n - 1 : 0;
  while (first > 0 && n - first < 4 && y[first - 1] > y[first])
    first--;
  size_t m = n - first;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = first; i < n; i++)
    sx += x[i], sy += y[i], sxx += x[i] * x[i], sxy += x[i] * y[i];
  *points = m;
  return m >= 3 ? ((double)m * sxy - sx * sy) / ((double)m * sxx - sx * sx)
                : NAN;
}
