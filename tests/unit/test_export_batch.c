/* test_export_batch.c - tests for export/batch (the batch span processor) with scripted encode
 * and send operations: full batches go at once and partial ones on the schedule, the
 * concurrency cap holds, out-of-order completions release in FIFO order, oversized requests are
 * halved and a span that never fits is dropped, drain exports everything. */
#include <errno.h>
#include <string.h>

#include "core/env.h"
#include "export/batch.h"
#include "harness.h"

#define WATCHDOG_MS 5000
#define MAX_SENDS   64

typedef struct tctx {
    uv_loop_t loop;
    sc_log *log;
    sc_rng rng;
    sc_env env;
    sc_span_queue *q;
    sc_batch *b;
    uv_timer_t watchdog, step;
    size_t sent_n[MAX_SENDS];
    uint32_t tokens[MAX_SENDS];
    int n_sends;
    int auto_complete;   /* complete each send on the next loop turn */
    size_t too_big_over; /* encode fails with -ENOBUFS above this many spans (0: never) */
    size_t dropped, dropped_calls;
    char drop_type[32];
    sc_export_drop_reason drop_reason;
    size_t encoded_total;
    int closed;
    uint64_t end_ms;        /* loop time at finish */
    sc_span_queue_stats qs; /* queue stats at finish */
    void (*on_step)(struct tctx *t);
    int stage;
} tctx;

static int has_huge(const sc_span_batch *sb)
{
    for (size_t i = 0; i < sb->n_first; i++)
        if (sb->first[i].name.len == 4 && memcmp(sb->first[i].arena, "huge", 4) == 0)
            return 1;
    for (size_t i = 0; i < sb->n_second; i++)
        if (sb->second[i].name.len == 4 && memcmp(sb->second[i].arena, "huge", 4) == 0)
            return 1;
    return 0;
}

static int op_encode(void *arg, const sc_span_batch *sb, sc_buf *out)
{
    tctx *t = arg;
    size_t n = sb->n_first + sb->n_second;
    if ((t->too_big_over > 0 && n > t->too_big_over) || has_huge(sb))
        return -ENOBUFS;
    char line[32];
    snprintf(line, sizeof line, "batch of %zu", n);
    return sc_buf_append_str(out, line);
}

static void on_step(uv_timer_t *h)
{
    tctx *t = h->data;
    t->on_step(t);
}

static int op_send(void *arg, sc_buf *payload, size_t n, uint32_t token)
{
    tctx *t = arg;
    CHECK(payload->len > 0);
    sc_buf_free(payload);
    if (t->n_sends < MAX_SENDS) {
        t->sent_n[t->n_sends] = n;
        t->tokens[t->n_sends] = token;
    }
    t->n_sends++;
    t->encoded_total += n;
    if (t->auto_complete)
        uv_timer_start(&t->step, on_step, 0, 0);
    return 0;
}

static void op_dropped(void *arg, size_t n, sc_export_drop_reason reason, const char *etype)
{
    tctx *t = arg;
    t->dropped += n;
    t->dropped_calls++;
    t->drop_reason = reason;
    snprintf(t->drop_type, sizeof t->drop_type, "%s", etype);
}

static void produce(tctx *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        sc_span *s = sc_span_queue_reserve(t->q);
        REQUIRE(s != NULL);
        sc_span_new_ids(s, &t->rng, NULL);
        sc_span_set_name(s, name, strlen(name));
        sc_span_queue_commit(t->q);
    }
}

static void on_closed(void *arg)
{
    tctx *t = arg;
    t->closed = 1;
}

static void finish(tctx *t)
{
    t->end_ms = uv_now(&t->loop);
    t->qs = sc_span_queue_get_stats(t->q);
    uv_timer_stop(&t->step);
    uv_close((uv_handle_t *)&t->step, NULL);
    uv_close((uv_handle_t *)&t->watchdog, NULL);
    sc_batch_close(t->b, on_closed, t);
}

static void on_watchdog(uv_timer_t *h)
{
    sc_test_fail(__FILE__, __LINE__, "watchdog fired");
    finish(h->data);
}

