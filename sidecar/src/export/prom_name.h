/* prom_name.h - owns: the OTLP -> Prometheus naming rules of the OpenTelemetry "Prometheus and
 * OpenMetrics Compatibility" specification, as the Collector's prometheus exporter and
 * Prometheus' own OTLP receiver apply them (otlptranslator, strategy
 * UnderscoreEscapingWithSuffixes), so a dashboard works whether Prometheus scrapes the sidecar or
 * a Collector:
 * - metric names: split on every character outside [A-Za-z0-9:] (so dots, dashes and runs of
 *   underscores become one '_'), then the unit suffix unless a name token already equals it
 *   (UCUM: s -> seconds, By -> bytes, ms -> milliseconds, ...; a unit holding '{' or '}' such as
 *   {request} adds nothing; "1" adds nothing; "a/b" -> a_per_b), then "_total" on monotonic sums
 *   and "_ratio" on gauges of unit "1"; a leading digit gets a '_' prefix;
 * - types: COUNTER -> counter, UPDOWN_COUNTER and GAUGE -> gauge, HISTOGRAM -> histogram;
 * - label names: every character outside [A-Za-z0-9] becomes '_', runs collapse to one, a leading
 *   digit gets "key_", the reserved form __x__ keeps its double underscores.
 * Pure functions, no allocation. */
#ifndef SC_EXPORT_PROM_NAME_H
#define SC_EXPORT_PROM_NAME_H

#include <stddef.h>

#include "telemetry/schema.h"

#define SC_PROM_NAME_MAX 384 /* bytes of a metric or label name, NUL included */

typedef enum { SC_PROM_COUNTER = 0, SC_PROM_GAUGE, SC_PROM_HISTOGRAM } sc_prom_type;

/* "counter", "gauge" or "histogram". */
const char *sc_prom_name_type_str(sc_prom_type t);

/* The Prometheus type of an instrument kind (monotonic sums are counters). */
sc_prom_type sc_prom_name_type(sc_metric_kind kind);

/* The family name of an OTLP metric (name, UCUM unit, kind) into out[cap], NUL-terminated.
 * Returns its length, -EINVAL (nothing but separators: no valid name) or -ENAMETOOLONG. */
int sc_prom_name_metric(const char *name, const char *unit, sc_metric_kind kind, char *out,
                        size_t cap);

/* The label name of an attribute key into out[cap] (cap >= 8). Returns its length, -EINVAL
 * (empty or only separators) or -ENAMETOOLONG. */
int sc_prom_name_label(const char *key, char *out, size_t cap);

#endif
