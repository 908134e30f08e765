/* test_config.c - tests for config/: defaults, the file layer, error messages, validation and the
 * effective-config output. Environment and --set layering are in test_config_layers.c, the
 * array-of-objects mechanism in test_config_array.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "config/schema.h"
#include "harness.h"

static char tmpdir[64];

static const char *write_tmp(const char *name, const char *content)
{
    static char path[128];
    if (tmpdir[0] == '\0') {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/sc-test-config-XXXXXX");
        if (mkdtemp(tmpdir) == NULL)
            return NULL;
    }
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return NULL;
    fputs(content, f);
    fclose(f);
    return path;
}

/* Loads `json` as the config file; returns the load result, err filled. */
static int load_json(const char *json, sc_config *c, sc_config_error *err)
{
    sc_config_sources src = {.file = write_tmp("c.json", json)};
    return sc_config_load(&src, c, err);
}

static void expect_error(const char *json, const char *msg)
{
    sc_config c;
    sc_config_error err;
    CHECK_EQ(load_json(json, &c, &err), -EINVAL);
    CHECK_STR(err.msg, msg);
    CHECK(c.cometapi.base_url == NULL); /* nothing half-configured */
}

static void defaults_are_complete(void)
{
    sc_config c;
    sc_config_error err;
    REQUIRE(sc_config_load(NULL, &c, &err) == 0);
    CHECK(c.service.name == NULL);
    CHECK_STR(c.service.environment, "production");
    CHECK_EQ(c.resource.attributes.n, 0);
    CHECK_EQ(c.sdk.disabled, 0);
    CHECK_EQ(c.log.level, SC_LOG_INFO);
    CHECK_STR(c.health.endpoint, "127.0.0.1:13133");
    CHECK_EQ(c.health.max_request_bytes, 8192);
    CHECK_EQ(c.health.request_timeout_ms, 5000);
    CHECK_EQ(c.health.max_connections, 64);
    CHECK_EQ(c.shutdown.deadline_ms, 5000);
    CHECK_STR(c.cometapi.base_url, "https://api.cometapi.com/v1");
    CHECK(c.cometapi.api_key == NULL && c.cometapi.api_key_file == NULL);
    CHECK_EQ(c.cometapi.key_file_check_interval_ms, 10000);
    CHECK_STR(c.cometapi.model, "gpt-4o-mini");
    CHECK_EQ(c.cometapi.connect_timeout_ms, 5000);
    CHECK_EQ(c.cometapi.timeout_ms, 30000);
    CHECK_EQ(c.cometapi.max_response_bytes, 1 << 20);
    CHECK_EQ(c.exporter.traces, SC_EXPORTER_OTLP);
    CHECK_EQ(c.exporter.metrics, SC_EXPORTER_OTLP);
    CHECK_STR(c.exporter.otlp.endpoint, "http://localhost:4318");
    CHECK(c.exporter.otlp.traces_endpoint == NULL);
    CHECK_EQ(c.exporter.otlp.protocol, SC_OTLP_HTTP_PROTOBUF);
    CHECK_EQ(c.exporter.otlp.traces_protocol, SC_OTLP_HTTP_PROTOBUF); /* inherited */
    CHECK_EQ(c.exporter.otlp.metrics_protocol, SC_OTLP_HTTP_PROTOBUF);
    CHECK_EQ(c.exporter.otlp.compression, SC_COMPRESSION_NONE);
    CHECK_EQ(c.exporter.otlp.timeout_ms, 10000);
    CHECK_EQ(c.exporter.otlp.metrics_temporality, SC_CONFIG_TEMPORALITY_CUMULATIVE);
    CHECK_EQ(c.exporter.batch.schedule_delay_ms, 5000);
    CHECK_EQ(c.exporter.batch.export_timeout_ms, 30000);
    CHECK_EQ(c.exporter.batch.max_queue_size, 2048);
    CHECK_EQ(c.exporter.batch.max_export_batch_size, 512);
    CHECK_EQ(c.exporter.metrics_interval_ms, 60000);
    CHECK_EQ(c.exporter.metrics_timeout_ms, 30000);
    CHECK_EQ(c.console.view, 0);
    sc_config_free(&c);
    CHECK(c.cometapi.base_url == NULL);
    sc_config_free(&c); /* idempotent */
    sc_config_free(NULL);
}

