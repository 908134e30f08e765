/* env.h - owns: sc_env, the handful of process-wide services every module is given at init.
 *
 * Instead of globals, each module keeps a pointer to one sc_env: the loop that owns all I/O, the
 * logger, and the injectable clock and randomness. The app builds it; tests build their own with a
 * fake clock and a seeded rng. An sc_env outlives every module that points at it. */
#ifndef SC_CORE_ENV_H
#define SC_CORE_ENV_H

#include <uv.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/rng.h"

typedef struct sc_env {
    uv_loop_t *loop;
    sc_log *log;
    const sc_clock *clock;
    sc_rng *rng;
} sc_env;

#endif
