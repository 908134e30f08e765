/* export_stats.h - owns: the exporter's bookkeeping about itself: per-signal counters (for the
 * live view), their mirror in the self-metric instruments, and the readiness ("wedged") state.
 *
 * Self-metrics (names and attribute sets as dashboards/telemetry-schema.md pins them):
 *   otel.sdk.exporter.span.exported, .metric_data_point.exported: once per item and export;
 *       error.type = the final cause on failure, "rejected" for partial-success rejections;
 *   otel.sdk.exporter.operation.duration: per payload, all attempts included, s; error.type on
 *       failure, http.response.status_code of the last response when there was one;
 *       these three also carry otel.component.type/.name and server.address/.port of the
 *       signal's exporter when it has them (sc_export_stats_set_identity: OTLP sinks);
 *   otel.sdk.processor.span.queue.size / .capacity: observed (sc_export_stats_queue), as
 *       batching_span_processor/0;
 *   sidecar.telemetry.dropped: items by error.type = sc_export_drop_reason_name().
 *
 * Wedged: a signal's attempts have been failing (no success since) for longer than its window,
 * and the latest failure is less than one window old (a failure followed by silence heals on its
 * own). Plain struct embedded by the exporter; time from the injected clock. */
#ifndef SC_EXPORT_EXPORT_STATS_H
#define SC_EXPORT_EXPORT_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"
#include "export/result.h"
#include "telemetry/metrics.h"
#include "telemetry/schema.h"

typedef struct sc_exporter_signal_stats {
    uint64_t exported; /* items the receiver accepted (partial-success rejections excluded) */
    uint64_t rejected; /* items refused in partial successes */
    uint64_t failed;   /* items whose export ended without delivery (every reason but queue_full) */
    uint64_t dropped[SC_EXPORT_DROP__COUNT]; /* items by reason */
    uint64_t payloads;                       /* export requests whose outcome is known */
    uint64_t requests;                       /* attempts: HTTP requests or file writes */
    uint64_t retries;                        /* attempts beyond the first */
    unsigned in_flight;                      /* payloads being exported or waiting to retry */
    uint64_t last_success_ns; /* wall clock of the last successful attempt; 0: none */
} sc_exporter_signal_stats;

typedef struct sc_export_signal_state {
    sc_exporter_signal_stats st;
    uint64_t window_ns;
    uint64_t failing_since_ns, last_failure_ns; /* mono; failing_since 0: not failing */
    const char *component_type;                 /* NULL: no identity attributes */
    char component_name[64];
    const char *server_address; /* borrowed; NULL: none */
    int server_port;
} sc_export_signal_state;

typedef struct sc_export_stats {
    const sc_clock *clock;
    sc_instrument *inst[SC_METRIC__COUNT]; /* only the six self-metrics are set */
    sc_export_signal_state sig[SC_EXPORT__SIGNALS];
} sc_export_stats;

/* Zeroes *s and finds the instruments: taken from `instruments` ([SC_METRIC__COUNT], from
 * sc_metrics_register_schema) when given, else created in `m` from the schema table, else (both
 * NULL) none: counters only. 0 or sc_metrics_instrument's error (-EEXIST: the registry already
 * has them; pass `instruments`). */
int sc_export_stats_init(sc_export_stats *s, const sc_clock *clock, sc_metrics *m,
                         sc_instrument *const *instruments);

void sc_export_stats_set_window(sc_export_stats *s, sc_export_signal sig, uint64_t window_ms);

/* The exporter's identity on the signal's self-metrics: component_type (static storage, NULL:
 * none; the name is "<type>/0"), server_address (borrowed, must outlive s; NULL: none). */
void sc_export_stats_set_identity(sc_export_stats *s, sc_export_signal sig,
                                  const char *component_type, const char *server_address,
                                  int server_port);

/* One attempt (request or write) ended: ok = success. Drives the wedge state. */
void sc_export_stats_attempt(sc_export_stats *s, sc_export_signal sig, int ok);

/* A payload of n items reached its outcome. Returns 1 when every item was accepted. */
int sc_export_stats_result(sc_export_stats *s, sc_export_signal sig, uint64_t n,
                           const sc_export_result *r);

/* Counters only (no metric): for drops some other module already recorded in the registry. */
void sc_export_stats_note(sc_export_stats *s, sc_export_signal sig, uint64_t n,
                          sc_export_drop_reason reason);

/* n items lost without a payload outcome (encode or send failure, shutdown, producers' drops).
 * error_type labels the exported counter (NULL: only sidecar.telemetry.dropped is recorded,
 * as for items that never reached an exporter, e.g. queue_full). */
void sc_export_stats_lost(sc_export_stats *s, sc_export_signal sig, uint64_t n,
                          sc_export_drop_reason reason, const char *error_type);

void sc_export_stats_queue(sc_export_stats *s, size_t size, size_t capacity);

/* NULL unless `sig` is wedged; then a static description. */
const char *sc_export_stats_wedged(const sc_export_stats *s, sc_export_signal sig);

#endif
