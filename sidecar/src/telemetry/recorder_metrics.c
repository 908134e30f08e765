/* recorder_metrics.c - owns: the metric measurements of attempt and run records: which
 * instruments a record updates and the attribute set of each measurement, as
 * dashboards/telemetry-schema.md documents them (the recorder's span side is recorder.c; shared
 * types in recorder_internal.h). The GenAI measurements of one operation share one canonical sort
 * and hash of their common attributes (sc_attr_set_prepare/_extend). */
#include "telemetry/recorder_internal.h"

static void measured(sc_recorder *r, int rc)
{
    if (rc < 0)
        r->stats.metric_errors++;
}

void sc_recorder_count(sc_recorder *r, sc_metric_id id, const alist *l)
{
    measured(r, sc_metrics_add(r->inst[id], 1, l->a, l->n));
}

static void observe(sc_recorder *r, sc_metric_id id, double v, const alist *l)
{
    measured(r, sc_metrics_record(r->inst[id], v, l->a, l->n));
}

/* The set of l->a[0..l->n) for a histogram measurement, derived from `common` (l->a[0..n_common)
 * prepared, common_rc its result) plus at most one attribute. A set that could not be prepared
 * goes the plain way, so the metrics SDK refuses and counts it as it does any invalid set. */
typedef struct shared {
    const alist *l;
    size_t n_common;
    int common_rc;
    sc_attr_set common;
} shared;

static void observe_shared(sc_recorder *r, sc_metric_id id, double v, const shared *sh)
{
    sc_attr_set more;
    int rc = sh->common_rc;
    if (rc == 0 && sh->l->n > sh->n_common)
        rc = sc_attr_set_extend(&more, &sh->common, sh->n_common);
    if (rc < 0)
        observe(r, id, v, sh->l);
    else
        measured(r, sc_metrics_record_set(r->inst[id], v,
                                          sh->l->n > sh->n_common ? &more : &sh->common));
}

/* gen_ai.client.* metrics of one GenAI operation (semconv attribute sets plus gateway.source).
 * Their three or four sets are one common set plus error.type or gen_ai.token.type: the common
 * attributes are sorted and hashed once (the profile had canonical ordering and hashing at ~20%
 * of a replay's instructions, most of it on these sets). */
static void genai_metrics(sc_recorder *r, const genai *g)
{
    alist l = {.n = 0};
    add(&l, SC_ATTR_STR(SC_ATTR_GEN_AI_OPERATION_NAME, g->operation));
    add_str(&l, SC_ATTR_GEN_AI_PROVIDER_NAME, g->provider);
    add(&l, SC_ATTR_STR(SC_ATTR_GATEWAY_SOURCE, sc_schema_source_name(g->source)));
    add_opt_str(&l, SC_ATTR_GEN_AI_REQUEST_MODEL, g->request_model);
    add_opt_str(&l, SC_ATTR_GEN_AI_RESPONSE_MODEL, g->response_model);
    add_opt_str(&l, SC_ATTR_SERVER_ADDRESS, g->server_address);
    if (g->server_port > 0)
        add(&l, SC_ATTR_INT(SC_ATTR_SERVER_PORT, g->server_port));
    shared sh = {.l = &l, .n_common = l.n}; /* token usage carries no error.type */
    sh.common_rc = sc_attr_set_prepare(&sh.common, l.a, l.n);
    add_opt_str(&l, SC_ATTR_ERROR_TYPE, g->error_type);
    observe_shared(r, SC_METRIC_GEN_AI_CLIENT_OPERATION_DURATION, seconds(g->duration_ns), &sh);
    if (g->stream && g->first_chunk_ns > 0)
        observe_shared(r, SC_METRIC_GEN_AI_CLIENT_TIME_TO_FIRST_CHUNK, seconds(g->first_chunk_ns),
                       &sh);
    if (g->input_tokens >= 0) {
        l.n = sh.n_common;
        add(&l, SC_ATTR_STR(SC_ATTR_GEN_AI_TOKEN_TYPE, SC_TOKEN_TYPE_INPUT));
        observe_shared(r, SC_METRIC_GEN_AI_CLIENT_TOKEN_USAGE, (double)g->input_tokens, &sh);
    }
    if (g->output_tokens >= 0) {
        l.n = sh.n_common;
        add(&l, SC_ATTR_STR(SC_ATTR_GEN_AI_TOKEN_TYPE, SC_TOKEN_TYPE_OUTPUT));
        observe_shared(r, SC_METRIC_GEN_AI_CLIENT_TOKEN_USAGE, (double)g->output_tokens, &sh);
    }
}

static void http_duration(sc_recorder *r, const sc_attempt_record *rec, const facts *f)
{
    alist l = {.n = 0};
    int client = rec->kind == SC_SPAN_KIND_CLIENT;
    add(&l, SC_ATTR_STR(SC_ATTR_HTTP_REQUEST_METHOD, f->method));
    add_opt_str(&l, SC_ATTR_URL_SCHEME, scheme_of(rec->url_scheme));
    add_opt_str(&l, f->route_key, rec->route);
    if (rec->status_code > 0)
        add(&l, SC_ATTR_INT(SC_ATTR_HTTP_RESPONSE_STATUS_CODE, rec->status_code));
    add_opt_str(&l, SC_ATTR_ERROR_TYPE, f->error_type);
    if (client) {
        add_opt_str(&l, SC_ATTR_SERVER_ADDRESS, rec->server_address);
        if (rec->server_port > 0)
            add(&l, SC_ATTR_INT(SC_ATTR_SERVER_PORT, rec->server_port));
    }
    observe(
        r, client ? SC_METRIC_HTTP_CLIENT_REQUEST_DURATION : SC_METRIC_HTTP_SERVER_REQUEST_DURATION,
        seconds(rec->end_ns - rec->start_ns), &l);
}

