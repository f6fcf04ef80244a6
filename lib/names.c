/* names.c -- the contract's names of activations, costs and reductions. */

#include <string.h>

#include "internal.h"

static const char *const activation_names[BPCHECK_N_ACTIVATIONS] = {
    "sigmoid", "tanh", "relu", "identity", "softplus", "softmax"};
static const char *const cost_names[BPCHECK_N_COSTS] = {
    "quadratic", "mse", "cross_entropy", "categorical_cross_entropy"};
static const char *const reduction_names[BPCHECK_N_REDUCTIONS] = {"mean",
                                                                  "sum"};

static const char *
name_of(const char *const *names, int count, int value)
{
  return value >= 0 && value < count ? names[value] : "(invalid)";
}

static int
parse(const char *const *names, int count, const char *what, const char *name,
      int *value)
{
  for (int i = 0; i < count; i++)
    if (name && strcmp(name, names[i]) == 0) {
      *value = i;
      return BPCHECK_SUCCESS;
    }
  return bpcheck_fail(BPCHECK_EINVAL, "unknown %s '%s'", what,
                      name ? name : "(null)");
}

const char *
bpcheck_activation_name(bpcheck_activation f)
{
  return name_of(activation_names, BPCHECK_N_ACTIVATIONS, (int)f);
}

const char *
bpcheck_cost_name(bpcheck_cost c)
{
  return name_of(cost_names, BPCHECK_N_COSTS, (int)c);
}

const char *
bpcheck_reduction_name(bpcheck_reduction r)
{
  return name_of(reduction_names, BPCHECK_N_REDUCTIONS, (int)r);
}

int
bpcheck_activation_parse(const char *name, bpcheck_activation *f)
{
  int v = 0, status = parse(activation_names, BPCHECK_N_ACTIVATIONS,
                            "activation", name, &v);
  if (status == BPCHECK_SUCCESS)
    *f = (bpcheck_activation)v;
  return status;
}

int
bpcheck_cost_parse(const char *name, bpcheck_cost *c)
{
  int v = 0, status = parse(cost_names, BPCHECK_N_COSTS, "cost", name, &v);
  if (status == BPCHECK_SUCCESS)
    *c = (bpcheck_cost)v;
  return status;
}

int
bpcheck_reduction_parse(const char *name, bpcheck_reduction *r)
{
  int v = 0, status = parse(reduction_names, BPCHECK_N_REDUCTIONS, "reduction",
                            name, &v);
  if (status == BPCHECK_SUCCESS)
    *r = (bpcheck_reduction)v;
  return status;
}
