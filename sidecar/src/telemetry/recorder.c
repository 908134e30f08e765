/* recorder.c - owns: the recorder's public API and setup, normalising a record once for its span
 * and its metrics (facts), building spans, span sampling and queue-full drops (the metric
 * measurements: recorder_metrics.c; shared types: recorder_internal.h). The names and value sets
 * come from schema.h; the layout is documented in dashboards/telemetry-schema.md, which tests
 * check against the output of both files. */
#include "telemetry/recorder.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "telemetry/recorder_internal.h"

#define TRACE_STATE_MAX 64
#define NAME_MAX_LEN    (SC_SPAN_NAME_MAX + 16)

static const sc_attr_str provider_default = {SC_GEN_AI_PROVIDER_OPENAI,
                                             sizeof SC_GEN_AI_PROVIDER_OPENAI - 1};

/* The genai fields both record types spell the same way (designated initialisers). */
#define GENAI_COMMON(rec)                                                                          \
    .provider = (rec)->provider.len ? sc_record_identifier((rec)->provider) : provider_default,    \
    .request_model = (rec)->request_model, .response_model = (rec)->response_model,                \
    .server_address = (rec)->server_address, .server_port = (rec)->server_port,                    \
    .finish_reasons = (rec)->finish_reasons, .n_finish_reasons = (rec)->n_finish_reasons,          \
    .input_tokens = (rec)->input_tokens, .output_tokens = (rec)->output_tokens,                    \
    .stream = (rec)->stream, .duration_ns = (rec)->end_ns - (rec)->start_ns,                       \
    .first_chunk_ns = (rec)->first_chunk_ns

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
    sc_recorder_count(r, SC_METRIC_TELEMETRY_DROPPED, &l);
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
    sc_recorder_attempt_metrics(r, rec, &f);
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
    sc_recorder_run_metrics(r, rec, &g);
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
