/* otlp_http.c - owns: the payload slots of one signal's OTLP/HTTP sender (encoded bytes, retry
 * timer, attempt state), the request options, response handling and the close sequence. */
#include "export/otlp_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "export/gzip.h"
#include "export/lograte.h"
#include "export/otlp_json.h"
#include "export/otlp_json_response.h"
#include "export/otlp_proto.h"
#include "export/otlp_proto_response.h"

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#define MSG_MAX 256

/* gzip level 1: on the access-log replay (tests/bench/README.md) zlib's default level 6 spent
 * ~41k instructions per span in deflate and level 1 ~22k, for a body only ~10% larger. */
#define GZIP_LEVEL 1

typedef struct slot {
    sc_otlp_http *h;
    uv_timer_t timer;
    int busy, aborted, finishing;
    sc_export_drop_reason finish_reason;
    sc_buf body; /* kept across payloads (emptied, not freed), as is gz */
    sc_gzip gz;
    uint64_t n_items;
    sc_http_request *req;
    unsigned attempts, retries;
    uint64_t deadline_ms; /* end of this payload's retry budget (uv_now scale) */
    uint64_t start_mono_ns;
    long last_status;
    char error_type[24];
    sc_export_done_cb done;
    void *arg;
} slot;

struct sc_otlp_http {
    const sc_env *env;
    sc_http_client *http;
    sc_otlp_http_opts o;
    char *url, *ca_file, *client_cert, *client_key;
    char **headers;
    size_t n_headers;
    slot *slots;
    unsigned busy;
    uint64_t deadline_ms;
    int failing; /* the last attempt failed: the next success is logged as a recovery */
    int closing, handles_closing;
    unsigned closes_left;
    void (*closed)(void *arg);
    void *closed_arg;
    sc_lograte lr;
};

static const char *const capture[] = {"retry-after", "content-type"};

static const char *signal_name(const sc_otlp_http *h)
{
    return h->o.signal == SC_EXPORT_TRACES ? "traces" : "metrics";
}

static void close_handles(sc_otlp_http *h);

/* ---- outcomes ----------------------------------------------------------------------------- */

/* Reports the payload and frees its slot. Runs only from loop callbacks. done may send again
 * (and reuse this slot), so nothing of the slot is touched after it. */
static void finish(slot *s, int delivered, sc_export_drop_reason reason, int64_t rejected)
{
    sc_otlp_http *h = s->h;
    char error_type[sizeof s->error_type];
    memcpy(error_type, s->error_type, sizeof error_type);
    if (!delivered && error_type[0] == '\0')
        memcpy(error_type, "cancelled", sizeof "cancelled");
    sc_export_result r = {
        .delivered = delivered,
        .reason = reason,
        .error_type = delivered ? NULL : error_type,
        .rejected = rejected,
        .http_status = s->last_status,
        .attempts = s->attempts,
        .duration_s = (double)(sc_clock_mono_ns(h->env->clock) - s->start_mono_ns) / 1e9,
    };
    sc_export_done_cb done = s->done;
    void *arg = s->arg;
    sc_buf_reset(&s->body);
    s->busy = 0;
    s->req = NULL;
    h->busy--;
    done(&r, arg);
    if (h->closing && h->busy == 0)
        close_handles(h);
}

static void on_timer(uv_timer_t *t);

/* The same, one loop turn later: for callers that must not call back synchronously. */
static void finish_later(slot *s, sc_export_drop_reason reason)
{
    s->finishing = 1;
    s->finish_reason = reason;
    uv_timer_start(&s->timer, on_timer, 0, 0);
}

/* ---- attempts ----------------------------------------------------------------------------- */

static void on_response(const sc_http_response *res, void *arg);

