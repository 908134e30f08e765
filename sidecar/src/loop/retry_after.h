/* retry_after.h - owns: parsing an HTTP Retry-After value (RFC 9110 section 10.2.3) into a delay.
 *
 * Pure over (ptr, len). Accepts delay-seconds and all three HTTP-date forms recipients must accept
 * (IMF-fixdate, obsolete RFC 850, asctime). Used by the OTLP exporter and the canary retry policy,
 * which each apply their own cap. */
#ifndef SC_LOOP_RETRY_AFTER_H
#define SC_LOOP_RETRY_AFTER_H

#include <stddef.h>
#include <stdint.h>

/* On success stores the delay in milliseconds (0 for a date in the past) and returns 0.
 * Returns -EINVAL for anything else; *delay_ms is then 0. now_unix_s is the current wall time. */
int sc_retry_after_parse(const char *p, size_t n, uint64_t now_unix_s, uint64_t *delay_ms);

#endif
