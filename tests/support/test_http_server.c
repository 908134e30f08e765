/* test_http_server.c - owns: the test server's listener, its connections (each a uv_tcp_t plus a
 * uv_timer_t for streamed chunks), request parsing and the recorded requests. */
#include "test_http_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/jsonw.h"

#define IN_MAX         (4u * 1024u * 1024u) /* request head + body buffered per connection */
#define HEAD_MAX       (64u * 1024u)
#define STREAM_TICK_MS 5

typedef struct conn conn;

struct sc_test_http_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    int port;
    int listener_open;
    int free_on_close; /* start failed: nobody will call sc_test_http_server_free */
    int closing;
    conn *conns;
    unsigned n_conns;
    size_t n_requests;
    size_t n_records;
    size_t n_script[2]; /* /script/ requests so far: [0] traces-like paths, [1] "metrics" paths */
    sc_test_http_req records[SC_TEST_HTTP_MAX_RECORDS];
};

struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    sc_test_http_server *srv;
    conn *prev, *next;
    sc_buf in;
    unsigned id;
    int open_handles;
    int closing;
    int busy; /* answering slowly (/hang, /stream): further input waits */
    int stream_total, stream_sent, stream_cut;
};

typedef struct wreq {
    uv_write_t req;
    size_t len;
    char data[];
} wreq;

static void parse_input(conn *c);

/* ---- connection lifetime ---- */

static void conn_handle_closed(uv_handle_t *h)
{
    conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    sc_buf_free(&c->in);
    free(c);
}

static void conn_close(conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    sc_test_http_server *s = c->srv;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
}

static void on_written(uv_write_t *req, int status)
{
    free(req->data);
}

static void conn_write(conn *c, const char *p, size_t n)
{
    if (c->closing)
        return;
    wreq *w = malloc(sizeof *w + n);
    if (w == NULL) {
        conn_close(c);
        return;
    }
    memcpy(w->data, p, n);
    w->len = n;
    w->req.data = w;
    uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        free(w);
        conn_close(c);
    }
}

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 301:
        return "Moved Permanently";
    case 404:
        return "Not Found";
    case 429:
        return "Too Many Requests";
    case 503:
        return "Service Unavailable";
    default:
        return "Status";
    }
}

/* One write for head and body, so a response is never interleaved with the next one. */
static void respond(conn *c, int status, const char *extra, const char *body, size_t body_len)
{
    char head[512];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n%s\r\n", status,
                     reason(status), body_len, extra != NULL ? extra : "");
    if (n < 0 || (size_t)n >= sizeof head) {
        conn_close(c);
        return;
    }
    char *all = malloc((size_t)n + body_len);
    if (all == NULL) {
        conn_close(c);
        return;
    }
    memcpy(all, head, (size_t)n);
    if (body_len > 0)
        memcpy(all + n, body, body_len);
    conn_write(c, all, (size_t)n + body_len);
    free(all);
}

/* ---- behaviours ---- */

static long query_long(const char *path, const char *key, long dflt)
{
    const char *q = strchr(path, '?');
    size_t klen = strlen(key);
    while (q != NULL) {
        q++;
        if (strncmp(q, key, klen) == 0 && q[klen] == '=')
            return strtol(q + klen + 1, NULL, 10);
        q = strchr(q, '&');
    }
    return dflt;
}

static int path_is(const char *path, const char *want)
{
    size_t n = strlen(want);
    return strncmp(path, want, n) == 0 && (path[n] == '\0' || path[n] == '?');
}

static void on_stream_tick(uv_timer_t *t)
{
    conn *c = t->data;
    char chunk[64];
    if (c->stream_sent < c->stream_total) {
        int n = snprintf(chunk, sizeof chunk, "%x\r\nchunk-%03d\n\r\n", SC_TEST_HTTP_CHUNK_LEN,
                         c->stream_sent);
        conn_write(c, chunk, (size_t)n);
        c->stream_sent++;
        return;
    }
    uv_timer_stop(t);
    if (c->stream_cut) {
        conn_close(c);
        return;
    }
    conn_write(c, "0\r\n\r\n", 5);
    c->busy = 0;
    parse_input(c);
}

