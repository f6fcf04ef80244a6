/* tolerance.c -- how far a candidate's gradient may be from the reference
 * and still be right (proofs/06-central-differences.md, (CD.10), (CD.11)).
 *
 * The reference r (the matrix backprop) is within e_i of the exact
 * gradient, and a correct implementation at precision p within e_p,i: the
 * first-order running error analyses of bound.c, at double's epsilon and at
 * p's (with the inputs, parameters and targets rounded into p).  So a
 * correct candidate g satisfies |g_i - r_i| <= e_i + e_p,i to first order;
 * K = 2 covers the second-order terms, as in (CD.7).  A floor of one unit
 * of p at the scale of the entry's block (W^l or b^l), and the smallest
 * normal number of p, cover what first order cannot: gradual underflow, and
 * entries whose bound is 0 because every term of their sum is.
 *
 *   tol_i = K (e_i + e_p,i) + eps_p max_block |r| + eta_p       (CD.10)
 *
 * Nothing in it depends on the size of the gradient alone: a gradient of
 * 1e-20 is checked as strictly, relative to its own terms, as one of 1.
 *
 * At an exact relu kink (an input that is 0 in every order of summation)
 * the cost has two one-sided derivatives; the subgradients between them are
 * all right, and libraries take relu'(0) = 0 or 1.  So the reference with
 * relu'(0) = 1 is computed beside r, and an entry passes within tol_i of
 * the interval between the two (CD.11). */

#include <float.h>
#include <math.h>
#include <string.h>

#include "internal.h"

/* bpcheck_tolerance_derive, and the two bounds it rests on into e and e_p
 * when they are not NULL. */
static int
derive(const bpcheck_net *net, const bpcheck_batch *batch, bpcheck_precision p,
       const bpcheck_params *r, bpcheck_params *tol, bpcheck_params *alt,
       int *have_alt, bpcheck_params *e, bpcheck_params *e_p)
{
  int status = bpcheck_params_match(net->theta, tol);
  if (!status)
    status = bpcheck_params_match(net->theta, r);
  if (!status && alt)
    status = bpcheck_params_match(net->theta, alt);
  if (!status && e)
    status = bpcheck_params_match(net->theta, e);
  if (!status && e_p)
    status = bpcheck_params_match(net->theta, e_p);
  if (status)
    return status;
  const int single = p == BPCHECK_PRECISION_SINGLE;
  const double eps = single ? FLT_EPSILON : DBL_EPSILON;
  const double eta = single ? FLT_MIN : DBL_MIN;
  bpcheck_bound_workspace *bw = NULL;
  bpcheck_matrix_workspace *mw = NULL;
  bpcheck_params *ep = NULL;
  if ((status = bpcheck_bound_alloc(&bw, net, batch->B)) ||
      (status = bpcheck_bound_gradient(net, batch, tol, bw)))
    goto done;
  if ((status = bpcheck_params_alloc(&ep, net->L, net->n)) ||
      (status = bpcheck_bound_gradient_at(net, batch, p, ep, bw)))
    goto done;
  if (e)
    memcpy(e->data, tol->data, tol->size * sizeof *e->data);
  if (e_p)
    memcpy(e_p->data, ep->data, ep->size * sizeof *e_p->data);
  for (size_t i = 0; i < tol->size; i++)
    tol->data[i] += ep->data[i];
  for (size_t l = 1; l <= net->L; l++) {
    size_t first[2] = {bpcheck_params_index_W(r, l, 0, 0),
                       bpcheck_params_index_b(r, l, 0)};
    size_t count[2] = {r->n[l] * r->n[l - 1], r->n[l]};
    for (int m = 0; m < 2; m++) {
      double rmax = 0.0;
      for (size_t i = first[m]; i < first[m] + count[m]; i++)
        rmax = fmax(rmax, fabs(r->data[i]));
      for (size_t i = first[m]; i < first[m] + count[m]; i++)
        tol->data[i] = BPCHECK_TOL_K * tol->data[i] + eps * rmax + eta;
    }
  }
  for (size_t i = 0; i < tol->size; i++)
    if (!isfinite(tol->data[i])) {
      char name[64];
      bpcheck_params_entry_name(r, i, name, sizeof name);
      status = bpcheck_fail(BPCHECK_EDOM,
                            "the rounding-error bound of %s overflows: the "
                            "case's magnitudes are beyond what double "
                            "precision can check",
                            name);
      goto done;
    }
  if (have_alt)
    *have_alt = 0;
  if (alt) {
    if ((status = bpcheck_matrix_alloc(&mw, net, batch->B)) ||
        (status = bpcheck_matrix_backprop_variant(
             net, batch, alt, NULL, mw, BPCHECK_VARIANT_RELU_AT_ZERO_ONE)))
      goto done;
    for (size_t i = 0; have_alt && i < alt->size; i++)
      if (alt->data[i] != r->data[i])
        *have_alt = 1;
  }
done:
  bpcheck_bound_free(bw);
  bpcheck_matrix_free(mw);
  bpcheck_params_free(ep);
  return status;
}

