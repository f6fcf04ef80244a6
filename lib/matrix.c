/* matrix.c -- backpropagation in matrix form over a whole batch, on GSL's
 * BLAS (proofs/05-matrix-form.md).
 *
 * The samples of a batch are the columns of A^0 = X (n_0 x B).  Per layer
 * one dgemm forward, one for the delta, and one for dC/dW:
 *
 *   (MX.1) Z^l = W^l A^(l-1) + b^l 1^T          A^l = f_l(Z^l)
 *   (MX.2) D^L = r grad_A C (.) f_L'(Z^L)       (softmax: (ACT.8) by column)
 *   (MX.3) D^l = ((W^(l+1))^T D^(l+1)) (.) f_l'(Z^l)
 *   (MX.4) dC/dW^l = D^l (A^(l-1))^T            sums over the samples
 *   (MX.5) dC/db^l = D^l 1
 *   (WD.3) dC/dW^l += lambda W^l          with weight decay (WD.1), once
 *
 * The reduction's factor r (COST.5) is folded into D^L once, so that every
 * product below sums over the batch with it.  All memory is the
 * workspace's, allocated once for a network and a batch size. */

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>

#include "internal.h"

struct bpcheck_matrix_workspace {
  size_t L, B;
  size_t *n;
  gsl_matrix *Z, *A, *D; /* [1..L], each n_l x B; A^0 is the batch's X */
  gsl_vector ones;       /* B ones, for D^l 1 */
  double *C_s;           /* B: each sample's cost, by output_delta */
  gsl_matrix S0;         /* n_0 x B scratch for the rounding bound */
  uint64_t relu_pattern; /* the signs of every relu z of the last forward */
  double *block;
};

int
bpcheck_matrix_alloc(bpcheck_matrix_workspace **out, const bpcheck_net *net,
                     size_t B)
{
  size_t L = net->L, total = 2 * B; /* the ones and C_s */
  if (B == 0 || B > BPCHECK_MAX_PARAMS / 2)
    return bpcheck_fail(BPCHECK_EINVAL, "a batch of %zu samples", B);
  if (net->n[0] > (BPCHECK_MAX_PARAMS - total) / B) /* S0, n_0 x B */
    return bpcheck_fail(BPCHECK_ETOOBIG,
                        "the matrix workspace for a batch of %zu is too large",
                        B);
  total += net->n[0] * B;
  for (size_t l = 1; l <= L; l++) {
    if (net->n[l] > (BPCHECK_MAX_PARAMS - total) / (3 * B))
      return bpcheck_fail(BPCHECK_ETOOBIG,
                          "the matrix workspace for a batch of %zu is too "
                          "large",
                          B);
    total += 3 * net->n[l] * B;
  }
  bpcheck_matrix_workspace *w = bpcheck_calloc(1, sizeof *w);
  if (w) {
    w->L = L;
    w->B = B;
    w->n = bpcheck_sizes_dup(L, net->n);
    w->Z = bpcheck_calloc(L + 1, sizeof *w->Z);
    w->A = bpcheck_calloc(L + 1, sizeof *w->A);
    w->D = bpcheck_calloc(L + 1, sizeof *w->D);
    w->block = bpcheck_calloc(total, sizeof *w->block);
  }
  if (!w || !w->n || !w->Z || !w->A || !w->D || !w->block) {
    bpcheck_matrix_free(w);
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for the matrix workspace");
  }
  double *p = w->block;
  for (size_t l = 1; l <= L; l++) {
    w->Z[l] = bpcheck_matrix_on(p, net->n[l], B), p += net->n[l] * B;
    w->A[l] = bpcheck_matrix_on(p, net->n[l], B), p += net->n[l] * B;
    w->D[l] = bpcheck_matrix_on(p, net->n[l], B), p += net->n[l] * B;
  }
  w->ones = bpcheck_vector_on(p, B), p += B;
  gsl_vector_set_all(&w->ones, 1.0);
  w->C_s = p, p += B;
  w->S0 = bpcheck_matrix_on(p, net->n[0], B);
  *out = w;
  return BPCHECK_SUCCESS;
}

void
bpcheck_matrix_free(bpcheck_matrix_workspace *w)
{
  if (w)
    BPCHECK_FREE(w->n, w->Z, w->A, w->D, w->block, w);
}

