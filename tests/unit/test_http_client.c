/* test_http_client.c - tests for loop/http_client (and loop/curl_uv underneath) against the
 * in-loop test server: completion exactly once, caps, streaming, errors, cancel and close. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/env.h"
#include "core/log.h"
#include "core/rng.h"
#include "harness.h"
#include "loop/http_client.h"
#include "test_http_server.h"

#define WATCHDOG_MS 10000
#define MAX_RESULTS 16

typedef struct tctx tctx;

typedef struct result {
    tctx *t;
    int calls;
    sc_http_error err;
    long status;
    char body[4096];
    size_t body_len;
    int body_null;
    char detail[256];
    char hdr_a[128], hdr_b[128]; /* captured headers the test asked about, "" if absent */
    const char *want_a, *want_b;
    sc_http_timings tm;
    char streamed[4096];
    size_t streamed_len;
    int data_calls;
    int data_after_cancel;
    sc_http_request *req;
    int cancel_in_data_at; /* cancel from inside on_data at this call number (0 = never) */
    int abort_in_data_at;  /* return nonzero from on_data at this call number */
    int cancelled;
    int start_in_data_rc; /* what start_request returned when called from inside on_data */
} result;

struct tctx {
    uv_loop_t loop;
    sc_log *log;
    sc_rng rng;
    sc_env env;
    sc_test_http_server *srv;
    sc_http_client *client;
    uv_timer_t watchdog;
    int finished;
    int closed_calls;
    int in_api_call; /* set around start/cancel/close: on_done must not run inside them */
    int expected, completed;
    result res[MAX_RESULTS];
    void (*on_all_done)(tctx *t); /* default: finish */
    char url[256];
};

static void on_client_closed(void *arg)
{
    tctx *t = arg;
    t->closed_calls++;
    CHECK(!t->in_api_call);
}

static void finish(tctx *t)
{
    if (t->finished)
        return;
    t->finished = 1;
    t->in_api_call = 1;
    sc_http_client_close(t->client, on_client_closed, t);
    t->in_api_call = 0;
    sc_test_http_server_close(t->srv);
    uv_close((uv_handle_t *)&t->watchdog, NULL);
}

static void on_watchdog(uv_timer_t *h)
{
    tctx *t = h->data;
    sc_test_fail(__FILE__, __LINE__, "watchdog fired: the test did not complete in time");
    finish(t);
}

static int tctx_init(tctx *t, const sc_http_client_opts *copts)
{
    memset(t, 0, sizeof *t);
    if (uv_loop_init(&t->loop) != 0)
        return -1;
    if (sc_log_new(&t->log, 2, SC_LOG_WARN, sc_clock_system()) != 0)
        return -1;
    sc_rng_init_seeded(&t->rng, 7);
    t->env = (sc_env){.loop = &t->loop, .log = t->log, .clock = sc_clock_system(), .rng = &t->rng};
    for (int i = 0; i < MAX_RESULTS; i++)
        t->res[i].t = t;
    uv_timer_init(&t->loop, &t->watchdog);
    t->watchdog.data = t;
    uv_timer_start(&t->watchdog, on_watchdog, WATCHDOG_MS, 0);
    if (sc_test_http_server_start(&t->srv, &t->loop) != 0)
        return -1;
    sc_http_client_opts o = {.user_agent = "sc-test/1"};
    if (copts != NULL)
        o = *copts;
    return sc_http_client_new(&t->client, &t->env, &o);
}

static void tctx_run(tctx *t)
{
    uv_run(&t->loop, UV_RUN_DEFAULT);
    CHECK_EQ(t->closed_calls, 1);
}

static void tctx_end(tctx *t)
{
    sc_test_http_server_free(t->srv);
    sc_test_close_loop(&t->loop);
    sc_log_free(t->log);
}

static const char *url(tctx *t, const char *path)
{
    return sc_test_http_server_url(t->srv, path, t->url, sizeof t->url);
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src != NULL ? src : "");
}

