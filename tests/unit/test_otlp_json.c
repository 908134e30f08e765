/* test_otlp_json.c - tests for export/otlp_json: the same spans (through a real, wrapped span
 * queue) and metrics snapshots are encoded as OTLP/JSON and as protobuf; the JSON is parsed with
 * cJSON, the protobuf decoded with protobuf-c, and the two are compared field by field under the
 * OTLP/JSON mapping (hex ids, int64 as strings, enums as numbers, camelCase, omitted defaults).
 * Also: one line per request, limits and the JSON response decoders. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#include "core/clock.h"
#include "export/otlp_json.h"
#include "export/otlp_json_response.h"
#include "export/otlp_proto.h"
#include "harness.h"
#include "telemetry/metrics.h"
#include "telemetry/resource.h"
#include "telemetry/span_queue.h"
#include "version.h"

#define PBCE(x) OPENTELEMETRY__PROTO__##x
typedef Opentelemetry__Proto__Common__V1__KeyValue pbc_kv;
typedef Opentelemetry__Proto__Common__V1__AnyValue pbc_any;
typedef Opentelemetry__Proto__Trace__V1__Span pbc_span;
typedef Opentelemetry__Proto__Metrics__V1__Metric pbc_metric;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint pbc_num;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint pbc_hist;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest pbc_trace_req;
typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest pbc_metrics_req;

#define T0  1700000000000000000ull
#define SEC 1000000000ull

static const char *const K8S_ENV[] = {"K8S_POD_NAME=checkout-7d9f", NULL};

static const char *fake_getenv(void *ctx, const char *name)
{
    const char *const *env = ctx;
    size_t n = strlen(name);
    for (; *env != NULL; env++)
        if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
            return *env + n + 1;
    return NULL;
}

static sc_resource *make_resource(void)
{
    sc_rng rng;
    sc_rng_init_seeded(&rng, 11);
    sc_resource *r = NULL;
    return sc_resource_new(&r, NULL, fake_getenv, (void *)K8S_ENV, &rng, NULL) == 0 ? r : NULL;
}

/* ---- inputs ---------------------------------------------------------------------------------- */

static const sc_attr_str MODELS[] = {{"gpt-4o-mini", 11}, {"", 0}, {"claude-3-5-haiku", 16}};

/* 0 mod 3: rich root CLIENT span (every attribute type, awkward strings and doubles, events,
 * links, ERROR); 1 mod 3: its child with OK; 2 mod 3: a SERVER span past the limits, no status. */
static void fill_span(sc_span *s, int i, sc_rng *rng, sc_clock_fake *clk, sc_span_context *prev)
{
    char name[32];
    snprintf(name, sizeof name, "span-%d", i);
    uint64_t t = sc_clock_wall_ns(&clk->base);
    if (i % 3 == 0) {
        sc_span_context remote = {.trace_flags = 1};
        sc_rng_fill(rng, remote.trace_id, 16);
        sc_rng_fill(rng, remote.span_id, 8);
        sc_span_new_ids(s, rng, NULL);
        s->parent_is_remote = 1;
        sc_span_set_name(s, name, strlen(name));
        sc_span_set_trace_state(s, "comet=1,vendor=abc", 18);
        s->kind = SC_SPAN_KIND_CLIENT;
        sc_attr attrs[] = {
            SC_ATTR_STR("http.request.method", "POST"),
            SC_ATTR_INT("http.response.status_code", 503),
            SC_ATTR_INT("comet.min", INT64_MIN),
            SC_ATTR_DBL("gen_ai.request.temperature", 0.1),
            SC_ATTR_DBL("comet.nan", NAN),
            SC_ATTR_DBL("comet.neg_inf", -INFINITY),
            SC_ATTR_DBL("comet.tiny", 5e-324),
            SC_ATTR_BOOL("gateway.stream", 1),
            SC_ATTR_BOOL("gateway.usage.present", 0),
            SC_ATTR_STRARR("comet.models", MODELS, 3),
            SC_ATTR_STRARR("comet.none", NULL, 0),
            SC_ATTR_STR("comet.empty", ""),
            SC_ATTR_STR("comet.multiline", "line1\nline2\r\t\"q\" \\ caf\xc3\xa9 \x01"),
        };
        CHECK_EQ(sc_span_set_attrs(s, attrs, SC_ATTR_COUNT(attrs)), 0);
        sc_attr ev_attrs[] = {SC_ATTR_DBL("gen_ai.response.ttft_ms", 183.5)};
        sc_span_add_event(s, "first_chunk", 11, t + 100, ev_attrs, 1);
        sc_span_add_event(s, "", 0, t + 200, NULL, 0);
        sc_span_add_link(s, &remote, "other=1", 7);
        sc_span_add_link(s, &remote, NULL, 0);
        sc_span_set_status(s, SC_SPAN_STATUS_ERROR, "upstream\ntimed out", 18);
        memcpy(prev->trace_id, s->trace_id, 16);
        memcpy(prev->span_id, s->span_id, 8);
    } else if (i % 3 == 1) {
        sc_span_new_ids(s, rng, prev);
        sc_span_set_name(s, "read stream", 11);
        s->kind = SC_SPAN_KIND_INTERNAL;
        sc_span_set_status(s, SC_SPAN_STATUS_OK, NULL, 0);
    } else {
        sc_span_new_ids(s, rng, NULL);
        sc_span_set_name(s, name, strlen(name));
        s->kind = SC_SPAN_KIND_SERVER;
        for (int k = 0; k < SC_SPAN_MAX_ATTRS + 3; k++) {
            char key[16];
            snprintf(key, sizeof key, "k%02d", k);
            sc_attr a = SC_ATTR_INT(key, k);
            sc_span_set_attr(s, &a);
        }
        for (int k = 0; k < SC_SPAN_MAX_EVENTS + 1; k++)
            sc_span_add_event(s, "tick", 4, t + (uint64_t)k, NULL, 0);
        for (int k = 0; k < SC_SPAN_MAX_LINKS + 2; k++)
            sc_span_add_link(s, prev, NULL, 0);
    }
    s->start_ns = t;
    s->end_ns = t + 950000000ull + (uint64_t)i;
    sc_clock_fake_advance(clk, SEC);
}

