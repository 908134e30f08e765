/* test_accesslog_json_edge.c - edge cases of accesslog/json_line: every malformed reason, every
 * prefix of a line, escapes, invalid UTF-8 and binary bytes, arrays and duplicates, scratch
 * overflow, a 1 MiB line in linear time, line boundaries and reuse of the fields struct. */
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

/* A real nginx llm_json line, and one whose URI holds an escaped quote and raw bytes FF FE. */
static const char nginx_ok[] =
    "{\"time\":\"2026-11-22T20:05:54+00:00\",\"request_id\":\"req-ok-1\",\"traceparent\":\"00-"
    "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\",\"method\":\"POST\",\"uri\":\"/v1/"
    "chat/completions\",\"status\":200,\"request_time\":0.004,\"upstream_status\":\"200\","
    "\"upstream_addr\":\"127.0.0.1:18081\",\"upstream_response_time\":\"0.003\",\"host\":\"127.0."
    "0.1\",\"server_addr\":\"127.0.0.1\",\"server_port\":18080,\"llm_model\":\"gpt-4o-mini-2024-"
    "07-18\",\"llm_input_tokens\":\"12\",\"llm_output_tokens\":\"34\",\"llm_retry_count\":\"\","
    "\"llm_fallback_reason\":\"\"}";

static const char nginx_quotes_binary[] =
    "{\"time\":\"2026-11-22T20:05:56+00:00\",\"request_id\":\"08c9621b6091868346469be805dfdc4b\","
    "\"traceparent\":\"\",\"method\":\"GET\",\"uri\":\"/v1/files/a\\\"b?x=\\\"y\\\"&z=\xff\xfe\","
    "\"status\":200,\"request_time\":0.001,\"upstream_status\":\"200\",\"upstream_addr\":\"127.0."
    "0.1:18081\",\"upstream_response_time\":\"0.000\",\"host\":\"llm-gw.local\",\"server_addr\":"
    "\"127.0.0.1\",\"server_port\":18080,\"llm_model\":\"\",\"llm_input_tokens\":\"\",\"llm_output_"
    "tokens\":\"\",\"llm_retry_count\":\"\",\"llm_fallback_reason\":\"\"}";

/* ---- Malformed lines: one case per reason ------------------------------------------------------
 */

static void expect_reason(const char *line, size_t len, sc_accesslog_reason want)
{
    int rc = sc_json_line_parse(preset("nginx"), line, len, &fl);
    CHECK_EQ(rc, want == SC_ACCESSLOG_OK ? 0 : -EBADMSG);
    if (fl.reason != want) {
        char msg[300];
        snprintf(msg, sizeof msg, "%.120s -> %s, want %s", line,
                 sc_accesslog_reason_name(fl.reason), sc_accesslog_reason_name(want));
        sc_test_fail(__FILE__, __LINE__, msg);
    }
}
#define EXPECT(line, want) expect_reason(line, strlen(line), SC_ACCESSLOG_##want)

