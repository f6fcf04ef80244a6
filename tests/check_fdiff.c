/* check_fdiff.c -- central differences: exact on a cost whose gradient is
 * known in closed form, honest error estimates, parameters restored bit for
 * bit, and kinks of relu detected. */

#include <float.h>
#include <math.h>
#include <string.h>

#include "internal.h"
#include "suites.h"
#include "testutil.h"

/* One layer, identity activation, quadratic cost: z = W x + b and
 * C = r/2 sum_s |W x_s + b - y_s|^2, so, written out here,
 *   dC/dW_kj = r sum_s (z_ks - y_ks) x_js,   dC/db_k = r sum_s (z_ks - y_ks).
 */
static void
linear_gradient(const fixture *x, double r, double *g)
{
  const gsl_matrix *W = &x->net->theta->W[1], *X = x->batch->X,
                   *Y = x->batch->Y;
  const gsl_vector *b = &x->net->theta->b[1];
  size_t n0 = W->size2, n1 = W->size1;
  memset(g, 0, (n1 * n0 + n1) * sizeof *g);
  for (size_t s = 0; s < X->size2; s++)
    for (size_t k = 0; k < n1; k++) {
      double z = gsl_vector_get(b, k);
      for (size_t j = 0; j < n0; j++)
        z += gsl_matrix_get(W, k, j) * gsl_matrix_get(X, j, s);
      double e = r * (z - gsl_matrix_get(Y, k, s));
      for (size_t j = 0; j < n0; j++)
        g[k * n0 + j] += e * gsl_matrix_get(X, j, s);
      g[n1 * n0 + k] += e;
    }
}

/* The error of each entry is within its estimate, and the estimate is
 * tight: C is quadratic, so the truncation error vanishes (the table's
 * differences are rounding alone) and the rounding term is about
 * (1 + 40 + 256)/45 e_C / h = 6.6 e_C / h (CD.6), with h = 2^-7 and e_C a
 * few 1e-15 |C| here (CD.7): 6.2e-12 |C| at most.  2e-11 would catch the
 * first version's 1e-9. */
START_TEST(test_exact_on_quadratic)
{
  static const size_t n[] = {4, 3};
  static const bpcheck_activation f[] = {[1] = BPCHECK_IDENTITY};
  bpcheck_reduction red = _i ? BPCHECK_SUM : BPCHECK_MEAN;
  fixture x;
  fixture_init(&x, 1, n, f, BPCHECK_QUADRATIC, red, 5, test_seed(21));
  double g[15], C;
  linear_gradient(&x, red == BPCHECK_MEAN ? 0.2 : 1.0, g);
  ck_assert_ok(bpcheck_fdiff_gradient(x.net, x.batch, x.fd, x.err, x.fw));
  ck_assert_ok(bpcheck_matrix_cost(x.net, x.batch, &C, x.mw));
  for (size_t i = 0; i < 15; i++) {
    double e = fabs(x.fd->data[i] - g[i]);
    ck_assert_msg(e <= x.err->data[i], "entry %zu: error %.3g > estimate %.3g",
                  i, e, x.err->data[i]);
    ck_assert_msg(x.err->data[i] <= 2e-11 * fmax(1.0, C),
                  "entry %zu: estimate %.3g is loose", i, x.err->data[i]);
  }
  fixture_free(&x);
}
END_TEST

/* One layer's entries alone: the same values as the whole gradient's (each
 * entry is computed on its own), the other entries left as they were. */
START_TEST(test_layer)
{
  static const size_t n[] = {3, 5, 4, 2};
  static const bpcheck_activation f[] = {
      [1] = BPCHECK_TANH, BPCHECK_SOFTPLUS, BPCHECK_SIGMOID};
  fixture x;
  fixture_init(&x, 3, n, f, BPCHECK_QUADRATIC, BPCHECK_MEAN, 3, 8);
  fixture_gradients(&x); /* the whole gradient in fd, err */
  bpcheck_params *g, *e;
  ck_assert_ok(bpcheck_params_alloc(&g, 3, n));
  ck_assert_ok(bpcheck_params_alloc(&e, 3, n));
  for (size_t l = 1; l <= 3; l++) {
    for (size_t i = 0; i < g->size; i++)
      g->data[i] = e->data[i] = -1.0;
    ck_assert_ok(bpcheck_fdiff_layer(x.net, x.batch, l, g, e, x.fw));
    for (size_t i = 0; i < g->size; i++) {
      size_t li, k, j;
      int is_bias;
      bpcheck_params_entry(g, i, &li, &is_bias, &k, &j);
      if (li == l) {
        ck_assert(g->data[i] == x.fd->data[i]);
        ck_assert(e->data[i] == x.err->data[i]);
      } else {
        ck_assert(g->data[i] == -1.0 && e->data[i] == -1.0);
      }
    }
  }
  ck_assert_int_eq(bpcheck_fdiff_layer(x.net, x.batch, 0, g, e, x.fw),
                   BPCHECK_EINVAL);
  ck_assert_int_eq(bpcheck_fdiff_layer(x.net, x.batch, 4, g, e, x.fw),
                   BPCHECK_EINVAL);
  bpcheck_params_free(g);
  bpcheck_params_free(e);
  fixture_free(&x);
}
END_TEST

