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
    "  --layers LIST      layer sizes n_0,...,n_L (required), e.g. 3,4,2\n"
    "  --activations A    one activation for every layer, or L of them\n"
    "                     (default sigmoid)\n"
    "  --cost C           quadratic (default), mse, cross_entropy,\n"
    "                     categorical_cross_entropy\n"
    "  --reduction R      mean (default) or sum, over the batch\n"
    "  --batch B          samples (default 1)\n"
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
  static const struct option longopts[] = {
      {"help", no_argument, NULL, 'h'},
      {"output", required_argument, NULL, 'o'},
      NET_LONG_OPTIONS,
      {NULL, 0, NULL, 0}};
  netopts o;
  const char *path = NULL;
  int c;
  netopts_init(&o);
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1) {
    int done = netopts_parse(&o, c, optarg);
    if (done < 0)
      return EXIT_USAGE;
    if (done)
      continue;
    switch (c) {
    case 'h': fputs(usage, stdout); return EXIT_PASS;
    case 'o': path = optarg; break;
    default: return bad_option("gen", c, argv);
    }
  }
  if (optind < argc) {
    say_error("unexpected argument '%s' (try 'bpcheck gen --help')",
              argv[optind]);
    return EXIT_USAGE;
  }
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
