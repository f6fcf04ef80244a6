/* bench.c -- the performance claims of README.md, measured as ratios in one
 * run on one machine (scripts/bench runs it and makes the plot).
 *
 *   1. matrix backprop GFLOP/s over dgemm GFLOP/s on the same shapes
 *   2. matrix backprop over literal backprop
 *   3. the fast entry-by-entry check over the naive ones
 *   4. (scripts/bench: bpcheck against PyTorch, when it is installed)
 *   5. the directional check (4 directions) on 10^6 parameters over one
 *      matrix backprop
 *   6. peak memory of the full check over parameters plus activations
 *
 * Every time is the best of several repetitions of at least 0.2 s each.
 * Usage: bench [--quick] [--csv FILE]
 *
 * For bench/goals.py, which pairs them with PyTorch's in one run:
 *   bench --goals R             R repetitions of the goals' bpcheck sides,
 *                               one CSV line each (see goals())
 *   bench --time-command N CMD  runs CMD N times (standard output to
 *                               /dev/null) and prints the median seconds */

extern char **environ;

#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>

#include "bpcheck.h"
#include "config.h"

static int quick;
static FILE *csv;

static double
now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Seconds per call of fn(data): the best of 3 rounds of >= 0.2 s each (one
 * call when a call takes longer than the round). */
static double
timeit(void (*fn)(void *), void *data)
{
  double best = 1e300, round = quick ? 0.05 : 0.2;
  for (int r = 0; r < 3; r++) {
    double t0 = now(), t;
    long calls = 0;
    do {
      fn(data);
      calls++;
    } while ((t = now() - t0) < round);
    if (t / (double)calls < best)
      best = t / (double)calls;
    if (t > 5 * round)
      break; /* one slow call: no need for three rounds */
  }
  return best;
}

/* A network with its batch and everything the checks need. */
typedef struct {
  size_t L, n[8], B;
  bpcheck_net *net;
  bpcheck_batch *batch;
  bpcheck_params *g, *err;
  bpcheck_matrix_workspace *mw;
  bpcheck_literal_workspace *lw;
  bpcheck_fdiff_workspace *fw;
  bpcheck_fastfd_workspace *xw;
  gsl_matrix *dgemm_out[8];
} case_t;

static void
die(int status, const char *what)
{
  fprintf(stderr, "bench: %s: %s: %s\n", what, bpcheck_strerror(status),
          bpcheck_errmsg());
  exit(2);
}

static void
setup(case_t *c, size_t L, const size_t *n, size_t B)
{
  bpcheck_activation f[8];
  memset(c, 0, sizeof *c);
  c->L = L, c->B = B;
  memcpy(c->n, n, (L + 1) * sizeof *n);
  for (size_t l = 1; l <= L; l++)
    f[l] = BPCHECK_SIGMOID;
  bpcheck_arch arch = {L, c->n, f, BPCHECK_QUADRATIC, BPCHECK_MEAN};
  int status;
  if ((status = bpcheck_net_alloc(&c->net, &arch)) ||
      (status = bpcheck_batch_alloc(&c->batch, n[0], n[L], B)) ||
      (status = bpcheck_params_alloc(&c->g, L, n)) ||
      (status = bpcheck_params_alloc(&c->err, L, n)) ||
      (status = bpcheck_matrix_alloc(&c->mw, c->net, B)))
    die(status, "setup");
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  bpcheck_net_init_random(c->net, rng);
  bpcheck_batch_init_random(c->batch, c->net, rng);
  gsl_rng_free(rng);
}

static void
teardown(case_t *c)
{
  bpcheck_net_free(c->net);
  bpcheck_batch_free(c->batch);
  bpcheck_params_free(c->g);
  bpcheck_params_free(c->err);
  bpcheck_matrix_free(c->mw);
  bpcheck_literal_free(c->lw);
  bpcheck_fdiff_free(c->fw);
  bpcheck_fastfd_free(c->xw);
  for (int i = 0; i < 8; i++)
    if (c->dgemm_out[i])
      gsl_matrix_free(c->dgemm_out[i]);
}

static size_t
params(const case_t *c)
{
  return c->net->theta->size;
}