/* Every parameter is perturbed in place and restored exactly. */
START_TEST(test_restores_parameters)
{
  static const size_t n[] = {3, 5, 2};
  static const bpcheck_activation f[] = {[1] = BPCHECK_TANH, BPCHECK_SIGMOID};
  fixture x;
  fixture_init(&x, 2, n, f, BPCHECK_CROSS_ENTROPY, BPCHECK_MEAN, 4, 5);
  /* Values whose neighbours theta +/- h are not representable exactly. */
  x.net->theta->data[0] = 0.1;
  x.net->theta->data[1] = 1.0 / 3.0;
  x.net->theta->data[2] = -12345.678901234567;
  double before[32];
  memcpy(before, x.net->theta->data, sizeof before);
  ck_assert_ok(bpcheck_fdiff_gradient(x.net, x.batch, x.fd, NULL, x.fw));
  ck_assert_int_eq(memcmp(before, x.net->theta->data, sizeof before), 0);
  fixture_free(&x);
}
END_TEST

/* Richardson's table against an analytic partner, f = exp at x = 0.3 (f' =
 * exp(0.3)): with three levels the error is c7 h^6 / 322560 to leading
 * order (CD.5), so halving h divides it by 2^6 = 64; with two levels, by
 * 2^4 = 16.  The bounds [48, 80] and [12, 20] leave room for the next term
 * of the series (a relative h^2 ~ 0.16 at h = 0.4) and no more; the steps
 * keep the error far above rounding (eps / h ~ 1e-15).  The estimate bounds
 * the error at every step. */
static double
exp_richardson(size_t levels, double h, double *estimate)
{
  const double x = 0.3;
  double delta[3], trunc_err, round_err;
  for (size_t q = 0; q < levels; q++) {
    double hq = ldexp(h, -(int)q);
    delta[q] = exp(x + hq) - exp(x - hq);
  }
  double r = bpcheck_fdiff_richardson(levels, delta, h, x,
                                      4 * DBL_EPSILON * exp(x + h), &trunc_err,
                                      &round_err);
  *estimate = trunc_err + round_err;
  return fabs(r - exp(x));
}

START_TEST(test_richardson_order)
{
  static const struct {
    size_t levels;
    double h, lo, hi;
  } c[] = {{3, 0.4, 48, 80}, {2, 0.05, 12, 20}};
  double est1, est2;
  double e1 = exp_richardson(c[_i].levels, c[_i].h, &est1);
  double e2 = exp_richardson(c[_i].levels, c[_i].h / 2, &est2);
  ck_assert_msg(e1 / e2 >= c[_i].lo && e1 / e2 <= c[_i].hi,
                "%zu levels: error %.3g at h, %.3g at h/2: ratio %.3g",
                c[_i].levels, e1, e2, e1 / e2);
  ck_assert_msg(e1 <= est1 && e2 <= est2, "error %.3g > estimate %.3g",
                e1 > est1 ? e1 : e2, e1 > est1 ? est1 : est2);
  /* One level has no truncation estimate. */
  double delta = exp(0.4) - exp(0.2), t, r;
  bpcheck_fdiff_richardson(1, &delta, 0.1, 0.3, 0.0, &t, &r);
  ck_assert(isinf(t));
}
END_TEST

static long double
cost_ld(const bpcheck_net *net, const bpcheck_batch *batch)
{
  long double z[LD_LMAX][LD_NMAX], a[LD_LMAX][LD_NMAX], C = 0.0L;
  const size_t nL = net->n[net->L];
  for (size_t s = 0; s < batch->B; s++) {
    forward_ld(net, batch, s, z, a);
    const long double *aL = a[net->L];
    for (size_t k = 0; k < nL; k++) {
      long double y = gsl_matrix_get(batch->Y, k, s), d = aL[k] - y;
      switch (net->cost) {
      case BPCHECK_QUADRATIC: C += 0.5L * d * d; break;
      case BPCHECK_MSE: C += d * d / (long double)nL; break;
      case BPCHECK_CROSS_ENTROPY:
        C -= (y != 0 ? y * logl(aL[k]) : 0) +
             (y != 1 ? (1 - y) * log1pl(-aL[k]) : 0);
        break;
      default: C -= y != 0 ? y * logl(aL[k]) : 0;
      }
    }
  }
  return net->reduction == BPCHECK_MEAN ? C / (long double)batch->B : C;
}

