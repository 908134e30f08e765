/* otlp_proto.h - owns: OTLP/protobuf encoding of export requests straight from telemetry storage
 * (spans in span-queue slots, a metrics snapshot); otlp_proto_response.h decodes the answers.
 *
 * Encoding uses the nanopb code generated from proto/ with callbacks that read spans, attributes
 * and metric points in place; Spans and KeyValues, the bulk of a request, are sized by arithmetic
 * and written with direct stores by otlp_span_writer.h (which says why): nothing is copied or
 * allocated besides growth of `out` itself. A reused buffer that has room is written in one
 * pass, in place, and never allocates; otherwise a size pass runs first, so a request that does
 * not fit the cap is refused with `out` unchanged, and `out` grows once to the exact need.
 *
 * Fields deliberately never encoded: Span.flags, Span.Link.flags and Metric.metadata (the
 * official decoder the tests use, opentelemetry-proto v1.0.0, predates them). Default values
 * (empty strings, zero counts, UNSET status, kind UNSPECIFIED) are left out, as proto3 does;
 * an attribute whose string value is empty still carries AnyValue.string_value = "" so its type
 * survives.
 *
 * Every request has exactly one ResourceSpans/ResourceMetrics (the resource) with one
 * ScopeSpans/ScopeMetrics (scope name "comet-sidecar", version SC_VERSION).
 *
 * Ownership: every argument is borrowed for the duration of the call. */
#ifndef SC_EXPORT_OTLP_PROTO_H
#define SC_EXPORT_OTLP_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "telemetry/metrics.h"
#include "telemetry/resource.h"
#include "telemetry/span.h"

#define SC_OTLP_SCOPE_NAME "comet-sidecar"

/* A batch of spans as the span queue hands them out (sc_span_queue_peek): up to two contiguous
 * runs, first[0..n_first) then second[0..n_second) (ring wraparound). A NULL run must have n 0. */
typedef struct sc_span_batch {
    const sc_span *first;
    size_t n_first;
    const sc_span *second;
    size_t n_second;
} sc_span_batch;

/* Appends an ExportTraceServiceRequest holding every span of the batch (an empty batch gives a
 * request with no spans) to out. 0; -ENOBUFS if it would pass out's cap (out unchanged);
 * -ENOMEM (out unchanged); -EINVAL for a bad argument. */
int sc_otlp_proto_encode_traces(const sc_resource *res, const sc_span_batch *batch, sc_buf *out);

/* Appends an ExportMetricsServiceRequest with every metric of the snapshot that has points:
 * COUNTER -> Sum(monotonic, snapshot temporality, as_int); UPDOWN_COUNTER -> Sum(non-monotonic,
 * CUMULATIVE, as_int); GAUGE -> Gauge(as_double, no start time); HISTOGRAM -> Histogram(snapshot
 * temporality; count, sum, bucket_counts, explicit_bounds; min and max only when count > 0).
 * 0; -ENODATA if no metric has a point (no empty envelope is ever written); -ENOBUFS, -ENOMEM
 * (out unchanged); -EINVAL (bad argument or unknown metric kind). */
int sc_otlp_proto_encode_metrics(const sc_resource *res, const sc_metrics_snapshot *snap,
                                 sc_buf *out);

#endif
