/* test_export_backoff.c - tests for export/backoff (retry classification, error.type values,
 * full-jitter bounds and growth, Retry-After precedence and cap) and export/lograte. */
#include <stdint.h>
#include <string.h>

#include "core/rng.h"
#include "export/backoff.h"
#include "export/lograte.h"
#include "harness.h"

static void test_classify_statuses(void)
{
    static const long ok[] = {200, 201, 202, 204, 299};
    static const long retry[] = {429, 502, 503, 504};
    static const long never[] = {100, 301, 302, 400, 401, 403, 404, 405, 408,
                                 409, 413, 415, 422, 500, 501, 505, 511, 0};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        CHECK_EQ(sc_backoff_classify(SC_HTTP_OK, ok[i]), SC_BACKOFF_SUCCESS);
    for (size_t i = 0; i < sizeof retry / sizeof retry[0]; i++)
        CHECK_EQ(sc_backoff_classify(SC_HTTP_OK, retry[i]), SC_BACKOFF_RETRYABLE);
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        CHECK_EQ(sc_backoff_classify(SC_HTTP_OK, never[i]), SC_BACKOFF_PERMANENT);
}

static void test_classify_transport_errors(void)
{
    static const sc_http_error retry[] = {SC_HTTP_ERR_TIMEOUT, SC_HTTP_ERR_DNS, SC_HTTP_ERR_CONNECT,
                                          SC_HTTP_ERR_SEND, SC_HTTP_ERR_RECV};
    static const sc_http_error never[] = {SC_HTTP_ERR_TLS, SC_HTTP_ERR_CANCELLED,
                                          SC_HTTP_ERR_ABORTED, SC_HTTP_ERR_OTHER};
    for (size_t i = 0; i < sizeof retry / sizeof retry[0]; i++) {
        CHECK_EQ(sc_backoff_classify(retry[i], 0), SC_BACKOFF_RETRYABLE);
        /* A status line that arrived before the connection broke changes nothing. */
        CHECK_EQ(sc_backoff_classify(retry[i], 200), SC_BACKOFF_RETRYABLE);
    }
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        CHECK_EQ(sc_backoff_classify(never[i], 0), SC_BACKOFF_PERMANENT);
    /* An oversized response to a 2xx: the collector took the data. */
    CHECK_EQ(sc_backoff_classify(SC_HTTP_ERR_TOO_LARGE, 200), SC_BACKOFF_SUCCESS);
    CHECK_EQ(sc_backoff_classify(SC_HTTP_ERR_TOO_LARGE, 400), SC_BACKOFF_PERMANENT);
}

static void test_error_type(void)
{
    char b[16];
    CHECK_STR(sc_backoff_error_type(SC_HTTP_OK, 400, b, sizeof b), "400");
    CHECK_STR(sc_backoff_error_type(SC_HTTP_OK, 503, b, sizeof b), "503");
    CHECK_STR(sc_backoff_error_type(SC_HTTP_ERR_CONNECT, 0, b, sizeof b), "connect");
    CHECK_STR(sc_backoff_error_type(SC_HTTP_ERR_TIMEOUT, 0, b, sizeof b), "timeout");
    CHECK_STR(sc_backoff_error_type(SC_HTTP_ERR_DNS, 0, b, sizeof b), "dns");
    CHECK_STR(sc_backoff_error_type(SC_HTTP_OK, 200, b, sizeof b), "");
}

static void test_jitter_bounds_and_growth(void)
{
    const sc_backoff_policy p = {.initial_ms = 100, .max_ms = 1000, .retry_after_max_ms = 5000};
    sc_rng rng;
    sc_rng_init_seeded(&rng, 42);
    /* ceilings: 100, 200, 400, 800, 1000, 1000, ... */
    static const uint64_t ceiling[] = {100, 200, 400, 800, 1000, 1000, 1000};
    for (unsigned retry = 0; retry < sizeof ceiling / sizeof ceiling[0]; retry++) {
        uint64_t lo = UINT64_MAX, hi = 0;
        for (int i = 0; i < 2000; i++) {
            uint64_t d = sc_backoff_jitter_ms(&p, retry, sc_rng_unit(&rng));
            lo = d < lo ? d : lo;
            hi = d > hi ? d : hi;
        }
        CHECK(hi < ceiling[retry]);           /* full jitter: [0, ceiling) */
        CHECK(hi >= ceiling[retry] * 9 / 10); /* and the whole range is used */
        CHECK(lo <= ceiling[retry] / 10);
    }
    /* Exact values at the edges; a huge retry number cannot overflow past the cap. */
    CHECK_EQ(sc_backoff_jitter_ms(&p, 0, 0.0), 0);
    CHECK_EQ(sc_backoff_jitter_ms(&p, 0, 0.5), 50);
    CHECK_EQ(sc_backoff_jitter_ms(&p, 3, 0.5), 400);
    CHECK_EQ(sc_backoff_jitter_ms(&p, 1000000, 0.999), 999);
    CHECK_EQ(sc_backoff_jitter_ms(&p, 2, 1.5), 0); /* out-of-range u is not trusted */
}

