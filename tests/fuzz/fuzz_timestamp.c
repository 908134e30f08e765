/* fuzz_timestamp.c - libFuzzer target: every timestamp and decimal parser of
 * accesslog/timestamp.h over the same bytes, with a few properties a caller relies on: a parse
 * leaves *unix_ns untouched on error and yields a value in [1970, 2262) on success, and AUTO
 * agrees with the explicit form it picks.
 *
 * Input: byte 0 gives the decimal scale (and epoch unit), the rest is the text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accesslog/timestamp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int64_t UNTOUCHED = INT64_C(-424242);

/* Runs one parser; returns its result, aborting if it broke the output contract. */
static int check(int rc, int64_t v)
{
    if (rc != 0 && v != UNTOUCHED)
        abort();
    if (rc == 0 && v < 0)
        abort();
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int scale = (int)(data[0] % 37) - 18; /* [-18, 18] */
    const char *p = (const char *)data + 1;
    size_t n = size - 1;

    int64_t rfc = UNTOUCHED, ngx = UNTOUCHED, ep[4] = {UNTOUCHED, UNTOUCHED, UNTOUCHED, UNTOUCHED};
    int rc_rfc = check(sc_timestamp_parse_rfc3339(p, n, &rfc), rfc);
    int rc_ngx = check(sc_timestamp_parse_nginx_local(p, n, &ngx), ngx);
    for (int u = 0; u < 4; u++)
        check(sc_timestamp_parse_epoch(p, n, 3 * u, &ep[u]), ep[u]);
    for (int f = 0; f < SC_TIMESTAMP__COUNT; f++) {
        int64_t v = UNTOUCHED;
        int rc = check(sc_timestamp_parse((sc_timestamp_format)f, p, n, &v), v);
        /* The explicit formats are the functions above. */
        if (f == SC_TIMESTAMP_RFC3339 && (rc != rc_rfc || v != rfc))
            abort();
        if (f == SC_TIMESTAMP_NGINX_LOCAL && (rc != rc_ngx || v != ngx))
            abort();
        /* AUTO picks one of them, so a success there is a success of that form. */
        if (f == SC_TIMESTAMP_AUTO && rc == 0 && v != rfc && v != ngx && v != ep[0] && v != ep[1] &&
            v != ep[2] && v != ep[3])
            abort();
    }

    int64_t d = UNTOUCHED;
    (void)sc_timestamp_decimal(p, n, scale, &d);

    sc_timestamp_format tf;
    if (sc_timestamp_format_parse(p, n, &tf) == 0) {
        const char *name = sc_timestamp_format_name(tf);
        if (name == NULL || strlen(name) != n || memcmp(name, p, n) != 0)
            abort(); /* exact spelling round-trips */
    }
    return 0;
}
