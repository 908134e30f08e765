/* test_retry_after.c - tests for loop/retry_after: seconds, the three HTTP-date forms, junk. */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "loop/retry_after.h"

/* 1994-11-06T08:49:37Z, the RFC's example date. */
#define RFC_DATE 784111777u

static int parse(const char *s, uint64_t now, uint64_t *ms)
{
    return sc_retry_after_parse(s, strlen(s), now, ms);
}

static void delay_seconds(void)
{
    uint64_t ms;
    CHECK_EQ(parse("120", 0, &ms), 0);
    CHECK_EQ(ms, 120000);
    CHECK_EQ(parse("  0 ", 0, &ms), 0);
    CHECK_EQ(ms, 0);
    CHECK_EQ(parse("99999999999", 0, &ms), 0); /* clamped, not overflowed */
    CHECK(ms == 366ull * 24 * 3600 * 1000);
}

static void http_dates(void)
{
    uint64_t ms;
    CHECK_EQ(parse("Sun, 06 Nov 1994 08:49:37 GMT", RFC_DATE - 30, &ms), 0);
    CHECK_EQ(ms, 30000);
    CHECK_EQ(parse("Sunday, 06-Nov-94 08:49:37 GMT", RFC_DATE - 5, &ms), 0);
    CHECK_EQ(ms, 5000);
    CHECK_EQ(parse("Sun Nov  6 08:49:37 1994", RFC_DATE - 1, &ms), 0);
    CHECK_EQ(ms, 1000);
    CHECK_EQ(parse("Sun, 06 Nov 1994 08:49:37 GMT", RFC_DATE + 100, &ms), 0);
    CHECK_EQ(ms, 0); /* in the past: retry now */
}

static void junk_is_rejected(void)
{
    const char *bad[] = {"",
                         "  ",
                         "-1",
                         "1.5",
                         "12s",
                         "soon",
                         "Sun, 06 Nov 1994 08:49:37",
                         "Sun, 06 Foo 1994 08:49:37 GMT",
                         "Sun, 32 Nov 1994 08:49:37 GMT",
                         "Sun, 06 Nov 1994 25:49:37 GMT",
                         "Sun, 06 Nov 1994 08:49:37 GMT x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t ms = 42;
        CHECK_EQ(parse(bad[i], 0, &ms), -EINVAL);
        CHECK_EQ(ms, 0);
    }
}

static void every_prefix_is_safe(void)
{
    const char *s = "Sunday, 06-Nov-94 08:49:37 GMT";
    for (size_t n = 0; n <= strlen(s); n++) {
        char copy[64];
        memcpy(copy, s, n); /* exact-length copy so ASan catches over-reads */
        uint64_t ms;
        int rc = sc_retry_after_parse(copy, n, 0, &ms);
        CHECK(rc == 0 || rc == -EINVAL);
    }
}

int main(void)
{
    RUN(delay_seconds);
    RUN(http_dates);
    RUN(junk_is_rejected);
    RUN(every_prefix_is_safe);
    return sc_test_summary();
}
