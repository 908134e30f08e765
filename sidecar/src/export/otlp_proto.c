/* otlp_proto.c - owns: the nanopb callbacks that walk spans, attributes and metric snapshots in
 * place, the hand-written KeyValue encoding, writing into an sc_buf, and the response decoders.
 *
 * Every callback argument is a small struct on the stack of the callback one level up, so the
 * whole tree is described without allocation and can be walked again (nanopb sizes each
 * submessage before writing it, so a callback runs once per enclosing level). Callbacks must
 * therefore be pure. */
#include "export/otlp_proto.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <pb_decode.h>
#include <pb_encode.h>

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "version.h"

#define NPB(x) opentelemetry_proto_##x

typedef bool (*enc_fn)(pb_ostream_t *s, const pb_field_t *f, void *const *arg);

static void set_cb(pb_callback_t *cb, enc_fn fn, const void *arg)
{
    cb->funcs.encode = fn;
    cb->arg = (void *)arg;
}

static bool enc_sub(pb_ostream_t *s, const pb_field_t *f, const pb_msgdesc_t *d, const void *m)
{
    return pb_encode_tag_for_field(s, f) && pb_encode_submessage(s, d, m);
}

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* ---- strings and attributes ------------------------------------------------------------------ */

static bool enc_slice(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const sc_attr_str *str = *arg;
    return pb_encode_tag_for_field(s, f) &&
           pb_encode_string(s, (const pb_byte_t *)str->ptr, str->len);
}

static bool enc_cstr(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const char *c = *arg;
    return pb_encode_tag_for_field(s, f) && pb_encode_string(s, (const pb_byte_t *)c, strlen(c));
}

/* proto3 string fields: empty is the default and is not encoded (callback left unset). */
static void set_str(pb_callback_t *cb, const sc_attr_str *str)
{
    if (str->len > 0)
        set_cb(cb, enc_slice, str);
}

static void set_cstr(pb_callback_t *cb, const char *c)
{
    if (c != NULL && c[0] != '\0')
        set_cb(cb, enc_cstr, c);
}

/* ---- KeyValue, written by hand ----
 * Attributes are most of a request and the most deeply nested part of it. Through nanopb each
 * KeyValue/AnyValue would be walked once per enclosing level (every submessage is sized before
 * it is written) and its field descriptors iterated each time; computing their sizes with
 * arithmetic and writing them with nanopb's primitives makes them a single pass. The bytes are
 * the canonical encoding (fields in number order), the same nanopb would produce. */

#define KV_KEY       NPB(common_v1_KeyValue_key_tag)
#define KV_VALUE     NPB(common_v1_KeyValue_value_tag)
#define ANY_STRING   NPB(common_v1_AnyValue_string_value_tag)
#define ANY_BOOL     NPB(common_v1_AnyValue_bool_value_tag)
#define ANY_INT      NPB(common_v1_AnyValue_int_value_tag)
#define ANY_DOUBLE   NPB(common_v1_AnyValue_double_value_tag)
#define ANY_ARRAY    NPB(common_v1_AnyValue_array_value_tag)
#define ARRAY_VALUES NPB(common_v1_ArrayValue_values_tag)

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* A length-delimited field with a one-byte tag (every field number here is < 16). */
static size_t len_field_size(size_t len)
{
    return 1 + varint_size(len) + len;
}

static size_t any_string_size(size_t len)
{
    return len_field_size(len);
}

static size_t array_size(const sc_attr *a)
{
    size_t n = 0;
    for (size_t i = 0; i < a->v.arr.n; i++)
        n += len_field_size(any_string_size(a->v.arr.items[i].len));
    return n;
}

static size_t any_size(const sc_attr *a)
{
    switch (a->type) {
    case SC_ATTR_STRING:
        return any_string_size(a->v.s.len);
    case SC_ATTR_INT:
        return 1 + varint_size((uint64_t)a->v.i);
    case SC_ATTR_DOUBLE:
        return 1 + 8;
    case SC_ATTR_BOOL:
        return 1 + 1;
    case SC_ATTR_STRING_ARRAY:
        return len_field_size(array_size(a));
    }
    return 0;
}

static bool put_len(pb_ostream_t *s, uint32_t tag, size_t len)
{
    return pb_encode_tag(s, PB_WT_STRING, tag) && pb_encode_varint(s, len);
}