static void file_values_are_decoded(void)
{
    sc_config c;
    sc_config_error err;
    const char *json =
        "{\n"
        "  \"service\": {\"name\": \"checkout\"},\n"
        "  \"resource\": {\"attributes\": {\"k8s.pod.name\": \"p-1\", \"a\": \"b\"}},\n"
        "  \"log\": {\"level\": \"debug\"},\n"
        "  \"health\": {\"endpoint\": \"[::1]:9000\", \"max_request_bytes\": \"16KiB\",\n"
        "             \"request_timeout\": 250, \"max_connections\": 8},\n"
        "  \"cometapi\": {\"base_url\": \"http://127.0.0.1:8080/v1//\",\n"
        "               \"api_key_file\": \"/var/run/key\", \"timeout\": \"1m30s\"},\n"
        "  \"exporter\": {\"traces\": \"file\", \"file\": {\"path\": \"/tmp/o.jsonl\"},\n"
        "    \"otlp\": {\"protocol\": \"http/json\", \"metrics_protocol\": \"http/protobuf\",\n"
        "             \"compression\": \"gzip\", \"timeout\": \"2s\",\n"
        "             \"headers\": {\"x-api-key\": \"hv\"}},\n"
        "    \"batch\": {\"max_queue_size\": 100, \"max_export_batch_size\": 100},\n"
        "    \"metrics_interval\": \"1h\"},\n"
        "  \"console\": {\"view\": true},\n"
        "  \"sdk\": null\n"
        "}\n";
    REQUIRE(load_json(json, &c, &err) == 0);
    CHECK_STR(c.service.name, "checkout");
    REQUIRE(c.resource.attributes.n == 2);
    CHECK_STR(c.resource.attributes.items[0].key, "k8s.pod.name");
    CHECK_STR(c.resource.attributes.items[0].value, "p-1");
    CHECK_EQ(c.log.level, SC_LOG_DEBUG);
    CHECK_STR(c.health.endpoint, "[::1]:9000");
    CHECK_EQ(c.health.max_request_bytes, 16384);
    CHECK_EQ(c.health.request_timeout_ms, 250);
    CHECK_EQ(c.health.max_connections, 8);
    CHECK_STR(c.cometapi.base_url, "http://127.0.0.1:8080/v1"); /* trailing slashes stripped */
    CHECK_STR(c.cometapi.api_key_file, "/var/run/key");
    CHECK_EQ(c.cometapi.timeout_ms, 90000);
    CHECK_EQ(c.exporter.traces, SC_EXPORTER_FILE);
    CHECK_STR(c.exporter.file.path, "/tmp/o.jsonl");
    CHECK_EQ(c.exporter.otlp.protocol, SC_OTLP_HTTP_JSON);
    CHECK_EQ(c.exporter.otlp.traces_protocol, SC_OTLP_HTTP_JSON);
    CHECK_EQ(c.exporter.otlp.metrics_protocol, SC_OTLP_HTTP_PROTOBUF);
    CHECK_EQ(c.exporter.otlp.compression, SC_COMPRESSION_GZIP);
    CHECK_EQ(c.exporter.otlp.timeout_ms, 2000);
    REQUIRE(c.exporter.otlp.headers.n == 1);
    CHECK_STR(c.exporter.otlp.headers.items[0].value, "hv");
    CHECK_EQ(c.exporter.batch.max_export_batch_size, 100);
    CHECK_EQ(c.exporter.metrics_interval_ms, 3600000);
    CHECK_EQ(c.console.view, 1);
    sc_config_free(&c);
}

