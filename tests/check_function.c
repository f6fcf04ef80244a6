/* check_function.c -- bpcheck_check_function on models the case files
 * cannot describe: a two-layer convolution with its hand-written backward
 * pass (right, and with planted bugs: a kernel not flipped, a missing term
 * in one tensor, one wrong entry), the fully connected network through
 * bpcheck_matrix_backprop, a function of 10^6 parameters in directional
 * mode, a loss with known noise, and kinks (reported, not failed); the
 * loss calls as steps along numbered directions give the same result. */

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "suites.h"
#include "testutil.h"

/* A small convolutional model ------------------------------------------- */

/* x (B x 1 x 5 x 5) -> conv1 (4 x 1 x 3 x 3, valid) -> tanh -> conv2 (2 x 4
 * x 2 x 2, valid) -> z2 (B x 2 x 2 x 2); C = 1/(2B) sum (z2 - y)^2.  Every
 * convolution is a cross-correlation, as in PyTorch. */
#define CB 2
#define CH 5
#define C1 4
#define K1 3
#define H1 (CH - K1 + 1) /* 3 */
#define C2 2
#define K2 2
#define H2 (H1 - K2 + 1) /* 2 */
#define N_W1 (C1 * K1 * K1)
#define N_W2 (C2 * C1 * K2 * K2)
#define CONV_P (N_W1 + C1 + N_W2 + C2) /* 36 + 4 + 32 + 2 = 74 */

enum { CONV_RIGHT, CONV_NOT_FLIPPED, CONV_MISSING_TERM, CONV_ONE_ENTRY };

typedef struct {
  double x[CB][CH][CH], y[CB][C2][H2][H2];
  int bug;
} conv_data;

static const size_t shape_w1[] = {C1, 1, K1, K1}, shape_b1[] = {C1},
                    shape_w2[] = {C2, C1, K2, K2}, shape_b2[] = {C2};
static const bpcheck_tensor conv_tensors[] = {{"conv1.weight", 4, shape_w1},
                                              {"conv1.bias", 1, shape_b1},
                                              {"conv2.weight", 4, shape_w2},
                                              {"conv2.bias", 1, shape_b2}};
/* The flat index of conv1.weight[2,0,1,2], the entry the one-entry bug
 * changes. */
#define ONE_ENTRY ((2 * K1 + 1) * K1 + 2)

static int
conv_loss(const double *theta, size_t P, double *loss, double *grad,
          void *data)
{
  const conv_data *d = data;
  if (P != CONV_P)
    return bpcheck_fail(BPCHECK_EBADLEN, "the model has %d parameters",
                        CONV_P);
  const double(*w1)[K1][K1] = (const void *)theta; /* [C1][1][K1][K1] */
  const double *b1 = theta + N_W1;
  const double(*w2)[C1][K2][K2] = (const void *)(theta + N_W1 + C1);
  const double *b2 = theta + N_W1 + C1 + N_W2;
  double a1[CB][C1][H1][H1], z2[CB][C2][H2][H2], C = 0;
  for (int s = 0; s < CB; s++) {
    for (int o = 0; o < C1; o++)
      for (int i = 0; i < H1; i++)
        for (int j = 0; j < H1; j++) {
          double z = b1[o];
          for (int p = 0; p < K1; p++)
            for (int q = 0; q < K1; q++)
              z += w1[o][p][q] * d->x[s][i + p][j + q];
          a1[s][o][i][j] = tanh(z);
        }
    for (int o = 0; o < C2; o++)
      for (int i = 0; i < H2; i++)
        for (int j = 0; j < H2; j++) {
          double z = b2[o];
          for (int c = 0; c < C1; c++)
            for (int p = 0; p < K2; p++)
              for (int q = 0; q < K2; q++)
                z += w2[o][c][p][q] * a1[s][c][i + p][j + q];
          z2[s][o][i][j] = z;
          C += 0.5 * (z - d->y[s][o][i][j]) * (z - d->y[s][o][i][j]) / CB;
        }
  }
  *loss = C;
  if (!grad)
    return BPCHECK_SUCCESS;
  memset(grad, 0, P * sizeof *grad);
  double(*gw1)[K1][K1] = (void *)grad;
  double *gb1 = grad + N_W1;
  double(*gw2)[C1][K2][K2] = (void *)(grad + N_W1 + C1);
  double *gb2 = grad + N_W1 + C1 + N_W2;
  for (int s = 0; s < CB; s++) {
    /* dC/dz2, padded by K2 - 1 on each side for the full convolution */
    double dpad[C2][H2 + 2 * (K2 - 1)][H2 + 2 * (K2 - 1)] = {{{0}}};
    for (int o = 0; o < C2; o++)
      for (int i = 0; i < H2; i++)
        for (int j = 0; j < H2; j++) {
          double dz = (z2[s][o][i][j] - d->y[s][o][i][j]) / CB;
          dpad[o][i + K2 - 1][j + K2 - 1] = dz;
          gb2[o] += dz;
          for (int c = 0; c < C1; c++)
            for (int p = 0; p < K2; p++)
              for (int q = 0; q < K2; q++)
                gw2[o][c][p][q] += dz * a1[s][c][i + p][j + q];
        }
    /* dC/da1: the full convolution of dC/dz2 with the kernel rotated by
     * 180 degrees -- or, with the bug, not rotated */
    for (int c = 0; c < C1; c++)
      for (int i = 0; i < H1; i++)
        for (int j = 0; j < H1; j++) {
          double da = 0;
          for (int o = 0; o < C2; o++)
            for (int p = 0; p < K2; p++)
              for (int q = 0; q < K2; q++) {
                double k = d->bug == CONV_NOT_FLIPPED
                               ? w2[o][c][p][q]
                               : w2[o][c][K2 - 1 - p][K2 - 1 - q];
                da += dpad[o][i + p][j + q] * k;
              }
          double dz = da * (1 - a1[s][c][i][j] * a1[s][c][i][j]);
          gb1[c] += dz;
          if (d->bug == CONV_MISSING_TERM && s == CB - 1)
            continue; /* conv1.weight forgets the last sample */
          for (int p = 0; p < K1; p++)
            for (int q = 0; q < K1; q++)
              gw1[c][p][q] += dz * d->x[s][i + p][j + q];
        }
  }
  if (d->bug == CONV_ONE_ENTRY)
    grad[ONE_ENTRY] += 1e-4;
  return BPCHECK_SUCCESS;
}

