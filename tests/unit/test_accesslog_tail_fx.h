/* test_accesslog_tail_fx.h - owns: the shared fixture of the tailer tests (included by the
 * test_accesslog_tail*.c files only). A scenario is a step function run by a 5 ms loop timer:
 * it looks at counters (lines delivered, tailer stats, log lines) and, when the awaited state is
 * reached, makes the next change to the files - all from the loop, no sleeps. A 10 s watchdog
 * fails and ends any scenario that stalls. Each test gets its own directory under /tmp. */
#ifndef SC_TEST_ACCESSLOG_TAIL_FX_H
#define SC_TEST_ACCESSLOG_TAIL_FX_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accesslog/tail.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/rng.h"
#include "harness.h"

#define FX_STEP_MS    5
#define FX_TIMEOUT_MS 10000

typedef struct fx fx;
typedef int (*fx_step_fn)(fx *x); /* 1: the scenario is complete */

struct fx {
    uv_loop_t loop;
    sc_log *log;
    int log_fd;
    sc_rng rng;
    sc_env env;
    char dir[64], path[128], cp[128], logpath[128];
    sc_tail_opts opts;
    sc_tail *t;
    sc_buf got; /* delivered lines, each followed by '\n' */
    uint64_t nlines, last_seq, partials;
    int seq_gap;
    int ack_each; /* ack every batch from inside on_lines */
    void (*on_batch)(fx *x, const sc_tail_line *lines, size_t n);
    uv_timer_t step, watchdog;
    fx_step_fn step_fn;
    int stage, ticks, done, closed, final_cp;
    uint64_t mark; /* free for scenarios */
    void *user;    /* scenario data */
};

static inline void fx_on_lines(void *arg, const sc_tail_line *l, size_t n)
{
    fx *x = arg;
    for (size_t i = 0; i < n; i++) {
        if (l[i].seq != x->last_seq + 1)
            x->seq_gap = 1;
        x->last_seq = l[i].seq;
        sc_buf_append(&x->got, l[i].p, l[i].len);
        sc_buf_append(&x->got, "\n", 1);
        x->nlines++;
        if (l[i].flags & SC_TAIL_LINE_PARTIAL)
            x->partials++;
    }
    if (x->on_batch)
        x->on_batch(x, l, n);
    if (x->ack_each && !x->done)
        CHECK_EQ(sc_tail_ack(x->t, l[n - 1].seq), 0);
}

