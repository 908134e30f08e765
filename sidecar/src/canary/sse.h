/* sse.h - owns: an incremental Server-Sent Events parser (WHATWG HTML, "event stream
 * interpretation"), fed with whatever byte chunks the HTTP client delivers.
 *
 * Spec behaviour: lines end in CRLF, LF or CR (a CR ending one chunk and an LF starting the next
 * are one line end); one leading UTF-8 BOM is skipped; lines starting with ':' are comments; a
 * line without ':' is a field name with an empty value; one space after the colon is stripped;
 * "data" lines are joined with "\n"; "event" sets the type (default "message"); "id" sets the last
 * event ID (ignored if it contains NUL; it persists across events); "retry" sets the reconnection
 * time when it is all ASCII digits; unknown fields are ignored; a blank line dispatches the event
 * unless its data buffer is empty; at end of stream an unfinished event is discarded, never
 * dispatched. Splitting the input anywhere (even byte by byte) gives the same events. Bytes are
 * passed through as they are: no UTF-8 validation (the JSON parser downstream does that).
 *
 * Bounds: an event's data is at most max_event_bytes (after joining), its type at most
 * SC_SSE_TYPE_MAX - 1 bytes, an id at most SC_SSE_ID_MAX - 1 bytes. Lines are never buffered
 * (values are stored straight into those bounded buffers, comments and unknown fields are
 * skipped), so there is no separate line limit; the HTTP client's response cap bounds the stream.
 *
 * Oversize policy: NOT fatal. An event that passes a bound is dropped whole: its remaining lines
 * are skipped up to the blank line that ends it, it is never dispatched, and
 * sc_sse_stats.oversize counts it; the parser then carries on with the next event. A caller that
 * must not miss events (the canary: a dropped terminal event would read as a cut stream) checks
 * oversize after the stream and treats a nonzero count as a parse error.
 *
 * Storage: one sc_buf (data, capped at max_event_bytes + 1, allocated on first use and reused)
 * and fixed arrays inside the struct, which callers embed. Not thread-safe; the callback must not
 * call back into the same parser. */
#ifndef SC_CANARY_SSE_H
#define SC_CANARY_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define SC_SSE_TYPE_MAX 128
#define SC_SSE_ID_MAX   256

/* Valid only during the callback. type, data and id are NUL-terminated for convenience, but the
 * lengths are authoritative (data may contain NUL bytes). */
typedef struct sc_sse_event {
    const char *type; /* "message" when the event had no (or an empty) "event" field */
    size_t type_len;
    const char *data; /* data lines joined with "\n", the final "\n" removed */
    size_t data_len;
    const char *id; /* last event ID at dispatch time ("" when never set) */
    size_t id_len;
} sc_sse_event;

/* Return 0 to continue; anything else stops parsing: sc_sse_feed returns -ECANCELED. */
typedef int (*sc_sse_event_cb)(const sc_sse_event *ev, void *arg);

typedef struct sc_sse_stats {
    uint64_t events;   /* dispatched */
    uint64_t oversize; /* dropped for passing a bound */
    uint64_t bytes;    /* fed */
} sc_sse_stats;

/* Embeddable; every field is private. */
typedef struct sc_sse {
    sc_buf data;
    char type[SC_SSE_TYPE_MAX];
    char id[SC_SSE_ID_MAX];
    char val[SC_SSE_ID_MAX]; /* value of the "event"/"id" line in progress */
    char name[8];            /* field name in progress (longer names are unknown fields) */
    size_t type_len, id_len, val_len;
    uint64_t retry_acc;
    int64_t retry_ms;
    sc_sse_event_cb cb;
    void *arg;
    sc_sse_stats stats;
    int err;
    uint8_t state, field, name_len, bom;
    bool cr, pending, poisoned, val_bad, retry_digits;
} sc_sse;

/* max_event_bytes: 1 .. 64 MiB. on_event is required; arg is passed to it. Returns 0 or -EINVAL.
 * The parser owns no memory until the first data line; release it with sc_sse_free. */
int sc_sse_init(sc_sse *p, size_t max_event_bytes, sc_sse_event_cb on_event, void *arg);

/* Parses len bytes (ptr may be NULL when len is 0); on_event runs for each completed event.
 * Returns 0, -EINVAL (bad arguments), -ECANCELED (a callback asked to stop) or -ENOMEM. Both
 * errors are sticky: later feeds return the same error until sc_sse_finish. */
int sc_sse_feed(sc_sse *p, const char *ptr, size_t len);

/* End of stream. Per spec the unfinished event is discarded, not dispatched. Returns 1 when
 * something was discarded (field lines without their terminating blank line, or a partial line
 * that was not a comment), 0 when the stream ended on an event boundary. Afterwards the parser is
 * ready for a new stream (a reconnect): the last event ID and retry value are kept, the BOM check
 * is re-armed, a sticky error is cleared. */
int sc_sse_finish(sc_sse *p);

/* Reconnection time from the last valid "retry" field in ms, or -1 if none was seen. */
int64_t sc_sse_retry_ms(const sc_sse *p);

void sc_sse_get_stats(const sc_sse *p, sc_sse_stats *out);

/* Frees the data buffer. Accepts NULL and a zeroed struct. */
void sc_sse_free(sc_sse *p);

#endif
