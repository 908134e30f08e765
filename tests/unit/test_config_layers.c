/* test_config_layers.c - tests for config/: the environment layer (OTel rules for OTEL_*, hard
 * errors for COMETAPI_*), --set overrides and precedence defaults < file < env < --set. The
 * environment is injected; the process environment is never touched. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/clock.h"
#include "core/log.h"
#include "harness.h"

/* A fake environment: NULL-terminated "NAME=value" strings. */
static const char *fake_getenv(void *ctx, const char *name)
{
    size_t n = strlen(name);
    for (const char *const *e = ctx; *e != NULL; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

/* A logger writing to an unlinked temp file so warnings can be read back. */
typedef struct capture {
    FILE *f;
    sc_log *log;
    sc_clock_fake clock;
    char text[8192];
} capture;

static int capture_open(capture *c)
{
    memset(c, 0, sizeof *c);
    sc_clock_fake_init(&c->clock, 0);
    c->f = tmpfile();
    return c->f && sc_log_new(&c->log, fileno(c->f), SC_LOG_DEBUG, &c->clock.base) == 0 ? 0 : -1;
}

static const char *capture_read(capture *c)
{
    ssize_t n = pread(fileno(c->f), c->text, sizeof c->text - 1, 0);
    c->text[n > 0 ? n : 0] = '\0';
    return c->text;
}

static void capture_close(capture *c)
{
    sc_log_free(c->log);
    if (c->f)
        fclose(c->f);
}

/* Long expected messages go through here: the harness stringifies CHECK_STR's arguments. */
static void check_msg(const char *got, const char *want)
{
    CHECK_STR(got, want);
}

static int load(const char *const *env, const char *const *sets, size_t n_sets, sc_log *log,
                sc_config *c, sc_config_error *err)
{
    sc_config_sources src = {.getenv = fake_getenv,
                             .getenv_ctx = (void *)env,
                             .sets = sets,
                             .n_sets = n_sets,
                             .log = log};
    return sc_config_load(&src, c, err);
}

static void expect_set_error(const char *set, const char *msg)
{
    static const char *const noenv[] = {NULL};
    sc_config c;
    sc_config_error err;
    CHECK_EQ(load(noenv, &set, 1, NULL, &c, &err), -EINVAL);
    CHECK_STR(err.msg, msg);
}

static void precedence_file_env_set(void)
{
    char dir[] = "/tmp/sc-test-layers-XXXXXX", path[64];
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/c.json", dir);
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    fputs("{\"cometapi\": {\"model\": \"from-file\", \"base_url\": \"http://file/v1\"},"
          " \"exporter\": {\"batch\": {\"max_queue_size\": 10, \"max_export_batch_size\": 5}},"
          " \"resource\": {\"attributes\": {\"a\": \"file\", \"b\": \"file\"}},"
          " \"service\": {\"name\": \"file-svc\"}, \"console\": null}",
          f);
    fclose(f);
    static const char *const env[] = {
        "COMETAPI_MODEL=from-env",    "COMETAPI_BASE_URL=http://env/v1/",
        "OTEL_BSP_MAX_QUEUE_SIZE=20", "OTEL_RESOURCE_ATTRIBUTES=b=env, c = %20env%2C ",
        "OTEL_SERVICE_NAME=",         NULL};
    const char *sets[] = {"cometapi.model=from-set", "resource.attributes.c=set=x",
                          "console.view=true"};
    sc_config_sources src = {.file = path, .getenv = fake_getenv, .getenv_ctx = (void *)env};
    sc_config c;
    sc_config_error err;
    REQUIRE(sc_config_load(&src, &c, &err) == 0);
    CHECK_STR(c.cometapi.model, "from-env");             /* env over file */
    CHECK_STR(c.cometapi.base_url, "http://env/v1");     /* env over file, slash stripped */
    CHECK_EQ(c.exporter.batch.max_queue_size, 20);       /* OTEL_* over file */
    CHECK_EQ(c.exporter.batch.max_export_batch_size, 5); /* file over default */
    CHECK_STR(c.service.name, "file-svc");               /* empty env value means unset */
    REQUIRE(c.resource.attributes.n == 3);               /* env entries merged over file ones */
    CHECK_STR(c.resource.attributes.items[0].value, "file");
    CHECK_STR(c.resource.attributes.items[1].value, "env");
    CHECK_STR(c.resource.attributes.items[2].key, "c");
    CHECK_STR(c.resource.attributes.items[2].value, " env,");
    sc_config_free(&c);

    src.sets = sets;
    src.n_sets = 3;
    REQUIRE(sc_config_load(&src, &c, &err) == 0);
    CHECK_STR(c.cometapi.model, "from-set"); /* --set over env */
    CHECK_EQ(c.console.view, 1);             /* a null section in the file counts as absent */
    CHECK_STR(c.resource.attributes.items[2].value, "set=x");
    sc_config_free(&c);
    unlink(path);
    rmdir(dir);
}

static void otel_invalid_values_warn_and_are_ignored(void)
{
    capture cap;
    REQUIRE(capture_open(&cap) == 0);
    static const char *const env[] = {"OTEL_BSP_SCHEDULE_DELAY=5s",
                                      "OTEL_BSP_MAX_QUEUE_SIZE=lots",
                                      "OTEL_EXPORTER_OTLP_COMPRESSION=zstd",
                                      "OTEL_SDK_DISABLED=yes",
                                      "OTEL_EXPORTER_OTLP_ENDPOINT=localhost:4318",
                                      "OTEL_RESOURCE_ATTRIBUTES=a=1,broken,b=2",
                                      "OTEL_EXPORTER_OTLP_HEADERS=x-api-key=hdr-secret%0D%0Ax:y",
                                      "OTEL_EXPORTER_OTLP_TRACES_HEADERS=a=%zz",
                                      "OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
                                      NULL};
    sc_config c;
    sc_config_error err;
    REQUIRE(load(env, NULL, 0, cap.log, &c, &err) == 0);
    CHECK_EQ(c.exporter.batch.schedule_delay_ms, 5000); /* default kept */
    CHECK_EQ(c.exporter.batch.max_queue_size, 2048);
    CHECK_EQ(c.exporter.otlp.compression, SC_COMPRESSION_NONE);
    CHECK_EQ(c.sdk.disabled, 0);
    CHECK_STR(c.exporter.otlp.endpoint, "http://localhost:4318");
    CHECK_EQ(c.resource.attributes.n, 0); /* a malformed list is discarded whole */
    CHECK_EQ(c.exporter.otlp.headers.n, 0);
    CHECK_EQ(c.exporter.otlp.traces_headers.n, 0);
    CHECK_EQ(c.exporter.otlp.protocol, SC_OTLP_HTTP_PROTOBUF);
    sc_config_free(&c);
    const char *log = capture_read(&cap);
    CHECK(strstr(log, "\"variable\":\"OTEL_BSP_SCHEDULE_DELAY\",\"reason\":\"expected integer "
                      "milliseconds from 1 to 3600000, got \\\"5s\\\"\"") != NULL);
    CHECK(strstr(log, "\"variable\":\"OTEL_BSP_MAX_QUEUE_SIZE\"") != NULL);
    CHECK(strstr(log, "\"variable\":\"OTEL_EXPORTER_OTLP_COMPRESSION\",\"reason\":\"expected one "
                      "of none, gzip, got \\\"zstd\\\"\"") != NULL);
    CHECK(strstr(log, "\"variable\":\"OTEL_SDK_DISABLED\"") != NULL);
    CHECK(strstr(log, "\"variable\":\"OTEL_EXPORTER_OTLP_ENDPOINT\"") != NULL);
    CHECK(strstr(log, "\"variable\":\"OTEL_RESOURCE_ATTRIBUTES\",\"reason\":\"entry 2: entry has "
                      "no '='\"") != NULL);
    CHECK(strstr(log, "\"variable\":\"OTEL_EXPORTER_OTLP_HEADERS\",\"reason\":\"entry "
                      "\\\"x-api-key\\\": expected a header value without control characters, "
                      "got [REDACTED]\"") != NULL);
    CHECK(strstr(log, "\"variable\":\"OTEL_EXPORTER_OTLP_TRACES_HEADERS\",\"reason\":\"entry 1: "
                      "entry has an invalid percent-encoding\"") != NULL);
    CHECK(strstr(log, "\"variable\":\"OTEL_EXPORTER_OTLP_PROTOCOL\"") != NULL);
    CHECK(strstr(log, "hdr-secret") == NULL);
    capture_close(&cap);
}

static void otel_values_follow_the_spec(void)
{
    static const char *const env[] = {"OTEL_BSP_SCHEDULE_DELAY=250",
                                      "OTEL_EXPORTER_OTLP_TIMEOUT= 1500 ",
                                      "OTEL_METRIC_EXPORT_INTERVAL=10000",
                                      "OTEL_SDK_DISABLED=TRUE",
                                      "OTEL_TRACES_EXPORTER=Console",
                                      "OTEL_METRICS_EXPORTER=none",
                                      "OTEL_EXPORTER_OTLP_PROTOCOL=http/json",
                                      "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/protobuf",
                                      "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=DELTA",
                                      "OTEL_EXPORTER_OTLP_HEADERS=Authorization=Basic%20YWI6Y2Q=,"
                                      "x-tenant = t1",
                                      "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://c:4318/custom",
                                      "OTEL_SERVICE_NAME=svc",
                                      NULL};
    sc_config c;
    sc_config_error err;
    REQUIRE(load(env, NULL, 0, NULL, &c, &err) == 0);
    CHECK_EQ(c.exporter.batch.schedule_delay_ms, 250); /* OTEL_* durations are milliseconds */
    CHECK_EQ(c.exporter.otlp.timeout_ms, 1500);
    CHECK_EQ(c.exporter.metrics_interval_ms, 10000);
    CHECK_EQ(c.sdk.disabled, 1);
    CHECK_EQ(c.exporter.traces, SC_EXPORTER_CONSOLE); /* enums are case-insensitive */
    CHECK_EQ(c.exporter.metrics, SC_EXPORTER_NONE);
    CHECK_EQ(c.exporter.otlp.protocol, SC_OTLP_HTTP_JSON);
    CHECK_EQ(c.exporter.otlp.traces_protocol, SC_OTLP_HTTP_PROTOBUF);
    CHECK_EQ(c.exporter.otlp.metrics_protocol, SC_OTLP_HTTP_JSON); /* inherited */
    CHECK_EQ(c.exporter.otlp.metrics_temporality, SC_CONFIG_TEMPORALITY_DELTA);
    REQUIRE(c.exporter.otlp.headers.n == 2);
    CHECK_STR(c.exporter.otlp.headers.items[0].key, "Authorization");
    CHECK_STR(c.exporter.otlp.headers.items[0].value, "Basic YWI6Y2Q=");
    CHECK_STR(c.exporter.otlp.headers.items[1].key, "x-tenant");
    CHECK_STR(c.exporter.otlp.headers.items[1].value, "t1");
    CHECK_STR(c.exporter.otlp.traces_endpoint, "http://c:4318/custom");
    CHECK_STR(c.service.name, "svc");
    sc_config_free(&c);

    static const char *const off[] = {"OTEL_SDK_DISABLED=false", NULL};
    REQUIRE(load(off, NULL, 0, NULL, &c, &err) == 0);
    CHECK_EQ(c.sdk.disabled, 0);
    sc_config_free(&c);
}

/* OTEL_{TRACES,METRICS}_EXPORTER are lists; one exporter per signal is honoured, with a warning
 * naming the variable when the list asks for more. */
static void otel_exporter_lists_take_the_first(void)
{
    capture cap;
    REQUIRE(capture_open(&cap) == 0);
    static const char *const env[] = {"OTEL_TRACES_EXPORTER=console , otlp",
                                      "OTEL_METRICS_EXPORTER=otlp,OTLP,", NULL};
    sc_config c;
    sc_config_error err;
    REQUIRE(load(env, NULL, 0, cap.log, &c, &err) == 0);
    CHECK_EQ(c.exporter.traces, SC_EXPORTER_CONSOLE);
    CHECK_EQ(c.exporter.metrics, SC_EXPORTER_OTLP);
    sc_config_free(&c);
    const char *log = capture_read(&cap);
    CHECK(strstr(log, "\"msg\":\"one exporter per signal: using the first in the list\","
                      "\"variable\":\"OTEL_TRACES_EXPORTER\",\"exporter\":\"console\"") != NULL);
    CHECK(strstr(log, "OTEL_METRICS_EXPORTER") == NULL); /* the same one twice is one */
    capture_close(&cap);

    static const char *const bad[] = {"OTEL_TRACES_EXPORTER=zipkin,otlp", NULL};
    REQUIRE(load(bad, NULL, 0, NULL, &c, &err) == 0); /* an unknown first entry: ignored */
    CHECK_EQ(c.exporter.traces, SC_EXPORTER_OTLP);
    sc_config_free(&c);
}

static void cometapi_invalid_values_are_errors(void)
{
    sc_config c;
    sc_config_error err;
    static const char *const url[] = {"COMETAPI_BASE_URL=ftp://x", NULL};
    CHECK_EQ(load(url, NULL, 0, NULL, &c, &err), -EINVAL);
    check_msg(err.msg, "environment variable COMETAPI_BASE_URL: expected an http:// or https:// "
                       "URL with a host, got \"ftp://x\"");
    CHECK(c.cometapi.model == NULL);
    static const char *const key[] = {"COMETAPI_API_KEY=sk-secret-in-env\n", NULL};
    CHECK_EQ(load(key, NULL, 0, NULL, &c, &err), -EINVAL);
    check_msg(err.msg, "environment variable COMETAPI_API_KEY: expected an API key without "
                       "whitespace or control characters, got [REDACTED]");
    static const char *const both[] = {"COMETAPI_API_KEY=sk-1234", "COMETAPI_API_KEY_FILE=/k",
                                       NULL};
    CHECK_EQ(load(both, NULL, 0, NULL, &c, &err), -EINVAL);
    CHECK(strstr(err.msg, "are both set") != NULL);
    static const char *const ok[] = {"COMETAPI_API_KEY=sk-1234", "COMETAPI_BASE_URL=", NULL};
    REQUIRE(load(ok, NULL, 0, NULL, &c, &err) == 0);
    CHECK_STR(c.cometapi.api_key, "sk-1234");
    CHECK_STR(c.cometapi.base_url, "https://api.cometapi.com/v1");
    sc_config_free(&c);
}

static void set_values_are_typed_by_the_schema(void)
{
    static const char *const noenv[] = {NULL};
    const char *sets[] = {"health.max_connections=9",
                          "console.view=true",
                          "shutdown.deadline=1m",
                          "cometapi.max_response_bytes=64KiB",
                          "exporter.otlp.timeout=1500",
                          "cometapi.model=a=b c",
                          "exporter.otlp.headers.x-api-key=set-secret",
                          "resource.attributes.service.version=1.2.3",
                          "resource.attributes.service.version=1.2.4",
                          "log.level=error"};
    sc_config c;
    sc_config_error err;
    REQUIRE(load(noenv, sets, sizeof sets / sizeof sets[0], NULL, &c, &err) == 0);
    CHECK_EQ(c.health.max_connections, 9);
    CHECK_EQ(c.console.view, 1);
    CHECK_EQ(c.shutdown.deadline_ms, 60000);
    CHECK_EQ(c.cometapi.max_response_bytes, 65536);
    CHECK_EQ(c.exporter.otlp.timeout_ms, 1500);
    CHECK_STR(c.cometapi.model, "a=b c");
    REQUIRE(c.exporter.otlp.headers.n == 1);
    CHECK_STR(c.exporter.otlp.headers.items[0].value, "set-secret");
    REQUIRE(c.resource.attributes.n == 1); /* dots inside a map entry name are kept */
    CHECK_STR(c.resource.attributes.items[0].key, "service.version");
    CHECK_STR(c.resource.attributes.items[0].value, "1.2.4");
    CHECK_EQ(c.log.level, SC_LOG_ERROR);
    sc_buf b;
    sc_buf_init(&b, 1 << 16);
    REQUIRE(sc_config_write_effective(&c, &b) == 0);
    CHECK(strstr(b.data, "set-secret") == NULL);
    sc_buf_free(&b);
    sc_config_free(&c);
}

static void bad_sets_are_errors(void)
{
    expect_set_error("foo", "--set \"foo\": expected path=value");
    expect_set_error("=x", "--set \"\": expected path=value");
    expect_set_error("cometapi.base_ulr=http://x",
                     "--set \"cometapi.base_ulr\": unknown key \"cometapi.base_ulr\" (did you mean "
                     "\"cometapi.base_url\"?)");
    expect_set_error("cometpi.base_url=http://x",
                     "--set \"cometpi.base_url\": unknown key \"cometpi.base_url\" (did you mean "
                     "\"cometapi.base_url\"?)");
    expect_set_error("timeout=1s", "--set \"timeout\": unknown key \"timeout\"");
    expect_set_error("health.max_connections=many",
                     "--set \"health.max_connections\": expected an integer from 1 to 4096, got "
                     "\"many\"");
    expect_set_error("shutdown.deadline=2h",
                     "--set \"shutdown.deadline\": expected a duration such as \"250ms\", \"5s\" "
                     "or \"1m\" (or integer milliseconds) from 100ms to 10m, got \"2h\"");
    expect_set_error("console.view=1", "--set \"console.view\": expected true or false, got \"1\"");
    expect_set_error("service.name=",
                     "--set \"service.name\": expected a non-empty string, got \"\"");
    expect_set_error("exporter.otlp=x", "--set \"exporter.otlp\": \"exporter.otlp\" is a section, "
                                        "not a key");
    expect_set_error("exporter.otlp.headers=a=b",
                     "--set \"exporter.otlp.headers\": \"exporter.otlp.headers\" is a map; set its "
                     "entries as exporter.otlp.headers.<name>=value");
    expect_set_error("health.endpoint.port=1",
                     "--set \"health.endpoint.port\": unknown key \"health.endpoint.port\" "
                     "(\"health.endpoint\" is not a section)");
    expect_set_error("cometapi.api_key=sk secret",
                     "--set \"cometapi.api_key\": expected an API key without whitespace or "
                     "control characters, got [REDACTED]");
    expect_set_error("exporter.otlp.headers.bad name=v",
                     "--set \"exporter.otlp.headers.bad name\": entry \"bad name\": expected an "
                     "HTTP header name (letters, digits and !#$%&'*+-.^_`|~)");
}

int main(void)
{
    RUN(precedence_file_env_set);
    RUN(otel_invalid_values_warn_and_are_ignored);
    RUN(otel_values_follow_the_spec);
    RUN(otel_exporter_lists_take_the_first);
    RUN(cometapi_invalid_values_are_errors);
    RUN(set_values_are_typed_by_the_schema);
    RUN(bad_sets_are_errors);
    return sc_test_summary();
}
