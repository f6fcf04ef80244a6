/* check_mutants.c -- the bug zoo: the entry-by-entry checks (matrix,
 * central differences, complex step) catch every mutant within 30 random
 * networks, and never flag the correct backprop; the directional and Taylor
 * scores are reported. */

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
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("Errors");
  tcase_set_timeout(errors, TEST_TIMEOUT);
  tcase_add_test(errors, test_zoo_names);
  suite_add_tcase(s, errors);
  return s;
}
