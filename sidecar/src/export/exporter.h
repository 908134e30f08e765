/* exporter.h - owns: sc_exporter, everything between finished telemetry and a collector: the span
 * queue's consumer (batch span processor, batch.h), the periodic metric reader
 * (metric_reader.h), one transport per signal (OTLP/HTTP, otlp_http.h, over the daemon's shared
 * sc_http_client; or the file/console writer, file_exporter.h), the exporter self-metrics, the
 * shutdown flush and the readiness ("not wedged") check.
 *
 * Self-metrics: see export_stats.h.
 *
 * Delivery policy (OTLP/HTTP spec): retry 429/502/503/504 and connection-level failures with
 * full-jitter exponential backoff or Retry-After; never retry anything else; a payload's retries
 * end when its budget (exporter.batch.export_timeout for spans, exporter.metrics_timeout for
 * metrics) would be exceeded; each request is bounded by exporter.otlp.timeout.
 *
 * Readiness: a signal is WEDGED when its exports have been failing (no successful attempt) for
 * longer than its window W AND the latest failure is less than W old (a failure followed by
 * silence heals by itself after W), or when spans have been pending for W without any export
 * starting. W = 3 x (schedule_delay + export_timeout) for traces, 3 x (metrics_interval +
 * metrics_timeout) for metrics.
 *
 * Loop-thread only. */
#ifndef SC_EXPORT_EXPORTER_H
#define SC_EXPORT_EXPORTER_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/env.h"
#include "export/backoff.h"
#include "export/export_stats.h"
#include "export/result.h"
#include "loop/http_client.h"
#include "telemetry/metrics.h"
#include "telemetry/resource.h"
#include "telemetry/schema.h"
#include "telemetry/span_queue.h"

#define SC_EXPORTER_DEFAULT_CONCURRENCY 2 /* payloads in flight per signal */

typedef struct sc_exporter sc_exporter;

/* Knobs that are not configuration keys; tests shorten them. Zero fields take the defaults. */
typedef struct sc_exporter_tuning {
    sc_backoff_policy backoff; /* all zero: sc_backoff_policy_default */
    unsigned max_concurrent;   /* per signal; 0: SC_EXPORTER_DEFAULT_CONCURRENCY */
    unsigned file_queue;       /* lines queued behind a write; 0: the file exporter's default */
    int console_fd;            /* where CONSOLE writes; 0: stdout */
} sc_exporter_tuning;

typedef struct sc_exporter_deps {
    const sc_env *env;
    const sc_config *cfg;        /* read at creation; must outlive the exporter */
    sc_http_client *http;        /* shared; required when a signal is exported with OTLP */
    const sc_resource *resource; /* required when anything is exported */
    sc_span_queue *spans; /* the daemon's queue (capacity exporter.batch.max_queue_size); required
                             when traces are exported */
    sc_metrics *metrics;  /* required when metrics are exported; else optional (self-metrics) */
    /* Optional: the instruments of sc_metrics_register_schema ([SC_METRIC__COUNT]) when the daemon
     * registered the schema; NULL: the exporter registers its own six from the schema table. */
    sc_instrument *const *instruments;
    const sc_exporter_tuning *tuning; /* optional */
    /* Optional: sees every snapshot the metric reader collects, before it is encoded (the
     * Prometheus endpoint accumulates delta snapshots from here). */
    void (*on_metrics_snapshot)(void *arg, const sc_metrics_snapshot *snap);
    void *on_metrics_snapshot_arg;
} sc_exporter_deps;

typedef struct sc_exporter_stats {
    sc_exporter_signal_stats traces, metrics;
} sc_exporter_stats;

/* Builds every part from cfg (endpoints, headers, protocols, TLS files, the file/console
 * writers, which open their file here). Nothing is sent before sc_exporter_start. Returns 0,
 * -EINVAL (a required dependency missing), -ENOMEM, or a file open error. */
int sc_exporter_new(sc_exporter **out, const sc_exporter_deps *deps);

/* Starts the batch processor and the metric reader timers. 0 or a negative errno. */
int sc_exporter_start(sc_exporter *e);

/* 1 when spans are exported (not sdk.disabled, exporter.traces != NONE): sources should not
 * create spans (nor reserve queue slots) otherwise. */
int sc_exporter_traces_enabled(const sc_exporter *e);
/* 1 when metrics are exported (a metric reader collects periodically). */
int sc_exporter_metrics_enabled(const sc_exporter *e);
/* Records the span queue's size and capacity gauges now (the reader does it before collecting;
 * a Prometheus scrape does it before its own collection). */
void sc_exporter_observe_queue(sc_exporter *e);

/* For producers that found the queue full (reserve returned NULL) or otherwise lost spans:
 * counts n items in sidecar.telemetry.dropped{error.type=reason} and the traces stats.
 * sc_recorder already records that metric for its own queue-full drops: for those, call
 * sc_exporter_note_drop instead (stats only), or they are counted twice. */
void sc_exporter_count_drop(sc_exporter *e, sc_export_drop_reason reason, uint64_t n);
void sc_exporter_note_drop(sc_exporter *e, sc_export_drop_reason reason, uint64_t n);

/* Shutdown flush: stops the timers, exports every pending span (several batches, max
 * concurrency) and one final metric collection, and gives up `deadline_ms` milliseconds from
 * now: then every request still in flight is cancelled and done runs. done(arg, all_delivered)
 * runs exactly once, from a loop callback; all_delivered = 1 when every item handled during the
 * flush was accepted by the receiver. -EALREADY if a flush was already requested, -ESHUTDOWN
 * when closing (done then never runs). Spans still queued are counted as dropped (shutdown) at
 * close. */
int sc_exporter_flush(sc_exporter *e, uint64_t deadline_ms,
                      void (*done)(void *arg, int all_delivered), void *arg);

/* Cancels what is in flight (counted as dropped: shutdown), releases every span back to the
 * queue as not accepted, closes every handle, frees, then closed(arg) (may be NULL); never from
 * inside this call. A flush still running completes first with all_delivered = 0. NULL ok. The
 * http client, queue, registry and resource must stay alive until closed runs. */
void sc_exporter_close(sc_exporter *e, void (*closed)(void *arg), void *arg);

/* 1 when no exported signal is wedged (see the header comment); else 0 and *reason (may be
 * NULL) is a static description. */
int sc_exporter_healthy(const sc_exporter *e, const char **reason);

void sc_exporter_get_stats(const sc_exporter *e, sc_exporter_stats *out);

#endif
