/* bound.c -- how far a computed gradient may be from the exact gradient of
 * the same network by rounding alone: a first-order running error analysis
 * of backpropagation (proofs/06-central-differences.md, (CD.8)).
 *
 * Every quantity x of the forward and backward passes gets a bound e_x on
 * the absolute error of its computed value, propagated the way the value is
 * computed, in any order of summation (gamma_n = n eps / (1 - n eps)
 * bounds a sum of n terms relative to the sum of their magnitudes, Higham
 * ch. 3):
 *
 *   forward   e_z^l, e_a^l as for the cost (CD.7),
 *             from bpcheck_matrix_cost_error
 *   output    e_delta^L from e_z^L, by output.c, for each of its forms
 *             (e.g. r (e_G |f'| + |G| |f''| e_z + 4 eps |G f'|), G =
 *             dC_s/da^L, where delta^L = r G f'(z))
 *   backward  u = (W^(l+1))^T delta^(l+1)
 *             e_u = |W^(l+1)|^T (e_delta^(l+1) + gamma |delta^(l+1)|)
 *             e_delta^l = e_u |f'| + |u| |f''| e_z + 4 eps |u f'|
 *   gradient  e(dC/dW_kj) = sum_s (e_delta_k |a_j|
 *                           + (|delta_k| + e_delta_k) e_a_j)
 *                           + gamma_(B+1) sum_s |delta_k a_j|
 *   decay     (WD.6) with lambda W_kj a term of the same sum:
 *             gamma_(B+2) for gamma_(B+1), and
 *             (gamma_(B+2) + eps + 2 eps_in) lambda |W_kj| for its product
 *
 * (softmax: the same through its Jacobian, (ACT.8)).  A relu input within
 * its own error bound of 0 may fall on either side of the kink: there f'
 * is taken as 1 in e_a, and the whole |u| (or r |G|) is added to e_delta,
 * since one computation may multiply by 1 and another by 0.  Two backprops
 * of the same network then differ by at most the sum of their bounds. */

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>

#include "internal.h"

/* (CD.7) A first-order bound on the absolute rounding error of the cost
 * that the last forward pass in w computed (a running error analysis, as in
 * Higham, ch. 3).  Forward, with e_a^0 = eps_in |x| (0 for double: the
 * inputs are exact):
 *
 *   e_z^l = |W^l| (gamma_(n+1) |a^(l-1)| + e_a^(l-1)) + gamma_(n+1) |b^l|
 *   e_a^l_k = |f'(z_k)| e_z^l_k + 4 eps |a_k|
 *
 * (gamma_(n+2) where the parameters are rounded into the precision first;
 * f' taken as 1 at a relu input within e_z of its kink, which may fall on
 * either side); then each sample's cost and its bound from e_z^L, by
 * output.c (COST.6)-(COST.9), and their sum gamma_B sum |C_s|.  Unlike a
 * relative error m eps |C|, it holds where the cost is small because a^L is
 * close to y.  The D matrices hold e_a, and then the bracket of the next
 * layer, as scratch.  With absW (room for the parameter block), the product
 * with |W^l| is a dgemm; without, a loop. */
