/* netopts.c -- one random network and batch from the command line. */

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "netopts.h"
#include "options.h"

void
netopts_init(netopts *o)
{
  o->L = 0;
  o->B = 1;
  o->acts = "sigmoid";
  o->cost = BPCHECK_QUADRATIC;
  o->red = BPCHECK_MEAN;
  o->have_seed = 0;
  o->any_targets = 0;
  o->max_params = BPCHECK_CASE_MAX_PARAMS;
  o->weight_decay = 0.0;
}

int
netopts_layers(const option_spec *o, const char *arg)
{
  netopts *net = o->target;
  return parse_layers(o->name, arg, net->n, BPCHECK_MAX_LAYERS + 1, &net->L);
}

/* 0 when the library parsed option o's value; else -1 after its
 * message. */
static int
parsed(const option_spec *o, int status)
{
  if (status == BPCHECK_SUCCESS)
    return 0;
  say_error("%s: %s", o->name, bpcheck_errmsg());
  return -1;
}

int
netopts_cost(const option_spec *o, const char *arg)
{
  return parsed(o, bpcheck_cost_parse(arg, o->target));
}

int
netopts_reduction(const option_spec *o, const char *arg)
{
  return parsed(o, bpcheck_reduction_parse(arg, o->target));
}

int
netopts_targets(const option_spec *o, const char *arg)
{
  if (strcmp(arg, "any") != 0 && strcmp(arg, "range") != 0) {
    say_error("%s: '%s' is not range or any", o->name, arg);
    return -1;
  }
  *(int *)o->target = strcmp(arg, "any") == 0;
  return 0;
}

/* Targets a student meets in class, in the range of the output activation
 * f: one-hot after softmax, U(0,1) after sigmoid, U(-1,1) after tanh, the
 * library's draw folded to >= 0 after relu and softplus, unchanged after
 * the identity.  Drawn after everything else, so that the parameters and
 * the inputs are those of --targets any. */
static void
targets_in_range(bpcheck_batch *batch, bpcheck_activation f, gsl_rng *rng)
{
  gsl_matrix *Y = batch->Y;
  for (size_t s = 0; s < batch->B; s++) {
    size_t hot = f == BPCHECK_SOFTMAX ? gsl_rng_uniform_int(rng, Y->size1) : 0;
    for (size_t k = 0; k < Y->size1; k++) {
      double y = gsl_matrix_get(Y, k, s);
      switch (f) {
      case BPCHECK_SOFTMAX: y = k == hot; break;
      case BPCHECK_SIGMOID: y = gsl_rng_uniform_pos(rng); break;
      case BPCHECK_TANH: y = 2 * gsl_rng_uniform_pos(rng) - 1; break;
      case BPCHECK_RELU:
      case BPCHECK_SOFTPLUS: y = fabs(y); break;
      default: break;
      }
      gsl_matrix_set(Y, k, s, y);
    }
  }
}

int
netopts_case(netopts *o, const char *cmd, bpcheck_case **out)
{
  bpcheck_activation f[BPCHECK_MAX_LAYERS + 1];
  if (o->L == 0) {
    say_error("%s needs --layers, e.g. --layers 2,3,1", cmd);
    return -1;
  }
  if (parse_activation_list("--activations", o->acts, o->L, f))
    return -1;
  double params = 0;
  for (size_t l = 1; l <= o->L; l++)
    params += (double)o->n[l] * ((double)o->n[l - 1] + 1);
  if (params > (double)o->max_params) {
    say_error("--layers: %.0f parameters exceed the limit of %zu (raise it "
              "with --max-params)",
              params, o->max_params);
    return -1;
  }
  if ((double)o->B * (double)(o->n[0] + o->n[o->L]) > (double)o->max_params) {
    say_error("--batch: %zu samples of %zu inputs and %zu targets exceed "
              "the limit of %zu numbers (raise it with --max-params)",
              o->B, o->n[0], o->n[o->L], o->max_params);
    return -1;
  }
  if (!o->have_seed && default_seed(1, &o->seed))
    return -1;
  bpcheck_arch arch = {o->L, o->n, f, o->cost, o->red};
  bpcheck_case *c = NULL;
  gsl_rng *rng = bpcheck_rng_alloc();
  int status = rng ? bpcheck_case_alloc(&c, &arch, o->B) : BPCHECK_ENOMEM;
  if (status == BPCHECK_SUCCESS) {
    gsl_rng_set(rng, o->seed);
    c->net->weight_decay = o->weight_decay;
    bpcheck_net_init_random(c->net, rng);
    status = bpcheck_batch_init_random(c->batch, c->net, rng);
    if (status == BPCHECK_SUCCESS && !o->any_targets)
      targets_in_range(c->batch, c->net->f[o->L], rng);
  }
  if (rng)
    gsl_rng_free(rng);
  if (status) {
    say_error("%s", bpcheck_errmsg());
    bpcheck_case_free(c);
    return -1;
  }
  *out = c;
  return 0;
}
