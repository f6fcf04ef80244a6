/* options.h -- parsing of the command line's values, with messages that
 * name the option and the value. */

#ifndef BPCHECK_OPTIONS_H
#define BPCHECK_OPTIONS_H

#include <getopt.h>
#include <stddef.h>

#include "bpcheck.h"

/* Prints "bpcheck: MESSAGE" on stderr. */
void say_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One option of a command's table: its name ("--trials"), whether
 * it takes a value, the parser that stores the value in target (0, or -1
 * after printing a message), and for some parsers the bounds lo..hi.
 * given, when not NULL, is set to 1 once the option is met; short_name is
 * the option's one-letter form, or 0.  A table ends with an entry whose
 * name is NULL. */
typedef struct option_spec option_spec;
struct option_spec {
  const char *name;
  int has_arg; /* no_argument or required_argument (getopt.h) */
  int (*parse)(const option_spec *o, const char *arg);
  void *target;
  size_t lo, hi;
  int *given;
  char short_name;
};

/* The parsers of the common kinds of value; their messages begin with the
 * option's name. */
int option_flag(const option_spec *o, const char *arg);   /* int: 1 */
int option_string(const option_spec *o, const char *arg); /* const char * */
int option_size(const option_spec *o, const char *arg);   /* size_t, lo..hi */
int option_seed(const option_spec *o, const char *arg);   /* unsigned long */
int option_number(const option_spec *o, const char *arg); /* double >= 0 */
int option_mode(const option_spec *o, const char *arg);   /* bpcheck_mode */
int option_mutant(const option_spec *o, const char *arg); /* bpcheck_mutant */

/* The entries: an option with no value (FLAG) or a value into *p, or a
 * value parsed by fn into *p (PARSE); with GIVEN, *given set to 1 as well. */
#define OPTION_PARSE(n, fn, p)                                                \
  ((option_spec){                                                             \
      .name = n, .has_arg = required_argument, .parse = fn, .target = p})
#define OPTION_PARSE_GIVEN(n, fn, p, seen)                                    \
  ((option_spec){.name = n,                                                   \
                 .has_arg = required_argument,                                \
                 .parse = fn,                                                 \
                 .target = p,                                                 \
                 .given = seen})
#define OPTION_FLAG(n, p)                                                     \
  ((option_spec){                                                             \
      .name = n, .has_arg = no_argument, .parse = option_flag, .target = p})
#define OPTION_STRING(n, p) OPTION_PARSE(n, option_string, p)
#define OPTION_SEED(n, p, seen) OPTION_PARSE_GIVEN(n, option_seed, p, seen)
#define OPTION_SIZE(n, p, min, max)                                           \
  ((option_spec){.name = n,                                                   \
                 .has_arg = required_argument,                                \
                 .parse = option_size,                                        \
                 .target = p,                                                 \
                 .lo = min,                                                   \
                 .hi = max})
#define OPTION_END ((option_spec){.name = NULL})

/* Parses the options of command cmd (argv[1..]) by its table; --help and -h
 * print usage.  Returns 0 when the command goes on (optind is then the
 * first argument that is not an option), or 1 with the exit code in *code:
 * EXIT_PASS after --help, EXIT_USAGE after a message (a bad value, a
 * missing value, an unknown option). */
int parse_options(const char *cmd, const char *usage, const option_spec *table,
                  int argc, char **argv, int *code);
/* After parse_options, for a command that takes no arguments: 0 when there
 * is none, else 1 with EXIT_USAGE in *code after "unexpected argument 'ARG'
 * (HINT)" (no hint when hint is NULL). */
int no_arguments(int argc, char **argv, const char *hint, int *code);

/* A whole number in [lo, hi] for option opt; 0 on success, or prints a
 * message and returns -1. */
int parse_size(const char *opt, const char *arg, size_t lo, size_t hi,
               size_t *out);
int parse_seed(const char *opt, const char *arg, unsigned long *out);

/* The names of activation, cost and reduction i (for tables). */
const char *act_name(int i);
const char *cost_name(int i);
const char *reduction_name(int i);

/* "3,4,2" into n[0..*L]; at most max entries, each >= 1.  Prints a message
 * and returns -1 when it is not such a list. */
int parse_layers(const char *opt, const char *arg, size_t *n, size_t max,
                 size_t *L);
/* One activation name for every layer, or exactly L names: into f[1..L]. */
int parse_activation_list(const char *opt, const char *arg, size_t L,
                          bpcheck_activation *f);

/* --max-bytes N: the bound on a case file's bytes (verify, trace). */
#define OPTION_MAX_BYTES(p) OPTION_SIZE("--max-bytes", p, 1, (size_t)1 << 50)

/* The seed: the option's if given, else $BPCHECK_SEED, else fallback. */
int default_seed(unsigned long fallback, unsigned long *out);

/* The SPACE options shared by selftest and run (doc/reference.md), as
 * entries of a table that fill the space *s.  space_args() writes them back
 * for a command line that reproduces a trial. */
int option_hidden(const option_spec *o, const char *arg);
int option_activations(const option_spec *o, const char *arg);
int option_costs(const option_spec *o, const char *arg);
int option_reductions(const option_spec *o, const char *arg);
#define SPACE_OPTIONS(s)                                                      \
  OPTION_SIZE("--max-depth", &(s)->max_depth, 0, BPCHECK_MAX_LAYERS - 1),     \
      OPTION_SIZE("--max-width", &(s)->max_width, 1, 1u << 20),               \
      OPTION_SIZE("--min-width", &(s)->min_width, 1, 1u << 20),               \
      OPTION_FLAG("--same-width", &(s)->same_width),                          \
      OPTION_SIZE("--max-batch", &(s)->max_batch, 1, 1u << 20),               \
      OPTION_PARSE("--activations", option_hidden, &(s)->hidden),             \
      OPTION_PARSE("--output", option_activations, &(s)->output),             \
      OPTION_PARSE("--costs", option_costs, &(s)->costs),                     \
      OPTION_PARSE("--reductions", option_reductions, &(s)->reductions),      \
      OPTION_FLAG("--same-hidden", &(s)->same_hidden),                        \
      OPTION_PARSE("--weight-decay", option_number, &(s)->weight_decay)
/* The seed (the option's when given, else default_seed's, 1 by default)
 * and the space checked; -1 after a message when either is not valid. */
int space_ready(const bpcheck_space *s, int have_seed, unsigned long *seed);
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
  "  --weight-decay L   every case with L2 weight decay lambda = L >= 0\n"    \
  "                     (\"weight_decay\" in the case; default 0)\n"          \
  "Only valid combinations are drawn: categorical_cross_entropy with a\n"     \
  "softmax output, cross_entropy with a sigmoid or softmax output.\n"

/* A mutant of the bug zoo by name, for option opt; -1 with a message when
 * there is none. */
int parse_mutant(const char *opt, const char *arg, bpcheck_mutant *m);

#endif
