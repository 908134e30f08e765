/* otlp_json.h - owns: OTLP/JSON encoding of export requests (OTEL_EXPORTER_OTLP_PROTOCOL=http/json,
 * and the file/console exporters, one request per line); otlp_json_response.h decodes the
 * answers.
 *
 * The JSON is the protobuf JSON mapping with the OTLP/HTTP deviations: lowerCamelCase field
 * names; trace and span ids as lowercase hex (not base64); enums as integers; int64, fixed64 and
 * sfixed64 (timestamps, intValue, asInt, count, bucketCounts) as decimal strings; uint32 counts
 * and doubles as numbers (NaN and infinities as the strings "NaN", "Infinity", "-Infinity");
 * default values (empty strings, 0, false, UNSET status, empty lists) left out. The content is
 * exactly that of the protobuf encoder (otlp_proto.h) for the same input, field for field.
 *
 * Written with core/jsonw.h straight into the sc_buf: no JSON tree, no allocation besides growth
 * of `out`. Strings are escaped (control characters included), so a request is always a single
 * line: the caller appends "\n" for JSON-lines output.
 *
 * Ownership: every argument is borrowed for the duration of the call. */
#ifndef SC_EXPORT_OTLP_JSON_H
#define SC_EXPORT_OTLP_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "export/otlp_proto.h" /* sc_span_batch */
#include "telemetry/metrics.h"
#include "telemetry/resource.h"

/* Appends one ExportTraceServiceRequest as JSON. 0; -ENOBUFS / -ENOMEM (out unchanged); -EINVAL
 * for a bad argument. */
int sc_otlp_json_encode_traces(const sc_resource *res, const sc_span_batch *batch, sc_buf *out);

/* Appends one ExportMetricsServiceRequest as JSON, mapped as in sc_otlp_proto_encode_metrics.
 * 0; -ENODATA (no points: nothing written); -ENOBUFS / -ENOMEM (out unchanged); -EINVAL. */
int sc_otlp_json_encode_metrics(const sc_resource *res, const sc_metrics_snapshot *snap,
                                sc_buf *out);

#endif
