/* prom_scrape.h - owns: sc_prom_scrape, the Prometheus pull endpoint (GET /metrics on the health
 * listener): it turns the metrics registry into a text 0.0.4 page (prom_text.h) on each scrape,
 * with the resource as target_info.
 *
 * Temporality. Prometheus needs cumulative counters and histograms; the registry has ONE
 * temporality, and a DELTA collection resets what it reports, so whoever collects takes the
 * delta away from every other reader. Hence:
 * - CUMULATIVE registry (the default): each scrape collects, renders and releases the snapshot
 *   synchronously. A cumulative collection changes nothing in the registry, so scrapes and the
 *   OTLP metric reader never disturb each other.
 * - DELTA registry: a scrape never collects behind the OTLP reader's back. The page is rendered
 *   from an accumulator (prom_accum.h) that adds up every delta snapshot:
 *     fed_by_reader = 1 (an OTLP metric exporter runs): the metric reader's encode step calls
 *       sc_prom_scrape_feed(snapshot) before it encodes; the page is as fresh as the last
 *       collection (exporter.metrics_interval), and holds only target_info before the first;
 *     fed_by_reader = 0 (metrics exporter "none"): nobody else wants the deltas, so each scrape
 *       collects, feeds the accumulator and releases.
 *   Both the OTLP export and the page then see every measurement exactly once.
 * The registry allows one open snapshot: collections here are synchronous (collect, render or
 * merge, release) within one loop callback, like the metric reader's.
 *
 * Size. The page must fit the body buffer the health listener hands over (its
 * max_response_bytes). A page that does not is never served truncated: the scrape answers 500 with
 * a short reason, and the failure is counted and logged (at most once a minute), so Prometheus
 * marks the target down (up == 0) instead of silently losing series. Loop-thread only. */
#ifndef SC_EXPORT_PROM_SCRAPE_H
#define SC_EXPORT_PROM_SCRAPE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/env.h"
#include "export/prom_accum.h"
#include "health/health_server.h"
#include "telemetry/metrics.h"
#include "telemetry/resource.h"

#define SC_PROM_SCRAPE_PATH            "/metrics"
#define SC_PROM_SCRAPE_LOG_INTERVAL_MS 60000

typedef struct sc_prom_scrape sc_prom_scrape;

typedef struct sc_prom_scrape_opts {
    sc_metrics *metrics;         /* required; borrowed, outlives the endpoint */
    const sc_resource *resource; /* may be NULL (no target_info); borrowed */
    sc_temporality temporality;  /* the registry's (sc_metrics_opts.temporality) */
    int fed_by_reader;           /* DELTA only: 1 when the OTLP metric reader calls feed */
    size_t series_limit;         /* DELTA: per-metric series cap of the accumulator (0: default) */
    /* Optional, called right before a scrape's own collection (as the metric reader's
     * before_collect): lets the owner observe gauges such as span queue sizes. */
    void (*before_collect)(void *arg);
    void *before_collect_arg;
} sc_prom_scrape_opts;

/* env (log and clock) and everything opts points to must outlive the endpoint. 0, -EINVAL,
 * -ENOMEM. */
int sc_prom_scrape_new(sc_prom_scrape **out, const sc_env *env, const sc_prom_scrape_opts *opts);
void sc_prom_scrape_free(sc_prom_scrape *s); /* accepts NULL */

/* The metric reader's hook: call it with every snapshot the reader collects, before releasing
 * it. Merged into the accumulator in DELTA mode (0 or -ENOMEM, see prom_accum.h); a no-op
 * returning 0 for a CUMULATIVE registry, so it can be wired unconditionally. */
int sc_prom_scrape_feed(sc_prom_scrape *s, const sc_metrics_snapshot *snap);

/* Appends the page to out. 0; -ENOBUFS (out's cap: the partial page is removed, out is left as
 * it was); -EBUSY (a snapshot is open: only possible if a collection is in progress elsewhere);
 * -ENOMEM. */
int sc_prom_scrape_render(sc_prom_scrape *s, sc_buf *out);

/* An sc_health_handler (arg = the sc_prom_scrape): 200 with SC_PROM_TEXT_CONTENT_TYPE, or 500 /
 * 503 with a one-line text/plain reason. Route it with
 *     sc_health_route(health, SC_PROM_SCRAPE_PATH, sc_prom_scrape_handler, scrape); */
int sc_prom_scrape_handler(void *arg, const sc_health_request *req, sc_buf *body,
                           const char **content_type);

typedef struct sc_prom_scrape_stats {
    uint64_t scrapes;          /* pages served */
    uint64_t failed_too_large; /* -ENOBUFS */
    uint64_t failed_busy;      /* -EBUSY */
    uint64_t failed_nomem;     /* -ENOMEM */
    uint64_t dropped_metrics;  /* summed over scrapes, from sc_prom_text_stats */
    uint64_t dropped_labels;
    size_t last_bytes;         /* size of the last page served */
    size_t last_samples;       /* samples in it */
    sc_prom_accum_stats accum; /* zero unless DELTA */
} sc_prom_scrape_stats;

void sc_prom_scrape_get_stats(const sc_prom_scrape *s, sc_prom_scrape_stats *out);

#endif
