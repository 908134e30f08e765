/* test_accesslog_tail_checkpoint.c - tests for accesslog/tail across restarts: the checkpoint
 * holds the ACKNOWLEDGED position (crash: lines after it come again, none before; clean stop:
 * nothing comes again; an ack in the middle of a batch does not move it), and at start the
 * checkpointed file is found where it went (renamed sibling, copy after copy-and-truncate, same
 * content under a new inode) or recognised as gone (inode reused with other content), while a
 * corrupt checkpoint or one for another path is ignored. */
#include "test_accesslog_tail_fx.h"

#include "accesslog/checkpoint.h"

static void expect(const fx *x, const char *prefix, int from, int to, const char *more)
{
    sc_buf want;
    sc_buf_init(&want, 1u << 16);
    fx_numbered(&want, prefix, from, to);
    if (more != NULL)
        sc_buf_append_str(&want, more);
    CHECK_STR(fx_got(x), want.data ? want.data : "");
    sc_buf_free(&want);
}

static void restart(fx *x)
{
    sc_buf_reset(&x->got);
    x->nlines = 0;
}

/* Done once `mark` lines came and a few probes later nothing more did. */
static int step_settle(fx *x)
{
    sc_tail_stats s = fx_stats(x);
    if (x->stage == 0 && x->nlines >= x->mark) {
        x->stage = 1;
        x->mark = s.probes;
        return 0;
    }
    return x->stage == 1 && s.probes >= x->mark + 3;
}

static int step_until_n(fx *x)
{
    return x->nlines >= x->mark;
}

static void setup(fx *x)
{
    fx_init(x);
    x->opts.checkpoint_path = x->cp;
    x->opts.auto_ack = 0;
    x->opts.max_batch = 1; /* one batch per line: the checkpoint can stop after any line */
    x->opts.reconcile_interval_ms = 10;
}

/* ---- at-least-once --------------------------------------------------------------------------- */

static int step_ack4_then_crash(fx *x)
{
    if (x->stage == 0 && x->nlines == 10) {
        CHECK_EQ(sc_tail_ack(x->t, 4), 0);
        x->stage = 1;
    }
    return x->stage == 1 && fx_stats(x).checkpoint_writes == 1;
}

static void crash_restart_resumes_after_acked_offset(void)
{
    fx x;
    setup(&x);
    fx_append_numbered(x.path, "l", 1, 10);
    fx_run(&x, step_ack4_then_crash); /* closed without a final checkpoint: like a SIGKILL */
    expect(&x, "l", 1, 10, NULL);
    restart(&x);
    fx_append_numbered(x.path, "l", 11, 11);
    x.mark = 7;
    fx_run(&x, step_settle);
    expect(&x, "l", 5, 11, NULL);
    CHECK_EQ(fx_log_count(&x, "resuming from checkpoint"), 1);
    fx_done(&x);
}

static int step_mid_batch(fx *x)
{
    switch (x->stage) {
    case 0:
        if (x->nlines == 10) {
            CHECK_EQ(sc_tail_ack(x->t, 10), 0);
            fx_append_numbered(x->path, "l", 11, 20);
            x->stage = 1;
        }
        break;
    case 1:
        if (x->nlines == 20) {
            CHECK_EQ(sc_tail_ack(x->t, 15), 0); /* inside the second batch */
            CHECK_EQ(fx_stats(x).pending, 1);
            return 1;
        }
    }
    return 0;
}

static void ack_inside_a_batch_keeps_the_batch_start(void)
{
    fx x;
    setup(&x);
    x.opts.max_batch = 0; /* default: one batch per read block */
    x.final_cp = 1;
    fx_append_numbered(x.path, "l", 1, 10);
    fx_run(&x, step_mid_batch);
    restart(&x);
    x.mark = 10;
    fx_run(&x, step_settle);
    expect(&x, "l", 11, 20, NULL); /* 11..15 again: duplicates, never losses */
    fx_done(&x);
}

static int step_new_after_open(fx *x)
{
    if (x->stage == 0 && fx_stats(x).files_opened == 1) {
        fx_append(x->path, "new\n");
        x->stage = 1;
        x->mark = 1;
    }
    return x->stage == 1 && x->nlines == 1;
}

static void clean_stop_repeats_nothing(void)
{
    fx x;
    setup(&x);
    x.ack_each = 1;
    x.final_cp = 1;
    x.opts.checkpoint_interval_ms = 60000; /* only the final write can have stored it */
    fx_append_numbered(x.path, "l", 1, 5);
    x.mark = 5;
    fx_run(&x, step_until_n);
    restart(&x);
    fx_run(&x, step_new_after_open);
    CHECK_STR(fx_got(&x), "new\n");
    fx_done(&x);
}

/* ---- where did the checkpointed file go? ----------------------------------------------------- */

/* First run: lines 1..5 delivered (acknowledged as the fixture's callbacks decide), final
 * checkpoint. */
