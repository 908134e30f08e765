/* rng.h - owns: randomness. Trace and span ids, request ids and backoff jitter all draw from here.
 *
 * The system source is the kernel CSPRNG (getrandom), read in blocks so the hot path is not a
 * syscall per id. A seeded source is deterministic (splitmix64) and is for tests only. */
#ifndef SC_CORE_RNG_H
#define SC_CORE_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct sc_rng {
    int seeded;     /* 1: deterministic test source */
    uint64_t state; /* splitmix64 state when seeded */
    size_t pos;     /* next unread byte of pool */
    unsigned char pool[256];
} sc_rng;

void sc_rng_init_system(sc_rng *rng);
void sc_rng_init_seeded(sc_rng *rng, uint64_t seed);

/* Fills `len` bytes. Returns 0, or a negative errno if the kernel source failed. */
int sc_rng_fill(sc_rng *rng, void *out, size_t len);

uint64_t sc_rng_u64(sc_rng *rng);

/* Uniform in [0, 1). */
double sc_rng_unit(sc_rng *rng);

/* Fills `len` bytes with random lower-case hex and NUL-terminates (out needs len + 1 bytes). */
int sc_rng_hex(sc_rng *rng, char *out, size_t len);

/* A random UUID, RFC 9562 version 4 ("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"): 122 random bits,
 * version nibble 4, variant bits 10. 0 or the source's negative errno. */
int sc_rng_uuid_v4(sc_rng *rng, char out[37]);

#endif
