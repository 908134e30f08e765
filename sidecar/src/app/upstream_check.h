/* upstream_check.h - owns: one authenticated "is CometAPI reachable with this key" request
 * (GET {base_url}/models), run at startup, after a key rotation, and as the --once gate until the
 * canary engine takes that role. It only reports; callers decide what a result means. */
#ifndef SC_APP_UPSTREAM_CHECK_H
#define SC_APP_UPSTREAM_CHECK_H

#include <stdint.h>

#include "loop/http_client.h"

typedef struct sc_upcheck_result {
    int ok;      /* 2xx */
    long status; /* 0 when no response */
    sc_http_error error;
    double total_s;
    double first_byte_s;
    char request_id[80]; /* upstream x-request-id, truncated; "" when absent */
} sc_upcheck_result;

typedef void (*sc_upcheck_cb)(const sc_upcheck_result *res, void *arg);

typedef struct sc_upcheck_opts {
    const char *base_url; /* includes /v1 */
    const char *api_key;  /* may be NULL: no Authorization header */
    uint32_t timeout_ms;
    uint32_t connect_timeout_ms;
    const char *ca_file;
} sc_upcheck_opts;

/* Starts the request. 0: cb runs exactly once; negative errno: cb never runs. The key is copied
 * into the request's headers and wiped from our own buffer before this returns. */
int sc_upcheck_start(sc_http_client *http, const sc_upcheck_opts *opts, sc_upcheck_cb cb,
                     void *arg);

#endif
