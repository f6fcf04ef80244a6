/* bpcheck.h -- backpropagation, done twice and checked against oracles.
 *
 * Notation (proofs/README.md): layers l = 0..L with n_l nodes, a^0 = x.
 * W^l is n_l x n_(l-1); in W^l_kj, k is the receiving node (layer l) and
 * j the emitting node (layer l-1), as in PyTorch's nn.Linear (out, in).
 *
 *   z^l_k = sum_j W^l_kj a^(l-1)_j + b^l_k        a^l_k = f_l(z^l_k)
 *
 * Every function returns a status (BPCHECK_SUCCESS or an error code) and
 * writes its results through pointers.  The library never prints and never
 * aborts; the detail of the last error in this thread is bpcheck_errmsg().
 * Shapes are checked before any GSL call, so GSL's error handler is never
 * reached through this library; programs that use GSL themselves should
 * still call gsl_set_error_handler_off(). */

#ifndef BPCHECK_H
#define BPCHECK_H

#include <stddef.h>

#include <gsl/gsl_matrix.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_vector.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes --------------------------------------------------------- */

enum {
  BPCHECK_SUCCESS = 0,
  BPCHECK_EMISMATCH = 1,  /* a gradient disagrees with its reference */
  BPCHECK_EINVAL = 2,     /* invalid argument: a size, name or combination */
  BPCHECK_EBADLEN = 3,    /* dimensions of the arguments do not match */
  BPCHECK_ENOMEM = 4,     /* out of memory */
  BPCHECK_ETOOBIG = 5,    /* a size overflows or exceeds a limit */
  BPCHECK_EDOM = 6,       /* a value is NaN, infinite or out of range */
  BPCHECK_ECANDIDATE = 7, /* a candidate implementation failed */
  BPCHECK_ESKIP = 8       /* a candidate declined a case it does not
                             support ({"skip": "reason"}): neither passed
                             nor failed */
};

/* The name of a status, e.g. "gradient mismatch". */
const char *bpcheck_strerror(int status);

/* The detail of the last error returned in this thread, e.g.
 * "layer 2 has 0 nodes"; "" when there is none. */
const char *bpcheck_errmsg(void);

/* Records the detail of an error for bpcheck_errmsg() and returns status,
 * so that error paths read: return bpcheck_fail(BPCHECK_EINVAL, "...", ...);
 * (a candidate function uses it to say why it failed). */
