/* check_activation.c -- each activation and its derivative against an
 * analytic partner written out here. */

#include <float.h>
#include <math.h>
#include <string.h>

#include "suites.h"
#include "testutil.h"

static const double zs[] = {-30.0, -5.0, -1.0, -0.25, -1e-8, 0.0,
                            1e-8,  0.25, 1.0,  5.0,   30.0};
#define NZ (int)(sizeof zs / sizeof zs[0])

/* (ACT.1) sigma'(z) = e^-z / (1 + e^-z)^2, the quotient rule's form, and
 * sigma(z) (1 - sigma(z)) within the cancellation of 1 - sigma. */
START_TEST(test_sigmoid)
{
  double z = zs[_i], e = exp(-z);
  ck_assert_ulps(bpcheck_activation_f(BPCHECK_SIGMOID, z), 1.0 / (1.0 + e), 4);
  double df = bpcheck_activation_df(BPCHECK_SIGMOID, z), s = 1 / (1 + e);
  ck_assert_ulps(df, e / ((1.0 + e) * (1.0 + e)), 8);
  ck_assert_double_eq_tol(df, s * (1 - s), 2 * DBL_EPSILON);
}
END_TEST

/* (ACT.2) tanh'(z) = 1 - tanh^2 z.  Written as 1 - t^2 the partner
 * cancels for large |z| (relative error eps / (1 - t^2)): compared within
 * that; and against 4 e^(-2|z|) / (1 + e^(-2|z|))^2, the same value without
 * cancellation, within a few ulps everywhere. */
START_TEST(test_tanh)
{
  double z = zs[_i], t = tanh(z), e = exp(-2 * fabs(z));
  double df = bpcheck_activation_df(BPCHECK_TANH, z);
  ck_assert_ulps(bpcheck_activation_f(BPCHECK_TANH, z), t, 1);
  ck_assert_ulps(df, 4 * e / ((1 + e) * (1 + e)), 8);
  ck_assert_double_eq_tol(df, 1 - t * t, 4 * DBL_EPSILON);
}
END_TEST

/* (ACT.5) softplus(z) = ln(1 + e^z), softplus'(z) = 1 / (1 + e^-z). */
START_TEST(test_softplus)
{
  double z = zs[_i];
  ck_assert_ulps(bpcheck_activation_f(BPCHECK_SOFTPLUS, z), log1p(exp(z)), 4);
  ck_assert_ulps(bpcheck_activation_df(BPCHECK_SOFTPLUS, z),
                 1.0 / (1.0 + exp(-z)), 4);
}
END_TEST

/* (ACT.3), (ACT.4): relu and identity, with relu'(0) = 0 by convention. */
START_TEST(test_relu_identity)
{
  double z = zs[_i];
  ck_assert_double_eq(bpcheck_activation_f(BPCHECK_RELU, z), z > 0 ? z : 0);
  ck_assert_double_eq(bpcheck_activation_df(BPCHECK_RELU, z), z > 0 ? 1 : 0);
  ck_assert_double_eq(bpcheck_activation_f(BPCHECK_IDENTITY, z), z);
  ck_assert_double_eq(bpcheck_activation_df(BPCHECK_IDENTITY, z), 1.0);
}
END_TEST

/* Large arguments must not overflow: sigma(-800) = 0, softplus(800) = 800. */
START_TEST(test_no_overflow)
{
  ck_assert_double_eq(bpcheck_activation_f(BPCHECK_SIGMOID, -800), 0.0);
  ck_assert_double_eq(bpcheck_activation_f(BPCHECK_SIGMOID, 800), 1.0);
  ck_assert_double_eq(bpcheck_activation_f(BPCHECK_SOFTPLUS, 800), 800.0);
  ck_assert_double_eq(bpcheck_activation_f(BPCHECK_SOFTPLUS, -800), 0.0);
  ck_assert_double_eq(bpcheck_activation_df(BPCHECK_SOFTPLUS, 800), 1.0);
}
END_TEST

/* (ACT.6) softmax: e^z_k / sum_i e^z_i written out, the sum is 1, and a
 * shift of every z changes nothing. */
START_TEST(test_softmax)
{
  double z[4] = {0.5, -1.25, 2.0, 0.0}, a[4], shifted[4], b[4], sum = 0;
  for (int i = 0; i < 4; i++)
    sum += exp(z[i]);
  bpcheck_softmax(4, z, 1, a, 1);
  double total = 0;
  for (int k = 0; k < 4; k++) {
    ck_assert_ulps(a[k], exp(z[k]) / sum, 8);
    total += a[k];
    shifted[k] = z[k] + 700.0; /* e^702 overflows: the shift must not */
  }
  ck_assert_double_eq_tol(total, 1.0, 4 * DBL_EPSILON);
  bpcheck_softmax(4, shifted, 1, b, 1);
  for (int k = 0; k < 4; k++)
    ck_assert_ulps(b[k], a[k], 1024); /* z + 700 rounds z to ~1e-13 */
}
END_TEST

