/* check_backprop.c -- literal vs matrix vs central differences for every
 * combination of hidden activation, output activation, cost and reduction
 * that the contract allows, on a fixed 3-5-4-3 network; and determinism.
 *
 * Tolerances (lib/bpcheck.h, proofs/06-central-differences.md):
 * literal vs matrix within twice the rounding bound of each entry (CD.9);
 * each vs central differences within BPCHECK_FD_SAFETY times the estimate
 * of each entry (CD.7). */

#include <math.h>
#include <string.h>

#include "suites.h"
#include "testutil.h"

typedef struct {
  bpcheck_activation hidden, output;
  bpcheck_cost cost;
  bpcheck_reduction reduction;
} combo;

static combo combos[BPCHECK_N_ACTIVATIONS * BPCHECK_N_ACTIVATIONS *
                    BPCHECK_N_COSTS * BPCHECK_N_REDUCTIONS];
static int n_combos;

/* The valid combinations, as bpcheck_arch_validate decides them. */
static void
enumerate_combos(void)
{
  static const size_t n[] = {3, 5, 4, 3};
  n_combos = 0;
  for (int h = 0; h < BPCHECK_N_ACTIVATIONS; h++)
    for (int o = 0; o < BPCHECK_N_ACTIVATIONS; o++)
      for (int c = 0; c < BPCHECK_N_COSTS; c++)
        for (int r = 0; r < BPCHECK_N_REDUCTIONS; r++) {
          bpcheck_activation f[] = {[1] = h, h, o};
          bpcheck_arch a = {3, n, f, c, r};
          if (bpcheck_arch_validate(&a) == BPCHECK_SUCCESS)
            combos[n_combos++] = (combo){h, o, c, r};
        }
}

static void
init_combo(fixture *x, int i, unsigned long seed)
{
  static const size_t n[] = {3, 5, 4, 3};
  const combo *c = &combos[i];
  bpcheck_activation f[] = {[1] = c->hidden, c->hidden, c->output};
  fixture_init(x, 3, n, f, c->cost, c->reduction, 4, seed);
}

/* |g|_1 of the matrix gradient. */
static double
norm1(const bpcheck_params *g)
{
  double norm = 0;
  for (size_t i = 0; i < g->size; i++)
    norm += fabs(g->data[i]);
  return norm;
}

START_TEST(test_combination)
{
  fixture x;
  unsigned long seed = test_seed(1000 + (unsigned long)_i);
  init_combo(&x, _i, seed);
  /* A relu output layer can be dead for the whole batch: the gradient is 0
   * and the comparisons would be vacuous; the next seeds are tried. */
  for (int tries = 0; tries < 20; tries++) {
    ck_assert_ok(bpcheck_matrix_backprop(x.net, x.batch, x.mat, NULL, x.mw));
    if (norm1(x.mat) > 0)
      break;
    fixture_free(&x);
    init_combo(&x, _i, ++seed);
  }
  char desc[128];
  bpcheck_net_describe(x.net, desc, sizeof desc);
  fixture_gradients(&x);

  bpcheck_tolerance lm = {0, 0, 0, x.tol, NULL, 0, 0};
  int status = bpcheck_compare(x.mat, x.lit, &lm, x.report);
  ck_assert_msg(
      status == BPCHECK_SUCCESS,
      "seed %lu, %s: literal vs matrix: error %.3g, %.3g times twice "
      "the rounding bound, at index %zu",
      seed, desc, x.report->worst.abserr, x.report->max_ratio,
      x.report->worst.index);

  for (size_t i = 0; i < x.err->size; i++)
    x.err->data[i] *= BPCHECK_FD_SAFETY;
  bpcheck_tolerance fd = {0, 0, 0, x.err, NULL, 0, 0};
  const bpcheck_params *bp[] = {x.lit, x.mat};
  for (int m = 0; m < 2; m++) {
    status = bpcheck_compare(x.fd, bp[m], &fd, x.report);
    ck_assert_msg(status == BPCHECK_SUCCESS,
                  "seed %lu, %s: %s vs central differences at index %zu: "
                  "expected %.17g, got %.17g, tolerance %.3g",
                  seed, desc, m ? "matrix" : "literal", x.report->worst.index,
                  x.report->worst.expected, x.report->worst.received,
                  x.report->worst.tol);
  }
  /* Not vacuous: the gradient is not zero and most entries were checked. */
  ck_assert(x.report->n_skipped < x.err->size / 2);
  ck_assert(norm1(x.mat) > 0);
  fixture_free(&x);
}
END_TEST

/* Each backprop run twice on the same input gives bit-identical results,
 * and so does the cost it returns. */
START_TEST(test_deterministic)
{
  fixture x;
  init_combo(&x, _i, 77);
  bpcheck_params *again;
  double C1, C2;
  ck_assert_ok(bpcheck_params_alloc(&again, x.net->L, x.net->n));
  size_t bytes = x.lit->size * sizeof(double);

  ck_assert_ok(bpcheck_literal_backprop(x.net, x.batch, x.lit, &C1, x.lw));
  ck_assert_ok(bpcheck_literal_backprop(x.net, x.batch, again, &C2, x.lw));
  ck_assert_int_eq(memcmp(x.lit->data, again->data, bytes), 0);
  ck_assert(C1 == C2);
  ck_assert_ok(bpcheck_matrix_backprop(x.net, x.batch, x.mat, &C1, x.mw));
  ck_assert_ok(bpcheck_matrix_backprop(x.net, x.batch, again, &C2, x.mw));
  ck_assert_int_eq(memcmp(x.mat->data, again->data, bytes), 0);
  ck_assert(C1 == C2);
  /* The oracles too: central differences (naive and fast), complex step. */
  ck_assert_ok(bpcheck_fdiff_gradient(x.net, x.batch, x.fd, x.err, x.fw));
  ck_assert_ok(bpcheck_fdiff_gradient(x.net, x.batch, again, x.err, x.fw));
  ck_assert_int_eq(memcmp(x.fd->data, again->data, bytes), 0);
  bpcheck_fastfd_workspace *xw;
  bpcheck_cstep_workspace *cw;
  ck_assert_ok(bpcheck_fastfd_alloc(&xw, x.net, 4));
  ck_assert_ok(bpcheck_cstep_alloc(&cw, x.net));
  ck_assert_ok(bpcheck_fastfd_gradient(x.net, x.batch, x.fd, NULL, xw));
  ck_assert_ok(bpcheck_fastfd_gradient(x.net, x.batch, again, NULL, xw));
  ck_assert_int_eq(memcmp(x.fd->data, again->data, bytes), 0);
  ck_assert_ok(bpcheck_cstep_gradient(x.net, x.batch, x.fd, cw));
  ck_assert_ok(bpcheck_cstep_gradient(x.net, x.batch, again, cw));
  ck_assert_int_eq(memcmp(x.fd->data, again->data, bytes), 0);
  bpcheck_fastfd_free(xw);
  bpcheck_cstep_free(cw);
  bpcheck_params_free(again);
  fixture_free(&x);
}
END_TEST

Suite *
make_backprop_suite(void)
{
  enumerate_combos();
  Suite *s = suite_create("backprop");
  TCase *core = tcase_create("Core");
  tcase_set_timeout(core, TEST_TIMEOUT);
  tcase_add_loop_test(core, test_combination, 0, n_combos);
  tcase_add_loop_test(core, test_deterministic, 0, n_combos);
  suite_add_tcase(s, core);
  return s;
}