/* (CD.7) The bound on the cost's rounding error holds against the long
 * double cost (testutil.c's forward_ld), on random networks of every
 * activation and cost (loop 0-3), and where every target is within 1e-9 of its
 * output (loop 4-7): there the quadratic and mse costs are ~1e-18, and a
 * relative bound m eps |C| would not hold, since a - y loses the leading
 * digits that a carried. */
START_TEST(test_cost_error_bound)
{
  static const size_t n[] = {12, 9, 7, 5};
  static const bpcheck_activation fs[][4] = {
      {[1] = BPCHECK_SIGMOID, BPCHECK_TANH, BPCHECK_IDENTITY},
      {[1] = BPCHECK_RELU, BPCHECK_SOFTPLUS, BPCHECK_SOFTMAX},
      {[1] = BPCHECK_TANH, BPCHECK_SIGMOID, BPCHECK_SIGMOID},
      {[1] = BPCHECK_SOFTPLUS, BPCHECK_RELU, BPCHECK_TANH}};
  static const bpcheck_cost costs[] = {BPCHECK_QUADRATIC,
                                       BPCHECK_CATEGORICAL_CROSS_ENTROPY,
                                       BPCHECK_CROSS_ENTROPY, BPCHECK_MSE};
  const int i = _i % 4, close = _i >= 4;
  const size_t B = 6;
  fixture x;
  fixture_init(&x, 3, n, fs[i], costs[i], i % 2 ? BPCHECK_SUM : BPCHECK_MEAN,
               B, test_seed(60 + (unsigned long)_i));
  for (size_t s = 0; close && s < B; s++) {
    long double z[LD_LMAX][LD_NMAX], a[LD_LMAX][LD_NMAX];
    forward_ld(x.net, x.batch, s, z, a);
    for (size_t k = 0; k < n[3]; k++)
      gsl_matrix_set(x.batch->Y, k, s,
                     (double)a[3][k] + ((k + s) % 2 ? 1e-9 : -1e-9));
  }
  double C;
  ck_assert_ok(bpcheck_matrix_cost(x.net, x.batch, &C, x.mw));
  /* With loops, and with |W^l| in scratch and dgemm: the same bound. */
  double e_C =
      bpcheck_matrix_cost_error(x.net, x.batch, x.mw, NULL, NULL, NULL, NULL);
  double e_blas = bpcheck_matrix_cost_error(x.net, x.batch, x.mw, NULL,
                                            x.fd->data, NULL, NULL);
  ck_assert_double_eq_tol(e_blas, e_C, 1e-12 * e_C);
  long double ref = cost_ld(x.net, x.batch);
  ck_assert_msg(fabsl((long double)C - ref) <= e_C,
                "case %d: cost %.17g, long double %.20Lg, error %.3Lg > bound "
                "%.3g",
                _i, C, ref, fabsl((long double)C - ref), e_C);
  fixture_free(&x);
}
END_TEST

/* (CD.13) Every number of a relu, identity, mse case times 1e-100 (or
 * 1e-200): the steps (2^-7 and less) move each cost far above C0 ~ 1e-216,
 * whose bound e_C alone would claim far too small an error.  The naive
 * check's estimates, and those of the input gradient's (IN.4), must still
 * bound their distance to the backprop.  (Case 2: weights of order 1 and
 * no relu, so that the steps of x move the costs too, across no kink.) */
