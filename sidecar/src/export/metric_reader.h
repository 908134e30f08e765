/* metric_reader.h - owns: the periodic metric reader: every interval it collects the registry
 * (sc_metrics_collect), has the snapshot encoded, RELEASES the snapshot at once (only the
 * encoded bytes are kept, for retries) and hands the bytes to the owner's transport.
 *
 * At most max_concurrent periodic payloads are in flight; a tick that finds them all busy skips
 * its collection (lossless: cumulative points carry everything, and delta state keeps
 * accumulating until the next collection). The shutdown collection may use one more. Empty
 * collections send nothing: an empty envelope is never sent. Loop-thread only. */
#ifndef SC_EXPORT_METRIC_READER_H
#define SC_EXPORT_METRIC_READER_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/env.h"
#include "export/result.h"
#include "telemetry/metrics.h"

typedef struct sc_metric_reader sc_metric_reader;

typedef struct sc_metric_reader_ops {
    /* Optional: runs right before each collection (to observe gauges such as queue sizes). */
    void (*before_collect)(void *arg);
    /* Encodes the snapshot into `out`. 0, -ENODATA (no points: nothing is sent), or another
     * negative errno (the points are dropped: EXPORT_FAILED). */
    int (*encode)(void *arg, const sc_metrics_snapshot *snap, sc_buf *out);
    /* Starts exporting the payload of n points; takes its bytes. 0: the owner later calls
     * sc_metric_reader_complete exactly once. An error: the owner has counted the drop. */
    int (*send)(void *arg, sc_buf *payload, size_t n_points);
    /* n points dropped by the reader itself (encode failure). */
    void (*dropped)(void *arg, size_t n, sc_export_drop_reason reason, const char *error_type);
    void *arg;
} sc_metric_reader_ops;

typedef struct sc_metric_reader_opts {
    sc_metrics *metrics;      /* not owned */
    uint64_t interval_ms;     /* >= 1 */
    unsigned max_concurrent;  /* >= 1 */
    size_t max_request_bytes; /* cap on one encoded request */
    sc_metric_reader_ops ops;
} sc_metric_reader_opts;

int sc_metric_reader_new(sc_metric_reader **out, const sc_env *env,
                         const sc_metric_reader_opts *opts); /* 0, -EINVAL, -ENOMEM */
int sc_metric_reader_start(sc_metric_reader *r);
void sc_metric_reader_stop(sc_metric_reader *r); /* no more periodic collections */

/* Collects and sends now. final: may use the one extra slot (shutdown). Returns 1 when a payload
 * was sent, 0 when there was nothing to send or no free slot, or a negative errno (collection
 * or encoding failed; counted through ops.dropped when points were lost). */
int sc_metric_reader_collect_now(sc_metric_reader *r, int final);

void sc_metric_reader_complete(sc_metric_reader *r); /* one payload's export ended */
unsigned sc_metric_reader_in_flight(const sc_metric_reader *r);
uint64_t sc_metric_reader_skipped(const sc_metric_reader *r); /* ticks skipped: all busy */

/* Closes the timer, frees, then closed(arg) (may be NULL); never from inside this call. */
void sc_metric_reader_close(sc_metric_reader *r, void (*closed)(void *arg), void *arg);

#endif
