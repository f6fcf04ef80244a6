/* external.h -- an external implementation behind the JSON Lines protocol
 * of doc/reference.md: one case (or request) per line on its stdin, one
 * answer per line from its stdout.
 *
 * The candidate runs in a process group of its own.  Every wait is bounded
 * by the timeout: the case is written without blocking (poll), the answer
 * is read with poll, and the end of the run waits a short grace for the
 * exit.  On a failure, and at the end, the whole group gets SIGTERM and then
 * SIGKILL: nothing the candidate started outlives bpcheck. */

#ifndef BPCHECK_EXTERNAL_H
#define BPCHECK_EXTERNAL_H

#include <sys/types.h>

#include "bpcheck.h"

/* The bound on one answer line: this many bytes for each number of the
 * gradient, plus EXTERNAL_LINE_SLACK for the brackets and the keys. */
#define EXTERNAL_BYTES_PER_NUMBER 64
#define EXTERNAL_LINE_SLACK 65536

typedef struct {
  const char *cmd;
  pid_t pid;      /* the process bpcheck started, the group's leader */
  int exited;     /* it has exited (seen, not yet reaped) */
  int wstatus;    /* how, when exited */
  int to, from;   /* its stdin, its stdout (-1 when closed) */
  int eof;        /* its stdout is closed */
  int broken;     /* it failed: no more cases are sent */
  double timeout; /* seconds per case (writing it and reading the answer) */
  char *buf;      /* what it printed and is not yet read as a line */
  size_t cap, len;
  size_t scanned; /* bytes of buf known to hold no newline */
  size_t cases;   /* answers read */
  char said[512]; /* the start of its last line, for messages */
  gsl_matrix *dx; /* dC/da^0 of its last answer, n_0 x B, when have_dx */
  int have_dx;
} external;

/* Starts CMD with /bin/sh -c in a process group of its own; non-zero
 * (message printed) on failure. */
int external_start(external *x, const char *cmd, double timeout);
/* A bpcheck_candidate_fn: sends the case, reads the answer; an answer
 * with "inputs" leaves dC/da^0 in x->dx (x->have_dx set). */
int external_candidate(const bpcheck_case *c, bpcheck_params *grad,
                       void *data);
/* Sends one request line (line, len bytes, its newline included) and
 * reads one answer line of at most limit bytes within the timeout, with
 * every promise of external_candidate; the answer, without its newline,
 * in a new string at *answer (free it), length *n. */
int external_request(external *x, const char *line, size_t len, size_t limit,
                     char **answer, size_t *n);
/* Marks it failed because of what its last answer said: BPCHECK_ECANDIDATE
 * with the message "WHAT; it printed: ...". */
int external_reject(external *x, const char *what);
/* At the end of a run that passed: closes its stdin (end of input means
 * stop) and reads what it still prints, within a short grace.
 * BPCHECK_ECANDIDATE (bpcheck_fail's message) when it printed another
 * line. */
int external_finish(external *x);
/* Stops it: closes its pipes; the whole process group gets SIGTERM, then
 * SIGKILL after a short grace; every process is reaped. */
void external_stop(external *x);

#endif
