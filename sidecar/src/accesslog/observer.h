/* observer.h - owns: sc_observer, the access-log SOURCE: it follows the gateway's access log
 * (tail.h), turns every line into one attempt record (layout.h parse -> derive.h -> record.h) for
 * the recorder, counts what it reads in the sidecar.accesslog.* self-metrics, and acknowledges
 * lines to the tailer (whose checkpoint survives restarts) only once their spans were accepted.
 *
 * Per line: parse; a malformed line is counted in sidecar.accesslog.lines.malformed{error.type=
 * reason} and skipped. Otherwise a SERVER span "{METHOD} {http.route}" (route template only: the
 * raw path and query never reach telemetry; a path no template matches has no http.route), ending
 * at the logged time (or starting there when the format logs the start) and lasting the logged
 * duration, child of the line's traceparent (remote parent) so it joins the application's trace.
 * Values copied from the line into telemetry (method, model, host, request id) are dropped unless
 * they are short, printable, valid UTF-8.
 *
 * At least once. The span queue reports, per source, the highest seq all of whose spans were
 * released (on_ack, after each export). A line makes at most one span, so the observer keeps the
 * seqs of its spans still in the queue in a FIFO ring (seqs increase; the ring never holds more
 * than the queue's capacity): the tailer may be acknowledged up to just before the oldest of them,
 * or up to the last line handled when the ring is empty. So lines without a span (malformed,
 * sampled out, spans disabled, span dropped on a full queue) are acknowledged as soon as every
 * earlier span is, in order, and never ahead of one. The tailer turns seqs into per-batch
 * checkpoints (tail.h: after a crash up to one batch is read again).
 *
 * A span the exporter gave up on (accepted = 0: retry budget exhausted, or refused for good) has
 * already been counted as dropped (sidecar.telemetry.dropped); while running its line is still
 * acknowledged (counted in stats.lost): holding the checkpoint back would wedge it - and with it
 * the tailer's bounded ack ring, so reading - for as long as the process lives, to re-send spans
 * after a restart that the same collector already refused. Once draining (sc_observer_stop), an
 * unaccepted span does NOT advance the checkpoint: those are the spans cut off by the shutdown
 * deadline, and the next run reads their lines again.
 *
 * Backpressure. The file is the buffer. The tailer hands lines over in batches of up to B lines
 * (B = min(512, capacity / 4)), each processed whole, so the observer pauses the tailer BEFORE a
 * batch could overflow the queue: when fewer than B + reserve slots are left for its spans
 * (reserve = min(64, capacity / 8), room for canary spans); it resumes once its spans in the
 * queue are down to half the capacity. The queue's own on_full / on_drained (any producer filled
 * it) pause and resume it too. sidecar.accesslog.paused is 1 while either holds.
 *
 * Self-metrics: lines.read and .parsed per batch, .malformed per line; .too_long, .rotations and
 * .truncations (from the tailer's counters), .lag and .paused are updated every stats interval
 * and at stop.
 *
 * Loop-thread only. */
#ifndef SC_ACCESSLOG_OBSERVER_H
#define SC_ACCESSLOG_OBSERVER_H

#include <stddef.h>
#include <stdint.h>

#include "accesslog/tail.h"
#include "config/config.h"
#include "core/env.h"
#include "telemetry/metrics.h"
#include "telemetry/recorder.h"
#include "telemetry/schema.h"

#define SC_OBSERVER_DEFAULT_STATS_MS 1000

typedef struct sc_observer sc_observer;

typedef struct sc_observer_opts {
    const sc_config_access_log *cfg; /* path required; read during sc_observer_new only */
    sc_recorder *recorder;           /* outlives the observer */
    /* sc_metrics_register_schema's table: the SC_METRIC_ACCESSLOG_* entries are used (non-NULL);
     * the pointers are copied. */
    sc_instrument *const *instruments;
    size_t queue_capacity;          /* the span queue's capacity (exporter.batch.max_queue_size) */
    uint32_t stats_interval_ms;     /* 0: SC_OBSERVER_DEFAULT_STATS_MS */
    uint32_t reconcile_interval_ms; /* tailer probe period with inotify; 0: the tailer's default */
} sc_observer_opts;

typedef struct sc_observer_stats {
    uint64_t lines;       /* delivered by the tailer */
    uint64_t parsed;      /* became records */
    uint64_t malformed;   /* skipped (by reason in the metric) */
    uint64_t spans;       /* queued */
    uint64_t sampled_out; /* recorded as metrics only */
    uint64_t span_drops;  /* the queue was full (counted by the recorder) */
    uint64_t lost;        /* queued spans the exporter gave up on, lines acknowledged anyway */
    uint64_t acked_seq;   /* highest line seq acknowledged to the tailer */
    uint64_t in_queue;    /* this source's spans not yet released */
    int paused;           /* backpressure in effect */
    int stopped;          /* sc_observer_stop was called */
    sc_tail_stats tail;
} sc_observer_stats;

/* Compiles the layout (config errors: -EINVAL with the message in err), creates the tailer and
 * the ack ring. Nothing is read until sc_observer_start. 0, -EINVAL or -ENOMEM. */
int sc_observer_new(sc_observer **out, const sc_env *env, const sc_observer_opts *opts, char *err,
                    size_t err_cap);
int sc_observer_start(sc_observer *o); /* 0 or the tailer's negative errno */

/* The span queue's hooks (app/pipeline.h sc_pipeline_source_hooks, arg = the observer). on_ack
 * ignores other sources. */
void sc_observer_on_full(void *observer);
void sc_observer_on_drained(void *observer);
void sc_observer_on_ack(void *observer, sc_source source, uint64_t seq, int accepted);

/* Draining: stops reading and delivering lines for good; the spans already queued are still
 * acknowledged as the pipeline flushes them. Updates the self-metrics once more. Idempotent. */
void sc_observer_stop(sc_observer *o);

void sc_observer_get_stats(const sc_observer *o, sc_observer_stats *out);

/* Closes the tailer, storing the acknowledged position as the final checkpoint, then frees the
 * observer and calls cb(arg) from a loop callback. Acks arriving after this call are ignored
 * (the caller unhooks the observer first). NULL o: nothing happens, cb is not called. */
void sc_observer_close(sc_observer *o, void (*cb)(void *arg), void *arg);

#endif