static void
conv_init(conv_data *d, double *theta, unsigned long seed)
{
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  ck_assert_ptr_nonnull(r);
  gsl_rng_set(r, seed);
  double *x = &d->x[0][0][0], *y = &d->y[0][0][0][0];
  for (size_t i = 0; i < sizeof d->x / sizeof *x; i++)
    x[i] = 2 * gsl_rng_uniform(r) - 1;
  for (size_t i = 0; i < sizeof d->y / sizeof *y; i++)
    y[i] = 2 * gsl_rng_uniform(r) - 1;
  for (size_t i = 0; i < CONV_P; i++)
    theta[i] = gsl_rng_uniform(r) - 0.5;
  d->bug = CONV_RIGHT;
  gsl_rng_free(r);
}

static bpcheck_function_workspace *
conv_workspace(void)
{
  bpcheck_function_workspace *w;
  ck_assert_ok(bpcheck_function_alloc(&w, CONV_P, conv_tensors, 4));
  return w;
}

/* Named entries are wrong, and their central difference is the right
 * gradient's entry within its allowance. */
static void
assert_named_wrong(const bpcheck_function_result *res, const double *right,
                   const double *wrong)
{
  for (size_t k = 0; k < res->n_named; k++) {
    const bpcheck_function_entry *e = &res->named[k];
    ck_assert_msg(fabs(e->expected - right[e->index]) <= e->tol,
                  "%s: central difference %g, right gradient %g, allowance "
                  "%g",
                  e->name, e->expected, right[e->index], e->tol);
    ck_assert_msg(fabs(wrong[e->index] - right[e->index]) > e->tol,
                  "%s named, but its gradient is right", e->name);
    ck_assert(e->received == wrong[e->index]);
  }
}

START_TEST(test_conv_right)
{
  conv_data d = {0};
  double theta[CONV_P], before[CONV_P];
  conv_init(&d, theta, test_seed(160 + (unsigned long)_i));
  memcpy(before, theta, sizeof theta);
  bpcheck_function_workspace *w = conv_workspace();
  bpcheck_function_options o;
  bpcheck_function_options_default(&o);
  o.seed = test_seed(7);
  bpcheck_function_result res;
  for (int mode = 0; mode < 2; mode++) {
    o.mode = mode ? BPCHECK_MODE_DIRECTIONAL : BPCHECK_MODE_AUTO;
    ck_assert_ok(
        bpcheck_check_function(conv_loss, &d, theta, CONV_P, &o, w, &res));
    ck_assert_int_eq(res.directional, mode);
    ck_assert_uint_eq(res.checked, mode ? 4 : CONV_P);
    ck_assert_uint_eq(res.kinks, 0);
    ck_assert_uint_eq(res.failed, 0);
    ck_assert_uint_eq(res.n_named, 0);
    ck_assert_uint_eq(res.tensors_failed, 0);
    ck_assert(res.max_ratio < 1);
    ck_assert_msg(fabs(res.taylor_slope - 2) < 0.2, "Taylor slope %g",
                  res.taylor_slope);
    ck_assert_int_eq(res.taylor_kink, 0);
    ck_assert_uint_eq(res.grad_calls, 1);
    ck_assert(res.noise > 0 && res.noise < 1e-12);
    /* full: 6 loss calls an entry, the noise's 9, Taylor's 40 */
    if (!mode)
      ck_assert_uint_eq(res.loss_calls, 6 * CONV_P + 9 + 40);
  }
  ck_assert_int_eq(memcmp(before, theta, sizeof theta), 0);
  bpcheck_function_free(w);
}
END_TEST

/* The bugs: the tensors named, and the entries named exactly. */
START_TEST(test_conv_bugs)
{
  conv_data d = {0};
  double theta[CONV_P], right[CONV_P], wrong[CONV_P], C;
  conv_init(&d, theta, test_seed(170));
  ck_assert_ok(conv_loss(theta, CONV_P, &C, right, &d));
  bpcheck_function_workspace *w = conv_workspace();
  bpcheck_function_options o;
  bpcheck_function_options_default(&o);
  o.seed = test_seed(8);
  o.mode = _i ? BPCHECK_MODE_FULL : BPCHECK_MODE_DIRECTIONAL;
  bpcheck_function_result res;
  /* expected failing tensors of each bug, bit t for tensor t */
  const unsigned expect[] = {0, 1 | 2, 1, 1};
  for (int bug = CONV_NOT_FLIPPED; bug <= CONV_ONE_ENTRY; bug++) {
    d.bug = bug;
    ck_assert_ok(conv_loss(theta, CONV_P, &C, wrong, &d));
    ck_assert_int_eq(
        bpcheck_check_function(conv_loss, &d, theta, CONV_P, &o, w, &res),
        BPCHECK_EMISMATCH);
    unsigned failed = 0;
    for (size_t t = 0; t < 4; t++)
      failed |= (unsigned)bpcheck_function_tensor_failed(w, t) << t;
    ck_assert_msg(failed == expect[bug], "bug %d: tensors %x failed", bug,
                  failed);
    ck_assert_uint_eq(res.first_tensor, 0);
    ck_assert_str_eq(bpcheck_function_tensor_name(w, res.first_tensor),
                     "conv1.weight");
    ck_assert_uint_gt(res.n_named, 0);
    assert_named_wrong(&res, right, wrong);
    if (bug == CONV_ONE_ENTRY) {
      ck_assert_uint_eq(res.n_named, 1);
      ck_assert_str_eq(res.named[0].name, "conv1.weight[2,0,1,2]");
      ck_assert_uint_eq(res.named[0].index, ONE_ENTRY);
    }
    if (_i) { /* full: every wrong entry named */
      size_t n_wrong = 0;
      for (size_t i = 0; i < CONV_P; i++)
        n_wrong += fabs(wrong[i] - right[i]) > 1e-9;
      ck_assert_uint_eq(res.n_named, n_wrong < 16 ? n_wrong : 16);
    }
    ck_assert(strstr(bpcheck_errmsg(), "conv1.weight["));
  }
  bpcheck_function_free(w);
}
END_TEST

