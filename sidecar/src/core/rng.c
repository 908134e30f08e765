/* rng.c - owns: the getrandom-backed pool and the seeded test generator. */
#include "core/rng.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

void sc_rng_init_system(sc_rng *rng)
{
    memset(rng, 0, sizeof *rng);
    rng->pos = sizeof rng->pool; /* empty: first use refills */
}

void sc_rng_init_seeded(sc_rng *rng, uint64_t seed)
{
    memset(rng, 0, sizeof *rng);
    rng->seeded = 1;
    rng->state = seed;
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static int refill(sc_rng *rng)
{
    size_t got = 0;
    while (got < sizeof rng->pool) {
        ssize_t n = getrandom(rng->pool + got, sizeof rng->pool - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        got += (size_t)n;
    }
    rng->pos = 0;
    return 0;
}

int sc_rng_fill(sc_rng *rng, void *out, size_t len)
{
    unsigned char *p = out;
    if (rng->seeded) {
        while (len > 0) {
            uint64_t v = splitmix64(&rng->state);
            size_t n = len < sizeof v ? len : sizeof v;
            memcpy(p, &v, n);
            p += n;
            len -= n;
        }
        return 0;
    }
    while (len > 0) {
        if (rng->pos == sizeof rng->pool) {
            int rc = refill(rng);
            if (rc < 0)
                return rc;
        }
        size_t avail = sizeof rng->pool - rng->pos;
        size_t n = len < avail ? len : avail;
        memcpy(p, rng->pool + rng->pos, n);
        /* Bytes handed out are wiped so a later memory disclosure cannot replay them. */
        memset(rng->pool + rng->pos, 0, n);
        rng->pos += n;
        p += n;
        len -= n;
    }
    return 0;
}

uint64_t sc_rng_u64(sc_rng *rng)
{
    uint64_t v = 0;
    if (sc_rng_fill(rng, &v, sizeof v) < 0)
        v = splitmix64(&rng->state); /* never reached on Linux >= 3.17; keeps callers total */
    return v;
}

double sc_rng_unit(sc_rng *rng)
{
    return (double)(sc_rng_u64(rng) >> 11) * 0x1.0p-53;
}

int sc_rng_hex(sc_rng *rng, char *out, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char raw[32];
    size_t done = 0;
    while (done < len) {
        size_t chunk = (len - done + 1) / 2;
        if (chunk > sizeof raw)
            chunk = sizeof raw;
        int rc = sc_rng_fill(rng, raw, chunk);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < chunk * 2 && done < len; i++)
            out[done++] = digits[(raw[i / 2] >> ((i & 1) ? 0 : 4)) & 0xf];
    }
    out[len] = '\0';
    return 0;
}

int sc_rng_uuid_v4(sc_rng *rng, char out[37])
{
    unsigned char b[16];
    int rc = sc_rng_fill(rng, b, sizeof b);
    if (rc < 0)
        return rc;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
    return 0;
}
