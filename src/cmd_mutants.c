/* cmd_mutants.c -- `bpcheck mutants`: the bug zoo, and which check catches
 * which bug, after how many random trials. */

#include <getopt.h>
#include <stdio.h>

#include "commands.h"
#include "options.h"

static const char usage[] =
    "Usage: bpcheck mutants [--trials N] [--seed S]\n"
    "       bpcheck mutants --list | --show NAME\n"
    "Switches on, one at a time, each classic backprop bug of the bug zoo\n"
    "in the literal backprop, and hunts it with random networks (as\n"
    "selftest draws them) until every check has caught it or N trials are\n"
    "spent. Prints, per mutant and check, the trial of the first catch\n"
    "('-': not caught), and the mutation score.\n"
    "\n"
    "  --trials N   trials per mutant at most (default 100)\n"
    "  --seed S     first seed (default $BPCHECK_SEED, else 1)\n"
    "  --list       each mutant's name, the equation it violates, and what\n"
    "               it does, one per line (tab separated)\n"
    "  --show NAME  the mutant as a diff against lib/literal.c (its patch in\n"
    "               lib/zoo), beside the equation it violates\n"
    "\n"
    "Exit codes: 0 the entry-by-entry checks (matrix, central differences,\n"
    "complex step) catch every mutant; 1 one escapes; 2 bad usage.\n";

int
cmd_mutants(int argc, char **argv)
{
  size_t trials = 100;
  unsigned long seed;
  int have_seed = 0, list = 0, opt_exit;
  const char *show = NULL;
  const option_spec options[] = {OPTION_SIZE("--trials", &trials, 1, 1000000),
                                 OPTION_SEED("--seed", &seed, &have_seed),
                                 OPTION_FLAG("--list", &list),
                                 OPTION_STRING("--show", &show), OPTION_END};
  if (parse_options("mutants", usage, options, argc, argv, &opt_exit) ||
      no_arguments(argc, argv, NULL, &opt_exit))
    return opt_exit;
  if (list) {
    for (int m = 1; m < BPCHECK_N_MUTANTS; m++)
      printf("%s\t%s\t%s\n", bpcheck_mutant_name((bpcheck_mutant)m),
             bpcheck_mutant_equation((bpcheck_mutant)m),
             bpcheck_mutant_about((bpcheck_mutant)m));
    return EXIT_PASS;
  }
  if (show) {
    bpcheck_mutant m;
    if (parse_mutant("--show", show, &m))
      return EXIT_USAGE;
    printf("mutant %s: violates %s: %s\n%s", bpcheck_mutant_name(m),
           bpcheck_mutant_equation(m), bpcheck_mutant_about(m),
           bpcheck_mutant_patch(m));
    return EXIT_PASS;
  }
  if (!have_seed && default_seed(1, &seed))
    return EXIT_USAGE;

  bpcheck_space space;
  bpcheck_space_default(&space);
  static const char *const checks[BPCHECK_N_CHECKS] = {
      "matrix", "c.diff", "c.step", "direct.", "Taylor"};
  size_t caught[BPCHECK_N_CHECKS] = {0}, entry_caught = 0;
  const size_t n = BPCHECK_N_MUTANTS - 1;
  printf("bpcheck mutants: each bug hunted over up to %zu random networks "
         "from seed %lu\n(the trial of the first catch; '-': not caught)\n\n",
         trials, seed);
  printf("%-22s %-9s", "mutant", "violates");
  for (int k = 0; k < BPCHECK_N_CHECKS; k++)
    printf(" %7s", checks[k]);
  printf("  what it does\n");
  for (int m = 1; m < BPCHECK_N_MUTANTS; m++) {
    bpcheck_hunt h;
    if (bpcheck_mutant_hunt(&space, (bpcheck_mutant)m, trials, seed, &h)) {
      say_error("%s", bpcheck_errmsg());
      return EXIT_USAGE;
    }
    printf("%-22s %-9s", bpcheck_mutant_name((bpcheck_mutant)m),
           bpcheck_mutant_equation((bpcheck_mutant)m));
    for (int k = 0; k < BPCHECK_N_CHECKS; k++) {
      if (h.first_catch[k])
        printf(" %7zu", h.first_catch[k]), caught[k]++;
      else
        printf(" %7s", "-");
    }
    printf("  %s\n", bpcheck_mutant_about((bpcheck_mutant)m));
    entry_caught += h.first_catch[BPCHECK_CHECK_MATRIX] &&
                    h.first_catch[BPCHECK_CHECK_FDIFF] &&
                    h.first_catch[BPCHECK_CHECK_CSTEP];
  }
  printf("\nmutation score:");
  for (int k = 0; k < BPCHECK_N_CHECKS; k++)
    printf(" %s %zu/%zu%s", checks[k], caught[k], n,
           k + 1 < BPCHECK_N_CHECKS ? "," : "\n");
  printf("entry-by-entry checks (matrix, central differences, complex step) "
         "catch %zu of %zu mutants -- %s\n",
         entry_caught, n, entry_caught == n ? "PASS" : "FAIL");
  return entry_caught == n ? EXIT_PASS : EXIT_MISMATCH;
}