START_TEST(test_tiny_case)
{
  static const size_t n[] = {3, 4, 2};
  static const bpcheck_activation f[][3] = {
      {[1] = BPCHECK_RELU, BPCHECK_IDENTITY},
      {[1] = BPCHECK_IDENTITY, BPCHECK_IDENTITY}};
  const double s = _i == 1 ? 1e-200 : 1e-100;
  fixture x;
  fixture_init(&x, 2, n, f[_i == 2], BPCHECK_MSE, BPCHECK_MEAN, 4,
               test_seed(71));
  for (size_t l = 1; l <= 2; l++) { /* case 2: the weights left at O(1) */
    if (_i != 2)
      gsl_matrix_scale(&x.net->theta->W[l], s);
    gsl_vector_scale(&x.net->theta->b[l], s);
  }
  gsl_matrix_scale(x.batch->X, s);
  gsl_matrix_scale(x.batch->Y, s);
  fixture_gradients(&x);
  for (size_t i = 0; i < x.fd->size; i++) {
    if (isinf(x.err->data[i]))
      continue;
    const double d = fabs(x.fd->data[i] - x.mat->data[i]);
    ck_assert_msg(d <= BPCHECK_FD_SAFETY * x.err->data[i] + x.tol->data[i],
                  "x%g entry %zu: fd %.17g, backprop %.17g, estimate %.3g", s,
                  i, x.fd->data[i], x.mat->data[i], x.err->data[i]);
  }
  /* and the input gradient's differences (IN.4), against (IN.3) */
  const size_t n0 = n[0], B = x.batch->B;
  gsl_matrix *dm = gsl_matrix_alloc(n0, B), *fd = gsl_matrix_alloc(n0, B),
             *e = gsl_matrix_alloc(n0, B), *tol = gsl_matrix_alloc(n0, B);
  bpcheck_fdiff_inputs_workspace *iw;
  ck_assert_ok(bpcheck_fdiff_inputs_alloc(&iw, x.net, B));
  ck_assert_ok(bpcheck_fdiff_inputs(x.net, x.batch, fd, e, iw));
  ck_assert_ok(bpcheck_tolerance_derive_inputs(
      x.net, x.batch, BPCHECK_PRECISION_DOUBLE, dm, tol, NULL, NULL));
  for (size_t i = 0; i < n0 * B; i++)
    if (!isinf(e->data[i]))
      ck_assert_msg(fabs(fd->data[i] - dm->data[i]) <=
                        BPCHECK_FD_SAFETY * e->data[i] + tol->data[i],
                    "x%g input %zu: fd %.17g, backprop %.17g, estimate %.3g",
                    s, i, fd->data[i], dm->data[i], e->data[i]);
  bpcheck_fdiff_inputs_free(iw);
  gsl_matrix_free(dm);
  gsl_matrix_free(fd);
  gsl_matrix_free(e);
  gsl_matrix_free(tol);
  fixture_free(&x);
}
END_TEST

/* A relu input near its kink, z^1_0 = 0.5 x - b^1_0 = 1e-4 for x = 1: the
 * table's steps (h = 2^-7 for W^1 and b^1) cross it, the smaller steps of
 * the second try (2^-17) do not, so no entry is skipped, and the second
 * try's estimate still bounds its error. */
START_TEST(test_kink_second_try)
{
  static const size_t n[] = {1, 1, 1};
  static const bpcheck_activation f[] = {[1] = BPCHECK_RELU, BPCHECK_SIGMOID};
  fixture x;
  fixture_init(&x, 2, n, f, BPCHECK_QUADRATIC, BPCHECK_MEAN, 1, 1);
  double *theta = x.net->theta->data; /* W^1, b^1, W^2, b^2 */
  theta[0] = 0.5, theta[1] = -0.4999, theta[2] = 2.0, theta[3] = 0.1;
  gsl_matrix_set(x.batch->X, 0, 0, 1.0);
  fixture_gradients(&x);
  ck_assert_uint_eq(bpcheck_fdiff_kinks(x.fw), 0);
  for (size_t i = 0; i < 4; i++)
    ck_assert_msg(fabs(x.fd->data[i] - x.mat->data[i]) <= x.err->data[i],
                  "entry %zu: %.17g vs %.17g, estimate %.3g", i, x.fd->data[i],
                  x.mat->data[i], x.err->data[i]);
  /* The first try would have crossed: its step moves z^1_0 by 2^-7. */
  ck_assert(bpcheck_fdiff_step(theta[1], BPCHECK_FDIFF_ROOT) > 1e-4);
  ck_assert(bpcheck_fdiff_step(theta[1], BPCHECK_FDIFF_KINK_ROOT) < 1e-4);
  fixture_free(&x);
}
END_TEST

/* A relu input exactly at its kink: z^1_0 = 0.5 x - 0.5 = 0 for x = 1.
 * Perturbing W^1 or b^1 moves z^1 across 0: those entries get an infinite
 * estimate; W^2 and b^2 leave z^1 alone and are estimated as usual. */
START_TEST(test_kink_detected)
{
  static const size_t n[] = {1, 1, 1};
  static const bpcheck_activation f[] = {[1] = BPCHECK_RELU, BPCHECK_SIGMOID};
  fixture x;
  fixture_init(&x, 2, n, f, BPCHECK_QUADRATIC, BPCHECK_MEAN, 1, 1);
  double *theta = x.net->theta->data; /* W^1, b^1, W^2, b^2 */
  theta[0] = 0.5, theta[1] = -0.5, theta[2] = 2.0, theta[3] = 0.1;
  gsl_matrix_set(x.batch->X, 0, 0, 1.0);
  ck_assert_ok(bpcheck_fdiff_gradient(x.net, x.batch, x.fd, x.err, x.fw));
  ck_assert_uint_eq(bpcheck_fdiff_kinks(x.fw), 2);
  ck_assert(isinf(x.err->data[0]) && isinf(x.err->data[1]));
  ck_assert(isfinite(x.err->data[2]) && isfinite(x.err->data[3]));
  /* Away from the kink nothing is flagged. */
  theta[1] = -0.25;
  ck_assert_ok(bpcheck_fdiff_gradient(x.net, x.batch, x.fd, x.err, x.fw));
  ck_assert_uint_eq(bpcheck_fdiff_kinks(x.fw), 0);
  fixture_free(&x);
}
END_TEST