typedef struct trace_fx {
    sc_clock_fake clk;
    sc_rng rng;
    sc_span_queue *q;
    sc_resource *res;
    sc_span_context prev;
    sc_span_batch batch;
} trace_fx;

static int push_spans(trace_fx *fx, int from, int n)
{
    for (int i = from; i < from + n; i++) {
        sc_span *s = sc_span_queue_reserve(fx->q);
        if (s == NULL)
            return -ENOBUFS;
        fill_span(s, i, &fx->rng, &fx->clk, &fx->prev);
        sc_span_queue_commit(fx->q);
    }
    return 0;
}

/* 6 pending spans in an 8-slot ring that wraps (3 + 3). */
static int setup_wrapped(trace_fx *fx)
{
    memset(fx, 0, sizeof *fx);
    sc_clock_fake_init(&fx->clk, T0);
    sc_rng_init_seeded(&fx->rng, 77);
    sc_span_queue_opts o = {.capacity = 8};
    if (sc_span_queue_new(&fx->q, &o) != 0 || (fx->res = make_resource()) == NULL)
        return -1;
    if (push_spans(fx, 0, 5) != 0 || sc_span_queue_take(fx->q, 5) != 5 ||
        sc_span_queue_release(fx->q, 5, 1) != 5 || push_spans(fx, 0, 6) != 0)
        return -1;
    sc_span *first, *second;
    size_t n =
        sc_span_queue_peek(fx->q, 64, &first, &fx->batch.n_first, &second, &fx->batch.n_second);
    fx->batch.first = first;
    fx->batch.second = second;
    return n == 6 && fx->batch.n_second == 3 ? 0 : -1;
}

static void teardown(trace_fx *fx)
{
    sc_span_queue_free(fx->q);
    sc_resource_free(fx->res);
}

/* ---- JSON vs protobuf-c comparison ----------------------------------------------------------- */

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* int64/fixed64: a decimal string, absent when 0 (unless `always`). */
static void check_i64_str(const cJSON *o, const char *k, int64_t want, int always)
{
    const cJSON *v = get(o, k);
    if (want == 0 && !always) {
        CHECK(v == NULL);
        return;
    }
    REQUIRE(cJSON_IsString(v));
    char t[24];
    snprintf(t, sizeof t, "%" PRId64, want);
    CHECK_STR(v->valuestring, t);
}

static void check_u64_str(const cJSON *o, const char *k, uint64_t want)
{
    const cJSON *v = get(o, k);
    if (want == 0) {
        CHECK(v == NULL);
        return;
    }
    REQUIRE(cJSON_IsString(v));
    char t[24];
    snprintf(t, sizeof t, "%" PRIu64, want);
    CHECK_STR(v->valuestring, t);
}