static void unknown_keys_get_suggestions(void)
{
    expect_error("{\"cometapi\": {\"base_ulr\": \"http://x\"}}",
                 "unknown key \"cometapi.base_ulr\" (did you mean \"cometapi.base_url\"?)");
    expect_error("{\"cometpi\": {\"base_url\": \"http://x\"}}",
                 "unknown key \"cometpi\" (did you mean \"cometapi\"?)");
    expect_error("{\"exporter\": {\"otlp\": {\"endpont\": \"http://x\"}}}",
                 "unknown key \"exporter.otlp.endpont\" (did you mean "
                 "\"exporter.otlp.endpoint\"?)");
    /* right name, wrong section */
    expect_error("{\"base_url\": \"http://x\"}",
                 "unknown key \"base_url\" (did you mean \"cometapi.base_url\"?)");
    expect_error("{\"cometapi.base_url\": \"http://x\"}",
                 "unknown key \"cometapi.base_url\" (dotted names are not expanded in the config "
                 "file; nest objects instead)");
    expect_error("{\"zzzzzzzz\": 1}", "unknown key \"zzzzzzzz\"");
    expect_error("{\"health\": {\"endpoint\": \"127.0.0.1:1\", \"endpoint\": \"127.0.0.1:2\"}}",
                 "\"health.endpoint\": duplicate key");
}

static void wrong_types_and_ranges_are_reported(void)
{
    expect_error("{\"health\": {\"max_connections\": \"many\"}}",
                 "\"health.max_connections\": expected an integer from 1 to 4096, got \"many\"");
    expect_error("{\"health\": {\"max_connections\": 5000}}",
                 "\"health.max_connections\": expected an integer from 1 to 4096, got 5000");
    expect_error("{\"health\": {\"max_connections\": 1.5}}",
                 "\"health.max_connections\": expected an integer from 1 to 4096, got 1.5");
    expect_error("{\"exporter\": {\"otlp\": {\"compression\": \"zstd\"}}}",
                 "\"exporter.otlp.compression\": expected one of none, gzip, got \"zstd\"");
    expect_error("{\"log\": 5}", "\"log\": expected an object, got 5");
    expect_error("{\"console\": {\"view\": \"yes\"}}",
                 "\"console.view\": expected true or false, got \"yes\"");
    expect_error("{\"shutdown\": {\"deadline\": \"5 s\"}}",
                 "\"shutdown.deadline\": expected a duration such as \"250ms\", \"5s\" or \"1m\" "
                 "(or integer milliseconds) from 100ms to 10m, got \"5 s\"");
    expect_error("{\"cometapi\": {\"max_response_bytes\": \"1TiB\"}}",
                 "\"cometapi.max_response_bytes\": expected a size such as \"64KiB\" or \"1MiB\" "
                 "(or integer bytes) from 1KiB to 64MiB, got \"1TiB\"");
    expect_error("{\"cometapi\": {\"base_url\": \"ftp://x\"}}",
                 "\"cometapi.base_url\": expected an http:// or https:// URL with a host, got "
                 "\"ftp://x\"");
    expect_error("{\"service\": {\"name\": \"\"}}",
                 "\"service.name\": expected a non-empty string, got \"\"");
    expect_error("{\"resource\": {\"attributes\": {\"a\": 1}}}",
                 "\"resource.attributes.a\": expected a string, got 1");
    expect_error("{\"resource\": {\"attributes\": []}}",
                 "\"resource.attributes\": expected an object of string values, got an array");
    expect_error("{\"exporter\": {\"otlp\": {\"headers\": {\"bad name\": \"v\"}}}}",
                 "\"exporter.otlp.headers.bad name\": expected an HTTP header name (letters, "
                 "digits and !#$%&'*+-.^_`|~)");
}

static void health_endpoint_is_validated(void)
{
    char host[64];
    uint16_t port;
    CHECK_EQ(sc_config_split_hostport("127.0.0.1:13133", host, sizeof host, &port), 0);
    CHECK_STR(host, "127.0.0.1");
    CHECK_EQ(port, 13133);
    CHECK_EQ(sc_config_split_hostport("[::1]:80", host, sizeof host, &port), 0);
    CHECK_STR(host, "::1");
    CHECK_EQ(sc_config_split_hostport("localhost:65535", host, sizeof host, &port), 0);
    CHECK_EQ(sc_config_split_hostport("localhost:0", host, sizeof host, &port), -EINVAL);
    CHECK_EQ(sc_config_split_hostport("localhost:65536", host, sizeof host, &port), -EINVAL);
    CHECK_EQ(sc_config_split_hostport("::1:80", host, sizeof host, &port), -EINVAL);
    CHECK_EQ(sc_config_split_hostport("[host]:80", host, sizeof host, &port), -EINVAL);
    CHECK_EQ(sc_config_split_hostport(":80", host, sizeof host, &port), -EINVAL);
    CHECK_EQ(sc_config_split_hostport("host:", host, sizeof host, &port), -EINVAL);
    CHECK_EQ(sc_config_split_hostport("host:8o", host, sizeof host, &port), -EINVAL);
    CHECK_EQ(sc_config_split_hostport("host", host, sizeof host, &port), -EINVAL);
    CHECK_EQ(sc_config_split_hostport("averyverylonghostname:1", host, 8, &port), -EINVAL);
    expect_error("{\"health\": {\"endpoint\": \"0.0.0.0:0\"}}",
                 "\"health.endpoint\": expected host:port with a port from 1 to 65535 "
                 "([v6addr]:port for IPv6), got \"0.0.0.0:0\"");
}

