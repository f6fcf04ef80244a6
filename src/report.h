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
/* The parts of the worst entry's tolerance (CD.10): the two bounds e and
 * e_p that bpcheck_tolerance_apply_parts gave (nothing without derive). */
void print_tolerance_parts(FILE *out, const bpcheck_report *rep,
                           const bpcheck_tolerance *tol,
                           const bpcheck_params *e, const bpcheck_params *e_p);
void print_json_report(FILE *out, const char *command,
                       const bpcheck_report *rep, const bpcheck_tolerance *tol,
                       const bpcheck_diagnosis *d);

/* A candidate's dC/da^0 (dx, n_0 x B) against the reference of c's network
 * and batch (IN.1), within tol's atol, rtol and the derived tolerance at
 * its precision (IN.3), into rep.  With out, prints a line for the inputs
 * and the wrong entries (at most 10) named as in the answer,
 * inputs[s][j]; with json, the same as a JSON member ,"inputs":{...}.
 * BPCHECK_SUCCESS, BPCHECK_EMISMATCH, or an error (message in
 * bpcheck_errmsg()). */
int check_inputs(FILE *out, int json, const bpcheck_case *c,
                 const gsl_matrix *dx, const bpcheck_tolerance *tol,
                 bpcheck_input_report *rep);
/* Counts by name on stdout: item (a printf format of the name and the
 * count) for each of the n names, separated by commas, then end. */
void print_counts(const char *item, const char *end, const size_t *count,
                  int n, const char *(*name)(int));
/* The "covered" lines of run and selftest: L by depth (depth[1..32]),
 * layers by activation, networks by cost and by reduction. */
void print_covered(const size_t *depth, const size_t *act, const size_t *cost,
                   const size_t *reduction);

#endif
