/* check_tolerance.c -- the derived tolerance (CD.10) and exact kinks
 * (CD.11): right answers pass, wrong ones fail, whatever the gradient's
 * size. */

#include <float.h>
#include <math.h>
#include <string.h>

#include "internal.h"
#include "suites.h"
#include "testutil.h"

/* The verdict on g for the fixture's network at precision p. */
static int
verdict(fixture *x, const bpcheck_params *g, bpcheck_precision p)
{
  bpcheck_tolerance spec = {0, 0, 0, NULL, NULL, 1, p}, t;
  bpcheck_params *abs, *alt;
  ck_assert_ok(bpcheck_tolerance_apply(x->net, x->batch, x->mat, &spec, &t,
                                       &abs, &alt));
  int status = bpcheck_compare(x->mat, g, &t, x->report);
  bpcheck_params_free(abs);
  bpcheck_params_free(alt);
  return status;
}

/* g <- c r, or the reference rounded to float. */
static void
scaled(const bpcheck_params *r, bpcheck_params *g, double c)
{
  for (size_t i = 0; i < r->size; i++)
    g->data[i] = c * r->data[i];
}

/* Networks whose gradients are tiny (saturated sigmoid outputs, a deep
 * sigmoid network) or ordinary: the reference passes, and zeros, a sign
 * flip, x1000 and a float32-sized error fail at double precision; the
 * float32-sized error passes at single. */
static const struct {
  size_t L;
  size_t n[8];
  bpcheck_activation f;
  double scale; /* of every parameter: 40 saturates the outputs */
} tiny[] = {
    {1, {3, 2}, BPCHECK_SIGMOID, 40.0},
    {2, {3, 4, 2}, BPCHECK_SIGMOID, 1.0},
    {7, {3, 5, 5, 5, 5, 5, 5, 2}, BPCHECK_SIGMOID, 1.0},
};

START_TEST(test_tiny_gradients)
{
  const unsigned long seed = test_seed(5200 + (unsigned long)_i);
  bpcheck_activation f[8];
  for (size_t l = 1; l <= tiny[_i].L; l++)
    f[l] = tiny[_i].f;
  fixture x;
  fixture_init(&x, tiny[_i].L, tiny[_i].n, f, BPCHECK_QUADRATIC, BPCHECK_MEAN,
               2, seed);
  for (size_t i = 0; i < x.net->theta->size; i++)
    x.net->theta->data[i] *= tiny[_i].scale;
  ck_assert_ok(bpcheck_matrix_backprop(x.net, x.batch, x.mat, NULL, x.mw));
  ck_assert_ok(bpcheck_literal_backprop(x.net, x.batch, x.lit, NULL, x.lw));
  /* another correct double computation passes */
  ck_assert_ok(verdict(&x, x.lit, BPCHECK_PRECISION_DOUBLE));
  const double wrong[] = {0.0, -1.0, 1000.0};
  for (size_t w = 0; w < 3; w++) {
    scaled(x.mat, x.fd, wrong[w]);
    ck_assert_msg(verdict(&x, x.fd, BPCHECK_PRECISION_DOUBLE) ==
                      BPCHECK_EMISMATCH,
                  "seed %lu: %g times the gradient passed", seed, wrong[w]);
  }
  /* a float32 answer: the reference rounded to float, 1e-7 relative */
  for (size_t i = 0; i < x.mat->size; i++)
    x.fd->data[i] = (float)x.mat->data[i] * (1.0f + FLT_EPSILON);
  ck_assert_int_eq(verdict(&x, x.fd, BPCHECK_PRECISION_DOUBLE),
                   BPCHECK_EMISMATCH);
  ck_assert_ok(verdict(&x, x.fd, BPCHECK_PRECISION_SINGLE));
  fixture_free(&x);
}
END_TEST

/* An exact relu kink: the first hidden node's input is 0 in every order
 * (its weights and bias 0).  The gradient with relu'(0) = 1 passes, as does
 * the reference's 0; a value beyond the one-sided pair fails. */
