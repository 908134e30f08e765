/* tail_file.c - owns: one open file of the tailer (creation from a probe result, closing), its
 * reads (uv_fs_read on the threadpool, one in flight per tailer), the window of bytes before the
 * read position, and delivery: read block -> linebuf -> batches of sc_tail_line -> on_lines, each
 * batch recorded in the ack ring with the checkpoint record of its end; acks popping the ring and
 * handing the acknowledged record to the checkpoint writer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accesslog/tail_internal.h"

int sc_tail_file_add(sc_tail *t, probe_new *nw, tail_file *before, tail_file **out)
{
    tail_file *f = calloc(1, sizeof *f);
    if (f == NULL || (f->name = strdup(nw->name)) == NULL ||
        sc_linebuf_init(&f->lb, t->opts.max_line) != 0) {
        if (f != NULL) {
            free(f->name);
            sc_linebuf_free(&f->lb);
        }
        free(f);
        close(nw->fd);
        nw->fd = -1;
        sc_log_error(t->env->log, "tail: out of memory opening file", SC_F_STR("file", nw->name));
        return -ENOMEM;
    }
    uint64_t now = uv_now(t->env->loop);
    f->fd = nw->fd;
    nw->fd = -1;
    f->dev = nw->dev;
    f->ino = nw->ino;
    f->size = nw->size;
    f->nlink = nw->nlink;
    f->read_pos = nw->read_pos;
    memcpy(f->win, nw->win, nw->win_len);
    f->win_len = nw->win_len;
    f->head_hash = nw->head_hash;
    f->head_len = nw->head_len;
    f->is_copy = nw->is_copy != 0;
    f->maybe_more = 1;
    f->changed_ms = now;
    f->data_ms = now;
    if (nw->skip_partial)
        sc_linebuf_skip_partial(&f->lb);
    f->next = before;
    f->prev = before ? before->prev : t->tail_end;
    if (f->prev)
        f->prev->next = f;
    else
        t->head = f;
    if (before)
        before->prev = f;
    else
        t->tail_end = f;
    t->nfiles++;
    t->stats.files_opened++;
    sc_log_debug(t->env->log, "tail: file opened", SC_F_STR("file", f->name),
                 SC_F_UINT("offset", f->read_pos), SC_F_UINT("size", f->size));
    if (out != NULL)
        *out = f;
    return 0;
}

void sc_tail_file_close(sc_tail *t, tail_file *f)
{
    if (f->prev)
        f->prev->next = f->next;
    else
        t->head = f->next;
    if (f->next)
        f->next->prev = f->prev;
    else
        t->tail_end = f->prev;
    t->nfiles--;
    t->stats.files_closed++;
    sc_log_debug(t->env->log, "tail: file closed", SC_F_STR("file", f->name),
                 SC_F_UINT("offset", f->read_pos));
    close(f->fd);
    sc_linebuf_free(&f->lb);
    free(f->name);
    free(f);
}

/* Keeps the last TAIL_WIN bytes of the file before read_pos. */
static void win_push(tail_file *f, const char *p, size_t n)
{
    if (n >= TAIL_WIN) {
        memcpy(f->win, p + n - TAIL_WIN, TAIL_WIN);
        f->win_len = TAIL_WIN;
        return;
    }
    size_t keep = f->win_len < TAIL_WIN - n ? f->win_len : TAIL_WIN - n;
    memmove(f->win, f->win + f->win_len - keep, keep);
    memcpy(f->win + keep, p, n);
    f->win_len = (uint32_t)(keep + n);
}

static void got_bytes(sc_tail *t, tail_file *f, size_t n)
{
    uint64_t now = uv_now(t->env->loop);
    tail_block *b = &t->block;
    b->f = f;
    b->len = n;
    b->pos = 0;
    b->off = f->read_pos;
    memcpy(b->win, f->win, f->win_len);
    b->win_len = f->win_len;
    win_push(f, t->buf, n);
    f->read_pos += n;
    if (f->read_pos > f->size) {
        f->size = f->read_pos;
        f->changed_ms = now;
    }
    f->maybe_more = n == t->opts.read_block;
    f->data_ms = now;
    t->stats.bytes += n;
}

