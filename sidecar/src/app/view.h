/* view.h - owns: the compact human-readable live view on stdout (console.view = true).
 *
 * Logs stay JSON on stderr for machines; this is for a person watching the demo or a terminal:
 * one short line per event, aligned, with local-free UTC times, and a summary at the end.
 * When disabled every call is a no-op, so callers never check. */
#ifndef SC_APP_VIEW_H
#define SC_APP_VIEW_H

#include <stdio.h>

#include "accesslog/observer.h"
#include "core/clock.h"
#include "export/exporter.h"
#include "telemetry/recorder.h"

typedef struct sc_view {
    FILE *out; /* not owned */
    int enabled;
    const sc_clock *clock;
} sc_view;

void sc_view_init(sc_view *v, FILE *out, int enabled, const sc_clock *clock);

/* "HH:MM:SS  topic       text". */
void sc_view_event(sc_view *v, const char *topic, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The periodic figure lines: exported, dropped and retried telemetry; access-log lines, spans,
 * rotations, truncations and lag. */
void sc_view_telemetry(sc_view *v, const sc_exporter_stats *ex, const sc_recorder_stats *rs);
void sc_view_access_log(sc_view *v, const sc_observer_stats *s);

/* Unprefixed lines (the closing summary). */
void sc_view_text(sc_view *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
