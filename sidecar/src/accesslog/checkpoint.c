/* checkpoint.c - owns: the checkpoint record's text format, FNV-1a, the blocking load and atomic
 * store, and the threadpool writer (coalescing, rate limit, final write at close). */
#include "accesslog/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAGIC "comet-sidecar tail checkpoint 1\n"

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

uint64_t sc_checkpoint_fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* ---- format ---------------------------------------------------------------------------------- */

int sc_checkpoint_encode(const sc_checkpoint_rec *rec, const char *subject, char *out, size_t cap)
{
    size_t slen = strlen(subject);
    if (slen == 0 || slen >= SC_CHECKPOINT_PATH_MAX || memchr(subject, '\n', slen) != NULL)
        return -EINVAL;
    if (rec->hash_len > SC_CHECKPOINT_HASH_BYTES || rec->head_len > SC_CHECKPOINT_HASH_BYTES ||
        rec->hash_len > rec->offset)
        return -EINVAL;
    int n = snprintf(out, cap,
                     MAGIC "subject %s\ndev %" PRIu64 "\nino %" PRIu64 "\noffset %" PRIu64
                           "\nhash %016" PRIx64 "\nhash_len %" PRIu32 "\nhead_hash %016" PRIx64
                           "\nhead_len %" PRIu32 "\n",
                     subject, rec->dev, rec->ino, rec->offset, rec->hash, rec->hash_len,
                     rec->head_hash, rec->head_len);
    if (n < 0 || (size_t)n >= cap)
        return -ENOBUFS;
    uint64_t sum = sc_checkpoint_fnv1a(SC_CHECKPOINT_FNV_INIT, out, (size_t)n);
    int m = snprintf(out + n, cap - (size_t)n, "sum %016" PRIx64 "\n", sum);
    if (m < 0 || (size_t)m >= cap - (size_t)n)
        return -ENOBUFS;
    return n + m;
}

typedef struct cursor {
    const char *p, *end;
} cursor;

/* The value of the next line, which must be "<key> <value>\n". */
static int take(cursor *c, const char *key, const char **v, size_t *vlen)
{
    size_t klen = strlen(key);
    if ((size_t)(c->end - c->p) < klen + 1 || memcmp(c->p, key, klen) != 0 || c->p[klen] != ' ')
        return -EINVAL;
    const char *s = c->p + klen + 1;
    const char *nl = memchr(s, '\n', (size_t)(c->end - s));
    if (nl == NULL)
        return -EINVAL;
    *v = s;
    *vlen = (size_t)(nl - s);
    c->p = nl + 1;
    return 0;
}

static int take_u64(cursor *c, const char *key, int base, uint64_t *out)
{
    const char *v;
    size_t n;
    if (take(c, key, &v, &n) != 0 || n == 0 || n > 20)
        return -EINVAL;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d;
        if (v[i] >= '0' && v[i] <= '9')
            d = (unsigned)(v[i] - '0');
        else if (base == 16 && v[i] >= 'a' && v[i] <= 'f')
            d = (unsigned)(v[i] - 'a' + 10);
        else
            return -EINVAL;
        if (x > (UINT64_MAX - d) / (uint64_t)base)
            return -EINVAL;
        x = x * (uint64_t)base + d;
    }
    *out = x;
    return 0;
}

