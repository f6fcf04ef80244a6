/* check_decay.c -- weight decay (WD.1)-(WD.7) and the input gradient
 * (IN.1)-(IN.3), proofs/10-weight-decay.md: both backprops, the oracles,
 * the bounds, the diagnoses of the classic decay bugs, case files and
 * answers.  Randomized tests use fixed seeds (BPCHECK_SEED overrides) and
 * print the seed and the architecture on failure. */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "testutil.h"

#define LAMBDA 0.3

static const size_t n3[] = {3, 4, 2};
static const bpcheck_activation tanh_sig[] = {[1] = BPCHECK_TANH,
                                              BPCHECK_SIGMOID};

/* A 3-4-2 tanh, sigmoid network, batch B, with lambda. */
static void
decay_fixture(fixture *x, bpcheck_reduction red, size_t B, double lambda,
              unsigned long seed)
{
  fixture_init(x, 2, n3, tanh_sig, BPCHECK_QUADRATIC, red, B, seed);
  x->net->weight_decay = lambda;
}

/* Random architectures for the cross-checks, each described on failure. */
static void
random_fixture(fixture *x, unsigned long seed, char *desc, size_t len)
{
  bpcheck_space s;
  bpcheck_space_default(&s);
  s.max_depth = 2, s.max_width = 6, s.max_batch = 4;
  s.weight_decay = LAMBDA;
  size_t n[4], B;
  bpcheck_activation f[4]; /* f[1..max_depth + 1] */
  bpcheck_arch arch;
  gsl_rng *rng = bpcheck_rng_alloc();
  ck_assert_ptr_nonnull(rng);
  gsl_rng_set(rng, seed);
  ck_assert_ok(bpcheck_space_draw(&s, rng, &arch, n, f, &B));
  gsl_rng_free(rng);
  fixture_init(x, arch.L, arch.n, arch.f, arch.cost, arch.reduction, B, seed);
  x->net->weight_decay = LAMBDA;
  char d[200];
  bpcheck_net_describe(x->net, d, sizeof d);
  snprintf(desc, len, "seed %lu: %s batch %zu", seed, d, B);
}

/* (WD.1) the cost and (WD.2), (WD.3) the gradient, against the network
 * without decay: the weights gain lambda W, the biases nothing. */
START_TEST(test_decay_terms)
{
  fixture x;
  decay_fixture(&x, BPCHECK_MEAN, 3, 0.0, test_seed(31));
  double C0, C1, C2;
  ck_assert_ok(bpcheck_matrix_backprop(x.net, x.batch, x.mat, &C0, x.mw));
  x.net->weight_decay = LAMBDA;
  ck_assert_ok(bpcheck_matrix_backprop(x.net, x.batch, x.lit, &C1, x.mw));
  ck_assert_ok(bpcheck_matrix_cost(x.net, x.batch, &C2, x.mw));
  double sq = 0.0;
  for (size_t l = 1; l <= 2; l++)
    for (size_t i = 0; i < x.net->n[l] * x.net->n[l - 1]; i++)
      sq += x.net->theta->W[l].data[i] * x.net->theta->W[l].data[i];
  ck_assert_ulps(C1, C0 + 0.5 * LAMBDA * sq, 8);
  ck_assert_ulps(C2, C1, 8);
  for (size_t l = 1; l <= 2; l++) {
    for (size_t i = 0; i < x.net->n[l] * x.net->n[l - 1]; i++)
      ck_assert_ulps(x.lit->W[l].data[i],
                     x.mat->W[l].data[i] + LAMBDA * x.net->theta->W[l].data[i],
                     8);
    for (size_t k = 0; k < x.net->n[l]; k++) /* (WD.2) not decayed */
      ck_assert_double_eq(x.lit->b[l].data[k], x.mat->b[l].data[k]);
  }
  fixture_free(&x);
}
END_TEST

/* The literal and the matrix backprop, and central differences, agree
 * with the decay on random architectures; so do the fast check and the
 * complex step, through the checks of lib/checks.c. */
