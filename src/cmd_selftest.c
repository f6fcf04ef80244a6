/* cmd_selftest.c -- `bpcheck selftest`: the randomized cross-check, as a
 * table (or JSON), with the seed and architecture of every failing trial. */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "options.h"
#include "report.h"

static const char usage[] =
    "Usage: bpcheck selftest [--trials N] [--seed S] [SPACE] [--mode M]\n"
    "                        [--json]\n"
    "Draws N random architectures (trial t uses seed S + t), computes the\n"
    "gradients with the literal and the matrix backprop, the complex step\n"
    "and central differences, and checks that they agree within tolerances\n"
    "derived from their error bounds and estimates; the same for dC/da^0\n"
    "(literal vs matrix, and both vs central differences in x); and the\n"
    "matrix gradient along random directions and by the slope of its\n"
    "Taylor remainder.\n"
    "\n"
    "  --trials N         number of trials (default 1000)\n"
    "  --seed S           first seed (default $BPCHECK_SEED, else 1)\n"
    "  --mode M           full (default): every entry, by the complex step "
    "and\n"
    "                     central differences, and 4 random directions;\n"
    "                     directional: the directions only (O(1) passes;\n"
    "                     when one fails, directions within each layer,\n"
    "                     then every entry of the layers that fail, to\n"
    "                     name it); auto: directional above 20000\n"
    "                     parameters, else full\n"
    "  --json             one JSON object on stdout instead of the table\n"
    "  --tolerance-scale F  multiply every tolerance by F (default 1, as\n"
    "                     derived): below 1 it shows their margin\n" SPACE_HELP
    "\n"
    "Exit codes: 0 all trials passed, 1 a mismatch, 2 bad usage.\n";

typedef struct {
  int json, progress;
  const bpcheck_space *space;
  time_t last;
  size_t trials;
} run_state;

static void
print_entry(FILE *out, const bpcheck_trial *t)
{
  char name[64];
  const bpcheck_entry *e = &t->worst;
  if (e->l == 0) /* dC/da^0 */
    snprintf(name, sizeof name, "inputs[%zu][%zu]", e->k, e->j);
  else if (e->is_bias)
    snprintf(name, sizeof name, "b^%zu_%zu", e->l, e->k);
  else
    snprintf(name, sizeof name, "W^%zu_%zu,%zu", e->l, e->k, e->j);
  fprintf(out,
          "  %s: %s expected %.17g, got %.17g\n"
          "  error %.3g, tolerance %.3g\n",
          t->failed, name, e->expected, e->received, e->abserr, e->tol);
}

/* Called after each trial: a failure is printed at once, with what
 * reproduces it; progress goes to a terminal's stderr. */
static int
on_trial(const bpcheck_trial *t, void *data)
{
  run_state *st = data;
  if (t->status != BPCHECK_SUCCESS && !st->json) {
    char args[512];
    space_args(st->space, args, sizeof args);
    if (st->progress)
      fputs("\r\033[K", stderr);
    printf("FAIL trial %zu (seed %lu): %s\n", t->trial, t->seed, t->arch);
    if (t->status == BPCHECK_EMISMATCH)
      print_entry(stdout, t);
    else
      printf("  error: %s: %s\n", bpcheck_strerror(t->status),
             bpcheck_errmsg());
    printf("  reproduce: bpcheck selftest --trials 1 --seed %lu%s\n", t->seed,
           args);
    fflush(stdout);
  }
  if (st->progress) {
    time_t now = time(NULL);
    if (now != st->last || t->trial + 1 == st->trials) {
      fprintf(stderr, "\rtrial %zu/%zu", t->trial + 1, st->trials);
      st->last = now;
    }
  }
  return 0;
}

/* One row of the table: the worst ratio (error over its allowance, 1 as
 * derived) shown against the allowance times the scale, or why it was not
 * run. */
static void
row(const char *check, double ratio, double allowed, const char *skipped)
{
  printf("%-44s %-10.3g %-8g %s\n", check, ratio * allowed, allowed,
         skipped      ? skipped
         : ratio <= 1 ? "pass"
                      : "FAIL");
}

