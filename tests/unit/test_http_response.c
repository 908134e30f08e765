/* test_http_response.c - tests for health/http_response: exact heads (reason phrases, the Allow
 * line on 405, an unknown status with an empty reason), the head cap, and the content-type
 * guard against header injection. */
#include <errno.h>
#include <string.h>

#include "core/buf.h"
#include "harness.h"
#include "health/http_response.h"

/* Long expected texts go through here: CHECK_STR stringifies its arguments. */
static void check_text(const char *got, const char *want)
{
    CHECK_STR(got, want);
}

static void heads_are_exact(void)
{
    sc_buf b;
    sc_buf_init(&b, SC_HTTP_RESPONSE_HEAD_MAX);
    REQUIRE(sc_http_response_head(&b, 200, "text/plain; charset=utf-8", 3, 0) == 0);
    check_text(b.data, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                       "Content-Length: 3\r\nConnection: close\r\n\r\n");
    sc_buf_reset(&b);
    REQUIRE(sc_http_response_head(&b, 405, "text/plain", 0, 1) == 0);
    check_text(b.data, "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain\r\n"
                       "Content-Length: 0\r\nConnection: close\r\nAllow: GET, HEAD\r\n\r\n");
    sc_buf_reset(&b);
    REQUIRE(sc_http_response_head(&b, 299, "x/y", 0, 0) == 0);
    CHECK(strncmp(b.data, "HTTP/1.1 299 \r\n", 15) == 0); /* empty reason phrase (RFC 9112 4) */
    sc_buf_free(&b);
}

static void longest_content_type_fits_the_head_cap(void)
{
    char ctype[SC_HTTP_RESPONSE_CTYPE_MAX + 2];
    memset(ctype, 'a', sizeof ctype - 1);
    ctype[sizeof ctype - 1] = '\0';
    CHECK(!sc_http_response_content_type_ok(ctype));
    ctype[SC_HTTP_RESPONSE_CTYPE_MAX] = '\0';
    CHECK(sc_http_response_content_type_ok(ctype));
    sc_buf b;
    sc_buf_init(&b, SC_HTTP_RESPONSE_HEAD_MAX);
    CHECK_EQ(sc_http_response_head(&b, 431, ctype, (size_t)-1, 1), 0);
    sc_buf_free(&b);
    sc_buf_init(&b, 16);
    CHECK_EQ(sc_http_response_head(&b, 200, "text/plain", 0, 0), -ENOBUFS);
    sc_buf_free(&b);
}

static void content_type_rejects_controls(void)
{
    CHECK(!sc_http_response_content_type_ok(""));
    CHECK(!sc_http_response_content_type_ok("text/plain\r\nSet-Cookie: x=1"));
    CHECK(!sc_http_response_content_type_ok("text/plain\x7f"));
    CHECK(sc_http_response_content_type_ok("text/plain; version=0.0.4; charset=utf-8"));
}

int main(void)
{
    RUN(heads_are_exact);
    RUN(longest_content_type_fits_the_head_cap);
    RUN(content_type_rejects_controls);
    return sc_test_summary();
}
