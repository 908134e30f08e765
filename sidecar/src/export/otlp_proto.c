/* otlp_proto.c - owns: the nanopb callbacks that walk the request envelopes and metric snapshots
 * in place, the hand-written Span and KeyValue encoding, and writing into an sc_buf (responses:
 * otlp_proto_response.c).
 *
 * Every callback argument is a small struct on the stack of the callback one level up, so the
 * whole tree is described without allocation and can be walked again (nanopb sizes each
 * submessage before writing it, so a callback runs once per enclosing level). Callbacks must
 * therefore be pure. */
#include "export/otlp_proto.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

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

static bool enc_cstr(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    const char *c = *arg;
    return pb_encode_tag_for_field(s, f) && pb_encode_string(s, (const pb_byte_t *)c, strlen(c));
}

/* proto3 string fields: empty is the default and is not encoded (callback left unset). */
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

/* A KeyValue's body: key, then value. */
static size_t kv_size(const sc_attr *a, size_t key_len)
{
    return len_field_size(key_len) + len_field_size(any_size(a));
}

static bool put_kv_body(pb_ostream_t *s, const sc_attr *a, size_t key_len)
{
    return put_str(s, KV_KEY, a->key, key_len) && put_len(s, KV_VALUE, any_size(a)) &&
           put_any(s, a);
}

static bool storable(const sc_attr *a)
{
    return a->type >= SC_ATTR_STRING && a->type <= SC_ATTR_STRING_ARRAY;
}

/* One KeyValue as an element of the repeated field f. A oneof member is written even when it
 * holds its default (an empty string, 0, false): presence is what carries the type. Sizing
 * streams only count, so they get the length without the walk. */
