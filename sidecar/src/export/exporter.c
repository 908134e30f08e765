/* exporter.c - owns: the wiring of the two export lanes (traces, metrics) to their encoders and
 * transports, the per-payload job table, and the flush and close state machines. */
#include "export/exporter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "export/batch.h"
#include "export/export_config.h"
#include "export/file_exporter.h"
#include "export/metric_reader.h"
#include "export/otlp_http.h"
#include "export/otlp_json.h"
#include "export/otlp_proto.h"

typedef struct lane lane;

/* One payload in flight on a lane; the pool size is the lane's concurrency cap. */
typedef struct job {
    lane *l;
    size_t n;
    uint32_t token;
    int busy;
} job;

struct lane {
    sc_exporter *e;
    sc_export_signal id;
    sc_export_sink sink;
    int json;
    sc_otlp_http *otlp;
    sc_file_exporter *fx; /* borrowed from the exporter's writers */
    job *jobs;
    unsigned n_jobs;
};

struct sc_exporter {
    const sc_env *env;
    sc_exporter_deps d;
    sc_exporter_tuning t;
    sc_export_config cfg;
    sc_export_stats stats;
    lane traces, metrics;
    sc_file_exporter *file_fx, *console_fx;
    sc_batch *batch;
    sc_metric_reader *reader;
    uv_timer_t timer; /* flush checks and deadline; the deferred close step */
    uint64_t started_ns;
    int flushing, flush_requested, flush_failed, closing;
    uint64_t flush_deadline_ms;
    void (*flush_done)(void *arg, int all_delivered);
    void *flush_arg;
    unsigned pending_closes;
    void (*closed)(void *arg);
    void *closed_arg;
};

static void check_flush(sc_exporter *e);

/* ---- sending ------------------------------------------------------------------------------ */

static void lost(lane *l, uint64_t n, sc_export_drop_reason reason, const char *error_type)
{
    sc_export_stats_lost(&l->e->stats, l->id, n, reason, error_type);
    if (l->e->flushing)
        l->e->flush_failed = 1;
}

static void on_otlp_attempt(void *arg, int ok)
{
    lane *l = arg;
    sc_export_stats_attempt(&l->e->stats, l->id, ok);
}

static void on_job_done(const sc_export_result *r, void *arg)
{
    job *j = arg;
    lane *l = j->l;
    sc_exporter *e = l->e;
    size_t n = j->n;
    uint32_t token = j->token;
    j->busy = 0;
    e->stats.sig[l->id].st.in_flight--;
    if (l->sink != SC_EXPORT_SINK_OTLP)
        sc_export_stats_attempt(&e->stats, l->id, r->delivered);
    if (!sc_export_stats_result(&e->stats, l->id, n, r) && e->flushing)
        e->flush_failed = 1;
    if (l->id == SC_EXPORT_TRACES)
        sc_batch_complete(e->batch, token, r->delivered);
    else
        sc_metric_reader_complete(e->reader);
    check_flush(e);
}

static const char *send_error_type(const lane *l, int rc)
{
    switch (rc) {
    case -ESHUTDOWN:
        return "shutdown";
    case -ENOBUFS:
        return l->sink == SC_EXPORT_SINK_OTLP ? "too_large" : "queue_full";
    case -ENOMEM:
        return "out_of_memory";
    default:
        return "send_failed";
    }
}

static int lane_send(lane *l, sc_buf *payload, size_t n, uint32_t token)
{
    job *j = NULL;
    int rc;
    for (unsigned i = 0; i < l->n_jobs && j == NULL; i++)
        if (!l->jobs[i].busy)
            j = &l->jobs[i];
    if (j == NULL) {
        sc_buf_free(payload);
        rc = -EBUSY;
        goto out;
    }
    *j = (job){.l = l, .n = n, .token = token, .busy = 1};
    if (l->sink == SC_EXPORT_SINK_OTLP)
        rc = sc_otlp_http_send(l->otlp, payload, n, on_job_done, j);
    else
        rc = sc_file_exporter_write(l->fx, payload, on_job_done, j);
    if (rc == 0) {
        l->e->stats.sig[l->id].st.in_flight++;
        return 0;
    }
    j->busy = 0;
out:
    lost(l, n, rc == -ESHUTDOWN ? SC_EXPORT_DROP_SHUTDOWN : SC_EXPORT_DROP_EXPORT_FAILED,
         send_error_type(l, rc));
    return rc;
}

