/* recorder.c - owns: the mapping from records to spans and metric measurements (the attribute
 * set of every span and metric the sources produce), span sampling and queue-full drops. The
 * names and value sets come from schema.h; the layout is documented in
 * dashboards/telemetry-schema.md, which tests check against this file's output. */
#include "telemetry/recorder.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TRACE_STATE_MAX 64
#define NAME_MAX_LEN    (SC_SPAN_NAME_MAX + 16)

struct sc_recorder {
    const sc_env *env;
    sc_span_queue *queue;
    sc_instrument *inst[SC_METRIC__COUNT];
    int sampling;              /* ratio < 1: plain-success access-log spans are sampled */
    int spans_disabled;        /* traces not exported: metrics only */
    uint64_t threshold;        /* OTel rejection threshold T: keep when R >= T (56-bit) */
    char th[SC_RECORD_TH_LEN]; /* T as the tracestate "th" value */
    int full_episode;          /* a drop was logged and no span has been queued since */
    sc_recorder_stats stats;
};

/* What one GenAI operation contributes to the gen_ai.* span attributes and metrics, shared by
 * attempt and run records. */
typedef struct genai {
    sc_source source;
    const char *operation; /* normalised; NULL: not a GenAI operation */
    sc_attr_str provider, request_model, response_model, server_address;
    int server_port;
    sc_attr_str error_type; /* normalised; empty: no error */
    const sc_attr_str *finish_reasons;
    size_t n_finish_reasons;
    int64_t input_tokens, output_tokens;
    int stream;
    uint64_t duration_ns, first_chunk_ns;
} genai;

/* The genai fields both record types spell the same way (designated initialisers). */
#define GENAI_COMMON(rec)                                                                          \
    .provider = (rec)->provider.len ? sc_record_identifier((rec)->provider) : provider_default,    \
    .request_model = (rec)->request_model, .response_model = (rec)->response_model,                \
    .server_address = (rec)->server_address, .server_port = (rec)->server_port,                    \
    .finish_reasons = (rec)->finish_reasons, .n_finish_reasons = (rec)->n_finish_reasons,          \
    .input_tokens = (rec)->input_tokens, .output_tokens = (rec)->output_tokens,                    \
    .stream = (rec)->stream, .duration_ns = (rec)->end_ns - (rec)->start_ns,                       \
    .first_chunk_ns = (rec)->first_chunk_ns

/* A bounded attribute list on the stack. */
typedef struct alist {
    sc_attr a[SC_SPAN_MAX_ATTRS];
    size_t n;
} alist;

static const sc_attr_str provider_default = {SC_GEN_AI_PROVIDER_OPENAI,
                                             sizeof SC_GEN_AI_PROVIDER_OPENAI - 1};

static void add(alist *l, sc_attr a)
{
    if (l->n < SC_SPAN_MAX_ATTRS)
        l->a[l->n++] = a;
}

static void add_str(alist *l, const char *key, sc_attr_str v)
{
    add(l, SC_ATTR_STRN(key, v.ptr, v.len));
}

static void add_opt_str(alist *l, const char *key, sc_attr_str v)
{
    if (v.len > 0)
        add_str(l, key, v);
}

static double seconds(uint64_t ns)
{
    return (double)ns / 1e9;
}

/* url.scheme: "http" or "https" (any case); anything else is left out. */
static sc_attr_str scheme_of(sc_attr_str s)
{
    if (s.len == 4 && strncasecmp(s.ptr, "http", 4) == 0)
        return (sc_attr_str){"http", 4};
    if (s.len == 5 && strncasecmp(s.ptr, "https", 5) == 0)
        return (sc_attr_str){"https", 5};
    return (sc_attr_str){NULL, 0};
}

/* ---- Setup ----------------------------------------------------------------------------------- */

