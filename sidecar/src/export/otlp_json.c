/* otlp_json.c - owns: the OTLP/JSON writer (a tiny comma-tracking layer over core/jsonw.h) for
 * trace and metrics requests. Field order and omission rules mirror otlp_proto.c so both
 * encodings carry the same content. */
#include "export/otlp_json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonw.h"
#include "version.h"

/* Deepest nesting written: request > resourceX > scopeX > span > events > event > attributes >
 * kv > value > arrayValue > values > item, with room to spare. */
#define MAX_DEPTH 16

typedef struct jw {
    sc_buf *b;
    int rc; /* sticky: the first failure turns every later write into a no-op */
    int depth;
    bool first[MAX_DEPTH]; /* no member/element written yet at this depth */
} jw;

static void raw(jw *w, const char *s, size_t n)
{
    if (w->rc == 0)
        w->rc = sc_buf_append(w->b, s, n);
}

static void sep(jw *w)
{
    if (!w->first[w->depth])
        raw(w, ",", 1);
    w->first[w->depth] = false;
}

static void open_c(jw *w, const char *c)
{
    raw(w, c, 1);
    if (w->depth + 1 >= MAX_DEPTH) {
        w->rc = w->rc ? w->rc : -EINVAL;
        return;
    }
    w->first[++w->depth] = true;
}

static void close_c(jw *w, const char *c)
{
    if (w->depth > 0)
        w->depth--;
    raw(w, c, 1);
}

/* A member name; `quoted` is the literal "\"name\":" built by KEY. */
static void key_lit(jw *w, const char *quoted, size_t n)
{
    sep(w);
    raw(w, quoted, n);
}
#define KEY(w, name) key_lit((w), "\"" name "\":", sizeof("\"" name "\":") - 1)

static void elem(jw *w) /* before each array element */
{
    sep(w);
}

static void str(jw *w, const char *p, size_t n)
{
    if (w->rc == 0)
        w->rc = sc_jsonw_str(w->b, p, n);
}

static void cstr(jw *w, const char *s)
{
    str(w, s, strlen(s));
}

static void u64_num(jw *w, uint64_t v)
{
    if (w->rc == 0)
        w->rc = sc_jsonw_u64(w->b, v);
}

/* 64-bit integers are JSON strings in the protobuf mapping. */
static void u64_str(jw *w, uint64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof t, "\"%" PRIu64 "\"", v);
    raw(w, t, (size_t)n);
}

static void i64_str(jw *w, int64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof t, "\"%" PRId64 "\"", v);
    raw(w, t, (size_t)n);
}

static void dbl(jw *w, double v)
{
    if (isnan(v))
        raw(w, "\"NaN\"", 5);
    else if (isinf(v))
        raw(w, v > 0 ? "\"Infinity\"" : "\"-Infinity\"", v > 0 ? 10 : 11);
    else if (w->rc == 0)
        w->rc = sc_jsonw_double(w->b, v);
}

static void boolean(jw *w, bool v)
{
    raw(w, v ? "true" : "false", v ? 4 : 5);
}

static void hex(jw *w, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char t[2 * 16 + 2];
    size_t k = 0;
    t[k++] = '"';
    for (size_t i = 0; i < n && i < 16; i++) {
        t[k++] = digits[p[i] >> 4];
        t[k++] = digits[p[i] & 15];
    }
    t[k++] = '"';
    raw(w, t, k);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return false;
    return true;
}

/* ---- attributes ------------------------------------------------------------------------------ */

static void any_value(jw *w, const sc_attr *a)
{
    open_c(w, "{");
    switch (a->type) {
    case SC_ATTR_STRING:
        KEY(w, "stringValue");
        str(w, a->v.s.ptr, a->v.s.len);
        break;
    case SC_ATTR_INT:
        KEY(w, "intValue");
        i64_str(w, a->v.i);
        break;
    case SC_ATTR_DOUBLE:
        KEY(w, "doubleValue");
        dbl(w, a->v.d);
        break;
    case SC_ATTR_BOOL:
        KEY(w, "boolValue");
        boolean(w, a->v.b != 0);
        break;
    case SC_ATTR_STRING_ARRAY:
        KEY(w, "arrayValue");
        open_c(w, "{");
        if (a->v.arr.n > 0) {
            KEY(w, "values");
            open_c(w, "[");
            for (size_t i = 0; i < a->v.arr.n; i++) {
                elem(w);
                open_c(w, "{");
                KEY(w, "stringValue");
                str(w, a->v.arr.items[i].ptr, a->v.arr.items[i].len);
                close_c(w, "}");
            }
            close_c(w, "]");
        }
        close_c(w, "}");
        break;
    }
    close_c(w, "}");
}

