/* test_proto_roundtrip.c - owns: the cross-check of the OTLP .proto subset. Requests are encoded
 * with nanopb (callbacks reading test-owned storage, as the sidecar's exporter does) and decoded
 * with protobuf-c, an independent implementation; responses go the other way. Agreement field by
 * field shows that the encoding path and the field numbers are right.
 * With SC_TEST_PROTO_DUMP=<dir> set, the encoded requests are also written to <dir>/trace.bin and
 * <dir>/metrics.bin, for `protoc --decode_raw` or a collector. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pb_decode.h>
#include <pb_encode.h>

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

#include "harness.h"

/* Short spellings of generated names. NPB(x): nanopb macros; PBCE(x): protobuf-c constants. */
#define NPB(x)  opentelemetry_proto_##x
#define PBCE(x) OPENTELEMETRY__PROTO__##x

typedef opentelemetry_proto_common_v1_AnyValue npb_any;
typedef opentelemetry_proto_common_v1_KeyValue npb_kv;
typedef opentelemetry_proto_trace_v1_Span npb_span;
typedef opentelemetry_proto_trace_v1_Span_Event npb_event;
typedef opentelemetry_proto_trace_v1_Span_Link npb_link;
typedef opentelemetry_proto_trace_v1_ScopeSpans npb_scope_spans;
typedef opentelemetry_proto_trace_v1_ResourceSpans npb_resource_spans;
typedef opentelemetry_proto_metrics_v1_Metric npb_metric;
typedef opentelemetry_proto_metrics_v1_NumberDataPoint npb_num_point;
typedef opentelemetry_proto_metrics_v1_HistogramDataPoint npb_hist_point;
typedef opentelemetry_proto_metrics_v1_ScopeMetrics npb_scope_metrics;
typedef opentelemetry_proto_metrics_v1_ResourceMetrics npb_resource_metrics;
typedef opentelemetry_proto_collector_trace_v1_ExportTraceServiceRequest npb_trace_req;
typedef opentelemetry_proto_collector_trace_v1_ExportTraceServiceResponse npb_trace_resp;
typedef opentelemetry_proto_collector_metrics_v1_ExportMetricsServiceRequest npb_metrics_req;
typedef opentelemetry_proto_collector_metrics_v1_ExportMetricsServiceResponse npb_metrics_resp;

typedef Opentelemetry__Proto__Common__V1__KeyValue pbc_kv;
typedef Opentelemetry__Proto__Common__V1__AnyValue pbc_any;
typedef Opentelemetry__Proto__Trace__V1__Span pbc_span;
typedef Opentelemetry__Proto__Trace__V1__Span__Link pbc_link;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans pbc_resource_spans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans pbc_scope_spans;
typedef Opentelemetry__Proto__Metrics__V1__Metric pbc_metric;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint pbc_num_point;
typedef Opentelemetry__Proto__Metrics__V1__HistogramDataPoint pbc_hist_point;
typedef Opentelemetry__Proto__Metrics__V1__ResourceMetrics pbc_resource_metrics;
typedef Opentelemetry__Proto__Metrics__V1__ScopeMetrics pbc_scope_metrics;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest pbc_trace_req;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse pbc_trace_resp;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess pbc_trace_partial;
typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest pbc_metrics_req;
typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceResponse pbc_metrics_resp;
typedef Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsPartialSuccess
    pbc_metrics_partial;

/* ---- test-owned storage, shaped like the sidecar's own records ---- */

typedef enum { V_STR, V_INT, V_DBL, V_BOOL, V_STRS } vkind;
typedef struct {
    const char *key;
    vkind kind;
    const char *s;
    int64_t i;
    double d;
    bool b;
    const char *const *strs; /* V_STRS: an array_value of strings */
    size_t n_strs;
} attr;
typedef struct {
    const attr *v;
    size_t n;
} attrs;
/* clang-format off */
#define ATTRS(a)     ((attrs){(a), sizeof(a) / sizeof((a)[0])})
#define A_STR(k, v)  {.key = (k), .kind = V_STR, .s = (v)}
#define A_INT(k, v)  {.key = (k), .kind = V_INT, .i = (v)}
#define A_DBL(k, v)  {.key = (k), .kind = V_DBL, .d = (v)}
#define A_BOOL(k, v) {.key = (k), .kind = V_BOOL, .b = (v)}
/* clang-format on */

