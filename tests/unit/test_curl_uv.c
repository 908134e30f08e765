/* test_curl_uv.c - tests for loop/curl_uv with raw easy handles against the in-loop test server:
 * completion, close with cached connections and attached transfers, removal, and the path where
 * a poll handle cannot be created (every transfer then fails, and the multi handle recovers). */
#include <curl/curl.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include "core/env.h"
#include "core/log.h"
#include "harness.h"
#include "loop/curl_uv.h"
#include "test_http_server.h"

#define WATCHDOG_MS 10000

typedef struct tctx tctx;

typedef struct xfer {
    sc_curl_uv_xfer x; /* curl_uv's part */
    tctx *t;
    CURL *easy;
    int calls;
    CURLcode rc;
    long status;
} xfer;

struct tctx {
    uv_loop_t loop;
    sc_log *log;
    sc_env env;
    sc_test_http_server *srv;
    sc_curl_uv *cu;
    uv_timer_t watchdog;
    int finished, closed_calls, in_close;
    void (*after_done)(tctx *t, xfer *x);
    uv_poll_t squatter; /* holds a socket's fd so curl_uv cannot poll it */
    int squat, squatting;
    char url[256];
};

static void on_closed(void *arg)
{
    tctx *t = arg;
    CHECK(!t->in_close);
    t->closed_calls++;
}

static void finish(tctx *t)
{
    if (t->finished)
        return;
    t->finished = 1;
    t->in_close = 1;
    sc_curl_uv_close(t->cu, on_closed, t);
    t->in_close = 0;
    sc_test_http_server_close(t->srv);
    uv_close((uv_handle_t *)&t->watchdog, NULL);
}

static void on_watchdog(uv_timer_t *h)
{
    sc_test_fail(__FILE__, __LINE__, "watchdog fired");
    finish(h->data);
}

static int tctx_init(tctx *t)
{
    memset(t, 0, sizeof *t);
    if (uv_loop_init(&t->loop) != 0 || sc_log_new(&t->log, 2, SC_LOG_ERROR, sc_clock_system()))
        return -1;
    t->env = (sc_env){.loop = &t->loop, .log = t->log, .clock = sc_clock_system()};
    uv_timer_init(&t->loop, &t->watchdog);
    t->watchdog.data = t;
    uv_timer_start(&t->watchdog, on_watchdog, WATCHDOG_MS, 0);
    if (sc_test_http_server_start(&t->srv, &t->loop) != 0)
        return -1;
    return sc_curl_uv_new(&t->cu, &t->env);
}

static void tctx_end(tctx *t)
{
    uv_run(&t->loop, UV_RUN_DEFAULT);
    CHECK_EQ(t->closed_calls, 1);
    sc_test_http_server_free(t->srv);
    sc_test_close_loop(&t->loop);
    sc_log_free(t->log);
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    return size * n;
}

static void on_done(sc_curl_uv_xfer *cx, CURLcode rc)
{
    xfer *x = (xfer *)(void *)((char *)cx - offsetof(xfer, x));
    x->calls++;
    x->rc = rc;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
    curl_easy_cleanup(x->easy);
    x->easy = NULL;
    if (x->t->after_done != NULL)
        x->t->after_done(x->t, x);
}

static curl_socket_t open_and_squat(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    tctx *t = arg;
    curl_socket_t fd = socket(a->family, a->socktype, a->protocol);
    if (fd >= 0 && t->squat && uv_poll_init_socket(&t->loop, &t->squatter, fd) == 0) {
        uv_poll_start(&t->squatter, UV_READABLE, NULL);
        t->squat = 0;
        t->squatting = 1;
    }
    return fd;
}

