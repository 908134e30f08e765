/* health_server.h - owns: the health listener, a minimal HTTP/1.x server on the loop for
 * Kubernetes probes and Prometheus scrapes (default 127.0.0.1:13133; the app passes host/port).
 *
 * One request per connection: GET and HEAD only, exact-path routes answered by their handler,
 * every response carries Content-Length, Content-Type and "Connection: close", and the server
 * closes once the response is written. Requests with a body are refused. Hostile or broken
 * clients are bounded: request heads by max_request_bytes, slow clients by request_timeout_ms,
 * concurrent connections by max_connections (extra ones are accepted and closed at once; the
 * refusal is counted and logged at most once per SC_HEALTH_REFUSE_LOG_INTERVAL_MS).
 * Loop thread only. */
#ifndef SC_HEALTH_HEALTH_SERVER_H
#define SC_HEALTH_HEALTH_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/env.h"

#define SC_HEALTH_MAX_ROUTES             16
#define SC_HEALTH_REFUSE_LOG_INTERVAL_MS 10000

#define SC_HEALTH_DEFAULT_MAX_REQUEST_BYTES  8192
#define SC_HEALTH_DEFAULT_REQUEST_TIMEOUT_MS 5000
#define SC_HEALTH_DEFAULT_MAX_CONNECTIONS    64
#define SC_HEALTH_DEFAULT_MAX_RESPONSE_BYTES (4u << 20)

typedef struct sc_health sc_health;

/* Slices into the connection's input buffer, valid only during the handler call. query is NULL
 * when the target had no '?'. */
typedef struct sc_health_request {
    const char *method;
    size_t method_len;
    const char *path;
    size_t path_len;
    const char *query;
    size_t query_len;
} sc_health_request;

/* A handler writes the body into `body` (an empty sc_buf capped at max_response_bytes) and may
 * set *content_type (a static string, default "text/plain; charset=utf-8"); it returns the HTTP
 * status. A status outside 200..599, 204 or 304 (which cannot carry a Content-Length), or a
 * content type that is empty, over 200 bytes or holds a control character, is answered with 500
 * instead (and logged). For HEAD the handler runs as for GET and the body is dropped after its
 * length is taken. A handler may call sc_health_close; its response is then not sent. */
typedef int (*sc_health_handler)(void *arg, const sc_health_request *req, sc_buf *body,
                                 const char **content_type);

/* A zero numeric field takes its SC_HEALTH_DEFAULT_*. host is an IPv4 or IPv6 literal without
 * brackets ("127.0.0.1", "::1", "0.0.0.0"); it is copied. */
typedef struct sc_health_opts {
    const char *host;
    uint16_t port;               /* 0: an ephemeral port, see sc_health_port */
    size_t max_request_bytes;    /* cap on a request head, 64..1 MiB */
    uint32_t request_timeout_ms; /* to receive a full head; then again to write and close */
    unsigned max_connections;    /* open connections, including ones still closing */
    size_t max_response_bytes;   /* cap on a handler's body */
} sc_health_opts;

/* Validates opts and parses the address (-EINVAL), allocates (-ENOMEM). `env` is borrowed and
 * must outlive the server. On success the server must eventually be closed with
 * sc_health_close, started or not. */
int sc_health_new(sc_health **out, const sc_env *env, const sc_health_opts *opts);

/* Answers requests whose path (without query) equals `path` exactly. `path` is copied and must
 * start with '/'; fn/arg are borrowed until close. -EINVAL, -EEXIST (path already routed),
 * -ENOSPC (SC_HEALTH_MAX_ROUTES reached), -ENOMEM. May be called before or after start. */
int sc_health_route(sc_health *h, const char *path, sc_health_handler fn, void *arg);

/* Binds and listens; logs the address at info. Returns the bind/listen error (-EADDRINUSE,
 * -EACCES, -EADDRNOTAVAIL, ...) or -EALREADY when called twice; after a failure the only valid
 * call is sc_health_close. */
int sc_health_start(sc_health *h);

/* The bound port once started (the real one when opts.port was 0), else -ENOTCONN. */
int sc_health_port(const sc_health *h);

/* Shutdown, step one: closes the listening socket so new connections are refused by the kernel;
 * connections already accepted are still answered. Idempotent. */
void sc_health_stop_accepting(sc_health *h);

/* Closes the listener and every connection (in-flight responses are abandoned), then frees the
 * server and calls closed(arg) (if non-NULL) from a loop callback, never from inside this call.
 * Accepts NULL (then `closed` is not called). Must be called at most once. */
void sc_health_close(sc_health *h, void (*closed)(void *arg), void *arg);

/* requests: well-formed request heads received (whatever their response).
 * rejected_too_large: 431 (head over max_request_bytes) and 413 (request with Content-Length > 0).
 * rejected_malformed: 400 (unparsable head, or a Transfer-Encoding body).
 * timed_out: connections closed for not sending a full head within request_timeout_ms.
 * refused_over_limit: connections accepted and closed because max_connections was reached. */
typedef struct sc_health_stats {
    uint64_t requests, rejected_too_large, rejected_malformed, timed_out, refused_over_limit;
} sc_health_stats;

void sc_health_get_stats(const sc_health *h, sc_health_stats *out);

#endif
