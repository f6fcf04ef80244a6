/* fastfd.c -- the same central differences as fdiff.c, computed from the
 * cached forward pass instead of a full forward pass per step.
 *
 * Perturbing W^l_kj by t changes only z^l_k, by t a^(l-1)_j (FC.1); so only
 * a^l_k changes, z^(l+1) changes by the column W^(l+1)_{.k} times that
 * change (a rank-1 update), and only the layers after l+1 need full
 * products.  The cost change is accumulated as a difference,
 *
 *   dC(t) = r sum_s sum_k [term(z'^L_ks, y_ks) - term(z^L_ks, y_ks)]
 *
 * (each term from z and a = f(z) by output.c; a softmax column's cost at
 * once),
 *
 * so that C(theta + t e_i) - C(theta - t e_i) = dC(t) - dC(-t) does not carry
 * the cancellation of two full costs.  The four steps +/-h, +/-h/2 of every
 * parameter of a layer are laid side by side, B columns each, and pass
 * through the downstream layers as one wide product:
 *
 *   dZ^(m+1) = W^(m+1) dA^m      [n_(m+1) x qB] = [n_(m+1) x n_m] [n_m x qB]
 *
 * The derivative and its error estimate are those of fdiff.c, (CD.5) and
 * (CD.6), through bpcheck_fdiff_richardson, and so is the second try, with
 * four smaller steps, of a parameter whose steps cross a relu kink; the
 * results equal the naive check's within rounding (tests/check_fastfd.c). */

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_blas.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "internal.h"

/* The columns of a chunk: STEPS steps per parameter, B samples per step. */
#define CHUNK_COLUMNS 1024
#define STEPS (2 * BPCHECK_FDIFF_LEVELS)

/* The buffers of one thread: a chunk of q perturbations. */
typedef struct {
  double *dZ, *A; /* n_max x qB each */
  double *t, *dC; /* per perturbation: its step and cost change */
  double *dCs;    /* per column (perturbation p, sample s): r dC_s */
  size_t *k, *j;  /* its node, and emitting node */
  int *bias, *kink;
  unsigned char *kinks; /* per column: a relu input crossed its kink */
  size_t *redo;     /* the parameters of the chunk to try again near a kink */
  double moved_eps; /* (CD.13) m eps */
} lane;

struct bpcheck_fastfd_workspace {
  size_t L, B, q; /* q perturbations per chunk */
  size_t *n;
  bpcheck_matrix_workspace *forward; /* the cached Z^l, A^l */
  double *term0;  /* term(z^L_ks, y_ks), n_L x B; softmax: C_s in row 0 */
  double *D, *eD; /* nodes: dC/dz^l_ks and its error, n_l x B */
  lane *lanes;    /* one per thread */
  int n_lanes;
  size_t kinks;
};

static int
lane_alloc(lane *ln, size_t cells, size_t q, size_t B)
{
  ln->dZ = bpcheck_calloc(cells, sizeof *ln->dZ);
  ln->A = bpcheck_calloc(cells, sizeof *ln->A);
  ln->t = bpcheck_calloc(q, sizeof *ln->t);
  ln->dC = bpcheck_calloc(q, sizeof *ln->dC);
  ln->dCs = bpcheck_calloc(q * B, sizeof *ln->dCs);
  ln->kinks = bpcheck_calloc(q * B, sizeof *ln->kinks);
  ln->k = bpcheck_calloc(q, sizeof *ln->k);
  ln->j = bpcheck_calloc(q, sizeof *ln->j);
  ln->bias = bpcheck_calloc(q, sizeof *ln->bias);
  ln->kink = bpcheck_calloc(q, sizeof *ln->kink);
  ln->redo = bpcheck_calloc(q, sizeof *ln->redo);
  return ln->dZ && ln->A && ln->t && ln->dC && ln->dCs && ln->kinks && ln->k &&
         ln->j && ln->bias && ln->kink && ln->redo;
}

