/* test_canary_evidence.c - tests for canary/evidence: the exact line format, elapsed buckets,
 * argument checks and rollback, and the writer: appending through the threadpool, the bounded
 * queue, errors logged once per cause (disk full via /dev/full, a missing directory), recovery,
 * close flushing, and no handle left behind. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "canary/evidence.h"
#include "harness.h"

#define T0 1795375401042000000ull /* 2026-11-22T19:23:21.042Z */
#define MS 1000000ull

static void buckets(void)
{
    const uint64_t s = 1000000000ull;
    CHECK_STR(sc_evidence_elapsed_bucket(0), "<1s");
    CHECK_STR(sc_evidence_elapsed_bucket(s - 1), "<1s");
    CHECK_STR(sc_evidence_elapsed_bucket(s), "1-2s");
    CHECK_STR(sc_evidence_elapsed_bucket(2 * s - 1), "1-2s");
    CHECK_STR(sc_evidence_elapsed_bucket(2 * s), "2-5s");
    CHECK_STR(sc_evidence_elapsed_bucket(5 * s - 1), "2-5s");
    CHECK_STR(sc_evidence_elapsed_bucket(5 * s), "5-10s");
    CHECK_STR(sc_evidence_elapsed_bucket(10 * s - 1), "5-10s");
    CHECK_STR(sc_evidence_elapsed_bucket(10 * s), ">10s");
    CHECK_STR(sc_evidence_elapsed_bucket(UINT64_MAX), ">10s");
}

static const char *const viol[] = {"missing_usage", "shape_drift"};
static const char *const added[] = {"mock_unexpected_field"};
static const char *const missing[] = {"created", "system_fingerprint"};

static sc_evidence_run sample(sc_evidence_attempt at[2])
{
    at[0] = (sc_evidence_attempt){1,
                                  "primary",
                                  T0,
                                  T0 + 100 * MS,
                                  "5xx",
                                  503,
                                  "upstream_error",
                                  "retrying",
                                  "0123456789abcdef0123456789abcdef",
                                  "req_1",
                                  false};
    at[1] = (sc_evidence_attempt){2,
                                  "primary",
                                  T0 + 300 * MS,
                                  T0 + 1500 * MS,
                                  "2xx",
                                  200,
                                  "none",
                                  "none",
                                  "fedcba9876543210fedcba9876543210",
                                  NULL,
                                  false};
    return (sc_evidence_run){
        .test_id = "6f1c2d1e-8a7b-4c3d-9e2f-0a1b2c3d4e5f",
        .probe = "chat",
        .environment = "staging",
        .started_ns = T0,
        .completed_ns = T0 + 1500 * MS,
        .api_surface = "chat_completions",
        .route_template = "POST /v1/chat/completions",
        .route_name = "chat",
        .model = "gpt-4o-mini",
        .stream = false,
        .status_class = "2xx",
        .http_status = 200,
        .error_class = "none",
        .retry_count = 1,
        .fallback_decision = "not_needed",
        .fallback_reason = "none",
        .usage_present = false,
        .request_id = "fedcba9876543210fedcba9876543210",
        .upstream_request_id = "",
        .trace_id = "4bf92f3577b34da6a3ce929d0e0e4736",
        .passed = true,
        .expected = "success",
        .violations = viol,
        .n_violations = 2,
        .shape_added = added,
        .n_shape_added = 1,
        .shape_missing = missing,
        .n_shape_missing = 2,
        .attempts = at,
        .n_attempts = 2,
    };
}

