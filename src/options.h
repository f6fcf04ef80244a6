/* options.h -- parsing of the command line's values, with messages that
 * name the option and the value. */

#ifndef BPCHECK_OPTIONS_H
#define BPCHECK_OPTIONS_H

#include <stddef.h>

#include "bpcheck.h"

/* Prints "bpcheck: MESSAGE" on stderr. */
void say_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The message for getopt's ':' (a missing value) or an unknown option of
 * command cmd; returns the exit code of bad usage. */
int bad_option(const char *cmd, int c, char **argv);
/* --mode full|directional|auto into *mode; -1 (message printed) on another
 * name. */
int parse_mode(const char *arg, bpcheck_mode *mode);

/* A whole number in [lo, hi] for option opt; 0 on success, or prints a
 * message and returns -1. */
int parse_size(const char *opt, const char *arg, size_t lo, size_t hi,
               size_t *out);
int parse_seed(const char *opt, const char *arg, unsigned long *out);
/* A finite number >= 0 (no empty string, no trailing characters); prints
 * "OPT: 'ARG' is not WHAT" and returns -1 otherwise. */
int parse_number(const char *opt, const char *arg, const char *what,
                 double *v);

/* The names of activation, cost and reduction i (for tables). */
const char *act_name(int i);
const char *cost_name(int i);
const char *reduction_name(int i);

/* A comma-separated list of names into a bit set. */
int parse_activations(const char *opt, const char *arg, unsigned *set);
int parse_costs(const char *opt, const char *arg, unsigned *set);
int parse_reductions(const char *opt, const char *arg, unsigned *set);

/* "3,4,2" into n[0..*L]; at most max entries, each >= 1.  Prints a message
 * and returns -1 when it is not such a list. */
int parse_layers(const char *opt, const char *arg, size_t *n, size_t max,
                 size_t *L);
/* One activation name for every layer, or exactly L names: into f[1..L]. */
int parse_activation_list(const char *opt, const char *arg, size_t L,
                          bpcheck_activation *f);

/* --max-bytes N: the bound on a case file's bytes (verify, trace). */
enum { OPT_MAX_BYTES = 2500, OPT_MAX_LINES };
int parse_max_bytes(const char *arg, size_t *out);

/* The seed: the option's if given, else $BPCHECK_SEED, else fallback. */
int default_seed(unsigned long fallback, unsigned long *out);

/* The SPACE options shared by selftest and run (doc/reference.md).  Returns 1
 * when (opt, arg) was one of them and was parsed, 0 when it is not a SPACE
 * option, -1 on a bad value.  space_args() writes them back for a command
 * line that reproduces a trial. */
enum {
  OPT_MAX_DEPTH = 1000,
  OPT_MAX_WIDTH,
  OPT_MAX_BATCH,
  OPT_ACTIVATIONS,
  OPT_OUTPUT,
  OPT_COSTS,
  OPT_REDUCTIONS,
  OPT_SAME_HIDDEN,
  OPT_MODE,
  OPT_JSON,
  OPT_TRIALS,
  OPT_SEED,
  OPT_TOLSCALE,
  OPT_MIN_WIDTH,
  OPT_SAME_WIDTH
};
int parse_space_option(int opt, const char *arg, bpcheck_space *s);
void space_args(const bpcheck_space *s, char *buf, size_t len);
void space_describe(const bpcheck_space *s, char *buf, size_t len);

/* The SPACE options' help, for selftest and run. */
#define SPACE_HELP                                                            \
  "SPACE, the random architectures (what each option restricts):\n"           \
  "  --max-depth D      hidden layers 0..D (default 4), so L = 1..D+1\n"      \
  "  --max-width W      nodes of every layer (input, hidden, output) at\n"    \
  "                     most W (default 16)\n"                                \
  "  --min-width N      nodes of every layer at least N (default 1; a\n"      \
  "                     softmax output has at least 2)\n"                     \
  "  --same-width       every hidden layer of a network one width\n"          \
  "                     (n_1 = ... = n_(L-1); input and output apart)\n"      \
  "  --max-batch B      samples per batch 1..B (default 8)\n"                 \
  "  --activations LIST the HIDDEN layers' activations (default: sigmoid,\n"  \
  "                     tanh, relu, identity, softplus); not the output\n"    \
  "  --output LIST      the OUTPUT layer's activation (default: all of\n"     \
  "                     those and softmax)\n"                                 \
  "  --costs LIST       costs (default: quadratic, mse, cross_entropy,\n"     \
  "                     categorical_cross_entropy)\n"                         \
  "  --reductions LIST  batch reductions, mean and/or sum (default: both)\n"  \
  "  --same-hidden      one activation for every hidden layer of a network\n" \
  "Only valid combinations are drawn: categorical_cross_entropy with a\n"     \
  "softmax output, cross_entropy with a sigmoid or softmax output.\n"

#define SPACE_LONG_OPTIONS                                                    \
  {"max-depth", required_argument, NULL, OPT_MAX_DEPTH},                      \
      {"max-width", required_argument, NULL, OPT_MAX_WIDTH},                  \
      {"min-width", required_argument, NULL, OPT_MIN_WIDTH},                  \
      {"same-width", no_argument, NULL, OPT_SAME_WIDTH},                      \
      {"max-batch", required_argument, NULL, OPT_MAX_BATCH},                  \
      {"activations", required_argument, NULL, OPT_ACTIVATIONS},              \
      {"output", required_argument, NULL, OPT_OUTPUT},                        \
      {"costs", required_argument, NULL, OPT_COSTS},                          \
      {"reductions", required_argument, NULL, OPT_REDUCTIONS},                \
  {                                                                           \
    "same-hidden", no_argument, NULL, OPT_SAME_HIDDEN                         \
  }

/* A mutant of the bug zoo by name, for option opt; -1 with a message when
 * there is none. */
int parse_mutant(const char *opt, const char *arg, bpcheck_mutant *m);

#endif
