/* cmd_trace.c -- `bpcheck trace`: every z, a and delta of a small network
 * with its indices, its factors and its equation number, as a student would
 * write it out; or the same network in matrix form as the six steps of the
 * algorithm (--matrix), or drawn for Graphviz (--dot); or with one bug of
 * the zoo switched on, every wrong line marked (--mutant). */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "netopts.h"
#include "options.h"
#include "tracefmt.h"

static const char usage[] =
    "Usage: bpcheck trace --layers N0,N1,...,NL [--activations A|A1,..,AL]\n"
    "                     [--cost C] [--reduction R] [--batch B] [--seed S]\n"
    "                     [--digits D] [--matrix [--eta E]] [--dot FILE]\n"
    "                     [--mutant NAME] [--targets range|any]\n"
    "                     [--weight-decay L] [--max-params N] [--max-lines "
    "N]\n"
    "       bpcheck trace CASE.json [same options but the network's]\n"
    "                     [--max-bytes N]\n"
    "Builds a random network and batch from the seed and prints, in the\n"
    "order it is computed, every quantity of the literal backprop with its\n"
    "indices and the equation of proofs/ it comes from: a^0 = x, z^l_k and\n"
    "a^l_k forward, the cost, dC/da^L_k with its formula, then backward each\n"
    "delta^l_k after its factors (f_l'(z^l_k), and in a hidden layer the sum\n"
    "dC/da^l_j = sum_k W^(l+1)_k,j delta^(l+1)_k), each sample's dC/dW^l_k,j\n"
    "and dC/db^l_k, and the batch's gradient. A notation table comes first;\n"
    "(FC.4)-(FC.7) carry Nielsen's names BP1, BP2, BP4, BP3.\n"
    "\n"
    "  --layers LIST      layer sizes n_0,...,n_L (required), e.g. "
    "2,3,1\n" NETOPTS_ARCH_HELP
    "  --seed S           seed of the parameters and the batch (default\n"
    "                     $BPCHECK_SEED, else 1)\n" NETOPTS_TARGETS_HELP
    "  --weight-decay L   L2 weight decay lambda (WD.1): the batch's cost\n"
    "                     gains lambda/2 sum_l ||W^l||^2, dC/dW^l lambda W^l\n"
    "  --digits D         significant digits printed, 1..17 (default 10)\n"
    "  --matrix           the matrix form instead, under the headings step 1\n"
    "                     to step 6 of the algorithm (proofs/05): W, Z, A, D\n"
    "                     per layer with the (MX) labels\n"
    "  --eta E            with --matrix: take step 6, theta - E dC/dtheta,\n"
    "                     and print the new parameters and the new cost\n"
    "  --dot FILE         write the network as a Graphviz graph to FILE\n"
    "                     (every node's z, a, delta of sample 0, every "
    "edge's\n"
    "                     W^l_k,j and dC/dW^l_k,j); render it with\n"
    "                     dot -Tpng FILE -o net.png\n"
    "  --mutant NAME      switch on one bug of the zoo (bpcheck mutants):\n"
    "                     every line whose value changes is marked with the\n"
    "                     right value, and the equation the bug violates is\n"
    "                     named\n"
    "  --max-params N     refuse larger networks and batches (default\n"
    "                     10000000)\n"
    "  --max-bytes N      refuse a longer case file (as for verify)\n"
    "  --max-lines N      refuse a network whose listing would be longer\n"
    "                     (default 100000): raise it to print a large one\n";

/* --eta: a step in (0, 1e6]. */
static int
parse_eta(const option_spec *o, const char *arg)
{
  char *end;
  double *eta = o->target;
  *eta = strtod(arg, &end);
  if (end == arg || *end || !(*eta > 0) || *eta > 1e6) {
    say_error("--eta: '%s' is not a step in (0, 1e6]", arg);
    return -1;
  }
  return 0;
}

/* The default bound on the lines of a listing. */
#define TRACE_MAX_LINES 100000

/* About how many lines the listing of c takes: the parameters, and for
 * each sample its inputs, targets, z, a, the cost, dC/da, the deltas and
 * its gradient; then the batch's gradient. */
