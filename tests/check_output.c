/* check_output.c -- the output layer at saturation (lib/output.c), each
 * form against an analytic partner in long double whose formula has no
 * cancellation at the point tested, and whole saturated networks against
 * the complex step. */

#include <float.h>
#include <math.h>

#include "internal.h"
#include "suites.h"
#include "testutil.h"

/* A one-layer network of n_L outputs with activation f and cost c. */
static bpcheck_net *
output_net(size_t nL, bpcheck_activation f, bpcheck_cost c)
{
  const size_t n[2] = {1, nL};
  const bpcheck_activation fs[2] = {[1] = f};
  bpcheck_arch arch = {1, n, fs, c, BPCHECK_SUM};
  bpcheck_net *net;
  ck_assert_ok(bpcheck_net_alloc(&net, &arch));
  return net;
}

/* |x - e| <= n eps |e|, e the long double partner. */
#define ck_assert_rel(x, e, n)                                                \
  do {                                                                        \
    long double e_ = (e);                                                     \
    double x_ = (x);                                                          \
    ck_assert_msg(fabsl(x_ - e_) <= (n)*DBL_EPSILON * fabsl(e_),              \
                  "%s = %.17g, exact %.17Lg", #x, x_, e_);                    \
  } while (0)

/* Sigmoid with cross entropy, (COST.3) from z and (COST.7): at z = +-40
 * and +-800, where 1 - a rounds to 0 or a underflows.  For y = 1, delta =
 * -sigma(-z) = -1 / (1 + e^z) and C = ln(1 + e^-z); for y = 0, delta =
 * sigma(z) and C = ln(1 + e^z): single terms in long double. */
static const double sig_z[] = {40.0, -40.0, 800.0, -800.0, 3.0};

START_TEST(test_sigmoid_ce_saturated)
{
  bpcheck_net *net = output_net(1, BPCHECK_SIGMOID, BPCHECK_CROSS_ENTROPY);
  const double z = sig_z[_i];
  for (int yi = 0; yi <= 1; yi++) {
    const double y = yi, a = bpcheck_activation_f(BPCHECK_SIGMOID, z);
    double C, delta;
    bpcheck_output_sample(net, NULL, 1.0, &z, &a, 1, &y, 1, NULL, &C, NULL,
                          &delta, NULL);
    const long double zl = z;
    const long double d =
        yi ? -1.0L / (1.0L + expl(zl)) : 1.0L / (1.0L + expl(-zl));
    const long double c =
        yi ? (zl < 0 ? -zl + log1pl(expl(zl)) : log1pl(expl(-zl)))
           : (zl > 0 ? zl + log1pl(expl(-zl)) : log1pl(expl(zl)));
    if (fabsl(d) >= DBL_MIN) /* a - y is 0 below double's range */
      ck_assert_rel(delta, d, 4);
    else
      ck_assert(fabs(delta) < DBL_MIN);
    if (c >= DBL_MIN)
      ck_assert_rel(C, c, 8);
  }
  bpcheck_net_free(net);
}
END_TEST

/* Softmax with categorical cross entropy, one-hot on the largest logit,
 * z = (0, -g, -g - 1): delta_0 = -(1 - a_0) = -(e^-g + e^-g-1) / E,
 * delta_1 = a_1 = e^-g / E, C = ln E, E = 1 + e^-g + e^-g-1. */
static const double gaps[] = {1.0, 30.0, 355.0, 700.0};

START_TEST(test_softmax_cce_saturated)
{
  bpcheck_net *net =
      output_net(3, BPCHECK_SOFTMAX, BPCHECK_CATEGORICAL_CROSS_ENTROPY);
  const double g = gaps[_i], z[3] = {0.0, -g, -g - 1.0}, y[3] = {1, 0, 0};
  double a[3], C, delta[3];
  bpcheck_softmax(3, z, 1, a, 1);
  bpcheck_output_sample(net, NULL, 1.0, z, a, 1, y, 1, NULL, &C, NULL, delta,
                        NULL);
  const long double e1 = expl(-(long double)g), e2 = expl(-(long double)g - 1);
  const long double E = 1.0L + e1 + e2;
  ck_assert_rel(delta[0], -(e1 + e2) / E, 8);
  ck_assert_rel(delta[1], e1 / E, 8);
  ck_assert_rel(delta[2], e2 / E, 8);
  ck_assert_rel(C, log1pl(e1 + e2), 8);
  bpcheck_net_free(net);
}
END_TEST

/* Saturated networks, weights x10 and x100: the matrix backprop against
 * the complex step (an oracle with its own forward pass in complex
 * arithmetic, no cancellation), within twice the rounding bound (CD.9);
 * and the literal backprop likewise.  The pairs the contract allows, with
 * saturating outputs. */
static const struct {
  bpcheck_activation hidden, out;
  bpcheck_cost cost;
  double scale;
  int cstep; /* the complex step a valid partner (see below) */
} saturated[] = {
    {BPCHECK_TANH, BPCHECK_SIGMOID, BPCHECK_CROSS_ENTROPY, 10, 1},
    {BPCHECK_TANH, BPCHECK_SIGMOID, BPCHECK_CROSS_ENTROPY, 100, 1},
    {BPCHECK_SIGMOID, BPCHECK_SIGMOID, BPCHECK_QUADRATIC, 30, 1},
    {BPCHECK_RELU, BPCHECK_SOFTMAX, BPCHECK_CATEGORICAL_CROSS_ENTROPY, 10, 1},
    {BPCHECK_RELU, BPCHECK_SOFTMAX, BPCHECK_CATEGORICAL_CROSS_ENTROPY, 100, 1},
    {BPCHECK_TANH, BPCHECK_SOFTMAX, BPCHECK_CROSS_ENTROPY, 30, 1},
    {BPCHECK_TANH, BPCHECK_SOFTMAX, BPCHECK_MSE, 30, 1},
    {BPCHECK_SOFTPLUS, BPCHECK_SOFTMAX, BPCHECK_CROSS_ENTROPY, 10, 0},
};
/* The complex step's own rounding is that of the sum of its imaginary
 * parts, which the backprop's bound does not describe: after a softmax
 * with cross entropy, seed 4107 x30, an entry of -1.99040009544823e-10
 * (the backprops and 60-digit arithmetic agree) is a sum of terms of order
 * 1, and the complex step keeps 7 digits of it.  So there the two
 * backprops are compared with each other only (at x10: at x30 a logit gap
 * passes 745, 1 - a_t underflows, and the literal backprop's (COST.3)
 * divides by it; verify then confirms the matrix backprop by the oracles
 * alone). */

START_TEST(test_saturated_networks)
{
  const unsigned long seed = test_seed(4100 + (unsigned long)_i);
  const size_t n[3] = {4, 6, 3};
  const bpcheck_activation f[3] = {[1] = saturated[_i].hidden,
                                   saturated[_i].out};
  fixture x;
  fixture_init(&x, 2, n, f, saturated[_i].cost, BPCHECK_MEAN, 3, seed);
  for (size_t i = 0; i < x.net->theta->size; i++)
    x.net->theta->data[i] *= saturated[_i].scale;
  ck_assert_ok(bpcheck_reference_finite(x.net, x.batch));
  bpcheck_cstep_workspace *cw;
  ck_assert_ok(bpcheck_cstep_alloc(&cw, x.net));
  ck_assert_ok(bpcheck_cstep_gradient(x.net, x.batch, x.fd, cw));
  ck_assert_ok(bpcheck_matrix_backprop(x.net, x.batch, x.mat, NULL, x.mw));
  ck_assert_ok(bpcheck_literal_backprop(x.net, x.batch, x.lit, NULL, x.lw));
  ck_assert_ok(bpcheck_bound_pair(x.net, x.batch, x.tol, x.bw));
  bpcheck_tolerance t = {0, 0, 0, x.tol, NULL, 0, 0};
  int s1 = saturated[_i].cstep ? bpcheck_compare(x.fd, x.mat, &t, x.report)
                               : BPCHECK_SUCCESS;
  ck_assert_msg(s1 == BPCHECK_SUCCESS,
                "seed %lu, x%g: matrix vs complex step: %s", seed,
                saturated[_i].scale, bpcheck_errmsg());
  int s2 = bpcheck_compare(x.lit, x.mat, &t, x.report);
  ck_assert_msg(s2 == BPCHECK_SUCCESS, "seed %lu, x%g: literal vs matrix: %s",
                seed, saturated[_i].scale, bpcheck_errmsg());
  bpcheck_cstep_free(cw);
  fixture_free(&x);
}
END_TEST

/* The bound of delta^L covers a perturbation of z within e_z: delta at
 * z + e_z and z - e_z differs from delta at z by at most the bound
 * (first order), at saturated softmax and sigmoid outputs. */
START_TEST(test_bound_covers_z_error)
{
  const bpcheck_activation fs[2] = {BPCHECK_SIGMOID, BPCHECK_SOFTMAX};
  const bpcheck_cost cs[2] = {BPCHECK_CROSS_ENTROPY,
                              BPCHECK_CATEGORICAL_CROSS_ENTROPY};
  for (int m = 0; m < 2; m++) {
    bpcheck_net *net = output_net(3, fs[m], cs[m]);
    const double z[3] = {40.0, 2.0, -5.0}, y[3] = {1.0, 0.0, 0.0};
    double ez[3], a[3], d0[3], ed[3], dz[3], zp[3], ap[3];
    for (int k = 0; k < 3; k++) /* a step that z + e_z takes exactly */
      ez[k] = (z[k] + 1e-10 * (1 + fabs(z[k]))) - z[k];
    if (fs[m] == BPCHECK_SOFTMAX)
      bpcheck_softmax(3, z, 1, a, 1);
    else
      bpcheck_activation_array(fs[m], 3, z, a);
    bpcheck_output_sample(net, &bpcheck_rounding_double, 1.0, z, a, 1, y, 1,
                          ez, NULL, NULL, d0, ed);
    for (int sign = -1; sign <= 1; sign += 2) {
      for (int k = 0; k < 3; k++)
        zp[k] = z[k] + sign * ((k % 2) ? -ez[k] : ez[k]);
      if (fs[m] == BPCHECK_SOFTMAX)
        bpcheck_softmax(3, zp, 1, ap, 1);
      else
        bpcheck_activation_array(fs[m], 3, zp, ap);
      bpcheck_output_sample(net, NULL, 1.0, zp, ap, 1, y, 1, NULL, NULL, NULL,
                            dz, NULL);
      for (int k = 0; k < 3; k++)
        ck_assert_msg(
            fabs(dz[k] - d0[k]) <= ed[k], "%s delta_%d moved %.3g, bound %.3g",
            bpcheck_activation_name(fs[m]), k, fabs(dz[k] - d0[k]), ed[k]);
    }
    bpcheck_net_free(net);
  }
}
END_TEST

/* Errors: a case whose forward pass overflows is named, not compared. */
START_TEST(test_overflow_named)
{
  const size_t n[2] = {1, 1};
  const bpcheck_activation f[2] = {[1] = BPCHECK_IDENTITY};
  fixture x;
  fixture_init(&x, 1, n, f, BPCHECK_QUADRATIC, BPCHECK_MEAN, 1, 1);
  gsl_matrix_set(&x.net->theta->W[1], 0, 0, 1e300);
  gsl_matrix_set(x.batch->X, 0, 0, 1e300);
  ck_assert_int_eq(bpcheck_reference_finite(x.net, x.batch), BPCHECK_EDOM);
  ck_assert_msg(strstr(bpcheck_errmsg(), "z^1_0") != NULL, "%s",
                bpcheck_errmsg());
  /* a finite forward pass whose cost overflows: a - y = -1e200 */
  gsl_matrix_set(&x.net->theta->W[1], 0, 0, 1.0);
  gsl_matrix_set(x.batch->X, 0, 0, 1.0);
  gsl_matrix_set(x.batch->Y, 0, 0, 1e200);
  ck_assert_int_eq(bpcheck_reference_finite(x.net, x.batch), BPCHECK_EDOM);
  ck_assert_msg(strstr(bpcheck_errmsg(), "cost") != NULL, "%s",
                bpcheck_errmsg());
  fixture_free(&x);
}
END_TEST

Suite *
make_output_suite(void)
{
  Suite *s = suite_create("output");
  TCase *core = tcase_create("Core");
  tcase_set_timeout(core, TEST_TIMEOUT);
  tcase_add_loop_test(core, test_sigmoid_ce_saturated, 0,
                      sizeof sig_z / sizeof *sig_z);
  tcase_add_loop_test(core, test_softmax_cce_saturated, 0,
                      sizeof gaps / sizeof *gaps);
  tcase_add_loop_test(core, test_saturated_networks, 0,
                      sizeof saturated / sizeof *saturated);
  tcase_add_test(core, test_bound_covers_z_error);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("Errors");
  tcase_set_timeout(errors, TEST_TIMEOUT);
  tcase_add_checked_fixture(errors, gsl_guard_setup, gsl_guard_teardown);
  tcase_add_test(errors, test_overflow_named);
  suite_add_tcase(s, errors);
  return s;
}