static void
lane_free(lane *ln)
{
  BPCHECK_FREE(ln->dZ, ln->A, ln->t, ln->dC, ln->dCs, ln->kinks, ln->k, ln->j,
               ln->bias, ln->kink, ln->redo);
}

int
bpcheck_fastfd_alloc(bpcheck_fastfd_workspace **out, const bpcheck_net *net,
                     size_t B)
{
  size_t n_max = 1;
  for (size_t l = 0; l <= net->L; l++)
    n_max = net->n[l] > n_max ? net->n[l] : n_max;
  bpcheck_fastfd_workspace *w = bpcheck_calloc(1, sizeof *w);
  if (!w)
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for the fastfd workspace");
  int status = bpcheck_matrix_alloc(&w->forward, net, B);
  if (status) {
    free(w);
    return status;
  }
  w->L = net->L;
  w->B = B;
  w->q = STEPS * (B * STEPS < CHUNK_COLUMNS ? CHUNK_COLUMNS / (B * STEPS) : 1);
  w->n = bpcheck_sizes_dup(net->L, net->n);
  w->term0 = bpcheck_calloc(net->n[net->L] * B, sizeof *w->term0);
  w->D = bpcheck_calloc(n_max * B, sizeof *w->D);
  w->eD = bpcheck_calloc(n_max * B, sizeof *w->eD);
#ifdef _OPENMP
  w->n_lanes = omp_get_max_threads();
#else
  w->n_lanes = 1;
#endif
  w->lanes = bpcheck_calloc((size_t)w->n_lanes, sizeof *w->lanes);
  int ok = w->n && w->term0 && w->D && w->eD && w->lanes;
  size_t cells = n_max * w->q * B; /* <= 2^31 * 1024: no overflow */
  for (int i = 0; ok && i < w->n_lanes; i++) {
    ok = lane_alloc(&w->lanes[i], cells, w->q, B);
    w->lanes[i].moved_eps =
        (4.0 + (double)net->L + (double)net->n[net->L] * (double)B) *
        DBL_EPSILON;
  }
  if (!ok) {
    bpcheck_fastfd_free(w);
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for the fastfd workspace");
  }
  *out = w;
  return BPCHECK_SUCCESS;
}

void
bpcheck_fastfd_free(bpcheck_fastfd_workspace *w)
{
  if (!w)
    return;
  bpcheck_matrix_free(w->forward);
  for (int i = 0; w->lanes && i < w->n_lanes; i++)
    lane_free(&w->lanes[i]);
  BPCHECK_FREE(w->lanes, w->n, w->term0, w->D, w->eD, w);
}

size_t
bpcheck_fastfd_kinks(const bpcheck_fastfd_workspace *w)
{
  return w->kinks;
}

/* The change of a softmax column's cost: column c of z' (stride cols)
 * against sample s, whose unperturbed cost is cached in term0[s]. */
static double
column_cost_change(const bpcheck_net *net, const gsl_matrix *Y,
                   const double *term0, const double *Zp, size_t cols,
                   size_t c, size_t s)
{
  return bpcheck_output_softmax_cost(net->cost, net->n[net->L], Zp + c, cols,
                                     Y->data + s, Y->tda) -
         term0[s];
}

/* dC of the q perturbations of layer l in the lane (t, k, j, bias): each
 * moves z^l_k by t a^(l-1)_j (or t for a bias). */
