/* cmd_run.c -- `bpcheck run --exec 'CMD'`: randomized differential testing
 * of an external implementation, with the first failure shrunk to the
 * smallest case that still fails. */

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "external.h"
#include "options.h"
#include "report.h"

static const char usage[] =
    "Usage: bpcheck run --exec 'CMD' [--trials N] [--seed S] [SPACE]\n"
    "                   [--keep-going] [--max-failures N]\n"
    "                   [--precision double|single] [--rtol R] [--atol A]\n"
    "                   [--timeout SEC] [--save-failure FILE]\n"
    "Starts CMD once (with /bin/sh -c) and sends it random cases, one JSON\n"
    "line each on its stdin (a case file without \"gradients\"); it answers\n"
    "each with one line on its stdout: {\"weights\": [...], \"biases\":\n"
    "[...]}, {\"skip\": \"reason\"} for a case it does not support (counted,\n"
    "never a failure) or {\"error\": \"...\"} (ends the run). End of input\n"
    "means stop; its stderr is passed through. Each answer is checked\n"
    "against the reference; a mismatch is shrunk (no weight decay, fewer\n"
    "layers, identity hidden activations, a quadratic cost, fewer nodes and\n"
    "samples, simpler values) while it still fails, and both the original\n"
    "case and the shrunk one are diagnosed: the likely bug says which it\n"
    "comes from. Where the shrunk case is ambiguous, the candidate is also\n"
    "run on variants of it (without the decay, each sample twice, other\n"
    "inputs, an identity output) and the report says what each showed.\n"
    "Every run ends with what it covered and its worst margin.\n"
    "\n"
    "  --exec CMD          the candidate (required)\n"
    "  --trials N          cases to send (default 100)\n"
    "  --seed S            first seed (default $BPCHECK_SEED, else 1)\n"
    "  --keep-going        go on after a failure: every case is sent, and\n"
    "                      the failure rate and the failures grouped by\n"
    "                      diagnosis are reported (the first in full)\n"
    "  --max-failures N    with --keep-going, stop after N failures\n"
    "  --timeout SEC       seconds for each case: writing it and reading the\n"
    "                      answer (default 10); a candidate that takes\n"
    "                      longer is stopped, with every process it started\n"
    "  --save-failure FILE the shrunk failing case, with the candidate's\n"
    "                      gradients, in FILE, and the original (as drawn)\n"
    "                      in FILE with .original before its extension\n"
    "                      (fail.json: fail.original.json); 'bpcheck verify\n"
    "                      FILE' reproduces each\n"
    "  --precision, --rtol, --atol   as for verify\n"
    "  --mode M            accepted for the contract's sake: each answer is\n"
    "                      compared entry by entry with the matrix backprop\n"
    "                      (confirmed by 'bpcheck selftest') in every "
    "mode\n" SPACE_HELP
    "Narrow the space to what the candidate supports, or let it answer\n"
    "{\"skip\": \"reason\"} for the cases it does not.\n"
    "\n"
    "An answer is one line of JSON: exactly the keys weights and biases\n"
    "(or skip, or error); weights[l-1] n_l rows of n_(l-1) numbers;\n"
    "biases[l-1] a flat list of n_l numbers (not a column); finite numbers\n"
    "only (JSON has no NaN or Infinity: answer {\"error\": ...} instead).\n"
    "CMD runs in a process group of its own; at the end of the run, on a\n"
    "failure or a timeout, the whole group is stopped (SIGTERM, then\n"
    "SIGKILL): nothing it started outlives bpcheck. One answer line may be\n"
    "at most 64 bytes a number of the gradient, plus 64 KiB.\n"
    "\n"
    "Exit codes: 0 all passed, 1 a mismatch, 2 bad usage, or every case\n"
    "skipped, 3 the candidate failed (crashed, timed out, exited early,\n"
    "closed its input or output, left a process holding its pipes, printed\n"
    "more than one line for a case, answered an error or something that is\n"
    "not a valid answer, or failed while its failure was being shrunk).\n";

/* Reasons of skipped cases, or diagnoses of failures, grouped: a few
 * groups, each with its count and first example. */
