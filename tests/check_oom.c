/* check_oom.c -- out of memory: for every allocation n of an entry point,
 * failing exactly that one returns BPCHECK_ENOMEM (never a crash), and
 * everything allocated before it is released (the sanitizer and valgrind
 * gates see the leaks this test would cause).  The loop ends at the first
 * n that the call no longer reaches. */

#include <string.h>

#include "../lib/internal.h"
#include "suites.h"
#include "testutil.h"

static const size_t n342[] = {3, 4, 2};
static const bpcheck_activation tanh_softmax[] = {[1] = BPCHECK_TANH,
                                                  BPCHECK_SOFTMAX};
static const bpcheck_arch arch = {
    2, n342, tanh_softmax, BPCHECK_CATEGORICAL_CROSS_ENTROPY, BPCHECK_MEAN};

/* The entry points, each run whole: allocate, use, free. */
static int
net_and_batch(void)
{
  bpcheck_net *net;
  bpcheck_batch *b;
  int status = bpcheck_net_alloc(&net, &arch);
  if (status)
    return status;
  status = bpcheck_batch_alloc(&b, 3, 2, 4);
  if (!status)
    bpcheck_batch_free(b);
  bpcheck_net_free(net);
  return status;
}

static int
oracles(const fixture *x)
{
  bpcheck_literal_workspace *lw;
  bpcheck_matrix_workspace *mw;
  bpcheck_fdiff_workspace *fw;
  bpcheck_fastfd_workspace *xw;
  bpcheck_report *r;
  int status;
  if ((status = bpcheck_literal_alloc(&lw, x->net)))
    return status;
  bpcheck_literal_free(lw);
  if ((status = bpcheck_matrix_alloc(&mw, x->net, 2)))
    return status;
  bpcheck_matrix_free(mw);
  if ((status = bpcheck_fdiff_alloc(&fw, x->net, 2)))
    return status;
  bpcheck_fdiff_free(fw);
  if ((status = bpcheck_fastfd_alloc(&xw, x->net, 2)))
    return status;
  bpcheck_fastfd_free(xw);
  bpcheck_fdiff_inputs_workspace *iw;
  if ((status = bpcheck_fdiff_inputs_alloc(&iw, x->net, 2)))
    return status;
  bpcheck_fdiff_inputs_free(iw);
  bpcheck_bound_workspace *bw;
  if ((status = bpcheck_bound_alloc(&bw, x->net, 2)))
    return status;
  bpcheck_bound_free(bw);
  if ((status = bpcheck_report_alloc(&r, 2)))
    return status;
  bpcheck_report_free(r);
  return BPCHECK_SUCCESS;
}

static int
ignore_event(const bpcheck_trace_event *e, void *data)
{
  (void)e, (void)data;
  return 0;
}

static int
candidate_flips_sign(const bpcheck_case *c, bpcheck_params *g, void *data)
{
  (void)data;
  for (size_t i = 0; i < g->size; i++) /* -(theta): a wrong gradient */
    g->data[i] = -c->net->theta->data[i];
  return BPCHECK_SUCCESS;
}

/* Runs call with the n-th allocation failing, for n = 1, 2, ... */
static void
sweep(const char *name, int (*call)(void *), void *data)
{
  size_t n;
  for (n = 1; n < 100000; n++) {
    bpcheck_test_fail_allocation(n);
    int status = call(data);
    bpcheck_test_fail_allocation(0);
    if (status == BPCHECK_SUCCESS || status == BPCHECK_EMISMATCH)
      break; /* the n-th allocation is past the call: all were tried */
    ck_assert_msg(status == BPCHECK_ENOMEM,
                  "%s with allocation %zu failing: status %d (%s), not "
                  "ENOMEM",
                  name, n, status, bpcheck_errmsg());
  }
  ck_assert_msg(n > 1, "%s allocates nothing?", name);
}

static int
call_net(void *data)
{
  (void)data;
  return net_and_batch();
}

static int
call_oracles(void *data)
{
  return oracles(data);
}

static int
call_parse(void *data)
{
  const char *text = data;
  bpcheck_case *c;
  int status = bpcheck_case_parse(text, strlen(text), "oom.json", 1000, &c);
  if (!status)
    bpcheck_case_free(c);
  return status;
}

