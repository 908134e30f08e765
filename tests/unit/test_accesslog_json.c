/* test_accesslog_json.c - tests for accesslog/json_line (and the shared fields finish step) on
 * real lines written by nginx 1.22 (deploy/examples/nginx.conf llm_json), Caddy 2.6 and Istio's
 * Envoy JSON format, and for mappings from config. Malformed and edge cases are in
 * test_accesslog_json_edge.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accesslog/json_line.h"
#include "harness.h"

#define F(x) SC_ACCESSLOG_FIELD_##x
#define CHECK_V(f, fld, want)                                                                      \
    do {                                                                                           \
        const sc_accesslog_fields *f_ = (f);                                                       \
        char v_[512] = "(absent)";                                                                 \
        if (sc_accesslog_has(f_, F(fld)))                                                          \
            snprintf(v_, sizeof v_, "%.*s", (int)f_->v[F(fld)].n, f_->v[F(fld)].p);                \
        CHECK_STR(v_, want);                                                                       \
    } while (0)
#define S(x) ((int64_t)(x)*1000000000LL)

static sc_accesslog_fields fl; /* big (scratch): keep it off the stack */

static const sc_json_line_mapping *preset(const char *name)
{
    static sc_json_line_mapping maps[3];
    static const char *names[3] = {"nginx", "caddy", "envoy"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(name, names[i]) != 0)
            continue;
        sc_accesslog_error err = {0};
        if (sc_json_line_mapping_compile(sc_json_line_preset(name, strlen(name)), &maps[i], &err))
            return NULL;
        return &maps[i];
    }
    return NULL;
}

static int parse(const char *preset_name, const char *line)
{
    return sc_json_line_parse(preset(preset_name), line, strlen(line), &fl);
}

/* ---- nginx (real lines from deploy/examples/nginx.conf's llm_json, nginx 1.22.1) ------------ */

static const char nginx_ok[] =
    "{\"time\":\"2026-11-22T20:05:54+00:00\",\"request_id\":\"req-ok-1\",\"traceparent\":\"00-"
    "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\",\"method\":\"POST\",\"uri\":\"/v1/"
    "chat/completions\",\"status\":200,\"request_time\":0.004,\"upstream_status\":\"200\","
    "\"upstream_addr\":\"127.0.0.1:18081\",\"upstream_response_time\":\"0.003\",\"host\":\"127.0."
    "0.1\",\"server_addr\":\"127.0.0.1\",\"server_port\":18080,\"llm_model\":\"gpt-4o-mini-2024-"
    "07-18\",\"llm_input_tokens\":\"12\",\"llm_output_tokens\":\"34\",\"llm_retry_count\":\"\","
    "\"llm_fallback_reason\":\"\"}";

static const char nginx_fallback[] =
    "{\"time\":\"2026-11-22T20:05:54+00:00\",\"request_id\":\"dfef6deeac8c10b673a9b4c3280024f9\","
    "\"traceparent\":\"\",\"method\":\"POST\",\"uri\":\"/v1/chat/completions?api-version=2024-02-"
    "01&user=alice\",\"status\":200,\"request_time\":0.011,\"upstream_status\":\"503, 503 : 200\","
    "\"upstream_addr\":\"127.0.0.1:18082, 127.0.0.1:18081 : 127.0.0.1:18083\",\"upstream_"
    "response_time\":\"0.003, 0.004 : 0.004\",\"host\":\"127.0.0.1\",\"server_addr\":\"127.0.0.1\","
    "\"server_port\":18080,\"llm_model\":\"gpt-4o-mini-2024-07-18\",\"llm_input_tokens\":\"12\","
    "\"llm_output_tokens\":\"34\",\"llm_retry_count\":\"\",\"llm_fallback_reason\":\"upstream_"
    "error\"}";

