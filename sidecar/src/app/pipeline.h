/* pipeline.h - owns: the running sidecar's telemetry pipeline: the OTel resource, the metrics
 * registry with every schema instrument, the bounded span queue, the recorder that turns source
 * records into spans and metric updates, and the exporter that ships them.
 *
 * It also owns the Prometheus scrape endpoint's state, fed by the same metric collections.
 * Sources only see the recorder (records flow down); the one source that can wait (the access
 * log) also registers hooks so the span queue can pause and resume it and acknowledge what the
 * collector accepted. The daemon drives start, flush and close. env and cfg outlive the pipeline.
 */
#ifndef SC_APP_PIPELINE_H
#define SC_APP_PIPELINE_H

#include <stdint.h>

#include "config/config.h"
#include "core/env.h"
#include "export/exporter.h"
#include "export/prom_scrape.h"
#include "loop/http_client.h"
#include "telemetry/recorder.h"

typedef struct sc_pipeline sc_pipeline;

/* Backpressure and acknowledgement for a source that can wait. All optional. */
typedef struct sc_pipeline_source_hooks {
    void (*on_full)(void *arg);    /* the span queue is full: stop producing */
    void (*on_drained)(void *arg); /* it drained below its low watermark: resume */
    void (*on_ack)(void *arg, sc_source source, uint64_t seq, int accepted);
    void *arg;
} sc_pipeline_source_hooks;

/* Builds every part from cfg. http is shared with the sources (not owned). 0 or negative errno;
 * on error nothing is left allocated and *err_what names the part that failed. */
int sc_pipeline_new(sc_pipeline **out, const sc_env *env, const sc_config *cfg,
                    sc_http_client *http, const char **err_what);
int sc_pipeline_start(sc_pipeline *p);

sc_recorder *sc_pipeline_recorder(sc_pipeline *p);
/* The Prometheus endpoint's state: route GET /metrics to sc_prom_scrape_handler with it. */
sc_prom_scrape *sc_pipeline_scrape(sc_pipeline *p);
sc_metrics *sc_pipeline_metrics(sc_pipeline *p);
sc_instrument *sc_pipeline_instrument(sc_pipeline *p, sc_metric_id id);
void sc_pipeline_set_source_hooks(sc_pipeline *p, const sc_pipeline_source_hooks *hooks);

/* Readiness: 1 unless an exported signal is wedged (then *reason says which). */
int sc_pipeline_healthy(const sc_pipeline *p, const char **reason);
void sc_pipeline_get_stats(const sc_pipeline *p, sc_exporter_stats *exp, sc_recorder_stats *rec);

/* Shutdown: export what is queued within deadline_ms; done runs exactly once unless this returns
 * a negative errno. */
int sc_pipeline_flush(sc_pipeline *p, uint64_t deadline_ms,
                      void (*done)(void *arg, int all_delivered), void *arg);

/* Closes the exporter (async), then frees everything and calls closed(arg) once. Accepts NULL. */
void sc_pipeline_close(sc_pipeline *p, void (*closed)(void *arg), void *arg);

#endif
