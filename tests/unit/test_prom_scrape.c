/* test_prom_scrape.c - tests for export/prom_accum and export/prom_scrape: delta snapshots add up
 * into cumulative series, idle series are kept, the accumulator is bounded; scrapes of a
 * cumulative registry do not disturb the OTLP reader, scrapes of a delta registry never steal
 * the reader's deltas; busy and oversized pages answer 503/500 with counted, rate-limited logs;
 * and one real GET /metrics through the health listener. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/env.h"
#include "export/prom_accum.h"
#include "export/prom_scrape.h"
#include "export/prom_text.h"
#include "harness.h"
#include "health/health_server.h"
#include "loop/http_client.h"
#include "telemetry/metrics.h"

#define T0          1795375401000000000ull
#define SEC         1000000000ull
#define WATCHDOG_MS 10000

static const double bounds[] = {1, 10};
static const sc_metric_def counter_def = {"t.hits", "{hit}", "Hits", SC_METRIC_KIND_COUNTER,
                                          NULL,     0};
static const sc_metric_def hist_def = {"t.lat", "s", "Latency", SC_METRIC_KIND_HISTOGRAM,
                                       bounds,  2};
static const sc_metric_def gauge_def = {"t.last", "s", "Last", SC_METRIC_KIND_GAUGE, NULL, 0};
static const sc_metric_def updown_def = {
    "t.queue", "{item}", "Queue", SC_METRIC_KIND_UPDOWN_COUNTER, NULL, 0};

typedef struct fx {
    sc_clock_fake clk;
    sc_metrics *m;
    sc_instrument *c, *h, *g, *u;
    FILE *logf;
    sc_log *log;
    sc_env env;
    sc_buf out;
} fx;

static int fx_init(fx *f, sc_temporality t)
{
    memset(f, 0, sizeof *f);
    sc_clock_fake_init(&f->clk, T0);
    f->logf = tmpfile();
    if (f->logf == NULL || sc_log_new(&f->log, fileno(f->logf), SC_LOG_DEBUG, &f->clk.base) != 0)
        return -1;
    f->env = (sc_env){.log = f->log, .clock = &f->clk.base};
    sc_buf_init(&f->out, 1 << 20);
    sc_metrics_opts o = {.clock = &f->clk.base, .temporality = t};
    if (sc_metrics_new(&f->m, &o) != 0 || sc_metrics_instrument(f->m, &counter_def, &f->c) != 0 ||
        sc_metrics_instrument(f->m, &hist_def, &f->h) != 0 ||
        sc_metrics_instrument(f->m, &gauge_def, &f->g) != 0 ||
        sc_metrics_instrument(f->m, &updown_def, &f->u) != 0)
        return -1;
    return 0;
}

/* Returns the log text written so far (static storage, reused). */
static const char *fx_logs(fx *f)
{
    static char text[8192];
    fflush(f->logf);
    long n = ftell(f->logf);
    rewind(f->logf);
    size_t got =
        fread(text, 1, n > 0 && (size_t)n < sizeof text ? (size_t)n : sizeof text - 1, f->logf);
    text[got] = '\0';
    fseek(f->logf, 0, SEEK_END);
    return text;
}

static void fx_close(fx *f)
{
    sc_metrics_free(f->m);
    sc_log_free(f->log);
    if (f->logf)
        fclose(f->logf);
    sc_buf_free(&f->out);
}

