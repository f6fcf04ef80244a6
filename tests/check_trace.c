/* check_trace.c -- the trace reports the numbers that are computed: each
 * quantity is rebuilt here from the other traced quantities by its own
 * equation, and the batch gradient is the literal backprop's. */

#include <float.h>
#include <math.h>
#include <string.h>

#include "suites.h"
#include "testutil.h"

#define MAXN 8
#define MAXL 4
#define MAXB 3

/* What the trace reported, by kind and indices. */
typedef struct {
  double x[MAXB][MAXN], y[MAXB][MAXN];
  double z[MAXB][MAXL + 1][MAXN], a[MAXB][MAXL + 1][MAXN];
  double delta[MAXB][MAXL + 1][MAXN], dC_da[MAXB][MAXN], C_s[MAXB];
  double dW[MAXB][MAXL + 1][MAXN][MAXN], db[MAXB][MAXL + 1][MAXN];
  double gW[MAXL + 1][MAXN][MAXN], gb[MAXL + 1][MAXN], C;
  double fp[MAXB][MAXL + 1][MAXN], back[MAXB][MAXL + 1][MAXN], sm[MAXB];
  size_t events;
  int order_ok; /* every forward z before any delta of the same sample */
  int seen_delta[MAXB];
} record;

static int
keep(const bpcheck_trace_event *e, void *data)
{
  record *r = data;
  size_t s = e->s, l = e->l, k = e->k, j = e->j;
  r->events++;
  ck_assert(e->equation && *e->equation);
  switch (e->kind) {
  case BPCHECK_TRACE_X: r->x[s][k] = e->value; break;
  case BPCHECK_TRACE_Y: r->y[s][k] = e->value; break;
  case BPCHECK_TRACE_Z:
    r->z[s][l][k] = e->value;
    r->order_ok = r->order_ok && !r->seen_delta[s];
    break;
  case BPCHECK_TRACE_A: r->a[s][l][k] = e->value; break;
  case BPCHECK_TRACE_COST: r->C_s[s] = e->value; break;
  case BPCHECK_TRACE_DC_DA: r->dC_da[s][k] = e->value; break;
  case BPCHECK_TRACE_DELTA:
    r->delta[s][l][k] = e->value;
    r->seen_delta[s] = 1;
    break;
  case BPCHECK_TRACE_DW: r->dW[s][l][k][j] = e->value; break;
  case BPCHECK_TRACE_DB: r->db[s][l][k] = e->value; break;
  case BPCHECK_TRACE_GRAD_W: r->gW[l][k][j] = e->value; break;
  case BPCHECK_TRACE_GRAD_B: r->gb[l][k] = e->value; break;
  case BPCHECK_TRACE_C: r->C = e->value; break;
  case BPCHECK_TRACE_FPRIME: r->fp[s][l][k] = e->value; break;
  case BPCHECK_TRACE_BACK: r->back[s][l][k] = e->value; break;
  case BPCHECK_TRACE_SM_SUM: r->sm[s] = e->value; break;
  }
  return 0;
}