START_TEST(test_fdiff_errors)
{
  static const size_t n[] = {3, 5, 2}, other[] = {3, 4, 2};
  static const bpcheck_activation f[] = {[1] = BPCHECK_TANH, BPCHECK_SIGMOID};
  fixture x;
  fixture_init(&x, 2, n, f, BPCHECK_QUADRATIC, BPCHECK_MEAN, 4, 5);
  bpcheck_params *p;
  ck_assert_ok(bpcheck_params_alloc(&p, 2, other));
  ck_assert_int_eq(bpcheck_fdiff_gradient(x.net, x.batch, p, NULL, x.fw),
                   BPCHECK_EBADLEN);
  ck_assert_int_eq(bpcheck_fdiff_gradient(x.net, x.batch, x.fd, p, x.fw),
                   BPCHECK_EBADLEN);
  bpcheck_batch *b3;
  ck_assert_ok(bpcheck_batch_alloc(&b3, 3, 2, 3)); /* B = 3, not 4 */
  ck_assert_int_eq(bpcheck_fdiff_gradient(x.net, b3, x.fd, NULL, x.fw),
                   BPCHECK_EBADLEN);
  ck_assert_int_eq(bpcheck_matrix_backprop(x.net, b3, x.mat, NULL, x.mw),
                   BPCHECK_EBADLEN);
  ck_assert_int_eq(bpcheck_matrix_backprop(x.net, x.batch, p, NULL, x.mw),
                   BPCHECK_EBADLEN);
  ck_assert_int_eq(bpcheck_literal_backprop(x.net, x.batch, p, NULL, x.lw),
                   BPCHECK_EBADLEN);
  bpcheck_batch_free(b3);
  bpcheck_params_free(p);
  fixture_free(&x);
  gsl_guard_check();
}
END_TEST

/* A workspace allocated for one network does not serve another. */
START_TEST(test_workspace_mismatch)
{
  static const size_t n[] = {3, 5, 2}, other[] = {3, 4, 2};
  static const bpcheck_activation f[] = {[1] = BPCHECK_TANH, BPCHECK_SIGMOID};
  fixture x, y;
  fixture_init(&x, 2, n, f, BPCHECK_QUADRATIC, BPCHECK_MEAN, 4, 5);
  fixture_init(&y, 2, other, f, BPCHECK_QUADRATIC, BPCHECK_MEAN, 4, 5);
  ck_assert_int_eq(bpcheck_literal_backprop(y.net, y.batch, y.lit, NULL, x.lw),
                   BPCHECK_EBADLEN);
  ck_assert_int_eq(bpcheck_matrix_backprop(y.net, y.batch, y.mat, NULL, x.mw),
                   BPCHECK_EBADLEN);
  double C;
  ck_assert_int_eq(bpcheck_matrix_cost(y.net, y.batch, &C, x.mw),
                   BPCHECK_EBADLEN);
  bpcheck_matrix_workspace *w;
  ck_assert_int_eq(bpcheck_matrix_alloc(&w, x.net, 0), BPCHECK_EINVAL);
  /* Batches whose workspace passes the size limit: X's scratch (3 x 2^30
   * doubles), or a layer's Z, A, D (3 x 5 x 2^28, with 3 x 2^28 for X). */
  ck_assert_int_eq(bpcheck_matrix_alloc(&w, x.net, (size_t)1 << 30),
                   BPCHECK_ETOOBIG);
  ck_assert_int_eq(bpcheck_matrix_alloc(&w, x.net, (size_t)1 << 28),
                   BPCHECK_ETOOBIG);
  fixture_free(&x);
  fixture_free(&y);
  gsl_guard_check();
}
END_TEST

/* (IN.4) dC/da^0 by central differences in x ------------------------- */

/* Everything a test of the inputs' central differences needs: the matrix
 * and literal dC/da^0, the tolerance (IN.3) and its alternative at exact
 * kinks, and the oracle with its estimate; every matrix n_0 x B. */
typedef struct {
  gsl_matrix *mat, *lit, *tol, *alt, *fd, *err, *t;
  bpcheck_fdiff_inputs_workspace *w;
} inputs_fixture;

static void
inputs_init(inputs_fixture *in, const fixture *x)
{
  const size_t n0 = x->net->n[0], B = x->batch->B;
  gsl_matrix **m[] = {&in->mat, &in->lit, &in->tol, &in->alt,
                      &in->fd,  &in->err, &in->t};
  for (size_t i = 0; i < sizeof m / sizeof *m; i++)
    ck_assert_ptr_nonnull(*m[i] = gsl_matrix_alloc(n0, B));
  ck_assert_ok(bpcheck_fdiff_inputs_alloc(&in->w, x->net, B));
}

