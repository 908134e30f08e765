/* test_http_request.c - tests for health/http_request: the pure request-head parser. Every input
 * is copied into an exactly-sized heap buffer so ASan catches any read past len. */
#include <errno.h>
#include <stdlib.h>

#include "harness.h"
#include "health/http_request.h"

static int parse_n(const char *s, size_t len, size_t cap, sc_http_request *r)
{
    char *copy = malloc(len ? len : 1);
    if (copy == NULL)
        return -ENOMEM;
    memcpy(copy, s, len);
    int rc = sc_http_request_parse(len ? copy : NULL, len, cap, r);
    /* Slices must point into the buffer (or at the static "/"): check, then detach before free. */
    if (rc > 0) {
        CHECK(r->method >= copy && r->method + r->method_len <= copy + rc);
        CHECK(r->target >= copy && r->target + r->target_len <= copy + rc);
    }
    free(copy);
    return rc;
}

static int parse(const char *s, size_t cap)
{
    sc_http_request r;
    return parse_n(s, strlen(s), cap, &r);
}

static int slice_is(const char *p, size_t len, const char *want)
{
    return p != NULL && len == strlen(want) && memcmp(p, want, len) == 0;
}

static const char probe[] = "GET /healthz?verbose=1&x HTTP/1.1\r\n"
                            "Host: 127.0.0.1:13133\r\n"
                            "User-Agent: kube-probe/1.29\r\n"
                            "Accept: */*\r\n"
                            "Connection:  close \t\r\n"
                            "\r\n";

static void complete_only_at_the_end(void)
{
    size_t len = sizeof probe - 1;
    sc_http_request r;
    for (size_t k = 0; k < len; k++) {
        int rc = parse_n(probe, k, 8192, &r);
        if (rc != 0) {
            char m[64];
            snprintf(m, sizeof m, "prefix %zu returned %d", k, rc);
            sc_test_fail(__FILE__, __LINE__, m);
        }
    }
    CHECK_EQ(parse_n(probe, len, 8192, &r), (int)len);
}

static void outputs_slices(void)
{
    sc_http_request r;
    char buf[sizeof probe + 32];
    snprintf(buf, sizeof buf, "%sGET /next HTTP/1.1\r\n", probe); /* a pipelined second request */
    int rc = sc_http_request_parse(buf, strlen(buf), 8192, &r);
    REQUIRE(rc == (int)(sizeof probe - 1));
    CHECK(slice_is(r.method, r.method_len, "GET"));
    CHECK(slice_is(r.target, r.target_len, "/healthz?verbose=1&x"));
    CHECK(slice_is(r.path, r.path_len, "/healthz"));
    CHECK(slice_is(r.query, r.query_len, "verbose=1&x"));
    CHECK_EQ(r.version_minor, 1);
    CHECK_EQ(r.header_count, 4);
    CHECK(slice_is(r.host, r.host_len, "127.0.0.1:13133"));
    CHECK(slice_is(r.connection, r.connection_len, "close"));
    CHECK(r.content_length == NULL);
    CHECK(r.transfer_encoding == NULL);
}

static void query_split(void)
{
    sc_http_request r;
    const char *s = "HEAD /metrics HTTP/1.0\r\n\r\n";
    REQUIRE(sc_http_request_parse(s, strlen(s), 100, &r) > 0);
    CHECK(slice_is(r.path, r.path_len, "/metrics"));
    CHECK(r.query == NULL && r.query_len == 0);
    CHECK_EQ(r.version_minor, 0);

    s = "GET /a? HTTP/1.1\r\n\r\n";
    REQUIRE(sc_http_request_parse(s, strlen(s), 100, &r) > 0);
    CHECK(slice_is(r.path, r.path_len, "/a"));
    CHECK(r.query != NULL && r.query_len == 0);

    s = "GET http://h:13133/metrics?a=b HTTP/1.1\r\n\r\n";
    REQUIRE(sc_http_request_parse(s, strlen(s), 100, &r) > 0);
    CHECK(slice_is(r.path, r.path_len, "/metrics"));
    CHECK(slice_is(r.query, r.query_len, "a=b"));

    s = "GET HTTPS://h?q HTTP/1.1\r\n\r\n";
    REQUIRE(sc_http_request_parse(s, strlen(s), 100, &r) > 0);
    CHECK(slice_is(r.path, r.path_len, "/"));
    CHECK(slice_is(r.query, r.query_len, "q"));
}