static void malformed_every_reason(void)
{
    EXPECT("", EMPTY);
    EXPECT(" \t\r\n", EMPTY);
    EXPECT("\n", EMPTY);
    EXPECT("127.0.0.1 - - [22/Nov/2026:20:05:54 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"",
           NOT_JSON);
    EXPECT("time=2026 status=200", NOT_JSON);
    EXPECT("\xef\xbb\xbf{\"status\":200}", NOT_JSON);
    EXPECT("[{\"status\":200}]", NOT_OBJECT);
    EXPECT("\"status\"", NOT_OBJECT);
    EXPECT("42", NOT_OBJECT);
    EXPECT(" null ", NOT_OBJECT);
    EXPECT("[1,2", NOT_JSON);
    EXPECT("{\"method\" \"GET\"}", BAD_JSON);
    EXPECT("{\"method\":\"GET\",}", BAD_JSON);
    EXPECT("{\"a\":tru,\"b\":1}", BAD_JSON);
    EXPECT("{\"a\":\"\\q\"}", BAD_JSON);
    EXPECT("{\"a\":\"\\u12g4\"}", BAD_JSON);
    EXPECT("{\"a\":\"tab\there\"}", BAD_JSON); /* raw control byte */
    EXPECT("{\"a\":01}", BAD_JSON);
    EXPECT("{\"a\":1.e5}", BAD_JSON);
    EXPECT("{\"a\":-}", BAD_JSON);
    EXPECT("{a:1}", BAD_JSON);
    EXPECT("{\"a\":1}x", BAD_JSON);
    EXPECT("{\"a\":1}{\"a\":2}", BAD_JSON);
    EXPECT("{\"a\":[1 2]}", BAD_JSON);
    EXPECT("{\"a\":{\"b\":1]}", BAD_JSON);
    EXPECT("{", TRUNCATED);
    EXPECT("{\"method\":\"GET", TRUNCATED);
    EXPECT("{\"method\":\"GET\",", TRUNCATED);
    EXPECT("{\"method\":", TRUNCATED);
    EXPECT("{\"method\"", TRUNCATED);
    EXPECT("{\"a\":tr", TRUNCATED);
    EXPECT("{\"a\":\"\\u12", TRUNCATED);
    EXPECT("{\"a\":\"\\", TRUNCATED);
    EXPECT("{\"a\":1.", TRUNCATED);
    EXPECT("{\"a\":-", TRUNCATED);
    EXPECT("{\"a\":[1,{\"b\":[", TRUNCATED);
    EXPECT("{\"time\":\"yesterday\",\"method\":\"GET\",\"uri\":\"/\",\"status\":200}",
           BAD_TIMESTAMP);
    EXPECT(
        "{\"time\":\"2026-02-30T00:00:00+00:00\",\"method\":\"GET\",\"uri\":\"/\",\"status\":200}",
        BAD_TIMESTAMP);
    EXPECT("{\"method\":\"GET\",\"uri\":\"/\",\"status\":\"OK\"}", BAD_STATUS);
    EXPECT("{\"method\":\"GET\",\"uri\":\"/\",\"status\":2000}", BAD_STATUS);
    EXPECT("{\"method\":\"GET\",\"uri\":\"/\",\"status\":200.0}", BAD_STATUS);
    EXPECT("{\"method\":\"GET\",\"uri\":\"/\",\"status\":-1}", BAD_STATUS);
    EXPECT("{\"method\":\"GET\",\"uri\":\"/\",\"status\":true}", BAD_STATUS);
    EXPECT("{\"method\":\"GET\",\"uri\":\"/\",\"status\":200,\"request_time\":-0.5}", BAD_DURATION);
    EXPECT("{\"method\":\"GET\",\"uri\":\"/\",\"status\":200,\"request_time\":\"fast\"}",
           BAD_DURATION);
    EXPECT("{\"method\":\"GET\",\"uri\":\"/\",\"status\":200,\"llm_input_tokens\":\"many\"}",
           BAD_VALUE);
    EXPECT("{\"method\":\"GET\",\"uri\":\"/\",\"status\":200,\"llm_output_tokens\":-3}", BAD_VALUE);
    EXPECT("{\"method\":\"GET\",\"uri\":\"/\",\"status\":200,\"server_port\":70000}", BAD_VALUE);
    EXPECT("{\"method\":\"GET\",\"uri\":\"/\",\"status\":200,\"llm_retry_count\":\"x\"}",
           BAD_VALUE);
    EXPECT("{\"method\":\"GET\",\"uri\":\"/\"}", MISSING_REQUIRED);
    EXPECT("{\"method\":\"GET\",\"status\":200}", MISSING_REQUIRED);
    EXPECT("{\"method\":\"GET\",\"uri\":\"?only=query\",\"status\":200}", MISSING_REQUIRED);
    EXPECT("{\"method\":\"GET\",\"uri\":null,\"status\":200}", MISSING_REQUIRED);
    EXPECT("{\"method\":\"GET\",\"uri\":\"-\",\"status\":200}", MISSING_REQUIRED);
    EXPECT("{}", MISSING_REQUIRED);

    /* Nesting: 32 levels are fine, 33 are not. */
    char deep[200];
    for (int depth = 31; depth <= 33; depth++) {
        size_t n = 0;
        n += (size_t)snprintf(deep, sizeof deep,
                              "{\"method\":\"GET\",\"uri\":\"/\",\"status\":1"
                              "00,\"x\":");
        for (int i = 1; i < depth; i++)
            deep[n++] = '[';
        for (int i = 1; i < depth; i++)
            deep[n++] = ']';
        deep[n++] = '}';
        deep[n] = '\0';
        expect_reason(deep, n,
                      depth <= SC_JSON_LINE_MAX_DEPTH ? SC_ACCESSLOG_OK : SC_ACCESSLOG_TOO_DEEP);
    }
    /* Every reason has a distinct, stable name. */
    for (int r = 0; r < SC_ACCESSLOG_REASON__COUNT; r++) {
        REQUIRE(sc_accesslog_reason_name((sc_accesslog_reason)r) != NULL);
        for (int q = 0; q < r; q++)
            CHECK(strcmp(sc_accesslog_reason_name((sc_accesslog_reason)r),
                         sc_accesslog_reason_name((sc_accesslog_reason)q)) != 0);
    }
    CHECK(sc_accesslog_reason_name(SC_ACCESSLOG_REASON__COUNT) == NULL);
}