static bool put_str(pb_ostream_t *s, uint32_t tag, const char *p, size_t len)
{
    return put_len(s, tag, len) && pb_write(s, (const pb_byte_t *)p, len);
}

static bool put_any(pb_ostream_t *s, const sc_attr *a)
{
    switch (a->type) {
    case SC_ATTR_STRING:
        return put_str(s, ANY_STRING, a->v.s.ptr, a->v.s.len);
    case SC_ATTR_INT:
        return pb_encode_tag(s, PB_WT_VARINT, ANY_INT) && pb_encode_varint(s, (uint64_t)a->v.i);
    case SC_ATTR_DOUBLE:
        return pb_encode_tag(s, PB_WT_64BIT, ANY_DOUBLE) && pb_encode_fixed64(s, &a->v.d);
    case SC_ATTR_BOOL:
        return pb_encode_tag(s, PB_WT_VARINT, ANY_BOOL) && pb_encode_varint(s, a->v.b != 0);
    case SC_ATTR_STRING_ARRAY:
        if (!put_len(s, ANY_ARRAY, array_size(a)))
            return false;
        for (size_t i = 0; i < a->v.arr.n; i++) {
            const sc_attr_str *it = &a->v.arr.items[i];
            if (!put_len(s, ARRAY_VALUES, any_string_size(it->len)) ||
                !put_str(s, ANY_STRING, it->ptr, it->len))
                return false;
        }
        return true;
    }
    return true;
}

/* One KeyValue as an element of the repeated field f. A oneof member is written even when it
 * holds its default (an empty string, 0, false): presence is what carries the type. Sizing
 * streams only count, so they get the length without the walk. */
static bool enc_kv(pb_ostream_t *s, const pb_field_t *f, const sc_attr *a)
{
    if (a->type < SC_ATTR_STRING || a->type > SC_ATTR_STRING_ARRAY)
        return true; /* not an attribute the telemetry layer stores; nothing to say */
    size_t key_len = strlen(a->key), value = any_size(a);
    size_t kv = len_field_size(key_len) + len_field_size(value);
    if (!pb_encode_tag_for_field(s, f) || !pb_encode_varint(s, kv))
        return false;
    if (s->callback == NULL)
        return pb_write(s, NULL, kv);
    return put_str(s, KV_KEY, a->key, key_len) && put_len(s, KV_VALUE, value) && put_any(s, a);
}

typedef struct attr_list {
    const sc_attr *v;
    size_t n;
} attr_list;

static bool enc_attr_list(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const attr_list *l = *arg;
    for (size_t i = 0; i < l->n; i++)
        if (!enc_kv(s, f, &l->v[i]))
            return false;
    return true;
}

static void set_attrs(pb_callback_t *cb, const attr_list *l)
{
    if (l->n > 0)
        set_cb(cb, enc_attr_list, l);
}

/* Attributes stored in a span (span or event attributes), rebuilt one at a time. */
typedef struct span_attrs {
    const sc_span *span;
    const sc_span_attr *v;
    size_t n;
} span_attrs;

static bool enc_span_attrs(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const span_attrs *l = *arg;
    for (size_t i = 0; i < l->n; i++) {
        sc_attr a;
        sc_attr_str items[SC_SPAN_ARRAY_MAX];
        sc_span_attr_get(l->span, &l->v[i], &a, items);
        if (!enc_kv(s, f, &a))
            return false;
    }
    return true;
}

static void set_span_attrs(pb_callback_t *cb, const span_attrs *l)
{
    if (l->n > 0)
        set_cb(cb, enc_span_attrs, l);
}

static void set_scope(NPB(common_v1_InstrumentationScope) * scope)
{
    set_cstr(&scope->name, SC_OTLP_SCOPE_NAME);
    set_cstr(&scope->version, SC_VERSION);
}

/* ---- spans ----------------------------------------------------------------------------------- */

static bool enc_events(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const sc_span *sp = *arg;
    for (size_t i = 0; i < min_size(sp->n_events, SC_SPAN_MAX_EVENTS); i++) {
        const sc_span_event *ev = &sp->events[i];
        NPB(trace_v1_Span_Event) e = NPB(trace_v1_Span_Event_init_zero);
        sc_attr_str name = sc_span_str(sp, ev->name);
        size_t first = min_size(ev->first_attr, SC_SPAN_MAX_EVENT_ATTRS);
        span_attrs attrs = {sp, &sp->event_attrs[first],
                            min_size(ev->n_attrs, SC_SPAN_MAX_EVENT_ATTRS - first)};
        e.time_unix_nano = ev->time_ns;
        set_str(&e.name, &name);
        set_span_attrs(&e.attributes, &attrs);
        e.dropped_attributes_count = ev->dropped_attributes_count;
        if (!enc_sub(s, f, NPB(trace_v1_Span_Event_fields), &e))
            return false;
    }
    return true;
}

