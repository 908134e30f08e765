/* test_keyfile.c - tests for config/keyfile: the synchronous first load and its errors, rotation
 * picked up through the directory watch (plain rename and the Kubernetes "..data" symlink swap),
 * the reconcile timer, invalid new content keeping the old key, and closing with a read in
 * flight. Every loop is bounded by a watchdog timer. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/keyfile.h"
#include "core/clock.h"
#include "harness.h"

typedef struct t_ctx {
    uv_loop_t loop;
    sc_env env;
    sc_log *log;
    FILE *logf;
    sc_clock_fake clock;
    uv_timer_t watchdog;
    uv_timer_t poke;
    sc_keyfile *kf;
    char dir[64];
    char path[128];
    int changes, errors, closed, finishing, state;
    char changed_to[64];
    uint64_t changed_gen;
    char log_text[8192];
} t_ctx;

static void write_file(const char *path, const char *content, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        sc_test_fail(__FILE__, __LINE__, "open for write");
        return;
    }
    if (write(fd, content, strlen(content)) != (ssize_t)strlen(content))
        sc_test_fail(__FILE__, __LINE__, "write");
    fchmod(fd, mode); /* not subject to the umask */
    close(fd);
}

/* Atomically replaces `name` in the test dir, the way config management tools do. */
static void replace_file(t_ctx *t, const char *content, mode_t mode)
{
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s/key.tmp", t->dir);
    write_file(tmp, content, mode);
    if (rename(tmp, t->path) != 0)
        sc_test_fail(__FILE__, __LINE__, "rename");
}

static int ctx_init(t_ctx *t)
{
    memset(t, 0, sizeof *t);
    snprintf(t->dir, sizeof t->dir, "/tmp/sc-test-keyfile-XXXXXX");
    if (mkdtemp(t->dir) == NULL || uv_loop_init(&t->loop) != 0)
        return -1;
    snprintf(t->path, sizeof t->path, "%s/key", t->dir);
    sc_clock_fake_init(&t->clock, 0);
    t->logf = tmpfile();
    if (t->logf == NULL || sc_log_new(&t->log, fileno(t->logf), SC_LOG_DEBUG, &t->clock.base) != 0)
        return -1;
    t->env = (sc_env){.loop = &t->loop, .log = t->log, .clock = &t->clock.base};
    return 0;
}

static const char *ctx_log(t_ctx *t)
{
    ssize_t n = pread(fileno(t->logf), t->log_text, sizeof t->log_text - 1, 0);
    t->log_text[n > 0 ? n : 0] = '\0';
    return t->log_text;
}

static void rm_tree(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (strncmp(dir, "/tmp/sc-test-keyfile-", 21) == 0 && system(cmd) != 0)
        sc_test_fail(__FILE__, __LINE__, "rm -rf");
}

static void ctx_done(t_ctx *t)
{
    sc_test_close_loop(&t->loop);
    sc_log_free(t->log);
    if (t->logf)
        fclose(t->logf);
    rm_tree(t->dir);
}

static void on_closed(void *arg)
{
    ((t_ctx *)arg)->closed++;
}

static void finish(t_ctx *t)
{
    if (t->finishing)
        return;
    t->finishing = 1;
    sc_keyfile_close(t->kf, on_closed, t);
    uv_close((uv_handle_t *)&t->watchdog, NULL);
}

static void on_watchdog(uv_timer_t *h)
{
    sc_test_fail(__FILE__, __LINE__, "watchdog fired: the expected callback never came");
    finish(h->data);
}

static void on_change(sc_keyfile *kf, void *arg)
{
    t_ctx *t = arg;
    t->changes++;
    snprintf(t->changed_to, sizeof t->changed_to, "%s", sc_keyfile_key(kf));
    t->changed_gen = sc_keyfile_generation(kf);
    finish(t);
}

static void run(t_ctx *t)
{
    uv_timer_init(&t->loop, &t->watchdog);
    t->watchdog.data = t;
    uv_timer_start(&t->watchdog, on_watchdog, 5000, 0);
    uv_run(&t->loop, UV_RUN_DEFAULT);
    CHECK_EQ(t->closed, 1);
}

static int open_kf(t_ctx *t, uint64_t interval_ms, int no_watch, sc_keyfile_error_cb on_error)
{
    sc_config_error err;
    sc_keyfile_options opt = {.path = t->path,
                              .check_interval_ms = interval_ms,
                              .no_watch = no_watch,
                              .on_change = on_change,
                              .on_error = on_error,
                              .arg = t};
    int rc = sc_keyfile_new(&t->kf, &t->env, &opt, &err);
    if (rc != 0)
        fprintf(stderr, "  sc_keyfile_new: %s\n", err.msg);
    return rc == 0 ? sc_keyfile_start(t->kf) : rc;
}

