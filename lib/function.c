/* function.c -- the gradient of any function, through its loss alone
 * (proofs/09-any-function.md).
 *
 * The callback returns C(theta) for a flat vector of P doubles, and its
 * gradient g when asked.  Nothing is known of how C is computed, so there
 * is no rounding bound to lean on: the tolerance comes from the difference
 * table itself (the truncation estimate of (CD.6), as in dfridr) and from
 * the loss's rounding noise as observed (AF.1)-(AF.4).
 *
 * Every check is a probe: a direction v of signs +/-1 on a range [a, b) of
 * the vector (0 elsewhere), the derivative v.g against Richardson's table
 * over central differences of loss calls along v (CD.5), within K times its
 * error estimate (AF.5), (AF.6), at a step set by the loss's relative
 * noise.  A probe whose table does not fall as h^2, or that disagrees, is
 * tried again at a much smaller step: a kink within the step is judged
 * there, and differences that disagree across steps, or a kink at theta
 * itself, are kinks, not failures (AF.7).
 *
 * Directional mode: a few probes over all of theta; when one disagrees,
 * probes restricted to each tensor name the tensors, and within a failing
 * tensor either every entry is probed (small tensors) or the failing
 * direction is halved recursively, the discrepancy of one half measured and
 * that of the other inferred (AF.8), down to single entries, which are
 * probed on their own and named only if they disagree: about 6 k log2 n
 * loss calls for k wrong entries of a tensor of n (AF.9).  Full mode probes
 * every entry.  The Taylor remainder's slope is reported (TY.2).  Then,
 * if asked, the same at random points near theta, until one fails.
 *
 * Every loss call is on a probe's line, theta + t v (t = 0 for C0): an
 * along callback takes them as steps along a numbered direction, and
 * forms the same points bit for bit (AF.10). */

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* (AF.5) The step of the probes, eta^(1/4) of the range's scale, eta =
 * e_C / |C| the loss's relative noise within [eps, 2^-20] (eps^(1/4) =
 * 2^-13 for a loss rounded once, 2^-5 for a float32 one); the retry's step
 * is 2^8 times smaller. */
#define AF_ROOT 4.0
#define AF_ETA_MAX 0x1p-20
#define AF_RETRY_SHIFT 8
/* Directions that cannot be judged (kinks, overflows) are drawn again, up
 * to this many times as many directions as asked in all. */
#define AF_REDRAW 4
/* (AF.1) The noise: m + 1 loss values at steps j delta, j = 0..m, and
 * differences of orders 1..m - 2. */
#define AF_NOISE_M 8
#define AF_NOISE_SHIFT 10 /* delta = 2^-10 eps^(1/4) of the scale */
#define AF_NOISE_TRIES 3
/* (AF.4) e_C = kappa sigma. */
#define AF_KAPPA 4.0

typedef struct {
  char *name;
  size_t rank, shape[BPCHECK_MAX_RANK];
  size_t first, count;
  int failed;
} tensor_t;

struct bpcheck_function_workspace {
  size_t P, T;
  tensor_t *t;
  double *x;             /* where the loss is asked: theta outside the probe */
  double *point;         /* a random point near the caller's theta */
  const double *checked; /* the point of the last check */
  double *g;             /* the gradient at theta */
  signed char *v;        /* the signs of the direction */
  gsl_rng *rng;
  /* During a check. */
  bpcheck_loss_fn fn;
  bpcheck_along_fn along; /* or NULL: every loss call through fn */
  void *data;
  /* The direction of the last loss call along one: its signs' version,
   * its range and its number (bpcheck_along_fn). */
  size_t v_version, dir_a, dir_b, dir_version, direction;
  const double *theta;
  double C0, e_C;
  double step; /* (AF.5) eta^(1/4): the step at theta of scale 1 */
  bpcheck_function_result *res;
};

/* When a probe is tried again at the small step (AF.7): never; when its
 * table is not smooth or it disagrees; when its table is not smooth. */
enum { RETRY_NONE, RETRY, RETRY_KINK };

/* One probe's outcome. */
typedef struct {
  double vg, diff; /* v.g and the central difference T */
  double est, tol; /* its error estimate E and K E */
  double ratio;    /* |v.g - T| / tol */
  int failed, kink, overflow;
} probe_t;

void
bpcheck_function_options_default(bpcheck_function_options *o)
{
  *o = (bpcheck_function_options){.mode = BPCHECK_MODE_AUTO,
                                  .auto_params = BPCHECK_AUTO_PARAMS,
                                  .directions = 4,
                                  .tensor_directions = 2,
                                  .entrywise_below = 32,
                                  .max_named = 16,
                                  .taylor = 1,
                                  .seed = 1,
                                  .points = 0,
                                  .spread = 0.01};
}