typedef struct {
    uint64_t t;
    const char *name;
    attrs attrs;
} ev_fix;
typedef struct {
    const uint8_t *trace_id, *span_id;
    const char *trace_state;
    attrs attrs;
    uint32_t flags;
} link_fix;
typedef struct {
    const uint8_t *trace_id, *span_id, *parent; /* 16, 8 and 8 bytes; parent NULL for a root */
    const char *trace_state, *name;
    int kind, status_code;
    const char *status_msg;
    uint64_t start, end;
    attrs attrs;
    uint32_t dropped_attrs, flags;
    const ev_fix *events;
    size_t n_events;
    const link_fix *links;
    size_t n_links;
} span_fix;
typedef struct {
    attrs resource, scope_attrs;
    const char *scope_name, *scope_version, *schema_url;
    const span_fix *spans;
    size_t n_spans;
} trace_fix;

typedef struct {
    attrs attrs;
    uint64_t start, t;
    bool is_int;
    int64_t i;
    double d;
} num_pt;
typedef struct {
    attrs attrs;
    uint64_t start, t, count;
    bool has_sum, has_min, has_max;
    double sum, min, max;
    const double *bounds;
    size_t n_bounds;
    const uint64_t *buckets;
    size_t n_buckets;
} hist_pt;
typedef struct {
    const char *name, *desc, *unit;
    pb_size_t which; /* NPB(metrics_v1_Metric_{gauge,sum,histogram}_tag) */
    int temporality;
    bool monotonic;
    const num_pt *num;
    const hist_pt *hist;
    size_t n_pts;
} metric_fix;
typedef struct {
    attrs resource;
    const char *scope_name, *scope_version;
    const metric_fix *metrics;
    size_t n_metrics;
} metrics_fix;

/* ---- nanopb encode callbacks: each walks one level of the storage above ---- */

typedef bool (*enc_fn)(pb_ostream_t *s, const pb_field_t *f, void *const *arg);

static void set_cb(pb_callback_t *cb, enc_fn fn, const void *arg)
{
    cb->funcs.encode = fn;
    cb->arg = (void *)arg;
}

/* One element of a repeated (or a singular) submessage field. */
static bool enc_sub(pb_ostream_t *s, const pb_field_t *f, const pb_msgdesc_t *d, const void *m)
{
    return pb_encode_tag_for_field(s, f) && pb_encode_submessage(s, d, m);
}

static bool enc_str(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const char *str = *arg;
    return pb_encode_tag_for_field(s, f) &&
           pb_encode_string(s, (const pb_byte_t *)str, strlen(str));
}

static bool enc_str_array(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const attr *a = *arg;
    for (size_t i = 0; i < a->n_strs; i++) {
        npb_any v = NPB(common_v1_AnyValue_init_zero);
        v.which_value = NPB(common_v1_AnyValue_string_value_tag);
        set_cb(&v.value.string_value, enc_str, a->strs[i]);
        if (!enc_sub(s, f, NPB(common_v1_AnyValue_fields), &v))
            return false;
    }
    return true;
}

static bool enc_attrs(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const attrs *l = *arg;
    for (size_t i = 0; i < l->n; i++) {
        const attr *a = &l->v[i];
        npb_kv kv = NPB(common_v1_KeyValue_init_zero);
        set_cb(&kv.key, enc_str, a->key);
        kv.has_value = true;
        switch (a->kind) {
        case V_STR:
            kv.value.which_value = NPB(common_v1_AnyValue_string_value_tag);
            set_cb(&kv.value.value.string_value, enc_str, a->s);
            break;
        case V_INT:
            kv.value.which_value = NPB(common_v1_AnyValue_int_value_tag);
            kv.value.value.int_value = a->i;
            break;
        case V_DBL:
            kv.value.which_value = NPB(common_v1_AnyValue_double_value_tag);
            kv.value.value.double_value = a->d;
            break;
        case V_BOOL:
            kv.value.which_value = NPB(common_v1_AnyValue_bool_value_tag);
            kv.value.value.bool_value = a->b;
            break;
        case V_STRS:
            kv.value.which_value = NPB(common_v1_AnyValue_array_value_tag);
            set_cb(&kv.value.value.array_value.values, enc_str_array, a);
            break;
        }
        if (!enc_sub(s, f, NPB(common_v1_KeyValue_fields), &kv))
            return false;
    }
    return true;
}

static bool enc_events(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const span_fix *sp = *arg;
    for (size_t i = 0; i < sp->n_events; i++) {
        npb_event e = NPB(trace_v1_Span_Event_init_zero);
        e.time_unix_nano = sp->events[i].t;
        set_cb(&e.name, enc_str, sp->events[i].name);
        set_cb(&e.attributes, enc_attrs, &sp->events[i].attrs);
        if (!enc_sub(s, f, NPB(trace_v1_Span_Event_fields), &e))
            return false;
    }
    return true;
}

