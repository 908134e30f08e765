/* test_prom_text.c - tests for export/prom_name and export/prom_text: OTLP -> Prometheus names
 * (every schema metric and the translator's edge cases), label names, value formatting and
 * escaping, histogram buckets, target_info, name clashes and the size cap.
 *
 * Also a tool mode for tests/integration/test_dashboards.py, so the names the dashboards use are
 * checked against what this renderer really produces:
 *     test_prom_text --render-stdin < lines
 * Each input line is "<schema metric name> [key=value ...]"; one measurement per line is recorded
 * into a registry of the schema metrics (counter +1, up-down counter 1, gauge 1, histogram 0.3)
 * with those attributes, and the page (with the real resource as target_info) goes to stdout. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/rng.h"
#include "export/prom_text.h"
#include "harness.h"
#include "telemetry/metrics.h"
#include "telemetry/resource.h"
#include "telemetry/schema.h"

#define T0 1795375401000000000ull

/* The Prometheus name of every schema metric, as the Collector's prometheus exporter gives it. */
static const struct {
    const char *otel, *prom, *type;
} expected_names[] = {
    {"gateway.requests", "gateway_requests_total", "counter"},
    {"gateway.retries", "gateway_retries_total", "counter"},
    {"gateway.fallbacks", "gateway_fallbacks_total", "counter"},
    {"gateway.usage.missing", "gateway_usage_missing_total", "counter"},
    {"gateway.canary.runs", "gateway_canary_runs_total", "counter"},
    {"gateway.canary.last_success", "gateway_canary_last_success_seconds", "gauge"},
    {"gateway.canary.interval", "gateway_canary_interval_seconds", "gauge"},
    {"gateway.contract.violations", "gateway_contract_violations_total", "counter"},
    {"http.client.request.duration", "http_client_request_duration_seconds", "histogram"},
    {"http.server.request.duration", "http_server_request_duration_seconds", "histogram"},
    {"gen_ai.client.operation.duration", "gen_ai_client_operation_duration_seconds", "histogram"},
    {"gen_ai.client.operation.time_to_first_chunk",
     "gen_ai_client_operation_time_to_first_chunk_seconds", "histogram"},
    {"gen_ai.client.token.usage", "gen_ai_client_token_usage", "histogram"},
    {"otel.sdk.exporter.span.exported", "otel_sdk_exporter_span_exported_total", "counter"},
    {"otel.sdk.exporter.metric_data_point.exported",
     "otel_sdk_exporter_metric_data_point_exported_total", "counter"},
    {"otel.sdk.processor.span.queue.size", "otel_sdk_processor_span_queue_size", "gauge"},
    {"otel.sdk.processor.span.queue.capacity", "otel_sdk_processor_span_queue_capacity", "gauge"},
    {"otel.sdk.exporter.operation.duration", "otel_sdk_exporter_operation_duration_seconds",
     "histogram"},
    {"sidecar.accesslog.lines.read", "sidecar_accesslog_lines_read_total", "counter"},
    {"sidecar.accesslog.lines.parsed", "sidecar_accesslog_lines_parsed_total", "counter"},
    {"sidecar.accesslog.lines.malformed", "sidecar_accesslog_lines_malformed_total", "counter"},
    {"sidecar.accesslog.lines.too_long", "sidecar_accesslog_lines_too_long_total", "counter"},
    {"sidecar.accesslog.lag", "sidecar_accesslog_lag_bytes", "gauge"},
    {"sidecar.accesslog.rotations", "sidecar_accesslog_rotations_total", "counter"},
    {"sidecar.accesslog.truncations", "sidecar_accesslog_truncations_total", "counter"},
    {"sidecar.accesslog.paused", "sidecar_accesslog_paused_ratio", "gauge"},
    {"sidecar.telemetry.dropped", "sidecar_telemetry_dropped_total", "counter"},
    {"sidecar.accesslog.checkpoint.failures", "sidecar_accesslog_checkpoint_failures_total",
     "counter"},
    {"sidecar.evidence.failures", "sidecar_evidence_failures_total", "counter"},
};
#define N_EXPECTED (sizeof expected_names / sizeof expected_names[0])

