/* error.c -- status names and the detail of the last error. */

#include <stdarg.h>
#include <stdio.h>
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
