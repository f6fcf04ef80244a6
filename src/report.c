/* report.c -- reference gradients, tolerances and reports for `verify` and
 * `run`. */

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "report.h"

void
tolopts_init(tolopts *t)
{
  memset(t, 0, sizeof *t);
}

int
tolopts_tol(const option_spec *o, const char *arg)
{
  char *end;
  double *v = o->target;
  *v = arg ? strtod(arg, &end) : -1;
  if (!arg || end == arg || *end || isspace((unsigned char)*arg) ||
      !(*v >= 0) || !isfinite(*v)) {
    say_error("%s: '%s' is not a tolerance (a number >= 0)", o->name,
              arg ? arg : "");
    return -1;
  }
  return 0;
}

int
tolopts_precision(const option_spec *o, const char *arg)
{
  int *single = o->target;
  if (strcmp(arg, "double") == 0)
    *single = 0;
  else if (strcmp(arg, "single") == 0)
    *single = 1;
  else {
    say_error("--precision: '%s' is not double or single", arg);
    return -1;
  }
  return 0;
}

bpcheck_tolerance
tolopts_get(const tolopts *t)
{
  bpcheck_tolerance tol = {0, 0, 0, NULL, NULL, 1, BPCHECK_PRECISION_DOUBLE};
  tol.precision =
      t->single ? BPCHECK_PRECISION_SINGLE : BPCHECK_PRECISION_DOUBLE;
  tol.rtol = t->have_rtol ? t->rtol : 0.0;
  tol.atol = t->have_atol ? t->atol : 0.0;
  return tol;
}

/* The reference along 4 random directions (DR.1), for large networks. */
static int
confirm_directional(const bpcheck_case *c, const bpcheck_params *ref)
{
  bpcheck_directional_workspace *w;
  bpcheck_directional_result res;
  gsl_rng *rng = bpcheck_rng_alloc();
  int status = rng ? bpcheck_directional_alloc(&w, c->net, c->batch->B)
                   : BPCHECK_ENOMEM;
  if (!status) {
    status = bpcheck_directional_check(c->net, c->batch, ref, 4, rng, w, &res);
    bpcheck_directional_free(w);
  }
  if (rng)
    gsl_rng_free(rng);
  if (status)
    say_error("the reference could not be confirmed along random "
              "directions: %s",
              bpcheck_errmsg());
  return status;
}

int
reference_gradient(const bpcheck_case *c, bpcheck_mode mode,
                   bpcheck_params **out)
{
  int directional =
      mode == BPCHECK_MODE_DIRECTIONAL ||
      (mode == BPCHECK_MODE_AUTO && c->net->theta->size > BPCHECK_AUTO_PARAMS);
  const bpcheck_net *net = c->net;
  bpcheck_params *mat = NULL, *lit = NULL;
  bpcheck_checks *ck = NULL;
  bpcheck_literal_workspace *lw = NULL;
  bpcheck_report *rep = NULL;
  int status;
  /* No comparison with an infinite or NaN reference: name what overflows.
   */
  if ((status = bpcheck_reference_finite(net, c->batch))) {
    say_error("the case cannot be checked in double precision: %s",
              bpcheck_errmsg());
    return status;
  }
  /* The checks of lib/checks.c: the matrix backprop with the tolerance of
   * (CD.10) at double precision, and central differences unless the mode
   * is directional. */
  if ((status = bpcheck_params_alloc(&mat, net->L, net->n)) ||
      (status = bpcheck_params_alloc(&lit, net->L, net->n)) ||
      (status = bpcheck_report_alloc(&rep, net->L)) ||
      (status = bpcheck_literal_alloc(&lw, net)) ||
      (status = bpcheck_checks_alloc(&ck, net, c->batch->B)) ||
      (status = bpcheck_checks_prepare(
           ck, net, c->batch,
           BPCHECK_CHECKS_REFERENCE |
               (directional ? 0 : BPCHECK_CHECKS_FDIFF))) ||
      (status = bpcheck_literal_backprop(net, c->batch, lit, NULL, lw))) {
    say_error("%s", bpcheck_errmsg());
    goto done;
  }
  memcpy(mat->data, bpcheck_checks_reference(ck)->data,
         mat->size * sizeof *mat->data);
  /* The literal backprop divides by 1 - a^L where the softmax + cross
   * entropy pair needs it; where that underflows (a logit gap above 745) it
   * cannot serve, and the matrix backprop, finite (checked above), is
   * confirmed by the oracles alone. */
  int literal_finite = 1;
  for (size_t i = 0; i < lit->size; i++)
    literal_finite = literal_finite && isfinite(lit->data[i]);
  if (!literal_finite)
    fprintf(stderr,
            "bpcheck: note: the literal backprop overflows on this case (1 - "
            "a^L underflows); the reference is confirmed by %s alone\n",
            directional ? "random directions" : "central differences");
  if (literal_finite && (status = bpcheck_checks_compare(
                             ck, lit, BPCHECK_CHECK_MATRIX, 1.0, rep))) {
    say_error("the reference could not be confirmed: literal vs matrix "
              "backprop: %s",
              bpcheck_errmsg());
    goto done;
  }
  if (directional)
    status = confirm_directional(c, mat);
  else if ((status = bpcheck_checks_compare(ck, mat, BPCHECK_CHECK_FDIFF, 1.0,
                                            rep)))
    say_error("the reference could not be confirmed: backprop vs central "
              "differences: %s",
              bpcheck_errmsg());
  if (status)
    goto done;
  *out = mat;
  mat = NULL;
done:
  bpcheck_params_free(mat);
  bpcheck_params_free(lit);
  bpcheck_report_free(rep);
  bpcheck_literal_free(lw);
  bpcheck_checks_free(ck);
  return status;
}