int
bpcheck_tolerance_derive(const bpcheck_net *net, const bpcheck_batch *batch,
                         bpcheck_precision p, const bpcheck_params *r,
                         bpcheck_params *tol, bpcheck_params *alt,
                         int *have_alt)
{
  return derive(net, batch, p, r, tol, alt, have_alt, NULL, NULL);
}

/* The first of a matrix's entries that is not finite, as (row, col). */
static int
first_nonfinite(const gsl_matrix *M, size_t *k, size_t *s)
{
  for (size_t i = 0; i < M->size1; i++)
    for (size_t j = 0; j < M->size2; j++)
      if (!isfinite(gsl_matrix_get(M, i, j))) {
        *k = i, *s = j;
        return 1;
      }
  return 0;
}

int
bpcheck_reference_finite(const bpcheck_net *net, const bpcheck_batch *batch)
{
  bpcheck_matrix_workspace *w = NULL;
  bpcheck_params *g = NULL;
  double C;
  int status = bpcheck_matrix_alloc(&w, net, batch->B);
  if (!status)
    status = bpcheck_params_alloc(&g, net->L, net->n);
  if (!status)
    status = bpcheck_matrix_backprop(net, batch, g, &C, w);
  if (status)
    goto done;
  size_t k, s;
  /* (every activation is finite where its input is: a^l needs no check) */
  for (size_t l = 1; l <= net->L && !status; l++)
    if (first_nonfinite(bpcheck_matrix_Z(w, l), &k, &s))
      status = bpcheck_fail(
          BPCHECK_EDOM,
          "z^%zu_%zu of sample %zu is %g: the forward pass overflows", l, k, s,
          gsl_matrix_get(bpcheck_matrix_Z(w, l), k, s));
  if (status)
    goto done;
  if (!isfinite(C)) {
    status = bpcheck_fail(BPCHECK_EDOM,
                          "the cost overflows (C = %g): its exact value is "
                          "beyond double precision",
                          C);
    goto done;
  }
  for (size_t l = net->L; l >= 1 && !status; l--)
    if (first_nonfinite(bpcheck_matrix_D(w, l), &k, &s))
      status =
          bpcheck_fail(BPCHECK_EDOM,
                       "delta^%zu_%zu of sample %zu is %g: the backward "
                       "pass overflows",
                       l, k, s, gsl_matrix_get(bpcheck_matrix_D(w, l), k, s));
  for (size_t i = 0; i < g->size && !status; i++)
    if (!isfinite(g->data[i])) {
      char name[64];
      bpcheck_params_entry_name(g, i, name, sizeof name);
      status =
          bpcheck_fail(BPCHECK_EDOM, "dC/d%s is %g: the gradient overflows",
                       name, g->data[i]);
    }
done:
  bpcheck_matrix_free(w);
  bpcheck_params_free(g);
  return status;
}

int
bpcheck_tolerance_apply_parts(const bpcheck_net *net,
                              const bpcheck_batch *batch,
                              const bpcheck_params *r,
                              const bpcheck_tolerance *tol,
                              bpcheck_tolerance *out, bpcheck_params **abs,
                              bpcheck_params **alt, bpcheck_params *e,
                              bpcheck_params *e_p)
{
  int status, have_alt = 0;
  *out = *tol;
  *abs = *alt = NULL;
  if (!tol->derive)
    return BPCHECK_SUCCESS;
  if ((status = bpcheck_params_alloc(abs, net->L, net->n)) ||
      (status = bpcheck_params_alloc(alt, net->L, net->n)) ||
      (status = derive(net, batch, tol->precision, r, *abs, *alt, &have_alt, e,
                       e_p))) {
    bpcheck_params_free(*abs);
    bpcheck_params_free(*alt);
    *abs = *alt = NULL;
    return status;
  }
  out->abs = *abs;
  out->alt = have_alt ? *alt : NULL;
  return BPCHECK_SUCCESS;
}

int
bpcheck_tolerance_apply(const bpcheck_net *net, const bpcheck_batch *batch,
                        const bpcheck_params *r, const bpcheck_tolerance *tol,
                        bpcheck_tolerance *out, bpcheck_params **abs,
                        bpcheck_params **alt)
{
  return bpcheck_tolerance_apply_parts(net, batch, r, tol, out, abs, alt, NULL,
                                       NULL);
}