static void file_errors_name_the_file(void)
{
    sc_config c;
    sc_config_error err;
    sc_config_sources src = {.file = "/nonexistent/x.json"};
    CHECK_EQ(sc_config_load(&src, &c, &err), -EINVAL);
    CHECK_STR(err.msg, "config file \"/nonexistent/x.json\": No such file or directory");
    src.file = "/tmp";
    CHECK_EQ(sc_config_load(&src, &c, &err), -EINVAL);
    CHECK_STR(err.msg, "config file \"/tmp\": Is a directory");

    char want[256];
    CHECK_EQ(load_json("{\n  \"log\": {\n    x\n  }\n}\n", &c, &err), -EINVAL);
    snprintf(want, sizeof want, "config file \"%s/c.json\": invalid JSON near line 3 column 5",
             tmpdir);
    CHECK_STR(err.msg, want);
    CHECK_EQ(load_json("{\"log\": {}} trailing", &c, &err), -EINVAL);
    snprintf(want, sizeof want, "config file \"%s/c.json\": invalid JSON near line 1 column 13",
             tmpdir);
    CHECK_STR(err.msg, want);
    CHECK_EQ(load_json("", &c, &err), -EINVAL);
    CHECK(strstr(err.msg, "invalid JSON near line 1 column 1") != NULL);
    CHECK_EQ(load_json("[1]", &c, &err), -EINVAL);
    snprintf(want, sizeof want,
             "config file \"%s/c.json\": expected a JSON object at the top level", tmpdir);
    CHECK_STR(err.msg, want);
    /* a byte order mark is accepted */
    CHECK_EQ(load_json("\xef\xbb\xbf{\"log\": {\"level\": \"warn\"}}", &c, &err), 0);
    CHECK_EQ(c.log.level, SC_LOG_WARN);
    sc_config_free(&c);
}

static void relations_are_checked(void)
{
    expect_error("{\"exporter\": {\"batch\": {\"max_queue_size\": 100, "
                 "\"max_export_batch_size\": 101}}}",
                 "\"exporter.batch.max_export_batch_size\": must not exceed "
                 "exporter.batch.max_queue_size (100), got 101");
    expect_error("{\"cometapi\": {\"api_key\": \"sk-1234\", \"api_key_file\": \"/k\"}}",
                 "\"cometapi.api_key\" and \"cometapi.api_key_file\" are both set; use only one");
    expect_error("{\"exporter\": {\"metrics\": \"file\"}}",
                 "\"exporter.file.path\": required when exporter.traces or exporter.metrics is "
                 "\"file\"");
}