static int span_encode(void *arg, const sc_span_batch *spans, sc_buf *out)
{
    sc_exporter *e = arg;
    return e->traces.json ? sc_otlp_json_encode_traces(e->d.resource, spans, out)
                          : sc_otlp_proto_encode_traces(e->d.resource, spans, out);
}

static int span_send(void *arg, sc_buf *payload, size_t n, uint32_t token)
{
    sc_exporter *e = arg;
    return lane_send(&e->traces, payload, n, token);
}

static void span_dropped(void *arg, size_t n, sc_export_drop_reason reason, const char *etype)
{
    sc_exporter *e = arg;
    lost(&e->traces, n, reason, etype);
}

static int metric_encode(void *arg, const sc_metrics_snapshot *snap, sc_buf *out)
{
    sc_exporter *e = arg;
    if (e->d.on_metrics_snapshot != NULL)
        e->d.on_metrics_snapshot(e->d.on_metrics_snapshot_arg, snap);
    return e->metrics.json ? sc_otlp_json_encode_metrics(e->d.resource, snap, out)
                           : sc_otlp_proto_encode_metrics(e->d.resource, snap, out);
}

static int metric_send(void *arg, sc_buf *payload, size_t n_points)
{
    sc_exporter *e = arg;
    return lane_send(&e->metrics, payload, n_points, 0);
}

static void metric_dropped(void *arg, size_t n, sc_export_drop_reason reason, const char *etype)
{
    sc_exporter *e = arg;
    lost(&e->metrics, n, reason, etype);
}

static void before_collect(void *arg)
{
    sc_exporter *e = arg;
    if (e->batch != NULL)
        sc_export_stats_queue(&e->stats, sc_span_queue_size(e->d.spans),
                              sc_span_queue_capacity(e->d.spans));
}

/* ---- public: counters, stats, health ------------------------------------------------------ */

int sc_exporter_traces_enabled(const sc_exporter *e)
{
    return e->traces.sink != SC_EXPORT_SINK_NONE;
}

int sc_exporter_metrics_enabled(const sc_exporter *e)
{
    return e->metrics.sink != SC_EXPORT_SINK_NONE;
}

void sc_exporter_observe_queue(sc_exporter *e)
{
    before_collect(e);
}

void sc_exporter_count_drop(sc_exporter *e, sc_export_drop_reason reason, uint64_t n)
{
    sc_export_stats_lost(&e->stats, SC_EXPORT_TRACES, n, reason, NULL);
}

void sc_exporter_note_drop(sc_exporter *e, sc_export_drop_reason reason, uint64_t n)
{
    sc_export_stats_note(&e->stats, SC_EXPORT_TRACES, n, reason);
}

void sc_exporter_get_stats(const sc_exporter *e, sc_exporter_stats *out)
{
    out->traces = e->stats.sig[SC_EXPORT_TRACES].st;
    out->metrics = e->stats.sig[SC_EXPORT_METRICS].st;
}

/* Spans waiting for a whole window without any export starting: the processor is stuck. */
static const char *stuck(const sc_exporter *e)
{
    if (e->batch == NULL || e->started_ns == 0 || sc_span_queue_pending(e->d.spans) == 0)
        return NULL;
    uint64_t last = sc_batch_last_export_ns(e->batch);
    if (last < e->started_ns)
        last = e->started_ns;
    uint64_t now = sc_clock_mono_ns(e->env->clock);
    if (now - last <= e->stats.sig[SC_EXPORT_TRACES].window_ns)
        return NULL;
    return "traces: spans pending but no export started for 3 x (schedule_delay + "
           "export_timeout)";
}

int sc_exporter_healthy(const sc_exporter *e, const char **reason)
{
    const char *why = NULL;
    if (e->traces.sink != SC_EXPORT_SINK_NONE)
        why = sc_export_stats_wedged(&e->stats, SC_EXPORT_TRACES);
    if (why == NULL)
        why = stuck(e);
    if (why == NULL && e->metrics.sink != SC_EXPORT_SINK_NONE)
        why = sc_export_stats_wedged(&e->stats, SC_EXPORT_METRICS);
    if (reason != NULL)
        *reason = why != NULL ? why : "ok";
    return why == NULL;
}

