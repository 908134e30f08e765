/* http_client.c - owns: the client's in-flight requests (easy handle, copied headers, bounded
 * response buffers, kept for reuse once finished), and the deferral that keeps on_done out of
 * start_request, cancel and close (CURLcode to sc_http_error: http_easy.c). */
#include "loop/http_client.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "loop/curl_uv.h"
#include "loop/http_easy.h"

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#ifndef CURL_WRITEFUNC_ERROR
#define CURL_WRITEFUNC_ERROR 0xFFFFFFFF
#endif

#define DEFAULT_MAX_IN_FLIGHT      64u
#define DEFAULT_TIMEOUT_MS         30000u
#define DEFAULT_CONNECT_TIMEOUT_MS 10000u
#define DEFAULT_MAX_RESPONSE       (1024u * 1024u)
#define DEFAULT_MAX_HEADER         (64u * 1024u)
#define CAPTURE_VALUES_MAX         8192u  /* all captured header values of one response together */
#define SPARE_MAX                  4u     /* finished requests kept for reuse */
#define SPARE_BODY_MAX             65536u /* a kept request keeps its response buffer up to this */

typedef struct capture {
    char *name;
    size_t off; /* into capvals */
    int present;
} capture;

struct sc_http_request {
    sc_curl_uv_xfer xfer;
    sc_http_client *c;
    sc_http_request *prev, *next;
    CURL *easy;
    struct curl_slist *hdrs;
    sc_buf body;
    size_t max_body, received, header_bytes;
    capture *caps;
    size_t n_caps;
    sc_buf capvals;
    sc_http_header *found; /* n_caps slots, filled at completion */
    sc_http_data_cb on_data;
    sc_http_done_cb on_done;
    void *arg;
    int cancelled, finishing;
    sc_http_easy_abort abort;
    char errbuf[CURL_ERROR_SIZE];
};

struct sc_http_client {
    const sc_env *env;
    sc_curl_uv *cu;
    uv_idle_t defer; /* runs cancellations and the close sequence outside any caller's stack */
    sc_http_client_opts opts;
    char *user_agent;
    sc_http_request *reqs;
    sc_http_request *spare; /* finished requests kept for reuse (linked by next), n_spare */
    unsigned in_flight, n_spare;
    sc_http_client_stats stats;
    int closing, closes_left;
    void (*closed)(void *arg);
    void *closed_arg;
};

static const char *const error_names[] = {
    [SC_HTTP_OK] = "ok",
    [SC_HTTP_ERR_TIMEOUT] = "timeout",
    [SC_HTTP_ERR_DNS] = "dns",
    [SC_HTTP_ERR_CONNECT] = "connect",
    [SC_HTTP_ERR_TLS] = "tls",
    [SC_HTTP_ERR_SEND] = "send",
    [SC_HTTP_ERR_RECV] = "recv",
    [SC_HTTP_ERR_TOO_LARGE] = "too_large",
    [SC_HTTP_ERR_CANCELLED] = "cancelled",
    [SC_HTTP_ERR_ABORTED] = "aborted",
    [SC_HTTP_ERR_OTHER] = "other",
};

const char *sc_http_error_name(sc_http_error e)
{
    if ((unsigned)e >= sizeof error_names / sizeof error_names[0])
        return "other";
    return error_names[e];
}

const char *sc_http_response_header(const sc_http_response *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

/* ---- libcurl data callbacks (no multi-handle calls allowed in here) ---- */

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
    sc_http_request *r = ud;
    size_t len = size * n;
    if (r->cancelled)
        return CURL_WRITEFUNC_ERROR;
    if (len > r->max_body - r->received) {
        r->abort = SC_HTTP_EASY_ABORT_BODY_CAP;
        return CURL_WRITEFUNC_ERROR;
    }
    r->received += len;
    if (r->on_data != NULL) {
        if (r->on_data(p, len, r->arg) != 0) {
            r->abort = SC_HTTP_EASY_ABORT_DATA_CB;
            return CURL_WRITEFUNC_ERROR;
        }
        return r->cancelled ? CURL_WRITEFUNC_ERROR : len; /* on_data may have cancelled */
    }
    if (sc_buf_append(&r->body, p, len) != 0) {
        r->abort = SC_HTTP_EASY_ABORT_NOMEM; /* the cap was checked above, so this is -ENOMEM */
        return CURL_WRITEFUNC_ERROR;
    }
    return len;
}