START_TEST(test_decay_oracles)
{
  const unsigned long seed0 = test_seed(4100);
  for (unsigned long t = 0; t < 40; t++) {
    fixture x;
    char desc[256];
    random_fixture(&x, seed0 + t, desc, sizeof desc);
    fixture_gradients(&x);
    bpcheck_tolerance tol = {0, 0, 0, x.tol, NULL, 0, 0};
    ck_assert_msg(bpcheck_compare(x.mat, x.lit, &tol, x.report) == 0,
                  "%s: literal vs matrix, worst ratio %g", desc,
                  x.report->max_ratio);
    bpcheck_checks *c;
    ck_assert_ok(bpcheck_checks_alloc(&c, x.net, x.batch->B));
    ck_assert_ok(bpcheck_checks_prepare(c, x.net, x.batch,
                                        BPCHECK_CHECKS_REFERENCE |
                                            BPCHECK_CHECKS_FDIFF |
                                            BPCHECK_CHECKS_CSTEP));
    for (int check = BPCHECK_CHECK_MATRIX; check <= BPCHECK_CHECK_CSTEP;
         check++)
      ck_assert_msg(
          bpcheck_checks_compare(c, x.lit, check, 1.0, x.report) == 0,
          "%s: check %d, worst ratio %g", desc, check, x.report->max_ratio);
    /* and each catches the decay missing */
    x.net->weight_decay = 0.0;
    ck_assert_ok(bpcheck_matrix_backprop(x.net, x.batch, x.mat, NULL, x.mw));
    for (int check = BPCHECK_CHECK_MATRIX; check <= BPCHECK_CHECK_CSTEP;
         check++)
      ck_assert_msg(bpcheck_checks_compare(c, x.mat, check, 1.0, x.report) ==
                        BPCHECK_EMISMATCH,
                    "%s: check %d accepts the decay missing", desc, check);
    x.net->weight_decay = LAMBDA;
    /* the directional check: the right gradient passes, the one without
     * decay fails */
    bpcheck_directional_workspace *dw;
    bpcheck_directional_result res;
    ck_assert_ok(bpcheck_directional_alloc(&dw, x.net, x.batch->B));
    ck_assert_msg(bpcheck_directional_check(x.net, x.batch, x.lit, 4, x.rng,
                                            dw, &res) == 0,
                  "%s: directional, ratio %g", desc, res.max_ratio);
    ck_assert_msg(bpcheck_directional_check(x.net, x.batch, x.mat, 4, x.rng,
                                            dw, &res) == BPCHECK_EMISMATCH,
                  "%s: directional accepts the decay missing", desc);
    bpcheck_directional_free(dw);
    bpcheck_checks_free(c);
    fixture_free(&x);
  }
}
END_TEST

/* (WD.6) the bound covers the decay's rounding: a large lambda, where
 * lambda W dominates, still has literal and matrix within it and the
 * complex step within (CD.10). */
START_TEST(test_decay_large_lambda)
{
  fixture x;
  decay_fixture(&x, BPCHECK_SUM, 5, 1e6, test_seed(37));
  fixture_gradients(&x);
  bpcheck_tolerance tol = {0, 0, 0, x.tol, NULL, 0, 0};
  ck_assert_ok(bpcheck_compare(x.mat, x.lit, &tol, x.report));
  bpcheck_checks *c;
  ck_assert_ok(bpcheck_checks_alloc(&c, x.net, 5));
  ck_assert_ok(bpcheck_checks_prepare(
      c, x.net, x.batch,
      BPCHECK_CHECKS_REFERENCE | BPCHECK_CHECKS_FDIFF | BPCHECK_CHECKS_CSTEP));
  for (int check = BPCHECK_CHECK_MATRIX; check <= BPCHECK_CHECK_CSTEP; check++)
    ck_assert_msg(bpcheck_checks_compare(c, x.lit, check, 1.0, x.report) == 0,
                  "check %d, ratio %g", check, x.report->max_ratio);
  bpcheck_checks_free(c);
  fixture_free(&x);
}
END_TEST

/* The candidate with c_W lambda W on the weights and c_b lambda b on the
 * biases, in place of (WD.3). */