static void
entry_name(const bpcheck_entry *e, char *buf, size_t len)
{
  if (e->is_bias)
    snprintf(buf, len, "b^%zu_%zu", e->l, e->k);
  else
    snprintf(buf, len, "W^%zu_%zu,%zu", e->l, e->k, e->j);
}

/* How the tolerance was made, in words. */
static void
describe_tolerance(FILE *out, const bpcheck_tolerance *tol)
{
  fprintf(out,
          "tolerance: per entry, from the rounding-error bounds of the "
          "reference and of a correct %s implementation (CD.10)",
          tol->precision == BPCHECK_PRECISION_SINGLE ? "float32" : "float64");
  if (tol->atol > 0 || tol->rtol > 0)
    fprintf(out, ", + %g + %g max(|g|, |r|)", tol->atol, tol->rtol);
  fputc('\n', out);
}

void
print_report(FILE *out, const bpcheck_params *ref, const bpcheck_params *g,
             const bpcheck_report *rep, const bpcheck_tolerance *tol,
             const bpcheck_diagnosis *d)
{
  (void)g;
  char worst[64];
  describe_tolerance(out, tol);
  fprintf(out, "%-8s %8s %8s %12s %12s  %s\n", "block", "entries", "failed",
          "max abs err", "max rel err", "worst");
  for (size_t l = 1; l <= rep->L; l++)
    for (int m = 0; m < 2; m++) {
      const bpcheck_block_report *br = m ? &rep->b[l] : &rep->W[l];
      char block[32];
      size_t n = m ? ref->n[l] : ref->n[l] * ref->n[l - 1];
      snprintf(block, sizeof block, "%s^%zu", m ? "b" : "W", l);
      entry_name(&br->worst, worst, sizeof worst);
      fprintf(out, "%-8s %8zu %8zu %12.3g %12.3g  %s\n", block, n, br->n_fail,
              br->max_abserr, br->max_relerr, br->n_fail ? worst : "");
    }
  if (rep->n_kink) {
    char kink[64];
    entry_name(&rep->kink, kink, sizeof kink);
    fprintf(out,
            "at an exact relu kink: %zu entr%s accepted anywhere between "
            "the one-sided values (CD.11), e.g. %s: %.17g or %.17g "
            "(received %.17g)\n",
            rep->n_kink, rep->n_kink == 1 ? "y" : "ies", kink,
            rep->kink.expected, rep->kink.alternative, rep->kink.received);
  }
  entry_name(&rep->worst, worst, sizeof worst);
  if (rep->n_fail == 0) {
    fprintf(out,
            "PASS: all %zu entries within tolerance (closest to its limit: "
            "%s, error %.3g of tolerance %.3g)\n",
            rep->n_checked, worst, rep->worst.abserr, rep->worst.tol);
    return;
  }
  fprintf(out,
          "FAIL: %zu of %zu entries differ\n"
          "worst: %s expected %.17g, received %.17g (error %.3g, tolerance "
          "%.3g)\n",
          rep->n_fail, rep->n_checked, worst, rep->worst.expected,
          rep->worst.received, rep->worst.abserr, rep->worst.tol);
  if (d && d->bug != BPCHECK_BUG_NONE)
    fprintf(out, "likely bug: %s\n", d->text);
}