/* 2-3-4-2 (tanh, sigmoid, softmax), categorical cross-entropy, batch 3. */
START_TEST(test_trace_is_the_computation)
{
  static const size_t n[] = {2, 3, 4, 2};
  static const bpcheck_activation f[] = {
      [1] = BPCHECK_TANH, BPCHECK_SIGMOID, BPCHECK_SOFTMAX};
  const size_t L = 3, B = 3;
  fixture x;
  fixture_init(&x, L, n, f, BPCHECK_CATEGORICAL_CROSS_ENTROPY, BPCHECK_MEAN, B,
               test_seed(3));
  static record r;
  memset(&r, 0, sizeof r);
  r.order_ok = 1;
  ck_assert_ok(bpcheck_trace(x.net, x.batch, x.mat, x.lw, keep, &r));
  double C;
  ck_assert_ok(bpcheck_literal_backprop(x.net, x.batch, x.lit, &C, x.lw));

  /* Every event is there: per sample x, y, z, a, C_s, dC/da, the softmax
   * sum, delta, its factors f' and (hidden) the backward sum, dW, db; then
   * the batch gradient and C. */
  size_t per_sample = n[0] + n[L] + 1 + n[L] + 1, P = x.lit->size;
  for (size_t l = 1; l <= L; l++)
    per_sample += 3 * n[l] + (l < L ? 2 * n[l] : 0);
  ck_assert_uint_eq(r.events, B * (per_sample + P) + P + 1);
  ck_assert(r.order_ok);

  for (size_t s = 0; s < B; s++) {
    for (size_t j = 0; j < n[0]; j++)
      ck_assert(r.x[s][j] == gsl_matrix_get(x.batch->X, j, s));
    for (size_t l = 1; l <= L; l++) {
      const double *a0 = l == 1 ? r.x[s] : r.a[s][l - 1];
      const gsl_matrix *W = &x.net->theta->W[l];
      for (size_t k = 0; k < n[l]; k++) {
        /* (FC.1) from the traced a^(l-1); the same sum in the same order */
        double z = gsl_vector_get(&x.net->theta->b[l], k);
        for (size_t j = 0; j < n[l - 1]; j++)
          z += gsl_matrix_get(W, k, j) * a0[j];
        ck_assert(z == r.z[s][l][k]);
        if (l < L) /* (FC.2) */
          ck_assert(r.a[s][l][k] == bpcheck_activation_f(f[l], z));
      }
    }
    for (size_t l = 1; l < L; l++) /* (FC.5) from the traced delta^(l+1) */
      for (size_t j = 0; j < n[l]; j++) {
        double sum = 0;
        for (size_t k = 0; k < n[l + 1]; k++)
          sum += gsl_matrix_get(&x.net->theta->W[l + 1], k, j) *
                 r.delta[s][l + 1][k];
        ck_assert(r.back[s][l][j] == sum); /* the factors, then delta */
        ck_assert(r.fp[s][l][j] == bpcheck_activation_df(f[l], r.z[s][l][j]));
        ck_assert(r.delta[s][l][j] == r.back[s][l][j] * r.fp[s][l][j]);
      }
    double sm = 0; /* (ACT.8) */
    for (size_t i = 0; i < n[L]; i++)
      sm += r.a[s][L][i] * r.dC_da[s][i];
    ck_assert(r.sm[s] == sm);
    /* (COST.6), as literal.c computes it: a sum(y) - y, which is (ACT.8)
     * to rounding */
    double sy = 0;
    for (size_t i = 0; i < n[L]; i++)
      sy += gsl_matrix_get(x.batch->Y, i, s);
    for (size_t k = 0; k < n[L]; k++) {
      const double y = gsl_matrix_get(x.batch->Y, k, s);
      ck_assert_double_eq_tol(r.delta[s][L][k], r.a[s][L][k] * sy - y,
                              8 * DBL_EPSILON * (r.a[s][L][k] * sy + y));
      ck_assert_double_eq_tol(
          r.delta[s][L][k], r.a[s][L][k] * (r.dC_da[s][k] - sm),
          8 * DBL_EPSILON * (r.a[s][L][k] * (fabs(r.dC_da[s][k]) + fabs(sm))));
    }
    for (size_t l = 1; l <= L; l++) /* (FC.6), (FC.7) */
      for (size_t k = 0; k < n[l]; k++) {
        const double *a0 = l == 1 ? r.x[s] : r.a[s][l - 1];
        for (size_t j = 0; j < n[l - 1]; j++)
          ck_assert(r.dW[s][l][k][j] == a0[j] * r.delta[s][l][k]);
        ck_assert(r.db[s][l][k] == r.delta[s][l][k]);
      }
  }
  /* The batch: the literal backprop's gradient and cost, bit for bit, and
   * r sum_s of the samples' within the rounding of three additions. */
  for (size_t l = 1; l <= L; l++)
    for (size_t k = 0; k < n[l]; k++) {
      double sum = 0, mag = 0;
      for (size_t j = 0; j < n[l - 1]; j++)
        ck_assert(r.gW[l][k][j] == gsl_matrix_get(&x.lit->W[l], k, j));
      ck_assert(r.gb[l][k] == gsl_vector_get(&x.lit->b[l], k));
      for (size_t s = 0; s < B; s++)
        sum += r.db[s][l][k], mag += fabs(r.db[s][l][k]);
      ck_assert_double_eq_tol(r.gb[l][k], sum / B, 8 * 2.2e-16 * mag);
    }
  ck_assert(r.C == C);
  ck_assert_double_eq_tol(r.C, (r.C_s[0] + r.C_s[1] + r.C_s[2]) / 3,
                          8 * 2.2e-16 * C);
  fixture_free(&x);
}
END_TEST