int sc_recorder_new(sc_recorder **out, const sc_env *env, sc_span_queue *queue,
                    sc_instrument *const metrics[SC_METRIC__COUNT], const sc_recorder_opts *opts)
{
    double ratio = opts ? opts->span_sampling_ratio : 1.0;
    *out = NULL;
    if (env == NULL || env->clock == NULL || env->rng == NULL || queue == NULL || metrics == NULL)
        return -EINVAL;
    if (!(ratio >= 0.0 && ratio <= 1.0))
        return -EINVAL;
    /* The recorder's instruments: the gateway.*, http.* and gen_ai.* block, and the drops. */
    for (int id = SC_METRIC_GATEWAY_REQUESTS; id <= SC_METRIC_GEN_AI_CLIENT_TOKEN_USAGE; id++)
        if (metrics[id] == NULL)
            return -EINVAL;
    if (metrics[SC_METRIC_TELEMETRY_DROPPED] == NULL)
        return -EINVAL;
    sc_recorder *r = calloc(1, sizeof *r);
    if (r == NULL)
        return -ENOMEM;
    r->env = env;
    r->queue = queue;
    memcpy(r->inst, metrics, sizeof r->inst);
    r->spans_disabled = opts ? opts->spans_disabled : 0;
    r->sampling = ratio < 1.0;
    r->threshold = sc_record_sampling_threshold(ratio, r->th);
    *out = r;
    return 0;
}

void sc_recorder_free(sc_recorder *r)
{
    free(r);
}

sc_recorder_stats sc_recorder_get_stats(const sc_recorder *r)
{
    return r->stats;
}

/* ---- Ids ------------------------------------------------------------------------------------- */

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static int random_id(sc_rng *rng, uint8_t *out, size_t n)
{
    do {
        int rc = sc_rng_fill(rng, out, n);
        if (rc < 0)
            return rc;
    } while (all_zero(out, n));
    return 0;
}

int sc_recorder_begin_run(sc_recorder *r, sc_span_context *out)
{
    int rc = random_id(r->env->rng, out->trace_id, sizeof out->trace_id);
    if (rc == 0)
        rc = random_id(r->env->rng, out->span_id, sizeof out->span_id);
    out->trace_flags = SC_TRACE_FLAG_SAMPLED;
    return rc;
}

int sc_recorder_begin_attempt(sc_recorder *r, const sc_span_context *parent, sc_span_context *out)
{
    memcpy(out->trace_id, parent->trace_id, sizeof out->trace_id);
    out->trace_flags = parent->trace_flags;
    return random_id(r->env->rng, out->span_id, sizeof out->span_id);
}

/* ---- Metrics --------------------------------------------------------------------------------- */

static void measured(sc_recorder *r, int rc)
{
    if (rc < 0)
        r->stats.metric_errors++;
}

static void count(sc_recorder *r, sc_metric_id id, const alist *l)
{
    measured(r, sc_metrics_add(r->inst[id], 1, l->a, l->n));
}

static void observe(sc_recorder *r, sc_metric_id id, double v, const alist *l)
{
    measured(r, sc_metrics_record(r->inst[id], v, l->a, l->n));
}

/* gen_ai.client.* metrics of one GenAI operation (semconv attribute sets plus gateway.source). */
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
    size_t base = l.n; /* token usage carries no error.type */
    add_opt_str(&l, SC_ATTR_ERROR_TYPE, g->error_type);
    observe(r, SC_METRIC_GEN_AI_CLIENT_OPERATION_DURATION, seconds(g->duration_ns), &l);
    if (g->stream && g->first_chunk_ns > 0)
        observe(r, SC_METRIC_GEN_AI_CLIENT_TIME_TO_FIRST_CHUNK, seconds(g->first_chunk_ns), &l);
    l.n = base;
    if (g->input_tokens >= 0) {
        alist t = l;
        add(&t, SC_ATTR_STR(SC_ATTR_GEN_AI_TOKEN_TYPE, SC_TOKEN_TYPE_INPUT));
        observe(r, SC_METRIC_GEN_AI_CLIENT_TOKEN_USAGE, (double)g->input_tokens, &t);
    }
    if (g->output_tokens >= 0) {
        alist t = l;
        add(&t, SC_ATTR_STR(SC_ATTR_GEN_AI_TOKEN_TYPE, SC_TOKEN_TYPE_OUTPUT));
        observe(r, SC_METRIC_GEN_AI_CLIENT_TOKEN_USAGE, (double)g->output_tokens, &t);
    }
}