static bool enc_links(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const span_fix *sp = *arg;
    for (size_t i = 0; i < sp->n_links; i++) {
        const link_fix *lf = &sp->links[i];
        npb_link l = NPB(trace_v1_Span_Link_init_zero);
        memcpy(l.trace_id, lf->trace_id, 16);
        memcpy(l.span_id, lf->span_id, 8);
        set_cb(&l.trace_state, enc_str, lf->trace_state);
        set_cb(&l.attributes, enc_attrs, &lf->attrs);
        l.flags = lf->flags;
        if (!enc_sub(s, f, NPB(trace_v1_Span_Link_fields), &l))
            return false;
    }
    return true;
}

static bool enc_spans(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const trace_fix *tf = *arg;
    for (size_t i = 0; i < tf->n_spans; i++) {
        const span_fix *sp = &tf->spans[i];
        npb_span m = NPB(trace_v1_Span_init_zero);
        memcpy(m.trace_id, sp->trace_id, 16);
        memcpy(m.span_id, sp->span_id, 8);
        if (sp->parent != NULL) {
            m.parent_span_id.size = 8;
            memcpy(m.parent_span_id.bytes, sp->parent, 8);
        }
        set_cb(&m.trace_state, enc_str, sp->trace_state);
        set_cb(&m.name, enc_str, sp->name);
        m.kind = (NPB(trace_v1_Span_SpanKind))sp->kind;
        m.start_time_unix_nano = sp->start;
        m.end_time_unix_nano = sp->end;
        set_cb(&m.attributes, enc_attrs, &sp->attrs);
        m.dropped_attributes_count = sp->dropped_attrs;
        set_cb(&m.events, enc_events, sp);
        set_cb(&m.links, enc_links, sp);
        m.has_status = true;
        m.status.code = (NPB(trace_v1_Status_StatusCode))sp->status_code;
        set_cb(&m.status.message, enc_str, sp->status_msg);
        m.flags = sp->flags;
        if (!enc_sub(s, f, NPB(trace_v1_Span_fields), &m))
            return false;
    }
    return true;
}

static bool enc_scope_spans(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const trace_fix *tf = *arg;
    npb_scope_spans ss = NPB(trace_v1_ScopeSpans_init_zero);
    ss.has_scope = true;
    set_cb(&ss.scope.name, enc_str, tf->scope_name);
    set_cb(&ss.scope.version, enc_str, tf->scope_version);
    set_cb(&ss.scope.attributes, enc_attrs, &tf->scope_attrs);
    set_cb(&ss.spans, enc_spans, tf);
    return enc_sub(s, f, NPB(trace_v1_ScopeSpans_fields), &ss);
}

static bool enc_resource_spans(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const trace_fix *tf = *arg;
    npb_resource_spans rs = NPB(trace_v1_ResourceSpans_init_zero);
    rs.has_resource = true;
    set_cb(&rs.resource.attributes, enc_attrs, &tf->resource);
    set_cb(&rs.scope_spans, enc_scope_spans, tf);
    set_cb(&rs.schema_url, enc_str, tf->schema_url);
    return enc_sub(s, f, NPB(trace_v1_ResourceSpans_fields), &rs);
}

/* Packed repeated fixed64/double: one length-delimited field of 8-byte little-endian values. */
static bool enc_packed64(pb_ostream_t *s, const pb_field_t *f, const void *vals, size_t n)
{
    if (!pb_encode_tag(s, PB_WT_STRING, f->tag) || !pb_encode_varint(s, (uint64_t)n * 8))
        return false;
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        memcpy(&v, (const char *)vals + i * 8, 8);
        if (!pb_encode_fixed64(s, &v))
            return false;
    }
    return true;
}

static bool enc_buckets(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const hist_pt *p = *arg;
    return enc_packed64(s, f, p->buckets, p->n_buckets);
}

static bool enc_bounds(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const hist_pt *p = *arg;
    return enc_packed64(s, f, p->bounds, p->n_bounds);
}

static bool enc_num_points(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const metric_fix *mf = *arg;
    for (size_t i = 0; i < mf->n_pts; i++) {
        const num_pt *p = &mf->num[i];
        npb_num_point dp = NPB(metrics_v1_NumberDataPoint_init_zero);
        set_cb(&dp.attributes, enc_attrs, &p->attrs);
        dp.start_time_unix_nano = p->start;
        dp.time_unix_nano = p->t;
        if (p->is_int) {
            dp.which_value = NPB(metrics_v1_NumberDataPoint_as_int_tag);
            dp.value.as_int = p->i;
        } else {
            dp.which_value = NPB(metrics_v1_NumberDataPoint_as_double_tag);
            dp.value.as_double = p->d;
        }
        if (!enc_sub(s, f, NPB(metrics_v1_NumberDataPoint_fields), &dp))
            return false;
    }
    return true;
}