static void headers_trimmed_and_known(void)
{
    sc_http_request r;
    const char *s = "GET / HTTP/1.1\r\ncontent-LENGTH: \t 42 \r\nTransfer-Encoding: chunked\r\n"
                    "transfer-encoding: gzip\r\nX-Empty:\r\n\r\n";
    REQUIRE(sc_http_request_parse(s, strlen(s), 200, &r) > 0);
    CHECK(slice_is(r.content_length, r.content_length_len, "42"));
    CHECK(r.content_length_value == 42);
    CHECK(slice_is(r.transfer_encoding, r.transfer_encoding_len, "chunked"));
    CHECK_EQ(r.header_count, 4);
    CHECK(r.host == NULL);
}

static void bare_lf(void)
{
    sc_http_request r;
    const char *s = "GET /healthz HTTP/1.1\nHost: a\n\n";
    CHECK_EQ(sc_http_request_parse(s, strlen(s), 100, &r), (int)strlen(s));
    CHECK(slice_is(r.host, r.host_len, "a"));
    s = "GET / HTTP/1.1\r\nHost: a\n\r\n";
    CHECK_EQ(parse(s, 100), (int)strlen(s));
    CHECK_EQ(parse("GET / HTTP/1.1\r\n\n", 100), 17);
}

static void malformed(void)
{
    static const char *const bad[] = {
        "G(T / HTTP/1.1\r\n\r\n",     /* non-token method char */
        "G\x80T / HTTP/1.1\r\n\r\n",  /* high byte in method */
        " GET / HTTP/1.1\r\n\r\n",    /* leading space */
        "\r\nGET / HTTP/1.1\r\n\r\n", /* leading empty line */
        "GET  / HTTP/1.1\r\n\r\n",    /* two spaces */
        "GET /\r\n\r\n",              /* missing version */
        "GET / \r\n\r\n",             /* empty version */
        "GET / HTTP/2.0\r\n\r\n",     /* not HTTP/1.x */
        "GET / HTTP/1.2\r\n\r\n",
        "GET / http/1.1\r\n\r\n",
        "GET / HTTP/1.1 \r\n\r\n",      /* trailing space */
        "GET /a\x01z HTTP/1.1\r\n\r\n", /* control char in target */
        "GET /a\x7fz HTTP/1.1\r\n\r\n", /* DEL in target */
        "GET /a\tz HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\rX\n\r\n",                   /* CR without LF */
        "GET / HTTP/1.1\r\nNoColon\r\n\r\n",         /* header without colon */
        "GET / HTTP/1.1\r\nName : v\r\n\r\n",        /* space before colon */
        "GET / HTTP/1.1\r\n: v\r\n\r\n",             /* empty name */
        "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", /* obs-fold */
        "GET / HTTP/1.1\r\nA: b\x01\r\n\r\n",        /* control char in value */
        "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n",         /* bare CR in value */
        "GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length:\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        "GET / HTTP/1.1\r\nContent-Length: 0\r\ncontent-length: 0\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        int rc = parse(bad[k], 8192);
        if (rc != -EBADMSG) {
            char m[128];
            snprintf(m, sizeof m, "case %zu returned %d, want -EBADMSG", k, rc);
            sc_test_fail(__FILE__, __LINE__, m);
        }
    }
    /* A NUL in a value is malformed too (strlen would hide it, so give the length). */
    sc_http_request r;
    static const char nul[] = "GET / HTTP/1.1\r\nA: b\0c\r\n\r\n";
    CHECK_EQ(parse_n(nul, sizeof nul - 1, 100, &r), -EBADMSG);
    /* Garbage is rejected as soon as it is seen, not when the head would be complete. */
    CHECK_EQ(parse("G(", 8192), -EBADMSG);
    CHECK_EQ(parse("\x16\x03\x01\x02", 8192), -EBADMSG); /* a TLS ClientHello */
    CHECK_EQ(parse("GET /x HTTP/3", 8192), -EBADMSG);
}

