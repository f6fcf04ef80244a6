/* fuzz_case.c -- libFuzzer harness for the case-file and answer parsers
 * (scripts/fuzz builds and runs it).  Any input must be refused with a
 * status, never crash, leak or trip a sanitizer; an input that parses must
 * write back and parse again to the same parameters. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "bpcheck.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static int once;
  if (!once) {
    gsl_set_error_handler_off();
    once = 1;
  }
  bpcheck_case *c = NULL, *d = NULL;
  if (bpcheck_case_parse((const char *)data, size, "fuzz", 20000, &c) ==
      BPCHECK_SUCCESS) {
    char *text = bpcheck_case_dump(c, 1);
    if (!text)
      abort();
    if (bpcheck_case_parse(text, strlen(text), "again", 20000, &d) !=
            BPCHECK_SUCCESS ||
        d->net->theta->size != c->net->theta->size ||
        memcmp(d->net->theta->data, c->net->theta->data,
               c->net->theta->size * sizeof(double)) != 0)
      abort(); /* what was written does not read back */
    bpcheck_case_dump_free(text);
    /* The same bytes as an answer for this network. */
    bpcheck_params *g;
    char why[64];
    if (bpcheck_params_alloc(&g, c->net->L, c->net->n) == BPCHECK_SUCCESS) {
      bpcheck_answer_parse((const char *)data, size, g, why, sizeof why);
      bpcheck_params_free(g);
    }
  }
  bpcheck_case_free(c);
  bpcheck_case_free(d);
  return 0;
}
