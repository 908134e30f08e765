/* gate.h - owns: the deploy-gate table that --once prints on stdout: one row per probe run
 * (probe, expected, observed, retries, fallback decision, PASS/FAIL) and a verdict line.
 * Rows are copied from the canary results (bounded: at most SC_GATE_MAX_ROWS, further rows are
 * counted and the table says so). Pure formatting; the caller chooses the stream. */
#ifndef SC_APP_GATE_H
#define SC_APP_GATE_H

#include <stdio.h>

#include "canary/engine.h"

#define SC_GATE_MAX_ROWS 64

typedef struct sc_gate_row {
    char probe[48];
    char expected[24];
    char observed[24];
    unsigned retries;
    char fallback[16];
    char why[24]; /* verdict when failed: wrong_class, retried, fallback */
    long http_status;
    int passed;
} sc_gate_row;

typedef struct sc_gate {
    sc_gate_row rows[SC_GATE_MAX_ROWS];
    unsigned n;
    unsigned overflow;
} sc_gate;

void sc_gate_init(sc_gate *g);
void sc_gate_add(sc_gate *g, const sc_canary_result *r);
/* Prints the table and "deploy gate: PASS (n of n probes met their expectation)" or FAIL. */
void sc_gate_print(const sc_gate *g, FILE *out);
int sc_gate_passed(const sc_gate *g); /* 1 when every row passed and there was at least one */

#endif
