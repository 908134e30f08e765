/* test_export_otlp.c - end-to-end tests of sc_exporter over OTLP/HTTP against the in-loop test
 * server's collector stand-in (/script/...): batching, request headers and encodings, retries
 * with Retry-After, no retry on 400, retry budgets, partial success, flush deadline, metric
 * export, readiness. Request bodies are decoded with protobuf-c (an independent decoder). */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "export/exporter.h"
#include "export_fixture.h"
#include "harness.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "test_http_server.h"
#include "version.h"

#define WATCHDOG_MS 15000

typedef struct tctx tctx;
struct tctx {
    uv_loop_t loop;
    sc_test_http_server *srv;
    sc_export_fixture f;
    uv_timer_t watchdog, poll;
    int (*until)(tctx *t); /* the poll timer flushes once this holds */
    uint64_t flush_deadline_ms;
    int flushed, all_delivered, closed, healthy_seen_bad;
    uint64_t t_start_ms, t_flushed_ms;
    sc_exporter_stats stats; /* taken when closed */
    char url[256], url2[256];
};

static const sc_exporter_tuning fast = {
    .backoff = {.initial_ms = 10, .max_ms = 40, .retry_after_max_ms = 5000},
};

static void on_closed(void *arg)
{
    tctx *t = arg;
    t->closed = 1;
}

static void on_exporter_stats(tctx *t)
{
    sc_exporter_get_stats(t->f.exp, &t->stats);
}

static void shutdown_all(tctx *t)
{
    if (t->f.closing)
        return;
    if (t->f.exp != NULL)
        on_exporter_stats(t);
    uv_close((uv_handle_t *)&t->watchdog, NULL);
    uv_close((uv_handle_t *)&t->poll, NULL);
    sc_test_http_server_close(t->srv);
    sc_export_fixture_close(&t->f, on_closed, t);
}

static void on_watchdog(uv_timer_t *h)
{
    sc_test_fail(__FILE__, __LINE__, "watchdog fired");
    shutdown_all(h->data);
}

static void on_flushed(void *arg, int all_delivered)
{
    tctx *t = arg;
    t->flushed++;
    t->all_delivered = all_delivered;
    t->t_flushed_ms = uv_now(&t->loop);
    shutdown_all(t);
}

static void start_flush(tctx *t)
{
    CHECK_EQ(sc_exporter_flush(t->f.exp, t->flush_deadline_ms, on_flushed, t), 0);
    CHECK_EQ(sc_exporter_flush(t->f.exp, 1, on_flushed, t), -EALREADY);
}

static void on_poll(uv_timer_t *h)
{
    tctx *t = h->data;
    if (t->until != NULL && !t->until(t))
        return;
    uv_timer_stop(h);
    start_flush(t);
}

/* Server, then the fixture with the sets (each may contain one %s for the server URL of
 * `path` and a second %s for `path2`). */
static int setup(tctx *t, const char *path, const char *path2, const char *const *sets, size_t n,
                 const sc_exporter_tuning *tun)
{
    char expanded[16][300];
    const char *ptrs[16];
    char err[512] = "";
    memset(t, 0, sizeof *t);
    t->flush_deadline_ms = 5000;
    if (uv_loop_init(&t->loop) != 0 || sc_test_http_server_start(&t->srv, &t->loop) != 0)
        return -1;
    sc_test_http_server_url(t->srv, path, t->url, sizeof t->url);
    sc_test_http_server_url(t->srv, path2 != NULL ? path2 : "/script/200/metrics", t->url2,
                            sizeof t->url2);
    for (size_t i = 0; i < n && i < 16; i++) {
        snprintf(expanded[i], sizeof expanded[i], sets[i], t->url, t->url2);
        ptrs[i] = expanded[i];
    }
    uv_timer_init(&t->loop, &t->watchdog);
    uv_timer_init(&t->loop, &t->poll);
    t->watchdog.data = t->poll.data = t;
    uv_timer_start(&t->watchdog, on_watchdog, WATCHDOG_MS, 0);
    int rc = sc_export_fixture_init(&t->f, &t->loop, NULL, ptrs, n, tun ? tun : &fast, SC_LOG_ERROR,
                                    err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "fixture: %s\n", err);
    return rc;
}

static void run(tctx *t)
{
    uv_run(&t->loop, UV_RUN_DEFAULT);
    CHECK_EQ(t->closed, 1);
}

