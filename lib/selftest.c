/* selftest.c -- the randomized cross-check: literal vs matrix backprop, and
 * both against the complex step, the directional check and central
 * differences, over random architectures.  The comparisons and their
 * tolerances are the checks of checks.c, the same that hunt the bug zoo
 * and confirm verify's reference:
 *   literal vs matrix    (CD.10) at double precision
 *   ... their dC/da^0    (IN.3) at double precision
 *   backprop vs c. step  (CD.10)
 *   backprop vs fdiff    (CD.7) K err_fd + (CD.10)
 *   ... their dC/da^0    (IN.5) K err_fd + (IN.3), central differences in x
 * (proofs/06-central-differences.md). */

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "internal.h"

/* Everything one trial allocates, freed together. */
typedef struct {
  bpcheck_net *net;
  bpcheck_batch *batch;
  bpcheck_params *lit, *fd, *fd_err; /* fd, fd_err: naming an entry */
  const bpcheck_params *mat;         /* the checks' reference */
  bpcheck_checks *ck;
  bpcheck_literal_workspace *lw;
  bpcheck_fdiff_workspace *fw;
  bpcheck_fdiff_inputs_workspace *iw;
  bpcheck_directional_workspace *dw;
  gsl_rng *rng;
  bpcheck_report *report;
  double *dx_data;                 /* the six n_0 x B matrices below */
  gsl_matrix dx_lit, dx, tol, alt; /* dC/da^0: literal, reference, (IN.3),
                                      relu'(0) = 1 */
  gsl_matrix dx_fd, dx_err;        /* central differences in x, (IN.4) */
} trial_state;

static void
trial_free(trial_state *t)
{
  bpcheck_net_free(t->net);
  bpcheck_batch_free(t->batch);
  bpcheck_params_free(t->lit);
  bpcheck_params_free(t->fd);
  bpcheck_params_free(t->fd_err);
  bpcheck_checks_free(t->ck);
  bpcheck_directional_free(t->dw);
  bpcheck_literal_free(t->lw);
  bpcheck_fdiff_free(t->fw);
  bpcheck_fdiff_inputs_free(t->iw);
  bpcheck_report_free(t->report);
  free(t->dx_data);
}

static int
trial_alloc(trial_state *t, const bpcheck_arch *arch, size_t B)
{
  int status;
  memset(t, 0, sizeof *t);
  if ((status = bpcheck_net_alloc(&t->net, arch)) ||
      (status =
           bpcheck_batch_alloc(&t->batch, arch->n[0], arch->n[arch->L], B)) ||
      (status = bpcheck_params_alloc(&t->lit, arch->L, arch->n)) ||
      (status = bpcheck_params_alloc(&t->fd, arch->L, arch->n)) ||
      (status = bpcheck_params_alloc(&t->fd_err, arch->L, arch->n)) ||
      (status = bpcheck_checks_alloc(&t->ck, t->net, B)) ||
      (status = bpcheck_directional_alloc(&t->dw, t->net, B)) ||
      (status = bpcheck_literal_alloc(&t->lw, t->net)) ||
      (status = bpcheck_fdiff_alloc(&t->fw, t->net, B)) ||
      (status = bpcheck_fdiff_inputs_alloc(&t->iw, t->net, B)) ||
      (status = bpcheck_report_alloc(&t->report, arch->L)))
    goto fail;
  const size_t nB = arch->n[0] * B;
  if (!(t->dx_data = bpcheck_calloc(6 * nB, sizeof *t->dx_data))) {
    status = bpcheck_fail(BPCHECK_ENOMEM, "no memory for dC/da^0");
    goto fail;
  }
  t->dx_lit = bpcheck_matrix_on(t->dx_data, arch->n[0], B);
  t->dx = bpcheck_matrix_on(t->dx_data + nB, arch->n[0], B);
  t->tol = bpcheck_matrix_on(t->dx_data + 2 * nB, arch->n[0], B);
  t->alt = bpcheck_matrix_on(t->dx_data + 3 * nB, arch->n[0], B);
  t->dx_fd = bpcheck_matrix_on(t->dx_data + 4 * nB, arch->n[0], B);
  t->dx_err = bpcheck_matrix_on(t->dx_data + 5 * nB, arch->n[0], B);
  return BPCHECK_SUCCESS;
fail:
  trial_free(t);
  return status;
}

