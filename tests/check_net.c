/* check_net.c -- the parameter block and its views, the network, batches,
 * the gradient-descent step, and every error path of their allocation. */

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "suites.h"
#include "testutil.h"

static const size_t n342[] = {3, 4, 2};
static const bpcheck_activation sig2[] = {[1] = BPCHECK_SIGMOID,
                                          BPCHECK_SIGMOID};

/* W^1 (4 x 3) at 0..11, b^1 at 12..15, W^2 (2 x 4) at 16..23, b^2 at 24..25,
 * and the views are the same memory as the flat block. */
START_TEST(test_layout)
{
  bpcheck_params *p;
  ck_assert_ok(bpcheck_params_alloc(&p, 2, n342));
  ck_assert_uint_eq(p->size, 26);
  for (size_t i = 0; i < p->size; i++)
    p->data[i] = (double)i;
  ck_assert_double_eq(gsl_matrix_get(&p->W[1], 0, 0), 0);
  ck_assert_double_eq(gsl_matrix_get(&p->W[1], 3, 2), 11);
  ck_assert_double_eq(gsl_vector_get(&p->b[1], 0), 12);
  ck_assert_double_eq(gsl_matrix_get(&p->W[2], 1, 3), 23);
  ck_assert_double_eq(gsl_vector_get(&p->b[2], 1), 25);
  ck_assert_uint_eq(p->W[2].size1, 2);
  ck_assert_uint_eq(p->W[2].size2, 4);
  gsl_matrix_set(&p->W[2], 0, 1, -1.0);
  ck_assert_double_eq(p->data[17], -1.0);

  char name[32];
  bpcheck_params_entry_name(p, 23, name, sizeof name);
  ck_assert_str_eq(name, "W^2_1,3");
  bpcheck_params_entry_name(p, 13, name, sizeof name);
  ck_assert_str_eq(name, "b^1_1");
  bpcheck_params_entry_name(p, 99, name, sizeof name);
  ck_assert_str_eq(name, "(index 99)");
  bpcheck_params_free(p);
}
END_TEST

/* index -> (l, k, j) -> index is the identity over every entry. */
START_TEST(test_entry_round_trip)
{
  static const size_t n[] = {5, 1, 7, 3};
  bpcheck_params *p;
  ck_assert_ok(bpcheck_params_alloc(&p, 3, n));
  for (size_t i = 0; i < p->size; i++) {
    size_t l, k, j;
    int bias;
    ck_assert_ok(bpcheck_params_entry(p, i, &l, &bias, &k, &j));
    ck_assert_uint_eq(bias ? bpcheck_params_index_b(p, l, k)
                           : bpcheck_params_index_W(p, l, k, j),
                      i);
  }
  bpcheck_params_free(p);
}
END_TEST

/* (FC.8) theta <- theta - eta nabla, entry by entry. */
START_TEST(test_step_formula)
{
  fixture x;
  fixture_init(&x, 2, n342, sig2, BPCHECK_QUADRATIC, BPCHECK_MEAN, 3, 7);
  double before[26];
  memcpy(before, x.net->theta->data, sizeof before);
  for (size_t i = 0; i < 26; i++)
    x.mat->data[i] = (double)i - 12.5;
  ck_assert_ok(bpcheck_net_step(x.net, x.mat, 0.125));
  for (size_t i = 0; i < 26; i++)
    ck_assert_double_eq(x.net->theta->data[i],
                        before[i] - 0.125 * x.mat->data[i]);
  fixture_free(&x);
}
END_TEST

/* A step of small eta lowers the cost, by eta |g|^2 to first order: the
 * decrease must match within 1% for eta = 1e-3 / |g|^2 ... the second-order
 * term is eta^2 g^T H g / 2, of relative size eta |H| ~ 1e-3. */
START_TEST(test_step_lowers_cost)
{
  static const size_t n[] = {4, 6, 5, 3};
  const bpcheck_activation f[][4] = {
      {[1] = BPCHECK_TANH, BPCHECK_SIGMOID, BPCHECK_SIGMOID},
      {[1] = BPCHECK_RELU, BPCHECK_SOFTPLUS, BPCHECK_IDENTITY},
      {[1] = BPCHECK_SIGMOID, BPCHECK_TANH, BPCHECK_SOFTMAX}};
  const bpcheck_cost costs[] = {BPCHECK_CROSS_ENTROPY, BPCHECK_MSE,
                                BPCHECK_CATEGORICAL_CROSS_ENTROPY};
  fixture x;
  fixture_init(&x, 3, n, f[_i], costs[_i], BPCHECK_MEAN, 5,
               test_seed(11 + (unsigned long)_i));
  double C0, C1, g2 = 0;
  ck_assert_ok(bpcheck_matrix_backprop(x.net, x.batch, x.mat, &C0, x.mw));
  for (size_t i = 0; i < x.mat->size; i++)
    g2 += x.mat->data[i] * x.mat->data[i];
  ck_assert(g2 > 0);
  double eta = 1e-3 / fmax(1.0, g2);
  ck_assert_ok(bpcheck_net_step(x.net, x.mat, eta));
  ck_assert_ok(bpcheck_matrix_cost(x.net, x.batch, &C1, x.mw));
  ck_assert_msg(C1 < C0, "cost rose from %.17g to %.17g", C0, C1);
  ck_assert_double_eq_tol((C0 - C1) / (eta * g2), 1.0, 0.01);
  fixture_free(&x);
}
END_TEST