static bool enc_links(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const sc_span *sp = *arg;
    for (size_t i = 0; i < min_size(sp->n_links, SC_SPAN_MAX_LINKS); i++) {
        const sc_span_link *ln = &sp->links[i];
        NPB(trace_v1_Span_Link) l = NPB(trace_v1_Span_Link_init_zero);
        sc_attr_str ts = sc_span_str(sp, ln->trace_state);
        memcpy(l.trace_id, ln->trace_id, sizeof l.trace_id);
        memcpy(l.span_id, ln->span_id, sizeof l.span_id);
        set_str(&l.trace_state, &ts);
        /* l.flags stays 0: never encoded (see otlp_proto.h). */
        if (!enc_sub(s, f, NPB(trace_v1_Span_Link_fields), &l))
            return false;
    }
    return true;
}

static bool enc_span(pb_ostream_t *s, const pb_field_t *f, const sc_span *sp)
{
    NPB(trace_v1_Span) m = NPB(trace_v1_Span_init_zero);
    sc_attr_str name = sc_span_str(sp, sp->name);
    sc_attr_str ts = sc_span_str(sp, sp->trace_state);
    sc_attr_str msg = sc_span_str(sp, sp->status_message);
    span_attrs attrs = {sp, sp->attrs, min_size(sp->n_attrs, SC_SPAN_MAX_ATTRS)};

    memcpy(m.trace_id, sp->trace_id, sizeof m.trace_id);
    memcpy(m.span_id, sp->span_id, sizeof m.span_id);
    if (sp->has_parent) {
        m.parent_span_id.size = sizeof sp->parent_span_id;
        memcpy(m.parent_span_id.bytes, sp->parent_span_id, sizeof sp->parent_span_id);
    }
    set_str(&m.trace_state, &ts);
    set_str(&m.name, &name);
    m.kind = (NPB(trace_v1_Span_SpanKind))sp->kind;
    m.start_time_unix_nano = sp->start_ns;
    m.end_time_unix_nano = sp->end_ns;
    set_span_attrs(&m.attributes, &attrs);
    m.dropped_attributes_count = sp->dropped_attributes_count;
    if (sp->n_events > 0)
        set_cb(&m.events, enc_events, sp);
    m.dropped_events_count = sp->dropped_events_count;
    if (sp->n_links > 0)
        set_cb(&m.links, enc_links, sp);
    m.dropped_links_count = sp->dropped_links_count;
    if (sp->status != SC_SPAN_STATUS_UNSET) {
        m.has_status = true;
        m.status.code = (NPB(trace_v1_Status_StatusCode))sp->status;
        if (sp->status == SC_SPAN_STATUS_ERROR)
            set_str(&m.status.message, &msg);
    }
    /* m.flags stays 0: never encoded (see otlp_proto.h). */
    return enc_sub(s, f, NPB(trace_v1_Span_fields), &m);
}

static bool enc_spans(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const sc_span_batch *b = *arg;
    for (size_t i = 0; i < b->n_first; i++)
        if (!enc_span(s, f, &b->first[i]))
            return false;
    for (size_t i = 0; i < b->n_second; i++)
        if (!enc_span(s, f, &b->second[i]))
            return false;
    return true;
}

typedef struct trace_req {
    attr_list resource;
    const sc_span_batch *batch;
} trace_req;

static bool enc_scope_spans(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const trace_req *t = *arg;
    NPB(trace_v1_ScopeSpans) ss = NPB(trace_v1_ScopeSpans_init_zero);
    ss.has_scope = true;
    set_scope(&ss.scope);
    if (t->batch->n_first + t->batch->n_second > 0)
        set_cb(&ss.spans, enc_spans, t->batch);
    return enc_sub(s, f, NPB(trace_v1_ScopeSpans_fields), &ss);
}

