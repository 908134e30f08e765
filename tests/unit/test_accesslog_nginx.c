/* test_accesslog_nginx.c - tests for accesslog/nginx_format: real lines written by nginx 1.22.1
 * with the built-in combined format, an ingress-nginx style format (unquoted upstream lists), a
 * JSON layout with default escaping and deploy/examples/nginx.conf's escape=json directive
 * (cross-checked against the JSON parser); compile errors with positions; layout mismatches. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accesslog/json_line.h"
#include "accesslog/nginx_format.h"
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

static sc_accesslog_fields fl, fl2;
static sc_nginx_format fmt;

static int compile(const char *text, sc_nginx_escape esc)
{
    sc_accesslog_error err = {0};
    int rc = sc_nginx_format_compile(text, strlen(text), esc, &fmt, &err);
    if (rc < 0) {
        char m[200];
        snprintf(m, sizeof m, "compile: %s at %zu", err.msg, err.pos);
        sc_test_fail(__FILE__, __LINE__, m);
    }
    return rc;
}

static int parse(const char *line)
{
    return sc_nginx_format_parse(&fmt, line, strlen(line), &fl);
}

/* ---- combined ----------------------------------------------------------------------------------
 */

static const char *const combined_lines[] = {
    "127.0.0.1 - - [22/Nov/2026:20:05:54 +0000] \"POST /v1/chat/completions HTTP/1.1\" 200 32 "
    "\"-\" \"curl/7.88.1\"",
    "127.0.0.1 - - [22/Nov/2026:20:05:54 +0000] \"POST /v1/chat/completions?api-version=2024-02-"
    "01&user=alice HTTP/1.1\" 200 33 \"-\" \"curl/7.88.1\"",
    "127.0.0.1 - - [22/Nov/2026:20:05:56 +0000] \"POST /v1/chat/completions HTTP/1.1\" 400 32 "
    "\"-\" \"ua \\x22quoted\\x22 \\x5C back\"",
    "127.0.0.1 - - [22/Nov/2026:20:05:56 +0000] \"GET /v1/files/a\\x22b?x=\\x22y\\x22&z=\\xFF\\xFE "
    "HTTP/1.1\" 200 32 \"-\" \"raw\\x01client\"",
    "127.0.0.1 - - [22/Nov/2026:20:05:57 +0000] \"POST /v1/chat/completions HTTP/1.1\" 499 0 "
    "\"-\" \"-\"",
    /* A TLS ClientHello on the plain port: nginx escapes the bytes, there is no request line. */
    "127.0.0.1 - - [22/Nov/2026:20:05:57 +0000] "
    "\"\\x16\\x03\\x01\\x00\\xA5\\x01\\x00\\x00\\xA1\\x03"
    "\\x03\" 400 157 \"-\" \"-\"",
};

static void combined_real_lines(void)
{
    REQUIRE(compile(SC_NGINX_FORMAT_COMBINED, SC_NGINX_ESCAPE_DEFAULT) == 0);
    REQUIRE(parse(combined_lines[0]) == 0);
    CHECK_EQ(fl.time_unix_ns, S(1795377954));
    CHECK_V(&fl, TIME, "22/Nov/2026:20:05:54 +0000");
    CHECK_V(&fl, REQUEST, "POST /v1/chat/completions HTTP/1.1");
    CHECK_V(&fl, METHOD, "POST");
    CHECK_V(&fl, PATH, "/v1/chat/completions");
    CHECK_EQ(fl.status, 200);
    CHECK_V(&fl, DURATION, "(absent)");
    CHECK_V(&fl, UPSTREAM_STATUS, "(absent)");
    CHECK(!(fl.mapped & SC_ACCESSLOG_BIT(F(INPUT_TOKENS))));

    REQUIRE(parse(combined_lines[1]) == 0);
    CHECK_V(&fl, PATH, "/v1/chat/completions");
    for (int i = 0; i < SC_ACCESSLOG_FIELD__COUNT; i++)
        if (sc_accesslog_has(&fl, (sc_accesslog_field)i) && i != F(REQUEST))
            CHECK(memmem(fl.v[i].p, fl.v[i].n, "alice", 5) == NULL);

    REQUIRE(parse(combined_lines[2]) == 0); /* escaped quotes inside a quoted variable */
    CHECK_EQ(fl.status, 400);
    CHECK_V(&fl, PATH, "/v1/chat/completions");

    REQUIRE(parse(combined_lines[3]) == 0); /* \x22 and raw bytes in the target, decoded */
    CHECK_V(&fl, PATH, "/v1/files/a\"b");
    CHECK_V(&fl, REQUEST, "GET /v1/files/a\"b?x=\"y\"&z=\xff\xfe HTTP/1.1");

    REQUIRE(parse(combined_lines[4]) == 0);
    CHECK_EQ(fl.status, 499);

    CHECK_EQ(parse(combined_lines[5]), -EBADMSG);
    CHECK_EQ(fl.reason, SC_ACCESSLOG_BAD_REQUEST_LINE);
    CHECK_EQ(fl.bad_field, F(REQUEST));
}