void
bpcheck_function_free(bpcheck_function_workspace *w)
{
  if (!w)
    return;
  if (w->t)
    for (size_t t = 0; t < w->T; t++)
      free(w->t[t].name);
  BPCHECK_FREE(w->t, w->x, w->point, w->g, w->v);
  if (w->rng)
    gsl_rng_free(w->rng);
  free(w);
}

static char *
dup_name(const char *s)
{
  size_t n = strlen(s) + 1;
  char *d = bpcheck_calloc(n, 1);
  if (d)
    memcpy(d, s, n);
  return d;
}

/* The tensors' shapes, checked: names present, ranks and sizes positive,
 * no product that overflows, and sizes that add up to P. */
static int
check_tensors(size_t P, const bpcheck_tensor *tensors, size_t n)
{
  size_t total = 0;
  for (size_t t = 0; t < n; t++) {
    const bpcheck_tensor *x = &tensors[t];
    if (!x->name || !*x->name)
      return bpcheck_fail(BPCHECK_EINVAL, "tensor %zu has no name", t);
    if (x->rank < 1 || x->rank > BPCHECK_MAX_RANK || !x->shape)
      return bpcheck_fail(BPCHECK_EINVAL,
                          "tensor %s has rank %zu (1 to %d allowed)", x->name,
                          x->rank, BPCHECK_MAX_RANK);
    size_t count = 1;
    for (size_t d = 0; d < x->rank; d++) {
      if (x->shape[d] == 0)
        return bpcheck_fail(BPCHECK_EINVAL,
                            "tensor %s has size 0 in dimension %zu", x->name,
                            d);
      if (count > BPCHECK_MAX_PARAMS / x->shape[d])
        return bpcheck_fail(BPCHECK_ETOOBIG, "tensor %s is too large",
                            x->name);
      count *= x->shape[d];
    }
    if (count > BPCHECK_MAX_PARAMS - total)
      return bpcheck_fail(BPCHECK_ETOOBIG, "the tensors are too large");
    total += count;
  }
  if (total != P)
    return bpcheck_fail(BPCHECK_EBADLEN,
                        "the tensors hold %zu entries, theta has %zu", total,
                        P);
  return BPCHECK_SUCCESS;
}

int
bpcheck_function_alloc(bpcheck_function_workspace **out, size_t P,
                       const bpcheck_tensor *tensors, size_t n_tensors)
{
  if (P == 0 || P > BPCHECK_MAX_PARAMS)
    return bpcheck_fail(P ? BPCHECK_ETOOBIG : BPCHECK_EINVAL,
                        "%zu parameters (1 to %zu allowed)", P,
                        (size_t)BPCHECK_MAX_PARAMS);
  if (n_tensors && !tensors)
    return bpcheck_fail(BPCHECK_EINVAL, "%zu tensors but no list", n_tensors);
  int status = n_tensors ? check_tensors(P, tensors, n_tensors) : 0;
  if (status)
    return status;
  bpcheck_function_workspace *w = bpcheck_calloc(1, sizeof *w);
  if (!w)
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for the workspace");
  w->P = P;
  w->T = n_tensors ? n_tensors : 1;
  w->t = bpcheck_calloc(w->T, sizeof *w->t);
  w->x = bpcheck_calloc(P, sizeof *w->x);
  w->point = bpcheck_calloc(P, sizeof *w->point);
  w->g = bpcheck_calloc(P, sizeof *w->g);
  w->v = bpcheck_calloc(P, sizeof *w->v);
  if (!w->t || !w->x || !w->point || !w->g || !w->v) {
    bpcheck_function_free(w);
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for %zu parameters", P);
  }
  size_t first = 0;
  for (size_t t = 0; t < w->T; t++) {
    tensor_t *x = &w->t[t];
    const bpcheck_tensor *in = n_tensors ? &tensors[t] : NULL;
    x->name = dup_name(in ? in->name : "theta");
    if (!x->name) {
      bpcheck_function_free(w);
      return bpcheck_fail(BPCHECK_ENOMEM, "no memory for the tensors' names");
    }
    x->rank = in ? in->rank : 1;
    x->count = 1;
    for (size_t d = 0; d < x->rank; d++)
      x->count *= x->shape[d] = in ? in->shape[d] : P;
    x->first = first;
    first += x->count;
  }
  /* (GSL's error handler off around it, as every generator of the
   * library) */
  w->rng = bpcheck_rng_alloc();
  if (!w->rng) {
    bpcheck_function_free(w);
    return bpcheck_fail(BPCHECK_ENOMEM, "no memory for the generator");
  }
  w->checked = w->point;
  *out = w;
  return BPCHECK_SUCCESS;
}

const double *
bpcheck_function_point(const bpcheck_function_workspace *w)
{
  return w->checked;
}