/* ---- flush -------------------------------------------------------------------------------- */

static int flush_complete(const sc_exporter *e)
{
    if (e->batch != NULL &&
        (sc_span_queue_pending(e->d.spans) > 0 || sc_batch_in_flight(e->batch) > 0))
        return 0;
    return e->reader == NULL || sc_metric_reader_in_flight(e->reader) == 0;
}

static void finish_flush(sc_exporter *e, int all_delivered)
{
    void (*done)(void *, int) = e->flush_done;
    e->flushing = 0;
    e->flush_done = NULL;
    if (!e->closing)
        uv_timer_stop(&e->timer);
    if (done != NULL)
        done(e->flush_arg, all_delivered);
}

/* The deadline: nothing new starts, everything in flight is cancelled (and counted as shutdown
 * drops as it completes). done is not held back for those completions. */
static void give_up(sc_exporter *e)
{
    if (e->batch != NULL)
        sc_batch_stop(e->batch);
    if (e->traces.otlp != NULL)
        sc_otlp_http_abort(e->traces.otlp);
    if (e->metrics.otlp != NULL)
        sc_otlp_http_abort(e->metrics.otlp);
    sc_log_warn(e->env->log, "export flush deadline reached; in-flight exports cancelled",
                SC_F_UINT("spans_pending", e->d.spans ? sc_span_queue_pending(e->d.spans) : 0),
                SC_F_UINT("payloads_in_flight", e->stats.sig[SC_EXPORT_TRACES].st.in_flight +
                                                    e->stats.sig[SC_EXPORT_METRICS].st.in_flight));
    finish_flush(e, 0);
}

static void on_flush_timer(uv_timer_t *t)
{
    sc_exporter *e = t->data;
    uint64_t now = uv_now(e->env->loop);
    if (!e->flushing)
        return;
    if (flush_complete(e))
        finish_flush(e, !e->flush_failed);
    else if (now >= e->flush_deadline_ms)
        give_up(e);
    else
        uv_timer_start(&e->timer, on_flush_timer, e->flush_deadline_ms - now, 0);
}

static void check_flush(sc_exporter *e)
{
    if (e->flushing && !e->closing && flush_complete(e))
        finish_flush(e, !e->flush_failed);
}

int sc_exporter_flush(sc_exporter *e, uint64_t deadline_ms,
                      void (*done)(void *arg, int all_delivered), void *arg)
{
    if (e->closing)
        return -ESHUTDOWN;
    if (e->flush_requested)
        return -EALREADY;
    e->flush_requested = e->flushing = 1;
    e->flush_done = done;
    e->flush_arg = arg;
    e->flush_deadline_ms = uv_now(e->env->loop) + deadline_ms;
    if (e->traces.otlp != NULL)
        sc_otlp_http_set_deadline(e->traces.otlp, e->flush_deadline_ms);
    if (e->metrics.otlp != NULL)
        sc_otlp_http_set_deadline(e->metrics.otlp, e->flush_deadline_ms);
    if (e->batch != NULL)
        sc_batch_drain(e->batch);
    if (e->reader != NULL) {
        sc_metric_reader_stop(e->reader);
        sc_metric_reader_collect_now(e->reader, 1);
    }
    /* The first check runs from the loop, so done never runs inside this call. */
    return uv_timer_start(&e->timer, on_flush_timer, 0, 0);
}

/* ---- close -------------------------------------------------------------------------------- */

static void on_part_closed(void *arg)
{
    sc_exporter *e = arg;
    if (--e->pending_closes > 0)
        return;
    void (*closed)(void *) = e->closed;
    void *carg = e->closed_arg;
    free(e->traces.jobs);
    free(e->metrics.jobs);
    sc_export_config_free(&e->cfg);
    free(e);
    if (closed != NULL)
        closed(carg);
}

static void on_timer_closed(uv_handle_t *h)
{
    on_part_closed(h->data);
}

/* Second step: every transport is gone, so nothing is in flight; the spans still queued are
 * given back as dropped, then the processor, reader and timer close. */
