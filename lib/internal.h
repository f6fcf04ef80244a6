/* internal.h -- what the modules of libbpcheck share and users do not. */

#ifndef BPCHECK_INTERNAL_H
#define BPCHECK_INTERNAL_H

#include <float.h>
#include <math.h>
#include "bpcheck.h"

/* calloc of n * size bytes, NULL when the product overflows.  Every
 * allocation of the library goes through it (jansson's own aside). */
void *bpcheck_calloc(size_t n, size_t size);
/* free() of each pointer listed, NULL ones too: a struct's arrays, then
 * the struct (the list is read whole before anything is freed). */
#define BPCHECK_FREE(...)                                                     \
  bpcheck_free_each(sizeof((void *[]){__VA_ARGS__}) / sizeof(void *),         \
                    (void *[]){__VA_ARGS__})
void bpcheck_free_each(size_t n, void *const *p);
/* For the tests: the n-th call of bpcheck_calloc from now fails (0: none).
 */
void bpcheck_test_fail_allocation(size_t n);

/* The rounding of the arithmetic whose error a bound describes: the
 * machine epsilon eps of its precision (DBL_EPSILON, or FLT_EPSILON for a
 * float32 implementation) and eps_in, the relative rounding of the case's
 * inputs, parameters and targets into that precision (0 for double: they
 * are doubles already).  With direct set, the bound is that of an
 * implementation that forms a - y (and a sum y - y after a softmax with
 * categorical cross entropy) directly, as implementations do, instead of
 * by (COST.9): where a is near y that difference keeps only the digits a
 * and y share, and a correct candidate may lose the rest. */
typedef struct {
  double eps, eps_in;
  int direct;
} bpcheck_rounding;
extern const bpcheck_rounding bpcheck_rounding_double;

/* Weight decay (proofs/10-weight-decay.md).  (WD.1) D = lambda/2 sum_l
 * ||W^l||_F^2, the squares summed with Kahan's compensation; 0 when
 * lambda is 0. */
double bpcheck_decay_cost(const bpcheck_net *net);
/* (WD.5) A bound on the rounding error of D computed so and added to a
 * cost C (the reduced data term): (4 eps + 4 P_W eps^2) D + eps (|C| + D),
 * P_W the number of weights. */
double bpcheck_decay_cost_error(const bpcheck_net *net, double D, double C);

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
 * delta^l as arrays of n_l, and dC/da^L (trace.c reads them); FP is
 * f_l'(z^l_k) as the backprop used it, BACK sum_k W^(l+1)_kj delta^(l+1)_k
 * of the hidden layers (FC.5). */
typedef enum {
  BPCHECK_LITERAL_Z,
  BPCHECK_LITERAL_A,
  BPCHECK_LITERAL_DELTA,
  BPCHECK_LITERAL_DC_DA,
  BPCHECK_LITERAL_FP,
  BPCHECK_LITERAL_BACK
} bpcheck_literal_q;
const double *bpcheck_literal_quantity(const bpcheck_literal_workspace *w,
                                       bpcheck_literal_q q, size_t l);

/* The checks common to the difference oracles (g and err shaped like the
 * parameters, batch and workspace fitting the network), the unperturbed
 * cost C0, which leaves the forward pass cached in the workspace, and the
 * bound e_C on its rounding error (CD.7). */
int bpcheck_fdiff_prepare(const bpcheck_net *net, const bpcheck_batch *batch,
                          const bpcheck_params *g, const bpcheck_params *err,
                          bpcheck_matrix_workspace *forward, double *C0,
                          double *e_C);
/* sum_s [term(z_s, y_s) - t0_s] over n samples of an element-wise output
 * (COST.1)-(COST.3), each term from z alone (bpcheck_output_term_z). */
double bpcheck_cost_change(bpcheck_activation f, bpcheck_cost c, size_t n,
                           const double *z, const double *y, const double *t0,
                           size_t n_L);
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
/* (TY.2) The slope of log R (y) on log h (x), points 0 .. n - 1 with the
 * smallest step last (directional.c): least squares over the smallest
 * steps where R still falls with h, at most four; NAN under three.  The
 * points it used in *points.  Its sweeps take BPCHECK_TAYLOR_STEPS steps. */
#define BPCHECK_TAYLOR_STEPS 40
double bpcheck_taylor_fit(size_t n, const double *x, const double *y,
                          size_t *points);
/* The matrix backprop with flags: BPCHECK_VARIANT_RELU_AT_ZERO_ONE,
 * relu'(0) taken as 1 instead of 0 (the other one-sided derivative at an
 * exact kink, (CD.11)). */
enum {
  BPCHECK_VARIANT_RELU_AT_ZERO_ONE = 2,
  /* delta^L = r (a - y) whatever the output and cost: the shortcut of
   * (COST.6) and (COST.7) where it does not hold (diagnose.c) */
  BPCHECK_VARIANT_SHORTCUT = 4
};
int bpcheck_matrix_backprop_variant(const bpcheck_net *net,
                                    const bpcheck_batch *batch,
                                    bpcheck_params *nabla, double *C,
                                    bpcheck_matrix_workspace *w, int flags);
/* (IN.1) with the same flags (inputs.c). */
int bpcheck_matrix_input_gradient_variant(
    const bpcheck_net *net, const bpcheck_batch *batch, bpcheck_params *nabla,
    gsl_matrix *dx, bpcheck_matrix_workspace *w, int flags);
/* (CD.7) A bound, to first order, on the absolute rounding error of the
 * cost computed by the last forward pass in w (bpcheck_matrix_cost); uses
 * the workspace's deltas as scratch, and absW, when not NULL, room for as
 * many doubles as the parameter block, to multiply by |W^l| with dgemm.
 * With ez and ea (arrays [1..L] of n_l x B, or NULL), the bounds e_z^l and
 * e_a^l of every layer are left there too (bound.c carries them on).  u:
 * the rounding of the arithmetic bounded (NULL: double's). */