static void every_schema_metric_has_its_prometheus_name(void)
{
    char name[SC_PROM_NAME_MAX];
    CHECK_EQ(N_EXPECTED, SC_METRIC__COUNT);
    for (int id = 0; id < SC_METRIC__COUNT; id++) {
        const sc_metric_def *d = sc_schema_metric((sc_metric_id)id);
        REQUIRE(d != NULL);
        size_t k = 0;
        while (k < N_EXPECTED && strcmp(expected_names[k].otel, d->name) != 0)
            k++;
        REQUIRE(k < N_EXPECTED);
        int n = sc_prom_name_metric(d->name, d->unit, d->kind, name, sizeof name);
        CHECK_EQ(n, (long long)strlen(expected_names[k].prom));
        CHECK_STR(name, expected_names[k].prom);
        CHECK_STR(sc_prom_name_type_str(sc_prom_name_type(d->kind)), expected_names[k].type);
    }
}

static void metric_name_rules_follow_the_translator(void)
{
    static const struct {
        const char *name, *unit;
        sc_metric_kind kind;
        const char *want;
    } cases[] = {
        {"http.server.duration", "s", SC_METRIC_KIND_HISTOGRAM, "http_server_duration_seconds"},
        {"system.memory.usage", "By", SC_METRIC_KIND_GAUGE, "system_memory_usage_bytes"},
        {"transfer.bytes", "By", SC_METRIC_KIND_GAUGE, "transfer_bytes"}, /* already there */
        {"requests.total", "{request}", SC_METRIC_KIND_COUNTER, "requests_total"},
        {"total.requests", "", SC_METRIC_KIND_COUNTER, "requests_total"}, /* moved last */
        {"cpu.utilization", "1", SC_METRIC_KIND_GAUGE, "cpu_utilization_ratio"},
        {"cpu.ratio.now", "1", SC_METRIC_KIND_GAUGE, "cpu_now_ratio"},
        {"items", "1", SC_METRIC_KIND_COUNTER, "items_total"},            /* ratio: gauges only */
        {"queue.size", "1", SC_METRIC_KIND_UPDOWN_COUNTER, "queue_size"}, /* a Sum, not a Gauge */
        {"net.io", "By/s", SC_METRIC_KIND_GAUGE, "net_io_bytes_per_second"},
        {"packets", "{packet}/s", SC_METRIC_KIND_GAUGE, "packets_per_second"},
        {"speed", "m/h", SC_METRIC_KIND_GAUGE, "speed_meters_per_hour"},
        {"rate", "1/s", SC_METRIC_KIND_GAUGE, "rate_per_second"},
        {"thing", "foo/bar", SC_METRIC_KIND_GAUGE, "thing_foo_per_bar"},
        {"lat", "ms", SC_METRIC_KIND_HISTOGRAM, "lat_milliseconds"},
        {"temp", "Cel", SC_METRIC_KIND_GAUGE, "temp_celsius"},
        {"weird", " s ", SC_METRIC_KIND_GAUGE, "weird_seconds"},
        {"odd.unit", "a.b", SC_METRIC_KIND_GAUGE, "odd_unit_a_b"},
        {"a..b__c-d", NULL, SC_METRIC_KIND_GAUGE, "a_b_c_d"},
        {"_leading.and.trailing_", "", SC_METRIC_KIND_GAUGE, "leading_and_trailing"},
        {"2xx.responses", "", SC_METRIC_KIND_COUNTER, "_2xx_responses_total"},
        {"ns:sub.metric", "s", SC_METRIC_KIND_GAUGE, "ns:sub_metric_seconds"},
        {"caf\xc3\xa9.hits", "", SC_METRIC_KIND_COUNTER, "caf_hits_total"},
    };
    char out[SC_PROM_NAME_MAX];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int n = sc_prom_name_metric(cases[i].name, cases[i].unit, cases[i].kind, out, sizeof out);
        CHECK(n > 0);
        CHECK_STR(out, cases[i].want);
    }
    CHECK_EQ(sc_prom_name_metric("...", "s", SC_METRIC_KIND_GAUGE, out, sizeof out), -EINVAL);
    CHECK_EQ(sc_prom_name_metric("abcdef", "s", SC_METRIC_KIND_GAUGE, out, 8), -ENAMETOOLONG);
}