double
bpcheck_matrix_cost_error(const bpcheck_net *net, const bpcheck_batch *batch,
                          bpcheck_matrix_workspace *w,
                          const bpcheck_rounding *u, double *absW,
                          double *const *ez, double *const *ea)
{
  const size_t L = net->L, B = bpcheck_matrix_Z(w, 1)->size2;
  if (!u)
    u = &bpcheck_rounding_double;
  const double eps = u->eps, rounded = u->eps_in > 0 ? 1.0 : 0.0;
  for (size_t l = 1; l <= L; l++) {
    const size_t n = net->n[l], np = net->n[l - 1];
    const double g = bpcheck_gamma((double)np + 1.0 + rounded, eps);
    /* S = gamma |a^(l-1)| + e_a^(l-1), in place of e_a^(l-1) */
    gsl_matrix *S = bpcheck_matrix_scratch(w, l - 1);
    const gsl_matrix *Ap = l == 1 ? batch->X : bpcheck_matrix_A(w, l - 1);
    const double e0 = l > 1 ? 0.0 : u->eps_in; /* e_a^0 = eps_in |x| */
    for (size_t j = 0; j < np; j++)
      for (size_t s = 0; s < B; s++)
        S->data[j * S->tda + s] = (g + e0) * fabs(Ap->data[j * Ap->tda + s]) +
                                  (l > 1 ? S->data[j * S->tda + s] : 0.0);
    gsl_matrix *E = bpcheck_matrix_scratch(w, l);
    for (size_t k = 0; k < n; k++) {
      const double bk = g * fabs(gsl_vector_get(&net->theta->b[l], k));
      for (size_t s = 0; s < B; s++)
        E->data[k * E->tda + s] = bk;
    }
    const gsl_matrix *W = &net->theta->W[l];
    if (absW) {
      double *p = absW + bpcheck_params_index_W(net->theta, l, 0, 0);
      for (size_t i = 0; i < n * np; i++)
        p[i] = fabs(W->data[i]);
      gsl_matrix aW = bpcheck_matrix_on(p, n, np);
      /* [n_l x B] = [n_l x n_(l-1)] [n_(l-1) x B] */
      gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, &aW, S, 1.0, E);
    } else {
      for (size_t k = 0; k < n; k++)
        for (size_t j = 0; j < np; j++) {
          const double Wkj = fabs(W->data[k * W->tda + j]);
          for (size_t s = 0; s < B; s++)
            E->data[k * E->tda + s] += Wkj * S->data[j * S->tda + s];
        }
    }
    /* e_z, as yet */
    const double *Z = bpcheck_matrix_Z(w, l)->data;
    const double *A = bpcheck_matrix_A(w, l)->data;
    double *e = E->data;
    if (ez)
      memcpy(ez[l], e, n * B * sizeof *e);
    if (l == L)
      break; /* the output layer: from e_z, below */
    /* now e_a (softmax is an output only) */
    for (size_t i = 0; i < n * B; i++) {
      const double df = bpcheck_relu_at_kink(net->f[l], Z[i], e[i])
                            ? 1.0
                            : fabs(bpcheck_activation_df(net->f[l], Z[i]));
      e[i] = df * e[i] + 4.0 * eps * fabs(A[i]);
    }
    if (ea)
      memcpy(ea[l], e, n * B * sizeof *e);
  }
  const double *Z = bpcheck_matrix_Z(w, L)->data;
  const double *A = bpcheck_matrix_A(w, L)->data;
  const double *EZ = bpcheck_matrix_scratch(w, L)->data;
  const gsl_matrix *Y = batch->Y;
  double e = 0.0, terms = 0.0;
  for (size_t s = 0; s < B; s++) {
    double C_s, e_s;
    bpcheck_output_sample(net, u, 1.0, Z + s, A + s, B, Y->data + s, Y->tda,
                          EZ + s, &C_s, &e_s, NULL, NULL);
    e += e_s;
    terms += fabs(C_s);
  }
  e += bpcheck_gamma((double)B, eps) * terms;
  /* times r, which rounds once more */
  const double r = bpcheck_reduction_factor(net->reduction, B);
  e = r * e * (1.0 + eps);
  /* (WD.5) the weight decay and its addition to r sum C_s */
  if (net->weight_decay)
    e += bpcheck_decay_cost_error(net, bpcheck_decay_cost(net), r * terms);
  return e;
}

struct bpcheck_bound_workspace {
  bpcheck_matrix_workspace *forward; /* Z^l, A^l and the deltas D^l */
  bpcheck_params *nabla;             /* the matrix gradient, unused */
  bpcheck_params *scratch;           /* the parameters' bound, for (IN.2) */
  double **ez, **ea, **ed;           /* [1..L], n_l x B each */
  double *block;
  size_t L, B;
};

int
bpcheck_bound_alloc(bpcheck_bound_workspace **out, const bpcheck_net *net,
                    size_t B)
{
  const size_t L = net->L;
  bpcheck_bound_workspace *w = bpcheck_calloc(1, sizeof *w);
  if (!w)
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for the bound workspace");
  int status = bpcheck_matrix_alloc(&w->forward, net, B);
  if (!status)
    status = bpcheck_params_alloc(&w->nabla, L, net->n);
  if (!status)
    status = bpcheck_params_alloc(&w->scratch, L, net->n);
  if (status) {
    bpcheck_bound_free(w);
    return status;
  }
  w->L = L, w->B = B;
  size_t total = 0;
  for (size_t l = 1; l <= L; l++)
    total += 3 * net->n[l] * B; /* fits: the matrix workspace's own size */
  w->ez = bpcheck_calloc(L + 1, sizeof *w->ez);
  w->ea = bpcheck_calloc(L + 1, sizeof *w->ea);
  w->ed = bpcheck_calloc(L + 1, sizeof *w->ed);
  w->block = bpcheck_calloc(total, sizeof *w->block);
  if (!w->ez || !w->ea || !w->ed || !w->block) {
    bpcheck_bound_free(w);
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for the bound workspace");
  }
  double *p = w->block;
  for (size_t l = 1; l <= L; l++) {
    w->ez[l] = p, p += net->n[l] * B;
    w->ea[l] = p, p += net->n[l] * B;
    w->ed[l] = p, p += net->n[l] * B;
  }
  *out = w;
  return BPCHECK_SUCCESS;
}

