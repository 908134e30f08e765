/* line_record.h - owns: turning one parsed access-log line into the attempt record the recorder
 * takes (record.h): a SERVER span of the access_log source, its timing, its remote parent from the
 * line's traceparent, the derived schema values, and which raw values may be copied into
 * telemetry at all. Pure: no allocation, no clock (the caller passes "now").
 *
 * Field by field:
 *   method          the raw method if it is a short token (the recorder normalises it), else
 *                   empty (= _OTHER without http.request.method_original)
 *   route           the matched template; none for a path no template matches (never the path)
 *   status_code     the final status; 0 when the line has none
 *   error_class     derive.h's class of the final status (and Envoy flags); error_type is the
 *                   status code ("503") when a failed request has one, else the class name
 *   resend_count    the derived retry count (0 when unknown)
 *   fallback        the derived decision and reason (not_needed when unknown)
 *   operation       the route's gen_ai.operation.name; response_model the logged model
 *   usage           present / absent / unknown (usage_unknown: the layout cannot carry usage)
 *   server address  the Host the client called (HTTP server semconv), port from Host or the
 *                   server_port field
 *   timing          end = the logged time and start = end - duration, or start = the logged
 *                   time when the format logs the start; a line without a time ends at `now`
 *   parent          the traceparent's trace id and span id (remote), when it parses
 *   upstream_request_id  the request id the gateway logged (and forwarded upstream)
 * Text values copied from the line (method, model, host, request id) must be valid UTF-8 without
 * control characters and within a length limit, or they are left out. */
#ifndef SC_ACCESSLOG_LINE_RECORD_H
#define SC_ACCESSLOG_LINE_RECORD_H

#include <stdint.h>

#include "accesslog/derive.h"
#include "accesslog/fields.h"
#include "telemetry/record.h"

#define SC_LINE_RECORD_MAX_TEXT 256 /* longest model / host / request id copied */

typedef struct sc_line_record {
    sc_attempt_record rec; /* borrows from the fields, the routes and status_text */
    sc_derive_result derived;
    char status_text[4];
} sc_line_record;

/* Fills *out from a successfully parsed line. routes may be NULL. out stays valid while f, the
 * line it points into and routes are unchanged. */
void sc_line_record_build(const sc_derive_routes *routes, const sc_accesslog_fields *f,
                          uint64_t seq, uint64_t now_ns, sc_line_record *out);

/* 1 when (p, n) is valid UTF-8 with no control characters (C0, DEL, C1) and 1 <= n <= max. */
int sc_line_record_safe_text(const char *p, size_t n, size_t max);

#endif