static bool enc_resource_spans(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const trace_req *t = *arg;
    NPB(trace_v1_ResourceSpans) rs = NPB(trace_v1_ResourceSpans_init_zero);
    rs.has_resource = true;
    set_attrs(&rs.resource.attributes, &t->resource);
    set_cb(&rs.scope_spans, enc_scope_spans, t);
    return enc_sub(s, f, NPB(trace_v1_ResourceSpans_fields), &rs);
}

/* ---- metrics --------------------------------------------------------------------------------- */

/* A packed repeated fixed64/double field: 8-byte little-endian values behind one length. */
static bool enc_packed64(pb_ostream_t *s, const pb_field_t *f, const void *vals, size_t n)
{
    if (!pb_encode_tag(s, PB_WT_STRING, f->tag) || !pb_encode_varint(s, (uint64_t)n * 8))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!pb_encode_fixed64(s, (const char *)vals + i * 8))
            return false;
    return true;
}

typedef struct hist_arrays {
    const sc_metric_data *md;
    const sc_metric_point *p;
} hist_arrays;

static bool enc_bucket_counts(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const hist_arrays *h = *arg;
    return enc_packed64(s, f, h->p->bucket_counts, h->md->n_bounds + 1);
}

static bool enc_bounds(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const sc_metric_data *md = *arg;
    return enc_packed64(s, f, md->bounds, md->n_bounds);
}

static bool enc_number_points(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const sc_metric_data *md = *arg;
    for (size_t i = 0; i < md->n_points; i++) {
        const sc_metric_point *p = &md->points[i];
        NPB(metrics_v1_NumberDataPoint) dp = NPB(metrics_v1_NumberDataPoint_init_zero);
        attr_list attrs = {p->attrs, p->n_attrs};
        set_attrs(&dp.attributes, &attrs);
        dp.time_unix_nano = p->time_ns;
        if (md->kind == SC_METRIC_KIND_GAUGE) {
            dp.which_value = NPB(metrics_v1_NumberDataPoint_as_double_tag);
            dp.value.as_double = p->as_double;
        } else {
            dp.start_time_unix_nano = p->start_ns;
            dp.which_value = NPB(metrics_v1_NumberDataPoint_as_int_tag);
            dp.value.as_int = p->as_int;
        }
        if (!enc_sub(s, f, NPB(metrics_v1_NumberDataPoint_fields), &dp))
            return false;
    }
    return true;
}

static bool enc_histogram_points(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const sc_metric_data *md = *arg;
    for (size_t i = 0; i < md->n_points; i++) {
        const sc_metric_point *p = &md->points[i];
        NPB(metrics_v1_HistogramDataPoint) dp = NPB(metrics_v1_HistogramDataPoint_init_zero);
        attr_list attrs = {p->attrs, p->n_attrs};
        hist_arrays arrays = {md, p};
        set_attrs(&dp.attributes, &attrs);
        dp.start_time_unix_nano = p->start_ns;
        dp.time_unix_nano = p->time_ns;
        dp.count = p->count;
        dp.has_sum = true;
        dp.sum = p->sum;
        dp.has_min = dp.has_max = p->count > 0;
        dp.min = p->min;
        dp.max = p->max;
        if (p->bucket_counts != NULL)
            set_cb(&dp.bucket_counts, enc_bucket_counts, &arrays);
        if (md->n_bounds > 0 && md->bounds != NULL)
            set_cb(&dp.explicit_bounds, enc_bounds, md);
        if (!enc_sub(s, f, NPB(metrics_v1_HistogramDataPoint_fields), &dp))
            return false;
    }
    return true;
}

static NPB(metrics_v1_AggregationTemporality) temporality(sc_temporality t)
{
    return t == SC_TEMPORALITY_DELTA
               ? NPB(metrics_v1_AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA)
               : NPB(metrics_v1_AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE);
}