/* Every prefix of a valid line is TRUNCATED (or EMPTY): the tailer may hand a partial line at
 * EOF, and no prefix may be mistaken for a record. */
static void every_prefix_is_truncated(void)
{
    size_t n = strlen(nginx_ok);
    for (size_t k = 0; k < n; k++) {
        int rc = sc_json_line_parse(preset("nginx"), nginx_ok, k, &fl);
        CHECK_EQ(rc, -EBADMSG);
        CHECK(fl.reason == (k == 0 ? SC_ACCESSLOG_EMPTY : SC_ACCESSLOG_TRUNCATED));
    }
    CHECK_EQ(sc_json_line_parse(preset("nginx"), nginx_ok, n, &fl), 0);
}

/* ---- Values: escapes, bytes, arrays, duplicates ------------------------------------------------
 */

static void escapes_utf8_and_binary(void)
{
    /* Escaped key, escaped slash, lone surrogate, invalid UTF-8 and a NUL escape in values. */
    const char line[] = "{\"st\\u0061tus\":200,\"method\":\"G\\u0045T\",\"uri\":\"\\/v1\\/models\","
                        "\"llm_model\":\"bad\\ud800x\",\"host\":\"\xc3\x28\xff\","
                        "\"request_id\":\"a\\u0000b\",\"ua\":\"\xfe\xfe\\\"\\\\\"}";
    REQUIRE(sc_json_line_parse(preset("nginx"), line, sizeof line - 1, &fl) == 0);
    CHECK_EQ(fl.status, 200);
    CHECK_V(&fl, METHOD, "GET");
    CHECK_V(&fl, PATH, "/v1/models");
    CHECK_V(&fl, MODEL, "bad\xef\xbf\xbdx");
    CHECK_V(&fl, HOST, "\xc3\x28\xff"); /* passed through, never validated here */
    CHECK_EQ(fl.v[F(REQUEST_ID)].n, 3);
    CHECK(memcmp(fl.v[F(REQUEST_ID)].p, "a\0b", 3) == 0);
    /* A raw NUL (or any byte < 0x20) inside a string is not JSON. */
    const char nul[] = "{\"method\":\"GET\",\"uri\":\"/a\0b\",\"status\":200}";
    expect_reason(nul, sizeof nul - 1, SC_ACCESSLOG_BAD_JSON);
    const char bin[] = "\x00\x01\x02\x03";
    expect_reason(bin, sizeof bin - 1, SC_ACCESSLOG_NOT_JSON);
}

static void arrays_duplicates_and_wrong_shapes(void)
{
    /* First occurrence wins; a leaf takes an array's first scalar; objects where a value is
     * expected are skipped; a mapped object that is a string instead is just not traversed. */
    EXPECT(
        "{\"method\":\"GET\",\"method\":\"POST\",\"uri\":[\"/v1/models\",\"/x\"],\"status\":200}",
        OK);
    CHECK_V(&fl, METHOD, "GET");
    CHECK_V(&fl, PATH, "/v1/models");
    EXPECT("{\"method\":\"GET\",\"uri\":[],\"status\":200}", MISSING_REQUIRED);
    EXPECT("{\"method\":\"GET\",\"uri\":[{\"p\":\"/x\"}],\"status\":200}", MISSING_REQUIRED);
    EXPECT("{\"method\":{\"v\":\"GET\"},\"uri\":\"/\",\"status\":200}", MISSING_REQUIRED);
    EXPECT("{\"method\":\"GET\",\"uri\":\"/\",\"status\":[200]}", OK);
    CHECK_EQ(fl.status, 200);
    EXPECT("{\"method\":\"GET\",\"uri\":\"/\",\"status\":null}", MISSING_REQUIRED);
    int rc = parse("caddy", "{\"request\":\"GET /\",\"status\":200}");
    CHECK_EQ(rc, -EBADMSG);
    CHECK_EQ(fl.reason, SC_ACCESSLOG_MISSING_REQUIRED);
    /* Whitespace everywhere JSON allows it. */
    EXPECT(" {\r\n\t\"method\" :\t\"GET\" , \"uri\" : \"/\" ,\"status\" : 200 , \"x\" : [ ] ,"
           "\"y\" : { } } \r\n",
           OK);
    /* Numbers in every JSON form are skipped correctly. */
    EXPECT("{\"a\":-0.5e+10,\"b\":0,\"c\":1E-2,\"d\":123456789012345678901234567890,"
           "\"method\":\"GET\",\"uri\":\"/\",\"status\":200}",
           OK);
}