/* Where each event came, 1-based (0: never reported). */
typedef struct {
  size_t t;
  size_t x[MAXB][MAXN], y[MAXB][MAXN], z[MAXB][MAXL + 1][MAXN];
  size_t a[MAXB][MAXL + 1][MAXN], C_s[MAXB], dC_da[MAXB][MAXN], sm[MAXB];
  size_t back[MAXB][MAXL + 1][MAXN], fp[MAXB][MAXL + 1][MAXN];
  size_t delta[MAXB][MAXL + 1][MAXN], dW[MAXB][MAXL + 1][MAXN][MAXN];
  size_t db[MAXB][MAXL + 1][MAXN], gW[MAXL + 1][MAXN][MAXN];
  size_t gb[MAXL + 1][MAXN], C;
} when;

static int
keep_when(const bpcheck_trace_event *e, void *data)
{
  when *w = data;
  size_t s = e->s, l = e->l, k = e->k, j = e->j, t = ++w->t;
  switch (e->kind) {
  case BPCHECK_TRACE_X: w->x[s][k] = t; break;
  case BPCHECK_TRACE_Y: w->y[s][k] = t; break;
  case BPCHECK_TRACE_Z: w->z[s][l][k] = t; break;
  case BPCHECK_TRACE_A: w->a[s][l][k] = t; break;
  case BPCHECK_TRACE_COST: w->C_s[s] = t; break;
  case BPCHECK_TRACE_DC_DA: w->dC_da[s][k] = t; break;
  case BPCHECK_TRACE_SM_SUM: w->sm[s] = t; break;
  case BPCHECK_TRACE_BACK: w->back[s][l][k] = t; break;
  case BPCHECK_TRACE_FPRIME: w->fp[s][l][k] = t; break;
  case BPCHECK_TRACE_DELTA: w->delta[s][l][k] = t; break;
  case BPCHECK_TRACE_DW: w->dW[s][l][k][j] = t; break;
  case BPCHECK_TRACE_DB: w->db[s][l][k] = t; break;
  case BPCHECK_TRACE_GRAD_W: w->gW[l][k][j] = t; break;
  case BPCHECK_TRACE_GRAD_B: w->gb[l][k] = t; break;
  case BPCHECK_TRACE_C: w->C = t; break;
  }
  return 0;
}

/* Line `after` of the trace comes after line `before`, both printed. */
#define AFTER(after, before)                                                  \
  do {                                                                        \
    ck_assert_uint_gt((before), 0);                                           \
    ck_assert_uint_gt((after), (before));                                     \
  } while (0)

/* Every line of the trace comes after the lines it is computed from, as
 * the equations say: a softmax output (every z^L_i before any a^L_k), a
 * sigmoid output, two hidden layers, a batch of two. */
START_TEST(test_trace_order_follows_dependencies)
{
  static const size_t n[] = {3, 4, 3, 3};
  static const bpcheck_activation softmax[] = {[1] = BPCHECK_SIGMOID,
                                               BPCHECK_TANH,
                                               BPCHECK_SOFTMAX},
                                  sigmoid[] = {[1] = BPCHECK_RELU,
                                               BPCHECK_TANH,
                                               BPCHECK_SIGMOID};
  const size_t L = 3, B = 2;
  for (int net = 0; net < 2; net++) {
    const int sm = net == 0;
    fixture x;
    fixture_init(&x, L, n, sm ? softmax : sigmoid,
                 sm ? BPCHECK_CATEGORICAL_CROSS_ENTROPY : BPCHECK_QUADRATIC,
                 BPCHECK_MEAN, B, 5);
    static when w;
    memset(&w, 0, sizeof w);
    ck_assert_ok(bpcheck_trace(x.net, x.batch, x.mat, x.lw, keep_when, &w));
    for (size_t s = 0; s < B; s++) {
      for (size_t l = 1; l <= L; l++)
        for (size_t k = 0; k < n[l]; k++) {
          for (size_t j = 0; j < n[l - 1]; j++) /* (FC.1) */
            AFTER(w.z[s][l][k], l == 1 ? w.x[s][j] : w.a[s][l - 1][j]);
          if (sm && l == L) /* (ACT.6): every z^L_i */
            for (size_t i = 0; i < n[L]; i++)
              AFTER(w.a[s][l][k], w.z[s][l][i]);
          else /* (FC.2) */
            AFTER(w.a[s][l][k], w.z[s][l][k]);
        }
      for (size_t k = 0; k < n[L]; k++) { /* the cost, dC/da^L */
        AFTER(w.C_s[s], w.a[s][L][k]);
        AFTER(w.C_s[s], w.y[s][k]);
        AFTER(w.dC_da[s][k], w.a[s][L][k]);
        AFTER(w.dC_da[s][k], w.y[s][k]);
      }
      for (size_t k = 0; k < n[L]; k++)
        if (sm) { /* (ACT.8) */
          for (size_t i = 0; i < n[L]; i++)
            AFTER(w.sm[s], w.dC_da[s][i]);
          for (size_t i = 0; i < n[L]; i++)
            AFTER(w.sm[s], w.a[s][L][i]);
          AFTER(w.delta[s][L][k], w.sm[s]);
          AFTER(w.delta[s][L][k], w.dC_da[s][k]);
        } else { /* (FC.4) */
          AFTER(w.fp[s][L][k], w.z[s][L][k]);
          AFTER(w.delta[s][L][k], w.fp[s][L][k]);
          AFTER(w.delta[s][L][k], w.dC_da[s][k]);
        }
      for (size_t l = 1; l < L; l++) /* (FC.5) */
        for (size_t j = 0; j < n[l]; j++) {
          for (size_t k = 0; k < n[l + 1]; k++)
            AFTER(w.back[s][l][j], w.delta[s][l + 1][k]);
          AFTER(w.fp[s][l][j], w.z[s][l][j]);
          AFTER(w.delta[s][l][j], w.back[s][l][j]);
          AFTER(w.delta[s][l][j], w.fp[s][l][j]);
        }
      for (size_t l = 1; l <= L; l++) /* (FC.6), (FC.7), (COST.5) */
        for (size_t k = 0; k < n[l]; k++) {
          for (size_t j = 0; j < n[l - 1]; j++) {
            AFTER(w.dW[s][l][k][j], w.delta[s][l][k]);
            AFTER(w.dW[s][l][k][j], l == 1 ? w.x[s][j] : w.a[s][l - 1][j]);
            AFTER(w.gW[l][k][j], w.dW[s][l][k][j]);
          }
          AFTER(w.db[s][l][k], w.delta[s][l][k]);
          AFTER(w.gb[l][k], w.db[s][l][k]);
        }
      AFTER(w.C, w.C_s[s]);
    }
    fixture_free(&x);
  }
}
END_TEST

