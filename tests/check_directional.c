/* check_directional.c -- the directional check accepts the gradient of both
 * backprops and rejects a wrong one; the Taylor remainder's slope is about
 * 2 for the gradient and about 1 for a wrong one; the parameters come back
 * bit for bit. */

#include <math.h>
#include <string.h>

#include "suites.h"
#include "testutil.h"

static void
init(fixture *x, int i)
{
  static const size_t n[] = {4, 6, 5, 3};
  const bpcheck_activation f[][4] = {
      {[1] = BPCHECK_TANH, BPCHECK_SIGMOID, BPCHECK_SOFTMAX},
      {[1] = BPCHECK_SOFTPLUS, BPCHECK_TANH, BPCHECK_SIGMOID},
      {[1] = BPCHECK_SIGMOID, BPCHECK_IDENTITY, BPCHECK_TANH}};
  const bpcheck_cost c[] = {BPCHECK_CATEGORICAL_CROSS_ENTROPY,
                            BPCHECK_CROSS_ENTROPY, BPCHECK_MSE};
  fixture_init(x, 3, n, f[i], c[i], BPCHECK_MEAN, 4,
               test_seed(70 + (unsigned long)i));
}

START_TEST(test_directional)
{
  fixture x;
  init(&x, _i);
  bpcheck_directional_workspace *w;
  bpcheck_directional_result res;
  ck_assert_ok(bpcheck_directional_alloc(&w, x.net, 4));
  ck_assert_ok(bpcheck_literal_backprop(x.net, x.batch, x.lit, NULL, x.lw));
  ck_assert_ok(bpcheck_matrix_backprop(x.net, x.batch, x.mat, NULL, x.mw));
  double before[200];
  size_t P = x.net->theta->size;
  ck_assert_uint_le(P, 200);
  memcpy(before, x.net->theta->data, P * sizeof(double));
  ck_assert_ok(
      bpcheck_directional_check(x.net, x.batch, x.lit, 8, x.rng, w, &res));
  ck_assert_uint_eq(res.checked + res.kinks, 8);
  ck_assert(res.max_ratio < 1);
  ck_assert_ok(
      bpcheck_directional_check(x.net, x.batch, x.mat, 8, x.rng, w, &res));
  ck_assert_int_eq(memcmp(before, x.net->theta->data, P * sizeof(double)), 0);
  /* One entry with its sign flipped: the largest, so that every direction
   * sees it (|v_i| ~ 1 of the directions' scale, error 2 |g_i|). */
  size_t big = 0;
  for (size_t i = 0; i < P; i++)
    if (fabs(x.lit->data[i]) > fabs(x.lit->data[big]))
      big = i;
  x.lit->data[big] = -x.lit->data[big];
  ck_assert_int_eq(
      bpcheck_directional_check(x.net, x.batch, x.lit, 8, x.rng, w, &res),
      BPCHECK_EMISMATCH);
  ck_assert_uint_gt(res.failed, 0);
  ck_assert_int_eq(memcmp(before, x.net->theta->data, P * sizeof(double)), 0);
  /* Directions within one layer: only the layer that holds the flipped
   * entry disagrees. */
  size_t l_big, k, j;
  int is_bias;
  ck_assert_ok(bpcheck_params_entry(x.lit, big, &l_big, &is_bias, &k, &j));
  for (size_t l = 1; l <= 3; l++) {
    int status = bpcheck_directional_check_layer(x.net, x.batch, x.lit, l, 8,
                                                 x.rng, w, &res);
    ck_assert_int_eq(status, l == l_big ? BPCHECK_EMISMATCH : BPCHECK_SUCCESS);
  }
  ck_assert_int_eq(memcmp(before, x.net->theta->data, P * sizeof(double)), 0);
  bpcheck_directional_free(w);
  fixture_free(&x);
}
END_TEST

START_TEST(test_taylor)
{
  fixture x;
  init(&x, _i);
  bpcheck_directional_workspace *w;
  ck_assert_ok(bpcheck_directional_alloc(&w, x.net, 4));
  ck_assert_ok(bpcheck_matrix_backprop(x.net, x.batch, x.mat, NULL, x.mw));
  double slope;
  size_t points;
  ck_assert_ok(
      bpcheck_taylor_slope(x.net, x.batch, x.mat, x.rng, w, &slope, &points));
  ck_assert_uint_ge(points, 3);
  ck_assert_msg(fabs(slope - 2) < 0.2, "the gradient's slope is %g", slope);
  for (size_t i = 0; i < x.mat->size; i++)
    x.mat->data[i] *= 2;
  ck_assert_ok(
      bpcheck_taylor_slope(x.net, x.batch, x.mat, x.rng, w, &slope, &points));
  ck_assert_msg(fabs(slope - 1) < 0.2, "a wrong gradient's slope is %g",
                slope);
  bpcheck_directional_free(w);
  fixture_free(&x);
}
END_TEST

START_TEST(test_directional_errors)
{
  static const size_t n[] = {3, 4, 2}, other[] = {3, 5, 2};
  static const bpcheck_activation f[] = {[1] = BPCHECK_TANH, BPCHECK_SIGMOID};
  fixture x, y;
  fixture_init(&x, 2, n, f, BPCHECK_QUADRATIC, BPCHECK_MEAN, 2, 1);
  fixture_init(&y, 2, other, f, BPCHECK_QUADRATIC, BPCHECK_MEAN, 2, 1);
  bpcheck_directional_workspace *w;
  bpcheck_directional_result res;
  double slope;
  size_t points;
  ck_assert_ok(bpcheck_directional_alloc(&w, x.net, 2));
  ck_assert_int_eq(
      bpcheck_directional_check(x.net, x.batch, y.mat, 2, x.rng, w, &res),
      BPCHECK_EBADLEN);
  ck_assert_int_eq(
      bpcheck_directional_check(y.net, y.batch, y.mat, 2, x.rng, w, &res),
      BPCHECK_EBADLEN);
  ck_assert_int_eq(
      bpcheck_taylor_slope(y.net, y.batch, y.mat, x.rng, w, &slope, &points),
      BPCHECK_EBADLEN);
  for (size_t l = 0; l < 4; l += 3) /* layers 0 and 3 of 2 */
    ck_assert_int_eq(bpcheck_directional_check_layer(x.net, x.batch, x.mat, l,
                                                     2, x.rng, w, &res),
                     BPCHECK_EINVAL);
  ck_assert_int_eq(bpcheck_directional_alloc(&w, x.net, 0), BPCHECK_EINVAL);
  bpcheck_directional_free(w);
  fixture_free(&x);
  fixture_free(&y);
  gsl_guard_check();
}
END_TEST

Suite *
make_directional_suite(void)
{
  Suite *s = suite_create("directional");
  TCase *core = tcase_create("Core");
  tcase_set_timeout(core, TEST_TIMEOUT);
  tcase_add_loop_test(core, test_directional, 0, 3);
  tcase_add_loop_test(core, test_taylor, 0, 3);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("Errors");
  tcase_set_timeout(errors, TEST_TIMEOUT);
  tcase_add_checked_fixture(errors, gsl_guard_setup, gsl_guard_teardown);
  tcase_add_test(errors, test_directional_errors);
  suite_add_tcase(s, errors);
  return s;
}
