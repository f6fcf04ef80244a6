/* internal.h -- what the modules of libbpcheck share and users do not. */

#ifndef BPCHECK_INTERNAL_H
#define BPCHECK_INTERNAL_H

#include "bpcheck.h"

/* Records the detail of an error for bpcheck_errmsg() and returns status,
 * so that error paths read: return bpcheck_fail(BPCHECK_EINVAL, "...", ...);
 */
int bpcheck_fail(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* calloc of n * size bytes, NULL when the product overflows. */
void *bpcheck_calloc(size_t n, size_t size);

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

#endif