/* The fully connected network through bpcheck_matrix_backprop ----------- */

typedef struct {
  bpcheck_net *net;
  bpcheck_batch *batch;
  bpcheck_matrix_workspace *mw;
  bpcheck_params *nabla;
  double scale_b2; /* 1, or a planted factor on dC/db^2 */
} fc_data;

/* A planted error of fc_loss's gradient: entry wrong_entry off by
 * wrong_by (SIZE_MAX: none). */
static size_t wrong_entry = SIZE_MAX;
static double wrong_by;

static int
fc_loss(const double *theta, size_t P, double *loss, double *grad, void *data)
{
  fc_data *d = data;
  memcpy(d->net->theta->data, theta, P * sizeof *theta);
  if (!grad)
    return bpcheck_matrix_cost(d->net, d->batch, loss, d->mw);
  int status =
      bpcheck_matrix_backprop(d->net, d->batch, d->nabla, loss, d->mw);
  memcpy(grad, d->nabla->data, P * sizeof *grad);
  gsl_vector_scale(&d->nabla->b[2], d->scale_b2);
  size_t first = bpcheck_params_index_b(d->nabla, 2, 0);
  for (size_t k = 0; k < d->nabla->n[2]; k++)
    grad[first + k] = d->nabla->data[first + k];
  if (wrong_entry < P)
    grad[wrong_entry] += wrong_by;
  return status;
}

START_TEST(test_fc)
{
  static const size_t n[] = {4, 6, 3};
  static const bpcheck_activation f[] = {[1] = BPCHECK_TANH, BPCHECK_SIGMOID};
  fixture x;
  fixture_init(&x, 2, n, f, BPCHECK_QUADRATIC, BPCHECK_MEAN, 5,
               test_seed(180));
  const size_t sw1[] = {6, 4}, sb1[] = {6}, sw2[] = {3, 6}, sb2[] = {3};
  const bpcheck_tensor tensors[] = {{"fc1.weight", 2, sw1},
                                    {"fc1.bias", 1, sb1},
                                    {"fc2.weight", 2, sw2},
                                    {"fc2.bias", 1, sb2}};
  fc_data d = {x.net, x.batch, x.mw, x.mat, 1.0};
  const size_t P = x.net->theta->size;
  double theta[64];
  ck_assert_uint_le(P, 64);
  memcpy(theta, x.net->theta->data, P * sizeof *theta);
  bpcheck_function_workspace *w;
  ck_assert_ok(bpcheck_function_alloc(&w, P, tensors, 4));
  bpcheck_function_options o;
  bpcheck_function_options_default(&o);
  o.seed = test_seed(9);
  bpcheck_function_result res;
  for (int mode = 0; mode < 2; mode++) {
    o.mode = mode ? BPCHECK_MODE_DIRECTIONAL : BPCHECK_MODE_FULL;
    d.scale_b2 = 1.0;
    ck_assert_ok(bpcheck_check_function(fc_loss, &d, theta, P, &o, w, &res));
    ck_assert(res.max_ratio < 1);
    d.scale_b2 = 2.0; /* dC/db^2 twice what it is */
    ck_assert_int_eq(
        bpcheck_check_function(fc_loss, &d, theta, P, &o, w, &res),
        BPCHECK_EMISMATCH);
    ck_assert_uint_eq(res.tensors_failed, 1);
    ck_assert_str_eq(bpcheck_function_tensor_name(w, res.first_tensor),
                     "fc2.bias");
    ck_assert_uint_eq(res.n_named, 3);
    ck_assert(strncmp(res.named[0].name, "fc2.bias[", 9) == 0);
    char name[64];
    bpcheck_function_entry_name(w, 5 * 4 + 3, name, sizeof name);
    ck_assert_str_eq(name, "fc1.weight[5,3]");
  }
  bpcheck_function_free(w);
  fixture_free(&x);
}
END_TEST

/* A relu network: its kinks are reported, never failed, and a wrong entry
 * is still named (halves that cross a kink are measured at the small
 * step). */