START_TEST(test_exact_kink)
{
  const size_t n[3] = {2, 3, 1};
  const bpcheck_activation f[3] = {[1] = BPCHECK_RELU, BPCHECK_IDENTITY};
  fixture x;
  fixture_init(&x, 2, n, f, BPCHECK_QUADRATIC, BPCHECK_MEAN, 2, 7);
  for (size_t j = 0; j < 2; j++)
    gsl_matrix_set(&x.net->theta->W[1], 0, j, 0.0);
  gsl_vector_set(&x.net->theta->b[1], 0, 0.0);
  ck_assert_ok(bpcheck_matrix_backprop(x.net, x.batch, x.mat, NULL, x.mw));
  bpcheck_params *one;
  ck_assert_ok(bpcheck_params_alloc(&one, 2, n));
  ck_assert_ok(bpcheck_matrix_backprop_variant(
      x.net, x.batch, one, NULL, x.mw, BPCHECK_VARIANT_RELU_AT_ZERO_ONE));
  const double b0 = gsl_vector_get(&one->b[1], 0);
  ck_assert(b0 != 0.0); /* the kink matters */
  ck_assert_ok(verdict(&x, x.mat, BPCHECK_PRECISION_DOUBLE));
  ck_assert_ok(verdict(&x, one, BPCHECK_PRECISION_DOUBLE));
  ck_assert_int_eq(x.report->n_kink, 3); /* W^1_0,0, W^1_0,1, b^1_0 */
  /* halfway: a subgradient too */
  gsl_vector_set(&one->b[1], 0, b0 / 2);
  ck_assert_ok(verdict(&x, one, BPCHECK_PRECISION_DOUBLE));
  /* past the one-sided value: wrong */
  gsl_vector_set(&one->b[1], 0, -b0);
  ck_assert_int_eq(verdict(&x, one, BPCHECK_PRECISION_DOUBLE),
                   BPCHECK_EMISMATCH);
  bpcheck_params_free(one);
  fixture_free(&x);
}
END_TEST

/* The tolerance scales with the gradient: inputs x2^-66 (1.4e-20) and
 * weights x2^66 leave every z, and so delta, as they were and scale dC/dW
 * by 2^-66; the tolerance of dC/dW relative to it stays where it was (the
 * old absolute 1e-9 would have swallowed the whole block). */
START_TEST(test_scale_invariance)
{
  const size_t n[2] = {3, 2};
  const bpcheck_activation f[2] = {[1] = BPCHECK_IDENTITY};
  fixture x;
  fixture_init(&x, 1, n, f, BPCHECK_QUADRATIC, BPCHECK_MEAN, 3, 11);
  bpcheck_params *t1, *t2;
  ck_assert_ok(bpcheck_params_alloc(&t1, 1, n));
  ck_assert_ok(bpcheck_params_alloc(&t2, 1, n));
  ck_assert_ok(bpcheck_matrix_backprop(x.net, x.batch, x.mat, NULL, x.mw));
  ck_assert_ok(bpcheck_tolerance_derive(
      x.net, x.batch, BPCHECK_PRECISION_DOUBLE, x.mat, t1, NULL, NULL));
  const double g1 = fabs(x.mat->data[0]);
  /* the inputs x1e-20 scale dC/dW by 1e-20 (and dC/db not at all) */
  for (size_t i = 0; i < x.batch->X->size1 * x.batch->X->size2; i++)
    x.batch->X->data[i] *= 0x1p-66;
  for (size_t i = 0; i < x.net->theta->W[1].size1 * 3; i++)
    x.net->theta->W[1].data[i] *= 0x1p66;
  ck_assert_ok(bpcheck_matrix_backprop(x.net, x.batch, x.mat, NULL, x.mw));
  ck_assert_ok(bpcheck_tolerance_derive(
      x.net, x.batch, BPCHECK_PRECISION_DOUBLE, x.mat, t2, NULL, NULL));
  const double g2 = fabs(x.mat->data[0]);
  ck_assert_double_eq_tol(g2 / g1, 0x1p-66, 1e-12 * 0x1p-66);
  const double r = (t2->data[0] / g2) / (t1->data[0] / g1);
  ck_assert_msg(r > 0.5 && r < 2.0, "relative tolerance moved by %g", r);
  bpcheck_params_free(t1);
  bpcheck_params_free(t2);
  fixture_free(&x);
}
END_TEST

