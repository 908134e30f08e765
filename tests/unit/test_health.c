/* test_health.c - tests for health/health_server: a real listener on 127.0.0.1 port 0 driven by
 * real TCP clients on the same loop. Every test is bounded by a watchdog timer, synchronises only
 * by callbacks, and ends with sc_test_close_loop. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/env.h"
#include "harness.h"
#include "health/health_server.h"

#define MAX_CLIENTS 12
#define WATCHDOG_MS 10000

typedef struct fixture fixture;

typedef struct client {
    fixture *f;
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_write_t write_req;
    const char *send; /* written once connected; NULL: nothing yet */
    size_t send_len;
    char resp[8192];
    size_t resp_len;
    char scratch[4096]; /* where bytes go once resp is full */
    int started, connected, connect_status, write_status, eof, read_err, closed;
    uint64_t connected_at, closed_at;
} client;

struct fixture {
    uv_loop_t loop;
    int log_fds[2];
    sc_log *log;
    sc_clock_fake clock;
    sc_rng rng;
    sc_env env;
    sc_health *h;
    int port;
    uv_timer_t watchdog;
    int finished, health_closed, watchdog_fired;
    sc_health_stats stats; /* taken just before the server is closed */
    client c[MAX_CLIENTS];
    void (*client_closed)(fixture *f, client *c);
    void (*client_connected)(fixture *f, client *c);
    int healthz_calls, no_query_calls;
    char last_query[64];
    int step;
    char logs[16384];
};

/* ---- handlers ---- */

static int healthz(void *arg, const sc_health_request *req, sc_buf *body, const char **ctype)
{
    fixture *f = arg;
    f->healthz_calls++;
    if (req->query != NULL)
        snprintf(f->last_query, sizeof f->last_query, "%.*s", (int)req->query_len, req->query);
    else
        f->no_query_calls++;
    *ctype = "text/plain; charset=utf-8";
    sc_buf_append_str(body, "ok\n");
    return 200;
}

static int unavailable(void *arg, const sc_health_request *req, sc_buf *body, const char **ctype)
{
    *ctype = "application/json";
    sc_buf_append_str(body, "{\"status\":\"starting\"}");
    return 503;
}

static int bad_status(void *arg, const sc_health_request *req, sc_buf *body, const char **ctype)
{
    return 99;
}

static int bad_ctype(void *arg, const sc_health_request *req, sc_buf *body, const char **ctype)
{
    *ctype = "text/plain\r\nX-Injected: 1";
    return 200;
}

/* ---- fixture ---- */

static void count_closed(void *arg)
{
    (*(int *)arg)++;
}

static void on_health_closed(void *arg)
{
    fixture *f = arg;
    f->health_closed++;
}

/* Takes the stats, closes the server and the watchdog; the loop then runs dry. */
static void finish(fixture *f)
{
    if (f->finished)
        return;
    f->finished = 1;
    sc_health_get_stats(f->h, &f->stats);
    sc_health_close(f->h, on_health_closed, f);
    CHECK_EQ(f->health_closed, 0); /* never from inside the call */
    uv_close((uv_handle_t *)&f->watchdog, NULL);
}

static void all_closed_then_finish(fixture *f, client *c)
{
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (f->c[i].started && !f->c[i].closed)
            return;
    finish(f);
}

static void on_watchdog(uv_timer_t *t)
{
    fixture *f = t->data;
    f->watchdog_fired = 1;
    sc_test_fail(__FILE__, __LINE__, "watchdog fired");
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (f->c[i].started && !uv_is_closing((uv_handle_t *)&f->c[i].tcp))
            uv_close((uv_handle_t *)&f->c[i].tcp, NULL);
    finish(f);
}

