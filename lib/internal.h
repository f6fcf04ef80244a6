/* internal.h -- what the modules of libbpcheck share and users do not. */

#ifndef BPCHECK_INTERNAL_H
#define BPCHECK_INTERNAL_H

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
typedef enum { LITERAL_Z, LITERAL_A, LITERAL_DELTA, LITERAL_DC_DA } literal_q;
const double *bpcheck_literal_quantity(const bpcheck_literal_workspace *w,
                                       literal_q q, size_t l);

/* The checks common to the difference oracles (g and err shaped like the
 * parameters, batch and workspace fitting the network), and the unperturbed
 * cost C0, which leaves the forward pass cached in the workspace. */
int bpcheck_fdiff_prepare(const bpcheck_net *net, const bpcheck_batch *batch,
                          const bpcheck_params *g, const bpcheck_params *err,
                          bpcheck_matrix_workspace *forward, double *C0);
/* (CD.4) the step for a parameter of value theta. */
double bpcheck_fdiff_step(double theta);
/* (CD.5), (CD.6): from d1 = C(+h) - C(-h), dh = C(+h/2) - C(-h/2) and the
 * magnitudes |C(+h)| + |C(-h)|, |C(+h/2)| + |C(-h/2)|, the extrapolated
 * derivative; its truncation and rounding error estimates through pointers.
 * eps_C is the relative error of one cost evaluation (CD.7). */
double bpcheck_fdiff_combine(double d1, double dh, double mag1, double magh,
                             double h, double theta, double eps_C,
                             double *trunc_err, double *round_err);
/* (CD.7) m, the operation-chain length of one cost evaluation. */
double bpcheck_fdiff_chain_length(const bpcheck_net *net, size_t B);
/* The matrix backprop, or, with without_df, the gradient of the classic bug
 * that leaves f_L'(z^L) out of the output delta (diagnose.c compares a
 * candidate against it). */
int bpcheck_matrix_backprop_variant(const bpcheck_net *net,
                                    const bpcheck_batch *batch,
                                    bpcheck_params *nabla, double *C,
                                    bpcheck_matrix_workspace *w,
                                    int without_df);
/* The cached forward pass of a matrix workspace: Z^l and A^l, l = 1..L. */
const gsl_matrix *bpcheck_matrix_Z(const bpcheck_matrix_workspace *w,
                                   size_t l);
const gsl_matrix *bpcheck_matrix_A(const bpcheck_matrix_workspace *w,
                                   size_t l);

/* a_i = f(z_i) and d_i *= f'(z_i) over arrays of n (not softmax). */
void bpcheck_activation_array(bpcheck_activation f, size_t n, const double *z,
                              double *a);
void bpcheck_activation_dmul(bpcheck_activation f, size_t n, const double *z,
                             double *d);

#endif