START_TEST(test_describe)
{
  fixture x;
  const bpcheck_activation f[] = {[1] = BPCHECK_TANH, BPCHECK_SOFTMAX};
  fixture_init(&x, 2, n342, f, BPCHECK_CATEGORICAL_CROSS_ENTROPY, BPCHECK_SUM,
               1, 1);
  char buf[128];
  bpcheck_net_describe(x.net, buf, sizeof buf);
  ck_assert_str_eq(buf, "3-4-2 tanh,softmax categorical_cross_entropy sum");
  bpcheck_net_describe(x.net, buf, 6); /* truncated, still a string */
  ck_assert_str_eq(buf, "3-4-2");
  fixture_free(&x);
  fixture_init(&x, 2, n342, sig2, BPCHECK_QUADRATIC, BPCHECK_MEAN, 1, 1);
  bpcheck_net_describe(x.net, buf, sizeof buf);
  ck_assert_str_eq(buf, "3-4-2 sigmoid quadratic mean");
  fixture_free(&x);
}
END_TEST

/* Random targets lie in the cost's domain. */
START_TEST(test_random_targets)
{
  fixture x;
  const bpcheck_activation f[] = {[1] = BPCHECK_RELU, BPCHECK_SOFTMAX};
  fixture_init(&x, 2, n342, f, BPCHECK_CATEGORICAL_CROSS_ENTROPY, BPCHECK_MEAN,
               6, 3);
  for (size_t s = 0; s < 6; s++) {
    double sum = 0;
    for (size_t k = 0; k < 2; k++) {
      double y = gsl_matrix_get(x.batch->Y, k, s);
      ck_assert(y >= 0 && y <= 1);
      sum += y;
    }
    ck_assert_double_eq_tol(sum, 1.0, 4 * DBL_EPSILON);
  }
  ck_assert_ok(bpcheck_batch_validate(x.net, x.batch));
  fixture_free(&x);
}
END_TEST

/* Errors ------------------------------------------------------------------ */

START_TEST(test_bad_sizes)
{
  bpcheck_params *p = NULL;
  static const size_t zero[] = {3, 0, 2};
  ck_assert_int_eq(bpcheck_params_alloc(&p, 0, n342), BPCHECK_EINVAL);
  ck_assert_int_eq(bpcheck_params_alloc(&p, 2, zero), BPCHECK_EINVAL);
  ck_assert_str_eq(bpcheck_errmsg(), "layer 1 has 0 nodes");
  ck_assert_int_eq(bpcheck_params_alloc(&p, 2, NULL), BPCHECK_EINVAL);
  /* Byte counts that overflow size_t, or pass the parameter limit. */
  const size_t huge[] = {SIZE_MAX, SIZE_MAX};
  const size_t big[] = {(size_t)1 << 31, 2};
  const size_t many[] = {65536, 65536};
  ck_assert_int_eq(bpcheck_params_alloc(&p, 1, huge), BPCHECK_ETOOBIG);
  ck_assert_int_eq(bpcheck_params_alloc(&p, 1, big), BPCHECK_ETOOBIG);
  ck_assert_int_eq(bpcheck_params_alloc(&p, 1, many), BPCHECK_ETOOBIG);
  ck_assert_int_eq(bpcheck_params_alloc(&p, BPCHECK_MAX_LAYERS + 1, n342),
                   BPCHECK_ETOOBIG);
  ck_assert_ptr_null(p);
  gsl_guard_check();
}
END_TEST

START_TEST(test_bad_arch)
{
  bpcheck_net *net = NULL;
  const bpcheck_activation soft_hidden[] = {[1] = BPCHECK_SOFTMAX,
                                            BPCHECK_SIGMOID};
  const bpcheck_activation tanh_out[] = {[1] = BPCHECK_SIGMOID, BPCHECK_TANH};
  const bpcheck_activation bogus[] = {[1] = (bpcheck_activation)17,
                                      BPCHECK_SIGMOID};
  bpcheck_arch a = {2, n342, soft_hidden, BPCHECK_QUADRATIC, BPCHECK_MEAN};
  ck_assert_int_eq(bpcheck_net_alloc(&net, &a), BPCHECK_EINVAL);
  ck_assert_ptr_nonnull(strstr(bpcheck_errmsg(), "softmax"));
  a.f = sig2;
  a.cost = BPCHECK_CATEGORICAL_CROSS_ENTROPY;
  ck_assert_int_eq(bpcheck_net_alloc(&net, &a), BPCHECK_EINVAL);
  ck_assert_ptr_nonnull(strstr(bpcheck_errmsg(), "needs a softmax"));
  a.f = tanh_out;
  a.cost = BPCHECK_CROSS_ENTROPY;
  ck_assert_int_eq(bpcheck_net_alloc(&net, &a), BPCHECK_EINVAL);
  a.f = bogus;
  a.cost = BPCHECK_QUADRATIC;
  ck_assert_int_eq(bpcheck_net_alloc(&net, &a), BPCHECK_EINVAL);
  a.f = NULL;
  ck_assert_int_eq(bpcheck_net_alloc(&net, &a), BPCHECK_EINVAL);
  a.f = sig2;
  a.cost = (bpcheck_cost)9;
  ck_assert_int_eq(bpcheck_net_alloc(&net, &a), BPCHECK_EINVAL);
  a.cost = BPCHECK_QUADRATIC;
  a.reduction = (bpcheck_reduction)9;
  ck_assert_int_eq(bpcheck_net_alloc(&net, &a), BPCHECK_EINVAL);
  ck_assert_ptr_null(net);
  gsl_guard_check();
}
END_TEST

