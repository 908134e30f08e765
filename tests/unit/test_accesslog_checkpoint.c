/* test_accesslog_checkpoint.c - tests for accesslog/checkpoint: FNV-1a vectors, the record
 * format (round trip, tamper and version checks), atomic store/load, and the writer's
 * coalescing, rate limit, final write and failure accounting on a real loop. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accesslog/checkpoint.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/rng.h"
#include "harness.h"

static sc_checkpoint_rec rec_at(uint64_t offset)
{
    sc_checkpoint_rec r = {.dev = 2049,
                           .ino = 123456789,
                           .offset = offset,
                           .hash = 0xfedcba9876543210ull,
                           .hash_len = offset < 256 ? (uint32_t)offset : 256,
                           .head_hash = 42,
                           .head_len = 256};
    return r;
}

static void fnv1a_known_vectors(void)
{
    CHECK(sc_checkpoint_fnv1a(SC_CHECKPOINT_FNV_INIT, "", 0) == 0xcbf29ce484222325ull);
    CHECK(sc_checkpoint_fnv1a(SC_CHECKPOINT_FNV_INIT, "a", 1) == 0xaf63dc4c8601ec8cull);
    CHECK(sc_checkpoint_fnv1a(SC_CHECKPOINT_FNV_INIT, "foobar", 6) == 0x85944171f73967e8ull);
    uint64_t h = sc_checkpoint_fnv1a(SC_CHECKPOINT_FNV_INIT, "foo", 3);
    CHECK(sc_checkpoint_fnv1a(h, "bar", 3) == 0x85944171f73967e8ull); /* streaming */
}

static void record_round_trips_and_refuses_tampering(void)
{
    char buf[SC_CHECKPOINT_MAX_BYTES], subject[SC_CHECKPOINT_PATH_MAX];
    sc_checkpoint_rec in = rec_at(1000), out;
    int n = sc_checkpoint_encode(&in, "/var/log/pods/x/0.log", buf, sizeof buf);
    REQUIRE(n > 0);
    CHECK_EQ(sc_checkpoint_decode(buf, (size_t)n, &out, subject, sizeof subject), 0);
    CHECK(in.dev == out.dev && in.ino == out.ino && in.offset == out.offset);
    CHECK(in.hash == out.hash && in.hash_len == out.hash_len);
    CHECK(in.head_hash == out.head_hash && in.head_len == out.head_len);
    CHECK_STR(subject, "/var/log/pods/x/0.log");
    char *off = strstr(buf, "offset 1000");
    REQUIRE(off != NULL);
    off[8] = '2'; /* offset 1200: the sum no longer matches */
    CHECK_EQ(sc_checkpoint_decode(buf, (size_t)n, &out, subject, sizeof subject), -EINVAL);
    off[8] = '0';
    CHECK_EQ(sc_checkpoint_decode(buf, (size_t)n - 1, &out, subject, sizeof subject), -EINVAL);
    CHECK_EQ(sc_checkpoint_decode(buf, (size_t)n, &out, subject, 5), -EINVAL);
    buf[30] = '9'; /* the version */
    CHECK_EQ(sc_checkpoint_decode(buf, (size_t)n, &out, subject, sizeof subject), -EINVAL);
    CHECK_EQ(sc_checkpoint_encode(&in, "a\nb", buf, sizeof buf), -EINVAL);
    CHECK_EQ(sc_checkpoint_encode(&in, "/x", buf, 20), -ENOBUFS);
    in.hash_len = 300;
    CHECK_EQ(sc_checkpoint_encode(&in, "/x", buf, sizeof buf), -EINVAL);
}

/* Found by fuzz_checkpoint (tests/fuzz/crashes/checkpoint/): a subject with a NUL inside decoded
 * (the sum covers it), and the copy then compared as a C string, so a checkpoint written for
 * "/a.log\0junk" (or "\0\0/a.log", read as "") was believed for "/a.log". The encoder never
 * writes one: the decoder now refuses it. */