static void read_failed(sc_tail *t, tail_file *f, int rc)
{
    t->stats.read_errors++;
    f->maybe_more = 0;
    t->probe_wanted = 1;
    if (f->at_path) {
        f->stalled = 1; /* retried at the next reconcile tick; logged once per file */
        if (!f->read_warned)
            sc_log_warn(t->env->log, "tail: read failed; retrying", SC_F_STR("file", f->name),
                        SC_F_UINT("offset", f->read_pos), SC_F_ERR("error", rc));
        f->read_warned = 1;
        return;
    }
    /* A rotated file that cannot be read any more is given up, or it would be kept forever. */
    sc_log_error(t->env->log, "tail: read failed on a rotated file; giving up on its rest",
                 SC_F_STR("file", f->name), SC_F_UINT("offset", f->read_pos),
                 SC_F_UINT("lost_bytes", f->size > f->read_pos ? f->size - f->read_pos : 0),
                 SC_F_ERR("error", rc));
    f->size = f->read_pos;
}

static void on_read(uv_fs_t *req)
{
    sc_tail *t = sc_tail_container_of(req, sc_tail, read_req);
    ssize_t n = req->result;
    uv_fs_req_cleanup(req);
    tail_file *f = t->read_file;
    t->reading = 0;
    t->read_file = NULL;
    if (t->closing) {
        sc_tail_pump(t);
        return;
    }
    if (n < 0) {
        read_failed(t, f, (int)n);
    } else if (n == 0) {
        /* Nothing where a hint or fstat promised bytes: the file may have been truncated. */
        if (f->maybe_more || f->size > f->read_pos)
            t->probe_wanted = 1;
        f->maybe_more = 0;
        if (f->size > f->read_pos)
            f->size = f->read_pos;
    } else {
        got_bytes(t, f, (size_t)n);
    }
    sc_tail_pump(t);
}

int sc_tail_read_submit(sc_tail *t, tail_file *f)
{
    uv_buf_t b = uv_buf_init(t->buf, (unsigned)t->opts.read_block);
    int rc = uv_fs_read(t->env->loop, &t->read_req, f->fd, &b, 1, (int64_t)f->read_pos, on_read);
    if (rc != 0) {
        uv_fs_req_cleanup(&t->read_req);
        read_failed(t, f, rc);
        return rc;
    }
    t->reading = 1;
    t->read_file = f;
    return 0;
}

/* ---- delivery -------------------------------------------------------------------------------- */

int sc_tail_can_emit(const sc_tail *t)
{
    return !t->closing && !t->paused && t->ring_len < t->opts.max_pending;
}

static int sink(void *arg, const char *p, size_t len, uint64_t end_off, int partial)
{
    sc_tail *t = arg;
    const tail_file *f = t->batch_file;
    t->lines[t->nlines++] = (sc_tail_line){
        .p = p,
        .len = len,
        .seq = ++t->seq,
        .dev = f->dev,
        .ino = f->ino,
        .end_off = end_off,
        .flags = partial ? SC_TAIL_LINE_PARTIAL : 0,
    };
    return t->nlines == t->opts.max_batch;
}

/* Hash of the last TAIL_WIN bytes of win[0..wlen) followed by data[0..n): the bytes just before
 * the batch's end offset. */
static void hash_end(const uint8_t *win, uint32_t wlen, const char *data, size_t n,
                     sc_checkpoint_rec *rec)
{
    size_t from_data = n < TAIL_WIN ? n : TAIL_WIN;
    size_t from_win = TAIL_WIN - from_data < wlen ? TAIL_WIN - from_data : wlen;
    uint64_t h = sc_checkpoint_fnv1a(SC_CHECKPOINT_FNV_INIT, win + wlen - from_win, from_win);
    if (from_data > 0)
        h = sc_checkpoint_fnv1a(h, data + n - from_data, from_data);
    rec->hash = h;
    rec->hash_len = (uint32_t)(from_win + from_data);
}

static void harvest(sc_tail *t, tail_file *f)
{
    if (f->lb.too_long == 0)
        return;
    if (t->stats.too_long == 0)
        sc_log_warn(t->env->log, "tail: line longer than max_line skipped (further ones counted)",
                    SC_F_STR("file", f->name), SC_F_UINT("max_line", t->opts.max_line));
    t->stats.too_long += f->lb.too_long;
    f->lb.too_long = 0;
}

