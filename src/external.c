/* external.c -- the candidate as a child process speaking JSON Lines.
 *
 * Every wait is bounded: the pipes are non-blocking and every wait is a
 * poll() of at most SLICE seconds, after which the leader's exit and the
 * deadline are looked at again.  The leader's exit is seen with
 * waitid(WNOWAIT), which leaves it a zombie: its pid, and so its process
 * group's id, cannot be taken by another process before the group is
 * killed. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "external.h"
#include "options.h"

#define SLICE 0.05     /* the longest single poll, in seconds */
#define GRACE_EXIT 1.0 /* end of input: seconds it has to exit */
#define GRACE_TERM 0.5 /* seconds between SIGTERM and SIGKILL */
#define GRACE_REAP 1.0 /* seconds to reap what SIGKILL ended */
#define SHOWN 200      /* bytes of what it printed shown in a message */

/* The candidate's process group, for the signal handler. */
static volatile sig_atomic_t group;

/* bpcheck interrupted (Ctrl-C, kill): the candidate goes with it, and is
 * reaped with what it left (bpcheck's children as its subreaper), for at
 * most a second.  Only async-signal-safe calls. */
static void
on_signal(int sig)
{
  if (group > 0) {
    kill(-(pid_t)group, SIGKILL);
    struct timespec pause = {0, 5000000};
    for (int i = 0; i < 200 && waitpid(-1, NULL, WNOHANG) >= 0; i++)
      nanosleep(&pause, NULL);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

static double
now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void
nap(double seconds)
{
  struct timespec ts = {0, (long)(seconds * 1e9)};
  nanosleep(&ts, NULL);
}

static int
nonblocking(int fd)
{
  int flags = fcntl(fd, F_GETFL);
  return fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || flags < 0 ||
         fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0;
}

int
external_start(external *x, const char *cmd, double timeout)
{
  int in[2] = {-1, -1}, out[2] = {-1, -1};
  memset(x, 0, sizeof *x);
  x->cmd = cmd;
  x->timeout = timeout;
  x->pid = -1;
  x->to = x->from = -1;
  /* A candidate that exits must not kill bpcheck with SIGPIPE: the write
   * fails with EPIPE instead, and is reported. */
  signal(SIGPIPE, SIG_IGN);
#ifdef PR_SET_CHILD_SUBREAPER
  /* What the candidate starts and leaves behind becomes bpcheck's child
   * (not init's): bpcheck kills it and reaps it. */
  prctl(PR_SET_CHILD_SUBREAPER, 1L, 0L, 0L, 0L);
#endif
  if (pipe(in) || pipe(out)) {
    say_error("--exec: cannot create pipes: %s", strerror(errno));
    for (int i = 0; i < 2; i++) {
      if (in[i] >= 0)
        close(in[i]);
      if (out[i] >= 0)
        close(out[i]);
    }
    return -1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    say_error("--exec: cannot start '%s': %s", cmd, strerror(errno));
    close(in[0]), close(in[1]), close(out[0]), close(out[1]);
    return -1;
  }
  if (pid == 0) {
    setpgid(0, 0); /* a process group of its own */
    dup2(in[0], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    close(in[0]), close(in[1]), close(out[0]), close(out[1]);
    signal(SIGPIPE, SIG_DFL);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  setpgid(pid, pid); /* as the child does: whichever runs first */
  close(in[0]);
  close(out[1]);
  x->pid = pid;
  x->to = in[1];
  x->from = out[0];
  if (nonblocking(x->to) || nonblocking(x->from)) {
    say_error("--exec: cannot set up the pipes: %s", strerror(errno));
    external_stop(x);
    return -1;
  }
  group = pid;
  static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
      sigaction(sigs[i], &sa, NULL);
  }
  return 0;
}

/* Whether the leader has exited (seen without reaping it). */
static int
leader_exited(external *x)
{
  if (x->exited || x->pid <= 0)
    return x->exited;
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (waitid(P_PID, (id_t)x->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
      si.si_pid == x->pid) {
    x->exited = 1;
    x->wstatus = si.si_code == CLD_EXITED ? si.si_status : -si.si_status;
  }
  return x->exited;
}

/* Waits up to seconds for the leader to exit. */
static int
wait_exit(external *x, double seconds)
{
  double until = now() + seconds;
  while (!leader_exited(x) && now() < until)
    nap(0.005);
  return x->exited;
}

/* How the leader ended: "exited with status 2". */
static const char *
how(const external *x, char *buf, size_t len)
{
  if (x->wstatus >= 0)
    snprintf(buf, len, "exited with status %d", x->wstatus);
  else
    snprintf(buf, len, "was killed by signal %d (%s)", -x->wstatus,
             strsignal(-x->wstatus));
  return buf;
}

/* A failure of the candidate: no more cases are sent to it. */
static int failed(external *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int
failed(external *x, const char *fmt, ...)
{
  char text[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  x->broken = 1;
  return bpcheck_fail(BPCHECK_ECANDIDATE, "%s", text);
}

/* "; it printed: ..." with the start of what it printed, or "". */
static const char *
printed(const external *x, char *buf, size_t len)
{
  buf[0] = '\0';
  size_t n = x->len > SHOWN ? SHOWN : x->len;
  const char *nl = n ? memchr(x->buf, '\n', n) : NULL;
  if (nl)
    n = (size_t)(nl - x->buf); /* its first line */
  if (x->len)
    snprintf(buf, len, "; it printed: %.*s%s", (int)n, x->buf,
             n < x->len && !nl ? " ..." : "");
  return buf;
}

/* Reads what its stdout holds now into x->buf, never more than limit
 * bytes in all; x->eof at its end. */
static int
take(external *x, size_t limit)
{
  while (!x->eof && x->len <= limit) {
    if (x->cap - x->len < 4096) {
      size_t cap = x->cap ? 2 * x->cap : 65536;
      char *bigger = realloc(x->buf, cap);
      if (!bigger)
        return failed(x, "no memory for its answer (%zu bytes)", cap);
      x->buf = bigger, x->cap = cap;
    }
    size_t room = x->cap - x->len;
    if (room > limit + 1 - x->len)
      room = limit + 1 - x->len;
    ssize_t got = read(x->from, x->buf + x->len, room);
    if (got > 0)
      x->len += (size_t)got;
    else if (got < 0 && errno == EINTR)
      continue;
    else if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    else
      x->eof = 1; /* end of file, or an error: it is closed either way */
  }
  return BPCHECK_SUCCESS;
}

/* The first newline of x->buf, scanning each byte once. */
static char *
newline(external *x)
{
  char *nl = x->len > x->scanned
                 ? memchr(x->buf + x->scanned, '\n', x->len - x->scanned)
                 : NULL;
  if (!nl)
    x->scanned = x->len;
  return nl;
}

/* Writes the whole case line within the deadline, reading what it prints
 * meanwhile (so that neither side waits for the other). */
static int
send_case(external *x, const char *line, size_t total, double deadline,
          size_t limit)
{
  char h[96];
  size_t done = 0;
  while (done < total) {
    if (leader_exited(x)) {
      ssize_t w = write(x->to, line + done, total - done);
      if (w < 0 && errno == EPIPE)
        return failed(x,
                      "it %s before reading the case (%zu of its %zu "
                      "bytes taken)",
                      how(x, h, sizeof h), done, total);
      return failed(x,
                    "it %s before reading the whole case, and left a "
                    "process it started holding its input (stdin)",
                    how(x, h, sizeof h));
    }
    double left = deadline - now();
    if (left <= 0)
      return failed(x,
                    "it timed out while bpcheck was writing the case: %zu "
                    "of its %zu bytes taken in %g s (--timeout); it does "
                    "not read its input",
                    done, total, x->timeout);
    struct pollfd p[2] = {{x->to, POLLOUT, 0},
                          {x->eof ? -1 : x->from, POLLIN, 0}};
    int ms = (int)(1000 * (left < SLICE ? left : SLICE)) + 1;
    int ready = poll(p, 2, ms);
    if (ready < 0 && errno != EINTR)
      return failed(x, "cannot wait for it: %s", strerror(errno));
    if (ready <= 0)
      continue;
    if (p[1].revents && take(x, limit))
      return BPCHECK_ECANDIDATE;
    if (!p[0].revents)
      continue;
    ssize_t w = write(x->to, line + done, total - done);
    if (w > 0)
      done += (size_t)w;
    else if (w < 0 && errno == EPIPE) {
      if (wait_exit(x, 0.2))
        return failed(x, "it %s before reading the case", how(x, h, sizeof h));
      return failed(x, "it closed its input (stdin) without reading the "
                       "case, and kept running");
    } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
               errno != EINTR)
      return failed(x, "cannot write the case to it: %s", strerror(errno));
  }
  return BPCHECK_SUCCESS;
}

/* One line of its stdout (without the newline) at x->buf, length *n,
 * within the deadline and limit bytes. */
static int
read_answer(external *x, size_t *n, double deadline, size_t limit,
            size_t numbers)
{
  char h[96], p[SHOWN + 32];
  for (;;) {
    char *nl = newline(x);
    if (nl) {
      *n = (size_t)(nl - x->buf);
      return BPCHECK_SUCCESS;
    }
    if (x->len > limit)
      return failed(x,
                    "its answer line is longer than %zu bytes, more than "
                    "an answer of %zu numbers needs (%d bytes a number)%s",
                    limit, numbers, EXTERNAL_BYTES_PER_NUMBER,
                    printed(x, p, sizeof p));
    if (x->eof) {
      if (wait_exit(x, 0.2))
        return failed(x, "it %s before answering%s", how(x, h, sizeof h),
                      printed(x, p, sizeof p));
      return failed(x,
                    "it closed its output (stdout) without answering, and "
                    "kept running%s",
                    printed(x, p, sizeof p));
    }
    if (leader_exited(x)) {
      if (take(x, limit))
        return BPCHECK_ECANDIDATE;
      if (x->eof || newline(x))
        continue; /* what it printed before it exited, then its end */
      return failed(x,
                    "it %s without answering, and left a process it "
                    "started holding its output (stdout)%s",
                    how(x, h, sizeof h), printed(x, p, sizeof p));
    }
    double left = deadline - now();
    if (left <= 0)
      return failed(x, "it timed out: no answer within %g s (--timeout)%s",
                    x->timeout, printed(x, p, sizeof p));
    struct pollfd pf = {x->from, POLLIN, 0};
    int ms = (int)(1000 * (left < SLICE ? left : SLICE)) + 1;
    int ready = poll(&pf, 1, ms);
    if (ready < 0 && errno != EINTR)
      return failed(x, "cannot wait for it: %s", strerror(errno));
    if (ready > 0 && take(x, limit))
      return BPCHECK_ECANDIDATE;
  }
}

/* A hint for an answer whose first line is not a whole JSON value: it
 * was printed over several lines (pretty-printed). */
typedef struct {
  const char *text;
} json_hint_t;

static json_hint_t
multi_line_hint(const char *line, size_t n)
{
  json_hint_t h = {""};
  size_t i = 0;
  while (i < n && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
    i++;
  /* A complete answer starts with '{' and ends with '}' on its line. */
  size_t e = n;
  while (e > i &&
         (line[e - 1] == ' ' || line[e - 1] == '\t' || line[e - 1] == '\r'))
    e--;
  if (e == i || line[i] != '{' || line[e - 1] != '}')
    h.text = ": its answer looks pretty-printed over several lines; print "
             "the answer on one line (e.g. json.dumps(answer) without "
             "indent)";
  return h;
}

/* Before a line is sent (what: "case" or "request"): BPCHECK_ECANDIDATE
 * when it failed earlier or printed anything since its last answer. */
static int
ready(external *x, const char *what, size_t limit)
{
  char p[SHOWN + 32];
  if (x->broken)
    return bpcheck_fail(BPCHECK_ECANDIDATE, "it failed on an earlier %s",
                        what);
  /* Whatever it printed since its last answer is one line too many. */
  if (take(x, limit))
    return BPCHECK_ECANDIDATE;
  if (x->len)
    return failed(x,
                  "it printed more than one line for one %s (the "
                  "protocol is one answer line per %s)%s",
                  what, what, printed(x, p, sizeof p));
  return BPCHECK_SUCCESS;
}

/* Sends line (its len bytes, newline included) and reads the first line
 * of the answer, at most numbers numbers: its length in *n, what it said
 * in x->said.  A second line is a failure, with multi_line_hint's hint
 * when hint is set. */
static int
exchange(external *x, const char *what, const char *line, size_t len,
         size_t limit, size_t numbers, int hint, size_t *n)
{
  char p[SHOWN + 32];
  double deadline = now() + x->timeout;
  int status = send_case(x, line, len, deadline, limit);
  if (status || (status = read_answer(x, n, deadline, limit, numbers)))
    return status;
  x->cases++;
  snprintf(x->said, sizeof x->said, "%.*s%s", (int)(*n > 400 ? 400 : *n),
           x->buf, *n > 400 ? " ..." : "");
  if (x->len > *n + 1) {
    /* A first line that is not JSON on its own: an answer printed over
     * several lines (pretty-printed). */
    json_hint_t h = hint ? multi_line_hint(x->buf, *n) : (json_hint_t){""};
    memmove(x->buf, x->buf + *n + 1, x->len - *n - 1);
    x->len -= *n + 1;
    return failed(x,
                  "it printed more than one line for one %s (the "
                  "protocol is one answer line per %s)%s%s",
                  what, what, h.text, printed(x, p, sizeof p));
  }
  return BPCHECK_SUCCESS;
}

int
external_candidate(const bpcheck_case *c, bpcheck_params *grad, void *data)
{
  external *x = data;
  size_t numbers = grad->size;
  size_t limit = EXTERNAL_BYTES_PER_NUMBER * numbers + EXTERNAL_LINE_SLACK;
  int status = ready(x, "case", limit);
  if (status)
    return status;
  char *line = bpcheck_case_dump(c, 0);
  if (!line)
    return BPCHECK_ENOMEM;
  size_t len = strlen(line);
  line[len] = '\n'; /* the protocol's line end, over the string's NUL */
  size_t n = 0;
  status = exchange(x, "case", line, len + 1, limit, numbers, 1, &n);
  line[len] = '\0';
  bpcheck_case_dump_free(line);
  if (status)
    return status;
  char message[256] = "";
  /* room for dC/da^0, n_0 x B, should the answer carry "inputs" */
  const size_t n0 = c->net->n[0], B = c->batch->B;
  free(x->dx);
  x->have_dx = 0;
  x->dx = calloc(1, sizeof *x->dx + n0 * B * sizeof(double));
  if (!x->dx)
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for an answer");
  gsl_matrix_view v = gsl_matrix_view_array((double *)(x->dx + 1), n0, B);
  *x->dx = v.matrix;
  status = bpcheck_answer_parse_inputs(x->buf, n, grad, x->dx, &x->have_dx,
                                       message, sizeof message);
  x->len = x->scanned = 0;
  if (status == BPCHECK_ECANDIDATE)
    return failed(x, "it answered with an error: %s", message);
  if (status == BPCHECK_ESKIP) /* declined: neither passed nor failed */
    return bpcheck_fail(BPCHECK_ESKIP, "%s", message);
  if (status) {
    char detail[512];
    snprintf(detail, sizeof detail, "%s", bpcheck_errmsg());
    return failed(x, "its answer is not valid: %s; it printed: %s", detail,
                  x->said);
  }
  return BPCHECK_SUCCESS;
}

int
external_request(external *x, const char *line, size_t len, size_t limit,
                 char **answer, size_t *n)
{
  *answer = NULL;
  int status = ready(x, "request", limit);
  if (status ||
      (status = exchange(x, "request", line, len, limit, limit / 64, 0, n)))
    return status;
  *answer = malloc(*n + 1);
  if (!*answer)
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for its answer");
  memcpy(*answer, x->buf, *n);
  (*answer)[*n] = '\0';
  x->len = x->scanned = 0;
  return BPCHECK_SUCCESS;
}

/* Marks it failed with a message (for the caller's own checks of an
 * answer): BPCHECK_ECANDIDATE. */
int
external_reject(external *x, const char *what)
{
  return failed(x, "%s; it printed: %s", what, x->said);
}

int
external_finish(external *x)
{
  char p[SHOWN + 32];
  if (x->to >= 0)
    close(x->to);
  x->to = -1;
  if (x->broken || x->from < 0)
    return BPCHECK_SUCCESS;
  double until = now() + GRACE_EXIT;
  size_t limit = SHOWN + 1;
  while (!x->eof && !x->len && now() < until) {
    int exited = leader_exited(x);
    struct pollfd pf = {x->from, POLLIN, 0};
    poll(&pf, 1, (int)(1000 * SLICE));
    if (take(x, limit))
      return BPCHECK_ECANDIDATE;
    if (exited)
      break;
  }
  if (x->len)
    return failed(x,
                  "it printed more than one line for one case (the "
                  "protocol is one answer line per case)%s",
                  printed(x, p, sizeof p));
  return BPCHECK_SUCCESS;
}

#ifdef __linux__
/* SIGKILL to every child of bpcheck: with PR_SET_CHILD_SUBREAPER, what the
 * candidate started and left behind, even in a session of its own. */
static void
kill_children(void)
{
  DIR *tasks = opendir("/proc/self/task");
  struct dirent *t;
  while (tasks && (t = readdir(tasks))) {
    char path[64];
    if (t->d_name[0] == '.')
      continue;
    snprintf(path, sizeof path, "/proc/self/task/%.16s/children", t->d_name);
    FILE *f = fopen(path, "r");
    long child;
    while (f && fscanf(f, "%ld", &child) == 1)
      if (child > 1)
        kill((pid_t)child, SIGKILL);
    if (f)
      fclose(f);
  }
  if (tasks)
    closedir(tasks);
}
#endif

void
external_stop(external *x)
{
  free(x->dx);
  x->dx = NULL;
  x->have_dx = 0;
  if (x->to >= 0)
    close(x->to);
  x->to = -1;
  if (x->from >= 0)
    close(x->from);
  x->from = -1;
  if (x->pid > 0) {
    /* End of input means stop: a short grace to exit by itself. */
    if (!x->broken)
      wait_exit(x, GRACE_EXIT);
    kill(-x->pid, SIGTERM);
    wait_exit(x, GRACE_TERM);
    kill(-x->pid, SIGKILL);
    kill(x->pid, SIGKILL); /* if it left its group */
#ifdef __linux__
    kill_children();
#endif
    x->pid = -1;
    group = 0;
    /* It and its orphans, now bpcheck's children: reaped, within a
     * bound. */
    double until = now() + GRACE_REAP;
    for (;;) {
      pid_t got = waitpid(-1, NULL, WNOHANG);
      if (got < 0 || (got == 0 && now() > until))
        break;
      if (got == 0)
        nap(0.005);
    }
  }
  free(x->buf);
  x->buf = NULL;
  x->len = x->cap = x->scanned = 0;
}