START_TEST(test_relu)
{
  static const size_t n[] = {10, 30, 30, 5};
  static const bpcheck_activation f[] = {
      [1] = BPCHECK_RELU, BPCHECK_RELU, BPCHECK_IDENTITY};
  fixture x;
  fixture_init(&x, 3, n, f, BPCHECK_QUADRATIC, BPCHECK_MEAN, 8,
               test_seed(200 + (unsigned long)_i));
  fc_data d = {x.net, x.batch, x.mw, x.mat, 1.0};
  const size_t P = x.net->theta->size;
  double theta[1415];
  ck_assert_uint_eq(P, 1415);
  memcpy(theta, x.net->theta->data, sizeof theta);
  bpcheck_function_workspace *w;
  ck_assert_ok(bpcheck_function_alloc(&w, P, NULL, 0));
  bpcheck_function_options o;
  bpcheck_function_options_default(&o);
  o.seed = test_seed(13 + (unsigned long)_i);
  o.mode = BPCHECK_MODE_DIRECTIONAL;
  bpcheck_function_result res;
  ck_assert_ok(bpcheck_check_function(fc_loss, &d, theta, P, &o, w, &res));
  ck_assert_uint_eq(res.failed, 0);
  /* Directions that are kinks are drawn again, up to 16 in all. */
  ck_assert(res.checked == 4 || res.checked + res.kinks == 16);
  if (res.checked == 0) {
    /* Every direction crosses a kink: a relu input within a step of 0
     * (1 network in 300), where no direction over all of theta is judged.
     * Nothing to find a wrong entry with. */
    bpcheck_function_free(w);
    fixture_free(&x);
    return;
  }
  /* dC/dW^2_10,15 off by 1e-3 (1 + |g|) */
  const size_t i = bpcheck_params_index_W(x.mat, 2, 10, 15);
  ck_assert_ok(bpcheck_matrix_backprop(x.net, x.batch, x.mat, NULL, x.mw));
  wrong_entry = i, wrong_by = 1e-3 * (1 + fabs(x.mat->data[i]));
  int status = bpcheck_check_function(fc_loss, &d, theta, P, &o, w, &res);
  wrong_entry = SIZE_MAX;
  ck_assert_int_eq(status, BPCHECK_EMISMATCH);
  ck_assert_uint_ge(res.n_named, 1);
  ck_assert_uint_eq(res.named[0].index, i);
  ck_assert_str_eq(res.named[0].name, "theta[645]");
  bpcheck_function_free(w);
  fixture_free(&x);
}
END_TEST

/* A million parameters ---------------------------------------------------- */

#define BIG_ROWS 1000
#define BIG_COLS 999
#define BIG_P ((size_t)BIG_ROWS * BIG_COLS + BIG_ROWS)

typedef struct {
  size_t wrong; /* an entry whose gradient is off, or BIG_P: none */
} big_data;

/* t_i in [-1/2, 1/2), from i alone */
static double
big_target(size_t i)
{
  return (double)((i * 2654435761u) % 1000) / 1000.0 - 0.5;
}

/* C = sum_i u^2/2 + u^4/24, u = theta_i - t_i. */
static int
big_loss(const double *theta, size_t P, double *loss, double *grad, void *data)
{
  const big_data *d = data;
  double C = 0;
  for (size_t i = 0; i < P; i++) {
    double u = theta[i] - big_target(i), u2 = u * u;
    C += u2 * (0.5 + u2 / 24);
    if (grad)
      grad[i] = u * (1 + u2 / 6);
  }
  *loss = C;
  if (grad && d->wrong < P)
    grad[d->wrong] += 0.01;
  return BPCHECK_SUCCESS;
}

START_TEST(test_million)
{
  static double theta[BIG_P];
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, test_seed(190));
  for (size_t i = 0; i < BIG_P; i++)
    theta[i] = gsl_rng_uniform(r) * 2 - 1;
  gsl_rng_free(r);
  const size_t sw[] = {BIG_ROWS, BIG_COLS}, sb[] = {BIG_ROWS};
  const bpcheck_tensor tensors[] = {{"embedding.weight", 2, sw},
                                    {"head.bias", 1, sb}};
  bpcheck_function_workspace *w;
  ck_assert_ok(bpcheck_function_alloc(&w, BIG_P, tensors, 2));
  bpcheck_function_options o;
  bpcheck_function_options_default(&o); /* auto: directional here */
  o.seed = test_seed(10);
  bpcheck_function_result res;
  big_data d = {BIG_P};
  ck_assert_ok(
      bpcheck_check_function(big_loss, &d, theta, BIG_P, &o, w, &res));
  ck_assert_int_eq(res.directional, 1);
  ck_assert_uint_eq(res.checked, 4);
  ck_assert_uint_le(res.loss_calls, 100);
  ck_assert_uint_eq(res.grad_calls, 1);
  ck_assert_msg(fabs(res.taylor_slope - 2) < 0.2, "slope %g",
                res.taylor_slope);
  /* One wrong entry of a million: named in about 6 log2 P loss calls. */
  d.wrong = 617 * BIG_COLS + 42;
  ck_assert_int_eq(
      bpcheck_check_function(big_loss, &d, theta, BIG_P, &o, w, &res),
      BPCHECK_EMISMATCH);
  ck_assert_uint_eq(res.tensors_failed, 1);
  ck_assert_uint_eq(res.first_tensor, 0);
  ck_assert_uint_eq(res.n_named, 1);
  ck_assert_str_eq(res.named[0].name, "embedding.weight[617,42]");
  ck_assert_uint_le(res.loss_calls, 300);
  bpcheck_function_free(w);
}
END_TEST

/* Noise and kinks --------------------------------------------------------- */

typedef struct {
  double sigma;  /* noise added to the loss */
  size_t wrong;  /* an entry whose gradient is off by 1e-3 (or >= P) */
  double kink;   /* distance of theta_0 from its kink (|.| term) */
  int one_sided; /* gradient of the |.| term at 0: +1 instead of 0 */
} noisy_data;