static void
print_table(const bpcheck_summary *s, unsigned long seed,
            const bpcheck_space *space, int status)
{
  char desc[1024];
  space_describe(space, desc, sizeof desc);
  printf("bpcheck selftest: %zu trials, seeds %lu..%lu\n", s->trials, seed,
         seed + (unsigned long)(s->trials ? s->trials - 1 : 0));
  printf("space: %s\n\n", desc);
  printf("%-44s %-10s %-8s %s\n", "check", "worst", "allowed", "result");
  const double scale = space->tolerance_scale;
  /* The checks of lib/checks.c: error over the tolerance of (CD.10) (two
   * correct double computations), or (CD.7) for central differences. */
  row("literal vs matrix, error / tolerance", s->lm_ratio, scale, NULL);
  row("literal vs matrix dC/da^0, error / tol.", s->in_ratio, scale, NULL);
  const char *skipped =
      s->directional_only == s->trials && s->trials ? "not run" : NULL;
  row("backprop vs complex step, error / tol.", s->cs_ratio, scale, skipped);
  row("directional (4 random v), error / estimate", s->dr_ratio,
      BPCHECK_FD_SAFETY * scale, NULL);
  printf("%-44s %-10.3g %-8s %s\n", "Taylor remainder slope, smallest",
         s->taylor_min, "(~2)", "reported");
  row("backprop vs central diff., error / tolerance", s->fd_ratio, scale,
      skipped);
  row("dC/da^0 vs central diff., error / tolerance", s->in_fd_ratio, scale,
      skipped);
  if (s->directional_only)
    printf("(%zu of %zu trials checked along directions only: --mode)\n",
           s->directional_only, s->trials);
  if (scale != 1.0)
    printf("(tolerances scaled by %g: --tolerance-scale)\n", scale);
  printf("\ncovered (trials, or layers for activations):\n");
  print_covered(s->depth, s->act, s->cost, s->reduction);
  printf("  %-12s %zu parameters\n", "largest", s->max_params);
  printf("  %-12s %zu entries whose central difference crosses a relu kink\n"
         "  %-12s (not differentiable there: neither passed nor failed)\n\n",
         "skipped", s->kinks, "");
  printf("%zu trials: %zu passed, %zu failed", s->trials, s->passed,
         s->failed);
  if (s->errors)
    printf(", %zu errors", s->errors);
  printf(" -- %s\n", status == BPCHECK_SUCCESS ? "PASS" : "FAIL");
}

static void
print_json(const bpcheck_summary *s, unsigned long seed, double scale,
           int status)
{
  printf("{\"command\":\"selftest\",\"seed\":%lu,\"trials\":%zu,"
         "\"passed\":%zu,\"failed\":%zu,\"errors\":%zu,",
         seed, s->trials, s->passed, s->failed, s->errors);
  printf("\"literal_vs_matrix\":{\"worst_ratio\":%.6g,\"allowed\":%g},",
         s->lm_ratio * scale, scale);
  printf("\"literal_vs_matrix_inputs\":{\"worst_ratio\":%.6g,"
         "\"allowed\":%g},",
         s->in_ratio * scale, scale);
  printf("\"backprop_vs_complex_step\":{\"worst_ratio\":%.6g,"
         "\"allowed\":%g},",
         s->cs_ratio * scale, scale);
  printf("\"directional\":{\"worst_ratio\":%.6g,\"allowed\":%g},"
         "\"taylor_slope_min\":%.6g,",
         s->dr_ratio * scale * BPCHECK_FD_SAFETY, scale * BPCHECK_FD_SAFETY,
         s->taylor_min);
  printf("\"backprop_vs_fdiff\":{\"worst_ratio\":%.6g,\"allowed\":%g},",
         s->fd_ratio * scale, scale);
  printf("\"inputs_vs_fdiff\":{\"worst_ratio\":%.6g,\"allowed\":%g},",
         s->in_fd_ratio * scale, scale);
  printf("\"covered\":{\"activations\":{");
  print_counts("\"%s\":%zu", "},\"costs\":{", s->act, BPCHECK_N_ACTIVATIONS,
               act_name);
  print_counts("\"%s\":%zu", "},\"reductions\":{", s->cost, BPCHECK_N_COSTS,
               cost_name);
  print_counts("\"%s\":%zu", "}", s->reduction, BPCHECK_N_REDUCTIONS,
               reduction_name);
  printf(",\"max_params\":%zu},\"skipped_at_kinks\":%zu,", s->max_params,
         s->kinks);
  if (s->failed + s->errors)
    printf("\"first_failure\":{\"trial\":%zu,\"seed\":%lu},", s->first_failure,
           seed + (unsigned long)s->first_failure);
  printf("\"result\":\"%s\"}\n", status == BPCHECK_SUCCESS ? "pass" : "fail");
}

int
cmd_selftest(int argc, char **argv)
{
  bpcheck_space space;
  bpcheck_space_default(&space);
  size_t trials = 1000;
  unsigned long seed;
  int have_seed = 0, json = 0, opt_exit;
  const option_spec options[] = {
      OPTION_SIZE("--trials", &trials, 1, (size_t)1 << 40),
      OPTION_SEED("--seed", &seed, &have_seed),
      OPTION_PARSE("--mode", option_mode, &space.mode),
      OPTION_FLAG("--json", &json),
      OPTION_PARSE("--tolerance-scale", option_number, &space.tolerance_scale),
      SPACE_OPTIONS(&space),
      OPTION_END};
  if (parse_options("selftest", usage, options, argc, argv, &opt_exit) ||
      no_arguments(argc, argv, "try 'bpcheck selftest --help'", &opt_exit))
    return opt_exit;
  if (space_ready(&space, have_seed, &seed))
    return EXIT_USAGE;

  run_state st = {json, isatty(STDERR_FILENO), &space, 0, trials};
  bpcheck_summary sum;
  int status = bpcheck_selftest(&space, trials, seed, &sum, on_trial, &st);
  if (st.progress)
    fputs("\r\033[K", stderr);
  if (json)
    print_json(&sum, seed, space.tolerance_scale, status);
  else
    print_table(&sum, seed, &space, status);
  if (status == BPCHECK_SUCCESS)
    return EXIT_PASS;
  return status == BPCHECK_EMISMATCH ? EXIT_MISMATCH : EXIT_USAGE;
}