static void label_names_are_sanitised(void)
{
    static const struct {
        const char *key, *want;
    } cases[] = {
        {"http.request.method", "http_request_method"},
        {"gateway.fallback.reason", "gateway_fallback_reason"},
        {"otel.metric.overflow", "otel_metric_overflow"},
        {"a..b__c", "a_b_c"},
        {"1st.key", "key_1st_key"},
        {"_private", "_private"},
        {"__reserved.name__", "__reserved_name__"},
        {"k\xc3\xa9y", "k_y"},
    };
    char out[SC_PROM_NAME_MAX];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_EQ(sc_prom_name_label(cases[i].key, out, sizeof out),
                 (long long)strlen(cases[i].want));
        CHECK_STR(out, cases[i].want);
    }
    CHECK_EQ(sc_prom_name_label("", out, sizeof out), -EINVAL);
    CHECK_EQ(sc_prom_name_label("..", out, sizeof out), -EINVAL);
    char long_key[600];
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    CHECK_EQ(sc_prom_name_label(long_key, out, sizeof out), -ENAMETOOLONG);
}

static void doubles_are_written_as_go_writes_them(void)
{
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {0.005, "0.005"},
        {0.1, "0.1"},
        {1, "1"},
        {2.5, "2.5"},
        {10, "10"},
        {81.92, "81.92"},
        {262144, "262144"},
        {1048576, "1.048576e+06"},
        {67108864, "6.7108864e+07"},
        {1e6, "1e+06"},
        {0.0001, "0.0001"},
        {0.00001, "1e-05"},
        {-3.25, "-3.25"},
        {1.0 / 3, "0.3333333333333333"},
        {0, "0"},
        {1795375401.5, "1.7953754015e+09"},
    };
    char out[SC_PROM_DOUBLE_MAX];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_EQ(sc_prom_text_format_double(cases[i].v, out), (long long)strlen(cases[i].want));
        CHECK_STR(out, cases[i].want);
    }
    sc_prom_text_format_double(INFINITY, out);
    CHECK_STR(out, "+Inf");
    sc_prom_text_format_double(-INFINITY, out);
    CHECK_STR(out, "-Inf");
    sc_prom_text_format_double(NAN, out);
    CHECK_STR(out, "NaN");
}

/* ---- Rendering ------------------------------------------------------------------------------ */

/* CHECK_STR for whole pages: prints both in full when they differ. */
static int same_page(const char *got, const char *want)
{
    if (got != NULL && strcmp(got, want) == 0)
        return 1;
    fprintf(stderr, "--- want\n%s--- got\n%s---\n", want, got ? got : "(null)");
    return 0;
}
#define CHECK_PAGE(got, want) CHECK(same_page((got), (want)))

typedef struct fx {
    sc_clock_fake clk;
    sc_metrics *m;
    sc_buf out;
} fx;

static int fx_init(fx *f, size_t max)
{
    memset(f, 0, sizeof *f);
    sc_clock_fake_init(&f->clk, T0);
    sc_metrics_opts o = {.clock = &f->clk.base};
    sc_buf_init(&f->out, max);
    return sc_metrics_new(&f->m, &o);
}

static void fx_close(fx *f)
{
    sc_metrics_free(f->m);
    sc_buf_free(&f->out);
}

static int render(fx *f, const sc_prom_text_opts *o, sc_prom_text_stats *st)
{
    const sc_metrics_snapshot *snap;
    int rc = sc_metrics_collect(f->m, &snap);
    if (rc != 0)
        return rc;
    sc_buf_reset(&f->out);
    rc = sc_prom_text_render(snap, o, &f->out, st);
    sc_metrics_snapshot_release(f->m);
    return rc;
}

