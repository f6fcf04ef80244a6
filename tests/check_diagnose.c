/* check_diagnose.c -- each diagnosis from a candidate with exactly that bug,
 * and the validation engine (bpcheck_validate) with C candidates: a correct
 * one passes, a wrong one is caught, shrunk and diagnosed, a failing one is
 * reported as such. */

#include <math.h>
#include <string.h>

#include "suites.h"
#include "testutil.h"

static const bpcheck_tolerance tol = {BPCHECK_DOUBLE_ATOL, BPCHECK_DOUBLE_RTOL,
                                      0, NULL};

/* 3-4-4-2, W^2 square; the reference in x.mat, a copy to corrupt in x.lit. */
static void
init(fixture *x, bpcheck_cost cost)
{
  static const size_t n[] = {3, 4, 4, 2};
  static const bpcheck_activation f[] = {BPCHECK_SIGMOID, BPCHECK_TANH,
                                         BPCHECK_SIGMOID};
  fixture_init(x, 3, n, f, cost, BPCHECK_MEAN, 3, test_seed(17));
  ck_assert_ok(bpcheck_matrix_backprop(x->net, x->batch, x->mat, NULL, x->mw));
  memcpy(x->lit->data, x->mat->data, x->mat->size * sizeof(double));
}

static bpcheck_diagnosis
diagnose(fixture *x)
{
  bpcheck_diagnosis d;
  ck_assert_ok(bpcheck_diagnose(x->net, x->batch, x->mat, x->lit, &tol, &d));
  return d;
}

static void
scale(bpcheck_params *g, double c)
{
  for (size_t i = 0; i < g->size; i++)
    g->data[i] *= c;
}

START_TEST(test_factor_batch_sum)
{
  fixture x;
  init(&x, BPCHECK_QUADRATIC);
  scale(x.lit, 3); /* summed over B = 3 samples where the mean is asked */
  bpcheck_diagnosis d = diagnose(&x);
  ck_assert_int_eq(d.bug, BPCHECK_BUG_FACTOR);
  ck_assert_double_eq_tol(d.factor, 3, 1e-9);
  ck_assert_ptr_nonnull(
      strstr(d.text, "summed where the cost takes the mean"));
  fixture_free(&x);
}
END_TEST

START_TEST(test_factor_half)
{
  fixture x;
  init(&x, BPCHECK_QUADRATIC);
  scale(x.lit, 2); /* a - y taken as 2 (a - y) */
  bpcheck_diagnosis d = diagnose(&x);
  ck_assert_int_eq(d.bug, BPCHECK_BUG_FACTOR);
  ck_assert_ptr_nonnull(strstr(d.text, "1/2 of the quadratic cost"));
  fixture_free(&x);
}
END_TEST

/* MSE with n_L = 2 would make 2/n_L = 1: n_L = 3 here, factor 3/2. */
START_TEST(test_factor_mse)
{
  static const size_t n[] = {3, 4, 3};
  static const bpcheck_activation f[] = {BPCHECK_TANH, BPCHECK_IDENTITY};
  fixture x;
  fixture_init(&x, 2, n, f, BPCHECK_MSE, BPCHECK_SUM, 2, 5);
  ck_assert_ok(bpcheck_matrix_backprop(x.net, x.batch, x.mat, NULL, x.mw));
  memcpy(x.lit->data, x.mat->data, x.mat->size * sizeof(double));
  scale(x.lit, 1.5); /* quadratic's a - y where MSE's 2 (a - y) / 3 */
  bpcheck_diagnosis d = diagnose(&x);
  ck_assert_int_eq(d.bug, BPCHECK_BUG_FACTOR);
  ck_assert_ptr_nonnull(strstr(d.text, "MSE's 2/n_L"));
  fixture_free(&x);
}
END_TEST

/* The other named factors: 1/B (mean where the sum is asked), 1/2 (the
 * quadratic's 1/2 applied twice), and one with no name. */
START_TEST(test_factor_names)
{
  fixture x;
  init(&x, BPCHECK_QUADRATIC);
  const double c[] = {1.0 / 3, 0.5, 0.3};
  const char *text[] = {"averaged where the cost takes the sum",
                        "applied twice", "0.3 times the reference"};
  for (int i = 0; i < 3; i++) {
    memcpy(x.lit->data, x.mat->data, x.mat->size * sizeof(double));
    scale(x.lit, c[i]);
    bpcheck_diagnosis d = diagnose(&x);
    ck_assert_int_eq(d.bug, BPCHECK_BUG_FACTOR);
    ck_assert_msg(strstr(d.text, text[i]), "%s", d.text);
  }
  fixture_free(&x);
}
END_TEST