static void
describe(const case_t *c, char *buf, size_t len)
{
  size_t used = 0;
  for (size_t l = 0; l <= c->L && used < len; l++)
    used += (size_t)snprintf(buf + used, len - used, "%s%zu", l ? "-" : "",
                             c->n[l]);
  snprintf(buf + used, used < len ? len - used : 0, " B%zu", c->B);
}

/* The floating-point operations of one matrix backprop: forward
 * 2 n_l n_(l-1) B per layer, deltas 2 n_l n_(l-1) B for l = 2..L, dC/dW
 * 2 n_l n_(l-1) B per layer: exactly the dgemm calls it makes. */
static double
backprop_flops(const case_t *c)
{
  double f = 0;
  for (size_t l = 1; l <= c->L; l++)
    f += (l >= 2 ? 6.0 : 4.0) * (double)c->n[l] * (double)c->n[l - 1] *
         (double)c->B;
  return f;
}

static void
run_matrix(void *data)
{
  case_t *c = data;
  bpcheck_matrix_backprop(c->net, c->batch, c->g, NULL, c->mw);
}

static void
run_literal(void *data)
{
  case_t *c = data;
  bpcheck_literal_backprop(c->net, c->batch, c->g, NULL, c->lw);
}

/* The same dgemm calls as run_matrix, on the same shapes, and nothing
 * else: the limit matrix backprop can approach. */
static void
run_dgemm(void *data)
{
  case_t *c = data;
  const bpcheck_params *th = c->net->theta;
  for (size_t l = 1; l <= c->L; l++) { /* forward */
    const gsl_matrix *A = l == 1 ? c->batch->X : c->dgemm_out[l - 1];
    /* [n_l x B] = [n_l x n_(l-1)] [n_(l-1) x B] */
    gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, &th->W[l], A, 0.0,
                   c->dgemm_out[l]);
  }
  for (size_t l = c->L - 1; l >= 1; l--) /* deltas */
    /* [n_l x B] = [n_(l+1) x n_l]^T [n_(l+1) x B] */
    gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, &th->W[l + 1],
                   c->dgemm_out[l + 1], 0.0, c->dgemm_out[l]);
  for (size_t l = 1; l <= c->L; l++) { /* dC/dW */
    const gsl_matrix *A = l == 1 ? c->batch->X : c->dgemm_out[l - 1];
    /* [n_l x n_(l-1)] = [n_l x B] [n_(l-1) x B]^T */
    gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, c->dgemm_out[l], A, 0.0,
                   &c->g->W[l]);
  }
}

/* Plain central differences, 2P full forward passes: the naive check. */
static void
run_naive_central(void *data)
{
  case_t *c = data;
  double *theta = c->net->theta->data, Cp, Cm;
  for (size_t i = 0; i < c->net->theta->size; i++) {
    double t = theta[i], h = 6.0554544523933395e-06 * (t > 1 ? t : 1);
    theta[i] = t + h;
    bpcheck_matrix_cost(c->net, c->batch, &Cp, c->mw);
    theta[i] = t - h;
    bpcheck_matrix_cost(c->net, c->batch, &Cm, c->mw);
    theta[i] = t;
    c->g->data[i] = (Cp - Cm) / (2 * h);
  }
}

static void
run_naive_richardson(void *data)
{
  case_t *c = data;
  bpcheck_fdiff_gradient(c->net, c->batch, c->g, c->err, c->fw);
}

static void
run_fast(void *data)
{
  case_t *c = data;
  bpcheck_fastfd_gradient(c->net, c->batch, c->g, c->err, c->xw);
}

static void
run_nodes(void *data)
{
  case_t *c = data;
  bpcheck_fastfd_nodes(c->net, c->batch, c->g, c->err, c->xw);
}

static void
row(const char *table, const char *name, const char *what, double value,
    const char *goal)
{
  printf("  %-26s %-38s %10.3g  %s\n", name, what, value, goal);
  if (csv)
    fprintf(csv, "%s,%s,%s,%.6g\n", table, name, what, value);
}