/* ---- ingress-nginx style: unquoted upstream lists -------------------------------------------- */

#define INGRESS_FORMAT                                                                             \
    "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent "             \
    "\"$http_referer\" \"$http_user_agent\" $request_length $request_time $upstream_addr "         \
    "$upstream_response_length $upstream_response_time $upstream_status $request_id"

static void ingress_style_unquoted_lists(void)
{
    REQUIRE(compile(INGRESS_FORMAT, SC_NGINX_ESCAPE_DEFAULT) == 0);
    REQUIRE(parse("127.0.0.1 - - [22/Nov/2026:20:05:54 +0000] \"POST /v1/chat/completions?api-"
                  "version=2024-02-01&user=alice HTTP/1.1\" 200 33 \"-\" \"curl/7.88.1\" 224 0.011 "
                  "127.0.0.1:18082, 127.0.0.1:18081 : 127.0.0.1:18083 0, 0 : 33 0.003, 0.004 : "
                  "0.004 503, 503 : 200 dfef6deeac8c10b673a9b4c3280024f9") == 0);
    CHECK_V(&fl, UPSTREAM_ADDR, "127.0.0.1:18082, 127.0.0.1:18081 : 127.0.0.1:18083");
    CHECK_V(&fl, UPSTREAM_STATUS, "503, 503 : 200");
    CHECK_V(&fl, REQUEST_ID, "dfef6deeac8c10b673a9b4c3280024f9");
    CHECK_EQ(fl.duration_ns, 11000000);
    CHECK_V(&fl, PATH, "/v1/chat/completions");

    REQUIRE(
        parse("127.0.0.1 - - [22/Nov/2026:20:05:54 +0000] \"POST /dead/v1/chat/completions "
              "HTTP/1.1\" 200 32 \"-\" \"curl/7.88.1\" 174 0.001 127.0.0.1:18089, 127.0.0.1:18082"
              " 0, 32 0.000, 0.001 502, 200 288b1b8961d4fa431c3ce43ae9913587") == 0);
    CHECK_V(&fl, UPSTREAM_STATUS, "502, 200");
    CHECK_V(&fl, UPSTREAM_ADDR, "127.0.0.1:18089, 127.0.0.1:18082");

    REQUIRE(parse("127.0.0.1 - - [22/Nov/2026:20:05:57 +0000] \"POST /v1/chat/completions "
                  "HTTP/1.1\" 499 0 \"-\" \"-\" 90 0.301 127.0.0.1:18082 0 0.301 - "
                  "8a4ed26e002b6ffe996d0462d960c36c") == 0);
    CHECK_V(&fl, UPSTREAM_STATUS, "(absent)");
    CHECK_V(&fl, UPSTREAM_ADDR, "127.0.0.1:18082");
    CHECK_EQ(fl.duration_ns, 301000000);
}

/* ---- A JSON layout written with default escaping (\xHH inside JSON strings) ------------------ */

