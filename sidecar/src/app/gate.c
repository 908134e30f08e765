/* gate.c - owns: copying results into rows and printing the table. */
#include "app/gate.h"

#include <string.h>

#include "telemetry/schema.h"

void sc_gate_init(sc_gate *g)
{
    memset(g, 0, sizeof *g);
}

void sc_gate_add(sc_gate *g, const sc_canary_result *r)
{
    if (g->n == SC_GATE_MAX_ROWS) {
        g->overflow++;
        return;
    }
    sc_gate_row *row = &g->rows[g->n++];
    snprintf(row->probe, sizeof row->probe, "%s", r->probe);
    snprintf(row->expected, sizeof row->expected, "%s", r->expected);
    snprintf(row->observed, sizeof row->observed, "%s", r->observed);
    snprintf(row->fallback, sizeof row->fallback, "%s",
             sc_schema_fallback_decision_name(r->fallback));
    snprintf(row->why, sizeof row->why, "%s", r->passed ? "" : r->verdict);
    row->retries = r->retries;
    row->http_status = r->http_status;
    row->passed = r->passed;
}

int sc_gate_passed(const sc_gate *g)
{
    if (g->n == 0 || g->overflow > 0)
        return 0; /* nothing ran, or rows we could not show: never a silent pass */
    for (unsigned i = 0; i < g->n; i++)
        if (!g->rows[i].passed)
            return 0;
    return 1;
}

void sc_gate_print(const sc_gate *g, FILE *out)
{
    unsigned passed = 0;
    fprintf(out, "%-24s %-16s %-18s %4s %7s %-13s %s\n", "PROBE", "EXPECTED", "OBSERVED", "HTTP",
            "RETRIES", "FALLBACK", "RESULT");
    for (unsigned i = 0; i < g->n; i++) {
        const sc_gate_row *r = &g->rows[i];
        passed += r->passed != 0;
        char http[24] = "-";
        if (r->http_status > 0)
            snprintf(http, sizeof http, "%ld", r->http_status);
        char result[40] = "PASS";
        if (!r->passed)
            snprintf(result, sizeof result, "FAIL (%s)", r->why);
        fprintf(out, "%-24s %-16s %-18s %4s %7u %-13s %s\n", r->probe, r->expected, r->observed,
                http, r->retries, r->fallback, result);
    }
    if (g->overflow > 0)
        fprintf(out, "(%u more runs not shown)\n", g->overflow);
    fprintf(out, "deploy gate: %s (%u of %u probes met their expectation)\n",
            sc_gate_passed(g) ? "PASS" : "FAIL", passed, g->n + g->overflow);
    fflush(out);
}
