/* upstream_check.h - owns: one authenticated "is CometAPI reachable with this key" request
 * (GET {base_url}/models), run at startup, after a key rotation, and as the --once gate until the
 * canary engine takes that role. Each check is a telemetry source: it is classified with the
 * canary classifier and recorded as one CLIENT attempt (probe "upstream_check"), and it carries
 * X-Request-ID and traceparent so the upstream's logs can be joined. */
#ifndef SC_APP_UPSTREAM_CHECK_H
#define SC_APP_UPSTREAM_CHECK_H

#include <stdint.h>

#include "core/env.h"
#include "loop/http_client.h"
#include "telemetry/recorder.h"

typedef struct sc_upcheck_result {
    int ok;      /* 2xx with a JSON body */
    long status; /* 0 when no response */
    sc_status_class status_class;
    sc_error_class error_class;
    double total_s;
    char request_id[80]; /* upstream's id (header or error message), "" when absent */
} sc_upcheck_result;

typedef void (*sc_upcheck_cb)(const sc_upcheck_result *res, void *arg);

typedef struct sc_upcheck_opts {
    const char *base_url; /* includes /v1 */
    const char *api_key;  /* may be NULL: no Authorization header */
    uint32_t timeout_ms;
    uint32_t connect_timeout_ms;
    const char *ca_file;
    sc_recorder *recorder; /* may be NULL: nothing recorded */
} sc_upcheck_opts;

/* Starts the request. 0: cb runs exactly once; negative errno: cb never runs. The key is copied
 * into the request's headers and wiped from our own buffer before this returns. */
int sc_upcheck_start(const sc_env *env, sc_http_client *http, const sc_upcheck_opts *opts,
                     sc_upcheck_cb cb, void *arg);

#endif