static void line_format_is_exact(void)
{
    sc_evidence_attempt at[2];
    sc_evidence_run r = sample(at);
    sc_buf b;
    sc_buf_init(&b, SC_EVIDENCE_LINE_MAX);
    REQUIRE(sc_evidence_format(&r, &b) == 0);
    const char *want =
        "{\"evidence_version\":1,\"test_id\":\"6f1c2d1e-8a7b-4c3d-9e2f-0a1b2c3d4e5f\","
        "\"probe\":\"chat\",\"environment\":\"staging\","
        "\"started_at\":\"2026-11-22T19:23:21.042Z\",\"completed_at\":\"2026-11-22T19:23:22.542Z\","
        "\"api_surface\":\"chat_completions\","
        "\"verified_upstream_route_template\":\"POST /v1/chat/completions\","
        "\"gateway_route_name\":\"chat\",\"model\":\"gpt-4o-mini\",\"stream\":false,"
        "\"status_code_class\":\"2xx\",\"http_status\":200,\"error_class\":\"none\","
        "\"retry_count\":1,\"fallback_decision\":\"not_needed\",\"fallback_reason\":\"none\","
        "\"fallback_result\":null,\"usage_present\":false,\"elapsed_time_bucket\":\"1-2s\","
        "\"request_id\":\"fedcba9876543210fedcba9876543210\",\"upstream_request_id\":null,"
        "\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
        "\"redaction_status\":\"prompt_response_and_credential_not_logged\","
        "\"operator_result\":\"pass\",\"expected\":\"success\","
        "\"contract_violations\":[\"missing_usage\",\"shape_drift\"],"
        "\"shape_added\":[\"mock_unexpected_field\"],"
        "\"shape_missing\":[\"created\",\"system_fingerprint\"],\"attempts\":["
        "{\"attempt\":1,\"target\":\"primary\",\"started_at\":\"2026-11-22T19:23:21.042Z\","
        "\"completed_at\":\"2026-11-22T19:23:21.142Z\",\"status_code_class\":\"5xx\","
        "\"http_status\":503,\"error_class\":\"upstream_error\",\"retry_decision\":\"retrying\","
        "\"request_id\":\"0123456789abcdef0123456789abcdef\",\"upstream_request_id\":\"req_1\"},"
        "{\"attempt\":2,\"target\":\"primary\",\"started_at\":\"2026-11-22T19:23:21.342Z\","
        "\"completed_at\":\"2026-11-22T19:23:22.542Z\",\"status_code_class\":\"2xx\","
        "\"http_status\":200,\"error_class\":\"none\",\"retry_decision\":\"none\","
        "\"request_id\":\"fedcba9876543210fedcba9876543210\",\"upstream_request_id\":null}]}\n";
    CHECK_STR(b.data, want);
    cJSON *j = cJSON_Parse(b.data);
    CHECK(cJSON_IsObject(j));
    cJSON_Delete(j);

    /* A second line appends; a network error run has a null status. */
    size_t first = b.len;
    r.http_status = 0;
    r.status_class = "network_error";
    r.passed = false;
    r.model = NULL;
    r.fallback_result = "success";
    r.n_attempts = 0;
    REQUIRE(sc_evidence_format(&r, &b) == 0);
    const char *second = b.data + first;
    CHECK(strstr(second, "\"http_status\":null") != NULL);
    CHECK(strstr(second, "\"model\":null") != NULL);
    CHECK(strstr(second, "\"operator_result\":\"fail\"") != NULL);
    CHECK(strstr(second, "\"fallback_result\":\"success\"") != NULL);
    CHECK(strstr(second, "\"attempts\":[]}\n") != NULL);
    sc_buf_free(&b);
}

/* A stream cut says whether content had arrived (it decides retry and fallback); other attempts
 * carry no such field. */
static void stream_cut_records_content_before_cut(void)
{
    sc_evidence_attempt at[2];
    sc_evidence_run r = sample(at);
    at[0].error_class = "stream_interrupted";
    at[0].content_before_cut = true;
    at[1].content_before_cut = true; /* ignored: not a cut */
    sc_buf b;
    sc_buf_init(&b, SC_EVIDENCE_LINE_MAX);
    REQUIRE(sc_evidence_format(&r, &b) == 0);
    CHECK(strstr(b.data, "\"error_class\":\"stream_interrupted\",\"retry_decision\":\"retrying\","
                         "\"content_before_cut\":true,") != NULL);
    const char *second = strstr(b.data, "{\"attempt\":2,");
    REQUIRE(second != NULL);
    CHECK(strstr(second, "content_before_cut") == NULL);
    sc_buf_reset(&b);
    at[0].content_before_cut = false;
    REQUIRE(sc_evidence_format(&r, &b) == 0);
    CHECK(strstr(b.data, "\"content_before_cut\":false,") != NULL);
    sc_buf_free(&b);
}