static int start_attempt(slot *s)
{
    sc_otlp_http *h = s->h;
    uint64_t now = uv_now(h->env->loop);
    uint64_t end = s->deadline_ms;
    if (h->deadline_ms != 0 && h->deadline_ms < end)
        end = h->deadline_ms;
    uint64_t left = end > now ? end - now : 1;
    uint32_t timeout = h->o.attempt_timeout_ms;
    if (left < timeout)
        timeout = (uint32_t)left;
    const sc_http_request_opts ro = {
        .method = "POST",
        .url = h->url,
        .headers = (const char *const *)h->headers,
        .n_headers = h->n_headers,
        .body = s->body.data,
        .body_len = s->body.len,
        .body_borrowed = 1, /* the slot holds the bytes until on_response */
        .timeout_ms = timeout,
        .connect_timeout_ms = timeout,
        .max_response_bytes = SC_OTLP_MAX_RESPONSE_BYTES,
        .capture_headers = capture,
        .n_capture = sizeof capture / sizeof capture[0],
        .ca_file = h->ca_file,
        .client_cert = h->client_cert,
        .client_key = h->client_key,
        .on_done = on_response,
        .arg = s,
    };
    return sc_http_client_start_request(h->http, &ro, &s->req);
}

static int transient(int rc)
{
    return rc == -ENOBUFS || rc == -EAGAIN || rc == -ENOMEM;
}

static void log_failure(sc_otlp_http *h, const slot *s, const char *what, const char *detail,
                        uint64_t delay_ms)
{
    char cause[64];
    uint64_t suppressed = 0;
    snprintf(cause, sizeof cause, "%s %s", what, s->error_type);
    if (!sc_lograte_allow(&h->lr, cause, uv_now(h->env->loop), &suppressed))
        return;
    sc_log_warn(h->env->log, what, SC_F_STR("signal", signal_name(h)),
                SC_F_STR("error_type", s->error_type), SC_F_INT("http_status", s->last_status),
                SC_F_STR("detail", detail != NULL ? detail : ""), SC_F_UINT("items", s->n_items),
                SC_F_UINT("attempts", s->attempts), SC_F_UINT("retry_in_ms", delay_ms),
                SC_F_UINT("suppressed_logs", suppressed));
}

/* After a retryable failure: waits (Retry-After or backoff) unless that passes a deadline. */
static void schedule_retry(slot *s, const char *retry_after, const char *detail)
{
    sc_otlp_http *h = s->h;
    uint64_t now = uv_now(h->env->loop);
    uint64_t wall_s = sc_clock_wall_ns(h->env->clock) / 1000000000u;
    int from_server = 0;
    uint64_t delay =
        sc_backoff_next_ms(&h->o.backoff, s->retries, sc_rng_unit(h->env->rng), retry_after,
                           retry_after != NULL ? strlen(retry_after) : 0, wall_s, &from_server);
    if (h->deadline_ms != 0 && now + delay >= h->deadline_ms) {
        finish_later(s, SC_EXPORT_DROP_SHUTDOWN);
        return;
    }
    if (now + delay >= s->deadline_ms) {
        log_failure(h, s, "otlp export failed; retry budget exhausted, payload dropped", detail, 0);
        finish_later(s, SC_EXPORT_DROP_RETRY_EXHAUSTED);
        return;
    }
    s->retries++;
    log_failure(h, s,
                from_server ? "otlp export throttled; retrying after Retry-After"
                            : "otlp export failed; retrying",
                detail, delay);
    uv_timer_start(&s->timer, on_timer, delay, 0);
}

static void on_timer(uv_timer_t *t)
{
    slot *s = container_of(t, slot, timer);
    if (s->finishing) {
        s->finishing = 0;
        finish(s, 0, s->finish_reason, 0);
        return;
    }
    if (s->aborted) {
        finish(s, 0, SC_EXPORT_DROP_SHUTDOWN, 0);
        return;
    }
    int rc = start_attempt(s);
    if (rc == 0)
        return;
    snprintf(s->error_type, sizeof s->error_type, "%s", "client_busy");
    if (transient(rc))
        schedule_retry(s, NULL, sc_log_strerror(rc));
    else
        finish(s, 0, rc == -ESHUTDOWN ? SC_EXPORT_DROP_SHUTDOWN : SC_EXPORT_DROP_EXPORT_FAILED, 0);
}

