/* bpcheck.c -- the command: dispatches to a subcommand. */

#include <stdio.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "config.h"
#include "commands.h"
#include "options.h"

static const char usage[] =
    "Usage: bpcheck [COMMAND] [OPTIONS]\n"
    "Computes the gradients of fully connected networks two ways (a literal\n"
    "index-by-index backprop and a matrix one on GSL's BLAS) and checks them\n"
    "against central differences.\n"
    "\n"
    "Commands:\n"
    "  selftest     the randomized cross-check (the default): literal vs\n"
    "               matrix vs central differences over random architectures\n"
    "  gen          a random case file (network, batch; no gradients)\n"
    "  verify       check the gradients of a case file (yours)\n"
    "  run          randomized differential testing of an external program\n"
    "               (--exec 'CMD', JSON Lines on its stdin and stdout)\n"
    "  model        any model's gradient through loss and gradient requests\n"
    "               (--exec 'CMD', JSON Lines): conv, attention, anything\n"
    "  mutants      the bug zoo: which check catches which classic bug\n"
    "  trace        every z, a and delta of a small network, indexed, with\n"
    "               the equation it comes from (for teaching); --matrix,\n"
    "               --dot FILE, --mutant NAME\n"
    "  quiz         the trace as an exercise: answers on stdin, one number\n"
    "               per line, judged at the precision typed\n"
    "  help         this text; 'bpcheck COMMAND --help' for its options\n"
    "\n"
    "Options:\n"
    "  -h, --help      this text\n"
    "  -V, --version   the version\n"
    "\n"
    "Exit codes: 0 everything passed; 1 a gradient mismatch was found;\n"
    "2 bad usage or bad input; 3 an external implementation failed.\n"
    "\n"
    "Environment: BPCHECK_SEED picks the seed when --seed is not given.\n";

int
main(int argc, char **argv)
{
  /* The library returns statuses; GSL must not abort the program. */
  gsl_set_error_handler_off();

  if (argc < 2)
    return cmd_selftest(argc, argv);
  const char *cmd = argv[1];
  if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 ||
      strcmp(cmd, "help") == 0) {
    fputs(usage, stdout);
    return EXIT_PASS;
  }
  if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
    printf("bpcheck %s (CBLAS: %s)\n", PACKAGE_VERSION, BPCHECK_CBLAS);
    return EXIT_PASS;
  }
  static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
  } commands[] = {{"selftest", cmd_selftest}, {"trace", cmd_trace},
                  {"gen", cmd_gen},           {"verify", cmd_verify},
                  {"run", cmd_run},           {"model", cmd_model},
                  {"quiz", cmd_quiz},         {"mutants", cmd_mutants}};
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(cmd, commands[i].name) == 0)
      return commands[i].run(argc - 1, argv + 1);
  if (cmd[0] == '-') /* options of the default command */
    return cmd_selftest(argc, argv);
  say_error("unknown command '%s' (try 'bpcheck --help')", cmd);
  return EXIT_USAGE;
}
