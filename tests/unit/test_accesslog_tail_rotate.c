/* test_accesslog_tail_rotate.c - tests for accesslog/tail when the file moves under it: rename
 * rotation while writing (also with a writer that keeps writing to the renamed file), rotation
 * with the old file deleted before it was read, copy-and-truncate (default and custom pattern, a
 * partial line continuing in the copy), plain truncation (shorter, and refilled past our offset),
 * missing at start, replaced by a directory, delete + recreate, a Kubernetes "..data" symlink
 * switch, and polling mode without inotify. */
#include "test_accesslog_tail_fx.h"

static void expect_numbered(const fx *x, const char *p1, int a1, int b1, const char *p2, int a2,
                            int b2)
{
    sc_buf want;
    sc_buf_init(&want, 1u << 20);
    fx_numbered(&want, p1, a1, b1);
    if (p2 != NULL)
        fx_numbered(&want, p2, a2, b2);
    CHECK_STR(fx_got(x), want.data ? want.data : "");
    sc_buf_free(&want);
}

/* ---- rename rotation ------------------------------------------------------------------------- */

/* One line per tick; after line 100 the file is renamed and the next lines create a new one. */
static int step_rename_while_writing(fx *x)
{
    char old[160];
    fx_sibling(x, ".1", old, sizeof old);
    if (x->stage < 200) {
        x->stage++;
        fx_append_numbered(x->path, "line", x->stage, x->stage);
        if (x->stage == 100)
            rename(x->path, old);
        return 0;
    }
    sc_tail_stats s = fx_stats(x);
    return x->nlines == 200 && s.files_closed == 1 && s.open_files == 1;
}

static void rename_rotation_while_writing(void)
{
    fx x;
    fx_init(&x);
    fx_put(x.path, "");
    fx_run(&x, step_rename_while_writing);
    expect_numbered(&x, "line", 1, 200, NULL, 0, 0);
    fx_done(&x);
}

/* nginx-like: the writer keeps its descriptor; logrotate renames and creates the new file; the
 * writer goes on writing to the renamed file until it is told to reopen. */
static int step_writer_keeps_fd(fx *x)
{
    char old[160];
    fx_sibling(x, ".1", old, sizeof old);
    int fd = (int)x->mark;
    sc_tail_stats s = fx_stats(x);
    switch (x->stage) {
    case 0:
        x->mark = (uint64_t)open(x->path, O_WRONLY | O_APPEND | O_CLOEXEC);
        x->stage = 1;
        break;
    case 1:
        if (x->nlines == 0)
            break;
        rename(x->path, old);
        fx_put(x->path, ""); /* logrotate "create" */
        x->stage = 2;
        break;
    case 2:
        if (s.rotations == 1) { /* the tailer has seen the new file: keep writing the old one */
            for (int i = 2; i <= 20; i++) {
                char line[32];
                int n = snprintf(line, sizeof line, "old%d\n", i);
                CHECK(write(fd, line, (size_t)n) == n);
            }
            close(fd);
            fx_append_numbered(x->path, "new", 1, 5); /* reopened */
            x->stage = 3;
        }
        break;
    case 3:
        return x->nlines == 25;
    }
    return 0;
}

static void rename_rotation_with_writer_still_on_old_file(void)
{
    fx x;
    fx_init(&x);
    x.opts.rotate_wait_ms = 2000;
    fx_put(x.path, "old1\n");
    fx_run(&x, step_writer_keeps_fd);
    expect_numbered(&x, "old", 1, 20, "new", 1, 5);
    fx_done(&x);
}