static void on_done(const sc_http_response *res, void *arg)
{
    result *r = arg;
    tctx *t = r->t;
    CHECK(!t->in_api_call);
    r->calls++;
    r->err = res->error;
    r->status = res->status;
    r->tm = res->timings;
    r->body_null = res->body == NULL;
    r->body_len = res->body_len;
    if (res->body != NULL)
        memcpy(r->body, res->body, res->body_len < sizeof r->body ? res->body_len : 0);
    copy_str(r->detail, sizeof r->detail, res->error_detail);
    if (r->want_a != NULL)
        copy_str(r->hdr_a, sizeof r->hdr_a, sc_http_response_header(res, r->want_a));
    if (r->want_b != NULL)
        copy_str(r->hdr_b, sizeof r->hdr_b, sc_http_response_header(res, r->want_b));
    if (r->req != NULL)
        sc_http_request_cancel(r->req); /* own handle inside own on_done: a no-op */
    r->req = NULL;                      /* invalid once on_done returns */
    if (++t->completed == t->expected) {
        if (t->on_all_done != NULL)
            t->on_all_done(t);
        else
            finish(t);
    }
}

static int on_data(const char *data, size_t len, void *arg)
{
    result *r = arg;
    r->data_calls++;
    if (r->cancelled)
        r->data_after_cancel++;
    if (r->streamed_len + len <= sizeof r->streamed) {
        memcpy(r->streamed + r->streamed_len, data, len);
        r->streamed_len += len;
    }
    if (r->data_calls == 1) {
        sc_http_request_opts o = {.url = "http://127.0.0.1:1/", .on_done = on_done, .arg = r};
        r->start_in_data_rc = sc_http_client_start_request(r->t->client, &o, NULL);
    }
    if (r->cancel_in_data_at == r->data_calls) {
        r->cancelled = 1;
        r->t->in_api_call = 1;
        sc_http_request_cancel(r->req);
        r->t->in_api_call = 0;
    }
    return r->abort_in_data_at == r->data_calls;
}

static int start(tctx *t, result *r, sc_http_request_opts o)
{
    o.on_done = on_done;
    o.arg = r;
    t->in_api_call = 1;
    int rc = sc_http_client_start_request(t->client, &o, &r->req);
    t->in_api_call = 0;
    if (rc == 0)
        t->expected++;
    return rc;
}

static int get(tctx *t, result *r, const char *path)
{
    return start(t, r, (sc_http_request_opts){.url = url(t, path)});
}

/* ---- tests ---- */

static void ok_response_with_timings_and_headers(void)
{
    tctx t;
    REQUIRE(tctx_init(&t, NULL) == 0);
    result *r = &t.res[0];
    r->want_a = "X-REQUEST-ID";
    r->want_b = "retry-after";
    const char *cap[] = {"x-request-id", "content-type", "retry-after"};
    const char *hdrs[] = {"Authorization: Bearer sk-test", "X-Probe: 1"};
    CHECK_EQ(start(&t, r,
                   (sc_http_request_opts){.url = url(&t, "/ok"),
                                          .headers = hdrs,
                                          .n_headers = 2,
                                          .capture_headers = cap,
                                          .n_capture = 3}),
             0);
    tctx_run(&t);
    CHECK_EQ(r->calls, 1);
    CHECK_EQ(r->err, SC_HTTP_OK);
    CHECK_STR(r->detail, "");
    CHECK_EQ(r->status, 200);
    CHECK_EQ(r->body_len, 11);
    CHECK_STR(r->body, "{\"ok\":true}");
    CHECK_STR(r->hdr_a, "req-1");
    CHECK_STR(r->hdr_b, ""); /* asked for, but not in the response */
    CHECK(r->tm.total_s > 0.0);
    CHECK(r->tm.dns_s <= r->tm.connect_s);
    CHECK(r->tm.connect_s <= r->tm.first_byte_s);
    CHECK(r->tm.first_byte_s <= r->tm.total_s);
    CHECK(r->tm.tls_s == 0.0); /* plain http */
    const sc_test_http_req *seen = sc_test_http_server_request(t.srv, 0);
    REQUIRE(seen != NULL);
    CHECK_STR(seen->method, "GET");
    CHECK_STR(seen->path, "/ok");
    CHECK_STR(sc_test_http_req_header(seen, "authorization"), "Bearer sk-test");
    CHECK_STR(sc_test_http_req_header(seen, "user-agent"), "sc-test/1");
    CHECK(sc_test_http_req_header(seen, "expect") == NULL);
    tctx_end(&t);
}

