/* report.h -- what `verify` and `run` share: the tolerance options, the
 * confirmed reference gradient, and the report of a comparison. */

#ifndef BPCHECK_REPORT_H
#define BPCHECK_REPORT_H

#include <stdio.h>

#include "bpcheck.h"
#include "options.h"

typedef struct {
  double rtol, atol;
  int have_rtol, have_atol, single;
} tolopts;

void tolopts_init(tolopts *t);
/* --rtol, --atol (a number >= 0 into a double) and --precision (double or
 * single, into an int that is 1 for single): the entries of a command's
 * option table that fill the tolopts *t. */
int tolopts_tol(const option_spec *o, const char *arg);
int tolopts_precision(const option_spec *o, const char *arg);
#define TOLOPTS_OPTIONS(t)                                                    \
  OPTION_PARSE_GIVEN("--rtol", tolopts_tol, &(t)->rtol, &(t)->have_rtol),     \
      OPTION_PARSE_GIVEN("--atol", tolopts_tol, &(t)->atol, &(t)->have_atol), \
      OPTION_PARSE("--precision", tolopts_precision, &(t)->single)
/* The tolerance: the precision's preset, overridden by --rtol/--atol. */
bpcheck_tolerance tolopts_get(const tolopts *t);

/* The reference gradient of c: the matrix backprop, confirmed against the
 * literal backprop and the central differences.  Non-zero (message
 * printed) when it cannot be confirmed. */
int reference_gradient(const bpcheck_case *c, bpcheck_mode mode,
                       bpcheck_params **ref);

/* The report of a comparison: per block, the worst entry, the diagnosis
 * (d may be NULL when everything passed). */
void print_report(FILE *out, const bpcheck_params *ref,
                  const bpcheck_params *g, const bpcheck_report *rep,
                  const bpcheck_tolerance *tol, const bpcheck_diagnosis *d);
/* The parts of the worst entry's tolerance (CD.10): the two bounds. */
void print_tolerance_parts(FILE *out, const bpcheck_case *c,
                           const bpcheck_params *ref,
                           const bpcheck_report *rep,
                           const bpcheck_tolerance *tol);
void print_json_report(FILE *out, const char *command,
                       const bpcheck_report *rep, const bpcheck_tolerance *tol,
                       const bpcheck_diagnosis *d);

/* Counts by name on stdout: item (a printf format of the name and the
 * count) for each of the n names, separated by commas, then end. */
void print_counts(const char *item, const char *end, const size_t *count,
                  int n, const char *(*name)(int));
/* The "covered" lines of run and selftest: L by depth (depth[1..32]),
 * layers by activation, networks by cost and by reduction. */
void print_covered(const size_t *depth, const size_t *act, const size_t *cost,
                   const size_t *reduction);

#endif