static bool attr_known(const sc_attr *a)
{
    return a->type >= SC_ATTR_STRING && a->type <= SC_ATTR_STRING_ARRAY;
}

static void key_value(jw *w, const sc_attr *a)
{
    elem(w);
    open_c(w, "{");
    KEY(w, "key");
    cstr(w, a->key);
    KEY(w, "value");
    any_value(w, a);
    close_c(w, "}");
}

static void attr_list(jw *w, const sc_attr *v, size_t n)
{
    if (n == 0)
        return;
    KEY(w, "attributes");
    open_c(w, "[");
    for (size_t i = 0; i < n; i++)
        if (attr_known(&v[i]))
            key_value(w, &v[i]);
    close_c(w, "]");
}

static void span_attr_list(jw *w, const sc_span *sp, const sc_span_attr *v, size_t n)
{
    if (n == 0)
        return;
    KEY(w, "attributes");
    open_c(w, "[");
    for (size_t i = 0; i < n; i++) {
        sc_attr a;
        sc_attr_str items[SC_SPAN_ARRAY_MAX];
        sc_span_attr_get(sp, &v[i], &a, items);
        if (attr_known(&a))
            key_value(w, &a);
    }
    close_c(w, "]");
}

/* Optional members: written only when not the proto3 default. */
static void opt_str(jw *w, const char *quoted_key, size_t kn, sc_attr_str s)
{
    if (s.len == 0)
        return;
    key_lit(w, quoted_key, kn);
    str(w, s.ptr, s.len);
}
#define OPT_STR(w, name, s) opt_str((w), "\"" name "\":", sizeof("\"" name "\":") - 1, (s))

static void opt_u32(jw *w, const char *quoted_key, size_t kn, uint64_t v)
{
    if (v == 0)
        return;
    key_lit(w, quoted_key, kn);
    u64_num(w, v);
}
#define OPT_U32(w, name, v) opt_u32((w), "\"" name "\":", sizeof("\"" name "\":") - 1, (v))

static void opt_time(jw *w, const char *quoted_key, size_t kn, uint64_t v)
{
    if (v == 0)
        return;
    key_lit(w, quoted_key, kn);
    u64_str(w, v);
}
#define OPT_TIME(w, name, v) opt_time((w), "\"" name "\":", sizeof("\"" name "\":") - 1, (v))

static sc_attr_str cslice(const char *c)
{
    return (sc_attr_str){c, c ? strlen(c) : 0};
}

/* {"resource":{"attributes":[...]},"scopeX":[{"scope":{...}, then the caller's list */
static void envelope_open(jw *w, const sc_resource *res, bool traces)
{
    const sc_attr *attrs;
    size_t n = sc_resource_attrs(res, &attrs);
    open_c(w, "{");
    if (traces)
        KEY(w, "resourceSpans");
    else
        KEY(w, "resourceMetrics");
    open_c(w, "[");
    elem(w);
    open_c(w, "{");
    KEY(w, "resource");
    open_c(w, "{");
    attr_list(w, attrs, n);
    close_c(w, "}");
    if (traces)
        KEY(w, "scopeSpans");
    else
        KEY(w, "scopeMetrics");
    open_c(w, "[");
    elem(w);
    open_c(w, "{");
    KEY(w, "scope");
    open_c(w, "{");
    OPT_STR(w, "name", cslice(SC_OTLP_SCOPE_NAME));
    OPT_STR(w, "version", cslice(SC_VERSION));
    close_c(w, "}");
}

static void envelope_close(jw *w)
{
    close_c(w, "}"); /* scope entry */
    close_c(w, "]");
    close_c(w, "}"); /* resource entry */
    close_c(w, "]");
    close_c(w, "}");
}

static int finish(jw *w, size_t mark)
{
    if (w->rc != 0 && w->b->data != NULL) {
        w->b->len = mark; /* out unchanged on failure, as sc_buf promises for its own */
        w->b->data[mark] = '\0';
    }
    return w->rc;
}