static int
check_fits(const bpcheck_net *net, const bpcheck_batch *batch,
           const bpcheck_matrix_workspace *w)
{
  for (size_t l = 0; l <= net->L; l++)
    if (w->L != net->L || w->n[l] != net->n[l])
      return bpcheck_fail(BPCHECK_EBADLEN,
                          "the workspace was allocated for another network");
  if (batch->B != w->B)
    return bpcheck_fail(BPCHECK_EBADLEN,
                        "a batch of %zu samples in a workspace for %zu",
                        batch->B, w->B);
  return bpcheck_batch_validate(net, batch);
}

/* A^(l-1) of the forward pass: the batch's inputs for l = 1. */
static const gsl_matrix *
A_prev(const bpcheck_batch *batch, const bpcheck_matrix_workspace *w, size_t l)
{
  return l == 1 ? batch->X : &w->A[l - 1];
}

/* A 64-bit mix of an index: splitmix64, whose finaliser alone would map
 * index 0 to 0 and so miss a sign change there. */
static uint64_t
mix(uint64_t x)
{
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t
bpcheck_matrix_relu_pattern(const bpcheck_matrix_workspace *w)
{
  return w->relu_pattern;
}

/* (MX.1) for every layer, and returns the cost of the batch.  Records which
 * relu inputs are positive, as the XOR of their mixed positions: two forward
 * passes on the same side of every kink (ACT.3) give the same pattern. */
static double
forward(const bpcheck_net *net, const bpcheck_batch *batch,
        bpcheck_matrix_workspace *w, int want_cost)
{
  const size_t L = net->L, B = w->B;
  uint64_t pattern = 0, position = 0;
  for (size_t l = 1; l <= L; l++) {
    gsl_matrix *Z = &w->Z[l], *A = &w->A[l];
    /* Z^l = b^l 1^T, then Z^l += W^l A^(l-1). */
    for (size_t k = 0; k < Z->size1; k++) {
      double b_k = gsl_vector_get(&net->theta->b[l], k);
      for (size_t s = 0; s < B; s++)
        Z->data[k * Z->tda + s] = b_k;
    }
    /* [n_l x B] = [n_l x n_(l-1)] [n_(l-1) x B] */
    gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, &net->theta->W[l],
                   A_prev(batch, w, l), 1.0, Z);
    if (net->f[l] == BPCHECK_SOFTMAX) {
      for (size_t s = 0; s < B; s++) /* column by column, stride tda */
        bpcheck_softmax(Z->size1, Z->data + s, Z->tda, A->data + s, A->tda);
    } else {
      bpcheck_activation_array(net->f[l], Z->size1 * B, Z->data, A->data);
    }
    if (net->f[l] == BPCHECK_RELU)
      for (size_t i = 0; i < Z->size1 * B; i++)
        pattern ^= Z->data[i] > 0 ? mix(position + i) : 0;
    position += Z->size1 * B;
  }
  w->relu_pattern = pattern;
  if (!want_cost) /* the backprop takes it with the output delta */
    return 0.0;
  /* (COST.5) C = r sum_s C_s, each C_s from z^L and a^L (output.c) */
  const gsl_matrix *Y = batch->Y;
  double C = 0.0;
  for (size_t s = 0; s < B; s++)
    C += bpcheck_output_cost(net, w->Z[L].data + s, w->A[L].data + s, B,
                             Y->data + s, Y->tda);
  /* (WD.1) the weight decay, added once to the reduced cost */
  C *= bpcheck_reduction_factor(net->reduction, B);
  return net->weight_decay ? C + bpcheck_decay_cost(net) : C;
}

int
bpcheck_matrix_cost(const bpcheck_net *net, const bpcheck_batch *batch,
                    double *C, bpcheck_matrix_workspace *w)
{
  int status = check_fits(net, batch, w);
  if (status)
    return status;
  *C = forward(net, batch, w, 1);
  return BPCHECK_SUCCESS;
}

/* D^L from Z^L, A^L and the targets: (MX.2), in the forms of output.c that
 * stay accurate at saturated outputs; with BPCHECK_VARIANT_SHORTCUT, r (a -
 * y) whatever the output and cost.  Z, A and D are the workspace's (row
 * stride B); Y is the caller's. */
