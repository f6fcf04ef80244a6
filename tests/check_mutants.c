/* check_mutants.c -- the bug zoo: the entry-by-entry checks (matrix,
 * central differences, complex step) catch every mutant within 30 random
 * networks, and never flag the correct backprop; the directional and Taylor
 * scores are reported. */

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "suites.h"
#include "testutil.h"

START_TEST(test_caught)
{
  bpcheck_mutant m = (bpcheck_mutant)(_i + 1);
  bpcheck_space s;
  bpcheck_space_default(&s);
  bpcheck_hunt h;
  unsigned long seed = test_seed(1);
  ck_assert_ok(bpcheck_mutant_hunt(&s, m, 30, seed, &h));
  for (int c = BPCHECK_CHECK_MATRIX; c <= BPCHECK_CHECK_CSTEP; c++)
    ck_assert_msg(h.first_catch[c] > 0,
                  "mutant %s escaped check %d over %zu trials from seed %lu",
                  bpcheck_mutant_name(m), c, h.trials, seed);
  printf("mutant %-22s directional %s, Taylor %s\n", bpcheck_mutant_name(m),
         h.first_catch[BPCHECK_CHECK_DIRECTIONAL] ? "caught" : "missed",
         h.first_catch[BPCHECK_CHECK_TAYLOR] ? "caught" : "missed");
}
END_TEST

/* Each mutant changes the gradient of at least one of two fixed networks
 * (relu, softmax, quadratic; tanh, sigmoid, quadratic; both mean over 3
 * samples): a patch that stopped mutating anything would fail here (one
 * that stops applying fails the build, scripts/zoo-gen). */
START_TEST(test_changes_gradient)
{
  bpcheck_mutant m = (bpcheck_mutant)(_i + 1);
  static const size_t n[] = {3, 4, 3};
  static const bpcheck_activation f[2][3] = {
      {[1] = BPCHECK_RELU, BPCHECK_SOFTMAX},
      {[1] = BPCHECK_TANH, BPCHECK_SIGMOID}};
  double change = 0;
  for (int k = 0; k < 2; k++) {
    fixture x;
    fixture_init(&x, 2, n, f[k], BPCHECK_QUADRATIC, BPCHECK_MEAN, 3, 29);
    ck_assert_ok(bpcheck_literal_backprop(x.net, x.batch, x.mat, NULL, x.lw));
    ck_assert_ok(
        bpcheck_literal_backprop_mutant(x.net, x.batch, x.lit, NULL, x.lw, m));
    double gmax = 0, dmax = 0;
    for (size_t i = 0; i < x.mat->size; i++) {
      gmax = fmax(gmax, fabs(x.mat->data[i]));
      dmax = fmax(dmax, fabs(x.lit->data[i] - x.mat->data[i]));
    }
    change = fmax(change, dmax / gmax);
    fixture_free(&x);
  }
  ck_assert_msg(change > 1e-3, "mutant %s changes the gradient by only %g",
                bpcheck_mutant_name(m), change);
  ck_assert_ptr_nonnull(strstr(bpcheck_mutant_patch(m), "--- literal.c"));
}
END_TEST

/* No false alarms: the correct backprop passes every check, 30 times. */
START_TEST(test_none_passes)
{
  bpcheck_space s;
  bpcheck_space_default(&s);
  bpcheck_hunt h;
  ck_assert_ok(
      bpcheck_mutant_hunt(&s, BPCHECK_MUTANT_NONE, 30, test_seed(1), &h));
  ck_assert_uint_eq(h.trials, 30);
  for (int c = 0; c < BPCHECK_N_CHECKS; c++)
    ck_assert_msg(h.first_catch[c] == 0, "check %d flagged trial %zu", c,
                  h.first_catch[c]);
}
END_TEST

START_TEST(test_zoo_names)
{
  for (int m = 1; m < BPCHECK_N_MUTANTS; m++) {
    ck_assert(strlen(bpcheck_mutant_name((bpcheck_mutant)m)) > 0);
    ck_assert(bpcheck_mutant_equation((bpcheck_mutant)m)[0] == '(');
    ck_assert(strlen(bpcheck_mutant_about((bpcheck_mutant)m)) > 0);
  }
  ck_assert_str_eq(bpcheck_mutant_name((bpcheck_mutant)99), "(invalid)");
  ck_assert_str_eq(bpcheck_mutant_equation((bpcheck_mutant)99), "");
  ck_assert_str_eq(bpcheck_mutant_about((bpcheck_mutant)99), "");
  bpcheck_space s;
  bpcheck_space_default(&s);
  bpcheck_hunt h;
  ck_assert_int_eq(bpcheck_mutant_hunt(&s, (bpcheck_mutant)99, 1, 1, &h),
                   BPCHECK_EINVAL);
  s.max_width = 0;
  ck_assert_int_eq(bpcheck_mutant_hunt(&s, BPCHECK_MUTANT_NONE, 1, 1, &h),
                   BPCHECK_EINVAL);
}
END_TEST

Suite *
make_mutants_suite(void)
{
  Suite *s = suite_create("mutants");
  TCase *core = tcase_create("Core");
  tcase_set_timeout(core, TEST_TIMEOUT);
  tcase_add_loop_test(core, test_caught, 0, BPCHECK_N_MUTANTS - 1);
  tcase_add_test(core, test_none_passes);
  tcase_add_loop_test(core, test_changes_gradient, 0, BPCHECK_N_MUTANTS - 1);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("Errors");
  tcase_set_timeout(errors, TEST_TIMEOUT);
  tcase_add_test(errors, test_zoo_names);
  suite_add_tcase(s, errors);
  return s;
}
