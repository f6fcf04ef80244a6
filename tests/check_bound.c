/* check_bound.c -- the rounding-error bound of a backprop (CD.8) against
 * an analytic partner: the same gradient in long double (64-bit
 * significands, 11 bits more than double), so that |g - g_ld| is the
 * double computation's own error to within 2^-11 of it.  Both backprops
 * stay within the bound, and a gradient moved 3 bounds from the other is
 * rejected. */

#include <float.h>
#include <math.h>
#include <string.h>

#include "suites.h"
#include "testutil.h"

static long double
dterm_ld(bpcheck_cost c, long double a, long double y, size_t n)
{
  switch (c) {
  case BPCHECK_QUADRATIC: return a - y;
  case BPCHECK_MSE: return 2.0L * (a - y) / (long double)n;
  case BPCHECK_CROSS_ENTROPY: return (a - y) / (a * (1.0L - a));
  default: return -y / a;
  }
}

/* (FC.1)-(FC.7) sample by sample in long double; g <- dC/dtheta. */
static void
backprop_ld(const bpcheck_net *net, const bpcheck_batch *batch, long double *g)
{
  const size_t L = net->L, *n = net->n, B = batch->B;
  const bpcheck_params *th = net->theta;
  const long double r = net->reduction == BPCHECK_MEAN ? 1.0L / B : 1.0L;
  long double z[LD_LMAX][LD_NMAX], a[LD_LMAX][LD_NMAX], d[LD_LMAX][LD_NMAX];
  memset(g, 0, th->size * sizeof *g);
  for (size_t s = 0; s < B; s++) {
    forward_ld(net, batch, s, z, a);
    long double G[LD_NMAX], S = 0.0L;
    for (size_t k = 0; k < n[L]; k++) {
      G[k] =
          dterm_ld(net->cost, a[L][k], gsl_matrix_get(batch->Y, k, s), n[L]);
      S += a[L][k] * G[k];
    }
    for (size_t k = 0; k < n[L]; k++)
      d[L][k] = net->f[L] == BPCHECK_SOFTMAX
                    ? a[L][k] * (G[k] - S)
                    : G[k] * df_ld(net->f[L], z[L][k]);
    for (size_t l = L - 1; l >= 1; l--)
      for (size_t j = 0; j < n[l]; j++) {
        long double u = 0.0L;
        for (size_t k = 0; k < n[l + 1]; k++)
          u += (long double)gsl_matrix_get(&th->W[l + 1], k, j) * d[l + 1][k];
        d[l][j] = u * df_ld(net->f[l], z[l][j]);
      }
    for (size_t l = 1; l <= L; l++)
      for (size_t k = 0; k < n[l]; k++) {
        for (size_t j = 0; j < n[l - 1]; j++)
          g[bpcheck_params_index_W(th, l, k, j)] += r * d[l][k] * a[l - 1][j];
        g[bpcheck_params_index_b(th, l, k)] += r * d[l][k];
      }
  }
}

typedef struct {
  size_t L, n[5];
  bpcheck_activation f[5]; /* f[1..L] */
  bpcheck_cost cost;
  int close; /* targets within 1e-9 of the outputs: a - y cancels */
} arch;

static const arch archs[] = {
    {2,
     {4, 6, 3},
     {[1] = BPCHECK_TANH, BPCHECK_SIGMOID},
     BPCHECK_QUADRATIC,
     0},
    {3,
     {9, 1, 9, 6},
     {[1] = BPCHECK_TANH, BPCHECK_SIGMOID, BPCHECK_SOFTMAX},
     BPCHECK_CATEGORICAL_CROSS_ENTROPY,
     0},
    {3,
     {5, 8, 7, 4},
     {[1] = BPCHECK_RELU, BPCHECK_SOFTPLUS, BPCHECK_SIGMOID},
     BPCHECK_CROSS_ENTROPY,
     0},
    {4,
     {6, 12, 10, 8, 3},
     {[1] = BPCHECK_SIGMOID, BPCHECK_RELU, BPCHECK_TANH, BPCHECK_IDENTITY},
     BPCHECK_MSE,
     1},
    {2,
     {7, 16, 5},
     {[1] = BPCHECK_SOFTPLUS, BPCHECK_TANH},
     BPCHECK_QUADRATIC,
     1},
};

/* Both backprops within the bound of the long double gradient, for several
 * seeds per architecture; and the bound is not vacuous: no entry's bound
 * exceeds 1e-6 of the largest |g| (a bound of the size of g would pass
 * anything), or 1e-3 where a - y ~ 1e-9 cancels: a^L carries ~1e-16, a
 * relative 1e-7 of a - y before the sums over the layers. */