static void trim(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r' || (*e)[-1] == '\n'))
        (*e)--;
}

static void capture_line(sc_http_request *r, const char *line, size_t len)
{
    const char *colon = memchr(line, ':', len);
    if (colon == NULL)
        return;
    const char *ns = line, *ne = colon, *vs = colon + 1, *ve = line + len;
    trim(&ns, &ne);
    trim(&vs, &ve);
    for (size_t i = 0; i < r->n_caps; i++) {
        capture *cp = &r->caps[i];
        if (strlen(cp->name) != (size_t)(ne - ns) || strncasecmp(cp->name, ns, ne - ns) != 0)
            continue;
        size_t off = r->capvals.len;
        if (sc_buf_append(&r->capvals, vs, ve - vs) != 0 ||
            sc_buf_append(&r->capvals, "", 1) != 0) {
            r->capvals.len = off; /* roll back a half-stored value */
            r->c->stats.capture_dropped++;
            sc_log_warn(r->c->env->log, "http captured header dropped: value store full",
                        SC_F_STR("header", cp->name), SC_F_UINT("cap", r->capvals.max));
            return;
        }
        cp->off = off;
        cp->present = 1; /* a repeated header keeps its last value */
    }
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    sc_http_request *r = ud;
    size_t len = size * n;
    if (r->cancelled)
        return CURL_WRITEFUNC_ERROR;
    size_t max = r->c->opts.max_header_bytes;
    if (len > max - r->header_bytes) {
        r->abort = SC_HTTP_EASY_ABORT_HEADER_CAP;
        return CURL_WRITEFUNC_ERROR;
    }
    r->header_bytes += len;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        /* A new response (after a 1xx): only the final one's headers count. */
        for (size_t i = 0; i < r->n_caps; i++)
            r->caps[i].present = 0;
        sc_buf_reset(&r->capvals);
    } else if (r->n_caps > 0) {
        capture_line(r, p, len);
    }
    return len;
}

/* ---- request lifetime ---- */

/* Everything a request owns, not the request itself. */
static void req_free_parts(sc_http_request *r)
{
    if (r->easy != NULL)
        curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->hdrs);
    sc_buf_free(&r->body);
    sc_buf_free(&r->capvals);
    for (size_t i = 0; i < r->n_caps; i++)
        free(r->caps[i].name);
    free(r->caps);
    free(r->found);
}

static void req_free(sc_http_request *r)
{
    req_free_parts(r);
    free(r);
}

/* Keeps a finished request for the next one, so an export request does not pay for a new easy
 * handle (curl_easy_init/cleanup allocations), buffers and capture names each time;
 * curl_easy_reset keeps the handle's caches. The header list is rebuilt per request. */
static void req_release(sc_http_client *c, sc_http_request *r)
{
    if (c->closing || c->n_spare >= SPARE_MAX || r->easy == NULL) {
        req_free(r);
        return;
    }
    curl_easy_reset(r->easy);
    curl_slist_free_all(r->hdrs);
    r->hdrs = NULL;
    if (r->body.cap > SPARE_BODY_MAX)
        sc_buf_free(&r->body);
    r->next = c->spare;
    c->spare = r;
    c->n_spare++;
}

static int same_captures(const sc_http_request *r, const sc_http_request_opts *o)
{
    if (r->n_caps != o->n_capture)
        return 0;
    for (size_t i = 0; i < r->n_caps; i++)
        if (strcmp(r->caps[i].name, o->capture_headers[i]) != 0)
            return 0;
    return 1;
}

/* A spare request with everything but its easy handle, buffers (emptied) and, when o asks for
 * the same ones, capture names zeroed; or a new zeroed one. */
