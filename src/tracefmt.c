/* tracefmt.c -- the formulas, labels and notation of `trace` and `quiz`,
 * and a trace kept whole (see tracefmt.h). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracefmt.h"

static const char *
cost_formula(bpcheck_cost c)
{
  switch (c) {
  case BPCHECK_QUADRATIC: return "1/2 sum_k (a^L_k - y_k)^2";
  case BPCHECK_MSE: return "1/n_L sum_k (a^L_k - y_k)^2";
  case BPCHECK_CROSS_ENTROPY:
    return "-sum_k [y_k ln a^L_k + (1-y_k) ln(1-a^L_k)]";
  default: return "-sum_k y_k ln a^L_k";
  }
}

/* dC/da^L_k of cost c, with L and k written in. */
static void
dcost_formula(bpcheck_cost c, size_t L, size_t k, char *buf, size_t len)
{
  switch (c) {
  case BPCHECK_QUADRATIC:
    snprintf(buf, len, "a^%zu_%zu - y_%zu", L, k, k);
    break;
  case BPCHECK_MSE:
    snprintf(buf, len, "2 (a^%zu_%zu - y_%zu) / n_L", L, k, k);
    break;
  case BPCHECK_CROSS_ENTROPY:
    snprintf(buf, len, "(a^%zu_%zu - y_%zu) / (a^%zu_%zu (1 - a^%zu_%zu))", L,
             k, k, L, k, L, k);
    break;
  default: snprintf(buf, len, "-y_%zu / a^%zu_%zu", k, L, k);
  }
}

void
trace_name(const bpcheck_trace_event *e, char *buf, size_t len)
{
  size_t l = e->l, k = e->k, j = e->j;
  switch (e->kind) {
  case BPCHECK_TRACE_X: snprintf(buf, len, "a^0_%zu", k); break;
  case BPCHECK_TRACE_Y: snprintf(buf, len, "y_%zu", k); break;
  case BPCHECK_TRACE_Z: snprintf(buf, len, "z^%zu_%zu", l, k); break;
  case BPCHECK_TRACE_A: snprintf(buf, len, "a^%zu_%zu", l, k); break;
  case BPCHECK_TRACE_COST: snprintf(buf, len, "C_%zu", e->s); break;
  case BPCHECK_TRACE_DC_DA:
  case BPCHECK_TRACE_BACK: snprintf(buf, len, "dC/da^%zu_%zu", l, k); break;
  case BPCHECK_TRACE_SM_SUM:
    snprintf(buf, len, "sum_i a^%zu_i dC/da^%zu_i", l, l);
    break;
  case BPCHECK_TRACE_FPRIME:
    snprintf(buf, len, "f_%zu'(z^%zu_%zu)", l, l, k);
    break;
  case BPCHECK_TRACE_DELTA: snprintf(buf, len, "delta^%zu_%zu", l, k); break;
  case BPCHECK_TRACE_DW:
  case BPCHECK_TRACE_GRAD_W:
    snprintf(buf, len, "dC/dW^%zu_%zu,%zu", l, k, j);
    break;
  case BPCHECK_TRACE_DB:
  case BPCHECK_TRACE_GRAD_B: snprintf(buf, len, "dC/db^%zu_%zu", l, k); break;
  default: snprintf(buf, len, "C");
  }
}

void
trace_formula(const bpcheck_net *net, const bpcheck_trace_event *e, char *buf,
              size_t len)
{
  size_t l = e->l, k = e->k, j = e->j;
  char t[96];
  switch (e->kind) {
  case BPCHECK_TRACE_X: snprintf(buf, len, "a^0_%zu = x_%zu", k, k); break;
  case BPCHECK_TRACE_Y: snprintf(buf, len, "y_%zu", k); break;
  case BPCHECK_TRACE_Z:
    snprintf(buf, len, "z^%zu_%zu = sum_j W^%zu_%zu,j a^%zu_j + b^%zu_%zu", l,
             k, l, k, l - 1, l, k);
    break;
  case BPCHECK_TRACE_A:
    if (net->f[l] == BPCHECK_SOFTMAX)
      snprintf(buf, len, "a^%zu_%zu = e^z^%zu_%zu / sum_i e^z^%zu_i", l, k, l,
               k, l);
    else
      snprintf(buf, len, "a^%zu_%zu = %s(z^%zu_%zu)", l, k,
               bpcheck_activation_name(net->f[l]), l, k);
    break;
  case BPCHECK_TRACE_COST:
    snprintf(buf, len, "C_%zu = %s", e->s, cost_formula(net->cost));
    break;
  case BPCHECK_TRACE_DC_DA:
    dcost_formula(net->cost, l, k, t, sizeof t);
    snprintf(buf, len, "dC/da^%zu_%zu = %s", l, k, t);
    break;
  case BPCHECK_TRACE_SM_SUM:
    snprintf(buf, len, "sum_i a^%zu_i dC/da^%zu_i", l, l);
    break;
  case BPCHECK_TRACE_BACK:
    snprintf(buf, len, "dC/da^%zu_%zu = sum_k W^%zu_k,%zu delta^%zu_k", l, k,
             l + 1, k, l + 1);
    break;
  case BPCHECK_TRACE_FPRIME:
    snprintf(buf, len, "f_%zu'(z^%zu_%zu) = %s'(z^%zu_%zu)", l, l, k,
             bpcheck_activation_name(net->f[l]), l, k);
    break;
  case BPCHECK_TRACE_DELTA:
    if (l == net->L && strcmp(e->equation, "COST.6") == 0)
      snprintf(buf, len, "delta^%zu_%zu = a^%zu_%zu sum_i y_i - y_%zu", l, k,
               l, k, k);
    else if (l == net->L && strcmp(e->equation, "COST.7") == 0)
      snprintf(buf, len, "delta^%zu_%zu = a^%zu_%zu - y_%zu", l, k, l, k, k);
    else if (l == net->L && net->f[l] == BPCHECK_SOFTMAX)
      snprintf(buf, len,
               "delta^%zu_%zu = a^%zu_%zu (dC/da^%zu_%zu - sum_i a^%zu_i "
               "dC/da^%zu_i)",
               l, k, l, k, l, k, l, l);
    else
      snprintf(buf, len, "delta^%zu_%zu = dC/da^%zu_%zu f_%zu'(z^%zu_%zu)", l,
               k, l, k, l, l, k);
    break;
  case BPCHECK_TRACE_DW:
    snprintf(buf, len, "dC/dW^%zu_%zu,%zu = a^%zu_%zu delta^%zu_%zu", l, k, j,
             l - 1, j, l, k);
    break;
  case BPCHECK_TRACE_DB:
    snprintf(buf, len, "dC/db^%zu_%zu = delta^%zu_%zu", l, k, l, k);
    break;
  case BPCHECK_TRACE_GRAD_W:
    snprintf(buf, len, "dC/dW^%zu_%zu,%zu = r sum_s dC_s/dW^%zu_%zu,%zu%s", l,
             k, j, l, k, j, net->weight_decay ? " + lambda W" : "");
    break;
  case BPCHECK_TRACE_GRAD_B:
    snprintf(buf, len, "dC/db^%zu_%zu = r sum_s dC_s/db^%zu_%zu", l, k, l, k);
    break;
  default:
    snprintf(buf, len, "C = r sum_s C_s%s",
             net->weight_decay ? " + lambda/2 sum_l ||W^l||^2" : "");
  }
}