static void post_body_is_sent_and_echoed(void)
{
    tctx t;
    REQUIRE(tctx_init(&t, NULL) == 0);
    result *r = &t.res[0];
    char body[3000];
    memset(body, 'b', sizeof body); /* big enough that curl would otherwise send Expect */
    const char *hdrs[] = {"Content-Type: application/json"};
    CHECK_EQ(start(&t, r,
                   (sc_http_request_opts){.method = "POST",
                                          .url = url(&t, "/echo"),
                                          .headers = hdrs,
                                          .n_headers = 1,
                                          .body = body,
                                          .body_len = sizeof body}),
             0);
    memset(body, 0, sizeof body); /* the client copied it */
    tctx_run(&t);
    CHECK_EQ(r->err, SC_HTTP_OK);
    CHECK(strstr(r->body, "\"method\":\"POST\"") != NULL);
    CHECK(strstr(r->body, "\"body_len\":3000") != NULL);
    const sc_test_http_req *seen = sc_test_http_server_request(t.srv, 0);
    REQUIRE(seen != NULL);
    CHECK_EQ(seen->body_len, 3000);
    CHECK(seen->body[0] == 'b' && seen->body[2999] == 'b');
    CHECK(sc_test_http_req_header(seen, "expect") == NULL);
    tctx_end(&t);
}

/* A borrowed body is sent as it is when the transfer runs (not copied at start), byte for byte. */
static void borrowed_body_is_sent_from_the_callers_storage(void)
{
    tctx t;
    REQUIRE(tctx_init(&t, NULL) == 0);
    result *r = &t.res[0];
    static char body[70000];
    memset(body, 'a', sizeof body);
    CHECK_EQ(start(&t, r,
                   (sc_http_request_opts){.method = "POST",
                                          .url = url(&t, "/echo"),
                                          .body = body,
                                          .body_len = sizeof body,
                                          .body_borrowed = 1}),
             0);
    body[0] = body[sizeof body - 1] = 'z'; /* before the loop runs: the transfer reads these */
    tctx_run(&t);
    CHECK_EQ(r->err, SC_HTTP_OK);
    const sc_test_http_req *seen = sc_test_http_server_request(t.srv, 0);
    REQUIRE(seen != NULL);
    CHECK_EQ(seen->body_len, sizeof body);
    CHECK(seen->body[0] == 'z' && seen->body[1] == 'a' && seen->body[sizeof body - 1] == 'z');
    tctx_end(&t);
}

static void concurrent_requests_complete_exactly_once(void)
{
    tctx t;
    REQUIRE(tctx_init(&t, NULL) == 0);
    const char *cap[] = {"retry-after"};
    for (int i = 0; i < 8; i++) {
        result *r = &t.res[i];
        r->want_a = "retry-after";
        const char *path = i % 2 ? "/status/503" : "/ok";
        CHECK_EQ(start(&t, r,
                       (sc_http_request_opts){
                           .url = url(&t, path), .capture_headers = cap, .n_capture = 1}),
                 0);
    }
    CHECK_EQ(sc_http_client_in_flight(t.client), 8);
    tctx_run(&t);
    for (int i = 0; i < 8; i++) {
        result *r = &t.res[i];
        CHECK_EQ(r->calls, 1);
        CHECK_EQ(r->err, SC_HTTP_OK);
        CHECK_EQ(r->status, i % 2 ? 503 : 200);
        CHECK_STR(r->hdr_a, i % 2 ? "2" : "");
    }
    CHECK_EQ(sc_test_http_server_n_requests(t.srv), 8);
    tctx_end(&t);
}