/* The response's own Content-Type decides how to read it; the request's when it has none. */
static int response_is_json(const sc_http_response *res, int request_json)
{
    const char *ct = sc_http_response_header(res, "content-type");
    if (ct != NULL && strncasecmp(ct, "application/json", 16) == 0)
        return 1;
    if (ct != NULL && strncasecmp(ct, "application/x-protobuf", 22) == 0)
        return 0;
    return request_json;
}

static int decode_response(const sc_otlp_http *h, const sc_http_response *res, int64_t *rejected,
                           char *msg)
{
    int json = response_is_json(res, h->o.json);
    if (h->o.signal == SC_EXPORT_TRACES)
        return json ? sc_otlp_json_decode_trace_response(res->body, res->body_len, rejected, msg,
                                                         MSG_MAX)
                    : sc_otlp_proto_decode_trace_response(res->body, res->body_len, rejected, msg,
                                                          MSG_MAX);
    return json ? sc_otlp_json_decode_metrics_response(res->body, res->body_len, rejected, msg,
                                                       MSG_MAX)
                : sc_otlp_proto_decode_metrics_response(res->body, res->body_len, rejected, msg,
                                                        MSG_MAX);
}

static void on_success(slot *s, const sc_http_response *res)
{
    sc_otlp_http *h = s->h;
    int64_t rejected = 0;
    char msg[MSG_MAX] = "";
    uint64_t now = uv_now(h->env->loop);
    if (res->error == SC_HTTP_OK && res->body_len > 0 &&
        decode_response(h, res, &rejected, msg) != 0) {
        rejected = 0;
        if (sc_lograte_allow(&h->lr, "undecodable response", now, NULL))
            sc_log_warn(h->env->log, "otlp export response not understood; counted as accepted",
                        SC_F_STR("signal", signal_name(h)), SC_F_UINT("bytes", res->body_len));
    }
    if (rejected < 0)
        rejected = 0;
    if (h->failing) {
        h->failing = 0;
        sc_lograte_reset(&h->lr);
        sc_log_info(h->env->log, "otlp export succeeded again", SC_F_STR("signal", signal_name(h)),
                    SC_F_UINT("attempts", s->attempts));
    }
    if (rejected > 0 || msg[0] != '\0') {
        char cause[MSG_MAX + 16];
        snprintf(cause, sizeof cause, "partial %s", msg);
        if (sc_lograte_allow(&h->lr, cause, now, NULL))
            sc_log_warn(h->env->log, "otlp export partially rejected by the receiver",
                        SC_F_STR("signal", signal_name(h)), SC_F_INT("rejected", rejected),
                        SC_F_UINT("items", s->n_items), SC_F_STR("error_message", msg));
    }
    finish(s, 1, SC_EXPORT_DROP__COUNT, rejected);
}

static void on_response(const sc_http_response *res, void *arg)
{
    slot *s = arg;
    sc_otlp_http *h = s->h;
    s->req = NULL;
    s->attempts++;
    s->last_status = res->status;
    sc_backoff_error_type(res->error, res->status, s->error_type, sizeof s->error_type);
    if (s->aborted) {
        finish(s, 0, SC_EXPORT_DROP_SHUTDOWN, 0);
        return;
    }
    sc_backoff_class cls = sc_backoff_classify(res->error, res->status);
    if (h->o.on_attempt != NULL)
        h->o.on_attempt(h->o.attempt_arg, cls == SC_BACKOFF_SUCCESS);
    if (cls == SC_BACKOFF_SUCCESS) {
        on_success(s, res);
        return;
    }
    h->failing = 1;
    if (cls == SC_BACKOFF_PERMANENT) {
        log_failure(h, s, "otlp export refused; payload dropped, not retried", res->error_detail,
                    0);
        finish(s, 0, SC_EXPORT_DROP_NON_RETRYABLE, 0);
        return;
    }
    schedule_retry(s, sc_http_response_header(res, "retry-after"), res->error_detail);
}

