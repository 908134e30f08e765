/* prom_text.h - owns: rendering a metrics snapshot as the Prometheus text exposition format 0.0.4,
 * and the OTLP -> Prometheus naming rules it uses.
 *
 * Names follow the OpenTelemetry "Prometheus and OpenMetrics Compatibility" specification the way
 * the Collector's prometheus exporter and Prometheus' own OTLP receiver apply it (otlptranslator,
 * strategy UnderscoreEscapingWithSuffixes), so a dashboard works whether Prometheus scrapes the
 * sidecar or a Collector:
 * - metric names: split on every character outside [A-Za-z0-9:] (so dots, dashes and runs of
 *   underscores become one '_'), then the unit suffix unless a name token already equals it
 *   (UCUM: s -> seconds, By -> bytes, ms -> milliseconds, ...; a unit holding '{' or '}' such as
 *   {request} adds nothing; "1" adds nothing; "a/b" -> a_per_b), then "_total" on monotonic sums
 *   and "_ratio" on gauges of unit "1"; a leading digit gets a '_' prefix;
 * - types: COUNTER -> counter, UPDOWN_COUNTER and GAUGE -> gauge, HISTOGRAM -> histogram
 *   (_bucket{le} cumulative up to +Inf, _sum, _count);
 * - label names: every character outside [A-Za-z0-9] becomes '_', runs collapse to one, a leading
 *   digit gets "key_"; attributes whose names collide have their values joined with ';' in key
 *   order; label values are escaped (\\, \", \n) and invalid UTF-8 becomes U+FFFD;
 * - non-string values: integers in decimal, doubles as Go prints them ('g', shortest), booleans
 *   true/false, string arrays as a JSON array;
 * - the resource becomes one target_info gauge (value 1) whose labels are the resource attributes
 *   and nothing else; job and instance are NOT added (Prometheus sets them from the scrape target);
 * - every sample carries otel_scope_name and otel_scope_version (the spec's default).
 * Two OTLP metrics that map to one name are rendered as one family when their types agree; a
 * later one whose type differs (or a metric named target_info) is dropped and counted.
 * No timestamps are written and no _created series (0.0.4 has no created timestamps). */
#ifndef SC_EXPORT_PROM_TEXT_H
#define SC_EXPORT_PROM_TEXT_H

#include <stddef.h>

#include "core/buf.h"
#include "telemetry/attr.h"
#include "telemetry/metrics.h"

#define SC_PROM_TEXT_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#define SC_PROM_NAME_MAX   384 /* bytes of a metric or label name, NUL included */
#define SC_PROM_DOUBLE_MAX 32  /* bytes of a formatted double, NUL included */

typedef enum { SC_PROM_COUNTER = 0, SC_PROM_GAUGE, SC_PROM_HISTOGRAM } sc_prom_type;

/* "counter", "gauge" or "histogram". */
const char *sc_prom_text_type_name(sc_prom_type t);

/* The Prometheus type of an instrument kind (monotonic sums are counters). */
sc_prom_type sc_prom_text_type(sc_metric_kind kind);

/* The family name of an OTLP metric (name, UCUM unit, kind) into out[cap], NUL-terminated.
 * Returns its length, -EINVAL (nothing but separators: no valid name) or -ENAMETOOLONG. */
int sc_prom_text_metric_name(const char *name, const char *unit, sc_metric_kind kind, char *out,
                             size_t cap);

/* The label name of an attribute key into out[cap]. Returns its length, -EINVAL (empty or only
 * separators) or -ENAMETOOLONG. */
int sc_prom_text_label_name(const char *key, char *out, size_t cap);

/* v as Prometheus' Go client writes a float (strconv.FormatFloat(v, 'g', -1, 64)): the shortest
 * digits that read back as v, in exponent form when the decimal exponent is < -4 or >= 6
 * ("0.005", "262144", "1.048576e+06"); +Inf, -Inf, NaN. Returns the length. */
size_t sc_prom_text_format_double(double v, char out[SC_PROM_DOUBLE_MAX]);

typedef struct sc_prom_text_opts {
    const sc_attr *resource; /* target_info labels (borrowed); none: no target_info */
    size_t n_resource;
    const char *scope_name;    /* otel_scope_name on every sample; NULL: no scope labels */
    const char *scope_version; /* otel_scope_version; NULL: left out */
} sc_prom_text_opts;

typedef struct sc_prom_text_stats {
    size_t families;        /* # TYPE lines written, target_info included */
    size_t samples;         /* sample lines written */
    size_t dropped_metrics; /* no valid name, a type clash, or the reserved name target_info */
    size_t dropped_labels;  /* attributes left off a sample: no valid label name, or a name the
                               renderer reserves (le on histograms, otel_scope_*) */
} sc_prom_text_stats;

/* Appends the page for snap (may be NULL: target_info only) to out. Returns 0, -ENOBUFS when
 * out's cap was reached (out then holds a partial page the caller must discard, not serve), or
 * -ENOMEM. st (may be NULL) is filled either way. */
int sc_prom_text_render(const sc_metrics_snapshot *snap, const sc_prom_text_opts *o, sc_buf *out,
                        sc_prom_text_stats *st);

#endif