static void
inputs_free(inputs_fixture *in)
{
  gsl_matrix *m[] = {in->mat, in->lit, in->tol, in->alt,
                     in->fd,  in->err, in->t};
  for (size_t i = 0; i < sizeof m / sizeof *m; i++)
    gsl_matrix_free(m[i]);
  bpcheck_fdiff_inputs_free(in->w);
}

/* Both backprops' dC/da^0, its tolerance (IN.3), the oracle (IN.4), and in
 * t the tolerance of (IN.5): K E + (IN.3), +inf (skipped) at a kink. */
static void
inputs_compute(inputs_fixture *in, fixture *x)
{
  int have_alt;
  ck_assert_ok(bpcheck_literal_input_gradient(x->net, x->batch, x->lit,
                                              in->lit, x->lw));
  ck_assert_ok(bpcheck_tolerance_derive_inputs(
      x->net, x->batch, BPCHECK_PRECISION_DOUBLE, in->mat, in->tol, in->alt,
      &have_alt));
  ck_assert_ok(bpcheck_fdiff_inputs(x->net, x->batch, in->fd, in->err, in->w));
  for (size_t i = 0; i < in->t->size1 * in->t->size2; i++)
    in->t->data[i] = BPCHECK_FD_SAFETY * in->err->data[i] + in->tol->data[i];
}

/* (IN.5) on random networks of every activation (hidden and output) and
 * cost, both reductions, batches 1 to 5, with weight decay (which must not
 * enter): both backprops' dC/da^0 pass against central differences in x,
 * and only relu networks have entries skipped at a kink.  The estimate is
 * honest, not vacuous: below 1e-6 of the largest |dC/da^0| (a wrong
 * gradient of that size fails, test_inputs_fd_rejects), unless that is 0
 * (every path through dead relus). */
START_TEST(test_inputs_fd_agree)
{
  const unsigned long seed0 = test_seed(4700);
  size_t act[BPCHECK_N_ACTIVATIONS] = {0}, cost[BPCHECK_N_COSTS] = {0};
  double worst = 0.0;
  for (unsigned long t = 0; t < 300; t++) {
    bpcheck_space sp;
    bpcheck_space_default(&sp);
    sp.max_depth = 2, sp.max_width = 6, sp.max_batch = 5;
    size_t n[4], B;
    bpcheck_activation f[4];
    bpcheck_arch arch;
    gsl_rng *rng = bpcheck_rng_alloc();
    ck_assert_ptr_nonnull(rng);
    gsl_rng_set(rng, seed0 + t);
    ck_assert_ok(bpcheck_space_draw(&sp, rng, &arch, n, f, &B));
    gsl_rng_free(rng);
    fixture x;
    fixture_init(&x, arch.L, arch.n, arch.f, arch.cost, arch.reduction, B,
                 seed0 + t);
    x.net->weight_decay = 0.01 * (double)(t % 2);
    char desc[256];
    bpcheck_net_describe(x.net, desc, sizeof desc);
    int relu = 0;
    for (size_t l = 1; l <= arch.L; l++)
      act[arch.f[l]]++, relu |= arch.f[l] == BPCHECK_RELU;
    cost[arch.cost]++;
    inputs_fixture in;
    inputs_init(&in, &x);
    inputs_compute(&in, &x);
    double dmax = 0.0;
    for (size_t i = 0; i < in.mat->size1 * B; i++)
      dmax = fmax(dmax, fabs(in.mat->data[i]));
    for (size_t i = 0; i < in.mat->size1 * B; i++)
      ck_assert_msg(isinf(in.err->data[i]) ? relu
                                           : in.err->data[i] <= 1e-6 * dmax ||
                                                 dmax == 0.0, /* dead relus */
                    "seed %lu: %s batch %zu: entry %zu: estimate %g, "
                    "max |dC/da^0| %g",
                    seed0 + t, desc, B, i, in.err->data[i], dmax);
    ck_assert(relu || bpcheck_fdiff_inputs_kinks(in.w) == 0);
    const gsl_matrix *bp[2] = {in.mat, in.lit};
    for (int m = 0; m < 2; m++) {
      bpcheck_input_report ir;
      ck_assert_msg(bpcheck_compare_inputs(in.fd, NULL, bp[m], in.t, 0, 0,
                                           &ir) == BPCHECK_SUCCESS,
                    "seed %lu: %s batch %zu: %s dC/da^0 of sample %zu, input "
                    "%zu: %.17g, central differences %.17g, tolerance %g",
                    seed0 + t, desc, B, m ? "literal" : "matrix", ir.worst_s,
                    ir.worst_j, ir.received, ir.expected, ir.tol);
      worst = fmax(worst, ir.max_ratio);
    }
    inputs_free(&in);
    fixture_free(&x);
  }
  for (int a = 0; a < BPCHECK_N_ACTIVATIONS; a++)
    ck_assert_msg(act[a] > 0, "activation %d not drawn", a);
  for (int c = 0; c < BPCHECK_N_COSTS; c++)
    ck_assert_msg(cost[c] > 0, "cost %d not drawn", c);
  ck_assert_msg(worst > 0.0 && worst < 0.5, "worst ratio %g", worst);
}
END_TEST

