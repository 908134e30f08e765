/* test_export_config.c - tests for export/export_config: signal URLs, header merging (per-signal
 * overrides, our Content-Type/Content-Encoding, User-Agent), and the mapping of exporter.* keys
 * (sinks, protocols, budgets, readiness windows, sdk.disabled). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "export/export_config.h"
#include "harness.h"
#include "version.h"

static void check_url(const char *endpoint, const char *sig_ep, int metrics, const char *want)
{
    char *u = NULL;
    CHECK_EQ(sc_export_config_url(endpoint, sig_ep, metrics, &u), 0);
    CHECK_STR(u, want);
    free(u);
}

static void test_urls(void)
{
    check_url("http://c:4318", NULL, 0, "http://c:4318/v1/traces");
    check_url("http://c:4318", NULL, 1, "http://c:4318/v1/metrics");
    check_url("http://c:4318/", NULL, 0, "http://c:4318/v1/traces");
    check_url("https://gw.example/otlp", NULL, 1, "https://gw.example/otlp/v1/metrics");
    /* Per-signal endpoints are used exactly as given, no path appended. */
    check_url("http://c:4318", "http://t:1234/custom", 0, "http://t:1234/custom");
    check_url("http://c:4318", "http://m:1/", 1, "http://m:1/");
    check_url(NULL, "http://m:1/x", 1, "http://m:1/x");
    char *u = (char *)"x";
    CHECK_EQ(sc_export_config_url(NULL, NULL, 0, &u), -EINVAL);
    CHECK(u == NULL);
}

static int has_line(char **lines, size_t n, const char *want)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(lines[i], want) == 0)
            return 1;
    return 0;
}

static size_t count_prefix(char **lines, size_t n, const char *prefix)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncasecmp(lines[i], prefix, strlen(prefix)) == 0)
            k++;
    return k;
}

static void test_header_merge(void)
{
    sc_config_kv g[] = {{"Authorization", "Bearer general"},
                        {"X-Tenant", "a"},
                        {"content-type", "text/plain"},
                        {"X-Empty", ""}};
    sc_config_kv s[] = {{"authorization", "Bearer traces"}, {"X-Extra", "1"}};
    const sc_config_map gm = {g, 4}, sm = {s, 2};
    char **lines = NULL;
    size_t n = 0;
    REQUIRE(sc_export_config_headers(&gm, &sm, 0, 1, "comet-sidecar/1.2.3", &lines, &n) == 0);
    CHECK(has_line(lines, n, "X-Tenant: a"));
    CHECK(has_line(lines, n, "authorization: Bearer traces")); /* per-signal replaces general */
    CHECK_EQ(count_prefix(lines, n, "authorization:"), 1);
    CHECK(has_line(lines, n, "X-Extra: 1"));
    CHECK(has_line(lines, n, "Content-Type: application/x-protobuf"));
    CHECK_EQ(count_prefix(lines, n, "content-type:"), 1); /* the configured one is ignored */
    CHECK(has_line(lines, n, "Content-Encoding: gzip"));
    CHECK(has_line(lines, n, "User-Agent: comet-sidecar/1.2.3"));
    CHECK_EQ(count_prefix(lines, n, "x-empty"), 0); /* cannot be sent empty: left out */
    CHECK_EQ(n, 6);
    sc_export_config_free_headers(lines, n);

    /* JSON, no gzip, a configured User-Agent wins, no maps at all works. */
    sc_config_kv ua[] = {{"User-Agent", "mine"}};
    const sc_config_map um = {ua, 1};
    REQUIRE(sc_export_config_headers(NULL, &um, 1, 0, "comet-sidecar/1", &lines, &n) == 0);
    CHECK(has_line(lines, n, "User-Agent: mine"));
    CHECK(has_line(lines, n, "Content-Type: application/json"));
    CHECK_EQ(count_prefix(lines, n, "content-encoding"), 0);
    CHECK_EQ(n, 2);
    sc_export_config_free_headers(lines, n);

    /* CR/LF can never reach the wire. */
    sc_config_kv bad[] = {{"X-Bad", "a\r\nInjected: 1"}};
    const sc_config_map bm = {bad, 1};
    CHECK_EQ(sc_export_config_headers(&bm, NULL, 0, 0, "ua", &lines, &n), -EINVAL);
    CHECK(lines == NULL);
    sc_export_config_free_headers(NULL, 0);
}