int bpcheck_fail(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Names ---------------------------------------------------------------- */

typedef enum {
  BPCHECK_SIGMOID = 0, /* the default */
  BPCHECK_TANH,
  BPCHECK_RELU,
  BPCHECK_IDENTITY,
  BPCHECK_SOFTPLUS,
  BPCHECK_SOFTMAX, /* output layer only; not element-wise */
  BPCHECK_N_ACTIVATIONS
} bpcheck_activation;

typedef enum {
  BPCHECK_QUADRATIC = 0,             /* 1/2 sum_k (a_k - y_k)^2 */
  BPCHECK_MSE,                       /* 1/n_L sum_k (a_k - y_k)^2 */
  BPCHECK_CROSS_ENTROPY,             /* -sum_k [y ln a + (1-y) ln(1-a)] */
  BPCHECK_CATEGORICAL_CROSS_ENTROPY, /* -sum_k y_k ln a_k */
  BPCHECK_N_COSTS
} bpcheck_cost;

typedef enum {
  BPCHECK_MEAN = 0, /* C = 1/B sum_s C_s, the default */
  BPCHECK_SUM,      /* C = sum_s C_s */
  BPCHECK_N_REDUCTIONS
} bpcheck_reduction;

/* The contract's spelling: "sigmoid", "categorical_cross_entropy", "mean"
 * ... Parsing an unknown name returns BPCHECK_EINVAL. */
const char *bpcheck_activation_name(bpcheck_activation f);
const char *bpcheck_cost_name(bpcheck_cost c);
const char *bpcheck_reduction_name(bpcheck_reduction r);
int bpcheck_activation_parse(const char *name, bpcheck_activation *f);
int bpcheck_cost_parse(const char *name, bpcheck_cost *c);
int bpcheck_reduction_parse(const char *name, bpcheck_reduction *r);

/* Element by element --------------------------------------------------- */

/* f(z) and f'(z) for an element-wise activation (not softmax). */
double bpcheck_activation_f(bpcheck_activation f, double z);
double bpcheck_activation_df(bpcheck_activation f, double z);

/* a = softmax(z) for a vector of n entries (may be the same array). */
void bpcheck_softmax(size_t n, const double *z, size_t zstride, double *a,
                     size_t astride);

/* One output's term of the per-sample cost, and its derivative dC/da_k;
 * n_L is the number of outputs (the mse divides by it). */
double bpcheck_cost_term(bpcheck_cost c, double a, double y, size_t n_L);
double bpcheck_cost_dterm(bpcheck_cost c, double a, double y, size_t n_L);

/* The factor r of C = r sum_s C_s for a batch of B samples. */
double bpcheck_reduction_factor(bpcheck_reduction r, size_t B);

/* Parameters ----------------------------------------------------------- */

/* One contiguous block of doubles, laid out W^1, b^1, W^2, b^2, ... (the
 * order of PyTorch's parameters()), W^l row-major.  W[l] and b[l] are GSL
 * views into the block for l = 1..L (index 0 is unused, so that the code
 * reads as the maths).  A gradient has the same type and shape. */
typedef struct {
  size_t L;
  size_t *n;   /* n[0..L] */
  size_t size; /* number of doubles in the block */
  double *data;
  gsl_matrix *W; /* W[1..L], n_l x n_(l-1) */
  gsl_vector *b; /* b[1..L], n_l */
} bpcheck_params;

int bpcheck_params_alloc(bpcheck_params **p, size_t L, const size_t *n);
void bpcheck_params_free(bpcheck_params *p);
/* Same L and n; BPCHECK_EBADLEN otherwise. */
int bpcheck_params_match(const bpcheck_params *p, const bpcheck_params *q);
/* The block index of W^l_kj and b^l_k. */
size_t bpcheck_params_index_W(const bpcheck_params *p, size_t l, size_t k,
                              size_t j);
size_t bpcheck_params_index_b(const bpcheck_params *p, size_t l, size_t k);
/* Names an index of the block as "W^2_1,0" (l = 2, k = 1, j = 0) or
 * "b^1_3". */
int bpcheck_params_entry(const bpcheck_params *p, size_t i, size_t *l,
                         int *is_bias, size_t *k, size_t *j);
void bpcheck_params_entry_name(const bpcheck_params *p, size_t i, char *buf,
                               size_t len);

/* Network and batch ---------------------------------------------------- */

/* Limits that keep every byte count far from overflowing; a network beyond
 * them is BPCHECK_ETOOBIG. */
#define BPCHECK_MAX_LAYERS 1024
#define BPCHECK_MAX_PARAMS ((size_t)1 << 31)

typedef struct {
  size_t L;                    /* number of weight layers, >= 1 */
  const size_t *n;             /* n[0..L], every n_l >= 1 */
  const bpcheck_activation *f; /* f[1..L]; f[0] unused */
  bpcheck_cost cost;
  bpcheck_reduction reduction;
} bpcheck_arch;

/* BPCHECK_SUCCESS when arch describes a network this library computes:
 * sizes positive and within the limits, softmax only on the output layer,
 * categorical_cross_entropy only after softmax, cross_entropy only after an
 * output in (0,1) (sigmoid or softmax). */
int bpcheck_arch_validate(const bpcheck_arch *arch);

typedef struct {
  size_t L;
  size_t *n;             /* n[0..L] */
  bpcheck_activation *f; /* f[1..L]; f[0] unused */
  bpcheck_cost cost;
  bpcheck_reduction reduction;
  bpcheck_params *theta; /* the parameters */
  double weight_decay;   /* lambda >= 0 of the L2 term lambda/2 sum_l
                            ||W^l||_F^2, added once to the reduced cost
                            (WD.1); 0 after bpcheck_net_alloc */
} bpcheck_net;

int bpcheck_net_alloc(bpcheck_net **net, const bpcheck_arch *arch);
void bpcheck_net_free(bpcheck_net *net);
/* W^l_kj ~ N(0, 1/n_(l-1)) (so that z stays of order one), b^l_k ~ N(0,
 * 1/4), drawn in block order. */
void bpcheck_net_init_random(bpcheck_net *net, gsl_rng *rng);
/* (FC.8) theta <- theta - eta nabla. */
int bpcheck_net_step(bpcheck_net *net, const bpcheck_params *nabla,
                     double eta);
/* A one-line description, e.g. "3-4-2 tanh,sigmoid quadratic mean". */
void bpcheck_net_describe(const bpcheck_net *net, char *buf, size_t len);

/* A batch: samples are columns. */
typedef struct {
  size_t B;
  gsl_matrix *X; /* n_0 x B, a^0 of each sample */
  gsl_matrix *Y; /* n_L x B, the targets */
} bpcheck_batch;

int bpcheck_batch_alloc(bpcheck_batch **batch, size_t n_0, size_t n_L,
                        size_t B);
void bpcheck_batch_free(bpcheck_batch *batch);
/* BPCHECK_SUCCESS when the batch fits the network and its targets are in
 * the cost's domain (y in [0,1] for the cross-entropies); otherwise
 * BPCHECK_EBADLEN or BPCHECK_EDOM. */
int bpcheck_batch_validate(const bpcheck_net *net, const bpcheck_batch *batch);
/* x ~ U(-1,1); targets valid for the cost: y ~ N(0,1) for quadratic and
 * mse, y ~ U(0,1) for cross_entropy, a random distribution (entries in
 * [0,1] summing to 1) for categorical_cross_entropy. */
int bpcheck_batch_init_random(bpcheck_batch *batch, const bpcheck_net *net,
                              gsl_rng *rng);

/* A Mersenne twister (gsl_rng_mt19937) allocated with GSL's error handler
 * off, as every generator of the library: NULL when out of memory. */
gsl_rng *bpcheck_rng_alloc(void);

/* Backprop ------------------------------------------------------------- */

/* Index by index over (l, k, j), one sample at a time, exactly as the
 * derivation is written (proofs/04-fully-connected.md); no BLAS. */
typedef struct bpcheck_literal_workspace bpcheck_literal_workspace;
int bpcheck_literal_alloc(bpcheck_literal_workspace **w,
                          const bpcheck_net *net);
void bpcheck_literal_free(bpcheck_literal_workspace *w);
/* nabla <- dC/dtheta over the batch.  Also returns the cost in *C if C is
 * not NULL. */
int bpcheck_literal_backprop(const bpcheck_net *net,
                             const bpcheck_batch *batch, bpcheck_params *nabla,
                             double *C, bpcheck_literal_workspace *w);

/* The batch as columns of matrices: one gsl_blas_dgemm per layer forward,
 * per delta and per dC/dW (proofs/05-matrix-form.md). */
typedef struct bpcheck_matrix_workspace bpcheck_matrix_workspace;
int bpcheck_matrix_alloc(bpcheck_matrix_workspace **w, const bpcheck_net *net,
                         size_t B);
void bpcheck_matrix_free(bpcheck_matrix_workspace *w);
/* C <- the cost of the batch (forward pass only). */
int bpcheck_matrix_cost(const bpcheck_net *net, const bpcheck_batch *batch,
                        double *C, bpcheck_matrix_workspace *w);
int bpcheck_matrix_backprop(const bpcheck_net *net, const bpcheck_batch *batch,
                            bpcheck_params *nabla, double *C,
                            bpcheck_matrix_workspace *w);

/* (IN.1) dC/da^0_js = sum_k W^1_kj delta^1_ks, with r folded into delta^1
 * as in (MX.2): the gradient with respect to the inputs, n_0 x B (a column
 * per sample, like the batch's X; proofs/10-weight-decay.md).  The weight
 * decay does not enter it.  The matrix backprop of the batch into nabla,
 * then dx = (W^1)^T D^1. */
int bpcheck_matrix_input_gradient(const bpcheck_net *net,
                                  const bpcheck_batch *batch,
                                  bpcheck_params *nabla, gsl_matrix *dx,
                                  bpcheck_matrix_workspace *w);
/* The same by the literal backprop, sample by sample, index by index. */
int bpcheck_literal_input_gradient(const bpcheck_net *net,
                                   const bpcheck_batch *batch,
                                   bpcheck_params *nabla, gsl_matrix *dx,
                                   bpcheck_literal_workspace *w);

/* Rounding bound ------------------------------------------------------- */

/* (CD.8) How far any backprop's gradient may be from the exact one by
 * rounding alone, entry by entry: a first-order running error analysis of
 * the forward and backward passes (lib/bound.c).  Two backprops of the
 * same network differ by at most twice the bound. */
typedef struct bpcheck_bound_workspace bpcheck_bound_workspace;
int bpcheck_bound_alloc(bpcheck_bound_workspace **w, const bpcheck_net *net,
                        size_t B);
void bpcheck_bound_free(bpcheck_bound_workspace *w);
int bpcheck_bound_gradient(const bpcheck_net *net, const bpcheck_batch *batch,
                           bpcheck_params *bound, bpcheck_bound_workspace *w);
/* The precision of an implementation: double (float64) or single
 * (float32, whose inputs, parameters and targets are rounded to float
 * first). */
typedef enum {
  BPCHECK_PRECISION_DOUBLE = 0,
  BPCHECK_PRECISION_SINGLE
} bpcheck_precision;
/* The same bound for a correct backprop computed at precision p by the
 * usual formulas: the reference's, except that it forms a - y directly
 * (proofs/06, (CD.10)). */
int bpcheck_bound_gradient_at(const bpcheck_net *net,
                              const bpcheck_batch *batch, bpcheck_precision p,
                              bpcheck_params *bound,
                              bpcheck_bound_workspace *w);
/* (IN.2) The bound of dC/da^0 (n_0 x B) for a correct backprop at
 * precision p, as bpcheck_bound_gradient_at for the parameters. */
int bpcheck_bound_input_gradient_at(const bpcheck_net *net,
                                    const bpcheck_batch *batch,
                                    bpcheck_precision p, gsl_matrix *bound,
                                    bpcheck_bound_workspace *w);
/* tol <- twice the bound: how far two computations of the gradient (two
 * backprops, or a backprop and the complex step) may be apart (CD.9). */
int bpcheck_bound_pair(const bpcheck_net *net, const bpcheck_batch *batch,
                       bpcheck_params *tol, bpcheck_bound_workspace *w);

/* Tolerance ------------------------------------------------------------ */

/* The tolerance of entry i:
 *   tol_i = atol + rtol max(|g_i|, |r_i|) + btol max_block |r| + abs[i]
 * where max_block is over the W^l or b^l block that holds entry i and abs
 * (may be NULL) is a per-entry allowance such as an error estimate, or the
 * derived tolerance of bpcheck_tolerance_derive.  Entry i passes when g_i
 * is within tol_i of r_i (signed: a sign flip fails) or, when alt is not
 * NULL, of the interval between r_i and alt_i (the two one-sided
 * gradients at an exact relu kink, (CD.11)).  An entry whose tol_i is +inf
 * (e.g. a central difference across a relu kink) is skipped: counted apart,
 * neither passed nor failed. */
typedef struct {
  double atol, rtol, btol;
  const bpcheck_params *abs;
  const bpcheck_params *alt;
  /* For bpcheck_validate: with derive set, abs and alt are derived for
   * each case by bpcheck_tolerance_derive at this precision. */
  int derive;
  bpcheck_precision precision;
} bpcheck_tolerance;

/* (CD.10) The factor K on the sum of the two rounding-error bounds. */
#define BPCHECK_TOL_K 2.0

/* (CD.10) The tolerance of a candidate computed at precision p against the
 * reference r (the matrix backprop of net and batch), entry by entry, into
 * tol:
 *   tol_i = K (e_i + e_p,i) + eps_p max_block |r| + eta_p,
 * e the reference's rounding-error bound (bpcheck_bound_gradient), e_p a
 * correct implementation's at precision p, eps_p the machine epsilon of p
 * and eta_p its smallest normal number.  When alt is not NULL, the
 * reference with relu'(0) = 1 goes there, and *have_alt (may be NULL) says
 * whether any entry differs from r: an exact relu kink (CD.11).
 * BPCHECK_EDOM, naming the entry, when a bound overflows. */
int bpcheck_tolerance_derive(const bpcheck_net *net,
                             const bpcheck_batch *batch, bpcheck_precision p,
                             const bpcheck_params *r, bpcheck_params *tol,
                             bpcheck_params *alt, int *have_alt);
/* The tolerance of one case: out = *tol; with tol->derive, plus the
 * allowances of bpcheck_tolerance_derive at tol->precision in out->abs (the
 * derived tolerance is added to atol + rtol max(|g|, |r|), which only
 * widen it) and the other one-sided reference in out->alt where the case
 * has an exact kink.  *abs and *alt are allocated here: free them with
 * bpcheck_params_free after the comparison. */
int bpcheck_tolerance_apply(const bpcheck_net *net, const bpcheck_batch *batch,
                            const bpcheck_params *r,
                            const bpcheck_tolerance *tol,
                            bpcheck_tolerance *out, bpcheck_params **abs,
                            bpcheck_params **alt);
/* The same, and, with tol->derive, the two bounds the tolerance rests on
 * into e (the reference's, bpcheck_bound_gradient) and e_p (a correct
 * implementation's at tol->precision, bpcheck_bound_gradient_at) when they
 * are not NULL (shaped like r): what verify prints of its worst entry,
 * without computing them again. */
int bpcheck_tolerance_apply_parts(const bpcheck_net *net,
                                  const bpcheck_batch *batch,
                                  const bpcheck_params *r,
                                  const bpcheck_tolerance *tol,
                                  bpcheck_tolerance *out, bpcheck_params **abs,
                                  bpcheck_params **alt, bpcheck_params *e,
                                  bpcheck_params *e_p);
/* BPCHECK_SUCCESS when the cost, every z, a and delta of the forward and
 * backward passes and every gradient entry are finite doubles; else
 * BPCHECK_EDOM with a message naming the first quantity that is not (so
 * that no comparison is made against an infinite or NaN reference). */
int bpcheck_reference_finite(const bpcheck_net *net,
                             const bpcheck_batch *batch);

/* Comparison ----------------------------------------------------------- */

typedef struct {
  size_t index;   /* in the block */
  size_t l, k, j; /* j unused for a bias */
  int is_bias;
  double expected;    /* reference r_i */
  double received;    /* candidate g_i */
  double abserr;      /* distance of g_i from r_i (or from [r_i, alt_i]) */
  double tol;         /* tol_i */
  double alternative; /* alt_i, the other one-sided value (= r_i if none) */
} bpcheck_entry;

typedef struct {
  double max_abserr; /* over the block */
  double max_relerr; /* |g - r| / |r| (inf where r = 0 and g is not) */
  double max_ratio;  /* max abserr / tol */
  size_t n_fail, n_skipped;
  size_t n_kink;       /* entries with two one-sided values (alt != r) */
  bpcheck_entry worst; /* the entry of max_ratio */
  bpcheck_entry kink;  /* the first entry at a kink, when n_kink > 0 */
} bpcheck_block_report;

typedef struct {
  size_t L;
  bpcheck_block_report *W, *b; /* [1..L] */
  size_t n_checked, n_fail, n_skipped, n_kink;
  double max_ratio;
  bpcheck_entry worst;
  bpcheck_entry kink; /* the first entry at an exact kink */
} bpcheck_report;

int bpcheck_report_alloc(bpcheck_report **r, size_t L);
void bpcheck_report_free(bpcheck_report *r);
/* Compares the candidate g with the reference r.  Returns BPCHECK_SUCCESS
 * when every entry passes, BPCHECK_EMISMATCH when one fails (the report is
 * filled in either case), or an error for mismatched shapes.  A NaN in g
 * always fails. */
int bpcheck_compare(const bpcheck_params *r, const bpcheck_params *g,
                    const bpcheck_tolerance *tol, bpcheck_report *report);

/* (IN.3) The input gradient's check: the reference dx (and, where layer 1
 * or a later one has an exact relu kink, the reference with relu'(0) = 1 in
 * alt, *have_alt set) and its tolerance, (CD.10) with the bounds of
 * (IN.2):  tol_js = K (e_js + e_p,js) + eps_p max |dx| + eta_p.  Every
 * matrix n_0 x B; alt may be NULL. */
int bpcheck_tolerance_derive_inputs(const bpcheck_net *net,
                                    const bpcheck_batch *batch,
                                    bpcheck_precision p, gsl_matrix *dx,
                                    gsl_matrix *tol, gsl_matrix *alt,
                                    int *have_alt);

/* The comparison of a candidate's dC/da^0 with the reference: entry (j, s)
 * passes when g_js is within atol + rtol max(|g|, |r|) + tol_js of r_js or
 * of the interval to alt_js (alt may be NULL). */
typedef struct {
  size_t n_checked, n_fail;
  double max_ratio;        /* max error / tolerance */
  size_t worst_s, worst_j; /* sample and input of the worst entry */
  double expected, received, tol;
  size_t first_s, first_j; /* the first failing entry, in sample order */
} bpcheck_input_report;

int bpcheck_compare_inputs(const gsl_matrix *r, const gsl_matrix *alt,
                           const gsl_matrix *g, const gsl_matrix *tol,
                           double atol, double rtol,
                           bpcheck_input_report *rep);

/* Central differences -------------------------------------------------- */

/* For each parameter theta_i, central differences at h, h/2, h/4 and
 * Richardson's table over them: error O(h^6) for a step h = eps^(1/7)
 * max(1, |theta_i|) rounded to a power of two, and an estimate of the error
 * of each entry (truncation from the table, plus rounding from a running
 * error analysis of the forward pass, proofs/06-central-differences.md).
 * Evaluates the cost through the matrix forward pass only; shares no code with
 * either backprop.  Every parameter is perturbed in place and restored
 * exactly. */
typedef struct bpcheck_fdiff_workspace bpcheck_fdiff_workspace;
int bpcheck_fdiff_alloc(bpcheck_fdiff_workspace **w, const bpcheck_net *net,
                        size_t B);
void bpcheck_fdiff_free(bpcheck_fdiff_workspace *w);
/* g <- the estimate of dC/dtheta; err <- its error estimate (may be NULL).
 * An entry whose steps cross a relu kink (a relu input changes sign) is
 * tried again with two levels of the step eps^(1/3) max(1, |theta_i|); if
 * those cross it too, it is not differentiable there: its error estimate
 * is +inf. */
int bpcheck_fdiff_gradient(bpcheck_net *net, const bpcheck_batch *batch,
                           bpcheck_params *g, bpcheck_params *err,
                           bpcheck_fdiff_workspace *w);
/* The same for the entries of W^l and b^l only (l = 1..L); the other
 * entries of g and err are left as they are. */
int bpcheck_fdiff_layer(bpcheck_net *net, const bpcheck_batch *batch, size_t l,
                        bpcheck_params *g, bpcheck_params *err,
                        bpcheck_fdiff_workspace *w);
/* The number of such entries in the last bpcheck_fdiff_gradient() (or
 * _layer()). */
size_t bpcheck_fdiff_kinks(const bpcheck_fdiff_workspace *w);

/* (IN.4) dC/da^0 (n_0 x B) by central differences in x, with an error
 * estimate for every entry (proofs/10-weight-decay.md): x_js enters only
 * sample s's cost, so Richardson's table over the steps h, h/2, h/4 of
 * (CD.4) differences C_s alone, r C_s's derivative with the estimate
 * (CD.6) from the rounding bound of C_s.  An entry whose steps cross a relu
 * kink (a relu input of its sample changes sign) is tried again with two
 * levels of the smaller step; if those cross it too, its estimate is +inf.
 * Evaluates costs through the matrix forward pass only, the steps of many
 * entries as the columns of one batch; the batch is not modified. */
typedef struct bpcheck_fdiff_inputs_workspace bpcheck_fdiff_inputs_workspace;
int bpcheck_fdiff_inputs_alloc(bpcheck_fdiff_inputs_workspace **w,
                               const bpcheck_net *net, size_t B);
void bpcheck_fdiff_inputs_free(bpcheck_fdiff_inputs_workspace *w);
int bpcheck_fdiff_inputs(const bpcheck_net *net, const bpcheck_batch *batch,
                         gsl_matrix *dx, gsl_matrix *err,
                         bpcheck_fdiff_inputs_workspace *w);
/* The number of entries of the last bpcheck_fdiff_inputs() skipped so. */
size_t bpcheck_fdiff_inputs_kinks(const bpcheck_fdiff_inputs_workspace *w);

/* Fast check ----------------------------------------------------------- */

/* The same central differences, error estimates and kink detection,
 * computed from the cached forward pass: perturbing W^l_kj changes only
 * z^l_k, so each step costs a rank-1 update and the layers after l, and the
 * steps of many parameters pass through those layers as one wide dgemm.
 * Equal to bpcheck_fdiff_gradient within rounding; much faster. */
typedef struct bpcheck_fastfd_workspace bpcheck_fastfd_workspace;
int bpcheck_fastfd_alloc(bpcheck_fastfd_workspace **w, const bpcheck_net *net,
                         size_t B);
void bpcheck_fastfd_free(bpcheck_fastfd_workspace *w);
int bpcheck_fastfd_gradient(const bpcheck_net *net, const bpcheck_batch *batch,
                            bpcheck_params *g, bpcheck_params *err,
                            bpcheck_fastfd_workspace *w);
size_t bpcheck_fastfd_kinks(const bpcheck_fastfd_workspace *w);

/* The same derivatives from central differences in z (CD.12): one
 * Richardson table per node k of layer l and sample s, for
 * D_ks = r dC_s/dz^l_ks, from the steps of b^l_k (which move z^l_ks in
 * every sample at once); then, since z^l is linear in W^l with coefficient
 * a^(l-1) (FC.1), dC/dW^l_kj = sum_s a^(l-1)_js D_ks and
 * dC/db^l_k = sum_s D_ks, each with its error estimate carried through
 * the sum (and, with weight decay, lambda W_kj).  n_l tables per layer
 * instead of n_l (n_(l-1) + 1): verify's full check.  Kinks as
 * bpcheck_fastfd_gradient's, per node and sample. */
int bpcheck_fastfd_nodes(const bpcheck_net *net, const bpcheck_batch *batch,
                         bpcheck_params *g, bpcheck_params *err,
                         bpcheck_fastfd_workspace *w);

/* Complex step --------------------------------------------------------- */

/* The complex step: dC/dtheta_i = Im C(theta + i h e_i) / h with h = 1e-20,
 * through a forward pass of its own in C99 complex arithmetic (CS.1)-(CS.3):
 * no cancellation, so accurate to rounding, like backprop itself; relu's
 * kink is never crossed (the step is imaginary). */
typedef struct bpcheck_cstep_workspace bpcheck_cstep_workspace;
int bpcheck_cstep_alloc(bpcheck_cstep_workspace **w, const bpcheck_net *net);
void bpcheck_cstep_free(bpcheck_cstep_workspace *w);
int bpcheck_cstep_gradient(const bpcheck_net *net, const bpcheck_batch *batch,
                           bpcheck_params *g, bpcheck_cstep_workspace *w);

/* Directional and Taylor ----------------------------------------------- */

/* Directional checks (proofs/08-directional-and-taylor.md): the whole
 * gradient g along random directions v, four forward passes each whatever
 * the number of parameters: v . g against the Richardson central
 * difference of C along v, within BPCHECK_FD_SAFETY times its error
 * estimate (DR.1), (DR.2).  The parameters are restored exactly. */
typedef struct {
  size_t checked, failed, kinks; /* directions; kinks: skipped (ACT.3) */
  size_t overflows; /* skipped: C(theta +/- h v) not a finite double */
  double max_ratio; /* max |v.g - D_v| / tolerance */
  double expected, received, tol; /* D_v and v.g of the worst direction */
} bpcheck_directional_result;

typedef struct bpcheck_directional_workspace bpcheck_directional_workspace;
int bpcheck_directional_alloc(bpcheck_directional_workspace **w,
                              const bpcheck_net *net, size_t B);
void bpcheck_directional_free(bpcheck_directional_workspace *w);
/* k directions from rng; BPCHECK_EMISMATCH when one disagrees. */
int bpcheck_directional_check(bpcheck_net *net, const bpcheck_batch *batch,
                              const bpcheck_params *g, size_t k, gsl_rng *rng,
                              bpcheck_directional_workspace *w,
                              bpcheck_directional_result *res);
/* The same with directions that move only W^l and b^l (l = 1..L): which
 * layer a disagreeing direction comes from. */
int bpcheck_directional_check_layer(bpcheck_net *net,
                                    const bpcheck_batch *batch,
                                    const bpcheck_params *g, size_t l,
                                    size_t k, gsl_rng *rng,
                                    bpcheck_directional_workspace *w,
                                    bpcheck_directional_result *res);
/* The Taylor-remainder test (TY.1)-(TY.3): the slope of log |C(theta + h v)
 * - C(theta) - h v.g| against log h over the smallest (at most four) of h =
 * 2^-1..2^-40 (of the parameters' scale) that rise above rounding and over
 * which it still falls: about 2 when g is the gradient, about 1 when it is
 * not; NaN when fewer than 3 such steps (*points says how many counted). */
int bpcheck_taylor_slope(bpcheck_net *net, const bpcheck_batch *batch,
                         const bpcheck_params *g, gsl_rng *rng,
                         bpcheck_directional_workspace *w, double *slope,
                         size_t *points);

/* Randomized cross-check ----------------------------------------------- */

/* How a gradient is checked: every entry (central differences and the
 * complex step, O(P) cost evaluations), along random directions (O(1);
 * when one fails, directions within each layer, then every entry of the
 * layers whose directions fail, to name it), or directional above a
 * parameter count and full below it. */
typedef enum {
  BPCHECK_MODE_FULL = 0,
  BPCHECK_MODE_DIRECTIONAL,
  BPCHECK_MODE_AUTO
} bpcheck_mode;

/* The parameter count above which BPCHECK_MODE_AUTO goes directional. */
#define BPCHECK_AUTO_PARAMS 20000

/* The space of random architectures. */
typedef struct {
  size_t max_depth; /* hidden layers 0..max_depth, so L = 1..max_depth+1 */
  size_t max_width; /* every n_l in min_width..max_width */
  size_t max_batch; /* B in 1..max_batch */
  size_t min_width; /* 1 by default (a softmax output has at least 2) */
  int same_width;   /* every hidden layer one width (n_1 = ... = n_(L-1)) */
  unsigned hidden;  /* bit set of activations for hidden layers */
  unsigned output;  /* bit set of activations for the output layer */
  unsigned costs;   /* bit set of costs */
  unsigned reductions;
  int same_hidden;        /* one activation for every hidden layer */
  double tolerance_scale; /* scales every tolerance of bpcheck_selftest
                             (1: as derived); below 1 it shows how much
                             margin they have */
  bpcheck_mode mode;      /* how bpcheck_selftest checks each trial */
  double weight_decay;    /* lambda of every network drawn (WD.1); 0 */
} bpcheck_space;

/* Depth 0..4 hidden layers, widths 1..16 (hidden layers of any widths),
 * batch 1..8, every activation, cost and reduction. */
void bpcheck_space_default(bpcheck_space *s);
/* BPCHECK_EINVAL when no valid architecture can be drawn from s. */
int bpcheck_space_validate(const bpcheck_space *s);
/* Draws a valid architecture into the caller's arrays n[0..max_depth+1] and
 * f[1..max_depth+1] (f[0] unused), and a batch size. */
int bpcheck_space_draw(const bpcheck_space *s, gsl_rng *rng, bpcheck_arch *a,
                       size_t *n, bpcheck_activation *f, size_t *B);

/* One trial: literal vs matrix (their gradients and their dC/da^0), and
 * both vs the complex step, the directional check and central differences,
 * and their dC/da^0 vs central differences in x (or, in directional mode,
 * the directions, then central differences of the layers that disagree). */
typedef struct {
  size_t trial;
  unsigned long seed; /* reproduces this trial alone */
  char arch[256];     /* bpcheck_net_describe(), then " batch B" */
  size_t L, P, B;     /* layers, parameters, batch */
  size_t act[BPCHECK_N_ACTIVATIONS]; /* layers with each activation */
  bpcheck_cost cost;
  bpcheck_reduction reduction;
  int status;           /* BPCHECK_SUCCESS, BPCHECK_EMISMATCH, or error */
  double lm_ratio;      /* literal vs matrix: max |diff| / tolerance */
  double in_ratio;      /* the same for dC/da^0, (IN.3) */
  double cs_ratio;      /* backprop vs complex step, the same measure */
  double dr_ratio;      /* directional check: max error / tolerance */
  double taylor_slope;  /* Taylor remainder slope (NaN: too few steps) */
  int directional_only; /* checked along directions only (mode) */
  double fd_ratio;      /* backprop vs central differences: max |diff| /
                           tolerance */
  double in_fd_ratio;   /* the same for dC/da^0 vs central differences in
                           x, (IN.5) (full mode only) */
  size_t kinks;         /* entries skipped: their steps cross a relu kink */
  bpcheck_entry worst;  /* the worst entry of the failing comparison (for
                           dC/da^0: l = 0, k the sample, j the input) */
  const char *failed;   /* which comparison failed, or NULL */
} bpcheck_trial;

typedef struct {
  size_t trials, passed, failed, errors;
  double lm_ratio, fd_ratio; /* worst over the trials */
  double in_fd_ratio;        /* dC/da^0 vs central differences (IN.5) */
  double in_ratio;           /* literal vs matrix dC/da^0 (IN.3) */
  double cs_ratio, dr_ratio;
  double taylor_min;       /* the smallest Taylor slope (expected ~2) */
  size_t taylor_slopes;    /* trials where it could be fitted */
  size_t directional_only; /* trials checked along directions only */
  size_t act[BPCHECK_N_ACTIVATIONS]; /* layers drawn with each */
  size_t cost[BPCHECK_N_COSTS];
  size_t reduction[BPCHECK_N_REDUCTIONS];
  size_t depth[33]; /* trials by L (L >= 32 at 32) */
  size_t max_params;
  size_t kinks;         /* entries skipped at a relu kink, in all */
  size_t first_failure; /* trial number, valid when failed > 0 */
} bpcheck_summary;

/* Called after every trial (may be NULL); a non-zero return stops the run.
 */
typedef int (*bpcheck_trial_fn)(const bpcheck_trial *t, void *data);

/* Runs trials t = 0..trials-1; trial t draws everything from a generator
 * seeded with seed + t.  Returns BPCHECK_SUCCESS when every trial passed,
 * BPCHECK_EMISMATCH when one failed, or an error. */
int bpcheck_selftest(const bpcheck_space *s, size_t trials, unsigned long seed,
                     bpcheck_summary *sum, bpcheck_trial_fn fn, void *data);
/* One trial on its own. */
int bpcheck_selftest_trial(const bpcheck_space *s, unsigned long seed,
                           bpcheck_trial *t);

/* The tolerances of the cross-check (derived in
 * proofs/06-central-differences.md, (CD.7) to (CD.10); lib/checks.c).
 *
 * Literal vs matrix, and backprop vs complex step: each gradient is within
 * the first-order bound of its rounding error, bpcheck_bound_gradient
 * (CD.8); two of them within the tolerance of (CD.10) at double precision.
 * Measured worst over 20000 trials: 0.046 of it (complex step: 0.11).
 *
 * Backprop vs central differences (through the nodes' tables, (CD.12)):
 * the error estimate of each entry is already a bound to first order (the
 * truncation of the table's O(h^4) entries, which bounds that of its O(h^6)
 * result; the rounding of each cost from a running error analysis of the
 * forward pass, (CD.7); both carried through the sum over the batch); K = 2
 * covers the neglected second-order terms, and (CD.10) the reference's own
 * rounding.  Measured worst over 20000 trials: 0.029 of that.
 *
 * dC/da^0 vs central differences in x (IN.4), (IN.5): the same K on the
 * estimate of each entry (from the rounding bound of its sample's cost
 * alone), plus (IN.3).  Measured worst over 20000 trials: 0.039 of that. */
#define BPCHECK_FD_SAFETY 2.0 /* K on the central differences' estimate */

/* The checks a gradient is put through (bpcheck_checks_compare takes the
 * first three), and the columns of the bug zoo's table (bpcheck_hunt). */
enum {
  BPCHECK_CHECK_MATRIX,      /* vs the matrix backprop, (CD.10) */
  BPCHECK_CHECK_FDIFF,       /* vs central differences, K x estimate +
                                (CD.10) */
  BPCHECK_CHECK_CSTEP,       /* vs the complex step, (CD.10) */
  BPCHECK_CHECK_DIRECTIONAL, /* 4 random directions */
  BPCHECK_CHECK_TAYLOR,      /* Taylor slope under 1.5 */
  BPCHECK_N_CHECKS
};

/* The checks of a gradient against the oracles, defined once (lib/checks.c):
 * for one network and batch, the reference (the matrix backprop, with its
 * tolerance (CD.10) at double precision) and the oracles asked for are
 * computed once; a gradient is then compared with each. */
typedef struct bpcheck_checks bpcheck_checks;
enum {
  BPCHECK_CHECKS_REFERENCE = 1, /* the matrix backprop and its tolerance */
  BPCHECK_CHECKS_FDIFF = 2,     /* central differences (the fast check) */
  BPCHECK_CHECKS_CSTEP = 4,     /* the complex step */
  BPCHECK_CHECKS_MORE = 8       /* the same network: keep what was computed */
};
int bpcheck_checks_alloc(bpcheck_checks **c, const bpcheck_net *net, size_t B);
void bpcheck_checks_free(bpcheck_checks *c);
/* Computes the reference and the oracles of which for (net, batch). */
int bpcheck_checks_prepare(bpcheck_checks *c, const bpcheck_net *net,
                           const bpcheck_batch *batch, unsigned which);
/* g against BPCHECK_CHECK_MATRIX, _FDIFF or _CSTEP, every tolerance times
 * scale, into rep: BPCHECK_EMISMATCH when an entry fails. */
int bpcheck_checks_compare(bpcheck_checks *c, const bpcheck_params *g,
                           int check, double scale, bpcheck_report *rep);
/* The reference (the matrix backprop) of the last prepare. */
const bpcheck_params *bpcheck_checks_reference(const bpcheck_checks *c);
/* Entries whose central difference crossed a relu kink (skipped). */
size_t bpcheck_checks_kinks(const bpcheck_checks *c);

/* Case files and validation -------------------------------------------- */

/* A case file (doc/reference.md): the network, the batch, and the candidate's
 * "gradients" when the file has them (else grad is NULL); dx, the
 * candidate's dC/da^0 when its "gradients" have "inputs" (else NULL), is
 * n_0 x B like the batch's X. */
typedef struct {
  bpcheck_net *net;
  bpcheck_batch *batch;
  bpcheck_params *grad;
  gsl_matrix *dx;
} bpcheck_case;

/* The default limit on the parameters (and batch numbers) of a case. */
#define BPCHECK_CASE_MAX_PARAMS ((size_t)10000000)

/* A network and batch of the architecture (parameters zero), no gradients. */
int bpcheck_case_alloc(bpcheck_case **c, const bpcheck_arch *arch, size_t B);
void bpcheck_case_free(bpcheck_case *c);
/* Parses a case; name (the file's) prefixes every error message, which
 * names the field, and the line and column of malformed JSON. */
int bpcheck_case_parse(const char *text, size_t len, const char *name,
                       size_t max_params, bpcheck_case **c);
/* Reads and parses a file; "-" is standard input.  The file is refused
 * (BPCHECK_ETOOBIG) as soon as it passes max_bytes, before anything is
 * parsed: a regular file by its size, anything else (a pipe, FIFO or
 * device) while it is read.  A FIFO or device named by path may stay
 * silent at most BPCHECK_CASE_READ_WAIT seconds (a FIFO with no writer).
 * Out of memory, reading or parsing, is BPCHECK_ENOMEM. */
int bpcheck_case_read_max(const char *path, size_t max_params,
                          size_t max_bytes, bpcheck_case **c);
/* The same with max_bytes = bpcheck_case_max_bytes(max_params). */
int bpcheck_case_read(const char *path, size_t max_params, bpcheck_case **c);
/* The default bound on a case file's bytes: BPCHECK_CASE_BYTES_PER_PARAM
 * for each parameter allowed (40 bytes for each of its value, its gradient
 * and a number of the batch), plus 1 MiB. */
#define BPCHECK_CASE_BYTES_PER_PARAM ((size_t)120)
#define BPCHECK_CASE_READ_WAIT 10
size_t bpcheck_case_max_bytes(size_t max_params);
/* The case as one line of JSON (with its gradients if asked and present);
 * free it with bpcheck_case_dump_free.  NULL when out of memory. */
char *bpcheck_case_dump(const bpcheck_case *c, int with_gradients);
void bpcheck_case_dump_free(char *text);
/* A candidate's answer of the external protocol, {"weights": [...],
 * "biases": [...]} in the shapes of g, into g; or {"error": "..."}, whose
 * message is copied to candidate_error and BPCHECK_ECANDIDATE returned; or
 * {"skip": "reason"}, the reason copied there and BPCHECK_ESKIP returned. */
int bpcheck_answer_parse(const char *text, size_t len, bpcheck_params *g,
                         char *candidate_error, size_t errlen);
/* The same, where the answer may also carry "inputs", dC/da^0: one row of
 * n_0 numbers per sample, like the case's inputs; dx (n_0 x B) receives it
 * and *have_dx says whether it was there.  dx NULL: "inputs" is refused. */
int bpcheck_answer_parse_inputs(const char *text, size_t len,
                                bpcheck_params *g, gsl_matrix *dx,
                                int *have_dx, char *candidate_error,
                                size_t errlen);

typedef enum {
  BPCHECK_BUG_NONE = 0,
  BPCHECK_BUG_FACTOR,            /* g = c r, c in factor */
  BPCHECK_BUG_SIGN,              /* g = -r */
  BPCHECK_BUG_OUTPUT_DERIVATIVE, /* f_L' missing from delta^L */
  BPCHECK_BUG_TRANSPOSED,        /* dC/dW^layer transposed */
  BPCHECK_BUG_BIAS,              /* only the biases wrong */
  BPCHECK_BUG_ONE_LAYER,         /* errors confined to one layer */
  BPCHECK_BUG_PRECISION,         /* errors of float32's size */
  BPCHECK_BUG_SHORTCUT,          /* delta^L = a - y where it does not hold */
  BPCHECK_BUG_ENTRY,             /* one entry wrong, the rest right */
  BPCHECK_BUG_SMALL,             /* small errors: an approximation */
  BPCHECK_BUG_ROUNDED,           /* the answer printed with few digits */
  BPCHECK_BUG_DECAY,             /* the weight decay's term wrong (WD.3):
                                    missing, scaled, or on the biases */
  BPCHECK_BUG_UNKNOWN
} bpcheck_bug;

typedef struct {
  bpcheck_bug bug;
  double factor; /* for BPCHECK_BUG_FACTOR (and the bias factor) */
  size_t layer;  /* for the bugs of one layer */
  char text[320];
} bpcheck_diagnosis;

/* The bug's name in reports ("factor", "sign", ...). */
const char *bpcheck_bug_name(bpcheck_bug b);

/* The likely bug behind the candidate g's differences from the reference r
 * (proofs/ equations cited in d->text). */
int bpcheck_diagnose(const bpcheck_net *net, const bpcheck_batch *batch,
                     const bpcheck_params *r, const bpcheck_params *g,
                     const bpcheck_tolerance *tol, bpcheck_diagnosis *d);

/* A candidate backprop: the gradient of the case's cost into grad (shaped
 * like c->net->theta).  Returns BPCHECK_SUCCESS, or BPCHECK_ECANDIDATE (with
 * bpcheck_fail's message) when it could not answer. */
typedef int (*bpcheck_candidate_fn)(const bpcheck_case *c,
                                    bpcheck_params *grad, void *data);

/* What a run of bpcheck_validate covered: the trials the candidate
 * answered (skipped ones apart). */
typedef struct {
  size_t act[BPCHECK_N_ACTIVATIONS]; /* layers drawn with each */
  size_t cost[BPCHECK_N_COSTS];
  size_t reduction[BPCHECK_N_REDUCTIONS];
  size_t depth[33];  /* trials by L (L >= 32 at 32) */
  size_t max_params; /* the largest network's parameters */
  size_t max_batch;  /* the largest batch */
} bpcheck_coverage;

/* An experiment: the candidate run on a variant of its failing case, to
 * tell hypotheses apart (bpcheck_validate, where the shrunk case is
 * ambiguous or the two diagnoses differ). */
typedef struct {
  char what[96];    /* the variant, e.g. "the shrunk case at batch 2 (each
                       sample twice)" */
  int status;       /* BPCHECK_SUCCESS (it passed), BPCHECK_EMISMATCH,
                       BPCHECK_ESKIP (declined) */
  double factor;    /* the least-squares factor of its answer's data term
                       over the reference's, <g - D, r - D>/<r - D, r - D>
                       with D = lambda W on the weights, 0 on the biases
                       (the decay's term, WD.8; D = 0 without decay) */
  char showed[200]; /* what it showed, in words */
} bpcheck_experiment;

#define BPCHECK_MAX_EXPERIMENTS 4

typedef struct {
  size_t trials;             /* trials run */
  unsigned long seed;        /* of the last trial run */
  char arch[256];            /* the last trial's architecture, as drawn */
  bpcheck_case *failure;     /* the smallest failing case, with the candidate's
                                gradients in failure->grad; or the case the
                                candidate failed on */
  bpcheck_params *reference; /* its reference gradient */
  bpcheck_report *report;    /* candidate vs reference */
  bpcheck_diagnosis diagnosis; /* of the shrunk case (failure) */
  size_t shrink_steps;         /* accepted reductions */
  int shrink_status;      /* BPCHECK_SUCCESS, or the error of the candidate
                             (or of an allocation) that stopped the shrinking:
                             the failure above is the smallest found before */
  char shrink_error[512]; /* its message */
  /* The failing case as drawn (before shrinking), with the candidate's
   * gradients, its reference, report and diagnosis.  original may be the
   * same case as failure when nothing was shrunk. */
  bpcheck_case *original;
  bpcheck_params *original_reference;
  bpcheck_report *original_report;
  bpcheck_diagnosis original_diagnosis;
  /* The diagnosis a report leads with: the shrunk case's, or the
   * original's where the shrunk case is ambiguous (every n_l = 1 at batch
   * 1, where dC/dW = x dC/db makes every error look like a constant factor;
   * an unnamed factor; a vaguer pattern) and the original names more. */
  bpcheck_diagnosis likely;
  int likely_from_original; /* 1: likely is the original case's */
  int shrunk_ambiguous;     /* the shrunk case's diagnosis is ambiguous */
  /* Experiments run on variants of the failing case, and what they
   * showed. */
  size_t n_experiments;
  bpcheck_experiment experiments[BPCHECK_MAX_EXPERIMENTS];
  /* The failure (the first one) as drawn. */
  size_t failure_trial;
  unsigned long failure_seed;
  char failure_arch[256];
  /* The whole run. */
  size_t passed, failed, skipped; /* trials */
  bpcheck_coverage coverage;
  double worst_margin;      /* the largest error / tolerance of a passing
                               trial (its report's max_ratio) */
  unsigned long worst_seed; /* the trial with it */
} bpcheck_validation;

/* How bpcheck_validate_run goes on. */
typedef struct {
  /* Stop after this many failing trials; 0: run every trial. */
  size_t max_failures;
  /* The candidate calls shrinking may spend on the first failure and on
   * each later one; 0: the defaults (2000, 200). */
  size_t shrink_budget, later_shrink_budget;
  /* Called after each trial (may be NULL). */
  void (*progress)(size_t trial, void *data);
  /* Called for each failing trial once it is shrunk and diagnosed, with a
   * validation that describes it alone (failure, original, diagnoses,
   * failure_trial, failure_seed, failure_arch); may be NULL. */
  void (*on_failure)(const bpcheck_validation *f, void *data);
  /* Called for each trial the candidate skipped (BPCHECK_ESKIP), with its
   * reason (bpcheck_errmsg() when it declined); may be NULL. */
  void (*on_skip)(size_t trial, unsigned long seed, const char *arch,
                  const char *reason, void *data);
} bpcheck_validate_options;

/* Randomized differential testing of a candidate: trial t draws a case from
 * s with seed + t, asks fn, and compares with the matrix backprop within
 * tol (with tol->derive, the derived tolerance of each case).  On the first
 * mismatch the case is shrunk -- fewer layers, identity hidden activations,
 * a quadratic cost, fewer nodes, fewer samples, simpler values -- while it
 * still fails, then the shrunk case and the original are diagnosed; an
 * error of fn while shrinking stops it and is kept in shrink_status and
 * shrink_error (the mismatch is returned).  A case fn declines
 * (BPCHECK_ESKIP) is counted in skipped, never a failure; a smaller case
 * it declines while shrinking is not taken.  progress (may be NULL) is
 * called after each trial with (trial, data).  Returns BPCHECK_SUCCESS,
 * BPCHECK_EMISMATCH, BPCHECK_ECANDIDATE, or an error. */
int bpcheck_validate(const bpcheck_space *s, size_t trials, unsigned long seed,
                     const bpcheck_tolerance *tol, bpcheck_candidate_fn fn,
                     void *data, void (*progress)(size_t trial, void *data),
                     bpcheck_validation *v);
/* The same, going on after failures as o says (o NULL: as
 * bpcheck_validate, stopping at the first).  v keeps the first failure,
 * with the counts and coverage of the whole run; a candidate error after
 * a failure returns BPCHECK_ECANDIDATE with v->failed > 0 and the first
 * failure kept. */
int bpcheck_validate_run(const bpcheck_space *s, size_t trials,
                         unsigned long seed, const bpcheck_tolerance *tol,
                         bpcheck_candidate_fn fn, void *data,
                         const bpcheck_validate_options *o,
                         bpcheck_validation *v);
void bpcheck_validation_free(bpcheck_validation *v);

/* Trace ---------------------------------------------------------------- */

/* Every quantity of the literal backprop, in the order it is computed, with
 * its indices and the equation it comes from: what a student writes on paper.
 * For each sample s: x and y, then z^l_k and a^l_k of the forward pass (a
 * softmax layer: every z^L_k before its a^L_k), the cost C_s, dC_s/da^L_k;
 * then backward, layer by layer, each delta^l_k after its factors: f_l'(z^l_k)
 * and, in a hidden layer, the sum dC_s/da^l_k = sum_i W^(l+1)_ik
 * delta^(l+1)_i (FC.5); for a softmax output the sum sum_i a^L_i dC/da^L_i
 * (ACT.8); then every dC_s/dW^l_kj and dC_s/db^l_k; after the last sample
 * the batch's dC/dW^l_kj, dC/db^l_k (COST.5) and C.  x is labelled
 * "definition" (a^0 = x), y with the cost's equation. */
typedef enum {
  BPCHECK_TRACE_X,      /* a^0_j = x_j of sample s (j in k) */
  BPCHECK_TRACE_Y,      /* y_k of sample s */
  BPCHECK_TRACE_Z,      /* z^l_k */
  BPCHECK_TRACE_A,      /* a^l_k */
  BPCHECK_TRACE_COST,   /* C_s */
  BPCHECK_TRACE_DC_DA,  /* dC_s/da^L_k */
  BPCHECK_TRACE_DELTA,  /* delta^l_k */
  BPCHECK_TRACE_DW,     /* dC_s/dW^l_kj of sample s */
  BPCHECK_TRACE_DB,     /* dC_s/db^l_k of sample s */
  BPCHECK_TRACE_GRAD_W, /* dC/dW^l_kj of the batch (s unused) */
  BPCHECK_TRACE_GRAD_B, /* dC/db^l_k of the batch */
  BPCHECK_TRACE_C,      /* C of the batch */
  BPCHECK_TRACE_FPRIME, /* f_l'(z^l_k), the factor of delta^l_k */
  BPCHECK_TRACE_BACK,   /* dC_s/da^l_k = sum_i W^(l+1)_ik delta^(l+1)_i */
  BPCHECK_TRACE_SM_SUM  /* sum_i a^L_i dC_s/da^L_i (ACT.8), k = 0 */
} bpcheck_trace_kind;

typedef struct {
  bpcheck_trace_kind kind;
  size_t s, l, k, j; /* sample, layer, receiving node, emitting node */
  double value;
  const char *equation; /* the label in proofs/, e.g. "FC.5" */
} bpcheck_trace_event;

/* Called for each event; a non-zero return stops the trace. */
typedef int (*bpcheck_trace_fn)(const bpcheck_trace_event *e, void *data);

/* Runs the literal backprop sample by sample and reports every quantity to
 * fn; nabla receives the batch gradient.  w is a literal workspace for net. */
int bpcheck_trace(const bpcheck_net *net, const bpcheck_batch *batch,
                  bpcheck_params *nabla, bpcheck_literal_workspace *w,
                  bpcheck_trace_fn fn, void *data);

/* Bug zoo -------------------------------------------------------------- */

/* Classic backprop bugs as mutants of the literal backprop, each a patch
 * of lib/literal.c (lib/zoo/NAME.patch, bpcheck_mutant_patch); the equation
 * each violates and what it does are in one table, lib/mutants.c
 * (bpcheck_mutant_equation, bpcheck_mutant_about). */
typedef enum {
  BPCHECK_MUTANT_NONE = 0,
  BPCHECK_MUTANT_NO_OUTPUT_DERIVATIVE,
  BPCHECK_MUTANT_DF_OF_A,
  BPCHECK_MUTANT_NOT_TRANSPOSED,
  BPCHECK_MUTANT_A_OF_L,
  BPCHECK_MUTANT_KJ_SWAPPED,
  BPCHECK_MUTANT_BIAS_NOT_REDUCED,
  BPCHECK_MUTANT_BATCH_MEAN_FORGOTTEN,
  BPCHECK_MUTANT_HALF_DROPPED,
  BPCHECK_MUTANT_SIGN_FLIPPED,
  BPCHECK_MUTANT_WRONG_LAYER_DELTA,
  BPCHECK_MUTANT_UPDATED_EARLY,
  BPCHECK_MUTANT_SOFTMAX_DIAGONAL,
  BPCHECK_MUTANT_RELU_PRIME_ONE,
  BPCHECK_MUTANT_J_LOOP_SHORT,
  BPCHECK_N_MUTANTS
} bpcheck_mutant;

/* The literal backprop with mutant m switched on. */
int bpcheck_literal_backprop_mutant(const bpcheck_net *net,
                                    const bpcheck_batch *batch,
                                    bpcheck_params *nabla, double *C,
                                    bpcheck_literal_workspace *w,
                                    bpcheck_mutant m);
/* bpcheck_trace of the literal backprop with mutant m switched on. */
int bpcheck_trace_mutant(const bpcheck_net *net, const bpcheck_batch *batch,
                         bpcheck_params *nabla, bpcheck_literal_workspace *w,
                         bpcheck_trace_fn fn, void *data, bpcheck_mutant m);
/* Its short name ("no_output_derivative"), the equation it violates
 * ("(FC.4)"), and what it does. */
const char *bpcheck_mutant_name(bpcheck_mutant m);
const char *bpcheck_mutant_equation(bpcheck_mutant m);
const char *bpcheck_mutant_about(bpcheck_mutant m);
/* The mutant as a unified diff against lib/literal.c (its lib/zoo patch);
 * "" for none. */
const char *bpcheck_mutant_patch(bpcheck_mutant m);

typedef struct {
  size_t trials;                        /* run */
  size_t first_catch[BPCHECK_N_CHECKS]; /* trial (from 1) of each check's
                                           first catch; 0: never */
} bpcheck_hunt;

/* Random trials from the space (trial t with seed + t) until every check
 * has caught mutant m, or max_trials. */
int bpcheck_mutant_hunt(const bpcheck_space *s, bpcheck_mutant m,
                        size_t max_trials, unsigned long seed,
                        bpcheck_hunt *h);

/* Any function --------------------------------------------------------- */

/* Any model's gradient, through its loss alone (proofs/09-any-function.md):
 * a C callback returns the loss C(theta) of a flat parameter vector of P
 * doubles, and its gradient when asked; bpcheck_check_function compares the
 * gradient at theta with Richardson central differences of loss calls,
 * entry by entry (full mode) or along random directions of random signs,
 * then names the tensors and the entries that disagree.
 *
 * The callback: *loss <- C(theta); when grad is not NULL, grad[0..P-1] <-
 * dC/dtheta as well.  It returns BPCHECK_SUCCESS, or anything else when it
 * cannot answer (bpcheck_fail's message is kept).  theta is never the
 * caller's array: the checker moves a copy of it.  C must be a
 * deterministic function of theta. */
typedef int (*bpcheck_loss_fn)(const double *theta, size_t P, double *loss,
                               double *grad, void *data);

/* A named tensor of the flat vector: its entries are the next
 * shape[0] x ... x shape[rank-1] doubles, row-major, so that entry
 * (3, 0, 1, 2) of "conv1.weight" is reported as conv1.weight[3,0,1,2]. */
#define BPCHECK_MAX_RANK 8
typedef struct {
  const char *name;    /* e.g. "conv1.weight" */
  size_t rank;         /* 1..BPCHECK_MAX_RANK */
  const size_t *shape; /* shape[0..rank-1], each >= 1 */
} bpcheck_tensor;

/* The checker's memory, allocated once for P parameters and the tensors
 * (copied; their sizes must add up to P; n_tensors = 0 means one tensor
 * "theta" of shape [P]).  A check allocates nothing. */
typedef struct bpcheck_function_workspace bpcheck_function_workspace;
int bpcheck_function_alloc(bpcheck_function_workspace **w, size_t P,
                           const bpcheck_tensor *tensors, size_t n_tensors);
void bpcheck_function_free(bpcheck_function_workspace *w);
/* Names entry i of the flat vector, "conv1.weight[3,0,1,2]" ("theta[i]"
 * without tensors). */
void bpcheck_function_entry_name(const bpcheck_function_workspace *w, size_t i,
                                 char *buf, size_t len);
/* After a check: whether the directions (or entries) of tensor t disagree;
 * and the number of tensors. */
int bpcheck_function_tensor_failed(const bpcheck_function_workspace *w,
                                   size_t t);
size_t bpcheck_function_tensors(const bpcheck_function_workspace *w);
/* The name of tensor t ("" when there is none). */
const char *bpcheck_function_tensor_name(const bpcheck_function_workspace *w,
                                         size_t t);
/* After a check: the point its result describes (theta, or the random
 * point near it that failed), P doubles owned by the workspace. */
const double *bpcheck_function_point(const bpcheck_function_workspace *w);

typedef struct {
  bpcheck_mode mode;        /* full, directional, or auto (the default) */
  size_t auto_params;       /* auto: directional above this P (default
                               BPCHECK_AUTO_PARAMS) */
  size_t directions;        /* random directions over all of theta (4);
                               one that meets a kink or overflows is
                               replaced, up to 4 times as many in all */
  size_t tensor_directions; /* per tensor, when one disagrees (2) */
  size_t entrywise_below;   /* a failing tensor of at most this many
                               entries is checked entry by entry; above,
                               by halving (32) */
  size_t max_named;         /* entries to name at most (16, <=
                               BPCHECK_FUNCTION_MAX_NAMED) */
  int taylor;               /* 1: also the Taylor slope (40 loss calls) */
  unsigned long seed;       /* of the directions and points (1) */
  size_t points;            /* random points near theta checked after it,
                               until one fails (0) */
  double spread;            /* their distance: theta_i + spread max(1,
                               |theta_i|) u_i, u_i uniform in [-1, 1]
                               (0.01) */
} bpcheck_function_options;

void bpcheck_function_options_default(bpcheck_function_options *o);

#define BPCHECK_FUNCTION_MAX_NAMED 64

/* An entry that disagrees: its central difference and the gradient. */
typedef struct {
  size_t index;    /* in theta */
  size_t tensor;   /* the tensor that holds it */
  char name[128];  /* "conv1.weight[3,0,1,2]" */
  double expected; /* the central difference of dC/dtheta_i */
  double received; /* the gradient's entry */
  double estimate; /* the error estimate E of the difference (AF.5) */
  double tol;      /* the allowance K E (AF.6) */
} bpcheck_function_entry;

typedef struct {
  int directional; /* 1: along directions; 0: entry by entry */
  size_t P;
  double loss; /* C(theta), from the loss alone */
  /* What the tolerance rests on (AF.1)-(AF.4): the loss's rounding noise
   * sigma observed from the scatter of loss calls at tiny steps, and e_C,
   * the bound on one loss value's rounding that is used. */
  double noise_sigma;
  double noise;       /* e_C = max(kappa sigma, eps |C|) */
  int noise_observed; /* 1: sigma resolved (AF.3); 0: not resolved,
                         the highest order's estimate used (an upper
                         one), or 0 when no loss value changed at all */
  double step;        /* h of the central differences (theta of scale 1) */
  /* Directions over all of theta (directional) or entries (full). */
  size_t checked, failed;
  size_t kinks;     /* not judged (AF.7): a kink within the step where
                       the small step agrees, differences that disagree
                       across steps, or a kink at theta itself */
  size_t overflows; /* not judged: a loss call is not finite */
  double max_ratio; /* max |received - expected| / tol over them */
  double expected, received, estimate, tol; /* of the worst */
  /* The Taylor remainder's slope (TY.2): ~2 for the gradient, ~1 for a
   * wrong one; NaN when fewer than 3 steps rise above the noise or a kink
   * breaks it (a slope that breaks down is reported, not judged). */
  double taylor_slope;
  size_t taylor_points;
  int taylor_kink; /* 1: the slope is under 1.5 although every direction
                      or entry agrees: the remainder breaks down at a kink
                      within the Taylor steps, not a wrong gradient */
  /* The culprits. */
  size_t tensors_failed; /* tensors whose own directions disagree */
  size_t first_tensor;   /* the first of them, when tensors_failed > 0 */
  size_t n_named;        /* entries named */
  bpcheck_function_entry named[BPCHECK_FUNCTION_MAX_NAMED];
  size_t loss_calls, grad_calls; /* calls of the callback of each kind,
                                    at every point */
  size_t point; /* the point described: 0, theta; k, the k-th random
                   point (bpcheck_function_point) */
} bpcheck_function_result;

/* Checks fn's gradient at theta (P doubles, as the workspace), then at
 * opt->points random points near it, until one fails.  Returns
 * BPCHECK_SUCCESS when every direction (or entry) agrees within its
 * tolerance or is a kink, BPCHECK_EMISMATCH when one disagrees (with the
 * tensors and entries named in res), BPCHECK_ECANDIDATE when fn fails,
 * BPCHECK_EDOM when the loss or gradient at theta is not finite, or an
 * error for bad arguments.  opt may be NULL (the defaults). */
int bpcheck_check_function(bpcheck_loss_fn fn, void *data, const double *theta,
                           size_t P, const bpcheck_function_options *opt,
                           bpcheck_function_workspace *w,
                           bpcheck_function_result *res);

/* The loss along a direction, for a model evaluated elsewhere (another
 * process, a device) that would rather be sent a direction once than a
 * theta at every loss call: *loss <- C(x), x_i = theta0_i + t v_i for a <=
 * i < b and x_i = theta0_i elsewhere (v[i] = +1 or -1 on [a, b); outside
 * it v holds anything); theta0 is the point of the last gradient call
 * (theta, or a random point near it).  direction numbers (v, a, b): 1 for
 * the first of each check, then a new number whenever the direction
 * changes, the same number for the same one, so that each direction can be
 * sent once.  Form x_i as theta0_i + t v_i in double (t v_i is exact, the
 * sum rounded once): then it is bit for bit the x the checker gives fn
 * without the callback, and the check is the same (proofs/09, "Steps
 * along a direction").  Returns as bpcheck_loss_fn. */
typedef int (*bpcheck_along_fn)(const double *theta0, const signed char *v,
                                size_t a, size_t b, size_t direction, double t,
                                double *loss, void *data);

/* bpcheck_check_function with every loss call through along when it is
 * not NULL (fn answers the gradient calls): the same calls in the same
 * order, the same result. */
int bpcheck_check_function_along(bpcheck_loss_fn fn, bpcheck_along_fn along,
                                 void *data, const double *theta, size_t P,
                                 const bpcheck_function_options *opt,
                                 bpcheck_function_workspace *w,
                                 bpcheck_function_result *res);

#ifdef __cplusplus
}
#endif

#endif /* BPCHECK_H */
