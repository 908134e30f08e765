/* test_accesslog_tail.c - tests for accesslog/tail on one file that stays put: start positions,
 * partial lines (held, flushed on idle), too-long lines, CRLF, empty and binary files, pause and
 * resume, the ack ring as backpressure, ack validation. Real loop, real files (see the fixture). */
#include "test_accesslog_tail_fx.h"

/* ---- start positions ------------------------------------------------------------------------- */

static int step_beginning(fx *x)
{
    if (x->stage == 0 && x->nlines == 2) {
        fx_append(x->path, "c\n");
        x->stage = 1;
    }
    return x->stage == 1 && x->nlines == 3;
}

static void starts_at_beginning(void)
{
    fx x;
    fx_init(&x);
    fx_put(x.path, "a\nb\n");
    fx_run(&x, step_beginning);
    CHECK_STR(fx_got(&x), "a\nb\nc\n");
    fx_done(&x);
}

static int step_end(fx *x)
{
    if (x->stage == 0 && fx_stats(x).files_opened == 1) {
        fx_append(x->path, "ial\nnew\n");
        x->stage = 1;
    }
    return x->stage == 1 && x->nlines == 2;
}

/* At the end, but at the start of the last line, which the writer is still writing. */
static void starts_at_end_of_last_complete_line(void)
{
    fx x;
    fx_init(&x);
    x.opts.start = SC_TAIL_START_END;
    fx_put(x.path, "old1\nold2\npart");
    fx_run(&x, step_end);
    CHECK_STR(fx_got(&x), "partial\nnew\n");
    fx_done(&x);
}

/* ---- partial lines --------------------------------------------------------------------------- */

static int step_partial_held(fx *x)
{
    sc_tail_stats s = fx_stats(x);
    switch (x->stage) {
    case 0: /* read, and still held after some more probes */
        if (s.bytes == 3 && !s.reading)
            x->stage = 1, x->mark = s.probes;
        break;
    case 1:
        if (s.probes >= x->mark + 3) {
            CHECK_EQ(x->nlines, 0);
            fx_append(x->path, "def\n");
            x->stage = 2;
        }
        break;
    case 2:
        return x->nlines == 1;
    }
    return 0;
}

static void partial_line_is_held_until_completed(void)
{
    fx x;
    fx_init(&x);
    fx_put(x.path, "abc");
    fx_run(&x, step_partial_held);
    CHECK_STR(fx_got(&x), "abcdef\n");
    CHECK_EQ(x.partials, 0);
    fx_done(&x);
}

static int step_partial_flush(fx *x)
{
    sc_tail_stats s = fx_stats(x);
    switch (x->stage) {
    case 0:
        if (x->partials == 1) {
            fx_append(x->path, "\n"); /* the writer finally ends the line */
            x->stage = 1;
        }
        break;
    case 1:
        if (s.bytes == 4 && !s.reading) {
            fx_append(x->path, "x\n");
            x->stage = 2;
        }
        break;
    case 2:
        return x->nlines == 2;
    }
    return 0;
}

static void partial_line_is_flushed_after_idle_timeout(void)
{
    fx x;
    fx_init(&x);
    x.opts.partial_flush_ms = 30;
    fx_put(x.path, "abc");
    fx_run(&x, step_partial_flush);
    CHECK_STR(fx_got(&x), "abc\nx\n"); /* the bare LF after the flush is not a blank line */
    CHECK_EQ(x.partials, 1);
    fx_done(&x);
}

/* ---- line content ---------------------------------------------------------------------------- */

static int step_until_lines(fx *x)
{
    return x->nlines >= x->mark;
}

static void too_long_line_is_skipped_and_counted(void)
{
    fx x;
    fx_init(&x);
    x.opts.max_line = 16;
    x.opts.read_block = 4096;
    sc_buf b;
    sc_buf_init(&b, 1u << 16);
    sc_buf_append_str(&b, "short\n");
    for (int i = 0; i < 10000; i++) /* spans three read blocks */
        sc_buf_append(&b, "x", 1);
    sc_buf_append_str(&b, "\nafter\n0123456789abcdef\n0123456789abcdefg\nend\n");
    fx_write(x.path, b.data, b.len, O_TRUNC);
    sc_buf_free(&b);
    x.mark = 4;
    fx_run(&x, step_until_lines);
    CHECK_STR(fx_got(&x), "short\nafter\n0123456789abcdef\nend\n");
    fx_done(&x);
}

static int step_lines_then_stats(fx *x)
{
    if (x->nlines < x->mark)
        return 0;
    sc_tail_stats s = fx_stats(x);
    x->ticks = (int)s.too_long; /* reused: carried out of the run */
    return 1;
}

