/* request.h - owns: building one canary HTTP request (URL, header lines, JSON body) from a
 * resolved probe, and the URL facts telemetry and evidence need (route template, server address,
 * port, scheme). Pure: no I/O; randomness (request ids, the invalid key) is passed in.
 *
 * Body (valid): chat {"model","messages":[{"role":"user","content":PROMPT}],"max_tokens",
 * "temperature":0[,"stream":true[,"stream_options":{"include_usage":true}]]}; responses
 * {"model","input":PROMPT,"max_output_tokens","temperature":0[,"stream":true]}; models: none
 * (GET). A max_tokens of 0 leaves the limit out. Malformed: the valid body without its closing
 * brace (syntactically broken JSON, the malformed-body drill).
 *
 * Headers: Content-Type (POST), Accept (application/json, or text/event-stream when streaming),
 * Authorization: Bearer <key> for credential "configured" (when a key is known) or the fake
 * SC_CANARY_INVALID_KEY_PREFIX key for "invalid" (none for "missing"), X-Request-ID,
 * traceparent.
 *
 * Secrets: the key is copied into the Authorization line only; sc_canary_request_wipe zeroes it.
 * The request is never logged. */
#ifndef SC_CANARY_REQUEST_H
#define SC_CANARY_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "canary/probe_config.h"
#include "core/buf.h"
#include "core/rng.h"
#include "telemetry/span.h"

#define SC_CANARY_INVALID_KEY_PREFIX "sk-comet-sidecar-invalid-"
#define SC_CANARY_REQUEST_ID_LEN     32 /* hex digits of an X-Request-ID */
#define SC_CANARY_URL_MAX            2048
#define SC_CANARY_AUTH_MAX           4200 /* "Authorization: Bearer " + a key of up to 4 KiB */
#define SC_CANARY_BODY_MAX           (64u * 1024u)
#define SC_CANARY_MAX_HEADERS        6

typedef struct sc_canary_request_params {
    const sc_probe *probe;
    const char *base_url;    /* http(s)://host[:port]/path, no trailing slash */
    const char *model;       /* model to put in the body (NULL for models) */
    const char *api_key;     /* credential "configured"; NULL: no Authorization header */
    const char *invalid_key; /* credential "invalid": the fake key to send */
    const char *request_id;  /* X-Request-ID value */
    const char *traceparent; /* W3C traceparent value */
} sc_canary_request_params;

typedef struct sc_canary_request {
    char url[SC_CANARY_URL_MAX];
    const char *headers[SC_CANARY_MAX_HEADERS]; /* point into the storage below */
    size_t n_headers;
    sc_buf body; /* empty for GET */
    char auth[SC_CANARY_AUTH_MAX];
    char accept[64];
    char xrid[96];
    char tp[96];
} sc_canary_request;

/* Fills out (which the caller zero-initialises or has wiped). 0, -EINVAL (missing parameter,
 * CR/LF in a value), -ENAMETOOLONG (URL or key too long), -ENOBUFS (body over
 * SC_CANARY_BODY_MAX) or -ENOMEM. On error out is wiped. */
int sc_canary_request_build(const sc_canary_request_params *p, sc_canary_request *out);

/* Zeroes the Authorization line and frees the body. Safe on a zeroed or wiped request. */
void sc_canary_request_wipe(sc_canary_request *r);

/* "METHOD <path of base_url><route>" into out, e.g. "POST /v1/chat/completions"; the query and
 * fragment of base_url are left out. Returns the length or -ENAMETOOLONG / -EINVAL. */
int sc_canary_route_template(const char *method, const char *base_url, const char *route, char *out,
                             size_t cap);

/* Splits base_url into scheme ("http"/"https", static storage), host (brackets removed) and
 * port (the scheme's default when absent). 0 or -EINVAL. */
int sc_canary_url_parts(const char *base_url, const char **scheme, char *host, size_t host_cap,
                        int *port);

#endif
