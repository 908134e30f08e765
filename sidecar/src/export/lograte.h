/* lograte.h - owns: sc_lograte, the "log once per distinct cause" filter of the exporters, so a
 * collector that answers 400 to every batch produces one log line, not one per batch.
 *
 * A cause is any short string ("status 400", "partial: <message>"). The filter remembers the
 * last SC_LOGRATE_CAUSES distinct causes (oldest forgotten first) and, on top of that, lets at
 * most SC_LOGRATE_PER_MIN lines through per minute, counting the rest as suppressed. Callers
 * call sc_lograte_reset after a success, so the next failure episode is reported again.
 * Plain struct, embedded by its owner; no allocation. */
#ifndef SC_EXPORT_LOGRATE_H
#define SC_EXPORT_LOGRATE_H

#include <stdint.h>

#define SC_LOGRATE_CAUSES  16
#define SC_LOGRATE_PER_MIN 10

typedef struct sc_lograte {
    uint64_t seen[SC_LOGRATE_CAUSES]; /* FNV-1a hashes; 0 = empty */
    unsigned next;
    uint64_t window_start_ms;
    unsigned in_window;
    uint64_t suppressed; /* lines withheld since the last one allowed */
} sc_lograte;

/* 1 if a line about `cause` should be logged now. Then *suppressed (may be NULL) gets how many
 * lines were withheld since the previous allowed one (and the count restarts). now_ms is any
 * monotonic millisecond clock. */
int sc_lograte_allow(sc_lograte *lr, const char *cause, uint64_t now_ms, uint64_t *suppressed);

/* Forgets every cause (the rate window is kept). */
void sc_lograte_reset(sc_lograte *lr);

#endif