void
print_tolerance_parts(FILE *out, const bpcheck_report *rep,
                      const bpcheck_tolerance *tol, const bpcheck_params *e,
                      const bpcheck_params *e_p)
{
  if (rep->n_checked == 0 || !tol->derive)
    return;
  const size_t i = rep->worst.index;
  char name[64];
  entry_name(&rep->worst, name, sizeof name);
  fprintf(out,
          "model at %s: reference's bound e = %.3g, a correct %s "
          "implementation's e_p = %.3g; tolerance %g (e + e_p) + floor%s = "
          "%.3g\n",
          name, e->data[i],
          tol->precision == BPCHECK_PRECISION_SINGLE ? "float32" : "float64",
          e_p->data[i], BPCHECK_TOL_K,
          tol->atol > 0 || tol->rtol > 0 ? " + atol + rtol max(|g|, |r|)" : "",
          rep->worst.tol);
}

/* A JSON string: the characters that need it escaped. */
static void
json_string(FILE *out, const char *s)
{
  fputc('"', out);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      fprintf(out, "\\%c", *s);
    else if ((unsigned char)*s < 0x20)
      fprintf(out, "\\u%04x", (unsigned char)*s);
    else
      fputc(*s, out);
  }
  fputc('"', out);
}

void
print_json_report(FILE *out, const char *command, const bpcheck_report *rep,
                  const bpcheck_tolerance *tol, const bpcheck_diagnosis *d)
{
  char worst[64];
  entry_name(&rep->worst, worst, sizeof worst);
  fprintf(out,
          "{\"command\":\"%s\",\"result\":\"%s\",\"entries\":%zu,"
          "\"failed\":%zu,\"kinks\":%zu,\"tolerance\":\"derived\","
          "\"precision\":\"%s\",\"rtol\":%g,\"atol\":%g,\"blocks\":[",
          command, rep->n_fail ? "fail" : "pass", rep->n_checked, rep->n_fail,
          rep->n_kink,
          tol->precision == BPCHECK_PRECISION_SINGLE ? "single" : "double",
          tol->rtol, tol->atol);
  for (size_t l = 1; l <= rep->L; l++)
    for (int m = 0; m < 2; m++) {
      const bpcheck_block_report *br = m ? &rep->b[l] : &rep->W[l];
      fprintf(out,
              "%s{\"block\":\"%s^%zu\",\"failed\":%zu,\"max_abserr\":%.6g,"
              "\"max_relerr\":%.6g}",
              l == 1 && m == 0 ? "" : ",", m ? "b" : "W", l, br->n_fail,
              br->max_abserr, br->max_relerr);
    }
  fprintf(out, "]");
  /* The entry closest to its limit (the failing one on a failure). */
  fprintf(out,
          ",\"worst\":{\"entry\":\"%s\",\"expected\":%.17g,"
          "\"received\":%.17g,\"error\":%.6g,\"tolerance\":%.6g,"
          "\"ratio\":%.6g}",
          worst, rep->worst.expected, rep->worst.received, rep->worst.abserr,
          rep->worst.tol, rep->max_ratio);
  if (rep->n_fail) {
    if (d)
      fprintf(out,
              ",\"diagnosis\":{\"bug\":\"%s\",\"factor\":%.6g,"
              "\"layer\":%zu,\"text\":",
              bpcheck_bug_name(d->bug), d->factor, d->layer),
          json_string(out, d->text), fprintf(out, "}");
  }
  fprintf(out, "}\n");
}