/* Normalised values of an attempt, computed once for its span and its metrics. */
typedef struct facts {
    const char *source;
    const char *method;
    const char *route_key; /* url.template (CLIENT) or http.route (SERVER) */
    sc_attr_str error_type;
    int failed;
    genai g;
} facts;

static void facts_of(const sc_attempt_record *rec, facts *f)
{
    f->source = sc_schema_source_name(rec->source);
    f->method = sc_schema_http_method(rec->method.ptr, rec->method.len);
    f->route_key = rec->kind == SC_SPAN_KIND_CLIENT ? SC_ATTR_URL_TEMPLATE : SC_ATTR_HTTP_ROUTE;
    f->failed = sc_record_attempt_failed(rec);
    f->error_type = f->failed ? sc_record_error_type(rec->error_type, rec->error_class)
                              : (sc_attr_str){NULL, 0};
    f->g = (genai){
        .source = rec->source,
        .operation = rec->operation.len
                         ? sc_schema_gen_ai_operation(rec->operation.ptr, rec->operation.len)
                         : NULL,
        GENAI_COMMON(rec),
        .error_type = f->error_type,
    };
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

static void attempt_metrics(sc_recorder *r, const sc_attempt_record *rec, const facts *f)
{
    alist l = {.n = 0};
    add(&l, SC_ATTR_STR(SC_ATTR_GATEWAY_SOURCE, f->source));
    add_opt_str(&l, SC_ATTR_HTTP_ROUTE, rec->route); /* one key for both sources */
    size_t base = l.n;

    add(&l, SC_ATTR_STR(SC_ATTR_HTTP_REQUEST_METHOD, f->method));
    add(&l, SC_ATTR_STR(SC_ATTR_GATEWAY_STATUS_CLASS,
                        sc_schema_status_class_name(sc_schema_status_class(rec->status_code))));
    add(&l, SC_ATTR_STR(SC_ATTR_GATEWAY_ERROR_CLASS, sc_schema_error_class_name(rec->error_class)));
    count(r, SC_METRIC_GATEWAY_REQUESTS, &l);

    l.n = base;
    if (rec->resend_count > 0) {
        alist t = l;
        add(&t, SC_ATTR_INT(SC_ATTR_HTTP_REQUEST_RESEND_COUNT, rec->resend_count));
        count(r, SC_METRIC_GATEWAY_RETRIES, &t);
    }
    if (sc_record_attempt_usage_missing(rec))
        count(r, SC_METRIC_GATEWAY_USAGE_MISSING, &l);
    if (rec->fallback == SC_FALLBACK_ALLOWED || rec->fallback == SC_FALLBACK_USED) {
        alist t = {.n = 0};
        add(&t, SC_ATTR_STR(SC_ATTR_GATEWAY_SOURCE, f->source));
        add(&t, SC_ATTR_STR(SC_ATTR_GATEWAY_FALLBACK_DECISION,
                            sc_schema_fallback_decision_name(rec->fallback)));
        add(&t, SC_ATTR_STR(
                    SC_ATTR_GATEWAY_FALLBACK_REASON,
                    sc_schema_fallback_reason(rec->fallback_reason.ptr, rec->fallback_reason.len)));
        count(r, SC_METRIC_GATEWAY_FALLBACKS, &t);
    }
    http_duration(r, rec, f);
    /* A canary attempt is an HTTP child of its run: the run records the GenAI operation. */
    if (f->g.operation != NULL && rec->source != SC_SOURCE_CANARY)
        genai_metrics(r, &f->g);
}

/* ---- Spans ----------------------------------------------------------------------------------- */

static sc_span *reserve(sc_recorder *r)
{
    sc_span *s = sc_span_queue_reserve(r->queue);
    if (s != NULL) {
        r->full_episode = 0;
        return s;
    }
    r->stats.spans_dropped++;
    alist l = {.n = 0};
    add(&l, SC_ATTR_STR(SC_ATTR_ERROR_TYPE, SC_DROP_REASON_QUEUE_FULL));
    count(r, SC_METRIC_TELEMETRY_DROPPED, &l);
    if (!r->full_episode) {
        r->full_episode = 1;
        sc_log_warn(r->env->log, "span queue full; dropping spans until it drains",
                    SC_F_UINT("capacity", sc_span_queue_capacity(r->queue)),
                    SC_F_UINT("dropped_total", r->stats.spans_dropped));
    }
    return NULL;
}

static void commit(sc_recorder *r)
{
    sc_span_queue_commit(r->queue);
    r->stats.spans_recorded++;
}

/* gen_ai.* span attributes (gen_ai.response.id is added last by the callers: if the arena runs
 * out, the least useful attributes are the ones dropped). */
static void genai_span_attrs(alist *l, const genai *g)
{
    add(l, SC_ATTR_STR(SC_ATTR_GEN_AI_OPERATION_NAME, g->operation));
    add_str(l, SC_ATTR_GEN_AI_PROVIDER_NAME, g->provider);
    add_opt_str(l, SC_ATTR_GEN_AI_REQUEST_MODEL, g->request_model);
    add_opt_str(l, SC_ATTR_GEN_AI_RESPONSE_MODEL, g->response_model);
    if (g->input_tokens >= 0)
        add(l, SC_ATTR_INT(SC_ATTR_GEN_AI_USAGE_INPUT_TOKENS, g->input_tokens));
    if (g->output_tokens >= 0)
        add(l, SC_ATTR_INT(SC_ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, g->output_tokens));
    if (g->n_finish_reasons > 0)
        add(l, SC_ATTR_STRARR(SC_ATTR_GEN_AI_RESPONSE_FINISH, g->finish_reasons,
                              g->n_finish_reasons < SC_RECORD_MAX_FINISH_REASONS
                                  ? g->n_finish_reasons
                                  : SC_RECORD_MAX_FINISH_REASONS));
    if (g->stream && g->first_chunk_ns > 0)
        add(l, SC_ATTR_DBL(SC_ATTR_GEN_AI_RESPONSE_TTFC, seconds(g->first_chunk_ns)));
}

/* "{a} {b}", or "{a}" when b is empty (HTTP and GenAI span name rules). */
static void set_name(sc_span *s, const char *a, sc_attr_str b)
{
    char name[NAME_MAX_LEN];
    size_t n = strlen(a);
    memcpy(name, a, n);
    if (b.len > 0) {
        size_t take = b.len < sizeof name - n - 1 ? b.len : sizeof name - n - 1;
        name[n++] = ' ';
        memcpy(name + n, b.ptr, take);
        n += take;
    }
    (void)sc_span_set_name(s, name, n);
}

static int attempt_ids(sc_span *s, const sc_attempt_record *rec, sc_rng *rng)
{
    if (rec->has_span) {
        memcpy(s->trace_id, rec->span.trace_id, sizeof s->trace_id);
        memcpy(s->span_id, rec->span.span_id, sizeof s->span_id);
        s->trace_flags = rec->span.trace_flags;
    } else {
        int rc = sc_span_new_ids(s, rng, rec->has_parent ? &rec->parent : NULL);
        if (rc < 0)
            return rc;
    }
    if (rec->has_parent) {
        memcpy(s->parent_span_id, rec->parent.span_id, sizeof s->parent_span_id);
        s->has_parent = 1;
        s->parent_is_remote = (uint8_t)(rec->parent_is_remote != 0);
    }
    return 0;
}

static void attempt_span_attrs(alist *l, const sc_attempt_record *rec, const facts *f)
{
    add(l, SC_ATTR_STR(SC_ATTR_HTTP_REQUEST_METHOD, f->method));
    if (strcmp(f->method, SC_HTTP_METHOD_OTHER) == 0)
        add_opt_str(l, SC_ATTR_HTTP_REQUEST_METHOD_ORIGINAL, rec->method);
    add_opt_str(l, f->route_key, rec->route);
    if (rec->status_code > 0)
        add(l, SC_ATTR_INT(SC_ATTR_HTTP_RESPONSE_STATUS_CODE, rec->status_code));
    add_opt_str(l, SC_ATTR_ERROR_TYPE, f->error_type);
    add(l, SC_ATTR_STR(SC_ATTR_GATEWAY_SOURCE, f->source));
    add(l, SC_ATTR_STR(SC_ATTR_GATEWAY_STATUS_CLASS,
                       sc_schema_status_class_name(sc_schema_status_class(rec->status_code))));
    add(l, SC_ATTR_STR(SC_ATTR_GATEWAY_ERROR_CLASS, sc_schema_error_class_name(rec->error_class)));
    if (rec->resend_count > 0)
        add(l, SC_ATTR_INT(SC_ATTR_HTTP_REQUEST_RESEND_COUNT, rec->resend_count));
    add_opt_str(l, SC_ATTR_SERVER_ADDRESS, rec->server_address);
    if (rec->server_port > 0)
        add(l, SC_ATTR_INT(SC_ATTR_SERVER_PORT, rec->server_port));
    add_opt_str(l, SC_ATTR_URL_SCHEME, scheme_of(rec->url_scheme));
    add(l, SC_ATTR_STR(SC_ATTR_GATEWAY_FALLBACK_DECISION,
                       sc_schema_fallback_decision_name(rec->fallback)));
    if (rec->fallback != SC_FALLBACK_NOT_NEEDED)
        add(l, SC_ATTR_STR(
                   SC_ATTR_GATEWAY_FALLBACK_REASON,
                   sc_schema_fallback_reason(rec->fallback_reason.ptr, rec->fallback_reason.len)));
    add(l, SC_ATTR_BOOL(SC_ATTR_GATEWAY_USAGE_PRESENT, rec->usage_present));
    add(l, SC_ATTR_BOOL(SC_ATTR_GATEWAY_STREAM, rec->stream));
    if (rec->error_class == SC_ERROR_CLASS_STREAM_INTERRUPTED)
        add(l, SC_ATTR_BOOL(SC_ATTR_GATEWAY_STREAM_CONTENT_BEFORE_CUT, rec->content_before_cut));
    if (rec->source == SC_SOURCE_CANARY && rec->probe.len > 0)
        add_str(l, SC_ATTR_GATEWAY_PROBE, sc_record_bounded_token(rec->probe));
    if (f->g.operation != NULL)
        genai_span_attrs(l, &f->g);
    add_opt_str(l, SC_ATTR_GEN_AI_RESPONSE_ID, rec->response_id);
    add_opt_str(l, SC_ATTR_GATEWAY_UPSTREAM_REQUEST_ID, rec->upstream_request_id);
}

/* The sampling decision for an attempt's span: 1 keep, 0 drop; trace_state gets the OTel
 * probability-sampling entry when sampling is active for the record. */
static int sample(sc_recorder *r, const sc_attempt_record *rec, char ts[TRACE_STATE_MAX])
{
    ts[0] = '\0';
    if (rec->source != SC_SOURCE_ACCESS_LOG || !r->sampling)
        return 1;
    if (!sc_record_attempt_plain_success(rec)) {
        snprintf(ts, TRACE_STATE_MAX, "ot=th:0");
        return 1;
    }
    uint64_t rv = sc_rng_u64(r->env->rng) >> 8; /* 56 random bits */
    if (rv < r->threshold)
        return 0;
    snprintf(ts, TRACE_STATE_MAX, "ot=rv:%014llx;th:%s", (unsigned long long)rv, r->th);
    return 1;
}

static int attempt_valid(const sc_attempt_record *rec)
{
    if (rec->source != SC_SOURCE_CANARY && rec->source != SC_SOURCE_ACCESS_LOG)
        return 0;
    if (rec->kind != SC_SPAN_KIND_CLIENT && rec->kind != SC_SPAN_KIND_SERVER)
        return 0;
    if (rec->start_ns > rec->end_ns || rec->fallback >= SC_FALLBACK__COUNT ||
        rec->error_class >= SC_ERROR_CLASS__COUNT)
        return 0;
    if (rec->has_span && rec->has_parent &&
        memcmp(rec->span.trace_id, rec->parent.trace_id, sizeof rec->span.trace_id) != 0)
        return 0;
    return 1;
}

int sc_recorder_attempt(sc_recorder *r, const sc_attempt_record *rec)
{
    char ts[TRACE_STATE_MAX];
    facts f;
    if (!attempt_valid(rec)) {
        r->stats.records_invalid++;
        return -EINVAL;
    }
    facts_of(rec, &f);
    attempt_metrics(r, rec, &f);
    if (r->spans_disabled)
        return 0;
    if (!sample(r, rec, ts)) {
        r->stats.spans_sampled_out++;
        return SC_RECORDER_SAMPLED_OUT;
    }
    sc_span *s = reserve(r);
    if (s == NULL)
        return -ENOBUFS;
    int rc = attempt_ids(s, rec, r->env->rng);
    if (rc < 0) { /* the kernel rng failed: no span rather than one with zero ids */
        sc_span_queue_cancel(r->queue);
        return rc;
    }
    set_name(s, strcmp(f.method, SC_HTTP_METHOD_OTHER) == 0 ? "HTTP" : f.method, rec->route);
    s->kind = (uint8_t)rec->kind;
    s->start_ns = rec->start_ns;
    s->end_ns = rec->end_ns;
    s->source = (uint8_t)rec->source;
    s->source_seq = rec->source_seq;
    if (ts[0] != '\0')
        (void)sc_span_set_trace_state(s, ts, strlen(ts));
    if (f.failed)
        sc_span_set_status(s, SC_SPAN_STATUS_ERROR, NULL, 0);
    alist l = {.n = 0};
    attempt_span_attrs(&l, rec, &f);
    sc_span_set_attrs(s, l.a, l.n);
    commit(r);
    return 0;
}

/* ---- Runs ------------------------------------------------------------------------------------ */

int sc_recorder_contract_violation(sc_recorder *r, sc_attr_str probe, sc_attr_str check)
{
    alist l = {.n = 0};
    add_str(&l, SC_ATTR_GATEWAY_PROBE, sc_record_bounded_token(probe));
    add_str(&l, SC_ATTR_GATEWAY_CONTRACT_CHECK, sc_record_bounded_token(check));
    int rc = sc_metrics_add(r->inst[SC_METRIC_GATEWAY_CONTRACT_VIOLATIONS], 1, l.a, l.n);
    measured(r, rc);
    return rc < 0 ? rc : 0;
}

static void run_metrics(sc_recorder *r, const sc_run_record *rec, const genai *g)
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
    count(r, SC_METRIC_GATEWAY_CANARY_RUNS, &l);
    size_t n =
        rec->n_violations < SC_RECORD_MAX_VIOLATIONS ? rec->n_violations : SC_RECORD_MAX_VIOLATIONS;
    for (size_t i = 0; i < n; i++)
        (void)sc_recorder_contract_violation(r, rec->probe, rec->violations[i]);
    genai_metrics(r, g);
}