/* Errors: shapes that do not match. */
START_TEST(test_tolerance_errors)
{
  const size_t n[2] = {2, 1}, m[2] = {3, 1};
  const bpcheck_activation f[2] = {[1] = BPCHECK_IDENTITY};
  fixture x;
  fixture_init(&x, 1, n, f, BPCHECK_QUADRATIC, BPCHECK_MEAN, 1, 1);
  bpcheck_params *other;
  ck_assert_ok(bpcheck_params_alloc(&other, 1, m));
  ck_assert_int_eq(bpcheck_tolerance_derive(x.net, x.batch,
                                            BPCHECK_PRECISION_DOUBLE, x.mat,
                                            other, NULL, NULL),
                   BPCHECK_EBADLEN);
  bpcheck_params_free(other);
  /* the checks compare only with what was prepared */
  bpcheck_checks *ck;
  ck_assert_ok(bpcheck_checks_alloc(&ck, x.net, x.batch->B));
  ck_assert_int_eq(
      bpcheck_checks_compare(ck, x.mat, BPCHECK_CHECK_MATRIX, 1.0, x.report),
      BPCHECK_EINVAL);
  ck_assert_ok(
      bpcheck_checks_prepare(ck, x.net, x.batch, BPCHECK_CHECKS_REFERENCE));
  ck_assert_int_eq(
      bpcheck_checks_compare(ck, x.mat, BPCHECK_CHECK_CSTEP, 1.0, x.report),
      BPCHECK_EINVAL);
  ck_assert_ok(bpcheck_checks_compare(ck, bpcheck_checks_reference(ck),
                                      BPCHECK_CHECK_MATRIX, 1.0, x.report));
  bpcheck_checks_free(ck);
  fixture_free(&x);
  gsl_guard_check();
}
END_TEST

/* Errors: each quantity that overflows is named; a bound that overflows
 * while every value is finite is refused too.  On 1-1-1 and 1-1-2
 * identity networks, quadratic cost, one sample. */
START_TEST(test_overflow_named)
{
  const size_t n1[3] = {1, 1, 1}, n2[3] = {1, 1, 2};
  const bpcheck_activation f[3] = {[1] = BPCHECK_IDENTITY, BPCHECK_IDENTITY};
  fixture x;
  /* delta^1 = W^2 delta^2 = 1e308 * 10 overflows; the cost is 50 */
  fixture_init(&x, 2, n1, f, BPCHECK_QUADRATIC, BPCHECK_SUM, 1, 1);
  memset(x.net->theta->data, 0, x.net->theta->size * sizeof(double));
  gsl_matrix_set(&x.net->theta->W[1], 0, 0, 1.0);
  gsl_matrix_set(&x.net->theta->W[2], 0, 0, 1e308);
  gsl_matrix_set(x.batch->X, 0, 0, 1e-300);
  gsl_matrix_set(x.batch->Y, 0, 0, 1e8 - 10);
  ck_assert_int_eq(bpcheck_reference_finite(x.net, x.batch), BPCHECK_EDOM);
  ck_assert_msg(strstr(bpcheck_errmsg(), "delta^1_0") != NULL, "%s",
                bpcheck_errmsg());
  /* finite deltas, dC/dW^1 = delta^1 x = 1e201 * 1e110 overflows: a^1 =
   * 1e-310 x = 1e-200, z^2 = 1e200 a^1 = 1, delta^2 = 10 */
  gsl_matrix_set(&x.net->theta->W[1], 0, 0, 1e-310);
  gsl_matrix_set(&x.net->theta->W[2], 0, 0, 1e200);
  gsl_matrix_set(x.batch->X, 0, 0, 1e110);
  gsl_matrix_set(x.batch->Y, 0, 0, -9.0);
  ck_assert_int_eq(bpcheck_reference_finite(x.net, x.batch), BPCHECK_EDOM);
  ck_assert_msg(strstr(bpcheck_errmsg(), "dC/dW^1_0,0") != NULL, "%s",
                bpcheck_errmsg());
  fixture_free(&x);
  /* every value finite, but sum_k |W^2_k0 delta^2_k| = 2e308 in the bound */
  fixture_init(&x, 2, n2, f, BPCHECK_QUADRATIC, BPCHECK_SUM, 1, 1);
  memset(x.net->theta->data, 0, x.net->theta->size * sizeof(double));
  gsl_matrix_set(&x.net->theta->W[1], 0, 0, 1.0);
  gsl_matrix_set(&x.net->theta->W[2], 0, 0, 1e308);
  gsl_matrix_set(&x.net->theta->W[2], 1, 0, -1e308);
  gsl_matrix_set(x.batch->X, 0, 0, 1e-300);
  gsl_matrix_set(x.batch->Y, 0, 0, 1e8 - 1);
  gsl_matrix_set(x.batch->Y, 1, 0, -1e8 - 1);
  ck_assert_ok(bpcheck_reference_finite(x.net, x.batch));
  ck_assert_ok(bpcheck_matrix_backprop(x.net, x.batch, x.mat, NULL, x.mw));
  ck_assert_int_eq(bpcheck_tolerance_derive(x.net, x.batch,
                                            BPCHECK_PRECISION_DOUBLE, x.mat,
                                            x.tol, NULL, NULL),
                   BPCHECK_EDOM);
  ck_assert_msg(strstr(bpcheck_errmsg(), "bound of") != NULL, "%s",
                bpcheck_errmsg());
  fixture_free(&x);
  gsl_guard_check();
}
END_TEST

