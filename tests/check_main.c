/* check_main.c -- runs every suite; exits non-zero when a test fails. */

#include <stdio.h>
#include <stdlib.h>

#include <gsl/gsl_errno.h>

#include "suites.h"
#include "testutil.h"

int
main(void)
{
  /* The library returns statuses; GSL must not abort a test. */
  gsl_set_error_handler_off();
  printf("BPCHECK_SEED: %s (randomized tests use their fixed seeds when "
         "unset)\n",
         getenv("BPCHECK_SEED") ? getenv("BPCHECK_SEED") : "unset");

  SRunner *sr = srunner_create(make_activation_suite());
  srunner_add_suite(sr, make_cost_suite());
  srunner_add_suite(sr, make_net_suite());
  srunner_add_suite(sr, make_chain_suite());
  srunner_add_suite(sr, make_backprop_suite());
  srunner_add_suite(sr, make_fdiff_suite());
  srunner_add_suite(sr, make_compare_suite());
  srunner_add_suite(sr, make_selftest_suite());
  srunner_add_suite(sr, make_trace_suite());
  srunner_add_suite(sr, make_fastfd_suite());
  srunner_add_suite(sr, make_case_suite());
  srunner_add_suite(sr, make_diagnose_suite());
  srunner_add_suite(sr, make_oom_suite());
  srunner_add_suite(sr, make_cstep_suite());
  srunner_add_suite(sr, make_directional_suite());
  srunner_add_suite(sr, make_mutants_suite());
  srunner_add_suite(sr, make_bound_suite());
  srunner_add_suite(sr, make_output_suite());
  srunner_add_suite(sr, make_tolerance_suite());
  srunner_add_suite(sr, make_function_suite());
  srunner_add_suite(sr, make_json_suite());
  srunner_add_suite(sr, make_decay_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
