/* health_server.c - owns: the listening socket, the list of connections and each connection's
 * life (read a head -> write one response -> shutdown -> drain -> close) and the bounded-resource
 * policy (head cap, timeouts, connection cap, rate-limited logs).
 *
 * After the response the server half-closes and keeps reading (discarding) until the client's
 * EOF or the timeout instead of closing at once: closing a socket with unread input makes Linux
 * send RST, which can destroy the response before the client reads it - exactly in the 413/431
 * cases where the client is still sending. Kubelet and Prometheus close on our FIN, so the drain
 * normally ends within a round trip. */
#include "health/health_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health/http_request.h"
#include "health/http_response.h"

#define MIN_REQUEST_BYTES    64
#define MAX_REQUEST_BYTES    (1u << 20)
#define MAX_RESPONSE_BYTES   (1u << 30)
#define DEFAULT_CONTENT_TYPE "text/plain; charset=utf-8"
#define NS_PER_MS            1000000ull
#define HOST_MAX             64 /* an IPv6 literal with a %scope fits */

typedef enum { CONN_READING, CONN_WRITING, CONN_DRAINING } conn_state;

typedef struct conn {
    sc_health *h;
    struct conn *prev, *next;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t write_req;
    uv_shutdown_t shutdown_req;
    int handles_open; /* freed when both tcp and timer have closed */
    int closing;
    conn_state state;
    sc_buf head;
    sc_buf body;
    size_t in_len;
    char in[]; /* max_request_bytes */
} conn;

/* A connection accepted only to be closed at once (over the limit, or out of memory). */
typedef struct refused {
    sc_health *h;
    uv_tcp_t tcp;
} refused;

typedef struct route {
    char *path;
    sc_health_handler fn;
    void *arg;
} route;

typedef struct ratelimit {
    uint64_t last_ns;
    uint64_t suppressed;
    int used;
} ratelimit;

struct sc_health {
    const sc_env *env;
    sc_health_opts opts;
    char host[HOST_MAX];
    struct sockaddr_storage addr;
    uv_tcp_t listener;
    /* Closed by sc_health_close, so the close always completes in a close callback even when the
     * listener and every connection were already gone. */
    uv_timer_t hop;
    unsigned handles_open;
    int started, listener_closed, closing, accept_stalled;
    int port;
    route routes[SC_HEALTH_MAX_ROUTES];
    unsigned nroutes;
    conn *conns;
    unsigned nconns;
    ratelimit refuse_log, accept_log;
    sc_health_stats stats;
    void (*closed)(void *arg);
    void *closed_arg;
};

static void conn_close(conn *c);
static void accept_one(sc_health *h);

/* True when a line may be logged now; counts the ones it swallows. */
static int ratelimit_take(ratelimit *rl, const sc_clock *clock, uint64_t *suppressed)
{
    uint64_t now = sc_clock_mono_ns(clock);
    if (rl->used && now - rl->last_ns < SC_HEALTH_REFUSE_LOG_INTERVAL_MS * NS_PER_MS) {
        rl->suppressed++;
        return 0;
    }
    *suppressed = rl->suppressed;
    rl->suppressed = 0;
    rl->last_ns = now;
    rl->used = 1;
    return 1;
}

static void maybe_finish(sc_health *h)
{
    if (!h->closing || h->handles_open > 0)
        return;
    void (*closed)(void *) = h->closed;
    void *arg = h->closed_arg;
    for (unsigned i = 0; i < h->nroutes; i++)
        free(h->routes[i].path);
    free(h);
    if (closed != NULL)
        closed(arg);
}

static void on_own_handle_closed(uv_handle_t *handle)
{
    sc_health *h = handle->data;
    h->handles_open--;
    maybe_finish(h);
}

/* ---- responses ---- */

static void on_shutdown(uv_shutdown_t *req, int status)
{
    if (status < 0)
        conn_close(req->data);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    conn *c = handle->data;
    size_t cap = c->h->opts.max_request_bytes;
    if (c->state == CONN_DRAINING) /* the input is no longer needed: reuse it as scratch */
        *buf = uv_buf_init(c->in, (unsigned)cap);
    else
        *buf = uv_buf_init(c->in + c->in_len, (unsigned)(cap - c->in_len));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static void on_written(uv_write_t *req, int status)
{
    conn *c = req->data;
    if (status < 0 || c->closing) {
        conn_close(c);
        return;
    }
    c->state = CONN_DRAINING;
    c->shutdown_req.data = c;
    int rc = uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown);
    if (rc == 0)
        rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rc != 0)
        conn_close(c);
}

static void on_timeout(uv_timer_t *timer);