START_TEST(test_bad_batch)
{
  bpcheck_batch *bad = NULL;
  ck_assert_int_eq(bpcheck_batch_alloc(&bad, 3, 2, 0), BPCHECK_EINVAL);
  ck_assert_int_eq(bpcheck_batch_alloc(&bad, 0, 2, 1), BPCHECK_EINVAL);
  ck_assert_int_eq(bpcheck_batch_alloc(&bad, SIZE_MAX / 2, 2, 4),
                   BPCHECK_ETOOBIG);
  ck_assert_ptr_null(bad);

  fixture x;
  const bpcheck_activation f[] = {[1] = BPCHECK_TANH, BPCHECK_SIGMOID};
  fixture_init(&x, 2, n342, f, BPCHECK_CROSS_ENTROPY, BPCHECK_MEAN, 2, 5);
  ck_assert_ok(bpcheck_batch_alloc(&bad, 4, 2, 2)); /* n_0 = 4, not 3 */
  ck_assert_int_eq(bpcheck_batch_validate(x.net, bad), BPCHECK_EBADLEN);
  ck_assert_int_eq(bpcheck_batch_init_random(bad, x.net, x.rng),
                   BPCHECK_EBADLEN);
  bpcheck_batch_free(bad);
  ck_assert_ok(bpcheck_batch_alloc(&bad, 3, 1, 2)); /* n_L = 1, not 2 */
  ck_assert_int_eq(bpcheck_batch_validate(x.net, bad), BPCHECK_EBADLEN);
  bpcheck_batch_free(bad);

  gsl_matrix_set(x.batch->Y, 1, 1, 1.5); /* outside [0,1] */
  ck_assert_int_eq(bpcheck_batch_validate(x.net, x.batch), BPCHECK_EDOM);
  ck_assert_ptr_nonnull(strstr(bpcheck_errmsg(), "y[1] of sample 1"));
  gsl_matrix_set(x.batch->Y, 1, 1, 0.5);
  gsl_matrix_set(x.batch->X, 2, 0, NAN);
  ck_assert_int_eq(bpcheck_batch_validate(x.net, x.batch), BPCHECK_EDOM);
  ck_assert_int_eq(bpcheck_literal_backprop(x.net, x.batch, x.lit, NULL, x.lw),
                   BPCHECK_EDOM);
  fixture_free(&x);
  gsl_guard_check();
}
END_TEST

START_TEST(test_bad_step)
{
  fixture x;
  fixture_init(&x, 2, n342, sig2, BPCHECK_QUADRATIC, BPCHECK_MEAN, 2, 5);
  bpcheck_params *other;
  static const size_t n[] = {3, 5, 2};
  ck_assert_ok(bpcheck_params_alloc(&other, 2, n));
  ck_assert_int_eq(bpcheck_net_step(x.net, other, 0.1), BPCHECK_EBADLEN);
  ck_assert_str_eq(bpcheck_errmsg(),
                   "layer 1 has 5 nodes where 4 are expected");
  ck_assert_int_eq(bpcheck_net_step(x.net, x.mat, NAN), BPCHECK_EDOM);
  bpcheck_params_free(other);
  fixture_free(&x);
  gsl_guard_check();
}
END_TEST

Suite *
make_net_suite(void)
{
  Suite *s = suite_create("net");
  TCase *core = tcase_create("Core");
  tcase_set_timeout(core, TEST_TIMEOUT);
  tcase_add_test(core, test_layout);
  tcase_add_test(core, test_entry_round_trip);
  tcase_add_test(core, test_step_formula);
  tcase_add_loop_test(core, test_step_lowers_cost, 0, 3);
  tcase_add_test(core, test_describe);
  tcase_add_test(core, test_random_targets);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("Errors");
  tcase_set_timeout(errors, TEST_TIMEOUT);
  tcase_add_checked_fixture(errors, gsl_guard_setup, gsl_guard_teardown);
  tcase_add_test(errors, test_bad_sizes);
  tcase_add_test(errors, test_bad_arch);
  tcase_add_test(errors, test_bad_batch);
  tcase_add_test(errors, test_bad_step);
  suite_add_tcase(s, errors);
  return s;
}