static int setup(tctx *t, size_t cap, size_t max_batch, unsigned conc, uint64_t delay_ms)
{
    memset(t, 0, sizeof *t);
    if (uv_loop_init(&t->loop) != 0 || sc_log_new(&t->log, 2, SC_LOG_WARN, sc_clock_system()))
        return -1;
    sc_rng_init_seeded(&t->rng, 3);
    t->env = (sc_env){&t->loop, t->log, sc_clock_system(), &t->rng};
    const sc_span_queue_opts qo = {.capacity = cap};
    if (sc_span_queue_new(&t->q, &qo) != 0)
        return -1;
    const sc_batch_opts bo = {
        .queue = t->q,
        .max_batch = max_batch,
        .schedule_delay_ms = delay_ms,
        .max_concurrent = conc,
        .max_request_bytes = 1024,
        .ops = {op_encode, op_send, op_dropped, t},
    };
    uv_timer_init(&t->loop, &t->watchdog);
    uv_timer_init(&t->loop, &t->step);
    t->watchdog.data = t->step.data = t;
    uv_timer_start(&t->watchdog, on_watchdog, WATCHDOG_MS, 0);
    return sc_batch_new(&t->b, &t->env, &bo);
}

static void teardown(tctx *t)
{
    uv_run(&t->loop, UV_RUN_DEFAULT);
    CHECK_EQ(t->closed, 1);
    sc_span_queue_free(t->q);
    sc_test_close_loop(&t->loop);
    sc_log_free(t->log);
}

/* ---- full batches at once, the rest on the schedule --------------------------------------- */

static void complete_all_sent(tctx *t)
{
    int limit = t->n_sends < MAX_SENDS ? t->n_sends : MAX_SENDS;
    for (int i = 0; i < limit; i++)
        sc_batch_complete(t->b, t->tokens[i], 1); /* repeated completions are ignored */
    if (t->encoded_total == 25 && sc_span_queue_size(t->q) == 0)
        finish(t);
}

static void test_full_batches_then_schedule(void)
{
    tctx t;
    REQUIRE(setup(&t, 64, 10, 2, 200) == 0);
    t.auto_complete = 1;
    t.on_step = complete_all_sent;
    produce(&t, 25, "s");
    REQUIRE(sc_batch_start(t.b) == 0);
    uint64_t t0 = uv_now(&t.loop);
    /* One loop turn: the prepare check sends both full batches (concurrency 2), not the 5. */
    uv_run(&t.loop, UV_RUN_NOWAIT);
    CHECK_EQ(t.n_sends, 2);
    CHECK_EQ(t.sent_n[0], 10);
    CHECK_EQ(t.sent_n[1], 10);
    teardown(&t);
    CHECK_EQ(t.n_sends, 3);
    CHECK_EQ(t.sent_n[2], 5); /* the partial batch waited for the schedule delay */
    CHECK(t.end_ms - t0 >= 190);
    CHECK_EQ(t.qs.released_ok, 25);
}

/* ---- concurrency cap and FIFO release ----------------------------------------------------- */

static void fifo_steps(tctx *t)
{
    switch (t->stage++) {
    case 0:
        /* Two batches in flight, the third waits for a slot. */
        CHECK_EQ(t->n_sends, 2);
        CHECK_EQ(sc_span_queue_in_flight(t->q), 8);
        CHECK_EQ(sc_span_queue_pending(t->q), 4);
        /* The newer batch finishes first: nothing can be released yet. */
        sc_batch_complete(t->b, t->tokens[1], 1);
        CHECK_EQ(sc_span_queue_in_flight(t->q), 8);
        CHECK_EQ(sc_batch_in_flight(t->b), 2);
        CHECK_EQ(t->n_sends, 2); /* its slot is not free until the older one is released */
        /* The older one fails: both are released, in order, with their own verdicts. */
        sc_batch_complete(t->b, t->tokens[0], 0);
        CHECK_EQ(sc_span_queue_get_stats(t->q).released_failed, 4);
        CHECK_EQ(sc_span_queue_get_stats(t->q).released_ok, 4);
        CHECK_EQ(t->n_sends, 3); /* the freed slot is used at once */
        uv_timer_start(&t->step, on_step, 1, 0);
        break;
    default:
        sc_batch_complete(t->b, t->tokens[2], 1);
        CHECK_EQ(sc_span_queue_size(t->q), 0);
        finish(t);
    }
}