static void
table1(void)
{
  static const size_t shapes[][5] = {{784, 128, 64, 10},
                                     {1024, 1024, 1024, 1024}};
  printf("\n1. matrix backprop over dgemm, same shapes (GFLOP/s)\n");
  for (int s = 0; s < 2; s++) {
    case_t c;
    char name[64];
    setup(&c, 3, shapes[s], quick ? 64 : 256);
    describe(&c, name, sizeof name);
    for (size_t l = 1; l <= c.L; l++)
      c.dgemm_out[l] = gsl_matrix_alloc(c.n[l], c.B);
    double flops = backprop_flops(&c);
    double tb = timeit(run_matrix, &c), td = timeit(run_dgemm, &c);
    row("1", name, "backprop GFLOP/s", flops / tb * 1e-9, "");
    row("1", name, "samples/s", (double)c.B / tb, "");
    row("1", name, "dgemm GFLOP/s", flops / td * 1e-9, "");
    row("1", name, "ratio backprop/dgemm", td / tb,
        s == 1 ? (td / tb >= 0.8 ? "goal >= 0.8: met" : "goal >= 0.8: NOT met")
               : "");
    teardown(&c);
  }
}

static void
table2(void)
{
  static const size_t shapes[][4] = {
      {16, 16, 16}, {64, 64, 10}, {256, 256, 10}};
  static const size_t batch[] = {8, 32, 64};
  printf("\n2. matrix backprop over literal backprop (times)\n");
  for (int s = 0; s < 3; s++) {
    case_t c;
    char name[64];
    setup(&c, 2, shapes[s], batch[s]);
    describe(&c, name, sizeof name);
    int status = bpcheck_literal_alloc(&c.lw, c.net);
    if (status)
      die(status, "literal");
    double tl = timeit(run_literal, &c), tm = timeit(run_matrix, &c);
    row("2", name, "literal / matrix time", tl / tm, "(for teaching)");
    teardown(&c);
  }
}

/* Table 3 and the scaling plot's data: check time against parameters. */
static void
table3(void)
{
  static const size_t shapes[][5] = {{16, 16, 10},   {32, 32, 10},
                                     {64, 64, 10},   {128, 128, 10},
                                     {256, 256, 10}, {784, 128, 64, 10}};
  static const size_t L[] = {2, 2, 2, 2, 2, 3};
  int count = quick ? 4 : 6;
  printf(
      "\n3. full entry-by-entry check: fast and nodes over naive (times)\n");
  for (int s = 0; s < count; s++) {
    case_t c;
    char name[64], what[96];
    setup(&c, L[s], shapes[s], 4);
    describe(&c, name, sizeof name);
    int status;
    if ((status = bpcheck_fdiff_alloc(&c.fw, c.net, c.B)) ||
        (status = bpcheck_fastfd_alloc(&c.xw, c.net, c.B)))
      die(status, "fdiff");
    double tf = timeit(run_fast, &c), tx = timeit(run_nodes, &c);
    double tn = timeit(run_naive_central, &c);
    double tr = params(&c) < 40000 ? timeit(run_naive_richardson, &c) : 0;
    snprintf(what, sizeof what, "fast check seconds (P = %zu)", params(&c));
    row("3", name, what, tf, "");
    snprintf(what, sizeof what, "full check (nodes) seconds (P = %zu)",
             params(&c));
    row("3", name, what, tx, "");
    row("3", name, "naive 2P-pass / fast per entry", tn / tf, "");
    row("3", name, "naive 2P-pass / full check (nodes)", tn / tx,
        shapes[s][0] == 128 && L[s] == 2
            ? (tn / tx >= 20 ? "goal >= 20: met" : "goal >= 20: NOT met")
            : "");
    if (tr > 0)
      row("3", name, "naive Richardson 6P-pass / fast", tr / tf, "");
    if (csv && L[s] == 2) /* the plot's family: w-w-10 */
      fprintf(csv,
              "scaling,%zu,fast,%.6g\nscaling,%zu,nodes,%.6g\n"
              "scaling,%zu,naive,%.6g\n",
              params(&c), tf, params(&c), tx, params(&c), tn);
    teardown(&c);
  }
}

typedef struct {
  case_t *c;
  bpcheck_directional_workspace *dw;
  gsl_rng *rng;
} directional_t;

static void
run_directional(void *data)
{
  directional_t *d = data;
  bpcheck_directional_result res;
  bpcheck_directional_check(d->c->net, d->c->batch, d->c->g, 4, d->rng, d->dw,
                            &res);
}

