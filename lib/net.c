/* net.c -- architectures, the parameter block, and the network. */

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_randist.h>

#include "internal.h"

gsl_matrix
bpcheck_matrix_on(double *data, size_t rows, size_t cols)
{
  gsl_matrix m = {rows, cols, cols, data, NULL, 0};
  return m;
}

gsl_vector
bpcheck_vector_on(double *data, size_t n)
{
  gsl_vector v = {n, 1, data, NULL, 0};
  return v;
}

/* The number of doubles in the parameter block, sum_l n_l (n_(l-1) + 1),
 * or an error when a size is 0 or the count passes BPCHECK_MAX_PARAMS. */
static int
params_size(size_t L, const size_t *n, size_t *size)
{
  if (L < 1)
    return bpcheck_fail(BPCHECK_EINVAL,
                        "a network needs at least one layer "
                        "of weights (got %zu layer sizes)",
                        L + 1);
  if (L > BPCHECK_MAX_LAYERS)
    return bpcheck_fail(BPCHECK_ETOOBIG, "%zu layers exceed the limit of %d",
                        L, BPCHECK_MAX_LAYERS);
  if (n == NULL)
    return bpcheck_fail(BPCHECK_EINVAL, "no layer sizes");
  size_t total = 0;
  for (size_t l = 0; l <= L; l++) {
    if (n[l] == 0)
      return bpcheck_fail(BPCHECK_EINVAL, "layer %zu has 0 nodes", l);
    if (n[l] > BPCHECK_MAX_PARAMS)
      return bpcheck_fail(BPCHECK_ETOOBIG,
                          "layer %zu has %zu nodes, more "
                          "than the limit of %zu parameters",
                          l, n[l], BPCHECK_MAX_PARAMS);
  }
  for (size_t l = 1; l <= L; l++) {
    /* Each factor is at most 2^31 + 1, so the product fits in 64 bits;
     * the sum is checked against the limit before it can grow further. */
    uint64_t layer = (uint64_t)n[l] * ((uint64_t)n[l - 1] + 1);
    if (layer > BPCHECK_MAX_PARAMS - total)
      return bpcheck_fail(BPCHECK_ETOOBIG,
                          "the network has more than %zu parameters "
                          "(the limit) by layer %zu",
                          BPCHECK_MAX_PARAMS, l);
    total += (size_t)layer;
  }
  *size = total;
  return BPCHECK_SUCCESS;
}

int
bpcheck_arch_validate(const bpcheck_arch *arch)
{
  size_t size;
  int status = params_size(arch->L, arch->n, &size);
  if (status)
    return status;
  if (arch->f == NULL)
    return bpcheck_fail(BPCHECK_EINVAL, "no activations");
  for (size_t l = 1; l <= arch->L; l++) {
    bpcheck_activation f = arch->f[l];
    if ((int)f < 0 || f >= BPCHECK_N_ACTIVATIONS)
      return bpcheck_fail(BPCHECK_EINVAL, "layer %zu: invalid activation %d",
                          l, (int)f);
    if (f == BPCHECK_SOFTMAX && l < arch->L)
      return bpcheck_fail(BPCHECK_EINVAL,
                          "layer %zu: softmax is only allowed on the output "
                          "layer (%zu)",
                          l, arch->L);
  }
  if ((int)arch->cost < 0 || arch->cost >= BPCHECK_N_COSTS)
    return bpcheck_fail(BPCHECK_EINVAL, "invalid cost %d", (int)arch->cost);
  if ((int)arch->reduction < 0 || arch->reduction >= BPCHECK_N_REDUCTIONS)
    return bpcheck_fail(BPCHECK_EINVAL, "invalid reduction %d",
                        (int)arch->reduction);
  bpcheck_activation out = arch->f[arch->L];
  if (arch->cost == BPCHECK_CATEGORICAL_CROSS_ENTROPY &&
      out != BPCHECK_SOFTMAX)
    return bpcheck_fail(BPCHECK_EINVAL,
                        "categorical_cross_entropy needs a softmax output "
                        "layer, not %s",
                        bpcheck_activation_name(out));
  if (arch->cost == BPCHECK_CROSS_ENTROPY && out != BPCHECK_SIGMOID &&
      out != BPCHECK_SOFTMAX)
    return bpcheck_fail(BPCHECK_EINVAL,
                        "cross_entropy needs outputs in (0,1) (a sigmoid or "
                        "softmax output layer), not %s",
                        bpcheck_activation_name(out));
  if (arch->cost == BPCHECK_CROSS_ENTROPY && out == BPCHECK_SOFTMAX &&
      arch->n[arch->L] == 1)
    return bpcheck_fail(BPCHECK_EINVAL,
                        "cross_entropy after a softmax over one output: a = "
                        "1, so ln(1 - a) = -inf");
  return BPCHECK_SUCCESS;
}

