/* test_accesslog_observer_layout.c - tests for accesslog/layout (the access_log configuration
 * compiled into a parser and routes, and its errors as configuration errors) and
 * accesslog/line_record (one parsed line -> the attempt record the recorder gets). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accesslog/layout.h"
#include "accesslog/line_record.h"
#include "config/config.h"
#include "config_sets.h"
#include "harness.h"

#define NOW 1795377971000000000ull

static sc_accesslog_fields fields;

/* Loads a config from sets; NULL (and the error in err) when it is refused. */
static sc_config *load(const char *const *sets, size_t n, char *err, size_t cap)
{
    sc_config *c = NULL;
    err[0] = '\0';
    if (sc_test_config_load(&c, NULL, sets, n, err, cap) != 0)
        return NULL;
    return c;
}

static void expect_config_error(const char *const *sets, size_t n, const char *want)
{
    char err[512];
    sc_config *c = load(sets, n, err, sizeof err);
    CHECK(c == NULL);
    if (strstr(err, want) == NULL) {
        fprintf(stderr, "  got: %s\n  want: %s\n", err, want);
        CHECK(0);
    }
    sc_test_config_free(c);
}

/* Compiles the layout of a config loaded from sets. */
static int compile(const char *const *sets, size_t n, sc_accesslog_layout *l)
{
    char err[512];
    sc_config *c = load(sets, n, err, sizeof err);
    if (c == NULL) {
        fprintf(stderr, "  config: %s\n", err);
        return -1;
    }
    int rc = sc_accesslog_layout_compile(&c->access_log, l, err, sizeof err);
    sc_test_config_free(c);
    return rc;
}

static int parse(const sc_accesslog_layout *l, const char *line)
{
    return sc_accesslog_layout_parse(l, line, strlen(line), &fields);
}

static int attr_is(sc_attr_str s, const char *want)
{
    return want == NULL ? s.len == 0 : (s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0);
}

static const char nginx_line[] =
    "{\"time\":\"2026-11-22T20:06:11+00:00\",\"request_id\":\"req-42\","
    "\"traceparent\":\"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\","
    "\"method\":\"POST\",\"uri\":\"/v1/chat/completions?api_key=sk-secret&user=bob\","
    "\"status\":200,\"request_time\":1.250,\"upstream_status\":\"503, 502, 200\","
    "\"upstream_addr\":\"10.0.0.1:443, 10.0.0.2:443, 10.0.0.1:443\","
    "\"upstream_response_time\":\"0.1, 0.1, 1.0\",\"host\":\"llm-gw:8080\","
    "\"server_addr\":\"10.1.0.5\",\"server_port\":8080,\"llm_model\":\"gpt-4o-mini-2024-07-18\","
    "\"llm_input_tokens\":\"12\",\"llm_output_tokens\":\"34\",\"llm_retry_count\":\"\","
    "\"llm_fallback_reason\":\"\"}";

static void value_lists_match_the_parsers(void)
{
    const char *const *tf = sc_accesslog_layout_time_formats;
    const char *const *du = sc_accesslog_layout_duration_units;
    const char *const *op = sc_accesslog_layout_operations;
    for (int i = 0; i < SC_TIMESTAMP__COUNT; i++) {
        const char *name = sc_timestamp_format_name((sc_timestamp_format)i);
        CHECK_STR(tf[i], name);
    }
    CHECK(tf[SC_TIMESTAMP__COUNT] == NULL);
    for (int i = 0; i < SC_ACCESSLOG_DURATION__COUNT; i++) {
        const char *name = sc_accesslog_duration_unit_name((sc_accesslog_duration_unit)i);
        CHECK_STR(du[i], name);
    }
    CHECK(du[SC_ACCESSLOG_DURATION__COUNT] == NULL);
    for (int i = 0; op[i] != NULL; i++) {
        const char *norm = sc_schema_gen_ai_operation(op[i], strlen(op[i]));
        CHECK_STR(op[i], norm);
    }
    CHECK_STR(sc_accesslog_layout_formats[0], "nginx_json");
    CHECK_STR(sc_accesslog_layout_formats[4], "nginx");
}

