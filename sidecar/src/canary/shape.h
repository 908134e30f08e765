/* shape.h - owns: response shape drift detection by top-level field NAMES (never values).
 *
 * sc_shape_names is a bounded, sorted set of field names: at most SC_SHAPE_MAX_NAMES names of at
 * most SC_SHAPE_NAME_LEN - 1 bytes. Names are sanitised on insert (bytes outside [A-Za-z0-9_.-]
 * become '_', longer names are cut) so an upstream can never put arbitrary text into telemetry.
 * When more names arrive than fit, the set keeps the lexicographically smallest ones and marks
 * itself truncated; that keeps comparisons independent of the order the upstream sent keys in.
 *
 * sc_shape_baseline holds the last ACCEPTED set for one probe. Comparing never changes it; the
 * caller decides when a new shape becomes the accepted one (e.g. report drift once, then accept,
 * so a lasting change is one event, not an alert per run). Plain value types: embed them. */
#ifndef SC_CANARY_SHAPE_H
#define SC_CANARY_SHAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SC_SHAPE_MAX_NAMES 32
#define SC_SHAPE_NAME_LEN  48 /* NUL included */

typedef struct sc_shape_names {
    char name[SC_SHAPE_MAX_NAMES][SC_SHAPE_NAME_LEN]; /* sorted by strcmp, unique */
    uint8_t n;
    bool truncated; /* a name was dropped because the set was full */
} sc_shape_names;

typedef struct sc_shape_baseline {
    sc_shape_names accepted;
    bool set; /* false until the first sc_shape_accept */
} sc_shape_baseline;

void sc_shape_names_init(sc_shape_names *s);

/* Inserts (p, len) after sanitising. Returns 1 when added, 0 when already present or dropped
 * (set full and the name sorts after every kept name), -EINVAL for an empty name. */
int sc_shape_names_add(sc_shape_names *s, const char *p, size_t len);

/* Adds every name of `from` into `into` (a union). */
void sc_shape_names_merge(sc_shape_names *into, const sc_shape_names *from);

bool sc_shape_names_has(const sc_shape_names *s, const char *name);

void sc_shape_baseline_init(sc_shape_baseline *b);

/* Fills `added` (in now, not accepted) and `missing` (accepted, not in now); either may be NULL.
 * Returns true when the shapes differ. Without a baseline, nothing differs (returns false). */
bool sc_shape_compare(const sc_shape_baseline *b, const sc_shape_names *now, sc_shape_names *added,
                      sc_shape_names *missing);

/* Makes `now` the accepted shape. */
void sc_shape_accept(sc_shape_baseline *b, const sc_shape_names *now);

#endif
