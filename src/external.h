/* external.h -- an external implementation behind the JSON Lines protocol
 * of DESIGN.md: one case per line on its stdin, one answer per line from its
 * stdout. */

#ifndef BPCHECK_EXTERNAL_H
#define BPCHECK_EXTERNAL_H

#include <sys/types.h>

#include "bpcheck.h"

typedef struct {
  const char *cmd;
  pid_t pid;
  int to, from;   /* its stdin, its stdout */
  double timeout; /* seconds per case */
  char *buf;      /* what it printed and is not yet read as a line */
  size_t cap, len;
  char said[512]; /* the start of its last line, for messages */
} external;

/* Starts CMD with /bin/sh -c; non-zero (message printed) on failure. */
int external_start(external *x, const char *cmd, double timeout);
/* A bpcheck_candidate_fn: sends the case, reads the answer. */
int external_candidate(const bpcheck_case *c, bpcheck_params *grad,
                       void *data);
/* Closes its stdin (end of input means stop) and waits for it a moment,
 * then kills it. */
void external_stop(external *x);

#endif
