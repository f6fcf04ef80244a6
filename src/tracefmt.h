/* tracefmt.h -- what `trace` and `quiz` share: the formula of each traced
 * quantity as a student writes it, its label with Nielsen's BP name, the
 * notation table, and the events of a whole trace kept for lookup. */

#ifndef BPCHECK_TRACEFMT_H
#define BPCHECK_TRACEFMT_H

#include <stddef.h>

#include "bpcheck.h"

/* "z^1_0 = sum_j W^1_0,j a^0_j + b^1_0" for event e of network net. */
void trace_formula(const bpcheck_net *net, const bpcheck_trace_event *e,
                   char *buf, size_t len);
/* The short name of e's quantity: "z^1_0", "delta^2_1", "dC/dW^1_0,2". */
void trace_name(const bpcheck_trace_event *e, char *buf, size_t len);
/* "FC.4 = BP1" for e's label, or the label alone. */
void trace_label(const bpcheck_trace_event *e, char *buf, size_t len);
/* The notation table (k, j, Nielsen's letters, 0-based indices, the
 * two-node chain, BP1-BP4), each line starting with indent. */
void trace_print_notation(const char *indent);

/* Every event of a trace, in order. */
typedef struct {
  bpcheck_trace_event *e;
  size_t n, cap;
  int failed; /* out of memory */
} trace_record;

/* The callback of bpcheck_trace that appends to a trace_record. */
int trace_keep(const bpcheck_trace_event *e, void *data);
void trace_record_free(trace_record *r);
/* The event of this kind and indices, or NULL. */
const bpcheck_trace_event *trace_find(const trace_record *r,
                                      bpcheck_trace_kind kind, size_t s,
                                      size_t l, size_t k, size_t j);
/* Runs bpcheck_trace_mutant(net, batch, ..., m) into r; a status. */
int trace_run(const bpcheck_net *net, const bpcheck_batch *batch,
              bpcheck_mutant m, trace_record *r);

#endif