/* uint32 and enums: a JSON number, absent when 0. */
static void check_num(const cJSON *o, const char *k, uint64_t want)
{
    const cJSON *v = get(o, k);
    if (want == 0) {
        CHECK(v == NULL);
        return;
    }
    REQUIRE(cJSON_IsNumber(v));
    CHECK(v->valuedouble == (double)want);
}

static void check_string(const cJSON *o, const char *k, const char *want)
{
    const cJSON *v = get(o, k);
    if (want[0] == '\0') {
        CHECK(v == NULL);
        return;
    }
    REQUIRE(cJSON_IsString(v));
    CHECK_STR(v->valuestring, want);
}

static void check_hex(const cJSON *o, const char *k, ProtobufCBinaryData want)
{
    const cJSON *v = get(o, k);
    if (want.len == 0) {
        CHECK(v == NULL);
        return;
    }
    REQUIRE(cJSON_IsString(v));
    char t[65] = "";
    for (size_t i = 0; i < want.len && i < 32; i++)
        snprintf(t + 2 * i, 3, "%02x", want.data[i]);
    CHECK_STR(v->valuestring, t); /* lowercase hex, not base64 */
}

static void check_double(const cJSON *v, double want)
{
    if (isnan(want)) {
        CHECK(cJSON_IsString(v) && strcmp(v->valuestring, "NaN") == 0);
    } else if (isinf(want)) {
        CHECK(cJSON_IsString(v) &&
              strcmp(v->valuestring, want > 0 ? "Infinity" : "-Infinity") == 0);
    } else {
        REQUIRE(cJSON_IsNumber(v));
        CHECK(v->valuedouble == want); /* shortest round-trip form parses back exactly */
    }
}

static void check_any(const cJSON *v, const pbc_any *a)
{
    REQUIRE(cJSON_IsObject(v));
    CHECK_EQ(cJSON_GetArraySize(v), 1); /* exactly one oneof member */
    const cJSON *x;
    switch (a->value_case) {
    case PBCE(COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE):
        x = get(v, "stringValue");
        REQUIRE(cJSON_IsString(x));
        CHECK_STR(x->valuestring, a->string_value);
        break;
    case PBCE(COMMON__V1__ANY_VALUE__VALUE_INT_VALUE):
        check_i64_str(v, "intValue", a->int_value, 1);
        break;
    case PBCE(COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE):
        check_double(get(v, "doubleValue"), a->double_value);
        break;
    case PBCE(COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE):
        x = get(v, "boolValue");
        CHECK(cJSON_IsBool(x) && cJSON_IsTrue(x) == !!a->bool_value);
        break;
    case PBCE(COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE): {
        x = get(v, "arrayValue");
        REQUIRE(cJSON_IsObject(x));
        const cJSON *vals = get(x, "values");
        if (a->array_value->n_values == 0) {
            CHECK(vals == NULL);
            break;
        }
        REQUIRE(cJSON_GetArraySize(vals) == (int)a->array_value->n_values);
        for (size_t i = 0; i < a->array_value->n_values; i++)
            check_any(cJSON_GetArrayItem(vals, (int)i), a->array_value->values[i]);
        break;
    }
    default:
        CHECK(!"unexpected AnyValue case");
    }
}

static void check_attrs(const cJSON *o, pbc_kv *const *kv, size_t n)
{
    const cJSON *arr = get(o, "attributes");
    if (n == 0) {
        CHECK(arr == NULL);
        return;
    }
    REQUIRE(cJSON_IsArray(arr) && cJSON_GetArraySize(arr) == (int)n);
    for (size_t i = 0; i < n; i++) {
        const cJSON *e = cJSON_GetArrayItem(arr, (int)i);
        const cJSON *k = get(e, "key");
        REQUIRE(cJSON_IsString(k));
        CHECK_STR(k->valuestring, kv[i]->key);
        check_any(get(e, "value"), kv[i]->value);
    }
}

/* A repeated message field: absent when empty, else an array of n. */
static const cJSON *list(const cJSON *o, const char *k, size_t n)
{
    const cJSON *arr = get(o, k);
    if (n == 0) {
        CHECK(arr == NULL);
        return NULL;
    }
    CHECK(cJSON_IsArray(arr) && cJSON_GetArraySize(arr) == (int)n);
    return cJSON_IsArray(arr) && cJSON_GetArraySize(arr) == (int)n ? arr : NULL;
}

