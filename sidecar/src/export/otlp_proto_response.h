/* otlp_proto_response.h - owns: decoding OTLP/HTTP protobuf export responses (the
 * partial_success of ExportTraceServiceResponse / ExportMetricsServiceResponse) with the nanopb
 * code generated from proto/. The OTLP/JSON counterpart is otlp_json_response.h.
 *
 * Ownership: every argument is borrowed for the duration of the call. */
#ifndef SC_EXPORT_OTLP_PROTO_RESPONSE_H
#define SC_EXPORT_OTLP_PROTO_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

/* Parse an ExportTraceServiceResponse / ExportMetricsServiceResponse body p[0..n). Pure, no
 * allocation. An empty body (or no partial_success) means full success: *rejected = 0, msg "".
 * Otherwise *rejected = rejected_spans / rejected_data_points and partial_success.error_message
 * is copied into msg (msg_cap bytes, NUL-terminated, cut at a UTF-8 boundary; msg may be NULL).
 * 0, or -EBADMSG for a malformed body (outputs zeroed). */
int sc_otlp_proto_decode_trace_response(const void *p, size_t n, int64_t *rejected, char *msg,
                                        size_t msg_cap);
int sc_otlp_proto_decode_metrics_response(const void *p, size_t n, int64_t *rejected, char *msg,
                                          size_t msg_cap);

#endif
