/* suites.h -- one Check suite per module of the library. */

#ifndef BPCHECK_SUITES_H
#define BPCHECK_SUITES_H

#include <check.h>

Suite *make_activation_suite(void);
Suite *make_cost_suite(void);
Suite *make_net_suite(void);
Suite *make_chain_suite(void);
Suite *make_backprop_suite(void);
Suite *make_fdiff_suite(void);
Suite *make_compare_suite(void);
Suite *make_selftest_suite(void);
Suite *make_trace_suite(void);
Suite *make_fastfd_suite(void);
Suite *make_case_suite(void);
Suite *make_diagnose_suite(void);
Suite *make_oom_suite(void);
Suite *make_cstep_suite(void);
Suite *make_directional_suite(void);
Suite *make_mutants_suite(void);
Suite *make_bound_suite(void);
Suite *make_output_suite(void);
Suite *make_tolerance_suite(void);
Suite *make_function_suite(void);
Suite *make_json_suite(void);
Suite *make_decay_suite(void);

#endif