static void too_long(void)
{
    size_t len = sizeof probe - 1;
    sc_http_request r;
    CHECK_EQ(parse_n(probe, len, len, &r), (int)len); /* exactly the cap fits */
    CHECK_EQ(parse_n(probe, len, len - 1, &r), -E2BIG);
    CHECK_EQ(parse_n(probe, 40, 40, &r), -E2BIG); /* incomplete at the cap */
    CHECK_EQ(parse_n(probe, 39, 40, &r), 0);
    CHECK_EQ(parse_n(probe, len, 0, &r), -E2BIG);

    char *big = malloc(2048);
    REQUIRE(big != NULL);
    strcpy(big, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < SC_HTTP_MAX_HEADERS; i++)
        strcat(big, "X-Hdr: v\r\n");
    size_t at_limit = strlen(big);
    strcat(big, "\r\n");
    CHECK_EQ(parse(big, 8192), (int)strlen(big));
    big[at_limit] = '\0';
    strcat(big, "X-One-More: v\r\n\r\n");
    CHECK_EQ(parse(big, 8192), -E2BIG);
    free(big);
}

static void edge_arguments(void)
{
    sc_http_request r;
    CHECK_EQ(sc_http_request_parse(NULL, 0, 100, &r), 0);
    CHECK_EQ(sc_http_request_parse(NULL, 5, 100, &r), -EINVAL);
    CHECK_EQ(sc_http_request_parse("GET", 3, 100, NULL), -EINVAL);
    CHECK_EQ(sc_http_request_parse(probe, sizeof probe - 1, (size_t)-1, &r), (int)sizeof probe - 1);
}

/* A small deterministic mutation fuzzer until the libFuzzer target lands: under ASan/UBSan any
 * out-of-bounds read or UB fails the run; here we check the result contract. */
static void mutations_keep_the_contract(void)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    size_t len = sizeof probe - 1;
    char *buf = malloc(len);
    REQUIRE(buf != NULL);
    for (int iter = 0; iter < 200000; iter++) {
        memcpy(buf, probe, len);
        int nmut = 1 + iter % 4;
        for (int m = 0; m < nmut; m++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[(x >> 8) % len] = (char)(x & 0xff);
        }
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t n = (size_t)(x % (len + 1));
        size_t cap = (x >> 20) % 4 == 0 ? (size_t)((x >> 24) % (len + 2)) : 8192;
        sc_http_request r;
        int rc = sc_http_request_parse(buf, n, cap, &r);
        if (rc > 0) {
            if ((size_t)rc > n || (size_t)rc > cap || r.method_len == 0 || r.path_len == 0 ||
                r.method < buf || r.method + r.method_len > buf + rc) {
                sc_test_fail(__FILE__, __LINE__, "result outside the input");
                break;
            }
        } else if (rc != 0 && rc != -EBADMSG && rc != -E2BIG) {
            sc_test_fail(__FILE__, __LINE__, "unexpected error code");
            break;
        }
    }
    free(buf);
}

int main(void)
{
    RUN(complete_only_at_the_end);
    RUN(outputs_slices);
    RUN(query_split);
    RUN(headers_trimmed_and_known);
    RUN(bare_lf);
    RUN(malformed);
    RUN(too_long);
    RUN(edge_arguments);
    RUN(mutations_keep_the_contract);
    return sc_test_summary();
}
