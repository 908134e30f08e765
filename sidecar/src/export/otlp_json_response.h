/* otlp_json_response.h - owns: decoding OTLP/JSON export responses (the partial_success of
 * ExportTraceServiceResponse / ExportMetricsServiceResponse) for OTEL_EXPORTER_OTLP_PROTOCOL=
 * http/json. The protobuf counterpart is in otlp_proto.h.
 *
 * Ownership: every argument is borrowed for the duration of the call. */
#ifndef SC_EXPORT_OTLP_JSON_RESPONSE_H
#define SC_EXPORT_OTLP_JSON_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

/* Parse a JSON ExportTraceServiceResponse / ExportMetricsServiceResponse body, e.g.
 * {"partialSuccess":{"rejectedSpans":"2","errorMessage":"..."}} (the count may also be a JSON
 * number; unknown fields are ignored). An empty body, {} or no partialSuccess is full success.
 * Outputs as in sc_otlp_proto_decode_trace_response. 0, or -EBADMSG (not JSON, not an object,
 * a count that is not an integer; outputs zeroed). cJSON builds a tree, so this allocates; it
 * cannot tell out-of-memory from a syntax error, so both are -EBADMSG. */
int sc_otlp_json_decode_trace_response(const void *p, size_t n, int64_t *rejected, char *msg,
                                       size_t msg_cap);
int sc_otlp_json_decode_metrics_response(const void *p, size_t n, int64_t *rejected, char *msg,
                                         size_t msg_cap);

#endif
