/* cmd_gen.c -- `bpcheck gen`: a random case file, without gradients. */

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "netopts.h"
#include "options.h"

static const char usage[] =
    "Usage: bpcheck gen --layers N0,N1,...,NL [--activations A|A1,..,AL]\n"
    "                   [--cost C] [--reduction R] [--batch B] [--seed S]\n"
    "                   [--targets range|any] [--weight-decay L]\n"
    "                   [--max-params N] [-o FILE]\n"
    "Writes a random case (the case-file format of doc/reference.md, one line "
    "of JSON):\n"
    "the network's weights and biases, a batch of inputs and targets, and no\n"
    "gradients. The same options and seed give the same file. Fill in its\n"
    "\"gradients\" with your implementation and check them with\n"
    "'bpcheck verify'.\n"
    "\n"
    "  --layers LIST      layer sizes n_0,...,n_L (required), e.g. "
    "3,4,2\n" NETOPTS_ARCH_HELP
    "  --seed S           default $BPCHECK_SEED, else 1\n" NETOPTS_TARGETS_HELP
    "  --weight-decay L   L2 weight decay lambda = L >= 0: the cost gains\n"
    "                     lambda/2 sum_l ||W^l||^2, once after the batch\n"
    "                     reduction, biases not decayed (default 0: none)\n"
    "  --max-params N     refuse larger networks and batches (default\n"
    "                     10000000, as verify)\n"
    "  -o FILE            write to FILE instead of standard output\n";

int
cmd_gen(int argc, char **argv)
{
  netopts o;
  const char *path = NULL;
  int opt_exit;
  netopts_init(&o);
  const option_spec options[] = {{.name = "--output",
                                  .has_arg = required_argument,
                                  .parse = option_string,
                                  .target = &path,
                                  .short_name = 'o'},
                                 NETOPTS_OPTIONS(&o),
                                 OPTION_END};
  if (parse_options("gen", usage, options, argc, argv, &opt_exit) ||
      no_arguments(argc, argv, "try 'bpcheck gen --help'", &opt_exit))
    return opt_exit;
  bpcheck_case *gc;
  if (netopts_case(&o, "gen", &gc))
    return EXIT_USAGE;
  char *text = bpcheck_case_dump(gc, 0);
  bpcheck_case_free(gc);
  if (!text) {
    say_error("%s", bpcheck_errmsg());
    return EXIT_USAGE;
  }
  FILE *out = path && strcmp(path, "-") ? fopen(path, "w") : stdout;
  int ok = out && fprintf(out, "%s\n", text) >= 0;
  if (out && out != stdout)
    ok = fclose(out) == 0 && ok;
  else if (out)
    ok = fflush(out) == 0 && ok;
  bpcheck_case_dump_free(text);
  if (!ok) {
    say_error("%s: cannot write", path ? path : "(stdout)");
    return EXIT_USAGE;
  }
  return EXIT_PASS;
}