/* ---- spans ----------------------------------------------------------------------------------- */

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

static void event(jw *w, const sc_span *sp, const sc_span_event *ev)
{
    size_t first = min_size(ev->first_attr, SC_SPAN_MAX_EVENT_ATTRS);
    elem(w);
    open_c(w, "{");
    OPT_TIME(w, "timeUnixNano", ev->time_ns);
    OPT_STR(w, "name", sc_span_str(sp, ev->name));
    span_attr_list(w, sp, &sp->event_attrs[first],
                   min_size(ev->n_attrs, SC_SPAN_MAX_EVENT_ATTRS - first));
    OPT_U32(w, "droppedAttributesCount", ev->dropped_attributes_count);
    close_c(w, "}");
}

static void link(jw *w, const sc_span *sp, const sc_span_link *ln)
{
    elem(w);
    open_c(w, "{");
    if (!all_zero(ln->trace_id, 16)) {
        KEY(w, "traceId");
        hex(w, ln->trace_id, 16);
    }
    if (!all_zero(ln->span_id, 8)) {
        KEY(w, "spanId");
        hex(w, ln->span_id, 8);
    }
    OPT_STR(w, "traceState", sc_span_str(sp, ln->trace_state));
    close_c(w, "}"); /* Link.flags: never written, as in the protobuf encoder */
}

static void status(jw *w, const sc_span *sp)
{
    if (sp->status == SC_SPAN_STATUS_UNSET)
        return;
    KEY(w, "status");
    open_c(w, "{");
    if (sp->status == SC_SPAN_STATUS_ERROR)
        OPT_STR(w, "message", sc_span_str(sp, sp->status_message));
    KEY(w, "code");
    u64_num(w, sp->status);
    close_c(w, "}");
}

static void span(jw *w, const sc_span *sp)
{
    elem(w);
    open_c(w, "{");
    if (!all_zero(sp->trace_id, 16)) {
        KEY(w, "traceId");
        hex(w, sp->trace_id, 16);
    }
    if (!all_zero(sp->span_id, 8)) {
        KEY(w, "spanId");
        hex(w, sp->span_id, 8);
    }
    OPT_STR(w, "traceState", sc_span_str(sp, sp->trace_state));
    if (sp->has_parent) {
        KEY(w, "parentSpanId");
        hex(w, sp->parent_span_id, 8);
    }
    OPT_STR(w, "name", sc_span_str(sp, sp->name));
    OPT_U32(w, "kind", sp->kind);
    OPT_TIME(w, "startTimeUnixNano", sp->start_ns);
    OPT_TIME(w, "endTimeUnixNano", sp->end_ns);
    span_attr_list(w, sp, sp->attrs, min_size(sp->n_attrs, SC_SPAN_MAX_ATTRS));
    OPT_U32(w, "droppedAttributesCount", sp->dropped_attributes_count);
    if (sp->n_events > 0) {
        KEY(w, "events");
        open_c(w, "[");
        for (size_t i = 0; i < min_size(sp->n_events, SC_SPAN_MAX_EVENTS); i++)
            event(w, sp, &sp->events[i]);
        close_c(w, "]");
    }
    OPT_U32(w, "droppedEventsCount", sp->dropped_events_count);
    if (sp->n_links > 0) {
        KEY(w, "links");
        open_c(w, "[");
        for (size_t i = 0; i < min_size(sp->n_links, SC_SPAN_MAX_LINKS); i++)
            link(w, sp, &sp->links[i]);
        close_c(w, "]");
    }
    OPT_U32(w, "droppedLinksCount", sp->dropped_links_count);
    status(w, sp);
    close_c(w, "}"); /* Span.flags: never written, as in the protobuf encoder */
}

int sc_otlp_json_encode_traces(const sc_resource *res, const sc_span_batch *batch, sc_buf *out)
{
    if (res == NULL || batch == NULL || out == NULL || (batch->first == NULL && batch->n_first) ||
        (batch->second == NULL && batch->n_second))
        return -EINVAL;
    jw w = {.b = out};
    w.first[0] = true;
    size_t mark = out->len;
    envelope_open(&w, res, true);
    if (batch->n_first + batch->n_second > 0) {
        KEY(&w, "spans");
        open_c(&w, "[");
        for (size_t i = 0; i < batch->n_first; i++)
            span(&w, &batch->first[i]);
        for (size_t i = 0; i < batch->n_second; i++)
            span(&w, &batch->second[i]);
        close_c(&w, "]");
    }
    envelope_close(&w);
    return finish(&w, mark);
}

