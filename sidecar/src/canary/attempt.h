/* attempt.h - owns: ONE canary HTTP attempt: sending the request (canary/request.h) through the
 * shared HTTP client, reading the answer (buffered, or streamed through the SSE parser into the
 * stream contract, with the time to the first content chunk), checking the contract and
 * classifying the outcome (canary/classify.h). Retries, fallback and recording belong to the
 * engine.
 *
 * The attempt is a plain struct the caller embeds (one per run is enough: attempts of a run are
 * sequential). Results are filled in before done() runs and stay valid until the next start or
 * release. Callback rule as everywhere: start returning 0 means done() runs exactly once, later,
 * from a loop callback; an error return means it never runs. A cancelled attempt reports
 * transport SC_HTTP_ERR_CANCELLED (shutdown: the engine records nothing for it).
 *
 * Kept from the answer: classes, counts, charset-filtered tokens (request ids, model, response
 * id, field names) only. The first SC_CANARY_ERROR_BODY_MAX bytes of a streamed answer are kept
 * (in memory, for classification of an error body sent instead of a stream) and freed with the
 * attempt. Nothing is logged. */
#ifndef SC_CANARY_ATTEMPT_H
#define SC_CANARY_ATTEMPT_H

#include <stdbool.h>
#include <stdint.h>

#include "canary/classify.h"
#include "canary/contract_stream.h"
#include "canary/probe_config.h"
#include "canary/request.h"
#include "canary/sse.h"
#include "core/env.h"
#include "loop/http_client.h"
#include "telemetry/span.h"

#define SC_CANARY_ERROR_BODY_MAX (16u * 1024u)
#define SC_CANARY_SSE_EVENT_MAX  (256u * 1024u)

typedef struct sc_canary_attempt sc_canary_attempt;
typedef void (*sc_canary_attempt_cb)(sc_canary_attempt *a, void *arg);

typedef struct sc_canary_attempt_opts {
    const sc_probe *probe;
    const char *base_url; /* primary or fallback route */
    const char *model;    /* requested (NULL for models) */
    const char *api_key;  /* current key; NULL: none known */
    uint32_t timeout_ms;  /* whole attempt */
    uint32_t connect_timeout_ms;
    size_t max_response_bytes; /* 0: the client default */
    const char *ca_file;
    sc_span_context span;  /* this attempt's own context, sent as traceparent */
    uint32_t fatal_checks; /* contract checks that fail the attempt (classify.h) */
} sc_canary_attempt_opts;

struct sc_canary_attempt {
    /* ---- results (valid from done() until the next start / release) ---- */
    sc_http_error transport;
    long status;
    sc_classify_result cls;
    sc_contract_result contract; /* meaningful when contract_checked */
    bool contract_checked;       /* a 2xx answer was checked */
    int64_t retry_after_ms;      /* parsed Retry-After, -1 when absent or invalid */
    uint64_t start_ns, end_ns;   /* wall clock */
    uint64_t first_content_ns;   /* wall clock of the first content chunk; 0 = none */
    char request_id[SC_CANARY_REQUEST_ID_LEN + 1]; /* our X-Request-ID */
    sc_span_context span;

    /* ---- private ---- */
    const sc_env *env;
    sc_http_request *req;
    sc_canary_attempt_cb done;
    void *arg;
    bool streaming, models, in_flight;
    sc_contract_api api;
    sc_sse sse;
    sc_contract_stream cs;
    sc_buf head; /* first bytes of a streamed answer */
    uint32_t fatal_checks;
    char model[SC_CONTRACT_MODEL_LEN];
};

/* Zeroes a (new) attempt. */
void sc_canary_attempt_init(sc_canary_attempt *a);

/* Builds and sends the request. o and everything it points to are only read during the call.
 * 0, or a negative errno (request building, the HTTP client's refusals, the rng). */
int sc_canary_attempt_start(sc_canary_attempt *a, const sc_env *env, sc_http_client *http,
                            const sc_canary_attempt_opts *o, sc_canary_attempt_cb done, void *arg);

/* Cancels an attempt in flight (done() then runs with SC_HTTP_ERR_CANCELLED); a no-op otherwise.
 */
void sc_canary_attempt_cancel(sc_canary_attempt *a);

bool sc_canary_attempt_in_flight(const sc_canary_attempt *a);

/* Frees the parser buffers. Not while in flight. Safe to call repeatedly. */
void sc_canary_attempt_release(sc_canary_attempt *a);

/* Checks a GET /models body ({"object":"list","data":[...]}) into r: invalid_json / empty_body
 * / wrong_object (not a list or no data array) and the top-level field names. Pure. */
void sc_canary_check_models_body(const char *body, size_t len, sc_contract_result *r);

#endif