typedef struct {
  const char *x, *y, *cost, *a0, *zL;
} labels;

static int
keep_labels(const bpcheck_trace_event *e, void *data)
{
  labels *b = data;
  switch (e->kind) {
  case BPCHECK_TRACE_X: b->x = e->equation; break;
  case BPCHECK_TRACE_Y: b->y = e->equation; break;
  case BPCHECK_TRACE_COST: b->cost = e->equation; break;
  case BPCHECK_TRACE_A: b->a0 = e->equation; break;
  case BPCHECK_TRACE_Z: b->zL = e->equation; break;
  default: break;
  }
  return 0;
}

/* The targets carry the cost's equation, whatever the cost; a^0 = x is a
 * definition, not (FC.1). */
START_TEST(test_trace_labels)
{
  static const size_t n[] = {2, 3};
  static const char *cost_eq[] = {"COST.1", "COST.2", "COST.3", "COST.4"};
  for (int c = 0; c < BPCHECK_N_COSTS; c++) {
    const bpcheck_activation f[] = {
        [1] = c == BPCHECK_CATEGORICAL_CROSS_ENTROPY ? BPCHECK_SOFTMAX
                                                     : BPCHECK_SIGMOID};
    fixture x;
    fixture_init(&x, 1, n, f, (bpcheck_cost)c, BPCHECK_SUM, 1, 1);
    labels b = {0};
    ck_assert_ok(bpcheck_trace(x.net, x.batch, x.mat, x.lw, keep_labels, &b));
    ck_assert_str_eq(b.y, cost_eq[c]);
    ck_assert_str_eq(b.cost, cost_eq[c]);
    ck_assert_str_eq(b.x, "definition");
    ck_assert_str_eq(b.zL, "FC.1");
    ck_assert_str_eq(b.a0, c == BPCHECK_CATEGORICAL_CROSS_ENTROPY ? "ACT.6"
                                                                  : "FC.2");
    fixture_free(&x);
  }
}
END_TEST

/* A mutant's trace reports the mutant's own factors: with df_of_a the
 * f' lines are f'(a), and the deltas their products. */
