/* test_accesslog_timestamp.c - tests for accesslog/timestamp: RFC 3339, nginx $time_local, epoch
 * forms, AUTO detection, the decimal parser and calendar edge cases. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "accesslog/timestamp.h"
#include "harness.h"

#define S(x) ((int64_t)(x)*1000000000LL)

static int64_t rfc(const char *s)
{
    int64_t ns = -42;
    int rc = sc_timestamp_parse_rfc3339(s, strlen(s), &ns);
    return rc < 0 ? rc : ns;
}

static int64_t local(const char *s)
{
    int64_t ns = -42;
    int rc = sc_timestamp_parse_nginx_local(s, strlen(s), &ns);
    return rc < 0 ? rc : ns;
}

static int64_t epoch(const char *s, int dps)
{
    int64_t ns = -42;
    int rc = sc_timestamp_parse_epoch(s, strlen(s), dps, &ns);
    return rc < 0 ? rc : ns;
}

static int64_t any(sc_timestamp_format f, const char *s)
{
    int64_t ns = -42;
    int rc = sc_timestamp_parse(f, s, strlen(s), &ns);
    return rc < 0 ? rc : ns;
}

static void days_from_civil_matches_known_dates(void)
{
    CHECK_EQ(sc_timestamp_days_from_civil(1970, 1, 1), 0);
    CHECK_EQ(sc_timestamp_days_from_civil(1969, 12, 31), -1);
    CHECK_EQ(sc_timestamp_days_from_civil(2000, 3, 1), 11017);
    CHECK_EQ(sc_timestamp_days_from_civil(2026, 11, 22), 20779);
    CHECK_EQ(sc_timestamp_days_from_civil(1600, 1, 1), -135140);
}

static void rfc3339_forms(void)
{
    CHECK_EQ(rfc("2026-11-22T19:23:21Z"), S(1795375401));
    CHECK_EQ(rfc("2026-11-22t19:23:21z"), S(1795375401));
    CHECK_EQ(rfc("2026-11-22 19:23:21Z"), S(1795375401));
    CHECK_EQ(rfc("2026-11-22T19:23:21+00:00"), S(1795375401)); /* nginx $time_iso8601 */
    CHECK_EQ(rfc("2026-11-22T19:23:21.042Z"), S(1795375401) + 42000000);
    CHECK_EQ(rfc("2026-11-22T19:23:21.5Z"), S(1795375401) + 500000000);
    CHECK_EQ(rfc("2026-11-22T19:23:21.123456789Z"), S(1795375401) + 123456789);
    CHECK_EQ(rfc("2026-11-22T19:23:21.1234567899Z"), S(1795375401) + 123456789); /* truncated */
    CHECK_EQ(rfc("2026-11-22T19:23:21,25Z"), S(1795375401) + 250000000);         /* ISO comma */
}

static void rfc3339_offsets(void)
{
    CHECK_EQ(rfc("2026-11-22T19:23:21+05:30"), S(1795355601));
    CHECK_EQ(rfc("2026-11-22T19:23:21-08:00"), S(1795404201));
    CHECK_EQ(rfc("2026-11-22T19:23:21+0530"), S(1795355601));
    CHECK_EQ(rfc("2026-11-22T19:23:21-0800"), S(1795404201));
    CHECK_EQ(rfc("2026-11-22T19:23:21+05"), S(1795375401 - 5 * 3600));
    CHECK_EQ(rfc("2026-11-22T19:23:21.250-00:30"), S(1795375401 + 1800) + 250000000);
    /* An offset that moves the date across midnight and a year boundary. */
    CHECK_EQ(rfc("2023-01-01T00:30:00+01:00"), S(1672531200 - 1800));
}

static void rfc3339_calendar_validation(void)
{
    CHECK_EQ(rfc("2024-02-29T12:00:00Z"), S(1709208000)); /* leap year */
    CHECK_EQ(rfc("2000-02-29T00:00:00Z"), S(951782400));  /* divisible by 400 */
    CHECK_EQ(rfc("2023-02-29T00:00:00Z"), -EINVAL);
    CHECK_EQ(rfc("2100-02-29T00:00:00Z"), -EINVAL); /* divisible by 100, not 400 */
    CHECK_EQ(rfc("2026-04-31T00:00:00Z"), -EINVAL);
    CHECK_EQ(rfc("2026-13-01T00:00:00Z"), -EINVAL);
    CHECK_EQ(rfc("2026-00-01T00:00:00Z"), -EINVAL);
    CHECK_EQ(rfc("2026-01-00T00:00:00Z"), -EINVAL);
    CHECK_EQ(rfc("2026-01-32T00:00:00Z"), -EINVAL);
    CHECK_EQ(rfc("2026-01-01T24:00:00Z"), -EINVAL);
    CHECK_EQ(rfc("2026-01-01T00:60:00Z"), -EINVAL);
    CHECK_EQ(rfc("2026-01-01T00:00:61Z"), -EINVAL);
    /* Leap second: RFC 3339 allows :60; it lands on the next second. */
    CHECK_EQ(rfc("2016-12-31T23:59:60Z"), rfc("2017-01-01T00:00:00Z"));
}

