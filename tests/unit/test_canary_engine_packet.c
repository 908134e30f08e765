/* test_canary_engine_packet.c - tests for canary/support_packet: the --since parser (RFC 3339 and
 * durations), and the packet: runs ordered by time, --since filtering, torn lines skipped, a line
 * holding the key withheld, the redacted configuration, versions, and the error paths. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "canary/evidence.h"
#include "canary/support_packet.h"
#include "harness.h"

#define T0  1795375401042000000ull /* 2026-11-22T19:23:21.042Z */
#define SEC 1000000000ull
#define KEY "sk-packet-test-key-0123456789"

static void rfc3339(void)
{
    uint64_t ns;
    const char *z = "2026-11-22T19:23:21.042Z";
    CHECK_EQ(sc_support_packet_parse_rfc3339(z, strlen(z), &ns), 0);
    CHECK(ns == T0);
    const char *off = "2026-11-22T20:23:21.042+01:00";
    CHECK_EQ(sc_support_packet_parse_rfc3339(off, strlen(off), &ns), 0);
    CHECK(ns == T0);
    const char *low = "2026-11-22t19:23:21z";
    CHECK_EQ(sc_support_packet_parse_rfc3339(low, strlen(low), &ns), 0);
    CHECK(ns == T0 - 42000000ull);
    const char *leap = "2024-02-29T00:00:00Z";
    CHECK_EQ(sc_support_packet_parse_rfc3339(leap, strlen(leap), &ns), 0);
    CHECK(ns == 1709164800ull * SEC);
    const char *epoch = "1970-01-01T00:00:00Z";
    CHECK_EQ(sc_support_packet_parse_rfc3339(epoch, strlen(epoch), &ns), 0);
    CHECK(ns == 0);
    const char *bad[] = {
        "2025-02-29T00:00:00Z",     "2026-13-01T00:00:00Z", "2026-11-22T24:00:00Z",
        "2026-11-22 19:23:21Z",     "2026-11-22T19:23:21",  "2026-11-22T19:23:21.Z",
        "2026-11-22T19:23:21+0100", "1969-12-31T23:59:59Z", "yesterday"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ(sc_support_packet_parse_rfc3339(bad[i], strlen(bad[i]), &ns), -EINVAL);
}

static void since(void)
{
    uint64_t ns;
    const uint64_t now = T0;
    CHECK_EQ(sc_support_packet_parse_since("1h", now, &ns), 0);
    CHECK(ns == now - 3600 * SEC);
    CHECK_EQ(sc_support_packet_parse_since("1h30m", now, &ns), 0);
    CHECK(ns == now - 5400 * SEC);
    CHECK_EQ(sc_support_packet_parse_since("2d", now, &ns), 0);
    CHECK(ns == now - 2 * 86400 * SEC);
    CHECK_EQ(sc_support_packet_parse_since("500ms", now, &ns), 0);
    CHECK(ns == now - SEC / 2);
    CHECK_EQ(sc_support_packet_parse_since("2026-11-22T19:23:21.042Z", now, &ns), 0);
    CHECK(ns == T0);
    CHECK_EQ(sc_support_packet_parse_since("100000d", now, &ns), -EINVAL); /* > 5 digits */
    CHECK_EQ(sc_support_packet_parse_since("99999d", 1000, &ns), 0);
    CHECK(ns == 1); /* further back than the epoch: everything */
    CHECK_EQ(sc_support_packet_parse_since("3600", now, &ns), -EINVAL); /* unit required */
    CHECK_EQ(sc_support_packet_parse_since("", now, &ns), -EINVAL);
    CHECK_EQ(sc_support_packet_parse_since("1 h", now, &ns), -EINVAL);
    CHECK_EQ(sc_support_packet_parse_since("d", now, &ns), -EINVAL);
}

static char dir[64];

static void line(FILE *f, const char *probe, uint64_t start, const char *result)
{
    sc_evidence_attempt at = {1,
                              "primary",
                              start,
                              start + SEC / 10,
                              "2xx",
                              200,
                              "none",
                              "none",
                              "0123456789abcdef0123456789abcdef",
                              "req_up|1",
                              false};
    sc_evidence_run r = {.test_id = "6f1c2d1e-8a7b-4c3d-9e2f-0a1b2c3d4e5f",
                         .probe = probe,
                         .environment = "prod",
                         .started_ns = start,
                         .completed_ns = start + SEC / 10,
                         .api_surface = "chat_completions",
                         .route_template = "POST /v1/chat/completions",
                         .route_name = probe,
                         .status_class = "2xx",
                         .http_status = 200,
                         .error_class = "none",
                         .fallback_decision = "not_needed",
                         .fallback_reason = "none",
                         .request_id = "0123456789abcdef0123456789abcdef",
                         .trace_id = "4bf92f3577b34da6a3ce929d0e0e4736",
                         .passed = strcmp(result, "pass") == 0,
                         .expected = "success",
                         .attempts = &at,
                         .n_attempts = 1};
    sc_buf b;
    sc_buf_init(&b, SC_EVIDENCE_LINE_MAX);
    sc_evidence_format(&r, &b);
    fputs(b.data, f);
    sc_buf_free(&b);
}

static char *slurp(const char *path)
{
    static char buf[1 << 18];
    FILE *fp = fopen(path, "r");
    size_t n = fp ? fread(buf, 1, sizeof buf - 1, fp) : 0;
    if (fp)
        fclose(fp);
    buf[n] = '\0';
    return buf;
}

static int load_cfg(sc_config *c)
{
    const char *sets[] = {"cometapi.api_key=" KEY, "probes.0.name=chat",
                          "exporter.otlp.headers.authorization=Bearer otlp-secret-token"};
    sc_config_sources src = {.sets = sets, .n_sets = 3};
    sc_config_error err;
    return sc_config_load(&src, c, &err);
}

static void packet(void)
{
    char ev[128], out[128], path[160];
    snprintf(ev, sizeof ev, "%s/evidence.jsonl", dir);
    snprintf(out, sizeof out, "%s/packet", dir);
    FILE *f = fopen(ev, "w");
    REQUIRE(f != NULL);
    line(f, "late", T0 + 20 * SEC, "fail");
    line(f, "early", T0, "pass");
    fputs("{\"evidence_version\":1,\"probe\":\"torn\",\"started_at\":\"2026-11-2\n", f);
    fputs("{\"probe\":\"leak\",\"started_at\":\"2026-11-22T19:23:30.000Z\",\"x\":\"" KEY "\"}\n",
          f);
    line(f, "old", T0 - 3600 * SEC, "pass");
    fclose(f);
    sc_config cfg;
    REQUIRE(load_cfg(&cfg) == 0);
    char err[256];
    REQUIRE(sc_support_packet_write(ev, T0 - 60 * SEC, out, &cfg, err, sizeof err) == 0);

    snprintf(path, sizeof path, "%s/evidence.jsonl", out);
    const char *copy = slurp(path);
    const char *e = strstr(copy, "\"probe\":\"early\""), *l = strstr(copy, "\"probe\":\"late\"");
    CHECK(e != NULL && l != NULL && e < l);           /* ordered by started_at */
    CHECK(strstr(copy, "\"probe\":\"old\"") == NULL); /* before --since */
    CHECK(strstr(copy, "torn") == NULL && strstr(copy, "leak") == NULL);
    CHECK(strstr(copy, KEY) == NULL);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0077) == 0);

    snprintf(path, sizeof path, "%s/support-packet.md", out);
    const char *md = slurp(path);
    CHECK(strstr(md, KEY) == NULL);
    CHECK(strstr(md, "otlp-secret-token") == NULL);
    CHECK(strstr(md, "# comet-sidecar support packet") != NULL);
    CHECK(strstr(md, ", libuv ") != NULL && strstr(md, ", libcurl ") != NULL);
    CHECK(strstr(md, "Lines read: 5; included: 2; before --since: 1; unreadable (not JSON, "
                     "torn or no started_at): 1; over the line limit: 0; withheld (contained a "
                     "secret): 1") != NULL);
    CHECK(strstr(md, "(runs since 2026-11-22T19:22:21.042Z)") != NULL);
    CHECK(strstr(md, "| 1 | 2026-11-22T19:23:21.042Z | early | chat_completions | success | "
                     "none | pass | 200 | 0 | not_needed | <1s | "
                     "4bf92f3577b34da6a3ce929d0e0e4736 | 0123456789abcdef0123456789abcdef | - |") !=
          NULL);
    CHECK(strstr(md, "| 2 | late | 1 | primary |") != NULL);
    CHECK(strstr(md, "req_up\\|1") != NULL); /* a '|' in a value cannot break the table */
    CHECK(strstr(md, "| early | 1 | 1 | 0 | pass |") != NULL);
    CHECK(strstr(md, "| late | 1 | 0 | 1 | fail |") != NULL);
    CHECK(strstr(md, "\"api_key\": \"[REDACTED]\"") != NULL);
    CHECK(strstr(md, "\"name\": \"chat\"") != NULL);

    /* Everything (since 0), into the same directory again. */
    REQUIRE(sc_support_packet_write(ev, 0, out, &cfg, err, sizeof err) == 0);
    CHECK(strstr(slurp(path), "included: 3") != NULL);

    CHECK_EQ(sc_support_packet_write("/nonexistent/evidence.jsonl", 0, out, &cfg, err, sizeof err),
             -ENOENT);
    CHECK_STR(err, "cannot read the evidence file /nonexistent/evidence.jsonl: No such file or "
                   "directory");
    CHECK_EQ(sc_support_packet_write(ev, 0, ev, &cfg, err, sizeof err), -ENOTDIR);
    sc_config_free(&cfg);
    snprintf(path, sizeof path, "%s/support-packet.md", out);
    unlink(path);
    snprintf(path, sizeof path, "%s/evidence.jsonl", out);
    unlink(path);
    rmdir(out);
    unlink(ev);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/sc-test-packet-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    RUN(rfc3339);
    RUN(since);
    RUN(packet);
    rmdir(dir);
    return sc_test_summary();
}