/* ---- public ------------------------------------------------------------------------------- */

static slot *free_slot(sc_otlp_http *h)
{
    for (unsigned i = 0; i < h->o.slots; i++)
        if (!h->slots[i].busy)
            return &h->slots[i];
    return NULL;
}

/* Moves (or compresses) the caller's payload into the slot. Moving swaps buffers: the caller
 * gets the slot's emptied allocation back, so a caller that keeps its sc_buf (the span batcher)
 * and the slots pass the same few allocations around instead of one per request. Compressing
 * reuses the slot's body and deflate state; the caller keeps its buffer, emptied. */
static int take_payload(sc_otlp_http *h, slot *s, sc_buf *payload)
{
    int rc = 0;
    sc_buf_reset(&s->body);
    if (h->o.gzip) {
        /* Deflate never grows data by more than a small fraction plus a header. */
        s->body.max = payload->len + payload->len / 16 + 1024;
        rc = sc_gzip_deflate(&s->gz, payload->data, payload->len, GZIP_LEVEL, &s->body);
        if (rc != 0)
            sc_buf_reset(&s->body);
        sc_buf_reset(payload);
    } else {
        sc_buf spare = s->body;
        spare.max = payload->max;
        s->body = *payload;
        *payload = spare;
    }
    return rc;
}

int sc_otlp_http_send(sc_otlp_http *h, sc_buf *payload, uint64_t n_items, sc_export_done_cb done,
                      void *arg)
{
    slot *s = NULL;
    int rc;
    if (h->closing) {
        rc = -ESHUTDOWN;
        goto out;
    }
    if (payload->len == 0 || done == NULL) {
        rc = -EINVAL;
        goto out;
    }
    if ((s = free_slot(h)) == NULL) {
        rc = -EBUSY;
        goto out;
    }
    if ((rc = take_payload(h, s, payload)) != 0)
        goto out;
    s->busy = 1;
    s->aborted = s->finishing = 0;
    s->n_items = n_items;
    s->attempts = s->retries = 0;
    s->last_status = 0;
    s->error_type[0] = '\0';
    s->done = done;
    s->arg = arg;
    s->start_mono_ns = sc_clock_mono_ns(h->env->clock);
    s->deadline_ms = uv_now(h->env->loop) + h->o.budget_ms;
    h->busy++;
    rc = start_attempt(s);
    if (rc == 0)
        return 0;
    if (transient(rc)) {
        snprintf(s->error_type, sizeof s->error_type, "%s", "client_busy");
        schedule_retry(s, NULL, sc_log_strerror(rc));
        return 0;
    }
    sc_buf_reset(&s->body);
    s->busy = 0;
    h->busy--;
    return rc;
out:
    sc_buf_free(payload);
    return rc;
}

unsigned sc_otlp_http_in_flight(const sc_otlp_http *h)
{
    return h->busy;
}

unsigned sc_otlp_http_slots(const sc_otlp_http *h)
{
    return h->o.slots;
}

void sc_otlp_http_set_deadline(sc_otlp_http *h, uint64_t deadline_ms)
{
    h->deadline_ms = deadline_ms;
}

void sc_otlp_http_abort(sc_otlp_http *h)
{
    for (unsigned i = 0; i < h->o.slots; i++) {
        slot *s = &h->slots[i];
        if (!s->busy || s->aborted)
            continue;
        s->aborted = 1;
        if (s->req != NULL)
            sc_http_request_cancel(s->req); /* on_response finishes it */
        else if (!s->finishing)
            finish_later(s, SC_EXPORT_DROP_SHUTDOWN);
    }
}