static void
planted(const fixture *x, const bpcheck_params *r, double cW, double cb,
        bpcheck_params *g)
{
  const double lambda = x->net->weight_decay;
  for (size_t i = 0; i < r->size; i++) {
    size_t l, k, j;
    int is_bias;
    bpcheck_params_entry(r, i, &l, &is_bias, &k, &j);
    const double th = x->net->theta->data[i];
    g->data[i] = is_bias ? r->data[i] + cb * lambda * th
                         : r->data[i] + (cW - 1.0) * lambda * th;
  }
}

/* Each classic decay bug fails and is diagnosed as such, with its factor;
 * the right gradient passes. */
START_TEST(test_decay_diagnoses)
{
  const size_t B = 4;
  const double r = 1.0 / (double)B;
  const struct {
    bpcheck_reduction red;
    double cW, cb;
    const char *says;
  } bugs[] = {{BPCHECK_MEAN, 0, 0, "missing"},
              {BPCHECK_MEAN, 1, 1, "biases are decayed"},
              {BPCHECK_MEAN, r, 0, "divided as the data term"},
              {BPCHECK_MEAN, r, r, "and lambda divided"},
              {BPCHECK_SUM, (double)B, 0, "for every sample"},
              {BPCHECK_MEAN, 2, 0, "2 lambda W"},
              {BPCHECK_MEAN, 0.5, 0, "lambda/2 W"},
              {BPCHECK_MEAN, 3.5, 0, "3.5 lambda W"}};
  for (size_t b = 0; b < sizeof bugs / sizeof *bugs; b++) {
    fixture x;
    decay_fixture(&x, bugs[b].red, B, LAMBDA, test_seed(53) + b);
    ck_assert_ok(bpcheck_matrix_backprop(x.net, x.batch, x.mat, NULL, x.mw));
    bpcheck_tolerance tol = {0, 0, 0, NULL, NULL, 1, 0}, t;
    bpcheck_params *abs = NULL, *alt = NULL;
    ck_assert_ok(
        bpcheck_tolerance_apply(x.net, x.batch, x.mat, &tol, &t, &abs, &alt));
    ck_assert_ok(bpcheck_compare(x.mat, x.mat, &t, x.report));
    planted(&x, x.mat, bugs[b].cW, bugs[b].cb, x.lit);
    ck_assert_int_eq(bpcheck_compare(x.mat, x.lit, &t, x.report),
                     BPCHECK_EMISMATCH);
    bpcheck_diagnosis d;
    ck_assert_ok(bpcheck_diagnose(x.net, x.batch, x.mat, x.lit, &t, &d));
    ck_assert_msg(d.bug == BPCHECK_BUG_DECAY && strstr(d.text, bugs[b].says),
                  "bug %zu (c_W %g, c_b %g): diagnosed %s: %s", b, bugs[b].cW,
                  bugs[b].cb, bpcheck_bug_name(d.bug), d.text);
    ck_assert_double_eq_tol(d.factor, bugs[b].cW, 1e-9);
    ck_assert_str_eq(bpcheck_bug_name(d.bug), "weight_decay");
    /* without decay the same pattern is not a decay bug */
    x.net->weight_decay = 0.0;
    ck_assert_ok(bpcheck_diagnose(x.net, x.batch, x.mat, x.lit, &t, &d));
    ck_assert_int_ne(d.bug, BPCHECK_BUG_DECAY);
    bpcheck_params_free(abs);
    bpcheck_params_free(alt);
    fixture_free(&x);
  }
}
END_TEST

/* Candidates for bpcheck_validate with weight decay (WD.8). */
typedef enum {
  DATA_SUMMED,       /* the data term summed where the mean is asked (B r),
                        the decay right */
  DATA_SUMMED_DECAY, /* the same, and {"skip"} without decay */
  LAST_UNDECAYED,    /* the decay missing in the last layer when L > 1 */
  L1_DECAY           /* lambda sign(W) for lambda W (an L1 decay) */
} decay_candidate_kind;