static void format_checks_and_rolls_back(void)
{
    sc_evidence_attempt at[2];
    sc_evidence_run r = sample(at);
    sc_buf b;
    sc_buf_init(&b, 64);
    REQUIRE(sc_buf_append_str(&b, "keep") == 0);
    CHECK_EQ(sc_evidence_format(&r, &b), -ENOBUFS);
    CHECK_EQ(b.len, 4);
    CHECK_STR(b.data, "keep");
    r.trace_id = NULL;
    CHECK_EQ(sc_evidence_format(&r, &b), -EINVAL);
    r = sample(at);
    r.n_attempts = 1;
    r.attempts = NULL;
    CHECK_EQ(sc_evidence_format(&r, &b), -EINVAL);
    CHECK_EQ(sc_evidence_format(NULL, &b), -EINVAL);
    sc_buf_free(&b);

    /* Control bytes and quotes from a (config) string are escaped: the line stays one line. */
    r = sample(at);
    r.route_name = "a\"b\nc";
    sc_buf_init(&b, SC_EVIDENCE_LINE_MAX);
    REQUIRE(sc_evidence_format(&r, &b) == 0);
    CHECK(strstr(b.data, "\"gateway_route_name\":\"a\\\"b\\nc\"") != NULL);
    CHECK(strchr(b.data, '\n') == b.data + b.len - 1);
    sc_buf_free(&b);
}

/* ---- writer ---------------------------------------------------------------------------------- */

typedef struct wfx {
    uv_loop_t loop;
    sc_rng rng;
    sc_log *log;
    FILE *log_file;
    sc_env env;
    sc_evidence_writer *w;
    int closed;
    int expired;
    uv_timer_t watchdog;
} wfx;

static void on_watchdog(uv_timer_t *t)
{
    wfx *f = t->data;
    CHECK(!"watchdog expired");
    f->expired = 1;
}

static void setup(wfx *f)
{
    memset(f, 0, sizeof *f);
    uv_loop_init(&f->loop);
    sc_rng_init_seeded(&f->rng, 1);
    f->log_file = tmpfile();
    sc_log_new(&f->log, fileno(f->log_file), SC_LOG_DEBUG, sc_clock_system());
    f->env = (sc_env){.loop = &f->loop, .log = f->log, .clock = sc_clock_system(), .rng = &f->rng};
    uv_timer_init(&f->loop, &f->watchdog);
    f->watchdog.data = f;
    uv_timer_start(&f->watchdog, on_watchdog, 10000, 0);
}

static void on_closed(void *arg)
{
    wfx *f = arg;
    f->closed++;
}

/* Closes the writer, runs the loop until everything is closed and the loop can be closed. */
static void finish(wfx *f)
{
    sc_evidence_writer_close(f->w, on_closed, f);
    CHECK_EQ(f->closed, 0); /* never from inside close */
    while (!f->closed && !f->expired)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&f->watchdog, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    CHECK_EQ(f->closed, 1);
    sc_test_close_loop(&f->loop);
    sc_log_free(f->log);
}

static int count_in_log(wfx *f, const char *needle)
{
    static char buf[1 << 16];
    fflush(f->log_file);
    rewind(f->log_file);
    size_t n = fread(buf, 1, sizeof buf - 1, f->log_file);
    buf[n] = '\0';
    int c = 0;
    for (const char *p = buf; (p = strstr(p, needle)) != NULL; p++)
        c++;
    return c;
}

static char *slurp(const char *path)
{
    static char buf[1 << 16];
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return buf;
}

static void writer_appends_lines_in_order(void)
{
    wfx f;
    setup(&f);
    char path[] = "/tmp/sc-test-evidence-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    CHECK(write(fd, "existing\n", 9) == 9); /* appended to, never truncated */
    close(fd);
    REQUIRE(sc_evidence_writer_new(&f.w, &f.env, path, 8) == 0);
    CHECK_EQ(sc_evidence_writer_append(f.w, "{\"n\":1}\n", 8), 0);
    CHECK_EQ(sc_evidence_writer_append(f.w, "{\"n\":2}\n", 8), 0);
    CHECK_EQ(sc_evidence_writer_append(f.w, "no newline", 10), -EINVAL);
    CHECK_EQ(sc_evidence_writer_pending(f.w), 2);
    uv_run(&f.loop, UV_RUN_NOWAIT);
    CHECK_EQ(sc_evidence_writer_append(f.w, "{\"n\":3}\n", 8), 0);
    finish(&f);
    CHECK_STR(slurp(path), "existing\n{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n");
    fclose(f.log_file);
    unlink(path);
}

