/* check_cost.c -- each cost's term against known values, and its
 * derivative dC/da against the complex-step derivative of the cost written
 * out here in complex arithmetic (exact to rounding, and independent). */

#include <complex.h>
#include <float.h>
#include <math.h>

#include "suites.h"
#include "testutil.h"

/* The costs of doc/reference.md, one output's term, in complex arithmetic. */
static double complex
term_c(bpcheck_cost c, double complex a, double y, size_t n_L)
{
  switch (c) {
  case BPCHECK_QUADRATIC: return 0.5 * (a - y) * (a - y);
  case BPCHECK_MSE: return (a - y) * (a - y) / (double)n_L;
  case BPCHECK_CROSS_ENTROPY: return -(y * clog(a) + (1 - y) * clog(1 - a));
  default: return -y * clog(a);
  }
}

/* Points (a, y) inside every cost's domain. */
static const double as[] = {0.01, 0.2, 0.5, 0.73, 0.99};
static const double ys[] = {0.0, 0.3, 1.0};

/* Complex step: dC/da = Im C(a + i h) / h + O(h^2), with no subtraction,
 * so h = 1e-20 makes the truncation error nil and the result exact to a
 * few ulps. */
START_TEST(test_dterm_complex_step)
{
  bpcheck_cost c = (bpcheck_cost)_i;
  const double h = 1e-20;
  for (size_t i = 0; i < sizeof as / sizeof *as; i++)
    for (size_t m = 0; m < sizeof ys / sizeof *ys; m++) {
      double a = as[i], y = ys[m];
      double cs = cimag(term_c(c, a + I * h, y, 3)) / h;
      ck_assert_ulps(bpcheck_cost_dterm(c, a, y, 3), cs, 16);
      ck_assert_ulps(bpcheck_cost_term(c, a, y, 3), creal(term_c(c, a, y, 3)),
                     16);
    }
}
END_TEST

START_TEST(test_known_values)
{
  ck_assert_double_eq(bpcheck_cost_term(BPCHECK_QUADRATIC, 3, 1, 7), 2.0);
  ck_assert_double_eq(bpcheck_cost_dterm(BPCHECK_QUADRATIC, 3, 1, 7), 2.0);
  ck_assert_double_eq(bpcheck_cost_term(BPCHECK_MSE, 3, 1, 2), 2.0);
  ck_assert_double_eq(bpcheck_cost_dterm(BPCHECK_MSE, 3, 1, 2), 2.0);
  ck_assert_ulps(bpcheck_cost_term(BPCHECK_CROSS_ENTROPY, 0.5, 1, 1), M_LN2,
                 1);
  ck_assert_ulps(bpcheck_cost_term(BPCHECK_CROSS_ENTROPY, 0.5, 0, 1), M_LN2,
                 1);
  ck_assert_ulps(
      bpcheck_cost_term(BPCHECK_CATEGORICAL_CROSS_ENTROPY, exp(-1), 1, 1), 1.0,
      2);
}
END_TEST

/* A term whose weight is zero is zero, even where its logarithm is -inf. */
START_TEST(test_zero_weight_terms)
{
  ck_assert_double_eq(bpcheck_cost_term(BPCHECK_CROSS_ENTROPY, 0.0, 0.0, 1),
                      0.0);
  ck_assert_double_eq(bpcheck_cost_term(BPCHECK_CROSS_ENTROPY, 1.0, 1.0, 1),
                      0.0);
  ck_assert_double_eq(
      bpcheck_cost_term(BPCHECK_CATEGORICAL_CROSS_ENTROPY, 0.0, 0.0, 1), 0.0);
}
END_TEST

START_TEST(test_reduction_factor)
{
  ck_assert_double_eq(bpcheck_reduction_factor(BPCHECK_MEAN, 4), 0.25);
  ck_assert_double_eq(bpcheck_reduction_factor(BPCHECK_SUM, 4), 1.0);
}
END_TEST

START_TEST(test_invalid_cost)
{
  ck_assert(isnan(bpcheck_cost_term((bpcheck_cost)42, 0.5, 0.5, 1)));
  ck_assert(isnan(bpcheck_cost_dterm((bpcheck_cost)42, 0.5, 0.5, 1)));
}
END_TEST

Suite *
make_cost_suite(void)
{
  Suite *s = suite_create("cost");
  TCase *core = tcase_create("Core");
  tcase_set_timeout(core, TEST_TIMEOUT);
  tcase_add_loop_test(core, test_dterm_complex_step, 0, BPCHECK_N_COSTS);
  tcase_add_test(core, test_known_values);
  tcase_add_test(core, test_zero_weight_terms);
  tcase_add_test(core, test_reduction_factor);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("Errors");
  tcase_set_timeout(errors, TEST_TIMEOUT);
  tcase_add_test(errors, test_invalid_cost);
  suite_add_tcase(s, errors);
  return s;
}