int
check_inputs(FILE *out, int json, const bpcheck_case *c, const gsl_matrix *dx,
             const bpcheck_tolerance *tol, bpcheck_input_report *rep)
{
  const size_t n0 = c->net->n[0], B = c->batch->B;
  double *block = calloc(3 * n0 * B, sizeof *block);
  if (!block)
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory to check dC/da^0");
  gsl_matrix_view r = gsl_matrix_view_array(block, n0, B);
  gsl_matrix_view t = gsl_matrix_view_array(block + n0 * B, n0, B);
  gsl_matrix_view a = gsl_matrix_view_array(block + 2 * n0 * B, n0, B);
  int have_alt = 0;
  int status = bpcheck_tolerance_derive_inputs(
      c->net, c->batch,
      tol->derive ? tol->precision : BPCHECK_PRECISION_DOUBLE, &r.matrix,
      &t.matrix, &a.matrix, &have_alt);
  if (!status && !tol->derive) /* the comparison's own tolerance alone */
    gsl_matrix_set_zero(&t.matrix);
  if (!status)
    status = bpcheck_compare_inputs(&r.matrix, have_alt ? &a.matrix : NULL, dx,
                                    &t.matrix, tol->atol, tol->rtol, rep);
  if (status != BPCHECK_SUCCESS && status != BPCHECK_EMISMATCH) {
    free(block);
    return status;
  }
  if (out && json) {
    fprintf(out,
            ",\"inputs\":{\"checked\":%zu,\"failed\":%zu,\"worst\":{"
            "\"entry\":\"inputs[%zu][%zu]\",\"expected\":%.17g,"
            "\"received\":%.17g,\"tolerance\":%.6g,\"ratio\":%.6g},"
            "\"wrong\":[",
            rep->n_checked, rep->n_fail, rep->worst_s, rep->worst_j,
            rep->expected, rep->received, rep->tol, rep->max_ratio);
  } else if (out) {
    fprintf(out,
            "%s: dC/da^0 (IN.1): %zu of %zu input-gradient entries differ; "
            "%s inputs[%zu][%zu] (sample %zu, input %zu): expected %.17g, "
            "received %.17g, tolerance %.3g\n",
            rep->n_fail ? "FAIL" : "PASS", rep->n_fail, rep->n_checked,
            rep->n_fail ? "worst" : "closest to its limit", rep->worst_s,
            rep->worst_j, rep->worst_s, rep->worst_j, rep->expected,
            rep->received, rep->tol);
  }
  size_t shown = 0;
  for (size_t s = 0; out && s < B; s++)
    for (size_t j = 0; j < n0 && shown < 10; j++) {
      const double e = gsl_matrix_get(&r.matrix, j, s);
      const double al = have_alt ? gsl_matrix_get(&a.matrix, j, s) : e;
      const double v = gsl_matrix_get(dx, j, s);
      const double lo = fmin(e, al), hi = fmax(e, al);
      const double err = v < lo ? lo - v : v > hi ? v - hi : 0.0;
      const double lim = tol->atol + tol->rtol * fmax(fabs(v), fabs(e)) +
                         gsl_matrix_get(&t.matrix, j, s);
      if (err <= lim)
        continue;
      if (json)
        fprintf(out,
                "%s{\"entry\":\"inputs[%zu][%zu]\",\"expected\":%.17g,"
                "\"received\":%.17g,\"error\":%.6g,\"tolerance\":%.6g}",
                shown ? "," : "", s, j, e, v, err, lim);
      else
        fprintf(out,
                "  wrong: inputs[%zu][%zu] = dC/da^0_%zu of sample %zu: "
                "expected %.17g, received %.17g (error %.3g, tolerance "
                "%.3g)\n",
                s, j, j, s, e, v, err, lim);
      shown++;
    }
  if (out && json)
    fprintf(out, "]}");
  else if (out && rep->n_fail > shown)
    fprintf(out, "  ... and %zu more\n", rep->n_fail - shown);
  free(block);
  return status;
}

void
print_counts(const char *item, const char *end, const size_t *count, int n,
             const char *(*name)(int))
{
  for (int i = 0; i < n; i++) {
    printf(item, name(i), count[i]);
    fputs(i + 1 < n ? "," : end, stdout);
  }
}

void
print_covered(const size_t *depth, const size_t *act, const size_t *cost,
              const size_t *reduction)
{
  printf("  %-12s", "depth L");
  for (int L = 1; L <= 32; L++)
    if (depth[L])
      printf(" %d: %zu", L, depth[L]);
  printf("\n  %-12s", "activations");
  print_counts(" %s %zu", "\n", act, BPCHECK_N_ACTIVATIONS, act_name);
  printf("  %-12s", "costs");
  print_counts(" %s %zu", "\n", cost, BPCHECK_N_COSTS, cost_name);
  printf("  %-12s", "reductions");
  print_counts(" %s %zu", "\n", reduction, BPCHECK_N_REDUCTIONS,
               reduction_name);
}