static void
chunk_costs(const bpcheck_net *net, const bpcheck_batch *batch, size_t l,
            size_t q, const bpcheck_fastfd_workspace *w, lane *ln)
{
  const size_t L = net->L, B = w->B, cols = q * B;
  const double r = bpcheck_reduction_factor(net->reduction, B);
  /* The cached Z^l, A^l have rows of B; A^0 = X is the caller's. */
  const double *Zl = bpcheck_matrix_Z(w->forward, l)->data;
  const double *Al = bpcheck_matrix_A(w->forward, l)->data;
  const gsl_matrix *A0 =
      l == 1 ? batch->X : bpcheck_matrix_A(w->forward, l - 1);
  const gsl_matrix *Y = batch->Y;
  const size_t nl = net->n[l];
  double *dZ = ln->dZ, *A = ln->A;

  /* Layer l itself: row k of z^l moves by t a^(l-1)_j. */
  for (size_t p = 0; p < q; p++) {
    const size_t k = ln->k[p];
    double dC = 0.0;
    ln->kink[p] = 0;
    for (size_t s = 0; s < B; s++) {
      const size_t c = p * B + s;
      const double z = Zl[k * B + s];
      const double zp =
          z +
          ln->t[p] * (ln->bias[p] ? 1.0 : A0->data[ln->j[p] * A0->tda + s]);
      ln->kinks[c] = net->f[l] == BPCHECK_RELU && (zp > 0) != (z > 0);
      ln->kink[p] |= ln->kinks[c];
      double d = 0.0;
      if (l < L) {
        /* a^l_k changes by da (kept in the first row of A, as yet) */
        A[c] = bpcheck_activation_f(net->f[l], zp) - Al[k * B + s];
      } else if (net->f[L] != BPCHECK_SOFTMAX) {
        /* At an element-wise output only a^L_k changes, and its term. */
        d = bpcheck_output_term_z(net->f[L], net->cost, nl, zp,
                                  Y->data[k * Y->tda + s]) -
            w->term0[k * B + s];
      } else {
        /* Softmax: every a^L_i of the column changes; its cost from z'. */
        for (size_t i = 0; i < nl; i++)
          dZ[i * cols + c] = i == k ? zp : Zl[i * B + s];
        d = column_cost_change(net, Y, w->term0, dZ, cols, c, s);
      }
      ln->dCs[c] = r * d;
      dC += d;
    }
    ln->dC[p] = r * dC;
  }
  if (l == L)
    return;
  /* z^(l+1) moves by the column W^(l+1)_{.k} da, row by row. */
  const gsl_matrix *Wn = &net->theta->W[l + 1];
  for (size_t i = 0; i < net->n[l + 1]; i++)
    for (size_t p = 0; p < q; p++) {
      const double w_ik = Wn->data[i * Wn->tda + ln->k[p]];
      for (size_t s = 0; s < B; s++)
        dZ[i * cols + p * B + s] = w_ik * A[p * B + s];
    }

  /* The layers after l: A' = f(Z^m + dZ^m), dZ^(m+1) = W^(m+1) (A' - A^m).
   * The cached Z^m and A^m have rows of B (the matrix workspace's). */
  for (size_t m = l + 1; m <= L; m++) {
    const double *Zm = bpcheck_matrix_Z(w->forward, m)->data;
    const double *Am = bpcheck_matrix_A(w->forward, m)->data;
    const size_t nm = net->n[m];
    for (size_t i = 0; i < nm; i++) /* Z' = Z^m + dZ^m, in place */
      for (size_t p = 0; p < q; p++) {
        double *zp = &dZ[i * cols + p * B];
        const double *z = &Zm[i * B];
        for (size_t s = 0; s < B; s++)
          zp[s] += z[s];
      }
    if (net->f[m] == BPCHECK_RELU) /* a relu input that changed sign */
      for (size_t i = 0; i < nm; i++)
        for (size_t p = 0; p < q; p++) {
          const double *zp = &dZ[i * cols + p * B], *z = &Zm[i * B];
          for (size_t s = 0; s < B; s++)
            if ((zp[s] > 0) != (z[s] > 0))
              ln->kink[p] = ln->kinks[p * B + s] = 1;
        }
    if (m == L)
      break; /* its cost comes from Z' alone, below */
    bpcheck_activation_array(net->f[m], nm * cols, dZ, A);
    for (size_t i = 0; i < nm; i++)
      for (size_t p = 0; p < q; p++)
        for (size_t s = 0; s < B; s++)
          A[i * cols + p * B + s] -= Am[i * B + s];
    gsl_matrix dA = bpcheck_matrix_on(A, nm, cols);
    gsl_matrix dZn = bpcheck_matrix_on(dZ, net->n[m + 1], cols);
    /* [n_(m+1) x qB] = [n_(m+1) x n_m] [n_m x qB] */
    gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, &net->theta->W[m + 1], &dA,
                   0.0, &dZn);
  }

  /* dC of each column: column by column of Z' for a softmax output, else
   * row by row of Z' and A^L (contiguous in memory); dC of each
   * perturbation, the sum of its B columns. */
  const size_t nL = net->n[L];
  for (size_t c = 0; c < cols; c++)
    ln->dCs[c] = 0.0;
  if (net->f[L] == BPCHECK_SOFTMAX) {
    for (size_t c = 0; c < cols; c++)
      ln->dCs[c] = column_cost_change(net, Y, w->term0, dZ, cols, c, c % B);
  } else {
    for (size_t k = 0; k < nL; k++)
      for (size_t p = 0; p < q; p++)
        for (size_t s = 0; s < B; s++)
          ln->dCs[p * B + s] += bpcheck_cost_change(
              net->f[L], net->cost, 1, dZ + k * cols + p * B + s,
              Y->data + k * Y->tda + s, w->term0 + k * B + s, nL);
  }
  for (size_t p = 0; p < q; p++) {
    double dC = 0.0;
    for (size_t s = 0; s < B; s++)
      dC += ln->dCs[p * B + s] *= r;
    ln->dC[p] = dC;
  }
}