static int step_rotated_and_deleted(fx *x)
{
    char old[160];
    fx_sibling(x, ".1", old, sizeof old);
    sc_tail_stats s = fx_stats(x);
    switch (x->stage) {
    case 0:
        if (x->nlines == 1) {
            sc_tail_pause(x->t); /* so the old file cannot be read before it is gone */
            fx_append_numbered(x->path, "a", 2, 500);
            rename(x->path, old);
            fx_append_numbered(x->path, "b", 1, 3);
            unlink(old);
            x->stage = 1;
        }
        break;
    case 1:
        if (s.rotations == 1) {
            CHECK_EQ(x->nlines, 1);
            sc_tail_resume(x->t);
            x->stage = 2;
        }
        break;
    case 2:
        return x->nlines == 503 && s.files_closed == 1;
    }
    return 0;
}

static void rotated_file_deleted_before_read_is_still_read(void)
{
    fx x;
    fx_init(&x);
    x.opts.rotate_wait_ms = 60000; /* deleted: closed once drained, without waiting */
    fx_put(x.path, "a1\n");
    fx_run(&x, step_rotated_and_deleted);
    expect_numbered(&x, "a", 1, 500, "b", 1, 3);
    fx_done(&x);
}

static int step_rotated_partial(fx *x)
{
    char old[160];
    fx_sibling(x, ".1", old, sizeof old);
    sc_tail_stats s = fx_stats(x);
    if (x->stage == 0 && x->nlines == 1 && s.bytes == 3) {
        rename(x->path, old);
        fx_put(x->path, "c\n");
        x->stage = 1;
    }
    return x->stage == 1 && x->nlines == 3 && s.files_closed == 1;
}

/* The writer of the rotated file never finished its last line: not lost, delivered (flagged
 * partial) when the file is dropped - after the new file's first lines. */
static void rotated_file_unfinished_line_is_delivered_when_dropped(void)
{
    fx x;
    fx_init(&x);
    fx_put(x.path, "a\nb");
    fx_run(&x, step_rotated_partial);
    CHECK_STR(fx_got(&x), "a\nc\nb\n");
    CHECK_EQ(x.partials, 1);
    fx_done(&x);
}

/* ---- copy-and-truncate and truncation -------------------------------------------------------- */

typedef struct ct_case {
    const char *suffix; /* copy name: path + suffix */
} ct_case;

static int step_copytruncate(fx *x)
{
    const ct_case *ct = x->user;
    char copy[160];
    fx_sibling(x, ct->suffix, copy, sizeof copy);
    sc_tail_stats s = fx_stats(x);
    switch (x->stage) {
    case 0:
        if (x->nlines == 10) {
            sc_tail_pause(x->t);
            fx_append_numbered(x->path, "l", 11, 20);
            fx_append(x->path, "part"); /* a partial line, held by the tailer... */
            x->stage = 1;
        }
        break;
    case 1:
        if (s.lag_bytes > 0) {
            sc_tail_resume(x->t);
            x->stage = 2;
        }
        break;
    case 2:
        if (x->nlines == 20 && s.lag_bytes == 0) {
            sc_tail_pause(x->t);
            fx_append(x->path, "ial\n"); /* ...completed, then copied and truncated */
            fx_append_numbered(x->path, "l", 21, 30);
            fx_copy(x->path, copy);
            truncate(x->path, 0);
            fx_append_numbered(x->path, "n", 1, 2);
            sc_tail_resume(x->t);
            x->stage = 3;
        }
        break;
    case 3:
        return x->nlines == 33 && s.truncations == 1 && s.open_files == 1;
    }
    return 0;
}

static void run_copytruncate(const char *suffix, const char *glob)
{
    fx x;
    fx_init(&x);
    ct_case ct = {.suffix = suffix};
    x.user = &ct;
    x.opts.rotated_glob = glob;
    fx_append_numbered(x.path, "l", 1, 10);
    fx_run(&x, step_copytruncate);
    sc_buf want;
    sc_buf_init(&want, 4096);
    fx_numbered(&want, "l", 1, 20);
    sc_buf_append_str(&want, "partial\n");
    fx_numbered(&want, "l", 21, 30);
    fx_numbered(&want, "n", 1, 2);
    CHECK_STR(fx_got(&x), want.data);
    sc_buf_free(&want);
    CHECK_EQ(fx_log_count(&x, "reading its rest from the copy"), 1);
    fx_done(&x);
}

