/* cmd_quiz.c -- `bpcheck quiz`: the trace as an exercise.  The quantities
 * of a small network are asked in the lecture's order (z, a, the cost,
 * dC/da, delta, the gradients), one number per line on stdin, each judged
 * at the precision the student typed; a wrong answer is followed by the
 * factors of the right one. */

#include <ctype.h>
#include <float.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "netopts.h"
#include "options.h"
#include "tracefmt.h"

static const char usage[] =
    "Usage: bpcheck quiz --layers N0,N1,...,NL [--activations A|A1,..,AL]\n"
    "                    [--cost C] [--reduction R] [--batch B] [--seed S]\n"
    "                    [--digits D] [--targets range|any]\n"
    "                    [--weight-decay L]\n"
    "       bpcheck quiz CASE.json [--digits D]\n"
    "An exercise on the network bpcheck trace prints (same options, same\n"
    "numbers): the parameters, inputs and targets are given, then every\n"
    "quantity is asked in the lecture's order -- z^l_k and a^l_k forward, "
    "the\n"
    "cost, dC/da^L_k, every delta^l_k backward, dC/dW^l_k,j and dC/db^l_k\n"
    "(and, for a batch, the batch's gradient and cost).  Answers are read\n"
    "from stdin, one number per line, so a script can answer too.  Each is\n"
    "judged at the precision typed: right when it is the value rounded to\n"
    "the digits typed (0.642669 is within 5e-7 of the value).  A wrong\n"
    "answer is followed by the right value and its factors; the quiz goes\n"
    "on with the right value.\n"
    "\n"
    "  --digits D   significant digits of the values shown, 1..17\n"
    "               (default 10)\n"
    "  (the network options as in bpcheck trace --help)\n" NETOPTS_TARGETS_HELP
    "\n"
    "Exit: 0 every answer right; 1 a wrong answer, or stdin ended before\n"
    "the last question; 2 bad usage.\n";

/* The tolerance of an answer as typed: half a unit of its last digit
 * ("0.6427" -> 5e-5, "12" -> 0.5, "6.4e-3" -> 5e-5); -1 when text is not a
 * number. */
static double
typed_tolerance(const char *text, double *value)
{
  const char *p = text;
  while (isspace((unsigned char)*p))
    p++;
  char *end;
  *value = strtod(p, &end);
  if (end == p || !isfinite(*value))
    return -1;
  const char *q = end;
  while (isspace((unsigned char)*q))
    q++;
  if (*q)
    return -1;
  long decimals = 0, exponent = 0;
  const char *dot = NULL, *c = p;
  if (*c == '+' || *c == '-')
    c++;
  for (; c < end && *c != 'e' && *c != 'E'; c++)
    if (*c == '.')
      dot = c;
    else if (dot)
      decimals++;
  if (c < end)
    exponent = strtol(c + 1, NULL, 10);
  return 0.5 * pow(10.0, (double)(exponent - decimals));
}

typedef struct {
  const bpcheck_net *net;
  const trace_record *r;
  int digits;
  size_t B;
} quiz;

/* One given or factor line: "    formula = value". */
static void
show(const quiz *q, const bpcheck_trace_event *e)
{
  char f[256];
  if (!e)
    return;
  trace_formula(q->net, e, f, sizeof f);
  printf("      %s = %.*g\n", f, q->digits, e->value);
}

static const bpcheck_trace_event *
find(const quiz *q, bpcheck_trace_kind kind, size_t s, size_t l, size_t k,
     size_t j)
{
  return trace_find(q->r, kind, s, l, k, j);
}