/* Records a failed comparison in the trial. */
static int
failed(bpcheck_trial *out, const char *what, const bpcheck_report *report)
{
  out->failed = what;
  out->worst = report->worst;
  return BPCHECK_EMISMATCH;
}

/* The status of one backprop's comparison, as what: its worst ratio kept in
 * *ratio, a mismatch recorded in the trial. */
static int
judged(int status, const bpcheck_report *report, double *ratio,
       const char *what, bpcheck_trial *out)
{
  if (report->max_ratio > *ratio)
    *ratio = report->max_ratio;
  return status == BPCHECK_EMISMATCH ? failed(out, what, report) : status;
}

/* Each backprop against the checks' oracle check, prepared here: (CS.3)
 * the complex step, or (CD.7) the central differences of every entry; the
 * worst ratio into out->cs_ratio or out->fd_ratio. */
static int
check_oracle(trial_state *t, int check, double scale, bpcheck_trial *out)
{
  static const char *const names[2][2] = {
      {"literal vs complex step", "matrix vs complex step"},
      {"literal vs central differences", "matrix vs central differences"}};
  const int fd = check == BPCHECK_CHECK_FDIFF;
  int status = bpcheck_checks_prepare(
      t->ck, t->net, t->batch,
      (fd ? BPCHECK_CHECKS_FDIFF : BPCHECK_CHECKS_CSTEP) |
          BPCHECK_CHECKS_MORE);
  if (status)
    return status;
  if (fd)
    out->kinks = bpcheck_checks_kinks(t->ck);
  double *ratio = fd ? &out->fd_ratio : &out->cs_ratio;
  const bpcheck_params *both[2] = {t->lit, t->mat};
  *ratio = 0.0;
  for (int m = 0; m < 2; m++)
    if ((status = judged(
             bpcheck_checks_compare(t->ck, both[m], check, scale, t->report),
             t->report, ratio, names[fd][m], out)))
      return status;
  return BPCHECK_SUCCESS;
}

/* (DR.1) the matrix gradient along random directions; the Taylor slope. */
static int
check_directional(trial_state *t, double scale, bpcheck_trial *out)
{
  int status;
  /* (DR.1) the matrix gradient along 4 random directions; and the slope of
   * its Taylor remainder (TY.2), reported, not judged. */
  bpcheck_directional_result dr;
  status = bpcheck_directional_check(t->net, t->batch, t->mat, 4, t->rng,
                                     t->dw, &dr);
  out->dr_ratio = dr.max_ratio * (scale > 0 ? 1 / scale : INFINITY);
  if (status == BPCHECK_EMISMATCH || out->dr_ratio > 1) {
    out->failed = "matrix vs directional check";
    out->worst = (bpcheck_entry){0};
    out->worst.expected = dr.expected, out->worst.received = dr.received;
    out->worst.abserr = fabs(dr.expected - dr.received);
    out->worst.tol = scale * dr.tol;
    return BPCHECK_EMISMATCH;
  }
  if (status)
    return status;
  size_t points;
  if ((status = bpcheck_taylor_slope(t->net, t->batch, t->mat, t->rng, t->dw,
                                     &out->taylor_slope, &points)))
    return status;

  return BPCHECK_SUCCESS;
}

/* (CD.7) each backprop vs the central differences of some layers in t->fd
 * (naming an entry after a direction disagreed), within K times the error
 * estimate of each entry (an entry whose estimate is +inf is skipped). */