/* Parameters ----------------------------------------------------------- */

int
bpcheck_params_alloc(bpcheck_params **out, size_t L, const size_t *n)
{
  size_t size;
  int status = params_size(L, n, &size);
  if (status)
    return status;
  bpcheck_params *p = bpcheck_calloc(1, sizeof *p);
  if (p) {
    p->L = L;
    p->size = size;
    p->n = bpcheck_sizes_dup(L, n);
    p->data = bpcheck_calloc(size, sizeof *p->data);
    p->W = bpcheck_calloc(L + 1, sizeof *p->W);
    p->b = bpcheck_calloc(L + 1, sizeof *p->b);
  }
  if (!p || !p->n || !p->data || !p->W || !p->b) {
    bpcheck_params_free(p);
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for %zu parameters", size);
  }
  double *block = p->data;
  for (size_t l = 1; l <= L; l++) {
    p->W[l] = bpcheck_matrix_on(block, n[l], n[l - 1]);
    block += n[l] * n[l - 1];
    p->b[l] = bpcheck_vector_on(block, n[l]);
    block += n[l];
  }
  *out = p;
  return BPCHECK_SUCCESS;
}

void
bpcheck_params_free(bpcheck_params *p)
{
  if (p)
    BPCHECK_FREE(p->n, p->data, p->W, p->b, p);
}

int
bpcheck_params_match(const bpcheck_params *p, const bpcheck_params *q)
{
  if (p->L != q->L)
    return bpcheck_fail(BPCHECK_EBADLEN, "%zu layers where %zu are expected",
                        q->L, p->L);
  for (size_t l = 0; l <= p->L; l++)
    if (p->n[l] != q->n[l])
      return bpcheck_fail(BPCHECK_EBADLEN,
                          "layer %zu has %zu nodes where %zu are expected", l,
                          q->n[l], p->n[l]);
  return BPCHECK_SUCCESS;
}

size_t
bpcheck_params_index_W(const bpcheck_params *p, size_t l, size_t k, size_t j)
{
  return (size_t)(p->W[l].data - p->data) + k * p->n[l - 1] + j;
}

size_t
bpcheck_params_index_b(const bpcheck_params *p, size_t l, size_t k)
{
  return (size_t)(p->b[l].data - p->data) + k;
}

int
bpcheck_params_layer(const bpcheck_params *p, size_t l, size_t *first,
                     size_t *count)
{
  if (l < 1 || l > p->L)
    return bpcheck_fail(BPCHECK_EINVAL, "no layer %zu in a network of %zu", l,
                        p->L);
  *first = bpcheck_params_index_W(p, l, 0, 0);
  *count = bpcheck_params_index_b(p, l, p->n[l] - 1) + 1 - *first;
  return BPCHECK_SUCCESS;
}

int
bpcheck_params_entry(const bpcheck_params *p, size_t i, size_t *l,
                     int *is_bias, size_t *k, size_t *j)
{
  if (i >= p->size)
    return bpcheck_fail(BPCHECK_EINVAL, "index %zu past the %zu parameters", i,
                        p->size);
  for (size_t m = 1; m <= p->L; m++) {
    size_t nw = p->n[m] * p->n[m - 1];
    if (i < nw) {
      *l = m, *is_bias = 0, *k = i / p->n[m - 1], *j = i % p->n[m - 1];
      return BPCHECK_SUCCESS;
    }
    i -= nw;
    if (i < p->n[m]) {
      *l = m, *is_bias = 1, *k = i, *j = 0;
      return BPCHECK_SUCCESS;
    }
    i -= p->n[m];
  }
  return BPCHECK_EINVAL; /* not reached: size is the sum of the blocks */
}