static void check_span(const cJSON *j, const pbc_span *p)
{
    REQUIRE(cJSON_IsObject(j));
    check_hex(j, "traceId", p->trace_id);
    check_hex(j, "spanId", p->span_id);
    check_hex(j, "parentSpanId", p->parent_span_id);
    check_string(j, "traceState", p->trace_state);
    check_string(j, "name", p->name);
    check_num(j, "kind", (uint64_t)p->kind);
    check_u64_str(j, "startTimeUnixNano", p->start_time_unix_nano);
    check_u64_str(j, "endTimeUnixNano", p->end_time_unix_nano);
    check_attrs(j, p->attributes, p->n_attributes);
    check_num(j, "droppedAttributesCount", p->dropped_attributes_count);
    check_num(j, "droppedEventsCount", p->dropped_events_count);
    check_num(j, "droppedLinksCount", p->dropped_links_count);
    const cJSON *evs = list(j, "events", p->n_events);
    for (size_t i = 0; evs != NULL && i < p->n_events; i++) {
        const cJSON *e = cJSON_GetArrayItem(evs, (int)i);
        check_u64_str(e, "timeUnixNano", p->events[i]->time_unix_nano);
        check_string(e, "name", p->events[i]->name);
        check_attrs(e, p->events[i]->attributes, p->events[i]->n_attributes);
        check_num(e, "droppedAttributesCount", p->events[i]->dropped_attributes_count);
    }
    const cJSON *lns = list(j, "links", p->n_links);
    for (size_t i = 0; lns != NULL && i < p->n_links; i++) {
        const cJSON *l = cJSON_GetArrayItem(lns, (int)i);
        check_hex(l, "traceId", p->links[i]->trace_id);
        check_hex(l, "spanId", p->links[i]->span_id);
        check_string(l, "traceState", p->links[i]->trace_state);
        check_attrs(l, p->links[i]->attributes, p->links[i]->n_attributes);
    }
    const cJSON *st = get(j, "status");
    if (p->status == NULL) {
        CHECK(st == NULL);
    } else {
        REQUIRE(cJSON_IsObject(st));
        check_num(st, "code", (uint64_t)p->status->code);
        check_string(st, "message", p->status->message);
    }
}

/* No member name anywhere is snake_case, and none is one we must never send. */
static void check_names(const cJSON *j, int *members)
{
    for (const cJSON *c = j ? j->child : NULL; c != NULL; c = c->next) {
        if (cJSON_IsObject(j)) {
            (*members)++;
            CHECK(strchr(c->string, '_') == NULL);
            CHECK(strcmp(c->string, "flags") != 0 && strcmp(c->string, "metadata") != 0);
        }
        check_names(c, members);
    }
}

/* Parses one JSON request: a single line, valid JSON, camelCase names. */
static cJSON *parse_line(const sc_buf *b)
{
    CHECK(memchr(b->data, '\n', b->len) == NULL && memchr(b->data, '\r', b->len) == NULL);
    cJSON *j = cJSON_ParseWithLength(b->data, b->len);
    CHECK(j != NULL);
    int members = 0;
    check_names(j, &members);
    CHECK(members > 10);
    return j;
}

static void check_envelope(const cJSON *j, const char *outer, const char *inner,
                           const Opentelemetry__Proto__Resource__V1__Resource *res,
                           const cJSON **scope_entry)
{
    *scope_entry = NULL;
    const cJSON *rs = get(j, outer);
    REQUIRE(cJSON_IsArray(rs) && cJSON_GetArraySize(rs) == 1);
    const cJSON *r0 = cJSON_GetArrayItem(rs, 0);
    check_attrs(get(r0, "resource"), res->attributes, res->n_attributes);
    const cJSON *ss = get(r0, inner);
    REQUIRE(cJSON_IsArray(ss) && cJSON_GetArraySize(ss) == 1);
    const cJSON *s0 = cJSON_GetArrayItem(ss, 0);
    const cJSON *scope = get(s0, "scope");
    check_string(scope, "name", "comet-sidecar");
    check_string(scope, "version", SC_VERSION);
    *scope_entry = s0;
}

/* ---- trace tests ----------------------------------------------------------------------------- */