START_TEST(test_bound_holds)
{
  const arch *A = &archs[_i % 5];
  unsigned long seed = test_seed(70 + (unsigned long)_i);
  const size_t B = 5;
  fixture x;
  fixture_init(&x, A->L, A->n, A->f, A->cost, BPCHECK_MEAN, B, seed);
  for (size_t s = 0; A->close && s < B; s++) { /* Y <- a^L +/- 1e-9 */
    long double z[LD_LMAX][LD_NMAX], a[LD_LMAX][LD_NMAX];
    forward_ld(x.net, x.batch, s, z, a);
    for (size_t k = 0; k < A->n[A->L]; k++)
      gsl_matrix_set(x.batch->Y, k, s,
                     (double)a[A->L][k] + ((k + s) % 2 ? 1e-9 : -1e-9));
  }
  fixture_gradients(&x);
  bpcheck_bound_workspace *bw;
  bpcheck_params *bound;
  ck_assert_ok(bpcheck_bound_alloc(&bw, x.net, B));
  ck_assert_ok(bpcheck_params_alloc(&bound, A->L, A->n));
  ck_assert_ok(bpcheck_bound_gradient(x.net, x.batch, bound, bw));
  long double g[600];
  ck_assert_uint_le(x.mat->size, 600);
  backprop_ld(x.net, x.batch, g);
  double gmax = 0.0;
  for (size_t i = 0; i < x.mat->size; i++)
    gmax = fmax(gmax, fabs(x.mat->data[i]));
  for (size_t i = 0; i < x.mat->size; i++) {
    char name[64];
    bpcheck_params_entry_name(x.mat, i, name, sizeof name);
    const double e[2] = {(double)fabsl(x.mat->data[i] - g[i]),
                         (double)fabsl(x.lit->data[i] - g[i])};
    for (int m = 0; m < 2; m++)
      ck_assert_msg(e[m] <= bound->data[i],
                    "seed %lu arch %d %s: %s error %.3g > bound %.3g", seed,
                    _i % 5, name, m ? "literal" : "matrix", e[m],
                    bound->data[i]);
    ck_assert_msg(bound->data[i] <= (A->close ? 1e-3 : 1e-6) * gmax,
                  "seed %lu arch %d %s: bound %.3g of max |g| %.3g", seed,
                  _i % 5, name, bound->data[i], gmax);
  }
  /* The entry with the largest bound of the literal gradient moved 3 bounds
   * from the matrix one: literal vs matrix (within twice the bound, x.tol)
   * rejects that entry alone. */
  size_t i = 0;
  for (size_t m = 1; m < bound->size; m++)
    i = bound->data[m] > bound->data[i] ? m : i;
  x.lit->data[i] = x.mat->data[i] + 3 * bound->data[i];
  bpcheck_tolerance lm = {0, 0, 0, x.tol, NULL, 0, 0};
  ck_assert_int_eq(bpcheck_compare(x.mat, x.lit, &lm, x.report),
                   BPCHECK_EMISMATCH);
  ck_assert_uint_eq(x.report->n_fail, 1);
  bpcheck_params_free(bound);
  bpcheck_bound_free(bw);
  fixture_free(&x);
}
END_TEST

/* The same over 500 architectures of the selftest's space (seeds from
 * BPCHECK_SEED, default 1): depth up to 5, widths up to 16, every
 * activation, cost and reduction.  A bound without the forward pass's
 * errors (the magnitudes of the backward pass alone) fails here. */
START_TEST(test_bound_random)
{
  bpcheck_space sp;
  bpcheck_space_default(&sp);
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  ck_assert_ptr_nonnull(rng);
  const unsigned long seed0 = test_seed(1);
  for (unsigned long seed = seed0; seed < seed0 + 500; seed++) {
    size_t n[BPCHECK_MAX_LAYERS + 1], B;
    bpcheck_activation f[BPCHECK_MAX_LAYERS + 1];
    bpcheck_arch a;
    gsl_rng_set(rng, seed);
    ck_assert_ok(bpcheck_space_draw(&sp, rng, &a, n, f, &B));
    fixture x;
    fixture_init(&x, a.L, n, f, a.cost, a.reduction, B, seed);
    fixture_gradients(&x);
    long double g[1200];
    ck_assert_uint_le(x.mat->size, 1200);
    backprop_ld(x.net, x.batch, g);
    for (size_t i = 0; i < x.mat->size; i++) {
      /* x.tol is twice the bound */
      const double e = (double)fmaxl(fabsl(x.mat->data[i] - g[i]),
                                     fabsl(x.lit->data[i] - g[i]));
      if (e > x.tol->data[i] / 2) {
        char name[64], desc[256];
        bpcheck_params_entry_name(x.mat, i, name, sizeof name);
        bpcheck_net_describe(x.net, desc, sizeof desc);
        ck_abort_msg("seed %lu (%s batch %zu) %s: error %.3g > bound %.3g",
                     seed, desc, B, name, e, x.tol->data[i] / 2);
      }
    }
    fixture_free(&x);
  }
  gsl_rng_free(rng);
}
END_TEST