double bpcheck_matrix_cost_error(const bpcheck_net *net,
                                 const bpcheck_batch *batch,
                                 bpcheck_matrix_workspace *w,
                                 const bpcheck_rounding *u, double *absW,
                                 double *const *ez, double *const *ea);
/* gamma_n = n eps / (1 - n eps): Higham's bound on the relative error of a
 * chain of n roundings, with eps the precision's machine epsilon (twice its
 * unit roundoff: a factor 2 of margin, as everywhere in the bounds). */
static inline double
bpcheck_gamma(double n, double eps)
{
  return n * eps / (1.0 - n * eps);
}
/* A relu input z whose rounding error bound ez reaches 0 (ez > 0): another
 * order of summation may put it on the other side of the kink.  An input
 * exactly 0 with ez = 0 (every product of its sum is 0) is 0 in every
 * order: an exact kink, where the gradient is accepted between its
 * one-sided values instead (proofs/06, (CD.11)). */
static inline int
bpcheck_relu_at_kink(bpcheck_activation f, double z, double ez)
{
  return f == BPCHECK_RELU && ez > 0 && fabs(z) <= ez;
}

/* The output layer (output.c, proofs/02 (COST.6)-(COST.9)). ----------- */
/* a and 1 - a of a softmax column, each accurate (abar may be NULL). */
void bpcheck_softmax_pair(size_t n, const double *z, size_t zs, double *a,
                          size_t as, double *abar, size_t abs);
/* 1 - a of an element-wise output: sigma(-z) after a sigmoid. */
double bpcheck_output_abar(bpcheck_activation f, double z, double a);
/* a - y, as (1 - y) a - y (1 - a) after a sigmoid (COST.9). */
double bpcheck_output_diff(bpcheck_activation f, double z, double a, double y);
/* The cost term of an element-wise output (not softmax) from z, a = f(z). */
double bpcheck_output_term(bpcheck_activation f, bpcheck_cost c, size_t n_L,
                           double z, double a, double y);
/* The same from z alone, a = f(z) computed here (with 1 - a from the same
 * exponential after a sigmoid): the fast check's inner loop. */
double bpcheck_output_term_z(bpcheck_activation f, bpcheck_cost c, size_t n_L,
                             double z, double y);
/* The cost of a softmax column from its z alone. */
double bpcheck_output_softmax_cost(bpcheck_cost c, size_t n, const double *z,
                                   size_t zs, const double *y, size_t ys);
/* C_s of one sample: z^L and a^L with stride zs, y with stride ys. */
double bpcheck_output_cost(const bpcheck_net *net, const double *z,
                           const double *a, size_t zs, const double *y,
                           size_t ys);
/* One sample's C_s, delta^L (times r, stride zs) and, given the bounds ez
 * (stride zs) of z^L, the bounds eC of C_s and ed of delta^L at rounding u.
 * Any output may be NULL; ez NULL means z exact. */
void bpcheck_output_sample(const bpcheck_net *net, const bpcheck_rounding *u,
                           double r, const double *z, const double *a,
                           size_t zs, const double *y, size_t ys,
                           const double *ez, double *C, double *eC,
                           double *delta, double *ed);
/* The same for every sample of an element-wise output layer (not softmax)
 * at once, row by row: Z, A, D of n_L rows of B, Y of rows of ys; each
 * sample's cost into C_s[s], summed over k in the same order as
 * bpcheck_output_sample sums it; no bounds. */
void bpcheck_output_rows(const bpcheck_net *net, double r, const double *Z,
                         const double *A, size_t B, const double *Y, size_t ys,
                         double *C_s, double *D);
/* |f''(z)| of an element-wise activation (0 for relu and identity). */
double bpcheck_output_f_second(bpcheck_activation f, double z);
/* The entries of W^l and b^l, contiguous in the block: first, count;
 * BPCHECK_EINVAL when there is no layer l. */
int bpcheck_params_layer(const bpcheck_params *p, size_t l, size_t *first,
                         size_t *count);
/* The delta matrices D^l of a matrix workspace (l = 1..L), and for l = 0
 * an n_0 x B matrix: scratch for the rounding bound (bound.c), which
 * overwrites them. */
gsl_matrix *bpcheck_matrix_scratch(bpcheck_matrix_workspace *w, size_t l);
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

/* json.c: a JSON text read by the fast reader when it is within its
 * subset (json_read: NULL otherwise), else by jansson with
 * JSON_REJECT_DUPLICATES.  Either way the values are jansson's.  json_load
 * puts the value in *root; BPCHECK_ENOMEM ("NAME: out of memory parsing its
 * N bytes") when jansson runs out of memory, BPCHECK_EINVAL with *error set
 * and the message left to the caller when the text is not JSON. */
#include <jansson.h>
json_t *bpcheck_json_read(const char *text, size_t len);
int bpcheck_json_load(const char *text, size_t len, const char *name,
                      json_t **root, json_error_t *error);
/* The double of a number token of JSON's grammar with a fraction or an
 * exponent, s[0..n-1], exactly as strtod reads it, into *x: 1; or 0 when
 * the fast methods cannot be sure (then nothing is written). */
int bpcheck_json_decimal(const char *s, size_t n, double *x);
/* The space s checked (bpcheck_space_validate) and a generator for its
 * trials (bpcheck_rng_alloc) in *rng; BPCHECK_ENOMEM when out of memory. */
int bpcheck_space_rng(const bpcheck_space *s, gsl_rng **rng);

#endif
