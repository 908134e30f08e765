/* otlp_proto_response.c - owns: the nanopb decoders of export responses (see the header). */
#include "export/otlp_proto_response.h"

#include <errno.h>
#include <stdbool.h>

#include <pb_decode.h>

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "telemetry/attr.h"

#define NPB(x) opentelemetry_proto_##x

typedef struct msg_out {
    char *p;
    size_t cap;
} msg_out;

/* Copies error_message (cut at a UTF-8 boundary to fit) and skips what does not fit. */
static bool dec_msg(pb_istream_t *s, const pb_field_t *f, void **arg)
{
    const msg_out *m = *arg;
    size_t n = s->bytes_left;
    if (m->p != NULL && m->cap > 0) {
        size_t got = n < m->cap ? n : m->cap;
        if (!pb_read(s, (pb_byte_t *)m->p, got))
            return false;
        size_t len = sc_attr_utf8_prefix(m->p, got, m->cap - 1);
        m->p[len] = '\0';
    }
    return pb_read(s, NULL, s->bytes_left);
}

static int decode_response(const void *p, size_t n, const pb_msgdesc_t *fields, void *resp,
                           pb_callback_t *msg_cb, char *msg, size_t msg_cap)
{
    msg_out m = {msg, msg_cap};
    if (msg != NULL && msg_cap > 0)
        msg[0] = '\0';
    msg_cb->funcs.decode = dec_msg;
    msg_cb->arg = &m;
    pb_istream_t is = pb_istream_from_buffer((const pb_byte_t *)p, n);
    if (n > 0 && (p == NULL || !pb_decode(&is, fields, resp))) {
        if (msg != NULL && msg_cap > 0)
            msg[0] = '\0';
        return -EBADMSG;
    }
    return 0;
}

int sc_otlp_proto_decode_trace_response(const void *p, size_t n, int64_t *rejected, char *msg,
                                        size_t msg_cap)
{
    NPB(collector_trace_v1_ExportTraceServiceResponse)
    r = NPB(collector_trace_v1_ExportTraceServiceResponse_init_zero);
    int rc = decode_response(p, n, NPB(collector_trace_v1_ExportTraceServiceResponse_fields), &r,
                             &r.partial_success.error_message, msg, msg_cap);
    *rejected = rc == 0 && r.has_partial_success ? r.partial_success.rejected_spans : 0;
    return rc;
}

int sc_otlp_proto_decode_metrics_response(const void *p, size_t n, int64_t *rejected, char *msg,
                                          size_t msg_cap)
{
    NPB(collector_metrics_v1_ExportMetricsServiceResponse)
    r = NPB(collector_metrics_v1_ExportMetricsServiceResponse_init_zero);
    int rc = decode_response(p, n, NPB(collector_metrics_v1_ExportMetricsServiceResponse_fields),
                             &r, &r.partial_success.error_message, msg, msg_cap);
    *rejected = rc == 0 && r.has_partial_success ? r.partial_success.rejected_data_points : 0;
    return rc;
}