static sc_http_request *req_alloc(sc_http_client *c, const sc_http_request_opts *o)
{
    sc_http_request *r = c->spare, keep;
    if (r == NULL)
        return calloc(1, sizeof *r);
    c->spare = r->next;
    c->n_spare--;
    keep = *r;
    memset(r, 0, sizeof *r);
    r->easy = keep.easy;
    r->body = keep.body;
    r->capvals = keep.capvals;
    sc_buf_reset(&r->body);
    sc_buf_reset(&r->capvals);
    if (!same_captures(&keep, o)) {
        keep.easy = NULL;
        sc_buf_init(&keep.body, 0);
        sc_buf_init(&keep.capvals, 0);
        keep.hdrs = NULL;
        req_free_parts(&keep);
        return r;
    }
    r->caps = keep.caps;
    r->found = keep.found;
    r->n_caps = keep.n_caps;
    for (size_t i = 0; i < r->n_caps; i++)
        r->caps[i].present = 0;
    return r;
}

static void free_spares(sc_http_client *c)
{
    while (c->spare != NULL) {
        sc_http_request *r = c->spare;
        c->spare = r->next;
        req_free(r);
    }
    c->n_spare = 0;
}

static double info_s(CURL *easy, CURLINFO what)
{
    curl_off_t us = 0;
    if (curl_easy_getinfo(easy, what, &us) != CURLE_OK)
        return 0.0;
    return (double)us / 1e6;
}

static const char *detail_for(sc_http_request *r, sc_http_error err, CURLcode rc)
{
    switch (err) {
    case SC_HTTP_OK:
        return "";
    case SC_HTTP_ERR_CANCELLED:
        return "request cancelled";
    case SC_HTTP_ERR_ABORTED:
        return "aborted by the data callback";
    case SC_HTTP_ERR_TOO_LARGE:
        if (r->abort == SC_HTTP_EASY_ABORT_HEADER_CAP)
            return "response headers exceeded max_header_bytes";
        return "response body exceeded max_response_bytes";
    default:
        if (r->abort == SC_HTTP_EASY_ABORT_NOMEM)
            return "out of memory buffering the response body";
        return r->errbuf[0] != '\0' ? r->errbuf : curl_easy_strerror(rc);
    }
}

static void schedule_defer(sc_http_client *c);

/* Reports the request to its owner and frees it. The transfer is already detached. */
static void finish(sc_http_request *r, CURLcode rc)
{
    sc_http_client *c = r->c;
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        c->reqs = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    c->in_flight--;
    c->stats.completed++;
    r->finishing = 1;

    sc_http_response res = {0};
    res.error = r->cancelled ? SC_HTTP_ERR_CANCELLED : sc_http_easy_error(rc, r->abort);
    res.error_detail = detail_for(r, res.error, rc);
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res.status);
    res.timings.dns_s = info_s(r->easy, CURLINFO_NAMELOOKUP_TIME_T);
    res.timings.connect_s = info_s(r->easy, CURLINFO_CONNECT_TIME_T);
    res.timings.tls_s = info_s(r->easy, CURLINFO_APPCONNECT_TIME_T);
    res.timings.first_byte_s = info_s(r->easy, CURLINFO_STARTTRANSFER_TIME_T);
    res.timings.total_s = info_s(r->easy, CURLINFO_TOTAL_TIME_T);
    if (r->on_data == NULL) {
        res.body = r->body.data != NULL ? r->body.data : "";
        res.body_len = r->body.len;
    }
    for (size_t i = 0; i < r->n_caps; i++) {
        if (!r->caps[i].present)
            continue;
        r->found[res.n_headers].name = r->caps[i].name;
        r->found[res.n_headers].value = r->capvals.data + r->caps[i].off;
        res.n_headers++;
    }
    res.headers = r->found;
    if (res.error == SC_HTTP_ERR_TOO_LARGE) {
        c->stats.too_large++;
        size_t cap =
            r->abort == SC_HTTP_EASY_ABORT_HEADER_CAP ? c->opts.max_header_bytes : r->max_body;
        sc_log_warn(c->env->log, "http response over its cap, transfer aborted",
                    SC_F_STR("detail", res.error_detail), SC_F_UINT("cap", cap));
    }
    r->on_done(&res, r->arg);
    req_release(c, r);
    if (c->closing && c->in_flight == 0)
        schedule_defer(c); /* the close sequence continues in on_defer */
}

