/* check_fdiff.c -- central differences: exact on a cost whose gradient is
 * known in closed form, honest error estimates, parameters restored bit for
 * bit, and kinks of relu detected. */

#include <float.h>
#include <math.h>
#include <string.h>

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
 * tight: C is quadratic, so the truncation error vanishes and only the
 * rounding term remains, about 6 m eps |C| / h ~ 1e-9 |C| (CD.6). */
START_TEST(test_exact_on_quadratic)
{
  static const size_t n[] = {4, 3};
  static const bpcheck_activation f[] = {BPCHECK_IDENTITY};
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
    ck_assert_msg(x.err->data[i] <= 1e-8 * fmax(1.0, C),
                  "entry %zu: estimate %.3g is loose", i, x.err->data[i]);
  }
  fixture_free(&x);
}
END_TEST

/* Every parameter is perturbed in place and restored exactly. */
START_TEST(test_restores_parameters)
{
  static const size_t n[] = {3, 5, 2};
  static const bpcheck_activation f[] = {BPCHECK_TANH, BPCHECK_SIGMOID};
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

/* A relu input exactly at its kink: z^1_0 = 0.5 x - 0.5 = 0 for x = 1.
 * Perturbing W^1 or b^1 moves z^1 across 0: those entries get an infinite
 * estimate; W^2 and b^2 leave z^1 alone and are estimated as usual. */
START_TEST(test_kink_detected)
{
  static const size_t n[] = {1, 1, 1};
  static const bpcheck_activation f[] = {BPCHECK_RELU, BPCHECK_SIGMOID};
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
  static const bpcheck_activation f[] = {BPCHECK_TANH, BPCHECK_SIGMOID};
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
  static const bpcheck_activation f[] = {BPCHECK_TANH, BPCHECK_SIGMOID};
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
  tcase_add_loop_test(core, test_exact_on_quadratic, 0, 2);
  tcase_add_test(core, test_restores_parameters);
  tcase_add_test(core, test_kink_detected);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("Errors");
  tcase_add_checked_fixture(errors, gsl_guard_setup, gsl_guard_teardown);
  tcase_add_test(errors, test_fdiff_errors);
  tcase_add_test(errors, test_workspace_mismatch);
  suite_add_tcase(s, errors);
  return s;
}