/* Writes one response; `body` must stay valid until the connection is freed (static text or
 * c->body). The timer is re-armed so a client that does not read cannot hold the connection. */
static void respond(conn *c, int status, const char *ctype, const char *body, size_t body_len,
                    int send_body, int allow)
{
    sc_health *h = c->h;
    uv_buf_t bufs[2];
    unsigned nbufs = 1;

    sc_buf_reset(&c->head);
    int rc = sc_http_response_head(&c->head, status, ctype, body_len, allow);
    if (rc == 0)
        rc = uv_timer_start(&c->timer, on_timeout, h->opts.request_timeout_ms, 0);
    if (rc != 0) {
        conn_close(c);
        return;
    }
    bufs[0] = uv_buf_init(c->head.data, (unsigned)c->head.len);
    if (send_body && body_len > 0)
        bufs[nbufs++] = uv_buf_init((char *)body, (unsigned)body_len);
    c->state = CONN_WRITING;
    c->write_req.data = c;
    if (uv_write(&c->write_req, (uv_stream_t *)&c->tcp, bufs, nbufs, on_written) != 0)
        conn_close(c);
}

static void respond_text(conn *c, int status, const char *text, int send_body, int allow)
{
    respond(c, status, DEFAULT_CONTENT_TYPE, text, strlen(text), send_body, allow);
}

static int slice_eq(const char *s, size_t len, const char *lit)
{
    return len == strlen(lit) && memcmp(s, lit, len) == 0;
}

static const route *find_route(const sc_health *h, const char *path, size_t len)
{
    for (unsigned i = 0; i < h->nroutes; i++)
        if (slice_eq(path, len, h->routes[i].path))
            return &h->routes[i];
    return NULL;
}

static void run_handler(conn *c, const route *r, const sc_http_request *req, int is_head)
{
    sc_health *h = c->h;
    sc_health_request hr = {.method = req->method,
                            .method_len = req->method_len,
                            .path = req->path,
                            .path_len = req->path_len,
                            .query = req->query,
                            .query_len = req->query_len};
    const char *ctype = NULL;

    sc_buf_reset(&c->body);
    int status = r->fn(r->arg, &hr, &c->body, &ctype);
    if (c->closing)
        return; /* the handler closed the server */
    if (ctype == NULL)
        ctype = DEFAULT_CONTENT_TYPE;
    if (status < 200 || status > 599 || status == 204 || status == 304 ||
        !sc_http_response_content_type_ok(ctype)) {
        sc_log_warn(h->env->log, "health handler returned an invalid response",
                    SC_F_STR("url.path", r->path), SC_F_INT("http.response.status_code", status));
        respond_text(c, 500, "internal error\n", !is_head, 0);
        return;
    }
    respond(c, status, ctype, c->body.data, c->body.len, !is_head, 0);
}

static void dispatch(conn *c, const sc_http_request *req)
{
    sc_health *h = c->h;
    int is_head = slice_eq(req->method, req->method_len, "HEAD");
    int is_get = slice_eq(req->method, req->method_len, "GET");

    h->stats.requests++;
    if (!is_get && !is_head) {
        respond_text(c, 405, "method not allowed\n", 1, 1);
    } else if (req->transfer_encoding != NULL) {
        h->stats.rejected_malformed++;
        respond_text(c, 400, "request body not accepted\n", !is_head, 0);
    } else if (req->content_length != NULL && req->content_length_value > 0) {
        h->stats.rejected_too_large++;
        respond_text(c, 413, "request body not accepted\n", !is_head, 0);
    } else {
        const route *r = find_route(h, req->path, req->path_len);
        if (r != NULL)
            run_handler(c, r, req, is_head);
        else
            respond_text(c, 404, "not found\n", !is_head, 0);
    }
}

/* ---- connections ---- */

static void handle_input(conn *c)
{
    sc_health *h = c->h;
    sc_http_request req;
    int rc = sc_http_request_parse(c->in, c->in_len, h->opts.max_request_bytes, &req);
    if (rc == 0)
        return;
    uv_read_stop((uv_stream_t *)&c->tcp);
    if (rc == -E2BIG) {
        h->stats.rejected_too_large++;
        respond_text(c, 431, "request head too large\n", 1, 0);
    } else if (rc < 0) {
        h->stats.rejected_malformed++;
        respond_text(c, 400, "bad request\n", 1, 0);
    } else {
        dispatch(c, &req);
    }
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    conn *c = stream->data;
    if (nread < 0) { /* EOF or error: an unfinished request is simply dropped */
        conn_close(c);
        return;
    }
    if (nread == 0 || c->state != CONN_READING)
        return;
    c->in_len += (size_t)nread;
    handle_input(c);
}