int sc_checkpoint_decode(const char *p, size_t len, sc_checkpoint_rec *out, char *subject,
                         size_t subject_cap)
{
    cursor c = {p, p + len};
    sc_checkpoint_rec r = {0};
    const char *s;
    size_t slen;
    uint64_t hl, hdl, sum;
    size_t mlen = sizeof MAGIC - 1;
    if (len < mlen || memcmp(p, MAGIC, mlen) != 0)
        return -EINVAL;
    c.p += mlen;
    /* A NUL would cut the subject short when it is compared as a C string: refuse it (the
     * encoder never writes one). */
    if (take(&c, "subject", &s, &slen) != 0 || slen == 0 || slen >= subject_cap ||
        memchr(s, '\0', slen) != NULL)
        return -EINVAL;
    if (take_u64(&c, "dev", 10, &r.dev) || take_u64(&c, "ino", 10, &r.ino) ||
        take_u64(&c, "offset", 10, &r.offset) || take_u64(&c, "hash", 16, &r.hash) ||
        take_u64(&c, "hash_len", 10, &hl) || take_u64(&c, "head_hash", 16, &r.head_hash) ||
        take_u64(&c, "head_len", 10, &hdl))
        return -EINVAL;
    size_t body = (size_t)(c.p - p);
    if (take_u64(&c, "sum", 16, &sum) || c.p != c.end)
        return -EINVAL;
    if (sum != sc_checkpoint_fnv1a(SC_CHECKPOINT_FNV_INIT, p, body))
        return -EINVAL;
    if (hl > SC_CHECKPOINT_HASH_BYTES || hdl > SC_CHECKPOINT_HASH_BYTES || hl > r.offset ||
        hl != (r.offset < SC_CHECKPOINT_HASH_BYTES ? r.offset : SC_CHECKPOINT_HASH_BYTES))
        return -EINVAL;
    r.hash_len = (uint32_t)hl;
    r.head_len = (uint32_t)hdl;
    memcpy(subject, s, slen);
    subject[slen] = '\0';
    *out = r;
    return 0;
}

/* ---- blocking file I/O ----------------------------------------------------------------------- */

int sc_checkpoint_load(const char *file, sc_checkpoint_rec *out, char *subject, size_t subject_cap)
{
    char buf[SC_CHECKPOINT_MAX_BYTES + 1];
    size_t len = 0;
    int rc = 0;
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof buf - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == sizeof buf) {
            rc = -EINVAL; /* bigger than any record we write */
            goto out;
        }
    }
    rc = sc_checkpoint_decode(buf, len, out, subject, subject_cap);
out:
    close(fd);
    return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int fsync_dir_of(const char *file)
{
    char *copy = strdup(file);
    if (copy == NULL)
        return -ENOMEM;
    int rc = 0;
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        rc = -errno;
    else if (fsync(dfd) != 0 && errno != EINVAL) /* some filesystems cannot fsync a directory */
        rc = -errno;
    if (dfd >= 0)
        close(dfd);
    free(copy);
    return rc;
}

int sc_checkpoint_store(const char *file, const char *data, size_t len)
{
    size_t flen = strlen(file);
    char *tmp = malloc(flen + sizeof ".tmp");
    if (tmp == NULL)
        return -ENOMEM;
    memcpy(tmp, file, flen);
    memcpy(tmp + flen, ".tmp", sizeof ".tmp");
    int rc = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    rc = write_all(fd, data, len);
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, file) != 0)
        rc = -errno;
    if (rc != 0) {
        unlink(tmp);
        goto out;
    }
    rc = fsync_dir_of(file);
out:
    free(tmp);
    return rc;
}

/* ---- the asynchronous writer ----------------------------------------------------------------- */

struct sc_checkpoint_writer {
    const sc_env *env;
    char *file;
    char *subject;
    uint64_t interval_ms;
    uv_timer_t timer;
    uv_work_t work;
    sc_checkpoint_rec latest;
    int dirty;    /* latest not yet stored */
    int inflight; /* a store is running on the threadpool */
    int wrote_once, failing, closing, final_write, final_tried;
    uint64_t last_start_ms;
    int work_rc;
    size_t len;
    char buf[SC_CHECKPOINT_MAX_BYTES]; /* the record being stored; owned by the work meanwhile */
    sc_checkpoint_writer_stats stats;
    void (*closed)(void *arg);
    void *closed_arg;
};

static void schedule(sc_checkpoint_writer *w);
static void finish_close(sc_checkpoint_writer *w);

static void store_work(uv_work_t *work)
{
    sc_checkpoint_writer *w = container_of(work, sc_checkpoint_writer, work);
    w->work_rc = sc_checkpoint_store(w->file, w->buf, w->len);
}

static void store_done(uv_work_t *work, int status)
{
    sc_checkpoint_writer *w = container_of(work, sc_checkpoint_writer, work);
    w->inflight = 0;
    int rc = status < 0 ? status : w->work_rc;
    if (rc != 0) {
        w->stats.failures++;
        w->dirty = 1; /* retry with the newest record after the interval */
        if (!w->failing)
            sc_log_warn(w->env->log, "checkpoint write failed", SC_F_STR("file", w->file),
                        SC_F_ERR("error", rc));
        w->failing = 1;
    } else {
        w->stats.writes++;
        if (w->failing)
            sc_log_info(w->env->log, "checkpoint writes recovered", SC_F_STR("file", w->file));
        w->failing = 0;
    }
    if (w->closing)
        finish_close(w);
    else if (w->dirty)
        schedule(w);
}

