/* backoff.h - owns: the OTLP/HTTP delivery policy as pure functions: which outcomes are retried
 * (classification) and how long to wait before the next attempt (exponential backoff with full
 * jitter, or the server's Retry-After). Kept apart so each can be tested alone; no state, no I/O.
 *
 * Classification (OTLP/HTTP specification, "Failures" and "OTLP/HTTP Throttling"):
 * - success: a 2xx response (a partial success is a success: never retried);
 * - retryable: 429, 502, 503, 504, and transport failures that say nothing about the payload
 *   (connect, DNS, timeout, send, recv: the collector restarting, a load balancer in between);
 * - permanent: every other status (400, 401, 403, 404, 413, 500, 3xx since redirects are not
 *   followed...) and transport errors that retrying cannot fix (TLS, a cancelled request, ...).
 *
 * Delay: when the response carried a parsable Retry-After it is used as given, capped at
 * retry_after_max_ms; otherwise full jitter ("Exponential Backoff And Jitter", AWS): uniform in
 * [0, min(max_ms, initial_ms * 2^retry)). */
#ifndef SC_EXPORT_BACKOFF_H
#define SC_EXPORT_BACKOFF_H

#include <stddef.h>
#include <stdint.h>

#include "loop/http_client.h"

typedef enum {
    SC_BACKOFF_SUCCESS = 0,
    SC_BACKOFF_RETRYABLE,
    SC_BACKOFF_PERMANENT
} sc_backoff_class;

typedef struct sc_backoff_policy {
    uint64_t initial_ms;         /* ceiling of the first retry's delay (> 0) */
    uint64_t max_ms;             /* the ceiling never grows past this */
    uint64_t retry_after_max_ms; /* a longer Retry-After is cut to this */
} sc_backoff_policy;

#define SC_BACKOFF_DEFAULT_INITIAL_MS     1000u
#define SC_BACKOFF_DEFAULT_MAX_MS         5000u
#define SC_BACKOFF_DEFAULT_RETRY_AFTER_MS 30000u

/* Fills the defaults above. */
void sc_backoff_policy_default(sc_backoff_policy *p);

/* The class of one attempt's result: `err` from the HTTP client and the status received (0 if
 * none). A 2xx whose body was over the response cap is still a success: the collector took it. */
sc_backoff_class sc_backoff_classify(sc_http_error err, long status);

/* The error.type of a failed attempt: the status code as a decimal string ("503") when a non-2xx
 * status was received, else the transport error's name ("connect", "timeout", ...). Writes into
 * buf (cap >= 12) and returns it; "" for a success. */
const char *sc_backoff_error_type(sc_http_error err, long status, char *buf, size_t cap);

/* Full-jitter delay before retry number `retry` (0 for the first retry); u01 is uniform in
 * [0, 1) from the env's rng. Never above max_ms. */
uint64_t sc_backoff_jitter_ms(const sc_backoff_policy *p, unsigned retry, double u01);

/* The delay before the next attempt. retry_after (may be NULL; not NUL-terminated unless
 * retry_after_len says so) is the response's Retry-After value: when it parses (seconds or
 * HTTP-date, relative to now_unix_s) it wins, capped; otherwise full jitter. *from_server (may be
 * NULL) says which one was used. */
uint64_t sc_backoff_next_ms(const sc_backoff_policy *p, unsigned retry, double u01,
                            const char *retry_after, size_t retry_after_len, uint64_t now_unix_s,
                            int *from_server);

#endif