static double
listing_lines(const bpcheck_case *c)
{
  const bpcheck_net *net = c->net;
  double P = (double)net->theta->size, nodes = 0;
  for (size_t l = 1; l <= net->L; l++)
    nodes += (double)net->n[l];
  double sample =
      (double)net->n[0] + 2 * (double)net->n[net->L] + 3 * nodes + 1 + P;
  return 2 * P + (double)c->batch->B * sample + 1;
}

typedef struct {
  const bpcheck_net *net;
  int digits, width;         /* significant digits; the formulas' column */
  int section;               /* the last section heading printed */
  const trace_record *right; /* the correct trace beside a mutant's, or NULL */
  size_t wrong;              /* lines that differ from it */
  const bpcheck_trace_event *first_wrong;
} printer;

static void
heading(printer *p, int section, const char *text, size_t s)
{
  if (p->section == section)
    return;
  p->section = section;
  if (section == 1)
    printf("\nsample %zu\n", s);
  printf(" %s\n", text);
}

/* The heading an event belongs under. */
static void
event_heading(printer *p, const bpcheck_trace_event *e)
{
  const bpcheck_net *net = p->net;
  char h[96];
  switch (e->kind) {
  case BPCHECK_TRACE_X: heading(p, 1, "input", e->s); break;
  case BPCHECK_TRACE_Y: heading(p, 2, "target", e->s); break;
  case BPCHECK_TRACE_Z:
  case BPCHECK_TRACE_A: heading(p, 3, "forward", e->s); break;
  case BPCHECK_TRACE_COST:
  case BPCHECK_TRACE_DC_DA:
    heading(p, 4, "cost, and its derivative by the output", e->s);
    break;
  case BPCHECK_TRACE_SM_SUM:
  case BPCHECK_TRACE_BACK:
  case BPCHECK_TRACE_FPRIME:
  case BPCHECK_TRACE_DELTA:
    if (e->l == net->L)
      snprintf(h, sizeof h, "backward, output layer %zu: %s", e->l,
               net->f[e->l] == BPCHECK_SOFTMAX
                   ? "delta from the softmax Jacobian (ACT.8)"
               : net->cost == BPCHECK_CROSS_ENTROPY
                   ? "delta = dC/da f'(z) (FC.4 = BP1) = a - y (COST.7)"
                   : "delta = dC/da f'(z) (FC.4 = BP1)");
    else
      snprintf(h, sizeof h,
               "backward, layer %zu: delta = dC/da f'(z), dC/da from layer "
               "%zu (FC.5 = BP2)",
               e->l, e->l + 1);
    heading(p, 10 + (int)e->l, h, e->s);
    break;
  case BPCHECK_TRACE_DW:
  case BPCHECK_TRACE_DB:
    heading(p, 6, "gradient of this sample (FC.6 = BP4, FC.7 = BP3)", e->s);
    break;
  default:
    if (p->section != 7) {
      p->section = 7;
      printf("\nbatch: C = r sum_s C_s with r = %s\n",
             net->reduction == BPCHECK_MEAN ? "1/B" : "1");
      if (net->weight_decay)
        printf("  plus the weight decay lambda/2 sum_l ||W^l||^2, lambda = "
               "%g (WD.1),\n  and lambda W^l in dC/dW^l (WD.3)\n",
               net->weight_decay);
    }
  }
}

static int
print_event(printer *p, const bpcheck_trace_event *e)
{
  char f[256], label[32];
  event_heading(p, e);
  trace_formula(p->net, e, f, sizeof f);
  trace_label(e, label, sizeof label);
  printf("  %-*s = %-*.*g  (%s)", p->width, f, p->digits + 7, p->digits,
         e->value, label);
  if (p->right) {
    const bpcheck_trace_event *r =
        trace_find(p->right, e->kind, e->s, e->l, e->k, e->j);
    if (r && r->value != e->value) {
      printf("  WRONG, right: %.*g", p->digits, r->value);
      if (!p->wrong++)
        p->first_wrong = e;
    }
  }
  putchar('\n');
  return 0;
}

