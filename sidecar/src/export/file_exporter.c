/* file_exporter.c - owns: the descriptor, the ring of queued lines, the one uv_fs_t write in
 * progress (continued after short writes) and the close sequence (a threadpool work item that
 * closes the descriptor, so even close(2) never runs on the loop). */
#include "export/file_exporter.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

typedef struct entry {
    sc_buf data; /* the request, without its newline */
    size_t off;  /* bytes of data + "\n" already written */
    uint64_t start_mono_ns;
    sc_export_done_cb done;
    void *arg;
} entry;

struct sc_file_exporter {
    const sc_env *env;
    int fd, owned;
    entry *ring;
    unsigned cap, head, count; /* count includes the entry being written (at head) */
    int writing, closing, close_started;
    uv_fs_t req;
    uv_work_t closer;
    void (*closed)(void *arg);
    void *closed_arg;
    uint64_t failures; /* write errors, for the once-per-errno log */
    int last_logged_err;
};

static char newline[] = "\n";

static void start_write(sc_file_exporter *fx);

static void complete_head(sc_file_exporter *fx, int delivered, sc_export_drop_reason reason,
                          const char *error_type)
{
    entry e = fx->ring[fx->head];
    memset(&fx->ring[fx->head], 0, sizeof fx->ring[fx->head]);
    fx->head = (fx->head + 1) % fx->cap;
    fx->count--;
    sc_export_result r = {
        .delivered = delivered,
        .reason = reason,
        .error_type = error_type,
        .attempts = reason == SC_EXPORT_DROP_SHUTDOWN ? 0 : 1,
        .duration_s = (double)(sc_clock_mono_ns(fx->env->clock) - e.start_mono_ns) / 1e9,
    };
    sc_buf_free(&e.data);
    e.done(&r, e.arg);
}

static void log_write_error(sc_file_exporter *fx, int err)
{
    fx->failures++;
    if (err == fx->last_logged_err)
        return; /* once per distinct errno in a row */
    fx->last_logged_err = err;
    sc_log_warn(fx->env->log, "export file write failed; request dropped",
                SC_F_STR("error", uv_err_name(err)), SC_F_STR("detail", uv_strerror(err)),
                SC_F_UINT("failures", fx->failures));
}

static void on_closed(uv_work_t *w, int status)
{
    (void)status;
    sc_file_exporter *fx = container_of(w, sc_file_exporter, closer);
    void (*closed)(void *) = fx->closed;
    void *arg = fx->closed_arg;
    free(fx->ring);
    free(fx);
    if (closed != NULL)
        closed(arg);
}

static void close_fd(uv_work_t *w)
{
    sc_file_exporter *fx = container_of(w, sc_file_exporter, closer);
    if (fx->owned)
        close(fx->fd);
}

/* Runs once, when nothing is being written: done callbacks run before it may close us. */
static void finish_close(sc_file_exporter *fx)
{
    if (fx->close_started)
        return;
    fx->close_started = 1;
    while (fx->count > 0)
        complete_head(fx, 0, SC_EXPORT_DROP_SHUTDOWN, "shutdown");
    if (uv_queue_work(fx->env->loop, &fx->closer, close_fd, on_closed) != 0) {
        close_fd(&fx->closer); /* only fails for a NULL callback; never in practice */
        on_closed(&fx->closer, 0);
    }
}

static void on_write(uv_fs_t *req)
{
    sc_file_exporter *fx = container_of(req, sc_file_exporter, req);
    ssize_t n = req->result;
    uv_fs_req_cleanup(req);
    fx->writing = 0;
    entry *e = &fx->ring[fx->head];
    if (n < 0) {
        log_write_error(fx, (int)n);
        complete_head(fx, 0, SC_EXPORT_DROP_EXPORT_FAILED, uv_err_name((int)n));
    } else {
        e->off += (size_t)n;
        if (e->off >= e->data.len + 1) {
            fx->last_logged_err = 0;
            complete_head(fx, 1, SC_EXPORT_DROP__COUNT, NULL);
        }
    }
    if (fx->close_started)
        return; /* a done callback closed us (nothing was being written) */
    if (fx->closing && !fx->writing && (fx->count == 0 || fx->ring[fx->head].off == 0)) {
        finish_close(fx); /* a half-written line is finished first: no torn line */
        return;
    }
    start_write(fx);
}

