/* test_core.c - tests for core/: buf, jsonw, log, clock and rng. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/rng.h"
#include "harness.h"

static void buf_respects_cap(void)
{
    sc_buf b;
    sc_buf_init(&b, 8);
    CHECK_EQ(sc_buf_append_str(&b, "12345678"), 0);
    CHECK_EQ(sc_buf_append(&b, "9", 1), -ENOBUFS);
    CHECK_EQ(b.len, 8);
    CHECK_STR(b.data, "12345678");
    sc_buf_reset(&b);
    CHECK_EQ(b.len, 0);
    sc_buf_free(&b);
}

static void buf_reserve_makes_room_within_cap(void)
{
    sc_buf b;
    sc_buf_init(&b, 1000);
    CHECK_EQ(sc_buf_append_str(&b, "ab"), 0);
    CHECK_EQ(sc_buf_reserve(&b, 999), -ENOBUFS); /* 2 + 999 > 1000: nothing changes */
    CHECK_EQ(b.len, 2);
    CHECK_STR(b.data, "ab");
    CHECK_EQ(sc_buf_reserve(&b, 998), 0);
    CHECK(b.cap >= 2 + 998 + 1);
    CHECK_EQ(b.len, 2);
    CHECK_STR(b.data, "ab");
    char *before = b.data;
    CHECK_EQ(sc_buf_append(&b, "c", 1), 0); /* the room is there: no reallocation */
    CHECK(b.data == before);
    sc_buf_free(&b);
}

static void jsonw_escapes_and_replaces_invalid_utf8(void)
{
    sc_buf b;
    sc_buf_init(&b, 256);
    const char in[] = "a\"b\\c\n\x01\xc3\xa9\xff";
    CHECK_EQ(sc_jsonw_str(&b, in, sizeof in - 1), 0);
    CHECK_STR(b.data, "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\\ufffd\"");
    sc_buf_reset(&b);
    sc_jsonw_double(&b, 0.25);
    CHECK_STR(b.data, "0.25");
    sc_buf_free(&b);
}

static void clock_formats_rfc3339(void)
{
    char out[32];
    CHECK_EQ(sc_clock_format_rfc3339_ms(1795375401042000000ull, out, sizeof out), 24);
    CHECK_STR(out, "2026-11-22T19:23:21.042Z");
    CHECK_EQ(sc_clock_format_rfc3339_ms(0, out, 10), -ENOBUFS);
}

static void rng_seeded_is_deterministic(void)
{
    sc_rng a, b;
    sc_rng_init_seeded(&a, 42);
    sc_rng_init_seeded(&b, 42);
    CHECK(sc_rng_u64(&a) == sc_rng_u64(&b));
    char hex[33];
    CHECK_EQ(sc_rng_hex(&a, hex, 32), 0);
    CHECK_EQ(strlen(hex), 32);
    double u = sc_rng_unit(&a);
    CHECK(u >= 0.0 && u < 1.0);
    sc_rng sys;
    sc_rng_init_system(&sys);
    unsigned char x[300] = {0}, y[300] = {0};
    CHECK_EQ(sc_rng_fill(&sys, x, sizeof x), 0);
    CHECK_EQ(sc_rng_fill(&sys, y, sizeof y), 0);
    CHECK(memcmp(x, y, sizeof x) != 0);
}

static void log_writes_json_lines_and_scrubs_secrets(void)
{
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    sc_clock_fake clk;
    sc_clock_fake_init(&clk, 1795375401042000000ull);
    sc_log *log;
    REQUIRE(sc_log_new(&log, fds[1], SC_LOG_INFO, &clk.base) == 0);
    sc_log_set_secret(log, 0, "sk-test-secret-value");
    sc_log_debug(log, "hidden");
    sc_log_info(log, "hello", SC_F_STR("k", "v\"x"), SC_F_INT("n", -3), SC_F_BOOL("b", 1));
    sc_log_warn(log, "leak", SC_F_STR("oops", "Bearer sk-test-secret-value"));
    sc_log_free(log);
    close(fds[1]);
    char out[1024] = {0};
    ssize_t n = read(fds[0], out, sizeof out - 1);
    close(fds[0]);
    REQUIRE(n > 0);
    CHECK(strstr(out, "hidden") == NULL);
    CHECK(strstr(out, "{\"time\":\"2026-11-22T19:23:21.042Z\",\"level\":\"info\",\"msg\":\"hello\","
                      "\"k\":\"v\\\"x\",\"n\":-3,\"b\":true}\n") != NULL);
    CHECK(strstr(out, "sk-test-secret-value") == NULL);
    CHECK(strstr(out, "[REDACTED]") != NULL);
}

static void log_truncates_long_lines_validly(void)
{
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    sc_log *log;
    REQUIRE(sc_log_new(&log, fds[1], SC_LOG_INFO, sc_clock_system()) == 0);
    char *big = malloc(SC_LOG_LINE_MAX * 2);
    memset(big, 'x', SC_LOG_LINE_MAX * 2 - 1);
    big[SC_LOG_LINE_MAX * 2 - 1] = '\0';
    sc_log_info(log, "big", SC_F_STR("a", "small"), SC_F_STR("b", big));
    free(big);
    sc_log_free(log);
    close(fds[1]);
    static char out[SC_LOG_LINE_MAX * 2];
    ssize_t n = read(fds[0], out, sizeof out - 1);
    close(fds[0]);
    REQUIRE(n > 0 && n <= SC_LOG_LINE_MAX);
    out[n] = '\0';
    CHECK(strstr(out, "\"a\":\"small\",\"truncated\":true}\n") != NULL);
}

static void log_level_parse(void)
{
    sc_log_level l;
    CHECK_EQ(sc_log_level_parse("WARNING", &l), 0);
    CHECK_EQ(l, SC_LOG_WARN);
    CHECK_EQ(sc_log_level_parse("loud", &l), -EINVAL);
}

int main(void)
{
    RUN(buf_respects_cap);
    RUN(buf_reserve_makes_room_within_cap);
    RUN(jsonw_escapes_and_replaces_invalid_utf8);
    RUN(clock_formats_rfc3339);
    RUN(rng_seeded_is_deterministic);
    RUN(log_writes_json_lines_and_scrubs_secrets);
    RUN(log_truncates_long_lines_validly);
    RUN(log_level_parse);
    return sc_test_summary();
}