static void close_rest(sc_exporter *e)
{
    if (e->flush_done != NULL)
        finish_flush(e, 0);
    if (e->batch != NULL) {
        size_t n = sc_batch_drop_pending(e->batch, SC_EXPORT_DROP_SHUTDOWN);
        if (n > 0)
            sc_log_warn(e->env->log, "spans still queued at shutdown dropped",
                        SC_F_UINT("spans", n));
    }
    e->pending_closes = 1;
    if (e->batch != NULL) {
        e->pending_closes++;
        sc_batch_close(e->batch, on_part_closed, e);
    }
    if (e->reader != NULL) {
        e->pending_closes++;
        sc_metric_reader_close(e->reader, on_part_closed, e);
    }
    uv_close((uv_handle_t *)&e->timer, on_timer_closed);
}

static void on_transport_closed(void *arg)
{
    sc_exporter *e = arg;
    if (--e->pending_closes == 0)
        close_rest(e);
}

static void on_close_timer(uv_timer_t *t)
{
    close_rest(t->data);
}

void sc_exporter_close(sc_exporter *e, void (*closed)(void *arg), void *arg)
{
    if (e == NULL || e->closing)
        return;
    e->closing = 1;
    e->closed = closed;
    e->closed_arg = arg;
    uv_timer_stop(&e->timer);
    if (e->batch != NULL)
        sc_batch_stop(e->batch);
    if (e->reader != NULL)
        sc_metric_reader_stop(e->reader);
    e->pending_closes = 0;
    sc_otlp_http *otlp[] = {e->traces.otlp, e->metrics.otlp};
    for (size_t i = 0; i < 2; i++) {
        if (otlp[i] == NULL)
            continue;
        e->pending_closes++;
        sc_otlp_http_close(otlp[i], on_transport_closed, e);
    }
    sc_file_exporter *fx[] = {e->file_fx, e->console_fx};
    for (size_t i = 0; i < 2; i++) {
        if (fx[i] == NULL)
            continue;
        e->pending_closes++;
        sc_file_exporter_close(fx[i], on_transport_closed, e);
    }
    if (e->pending_closes == 0)
        uv_timer_start(&e->timer, on_close_timer, 0, 0); /* never call back from in here */
}

/* ---- creation ----------------------------------------------------------------------------- */

static int make_writer(sc_exporter *e, lane *l)
{
    int file = l->sink == SC_EXPORT_SINK_FILE;
    sc_file_exporter **slot = file ? &e->file_fx : &e->console_fx;
    if (*slot == NULL) {
        const sc_file_exporter_opts fo = {
            .path = file ? e->cfg.file_path : NULL,
            .fd = e->t.console_fd > 0 ? e->t.console_fd : 1,
            .max_queued = e->t.file_queue,
        };
        int rc = sc_file_exporter_new(slot, e->env, &fo);
        if (rc != 0) {
            sc_log_error(e->env->log, "export file could not be opened",
                         SC_F_STR("path", file ? e->cfg.file_path : "(stdout)"),
                         SC_F_ERR("error", rc));
            return rc;
        }
    }
    l->fx = *slot;
    return 0;
}

static int make_otlp(sc_exporter *e, lane *l, const sc_export_lane_config *c, unsigned slots)
{
    const sc_otlp_http_opts o = {
        .signal = l->id,
        .json = c->json,
        .gzip = c->gzip,
        .url = c->url,
        .headers = (const char *const *)c->headers,
        .n_headers = c->n_headers,
        .attempt_timeout_ms = c->attempt_timeout_ms,
        .budget_ms = c->budget_ms,
        .ca_file = c->ca_file,
        .client_cert = c->client_cert,
        .client_key = c->client_key,
        .backoff = e->t.backoff,
        .slots = slots,
        .on_attempt = on_otlp_attempt,
        .attempt_arg = l,
    };
    return sc_otlp_http_new(&l->otlp, e->env, e->d.http, &o);
}

static int make_lane(sc_exporter *e, lane *l, sc_export_signal id, unsigned slots)
{
    const sc_export_lane_config *c = id == SC_EXPORT_TRACES ? &e->cfg.traces : &e->cfg.metrics;
    l->e = e;
    l->id = id;
    l->sink = c->sink;
    l->json = c->json;
    sc_export_stats_set_window(&e->stats, id, c->window_ms);
    sc_export_stats_set_identity(&e->stats, id, c->component_type, c->server_address,
                                 c->server_port);
    if (l->sink == SC_EXPORT_SINK_NONE)
        return 0;
    if (e->d.resource == NULL || (l->sink == SC_EXPORT_SINK_OTLP && e->d.http == NULL))
        return -EINVAL;
    l->jobs = calloc(slots, sizeof *l->jobs);
    if (l->jobs == NULL)
        return -ENOMEM;
    l->n_jobs = slots;
    return l->sink == SC_EXPORT_SINK_OTLP ? make_otlp(e, l, c, slots) : make_writer(e, l);
}

