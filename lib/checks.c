/* checks.c -- the checks of a gradient against the oracles, defined once:
 * the randomized cross-check (selftest.c), the bug zoo's hunt (mutants.c)
 * and verify's confirmation of its reference use these, and no other
 * thresholds.
 *
 * For one network and batch the oracles are computed once: the matrix
 * backprop (the reference) with its tolerance (CD.10) at double precision,
 * central differences with their error estimates (the fast check through
 * the nodes' tables, (CD.5), (CD.6), (CD.12)), the complex step (CS.2).  A
 * gradient g then passes
 *
 *   vs the matrix backprop    |g_i - r_i| <= tol_i                 (CD.10)
 *   vs the complex step       |g_i - cs_i| <= tol_i                (CS.3)
 *   vs central differences    |g_i - fd_i| <= K err_i + tol_i      (CD.7)
 *
 * each tolerance times scale (selftest --tolerance-scale; 1 as derived);
 * an entry whose central difference crosses a relu kink (err = +inf) is
 * skipped. */

#include <math.h>
#include <stdlib.h>

#include "internal.h"

struct bpcheck_checks {
  bpcheck_params *mat, *tol, *fd, *err, *cs, *t;
  bpcheck_matrix_workspace *mw;
  bpcheck_fastfd_workspace *fw;
  bpcheck_cstep_workspace *cw;
  unsigned ready; /* the oracles computed for the current network */
};

int
bpcheck_checks_alloc(bpcheck_checks **out, const bpcheck_net *net, size_t B)
{
  bpcheck_checks *c = bpcheck_calloc(1, sizeof *c);
  if (!c)
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for the checks");
  int status;
  if ((status = bpcheck_params_alloc(&c->mat, net->L, net->n)) ||
      (status = bpcheck_params_alloc(&c->tol, net->L, net->n)) ||
      (status = bpcheck_params_alloc(&c->fd, net->L, net->n)) ||
      (status = bpcheck_params_alloc(&c->err, net->L, net->n)) ||
      (status = bpcheck_params_alloc(&c->cs, net->L, net->n)) ||
      (status = bpcheck_params_alloc(&c->t, net->L, net->n)) ||
      (status = bpcheck_matrix_alloc(&c->mw, net, B)) ||
      (status = bpcheck_fastfd_alloc(&c->fw, net, B)) ||
      (status = bpcheck_cstep_alloc(&c->cw, net))) {
    bpcheck_checks_free(c);
    return status;
  }
  *out = c;
  return BPCHECK_SUCCESS;
}

void
bpcheck_checks_free(bpcheck_checks *c)
{
  if (!c)
    return;
  bpcheck_params *const params[] = {c->mat, c->tol, c->fd,
                                    c->err, c->cs,  c->t};
  for (size_t i = 0; i < sizeof params / sizeof *params; i++)
    bpcheck_params_free(params[i]);
  bpcheck_matrix_free(c->mw);
  bpcheck_fastfd_free(c->fw);
  bpcheck_cstep_free(c->cw);
  free(c);
}

int
bpcheck_checks_prepare(bpcheck_checks *c, const bpcheck_net *net,
                       const bpcheck_batch *batch, unsigned which)
{
  int status;
  if (!(which & BPCHECK_CHECKS_MORE))
    c->ready = 0; /* a new network, or the same one moved */
  if (!(c->ready & BPCHECK_CHECKS_REFERENCE)) {
    if ((status = bpcheck_matrix_backprop(net, batch, c->mat, NULL, c->mw)) ||
        (status =
             bpcheck_tolerance_derive(net, batch, BPCHECK_PRECISION_DOUBLE,
                                      c->mat, c->tol, NULL, NULL)))
      return status;
    c->ready |= BPCHECK_CHECKS_REFERENCE;
  }
  if ((which & BPCHECK_CHECKS_FDIFF) && !(c->ready & BPCHECK_CHECKS_FDIFF)) {
    if ((status = bpcheck_fastfd_nodes(net, batch, c->fd, c->err, c->fw)))
      return status;
    c->ready |= BPCHECK_CHECKS_FDIFF;
  }
  if ((which & BPCHECK_CHECKS_CSTEP) && !(c->ready & BPCHECK_CHECKS_CSTEP)) {
    if ((status = bpcheck_cstep_gradient(net, batch, c->cs, c->cw)))
      return status;
    c->ready |= BPCHECK_CHECKS_CSTEP;
  }
  return BPCHECK_SUCCESS;
}

const bpcheck_params *
bpcheck_checks_reference(const bpcheck_checks *c)
{
  return c->mat;
}

size_t
bpcheck_checks_kinks(const bpcheck_checks *c)
{
  return bpcheck_fastfd_kinks(c->fw);
}

int
bpcheck_checks_compare(bpcheck_checks *c, const bpcheck_params *g, int check,
                       double scale, bpcheck_report *rep)
{
  const unsigned need = check == BPCHECK_CHECK_FDIFF ? BPCHECK_CHECKS_FDIFF
                        : check == BPCHECK_CHECK_CSTEP
                            ? BPCHECK_CHECKS_CSTEP
                            : BPCHECK_CHECKS_REFERENCE;
  if (!(c->ready & need) || !(c->ready & BPCHECK_CHECKS_REFERENCE))
    return bpcheck_fail(BPCHECK_EINVAL, "check %d was not prepared", check);
  const bpcheck_params *r = check == BPCHECK_CHECK_FDIFF   ? c->fd
                            : check == BPCHECK_CHECK_CSTEP ? c->cs
                                                           : c->mat;
  for (size_t i = 0; i < c->t->size; i++) {
    double t = c->tol->data[i];
    if (check == BPCHECK_CHECK_FDIFF) /* (CD.7), and the reference's own */
      t += BPCHECK_FD_SAFETY * c->err->data[i];
    c->t->data[i] = isinf(t) ? t : scale * t; /* a kink stays skipped */
  }
  bpcheck_tolerance tol = {0, 0, 0, c->t, NULL, 0, 0};
  return bpcheck_compare(r, g, &tol, rep);
}