static void
print_parameters(const printer *p)
{
  const bpcheck_net *net = p->net;
  char f[64];
  printf("\nparameters\n");
  for (size_t l = 1; l <= net->L; l++)
    for (size_t k = 0; k < net->n[l]; k++) {
      for (size_t j = 0; j < net->n[l - 1]; j++) {
        snprintf(f, sizeof f, "W^%zu_%zu,%zu", l, k, j);
        printf("  %-*s = %.*g\n", p->width, f, p->digits,
               gsl_matrix_get(&net->theta->W[l], k, j));
      }
      snprintf(f, sizeof f, "b^%zu_%zu", l, k);
      printf("  %-*s = %.*g\n", p->width, f, p->digits,
             gsl_vector_get(&net->theta->b[l], k));
    }
}

/* The widest formula of the trace, so that every value lines up. */
static int
formula_width(const bpcheck_net *net, const trace_record *r)
{
  size_t w = 24;
  char f[256];
  for (size_t i = 0; i < r->n; i++) {
    trace_formula(net, &r->e[i], f, sizeof f);
    if (strlen(f) > w)
      w = strlen(f);
  }
  return (int)w;
}

/* The matrix form (--matrix) ------------------------------------------- */

/* Prints an n x m matrix whose entry (i, j) is get(i, j), under a title. */
typedef double (*entry_fn)(const void *ctx, size_t i, size_t j);

static void
print_matrix(const printer *p, const char *title, const char *eq, size_t rows,
             size_t cols, entry_fn get, const void *ctx)
{
  printf("  %-*s  (%s)\n", p->width, title, eq);
  for (size_t i = 0; i < rows; i++) {
    printf("      [");
    for (size_t j = 0; j < cols; j++)
      printf(" %*.*g", p->digits + 7, p->digits, get(ctx, i, j));
    printf(" ]\n");
  }
}

typedef struct {
  const trace_record *r;
  const bpcheck_net *net;
  bpcheck_trace_kind kind;
  size_t l;
  double scale; /* r of (COST.5) for D, else 1 */
} by_kind;

/* Entry (k, s) of the matrix of a per-sample kind: column s is sample s. */
static double
sample_entry(const void *ctx, size_t k, size_t s)
{
  const by_kind *c = ctx;
  const bpcheck_trace_event *e = trace_find(c->r, c->kind, s, c->l, k, 0);
  return e ? c->scale * e->value : 0.0;
}

static double
weight_entry(const void *ctx, size_t k, size_t j)
{
  const by_kind *c = ctx;
  return gsl_matrix_get(&c->net->theta->W[c->l], k, j);
}

static double
bias_entry(const void *ctx, size_t k, size_t j)
{
  const by_kind *c = ctx;
  (void)j;
  return gsl_vector_get(&c->net->theta->b[c->l], k);
}

/* (W^(l+1))^T D^(l+1): the backward sums, with r folded in. */
static double
grad_entry(const void *ctx, size_t k, size_t j)
{
  const by_kind *c = ctx;
  const bpcheck_trace_event *e = trace_find(c->r, c->kind, 0, c->l, k, j);
  return e ? e->value : 0.0;
}

/* The (ACT) label of the f' of layer l. */
static const char *
fprime_label(const trace_record *r, size_t l)
{
  const bpcheck_trace_event *e =
      trace_find(r, BPCHECK_TRACE_FPRIME, 0, l, 0, 0);
  return e ? e->equation : "ACT";
}

