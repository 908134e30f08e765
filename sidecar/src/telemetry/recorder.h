/* recorder.h - owns: sc_recorder, which turns source records (record.h) into OTLP spans in the
 * span queue and measurements in the metrics registry, exactly as dashboards/telemetry-schema.md
 * documents (span names, kinds, parents, attribute sets per span and per metric, sampling).
 *
 * Per attempt record: one span ("{METHOD} {route}", the record's kind, a child of the record's
 * parent) and gateway.requests, gateway.retries, gateway.fallbacks, gateway.usage.missing, and
 * http.client.request.duration (canary) or http.server.request.duration (access log). GenAI
 * operation metrics (gen_ai.client.operation.duration, .time_to_first_chunk, .token.usage) are
 * recorded once per GenAI operation: per access-log line, and per canary RUN (the run span is the
 * GenAI span; its attempts are HTTP children), never per canary attempt.
 * Per run record: the run span, gateway.canary.runs, gateway.canary.last_success (on pass),
 * gateway.contract.violations (one per listed check) and the GenAI operation metrics.
 *
 * Sampling: spans of plain-success access-log lines (sc_record_attempt_plain_success) are kept
 * with probability span_sampling_ratio; every other span is kept. With a ratio below 1, kept
 * access-log spans carry the OTel probability-sampling tracestate ("ot=th:0" when always kept,
 * "ot=rv:<14 hex>;th:<hex>" when sampled) so span counts can be re-weighted; metrics are never
 * sampled. Randomness comes from env->rng.
 *
 * Failure handling: metrics are recorded before the span, so they are never lost to a full
 * queue. A full span queue drops the span, counts sidecar.telemetry.dropped{error.type=
 * queue_full}, logs the first drop of each full episode, and returns -ENOBUFS.
 *
 * No allocation per record (the metrics SDK allocates only for a new attribute set). Loop-thread
 * only. */
#ifndef SC_TELEMETRY_RECORDER_H
#define SC_TELEMETRY_RECORDER_H

#include <stdint.h>

#include "core/env.h"
#include "telemetry/metrics.h"
#include "telemetry/record.h"
#include "telemetry/span_queue.h"

/* sc_recorder_attempt's success value when the span was sampled out (metrics recorded, no span:
 * the source may treat source_seq as acknowledged once earlier spans are). */
#define SC_RECORDER_SAMPLED_OUT 1

typedef struct sc_recorder sc_recorder;

typedef struct sc_recorder_opts {
    /* Share of plain-success access-log spans kept, in [0, 1]. 1 keeps every span. */
    double span_sampling_ratio;
    /* 1: traces are not exported (exporter.traces = none, or the SDK is disabled): metrics are
     * recorded as usual and no span is queued; attempt and run calls return 0. */
    int spans_disabled;
} sc_recorder_opts;

typedef struct sc_recorder_stats {
    uint64_t spans_recorded;    /* committed to the span queue */
    uint64_t spans_sampled_out; /* plain-success access-log spans not kept */
    uint64_t spans_dropped;     /* span queue full */
    uint64_t records_invalid;   /* rejected with -EINVAL: nothing recorded */
    uint64_t metric_errors;     /* measurements the metrics SDK refused (it counts them too) */
} sc_recorder_stats;

/* Creates a recorder. env (loop unused; log optional; clock, rng required), queue and the
 * instruments must outlive it. `metrics` is the instrument table filled by
 * sc_metrics_register_schema (indexed by sc_metric_id; the pointers are copied, the array need
 * not outlive the call; every entry the recorder uses must be non-NULL). opts may be NULL (ratio
 * 1). 0, -EINVAL (missing argument, ratio outside [0, 1] or NaN) or -ENOMEM. */
int sc_recorder_new(sc_recorder **out, const sc_env *env, sc_span_queue *queue,
                    sc_instrument *const metrics[SC_METRIC__COUNT], const sc_recorder_opts *opts);
void sc_recorder_free(sc_recorder *r); /* accepts NULL */

/* A new root context for a canary run (new trace id and span id, flags sampled): put it in the
 * run record's ctx and in its attempts' parent. 0 or the rng's negative errno. */
int sc_recorder_begin_run(sc_recorder *r, sc_span_context *out);

/* A new span id in parent's trace (parent's flags), for an attempt whose traceparent must be
 * sent before the attempt ends: put it in the attempt record's span (has_span = 1). */
int sc_recorder_begin_attempt(sc_recorder *r, const sc_span_context *parent, sc_span_context *out);

/* Records one attempt. rec is borrowed for the call. Returns 0 (span queued),
 * SC_RECORDER_SAMPLED_OUT (metrics recorded, span not kept), -ENOBUFS (metrics recorded, span
 * dropped: queue full), -EINVAL (unknown source or kind, start after end, has_span with a
 * trace id other than the parent's: nothing recorded) or the rng's negative errno when span ids
 * had to be drawn and could not be (metrics recorded, no span). */
int sc_recorder_attempt(sc_recorder *r, const sc_attempt_record *rec);

/* Records one canary run (after its attempts). 0, -ENOBUFS (metrics recorded, span dropped) or
 * -EINVAL (all-zero ctx ids, empty operation, start after end: nothing recorded). */
int sc_recorder_run(sc_recorder *r, const sc_run_record *rec);

/* Counts one gateway.contract.violations{gateway.probe, gateway.contract.check}. sc_recorder_run
 * already counts its record's violations list: call this only for a violation found outside a
 * run record. 0 or the metrics SDK's negative errno. */
int sc_recorder_contract_violation(sc_recorder *r, sc_attr_str probe, sc_attr_str check);

sc_recorder_stats sc_recorder_get_stats(const sc_recorder *r);

#endif