/* A hash of theta's bits, uniform in [-1/2, 1/2): deterministic noise. */
static double
bits_noise(const double *theta, size_t P)
{
  uint64_t h = 1469598103934665603u;
  for (size_t i = 0; i < P; i++) {
    uint64_t b;
    memcpy(&b, &theta[i], sizeof b);
    h = (h ^ b) * 1099511628211u;
    h ^= h >> 29;
  }
  return (double)(h >> 11) / 9007199254740992.0 - 0.5;
}

/* C = sum_i (theta_i - i/10)^2 / 2 + |theta_0 - c| + noise, c = theta_0 at
 * the start minus kink. */
static int
noisy_loss(const double *theta, size_t P, double *loss, double *grad,
           void *data)
{
  const noisy_data *d = data;
  double C = 0;
  for (size_t i = 0; i < P; i++) {
    double u = theta[i] - 0.1 * (double)i;
    C += u * u / 2;
    if (grad)
      grad[i] = u;
  }
  const double c = 0.25 - d->kink, k = theta[0] - c;
  C += fabs(k);
  if (grad) {
    grad[0] += k > 0 ? 1 : k < 0 ? -1 : d->one_sided;
    if (d->wrong < P)
      grad[d->wrong] += 1e-3;
  }
  *loss = C + d->sigma * sqrt(12.0) * bits_noise(theta, P);
  return BPCHECK_SUCCESS;
}

START_TEST(test_noise)
{
  double theta[20];
  for (size_t i = 0; i < 20; i++)
    theta[i] = 0.1 * (double)i + 0.5 * sin((double)i);
  theta[0] = 0.25;
  bpcheck_function_workspace *w;
  ck_assert_ok(bpcheck_function_alloc(&w, 20, NULL, 0));
  bpcheck_function_options o;
  bpcheck_function_options_default(&o);
  o.seed = test_seed(11);
  o.mode = _i ? BPCHECK_MODE_DIRECTIONAL : BPCHECK_MODE_FULL;
  bpcheck_function_result res;
  noisy_data d = {1e-9, 20, 1.0, 0};
  ck_assert_ok(bpcheck_check_function(noisy_loss, &d, theta, 20, &o, w, &res));
  ck_assert_int_eq(res.noise_observed, 1);
  ck_assert_msg(res.noise_sigma > 1e-9 / 8 && res.noise_sigma < 4e-9,
                "sigma %g observed, 1e-9 added", res.noise_sigma);
  d.wrong = 13;
  ck_assert_int_eq(
      bpcheck_check_function(noisy_loss, &d, theta, 20, &o, w, &res),
      BPCHECK_EMISMATCH);
  ck_assert_uint_eq(res.n_named, 1);
  ck_assert_str_eq(res.named[0].name, "theta[13]");
  /* Without noise: an exactly computed loss still has a floor. */
  d = (noisy_data){0, 20, 1.0, 0};
  ck_assert_ok(bpcheck_check_function(noisy_loss, &d, theta, 20, &o, w, &res));
  ck_assert(res.noise >= 2.2e-16 * fabs(res.loss));
  bpcheck_function_free(w);
}
END_TEST

START_TEST(test_kinks)
{
  double theta[20];
  for (size_t i = 0; i < 20; i++)
    theta[i] = 0.1 * (double)i + 0.5 * cos((double)i);
  theta[0] = 0.25;
  bpcheck_function_workspace *w;
  ck_assert_ok(bpcheck_function_alloc(&w, 20, NULL, 0));
  bpcheck_function_options o;
  bpcheck_function_options_default(&o);
  o.seed = test_seed(12);
  o.mode = _i ? BPCHECK_MODE_DIRECTIONAL : BPCHECK_MODE_FULL;
  bpcheck_function_result res;
  /* A kink 2e-5 away: within the step, outside the retry's. */
  noisy_data d = {0, 20, 2e-5, 0};
  ck_assert_ok(bpcheck_check_function(noisy_loss, &d, theta, 20, &o, w, &res));
  ck_assert_uint_ge(res.kinks, 1);
  ck_assert_uint_eq(res.failed, 0);
  /* A kink at theta itself, the gradient one of its one-sided values. */
  d = (noisy_data){0, 20, 0, 1};
  ck_assert_ok(bpcheck_check_function(noisy_loss, &d, theta, 20, &o, w, &res));
  ck_assert_uint_ge(res.kinks, 1);
  ck_assert_uint_eq(res.failed, 0);
  /* ... but a wrong entry elsewhere is still found in full mode */
  d.wrong = 7;
  if (!_i) {
    ck_assert_int_eq(
        bpcheck_check_function(noisy_loss, &d, theta, 20, &o, w, &res),
        BPCHECK_EMISMATCH);
    ck_assert_str_eq(res.named[0].name, "theta[7]");
  }
  bpcheck_function_free(w);
}
END_TEST

/* A gradient right at theta only: entry 3 is off by 10 (theta_0 - 1/4). */
static int
right_at_start(const double *theta, size_t P, double *loss, double *grad,
               void *data)
{
  (void)data;
  double C = 0;
  for (size_t i = 0; i < P; i++) {
    double u = theta[i] - 0.1 * (double)i;
    C += u * u / 2;
    if (grad)
      grad[i] = u;
  }
  if (grad)
    grad[3] += 10 * (theta[0] - 0.25);
  *loss = C;
  return BPCHECK_SUCCESS;
}

