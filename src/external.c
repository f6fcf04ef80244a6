/* external.c -- the candidate as a child process speaking JSON Lines. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "external.h"
#include "options.h"

int
external_start(external *x, const char *cmd, double timeout)
{
  int in[2], out[2];
  memset(x, 0, sizeof *x);
  x->cmd = cmd;
  x->timeout = timeout;
  x->pid = -1;
  /* A candidate that exits must not kill bpcheck with SIGPIPE: the write
   * fails with EPIPE instead, and is reported. */
  signal(SIGPIPE, SIG_IGN);
  if (pipe(in) || pipe(out)) {
    say_error("--exec: cannot create pipes: %s", strerror(errno));
    return -1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    say_error("--exec: cannot start '%s': %s", cmd, strerror(errno));
    return -1;
  }
  if (pid == 0) {
    dup2(in[0], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    close(in[0]), close(in[1]), close(out[0]), close(out[1]);
    signal(SIGPIPE, SIG_DFL);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  fcntl(in[1], F_SETFD, FD_CLOEXEC);
  fcntl(out[0], F_SETFD, FD_CLOEXEC);
  x->pid = pid;
  x->to = in[1];
  x->from = out[0];
  return 0;
}

/* How the child ended, when it has: "exited with status 2". */
static void
ended(external *x, char *buf, size_t len, int wait)
{
  int st;
  pid_t got = x->pid > 0 ? waitpid(x->pid, &st, wait ? 0 : WNOHANG) : 0;
  if (got == x->pid && x->pid > 0) {
    x->pid = -1;
    if (WIFEXITED(st))
      snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
    else
      snprintf(buf, len, "was killed by signal %d", WTERMSIG(st));
  } else
    snprintf(buf, len, "closed its output");
}

static double
now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One line of the child's stdout (without its newline) at x->buf, length
 * *n, within the timeout.  The line is consumed by the next call. */
static int
read_line(external *x, size_t *n, double deadline)
{
  for (;;) {
    char *nl = x->len ? memchr(x->buf, '\n', x->len) : NULL;
    if (nl) {
      *n = (size_t)(nl - x->buf);
      return BPCHECK_SUCCESS;
    }
    if (x->len + 4096 > x->cap) {
      size_t cap = x->cap ? 2 * x->cap : 65536;
      char *bigger = realloc(x->buf, cap);
      if (!bigger)
        return bpcheck_fail(BPCHECK_ENOMEM, "no memory for the answer");
      x->buf = bigger, x->cap = cap;
    }
    double left = deadline - now();
    struct pollfd p = {x->from, POLLIN, 0};
    int ready = left > 0 ? poll(&p, 1, (int)(left * 1000) + 1) : 0;
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready <= 0)
      return bpcheck_fail(BPCHECK_ECANDIDATE,
                          "it timed out: no answer within %g s (--timeout)",
                          x->timeout);
    ssize_t got = read(x->from, x->buf + x->len, x->cap - x->len);
    if (got <= 0) {
      char how[64];
      ended(x, how, sizeof how, 1);
      return bpcheck_fail(BPCHECK_ECANDIDATE, "it %s before answering%s%.*s",
                          how, x->len ? "; it printed: " : "",
                          (int)(x->len > 400 ? 400 : x->len),
                          x->buf ? x->buf : "");
    }
    x->len += (size_t)got;
  }
}

int
external_candidate(const bpcheck_case *c, bpcheck_params *grad, void *data)
{
  external *x = data;
  char *line = bpcheck_case_dump(c, 0);
  if (!line)
    return BPCHECK_ENOMEM;
  size_t len = strlen(line);
  line[len] = '\n'; /* the protocol's line end, over the string's NUL */
  int status = BPCHECK_SUCCESS;
  for (size_t done = 0; done < len + 1;) {
    ssize_t w = write(x->to, line + done, len + 1 - done);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0) {
      char how[64];
      ended(x, how, sizeof how, 1);
      status = bpcheck_fail(BPCHECK_ECANDIDATE,
                            "it %s before reading the case (%s)", how,
                            strerror(errno));
      break;
    }
    done += (size_t)w;
  }
  line[len] = '\0';
  bpcheck_case_dump_free(line);
  if (status)
    return status;

  size_t n = 0;
  if ((status = read_line(x, &n, now() + x->timeout)))
    return status;
  snprintf(x->said, sizeof x->said, "%.*s%s", (int)(n > 400 ? 400 : n), x->buf,
           n > 400 ? " ..." : "");
  char message[256] = "";
  status = bpcheck_answer_parse(x->buf, n, grad, message, sizeof message);
  memmove(x->buf, x->buf + n + 1, x->len - n - 1);
  x->len -= n + 1;
  if (status == BPCHECK_ECANDIDATE)
    return bpcheck_fail(BPCHECK_ECANDIDATE, "it answered with an error: %s",
                        message);
  if (status)
    return bpcheck_fail(BPCHECK_ECANDIDATE,
                        "its answer is not valid: %s; it printed: %s",
                        bpcheck_errmsg(), x->said);
  return BPCHECK_SUCCESS;
}

void
external_stop(external *x)
{
  if (x->to >= 0)
    close(x->to);
  x->to = -1;
  for (int i = 0; i < 50 && x->pid > 0; i++) { /* up to 0.5 s */
    char how[64];
    ended(x, how, sizeof how, 0);
    if (x->pid > 0)
      usleep(10000);
  }
  if (x->pid > 0) {
    kill(x->pid, SIGKILL);
    waitpid(x->pid, NULL, 0);
    x->pid = -1;
  }
  if (x->from >= 0)
    close(x->from);
  x->from = -1;
  free(x->buf);
  x->buf = NULL;
}
