/* netopts.h -- the options that describe one random network and batch,
 * shared by `gen`, `trace` and `quiz`: --layers, --activations, --cost,
 * --reduction, --batch, --seed, --targets, --weight-decay. */

/* The help text of --activations, --cost, --reduction, --batch, and of
 * --targets, for the commands' usage. */
#define NETOPTS_ARCH_HELP                                                     \
  "  --activations A    one activation for every layer, or L of them\n"       \
  "                     (default sigmoid)\n"                                  \
  "  --cost C           quadratic (default), mse, cross_entropy,\n"           \
  "                     categorical_cross_entropy\n"                          \
  "  --reduction R      mean (default) or sum, over the batch\n"              \
  "  --batch B          samples (default 1)\n"
#define NETOPTS_TARGETS_HELP                                                  \
  "  --targets T        range (default): targets in the output's range,\n"    \
  "                     one-hot after softmax, in (0,1) after sigmoid,\n"     \
  "                     (-1,1) after tanh, >= 0 after relu and softplus;\n"   \
  "                     any: the cost's whole domain (y ~ N(0,1) for\n"       \
  "                     quadratic and mse)\n"

#ifndef BPCHECK_NETOPTS_H
#define BPCHECK_NETOPTS_H

#include "bpcheck.h"
#include "options.h"

typedef struct {
  size_t n[BPCHECK_MAX_LAYERS + 1], L, B;
  const char *acts;
  bpcheck_cost cost;
  bpcheck_reduction red;
  unsigned long seed;
  int have_seed;
  int any_targets;     /* --targets any: the library's draw, unrestricted */
  size_t max_params;   /* --max-params: parameters and numbers of the batch */
  double weight_decay; /* --weight-decay: lambda (WD.1), 0 by default */
} netopts;

void netopts_init(netopts *o);
/* The parsers of --layers, --cost, --reduction and --targets (into the
 * netopts, its cost, its reduction, its any_targets), and the entries of a
 * command's option table that fill the netopts *o. */
int netopts_layers(const option_spec *o, const char *arg);
int netopts_cost(const option_spec *o, const char *arg);
int netopts_reduction(const option_spec *o, const char *arg);
int netopts_targets(const option_spec *o, const char *arg);
#define NETOPTS_OPTIONS(o)                                                    \
  OPTION_PARSE("--layers", netopts_layers, (o)),                              \
      OPTION_STRING("--activations", &(o)->acts),                             \
      OPTION_PARSE("--cost", netopts_cost, &(o)->cost),                       \
      OPTION_PARSE("--reduction", netopts_reduction, &(o)->red),              \
      OPTION_SIZE("--batch", &(o)->B, 1, 1u << 20),                           \
      OPTION_PARSE("--targets", netopts_targets, &(o)->any_targets),          \
      OPTION_SEED("--seed", &(o)->seed, &(o)->have_seed),                     \
      OPTION_SIZE("--max-params", &(o)->max_params, 1, BPCHECK_MAX_PARAMS),   \
      OPTION_PARSE("--weight-decay", option_number, &(o)->weight_decay)
/* A case with random parameters and batch from the seed; prints a message
 * and returns non-zero when the options do not make a network, or one
 * whose parameters or batch exceed --max-params. */
int netopts_case(netopts *o, const char *cmd, bpcheck_case **c);

#endif
