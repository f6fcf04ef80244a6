/* testutil.c -- seeds and fixtures shared by the suites. */

#include <stdlib.h>

#include <gsl/gsl_errno.h>

#include "testutil.h"

unsigned long
test_seed(unsigned long fallback)
{
  const char *env = getenv("BPCHECK_SEED");
  return env && *env ? strtoul(env, NULL, 10) : fallback;
}

void
fixture_init(fixture *x, size_t L, const size_t *n,
             const bpcheck_activation *f, bpcheck_cost cost,
             bpcheck_reduction red, size_t B, unsigned long seed)
{
  bpcheck_arch arch = {L, n, f, cost, red};
  *x = (fixture){0};
  ck_assert_ok(bpcheck_net_alloc(&x->net, &arch));
  ck_assert_ok(bpcheck_batch_alloc(&x->batch, n[0], n[L], B));
  ck_assert_ok(bpcheck_params_alloc(&x->lit, L, n));
  ck_assert_ok(bpcheck_params_alloc(&x->mat, L, n));
  ck_assert_ok(bpcheck_params_alloc(&x->fd, L, n));
  ck_assert_ok(bpcheck_params_alloc(&x->err, L, n));
  ck_assert_ok(bpcheck_params_alloc(&x->tol, L, n));
  ck_assert_ok(bpcheck_bound_alloc(&x->bw, x->net, B));
  ck_assert_ok(bpcheck_literal_alloc(&x->lw, x->net));
  ck_assert_ok(bpcheck_matrix_alloc(&x->mw, x->net, B));
  ck_assert_ok(bpcheck_fdiff_alloc(&x->fw, x->net, B));
  ck_assert_ok(bpcheck_report_alloc(&x->report, L));
  x->rng = gsl_rng_alloc(gsl_rng_mt19937);
  ck_assert_ptr_nonnull(x->rng);
  gsl_rng_set(x->rng, seed);
  bpcheck_net_init_random(x->net, x->rng);
  ck_assert_ok(bpcheck_batch_init_random(x->batch, x->net, x->rng));
}

void
fixture_free(fixture *x)
{
  bpcheck_net_free(x->net);
  bpcheck_batch_free(x->batch);
  bpcheck_params_free(x->lit);
  bpcheck_params_free(x->mat);
  bpcheck_params_free(x->fd);
  bpcheck_params_free(x->err);
  bpcheck_params_free(x->tol);
  bpcheck_bound_free(x->bw);
  bpcheck_literal_free(x->lw);
  bpcheck_matrix_free(x->mw);
  bpcheck_fdiff_free(x->fw);
  bpcheck_report_free(x->report);
  if (x->rng)
    gsl_rng_free(x->rng);
}

void
fixture_gradients(fixture *x)
{
  ck_assert_ok(
      bpcheck_literal_backprop(x->net, x->batch, x->lit, NULL, x->lw));
  ck_assert_ok(bpcheck_matrix_backprop(x->net, x->batch, x->mat, NULL, x->mw));
  ck_assert_ok(bpcheck_fdiff_gradient(x->net, x->batch, x->fd, x->err, x->fw));
  ck_assert_ok(bpcheck_bound_pair(x->net, x->batch, x->tol, x->bw));
}

static int gsl_calls;
static const char *gsl_last = "";

static void
count_gsl_error(const char *reason, const char *file, int line, int gsl_errno)
{
  (void)file, (void)line, (void)gsl_errno;
  gsl_calls++;
  gsl_last = reason;
}

void
gsl_guard_setup(void)
{
  gsl_calls = 0;
  gsl_set_error_handler(count_gsl_error);
}

void
gsl_guard_teardown(void)
{
  gsl_set_error_handler_off();
}

int
gsl_guard_count(void)
{
  return gsl_calls;
}

const char *
gsl_guard_reason(void)
{
  return gsl_last;
}

long double
f_ld(bpcheck_activation f, long double z)
{
  switch (f) {
  case BPCHECK_SIGMOID: return 1.0L / (1.0L + expl(-z));
  case BPCHECK_TANH: return tanhl(z);
  case BPCHECK_RELU: return z > 0 ? z : 0.0L;
  case BPCHECK_SOFTPLUS: return z > 0 ? z + log1pl(expl(-z)) : log1pl(expl(z));
  default: return z;
  }
}

long double
df_ld(bpcheck_activation f, long double z)
{
  switch (f) {
  case BPCHECK_SIGMOID: {
    long double s = f_ld(f, z);
    return s * (1.0L - s);
  }
  case BPCHECK_TANH: {
    long double c = coshl(z);
    return 1.0L / (c * c);
  }
  case BPCHECK_RELU: return z > 0 ? 1.0L : 0.0L;
  case BPCHECK_SOFTPLUS: return f_ld(BPCHECK_SIGMOID, z);
  default: return 1.0L;
  }
}

void
forward_ld(const bpcheck_net *net, const bpcheck_batch *batch, size_t s,
           long double z[][LD_NMAX], long double a[][LD_NMAX])
{
  const size_t L = net->L, *n = net->n;
  const bpcheck_params *th = net->theta;
  for (size_t j = 0; j < n[0]; j++)
    a[0][j] = gsl_matrix_get(batch->X, j, s);
  for (size_t l = 1; l <= L; l++) {
    long double sum = 0.0L;
    for (size_t k = 0; k < n[l]; k++) {
      z[l][k] = gsl_vector_get(&th->b[l], k);
      for (size_t j = 0; j < n[l - 1]; j++)
        z[l][k] += (long double)gsl_matrix_get(&th->W[l], k, j) * a[l - 1][j];
      a[l][k] = net->f[l] == BPCHECK_SOFTMAX ? expl(z[l][k])
                                             : f_ld(net->f[l], z[l][k]);
      sum += a[l][k];
    }
    if (net->f[l] == BPCHECK_SOFTMAX)
      for (size_t k = 0; k < n[l]; k++)
        a[l][k] /= sum;
  }
}
