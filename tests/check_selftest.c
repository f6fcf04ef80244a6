/* check_selftest.c -- the randomized cross-check over 1000 architectures
 * from a fixed seed (BPCHECK_SEED picks another), the draws of the space,
 * and the reproduction of a single trial from its seed. */

#include <stdio.h>
#include <string.h>

#include "suites.h"
#include "testutil.h"

/* Prints every failing trial with what reproduces it. */
static int
print_failure(const bpcheck_trial *t, void *data)
{
  (void)data;
  if (t->status != BPCHECK_SUCCESS)
    printf("FAIL trial %zu seed %lu: %s: %s at index %zu: expected %.17g, "
           "got %.17g, tolerance %.3g (status %s: %s)\n"
           "  reproduce: BPCHECK_SEED=%lu, or bpcheck selftest --trials 1 "
           "--seed %lu\n",
           t->trial, t->seed, t->arch, t->failed ? t->failed : "error",
           t->worst.index, t->worst.expected, t->worst.received, t->worst.tol,
           bpcheck_strerror(t->status), bpcheck_errmsg(), t->seed, t->seed);
  return 0;
}

/* 1000 architectures: depth 1..5, widths 1..16, batch 1..8, every
 * activation, cost and reduction the contract allows. */
START_TEST(test_randomized_1000)
{
  bpcheck_space s;
  bpcheck_space_default(&s);
  unsigned long seed = test_seed(1);
  bpcheck_summary sum;
  int status = bpcheck_selftest(&s, 1000, seed, &sum, print_failure, NULL);
  ck_assert_msg(status == BPCHECK_SUCCESS,
                "%zu of 1000 trials failed from seed %lu; first: trial %zu "
                "(seed %lu), printed above",
                sum.failed + sum.errors, seed, sum.first_failure,
                seed + sum.first_failure);
  ck_assert_uint_eq(sum.passed, 1000);
  for (int f = 0; f < BPCHECK_N_ACTIVATIONS; f++)
    ck_assert_msg(sum.act[f] > 50, "%s drawn %zu times",
                  bpcheck_activation_name(f), sum.act[f]);
  for (int c = 0; c < BPCHECK_N_COSTS; c++)
    ck_assert_uint_gt(sum.cost[c], 100);
  for (int r = 0; r < BPCHECK_N_REDUCTIONS; r++)
    ck_assert_uint_gt(sum.reduction[r], 100);
  for (int L = 1; L <= 5; L++)
    ck_assert_uint_gt(sum.depth[L], 100);
  /* dC/da^0 compared too: the two differ by rounding somewhere */
  ck_assert_msg(sum.in_ratio > 0 && sum.in_ratio <= 1,
                "seed %lu: dC/da^0 worst ratio %g", seed, sum.in_ratio);
  ck_assert_msg(sum.in_fd_ratio > 0 && sum.in_fd_ratio <= 1,
                "seed %lu: dC/da^0 vs central differences, worst ratio %g",
                seed, sum.in_fd_ratio);
  printf("selftest seed %lu: literal vs matrix %.3g of its tolerance "
         "(dC/da^0: %.3g), backprop vs central differences %.3g of theirs "
         "(dC/da^0: %.3g), %zu entries at relu kinks\n",
         seed, sum.lm_ratio, sum.in_ratio, sum.fd_ratio, sum.in_fd_ratio,
         sum.kinks);
}
END_TEST

/* The engine's failure path: with the tolerances scaled to 0 no difference
 * is allowed, and the rounding differences of the two backprops fail every
 * trial (a sum in another order differs in the last bits somewhere). */
static int
count_failures(const bpcheck_trial *t, void *data)
{
  if (t->status == BPCHECK_EMISMATCH) {
    ++*(int *)data;
    ck_assert_ptr_nonnull(t->failed);
    ck_assert(t->worst.abserr > 0);
    ck_assert_double_eq(t->worst.tol, 0);
  }
  return 0;
}