static int count_in(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* A reader's collection: collect, hand to fn (may be NULL), release. */
static int reader_collect(fx *f, sc_prom_scrape *s, int64_t *hits_out)
{
    const sc_metrics_snapshot *snap;
    int rc = sc_metrics_collect(f->m, &snap);
    if (rc != 0)
        return rc;
    if (hits_out != NULL) {
        *hits_out = 0;
        for (size_t i = 0; i < snap->n_metrics; i++)
            if (strcmp(snap->metrics[i].name, "t.hits") == 0)
                for (size_t k = 0; k < snap->metrics[i].n_points; k++)
                    *hits_out += snap->metrics[i].points[k].as_int;
    }
    if (s != NULL)
        rc = sc_prom_scrape_feed(s, snap);
    sc_metrics_snapshot_release(f->m);
    return rc;
}

static const sc_metric_data *find_metric(const sc_metrics_snapshot *s, const char *name)
{
    for (size_t i = 0; i < s->n_metrics; i++)
        if (strcmp(s->metrics[i].name, name) == 0)
            return &s->metrics[i];
    return NULL;
}

static const sc_metric_point *find_point(const sc_metric_data *md, const char *value)
{
    for (size_t k = 0; md != NULL && k < md->n_points; k++) {
        const sc_metric_point *p = &md->points[k];
        if ((value == NULL && p->n_attrs == 0) ||
            (value != NULL && p->n_attrs == 1 && p->attrs[0].v.s.len == strlen(value) &&
             memcmp(p->attrs[0].v.s.ptr, value, strlen(value)) == 0))
            return p;
    }
    return NULL;
}

/* ---- Accumulator ---------------------------------------------------------------------------- */

static int merge_now(fx *f, sc_prom_accum *a)
{
    const sc_metrics_snapshot *snap;
    int rc = sc_metrics_collect(f->m, &snap);
    if (rc == 0) {
        rc = sc_prom_accum_merge(a, snap);
        sc_metrics_snapshot_release(f->m);
    }
    return rc;
}

static void accum_adds_deltas_and_keeps_idle_series(void)
{
    fx f;
    sc_prom_accum *a = NULL;
    REQUIRE(fx_init(&f, SC_TEMPORALITY_DELTA) == 0);
    REQUIRE(sc_prom_accum_new(&a, 0, f.log) == 0);
    sc_attr ka[] = {SC_ATTR_STR("k", "a")}, kb[] = {SC_ATTR_STR("k", "b")};
    sc_metrics_add(f.c, 2, ka, 1);
    sc_metrics_record(f.h, 0.5, NULL, 0);
    sc_metrics_set(f.g, 5, NULL, 0);
    sc_metrics_observe(f.u, 3, NULL, 0);
    REQUIRE(merge_now(&f, a) == 0);
    sc_clock_fake_advance(&f.clk, 10 * SEC);
    sc_metrics_add(f.c, 3, ka, 1);
    sc_metrics_add(f.c, 1, kb, 1);
    sc_metrics_record(f.h, 5, NULL, 0);
    sc_metrics_record(f.h, 50, NULL, 0);
    sc_metrics_set(f.g, 7, NULL, 0);
    sc_metrics_observe(f.u, 1, NULL, 0);
    REQUIRE(merge_now(&f, a) == 0);
    sc_clock_fake_advance(&f.clk, 10 * SEC);
    REQUIRE(merge_now(&f, a) == 0); /* an idle interval: the registry reports (and keeps) none */

    const sc_metrics_snapshot *v;
    REQUIRE(sc_prom_accum_view(a, &v) == 0);
    CHECK_EQ(v->n_metrics, 4);
    CHECK_EQ(v->time_ns, T0 + 20 * SEC);
    const sc_metric_data *c = find_metric(v, "t.hits");
    REQUIRE(c != NULL);
    CHECK_EQ(c->temporality, SC_TEMPORALITY_CUMULATIVE);
    CHECK_EQ(c->n_points, 2);
    REQUIRE(find_point(c, "a") != NULL && find_point(c, "b") != NULL);
    CHECK_EQ(find_point(c, "a")->as_int, 5);
    CHECK_EQ(find_point(c, "b")->as_int, 1);
    CHECK_EQ(find_point(c, "a")->start_ns, T0); /* the first delta's start */
    const sc_metric_point *h = find_point(find_metric(v, "t.lat"), NULL);
    REQUIRE(h != NULL);
    CHECK_EQ(h->count, 3);
    CHECK(h->sum == 55.5);
    CHECK(h->min == 0.5 && h->max == 50);
    CHECK_EQ(h->bucket_counts[0], 1);
    CHECK_EQ(h->bucket_counts[1], 1);
    CHECK_EQ(h->bucket_counts[2], 1);
    const sc_metric_point *g = find_point(find_metric(v, "t.last"), NULL);
    REQUIRE(g != NULL);
    CHECK(g->as_double == 7); /* the last value, kept though not set in the last interval */
    CHECK_EQ(find_point(find_metric(v, "t.queue"), NULL)->as_int, 1); /* replaced, not added */
    sc_prom_accum_stats st = sc_prom_accum_get_stats(a);
    CHECK_EQ(st.merges, 3);
    CHECK_EQ(st.series, 5);
    CHECK_EQ(st.dropped_points, 0);
    sc_prom_accum_free(a);
    fx_close(&f);
}

static void accum_is_bounded_by_an_overflow_series(void)
{
    fx f;
    sc_prom_accum *a = NULL;
    REQUIRE(fx_init(&f, SC_TEMPORALITY_DELTA) == 0);
    REQUIRE(sc_prom_accum_new(&a, 3, f.log) == 0);
    static const char *const keys[] = {"a", "b", "c", "d", "e"};
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < 5; i++) {
            sc_attr at[] = {SC_ATTR_STR("k", keys[i])};
            sc_metrics_add(f.c, (int64_t)i + 1, at, 1);
        }
        REQUIRE(merge_now(&f, a) == 0);
    }
    const sc_metrics_snapshot *v;
    REQUIRE(sc_prom_accum_view(a, &v) == 0);
    const sc_metric_data *c = find_metric(v, "t.hits");
    REQUIRE(c != NULL);
    CHECK_EQ(c->n_points, 3); /* a, b and the overflow series */
    CHECK_EQ(find_point(c, "a")->as_int, 2);
    CHECK_EQ(find_point(c, "b")->as_int, 4);
    int64_t total = 0;
    for (size_t k = 0; k < c->n_points; k++) {
        total += c->points[k].as_int;
        if (strcmp(c->points[k].attrs[0].key, SC_ATTR_OTEL_METRIC_OVERFLOW) == 0)
            CHECK_EQ(c->points[k].as_int, 2 * (3 + 4 + 5));
    }
    CHECK_EQ(total, 2 * 15); /* totals are preserved */
    CHECK_EQ(sc_prom_accum_get_stats(a).overflow_points, 6);
    CHECK_EQ(count_in(fx_logs(&f), "series limit reached"), 1);
    sc_prom_accum_free(a);
    fx_close(&f);
}