/* Each on_done starts the next request: sequential requests reuse one kept-alive connection. */
static void chain_next(tctx *t)
{
    if (t->completed < 3)
        CHECK_EQ(get(t, &t->res[t->completed], "/ok"), 0);
    else
        finish(t);
}

static void keep_alive_reuses_connection(void)
{
    tctx t;
    REQUIRE(tctx_init(&t, NULL) == 0);
    t.on_all_done = chain_next;
    CHECK_EQ(get(&t, &t.res[0], "/ok"), 0);
    tctx_run(&t);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(t.res[i].err, SC_HTTP_OK);
    CHECK_EQ(sc_test_http_server_n_requests(t.srv), 3);
    CHECK_EQ(sc_test_http_server_n_connections(t.srv), 1);
    tctx_end(&t);
}

/* Finished requests are kept and reused (easy handle, buffers, capture names): a chain of
 * requests alternating capture sets, statuses and bodies gets a clean result each time, over
 * the one kept-alive connection. */
static void reuse_next(tctx *t)
{
    static const char *const cap_a[] = {"x-request-id"};
    static const char *const cap_b[] = {"retry-after", "x-request-id"};
    int i = t->completed;
    if (i == 6) {
        finish(t);
        return;
    }
    result *r = &t->res[i];
    r->want_a = "x-request-id";
    r->want_b = "retry-after";
    static char body[100];
    int odd = i % 2;
    sc_http_request_opts o = {.method = odd ? "POST" : "GET",
                              .url = url(t, i % 3 == 2 ? "/status/503" : "/ok"),
                              .body = odd ? body : NULL,
                              .body_len = odd ? sizeof body : 0,
                              .capture_headers = odd ? cap_b : cap_a,
                              .n_capture = odd ? 2 : 1};
    CHECK_EQ(start(t, r, o), 0);
}

static void kept_requests_start_clean(void)
{
    tctx t;
    REQUIRE(tctx_init(&t, NULL) == 0);
    t.on_all_done = reuse_next;
    reuse_next(&t);
    tctx_run(&t);
    for (int i = 0; i < 6; i++) {
        CHECK_EQ(t.res[i].calls, 1);
        CHECK_EQ(t.res[i].err, SC_HTTP_OK);
        CHECK_EQ(t.res[i].status, i % 3 == 2 ? 503 : 200);
        CHECK_STR(t.res[i].hdr_b, i == 5 ? "2" : ""); /* captured only when asked for */
        if (i % 3 != 2) {
            char want[16];
            snprintf(want, sizeof want, "req-%d", i + 1);
            CHECK_STR(t.res[i].hdr_a, want);
            CHECK_STR(t.res[i].body, "{\"ok\":true}");
        }
    }
    CHECK_EQ(sc_test_http_server_n_connections(t.srv), 1);
    tctx_end(&t);
}

static void timeout_against_hang(void)
{
    tctx t;
    REQUIRE(tctx_init(&t, NULL) == 0);
    result *r = &t.res[0];
    CHECK_EQ(start(&t, r, (sc_http_request_opts){.url = url(&t, "/hang"), .timeout_ms = 200}), 0);
    tctx_run(&t);
    CHECK_EQ(r->calls, 1);
    CHECK_EQ(r->err, SC_HTTP_ERR_TIMEOUT);
    CHECK_STR(sc_http_error_name(r->err), "timeout");
    CHECK_EQ(r->status, 0);
    CHECK(r->tm.total_s >= 0.15);
    tctx_end(&t);
}

static void after_too_large(tctx *t)
{
    if (t->completed == 3)
        CHECK_EQ(get(t, &t->res[3], "/ok"), 0);
    else
        finish(t);
}

