/* check_chain.c -- the two-node chain of the lecture (seed 003,
 * proofs/03-two-node-chain.md), with its closed-form derivatives written out
 * by hand, against both backprops:
 *
 *   x -> w1 -> sigmoid -> w2 -> sigmoid -> yhat,   C = 1/2 (yhat - y)^2
 *
 *   (CH.4) dC/dw2 = (a2 - y) sigma'(z2) a1   (the three factors)
 *   (CH.5) delta2 = (a2 - y) sigma'(z2),  dC/db2 = delta2
 *   (CH.6) delta1 = w2 delta2 sigma'(z1), dC/dw1 = delta1 x, dC/db1 = delta1
 *
 * with sigma'(z) = sigma(z) (1 - sigma(z)).  Each value is a product of at
 * most six rounded factors, each within 4 ulps (the sigmoid), so the two
 * computations agree within 32 ulps. */

#include <math.h>

#include "suites.h"
#include "testutil.h"

static double
sigma(double z)
{
  return 1.0 / (1.0 + exp(-z));
}

typedef struct {
  double w1, b1, w2, b2;
} chain;

/* The lecture's gradient for one sample: g = {dC/dw1, dC/db1, dC/dw2,
 * dC/db2}, in the block order W^1, b^1, W^2, b^2. */
static void
chain_gradient(const chain *c, double x, double y, double g[4])
{
  double z1 = c->w1 * x + c->b1, a1 = sigma(z1);
  double z2 = c->w2 * a1 + c->b2, a2 = sigma(z2);
  double delta2 = (a2 - y) * a2 * (1 - a2);
  double delta1 = c->w2 * delta2 * a1 * (1 - a1);
  g[0] = delta1 * x;
  g[1] = delta1;
  g[2] = (a2 - y) * (a2 * (1 - a2)) * a1; /* the three terms of (CH.4) */
  g[3] = delta2;
}

static const chain chains[] = {
    {0.5, -0.25, -1.5, 0.75}, {2.0, 1.0, 3.0, -2.0}, {-0.3, 0.0, 0.1, 0.0}};
static const double xs[] = {0.8, -1.2, 2.5};
static const double ys[] = {1.0, 0.0, 0.35};

static void
set_chain(fixture *f, const chain *c)
{
  double *theta = f->net->theta->data; /* W^1, b^1, W^2, b^2 */
  theta[0] = c->w1, theta[1] = c->b1, theta[2] = c->w2, theta[3] = c->b2;
}

/* One sample. */
START_TEST(test_chain_one_sample)
{
  static const size_t n[] = {1, 1, 1};
  static const bpcheck_activation f[] = {[1] = BPCHECK_SIGMOID,
                                         BPCHECK_SIGMOID};
  fixture x;
  fixture_init(&x, 2, n, f, BPCHECK_QUADRATIC, BPCHECK_MEAN, 1, 1);
  const chain *c = &chains[_i];
  set_chain(&x, c);
  gsl_matrix_set(x.batch->X, 0, 0, xs[_i]);
  gsl_matrix_set(x.batch->Y, 0, 0, ys[_i]);

  double g[4];
  chain_gradient(c, xs[_i], ys[_i], g);
  ck_assert_ok(bpcheck_literal_backprop(x.net, x.batch, x.lit, NULL, x.lw));
  ck_assert_ok(bpcheck_matrix_backprop(x.net, x.batch, x.mat, NULL, x.mw));
  for (int i = 0; i < 4; i++) {
    ck_assert_ulps(x.lit->data[i], g[i], 32);
    ck_assert_ulps(x.mat->data[i], g[i], 32);
  }
  fixture_free(&x);
}
END_TEST

/* The three samples as one batch: the mean is (g_1 + g_2 + g_3) / 3 and the
 * sum g_1 + g_2 + g_3 (COST.5). */
START_TEST(test_chain_batch)
{
  static const size_t n[] = {1, 1, 1};
  static const bpcheck_activation f[] = {[1] = BPCHECK_SIGMOID,
                                         BPCHECK_SIGMOID};
  bpcheck_reduction red = _i ? BPCHECK_SUM : BPCHECK_MEAN;
  fixture x;
  fixture_init(&x, 2, n, f, BPCHECK_QUADRATIC, red, 3, 1);
  set_chain(&x, &chains[0]);
  double total[4] = {0, 0, 0, 0}, mag[4] = {0, 0, 0, 0};
  for (size_t s = 0; s < 3; s++) {
    double g[4];
    gsl_matrix_set(x.batch->X, 0, s, xs[s]);
    gsl_matrix_set(x.batch->Y, 0, s, ys[s]);
    chain_gradient(&chains[0], xs[s], ys[s], g);
    for (int i = 0; i < 4; i++)
      total[i] += g[i], mag[i] += fabs(g[i]);
  }
  ck_assert_ok(bpcheck_literal_backprop(x.net, x.batch, x.lit, NULL, x.lw));
  ck_assert_ok(bpcheck_matrix_backprop(x.net, x.batch, x.mat, NULL, x.mw));
  double r = red == BPCHECK_MEAN ? 1.0 / 3 : 1.0;
  for (int i = 0; i < 4; i++) {
    /* Each sample's g within 32 ulps, and the sum of three may cancel:
     * the error is bounded relative to the sum of the magnitudes. */
    double tol = 36 * 2.220446049250313e-16 * r * mag[i];
    ck_assert_double_eq_tol(x.lit->data[i], r * total[i], tol);
    ck_assert_double_eq_tol(x.mat->data[i], r * total[i], tol);
  }
  fixture_free(&x);
}
END_TEST

/* Why it is called back-propagation (CH.6): delta1 is w2 sigma'(z1) times
 * delta2, the error signal of the layer above. */
START_TEST(test_delta_propagates)
{
  const chain *c = &chains[1];
  double x = xs[1], y = ys[1], g[4];
  chain_gradient(c, x, y, g);
  double a1 = sigma(c->w1 * x + c->b1);
  ck_assert_ulps(g[1], c->w2 * a1 * (1 - a1) * g[3], 8);
  ck_assert_ulps(g[0], g[1] * x, 2);
}
END_TEST

Suite *
make_chain_suite(void)
{
  Suite *s = suite_create("chain");
  TCase *core = tcase_create("Core");
  tcase_set_timeout(core, TEST_TIMEOUT);
  tcase_add_loop_test(core, test_chain_one_sample, 0, 3);
  tcase_add_loop_test(core, test_chain_batch, 0, 2);
  tcase_add_test(core, test_delta_propagates);
  suite_add_tcase(s, core);
  return s;
}
