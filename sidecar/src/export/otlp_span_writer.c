/* otlp_span_writer.c - owns: sizing and writing Spans and KeyValues with a byte cursor (why not
 * nanopb: see otlp_span_writer.h).
 *
 * Each message is written as tag, length, body; the length of a nested message is its body size,
 * so every *_size function returns a body size and len_field_size adds the tag and length around
 * it. The put_* functions write exactly what the matching *_size counted, in field-number order,
 * and return the cursor past it. */
#include "export/otlp_span_writer.h"

#include <errno.h>
#include <string.h>

#include "opentelemetry/proto/common/v1/common.pb.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"

#define NPB(x) opentelemetry_proto_##x

/* Wire types (protobuf encoding spec). */
enum { WT_VARINT = 0, WT_64BIT = 1, WT_LEN = 2 };

#define TAG(field, wt) ((uint8_t)(((field) << 3) | (wt)))

#define KV_KEY       NPB(common_v1_KeyValue_key_tag)
#define KV_VALUE     NPB(common_v1_KeyValue_value_tag)
#define ANY_STRING   NPB(common_v1_AnyValue_string_value_tag)
#define ANY_BOOL     NPB(common_v1_AnyValue_bool_value_tag)
#define ANY_INT      NPB(common_v1_AnyValue_int_value_tag)
#define ANY_DOUBLE   NPB(common_v1_AnyValue_double_value_tag)
#define ANY_ARRAY    NPB(common_v1_AnyValue_array_value_tag)
#define ARRAY_VALUES NPB(common_v1_ArrayValue_values_tag)

#define SPAN(f)        NPB(trace_v1_Span_##f##_tag)
#define EVENT(f)       NPB(trace_v1_Span_Event_##f##_tag)
#define LINK(f)        NPB(trace_v1_Span_Link_##f##_tag)
#define STATUS_MESSAGE NPB(trace_v1_Status_message_tag)
#define STATUS_CODE    NPB(trace_v1_Status_code_tag)

/* One-byte tags are what lets TAG() be a byte: every field number used here must stay < 16. */
_Static_assert(SPAN(status) < 16 && SPAN(dropped_links_count) < 16 && EVENT(attributes) < 16 &&
                   LINK(trace_state) < 16 && ANY_ARRAY < 16 && STATUS_CODE < 16,
               "a field number needs a multi-byte tag");

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* ---- primitives ------------------------------------------------------------------------------ */

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static size_t len_field_size(size_t len)
{
    return 1 + varint_size(len) + len;
}

/* Optional fields take nothing when they hold the proto3 default. */
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

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* Little-endian whatever the host, as the wire format says. */
static uint8_t *put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return p + 8;
}

static uint8_t *put_len(uint8_t *p, uint32_t field, size_t len)
{
    *p++ = TAG(field, WT_LEN);
    return put_varint(p, len);
}

static uint8_t *put_bytes(uint8_t *p, uint32_t field, const void *src, size_t len)
{
    p = put_len(p, field, len);
    memcpy(p, src, len);
    return p + len;
}

static uint8_t *put_opt_varint(uint8_t *p, uint32_t field, uint64_t v)
{
    if (v == 0)
        return p;
    *p++ = TAG(field, WT_VARINT);
    return put_varint(p, v);
}

static uint8_t *put_opt_fixed64(uint8_t *p, uint32_t field, uint64_t v)
{
    if (v == 0)
        return p;
    *p++ = TAG(field, WT_64BIT);
    return put_le64(p, v);
}

static uint8_t *put_opt_str(uint8_t *p, uint32_t field, sc_attr_str s)
{
    return s.len == 0 ? p : put_bytes(p, field, s.ptr, s.len);
}

/* ---- AnyValue and KeyValue ------------------------------------------------------------------- */

static int storable(int type)
{
    return type >= SC_ATTR_STRING && type <= SC_ATTR_STRING_ARRAY;
}

