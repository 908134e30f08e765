/* backoff.c - owns: retry classification and delay arithmetic (see backoff.h). */
#include "export/backoff.h"

#include <stdio.h>

#include "loop/retry_after.h"

void sc_backoff_policy_default(sc_backoff_policy *p)
{
    p->initial_ms = SC_BACKOFF_DEFAULT_INITIAL_MS;
    p->max_ms = SC_BACKOFF_DEFAULT_MAX_MS;
    p->retry_after_max_ms = SC_BACKOFF_DEFAULT_RETRY_AFTER_MS;
}

static int is_2xx(long status)
{
    return status >= 200 && status <= 299;
}

sc_backoff_class sc_backoff_classify(sc_http_error err, long status)
{
    switch (err) {
    case SC_HTTP_OK:
        if (is_2xx(status))
            return SC_BACKOFF_SUCCESS;
        if (status == 429 || status == 502 || status == 503 || status == 504)
            return SC_BACKOFF_RETRYABLE;
        return SC_BACKOFF_PERMANENT;
    case SC_HTTP_ERR_TOO_LARGE:
        /* Only the response was too big to read; the request itself was answered. */
        return is_2xx(status) ? SC_BACKOFF_SUCCESS : SC_BACKOFF_PERMANENT;
    case SC_HTTP_ERR_TIMEOUT:
    case SC_HTTP_ERR_DNS:
    case SC_HTTP_ERR_CONNECT:
    case SC_HTTP_ERR_SEND:
    case SC_HTTP_ERR_RECV:
        return SC_BACKOFF_RETRYABLE;
    default:
        return SC_BACKOFF_PERMANENT;
    }
}

const char *sc_backoff_error_type(sc_http_error err, long status, char *buf, size_t cap)
{
    if (sc_backoff_classify(err, status) == SC_BACKOFF_SUCCESS) {
        snprintf(buf, cap, "%s", "");
    } else if (err == SC_HTTP_OK || (status >= 100 && status <= 999 && !is_2xx(status))) {
        snprintf(buf, cap, "%ld", status);
    } else {
        snprintf(buf, cap, "%s", sc_http_error_name(err));
    }
    return buf;
}

uint64_t sc_backoff_jitter_ms(const sc_backoff_policy *p, unsigned retry, double u01)
{
    uint64_t ceiling = p->initial_ms > 0 ? p->initial_ms : 1;
    for (unsigned i = 0; i < retry && ceiling < p->max_ms; i++)
        ceiling *= 2; /* stops at the first value >= max_ms: no overflow */
    if (ceiling > p->max_ms)
        ceiling = p->max_ms;
    if (u01 < 0.0 || !(u01 < 1.0))
        u01 = 0.0;
    return (uint64_t)((double)ceiling * u01);
}

uint64_t sc_backoff_next_ms(const sc_backoff_policy *p, unsigned retry, double u01,
                            const char *retry_after, size_t retry_after_len, uint64_t now_unix_s,
                            int *from_server)
{
    uint64_t ms = 0;
    if (retry_after != NULL &&
        sc_retry_after_parse(retry_after, retry_after_len, now_unix_s, &ms) == 0) {
        if (from_server != NULL)
            *from_server = 1;
        return ms < p->retry_after_max_ms ? ms : p->retry_after_max_ms;
    }
    if (from_server != NULL)
        *from_server = 0;
    return sc_backoff_jitter_ms(p, retry, u01);
}