size_t
bpcheck_function_tensors(const bpcheck_function_workspace *w)
{
  return w->T;
}

const char *
bpcheck_function_tensor_name(const bpcheck_function_workspace *w, size_t t)
{
  return t < w->T ? w->t[t].name : "";
}

int
bpcheck_function_tensor_failed(const bpcheck_function_workspace *w, size_t t)
{
  return t < w->T && w->t[t].failed;
}

static size_t
tensor_of(const bpcheck_function_workspace *w, size_t i)
{
  size_t lo = 0, hi = w->T - 1; /* the last tensor whose first <= i */
  while (lo < hi) {
    size_t mid = lo + (hi - lo + 1) / 2;
    if (w->t[mid].first <= i)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

void
bpcheck_function_entry_name(const bpcheck_function_workspace *w, size_t i,
                            char *buf, size_t len)
{
  if (!len)
    return;
  if (i >= w->P) {
    snprintf(buf, len, "(entry %zu of %zu)", i, w->P);
    return;
  }
  const tensor_t *x = &w->t[tensor_of(w, i)];
  size_t r = i - x->first, idx[BPCHECK_MAX_RANK] = {0};
  for (size_t d = x->rank; d-- > 0;) { /* row-major: the last index fastest */
    idx[d] = r % x->shape[d];
    r /= x->shape[d];
  }
  size_t n = (size_t)snprintf(buf, len, "%s[", x->name);
  for (size_t d = 0; d < x->rank && n < len; d++)
    n += (size_t)snprintf(buf + n, len - n, d ? ",%zu" : "%zu", idx[d]);
  if (n < len)
    snprintf(buf + n, len - n, "]");
}

/* The loss at x; the callback's failure is the candidate's. */
static int
loss(bpcheck_function_workspace *w, double *C)
{
  w->res->loss_calls++;
  *C = NAN;
  int status = w->fn(w->x, w->P, C, NULL, w->data);
  if (status)
    return bpcheck_fail(BPCHECK_ECANDIDATE,
                        "the loss function failed (%s): %s",
                        bpcheck_strerror(status), bpcheck_errmsg());
  return BPCHECK_SUCCESS;
}

/* C(theta + t v) with v on [a, b); x is left moved (restore() puts it
 * back).  With an along callback, the direction is numbered (a new number
 * when the signs or the range change) and x is the callback's to form:
 * theta_i + t v_i, rounded once, as here. */
static int
loss_along(bpcheck_function_workspace *w, size_t a, size_t b, double t,
           double *C)
{
  if (w->along) {
    if (!w->direction || a != w->dir_a || b != w->dir_b ||
        w->v_version != w->dir_version) {
      w->direction++;
      w->dir_a = a, w->dir_b = b, w->dir_version = w->v_version;
    }
    w->res->loss_calls++;
    *C = NAN;
    int status = w->along(w->theta, w->v, a, b, w->direction, t, C, w->data);
    if (status)
      return bpcheck_fail(BPCHECK_ECANDIDATE,
                          "the loss function failed along direction %zu "
                          "(%s): %s",
                          w->direction, bpcheck_strerror(status),
                          bpcheck_errmsg());
    return BPCHECK_SUCCESS;
  }
  for (size_t i = a; i < b; i++)
    w->x[i] = w->theta[i] + t * w->v[i];
  return loss(w, C);
}

static void
restore(bpcheck_function_workspace *w, size_t a, size_t b)
{
  memcpy(w->x + a, w->theta + a, (b - a) * sizeof *w->x);
}

/* Random signs on [a, b), 16 per draw of the generator. */
static void
draw_signs(bpcheck_function_workspace *w, size_t a, size_t b)
{
  unsigned long bits = 0;
  w->v_version++;
  for (size_t i = a; i < b; i++) {
    if ((i - a) % 16 == 0)
      bits = gsl_rng_uniform_int(w->rng, 65536);
    w->v[i] = bits & 1 ? 1 : -1;
    bits >>= 1;
  }
}

/* The scale of the range, max(1, max |theta_i|), and the sums the
 * rounding terms need: v.g, sum |g_i|, sum |g_i theta_i|. */
static double
range_sums(const bpcheck_function_workspace *w, size_t a, size_t b, double *vg,
           double *gsum, double *gth)
{
  double scale = 1.0;
  *vg = *gsum = *gth = 0.0;
  for (size_t i = a; i < b; i++) {
    scale = fmax(scale, fabs(w->theta[i]));
    *vg += w->v[i] * w->g[i];
    *gsum += fabs(w->g[i]);
    *gth += fabs(w->g[i] * w->theta[i]);
  }
  return scale;
}

/* Richardson's table along v on [a, b) at steps h / 2^q, q < levels:
 * the derivative, its error estimate (AF.5), the central differences D_q,
 * the second differences C(h_q) + C(-h_q) - 2 C(0) (for (AF.7)) and the
 * bound e on the rounding of each loss value;
 * *finite cleared when a loss value is not finite. */
static int
table(bpcheck_function_workspace *w, size_t a, size_t b, double h,
      size_t levels, double gth, double *T, double *E, double *D, double *d2,
      double *e, int *finite)
{
  double delta[BPCHECK_FDIFF_LEVELS], Cmax = fabs(w->C0);
  int status = BPCHECK_SUCCESS;
  for (size_t q = 0; q < levels && !status; q++) {
    const double hq = ldexp(h, -(int)q);
    double fp, fm;
    if ((status = loss_along(w, a, b, hq, &fp)) ||
        (status = loss_along(w, a, b, -hq, &fm)))
      break;
    delta[q] = fp - fm;
    D[q] = delta[q] / (2.0 * hq);
    d2[q] = fp + fm - 2.0 * w->C0;
    Cmax = fmax(Cmax, fmax(fabs(fp), fabs(fm)));
    if (!isfinite(fp) || !isfinite(fm))
      *finite = 0;
  }
  restore(w, a, b);
  if (status || !*finite)
    return status;
  /* (AF.5) each loss value: e_C of noise, at least the rounding of the
   * largest value (AF.4), and eps sum |g_i theta_i| from rounding theta_i +
   * h v_i (DR.2); through the table's weights. */
  double trunc, round;
  *e = fmax(w->e_C, DBL_EPSILON * Cmax) + DBL_EPSILON * gth;
  *T = bpcheck_fdiff_richardson(levels, delta, h, 0.0, *e, &trunc, &round);
  *E = trunc + round;
  if (!isfinite(*T) || !isfinite(*E))
    *finite = 0;
  return BPCHECK_SUCCESS;
}

/* (AF.7) Whether the three central differences fall as h^2: (D_0 - D_1) /
 * (D_1 - D_2) is 4 for the h^2 term, 16 for the h^4 term, between them
 * for both; a kink at distance s < h / 4 gives 1/2.  Only differences well
 * above their rounding (6 e / h for D_1 - D_2) count. */
static int
smooth_table(const double *D, double h, double e)
{
  const double d01 = D[0] - D[1], d12 = D[1] - D[2];
  if (!(fabs(d12) > 8.0 * 6.0 * e / h) || !(fabs(d01) > 8.0 * 3.0 * e / h))
    return 1; /* in the noise: no evidence either way */
  const double r = d01 / d12;
  return r >= 2.0 && r <= 32.0;
}

/* (AF.5)-(AF.7) One probe along v on [a, b): v.g against the table, and
 * as retry says, the kink tests. */
static int
probe(bpcheck_function_workspace *w, size_t a, size_t b, int retry, probe_t *p)
{
  double gsum, gth, D[BPCHECK_FDIFF_LEVELS], d2[BPCHECK_FDIFF_LEVELS];
  const double scale = range_sums(w, a, b, &p->vg, &gsum, &gth);
  const double h = exp2(round(log2(w->step * scale)));
  double e, e2;
  /* v.g itself rounds: gamma_n sum |g_i| */
  const double e_vg = bpcheck_gamma((double)(b - a), DBL_EPSILON) * gsum;
  int finite = 1;
  p->failed = p->kink = p->overflow = 0;
  int status = table(w, a, b, h, BPCHECK_FDIFF_LEVELS, gth, &p->diff, &p->est,
                     D, d2, &e, &finite);
  if (status)
    return status;
  if (!finite) {
    p->overflow = 1;
    p->ratio = 0;
    return BPCHECK_SUCCESS;
  }
  p->est += e_vg;
  p->tol = BPCHECK_FD_SAFETY * p->est; /* (AF.6) */
  double gap = fabs(p->vg - p->diff);
  p->ratio = gap == 0 ? 0.0 : gap / p->tol;
  p->failed = !(p->ratio <= 1);
  const int smooth = smooth_table(D, h, e);
  if (retry == RETRY_NONE || (smooth && (!p->failed || retry == RETRY_KINK)))
    return BPCHECK_SUCCESS;
  /* (AF.7) Again with two levels at a step 2^8 times smaller. */
  const double h2 = ldexp(h, -AF_RETRY_SHIFT);
  double T2, E2, D2[BPCHECK_FDIFF_LEVELS], s2[BPCHECK_FDIFF_LEVELS];
  if ((status = table(w, a, b, h2, 2, gth, &T2, &E2, D2, s2, &e2, &finite)))
    return status;
  if (!finite)
    return BPCHECK_SUCCESS; /* the first verdict stands */
  E2 += e_vg;
  if (!smooth) {
    /* C is not smooth at the scale of h: a kink within the step.  The
     * small step judges. */
    p->kink = 1;
    p->diff = T2, p->est = E2, p->tol = BPCHECK_FD_SAFETY * E2;
    gap = fabs(p->vg - p->diff);
    p->ratio = gap == 0 ? 0.0 : gap / p->tol;
    p->failed = !(p->ratio <= 1);
  } else if (fabs(p->diff - T2) > BPCHECK_FD_SAFETY * (p->est + E2)) {
    p->kink = 1; /* the differences disagree across steps */
    p->failed = 0;
    return BPCHECK_SUCCESS;
  }
  if (!p->failed)
    return BPCHECK_SUCCESS;
  /* A kink at theta itself: the second difference falls as h, not h^2,
   * and v.g lies between the one-sided differences T2 -/+ s / (2 h). */
  const double noise2 = 4.0 * e2, hs = h2 / 2;
  if (fabs(s2[1]) > 64.0 * noise2 && fabs(s2[1] / s2[0] - 0.5) < 0.125) {
    const double half = fabs(s2[1]) / (2.0 * hs);
    const double slack = BPCHECK_FD_SAFETY * (E2 + noise2 / hs);
    if (p->vg >= T2 - half - slack && p->vg <= T2 + half + slack) {
      p->kink = 1;
      p->failed = 0;
    }
  } else
    p->kink = 0; /* a kink within h, and v.g wrong at the small step */
  return BPCHECK_SUCCESS;
}

/* Records the probe of a single entry i (v_i = +/-1) as a named entry,
 * unless it is named already. */
static void
name_entry(bpcheck_function_workspace *w, size_t i, const probe_t *p,
           size_t max_named)
{
  bpcheck_function_result *res = w->res;
  for (size_t k = 0; k < res->n_named; k++)
    if (res->named[k].index == i)
      return;
  if (res->n_named >= max_named)
    return;
  bpcheck_function_entry *e = &res->named[res->n_named++];
  e->index = i;
  e->tensor = tensor_of(w, i);
  bpcheck_function_entry_name(w, i, e->name, sizeof e->name);
  e->expected = p->diff * w->v[i];
  e->received = w->g[i];
  e->estimate = p->est;
  e->tol = p->tol;
}

/* The worst so far, of the directions or entries that count. */
static void
note_worst(bpcheck_function_result *res, const probe_t *p)
{
  if (p->overflow)
    res->overflows++;
  else if (p->kink)
    res->kinks++;
  else {
    res->checked++;
    res->failed += (size_t)p->failed;
    if (p->ratio > res->max_ratio || res->checked == 1) {
      res->max_ratio = p->ratio;
      res->expected = p->diff;
      res->received = p->vg;
      res->estimate = p->est;
      res->tol = p->tol;
    }
  }
}

/* (AF.8), (AF.9) Halving: the range [a, a + n) disagrees by d (v.g - T)
 * with allowance tol along the current signs.  Its first half is probed,
 * the second's discrepancy is inferred as d - d_1 within tol + tol_1; each
 * half that disagrees is halved in turn (the larger, if neither clearly
 * does: their discrepancies add up to d), and single entries are probed
 * on their own and named when they disagree. */
static int
halve(bpcheck_function_workspace *w, size_t a, size_t n, double d, double tol,
      size_t max_named)
{
  if (w->res->n_named >= max_named)
    return BPCHECK_SUCCESS;
  probe_t p;
  int status;
  if (n == 1) {
    if ((status = probe(w, a, a + 1, RETRY, &p)))
      return status;
    if (p.failed)
      name_entry(w, a, &p, max_named);
    return BPCHECK_SUCCESS;
  }
  const size_t m = n / 2;
  if ((status = probe(w, a, a + m, RETRY_KINK, &p)))
    return status;
  if (p.overflow) { /* nothing to infer from: both halves, as the whole */
    if ((status = halve(w, a, m, d, tol, max_named)))
      return status;
    return halve(w, a + m, n - m, d, tol, max_named);
  }
  const double d1 = p.vg - p.diff, t1 = p.tol;
  const double d2 = d - d1, t2 = tol + t1;
  const double r1 = fabs(d1) / t1, r2 = fabs(d2) / t2;
  const int f1 = r1 > 1 || (r1 >= r2 && !(r2 > 1)),
            f2 = r2 > 1 || (r2 > r1 && !(r1 > 1));
  if (f1 && (status = halve(w, a, m, d1, t1, max_named)))
    return status;
  if (f2 && (status = halve(w, a + m, n - m, d2, t2, max_named)))
    return status;
  return BPCHECK_SUCCESS;
}

/* Every entry of [a, b) on its own. */
static int
entrywise(bpcheck_function_workspace *w, size_t a, size_t b, size_t max_named,
          int count)
{
  for (size_t i = a; i < b; i++) {
    w->v[i] = 1;
    w->v_version++;
    probe_t p;
    int status = probe(w, i, i + 1, RETRY, &p);
    if (status)
      return status;
    if (count)
      note_worst(w->res, &p);
    if (p.failed) {
      w->t[tensor_of(w, i)].failed = 1;
      name_entry(w, i, &p, max_named);
    }
  }
  return BPCHECK_SUCCESS;
}

/* (AF.8) The tensors whose own directions disagree, and their entries. */
static int
localize(bpcheck_function_workspace *w, const bpcheck_function_options *o)
{
  for (size_t t = 0; t < w->T; t++) {
    tensor_t *x = &w->t[t];
    const size_t a = x->first, b = a + x->count;
    /* kinks and overflows are drawn again, up to AF_REDRAW times */
    for (size_t d = 0, judged = 0;
         judged < o->tensor_directions && d < AF_REDRAW * o->tensor_directions;
         d++) {
      draw_signs(w, a, b);
      probe_t p;
      int status = probe(w, a, b, RETRY, &p);
      if (status)
        return status;
      judged += !p.kink && !p.overflow;
      if (!p.failed)
        continue;
      x->failed = 1;
      if (x->count <= o->entrywise_below) {
        status = entrywise(w, a, b, o->max_named, 0);
        if (status)
          return status;
        break; /* every entry seen */
      }
      if (x->count == 1) {
        name_entry(w, a, &p, o->max_named);
        continue;
      }
      /* (AF.8) what the entries named so far explain of it */
      double rest = p.vg - p.diff, allowed = p.tol;
      for (size_t k = 0; k < w->res->n_named; k++) {
        const bpcheck_function_entry *e = &w->res->named[k];
        if (e->index >= a && e->index < b) {
          rest -= w->v[e->index] * (e->received - e->expected);
          allowed += e->tol;
        }
      }
      if (!(fabs(rest) > allowed))
        continue;
      if ((status = halve(w, a, x->count, p.vg - p.diff, p.tol, o->max_named)))
        return status;
    }
  }
  return BPCHECK_SUCCESS;
}

/* (AF.1)-(AF.4) The loss's rounding noise: m + 1 values at theta + j delta
 * v (v drawn, and f_0 = C0 taken along it, by run()), their differences of
 * orders k = 1..m, sigma_k^2 = mean (Delta^k)^2 / binom(2k, k) (AF.2), and the
 * first order k at which three consecutive estimates agree within a factor 4
 * and the differences change sign (AF.3); the largest of the three is kept. */
static int
noise_at(bpcheck_function_workspace *w, double delta, int tries,
         double *noise_sigma, int *observed)
{
  const size_t m = AF_NOISE_M;
  double f[AF_NOISE_M + 1], sigma[AF_NOISE_M + 1];
  *observed = 0;
  *noise_sigma = 0;
  for (int attempt = 0; attempt < tries; attempt++) {
    f[0] = w->C0;
    for (size_t j = 1; j <= m; j++) {
      int status = loss_along(w, 0, w->P, (double)j * delta, &f[j]);
      if (status)
        return status;
    }
    restore(w, 0, w->P);
    size_t distinct = 1;
    for (size_t j = 1; j <= m; j++)
      distinct += f[j] != f[j - 1];
    int finite = 1;
    for (size_t j = 0; j <= m; j++)
      finite &= isfinite(f[j]) != 0;
    if (!finite) {
      delta = ldexp(delta, -AF_NOISE_SHIFT);
      continue;
    }
    if (distinct == 1) { /* no change at all: exact, or delta too small */
      delta = ldexp(delta, AF_NOISE_SHIFT);
      continue;
    }
    int sign_change[AF_NOISE_M + 1] = {0};
    double binom = 1.0; /* binom(2k, k) */
    for (size_t k = 1; k <= m; k++) {
      double lo = INFINITY, hi = -INFINITY, s = 0;
      for (size_t j = 0; j + k <= m; j++) {
        f[j] = f[j + 1] - f[j];
        lo = fmin(lo, f[j]), hi = fmax(hi, f[j]);
        s += f[j] * f[j];
      }
      binom = binom * (double)(2 * k) * (double)(2 * k - 1) /
              ((double)k * (double)k);
      sigma[k] = sqrt(s / (double)(m + 1 - k) / binom);
      sign_change[k] = lo < 0 && hi > 0;
    }
    for (size_t k = 1; k + 2 <= m; k++) {
      double lo = fmin(sigma[k], fmin(sigma[k + 1], sigma[k + 2]));
      double hi = fmax(sigma[k], fmax(sigma[k + 1], sigma[k + 2]));
      if (hi <= 4.0 * lo && sign_change[k]) {
        *noise_sigma = hi; /* a bound is wanted: the largest */
        *observed = 1;
        return BPCHECK_SUCCESS;
      }
    }
    /* Not resolved: the highest order's estimate (of noise and the
     * function's own differences: an upper estimate) for now, and a
     * smaller step, or a larger one when few values differ. */
    *noise_sigma = sigma[m - 2];
    delta = ldexp(delta, distinct <= m / 2 ? AF_NOISE_SHIFT : -AF_NOISE_SHIFT);
  }
  return BPCHECK_SUCCESS;
}

/* The noise at delta = 2^-10 h, h = eps^(1/4) of the parameters' scale
 * (AF.3): small, so that few kinks lie within the 8 steps. */
static int
estimate_noise(bpcheck_function_workspace *w, double h)
{
  bpcheck_function_result *res = w->res;
  return noise_at(w, ldexp(h, -AF_NOISE_SHIFT), AF_NOISE_TRIES,
                  &res->noise_sigma, &res->noise_observed);
}

/* (TY.1)-(TY.3) as in directional.c, with the noise e_C observed. */
static int
taylor(bpcheck_function_workspace *w)
{
  bpcheck_function_result *res = w->res;
  draw_signs(w, 0, w->P);
  double vg, gsum, gth;
  const double scale = range_sums(w, 0, w->P, &vg, &gsum, &gth);
  const double noise = 2.0 * w->e_C + gth * DBL_EPSILON;
  double x[BPCHECK_TAYLOR_STEPS], y[BPCHECK_TAYLOR_STEPS];
  size_t n = 0;
  for (int e = 1; e <= BPCHECK_TAYLOR_STEPS; e++) {
    double h = ldexp(scale, -e), C;
    int status = loss_along(w, 0, w->P, h, &C);
    if (status)
      return status;
    double R = fabs(C - w->C0 - h * vg);
    if (!(R > 1e2 * noise)) /* NaN too */
      continue;
    x[n] = log(h), y[n] = log(R), n++;
  }
  restore(w, 0, w->P);
  res->taylor_slope = bpcheck_taylor_fit(n, x, y, &res->taylor_points);
  return BPCHECK_SUCCESS;
}

static int
run(bpcheck_function_workspace *w, const bpcheck_function_options *o)
{
  bpcheck_function_result *res = w->res;
  int status;
  /* The gradient, and the loss alone at theta: the values every
   * difference is taken from. */
  double Cg;
  res->grad_calls++;
  status = w->fn(w->x, w->P, &Cg, w->g, w->data);
  if (status)
    return bpcheck_fail(BPCHECK_ECANDIDATE,
                        "the gradient function failed (%s): %s",
                        bpcheck_strerror(status), bpcheck_errmsg());
  for (size_t i = 0; i < w->P; i++)
    if (!isfinite(w->g[i])) {
      char name[160];
      bpcheck_function_entry_name(w, i, name, sizeof name);
      return bpcheck_fail(BPCHECK_EDOM, "the gradient's entry %s is %g", name,
                          w->g[i]);
    }
  /* C0 along the noise's direction at t = 0 (theta itself: theta_i + 0
   * v_i = theta_i), so that an along callback is never sent theta */
  draw_signs(w, 0, w->P);
  if ((status = loss_along(w, 0, w->P, 0.0, &w->C0)))
    return status;
  if (!isfinite(w->C0))
    return bpcheck_fail(BPCHECK_EDOM, "the loss at theta is %g", w->C0);
  res->loss = w->C0;
  double tmax = 1.0;
  for (size_t i = 0; i < w->P; i++)
    tmax = fmax(tmax, fabs(w->theta[i]));
  if ((status = estimate_noise(w, bpcheck_fdiff_step(tmax, AF_ROOT))))
    return status;
  /* (AF.4) */
  w->e_C = fmax(AF_KAPPA * res->noise_sigma, DBL_EPSILON * fabs(w->C0));
  res->noise = w->e_C;
  /* (AF.5) the relative noise eta sets the step (C0 = 0: as large as
   * allowed, unless no noise at all) */
  double eta = w->e_C == 0 ? DBL_EPSILON : w->e_C / fabs(w->C0);
  eta = fmin(fmax(eta, DBL_EPSILON), AF_ETA_MAX);
  w->step = pow(eta, 1.0 / AF_ROOT);
  res->step = exp2(round(log2(w->step)));
  if (res->directional) {
    /* directions that are kinks or overflow are drawn again, up to
     * AF_REDRAW times as many in all */
    for (size_t d = 0;
         res->checked < o->directions && d < AF_REDRAW * o->directions; d++) {
      draw_signs(w, 0, w->P);
      probe_t p;
      if ((status = probe(w, 0, w->P, RETRY, &p)))
        return status;
      note_worst(res, &p);
    }
    if (res->failed && (status = localize(w, o)))
      return status;
  } else if ((status = entrywise(w, 0, w->P, o->max_named, 1)))
    return status;
  for (size_t t = 0; t < w->T; t++)
    if (w->t[t].failed && !res->tensors_failed++)
      res->first_tensor = t;
  if (o->taylor && (status = taylor(w)))
    return status;
  /* (TY.2) a slope near 1 with no disagreement: the directions, which are
   * the stronger check, agree, so the remainder met a kink */
  res->taylor_kink = !res->failed && res->taylor_slope < 1.5;
  return BPCHECK_SUCCESS;
}

int
bpcheck_check_function(bpcheck_loss_fn fn, void *data, const double *theta,
                       size_t P, const bpcheck_function_options *opt,
                       bpcheck_function_workspace *w,
                       bpcheck_function_result *res)
{
  return bpcheck_check_function_along(fn, NULL, data, theta, P, opt, w, res);
}

int
bpcheck_check_function_along(bpcheck_loss_fn fn, bpcheck_along_fn along,
                             void *data, const double *theta, size_t P,
                             const bpcheck_function_options *opt,
                             bpcheck_function_workspace *w,
                             bpcheck_function_result *res)
{
  bpcheck_function_options o;
  if (opt)
    o = *opt;
  else
    bpcheck_function_options_default(&o);
  if (!fn || !theta || !w || !res)
    return bpcheck_fail(BPCHECK_EINVAL,
                        "no function, parameters, workspace or result");
  if (P != w->P)
    return bpcheck_fail(BPCHECK_EBADLEN,
                        "theta has %zu entries, the workspace %zu", P, w->P);
  if (o.mode != BPCHECK_MODE_FULL && o.mode != BPCHECK_MODE_DIRECTIONAL &&
      o.mode != BPCHECK_MODE_AUTO)
    return bpcheck_fail(BPCHECK_EINVAL, "unknown mode %d", (int)o.mode);
  if (o.max_named > BPCHECK_FUNCTION_MAX_NAMED)
    o.max_named = BPCHECK_FUNCTION_MAX_NAMED;
  for (size_t i = 0; i < P; i++)
    if (!isfinite(theta[i]))
      return bpcheck_fail(BPCHECK_EDOM, "theta[%zu] is %g", i, theta[i]);
  if (o.directions == 0)
    return bpcheck_fail(BPCHECK_EINVAL, "no directions to check along");
  if (!(o.spread >= 0) || !isfinite(o.spread))
    return bpcheck_fail(BPCHECK_EINVAL, "spread %g", o.spread);
  gsl_rng_set(w->rng, o.seed);
  w->direction = 0; /* numbered from 1 in each check */
  size_t loss_calls = 0, grad_calls = 0;
  int status = BPCHECK_SUCCESS;
  for (size_t k = 0; k <= o.points && !status; k++) {
    const double *at = theta;
    if (k) { /* theta_i + spread max(1, |theta_i|) u_i */
      for (size_t i = 0; i < P; i++)
        w->point[i] = theta[i] + o.spread * fmax(1.0, fabs(theta[i])) *
                                     (2.0 * gsl_rng_uniform(w->rng) - 1.0);
      at = w->point;
    }
    *res = (bpcheck_function_result){0};
    res->P = P;
    res->point = k;
    res->taylor_slope = NAN;
    res->directional = o.mode == BPCHECK_MODE_DIRECTIONAL ||
                       (o.mode == BPCHECK_MODE_AUTO && P > o.auto_params);
    w->fn = fn, w->along = along, w->data = data, w->theta = at;
    w->res = res;
    w->checked = at;
    for (size_t t = 0; t < w->T; t++)
      w->t[t].failed = 0;
    memcpy(w->x, at, P * sizeof *w->x);
    status = run(w, &o);
    res->loss_calls = loss_calls += res->loss_calls;
    res->grad_calls = grad_calls += res->grad_calls;
    w->fn = NULL, w->along = NULL, w->data = NULL, w->theta = NULL;
    w->res = NULL;
    if (!status && res->failed)
      break;
  }
  if (status)
    return status;
  if (!res->failed)
    return BPCHECK_SUCCESS;
  if (res->n_named) {
    const bpcheck_function_entry *e = &res->named[0];
    return bpcheck_fail(BPCHECK_EMISMATCH,
                        "%s: gradient %.17g, central difference %.17g "
                        "(allowance %.3g); %zu of %zu %s disagree%s",
                        e->name, e->received, e->expected, e->tol, res->failed,
                        res->checked,
                        res->directional ? "directions" : "entries",
                        res->point ? " at a random point near theta" : "");
  }
  return bpcheck_fail(BPCHECK_EMISMATCH,
                      "%zu of %zu directions disagree (v.g = %.17g, central "
                      "difference %.17g), %zu tensors named, no entry",
                      res->failed, res->checked, res->received, res->expected,
                      res->tensors_failed);
}
