/* tail.c - owns: sc_tail's public API and lifecycle, the pump that picks the one filesystem
 * operation to run next (probe, then delivery of the block in hand, then a read), applying probe
 * results (start decision, rotation, truncation and copy recovery, path gone / not a regular
 * file), dropping drained rotated files, the partial-line idle timer, and acks -> checkpoint.
 *
 * Durations (rotate_wait, partial_flush, checkpoint interval) are measured with uv_now, the
 * loop's own clock, because they are compared with libuv timer deadlines (see core/clock.h). */
#include "accesslog/tail.h"

#include <errno.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "accesslog/tail_internal.h"

#define MIN_READ_BLOCK 4096u
#define MAX_READ_BLOCK (16u * 1024 * 1024)
#define MAX_FILES      64
#define MAX_BATCH      65536

static void maybe_finish(sc_tail *t);

/* ---- creation -------------------------------------------------------------------------------- */

static size_t or_default(size_t v, size_t d)
{
    return v ? v : d;
}

static int set_opts(sc_tail *t, const sc_tail_opts *o)
{
    size_t plen = o->path ? strlen(o->path) : 0;
    if (plen == 0 || plen >= SC_CHECKPOINT_PATH_MAX || memchr(o->path, '\n', plen) != NULL ||
        o->on_lines == NULL)
        return -EINVAL;
    sc_tail_opts *c = &t->opts;
    *c = *o;
    c->poll_interval_ms = (uint32_t)or_default(o->poll_interval_ms, SC_TAIL_DEFAULT_POLL_MS);
    c->reconcile_interval_ms =
        (uint32_t)or_default(o->reconcile_interval_ms, SC_TAIL_DEFAULT_RECONCILE_MS);
    c->rotate_wait_ms = (uint32_t)or_default(o->rotate_wait_ms, SC_TAIL_DEFAULT_ROTATE_WAIT_MS);
    c->partial_flush_ms =
        (uint32_t)or_default(o->partial_flush_ms, SC_TAIL_DEFAULT_PARTIAL_FLUSH_MS);
    c->checkpoint_interval_ms =
        (uint32_t)or_default(o->checkpoint_interval_ms, SC_TAIL_DEFAULT_CHECKPOINT_MS);
    c->read_block = or_default(o->read_block, SC_TAIL_DEFAULT_READ_BLOCK);
    c->max_line = or_default(o->max_line, SC_TAIL_DEFAULT_MAX_LINE);
    c->max_batch = or_default(o->max_batch, SC_TAIL_DEFAULT_MAX_BATCH);
    c->max_pending = or_default(o->max_pending, SC_TAIL_DEFAULT_MAX_PENDING);
    c->max_files = or_default(o->max_files, SC_TAIL_DEFAULT_MAX_FILES);
    if (c->read_block < MIN_READ_BLOCK || c->read_block > MAX_READ_BLOCK || c->max_files < 2 ||
        c->max_files > MAX_FILES || c->max_batch > MAX_BATCH)
        return -EINVAL;
    return 0;
}

static void free_all(sc_tail *t)
{
    sc_tail_probe_free(t);
    free(t->path);
    free(t->glob);
    free(t->cp_path);
    free(t->path_dir);
    free(t->path_base);
    free(t->res_base);
    free(t->buf);
    free(t->lines);
    free(t->ring);
    free(t);
}

static char *dup_or_null(const char *s, int *failed)
{
    if (s == NULL)
        return NULL;
    char *d = strdup(s);
    if (d == NULL)
        *failed = 1;
    return d;
}

static int alloc_all(sc_tail *t)
{
    int failed = 0;
    t->path = dup_or_null(t->opts.path, &failed);
    t->glob = dup_or_null(t->opts.rotated_glob, &failed);
    t->cp_path = dup_or_null(t->opts.checkpoint_path, &failed);
    t->path_dir = dup_or_null(t->opts.path, &failed);
    t->path_base = dup_or_null(t->opts.path, &failed);
    if (failed)
        return -ENOMEM;
    /* dirname/basename may return static storage or modify in place: copy their results. */
    char *d = strdup(dirname(t->path_dir));
    char *b = strdup(basename(t->path_base));
    free(t->path_dir);
    free(t->path_base);
    t->path_dir = d;
    t->path_base = b;
    t->opts.path = t->path;
    t->opts.rotated_glob = t->glob;
    t->opts.checkpoint_path = t->cp_path;
    t->buf = malloc(t->opts.read_block);
    t->lines = calloc(t->opts.max_batch, sizeof *t->lines);
    t->ring = calloc(t->opts.max_pending, sizeof *t->ring);
    if (d == NULL || b == NULL || t->buf == NULL || t->lines == NULL || t->ring == NULL)
        return -ENOMEM;
    return sc_tail_probe_alloc(t);
}