static void accum_drops_points_whose_kind_changed(void)
{
    fx f1, f2;
    sc_prom_accum *a = NULL;
    REQUIRE(fx_init(&f1, SC_TEMPORALITY_DELTA) == 0);
    REQUIRE(sc_prom_accum_new(&a, 0, NULL) == 0);
    memset(&f2, 0, sizeof f2);
    sc_clock_fake_init(&f2.clk, T0);
    sc_metrics_opts o = {.clock = &f2.clk.base};
    REQUIRE(sc_metrics_new(&f2.m, &o) == 0);
    static const sc_metric_def clash = {"t.hits", "", "", SC_METRIC_KIND_GAUGE, NULL, 0};
    sc_instrument *ig;
    REQUIRE(sc_metrics_instrument(f2.m, &clash, &ig) == 0);
    sc_metrics_add(f1.c, 1, NULL, 0);
    sc_metrics_set(ig, 9, NULL, 0);
    REQUIRE(merge_now(&f1, a) == 0);
    REQUIRE(merge_now(&f2, a) == 0);
    CHECK_EQ(sc_prom_accum_get_stats(a).dropped_points, 1);
    const sc_metrics_snapshot *v;
    REQUIRE(sc_prom_accum_view(a, &v) == 0);
    CHECK_EQ(find_point(find_metric(v, "t.hits"), NULL)->as_int, 1);
    sc_prom_accum *bad = NULL;
    CHECK_EQ(sc_prom_accum_new(&bad, 1, NULL), -EINVAL); /* no room for the overflow series */
    CHECK(bad == NULL);
    sc_metrics_free(f2.m);
    sc_prom_accum_free(a);
    fx_close(&f1);
}

