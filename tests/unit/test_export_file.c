/* test_export_file.c - tests for export/file_exporter (one request per line, O_APPEND, bounded
 * queue, write errors, close with queued lines) and the exporter's file and console sinks. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export/exporter.h"
#include "export/file_exporter.h"
#include "export_fixture.h"
#include "harness.h"

#define WATCHDOG_MS 10000

/* ---- the writer alone --------------------------------------------------------------------- */

typedef struct wctx {
    uv_loop_t loop;
    sc_log *log;
    sc_rng rng;
    sc_env env;
    sc_file_exporter *fx;
    int done_ok, done_failed, done_shutdown, closed;
    char last_error[32];
    int in_call;
} wctx;

static void on_line(const sc_export_result *r, void *arg)
{
    wctx *w = arg;
    CHECK(!w->in_call);
    if (r->delivered)
        w->done_ok++;
    else if (r->reason == SC_EXPORT_DROP_SHUTDOWN)
        w->done_shutdown++;
    else
        w->done_failed++;
    if (!r->delivered)
        snprintf(w->last_error, sizeof w->last_error, "%s", r->error_type);
}

static void on_w_closed(void *arg)
{
    wctx *w = arg;
    CHECK(!w->in_call);
    w->closed++;
}

static int w_init(wctx *w, const char *path, int fd, unsigned queue)
{
    memset(w, 0, sizeof *w);
    if (uv_loop_init(&w->loop) != 0 || sc_log_new(&w->log, 2, SC_LOG_OFF, sc_clock_system()))
        return -1;
    sc_rng_init_seeded(&w->rng, 1);
    w->env = (sc_env){&w->loop, w->log, sc_clock_system(), &w->rng};
    const sc_file_exporter_opts o = {.path = path, .fd = fd, .max_queued = queue};
    return sc_file_exporter_new(&w->fx, &w->env, &o);
}

static int w_write(wctx *w, const char *s)
{
    sc_buf b;
    sc_buf_init(&b, 1024);
    sc_buf_append_str(&b, s);
    w->in_call = 1;
    int rc = sc_file_exporter_write(w->fx, &b, on_line, w);
    w->in_call = 0;
    CHECK(b.data == NULL); /* taken in every case */
    return rc;
}

static void w_close_and_run(wctx *w)
{
    w->in_call = 1;
    sc_file_exporter_close(w->fx, on_w_closed, w);
    w->in_call = 0;
    uv_run(&w->loop, UV_RUN_DEFAULT);
    CHECK_EQ(w->closed, 1);
    sc_test_close_loop(&w->loop);
    sc_log_free(w->log);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = calloc(1, 1 << 20);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    return buf;
}

static void tmp_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "/tmp/sc-test-export-%d-%s", (int)getpid(), name);
    unlink(out);
}

static void test_lines_appended_and_bounded(void)
{
    char path[128];
    wctx w;
    tmp_path(path, sizeof path, "lines");
    int pre = open(path, O_WRONLY | O_CREAT, 0644); /* existing content is kept (append) */
    REQUIRE(pre >= 0);
    REQUIRE(write(pre, "old\n", 4) == 4);
    close(pre);
    REQUIRE(w_init(&w, path, -1, 1) == 0);
    CHECK_EQ(w_write(&w, "{\"a\":1}"), 0);        /* being written */
    CHECK_EQ(w_write(&w, "{\"a\":2}"), 0);        /* queued */
    CHECK_EQ(w_write(&w, "{\"a\":3}"), -ENOBUFS); /* beyond the bound */
    CHECK_EQ(sc_file_exporter_pending(w.fx), 2);
    CHECK_EQ(w_write(&w, "two\nlines"), -EINVAL);
    CHECK_EQ(w_write(&w, ""), -EINVAL);
    while (w.done_ok < 2)
        uv_run(&w.loop, UV_RUN_ONCE);
    CHECK_EQ(w_write(&w, "{\"a\":4}"), 0);
    w_close_and_run(&w); /* the line in progress is finished first */
    CHECK_EQ(w.done_ok, 3);
    CHECK_EQ(w.done_failed + w.done_shutdown, 0);
    size_t len = 0;
    char *got = slurp(path, &len);
    REQUIRE(got != NULL);
    CHECK_STR(got, "old\n{\"a\":1}\n{\"a\":2}\n{\"a\":4}\n");
    free(got);
    unlink(path);
}