static size_t capped(size_t n, size_t cap)
{
    return n < cap ? n : cap;
}

static void shape_drift_event(sc_span *s, const sc_run_record *rec)
{
    size_t added = capped(rec->n_drift_added, SC_RECORD_MAX_DRIFT_FIELDS);
    size_t missing = capped(rec->n_drift_missing, SC_RECORD_MAX_DRIFT_FIELDS);
    if (added == 0 && missing == 0)
        return;
    sc_attr ev[2];
    size_t n = 0;
    if (added > 0)
        ev[n++] = SC_ATTR_STRARR(SC_ATTR_GATEWAY_SHAPE_ADDED, rec->drift_added, added);
    if (missing > 0)
        ev[n++] = SC_ATTR_STRARR(SC_ATTR_GATEWAY_SHAPE_MISSING, rec->drift_missing, missing);
    (void)sc_span_add_event(s, SC_EVENT_GATEWAY_SHAPE_DRIFT, strlen(SC_EVENT_GATEWAY_SHAPE_DRIFT),
                            rec->end_ns, ev, n);
}

static void run_span_attrs(alist *l, const sc_run_record *rec, const genai *g)
{
    genai_span_attrs(l, g);
    add(l, SC_ATTR_STR(SC_ATTR_GATEWAY_SOURCE, sc_schema_source_name(SC_SOURCE_CANARY)));
    add_str(l, SC_ATTR_GATEWAY_PROBE, sc_record_bounded_token(rec->probe));
    add(l, SC_ATTR_STR(SC_ATTR_GATEWAY_OUTCOME, rec->passed ? SC_OUTCOME_PASS : SC_OUTCOME_FAIL));
    add(l, SC_ATTR_STR(SC_ATTR_GATEWAY_ERROR_CLASS, sc_schema_error_class_name(rec->error_class)));
    add_opt_str(l, SC_ATTR_ERROR_TYPE, g->error_type);
    add(l, SC_ATTR_STR(SC_ATTR_GATEWAY_PROBE_EXPECTED, sc_schema_error_class_name(rec->expected)));
    add(l, SC_ATTR_INT(SC_ATTR_GATEWAY_RETRY_COUNT, rec->retries));
    add_opt_str(l, SC_ATTR_SERVER_ADDRESS, rec->server_address);
    if (rec->server_port > 0)
        add(l, SC_ATTR_INT(SC_ATTR_SERVER_PORT, rec->server_port));
    add(l, SC_ATTR_STR(SC_ATTR_GATEWAY_FALLBACK_DECISION,
                       sc_schema_fallback_decision_name(rec->fallback)));
    if (rec->fallback != SC_FALLBACK_NOT_NEEDED)
        add(l, SC_ATTR_STR(
                   SC_ATTR_GATEWAY_FALLBACK_REASON,
                   sc_schema_fallback_reason(rec->fallback_reason.ptr, rec->fallback_reason.len)));
    add(l, SC_ATTR_BOOL(SC_ATTR_GATEWAY_USAGE_PRESENT, rec->usage_present));
    add(l, SC_ATTR_BOOL(SC_ATTR_GATEWAY_STREAM, rec->stream));
    if (rec->n_violations > 0)
        add(l, SC_ATTR_STRARR(SC_ATTR_GATEWAY_CONTRACT_FAILED_CHECKS, rec->violations,
                              capped(rec->n_violations, SC_RECORD_MAX_VIOLATIONS)));
    add_opt_str(l, SC_ATTR_GEN_AI_RESPONSE_ID, rec->response_id);
}

