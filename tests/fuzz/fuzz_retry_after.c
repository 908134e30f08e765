/* fuzz_retry_after.c - libFuzzer target: Retry-After values (delay-seconds and the three
 * HTTP-date forms) through sc_retry_after_parse, at a fixed "now" and at one taken from the
 * input. Properties: *delay_ms is 0 on error; a date's delay shrinks (or stays) as now advances.
 *
 * Input: bytes 0-3: now offset (seconds after 2026-01-01, little-endian); the rest: the value. */
#include <stdint.h>
#include <stdlib.h>

#include "loop/retry_after.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW_2026 UINT64_C(1767225600) /* 2026-01-01T00:00:00Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    uint64_t off = (uint64_t)data[0] | (uint64_t)data[1] << 8 | (uint64_t)data[2] << 16 |
                   (uint64_t)data[3] << 24;
    const char *p = (const char *)data + 4;
    size_t n = size - 4;

    uint64_t a = 1, b = 1, c = 1;
    int ra = sc_retry_after_parse(p, n, NOW_2026, &a);
    int rb = sc_retry_after_parse(p, n, NOW_2026 + off, &b);
    int rc = sc_retry_after_parse(p, n, UINT64_MAX, &c); /* far future: any date is past */
    if ((ra != 0 && a != 0) || (rb != 0 && b != 0) || (rc != 0 && c != 0))
        abort();
    if ((ra == 0) != (rb == 0) || (ra == 0) != (rc == 0))
        abort(); /* whether it parses does not depend on the clock */
    if (ra == 0 && b > a)
        abort(); /* later "now": never a longer wait (delay-seconds: the same one) */
    return 0;
}
