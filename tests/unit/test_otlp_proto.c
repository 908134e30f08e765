/* test_otlp_proto.c - tests for export/otlp_proto: spans built with the telemetry API and handed
 * out by a real span queue (wrapped, so both runs are used) and metrics snapshots from the real
 * metrics SDK are encoded, then decoded with protobuf-c (an independent implementation) and
 * compared field by field; the wire bytes are walked to prove Span.flags, Link.flags and
 * Metric.metadata are absent; limits, errors and the response decoders. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pb_decode.h>

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#include "core/clock.h"
#include "export/otlp_proto.h"
#include "export/otlp_proto_response.h"
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
#define TRACE_UNPACK(n, p)                                                                         \
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(NULL, n, p)
#define TRACE_FREE(m)                                                                              \
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(m, NULL)
#define METRICS_UNPACK(n, p)                                                                       \
    opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(NULL, n, p)
#define METRICS_FREE(m)                                                                            \
    opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(   \
        m, NULL)

#define T0  1700000000000000000ull
#define SEC 1000000000ull

static const char *const K8S_ENV[] = {"K8S_POD_NAME=checkout-7d9f", "K8S_NAMESPACE_NAME=shop",
                                      NULL};

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
    if (sc_resource_new(&r, NULL, fake_getenv, (void *)K8S_ENV, &rng, NULL) != 0)
        return NULL;
    return r;
}

/* ---- spans through the telemetry API -----------------------------------------------------------
 */

static const sc_attr_str MODELS[] = {{"gpt-4o-mini", 11}, {"", 0}, {"claude-3-5-haiku", 16}};
#define LONG                                                                                       \
    "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghij" \
    "klmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123" \
    "456789abcdefghijklmnopqrstuvwxyz"
static const sc_attr_str LONG_ITEMS[] = {{LONG, 60}, {LONG, 70}, {LONG, 1}};

/* Fills span i of a varied set: 0 mod 3 a rich root CLIENT span (every attribute type, events,
 * links, ERROR status, tracestate, remote parent flags), 1 mod 3 its child (OK status), 2 mod 3 a
 * SERVER span past every limit (dropped attributes, events, links, event attributes). */
