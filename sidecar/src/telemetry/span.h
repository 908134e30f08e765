/* span.h - owns: sc_span, a finished-or-being-filled span stored in ONE fixed-size struct (no
 * heap), plus span ids and the W3C traceparent parser/formatter.
 *
 * Layout. Every variable-length byte (name, trace_state, status message, attribute keys and
 * string values, event names, link trace_state) lives in the span's own `arena`; the struct holds
 * (offset, length) references into it (sc_span_ref), so a span can sit in a preallocated queue
 * slot and be encoded straight from there. Do not copy a span's fields by hand across spans: the
 * references are relative to the span they are in (memcpy of a whole sc_span is fine).
 *
 * Limits follow the OTel SDK span limits, with small fixed caps: attributes past
 * SC_SPAN_MAX_ATTRS, or that no longer fit the arena, are dropped and counted in
 * dropped_attributes_count; string values longer than SC_SPAN_ATTR_VALUE_MAX are truncated (at a
 * UTF-8 boundary), not dropped; events/links past their caps are counted in
 * dropped_events_count / dropped_links_count. Setting an existing key overwrites it.
 *
 * Reading (for encoders): scalar fields are plain; sc_span_str() resolves a reference;
 * sc_span_attr_get() turns a stored attribute (span, event) back into an sc_attr. */
#ifndef SC_TELEMETRY_SPAN_H
#define SC_TELEMETRY_SPAN_H

#include <stddef.h>
#include <stdint.h>

#include "core/rng.h"
#include "telemetry/attr.h"

#define SC_SPAN_MAX_ATTRS       32
#define SC_SPAN_MAX_EVENTS      4
#define SC_SPAN_MAX_EVENT_ATTRS 8 /* shared by all events of one span */
#define SC_SPAN_MAX_LINKS       2
#define SC_SPAN_ATTR_VALUE_MAX  256 /* bytes per string value or string-array item */
#define SC_SPAN_ARRAY_MAX       16  /* items kept per string-array value; the rest are cut */
#define SC_SPAN_NAME_MAX        128
#define SC_SPAN_STATUS_MSG_MAX  128
#define SC_SPAN_TRACE_STATE_MAX 256 /* longer: list members are dropped from the end */
#define SC_SPAN_ARENA_SIZE      1152

#define SC_TRACEPARENT_LEN 55 /* "00-" 32 hex "-" 16 hex "-" 2 hex */

/* OTLP Span.SpanKind numbers. */
typedef enum {
    SC_SPAN_KIND_UNSPECIFIED = 0,
    SC_SPAN_KIND_INTERNAL = 1,
    SC_SPAN_KIND_SERVER = 2,
    SC_SPAN_KIND_CLIENT = 3,
    SC_SPAN_KIND_PRODUCER = 4,
    SC_SPAN_KIND_CONSUMER = 5
} sc_span_kind;

/* OTLP Status.StatusCode numbers. */
typedef enum {
    SC_SPAN_STATUS_UNSET = 0,
    SC_SPAN_STATUS_OK = 1,
    SC_SPAN_STATUS_ERROR = 2
} sc_span_status;

#define SC_TRACE_FLAG_SAMPLED 0x01

typedef struct sc_span_ref {
    uint16_t off, len; /* bytes arena[off .. off+len); len 0 means empty */
} sc_span_ref;

/* A stored attribute (16 bytes). Read it with sc_span_attr_get. */
typedef struct sc_span_attr {
    sc_span_ref key;
    uint8_t type;    /* sc_attr_type */
    uint8_t n_items; /* string arrays: number of items */
    uint16_t reserved;
    union {
        int64_t i;
        double d;
        int64_t b;
        sc_span_ref s; /* string: the bytes; string array: packed items (u16 LE length, bytes) */
    } v;
} sc_span_attr;

typedef struct sc_span_event {
    uint64_t time_ns;
    sc_span_ref name;
    uint8_t first_attr; /* index into sc_span.event_attrs */
    uint8_t n_attrs;
    uint16_t dropped_attributes_count;
} sc_span_event;

typedef struct sc_span_link {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    sc_span_ref trace_state;
    uint8_t trace_flags;
    uint8_t reserved[3];
} sc_span_link;

/* A span context as carried by traceparent (or a local parent). */
typedef struct sc_span_context {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t trace_flags;
} sc_span_context;