static void serve_stream(conn *c, const char *path)
{
    long n = query_long(path, "chunks", 3);
    c->stream_total = n < 0 ? 0 : n > 999 ? 999 : (int)n; /* "chunk-NNN\n" stays 10 bytes */
    c->stream_cut = query_long(path, "cut", 0) != 0;
    c->stream_sent = 0;
    c->busy = 1;
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n";
    conn_write(c, head, sizeof head - 1);
    uv_timer_start(&c->timer, on_stream_tick, STREAM_TICK_MS, STREAM_TICK_MS);
}

static void serve_echo(conn *c, const sc_test_http_req *r)
{
    sc_buf b;
    sc_buf_init(&b, 64 * 1024);
    sc_jsonw_raw(&b, "{\"method\":");
    sc_jsonw_cstr(&b, r->method);
    sc_jsonw_raw(&b, ",\"headers\":{");
    for (size_t i = 0; i < r->n_headers; i++) {
        if (i > 0)
            sc_jsonw_raw(&b, ",");
        sc_jsonw_cstr(&b, r->names[i]);
        sc_jsonw_raw(&b, ":");
        sc_jsonw_cstr(&b, r->values[i]);
    }
    sc_jsonw_raw(&b, "},\"body_len\":");
    sc_jsonw_u64(&b, r->body_len);
    sc_jsonw_raw(&b, "}");
    respond(c, 200, "Content-Type: application/json\r\n", b.data, b.len);
    sc_buf_free(&b);
}

static void serve_big(conn *c, const char *path)
{
    long n = query_long(path, "bytes", 0);
    if (n < 0 || n > 64L * 1024 * 1024) {
        respond(c, 400, NULL, "", 0);
        return;
    }
    char *body = malloc((size_t)n + 1);
    if (body == NULL) {
        conn_close(c);
        return;
    }
    memset(body, 'x', (size_t)n);
    respond(c, 200, "Content-Type: application/octet-stream\r\n", body, (size_t)n);
    free(body);
}