static void subject_with_nul_is_refused(void)
{
    static const char body[] = "comet-sidecar tail checkpoint 1\nsubject /a.log\0junk\ndev 1\n"
                               "ino 2\noffset 17\nhash 00000000000000ff\nhash_len 17\n"
                               "head_hash 00000000000000ff\nhead_len 17\n";
    for (int nul = 1; nul >= 0; nul--) {
        char buf[SC_CHECKPOINT_MAX_BYTES], subject[SC_CHECKPOINT_PATH_MAX];
        size_t n = sizeof body - 1;
        memcpy(buf, body, n);
        if (!nul)
            buf[strlen(buf)] = '_'; /* the control: "/a.log_junk" with a valid sum decodes */
        uint64_t sum = sc_checkpoint_fnv1a(SC_CHECKPOINT_FNV_INIT, buf, n);
        n += (size_t)snprintf(buf + n, sizeof buf - n, "sum %016llx\n", (unsigned long long)sum);
        sc_checkpoint_rec out;
        CHECK_EQ(sc_checkpoint_decode(buf, n, &out, subject, sizeof subject), nul ? -EINVAL : 0);
        if (!nul)
            CHECK_STR(subject, "/a.log_junk");
    }
}

static void store_is_atomic_and_load_reads_it_back(void)
{
    char dir[] = "/tmp/sc-cp-XXXXXX", file[64], tmp[80], buf[SC_CHECKPOINT_MAX_BYTES];
    char subject[SC_CHECKPOINT_PATH_MAX];
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(file, sizeof file, "%s/cp", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", file);
    sc_checkpoint_rec in = rec_at(77), out;
    CHECK_EQ(sc_checkpoint_load(file, &out, subject, sizeof subject), -ENOENT);
    int n = sc_checkpoint_encode(&in, "/p", buf, sizeof buf);
    REQUIRE(n > 0);
    CHECK_EQ(sc_checkpoint_store(file, buf, (size_t)n), 0);
    CHECK(access(tmp, F_OK) != 0);
    CHECK_EQ(sc_checkpoint_load(file, &out, subject, sizeof subject), 0);
    CHECK_EQ(out.offset, 77);
    CHECK_STR(subject, "/p");
    struct stat st;
    CHECK(stat(file, &st) == 0 && (st.st_mode & 0777) == 0600);
    FILE *f = fopen(file, "w");
    REQUIRE(f != NULL);
    fputs("garbage\n", f);
    fclose(f);
    CHECK_EQ(sc_checkpoint_load(file, &out, subject, sizeof subject), -EINVAL);
    char bad[96];
    snprintf(bad, sizeof bad, "%s/missing/cp", dir);
    CHECK_EQ(sc_checkpoint_store(bad, buf, (size_t)n), -ENOENT);
    unlink(file);
    rmdir(dir);
}

/* ---- the writer on a real loop --------------------------------------------------------------- */

typedef struct wfx {
    uv_loop_t loop;
    sc_log *log;
    sc_rng rng;
    sc_env env;
    sc_checkpoint_writer *w;
    uv_timer_t step, watchdog;
    int stage, closed;
    char dir[32], file[64];
} wfx;

static uint64_t stored_offset(wfx *x)
{
    sc_checkpoint_rec r;
    char subject[SC_CHECKPOINT_PATH_MAX];
    if (sc_checkpoint_load(x->file, &r, subject, sizeof subject) != 0)
        return UINT64_MAX;
    return r.offset;
}

static void on_writer_closed(void *arg)
{
    wfx *x = arg;
    x->closed = 1;
    uv_close((uv_handle_t *)&x->step, NULL);
    uv_close((uv_handle_t *)&x->watchdog, NULL);
}

static void on_watchdog(uv_timer_t *h)
{
    wfx *x = h->data;
    sc_test_fail(__FILE__, __LINE__, "watchdog fired");
    uv_timer_stop(&x->step);
    sc_checkpoint_writer_close(x->w, 0, on_writer_closed, x);
}

/* Stage by stage: coalescing while a write is in flight, then the rate limit, then close. */
static void on_step(uv_timer_t *h)
{
    wfx *x = h->data;
    sc_checkpoint_writer_stats s;
    sc_checkpoint_writer_get_stats(x->w, &s);
    sc_checkpoint_rec r;
    switch (x->stage) {
    case 0:
        for (uint64_t i = 1; i <= 5; i++) {
            r = rec_at(i * 10);
            sc_checkpoint_writer_set(x->w, &r); /* first starts a write; the rest coalesce */
        }
        x->stage = 1;
        break;
    case 1: { /* 10 stored at once, then 50 after the 200 ms interval: never 20..40 */
        uint64_t seen = stored_offset(x);
        CHECK(seen == UINT64_MAX || seen == 10 || seen == 50);
        if (s.writes < 2)
            break;
        CHECK_EQ(s.writes, 2);
        CHECK_EQ(stored_offset(x), 50);
        r = rec_at(60);
        sc_checkpoint_writer_set(x->w, &r); /* rate limited: not written yet... */
        uv_timer_stop(&x->step);
        sc_checkpoint_writer_close(x->w, 1, on_writer_closed, x); /* ...except by the final */
        x->stage = 2;
        break;
    }
    }
}

static void writer_coalesces_rate_limits_and_writes_final(void)
{
    wfx x = {0};
    snprintf(x.dir, sizeof x.dir, "/tmp/sc-cpw-XXXXXX");
    REQUIRE(mkdtemp(x.dir) != NULL);
    snprintf(x.file, sizeof x.file, "%s/cp", x.dir);
    REQUIRE(uv_loop_init(&x.loop) == 0);
    REQUIRE(sc_log_new(&x.log, 2, SC_LOG_WARN, sc_clock_system()) == 0);
    sc_rng_init_seeded(&x.rng, 1);
    x.env = (sc_env){.loop = &x.loop, .log = x.log, .clock = sc_clock_system(), .rng = &x.rng};
    CHECK_EQ(sc_checkpoint_writer_new(&x.w, &x.env, x.file, "a\nb", 10), -EINVAL);
    REQUIRE(sc_checkpoint_writer_new(&x.w, &x.env, x.file, "/p", 200) == 0);
    uv_timer_init(&x.loop, &x.step);
    uv_timer_init(&x.loop, &x.watchdog);
    x.step.data = x.watchdog.data = &x;
    uv_timer_start(&x.step, on_step, 1, 1);
    uv_timer_start(&x.watchdog, on_watchdog, 10000, 0);
    uv_run(&x.loop, UV_RUN_DEFAULT);
    CHECK(x.closed);
    CHECK_EQ(stored_offset(&x), 60);
    sc_test_close_loop(&x.loop);
    sc_log_free(x.log);
    unlink(x.file);
    rmdir(x.dir);
}

static void on_fail_step(uv_timer_t *h)
{
    wfx *x = h->data;
    sc_checkpoint_writer_stats s;
    sc_checkpoint_writer_get_stats(x->w, &s);
    if (x->stage == 0) {
        sc_checkpoint_rec r = rec_at(5);
        sc_checkpoint_writer_set(x->w, &r);
        x->stage = 1;
    } else if (s.failures >= 2) { /* failed, retried after the interval, failed again */
        CHECK_EQ(s.writes, 0);
        uv_timer_stop(&x->step);
        sc_checkpoint_writer_close(x->w, 1, on_writer_closed, x);
    }
}

static void writer_counts_failures_and_retries(void)
{
    wfx x = {0};
    REQUIRE(uv_loop_init(&x.loop) == 0);
    REQUIRE(sc_log_new(&x.log, 2, SC_LOG_OFF, sc_clock_system()) == 0);
    sc_rng_init_seeded(&x.rng, 1);
    x.env = (sc_env){.loop = &x.loop, .log = x.log, .clock = sc_clock_system(), .rng = &x.rng};
    REQUIRE(sc_checkpoint_writer_new(&x.w, &x.env, "/nonexistent-dir-sc/cp", "/p", 20) == 0);
    uv_timer_init(&x.loop, &x.step);
    uv_timer_init(&x.loop, &x.watchdog);
    x.step.data = x.watchdog.data = &x;
    uv_timer_start(&x.step, on_fail_step, 1, 1);
    uv_timer_start(&x.watchdog, on_watchdog, 10000, 0);
    uv_run(&x.loop, UV_RUN_DEFAULT);
    CHECK(x.closed);
    sc_test_close_loop(&x.loop);
    sc_log_free(x.log);
}

int main(void)
{
    RUN(fnv1a_known_vectors);
    RUN(record_round_trips_and_refuses_tampering);
    RUN(subject_with_nul_is_refused);
    RUN(store_is_atomic_and_load_reads_it_back);
    RUN(writer_coalesces_rate_limits_and_writes_final);
    RUN(writer_counts_failures_and_retries);
    return sc_test_summary();
}