static int run_valid(const sc_run_record *rec)
{
    return !all_zero(rec->ctx.trace_id, sizeof rec->ctx.trace_id) &&
           !all_zero(rec->ctx.span_id, sizeof rec->ctx.span_id) && rec->operation.len > 0 &&
           rec->start_ns <= rec->end_ns && rec->fallback < SC_FALLBACK__COUNT &&
           rec->error_class < SC_ERROR_CLASS__COUNT && rec->expected < SC_ERROR_CLASS__COUNT;
}

int sc_recorder_run(sc_recorder *r, const sc_run_record *rec)
{
    if (!run_valid(rec)) {
        r->stats.records_invalid++;
        return -EINVAL;
    }
    int failed_op = rec->error_type.len > 0 || rec->error_class != SC_ERROR_CLASS_NONE;
    genai g = {
        .source = SC_SOURCE_CANARY,
        .operation = sc_schema_gen_ai_operation(rec->operation.ptr, rec->operation.len),
        GENAI_COMMON(rec),
        .error_type = failed_op ? sc_record_error_type(rec->error_type, rec->error_class)
                                : (sc_attr_str){NULL, 0},
    };
    run_metrics(r, rec, &g);
    if (r->spans_disabled)
        return 0;
    sc_span *s = reserve(r);
    if (s == NULL)
        return -ENOBUFS;
    memcpy(s->trace_id, rec->ctx.trace_id, sizeof s->trace_id);
    memcpy(s->span_id, rec->ctx.span_id, sizeof s->span_id);
    s->trace_flags = rec->ctx.trace_flags;
    set_name(s, g.operation, rec->request_model);
    s->kind = SC_SPAN_KIND_CLIENT;
    s->start_ns = rec->start_ns;
    s->end_ns = rec->end_ns;
    s->source = SC_SOURCE_CANARY;
    s->source_seq = rec->source_seq;
    if (!rec->passed)
        sc_span_set_status(s, SC_SPAN_STATUS_ERROR, NULL, 0);
    alist l = {.n = 0};
    run_span_attrs(&l, rec, &g);
    sc_span_set_attrs(s, l.a, l.n);
    shape_drift_event(s, rec);
    commit(r);
    return 0;
}