static void
print_matrix_form(const printer *p, const bpcheck_batch *batch,
                  const trace_record *r)
{
  const bpcheck_net *net = p->net;
  const size_t L = net->L, *n = net->n, B = batch->B;
  const double rf = bpcheck_reduction_factor(net->reduction, B);
  char t[160];
  by_kind c = {r, net, BPCHECK_TRACE_X, 0, 1.0};
  printf("\nthe matrix form (proofs/05-matrix-form.md): the B = %zu samples "
         "are the\ncolumns of A^l, Z^l and D^l; D^l holds the deltas times "
         "r = %s (COST.5)\n",
         B, net->reduction == BPCHECK_MEAN ? "1/B" : "1");

  printf("\nstep 1: forward propagation, l = 1..%zu\n", L);
  print_matrix(p, "A^0 = X", "definition", n[0], B, sample_entry, &c);
  for (size_t l = 1; l <= L; l++) {
    c.l = l;
    snprintf(t, sizeof t, "W^%zu (%zu x %zu)", l, n[l], n[l - 1]);
    print_matrix(p, t, "parameters", n[l], n[l - 1], weight_entry, &c);
    snprintf(t, sizeof t, "b^%zu", l);
    print_matrix(p, t, "parameters", n[l], 1, bias_entry, &c);
    c.kind = BPCHECK_TRACE_Z;
    snprintf(t, sizeof t, "Z^%zu = W^%zu A^%zu + b^%zu 1^T", l, l, l - 1, l);
    print_matrix(p, t, "MX.1", n[l], B, sample_entry, &c);
    c.kind = BPCHECK_TRACE_A;
    snprintf(t, sizeof t, "A^%zu = %s(Z^%zu)", l,
             bpcheck_activation_name(net->f[l]), l);
    print_matrix(p, t, net->f[l] == BPCHECK_SOFTMAX ? "ACT.6" : "MX.1", n[l],
                 B, sample_entry, &c);
  }

  printf("\nstep 2: the error of the output layer, from the gradient of the "
         "cost\n");
  c.l = L, c.kind = BPCHECK_TRACE_Y;
  print_matrix(p, "Y (the targets)", "data", n[L], B, sample_entry, &c);
  c.kind = BPCHECK_TRACE_DC_DA, c.scale = rf;
  print_matrix(p, "grad_A C = r [dC_s/da^L_k]", "COST.5", n[L], B,
               sample_entry, &c);
  c.kind = BPCHECK_TRACE_DELTA;
  if (net->f[L] == BPCHECK_SOFTMAX) {
    snprintf(t, sizeof t, "D^%zu = each column by the softmax Jacobian", L);
    print_matrix(p, t, "ACT.8", n[L], B, sample_entry, &c);
  } else {
    c.kind = BPCHECK_TRACE_FPRIME, c.scale = 1.0;
    snprintf(t, sizeof t, "f_%zu'(Z^%zu)", L, L);
    print_matrix(p, t, fprime_label(r, L), n[L], B, sample_entry, &c);
    c.kind = BPCHECK_TRACE_DELTA, c.scale = rf;
    snprintf(t, sizeof t, "D^%zu = grad_A C (.) f_%zu'(Z^%zu)", L, L, L);
    print_matrix(p, t, "MX.2 = BP1", n[L], B, sample_entry, &c);
  }

  printf("\nstep 3: the errors of the hidden layers, backwards, l = "
         "%zu..1\n",
         L - 1);
  if (L == 1)
    printf("  (no hidden layer)\n");
  for (size_t l = L - 1; l >= 1; l--) {
    c.l = l, c.kind = BPCHECK_TRACE_BACK, c.scale = rf;
    snprintf(t, sizeof t, "(W^%zu)^T D^%zu", l + 1, l + 1);
    print_matrix(p, t, "MX.3", n[l], B, sample_entry, &c);
    c.kind = BPCHECK_TRACE_FPRIME, c.scale = 1.0;
    snprintf(t, sizeof t, "f_%zu'(Z^%zu)", l, l);
    print_matrix(p, t, fprime_label(r, l), n[l], B, sample_entry, &c);
    c.kind = BPCHECK_TRACE_DELTA, c.scale = rf;
    snprintf(t, sizeof t, "D^%zu = ((W^%zu)^T D^%zu) (.) f_%zu'(Z^%zu)", l,
             l + 1, l + 1, l, l);
    print_matrix(p, t, "MX.3 = BP2", n[l], B, sample_entry, &c);
  }

  printf("\nstep 4: the gradient of the weights, the shape of W^l\n");
  for (size_t l = 1; l <= L; l++) {
    c.l = l, c.kind = BPCHECK_TRACE_GRAD_W;
    if (B == 1)
      snprintf(t, sizeof t,
               "dC/dW^%zu = D^%zu (A^%zu)^T = delta^%zu (a^%zu)^T, an outer "
               "product",
               l, l, l - 1, l, l - 1);
    else
      snprintf(t, sizeof t,
               "dC/dW^%zu = D^%zu (A^%zu)^T = sum_s D^%zu_s (A^%zu_s)^T", l, l,
               l - 1, l, l - 1);
    if (net->weight_decay) /* (WD.3) */
      snprintf(t + strlen(t), sizeof t - strlen(t), " + lambda W^%zu", l);
    print_matrix(p, t, "MX.4 = BP4", n[l], n[l - 1], grad_entry, &c);
  }

  printf("\nstep 5: the gradient of the biases, a column per layer\n");
  for (size_t l = 1; l <= L; l++) {
    c.l = l, c.kind = BPCHECK_TRACE_GRAD_B;
    snprintf(t, sizeof t, "dC/db^%zu = D^%zu 1", l, l);
    print_matrix(p, t, "MX.5 = BP3", n[l], 1, grad_entry, &c);
  }
}