static int load(sc_config *c, const char *const *sets, size_t n)
{
    sc_config_error err = {{0}};
    const sc_config_sources src = {.sets = sets, .n_sets = n};
    int rc = sc_config_load(&src, c, &err);
    if (rc != 0)
        fprintf(stderr, "config: %s\n", err.msg);
    return rc;
}

static void test_from_config_defaults(void)
{
    sc_config c;
    sc_export_config x;
    REQUIRE(load(&c, NULL, 0) == 0);
    REQUIRE(sc_export_config_from(&x, &c) == 0);
    CHECK_EQ(x.traces.sink, SC_EXPORT_SINK_OTLP);
    CHECK_EQ(x.metrics.sink, SC_EXPORT_SINK_OTLP);
    CHECK_EQ(x.traces.json, 0);
    CHECK_EQ(x.traces.gzip, 0);
    CHECK_STR(x.traces.url, "http://localhost:4318/v1/traces");
    CHECK_STR(x.metrics.url, "http://localhost:4318/v1/metrics");
    CHECK(has_line(x.traces.headers, x.traces.n_headers, "User-Agent: " SC_NAME "/" SC_VERSION));
    CHECK_EQ(x.traces.attempt_timeout_ms, 10000);
    CHECK_EQ(x.traces.budget_ms, 30000);                /* OTEL_BSP_EXPORT_TIMEOUT */
    CHECK_EQ(x.metrics.budget_ms, 30000);               /* OTEL_METRIC_EXPORT_TIMEOUT */
    CHECK_EQ(x.traces.window_ms, 3 * (5000 + 30000));   /* 3 x (delay + timeout) */
    CHECK_EQ(x.metrics.window_ms, 3 * (60000 + 30000)); /* 3 x (interval + timeout) */
    CHECK_EQ(x.max_batch, 512);
    CHECK_STR(x.traces.component_type, "otlp_http_span_exporter");
    CHECK_STR(x.metrics.component_type, "otlp_http_metric_exporter");
    CHECK_STR(x.traces.server_address, "localhost");
    CHECK_EQ(x.traces.server_port, 4318);
    CHECK_EQ(x.schedule_delay_ms, 5000);
    sc_export_config_free(&x);
    sc_config_free(&c);
}

static void test_from_config_per_signal(void)
{
    static const char *const sets[] = {
        "exporter.otlp.endpoint=http://col:4318/",
        "exporter.otlp.metrics_endpoint=http://m:9/ingest",
        "exporter.otlp.traces_protocol=http/json",
        "exporter.otlp.compression=gzip",
        "exporter.otlp.headers.a=1",
        "exporter.otlp.headers.b=2",
        "exporter.otlp.traces_headers.b=3",
        "exporter.metrics=console",
        "exporter.batch.export_timeout=45s",
    };
    sc_config c;
    sc_export_config x;
    REQUIRE(load(&c, sets, sizeof sets / sizeof sets[0]) == 0);
    REQUIRE(sc_export_config_from(&x, &c) == 0);
    CHECK_STR(x.traces.url, "http://col:4318/v1/traces");
    CHECK_EQ(x.traces.json, 1);
    CHECK_EQ(x.traces.gzip, 1);
    CHECK(has_line(x.traces.headers, x.traces.n_headers, "a: 1"));
    CHECK(has_line(x.traces.headers, x.traces.n_headers, "b: 3"));
    CHECK(!has_line(x.traces.headers, x.traces.n_headers, "b: 2"));
    CHECK(has_line(x.traces.headers, x.traces.n_headers, "Content-Type: application/json"));
    CHECK_EQ(x.traces.budget_ms, 45000);
    CHECK_STR(x.traces.component_type, "otlp_http_json_span_exporter");
    CHECK_STR(x.traces.server_address, "col");
    CHECK_STR(x.metrics.component_type, "console_metric_exporter");
    CHECK(x.metrics.server_address == NULL);
    CHECK_EQ(x.metrics.sink, SC_EXPORT_SINK_CONSOLE);
    CHECK_EQ(x.metrics.json, 1); /* console/file always write OTLP/JSON */
    CHECK(x.metrics.url == NULL);
    sc_export_config_free(&x);
    sc_config_free(&c);
}

/* The OTLP exporter spec's per-signal variables: each one wins over the general one for its
 * signal, and the other signal keeps the general value. */
static const char *fake_env(void *ctx, const char *name)
{
    for (const char *const(*kv)[2] = ctx; (*kv)[0] != NULL; kv++)
        if (strcmp((*kv)[0], name) == 0)
            return (*kv)[1];
    return NULL;
}