/* ---- metrics --------------------------------------------------------------------------------- */

static void number_point(jw *w, const sc_metric_data *md, const sc_metric_point *p)
{
    elem(w);
    open_c(w, "{");
    attr_list(w, p->attrs, p->n_attrs);
    if (md->kind != SC_METRIC_KIND_GAUGE)
        OPT_TIME(w, "startTimeUnixNano", p->start_ns);
    OPT_TIME(w, "timeUnixNano", p->time_ns);
    if (md->kind == SC_METRIC_KIND_GAUGE) {
        KEY(w, "asDouble");
        dbl(w, p->as_double);
    } else {
        KEY(w, "asInt");
        i64_str(w, p->as_int);
    }
    close_c(w, "}");
}

static void histogram_point(jw *w, const sc_metric_data *md, const sc_metric_point *p)
{
    elem(w);
    open_c(w, "{");
    attr_list(w, p->attrs, p->n_attrs);
    OPT_TIME(w, "startTimeUnixNano", p->start_ns);
    OPT_TIME(w, "timeUnixNano", p->time_ns);
    OPT_TIME(w, "count", p->count); /* fixed64: a string, like the timestamps */
    KEY(w, "sum");
    dbl(w, p->sum);
    if (p->bucket_counts != NULL) {
        KEY(w, "bucketCounts");
        open_c(w, "[");
        for (size_t i = 0; i <= md->n_bounds; i++) {
            elem(w);
            u64_str(w, p->bucket_counts[i]);
        }
        close_c(w, "]");
    }
    if (md->n_bounds > 0 && md->bounds != NULL) {
        KEY(w, "explicitBounds");
        open_c(w, "[");
        for (size_t i = 0; i < md->n_bounds; i++) {
            elem(w);
            dbl(w, md->bounds[i]);
        }
        close_c(w, "]");
    }
    if (p->count > 0) {
        KEY(w, "min");
        dbl(w, p->min);
        KEY(w, "max");
        dbl(w, p->max);
    }
    close_c(w, "}");
}

static void metric(jw *w, const sc_metric_data *md)
{
    bool hist = md->kind == SC_METRIC_KIND_HISTOGRAM;
    elem(w);
    open_c(w, "{");
    OPT_STR(w, "name", cslice(md->name));
    OPT_STR(w, "description", cslice(md->description));
    OPT_STR(w, "unit", cslice(md->unit));
    if (md->kind == SC_METRIC_KIND_GAUGE)
        KEY(w, "gauge");
    else if (hist)
        KEY(w, "histogram");
    else
        KEY(w, "sum");
    open_c(w, "{");
    KEY(w, "dataPoints");
    open_c(w, "[");
    for (size_t i = 0; i < md->n_points; i++) {
        if (hist)
            histogram_point(w, md, &md->points[i]);
        else
            number_point(w, md, &md->points[i]);
    }
    close_c(w, "]");
    if (md->kind != SC_METRIC_KIND_GAUGE) {
        bool delta =
            md->temporality == SC_TEMPORALITY_DELTA && md->kind != SC_METRIC_KIND_UPDOWN_COUNTER;
        KEY(w, "aggregationTemporality");
        u64_num(w, delta ? SC_TEMPORALITY_DELTA : SC_TEMPORALITY_CUMULATIVE);
    }
    if (md->kind == SC_METRIC_KIND_COUNTER) {
        KEY(w, "isMonotonic");
        boolean(w, true);
    }
    close_c(w, "}");
    close_c(w, "}"); /* Metric.metadata: never written, as in the protobuf encoder */
}

int sc_otlp_json_encode_metrics(const sc_resource *res, const sc_metrics_snapshot *snap,
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
    jw w = {.b = out};
    w.first[0] = true;
    size_t mark = out->len;
    envelope_open(&w, res, false);
    KEY(&w, "metrics");
    open_c(&w, "[");
    for (size_t i = 0; i < snap->n_metrics; i++)
        if (snap->metrics[i].n_points > 0)
            metric(&w, &snap->metrics[i]);
    close_c(&w, "]");
    envelope_close(&w);
    return finish(&w, mark);
}