static void page_has_types_help_labels_and_values(void)
{
    fx f;
    REQUIRE(fx_init(&f, 1 << 16) == 0);
    static const sc_metric_def req = {
        "app.requests", "{request}", "Requests \\ seen\nby app", SC_METRIC_KIND_COUNTER, NULL, 0};
    static const sc_metric_def q = {"app.queue", "{item}", "Queue", SC_METRIC_KIND_UPDOWN_COUNTER,
                                    NULL,        0};
    static const sc_metric_def g = {"app.last", "s", "", SC_METRIC_KIND_GAUGE, NULL, 0};
    sc_instrument *ir, *iq, *ig;
    REQUIRE(sc_metrics_instrument(f.m, &req, &ir) == 0);
    REQUIRE(sc_metrics_instrument(f.m, &q, &iq) == 0);
    REQUIRE(sc_metrics_instrument(f.m, &g, &ig) == 0);
    sc_attr a[] = {SC_ATTR_STR("http.route", "/v1/a\"b\\c\nd"), SC_ATTR_INT("server.port", 443),
                   SC_ATTR_BOOL("flag", 1), SC_ATTR_DBL("ratio", 0.25)};
    CHECK_EQ(sc_metrics_add(ir, 3, a, SC_ATTR_COUNT(a)), 0);
    CHECK_EQ(sc_metrics_add(ir, 2, NULL, 0), 0);
    CHECK_EQ(sc_metrics_observe(iq, -4, NULL, 0), 0);
    CHECK_EQ(sc_metrics_set(ig, 1795375401.5, NULL, 0), 0);
    sc_prom_text_opts o = {.scope_name = "comet-sidecar", .scope_version = "0.1.0"};
    sc_prom_text_stats st;
    REQUIRE(render(&f, &o, &st) == 0);
    const char *want =
        "# HELP app_requests_total Requests \\\\ seen\\nby app\n"
        "# TYPE app_requests_total counter\n"
        "app_requests_total{flag=\"true\",http_route=\"/v1/a\\\"b\\\\c\\nd\",ratio=\"0.25\","
        "server_port=\"443\",otel_scope_name=\"comet-sidecar\",otel_scope_version=\"0.1.0\"} 3\n"
        "app_requests_total{otel_scope_name=\"comet-sidecar\",otel_scope_version=\"0.1.0\"} 2\n"
        "# HELP app_queue Queue\n"
        "# TYPE app_queue gauge\n"
        "app_queue{otel_scope_name=\"comet-sidecar\",otel_scope_version=\"0.1.0\"} -4\n"
        "# TYPE app_last_seconds gauge\n"
        "app_last_seconds{otel_scope_name=\"comet-sidecar\",otel_scope_version=\"0.1.0\"} "
        "1.7953754015e+09\n";
    CHECK_PAGE(f.out.data, want);
    CHECK_EQ(st.families, 3);
    CHECK_EQ(st.samples, 4);
    CHECK_EQ(st.dropped_metrics, 0);
    /* Without scope labels a label-less sample has no braces. */
    REQUIRE(render(&f, NULL, NULL) == 0);
    CHECK(strstr(f.out.data, "\napp_queue -4\n") != NULL);
    fx_close(&f);
}

static void histogram_buckets_are_cumulative_up_to_inf(void)
{
    fx f;
    REQUIRE(fx_init(&f, 1 << 16) == 0);
    static const double bounds[] = {0.1, 1, 2.5};
    static const sc_metric_def h = {"op.duration", "s", "Op", SC_METRIC_KIND_HISTOGRAM, bounds, 3};
    sc_instrument *ih;
    REQUIRE(sc_metrics_instrument(f.m, &h, &ih) == 0);
    sc_attr a[] = {SC_ATTR_STR("gateway.source", "canary")};
    static const double values[] = {0.05, 0.1, 0.5, 1, 2, 3, 30};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        CHECK_EQ(sc_metrics_record(ih, values[i], a, 1), 0);
    REQUIRE(render(&f, NULL, NULL) == 0);
    const char *want = "# HELP op_duration_seconds Op\n"
                       "# TYPE op_duration_seconds histogram\n"
                       "op_duration_seconds_bucket{gateway_source=\"canary\",le=\"0.1\"} 2\n"
                       "op_duration_seconds_bucket{gateway_source=\"canary\",le=\"1\"} 4\n"
                       "op_duration_seconds_bucket{gateway_source=\"canary\",le=\"2.5\"} 5\n"
                       "op_duration_seconds_bucket{gateway_source=\"canary\",le=\"+Inf\"} 7\n"
                       "op_duration_seconds_sum{gateway_source=\"canary\"} 36.65\n"
                       "op_duration_seconds_count{gateway_source=\"canary\"} 7\n";
    CHECK_PAGE(f.out.data, want);
    /* An attribute named le cannot shadow the bucket label: it is left off and counted. */
    sc_attr bad[] = {SC_ATTR_STR("le", "x")};
    CHECK_EQ(sc_metrics_record(ih, 0.2, bad, 1), 0);
    sc_prom_text_stats st;
    REQUIRE(render(&f, NULL, &st) == 0);
    CHECK(strstr(f.out.data, "op_duration_seconds_bucket{le=\"1\"} 1\n") != NULL);
    CHECK_EQ(st.dropped_labels, 1);
    fx_close(&f);
}