static void test_from_env_per_signal_settings(void)
{
    static const char *const env[][2] = {
        {"OTEL_EXPORTER_OTLP_COMPRESSION", "none"},
        {"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip"},
        {"OTEL_EXPORTER_OTLP_TIMEOUT", "4000"},
        {"OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "2500"},
        {"OTEL_EXPORTER_OTLP_CERTIFICATE", "/etc/ca.pem"},
        {"OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE", "/etc/metrics-ca.pem"},
        {"OTEL_EXPORTER_OTLP_CLIENT_KEY", "/etc/key.pem"},
        {"OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "/etc/traces-key.pem"},
        {"OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE", "/etc/metrics-cert.pem"},
        {NULL, NULL},
    };
    sc_config c;
    sc_export_config x;
    sc_config_error err = {{0}};
    const sc_config_sources src = {.getenv = fake_env, .getenv_ctx = (void *)env};
    REQUIRE(sc_config_load(&src, &c, &err) == 0);
    REQUIRE(sc_export_config_from(&x, &c) == 0);
    CHECK_EQ(x.traces.gzip, 1);
    CHECK_EQ(x.metrics.gzip, 0);
    CHECK(has_line(x.traces.headers, x.traces.n_headers, "Content-Encoding: gzip"));
    CHECK_EQ(count_prefix(x.metrics.headers, x.metrics.n_headers, "Content-Encoding:"), 0);
    CHECK_EQ(x.traces.attempt_timeout_ms, 4000);
    CHECK_EQ(x.metrics.attempt_timeout_ms, 2500);
    CHECK_STR(x.traces.ca_file, "/etc/ca.pem");
    CHECK_STR(x.metrics.ca_file, "/etc/metrics-ca.pem");
    CHECK_STR(x.traces.client_key, "/etc/traces-key.pem");
    CHECK_STR(x.metrics.client_key, "/etc/key.pem");
    CHECK(x.traces.client_cert == NULL);
    CHECK_STR(x.metrics.client_cert, "/etc/metrics-cert.pem");
    sc_export_config_free(&x);
    sc_config_free(&c);
}

static void test_from_config_disabled(void)
{
    static const char *const off[] = {"sdk.disabled=true"};
    static const char *const none[] = {"exporter.traces=none", "exporter.metrics=file",
                                       "exporter.file.path=/tmp/x.jsonl"};
    sc_config c;
    sc_export_config x;
    REQUIRE(load(&c, off, 1) == 0);
    REQUIRE(sc_export_config_from(&x, &c) == 0);
    CHECK_EQ(x.traces.sink, SC_EXPORT_SINK_NONE);
    CHECK_EQ(x.metrics.sink, SC_EXPORT_SINK_NONE);
    sc_export_config_free(&x);
    sc_config_free(&c);
    REQUIRE(load(&c, none, 3) == 0);
    REQUIRE(sc_export_config_from(&x, &c) == 0);
    CHECK_EQ(x.traces.sink, SC_EXPORT_SINK_NONE);
    CHECK_EQ(x.metrics.sink, SC_EXPORT_SINK_FILE);
    CHECK_STR(x.file_path, "/tmp/x.jsonl");
    sc_export_config_free(&x);
    sc_config_free(&c);
}

static void test_server_of_url(void)
{
    char *h = NULL;
    int port = 0;
    CHECK_EQ(sc_export_config_server("https://otel.example.com/v1/traces", &h, &port), 0);
    CHECK_STR(h, "otel.example.com");
    CHECK_EQ(port, 443);
    free(h);
    CHECK_EQ(sc_export_config_server("http://[::1]:4318/v1/metrics", &h, &port), 0);
    CHECK_STR(h, "::1");
    CHECK_EQ(port, 4318);
    free(h);
    CHECK_EQ(sc_export_config_server("http://collector/x", &h, &port), 0);
    CHECK_EQ(port, 80);
    free(h);
    CHECK_EQ(sc_export_config_server("not a url", &h, &port), -EINVAL);
    CHECK(h == NULL);
}

int main(void)
{
    RUN(test_urls);
    RUN(test_server_of_url);
    RUN(test_header_merge);
    RUN(test_from_config_defaults);
    RUN(test_from_config_per_signal);
    RUN(test_from_env_per_signal_settings);
    RUN(test_from_config_disabled);
    return sc_test_summary();
}
