/* internal.h -- what the modules of libbpcheck share and users do not. */

#ifndef BPCHECK_INTERNAL_H
#define BPCHECK_INTERNAL_H

#include <float.h>
#include <math.h>
#include "bpcheck.h"

/* calloc of n * size bytes, NULL when the product overflows.  Every
 * allocation of the library goes through it (jansson's own aside). */
void *bpcheck_calloc(size_t n, size_t size);
/* For the tests: the n-th call of bpcheck_calloc from now fails (0: none).
 */
void bpcheck_test_fail_allocation(size_t n);

/* Copies n[0..L] into a new array; NULL when out of memory. */
size_t *bpcheck_sizes_dup(size_t L, const size_t *n);

/* A gsl_matrix / gsl_vector that views memory owned elsewhere (what
 * gsl_matrix_view_array returns, built without its error handler: callers
 * have already checked that the sizes are positive). */
gsl_matrix bpcheck_matrix_on(double *data, size_t rows, size_t cols);
gsl_vector bpcheck_vector_on(double *data, size_t n);
/* The relu sign pattern of the last forward pass of w (fdiff.c uses it to
 * tell that a step crossed a kink). */
#include <stdint.h>
uint64_t bpcheck_matrix_relu_pattern(const bpcheck_matrix_workspace *w);

/* The quantities of the last sample of a literal backprop: z^l, a^l and
 * delta^l as arrays of n_l, and dC/da^L (trace.c reads them). */
typedef enum {
  LITERAL_Z,
  LITERAL_A,
  LITERAL_DELTA,
  LITERAL_DC_DA,
  LITERAL_FP,  /* f_l'(z^l_k) as the backprop used it */
  LITERAL_BACK /* sum_k W^(l+1)_kj delta^(l+1)_k, hidden layers (FC.5) */
} literal_q;
const double *bpcheck_literal_quantity(const bpcheck_literal_workspace *w,
                                       literal_q q, size_t l);

/* The checks common to the difference oracles (g and err shaped like the
 * parameters, batch and workspace fitting the network), the unperturbed
 * cost C0, which leaves the forward pass cached in the workspace, and the
 * bound e_C on its rounding error (CD.7). */
int bpcheck_fdiff_prepare(const bpcheck_net *net, const bpcheck_batch *batch,
                          const bpcheck_params *g, const bpcheck_params *err,
                          bpcheck_matrix_workspace *forward, double *C0,
                          double *e_C);
/* sum_s [term(a_s, y_s) - t0_s] over n samples (COST.1)-(COST.4). */
double bpcheck_cost_change(bpcheck_cost c, size_t n, const double *a,
                           const double *y, const double *t0, size_t n_L);
/* (CD.4) the levels of Richardson's table, and the roots of eps that set
 * its step and the smaller step tried where a relu kink lies within it. */
#define BPCHECK_FDIFF_LEVELS 3
#define BPCHECK_FDIFF_ROOT 7.0
#define BPCHECK_FDIFF_KINK_ROOT 3.0
/* (CD.4) eps^(1/root) max(1, |theta|), rounded to a power of two. */
double bpcheck_fdiff_step(double theta, double root);
/* (CD.5), (CD.6): from delta[q] = C(+h/2^q) - C(-h/2^q), q < levels (<=
 * BPCHECK_FDIFF_LEVELS), the extrapolated derivative; its truncation and
 * rounding error estimates through pointers.  e_C bounds the absolute
 * rounding error of each cost (CD.7). */
double bpcheck_fdiff_richardson(size_t levels, const double *delta, double h,
                                double theta, double e_C, double *trunc_err,
                                double *round_err);
/* The matrix backprop, or, with without_df, the gradient of the classic bug
 * that leaves f_L'(z^L) out of the output delta (diagnose.c compares a
 * candidate against it). */
int bpcheck_matrix_backprop_variant(const bpcheck_net *net,
                                    const bpcheck_batch *batch,
                                    bpcheck_params *nabla, double *C,
                                    bpcheck_matrix_workspace *w,
                                    int without_df);
/* (CD.7) A bound, to first order, on the absolute rounding error of the
 * cost computed by the last forward pass in w (bpcheck_matrix_cost); uses
 * the workspace's deltas as scratch, and absW, when not NULL, room for as
 * many doubles as the parameter block, to multiply by |W^l| with dgemm.
 * With ez and ea (arrays [1..L] of n_l x B, or NULL), the bounds e_z^l and
 * e_a^l of every layer are left there too (bound.c carries them on). */
double bpcheck_matrix_cost_error(const bpcheck_net *net,
                                 const bpcheck_batch *batch,
                                 bpcheck_matrix_workspace *w, double *absW,
                                 double *const *ez, double *const *ea);
/* gamma_n = n eps / (1 - n eps): Higham's bound on the relative error of a
 * chain of n roundings. */
static inline double
bpcheck_gamma(double n)
{
  return n * DBL_EPSILON / (1.0 - n * DBL_EPSILON);
}
/* A relu input z whose rounding error bound ez reaches 0: another order of
 * summation may put it on the other side of the kink. */
static inline int
bpcheck_relu_at_kink(bpcheck_activation f, double z, double ez)
{
  return f == BPCHECK_RELU && fabs(z) <= ez;
}
/* The entries of W^l and b^l, contiguous in the block: first, count;
 * BPCHECK_EINVAL when there is no layer l. */
int bpcheck_params_layer(const bpcheck_params *p, size_t l, size_t *first,
                         size_t *count);
/* The cached forward pass of a matrix workspace: Z^l and A^l, l = 1..L. */
const gsl_matrix *bpcheck_matrix_Z(const bpcheck_matrix_workspace *w,
                                   size_t l);
const gsl_matrix *bpcheck_matrix_A(const bpcheck_matrix_workspace *w,
                                   size_t l);
/* The deltas D^l of the last matrix backprop, times r (MX.2), (MX.3). */
const gsl_matrix *bpcheck_matrix_D(const bpcheck_matrix_workspace *w,
                                   size_t l);

/* a_i = f(z_i) and d_i *= f'(z_i) over arrays of n (not softmax). */
void bpcheck_activation_array(bpcheck_activation f, size_t n, const double *z,
                              double *a);
void bpcheck_activation_dmul(bpcheck_activation f, size_t n, const double *z,
                             double *d);

#endif