static void traces_match_protobuf_field_by_field(void)
{
    trace_fx fx;
    REQUIRE(setup_wrapped(&fx) == 0);
    sc_buf pb, js;
    sc_buf_init(&pb, 1 << 20);
    sc_buf_init(&js, 1 << 20);
    REQUIRE(sc_otlp_proto_encode_traces(fx.res, &fx.batch, &pb) == 0);
    REQUIRE(sc_otlp_json_encode_traces(fx.res, &fx.batch, &js) == 0);
    CHECK_EQ(strlen(js.data), js.len);
    pbc_trace_req *req =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
            NULL, pb.len, (const uint8_t *)pb.data);
    cJSON *j = parse_line(&js);
    REQUIRE(req != NULL && j != NULL);
    const cJSON *scope_entry;
    check_envelope(j, "resourceSpans", "scopeSpans", req->resource_spans[0]->resource,
                   &scope_entry);
    const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = req->resource_spans[0]->scope_spans[0];
    const cJSON *spans = scope_entry ? list(scope_entry, "spans", ss->n_spans) : NULL;
    CHECK(spans != NULL && ss->n_spans == 6);
    for (size_t i = 0; spans != NULL && i < ss->n_spans; i++)
        check_span(cJSON_GetArrayItem(spans, (int)i), ss->spans[i]);

    /* Spot checks of the mapping on the rich span (span-0, first in the batch). */
    const cJSON *s0 = spans ? cJSON_GetArrayItem(spans, 0) : NULL;
    if (s0 != NULL) {
        CHECK_STR(get(s0, "name")->valuestring, "span-0");
        CHECK(cJSON_IsString(get(s0, "startTimeUnixNano")));
        CHECK(strlen(get(s0, "traceId")->valuestring) == 32);
        CHECK(strlen(get(s0, "spanId")->valuestring) == 16);
        CHECK(get(s0, "parentSpanId") == NULL);
        CHECK_EQ(get(s0, "kind")->valueint, 3);
        CHECK_STR(get(get(s0, "status"), "message")->valuestring, "upstream\ntimed out");
        const cJSON *a2 = cJSON_GetArrayItem(get(s0, "attributes"), 2);
        CHECK_STR(get(get(a2, "value"), "intValue")->valuestring, "-9223372036854775808");
        const cJSON *ml = cJSON_GetArrayItem(get(s0, "attributes"), 12);
        CHECK_STR(get(get(ml, "value"), "stringValue")->valuestring,
                  "line1\nline2\r\t\"q\" \\ caf\xc3\xa9 \x01");
        const cJSON *s1 = cJSON_GetArrayItem(spans, 1);
        CHECK(get(s1, "traceState") == NULL);
        CHECK(cJSON_IsString(get(s1, "parentSpanId")));
        CHECK(get(get(s1, "status"), "message") == NULL);
        CHECK(get(cJSON_GetArrayItem(spans, 2), "status") == NULL);
    }
    cJSON_Delete(j);
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(req,
                                                                                            NULL);
    sc_buf_free(&pb);
    sc_buf_free(&js);
    teardown(&fx);
}

static void traces_limits_and_arguments(void)
{
    trace_fx fx;
    REQUIRE(setup_wrapped(&fx) == 0);
    sc_buf full, out;
    sc_buf_init(&full, 1 << 20);
    REQUIRE(sc_otlp_json_encode_traces(fx.res, &fx.batch, &full) == 0);
    sc_buf_init(&out, full.len + 2);
    sc_buf_append_str(&out, "x\n");
    REQUIRE(sc_otlp_json_encode_traces(fx.res, &fx.batch, &out) == 0); /* exactly fits */
    CHECK(out.len == full.len + 2 && memcmp(out.data + 2, full.data, full.len) == 0);
    sc_buf_free(&out);
    sc_buf_init(&out, full.len + 1);
    sc_buf_append_str(&out, "x\n");
    CHECK_EQ(sc_otlp_json_encode_traces(fx.res, &fx.batch, &out), -ENOBUFS);
    CHECK(out.len == 2 && strcmp(out.data, "x\n") == 0); /* left unchanged */
    sc_span_batch empty = {0}, bad = {.n_second = 1};
    sc_buf_reset(&out);
    REQUIRE(sc_otlp_json_encode_traces(fx.res, &empty, &out) == 0);
    cJSON *j = cJSON_ParseWithLength(out.data, out.len);
    REQUIRE(j != NULL);
    const cJSON *s0 =
        cJSON_GetArrayItem(get(cJSON_GetArrayItem(get(j, "resourceSpans"), 0), "scopeSpans"), 0);
    CHECK(s0 != NULL && get(s0, "scope") != NULL && get(s0, "spans") == NULL);
    cJSON_Delete(j);
    CHECK_EQ(sc_otlp_json_encode_traces(fx.res, &bad, &out), -EINVAL);
    sc_buf_free(&out);
    sc_buf_free(&full);
    teardown(&fx);
}

/* ---- metrics --------------------------------------------------------------------------------- */