static int fixture_init(fixture *f, sc_health_opts opts)
{
    memset(f, 0, sizeof *f);
    if (uv_loop_init(&f->loop) != 0 || pipe(f->log_fds) != 0)
        return -1;
    fcntl(f->log_fds[0], F_SETFL, O_NONBLOCK);
    fcntl(f->log_fds[1], F_SETFL, O_NONBLOCK);
    sc_clock_fake_init(&f->clock, 1795375401042000000ull);
    if (sc_log_new(&f->log, f->log_fds[1], SC_LOG_DEBUG, &f->clock.base) != 0)
        return -1;
    sc_rng_init_seeded(&f->rng, 1);
    f->env = (sc_env){.loop = &f->loop, .log = f->log, .clock = &f->clock.base, .rng = &f->rng};
    f->client_closed = all_closed_then_finish;
    opts.host = "127.0.0.1";
    if (sc_health_new(&f->h, &f->env, &opts) != 0)
        return -1;
    uv_timer_init(&f->loop, &f->watchdog);
    f->watchdog.data = f;
    uv_timer_start(&f->watchdog, on_watchdog, WATCHDOG_MS, 0);
    if (sc_health_route(f->h, "/healthz", healthz, f) != 0 ||
        sc_health_route(f->h, "/unavailable", unavailable, f) != 0 ||
        sc_health_route(f->h, "/bad-status", bad_status, f) != 0 ||
        sc_health_route(f->h, "/bad-ctype", bad_ctype, f) != 0 || sc_health_start(f->h) != 0) {
        finish(f);
        uv_run(&f->loop, UV_RUN_DEFAULT);
        return -1;
    }
    f->port = sc_health_port(f->h);
    return f->port > 0 ? 0 : -1;
}

static void fixture_run(fixture *f)
{
    uv_run(&f->loop, UV_RUN_DEFAULT);
    CHECK_EQ(f->health_closed, 1);
    CHECK(!f->watchdog_fired);
}

static void fixture_done(fixture *f)
{
    sc_log_free(f->log);
    ssize_t n = read(f->log_fds[0], f->logs, sizeof f->logs - 1);
    f->logs[n > 0 ? n : 0] = '\0';
    close(f->log_fds[0]);
    close(f->log_fds[1]);
    sc_test_close_loop(&f->loop);
}

static int count_in(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* ---- clients ---- */

static void client_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    client *c = handle->data;
    if (c->resp_len < sizeof c->resp - 1)
        *buf = uv_buf_init(c->resp + c->resp_len, (unsigned)(sizeof c->resp - 1 - c->resp_len));
    else
        *buf = uv_buf_init(c->scratch, sizeof c->scratch);
}

static void on_client_closed(uv_handle_t *handle)
{
    client *c = handle->data;
    c->closed = 1;
    c->closed_at = uv_now(handle->loop);
    c->f->client_closed(c->f, c);
}

static void on_client_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    client *c = s->data;
    if (nread > 0 && buf->base != c->scratch) {
        c->resp_len += (size_t)nread;
        c->resp[c->resp_len] = '\0';
    } else if (nread < 0) {
        if (nread == UV_EOF)
            c->eof = 1;
        else
            c->read_err = (int)nread;
        uv_close((uv_handle_t *)&c->tcp, on_client_closed);
    }
}

static void on_client_written(uv_write_t *req, int status)
{
    client *c = req->data;
    c->write_status = status;
}

static void client_send(client *c, const char *data, size_t len)
{
    c->send = data;
    c->send_len = len;
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    c->write_req.data = c;
    CHECK_EQ(uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1, on_client_written), 0);
}

static void on_client_connect(uv_connect_t *req, int status)
{
    client *c = req->data;
    c->connect_status = status;
    if (status < 0) {
        uv_close((uv_handle_t *)&c->tcp, on_client_closed);
        return;
    }
    c->connected = 1;
    c->connected_at = uv_now(c->tcp.loop);
    uv_read_start((uv_stream_t *)&c->tcp, client_alloc, on_client_read);
    if (c->send != NULL)
        client_send(c, c->send, c->send_len);
    if (c->f->client_connected != NULL)
        c->f->client_connected(c->f, c);
}