/* (WD.4) The weight decay's change for W^l_kj -> W^l_kj + t, added to the
 * cost change of each weight's perturbation: lambda (W_kj t + t^2/2).  t
 * is a power of two, so W_kj t and t^2/2 are exact; the sum and the
 * product with lambda round once each: 2 eps of it, which decay_error
 * bounds for the largest weight and step. */
static void
add_decay(const bpcheck_net *net, size_t l, size_t q, lane *ln)
{
  const double lambda = net->weight_decay;
  if (lambda == 0.0)
    return;
  const gsl_matrix *W = &net->theta->W[l];
  for (size_t p = 0; p < q; p++)
    if (!ln->bias[p]) {
      const double t = ln->t[p], w = W->data[ln->k[p] * W->tda + ln->j[p]];
      ln->dC[p] += lambda * (w * t + 0.5 * t * t);
    }
}

/* (WD.7) A bound on the rounding of add_decay's term for any weight and
 * step of the fast check, 2 eps lambda (|W| h + h^2/2) at the largest |W|
 * and its step: added to e_C, the bound of each cost change. */
static double
decay_error(const bpcheck_net *net)
{
  double wmax = 0.0;
  for (size_t l = 1; l <= net->L && net->weight_decay; l++)
    wmax = fmax(wmax, fmax(gsl_matrix_max(&net->theta->W[l]),
                           -gsl_matrix_min(&net->theta->W[l])));
  const double h = bpcheck_fdiff_step(wmax, BPCHECK_FDIFF_ROOT);
  return 2.0 * DBL_EPSILON * net->weight_decay * (wmax * h + 0.5 * h * h);
}

/* (CD.13) The rounding of a perturbed cost beyond e_C, the bound at theta:
 * a cost that moved by dC is computed with up to m eps |dC| more error,
 * m = 4 + L + n_L B (the 4 eps of each term, one rounding of Z + dZ per
 * layer, and the sum over the n_L B terms, as in e_C's gamma_(n_L B)).
 * Of the order of eps |g| h where the step is of the scale of theta; it
 * decides only where the step dwarfs it (every z and parameter near
 * 10^-100: C(theta + h) ~ h^2, against an e_C of ~10^-216). */
static double
moved_error(const lane *ln, double moved)
{
  return ln->moved_eps * moved;
}

/* Perturbations p0 .. p0 + 2 levels - 1 of the lane: parameter i at steps
 * +h, -h, +h/2, -h/2, ... */