static void rfc3339_rejects_malformed_and_out_of_range(void)
{
    const char *bad[] = {
        "",
        "2026-11-22",
        "2026-11-22T19:23:21",       /* no offset: local time is ambiguous */
        "2026-11-22T19:23:21.Z",     /* empty fraction */
        "2026-11-22T19:23:21+25:00", /* offset hour */
        "2026-11-22T19:23:21+05:60",
        "2026-11-22T19:23:21+5:30",
        "2026-11-22T19:23:21 Z",
        "2026-11-22T19:23:21Zjunk",
        "2026/11/22T19:23:21Z",
        "2026-11-22X19:23:21Z",
        "2026-1a-22T19:23:21Z",
        "+2026-11-22T19:23:21Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ns = 7;
        CHECK_EQ(sc_timestamp_parse_rfc3339(bad[i], strlen(bad[i]), &ns), -EINVAL);
        CHECK_EQ(ns, 7);
    }
    CHECK_EQ(rfc("1969-12-31T23:59:59Z"), -ERANGE);
    CHECK_EQ(rfc("0001-01-01T00:00:00Z"), -ERANGE); /* Go's zero time */
    CHECK_EQ(rfc("1970-01-01T00:00:00Z"), 0);
    CHECK_EQ(rfc("2262-04-11T23:47:15Z"), S(9223372035));
    CHECK_EQ(rfc("2262-04-11T23:47:16Z"), -ERANGE);
    CHECK_EQ(rfc("9999-12-31T23:59:59Z"), -ERANGE);
    /* Not NUL-terminated: only n bytes are read. */
    const char buf[] = "2026-11-22T19:23:21Z9999";
    int64_t ns;
    CHECK_EQ(sc_timestamp_parse_rfc3339(buf, 20, &ns), 0);
    CHECK_EQ(ns, S(1795375401));
}

static void nginx_time_local(void)
{
    CHECK_EQ(local("22/Nov/2026:19:23:21 +0000"), S(1795375401));
    CHECK_EQ(local("22/Nov/2026:21:23:21 +0200"), S(1795375401));
    CHECK_EQ(local("22/Nov/2026:12:23:21 -0700"), S(1795375401));
    CHECK_EQ(local("29/Feb/2024:12:00:00 +0000"), S(1709208000));
    CHECK_EQ(local("29/Feb/2023:12:00:00 +0000"), -EINVAL);
    CHECK_EQ(local("22/nov/2026:19:23:21 +0000"), -EINVAL); /* nginx writes "Nov" */
    CHECK_EQ(local("22/Foo/2026:19:23:21 +0000"), -EINVAL);
    CHECK_EQ(local("22/Nov/2026:19:23:21 +00:00"), -EINVAL);
    CHECK_EQ(local("22/Nov/2026:19:23:21"), -EINVAL);
    CHECK_EQ(local("22/Nov/2026 19:23:21 +0000"), -EINVAL);
    CHECK_EQ(local("2/Nov/2026:19:23:21 +0000 "), -EINVAL);
    CHECK_EQ(local("22/Nov/2026:25:23:21 +0000"), -EINVAL);
    CHECK_EQ(local("31/Dec/1969:23:59:59 +0000"), -ERANGE);
}

static void epoch_forms(void)
{
    CHECK_EQ(epoch("1763839401", 0), S(1763839401));
    CHECK_EQ(epoch("1763839401.123", 0), S(1763839401) + 123000000);     /* nginx $msec */
    CHECK_EQ(epoch("1795377971.9824553", 0), S(1795377971) + 982455300); /* Caddy "ts" */
    CHECK_EQ(epoch("1763839401123", 3), S(1763839401) + 123000000);
    CHECK_EQ(epoch("1763839401123456", 6), S(1763839401) + 123456000);
    CHECK_EQ(epoch("1763839401123456789", 9), S(1763839401) + 123456789);
    CHECK_EQ(epoch("1.7638394011e9", 0), S(1763839401) + 100000000);
    CHECK_EQ(epoch("0", 0), 0);
    CHECK_EQ(epoch("-1", 0), -ERANGE);
    CHECK_EQ(epoch("9223372036", 0), -ERANGE);
    CHECK_EQ(epoch("99999999999999999999", 9), -ERANGE);
    CHECK_EQ(epoch("", 0), -EINVAL);
    CHECK_EQ(epoch("abc", 0), -EINVAL);
    CHECK_EQ(epoch("1.", 0), -EINVAL);
    CHECK_EQ(epoch(".5", 0), -EINVAL);
    CHECK_EQ(epoch("1e", 0), -EINVAL);
    CHECK_EQ(epoch("1 ", 0), -EINVAL);
    CHECK_EQ(epoch("1", 10), -EINVAL);
}