/* Records the collected lines in the ring, then hands them over. `data` holds the file bytes
 * from just after `win` up to the end of the last line. */
static void flush_batch(sc_tail *t, tail_file *f, const uint8_t *win, uint32_t wlen,
                        const char *data, size_t n)
{
    if (t->nlines == 0)
        return;
    const sc_tail_line *last = &t->lines[t->nlines - 1];
    uint64_t seq = last->seq;
    tail_pending *e = &t->ring[(t->ring_head + t->ring_len) % t->opts.max_pending];
    t->ring_len++;
    e->seq = seq;
    e->rec = (sc_checkpoint_rec){.dev = f->dev,
                                 .ino = f->ino,
                                 .offset = last->end_off,
                                 .head_hash = f->head_hash,
                                 .head_len = f->head_len};
    hash_end(win, wlen, data, n, &e->rec);
    size_t count = t->nlines;
    t->nlines = 0;
    t->stats.lines += count;
    t->opts.on_lines(t->opts.arg, t->lines, count);
    if (t->opts.auto_ack)
        sc_tail_ack(t, seq);
}

/* The ring is a cap like any other: hitting it is counted (and logged the first time). */
static void ring_full(sc_tail *t)
{
    t->stats.ack_ring_full++;
    if (!t->logged_ring)
        sc_log_info(t->env->log,
                    "tail: unacknowledged batches at max_pending; reading waits for acks",
                    SC_F_STR("path", t->path), SC_F_UINT("max_pending", t->opts.max_pending));
    t->logged_ring = 1;
}

void sc_tail_deliver(sc_tail *t)
{
    tail_block *b = &t->block;
    if (b->f != NULL && !t->closing && !t->paused && t->ring_len >= t->opts.max_pending &&
        !t->ring_blocked) {
        t->ring_blocked = 1;
        ring_full(t);
    }
    while (b->f != NULL && sc_tail_can_emit(t)) {
        t->ring_blocked = 0;
        tail_file *f = b->f;
        int stopped;
        t->batch_file = f;
        t->nlines = 0;
        size_t used = sc_linebuf_feed(&f->lb, t->buf + b->pos, b->len - b->pos, b->off + b->pos,
                                      sink, t, &stopped);
        b->pos += used;
        if (t->nlines > 0) {
            size_t end = (size_t)(t->lines[t->nlines - 1].end_off - b->off);
            flush_batch(t, f, b->win, b->win_len, t->buf, end);
        }
        if (!stopped) {
            /* Only now: holding may overwrite the carry a delivered line pointed into. */
            sc_linebuf_hold(&f->lb, t->buf + b->pos, b->len - b->pos, b->off + b->pos);
            b->f = NULL;
            if (f->recheck)
                t->probe_wanted = 1;
        }
        harvest(t, f);
    }
}

int sc_tail_flush_partial(sc_tail *t, tail_file *f)
{
    if (!sc_tail_can_emit(t) || t->block.f == f)
        return 0;
    t->batch_file = f;
    t->nlines = 0;
    int emitted = sc_linebuf_flush(&f->lb, sink, t);
    harvest(t, f);
    if (!emitted)
        return 0;
    t->stats.partial_flushed++;
    flush_batch(t, f, f->win, f->win_len, NULL, 0);
    return 1;
}

/* ---- acks ------------------------------------------------------------------------------------ */

int sc_tail_ack(sc_tail *t, uint64_t seq)
{
    if (seq > t->seq)
        return -EINVAL;
    if (seq <= t->acked_seq)
        return 0;
    t->acked_seq = seq;
    int moved = 0;
    while (t->ring_len > 0 && t->ring[t->ring_head].seq <= seq) {
        t->acked = t->ring[t->ring_head].rec;
        t->ring_head = (t->ring_head + 1) % t->opts.max_pending;
        t->ring_len--;
        moved = 1;
    }
    if (moved && t->cpw != NULL)
        sc_checkpoint_writer_set(t->cpw, &t->acked);
    if (moved && !t->closing)
        sc_tail_pump(t);
    return 0;
}
