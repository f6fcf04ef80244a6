/* check_compare.c -- the checker rejects wrong gradients, and names the
 * entry: a true gradient (literal backprop) with one entry perturbed, its
 * sign flipped, or a factor of 2, is reported as a mismatch at the right
 * W^l_kj or b^l_k, against the matrix backprop and against central
 * differences alike. */

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "suites.h"
#include "testutil.h"

static const size_t n[] = {4, 6, 5, 3};
static const bpcheck_activation f[] = {
    [1] = BPCHECK_TANH, BPCHECK_SOFTPLUS, BPCHECK_SIGMOID};

/* 4-6-5-3 has 6*4 + 6 + 5*6 + 5 + 3*5 + 3 = 83 parameters. */
#define P 83

/* The kinds of wrong gradient, applied to entry i of g. */
enum { ONE_ENTRY, SIGN, FACTOR_2, N_BUGS };

static void
corrupt(bpcheck_params *g, int bug, size_t i)
{
  switch (bug) {
  case ONE_ENTRY: g->data[i] *= 1.0 + 1e-5; break; /* a small error */
  case SIGN: g->data[i] = -g->data[i]; break;
  default:
    for (size_t m = 0; m < g->size; m++) /* everything twice too large */
      g->data[m] *= 2;
  }
}

/* Sweeps the entry: every index of the block, each kind of bug. */
START_TEST(test_rejects_wrong_gradient)
{
  fixture x;
  fixture_init(&x, 3, n, f, BPCHECK_QUADRATIC, BPCHECK_MEAN, 3, 4);
  fixture_gradients(&x);
  ck_assert_uint_eq(x.lit->size, P);
  size_t i = (size_t)_i % P;
  int bug = _i / P;
  corrupt(x.lit, bug, i);

  size_t l, k, j;
  int is_bias;
  ck_assert_ok(bpcheck_params_entry(x.lit, i, &l, &is_bias, &k, &j));

  bpcheck_tolerance lm = {0, 0, 0, x.tol, NULL, 0, 0}; /* (CD.9) */
  ck_assert_int_eq(bpcheck_compare(x.mat, x.lit, &lm, x.report),
                   BPCHECK_EMISMATCH);
  if (bug != FACTOR_2) { /* one entry wrong: that entry is named */
    ck_assert_uint_eq(x.report->n_fail, 1);
    ck_assert_uint_eq(x.report->worst.index, i);
    ck_assert_uint_eq(x.report->worst.l, l);
    ck_assert_int_eq(x.report->worst.is_bias, is_bias);
    ck_assert_uint_eq(x.report->worst.k, k);
    if (!is_bias)
      ck_assert_uint_eq(x.report->worst.j, j);
    ck_assert_double_eq(x.report->worst.received, x.lit->data[i]);
    ck_assert_double_eq(x.report->worst.expected, x.mat->data[i]);
    bpcheck_block_report *br = is_bias ? &x.report->b[l] : &x.report->W[l];
    ck_assert_uint_eq(br->n_fail, 1);
    char name[64], msg[128];
    bpcheck_params_entry_name(x.lit, i, name, sizeof name);
    snprintf(msg, sizeof msg, "1 of %d entries differ; worst %s:", P, name);
    ck_assert_msg(strstr(bpcheck_errmsg(), msg), "errmsg '%s' lacks '%s'",
                  bpcheck_errmsg(), msg);
  }

  /* Central differences see a sign flip and a factor of 2 too; a relative
   * 1e-5 in one entry is below what they resolve for some entries, so it
   * is checked only where the estimate is finer than the error. */
  for (size_t m = 0; m < x.err->size; m++)
    x.err->data[m] *= BPCHECK_FD_SAFETY;
  bpcheck_tolerance fd = {0, 0, 0, x.err, NULL, 0, 0};
  double e = fabs(x.lit->data[i] - x.mat->data[i]);
  int visible = bug != ONE_ENTRY || e > x.err->data[i];
  int status = bpcheck_compare(x.fd, x.lit, &fd, x.report);
  if (visible && x.mat->data[i] != 0)
    ck_assert_int_eq(status, BPCHECK_EMISMATCH);
  if (bug != FACTOR_2 && visible && x.mat->data[i] != 0)
    ck_assert_uint_eq(x.report->worst.index, i);
  fixture_free(&x);
}
END_TEST

/* The relative 1e-5 error of a single entry is visible to central
 * differences for nearly every entry: their estimates are ~1e-9 relative. */
START_TEST(test_fdiff_resolution)
{
  fixture x;
  fixture_init(&x, 3, n, f, BPCHECK_QUADRATIC, BPCHECK_MEAN, 3, 4);
  fixture_gradients(&x);
  size_t fine = 0;
  for (size_t i = 0; i < x.err->size; i++)
    if (BPCHECK_FD_SAFETY * x.err->data[i] < 1e-5 * fabs(x.mat->data[i]))
      fine++;
  ck_assert_msg(fine >= x.err->size * 9 / 10, "only %zu of %zu entries", fine,
                x.err->size);
  fixture_free(&x);
}
END_TEST

