/* tail_watch.c - owns: the tailer's hints and heartbeat: inotify watches (uv_fs_event) on the
 * path's directory and, when the path resolves into another directory (symlinks, Kubernetes'
 * "..data" layout), on the resolved file's directory; and the reconcile timer, which probes every
 * reconcile_interval_ms with inotify and every poll_interval_ms without (no_inotify, or a watch
 * that cannot be set up: overlay/NFS/FUSE, inotify limits, directory missing - retried each tick).
 *
 * Directories, not files, are watched: files are renamed away and recreated under the same name,
 * and a watch on the file itself would follow the old inode. */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "accesslog/tail_internal.h"

static void on_timer(uv_timer_t *h)
{
    sc_tail_reconcile(h->data);
}

static void on_event(uv_fs_event_t *h, const char *name, int events, int status)
{
    sc_tail *t = h->data;
    if (status < 0) {
        int i = h == &t->watch.ev[0] ? 0 : 1;
        uv_fs_event_stop(h);
        t->watch.on[i] = 0;
        sc_log_warn(t->env->log, "tail: inotify watch failed; polling until it is back",
                    SC_F_STR("dir", t->watch.dir[i] ? t->watch.dir[i] : ""),
                    SC_F_ERR("error", status));
        t->probe_wanted = 1;
        sc_tail_pump(t);
        return;
    }
    sc_tail_fs_event(t, name, events);
}

int sc_tail_watch_active(const sc_tail *t)
{
    return !t->opts.no_inotify && t->watch.on[0];
}

/* Restarts the timer only when the period changes (with or without inotify). */
static void set_period(sc_tail *t)
{
    uint64_t want =
        sc_tail_watch_active(t) ? t->opts.reconcile_interval_ms : t->opts.poll_interval_ms;
    if (uv_is_active((uv_handle_t *)&t->watch.timer) &&
        uv_timer_get_repeat(&t->watch.timer) == want)
        return;
    uv_timer_start(&t->watch.timer, on_timer, want, want);
}

static void stop_one(tail_watch *w, int i)
{
    if (w->on[i])
        uv_fs_event_stop(&w->ev[i]);
    w->on[i] = 0;
    free(w->dir[i]);
    w->dir[i] = NULL;
}

static void start_one(sc_tail *t, int i, const char *dir)
{
    tail_watch *w = &t->watch;
    if (w->on[i] && strcmp(w->dir[i], dir) == 0)
        return;
    stop_one(w, i);
    w->dir[i] = strdup(dir);
    if (w->dir[i] == NULL)
        return;
    int rc = uv_fs_event_start(&w->ev[i], on_event, dir, 0);
    if (rc == 0) {
        w->on[i] = 1;
    } else if (!w->warned) {
        w->warned = 1; /* once: a missing directory is retried every tick */
        sc_log_warn(t->env->log, "tail: cannot watch directory; polling", SC_F_STR("dir", dir),
                    SC_F_ERR("error", rc));
    }
}

void sc_tail_watch_init(sc_tail *t)
{
    tail_watch *w = &t->watch;
    for (int i = 0; i < 2; i++) {
        uv_fs_event_init(t->env->loop, &w->ev[i]);
        w->ev[i].data = t;
    }
    uv_timer_init(t->env->loop, &w->timer);
    w->timer.data = t;
    t->handles_open += 3;
}

void sc_tail_watch_start(sc_tail *t)
{
    if (!t->opts.no_inotify)
        start_one(t, 0, t->path_dir);
    set_period(t);
}

void sc_tail_watch_tick(sc_tail *t)
{
    if (t->opts.no_inotify || t->watch.on[0])
        return;
    start_one(t, 0, t->path_dir);
    set_period(t);
}

void sc_tail_watch_retarget(sc_tail *t, const char *resolved)
{
    if (resolved == NULL || t->closing)
        return;
    char *copy = strdup(resolved);
    char *base = strdup(resolved);
    if (copy == NULL || base == NULL) {
        free(copy);
        free(base);
        return;
    }
    char *b = strdup(basename(base));
    free(base);
    if (b != NULL) {
        free(t->res_base);
        t->res_base = b;
    }
    const char *dir = dirname(copy);
    if (t->opts.no_inotify || strcmp(dir, t->path_dir) == 0)
        stop_one(&t->watch, 1);
    else
        start_one(t, 1, dir);
    free(copy);
}

static void on_closed(uv_handle_t *h)
{
    sc_tail_handle_closed(h->data);
}

void sc_tail_watch_close(sc_tail *t)
{
    tail_watch *w = &t->watch;
    for (int i = 0; i < 2; i++) {
        stop_one(w, i);
        uv_close((uv_handle_t *)&w->ev[i], on_closed);
    }
    uv_close((uv_handle_t *)&w->timer, on_closed);
}