/* (IN.5) rejects wrong input gradients: one entry off by 1e-6 of the
 * largest (named), the factor r left out under the mean (B = 3), the sign
 * of one sample's column flipped. */
START_TEST(test_inputs_fd_rejects)
{
  static const size_t n[] = {4, 5, 3};
  static const bpcheck_activation f[] = {[1] = BPCHECK_TANH, BPCHECK_SOFTMAX};
  fixture x;
  fixture_init(&x, 2, n, f, BPCHECK_CATEGORICAL_CROSS_ENTROPY, BPCHECK_MEAN, 3,
               test_seed(4800));
  inputs_fixture in;
  inputs_init(&in, &x);
  inputs_compute(&in, &x);
  bpcheck_input_report ir;
  ck_assert_ok(bpcheck_compare_inputs(in.fd, NULL, in.mat, in.t, 0, 0, &ir));
  double dmax = 0.0;
  for (size_t i = 0; i < 12; i++)
    dmax = fmax(dmax, fabs(in.mat->data[i]));
  gsl_matrix_memcpy(in.lit, in.mat);
  gsl_matrix_set(in.lit, 2, 1, gsl_matrix_get(in.lit, 2, 1) + 1e-6 * dmax);
  ck_assert_int_eq(
      bpcheck_compare_inputs(in.fd, NULL, in.lit, in.t, 0, 0, &ir),
      BPCHECK_EMISMATCH);
  ck_assert_uint_eq(ir.n_fail, 1);
  ck_assert_uint_eq(ir.first_j, 2);
  ck_assert_uint_eq(ir.first_s, 1);
  gsl_matrix_memcpy(in.lit, in.mat);
  gsl_matrix_scale(in.lit, 3.0);
  ck_assert_int_eq(
      bpcheck_compare_inputs(in.fd, NULL, in.lit, in.t, 0, 0, &ir),
      BPCHECK_EMISMATCH);
  ck_assert_uint_eq(ir.n_fail, 12);
  gsl_matrix_memcpy(in.lit, in.mat);
  for (size_t j = 0; j < 4; j++)
    gsl_matrix_set(in.lit, j, 0, -gsl_matrix_get(in.lit, j, 0));
  ck_assert_int_eq(
      bpcheck_compare_inputs(in.fd, NULL, in.lit, in.t, 0, 0, &ir),
      BPCHECK_EMISMATCH);
  ck_assert_uint_eq(ir.first_s, 0);
  inputs_free(&in);
  fixture_free(&x);
}
END_TEST

/* A relu input of sample 1 exactly at its kink: z^1_0 = 0.5 x - 0.5 = 0
 * for x = 1.  x_01 moves it across 0 even at the smaller step: +inf, one
 * kink; sample 0 (x = 3) and everything once the kink is moved away are
 * estimated as usual, and agree with the backprop. */
START_TEST(test_inputs_fd_kink)
{
  static const size_t n[] = {1, 1, 1};
  static const bpcheck_activation f[] = {[1] = BPCHECK_RELU, BPCHECK_SIGMOID};
  fixture x;
  fixture_init(&x, 2, n, f, BPCHECK_QUADRATIC, BPCHECK_SUM, 2, 1);
  double *theta = x.net->theta->data; /* W^1, b^1, W^2, b^2 */
  theta[0] = 0.5, theta[1] = -0.5, theta[2] = 2.0, theta[3] = 0.1;
  gsl_matrix_set(x.batch->X, 0, 0, 3.0);
  gsl_matrix_set(x.batch->X, 0, 1, 1.0);
  inputs_fixture in;
  inputs_init(&in, &x);
  inputs_compute(&in, &x);
  ck_assert_uint_eq(bpcheck_fdiff_inputs_kinks(in.w), 1);
  ck_assert(isfinite(gsl_matrix_get(in.err, 0, 0)));
  ck_assert(isinf(gsl_matrix_get(in.err, 0, 1)));
  bpcheck_input_report ir;
  ck_assert_ok(bpcheck_compare_inputs(in.fd, NULL, in.mat, in.t, 0, 0, &ir));
  theta[1] = -0.25;
  inputs_compute(&in, &x);
  ck_assert_uint_eq(bpcheck_fdiff_inputs_kinks(in.w), 0);
  ck_assert_ok(bpcheck_compare_inputs(in.fd, NULL, in.mat, in.t, 0, 0, &ir));
  /* Near the kink, not on it: z^1_0 = 2^-12 is crossed by the first
   * step (2^-7) but not by the smaller one (2^-17): estimated again. */
  theta[1] = -0.5 + 0x1p-12;
  inputs_compute(&in, &x);
  ck_assert_uint_eq(bpcheck_fdiff_inputs_kinks(in.w), 0);
  ck_assert_ok(bpcheck_compare_inputs(in.fd, NULL, in.mat, in.t, 0, 0, &ir));
  inputs_free(&in);
  fixture_free(&x);
}
END_TEST