START_TEST(test_points)
{
  double theta[12];
  for (size_t i = 0; i < 12; i++)
    theta[i] = 0.1 * (double)i + 0.3 * sin((double)i + 1);
  theta[0] = 0.25;
  bpcheck_function_workspace *w;
  ck_assert_ok(bpcheck_function_alloc(&w, 12, NULL, 0));
  bpcheck_function_options o;
  bpcheck_function_options_default(&o);
  o.seed = test_seed(14);
  o.mode = _i ? BPCHECK_MODE_DIRECTIONAL : BPCHECK_MODE_FULL;
  bpcheck_function_result res;
  ck_assert_ok(
      bpcheck_check_function(right_at_start, NULL, theta, 12, &o, w, &res));
  ck_assert_uint_eq(res.point, 0);
  ck_assert(bpcheck_function_point(w) == theta);
  o.points = 3;
  ck_assert_int_eq(
      bpcheck_check_function(right_at_start, NULL, theta, 12, &o, w, &res),
      BPCHECK_EMISMATCH);
  ck_assert_uint_ge(res.point, 1);
  ck_assert_uint_eq(res.grad_calls, res.point + 1);
  ck_assert_str_eq(res.named[0].name, "theta[3]");
  ck_assert(strstr(bpcheck_errmsg(), "random point"));
  const double *at = bpcheck_function_point(w);
  ck_assert(at != theta);
  for (size_t i = 0; i < 12; i++)
    ck_assert(fabs(at[i] - theta[i]) <= 0.01 * fmax(1, fabs(theta[i])));
  bpcheck_function_free(w);
}
END_TEST

/* A conv model that fails, or answers an infinite loss, at its k-th call
 * (counting loss and gradient calls alike): every phase of a check passes
 * the failure on (BPCHECK_ECANDIDATE) or counts the value as not finite,
 * and never crashes. */
typedef struct {
  conv_data d;
  size_t calls, fail_at;
  int infinite; /* 1: answer +inf at fail_at instead of failing */
} faulty_data;

static int
faulty_loss(const double *theta, size_t P, double *loss, double *grad,
            void *data)
{
  faulty_data *f = data;
  if (++f->calls == f->fail_at && !f->infinite)
    return bpcheck_fail(BPCHECK_ECANDIDATE, "planted failure");
  int status = conv_loss(theta, P, loss, grad, &f->d);
  if (f->calls == f->fail_at)
    *loss = INFINITY;
  return status;
}

START_TEST(test_fails_anywhere)
{
  faulty_data f = {0};
  double theta[CONV_P];
  conv_init(&f.d, theta, test_seed(171));
  f.d.bug = _i < 2 ? CONV_ONE_ENTRY : CONV_RIGHT;
  bpcheck_function_workspace *w = conv_workspace();
  bpcheck_function_options o;
  bpcheck_function_options_default(&o);
  o.mode = _i % 2 ? BPCHECK_MODE_FULL : BPCHECK_MODE_DIRECTIONAL;
  o.points = 2;
  o.taylor = 1;
  o.max_named = 1000; /* clamped to BPCHECK_FUNCTION_MAX_NAMED */
  bpcheck_function_result res;
  const int expect =
      f.d.bug == CONV_RIGHT ? BPCHECK_SUCCESS : BPCHECK_EMISMATCH;
  ck_assert_int_eq(
      bpcheck_check_function(faulty_loss, &f, theta, CONV_P, &o, w, &res),
      expect);
  const size_t total = f.calls;
  for (int infinite = 0; infinite < 2; infinite++)
    for (size_t k = 1; k <= total; k += k < 40 ? 1 : total / 60 + 1) {
      f.calls = 0, f.fail_at = k, f.infinite = infinite;
      int status =
          bpcheck_check_function(faulty_loss, &f, theta, CONV_P, &o, w, &res);
      if (!infinite)
        ck_assert_msg(status == BPCHECK_ECANDIDATE,
                      "a failure at call %zu of %zu: status %d", k, total,
                      status);
      else
        ck_assert_msg(status == BPCHECK_SUCCESS ||
                          status == BPCHECK_EMISMATCH ||
                          status == BPCHECK_EDOM,
                      "+inf at call %zu of %zu: status %d", k, total, status);
    }
  bpcheck_function_free(w);
}
END_TEST

/* Steps along a direction (bpcheck_check_function_along) ----------------- */

/* The conv model behind both callbacks: fn for the gradient (and any loss
 * call, which should not come), along for every loss call, x formed as
 * the header says; what the checker promises of the numbers is noted. */
typedef struct {
  conv_data d;
  double base[CONV_P], x[CONV_P];
  signed char v[CONV_P];
  size_t a, b, direction, directions;
  size_t fn_loss_calls, along_calls, fail_at;
  unsigned broken; /* 1: theta0 not the last gradient call's point; 2: a
                      number reused for another direction; 4: a number
                      that is not the next one */
} along_data;

static int
along_fn(const double *theta, size_t P, double *loss, double *grad, void *data)
{
  along_data *A = data;
  if (grad)
    memcpy(A->base, theta, sizeof A->base);
  else
    A->fn_loss_calls++;
  return conv_loss(theta, P, loss, grad, &A->d);
}

static int
conv_along(const double *theta0, const signed char *v, size_t a, size_t b,
           size_t direction, double t, double *loss, void *data)
{
  along_data *A = data;
  if (++A->along_calls == A->fail_at)
    return bpcheck_fail(BPCHECK_ECANDIDATE, "planted failure along");
  if (memcmp(theta0, A->base, sizeof A->base))
    A->broken |= 1;
  if (direction == A->direction) {
    if (a != A->a || b != A->b || memcmp(v + a, A->v + a, b - a))
      A->broken |= 2;
  } else if (direction != A->direction + 1)
    A->broken |= 4;
  else
    A->directions++;
  A->direction = direction, A->a = a, A->b = b;
  memcpy(A->v + a, v + a, b - a);
  for (size_t i = 0; i < CONV_P; i++)
    A->x[i] = i >= a && i < b ? theta0[i] + t * v[i] : theta0[i];
  return conv_loss(A->x, CONV_P, loss, NULL, &A->d);
}