static void auto_detects_each_form(void)
{
    CHECK_EQ(any(SC_TIMESTAMP_AUTO, "2026-11-22T19:23:21+00:00"), S(1795375401));
    CHECK_EQ(any(SC_TIMESTAMP_AUTO, "22/Nov/2026:19:23:21 +0000"), S(1795375401));
    CHECK_EQ(any(SC_TIMESTAMP_AUTO, "1795375401.5"), S(1795375401) + 500000000);
    CHECK_EQ(any(SC_TIMESTAMP_AUTO, "1795375401500"), S(1795375401) + 500000000);
    CHECK_EQ(any(SC_TIMESTAMP_AUTO, "1795375401500000"), S(1795375401) + 500000000);
    CHECK_EQ(any(SC_TIMESTAMP_AUTO, "1795375401500000000"), S(1795375401) + 500000000);
    CHECK_EQ(any(SC_TIMESTAMP_AUTO, "yesterday"), -EINVAL);
    CHECK_EQ(any(SC_TIMESTAMP_EPOCH_MS, "1795375401500"), S(1795375401) + 500000000);
    CHECK_EQ(any(SC_TIMESTAMP_EPOCH_US, "1795375401500000"), S(1795375401) + 500000000);
    CHECK_EQ(any(SC_TIMESTAMP_EPOCH_NS, "1795375401500000000"), S(1795375401) + 500000000);
    CHECK_EQ(any(SC_TIMESTAMP_NGINX_LOCAL, "2026-11-22T19:23:21Z"), -EINVAL);
    CHECK_EQ(any(SC_TIMESTAMP__COUNT, "0"), -EINVAL);
}

static void decimal_scaling(void)
{
    int64_t v;
    CHECK_EQ(sc_timestamp_decimal("0.000123", 8, 9, &v), 0);
    CHECK_EQ(v, 123000);
    CHECK_EQ(sc_timestamp_decimal("-1.5", 4, 3, &v), 0);
    CHECK_EQ(v, -1500);
    CHECK_EQ(sc_timestamp_decimal("0.1", 3, 9, &v), 0);
    CHECK_EQ(v, 100000000);
    CHECK_EQ(sc_timestamp_decimal("1.9999", 6, 0, &v), 0); /* truncates toward zero */
    CHECK_EQ(v, 1);
    CHECK_EQ(sc_timestamp_decimal("2.5E-3", 6, 9, &v), 0);
    CHECK_EQ(v, 2500000);
    CHECK_EQ(sc_timestamp_decimal("1e-30", 5, 9, &v), 0);
    CHECK_EQ(v, 0);
    CHECK_EQ(sc_timestamp_decimal("000012", 6, 0, &v), 0);
    CHECK_EQ(v, 12);
    /* More than 18 significant digits: precision is dropped, magnitude kept. */
    CHECK_EQ(sc_timestamp_decimal("1234567890123456789012", 22, -4, &v), 0);
    CHECK_EQ(v, 123456789012345678LL);
    CHECK_EQ(sc_timestamp_decimal("12345678901234567890", 20, 0, &v), -ERANGE);
    CHECK_EQ(sc_timestamp_decimal("1e400", 5, 0, &v), -ERANGE);
    CHECK_EQ(sc_timestamp_decimal("1", 1, 19, &v), -EINVAL);
    CHECK_EQ(sc_timestamp_decimal("--1", 3, 0, &v), -EINVAL);
    CHECK_EQ(sc_timestamp_decimal("+1", 2, 0, &v), -EINVAL);
    CHECK_EQ(sc_timestamp_decimal("-", 1, 0, &v), -EINVAL);
}

static void format_names_round_trip(void)
{
    for (int f = 0; f < SC_TIMESTAMP__COUNT; f++) {
        const char *name = sc_timestamp_format_name((sc_timestamp_format)f);
        REQUIRE(name != NULL);
        sc_timestamp_format back = SC_TIMESTAMP__COUNT;
        CHECK_EQ(sc_timestamp_format_parse(name, strlen(name), &back), 0);
        CHECK_EQ(back, f);
    }
    CHECK_STR(sc_timestamp_format_name(SC_TIMESTAMP_NGINX_LOCAL), "nginx_time_local");
    CHECK(sc_timestamp_format_name(SC_TIMESTAMP__COUNT) == NULL);
    sc_timestamp_format out;
    CHECK_EQ(sc_timestamp_format_parse("RFC3339", 7, &out), -EINVAL);
}

int main(void)
{
    RUN(days_from_civil_matches_known_dates);
    RUN(rfc3339_forms);
    RUN(rfc3339_offsets);
    RUN(rfc3339_calendar_validation);
    RUN(rfc3339_rejects_malformed_and_out_of_range);
    RUN(nginx_time_local);
    RUN(epoch_forms);
    RUN(auto_detects_each_form);
    RUN(decimal_scaling);
    RUN(format_names_round_trip);
    return sc_test_summary();
}
