/* metrics.h - owns: sc_metrics, a small OpenTelemetry metrics SDK (registry, instruments, series
 * keyed by attribute set, cardinality limits, temporality, and the collection snapshot exporters
 * encode). No I/O.
 *
 * Instruments (sc_metric_kind, schema.h): COUNTER (monotonic int64 sum), UPDOWN_COUNTER (int64
 * sum), GAUGE (double, last value), HISTOGRAM (double, explicit buckets: bucket i counts values
 * in (bounds[i-1], bounds[i]], the last bucket (bounds[n-1], +inf); count, sum, min, max).
 *
 * Series. A measurement's attribute set is canonicalised (sorted by key, later duplicates win)
 * and hashed, so {a,b} and {b,a} are one series. Recording into an existing series allocates
 * nothing; a new series is one allocation holding its own deep copy of the attributes.
 *
 * Cardinality limit (per instrument, default 2000, counted including the overflow series): once
 * limit-1 series exist, measurements for NEW attribute sets go to a single overflow series whose
 * only attribute is otel.metric.overflow=true; totals are preserved. Each such measurement is
 * counted (sc_metrics_get_stats) and the first per instrument is logged.
 *
 * Temporality (registry-wide, as an OTLP exporter's temporality preference):
 * - CUMULATIVE (default): every series is reported on every collection with start_ns fixed at
 *   the series' creation time; values accumulate forever.
 * - DELTA: counters and histograms report the change since the previous collection, with
 *   start_ns = previous collection time (registry creation for the first); histogram
 *   count/sum/min/max/buckets restart each interval. Gauges report their last value if set
 *   during the interval. Series with no measurement in the interval are not reported and are
 *   forgotten (freeing their cardinality). UPDOWN_COUNTERs stay CUMULATIVE, as the OTel "delta"
 *   preference prescribes.
 *
 * Loop-thread only. All strings passed in are copied. */
#ifndef SC_TELEMETRY_METRICS_H
#define SC_TELEMETRY_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/log.h"
#include "telemetry/attr.h"
#include "telemetry/schema.h"

#define SC_METRICS_DEFAULT_CARDINALITY_LIMIT 2000
#define SC_METRICS_MAX_BOUNDS                64

/* OTLP AggregationTemporality numbers. */
typedef enum {
    SC_TEMPORALITY_UNSPECIFIED = 0,
    SC_TEMPORALITY_DELTA = 1,
    SC_TEMPORALITY_CUMULATIVE = 2
} sc_temporality;

/* Per-registry allocator (not a global): lets tests count or fail allocations. */
typedef struct sc_metrics_allocator {
    void *(*alloc)(void *ctx, size_t size);
    void (*free)(void *ctx, void *p);
    void *ctx;
} sc_metrics_allocator;

typedef struct sc_metrics_opts {
    const sc_clock *clock;                 /* required; outlives the registry */
    sc_log *log;                           /* optional (NULL: silent); outlives the registry */
    sc_temporality temporality;            /* UNSPECIFIED means CUMULATIVE */
    size_t cardinality_limit;              /* per instrument, >= 2; 0 means the default */
    const sc_metrics_allocator *allocator; /* NULL: malloc/free; copied */
} sc_metrics_opts;

typedef struct sc_metrics sc_metrics;
typedef struct sc_instrument sc_instrument; /* owned by its registry */

typedef struct sc_metrics_stats {
    uint64_t overflow_measurements; /* routed to an overflow series */
    uint64_t dropped_measurements;  /* invalid (kind, value, attributes) or out of memory */
} sc_metrics_stats;

int sc_metrics_new(sc_metrics **out, const sc_metrics_opts *opts); /* 0, -EINVAL, -ENOMEM */
void sc_metrics_free(sc_metrics *m); /* accepts NULL; frees every instrument and series */

/* Creates an instrument from a definition (strings and bounds are copied). Name syntax as in
 * the OTel API (a letter, then up to 254 of [A-Za-z0-9_.-/]), unit <= 63 ASCII chars, histogram
 * bounds finite, strictly increasing, at most SC_METRICS_MAX_BOUNDS. 0, -EINVAL, -EEXIST (name
 * taken), -ENOMEM. */