static bool enc_metric(pb_ostream_t *s, const pb_field_t *f, const sc_metric_data *md)
{
    NPB(metrics_v1_Metric) m = NPB(metrics_v1_Metric_init_zero);
    set_cstr(&m.name, md->name);
    set_cstr(&m.description, md->description);
    set_cstr(&m.unit, md->unit);
    switch (md->kind) {
    case SC_METRIC_KIND_COUNTER:
    case SC_METRIC_KIND_UPDOWN_COUNTER:
        m.which_data = NPB(metrics_v1_Metric_sum_tag);
        m.data.sum.is_monotonic = md->kind == SC_METRIC_KIND_COUNTER;
        m.data.sum.aggregation_temporality = md->kind == SC_METRIC_KIND_COUNTER
                                                 ? temporality(md->temporality)
                                                 : temporality(SC_TEMPORALITY_CUMULATIVE);
        set_cb(&m.data.sum.data_points, enc_number_points, md);
        break;
    case SC_METRIC_KIND_GAUGE:
        m.which_data = NPB(metrics_v1_Metric_gauge_tag);
        set_cb(&m.data.gauge.data_points, enc_number_points, md);
        break;
    case SC_METRIC_KIND_HISTOGRAM:
        m.which_data = NPB(metrics_v1_Metric_histogram_tag);
        m.data.histogram.aggregation_temporality = temporality(md->temporality);
        set_cb(&m.data.histogram.data_points, enc_histogram_points, md);
        break;
    }
    /* m.metadata stays unset: never encoded (see otlp_proto.h). */
    return enc_sub(s, f, NPB(metrics_v1_Metric_fields), &m);
}

static bool enc_metrics(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const sc_metrics_snapshot *snap = *arg;
    for (size_t i = 0; i < snap->n_metrics; i++)
        if (snap->metrics[i].n_points > 0 && !enc_metric(s, f, &snap->metrics[i]))
            return false;
    return true;
}

typedef struct metrics_req {
    attr_list resource;
    const sc_metrics_snapshot *snap;
} metrics_req;

static bool enc_scope_metrics(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const metrics_req *r = *arg;
    NPB(metrics_v1_ScopeMetrics) sm = NPB(metrics_v1_ScopeMetrics_init_zero);
    sm.has_scope = true;
    set_scope(&sm.scope);
    set_cb(&sm.metrics, enc_metrics, r->snap);
    return enc_sub(s, f, NPB(metrics_v1_ScopeMetrics_fields), &sm);
}

static bool enc_resource_metrics(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const metrics_req *r = *arg;
    NPB(metrics_v1_ResourceMetrics) rm = NPB(metrics_v1_ResourceMetrics_init_zero);
    rm.has_resource = true;
    set_attrs(&rm.resource.attributes, &r->resource);
    set_cb(&rm.scope_metrics, enc_scope_metrics, r);
    return enc_sub(s, f, NPB(metrics_v1_ResourceMetrics_fields), &rm);
}

/* ---- into the buffer ------------------------------------------------------------------------- */

typedef struct buf_writer {
    sc_buf *b;
    int rc;
} buf_writer;

static bool write_buf(pb_ostream_t *s, const pb_byte_t *p, size_t n)
{
    buf_writer *w = s->state;
    w->rc = sc_buf_append(w->b, p, n);
    return w->rc == 0;
}

/* Steady state (a reused buffer with room): one write pass straight into out's spare capacity,
 * bounded by the cap. Otherwise, or when that runs out of room: a size pass, the cap check, and a
 * write pass that appends piecewise, growing out. */
static int encode_into(sc_buf *out, const pb_msgdesc_t *fields, const void *msg)
{
    size_t mark = out->len;
    if (out->data != NULL && out->cap - out->len > 1) {
        size_t room = min_size(out->cap - out->len - 1, out->max - out->len); /* keep the NUL */
        pb_ostream_t os = pb_ostream_from_buffer((pb_byte_t *)out->data + mark, room);
        if (pb_encode(&os, fields, msg)) {
            out->len += os.bytes_written;
            out->data[out->len] = '\0';
            return 0;
        }
        out->data[mark] = '\0'; /* only bytes past len were written */
    }
    size_t n = 0;
    if (!pb_get_encoded_size(&n, fields, msg))
        return -EINVAL;
    if (n > out->max || mark > out->max - n)
        return -ENOBUFS;
    buf_writer w = {out, 0};
    pb_ostream_t os = {.callback = write_buf, .state = &w, .max_size = SIZE_MAX};
    if (pb_encode(&os, fields, msg) && os.bytes_written == n)
        return 0;
    /* Undo a partial append so out is unchanged, as sc_buf promises for its own failures. */
    if (out->data != NULL) {
        out->len = mark;
        out->data[mark] = '\0';
    }
    return w.rc != 0 ? w.rc : -EIO;
}