/* Tolerances as documented: atol, rtol, btol and a per-entry allowance. */
START_TEST(test_tolerance_terms)
{
  static const size_t n1[] = {1, 2};
  bpcheck_params *r, *g, *a;
  bpcheck_report *rep;
  ck_assert_ok(bpcheck_params_alloc(&r, 1, n1));
  ck_assert_ok(bpcheck_params_alloc(&g, 1, n1));
  ck_assert_ok(bpcheck_params_alloc(&a, 1, n1));
  ck_assert_ok(bpcheck_report_alloc(&rep, 1));
  /* W^1 = {1, 100} (a 2 x 1 block), b^1 = {0, 0} */
  double rv[] = {1, 100, 0, 0}, gv[] = {1.5, 100, 0, 1e-3};
  memcpy(r->data, rv, sizeof rv);
  memcpy(g->data, gv, sizeof gv);
  bpcheck_tolerance t = {0, 0, 0, NULL, NULL, 0, 0};
  ck_assert_int_eq(bpcheck_compare(r, g, &t, rep), BPCHECK_EMISMATCH);
  ck_assert_uint_eq(rep->n_fail, 2);
  t.btol = 0.005; /* 0.5 of max |W| = 100 covers W^1_0; b^1 max is 0 */
  ck_assert_int_eq(bpcheck_compare(r, g, &t, rep), BPCHECK_EMISMATCH);
  ck_assert_uint_eq(rep->n_fail, 1);
  ck_assert_str_eq(rep->worst.is_bias ? "b" : "W", "b");
  ck_assert_uint_eq(rep->worst.k, 1);
  t.atol = 1e-3;
  ck_assert_ok(bpcheck_compare(r, g, &t, rep));
  t = (bpcheck_tolerance){0,    0.4, 0, NULL,
                          NULL, 0,   0}; /* 0.4 max(1, 1.5) = 0.6 */
  ck_assert_int_eq(bpcheck_compare(r, g, &t, rep), BPCHECK_EMISMATCH);
  ck_assert_uint_eq(rep->n_fail, 1); /* b^1_1: rtol 0.4 * 1e-3 < 1e-3 */
  a->data[3] = 1e-3;
  t.abs = a;
  ck_assert_ok(bpcheck_compare(r, g, &t, rep));
  /* Skipped (infinite allowance) is neither passed nor failed. */
  a->data[3] = INFINITY;
  ck_assert_ok(bpcheck_compare(r, g, &t, rep));
  ck_assert_uint_eq(rep->n_skipped, 1);
  ck_assert_uint_eq(rep->b[1].n_skipped, 1);
  /* A NaN never passes, whatever the tolerance. */
  g->data[0] = NAN;
  t = (bpcheck_tolerance){1e9, 1e9, 1e9, NULL, NULL, 0, 0};
  ck_assert_int_eq(bpcheck_compare(r, g, &t, rep), BPCHECK_EMISMATCH);
  ck_assert_uint_eq(rep->worst.index, 0);
  ck_assert(isinf(rep->max_ratio));
  bpcheck_params_free(r);
  bpcheck_params_free(g);
  bpcheck_params_free(a);
  bpcheck_report_free(rep);
}
END_TEST

START_TEST(test_compare_errors)
{
  static const size_t n1[] = {1, 2}, n2[] = {2, 2};
  bpcheck_params *r, *g;
  bpcheck_report *rep, *rep2;
  ck_assert_ok(bpcheck_params_alloc(&r, 1, n1));
  ck_assert_ok(bpcheck_params_alloc(&g, 1, n2));
  ck_assert_ok(bpcheck_report_alloc(&rep, 1));
  bpcheck_tolerance t = {0, 0, 0, NULL, NULL, 0, 0};
  ck_assert_int_eq(bpcheck_compare(r, g, &t, rep), BPCHECK_EBADLEN);
  ck_assert_int_eq(
      bpcheck_compare(r, r, &(bpcheck_tolerance){-1, 0, 0, NULL, NULL, 0, 0},
                      rep),
      BPCHECK_EINVAL);
  t.abs = g;
  ck_assert_int_eq(bpcheck_compare(r, r, &t, rep), BPCHECK_EBADLEN);
  ck_assert_int_eq(bpcheck_report_alloc(&rep2, 0), BPCHECK_EINVAL);
  ck_assert_ok(bpcheck_report_alloc(&rep2, 2));
  t.abs = NULL;
  ck_assert_int_eq(bpcheck_compare(r, r, &t, rep2), BPCHECK_EBADLEN);
  bpcheck_params_free(r);
  bpcheck_params_free(g);
  bpcheck_report_free(rep);
  bpcheck_report_free(rep2);
  gsl_guard_check();
}
END_TEST

Suite *
make_compare_suite(void)
{
  Suite *s = suite_create("compare");
  TCase *core = tcase_create("Core");
  tcase_set_timeout(core, TEST_TIMEOUT);
  tcase_add_loop_test(core, test_rejects_wrong_gradient, 0, P * N_BUGS);
  tcase_add_test(core, test_fdiff_resolution);
  tcase_add_test(core, test_tolerance_terms);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("Errors");
  tcase_set_timeout(errors, TEST_TIMEOUT);
  tcase_add_checked_fixture(errors, gsl_guard_setup, gsl_guard_teardown);
  tcase_add_test(errors, test_compare_errors);
  suite_add_tcase(s, errors);
  return s;
}