static void on_idle_timer(uv_timer_t *h);

int sc_tail_new(sc_tail **out, const sc_env *env, const sc_tail_opts *opts)
{
    *out = NULL;
    if (opts == NULL || env == NULL)
        return -EINVAL;
    sc_tail *t = calloc(1, sizeof *t);
    if (t == NULL)
        return -ENOMEM;
    t->env = env;
    int rc = set_opts(t, opts);
    if (rc == 0)
        rc = alloc_all(t);
    if (rc == 0 && t->cp_path != NULL)
        rc = sc_checkpoint_writer_new(&t->cpw, env, t->cp_path, t->path,
                                      t->opts.checkpoint_interval_ms);
    if (rc != 0) {
        free_all(t);
        return rc;
    }
    /* Handles last: nothing can fail after them, so failure never needs an async close. */
    sc_tail_watch_init(t);
    uv_timer_init(env->loop, &t->idle);
    t->handles_open++;
    *out = t;
    return 0;
}

int sc_tail_start(sc_tail *t)
{
    if (t->started || t->closing)
        return -EALREADY;
    t->started = 1;
    sc_tail_watch_start(t);
    t->probe_wanted = 1;
    sc_tail_pump(t);
    return 0;
}

/* ---- the pump -------------------------------------------------------------------------------- */

static tail_file *next_readable(const sc_tail *t)
{
    for (tail_file *f = t->head; f != NULL; f = f->next)
        if (!f->stalled && (f->maybe_more || f->read_pos < f->size))
            return f;
    return NULL;
}

static int idle_candidate(const sc_tail *t, const tail_file *f)
{
    return sc_linebuf_pending(&f->lb) > 0 && t->block.f != f && t->read_file != f &&
           !f->maybe_more && f->read_pos >= f->size;
}

static void arm_idle(sc_tail *t)
{
    uint64_t due = UINT64_MAX;
    if (t->opts.partial_flush_ms != UINT32_MAX && sc_tail_can_emit(t))
        for (tail_file *f = t->head; f != NULL; f = f->next)
            if (idle_candidate(t, f) && f->data_ms + t->opts.partial_flush_ms < due)
                due = f->data_ms + t->opts.partial_flush_ms;
    if (due == UINT64_MAX) {
        uv_timer_stop(&t->idle);
        return;
    }
    uint64_t now = uv_now(t->env->loop);
    uv_timer_start(&t->idle, on_idle_timer, due > now ? due - now : 0, 0);
}

/* Runs inside the pump: on_lines may re-enter (ack, resume) while the file list is walked. */
static void flush_idle(sc_tail *t)
{
    uint64_t now = uv_now(t->env->loop);
    for (tail_file *f = t->head; f != NULL; f = f->next)
        if (idle_candidate(t, f) && now - f->data_ms >= t->opts.partial_flush_ms)
            sc_tail_flush_partial(t, f);
}

static void on_idle_timer(uv_timer_t *h)
{
    sc_tail *t = sc_tail_container_of(h, sc_tail, idle);
    t->idle_due = 1;
    sc_tail_pump(t);
}

/* A rotated file is done when read to its end and deleted, a copy, or quiet for rotate_wait. */
static int reapable(const sc_tail *t, const tail_file *f, uint64_t now)
{
    if (f->at_path || t->block.f == f || t->read_file == f || f->maybe_more ||
        f->read_pos < f->size)
        return 0;
    return f->is_copy || f->nlink == 0 || now - f->changed_ms >= t->opts.rotate_wait_ms;
}

static void reap(sc_tail *t)
{
    uint64_t now = uv_now(t->env->loop);
    tail_file *next;
    for (tail_file *f = t->head; f != NULL; f = next) {
        next = f->next;
        if (!reapable(t, f, now))
            continue;
        if (sc_linebuf_pending(&f->lb) > 0)
            sc_tail_flush_partial(t, f); /* its writer is gone: hand out what there is */
        if (sc_linebuf_pending(&f->lb) == 0 && !t->closing)
            sc_tail_file_close(t, f);
    }
}