static int
decay_candidate(const bpcheck_case *c, bpcheck_params *g, void *data)
{
  const decay_candidate_kind kind = *(const decay_candidate_kind *)data;
  const bpcheck_net *net = c->net;
  const double lambda = net->weight_decay;
  if (kind == DATA_SUMMED_DECAY && lambda == 0)
    return bpcheck_fail(BPCHECK_ESKIP, "no decay: not supported");
  bpcheck_matrix_workspace *w;
  ck_assert_ok(bpcheck_matrix_alloc(&w, net, c->batch->B));
  ck_assert_ok(bpcheck_matrix_backprop(net, c->batch, g, NULL, w));
  bpcheck_matrix_free(w);
  for (size_t i = 0; i < g->size; i++) {
    size_t l, k, j;
    int is_bias;
    bpcheck_params_entry(g, i, &l, &is_bias, &k, &j);
    const double D = is_bias ? 0.0 : lambda * net->theta->data[i];
    if (kind != LAST_UNDECAYED && net->reduction == BPCHECK_MEAN)
      g->data[i] = (double)c->batch->B * (g->data[i] - D) + D;
    else if (kind == LAST_UNDECAYED && net->L > 1 && l == net->L)
      g->data[i] -= D;
    else if (kind == L1_DECAY && !is_bias) {
      const double th = net->theta->data[i];
      g->data[i] += lambda * (double)((th > 0) - (th < 0)) - D;
    }
  }
  return BPCHECK_SUCCESS;
}

/* A failure that persists without the decay is shrunk to lambda = 0 and
 * diagnosed there; one that needs the decay keeps it, and the experiments
 * judge the batch by the data terms (WD.8): a sum where the mean is asked
 * still doubles with the batch; a bug in the decay's term is shown to be
 * there (it passes without it) and not in the batch reduction. */
START_TEST(test_decay_validate)
{
  bpcheck_space s;
  bpcheck_space_default(&s);
  s.costs = 1u << BPCHECK_QUADRATIC;
  s.reductions = 1u << BPCHECK_MEAN;
  s.weight_decay = LAMBDA;
  s.min_width = 2, s.max_batch = 4;
  const bpcheck_tolerance tol = {0, 0, 0, NULL, NULL, 1, 0};
  const unsigned long seed = test_seed(71);
  bpcheck_validation v;
  char arch[256];

  decay_candidate_kind kind = DATA_SUMMED;
  ck_assert_int_eq(
      bpcheck_validate(&s, 20, seed, &tol, decay_candidate, &kind, NULL, &v),
      BPCHECK_EMISMATCH);
  bpcheck_net_describe(v.failure->net, arch, sizeof arch);
  ck_assert_msg(v.failure->net->weight_decay == 0,
                "seed %lu: the decay kept in the shrunk %s", seed, arch);
  ck_assert_msg(v.likely.bug == BPCHECK_BUG_FACTOR &&
                    strstr(v.likely.text, "summed where the cost takes"),
                "seed %lu: %s batch %zu: %s", seed, arch, v.failure->batch->B,
                v.likely.text);
  /* the original, with the decay, is diagnosed by its data term */
  ck_assert_msg(v.original->net->weight_decay == LAMBDA &&
                    v.original_diagnosis.bug == BPCHECK_BUG_FACTOR &&
                    strstr(v.original_diagnosis.text, "the data term"),
                "seed %lu: the original: %s", seed, v.original_diagnosis.text);
  bpcheck_validation_free(&v);

  kind = DATA_SUMMED_DECAY;
  ck_assert_int_eq(
      bpcheck_validate(&s, 20, seed, &tol, decay_candidate, &kind, NULL, &v),
      BPCHECK_EMISMATCH);
  bpcheck_net_describe(v.failure->net, arch, sizeof arch);
  ck_assert_msg(
      v.failure->net->weight_decay == LAMBDA && v.failure->batch->B >= 2,
      "seed %lu: shrunk to %s batch %zu", seed, arch, v.failure->batch->B);
  ck_assert_msg(v.n_experiments >= 2, "seed %lu: %s: %zu experiments", seed,
                arch, v.n_experiments);
  ck_assert_int_eq(v.experiments[0].status, BPCHECK_ESKIP);
  ck_assert_msg(strstr(v.experiments[1].showed, "doubled with the batch"),
                "seed %lu: %s: %s", seed, arch, v.experiments[1].showed);
  bpcheck_validation_free(&v);

  /* The decay missing in one layer: named, with the layer (or missing,
   * where the shrunk case's other layers have W = 0). */
  kind = LAST_UNDECAYED;
  s.reductions = 1u << BPCHECK_SUM;
  s.max_depth = 2;
  s.hidden = 1u << BPCHECK_TANH;
  ck_assert_int_eq(
      bpcheck_validate(&s, 20, seed, &tol, decay_candidate, &kind, NULL, &v),
      BPCHECK_EMISMATCH);
  bpcheck_net_describe(v.failure->net, arch, sizeof arch);
  ck_assert_msg(v.failure->net->weight_decay == LAMBDA &&
                    v.likely.bug == BPCHECK_BUG_DECAY &&
                    (!strstr(v.likely.text, "in some layers only") ||
                     v.likely.layer == v.failure->net->L),
                "seed %lu: %s: %s", seed, arch, v.likely.text);
  bpcheck_validation_free(&v);

  /* lambda sign(W): a decay bug in the shrunk case (one weight a layer),
   * nothing known in the original: the experiments place it in the decay's
   * term, unchanged by the batch and the inputs. */
  kind = L1_DECAY;
  ck_assert_int_eq(
      bpcheck_validate(&s, 20, seed, &tol, decay_candidate, &kind, NULL, &v),
      BPCHECK_EMISMATCH);
  bpcheck_net_describe(v.failure->net, arch, sizeof arch);
  ck_assert_msg(v.failure->net->weight_decay == LAMBDA &&
                    v.likely.bug == BPCHECK_BUG_DECAY,
                "seed %lu: %s: %s", seed, arch, v.likely.text);
  ck_assert_msg(v.n_experiments >= 3, "seed %lu: %s: %zu experiments", seed,
                arch, v.n_experiments);
  ck_assert_int_eq(v.experiments[0].status, BPCHECK_SUCCESS);
  ck_assert_msg(strstr(v.experiments[0].showed, "in the weight decay's term"),
                "seed %lu: %s: %s", seed, arch, v.experiments[0].showed);
  for (size_t i = 1; i < 3; i++) {
    ck_assert_msg(strstr(v.experiments[i].showed, "the same error"),
                  "seed %lu: %s: experiment %zu: %s", seed, arch, i,
                  v.experiments[i].showed);
    ck_assert_msg(!strstr(v.experiments[i].showed, "sums over the batch") &&
                      !strstr(v.experiments[i].showed, "derivative"),
                  "seed %lu: %s: %s", seed, arch, v.experiments[i].showed);
  }
  bpcheck_validation_free(&v);
}
END_TEST