static int make_pipelines(sc_exporter *e, unsigned mc)
{
    if (e->traces.sink != SC_EXPORT_SINK_NONE) {
        const sc_batch_opts bo = {
            .queue = e->d.spans,
            .max_batch = e->cfg.max_batch,
            .schedule_delay_ms = e->cfg.schedule_delay_ms,
            .max_concurrent = mc,
            .max_request_bytes = SC_OTLP_MAX_REQUEST_BYTES,
            .ops = {span_encode, span_send, span_dropped, e},
        };
        int rc = e->d.spans == NULL ? -EINVAL : sc_batch_new(&e->batch, e->env, &bo);
        if (rc != 0)
            return rc;
    }
    if (e->metrics.sink != SC_EXPORT_SINK_NONE) {
        const sc_metric_reader_opts ro = {
            .metrics = e->d.metrics,
            .interval_ms = e->cfg.metrics_interval_ms,
            .max_concurrent = mc,
            .max_request_bytes = SC_OTLP_MAX_REQUEST_BYTES,
            .ops = {before_collect, metric_encode, metric_send, metric_dropped, e},
        };
        return e->d.metrics == NULL ? -EINVAL : sc_metric_reader_new(&e->reader, e->env, &ro);
    }
    return 0;
}

static const char *sink_name(sc_export_sink s)
{
    static const char *const names[] = {"none", "otlp", "file", "console"};
    return names[s];
}

int sc_exporter_new(sc_exporter **out, const sc_exporter_deps *deps)
{
    int rc;
    *out = NULL;
    if (deps == NULL || deps->env == NULL || deps->cfg == NULL)
        return -EINVAL;
    sc_exporter *e = calloc(1, sizeof *e);
    if (e == NULL)
        return -ENOMEM;
    e->env = deps->env;
    e->d = *deps;
    if (deps->tuning != NULL)
        e->t = *deps->tuning;
    if (e->t.backoff.initial_ms == 0 && e->t.backoff.max_ms == 0)
        sc_backoff_policy_default(&e->t.backoff);
    unsigned mc = e->t.max_concurrent ? e->t.max_concurrent : SC_EXPORTER_DEFAULT_CONCURRENCY;
    uv_timer_init(e->env->loop, &e->timer);
    e->timer.data = e;
    if ((rc = sc_export_config_from(&e->cfg, deps->cfg)) != 0 ||
        (rc = sc_export_stats_init(&e->stats, e->env->clock, deps->metrics, deps->instruments)) !=
            0 ||
        (rc = make_lane(e, &e->traces, SC_EXPORT_TRACES, mc)) != 0 ||
        (rc = make_lane(e, &e->metrics, SC_EXPORT_METRICS, mc + 1)) != 0 ||
        (rc = make_pipelines(e, mc)) != 0) {
        /* The parts own handles, so undoing them is the regular asynchronous close. */
        sc_log_error(e->env->log, "exporter setup failed", SC_F_ERR("error", rc));
        sc_exporter_close(e, NULL, NULL);
        return rc;
    }
    *out = e;
    return 0;
}

int sc_exporter_start(sc_exporter *e)
{
    int rc = 0;
    if (e->closing)
        return -ESHUTDOWN;
    e->started_ns = sc_clock_mono_ns(e->env->clock);
    if (e->batch != NULL && (rc = sc_batch_start(e->batch)) != 0)
        return rc;
    if (e->reader != NULL && (rc = sc_metric_reader_start(e->reader)) != 0)
        return rc;
    sc_log_info(e->env->log, "exporter started", SC_F_STR("traces", sink_name(e->traces.sink)),
                SC_F_STR("metrics", sink_name(e->metrics.sink)),
                SC_F_BOOL("traces_json", e->traces.json),
                SC_F_BOOL("metrics_json", e->metrics.json));
    return 0;
}