START_TEST(test_trace_mutant)
{
  static const size_t n[] = {2, 3, 2};
  static const bpcheck_activation f[] = {[1] = BPCHECK_TANH, BPCHECK_SIGMOID};
  fixture x;
  fixture_init(&x, 2, n, f, BPCHECK_QUADRATIC, BPCHECK_SUM, 1, 2);
  static record r;
  memset(&r, 0, sizeof r);
  ck_assert_ok(bpcheck_trace_mutant(x.net, x.batch, x.mat, x.lw, keep, &r,
                                    BPCHECK_MUTANT_DF_OF_A));
  for (size_t l = 1; l <= 2; l++)
    for (size_t k = 0; k < n[l]; k++) {
      ck_assert(r.fp[0][l][k] == bpcheck_activation_df(f[l], r.a[0][l][k]));
      ck_assert(r.fp[0][l][k] != bpcheck_activation_df(f[l], r.z[0][l][k]));
    }
  for (size_t k = 0; k < n[2]; k++)
    ck_assert(r.delta[0][2][k] == r.dC_da[0][k] * r.fp[0][2][k]);
  fixture_free(&x);
}
END_TEST

static int
stop_at_first(const bpcheck_trace_event *e, void *data)
{
  (void)e;
  ++*(int *)data;
  return 1;
}

/* Stops when the count left reaches 0. */
static int
stop_after(const bpcheck_trace_event *e, void *data)
{
  (void)e;
  return --*(long *)data <= 0;
}

/* A stop is honoured at every event, whatever its kind: exactly n events
 * are reported when the callback stops at the n-th. */
START_TEST(test_trace_stops_anywhere)
{
  static const size_t n[] = {2, 3, 2};
  static const bpcheck_activation f[] = {[1] = BPCHECK_SIGMOID,
                                         BPCHECK_SOFTMAX};
  fixture x;
  fixture_init(&x, 2, n, f, BPCHECK_CATEGORICAL_CROSS_ENTROPY, BPCHECK_SUM, 2,
               1);
  long total = 1L << 30;
  ck_assert_ok(bpcheck_trace(x.net, x.batch, x.mat, x.lw, stop_after, &total));
  long events = (1L << 30) - total;
  for (long stop = 1; stop <= events; stop++) {
    long left = stop;
    ck_assert_ok(
        bpcheck_trace(x.net, x.batch, x.mat, x.lw, stop_after, &left));
    ck_assert_int_eq(left, 0);
  }
  fixture_free(&x);
}
END_TEST

START_TEST(test_trace_stops)
{
  static const size_t n[] = {2, 3, 1};
  static const bpcheck_activation f[] = {[1] = BPCHECK_SIGMOID,
                                         BPCHECK_SIGMOID};
  fixture x;
  fixture_init(&x, 2, n, f, BPCHECK_QUADRATIC, BPCHECK_SUM, 2, 1);
  int calls = 0;
  ck_assert_ok(
      bpcheck_trace(x.net, x.batch, x.mat, x.lw, stop_at_first, &calls));
  ck_assert_int_eq(calls, 1);
  fixture_free(&x);
}
END_TEST

START_TEST(test_trace_errors)
{
  static const size_t n[] = {2, 3, 1}, other[] = {2, 4, 1};
  static const bpcheck_activation f[] = {[1] = BPCHECK_SIGMOID,
                                         BPCHECK_SIGMOID};
  fixture x;
  fixture_init(&x, 2, n, f, BPCHECK_QUADRATIC, BPCHECK_SUM, 2, 1);
  bpcheck_params *p;
  ck_assert_ok(bpcheck_params_alloc(&p, 2, other));
  int calls = 0;
  ck_assert_int_eq(
      bpcheck_trace(x.net, x.batch, p, x.lw, stop_at_first, &calls),
      BPCHECK_EBADLEN);
  gsl_matrix_set(x.batch->X, 0, 1, NAN);
  ck_assert_int_eq(
      bpcheck_trace(x.net, x.batch, x.mat, x.lw, stop_at_first, &calls),
      BPCHECK_EDOM);
  ck_assert_int_eq(calls, 0);
  bpcheck_params_free(p);
  fixture_free(&x);
  gsl_guard_check();
}
END_TEST

Suite *
make_trace_suite(void)
{
  Suite *s = suite_create("trace");
  TCase *core = tcase_create("Core");
  tcase_set_timeout(core, TEST_TIMEOUT);
  tcase_add_test(core, test_trace_is_the_computation);
  tcase_add_test(core, test_trace_stops);
  tcase_add_test(core, test_trace_stops_anywhere);
  tcase_add_test(core, test_trace_order_follows_dependencies);
  tcase_add_test(core, test_trace_labels);
  tcase_add_test(core, test_trace_mutant);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("Errors");
  tcase_set_timeout(errors, TEST_TIMEOUT);
  tcase_add_checked_fixture(errors, gsl_guard_setup, gsl_guard_teardown);
  tcase_add_test(errors, test_trace_errors);
  suite_add_tcase(s, errors);
  return s;
}
