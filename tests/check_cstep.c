/* check_cstep.c -- the complex step: exact on a gradient known in closed
 * form, equal to both backprops on every allowed combination within twice
 * their rounding bound (CD.9), immune to relu's kink, and able to reject a
 * wrong gradient. */

#include <math.h>
#include <string.h>

#include "suites.h"
#include "testutil.h"

/* One identity layer, quadratic cost: dC/dW_kj = r sum_s (z_ks - y_ks) x_js
 * written out here; the complex step is exact to a few ulps of the terms. */
START_TEST(test_exact_on_linear)
{
  static const size_t n[] = {3, 2};
  static const bpcheck_activation f[] = {[1] = BPCHECK_IDENTITY};
  fixture x;
  fixture_init(&x, 1, n, f, BPCHECK_QUADRATIC, BPCHECK_SUM, 4, 2);
  bpcheck_cstep_workspace *w;
  ck_assert_ok(bpcheck_cstep_alloc(&w, x.net));
  ck_assert_ok(bpcheck_cstep_gradient(x.net, x.batch, x.fd, w));
  const gsl_matrix *W = &x.net->theta->W[1];
  double g[8] = {0}, mag[8] = {0};
  for (size_t s = 0; s < 4; s++)
    for (size_t k = 0; k < 2; k++) {
      double z = gsl_vector_get(&x.net->theta->b[1], k);
      for (size_t j = 0; j < 3; j++)
        z += gsl_matrix_get(W, k, j) * gsl_matrix_get(x.batch->X, j, s);
      double e = z - gsl_matrix_get(x.batch->Y, k, s);
      for (size_t j = 0; j < 3; j++) {
        double t = e * gsl_matrix_get(x.batch->X, j, s);
        g[k * 3 + j] += t, mag[k * 3 + j] += fabs(t);
      }
      g[6 + k] += e, mag[6 + k] += fabs(e);
    }
  for (size_t i = 0; i < 8; i++)
    ck_assert_double_eq_tol(x.fd->data[i], g[i], 16 * 2.2e-16 * mag[i]);
  bpcheck_cstep_free(w);
  fixture_free(&x);
}
END_TEST

/* Every activation and cost: 3-5-4-3, and one input next to its kink. */
START_TEST(test_equals_backprop)
{
  static const size_t n[] = {3, 5, 4, 3};
  const bpcheck_activation hidden = (bpcheck_activation)(_i % 5);
  static const struct {
    bpcheck_activation out;
    bpcheck_cost cost;
  } ends[] = {{BPCHECK_SIGMOID, BPCHECK_CROSS_ENTROPY},
              {BPCHECK_SOFTMAX, BPCHECK_CATEGORICAL_CROSS_ENTROPY},
              {BPCHECK_TANH, BPCHECK_QUADRATIC},
              {BPCHECK_SOFTPLUS, BPCHECK_MSE},
              {BPCHECK_RELU, BPCHECK_QUADRATIC}};
  bpcheck_activation f[] = {[1] = hidden, hidden, ends[_i / 5].out};
  fixture x;
  fixture_init(&x, 3, n, f, ends[_i / 5].cost, BPCHECK_MEAN, 3,
               test_seed(60 + (unsigned long)_i));
  /* A relu input 1e-9 from its kink (sample 0, z^1_0): well inside the
   * central differences' step, which would cross it and flag the entry;
   * the imaginary step does not move the real part, so the complex step
   * still checks it.  (Exactly at 0 the derivative does not exist, and
   * which side a computed z lands on depends on its summation order.) */
  double z = 0;
  for (size_t j = 0; j < 3; j++)
    z += gsl_matrix_get(&x.net->theta->W[1], 0, j) *
         gsl_matrix_get(x.batch->X, j, 0);
  gsl_vector_set(&x.net->theta->b[1], 0, 1e-9 - z);
  bpcheck_cstep_workspace *w;
  ck_assert_ok(bpcheck_cstep_alloc(&w, x.net));
  ck_assert_ok(bpcheck_cstep_gradient(x.net, x.batch, x.fd, w));
  ck_assert_ok(bpcheck_literal_backprop(x.net, x.batch, x.lit, NULL, x.lw));
  ck_assert_ok(bpcheck_matrix_backprop(x.net, x.batch, x.mat, NULL, x.mw));
  ck_assert_ok(bpcheck_bound_pair(x.net, x.batch, x.tol, x.bw));
  bpcheck_tolerance tol = {0, 0, 0, x.tol, NULL, 0, 0};
  ck_assert_msg(bpcheck_compare(x.fd, x.lit, &tol, x.report) == 0,
                "combination %d: literal vs complex step: %s", _i,
                bpcheck_errmsg());
  ck_assert_msg(bpcheck_compare(x.fd, x.mat, &tol, x.report) == 0,
                "combination %d: matrix vs complex step: %s", _i,
                bpcheck_errmsg());
  /* A sign flipped in one entry is caught, and named. */
  size_t i = x.lit->size / 3;
  if (x.lit->data[i] != 0) {
    x.lit->data[i] = -x.lit->data[i];
    ck_assert_int_eq(bpcheck_compare(x.fd, x.lit, &tol, x.report),
                     BPCHECK_EMISMATCH);
    ck_assert_uint_eq(x.report->worst.index, i);
  }
  bpcheck_cstep_free(w);
  fixture_free(&x);
}
END_TEST

START_TEST(test_cstep_errors)
{
  static const size_t n[] = {3, 4, 2}, other[] = {3, 9, 2};
  static const bpcheck_activation f[] = {[1] = BPCHECK_TANH, BPCHECK_SIGMOID};
  fixture x, y;
  fixture_init(&x, 2, n, f, BPCHECK_QUADRATIC, BPCHECK_MEAN, 2, 1);
  fixture_init(&y, 2, other, f, BPCHECK_QUADRATIC, BPCHECK_MEAN, 2, 1);
  bpcheck_cstep_workspace *w;
  ck_assert_ok(bpcheck_cstep_alloc(&w, x.net));
  ck_assert_int_eq(bpcheck_cstep_gradient(x.net, x.batch, y.fd, w),
                   BPCHECK_EBADLEN);
  ck_assert_int_eq(bpcheck_cstep_gradient(y.net, y.batch, y.fd, w),
                   BPCHECK_EBADLEN);
  gsl_matrix_set(x.batch->X, 0, 0, NAN);
  ck_assert_int_eq(bpcheck_cstep_gradient(x.net, x.batch, x.fd, w),
                   BPCHECK_EDOM);
  bpcheck_cstep_free(w);
  fixture_free(&x);
  fixture_free(&y);
  gsl_guard_check();
}
END_TEST

Suite *
make_cstep_suite(void)
{
  Suite *s = suite_create("cstep");
  TCase *core = tcase_create("Core");
  tcase_set_timeout(core, TEST_TIMEOUT);
  tcase_add_test(core, test_exact_on_linear);
  tcase_add_loop_test(core, test_equals_backprop, 0, 25);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("Errors");
  tcase_set_timeout(errors, TEST_TIMEOUT);
  tcase_add_checked_fixture(errors, gsl_guard_setup, gsl_guard_teardown);
  tcase_add_test(errors, test_cstep_errors);
  suite_add_tcase(s, errors);
  return s;
}