static void defaults_follow_the_nginx_json_preset(void)
{
    static sc_accesslog_layout l;
    char err[512];
    sc_config *c = load(NULL, 0, err, sizeof err);
    REQUIRE(c != NULL);
    CHECK(c->access_log.path == NULL);
    CHECK_EQ(c->access_log.format, SC_ACCESS_LOG_NGINX_JSON);
    CHECK_EQ(c->access_log.start_position, SC_ACCESS_LOG_START_END);
    CHECK_EQ(c->access_log.max_line_bytes, 32 * 1024);
    CHECK_EQ(c->access_log.poll_interval_ms, 250);
    CHECK_EQ(c->access_log.partial_flush_ms, 5000);
    CHECK_EQ(c->access_log.time_format, -1);
    CHECK(c->access_log.span_sampling_ratio == 1.0);
    CHECK_EQ(sc_accesslog_layout_compile(&c->access_log, &l, err, sizeof err), 0);
    sc_test_config_free(c);
    CHECK_EQ(l.is_nginx, 0);
    REQUIRE(parse(&l, nginx_line) == 0);
    CHECK_EQ(fields.status, 200);
    CHECK(fields.v[SC_ACCESSLOG_FIELD_PATH].n == strlen("/v1/chat/completions"));
}

static void json_fields_map_any_layout_and_override_presets(void)
{
    static sc_accesslog_layout l;
    const char *sets[] = {"access_log.format=json",
                          "access_log.json_fields.method=req.verb",
                          "access_log.json_fields.path=req.path",
                          "access_log.json_fields.status=res.code",
                          "access_log.json_fields.time=at",
                          "access_log.json_fields.duration=took_ms",
                          "access_log.duration_unit=ms",
                          "access_log.time_format=epoch_ms",
                          "access_log.time_marks=start",
                          "access_log.json_fields.retry_count=tries",
                          "access_log.retry_count_counts=attempts"};
    REQUIRE(compile(sets, sizeof sets / sizeof sets[0], &l) == 0);
    REQUIRE(parse(&l, "{\"at\":1795377971000,\"took_ms\":250,\"tries\":3,"
                      "\"req\":{\"verb\":\"POST\",\"path\":\"/v1/embeddings\"},"
                      "\"res\":{\"code\":429}}") == 0);
    CHECK_EQ(fields.status, 429);
    CHECK_EQ(fields.duration_ns, 250000000ull);
    CHECK_EQ(fields.time_unix_ns, 1795377971000000000ll);
    CHECK_EQ(fields.time_is_start, 1);
    CHECK_EQ(fields.retry_count, 2);

    /* One key of the caddy preset replaced. */
    const char *caddy[] = {"access_log.format=caddy",
                           "access_log.json_fields.request_id=request.headers.X-Correlation-Id"};
    REQUIRE(compile(caddy, 2, &l) == 0);
    REQUIRE(parse(&l, "{\"ts\":1795377971.5,\"duration\":0.01,\"status\":200,\"request\":{"
                      "\"method\":\"GET\",\"uri\":\"/v1/models\",\"headers\":{"
                      "\"X-Correlation-Id\":[\"corr-7\"],\"X-Request-Id\":[\"other\"]}}}") == 0);
    CHECK(fields.v[SC_ACCESSLOG_FIELD_REQUEST_ID].n == 6 &&
          memcmp(fields.v[SC_ACCESSLOG_FIELD_REQUEST_ID].p, "corr-7", 6) == 0);
}

static void nginx_text_formats_compile_from_a_pasted_directive(void)
{
    static sc_accesslog_layout l;
    const char *sets[] = {
        "access_log.format=nginx",
        "access_log.nginx_log_format=log_format up '$remote_addr [$time_local] \"$request\" "
        "$status $request_time \"$upstream_status\"';"};
    REQUIRE(compile(sets, 2, &l) == 0);
    CHECK_EQ(l.is_nginx, 1);
    REQUIRE(parse(&l, "10.0.0.9 [22/Nov/2026:20:06:11 +0000] \"POST /v1/responses?x=1 HTTP/1.1\" "
                      "200 0.731 \"502, 200\"") == 0);
    CHECK_EQ(fields.status, 200);
    CHECK(sc_accesslog_has(&fields, SC_ACCESSLOG_FIELD_UPSTREAM_STATUS));
    /* Without nginx_log_format: nginx's combined. */
    const char *combined[] = {"access_log.format=nginx"};
    REQUIRE(compile(combined, 1, &l) == 0);
    CHECK_EQ(parse(&l, "10.1.2.3 - - [22/Nov/2026:20:05:54 +0000] \"GET /v1/models HTTP/1.1\" 200 "
                       "15 \"-\" \"curl/8\""),
             0);
}