/* Hands the head line (what is left of it) to the threadpool. */
static int issue(sc_file_exporter *fx)
{
    entry *e = &fx->ring[fx->head];
    uv_buf_t bufs[2];
    unsigned nb = 0;
    if (e->off < e->data.len)
        bufs[nb++] = uv_buf_init(e->data.data + e->off, (unsigned)(e->data.len - e->off));
    bufs[nb++] = uv_buf_init(newline, 1);
    int rc = uv_fs_write(fx->env->loop, &fx->req, fx->fd, bufs, nb, -1, on_write);
    if (rc == 0)
        fx->writing = 1;
    return rc;
}

/* From loop callbacks only: a line that cannot even be issued completes as failed. */
static void start_write(sc_file_exporter *fx)
{
    while (!fx->writing && fx->count > 0) {
        int rc = issue(fx);
        if (rc == 0)
            return;
        log_write_error(fx, rc);
        complete_head(fx, 0, SC_EXPORT_DROP_EXPORT_FAILED, uv_err_name(rc));
    }
}

int sc_file_exporter_write(sc_file_exporter *fx, sc_buf *request, sc_export_done_cb done, void *arg)
{
    int rc = 0;
    if (fx->closing)
        rc = -ESHUTDOWN;
    else if (request->len == 0 || done == NULL || memchr(request->data, '\n', request->len))
        rc = -EINVAL;
    else if (request->len > (size_t)UINT32_MAX - 1)
        rc = -EINVAL; /* one uv_buf_t */
    else if (fx->count == fx->cap)
        rc = -ENOBUFS;
    if (rc != 0) {
        sc_buf_free(request);
        return rc;
    }
    entry *e = &fx->ring[(fx->head + fx->count) % fx->cap];
    e->data = *request;
    sc_buf_init(request, request->max);
    e->off = 0;
    e->done = done;
    e->arg = arg;
    e->start_mono_ns = sc_clock_mono_ns(fx->env->clock);
    fx->count++;
    if (!fx->writing && (rc = issue(fx)) != 0) {
        fx->count--; /* the queue was empty: this line is the head */
        sc_buf_free(&e->data);
        memset(e, 0, sizeof *e);
        return rc;
    }
    return 0;
}

unsigned sc_file_exporter_pending(const sc_file_exporter *fx)
{
    return fx->count;
}

void sc_file_exporter_close(sc_file_exporter *fx, void (*closed)(void *arg), void *arg)
{
    if (fx == NULL || fx->closing)
        return;
    fx->closing = 1;
    fx->closed = closed;
    fx->closed_arg = arg;
    if (!fx->writing)
        finish_close(fx);
}

int sc_file_exporter_new(sc_file_exporter **out, const sc_env *env,
                         const sc_file_exporter_opts *opts)
{
    *out = NULL;
    if (env == NULL || opts == NULL || (opts->path == NULL && opts->fd < 0))
        return -EINVAL;
    sc_file_exporter *fx = calloc(1, sizeof *fx);
    if (fx == NULL)
        return -ENOMEM;
    fx->env = env;
    fx->cap = 1 + (opts->max_queued ? opts->max_queued : SC_FILE_EXPORTER_DEFAULT_QUEUE);
    fx->ring = calloc(fx->cap, sizeof *fx->ring);
    if (fx->ring == NULL) {
        free(fx);
        return -ENOMEM;
    }
    fx->fd = opts->fd;
    if (opts->path != NULL) {
        fx->fd = open(opts->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fx->fd < 0) {
            int rc = -errno;
            free(fx->ring);
            free(fx);
            return rc;
        }
        fx->owned = 1;
    }
    *out = fx;
    return 0;
}