static void copy_truncate_reads_rest_from_copy(void)
{
    run_copytruncate(".1", NULL);
}

static void copy_truncate_with_custom_pattern(void)
{
    run_copytruncate("-20250101", "access.log-*");
}

static int step_truncate(fx *x)
{
    sc_tail_stats s = fx_stats(x);
    switch (x->stage) {
    case 0:
        if (x->nlines == 2) {
            truncate(x->path, 0);
            fx_append(x->path, "c\n"); /* shorter than our offset */
            x->stage = 1;
        }
        break;
    case 1:
        if (x->nlines == 3) {
            truncate(x->path, 0); /* refilled past our offset (2): only the bytes tell */
            fx_append(x->path, "dddddddddd\n");
            x->stage = 2;
        }
        break;
    case 2:
        return x->nlines == 4 && s.truncations == 2 && s.copy_recoveries == 0;
    }
    return 0;
}

static void plain_truncation_restarts_at_zero(void)
{
    fx x;
    fx_init(&x);
    fx_put(x.path, "a\nb\n");
    fx_run(&x, step_truncate);
    CHECK_STR(fx_got(&x), "a\nb\nc\ndddddddddd\n");
    fx_done(&x);
}

/* ---- the path comes and goes ----------------------------------------------------------------- */

static int step_missing(fx *x)
{
    if (x->stage == 0 && fx_log_count(x, "file missing; waiting") == 1 && fx_stats(x).probes >= 3) {
        fx_put(x->path, "x\ny\n");
        x->stage = 1;
    }
    return x->stage == 1 && x->nlines == 2;
}

static void missing_at_start_then_created(void)
{
    fx x;
    fx_init(&x);
    x.opts.start = SC_TAIL_START_END; /* a file created later is read from its start anyway */
    fx_run(&x, step_missing);
    CHECK_STR(fx_got(&x), "x\ny\n");
    CHECK_EQ(fx_log_count(&x, "file missing; waiting"), 1);
    fx_done(&x);
}

/* Renamed first, created later: the tailer sees the path missing in between. */
static int step_rename_gap(fx *x)
{
    char old[160];
    fx_sibling(x, ".1", old, sizeof old);
    sc_tail_stats s = fx_stats(x);
    switch (x->stage) {
    case 0:
        if (x->nlines == 1) {
            CHECK(rename(x->path, old) == 0);
            x->stage = 1;
        }
        break;
    case 1:
        if (fx_log_count(x, "file missing; waiting") == 1) {
            fx_append(old, "a2\n"); /* the writer has not reopened yet */
            fx_put(x->path, "b1\n");
            x->stage = 2;
        }
        break;
    case 2:
        return x->nlines == 3 && s.rotations == 1 && fx_log_count(x, "file rotated") == 1;
    }
    return 0;
}

static void rename_then_create_later_is_a_rotation(void)
{
    fx x;
    fx_init(&x);
    fx_put(x.path, "a1\n");
    fx_run(&x, step_rename_gap);
    CHECK(fx_got_is(&x, "a1\na2\nb1\n") || fx_got_is(&x, "a1\nb1\na2\n"));
    fx_done(&x);
}

static int step_directory(fx *x)
{
    sc_tail_stats s = fx_stats(x);
    switch (x->stage) {
    case 0:
        if (x->nlines == 1) {
            unlink(x->path);
            mkdir(x->path, 0755);
            x->stage = 1;
        }
        break;
    case 1:
        if (fx_log_count(x, "not a regular file") == 1) {
            x->mark = s.probes;
            x->stage = 2;
        }
        break;
    case 2:
        if (s.probes >= x->mark + 5) {
            CHECK_EQ(fx_log_count(x, "not a regular file"), 1); /* once, not per probe */
            CHECK_EQ(s.open_files, 0);
            rmdir(x->path);
            fx_put(x->path, "b\n");
            x->stage = 3;
        }
        break;
    case 3:
        return x->nlines == 2;
    }
    return 0;
}