/* A relu input exactly at its kink, z^1_0 = 0.5 x - 0.5 = 0 for x = 1 (and
 * in the second case the output's, z^2_0 = 2 a^1 - 0 with a^1 = 0): the
 * computed z may fall on either side in another order of summation, so
 * the bound of every entry that the kink's derivative multiplies is at
 * least the jump, here nonzero although the gradient (relu'(0) = 0) is 0
 * there. */
START_TEST(test_bound_at_kink)
{
  static const size_t n[] = {1, 1, 1};
  static const bpcheck_activation f[2][3] = {
      {[1] = BPCHECK_RELU, BPCHECK_SIGMOID},
      {[1] = BPCHECK_RELU, BPCHECK_RELU}};
  fixture x;
  fixture_init(&x, 2, n, f[_i], BPCHECK_QUADRATIC, BPCHECK_MEAN, 1, 1);
  double *theta = x.net->theta->data; /* W^1, b^1, W^2, b^2 */
  theta[0] = 0.5, theta[1] = -0.5, theta[2] = 2.0, theta[3] = _i ? 0.0 : 0.1;
  gsl_matrix_set(x.batch->X, 0, 0, 1.0);
  gsl_matrix_set(x.batch->Y, 0, 0, 0.7);
  fixture_gradients(&x);
  for (size_t i = 0; i < 2; i++) { /* W^1, b^1: behind the hidden kink */
    ck_assert_double_eq(x.mat->data[i], 0.0);
    ck_assert_msg(x.tol->data[i] > 0.1, "entry %zu: bound %.3g", i,
                  x.tol->data[i] / 2);
  }
  if (_i) { /* b^2 behind the output's kink: the jump is a - y = -0.7; W^2
             * too, times a^1 = 0 and its error */
    ck_assert_msg(x.tol->data[3] / 2 >= 0.7, "b^2: bound %.3g",
                  x.tol->data[3] / 2);
    ck_assert_msg(x.tol->data[2] > 0, "W^2: bound 0");
  }
  fixture_free(&x);
}
END_TEST

START_TEST(test_bound_errors)
{
  static const size_t n[] = {3, 5, 2}, other[] = {3, 4, 2};
  static const bpcheck_activation f[] = {[1] = BPCHECK_TANH, BPCHECK_SIGMOID};
  fixture x, y;
  fixture_init(&x, 2, n, f, BPCHECK_QUADRATIC, BPCHECK_MEAN, 4, 5);
  fixture_init(&y, 2, other, f, BPCHECK_QUADRATIC, BPCHECK_MEAN, 4, 5);
  bpcheck_bound_workspace *bw;
  ck_assert_ok(bpcheck_bound_alloc(&bw, x.net, 4));
  /* a bound shaped for another network; a workspace for another network */
  ck_assert_int_eq(bpcheck_bound_gradient(x.net, x.batch, y.mat, bw),
                   BPCHECK_EBADLEN);
  ck_assert_int_eq(bpcheck_bound_gradient(y.net, y.batch, y.mat, bw),
                   BPCHECK_EBADLEN);
  bpcheck_batch *b3; /* B = 3, not 4 */
  ck_assert_ok(bpcheck_batch_alloc(&b3, 3, 2, 3));
  ck_assert_int_eq(bpcheck_bound_gradient(x.net, b3, x.mat, bw),
                   BPCHECK_EBADLEN);
  bpcheck_batch_free(b3);
  bpcheck_bound_free(bw);
  bpcheck_bound_free(NULL);
  fixture_free(&x);
  fixture_free(&y);
  gsl_guard_check();
}
END_TEST

Suite *
make_bound_suite(void)
{
  Suite *s = suite_create("bound");
  TCase *core = tcase_create("Core");
  tcase_set_timeout(core, TEST_TIMEOUT);
  tcase_add_loop_test(core, test_bound_holds, 0, 20);
  tcase_add_test(core, test_bound_random);
  tcase_add_loop_test(core, test_bound_at_kink, 0, 2);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("Errors");
  tcase_set_timeout(errors, TEST_TIMEOUT);
  tcase_add_checked_fixture(errors, gsl_guard_setup, gsl_guard_teardown);
  tcase_add_test(errors, test_bound_errors);
  suite_add_tcase(s, errors);
  return s;
}