static void durations_and_sizes_parse(void)
{
    uint64_t v;
    CHECK_EQ(sc_config_parse_duration("250ms", &v), 0);
    CHECK_EQ(v, 250);
    CHECK_EQ(sc_config_parse_duration("5s", &v), 0);
    CHECK_EQ(v, 5000);
    CHECK_EQ(sc_config_parse_duration("1m", &v), 0);
    CHECK_EQ(v, 60000);
    CHECK_EQ(sc_config_parse_duration("1h", &v), 0);
    CHECK_EQ(v, 3600000);
    CHECK_EQ(sc_config_parse_duration("1h2m3s4ms", &v), 0);
    CHECK_EQ(v, 3723004);
    CHECK_EQ(sc_config_parse_duration("1500", &v), 0);
    CHECK_EQ(v, 1500);
    CHECK_EQ(sc_config_parse_duration("", &v), -EINVAL);
    CHECK_EQ(sc_config_parse_duration("1.5s", &v), -EINVAL);
    CHECK_EQ(sc_config_parse_duration("-1s", &v), -EINVAL);
    CHECK_EQ(sc_config_parse_duration("5x", &v), -EINVAL);
    CHECK_EQ(sc_config_parse_duration("1m30", &v), -EINVAL);
    CHECK_EQ(sc_config_parse_duration("5sec", &v), -EINVAL);
    CHECK_EQ(sc_config_parse_duration("99999999999999999999h", &v), -EINVAL);
    CHECK_EQ(sc_config_parse_duration("5124095576030432h", &v), -EINVAL); /* overflows ms */

    CHECK_EQ(sc_config_parse_size("1MiB", &v), 0);
    CHECK_EQ(v, 1048576);
    CHECK_EQ(sc_config_parse_size("64KiB", &v), 0);
    CHECK_EQ(v, 65536);
    CHECK_EQ(sc_config_parse_size("2Gi", &v), 0);
    CHECK_EQ(v, 2147483648ll);
    CHECK_EQ(sc_config_parse_size("3MB", &v), 0);
    CHECK_EQ(v, 3000000);
    CHECK_EQ(sc_config_parse_size("512", &v), 0);
    CHECK_EQ(v, 512);
    CHECK_EQ(sc_config_parse_size("512B", &v), 0);
    CHECK_EQ(v, 512);
    CHECK_EQ(sc_config_parse_size("1 MiB", &v), -EINVAL);
    CHECK_EQ(sc_config_parse_size("MiB", &v), -EINVAL);
    CHECK_EQ(sc_config_parse_size("1mib", &v), -EINVAL);

    char out[32];
    sc_config_format_duration(90000, out, sizeof out);
    CHECK_STR(out, "90s");
    sc_config_format_duration(7200000, out, sizeof out);
    CHECK_STR(out, "2h");
    sc_config_format_duration(1001, out, sizeof out);
    CHECK_STR(out, "1001ms");
    sc_config_format_size(3 << 20, out, sizeof out);
    CHECK_STR(out, "3MiB");
    sc_config_format_size(1000, out, sizeof out);
    CHECK_STR(out, "1000B");
}

static void effective_config_redacts_secrets(void)
{
    sc_config c;
    sc_config_error err;
    const char *json =
        "{\"cometapi\": {\"api_key\": \"sk-file-secret-123\"},"
        " \"exporter\": {\"otlp\": {\"headers\": {\"x-api-key\": \"hdr-secret-456\"},"
        " \"traces_headers\": {\"authorization\": \"Bearer tr-secret-789\"}}},"
        " \"health\": {\"max_request_bytes\": 1500}}";
    REQUIRE(load_json(json, &c, &err) == 0);
    CHECK_STR(c.cometapi.api_key, "sk-file-secret-123");
    sc_buf b;
    sc_buf_init(&b, 1 << 16);
    REQUIRE(sc_config_write_effective(&c, &b) == 0);
    CHECK(strstr(b.data, "sk-file-secret-123") == NULL);
    CHECK(strstr(b.data, "hdr-secret-456") == NULL);
    CHECK(strstr(b.data, "tr-secret-789") == NULL);
    CHECK(strstr(b.data, "    \"api_key\": \"[REDACTED]\",\n") != NULL);
    CHECK(strstr(b.data, "\"x-api-key\": \"[REDACTED]\"") != NULL);
    CHECK(strstr(b.data, "\"api_key_file\": null") != NULL);
    CHECK(strstr(b.data, "\"request_timeout\": \"5s\"") != NULL);
    CHECK(strstr(b.data, "\"max_request_bytes\": 1500") != NULL);
    CHECK(strstr(b.data, "\"max_response_bytes\": \"1MiB\"") != NULL);
    CHECK(strstr(b.data, "\"attributes\": {}") != NULL);
    CHECK(strncmp(b.data, "{\n  \"service\": {\n    \"name\": null,\n", 33) == 0);

    /* The output is itself a valid config that loads to the same effective config (minus the
     * redacted secrets, which would now be literal "[REDACTED]" strings and fail validation). */
    sc_config_free(&c);
    sc_buf_reset(&b);
    REQUIRE(sc_config_load(NULL, &c, &err) == 0);
    REQUIRE(sc_config_write_effective(&c, &b) == 0);
    sc_config c2;
    REQUIRE(load_json(b.data, &c2, &err) == 0);
    sc_buf b2;
    sc_buf_init(&b2, 1 << 16);
    REQUIRE(sc_config_write_effective(&c2, &b2) == 0);
    CHECK_STR(b.data, b2.data);
    sc_buf b3;
    sc_buf_init(&b3, 64);
    CHECK_EQ(sc_config_write_effective(&c2, &b3), -ENOBUFS);
    sc_buf_free(&b3);
    sc_buf_free(&b2);
    sc_buf_free(&b);
    sc_config_free(&c2);
    sc_config_free(&c);
}