static void target_info_carries_the_resource_and_joins_clashing_keys(void)
{
    sc_buf out;
    sc_buf_init(&out, 4096);
    /* Unsorted on purpose: clashing keys join in key byte order whatever their given order. */
    sc_attr res[] = {SC_ATTR_STR("service.name", "comet-sidecar"), SC_ATTR_STR("a_b", "second"),
                     SC_ATTR_STR("a.b", "first"), SC_ATTR_STR("k8s.pod.name", "p\xff-1"),
                     SC_ATTR_STR("1zone", "eu")};
    sc_prom_text_opts o = {.resource = res, .n_resource = SC_ATTR_COUNT(res)};
    sc_prom_text_stats st;
    REQUIRE(sc_prom_text_render(NULL, &o, &out, &st) == 0);
    CHECK_PAGE(out.data, "# HELP target_info Target metadata\n"
                         "# TYPE target_info gauge\n"
                         "target_info{service_name=\"comet-sidecar\",a_b=\"first;second\","
                         "k8s_pod_name=\"p\xef\xbf\xbd-1\",key_1zone=\"eu\"} 1\n");
    CHECK_EQ(st.families, 1);
    /* No resource: no target_info at all. */
    sc_buf_reset(&out);
    REQUIRE(sc_prom_text_render(NULL, NULL, &out, NULL) == 0);
    CHECK_EQ(out.len, 0);
    sc_buf_free(&out);
}

static void clashing_metric_names_share_a_family_or_are_dropped(void)
{
    fx f;
    REQUIRE(fx_init(&f, 1 << 16) == 0);
    static const sc_metric_def d1 = {"x.hits", "", "first", SC_METRIC_KIND_COUNTER, NULL, 0};
    static const sc_metric_def d2 = {"x_hits", "", "second", SC_METRIC_KIND_COUNTER, NULL, 0};
    static const sc_metric_def d3 = {"x-hits", "", "third", SC_METRIC_KIND_UPDOWN_COUNTER, NULL, 0};
    static const sc_metric_def d4 = {"target.info", "", "reserved", SC_METRIC_KIND_GAUGE, NULL, 0};
    static const sc_metric_def d5 = {"x.hits.total", "", "", SC_METRIC_KIND_GAUGE, NULL, 0};
    sc_instrument *i1, *i2, *i3, *i4, *i5;
    REQUIRE(sc_metrics_instrument(f.m, &d1, &i1) == 0);
    REQUIRE(sc_metrics_instrument(f.m, &d2, &i2) == 0);
    REQUIRE(sc_metrics_instrument(f.m, &d3, &i3) == 0);
    REQUIRE(sc_metrics_instrument(f.m, &d4, &i4) == 0);
    REQUIRE(sc_metrics_instrument(f.m, &d5, &i5) == 0);
    sc_attr a1[] = {SC_ATTR_STR("from", "one")}, a2[] = {SC_ATTR_STR("from", "two")};
    sc_metrics_add(i1, 1, a1, 1);
    sc_metrics_add(i2, 2, a2, 1);
    sc_metrics_observe(i3, 3, NULL, 0);
    sc_metrics_set(i4, 4, NULL, 0);
    sc_metrics_set(i5, 5, NULL, 0);
    sc_prom_text_stats st;
    REQUIRE(render(&f, NULL, &st) == 0);
    /* x.hits and x_hits share one family; x-hits (a gauge named x_hits) is its own; the gauge
     * x.hits.total clashes with the counter family's TYPE and target.info is reserved: both
     * dropped. */
    CHECK_PAGE(f.out.data, "# HELP x_hits_total first\n"
                           "# TYPE x_hits_total counter\n"
                           "x_hits_total{from=\"one\"} 1\n"
                           "x_hits_total{from=\"two\"} 2\n"
                           "# HELP x_hits third\n"
                           "# TYPE x_hits gauge\n"
                           "x_hits 3\n");
    CHECK_EQ(st.dropped_metrics, 2);
    CHECK_EQ(st.families, 2);
    fx_close(&f);
}

static void a_page_past_the_cap_fails_with_enobufs(void)
{
    fx f;
    REQUIRE(fx_init(&f, 300) == 0);
    static const sc_metric_def d = {"big", "", "", SC_METRIC_KIND_COUNTER, NULL, 0};
    sc_instrument *in;
    REQUIRE(sc_metrics_instrument(f.m, &d, &in) == 0);
    char v[16];
    for (int i = 0; i < 40; i++) {
        snprintf(v, sizeof v, "series-%d", i);
        sc_attr a[] = {SC_ATTR_STR("k", v)};
        sc_metrics_add(in, 1, a, 1);
    }
    CHECK_EQ(render(&f, NULL, NULL), -ENOBUFS);
    CHECK(f.out.len <= 300);
    fx_close(&f);
}

/* ---- Tool mode ------------------------------------------------------------------------------ */