/* Step 6 with --eta: theta <- theta - eta nabla, and the cost again. */
static int
print_step6(const printer *p, bpcheck_net *net, const bpcheck_batch *batch,
            const trace_record *r, double eta, int have_eta)
{
  printf("\nstep 6: the update, theta <- theta - eta dC/dtheta  (FC.8)\n");
  const bpcheck_trace_event *C0 = trace_find(r, BPCHECK_TRACE_C, 0, 0, 0, 0);
  if (!have_eta) {
    printf("  (give --eta E to take the step)\n");
    return 0;
  }
  bpcheck_params *g = NULL, *g2 = NULL;
  bpcheck_literal_workspace *w = NULL;
  double C1 = 0;
  int status;
  if ((status = bpcheck_params_alloc(&g, net->L, net->n)) ||
      (status = bpcheck_params_alloc(&g2, net->L, net->n)) ||
      (status = bpcheck_literal_alloc(&w, net)))
    goto done;
  for (size_t i = 0; i < r->n; i++) {
    const bpcheck_trace_event *e = &r->e[i];
    if (e->kind == BPCHECK_TRACE_GRAD_W)
      gsl_matrix_set(&g->W[e->l], e->k, e->j, e->value);
    else if (e->kind == BPCHECK_TRACE_GRAD_B)
      gsl_vector_set(&g->b[e->l], e->k, e->value);
  }
  if ((status = bpcheck_net_step(net, g, eta)) ||
      (status = bpcheck_literal_backprop(net, batch, g2, &C1, w)))
    goto done;
  by_kind c = {r, net, BPCHECK_TRACE_X, 0, 1.0};
  char t[96];
  for (size_t l = 1; l <= net->L; l++) {
    c.l = l;
    snprintf(t, sizeof t, "W^%zu - %g dC/dW^%zu", l, eta, l);
    print_matrix(p, t, "FC.8", net->n[l], net->n[l - 1], weight_entry, &c);
    snprintf(t, sizeof t, "b^%zu - %g dC/db^%zu", l, eta, l);
    print_matrix(p, t, "FC.8", net->n[l], 1, bias_entry, &c);
  }
  printf("  %-*s = %.*g\n", p->width, "C before the step", p->digits,
         C0 ? C0->value : 0.0);
  printf("  %-*s = %.*g  (%s)\n", p->width, "C after the step", p->digits, C1,
         C0 && C1 < C0->value ? "lower" : "not lower: eta too large");
done:
  bpcheck_literal_free(w);
  bpcheck_params_free(g);
  bpcheck_params_free(g2);
  return status;
}

/* The graph (--dot) ---------------------------------------------------- */

static double
value_of(const trace_record *r, bpcheck_trace_kind kind, size_t l, size_t k,
         size_t j)
{
  const bpcheck_trace_event *e = trace_find(r, kind, 0, l, k, j);
  return e ? e->value : 0.0;
}