#define GROUPS 16
typedef struct {
  char key[160];  /* the reason, or the bug's name */
  char text[320]; /* the first one's diagnosis */
  size_t count;
  unsigned long seed; /* of the first */
  char arch[256];     /* of the first */
  int from_original;
} group;

typedef struct {
  group g[GROUPS];
  size_t n, other; /* groups, and items past the last group */
} groups;

static group *
group_of(groups *gs, const char *key)
{
  for (size_t i = 0; i < gs->n; i++)
    if (strcmp(gs->g[i].key, key) == 0)
      return &gs->g[i];
  if (gs->n == GROUPS)
    return NULL;
  group *g = &gs->g[gs->n++];
  memset(g, 0, sizeof *g);
  snprintf(g->key, sizeof g->key, "%s", key);
  return g;
}

typedef struct {
  external x;
  size_t trials;
  int tty;
  groups skips, failures;
  const bpcheck_tolerance *tol;
  size_t dx_checked, dx_failed; /* answers with dC/da^0, and wrong ones */
  char dx_first[640];           /* the first wrong one */
} run_state;

/* An answer's dC/da^0, when it has one, is checked at once (IN.3): the
 * library's run compares the parameters' gradient only. */
static int
candidate(const bpcheck_case *c, bpcheck_params *grad, void *data)
{
  run_state *st = data;
  int status = external_candidate(c, grad, &st->x);
  if (status || !st->x.have_dx)
    return status;
  bpcheck_input_report ir;
  status = check_inputs(NULL, 0, c, st->x.dx, st->tol, &ir);
  if (status != BPCHECK_SUCCESS && status != BPCHECK_EMISMATCH)
    return status;
  st->dx_checked++;
  if (status == BPCHECK_EMISMATCH && st->dx_failed++ == 0) {
    char desc[256];
    bpcheck_net_describe(c->net, desc, sizeof desc);
    snprintf(st->dx_first, sizeof st->dx_first,
             "%s, batch %zu: inputs[%zu][%zu] = dC/da^0_%zu of sample %zu "
             "expected %.17g, received %.17g (tolerance %.3g); %zu of %zu "
             "entries wrong",
             desc, c->batch->B, ir.worst_s, ir.worst_j, ir.worst_j, ir.worst_s,
             ir.expected, ir.received, ir.tol, ir.n_fail, ir.n_checked);
  }
  return BPCHECK_SUCCESS;
}

/* The input gradients' verdict, when the candidate sent any: exit code
 * code, or EXIT_MISMATCH when one was wrong. */
static int
report_inputs(const run_state *st, int code)
{
  if (!st->dx_checked)
    return code;
  if (!st->dx_failed) {
    printf("input gradients dC/da^0: %zu answers had them, all within "
           "tolerance (IN.3)\n",
           st->dx_checked);
    return code;
  }
  printf("FAIL: input gradients dC/da^0 wrong in %zu of the %zu answers "
         "that had them (IN.1); the first: %s\n",
         st->dx_failed, st->dx_checked, st->dx_first);
  return code == EXIT_PASS ? EXIT_MISMATCH : code;
}

static void
progress(size_t trial, void *data)
{
  run_state *st = data;
  if (st->tty)
    fprintf(stderr, "\rcase %zu/%zu", trial + 1, st->trials);
}

static void
on_skip(size_t trial, unsigned long seed, const char *arch, const char *reason,
        void *data)
{
  run_state *st = data;
  (void)trial;
  group *g = group_of(&st->skips, reason[0] ? reason : "(no reason given)");
  if (!g) {
    st->skips.other++;
    return;
  }
  if (g->count++ == 0) {
    g->seed = seed;
    snprintf(g->arch, sizeof g->arch, "%s", arch);
  }
}

static void
on_failure(const bpcheck_validation *f, void *data)
{
  run_state *st = data;
  group *g = group_of(&st->failures, bpcheck_bug_name(f->likely.bug));
  if (!g) {
    st->failures.other++;
    return;
  }
  if (g->count++ == 0) {
    g->seed = f->failure_seed;
    g->from_original = f->likely_from_original;
    snprintf(g->arch, sizeof g->arch, "%s", f->failure_arch);
    snprintf(g->text, sizeof g->text, "%s", f->likely.text);
  }
}