/* Two results alike, field by field (NaN as NaN). */
static void
assert_same_result(const bpcheck_function_result *r,
                   const bpcheck_function_result *s)
{
  const double dr[] = {r->loss,      r->noise_sigma, r->noise,    r->step,
                       r->max_ratio, r->expected,    r->received, r->estimate,
                       r->tol,       r->taylor_slope},
               ds[] = {s->loss,      s->noise_sigma, s->noise,    s->step,
                       s->max_ratio, s->expected,    s->received, s->estimate,
                       s->tol,       s->taylor_slope};
  ck_assert_int_eq(memcmp(dr, ds, sizeof dr), 0);
  const size_t zr[] = {r->directional,
                       r->checked,
                       r->failed,
                       r->kinks,
                       r->overflows,
                       r->taylor_points,
                       r->tensors_failed,
                       r->first_tensor,
                       r->n_named,
                       r->loss_calls,
                       r->grad_calls,
                       r->point,
                       (size_t)r->taylor_kink,
                       (size_t)r->noise_observed},
               zs[] = {s->directional,
                       s->checked,
                       s->failed,
                       s->kinks,
                       s->overflows,
                       s->taylor_points,
                       s->tensors_failed,
                       s->first_tensor,
                       s->n_named,
                       s->loss_calls,
                       s->grad_calls,
                       s->point,
                       (size_t)s->taylor_kink,
                       (size_t)s->noise_observed};
  ck_assert_int_eq(memcmp(zr, zs, sizeof zr), 0);
  for (size_t k = 0; k < r->n_named; k++) {
    ck_assert_str_eq(r->named[k].name, s->named[k].name);
    ck_assert(r->named[k].expected == s->named[k].expected);
  }
}

/* The same check, bit for bit, whether the loss comes through fn or along
 * a direction, for the right model and each bug, in full and directional
 * mode, at theta and two random points; the directions numbered as
 * promised; a failure along a direction is the candidate's. */
START_TEST(test_along)
{
  along_data A = {0};
  double theta[CONV_P];
  conv_init(&A.d, theta, test_seed(172));
  bpcheck_function_workspace *w = conv_workspace();
  bpcheck_function_options o;
  bpcheck_function_options_default(&o);
  o.seed = test_seed(9);
  o.mode = _i ? BPCHECK_MODE_FULL : BPCHECK_MODE_DIRECTIONAL;
  o.points = 2;
  bpcheck_function_result plain, along;
  for (int bug = CONV_RIGHT; bug <= CONV_ONE_ENTRY; bug++) {
    A.d.bug = bug;
    const int s1 =
        bpcheck_check_function(conv_loss, &A.d, theta, CONV_P, &o, w, &plain);
    A.direction = A.directions = A.along_calls = A.fn_loss_calls = 0;
    const int s2 = bpcheck_check_function_along(along_fn, conv_along, &A,
                                                theta, CONV_P, &o, w, &along);
    ck_assert_int_eq(s1,
                     bug == CONV_RIGHT ? BPCHECK_SUCCESS : BPCHECK_EMISMATCH);
    ck_assert_int_eq(s1, s2);
    assert_same_result(&plain, &along);
    ck_assert_uint_eq(A.broken, 0);
    ck_assert_uint_eq(A.fn_loss_calls, 0);
    ck_assert_uint_eq(A.along_calls, along.loss_calls);
    /* a direction serves many loss calls: 6 to 10 a probe, 9 the noise,
       40 Taylor */
    ck_assert_uint_le(6 * A.directions, A.along_calls);
    ck_assert_uint_eq(A.direction, A.directions);
    if (bug == CONV_ONE_ENTRY)
      ck_assert_str_eq(along.named[0].name, "conv1.weight[2,0,1,2]");
  }
  A.d.bug = CONV_RIGHT;
  A.direction = A.along_calls = 0;
  A.fail_at = 20;
  ck_assert_int_eq(bpcheck_check_function_along(along_fn, conv_along, &A,
                                                theta, CONV_P, &o, w, &along),
                   BPCHECK_ECANDIDATE);
  ck_assert(strstr(bpcheck_errmsg(), "along direction"));
  ck_assert(strstr(bpcheck_errmsg(), "planted failure along"));
  bpcheck_function_free(w);
}
END_TEST

/* Errors ------------------------------------------------------------------ */

static int
failing_loss(const double *theta, size_t P, double *loss, double *grad,
             void *data)
{
  (void)theta, (void)P, (void)grad;
  const int *when = data; /* 0: always; 1: loss alone; 2: NaN loss; 3: NaN
                             gradient */
  *loss = *when == 2 ? NAN : 1.0;
  if (grad)
    for (size_t i = 0; i < P; i++)
      grad[i] = *when == 3 && i == 2 ? INFINITY : 0;
  if (*when == 0 || (*when == 1 && !grad))
    return bpcheck_fail(BPCHECK_ECANDIDATE, "out of paper");
  return BPCHECK_SUCCESS;
}