void
trace_label(const bpcheck_trace_event *e, char *buf, size_t len)
{
  /* Nielsen's names (chapter 2) of the four equations. */
  static const struct {
    const char *fc, *bp;
  } bp[] = {
      {"FC.4", "BP1"}, {"FC.5", "BP2"}, {"FC.7", "BP3"}, {"FC.6", "BP4"}};
  for (size_t i = 0; i < sizeof bp / sizeof bp[0]; i++)
    if (strcmp(e->equation, bp[i].fc) == 0) {
      snprintf(buf, len, "%s = %s", e->equation, bp[i].bp);
      return;
    }
  snprintf(buf, len, "%s", e->equation);
}

void
trace_print_notation(const char *in)
{
  printf("%snotation (proofs/README.md):\n", in);
  printf("%s  l        the layer, 0..L; a^0 = x is a definition, L the "
         "output\n",
         in);
  printf("%s  k        the receiving node, in layer l    (Nielsen: j)\n", in);
  printf("%s  j        the emitting node, in layer l-1   (Nielsen: k)\n", in);
  printf("%s  W^l_k,j  the weight from node j of layer l-1 to node k of "
         "layer l\n",
         in);
  printf("%s           (Nielsen's w^l_jk: the same weight, letters "
         "swapped)\n",
         in);
  printf("%s  0-based  the nodes of layer l are 0..n_l-1\n", in);
  printf("%s  (FC.5)   a hidden node is k in (FC.1)-(FC.4) and j in (FC.5),\n"
         "%s           where it emits into layer l+1, whose nodes are k\n",
         in, in);
  printf("%s  chain    the two-node chain (proofs/03) is --layers 1,1,1: "
         "w_1 = W^1_0,0,\n"
         "%s           w_2 = W^2_0,0, delta_1 = delta^1_0, delta_2 = "
         "delta^2_0\n",
         in, in);
  printf("%s  BP1-BP4  Nielsen's names: BP1 = (FC.4), BP2 = (FC.5), BP3 = "
         "(FC.7),\n"
         "%s           BP4 = (FC.6)\n",
         in, in);
}

int
trace_keep(const bpcheck_trace_event *e, void *data)
{
  trace_record *r = data;
  if (r->n == r->cap) {
    size_t cap = r->cap ? 2 * r->cap : 256;
    bpcheck_trace_event *p = realloc(r->e, cap * sizeof *p);
    if (!p) {
      r->failed = 1;
      return 1;
    }
    r->e = p, r->cap = cap;
  }
  r->e[r->n++] = *e;
  return 0;
}

void
trace_record_free(trace_record *r)
{
  free(r->e);
  r->e = NULL;
  r->n = r->cap = 0;
}

const bpcheck_trace_event *
trace_find(const trace_record *r, bpcheck_trace_kind kind, size_t s, size_t l,
           size_t k, size_t j)
{
  for (size_t i = 0; i < r->n; i++) {
    const bpcheck_trace_event *e = &r->e[i];
    if (e->kind == kind && e->s == s && e->l == l && e->k == k && e->j == j)
      return e;
  }
  return NULL;
}

int
trace_run(const bpcheck_net *net, const bpcheck_batch *batch, bpcheck_mutant m,
          trace_record *r)
{
  bpcheck_params *nabla = NULL;
  bpcheck_literal_workspace *w = NULL;
  int status;
  if (!(status = bpcheck_params_alloc(&nabla, net->L, net->n)) &&
      !(status = bpcheck_literal_alloc(&w, net)))
    status = bpcheck_trace_mutant(net, batch, nabla, w, trace_keep, r, m);
  if (!status && r->failed)
    status = BPCHECK_ENOMEM;
  bpcheck_literal_free(w);
  bpcheck_params_free(nabla);
  return status;
}