static void first_run(fx *x)
{
    x->final_cp = 1;
    fx_append_numbered(x->path, "l", 1, 5);
    x->mark = 5;
    fx_run(x, step_until_n);
    x->t = NULL;
    restart(x);
    x->final_cp = 0;
}

static void ack_three(fx *x, const sc_tail_line *l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (l[i].seq <= 3)
            CHECK_EQ(sc_tail_ack(x->t, l[i].seq), 0);
}

static void rotated_while_down_is_read_from_the_sibling(void)
{
    fx x;
    setup(&x);
    x.on_batch = ack_three;
    first_run(&x);
    x.on_batch = NULL;
    char old[160];
    fx_sibling(&x, ".1", old, sizeof old);
    CHECK(rename(x.path, old) == 0);
    fx_put(x.path, "n1\n");
    x.mark = 3;
    fx_run(&x, step_settle);
    expect(&x, "l", 4, 5, "n1\n");
    CHECK_EQ(fx_log_count(&x, "checkpointed file was rotated"), 1);
    fx_done(&x);
}

static void copy_truncated_while_down_is_read_from_the_copy(void)
{
    fx x;
    setup(&x);
    x.ack_each = 1;
    first_run(&x);
    char copy[160];
    fx_sibling(&x, ".1", copy, sizeof copy);
    fx_append_numbered(x.path, "l", 6, 7);
    fx_copy(x.path, copy);
    CHECK(truncate(x.path, 0) == 0);
    fx_put(x.path, "n1\n");
    x.mark = 3;
    fx_run(&x, step_settle);
    expect(&x, "l", 6, 7, "n1\n");
    fx_done(&x);
}

static void same_content_under_new_inode_resumes(void)
{
    fx x;
    setup(&x);
    x.ack_each = 1;
    x.final_cp = 1;
    fx_append_numbered(x.path, "a-line-long-enough-to-fill-the-head-", 1, 10); /* > 256 bytes */
    x.mark = 10;
    fx_run(&x, step_until_n);
    restart(&x);
    x.final_cp = 0;
    char tmp[160];
    fx_sibling(&x, ".tmp-copy", tmp, sizeof tmp);
    fx_copy(x.path, tmp);
    CHECK(rename(tmp, x.path) == 0); /* e.g. moved across filesystems: new inode */
    fx_append(x.path, "new\n");
    x.mark = 1;
    fx_run(&x, step_settle);
    CHECK_STR(fx_got(&x), "new\n");
    fx_done(&x);
}

static void reused_inode_with_other_content_starts_over(void)
{
    fx x;
    setup(&x);
    x.ack_each = 1;
    x.final_cp = 1;
    fx_put(x.path, "aaaa\nbbbb\n");
    x.mark = 2;
    fx_run(&x, step_until_n);
    restart(&x);
    x.final_cp = 0;
    struct stat before, after;
    CHECK(stat(x.path, &before) == 0);
    fx_put(x.path, "cccc\ndddd\n"); /* same inode, same size, other bytes */
    CHECK(stat(x.path, &after) == 0);
    CHECK(before.st_ino == after.st_ino && before.st_size == after.st_size);
    x.mark = 2;
    fx_run(&x, step_settle);
    CHECK_STR(fx_got(&x), "cccc\ndddd\n");
    CHECK_EQ(fx_log_count(&x, "checkpointed file is gone"), 1);
    fx_done(&x);
}

static void corrupt_or_foreign_checkpoint_is_ignored(void)
{
    fx x;
    setup(&x);
    x.opts.start = SC_TAIL_START_END;
    fx_put(x.path, "old\n");
    fx_put(x.cp, "not a checkpoint\n");
    fx_run(&x, step_new_after_open);
    CHECK_STR(fx_got(&x), "new\n");
    CHECK_EQ(fx_log_count(&x, "checkpoint unreadable"), 1);
    restart(&x);
    char buf[SC_CHECKPOINT_MAX_BYTES];
    sc_checkpoint_rec rec = {.offset = 0};
    int n = sc_checkpoint_encode(&rec, "/some/other/path", buf, sizeof buf);
    REQUIRE(n > 0);
    CHECK_EQ(sc_checkpoint_store(x.cp, buf, (size_t)n), 0);
    fx_run(&x, step_new_after_open);
    CHECK_STR(fx_got(&x), "new\n"); /* start = end applies: old lines are not read */
    CHECK_EQ(fx_log_count(&x, "checkpoint is for another path"), 1);
    fx_done(&x);
}

int main(void)
{
    RUN(crash_restart_resumes_after_acked_offset);
    RUN(ack_inside_a_batch_keeps_the_batch_start);
    RUN(clean_stop_repeats_nothing);
    RUN(rotated_while_down_is_read_from_the_sibling);
    RUN(copy_truncated_while_down_is_read_from_the_copy);
    RUN(same_content_under_new_inode_resumes);
    RUN(reused_inode_with_other_content_starts_over);
    RUN(corrupt_or_foreign_checkpoint_is_ignored);
    return sc_test_summary();
}