static void
set_steps(const bpcheck_params *theta, size_t i, double h, size_t levels,
          lane *ln, size_t p0)
{
  size_t l, k, j;
  int is_bias;
  bpcheck_params_entry(theta, i, &l, &is_bias, &k, &j);
  for (size_t p = p0; p < p0 + 2 * levels; p += 2, h *= 0.5) {
    ln->t[p] = h, ln->t[p + 1] = -h;
    ln->k[p] = ln->k[p + 1] = k, ln->j[p] = ln->j[p + 1] = j;
    ln->bias[p] = ln->bias[p + 1] = is_bias;
  }
}

/* The derivative and its estimate from perturbations p0 .. p0 + 2 levels -
 * 1 (set by set_steps); 0 when one of them crosses a relu kink. */
static int
combine(const lane *ln, size_t p0, size_t levels, double theta, double e_C,
        double *g, double *err)
{
  double delta[BPCHECK_FDIFF_LEVELS], moved = 0.0;
  int smooth = 1;
  for (size_t q = 0; q < levels; q++) {
    /* C(theta + t e_i) - C(theta - t e_i) = dC(t) - dC(-t); its error is
     * within that of two full costs (CD.7), as the naive check's, plus
     * what the costs moved (CD.13). */
    const double *d = &ln->dC[p0 + 2 * q];
    delta[q] = d[0] - d[1];
    moved = fmax(moved, fmax(fabs(d[0]), fabs(d[1])));
    smooth = smooth && !ln->kink[p0 + 2 * q] && !ln->kink[p0 + 2 * q + 1];
  }
  double trunc_err, round_err;
  *g = bpcheck_fdiff_richardson(levels, delta, ln->t[p0], theta,
                                e_C + moved_error(ln, moved), &trunc_err,
                                &round_err);
  *err = trunc_err + round_err;
  return smooth;
}

/* The forward pass, e_C, and the unperturbed cost terms, once: term(z, y)
 * of every output, or for a softmax output the cost of each column (in
 * the first row). */
static int
start(const bpcheck_net *net, const bpcheck_batch *batch, bpcheck_params *g,
      bpcheck_params *err, bpcheck_fastfd_workspace *w, double *e_C)
{
  double C0;
  int status = bpcheck_fdiff_prepare(net, batch, g, err, w->forward, &C0, e_C);
  if (status)
    return status;
  *e_C += decay_error(net); /* (WD.7) */
  const gsl_matrix *ZL = bpcheck_matrix_Z(w->forward, net->L);
  const gsl_matrix *Y = batch->Y;
  const size_t nL = net->n[net->L], B = w->B;
  for (size_t k = 0; k < nL; k++)
    for (size_t s = 0; s < B; s++)
      w->term0[k * B + s] =
          net->f[net->L] == BPCHECK_SOFTMAX
              ? (k == 0
                     ? bpcheck_output_softmax_cost(net->cost, nL, ZL->data + s,
                                                   B, Y->data + s, Y->tda)
                     : 0.0)
              : bpcheck_output_term_z(net->f[net->L], net->cost, nL,
                                      ZL->data[k * B + s],
                                      Y->data[k * Y->tda + s]);
  return BPCHECK_SUCCESS;
}

/* The lane of the calling thread. */
static lane *
own_lane(bpcheck_fastfd_workspace *w)
{
#ifdef _OPENMP
  return &w->lanes[omp_get_thread_num()];
#else
  return &w->lanes[0];
#endif
}

/* The entries of layer l into g (and err); returns how many crossed a kink
 * even at the smaller step. */