static void pump_once(sc_tail *t)
{
    if (!t->started || t->reading || t->probing)
        return;
    if (t->probe_wanted && sc_tail_probe_submit(t) == 0) {
        t->probe_wanted = 0;
        return;
    }
    if (t->block.f != NULL) {
        sc_tail_deliver(t);
        if (t->block.f != NULL)
            return; /* paused, waiting for acks, or closing */
    }
    if (t->idle_due) {
        t->idle_due = 0;
        flush_idle(t);
    }
    reap(t);
    if (t->closing)
        return;
    if (!t->paused) {
        tail_file *f = next_readable(t);
        if (f != NULL && sc_tail_read_submit(t, f) == 0)
            return;
    }
    arm_idle(t);
}

void sc_tail_pump(sc_tail *t)
{
    if (t->closing) {
        maybe_finish(t);
        return;
    }
    if (t->pumping) {
        t->repump = 1; /* re-entered from on_lines (ack, resume): run again when back on top */
        return;
    }
    t->pumping = 1;
    do {
        t->repump = 0;
        pump_once(t);
    } while (t->repump && !t->closing);
    t->pumping = 0;
    if (t->closing)
        maybe_finish(t);
}

/* ---- applying a probe ------------------------------------------------------------------------ */

static tail_file *current(const sc_tail *t)
{
    for (tail_file *f = t->head; f != NULL; f = f->next)
        if (f->at_path)
            return f;
    return NULL;
}

static void set_at_path(sc_tail *t, tail_file *k, uint64_t now)
{
    for (tail_file *f = t->head; f != NULL; f = f->next) {
        if (f != k && f->at_path) {
            f->at_path = 0;
            f->changed_ms = now;
            sc_log_info(t->env->log, "tail: file left the path; reading it to its end",
                        SC_F_STR("file", f->name), SC_F_UINT("offset", f->read_pos),
                        SC_F_UINT("size", f->size), SC_F_BOOL("deleted", f->nlink == 0));
        }
    }
    if (k != NULL)
        k->at_path = 1;
}

static void on_truncated(sc_tail *t, tail_file *f, probe_new *copy, uint64_t now)
{
    if (t->block.f == f) {
        f->recheck = 1; /* finish the block in hand first, then look again */
        return;
    }
    t->stats.truncations++;
    tail_file *c;
    if (copy != NULL && sc_tail_file_add(t, copy, f, &c) == 0) {
        /* The line we were holding continues in the copy. */
        sc_linebuf tmp = c->lb;
        c->lb = f->lb;
        f->lb = tmp;
        t->stats.copy_recoveries++;
        sc_log_info(t->env->log, "tail: file truncated; reading its rest from the copy",
                    SC_F_STR("file", f->name), SC_F_STR("copy", c->name),
                    SC_F_UINT("offset", c->read_pos), SC_F_UINT("copy_size", c->size));
    } else {
        sc_log_warn(t->env->log, "tail: file truncated; no copy found, reading from the start",
                    SC_F_STR("file", f->name), SC_F_UINT("offset", f->read_pos),
                    SC_F_UINT("size", f->size),
                    SC_F_UINT("held_partial_bytes", sc_linebuf_pending(&f->lb)));
    }
    sc_linebuf_reset(&f->lb);
    f->read_pos = 0;
    f->win_len = 0;
    f->head_len = 0;
    f->head_hash = 0;
    f->maybe_more = 1;
    f->recheck = 0;
    f->changed_ms = now;
}

static probe_new *copy_for(tail_probe *p, size_t i)
{
    for (size_t k = 0; k < p->nnew; k++)
        if (p->nw[k].copy_of == (int)i && p->nw[k].fd >= 0)
            return &p->nw[k];
    return NULL;
}

static void apply_files(sc_tail *t, tail_probe *p, uint64_t now)
{
    for (size_t i = 0; i < p->nin; i++) {
        tail_file *f = p->in[i].f;
        const probe_out *o = &p->out[i];
        if (o->err != 0)
            continue;
        if (o->size > f->size)
            f->changed_ms = now;
        f->size = o->size;
        f->nlink = o->nlink;
        if (o->head_len > f->head_len) {
            f->head_hash = o->head_hash;
            f->head_len = o->head_len;
        }
        if (o->truncated)
            on_truncated(t, f, copy_for(p, i), now);
    }
}

static void lose_path(sc_tail *t, uint64_t now, int flag, const char *msg, int err)
{
    set_at_path(t, NULL, now);
    if (flag == 1 ? t->logged_missing : t->logged_notreg)
        return;
    t->logged_missing = flag == 1;
    t->logged_notreg = flag == 2;
    if (err != 0)
        sc_log_warn(t->env->log, msg, SC_F_STR("path", t->path), SC_F_ERR("error", err));
    else
        sc_log_warn(t->env->log, msg, SC_F_STR("path", t->path));
}