static void json_layout_with_default_escaping(void)
{
    REQUIRE(compile("{\"t\":\"$msec\",\"m\":\"$request_method\",\"u\":\"$request_uri\",\"s\":"
                    "\"$status\",\"rt\":\"$request_time\",\"us\":\"$upstream_status\",\"tp\":"
                    "\"$http_traceparent\"}",
                    SC_NGINX_ESCAPE_DEFAULT) == 0);
    REQUIRE(parse("{\"t\":\"1795377954.463\",\"m\":\"POST\",\"u\":\"/v1/chat/completions\",\"s\":"
                  "\"200\",\"rt\":\"0.004\",\"us\":\"200\",\"tp\":\"00-4bf92f3577b34da6a3ce929d0e0e"
                  "4736-00f067aa0ba902b7-01\"}") == 0);
    CHECK_EQ(fl.time_unix_ns, S(1795377954) + 463000000);
    CHECK_V(&fl, TRACEPARENT, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    CHECK_EQ(fl.status, 200);
    REQUIRE(parse("{\"t\":\"1795377956.631\",\"m\":\"GET\",\"u\":\"/v1/files/a\\x22b?x=\\x22y\\x22&"
                  "z=\\xFF\\xFE\",\"s\":\"200\",\"rt\":\"0.001\",\"us\":\"200\",\"tp\":\"-\"}") ==
            0);
    CHECK_V(&fl, PATH, "/v1/files/a\"b");
    CHECK_V(&fl, TRACEPARENT, "(absent)");
    CHECK_EQ(
        parse("{\"t\":\"1795377957.125\",\"m\":\"-\",\"u\":\"-\",\"s\":\"400\",\"rt\":\"0.001\","
              "\"us\":\"-\",\"tp\":\"-\"}"),
        -EBADMSG);
    CHECK_EQ(fl.reason, SC_ACCESSLOG_MISSING_REQUIRED);
}

/* ---- The escape=json directive of deploy/examples/nginx.conf, pasted as is ----------------------
 */

static const char llm_json_directive[] =
    "    log_format llm_json escape=json\n"
    "        '{'\n"
    "            '\"time\":\"$time_iso8601\",'\n"
    "            '\"request_id\":\"$llm_request_id\",'\n"
    "            '\"traceparent\":\"$http_traceparent\",'\n"
    "            '\"method\":\"$request_method\",'\n"
    "            '\"uri\":\"$request_uri\",'\n"
    "            '\"status\":$status,'\n"
    "            '\"request_time\":$request_time,'\n"
    "            '\"upstream_status\":\"$upstream_status\",'\n"
    "            '\"upstream_addr\":\"$upstream_addr\",'\n"
    "            '\"upstream_response_time\":\"$upstream_response_time\",'\n"
    "            '\"host\":\"$host\",'\n"
    "            '\"server_addr\":\"$server_addr\",'\n"
    "            '\"server_port\":$server_port,'\n"
    "            '\"llm_model\":\"$upstream_http_x_llm_model\",'\n"
    "            '\"llm_input_tokens\":\"$upstream_http_x_llm_input_tokens\",'\n"
    "            '\"llm_output_tokens\":\"$upstream_http_x_llm_output_tokens\",'\n"
    "            '\"llm_retry_count\":\"$upstream_http_x_llm_retry_count\",'\n"
    "            '\"llm_fallback_reason\":\"$upstream_http_x_llm_fallback_reason\"'\n"
    "        '}';\n";

/* Real lines of that format (nginx 1.22.1): success, fallback after 503s, escaped quotes and
 * raw bytes in the URI, client abort. */
static const char *const llm_lines[] = {
    "{\"time\":\"2026-11-22T20:05:54+00:00\",\"request_id\":\"req-ok-1\",\"traceparent\":\"00-"
    "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\",\"method\":\"POST\",\"uri\":\"/v1/"
    "chat/completions\",\"status\":200,\"request_time\":0.004,\"upstream_status\":\"200\","
    "\"upstream_addr\":\"127.0.0.1:18081\",\"upstream_response_time\":\"0.003\",\"host\":\"127.0."
    "0.1\",\"server_addr\":\"127.0.0.1\",\"server_port\":18080,\"llm_model\":\"gpt-4o-mini-2024-"
    "07-18\",\"llm_input_tokens\":\"12\",\"llm_output_tokens\":\"34\",\"llm_retry_count\":\"\","
    "\"llm_fallback_reason\":\"\"}",
    "{\"time\":\"2026-11-22T20:05:54+00:00\",\"request_id\":\"dfef6deeac8c10b673a9b4c3280024f9\","
    "\"traceparent\":\"\",\"method\":\"POST\",\"uri\":\"/v1/chat/completions?api-version=2024-02-"
    "01&user=alice\",\"status\":200,\"request_time\":0.011,\"upstream_status\":\"503, 503 : 200\","
    "\"upstream_addr\":\"127.0.0.1:18082, 127.0.0.1:18081 : 127.0.0.1:18083\",\"upstream_"
    "response_time\":\"0.003, 0.004 : 0.004\",\"host\":\"127.0.0.1\",\"server_addr\":\"127.0.0.1\","
    "\"server_port\":18080,\"llm_model\":\"gpt-4o-mini-2024-07-18\",\"llm_input_tokens\":\"12\","
    "\"llm_output_tokens\":\"34\",\"llm_retry_count\":\"\",\"llm_fallback_reason\":\"upstream_"
    "error\"}",
    "{\"time\":\"2026-11-22T20:05:56+00:00\",\"request_id\":\"08c9621b6091868346469be805dfdc4b\","
    "\"traceparent\":\"\",\"method\":\"GET\",\"uri\":\"/v1/files/a\\\"b?x=\\\"y\\\"&z=\xff\xfe\","
    "\"status\":200,\"request_time\":0.001,\"upstream_status\":\"200\",\"upstream_addr\":\"127.0."
    "0.1:18081\",\"upstream_response_time\":\"0.000\",\"host\":\"llm-gw.local\",\"server_addr\":"
    "\"127.0.0.1\",\"server_port\":18080,\"llm_model\":\"\",\"llm_input_tokens\":\"\",\"llm_output_"
    "tokens\":\"\",\"llm_retry_count\":\"\",\"llm_fallback_reason\":\"\"}",
    "{\"time\":\"2026-11-22T20:05:57+00:00\",\"request_id\":\"8a4ed26e002b6ffe996d0462d960c36c\","
    "\"traceparent\":\"\",\"method\":\"POST\",\"uri\":\"/v1/chat/completions\",\"status\":499,"
    "\"request_time\":0.301,\"upstream_status\":\"-\",\"upstream_addr\":\"127.0.0.1:18082\","
    "\"upstream_response_time\":\"0.301\",\"host\":\"x\",\"server_addr\":\"127.0.0.1\",\"server_"
    "port\":18080,\"llm_model\":\"\",\"llm_input_tokens\":\"\",\"llm_output_tokens\":\"\",\"llm_"
    "retry_count\":\"\",\"llm_fallback_reason\":\"\"}",
};

static int same_value(const sc_accesslog_fields *a, const sc_accesslog_fields *b, int i)
{
    if (sc_accesslog_has(a, (sc_accesslog_field)i) != sc_accesslog_has(b, (sc_accesslog_field)i))
        return 0;
    return !sc_accesslog_has(a, (sc_accesslog_field)i) ||
           (a->v[i].n == b->v[i].n && memcmp(a->v[i].p, b->v[i].p, a->v[i].n) == 0);
}

static void escape_json_directive_matches_json_parser(void)
{
    REQUIRE(compile(llm_json_directive, SC_NGINX_ESCAPE_DEFAULT) == 0); /* escape= from text */
    CHECK_EQ(fmt.enc, SC_ACCESSLOG_ENC_JSON);
    sc_json_line_mapping m;
    REQUIRE(sc_json_line_mapping_compile(sc_json_line_preset("nginx", 5), &m, NULL) == 0);
    for (size_t k = 0; k < sizeof llm_lines / sizeof llm_lines[0]; k++) {
        REQUIRE(parse(llm_lines[k]) == 0);
        REQUIRE(sc_json_line_parse(&m, llm_lines[k], strlen(llm_lines[k]), &fl2) == 0);
        for (int i = 0; i < SC_ACCESSLOG_FIELD__COUNT; i++) {
            if (i == F(REQUEST_ID))
                continue; /* $llm_request_id is a map variable, unknown to the layout parser */
            if (!same_value(&fl, &fl2, i)) {
                char msg[160];
                snprintf(msg, sizeof msg, "line %zu field %s differs", k,
                         sc_accesslog_field_name((sc_accesslog_field)i));
                sc_test_fail(__FILE__, __LINE__, msg);
            }
        }
        CHECK_EQ(fl.time_unix_ns, fl2.time_unix_ns);
        CHECK_EQ(fl.status, fl2.status);
        CHECK_EQ(fl.duration_ns, fl2.duration_ns);
        CHECK_EQ(fl.input_tokens, fl2.input_tokens);
        CHECK_EQ(fl.server_port, fl2.server_port);
    }
    CHECK_V(&fl, REQUEST_ID, "(absent)");
    REQUIRE(parse(llm_lines[2]) == 0);
    CHECK_V(&fl, PATH, "/v1/files/a\"b");
}

/* ---- Layout matching details ---------------------------------------------------------------- */

static void variables_precedence_and_fallthrough(void)
{
    /* ${name} syntax; $http_x_request_id "-" falls back to $request_id; $request_uri beats $uri;
     * unknown variables are matched and ignored. */
    REQUIRE(compile("${msec}|$http_x_request_id|$request_id|$uri|$request_uri|$request_method|"
                    "$status|$bytes_sent|$connection|$time_local",
                    SC_NGINX_ESCAPE_DEFAULT) == 0);
    REQUIRE(parse("1795377954.463|-|abc123|/v1/models|/v1/models?x=1|GET|200|1234|77|22/Nov/2026:"
                  "20:05:54 +0000") == 0);
    CHECK_V(&fl, REQUEST_ID, "abc123");
    CHECK_V(&fl, PATH, "/v1/models");
    CHECK_EQ(fl.time_unix_ns, S(1795377954) + 463000000); /* $msec beats $time_local */
    REQUIRE(parse("1795377954.463|app-7|abc123|/decoded|/raw%2Fpath?q|GET|200|1234|77|-") == 0);
    CHECK_V(&fl, REQUEST_ID, "app-7");
    CHECK_V(&fl, PATH, "/raw%2Fpath");
    REQUIRE(parse("-|-|-|/decoded|-|GET|200|1|2|22/Nov/2026:20:05:54 +0000") == 0);
    CHECK_V(&fl, PATH, "/decoded");
    CHECK_EQ(fl.time_unix_ns, S(1795377954));
}

static void values_containing_parts_of_the_next_literal(void)
{
    /* The value ends where the WHOLE next literal matches. */
    REQUIRE(compile("$host::$status::$request_method $request_uri", SC_NGINX_ESCAPE_NONE) == 0);
    REQUIRE(parse("h:8080::200::GET /v1/models") == 0);
    CHECK_V(&fl, HOST, "h:8080");
    CHECK_EQ(fl.status, 200);
    /* Unquoted $time_local (inner space) and unquoted $request (two spaces). */
    REQUIRE(compile("$time_local $request $status", SC_NGINX_ESCAPE_DEFAULT) == 0);
    REQUIRE(parse("22/Nov/2026:20:05:54 +0000 POST /v1/embeddings HTTP/1.1 200") == 0);
    CHECK_EQ(fl.time_unix_ns, S(1795377954));
    CHECK_V(&fl, REQUEST, "POST /v1/embeddings HTTP/1.1");
    CHECK_EQ(fl.status, 200);
    /* HTTP/0.9 style request line (no protocol) in quotes. */
    REQUIRE(compile("\"$request\" $status", SC_NGINX_ESCAPE_DEFAULT) == 0);
    REQUIRE(parse("\"GET /v1/models\" 200") == 0);
    CHECK_V(&fl, PATH, "/v1/models");
    /* escape=none: no decoding. */
    REQUIRE(compile("$request_method $request_uri $status", SC_NGINX_ESCAPE_NONE) == 0);
    REQUIRE(parse("GET /a\\x22b 200") == 0);
    CHECK_V(&fl, PATH, "/a\\x22b");
    /* escape=json with a JSON-escaped quote right before the closing quote. */
    REQUIRE(compile("\"$request\" $status", SC_NGINX_ESCAPE_JSON) == 0);
    REQUIRE(parse("\"GET /a\\\" HTTP/1.1\" 404") == 0);
    CHECK_V(&fl, PATH, "/a\"");
    CHECK_EQ(fl.status, 404);
}

static void layout_mismatch_and_boundaries(void)
{
    REQUIRE(compile(SC_NGINX_FORMAT_COMBINED, SC_NGINX_ESCAPE_DEFAULT) == 0);
    const char *ok = combined_lines[0];
    char buf[512];
    snprintf(buf, sizeof buf, "%s\r\n", ok);
    CHECK_EQ(parse(buf), 0);
    snprintf(buf, sizeof buf, "%s  ", ok);
    CHECK_EQ(parse(buf), 0);
    snprintf(buf, sizeof buf, "%s extra", ok);
    CHECK_EQ(parse(buf), -EBADMSG);
    CHECK_EQ(fl.reason, SC_ACCESSLOG_LAYOUT_MISMATCH);
    /* Every proper prefix fails (never a partial record), as EMPTY or LAYOUT_MISMATCH, except
     * that a prefix ending inside the final quoted value still lacks its closing quote. */
    size_t n = strlen(ok);
    for (size_t k = 0; k < n; k++) {
        CHECK_EQ(sc_nginx_format_parse(&fmt, ok, k, &fl), -EBADMSG);
        CHECK(fl.reason == (k == 0 ? SC_ACCESSLOG_EMPTY : SC_ACCESSLOG_LAYOUT_MISMATCH));
    }
    CHECK_EQ(parse(""), -EBADMSG);
    CHECK_EQ(fl.reason, SC_ACCESSLOG_EMPTY);
    CHECK_EQ(parse(" \t \r\n"), -EBADMSG);
    CHECK_EQ(fl.reason, SC_ACCESSLOG_EMPTY);
    CHECK_EQ(parse("{\"status\":200}"), -EBADMSG);
    CHECK_EQ(fl.reason, SC_ACCESSLOG_LAYOUT_MISMATCH);
    CHECK_EQ(parse("\x00\x01\xff"), -EBADMSG);
    CHECK_EQ(
        parse("127.0.0.1 - - [22/Nov/2026:20:05:54 +0000] \"GET / HTTP/1.1\" abc 1 \"-\" \"-\""),
        -EBADMSG);
    CHECK_EQ(fl.reason, SC_ACCESSLOG_BAD_STATUS);
    CHECK_EQ(
        parse("127.0.0.1 - - [31/Nov/2026:20:05:54 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\""),
        -EBADMSG);
    CHECK_EQ(fl.reason, SC_ACCESSLOG_BAD_TIMESTAMP);
    CHECK_EQ(parse("127.0.0.1 - - [22/Nov/2026:20:05:54 +0000] \"-\" 400 0 \"-\" \"-\""), -EBADMSG);
    CHECK_EQ(fl.reason, SC_ACCESSLOG_MISSING_REQUIRED);
}

static void one_mebibyte_line(void)
{
    REQUIRE(compile(SC_NGINX_FORMAT_COMBINED, SC_NGINX_ESCAPE_DEFAULT) == 0);
    size_t big = 1 << 20;
    char *line = malloc(big + 256);
    REQUIRE(line != NULL);
    size_t k = (size_t)sprintf(line, "10.0.0.1 - - [22/Nov/2026:20:05:54 +0000] \"GET /v1/models "
                                     "HTTP/1.1\" 200 5 \"-\" \"");
    for (; k < big; k += 4)
        memcpy(line + k, "\\x22", 4); /* a user agent made of escaped quotes */
    line[k++] = '"';
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int rc = sc_nginx_format_parse(&fmt, line, k, &fl);
    clock_gettime(CLOCK_MONOTONIC, &b);
    CHECK_EQ(rc, 0);
    CHECK_V(&fl, PATH, "/v1/models");
    double t = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    CHECK(t < 2.0); /* linear: about 1 ms at -O2; generous for sanitizers and valgrind */
    free(line);
}

/* ---- Compile errors -------------------------------------------------------------------------- */

static void expect_compile_error(const char *text, int rc_want, const char *msg, size_t pos)
{
    sc_accesslog_error err = {0};
    int rc = sc_nginx_format_compile(text, strlen(text), SC_NGINX_ESCAPE_DEFAULT, &fmt, &err);
    CHECK_EQ(rc, rc_want);
    if (err.msg == NULL || strcmp(err.msg, msg) != 0 || err.pos != pos) {
        char m[300];
        snprintf(m, sizeof m, "[%s]: got \"%s\" at %zu, want \"%s\" at %zu", text,
                 err.msg ? err.msg : "(null)", err.pos, msg, pos);
        sc_test_fail(__FILE__, __LINE__, m);
    }
}

static void compile_errors_have_positions(void)
{
    expect_compile_error("", -EINVAL, "empty format", 0);
    expect_compile_error("log_format main;", -EINVAL, "empty format", 16);
    expect_compile_error("log_format ;", -EINVAL, "log_format needs a name", 11);
    expect_compile_error("$status $", -EINVAL, "bad variable name", 8);
    expect_compile_error("$status ${request", -EINVAL, "unterminated ${", 8);
    expect_compile_error("$status ${req-uest}", -EINVAL, "bad variable name", 8);
    expect_compile_error("$request_method$request_uri $status", -EINVAL,
                         "two variables with no literal between them", 15);
    expect_compile_error("\"$request\" $status \"$http_user_agent", -EINVAL,
                         "unterminated quote in layout", 19);
    expect_compile_error("log_format x '$request $status", -EINVAL, "unterminated quote", 13);
    expect_compile_error("log_format x escape=yaml '$request $status';", -EINVAL,
                         "escape must be default, json or none", 13);
    expect_compile_error("log_format x '$request $status'; access_log off;", -EINVAL,
                         "text after the directive", 33);
    expect_compile_error("$remote_addr $body_bytes_sent", -EINVAL,
                         "no variable provides a required field", 0);
    expect_compile_error("$request_method $request_uri", -EINVAL,
                         "no variable provides a required field", 0);
    /* The position of an error in a later quoted part points into the pasted text. */
    expect_compile_error("log_format x '$status '\n  '$a$b';", -EINVAL,
                         "two variables with no literal between them", 29);

    /* Directive syntax that is fine: comments, double quotes, unquoted parts, escapes. */
    sc_accesslog_error err;
    const char *d = "# main format\nlog_format  main  \"$request_method \\\"$request_uri\\\" \"\n"
                    "   $status;  # trailing comment\n";
    REQUIRE(sc_nginx_format_compile(d, strlen(d), SC_NGINX_ESCAPE_JSON, &fmt, &err) == 0);
    CHECK_EQ(fmt.enc, SC_ACCESSLOG_ENC_JSON);
    REQUIRE(parse("GET \"/v1/models\" 200") == 0);
    CHECK_V(&fl, PATH, "/v1/models");
    const char *e = "log_format x escape=none '$request_method $request_uri $status';";
    REQUIRE(sc_nginx_format_compile(e, strlen(e), SC_NGINX_ESCAPE_JSON, &fmt, &err) == 0);
    CHECK_EQ(fmt.enc, SC_ACCESSLOG_ENC_RAW);

    /* Limits. */
    char *big = malloc(SC_NGINX_FORMAT_TEXT_BYTES * 2);
    REQUIRE(big != NULL);
    memset(big, 'x', SC_NGINX_FORMAT_TEXT_BYTES + 10);
    memcpy(big, "$status ", 8);
    big[SC_NGINX_FORMAT_TEXT_BYTES + 10] = '\0';
    CHECK_EQ(sc_nginx_format_compile(big, strlen(big), 0, &fmt, &err), -E2BIG);
    size_t k = 0;
    for (int i = 0; i < SC_NGINX_FORMAT_MAX_TOKENS; i++)
        k += (size_t)sprintf(big + k, "$v%d ", i);
    CHECK_EQ(sc_nginx_format_compile(big, k, 0, &fmt, &err), -E2BIG);
    free(big);
}

int main(void)
{
    RUN(combined_real_lines);
    RUN(ingress_style_unquoted_lists);
    RUN(json_layout_with_default_escaping);
    RUN(escape_json_directive_matches_json_parser);
    RUN(variables_precedence_and_fallthrough);
    RUN(values_containing_parts_of_the_next_literal);
    RUN(layout_mismatch_and_boundaries);
    RUN(one_mebibyte_line);
    RUN(compile_errors_have_positions);
    return sc_test_summary();
}