static int add(tctx *t, xfer *x, const char *path)
{
    x->t = t;
    x->easy = curl_easy_init();
    if (x->easy == NULL)
        return -1;
    curl_easy_setopt(x->easy, CURLOPT_URL, sc_test_http_server_url(t->srv, path, t->url, 256));
    curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(x->easy, CURLOPT_OPENSOCKETFUNCTION, open_and_squat);
    curl_easy_setopt(x->easy, CURLOPT_OPENSOCKETDATA, (void *)t);
    int rc = sc_curl_uv_add(t->cu, &x->x, x->easy, on_done);
    if (rc != 0)
        curl_easy_cleanup(x->easy);
    return rc;
}

/* Runs the loop until the server has seen n requests (bounded by the watchdog). */
static void run_until_requests(tctx *t, size_t n)
{
    while (sc_test_http_server_n_requests(t->srv) < n && !t->finished)
        uv_run(&t->loop, UV_RUN_ONCE);
}

static void finish_after_done(tctx *t, xfer *x)
{
    finish(t); /* from inside curl_uv's drain: the close is deferred until drain returns */
}

static void transfer_completes_and_close_frees_cached_connection(void)
{
    tctx t;
    xfer a = {0};
    REQUIRE(tctx_init(&t) == 0);
    t.after_done = finish_after_done;
    CHECK_EQ(add(&t, &a, "/ok"), 0);
    CHECK_EQ(sc_curl_uv_count(t.cu), 1);
    tctx_end(&t); /* the kept-alive connection's poll handle must be closed too */
    CHECK_EQ(a.calls, 1);
    CHECK_EQ(a.rc, CURLE_OK);
    CHECK_EQ(a.status, 200);
}

static void close_fails_attached_transfers(void)
{
    tctx t;
    xfer a = {0};
    REQUIRE(tctx_init(&t) == 0);
    CHECK_EQ(add(&t, &a, "/hang"), 0);
    run_until_requests(&t, 1);
    finish(&t);
    CHECK_EQ(a.calls, 1); /* documented: reported from inside close */
    CHECK_EQ(a.rc, CURLE_ABORTED_BY_CALLBACK);
    CHECK_EQ(t.closed_calls, 0);
    tctx_end(&t);
}

static void remove_mid_transfer_never_calls_done(void)
{
    tctx t;
    xfer a = {0};
    REQUIRE(tctx_init(&t) == 0);
    CHECK_EQ(add(&t, &a, "/hang"), 0);
    run_until_requests(&t, 1);
    sc_curl_uv_remove(t.cu, &a.x);
    sc_curl_uv_remove(t.cu, &a.x); /* second time: no-op */
    CHECK_EQ(sc_curl_uv_count(t.cu), 0);
    curl_easy_cleanup(a.easy);
    finish(&t);
    tctx_end(&t);
    CHECK_EQ(a.calls, 0);
}

static xfer second;

static void squat_then_retry(tctx *t, xfer *x)
{
    if (x == &second) {
        finish(t);
        return;
    }
    CHECK(t->squatting);
    if (t->squatting)
        uv_close((uv_handle_t *)&t->squatter, NULL);
    t->squatting = 0;
    CHECK_EQ(add(t, &second, "/ok"), 0); /* the multi handle is usable again */
}

static void poll_failure_fails_transfers_and_recovers(void)
{
    tctx t;
    xfer a = {0};
    memset(&second, 0, sizeof second);
    REQUIRE(tctx_init(&t) == 0);
    t.squat = 1;
    t.after_done = squat_then_retry;
    CHECK_EQ(add(&t, &a, "/ok"), 0);
    tctx_end(&t);
    CHECK_EQ(a.calls, 1);
    CHECK_EQ(a.rc, CURLE_ABORTED_BY_CALLBACK);
    CHECK_EQ(second.calls, 1);
    CHECK_EQ(second.rc, CURLE_OK);
    CHECK_EQ(second.status, 200);
}

int main(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    RUN(transfer_completes_and_close_frees_cached_connection);
    RUN(close_fails_attached_transfers);
    RUN(remove_mid_transfer_never_calls_done);
    RUN(poll_failure_fails_transfers_and_recovers);
    int rc = sc_test_summary();
    curl_global_cleanup();
    return rc;
}
