/* classify.h - owns: turning one finished canary attempt into (status class, error class,
 * retryable) from the transport outcome, HTTP status, Content-Type, the OpenAI-style error body
 * {"error":{"message","type","param","code"}} and, for 2xx answers, the contract result.
 *
 * Rules, first match wins:
 *   transport TIMEOUT -> timeout; RECV after a 2xx status -> stream_interrupted (the answer
 *   started and broke); TOO_LARGE -> parse_error (the answer cannot be checked; no retry fixes
 *   it); ABORTED (the engine stopped the body) -> the contract's class, else parse_error;
 *   DNS/CONNECT/TLS/SEND/RECV without status/CANCELLED/OTHER -> network_error (a cancelled
 *   attempt is shutdown, which the engine should not record at all). RECV after a 4xx/5xx
 *   status falls through to the status rules with whatever body arrived.
 *   2xx: text/html (Content-Type or a body starting with '<') -> parse_error,
 *   check html_instead_of_json; else the contract's own error class (error events, failed or
 *   incomplete responses, cut streams); else a fatal contract check -> parse_error; else none.
 *   3xx -> parse_error, check redirect (the client never follows redirects; CometAPI answers
 *   wrong paths that way). 1xx and >= 600 -> parse_error.
 *   401 -> auth_error. 403 -> policy_rejection with a policy code, else auth_error.
 *   404 -> HTML: parse_error + html_instead_of_json; code model_not_found or a message saying
 *   the model does not exist / was not found: model_not_found; else invalid_request (a JSON 404
 *   is a wrong path or resource: the probe is misconfigured).
 *   408 -> timeout. 429 -> quota_exceeded when code or type is insufficient_quota, else
 *   rate_limited. 402 -> quota_exceeded. Other 4xx (400, 422, ...) -> policy_rejection with a
 *   policy code, quota_exceeded with insufficient_quota, model_not_found with that code, else
 *   invalid_request.
 *   5xx with code model_not_found -> model_not_found: one-api/new-api style gateways (CometAPI
 *   among them) answer a model no channel serves with 503 + that code, and the unknown-model
 *   drill must see it fail closed; for a real model whose channels are all down it is the
 *   gateway's own word that it cannot route the name, which a retry seconds later rarely
 *   changes. 500 with code invalid_request -> invalid_request (CometAPI's non-retryable 500).
 *   Other 5xx (500 502 503 504 524 ...) -> upstream_error, HTML or not.
 * Policy codes (code or type): content_filter, content_policy_violation, moderation_blocked,
 * image_content_policy_violation, policy_violation.
 *
 * Retryable: rate_limited, upstream_error, timeout, network_error; stream_interrupted only when
 * no content had arrived.
 *
 * Privacy: the error message is read (to find a model-not-found wording and a request id) but
 * never copied. Only code/type tokens (SC_TOKEN_NAME charset, bounded) and a request id are kept;
 * a request id found in a message is ONLY the [A-Za-z0-9_-]{6,64} token after "request id:". */
#ifndef SC_CANARY_CLASSIFY_H
#define SC_CANARY_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "canary/contract.h"
#include "loop/http_client.h"
#include "telemetry/schema.h"

#define SC_CLASSIFY_TOKEN_LEN 48
#define SC_CLASSIFY_RID_LEN   72

typedef struct sc_classify_input {
    sc_http_error transport;  /* SC_HTTP_OK when the exchange completed */
    long status;              /* last HTTP status, 0 if none */
    const char *content_type; /* response Content-Type, NULL if unknown */
    const char *body;         /* buffered body (error bodies), NULL if none/streamed */
    size_t body_len;
    const char *request_id_header;      /* x-request-id (or request-id) value, NULL if absent */
    const sc_contract_result *contract; /* 2xx: the contract outcome; NULL when not checked */
    uint32_t fatal_checks;              /* contract checks that fail the attempt;
                                         * 0 = SC_CONTRACT_FATAL_DEFAULT */
} sc_classify_input;

typedef struct sc_classify_result {
    sc_status_class status_class;
    sc_error_class error_class;
    bool retryable;
    bool content_seen;                      /* from the contract (streams) */
    int check;                              /* sc_contract_check behind a parse_error, or -1 */
    char error_code[SC_CLASSIFY_TOKEN_LEN]; /* error.code token, "" when absent/not a token */
    char error_type[SC_CLASSIFY_TOKEN_LEN]; /* error.type token, "" likewise */
    char request_id[SC_CLASSIFY_RID_LEN];   /* header, else from the message, else "" */
} sc_classify_result;

/* Pure; in and out must not be NULL. All input pointers are only read during the call. */
void sc_classify_attempt(const sc_classify_input *in, sc_classify_result *out);

/* What an error code/type means when no HTTP status tells more (errors inside a 200 stream):
 * insufficient_quota -> quota_exceeded, rate_limit_exceeded (or type requests/tokens) ->
 * rate_limited, policy codes -> policy_rejection, model_not_found, invalid_api_key (or type
 * authentication_error) -> auth_error, server_error -> upstream_error, other invalid_* codes ->
 * invalid_request, else dflt. Either argument may be NULL. */
sc_error_class sc_classify_error_code(const char *code, const char *type, sc_error_class dflt);

bool sc_classify_retryable(sc_error_class c, bool content_seen);

/* Finds "request id" (any case) followed by optional ':' / spaces and a [A-Za-z0-9_-]{6,64}
 * token that ends at the end of the text or at a byte outside that set. Copies only the token
 * into out (cap >= 65 needed for the longest) and returns 0; -ENOENT when there is none
 * (out = ""), -EINVAL for bad arguments. */
int sc_classify_request_id_from_message(const char *msg, size_t len, char *out, size_t cap);

#endif