static inline void fx_init(fx *x)
{
    memset(x, 0, sizeof *x);
    snprintf(x->dir, sizeof x->dir, "/tmp/sc-tail-XXXXXX");
    if (mkdtemp(x->dir) == NULL)
        sc_test_fail(__FILE__, __LINE__, "mkdtemp");
    snprintf(x->path, sizeof x->path, "%s/access.log", x->dir);
    snprintf(x->cp, sizeof x->cp, "%s/checkpoint", x->dir);
    snprintf(x->logpath, sizeof x->logpath, "%s/tail-log.jsonl", x->dir);
    x->log_fd = open(x->logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    uv_loop_init(&x->loop);
    sc_log_new(&x->log, x->log_fd, SC_LOG_DEBUG, sc_clock_system());
    sc_rng_init_seeded(&x->rng, 7);
    x->env = (sc_env){.loop = &x->loop, .log = x->log, .clock = sc_clock_system(), .rng = &x->rng};
    sc_buf_init(&x->got, 1u << 22);
    x->opts.path = x->path;
    x->opts.on_lines = fx_on_lines;
    x->opts.arg = x;
    x->opts.start = SC_TAIL_START_BEGINNING;
    x->opts.reconcile_interval_ms = 50;
    x->opts.poll_interval_ms = 20;
    x->opts.rotate_wait_ms = 50;
    x->opts.partial_flush_ms = UINT32_MAX;
    x->opts.checkpoint_interval_ms = 10;
    x->opts.auto_ack = 1;
}

static inline int fx_rm(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static inline void fx_done(fx *x)
{
    sc_test_close_loop(&x->loop);
    sc_buf_free(&x->got);
    sc_log_free(x->log);
    close(x->log_fd);
    nftw(x->dir, fx_rm, 8, FTW_DEPTH | FTW_PHYS);
}

static inline void fx_on_closed(void *arg)
{
    ((fx *)arg)->closed = 1;
}

static inline void fx_finish(fx *x)
{
    if (x->done)
        return;
    x->done = 1;
    uv_close((uv_handle_t *)&x->step, NULL);
    uv_close((uv_handle_t *)&x->watchdog, NULL);
    sc_tail_close(x->t, x->final_cp, fx_on_closed, x);
}

static inline void fx_on_step(uv_timer_t *h)
{
    fx *x = h->data;
    x->ticks++;
    if (x->step_fn(x))
        fx_finish(x);
}

static inline void fx_on_watchdog(uv_timer_t *h)
{
    fx *x = h->data;
    char m[96];
    snprintf(m, sizeof m, "watchdog: scenario stuck at stage %d", x->stage);
    sc_test_fail(__FILE__, __LINE__, m);
    fx_finish(x);
}

/* Runs one tailer with x->opts until fn says done; closes it (final checkpoint if x->final_cp).
 * May be called again on the same fixture (a restart); line counters start over. */
static inline void fx_run(fx *x, fx_step_fn fn)
{
    x->step_fn = fn;
    x->stage = x->ticks = x->done = x->closed = 0;
    x->last_seq = 0;
    if (sc_tail_new(&x->t, &x->env, &x->opts) != 0 || sc_tail_start(x->t) != 0) {
        sc_test_fail(__FILE__, __LINE__, "sc_tail_new/start");
        return;
    }
    uv_timer_init(&x->loop, &x->step);
    uv_timer_init(&x->loop, &x->watchdog);
    x->step.data = x->watchdog.data = x;
    uv_timer_start(&x->step, fx_on_step, FX_STEP_MS, FX_STEP_MS);
    uv_timer_start(&x->watchdog, fx_on_watchdog, FX_TIMEOUT_MS, 0);
    uv_run(&x->loop, UV_RUN_DEFAULT);
    CHECK(x->closed);
    CHECK(!x->seq_gap);
    x->t = NULL;
}

static inline sc_tail_stats fx_stats(const fx *x)
{
    sc_tail_stats s;
    sc_tail_get_stats(x->t, &s);
    return s;
}

static inline const char *fx_got(const fx *x)
{
    return x->got.data ? x->got.data : "";
}

static inline void fx_write(const char *path, const void *data, size_t n, int flags)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644);
    if (fd < 0 || write(fd, data, n) != (ssize_t)n)
        sc_test_fail(__FILE__, __LINE__, "fx_write");
    if (fd >= 0)
        close(fd);
}

static inline void fx_append(const char *path, const char *s)
{
    fx_write(path, s, strlen(s), O_APPEND);
}

static inline void fx_put(const char *path, const char *s)
{
    fx_write(path, s, strlen(s), O_TRUNC);
}

static inline void fx_sibling(const fx *x, const char *suffix, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s", x->path, suffix);
}

/* cp from to (a new inode with the same bytes). */
static inline void fx_copy(const char *from, const char *to)
{
    char buf[65536];
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ssize_t n;
    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            sc_test_fail(__FILE__, __LINE__, "fx_copy");
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
}

/* How many log lines contain needle. */
static inline int fx_log_count(const fx *x, const char *needle)
{
    FILE *f = fopen(x->logpath, "r");
    char line[SC_LOG_LINE_MAX + 2];
    int n = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        n += strstr(line, needle) != NULL;
    if (f != NULL)
        fclose(f);
    return n;
}

/* "<prefix><i>\n" for i in [from, to], appended to out. */
static inline void fx_numbered(sc_buf *out, const char *prefix, int from, int to)
{
    char line[64];
    for (int i = from; i <= to; i++) {
        snprintf(line, sizeof line, "%s%d\n", prefix, i);
        sc_buf_append_str(out, line);
    }
}

static inline void fx_append_numbered(const char *path, const char *prefix, int from, int to)
{
    sc_buf b;
    sc_buf_init(&b, 1u << 20);
    fx_numbered(&b, prefix, from, to);
    if (b.len > 0)
        fx_write(path, b.data, b.len, O_APPEND);
    sc_buf_free(&b);
}

/* CHECK that everything delivered equals the concatenation of numbered ranges. */
static inline int fx_got_is(const fx *x, const char *expected)
{
    return strcmp(fx_got(x), expected) == 0;
}

#endif
