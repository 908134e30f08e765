/* evidence.c - owns: formatting evidence lines and appending them to the evidence file through
 * libuv's threadpool (one write at a time, bounded queue, errors logged once per cause). */
#include "canary/evidence.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/jsonw.h"

/* ---- format ---------------------------------------------------------------------------------- */

const char *sc_evidence_elapsed_bucket(uint64_t ns)
{
    const uint64_t s = 1000000000ull;
    if (ns < 1 * s)
        return "<1s";
    if (ns < 2 * s)
        return "1-2s";
    if (ns < 5 * s)
        return "2-5s";
    if (ns < 10 * s)
        return "5-10s";
    return ">10s";
}

typedef struct jw {
    sc_buf *b;
    int rc;
    int first; /* no comma before the next member */
} jw;

static void raw(jw *w, const char *s)
{
    if (w->rc == 0)
        w->rc = sc_jsonw_raw(w->b, s);
}

static void key(jw *w, const char *k)
{
    raw(w, w->first ? "\"" : ",\"");
    w->first = 0;
    raw(w, k);
    raw(w, "\":");
}

static void str(jw *w, const char *k, const char *v)
{
    key(w, k);
    if (w->rc == 0)
        w->rc = sc_jsonw_cstr(w->b, v != NULL && v[0] != '\0' ? v : NULL);
}

static void u64(jw *w, const char *k, uint64_t v)
{
    key(w, k);
    if (w->rc == 0)
        w->rc = sc_jsonw_u64(w->b, v);
}

static void boolean(jw *w, const char *k, bool v)
{
    key(w, k);
    raw(w, v ? "true" : "false");
}

static void status(jw *w, long st)
{
    key(w, "http_status");
    if (st > 0)
        w->rc = w->rc ? w->rc : sc_jsonw_i64(w->b, st);
    else
        raw(w, "null");
}

static void when(jw *w, const char *k, uint64_t ns)
{
    char t[32];
    key(w, k);
    if (sc_clock_format_rfc3339_ms(ns, t, sizeof t) < 0)
        raw(w, "null");
    else if (w->rc == 0)
        w->rc = sc_jsonw_cstr(w->b, t);
}

static void names(jw *w, const char *k, const char *const *v, size_t n)
{
    key(w, k);
    raw(w, "[");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            raw(w, ",");
        if (w->rc == 0)
            w->rc = sc_jsonw_cstr(w->b, v[i]);
    }
    raw(w, "]");
}

static void attempt(jw *w, const sc_evidence_attempt *a)
{
    raw(w, "{");
    w->first = 1;
    u64(w, "attempt", a->attempt);
    str(w, "target", a->target);
    when(w, "started_at", a->started_ns);
    when(w, "completed_at", a->completed_ns);
    str(w, "status_code_class", a->status_class);
    status(w, a->http_status);
    str(w, "error_class", a->error_class);
    str(w, "retry_decision", a->retry_decision);
    if (a->error_class != NULL && strcmp(a->error_class, "stream_interrupted") == 0)
        boolean(w, "content_before_cut", a->content_before_cut);
    str(w, "request_id", a->request_id);
    str(w, "upstream_request_id", a->upstream_request_id);
    raw(w, "}");
}

static int required_ok(const sc_evidence_run *r)
{
    const char *req[] = {r->test_id,           r->probe,        r->api_surface,
                         r->route_template,    r->status_class, r->error_class,
                         r->fallback_decision, r->trace_id,     r->expected};
    for (size_t i = 0; i < sizeof req / sizeof req[0]; i++)
        if (req[i] == NULL)
            return 0;
    return (r->n_violations == 0 || r->violations != NULL) &&
           (r->n_shape_added == 0 || r->shape_added != NULL) &&
           (r->n_shape_missing == 0 || r->shape_missing != NULL) &&
           (r->n_attempts == 0 || r->attempts != NULL);
}

static void run_fields(jw *w, const sc_evidence_run *r)
{
    u64(w, "evidence_version", SC_EVIDENCE_VERSION);
    str(w, "test_id", r->test_id);
    str(w, "probe", r->probe);
    str(w, "environment", r->environment);
    when(w, "started_at", r->started_ns);
    when(w, "completed_at", r->completed_ns);
    str(w, "api_surface", r->api_surface);
    str(w, "verified_upstream_route_template", r->route_template);
    str(w, "gateway_route_name", r->route_name);
    str(w, "model", r->model);
    boolean(w, "stream", r->stream);
    str(w, "status_code_class", r->status_class);
    status(w, r->http_status);
    str(w, "error_class", r->error_class);
    u64(w, "retry_count", r->retry_count);
    str(w, "fallback_decision", r->fallback_decision);
    str(w, "fallback_reason", r->fallback_reason);
    str(w, "fallback_result", r->fallback_result);
    boolean(w, "usage_present", r->usage_present);
    uint64_t elapsed = r->completed_ns > r->started_ns ? r->completed_ns - r->started_ns : 0;
    str(w, "elapsed_time_bucket", sc_evidence_elapsed_bucket(elapsed));
    str(w, "request_id", r->request_id);
    str(w, "upstream_request_id", r->upstream_request_id);
    str(w, "trace_id", r->trace_id);
    str(w, "redaction_status", SC_EVIDENCE_REDACTION);
    str(w, "operator_result", r->passed ? "pass" : "fail");
    str(w, "expected", r->expected);
    names(w, "contract_violations", r->violations, r->n_violations);
    names(w, "shape_added", r->shape_added, r->n_shape_added);
    names(w, "shape_missing", r->shape_missing, r->n_shape_missing);
}