/* Connects client i; `req` (a string literal or fixture-owned, may be NULL) is sent on connect. */
static client *client_start(fixture *f, int i, const char *req)
{
    client *c = &f->c[i];
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", f->port, &addr);
    c->f = f;
    c->send = req;
    c->send_len = req ? strlen(req) : 0;
    uv_tcp_init(&f->loop, &c->tcp);
    c->tcp.data = c;
    c->connect_req.data = c;
    c->started = 1;
    if (uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&addr,
                       on_client_connect) != 0) {
        sc_test_fail(__FILE__, __LINE__, "uv_tcp_connect");
        uv_close((uv_handle_t *)&c->tcp, on_client_closed);
    }
    return c;
}

static int status_of(const client *c)
{
    int st = 0;
    if (sscanf(c->resp, "HTTP/1.1 %d ", &st) != 1)
        return -1;
    return st;
}

static const char *body_of(const client *c)
{
    const char *p = strstr(c->resp, "\r\n\r\n");
    return p ? p + 4 : NULL;
}

/* Checks the framing every response must have; `body` NULL means "no body expected" (HEAD). */
static void check_response(const client *c, int status, const char *body, size_t content_length)
{
    char want[64];
    CHECK(c->eof);
    CHECK_EQ(status_of(c), status);
    CHECK(strstr(c->resp, "\r\nConnection: close\r\n") != NULL);
    CHECK(strstr(c->resp, "\r\nContent-Type: ") != NULL);
    snprintf(want, sizeof want, "\r\nContent-Length: %zu\r\n", content_length);
    CHECK(strstr(c->resp, want) != NULL);
    CHECK_STR(body_of(c), body ? body : "");
}

/* ---- tests ---- */

static const sc_health_opts default_opts = {.port = 0};

static void serves_routes_and_rejects_the_rest(void)
{
    static fixture f;
    REQUIRE(fixture_init(&f, default_opts) == 0);
    static const char *const reqs[] = {
        "GET /healthz?verbose=1 HTTP/1.1\r\nHost: t\r\nUser-Agent: kube-probe/1.29\r\n\r\n",
        "HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n",
        "POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
        "GET /unavailable HTTP/1.0\n\n",
        "GET /bad-status HTTP/1.1\r\n\r\n",
        "GET /bad-ctype HTTP/1.1\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "\x16\x03\x01\x00\xa5\x01\x00\x00", /* TLS to a plain-HTTP port */
    };
    for (int i = 0; i < (int)(sizeof reqs / sizeof reqs[0]); i++)
        client_start(&f, i, reqs[i]);
    fixture_run(&f);

    check_response(&f.c[0], 200, "ok\n", 3);
    CHECK_STR(f.last_query, "verbose=1");
    CHECK_EQ(f.no_query_calls, 1); /* the HEAD */
    check_response(&f.c[1], 200, NULL, 3);
    CHECK(strstr(f.c[1].resp, "Content-Type: text/plain; charset=utf-8\r\n") != NULL);
    check_response(&f.c[2], 404, "not found\n", 10);
    check_response(&f.c[3], 405, "method not allowed\n", 19);
    CHECK(strstr(f.c[3].resp, "\r\nAllow: GET, HEAD\r\n") != NULL);
    check_response(&f.c[4], 400, "bad request\n", 12);
    check_response(&f.c[5], 413, "request body not accepted\n", 26);
    check_response(&f.c[6], 503, "{\"status\":\"starting\"}", 21);
    CHECK(strstr(f.c[6].resp, "Content-Type: application/json\r\n") != NULL);
    check_response(&f.c[7], 500, "internal error\n", 15);
    check_response(&f.c[8], 500, "internal error\n", 15);
    CHECK(strstr(f.c[8].resp, "X-Injected") == NULL);
    check_response(&f.c[9], 400, "request body not accepted\n", 26);
    check_response(&f.c[10], 400, "bad request\n", 12);
    CHECK_EQ(f.healthz_calls, 2);
    CHECK_EQ(f.stats.requests, 9);
    CHECK_EQ(f.stats.rejected_malformed, 3);
    CHECK_EQ(f.stats.rejected_too_large, 1);
    CHECK_EQ(f.stats.timed_out, 0);
    CHECK_EQ(f.stats.refused_over_limit, 0);
    fixture_done(&f);
    CHECK(strstr(f.logs, "\"msg\":\"health listener started\",\"server.address\":\"127.0.0.1\"") !=
          NULL);
    CHECK_EQ(count_in(f.logs, "invalid response"), 2);
}