/* Appends a protobuf varint. */
static size_t put_varint(unsigned char *p, unsigned long long v)
{
    size_t n = 0;
    do {
        p[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            p[n] |= 0x80;
        n++;
    } while (v);
    return n;
}

/* 200 with an OTLP partial_success of `rejected` items, in the request's encoding. */
static void respond_partial(conn *c, const sc_test_http_req *r, long rejected, int metrics)
{
    static const char msg[] = "test rejection";
    const char *ct = sc_test_http_req_header(r, "content-type");
    char body[256];
    size_t n;
    if (ct != NULL && strncmp(ct, "application/json", 16) == 0) {
        n = (size_t)snprintf(body, sizeof body,
                             "{\"partialSuccess\":{\"%s\":\"%ld\",\"errorMessage\":\"%s\"}}",
                             metrics ? "rejectedDataPoints" : "rejectedSpans", rejected, msg);
        respond(c, 200, "Content-Type: application/json\r\n", body, n);
        return;
    }
    unsigned char inner[64], *b = (unsigned char *)body;
    size_t k = 0;
    inner[k++] = 0x08; /* rejected_spans / rejected_data_points = 1, varint */
    k += put_varint(inner + k, (unsigned long long)rejected);
    inner[k++] = 0x12; /* error_message = 2 */
    inner[k++] = (unsigned char)(sizeof msg - 1);
    memcpy(inner + k, msg, sizeof msg - 1);
    k += sizeof msg - 1;
    n = 0;
    b[n++] = 0x0a; /* partial_success = 1 */
    b[n++] = (unsigned char)k;
    memcpy(b + n, inner, k);
    n += k;
    respond(c, 200, "Content-Type: application/x-protobuf\r\n", body, n);
}

/* /script/STEP,STEP,...: the k-th /script/ request (counted separately for paths containing
 * "metrics") gets step k, the last step repeating. STEP is NNN (that status, empty body, in the
 * request's Content-Type), NNN~S (with Retry-After: S) or pN (200 with a partial success
 * rejecting N items). A collector stand-in for export tests. */
static void serve_script(conn *c, const sc_test_http_req *r)
{
    const char *p = r->path + 8;
    int metrics = strstr(r->path, "metrics") != NULL;
    size_t k = c->srv->n_script[metrics]++;
    for (size_t i = 0; i < k; i++) {
        const char *comma = strchr(p, ',');
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    if (*p == 'p') {
        respond_partial(c, r, strtol(p + 1, NULL, 10), metrics);
        return;
    }
    char *end;
    long st = strtol(p, &end, 10);
    if (st < 100 || st > 999)
        st = 400;
    char extra[128] = "";
    const char *ct = sc_test_http_req_header(r, "content-type");
    int n = 0;
    if (ct != NULL && strchr(ct, '\r') == NULL && strlen(ct) < 64)
        n = snprintf(extra, sizeof extra, "Content-Type: %s\r\n", ct);
    if (*end == '~')
        snprintf(extra + n, sizeof extra - (size_t)n, "Retry-After: %ld\r\n",
                 strtol(end + 1, NULL, 10));
    respond(c, (int)st, extra, "", 0);
}

static void dispatch(conn *c, const sc_test_http_req *r, size_t number)
{
    const char *p = r->path;
    if (path_is(p, "/ok")) {
        char extra[128];
        snprintf(extra, sizeof extra, "Content-Type: application/json\r\nX-Request-Id: req-%zu\r\n",
                 number);
        respond(c, 200, extra, "{\"ok\":true}", 11);
    } else if (strncmp(p, "/status/", 8) == 0) {
        int st = atoi(p + 8);
        if (st < 100 || st > 999)
            st = 400;
        const char *extra = (st == 429 || st == 503) ? "Retry-After: 2\r\n" : NULL;
        char body[32];
        int n = snprintf(body, sizeof body, "status %d", st);
        respond(c, st, extra, body, (size_t)n);
    } else if (path_is(p, "/big")) {
        serve_big(c, p);
    } else if (path_is(p, "/hang")) {
        c->busy = 1;
    } else if (path_is(p, "/stream")) {
        serve_stream(c, p);
    } else if (path_is(p, "/echo")) {
        serve_echo(c, r);
    } else if (strncmp(p, "/script/", 8) == 0) {
        serve_script(c, r);
    } else if (path_is(p, "/redirect")) {
        respond(c, 301, "Location: /ok\r\n", "moved", 5);
    } else {
        respond(c, 404, NULL, "not found", 9);
    }
}

/* ---- parsing ---- */

const char *sc_test_http_req_header(const sc_test_http_req *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->names[i], name) == 0)
            return r->values[i];
    return NULL;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* Parses the head in `store` (NUL-terminated, "\r\n" separated) in place. */
static int parse_head(sc_test_http_req *r, char *store)
{
    char *save = NULL;
    char *line = strtok_r(store, "\r\n", &save);
    if (line == NULL)
        return -EINVAL;
    char *sp1 = strchr(line, ' ');
    char *sp2 = sp1 != NULL ? strchr(sp1 + 1, ' ') : NULL;
    if (sp1 == NULL || sp2 == NULL)
        return -EINVAL;
    *sp1 = *sp2 = '\0';
    r->method = line;
    r->path = sp1 + 1;
    while ((line = strtok_r(NULL, "\r\n", &save)) != NULL) {
        char *colon = strchr(line, ':');
        if (colon == NULL || r->n_headers == SC_TEST_HTTP_MAX_HEADERS)
            continue;
        *colon = '\0';
        r->names[r->n_headers] = trim(line);
        r->values[r->n_headers] = trim(colon + 1);
        r->n_headers++;
    }
    return 0;
}

static void req_release(sc_test_http_req *r)
{
    free(r->store_);
    free((char *)r->body);
    memset(r, 0, sizeof *r);
}

/* Returns 1 when a whole request was taken from the buffer, 0 when more input is needed, -1 on a
 * malformed request. */
static int take_request(conn *c, sc_test_http_req *r)
{
    if (c->in.len > 0 && (c->in.data[0] < 'A' || c->in.data[0] > 'Z'))
        return -1; /* not HTTP (e.g. a TLS ClientHello): answer 400 and close */
    const char *end = c->in.len > 0 ? memmem(c->in.data, c->in.len, "\r\n\r\n", 4) : NULL;
    if (end == NULL)
        return c->in.len > HEAD_MAX ? -1 : 0;
    size_t head_len = (size_t)(end - c->in.data) + 4;
    r->store_ = strndup(c->in.data, head_len - 4);
    if (r->store_ == NULL || parse_head(r, r->store_) != 0)
        goto bad;
    const char *cl = sc_test_http_req_header(r, "content-length");
    long body_len = cl != NULL ? strtol(cl, NULL, 10) : 0;
    if (body_len < 0 || (size_t)body_len > IN_MAX - HEAD_MAX)
        goto bad;
    if (c->in.len < head_len + (size_t)body_len) {
        req_release(r);
        return 0;
    }
    char *body = malloc((size_t)body_len + 1);
    if (body == NULL)
        goto bad;
    memcpy(body, c->in.data + head_len, (size_t)body_len);
    body[body_len] = '\0';
    r->body = body;
    r->body_len = (size_t)body_len;
    r->conn_id = c->id;
    size_t used = head_len + (size_t)body_len;
    memmove(c->in.data, c->in.data + used, c->in.len - used);
    c->in.len -= used;
    return 1;
bad:
    req_release(r);
    return -1;
}

static void parse_input(conn *c)
{
    sc_test_http_server *s = c->srv;
    while (!c->busy && !c->closing) {
        sc_test_http_req r = {0};
        int rc = take_request(c, &r);
        if (rc == 0)
            return;
        if (rc < 0) {
            respond(c, 400, "Connection: close\r\n", "", 0);
            conn_close(c);
            return;
        }
        size_t number = ++s->n_requests;
        sc_test_http_req *rec = &r;
        if (s->n_records < SC_TEST_HTTP_MAX_RECORDS) {
            s->records[s->n_records] = r;
            rec = &s->records[s->n_records++];
        }
        dispatch(c, rec, number);
        if (rec == &r)
            req_release(&r);
    }
}

/* ---- libuv callbacks ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    buf->base = malloc(suggested);
    buf->len = buf->base != NULL ? suggested : 0;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    conn *c = stream->data;
    if (nread < 0) {
        conn_close(c);
    } else if (nread > 0 && !c->closing) {
        if (sc_buf_append(&c->in, buf->base, (size_t)nread) != 0)
            conn_close(c);
        else
            parse_input(c);
    }
    free(buf->base);
}

static void on_connection(uv_stream_t *server, int status)
{
    sc_test_http_server *s = server->data;
    if (status < 0 || s->closing)
        return;
    conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return;
    c->srv = s;
    c->id = ++s->n_conns;
    sc_buf_init(&c->in, IN_MAX);
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->open_handles = 2;
    c->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = c;
    s->conns = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        conn_close(c);
}

/* ---- public ---- */

int sc_test_http_server_start(sc_test_http_server **out, uv_loop_t *loop)
{
    *out = NULL;
    sc_test_http_server *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -ENOMEM;
    s->loop = loop;
    int rc = uv_tcp_init(loop, &s->listener);
    if (rc != 0) {
        free(s);
        return rc;
    }
    s->listener.data = s;
    s->listener_open = 1;
    struct sockaddr_in addr;
    struct sockaddr_storage bound;
    int len = sizeof bound;
    if ((rc = uv_ip4_addr("127.0.0.1", 0, &addr)) != 0 ||
        (rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&addr, 0)) != 0 ||
        (rc = uv_listen((uv_stream_t *)&s->listener, 64, on_connection)) != 0 ||
        (rc = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &len)) != 0) {
        s->free_on_close = 1; /* the listener must close before the memory goes */
        sc_test_http_server_close(s);
        return rc;
    }
    s->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    *out = s;
    return 0;
}

