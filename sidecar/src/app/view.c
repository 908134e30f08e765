/* view.c - owns: formatting live-view lines. */
#include "app/view.h"

#include <stdarg.h>
#include <time.h>

void sc_view_init(sc_view *v, FILE *out, int enabled, const sc_clock *clock)
{
    v->out = out;
    v->enabled = enabled;
    v->clock = clock;
}

void sc_view_event(sc_view *v, const char *topic, const char *fmt, ...)
{
    if (!v->enabled)
        return;
    time_t secs = (time_t)(sc_clock_wall_ns(v->clock) / 1000000000u);
    struct tm tm;
    gmtime_r(&secs, &tm);
    fprintf(v->out, "%02d:%02d:%02d  %-14s ", tm.tm_hour, tm.tm_min, tm.tm_sec, topic);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(v->out, fmt, ap);
    va_end(ap);
    fputc('\n', v->out);
    fflush(v->out);
}

void sc_view_text(sc_view *v, const char *fmt, ...)
{
    if (!v->enabled)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(v->out, fmt, ap);
    va_end(ap);
    fflush(v->out);
}

static uint64_t dropped_total(const sc_exporter_signal_stats *s)
{
    uint64_t n = 0;
    for (size_t i = 0; i < SC_EXPORT_DROP__COUNT; i++)
        n += s->dropped[i];
    return n;
}

void sc_view_telemetry(sc_view *v, const sc_exporter_stats *ex, const sc_recorder_stats *rs)
{
    sc_view_event(v, "telemetry",
                  "spans %llu exported, %llu dropped | metric points %llu exported, %llu "
                  "dropped | export retries %llu",
                  (unsigned long long)ex->traces.exported,
                  (unsigned long long)(dropped_total(&ex->traces) + rs->spans_dropped),
                  (unsigned long long)ex->metrics.exported,
                  (unsigned long long)dropped_total(&ex->metrics),
                  (unsigned long long)(ex->traces.retries + ex->metrics.retries));
}

void sc_view_access_log(sc_view *v, const sc_observer_stats *s)
{
    sc_view_event(v, "access log",
                  "%llu lines (%llu malformed) | %llu spans | rotations %llu, truncations %llu | "
                  "lag %llu bytes%s",
                  (unsigned long long)s->lines, (unsigned long long)s->malformed,
                  (unsigned long long)s->spans, (unsigned long long)s->tail.rotations,
                  (unsigned long long)s->tail.truncations, (unsigned long long)s->tail.lag_bytes,
                  s->paused ? " | paused" : "");
}