/* ---- Scrape endpoint --------------------------------------------------------------------------
 */

static int before_calls;
static void count_before(void *arg)
{
    (void)arg;
    before_calls++;
}

static int scrape(sc_prom_scrape *s, fx *f)
{
    sc_buf_reset(&f->out);
    return sc_prom_scrape_render(s, &f->out);
}

static void cumulative_scrapes_leave_the_reader_alone(void)
{
    fx f;
    sc_prom_scrape *s = NULL;
    REQUIRE(fx_init(&f, SC_TEMPORALITY_CUMULATIVE) == 0);
    sc_prom_scrape_opts o = {.metrics = f.m, .before_collect = count_before};
    before_calls = 0;
    REQUIRE(sc_prom_scrape_new(&s, &f.env, &o) == 0);
    sc_metrics_add(f.c, 4, NULL, 0);
    REQUIRE(scrape(s, &f) == 0);
    CHECK(strstr(f.out.data, "\nt_hits_total{otel_scope_name=\"comet-sidecar\",") != NULL);
    CHECK(strstr(f.out.data, "} 4\n") != NULL);
    CHECK_EQ(before_calls, 1);
    int64_t hits;
    REQUIRE(reader_collect(&f, s, &hits) == 0); /* feed is a no-op when cumulative */
    CHECK_EQ(hits, 4);
    sc_metrics_add(f.c, 1, NULL, 0);
    REQUIRE(scrape(s, &f) == 0);
    CHECK(strstr(f.out.data, "} 5\n") != NULL);
    REQUIRE(reader_collect(&f, s, &hits) == 0);
    CHECK_EQ(hits, 5);
    sc_prom_scrape_stats st;
    sc_prom_scrape_get_stats(s, &st);
    CHECK_EQ(st.scrapes, 2);
    CHECK_EQ(st.last_bytes, f.out.len);
    CHECK_EQ(st.accum.merges, 0);
    sc_prom_scrape_free(s);
    fx_close(&f);
}

static void delta_scrapes_never_take_the_readers_deltas(void)
{
    fx f;
    sc_prom_scrape *s = NULL;
    REQUIRE(fx_init(&f, SC_TEMPORALITY_DELTA) == 0);
    sc_prom_scrape_opts o = {.metrics = f.m,
                             .temporality = SC_TEMPORALITY_DELTA,
                             .fed_by_reader = 1,
                             .before_collect = count_before};
    before_calls = 0;
    REQUIRE(sc_prom_scrape_new(&s, &f.env, &o) == 0);
    sc_metrics_add(f.c, 5, NULL, 0);
    REQUIRE(scrape(s, &f) == 0);
    CHECK(f.out.len == 0 || strstr(f.out.data, "t_hits") == NULL); /* not fed yet */
    int64_t hits;
    REQUIRE(reader_collect(&f, s, &hits) == 0);
    CHECK_EQ(hits, 5); /* the scrape did not collect: the reader got the whole delta */
    sc_metrics_add(f.c, 2, NULL, 0);
    REQUIRE(reader_collect(&f, s, &hits) == 0);
    CHECK_EQ(hits, 2);
    sc_metrics_add(f.c, 4, NULL, 0);
    REQUIRE(scrape(s, &f) == 0);
    CHECK(strstr(f.out.data, "# TYPE t_hits_total counter\n") != NULL);
    CHECK(strstr(f.out.data, "} 7\n") != NULL); /* cumulative: 5 + 2 */
    REQUIRE(reader_collect(&f, s, &hits) == 0);
    CHECK_EQ(hits, 4);
    REQUIRE(scrape(s, &f) == 0);
    CHECK(strstr(f.out.data, "} 11\n") != NULL);
    CHECK_EQ(before_calls, 0);
    sc_prom_scrape_free(s);
    fx_close(&f);
}