static void oversize_body_is_too_large_and_client_stays_usable(void)
{
    tctx t;
    sc_http_client_opts co = {.default_max_response_bytes = 1000};
    REQUIRE(tctx_init(&t, &co) == 0);
    t.on_all_done = after_too_large;
    /* Declared length over the cap, no length (chunked) over the cap, exactly at the cap. */
    CHECK_EQ(get(&t, &t.res[0], "/big?bytes=5000"), 0);
    CHECK_EQ(start(&t, &t.res[1],
                   (sc_http_request_opts){.url = url(&t, "/stream?chunks=10"),
                                          .max_response_bytes = 35}),
             0);
    CHECK_EQ(get(&t, &t.res[2], "/big?bytes=1000"), 0);
    tctx_run(&t);
    CHECK_EQ(t.res[0].calls, 1);
    CHECK_EQ(t.res[0].err, SC_HTTP_ERR_TOO_LARGE);
    CHECK(t.res[0].body_len <= 1000);
    CHECK_EQ(t.res[1].err, SC_HTTP_ERR_TOO_LARGE);
    CHECK(t.res[1].body_len <= 35);
    CHECK_STR(sc_http_error_name(t.res[1].err), "too_large");
    CHECK_EQ(t.res[2].err, SC_HTTP_OK);
    CHECK_EQ(t.res[2].body_len, 1000);
    CHECK_EQ(t.res[3].calls, 1);
    CHECK_EQ(t.res[3].err, SC_HTTP_OK);
    CHECK_EQ(t.res[3].status, 200);
    tctx_end(&t);
}

static void expected_chunks(char *out, int n)
{
    for (int i = 0; i < n; i++)
        snprintf(out + i * SC_TEST_HTTP_CHUNK_LEN, SC_TEST_HTTP_CHUNK_LEN + 1, "chunk-%03d\n",
                 i % 1000);
}

static void streaming_delivers_all_chunks(void)
{
    tctx t;
    REQUIRE(tctx_init(&t, NULL) == 0);
    result *r = &t.res[0];
    CHECK_EQ(
        start(&t, r,
              (sc_http_request_opts){.url = url(&t, "/stream?chunks=6&cut=0"), .on_data = on_data}),
        0);
    tctx_run(&t);
    CHECK_EQ(r->calls, 1);
    CHECK_EQ(r->err, SC_HTTP_OK);
    CHECK(r->body_null);
    CHECK_EQ(r->streamed_len, 6 * SC_TEST_HTTP_CHUNK_LEN);
    CHECK(r->data_calls >= 2); /* chunks come 5 ms apart: data arrives split */
    CHECK_EQ(r->start_in_data_rc, -EDEADLK);
    char want[128];
    expected_chunks(want, 6);
    CHECK(memcmp(r->streamed, want, 6 * SC_TEST_HTTP_CHUNK_LEN) == 0);
    tctx_end(&t);
}

static void stream_cut_is_recv_error_with_bytes_delivered(void)
{
    tctx t;
    REQUIRE(tctx_init(&t, NULL) == 0);
    result *r = &t.res[0];
    CHECK_EQ(
        start(&t, r,
              (sc_http_request_opts){.url = url(&t, "/stream?chunks=3&cut=1"), .on_data = on_data}),
        0);
    tctx_run(&t);
    CHECK_EQ(r->calls, 1);
    CHECK_EQ(r->err, SC_HTTP_ERR_RECV);
    CHECK_EQ(r->status, 200);
    CHECK_EQ(r->streamed_len, 3 * SC_TEST_HTTP_CHUNK_LEN);
    CHECK(r->detail[0] != '\0');
    tctx_end(&t);
}

static void on_data_nonzero_aborts(void)
{
    tctx t;
    REQUIRE(tctx_init(&t, NULL) == 0);
    result *r = &t.res[0];
    r->abort_in_data_at = 1;
    CHECK_EQ(start(&t, r,
                   (sc_http_request_opts){.url = url(&t, "/stream?chunks=5"), .on_data = on_data}),
             0);
    tctx_run(&t);
    CHECK_EQ(r->calls, 1);
    CHECK_EQ(r->err, SC_HTTP_ERR_ABORTED);
    CHECK_EQ(r->data_calls, 1);
    tctx_end(&t);
}

