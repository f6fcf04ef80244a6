/* literal.c -- backpropagation index by index, exactly as it is derived.
 *
 * Put proofs/04-fully-connected.md beside this file: every block below
 * cites the equation it implements.  The loops run over
 *
 *   l  the layer, 1..L
 *   k  the receiving node, in layer l
 *   j  the emitting node, in layer l-1
 *
 * and use no BLAS and no vector helpers, so that each line can be matched
 * against the formula.  One sample s is taken at a time; the batch reduction
 * (COST.5) is applied explicitly when its contribution is added.
 *
 * Where the code drifts from the notation:
 *   - indices start at 0: node k of layer l is z[l][k], k = 0..n_l - 1;
 *   - W^l_kj is read as W(l, k, j), and b^l_k as b(l, k);
 *   - in the recursion (FC.5) the node of layer l is j and the node of layer
 *     l+1 is k, as in the derivation: delta^l_j gathers from every k.
 *
 * The bug zoo (bpcheck mutants) is not here: each classic bug is a patch
 * of a line or two of this file, lib/zoo/NAME.patch, applied at build time
 * into a function of its own (scripts/zoo-gen); a patch that no longer
 * applies fails the build.  `bpcheck mutants --show NAME` prints it. */

#include <stdlib.h>

#include "internal.h"

struct bpcheck_literal_workspace {
  size_t L;
  size_t *n;      /* n[0..L], to check that a network fits */
  double **z;     /* z[l][k] = z^l_k of the current sample */
  double **a;     /* a[l][k] = a^l_k, a[0] = x */
  double **delta; /* delta[l][k] = delta^l_k = dC_s/dz^l_k */
  double *dC_da;  /* dC_s/da^L_k */
  double *abar;   /* 1 - a^L_k, computed on its own (COST.8) */
  double *block;  /* the memory behind z, a, delta, dC_da and abar */
  double **fp;    /* fp[l][k] = f_l'(z^l_k) as used, for the trace */
  double **back;  /* back[l][j] = sum_k W^(l+1)_kj delta^(l+1)_k (FC.5) */
  double *fblock; /* the memory behind fp and back */
};

#define W(l, k, j) gsl_matrix_get(&net->theta->W[(l)], (k), (j))
#define b(l, k) gsl_vector_get(&net->theta->b[(l)], (k))
#define x(j, s) gsl_matrix_get(batch->X, (j), (s))
#define y(k, s) gsl_matrix_get(batch->Y, (k), (s))

int
bpcheck_literal_alloc(bpcheck_literal_workspace **out, const bpcheck_net *net)
{
  size_t L = net->L, total = 0;
  for (size_t l = 0; l <= L; l++)
    total += 3 * net->n[l]; /* z, a, delta of layer l */
  total += 2 * net->n[L];   /* dC_da, abar */

  bpcheck_literal_workspace *w = bpcheck_calloc(1, sizeof *w);
  if (w) {
    w->L = L;
    w->n = bpcheck_sizes_dup(L, net->n);
    w->z = bpcheck_calloc(L + 1, sizeof *w->z);
    w->a = bpcheck_calloc(L + 1, sizeof *w->a);
    w->delta = bpcheck_calloc(L + 1, sizeof *w->delta);
    w->block = bpcheck_calloc(total, sizeof *w->block);
    w->fp = bpcheck_calloc(L + 1, sizeof *w->fp);
    w->back = bpcheck_calloc(L + 1, sizeof *w->back);
    w->fblock = bpcheck_calloc(2 * (total - net->n[L]) / 3, /* 2 n_l */
                               sizeof *w->fblock);
  }
  if (!w || !w->n || !w->z || !w->a || !w->delta || !w->block || !w->fp ||
      !w->back || !w->fblock) {
    bpcheck_literal_free(w);
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for the literal workspace");
  }
  double *p = w->block;
  for (size_t l = 0; l <= L; l++) {
    w->z[l] = p, p += net->n[l];
    w->a[l] = p, p += net->n[l];
    w->delta[l] = p, p += net->n[l];
  }
  w->dC_da = p, p += net->n[L];
  w->abar = p;
  p = w->fblock;
  for (size_t l = 0; l <= L; l++) {
    w->fp[l] = p, p += net->n[l];
    w->back[l] = p, p += net->n[l];
  }
  *out = w;
  return BPCHECK_SUCCESS;
}

void
bpcheck_literal_free(bpcheck_literal_workspace *w)
{
  if (w)
    BPCHECK_FREE(w->n, w->z, w->a, w->delta, w->block, w->fp, w->back,
                 w->fblock, w);
}

