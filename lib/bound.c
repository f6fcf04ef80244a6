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
 *   output    e_G = |dG/da| e_a + 4 eps |G|,  G = dC_s/da^L
 *             e_delta^L = r (e_G |f'| + |G| |f''| e_z + 4 eps |G f'|)
 *   backward  u = (W^(l+1))^T delta^(l+1)
 *             e_u = |W^(l+1)|^T (e_delta^(l+1) + gamma |delta^(l+1)|)
 *             e_delta^l = e_u |f'| + |u| |f''| e_z + 4 eps |u f'|
 *   gradient  e(dC/dW_kj) = sum_s (e_delta_k |a_j|
 *                           + (|delta_k| + e_delta_k) e_a_j)
 *                           + gamma_(B+1) sum_s |delta_k a_j|
 *
 * (softmax: the same through its Jacobian, (ACT.8)).  A relu input within
 * its own error bound of 0 may fall on either side of the kink: there f'
 * is taken as 1 in e_a, and the whole |u| (or r |G|) is added to e_delta,
 * since one computation may multiply by 1 and another by 0.  Two backprops
 * of the same network then differ by at most the sum of their bounds. */

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "internal.h"

struct bpcheck_bound_workspace {
  bpcheck_matrix_workspace *forward; /* Z^l, A^l and the deltas D^l */
  bpcheck_params *nabla;             /* the matrix gradient, unused */
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
  free(w->ez);
  free(w->ea);
  free(w->ed);
  free(w->block);
  free(w);
}

/* |f''(z)|: (ACT.1) sigma' (1 - 2 sigma), (ACT.2) -2 tanh (1 - tanh^2),
 * (ACT.5) softplus'' = sigma'; 0 for identity and relu (its kink apart). */
static double
f_second(bpcheck_activation f, double z)
{
  switch (f) {
  case BPCHECK_SIGMOID:
    return fabs(bpcheck_activation_df(f, z) *
                (1.0 - 2.0 * bpcheck_activation_f(f, z)));
  case BPCHECK_TANH: return fabs(2.0 * tanh(z) * bpcheck_activation_df(f, z));
  case BPCHECK_SOFTPLUS: return bpcheck_activation_df(BPCHECK_SIGMOID, z);
  default: return 0.0;
  }
}

/* |d dterm / da| of (COST.1)-(COST.4). */
static double
dterm_prime(bpcheck_cost c, double a, double y, size_t n_L)
{
  switch (c) {
  case BPCHECK_QUADRATIC: return 1.0;
  case BPCHECK_MSE: return 2.0 / (double)n_L;
  case BPCHECK_CROSS_ENTROPY: {
    const double q = a * (1.0 - a);
    return fabs(q - (a - y) * (1.0 - 2.0 * a)) / (q * q);
  }
  default: return fabs(y / (a * a));
  }
}