static void load_trims_and_closes(void)
{
    t_ctx t;
    REQUIRE(ctx_init(&t) == 0);
    write_file(t.path, " \n\tsk-abc-123 \r\n", 0600);
    sc_config_error err;
    sc_keyfile_options opt = {.path = t.path, .check_interval_ms = 1000};
    REQUIRE(sc_keyfile_new(&t.kf, &t.env, &opt, &err) == 0);
    CHECK_STR(sc_keyfile_key(t.kf), "sk-abc-123");
    CHECK_EQ(sc_keyfile_generation(t.kf), 1);
    sc_keyfile_close(t.kf, on_closed, &t);
    CHECK_EQ(t.closed, 0); /* close completes from the loop, never inline */
    uv_run(&t.loop, UV_RUN_DEFAULT);
    CHECK_EQ(t.closed, 1);
    ctx_done(&t);
}

static void static_key_and_no_key(void)
{
    t_ctx t;
    REQUIRE(ctx_init(&t) == 0);
    sc_config_error err;
    sc_keyfile_options opt = {.key = "sk-static-1", .check_interval_ms = 10};
    REQUIRE(sc_keyfile_new(&t.kf, &t.env, &opt, &err) == 0);
    CHECK_STR(sc_keyfile_key(t.kf), "sk-static-1");
    CHECK_EQ(sc_keyfile_generation(t.kf), 1);
    CHECK_EQ(sc_keyfile_start(t.kf), 0); /* nothing to watch */
    sc_keyfile_close(t.kf, on_closed, &t);
    sc_keyfile_options none = {0};
    REQUIRE(sc_keyfile_new(&t.kf, &t.env, &none, &err) == 0);
    CHECK(sc_keyfile_key(t.kf) == NULL);
    CHECK_EQ(sc_keyfile_generation(t.kf), 0);
    sc_keyfile_close(t.kf, on_closed, &t);
    sc_keyfile_close(NULL, on_closed, &t);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    CHECK_EQ(t.closed, 2);
    ctx_done(&t);
}

static void expect_load_error(t_ctx *t, const char *want_suffix)
{
    char want[512];
    sc_config_error err;
    sc_keyfile *kf = NULL;
    sc_keyfile_options opt = {.path = t->path, .check_interval_ms = 1000};
    snprintf(want, sizeof want, "api key file \"%s\"%s", t->path, want_suffix);
    CHECK_EQ(sc_keyfile_new(&kf, &t->env, &opt, &err), -EINVAL);
    CHECK(kf == NULL);
    CHECK_STR(err.msg, want);
}

static void load_errors_name_the_file(void)
{
    t_ctx t;
    REQUIRE(ctx_init(&t) == 0);
    expect_load_error(&t, ": No such file or directory");
    write_file(t.path, "", 0600);
    expect_load_error(&t, " is empty");
    write_file(t.path, " \n\n\t", 0600);
    expect_load_error(&t, " is empty");
    write_file(t.path, "sk-a b\n", 0600);
    expect_load_error(&t, ": the key contains whitespace or control characters");
    write_file(t.path, "sk-12345678\n", 0660);
    expect_load_error(&t, " is group- or world-writable (mode 0660); refusing to use it");
    write_file(t.path, "sk-12345678\n", 0602);
    expect_load_error(&t, " is group- or world-writable (mode 0602); refusing to use it");
    char big[SC_KEYFILE_MAX + 2];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    write_file(t.path, big, 0600);
    expect_load_error(&t, " is larger than 4096 bytes");
    if (geteuid() != 0) { /* root reads mode 000 files anyway */
        write_file(t.path, "sk-12345678\n", 0000);
        expect_load_error(&t, ": Permission denied");
    }
    unlink(t.path);
    REQUIRE(mkdir(t.path, 0700) == 0);
    expect_load_error(&t, " is not a regular file");
    ctx_done(&t);
}

static void rotation_via_directory_watch(void)
{
    t_ctx t;
    REQUIRE(ctx_init(&t) == 0);
    write_file(t.path, "sk-old-1111\n", 0600);
    REQUIRE(open_kf(&t, 3600000, 0, NULL) == 0); /* the timer cannot be what fires */
    replace_file(&t, "sk-new-2222\n", 0644);
    run(&t);
    CHECK_EQ(t.changes, 1);
    CHECK_STR(t.changed_to, "sk-new-2222");
    CHECK_EQ(t.changed_gen, 2);
    const char *log = ctx_log(&t);
    CHECK(strstr(log, "api key file changed") != NULL);
    CHECK(strstr(log, "sk-old") == NULL && strstr(log, "sk-new") == NULL);
    ctx_done(&t);
}

/* Kubernetes: key -> ..data/key, ..data -> ..2024_v1; an update writes a new timestamped dir and
 * renames a fresh ..data_tmp symlink over ..data, so the file's own inode never changes in place.
 */