/* A file that left the path and is still being read to its end: a new file at the path is then
 * a rotation even when the path was missing in between (rename first, create later, as
 * logrotate and nginx's USR1 reopen do). */
static bool rotated_away_file_open(const sc_tail *t, const tail_file *nf)
{
    for (const tail_file *f = t->head; f != NULL; f = f->next)
        if (f != nf && !f->at_path)
            return true;
    return false;
}

static void apply_path(sc_tail *t, tail_probe *p, uint64_t now)
{
    tail_file *prev = current(t), *nf;
    if (p->path_state != PATH_ERROR)
        t->logged_error = 0;
    switch (p->path_state) {
    case PATH_KNOWN:
        set_at_path(t, p->in[p->path_known].f, now);
        t->logged_missing = t->logged_notreg = t->logged_full = 0;
        break;
    case PATH_OPENED:
        if (sc_tail_file_add(t, &p->nw[p->nnew - 1], NULL, &nf) != 0)
            break;
        bool rotated = prev != NULL || rotated_away_file_open(t, nf);
        set_at_path(t, nf, now);
        if (rotated)
            t->stats.rotations++;
        if (rotated || !p->first)
            sc_log_info(t->env->log, rotated ? "tail: file rotated" : "tail: file appeared",
                        SC_F_STR("path", t->path), SC_F_UINT("offset", nf->read_pos));
        t->logged_missing = t->logged_notreg = t->logged_full = 0;
        break;
    case PATH_MISSING:
        lose_path(t, now, 1, "tail: file missing; waiting for it", 0);
        break;
    case PATH_NOT_REGULAR:
        lose_path(t, now, 2, "tail: path is not a regular file; waiting", 0);
        break;
    case PATH_ERROR: /* undecided (EACCES, EIO...): keep following what we have */
        if (!t->logged_error)
            sc_log_warn(t->env->log, "tail: cannot stat path; retrying", SC_F_STR("path", t->path),
                        SC_F_ERR("error", p->path_err));
        t->logged_error = 1;
        return;
    case PATH_DEFERRED:
        t->stats.files_deferred++;
        if (!t->logged_full)
            sc_log_warn(t->env->log, "tail: max_files reached; new file opened later",
                        SC_F_STR("path", t->path), SC_F_UINT("max_files", t->opts.max_files));
        t->logged_full = 1;
        break;
    }
}

static void log_start(sc_tail *t, const tail_probe *p)
{
    static const char *const msgs[] = {
        [CP_BAD] = "tail: checkpoint unreadable; ignoring it",
        [CP_OTHER_PATH] = "tail: checkpoint is for another path; ignoring it",
        [CP_RESUMED] = "tail: resuming from checkpoint",
        [CP_SIBLING] = "tail: checkpointed file was rotated; reading its rest first",
        [CP_GONE] = "tail: checkpointed file is gone; reading the current file from the start",
    };
    const tail_file *f = t->head;
    if (p->cp_state == CP_BAD)
        sc_log_warn(t->env->log, msgs[CP_BAD], SC_F_STR("checkpoint", t->cp_path),
                    SC_F_ERR("error", p->cp_err));
    else if (p->cp_state >= CP_OTHER_PATH)
        sc_log_info(t->env->log, msgs[p->cp_state], SC_F_STR("path", t->path),
                    SC_F_STR("file", f ? f->name : ""), SC_F_UINT("offset", p->cp_offset));
    if (p->cp_state <= CP_OTHER_PATH && f != NULL)
        sc_log_info(t->env->log, "tail: following file", SC_F_STR("path", t->path),
                    SC_F_STR("start", t->opts.start == SC_TAIL_START_END ? "end" : "beginning"),
                    SC_F_UINT("offset", f->read_pos));
}

void sc_tail_probe_done(sc_tail *t, tail_probe *p, int status)
{
    t->probing = 0;
    t->stats.probes++;
    if (t->closing || status != 0) {
        sc_tail_probe_discard(p);
        sc_tail_pump(t);
        return;
    }
    uint64_t now = uv_now(t->env->loop);
    apply_files(t, p, now);
    /* Start-up siblings (not at the path, not a copy of an open file) go first, in order. */
    for (size_t k = 0; k < p->nnew; k++)
        if (!p->nw[k].at_path && p->nw[k].copy_of < 0 && p->nw[k].fd >= 0)
            sc_tail_file_add(t, &p->nw[k], NULL, NULL);
    apply_path(t, p, now);
    if (p->first) {
        t->first_done = 1;
        log_start(t, p);
    }
    sc_tail_probe_discard(p);
    sc_tail_watch_retarget(t, p->have_resolved ? p->resolved : NULL);
    sc_tail_pump(t);
}

