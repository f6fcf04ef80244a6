/* compare.c -- a candidate gradient against a reference, entry by entry.
 *
 * Signed: entry i passes when |g_i - r_i| <= tol_i, so a flipped sign fails
 * like any other error.  Per block (each W^l and b^l) it keeps the maximum
 * absolute and relative error and the entry with the largest ratio of error
 * to tolerance, named W^l_kj or b^l_k. */

#include <math.h>
#include <stdlib.h>

#include "internal.h"

int
bpcheck_report_alloc(bpcheck_report **out, size_t L)
{
  if (L < 1 || L > BPCHECK_MAX_LAYERS)
    return bpcheck_fail(BPCHECK_EINVAL, "a report for %zu layers", L);
  bpcheck_report *r = bpcheck_calloc(1, sizeof *r);
  if (r) {
    r->L = L;
    r->W = bpcheck_calloc(L + 1, sizeof *r->W);
    r->b = bpcheck_calloc(L + 1, sizeof *r->b);
  }
  if (!r || !r->W || !r->b) {
    bpcheck_report_free(r);
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for a report");
  }
  *out = r;
  return BPCHECK_SUCCESS;
}

void
bpcheck_report_free(bpcheck_report *r)
{
  if (r)
    BPCHECK_FREE(r->W, r->b, r);
}

/* The distance of g from r, or from the interval between r and alt. */
static double
distance(double g, double r, double alt)
{
  const double lo = fmin(r, alt), hi = fmax(r, alt);
  return isnan(g) || isnan(r) ? NAN : g < lo ? lo - g : g > hi ? g - hi : 0;
}

/* Compares the n entries of one block, starting at index first. */
static void
compare_block(const bpcheck_params *ref, const bpcheck_params *cand,
              const bpcheck_tolerance *tol, size_t first, size_t n,
              bpcheck_block_report *br)
{
  const double *r = ref->data + first, *g = cand->data + first;
  const double *alt = tol->alt ? tol->alt->data + first : r;
  double rmax = 0.0;
  for (size_t i = 0; i < n; i++)
    rmax = fmax(rmax, fabs(r[i]));

  br->max_abserr = br->max_relerr = br->max_ratio = 0.0;
  br->n_fail = br->n_skipped = br->n_kink = 0;
  br->worst = (bpcheck_entry){.index = first,
                              .expected = r[0],
                              .received = g[0],
                              .alternative = alt[0]};
  int have_worst = 0;
  for (size_t i = 0; i < n; i++) {
    double abserr = distance(g[i], r[i], alt[i]);
    double t = tol->atol + tol->rtol * fmax(fabs(g[i]), fabs(r[i])) +
               tol->btol * rmax + (tol->abs ? tol->abs->data[first + i] : 0);
    if (t == INFINITY && !isnan(abserr)) {
      br->n_skipped++;
      continue;
    }
    int fail = !(abserr <= t);              /* a NaN error fails ... */
    double ratio = isnan(abserr) ? INFINITY /* ... and is the worst */
                   : t > 0       ? abserr / t
                   : abserr > 0  ? INFINITY
                                 : 0.0;
    br->n_fail += (size_t)fail;
    br->max_abserr = fmax(br->max_abserr, abserr);
    if (r[i] != 0)
      br->max_relerr = fmax(br->max_relerr, abserr / fabs(r[i]));
    else if (abserr > 0) /* an error where the reference is 0 */
      br->max_relerr = INFINITY;
    bpcheck_entry e = {.index = first + i,
                       .expected = r[i],
                       .received = g[i],
                       .abserr = abserr,
                       .tol = t,
                       .alternative = alt[i]};
    if (alt[i] != r[i] && br->n_kink++ == 0)
      br->kink = e;
    if (!have_worst || ratio > br->max_ratio) {
      have_worst = 1;
      br->max_ratio = ratio;
      br->worst = e;
    }
  }
  bpcheck_params_entry(ref, br->worst.index, &br->worst.l, &br->worst.is_bias,
                       &br->worst.k, &br->worst.j);
  if (br->n_kink)
    bpcheck_params_entry(ref, br->kink.index, &br->kink.l, &br->kink.is_bias,
                         &br->kink.k, &br->kink.j);
}

int
bpcheck_compare(const bpcheck_params *r, const bpcheck_params *g,
                const bpcheck_tolerance *tol, bpcheck_report *report)
{
  int status = bpcheck_params_match(r, g);
  if (status)
    return status;
  if (tol->abs && (status = bpcheck_params_match(r, tol->abs)))
    return status;
  if (tol->alt && (status = bpcheck_params_match(r, tol->alt)))
    return status;
  if (report->L != r->L)
    return bpcheck_fail(BPCHECK_EBADLEN, "a report for %zu layers, not %zu",
                        report->L, r->L);
  if (!(tol->atol >= 0 && tol->rtol >= 0 && tol->btol >= 0))
    return bpcheck_fail(BPCHECK_EINVAL, "tolerances must be >= 0");

  report->n_checked = r->size;
  report->n_fail = report->n_skipped = report->n_kink = 0;
  report->max_ratio = -1.0;
  for (size_t l = 1; l <= r->L; l++) {
    bpcheck_block_report *blocks[2] = {&report->W[l], &report->b[l]};
    size_t first[2] = {bpcheck_params_index_W(r, l, 0, 0),
                       bpcheck_params_index_b(r, l, 0)};
    size_t count[2] = {r->n[l] * r->n[l - 1], r->n[l]};
    for (int m = 0; m < 2; m++) {
      compare_block(r, g, tol, first[m], count[m], blocks[m]);
      report->n_fail += blocks[m]->n_fail;
      report->n_skipped += blocks[m]->n_skipped;
      if (blocks[m]->n_kink && report->n_kink == 0)
        report->kink = blocks[m]->kink;
      report->n_kink += blocks[m]->n_kink;
      if (blocks[m]->max_ratio > report->max_ratio) {
        report->max_ratio = blocks[m]->max_ratio;
        report->worst = blocks[m]->worst;
      }
    }
  }
  if (report->n_fail == 0)
    return BPCHECK_SUCCESS;
  char name[64];
  bpcheck_params_entry_name(r, report->worst.index, name, sizeof name);
  return bpcheck_fail(BPCHECK_EMISMATCH,
                      "%zu of %zu entries differ; worst %s: expected %.17g, "
                      "received %.17g",
                      report->n_fail, report->n_checked, name,
                      report->worst.expected, report->worst.received);
}