/* bpcheck_tolerance_apply_parts hands out the two bounds the tolerance
 * rests on: each entry's tolerance is K (e + e_p) plus a floor of at most
 * eps max_block |r| + eta, the same tolerance as bpcheck_tolerance_apply's,
 * and e equals bpcheck_bound_gradient's. */
START_TEST(test_apply_parts)
{
  static const size_t n[] = {4, 5, 3};
  static const bpcheck_activation f[] = {[1] = BPCHECK_TANH, BPCHECK_SIGMOID};
  fixture x;
  fixture_init(&x, 2, n, f, BPCHECK_CROSS_ENTROPY, BPCHECK_MEAN, 3,
               test_seed(90));
  fixture_gradients(&x);
  bpcheck_tolerance spec = {0, 0, 0, NULL, NULL, 1, BPCHECK_PRECISION_SINGLE},
                    t, t2;
  bpcheck_params *abs, *alt, *abs2, *alt2, *e, *ep, *e_ref;
  ck_assert_ok(bpcheck_params_alloc(&e, 2, n));
  ck_assert_ok(bpcheck_params_alloc(&ep, 2, n));
  ck_assert_ok(bpcheck_params_alloc(&e_ref, 2, n));
  ck_assert_ok(bpcheck_tolerance_apply_parts(x.net, x.batch, x.mat, &spec, &t,
                                             &abs, &alt, e, ep));
  ck_assert_ok(bpcheck_tolerance_apply(x.net, x.batch, x.mat, &spec, &t2,
                                       &abs2, &alt2));
  ck_assert_ok(bpcheck_bound_gradient(x.net, x.batch, e_ref, x.bw));
  double rmax = 0.0;
  for (size_t i = 0; i < x.mat->size; i++)
    rmax = fmax(rmax, fabs(x.mat->data[i]));
  for (size_t i = 0; i < abs->size; i++) {
    ck_assert(abs->data[i] == abs2->data[i]);
    ck_assert(e->data[i] == e_ref->data[i]);
    const double floor =
        abs->data[i] - BPCHECK_TOL_K * (e->data[i] + ep->data[i]);
    ck_assert_msg(floor >= 0 &&
                      floor <= 1.001 * (FLT_EPSILON * rmax + FLT_MIN),
                  "entry %zu: floor %g", i, floor);
  }
  bpcheck_params_free(e);
  bpcheck_params_free(ep);
  bpcheck_params_free(e_ref);
  bpcheck_params_free(abs);
  bpcheck_params_free(alt);
  bpcheck_params_free(abs2);
  bpcheck_params_free(alt2);
  fixture_free(&x);
}
END_TEST

Suite *
make_tolerance_suite(void)
{
  Suite *s = suite_create("tolerance");
  TCase *core = tcase_create("Core");
  tcase_set_timeout(core, TEST_TIMEOUT);
  tcase_add_loop_test(core, test_tiny_gradients, 0,
                      sizeof tiny / sizeof *tiny);
  tcase_add_test(core, test_exact_kink);
  tcase_add_test(core, test_scale_invariance);
  tcase_add_test(core, test_apply_parts);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("Errors");
  tcase_set_timeout(errors, TEST_TIMEOUT);
  tcase_add_checked_fixture(errors, gsl_guard_setup, gsl_guard_teardown);
  tcase_add_test(errors, test_tolerance_errors);
  tcase_add_test(errors, test_overflow_named);
  suite_add_tcase(s, errors);
  return s;
}
