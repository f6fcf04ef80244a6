/* check_fastfd.c -- the fast central differences, per entry and through
 * the nodes' tables (CD.12), equal the naive ones: all estimate the same
 * derivative, so they differ by at most the sum of their error estimates,
 * entry by entry; per entry they flag the same relu kinks; and both fast
 * ones confirm both backprops and reject a wrong gradient. */

#include <math.h>

#include "suites.h"
#include "testutil.h"

typedef struct {
  size_t L, n[5], B;
  bpcheck_activation f[5]; /* f[1..L] */
  bpcheck_cost cost;
  bpcheck_reduction red;
} arch;

/* Every layer position of a perturbation (output, last hidden, deeper),
 * softmax outputs, relu kinks, batch 1 and batches larger than a chunk. */
static const arch archs[] = {
    {1, {3, 2}, 4, {[1] = BPCHECK_SIGMOID}, BPCHECK_QUADRATIC, BPCHECK_MEAN},
    {2,
     {4, 5, 3},
     3,
     {[1] = BPCHECK_TANH, BPCHECK_SOFTMAX},
     BPCHECK_CATEGORICAL_CROSS_ENTROPY,
     BPCHECK_SUM},
    {3,
     {3, 6, 4, 2},
     5,
     {[1] = BPCHECK_RELU, BPCHECK_SOFTPLUS, BPCHECK_SIGMOID},
     BPCHECK_CROSS_ENTROPY,
     BPCHECK_MEAN},
    {4,
     {2, 7, 5, 6, 3},
     1,
     {[1] = BPCHECK_SIGMOID, BPCHECK_RELU, BPCHECK_TANH, BPCHECK_IDENTITY},
     BPCHECK_MSE,
     BPCHECK_SUM},
    {3,
     {5, 9, 8, 4},
     300,
     {[1] = BPCHECK_TANH, BPCHECK_TANH, BPCHECK_SOFTMAX},
     BPCHECK_QUADRATIC,
     BPCHECK_MEAN},
};

/* Arch i's fast check, per entry (nodes = 0) or through the nodes' tables
 * (CD.12), against the naive one. */
static void
fast_vs_naive(int _i, int nodes)
{
  const arch *a = &archs[_i];
  unsigned long seed = test_seed(40 + (unsigned long)_i);
  fixture x;
  fixture_init(&x, a->L, a->n, a->f, a->cost, a->red, a->B, seed);
  bpcheck_fastfd_workspace *w;
  bpcheck_params *g, *err;
  ck_assert_ok(bpcheck_fastfd_alloc(&w, x.net, a->B));
  ck_assert_ok(bpcheck_params_alloc(&g, a->L, a->n));
  ck_assert_ok(bpcheck_params_alloc(&err, a->L, a->n));
  fixture_gradients(&x); /* lit, mat; naive fd, err */
  if (nodes)
    ck_assert_ok(bpcheck_fastfd_nodes(x.net, x.batch, g, err, w));
  else
    ck_assert_ok(bpcheck_fastfd_gradient(x.net, x.batch, g, err, w));

  size_t compared = 0;
  for (size_t i = 0; i < g->size; i++) {
    char name[64];
    bpcheck_params_entry_name(g, i, name, sizeof name);
    /* Per entry, the steps are the naive check's, and so are the kinks
     * they cross; a node's step is another, and crosses others. */
    ck_assert_msg(nodes || isinf(err->data[i]) == isinf(x.err->data[i]),
                  "seed %lu arch %d %s: kink flagged by one check only", seed,
                  _i, name);
    if (isinf(err->data[i]) || isinf(x.err->data[i]))
      continue;
    compared++;
    double d = fabs(g->data[i] - x.fd->data[i]);
    ck_assert_msg(d <= err->data[i] + x.err->data[i],
                  "seed %lu arch %d %s: fast %.17g, naive %.17g, estimates "
                  "%.3g + %.3g",
                  seed, _i, name, g->data[i], x.fd->data[i], err->data[i],
                  x.err->data[i]);
  }
  if (!nodes)
    ck_assert_uint_eq(bpcheck_fastfd_kinks(w), bpcheck_fdiff_kinks(x.fw));
  ck_assert_msg(compared >= g->size / 2,
                "seed %lu arch %d: %zu of %zu compared", seed, _i, compared,
                g->size);

  /* The fast check confirms both backprops ... */
  for (size_t i = 0; i < err->size; i++)
    err->data[i] *= BPCHECK_FD_SAFETY;
  bpcheck_tolerance tol = {0, 0, 0, err, NULL, 0, 0};
  ck_assert_ok(bpcheck_compare(g, x.lit, &tol, x.report));
  ck_assert_ok(bpcheck_compare(g, x.mat, &tol, x.report));
  /* ... and rejects a gradient with one sign flipped, naming the entry. */
  size_t i = g->size / 2;
  if (!isinf(err->data[i]) && x.lit->data[i] != 0) {
    x.lit->data[i] = -x.lit->data[i];
    ck_assert_int_eq(bpcheck_compare(g, x.lit, &tol, x.report),
                     BPCHECK_EMISMATCH);
    ck_assert_uint_eq(x.report->worst.index, i);
  }
  bpcheck_params_free(g);
  bpcheck_params_free(err);
  bpcheck_fastfd_free(w);
  fixture_free(&x);
}