static void too_long_count_is_in_stats(void)
{
    fx x;
    fx_init(&x);
    x.opts.max_line = 4;
    fx_put(x.path, "12345\nok\n123456789\nok\n");
    x.mark = 2;
    fx_run(&x, step_lines_then_stats);
    CHECK_EQ(x.ticks, 2);
    CHECK_STR(fx_got(&x), "ok\nok\n");
    fx_done(&x);
}

static void crlf_is_stripped(void)
{
    fx x;
    fx_init(&x);
    fx_put(x.path, "a\r\nb\r\n\r\nc\n");
    x.mark = 4;
    fx_run(&x, step_until_lines);
    CHECK_STR(fx_got(&x), "a\nb\n\nc\n");
    fx_done(&x);
}

static int step_empty(fx *x)
{
    sc_tail_stats s = fx_stats(x);
    if (x->stage == 0 && s.files_opened == 1 && s.probes >= 3) {
        CHECK_EQ(s.bytes, 0);
        CHECK_EQ(x->nlines, 0);
        fx_append(x->path, "first\n");
        x->stage = 1;
    }
    return x->stage == 1 && x->nlines == 1;
}

static void empty_file_then_a_line(void)
{
    fx x;
    fx_init(&x);
    fx_put(x.path, "");
    fx_run(&x, step_empty);
    CHECK_STR(fx_got(&x), "first\n");
    fx_done(&x);
}

static void binary_file_splits_at_newlines(void)
{
    fx x;
    fx_init(&x);
    const char bin[] = {'\0', '\xff', '\n', '\x01', '\0', '\x7f', '\n', '\n', 'z', '\n'};
    fx_write(x.path, bin, sizeof bin, O_TRUNC);
    x.mark = 4;
    fx_run(&x, step_until_lines);
    CHECK_EQ(x.got.len, sizeof bin);
    CHECK(memcmp(x.got.data, bin, sizeof bin) == 0);
    fx_done(&x);
}

/* ---- flow control ---------------------------------------------------------------------------- */

static int step_pause(fx *x)
{
    sc_tail_stats s = fx_stats(x);
    switch (x->stage) {
    case 0:
        if (x->nlines == 3) {
            sc_tail_pause(x->t);
            x->mark = s.bytes;
            fx_append(x->path, "d\ne\n");
            x->stage = 1;
        }
        break;
    case 1: /* probes keep running: the lag shows up, nothing is read */
        if (s.lag_bytes == 4) {
            CHECK(s.paused);
            CHECK_EQ(s.bytes, x->mark);
            CHECK_EQ(x->nlines, 3);
            x->stage = 2;
            x->mark = s.probes;
        }
        break;
    case 2:
        if (s.probes >= x->mark + 3) {
            CHECK_EQ(x->nlines, 3);
            CHECK_EQ(s.lag_bytes, 4);
            sc_tail_resume(x->t);
            x->stage = 3;
        }
        break;
    case 3:
        if (x->nlines == 5) {
            CHECK_EQ(s.lag_bytes, 0);
            CHECK(!s.paused);
            return 1;
        }
    }
    return 0;
}

static void pause_stops_reading_and_reports_lag(void)
{
    fx x;
    fx_init(&x);
    x.opts.reconcile_interval_ms = 10;
    fx_put(x.path, "a\nb\nc\n");
    fx_run(&x, step_pause);
    CHECK_STR(fx_got(&x), "a\nb\nc\nd\ne\n");
    fx_done(&x);
}

static void pause_from_callback(fx *x, const sc_tail_line *l, size_t n)
{
    (void)l;
    (void)n;
    sc_tail_pause(x->t);
}

static int step_pause_mid_block(fx *x)
{
    sc_tail_stats s = fx_stats(x);
    if (x->stage == 0 && x->nlines == 1) {
        x->stage = 1;
        x->mark = s.probes;
    } else if (x->stage == 1 && s.probes >= x->mark + 3) {
        CHECK_EQ(x->nlines, 1); /* the rest of the block waits */
        CHECK(s.lag_bytes == 4);
        x->on_batch = NULL;
        sc_tail_resume(x->t);
        x->stage = 2;
    }
    return x->stage == 2 && x->nlines == 3;
}

static void pause_inside_on_lines_stops_mid_block(void)
{
    fx x;
    fx_init(&x);
    x.opts.max_batch = 1;
    x.opts.reconcile_interval_ms = 10;
    x.on_batch = pause_from_callback;
    fx_put(x.path, "1\n2\n3\n");
    fx_run(&x, step_pause_mid_block);
    CHECK_STR(fx_got(&x), "1\n2\n3\n");
    fx_done(&x);
}