static void oversize_head_is_rejected(void)
{
    static fixture f;
    sc_health_opts o = default_opts;
    o.max_request_bytes = 256;
    REQUIRE(fixture_init(&f, o) == 0);
    /* A head far over the cap, streamed without end: the server must answer 431 and drain. */
    static char big[64 * 1024];
    memset(big, 'a', sizeof big - 1);
    memcpy(big, "GET /healthz HTTP/1.1\r\nX-Big: ", 30);
    client_start(&f, 0, big);
    /* A head of exactly the cap still works. */
    static char fits[257]; /* exactly the cap */
    snprintf(fits, sizeof fits, "GET /healthz HTTP/1.1\r\nX-Pad: %*s\r\n\r\n", 256 - 34, "p");
    CHECK_EQ(strlen(fits), 256);
    client_start(&f, 1, fits);
    fixture_run(&f);

    check_response(&f.c[0], 431, "request head too large\n", 23);
    check_response(&f.c[1], 200, "ok\n", 3);
    CHECK_EQ(f.stats.rejected_too_large, 1);
    CHECK_EQ(f.stats.requests, 1);
    fixture_done(&f);
}

/* Client 0 sends nothing, client 1 half a head; client 2, started once 0 is connected, is served
 * while they wait; 0 and 1 are closed by the timeout, without a response. */
static void timeout_closed_idle(fixture *f, client *c)
{
    if (c == &f->c[2])
        f->step = !f->c[0].closed && !f->c[1].closed; /* served while the idle ones still wait */
    all_closed_then_finish(f, c);
}

static void timeout_connected(fixture *f, client *c)
{
    if (c == &f->c[0])
        client_start(f, 2, "GET /healthz HTTP/1.1\r\n\r\n");
}

static void slow_clients_time_out(void)
{
    static fixture f;
    sc_health_opts o = default_opts;
    o.request_timeout_ms = 150;
    REQUIRE(fixture_init(&f, o) == 0);
    f.client_connected = timeout_connected;
    f.client_closed = timeout_closed_idle;
    client_start(&f, 0, NULL);
    client_start(&f, 1, "GET /healthz HTTP/1.1\r\nHost: slow");
    fixture_run(&f);

    check_response(&f.c[2], 200, "ok\n", 3);
    CHECK_EQ(f.step, 1);
    for (int i = 0; i < 2; i++) {
        CHECK(f.c[i].eof);
        CHECK_EQ(f.c[i].resp_len, 0);
        CHECK(f.c[i].closed_at - f.c[i].connected_at >= 150);
    }
    CHECK_EQ(f.stats.timed_out, 2);
    CHECK_EQ(f.stats.requests, 1);
    fixture_done(&f);
    CHECK_EQ(count_in(f.logs, "timed out before a full request"), 2);
}

/* max_connections = 2. Clients 0 and 1 hold both slots (idle); 2..4 are refused in one burst,
 * then, 11 s later on the fake clock, 5 is refused too; then 0 and 1 send requests and are served.
 * The kernel accept queue is FIFO, so 0 and 1 (connected first) always get the slots. */
static void limit_connected(fixture *f, client *c)
{
    if (f->c[0].connected && f->c[1].connected && f->step == 0) {
        f->step = 1;
        for (int i = 2; i <= 4; i++)
            client_start(f, i, NULL);
    }
}

