/* fuzz_otlp_response.c - libFuzzer target: the OTLP/HTTP partial-success decoders, protobuf
 * (ExportTraceServiceResponse / ExportMetricsServiceResponse, nanopb) and JSON (cJSON), for both
 * signals. Properties: on error the outputs are zeroed; the message is NUL-terminated inside its
 * buffer. (A negative count is passed through as the int64 it is on the wire; otlp_http.c clamps
 * it to 0.)
 *
 * Input: byte 0: bit 0 picks the signal, bit 1 the encoding, bits 2-7 the message capacity
 * (0..63, 0 meaning no message buffer); the rest is the response body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "export/otlp_json.h"
#include "export/otlp_json_response.h"
#include "export/otlp_proto.h"
#include "export/otlp_proto_response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef int (*decode_fn)(const void *p, size_t n, int64_t *rejected, char *msg, size_t msg_cap);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const decode_fn decoders[4] = {
        sc_otlp_proto_decode_trace_response, sc_otlp_proto_decode_metrics_response,
        sc_otlp_json_decode_trace_response, sc_otlp_json_decode_metrics_response};
    decode_fn decode = decoders[data[0] & 3];
    size_t cap = data[0] >> 2;
    /* An exact-size heap buffer, so ASan sees a write past its end. */
    char *msg = cap ? malloc(cap) : NULL;
    if (cap && msg == NULL)
        return 0;
    if (msg)
        memset(msg, 'x', cap);
    int64_t rejected = -7;
    int rc = decode(data + 1, size - 1, &rejected, msg, cap);
    if (rc != 0 && rejected != 0)
        abort();
    if (msg != NULL && (strnlen(msg, cap) == cap || (rc != 0 && msg[0] != '\0')))
        abort();
    free(msg);
    return 0;
}