static int step_ring(fx *x)
{
    sc_tail_stats s = fx_stats(x);
    if (x->stage == 0 && x->nlines == 2) {
        x->stage = 1;
        x->mark = s.probes;
    } else if (x->stage == 1 && s.probes >= x->mark + 3) {
        CHECK_EQ(x->nlines, 2); /* two unacknowledged batches fill the ring */
        CHECK(s.waiting_for_acks);
        CHECK_EQ(s.pending, 2);
        CHECK_EQ(s.ack_ring_full, 1);
        CHECK_EQ(sc_tail_ack(x->t, 99), -EINVAL); /* never delivered */
        CHECK_EQ(sc_tail_ack(x->t, 1), 0);
        x->stage = 2;
    } else if (x->stage == 2 && x->nlines == 3) {
        CHECK_EQ(sc_tail_ack(x->t, 1), 0); /* going backwards is a no-op */
        x->ack_each = 1;
        CHECK_EQ(sc_tail_ack(x->t, 3), 0);
        x->stage = 3;
    }
    return x->stage == 3 && x->nlines == 5 && fx_stats(x).pending == 0;
}

static void full_ack_ring_stops_delivery_until_acks(void)
{
    fx x;
    fx_init(&x);
    x.opts.auto_ack = 0;
    x.opts.max_batch = 1;
    x.opts.max_pending = 2;
    x.opts.reconcile_interval_ms = 10;
    fx_put(x.path, "1\n2\n3\n4\n5\n");
    fx_run(&x, step_ring);
    CHECK_STR(fx_got(&x), "1\n2\n3\n4\n5\n");
    fx_done(&x);
}

static void rejects_bad_options(void)
{
    sc_env env = {0};
    sc_tail *t = NULL;
    sc_tail_opts o = {.path = "/tmp/x", .on_lines = fx_on_lines};
    CHECK_EQ(sc_tail_new(&t, &env, NULL), -EINVAL);
    o.path = "";
    CHECK_EQ(sc_tail_new(&t, &env, &o), -EINVAL);
    o.path = "/tmp/x";
    o.max_files = 1;
    CHECK_EQ(sc_tail_new(&t, &env, &o), -EINVAL);
    o.max_files = 0;
    o.read_block = 100;
    CHECK_EQ(sc_tail_new(&t, &env, &o), -EINVAL);
    o.read_block = 0;
    o.on_lines = NULL;
    CHECK_EQ(sc_tail_new(&t, &env, &o), -EINVAL);
    CHECK(t == NULL);
    sc_tail_close(NULL, 0, NULL, NULL);
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

static void count_close(void *arg)
{
    (*(int *)arg)++;
}

/* Closed before start, and closed right after start (the first probe still in flight). */
static void close_at_any_point(void)
{
    fx x;
    fx_init(&x);
    fx_put(x.path, "a\n");
    sc_tail *t;
    int closed = 0;
    REQUIRE(sc_tail_new(&t, &x.env, &x.opts) == 0);
    sc_tail_close(t, 1, count_close, &closed);
    CHECK_EQ(closed, 0); /* never from inside close */
    uv_run(&x.loop, UV_RUN_DEFAULT);
    CHECK_EQ(closed, 1);
    x.opts.checkpoint_path = x.cp;
    REQUIRE(sc_tail_new(&t, &x.env, &x.opts) == 0);
    CHECK_EQ(sc_tail_start(t), 0);
    CHECK_EQ(sc_tail_start(t), -EALREADY);
    sc_tail_close(t, 1, count_close, &closed);
    sc_tail_close(t, 1, count_close, &closed); /* second close: ignored */
    uv_run(&x.loop, UV_RUN_DEFAULT);
    CHECK_EQ(closed, 2);
    CHECK_EQ(x.nlines, 0);
    fx_done(&x);
}

static void close_from_callback(fx *x, const sc_tail_line *l, size_t n)
{
    (void)l;
    (void)n;
    fx_finish(x);
}

static int step_never(fx *x)
{
    (void)x;
    return 0;
}

static void close_inside_on_lines_stops_delivery(void)
{
    fx x;
    fx_init(&x);
    x.opts.max_batch = 1;
    x.on_batch = close_from_callback;
    fx_put(x.path, "1\n2\n3\n");
    fx_run(&x, step_never);
    CHECK_STR(fx_got(&x), "1\n");
    fx_done(&x);
}

int main(void)
{
    RUN(starts_at_beginning);
    RUN(starts_at_end_of_last_complete_line);
    RUN(partial_line_is_held_until_completed);
    RUN(partial_line_is_flushed_after_idle_timeout);
    RUN(too_long_line_is_skipped_and_counted);
    RUN(too_long_count_is_in_stats);
    RUN(crlf_is_stripped);
    RUN(empty_file_then_a_line);
    RUN(binary_file_splits_at_newlines);
    RUN(pause_stops_reading_and_reports_lag);
    RUN(pause_inside_on_lines_stops_mid_block);
    RUN(full_ack_ring_stops_delivery_until_acks);
    RUN(rejects_bad_options);
    RUN(close_at_any_point);
    RUN(close_inside_on_lines_stops_delivery);
    return sc_test_summary();
}