/* An ArrayValue of string AnyValues: each item is values { string_value }. */
static size_t item_size(size_t len)
{
    return len_field_size(len_field_size(len));
}

static uint8_t *put_item(uint8_t *p, const char *s, size_t len)
{
    p = put_len(p, ARRAY_VALUES, len_field_size(len));
    return put_bytes(p, ANY_STRING, s, len);
}

static uint8_t *put_int(uint8_t *p, int64_t i)
{
    *p++ = TAG(ANY_INT, WT_VARINT);
    return put_varint(p, (uint64_t)i);
}

static uint8_t *put_double(uint8_t *p, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    *p++ = TAG(ANY_DOUBLE, WT_64BIT);
    return put_le64(p, bits);
}

static uint8_t *put_bool(uint8_t *p, int b)
{
    *p++ = TAG(ANY_BOOL, WT_VARINT);
    *p++ = b != 0;
    return p;
}

/* The ArrayValue body of a string-array sc_attr. */
static size_t attr_array_size(const sc_attr *a)
{
    size_t n = 0;
    for (size_t i = 0; i < a->v.arr.n; i++)
        n += item_size(a->v.arr.items[i].len);
    return n;
}

/* The AnyValue body of a (storable) sc_attr. */
static size_t attr_any_size(const sc_attr *a)
{
    switch (a->type) {
    case SC_ATTR_STRING:
        return len_field_size(a->v.s.len);
    case SC_ATTR_INT:
        return 1 + varint_size((uint64_t)a->v.i);
    case SC_ATTR_DOUBLE:
        return 1 + 8;
    case SC_ATTR_BOOL:
        return 1 + 1;
    case SC_ATTR_STRING_ARRAY:
        return len_field_size(attr_array_size(a));
    }
    return 0;
}

static uint8_t *put_attr_any(uint8_t *p, const sc_attr *a)
{
    switch (a->type) {
    case SC_ATTR_STRING:
        return put_bytes(p, ANY_STRING, a->v.s.ptr, a->v.s.len);
    case SC_ATTR_INT:
        return put_int(p, a->v.i);
    case SC_ATTR_DOUBLE:
        return put_double(p, a->v.d);
    case SC_ATTR_BOOL:
        return put_bool(p, a->v.b);
    case SC_ATTR_STRING_ARRAY:
        p = put_len(p, ANY_ARRAY, attr_array_size(a));
        for (size_t i = 0; i < a->v.arr.n; i++)
            p = put_item(p, a->v.arr.items[i].ptr, a->v.arr.items[i].len);
        return p;
    }
    return p;
}

size_t sc_otlp_span_writer_kv_size(const sc_attr *a)
{
    if (!storable(a->type))
        return 0;
    return len_field_size(strlen(a->key)) + len_field_size(attr_any_size(a));
}

uint8_t *sc_otlp_span_writer_put_kv(uint8_t *p, const sc_attr *a)
{
    p = put_bytes(p, KV_KEY, a->key, strlen(a->key));
    p = put_len(p, KV_VALUE, attr_any_size(a));
    return put_attr_any(p, a);
}

/* ---- attributes stored in a span ----
 * Read in place from the span's arena (keys, strings, string arrays packed as u16 LE length and
 * bytes; see span.h), not rebuilt as sc_attr first. */

static const uint8_t *arena_at(const sc_span *sp, sc_span_ref r)
{
    return (const uint8_t *)sp->arena + r.off;
}

static size_t packed_len(const uint8_t *q)
{
    return (size_t)q[0] | ((size_t)q[1] << 8);
}

static size_t stored_array_size(const sc_span *sp, const sc_span_attr *a)
{
    const uint8_t *q = arena_at(sp, a->v.s);
    size_t n = 0;
    for (size_t i = 0; i < a->n_items; i++) {
        size_t len = packed_len(q);
        n += item_size(len);
        q += 2 + len;
    }
    return n;
}