static void delta_without_a_reader_collects_itself(void)
{
    fx f;
    sc_prom_scrape *s = NULL;
    REQUIRE(fx_init(&f, SC_TEMPORALITY_DELTA) == 0);
    sc_prom_scrape_opts o = {.metrics = f.m, .temporality = SC_TEMPORALITY_DELTA};
    REQUIRE(sc_prom_scrape_new(&s, &f.env, &o) == 0);
    sc_metrics_add(f.c, 5, NULL, 0);
    REQUIRE(scrape(s, &f) == 0);
    CHECK(strstr(f.out.data, "} 5\n") != NULL);
    sc_metrics_add(f.c, 2, NULL, 0);
    REQUIRE(scrape(s, &f) == 0);
    CHECK(strstr(f.out.data, "} 7\n") != NULL);
    REQUIRE(scrape(s, &f) == 0); /* an idle interval: the series stays */
    CHECK(strstr(f.out.data, "} 7\n") != NULL);
    sc_prom_scrape_free(s);
    fx_close(&f);
}

static void busy_and_oversized_scrapes_fail_loudly(void)
{
    fx f;
    sc_prom_scrape *s = NULL;
    REQUIRE(fx_init(&f, SC_TEMPORALITY_CUMULATIVE) == 0);
    sc_prom_scrape_opts o = {.metrics = f.m};
    REQUIRE(sc_prom_scrape_new(&s, &f.env, &o) == 0);
    sc_metrics_add(f.c, 1, NULL, 0);
    sc_health_request req = {.method = "GET", .method_len = 3, .path = "/metrics", .path_len = 8};
    const char *ct = NULL;
    sc_buf body;

    const sc_metrics_snapshot *snap;
    REQUIRE(sc_metrics_collect(f.m, &snap) == 0); /* someone else's snapshot is open */
    sc_buf_init(&body, 4096);
    CHECK_EQ(sc_prom_scrape_handler(s, &req, &body, &ct), 503);
    CHECK(ct == NULL);
    CHECK_STR(body.data, "metrics collection in progress; retry\n");
    sc_metrics_snapshot_release(f.m);
    sc_buf_free(&body);

    sc_buf_init(&body, 64); /* the page is larger than the response cap */
    CHECK_EQ(sc_prom_scrape_handler(s, &req, &body, &ct), 500);
    CHECK_STR(body.data, "metrics page larger than the 64-byte response limit\n");
    sc_buf_reset(&body);
    CHECK_EQ(sc_prom_scrape_handler(s, &req, &body, &ct), 500);
    sc_clock_fake_advance(&f.clk, (SC_PROM_SCRAPE_LOG_INTERVAL_MS + 1) * 1000000ull);
    sc_buf_reset(&body);
    CHECK_EQ(sc_prom_scrape_handler(s, &req, &body, &ct), 500);
    sc_buf_free(&body);

    sc_buf_init(&body, 4096);
    CHECK_EQ(sc_prom_scrape_handler(s, &req, &body, &ct), 200);
    CHECK_STR(ct, SC_PROM_TEXT_CONTENT_TYPE);
    CHECK(strstr(body.data, "# TYPE t_hits_total counter\n") != NULL);
    sc_buf_free(&body);

    /* A failed render leaves what the buffer held before untouched. */
    sc_buf_init(&body, 80);
    sc_buf_append_str(&body, "keep");
    CHECK_EQ(sc_prom_scrape_render(s, &body), -ENOBUFS);
    CHECK_STR(body.data, "keep");
    sc_buf_free(&body);

    sc_prom_scrape_stats st;
    sc_prom_scrape_get_stats(s, &st);
    CHECK_EQ(st.failed_busy, 1);
    CHECK_EQ(st.failed_too_large, 4);
    CHECK_EQ(st.scrapes, 1);
    /* Logged on the first failure and again once the interval passed, not on every scrape. */
    CHECK_EQ(count_in(fx_logs(&f), "prometheus scrape failed"), 2);
    sc_prom_scrape_free(s);
    fx_close(&f);
}

/* ---- One real scrape over HTTP ------------------------------------------------------------------
 */

