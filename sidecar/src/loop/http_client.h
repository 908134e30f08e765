/* http_client.h - owns: the sidecar's one outbound HTTP client (canary probes, OTLP exports).
 *
 * Many requests in flight on one libcurl multi handle (see curl_uv.h), so connections to the same
 * host are kept alive and reused. HTTP/1.1; redirects are never followed (a 3xx is handed to the
 * caller as is); TLS peer and host verification are always on. Response bodies are either
 * buffered up to a hard cap or streamed to the caller, and never grow without bound.
 *
 * Callback rule: sc_http_client_start_request returning 0 means on_done runs exactly once,
 * later, from a loop callback (never from inside start_request, cancel or close); an error
 * return means it never runs.
 *
 * Not this module's concern: reading files (CA bundles, client certificates, request bodies from
 * disk). Paths are passed to libcurl, which opens them during the TLS handshake; whoever decides
 * how often files are (re)read and how big they may be lives above this module. Nothing here
 * blocks the loop: name resolution is libcurl's asynchronous resolver, I/O is non-blocking.
 *
 * Never logged: request header values (they carry the bearer key), URLs, request and response
 * bodies. Loop-thread only. */
#ifndef SC_LOOP_HTTP_CLIENT_H
#define SC_LOOP_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "core/env.h"

typedef struct sc_http_client sc_http_client;   /* opaque */
typedef struct sc_http_request sc_http_request; /* opaque in-flight handle, owned by the client */

typedef enum {
    SC_HTTP_OK = 0,
    SC_HTTP_ERR_TIMEOUT,
    SC_HTTP_ERR_DNS,
    SC_HTTP_ERR_CONNECT,
    SC_HTTP_ERR_TLS,
    SC_HTTP_ERR_SEND,
    SC_HTTP_ERR_RECV, /* connection broke mid-transfer */
    SC_HTTP_ERR_TOO_LARGE,
    SC_HTTP_ERR_CANCELLED,
    SC_HTTP_ERR_ABORTED, /* on_data asked to stop */
    SC_HTTP_ERR_OTHER,
} sc_http_error;

/* "ok", "timeout", "dns", "connect", "tls", "send", "recv", "too_large", "cancelled", "aborted",
 * "other": stable, usable as a metric attribute value. Static storage. */
const char *sc_http_error_name(sc_http_error e);

/* Seconds from the start of the request, cumulative like curl's CURLINFO_*_TIME_T: dns <= connect
 * <= tls <= first_byte <= total (a phase that did not happen, e.g. tls on http://, is 0). */
typedef struct {
    double dns_s, connect_s, tls_s, first_byte_s, total_s;
} sc_http_timings;

typedef struct {
    const char *name; /* as the request spelled it in capture_headers */
    const char *value;
} sc_http_header;

/* Everything here (strings, body, headers) is valid only during the on_done callback. */
typedef struct sc_http_response {
    sc_http_error error;
    const char *error_detail; /* human-readable cause ("" on success); never contains secrets */
    long status;              /* last HTTP status received, 0 if none */
    const char *body;         /* buffered mode: what was received (partial on error); else NULL */
    size_t body_len;
    const sc_http_header *headers; /* captured headers present in the final response */
    size_t n_headers;
    sc_http_timings timings;
} sc_http_response;

/* Value of captured header `name` (case-insensitive), or NULL. */
const char *sc_http_response_header(const sc_http_response *r, const char *name);

typedef void (*sc_http_done_cb)(const sc_http_response *res, void *arg);
/* Streaming mode: body bytes as they arrive. Return nonzero to abort (SC_HTTP_ERR_ABORTED). */
typedef int (*sc_http_data_cb)(const char *data, size_t len, void *arg);

/* Everything is copied by start_request (the body too, unless body_borrowed); the caller's
 * storage may go away when it returns. */
typedef struct sc_http_request_opts {
    const char *method;         /* "GET", "POST", ... (NULL = GET) */
    const char *url;            /* http:// or https:// only */
    const char *const *headers; /* "Name: value" lines; no CR/LF allowed */
    size_t n_headers;
    const char *body; /* sent with Content-Length; NULL/0 = no body */
    size_t body_len;
    /* 1: the body is not copied; it must stay valid and unchanged until on_done returns. For
     * owners that hold the bytes anyway (export payloads): saves an allocation and a copy of
     * the whole body per request. */
    int body_borrowed;
    uint32_t timeout_ms, connect_timeout_ms; /* 0 = client default */
    size_t max_response_bytes;               /* 0 = client default; beyond -> TOO_LARGE */
    const char *const *capture_headers; /* response header names of interest, e.g. "retry-after" */
    size_t n_capture;
    const char *ca_file;     /* NULL = system trust store */
    const char *client_cert; /* PEM; with client_key for mTLS */
    const char *client_key;
    sc_http_data_cb on_data; /* set => streaming mode, body not buffered (still bounded) */
    sc_http_done_cb on_done; /* required */
    void *arg;
} sc_http_request_opts;

typedef struct sc_http_client_opts {
    unsigned max_in_flight;              /* 0 = 64; start_request returns -ENOBUFS beyond it */
    uint32_t default_timeout_ms;         /* 0 = 30 s; every request has a deadline */
    uint32_t default_connect_timeout_ms; /* 0 = 10 s */
    size_t default_max_response_bytes;   /* 0 = 1 MiB */
    size_t max_header_bytes;             /* 0 = 64 KiB, all response header lines together */
    const char *user_agent;              /* copied; NULL = "comet-sidecar" */
    unsigned max_host_connections;       /* 0 = unlimited (libcurl queues beyond a limit) */
} sc_http_client_opts;

/* Counters for caps being hit and requests refused; monotonic. */
typedef struct sc_http_client_stats {
    uint64_t started, completed, rejected_busy, too_large, capture_dropped;
} sc_http_client_stats;

/* `env` must outlive the client; `opts` may be NULL (all defaults) and is copied.
 * curl_global_init must have been called. Returns 0, -EINVAL or -ENOMEM. */
int sc_http_client_new(sc_http_client **out, const sc_env *env, const sc_http_client_opts *opts);

/* Starts a request. On 0, *out (if out != NULL) is a handle valid until on_done returns.
 * Returns -EINVAL (bad opts, CR/LF in a header), -ENOBUFS (max_in_flight reached),
 * -ESHUTDOWN (client closing), -ENOMEM, -EAGAIN (transient: the transfers of a failed multi
 * handle are still being reported), or -EDEADLK when called from inside an on_data
 * callback (libcurl cannot be re-entered there; start it from on_done or a loop callback);
 * then on_done is never called. */
int sc_http_client_start_request(sc_http_client *c, const sc_http_request_opts *o,
                                 sc_http_request **out);

/* on_done runs once, later, with SC_HTTP_ERR_CANCELLED; on_data is not called again. A no-op from
 * inside the request's own on_done. */
void sc_http_request_cancel(sc_http_request *r);

unsigned sc_http_client_in_flight(const sc_http_client *c);
void sc_http_client_get_stats(const sc_http_client *c, sc_http_client_stats *out);

/* Cancels everything in flight (each on_done gets CANCELLED), refuses new requests, and frees the
 * client once all its handles are closed; then closed(arg) runs (closed may be NULL). Never calls
 * back from inside this function. Accepts NULL. */
void sc_http_client_close(sc_http_client *c, void (*closed)(void *arg), void *arg);

#endif