/* A raw '"' and the bytes FF FE in the request target: escape=json writes \" and the raw bytes. */
static const char nginx_quotes_binary[] =
    "{\"time\":\"2026-11-22T20:05:56+00:00\",\"request_id\":\"08c9621b6091868346469be805dfdc4b\","
    "\"traceparent\":\"\",\"method\":\"GET\",\"uri\":\"/v1/files/a\\\"b?x=\\\"y\\\"&z=\xff\xfe\","
    "\"status\":200,\"request_time\":0.001,\"upstream_status\":\"200\",\"upstream_addr\":\"127.0."
    "0.1:18081\",\"upstream_response_time\":\"0.000\",\"host\":\"llm-gw.local\",\"server_addr\":"
    "\"127.0.0.1\",\"server_port\":18080,\"llm_model\":\"\",\"llm_input_tokens\":\"\",\"llm_output_"
    "tokens\":\"\",\"llm_retry_count\":\"\",\"llm_fallback_reason\":\"\"}";

/* Client closed the connection first: 499, and "-" for the upstream status. */
static const char nginx_499[] =
    "{\"time\":\"2026-11-22T20:05:57+00:00\",\"request_id\":\"8a4ed26e002b6ffe996d0462d960c36c\","
    "\"traceparent\":\"\",\"method\":\"POST\",\"uri\":\"/v1/chat/completions\",\"status\":499,"
    "\"request_time\":0.301,\"upstream_status\":\"-\",\"upstream_addr\":\"127.0.0.1:18082\","
    "\"upstream_response_time\":\"0.301\",\"host\":\"x\",\"server_addr\":\"127.0.0.1\",\"server_"
    "port\":18080,\"llm_model\":\"\",\"llm_input_tokens\":\"\",\"llm_output_tokens\":\"\",\"llm_"
    "retry_count\":\"\",\"llm_fallback_reason\":\"\"}";

/* A TLS ClientHello sent to the plain-HTTP port: no method, no URI. */
static const char nginx_tls_garbage[] =
    "{\"time\":\"2026-11-22T20:05:57+00:00\",\"request_id\":\"1c6be14f1f9f93fe87ec5cb9d29961ee\","
    "\"traceparent\":\"\",\"method\":\"\",\"uri\":\"\",\"status\":400,\"request_time\":0.001,"
    "\"upstream_status\":\"\",\"upstream_addr\":\"\",\"upstream_response_time\":\"\",\"host\":\"\","
    "\"server_addr\":\"127.0.0.1\",\"server_port\":18080,\"llm_model\":\"\",\"llm_input_tokens\":"
    "\"\",\"llm_output_tokens\":\"\",\"llm_retry_count\":\"\",\"llm_fallback_reason\":\"\"}";