typedef struct e2e {
    uv_loop_t loop;
    uv_timer_t watchdog;
    sc_health *health;
    sc_http_client *client;
    long status;
    char ctype[128];
    char body[4096];
    int done, closed, watchdog_fired;
} e2e;

static void on_closed(void *arg)
{
    ((e2e *)arg)->closed++;
}

static void e2e_finish(e2e *t)
{
    sc_http_client_close(t->client, on_closed, t);
    sc_health_close(t->health, on_closed, t);
    uv_close((uv_handle_t *)&t->watchdog, NULL);
}

static void on_e2e_watchdog(uv_timer_t *timer)
{
    e2e *t = timer->data;
    t->watchdog_fired = 1;
    e2e_finish(t);
}

static void on_response(const sc_http_response *r, void *arg)
{
    e2e *t = arg;
    t->done = 1;
    t->status = r->status;
    const char *ct = sc_http_response_header(r, "content-type");
    snprintf(t->ctype, sizeof t->ctype, "%s", ct ? ct : "");
    snprintf(t->body, sizeof t->body, "%.*s", (int)r->body_len, r->body ? r->body : "");
    e2e_finish(t);
}

static void get_metrics_over_the_health_listener(void)
{
    fx f;
    e2e t;
    sc_prom_scrape *s = NULL;
    memset(&t, 0, sizeof t);
    REQUIRE(fx_init(&f, SC_TEMPORALITY_CUMULATIVE) == 0);
    REQUIRE(uv_loop_init(&t.loop) == 0);
    f.env.loop = &t.loop;
    sc_rng rng;
    sc_rng_init_seeded(&rng, 3);
    f.env.rng = &rng;
    sc_prom_scrape_opts o = {.metrics = f.m};
    REQUIRE(sc_prom_scrape_new(&s, &f.env, &o) == 0);
    sc_attr a[] = {SC_ATTR_STR("gateway.probe", "smoke")};
    sc_metrics_add(f.c, 3, a, 1);
    sc_health_opts ho = {.host = "127.0.0.1"};
    REQUIRE(sc_health_new(&t.health, &f.env, &ho) == 0);
    REQUIRE(sc_health_route(t.health, SC_PROM_SCRAPE_PATH, sc_prom_scrape_handler, s) == 0);
    REQUIRE(sc_health_start(t.health) == 0);
    REQUIRE(sc_http_client_new(&t.client, &f.env, NULL) == 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", sc_health_port(t.health));
    static const char *const capture[] = {"content-type"};
    sc_http_request_opts ro = {
        .url = url, .capture_headers = capture, .n_capture = 1, .on_done = on_response, .arg = &t};
    REQUIRE(sc_http_client_start_request(t.client, &ro, NULL) == 0);
    uv_timer_init(&t.loop, &t.watchdog);
    t.watchdog.data = &t;
    uv_timer_start(&t.watchdog, on_e2e_watchdog, WATCHDOG_MS, 0);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    CHECK(!t.watchdog_fired);
    CHECK_EQ(t.done, 1);
    CHECK_EQ(t.closed, 2);
    CHECK_EQ(t.status, 200);
    CHECK_STR(t.ctype, SC_PROM_TEXT_CONTENT_TYPE);
    CHECK(strstr(t.body,
                 "t_hits_total{gateway_probe=\"smoke\",otel_scope_name=\"comet-sidecar\"") != NULL);
    sc_test_close_loop(&t.loop);
    sc_prom_scrape_free(s);
    fx_close(&f);
}

int main(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    RUN(accum_adds_deltas_and_keeps_idle_series);
    RUN(accum_is_bounded_by_an_overflow_series);
    RUN(accum_drops_points_whose_kind_changed);
    RUN(cumulative_scrapes_leave_the_reader_alone);
    RUN(delta_scrapes_never_take_the_readers_deltas);
    RUN(delta_without_a_reader_collects_itself);
    RUN(busy_and_oversized_scrapes_fail_loudly);
    RUN(get_metrics_over_the_health_listener);
    int rc = sc_test_summary();
    curl_global_cleanup();
    return rc;
}