START_TEST(test_function_errors)
{
  bpcheck_function_workspace *w;
  const size_t s23[] = {2, 3}, s0[] = {0}, s4[] = {4};
  const bpcheck_tensor good[] = {{"a", 2, s23}, {"b", 1, s4}};
  const bpcheck_tensor zero[] = {{"a", 1, s0}}, rank0[] = {{"a", 0, s4}},
                       unnamed[] = {{NULL, 1, s4}};
  ck_assert_int_eq(bpcheck_function_alloc(&w, 0, NULL, 0), BPCHECK_EINVAL);
  ck_assert_int_eq(bpcheck_function_alloc(&w, 9, good, 2), BPCHECK_EBADLEN);
  ck_assert_int_eq(bpcheck_function_alloc(&w, 4, zero, 1), BPCHECK_EINVAL);
  ck_assert_int_eq(bpcheck_function_alloc(&w, 4, rank0, 1), BPCHECK_EINVAL);
  ck_assert_int_eq(bpcheck_function_alloc(&w, 4, unnamed, 1), BPCHECK_EINVAL);
  ck_assert_int_eq(bpcheck_function_alloc(&w, 4, NULL, 1), BPCHECK_EINVAL);
  const size_t huge[] = {SIZE_MAX / 2, 4}, big[] = {BPCHECK_MAX_PARAMS};
  const bpcheck_tensor too_large[] = {{"a", 2, huge}},
                       two_big[] = {{"a", 1, big}, {"b", 1, big}};
  ck_assert_int_eq(bpcheck_function_alloc(&w, 4, too_large, 1),
                   BPCHECK_ETOOBIG);
  ck_assert_int_eq(bpcheck_function_alloc(&w, 4, two_big, 2), BPCHECK_ETOOBIG);
  ck_assert_ok(bpcheck_function_alloc(&w, 10, good, 2));
  ck_assert_uint_eq(bpcheck_function_tensors(w), 2);
  ck_assert_str_eq(bpcheck_function_tensor_name(w, 1), "b");
  ck_assert_str_eq(bpcheck_function_tensor_name(w, 2), "");
  char name[32];
  bpcheck_function_entry_name(w, 4, name, sizeof name);
  ck_assert_str_eq(name, "a[1,1]");
  bpcheck_function_entry_name(w, 9, name, sizeof name);
  ck_assert_str_eq(name, "b[3]");
  bpcheck_function_entry_name(w, 10, name, sizeof name);
  ck_assert_str_eq(name, "(entry 10 of 10)");
  bpcheck_function_entry_name(w, 4, name, 3); /* truncated, terminated */
  ck_assert_str_eq(name, "a[");
  double theta[10] = {0};
  bpcheck_function_result res;
  int when = 0;
  ck_assert_int_eq(
      bpcheck_check_function(NULL, &when, theta, 10, NULL, w, &res),
      BPCHECK_EINVAL);
  ck_assert_int_eq(
      bpcheck_check_function(failing_loss, &when, theta, 9, NULL, w, &res),
      BPCHECK_EBADLEN);
  bpcheck_function_options o;
  bpcheck_function_options_default(&o);
  o.mode = (bpcheck_mode)7;
  ck_assert_int_eq(
      bpcheck_check_function(failing_loss, &when, theta, 10, &o, w, &res),
      BPCHECK_EINVAL);
  o.mode = BPCHECK_MODE_AUTO;
  o.directions = 0;
  ck_assert_int_eq(
      bpcheck_check_function(failing_loss, &when, theta, 10, &o, w, &res),
      BPCHECK_EINVAL);
  o.directions = 4;
  o.spread = -1;
  ck_assert_int_eq(
      bpcheck_check_function(failing_loss, &when, theta, 10, &o, w, &res),
      BPCHECK_EINVAL);
  o.spread = NAN;
  ck_assert_int_eq(
      bpcheck_check_function(failing_loss, &when, theta, 10, &o, w, &res),
      BPCHECK_EINVAL);
  for (when = 0; when < 2; when++) {
    ck_assert_int_eq(
        bpcheck_check_function(failing_loss, &when, theta, 10, NULL, w, &res),
        BPCHECK_ECANDIDATE);
    ck_assert(strstr(bpcheck_errmsg(), "out of paper"));
  }
  ck_assert_int_eq(
      bpcheck_check_function(failing_loss, &when, theta, 10, NULL, w, &res),
      BPCHECK_EDOM);
  when = 3;
  ck_assert_int_eq(
      bpcheck_check_function(failing_loss, &when, theta, 10, NULL, w, &res),
      BPCHECK_EDOM);
  ck_assert(strstr(bpcheck_errmsg(), "a[0,2]"));
  theta[3] = NAN;
  when = 4;
  ck_assert_int_eq(
      bpcheck_check_function(failing_loss, &when, theta, 10, NULL, w, &res),
      BPCHECK_EDOM);
  bpcheck_function_free(w);
  bpcheck_function_free(NULL);
  gsl_guard_check();
}
END_TEST

Suite *
make_function_suite(void)
{
  Suite *s = suite_create("function");
  TCase *core = tcase_create("Core");
  tcase_set_timeout(core, 60);
  tcase_add_loop_test(core, test_conv_right, 0, 3);
  tcase_add_loop_test(core, test_conv_bugs, 0, 2);
  tcase_add_test(core, test_fc);
  tcase_add_loop_test(core, test_relu, 0, 3);
  tcase_add_test(core, test_million);
  tcase_add_loop_test(core, test_noise, 0, 2);
  tcase_add_loop_test(core, test_kinks, 0, 2);
  tcase_add_loop_test(core, test_points, 0, 2);
  tcase_add_loop_test(core, test_fails_anywhere, 0, 4);
  tcase_add_loop_test(core, test_along, 0, 2);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("Errors");
  tcase_set_timeout(errors, TEST_TIMEOUT);
  tcase_add_checked_fixture(errors, gsl_guard_setup, gsl_guard_teardown);
  tcase_add_test(errors, test_function_errors);
  suite_add_tcase(s, errors);
  return s;
}
