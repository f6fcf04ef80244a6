/* testutil.h -- what several suites need: seeds and small networks. */

#ifndef BPCHECK_TESTUTIL_H
#define BPCHECK_TESTUTIL_H

#include <check.h>
#include <math.h>

#include "bpcheck.h"

/* $BPCHECK_SEED when set, else fallback; printed once by the runner. */
unsigned long test_seed(unsigned long fallback);

/* Everything a gradient test needs for one network and batch. */
typedef struct {
  bpcheck_net *net;
  bpcheck_batch *batch;
  bpcheck_params *lit, *mat, *fd, *err;
  bpcheck_params *tol; /* (CD.9) twice the rounding bound of a backprop */
  bpcheck_literal_workspace *lw;
  bpcheck_matrix_workspace *mw;
  bpcheck_fdiff_workspace *fw;
  bpcheck_bound_workspace *bw;
  bpcheck_report *report;
  gsl_rng *rng;
} fixture;

/* A random network with layer sizes n[0..L], one activation per layer
 * (f[1..L], f[0] unused), a cost and reduction, and a random batch of B; the
 * test fails if any allocation does. */
void fixture_init(fixture *x, size_t L, const size_t *n,
                  const bpcheck_activation *f, bpcheck_cost cost,
                  bpcheck_reduction red, size_t B, unsigned long seed);
void fixture_free(fixture *x);
/* Runs both backprops and the central differences into lit, mat, fd, err,
 * and twice the rounding bound into tol: how far two backprops (or a
 * backprop and the complex step) may differ. */
void fixture_gradients(fixture *x);

/* The forward pass in long double (64-bit significands, 11 bits more than
 * double): an independent evaluation whose own error is ~2^-11 of the
 * double one's, the partner of the rounding bounds' tests.  Widths up to
 * LD_NMAX, L < LD_LMAX. */
#define LD_NMAX 16
#define LD_LMAX 6
long double f_ld(bpcheck_activation f, long double z);
long double df_ld(bpcheck_activation f, long double z);
/* z^l, a^l of sample s, l = 0..L (z[0] unused) */
void forward_ld(const bpcheck_net *net, const bpcheck_batch *batch, size_t s,
                long double z[][LD_NMAX], long double a[][LD_NMAX]);

#define ck_assert_ok(expr)                                                    \
  do {                                                                        \
    int status_ = (expr);                                                     \
    ck_assert_msg(status_ == BPCHECK_SUCCESS, "%s: %s: %s", #expr,            \
                  bpcheck_strerror(status_), bpcheck_errmsg());               \
  } while (0)

/* The Errors TCases install a GSL error handler that counts instead of
 * aborting (gsl_guard_setup, as a checked fixture), and assert at the end of
 * each test that the library never reached it (gsl_guard_check). */
void gsl_guard_setup(void);
void gsl_guard_teardown(void);
#define gsl_guard_check()                                                     \
  ck_assert_msg(gsl_guard_count() == 0, "GSL's error handler was called: %s", \
                gsl_guard_reason())
int gsl_guard_count(void);
const char *gsl_guard_reason(void);

/* |a - b| <= n eps max(|a|, |b|): two evaluations of the same value by
 * formulas of a handful of correctly rounded operations each differ by a
 * few units in the last place; n says how many the caller allows. */
#define ck_assert_ulps(a, b, n)                                               \
  do {                                                                        \
    double a_ = (a), b_ = (b);                                                \
    double t_ = (n)*2.220446049250313e-16 * fmax(fabs(a_), fabs(b_));         \
    ck_assert_msg(fabs(a_ - b_) <= t_,                                        \
                  "%s = %.17g, %s = %.17g: differ by "                        \
                  "%.3g > %.3g",                                              \
                  #a, a_, #b, b_, fabs(a_ - b_), t_);                         \
  } while (0)

/* The timeout of every Check TCase, in seconds: generous enough for the
 * randomized suites at -O0 with coverage on a loaded machine (the bound
 * suite takes about 6 s there, where Check's default is 4 s).  Check
 * multiplies it by $CK_TIMEOUT_MULTIPLIER. */
#define TEST_TIMEOUT 300

#endif