static void fill_span(sc_span *s, int i, sc_rng *rng, sc_clock_fake *clk, sc_span_context *prev)
{
    char name[32];
    snprintf(name, sizeof name, "span-%d", i);
    uint64_t t = sc_clock_wall_ns(&clk->base);
    if (i % 3 == 1) {
        sc_span_new_ids(s, rng, prev);
        sc_span_set_name(s, "read stream", 11);
        s->kind = SC_SPAN_KIND_INTERNAL;
        sc_span_set_status(s, SC_SPAN_STATUS_OK, "ignored with OK", 15);
        sc_attr a = SC_ATTR_INT("gateway.chunk.count", i);
        sc_span_set_attr(s, &a);
    } else if (i % 3 == 0) {
        sc_span_context remote = {.trace_flags = 1};
        sc_rng_fill(rng, remote.trace_id, 16);
        sc_rng_fill(rng, remote.span_id, 8);
        sc_span_new_ids(s, rng, NULL);
        s->parent_is_remote = 1; /* would set Span.flags bits 8-9 if flags were encoded */
        sc_span_set_name(s, name, strlen(name));
        sc_span_set_trace_state(s, "comet=1,vendor=abc", 18);
        s->kind = SC_SPAN_KIND_CLIENT;
        sc_attr attrs[] = {
            SC_ATTR_STR("http.request.method", "POST"),
            SC_ATTR_INT("http.response.status_code", 503),
            SC_ATTR_INT("comet.signed", -1), /* 10-byte varint */
            SC_ATTR_DBL("gen_ai.request.temperature", 0.25),
            SC_ATTR_DBL("comet.zero", 0.0),
            SC_ATTR_BOOL("gateway.stream", 1),
            SC_ATTR_BOOL("gateway.usage.present", 0),
            SC_ATTR_STRARR("comet.models", MODELS, 3),
            SC_ATTR_STRARR("comet.none", NULL, 0),
            SC_ATTR_STR("comet.empty", ""),
            SC_ATTR_STR("comet.utf8", "caf\xc3\xa9 \xe2\x9c\x93"),
            /* Lengths past 127 take two-byte varints at every level (value, KeyValue, array). */
            SC_ATTR_STRN("comet.long", LONG, 200),
            SC_ATTR_STRARR("comet.long_items", LONG_ITEMS, 3),
        };
        CHECK_EQ(sc_span_set_attrs(s, attrs, SC_ATTR_COUNT(attrs)), 0);
        sc_attr ev_attrs[] = {SC_ATTR_DBL("gen_ai.response.ttft_ms", 183.5),
                              SC_ATTR_STRARR("reasons", MODELS, 1)};
        sc_span_add_event(s, "first_chunk", 11, t + 100, ev_attrs, 2);
        sc_span_add_event(s, "", 0, t + 200, NULL, 0);
        sc_span_add_link(s, &remote, "other=1", 7);
        sc_span_add_link(s, &remote, NULL, 0);
        sc_span_set_status(s, SC_SPAN_STATUS_ERROR, "upstream timed out", 18);
        memcpy(prev->trace_id, s->trace_id, 16);
        memcpy(prev->span_id, s->span_id, 8);
        prev->trace_flags = s->trace_flags;
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
        static const char *const keys[SC_SPAN_MAX_EVENT_ATTRS + 2] = {"a", "b", "c", "d", "e",
                                                                      "f", "g", "h", "i", "j"};
        sc_attr many[SC_SPAN_MAX_EVENT_ATTRS + 2];
        for (size_t k = 0; k < SC_ATTR_COUNT(many); k++)
            many[k] = SC_ATTR_BOOL(keys[k], k % 2);
        for (int k = 0; k < SC_SPAN_MAX_EVENTS + 1; k++)
            sc_span_add_event(s, "tick", 4, t + (uint64_t)k, k == 0 ? many : NULL,
                              k == 0 ? SC_ATTR_COUNT(many) : 0);
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

/* An 8-slot queue whose 6 pending spans wrap: 3 at the end of the ring, 3 at its start. */
static int setup_wrapped(trace_fx *fx, sc_span_batch *b)
{
    memset(fx, 0, sizeof *fx);
    sc_clock_fake_init(&fx->clk, T0);
    sc_rng_init_seeded(&fx->rng, 2024);
    sc_span_queue_opts o = {.capacity = 8};
    if (sc_span_queue_new(&fx->q, &o) != 0 || (fx->res = make_resource()) == NULL)
        return -1;
    if (push_spans(fx, 100, 5) != 0 || sc_span_queue_take(fx->q, 5) != 5 ||
        sc_span_queue_release(fx->q, 5, 1) != 5 || push_spans(fx, 0, 6) != 0)
        return -1;
    sc_span *first, *second;
    size_t n = sc_span_queue_peek(fx->q, 64, &first, &b->n_first, &second, &b->n_second);
    b->first = first;
    b->second = second;
    return n == 6 ? 0 : -1;
}

static void teardown(trace_fx *fx)
{
    sc_span_queue_free(fx->q);
    sc_resource_free(fx->res);
}

/* ---- protobuf-c side checks --------------------------------------------------------------------
 */

static void check_value(const sc_attr *a, const pbc_any *v)
{
    switch (a->type) {
    case SC_ATTR_STRING:
        REQUIRE(v->value_case == PBCE(COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE));
        CHECK_EQ(strlen(v->string_value), a->v.s.len);
        CHECK(memcmp(v->string_value, a->v.s.ptr, a->v.s.len) == 0);
        break;
    case SC_ATTR_INT:
        CHECK_EQ(v->value_case, PBCE(COMMON__V1__ANY_VALUE__VALUE_INT_VALUE));
        CHECK_EQ(v->int_value, a->v.i);
        break;
    case SC_ATTR_DOUBLE:
        CHECK_EQ(v->value_case, PBCE(COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE));
        CHECK(v->double_value == a->v.d);
        break;
    case SC_ATTR_BOOL:
        CHECK_EQ(v->value_case, PBCE(COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE));
        CHECK_EQ(v->bool_value, a->v.b);
        break;
    case SC_ATTR_STRING_ARRAY:
        REQUIRE(v->value_case == PBCE(COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE));
        REQUIRE(v->array_value->n_values == a->v.arr.n);
        for (size_t k = 0; k < a->v.arr.n; k++) {
            const pbc_any *item = v->array_value->values[k];
            REQUIRE(item->value_case == PBCE(COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE));
            CHECK_EQ(strlen(item->string_value), a->v.arr.items[k].len);
            CHECK(memcmp(item->string_value, a->v.arr.items[k].ptr, a->v.arr.items[k].len) == 0);
        }
        break;
    }
}

static void check_kv(const sc_attr *a, const pbc_kv *kv)
{
    CHECK_STR(kv->key, a->key);
    REQUIRE(kv->value != NULL);
    check_value(a, kv->value);
}

static void check_stored_attrs(const sc_span *sp, const sc_span_attr *v, size_t n,
                               pbc_kv *const *got, size_t n_got)
{
    REQUIRE(n_got == n);
    for (size_t i = 0; i < n; i++) {
        sc_attr a;
        sc_attr_str items[SC_SPAN_ARRAY_MAX];
        sc_span_attr_get(sp, &v[i], &a, items);
        check_kv(&a, got[i]);
    }
}

static void check_attrs(const sc_attr *v, size_t n, pbc_kv *const *got, size_t n_got)
{
    REQUIRE(n_got == n);
    for (size_t i = 0; i < n; i++)
        check_kv(&v[i], got[i]);
}

static void check_slice(const char *got, sc_attr_str want)
{
    REQUIRE(got != NULL);
    CHECK_EQ(strlen(got), want.len);
    CHECK(memcmp(got, want.ptr, want.len) == 0);
}

static void check_span(const sc_span *w, const pbc_span *g)
{
    REQUIRE(g->trace_id.len == 16 && g->span_id.len == 8);
    CHECK(memcmp(g->trace_id.data, w->trace_id, 16) == 0);
    CHECK(memcmp(g->span_id.data, w->span_id, 8) == 0);
    CHECK_EQ(g->parent_span_id.len, w->has_parent ? 8 : 0);
    if (w->has_parent && g->parent_span_id.len == 8)
        CHECK(memcmp(g->parent_span_id.data, w->parent_span_id, 8) == 0);
    check_slice(g->trace_state, sc_span_str(w, w->trace_state));
    check_slice(g->name, sc_span_str(w, w->name));
    CHECK_EQ(g->kind, w->kind);
    CHECK(g->start_time_unix_nano == w->start_ns && g->end_time_unix_nano == w->end_ns);
    CHECK_EQ(g->flags, 0);
    check_stored_attrs(w, w->attrs, w->n_attrs, g->attributes, g->n_attributes);
    CHECK_EQ(g->dropped_attributes_count, w->dropped_attributes_count);
    CHECK_EQ(g->dropped_events_count, w->dropped_events_count);
    CHECK_EQ(g->dropped_links_count, w->dropped_links_count);
    REQUIRE(g->n_events == w->n_events && g->n_links == w->n_links);
    for (size_t i = 0; i < w->n_events; i++) {
        const sc_span_event *ev = &w->events[i];
        CHECK(g->events[i]->time_unix_nano == ev->time_ns);
        check_slice(g->events[i]->name, sc_span_str(w, ev->name));
        check_stored_attrs(w, &w->event_attrs[ev->first_attr], ev->n_attrs,
                           g->events[i]->attributes, g->events[i]->n_attributes);
        CHECK_EQ(g->events[i]->dropped_attributes_count, ev->dropped_attributes_count);
    }
    for (size_t i = 0; i < w->n_links; i++) {
        const sc_span_link *l = &w->links[i];
        REQUIRE(g->links[i]->trace_id.len == 16 && g->links[i]->span_id.len == 8);
        CHECK(memcmp(g->links[i]->trace_id.data, l->trace_id, 16) == 0);
        CHECK(memcmp(g->links[i]->span_id.data, l->span_id, 8) == 0);
        check_slice(g->links[i]->trace_state, sc_span_str(w, l->trace_state));
        CHECK_EQ(g->links[i]->n_attributes, 0);
        CHECK_EQ(g->links[i]->flags, 0);
    }
    if (w->status == SC_SPAN_STATUS_UNSET) {
        CHECK(g->status == NULL);
    } else {
        REQUIRE(g->status != NULL);
        CHECK_EQ(g->status->code, w->status);
        check_slice(g->status->message, w->status == SC_SPAN_STATUS_ERROR
                                            ? sc_span_str(w, w->status_message)
                                            : (sc_attr_str){"", 0});
    }
}

/* Checks the single resource/scope envelope and returns the scope's span list. */
static const Opentelemetry__Proto__Trace__V1__ScopeSpans *trace_scope(const pbc_trace_req *req,
                                                                      const sc_resource *res)
{
    if (req->n_resource_spans != 1 || req->resource_spans[0]->resource == NULL ||
        req->resource_spans[0]->n_scope_spans != 1)
        return NULL;
    const sc_attr *ra;
    size_t rn = sc_resource_attrs(res, &ra);
    const Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = req->resource_spans[0];
    check_attrs(ra, rn, rs->resource->attributes, rs->resource->n_attributes);
    CHECK_STR(rs->schema_url, "");
    const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = rs->scope_spans[0];
    if (ss->scope == NULL)
        return NULL;
    CHECK_STR(ss->scope->name, "comet-sidecar");
    CHECK_STR(ss->scope->version, SC_VERSION);
    return ss;
}

/* 1 if a message reached through `path` (field numbers of nested messages) holds field `bad`,
 * 0 if none does, -1 if the bytes are malformed. Proves absence on the wire, not just a zero. */
static int has_field(pb_istream_t *s, const uint32_t *path, size_t depth, uint32_t bad)
{
    pb_wire_type_t wt;
    uint32_t tag;
    bool eof = false;
    while (pb_decode_tag(s, &wt, &tag, &eof)) {
        if (depth == 0 && tag == bad)
            return 1;
        if (depth > 0 && tag == path[0] && wt == PB_WT_STRING) {
            pb_istream_t sub;
            if (!pb_make_string_substream(s, &sub))
                return -1;
            int r = has_field(&sub, path + 1, depth - 1, bad);
            if (r != 0 || !pb_close_string_substream(s, &sub))
                return r != 0 ? r : -1;
        } else if (!pb_skip_field(s, wt)) {
            return -1;
        }
    }
    return eof ? 0 : -1;
}

static int wire_has(const sc_buf *b, const uint32_t *path, size_t depth, uint32_t bad)
{
    pb_istream_t s = pb_istream_from_buffer((const pb_byte_t *)b->data, b->len);
    return has_field(&s, path, depth, bad);
}

/* ---- trace tests ----------------------------------------------------------------------------- */

static void traces_roundtrip_from_a_wrapped_queue(void)
{
    trace_fx fx;
    sc_span_batch b;
    REQUIRE(setup_wrapped(&fx, &b) == 0);
    CHECK(b.n_first == 3 && b.n_second == 3); /* both runs are used */
    sc_buf out;
    sc_buf_init(&out, 1 << 20);
    sc_buf_append_str(&out, "prefix"); /* encode appends */
    REQUIRE(sc_otlp_proto_encode_traces(fx.res, &b, &out) == 0);
    REQUIRE(out.len > 6 && memcmp(out.data, "prefix", 6) == 0);
    pbc_trace_req *req = TRACE_UNPACK(out.len - 6, (const uint8_t *)out.data + 6);
    REQUIRE(req != NULL);
    const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = trace_scope(req, fx.res);
    CHECK(ss != NULL && ss->n_spans == 6);
    for (size_t i = 0; ss != NULL && i < ss->n_spans && i < 6; i++)
        check_span(i < 3 ? &b.first[i] : &b.second[i - 3], ss->spans[i]);

    /* Independent of the span module's reader: literal expectations for span 0 and 1. */
    if (ss != NULL && ss->n_spans == 6) {
        const pbc_span *s0 = ss->spans[0], *s1 = ss->spans[1], *s2 = ss->spans[2];
        CHECK_STR(s0->name, "span-0");
        CHECK_STR(s0->trace_state, "comet=1,vendor=abc");
        CHECK_EQ(s0->kind, 3);
        CHECK_EQ(s0->n_attributes, 13);
        CHECK_EQ(strlen(s0->attributes[11]->value->string_value), 200);
        CHECK_EQ(s0->attributes[12]->value->array_value->n_values, 3);
        CHECK_STR(s0->attributes[7]->key, "comet.models");
        CHECK_EQ(s0->attributes[7]->value->array_value->n_values, 3);
        CHECK_STR(s0->attributes[7]->value->array_value->values[1]->string_value, "");
        CHECK_STR(s0->attributes[8]->key, "comet.none");
        CHECK_EQ(s0->attributes[8]->value->value_case,
                 PBCE(COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE));
        CHECK_EQ(s0->attributes[9]->value->value_case,
                 PBCE(COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE)); /* "" keeps its type */
        CHECK_EQ(s0->attributes[2]->value->int_value, -1);
        CHECK_EQ(s0->attributes[6]->value->value_case,
                 PBCE(COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE)); /* false is still sent */
        CHECK_STR(s0->status->message, "upstream timed out");
        CHECK_EQ(s0->status->code, 2);
        CHECK_EQ(s0->n_events, 2);
        CHECK_STR(s0->events[0]->name, "first_chunk");
        CHECK_STR(s0->links[0]->trace_state, "other=1");
        CHECK(s1->parent_span_id.len == 8 &&
              memcmp(s1->parent_span_id.data, s0->span_id.data, 8) == 0);
        CHECK(memcmp(s1->trace_id.data, s0->trace_id.data, 16) == 0);
        CHECK_STR(s1->status->message, ""); /* OK carries no message */
        CHECK_EQ(s2->dropped_attributes_count, 3);
        CHECK_EQ(s2->dropped_events_count, 1);
        CHECK_EQ(s2->dropped_links_count, 2);
        CHECK_EQ(s2->events[0]->dropped_attributes_count, 2);
        CHECK(s2->status == NULL);
    }
    TRACE_FREE(req);

    /* Span.flags (16) and Link.flags (6) are absent from the wire, though the spans have
     * trace_flags and parent_is_remote set. */
    sc_buf_reset(&out);
    REQUIRE(sc_otlp_proto_encode_traces(fx.res, &b, &out) == 0);
    static const uint32_t to_span[] = {1, 2, 2, 13};
    CHECK_EQ(wire_has(&out, to_span, 3, 16), 0);
    CHECK_EQ(wire_has(&out, to_span, 4, 6), 0);
    CHECK_EQ(wire_has(&out, to_span, 3, 4), 1); /* the walker does see fields: parent_span_id */
    sc_buf_free(&out);
    teardown(&fx);
}

static void reused_buffer_gives_identical_bytes_without_growing(void)
{
    trace_fx fx;
    sc_span_batch b;
    REQUIRE(setup_wrapped(&fx, &b) == 0);
    sc_buf a, c;
    sc_buf_init(&a, 1 << 20);
    sc_buf_init(&c, 1 << 20);
    REQUIRE(sc_otlp_proto_encode_traces(fx.res, &b, &a) == 0); /* grows: piecewise appends */
    sc_buf_reset(&a);
    char *data = a.data;
    size_t cap = a.cap;
    REQUIRE(sc_otlp_proto_encode_traces(fx.res, &b, &a) == 0); /* steady state: in place */
    CHECK(a.data == data && a.cap == cap);
    REQUIRE(sc_otlp_proto_encode_traces(fx.res, &b, &c) == 0);
    CHECK(a.len == c.len && memcmp(a.data, c.data, a.len) == 0);
    CHECK_EQ(a.data[a.len], '\0');
    sc_buf_free(&a);
    sc_buf_free(&c);
    teardown(&fx);
}

static void empty_batch_and_bad_arguments(void)
{
    sc_resource *res = make_resource();
    REQUIRE(res != NULL);
    sc_buf out;
    sc_buf_init(&out, 4096);
    sc_span_batch empty = {0};
    REQUIRE(sc_otlp_proto_encode_traces(res, &empty, &out) == 0);
    pbc_trace_req *req = TRACE_UNPACK(out.len, (const uint8_t *)out.data);
    REQUIRE(req != NULL);
    const Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = trace_scope(req, res);
    CHECK(ss != NULL && ss->n_spans == 0);
    TRACE_FREE(req);
    sc_span_batch bad = {.first = NULL, .n_first = 2};
    CHECK_EQ(sc_otlp_proto_encode_traces(res, &bad, &out), -EINVAL);
    CHECK_EQ(sc_otlp_proto_encode_traces(NULL, &empty, &out), -EINVAL);
    sc_buf_free(&out);
    sc_resource_free(res);
}

static void small_buffer_is_enobufs_and_left_unchanged(void)
{
    trace_fx fx;
    sc_span_batch b;
    REQUIRE(setup_wrapped(&fx, &b) == 0);
    sc_buf full;
    sc_buf_init(&full, 1 << 20);
    REQUIRE(sc_otlp_proto_encode_traces(fx.res, &b, &full) == 0);
    /* Exactly the size fits; one byte less does not, and nothing is written. */
    sc_buf out;
    sc_buf_init(&out, full.len + 3);
    sc_buf_append_str(&out, "abc");
    REQUIRE(sc_otlp_proto_encode_traces(fx.res, &b, &out) == 0);
    CHECK(out.len == full.len + 3 && memcmp(out.data + 3, full.data, full.len) == 0);
    sc_buf_free(&out);
    sc_buf_init(&out, full.len + 2);
    sc_buf_append_str(&out, "abc");
    CHECK_EQ(sc_otlp_proto_encode_traces(fx.res, &b, &out), -ENOBUFS);
    CHECK(out.len == 3 && strcmp(out.data, "abc") == 0);
    sc_buf_free(&out);
    sc_buf_init(&out, 64);
    CHECK_EQ(sc_otlp_proto_encode_traces(fx.res, &b, &out), -ENOBUFS);
    CHECK_EQ(out.len, 0);
    sc_buf_free(&out);
    sc_buf_free(&full);
    teardown(&fx);
}

/* ---- metrics --------------------------------------------------------------------------------- */

static const double BOUNDS[] = {0.1, 0.5, 1.0, 2.5};
static const sc_metric_def COUNTER = {"comet.requests",       "{request}", "Requests sent",
                                      SC_METRIC_KIND_COUNTER, NULL,        0};
static const sc_metric_def UPDOWN = {
    "comet.queue.size", "{span}", "", SC_METRIC_KIND_UPDOWN_COUNTER, NULL, 0};
static const sc_metric_def GAUGE = {"comet.ratio",        "1",  "Share of 2xx",
                                    SC_METRIC_KIND_GAUGE, NULL, 0};
static const sc_metric_def HIST = {"comet.duration",         "s",    "Latency",
                                   SC_METRIC_KIND_HISTOGRAM, BOUNDS, 4};

typedef struct metrics_fx {
    sc_clock_fake clk;
    sc_metrics *m;
    sc_instrument *counter, *updown, *gauge, *hist;
} metrics_fx;

/* Records into all four kinds; the counter passes its cardinality limit of 3 (2 series plus the
 * overflow series). */
static int setup_metrics(metrics_fx *fx, sc_temporality t)
{
    memset(fx, 0, sizeof *fx);
    sc_clock_fake_init(&fx->clk, T0);
    sc_metrics_opts o = {.clock = &fx->clk.base, .temporality = t, .cardinality_limit = 3};
    if (sc_metrics_new(&fx->m, &o) != 0 || sc_metrics_instrument(fx->m, &COUNTER, &fx->counter) ||
        sc_metrics_instrument(fx->m, &UPDOWN, &fx->updown) ||
        sc_metrics_instrument(fx->m, &GAUGE, &fx->gauge) ||
        sc_metrics_instrument(fx->m, &HIST, &fx->hist))
        return -1;
    sc_clock_fake_advance(&fx->clk, SEC);
    static const char *const routes[] = {"/a", "/b", "/c", "/d"};
    for (int i = 0; i < 4; i++) {
        sc_attr a[] = {SC_ATTR_STR("http.route", routes[i]), SC_ATTR_INT("code", 200)};
        if (sc_metrics_add(fx->counter, i + 1, a, 2) != 0)
            return -1;
    }
    sc_attr q[] = {SC_ATTR_STR("queue", "spans")};
    sc_attr none[] = {SC_ATTR_BOOL("x", 0)};
    if (sc_metrics_observe(fx->updown, -7, q, 1) || sc_metrics_set(fx->gauge, 0.875, NULL, 0) ||
        sc_metrics_record(fx->hist, 0.05, none, 1) || sc_metrics_record(fx->hist, 0.7, none, 1) ||
        sc_metrics_record(fx->hist, 9.0, none, 1))
        return -1;
    sc_clock_fake_advance(&fx->clk, 60 * SEC);
    return 0;
}

static void check_number_point(const sc_metric_data *md, const sc_metric_point *w, const pbc_num *g)
{
    check_attrs(w->attrs, w->n_attrs, g->attributes, g->n_attributes);
    CHECK(g->time_unix_nano == w->time_ns);
    CHECK_EQ(g->flags, 0);
    if (md->kind == SC_METRIC_KIND_GAUGE) {
        CHECK(g->start_time_unix_nano == 0);
        CHECK_EQ(g->value_case, PBCE(METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE));
        CHECK(g->as_double == w->as_double);
    } else {
        CHECK(g->start_time_unix_nano == w->start_ns && w->start_ns != 0);
        CHECK_EQ(g->value_case, PBCE(METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT));
        CHECK_EQ(g->as_int, w->as_int);
    }
}

static void check_hist_point(const sc_metric_data *md, const sc_metric_point *w, const pbc_hist *g)
{
    check_attrs(w->attrs, w->n_attrs, g->attributes, g->n_attributes);
    CHECK(g->start_time_unix_nano == w->start_ns && g->time_unix_nano == w->time_ns);
    CHECK(g->count == w->count);
    CHECK(g->_sum_case == PBCE(METRICS__V1__HISTOGRAM_DATA_POINT___SUM_SUM) && g->sum == w->sum);
    int has = w->count > 0;
    CHECK_EQ(g->_min_case == PBCE(METRICS__V1__HISTOGRAM_DATA_POINT___MIN_MIN), has);
    CHECK_EQ(g->_max_case == PBCE(METRICS__V1__HISTOGRAM_DATA_POINT___MAX_MAX), has);
    CHECK(!has || (g->min == w->min && g->max == w->max));
    REQUIRE(g->n_explicit_bounds == md->n_bounds && g->n_bucket_counts == md->n_bounds + 1);
    for (size_t k = 0; k < md->n_bounds; k++)
        CHECK(g->explicit_bounds[k] == md->bounds[k]);
    for (size_t k = 0; k <= md->n_bounds; k++)
        CHECK(g->bucket_counts[k] == w->bucket_counts[k]);
}

static void check_metric(const sc_metric_data *w, const pbc_metric *g)
{
    CHECK_STR(g->name, w->name);
    CHECK_STR(g->description, w->description ? w->description : "");
    CHECK_STR(g->unit, w->unit ? w->unit : "");
    CHECK_EQ(g->n_metadata, 0);
    switch (w->kind) {
    case SC_METRIC_KIND_COUNTER:
    case SC_METRIC_KIND_UPDOWN_COUNTER:
        REQUIRE(g->data_case == PBCE(METRICS__V1__METRIC__DATA_SUM));
        CHECK_EQ(g->sum->is_monotonic, w->kind == SC_METRIC_KIND_COUNTER);
        CHECK_EQ(g->sum->aggregation_temporality,
                 w->kind == SC_METRIC_KIND_COUNTER ? w->temporality : SC_TEMPORALITY_CUMULATIVE);
        REQUIRE(g->sum->n_data_points == w->n_points);
        for (size_t i = 0; i < w->n_points; i++)
            check_number_point(w, &w->points[i], g->sum->data_points[i]);
        break;
    case SC_METRIC_KIND_GAUGE:
        REQUIRE(g->data_case == PBCE(METRICS__V1__METRIC__DATA_GAUGE));
        REQUIRE(g->gauge->n_data_points == w->n_points);
        for (size_t i = 0; i < w->n_points; i++)
            check_number_point(w, &w->points[i], g->gauge->data_points[i]);
        break;
    case SC_METRIC_KIND_HISTOGRAM:
        REQUIRE(g->data_case == PBCE(METRICS__V1__METRIC__DATA_HISTOGRAM));
        CHECK_EQ(g->histogram->aggregation_temporality, w->temporality);
        REQUIRE(g->histogram->n_data_points == w->n_points);
        for (size_t i = 0; i < w->n_points; i++)
            check_hist_point(w, &w->points[i], g->histogram->data_points[i]);
        break;
    }
}

/* Encodes snap, decodes it with protobuf-c and compares everything; returns the request (the
 * caller frees it) for literal checks. */
static pbc_metrics_req *roundtrip_metrics(const sc_resource *res, const sc_metrics_snapshot *snap,
                                          sc_buf *out)
{
    sc_buf_reset(out);
    if (sc_otlp_proto_encode_metrics(res, snap, out) != 0)
        return NULL;
    static const uint32_t to_metric[] = {1, 2, 2};
    CHECK_EQ(wire_has(out, to_metric, 3, 12), 0); /* Metric.metadata absent */
    pbc_metrics_req *req = METRICS_UNPACK(out->len, (const uint8_t *)out->data);
    if (req == NULL || req->n_resource_metrics != 1 ||
        req->resource_metrics[0]->n_scope_metrics != 1)
        return req;
    const Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm = req->resource_metrics[0];
    const sc_attr *ra;
    size_t rn = sc_resource_attrs(res, &ra);
    CHECK(rm->resource != NULL);
    if (rm->resource != NULL)
        check_attrs(ra, rn, rm->resource->attributes, rm->resource->n_attributes);
    const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm = rm->scope_metrics[0];
    CHECK(sm->scope != NULL && strcmp(sm->scope->name, "comet-sidecar") == 0 &&
          strcmp(sm->scope->version, SC_VERSION) == 0);
    size_t k = 0;
    for (size_t i = 0; i < snap->n_metrics; i++)
        if (snap->metrics[i].n_points > 0 && k < sm->n_metrics)
            check_metric(&snap->metrics[i], sm->metrics[k++]);
    CHECK_EQ(k, sm->n_metrics);
    return req;
}

static const pbc_metric *metric_named(const pbc_metrics_req *req, const char *name)
{
    const Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm =
        req->resource_metrics[0]->scope_metrics[0];
    for (size_t i = 0; i < sm->n_metrics; i++)
        if (strcmp(sm->metrics[i]->name, name) == 0)
            return sm->metrics[i];
    return NULL;
}

static void metrics_roundtrip_cumulative_with_overflow(void)
{
    metrics_fx fx;
    REQUIRE(setup_metrics(&fx, SC_TEMPORALITY_CUMULATIVE) == 0);
    sc_resource *res = make_resource();
    REQUIRE(res != NULL);
    const sc_metrics_snapshot *snap;
    REQUIRE(sc_metrics_collect(fx.m, &snap) == 0);
    sc_buf out;
    sc_buf_init(&out, 1 << 20);
    pbc_metrics_req *req = roundtrip_metrics(res, snap, &out);
    REQUIRE(req != NULL);
    const pbc_metric *c = metric_named(req, "comet.requests");
    REQUIRE(c != NULL && c->data_case == PBCE(METRICS__V1__METRIC__DATA_SUM));
    CHECK_EQ(c->sum->aggregation_temporality, 2);
    CHECK(c->sum->is_monotonic);
    CHECK_EQ(c->sum->n_data_points, 3);
    int overflow = 0;
    for (size_t i = 0; i < c->sum->n_data_points; i++) {
        const pbc_num *p = c->sum->data_points[i];
        if (p->n_attributes == 1 && strcmp(p->attributes[0]->key, "otel.metric.overflow") == 0) {
            overflow++;
            CHECK(p->attributes[0]->value->bool_value);
            CHECK_EQ(p->as_int, 3 + 4); /* the two series past the limit, totals preserved */
        }
    }
    CHECK_EQ(overflow, 1);
    const pbc_metric *u = metric_named(req, "comet.queue.size");
    REQUIRE(u != NULL && u->data_case == PBCE(METRICS__V1__METRIC__DATA_SUM));
    CHECK(!u->sum->is_monotonic);
    CHECK_EQ(u->sum->data_points[0]->as_int, -7);
    CHECK_STR(u->description, ""); /* empty: not sent */
    const pbc_metric *h = metric_named(req, "comet.duration");
    REQUIRE(h != NULL && h->data_case == PBCE(METRICS__V1__METRIC__DATA_HISTOGRAM));
    const pbc_hist *hp = h->histogram->data_points[0];
    CHECK(hp->count == 3 && hp->sum == 0.05 + 0.7 + 9.0 && hp->min == 0.05 && hp->max == 9.0);
    CHECK(hp->n_bucket_counts == 5 && hp->bucket_counts[0] == 1 && hp->bucket_counts[2] == 1 &&
          hp->bucket_counts[4] == 1);
    const pbc_metric *g = metric_named(req, "comet.ratio");
    REQUIRE(g != NULL && g->data_case == PBCE(METRICS__V1__METRIC__DATA_GAUGE));
    CHECK(g->gauge->data_points[0]->as_double == 0.875);
    CHECK_EQ(g->gauge->data_points[0]->n_attributes, 0);
    METRICS_FREE(req);
    sc_metrics_snapshot_release(fx.m);
    sc_buf_free(&out);
    sc_resource_free(res);
    sc_metrics_free(fx.m);
}

static void metrics_roundtrip_delta(void)
{
    metrics_fx fx;
    REQUIRE(setup_metrics(&fx, SC_TEMPORALITY_DELTA) == 0);
    sc_resource *res = make_resource();
    REQUIRE(res != NULL);
    const sc_metrics_snapshot *snap;
    REQUIRE(sc_metrics_collect(fx.m, &snap) == 0);
    sc_buf out;
    sc_buf_init(&out, 1 << 20);
    pbc_metrics_req *req = roundtrip_metrics(res, snap, &out);
    REQUIRE(req != NULL);
    const pbc_metric *c = metric_named(req, "comet.requests");
    const pbc_metric *u = metric_named(req, "comet.queue.size");
    const pbc_metric *h = metric_named(req, "comet.duration");
    REQUIRE(c != NULL && u != NULL && h != NULL);
    CHECK_EQ(c->sum->aggregation_temporality, 1);
    CHECK_EQ(u->sum->aggregation_temporality, 2); /* up-down counters stay cumulative */
    CHECK_EQ(h->histogram->aggregation_temporality, 1);
    METRICS_FREE(req);
    sc_metrics_snapshot_release(fx.m);

    /* Second interval: only the counter moved; the rest is not reported. */
    sc_attr a[] = {SC_ATTR_STR("http.route", "/a"), SC_ATTR_INT("code", 200)};
    REQUIRE(sc_metrics_add(fx.counter, 5, a, 2) == 0);
    sc_clock_fake_advance(&fx.clk, 60 * SEC);
    REQUIRE(sc_metrics_collect(fx.m, &snap) == 0);
    req = roundtrip_metrics(res, snap, &out);
    REQUIRE(req != NULL);
    c = metric_named(req, "comet.requests");
    REQUIRE(c != NULL && c->sum->n_data_points == 1);
    CHECK_EQ(c->sum->data_points[0]->as_int, 5);
    CHECK(c->sum->data_points[0]->start_time_unix_nano == T0 + 61 * SEC);
    CHECK(metric_named(req, "comet.duration") == NULL);
    METRICS_FREE(req);
    sc_metrics_snapshot_release(fx.m);
    sc_buf_free(&out);
    sc_resource_free(res);
    sc_metrics_free(fx.m);
}

static void histogram_without_measurements_has_no_min_max(void)
{
    /* Not producible through the SDK today; a snapshot is plain data, so build one. */
    static const uint64_t zeros[5] = {0};
    sc_metric_point p = {.start_ns = T0, .time_ns = T0 + SEC, .bucket_counts = zeros, .max = 7};
    sc_metric_data md = {.name = "h",
                         .kind = SC_METRIC_KIND_HISTOGRAM,
                         .temporality = SC_TEMPORALITY_CUMULATIVE,
                         .bounds = BOUNDS,
                         .n_bounds = 4,
                         .points = &p,
                         .n_points = 1};
    sc_metrics_snapshot snap = {.metrics = &md, .n_metrics = 1, .n_points = 1};
    sc_resource *res = make_resource();
    REQUIRE(res != NULL);
    sc_buf out;
    sc_buf_init(&out, 4096);
    pbc_metrics_req *req = roundtrip_metrics(res, &snap, &out);
    REQUIRE(req != NULL);
    const pbc_metric *h = metric_named(req, "h");
    REQUIRE(h != NULL);
    const pbc_hist *hp = h->histogram->data_points[0];
    CHECK(hp->_min_case == 0 && hp->_max_case == 0);
    CHECK_EQ(hp->_sum_case, PBCE(METRICS__V1__HISTOGRAM_DATA_POINT___SUM_SUM));
    METRICS_FREE(req);
    sc_buf_free(&out);
    sc_resource_free(res);
}

static void empty_snapshot_is_enodata_and_errors(void)
{
    metrics_fx fx;
    memset(&fx, 0, sizeof fx);
    sc_clock_fake_init(&fx.clk, T0);
    sc_metrics_opts o = {.clock = &fx.clk.base};
    REQUIRE(sc_metrics_new(&fx.m, &o) == 0);
    REQUIRE(sc_metrics_instrument(fx.m, &COUNTER, &fx.counter) == 0);
    sc_resource *res = make_resource();
    REQUIRE(res != NULL);
    const sc_metrics_snapshot *snap;
    REQUIRE(sc_metrics_collect(fx.m, &snap) == 0);
    sc_buf out;
    sc_buf_init(&out, 4096);
    CHECK_EQ(sc_otlp_proto_encode_metrics(res, snap, &out), -ENODATA);
    CHECK_EQ(out.len, 0);
    sc_metrics_snapshot_release(fx.m);

    sc_metric_data md = {.name = "m", .kind = SC_METRIC_KIND_COUNTER, .n_points = 0};
    sc_metrics_snapshot no_points = {.metrics = &md, .n_metrics = 1};
    CHECK_EQ(sc_otlp_proto_encode_metrics(res, &no_points, &out), -ENODATA);
    sc_metric_point p = {.time_ns = T0};
    sc_metric_data bad = {.name = "m", .kind = (sc_metric_kind)9, .points = &p, .n_points = 1};
    sc_metrics_snapshot bad_kind = {.metrics = &bad, .n_metrics = 1, .n_points = 1};
    CHECK_EQ(sc_otlp_proto_encode_metrics(res, &bad_kind, &out), -EINVAL);
    CHECK_EQ(out.len, 0);

    REQUIRE(sc_metrics_add(fx.counter, 1, NULL, 0) == 0);
    REQUIRE(sc_metrics_collect(fx.m, &snap) == 0);
    sc_buf tiny;
    sc_buf_init(&tiny, 16);
    CHECK_EQ(sc_otlp_proto_encode_metrics(res, snap, &tiny), -ENOBUFS);
    CHECK_EQ(tiny.len, 0);
    sc_metrics_snapshot_release(fx.m);
    sc_buf_free(&tiny);
    sc_buf_free(&out);
    sc_resource_free(res);
    sc_metrics_free(fx.m);
}

/* ---- responses ------------------------------------------------------------------------------- */

static size_t pack_trace_response(int64_t rejected, const char *msg, uint8_t *buf)
{
    Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess ps =
        PBCE(COLLECTOR__TRACE__V1__EXPORT_TRACE_PARTIAL_SUCCESS__INIT);
    ps.rejected_spans = rejected;
    ps.error_message = (char *)msg;
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse r =
        PBCE(COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_RESPONSE__INIT);
    r.partial_success = &ps;
    return opentelemetry__proto__collector__trace__v1__export_trace_service_response__pack(&r, buf);
}

static void responses_decode(void)
{
    uint8_t buf[512];
    int64_t rejected = -1;
    char msg[64] = "junk";
    CHECK_EQ(sc_otlp_proto_decode_trace_response(NULL, 0, &rejected, msg, sizeof msg), 0);
    CHECK(rejected == 0 && msg[0] == '\0');

    size_t n = pack_trace_response(3, "3 spans rejected: end before start", buf);
    CHECK_EQ(sc_otlp_proto_decode_trace_response(buf, n, &rejected, msg, sizeof msg), 0);
    CHECK_EQ(rejected, 3);
    CHECK_STR(msg, "3 spans rejected: end before start");
    CHECK_EQ(sc_otlp_proto_decode_trace_response(buf, n, &rejected, NULL, 0), 0);
    CHECK_EQ(rejected, 3);

    /* Cut to fit, never inside a UTF-8 sequence: "ab" + "é" needs 4 bytes + NUL. */
    n = pack_trace_response(1, "ab\xc3\xa9xyz", buf);
    char small[4];
    CHECK_EQ(sc_otlp_proto_decode_trace_response(buf, n, &rejected, small, sizeof small), 0);
    CHECK_STR(small, "ab");

    /* A partial_success with only a warning message: rejected 0. */
    n = pack_trace_response(0, "slow down", buf);
    CHECK_EQ(sc_otlp_proto_decode_trace_response(buf, n, &rejected, msg, sizeof msg), 0);
    CHECK(rejected == 0 && strcmp(msg, "slow down") == 0);

    static const uint8_t truncated[] = {0x0a, 0x05, 0x08, 0x02};
    static const uint8_t bad_wire[] = {0x0f, 0x01};
    static const char html[] = "<html><body>502 Bad Gateway</body></html>";
    CHECK_EQ(sc_otlp_proto_decode_trace_response(truncated, sizeof truncated, &rejected, msg,
                                                 sizeof msg),
             -EBADMSG);
    CHECK(rejected == 0 && msg[0] == '\0');
    CHECK_EQ(
        sc_otlp_proto_decode_trace_response(bad_wire, sizeof bad_wire, &rejected, msg, sizeof msg),
        -EBADMSG);
    CHECK_EQ(sc_otlp_proto_decode_trace_response(html, strlen(html), &rejected, msg, sizeof msg),
             -EBADMSG);

    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsPartialSuccess mps =
        PBCE(COLLECTOR__METRICS__V1__EXPORT_METRICS_PARTIAL_SUCCESS__INIT);
    mps.rejected_data_points = 5;
    mps.error_message = "5 points: unknown temporality";
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceResponse mr =
        PBCE(COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_RESPONSE__INIT);
    mr.partial_success = &mps;
    n = opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__pack(&mr,
                                                                                            buf);
    CHECK_EQ(sc_otlp_proto_decode_metrics_response(buf, n, &rejected, msg, sizeof msg), 0);
    CHECK_EQ(rejected, 5);
    CHECK_STR(msg, "5 points: unknown temporality");
    CHECK_EQ(sc_otlp_proto_decode_metrics_response("", 0, &rejected, msg, sizeof msg), 0);
    CHECK_EQ(rejected, 0);
    CHECK_EQ(sc_otlp_proto_decode_metrics_response(truncated, sizeof truncated, &rejected, msg,
                                                   sizeof msg),
             -EBADMSG);
}

int main(void)
{
    RUN(traces_roundtrip_from_a_wrapped_queue);
    RUN(reused_buffer_gives_identical_bytes_without_growing);
    RUN(empty_batch_and_bad_arguments);
    RUN(small_buffer_is_enobufs_and_left_unchanged);
    RUN(metrics_roundtrip_cumulative_with_overflow);
    RUN(metrics_roundtrip_delta);
    RUN(histogram_without_measurements_has_no_min_max);
    RUN(empty_snapshot_is_enodata_and_errors);
    RUN(responses_decode);
    return sc_test_summary();
}
