/* cmd_trace.c -- `bpcheck trace`: every z, a and delta of a small network
 * with its indices and equation number, as a student would write it out. */

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "netopts.h"
#include "options.h"

static const char usage[] =
    "Usage: bpcheck trace --layers N0,N1,...,NL [--activations A|A1,..,AL]\n"
    "                     [--cost C] [--reduction R] [--batch B] [--seed S]\n"
    "                     [--digits D] [--max-params N] [--max-lines N]\n"
    "       bpcheck trace CASE.json [--digits D] [--max-params N]\n"
    "                     [--max-bytes N] [--max-lines N]\n"
    "Builds a random network and batch from the seed and prints, in order,\n"
    "every quantity of the literal backprop with its indices and the\n"
    "equation of proofs/ it comes from: a^0 = x, z^l_k and a^l_k forward, "
    "the\n"
    "cost, dC/da^L_k, every delta^l_k backward, each sample's dC/dW^l_kj and\n"
    "dC/db^l_k, and the batch's gradient.\n"
    "\n"
    "  --layers LIST      layer sizes n_0,...,n_L (required), e.g. 2,3,1\n"
    "  --activations A    one activation for every layer, or L of them\n"
    "                     (default sigmoid)\n"
    "  --cost C           quadratic (default), mse, cross_entropy,\n"
    "                     categorical_cross_entropy\n"
    "  --reduction R      mean (default) or sum, over the batch\n"
    "  --batch B          samples (default 1)\n"
    "  --seed S           seed of the parameters and the batch (default\n"
    "                     $BPCHECK_SEED, else 1)\n"
    "  --digits D         significant digits printed, 1..17 (default 10)\n"
    "  --max-params N     refuse larger networks and batches (default\n"
    "                     10000000)\n"
    "  --max-bytes N      refuse a longer case file (as for verify)\n"
    "  --max-lines N      refuse a network whose listing would be longer\n"
    "                     (default 100000): raise it to print a large one\n";

enum { OPT_DIGITS = 2100 };

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
  int digits;
  size_t sample; /* the sample whose events are being printed */
  int section;   /* the last section heading printed */
} printer;

/* One line: the formula, its value, the equation. */
static void
line(const printer *p, const char *formula, double value, const char *eq)
{
  printf("  %-48s = %-*.*g  (%s)\n", formula, p->digits + 7, p->digits, value,
         eq);
}

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

static int
print_event(const bpcheck_trace_event *e, void *data)
{
  printer *p = data;
  const bpcheck_net *net = p->net;
  char f[160];
  size_t l = e->l, k = e->k, j = e->j;
  switch (e->kind) {
  case BPCHECK_TRACE_X:
    heading(p, 1, "input", e->s);
    snprintf(f, sizeof f, "a^0_%zu = x_%zu", k, k);
    break;
  case BPCHECK_TRACE_Y:
    heading(p, 2, "target", e->s);
    snprintf(f, sizeof f, "y_%zu", k);
    break;
  case BPCHECK_TRACE_Z:
    heading(p, 3, "forward", e->s);
    snprintf(f, sizeof f, "z^%zu_%zu = sum_j W^%zu_%zuj a^%zu_j + b^%zu_%zu",
             l, k, l, k, l - 1, l, k);
    break;
  case BPCHECK_TRACE_A:
    if (net->f[l] == BPCHECK_SOFTMAX)
      snprintf(f, sizeof f, "a^%zu_%zu = e^z^%zu_%zu / sum_i e^z^%zu_i", l, k,
               l, k, l);
    else
      snprintf(f, sizeof f, "a^%zu_%zu = %s(z^%zu_%zu)", l, k,
               bpcheck_activation_name(net->f[l]), l, k);
    break;
  case BPCHECK_TRACE_COST:
    heading(p, 4, "cost", e->s);
    snprintf(f, sizeof f, "C_%zu = %s", e->s, cost_formula(net->cost));
    break;
  case BPCHECK_TRACE_DC_DA:
    snprintf(f, sizeof f, "dC/da^%zu_%zu", l, k);
    break;
  case BPCHECK_TRACE_DELTA:
    heading(p, 5, "backward", e->s);
    if (l < net->L)
      snprintf(f, sizeof f,
               "delta^%zu_%zu = (sum_k W^%zu_k%zu delta^%zu_k) "
               "f'(z^%zu_%zu)",
               l, k, l + 1, k, l + 1, l, k);
    else if (net->f[l] == BPCHECK_SOFTMAX)
      snprintf(f, sizeof f,
               "delta^%zu_%zu = a_%zu (dC/da_%zu - sum_i a_i dC/da_i)", l, k,
               k, k);
    else
      snprintf(f, sizeof f, "delta^%zu_%zu = dC/da^%zu_%zu f'(z^%zu_%zu)", l,
               k, l, k, l, k);
    break;
  case BPCHECK_TRACE_DW:
    heading(p, 6, "gradient of this sample", e->s);
    snprintf(f, sizeof f, "dC/dW^%zu_%zu,%zu = a^%zu_%zu delta^%zu_%zu", l, k,
             j, l - 1, j, l, k);
    break;
  case BPCHECK_TRACE_DB:
    snprintf(f, sizeof f, "dC/db^%zu_%zu = delta^%zu_%zu", l, k, l, k);
    break;
  case BPCHECK_TRACE_GRAD_W:
    if (p->section != 7) {
      p->section = 7;
      printf("\nbatch: C = r sum_s C_s with r = %s\n",
             net->reduction == BPCHECK_MEAN ? "1/B" : "1");
    }
    snprintf(f, sizeof f, "dC/dW^%zu_%zu,%zu = r sum_s dC_s/dW^%zu_%zu,%zu", l,
             k, j, l, k, j);
    break;
  case BPCHECK_TRACE_GRAD_B:
    snprintf(f, sizeof f, "dC/db^%zu_%zu = r sum_s dC_s/db^%zu_%zu", l, k, l,
             k);
    break;
  default: snprintf(f, sizeof f, "C = r sum_s C_s");
  }
  line(p, f, e->value, e->equation);
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
        printf("  %-48s = %.*g\n", f, p->digits,
               gsl_matrix_get(&net->theta->W[l], k, j));
      }
      snprintf(f, sizeof f, "b^%zu_%zu", l, k);
      printf("  %-48s = %.*g\n", f, p->digits,
             gsl_vector_get(&net->theta->b[l], k));
    }
}