static void path_replaced_by_directory_then_file(void)
{
    fx x;
    fx_init(&x);
    fx_put(x.path, "a\n");
    fx_run(&x, step_directory);
    CHECK_STR(fx_got(&x), "a\nb\n");
    fx_done(&x);
}

static int step_recreate(fx *x)
{
    sc_tail_stats s = fx_stats(x);
    switch (x->stage) {
    case 0:
        if (x->nlines == 1) {
            fx_append(x->path, "a2\n");
            unlink(x->path); /* deleted with an unread line: still read */
            x->stage = 1;
        }
        break;
    case 1:
        if (s.files_closed == 1) {
            CHECK_EQ(x->nlines, 2);
            fx_put(x->path, "b1\n");
            x->stage = 2;
        }
        break;
    case 2:
        if (x->nlines == 3) { /* now delete and recreate before the tailer can notice */
            unlink(x->path);
            fx_put(x->path, "c1\n");
            x->stage = 3;
        }
        break;
    case 3:
        return x->nlines == 4 && s.files_closed == 2;
    }
    return 0;
}

static void delete_and_recreate(void)
{
    fx x;
    fx_init(&x);
    fx_put(x.path, "a1\n");
    fx_run(&x, step_recreate);
    CHECK_STR(fx_got(&x), "a1\na2\nb1\nc1\n");
    fx_done(&x);
}

/* /dir/access.log -> ..data/access.log, ..data -> ..v1, switched atomically to ..v2. */
static int step_symlink(fx *x)
{
    char v1[160], v2[160], tmp[160], data[160];
    snprintf(v1, sizeof v1, "%s/..v1/access.log", x->dir);
    snprintf(v2, sizeof v2, "%s/..v2/access.log", x->dir);
    snprintf(tmp, sizeof tmp, "%s/..data_tmp", x->dir);
    snprintf(data, sizeof data, "%s/..data", x->dir);
    sc_tail_stats s = fx_stats(x);
    switch (x->stage) {
    case 0:
        if (x->nlines == 1) {
            fx_append(v1, "v1b\n"); /* in another directory than the path */
            x->stage = 1;
        }
        break;
    case 1:
        if (x->nlines == 2) {
            snprintf(tmp, sizeof tmp, "%s/..v2", x->dir);
            mkdir(tmp, 0755);
            fx_put(v2, "v2a\n");
            snprintf(tmp, sizeof tmp, "%s/..data_tmp", x->dir);
            CHECK(symlink("..v2", tmp) == 0);
            CHECK(rename(tmp, data) == 0);
            x->stage = 2;
        }
        break;
    case 2:
        if (x->nlines == 3) {
            fx_append(v2, "v2b\n");
            x->stage = 3;
        }
        break;
    case 3:
        return x->nlines == 4 && s.rotations == 1;
    }
    return 0;
}