static size_t
entry_layer(const bpcheck_net *net, const bpcheck_batch *batch, size_t l,
            double e_C, bpcheck_params *g, bpcheck_params *err,
            bpcheck_fastfd_workspace *w)
{
  const bpcheck_params *theta = net->theta;
  size_t kinks = 0;
  /* The parameters of layer l: W^l then b^l, contiguous in the block, in
   * chunks of q/STEPS parameters, STEPS steps each.  Chunks are independent:
   * they run on every thread, except where the layers after l call dgemm
   * (l + 1 < L), which then has OpenBLAS's own threads to itself. */
  size_t first, count;
  bpcheck_params_layer(theta, l, &first, &count); /* l is a layer */
  const size_t per = w->q / STEPS, chunks = (count + per - 1) / per;
#pragma omp parallel for schedule(dynamic) reduction(+ : kinks)               \
    if (l + 1 >= net->L && chunks > 1)
  for (size_t ch = 0; ch < chunks; ch++) {
    lane *ln = own_lane(w);
    const size_t i0 = first + ch * per;
    const size_t n_par = count - ch * per < per ? count - ch * per : per;
    for (size_t c = 0; c < n_par; c++)
      set_steps(theta, i0 + c,
                bpcheck_fdiff_step(theta->data[i0 + c], BPCHECK_FDIFF_ROOT),
                BPCHECK_FDIFF_LEVELS, ln, STEPS * c);
    chunk_costs(net, batch, l, STEPS * n_par, w, ln);
    add_decay(net, l, STEPS * n_par, ln);
    size_t again = 0;
    for (size_t c = 0; c < n_par; c++) {
      double e;
      if (!combine(ln, STEPS * c, BPCHECK_FDIFF_LEVELS, theta->data[i0 + c],
                   e_C, &g->data[i0 + c], &e))
        ln->redo[again++] = c;
      else if (err)
        err->data[i0 + c] = e;
    }
    if (again) { /* as fdiff.c: two levels of a smaller step */
      for (size_t r = 0; r < again; r++) {
        const size_t i = i0 + ln->redo[r];
        set_steps(theta, i,
                  bpcheck_fdiff_step(theta->data[i], BPCHECK_FDIFF_KINK_ROOT),
                  2, ln, 4 * r);
      }
      chunk_costs(net, batch, l, 4 * again, w, ln);
      add_decay(net, l, 4 * again, ln);
      for (size_t r = 0; r < again; r++) {
        const size_t i = i0 + ln->redo[r];
        double e;
        int smooth =
            combine(ln, 4 * r, 2, theta->data[i], e_C, &g->data[i], &e);
        kinks += (size_t)!smooth;
        if (err) /* (ACT.3) across a kink: see fdiff.c */
          err->data[i] = smooth ? e : INFINITY;
      }
    }
  }
  return kinks;
}

/* Perturbations p0 .. p0 + 2 levels - 1 of the lane: b^l_k, that is z^l_k
 * in every sample, at steps +h, -h, +h/2, -h/2, ... */
static void
set_node_steps(size_t k, double h, size_t levels, lane *ln, size_t p0)
{
  for (size_t p = p0; p < p0 + 2 * levels; p += 2, h *= 0.5) {
    ln->t[p] = h, ln->t[p + 1] = -h;
    ln->k[p] = ln->k[p + 1] = k, ln->j[p] = ln->j[p + 1] = 0;
    ln->bias[p] = ln->bias[p + 1] = 1;
  }
}

/* As combine, for sample s alone: D_ks and its estimate from the columns
 * of sample s of perturbations p0 .. p0 + 2 levels - 1; 0 when one of them
 * crosses a relu kink. */
static int
combine_sample(const lane *ln, size_t B, size_t p0, size_t levels, size_t s,
               double z, double e_C, double *D, double *err)
{
  double delta[BPCHECK_FDIFF_LEVELS], moved = 0.0;
  int smooth = 1;
  for (size_t q = 0; q < levels; q++) {
    const size_t c = (p0 + 2 * q) * B + s;
    delta[q] = ln->dCs[c] - ln->dCs[c + B];
    moved = fmax(moved, fmax(fabs(ln->dCs[c]), fabs(ln->dCs[c + B])));
    smooth = smooth && !ln->kinks[c] && !ln->kinks[c + B];
  }
  double trunc_err, round_err;
  *D = bpcheck_fdiff_richardson(levels, delta, ln->t[p0], z,
                                e_C + moved_error(ln, moved), &trunc_err,
                                &round_err);
  *err = smooth ? trunc_err + round_err : INFINITY;
  return smooth;
}