START_TEST(test_fast_equals_naive)
{
  fast_vs_naive(_i, 0);
}
END_TEST

START_TEST(test_nodes_equal_naive)
{
  fast_vs_naive(_i, 1);
}
END_TEST

START_TEST(test_fastfd_errors)
{
  static const size_t n[] = {3, 4, 2}, other[] = {3, 5, 2};
  static const bpcheck_activation f[] = {[1] = BPCHECK_TANH, BPCHECK_SIGMOID};
  fixture x;
  fixture_init(&x, 2, n, f, BPCHECK_QUADRATIC, BPCHECK_MEAN, 2, 1);
  bpcheck_fastfd_workspace *w;
  bpcheck_params *p;
  bpcheck_batch *b3;
  ck_assert_ok(bpcheck_fastfd_alloc(&w, x.net, 2));
  ck_assert_ok(bpcheck_params_alloc(&p, 2, other));
  ck_assert_ok(bpcheck_batch_alloc(&b3, 3, 2, 3));
  ck_assert_int_eq(bpcheck_fastfd_gradient(x.net, x.batch, p, NULL, w),
                   BPCHECK_EBADLEN);
  ck_assert_int_eq(bpcheck_fastfd_gradient(x.net, x.batch, x.fd, p, w),
                   BPCHECK_EBADLEN);
  ck_assert_int_eq(bpcheck_fastfd_gradient(x.net, b3, x.fd, NULL, w),
                   BPCHECK_EBADLEN);
  ck_assert_int_eq(bpcheck_fastfd_nodes(x.net, x.batch, p, NULL, w),
                   BPCHECK_EBADLEN);
  ck_assert_int_eq(bpcheck_fastfd_nodes(x.net, b3, x.fd, NULL, w),
                   BPCHECK_EBADLEN);
  ck_assert_int_eq(bpcheck_fastfd_alloc(&w, x.net, 0), BPCHECK_EINVAL);
  bpcheck_batch_free(b3);
  bpcheck_params_free(p);
  bpcheck_fastfd_free(w);
  fixture_free(&x);
  gsl_guard_check();
}
END_TEST

Suite *
make_fastfd_suite(void)
{
  Suite *s = suite_create("fastfd");
  TCase *core = tcase_create("Core");
  tcase_set_timeout(core, TEST_TIMEOUT);
  tcase_add_loop_test(core, test_fast_equals_naive, 0,
                      (int)(sizeof archs / sizeof archs[0]));
  tcase_add_loop_test(core, test_nodes_equal_naive, 0,
                      (int)(sizeof archs / sizeof archs[0]));
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("Errors");
  tcase_set_timeout(errors, TEST_TIMEOUT);
  tcase_add_checked_fixture(errors, gsl_guard_setup, gsl_guard_teardown);
  tcase_add_test(errors, test_fastfd_errors);
  suite_add_tcase(s, errors);
  return s;
}