static const double BOUNDS[] = {0.1, 0.5, 1.0, 2.5};
static const sc_metric_def DEFS[] = {
    {"comet.requests", "{request}", "Requests sent", SC_METRIC_KIND_COUNTER, NULL, 0},
    {"comet.queue.size", "{span}", "", SC_METRIC_KIND_UPDOWN_COUNTER, NULL, 0},
    {"comet.ratio", "1", "Share of 2xx", SC_METRIC_KIND_GAUGE, NULL, 0},
    {"comet.duration", "s", "Latency", SC_METRIC_KIND_HISTOGRAM, BOUNDS, 4},
};

static void check_points(const cJSON *dps, const pbc_metric *m)
{
    size_t n = m->data_case == PBCE(METRICS__V1__METRIC__DATA_GAUGE) ? m->gauge->n_data_points
               : m->data_case == PBCE(METRICS__V1__METRIC__DATA_SUM) ? m->sum->n_data_points
                                                                     : m->histogram->n_data_points;
    REQUIRE(cJSON_GetArraySize(dps) == (int)n);
    for (size_t i = 0; i < n; i++) {
        const cJSON *j = cJSON_GetArrayItem(dps, (int)i);
        if (m->data_case == PBCE(METRICS__V1__METRIC__DATA_HISTOGRAM)) {
            const pbc_hist *p = m->histogram->data_points[i];
            check_attrs(j, p->attributes, p->n_attributes);
            check_u64_str(j, "startTimeUnixNano", p->start_time_unix_nano);
            check_u64_str(j, "timeUnixNano", p->time_unix_nano);
            check_u64_str(j, "count", p->count);
            REQUIRE(p->_sum_case != 0 && get(j, "sum") != NULL);
            check_double(get(j, "sum"), p->sum);
            CHECK_EQ(get(j, "min") != NULL, p->_min_case != 0);
            CHECK_EQ(get(j, "max") != NULL, p->_max_case != 0);
            if (p->_min_case != 0 && p->_max_case != 0) {
                check_double(get(j, "min"), p->min);
                check_double(get(j, "max"), p->max);
            }
            const cJSON *bc = get(j, "bucketCounts"), *eb = get(j, "explicitBounds");
            REQUIRE(cJSON_GetArraySize(bc) == (int)p->n_bucket_counts);
            REQUIRE(cJSON_GetArraySize(eb) == (int)p->n_explicit_bounds);
            for (size_t k = 0; k < p->n_bucket_counts; k++) {
                const cJSON *c = cJSON_GetArrayItem(bc, (int)k);
                CHECK(cJSON_IsString(c) &&
                      strtoull(c->valuestring, NULL, 10) == p->bucket_counts[k]);
            }
            for (size_t k = 0; k < p->n_explicit_bounds; k++)
                check_double(cJSON_GetArrayItem(eb, (int)k), p->explicit_bounds[k]);
        } else {
            const pbc_num *p = m->data_case == PBCE(METRICS__V1__METRIC__DATA_GAUGE)
                                   ? m->gauge->data_points[i]
                                   : m->sum->data_points[i];
            check_attrs(j, p->attributes, p->n_attributes);
            check_u64_str(j, "startTimeUnixNano", p->start_time_unix_nano);
            check_u64_str(j, "timeUnixNano", p->time_unix_nano);
            if (p->value_case == PBCE(METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT)) {
                check_i64_str(j, "asInt", p->as_int, 1);
                CHECK(get(j, "asDouble") == NULL);
            } else {
                check_double(get(j, "asDouble"), p->as_double);
                CHECK(get(j, "asInt") == NULL);
            }
        }
    }
}

static void check_metric(const cJSON *j, const pbc_metric *m)
{
    check_string(j, "name", m->name);
    check_string(j, "description", m->description);
    check_string(j, "unit", m->unit);
    const cJSON *g = get(j, "gauge"), *s = get(j, "sum"), *h = get(j, "histogram");
    CHECK_EQ((g != NULL) + (s != NULL) + (h != NULL), 1);
    switch (m->data_case) {
    case PBCE(METRICS__V1__METRIC__DATA_GAUGE):
        REQUIRE(g != NULL);
        check_points(get(g, "dataPoints"), m);
        break;
    case PBCE(METRICS__V1__METRIC__DATA_SUM):
        REQUIRE(s != NULL);
        check_num(s, "aggregationTemporality", (uint64_t)m->sum->aggregation_temporality);
        CHECK_EQ(cJSON_IsTrue(get(s, "isMonotonic")), !!m->sum->is_monotonic);
        CHECK(m->sum->is_monotonic || get(s, "isMonotonic") == NULL); /* false: omitted */
        check_points(get(s, "dataPoints"), m);
        break;
    case PBCE(METRICS__V1__METRIC__DATA_HISTOGRAM):
        REQUIRE(h != NULL);
        check_num(h, "aggregationTemporality", (uint64_t)m->histogram->aggregation_temporality);
        check_points(get(h, "dataPoints"), m);
        break;
    default:
        CHECK(!"unexpected metric data");
    }
}

