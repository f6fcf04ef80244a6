/* batch.c -- inputs and targets, one sample per column. */

#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_randist.h>

#include "internal.h"

/* One allocation: the struct, the two matrix headers, then the data. */
typedef struct {
  bpcheck_batch batch;
  gsl_matrix X, Y;
  double data[];
} batch_block;

int
bpcheck_batch_alloc(bpcheck_batch **out, size_t n_0, size_t n_L, size_t B)
{
  if (n_0 == 0 || n_L == 0 || B == 0)
    return bpcheck_fail(BPCHECK_EINVAL,
                        "a batch needs n_0, n_L and B >= 1 (got %zu, %zu, "
                        "%zu)",
                        n_0, n_L, B);
  if (n_0 > BPCHECK_MAX_PARAMS || n_L > BPCHECK_MAX_PARAMS ||
      B > BPCHECK_MAX_PARAMS / (n_0 + n_L))
    return bpcheck_fail(BPCHECK_ETOOBIG,
                        "a batch of %zu samples of %zu + %zu "
                        "numbers is too large",
                        B, n_0, n_L);
  size_t count = (n_0 + n_L) * B; /* <= 2^31 by the checks above */
  batch_block *bb = bpcheck_calloc(1, sizeof *bb + count * sizeof(double));
  if (!bb)
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for a batch of %zu", B);
  bb->X = bpcheck_matrix_on(bb->data, n_0, B);
  bb->Y = bpcheck_matrix_on(bb->data + n_0 * B, n_L, B);
  bb->batch.B = B;
  bb->batch.X = &bb->X;
  bb->batch.Y = &bb->Y;
  *out = &bb->batch;
  return BPCHECK_SUCCESS;
}

void
bpcheck_batch_free(bpcheck_batch *batch)
{
  free(batch); /* the first member of its batch_block */
}

static int
all_finite(const gsl_matrix *m, const char *name)
{
  for (size_t i = 0; i < m->size1; i++)
    for (size_t s = 0; s < m->size2; s++)
      if (!isfinite(gsl_matrix_get(m, i, s)))
        return bpcheck_fail(BPCHECK_EDOM, "%s[%zu] of sample %zu is %g", name,
                            i, s, gsl_matrix_get(m, i, s));
  return BPCHECK_SUCCESS;
}

int
bpcheck_batch_validate(const bpcheck_net *net, const bpcheck_batch *batch)
{
  const gsl_matrix *X = batch->X, *Y = batch->Y;
  if (batch->B == 0 || X->size2 != batch->B || Y->size2 != batch->B)
    return bpcheck_fail(BPCHECK_EBADLEN,
                        "a batch of %zu samples holds %zu "
                        "inputs and %zu targets",
                        batch->B, X->size2, Y->size2);
  if (X->size1 != net->n[0])
    return bpcheck_fail(BPCHECK_EBADLEN,
                        "inputs have %zu entries, the network takes %zu",
                        X->size1, net->n[0]);
  if (Y->size1 != net->n[net->L])
    return bpcheck_fail(BPCHECK_EBADLEN,
                        "targets have %zu entries, the network gives %zu",
                        Y->size1, net->n[net->L]);
  int status = all_finite(X, "x");
  if (status)
    return status;
  if ((status = all_finite(Y, "y")))
    return status;
  if (net->cost == BPCHECK_CROSS_ENTROPY ||
      net->cost == BPCHECK_CATEGORICAL_CROSS_ENTROPY)
    for (size_t k = 0; k < Y->size1; k++)
      for (size_t s = 0; s < Y->size2; s++) {
        double y = gsl_matrix_get(Y, k, s);
        if (y < 0.0 || y > 1.0)
          return bpcheck_fail(BPCHECK_EDOM,
                              "y[%zu] of sample %zu is %g, outside [0,1] "
                              "where %s is defined",
                              k, s, y, bpcheck_cost_name(net->cost));
      }
  return BPCHECK_SUCCESS;
}

int
bpcheck_batch_init_random(bpcheck_batch *batch, const bpcheck_net *net,
                          gsl_rng *rng)
{
  gsl_matrix *X = batch->X, *Y = batch->Y;
  if (X->size1 != net->n[0] || Y->size1 != net->n[net->L])
    return bpcheck_fail(BPCHECK_EBADLEN, "the batch does not fit the network");
  for (size_t j = 0; j < X->size1; j++)
    for (size_t s = 0; s < X->size2; s++)
      gsl_matrix_set(X, j, s, gsl_ran_flat(rng, -1.0, 1.0));
  for (size_t s = 0; s < Y->size2; s++) {
    double sum = 0.0;
    for (size_t k = 0; k < Y->size1; k++) {
      double y = net->cost == BPCHECK_QUADRATIC || net->cost == BPCHECK_MSE
                     ? gsl_ran_gaussian(rng, 1.0)
                     : gsl_rng_uniform(rng);
      gsl_matrix_set(Y, k, s, y);
      sum += y;
    }
    if (net->cost == BPCHECK_CATEGORICAL_CROSS_ENTROPY)
      for (size_t k = 0; k < Y->size1; k++)
        gsl_matrix_set(Y, k, s,
                       sum > 0 ? gsl_matrix_get(Y, k, s) / sum
                               : 1.0 / (double)Y->size1);
  }
  return BPCHECK_SUCCESS;
}
