/* clock.c - owns: the system clock vtable, the fake clock and RFC 3339 formatting. */
#include "core/clock.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

static uint64_t read_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t system_wall(const sc_clock *self)
{
    (void)self;
    return read_clock(CLOCK_REALTIME);
}

static uint64_t system_mono(const sc_clock *self)
{
    (void)self;
    return read_clock(CLOCK_MONOTONIC);
}

const sc_clock *sc_clock_system(void)
{
    static const sc_clock system = {system_wall, system_mono};
    return &system;
}

static uint64_t fake_wall(const sc_clock *self)
{
    return ((const sc_clock_fake *)(const void *)self)->wall;
}

static uint64_t fake_mono(const sc_clock *self)
{
    return ((const sc_clock_fake *)(const void *)self)->mono;
}

void sc_clock_fake_init(sc_clock_fake *fake, uint64_t wall_ns)
{
    fake->base.wall_ns = fake_wall;
    fake->base.mono_ns = fake_mono;
    fake->wall = wall_ns;
    fake->mono = 1000000000u;
}

void sc_clock_fake_advance(sc_clock_fake *fake, uint64_t ns)
{
    fake->wall += ns;
    fake->mono += ns;
}

int sc_clock_format_rfc3339_ms(uint64_t unix_ns, char *out, size_t cap)
{
    if (cap < 25)
        return -ENOBUFS;
    time_t secs = (time_t)(unix_ns / 1000000000u);
    unsigned ms = (unsigned)((unix_ns / 1000000u) % 1000u);
    struct tm tm;
    gmtime_r(&secs, &tm);
    int n = snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    return n < 0 || (size_t)n >= cap ? -ENOBUFS : n;
}
