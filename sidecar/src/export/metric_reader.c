/* metric_reader.c - owns: the reader's interval timer, its in-flight count and the
 * collect -> encode -> release -> send sequence. */
#include "export/metric_reader.h"

#include <errno.h>
#include <stdlib.h>

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

struct sc_metric_reader {
    const sc_env *env;
    sc_metric_reader_opts o;
    uv_timer_t timer;
    unsigned in_flight;
    uint64_t skipped;
    int closing;
    void (*closed)(void *arg);
    void *closed_arg;
};

int sc_metric_reader_collect_now(sc_metric_reader *r, int final)
{
    const sc_metrics_snapshot *snap = NULL;
    sc_buf payload;
    if (r->closing || r->in_flight >= r->o.max_concurrent + (final ? 1u : 0u)) {
        r->skipped++;
        return 0;
    }
    if (r->o.ops.before_collect != NULL)
        r->o.ops.before_collect(r->o.ops.arg);
    int rc = sc_metrics_collect(r->o.metrics, &snap);
    if (rc != 0) {
        sc_log_warn(r->env->log, "metric collection failed", SC_F_ERR("error", rc));
        return rc;
    }
    size_t n_points = snap->n_points;
    sc_buf_init(&payload, r->o.max_request_bytes);
    rc = snap->n_metrics > 0 ? r->o.ops.encode(r->o.ops.arg, snap, &payload) : -ENODATA;
    sc_metrics_snapshot_release(r->o.metrics); /* the bytes are all a retry needs */
    if (rc == 0 && payload.len == 0)
        rc = -ENODATA;
    if (rc != 0) {
        sc_buf_free(&payload);
        if (rc == -ENODATA)
            return 0;
        sc_log_warn(r->env->log, "metric export encoding failed; points dropped",
                    SC_F_ERR("error", rc), SC_F_UINT("points", n_points));
        r->o.ops.dropped(r->o.ops.arg, n_points, SC_EXPORT_DROP_EXPORT_FAILED,
                         rc == -ENOBUFS ? "too_large" : "encode");
        return rc;
    }
    rc = r->o.ops.send(r->o.ops.arg, &payload, n_points);
    sc_buf_free(&payload);
    if (rc != 0)
        return rc;
    r->in_flight++;
    return 1;
}

static void on_tick(uv_timer_t *t)
{
    sc_metric_reader_collect_now(container_of(t, sc_metric_reader, timer), 0);
}

int sc_metric_reader_start(sc_metric_reader *r)
{
    return uv_timer_start(&r->timer, on_tick, r->o.interval_ms, r->o.interval_ms);
}

void sc_metric_reader_stop(sc_metric_reader *r)
{
    uv_timer_stop(&r->timer);
}

void sc_metric_reader_complete(sc_metric_reader *r)
{
    if (r->in_flight > 0)
        r->in_flight--;
}

unsigned sc_metric_reader_in_flight(const sc_metric_reader *r)
{
    return r->in_flight;
}

uint64_t sc_metric_reader_skipped(const sc_metric_reader *r)
{
    return r->skipped;
}

static void on_closed(uv_handle_t *h)
{
    sc_metric_reader *r = container_of((uv_timer_t *)h, sc_metric_reader, timer);
    void (*closed)(void *) = r->closed;
    void *arg = r->closed_arg;
    free(r);
    if (closed != NULL)
        closed(arg);
}

void sc_metric_reader_close(sc_metric_reader *r, void (*closed)(void *arg), void *arg)
{
    if (r == NULL || r->closing)
        return;
    r->closing = 1;
    r->closed = closed;
    r->closed_arg = arg;
    uv_close((uv_handle_t *)&r->timer, on_closed);
}

int sc_metric_reader_new(sc_metric_reader **out, const sc_env *env, const sc_metric_reader_opts *o)
{
    *out = NULL;
    if (env == NULL || o == NULL || o->metrics == NULL || o->interval_ms == 0 ||
        o->max_concurrent == 0 || o->max_request_bytes == 0 || o->ops.encode == NULL ||
        o->ops.send == NULL || o->ops.dropped == NULL)
        return -EINVAL;
    sc_metric_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return -ENOMEM;
    r->env = env;
    r->o = *o;
    uv_timer_init(env->loop, &r->timer);
    *out = r;
    return 0;
}
