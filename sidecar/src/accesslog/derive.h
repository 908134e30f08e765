/* derive.h - owns: turning parsed access-log fields into the pinned schema values (route
 * template, method, status class, error class, retry count, fallback decision and reason, usage
 * presence). Pure functions and a compiled route-template set; no allocation.
 *
 * Route templates: "/v1/files/{id}" - a "{name}" segment matches exactly one non-empty path
 * segment, other segments match byte for byte (case-sensitive, no percent-decoding). A trailing
 * slash on the path is tolerated, the query string is never looked at (the parsers already drop
 * it). Templates are tried in order; the first match wins. A path no template matches becomes
 * SC_DERIVE_ROUTE_OTHER - never the raw path, so http.route stays bounded.
 *
 * Error class from the final status (a status-only table: the canary can share it through
 * sc_derive_error_class when a response gives it nothing but a status):
 *   no status, 0, < 100, > 599  network_error    (Caddy/Envoy log 0 when nothing was sent)
 *   1xx, 2xx, 3xx               none
 *   401, 403                    auth_error
 *   402                         quota_exceeded
 *   404                         model_not_found on a route that names a model (chat/completions,
 *                               completions, responses, embeddings, models/{model}, images,
 *                               audio, moderations), else invalid_request
 *   408, 504                    timeout
 *   429                         rate_limited
 *   451                         policy_rejection
 *   499                         stream_interrupted (nginx: the client closed the connection
 *                               before the response completed - streams cut short)
 *   other 4xx (400, 409, 413, 415, 422, ...)  invalid_request
 *   other 5xx (500, 502, 503, ...)            upstream_error
 * Envoy response flags, when present on a failed (>= 400 or 0) response, refine it (the first
 * flag this list knows wins): UT, SI -> timeout; UF, UC, UR, LR -> network_error; UH, UO ->
 * upstream_error; RL -> rate_limited; DC -> stream_interrupted; UAEX -> auth_error;
 * NR -> invalid_request.
 *
 * Retries: an explicit retry_count field wins; otherwise the nginx $upstream_status list gives
 * attempts - 1 ("503, 502, 200" -> 2; "503, 200 : 200" -> 2: a redirect is a resend too, as in
 * http.request.resend_count). "-" entries are attempts without a status. Unknown otherwise.
 *
 * Fallback: an explicit fallback_reason field wins ("none" -> not_needed, anything else -> used
 * with the allow-listed reason or "_OTHER"). Otherwise, from the nginx status list, whose groups
 * (" : ") are internal redirects - the way an nginx config hands a failed request to a fallback
 * location (error_page ... = @fallback). Inside a group every attempt but the last failed
 * (proxy_next_upstream only moves on after a failure: those are retries across replicas, not
 * fallbacks); a group's last attempt failed when its status is >= 400 or "-".
 *   - a group follows a failed group: used, reason = class of the FIRST failed attempt (what
 *     started the chain);
 *   - otherwise, the final attempt failed with a fallback-eligible class (one that
 *     sc_schema_fallback_reason allows): failed_closed, reason = that class;
 *   - otherwise: not_needed, reason "none".
 * Attempt statuses map with the table above; nginx records a failed connect as 502 and a timeout
 * as 504, so a connect failure reads as upstream_error ("-" = no status at all: network_error).
 * Without an explicit field and without a status list the decision is unknown.
 *
 * Usage: the explicit usage_present field, else present when either token count is, else absent
 * when the layout maps any usage field, else unknown (never count "missing" for layouts that
 * cannot carry usage). */
#ifndef SC_ACCESSLOG_DERIVE_H
#define SC_ACCESSLOG_DERIVE_H

#include <stddef.h>
#include <stdint.h>

#include "accesslog/fields.h"
#include "telemetry/schema.h"

/* http.route of a request no template matches (same spelling as OTel's "_OTHER" methods). */
#define SC_DERIVE_ROUTE_OTHER "_OTHER"

#define SC_DERIVE_MAX_ROUTES   64
#define SC_DERIVE_MAX_SEGMENTS 16
#define SC_DERIVE_TEXT_BYTES   4096