void
bpcheck_params_entry_name(const bpcheck_params *p, size_t i, char *buf,
                          size_t len)
{
  size_t l, k, j;
  int is_bias;
  if (bpcheck_params_entry(p, i, &l, &is_bias, &k, &j))
    snprintf(buf, len, "(index %zu)", i);
  else if (is_bias)
    snprintf(buf, len, "b^%zu_%zu", l, k);
  else
    snprintf(buf, len, "W^%zu_%zu,%zu", l, k, j);
}

/* The network ----------------------------------------------------------- */

int
bpcheck_net_alloc(bpcheck_net **out, const bpcheck_arch *arch)
{
  int status = bpcheck_arch_validate(arch);
  if (status)
    return status;
  bpcheck_net *net = bpcheck_calloc(1, sizeof *net);
  if (!net)
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for a network");
  net->L = arch->L;
  net->cost = arch->cost;
  net->reduction = arch->reduction;
  net->n = bpcheck_sizes_dup(arch->L, arch->n);
  net->f = bpcheck_calloc(arch->L + 1, sizeof *net->f);
  if (!net->n || !net->f) {
    bpcheck_net_free(net);
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for a network");
  }
  net->f[0] = BPCHECK_IDENTITY; /* unused: a^0 = x */
  for (size_t l = 1; l <= arch->L; l++)
    net->f[l] = arch->f[l];
  status = bpcheck_params_alloc(&net->theta, arch->L, arch->n);
  if (status) {
    bpcheck_net_free(net);
    return status;
  }
  *out = net;
  return BPCHECK_SUCCESS;
}

void
bpcheck_net_free(bpcheck_net *net)
{
  if (!net)
    return;
  bpcheck_params_free(net->theta);
  BPCHECK_FREE(net->n, net->f, net);
}

void
bpcheck_net_init_random(bpcheck_net *net, gsl_rng *rng)
{
  for (size_t l = 1; l <= net->L; l++) {
    double sd = 1.0 / sqrt((double)net->n[l - 1]);
    gsl_matrix *W = &net->theta->W[l];
    for (size_t k = 0; k < W->size1; k++)
      for (size_t j = 0; j < W->size2; j++)
        gsl_matrix_set(W, k, j, gsl_ran_gaussian(rng, sd));
    for (size_t k = 0; k < net->n[l]; k++)
      gsl_vector_set(&net->theta->b[l], k, gsl_ran_gaussian(rng, 0.5));
  }
}

int
bpcheck_net_step(bpcheck_net *net, const bpcheck_params *nabla, double eta)
{
  int status = bpcheck_params_match(net->theta, nabla);
  if (status)
    return status;
  if (!isfinite(eta))
    return bpcheck_fail(BPCHECK_EDOM, "the learning rate is %g", eta);
  gsl_vector theta = bpcheck_vector_on(net->theta->data, net->theta->size);
  gsl_vector grad = bpcheck_vector_on(nabla->data, nabla->size);
  /* (FC.8) theta <- theta - eta nabla: [P] += -eta [P] */
  gsl_blas_daxpy(-eta, &grad, &theta);
  return BPCHECK_SUCCESS;
}

void
bpcheck_net_describe(const bpcheck_net *net, char *buf, size_t len)
{
  size_t used = 0;
#define PUT(...)                                                              \
  do {                                                                        \
    int w = snprintf(buf + used, used < len ? len - used : 0, __VA_ARGS__);   \
    used += w > 0 ? (size_t)w : 0;                                            \
  } while (0)
  if (len == 0)
    return;
  buf[0] = '\0';
  for (size_t l = 0; l <= net->L; l++)
    PUT("%s%zu", l ? "-" : "", net->n[l]);
  int same = 1;
  for (size_t l = 2; l <= net->L; l++)
    same = same && net->f[l] == net->f[1];
  PUT(" ");
  for (size_t l = 1; l <= (same ? 1 : net->L); l++)
    PUT("%s%s", l > 1 ? "," : "", bpcheck_activation_name(net->f[l]));
  PUT(" %s %s", bpcheck_cost_name(net->cost),
      bpcheck_reduction_name(net->reduction));
  if (net->weight_decay != 0.0)
    PUT(" weight_decay %g", net->weight_decay);
#undef PUT
}