void sc_recorder_attempt_metrics(sc_recorder *r, const sc_attempt_record *rec, const facts *f)
{
    alist l = {.n = 0};
    add(&l, SC_ATTR_STR(SC_ATTR_GATEWAY_SOURCE, f->source));
    add_opt_str(&l, SC_ATTR_HTTP_ROUTE, rec->route); /* one key for both sources */
    size_t base = l.n;

    add(&l, SC_ATTR_STR(SC_ATTR_HTTP_REQUEST_METHOD, f->method));
    add(&l, SC_ATTR_STR(SC_ATTR_GATEWAY_STATUS_CLASS,
                        sc_schema_status_class_name(sc_schema_status_class(rec->status_code))));
    add(&l, SC_ATTR_STR(SC_ATTR_GATEWAY_ERROR_CLASS, sc_schema_error_class_name(rec->error_class)));
    sc_recorder_count(r, SC_METRIC_GATEWAY_REQUESTS, &l);

    l.n = base;
    if (rec->resend_count > 0) {
        alist t = l;
        add(&t, SC_ATTR_INT(SC_ATTR_HTTP_REQUEST_RESEND_COUNT, rec->resend_count));
        sc_recorder_count(r, SC_METRIC_GATEWAY_RETRIES, &t);
    }
    if (sc_record_attempt_usage_missing(rec))
        sc_recorder_count(r, SC_METRIC_GATEWAY_USAGE_MISSING, &l);
    if (rec->fallback == SC_FALLBACK_ALLOWED || rec->fallback == SC_FALLBACK_USED) {
        alist t = {.n = 0};
        add(&t, SC_ATTR_STR(SC_ATTR_GATEWAY_SOURCE, f->source));
        add(&t, SC_ATTR_STR(SC_ATTR_GATEWAY_FALLBACK_DECISION,
                            sc_schema_fallback_decision_name(rec->fallback)));
        add(&t, SC_ATTR_STR(
                    SC_ATTR_GATEWAY_FALLBACK_REASON,
                    sc_schema_fallback_reason(rec->fallback_reason.ptr, rec->fallback_reason.len)));
        sc_recorder_count(r, SC_METRIC_GATEWAY_FALLBACKS, &t);
    }
    http_duration(r, rec, f);
    /* A canary attempt is an HTTP child of its run: the run records the GenAI operation. */
    if (f->g.operation != NULL && rec->source != SC_SOURCE_CANARY)
        genai_metrics(r, &f->g);
}
int sc_recorder_contract_violation(sc_recorder *r, sc_attr_str probe, sc_attr_str check)
{
    alist l = {.n = 0};
    add_str(&l, SC_ATTR_GATEWAY_PROBE, sc_record_bounded_token(probe));
    add_str(&l, SC_ATTR_GATEWAY_CONTRACT_CHECK, sc_record_bounded_token(check));
    int rc = sc_metrics_add(r->inst[SC_METRIC_GATEWAY_CONTRACT_VIOLATIONS], 1, l.a, l.n);
    measured(r, rc);
    return rc < 0 ? rc : 0;
}

void sc_recorder_run_metrics(sc_recorder *r, const sc_run_record *rec, const genai *g)
{
    sc_attr_str probe = sc_record_bounded_token(rec->probe);
    alist l = {.n = 0};
    add_str(&l, SC_ATTR_GATEWAY_PROBE, probe);
    if (rec->passed)
        measured(r, sc_metrics_set(r->inst[SC_METRIC_GATEWAY_CANARY_LAST_SUCCESS],
                                   seconds(rec->end_ns), l.a, l.n));
    if (rec->interval_ms > 0)
        measured(r, sc_metrics_set(r->inst[SC_METRIC_GATEWAY_CANARY_INTERVAL],
                                   (double)rec->interval_ms / 1e3, l.a, l.n));
    add(&l, SC_ATTR_STR(SC_ATTR_GATEWAY_OUTCOME, rec->passed ? SC_OUTCOME_PASS : SC_OUTCOME_FAIL));
    add(&l, SC_ATTR_STR(SC_ATTR_GATEWAY_ERROR_CLASS, sc_schema_error_class_name(rec->error_class)));
    sc_recorder_count(r, SC_METRIC_GATEWAY_CANARY_RUNS, &l);
    size_t n =
        rec->n_violations < SC_RECORD_MAX_VIOLATIONS ? rec->n_violations : SC_RECORD_MAX_VIOLATIONS;
    for (size_t i = 0; i < n; i++)
        (void)sc_recorder_contract_violation(r, rec->probe, rec->violations[i]);
    genai_metrics(r, g);
}