START_TEST(test_sign)
{
  fixture x;
  init(&x, BPCHECK_QUADRATIC);
  scale(x.lit, -1);
  ck_assert_int_eq(diagnose(&x).bug, BPCHECK_BUG_SIGN);
  fixture_free(&x);
}
END_TEST

/* One layer, written out here: a = sigma(W x + b), and the bug's gradient
 * dC/dW_kj = r sum_s (a_ks - y_ks) x_js, without sigma'(z). */
START_TEST(test_output_derivative)
{
  static const size_t n[] = {3, 2};
  static const bpcheck_activation f[] = {BPCHECK_SIGMOID};
  fixture x;
  fixture_init(&x, 1, n, f, BPCHECK_QUADRATIC, BPCHECK_MEAN, 3, 9);
  ck_assert_ok(bpcheck_matrix_backprop(x.net, x.batch, x.mat, NULL, x.mw));
  memset(x.lit->data, 0, x.lit->size * sizeof(double));
  const gsl_matrix *W = &x.net->theta->W[1];
  for (size_t s = 0; s < 3; s++)
    for (size_t k = 0; k < 2; k++) {
      double z = gsl_vector_get(&x.net->theta->b[1], k);
      for (size_t j = 0; j < 3; j++)
        z += gsl_matrix_get(W, k, j) * gsl_matrix_get(x.batch->X, j, s);
      double g = (1 / (1 + exp(-z)) - gsl_matrix_get(x.batch->Y, k, s)) / 3;
      for (size_t j = 0; j < 3; j++)
        x.lit->W[1].data[k * 3 + j] += g * gsl_matrix_get(x.batch->X, j, s);
      x.lit->b[1].data[k] += g;
    }
  bpcheck_diagnosis d = diagnose(&x);
  ck_assert_int_eq(d.bug, BPCHECK_BUG_OUTPUT_DERIVATIVE);
  ck_assert_ptr_nonnull(strstr(d.text, "(FC.4)"));
  fixture_free(&x);
}
END_TEST

START_TEST(test_transposed)
{
  fixture x;
  init(&x, BPCHECK_QUADRATIC);
  gsl_matrix_transpose_memcpy(&x.lit->W[2], &x.mat->W[2]); /* 4 x 4 */
  bpcheck_diagnosis d = diagnose(&x);
  ck_assert_int_eq(d.bug, BPCHECK_BUG_TRANSPOSED);
  ck_assert_uint_eq(d.layer, 2);
  fixture_free(&x);
}
END_TEST

START_TEST(test_bias_summed)
{
  fixture x;
  init(&x, BPCHECK_QUADRATIC);
  for (size_t l = 1; l <= 3; l++)
    gsl_vector_scale(&x.lit->b[l], 3);
  bpcheck_diagnosis d = diagnose(&x);
  ck_assert_int_eq(d.bug, BPCHECK_BUG_BIAS);
  ck_assert_double_eq_tol(d.factor, 3, 1e-9);
  ck_assert_ptr_nonnull(strstr(d.text, "summed over the batch"));
  fixture_free(&x);
}
END_TEST

START_TEST(test_one_layer)
{
  fixture x;
  init(&x, BPCHECK_QUADRATIC);
  for (size_t i = 0; i < 8; i++) /* W^3 is 2 x 4 */
    x.lit->W[3].data[i] *= 1 + 0.1 * (double)i;
  bpcheck_diagnosis d = diagnose(&x);
  ck_assert_int_eq(d.bug, BPCHECK_BUG_ONE_LAYER);
  ck_assert_uint_eq(d.layer, 3);
  fixture_free(&x);
}
END_TEST

START_TEST(test_unknown_and_none)
{
  fixture x;
  init(&x, BPCHECK_QUADRATIC);
  ck_assert_int_eq(diagnose(&x).bug, BPCHECK_BUG_NONE);
  x.lit->W[1].data[0] += 1;
  x.lit->W[3].data[5] -= 1;
  ck_assert_int_eq(diagnose(&x).bug, BPCHECK_BUG_UNKNOWN);
  fixture_free(&x);
}
END_TEST

/* Candidates in C for bpcheck_validate ----------------------------------- */

typedef enum { RIGHT, SIGN_FLIP, REFUSES } behaviour;

static int
candidate(const bpcheck_case *c, bpcheck_params *g, void *data)
{
  behaviour b = *(behaviour *)data;
  if (b == REFUSES && c->net->L > 2)
    return bpcheck_fail(BPCHECK_ECANDIDATE, "deep networks not supported");
  bpcheck_matrix_workspace *w;
  ck_assert_ok(bpcheck_matrix_alloc(&w, c->net, c->batch->B));
  ck_assert_ok(bpcheck_matrix_backprop(c->net, c->batch, g, NULL, w));
  bpcheck_matrix_free(w);
  if (b == SIGN_FLIP)
    scale(g, -1);
  return BPCHECK_SUCCESS;
}

