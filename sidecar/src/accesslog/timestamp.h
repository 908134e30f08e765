/* timestamp.h - owns: pure parsers for the timestamp and decimal-number forms access logs use,
 * producing Unix time in nanoseconds.
 *
 * Accepted forms:
 *   RFC 3339 / ISO 8601   2026-11-22T19:23:21Z, 2026-11-22T19:23:21.042+05:30, ...-0800, ...+01,
 *                         't'/'z' lower case and a ' ' separator (RFC 3339 section 5.6 note),
 *                         1..9 fraction digits (more are accepted and truncated), leap second :60
 *   nginx $time_local     22/Nov/2026:19:23:21 +0000
 *   epoch                 1763839401.123 (seconds with fraction), integer ms/us/ns; any unit
 *                         also takes a fraction or a JSON exponent (1.7638394e9)
 * Every function is pure over (p, n) (no NUL needed, no locale, no TZ database, no allocation).
 * Results must fall in [1970-01-01, 2262-04-11) so they fit a non-negative int64 of ns.
 * Errors: -EINVAL for malformed text or an impossible field (month 13, Feb 30, hour 24),
 * -ERANGE for a well-formed value outside the range; *unix_ns is untouched on error. */
#ifndef SC_ACCESSLOG_TIMESTAMP_H
#define SC_ACCESSLOG_TIMESTAMP_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    SC_TIMESTAMP_AUTO = 0,    /* "auto": pick one of the forms below from the text's shape */
    SC_TIMESTAMP_RFC3339,     /* "rfc3339" */
    SC_TIMESTAMP_NGINX_LOCAL, /* "nginx_time_local" */
    SC_TIMESTAMP_EPOCH_S,     /* "epoch_s" */
    SC_TIMESTAMP_EPOCH_MS,    /* "epoch_ms" */
    SC_TIMESTAMP_EPOCH_US,    /* "epoch_us" */
    SC_TIMESTAMP_EPOCH_NS,    /* "epoch_ns" */
    SC_TIMESTAMP__COUNT
} sc_timestamp_format;

/* Config spelling of a format (static string), or NULL when out of range. */
const char *sc_timestamp_format_name(sc_timestamp_format f);
/* Exact, case-sensitive: 0 and *out set, or -EINVAL. */
int sc_timestamp_format_parse(const char *p, size_t n, sc_timestamp_format *out);

/* Days since 1970-01-01 of a proleptic Gregorian date (m 1..12, d 1..31; not validated). */
int64_t sc_timestamp_days_from_civil(int64_t y, unsigned m, unsigned d);

int sc_timestamp_parse_rfc3339(const char *p, size_t n, int64_t *unix_ns);
int sc_timestamp_parse_nginx_local(const char *p, size_t n, int64_t *unix_ns);
/* digits_per_second: 0 for seconds, 3 for ms, 6 for us, 9 for ns. Negative values: -ERANGE. */
int sc_timestamp_parse_epoch(const char *p, size_t n, int digits_per_second, int64_t *unix_ns);
/* Dispatch on fmt. AUTO: "dd/Mon/" -> nginx_time_local, "yyyy-" -> rfc3339, a number -> epoch
 * with the unit chosen by the count of integer digits (<= 11 s, <= 14 ms, <= 17 us, else ns). */
int sc_timestamp_parse(sc_timestamp_format fmt, const char *p, size_t n, int64_t *unix_ns);

/* A JSON-style decimal ("-"? digits ("." digits)? ([eE] [+-]? digits)?) times 10^scale,
 * truncated toward zero, in *out. 0, -EINVAL (not a number, trailing bytes), or -ERANGE
 * (magnitude >= 2^63). scale is in [-18, 18]. Used for durations and epoch values. */
int sc_timestamp_decimal(const char *p, size_t n, int scale, int64_t *out);

#endif