/* (IN.1) the literal and the matrix input gradient agree within twice the
 * bound (IN.2), and with central differences of the cost in x (IN.5); the
 * decay does not enter them. */
START_TEST(test_inputs_oracles)
{
  const unsigned long seed0 = test_seed(4200);
  for (unsigned long t = 0; t < 40; t++) {
    fixture x;
    char desc[256];
    random_fixture(&x, seed0 + t, desc, sizeof desc);
    const size_t n0 = x.net->n[0], B = x.batch->B;
    gsl_matrix *dl = gsl_matrix_alloc(n0, B), *dm = gsl_matrix_alloc(n0, B);
    gsl_matrix *e = gsl_matrix_alloc(n0, B), *tol = gsl_matrix_alloc(n0, B);
    gsl_matrix *alt = gsl_matrix_alloc(n0, B), *d0 = gsl_matrix_alloc(n0, B);
    gsl_matrix *fd = gsl_matrix_alloc(n0, B);
    ck_assert_ok(
        bpcheck_literal_input_gradient(x.net, x.batch, x.lit, dl, x.lw));
    ck_assert_ok(
        bpcheck_matrix_input_gradient(x.net, x.batch, x.mat, dm, x.mw));
    ck_assert_ok(bpcheck_bound_input_gradient_at(
        x.net, x.batch, BPCHECK_PRECISION_DOUBLE, e, x.bw));
    for (size_t i = 0; i < n0 * B; i++)
      ck_assert_msg(fabs(dl->data[i] - dm->data[i]) <= 2 * e->data[i] + 1e-300,
                    "%s: literal %.17g vs matrix %.17g, bound %g", desc,
                    dl->data[i], dm->data[i], e->data[i]);
    /* the parameters' gradients of both equal their backprops' */
    bpcheck_tolerance pt = {0, 0, 0, NULL, NULL, 0, 0};
    ck_assert_ok(bpcheck_literal_backprop(x.net, x.batch, x.fd, NULL, x.lw));
    ck_assert_ok(bpcheck_compare(x.fd, x.lit, &pt, x.report));
    /* the decay does not enter dC/da^0 */
    x.net->weight_decay = 0.0;
    ck_assert_ok(
        bpcheck_matrix_input_gradient(x.net, x.batch, x.mat, d0, x.mw));
    ck_assert(gsl_matrix_equal(d0, dm));
    x.net->weight_decay = LAMBDA;
    /* (IN.5) against central differences in x (IN.4), K E + (IN.3) */
    int have_alt;
    ck_assert_ok(bpcheck_tolerance_derive_inputs(
        x.net, x.batch, BPCHECK_PRECISION_DOUBLE, d0, tol, alt, &have_alt));
    bpcheck_fdiff_inputs_workspace *iw;
    ck_assert_ok(bpcheck_fdiff_inputs_alloc(&iw, x.net, B));
    ck_assert_ok(bpcheck_fdiff_inputs(x.net, x.batch, fd, e, iw));
    bpcheck_fdiff_inputs_free(iw);
    for (size_t i = 0; i < n0 * B; i++) /* a kink's +inf stays */
      e->data[i] = BPCHECK_FD_SAFETY * e->data[i] + tol->data[i];
    bpcheck_input_report ir;
    ck_assert_msg(
        bpcheck_compare_inputs(fd, NULL, dm, e, 0, 0, &ir) == BPCHECK_SUCCESS,
        "%s: dC/da^0 of sample %zu, input %zu: %.17g, central differences "
        "%.17g, tolerance %g",
        desc, ir.worst_s, ir.worst_j, ir.received, ir.expected, ir.tol);
    /* (IN.3): the right one passes, one wrong entry fails, named */
    ck_assert_ok(
        bpcheck_compare_inputs(d0, have_alt ? alt : NULL, dl, tol, 0, 0, &ir));
    ck_assert_int_eq(ir.n_checked, n0 * B);
    const size_t wj = n0 - 1, ws = B - 1;
    gsl_matrix_set(dl, wj, ws, gsl_matrix_get(dl, wj, ws) + 1e-6);
    ck_assert_int_eq(bpcheck_compare_inputs(d0, NULL, dl, tol, 0, 0, &ir),
                     BPCHECK_EMISMATCH);
    ck_assert_int_eq(ir.n_fail, 1);
    ck_assert_uint_eq(ir.worst_s, ws);
    ck_assert_uint_eq(ir.worst_j, wj);
    ck_assert_uint_eq(ir.first_s, ws);
    ck_assert_uint_eq(ir.first_j, wj);
    gsl_matrix_free(dl), gsl_matrix_free(dm), gsl_matrix_free(e);
    gsl_matrix_free(tol), gsl_matrix_free(alt), gsl_matrix_free(d0);
    gsl_matrix_free(fd);
    fixture_free(&x);
  }
}
END_TEST