static int
save(const char *path, const bpcheck_case *c)
{
  char *text = bpcheck_case_dump(c, 1);
  FILE *out = text ? fopen(path, "w") : NULL;
  int ok = out && fprintf(out, "%s\n", text) >= 0;
  if (out)
    ok = fclose(out) == 0 && ok;
  bpcheck_case_dump_free(text);
  if (!ok)
    say_error("--save-failure: cannot write %s", path);
  return ok;
}

/* FILE with ".original" before its extension: fail.json gives
 * fail.original.json, fail gives fail.original. */
static void
original_path(const char *path, char *buf, size_t len)
{
  const char *slash = strrchr(path, '/');
  const char *dot = strrchr(path, '.');
  if (dot && (!slash || dot > slash + 1) && dot != path)
    snprintf(buf, len, "%.*s.original%s", (int)(dot - path), path, dot);
  else
    snprintf(buf, len, "%s.original", path);
}

/* What the run covered, its worst margin, and its skips. */
static void
print_coverage(const bpcheck_validation *v, const run_state *st)
{
  const bpcheck_coverage *cv = &v->coverage;
  if (v->passed + v->failed == 0)
    goto skips;
  printf("\ncovered (the %zu cases answered; layers for activations):\n",
         v->passed + v->failed);
  print_covered(cv->depth, cv->act, cv->cost, cv->reduction);
  printf("  %-12s %zu parameters, batch %zu\n", "largest", cv->max_params,
         cv->max_batch);
  if (v->passed)
    printf("worst margin: %.3g of its tolerance, the largest error / "
           "tolerance of a passing case (seed %lu)\n",
           v->worst_margin, v->worst_seed);
  else
    printf("worst margin: no case passed\n");
skips:
  if (v->skipped) {
    printf("skipped: %zu case%s (neither passed nor failed), by reason:\n",
           v->skipped, v->skipped == 1 ? "" : "s");
    for (size_t i = 0; i < st->skips.n; i++)
      printf("  %6zu  %s (first: seed %lu, %s)\n", st->skips.g[i].count,
             st->skips.g[i].key, st->skips.g[i].seed, st->skips.g[i].arch);
    if (st->skips.other)
      printf("  %6zu  for other reasons\n", st->skips.other);
  }
}

/* The failures of a run that went on, by diagnosis. */
static void
print_failure_groups(const bpcheck_validation *v, const run_state *st)
{
  size_t answered = v->passed + v->failed;
  printf("\nfailure rate: %zu of %zu cases answered (%.1f%%)\n", v->failed,
         answered,
         answered ? 100.0 * (double)v->failed / (double)answered : 0.0);
  printf("failures by diagnosis:\n");
  for (size_t i = 0; i < st->failures.n; i++) {
    const group *g = &st->failures.g[i];
    printf("  %6zu  %s: %s\n          (first: seed %lu, %s; diagnosed on "
           "the %s case)\n",
           g->count, g->key, g->text, g->seed, g->arch,
           g->from_original ? "original" : "shrunk");
  }
  if (st->failures.other)
    printf("  %6zu  with other diagnoses\n", st->failures.other);
}

static void print_origin(const bpcheck_validation *v);

/* The first failure: the shrunk case's report, where its likely bug comes
 * from, and the original's diagnosis when it differs. */
static void
print_failure(const bpcheck_validation *v, const bpcheck_tolerance *tol)
{
  char desc[256];
  bpcheck_net_describe(v->failure->net, desc, sizeof desc);
  printf("bpcheck run: case %zu (seed %lu) failed: %s\n", v->failure_trial,
         v->failure_seed, v->failure_arch);
  printf("shrunk in %zu steps to: %s, batch %zu\n", v->shrink_steps, desc,
         v->failure->batch->B);
  print_report(stdout, v->reference, v->failure->grad, v->report, tol,
               &v->likely);
  print_origin(v);
  if (v->n_experiments)
    printf("experiments (the candidate on variants of the shrunk case):\n");
  for (size_t i = 0; i < v->n_experiments; i++)
    printf("  %s: %s\n", v->experiments[i].what, v->experiments[i].showed);
}