typedef struct sc_span {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t parent_span_id[8]; /* valid when has_parent */
    uint64_t start_ns, end_ns; /* unix nanoseconds */
    uint64_t source_seq;       /* set by the source; acknowledged by the span queue */
    uint32_t dropped_attributes_count;
    uint32_t dropped_events_count;
    uint32_t dropped_links_count;
    sc_span_ref name;
    sc_span_ref trace_state; /* W3C tracestate, may be empty */
    sc_span_ref status_message;
    uint16_t arena_used;
    uint8_t has_parent;
    uint8_t parent_is_remote; /* parent came from a traceparent header (OTLP Span.flags bit 9) */
    uint8_t trace_flags;      /* W3C trace-flags (bit 0: sampled) */
    uint8_t kind;             /* sc_span_kind */
    uint8_t status;           /* sc_span_status */
    uint8_t source;           /* sc_source (schema.h): which source's checkpoint this span holds */
    uint8_t n_attrs;
    uint8_t n_events;
    uint8_t n_links;
    uint8_t n_event_attrs;
    sc_span_attr attrs[SC_SPAN_MAX_ATTRS];
    sc_span_event events[SC_SPAN_MAX_EVENTS];
    sc_span_attr event_attrs[SC_SPAN_MAX_EVENT_ATTRS];
    sc_span_link links[SC_SPAN_MAX_LINKS];
    char arena[SC_SPAN_ARENA_SIZE];
} sc_span;

/* Empties a span for reuse: every count, id and reference to zero. The arena bytes are not
 * cleared (never read past arena_used), so a fresh calloc'd slot is not touched beyond its head. */
void sc_span_reset(sc_span *span);

/* Random ids from `rng`, never all-zero (redrawn if so). With parent == NULL: a new trace id and
 * span id, has_parent = 0, trace_flags = SAMPLED. With a parent: its trace id and flags, a new
 * span id, parent_span_id = parent->span_id, has_parent = 1 (parent_is_remote is left to the
 * caller). Returns 0 or the rng's negative errno. */
int sc_span_new_ids(sc_span *span, sc_rng *rng, const sc_span_context *parent);

/* Stores the name (truncated to SC_SPAN_NAME_MAX at a UTF-8 boundary). Set it first: it shares
 * the arena with attributes. 0, or -ENOBUFS if the arena is full (name left as it was). */
int sc_span_set_name(sc_span *span, const char *p, size_t len);

/* Stores a W3C tracestate; past SC_SPAN_TRACE_STATE_MAX whole list members are dropped from the
 * end (never cut inside one). 0, or -ENOBUFS. */
int sc_span_set_trace_state(sc_span *span, const char *p, size_t len);

/* OTel status rules: UNSET is ignored, OK is final (later calls are ignored), the message is kept
 * only with ERROR (truncated to SC_SPAN_STATUS_MSG_MAX). msg may be NULL. */
void sc_span_set_status(sc_span *span, sc_span_status status, const char *msg, size_t msg_len);

/* Sets one attribute; an existing key is overwritten. 0 when stored; otherwise the attribute is
 * dropped, dropped_attributes_count incremented, and: -EINVAL (invalid attribute), -ENOSPC
 * (count limit), -ENOBUFS (arena full). */
int sc_span_set_attr(sc_span *span, const sc_attr *attr);

/* sc_span_set_attr for each; returns how many were dropped. */
size_t sc_span_set_attrs(sc_span *span, const sc_attr *attrs, size_t n);

/* Adds an event. Past SC_SPAN_MAX_EVENTS (or no arena room for its name): dropped_events_count
 * and -ENOSPC / -ENOBUFS. Event attributes that do not fit the shared pool or the arena are
 * counted in the event's dropped_attributes_count (the event itself is kept). */
int sc_span_add_event(sc_span *span, const char *name, size_t name_len, uint64_t time_ns,
                      const sc_attr *attrs, size_t n_attrs);

/* Adds a link to ctx (trace_state may be NULL). Past SC_SPAN_MAX_LINKS: dropped_links_count and
 * -ENOSPC. */
int sc_span_add_link(sc_span *span, const sc_span_context *ctx, const char *trace_state,
                     size_t trace_state_len);

/* Resolves a reference to a slice inside the span's arena (valid while the span is). */
static inline sc_attr_str sc_span_str(const sc_span *span, sc_span_ref r)
{
    return (sc_attr_str){span->arena + r.off, r.len};
}

/* Rebuilds a stored attribute (one of span->attrs or span->event_attrs) as an sc_attr pointing
 * into the span's arena (keys are stored NUL-terminated, so out->key is a C string). String
 * arrays fill items[] (caller-provided, SC_SPAN_ARRAY_MAX slots) and point out->v.arr at it. */
void sc_span_attr_get(const sc_span *span, const sc_span_attr *stored, sc_attr *out,
                      sc_attr_str items[SC_SPAN_ARRAY_MAX]);

/* Parses a W3C traceparent value. Version 00 must be exactly 55 chars. A higher version (not ff)
 * is parsed by the version-00 layout and may be longer only if char 55 is '-' (fields added by
 * later versions are ignored). Hex must be lowercase; all-zero trace or parent ids are invalid.
 * Pure. 0 and outputs set, or -EINVAL with outputs untouched. */
int sc_traceparent_parse(const char *p, size_t len, uint8_t trace_id[16], uint8_t parent_id[8],
                         uint8_t *flags);

/* Writes "00-<trace_id>-<span_id>-<flags>" for `span` (to propagate it as the parent of a
 * downstream call) and a NUL into out. Returns SC_TRACEPARENT_LEN. */
int sc_traceparent_format(const sc_span *span, char out[SC_TRACEPARENT_LEN + 1]);

#endif
