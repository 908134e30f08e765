/* prom_accum.h - owns: sc_prom_accum, a cumulative copy of metric snapshots, so the Prometheus
 * endpoint can serve cumulative counters and histograms when the registry collects DELTAs
 * (OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta). Prometheus needs cumulative values;
 * the OTel compatibility spec says delta sums and histograms SHOULD be accumulated into
 * cumulative ones, which is what this does.
 *
 * Merge rules, per series (metric name + attribute set):
 * - COUNTER and HISTOGRAM points with DELTA temporality are added (count, sum, buckets; min and
 *   max combined);
 * - every other point replaces the stored one (CUMULATIVE points, UPDOWN_COUNTER, GAUGE);
 * - a series, once seen, is kept (a delta collection forgets idle series; Prometheus must not
 *   see a counter vanish and come back from zero). start_ns is the first one seen.
 * Bounded: at most `series_limit` series per metric (the overflow series included). Points for
 * new attribute sets past that go to one series with otel.metric.overflow=true, as the SDK does
 * (totals are preserved); each is counted and the first per metric is logged. Points of a metric
 * whose kind or buckets changed, or with more than SC_ATTR_SET_MAX attributes, are dropped and
 * counted. Loop-thread only; no I/O. */
#ifndef SC_EXPORT_PROM_ACCUM_H
#define SC_EXPORT_PROM_ACCUM_H

#include <stddef.h>
#include <stdint.h>

#include "core/log.h"
#include "telemetry/metrics.h"

typedef struct sc_prom_accum sc_prom_accum;

typedef struct sc_prom_accum_stats {
    uint64_t merges;          /* snapshots merged */
    uint64_t overflow_points; /* points routed to an overflow series */
    uint64_t dropped_points;  /* points not merged (kind clash, too many attributes, no memory) */
    size_t series;            /* series held, all metrics */
} sc_prom_accum_stats;

/* series_limit >= 2 (0: SC_METRICS_DEFAULT_CARDINALITY_LIMIT). log may be NULL; it must outlive
 * the accumulator. 0, -EINVAL or -ENOMEM. */
int sc_prom_accum_new(sc_prom_accum **out, size_t series_limit, sc_log *log);
void sc_prom_accum_free(sc_prom_accum *a); /* accepts NULL */

/* Merges snap (only read during the call). 0, or -ENOMEM when some points could not be stored
 * (they are counted as dropped; everything else was merged). */
int sc_prom_accum_merge(sc_prom_accum *a, const sc_metrics_snapshot *snap);

/* A snapshot-shaped view of everything accumulated (CUMULATIVE temporality, metrics in first-seen
 * order). *out is owned by a and valid, unchanged, until the next merge, view or free.
 * 0 or -ENOMEM. */
int sc_prom_accum_view(sc_prom_accum *a, const sc_metrics_snapshot **out);

sc_prom_accum_stats sc_prom_accum_get_stats(const sc_prom_accum *a);

#endif