static double
output_delta(const bpcheck_net *net, const bpcheck_batch *batch,
             bpcheck_matrix_workspace *w, int flags)
{
  const size_t L = net->L, B = w->B, nL = net->n[L];
  const double r = bpcheck_reduction_factor(net->reduction, B);
  const double *Z = w->Z[L].data, *A = w->A[L].data;
  double *D = w->D[L].data;
  const gsl_matrix *Y = batch->Y;
  double C = 0.0;
  if (net->f[L] == BPCHECK_SOFTMAX)
    for (size_t s = 0; s < B; s++) {
      double C_s;
      bpcheck_output_sample(net, NULL, r, Z + s, A + s, B, Y->data + s, Y->tda,
                            NULL, &C_s, NULL, D + s, NULL);
      C += C_s;
    }
  else { /* row by row, in memory order; each C_s summed as above */
    bpcheck_output_rows(net, r, Z, A, B, Y->data, Y->tda, w->C_s, D);
    for (size_t s = 0; s < B; s++)
      C += w->C_s[s];
  }
  if (flags & BPCHECK_VARIANT_SHORTCUT)
    for (size_t k = 0; k < nL; k++)
      for (size_t s = 0; s < B; s++)
        D[k * B + s] = r * (A[k * B + s] - Y->data[k * Y->tda + s]);
  if ((flags & BPCHECK_VARIANT_RELU_AT_ZERO_ONE) && net->f[L] == BPCHECK_RELU)
    for (size_t i = 0; i < nL * B; i++) /* relu'(0) = 1: the delta of z > 0 */
      if (Z[i] == 0.0)
        D[i] = r *
               bpcheck_output_diff(net->f[L], Z[i], A[i],
                                   Y->data[(i / B) * Y->tda + i % B]) *
               (net->cost == BPCHECK_MSE ? 2.0 / (double)nL : 1.0);
  return net->weight_decay ? r * C + bpcheck_decay_cost(net) : r * C;
}

int
bpcheck_matrix_backprop(const bpcheck_net *net, const bpcheck_batch *batch,
                        bpcheck_params *nabla, double *C,
                        bpcheck_matrix_workspace *w)
{
  return bpcheck_matrix_backprop_variant(net, batch, nabla, C, w, 0);
}

int
bpcheck_matrix_backprop_variant(const bpcheck_net *net,
                                const bpcheck_batch *batch,
                                bpcheck_params *nabla, double *C,
                                bpcheck_matrix_workspace *w, int flags)
{
  int status = check_fits(net, batch, w);
  if (status)
    return status;
  if ((status = bpcheck_params_match(net->theta, nabla)))
    return status;

  const size_t L = net->L;
  forward(net, batch, w, 0);
  const double cost = output_delta(net, batch, w, flags);

  for (size_t l = L - 1; l >= 1; l--) {
    gsl_matrix *D = &w->D[l];
    /* (MX.3) [n_l x B] = [n_(l+1) x n_l]^T [n_(l+1) x B] */
    gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, &net->theta->W[l + 1],
                   &w->D[l + 1], 0.0, D);
    if ((flags & BPCHECK_VARIANT_RELU_AT_ZERO_ONE) &&
        net->f[l] == BPCHECK_RELU) /* relu'(0) = 1 */
      for (size_t i = 0; i < D->size1 * D->size2; i++)
        D->data[i] = w->Z[l].data[i] >= 0 ? D->data[i] : 0.0;
    else
      bpcheck_activation_dmul(net->f[l], D->size1 * D->size2, w->Z[l].data,
                              D->data);
  }

  for (size_t l = 1; l <= L; l++) {
    /* (WD.3) with weight decay, dC/dW^l starts at lambda W^l */
    const double beta = net->weight_decay ? 1.0 : 0.0;
    if (net->weight_decay) {
      gsl_matrix_memcpy(&nabla->W[l], &net->theta->W[l]);
      gsl_matrix_scale(&nabla->W[l], net->weight_decay);
    }
    /* (MX.4) [n_l x n_(l-1)] = [n_l x B] [n_(l-1) x B]^T */
    gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, &w->D[l],
                   A_prev(batch, w, l), beta, &nabla->W[l]);
    /* (MX.5) [n_l] = [n_l x B] [B] */
    gsl_blas_dgemv(CblasNoTrans, 1.0, &w->D[l], &w->ones, 0.0, &nabla->b[l]);
  }

  if (C)
    *C = cost;
  return BPCHECK_SUCCESS;
}

const gsl_matrix *
bpcheck_matrix_Z(const bpcheck_matrix_workspace *w, size_t l)
{
  return &w->Z[l];
}

const gsl_matrix *
bpcheck_matrix_A(const bpcheck_matrix_workspace *w, size_t l)
{
  return &w->A[l];
}

const gsl_matrix *
bpcheck_matrix_D(const bpcheck_matrix_workspace *w, size_t l)
{
  return &w->D[l];
}

gsl_matrix *
bpcheck_matrix_scratch(bpcheck_matrix_workspace *w, size_t l)
{
  return l == 0 ? &w->S0 : &w->D[l];
}