int sc_evidence_format(const sc_evidence_run *r, sc_buf *out)
{
    if (r == NULL || out == NULL || !required_ok(r))
        return -EINVAL;
    size_t start = out->len;
    jw w = {.b = out, .first = 1};
    raw(&w, "{");
    run_fields(&w, r);
    key(&w, "attempts");
    raw(&w, "[");
    for (size_t i = 0; i < r->n_attempts; i++) {
        if (i > 0)
            raw(&w, ",");
        attempt(&w, &r->attempts[i]);
    }
    raw(&w, "]}\n");
    if (w.rc != 0) {
        out->len = start;
        if (out->data != NULL)
            out->data[start] = '\0';
    }
    return w.rc;
}

/* ---- writer ---------------------------------------------------------------------------------- */

#define MAX_CAUSES 8

typedef struct line {
    char *mem; /* mem[0] is slack for a leading '\n' after a torn line; text from mem + 1 */
    size_t len;
} line;

struct sc_evidence_writer {
    const sc_env *env;
    char *path;
    uv_fs_t req;
    uv_timer_t finisher; /* only closed: the last asynchronous step of close */
    int fd;
    int busy;    /* req in use */
    int closing; /* close requested */
    int torn;    /* the last line was cut short by a failure */
    int full_episode;
    line *q;
    size_t cap, head, count;
    size_t off;  /* bytes of the head line written so far */
    int lead_nl; /* head line is being written with a leading '\n' */
    int causes[MAX_CAUSES];
    size_t n_causes;
    sc_evidence_stats stats;
    sc_instrument *failures; /* may be NULL */
    void (*closed)(void *);
    void *closed_arg;
};

static void pump(sc_evidence_writer *w);

int sc_evidence_writer_new(sc_evidence_writer **out, const sc_env *env, const char *path,
                           size_t max_pending)
{
    *out = NULL;
    if (env == NULL || env->loop == NULL || path == NULL || path[0] == '\0' || max_pending == 0)
        return -EINVAL;
    sc_evidence_writer *w = calloc(1, sizeof *w);
    if (w == NULL)
        return -ENOMEM;
    w->path = strdup(path);
    w->q = calloc(max_pending, sizeof *w->q);
    if (w->path == NULL || w->q == NULL) {
        free(w->path);
        free(w->q);
        free(w);
        return -ENOMEM;
    }
    w->env = env;
    w->cap = max_pending;
    w->fd = -1;
    uv_timer_init(env->loop, &w->finisher);
    w->finisher.data = w;
    *out = w;
    return 0;
}

size_t sc_evidence_writer_pending(const sc_evidence_writer *w)
{
    return w->count;
}

void sc_evidence_writer_count_failures(sc_evidence_writer *w, sc_instrument *inst)
{
    w->failures = inst;
    if (inst != NULL) /* the series exists from the start: rate() over it is 0, not absent */
        (void)sc_metrics_add(inst, 0, NULL, 0);
}

sc_evidence_stats sc_evidence_writer_get_stats(const sc_evidence_writer *w)
{
    return w->stats;
}

int sc_evidence_writer_append(sc_evidence_writer *w, const char *text, size_t len)
{
    if (w == NULL || text == NULL || len == 0 || text[len - 1] != '\n')
        return -EINVAL;
    if (w->closing)
        return -ESHUTDOWN;
    if (w->count == w->cap) {
        w->stats.dropped_full++;
        if (w->failures != NULL)
            (void)sc_metrics_add(w->failures, 1, NULL, 0);
        if (!w->full_episode) {
            w->full_episode = 1;
            sc_log_warn(w->env->log, "evidence queue full; dropping evidence lines",
                        SC_F_UINT("max_pending", w->cap),
                        SC_F_UINT("dropped_total", w->stats.dropped_full));
        }
        return -ENOBUFS;
    }
    char *mem = malloc(len + 1);
    if (mem == NULL)
        return -ENOMEM;
    mem[0] = '\n';
    memcpy(mem + 1, text, len);
    w->q[(w->head + w->count) % w->cap] = (line){mem, len};
    w->count++;
    pump(w);
    return 0;
}

static void pop(sc_evidence_writer *w)
{
    free(w->q[w->head].mem);
    w->q[w->head] = (line){NULL, 0};
    w->head = (w->head + 1) % w->cap;
    w->count--;
    w->off = 0;
    w->lead_nl = 0;
    if (w->full_episode && w->count <= w->cap / 2)
        w->full_episode = 0;
}