int sc_test_http_server_port(const sc_test_http_server *s)
{
    return s->port;
}

const char *sc_test_http_server_url(const sc_test_http_server *s, const char *path, char *buf,
                                    size_t cap)
{
    snprintf(buf, cap, "http://127.0.0.1:%d%s", s->port, path);
    return buf;
}

size_t sc_test_http_server_n_requests(const sc_test_http_server *s)
{
    return s->n_requests;
}

unsigned sc_test_http_server_n_connections(const sc_test_http_server *s)
{
    return s->n_conns;
}

const sc_test_http_req *sc_test_http_server_request(const sc_test_http_server *s, size_t i)
{
    return i < s->n_records ? &s->records[i] : NULL;
}

static void listener_closed(uv_handle_t *h)
{
    sc_test_http_server *s = h->data;
    s->listener_open = 0;
    if (s->free_on_close)
        free(s);
}

void sc_test_http_server_close(sc_test_http_server *s)
{
    if (s == NULL || s->closing)
        return;
    s->closing = 1;
    uv_close((uv_handle_t *)&s->listener, listener_closed);
    while (s->conns != NULL)
        conn_close(s->conns);
}

void sc_test_http_server_free(sc_test_http_server *s)
{
    if (s == NULL)
        return;
    if (s->listener_open) {
        fprintf(stderr, "sc_test_http_server_free: server not closed, leaking it\n");
        return;
    }
    for (size_t i = 0; i < s->n_records; i++)
        req_release(&s->records[i]);
    free(s);
}