/* The case file: "weight_decay", "gradients.inputs", and their dump. */
START_TEST(test_case_fields)
{
  const char *text =
      "{\"bpcheck\":1,\"layers\":[2,1],\"weights\":[[[0.5,-1]]],"
      "\"biases\":[[0.25]],\"inputs\":[[1,2],[3,4],[5,6]],"
      "\"targets\":[[0.1],[0.2],[0.3]],\"weight_decay\":0.125,"
      "\"gradients\":{\"weights\":[[[1,2]]],\"biases\":[[3]],"
      "\"inputs\":[[1,2],[3,4],[5,6]]}}";
  bpcheck_case *c;
  ck_assert_ok(bpcheck_case_parse(text, strlen(text), "t.json", 1000, &c));
  ck_assert_double_eq(c->net->weight_decay, 0.125);
  ck_assert_ptr_nonnull(c->dx);
  ck_assert_uint_eq(c->dx->size1, 2);
  ck_assert_uint_eq(c->dx->size2, 3);
  ck_assert_double_eq(gsl_matrix_get(c->dx, 1, 2), 6.0); /* input 1, s 2 */
  char *dump = bpcheck_case_dump(c, 1);
  ck_assert_ptr_nonnull(dump);
  ck_assert_ptr_nonnull(strstr(dump, "\"weight_decay\":0.125"));
  bpcheck_case *d;
  ck_assert_ok(bpcheck_case_parse(dump, strlen(dump), "dump", 1000, &d));
  ck_assert_double_eq(d->net->weight_decay, 0.125);
  ck_assert(gsl_matrix_equal(c->dx, d->dx));
  bpcheck_case_dump_free(dump);
  bpcheck_case_free(d);
  /* the answer of the protocol, with and without "inputs" */
  gsl_matrix *dx = gsl_matrix_alloc(2, 3);
  int have;
  char err[64];
  const char *a1 = "{\"weights\":[[[1,2]]],\"biases\":[[3]],"
                   "\"inputs\":[[1,2],[3,4],[5,6]]}";
  ck_assert_ok(bpcheck_answer_parse_inputs(a1, strlen(a1), c->grad, dx, &have,
                                           err, sizeof err));
  ck_assert_int_eq(have, 1);
  ck_assert_double_eq(gsl_matrix_get(dx, 0, 1), 3.0);
  const char *a2 = "{\"weights\":[[[1,2]]],\"biases\":[[3]]}";
  ck_assert_ok(bpcheck_answer_parse_inputs(a2, strlen(a2), c->grad, dx, &have,
                                           err, sizeof err));
  ck_assert_int_eq(have, 0);
  gsl_matrix_free(dx);
  bpcheck_case_free(c);
}
END_TEST