static void values_that_do_not_fit_the_scratch(void)
{
    /* Only values with escapes are copied; one longer than the scratch cannot be decoded. */
    size_t n = SC_ACCESSLOG_SCRATCH + 200;
    char *line = malloc(n + 100);
    REQUIRE(line != NULL);
    size_t k = (size_t)sprintf(line, "{\"method\":\"GET\",\"status\":200,\"uri\":\"\\/");
    memset(line + k, 'a', n);
    k += n;
    k += (size_t)sprintf(line + k, "\"}");
    expect_reason(line, k, SC_ACCESSLOG_VALUE_TOO_LONG);
    CHECK_EQ(fl.bad_field, F(PATH));
    /* The same length without escapes is a slice of the line: fine. */
    line[36] = '/'; /* the backslash */
    expect_reason(line, k, SC_ACCESSLOG_OK);
    CHECK_EQ(fl.v[F(PATH)].n, n + 2);
    free(line);
}

static double parse_seconds(const char *line, size_t len, int reps)
{
    struct timespec a, b;
    double best = 1e9;
    for (int r = 0; r < 3; r++) {
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (int i = 0; i < reps; i++)
            sc_json_line_parse(preset("nginx"), line, len, &fl);
        clock_gettime(CLOCK_MONOTONIC, &b);
        double t = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
        best = t < best ? t : best;
    }
    return best;
}

/* Builds {"ua":"xxxx...","k0":[0,"s"],...,"method":..} of about `size` bytes. */
static size_t big_line(char *buf, size_t size)
{
    size_t k = (size_t)sprintf(buf, "{\"ua\":\"");
    size_t ua = size / 2;
    for (size_t i = 0; i < ua; i++)
        buf[k++] = (char)('a' + i % 26);
    k += (size_t)sprintf(buf + k, "\\\"\"");
    for (int i = 0; k + 64 < size; i++)
        k += (size_t)sprintf(buf + k, ",\"k%d\":[%d,\"s\",{\"n\":null}]", i, i);
    k += (size_t)sprintf(buf + k, ",\"method\":\"GET\",\"uri\":\"/v1/models\",\"status\":200}");
    return k;
}

static void one_mebibyte_line_parses_in_linear_time(void)
{
    size_t big = 1 << 20, small = 1 << 16;
    char *line = malloc(big + 256);
    REQUIRE(line != NULL);
    size_t n_small = big_line(line, small);
    expect_reason(line, n_small, SC_ACCESSLOG_OK);
    double t_small = parse_seconds(line, n_small, 16);
    size_t n_big = big_line(line, big);
    CHECK(n_big >= big - 64);
    expect_reason(line, n_big, SC_ACCESSLOG_OK);
    CHECK_V(&fl, PATH, "/v1/models");
    double t_big = parse_seconds(line, n_big, 1);
    /* 16x the bytes (and 16x fewer repetitions) must cost about the same: allow 4x for noise;
     * a quadratic scanner would be ~16x slower. */
    CHECK(t_big < 4 * t_small + 0.005);
    free(line);
}

static void boundaries_and_reuse(void)
{
    /* Trailing newline forms and surrounding whitespace. */
    char buf[sizeof nginx_ok + 8];
    snprintf(buf, sizeof buf, "%s\r\n", nginx_ok);
    expect_reason(buf, strlen(buf), SC_ACCESSLOG_OK);
    snprintf(buf, sizeof buf, "  %s\n", nginx_ok);
    expect_reason(buf, strlen(buf), SC_ACCESSLOG_OK);
    /* Only len bytes are read: the bytes after the line do not matter. */
    snprintf(buf, sizeof buf, "%sGARB", nginx_ok);
    expect_reason(buf, strlen(nginx_ok), SC_ACCESSLOG_OK);
    /* Reusing the struct: nothing leaks from the previous line (scratch, flags, numbers). */
    REQUIRE(parse("nginx", nginx_quotes_binary) == 0);
    CHECK(fl.scratch_used > 0);
    REQUIRE(parse("nginx", "{\"method\":\"GET\",\"uri\":\"/v1/models\",\"status\":200}") == 0);
    CHECK_EQ(fl.scratch_used, 0);
    CHECK_V(&fl, HOST, "(absent)");
    CHECK_EQ(fl.server_port, 0);
    CHECK_EQ(fl.time_unix_ns, 0);
    CHECK_EQ(fl.bad_field, -1);
    CHECK_V(&fl, PATH, "/v1/models");
    CHECK(parse("nginx", "{}") < 0);
    CHECK_EQ(fl.present, 0);
}

int main(void)
{
    RUN(malformed_every_reason);
    RUN(every_prefix_is_truncated);
    RUN(escapes_utf8_and_binary);
    RUN(arrays_duplicates_and_wrong_shapes);
    RUN(values_that_do_not_fit_the_scratch);
    RUN(one_mebibyte_line_parses_in_linear_time);
    RUN(boundaries_and_reuse);
    return sc_test_summary();
}