static bool enc_hist_points(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const metric_fix *mf = *arg;
    for (size_t i = 0; i < mf->n_pts; i++) {
        const hist_pt *p = &mf->hist[i];
        npb_hist_point dp = NPB(metrics_v1_HistogramDataPoint_init_zero);
        set_cb(&dp.attributes, enc_attrs, &p->attrs);
        dp.start_time_unix_nano = p->start;
        dp.time_unix_nano = p->t;
        dp.count = p->count;
        dp.has_sum = p->has_sum;
        dp.sum = p->sum;
        dp.has_min = p->has_min;
        dp.min = p->min;
        dp.has_max = p->has_max;
        dp.max = p->max;
        set_cb(&dp.bucket_counts, enc_buckets, p);
        set_cb(&dp.explicit_bounds, enc_bounds, p);
        if (!enc_sub(s, f, NPB(metrics_v1_HistogramDataPoint_fields), &dp))
            return false;
    }
    return true;
}

static bool enc_metrics(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const metrics_fix *xf = *arg;
    for (size_t i = 0; i < xf->n_metrics; i++) {
        const metric_fix *mf = &xf->metrics[i];
        npb_metric m = NPB(metrics_v1_Metric_init_zero);
        set_cb(&m.name, enc_str, mf->name);
        set_cb(&m.description, enc_str, mf->desc);
        set_cb(&m.unit, enc_str, mf->unit);
        m.which_data = mf->which;
        if (mf->which == NPB(metrics_v1_Metric_gauge_tag)) {
            set_cb(&m.data.gauge.data_points, enc_num_points, mf);
        } else if (mf->which == NPB(metrics_v1_Metric_sum_tag)) {
            m.data.sum.aggregation_temporality = mf->temporality;
            m.data.sum.is_monotonic = mf->monotonic;
            set_cb(&m.data.sum.data_points, enc_num_points, mf);
        } else {
            m.data.histogram.aggregation_temporality = mf->temporality;
            set_cb(&m.data.histogram.data_points, enc_hist_points, mf);
        }
        if (!enc_sub(s, f, NPB(metrics_v1_Metric_fields), &m))
            return false;
    }
    return true;
}

static bool enc_scope_metrics(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const metrics_fix *xf = *arg;
    npb_scope_metrics sm = NPB(metrics_v1_ScopeMetrics_init_zero);
    sm.has_scope = true;
    set_cb(&sm.scope.name, enc_str, xf->scope_name);
    set_cb(&sm.scope.version, enc_str, xf->scope_version);
    set_cb(&sm.metrics, enc_metrics, xf);
    return enc_sub(s, f, NPB(metrics_v1_ScopeMetrics_fields), &sm);
}

static bool enc_resource_metrics(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const metrics_fix *xf = *arg;
    npb_resource_metrics rm = NPB(metrics_v1_ResourceMetrics_init_zero);
    rm.has_resource = true;
    set_cb(&rm.resource.attributes, enc_attrs, &xf->resource);
    set_cb(&rm.scope_metrics, enc_scope_metrics, xf);
    return enc_sub(s, f, NPB(metrics_v1_ResourceMetrics_fields), &rm);
}

/* Size pass, one allocation, encode pass: what the exporter does. Caller frees. */
static uint8_t *encode(const pb_msgdesc_t *fields, const void *msg, size_t *len, const char *dump)
{
    size_t n = 0;
    if (!pb_get_encoded_size(&n, fields, msg))
        return NULL;
    uint8_t *buf = malloc(n ? n : 1);
    if (buf == NULL)
        return NULL;
    pb_ostream_t os = pb_ostream_from_buffer(buf, n);
    if (!pb_encode(&os, fields, msg) || os.bytes_written != n) {
        free(buf);
        return NULL;
    }
    const char *dir = getenv("SC_TEST_PROTO_DUMP");
    char path[512];
    FILE *fp = NULL;
    if (dir != NULL && snprintf(path, sizeof path, "%s/%s", dir, dump) < (int)sizeof path &&
        (fp = fopen(path, "wb")) != NULL) {
        CHECK_EQ(fwrite(buf, 1, n, fp), n);
        fclose(fp);
    }
    *len = n;
    return buf;
}

/* ---- protobuf-c side checks ---- */

static void check_bytes(ProtobufCBinaryData got, const uint8_t *want, size_t n)
{
    CHECK_EQ(got.len, n);
    CHECK(got.len == n && memcmp(got.data, want, n) == 0);
}