int sc_otlp_proto_encode_traces(const sc_resource *res, const sc_span_batch *batch, sc_buf *out)
{
    if (res == NULL || batch == NULL || out == NULL || (batch->first == NULL && batch->n_first) ||
        (batch->second == NULL && batch->n_second))
        return -EINVAL;
    trace_req t = {.batch = batch};
    t.resource.n = sc_resource_attrs(res, &t.resource.v);
    NPB(collector_trace_v1_ExportTraceServiceRequest)
    req = NPB(collector_trace_v1_ExportTraceServiceRequest_init_zero);
    set_cb(&req.resource_spans, enc_resource_spans, &t);
    return encode_into(out, NPB(collector_trace_v1_ExportTraceServiceRequest_fields), &req);
}

int sc_otlp_proto_encode_metrics(const sc_resource *res, const sc_metrics_snapshot *snap,
                                 sc_buf *out)
{
    if (res == NULL || snap == NULL || out == NULL || (snap->metrics == NULL && snap->n_metrics))
        return -EINVAL;
    size_t points = 0;
    for (size_t i = 0; i < snap->n_metrics; i++) {
        const sc_metric_data *md = &snap->metrics[i];
        if (md->kind < SC_METRIC_KIND_COUNTER || md->kind > SC_METRIC_KIND_HISTOGRAM)
            return -EINVAL;
        points += md->n_points;
    }
    if (points == 0)
        return -ENODATA;
    metrics_req r = {.snap = snap};
    r.resource.n = sc_resource_attrs(res, &r.resource.v);
    NPB(collector_metrics_v1_ExportMetricsServiceRequest)
    req = NPB(collector_metrics_v1_ExportMetricsServiceRequest_init_zero);
    set_cb(&req.resource_metrics, enc_resource_metrics, &r);
    return encode_into(out, NPB(collector_metrics_v1_ExportMetricsServiceRequest_fields), &req);
}

/* ---- responses ------------------------------------------------------------------------------- */

typedef struct msg_out {
    char *p;
    size_t cap;
} msg_out;

/* Copies error_message (cut at a UTF-8 boundary to fit) and skips what does not fit. */
static bool dec_msg(pb_istream_t *s, const pb_field_t *f, void **arg)
{
    const msg_out *m = *arg;
    size_t n = s->bytes_left;
    if (m->p != NULL && m->cap > 0) {
        size_t got = min_size(n, m->cap);
        if (!pb_read(s, (pb_byte_t *)m->p, got))
            return false;
        size_t len = sc_attr_utf8_prefix(m->p, got, m->cap - 1);
        m->p[len] = '\0';
    }
    return pb_read(s, NULL, s->bytes_left);
}

static int decode_response(const void *p, size_t n, const pb_msgdesc_t *fields, void *resp,
                           pb_callback_t *msg_cb, char *msg, size_t msg_cap)
{
    msg_out m = {msg, msg_cap};
    if (msg != NULL && msg_cap > 0)
        msg[0] = '\0';
    msg_cb->funcs.decode = dec_msg;
    msg_cb->arg = &m;
    pb_istream_t is = pb_istream_from_buffer((const pb_byte_t *)p, n);
    if (n > 0 && (p == NULL || !pb_decode(&is, fields, resp))) {
        if (msg != NULL && msg_cap > 0)
            msg[0] = '\0';
        return -EBADMSG;
    }
    return 0;
}

int sc_otlp_proto_decode_trace_response(const void *p, size_t n, int64_t *rejected, char *msg,
                                        size_t msg_cap)
{
    NPB(collector_trace_v1_ExportTraceServiceResponse)
    r = NPB(collector_trace_v1_ExportTraceServiceResponse_init_zero);
    int rc = decode_response(p, n, NPB(collector_trace_v1_ExportTraceServiceResponse_fields), &r,
                             &r.partial_success.error_message, msg, msg_cap);
    *rejected = rc == 0 && r.has_partial_success ? r.partial_success.rejected_spans : 0;
    return rc;
}

int sc_otlp_proto_decode_metrics_response(const void *p, size_t n, int64_t *rejected, char *msg,
                                          size_t msg_cap)
{
    NPB(collector_metrics_v1_ExportMetricsServiceResponse)
    r = NPB(collector_metrics_v1_ExportMetricsServiceResponse_init_zero);
    int rc = decode_response(p, n, NPB(collector_metrics_v1_ExportMetricsServiceResponse_fields),
                             &r, &r.partial_success.error_message, msg, msg_cap);
    *rejected = rc == 0 && r.has_partial_success ? r.partial_success.rejected_data_points : 0;
    return rc;
}