static void limit_closed(fixture *f, client *c)
{
    if (f->step == 1 && f->c[2].closed && f->c[3].closed && f->c[4].closed) {
        f->step = 2;
        sc_clock_fake_advance(&f->clock, 11000ull * 1000000ull);
        client_start(f, 5, NULL);
    } else if (f->step == 2 && c == &f->c[5]) {
        f->step = 3;
        static const char get[] = "GET /healthz HTTP/1.1\r\n\r\n";
        client_send(&f->c[0], get, sizeof get - 1);
        client_send(&f->c[1], get, sizeof get - 1);
    }
    all_closed_then_finish(f, c);
}

static void connections_over_the_limit_are_refused(void)
{
    static fixture f;
    sc_health_opts o = default_opts;
    o.max_connections = 2;
    REQUIRE(fixture_init(&f, o) == 0);
    f.client_connected = limit_connected;
    f.client_closed = limit_closed;
    client_start(&f, 0, NULL);
    client_start(&f, 1, NULL);
    fixture_run(&f);

    CHECK_EQ(f.step, 3);
    check_response(&f.c[0], 200, "ok\n", 3);
    check_response(&f.c[1], 200, "ok\n", 3);
    for (int i = 2; i <= 5; i++) {
        CHECK(f.c[i].eof);
        CHECK_EQ(f.c[i].resp_len, 0);
    }
    CHECK_EQ(f.stats.refused_over_limit, 4);
    CHECK_EQ(f.stats.requests, 2);
    fixture_done(&f);
    /* One line for the burst of three, one after the interval, which reports the two it hid. */
    CHECK_EQ(count_in(f.logs, "max_connections reached"), 2);
    CHECK(strstr(f.logs, "\"refused_total\":4,\"suppressed\":2") != NULL);
}

/* Clients 0 (idle) and 1 (half a head) are open; once 2 is served (so 0 and 1 were accepted
 * before it) the server is closed under them. */
static void close_connected(fixture *f, client *c)
{
    if (f->c[0].connected && f->c[1].connected && f->step == 0) {
        f->step = 1;
        client_start(f, 2, "GET /healthz HTTP/1.1\r\n\r\n");
    }
}

static void close_closed(fixture *f, client *c)
{
    if (c == &f->c[2]) {
        CHECK(!f->c[0].closed && !f->c[1].closed);
        finish(f);
    }
}

static void close_with_open_connections(void)
{
    static fixture f;
    REQUIRE(fixture_init(&f, default_opts) == 0);
    f.client_connected = close_connected;
    f.client_closed = close_closed;
    client_start(&f, 0, NULL);
    client_start(&f, 1, "GET /healthz HTTP/1.1\r\n");
    fixture_run(&f);

    check_response(&f.c[2], 200, "ok\n", 3);
    for (int i = 0; i < 2; i++) {
        CHECK(f.c[i].closed);
        CHECK(f.c[i].eof || f.c[i].read_err == UV_ECONNRESET);
        CHECK_EQ(f.c[i].resp_len, 0);
    }
    fixture_done(&f);
}

/* Client 0 is accepted (proved by 1 being served after it); then the listener stops: client 2 is
 * refused by the kernel while 0 can still complete its request. */
static void stop_connected(fixture *f, client *c)
{
    if (c == &f->c[0])
        client_start(f, 1, "GET /healthz HTTP/1.1\r\n\r\n");
}

static void stop_closed(fixture *f, client *c)
{
    if (c == &f->c[1]) {
        sc_health_stop_accepting(f->h);
        sc_health_stop_accepting(f->h); /* idempotent */
        client_start(f, 2, "GET /healthz HTTP/1.1\r\n\r\n");
    } else if (c == &f->c[2]) {
        static const char get[] = "GET /healthz HTTP/1.1\r\n\r\n";
        client_send(&f->c[0], get, sizeof get - 1);
    }
    all_closed_then_finish(f, c);
}