static void symlink_target_switch(void)
{
    fx x;
    fx_init(&x);
    x.opts.reconcile_interval_ms = 60000; /* inotify alone must see all of it */
    char p[160];
    snprintf(p, sizeof p, "%s/..v1", x.dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/..v1/access.log", x.dir);
    fx_put(p, "v1a\n");
    snprintf(p, sizeof p, "%s/..data", x.dir);
    CHECK(symlink("..v1", p) == 0);
    CHECK(symlink("..data/access.log", x.path) == 0);
    fx_run(&x, step_symlink);
    CHECK_STR(fx_got(&x), "v1a\nv1b\nv2a\nv2b\n");
    fx_done(&x);
}

/* ---- polling --------------------------------------------------------------------------------- */

static int step_polling(fx *x)
{
    char old[160];
    fx_sibling(x, ".1", old, sizeof old);
    sc_tail_stats s = fx_stats(x);
    switch (x->stage) {
    case 0:
        CHECK(!s.inotify);
        if (x->nlines == 1) {
            fx_append(x->path, "a2\n");
            x->stage = 1;
        }
        break;
    case 1:
        if (x->nlines == 2) {
            fx_append(x->path, "a3\n");
            rename(x->path, old);
            fx_put(x->path, "b1\n");
            x->stage = 2;
        }
        break;
    case 2:
        if (x->nlines == 4) {
            truncate(x->path, 0);
            fx_put(x->path, "c1\n");
            x->stage = 3;
        }
        break;
    case 3:
        if (x->nlines == 5) {
            unlink(x->path);
            x->stage = 4;
        }
        break;
    case 4:
        if (s.open_files == 0) {
            fx_put(x->path, "d1\n");
            x->stage = 5;
        }
        break;
    case 5:
        return x->nlines == 6 && s.rotations == 1 && s.truncations == 1;
    }
    return 0;
}

static void polling_mode_detects_everything(void)
{
    fx x;
    fx_init(&x);
    x.opts.no_inotify = 1;
    fx_put(x.path, "a1\n");
    fx_run(&x, step_polling);
    CHECK_STR(fx_got(&x), "a1\na2\na3\nb1\nc1\nd1\n");
    fx_done(&x);
}

/* ---- volume ---------------------------------------------------------------------------------- */

/* 40 bursts of 500 lines of varying length, the file renamed over "<path>.1" every 10 bursts
 * (the previous .1, maybe still being read, is thereby deleted): small read blocks and batches,
 * so lines straddle blocks and blocks split into batches. */
static int step_volume(fx *x)
{
    char old[160];
    fx_sibling(x, ".1", old, sizeof old);
    if (x->stage < 40) {
        sc_buf b;
        sc_buf_init(&b, 1u << 20);
        for (int i = x->stage * 500 + 1; i <= (x->stage + 1) * 500; i++) {
            char line[128];
            snprintf(line, sizeof line, "%d %.*s\n", i, i % 97,
                     "abcdefghijklmnopqrstuvwxyz0123456789"
                     "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789");
            sc_buf_append_str(&b, line);
        }
        fx_write(x->path, b.data, b.len, O_APPEND);
        sc_buf_free(&b);
        x->stage++;
        if (x->stage % 10 == 0 && x->stage < 40)
            rename(x->path, old);
        return 0;
    }
    return x->nlines == 20000;
}

static void many_blocks_and_rotations_keep_every_line_in_order(void)
{
    fx x;
    fx_init(&x);
    x.opts.read_block = 4096;
    x.opts.max_batch = 100;
    fx_put(x.path, "");
    fx_run(&x, step_volume);
    sc_buf want;
    sc_buf_init(&want, 1u << 22);
    for (int i = 1; i <= 20000; i++) {
        char line[128];
        snprintf(line, sizeof line, "%d %.*s\n", i, i % 97,
                 "abcdefghijklmnopqrstuvwxyz0123456789"
                 "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789");
        sc_buf_append_str(&want, line);
    }
    CHECK(x.got.len == want.len && memcmp(x.got.data, want.data, want.len) == 0);
    sc_buf_free(&want);
    fx_done(&x);
}

int main(void)
{
    RUN(rename_rotation_while_writing);
    RUN(rename_rotation_with_writer_still_on_old_file);
    RUN(rotated_file_deleted_before_read_is_still_read);
    RUN(rotated_file_unfinished_line_is_delivered_when_dropped);
    RUN(copy_truncate_reads_rest_from_copy);
    RUN(copy_truncate_with_custom_pattern);
    RUN(plain_truncation_restarts_at_zero);
    RUN(missing_at_start_then_created);
    RUN(rename_then_create_later_is_a_rotation);
    RUN(path_replaced_by_directory_then_file);
    RUN(delete_and_recreate);
    RUN(symlink_target_switch);
    RUN(polling_mode_detects_everything);
    RUN(many_blocks_and_rotations_keep_every_line_in_order);
    return sc_test_summary();
}