static void nginx_preset_success_line(void)
{
    REQUIRE(parse("nginx", nginx_ok) == 0);
    CHECK_EQ(fl.reason, SC_ACCESSLOG_OK);
    CHECK_V(&fl, TIME, "2026-11-22T20:05:54+00:00");
    CHECK_EQ(fl.time_unix_ns, S(1795377954));
    CHECK_EQ(fl.time_is_start, 0);
    CHECK_V(&fl, REQUEST_ID, "req-ok-1");
    CHECK_V(&fl, TRACEPARENT, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    CHECK_V(&fl, METHOD, "POST");
    CHECK_V(&fl, PATH, "/v1/chat/completions");
    CHECK_V(&fl, REQUEST, "(absent)");
    CHECK_EQ(fl.status, 200);
    CHECK_EQ(fl.duration_ns, 4000000);
    CHECK(fl.duration_s > 0.00399 && fl.duration_s < 0.00401);
    CHECK_V(&fl, UPSTREAM_STATUS, "200");
    CHECK_V(&fl, UPSTREAM_ADDR, "127.0.0.1:18081");
    CHECK_V(&fl, HOST, "127.0.0.1");
    CHECK_V(&fl, SERVER_ADDR, "127.0.0.1");
    CHECK_EQ(fl.server_port, 18080);
    CHECK_V(&fl, MODEL, "gpt-4o-mini-2024-07-18");
    CHECK_EQ(fl.input_tokens, 12);
    CHECK_EQ(fl.output_tokens, 34);
    CHECK_V(&fl, RETRY_COUNT, "(absent)"); /* "" = header not sent */
    CHECK_V(&fl, FALLBACK_REASON, "(absent)");
    CHECK_V(&fl, USAGE_PRESENT, "(absent)");
    CHECK(fl.mapped & SC_ACCESSLOG_BIT(F(INPUT_TOKENS)));
    CHECK(!(fl.mapped & SC_ACCESSLOG_BIT(F(RESPONSE_FLAGS))));
}

static void nginx_preset_drops_query_and_keeps_lists(void)
{
    REQUIRE(parse("nginx", nginx_fallback) == 0);
    CHECK_V(&fl, PATH, "/v1/chat/completions");
    /* The query string is nowhere in the parsed record. */
    for (int i = 0; i < SC_ACCESSLOG_FIELD__COUNT; i++)
        if (sc_accesslog_has(&fl, (sc_accesslog_field)i))
            CHECK(memmem(fl.v[i].p, fl.v[i].n, "alice", 5) == NULL);
    CHECK_V(&fl, TRACEPARENT, "(absent)");
    CHECK_V(&fl, UPSTREAM_STATUS, "503, 503 : 200");
    CHECK_V(&fl, UPSTREAM_ADDR, "127.0.0.1:18082, 127.0.0.1:18081 : 127.0.0.1:18083");
    CHECK_V(&fl, FALLBACK_REASON, "upstream_error");
    CHECK_EQ(fl.duration_ns, 11000000);
}

static void nginx_preset_escaped_quotes_and_raw_bytes(void)
{
    REQUIRE(parse("nginx", nginx_quotes_binary) == 0);
    CHECK_V(&fl, PATH, "/v1/files/a\"b");
    CHECK_V(&fl, HOST, "llm-gw.local");
    CHECK_V(&fl, MODEL, "(absent)");
    CHECK_EQ(fl.input_tokens, 0);
}

static void nginx_preset_client_abort_and_garbage(void)
{
    REQUIRE(parse("nginx", nginx_499) == 0);
    CHECK_EQ(fl.status, 499);
    CHECK_V(&fl, UPSTREAM_STATUS, "(absent)"); /* "-" means no status was obtained */
    CHECK_V(&fl, UPSTREAM_ADDR, "127.0.0.1:18082");
    CHECK_EQ(parse("nginx", nginx_tls_garbage), -EBADMSG);
    CHECK_EQ(fl.reason, SC_ACCESSLOG_MISSING_REQUIRED);
    CHECK_EQ(fl.bad_field, F(METHOD));
    CHECK_STR(sc_accesslog_reason_name(fl.reason), "missing_required");
}

/* ---- Caddy (real lines from Caddy 2.6.2 `log { format json }` in front of reverse_proxy) ----- */

static const char caddy_ok[] =
    "{\"level\":\"info\",\"ts\":1795377971.924615,\"logger\":\"http.log.access.log0\",\"msg\":"
    "\"handled request\",\"request\":{\"remote_ip\":\"127.0.0.1\",\"remote_port\":\"50176\","
    "\"proto\":\"HTTP/1.1\",\"method\":\"POST\",\"host\":\"127.0.0.1:18090\",\"uri\":\"/v1/chat/"
    "completions\",\"headers\":{\"Content-Type\":[\"application/x-www-form-urlencoded\"],\"User-"
    "Agent\":[\"curl/7.88.1\"],\"Accept\":[\"*/*\"],\"Traceparent\":[\"00-4bf92f3577b34da6a3ce929d"
    "0e0e4736-00f067aa0ba902b7-01\"],\"X-Request-Id\":[\"req-caddy-1\"],\"Authorization\":[],"
    "\"Content-Length\":[\"2\"]}},\"user_id\":\"\",\"duration\":0.001983499,\"size\":32,\"status\":"
    "200,\"resp_headers\":{\"X-Llm-Model\":[\"gpt-4o-mini-2024-07-18\"],\"X-Llm-Input-Tokens\":"
    "[\"12\"],\"Server\":[\"Caddy\",\"BaseHTTP/0.6 Python/3.11.7\"],\"X-Llm-Output-Tokens\":"
    "[\"34\"],\"Date\":[\"Sun, 22 Nov 2026 20:06:11 GMT\"],\"Content-Type\":[\"application/json\"],"
    "\"Content-Length\":[\"32\"]}}";

static const char caddy_query[] =
    "{\"level\":\"info\",\"ts\":1795377971.9824553,\"logger\":\"http.log.access.log0\",\"msg\":"
    "\"handled request\",\"request\":{\"remote_ip\":\"127.0.0.1\",\"remote_port\":\"50178\","
    "\"proto\":\"HTTP/1.1\",\"method\":\"GET\",\"host\":\"127.0.0.1:18090\",\"uri\":\"/v1/models/"
    "gpt-4o?x=\\\"1\\\"\",\"headers\":{\"Accept\":[\"*/*\"],\"User-Agent\":[\"curl/7.88.1\"]}},"
    "\"user_id\":\"\",\"duration\":0.04439612,\"size\":32,\"status\":200,\"resp_headers\":"
    "{\"Server\":[\"Caddy\",\"BaseHTTP/0.6 Python/3.11.7\"],\"Date\":[\"Sun, 22 Nov 2026 20:06:11 "
    "GMT\"],\"Content-Type\":[\"application/json\"],\"Content-Length\":[\"32\"]}}";

static const char caddy_429[] =
    "{\"level\":\"error\",\"ts\":1795377972.0304527,\"logger\":\"http.log.access.log0\",\"msg\":"
    "\"handled request\",\"request\":{\"remote_ip\":\"127.0.0.1\",\"remote_port\":\"50190\","
    "\"proto\":\"HTTP/1.1\",\"method\":\"POST\",\"host\":\"127.0.0.1:18090\",\"uri\":\"/v1/"
    "embeddings\",\"headers\":{\"X-Fail-Primary\":[\"429\"],\"Content-Length\":[\"2\"],\"Content-"
    "Type\":[\"application/x-www-form-urlencoded\"],\"User-Agent\":[\"curl/7.88.1\"],\"Accept\":"
    "[\"*/*\"]}},\"user_id\":\"\",\"duration\":0.042091891,\"size\":32,\"status\":429,"
    "\"resp_headers\":{\"Date\":[\"Sun, 22 Nov 2026 20:06:11 GMT\"],\"Content-Type\":[\"applica"
    "tion/json\"],\"Content-Length\":[\"32\"],\"Server\":[\"Caddy\",\"BaseHTTP/0.6 "
    "Python/3.11.7\"]}}";

/* Caddy >= 2.7 shape (bytes_read, client_ip, tls, REDACTED credentials), status 0 when the
 * connection closed before a response was written, and an HTTP/2 request. */
static const char caddy_27_status0[] =
    "{\"level\":\"info\",\"ts\":1795377980.5,\"logger\":\"http.log.access\",\"msg\":\"handled "
    "request\",\"request\":{\"remote_ip\":\"10.1.2.3\",\"remote_port\":\"41342\",\"client_ip\":"
    "\"10.1.2.3\",\"proto\":\"HTTP/2.0\",\"method\":\"POST\",\"host\":\"llm.example.com\",\"uri\":"
    "\"/v1/responses\",\"headers\":{\"Authorization\":[\"REDACTED\"],\"X-Request-Id\":[\"a\","
    "\"b\"]},\"tls\":{\"resumed\":false,\"version\":772,\"cipher_suite\":4865,\"proto\":\"h2\","
    "\"server_name\":\"llm.example.com\"}},\"bytes_read\":0,\"user_id\":\"\",\"duration\":"
    "30.000125,\"size\":0,\"status\":0,\"resp_headers\":{}}";

static void caddy_preset_real_lines(void)
{
    REQUIRE(parse("caddy", caddy_ok) == 0);
    CHECK_EQ(fl.time_unix_ns, S(1795377971) + 924615000);
    CHECK_V(&fl, METHOD, "POST");
    CHECK_V(&fl, PATH, "/v1/chat/completions");
    CHECK_V(&fl, HOST, "127.0.0.1:18090");
    CHECK_V(&fl, TRACEPARENT, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    CHECK_V(&fl, REQUEST_ID, "req-caddy-1");
    CHECK_EQ(fl.status, 200);
    CHECK_EQ(fl.duration_ns, 1983499);
    CHECK_V(&fl, MODEL, "gpt-4o-mini-2024-07-18");
    CHECK_EQ(fl.input_tokens, 12);
    CHECK_EQ(fl.output_tokens, 34);
    CHECK_V(&fl, UPSTREAM_STATUS, "(absent)");

    REQUIRE(parse("caddy", caddy_query) == 0);
    CHECK_V(&fl, PATH, "/v1/models/gpt-4o");
    CHECK_V(&fl, TRACEPARENT, "(absent)");
    CHECK_EQ(fl.time_unix_ns, S(1795377971) + 982455300);
    CHECK_EQ(fl.duration_ns, 44396120);

    REQUIRE(parse("caddy", caddy_429) == 0);
    CHECK_EQ(fl.status, 429);
    CHECK_V(&fl, PATH, "/v1/embeddings");
    CHECK_V(&fl, MODEL, "(absent)");

    REQUIRE(parse("caddy", caddy_27_status0) == 0);
    CHECK_EQ(fl.status, 0);
    CHECK_V(&fl, REQUEST_ID, "a"); /* first value of a repeated header */
    CHECK_EQ(fl.duration_ns, 30000125000ULL);
    CHECK_V(&fl, HOST, "llm.example.com");
}

/* ---- Envoy (Istio's JSON access-log dictionary) -----------------------------------------------
 */

/* Envoy >= 1.18 typed output: numbers and null (line from an Istio 1.16 sidecar, no healthy
 * upstream). */
static const char envoy_typed[] =
    "{\"path\":\"/\",\"response_code\":503,\"method\":\"GET\",\"upstream_cluster\":\"outbound|80||"
    "envoydummy.chapter11.svc.cluster.local\",\"user_agent\":\"curl/7.86.0-DEV\",\"connection_"
    "termination_details\":null,\"authority\":\"envoydummy.chapter11\",\"x_forwarded_for\":null,"
    "\"upstream_transport_failure_reason\":null,\"downstream_local_address\":\"10.98.203.175:80\","
    "\"bytes_received\":0,\"requested_server_name\":null,\"response_code_details\":\"no_healthy_"
    "upstream\",\"upstream_service_time\":null,\"request_id\":\"4b39f4ca-ffe3-9c6a-a202-0650b0eea8"
    "ef\",\"route_name\":\"default\",\"upstream_local_address\":null,\"response_flags\":\"UH\","
    "\"protocol\":\"HTTP/1.1\",\"start_time\":\"2022-12-15T03:49:38.504Z\",\"duration\":0,"
    "\"upstream_host\":null,\"downstream_remote_address\":\"172.17.0.8:52180\",\"bytes_sent\":19}";

/* Older Envoy: every value a string, "-" for unset. */
static const char envoy_strings[] =
    "{\"requested_server_name\":\"-\",\"bytes_received\":\"0\",\"istio_policy_status\":\"-\","
    "\"bytes_sent\":\"178\",\"upstream_cluster\":\"outbound|9080|v1|details.default.svc.cluster."
    "local\",\"downstream_remote_address\":\"10.244.2.77:56892\",\"authority\":\"details:9080\","
    "\"path\":\"/details/0\",\"protocol\":\"HTTP/1.1\",\"upstream_service_time\":\"1\",\"upstream_"
    "local_address\":\"10.244.2.77:40778\",\"duration\":\"1\",\"upstream_transport_failure_"
    "reason\":\"-\",\"route_name\":\"-\",\"downstream_local_address\":\"10.96.64.99:9080\",\"user_"
    "agent\":\"Mozilla/5.0\",\"response_code\":\"200\",\"response_flags\":\"-\",\"start_time\":"
    "\"2020-09-30T03:22:42.267Z\",\"method\":\"GET\",\"request_id\":\"9bab4f77-f271-9d8b-9cf7-"
    "127055663144\",\"upstream_host\":\"10.244.2.75:9080\",\"x_forwarded_for\":\"-\"}";

static void envoy_preset_typed_and_string_values(void)
{
    REQUIRE(parse("envoy", envoy_typed) == 0);
    CHECK_EQ(fl.status, 503);
    CHECK_V(&fl, RESPONSE_FLAGS, "UH");
    CHECK_V(&fl, UPSTREAM_ADDR, "(absent)"); /* null */
    CHECK_V(&fl, HOST, "envoydummy.chapter11");
    CHECK_EQ(fl.time_unix_ns, S(1671076178) + 504000000);
    CHECK_EQ(fl.time_is_start, 1);
    CHECK_EQ(fl.duration_ns, 0);
    CHECK(sc_accesslog_has(&fl, F(DURATION)));

    REQUIRE(parse("envoy", envoy_strings) == 0);
    CHECK_EQ(fl.status, 200);
    CHECK_EQ(fl.duration_ns, 1000000); /* ms */
    CHECK_V(&fl, RESPONSE_FLAGS, "(absent)");
    CHECK_V(&fl, PATH, "/details/0");
    CHECK_V(&fl, UPSTREAM_ADDR, "10.244.2.75:9080");
    CHECK_V(&fl, REQUEST_ID, "9bab4f77-f271-9d8b-9cf7-127055663144");

    const char with_attempts[] =
        "{\"start_time\":\"2026-11-22T19:23:21.042Z\",\"method\":\"POST\",\"path\":\"/v1/chat/"
        "completions\",\"response_code\":200,\"duration\":1834,\"upstream_request_attempt_count\":"
        "3,\"traceparent\":\"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\"}";
    REQUIRE(parse("envoy", with_attempts) == 0);
    CHECK_EQ(fl.retry_count, 2);
    CHECK_EQ(fl.duration_ns, 1834000000ULL);
    CHECK_V(&fl, TRACEPARENT, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
}

/* ---- Mappings from config ------------------------------------------------------------------- */

static void custom_mapping_nested_and_formats(void)
{
    sc_json_line_spec spec = {0};
    spec.keys[F(TIME)] = "meta.ts_ms";
    spec.keys[F(REQUEST)] = "http.request\\.line"; /* a key that contains a dot */
    spec.keys[F(STATUS)] = "http.code";
    spec.keys[F(DURATION)] = "http.micros";
    spec.keys[F(USAGE_PRESENT)] = "llm.usage";
    spec.keys[F(MODEL)] = "llm.model";
    spec.time_format = SC_TIMESTAMP_EPOCH_MS;
    spec.duration_unit = SC_ACCESSLOG_DURATION_US;
    sc_json_line_mapping m;
    sc_accesslog_error err;
    REQUIRE(sc_json_line_mapping_compile(&spec, &m, &err) == 0);
    const char line[] = "{\"meta\":{\"ts_ms\":1795375401042,\"other\":[1,{\"x\":null}]},"
                        "\"http\":{\"request.line\":\"PUT /v1/files/file-abc?purpose=x HTTP/2.0\","
                        "\"code\":\"201\",\"micros\":2500},\"llm\":{\"usage\":false,"
                        "\"model\":\"m\\u00e9\\ud83d\\ude00\\n\"}}\n";
    REQUIRE(sc_json_line_parse(&m, line, strlen(line), &fl) == 0);
    CHECK_EQ(fl.time_unix_ns, S(1795375401) + 42000000);
    CHECK_V(&fl, METHOD, "PUT");
    CHECK_V(&fl, PATH, "/v1/files/file-abc");
    CHECK_EQ(fl.status, 201);
    CHECK_EQ(fl.duration_ns, 2500000);
    CHECK_EQ(fl.usage_present, 0);
    CHECK(sc_accesslog_has(&fl, F(USAGE_PRESENT)));
    CHECK_V(&fl, MODEL, "m\xc3\xa9\xf0\x9f\x98\x80\n");

    /* Custom required set: only status. */
    sc_json_line_spec minimal = {0};
    minimal.keys[F(STATUS)] = "s";
    minimal.required = SC_ACCESSLOG_BIT(F(STATUS));
    REQUIRE(sc_json_line_mapping_compile(&minimal, &m, &err) == 0);
    CHECK_EQ(sc_json_line_parse(&m, "{\"s\":204}", 9, &fl), 0);
    CHECK_EQ(fl.status, 204);
    CHECK_EQ(sc_json_line_parse(&m, "{\"t\":204}", 9, &fl), -EBADMSG);
    CHECK_EQ(fl.reason, SC_ACCESSLOG_MISSING_REQUIRED);
    CHECK_EQ(fl.bad_field, F(STATUS));
}

static void compile_errors_name_field_and_position(void)
{
    sc_json_line_mapping m;
    sc_accesslog_error err;
    sc_json_line_spec spec = *sc_json_line_preset("caddy", 5);

    spec.keys[F(MODEL)] = "resp_headers..X";
    CHECK_EQ(sc_json_line_mapping_compile(&spec, &m, &err), -EINVAL);
    CHECK_EQ(err.field, F(MODEL));
    CHECK_EQ(err.pos, 13);
    CHECK_STR(err.msg, "empty key in key path");

    spec.keys[F(MODEL)] = "a\\x";
    CHECK_EQ(sc_json_line_mapping_compile(&spec, &m, &err), -EINVAL);
    CHECK_EQ(err.pos, 1);

    spec.keys[F(MODEL)] = "status"; /* same path as STATUS */
    CHECK_EQ(sc_json_line_mapping_compile(&spec, &m, &err), -EINVAL);
    CHECK_STR(err.msg, "two fields map to the same key path");

    spec.keys[F(MODEL)] = "request.method.name"; /* through another field's value */
    CHECK_EQ(sc_json_line_mapping_compile(&spec, &m, &err), -EINVAL);
    CHECK_EQ(err.field, F(MODEL));

    spec.keys[F(MODEL)] = "request"; /* an object holding other fields */
    CHECK_EQ(sc_json_line_mapping_compile(&spec, &m, &err), -EINVAL);

    spec.keys[F(MODEL)] = NULL;
    spec.keys[F(STATUS)] = "";
    CHECK_EQ(sc_json_line_mapping_compile(&spec, &m, &err), -EINVAL);
    CHECK_STR(err.msg, "required field is not mapped");
    CHECK_EQ(err.field, F(STATUS));

    sc_json_line_spec big = {0};
    char keys[SC_ACCESSLOG_FIELD__COUNT][300];
    for (int i = 0; i < SC_ACCESSLOG_FIELD__COUNT; i++) {
        memset(keys[i], 'a' + i, 250);
        snprintf(keys[i] + 250, 50, ".x.y");
        big.keys[i] = keys[i];
    }
    CHECK_EQ(sc_json_line_mapping_compile(&big, &m, &err), -E2BIG);
    sc_json_line_spec bad_fmt = *sc_json_line_preset("nginx", 5);
    bad_fmt.time_format = SC_TIMESTAMP__COUNT;
    CHECK_EQ(sc_json_line_mapping_compile(&bad_fmt, &m, &err), -EINVAL);
    CHECK(sc_json_line_preset("apache", 6) == NULL);
}

int main(void)
{
    RUN(nginx_preset_success_line);
    RUN(nginx_preset_drops_query_and_keeps_lists);
    RUN(nginx_preset_escaped_quotes_and_raw_bytes);
    RUN(nginx_preset_client_abort_and_garbage);
    RUN(caddy_preset_real_lines);
    RUN(envoy_preset_typed_and_string_values);
    RUN(custom_mapping_nested_and_formats);
    RUN(compile_errors_name_field_and_position);
    return sc_test_summary();
}