void
bpcheck_bound_free(bpcheck_bound_workspace *w)
{
  if (!w)
    return;
  bpcheck_matrix_free(w->forward);
  bpcheck_params_free(w->nabla);
  bpcheck_params_free(w->scratch);
  BPCHECK_FREE(w->ez, w->ea, w->ed, w->block, w);
}

/* e_delta^L: (FC.4), (ACT.9) and the fused forms, by output.c from e_z^L.
 */
static void
output_errors(const bpcheck_net *net, const bpcheck_batch *batch,
              const bpcheck_rounding *u, bpcheck_bound_workspace *w)
{
  const size_t L = net->L, B = w->B;
  const double r = bpcheck_reduction_factor(net->reduction, B);
  const double *Z = bpcheck_matrix_Z(w->forward, L)->data;
  const double *A = bpcheck_matrix_A(w->forward, L)->data;
  const gsl_matrix *Y = batch->Y;
  for (size_t s = 0; s < B; s++)
    bpcheck_output_sample(net, u, r, Z + s, A + s, B, Y->data + s, Y->tda,
                          w->ez[L] + s, NULL, NULL, NULL, w->ed[L] + s);
}

/* e_delta^l from e_delta^(l+1): (FC.5). */
static void
backward_errors(const bpcheck_net *net, const bpcheck_rounding *u,
                bpcheck_bound_workspace *w, size_t l)
{
  const size_t n = net->n[l], nn = net->n[l + 1], B = w->B;
  const double eps = u->eps, g = bpcheck_gamma((double)nn, eps);
  const gsl_matrix *W = &net->theta->W[l + 1];
  const double *Dn = bpcheck_matrix_D(w->forward, l + 1)->data;
  const double *Z = bpcheck_matrix_Z(w->forward, l)->data;
  const double wround = u->eps_in > 0 ? u->eps_in : 0.0;
  for (size_t j = 0; j < n; j++)
    for (size_t s = 0; s < B; s++) {
      double u_ = 0.0, eu = 0.0, mu = 0.0;
      for (size_t k = 0; k < nn; k++) {
        const double Wkj = W->data[k * W->tda + j], d = Dn[k * B + s];
        u_ += Wkj * d;
        mu += fabs(Wkj * d);
        eu += fabs(Wkj) * w->ed[l + 1][k * B + s];
      }
      eu += (g + wround) * mu; /* and W rounded into the precision */
      const double z = Z[j * B + s], ez = w->ez[l][j * B + s];
      const double df = fabs(bpcheck_activation_df(net->f[l], z));
      /* At an exact kink (z = 0 in every order) f' may be 0 or 1: the
       * errors of either choice are bounded with 1 (CD.11). */
      const double dfb =
          net->f[l] == BPCHECK_RELU && z == 0 && ez == 0 ? 1.0 : df;
      double e = eu * dfb +
                 fabs(u_) * bpcheck_output_f_second(net->f[l], z) * ez +
                 4.0 * eps * fabs(u_ * df);
      if (bpcheck_relu_at_kink(net->f[l], z, ez))
        e += fabs(u_) + eu;
      w->ed[l][j * B + s] = e;
    }
}

/* The bound of a backprop with rounding u. */
static int
gradient_bound(const bpcheck_net *net, const bpcheck_batch *batch,
               const bpcheck_rounding *u, bpcheck_params *bound,
               bpcheck_bound_workspace *w)
{
  int status = bpcheck_params_match(net->theta, bound);
  if (status)
    return status;
  if (bpcheck_params_match(net->theta, w->nabla))
    return bpcheck_fail(BPCHECK_EBADLEN,
                        "the workspace was allocated for another network");
  /* e_z^l and e_a^l from the forward pass's own bound (CD.7), then Z^l,
   * A^l and the deltas D^l (times r) of the matrix backprop; fails when the
   * batch does not fit. */
  double C;
  if ((status = bpcheck_matrix_cost(net, batch, &C, w->forward)))
    return status;
  bpcheck_matrix_cost_error(net, batch, w->forward, u, NULL, w->ez, w->ea);
  if ((status =
           bpcheck_matrix_backprop(net, batch, w->nabla, NULL, w->forward)))
    return status;
  const size_t L = net->L, B = w->B;
  output_errors(net, batch, u, w);
  for (size_t l = L - 1; l >= 1; l--)
    backward_errors(net, u, w, l);
  const double gB = bpcheck_gamma((double)B + 1.0, u->eps);
  /* (WD.6) lambda W_kj, rounded once (and lambda and W_kj into the
   * precision), is one more term of the sum over the samples */
  const double lambda = net->weight_decay;
  const double gW = lambda ? bpcheck_gamma((double)B + 2.0, u->eps) : gB;
  const double eW = gW + u->eps + 2.0 * u->eps_in;
  for (size_t l = 1; l <= L; l++) {
    const double *D = bpcheck_matrix_D(w->forward, l)->data, *ed = w->ed[l];
    const gsl_matrix *Ap =
        l == 1 ? batch->X : bpcheck_matrix_A(w->forward, l - 1);
    for (size_t k = 0; k < net->n[l]; k++) {
      double eb = 0.0, mb = 0.0;
      for (size_t s = 0; s < B; s++)
        eb += ed[k * B + s], mb += fabs(D[k * B + s]);
      gsl_vector_set(&bound->b[l], k, eb + gB * mb);
      for (size_t j = 0; j < net->n[l - 1]; j++) {
        double e = 0.0, m = 0.0;
        for (size_t s = 0; s < B; s++) {
          const double a = Ap->data[j * Ap->tda + s];
          /* e_a^0 = eps_in |x| where the inputs are rounded */
          const double ea =
              l > 1 ? w->ea[l - 1][j * B + s] : u->eps_in * fabs(a);
          /* |delta| + e_delta, not |delta|: at a kink e_delta is of the
           * order of delta itself, and the product no longer second order */
          e += ed[k * B + s] * fabs(a) +
               (fabs(D[k * B + s]) + ed[k * B + s]) * ea;
          m += fabs(D[k * B + s] * a);
        }
        const double dW =
            lambda * fabs(gsl_matrix_get(&net->theta->W[l], k, j));
        gsl_matrix_set(&bound->W[l], k, j, e + gW * m + eW * dW);
      }
    }
  }
  return BPCHECK_SUCCESS;
}

