/* result.h - owns: the outcome of one export payload over its whole life (every attempt), the
 * type the transports (otlp_http, file_exporter) report and the pipelines record, and the drop
 * reasons of sidecar.telemetry.dropped (error.type). Header only: types and one name table. */
#ifndef SC_EXPORT_RESULT_H
#define SC_EXPORT_RESULT_H

#include "telemetry/schema.h"

#include <stdint.h>

typedef enum { SC_EXPORT_TRACES = 0, SC_EXPORT_METRICS, SC_EXPORT__SIGNALS } sc_export_signal;

/* Why telemetry items were dropped (sidecar.telemetry.dropped, error.type). */
typedef enum {
    SC_EXPORT_DROP_QUEUE_FULL = 0,  /* the span queue was full (counted by producers) */
    SC_EXPORT_DROP_EXPORT_FAILED,   /* could not be encoded, written or sent at all */
    SC_EXPORT_DROP_NON_RETRYABLE,   /* the receiver refused it for good (400, 401, 413, ...) */
    SC_EXPORT_DROP_RETRY_EXHAUSTED, /* retryable failures until the payload's retry budget ran out
                                     */
    SC_EXPORT_DROP_SHUTDOWN,        /* still queued or in flight when the shutdown deadline came */
    SC_EXPORT_DROP__COUNT
} sc_export_drop_reason;

/* "queue_full", "export_failed", "non_retryable", "retry_exhausted", "shutdown"; NULL out of
 * range. Static storage. */
static inline const char *sc_export_drop_reason_name(sc_export_drop_reason r)
{
    static const char *const names[SC_EXPORT_DROP__COUNT] = {
        SC_DROP_REASON_QUEUE_FULL,      SC_DROP_REASON_EXPORT_FAILED, SC_DROP_REASON_NON_RETRYABLE,
        SC_DROP_REASON_RETRY_EXHAUSTED, SC_DROP_REASON_SHUTDOWN,
    };
    return (unsigned)r < SC_EXPORT_DROP__COUNT ? names[r] : 0;
}

typedef struct sc_export_result {
    int delivered;                /* 1: the receiver accepted the request (maybe partially) */
    sc_export_drop_reason reason; /* !delivered: why the payload was dropped */
    const char *error_type; /* !delivered: "503", "connect", "EIO"...; valid in the callback */
    int64_t rejected;       /* delivered: items refused in a partial success */
    long http_status;       /* last HTTP status received; 0 if none or not HTTP */
    unsigned attempts;      /* requests or writes made (retries = attempts - 1) */
    double duration_s;      /* from the first attempt to the outcome */
} sc_export_result;

typedef void (*sc_export_done_cb)(const sc_export_result *r, void *arg);

#endif
