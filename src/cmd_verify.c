/* cmd_verify.c -- `bpcheck verify CASE.json`: a candidate's gradients,
 * entry by entry, against the confirmed reference. */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "options.h"
#include "report.h"

static const char usage[] =
    "Usage: bpcheck verify CASE.json [--rtol R] [--atol A]\n"
    "                      [--precision double|single] [--mode M]\n"
    "                      [--max-params N] [--max-bytes N] [--json]\n"
    "Checks the case's \"gradients\" (a candidate's dC/dW and dC/db) entry "
    "by\n"
    "entry against the reference: the matrix backprop, itself confirmed\n"
    "against the literal backprop and central differences. Each entry has\n"
    "its own tolerance, derived from the rounding-error bounds of the\n"
    "reference and of a correct implementation at the given precision:\n"
    "2 (e_ref + e_impl) + eps max |r| over its W^l or b^l block. At an exact\n"
    "relu kink any value between the two one-sided derivatives passes. On a\n"
    "failure it names the worst entry W^l_k,j or b^l_k and, where the "
    "pattern\n"
    "fits, the likely bug. CASE.json may be - (standard input).\n"
    "\n"
    "  --precision P    double (default): a float64 implementation; single:\n"
    "                   a float32 one (its inputs and arithmetic rounded to\n"
    "                   float32, eps = 2^-23)\n"
    "  --rtol R, --atol A   widen every entry's tolerance by atol + rtol\n"
    "                   max(|g|, |r|) (e.g. for answers rounded to a few\n"
    "                   digits)\n"
    "  --mode M         how the reference is confirmed: full (default), "
    "every\n"
    "                   entry by central differences; directional, along 4\n"
    "                   random directions (for large networks); auto,\n"
    "                   directional above 20000 parameters\n"
    "  --max-params N   refuse larger cases (default 10000000)\n"
    "  --max-bytes N    refuse a longer file, before parsing it (default\n"
    "                   120 bytes a parameter of --max-params, plus 1 MiB)\n"
    "  --json           a machine-readable report on stdout\n"
    "\n"
    "Exit codes: 0 every entry passed, 1 a mismatch, 2 bad usage or input,\n"
    "or a case that double precision cannot check (named: e.g. the cost\n"
    "overflows).\n";

/* The case's dC/da^0, when it has one (IN.3): the status of the whole
 * check (a mismatch in either fails it). */
static int
verify_inputs(FILE *out, int json, const bpcheck_case *vc,
              const bpcheck_tolerance *tol, int status)
{
  if (!vc->dx || (status != BPCHECK_SUCCESS && status != BPCHECK_EMISMATCH))
    return status;
  bpcheck_input_report ir;
  int s = check_inputs(out, json, vc, vc->dx, tol, &ir);
  if (s != BPCHECK_SUCCESS && s != BPCHECK_EMISMATCH) {
    say_error("%s", bpcheck_errmsg());
    return s;
  }
  return status ? status : s;
}

/* The JSON report, with "inputs" when the case has dC/da^0. */
static int
verify_json(const bpcheck_case *vc, const bpcheck_report *rep,
            const bpcheck_tolerance *tol, const bpcheck_tolerance *t_case,
            int status, const bpcheck_diagnosis *d)
{
  char *text = NULL;
  size_t len = 0;
  FILE *mem = vc->dx ? open_memstream(&text, &len) : NULL;
  print_json_report(mem ? mem : stdout, "verify", rep, t_case,
                    status == BPCHECK_EMISMATCH ? d : NULL);
  if (!mem)
    return status;
  fclose(mem);
  /* its closing brace after the inputs' member */
  while (len > 0 && text[len - 1] == '\n')
    len--;
  if (len > 0 && text[len - 1] == '}')
    len--;
  fwrite(text, 1, len, stdout);
  free(text);
  status = verify_inputs(stdout, 1, vc, tol, status);
  printf("}\n");
  return status;
}

int
cmd_verify(int argc, char **argv)
{
  tolopts t;
  bpcheck_mode mode = BPCHECK_MODE_FULL;
  size_t max_params = BPCHECK_CASE_MAX_PARAMS, max_bytes = 0;
  int json = 0, opt_exit;
  tolopts_init(&t);
  const option_spec options[] = {
      OPTION_FLAG("--json", &json),
      OPTION_PARSE("--mode", option_mode, &mode),
      OPTION_SIZE("--max-params", &max_params, 1, BPCHECK_MAX_PARAMS),
      OPTION_MAX_BYTES(&max_bytes),
      TOLOPTS_OPTIONS(&t),
      OPTION_END};
  if (parse_options("verify", usage, options, argc, argv, &opt_exit))
    return opt_exit;
  if (optind + 1 != argc) {
    say_error(optind == argc ? "verify needs a case file (or - for standard "
                               "input)"
                             : "verify takes one case file");
    return EXIT_USAGE;
  }
  const char *path = argv[optind];
  bpcheck_case *vc;
  if (!max_bytes)
    max_bytes = bpcheck_case_max_bytes(max_params);
  if (bpcheck_case_read_max(path, max_params, max_bytes, &vc)) {
    say_error("%s", bpcheck_errmsg());
    return EXIT_USAGE;
  }
  if (!vc->grad) {
    say_error("%s: no \"gradients\" to verify (fill them in with the "
              "candidate's dC/dW and dC/db)",
              strcmp(path, "-") ? path : "(stdin)");
    bpcheck_case_free(vc);
    return EXIT_USAGE;
  }
  bpcheck_params *ref = NULL;
  bpcheck_report *rep = NULL;
  bpcheck_tolerance tol = tolopts_get(&t);
  bpcheck_diagnosis d = {0};
  int code = EXIT_USAGE;
  bpcheck_params *abs = NULL, *alt = NULL, *e = NULL, *e_p = NULL;
  bpcheck_tolerance t_case;
  const bpcheck_net *net = vc->net;
  if (reference_gradient(vc, mode, &ref) == 0 &&
      bpcheck_report_alloc(&rep, net->L) == 0 &&
      ((bpcheck_params_alloc(&e, net->L, net->n) == 0 &&
        bpcheck_params_alloc(&e_p, net->L, net->n) == 0 &&
        bpcheck_tolerance_apply_parts(net, vc->batch, ref, &tol, &t_case, &abs,
                                      &alt, e, e_p) == 0) ||
       (say_error("%s", bpcheck_errmsg()), 0))) {
    int status = bpcheck_compare(ref, vc->grad, &t_case, rep);
    if (status == BPCHECK_EMISMATCH)
      bpcheck_diagnose(vc->net, vc->batch, ref, vc->grad, &t_case, &d);
    if (json)
      status = verify_json(vc, rep, &tol, &t_case, status, &d);
    else {
      char desc[256];
      bpcheck_net_describe(vc->net, desc, sizeof desc);
      printf("bpcheck verify: %s, batch %zu\n", desc, vc->batch->B);
      print_report(stdout, ref, vc->grad, rep, &t_case, &d);
      print_tolerance_parts(stdout, rep, &t_case, e, e_p);
      status = verify_inputs(stdout, 0, vc, &tol, status);
    }
    code = status == BPCHECK_SUCCESS     ? EXIT_PASS
           : status == BPCHECK_EMISMATCH ? EXIT_MISMATCH
                                         : EXIT_USAGE;
  }
  bpcheck_report_free(rep);
  bpcheck_params_free(ref);
  bpcheck_params_free(abs);
  bpcheck_params_free(alt);
  bpcheck_params_free(e);
  bpcheck_params_free(e_p);
  bpcheck_case_free(vc);
  return code;
}