/* 784-1024-256-10: 1,070,346 parameters. */
static void
table5(void)
{
  static const size_t shape[] = {784, 1024, 256, 10};
  printf("\n5. directional check (4 directions) over one matrix backprop\n");
  case_t c;
  char name[64], what[96];
  setup(&c, 3, shape, 64);
  describe(&c, name, sizeof name);
  directional_t d = {&c, NULL, gsl_rng_alloc(gsl_rng_mt19937)};
  int status = bpcheck_directional_alloc(&d.dw, c.net, c.B);
  if (status)
    die(status, "directional");
  run_matrix(&c); /* the gradient to check */
  double tdir = timeit(run_directional, &d), tb = timeit(run_matrix, &c);
  snprintf(what, sizeof what, "4 directions / backprop (P = %zu)", params(&c));
  row("5", name, what, tdir / tb, "");
  row("5", name, "one direction / backprop", tdir / tb / 4,
      tdir / tb / 4 < 5 ? "goal < 5: met" : "goal < 5: NOT met");
  bpcheck_directional_free(d.dw);
  gsl_rng_free(d.rng);
  teardown(&c);
}

/* Peak resident memory added by the full check, against the bytes of
 * parameters plus activations.  Measured first, in this process, before
 * anything else has raised the peak (a forked child would be simpler, but
 * a fork after OpenMP's threads exist is not safe); printed last. */
static double mem_base, mem_extra;

static void
measure_memory(void)
{
  static const size_t shape[] = {784, 128, 64, 10};
  case_t c;
  struct rusage before, after;
  setup(&c, 3, shape, 64);
  getrusage(RUSAGE_SELF, &before);
  int status = bpcheck_fastfd_alloc(&c.xw, c.net, c.B);
  if (status)
    die(status, "fastfd");
  run_fast(&c);
  getrusage(RUSAGE_SELF, &after);
  for (size_t l = 1; l <= c.L; l++) /* Z^l and A^l */
    mem_base += 2.0 * (double)(c.n[l] * c.B);
  /* theta, the gradient and its error estimate, and the activations */
  mem_base = 8.0 * (3.0 * (double)params(&c) + mem_base);
  mem_extra = 1024.0 * (double)(after.ru_maxrss - before.ru_maxrss);
  teardown(&c);
}

static void
table6(void)
{
  printf("\n6. peak memory of the full check (fast) over parameters plus "
         "activations\n");
  row("6", "784-128-64-10 B64", "MB parameters + activations", mem_base / 1e6,
      "");
  row("6", "784-128-64-10 B64", "MB added by the check", mem_extra / 1e6, "");
  row("6", "784-128-64-10 B64", "ratio", mem_extra / mem_base, "");
}

/* Seconds per call of fn(data) in one round of at least 0.2 s: one
 * repetition of the goals. */
static double
once(void (*fn)(void *), void *data)
{
  double t0 = now(), t;
  long calls = 0;
  do {
    fn(data);
    calls++;
  } while ((t = now() - t0) < 0.2);
  return t / (double)calls;
}

static int
by_value(const void *a, const void *b)
{
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Runs argv n times, standard output to /dev/null; the median of the
 * wall-clock seconds from spawn to exit, or -1 when a run fails. */
static double
time_command(int n, char **argv)
{
  double *t = calloc((size_t)n, sizeof *t);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY,
                                   0);
  for (int i = 0; i < n; i++) {
    pid_t pid;
    int st;
    const double t0 = now();
    if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) ||
        waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
      free(t);
      return -1;
    }
    t[i] = now() - t0;
  }
  posix_spawn_file_actions_destroy(&fa);
  qsort(t, (size_t)n, sizeof *t, by_value);
  const double median = t[n / 2];
  free(t);
  return median;
}

static volatile double exp_sink;

static void
run_exp(void *data)
{
  (void)data;
  double s = 0.0;
  for (int i = 0; i < 100000; i++)
    s += exp(-1e-5 * i);
  exp_sink = s;
}

/* The work of the full check through the nodes (CD.12) on an all-sigmoid
 * network: for every node of layer l, 6 steps of B columns pass
 * downstream: the node's own activation (an exponential), a rank-1 update
 * of z^(l+1) (2 n_(l+1) flops), then at each later layer m an exponential
 * per node and a product with W^m (2 n_m n_(m-1) flops), and the output's
 * cost terms (an exponential and ~4 flops each); then the pullback, 2 n_l
 * n_(l-1) B flops per layer.  The least it could take on this machine:
 * flops at dgemm's rate plus exponentials at exp's. */