/* A port that was just bound and released: nothing listens there. */
static int unused_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static void connection_refused_is_connect(void)
{
    tctx t;
    REQUIRE(tctx_init(&t, NULL) == 0);
    result *r = &t.res[0];
    int port = unused_port();
    REQUIRE(port > 0);
    char u[64];
    snprintf(u, sizeof u, "http://127.0.0.1:%d/ok", port);
    CHECK_EQ(start(&t, r, (sc_http_request_opts){.url = u}), 0);
    tctx_run(&t);
    CHECK_EQ(r->calls, 1);
    CHECK_EQ(r->err, SC_HTTP_ERR_CONNECT);
    CHECK_EQ(r->status, 0);
    tctx_end(&t);
}

static void cancel_calls_back_once_later(void)
{
    tctx t;
    REQUIRE(tctx_init(&t, NULL) == 0);
    result *a = &t.res[0], *b = &t.res[1];
    CHECK_EQ(get(&t, a, "/hang"), 0);
    b->cancel_in_data_at = 1;
    CHECK_EQ(start(&t, b,
                   (sc_http_request_opts){.url = url(&t, "/stream?chunks=20"), .on_data = on_data}),
             0);
    t.in_api_call = 1;
    sc_http_request_cancel(a->req);
    sc_http_request_cancel(a->req); /* twice: still one on_done */
    t.in_api_call = 0;
    CHECK_EQ(a->calls, 0);
    tctx_run(&t);
    CHECK_EQ(a->calls, 1);
    CHECK_EQ(a->err, SC_HTTP_ERR_CANCELLED);
    CHECK_STR(sc_http_error_name(a->err), "cancelled");
    CHECK_EQ(b->calls, 1);
    CHECK_EQ(b->err, SC_HTTP_ERR_CANCELLED);
    CHECK_EQ(b->data_calls, 1);
    CHECK_EQ(b->data_after_cancel, 0);
    tctx_end(&t);
}

static void max_in_flight_refuses_without_callback(void)
{
    tctx t;
    sc_http_client_opts co = {.max_in_flight = 2};
    REQUIRE(tctx_init(&t, &co) == 0);
    CHECK_EQ(get(&t, &t.res[0], "/hang"), 0);
    CHECK_EQ(get(&t, &t.res[1], "/hang"), 0);
    CHECK_EQ(get(&t, &t.res[2], "/ok"), -ENOBUFS);
    CHECK(t.res[2].req == NULL);
    sc_http_client_stats st;
    sc_http_client_get_stats(t.client, &st);
    CHECK_EQ(st.rejected_busy, 1);
    CHECK_EQ(st.started, 2);
    sc_http_request_cancel(t.res[0].req);
    sc_http_request_cancel(t.res[1].req);
    tctx_run(&t);
    CHECK_EQ(t.res[0].calls, 1);
    CHECK_EQ(t.res[1].calls, 1);
    CHECK_EQ(t.res[2].calls, 0);
    tctx_end(&t);
}

static void redirect_is_not_followed(void)
{
    tctx t;
    REQUIRE(tctx_init(&t, NULL) == 0);
    result *r = &t.res[0];
    r->want_a = "location";
    const char *cap[] = {"Location"};
    CHECK_EQ(start(&t, r,
                   (sc_http_request_opts){
                       .url = url(&t, "/redirect"), .capture_headers = cap, .n_capture = 1}),
             0);
    tctx_run(&t);
    CHECK_EQ(r->err, SC_HTTP_OK);
    CHECK_EQ(r->status, 301);
    CHECK_STR(r->hdr_a, "/ok");
    CHECK_EQ(sc_test_http_server_n_requests(t.srv), 1);
    tctx_end(&t);
}