/* Logs a failure the first time its cause is seen since the last successful write. */
static void failed(sc_evidence_writer *w, const char *what, int rc)
{
    w->stats.failed++;
    w->stats.last_error = rc;
    if (w->failures != NULL)
        (void)sc_metrics_add(w->failures, 1, NULL, 0);
    for (size_t i = 0; i < w->n_causes; i++)
        if (w->causes[i] == rc)
            return;
    if (w->n_causes < MAX_CAUSES)
        w->causes[w->n_causes++] = rc;
    sc_log_error(w->env->log, "evidence line not written; the sidecar keeps running",
                 SC_F_STR("operation", what), SC_F_STR("path", w->path), SC_F_ERR("error", rc),
                 SC_F_UINT("failed_total", w->stats.failed));
}

static void on_closed_fd(uv_fs_t *req)
{
    sc_evidence_writer *w = req->data;
    uv_fs_req_cleanup(req);
    w->busy = 0;
    pump(w);
}

static void close_fd(sc_evidence_writer *w)
{
    int fd = w->fd;
    w->fd = -1;
    w->busy = 1;
    w->req.data = w;
    if (uv_fs_close(w->env->loop, &w->req, fd, on_closed_fd) < 0) {
        w->busy = 0;
        uv_fs_req_cleanup(&w->req);
    }
}

static void on_write(uv_fs_t *req)
{
    sc_evidence_writer *w = req->data;
    ssize_t n = req->result;
    uv_fs_req_cleanup(req);
    w->busy = 0;
    line *l = &w->q[w->head];
    size_t total = l->len + (w->lead_nl ? 1 : 0);
    if (n < 0) {
        if (w->off > 0) /* the file now ends inside a line */
            w->torn = 1;
        failed(w, "write", (int)n);
        pop(w);
        close_fd(w); /* reopened for the next line: the file may have been replaced */
        if (!w->busy)
            pump(w);
        return;
    }
    w->off += (size_t)n;
    w->stats.bytes += (uint64_t)n;
    if (w->off < total) {
        pump(w); /* a short write: the rest of the line next */
        return;
    }
    w->stats.written++;
    w->torn = 0;
    if (w->stats.last_error != 0) {
        sc_log_info(w->env->log, "evidence writes recovered", SC_F_STR("path", w->path),
                    SC_F_UINT("failed_total", w->stats.failed));
        w->stats.last_error = 0;
        w->n_causes = 0;
    }
    pop(w);
    pump(w);
}

static void on_open(uv_fs_t *req)
{
    sc_evidence_writer *w = req->data;
    ssize_t fd = req->result;
    uv_fs_req_cleanup(req);
    w->busy = 0;
    if (fd < 0) {
        failed(w, "open", (int)fd);
        pop(w);
    } else {
        w->fd = (int)fd;
    }
    pump(w);
}

static void on_finisher_closed(uv_handle_t *h)
{
    sc_evidence_writer *w = h->data;
    void (*cb)(void *) = w->closed;
    void *arg = w->closed_arg;
    free(w->q);
    free(w->path);
    free(w);
    if (cb != NULL)
        cb(arg);
}

static void start_write(sc_evidence_writer *w)
{
    line *l = &w->q[w->head];
    if (w->off == 0)
        w->lead_nl = w->torn;
    const char *base = l->mem + (w->lead_nl ? 0 : 1);
    size_t total = l->len + (w->lead_nl ? 1 : 0);
    uv_buf_t buf = uv_buf_init((char *)base + w->off, (unsigned)(total - w->off));
    w->busy = 1;
    w->req.data = w;
    int rc = uv_fs_write(w->env->loop, &w->req, w->fd, &buf, 1, -1, on_write);
    if (rc < 0) {
        w->busy = 0;
        uv_fs_req_cleanup(&w->req);
        failed(w, "write", rc);
        pop(w);
    }
}

static void start_open(sc_evidence_writer *w)
{
    w->busy = 1;
    w->req.data = w;
    int rc = uv_fs_open(w->env->loop, &w->req, w->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
                        0640, on_open);
    if (rc < 0) {
        w->busy = 0;
        uv_fs_req_cleanup(&w->req);
        failed(w, "open", rc);
        pop(w);
    }
}

/* One step at a time: open, write the head line, or (closing, nothing left) close the file and
 * finish. Synchronous submission failures drop the line, so the loop always terminates. */
static void pump(sc_evidence_writer *w)
{
    while (!w->busy && w->count > 0) {
        if (w->fd < 0)
            start_open(w);
        else
            start_write(w);
    }
    if (w->busy || w->count > 0 || !w->closing)
        return;
    if (w->fd >= 0) {
        close_fd(w);
        if (w->busy)
            return;
    }
    if (!uv_is_closing((uv_handle_t *)&w->finisher))
        uv_close((uv_handle_t *)&w->finisher, on_finisher_closed);
}

void sc_evidence_writer_close(sc_evidence_writer *w, void (*closed)(void *arg), void *arg)
{
    if (w == NULL || w->closing)
        return;
    w->closing = 1;
    w->closed = closed;
    w->closed_arg = arg;
    pump(w);
}