static void full_queue_drops_and_counts(void)
{
    wfx f;
    setup(&f);
    char path[] = "/tmp/sc-test-evidence-XXXXXX";
    close(mkstemp(path));
    REQUIRE(sc_evidence_writer_new(&f.w, &f.env, path, 2) == 0);
    CHECK_EQ(sc_evidence_writer_append(f.w, "a\n", 2), 0);
    CHECK_EQ(sc_evidence_writer_append(f.w, "b\n", 2), 0);
    CHECK_EQ(sc_evidence_writer_append(f.w, "c\n", 2), -ENOBUFS);
    CHECK_EQ(sc_evidence_writer_append(f.w, "d\n", 2), -ENOBUFS);
    sc_evidence_stats st = sc_evidence_writer_get_stats(f.w);
    CHECK_EQ(st.dropped_full, 2);
    CHECK_EQ(count_in_log(&f, "evidence queue full"), 1); /* once per episode */
    finish(&f);
    CHECK_STR(slurp(path), "a\nb\n");
    fclose(f.log_file);
    unlink(path);
}

static void disk_full_is_logged_once_and_survived(void)
{
    wfx f;
    setup(&f);
    REQUIRE(sc_evidence_writer_new(&f.w, &f.env, "/dev/full", 16) == 0);
    for (int i = 0; i < 5; i++)
        CHECK_EQ(sc_evidence_writer_append(f.w, "{\"x\":1}\n", 8), 0);
    while (sc_evidence_writer_pending(f.w) > 0 && !f.expired)
        uv_run(&f.loop, UV_RUN_ONCE);
    sc_evidence_stats st = sc_evidence_writer_get_stats(f.w);
    CHECK_EQ(st.failed, 5);
    CHECK_EQ(st.written, 0);
    CHECK_EQ(st.last_error, -ENOSPC);
    CHECK_EQ(count_in_log(&f, "evidence line not written"), 1);
    CHECK_EQ(count_in_log(&f, "no space left on device"), 1);
    CHECK_EQ(sc_evidence_writer_append(f.w, "{\"x\":2}\n", 8), 0); /* still accepting */
    finish(&f);
    fclose(f.log_file);
}

/* The value of the attribute-less counter test.evidence.failures in a fresh snapshot. */
static int64_t counter_value(sc_metrics *m)
{
    const sc_metrics_snapshot *snap;
    if (sc_metrics_collect(m, &snap) != 0)
        return -2;
    int64_t v = -1;
    for (size_t i = 0; i < snap->n_metrics; i++)
        if (strcmp(snap->metrics[i].name, "test.evidence.failures") == 0 &&
            snap->metrics[i].n_points == 1)
            v = snap->metrics[i].points[0].as_int;
    sc_metrics_snapshot_release(m);
    return v;
}

/* Every lost line is counted in the instrument, whatever the cause: a write error (disk full)
 * or the queue full; the series exists (0) as soon as counting starts. */
static void lost_lines_are_counted_in_the_instrument(void)
{
    static const sc_metric_def def = {"test.evidence.failures", "{line}", "d",
                                      SC_METRIC_KIND_COUNTER,   NULL,     0};
    wfx f;
    setup(&f);
    sc_metrics *m;
    sc_instrument *inst;
    sc_metrics_opts mo = {.clock = f.env.clock, .temporality = SC_TEMPORALITY_CUMULATIVE};
    REQUIRE(sc_metrics_new(&m, &mo) == 0);
    REQUIRE(sc_metrics_instrument(m, &def, &inst) == 0);
    REQUIRE(sc_evidence_writer_new(&f.w, &f.env, "/dev/full", 2) == 0);
    sc_evidence_writer_count_failures(f.w, inst);
    CHECK_EQ(counter_value(m), 0);
    for (int i = 0; i < 3; i++) /* two queued, the third refused: queue full */
        sc_evidence_writer_append(f.w, "{\"x\":1}\n", 8);
    while (sc_evidence_writer_pending(f.w) > 0 && !f.expired)
        uv_run(&f.loop, UV_RUN_ONCE);
    sc_evidence_stats st = sc_evidence_writer_get_stats(f.w);
    CHECK_EQ(st.failed, 2);
    CHECK_EQ(st.dropped_full, 1);
    CHECK_EQ(counter_value(m), 3);
    finish(&f);
    fclose(f.log_file);
    sc_metrics_free(m);
}