/* Errors name the file and the field. */
START_TEST(test_case_errors)
{
  const char *head =
      "{\"bpcheck\":1,\"layers\":[2,1],\"weights\":[[[0.5,-1]]],"
      "\"biases\":[[0.25]],\"inputs\":[[1,2],[3,4],[5,6]],"
      "\"targets\":[[0.1],[0.2],[0.3]]";
  const struct {
    const char *tail, *says;
    int status;
  } bad[] = {
      {",\"weight_decay\":-1}", "f.json: field 'weight_decay': -1 is negative",
       BPCHECK_EDOM},
      {",\"weight_decay\":\"big\"}",
       "f.json: field 'weight_decay': expected a number", BPCHECK_EINVAL},
      {",\"weight_decay\":1e999}", "f.json:1:", BPCHECK_EINVAL},
      {",\"gradients\":{\"weights\":[[[1,2]]],\"biases\":[[3]],"
       "\"inputs\":[[1,3,5],[2,4,6]]}}",
       "field 'gradients.inputs': expected 3 rows (one per sample) of 2 "
       "numbers, got 2 rows of 3: transposed?",
       BPCHECK_EBADLEN},
      {",\"gradients\":{\"weights\":[[[1,2]]],\"biases\":[[3]],"
       "\"inputs\":[[1,2],[3,4],[5]]}}",
       "field 'gradients.inputs[2]': expected 2 numbers, got 1",
       BPCHECK_EBADLEN},
      {",\"gradients\":{\"weights\":[[[1,2]]],\"biases\":[[3]],"
       "\"inputs\":[[1,2],[3,4],[5,\"x\"]]}}",
       "field 'gradients.inputs[2][1]': expected a number", BPCHECK_EINVAL}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char text[512];
    snprintf(text, sizeof text, "%s%s", head, bad[i].tail);
    bpcheck_case *c = NULL;
    int status = bpcheck_case_parse(text, strlen(text), "f.json", 1000, &c);
    ck_assert_msg(
        status == bad[i].status && strstr(bpcheck_errmsg(), bad[i].says),
        "case %zu: %s: %s", i, bpcheck_strerror(status), bpcheck_errmsg());
    ck_assert_ptr_null(c);
  }
  /* an answer's "inputs" transposed, and refused where not asked for */
  bpcheck_params *g;
  const size_t n[] = {2, 1};
  ck_assert_ok(bpcheck_params_alloc(&g, 1, n));
  gsl_matrix *dx = gsl_matrix_alloc(2, 3);
  char err[64];
  int have = 1;
  const char *a = "{\"weights\":[[[1,2]]],\"biases\":[[3]],"
                  "\"inputs\":[[1,3,5],[2,4,6]]}";
  ck_assert_int_eq(
      bpcheck_answer_parse_inputs(a, strlen(a), g, dx, &have, err, sizeof err),
      BPCHECK_EBADLEN);
  ck_assert_ptr_nonnull(strstr(bpcheck_errmsg(), "transposed?"));
  ck_assert_int_eq(have, 0);
  ck_assert_int_eq(bpcheck_answer_parse(a, strlen(a), g, err, sizeof err),
                   BPCHECK_EINVAL);
  ck_assert_ptr_nonnull(strstr(bpcheck_errmsg(), "unknown key 'inputs'"));
  gsl_matrix_free(dx);
  bpcheck_params_free(g);
  gsl_guard_check();
}
END_TEST