static void mistakes_are_configuration_errors_naming_the_key(void)
{
    const char *a[] = {"access_log.format=nginx", "access_log.nginx_log_format=$remote_addr ${x"};
    expect_config_error(a, 2, "\"access_log.nginx_log_format\": unterminated ${ at byte");
    const char *b[] = {"access_log.format=json", "access_log.json_fields.status=s"};
    expect_config_error(b, 2, "\"access_log.json_fields\": required field is not mapped: method");
    const char *c[] = {"access_log.json_fields.colour=c"};
    expect_config_error(c, 1, "expected a field name: time method path");
    const char *d[] = {"access_log.format=json", "access_log.json_fields.method=m",
                       "access_log.json_fields.path=p", "access_log.json_fields.status=a..b"};
    expect_config_error(d, 4, "\"access_log.json_fields.status\": empty key in key path at byte 2");
    const char *e[] = {"access_log.routes.0.template=/v1/files/{id}",
                       "access_log.routes.1.template=v1/nope"};
    expect_config_error(e, 2, "\"access_log.routes[1].template\": template must start with '/'");
    const char *f[] = {"access_log.nginx_log_format=$status"};
    expect_config_error(f, 1, "\"access_log.nginx_log_format\": only for format nginx");
    const char *g[] = {"access_log.format=nginx", "access_log.time_format=rfc3339"};
    expect_config_error(g, 2, "\"access_log.time_format\": only for JSON formats");
    const char *h[] = {"access_log.span_sampling_ratio=1.5"};
    expect_config_error(h, 1, "expected a number from 0 to 1");
    const char *i[] = {"access_log.span_sampling_ratio=0.25"};
    char err[512];
    sc_config *cfg = load(i, 1, err, sizeof err);
    REQUIRE(cfg != NULL);
    CHECK(cfg->access_log.span_sampling_ratio == 0.25);
    sc_test_config_free(cfg);
}

static void user_routes_come_first(void)
{
    static sc_accesslog_layout l;
    const char *sets[] = {
        "access_log.routes.0.template=/openai/deployments/{deployment}/chat/completions",
        "access_log.routes.0.operation=chat", "access_log.routes.0.model_not_found_on_404=true",
        "access_log.routes.1.template=/v1/chat/{anything}"};
    REQUIRE(compile(sets, 4, &l) == 0);
    const char p1[] = "/openai/deployments/gpt4o-eu/chat/completions";
    int i = sc_derive_route_match(&l.routes, p1, strlen(p1));
    REQUIRE(i == 0);
    /* The user's broader template wins over the built-in /v1/chat/completions. */
    CHECK_EQ(sc_derive_route_match(&l.routes, "/v1/chat/completions", 20), 1);
    CHECK(sc_derive_route_match(&l.routes, "/v1/embeddings", 14) > 1);
}

static void a_line_becomes_a_server_span_record(void)
{
    static sc_accesslog_layout l;
    REQUIRE(compile(NULL, 0, &l) == 0);
    REQUIRE(parse(&l, nginx_line) == 0);
    sc_line_record lr;
    sc_line_record_build(&l.routes, &fields, 77, NOW, &lr);
    const sc_attempt_record *r = &lr.rec;
    CHECK_EQ(r->source, SC_SOURCE_ACCESS_LOG);
    CHECK_EQ(r->kind, SC_SPAN_KIND_SERVER);
    CHECK_EQ(r->source_seq, 77);
    CHECK(attr_is(r->method, "POST"));
    CHECK(attr_is(r->route, "/v1/chat/completions"));
    CHECK_EQ(r->status_code, 200);
    CHECK_EQ(r->error_class, SC_ERROR_CLASS_NONE);
    CHECK(r->error_type.len == 0);
    CHECK_EQ(r->resend_count, 2); /* "503, 502, 200": two retries */
    CHECK_EQ(r->fallback, SC_FALLBACK_NOT_NEEDED);
    CHECK(attr_is(r->operation, "chat"));
    CHECK(attr_is(r->response_model, "gpt-4o-mini-2024-07-18"));
    CHECK(r->request_model.len == 0);
    CHECK_EQ(r->usage_present, 1);
    CHECK_EQ(r->usage_unknown, 0);
    CHECK_EQ(r->input_tokens, 12);
    CHECK_EQ(r->output_tokens, 34);
    CHECK(attr_is(r->server_address, "llm-gw"));
    CHECK_EQ(r->server_port, 8080);
    CHECK(attr_is(r->upstream_request_id, "req-42"));
    /* 2026-11-22T20:06:11Z ends it; 1.250 s before starts it. */
    CHECK_EQ(r->end_ns, 1795377971000000000ull);
    CHECK_EQ(r->start_ns, 1795377969750000000ull);
    REQUIRE(r->has_parent);
    CHECK_EQ(r->parent_is_remote, 1);
    CHECK_EQ(r->parent.trace_id[0], 0x4b);
    CHECK_EQ(r->parent.span_id[7], 0xb7);
    CHECK_EQ(r->parent.trace_flags, 1);
    CHECK(!r->has_span);
}

