/* tail_probe.c - owns: the tailer's threadpool side. One probe = one uv_queue_work that does all
 * the blocking filesystem work of a check and returns plain results for the loop thread to apply:
 *   - at start-up: load the checkpoint and decide where to start (path file, rotated sibling or
 *     copy, start position), open the file(s);
 *   - afterwards: fstat every open file (size, link count), detect truncation (shrunk, or the
 *     bytes before the read position or the first bytes changed), look for the copy of a
 *     truncated file, stat the path (symlinks followed) and open a new file found there.
 * The work function reads only the probe's inputs and the tailer's immutable configuration. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accesslog/tail_internal.h"

#define MAX_CANDIDATES 64 /* rotated siblings examined per search */

static ssize_t pread_full(int fd, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* 1: the len bytes at off hash to want; 0: they differ or the file is shorter; -1: read error
 * (undecided: an I/O error is not evidence of a truncation). */
static int hash_check(int fd, uint64_t off, uint32_t len, uint64_t want)
{
    uint8_t b[TAIL_WIN];
    ssize_t r = pread_full(fd, b, len, off);
    if (r < 0)
        return -1;
    return (size_t)r == len && sc_checkpoint_fnv1a(SC_CHECKPOINT_FNV_INIT, b, len) == want;
}

/* Opens without blocking on a FIFO. -EINVAL: not a regular file. */
static int open_regular(const char *name, struct stat *st)
{
    int fd = open(name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    int rc = fstat(fd, st) != 0 ? -errno : S_ISREG(st->st_mode) ? 0 : -EINVAL;
    if (rc != 0) {
        close(fd);
        return rc;
    }
    return fd;
}

/* A new file positioned at pos; its window and head are read from the file itself. */
static void fill_new(probe_new *nw, int fd, const struct stat *st, uint64_t pos, const char *name)
{
    uint8_t head[TAIL_WIN];
    nw->fd = fd;
    nw->dev = (uint64_t)st->st_dev;
    nw->ino = (uint64_t)st->st_ino;
    nw->size = (uint64_t)st->st_size;
    nw->nlink = (uint64_t)st->st_nlink;
    nw->win_len = (uint32_t)(pos < TAIL_WIN ? pos : TAIL_WIN);
    if (pread_full(fd, nw->win, nw->win_len, pos - nw->win_len) != (ssize_t)nw->win_len) {
        pos = 0; /* shrank meanwhile: start over (the next probe sees the truncation anyway) */
        nw->win_len = 0;
    }
    nw->read_pos = pos;
    size_t hl = nw->size < TAIL_WIN ? (size_t)nw->size : TAIL_WIN;
    ssize_t r = pread_full(fd, head, hl, 0);
    nw->head_len = r > 0 ? (uint32_t)r : 0;
    nw->head_hash = sc_checkpoint_fnv1a(SC_CHECKPOINT_FNV_INIT, head, nw->head_len);
    nw->at_path = nw->is_copy = nw->skip_partial = 0;
    nw->copy_of = -1;
    snprintf(nw->name, sizeof nw->name, "%s", name);
}

/* The start of the last line (complete or not) within the last read_block bytes. */
static uint64_t last_line_start(tail_probe *p, int fd, uint64_t size, int *skip)
{
    size_t blk = p->t->opts.read_block;
    uint64_t base = size > blk ? size - blk : 0;
    ssize_t r = pread_full(fd, p->scratch, (size_t)(size - base), base);
    *skip = 0;
    if (r <= 0)
        return size;
    const char *nl = memrchr(p->scratch, '\n', (size_t)r);
    if (nl != NULL)
        return base + (uint64_t)(nl - p->scratch) + 1;
    if (base == 0)
        return 0; /* the whole file is one unfinished line */
    *skip = 1;    /* a line longer than a block is being written: skip to its end */
    return size;
}

/* ---- rotated siblings ------------------------------------------------------------------------ */

typedef struct want {
    uint64_t off, hash, head_hash;
    uint32_t hash_len, head_len;
    uint64_t dev, ino;           /* preferred identity (renamed file) */
    uint64_t skip_dev, skip_ino; /* never this one (the path's / the truncated file) */
} want;

typedef struct best {
    int fd;
    int same_ino;
    struct stat st;
    char name[PATH_MAX];
} best;

static int content_matches(int fd, const struct stat *st, const want *w)
{
    if ((uint64_t)st->st_size < w->off)
        return 0;
    if (w->head_len > 0 && hash_check(fd, 0, w->head_len, w->head_hash) != 1)
        return 0;
    return hash_check(fd, w->off - w->hash_len, w->hash_len, w->hash) == 1;
}

static void consider(const char *name, const want *w, best *b)
{
    struct stat st;
    int fd = open_regular(name, &st);
    if (fd < 0)
        return;
    int same = (uint64_t)st.st_dev == w->dev && (uint64_t)st.st_ino == w->ino;
    int skip = (uint64_t)st.st_dev == w->skip_dev && (uint64_t)st.st_ino == w->skip_ino;
    /* Content alone identifies a copy only when there is content to compare. */
    int ok = !skip && (same || w->off > 0 || w->head_len > 0) && content_matches(fd, &st, w);
    int better = b->fd < 0 || same > b->same_ino ||
                 (same == b->same_ino && st.st_mtim.tv_sec > b->st.st_mtim.tv_sec);
    if (!ok || !better) {
        close(fd);
        return;
    }
    if (b->fd >= 0)
        close(b->fd);
    b->fd = fd;
    b->same_ino = same;
    b->st = st;
    snprintf(b->name, sizeof b->name, "%s", name);
}

/* Copies s into out with glob metacharacters escaped. 0 or -ENAMETOOLONG. */
static int escape(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    for (; *s; s++) {
        if (n + 3 > cap)
            return -ENAMETOOLONG;
        if (strchr("*?[]{}\\", *s) != NULL)
            out[n++] = '\\';
        out[n++] = *s;
    }
    out[n] = '\0';
    return 0;
}

static void search_pattern(const char *pattern, int flags, const want *w, best *b, size_t *seen)
{
    glob_t g;
    if (glob(pattern, flags, NULL, &g) != 0)
        return;
    for (size_t i = 0; i < g.gl_pathc && *seen < MAX_CANDIDATES; i++, (*seen)++)
        consider(g.gl_pathv[i], w, b);
    globfree(&g);
}

/* The best sibling matching w: same inode first, then the most recently modified copy. */
static void search_siblings(tail_probe *p, const want *w, best *b)
{
    const sc_tail *t = p->t;
    const char *target = p->have_resolved ? p->resolved : t->path;
    char esc[2 * PATH_MAX], pat[3 * PATH_MAX];
    size_t seen = 0;
    b->fd = -1;
    b->same_ino = 0;
    if (t->glob != NULL && strchr(t->glob, '/') != NULL) {
        search_pattern(t->glob, GLOB_BRACE, w, b, &seen);
        return;
    }
    if (t->glob != NULL) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s", target);
        if (escape(esc, sizeof esc, dirname(dir)) != 0)
            return;
        snprintf(pat, sizeof pat, "%s/%s", esc, t->glob);
        search_pattern(pat, GLOB_BRACE, w, b, &seen);
        return;
    }
    if (escape(esc, sizeof esc, target) != 0)
        return;
    snprintf(pat, sizeof pat, "%s.*", esc);
    search_pattern(pat, 0, w, b, &seen);
    snprintf(pat, sizeof pat, "%s-*", esc);
    search_pattern(pat, 0, w, b, &seen);
}

/* ---- the path -------------------------------------------------------------------------------- */

static int known_index(const tail_probe *p, const struct stat *st, size_t *idx)
{
    for (size_t i = 0; i < p->nin; i++) {
        if (p->in[i].dev == (uint64_t)st->st_dev && p->in[i].ino == (uint64_t)st->st_ino) {
            *idx = i;
            return 1;
        }
    }
    return 0;
}

static void path_failed(tail_probe *p, int rc)
{
    p->path_err = rc;
    p->path_state = rc == -ENOENT || rc == -ENOTDIR ? PATH_MISSING
                    : rc == -EINVAL                 ? PATH_NOT_REGULAR
                                                    : PATH_ERROR;
}

/* Classifies the path; returns an open descriptor only when it names a file not open yet. */
static int open_path(tail_probe *p, struct stat *st)
{
    const char *path = p->t->path;
    if (stat(path, st) != 0) {
        path_failed(p, -errno);
        return -1;
    }
    if (!S_ISREG(st->st_mode)) {
        path_failed(p, -EINVAL);
        return -1;
    }
    if (known_index(p, st, &p->path_known)) {
        p->path_state = PATH_KNOWN;
        return -1;
    }
    if (p->room <= p->nnew) {
        p->path_state = PATH_DEFERRED;
        return -1;
    }
    int fd = open_regular(path, st);
    if (fd < 0) {
        path_failed(p, fd);
        return -1;
    }
    if (known_index(p, st, &p->path_known)) { /* replaced between stat and open */
        close(fd);
        p->path_state = PATH_KNOWN;
        return -1;
    }
    p->path_state = PATH_OPENED;
    return fd;
}

static void add_path_file(tail_probe *p, int fd, const struct stat *st, uint64_t pos, int skip)
{
    probe_new *nw = &p->nw[p->nnew++];
    fill_new(nw, fd, st, pos, p->t->path);
    nw->at_path = 1;
    nw->skip_partial = skip && nw->read_pos == pos;
}

/* ---- start-up -------------------------------------------------------------------------------- */

static int load_checkpoint(tail_probe *p, sc_checkpoint_rec *rec)
{
    const sc_tail *t = p->t;
    char subject[SC_CHECKPOINT_PATH_MAX];
    if (t->cp_path == NULL) {
        p->cp_state = CP_OFF;
        return 0;
    }
    int rc = sc_checkpoint_load(t->cp_path, rec, subject, sizeof subject);
    p->cp_err = rc;
    if (rc != 0)
        p->cp_state = rc == -ENOENT ? CP_ABSENT : CP_BAD;
    else if (strcmp(subject, t->path) != 0)
        p->cp_state = CP_OTHER_PATH;
    else
        return 1;
    return 0;
}

/* Is the open path file the checkpointed one? Same inode, or (the device number of overlay and
 * network filesystems can change across mounts) a full head plus the bytes before the offset. */
static int path_is_checkpointed(int fd, const struct stat *st, const sc_checkpoint_rec *rec)
{
    want w = {.off = rec->offset,
              .hash = rec->hash,
              .hash_len = rec->hash_len,
              .head_hash = rec->head_hash,
              .head_len = rec->head_len};
    int same = (uint64_t)st->st_dev == rec->dev && (uint64_t)st->st_ino == rec->ino;
    return (same || rec->head_len == TAIL_WIN) && content_matches(fd, st, &w);
}

static void probe_start(tail_probe *p)
{
    sc_checkpoint_rec rec;
    struct stat st;
    int have_cp = load_checkpoint(p, &rec);
    int fd = open_path(p, &st);
    if (!have_cp) {
        if (fd < 0)
            return;
        int skip = 0;
        uint64_t pos = p->t->opts.start == SC_TAIL_START_END
                           ? last_line_start(p, fd, (uint64_t)st.st_size, &skip)
                           : 0;
        add_path_file(p, fd, &st, pos, skip);
        return;
    }
    p->cp_offset = rec.offset;
    if (fd >= 0 && path_is_checkpointed(fd, &st, &rec)) {
        p->cp_state = CP_RESUMED;
        add_path_file(p, fd, &st, rec.offset, 0);
        return;
    }
    want w = {.off = rec.offset,
              .hash = rec.hash,
              .hash_len = rec.hash_len,
              .head_hash = rec.head_hash,
              .head_len = rec.head_len,
              .dev = rec.dev,
              .ino = rec.ino,
              .skip_dev = fd >= 0 ? (uint64_t)st.st_dev : 0,
              .skip_ino = fd >= 0 ? (uint64_t)st.st_ino : 0};
    best b;
    search_siblings(p, &w, &b);
    p->cp_state = b.fd >= 0 ? CP_SIBLING : CP_GONE;
    if (b.fd >= 0) {
        probe_new *nw = &p->nw[p->nnew++];
        fill_new(nw, b.fd, &b.st, rec.offset, b.name);
        nw->is_copy = !b.same_ino;
    }
    if (fd >= 0)
        add_path_file(p, fd, &st, 0, 0);
}

/* ---- steady state ---------------------------------------------------------------------------- */

static int was_truncated(const probe_in *in, const struct stat *st)
{
    if ((uint64_t)st->st_size < in->read_pos)
        return 1;
    if (st->st_nlink == 0)
        return 0; /* deleted: nobody rewrites it in place any more */
    if (in->win_len > 0 &&
        hash_check(in->fd, in->read_pos - in->win_len, in->win_len,
                   sc_checkpoint_fnv1a(SC_CHECKPOINT_FNV_INIT, in->win, in->win_len)) == 0)
        return 1;
    return in->head_len > 0 && hash_check(in->fd, 0, in->head_len, in->head_hash) == 0;
}

static void find_copy(tail_probe *p, size_t i)
{
    const probe_in *in = &p->in[i];
    want w = {.off = in->read_pos,
              .hash = sc_checkpoint_fnv1a(SC_CHECKPOINT_FNV_INIT, in->win, in->win_len),
              .hash_len = in->win_len,
              .head_hash = in->head_hash,
              .head_len = in->head_len,
              .skip_dev = in->dev,
              .skip_ino = in->ino};
    best b;
    search_siblings(p, &w, &b);
    if (b.fd < 0)
        return;
    probe_new *nw = &p->nw[p->nnew++];
    fill_new(nw, b.fd, &b.st, in->read_pos, b.name);
    nw->is_copy = 1;
    nw->copy_of = (int)i;
}

static void probe_files(tail_probe *p)
{
    for (size_t i = 0; i < p->nin; i++) {
        const probe_in *in = &p->in[i];
        probe_out *out = &p->out[i];
        struct stat st;
        out->head_hash = in->head_hash;
        out->head_len = in->head_len;
        if (fstat(in->fd, &st) != 0) {
            out->err = -errno;
            continue;
        }
        out->size = (uint64_t)st.st_size;
        out->nlink = (uint64_t)st.st_nlink;
        out->truncated = was_truncated(in, &st);
        if (out->truncated) {
            if (in->at_path && p->room > p->nnew)
                find_copy(p, i);
            continue;
        }
        size_t hl = out->size < TAIL_WIN ? (size_t)out->size : TAIL_WIN;
        uint8_t head[TAIL_WIN];
        if (hl > in->head_len && pread_full(in->fd, head, hl, 0) == (ssize_t)hl) {
            out->head_len = (uint32_t)hl;
            out->head_hash = sc_checkpoint_fnv1a(SC_CHECKPOINT_FNV_INIT, head, hl);
        }
    }
}

static void probe_work(uv_work_t *work)
{
    tail_probe *p = sc_tail_container_of(work, tail_probe, work);
    p->have_resolved = realpath(p->t->path, p->resolved) != NULL;
    if (p->first) {
        probe_start(p);
        return;
    }
    probe_files(p);
    struct stat st;
    int fd = open_path(p, &st);
    if (fd >= 0)
        add_path_file(p, fd, &st, 0, 0);
}

static void probe_after(uv_work_t *work, int status)
{
    tail_probe *p = sc_tail_container_of(work, tail_probe, work);
    sc_tail_probe_done(p->t, p, status);
}

/* ---- loop side ------------------------------------------------------------------------------- */

int sc_tail_probe_alloc(sc_tail *t)
{
    tail_probe *p = calloc(1, sizeof *p);
    if (p == NULL)
        return -ENOMEM;
    p->in = calloc(t->opts.max_files, sizeof *p->in);
    p->out = calloc(t->opts.max_files, sizeof *p->out);
    p->scratch = malloc(t->opts.read_block);
    if (p->in == NULL || p->out == NULL || p->scratch == NULL) {
        t->probe = p;
        sc_tail_probe_free(t);
        return -ENOMEM;
    }
    p->t = t;
    p->nw[0].fd = p->nw[1].fd = -1;
    t->probe = p;
    return 0;
}

void sc_tail_probe_free(sc_tail *t)
{
    tail_probe *p = t->probe;
    if (p == NULL)
        return;
    free(p->in);
    free(p->out);
    free(p->scratch);
    free(p);
    t->probe = NULL;
}

void sc_tail_probe_discard(tail_probe *p)
{
    for (size_t i = 0; i < p->nnew; i++) {
        if (p->nw[i].fd >= 0)
            close(p->nw[i].fd);
        p->nw[i].fd = -1;
    }
    p->nnew = 0;
}

int sc_tail_probe_submit(sc_tail *t)
{
    tail_probe *p = t->probe;
    p->first = !t->first_done;
    p->room = t->opts.max_files - t->nfiles;
    p->nin = 0;
    for (tail_file *f = t->head; f != NULL; f = f->next) {
        probe_in *in = &p->in[p->nin];
        in->f = f;
        in->fd = f->fd;
        in->dev = f->dev;
        in->ino = f->ino;
        in->read_pos = f->read_pos;
        memcpy(in->win, f->win, f->win_len);
        in->win_len = f->win_len;
        in->head_hash = f->head_hash;
        in->head_len = f->head_len;
        in->at_path = f->at_path;
        memset(&p->out[p->nin], 0, sizeof p->out[p->nin]);
        p->nin++;
    }
    p->nnew = 0;
    p->path_state = PATH_MISSING;
    p->path_err = 0;
    p->cp_state = CP_OFF;
    p->cp_err = 0;
    int rc = uv_queue_work(t->env->loop, &p->work, probe_work, probe_after);
    if (rc == 0)
        t->probing = 1;
    return rc;
}