static int
compare_fdiff(trial_state *t, double scale, bpcheck_trial *out)
{
  int status;
  for (size_t i = 0; i < t->fd_err->size; i++)
    if (isfinite(t->fd_err->data[i])) /* inf (skipped) stays so at scale 0 */
      t->fd_err->data[i] *= scale * BPCHECK_FD_SAFETY;
  bpcheck_tolerance fd = {0.0, 0.0, 0.0, t->fd_err, NULL, 0, 0};
  const bpcheck_params *bp[2] = {t->lit, t->mat};
  const char *name[2] = {"literal vs central differences",
                         "matrix vs central differences"};
  out->fd_ratio = 0.0;
  out->kinks = bpcheck_fdiff_kinks(t->fw);
  for (int m = 0; m < 2; m++)
    if ((status = judged(bpcheck_compare(t->fd, bp[m], &fd, t->report),
                         t->report, &out->fd_ratio, name[m], out)))
      return status;
  return BPCHECK_SUCCESS;
}

/* After a disagreeing direction, as the contract's auto mode does: the
 * directions within each layer alone find the layers that disagree, and
 * the central differences of every entry of those layers (of every layer,
 * if none disagrees alone) name the wrong entry. */
static int
name_entry(trial_state *t, double scale, bpcheck_trial *out)
{
  int any = 0, status;
  for (size_t i = 0; i < t->fd_err->size; i++)
    t->fd_err->data[i] = INFINITY; /* skipped unless computed below */
  for (size_t l = 1; l <= t->net->L; l++) {
    bpcheck_directional_result dr;
    status = bpcheck_directional_check_layer(t->net, t->batch, t->mat, l, 4,
                                             t->rng, t->dw, &dr);
    if (status && status != BPCHECK_EMISMATCH)
      return status;
    if (!(dr.max_ratio > scale)) /* as check_directional judges */
      continue;
    any = 1;
    if ((status = bpcheck_fdiff_layer(t->net, t->batch, l, t->fd, t->fd_err,
                                      t->fw)))
      return status;
  }
  return any ? compare_fdiff(t, scale, out)
             : check_oracle(t, BPCHECK_CHECK_FDIFF, scale, out);
}

/* A failed comparison of dC/da^0 recorded in the trial, the entry as layer
 * 0: k the sample, j the input. */
static int
failed_input(bpcheck_trial *out, const char *what,
             const bpcheck_input_report *ir, const bpcheck_batch *batch)
{
  out->failed = what;
  out->worst = (bpcheck_entry){0};
  out->worst.index = ir->worst_j * batch->B + ir->worst_s;
  out->worst.k = ir->worst_s, out->worst.j = ir->worst_j;
  out->worst.expected = out->worst.alternative = ir->expected;
  out->worst.received = ir->received;
  out->worst.abserr = fabs(ir->received - ir->expected);
  out->worst.tol = ir->tol;
  return BPCHECK_EMISMATCH;
}

/* (IN.3) the literal dC/da^0 in t->dx_lit against the matrix one, every
 * tolerance times scale: the worst ratio in out->in_ratio, a mismatch
 * recorded in the trial with the entry as layer 0: k the sample, j the
 * input. */
static int
check_inputs(trial_state *t, double scale, bpcheck_trial *out)
{
  int have_alt;
  bpcheck_input_report ir;
  int status = bpcheck_tolerance_derive_inputs(
      t->net, t->batch, BPCHECK_PRECISION_DOUBLE, &t->dx, &t->tol, &t->alt,
      &have_alt);
  if (status)
    return status;
  gsl_matrix_scale(&t->tol, scale);
  status = bpcheck_compare_inputs(&t->dx, have_alt ? &t->alt : NULL,
                                  &t->dx_lit, &t->tol, 0, 0, &ir);
  out->in_ratio = ir.max_ratio;
  return status == BPCHECK_EMISMATCH
             ? failed_input(out, "literal vs matrix dC/da^0", &ir, t->batch)
             : status;
}

/* (IN.5) each backprop's dC/da^0 (t->dx_lit, t->dx) against central
 * differences in x (IN.4): within scale (K E + (IN.3)), the tolerance of
 * (IN.3) left in t->tol, already times scale, by check_inputs; an entry
 * whose steps cross a relu kink (E = +inf) is skipped and counted in
 * out->kinks.  The worst ratio in out->in_fd_ratio. */