/* The factors of the right value of e. */
static void
show_factors(const quiz *q, const bpcheck_trace_event *e)
{
  const bpcheck_net *net = q->net;
  const size_t s = e->s, l = e->l, k = e->k, j = e->j, L = net->L;
  const size_t *n = net->n;
  printf("    its factors:\n");
  switch (e->kind) {
  case BPCHECK_TRACE_Z:
    for (size_t i = 0; i < n[l - 1]; i++) {
      printf("      W^%zu_%zu,%zu = %.*g\n", l, k, i, q->digits,
             gsl_matrix_get(&net->theta->W[l], k, i));
      show(q, l == 1 ? find(q, BPCHECK_TRACE_X, s, 0, i, 0)
                     : find(q, BPCHECK_TRACE_A, s, l - 1, i, 0));
    }
    printf("      b^%zu_%zu = %.*g\n", l, k, q->digits,
           gsl_vector_get(&net->theta->b[l], k));
    break;
  case BPCHECK_TRACE_A:
    if (net->f[l] == BPCHECK_SOFTMAX)
      for (size_t i = 0; i < n[l]; i++)
        show(q, find(q, BPCHECK_TRACE_Z, s, l, i, 0));
    else
      show(q, find(q, BPCHECK_TRACE_Z, s, l, k, 0));
    break;
  case BPCHECK_TRACE_COST:
    for (size_t i = 0; i < n[L]; i++) {
      show(q, find(q, BPCHECK_TRACE_A, s, L, i, 0));
      show(q, find(q, BPCHECK_TRACE_Y, s, L, i, 0));
    }
    break;
  case BPCHECK_TRACE_DC_DA:
    show(q, find(q, BPCHECK_TRACE_A, s, L, k, 0));
    show(q, find(q, BPCHECK_TRACE_Y, s, L, k, 0));
    break;
  case BPCHECK_TRACE_DELTA:
    if (l == L && net->f[L] == BPCHECK_SOFTMAX) {
      show(q, find(q, BPCHECK_TRACE_A, s, L, k, 0));
      show(q, find(q, BPCHECK_TRACE_DC_DA, s, L, k, 0));
      show(q, find(q, BPCHECK_TRACE_SM_SUM, s, L, 0, 0));
      break;
    }
    if (l == L)
      show(q, find(q, BPCHECK_TRACE_DC_DA, s, L, k, 0));
    else {
      show(q, find(q, BPCHECK_TRACE_BACK, s, l, k, 0));
      printf("        the sum's terms:\n");
      for (size_t i = 0; i < n[l + 1]; i++) {
        const bpcheck_trace_event *d =
            find(q, BPCHECK_TRACE_DELTA, s, l + 1, i, 0);
        printf("        W^%zu_%zu,%zu = %.*g, delta^%zu_%zu = %.*g\n", l + 1,
               i, k, q->digits, gsl_matrix_get(&net->theta->W[l + 1], i, k),
               l + 1, i, q->digits, d ? d->value : 0.0);
      }
    }
    show(q, find(q, BPCHECK_TRACE_Z, s, l, k, 0));
    show(q, find(q, BPCHECK_TRACE_FPRIME, s, l, k, 0));
    break;
  case BPCHECK_TRACE_DW:
    show(q, l == 1 ? find(q, BPCHECK_TRACE_X, s, 0, j, 0)
                   : find(q, BPCHECK_TRACE_A, s, l - 1, j, 0));
    show(q, find(q, BPCHECK_TRACE_DELTA, s, l, k, 0));
    break;
  case BPCHECK_TRACE_DB:
    show(q, find(q, BPCHECK_TRACE_DELTA, s, l, k, 0));
    break;
  default: /* the batch: r and each sample's value */
    printf("      r = %.*g\n", q->digits,
           bpcheck_reduction_factor(net->reduction, q->B));
    for (size_t i = 0; i < q->r->n; i++) {
      const bpcheck_trace_event *x = &q->r->e[i];
      if ((e->kind == BPCHECK_TRACE_GRAD_W && x->kind == BPCHECK_TRACE_DW &&
           x->l == l && x->k == k && x->j == j) ||
          (e->kind == BPCHECK_TRACE_GRAD_B && x->kind == BPCHECK_TRACE_DB &&
           x->l == l && x->k == k) ||
          (e->kind == BPCHECK_TRACE_C && x->kind == BPCHECK_TRACE_COST)) {
        char name[64];
        trace_name(x, name, sizeof name);
        printf("      sample %zu: %s = %.*g\n", x->s, name, q->digits,
               x->value);
      }
    }
  }
}

/* Is e asked?  The lecture's quantities; the factors are shown, not asked,
 * and a batch of one has no batch questions (they repeat sample 0's). */
static int
asked(const bpcheck_trace_event *e, size_t B)
{
  switch (e->kind) {
  case BPCHECK_TRACE_Z:
  case BPCHECK_TRACE_A:
  case BPCHECK_TRACE_COST:
  case BPCHECK_TRACE_DC_DA:
  case BPCHECK_TRACE_DELTA:
  case BPCHECK_TRACE_DW:
  case BPCHECK_TRACE_DB: return 1;
  case BPCHECK_TRACE_GRAD_W:
  case BPCHECK_TRACE_GRAD_B:
  case BPCHECK_TRACE_C: return B > 1;
  default: return 0;
  }
}