static void sender_free(sc_otlp_http *h)
{
    for (unsigned i = 0; h->slots != NULL && i < h->o.slots; i++) {
        sc_buf_free(&h->slots[i].body);
        sc_gzip_free(&h->slots[i].gz);
    }
    for (size_t i = 0; i < h->n_headers; i++)
        free(h->headers[i]);
    free(h->headers);
    free(h->url);
    free(h->ca_file);
    free(h->client_cert);
    free(h->client_key);
    free(h->slots);
    free(h);
}

static void on_timer_closed(uv_handle_t *hd)
{
    slot *s = container_of((uv_timer_t *)hd, slot, timer);
    sc_otlp_http *h = s->h;
    if (--h->closes_left > 0)
        return;
    void (*closed)(void *) = h->closed;
    void *arg = h->closed_arg;
    sender_free(h);
    if (closed != NULL)
        closed(arg);
}

static void close_handles(sc_otlp_http *h)
{
    if (h->handles_closing)
        return;
    h->handles_closing = 1;
    h->closes_left = h->o.slots;
    for (unsigned i = 0; i < h->o.slots; i++)
        uv_close((uv_handle_t *)&h->slots[i].timer, on_timer_closed);
}

void sc_otlp_http_close(sc_otlp_http *h, void (*closed)(void *arg), void *arg)
{
    if (h == NULL || h->closing)
        return;
    h->closing = 1;
    h->closed = closed;
    h->closed_arg = arg;
    sc_otlp_http_abort(h);
    if (h->busy == 0)
        close_handles(h);
}

static int dup_opt(char **dst, const char *src)
{
    if (src == NULL)
        return 0;
    *dst = strdup(src);
    return *dst != NULL ? 0 : -ENOMEM;
}

static int copy_opts(sc_otlp_http *h, const sc_otlp_http_opts *o)
{
    int rc;
    if ((rc = dup_opt(&h->url, o->url)) != 0 || (rc = dup_opt(&h->ca_file, o->ca_file)) != 0 ||
        (rc = dup_opt(&h->client_cert, o->client_cert)) != 0 ||
        (rc = dup_opt(&h->client_key, o->client_key)) != 0)
        return rc;
    h->headers = calloc(o->n_headers + 1, sizeof *h->headers);
    if (h->headers == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < o->n_headers; i++, h->n_headers++)
        if ((rc = dup_opt(&h->headers[i], o->headers[i])) != 0)
            return rc;
    h->o.url = h->o.ca_file = h->o.client_cert = h->o.client_key = NULL;
    h->o.headers = NULL;
    return 0;
}

int sc_otlp_http_new(sc_otlp_http **out, const sc_env *env, sc_http_client *http,
                     const sc_otlp_http_opts *o)
{
    int rc;
    *out = NULL;
    if (env == NULL || http == NULL || o == NULL || o->url == NULL || o->slots == 0 ||
        o->attempt_timeout_ms == 0)
        return -EINVAL;
    sc_otlp_http *h = calloc(1, sizeof *h);
    if (h == NULL)
        return -ENOMEM;
    h->env = env;
    h->http = http;
    h->o = *o;
    if (h->o.budget_ms == 0)
        h->o.budget_ms = 1; /* still one attempt: attempts are cut to the budget, not skipped */
    h->slots = calloc(o->slots, sizeof *h->slots);
    if (h->slots == NULL || (rc = copy_opts(h, o)) != 0) {
        rc = -ENOMEM;
        sender_free(h);
        return rc;
    }
    for (unsigned i = 0; i < o->slots; i++) {
        h->slots[i].h = h;
        sc_buf_init(&h->slots[i].body, 0);
        sc_gzip_init(&h->slots[i].gz);
        uv_timer_init(env->loop, &h->slots[i].timer); /* cannot fail for a valid loop */
    }
    *out = h;
    return 0;
}