static void failures_fallbacks_and_unknowns(void)
{
    static sc_accesslog_layout l;
    sc_line_record lr;
    REQUIRE(compile(NULL, 0, &l) == 0);
    /* A failed group handed to @fallback (" : "), no usage headers, an unknown route with a
     * query string, a bad traceparent and no time. */
    REQUIRE(parse(&l, "{\"method\":\"POST\",\"uri\":\"/internal/debug/users/42?token=abc\","
                      "\"status\":503,\"upstream_status\":\"503, 503 : 503\",\"request_time\":0.2,"
                      "\"traceparent\":\"00-zz-00\",\"host\":\"[::1]:9000\"}") == 0);
    sc_line_record_build(&l.routes, &fields, 1, NOW, &lr);
    CHECK(lr.rec.route.len == 0); /* never the path */
    CHECK(attr_is(lr.rec.error_type, "503"));
    CHECK_EQ(lr.rec.error_class, SC_ERROR_CLASS_UPSTREAM_ERROR);
    CHECK_EQ(lr.rec.fallback, SC_FALLBACK_USED);
    CHECK(attr_is(lr.rec.fallback_reason, "upstream_error"));
    CHECK_EQ(lr.rec.resend_count, 2);
    CHECK(!lr.rec.has_parent);
    CHECK_EQ(lr.rec.end_ns, NOW);
    CHECK_EQ(lr.rec.start_ns, NOW - 200000000ull);
    CHECK(attr_is(lr.rec.server_address, "::1"));
    CHECK_EQ(lr.rec.server_port, 9000);
    CHECK(lr.rec.operation.len == 0);
    CHECK_EQ(lr.rec.usage_present, 0);
    CHECK_EQ(lr.rec.usage_unknown, 0); /* the preset maps usage: absent, not unknown */

    /* combined: no usage fields at all -> unknown, never "missing". */
    const char *sets[] = {"access_log.format=nginx"};
    REQUIRE(compile(sets, 1, &l) == 0);
    REQUIRE(parse(&l, "10.1.2.3 - - [22/Nov/2026:20:05:54 +0000] \"POST /v1/chat/completions "
                      "HTTP/1.1\" 200 15 \"-\" \"curl/8\"") == 0);
    sc_line_record_build(&l.routes, &fields, 2, NOW, &lr);
    CHECK_EQ(lr.rec.usage_unknown, 1);
    CHECK(!sc_record_attempt_usage_missing(&lr.rec));
    CHECK(sc_record_attempt_plain_success(&lr.rec));
    CHECK_EQ(lr.rec.end_ns, 1795377954000000000ull);
    CHECK_EQ(lr.rec.start_ns, lr.rec.end_ns); /* combined logs no duration */
}

static void only_safe_text_is_copied(void)
{
    static sc_accesslog_layout l;
    sc_line_record lr;
    REQUIRE(compile(NULL, 0, &l) == 0);
    /* Invalid UTF-8 in the model, a control character in the request id (JSON-escaped), an
     * odd method and an oversized host. */
    char host[400];
    memset(host, 'h', sizeof host - 1);
    host[sizeof host - 1] = '\0';
    char line[1024];
    snprintf(line, sizeof line,
             "{\"method\":\"PO ST\",\"uri\":\"/v1/models\",\"status\":200,"
             "\"llm_model\":\"gpt-\xc3\x28\",\"request_id\":\"a\\u0007b\",\"host\":\"%s\"}",
             host);
    REQUIRE(parse(&l, line) == 0);
    sc_line_record_build(&l.routes, &fields, 3, NOW, &lr);
    CHECK(lr.rec.method.len == 0);
    CHECK(lr.rec.response_model.len == 0);
    CHECK(lr.rec.upstream_request_id.len == 0);
    CHECK(lr.rec.server_address.len == 0);

    CHECK(sc_line_record_safe_text("gpt-4o \xe2\x9c\x93", 10, 64));
    CHECK(!sc_line_record_safe_text("\xed\xa0\x80", 3, 64));     /* a surrogate */
    CHECK(!sc_line_record_safe_text("\xc0\xaf", 2, 64));         /* overlong */
    CHECK(!sc_line_record_safe_text("\xc2\x85", 2, 64));         /* C1 control */
    CHECK(!sc_line_record_safe_text("\xf4\x90\x80\x80", 4, 64)); /* above U+10FFFF */
    CHECK(!sc_line_record_safe_text("abc", 3, 2));
    CHECK(!sc_line_record_safe_text("", 0, 2));
}

int main(void)
{
    RUN(value_lists_match_the_parsers);
    RUN(defaults_follow_the_nginx_json_preset);
    RUN(json_fields_map_any_layout_and_override_presets);
    RUN(nginx_text_formats_compile_from_a_pasted_directive);
    RUN(mistakes_are_configuration_errors_naming_the_key);
    RUN(user_routes_come_first);
    RUN(a_line_becomes_a_server_span_record);
    RUN(failures_fallbacks_and_unknowns);
    RUN(only_safe_text_is_copied);
    return sc_test_summary();
}