static void
nodes_work(const case_t *c, double *flops, double *exps)
{
  *flops = *exps = 0.0;
  const double cols = 6.0 * (double)c->B;
  for (size_t l = 1; l <= c->L; l++) {
    double f = 0.0, e = 1.0; /* per column of one node */
    for (size_t m = l + 1; m <= c->L; m++) {
      f += 2.0 * (double)c->n[m] * (m == l + 1 ? 1.0 : (double)c->n[m - 1]);
      e += (double)c->n[m];
    }
    f += 4.0 * (double)c->n[c->L];
    *flops += (double)c->n[l] * cols * f +
              2.0 * (double)c->n[l] * (double)c->n[l - 1] * (double)c->B;
    *exps += (double)c->n[l] * cols * e;
  }
}

/* R repetitions, one CSV line each:
 *   goal2,REP,naive 2P-pass s,fast per entry s,nodes s    (128-128-10 B4)
 *   goal3,REP,matrix backprop samples/s                  (1024^4 B256)
 *   limit,REP,nodes s,least s (flops at dgemm's rate + exps at exp's)
 * The threads are the environment's (OMP_NUM_THREADS and
 * OPENBLAS_NUM_THREADS). */
static void
goals(int reps)
{
  static const size_t small[] = {128, 128, 10},
                      big[] = {1024, 1024, 1024, 1024};
  case_t s, b;
  setup(&s, 2, small, 4);
  setup(&b, 3, big, 256);
  int status;
  if ((status = bpcheck_fastfd_alloc(&s.xw, s.net, s.B)))
    die(status, "fastfd");
  for (size_t l = 1; l <= b.L; l++)
    b.dgemm_out[l] = gsl_matrix_alloc(b.n[l], b.B);
  double flops, exps;
  nodes_work(&s, &flops, &exps);
  for (int r = 0; r < reps; r++) {
    const double tn = once(run_naive_central, &s), tf = once(run_fast, &s),
                 tx = once(run_nodes, &s);
    printf("goal2,%d,%.6g,%.6g,%.6g\n", r, tn, tf, tx);
    printf("goal3,%d,%.6g\n", r, (double)b.B / once(run_matrix, &b));
    const double rate = backprop_flops(&b) / once(run_dgemm, &b);
    const double exp_rate = 1e5 / once(run_exp, NULL);
    printf("limit,%d,%.6g,%.6g\n", r, tx, flops / rate + exps / exp_rate);
    fflush(stdout);
  }
  teardown(&s);
  teardown(&b);
}

int
main(int argc, char **argv)
{
  gsl_set_error_handler_off();
  if (argc >= 3 && strcmp(argv[1], "--goals") == 0) {
    goals(atoi(argv[2]) > 0 ? atoi(argv[2]) : 5);
    return 0;
  }
  if (argc >= 4 && strcmp(argv[1], "--time-command") == 0) {
    const double t =
        time_command(atoi(argv[2]) > 0 ? atoi(argv[2]) : 1, argv + 3);
    if (t < 0) {
      fprintf(stderr, "bench: %s failed\n", argv[3]);
      return 2;
    }
    printf("%.6g\n", t);
    return 0;
  }
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0)
      quick = 1;
    else if (strcmp(argv[i], "--csv") == 0 && i + 1 < argc) {
      if (!(csv = fopen(argv[++i], "w"))) {
        perror(argv[i]);
        return 2;
      }
      fprintf(csv, "table,case,quantity,value\n");
    } else {
      fprintf(stderr, "usage: bench [--quick] [--csv FILE]\n");
      return 2;
    }
  }
  const char *threads = getenv("OPENBLAS_NUM_THREADS");
  const char *omp = getenv("OMP_NUM_THREADS");
  printf("bpcheck %s benchmark, CBLAS %s, OPENBLAS_NUM_THREADS=%s, "
         "OMP_NUM_THREADS=%s\n",
         PACKAGE_VERSION, BPCHECK_CBLAS, threads ? threads : "(unset)",
         omp ? omp : "(unset)");
  printf("  %-26s %-38s %10s  %s\n", "case", "quantity", "value", "goal");
  measure_memory();
  table1();
  table2();
  table3();
  table5();
  table6();
  if (csv)
    fclose(csv);
  return 0;
}