static void check_value(const attr *a, const pbc_any *v)
{
    switch (a->kind) {
    case V_STR:
        CHECK_EQ(v->value_case, PBCE(COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE));
        CHECK_STR(v->string_value, a->s);
        break;
    case V_INT:
        CHECK_EQ(v->value_case, PBCE(COMMON__V1__ANY_VALUE__VALUE_INT_VALUE));
        CHECK_EQ(v->int_value, a->i);
        break;
    case V_DBL:
        CHECK_EQ(v->value_case, PBCE(COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE));
        CHECK(v->double_value == a->d);
        break;
    case V_BOOL:
        CHECK_EQ(v->value_case, PBCE(COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE));
        CHECK_EQ(v->bool_value, a->b);
        break;
    case V_STRS:
        REQUIRE(v->value_case == PBCE(COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE));
        REQUIRE(v->array_value->n_values == a->n_strs);
        for (size_t k = 0; k < a->n_strs; k++)
            CHECK_STR(v->array_value->values[k]->string_value, a->strs[k]);
        break;
    }
}

static void check_attrs(const attrs *want, pbc_kv *const *got, size_t n_got)
{
    REQUIRE(n_got == want->n);
    for (size_t i = 0; i < want->n; i++) {
        CHECK_STR(got[i]->key, want->v[i].key);
        if (got[i]->value == NULL)
            CHECK(got[i]->value != NULL);
        else
            check_value(&want->v[i], got[i]->value);
    }
}

static void check_span(const span_fix *want, const pbc_span *got)
{
    check_bytes(got->trace_id, want->trace_id, 16);
    check_bytes(got->span_id, want->span_id, 8);
    if (want->parent != NULL)
        check_bytes(got->parent_span_id, want->parent, 8);
    else
        CHECK_EQ(got->parent_span_id.len, 0);
    CHECK_STR(got->trace_state, want->trace_state);
    CHECK_STR(got->name, want->name);
    CHECK_EQ(got->kind, want->kind);
    CHECK(got->start_time_unix_nano == want->start && got->end_time_unix_nano == want->end);
    CHECK_EQ(got->flags, want->flags);
    CHECK_EQ(got->dropped_attributes_count, want->dropped_attrs);
    check_attrs(&want->attrs, got->attributes, got->n_attributes);
    REQUIRE(got->n_events == want->n_events && got->n_links == want->n_links);
    for (size_t i = 0; i < want->n_events; i++) {
        CHECK(got->events[i]->time_unix_nano == want->events[i].t);
        CHECK_STR(got->events[i]->name, want->events[i].name);
        check_attrs(&want->events[i].attrs, got->events[i]->attributes,
                    got->events[i]->n_attributes);
    }
    for (size_t i = 0; i < want->n_links; i++) {
        const pbc_link *l = got->links[i];
        check_bytes(l->trace_id, want->links[i].trace_id, 16);
        check_bytes(l->span_id, want->links[i].span_id, 8);
        CHECK_STR(l->trace_state, want->links[i].trace_state);
        CHECK_EQ(l->flags, want->links[i].flags);
        check_attrs(&want->links[i].attrs, l->attributes, l->n_attributes);
    }
    REQUIRE(got->status != NULL);
    CHECK_EQ(got->status->code, want->status_code);
    CHECK_STR(got->status->message, want->status_msg);
}

/* ---- fixtures and tests ---- */

static const attr RES_ATTRS[] = {A_STR("service.name", "comet-sidecar"),
                                 A_STR("k8s.pod.name", "checkout-7d9f-abcde"),
                                 A_INT("process.pid", 4242)};