int
bpcheck_bound_gradient(const bpcheck_net *net, const bpcheck_batch *batch,
                       bpcheck_params *bound, bpcheck_bound_workspace *w)
{
  return gradient_bound(net, batch, &bpcheck_rounding_double, bound, w);
}

int
bpcheck_bound_gradient_at(const bpcheck_net *net, const bpcheck_batch *batch,
                          bpcheck_precision p, bpcheck_params *bound,
                          bpcheck_bound_workspace *w)
{
  /* An implementation in p that forms a - y directly; in float32 its
   * inputs, parameters and targets are rounded to float first (to
   * nearest: eps / 2). */
  const bpcheck_rounding single = {FLT_EPSILON, FLT_EPSILON / 2, 1};
  const bpcheck_rounding dbl = {DBL_EPSILON, 0.0, 1};
  return gradient_bound(
      net, batch, p == BPCHECK_PRECISION_SINGLE ? &single : &dbl, bound, w);
}

/* (IN.2) e(dC/da^0_js) = sum_k |W^1_kj| (e_delta^1_ks + (gamma_(n_1) +
 * eps_in) |delta^1_ks|): the backward step (FC.5) to layer 0, without
 * f'. */
int
bpcheck_bound_input_gradient_at(const bpcheck_net *net,
                                const bpcheck_batch *batch,
                                bpcheck_precision p, gsl_matrix *bound,
                                bpcheck_bound_workspace *w)
{
  const bpcheck_rounding single = {FLT_EPSILON, FLT_EPSILON / 2, 1};
  const bpcheck_rounding dbl = {DBL_EPSILON, 0.0, 1};
  const bpcheck_rounding *u = p == BPCHECK_PRECISION_SINGLE ? &single : &dbl;
  const size_t n0 = net->n[0], n1 = net->n[1], B = w->B;
  if (!bound || bound->size1 != n0 || bound->size2 != batch->B)
    return bpcheck_fail(BPCHECK_EBADLEN,
                        "the bound of dC/da^0: expected %zu x %zu", n0,
                        batch->B);
  int status = gradient_bound(net, batch, u, w->scratch, w);
  if (status)
    return status;
  const double g = bpcheck_gamma((double)n1, u->eps) + u->eps_in;
  const gsl_matrix *W = &net->theta->W[1];
  const double *D = bpcheck_matrix_D(w->forward, 1)->data;
  for (size_t j = 0; j < n0; j++)
    for (size_t s = 0; s < B; s++) {
      double e = 0.0;
      for (size_t k = 0; k < n1; k++) {
        const double Wkj = fabs(W->data[k * W->tda + j]);
        e += Wkj * (w->ed[1][k * B + s] + g * fabs(D[k * B + s]));
      }
      gsl_matrix_set(bound, j, s, e);
    }
  return BPCHECK_SUCCESS;
}

int
bpcheck_bound_pair(const bpcheck_net *net, const bpcheck_batch *batch,
                   bpcheck_params *tol, bpcheck_bound_workspace *w)
{
  int status = bpcheck_bound_gradient(net, batch, tol, w);
  for (size_t i = 0; !status && i < tol->size; i++)
    tol->data[i] *= 2.0; /* (CD.9) two computations, each within the bound */
  return status;
}