static size_t stored_any_size(const sc_span *sp, const sc_span_attr *a)
{
    switch (a->type) {
    case SC_ATTR_STRING:
        return len_field_size(a->v.s.len);
    case SC_ATTR_INT:
        return 1 + varint_size((uint64_t)a->v.i);
    case SC_ATTR_DOUBLE:
        return 1 + 8;
    case SC_ATTR_BOOL:
        return 1 + 1;
    case SC_ATTR_STRING_ARRAY:
        return len_field_size(stored_array_size(sp, a));
    }
    return 0;
}

static uint8_t *put_stored_any(uint8_t *p, const sc_span *sp, const sc_span_attr *a)
{
    switch (a->type) {
    case SC_ATTR_STRING:
        return put_bytes(p, ANY_STRING, arena_at(sp, a->v.s), a->v.s.len);
    case SC_ATTR_INT:
        return put_int(p, a->v.i);
    case SC_ATTR_DOUBLE:
        return put_double(p, a->v.d);
    case SC_ATTR_BOOL:
        return put_bool(p, a->v.b != 0);
    case SC_ATTR_STRING_ARRAY: {
        const uint8_t *q = arena_at(sp, a->v.s);
        p = put_len(p, ANY_ARRAY, stored_array_size(sp, a));
        for (size_t i = 0; i < a->n_items; i++) {
            size_t len = packed_len(q);
            p = put_item(p, (const char *)q + 2, len);
            q += 2 + len;
        }
        return p;
    }
    }
    return p;
}

/* A run of stored attributes (span or event attributes). */
typedef struct stored_attrs {
    const sc_span_attr *v;
    size_t n;
} stored_attrs;

static size_t stored_kv_size(const sc_span *sp, const sc_span_attr *a)
{
    return len_field_size(a->key.len) + len_field_size(stored_any_size(sp, a));
}

static size_t stored_attrs_size(const sc_span *sp, stored_attrs l)
{
    size_t n = 0;
    for (size_t i = 0; i < l.n; i++)
        if (storable(l.v[i].type))
            n += len_field_size(stored_kv_size(sp, &l.v[i]));
    return n;
}

/* Each attribute as a KeyValue element of the repeated field `field`. */
static uint8_t *put_stored_attrs(uint8_t *p, uint32_t field, const sc_span *sp, stored_attrs l)
{
    for (size_t i = 0; i < l.n; i++) {
        const sc_span_attr *a = &l.v[i];
        if (!storable(a->type))
            continue;
        size_t any = stored_any_size(sp, a);
        p = put_len(p, field, len_field_size(a->key.len) + len_field_size(any));
        p = put_bytes(p, KV_KEY, arena_at(sp, a->key), a->key.len);
        p = put_len(p, KV_VALUE, any);
        p = put_stored_any(p, sp, a);
    }
    return p;
}

/* ---- Span ------------------------------------------------------------------------------------ */

static size_t n_events(const sc_span *sp)
{
    return min_size(sp->n_events, SC_SPAN_MAX_EVENTS);
}

static size_t n_links(const sc_span *sp)
{
    return min_size(sp->n_links, SC_SPAN_MAX_LINKS);
}