/* Where the likely bug comes from, and the other case's diagnosis. */
static void
print_origin(const bpcheck_validation *v)
{
  if (v->failure == v->original || v->likely.bug == BPCHECK_BUG_NONE)
    return;
  const bpcheck_report *o = v->original_report;
  const bpcheck_diagnosis *sd = &v->diagnosis, *od = &v->original_diagnosis;
  /* The same pattern (a factor: the same factor), whatever its numbers. */
  int same = sd->bug == od->bug &&
             (sd->bug != BPCHECK_BUG_FACTOR ||
              fabs(sd->factor - od->factor) <= 1e-6 * fabs(od->factor));
  if (same) {
    printf("  (the original case and the shrunk one agree)\n");
    return;
  }
  int ones = v->failure->batch->B == 1;
  for (size_t l = 0; l <= v->failure->net->L; l++)
    ones = ones && v->failure->net->n[l] == 1;
  if (v->likely_from_original)
    printf("  (from the original case, %s: %zu of %zu entries differ)\n"
           "on the shrunk case alone: %s\n"
           "  (ambiguous there%s: the original's diagnosis is preferred)\n",
           v->failure_arch, o->n_fail, o->n_checked, sd->text,
           ones ? ": one node a layer at batch 1, where dC/dW = x dC/db "
                  "and every error looks like a constant factor"
                : "");
  else
    printf("  (from the shrunk case)\n"
           "on the original case (%s: %zu of %zu entries differ): %s\n",
           v->failure_arch, o->n_fail, o->n_checked, od->text);
}