START_TEST(test_selftest_can_fail)
{
  bpcheck_space s;
  bpcheck_space_default(&s);
  s.tolerance_scale = 0;
  bpcheck_summary sum;
  int failures = 0;
  ck_assert_int_eq(
      bpcheck_selftest(&s, 20, 9, &sum, count_failures, &failures),
      BPCHECK_EMISMATCH);
  ck_assert_int_gt(failures, 0);
  ck_assert_uint_eq(sum.failed, (size_t)failures);
  ck_assert_uint_eq(sum.passed + sum.failed, 20);
  /* The derived tolerances have room: a quarter of them still passes (the
   * worst over 20000 trials: README, "How the checks decide"). */
  s.tolerance_scale = 0.25;
  ck_assert_ok(bpcheck_selftest(&s, 20, 9, &sum, NULL, NULL));
  /* dC/da^0 (IN.3): where the parameters' gradients of the two backprops
   * agree to the last bit (seed 583 draws 15-2 softmax, batch 1), theirs
   * still differ in rounding and fail at scale 0, the entry named. */
  s.tolerance_scale = 0;
  bpcheck_trial t;
  ck_assert_int_eq(bpcheck_selftest_trial(&s, 583, &t), BPCHECK_EMISMATCH);
  ck_assert_msg(t.failed && strcmp(t.failed, "literal vs matrix dC/da^0") == 0,
                "seed 583 (%s): failed %s", t.arch,
                t.failed ? t.failed : "nothing");
  ck_assert_double_eq(t.lm_ratio, 0);
  ck_assert_uint_eq(t.worst.l, 0);
  ck_assert_uint_lt(t.worst.j, 15);
  ck_assert_uint_eq(t.worst.k, 0);
  ck_assert(t.worst.abserr > 0 && t.worst.tol == 0);
  ck_assert(t.in_ratio > 1);
  /* (IN.5) dC/da^0 against central differences in x: seed 215 (3-1 relu,
   * batch 2) uses 0.020 of that tolerance and at most 0.005 of the others,
   * so at scale 0.01 it alone fails, the entry named. */
  s.tolerance_scale = 0.01;
  ck_assert_int_eq(bpcheck_selftest_trial(&s, 215, &t), BPCHECK_EMISMATCH);
  ck_assert_msg(t.failed && strstr(t.failed, "dC/da^0 vs central differences"),
                "seed 215 (%s): failed %s", t.arch,
                t.failed ? t.failed : "nothing");
  ck_assert(t.in_fd_ratio > 1 && t.fd_ratio <= 1 && t.lm_ratio <= 1);
  ck_assert_uint_eq(t.worst.l, 0);
  ck_assert_uint_lt(t.worst.j, 3);
  ck_assert_uint_lt(t.worst.k, 2);
  ck_assert(t.worst.abserr > t.worst.tol);
  s.tolerance_scale = -1;
  ck_assert_int_eq(bpcheck_space_validate(&s), BPCHECK_EINVAL);
}
END_TEST

/* --mode directional: the directions only; a failing direction falls back
 * to every entry to name it.  --mode auto: full below BPCHECK_AUTO_PARAMS
 * (every default architecture). */
typedef struct {
  size_t named, other; /* failures named by central differences; others */
} failures;

static int
count_causes(const bpcheck_trial *t, void *data)
{
  failures *f = data;
  if (t->status == BPCHECK_EMISMATCH && t->failed)
    strcmp(t->failed,
           "directional check (entry named by central differences)") == 0
        ? f->named++
        : f->other++;
  return 0;
}

START_TEST(test_modes)
{
  bpcheck_space s;
  bpcheck_space_default(&s);
  bpcheck_summary sum;
  s.mode = BPCHECK_MODE_DIRECTIONAL;
  ck_assert_ok(bpcheck_selftest(&s, 50, 1, &sum, NULL, NULL));
  ck_assert_uint_eq(sum.directional_only, 50);
  s.mode = BPCHECK_MODE_AUTO;
  ck_assert_ok(bpcheck_selftest(&s, 20, 1, &sum, NULL, NULL));
  ck_assert_uint_eq(sum.directional_only, 0);
  /* Tolerances 3/1000 of the derived ones: in some trials literal and
   * matrix still agree (which ones depends on the BLAS's order of summation,
   * so no trial is named; 34 of these 200 here) while a direction does not,
   * and central differences over the disagreeing layers name the entry. */
  s.mode = BPCHECK_MODE_DIRECTIONAL;
  s.tolerance_scale = 3e-3;
  failures f = {0, 0};
  ck_assert_int_eq(bpcheck_selftest(&s, 200, 1, &sum, count_causes, &f),
                   BPCHECK_EMISMATCH);
  ck_assert_uint_gt(f.named, 0);
  ck_assert_uint_eq(f.named + f.other, sum.failed);
  s.mode = (bpcheck_mode)7;
  ck_assert_int_eq(bpcheck_space_validate(&s), BPCHECK_EINVAL);
}
END_TEST