static void rotation_via_kubernetes_symlink_swap(void)
{
    t_ctx t;
    char p[160], q[160];
    REQUIRE(ctx_init(&t) == 0);
    snprintf(p, sizeof p, "%s/..v1", t.dir);
    REQUIRE(mkdir(p, 0755) == 0);
    snprintf(p, sizeof p, "%s/..v1/key", t.dir);
    write_file(p, "sk-k8s-old\n", 0644);
    snprintf(p, sizeof p, "%s/..data", t.dir);
    REQUIRE(symlink("..v1", p) == 0);
    REQUIRE(symlink("..data/key", t.path) == 0);
    REQUIRE(open_kf(&t, 3600000, 0, NULL) == 0);
    CHECK_STR(sc_keyfile_key(t.kf), "sk-k8s-old");

    snprintf(p, sizeof p, "%s/..v2", t.dir);
    REQUIRE(mkdir(p, 0755) == 0);
    snprintf(p, sizeof p, "%s/..v2/key", t.dir);
    write_file(p, "sk-k8s-new\n", 0644);
    snprintf(p, sizeof p, "%s/..data_tmp", t.dir);
    REQUIRE(symlink("..v2", p) == 0);
    snprintf(q, sizeof q, "%s/..data", t.dir);
    REQUIRE(rename(p, q) == 0);
    run(&t);
    CHECK_EQ(t.changes, 1);
    CHECK_STR(t.changed_to, "sk-k8s-new");
    ctx_done(&t);
}

static void rotation_via_reconcile_timer(void)
{
    t_ctx t;
    REQUIRE(ctx_init(&t) == 0);
    write_file(t.path, "sk-old-1111\n", 0600);
    REQUIRE(open_kf(&t, 20, 1, NULL) == 0); /* no watch: only the timer can notice */
    replace_file(&t, "sk-timer-3333", 0600);
    run(&t);
    CHECK_EQ(t.changes, 1);
    CHECK_STR(t.changed_to, "sk-timer-3333");
    ctx_done(&t);
}

/* Steps: an empty file, then a world-writable one, are both refused with the old key kept; then a
 * valid one is taken. Reads already in flight may repeat an earlier error, so each step only
 * reacts to the error it is waiting for. */
static void on_error_steps(sc_keyfile *kf, const char *msg, void *arg)
{
    t_ctx *t = arg;
    t->errors++;
    CHECK_STR(sc_keyfile_key(kf), "sk-old-1111");
    CHECK_EQ(sc_keyfile_generation(kf), 1);
    if (t->state == 0 && strstr(msg, " is empty") != NULL) {
        t->state = 1;
        replace_file(t, "sk-bad-2222\n", 0666);
    } else if (t->state == 1 && strstr(msg, "(mode 0666); refusing to use it") != NULL) {
        t->state = 2;
        replace_file(t, "sk-good-3333\n", 0600);
    }
}

static void invalid_new_content_keeps_the_old_key(void)
{
    t_ctx t;
    REQUIRE(ctx_init(&t) == 0);
    write_file(t.path, "sk-old-1111\n", 0600);
    REQUIRE(open_kf(&t, 3600000, 0, on_error_steps) == 0);
    replace_file(&t, "\n", 0600);
    run(&t);
    CHECK_EQ(t.state, 2);
    CHECK(t.errors >= 2);
    CHECK_EQ(t.changes, 1);
    CHECK_STR(t.changed_to, "sk-good-3333");
    CHECK_EQ(t.changed_gen, 2);
    const char *log = ctx_log(&t);
    CHECK(strstr(log, "keeping the current key") != NULL);
    CHECK(strstr(log, "is empty") != NULL);
    CHECK(strstr(log, "world-writable") != NULL);
    CHECK(strstr(log, "sk-old") == NULL && strstr(log, "sk-bad") == NULL &&
          strstr(log, "sk-good") == NULL);
    ctx_done(&t);
}

static void on_poke(uv_timer_t *h)
{
    t_ctx *t = h->data;
    uv_close((uv_handle_t *)&t->poke, NULL);
    finish(t);
}

/* The keyfile's timer and ours are due at the same loop time; ours was started second so it runs
 * right after the keyfile began a re-read: close must wait for the read to finish. */
static void close_with_a_read_in_flight(void)
{
    t_ctx t;
    REQUIRE(ctx_init(&t) == 0);
    write_file(t.path, "sk-old-1111\n", 0600);
    REQUIRE(open_kf(&t, 10, 1, NULL) == 0);
    uv_timer_init(&t.loop, &t.poke);
    t.poke.data = &t;
    uv_timer_start(&t.poke, on_poke, 10, 0);
    replace_file(&t, "sk-never-seen\n", 0600);
    run(&t);
    CHECK_EQ(t.changes, 0);
    ctx_done(&t);
}

int main(void)
{
    RUN(load_trims_and_closes);
    RUN(static_key_and_no_key);
    RUN(load_errors_name_the_file);
    RUN(rotation_via_directory_watch);
    RUN(rotation_via_kubernetes_symlink_swap);
    RUN(rotation_via_reconcile_timer);
    RUN(invalid_new_content_keeps_the_old_key);
    RUN(close_with_a_read_in_flight);
    return sc_test_summary();
}
