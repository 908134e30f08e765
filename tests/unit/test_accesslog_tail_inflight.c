/* test_accesslog_tail_inflight.c - tests for accesslog/tail when the file is truncated while a
 * read is in flight. The threadpool is one thread wide (UV_THREADPOOL_SIZE=1, set before libuv
 * starts it) and a work item the test controls occupies it, so the tailer's read is provably
 * submitted and not yet done when the file is truncated; then the test lets it run. */
#include "test_accesslog_tail_fx.h"

typedef struct blocker {
    uv_work_t work;
    uv_sem_t sem;
    int queued, released, done;
} blocker;

static void block_work(uv_work_t *w)
{
    blocker *b = (blocker *)w->data;
    uv_sem_wait(&b->sem);
}

static void block_done(uv_work_t *w, int status)
{
    blocker *b = (blocker *)w->data;
    CHECK_EQ(status, 0);
    b->done = 1;
}

/* On the first batch (lines of the first 4096-byte block), the next read is about to be
 * submitted: put the blocker in front of it. */
static void queue_blocker(fx *x, const sc_tail_line *l, size_t n)
{
    blocker *blk = x->user;
    (void)l;
    (void)n;
    if (blk->queued)
        return;
    blk->queued = 1;
    blk->work.data = blk;
    CHECK_EQ(uv_queue_work(&x->loop, &blk->work, block_work, block_done), 0);
}

static int step_inflight(fx *x)
{
    blocker *blk = x->user;
    sc_tail_stats s = fx_stats(x);
    switch (x->stage) {
    case 0:
        if (blk->queued && s.reading) {
            CHECK_EQ(x->nlines, 256);
            CHECK(truncate(x->path, 0) == 0);
            fx_append(x->path, "n1\nn2\n");
            uv_sem_post(&blk->sem);
            blk->released = 1;
            x->stage = 1;
        }
        break;
    case 1:
        return blk->done && x->nlines == 258 && s.truncations == 1;
    }
    return 0;
}

static void truncated_while_read_in_flight(void)
{
    fx x;
    blocker blk = {0};
    fx_init(&x);
    x.user = &blk;
    x.opts.no_inotify = 1; /* no event-driven probes: the only trigger is the full first read */
    x.opts.poll_interval_ms = 20;
    x.opts.read_block = 4096;
    x.on_batch = queue_blocker;
    REQUIRE(uv_sem_init(&blk.sem, 0) == 0);
    fx_append_numbered(x.path, "line-0000000", 100, 399); /* 300 lines of 16 bytes */
    fx_run(&x, step_inflight);
    if (!blk.released)
        uv_sem_post(&blk.sem);
    /* Lines 1..256 filled the first block; the rest was truncated away before it was read. */
    sc_buf want;
    sc_buf_init(&want, 1u << 16);
    fx_numbered(&want, "line-0000000", 100, 355);
    sc_buf_append_str(&want, "n1\nn2\n");
    CHECK_STR(fx_got(&x), want.data);
    sc_buf_free(&want);
    fx_done(&x);
    uv_sem_destroy(&blk.sem);
}

int main(void)
{
    setenv("UV_THREADPOOL_SIZE", "1", 1);
    RUN(truncated_while_read_in_flight);
    return sc_test_summary();
}
