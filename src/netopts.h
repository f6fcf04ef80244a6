/* netopts.h -- the options that describe one random network and batch,
 * shared by `gen`, `trace` and `quiz`: --layers, --activations, --cost,
 * --reduction, --batch, --seed, --targets, --weight-decay. */

/* The help text of --targets, for the commands' usage. */
#define NETOPTS_TARGETS_HELP                                                  \
  "  --targets T        range (default): targets in the output's range,\n"    \
  "                     one-hot after softmax, in (0,1) after sigmoid,\n"     \
  "                     (-1,1) after tanh, >= 0 after relu and softplus;\n"   \
  "                     any: the cost's whole domain (y ~ N(0,1) for\n"       \
  "                     quadratic and mse)\n"

#ifndef BPCHECK_NETOPTS_H
#define BPCHECK_NETOPTS_H

#include "bpcheck.h"

enum {
  OPT_LAYERS = 2000,
  OPT_ACTS,
  OPT_COST,
  OPT_RED,
  OPT_BATCH,
  OPT_NET_SEED,
  OPT_TARGETS,
  OPT_NET_MAX_PARAMS,
  OPT_NET_MAX_BYTES,
  OPT_NET_WEIGHT_DECAY
};

#define NET_LONG_OPTIONS                                                      \
  {"layers", required_argument, NULL, OPT_LAYERS},                            \
      {"activations", required_argument, NULL, OPT_ACTS},                     \
      {"cost", required_argument, NULL, OPT_COST},                            \
      {"reduction", required_argument, NULL, OPT_RED},                        \
      {"batch", required_argument, NULL, OPT_BATCH},                          \
      {"targets", required_argument, NULL, OPT_TARGETS},                      \
      {"seed", required_argument, NULL, OPT_NET_SEED},                        \
      {"weight-decay", required_argument, NULL, OPT_NET_WEIGHT_DECAY},        \
  {                                                                           \
    "max-params", required_argument, NULL, OPT_NET_MAX_PARAMS                 \
  }

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
/* 1 when opt was one of these options (parsed), 0 when it is not, -1 on a
 * bad value (a message was printed). */
int netopts_parse(netopts *o, int opt, const char *arg);
/* A case with random parameters and batch from the seed; prints a message
 * and returns non-zero when the options do not make a network, or one
 * whose parameters or batch exceed --max-params. */
int netopts_case(netopts *o, const char *cmd, bpcheck_case **c);

#endif