/* The inputs' oracle refuses shapes and workspaces that do not fit, and a
 * step that overflows. */
START_TEST(test_inputs_fd_errors)
{
  static const size_t n[] = {3, 5, 2}, other[] = {3, 4, 2};
  static const bpcheck_activation f[] = {[1] = BPCHECK_TANH, BPCHECK_SIGMOID};
  fixture x, y;
  fixture_init(&x, 2, n, f, BPCHECK_QUADRATIC, BPCHECK_MEAN, 4, 5);
  fixture_init(&y, 2, other, f, BPCHECK_QUADRATIC, BPCHECK_MEAN, 4, 5);
  bpcheck_fdiff_inputs_workspace *w;
  ck_assert_ok(bpcheck_fdiff_inputs_alloc(&w, x.net, 4));
  gsl_matrix *dx = gsl_matrix_alloc(3, 4), *e = gsl_matrix_alloc(3, 4);
  gsl_matrix *wrong = gsl_matrix_alloc(4, 3);
  ck_assert_int_eq(bpcheck_fdiff_inputs(x.net, x.batch, wrong, e, w),
                   BPCHECK_EBADLEN);
  ck_assert_int_eq(bpcheck_fdiff_inputs(x.net, x.batch, dx, wrong, w),
                   BPCHECK_EBADLEN);
  ck_assert_int_eq(bpcheck_fdiff_inputs(x.net, x.batch, dx, NULL, w),
                   BPCHECK_EBADLEN);
  /* the same n_0, n_L and B, another hidden layer */
  ck_assert_int_eq(bpcheck_fdiff_inputs(y.net, y.batch, dx, e, w),
                   BPCHECK_EBADLEN);
  bpcheck_batch *b3;
  ck_assert_ok(bpcheck_batch_alloc(&b3, 3, 2, 3)); /* B = 3, not 4 */
  ck_assert_int_eq(bpcheck_fdiff_inputs(x.net, b3, dx, e, w), BPCHECK_EBADLEN);
  /* a target out of its range, and an input whose step overflows */
  gsl_matrix_set(x.batch->X, 1, 2, DBL_MAX);
  ck_assert_int_eq(bpcheck_fdiff_inputs(x.net, x.batch, dx, e, w),
                   BPCHECK_EDOM);
  gsl_matrix_set(x.batch->X, 1, 2, 0.5);
  gsl_matrix_set(x.batch->Y, 0, 0, NAN);
  ck_assert_int_eq(bpcheck_fdiff_inputs(x.net, x.batch, dx, e, w),
                   BPCHECK_EDOM);
  bpcheck_batch_free(b3);
  gsl_matrix_free(dx), gsl_matrix_free(e), gsl_matrix_free(wrong);
  bpcheck_fdiff_inputs_free(w);
  bpcheck_fdiff_inputs_free(NULL);
  fixture_free(&x);
  fixture_free(&y);
  gsl_guard_check();
}
END_TEST

Suite *
make_fdiff_suite(void)
{
  Suite *s = suite_create("fdiff");
  TCase *core = tcase_create("Core");
  tcase_set_timeout(core, TEST_TIMEOUT);
  tcase_add_loop_test(core, test_exact_on_quadratic, 0, 2);
  tcase_add_test(core, test_restores_parameters);
  tcase_add_test(core, test_kink_detected);
  tcase_add_test(core, test_layer);
  tcase_add_loop_test(core, test_richardson_order, 0, 2);
  tcase_add_loop_test(core, test_cost_error_bound, 0, 8);
  tcase_add_test(core, test_kink_second_try);
  tcase_add_loop_test(core, test_tiny_case, 0, 3);
  tcase_add_test(core, test_inputs_fd_agree);
  tcase_add_test(core, test_inputs_fd_rejects);
  tcase_add_test(core, test_inputs_fd_kink);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("Errors");
  tcase_set_timeout(errors, TEST_TIMEOUT);
  tcase_add_checked_fixture(errors, gsl_guard_setup, gsl_guard_teardown);
  tcase_add_test(errors, test_fdiff_errors);
  tcase_add_test(errors, test_workspace_mismatch);
  tcase_add_test(errors, test_inputs_fd_errors);
  suite_add_tcase(s, errors);
  return s;
}