static void test_write_error_and_bad_path(void)
{
    char path[128];
    wctx w;
    tmp_path(path, sizeof path, "ro");
    int fd = open(path, O_RDONLY | O_CREAT, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(w_init(&w, NULL, fd, 2) == 0); /* a descriptor it cannot write */
    CHECK_EQ(w_write(&w, "{}"), 0);
    CHECK_EQ(w_write(&w, "{}"), 0);
    while (w.done_failed < 2)
        uv_run(&w.loop, UV_RUN_ONCE);
    CHECK_STR(w.last_error, "EBADF");
    w_close_and_run(&w);
    CHECK(fcntl(fd, F_GETFD) != -1); /* not ours: left open */
    close(fd);
    unlink(path);

    sc_file_exporter *fx = NULL;
    sc_log *log;
    sc_rng rng;
    uv_loop_t loop;
    REQUIRE(uv_loop_init(&loop) == 0);
    REQUIRE(sc_log_new(&log, 2, SC_LOG_OFF, sc_clock_system()) == 0);
    sc_env env = {&loop, log, sc_clock_system(), &rng};
    const sc_file_exporter_opts o = {.path = "/nonexistent-dir/x.jsonl"};
    CHECK_EQ(sc_file_exporter_new(&fx, &env, &o), -ENOENT);
    CHECK(fx == NULL);
    sc_test_close_loop(&loop);
    sc_log_free(log);
}

/* ---- through the exporter ----------------------------------------------------------------- */

typedef struct ectx {
    uv_loop_t loop;
    sc_export_fixture f;
    uv_timer_t watchdog;
    int flushed, all_delivered, closed;
} ectx;

static void e_closed(void *arg)
{
    ((ectx *)arg)->closed = 1;
}

static void e_flushed(void *arg, int all)
{
    ectx *e = arg;
    e->flushed++;
    e->all_delivered = all;
    uv_close((uv_handle_t *)&e->watchdog, NULL);
    sc_export_fixture_close(&e->f, e_closed, e);
}

static void e_watchdog(uv_timer_t *h)
{
    ectx *e = h->data;
    sc_test_fail(__FILE__, __LINE__, "watchdog fired");
    uv_close((uv_handle_t *)&e->watchdog, NULL);
    sc_export_fixture_close(&e->f, e_closed, e);
}

static int e_run(ectx *e, const char *const *sets, size_t n, const sc_exporter_tuning *t, int spans)
{
    char err[512] = "";
    memset(e, 0, sizeof *e);
    if (uv_loop_init(&e->loop) != 0)
        return -1;
    uv_timer_init(&e->loop, &e->watchdog);
    e->watchdog.data = e;
    uv_timer_start(&e->watchdog, e_watchdog, WATCHDOG_MS, 0);
    int rc =
        sc_export_fixture_init(&e->f, &e->loop, NULL, sets, n, t, SC_LOG_ERROR, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "%s\n", err);
        return rc;
    }
    for (int i = 0; i < spans; i++)
        sc_export_fixture_span(&e->f, "file-op", i);
    const sc_attr a[] = {SC_ATTR_STR("gateway.source", "access_log")};
    sc_metrics_add(e->f.inst[SC_METRIC_GATEWAY_REQUESTS], 3, a, 1);
    if (sc_exporter_start(e->f.exp) != 0 || sc_exporter_flush(e->f.exp, 5000, e_flushed, e) != 0)
        return -1;
    uv_run(&e->loop, UV_RUN_DEFAULT);
    CHECK_EQ(e->closed, 1);
    sc_test_close_loop(&e->loop);
    return 0;
}

/* Checks every line is one JSON export request; returns spans seen, counts metric lines. */
static int check_lines(char *text, int *metric_lines, int *trace_lines)
{
    int spans = 0;
    char *save = NULL;
    CHECK(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
    CHECK(strstr(text, "\n\n") == NULL);
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cJSON *j = cJSON_Parse(line);
        CHECK(j != NULL);
        if (j == NULL)
            continue;
        cJSON *rs = cJSON_GetObjectItemCaseSensitive(j, "resourceSpans");
        cJSON *rm = cJSON_GetObjectItemCaseSensitive(j, "resourceMetrics");
        CHECK((rs != NULL) != (rm != NULL));
        if (rm != NULL)
            (*metric_lines)++;
        cJSON *r;
        cJSON_ArrayForEach(r, rs)
        {
            cJSON *ss;
            (*trace_lines)++;
            cJSON_ArrayForEach(ss, cJSON_GetObjectItemCaseSensitive(r, "scopeSpans")) spans +=
                cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ss, "spans"));
        }
        cJSON_Delete(j);
    }
    return spans;
}

static void test_file_sink_one_request_per_line(void)
{
    char path[128], set_path[200];
    tmp_path(path, sizeof path, "sink.jsonl");
    snprintf(set_path, sizeof set_path, "exporter.file.path=%s", path);
    const char *sets[] = {"exporter.traces=file", "exporter.metrics=file", set_path,
                          "exporter.batch.max_export_batch_size=5"};
    ectx e;
    REQUIRE(e_run(&e, sets, 4, NULL, 12) == 0);
    CHECK_EQ(e.flushed, 1);
    CHECK_EQ(e.all_delivered, 1);
    size_t len = 0;
    char *text = slurp(path, &len);
    REQUIRE(text != NULL);
    int ml = 0, tl = 0;
    CHECK_EQ(check_lines(text, &ml, &tl), 12);
    CHECK_EQ(tl, 3); /* 5 + 5 + 2 */
    CHECK_EQ(ml, 1); /* the final collection */
    free(text);
    unlink(path);
}

static void test_console_sink(void)
{
    int p[2];
    REQUIRE(pipe(p) == 0);
    const sc_exporter_tuning t = {.console_fd = p[1]};
    const char *sets[] = {"exporter.traces=console", "exporter.metrics=none"};
    ectx e;
    REQUIRE(e_run(&e, sets, 2, &t, 3) == 0);
    close(p[1]);
    char *buf = calloc(1, 1 << 16);
    size_t got = 0;
    ssize_t n;
    while ((n = read(p[0], buf + got, (1 << 16) - 1 - got)) > 0)
        got += (size_t)n;
    close(p[0]);
    int ml = 0, tl = 0;
    CHECK_EQ(check_lines(buf, &ml, &tl), 3);
    CHECK_EQ(ml, 0);
    free(buf);
}

int main(void)
{
    RUN(test_lines_appended_and_bounded);
    RUN(test_write_error_and_bad_path);
    RUN(test_file_sink_one_request_per_line);
    RUN(test_console_sink);
    return sc_test_summary();
}