static int
write_dot(const char *path, const bpcheck_net *net, const trace_record *r,
          int digits, const char *desc)
{
  FILE *f = fopen(path, "w");
  if (!f) {
    say_error("cannot write %s", path);
    return -1;
  }
  const size_t L = net->L, *n = net->n;
  const int d = digits;
  fprintf(f,
          "// bpcheck trace --dot: %s; nodes: sample 0, edges: the batch's "
          "gradient\n",
          desc);
  fprintf(f,
          "digraph bpcheck {\n  labelloc=t;\n  fontname=\"monospace\";\n"
          "  label=\"%s: node values of sample 0, edges W^l_k,j and the "
          "batch's dC/dW^l_k,j\";\n",
          desc);
  fprintf(f, "  rankdir=LR;\n  ordering=out;\n  nodesep=0.3;\n"
             "  ranksep=2.2;\n"
             "  node [shape=box, style=rounded, fontname=\"monospace\", "
             "fontsize=10];\n"
             "  edge [fontname=\"monospace\", fontsize=9];\n");
  for (size_t l = 0; l <= L; l++) {
    fprintf(f, "  subgraph layer%zu { rank=same;\n", l);
    for (size_t k = 0; k < n[l]; k++) {
      if (l == 0)
        fprintf(f, "    n0_%zu [label=\"a^0_%zu = x_%zu\\n%.*g\"];\n", k, k, k,
                d, value_of(r, BPCHECK_TRACE_X, 0, k, 0));
      else
        fprintf(f,
                "    n%zu_%zu [label=\"node %zu of layer %zu (%s)\\n"
                "z^%zu_%zu = %.*g\\na^%zu_%zu = %.*g\\ndelta^%zu_%zu = "
                "%.*g\\nb^%zu_%zu = %.*g, dC/db = %.*g\"];\n",
                l, k, k, l, bpcheck_activation_name(net->f[l]), l, k, d,
                value_of(r, BPCHECK_TRACE_Z, l, k, 0), l, k, d,
                value_of(r, BPCHECK_TRACE_A, l, k, 0), l, k, d,
                value_of(r, BPCHECK_TRACE_DELTA, l, k, 0), l, k, d,
                gsl_vector_get(&net->theta->b[l], k), d,
                value_of(r, BPCHECK_TRACE_GRAD_B, l, k, 0));
    }
    fprintf(f, "  }\n");
  }
  fprintf(f, "  cost [shape=ellipse, label=\"C = %.*g\\n%s\"];\n", d,
          value_of(r, BPCHECK_TRACE_C, 0, 0, 0), bpcheck_cost_name(net->cost));
  for (size_t l = 1; l <= L; l++)
    for (size_t k = 0; k < n[l]; k++)
      for (size_t j = 0; j < n[l - 1]; j++)
        fprintf(f,
                "  n%zu_%zu -> n%zu_%zu [label=\"W^%zu_%zu,%zu = %.*g\\n"
                "dC/dW = %.*g\"];\n",
                l - 1, j, l, k, l, k, j, d,
                gsl_matrix_get(&net->theta->W[l], k, j), d,
                value_of(r, BPCHECK_TRACE_GRAD_W, l, k, j));
  for (size_t k = 0; k < n[L]; k++)
    fprintf(f,
            "  n%zu_%zu -> cost [style=dashed, label=\"y_%zu = %.*g\\n"
            "dC/da = %.*g\"];\n",
            L, k, k, d, value_of(r, BPCHECK_TRACE_Y, L, k, 0), d,
            value_of(r, BPCHECK_TRACE_DC_DA, L, k, 0));
  fprintf(f, "}\n");
  if (fclose(f)) {
    say_error("cannot write %s", path);
    return -1;
  }
  return 0;
}