static void on_timeout(uv_timer_t *timer)
{
    conn *c = timer->data;
    if (c->state == CONN_READING) {
        c->h->stats.timed_out++;
        sc_log_debug(c->h->env->log, "health connection timed out before a full request",
                     SC_F_UINT("bytes", c->in_len));
    }
    conn_close(c);
}

static void on_conn_handle_closed(uv_handle_t *handle)
{
    conn *c = handle->data;
    sc_health *h = c->h;
    h->handles_open--;
    if (--c->handles_open > 0)
        return;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    h->nconns--;
    sc_buf_free(&c->head);
    sc_buf_free(&c->body);
    free(c);
    if (h->accept_stalled && !h->listener_closed) {
        h->accept_stalled = 0;
        accept_one(h);
    }
    maybe_finish(h);
}

static void conn_close(conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
}

static conn *conn_new(sc_health *h)
{
    conn *c = calloc(1, sizeof *c + h->opts.max_request_bytes);
    if (c == NULL)
        return NULL;
    if (uv_tcp_init(h->env->loop, &c->tcp) != 0) {
        free(c);
        return NULL;
    }
    uv_timer_init(h->env->loop, &c->timer);
    c->h = h;
    c->tcp.data = c;
    c->timer.data = c;
    c->handles_open = 2;
    h->handles_open += 2;
    sc_buf_init(&c->head, SC_HTTP_RESPONSE_HEAD_MAX);
    sc_buf_init(&c->body, h->opts.max_response_bytes);
    c->next = h->conns;
    if (h->conns != NULL)
        h->conns->prev = c;
    h->conns = c;
    h->nconns++;
    return c;
}

static void on_refused_closed(uv_handle_t *handle)
{
    refused *r = handle->data;
    sc_health *h = r->h;
    free(r);
    h->handles_open--;
    maybe_finish(h);
}

/* Accepting and closing (rather than not accepting) keeps the kernel backlog from filling with
 * connections that would then time out in the client instead of failing fast. */
static void refuse(sc_health *h, int over_limit)
{
    uint64_t suppressed = 0;
    refused *r = malloc(sizeof *r);
    if (r == NULL || uv_tcp_init(h->env->loop, &r->tcp) != 0) {
        /* libuv polls the listener again only after an accept: retry when a connection ends. */
        free(r);
        h->accept_stalled = 1;
        sc_log_error(h->env->log, "health listener cannot accept", SC_F_ERR("error", -ENOMEM));
        return;
    }
    r->h = h;
    r->tcp.data = r;
    h->handles_open++;
    int rc = uv_accept((uv_stream_t *)&h->listener, (uv_stream_t *)&r->tcp);
    uv_close((uv_handle_t *)&r->tcp, on_refused_closed);
    if (rc != 0 || !over_limit)
        return;
    h->stats.refused_over_limit++;
    if (ratelimit_take(&h->refuse_log, h->env->clock, &suppressed))
        sc_log_warn(h->env->log, "health connection refused: max_connections reached",
                    SC_F_UINT("max_connections", h->opts.max_connections),
                    SC_F_UINT("refused_total", h->stats.refused_over_limit),
                    SC_F_UINT("suppressed", suppressed));
}

static void accept_one(sc_health *h)
{
    if (h->nconns >= h->opts.max_connections) {
        refuse(h, 1);
        return;
    }
    conn *c = conn_new(h);
    if (c == NULL) {
        refuse(h, 0);
        return;
    }
    int rc = uv_accept((uv_stream_t *)&h->listener, (uv_stream_t *)&c->tcp);
    if (rc == 0)
        rc = uv_timer_start(&c->timer, on_timeout, h->opts.request_timeout_ms, 0);
    if (rc == 0)
        rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rc != 0)
        conn_close(c);
}

static void on_connection(uv_stream_t *server, int status)
{
    sc_health *h = server->data;
    uint64_t suppressed = 0;
    if (status < 0) { /* e.g. EMFILE, which repeats on every loop turn: rate-limit the log */
        if (ratelimit_take(&h->accept_log, h->env->clock, &suppressed))
            sc_log_warn(h->env->log, "health listener accept failed", SC_F_ERR("error", status),
                        SC_F_UINT("suppressed", suppressed));
        return;
    }
    accept_one(h);
}

/* ---- public API ---- */

