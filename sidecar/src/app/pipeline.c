/* pipeline.c - owns: building the telemetry parts in dependency order and tearing them down. */
#include "app/pipeline.h"

#include <errno.h>
#include <stdlib.h>

#include "telemetry/resource.h"

struct sc_pipeline {
    const sc_env *env;
    const sc_config *cfg;
    sc_resource *resource;
    sc_metrics *metrics;
    sc_instrument *inst[SC_METRIC__COUNT];
    sc_span_queue *spans;
    sc_recorder *recorder;
    sc_exporter *exporter;
    sc_prom_scrape *scrape;
    sc_pipeline_source_hooks hooks;
    void (*closed)(void *arg);
    void *closed_arg;
};

static void on_full(void *arg)
{
    sc_pipeline *p = arg;
    if (p->hooks.on_full != NULL)
        p->hooks.on_full(p->hooks.arg);
}

static void on_drained(void *arg)
{
    sc_pipeline *p = arg;
    if (p->hooks.on_drained != NULL)
        p->hooks.on_drained(p->hooks.arg);
}

static void on_ack(void *arg, sc_source source, uint64_t seq, int accepted)
{
    sc_pipeline *p = arg;
    if (p->hooks.on_ack != NULL)
        p->hooks.on_ack(p->hooks.arg, source, seq, accepted);
}

static sc_temporality temporality_of(const sc_config *cfg)
{
    /* "lowmemory" is delta for counters and histograms; up-down counters stay cumulative in the
     * metrics SDK whatever the registry's temporality, which is exactly the spec's rule. */
    return cfg->exporter.otlp.metrics_temporality == SC_CONFIG_TEMPORALITY_CUMULATIVE
               ? SC_TEMPORALITY_CUMULATIVE
               : SC_TEMPORALITY_DELTA;
}

static void feed_scrape(void *arg, const sc_metrics_snapshot *snap)
{
    sc_pipeline *p = arg;
    if (p->scrape != NULL)
        sc_prom_scrape_feed(p->scrape, snap);
}

static void observe_queue(void *arg)
{
    sc_pipeline *p = arg;
    sc_exporter_observe_queue(p->exporter);
}

static void free_parts(sc_pipeline *p)
{
    sc_prom_scrape_free(p->scrape);
    sc_recorder_free(p->recorder);
    sc_span_queue_free(p->spans);
    sc_metrics_free(p->metrics);
    sc_resource_free(p->resource);
    free(p);
}

static int build(sc_pipeline *p, sc_http_client *http, const char **what)
{
    const sc_config *cfg = p->cfg;
    int rc;
    *what = "resource";
    if ((rc = sc_resource_new(&p->resource, cfg, sc_config_process_getenv, NULL, p->env->rng,
                              p->env->log)) < 0)
        return rc;
    *what = "metrics";
    sc_metrics_opts mo = {
        .clock = p->env->clock, .log = p->env->log, .temporality = temporality_of(cfg)};
    if ((rc = sc_metrics_new(&p->metrics, &mo)) < 0 ||
        (rc = sc_metrics_register_schema(p->metrics, p->inst)) < 0)
        return rc;
    *what = "span queue";
    sc_span_queue_opts qo = {
        .capacity = (size_t)cfg->exporter.batch.max_queue_size,
        .on_full = on_full,
        .on_drained = on_drained,
        .on_ack = on_ack,
        .arg = p,
    };
    if ((rc = sc_span_queue_new(&p->spans, &qo)) < 0)
        return rc;
    *what = "exporter";
    sc_exporter_deps deps = {
        .env = p->env,
        .cfg = cfg,
        .http = http,
        .resource = p->resource,
        .spans = p->spans,
        .metrics = p->metrics,
        .instruments = p->inst,
        .on_metrics_snapshot = feed_scrape,
        .on_metrics_snapshot_arg = p,
    };
    if ((rc = sc_exporter_new(&p->exporter, &deps)) < 0)
        return rc;
    *what = "prometheus endpoint";
    sc_prom_scrape_opts so = {
        .metrics = p->metrics,
        .resource = p->resource,
        .temporality = temporality_of(cfg),
        .fed_by_reader = sc_exporter_metrics_enabled(p->exporter),
        .before_collect = observe_queue,
        .before_collect_arg = p,
    };
    if ((rc = sc_prom_scrape_new(&p->scrape, p->env, &so)) < 0)
        return rc;
    *what = "recorder";
    sc_recorder_opts ro = {
        .span_sampling_ratio = cfg->access_log.span_sampling_ratio, /* access-log spans only */
        .spans_disabled = !sc_exporter_traces_enabled(p->exporter),
    };
    return sc_recorder_new(&p->recorder, p->env, p->spans, p->inst, &ro);
}

static void closed_after_failed_build(void *arg)
{
    free_parts(arg);
}

int sc_pipeline_new(sc_pipeline **out, const sc_env *env, const sc_config *cfg,
                    sc_http_client *http, const char **err_what)
{
    *out = NULL;
    sc_pipeline *p = calloc(1, sizeof *p);
    if (p == NULL) {
        *err_what = "pipeline";
        return -ENOMEM;
    }
    p->env = env;
    p->cfg = cfg;
    int rc = build(p, http, err_what);
    if (rc < 0) {
        if (p->exporter != NULL) /* its handles must close on the loop before the rest goes */
            sc_exporter_close(p->exporter, closed_after_failed_build, p);
        else
            free_parts(p);
        return rc;
    }
    *out = p;
    return 0;
}

int sc_pipeline_start(sc_pipeline *p)
{
    return sc_exporter_start(p->exporter);
}

sc_recorder *sc_pipeline_recorder(sc_pipeline *p)
{
    return p->recorder;
}

sc_prom_scrape *sc_pipeline_scrape(sc_pipeline *p)
{
    return p->scrape;
}

sc_metrics *sc_pipeline_metrics(sc_pipeline *p)
{
    return p->metrics;
}

sc_instrument *sc_pipeline_instrument(sc_pipeline *p, sc_metric_id id)
{
    return id < SC_METRIC__COUNT ? p->inst[id] : NULL;
}

void sc_pipeline_set_source_hooks(sc_pipeline *p, const sc_pipeline_source_hooks *hooks)
{
    p->hooks = *hooks;
}

int sc_pipeline_healthy(const sc_pipeline *p, const char **reason)
{
    return sc_exporter_healthy(p->exporter, reason);
}

void sc_pipeline_get_stats(const sc_pipeline *p, sc_exporter_stats *exp, sc_recorder_stats *rec)
{
    if (exp != NULL)
        sc_exporter_get_stats(p->exporter, exp);
    if (rec != NULL)
        *rec = sc_recorder_get_stats(p->recorder);
}

int sc_pipeline_flush(sc_pipeline *p, uint64_t deadline_ms,
                      void (*done)(void *arg, int all_delivered), void *arg)
{
    return sc_exporter_flush(p->exporter, deadline_ms, done, arg);
}

static void exporter_closed(void *arg)
{
    sc_pipeline *p = arg;
    void (*closed)(void *) = p->closed;
    void *closed_arg = p->closed_arg;
    free_parts(p);
    if (closed != NULL)
        closed(closed_arg);
}

void sc_pipeline_close(sc_pipeline *p, void (*closed)(void *arg), void *arg)
{
    if (p == NULL)
        return;
    p->closed = closed;
    p->closed_arg = arg;
    sc_exporter_close(p->exporter, exporter_closed, p);
}