/* Shapes of the input-gradient functions. */
START_TEST(test_inputs_shapes)
{
  fixture x;
  decay_fixture(&x, BPCHECK_MEAN, 2, LAMBDA, 61);
  gsl_matrix *wrong = gsl_matrix_alloc(2, 3), *ok = gsl_matrix_alloc(3, 2);
  bpcheck_input_report ir;
  ck_assert_int_eq(
      bpcheck_matrix_input_gradient(x.net, x.batch, x.mat, wrong, x.mw),
      BPCHECK_EBADLEN);
  ck_assert_int_eq(
      bpcheck_literal_input_gradient(x.net, x.batch, x.lit, wrong, x.lw),
      BPCHECK_EBADLEN);
  ck_assert_int_eq(bpcheck_bound_input_gradient_at(
                       x.net, x.batch, BPCHECK_PRECISION_SINGLE, wrong, x.bw),
                   BPCHECK_EBADLEN);
  ck_assert_int_eq(bpcheck_tolerance_derive_inputs(x.net, x.batch,
                                                   BPCHECK_PRECISION_DOUBLE,
                                                   ok, wrong, NULL, NULL),
                   BPCHECK_EBADLEN);
  ck_assert_int_eq(bpcheck_compare_inputs(ok, NULL, wrong, ok, 0, 0, &ir),
                   BPCHECK_EBADLEN);
  /* float32's tolerance is wider than float64's */
  gsl_matrix *t64 = gsl_matrix_alloc(3, 2), *t32 = gsl_matrix_alloc(3, 2);
  ck_assert_ok(bpcheck_tolerance_derive_inputs(
      x.net, x.batch, BPCHECK_PRECISION_DOUBLE, ok, t64, NULL, NULL));
  ck_assert_ok(bpcheck_tolerance_derive_inputs(
      x.net, x.batch, BPCHECK_PRECISION_SINGLE, ok, t32, NULL, NULL));
  for (size_t i = 0; i < 6; i++)
    ck_assert(t32->data[i] > 1e6 * t64->data[i]);
  gsl_matrix_free(t64), gsl_matrix_free(t32);
  gsl_matrix_free(wrong), gsl_matrix_free(ok);
  fixture_free(&x);
  gsl_guard_check();
}
END_TEST

Suite *
make_decay_suite(void)
{
  Suite *s = suite_create("decay");
  TCase *core = tcase_create("Core");
  tcase_set_timeout(core, TEST_TIMEOUT);
  tcase_add_test(core, test_decay_terms);
  tcase_add_test(core, test_decay_oracles);
  tcase_add_test(core, test_decay_large_lambda);
  tcase_add_test(core, test_decay_diagnoses);
  tcase_add_test(core, test_decay_validate);
  tcase_add_test(core, test_inputs_oracles);
  tcase_add_test(core, test_case_fields);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("Errors");
  tcase_add_checked_fixture(errors, gsl_guard_setup, gsl_guard_teardown);
  tcase_add_test(errors, test_case_errors);
  tcase_add_test(errors, test_inputs_shapes);
  suite_add_tcase(s, errors);
  return s;
}