static void on_xfer_done(sc_curl_uv_xfer *x, CURLcode rc)
{
    finish(container_of(x, sc_http_request, xfer), rc);
}

static int copy_captures(sc_http_request *r, const sc_http_request_opts *o)
{
    if (o->n_capture == 0 || r->n_caps > 0) /* none, or kept from the last use */
        return 0;
    r->caps = calloc(o->n_capture, sizeof *r->caps);
    r->found = calloc(o->n_capture, sizeof *r->found);
    if (r->caps == NULL || r->found == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < o->n_capture; i++) {
        r->caps[i].name = strdup(o->capture_headers[i]);
        if (r->caps[i].name == NULL)
            return -ENOMEM;
        r->n_caps++;
    }
    return 0;
}

static int req_new(sc_http_client *c, const sc_http_request_opts *o, sc_http_request **out)
{
    int rc;
    sc_http_request *r = req_alloc(c, o);
    if (r == NULL)
        return -ENOMEM;
    r->c = c;
    r->on_data = o->on_data;
    r->on_done = o->on_done;
    r->arg = o->arg;
    r->max_body =
        o->max_response_bytes ? o->max_response_bytes : c->opts.default_max_response_bytes;
    r->body.max = r->max_body; /* a kept buffer keeps its allocation */
    r->capvals.max = CAPTURE_VALUES_MAX;
    const sc_http_easy_cfg cfg = {
        .user_agent = c->user_agent,
        .timeout_ms = o->timeout_ms ? o->timeout_ms : c->opts.default_timeout_ms,
        .connect_timeout_ms =
            o->connect_timeout_ms ? o->connect_timeout_ms : c->opts.default_connect_timeout_ms,
        .max_body = r->max_body,
        .on_write = on_write,
        .on_header = on_header,
        .userdata = r,
        .errbuf = r->errbuf,
    };
    if (r->easy == NULL)
        r->easy = curl_easy_init();
    if (r->easy == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    if ((rc = copy_captures(r, o)) != 0 ||
        (rc = sc_http_easy_configure(r->easy, o, &cfg, &r->hdrs)) != 0)
        goto out;
    *out = r;
    return 0;
out:
    req_free(r);
    return rc;
}

int sc_http_client_start_request(sc_http_client *c, const sc_http_request_opts *o,
                                 sc_http_request **out)
{
    if (out != NULL)
        *out = NULL;
    if (c == NULL || o == NULL)
        return -EINVAL;
    int rc = sc_http_easy_validate(o);
    if (rc != 0)
        return rc;
    if (c->closing)
        return -ESHUTDOWN;
    if (c->in_flight >= c->opts.max_in_flight) {
        c->stats.rejected_busy++;
        sc_log_warn(c->env->log, "http request refused: too many in flight",
                    SC_F_UINT("max_in_flight", c->opts.max_in_flight));
        return -ENOBUFS;
    }
    sc_http_request *r;
    if ((rc = req_new(c, o, &r)) != 0)
        return rc;
    if ((rc = sc_curl_uv_add(c->cu, &r->xfer, r->easy, on_xfer_done)) != 0) {
        req_free(r);
        return rc;
    }
    r->next = c->reqs;
    if (c->reqs != NULL)
        c->reqs->prev = r;
    c->reqs = r;
    c->in_flight++;
    c->stats.started++;
    if (out != NULL)
        *out = r;
    return 0;
}

void sc_http_request_cancel(sc_http_request *r)
{
    if (r == NULL || r->finishing || r->cancelled)
        return;
    r->cancelled = 1;
    schedule_defer(r->c);
}

/* ---- deferred work: cancellations, then (when closing) the close sequence ---- */

static void client_free(sc_http_client *c)
{
    void (*closed)(void *) = c->closed;
    void *arg = c->closed_arg;
    free(c->user_agent);
    free(c);
    if (closed != NULL)
        closed(arg);
}

static void part_closed(sc_http_client *c)
{
    if (--c->closes_left == 0)
        client_free(c);
}

static void cu_closed(void *arg)
{
    part_closed(arg);
}

static void defer_closed(uv_handle_t *h)
{
    part_closed(container_of((uv_idle_t *)h, sc_http_client, defer));
}

static sc_http_request *first_cancelled(sc_http_client *c)
{
    for (sc_http_request *r = c->reqs; r != NULL; r = r->next)
        if (r->cancelled)
            return r;
    return NULL;
}

static void on_defer(uv_idle_t *h)
{
    sc_http_client *c = container_of(h, sc_http_client, defer);
    sc_http_request *r;
    /* Re-scan after each on_done: it may cancel or finish other requests. */
    while ((r = first_cancelled(c)) != NULL) {
        sc_curl_uv_remove(c->cu, &r->xfer);
        finish(r, CURLE_OK);
    }
    uv_idle_stop(&c->defer);
    if (!c->closing || c->in_flight > 0 || c->closes_left > 0)
        return;
    free_spares(c);
    c->closes_left = 2;
    uv_close((uv_handle_t *)&c->defer, defer_closed);
    sc_curl_uv_close(c->cu, cu_closed, c);
}

static void schedule_defer(sc_http_client *c)
{
    if (c->closes_left == 0)
        uv_idle_start(&c->defer, on_defer);
}

int sc_http_client_new(sc_http_client **out, const sc_env *env, const sc_http_client_opts *opts)
{
    int rc;
    *out = NULL;
    if (env == NULL || env->loop == NULL || env->log == NULL)
        return -EINVAL;
    sc_http_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return -ENOMEM;
    c->env = env;
    if (opts != NULL)
        c->opts = *opts;
    sc_http_client_opts *co = &c->opts;
    co->max_in_flight = co->max_in_flight ? co->max_in_flight : DEFAULT_MAX_IN_FLIGHT;
    co->default_timeout_ms = co->default_timeout_ms ? co->default_timeout_ms : DEFAULT_TIMEOUT_MS;
    if (co->default_connect_timeout_ms == 0)
        co->default_connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
    if (co->default_max_response_bytes == 0)
        co->default_max_response_bytes = DEFAULT_MAX_RESPONSE;
    co->max_header_bytes = co->max_header_bytes ? co->max_header_bytes : DEFAULT_MAX_HEADER;
    c->user_agent = strdup(co->user_agent != NULL ? co->user_agent : "comet-sidecar");
    co->user_agent = NULL; /* the caller's pointer is not kept */
    if (c->user_agent == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    if ((rc = sc_curl_uv_new(&c->cu, env)) != 0)
        goto out;
    if (co->max_host_connections > 0 &&
        curl_multi_setopt(sc_curl_uv_multi(c->cu), CURLMOPT_MAX_HOST_CONNECTIONS,
                          (long)co->max_host_connections) != CURLM_OK) {
        rc = -EINVAL;
        goto out;
    }
    if ((rc = uv_idle_init(env->loop, &c->defer)) != 0)
        goto out;
    *out = c;
    return 0;
out:
    if (c->cu != NULL) {
        /* Its timer must close before the memory goes: hand the free to its close callback. */
        c->closes_left = 1;
        sc_curl_uv_close(c->cu, cu_closed, c);
        return rc;
    }
    free(c->user_agent);
    free(c);
    return rc;
}

unsigned sc_http_client_in_flight(const sc_http_client *c)
{
    return c->in_flight;
}

void sc_http_client_get_stats(const sc_http_client *c, sc_http_client_stats *out)
{
    *out = c->stats;
}

void sc_http_client_close(sc_http_client *c, void (*closed)(void *arg), void *arg)
{
    if (c == NULL || c->closing)
        return;
    c->closing = 1;
    c->closed = closed;
    c->closed_arg = arg;
    for (sc_http_request *r = c->reqs; r != NULL; r = r->next)
        if (!r->finishing)
            r->cancelled = 1;
    schedule_defer(c);
}
