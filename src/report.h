/* report.h -- what `verify` and `run` share: the tolerance options, the
 * confirmed reference gradient, and the report of a comparison. */

#ifndef BPCHECK_REPORT_H
#define BPCHECK_REPORT_H

#include <stdio.h>

#include "bpcheck.h"

enum { OPT_RTOL = 2200, OPT_ATOL, OPT_PRECISION, OPT_MAX_PARAMS };

#define TOL_LONG_OPTIONS                                                      \
  {"rtol", required_argument, NULL, OPT_RTOL},                                \
      {"atol", required_argument, NULL, OPT_ATOL},                            \
  {                                                                           \
    "precision", required_argument, NULL, OPT_PRECISION                       \
  }

typedef struct {
  double rtol, atol;
  int have_rtol, have_atol, single;
} tolopts;

void tolopts_init(tolopts *t);
/* 1 parsed, 0 not one of these, -1 bad value (message printed). */
int tolopts_parse(tolopts *t, int opt, const char *arg);
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

#endif