static const char *const MODELS[] = {"gpt-4o-mini", "claude-3-5-haiku"};
static const uint8_t TRACE_A[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                    0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
static const uint8_t TRACE_B[16] = {0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xbb};
static const uint8_t SPAN_1[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
static const uint8_t SPAN_2[8] = {1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t SPAN_L[8] = {9, 8, 7, 6, 5, 4, 3, 2};
#define T0 1700000000000000000ull

static void trace_request_roundtrips_nanopb_to_protobuf_c(void)
{
    static const attr scope_attrs[] = {A_STR("sidecar.mode", "canary")};
    static const attr a1[] = {
        A_STR("http.request.method", "POST"),
        A_INT("http.response.status_code", 200),
        A_DBL("gen_ai.request.temperature", 0.25),
        A_BOOL("comet.canary", true),
        {.key = "comet.models", .kind = V_STRS, .strs = MODELS, .n_strs = 2},
        A_INT("comet.signed", -1), /* negative int64: 10-byte varint */
    };
    static const attr a2[] = {A_STR("error.type", "timeout"), A_BOOL("comet.retry", false),
                              A_DBL("comet.ratio", -1.5e-3)};
    static const attr ev_attrs[] = {A_DBL("gen_ai.response.ttft_ms", 183.5)};
    static const attr link_attrs[] = {A_STR("link.kind", "app-request")};
    static const ev_fix ev[] = {{T0 + 100000000, "first_token", ATTRS(ev_attrs)}};
    static const link_fix ln[] = {{TRACE_B, SPAN_L, "vendor=abc", ATTRS(link_attrs), 0x301}};
    /* span 1: root CLIENT span, OK, with an event and a link; span 2: its child, ERROR. */
    /* clang-format off */
    static const span_fix spans[] = {
        {.trace_id = TRACE_A, .span_id = SPAN_1, .trace_state = "comet=1",
         .name = "chat gpt-4o-mini", .kind = 3, .status_code = 1, .status_msg = "",
         .start = T0, .end = T0 + 950000000, .attrs = ATTRS(a1), .flags = 0x101,
         .events = ev, .n_events = 1, .links = ln, .n_links = 1},
        {.trace_id = TRACE_A, .span_id = SPAN_2, .parent = SPAN_1, .trace_state = "",
         .name = "read stream", .kind = 1, .status_code = 2,
         .status_msg = "upstream timed out", .start = T0 + 200000000, .end = T0 + 900000000,
         .attrs = ATTRS(a2), .dropped_attrs = 3, .flags = 0x01},
    };
    const trace_fix tf = {ATTRS(RES_ATTRS), ATTRS(scope_attrs), "comet-sidecar", "0.1.0",
                          "https://opentelemetry.io/schemas/1.26.0", spans, 2};
    /* clang-format on */

    npb_trace_req req = NPB(collector_trace_v1_ExportTraceServiceRequest_init_zero);
    set_cb(&req.resource_spans, enc_resource_spans, &tf);
    size_t len = 0;
    uint8_t *buf =
        encode(NPB(collector_trace_v1_ExportTraceServiceRequest_fields), &req, &len, "trace.bin");
    REQUIRE(buf != NULL);
    pbc_trace_req *got =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(NULL, len,
                                                                                         buf);
    free(buf);
    REQUIRE(got != NULL);
    const pbc_resource_spans *rs = got->n_resource_spans == 1 ? got->resource_spans[0] : NULL;
    const pbc_scope_spans *ss = rs && rs->n_scope_spans == 1 ? rs->scope_spans[0] : NULL;
    CHECK(rs != NULL && rs->resource != NULL && ss != NULL && ss->scope != NULL);
    if (rs != NULL && rs->resource != NULL && ss != NULL && ss->scope != NULL) {
        CHECK_STR(rs->schema_url, tf.schema_url);
        check_attrs(&tf.resource, rs->resource->attributes, rs->resource->n_attributes);
        CHECK_STR(ss->scope->name, "comet-sidecar");
        CHECK_STR(ss->scope->version, "0.1.0");
        check_attrs(&tf.scope_attrs, ss->scope->attributes, ss->scope->n_attributes);
        CHECK_EQ(ss->n_spans, 2);
        for (size_t i = 0; i < 2 && i < ss->n_spans; i++)
            check_span(&spans[i], ss->spans[i]);
    }
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(got,
                                                                                            NULL);
}

static void check_hist_point(const hist_pt *w, const pbc_hist_point *g)
{
    check_attrs(&w->attrs, g->attributes, g->n_attributes);
    CHECK(g->start_time_unix_nano == w->start && g->time_unix_nano == w->t);
    CHECK(g->count == w->count);
    /* proto3 `optional`: presence must survive, not just the value. */
    CHECK_EQ(g->_sum_case == PBCE(METRICS__V1__HISTOGRAM_DATA_POINT___SUM_SUM), w->has_sum);
    CHECK_EQ(g->_min_case == PBCE(METRICS__V1__HISTOGRAM_DATA_POINT___MIN_MIN), w->has_min);
    CHECK_EQ(g->_max_case == PBCE(METRICS__V1__HISTOGRAM_DATA_POINT___MAX_MAX), w->has_max);
    CHECK(!w->has_sum || g->sum == w->sum);
    CHECK(!w->has_min || g->min == w->min);
    CHECK(!w->has_max || g->max == w->max);
    REQUIRE(g->n_explicit_bounds == w->n_bounds && g->n_bucket_counts == w->n_buckets);
    for (size_t k = 0; k < w->n_bounds; k++)
        CHECK(g->explicit_bounds[k] == w->bounds[k]);
    for (size_t k = 0; k < w->n_buckets; k++)
        CHECK(g->bucket_counts[k] == w->buckets[k]);
}

static void check_num_points(const metric_fix *w, pbc_num_point *const *g, size_t n)
{
    REQUIRE(n == w->n_pts);
    for (size_t i = 0; i < n; i++) {
        const num_pt *p = &w->num[i];
        check_attrs(&p->attrs, g[i]->attributes, g[i]->n_attributes);
        CHECK(g[i]->start_time_unix_nano == p->start && g[i]->time_unix_nano == p->t);
        if (p->is_int) {
            CHECK_EQ(g[i]->value_case, PBCE(METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT));
            CHECK_EQ(g[i]->as_int, p->i);
        } else {
            CHECK_EQ(g[i]->value_case, PBCE(METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE));
            CHECK(g[i]->as_double == p->d);
        }
    }
}

static void check_metric(const metric_fix *w, const pbc_metric *g)
{
    CHECK_STR(g->name, w->name);
    CHECK_STR(g->description, w->desc);
    CHECK_STR(g->unit, w->unit);
    CHECK_EQ(g->data_case, w->which); /* both are the field number of the oneof member */
    if (g->data_case == PBCE(METRICS__V1__METRIC__DATA_GAUGE)) {
        check_num_points(w, g->gauge->data_points, g->gauge->n_data_points);
    } else if (g->data_case == PBCE(METRICS__V1__METRIC__DATA_SUM)) {
        CHECK_EQ(g->sum->aggregation_temporality, w->temporality);
        CHECK_EQ(g->sum->is_monotonic, w->monotonic);
        check_num_points(w, g->sum->data_points, g->sum->n_data_points);
    } else if (g->data_case == PBCE(METRICS__V1__METRIC__DATA_HISTOGRAM)) {
        CHECK_EQ(g->histogram->aggregation_temporality, w->temporality);
        REQUIRE(g->histogram->n_data_points == w->n_pts);
        for (size_t i = 0; i < w->n_pts; i++)
            check_hist_point(&w->hist[i], g->histogram->data_points[i]);
    }
}

static void metrics_request_roundtrips_nanopb_to_protobuf_c(void)
{
    static const attr ok[] = {A_STR("outcome", "ok")};
    static const attr err[] = {A_STR("outcome", "error"), A_INT("http.response.status_code", 503)};
    static const attr route[] = {A_STR("http.route", "/v1/chat/completions")};
    static const num_pt sum_pts[] = {{ATTRS(ok), T0, T0 + 60000000000, true, 41, 0},
                                     {ATTRS(err), T0, T0 + 60000000000, true, 2, 0}};
    static const num_pt gauge_pts[] = {{ATTRS(route), 0, T0 + 60000000000, false, 0, 0.875}};
    static const double bounds[] = {0.1, 0.5, 1.0, 2.5};
    static const uint64_t buckets[] = {1, 3, 0, 2, 1};
    /* clang-format off */
    static const hist_pt hist_pts[] = {
        {.attrs = ATTRS(ok), .start = T0, .t = T0 + 60000000000, .count = 7, .has_sum = true,
         .sum = 5.25, .has_min = true, .min = 0.05, .has_max = true, .max = 3.125,
         .bounds = bounds, .n_bounds = 4, .buckets = buckets, .n_buckets = 5},
        /* No sum/min/max. max is non-zero but not flagged: presence, not value, decides. */
        {.attrs = ATTRS(err), .start = T0, .t = T0 + 60000000000, .max = 9.0},
    };
    static const metric_fix metrics[] = {
        {"comet.canary.requests", "Canary requests sent", "{request}",
         NPB(metrics_v1_Metric_sum_tag), 2 /* CUMULATIVE */, true, sum_pts, NULL, 2},
        {"comet.accesslog.success_ratio", "Share of 2xx", "1", NPB(metrics_v1_Metric_gauge_tag),
         0, false, gauge_pts, NULL, 1},
        {"comet.canary.duration", "Canary latency", "s", NPB(metrics_v1_Metric_histogram_tag),
         2 /* CUMULATIVE */, false, NULL, hist_pts, 2},
    };
    /* clang-format on */
    const metrics_fix xf = {ATTRS(RES_ATTRS), "comet-sidecar", "0.1.0", metrics, 3};

    npb_metrics_req req = NPB(collector_metrics_v1_ExportMetricsServiceRequest_init_zero);
    set_cb(&req.resource_metrics, enc_resource_metrics, &xf);
    size_t len = 0;
    uint8_t *buf = encode(NPB(collector_metrics_v1_ExportMetricsServiceRequest_fields), &req, &len,
                          "metrics.bin");
    REQUIRE(buf != NULL);
    pbc_metrics_req *got =
        opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(
            NULL, len, buf);
    free(buf);
    REQUIRE(got != NULL);
    const pbc_resource_metrics *rm = got->n_resource_metrics == 1 ? got->resource_metrics[0] : NULL;
    const pbc_scope_metrics *sm = rm && rm->n_scope_metrics == 1 ? rm->scope_metrics[0] : NULL;
    CHECK(rm != NULL && rm->resource != NULL && sm != NULL && sm->scope != NULL);
    if (rm != NULL && rm->resource != NULL && sm != NULL && sm->scope != NULL) {
        check_attrs(&xf.resource, rm->resource->attributes, rm->resource->n_attributes);
        CHECK_STR(sm->scope->name, "comet-sidecar");
        CHECK_STR(sm->scope->version, "0.1.0");
        CHECK_EQ(sm->n_metrics, 3);
        for (size_t i = 0; i < 3 && i < sm->n_metrics; i++)
            check_metric(&metrics[i], sm->metrics[i]);
    }
    opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(
        got, NULL);
}

/* nanopb decode callback: copies a string into the char[128] passed as arg. */
static bool dec_str(pb_istream_t *s, const pb_field_t *f, void **arg)
{
    char *dst = *arg;
    size_t n = s->bytes_left;
    if (n >= 128 || !pb_read(s, (pb_byte_t *)dst, n))
        return false;
    dst[n] = '\0';
    return true;
}

static void trace_response_partial_success_decodes_with_nanopb(void)
{
    pbc_trace_partial ps = PBCE(COLLECTOR__TRACE__V1__EXPORT_TRACE_PARTIAL_SUCCESS__INIT);
    ps.rejected_spans = 2;
    ps.error_message = "2 spans rejected: end before start";
    pbc_trace_resp resp = PBCE(COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_RESPONSE__INIT);
    resp.partial_success = &ps;
    uint8_t buf[256];
    REQUIRE(
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__get_packed_size(
            &resp) <= sizeof buf);
    size_t n =
        opentelemetry__proto__collector__trace__v1__export_trace_service_response__pack(&resp, buf);

    char msg[128] = "";
    npb_trace_resp out = NPB(collector_trace_v1_ExportTraceServiceResponse_init_zero);
    out.partial_success.error_message.funcs.decode = dec_str;
    out.partial_success.error_message.arg = msg;
    pb_istream_t is = pb_istream_from_buffer(buf, n);
    REQUIRE(pb_decode(&is, NPB(collector_trace_v1_ExportTraceServiceResponse_fields), &out));
    CHECK(out.has_partial_success);
    CHECK_EQ(out.partial_success.rejected_spans, 2);
    CHECK_STR(msg, "2 spans rejected: end before start");

    /* Full success is an empty body: no partial_success at all. */
    npb_trace_resp empty = NPB(collector_trace_v1_ExportTraceServiceResponse_init_zero);
    is = pb_istream_from_buffer(buf, 0);
    REQUIRE(pb_decode(&is, NPB(collector_trace_v1_ExportTraceServiceResponse_fields), &empty));
    CHECK(!empty.has_partial_success);
}

static void metrics_response_partial_success_decodes_with_nanopb(void)
{
    pbc_metrics_partial ps = PBCE(COLLECTOR__METRICS__V1__EXPORT_METRICS_PARTIAL_SUCCESS__INIT);
    ps.rejected_data_points = 5;
    ps.error_message = "5 points: unknown temporality";
    pbc_metrics_resp resp = PBCE(COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_RESPONSE__INIT);
    resp.partial_success = &ps;
    uint8_t buf[256];
    REQUIRE(
        opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__get_packed_size(
            &resp) <= sizeof buf);
    size_t n = opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__pack(
        &resp, buf);

    char msg[128] = "";
    npb_metrics_resp out = NPB(collector_metrics_v1_ExportMetricsServiceResponse_init_zero);
    out.partial_success.error_message.funcs.decode = dec_str;
    out.partial_success.error_message.arg = msg;
    pb_istream_t is = pb_istream_from_buffer(buf, n);
    REQUIRE(pb_decode(&is, NPB(collector_metrics_v1_ExportMetricsServiceResponse_fields), &out));
    CHECK(out.has_partial_success);
    CHECK_EQ(out.partial_success.rejected_data_points, 5);
    CHECK_STR(msg, "5 points: unknown temporality");
}

int main(void)
{
    RUN(trace_request_roundtrips_nanopb_to_protobuf_c);
    RUN(metrics_request_roundtrips_nanopb_to_protobuf_c);
    RUN(trace_response_partial_success_decodes_with_nanopb);
    RUN(metrics_response_partial_success_decodes_with_nanopb);
    return sc_test_summary();
}
