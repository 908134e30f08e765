/* otel_env.h - owns: parsers for OpenTelemetry environment variable value formats. Pure functions
 * over (ptr, len); no allocation.
 *
 * OTEL_RESOURCE_ATTRIBUTES and OTEL_EXPORTER_OTLP_HEADERS(_*) are W3C-baggage-like lists
 * "key1=value1,key2=value2": whitespace around keys and values is trimmed, keys and values are
 * percent-decoded, blank entries (",,", a trailing ',') are skipped, and a malformed list is
 * rejected WHOLE, as the OTel spec asks for resource attributes: the caller warns and ignores it.
 */
#ifndef SC_CONFIG_OTEL_ENV_H
#define SC_CONFIG_OTEL_ENV_H

#include <stddef.h>

typedef struct sc_otel_env_error {
    size_t entry;       /* 1-based index of the offending entry (blank entries count) */
    const char *reason; /* static text; never quotes the input, which may hold secrets */
} sc_otel_env_error;

/* Called once per pair with decoded, NUL-terminated key and value that live in the caller's
 * scratch buffer (valid only during the call). A non-zero return stops the walk and is returned. */
typedef int (*sc_otel_env_pair_fn)(void *ctx, const char *key, size_t key_len, const char *value,
                                   size_t value_len);

/* Decodes %XX escapes of in[0..n) into out (cap bytes, NUL-terminated) and sets *out_len.
 * out may be NULL (cap ignored) to validate and measure. Returns 0, -EINVAL for a malformed escape
 * or an escaped NUL (%00), -ENOBUFS when out is too small. '+' is not special. */
int sc_otel_env_percent_decode(const char *in, size_t n, char *out, size_t cap, size_t *out_len);

/* Parses the list s[0..n). `scratch` (cap bytes) holds one decoded pair at a time; n + 2 bytes
 * always suffice. The whole list is validated before the first callback, so a malformed list
 * produces no callback at all. Returns 0, -EINVAL (err filled: no '=', empty key, bad escape),
 * -ENOBUFS (a pair does not fit scratch; err filled) or the callback's non-zero return. */
int sc_otel_env_parse_list(const char *s, size_t n, char *scratch, size_t cap,
                           sc_otel_env_pair_fn fn, void *ctx, sc_otel_env_error *err);

#endif