int
cmd_run(int argc, char **argv)
{
  bpcheck_space space;
  tolopts t;
  bpcheck_mode mode = BPCHECK_MODE_FULL; /* accepted; see the usage */
  const char *cmd = NULL, *save_path = NULL;
  size_t trials = 100, timeout = 10, max_failures = 0;
  unsigned long seed;
  int have_seed = 0, keep_going = 0, opt_exit;
  bpcheck_space_default(&space);
  tolopts_init(&t);
  const option_spec options[] = {
      OPTION_STRING("--exec", &cmd),
      OPTION_SIZE("--trials", &trials, 1, (size_t)1 << 40),
      OPTION_SEED("--seed", &seed, &have_seed),
      OPTION_PARSE("--mode", option_mode, &mode),
      OPTION_SIZE("--timeout", &timeout, 1, 86400),
      OPTION_STRING("--save-failure", &save_path),
      OPTION_FLAG("--keep-going", &keep_going),
      OPTION_SIZE("--max-failures", &max_failures, 1, (size_t)1 << 40),
      TOLOPTS_OPTIONS(&t),
      SPACE_OPTIONS(&space),
      OPTION_END};
  if (parse_options("run", usage, options, argc, argv, &opt_exit) ||
      no_arguments(argc, argv, "quote the command: --exec 'CMD'", &opt_exit))
    return opt_exit;
  (void)mode;
  if (!cmd || !*cmd) {
    say_error("run needs --exec 'CMD', the program to test");
    return EXIT_USAGE;
  }
  if (max_failures && !keep_going) {
    say_error("--max-failures goes with --keep-going (without it, run stops "
              "at the first failure)");
    return EXIT_USAGE;
  }
  if (space_ready(&space, have_seed, &seed))
    return EXIT_USAGE;

  static run_state st; /* its groups are large */
  memset(&st, 0, sizeof st);
  st.trials = trials;
  st.tty = isatty(STDERR_FILENO);
  if (external_start(&st.x, cmd, (double)timeout))
    return EXIT_USAGE;
  bpcheck_tolerance tol = tolopts_get(&t);
  st.tol = &tol;
  bpcheck_validation v;
  bpcheck_validate_options o = {
      keep_going ? max_failures : 1, 0, 0, progress, on_failure, on_skip};
  int status =
      bpcheck_validate_run(&space, trials, seed, &tol, candidate, &st, &o, &v);
  char detail[1024];
  snprintf(detail, sizeof detail, "%s", bpcheck_errmsg());
  /* What it prints after its last answer is one line too many: an extra
   * line that came late may have been read as the answer to the next
   * case, so the run's verdict does not stand. */
  char extra[600] = "";
  if ((status == BPCHECK_SUCCESS || status == BPCHECK_EMISMATCH) &&
      external_finish(&st.x))
    snprintf(extra, sizeof extra, "%s", bpcheck_errmsg());
  if (status == BPCHECK_SUCCESS && extra[0]) {
    status = BPCHECK_ECANDIDATE;
    snprintf(detail, sizeof detail, "%s", extra);
  }
  external_stop(&st.x);
  if (st.tty)
    fputs("\r\033[K", stderr);

  int code;
  if (v.failed && v.failure && v.original &&
      (status == BPCHECK_EMISMATCH || status == BPCHECK_ECANDIDATE)) {
    print_failure(&v, &tol);
    if (save_path) {
      char orig[4096];
      original_path(save_path, orig, sizeof orig);
      if (save(save_path, v.failure))
        printf("saved: %s (bpcheck verify %s reproduces it)\n", save_path,
               save_path);
      if (v.original != v.failure && save(orig, v.original))
        printf("saved: %s, the original case as drawn\n", orig);
    }
    if (keep_going)
      print_failure_groups(&v, &st);
    print_coverage(&v, &st);
    printf("%zu passed, %zu failed", v.passed, v.failed);
    if (v.skipped)
      printf(", %zu skipped", v.skipped);
    if (keep_going && v.trials < trials)
      printf(" (stopped after %zu of %zu cases: %s)", v.trials, trials,
             status == BPCHECK_EMISMATCH && !v.shrink_status
                 ? "--max-failures"
                 : "the candidate failed");
    printf("\n");
    code = EXIT_MISMATCH;
    if (v.shrink_status) {
      say_error("%s while its failure was being shrunk (after %zu steps): "
                "%s; the failure above is the smallest found before",
                v.shrink_status == BPCHECK_ECANDIDATE ? "the candidate failed"
                                                      : "shrinking stopped",
                v.shrink_steps, v.shrink_error);
      if (v.shrink_status == BPCHECK_ECANDIDATE)
        code = EXIT_EXTERNAL;
    }
    if (status == BPCHECK_ECANDIDATE) {
      say_error("the candidate failed on case %zu (seed %lu, %s): %s",
                v.trials - 1, v.seed, v.arch, detail);
      code = EXIT_EXTERNAL;
    }
    if (extra[0]) {
      say_error("the candidate failed: %s; its answers may be out of step "
                "with the cases, so the failure above may not be its own",
                extra);
      code = EXIT_EXTERNAL;
    }
  } else if (status == BPCHECK_SUCCESS) {
    if (v.skipped == v.trials) {
      printf("bpcheck run: every one of the %zu cases was skipped: nothing "
             "was checked\n",
             v.trials);
      print_coverage(&v, &st);
      say_error("every case was skipped (narrow the SPACE options to what "
                "the candidate supports)");
      code = EXIT_USAGE;
    } else {
      printf("bpcheck run: %zu cases from seed %lu, every gradient %s"
             "within tolerance -- PASS\n",
             v.trials, seed, v.skipped ? "answered " : "");
      print_coverage(&v, &st);
      printf("%zu passed, 0 failed", v.passed);
      if (v.skipped)
        printf(", %zu skipped", v.skipped);
      printf("\n");
      code = EXIT_PASS;
    }
  } else if (status == BPCHECK_ECANDIDATE) {
    if (v.trials)
      say_error("the candidate failed on case %zu (seed %lu, %s): %s",
                v.trials - 1, v.seed, v.arch, detail);
    else
      say_error("the candidate failed: %s", detail);
    if (save_path && v.failure && save(save_path, v.failure))
      fprintf(stderr, "bpcheck: the case is saved in %s\n", save_path);
    code = EXIT_EXTERNAL;
  } else {
    say_error("%s", detail);
    code = EXIT_USAGE;
  }
  bpcheck_validation_free(&v);
  return report_inputs(&st, code);
}