static void
print_given(const quiz *q, size_t B)
{
  const bpcheck_net *net = q->net;
  printf("\ngiven: the parameters\n");
  for (size_t l = 1; l <= net->L; l++)
    for (size_t k = 0; k < net->n[l]; k++) {
      for (size_t j = 0; j < net->n[l - 1]; j++)
        printf("      W^%zu_%zu,%zu = %.*g\n", l, k, j, q->digits,
               gsl_matrix_get(&net->theta->W[l], k, j));
      printf("      b^%zu_%zu = %.*g\n", l, k, q->digits,
             gsl_vector_get(&net->theta->b[l], k));
    }
  for (size_t s = 0; s < B; s++) {
    printf("given: the input and the target of sample %zu\n", s);
    for (size_t i = 0; i < q->r->n; i++)
      if (q->r->e[i].s == s && (q->r->e[i].kind == BPCHECK_TRACE_X ||
                                q->r->e[i].kind == BPCHECK_TRACE_Y))
        show(q, &q->r->e[i]);
  }
}

/* Asks every question; returns the exit code. */
static int
run_quiz(const quiz *q, size_t B)
{
  const int echo = !isatty(STDIN_FILENO);
  size_t total = 0, right = 0, answered = 0;
  char line[512], f[256], label[32];
  for (size_t i = 0; i < q->r->n; i++)
    total += (size_t)asked(&q->r->e[i], B);
  printf("\n%zu questions: one number per line\n", total);
  for (size_t i = 0; i < q->r->n; i++) {
    const bpcheck_trace_event *e = &q->r->e[i];
    if (!asked(e, B))
      continue;
    trace_formula(q->net, e, f, sizeof f);
    trace_label(e, label, sizeof label);
    if (B > 1 && e->kind < BPCHECK_TRACE_GRAD_W)
      printf("[sample %zu] ", e->s);
    printf("%s  (%s) ? ", f, label);
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin)) {
      printf("\nquiz: stdin ended after %zu of %zu questions, %zu right\n",
             answered, total, right);
      return EXIT_MISMATCH;
    }
    answered++;
    line[strcspn(line, "\r\n")] = '\0';
    if (echo)
      printf("%s\n", line);
    double v, tol = typed_tolerance(line, &v);
    if (tol >= 0 &&
        fabs(v - e->value) <= fmax(tol, 4 * DBL_EPSILON * fabs(e->value))) {
      right++;
      printf("    right\n");
      continue;
    }
    char name[64];
    trace_name(e, name, sizeof name);
    if (tol < 0)
      printf("    not a number: %s = %.*g\n", name, q->digits, e->value);
    else
      printf("    wrong: %s = %.*g (your answer is off by %.2g, the "
             "digits you typed allow %.2g)\n",
             name, q->digits, e->value, fabs(v - e->value), tol);
    show_factors(q, e);
  }
  printf("\nquiz: %zu of %zu right\n", right, total);
  return right == total ? EXIT_PASS : EXIT_MISMATCH;
}

int
cmd_quiz(int argc, char **argv)
{
  netopts o;
  size_t digits = 10;
  int opt_exit;
  netopts_init(&o);
  const option_spec options[] = {OPTION_SIZE("--digits", &digits, 1, 17),
                                 NETOPTS_OPTIONS(&o), OPTION_END};
  if (parse_options("quiz", usage, options, argc, argv, &opt_exit))
    return opt_exit;
  bpcheck_case *tc = NULL;
  if (optind < argc) {
    if (o.L) {
      say_error("quiz takes a case file or --layers, not both");
      return EXIT_USAGE;
    }
    if (bpcheck_case_read(argv[optind], BPCHECK_CASE_MAX_PARAMS, &tc)) {
      say_error("%s", bpcheck_errmsg());
      return EXIT_USAGE;
    }
  } else if (netopts_case(&o, "quiz", &tc))
    return EXIT_USAGE;

  trace_record rec = {0};
  int code, status = trace_run(tc->net, tc->batch, BPCHECK_MUTANT_NONE, &rec);
  if (status) {
    say_error("%s", rec.failed ? "no memory for the quiz" : bpcheck_errmsg());
    code = EXIT_USAGE;
  } else {
    char desc[256];
    bpcheck_net_describe(tc->net, desc, sizeof desc);
    printf("bpcheck quiz: %s, batch %zu", desc, tc->batch->B);
    if (optind < argc)
      printf(", from %s\n", argv[optind]);
    else
      printf(", seed %lu\n", o.seed);
    printf("Answer each quantity, one number per line, to the digits you "
           "trust:\neach is judged at the precision you type. Equations: "
           "proofs/.\n");
    trace_print_notation("");
    quiz q = {tc->net, &rec, (int)digits, tc->batch->B};
    print_given(&q, tc->batch->B);
    code = run_quiz(&q, tc->batch->B);
  }
  trace_record_free(&rec);
  bpcheck_case_free(tc);
  return code;
}