/* e_delta^L: (FC.4), or (ACT.8) for softmax. */
static void
output_errors(const bpcheck_net *net, const bpcheck_batch *batch,
              bpcheck_bound_workspace *w)
{
  const size_t L = net->L, nL = net->n[L], B = w->B;
  const double r = bpcheck_reduction_factor(net->reduction, B);
  const double *Z = bpcheck_matrix_Z(w->forward, L)->data;
  const double *A = bpcheck_matrix_A(w->forward, L)->data;
  const double *ez = w->ez[L], *ea = w->ea[L];
  double *ed = w->ed[L];
  for (size_t s = 0; s < B; s++) {
    /* G_k = dC_s/da_k and e_G_k; for softmax, S = sum_i a_i G_i, e_S. */
    double S = 0.0, eS = 0.0, mS = 0.0;
    for (size_t k = 0; k < nL; k++) {
      const double a = A[k * B + s], y = gsl_matrix_get(batch->Y, k, s);
      const double G = bpcheck_cost_dterm(net->cost, a, y, nL);
      const double eG = dterm_prime(net->cost, a, y, nL) * ea[k * B + s] +
                        4.0 * DBL_EPSILON * fabs(G);
      S += a * G;
      eS += ea[k * B + s] * fabs(G) + a * eG;
      mS += fabs(a * G);
      ed[k * B + s] = eG; /* e_G, as yet */
    }
    eS += bpcheck_gamma((double)nL) * mS;
    for (size_t k = 0; k < nL; k++) {
      const double a = A[k * B + s], z = Z[k * B + s];
      const double G =
          bpcheck_cost_dterm(net->cost, a, gsl_matrix_get(batch->Y, k, s), nL);
      const double eG = ed[k * B + s];
      double e;
      if (net->f[L] == BPCHECK_SOFTMAX) {
        /* delta_k = a_k (G_k - S) */
        e = ea[k * B + s] * fabs(G - S) + a * (eG + eS) +
            3.0 * DBL_EPSILON * a * (fabs(G) + fabs(S));
      } else {
        const double df = fabs(bpcheck_activation_df(net->f[L], z));
        e = eG * df + fabs(G) * f_second(net->f[L], z) * ez[k * B + s] +
            4.0 * DBL_EPSILON * fabs(G * df);
        if (bpcheck_relu_at_kink(net->f[L], z, ez[k * B + s]))
          e += fabs(G) + eG;
      }
      ed[k * B + s] = r * e * (1.0 + DBL_EPSILON);
    }
  }
}

/* e_delta^l from e_delta^(l+1): (FC.5). */
static void
backward_errors(const bpcheck_net *net, bpcheck_bound_workspace *w, size_t l)
{
  const size_t n = net->n[l], nn = net->n[l + 1], B = w->B;
  const double g = bpcheck_gamma((double)nn);
  const gsl_matrix *W = &net->theta->W[l + 1];
  const double *Dn = bpcheck_matrix_D(w->forward, l + 1)->data;
  const double *Z = bpcheck_matrix_Z(w->forward, l)->data;
  for (size_t j = 0; j < n; j++)
    for (size_t s = 0; s < B; s++) {
      double u = 0.0, eu = 0.0, mu = 0.0;
      for (size_t k = 0; k < nn; k++) {
        const double Wkj = W->data[k * W->tda + j], d = Dn[k * B + s];
        u += Wkj * d;
        mu += fabs(Wkj * d);
        eu += fabs(Wkj) * w->ed[l + 1][k * B + s];
      }
      eu += g * mu;
      const double z = Z[j * B + s], ez = w->ez[l][j * B + s];
      const double df = fabs(bpcheck_activation_df(net->f[l], z));
      double e = eu * df + fabs(u) * f_second(net->f[l], z) * ez +
                 4.0 * DBL_EPSILON * fabs(u * df);
      if (bpcheck_relu_at_kink(net->f[l], z, ez))
        e += fabs(u) + eu;
      w->ed[l][j * B + s] = e;
    }
}

int
bpcheck_bound_gradient(const bpcheck_net *net, const bpcheck_batch *batch,
                       bpcheck_params *bound, bpcheck_bound_workspace *w)
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
  bpcheck_matrix_cost_error(net, batch, w->forward, NULL, w->ez, w->ea);
  if ((status =
           bpcheck_matrix_backprop(net, batch, w->nabla, NULL, w->forward)))
    return status;
  const size_t L = net->L, B = w->B;
  output_errors(net, batch, w);
  for (size_t l = L - 1; l >= 1; l--)
    backward_errors(net, w, l);
  const double gB = bpcheck_gamma((double)B + 1.0);
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
          /* |delta| + e_delta, not |delta|: at a kink e_delta is of the
           * order of delta itself, and the product no longer second order */
          e += ed[k * B + s] * fabs(a) +
               (fabs(D[k * B + s]) + ed[k * B + s]) *
                   (l > 1 ? w->ea[l - 1][j * B + s] : 0.0);
          m += fabs(D[k * B + s] * a);
        }
        gsl_matrix_set(&bound->W[l], k, j, e + gB * m);
      }
    }
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
