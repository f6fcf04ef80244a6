/* mutants.c -- the bug zoo: names and equations of the mutants of
 * literal.c, and the hunt that shows which check catches which. */

#include <math.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "internal.h"

static const struct {
  const char *name, *equation, *about;
} zoo[BPCHECK_N_MUTANTS] = {
    {"none", "", "the correct backprop"},
    {"no_output_derivative", "(FC.4)",
     "delta^L = dC/da^L, without f_L'(z^L) (or the softmax Jacobian)"},
    {"df_of_a", "(ACT.1)", "f'(a) used where f'(z) is meant"},
    {"not_transposed", "(FC.5)",
     "W^(l+1)_jk instead of W^(l+1)_kj: W, not its transpose"},
    {"a_of_l", "(FC.6)", "a^l instead of a^(l-1) in dC/dW^l"},
    {"kj_swapped", "(FC.6)", "k and j swapped: a^(l-1)_k delta^l_j"},
    {"bias_not_reduced", "(FC.7)",
     "dC/db of the last sample only, not reduced over the batch"},
    {"batch_mean_forgotten", "(COST.5)", "the sum where the mean is asked"},
    {"half_dropped", "(COST.1)",
     "the 1/2 of the quadratic cost dropped: 2 (a - y)"},
    {"sign_flipped", "(FC.6)", "the gradient of -C"},
    {"wrong_layer_delta", "(FC.6)", "delta^(l+1) used in dC/dW^l"},
    {"updated_early", "(FC.8)",
     "W^(l+1) updated before delta^l is computed from it"},
    {"softmax_diagonal", "(ACT.8)",
     "the softmax Jacobian taken as its diagonal a_k (1 - a_k)"},
    {"relu_prime_one", "(ACT.3)", "relu' taken as 1 everywhere"},
    {"j_loop_short", "(FC.1)", "the sum over j stops one short"},
};

static int
valid(bpcheck_mutant m)
{
  return (int)m >= 0 && m < BPCHECK_N_MUTANTS;
}

/* The mutants themselves: lib/literal.c with lib/zoo/NAME.patch applied,
 * generated at build time by scripts/zoo-gen, in the order of
 * bpcheck_mutant; and the patches' text. */
#define ZOO_LIST                                                              \
  X(no_output_derivative)                                                     \
  X(df_of_a)                                                                  \
  X(not_transposed)                                                           \
  X(a_of_l)                                                                   \
  X(kj_swapped)                                                               \
  X(bias_not_reduced)                                                         \
  X(batch_mean_forgotten)                                                     \
  X(half_dropped)                                                             \
  X(sign_flipped)                                                             \
  X(wrong_layer_delta)                                                        \
  X(updated_early)                                                            \
  X(softmax_diagonal)                                                         \
  X(relu_prime_one)                                                           \
  X(j_loop_short)

typedef int (*literal_fn)(const bpcheck_net *, const bpcheck_batch *,
                          bpcheck_params *, double *,
                          bpcheck_literal_workspace *);
#define X(name)                                                               \
  int bpcheck_zoo_##name(const bpcheck_net *, const bpcheck_batch *,          \
                         bpcheck_params *, double *,                          \
                         bpcheck_literal_workspace *);
ZOO_LIST
#undef X
#define X(name) bpcheck_zoo_##name,
static const literal_fn zoo_fn[BPCHECK_N_MUTANTS] = {bpcheck_literal_backprop,
                                                     ZOO_LIST};
#undef X
#define X(name) +1
_Static_assert(1 ZOO_LIST == BPCHECK_N_MUTANTS,
               "a patch in lib/zoo for every mutant");
#undef X
extern const char *const bpcheck_zoo_patches[BPCHECK_N_MUTANTS - 1];

int
bpcheck_literal_backprop_mutant(const bpcheck_net *net,
                                const bpcheck_batch *batch,
                                bpcheck_params *nabla, double *C,
                                bpcheck_literal_workspace *w, bpcheck_mutant m)
{
  if (!valid(m))
    return bpcheck_fail(BPCHECK_EINVAL, "no mutant %d", (int)m);
  return zoo_fn[m](net, batch, nabla, C, w);
}

const char *
bpcheck_mutant_patch(bpcheck_mutant m)
{
  return valid(m) && m != BPCHECK_MUTANT_NONE ? bpcheck_zoo_patches[m - 1]
                                              : "";
}