/* The largest |z^l_ks| over the batch: the scale of node k's step. */
static double
z_scale(const double *Zl, size_t B, size_t k)
{
  double z = 0.0;
  for (size_t s = 0; s < B; s++)
    z = fmax(z, fabs(Zl[k * B + s]));
  return z;
}

/* D_ks and eD_ks of the nodes k0 .. k0 + count - 1 of layer l, into w->D,
 * w->eD (rows of B); eD = +inf where the steps, even the smaller ones,
 * cross a relu kink. */
static void
node_tables(const bpcheck_net *net, const bpcheck_batch *batch, size_t l,
            size_t k0, size_t count, double e_C, bpcheck_fastfd_workspace *w,
            lane *ln)
{
  const size_t B = w->B;
  const double *Zl = bpcheck_matrix_Z(w->forward, l)->data;
  for (size_t c = 0; c < count; c++)
    set_node_steps(
        k0 + c, bpcheck_fdiff_step(z_scale(Zl, B, k0 + c), BPCHECK_FDIFF_ROOT),
        BPCHECK_FDIFF_LEVELS, ln, STEPS * c);
  chunk_costs(net, batch, l, STEPS * count, w, ln);
  size_t again = 0;
  for (size_t c = 0; c < count; c++) {
    const size_t k = k0 + c;
    const double z = z_scale(Zl, B, k);
    int smooth = 1;
    for (size_t s = 0; s < B; s++)
      smooth &= combine_sample(ln, B, STEPS * c, BPCHECK_FDIFF_LEVELS, s, z,
                               e_C, &w->D[k * B + s], &w->eD[k * B + s]);
    if (!smooth)
      ln->redo[again++] = k;
  }
  if (!again)
    return;
  /* As fdiff.c: two levels of a smaller step, for the samples that
   * crossed a kink. */
  for (size_t r = 0; r < again; r++) {
    const size_t k = ln->redo[r];
    set_node_steps(
        k, bpcheck_fdiff_step(z_scale(Zl, B, k), BPCHECK_FDIFF_KINK_ROOT), 2,
        ln, 4 * r);
  }
  chunk_costs(net, batch, l, 4 * again, w, ln);
  for (size_t r = 0; r < again; r++) {
    const size_t k = ln->redo[r];
    const double z = z_scale(Zl, B, k);
    for (size_t s = 0; s < B; s++)
      if (isinf(w->eD[k * B + s])) /* (ACT.3) across a kink: see fdiff.c */
        combine_sample(ln, B, 4 * r, 2, s, z, e_C, &w->D[k * B + s],
                       &w->eD[k * B + s]);
  }
}

/* (CD.12) dC/dW^l_kj = sum_s a^(l-1)_js D_ks and dC/db^l_k = sum_s D_ks,
 * each with the error sum_s |a| eD + gamma_B sum_s |a D| (the B products
 * and their sum); a sample whose D_ks crossed a kink makes the entry's
 * error +inf, unless its a^(l-1)_js is 0 (the entry does not move z^l_ks). */