static int
call_trace(void *data)
{
  fixture *x = data;
  return bpcheck_trace(x->net, x->batch, x->mat, x->lw, ignore_event, NULL);
}

static int
call_selftest(void *data)
{
  bpcheck_trial t;
  (void)data;
  bpcheck_space s;
  bpcheck_space_default(&s);
  s.max_width = 3, s.max_depth = 1;
  return bpcheck_selftest_trial(&s, 5, &t);
}

static int
call_validate(void *data)
{
  bpcheck_space s;
  bpcheck_space_default(&s);
  s.max_width = 3, s.max_depth = 1, s.max_batch = 2;
  bpcheck_validation v;
  const bpcheck_tolerance *tol = data;
  int status =
      bpcheck_validate(&s, 2, 1, tol, candidate_flips_sign, NULL, NULL, &v);
  /* An allocation that fails while shrinking (or experimenting) stops it,
   * kept in shrink_status: each is tried too. */
  if (status == BPCHECK_EMISMATCH && v.shrink_status)
    status = v.shrink_status;
  bpcheck_validation_free(&v);
  return status;
}

static int
call_function(void *data)
{
  static const size_t s23[] = {2, 3}, s4[] = {4};
  static const bpcheck_tensor t[] = {{"conv.weight", 2, s23},
                                     {"conv.bias", 1, s4}};
  bpcheck_function_workspace *w;
  (void)data;
  int status = bpcheck_function_alloc(&w, 10, t, 2);
  if (!status)
    bpcheck_function_free(w);
  return status;
}

/* The derived tolerance, the finiteness check, and the checks of
 * lib/checks.c with every oracle, on the fixture's network. */
static int
call_tolerance(void *data)
{
  fixture *x = data;
  bpcheck_tolerance spec = {0, 0, 0, NULL, NULL, 1, BPCHECK_PRECISION_SINGLE},
                    t;
  bpcheck_params *abs, *alt;
  int status = bpcheck_reference_finite(x->net, x->batch);
  if (!status)
    status = bpcheck_tolerance_apply(x->net, x->batch, x->mat, &spec, &t, &abs,
                                     &alt);
  if (!status) {
    bpcheck_params_free(abs);
    bpcheck_params_free(alt);
  }
  return status;
}

static int
call_checks(void *data)
{
  fixture *x = data;
  bpcheck_checks *ck;
  int status = bpcheck_checks_alloc(&ck, x->net, x->batch->B);
  if (status)
    return status;
  status = bpcheck_checks_prepare(
      ck, x->net, x->batch,
      BPCHECK_CHECKS_REFERENCE | BPCHECK_CHECKS_FDIFF | BPCHECK_CHECKS_CSTEP);
  bpcheck_checks_free(ck);
  return status;
}

START_TEST(test_out_of_memory)
{
  fixture x;
  fixture_init(&x, 2, n342, tanh_softmax, BPCHECK_CATEGORICAL_CROSS_ENTROPY,
               BPCHECK_MEAN, 2, 1);
  sweep("net and batch", call_net, NULL);
  sweep("workspaces", call_oracles, &x);
  sweep("trace", call_trace, &x);
  sweep("selftest trial", call_selftest, NULL);
  bpcheck_case c = {x.net, x.batch, NULL, NULL};
  char *text = bpcheck_case_dump(&c, 0);
  ck_assert_ptr_nonnull(text);
  sweep("case parse", call_parse, text);
  bpcheck_case_dump_free(text);
  bpcheck_tolerance tol = {1e-9, 1e-6, 0, NULL, NULL, 0, 0};
  sweep("validate with shrinking", call_validate, &tol);
  sweep("function workspace", call_function, NULL);
  ck_assert_ok(bpcheck_matrix_backprop(x.net, x.batch, x.mat, NULL, x.mw));
  sweep("derived tolerance", call_tolerance, &x);
  sweep("checks", call_checks, &x);
  fixture_free(&x);
}
END_TEST

Suite *
make_oom_suite(void)
{
  Suite *s = suite_create("oom");
  TCase *errors = tcase_create("Errors");
  tcase_set_timeout(errors, TEST_TIMEOUT);
  tcase_add_test(errors, test_out_of_memory);
  suite_add_tcase(s, errors);
  return s;
}