static int
check_inputs_fdiff(trial_state *t, double scale, bpcheck_trial *out)
{
  int status =
      bpcheck_fdiff_inputs(t->net, t->batch, &t->dx_fd, &t->dx_err, t->iw);
  if (status)
    return status;
  const size_t nB = t->dx_err.size1 * t->dx_err.size2;
  for (size_t i = 0; i < nB; i++) /* +inf (skipped) stays so at scale 0 */
    if (isfinite(t->dx_err.data[i]))
      t->dx_err.data[i] =
          scale * BPCHECK_FD_SAFETY * t->dx_err.data[i] + t->tol.data[i];
  out->kinks += bpcheck_fdiff_inputs_kinks(t->iw);
  const gsl_matrix *bp[2] = {&t->dx_lit, &t->dx};
  static const char *const name[2] = {"literal dC/da^0 vs central differences",
                                      "matrix dC/da^0 vs central differences"};
  out->in_fd_ratio = 0.0;
  for (int m = 0; m < 2; m++) {
    bpcheck_input_report ir;
    status =
        bpcheck_compare_inputs(&t->dx_fd, NULL, bp[m], &t->dx_err, 0, 0, &ir);
    out->in_fd_ratio = fmax(out->in_fd_ratio, ir.max_ratio);
    if (status)
      return status == BPCHECK_EMISMATCH
                 ? failed_input(out, name[m], &ir, t->batch)
                 : status;
  }
  return BPCHECK_SUCCESS;
}

/* Compares the gradients of one trial: literal vs matrix always; then every
 * entry (complex step, directional, central differences), or, in
 * directional mode, the directions only, and every entry when one fails, to
 * name it. */
static int
cross_check(trial_state *t, const bpcheck_space *s, bpcheck_trial *out)
{
  const double scale = s->tolerance_scale;
  int status;
  if ((status = bpcheck_literal_input_gradient(t->net, t->batch, t->lit,
                                               &t->dx_lit, t->lw)) ||
      (status = bpcheck_checks_prepare(t->ck, t->net, t->batch,
                                       BPCHECK_CHECKS_REFERENCE)))
    return status;
  t->mat = bpcheck_checks_reference(t->ck);

  /* (CD.10) literal vs matrix: two correct computations in double. */
  int lm_status = bpcheck_checks_compare(t->ck, t->lit, BPCHECK_CHECK_MATRIX,
                                         scale, t->report);
  out->lm_ratio = t->report->max_ratio;
  if (lm_status == BPCHECK_EMISMATCH)
    return failed(out, "literal vs matrix", t->report);
  if (lm_status)
    return lm_status;
  if ((status = check_inputs(t, scale, out)))
    return status;

  int directional = s->mode == BPCHECK_MODE_DIRECTIONAL ||
                    (s->mode == BPCHECK_MODE_AUTO &&
                     t->net->theta->size > BPCHECK_AUTO_PARAMS);
  if (!directional) {
    if ((status = check_oracle(t, BPCHECK_CHECK_CSTEP, scale, out)) ||
        (status = check_directional(t, scale, out)) ||
        (status = check_oracle(t, BPCHECK_CHECK_FDIFF, scale, out)))
      return status;
    return check_inputs_fdiff(t, scale, out);
  }
  out->directional_only = 1;
  status = check_directional(t, scale, out);
  if (status != BPCHECK_EMISMATCH)
    return status;
  /* A direction disagrees: name the wrong entry. */
  bpcheck_trial named = *out;
  if (name_entry(t, scale, &named) == BPCHECK_EMISMATCH) {
    out->worst = named.worst;
    out->failed = "directional check (entry named by central differences)";
  }
  return BPCHECK_EMISMATCH;
}