static int
check_fits(const bpcheck_net *net, const bpcheck_batch *batch,
           const bpcheck_params *nabla, const bpcheck_literal_workspace *w)
{
  int status = bpcheck_params_match(net->theta, nabla);
  if (status)
    return status;
  for (size_t l = 0; l <= net->L; l++)
    if (w->L != net->L || w->n[l] != net->n[l])
      return bpcheck_fail(BPCHECK_EBADLEN,
                          "the workspace was allocated for another network");
  return bpcheck_batch_validate(net, batch);
}

/* f_l'(z^l_k) (FC.4), (FC.5): of z, never of a = f(z). */
static double
f_prime(const bpcheck_net *net, size_t l, double z)
{
  return bpcheck_activation_df(net->f[l], z);
}

/* The gradient being gathered, entry by entry: dW(l, k, j) is the entry of
 * dC/dW^l at row k, column j; db(l, k) that of dC/db^l. */
#define dW(l, k, j) (nabla->W[(l)].data[(k)*nabla->W[(l)].tda + (j)])
#define db(l, k) (nabla->b[(l)].data[(k)*nabla->b[(l)].stride])

int
bpcheck_literal_backprop(const bpcheck_net *net, const bpcheck_batch *batch,
                         bpcheck_params *nabla, double *C,
                         bpcheck_literal_workspace *w)
{
  int status = check_fits(net, batch, nabla, w);
  if (status)
    return status;

  const size_t L = net->L, *n = net->n;
  double **z = w->z, **a = w->a, **delta = w->delta, *dC_da = w->dC_da;
  double *abar = w->abar;
  const gsl_matrix *Y = batch->Y;
  double cost = 0.0;

  /* (COST.5) C = r sum_s C_s, so dC/dtheta = r sum_s dC_s/dtheta. */
  const double r = bpcheck_reduction_factor(net->reduction, batch->B);

  /* nabla_w^l_kj and nabla_b^l_k start at 0 and gather every sample. */
  for (size_t l = 1; l <= L; l++)
    for (size_t k = 0; k < n[l]; k++) {
      for (size_t j = 0; j < n[l - 1]; j++)
        dW(l, k, j) = 0.0;
      db(l, k) = 0.0;
    }

  for (size_t s = 0; s < batch->B; s++) {
    /* Forward pass.  a^0 = x. */
    for (size_t j = 0; j < n[0]; j++)
      a[0][j] = x(j, s);

    for (size_t l = 1; l <= L; l++) {
      for (size_t k = 0; k < n[l]; k++) {
        /* (FC.1) z^l_k = sum_j W^l_kj a^(l-1)_j + b^l_k */
        z[l][k] = b(l, k);
        for (size_t j = 0; j < n[l - 1]; j++)
          z[l][k] += W(l, k, j) * a[l - 1][j];
        /* (FC.2) a^l_k = f_l(z^l_k) */
        if (net->f[l] != BPCHECK_SOFTMAX)
          a[l][k] = bpcheck_activation_f(net->f[l], z[l][k]);
      }
      /* (ACT.6) softmax: a^L_k = e^(z^L_k) / sum_i e^(z^L_i), which needs
       * every z^L_i first; with 1 - a^L_k beside it (COST.8). */
      if (net->f[l] == BPCHECK_SOFTMAX)
        bpcheck_softmax_pair(n[l], z[l], 1, a[l], 1, abar, 1);
    }
    /* (COST.8) 1 - a^L_k without cancellation: sigma(-z) for a sigmoid. */
    if (net->f[L] != BPCHECK_SOFTMAX)
      for (size_t k = 0; k < n[L]; k++)
        abar[k] = bpcheck_output_abar(net->f[L], z[L][k], a[L][k]);

    /* The cost of this sample, (COST.1)-(COST.4) C_s = sum_k term(a^L_k,
     * y_k), computed from z^L where a^L saturates (output.c). */
    cost += r * bpcheck_output_cost(net, z[L], a[L], 1, Y->data + s, Y->tda);

    /* Its gradient with respect to the output, dC_s/da^L_k. */
    for (size_t k = 0; k < n[L]; k++) {
      /* (COST.9) a^L_k - y_k, as (1 - y) a - y (1 - a) where 1 - a has
       * its own digits */
      const double d =
          net->f[L] == BPCHECK_SIGMOID || net->f[L] == BPCHECK_SOFTMAX
              ? (1.0 - y(k, s)) * a[L][k] - y(k, s) * abar[k]
              : a[L][k] - y(k, s);
      switch (net->cost) {
      case BPCHECK_QUADRATIC: dC_da[k] = d; break; /* (COST.1) */
      case BPCHECK_MSE:
        dC_da[k] = 2.0 * d / (double)n[L];
        break;                    /* (COST.2) */
      case BPCHECK_CROSS_ENTROPY: /* (COST.3) */
        dC_da[k] = d / (a[L][k] * abar[k]);
        break;
      default: dC_da[k] = -y(k, s) / a[L][k]; /* (COST.4) */
      }
    }

    /* Output layer. */
    for (size_t k = 0; k < n[L]; k++) {
      if (net->f[L] == BPCHECK_SIGMOID && net->cost == BPCHECK_CROSS_ENTROPY) {
        /* (COST.7) delta^L_k = dC/da^L_k a^L_k (1 - a^L_k) = a^L_k - y_k:
         * f_L' cancels the denominator of (COST.3) */
        w->fp[L][k] = f_prime(net, L, z[L][k]);
        delta[L][k] = (1.0 - y(k, s)) * a[L][k] - y(k, s) * abar[k];
      } else if (net->f[L] != BPCHECK_SOFTMAX) {
        /* (FC.4) delta^L_k = dC/da^L_k f_L'(z^L_k) */
        w->fp[L][k] = f_prime(net, L, z[L][k]);
        delta[L][k] = dC_da[k] * w->fp[L][k];
      } else if (net->cost == BPCHECK_CATEGORICAL_CROSS_ENTROPY) {
        /* (COST.6) delta^L_k = a^L_k sum_i y_i - y_k
         *                    = a^L_k sum_(i != k) y_i - y_k (1 - a^L_k) */
        double sum = 0.0;
        for (size_t i = 0; i < n[L]; i++)
          if (i != k)
            sum += y(i, s);
        delta[L][k] = a[L][k] * sum - y(k, s) * abar[k];
      } else {
        /* (ACT.9) delta^L_k = sum_i (da^L_i/dz^L_k) dC/da^L_i
         *   = a^L_k (1 - a^L_k) dC/da^L_k - a^L_k sum_(i != k) a^L_i
         * dC/da^L_i, from the Jacobian (ACT.7) da_i/dz_k = a_i (delta_ik -
         * a_k): its diagonal, then the rest. */
        double sum = 0.0;
        for (size_t i = 0; i < n[L]; i++)
          if (i != k)
            sum += a[L][i] * dC_da[i];
        delta[L][k] = a[L][k] * abar[k] * dC_da[k] - a[L][k] * sum;
      }
    }

    /* Backward pass, from layer L-1 down to layer 1: delta^l from
     * delta^(l+1).  Here j runs over layer l and k over layer l+1. */
    for (size_t l = L - 1; l >= 1; l--) {
      for (size_t j = 0; j < n[l]; j++) {
        /* (FC.5) delta^l_j = (sum_k W^(l+1)_kj delta^(l+1)_k) f_l'(z^l_j) */
        double sum = 0.0;
        for (size_t k = 0; k < n[l + 1]; k++)
          sum += W(l + 1, k, j) * delta[l + 1][k];
        w->back[l][j] = sum; /* kept for the trace */
        w->fp[l][j] = f_prime(net, l, z[l][j]);
        delta[l][j] = sum * w->fp[l][j];
      }
    }

    /* Gradients of this sample, added with the reduction's factor r. */
    for (size_t l = 1; l <= L; l++) {
      for (size_t k = 0; k < n[l]; k++) {
        for (size_t j = 0; j < n[l - 1]; j++)
          /* (FC.6) dC/dW^l_kj = a^(l-1)_j delta^l_k */
          dW(l, k, j) += r * a[l - 1][j] * delta[l][k];
        /* (FC.7) dC/db^l_k = delta^l_k */
        db(l, k) += r * delta[l][k];
      }
    }
  }

  /* Weight decay, once for the batch, after the reduction; the biases are
   * not decayed. */
  if (net->weight_decay != 0.0) {
    const double lambda = net->weight_decay;
    for (size_t l = 1; l <= L; l++)
      for (size_t k = 0; k < n[l]; k++)
        for (size_t j = 0; j < n[l - 1]; j++) {
          /* (WD.1) C += lambda/2 (W^l_kj)^2 */
          cost += 0.5 * lambda * W(l, k, j) * W(l, k, j);
          /* (WD.3) dC/dW^l_kj += lambda W^l_kj */
          dW(l, k, j) += lambda * W(l, k, j);
        }
  }

  if (C)
    *C = cost;
  return BPCHECK_SUCCESS;
}

const double *
bpcheck_literal_quantity(const bpcheck_literal_workspace *w,
                         bpcheck_literal_q q, size_t l)
{
  switch (q) {
  case BPCHECK_LITERAL_Z: return w->z[l];
  case BPCHECK_LITERAL_A: return w->a[l];
  case BPCHECK_LITERAL_DELTA: return w->delta[l];
  case BPCHECK_LITERAL_FP: return w->fp[l];
  case BPCHECK_LITERAL_BACK: return w->back[l];
  default: return w->dC_da;
  }
}
