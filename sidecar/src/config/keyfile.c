/* keyfile.c - owns: the API key bytes, the synchronous first read, the asynchronous re-read chain
 * (open -> fstat -> read... -> close on the threadpool), the directory watch and the reconcile
 * timer. */
#include "config/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/schema.h"

struct sc_keyfile {
    const sc_env *env;
    char *path;
    char *dir;
    char *key;
    uint64_t generation;
    uint64_t interval_ms;
    int no_watch;
    sc_keyfile_change_cb on_change;
    sc_keyfile_error_cb on_error;
    void *arg;

    uv_timer_t timer; /* always initialised, so close is always asynchronous */
    uv_fs_event_t watch;
    int handles; /* initialised handles not yet closed */
    bool watch_inited, started, reading, again, closing;

    uv_fs_t req; /* the one re-read in flight */
    uv_file fd;
    size_t rlen;
    int rrc;
    sc_config_error rerr;
    char last_warning[sizeof(sc_config_error)];
    sc_keyfile_close_cb close_cb;
    void *close_arg;
    char rbuf[SC_KEYFILE_MAX + 1];
};

static void wipe_free(char *s)
{
    if (s != NULL) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

static int check_stat(const char *path, const uv_stat_t *st, sc_config_error *err)
{
    if (!S_ISREG(st->st_mode)) {
        sc_config_errorf(err, "api key file \"%s\" is not a regular file", path);
        return -EINVAL;
    }
    if (st->st_mode & (S_IWGRP | S_IWOTH)) {
        sc_config_errorf(err,
                         "api key file \"%s\" is group- or world-writable (mode %04o); refusing "
                         "to use it",
                         path, (unsigned)(st->st_mode & 07777));
        return -EINVAL;
    }
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Trims buf[0..n) and copies the key out. Rejects empty, oversized and inner whitespace/control
 * bytes (they would corrupt the Authorization header). */
static int take_key(const char *path, const char *buf, size_t n, char **out, sc_config_error *err)
{
    const char *b = buf, *e = buf + n;
    if (n > SC_KEYFILE_MAX) {
        sc_config_errorf(err, "api key file \"%s\" is larger than %d bytes", path, SC_KEYFILE_MAX);
        return -EINVAL;
    }
    while (b < e && is_space(*b))
        b++;
    while (e > b && is_space(e[-1]))
        e--;
    if (b == e) {
        sc_config_errorf(err, "api key file \"%s\" is empty", path);
        return -EINVAL;
    }
    for (const char *p = b; p < e; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f) {
            sc_config_errorf(err,
                             "api key file \"%s\": the key contains whitespace or control "
                             "characters",
                             path);
            return -EINVAL;
        }
    }
    if ((*out = strndup(b, (size_t)(e - b))) == NULL) {
        sc_config_errorf(err, "out of memory");
        return -ENOMEM;
    }
    return 0;
}

static int io_error(const char *path, int rc, sc_config_error *err)
{
    sc_config_errorf(err, "api key file \"%s\": %s", path, strerror(-rc));
    return -EINVAL;
}

/* Startup only: blocking reads are fine before the loop runs. */
static int load_sync(sc_keyfile *kf, sc_config_error *err)
{
    uv_loop_t *loop = kf->env->loop;
    uv_fs_t req;
    int fd = uv_fs_open(loop, &req, kf->path, O_RDONLY | O_CLOEXEC, 0, NULL);
    uv_fs_req_cleanup(&req);
    if (fd < 0)
        return io_error(kf->path, fd, err);
    int rc = uv_fs_fstat(loop, &req, fd, NULL);
    if (rc == 0)
        rc = check_stat(kf->path, &req.statbuf, err);
    else
        rc = io_error(kf->path, rc, err);
    uv_fs_req_cleanup(&req);
    size_t n = 0;
    while (rc == 0 && n <= SC_KEYFILE_MAX) {
        uv_buf_t b = uv_buf_init(kf->rbuf + n, (unsigned)(SC_KEYFILE_MAX + 1 - n));
        int r = uv_fs_read(loop, &req, fd, &b, 1, (int64_t)n, NULL);
        uv_fs_req_cleanup(&req);
        if (r < 0)
            rc = io_error(kf->path, r, err);
        else if (r == 0)
            break;
        n += r > 0 ? (size_t)r : 0;
    }
    uv_fs_close(loop, &req, fd, NULL);
    uv_fs_req_cleanup(&req);
    if (rc == 0)
        rc = take_key(kf->path, kf->rbuf, n, &kf->key, err);
    explicit_bzero(kf->rbuf, n);
    return rc;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return strdup(".");
    return strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

int sc_keyfile_new(sc_keyfile **out, const sc_env *env, const sc_keyfile_options *opt,
                   sc_config_error *err)
{
    sc_keyfile *kf = calloc(1, sizeof *kf);
    int rc = kf ? 0 : -ENOMEM;
    err->msg[0] = '\0';
    if (rc == 0) {
        kf->env = env;
        kf->fd = -1;
        kf->interval_ms = opt->check_interval_ms;
        kf->no_watch = opt->no_watch;
        kf->on_change = opt->on_change;
        kf->on_error = opt->on_error;
        kf->arg = opt->arg;
        if (opt->path != NULL) {
            kf->path = strdup(opt->path);
            kf->dir = dir_of(opt->path);
            rc = kf->path && kf->dir ? load_sync(kf, err) : -ENOMEM;
        } else if (opt->key != NULL && (kf->key = strdup(opt->key)) == NULL) {
            rc = -ENOMEM;
        }
    }
    if (rc == 0)
        rc = uv_timer_init(env->loop, &kf->timer);
    if (rc != 0) {
        if (err->msg[0] == '\0')
            sc_config_errorf(err, "api key: %s", rc == -ENOMEM ? "out of memory" : uv_strerror(rc));
        if (kf != NULL) {
            wipe_free(kf->key);
            free(kf->path);
            free(kf->dir);
            free(kf);
        }
        return rc == -ENOMEM ? rc : -EINVAL;
    }
    kf->timer.data = kf;
    kf->handles = 1;
    kf->generation = kf->key ? 1 : 0;
    *out = kf;
    return 0;
}

const char *sc_keyfile_key(const sc_keyfile *kf)
{
    return kf->key;
}

uint64_t sc_keyfile_generation(const sc_keyfile *kf)
{
    return kf->generation;
}

static void destroy(sc_keyfile *kf)
{
    sc_keyfile_close_cb cb = kf->close_cb;
    void *arg = kf->close_arg;
    wipe_free(kf->key);
    free(kf->path);
    free(kf->dir);
    explicit_bzero(kf->rbuf, sizeof kf->rbuf);
    free(kf);
    if (cb != NULL)
        cb(arg);
}

static void begin_read(sc_keyfile *kf);

static void apply(sc_keyfile *kf, char *key)
{
    kf->last_warning[0] = '\0';
    if (kf->key != NULL && strcmp(kf->key, key) == 0) {
        wipe_free(key);
        return;
    }
    wipe_free(kf->key);
    kf->key = key;
    kf->generation++;
    sc_log_info(kf->env->log, "api key file changed; using the new key", SC_F_STR("path", kf->path),
                SC_F_UINT("generation", kf->generation));
    if (kf->on_change != NULL)
        kf->on_change(kf, kf->arg);
}

static void report(sc_keyfile *kf)
{
    if (strcmp(kf->last_warning, kf->rerr.msg) != 0) { /* once per distinct problem */
        sc_log_warn(kf->env->log, "api key file re-read failed; keeping the current key",
                    SC_F_STR("error", kf->rerr.msg));
        memcpy(kf->last_warning, kf->rerr.msg, sizeof kf->last_warning);
    }
    if (kf->on_error != NULL)
        kf->on_error(kf, kf->rerr.msg, kf->arg);
}

static void finish_read(sc_keyfile *kf)
{
    char *key = NULL;
    kf->reading = false;
    if (!kf->closing && kf->rrc == 0)
        kf->rrc = take_key(kf->path, kf->rbuf, kf->rlen, &key, &kf->rerr);
    explicit_bzero(kf->rbuf, kf->rlen);
    if (kf->closing) {
        if (kf->handles == 0)
            destroy(kf);
        return;
    }
    int rc = kf->rrc;
    kf->rrc = 0;
    if (rc == 0)
        apply(kf, key);
    else
        report(kf);
    if (kf->again && !kf->closing) {
        kf->again = false;
        begin_read(kf);
    }
}

static void fail(sc_keyfile *kf, int rc)
{
    if (kf->rrc == 0)
        kf->rrc = io_error(kf->path, rc, &kf->rerr);
}

static void on_closed(uv_fs_t *req)
{
    sc_keyfile *kf = req->data;
    uv_fs_req_cleanup(req);
    kf->fd = -1;
    finish_read(kf);
}

static void close_fd(sc_keyfile *kf)
{
    kf->req.data = kf;
    if (uv_fs_close(kf->env->loop, &kf->req, kf->fd, on_closed) != 0) {
        kf->fd = -1;
        finish_read(kf);
    }
}

static void on_read(uv_fs_t *req);

static void read_more(sc_keyfile *kf)
{
    uv_buf_t b = uv_buf_init(kf->rbuf + kf->rlen, (unsigned)(SC_KEYFILE_MAX + 1 - kf->rlen));
    kf->req.data = kf;
    int rc = uv_fs_read(kf->env->loop, &kf->req, kf->fd, &b, 1, (int64_t)kf->rlen, on_read);
    if (rc != 0) {
        fail(kf, rc);
        close_fd(kf);
    }
}

static void on_read(uv_fs_t *req)
{
    sc_keyfile *kf = req->data;
    ssize_t r = req->result;
    uv_fs_req_cleanup(req);
    if (r < 0)
        fail(kf, (int)r);
    else
        kf->rlen += (size_t)r;
    /* a file still growing past the cap is reported as too large by take_key */
    if (r <= 0 || kf->rlen > SC_KEYFILE_MAX || kf->closing)
        close_fd(kf);
    else
        read_more(kf);
}

static void on_stat(uv_fs_t *req)
{
    sc_keyfile *kf = req->data;
    int rc = req->result < 0 ? io_error(kf->path, (int)req->result, &kf->rerr)
                             : check_stat(kf->path, &req->statbuf, &kf->rerr);
    uv_fs_req_cleanup(req);
    kf->rrc = rc;
    if (rc != 0 || kf->closing)
        close_fd(kf);
    else
        read_more(kf);
}

static void on_open(uv_fs_t *req)
{
    sc_keyfile *kf = req->data;
    ssize_t r = req->result;
    uv_fs_req_cleanup(req);
    if (r < 0) {
        fail(kf, (int)r);
        finish_read(kf);
        return;
    }
    kf->fd = (uv_file)r;
    kf->req.data = kf;
    if (kf->closing || uv_fs_fstat(kf->env->loop, &kf->req, kf->fd, on_stat) != 0)
        close_fd(kf);
}

static void begin_read(sc_keyfile *kf)
{
    if (kf->closing)
        return;
    if (kf->reading) { /* coalesce: one more read after the current one */
        kf->again = true;
        return;
    }
    kf->reading = true;
    kf->rlen = 0;
    kf->rrc = 0;
    kf->req.data = kf;
    int rc = uv_fs_open(kf->env->loop, &kf->req, kf->path, O_RDONLY | O_CLOEXEC, 0, on_open);
    if (rc != 0) {
        fail(kf, rc);
        finish_read(kf);
    }
}

static void on_timer(uv_timer_t *t)
{
    begin_read(t->data);
}

static void on_dir_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
    sc_keyfile *kf = h->data;
    (void)filename;
    (void)events;
    if (status < 0) {
        sc_log_warn(kf->env->log, "api key directory watch failed; relying on the periodic check",
                    SC_F_STR("path", kf->dir), SC_F_ERR("error", status));
        return;
    }
    begin_read(kf);
}

static void start_watch(sc_keyfile *kf)
{
    int rc = uv_fs_event_init(kf->env->loop, &kf->watch);
    if (rc == 0) {
        kf->watch.data = kf;
        kf->watch_inited = true;
        kf->handles++;
        rc = uv_fs_event_start(&kf->watch, on_dir_event, kf->dir, 0);
    }
    if (rc != 0)
        sc_log_warn(kf->env->log,
                    "cannot watch the api key directory; relying on the periodic check",
                    SC_F_STR("path", kf->dir), SC_F_ERR("error", rc));
}

int sc_keyfile_start(sc_keyfile *kf)
{
    if (kf->path == NULL || kf->started || kf->closing)
        return 0;
    kf->started = true;
    if (!kf->no_watch)
        start_watch(kf);
    if (kf->interval_ms == 0)
        return 0;
    return uv_timer_start(&kf->timer, on_timer, kf->interval_ms, kf->interval_ms);
}

static void on_handle_closed(uv_handle_t *h)
{
    sc_keyfile *kf = h->data;
    if (--kf->handles == 0 && !kf->reading)
        destroy(kf);
}

void sc_keyfile_close(sc_keyfile *kf, sc_keyfile_close_cb cb, void *arg)
{
    if (kf == NULL || kf->closing)
        return;
    kf->closing = true;
    kf->close_cb = cb;
    kf->close_arg = arg;
    uv_timer_stop(&kf->timer);
    uv_close((uv_handle_t *)&kf->timer, on_handle_closed);
    if (kf->watch_inited)
        uv_close((uv_handle_t *)&kf->watch, on_handle_closed);
}
