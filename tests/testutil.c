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
  ck_assert_ok(bpcheck_bound_gradient(x->net, x->batch, x->tol, x->bw));
  for (size_t i = 0; i < x->tol->size; i++)
    x->tol->data[i] *= 2.0;
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