/* Strided: a column of a row-major 3 x 2 matrix, in place. */
START_TEST(test_softmax_strided)
{
  double m[6] = {1, 9, 2, 9, 3, 9}, sum = exp(1) + exp(2) + exp(3);
  bpcheck_softmax(3, m, 2, m, 2);
  ck_assert_ulps(m[0], exp(1) / sum, 8);
  ck_assert_ulps(m[2], exp(2) / sum, 8);
  ck_assert_ulps(m[4], exp(3) / sum, 8);
  ck_assert_double_eq(m[1], 9);
}
END_TEST

START_TEST(test_names_round_trip)
{
  for (int i = 0; i < BPCHECK_N_ACTIVATIONS; i++) {
    bpcheck_activation f;
    ck_assert_ok(bpcheck_activation_parse(
        bpcheck_activation_name((bpcheck_activation)i), &f));
    ck_assert_int_eq(f, i);
  }
  for (int i = 0; i < BPCHECK_N_COSTS; i++) {
    bpcheck_cost c;
    ck_assert_ok(bpcheck_cost_parse(bpcheck_cost_name((bpcheck_cost)i), &c));
    ck_assert_int_eq(c, i);
  }
  for (int i = 0; i < BPCHECK_N_REDUCTIONS; i++) {
    bpcheck_reduction r;
    ck_assert_ok(bpcheck_reduction_parse(
        bpcheck_reduction_name((bpcheck_reduction)i), &r));
    ck_assert_int_eq(r, i);
  }
  ck_assert_str_eq(bpcheck_cost_name(BPCHECK_CATEGORICAL_CROSS_ENTROPY),
                   "categorical_cross_entropy");
}
END_TEST

START_TEST(test_unknown_names)
{
  bpcheck_activation f = BPCHECK_TANH;
  bpcheck_cost c = BPCHECK_MSE;
  bpcheck_reduction r = BPCHECK_SUM;
  ck_assert_int_eq(bpcheck_activation_parse("Sigmoid", &f), BPCHECK_EINVAL);
  ck_assert_ptr_nonnull(strstr(bpcheck_errmsg(), "'Sigmoid'"));
  ck_assert_int_eq(f, BPCHECK_TANH); /* untouched */
  ck_assert_int_eq(bpcheck_cost_parse("", &c), BPCHECK_EINVAL);
  ck_assert_int_eq(bpcheck_reduction_parse(NULL, &r), BPCHECK_EINVAL);
  ck_assert_int_eq(bpcheck_reduction_parse("avg", &r), BPCHECK_EINVAL);
  ck_assert_str_eq(bpcheck_activation_name((bpcheck_activation)99),
                   "(invalid)");
  ck_assert_str_eq(bpcheck_strerror(BPCHECK_EMISMATCH), "gradient mismatch");
  ck_assert_str_eq(bpcheck_strerror(-7), "unknown status");
  const char *names[] = {"success",
                         "gradient mismatch",
                         "invalid argument",
                         "dimensions do not match",
                         "out of memory",
                         "size too large",
                         "value out of range",
                         "the candidate failed",
                         "the candidate skipped the case"};
  for (int st = 0; st <= BPCHECK_ESKIP; st++)
    ck_assert_str_eq(bpcheck_strerror(st), names[st]);
}
END_TEST

/* Softmax is not element-wise: asking for it element by element is NaN. */
START_TEST(test_softmax_not_elementwise)
{
  ck_assert(isnan(bpcheck_activation_f(BPCHECK_SOFTMAX, 0.5)));
  ck_assert(isnan(bpcheck_activation_df(BPCHECK_SOFTMAX, 0.5)));
}
END_TEST

Suite *
make_activation_suite(void)
{
  Suite *s = suite_create("activation");
  TCase *core = tcase_create("Core");
  tcase_set_timeout(core, TEST_TIMEOUT);
  tcase_add_loop_test(core, test_sigmoid, 0, NZ);
  tcase_add_loop_test(core, test_tanh, 0, NZ);
  tcase_add_loop_test(core, test_softplus, 0, NZ);
  tcase_add_loop_test(core, test_relu_identity, 0, NZ);
  tcase_add_test(core, test_no_overflow);
  tcase_add_test(core, test_softmax);
  tcase_add_test(core, test_softmax_strided);
  tcase_add_test(core, test_names_round_trip);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("Errors");
  tcase_set_timeout(errors, TEST_TIMEOUT);
  tcase_add_test(errors, test_unknown_names);
  tcase_add_test(errors, test_softmax_not_elementwise);
  suite_add_tcase(s, errors);
  return s;
}