int
cmd_trace(int argc, char **argv)
{
  netopts o;
  size_t digits = 10, max_bytes = 0, max_lines = TRACE_MAX_LINES;
  int opt_exit, matrix = 0, have_eta = 0;
  double eta = 0;
  const char *dot = NULL;
  bpcheck_mutant m = BPCHECK_MUTANT_NONE;
  netopts_init(&o);
  const option_spec options[] = {
      OPTION_SIZE("--digits", &digits, 1, 17),
      OPTION_FLAG("--matrix", &matrix),
      OPTION_PARSE_GIVEN("--eta", parse_eta, &eta, &have_eta),
      OPTION_STRING("--dot", &dot),
      OPTION_PARSE("--mutant", option_mutant, &m),
      OPTION_MAX_BYTES(&max_bytes),
      OPTION_SIZE("--max-lines", &max_lines, 1, (size_t)1 << 50),
      NETOPTS_OPTIONS(&o),
      OPTION_END};
  if (parse_options("trace", usage, options, argc, argv, &opt_exit))
    return opt_exit;
  if (have_eta && !matrix) {
    say_error("--eta goes with --matrix (step 6)");
    return EXIT_USAGE;
  }
  bpcheck_case *tc = NULL;
  if (optind < argc) { /* a case file */
    if (o.L) {
      say_error("trace takes a case file or --layers, not both");
      return EXIT_USAGE;
    }
    if (!max_bytes)
      max_bytes = bpcheck_case_max_bytes(o.max_params);
    if (bpcheck_case_read_max(argv[optind], o.max_params, max_bytes, &tc)) {
      say_error("%s", bpcheck_errmsg());
      return EXIT_USAGE;
    }
  } else if (netopts_case(&o, "trace", &tc))
    return EXIT_USAGE;
  double lines = listing_lines(tc);
  if (lines > (double)max_lines) {
    say_error("trace: the listing of this network would take about %.0f "
              "lines, more than --max-lines %zu (raise it to print it)",
              lines, max_lines);
    bpcheck_case_free(tc);
    return EXIT_USAGE;
  }

  trace_record rec = {0}, right = {0};
  int status = trace_run(tc->net, tc->batch, m, &rec);
  if (!status && m != BPCHECK_MUTANT_NONE)
    status = trace_run(tc->net, tc->batch, BPCHECK_MUTANT_NONE, &right);
  int code = EXIT_PASS;
  if (status) {
    say_error("%s", rec.failed || right.failed ? "no memory for the trace"
                                               : bpcheck_errmsg());
    code = EXIT_USAGE;
    goto done;
  }
  char desc[256];
  bpcheck_net_describe(tc->net, desc, sizeof desc);
  if (dot) {
    if (write_dot(dot, tc->net, &rec, (int)(digits < 4 ? digits : 4), desc))
      code = EXIT_USAGE;
    goto done;
  }
  if (optind < argc)
    printf("bpcheck trace: %s, batch %zu, from %s\n", desc, tc->batch->B,
           argv[optind]);
  else
    printf("bpcheck trace: %s, batch %zu, seed %lu\n", desc, tc->batch->B,
           o.seed);
  printf("equations: proofs/ (FC: fully connected, ACT: activations, "
         "COST: costs, MX: matrix form)\n");
  if (m != BPCHECK_MUTANT_NONE)
    printf("mutant %s: violates %s: %s\n", bpcheck_mutant_name(m),
           bpcheck_mutant_equation(m), bpcheck_mutant_about(m));
  trace_print_notation("");
  printer p = {tc->net,
               (int)digits,
               formula_width(tc->net, &rec),
               0,
               m != BPCHECK_MUTANT_NONE ? &right : NULL,
               0,
               NULL};
  print_parameters(&p);
  if (matrix) {
    print_matrix_form(&p, tc->batch, &rec);
    if (print_step6(&p, tc->net, tc->batch, &rec, eta, have_eta)) {
      say_error("%s", bpcheck_errmsg());
      code = EXIT_USAGE;
    }
    goto done;
  }
  for (size_t i = 0; i < rec.n; i++)
    print_event(&p, &rec.e[i]);
  if (m != BPCHECK_MUTANT_NONE) {
    char name[64], label[32];
    if (p.first_wrong) {
      trace_name(p.first_wrong, name, sizeof name);
      trace_label(p.first_wrong, label, sizeof label);
      printf("\nmutant %s: %zu lines WRONG; the first is %s (%s): the bug "
             "violates %s\n",
             bpcheck_mutant_name(m), p.wrong, name, label,
             bpcheck_mutant_equation(m));
    } else
      printf("\nmutant %s: no line changes on this network (try another "
             "--seed, --batch or architecture)\n",
             bpcheck_mutant_name(m));
  }
done:
  trace_record_free(&rec);
  trace_record_free(&right);
  bpcheck_case_free(tc);
  return code;
}
