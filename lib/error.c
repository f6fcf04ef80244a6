/* error.c -- status names and the detail of the last error. */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static _Thread_local char errmsg[512];

const char *
bpcheck_strerror(int status)
{
  switch (status) {
  case BPCHECK_SUCCESS: return "success";
  case BPCHECK_EMISMATCH: return "gradient mismatch";
  case BPCHECK_EINVAL: return "invalid argument";
  case BPCHECK_EBADLEN: return "dimensions do not match";
  case BPCHECK_ENOMEM: return "out of memory";
  case BPCHECK_ETOOBIG: return "size too large";
  case BPCHECK_EDOM: return "value out of range";
  case BPCHECK_ECANDIDATE: return "the candidate failed";
  case BPCHECK_ESKIP: return "the candidate skipped the case";
  default: return "unknown status";
  }
}

const char *
bpcheck_errmsg(void)
{
  return errmsg;
}

int
bpcheck_fail(int status, const char *fmt, ...)
{
  /* Formatted aside first: an argument may be bpcheck_errmsg() itself. */
  char buf[sizeof errmsg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  memcpy(errmsg, buf, sizeof errmsg);
  return status;
}

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

size_t *
bpcheck_sizes_dup(size_t L, const size_t *n)
{
  size_t *copy = bpcheck_calloc(L + 1, sizeof *copy);
  if (copy)
    memcpy(copy, n, (L + 1) * sizeof *copy);
  return copy;
}
