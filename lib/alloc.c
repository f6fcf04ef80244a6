/* alloc.c -- every allocation of the library, with a fault injector for the
 * tests (an allocation that fails on demand: tests/check_oom.c). */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "internal.h"

/* Fault injection for the tests: when set, the fail_at-th allocation from
 * now on fails (1 = the next one). */
static _Thread_local size_t fail_at, allocations;

void
bpcheck_test_fail_allocation(size_t n)
{
  fail_at = n;
  allocations = 0;
}

void *
bpcheck_calloc(size_t n, size_t size)
{
  if (fail_at && ++allocations == fail_at)
    return NULL;
  if (size != 0 && n > SIZE_MAX / size)
    return NULL;
  return calloc(n ? n : 1, size ? size : 1);
}

void
bpcheck_free_each(size_t n, void *const *p)
{
  for (size_t i = 0; i < n; i++)
    free(p[i]);
}

size_t *
bpcheck_sizes_dup(size_t L, const size_t *n)
{
  size_t *copy = bpcheck_calloc(L + 1, sizeof *copy);
  if (copy)
    memcpy(copy, n, (L + 1) * sizeof *copy);
  return copy;
}

/* gsl_rng_alloc reports a failed allocation through GSL's error handler;
 * the library must not let it abort, so the handler is off around it. */
gsl_rng *
bpcheck_rng_alloc(void)
{
  gsl_error_handler_t *old = gsl_set_error_handler_off();
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_set_error_handler(old);
  return rng;
}