const char *
bpcheck_mutant_name(bpcheck_mutant m)
{
  return valid(m) ? zoo[m].name : "(invalid)";
}

const char *
bpcheck_mutant_equation(bpcheck_mutant m)
{
  return valid(m) ? zoo[m].equation : "";
}

const char *
bpcheck_mutant_about(bpcheck_mutant m)
{
  return valid(m) ? zoo[m].about : "";
}

/* One trial: which checks (checks.c) see the mutant's gradient g as
 * wrong. */
static int
trial(const bpcheck_space *s, bpcheck_mutant m, gsl_rng *rng, int caught[])
{
  size_t n[BPCHECK_MAX_LAYERS + 1], B;
  bpcheck_activation f[BPCHECK_MAX_LAYERS + 1];
  bpcheck_arch arch;
  bpcheck_net *net = NULL;
  bpcheck_batch *batch = NULL;
  bpcheck_params *g = NULL;
  bpcheck_literal_workspace *lw = NULL;
  bpcheck_checks *ck = NULL;
  bpcheck_directional_workspace *dw = NULL;
  bpcheck_report *rep = NULL;
  int status;
  if ((status = bpcheck_space_draw(s, rng, &arch, n, f, &B)) ||
      (status = bpcheck_net_alloc(&net, &arch)) ||
      (status = bpcheck_batch_alloc(&batch, n[0], n[arch.L], B)) ||
      (status = bpcheck_params_alloc(&g, arch.L, n)) ||
      (status = bpcheck_literal_alloc(&lw, net)) ||
      (status = bpcheck_checks_alloc(&ck, net, B)) ||
      (status = bpcheck_directional_alloc(&dw, net, B)) ||
      (status = bpcheck_report_alloc(&rep, arch.L)))
    goto done;
  bpcheck_net_init_random(net, rng);
  bpcheck_batch_init_random(batch, net, rng);
  if ((status = bpcheck_literal_backprop_mutant(net, batch, g, NULL, lw, m)) ||
      (status = bpcheck_checks_prepare(ck, net, batch,
                                       BPCHECK_CHECKS_REFERENCE |
                                           BPCHECK_CHECKS_FDIFF |
                                           BPCHECK_CHECKS_CSTEP)))
    goto done;
  for (int c = BPCHECK_CHECK_MATRIX; c <= BPCHECK_CHECK_CSTEP; c++)
    caught[c] = bpcheck_checks_compare(ck, g, c, 1.0, rep) != 0;
  bpcheck_directional_result dr;
  caught[BPCHECK_CHECK_DIRECTIONAL] =
      bpcheck_directional_check(net, batch, g, 4, rng, dw, &dr) != 0;
  double slope;
  size_t points;
  bpcheck_taylor_slope(net, batch, g, rng, dw, &slope, &points);
  caught[BPCHECK_CHECK_TAYLOR] = !isnan(slope) && slope < 1.5;
  status = BPCHECK_SUCCESS;
done:
  bpcheck_net_free(net);
  bpcheck_batch_free(batch);
  bpcheck_params_free(g);
  bpcheck_literal_free(lw);
  bpcheck_checks_free(ck);
  bpcheck_directional_free(dw);
  bpcheck_report_free(rep);
  return status;
}

int
bpcheck_mutant_hunt(const bpcheck_space *s, bpcheck_mutant m,
                    size_t max_trials, unsigned long seed, bpcheck_hunt *h)
{
  memset(h, 0, sizeof *h);
  if (!valid(m))
    return bpcheck_fail(BPCHECK_EINVAL, "no mutant %d", (int)m);
  gsl_rng *rng;
  int status = bpcheck_space_rng(s, &rng);
  if (status)
    return status;
  for (size_t t = 0; t < max_trials; t++) {
    int caught[BPCHECK_N_CHECKS] = {0}, all = 1;
    gsl_rng_set(rng, seed + t);
    if ((status = trial(s, m, rng, caught)))
      break;
    h->trials = t + 1;
    for (int c = 0; c < BPCHECK_N_CHECKS; c++) {
      if (caught[c] && !h->first_catch[c])
        h->first_catch[c] = t + 1;
      all = all && h->first_catch[c];
    }
    if (all)
      break;
  }
  gsl_rng_free(rng);
  return status;
}