static size_t
node_pullback(const bpcheck_net *net, const bpcheck_batch *batch, size_t l,
              const bpcheck_fastfd_workspace *w, bpcheck_params *g,
              bpcheck_params *err)
{
  const size_t B = w->B, nl = net->n[l], np = net->n[l - 1];
  const gsl_matrix *Ap =
      l == 1 ? batch->X : bpcheck_matrix_A(w->forward, l - 1);
  const double gB = bpcheck_gamma((double)B, DBL_EPSILON);
  gsl_matrix *gW = &g->W[l];
  size_t kinks = 0;
  for (size_t k = 0; k < nl; k++) {
    const double *D = w->D + k * B, *eD = w->eD + k * B;
    for (size_t j = 0; j <= np; j++) { /* j = np: the bias */
      const double *a = j < np ? Ap->data + j * Ap->tda : NULL;
      double sum = 0.0, e = 0.0, abs_sum = 0.0;
      for (size_t s = 0; s < B; s++) {
        const double as = a ? a[s] : 1.0;
        if (as == 0.0)
          continue;
        sum += as * D[s];
        e += fabs(as) * eD[s];
        abs_sum += fabs(as * D[s]);
      }
      e += gB * abs_sum;
      if (j < np && net->weight_decay != 0.0) {
        /* (WD.3) The decay's own term, lambda W_kj: what a central
         * difference of lambda/2 W_kj^2 gives exactly (no truncation for
         * a quadratic), with the product's rounding and the sum's. */
        const gsl_matrix *W = &net->theta->W[l];
        const double d = net->weight_decay * W->data[k * W->tda + j];
        sum += d;
        e += DBL_EPSILON * (fabs(d) + fabs(sum));
      }
      if (j < np)
        gW->data[k * gW->tda + j] = sum;
      else
        gsl_vector_set(&g->b[l], k, sum);
      kinks += (size_t)(isinf(e) != 0);
      if (err) {
        if (j < np)
          err->W[l].data[k * err->W[l].tda + j] = e;
        else
          gsl_vector_set(&err->b[l], k, e);
      }
    }
  }
  return kinks;
}

/* The nodes of layer l, then the entries of g (and err) from them; returns
 * how many entries crossed a kink even at the smaller step. */
static size_t
node_layer(const bpcheck_net *net, const bpcheck_batch *batch, size_t l,
           double e_C, bpcheck_params *g, bpcheck_params *err,
           bpcheck_fastfd_workspace *w)
{
  /* The nodes of layer l in chunks of q/STEPS, STEPS steps each; threads
   * as in entry_layer. */
  const size_t per = w->q / STEPS, nl = net->n[l];
  const size_t chunks = (nl + per - 1) / per;
  /* The products downstream of layer l for every column: below ~10^7
   * multiply-adds (a few ms) the threads would cost more than they save
   * (waking them, and their spinning beside the main thread after). */
  double work = 0.0;
  for (size_t m = l + 1; m <= net->L; m++)
    work += (double)net->n[m] * (double)net->n[m - 1];
  work *= (double)(nl * STEPS * w->B);
#pragma omp parallel for schedule(dynamic) if (l + 1 >= net->L &&             \
                                               chunks > 1 && work > 1e7)
  for (size_t ch = 0; ch < chunks; ch++) {
    lane *ln = own_lane(w);
    const size_t k0 = ch * per;
    node_tables(net, batch, l, k0, nl - k0 < per ? nl - k0 : per, e_C, w, ln);
  }
  return node_pullback(net, batch, l, w, g, err);
}

typedef size_t layer_fn(const bpcheck_net *net, const bpcheck_batch *batch,
                        size_t l, double e_C, bpcheck_params *g,
                        bpcheck_params *err, bpcheck_fastfd_workspace *w);

/* The forward pass and its cost, then layer 1 .. L by layer(). */
static int
by_layer(const bpcheck_net *net, const bpcheck_batch *batch, bpcheck_params *g,
         bpcheck_params *err, bpcheck_fastfd_workspace *w, layer_fn *layer)
{
  double e_C;
  int status = start(net, batch, g, err, w, &e_C);
  if (status)
    return status;
  size_t kinks = 0;
  for (size_t l = 1; l <= net->L; l++)
    kinks += layer(net, batch, l, e_C, g, err, w);
  w->kinks = kinks;
  return BPCHECK_SUCCESS;
}

int
bpcheck_fastfd_gradient(const bpcheck_net *net, const bpcheck_batch *batch,
                        bpcheck_params *g, bpcheck_params *err,
                        bpcheck_fastfd_workspace *w)
{
  return by_layer(net, batch, g, err, w, entry_layer);
}

int
bpcheck_fastfd_nodes(const bpcheck_net *net, const bpcheck_batch *batch,
                     bpcheck_params *g, bpcheck_params *err,
                     bpcheck_fastfd_workspace *w)
{
  return by_layer(net, batch, g, err, w, node_layer);
}