static void stop_accepting_keeps_open_connections(void)
{
    static fixture f;
    REQUIRE(fixture_init(&f, default_opts) == 0);
    f.client_connected = stop_connected;
    f.client_closed = stop_closed;
    client_start(&f, 0, NULL);
    fixture_run(&f);

    check_response(&f.c[0], 200, "ok\n", 3);
    check_response(&f.c[1], 200, "ok\n", 3);
    CHECK_EQ(f.c[2].connect_status, UV_ECONNREFUSED);
    CHECK_EQ(f.stats.requests, 2);
    fixture_done(&f);
    CHECK(strstr(f.logs, "stopped accepting") != NULL);
}

static void port_in_use_is_an_error(void)
{
    static fixture f;
    REQUIRE(fixture_init(&f, default_opts) == 0);
    sc_health *second = NULL;
    sc_health_opts o = {.host = "127.0.0.1", .port = (uint16_t)f.port};
    REQUIRE(sc_health_new(&second, &f.env, &o) == 0);
    CHECK_EQ(sc_health_start(second), -EADDRINUSE);
    CHECK_EQ(sc_health_start(second), -EALREADY);
    CHECK_EQ(sc_health_port(second), -ENOTCONN);
    int closed = 0;
    sc_health_close(second, count_closed, &closed);
    finish(&f);
    fixture_run(&f);
    CHECK_EQ(closed, 1);
    fixture_done(&f);
    CHECK(strstr(f.logs, "health listener failed") != NULL);
}

static void new_and_route_validate(void)
{
    uv_loop_t loop;
    REQUIRE(uv_loop_init(&loop) == 0);
    sc_clock_fake clk;
    sc_clock_fake_init(&clk, 0);
    sc_env env = {.loop = &loop, .log = NULL, .clock = &clk.base, .rng = NULL};
    sc_health *h = NULL;
    sc_health_opts o = {.host = "localhost"};
    CHECK_EQ(sc_health_new(&h, &env, &o), -EINVAL); /* names are resolved by the app, not here */
    o.host = "[::1]";
    CHECK_EQ(sc_health_new(&h, &env, &o), -EINVAL);
    o.host = "127.0.0.1";
    o.max_request_bytes = 10;
    CHECK_EQ(sc_health_new(&h, &env, &o), -EINVAL);
    CHECK(h == NULL);
    o.max_request_bytes = 0;
    o.host = "::1";
    REQUIRE(sc_health_new(&h, &env, &o) == 0);
    CHECK_EQ(sc_health_port(h), -ENOTCONN);
    CHECK_EQ(sc_health_route(h, "healthz", healthz, NULL), -EINVAL);
    CHECK_EQ(sc_health_route(h, "/healthz", NULL, NULL), -EINVAL);
    char path[32];
    for (int i = 0; i < SC_HEALTH_MAX_ROUTES; i++) {
        snprintf(path, sizeof path, "/r%d", i);
        CHECK_EQ(sc_health_route(h, path, healthz, NULL), 0);
    }
    CHECK_EQ(sc_health_route(h, "/r3", healthz, NULL), -EEXIST);
    CHECK_EQ(sc_health_route(h, "/one-more", healthz, NULL), -ENOSPC);
    sc_health_stats st;
    sc_health_get_stats(h, &st);
    CHECK_EQ(st.requests, 0);
    int closed = 0;
    sc_health_close(h, count_closed, &closed);
    CHECK_EQ(closed, 0);
    sc_health_close(NULL, count_closed, &closed); /* accepted, no callback */
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_EQ(closed, 1);
    sc_test_close_loop(&loop);
}

int main(void)
{
    RUN(serves_routes_and_rejects_the_rest);
    RUN(oversize_head_is_rejected);
    RUN(slow_clients_time_out);
    RUN(connections_over_the_limit_are_refused);
    RUN(close_with_open_connections);
    RUN(stop_accepting_keeps_open_connections);
    RUN(port_in_use_is_an_error);
    RUN(new_and_route_validate);
    return sc_test_summary();
}