int
cmd_trace(int argc, char **argv)
{
  static const struct option longopts[] = {
      {"help", no_argument, NULL, 'h'},
      {"digits", required_argument, NULL, OPT_DIGITS},
      {"max-bytes", required_argument, NULL, OPT_MAX_BYTES},
      {"max-lines", required_argument, NULL, OPT_MAX_LINES},
      NET_LONG_OPTIONS,
      {NULL, 0, NULL, 0}};
  netopts o;
  size_t digits = 10, max_bytes = 0, max_lines = TRACE_MAX_LINES;
  int c;
  netopts_init(&o);
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    int done = netopts_parse(&o, c, optarg);
    if (done < 0)
      return EXIT_USAGE;
    if (done)
      continue;
    switch (c) {
    case 'h': fputs(usage, stdout); return EXIT_PASS;
    case OPT_DIGITS:
      if (parse_size("--digits", optarg, 1, 17, &digits))
        return EXIT_USAGE;
      break;
    case OPT_MAX_BYTES:
      if (parse_max_bytes(optarg, &max_bytes))
        return EXIT_USAGE;
      break;
    case OPT_MAX_LINES:
      if (parse_size("--max-lines", optarg, 1, (size_t)1 << 50, &max_lines))
        return EXIT_USAGE;
      break;
    default: return bad_option("trace", c, argv);
    }
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

  bpcheck_params *nabla = NULL;
  bpcheck_literal_workspace *w = NULL;
  int status;
  if (!(status = bpcheck_params_alloc(&nabla, tc->net->L, tc->net->n)) &&
      !(status = bpcheck_literal_alloc(&w, tc->net))) {
    char desc[256];
    bpcheck_net_describe(tc->net, desc, sizeof desc);
    if (optind < argc)
      printf("bpcheck trace: %s, batch %zu, from %s\n", desc, tc->batch->B,
             argv[optind]);
    else
      printf("bpcheck trace: %s, batch %zu, seed %lu\n", desc, tc->batch->B,
             o.seed);
    printf("equations: proofs/ (FC: fully connected, ACT: activations, "
           "COST: costs)\n");
    printer p = {tc->net, (int)digits, 0, 0};
    print_parameters(&p);
    status = bpcheck_trace(tc->net, tc->batch, nabla, w, print_event, &p);
  }
  if (status)
    say_error("%s", bpcheck_errmsg());
  bpcheck_literal_free(w);
  bpcheck_params_free(nabla);
  bpcheck_case_free(tc);
  return status ? EXIT_USAGE : EXIT_PASS;
}
