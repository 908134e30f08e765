/* clock.h - owns: the process's notion of time, behind a small vtable so tests can inject a fake.
 *
 * Wall time (unix nanoseconds) stamps spans, logs and evidence; monotonic time measures durations.
 * libuv timers keep using the loop's own clock: this module only answers "what time is it". */
#ifndef SC_CORE_CLOCK_H
#define SC_CORE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

typedef struct sc_clock sc_clock;
struct sc_clock {
    uint64_t (*wall_ns)(const sc_clock *self); /* nanoseconds since the unix epoch */
    uint64_t (*mono_ns)(const sc_clock *self); /* nanoseconds from an arbitrary fixed point */
};

/* The real clocks (CLOCK_REALTIME, CLOCK_MONOTONIC). Static storage; never freed. */
const sc_clock *sc_clock_system(void);

/* A clock that only moves when told to. Embed it and pass &fake->base. */
typedef struct sc_clock_fake {
    sc_clock base;
    uint64_t wall;
    uint64_t mono;
} sc_clock_fake;

void sc_clock_fake_init(sc_clock_fake *fake, uint64_t wall_ns);
void sc_clock_fake_advance(sc_clock_fake *fake, uint64_t ns);

static inline uint64_t sc_clock_wall_ns(const sc_clock *c)
{
    return c->wall_ns(c);
}
static inline uint64_t sc_clock_mono_ns(const sc_clock *c)
{
    return c->mono_ns(c);
}

/* Formats unix nanoseconds as RFC 3339 UTC with milliseconds ("2026-11-22T19:23:21.042Z").
 * Writes at most `cap` bytes including the NUL; returns the length, or -ENOBUFS if cap < 25. */
int sc_clock_format_rfc3339_ms(uint64_t unix_ns, char *out, size_t cap);

#endif
