/* cmd_run.c -- `bpcheck run --exec 'CMD'`: randomized differential testing
 * of an external implementation, with the first failure shrunk to the
 * smallest case that still fails. */

#include <getopt.h>
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
    "                   [--precision double|single] [--rtol R] [--atol A]\n"
    "                   [--timeout SEC] [--save-failure FILE]\n"
    "Starts CMD once (with /bin/sh -c) and sends it random cases, one JSON\n"
    "line each on its stdin (a case file without \"gradients\"); it answers\n"
    "each with one line on its stdout: {\"weights\": [...], \"biases\":\n"
    "[...]} or {\"error\": \"...\"}. End of input means stop; its stderr is\n"
    "passed through. Each answer is checked against the reference; the first\n"
    "mismatch is shrunk (fewer layers, nodes, samples, simpler values) while\n"
    "it still fails, reported with the likely bug, and saved.\n"
    "\n"
    "  --exec CMD          the candidate (required)\n"
    "  --trials N          cases to send (default 100)\n"
    "  --seed S            first seed (default $BPCHECK_SEED, else 1)\n"
    "  --timeout SEC       seconds for each case: writing it and reading the\n"
    "                      answer (default 10); a candidate that takes\n"
    "                      longer is stopped, with every process it started\n"
    "  --save-failure FILE the smallest failing case, with the candidate's\n"
    "                      gradients: 'bpcheck verify FILE' reproduces it\n"
    "  --precision, --rtol, --atol   as for verify\n"
    "  --mode M            accepted for the contract's sake: each answer is\n"
    "                      compared entry by entry with the matrix backprop\n"
    "                      (confirmed by 'bpcheck selftest') in every mode\n"
    "SPACE: --max-depth D --max-width W --max-batch B --activations LIST\n"
    "       --output LIST --costs LIST --reductions LIST --same-hidden\n"
    "       (see 'bpcheck selftest --help'); narrow it to what the candidate\n"
    "       supports.\n"
    "\n"
    "CMD runs in a process group of its own; at the end of the run, on a\n"
    "failure or a timeout, the whole group is stopped (SIGTERM, then\n"
    "SIGKILL): nothing it started outlives bpcheck. One answer line may be\n"
    "at most 64 bytes a number of the gradient, plus 64 KiB.\n"
    "\n"
    "Exit codes: 0 all passed, 1 a mismatch, 2 bad usage, 3 the candidate\n"
    "failed (crashed, timed out, exited early, closed its input or output,\n"
    "left a process holding its pipes, printed more than one line for a\n"
    "case, answered an error or something that is not a valid answer,\n"
    "or failed while its failure was being shrunk).\n";

enum { OPT_EXEC = 2300, OPT_TIMEOUT, OPT_SAVE };

typedef struct {
  external x;
  size_t trials;
  int tty;
} run_state;

static int
candidate(const bpcheck_case *c, bpcheck_params *grad, void *data)
{
  run_state *st = data;
  return external_candidate(c, grad, &st->x);
}

static void
progress(size_t trial, void *data)
{
  run_state *st = data;
  if (st->tty)
    fprintf(stderr, "\rcase %zu/%zu", trial + 1, st->trials);
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

int
cmd_run(int argc, char **argv)
{
  static const struct option longopts[] = {
      {"help", no_argument, NULL, 'h'},
      {"exec", required_argument, NULL, OPT_EXEC},
      {"trials", required_argument, NULL, OPT_TRIALS},
      {"seed", required_argument, NULL, OPT_SEED},
      {"mode", required_argument, NULL, OPT_MODE},
      {"timeout", required_argument, NULL, OPT_TIMEOUT},
      {"save-failure", required_argument, NULL, OPT_SAVE},
      TOL_LONG_OPTIONS,
      SPACE_LONG_OPTIONS,
      {NULL, 0, NULL, 0}};
  bpcheck_space space;
  tolopts t;
  bpcheck_mode mode = BPCHECK_MODE_FULL; /* accepted; see the usage */
  const char *cmd = NULL, *save_path = NULL;
  size_t trials = 100, timeout = 10;
  unsigned long seed;
  int have_seed = 0, c;
  bpcheck_space_default(&space);
  tolopts_init(&t);
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    int done = parse_space_option(c, optarg, &space);
    if (!done)
      done = tolopts_parse(&t, c, optarg);
    if (done < 0)
      return EXIT_USAGE;
    if (done)
      continue;
    switch (c) {
    case 'h': fputs(usage, stdout); return EXIT_PASS;
    case OPT_EXEC: cmd = optarg; break;
    case OPT_TRIALS:
      if (parse_size("--trials", optarg, 1, (size_t)1 << 40, &trials))
        return EXIT_USAGE;
      break;
    case OPT_SEED:
      if (parse_seed("--seed", optarg, &seed))
        return EXIT_USAGE;
      have_seed = 1;
      break;
    case OPT_TIMEOUT:
      if (parse_size("--timeout", optarg, 1, 86400, &timeout))
        return EXIT_USAGE;
      break;
    case OPT_SAVE: save_path = optarg; break;
    case OPT_MODE:
      if (parse_mode(optarg, &mode))
        return EXIT_USAGE;
      break;
    default: return bad_option("run", c, argv);
    }
  }
  if (optind < argc) {
    say_error("unexpected argument '%s' (quote the command: --exec 'CMD')",
              argv[optind]);
    return EXIT_USAGE;
  }
  (void)mode;
  if (!cmd || !*cmd) {
    say_error("run needs --exec 'CMD', the program to test");
    return EXIT_USAGE;
  }
  if (!have_seed && default_seed(1, &seed))
    return EXIT_USAGE;
  if (bpcheck_space_validate(&space)) {
    say_error("%s", bpcheck_errmsg());
    return EXIT_USAGE;
  }

  run_state st = {.trials = trials, .tty = isatty(STDERR_FILENO)};
  if (external_start(&st.x, cmd, (double)timeout))
    return EXIT_USAGE;
  bpcheck_tolerance tol = tolopts_get(&t);
  bpcheck_validation v;
  int status = bpcheck_validate(&space, trials, seed, &tol, candidate, &st,
                                progress, &v);
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
  if (status == BPCHECK_SUCCESS) {
    printf("bpcheck run: %zu cases from seed %lu, every gradient within "
           "tolerance -- PASS\n%zu passed, 0 failed\n",
           v.trials, seed, v.trials);
    code = EXIT_PASS;
  } else if (status == BPCHECK_EMISMATCH) {
    char desc[256];
    bpcheck_net_describe(v.failure->net, desc, sizeof desc);
    printf("bpcheck run: case %zu (seed %lu) failed: %s\n", v.trials - 1,
           v.seed, v.arch);
    printf("shrunk in %zu steps to: %s, batch %zu\n", v.shrink_steps, desc,
           v.failure->batch->B);
    print_report(stdout, v.reference, v.failure->grad, v.report, &tol,
                 &v.diagnosis);
    if (save_path && save(save_path, v.failure))
      printf("saved: %s (bpcheck verify %s reproduces it)\n", save_path,
             save_path);
    printf("%zu passed, 1 failed\n", v.trials - 1);
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
    if (extra[0]) {
      say_error("the candidate failed: %s; its answers may be out of step "
                "with the cases, so the failure above may not be its own",
                extra);
      code = EXIT_EXTERNAL;
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
  return code;
}
