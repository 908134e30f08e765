/* batch.h - owns: the batch span processor, i.e. the CONSUMER side of the span queue: when to
 * export (a full batch is pending, or every schedule_delay), how much (at most max_batch spans,
 * fewer if the encoded request would pass max_request_bytes), how many at once (max_concurrent
 * payloads), and releasing spans back to the queue in FIFO order once their export has ended.
 *
 * Spans stay in their queue slots while in flight (the queue is the only buffer, so a slow or
 * absent collector fills it and producers see backpressure); the exporter only keeps the encoded
 * bytes. Exports may finish out of order, but the queue releases the OLDEST in-flight spans, so
 * a finished batch is released only once every older batch has finished too.
 *
 * What to encode and where to send it is the owner's (exporter.c), through sc_batch_ops. A full
 * batch is noticed on the next loop iteration (a uv_prepare check, O(1)), so producers need no
 * hook. Loop-thread only. */
#ifndef SC_EXPORT_BATCH_H
#define SC_EXPORT_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/env.h"
#include "export/otlp_proto.h"
#include "export/result.h"
#include "telemetry/span_queue.h"

typedef struct sc_batch sc_batch;

typedef struct sc_batch_ops {
    /* Encodes the spans into `out` (capped at max_request_bytes). Returns 0; -ENOBUFS (or
     * -EMSGSIZE / -E2BIG) when too big: the processor retries with half as many spans, and drops a
     * single span that still does not fit; any other error drops the spans (EXPORT_FAILED). */
    int (*encode)(void *arg, const sc_span_batch *spans, sc_buf *out);
    /* Starts exporting an encoded payload of n spans; takes its bytes in every case, and may
     * leave an emptied allocation in *payload, which the processor keeps for the next encode
     * (freed at close). 0: the owner
     * later calls sc_batch_complete(b, token, accepted) exactly once (never from inside send).
     * A negative errno: the export did not start, the owner has counted the drop itself, and the
     * processor releases the spans as not accepted. */
    int (*send)(void *arg, sc_buf *payload, size_t n, uint32_t token);
    /* n spans were dropped by the processor itself (never sent), for the owner's counters. */
    void (*dropped)(void *arg, size_t n, sc_export_drop_reason reason, const char *error_type);
    void *arg;
} sc_batch_ops;

typedef struct sc_batch_opts {
    sc_span_queue *queue;       /* not owned; outlives the processor */
    size_t max_batch;           /* >= 1 (exporter.batch.max_export_batch_size) */
    uint64_t schedule_delay_ms; /* >= 1 (exporter.batch.schedule_delay) */
    unsigned max_concurrent;    /* payloads in flight at once, >= 1 */
    size_t max_request_bytes;   /* cap on one encoded request */
    sc_batch_ops ops;
} sc_batch_opts;

/* `env` outlives the processor; opts copied. 0, -EINVAL, -ENOMEM. Nothing runs until start. */
int sc_batch_new(sc_batch **out, const sc_env *env, const sc_batch_opts *opts);
int sc_batch_start(sc_batch *b);

/* The export of `token` ended; accepted = 1 if the receiver took the spans (a partial success
 * counts as taken). Releases what can be released and may start the next export. */
void sc_batch_complete(sc_batch *b, uint32_t token, int accepted);

/* Shutdown flush: from now on every pending span is exported as fast as max_concurrent allows,
 * full batch or not; the periodic timer stops. */
void sc_batch_drain(sc_batch *b);

/* No new export starts after this (in-flight ones still complete). */
void sc_batch_stop(sc_batch *b);

/* Payloads exported (or dropped) whose spans are not released yet. */
unsigned sc_batch_in_flight(const sc_batch *b);

/* Drops every pending span (taken and released as not accepted, reported through ops.dropped
 * with `reason`) once nothing older is in flight; returns how many, 0 if it had to wait. */
size_t sc_batch_drop_pending(sc_batch *b, sc_export_drop_reason reason);

/* mono ns of the last export started (0: none yet), for the wedge check. */
uint64_t sc_batch_last_export_ns(const sc_batch *b);

/* Stops, closes the handles, frees, then closed(arg) (may be NULL), never from inside this call.
 * In-flight payloads must have completed (the owner closes its transports first). NULL ok. */
void sc_batch_close(sc_batch *b, void (*closed)(void *arg), void *arg);

#endif
