/* test_http_server.h - owns: a tiny HTTP/1.1 server on the test's own libuv loop, for
 * deterministic client tests (127.0.0.1, ephemeral port, keep-alive, Content-Length bodies).
 *
 * Behaviour is chosen by path:
 *   /ok                     200, {"ok":true}, X-Request-Id: req-<n> (n = 1-based request number)
 *   /status/NNN             status NNN (Retry-After: 2 on 429 and 503)
 *   /big?bytes=N            200 with N bytes of 'x'
 *   /hang                   reads the request and never answers
 *   /stream?chunks=N&cut=C  chunked body, one SC_TEST_HTTP_CHUNK_LEN-byte chunk per 5 ms timer tick
 *                           ("chunk-000\n", "chunk-001\n", ...); cut=1 closes the connection after
 *                           the N chunks instead of sending the last (empty) chunk
 *   /echo                   200, {"method":..,"headers":{..},"body_len":N}
 *   /redirect               301, Location: /ok
 *   /script/S1,S2,...       a collector stand-in: the k-th /script/ request gets step Sk (the last
 *                           repeats; paths containing "metrics" count separately): NNN = that
 *                           status, NNN~S = with Retry-After: S, pN = 200 with an OTLP partial
 *                           success rejecting N items (protobuf or JSON, as the request)
 *   anything else           404
 * Every request is recorded (up to SC_TEST_HTTP_MAX_RECORDS) so tests can assert on it. */
#ifndef SC_TEST_HTTP_SERVER_H
#define SC_TEST_HTTP_SERVER_H

#include <stddef.h>
#include <uv.h>

#define SC_TEST_HTTP_MAX_RECORDS 64
#define SC_TEST_HTTP_MAX_HEADERS 32
#define SC_TEST_HTTP_CHUNK_LEN   10

typedef struct sc_test_http_server sc_test_http_server;

typedef struct sc_test_http_req {
    const char *method;
    const char *path; /* with query string */
    size_t n_headers;
    const char *names[SC_TEST_HTTP_MAX_HEADERS];
    const char *values[SC_TEST_HTTP_MAX_HEADERS];
    const char *body; /* NUL-terminated copy */
    size_t body_len;
    unsigned conn_id; /* 1-based connection number it arrived on */
    char *store_;     /* private: owns the strings above */
} sc_test_http_req;

/* Listens on 127.0.0.1 port 0 on `loop`. Returns 0 or a negative errno. */
int sc_test_http_server_start(sc_test_http_server **out, uv_loop_t *loop);
int sc_test_http_server_port(const sc_test_http_server *s);
/* Writes "http://127.0.0.1:<port><path>" into buf (cap bytes) and returns buf. */
const char *sc_test_http_server_url(const sc_test_http_server *s, const char *path, char *buf,
                                    size_t cap);

size_t sc_test_http_server_n_requests(const sc_test_http_server *s); /* all, recorded or not */
unsigned sc_test_http_server_n_connections(const sc_test_http_server *s);
/* i-th recorded request (0-based), or NULL. Valid until sc_test_http_server_free. */
const sc_test_http_req *sc_test_http_server_request(const sc_test_http_server *s, size_t i);
/* Case-insensitive header lookup on a recorded request; NULL if absent. */
const char *sc_test_http_req_header(const sc_test_http_req *r, const char *name);

/* Closes the listener and every connection (handles close asynchronously; run the loop). */
void sc_test_http_server_close(sc_test_http_server *s);
/* Frees the records and the server once the loop has run the close callbacks. Accepts NULL. */
void sc_test_http_server_free(sc_test_http_server *s);

#endif