/* ---- hints ----------------------------------------------------------------------------------- */

void sc_tail_fs_event(sc_tail *t, const char *name, int events)
{
    if (t->closing)
        return;
    int ours = name == NULL || strcmp(name, t->path_base) == 0 ||
               (t->res_base != NULL && strcmp(name, t->res_base) == 0);
    /* A change to the followed file is checked (probe) before it is read: a truncation that the
     * writer has already refilled past our offset must be seen before we read at that offset.
     * Rotated files are only ever appended to or deleted: a read is enough. */
    if ((events & UV_RENAME) || ours)
        t->probe_wanted = 1;
    if (events & UV_CHANGE)
        for (tail_file *f = t->head; f != NULL; f = f->next)
            if (f->at_path ? ours : !ours)
                f->maybe_more = 1;
    sc_tail_pump(t);
}

void sc_tail_reconcile(sc_tail *t)
{
    for (tail_file *f = t->head; f != NULL; f = f->next)
        f->stalled = 0;
    sc_tail_watch_tick(t);
    t->probe_wanted = 1;
    sc_tail_pump(t);
}

/* ---- flow control and acks ------------------------------------------------------------------- */

void sc_tail_pause(sc_tail *t)
{
    t->paused = 1;
}

void sc_tail_resume(sc_tail *t)
{
    if (!t->paused)
        return;
    t->paused = 0;
    sc_tail_pump(t);
}

void sc_tail_get_stats(const sc_tail *t, sc_tail_stats *out)
{
    *out = t->stats;
    uint64_t lag = t->block.f ? t->block.len - t->block.pos : 0;
    for (const tail_file *f = t->head; f != NULL; f = f->next)
        lag += f->size > f->read_pos ? f->size - f->read_pos : 0;
    out->lag_bytes = lag;
    out->last_seq = t->seq;
    out->acked_seq = t->acked_seq;
    out->pending = t->ring_len;
    out->open_files = (uint32_t)t->nfiles;
    out->paused = t->paused;
    out->waiting_for_acks = t->ring_len >= t->opts.max_pending;
    out->reading = t->reading;
    out->inotify = sc_tail_watch_active(t);
    if (t->cpw != NULL) {
        sc_checkpoint_writer_stats cs;
        sc_checkpoint_writer_get_stats(t->cpw, &cs);
        out->checkpoint_writes = cs.writes;
        out->checkpoint_failures = cs.failures;
    }
}

/* ---- closing --------------------------------------------------------------------------------- */

static void finished(void *arg)
{
    sc_tail *t = arg;
    void (*cb)(void *) = t->closed;
    void *cb_arg = t->closed_arg;
    free_all(t);
    if (cb != NULL)
        cb(cb_arg);
}

static void maybe_finish(sc_tail *t)
{
    if (!t->closing || t->finishing || t->handles_open > 0 || t->reading || t->probing)
        return;
    t->finishing = 1;
    while (t->head != NULL)
        sc_tail_file_close(t, t->head);
    if (t->cpw == NULL) {
        finished(t); /* always from a close callback or an operation's completion */
        return;
    }
    sc_checkpoint_writer *w = t->cpw;
    t->cpw = NULL;
    sc_checkpoint_writer_close(w, t->final_cp, finished, t);
}

void sc_tail_handle_closed(sc_tail *t)
{
    t->handles_open--;
    maybe_finish(t);
}

static void on_idle_closed(uv_handle_t *h)
{
    sc_tail_handle_closed(sc_tail_container_of((uv_timer_t *)h, sc_tail, idle));
}

void sc_tail_close(sc_tail *t, int final_checkpoint, void (*cb)(void *arg), void *arg)
{
    if (t == NULL || t->closing)
        return;
    t->closing = 1;
    t->final_cp = final_checkpoint;
    t->closed = cb;
    t->closed_arg = arg;
    sc_tail_watch_close(t);
    uv_close((uv_handle_t *)&t->idle, on_idle_closed);
    /* Either cancelled (its callback reports UV_ECANCELED) or already running: waited for. */
    if (t->reading)
        uv_cancel((uv_req_t *)&t->read_req);
    if (t->probing)
        uv_cancel((uv_req_t *)&t->probe->work);
}