static void metrics_match_protobuf(sc_temporality t)
{
    sc_clock_fake clk;
    sc_clock_fake_init(&clk, T0);
    sc_metrics *m = NULL;
    sc_instrument *in[4];
    sc_metrics_opts o = {.clock = &clk.base, .temporality = t, .cardinality_limit = 3};
    REQUIRE(sc_metrics_new(&m, &o) == 0);
    for (int i = 0; i < 4; i++)
        REQUIRE(sc_metrics_instrument(m, &DEFS[i], &in[i]) == 0);
    sc_clock_fake_advance(&clk, SEC);
    static const char *const routes[] = {"/a", "/b", "/c"};
    for (int i = 0; i < 3; i++) {
        sc_attr a[] = {SC_ATTR_STR("http.route", routes[i])};
        REQUIRE(sc_metrics_add(in[0], 1000000000000ll * (i + 1), a, 1) == 0); /* overflows */
    }
    sc_attr q[] = {SC_ATTR_STR("queue", "spans"), SC_ATTR_DBL("w", 0.3)};
    REQUIRE(sc_metrics_observe(in[1], -7, q, 2) == 0);
    REQUIRE(sc_metrics_set(in[2], 0.1 + 0.2, NULL, 0) == 0);
    REQUIRE(sc_metrics_record(in[3], 0.05, NULL, 0) == 0);
    REQUIRE(sc_metrics_record(in[3], 1e300, NULL, 0) == 0);
    sc_clock_fake_advance(&clk, 60 * SEC);
    const sc_metrics_snapshot *snap;
    REQUIRE(sc_metrics_collect(m, &snap) == 0);
    sc_resource *res = make_resource();
    REQUIRE(res != NULL);
    sc_buf pb, js;
    sc_buf_init(&pb, 1 << 20);
    sc_buf_init(&js, 1 << 20);
    REQUIRE(sc_otlp_proto_encode_metrics(res, snap, &pb) == 0);
    REQUIRE(sc_otlp_json_encode_metrics(res, snap, &js) == 0);
    pbc_metrics_req *req =
        opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(
            NULL, pb.len, (const uint8_t *)pb.data);
    cJSON *j = parse_line(&js);
    REQUIRE(req != NULL && j != NULL);
    const cJSON *scope_entry;
    check_envelope(j, "resourceMetrics", "scopeMetrics", req->resource_metrics[0]->resource,
                   &scope_entry);
    const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm =
        req->resource_metrics[0]->scope_metrics[0];
    CHECK_EQ(sm->n_metrics, 4);
    const cJSON *ms = scope_entry ? list(scope_entry, "metrics", sm->n_metrics) : NULL;
    for (size_t i = 0; ms != NULL && i < sm->n_metrics; i++)
        check_metric(cJSON_GetArrayItem(ms, (int)i), sm->metrics[i]);
    /* Spot checks of the mapping. */
    const cJSON *sum = get(cJSON_GetArrayItem(ms, 0), "sum");
    CHECK_EQ(get(sum, "aggregationTemporality")->valueint, t == SC_TEMPORALITY_DELTA ? 1 : 2);
    const cJSON *ovf = cJSON_GetArrayItem(get(sum, "dataPoints"), 2);
    CHECK_STR(get(ovf, "asInt")->valuestring, "3000000000000");
    const cJSON *hp =
        cJSON_GetArrayItem(get(get(cJSON_GetArrayItem(ms, 3), "histogram"), "dataPoints"), 0);
    CHECK_STR(get(hp, "count")->valuestring, "2");
    CHECK(get(cJSON_GetArrayItem(get(get(cJSON_GetArrayItem(ms, 2), "gauge"), "dataPoints"), 0),
              "startTimeUnixNano") == NULL);
    cJSON_Delete(j);
    opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(
        req, NULL);
    sc_metrics_snapshot_release(m);

    /* No points: nothing is written. A small buffer is left unchanged. */
    sc_metrics_snapshot empty = {0};
    sc_buf_reset(&js);
    CHECK_EQ(sc_otlp_json_encode_metrics(res, &empty, &js), -ENODATA);
    CHECK_EQ(js.len, 0);
    REQUIRE(sc_metrics_collect(m, &snap) == 0);
    CHECK(snap->n_points > 0); /* up-down counters are reported every time */
    sc_buf small;
    sc_buf_init(&small, 200);
    sc_buf_append_str(&small, "keep");
    CHECK_EQ(sc_otlp_json_encode_metrics(res, snap, &small), -ENOBUFS);
    CHECK(small.len == 4 && strcmp(small.data, "keep") == 0);
    sc_buf_free(&small);
    sc_metrics_snapshot_release(m);
    sc_buf_free(&pb);
    sc_buf_free(&js);
    sc_resource_free(res);
    sc_metrics_free(m);
}