/* Trial t of a run is reproduced alone by its seed. */
static int
keep_trial(const bpcheck_trial *t, void *data)
{
  bpcheck_trial *kept = data;
  if (t->trial == 7)
    *kept = *t;
  return 0;
}

START_TEST(test_trial_reproducible)
{
  bpcheck_space s;
  bpcheck_space_default(&s);
  bpcheck_summary sum;
  bpcheck_trial seventh, alone;
  ck_assert_ok(bpcheck_selftest(&s, 10, 500, &sum, keep_trial, &seventh));
  ck_assert_ok(bpcheck_selftest_trial(&s, 507, &alone));
  ck_assert_str_eq(alone.arch, seventh.arch);
  ck_assert(alone.lm_ratio == seventh.lm_ratio);
  ck_assert(alone.fd_ratio == seventh.fd_ratio);
  ck_assert_uint_eq(alone.P, seventh.P);
}
END_TEST

/* Every draw is valid and within the space. */
START_TEST(test_draws_valid)
{
  bpcheck_space s;
  bpcheck_space_default(&s);
  s.max_depth = 3, s.max_width = 5, s.max_batch = 2;
  s.same_hidden = _i;
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  for (int t = 0; t < 2000; t++) {
    size_t n[5], B;
    bpcheck_activation f[5];
    bpcheck_arch a;
    ck_assert_ok(bpcheck_space_draw(&s, rng, &a, n, f, &B));
    ck_assert_ok(bpcheck_arch_validate(&a));
    ck_assert(a.L >= 1 && a.L <= 4 && B >= 1 && B <= 2);
    for (size_t l = 0; l <= a.L; l++)
      ck_assert(n[l] >= 1 && n[l] <= 5);
    if (f[a.L] == BPCHECK_SOFTMAX)
      ck_assert_uint_ge(n[a.L], 2);
    for (size_t l = 2; s.same_hidden && l < a.L; l++)
      ck_assert_int_eq(f[l], f[1]);
  }
  gsl_rng_free(rng);
}
END_TEST

/* A narrowed space draws only from what it allows. */
START_TEST(test_narrowed_space)
{
  bpcheck_space s;
  bpcheck_space_default(&s);
  s.costs = 1u << BPCHECK_CROSS_ENTROPY;
  s.hidden = 1u << BPCHECK_RELU;
  s.reductions = 1u << BPCHECK_SUM;
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  for (int t = 0; t < 500; t++) {
    size_t n[6], B;
    bpcheck_activation f[6];
    bpcheck_arch a;
    ck_assert_ok(bpcheck_space_draw(&s, rng, &a, n, f, &B));
    ck_assert_int_eq(a.cost, BPCHECK_CROSS_ENTROPY);
    ck_assert_int_eq(a.reduction, BPCHECK_SUM);
    ck_assert(f[a.L] == BPCHECK_SIGMOID || f[a.L] == BPCHECK_SOFTMAX);
    for (size_t l = 1; l < a.L; l++)
      ck_assert_int_eq(f[l], BPCHECK_RELU);
  }
  gsl_rng_free(rng);
}
END_TEST

/* --min-width and --same-width: every layer at least min_width nodes,
 * every hidden layer of a network one width; the default draws are those
 * of before (min_width 1). */
START_TEST(test_space_widths)
{
  bpcheck_space s;
  bpcheck_space_default(&s);
  s.min_width = 3;
  s.max_width = 6;
  s.same_width = 1;
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  size_t deep = 0;
  for (int t = 0; t < 500; t++) {
    size_t n[6], B;
    bpcheck_activation f[6];
    bpcheck_arch a;
    ck_assert_ok(bpcheck_space_draw(&s, rng, &a, n, f, &B));
    ck_assert_ok(bpcheck_arch_validate(&a));
    for (size_t l = 0; l <= a.L; l++)
      ck_assert(n[l] >= 3 && n[l] <= 6);
    for (size_t l = 2; l < a.L; l++)
      ck_assert_uint_eq(n[l], n[1]);
    deep += a.L >= 3;
  }
  ck_assert_uint_gt(deep, 0);
  /* The default space draws as it did without the new fields. */
  bpcheck_space d;
  bpcheck_space_default(&d);
  ck_assert_uint_eq(d.min_width, 1);
  ck_assert_int_eq(d.same_width, 0);
  s = d, s.min_width = 7, s.max_width = 6;
  ck_assert_int_eq(bpcheck_space_validate(&s), BPCHECK_EINVAL);
  s = d, s.min_width = 0; /* 0 means 1 */
  ck_assert_ok(bpcheck_space_validate(&s));
  gsl_rng_free(rng);
}
END_TEST