static int
run_trial(const bpcheck_space *s, gsl_rng *rng, unsigned long seed,
          bpcheck_trial *out)
{
  size_t n[BPCHECK_MAX_LAYERS + 1], B;
  bpcheck_activation f[BPCHECK_MAX_LAYERS + 1];
  bpcheck_arch arch;
  trial_state t;
  int status;

  memset(out, 0, sizeof *out);
  out->seed = seed;
  out->taylor_slope = NAN; /* until it is fitted */
  gsl_rng_set(rng, seed);
  if ((status = bpcheck_space_draw(s, rng, &arch, n, f, &B)))
    return out->status = status;
  if ((status = trial_alloc(&t, &arch, B)))
    return out->status = status;
  t.rng = rng;
  t.net->weight_decay = s->weight_decay; /* (WD.1) */
  bpcheck_net_init_random(t.net, rng);
  bpcheck_batch_init_random(t.batch, t.net, rng);

  char desc[200];
  bpcheck_net_describe(t.net, desc, sizeof desc);
  snprintf(out->arch, sizeof out->arch, "%s batch %zu", desc, B);
  out->L = arch.L;
  out->cost = arch.cost;
  out->reduction = arch.reduction;
  for (size_t l = 1; l <= arch.L; l++)
    out->act[f[l]]++;
  out->P = t.net->theta->size;
  out->B = B;

  status = cross_check(&t, s, out);
  trial_free(&t);
  return out->status = status;
}

int
bpcheck_selftest_trial(const bpcheck_space *s, unsigned long seed,
                       bpcheck_trial *t)
{
  gsl_rng *rng = bpcheck_rng_alloc();
  if (!rng)
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for a generator");
  int status = run_trial(s, rng, seed, t);
  gsl_rng_free(rng);
  return status;
}

static void
tally(bpcheck_summary *sum, const bpcheck_trial *t, size_t i)
{
  for (int f = 0; f < BPCHECK_N_ACTIVATIONS; f++)
    sum->act[f] += t->act[f];
  if (t->L > 0) { /* drawn: an invalid space stops before any trial */
    sum->cost[t->cost]++;
    sum->reduction[t->reduction]++;
    sum->depth[t->L < 32 ? t->L : 32]++;
  }
  sum->trials++;
  if (t->status == BPCHECK_SUCCESS)
    sum->passed++;
  else if (t->status == BPCHECK_EMISMATCH)
    sum->failed++;
  else
    sum->errors++;
  if (t->status != BPCHECK_SUCCESS && sum->failed + sum->errors == 1)
    sum->first_failure = i;
  sum->directional_only += (size_t)t->directional_only;
  /* the worst ratios (fmax ignores a NaN, as the comparison did) */
  sum->lm_ratio = fmax(sum->lm_ratio, t->lm_ratio);
  sum->in_ratio = fmax(sum->in_ratio, t->in_ratio);
  sum->dr_ratio = fmax(sum->dr_ratio, t->dr_ratio);
  if (!isnan(t->taylor_slope) && t->L > 0) {
    if (sum->taylor_slopes == 0 || t->taylor_slope < sum->taylor_min)
      sum->taylor_min = t->taylor_slope;
    sum->taylor_slopes++;
  }
  sum->cs_ratio = fmax(sum->cs_ratio, t->cs_ratio);
  sum->fd_ratio = fmax(sum->fd_ratio, t->fd_ratio);
  sum->in_fd_ratio = fmax(sum->in_fd_ratio, t->in_fd_ratio);
  sum->kinks += t->kinks;
  if (t->P > sum->max_params)
    sum->max_params = t->P;
}

int
bpcheck_selftest(const bpcheck_space *s, size_t trials, unsigned long seed,
                 bpcheck_summary *sum, bpcheck_trial_fn fn, void *data)
{
  memset(sum, 0, sizeof *sum);
  gsl_rng *rng;
  int status = bpcheck_space_rng(s, &rng);
  if (status)
    return status;
  int first_error = BPCHECK_SUCCESS;
  for (size_t i = 0; i < trials; i++) {
    bpcheck_trial t;
    run_trial(s, rng, seed + i, &t);
    t.trial = i;
    tally(sum, &t, i);
    if (t.status != BPCHECK_SUCCESS && t.status != BPCHECK_EMISMATCH &&
        !first_error)
      first_error = t.status;
    if (fn && fn(&t, data))
      break;
  }
  gsl_rng_free(rng);
  if (first_error)
    return first_error;
  return sum->failed ? BPCHECK_EMISMATCH : BPCHECK_SUCCESS;
}