static void metrics_cumulative_match_protobuf(void)
{
    metrics_match_protobuf(SC_TEMPORALITY_CUMULATIVE);
}

static void metrics_delta_match_protobuf(void)
{
    metrics_match_protobuf(SC_TEMPORALITY_DELTA);
}

/* ---- responses ------------------------------------------------------------------------------- */

static int tr(const char *body, int64_t *rejected, char *msg, size_t cap)
{
    return sc_otlp_json_decode_trace_response(body, strlen(body), rejected, msg, cap);
}

static void responses_decode(void)
{
    int64_t r = -1;
    char msg[64] = "junk";
    CHECK_EQ(tr("", &r, msg, sizeof msg), 0);
    CHECK(r == 0 && msg[0] == '\0');
    CHECK_EQ(tr(" \n", &r, msg, sizeof msg), 0);
    CHECK_EQ(tr("{}", &r, msg, sizeof msg), 0);
    CHECK_EQ(r, 0);
    CHECK_EQ(tr("{\"partialSuccess\":{}}", &r, msg, sizeof msg), 0);
    CHECK_EQ(r, 0);
    CHECK_EQ(tr("{\"partialSuccess\":{\"rejectedSpans\":\"2\",\"errorMessage\":\"bad span\"}}", &r,
                msg, sizeof msg),
             0);
    CHECK(r == 2 && strcmp(msg, "bad span") == 0);
    CHECK_EQ(tr("{\"partialSuccess\":{\"rejectedSpans\":7},\"extra\":[1]}", &r, msg, sizeof msg),
             0);
    CHECK(r == 7 && msg[0] == '\0');
    CHECK_EQ(tr("{\"partialSuccess\":{\"rejectedSpans\":\"9007199254740993\"}}", &r, NULL, 0), 0);
    CHECK(r == 9007199254740993ll); /* above 2^53: exact only as a string */
    CHECK_EQ(tr("{\"partialSuccess\":{\"errorMessage\":\"ab\xc3\xa9xyz\"}}", &r, msg, 4), 0);
    CHECK_STR(msg, "ab"); /* cut to fit, not inside the UTF-8 sequence */

    static const char *const bad[] = {
        "<html>502</html>",
        "[]",
        "{\"partialSuccess\":{\"rejectedSpans\":\"two\"}}",
        "{\"partialSuccess\":{\"rejectedSpans\":1.5}}",
        "{\"partialSuccess\":{\"rejectedSpans\":true}}",
        "{\"partialSuccess\":{\"errorMessage\":5}}",
        "{\"partialSuccess\":3}",
        "{\"partialSuccess\":{\"rejectedSpans\":\"2\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(msg, sizeof msg, "junk");
        r = 5;
        CHECK_EQ(tr(bad[i], &r, msg, sizeof msg), -EBADMSG);
        CHECK(r == 0 && msg[0] == '\0');
    }

    const char *m = "{\"partialSuccess\":{\"rejectedDataPoints\":\"4\",\"errorMessage\":\"dup\"}}";
    CHECK_EQ(sc_otlp_json_decode_metrics_response(m, strlen(m), &r, msg, sizeof msg), 0);
    CHECK(r == 4 && strcmp(msg, "dup") == 0);
    /* The trace field name means nothing in a metrics response. */
    m = "{\"partialSuccess\":{\"rejectedSpans\":\"4\"}}";
    CHECK_EQ(sc_otlp_json_decode_metrics_response(m, strlen(m), &r, msg, sizeof msg), 0);
    CHECK_EQ(r, 0);
}

int main(void)
{
    RUN(traces_match_protobuf_field_by_field);
    RUN(traces_limits_and_arguments);
    RUN(metrics_cumulative_match_protobuf);
    RUN(metrics_delta_match_protobuf);
    RUN(responses_decode);
    return sc_test_summary();
}