START_TEST(test_validate_right)
{
  bpcheck_space s;
  bpcheck_space_default(&s);
  bpcheck_validation v;
  behaviour b = RIGHT;
  ck_assert_ok(
      bpcheck_validate(&s, 50, test_seed(3), &tol, candidate, &b, NULL, &v));
  ck_assert_uint_eq(v.trials, 50);
  ck_assert_ptr_null(v.failure);
  bpcheck_validation_free(&v);
}
END_TEST

/* Caught on the first case, shrunk to one layer of one input and at most
 * two outputs (two for a softmax), one sample, and named. */
START_TEST(test_validate_shrinks)
{
  bpcheck_space s;
  bpcheck_space_default(&s);
  bpcheck_validation v;
  behaviour b = SIGN_FLIP;
  unsigned long seed = test_seed(3);
  ck_assert_int_eq(
      bpcheck_validate(&s, 50, seed, &tol, candidate, &b, NULL, &v),
      BPCHECK_EMISMATCH);
  ck_assert_uint_eq(v.trials, 1);
  ck_assert_ptr_nonnull(v.failure);
  ck_assert_uint_gt(v.shrink_steps, 0);
  ck_assert_msg(v.failure->net->L == 1 && v.failure->net->n[0] == 1 &&
                    v.failure->net->n[1] <= 2 && v.failure->batch->B == 1,
                "seed %lu: shrunk only to L = %zu, n_0 = %zu, n_1 = %zu, "
                "B = %zu",
                seed, v.failure->net->L, v.failure->net->n[0],
                v.failure->net->n[1], v.failure->batch->B);
  ck_assert_int_eq(v.diagnosis.bug, BPCHECK_BUG_SIGN);
  ck_assert_uint_gt(v.report->n_fail, 0);
  bpcheck_validation_free(&v);
}
END_TEST

START_TEST(test_validate_candidate_fails)
{
  bpcheck_space s;
  bpcheck_space_default(&s);
  bpcheck_validation v;
  behaviour b = REFUSES;
  ck_assert_int_eq(bpcheck_validate(&s, 100, 1, &tol, candidate, &b, NULL, &v),
                   BPCHECK_ECANDIDATE);
  ck_assert_str_eq(bpcheck_errmsg(), "deep networks not supported");
  ck_assert_ptr_nonnull(v.failure);
  ck_assert_uint_gt(v.failure->net->L, 2);
  bpcheck_validation_free(&v);
}
END_TEST

/* Wrong on its first case, then fails (as a candidate that hangs or
 * crashes while its failure is shrunk). */
static int
candidate_breaks(const bpcheck_case *c, bpcheck_params *g, void *data)
{
  size_t *calls = data;
  behaviour b = SIGN_FLIP;
  if ((*calls)++ > 0)
    return bpcheck_fail(BPCHECK_ECANDIDATE, "it timed out");
  return candidate(c, g, &b);
}

START_TEST(test_validate_fails_while_shrinking)
{
  bpcheck_space s;
  bpcheck_space_default(&s);
  bpcheck_validation v;
  size_t calls = 0;
  ck_assert_int_eq(bpcheck_validate(&s, 50, test_seed(3), &tol,
                                    candidate_breaks, &calls, NULL, &v),
                   BPCHECK_EMISMATCH);
  ck_assert_uint_eq(calls, 2); /* shrinking stopped at its first error */
  ck_assert_uint_eq(v.shrink_steps, 0);
  ck_assert_int_eq(v.shrink_status, BPCHECK_ECANDIDATE);
  ck_assert_str_eq(v.shrink_error, "it timed out");
  ck_assert_ptr_nonnull(v.failure); /* the original failure stands */
  ck_assert_int_eq(v.diagnosis.bug, BPCHECK_BUG_SIGN);
  bpcheck_validation_free(&v);
}
END_TEST

Suite *
make_diagnose_suite(void)
{
  Suite *s = suite_create("diagnose");
  TCase *core = tcase_create("Core");
  tcase_set_timeout(core, TEST_TIMEOUT);
  tcase_add_test(core, test_factor_batch_sum);
  tcase_add_test(core, test_factor_half);
  tcase_add_test(core, test_factor_mse);
  tcase_add_test(core, test_sign);
  tcase_add_test(core, test_factor_names);
  tcase_add_test(core, test_output_derivative);
  tcase_add_test(core, test_transposed);
  tcase_add_test(core, test_bias_summed);
  tcase_add_test(core, test_one_layer);
  tcase_add_test(core, test_unknown_and_none);
  tcase_add_test(core, test_validate_right);
  tcase_add_test(core, test_validate_shrinks);
  tcase_add_test(core, test_validate_candidate_fails);
  tcase_add_test(core, test_validate_fails_while_shrinking);
  suite_add_tcase(s, core);
  return s;
}