START_TEST(test_space_errors)
{
  bpcheck_space s, d;
  bpcheck_space_default(&d);
  s = d, s.hidden |= 1u << BPCHECK_SOFTMAX;
  ck_assert_int_eq(bpcheck_space_validate(&s), BPCHECK_EINVAL);
  s = d, s.hidden = 0;
  ck_assert_int_eq(bpcheck_space_validate(&s), BPCHECK_EINVAL);
  s.max_depth = 0; /* no hidden layers: no hidden activation needed */
  ck_assert_ok(bpcheck_space_validate(&s));
  s = d, s.max_width = 0;
  ck_assert_int_eq(bpcheck_space_validate(&s), BPCHECK_EINVAL);
  s = d, s.max_depth = BPCHECK_MAX_LAYERS;
  ck_assert_int_eq(bpcheck_space_validate(&s), BPCHECK_ETOOBIG);
  s = d, s.reductions = 0;
  ck_assert_int_eq(bpcheck_space_validate(&s), BPCHECK_EINVAL);
  s = d, s.costs = 1u << BPCHECK_CATEGORICAL_CROSS_ENTROPY;
  s.output = 1u << BPCHECK_SIGMOID;
  ck_assert_int_eq(bpcheck_space_validate(&s), BPCHECK_EINVAL);
  ck_assert_ptr_nonnull(strstr(bpcheck_errmsg(), "no valid pair"));
  bpcheck_summary sum;
  ck_assert_int_eq(bpcheck_selftest(&s, 3, 1, &sum, NULL, NULL),
                   BPCHECK_EINVAL);
  ck_assert_uint_eq(sum.trials, 0);
  gsl_guard_check();
}
END_TEST

/* A trial that cannot allocate its network is an error, counted apart
 * from mismatches, and the run returns its status.  Widths up to 2^20 give
 * up to 2^40 parameters; seed 3 draws 2^31 or more in its first trial (and
 * the callback stops the run there, before a large but valid draw could
 * take memory). */
static int
stop_after_one(const bpcheck_trial *t, void *data)
{
  (void)t, (void)data;
  return 1;
}

START_TEST(test_trial_errors)
{
  bpcheck_space s;
  bpcheck_space_default(&s);
  s.max_depth = 0, s.max_width = 1u << 20;
  bpcheck_summary sum;
  int status = bpcheck_selftest(&s, 20, 3, &sum, stop_after_one, NULL);
  ck_assert_int_eq(status, BPCHECK_ETOOBIG);
  ck_assert_uint_eq(sum.trials, 1);
  ck_assert_uint_eq(sum.errors, 1);
  ck_assert_uint_eq(sum.failed, 0);
  ck_assert_uint_eq(sum.first_failure, 0);
  gsl_guard_check();
}
END_TEST

Suite *
make_selftest_suite(void)
{
  Suite *s = suite_create("selftest");
  TCase *core = tcase_create("Core");
  tcase_set_timeout(core, TEST_TIMEOUT);
  tcase_add_test(core, test_randomized_1000);
  tcase_add_test(core, test_trial_reproducible);
  tcase_add_test(core, test_selftest_can_fail);
  tcase_add_test(core, test_modes);
  tcase_add_loop_test(core, test_draws_valid, 0, 2);
  tcase_add_test(core, test_narrowed_space);
  tcase_add_test(core, test_space_widths);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("Errors");
  tcase_set_timeout(errors, TEST_TIMEOUT);
  tcase_add_checked_fixture(errors, gsl_guard_setup, gsl_guard_teardown);
  tcase_add_test(errors, test_space_errors);
  tcase_add_test(errors, test_trial_errors);
  suite_add_tcase(s, errors);
  return s;
}