static void test_concurrency_and_fifo_release(void)
{
    tctx t;
    REQUIRE(setup(&t, 64, 4, 2, 10000) == 0);
    t.on_step = fifo_steps;
    produce(&t, 12, "s");
    REQUIRE(sc_batch_start(t.b) == 0);
    uv_run(&t.loop, UV_RUN_NOWAIT); /* the prepare check starts the first two */
    uv_timer_start(&t.step, on_step, 1, 0);
    teardown(&t);
    CHECK_EQ(t.stage, 2);
}

/* ---- request size cap ---------------------------------------------------------------------- */

static void size_step(tctx *t)
{
    complete_all_sent(t);
    if (sc_span_queue_size(t->q) == 0 && t->stage++ == 0)
        finish(t);
}

static void test_halving_and_single_oversize_drop(void)
{
    tctx t;
    REQUIRE(setup(&t, 64, 10, 2, 20) == 0);
    t.too_big_over = 3; /* 10 -> 5 -> 2 spans per request */
    t.auto_complete = 1;
    t.on_step = size_step;
    produce(&t, 4, "s");
    produce(&t, 1, "huge"); /* never fits, even alone */
    produce(&t, 5, "s");
    REQUIRE(sc_batch_start(t.b) == 0);
    teardown(&t);
    for (int i = 0; i < t.n_sends; i++)
        CHECK(t.sent_n[i] <= 3);
    CHECK_EQ(t.encoded_total, 9);
    CHECK_EQ(t.dropped, 1);
    CHECK_EQ(t.drop_reason, SC_EXPORT_DROP_EXPORT_FAILED);
    CHECK_STR(t.drop_type, "too_large");
    CHECK_EQ(t.qs.released_ok, 9);
    CHECK_EQ(t.qs.released_failed, 1);
}

/* ---- drain and drop_pending --------------------------------------------------------------- */

static void drain_step(tctx *t)
{
    complete_all_sent(t);
    if (sc_span_queue_size(t->q) == 0 && t->stage++ == 0)
        finish(t);
}

static void test_drain_exports_partial_batches_now(void)
{
    tctx t;
    REQUIRE(setup(&t, 64, 10, 1, 60000) == 0); /* the schedule would wait a minute */
    t.auto_complete = 1;
    t.on_step = drain_step;
    produce(&t, 23, "s");
    REQUIRE(sc_batch_start(t.b) == 0);
    uint64_t t0 = uv_now(&t.loop);
    sc_batch_drain(t.b);
    teardown(&t);
    CHECK_EQ(t.encoded_total, 23);
    CHECK_EQ(t.n_sends, 3);
    CHECK(t.end_ms - t0 < 1000);
}

static void test_drop_pending_waits_for_older(void)
{
    tctx t;
    REQUIRE(setup(&t, 64, 5, 1, 60000) == 0);
    produce(&t, 8, "s");
    REQUIRE(sc_batch_start(t.b) == 0);
    uv_run(&t.loop, UV_RUN_NOWAIT); /* one full batch of 5 in flight */
    CHECK_EQ(t.n_sends, 1);
    sc_batch_stop(t.b);
    CHECK_EQ(sc_batch_drop_pending(t.b, SC_EXPORT_DROP_SHUTDOWN), 0); /* older one in flight */
    sc_batch_complete(t.b, t.tokens[0], 1);
    CHECK_EQ(sc_batch_drop_pending(t.b, SC_EXPORT_DROP_SHUTDOWN), 3);
    CHECK_EQ(t.dropped, 3);
    CHECK_EQ(t.drop_reason, SC_EXPORT_DROP_SHUTDOWN);
    CHECK_EQ(sc_span_queue_size(t.q), 0);
    CHECK_EQ(sc_span_queue_get_stats(t.q).released_failed, 3);
    finish(&t);
    teardown(&t);
}

int main(void)
{
    RUN(test_full_batches_then_schedule);
    RUN(test_concurrency_and_fifo_release);
    RUN(test_halving_and_single_oversize_drop);
    RUN(test_drain_exports_partial_batches_now);
    RUN(test_drop_pending_waits_for_older);
    return sc_test_summary();
}