static void header_cap_is_too_large(void)
{
    tctx t;
    sc_http_client_opts co = {.max_header_bytes = 40};
    REQUIRE(tctx_init(&t, &co) == 0);
    result *r = &t.res[0];
    CHECK_EQ(get(&t, r, "/ok"), 0);
    tctx_run(&t);
    CHECK_EQ(r->calls, 1);
    CHECK_EQ(r->err, SC_HTTP_ERR_TOO_LARGE);
    CHECK(strstr(r->detail, "headers") != NULL);
    tctx_end(&t);
}

static void tls_handshake_failure_is_tls(void)
{
    tctx t;
    REQUIRE(tctx_init(&t, NULL) == 0);
    result *r = &t.res[0];
    char u[64];
    snprintf(u, sizeof u, "https://127.0.0.1:%d/ok", sc_test_http_server_port(t.srv));
    CHECK_EQ(start(&t, r, (sc_http_request_opts){.url = u}), 0);
    tctx_run(&t);
    CHECK_EQ(r->calls, 1);
    CHECK_EQ(r->err, SC_HTTP_ERR_TLS);
    CHECK_STR(sc_http_error_name(r->err), "tls");
    tctx_end(&t);
}

static void invalid_requests_are_refused(void)
{
    tctx t;
    REQUIRE(tctx_init(&t, NULL) == 0);
    const char *bad_hdr[] = {"X-Evil: a\r\nHost: b"};
    CHECK_EQ(
        start(&t, &t.res[0],
              (sc_http_request_opts){.url = url(&t, "/ok"), .headers = bad_hdr, .n_headers = 1}),
        -EINVAL);
    CHECK_EQ(start(&t, &t.res[1], (sc_http_request_opts){.url = NULL}), -EINVAL);
    CHECK_EQ(start(&t, &t.res[2], (sc_http_request_opts){.method = "GE T", .url = url(&t, "/")}),
             -EINVAL);
    finish(&t);
    tctx_run(&t);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(t.res[i].calls, 0);
    CHECK_EQ(sc_test_http_server_n_requests(t.srv), 0);
    tctx_end(&t);
}

static void close_cancels_in_flight(void)
{
    tctx t;
    REQUIRE(tctx_init(&t, NULL) == 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(get(&t, &t.res[i], "/hang"), 0);
    CHECK_EQ(start(&t, &t.res[3],
                   (sc_http_request_opts){.url = url(&t, "/stream?chunks=50"), .on_data = on_data}),
             0);
    finish(&t); /* closes the client now, with 4 requests in flight */
    CHECK_EQ(t.completed, 0);
    CHECK_EQ(get(&t, &t.res[4], "/ok"), -ESHUTDOWN);
    tctx_run(&t);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(t.res[i].calls, 1);
        CHECK_EQ(t.res[i].err, SC_HTTP_ERR_CANCELLED);
    }
    CHECK_EQ(t.res[4].calls, 0);
    tctx_end(&t);
}

int main(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    RUN(ok_response_with_timings_and_headers);
    RUN(post_body_is_sent_and_echoed);
    RUN(borrowed_body_is_sent_from_the_callers_storage);
    RUN(kept_requests_start_clean);
    RUN(concurrent_requests_complete_exactly_once);
    RUN(keep_alive_reuses_connection);
    RUN(timeout_against_hang);
    RUN(oversize_body_is_too_large_and_client_stays_usable);
    RUN(streaming_delivers_all_chunks);
    RUN(stream_cut_is_recv_error_with_bytes_delivered);
    RUN(on_data_nonzero_aborts);
    RUN(connection_refused_is_connect);
    RUN(cancel_calls_back_once_later);
    RUN(max_in_flight_refuses_without_callback);
    RUN(redirect_is_not_followed);
    RUN(header_cap_is_too_large);
    RUN(tls_handshake_failure_is_tls);
    RUN(invalid_requests_are_refused);
    RUN(close_cancels_in_flight);
    int rc = sc_test_summary();
    curl_global_cleanup();
    return rc;
}
