/* fuzz_verify.c -- libFuzzer harness for the whole `bpcheck verify` path
 * (scripts/fuzz builds and runs it): the input, written to a file, is read
 * as a case, its reference gradient confirmed (literal backprop, central
 * differences) and its "gradients" compared and diagnosed, by the command
 * itself (cmd_verify).  Whatever the input -- small cases with extreme
 * numbers, from the seed corpus tests/fuzz/corpus-verify -- it must never
 * crash, leak or trip a sanitizer, and must exit 0, 1 or 2. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_errno.h>

#include "commands.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static char path[] = "/tmp/bpcheck-fuzz-verify-XXXXXX";
  static int fd = -1;
  if (fd < 0) {
    gsl_set_error_handler_off();
    fd = mkstemp(path);
    if (fd < 0)
      abort();
    unlink(path); /* read through /proc/self/fd: nothing left behind */
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  }
  if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
    abort();
  /* Small cases only: each input runs in milliseconds. */
  char *argv[] = {"verify", path, "--max-params", "300", "--json", NULL};
  int argc = 5, code = cmd_verify(argc, argv);
  fflush(stdout);
  if (code != EXIT_PASS && code != EXIT_MISMATCH && code != EXIT_USAGE)
    abort(); /* verify exits 0, 1 or 2, whatever it reads */
  return 0;
}
