/* otlp_proto.c - owns: the nanopb callbacks that walk the request envelopes and metric snapshots
 * in place, the stream they write through, and writing into an sc_buf (Spans and KeyValues:
 * otlp_span_writer.c; responses: otlp_proto_response.c).
 *
 * Every callback argument is a small struct on the stack of the callback one level up, so the
 * whole tree is described without allocation and can be walked again (nanopb sizes each
 * submessage before writing it, so a callback runs once per enclosing level). Callbacks must
 * therefore give the same bytes every time (the trace request caches its spans' size). */
#include "export/otlp_proto.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <pb_encode.h>

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "export/otlp_span_writer.h"
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

/* ---- the cursor stream ----
 * Every stream this module writes to is made by cursor_stream(): nanopb's buffer stream with a
 * write callback of our own, whose state is the write position. That invariant lets the
 * attribute and span writers (otlp_span_writer.h) claim room once and store bytes directly, while
 * nanopb still walks the envelopes. Sizing streams (callback NULL) only count. */

static bool cursor_write(pb_ostream_t *s, const pb_byte_t *buf, size_t n)
{
    memcpy(s->state, buf, n);
    s->state = (pb_byte_t *)s->state + n;
    return true;
}

static pb_ostream_t cursor_stream(void *p, size_t room)
{
    pb_ostream_t os = pb_ostream_from_buffer(p, room);
    os.callback = cursor_write;
    return os;
}

/* Claims the next n bytes of s: *at is where to write them (NULL for a sizing stream, which is
 * only advanced). false when they do not fit. */
static bool claim(pb_ostream_t *s, size_t n, uint8_t **at)
{
    *at = NULL;
    if (s->callback == NULL)
        return pb_write(s, NULL, n);
    if (s->callback != cursor_write || s->max_size - s->bytes_written < n)
        return false;
    *at = s->state;
    s->state = (pb_byte_t *)s->state + n;
    s->bytes_written += n;
    return true;
}

/* One KeyValue as an element of the repeated field f. */
static bool enc_kv(pb_ostream_t *s, const pb_field_t *f, const sc_attr *a)
{
    size_t kv = sc_otlp_span_writer_kv_size(a);
    if (kv == 0)
        return true; /* not an attribute the telemetry layer stores; nothing to say */
    uint8_t *at;
    if (!pb_encode_tag_for_field(s, f) || !pb_encode_varint(s, kv) || !claim(s, kv, &at))
        return false;
    return at == NULL || sc_otlp_span_writer_put_kv(at, a) == at + kv;
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

/* ---- spans (written by otlp_span_writer) ---- */

typedef struct trace_req {
    attr_list resource;
    const sc_span_batch *batch;
    size_t spans_size; /* the spans' bytes, computed on the first walk (SIZE_MAX until then) */
} trace_req;

/* nanopb walks ScopeSpans four times (sized by ResourceSpans and by itself, each sizing pass
 * sizing it again), so the spans are sized once and the later walks reuse the figure. */
static size_t spans_size(trace_req *t)
{
    if (t->spans_size == SIZE_MAX)
        t->spans_size = sc_otlp_span_writer_spans_size(t->batch->first, t->batch->n_first) +
                        sc_otlp_span_writer_spans_size(t->batch->second, t->batch->n_second);
    return t->spans_size;
}

/* All spans at once: one claim (one bounds check) for the whole run, then direct stores. */
static bool enc_spans(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    trace_req *t = *arg;
    const sc_span_batch *b = t->batch;
    size_t n = spans_size(t);
    uint8_t *at;
    if (!claim(s, n, &at))
        return false;
    if (at == NULL)
        return true;
    uint8_t tag = (uint8_t)((f->tag << 3) | PB_WT_STRING), *end = at + n;
    uint8_t *p = sc_otlp_span_writer_put_spans(at, end, tag, b->first, b->n_first);
    if (p != NULL)
        p = sc_otlp_span_writer_put_spans(p, end, tag, b->second, b->n_second);
    return p == end;
}

static bool enc_scope_spans(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    trace_req *t = *arg;
    NPB(trace_v1_ScopeSpans) ss = NPB(trace_v1_ScopeSpans_init_zero);
    ss.has_scope = true;
    set_scope(&ss.scope);
    if (t->batch->n_first + t->batch->n_second > 0)
        set_cb(&ss.spans, enc_spans, t);
    return enc_sub(s, f, NPB(trace_v1_ScopeSpans_fields), &ss);
}

static bool enc_resource_spans(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
    trace_req *t = *arg;
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
        pb_ostream_t os = cursor_stream(out->data + mark, room);
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
    pb_ostream_t os = cursor_stream(out->data + mark, n);
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
    trace_req t = {.batch = batch, .spans_size = SIZE_MAX};
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