static void each_cause_is_logged_then_recovery(void)
{
    wfx f;
    setup(&f);
    char dir[] = "/tmp/sc-test-evidence-dir-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/sub/evidence.jsonl", dir);
    REQUIRE(sc_evidence_writer_new(&f.w, &f.env, path, 16) == 0);
    CHECK_EQ(sc_evidence_writer_append(f.w, "a\n", 2), 0);
    CHECK_EQ(sc_evidence_writer_append(f.w, "b\n", 2), 0);
    while (sc_evidence_writer_pending(f.w) > 0 && !f.expired)
        uv_run(&f.loop, UV_RUN_ONCE);
    CHECK_EQ(sc_evidence_writer_get_stats(f.w).failed, 2);
    CHECK_EQ(sc_evidence_writer_get_stats(f.w).last_error, -ENOENT);
    CHECK_EQ(count_in_log(&f, "evidence line not written"), 1);
    /* The directory appears (e.g. a volume mounted late): the next line is written. */
    char sub[128];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    REQUIRE(mkdir(sub, 0700) == 0);
    CHECK_EQ(sc_evidence_writer_append(f.w, "c\n", 2), 0);
    while (sc_evidence_writer_pending(f.w) > 0 && !f.expired)
        uv_run(&f.loop, UV_RUN_ONCE);
    CHECK_EQ(sc_evidence_writer_get_stats(f.w).written, 1);
    CHECK_EQ(sc_evidence_writer_get_stats(f.w).last_error, 0);
    CHECK_EQ(count_in_log(&f, "evidence writes recovered"), 1);
    finish(&f);
    CHECK_STR(slurp(path), "c\n");
    fclose(f.log_file);
    unlink(path);
    rmdir(sub);
    rmdir(dir);
}

static void close_without_lines_and_after_close(void)
{
    wfx f;
    setup(&f);
    CHECK_EQ(sc_evidence_writer_new(&f.w, &f.env, "", 4), -EINVAL);
    CHECK_EQ(sc_evidence_writer_new(&f.w, &f.env, "/tmp/x", 0), -EINVAL);
    REQUIRE(sc_evidence_writer_new(&f.w, &f.env, "/tmp/sc-test-evidence-never-opened", 4) == 0);
    sc_evidence_writer_close(f.w, on_closed, &f);
    CHECK_EQ(f.closed, 0);
    CHECK_EQ(sc_evidence_writer_append(f.w, "late\n", 5), -ESHUTDOWN);
    uv_run(&f.loop, UV_RUN_NOWAIT);
    CHECK_EQ(f.closed, 1);
    CHECK(access("/tmp/sc-test-evidence-never-opened", F_OK) != 0); /* nothing was created */
    sc_evidence_writer_close(NULL, on_closed, &f);
    uv_close((uv_handle_t *)&f.watchdog, NULL);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    sc_test_close_loop(&f.loop);
    sc_log_free(f.log);
    fclose(f.log_file);
}

int main(void)
{
    RUN(buckets);
    RUN(line_format_is_exact);
    RUN(stream_cut_records_content_before_cut);
    RUN(format_checks_and_rolls_back);
    RUN(writer_appends_lines_in_order);
    RUN(full_queue_drops_and_counts);
    RUN(disk_full_is_logged_once_and_survived);
    RUN(lost_lines_are_counted_in_the_instrument);
    RUN(each_cause_is_logged_then_recovery);
    RUN(close_without_lines_and_after_close);
    return sc_test_summary();
}