static bool enc_kv(pb_ostream_t *s, const pb_field_t *f, const sc_attr *a)
{
    if (!storable(a))
        return true; /* not an attribute the telemetry layer stores; nothing to say */
    size_t key_len = strlen(a->key), kv = kv_size(a, key_len);
    if (!pb_encode_tag_for_field(s, f) || !pb_encode_varint(s, kv))
        return false;
    if (s->callback == NULL)
        return pb_write(s, NULL, kv);
    return put_kv_body(s, a, key_len);
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

static void set_scope(NPB(common_v1_InstrumentationScope) * scope)
{
    set_cstr(&scope->name, SC_OTLP_SCOPE_NAME);
    set_cstr(&scope->version, SC_VERSION);
}

/* ---- spans, written by hand ----
 * Spans are the bulk of a trace request. Through nanopb each span would be walked once per
 * enclosing level (ResourceSpans, ScopeSpans and Span are each sized before they are written),
 * every walk iterating all field descriptors and rebuilding every attribute. Here a span is sized
 * with arithmetic (span_size) and written once (put_span), like KeyValues above. The bytes are the
 * canonical encoding nanopb produces: fields in number order, proto3 defaults (0, empty) left
 * out, the fixed-length ids always written. Every field number here is < 16 (one-byte tags). */

#define SPAN(f)        NPB(trace_v1_Span_##f##_tag)
#define EVENT(f)       NPB(trace_v1_Span_Event_##f##_tag)
#define LINK(f)        NPB(trace_v1_Span_Link_##f##_tag)
#define STATUS_MESSAGE NPB(trace_v1_Status_message_tag)
#define STATUS_CODE    NPB(trace_v1_Status_code_tag)

/* Sizes of optional fields: nothing when the value is the proto3 default. */
static size_t varint_field_size(uint64_t v)
{
    return v ? 1 + varint_size(v) : 0;
}

static size_t fixed64_field_size(uint64_t v)
{
    return v ? 1 + 8 : 0;
}

static size_t str_field_size(size_t len)
{
    return len ? len_field_size(len) : 0;
}

static bool put_varint(pb_ostream_t *s, uint32_t tag, uint64_t v)
{
    return v == 0 || (pb_encode_tag(s, PB_WT_VARINT, tag) && pb_encode_varint(s, v));
}

static bool put_fixed64(pb_ostream_t *s, uint32_t tag, uint64_t v)
{
    return v == 0 || (pb_encode_tag(s, PB_WT_64BIT, tag) && pb_encode_fixed64(s, &v));
}

static bool put_opt_str(pb_ostream_t *s, uint32_t tag, sc_attr_str str)
{
    return str.len == 0 || put_str(s, tag, str.ptr, str.len);
}

/* A run of attributes stored in a span (span or event attributes). */
typedef struct stored_attrs {
    const sc_span_attr *v;
    size_t n;
} stored_attrs;

static size_t stored_attrs_size(const sc_span *sp, stored_attrs l)
{
    size_t n = 0;
    for (size_t i = 0; i < l.n; i++) {
        sc_attr a;
        sc_attr_str items[SC_SPAN_ARRAY_MAX];
        sc_span_attr_get(sp, &l.v[i], &a, items);
        if (storable(&a))
            n += len_field_size(kv_size(&a, l.v[i].key.len));
    }
    return n;
}

static bool put_stored_attrs(pb_ostream_t *s, uint32_t tag, const sc_span *sp, stored_attrs l)
{
    for (size_t i = 0; i < l.n; i++) {
        sc_attr a;
        sc_attr_str items[SC_SPAN_ARRAY_MAX];
        sc_span_attr_get(sp, &l.v[i], &a, items);
        if (storable(&a) &&
            (!put_len(s, tag, kv_size(&a, l.v[i].key.len)) || !put_kv_body(s, &a, l.v[i].key.len)))
            return false;
    }
    return true;
}

static size_t n_events(const sc_span *sp)
{
    return min_size(sp->n_events, SC_SPAN_MAX_EVENTS);
}

static size_t n_links(const sc_span *sp)
{
    return min_size(sp->n_links, SC_SPAN_MAX_LINKS);
}

static stored_attrs event_attrs(const sc_span *sp, const sc_span_event *ev)
{
    size_t first = min_size(ev->first_attr, SC_SPAN_MAX_EVENT_ATTRS);
    return (stored_attrs){&sp->event_attrs[first],
                          min_size(ev->n_attrs, SC_SPAN_MAX_EVENT_ATTRS - first)};
}

static size_t event_size(const sc_span *sp, const sc_span_event *ev)
{
    return fixed64_field_size(ev->time_ns) + str_field_size(ev->name.len) +
           stored_attrs_size(sp, event_attrs(sp, ev)) +
           varint_field_size(ev->dropped_attributes_count);
}

static bool put_event(pb_ostream_t *s, const sc_span *sp, const sc_span_event *ev)
{
    return put_len(s, SPAN(events), event_size(sp, ev)) &&
           put_fixed64(s, EVENT(time_unix_nano), ev->time_ns) &&
           put_opt_str(s, EVENT(name), sc_span_str(sp, ev->name)) &&
           put_stored_attrs(s, EVENT(attributes), sp, event_attrs(sp, ev)) &&
           put_varint(s, EVENT(dropped_attributes_count), ev->dropped_attributes_count);
}

/* Links carry ids and trace_state; flags are never encoded (see otlp_proto.h). */
static size_t link_size(const sc_span_link *ln)
{
    return len_field_size(sizeof ln->trace_id) + len_field_size(sizeof ln->span_id) +
           str_field_size(ln->trace_state.len);
}

static bool put_link(pb_ostream_t *s, const sc_span *sp, const sc_span_link *ln)
{
    return put_len(s, SPAN(links), link_size(ln)) &&
           put_str(s, LINK(trace_id), (const char *)ln->trace_id, sizeof ln->trace_id) &&
           put_str(s, LINK(span_id), (const char *)ln->span_id, sizeof ln->span_id) &&
           put_opt_str(s, LINK(trace_state), sc_span_str(sp, ln->trace_state));
}

/* Status is present unless UNSET; only ERROR carries its message. */
static sc_attr_str status_message(const sc_span *sp)
{
    return sp->status == SC_SPAN_STATUS_ERROR ? sc_span_str(sp, sp->status_message)
                                              : (sc_attr_str){NULL, 0};
}

static size_t status_size(const sc_span *sp)
{
    return str_field_size(status_message(sp).len) + varint_field_size(sp->status);
}

static size_t span_size(const sc_span *sp)
{
    size_t n =
        len_field_size(sizeof sp->trace_id) + len_field_size(sizeof sp->span_id) +
        str_field_size(sp->trace_state.len) +
        (sp->has_parent ? len_field_size(sizeof sp->parent_span_id) : 0) +
        str_field_size(sp->name.len) + varint_field_size(sp->kind) +
        fixed64_field_size(sp->start_ns) + fixed64_field_size(sp->end_ns) +
        stored_attrs_size(sp, (stored_attrs){sp->attrs, min_size(sp->n_attrs, SC_SPAN_MAX_ATTRS)}) +
        varint_field_size(sp->dropped_attributes_count) +
        varint_field_size(sp->dropped_events_count) + varint_field_size(sp->dropped_links_count);
    for (size_t i = 0; i < n_events(sp); i++)
        n += len_field_size(event_size(sp, &sp->events[i]));
    for (size_t i = 0; i < n_links(sp); i++)
        n += len_field_size(link_size(&sp->links[i]));
    if (sp->status != SC_SPAN_STATUS_UNSET)
        n += len_field_size(status_size(sp));
    return n;
}

/* The span's fields (without its own tag and length); exactly span_size(sp) bytes. Span.flags is
 * never encoded (see otlp_proto.h). */
static bool put_span(pb_ostream_t *s, const sc_span *sp)
{
    if (!put_str(s, SPAN(trace_id), (const char *)sp->trace_id, sizeof sp->trace_id) ||
        !put_str(s, SPAN(span_id), (const char *)sp->span_id, sizeof sp->span_id) ||
        !put_opt_str(s, SPAN(trace_state), sc_span_str(sp, sp->trace_state)) ||
        (sp->has_parent && !put_str(s, SPAN(parent_span_id), (const char *)sp->parent_span_id,
                                    sizeof sp->parent_span_id)) ||
        !put_opt_str(s, SPAN(name), sc_span_str(sp, sp->name)) ||
        !put_varint(s, SPAN(kind), sp->kind) ||
        !put_fixed64(s, SPAN(start_time_unix_nano), sp->start_ns) ||
        !put_fixed64(s, SPAN(end_time_unix_nano), sp->end_ns) ||
        !put_stored_attrs(s, SPAN(attributes), sp,
                          (stored_attrs){sp->attrs, min_size(sp->n_attrs, SC_SPAN_MAX_ATTRS)}) ||
        !put_varint(s, SPAN(dropped_attributes_count), sp->dropped_attributes_count))
        return false;
    for (size_t i = 0; i < n_events(sp); i++)
        if (!put_event(s, sp, &sp->events[i]))
            return false;
    if (!put_varint(s, SPAN(dropped_events_count), sp->dropped_events_count))
        return false;
    for (size_t i = 0; i < n_links(sp); i++)
        if (!put_link(s, sp, &sp->links[i]))
            return false;
    if (!put_varint(s, SPAN(dropped_links_count), sp->dropped_links_count))
        return false;
    if (sp->status == SC_SPAN_STATUS_UNSET)
        return true;
    return put_len(s, SPAN(status), status_size(sp)) &&
           put_opt_str(s, STATUS_MESSAGE, status_message(sp)) &&
           put_varint(s, STATUS_CODE, sp->status);
}

/* One span as an element of the repeated field f. Sizing streams only count. A write that does
 * not come out at the computed size fails the encode rather than send a corrupt request. */
static bool enc_span(pb_ostream_t *s, const pb_field_t *f, const sc_span *sp)
{
    size_t n = span_size(sp);
    if (!pb_encode_tag_for_field(s, f) || !pb_encode_varint(s, n))
        return false;
    if (s->callback == NULL)
        return pb_write(s, NULL, n);
    size_t start = s->bytes_written;
    return put_span(s, sp) && s->bytes_written - start == n;
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

/* Steady state (a reused buffer with room): one write pass straight into out's spare capacity,
 * bounded by the cap. Otherwise, or when that runs out of room: a size pass, the cap check, one
 * reservation, and a write pass into it. On failure out is unchanged. */
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
    int rc = sc_buf_reserve(out, n);
    if (rc != 0)
        return rc;
    pb_ostream_t os = pb_ostream_from_buffer((pb_byte_t *)out->data + mark, n);
    if (!pb_encode(&os, fields, msg) || os.bytes_written != n) {
        out->data[mark] = '\0';
        return -EIO;
    }
    out->len += n;
    out->data[out->len] = '\0';
    return 0;
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