int sc_metrics_instrument(sc_metrics *m, const sc_metric_def *def, sc_instrument **out);

/* Creates every schema.h metric; out[id] is the instrument for sc_metric_id id. */
int sc_metrics_register_schema(sc_metrics *m, sc_instrument *out[SC_METRIC__COUNT]);

/* Measurements. attrs[0..n) are borrowed for the call (n <= SC_ATTR_SET_MAX). Each returns 0, or
 * a negative errno and the measurement is dropped and counted: -EINVAL (wrong kind for the call,
 * negative counter increment, NaN/inf histogram value, invalid attribute), -E2BIG (too many
 * attributes), -ENOMEM (a new series could not be allocated). */
int sc_metrics_add(sc_instrument *inst, int64_t delta, const sc_attr *attrs, size_t n);
/* UPDOWN_COUNTER only: sets the series' absolute value (observable up-down counter style: queue
 * sizes, capacities). */
int sc_metrics_observe(sc_instrument *inst, int64_t value, const sc_attr *attrs, size_t n);
int sc_metrics_set(sc_instrument *inst, double value, const sc_attr *attrs, size_t n); /* GAUGE */
int sc_metrics_record(sc_instrument *inst, double value, const sc_attr *attrs,
                      size_t n); /* HISTOGRAM */
/* sc_metrics_record with a set prepared by sc_attr_set_prepare/_extend (borrowed for the call):
 * measurements whose attribute sets overlap share one canonical sort and hash. */
int sc_metrics_record_set(sc_instrument *inst, double value, const sc_attr_set *set);

/* ---- Collection ------------------------------------------------------------------------------
 * sc_metrics_collect builds an immutable snapshot the encoder walks as plain arrays (re-walkable,
 * as nanopb's size-then-write passes need). Empty instruments are left out: every metric in the
 * snapshot has n_points > 0. The snapshot is owned by the registry and stays valid, unchanged,
 * until sc_metrics_snapshot_release; one snapshot at a time (encode it to bytes, release it, then
 * retry the bytes as needed). */

typedef struct sc_metric_point {
    const sc_attr *attrs; /* canonical order (sorted by key); n_attrs may be 0 */
    size_t n_attrs;
    uint64_t start_ns; /* 0 for gauges (omit in OTLP) */
    uint64_t time_ns;  /* the collection time */
    int64_t as_int;    /* COUNTER, UPDOWN_COUNTER: NumberDataPoint.as_int */
    double as_double;  /* GAUGE: NumberDataPoint.as_double */
    /* HISTOGRAM: */
    uint64_t count;
    double sum;
    double min, max;               /* meaningful when count > 0 */
    const uint64_t *bucket_counts; /* n_bounds + 1 entries */
} sc_metric_point;

typedef struct sc_metric_data {
    const char *name;
    const char *unit;
    const char *description;
    sc_metric_kind kind;
    int is_monotonic;           /* Sum.is_monotonic: 1 for COUNTER */
    sc_temporality temporality; /* Sum and Histogram; UNSPECIFIED for GAUGE */
    const double *bounds;       /* HISTOGRAM: explicit_bounds of every point */
    size_t n_bounds;
    const sc_metric_point *points;
    size_t n_points;
} sc_metric_data;

typedef struct sc_metrics_snapshot {
    const sc_metric_data *metrics; /* registration order */
    size_t n_metrics;
    size_t n_points; /* total, for otel.sdk.exporter.metric_data_point.exported */
    uint64_t time_ns;
} sc_metrics_snapshot;

/* 0 and *out set (possibly with n_metrics == 0: nothing to export), -EBUSY if the previous
 * snapshot is not released, or -ENOMEM (nothing collected, no delta state lost). */
int sc_metrics_collect(sc_metrics *m, const sc_metrics_snapshot **out);
void sc_metrics_snapshot_release(sc_metrics *m);

sc_metrics_stats sc_metrics_get_stats(const sc_metrics *m);
size_t sc_metrics_series_count(const sc_instrument *inst); /* overflow series included */

#endif