/* Starts storing `latest`. 0, or a negative errno (then nothing is in flight). */
static int start_store(sc_checkpoint_writer *w)
{
    int n = sc_checkpoint_encode(&w->latest, w->subject, w->buf, sizeof w->buf);
    if (n < 0) {
        w->stats.failures++;
        w->dirty = 0; /* this record can never be encoded; wait for the next one */
        sc_log_error(w->env->log, "checkpoint record not encodable", SC_F_ERR("error", n));
        return n;
    }
    w->len = (size_t)n;
    w->last_start_ms = uv_now(w->env->loop);
    w->wrote_once = 1;
    int rc = uv_queue_work(w->env->loop, &w->work, store_work, store_done);
    if (rc != 0) {
        w->stats.failures++;
        return rc;
    }
    w->dirty = 0;
    w->inflight = 1;
    return 0;
}

static void on_timer(uv_timer_t *timer)
{
    schedule(container_of(timer, sc_checkpoint_writer, timer));
}

static void schedule(sc_checkpoint_writer *w)
{
    if (w->inflight || w->closing || !w->dirty)
        return;
    uint64_t now = uv_now(w->env->loop);
    uint64_t elapsed = now - w->last_start_ms;
    if (w->wrote_once && elapsed < w->interval_ms) {
        if (!uv_is_active((uv_handle_t *)&w->timer))
            uv_timer_start(&w->timer, on_timer, w->interval_ms - elapsed, 0);
        return;
    }
    if (start_store(w) != 0 && w->dirty)
        uv_timer_start(&w->timer, on_timer, w->interval_ms, 0);
}

int sc_checkpoint_writer_new(sc_checkpoint_writer **out, const sc_env *env, const char *file,
                             const char *subject, uint32_t min_interval_ms)
{
    *out = NULL;
    size_t slen = subject ? strlen(subject) : 0;
    if (file == NULL || file[0] == '\0' || slen == 0 || slen >= SC_CHECKPOINT_PATH_MAX ||
        memchr(subject, '\n', slen) != NULL)
        return -EINVAL;
    sc_checkpoint_writer *w = calloc(1, sizeof *w);
    if (w == NULL)
        return -ENOMEM;
    w->file = strdup(file);
    w->subject = strdup(subject);
    if (w->file == NULL || w->subject == NULL) {
        free(w->file);
        free(w->subject);
        free(w);
        return -ENOMEM;
    }
    w->env = env;
    w->interval_ms = min_interval_ms ? min_interval_ms : 1000;
    uv_timer_init(env->loop, &w->timer);
    *out = w;
    return 0;
}

void sc_checkpoint_writer_set(sc_checkpoint_writer *w, const sc_checkpoint_rec *rec)
{
    w->latest = *rec;
    w->dirty = 1;
    schedule(w);
}

void sc_checkpoint_writer_get_stats(const sc_checkpoint_writer *w, sc_checkpoint_writer_stats *out)
{
    *out = w->stats;
}

static void on_closed(uv_handle_t *h)
{
    sc_checkpoint_writer *w = container_of((uv_timer_t *)h, sc_checkpoint_writer, timer);
    void (*cb)(void *) = w->closed;
    void *arg = w->closed_arg;
    free(w->file);
    free(w->subject);
    free(w);
    if (cb != NULL)
        cb(arg);
}

static void finish_close(sc_checkpoint_writer *w)
{
    if (w->inflight)
        return;
    if (w->final_write && w->dirty && !w->final_tried) {
        w->final_tried = 1;
        if (start_store(w) == 0)
            return; /* store_done comes back here */
    }
    uv_close((uv_handle_t *)&w->timer, on_closed);
}

void sc_checkpoint_writer_close(sc_checkpoint_writer *w, int final_write, void (*cb)(void *arg),
                                void *arg)
{
    if (w == NULL || w->closing)
        return;
    w->closing = 1;
    w->final_write = final_write;
    w->closed = cb;
    w->closed_arg = arg;
    uv_timer_stop(&w->timer);
    finish_close(w);
}