/* One configured template. Strings are only read during compile. */
typedef struct sc_derive_route_spec {
    const char *tmpl;      /* "/v1/files/{id}" */
    const char *operation; /* gen_ai.operation.name for this route, or NULL */
    int model_404;         /* 1: a 404 here means the model was not found */
} sc_derive_route_spec;

typedef struct sc_derive_route {
    uint16_t tmpl_off; /* NUL-terminated in text */
    uint16_t op_off;   /* NUL-terminated in text, or UINT16_MAX */
    uint8_t n_seg;
    uint8_t model_404;
    uint16_t seg_off[SC_DERIVE_MAX_SEGMENTS];
    uint8_t seg_len[SC_DERIVE_MAX_SEGMENTS]; /* 0 marks a {param} segment */
} sc_derive_route;

/* A compiled template set: embeddable, copyable, read-only while matching. Private fields. */
typedef struct sc_derive_routes {
    uint16_t n;
    uint16_t text_used;
    sc_derive_route r[SC_DERIVE_MAX_ROUTES];
    char text[SC_DERIVE_TEXT_BYTES];
} sc_derive_routes;

/* The OpenAI-compatible defaults: /v1/chat/completions, /v1/completions, /v1/responses,
 * /v1/responses/{id}, /v1/embeddings, /v1/models, /v1/models/{model}, /v1/images/generations,
 * /v1/audio/transcriptions, /v1/audio/speech, /v1/moderations, /v1/files, /v1/files/{id},
 * /v1/batches, /v1/batches/{id}. *n gets the count. Static storage. */
const sc_derive_route_spec *sc_derive_default_routes(size_t *n);

/* 0, or -EINVAL / -E2BIG with *err (if non-NULL): index of the bad template in err->field and
 * byte offset in err->pos. A template starts with '/', has no empty segments, no '?', '#' or
 * '*', and braces only as a whole "{name}" segment. */
int sc_derive_routes_compile(const sc_derive_route_spec *specs, size_t n, sc_derive_routes *out,
                             sc_accesslog_error *err);

/* Index of the first template matching path (no query), or -1. */
int sc_derive_route_match(const sc_derive_routes *routes, const char *path, size_t n);

/* The error class of a final status, per the table above. route_model_404: the route names a
 * model. flags: Envoy response flags or NULL. */
sc_error_class sc_derive_error_class(int status, int route_model_404, const char *flags,
                                     size_t flags_len);

/* Summary of nginx's $upstream_status. */
typedef struct sc_derive_upstreams {
    uint32_t attempts;
    uint32_t groups;
    int first_failed_status; /* status of the first failed attempt; 0 for "-"; -1 none */
    int final_status;        /* 0 for "-" */
    int final_failed;
    int fallback; /* a group followed a failed group */
} sc_derive_upstreams;

/* 0, or -EINVAL when the list is not 3-digit statuses and "-" separated by ", " and " : ". */
int sc_derive_upstreams_parse(const char *status, size_t sn, sc_derive_upstreams *out);

typedef enum {
    SC_DERIVE_USAGE_UNKNOWN = 0, /* the layout cannot carry usage: do not count it missing */
    SC_DERIVE_USAGE_PRESENT,
    SC_DERIVE_USAGE_ABSENT
} sc_derive_usage;

typedef struct sc_derive_result {
    const char *route;     /* template (lives in routes) or SC_DERIVE_ROUTE_OTHER */
    const char *operation; /* gen_ai.operation.name or NULL */
    const char *method;    /* sc_schema_http_method(): bounded */
    sc_status_class status_class;
    sc_error_class error_class;
    int retry_known;
    uint32_t retry_count;
    int fallback_known;
    sc_fallback_decision fallback_decision;
    const char *fallback_reason; /* sc_schema_fallback_reason() value, static */
    sc_derive_usage usage;
} sc_derive_result;

/* Fills *out from a successfully parsed line. routes may be NULL (every route is "_OTHER"). */
void sc_derive(const sc_derive_routes *routes, const sc_accesslog_fields *f, sc_derive_result *out);

#endif