static void teardown(tctx *t)
{
    sc_test_http_server_free(t->srv);
    sc_test_close_loop(&t->loop);
}

static void produce(tctx *t, int n)
{
    for (int i = 0; i < n; i++)
        CHECK_EQ(sc_export_fixture_span(&t->f, "op", i), 0);
}

static void start_and_flush_when(tctx *t, int (*until)(tctx *t))
{
    REQUIRE(sc_exporter_start(t->f.exp) == 0);
    t->t_start_ms = uv_now(&t->loop);
    t->until = until;
    uv_timer_start(&t->poll, on_poll, 5, 5);
}

/* Spans in one recorded request body (protobuf, maybe gzip), or -1 if it does not decode. */
static long spans_in(const sc_test_http_req *r)
{
    const char *enc = sc_test_http_req_header(r, "content-encoding");
    unsigned char *plain = NULL;
    const unsigned char *p = (const unsigned char *)r->body;
    size_t len = r->body_len;
    if (enc != NULL && strcmp(enc, "gzip") == 0) {
        uLongf cap = 8u << 20;
        z_stream z = {0};
        plain = malloc(cap);
        if (plain == NULL || inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
            return -1;
        z.next_in = (Bytef *)r->body;
        z.avail_in = (uInt)r->body_len;
        z.next_out = plain;
        z.avail_out = (uInt)cap;
        int zr = inflate(&z, Z_FINISH);
        len = z.total_out;
        inflateEnd(&z);
        if (zr != Z_STREAM_END) {
            free(plain);
            return -1;
        }
        p = plain;
    }
    Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req =
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(NULL, len,
                                                                                         p);
    free(plain);
    if (req == NULL)
        return -1;
    long n = 0;
    for (size_t i = 0; i < req->n_resource_spans; i++)
        for (size_t j = 0; j < req->resource_spans[i]->n_scope_spans; j++)
            n += (long)req->resource_spans[i]->scope_spans[j]->n_spans;
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(req,
                                                                                            NULL);
    return n;
}

static size_t n_req(tctx *t)
{
    return sc_test_http_server_n_requests(t->srv);
}

static const sc_test_http_req *req(tctx *t, size_t i)
{
    return sc_test_http_server_request(t->srv, i);
}

/* ---- batching, headers -------------------------------------------------------------------- */

static int three_requests(tctx *t)
{
    return n_req(t) >= 3;
}

static void test_batches_headers_and_schedule(void)
{
    static const char *const sets[] = {
        "exporter.otlp.traces_endpoint=%s",      "exporter.metrics=none",
        "exporter.batch.max_queue_size=64",      "exporter.batch.max_export_batch_size=10",
        "exporter.batch.schedule_delay=150ms",   "exporter.otlp.headers.x-tenant=acme",
        "exporter.otlp.headers.x-token=general", "exporter.otlp.traces_headers.x-token=traces",
    };
    tctx t;
    REQUIRE(setup(&t, "/script/200", NULL, sets, 8, NULL) == 0);
    CHECK_EQ(sc_exporter_traces_enabled(t.f.exp), 1);
    produce(&t, 25);
    start_and_flush_when(&t, three_requests);
    run(&t);
    REQUIRE(n_req(&t) == 3);
    CHECK_EQ(spans_in(req(&t, 0)), 10); /* full batches at once (2 concurrent) */
    CHECK_EQ(spans_in(req(&t, 1)), 10);
    CHECK_EQ(spans_in(req(&t, 2)), 5); /* the rest on the schedule */
    for (size_t i = 0; i < 3; i++) {
        const sc_test_http_req *r = req(&t, i);
        CHECK_STR(r->method, "POST");
        CHECK_STR(r->path, "/script/200");
        CHECK_STR(sc_test_http_req_header(r, "content-type"), "application/x-protobuf");
        CHECK_STR(sc_test_http_req_header(r, "user-agent"), SC_NAME "/" SC_VERSION);
        CHECK_STR(sc_test_http_req_header(r, "x-tenant"), "acme");
        CHECK_STR(sc_test_http_req_header(r, "x-token"), "traces");
        CHECK(sc_test_http_req_header(r, "content-encoding") == NULL);
    }
    CHECK(sc_test_http_server_n_connections(t.srv) <= 2); /* keep-alive */
    CHECK_EQ(t.flushed, 1);
    CHECK_EQ(t.all_delivered, 1);
    CHECK_EQ(t.stats.traces.exported, 25);
    CHECK_EQ(t.stats.traces.payloads, 3);
    CHECK_EQ(t.stats.traces.retries, 0);
    CHECK_EQ(t.stats.traces.failed, 0);
    teardown(&t);
}

static void test_gzip_and_json(void)
{
    static const char *const gz[] = {"exporter.otlp.traces_endpoint=%s", "exporter.metrics=none",
                                     "exporter.otlp.compression=gzip"};
    static const char *const js[] = {"exporter.otlp.traces_endpoint=%s", "exporter.metrics=none",
                                     "exporter.otlp.protocol=http/json"};
    tctx t;
    REQUIRE(setup(&t, "/script/200", NULL, gz, 3, NULL) == 0);
    produce(&t, 7);
    start_and_flush_when(&t, NULL);
    run(&t);
    REQUIRE(n_req(&t) == 1);
    CHECK_STR(sc_test_http_req_header(req(&t, 0), "content-encoding"), "gzip");
    CHECK_EQ(spans_in(req(&t, 0)), 7);
    CHECK_EQ(t.stats.traces.exported, 7);
    teardown(&t);

    REQUIRE(setup(&t, "/script/200", NULL, js, 3, NULL) == 0);
    produce(&t, 4);
    start_and_flush_when(&t, NULL);
    run(&t);
    REQUIRE(n_req(&t) == 1);
    CHECK_STR(sc_test_http_req_header(req(&t, 0), "content-type"), "application/json");
    CHECK(req(&t, 0)->body_len > 0 && req(&t, 0)->body[0] == '{');
    CHECK(strstr(req(&t, 0)->body, "resourceSpans") != NULL);
    CHECK_EQ(t.stats.traces.exported, 4);
    teardown(&t);
}

/* ---- delivery policy ---------------------------------------------------------------------- */

static void test_503_retry_after_then_200(void)
{
    static const char *const sets[] = {"exporter.otlp.traces_endpoint=%s", "exporter.metrics=none"};
    tctx t;
    REQUIRE(setup(&t, "/script/503~1,503~1,200", NULL, sets, 2, NULL) == 0);
    produce(&t, 6);
    start_and_flush_when(&t, NULL);
    run(&t);
    REQUIRE(n_req(&t) == 3);
    for (size_t i = 0; i < 3; i++) /* the same payload each time */
        CHECK_EQ(spans_in(req(&t, i)), 6);
    CHECK_EQ(req(&t, 0)->body_len, req(&t, 2)->body_len);
    CHECK(memcmp(req(&t, 0)->body, req(&t, 2)->body, req(&t, 0)->body_len) == 0);
    /* Retry-After: 1 honoured twice (the backoff alone would have been <= 40 ms). */
    CHECK(t.t_flushed_ms - t.t_start_ms >= 1900);
    CHECK_EQ(t.all_delivered, 1);
    CHECK_EQ(t.stats.traces.exported, 6); /* exactly once */
    CHECK_EQ(t.stats.traces.requests, 3);
    CHECK_EQ(t.stats.traces.retries, 2);
    CHECK_EQ(t.stats.traces.failed, 0);
    teardown(&t);
}

static void test_400_dropped_not_retried(void)
{
    static const char *const sets[] = {"exporter.otlp.traces_endpoint=%s", "exporter.metrics=none"};
    tctx t;
    REQUIRE(setup(&t, "/script/400", NULL, sets, 2, NULL) == 0);
    produce(&t, 5);
    start_and_flush_when(&t, NULL);
    run(&t);
    CHECK_EQ(n_req(&t), 1);
    CHECK_EQ(t.all_delivered, 0);
    CHECK_EQ(t.stats.traces.exported, 0);
    CHECK_EQ(t.stats.traces.failed, 5);
    CHECK_EQ(t.stats.traces.dropped[SC_EXPORT_DROP_NON_RETRYABLE], 5);
    CHECK_EQ(t.stats.traces.retries, 0);
    teardown(&t);
}

static void test_retry_budget_exhausted(void)
{
    static const char *const sets[] = {"exporter.otlp.traces_endpoint=%s", "exporter.metrics=none",
                                       "exporter.batch.export_timeout=300ms"};
    tctx t;
    REQUIRE(setup(&t, "/script/502", NULL, sets, 3, NULL) == 0);
    produce(&t, 3);
    start_and_flush_when(&t, NULL);
    run(&t);
    CHECK(n_req(&t) >= 3);                       /* retried with backoff (<= 40 ms) ... */
    CHECK(t.t_flushed_ms - t.t_start_ms < 1500); /* ... until the 300 ms budget ran out */
    CHECK_EQ(t.stats.traces.dropped[SC_EXPORT_DROP_RETRY_EXHAUSTED], 3);
    CHECK_EQ(t.stats.traces.retries + 1, t.stats.traces.requests);
    CHECK_EQ(t.stats.traces.requests, n_req(&t));
    teardown(&t);
}

static void test_timeouts_are_retried(void)
{
    static const char *const sets[] = {"exporter.otlp.traces_endpoint=%s", "exporter.metrics=none",
                                       "exporter.otlp.timeout=100ms",
                                       "exporter.batch.export_timeout=350ms"};
    tctx t;
    REQUIRE(setup(&t, "/hang", NULL, sets, 4, NULL) == 0);
    produce(&t, 2);
    start_and_flush_when(&t, NULL);
    run(&t);
    CHECK(n_req(&t) >= 2);
    CHECK_EQ(t.stats.traces.dropped[SC_EXPORT_DROP_RETRY_EXHAUSTED], 2);
    teardown(&t);
}

static void test_partial_success(void)
{
    static const char *const pb[] = {"exporter.otlp.traces_endpoint=%s", "exporter.metrics=none"};
    static const char *const js[] = {"exporter.otlp.traces_endpoint=%s", "exporter.metrics=none",
                                     "exporter.otlp.traces_protocol=http/json"};
    const char *const *variants[] = {pb, js};
    size_t n_sets[] = {2, 3};
    for (int v = 0; v < 2; v++) {
        tctx t;
        REQUIRE(setup(&t, "/script/p2", NULL, variants[v], n_sets[v], NULL) == 0);
        produce(&t, 5);
        start_and_flush_when(&t, NULL);
        run(&t);
        CHECK_EQ(n_req(&t), 1); /* never retried */
        CHECK_EQ(t.stats.traces.exported, 3);
        CHECK_EQ(t.stats.traces.rejected, 2);
        CHECK_EQ(t.stats.traces.failed, 0);
        CHECK_EQ(t.all_delivered, 0);
        teardown(&t);
    }
}

/* ---- flush deadline, readiness, metrics, disabled ----------------------------------------- */

static void test_flush_deadline_cancels(void)
{
    static const char *const sets[] = {"exporter.otlp.traces_endpoint=%s", "exporter.metrics=none",
                                       "exporter.batch.max_export_batch_size=4"};
    tctx t;
    REQUIRE(setup(&t, "/hang", NULL, sets, 3, NULL) == 0);
    t.flush_deadline_ms = 300;
    produce(&t, 10); /* 2 batches hang, 2 spans never leave the queue */
    start_and_flush_when(&t, NULL);
    run(&t);
    CHECK_EQ(t.all_delivered, 0);
    CHECK(t.t_flushed_ms - t.t_start_ms >= 290);
    CHECK(t.t_flushed_ms - t.t_start_ms < 1500);
    /* Once closed every span is back in the queue as not accepted: the 8 cancelled in flight
     * and the 2 never sent. */
    CHECK_EQ(t.stats.traces.exported, 0);
    CHECK_EQ(t.f.final_queue.released_failed, 10);
    CHECK_EQ(t.f.final_queue_size, 0);
    teardown(&t);
}

static int wedged(tctx *t)
{
    const char *why = NULL;
    if (!sc_exporter_healthy(t->f.exp, &why)) {
        t->healthy_seen_bad = 1;
        CHECK(strstr(why, "traces") != NULL);
        return 1;
    }
    return uv_now(&t->loop) - t->t_start_ms > 3000;
}

static void test_readiness_goes_bad_when_failing(void)
{
    static const char *const sets[] = {
        "exporter.otlp.traces_endpoint=%s", "exporter.metrics=none",
        "exporter.batch.schedule_delay=20ms", "exporter.batch.export_timeout=60ms",
        "exporter.otlp.timeout=50ms"}; /* window: 3 x (20 + 60) = 240 ms */
    tctx t;
    REQUIRE(setup(&t, "/script/503", NULL, sets, 5, NULL) == 0);
    const char *why = NULL;
    CHECK_EQ(sc_exporter_healthy(t.f.exp, &why), 1);
    CHECK_STR(why, "ok");
    t.flush_deadline_ms = 100;
    produce(&t, 1);
    REQUIRE(sc_exporter_start(t.f.exp) == 0);
    t.t_start_ms = uv_now(&t.loop);
    t.until = wedged;
    uv_timer_start(&t.poll, on_poll, 10, 10);
    /* keep spans coming so exports keep failing */
    for (int i = 0; i < 20; i++)
        sc_export_fixture_span(&t.f, "more", i);
    run(&t);
    CHECK_EQ(t.healthy_seen_bad, 1);
    teardown(&t);
}

static long metric_value_in(const sc_test_http_req *r, const char *name)
{
    Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *m =
        opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(
            NULL, r->body_len, (const uint8_t *)r->body);
    long v = -1;
    if (m == NULL)
        return -2;
    for (size_t i = 0; i < m->n_resource_metrics; i++)
        for (size_t j = 0; j < m->resource_metrics[i]->n_scope_metrics; j++) {
            Opentelemetry__Proto__Metrics__V1__ScopeMetrics *sm =
                m->resource_metrics[i]->scope_metrics[j];
            for (size_t k = 0; k < sm->n_metrics; k++)
                if (strcmp(sm->metrics[k]->name, name) == 0 &&
                    sm->metrics[k]->data_case ==
                        OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM &&
                    sm->metrics[k]->sum->n_data_points > 0)
                    v = (long)sm->metrics[k]->sum->data_points[0]->as_int;
        }
    opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(
        m, NULL);
    return v;
}

static int two_metric_requests(tctx *t)
{
    return n_req(t) >= 2;
}

static void test_metrics_periodic_and_final(void)
{
    static const char *const sets[] = {"exporter.traces=none", "exporter.otlp.metrics_endpoint=%s",
                                       "exporter.metrics_interval=100ms"};
    tctx t;
    REQUIRE(setup(&t, "/script/200/metrics", NULL, sets, 3, NULL) == 0);
    CHECK_EQ(sc_exporter_traces_enabled(t.f.exp), 0);
    const sc_attr a[] = {SC_ATTR_STR("gateway.source", "canary")};
    sc_metrics_add(t.f.inst[SC_METRIC_GATEWAY_REQUESTS], 41, a, 1);
    start_and_flush_when(&t, two_metric_requests);
    sc_metrics_add(t.f.inst[SC_METRIC_GATEWAY_REQUESTS], 1, a, 1);
    run(&t);
    size_t n = n_req(&t);
    CHECK(n >= 3); /* two periodic, one final */
    CHECK_STR(req(&t, 0)->path, "/script/200/metrics");
    CHECK_EQ(metric_value_in(req(&t, 0), "gateway.requests"), 42);
    CHECK_EQ(metric_value_in(req(&t, n - 1), "gateway.requests"), 42); /* cumulative */
    /* The exporter's own counter shows up in later collections. */
    CHECK(metric_value_in(req(&t, n - 1), "otel.sdk.exporter.metric_data_point.exported") > 0);
    CHECK_EQ(t.all_delivered, 1);
    CHECK_EQ(t.stats.metrics.payloads, n);
    teardown(&t);
}

static void test_sdk_disabled(void)
{
    static const char *const sets[] = {"sdk.disabled=true"};
    tctx t;
    REQUIRE(setup(&t, "/script/200", NULL, sets, 1, NULL) == 0);
    CHECK_EQ(sc_exporter_traces_enabled(t.f.exp), 0);
    start_and_flush_when(&t, NULL);
    run(&t);
    CHECK_EQ(t.flushed, 1);
    CHECK_EQ(t.all_delivered, 1);
    CHECK_EQ(n_req(&t), 0);
    teardown(&t);
}

int main(void)
{
    RUN(test_batches_headers_and_schedule);
    RUN(test_gzip_and_json);
    RUN(test_503_retry_after_then_200);
    RUN(test_400_dropped_not_retried);
    RUN(test_retry_budget_exhausted);
    RUN(test_timeouts_are_retried);
    RUN(test_partial_success);
    RUN(test_flush_deadline_cancels);
    RUN(test_readiness_goes_bad_when_failing);
    RUN(test_metrics_periodic_and_final);
    RUN(test_sdk_disabled);
    return sc_test_summary();
}
