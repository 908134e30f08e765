/* prom_text.h - owns: rendering a metrics snapshot as the Prometheus text exposition format 0.0.4
 * (names from prom_name.h):
 * - histograms: _bucket{le} cumulative counts up to le="+Inf" (= count), _sum, _count;
 * - label values are escaped (\\, \", \n) and invalid UTF-8 becomes U+FFFD; attributes whose
 *   label names collide are one label whose value joins theirs with ';' in key order;
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
#include "export/prom_name.h"
#include "telemetry/attr.h"
#include "telemetry/metrics.h"

#define SC_PROM_TEXT_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#define SC_PROM_DOUBLE_MAX 32 /* bytes of a formatted double, NUL included */

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
