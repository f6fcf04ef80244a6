/* check_diagnose.c -- each diagnosis from a candidate with exactly that bug,
 * and the validation engine (bpcheck_validate) with C candidates: a correct
 * one passes, a wrong one is caught, shrunk and diagnosed, a failing one is
 * reported as such. */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <float.h>

#include "internal.h"
#include "suites.h"
#include "testutil.h"

/* A fixed tolerance, 1e-9 + 1e-6 max(|g|, |r|): the patterns here change
 * entries by relative amounts of order 1. */
static const bpcheck_tolerance tol = {1e-9, 1e-6, 0, NULL, NULL, 0, 0};

/* 3-4-4-2, W^2 square; the reference in x.mat, a copy to corrupt in x.lit. */
static void
init(fixture *x, bpcheck_cost cost)
{
  static const size_t n[] = {3, 4, 4, 2};
  static const bpcheck_activation f[] = {
      [1] = BPCHECK_SIGMOID, BPCHECK_TANH, BPCHECK_SIGMOID};
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
  static const bpcheck_activation f[] = {[1] = BPCHECK_TANH, BPCHECK_IDENTITY};
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
  /* The fixture takes the mean over B = 3: 1/3 is a second division. */
  const char *text[] = {"the batch mean is taken twice", "applied twice",
                        "0.3 times the reference"};
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
  static const bpcheck_activation f[] = {[1] = BPCHECK_SIGMOID};
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

/* Errors in a hidden layer only: the layers after it are right. */
START_TEST(test_one_hidden_layer)
{
  fixture x;
  init(&x, BPCHECK_QUADRATIC);
  for (size_t i = 0; i < 12; i++) /* W^1 is 4 x 3 */
    x.lit->W[1].data[i] *= 1 + 0.1 * (double)i;
  bpcheck_diagnosis d = diagnose(&x);
  ck_assert_int_eq(d.bug, BPCHECK_BUG_ONE_LAYER);
  ck_assert_uint_eq(d.layer, 1);
  ck_assert_ptr_nonnull(strstr(d.text, "the layers after it are right"));
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

/* The diagnosis under the derived tolerance of a double implementation
 * (CD.10), as verify and run make it. */
static bpcheck_diagnosis
diagnose_derived(fixture *x)
{
  bpcheck_tolerance spec = {0, 0, 0, NULL, NULL, 1, BPCHECK_PRECISION_DOUBLE},
                    t;
  bpcheck_params *abs, *alt;
  bpcheck_diagnosis d;
  ck_assert_ok(bpcheck_tolerance_apply(x->net, x->batch, x->mat, &spec, &t,
                                       &abs, &alt));
  ck_assert_ok(bpcheck_diagnose(x->net, x->batch, x->mat, x->lit, &t, &d));
  bpcheck_params_free(abs);
  bpcheck_params_free(alt);
  return d;
}

/* A float32 answer checked at double precision: named as such. */
START_TEST(test_precision)
{
  fixture x;
  init(&x, BPCHECK_QUADRATIC);
  for (size_t i = 0; i < x.lit->size; i++)
    x.lit->data[i] = (float)x.mat->data[i] * (1.0f + (i % 3) * FLT_EPSILON);
  bpcheck_diagnosis d = diagnose_derived(&x);
  ck_assert_int_eq(d.bug, BPCHECK_BUG_PRECISION);
  ck_assert_ptr_nonnull(strstr(d.text, "--precision single"));
  fixture_free(&x);
}
END_TEST

/* An answer printed with 6 significant digits: named, with the --rtol
 * that accepts it. */
START_TEST(test_rounded)
{
  fixture x;
  init(&x, BPCHECK_QUADRATIC);
  char buf[32];
  for (size_t i = 0; i < x.lit->size; i++) {
    snprintf(buf, sizeof buf, "%.6g", x.mat->data[i]);
    x.lit->data[i] = strtod(buf, NULL);
  }
  bpcheck_diagnosis d = diagnose_derived(&x);
  ck_assert_int_eq(d.bug, BPCHECK_BUG_ROUNDED);
  ck_assert_ptr_nonnull(strstr(d.text, "6 significant digits"));
  ck_assert_ptr_nonnull(strstr(d.text, "--rtol 5e-06"));
  fixture_free(&x);
}
END_TEST

/* delta^L = a - y after a softmax, with targets that do not sum to 1 (or
 * with binary cross entropy). */
START_TEST(test_shortcut)
{
  static const size_t n[] = {3, 4, 3};
  static const bpcheck_activation f[] = {[1] = BPCHECK_TANH, BPCHECK_SOFTMAX};
  const bpcheck_cost costs[2] = {BPCHECK_CATEGORICAL_CROSS_ENTROPY,
                                 BPCHECK_CROSS_ENTROPY};
  for (int c = 0; c < 2; c++) {
    fixture x;
    fixture_init(&x, 2, n, f, costs[c], BPCHECK_MEAN, 3, test_seed(19));
    gsl_matrix_scale(x.batch->Y, 0.7); /* each sample's targets sum to 0.7 */
    ck_assert_ok(bpcheck_matrix_backprop(x.net, x.batch, x.mat, NULL, x.mw));
    ck_assert_ok(bpcheck_matrix_backprop_variant(
        x.net, x.batch, x.lit, NULL, x.mw, BPCHECK_VARIANT_SHORTCUT));
    bpcheck_diagnosis d = diagnose_derived(&x);
    ck_assert_int_eq(d.bug, BPCHECK_BUG_SHORTCUT);
    ck_assert_ptr_nonnull(strstr(d.text, c == 0 ? "(COST.6)" : "(COST.7)"));
    fixture_free(&x);
  }
}
END_TEST

/* One wrong entry is named, not taken for a bias bug or a layer. */
START_TEST(test_one_entry)
{
  fixture x;
  init(&x, BPCHECK_QUADRATIC);
  gsl_vector_set(&x.lit->b[2], 1, 2 * gsl_vector_get(&x.mat->b[2], 1) + 0.1);
  bpcheck_diagnosis d = diagnose_derived(&x);
  ck_assert_int_eq(d.bug, BPCHECK_BUG_ENTRY);
  ck_assert_ptr_nonnull(strstr(d.text, "only b^2_1"));
  fixture_free(&x);
}
END_TEST

/* At batch 1 a bias sign error is named, and no batch question asked. */
START_TEST(test_bias_sign_batch1)
{
  static const size_t n[] = {3, 4, 2};
  static const bpcheck_activation f[] = {[1] = BPCHECK_TANH, BPCHECK_IDENTITY};
  fixture x;
  fixture_init(&x, 2, n, f, BPCHECK_QUADRATIC, BPCHECK_MEAN, 1, test_seed(5));
  ck_assert_ok(bpcheck_matrix_backprop(x.net, x.batch, x.mat, NULL, x.mw));
  memcpy(x.lit->data, x.mat->data, x.mat->size * sizeof(double));
  gsl_vector_scale(&x.lit->b[1], -1);
  gsl_vector_scale(&x.lit->b[2], -1);
  bpcheck_diagnosis d = diagnose_derived(&x);
  ck_assert_int_eq(d.bug, BPCHECK_BUG_BIAS);
  ck_assert_ptr_nonnull(strstr(d.text, "wrong sign"));
  ck_assert_ptr_null(strstr(d.text, "batch"));
  gsl_vector_scale(&x.lit->b[1], -3); /* now 3 times the reference */
  gsl_vector_scale(&x.lit->b[2], -3);
  d = diagnose_derived(&x);
  ck_assert_int_eq(d.bug, BPCHECK_BUG_BIAS);
  ck_assert_ptr_nonnull(strstr(d.text, "3 times the reference"));
  ck_assert_ptr_null(strstr(d.text, "batch"));
  fixture_free(&x);
}
END_TEST

/* A one-layer network gets no sentence about layers after it; errors
 * below 1e-2 relative are called small. */
START_TEST(test_one_layer_network_and_small)
{
  static const size_t n[] = {3, 2};
  static const bpcheck_activation f[] = {[1] = BPCHECK_SIGMOID};
  fixture x;
  fixture_init(&x, 1, n, f, BPCHECK_QUADRATIC, BPCHECK_MEAN, 3, test_seed(6));
  ck_assert_ok(bpcheck_matrix_backprop(x.net, x.batch, x.mat, NULL, x.mw));
  for (size_t i = 0; i < x.lit->size; i++)
    x.lit->data[i] = x.mat->data[i] * (1 + 0.2 * (double)(i % 4));
  bpcheck_diagnosis d = diagnose_derived(&x);
  ck_assert_int_eq(d.bug, BPCHECK_BUG_ONE_LAYER);
  ck_assert_ptr_null(strstr(d.text, "after it"));
  for (size_t i = 0; i < x.lit->size; i++)
    x.lit->data[i] = x.mat->data[i] * (1 + 1e-4 * (double)(i % 4));
  d = diagnose_derived(&x);
  ck_assert_int_eq(d.bug, BPCHECK_BUG_SMALL);
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

/* Without f_L'(z^L) in the output delta (sigmoid output, quadratic cost):
 * the shrunk case is one node a layer at batch 1, where the bug is a
 * constant factor; the original is kept, names it, and is preferred. */
static int
candidate_without_df(const bpcheck_case *c, bpcheck_params *g, void *data)
{
  (void)data;
  bpcheck_literal_workspace *w; /* the bug zoo's no_output_derivative */
  ck_assert_ok(bpcheck_literal_alloc(&w, c->net));
  ck_assert_ok(bpcheck_literal_backprop_mutant(
      c->net, c->batch, g, NULL, w, BPCHECK_MUTANT_NO_OUTPUT_DERIVATIVE));
  bpcheck_literal_free(w);
  return BPCHECK_SUCCESS;
}

START_TEST(test_validate_original_preferred)
{
  bpcheck_space s;
  bpcheck_space_default(&s);
  s.output = 1u << BPCHECK_SIGMOID;
  s.costs = 1u << BPCHECK_QUADRATIC;
  s.min_width = 2; /* the original has layers of 2 nodes or more */
  const bpcheck_tolerance derived = {0, 0, 0, NULL, NULL, 1, 0};
  bpcheck_validation v;
  ck_assert_int_eq(bpcheck_validate(&s, 20, 1, &derived, candidate_without_df,
                                    NULL, NULL, &v),
                   BPCHECK_EMISMATCH);
  ck_assert_ptr_nonnull(v.original);
  ck_assert_ptr_ne(v.original, v.failure);
  ck_assert_uint_ge(v.original->net->n[0], 2);
  ck_assert_int_eq(v.original_diagnosis.bug, BPCHECK_BUG_OUTPUT_DERIVATIVE);
  ck_assert_uint_gt(v.original_report->n_fail, 0);
  ck_assert_ptr_nonnull(v.original->grad);
  ck_assert_msg(v.failure->net->L == 1 && v.failure->net->n[0] == 1 &&
                    v.failure->net->n[1] == 1 && v.failure->batch->B == 1,
                "shrunk to %zu layers, batch %zu", v.failure->net->L,
                v.failure->batch->B);
  ck_assert_int_eq(v.diagnosis.bug, BPCHECK_BUG_FACTOR);
  ck_assert(v.shrunk_ambiguous);
  ck_assert(v.likely_from_original);
  ck_assert_int_eq(v.likely.bug, BPCHECK_BUG_OUTPUT_DERIVATIVE);
  ck_assert_str_eq(v.failure_arch, v.arch);
  /* The experiments: the factor does not follow the batch, changes with
   * the input, and an identity output with a quadratic cost passes. */
  ck_assert_uint_eq(v.n_experiments, 3);
  ck_assert_int_eq(v.experiments[0].status, BPCHECK_EMISMATCH);
  ck_assert_ptr_nonnull(strstr(v.experiments[0].showed, "not the batch"));
  ck_assert_int_eq(v.experiments[1].status, BPCHECK_EMISMATCH);
  ck_assert_ptr_nonnull(
      strstr(v.experiments[1].showed, "changed with the input"));
  ck_assert_int_eq(v.experiments[2].status, BPCHECK_SUCCESS);
  bpcheck_validation_free(&v);
}
END_TEST

/* Shrinking makes the cost quadratic and the output the identity where the
 * failure (a sign flip) persists. */
START_TEST(test_validate_simplifies_functions)
{
  bpcheck_space s;
  bpcheck_space_default(&s);
  s.costs = 1u << BPCHECK_CROSS_ENTROPY;
  s.hidden = 1u << BPCHECK_TANH;
  bpcheck_validation v;
  behaviour b = SIGN_FLIP;
  ck_assert_int_eq(bpcheck_validate(&s, 5, 2, &tol, candidate, &b, NULL, &v),
                   BPCHECK_EMISMATCH);
  ck_assert_int_eq(v.original->net->cost, BPCHECK_CROSS_ENTROPY);
  ck_assert_int_eq(v.failure->net->cost, BPCHECK_QUADRATIC);
  for (size_t l = 1; l <= v.failure->net->L; l++)
    ck_assert_int_eq(v.failure->net->f[l], BPCHECK_IDENTITY);
  ck_assert_int_eq(v.likely.bug, BPCHECK_BUG_SIGN);
  ck_assert_int_eq(v.original_diagnosis.bug, BPCHECK_BUG_SIGN);
  ck_assert(!v.likely_from_original);
  ck_assert_uint_eq(v.n_experiments, 0); /* nothing to tell apart */
  bpcheck_validation_free(&v);
}
END_TEST

/* Wrong (a sign flip) at B = 4 only, declines networks of 3 layers or
 * more. */
typedef struct {
  size_t failures, skips, skipped_deep;
} counts;

static int
candidate_sometimes(const bpcheck_case *c, bpcheck_params *g, void *data)
{
  (void)data;
  if (c->net->L >= 3)
    return bpcheck_fail(BPCHECK_ESKIP, "three layers or more");
  behaviour b = c->batch->B == 4 ? SIGN_FLIP : RIGHT;
  return candidate(c, g, &b);
}

static int
candidate_skips_all(const bpcheck_case *c, bpcheck_params *g, void *data)
{
  (void)c, (void)g, (void)data;
  return bpcheck_fail(BPCHECK_ESKIP, "nothing supported");
}

static void
count_failure(const bpcheck_validation *f, void *data)
{
  counts *n = data;
  n->failures++;
  ck_assert_uint_eq(f->original->batch->B, 4);
  ck_assert_int_eq(f->likely.bug, BPCHECK_BUG_SIGN);
}

static void
count_skip(size_t trial, unsigned long seed, const char *arch,
           const char *reason, void *data)
{
  counts *n = data;
  (void)trial, (void)seed, (void)arch;
  n->skips++;
  ck_assert_str_eq(reason, "three layers or more");
}

START_TEST(test_validate_keep_going_and_skips)
{
  bpcheck_space s;
  bpcheck_space_default(&s);
  s.max_batch = 4;
  counts n = {0, 0, 0};
  bpcheck_validate_options o = {0, 0, 0, NULL, count_failure, count_skip};
  bpcheck_validation v;
  ck_assert_int_eq(
      bpcheck_validate_run(&s, 200, 1, &tol, candidate_sometimes, &n, &o, &v),
      BPCHECK_EMISMATCH);
  ck_assert_uint_eq(v.trials, 200);
  ck_assert_uint_eq(v.passed + v.failed + v.skipped, 200);
  ck_assert_uint_eq(v.failed, n.failures);
  ck_assert_uint_eq(v.skipped, n.skips);
  ck_assert_uint_gt(v.skipped, 0);
  /* B = 4 in about one of four answered cases */
  ck_assert_uint_gt(v.failed * 8, v.passed + v.failed);
  ck_assert_uint_lt(v.failed * 2, v.passed + v.failed);
  ck_assert_uint_eq(v.original->batch->B, 4); /* the first failure kept */
  size_t depths = 0;
  for (int L = 0; L <= 32; L++)
    depths += v.coverage.depth[L];
  ck_assert_uint_eq(depths, v.passed + v.failed);
  ck_assert_uint_eq(
      v.coverage.depth[3] + v.coverage.depth[4] + v.coverage.depth[5], 0);
  ck_assert_uint_gt(v.coverage.max_params, 0);
  ck_assert(v.worst_margin >= 0 && v.worst_margin <= 1); /* exact here */
  bpcheck_validation_free(&v);

  /* --max-failures 3 */
  o.max_failures = 3;
  ck_assert_int_eq(
      bpcheck_validate_run(&s, 200, 1, &tol, candidate_sometimes, &n, &o, &v),
      BPCHECK_EMISMATCH);
  ck_assert_uint_eq(v.failed, 3);
  ck_assert_uint_lt(v.trials, 200);
  bpcheck_validation_free(&v);

  /* Every case skipped: a success with nothing checked. */
  ck_assert_ok(bpcheck_validate_run(&s, 10, 1, &tol, candidate_skips_all, NULL,
                                    NULL, &v));
  ck_assert_uint_eq(v.skipped, 10);
  ck_assert_uint_eq(v.passed + v.failed, 0);
  ck_assert_ptr_null(v.failure);
  bpcheck_validation_free(&v);
}
END_TEST

/* The rest of the texts: 1/B under the sum, MSE's 1/n_L, a hidden layer
 * alone, the biases wrong by another factor at batch 1 and above. */
START_TEST(test_more_texts)
{
  static const size_t n[] = {3, 4, 4, 2};
  static const bpcheck_activation f[] = {
      [1] = BPCHECK_SIGMOID, BPCHECK_TANH, BPCHECK_SIGMOID};
  fixture x;
  fixture_init(&x, 3, n, f, BPCHECK_QUADRATIC, BPCHECK_SUM, 3, test_seed(5));
  ck_assert_ok(bpcheck_matrix_backprop(x.net, x.batch, x.mat, NULL, x.mw));
  memcpy(x.lit->data, x.mat->data, x.mat->size * sizeof(double));
  scale(x.lit, 1.0 / 3);
  bpcheck_diagnosis d = diagnose(&x);
  ck_assert_ptr_nonnull(
      strstr(d.text, "averaged where the cost takes the sum"));
  /* A hidden layer alone, by varying factors. */
  memcpy(x.lit->data, x.mat->data, x.mat->size * sizeof(double));
  for (size_t i = 0; i < 16; i++) /* W^2 is 4 x 4 */
    x.lit->W[2].data[i] *= 1 + 0.1 * (double)(i + 1);
  d = diagnose(&x);
  ck_assert_int_eq(d.bug, BPCHECK_BUG_ONE_LAYER);
  ck_assert_uint_eq(d.layer, 2);
  ck_assert_ptr_nonnull(strstr(d.text, "confined to layer 2"));
  /* The biases 1.5 times theirs, B = 3. */
  memcpy(x.lit->data, x.mat->data, x.mat->size * sizeof(double));
  for (size_t l = 1; l <= 3; l++)
    gsl_vector_scale(&x.lit->b[l], 1.5);
  d = diagnose(&x);
  ck_assert_int_eq(d.bug, BPCHECK_BUG_BIAS);
  ck_assert_ptr_nonnull(strstr(d.text, "is it reduced over the batch?"));
  fixture_free(&x);

  fixture_init(&x, 3, n, f, BPCHECK_MSE, BPCHECK_MEAN, 1, test_seed(6));
  ck_assert_ok(bpcheck_matrix_backprop(x.net, x.batch, x.mat, NULL, x.mw));
  memcpy(x.lit->data, x.mat->data, x.mat->size * sizeof(double));
  scale(x.lit, 2); /* n_L = 2: the 1/n_L missing */
  d = diagnose(&x);
  ck_assert_ptr_nonnull(strstr(d.text, "MSE's 1/n_L is missing"));
  /* The biases 1.5 times theirs at B = 1. */
  memcpy(x.lit->data, x.mat->data, x.mat->size * sizeof(double));
  for (size_t l = 1; l <= 3; l++)
    gsl_vector_scale(&x.lit->b[l], 1.5);
  d = diagnose(&x);
  ck_assert_int_eq(d.bug, BPCHECK_BUG_BIAS);
  ck_assert_ptr_nonnull(strstr(d.text, "1.5 times the reference"));
  fixture_free(&x);
}
END_TEST

/* Candidates whose factor depends on B, or that decline the variants: each
 * experiment's other outcomes. */
typedef enum {
  ODD_B_ONLY,   /* 3 r at odd B, r at even B */
  OVER_B,       /* 3 r / B */
  B_PLUS_2,     /* (B + 2) r */
  DECLINES,     /* 3 r; declines even B and an identity output with a
                   quadratic cost */
  BREAKS_LATER, /* -r at B = 4; fails as on_failure says */
  NO_QUADRATIC  /* 3 r; declines a quadratic cost after a non-identity
                   output */
} factor_kind;

typedef struct {
  factor_kind kind;
  int phase; /* BREAKS_LATER: 1, fail now; 2, fail after a wrong answer */
  int wrong;
} factor_data;

static int
candidate_factor(const bpcheck_case *c, bpcheck_params *g, void *data)
{
  factor_data *fd = data;
  const size_t B = c->batch->B;
  const bpcheck_net *net = c->net;
  if (fd->kind == BREAKS_LATER &&
      (fd->phase == 1 || (fd->phase == 2 && fd->wrong)))
    return bpcheck_fail(BPCHECK_ECANDIDATE, "it crashed");
  if (fd->kind == DECLINES &&
      (B % 2 == 0 ||
       (net->f[net->L] == BPCHECK_IDENTITY && net->cost == BPCHECK_QUADRATIC)))
    return bpcheck_fail(BPCHECK_ESKIP, "not supported");
  if (fd->kind == NO_QUADRATIC && net->cost == BPCHECK_QUADRATIC &&
      net->f[net->L] != BPCHECK_IDENTITY)
    return bpcheck_fail(BPCHECK_ESKIP, "not supported");
  behaviour right = RIGHT;
  candidate(c, g, &right);
  double k = 3;
  if (fd->kind == ODD_B_ONLY)
    k = B % 2 ? 3 : 1;
  else if (fd->kind == OVER_B)
    k = 3.0 / (double)B;
  else if (fd->kind == B_PLUS_2)
    k = (double)B + 2;
  else if (fd->kind == BREAKS_LATER)
    k = B == 4 ? -1 : 1;
  fd->wrong = k != 1;
  scale(g, k);
  return BPCHECK_SUCCESS;
}

START_TEST(test_validate_experiments)
{
  bpcheck_space s;
  bpcheck_space_default(&s);
  s.costs = 1u << BPCHECK_QUADRATIC;
  s.output = 1u << BPCHECK_SIGMOID;
  const struct {
    factor_kind kind;
    const char *batch; /* what the doubled batch showed */
  } cases[] = {{ODD_B_ONLY, "it passed"},
               {OVER_B, "halved"},
               {B_PLUS_2, "it failed, factor"},
               {DECLINES, "skipped"}};
  for (size_t i = 0; i < 4; i++) {
    factor_data fd = {cases[i].kind, 0, 0};
    bpcheck_validation v;
    ck_assert_int_eq(
        bpcheck_validate(&s, 20, 1, &tol, candidate_factor, &fd, NULL, &v),
        BPCHECK_EMISMATCH);
    ck_assert_uint_ge(v.n_experiments, 2);
    ck_assert_msg(strstr(v.experiments[0].showed, cases[i].batch), "%zu: %s",
                  i, v.experiments[0].showed);
    if (cases[i].kind == DECLINES) {
      ck_assert_msg(
          v.n_experiments == 3, "%zu experiments on %s", v.n_experiments,
          v.failure->net->f[v.failure->net->L] == BPCHECK_IDENTITY ? "identity"
                                                                   : "other");
      ck_assert_int_eq(v.experiments[2].status, BPCHECK_ESKIP);
    }
    bpcheck_validation_free(&v);
  }
  /* Cross entropy kept (the quadratic declined): an identity output with
   * a quadratic cost still fails. */
  s.costs = 1u << BPCHECK_CROSS_ENTROPY;
  factor_data fd = {NO_QUADRATIC, 0, 0};
  bpcheck_validation v;
  ck_assert_int_eq(
      bpcheck_validate(&s, 20, 1, &tol, candidate_factor, &fd, NULL, &v),
      BPCHECK_EMISMATCH);
  ck_assert_int_eq(v.failure->net->cost, BPCHECK_CROSS_ENTROPY);
  ck_assert_uint_eq(v.n_experiments, 3);
  ck_assert_ptr_nonnull(strstr(v.experiments[2].showed, "still failed"));
  bpcheck_validation_free(&v);
}
END_TEST

/* A candidate that fails after the first failure: on the next case (the
 * run stops with the failure kept), or while a later failure is shrunk. */
static void
break_next(const bpcheck_validation *f, void *data)
{
  factor_data *fd = data;
  (void)f;
  fd->phase = 1;
}

START_TEST(test_validate_breaks_after_failure)
{
  bpcheck_space s;
  bpcheck_space_default(&s);
  s.max_batch = 4;
  bpcheck_validate_options o = {0, 0, 0, NULL, break_next, NULL};
  /* phase 1: it fails on the next call, a case of the run. */
  factor_data fd = {BREAKS_LATER, 0, 0};
  bpcheck_validation v;
  ck_assert_int_eq(
      bpcheck_validate_run(&s, 200, 1, &tol, candidate_factor, &fd, &o, &v),
      BPCHECK_ECANDIDATE);
  ck_assert_uint_eq(v.failed, 1);
  ck_assert_ptr_nonnull(v.original);
  ck_assert_uint_eq(v.original->batch->B, 4);
  ck_assert_str_eq(bpcheck_errmsg(), "it crashed");
  bpcheck_validation_free(&v);
}
END_TEST

static void
break_while_shrinking(const bpcheck_validation *f, void *data)
{
  factor_data *fd = data;
  (void)f;
  fd->phase = 2;
  fd->wrong = 0;
}

START_TEST(test_validate_breaks_while_shrinking_later)
{
  bpcheck_space s;
  bpcheck_space_default(&s);
  s.max_batch = 4;
  bpcheck_validate_options o = {0, 0, 0, NULL, break_while_shrinking, NULL};
  factor_data fd = {BREAKS_LATER, 0, 0};
  bpcheck_validation v;
  ck_assert_int_eq(
      bpcheck_validate_run(&s, 200, 1, &tol, candidate_factor, &fd, &o, &v),
      BPCHECK_EMISMATCH);
  ck_assert_uint_eq(v.failed, 2);
  ck_assert_int_eq(v.shrink_status, BPCHECK_ECANDIDATE);
  ck_assert_str_eq(v.shrink_error, "it crashed");
  ck_assert_uint_lt(v.trials, 200);
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
  tcase_add_test(core, test_one_hidden_layer);
  tcase_add_test(core, test_precision);
  tcase_add_test(core, test_rounded);
  tcase_add_test(core, test_shortcut);
  tcase_add_test(core, test_one_entry);
  tcase_add_test(core, test_bias_sign_batch1);
  tcase_add_test(core, test_one_layer_network_and_small);
  tcase_add_test(core, test_unknown_and_none);
  tcase_add_test(core, test_validate_right);
  tcase_add_test(core, test_validate_shrinks);
  tcase_add_test(core, test_validate_candidate_fails);
  tcase_add_test(core, test_validate_fails_while_shrinking);
  tcase_add_test(core, test_validate_original_preferred);
  tcase_add_test(core, test_validate_simplifies_functions);
  tcase_add_test(core, test_validate_keep_going_and_skips);
  tcase_add_test(core, test_more_texts);
  tcase_add_test(core, test_validate_experiments);
  tcase_add_test(core, test_validate_breaks_after_failure);
  tcase_add_test(core, test_validate_breaks_while_shrinking_later);
  suite_add_tcase(s, core);
  return s;
}
