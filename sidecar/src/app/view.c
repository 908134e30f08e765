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