static stored_attrs span_attrs(const sc_span *sp)
{
    return (stored_attrs){sp->attrs, min_size(sp->n_attrs, SC_SPAN_MAX_ATTRS)};
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

static uint8_t *put_event(uint8_t *p, const sc_span *sp, const sc_span_event *ev)
{
    p = put_len(p, SPAN(events), event_size(sp, ev));
    p = put_opt_fixed64(p, EVENT(time_unix_nano), ev->time_ns);
    p = put_opt_str(p, EVENT(name), sc_span_str(sp, ev->name));
    p = put_stored_attrs(p, EVENT(attributes), sp, event_attrs(sp, ev));
    return put_opt_varint(p, EVENT(dropped_attributes_count), ev->dropped_attributes_count);
}

/* Links carry ids and trace_state; flags are never written (see otlp_proto.h). */
static size_t link_size(const sc_span_link *ln)
{
    return len_field_size(sizeof ln->trace_id) + len_field_size(sizeof ln->span_id) +
           str_field_size(ln->trace_state.len);
}

static uint8_t *put_link(uint8_t *p, const sc_span *sp, const sc_span_link *ln)
{
    p = put_len(p, SPAN(links), link_size(ln));
    p = put_bytes(p, LINK(trace_id), ln->trace_id, sizeof ln->trace_id);
    p = put_bytes(p, LINK(span_id), ln->span_id, sizeof ln->span_id);
    return put_opt_str(p, LINK(trace_state), sc_span_str(sp, ln->trace_state));
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
        stored_attrs_size(sp, span_attrs(sp)) + varint_field_size(sp->dropped_attributes_count) +
        varint_field_size(sp->dropped_events_count) + varint_field_size(sp->dropped_links_count);
    for (size_t i = 0; i < n_events(sp); i++)
        n += len_field_size(event_size(sp, &sp->events[i]));
    for (size_t i = 0; i < n_links(sp); i++)
        n += len_field_size(link_size(&sp->links[i]));
    if (sp->status != SC_SPAN_STATUS_UNSET)
        n += len_field_size(status_size(sp));
    return n;
}

/* The span's fields, without its own tag and length: span_size(sp) bytes. */
static uint8_t *put_span(uint8_t *p, const sc_span *sp)
{
    p = put_bytes(p, SPAN(trace_id), sp->trace_id, sizeof sp->trace_id);
    p = put_bytes(p, SPAN(span_id), sp->span_id, sizeof sp->span_id);
    p = put_opt_str(p, SPAN(trace_state), sc_span_str(sp, sp->trace_state));
    if (sp->has_parent)
        p = put_bytes(p, SPAN(parent_span_id), sp->parent_span_id, sizeof sp->parent_span_id);
    p = put_opt_str(p, SPAN(name), sc_span_str(sp, sp->name));
    p = put_opt_varint(p, SPAN(kind), sp->kind);
    p = put_opt_fixed64(p, SPAN(start_time_unix_nano), sp->start_ns);
    p = put_opt_fixed64(p, SPAN(end_time_unix_nano), sp->end_ns);
    p = put_stored_attrs(p, SPAN(attributes), sp, span_attrs(sp));
    p = put_opt_varint(p, SPAN(dropped_attributes_count), sp->dropped_attributes_count);
    for (size_t i = 0; i < n_events(sp); i++)
        p = put_event(p, sp, &sp->events[i]);
    p = put_opt_varint(p, SPAN(dropped_events_count), sp->dropped_events_count);
    for (size_t i = 0; i < n_links(sp); i++)
        p = put_link(p, sp, &sp->links[i]);
    p = put_opt_varint(p, SPAN(dropped_links_count), sp->dropped_links_count);
    if (sp->status == SC_SPAN_STATUS_UNSET)
        return p;
    p = put_len(p, SPAN(status), status_size(sp));
    p = put_opt_str(p, STATUS_MESSAGE, status_message(sp));
    return put_opt_varint(p, STATUS_CODE, sp->status);
}

size_t sc_otlp_span_writer_spans_size(const sc_span *v, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += len_field_size(span_size(&v[i]));
    return total;
}

/* Every span is checked against its room and its computed size as it is written, so a sizing bug
 * stops at the span that has it. */
uint8_t *sc_otlp_span_writer_put_spans(uint8_t *p, const uint8_t *end, uint8_t tag_byte,
                                       const sc_span *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t body = span_size(&v[i]);
        if ((size_t)(end - p) < len_field_size(body))
            return NULL;
        *p++ = tag_byte;
        p = put_varint(p, body);
        uint8_t *start = p;
        p = put_span(p, &v[i]);
        if ((size_t)(p - start) != body)
            return NULL;
    }
    return p;
}