static void errors_never_echo_secrets(void)
{
    expect_error("{\"cometapi\": {\"api_key\": \"sk has space\"}}",
                 "\"cometapi.api_key\": expected an API key without whitespace or control "
                 "characters, got [REDACTED]");
    expect_error("{\"exporter\": {\"otlp\": {\"headers\": {\"a\": \"x\\r\\ny\"}}}}",
                 "\"exporter.otlp.headers.a\": expected a header value without control "
                 "characters, got [REDACTED]");
    expect_error("{\"cometapi\": {\"api_key\": 12345678}}",
                 "\"cometapi.api_key\": expected a non-empty string, got a number");
}

static void edit_distance_and_reference(void)
{
    CHECK_EQ(sc_config_edit_distance("base_ulr", 8, "base_url", 8), 1);
    CHECK_EQ(sc_config_edit_distance("kitten", 6, "sitting", 7), 3);
    CHECK_EQ(sc_config_edit_distance("", 0, "abc", 3), 3);
    CHECK_EQ(sc_config_edit_distance("same", 4, "same", 4), 0);
    sc_buf b;
    sc_buf_init(&b, 1 << 16);
    REQUIRE(sc_config_write_reference(&b) == 0);
    CHECK(strstr(b.data, "health.max_connections (int 1..4096, default 64)") != NULL);
    CHECK(strstr(b.data, "cometapi.api_key (string, env COMETAPI_API_KEY, secret)") != NULL);
    CHECK(strstr(b.data, "exporter.otlp.compression (enum none|gzip, default none, env "
                         "OTEL_EXPORTER_OTLP_COMPRESSION)") != NULL);
    sc_buf_free(&b);
}

/* The in-memory source parses like the file (no NUL needed after the text). */
static void text_source_matches_the_file_layer(void)
{
    sc_config c;
    sc_config_error err;
    static const char text[] = "{\"log\": {\"level\": \"warn\"}} XYZ";
    sc_config_sources src = {.text = text, .text_len = sizeof text - 5};
    REQUIRE(sc_config_load(&src, &c, &err) == 0);
    CHECK_EQ(c.log.level, SC_LOG_WARN);
    sc_config_free(&c);
    src.text_len = sizeof text - 1; /* the trailing bytes are now part of it */
    CHECK_EQ(sc_config_load(&src, &c, &err), -EINVAL);
    CHECK_STR(err.msg, "config file \"<text>\": invalid JSON near line 1 column 28");
    src.text_len = 0;
    CHECK_EQ(sc_config_load(&src, &c, &err), -EINVAL);
    CHECK(strstr(err.msg, "invalid JSON near line 1 column 1") != NULL);
}

int main(void)
{
    RUN(defaults_are_complete);
    RUN(file_values_are_decoded);
    RUN(unknown_keys_get_suggestions);
    RUN(wrong_types_and_ranges_are_reported);
    RUN(health_endpoint_is_validated);
    RUN(file_errors_name_the_file);
    RUN(text_source_matches_the_file_layer);
    RUN(relations_are_checked);
    RUN(durations_and_sizes_parse);
    RUN(effective_config_redacts_secrets);
    RUN(errors_never_echo_secrets);
    RUN(edit_distance_and_reference);
    if (tmpdir[0] != '\0') {
        char p[128];
        snprintf(p, sizeof p, "%s/c.json", tmpdir);
        unlink(p);
        rmdir(tmpdir);
    }
    return sc_test_summary();
}
