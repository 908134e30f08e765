/* test_accesslog_observer.c - tests for accesslog/observer with a real tailer on a temporary file,
 * a real recorder, span queue and metrics registry; the test plays the exporter (peek, take and
 * release spans, accepted or not). Covered: lines become spans and self-metrics, the tailer is
 * acknowledged in line order only as spans are accepted (malformed, sampled-out and span-less
 * lines in between), failed exports while running and while draining, backpressure that keeps the
 * queue from overflowing, the queue's own full/drained signals, and stop + close leaving a final
 * checkpoint from which a restart repeats nothing. Each scenario is a step function on a 5 ms loop
 * timer with a 10 s watchdog; no sleeps. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accesslog/checkpoint.h"
#include "accesslog/observer.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/rng.h"
#include "harness.h"

#define STEP_MS    5
#define TIMEOUT_MS 10000

typedef struct fx fx;
typedef int (*step_fn)(fx *x); /* 1: done */

struct fx {
    uv_loop_t loop;
    sc_log *log;
    int log_fd;
    sc_rng rng;
    sc_env env;
    char dir[64], path[128], cp[128], logpath[128];
    sc_config_access_log cfg;
    sc_metrics *m;
    sc_instrument *inst[SC_METRIC__COUNT];
    sc_span_queue *q;
    sc_recorder *r;
    sc_observer *o;
    size_t capacity;
    double ratio;
    int spans_disabled;
    uv_timer_t step, watchdog;
    step_fn fn;
    int stage, ticks, done, closed;
    uint64_t mark;
    int saw_paused, saw_full;
};

static void q_on_full(void *arg)
{
    fx *x = arg;
    x->saw_full = 1;
    sc_observer_on_full(x->o);
}

static void q_on_drained(void *arg)
{
    sc_observer_on_drained(((fx *)arg)->o);
}

static void q_on_ack(void *arg, sc_source src, uint64_t seq, int accepted)
{
    sc_observer_on_ack(((fx *)arg)->o, src, seq, accepted);
}