static int check_opts(const sc_health_opts *in, sc_health_opts *o)
{
    *o = *in;
    if (o->host == NULL)
        o->host = "127.0.0.1";
    if (o->max_request_bytes == 0)
        o->max_request_bytes = SC_HEALTH_DEFAULT_MAX_REQUEST_BYTES;
    if (o->request_timeout_ms == 0)
        o->request_timeout_ms = SC_HEALTH_DEFAULT_REQUEST_TIMEOUT_MS;
    if (o->max_connections == 0)
        o->max_connections = SC_HEALTH_DEFAULT_MAX_CONNECTIONS;
    if (o->max_response_bytes == 0)
        o->max_response_bytes = SC_HEALTH_DEFAULT_MAX_RESPONSE_BYTES;
    if (o->max_request_bytes < MIN_REQUEST_BYTES || o->max_request_bytes > MAX_REQUEST_BYTES ||
        o->max_response_bytes > MAX_RESPONSE_BYTES)
        return -EINVAL;
    return 0;
}

int sc_health_new(sc_health **out, const sc_env *env, const sc_health_opts *opts)
{
    sc_health_opts o;
    if (out == NULL || env == NULL || env->loop == NULL || env->clock == NULL || opts == NULL)
        return -EINVAL;
    *out = NULL;
    if (check_opts(opts, &o) != 0 || strlen(o.host) >= HOST_MAX)
        return -EINVAL;

    sc_health *h = calloc(1, sizeof *h);
    if (h == NULL)
        return -ENOMEM;
    if (uv_ip4_addr(o.host, o.port, (struct sockaddr_in *)&h->addr) != 0 &&
        uv_ip6_addr(o.host, o.port, (struct sockaddr_in6 *)&h->addr) != 0) {
        free(h);
        return -EINVAL;
    }
    int rc = uv_tcp_init(env->loop, &h->listener);
    if (rc != 0) {
        free(h);
        return rc;
    }
    uv_timer_init(env->loop, &h->hop);
    h->env = env;
    memcpy(h->host, o.host, strlen(o.host) + 1);
    h->opts = o;
    h->opts.host = h->host;
    h->listener.data = h;
    h->hop.data = h;
    h->handles_open = 2;
    *out = h;
    return 0;
}

int sc_health_route(sc_health *h, const char *path, sc_health_handler fn, void *arg)
{
    if (h == NULL || path == NULL || path[0] != '/' || fn == NULL)
        return -EINVAL;
    if (find_route(h, path, strlen(path)) != NULL)
        return -EEXIST;
    if (h->nroutes >= SC_HEALTH_MAX_ROUTES)
        return -ENOSPC;
    char *copy = strdup(path);
    if (copy == NULL)
        return -ENOMEM;
    h->routes[h->nroutes++] = (route){.path = copy, .fn = fn, .arg = arg};
    return 0;
}

static int bound_port(sc_health *h)
{
    struct sockaddr_storage ss;
    int len = (int)sizeof ss;
    int rc = uv_tcp_getsockname(&h->listener, (struct sockaddr *)&ss, &len);
    if (rc != 0)
        return rc;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int sc_health_start(sc_health *h)
{
    if (h == NULL || h->listener_closed)
        return -EINVAL;
    if (h->started)
        return -EALREADY;
    h->started = 1; /* even on failure: a half-bound socket is not retried */
    int rc = uv_tcp_bind(&h->listener, (const struct sockaddr *)&h->addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&h->listener, 128, on_connection);
    if (rc == 0)
        rc = bound_port(h);
    if (rc < 0) {
        sc_log_error(h->env->log, "health listener failed", SC_F_STR("server.address", h->host),
                     SC_F_UINT("server.port", h->opts.port), SC_F_ERR("error", rc));
        return rc;
    }
    h->port = rc;
    sc_log_info(h->env->log, "health listener started", SC_F_STR("server.address", h->host),
                SC_F_INT("server.port", h->port));
    return 0;
}

int sc_health_port(const sc_health *h)
{
    return h != NULL && h->port > 0 ? h->port : -ENOTCONN;
}

void sc_health_stop_accepting(sc_health *h)
{
    if (h == NULL || h->listener_closed)
        return;
    h->listener_closed = 1;
    uv_close((uv_handle_t *)&h->listener, on_own_handle_closed);
    if (h->port > 0)
        sc_log_info(h->env->log, "health listener stopped accepting",
                    SC_F_INT("server.port", h->port), SC_F_UINT("open_connections", h->nconns));
}

void sc_health_close(sc_health *h, void (*closed)(void *arg), void *arg)
{
    if (h == NULL || h->closing)
        return;
    h->closing = 1;
    h->closed = closed;
    h->closed_arg = arg;
    sc_health_stop_accepting(h);
    for (conn *c = h->conns; c != NULL; c = c->next)
        conn_close(c);
    uv_close((uv_handle_t *)&h->hop, on_own_handle_closed);
}

void sc_health_get_stats(const sc_health *h, sc_health_stats *out)
{
    if (h == NULL) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = h->stats;
}