static void test_defaults(void)
{
    sc_backoff_policy p;
    sc_backoff_policy_default(&p);
    CHECK_EQ(p.initial_ms, SC_BACKOFF_DEFAULT_INITIAL_MS);
    CHECK_EQ(p.max_ms, SC_BACKOFF_DEFAULT_MAX_MS);
    CHECK_EQ(p.retry_after_max_ms, SC_BACKOFF_DEFAULT_RETRY_AFTER_MS);
}

static void test_retry_after_precedence_and_cap(void)
{
    const sc_backoff_policy p = {.initial_ms = 100, .max_ms = 1000, .retry_after_max_ms = 5000};
    int srv = -1;
    /* Seconds win over backoff, exactly, whatever the jitter draw. */
    CHECK_EQ(sc_backoff_next_ms(&p, 0, 0.99, "2", 1, 1000, &srv), 2000);
    CHECK_EQ(srv, 1);
    CHECK_EQ(sc_backoff_next_ms(&p, 5, 0.0, "0", 1, 1000, &srv), 0);
    CHECK_EQ(srv, 1);
    /* Capped. */
    CHECK_EQ(sc_backoff_next_ms(&p, 0, 0.5, "3600", 4, 1000, &srv), 5000);
    /* HTTP-date 3 s ahead of now (Sun, 06 Nov 1994 08:49:37 GMT = 784111777). */
    const char *date = "Sun, 06 Nov 1994 08:49:40 GMT";
    CHECK_EQ(sc_backoff_next_ms(&p, 0, 0.5, date, strlen(date), 784111777, &srv), 3000);
    CHECK_EQ(srv, 1);
    /* A date in the past means now. */
    CHECK_EQ(sc_backoff_next_ms(&p, 0, 0.5, date, strlen(date), 784111800, &srv), 0);
    /* Absent or unparsable: backoff with jitter. */
    CHECK_EQ(sc_backoff_next_ms(&p, 2, 0.5, NULL, 0, 1000, &srv), 200);
    CHECK_EQ(srv, 0);
    CHECK_EQ(sc_backoff_next_ms(&p, 2, 0.5, "soon", 4, 1000, &srv), 200);
    CHECK_EQ(srv, 0);
    CHECK_EQ(sc_backoff_next_ms(&p, 2, 0.5, "-1", 2, 1000, NULL), 200);
}

static void test_lograte_once_per_cause(void)
{
    sc_lograte lr;
    uint64_t sup = 99;
    memset(&lr, 0, sizeof lr);
    CHECK_EQ(sc_lograte_allow(&lr, "status 400", 1000, &sup), 1);
    CHECK_EQ(sup, 0);
    for (int i = 0; i < 100; i++)
        CHECK_EQ(sc_lograte_allow(&lr, "status 400", 1000 + (uint64_t)i, NULL), 0);
    CHECK_EQ(sc_lograte_allow(&lr, "status 401", 2000, NULL), 1);
    /* After a success the same cause is news again. */
    sc_lograte_reset(&lr);
    CHECK_EQ(sc_lograte_allow(&lr, "status 400", 3000, NULL), 1);
}

static void test_lograte_per_minute_cap(void)
{
    sc_lograte lr;
    char cause[32];
    uint64_t sup = 0;
    memset(&lr, 0, sizeof lr);
    int allowed = 0;
    for (int i = 0; i < 25; i++) {
        snprintf(cause, sizeof cause, "partial message %d", i);
        allowed += sc_lograte_allow(&lr, cause, 5000 + (uint64_t)i, NULL);
    }
    CHECK_EQ(allowed, SC_LOGRATE_PER_MIN);
    /* A minute later the next new cause is logged and reports what was withheld. */
    CHECK_EQ(sc_lograte_allow(&lr, "another", 5000 + 60000, &sup), 1);
    CHECK_EQ(sup, 25 - SC_LOGRATE_PER_MIN);
}

int main(void)
{
    RUN(test_classify_statuses);
    RUN(test_classify_transport_errors);
    RUN(test_error_type);
    RUN(test_jitter_bounds_and_growth);
    RUN(test_defaults);
    RUN(test_retry_after_precedence_and_cap);
    RUN(test_lograte_once_per_cause);
    RUN(test_lograte_per_minute_cap);
    return sc_test_summary();
}