static void setup(fx *x, size_t capacity, double ratio, int spans_disabled)
{
    memset(x, 0, sizeof *x);
    snprintf(x->dir, sizeof x->dir, "/tmp/sc-observer-XXXXXX");
    if (mkdtemp(x->dir) == NULL)
        sc_test_fail(__FILE__, __LINE__, "mkdtemp");
    snprintf(x->path, sizeof x->path, "%s/access.log", x->dir);
    snprintf(x->cp, sizeof x->cp, "%s/checkpoint", x->dir);
    snprintf(x->logpath, sizeof x->logpath, "%s/log.jsonl", x->dir);
    x->log_fd = open(x->logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    uv_loop_init(&x->loop);
    sc_log_new(&x->log, x->log_fd, SC_LOG_DEBUG, sc_clock_system());
    sc_rng_init_seeded(&x->rng, 11);
    x->env = (sc_env){.loop = &x->loop, .log = x->log, .clock = sc_clock_system(), .rng = &x->rng};
    x->capacity = capacity;
    x->ratio = ratio;
    x->spans_disabled = spans_disabled;
    x->cfg = (sc_config_access_log){
        .path = x->path,
        .format = SC_ACCESS_LOG_NGINX_JSON,
        .time_format = -1,
        .duration_unit = -1,
        .time_marks = -1,
        .retry_count_counts = -1,
        .start_position = SC_ACCESS_LOG_START_BEGINNING,
        .checkpoint_path = x->cp,
        .max_line_bytes = 32 * 1024,
        .poll_interval_ms = 20,
        .rotate_wait_ms = 50,
        .partial_flush_ms = 3600 * 1000,
        .checkpoint_interval_ms = 10,
        .span_sampling_ratio = 1,
    };
    sc_metrics_opts mo = {.clock = sc_clock_system()};
    if (sc_metrics_new(&x->m, &mo) != 0 || sc_metrics_register_schema(x->m, x->inst) != 0)
        sc_test_fail(__FILE__, __LINE__, "metrics");
}

static void teardown(fx *x)
{
    sc_test_close_loop(&x->loop);
    sc_recorder_free(x->r);
    sc_span_queue_free(x->q);
    sc_metrics_free(x->m);
    sc_log_free(x->log);
    close(x->log_fd);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void remove_dir(fx *x)
{
    nftw(x->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void on_closed(void *arg)
{
    ((fx *)arg)->closed = 1;
}

static void finish(fx *x)
{
    if (x->done)
        return;
    x->done = 1;
    uv_close((uv_handle_t *)&x->step, NULL);
    uv_close((uv_handle_t *)&x->watchdog, NULL);
    sc_observer_close(x->o, on_closed, x);
}

static void on_step(uv_timer_t *h)
{
    fx *x = h->data;
    x->ticks++;
    if (x->fn(x))
        finish(x);
}

static void on_watchdog(uv_timer_t *h)
{
    fx *x = h->data;
    char m[96];
    snprintf(m, sizeof m, "watchdog: scenario stuck at stage %d", x->stage);
    sc_test_fail(__FILE__, __LINE__, m);
    finish(x);
}

/* One observer run (a fresh queue and recorder each time: a restart) until fn says done. */
static void run(fx *x, step_fn fn)
{
    char err[256];
    x->fn = fn;
    x->stage = x->ticks = x->done = x->closed = 0;
    sc_recorder_free(x->r);
    sc_span_queue_free(x->q);
    sc_span_queue_opts qo = {.capacity = x->capacity,
                             .on_full = q_on_full,
                             .on_drained = q_on_drained,
                             .on_ack = q_on_ack,
                             .arg = x};
    sc_recorder_opts ro = {.span_sampling_ratio = x->ratio, .spans_disabled = x->spans_disabled};
    sc_observer_opts oo = {.cfg = &x->cfg,
                           .recorder = NULL,
                           .instruments = x->inst,
                           .queue_capacity = x->capacity,
                           .stats_interval_ms = 20,
                           .reconcile_interval_ms = 50};
    if (sc_span_queue_new(&x->q, &qo) != 0 ||
        sc_recorder_new(&x->r, &x->env, x->q, x->inst, &ro) != 0) {
        sc_test_fail(__FILE__, __LINE__, "queue/recorder");
        return;
    }
    oo.recorder = x->r;
    if (sc_observer_new(&x->o, &x->env, &oo, err, sizeof err) != 0 ||
        sc_observer_start(x->o) != 0) {
        sc_test_fail(__FILE__, __LINE__, err);
        return;
    }
    uv_timer_init(&x->loop, &x->step);
    uv_timer_init(&x->loop, &x->watchdog);
    x->step.data = x->watchdog.data = x;
    uv_timer_start(&x->step, on_step, STEP_MS, STEP_MS);
    uv_timer_start(&x->watchdog, on_watchdog, TIMEOUT_MS, 0);
    uv_run(&x->loop, UV_RUN_DEFAULT);
    CHECK(x->closed);
    x->o = NULL;
}

static sc_observer_stats stats(const fx *x)
{
    sc_observer_stats s;
    sc_observer_get_stats(x->o, &s);
    return s;
}

/* The test as the exporter: the oldest n pending spans are sent and released. */
static size_t export_n(fx *x, size_t n, int accepted)
{
    sc_span *a, *b;
    size_t na, nb;
    size_t got = sc_span_queue_peek(x->q, n, &a, &na, &b, &nb);
    sc_span_queue_take(x->q, got);
    sc_span_queue_release(x->q, got, accepted);
    return got;
}

static void append(const fx *x, const char *s)
{
    int fd = open(x->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s))
        sc_test_fail(__FILE__, __LINE__, "append");
    if (fd >= 0)
        close(fd);
}

/* An llm_json line: status, and usage so a 200 is a plain success. */
static void append_line(const fx *x, int n, int status)
{
    char line[512];
    snprintf(
        line, sizeof line,
        "{\"time\":\"2026-11-22T20:06:11+00:00\",\"request_id\":\"line-%d\",\"method\":\"POST\","
        "\"uri\":\"/v1/chat/completions?n=%d\",\"status\":%d,\"request_time\":0.100,"
        "\"upstream_status\":\"%d\",\"llm_input_tokens\":\"3\",\"llm_output_tokens\":\"4\"}\n",
        n, n, status, status);
    append(x, line);
}

static uint64_t file_size(const fx *x)
{
    struct stat st;
    return stat(x->path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Value of a counter (or gauge, truncated) in a fresh collection; -1 when absent. */
static long long metric(fx *x, const char *name, const char *error_type)
{
    const sc_metrics_snapshot *s;
    long long v = -1;
    if (sc_metrics_collect(x->m, &s) != 0)
        return -2;
    for (size_t i = 0; i < s->n_metrics; i++) {
        const sc_metric_data *d = &s->metrics[i];
        if (strcmp(d->name, name) != 0)
            continue;
        for (size_t k = 0; k < d->n_points; k++) {
            const sc_metric_point *p = &d->points[k];
            int match = error_type == NULL
                            ? p->n_attrs == 0
                            : (p->n_attrs == 1 && p->attrs[0].v.s.len == strlen(error_type) &&
                               memcmp(p->attrs[0].v.s.ptr, error_type, strlen(error_type)) == 0);
            if (match)
                v = d->kind == SC_METRIC_KIND_GAUGE ? (long long)p->as_double : p->as_int;
        }
    }
    sc_metrics_snapshot_release(x->m);
    return v;
}

/* ---- in-order acknowledgement ------------------------------------------------------------------
 */

static int step_in_order(fx *x)
{
    sc_observer_stats s = stats(x);
    switch (x->stage) {
    case 0:
        append_line(x, 1, 200);
        append(x, "not json at all\n");
        append_line(x, 3, 503);
        append_line(x, 4, 200);
        append(x, "{\"truncated\":\n");
        x->stage = 1;
        return 0;
    case 1:
        if (s.lines < 5)
            return 0;
        /* Spans of lines 1, 3, 4 are queued: nothing may be acknowledged yet. */
        CHECK_EQ(s.parsed, 3);
        CHECK_EQ(s.malformed, 2);
        CHECK_EQ(s.spans, 3);
        CHECK_EQ(s.in_queue, 3);
        CHECK_EQ(s.acked_seq, 0);
        CHECK_EQ(s.tail.acked_seq, 0);
        CHECK_EQ(export_n(x, 1, 1), 1);
        s = stats(x);
        CHECK_EQ(s.acked_seq, 2); /* line 1's span, and the malformed line 2 behind it */
        CHECK_EQ(s.tail.acked_seq, 2);
        CHECK_EQ(export_n(x, 10, 1), 2);
        s = stats(x);
        CHECK_EQ(s.acked_seq, 5);
        CHECK_EQ(s.in_queue, 0);
        CHECK_EQ(metric(x, "sidecar.accesslog.lines.read", NULL), 5);
        CHECK_EQ(metric(x, "sidecar.accesslog.lines.parsed", NULL), 3);
        CHECK_EQ(metric(x, "sidecar.accesslog.lines.malformed", "not_json"), 1);
        CHECK_EQ(metric(x, "sidecar.accesslog.lines.malformed", "truncated"), 1);
        CHECK_EQ(metric(x, "sidecar.accesslog.paused", NULL), 0);
        CHECK_EQ(metric(x, "sidecar.accesslog.rotations", NULL), 0);
        return 1;
    }
    return 0;
}

static void acks_follow_accepted_spans_in_line_order(void)
{
    fx x;
    setup(&x, 64, 1.0, 0);
    run(&x, step_in_order);
    teardown(&x);
    remove_dir(&x);
}

/* ---- lines without spans -----------------------------------------------------------------------
 */

static int step_sampled(fx *x)
{
    sc_observer_stats s = stats(x);
    if (x->stage == 0) {
        append_line(x, 1, 200);
        append_line(x, 2, 200);
        append_line(x, 3, 429);
        append_line(x, 4, 200);
        x->stage = 1;
        return 0;
    }
    if (s.lines < 4)
        return 0;
    if (x->spans_disabled) {
        CHECK_EQ(s.spans, 0);
        CHECK_EQ(s.acked_seq, 4); /* nothing to wait for */
        return 1;
    }
    CHECK_EQ(s.sampled_out, 3); /* the plain successes */
    CHECK_EQ(s.spans, 1);       /* the 429 is always kept */
    CHECK_EQ(s.acked_seq, 2);
    CHECK_EQ(export_n(x, 10, 1), 1);
    CHECK_EQ(stats(x).acked_seq, 4);
    /* Metrics are never sampled. */
    CHECK_EQ(metric(x, "sidecar.accesslog.lines.parsed", NULL), 4);
    return 1;
}

static void sampled_out_and_span_less_lines_are_acknowledged_in_order(void)
{
    fx x;
    setup(&x, 64, 0.0, 0);
    run(&x, step_sampled);
    teardown(&x);
    remove_dir(&x);
    setup(&x, 64, 1.0, 1);
    run(&x, step_sampled);
    teardown(&x);
    remove_dir(&x);
}

/* ---- failed exports ----------------------------------------------------------------------------
 */

/* One line per batch (each delivered before the next is written), so the checkpoint can stop
 * exactly between two lines. */
static int step_failures(fx *x)
{
    sc_observer_stats s = stats(x);
    switch (x->stage) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4:
        if (s.lines < (uint64_t)x->stage)
            return 0;
        if (x->stage == 2)
            x->mark = file_size(x); /* the end of line 2 */
        if (x->stage < 4)
            append_line(x, x->stage + 1, 200);
        x->stage++;
        return 0;
    case 5:
        /* Running: the exporter gave up on line 1's span: acknowledged anyway, counted lost. */
        CHECK_EQ(export_n(x, 1, 0), 1);
        s = stats(x);
        CHECK_EQ(s.lost, 1);
        CHECK_EQ(s.acked_seq, 1);
        /* Draining: line 3's span is cut off by the shutdown: nothing from it on is acked. */
        sc_observer_stop(x->o);
        CHECK_EQ(export_n(x, 1, 1), 1);
        CHECK_EQ(stats(x).acked_seq, 2);
        CHECK_EQ(export_n(x, 1, 0), 1);
        CHECK_EQ(export_n(x, 1, 1), 1);
        s = stats(x);
        CHECK_EQ(s.acked_seq, 2);
        CHECK_EQ(s.lost, 1);
        CHECK_EQ(s.in_queue, 0);
        return 1;
    }
    return 0;
}

static void failed_exports_advance_while_running_but_not_while_draining(void)
{
    fx x;
    sc_checkpoint_rec rec;
    char subject[256];
    setup(&x, 64, 1.0, 0);
    run(&x, step_failures);
    /* The final checkpoint is the end of line 2. */
    REQUIRE(sc_checkpoint_load(x.cp, &rec, subject, sizeof subject) == 0);
    CHECK_EQ(rec.offset, x.mark);
    CHECK_STR(subject, x.path);
    teardown(&x);
    remove_dir(&x);
}

/* ---- backpressure ------------------------------------------------------------------------------
 */

#define MANY 400

static int step_backpressure(fx *x)
{
    sc_observer_stats s = stats(x);
    if (x->stage == 0) {
        for (int i = 1; i <= MANY; i++)
            append_line(x, i, i % 7 ? 200 : 500);
        x->stage = 1;
        return 0;
    }
    CHECK(sc_span_queue_size(x->q) < x->capacity); /* never full: no span is dropped */
    if (s.paused) {
        x->saw_paused = 1;
        CHECK_EQ(metric(x, "sidecar.accesslog.paused", NULL), 1);
        /* Export half a queue at a time while paused. */
        export_n(x, x->capacity / 2, 1);
        return 0;
    }
    if (s.lines < MANY)
        return 0;
    export_n(x, x->capacity, 1);
    s = stats(x);
    if (s.acked_seq < MANY)
        return 0;
    CHECK(x->saw_paused);
    CHECK(!x->saw_full);
    CHECK_EQ(s.span_drops, 0);
    CHECK_EQ(sc_recorder_get_stats(x->r).spans_dropped, 0);
    CHECK_EQ(s.spans, MANY);
    return 1;
}

static void backpressure_pauses_before_the_queue_overflows(void)
{
    fx x;
    setup(&x, 32, 1.0, 0); /* batches of 8 lines, 4 slots kept for others */
    run(&x, step_backpressure);
    teardown(&x);
    remove_dir(&x);
}

/* The queue filled by someone else (canary spans): on_full pauses, on_drained resumes. */
static int step_queue_full(fx *x)
{
    sc_observer_stats s = stats(x);
    switch (x->stage) {
    case 0:
        for (size_t i = 0; i < x->capacity; i++) {
            sc_span *sp = sc_span_queue_reserve(x->q);
            if (sp == NULL) {
                CHECK(sp != NULL);
                return 1;
            }
            sp->source = SC_SOURCE_CANARY;
            sp->source_seq = 1;
            sc_span_queue_commit(x->q);
        }
        CHECK(x->saw_full);
        CHECK(stats(x).paused);
        append_line(x, 1, 200);
        x->mark = (uint64_t)x->ticks;
        x->stage = 1;
        return 0;
    case 1:
        /* 40 ticks (200 ms, four reconcile periods): nothing is read while paused. */
        CHECK_EQ(s.lines, 0);
        if ((uint64_t)x->ticks < x->mark + 40)
            return 0;
        export_n(x, x->capacity, 1); /* drained: resumes */
        x->stage = 2;
        return 0;
    case 2:
        if (s.lines < 1)
            return 0;
        CHECK(!s.paused);
        CHECK_EQ(s.span_drops, 0);
        return 1;
    }
    return 0;
}

static void the_queues_full_and_drained_signals_pause_and_resume(void)
{
    fx x;
    setup(&x, 16, 1.0, 0);
    run(&x, step_queue_full);
    teardown(&x);
    remove_dir(&x);
}

/* ---- stop, close, restart ----------------------------------------------------------------------
 */

static int step_stop(fx *x)
{
    sc_observer_stats s = stats(x);
    switch (x->stage) {
    case 0:
        for (int i = 1; i <= 10; i++)
            append_line(x, i, 200);
        x->stage = 1;
        return 0;
    case 1:
        if (s.lines < 10)
            return 0;
        x->mark = file_size(x);
        sc_observer_stop(x->o);
        export_n(x, 100, 1); /* the drain flush */
        CHECK_EQ(stats(x).acked_seq, 10);
        for (int i = 11; i <= 15; i++)
            append_line(x, i, 200);
        x->stage = 2;
        x->ticks = 0;
        return 0;
    case 2:
        CHECK_EQ(s.lines, 10); /* stopped: no new lines */
        return x->ticks >= 40;
    }
    return 0;
}

static int step_restart(fx *x)
{
    sc_observer_stats s = stats(x);
    if (s.lines < 5)
        return 0;
    export_n(x, 100, 1);
    CHECK_EQ(stats(x).acked_seq, 5);
    return x->ticks >= 20 && stats(x).lines == 5;
}

static void stop_and_close_leave_a_checkpoint_a_restart_resumes_from(void)
{
    fx x;
    sc_checkpoint_rec rec;
    char subject[256];
    setup(&x, 64, 1.0, 0);
    run(&x, step_stop);
    REQUIRE(sc_checkpoint_load(x.cp, &rec, subject, sizeof subject) == 0);
    CHECK_EQ(rec.offset, x.mark);
    run(&x, step_restart); /* only lines 11..15: nothing repeated */
    REQUIRE(sc_checkpoint_load(x.cp, &rec, subject, sizeof subject) == 0);
    CHECK_EQ(rec.offset, file_size(&x));
    teardown(&x);
    remove_dir(&x);
}

static void bad_options_are_refused(void)
{
    fx x;
    char err[256];
    sc_observer *o = NULL;
    setup(&x, 16, 1.0, 0);
    sc_span_queue_opts qo = {.capacity = 16};
    REQUIRE(sc_span_queue_new(&x.q, &qo) == 0);
    REQUIRE(sc_recorder_new(&x.r, &x.env, x.q, x.inst, NULL) == 0);
    sc_observer_opts oo = {
        .cfg = &x.cfg, .recorder = x.r, .instruments = x.inst, .queue_capacity = 0};
    CHECK_EQ(sc_observer_new(&o, &x.env, &oo, err, sizeof err), -EINVAL);
    oo.queue_capacity = 16;
    x.cfg.format = SC_ACCESS_LOG_NGINX;
    x.cfg.nginx_log_format = "$status ${oops";
    CHECK_EQ(sc_observer_new(&o, &x.env, &oo, err, sizeof err), -EINVAL);
    CHECK(strstr(err, "access_log.nginx_log_format") != NULL);
    CHECK(o == NULL);
    sc_observer_close(NULL, NULL, NULL);
    teardown(&x);
    remove_dir(&x);
}

int main(void)
{
    RUN(acks_follow_accepted_spans_in_line_order);
    RUN(sampled_out_and_span_less_lines_are_acknowledged_in_order);
    RUN(failed_exports_advance_while_running_but_not_while_draining);
    RUN(backpressure_pauses_before_the_queue_overflows);
    RUN(the_queues_full_and_drained_signals_pause_and_resume);
    RUN(stop_and_close_leave_a_checkpoint_a_restart_resumes_from);
    RUN(bad_options_are_refused);
    return sc_test_summary();
}
