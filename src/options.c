/* options.c -- values of the command line, checked with clear messages. */

#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "options.h"

void
say_error(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fputs("bpcheck: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* strtoull that accepts digits only (no sign, no space, no suffix). */
static int
parse_ull(const char *arg, unsigned long long *out)
{
  if (!arg || *arg < '0' || *arg > '9')
    return -1;
  char *end;
  errno = 0;
  *out = strtoull(arg, &end, 10);
  return errno || *end ? -1 : 0;
}

int
parse_size(const char *opt, const char *arg, size_t lo, size_t hi, size_t *out)
{
  unsigned long long v;
  if (parse_ull(arg, &v) || v < lo || v > hi) {
    say_error("%s: '%s' is not a whole number from %zu to %zu", opt, arg, lo,
              hi);
    return -1;
  }
  *out = (size_t)v;
  return 0;
}

int
parse_seed(const char *opt, const char *arg, unsigned long *out)
{
  unsigned long long v;
  if (parse_ull(arg, &v) || v > 0xffffffffULL) {
    say_error("%s: '%s' is not a seed (a whole number from 0 to 4294967295)",
              opt, arg);
    return -1;
  }
  *out = (unsigned long)v;
  return 0;
}

int
default_seed(unsigned long fallback, unsigned long *out)
{
  const char *env = getenv("BPCHECK_SEED");
  if (env && *env)
    return parse_seed("BPCHECK_SEED", env, out);
  *out = fallback;
  return 0;
}

/* A list with an empty item: ",a", "a,,b", "a,". */
static int
empty_item(const char *opt, const char *arg)
{
  size_t n = strlen(arg);
  if (n && arg[0] != ',' && arg[n - 1] != ',' && !strstr(arg, ",,"))
    return 0;
  say_error("%s: '%s' has an empty item (a stray comma)", opt, arg);
  return -1;
}

/* Calls each(name, data) for every name of the comma-separated list arg
 * of option opt, in order; -1 at the first that returns -1, or after the
 * message "OPT: EXPECTS" when arg is not such a list. */
static int
for_each_name(const char *opt, const char *arg, const char *expects,
              int (*each)(const char *opt, const char *name, void *data),
              void *data)
{
  char buf[512];
  if (!arg || !*arg || strlen(arg) >= sizeof buf) {
    say_error("%s: %s", opt, expects);
    return -1;
  }
  if (empty_item(opt, arg))
    return -1;
  strcpy(buf, arg);
  for (char *save, *name = strtok_r(buf, ",", &save); name;
       name = strtok_r(NULL, ",", &save))
    if (each(opt, name, data))
      return -1;
  return 0;
}

/* A list of names, name(0..count-1), into a bit set. */
typedef struct {
  const char *(*name)(int);
  int count;
  const char *choices;
  unsigned set;
} name_set;

static int
add_name(const char *opt, const char *name, void *data)
{
  name_set *s = data;
  int v = 0;
  while (v < s->count && strcmp(name, s->name(v)) != 0)
    v++;
  if (v == s->count) {
    say_error("%s: unknown name '%s' (choose from %s)", opt, name, s->choices);
    return -1;
  }
  s->set |= 1u << v;
  return 0;
}

static int
parse_list(const char *opt, const char *arg, const char *(*name)(int),
           int count, const char *choices, unsigned *set)
{
  char expects[160];
  name_set s = {name, count, choices, 0};
  snprintf(expects, sizeof expects, "expects a comma-separated list of %s",
           choices);
  if (for_each_name(opt, arg, expects, add_name, &s))
    return -1;
  *set = s.set;
  return 0;
}

/* --activations of the SPACE: the hidden layers', never softmax. */
int
option_hidden(const option_spec *o, const char *arg)
{
  if (option_activations(o, arg))
    return -1;
  if (*(unsigned *)o->target & (1u << BPCHECK_SOFTMAX)) {
    say_error("--activations: softmax is only allowed on the output layer "
              "(use --output softmax)");
    return -1;
  }
  return 0;
}

int
space_ready(const bpcheck_space *s, int have_seed, unsigned long *seed)
{
  if (!have_seed && default_seed(1, seed))
    return -1;
  if (bpcheck_space_validate(s)) {
    say_error("%s", bpcheck_errmsg());
    return -1;
  }
  return 0;
}

/* Writes the names of a bit set as "a,b,c". */
static void
put_set(char *buf, size_t len, unsigned set, int count,
        const char *(*name)(int))
{
  size_t used = strlen(buf);
  for (int i = 0, first = 1; i < count; i++)
    if (set & (1u << i)) {
      int w = snprintf(buf + used, used < len ? len - used : 0, "%s%s",
                       first ? "" : ",", name(i));
      used += w > 0 ? (size_t)w : 0;
      first = 0;
    }
}

const char *
act_name(int i)
{
  return bpcheck_activation_name((bpcheck_activation)i);
}

const char *
cost_name(int i)
{
  return bpcheck_cost_name((bpcheck_cost)i);
}

const char *
reduction_name(int i)
{
  return bpcheck_reduction_name((bpcheck_reduction)i);
}

/* Appends to buf with snprintf, never past len. */
static void append(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
append(char *buf, size_t len, const char *fmt, ...)
{
  size_t used = strlen(buf);
  if (used >= len)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf + used, len - used, fmt, ap);
  va_end(ap);
}

void
space_args(const bpcheck_space *s, char *buf, size_t len)
{
  bpcheck_space d;
  bpcheck_space_default(&d);
  buf[0] = '\0';
  if (s->max_depth != d.max_depth)
    append(buf, len, " --max-depth %zu", s->max_depth);
  if (s->max_width != d.max_width)
    append(buf, len, " --max-width %zu", s->max_width);
  if (s->min_width > 1)
    append(buf, len, " --min-width %zu", s->min_width);
  if (s->same_width)
    append(buf, len, " --same-width");
  if (s->max_batch != d.max_batch)
    append(buf, len, " --max-batch %zu", s->max_batch);
  const struct {
    const char *opt;
    unsigned set, by_default;
    int count;
    const char *(*name)(int);
  } sets[] = {
      {"--activations", s->hidden, d.hidden, BPCHECK_N_ACTIVATIONS, act_name},
      {"--output", s->output, d.output, BPCHECK_N_ACTIVATIONS, act_name},
      {"--costs", s->costs, d.costs, BPCHECK_N_COSTS, cost_name},
      {"--reductions", s->reductions, d.reductions, BPCHECK_N_REDUCTIONS,
       reduction_name}};
  for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
    if (sets[i].set != sets[i].by_default) {
      append(buf, len, " %s ", sets[i].opt);
      put_set(buf, len, sets[i].set, sets[i].count, sets[i].name);
    }
  if (s->same_hidden)
    append(buf, len, " --same-hidden");
  if (s->mode != BPCHECK_MODE_FULL)
    append(buf, len, " --mode %s",
           s->mode == BPCHECK_MODE_DIRECTIONAL ? "directional" : "auto");
  if (s->tolerance_scale != 1.0)
    append(buf, len, " --tolerance-scale %g", s->tolerance_scale);
  if (s->weight_decay != 0.0)
    append(buf, len, " --weight-decay %.17g", s->weight_decay);
}

void
space_describe(const bpcheck_space *s, char *buf, size_t len)
{
  buf[0] = '\0';
  append(buf, len,
         "hidden layers 0-%zu, widths %zu-%zu%s, batch 1-%zu\n"
         "  hidden: ",
         s->max_depth, s->min_width > 1 ? s->min_width : 1, s->max_width,
         s->same_width ? " (one for every hidden layer)" : "", s->max_batch);
  put_set(buf, len, s->hidden, BPCHECK_N_ACTIVATIONS, act_name);
  append(buf, len,
         "%s\n  output: ", s->same_hidden ? " (one per network)" : "");
  put_set(buf, len, s->output, BPCHECK_N_ACTIVATIONS, act_name);
  append(buf, len, "\n  costs: ");
  put_set(buf, len, s->costs, BPCHECK_N_COSTS, cost_name);
  append(buf, len, "\n  reductions: ");
  put_set(buf, len, s->reductions, BPCHECK_N_REDUCTIONS, reduction_name);
  if (s->weight_decay != 0.0)
    append(buf, len, "\n  weight decay: %g", s->weight_decay);
}

int
parse_layers(const char *opt, const char *arg, size_t *n, size_t max,
             size_t *L)
{
  size_t count = 0;
  const char *p = arg;
  while (p && *p) {
    char *end;
    unsigned long long v;
    errno = 0;
    v = *p >= '0' && *p <= '9' ? strtoull(p, &end, 10) : 0;
    if (v == 0 || errno || (*end != ',' && *end != '\0') || count == max ||
        v > BPCHECK_MAX_PARAMS) {
      say_error("%s: '%s' is not a list of at least two layer sizes (each "
                "1 or more, at most %zu layers), e.g. 3,4,2",
                opt, arg, max);
      return -1;
    }
    n[count++] = (size_t)v;
    if (*end == ',' && end[1] == '\0') {
      say_error("%s: '%s' ends with a comma: give the last layer size or "
                "drop the comma",
                opt, arg);
      return -1;
    }
    p = *end ? end + 1 : end;
  }
  if (count < 2) {
    say_error("%s: '%s' needs at least two layer sizes (input and output), "
              "e.g. 3,4,2",
              opt, arg ? arg : "");
    return -1;
  }
  *L = count - 1;
  return 0;
}

/* The activations of a list, into f[1..L]. */
typedef struct {
  bpcheck_activation *f;
  size_t L, count;
} activation_list;

static int
add_activation(const char *opt, const char *name, void *data)
{
  activation_list *list = data;
  bpcheck_activation a;
  if (bpcheck_activation_parse(name, &a)) {
    say_error("%s: unknown activation '%s' (choose from sigmoid, tanh, "
              "relu, identity, softplus, softmax)",
              opt, name);
    return -1;
  }
  if (list->count < list->L)
    list->f[list->count + 1] = a;
  list->count++;
  return 0;
}

int
parse_activation_list(const char *opt, const char *arg, size_t L,
                      bpcheck_activation *f)
{
  char expects[80];
  activation_list list = {f, L, 0};
  snprintf(expects, sizeof expects, "expects one activation or a list of %zu",
           L);
  if (for_each_name(opt, arg, expects, add_activation, &list))
    return -1;
  if (list.count == 1)
    for (size_t l = 2; l <= L; l++)
      f[l] = f[1];
  else if (list.count != L) {
    say_error("%s: %zu activations for %zu layers: give one for all, or "
              "exactly %zu",
              opt, list.count, L, L);
    return -1;
  }
  return 0;
}

int
parse_mutant(const char *opt, const char *arg, bpcheck_mutant *m)
{
  for (int i = 1; i < BPCHECK_N_MUTANTS; i++)
    if (strcmp(arg, bpcheck_mutant_name((bpcheck_mutant)i)) == 0) {
      *m = (bpcheck_mutant)i;
      return 0;
    }
  say_error("%s: unknown mutant '%s' (bpcheck mutants --list lists them)", opt,
            arg);
  return -1;
}

int
option_flag(const option_spec *o, const char *arg)
{
  (void)arg;
  *(int *)o->target = 1;
  return 0;
}

int
option_string(const option_spec *o, const char *arg)
{
  *(const char **)o->target = arg;
  return 0;
}

int
option_size(const option_spec *o, const char *arg)
{
  return parse_size(o->name, arg, o->lo, o->hi, o->target);
}

int
option_seed(const option_spec *o, const char *arg)
{
  return parse_seed(o->name, arg, o->target);
}

int
option_number(const option_spec *o, const char *arg)
{
  double *v = o->target;
  char *end = NULL;
  *v = arg && *arg &&
               (*arg == '.' || *arg == '-' || *arg == '+' ||
                (*arg >= '0' && *arg <= '9'))
           ? strtod(arg, &end)
           : -1;
  if (!end || end == arg || *end || !(*v >= 0) || !isfinite(*v)) {
    say_error("%s: '%s' is not a number >= 0", o->name, arg ? arg : "");
    return -1;
  }
  return 0;
}

int
option_mode(const option_spec *o, const char *arg)
{
  static const char *const names[] = {"full", "directional", "auto"};
  for (int i = 0; i < 3; i++)
    if (strcmp(arg, names[i]) == 0) {
      *(bpcheck_mode *)o->target = (bpcheck_mode)i;
      return 0;
    }
  say_error("%s: '%s' is not full, directional or auto", o->name, arg);
  return -1;
}

int
option_mutant(const option_spec *o, const char *arg)
{
  return parse_mutant(o->name, arg, o->target);
}

int
option_activations(const option_spec *o, const char *arg)
{
  return parse_list(o->name, arg, act_name, BPCHECK_N_ACTIVATIONS,
                    "sigmoid, tanh, relu, identity, softplus, softmax",
                    o->target);
}

int
option_costs(const option_spec *o, const char *arg)
{
  return parse_list(o->name, arg, cost_name, BPCHECK_N_COSTS,
                    "quadratic, mse, cross_entropy, categorical_cross_entropy",
                    o->target);
}

int
option_reductions(const option_spec *o, const char *arg)
{
  return parse_list(o->name, arg, reduction_name, BPCHECK_N_REDUCTIONS,
                    "mean, sum", o->target);
}

/* The most options a command has, --help included. */
#define MAX_OPTIONS 40

int
parse_options(const char *cmd, const char *usage, const option_spec *table,
              int argc, char **argv, int *code)
{
  /* getopt's table: --help, then the command's, each returning 256 + its
   * index in the command's table; the short forms in optstring. */
  struct option longopts[MAX_OPTIONS + 1] = {{"help", no_argument, NULL, 'h'}};
  char optstring[2 * MAX_OPTIONS + 3] = ":h";
  size_t n = 0, used = 2;
  for (; table[n].name && n + 1 < MAX_OPTIONS; n++) {
    const option_spec *o = &table[n];
    longopts[n + 1] =
        (struct option){o->name + 2, o->has_arg, NULL, 256 + (int)n};
    if (o->short_name) {
      optstring[used++] = o->short_name;
      if (o->has_arg == required_argument)
        optstring[used++] = ':';
    }
  }
  assert(table[n].name == NULL); /* else raise MAX_OPTIONS */
  longopts[n + 1] = (struct option){NULL, 0, NULL, 0};
  optstring[used] = '\0';

  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
    if (c == 'h') {
      fputs(usage, stdout);
      *code = EXIT_PASS;
      return 1;
    }
    const option_spec *o = c >= 256 ? &table[c - 256] : NULL;
    for (size_t i = 0; !o && i < n; i++)
      if (table[i].short_name == c)
        o = &table[i];
    if (!o) { /* getopt's ':' (a missing value) or '?' */
      if (c == ':')
        say_error("%s needs a value (try 'bpcheck %s --help')",
                  argv[optind - 1], cmd);
      else
        say_error("unknown option '%s' (try 'bpcheck %s --help')",
                  argv[optind - 1], cmd);
      *code = EXIT_USAGE;
      return 1;
    }
    if (o->given)
      *o->given = 1;
    if (o->parse(o, optarg)) {
      *code = EXIT_USAGE;
      return 1;
    }
  }
  return 0;
}

int
no_arguments(int argc, char **argv, const char *hint, int *code)
{
  if (optind >= argc)
    return 0;
  if (hint)
    say_error("unexpected argument '%s' (%s)", argv[optind], hint);
  else
    say_error("unexpected argument '%s'", argv[optind]);
  *code = EXIT_USAGE;
  return 1;
}