static const char *fake_getenv(void *ctx, const char *name)
{
    static const char *const env[][2] = {
        {"K8S_POD_NAME", "checkout-7d9f8-abcde"},
        {"K8S_NAMESPACE_NAME", "shop"},
        {"K8S_NODE_NAME", "node-3"},
        {"K8S_CONTAINER_NAME", "comet-sidecar"},
        {"K8S_POD_UID", "0b6f7d7e-1c2a-4d3b-9e8f-7a6b5c4d3e2f"},
    };
    (void)ctx;
    for (size_t i = 0; i < sizeof env / sizeof env[0]; i++)
        if (strcmp(env[i][0], name) == 0)
            return env[i][1];
    return NULL;
}

static int record_line(sc_instrument *inst[SC_METRIC__COUNT], char *line)
{
    sc_attr attrs[SC_ATTR_SET_MAX];
    size_t n = 0;
    char *save = NULL, *name = strtok_r(line, " \t\r\n", &save);
    if (name == NULL)
        return 0;
    for (char *t; (t = strtok_r(NULL, " \t\r\n", &save)) != NULL;) {
        char *eq = strchr(t, '=');
        if (eq == NULL || n == SC_ATTR_SET_MAX)
            return -EINVAL;
        *eq = '\0';
        attrs[n++] = SC_ATTR_STR(t, eq + 1);
    }
    for (int id = 0; id < SC_METRIC__COUNT; id++) {
        const sc_metric_def *d = sc_schema_metric((sc_metric_id)id);
        if (strcmp(d->name, name) != 0)
            continue;
        switch (d->kind) {
        case SC_METRIC_KIND_COUNTER:
            return sc_metrics_add(inst[id], 1, attrs, n);
        case SC_METRIC_KIND_UPDOWN_COUNTER:
            return sc_metrics_observe(inst[id], 1, attrs, n);
        case SC_METRIC_KIND_GAUGE:
            return sc_metrics_set(inst[id], 1, attrs, n);
        case SC_METRIC_KIND_HISTOGRAM:
            return sc_metrics_record(inst[id], 0.3, attrs, n);
        }
    }
    fprintf(stderr, "not a schema metric: %s\n", name);
    return -ENOENT;
}

static int render_stdin(void)
{
    sc_clock_fake clk;
    sc_metrics *m = NULL;
    sc_instrument *inst[SC_METRIC__COUNT];
    sc_resource *res = NULL;
    sc_rng rng;
    sc_buf out;
    char line[4096];
    int rc;
    sc_clock_fake_init(&clk, T0);
    sc_rng_init_seeded(&rng, 7);
    sc_buf_init(&out, 64u << 20);
    sc_metrics_opts mo = {.clock = &clk.base};
    rc = sc_metrics_new(&m, &mo);
    if (rc == 0)
        rc = sc_metrics_register_schema(m, inst);
    if (rc == 0)
        rc = sc_resource_new(&res, NULL, fake_getenv, NULL, &rng, NULL);
    while (rc == 0 && fgets(line, sizeof line, stdin) != NULL)
        rc = record_line(inst, line);
    if (rc == 0) {
        const sc_metrics_snapshot *snap;
        const sc_attr *ra;
        size_t nra = sc_resource_attrs(res, &ra);
        sc_prom_text_opts o = {ra, nra, "comet-sidecar", "0.1.0"};
        rc = sc_metrics_collect(m, &snap);
        if (rc == 0) {
            rc = sc_prom_text_render(snap, &o, &out, NULL);
            sc_metrics_snapshot_release(m);
        }
    }
    if (rc == 0 && out.len > 0)
        fwrite(out.data, 1, out.len, stdout);
    if (rc != 0)
        fprintf(stderr, "render failed: %d\n", rc);
    sc_buf_free(&out);
    sc_resource_free(res);
    sc_metrics_free(m);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--render-stdin") == 0)
        return render_stdin();
    RUN(every_schema_metric_has_its_prometheus_name);
    RUN(metric_name_rules_follow_the_translator);
    RUN(label_names_are_sanitised);
    RUN(doubles_are_written_as_go_writes_them);
    RUN(page_has_types_help_labels_and_values);
    RUN(histogram_buckets_are_cumulative_up_to_inf);
    RUN(target_info_carries_the_resource_and_joins_clashing_keys);
    RUN(clashing_metric_names_share_a_family_or_are_dropped);
    RUN(a_page_past_the_cap_fails_with_enobufs);
    return sc_test_summary();
}
