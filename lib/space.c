/* space.c -- the space of random architectures, and valid draws from it. */

#include <gsl/gsl_rng.h>

#include "internal.h"

#define BIT(x) (1u << (unsigned)(x))
#define ALL(n) (BIT(n) - 1u)

void
bpcheck_space_default(bpcheck_space *s)
{
  s->max_depth = 4;
  s->max_width = 16;
  s->max_batch = 8;
  s->min_width = 1;
  s->same_width = 0;
  s->hidden = ALL(BPCHECK_N_ACTIVATIONS) & ~BIT(BPCHECK_SOFTMAX);
  s->output = ALL(BPCHECK_N_ACTIVATIONS);
  s->costs = ALL(BPCHECK_N_COSTS);
  s->reductions = ALL(BPCHECK_N_REDUCTIONS);
  s->same_hidden = 0;
  s->tolerance_scale = 1.0;
  s->mode = BPCHECK_MODE_FULL;
  s->weight_decay = 0.0;
}

/* The contract's valid pairs: categorical_cross_entropy after softmax only,
 * cross_entropy after an output in (0,1) only. */
static int
valid_pair(bpcheck_activation out, bpcheck_cost c)
{
  if (c == BPCHECK_CATEGORICAL_CROSS_ENTROPY)
    return out == BPCHECK_SOFTMAX;
  if (c == BPCHECK_CROSS_ENTROPY)
    return out == BPCHECK_SIGMOID || out == BPCHECK_SOFTMAX;
  return 1;
}

/* The outputs allowed in s that go with cost c, as a bit set. */
static unsigned
outputs_for(const bpcheck_space *s, bpcheck_cost c)
{
  unsigned set = 0;
  for (int f = 0; f < BPCHECK_N_ACTIVATIONS; f++)
    if ((s->output & BIT(f)) && valid_pair((bpcheck_activation)f, c))
      set |= BIT(f);
  /* Softmax over one output (max_width 1) is the constant 1: only where
   * the cost needs it, and never with cross_entropy (ln(1 - 1)). */
  if (s->max_width < 2 && c != BPCHECK_CATEGORICAL_CROSS_ENTROPY)
    set &= ~BIT(BPCHECK_SOFTMAX);
  return set;
}

/* The costs allowed in s that have at least one valid output. */
static unsigned
drawable_costs(const bpcheck_space *s)
{
  unsigned set = 0;
  for (int c = 0; c < BPCHECK_N_COSTS; c++)
    if ((s->costs & BIT(c)) && outputs_for(s, (bpcheck_cost)c))
      set |= BIT(c);
  return set;
}

int
bpcheck_space_validate(const bpcheck_space *s)
{
  if ((int)s->mode < 0 || s->mode > BPCHECK_MODE_AUTO)
    return bpcheck_fail(BPCHECK_EINVAL, "invalid mode %d", (int)s->mode);
  if (!(s->tolerance_scale >= 0))
    return bpcheck_fail(BPCHECK_EINVAL, "the tolerance scale must be >= 0");
  if (s->max_width < 1 || s->max_batch < 1)
    return bpcheck_fail(BPCHECK_EINVAL,
                        "the maximum width and batch must be at least 1");
  if (s->min_width > s->max_width) /* 0 means 1 */
    return bpcheck_fail(BPCHECK_EINVAL,
                        "the minimum width (%zu) is above the maximum "
                        "width (%zu)",
                        s->min_width, s->max_width);
  if (s->max_depth >= BPCHECK_MAX_LAYERS)
    return bpcheck_fail(BPCHECK_ETOOBIG,
                        "a depth of %zu hidden layers "
                        "exceeds the limit of %d layers",
                        s->max_depth, BPCHECK_MAX_LAYERS);
  if (s->hidden & BIT(BPCHECK_SOFTMAX))
    return bpcheck_fail(BPCHECK_EINVAL,
                        "softmax is only allowed on the output layer");
  if (s->max_depth > 0 && !(s->hidden & ALL(BPCHECK_N_ACTIVATIONS)))
    return bpcheck_fail(BPCHECK_EINVAL, "no activation for hidden layers");
  if (!(s->reductions & ALL(BPCHECK_N_REDUCTIONS)))
    return bpcheck_fail(BPCHECK_EINVAL, "no reduction to draw from");
  if (!drawable_costs(s))
    return bpcheck_fail(BPCHECK_EINVAL,
                        "no valid pair of output activation and cost: "
                        "categorical_cross_entropy needs softmax, "
                        "cross_entropy needs sigmoid or softmax");
  return BPCHECK_SUCCESS;
}

/* A uniform draw from a non-empty bit set. */
static int
draw_bit(gsl_rng *rng, unsigned set)
{
  unsigned count = 0;
  for (unsigned m = set; m; m &= m - 1)
    count++;
  unsigned pick = (unsigned)gsl_rng_uniform_int(rng, count);
  for (int bit = 0;; bit++)
    if ((set & BIT(bit)) && pick-- == 0)
      return bit;
}

/* A uniform draw from lo..hi. */
static size_t
draw_size(gsl_rng *rng, size_t lo, size_t hi)
{
  return lo + (size_t)gsl_rng_uniform_int(rng, hi - lo + 1);
}

int
bpcheck_space_draw(const bpcheck_space *s, gsl_rng *rng, bpcheck_arch *a,
                   size_t *n, bpcheck_activation *f, size_t *B)
{
  int status = bpcheck_space_validate(s);
  if (status)
    return status;
  size_t hidden = draw_size(rng, 0, s->max_depth);
  a->L = hidden + 1;
  a->n = n;
  a->f = f;
  /* The cost first, uniformly among those that can be drawn, so that each
   * is covered as often; then an output that goes with it. */
  a->cost = (bpcheck_cost)draw_bit(rng, drawable_costs(s));
  bpcheck_activation out =
      (bpcheck_activation)draw_bit(rng, outputs_for(s, a->cost));
  a->reduction = (bpcheck_reduction)draw_bit(rng, s->reductions);

  bpcheck_activation shared =
      (bpcheck_activation)(hidden ? draw_bit(rng, s->hidden)
                                  : BPCHECK_SIGMOID);
  f[0] = BPCHECK_IDENTITY; /* unused: a^0 = x */
  for (size_t l = 1; l <= hidden; l++)
    f[l] =
        s->same_hidden ? shared : (bpcheck_activation)draw_bit(rng, s->hidden);
  f[a->L] = out;

  const size_t lo = s->min_width ? s->min_width : 1;
  for (size_t l = 0; l <= a->L; l++)
    n[l] = draw_size(rng, lo, s->max_width);
  /* A softmax over one output is the constant 1: draw at least two. */
  if (out == BPCHECK_SOFTMAX && s->max_width >= 2)
    n[a->L] = draw_size(rng, lo > 2 ? lo : 2, s->max_width);
  /* One width for every hidden layer: the first's. */
  if (s->same_width)
    for (size_t l = 2; l < a->L; l++)
      n[l] = n[1];
  *B = draw_size(rng, 1, s->max_batch);
  return BPCHECK_SUCCESS;
}

int
bpcheck_space_rng(const bpcheck_space *s, gsl_rng **rng)
{
  int status = bpcheck_space_validate(s);
  if (status)
    return status;
  *rng = bpcheck_rng_alloc();
  if (!*rng)
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for a generator");
  return BPCHECK_SUCCESS;
}
