/* contract.h - owns: the response contract of CometAPI's OpenAI-compatible endpoints, checked on
 * non-streaming bodies (chat.completion, Responses API "response"), plus the check names and the
 * building blocks contract_stream.c reuses for streams.
 *
 * Check names are pinned: they are the values of the gateway.contract.check metric attribute.
 * A result records WHICH checks failed (a bitset), never why in free text. From a body the
 * result keeps only bounded, charset-filtered tokens (response id, model, finish reasons, error
 * code, field names) and counts (tokens, content characters): never content, never error
 * messages. When a body is not a JSON object at all, only that one check (empty_body,
 * html_instead_of_json or invalid_json) is reported: the others were not evaluated.
 *
 * Fatal versus soft: SC_CONTRACT_FATAL_DEFAULT lists the checks after which the answer is not
 * usable (the attempt is a parse_error, see classify.h); the others (missing_id,
 * missing_finish_reason, missing_model, missing_usage, usage_not_integer, model_substituted,
 * shape_drift) are violations to count while the request itself succeeded.
 *
 * Content rule (both APIs, both modes): a chat answer needs a non-empty content or refusal in
 * choices[0]; a Responses answer needs a non-empty output_text (or refusal) part. An empty
 * completion to a canary prompt is a failure, not a pass.
 *
 * Model rule (sc_contract_model_matches): the response model must equal the requested one, or be
 * the requested one plus a snapshot date suffix as OpenAI names snapshots: "-YYYY-MM-DD"
 * (gpt-4o-mini-2024-07-18), "-MMDD" (gpt-3.5-turbo-0125) or "-YYYYMMDD" (claude-3-5-sonnet-
 * 20240620, as CometAPI passes Anthropic names through). Nothing else: no provider prefixes
 * ("openai/gpt-4o"), no case folding, and a dated request answered by an undated or differently
 * dated model is a substitution. */
#ifndef SC_CANARY_CONTRACT_H
#define SC_CANARY_CONTRACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "canary/shape.h"
#include "telemetry/schema.h"

typedef enum {
    SC_CHECK_INVALID_JSON = 0,       /* not parseable, or not a JSON object */
    SC_CHECK_MISSING_ID,             /* no non-empty string id */
    SC_CHECK_WRONG_OBJECT,           /* object != chat.completion / response */
    SC_CHECK_MISSING_CHOICES,        /* choices not a non-empty array (stream: in no chunk) */
    SC_CHECK_MISSING_CONTENT,        /* no non-empty content or refusal */
    SC_CHECK_MISSING_FINISH_REASON,  /* choices[0] without one (stream: no chunk had one) */
    SC_CHECK_MISSING_MODEL,          /* no non-empty string model */
    SC_CHECK_MISSING_USAGE,          /* usage absent or null (stream: when it was asked for) */
    SC_CHECK_USAGE_NOT_INTEGER,      /* a token count missing, not an integer, or negative */
    SC_CHECK_MODEL_SUBSTITUTED,      /* model differs from the requested one (rule above) */
    SC_CHECK_SHAPE_DRIFT,            /* set by the caller from sc_shape_compare */
    SC_CHECK_MISSING_DONE,           /* chat stream ended without data: [DONE] */
    SC_CHECK_WRONG_CHUNK_OBJECT,     /* stream event of the wrong object / type */
    SC_CHECK_MISSING_OUTPUT_TEXT,    /* Responses: no output_text part with text */
    SC_CHECK_WRONG_STATUS,           /* Responses: status != completed */
    SC_CHECK_MISSING_TERMINAL_EVENT, /* Responses stream ended without a terminal event */
    SC_CHECK_HTML_INSTEAD_OF_JSON,   /* an HTML page where JSON belongs */
    SC_CHECK_REDIRECT,               /* a 3xx where an answer belongs */
    SC_CHECK_EMPTY_BODY,             /* 2xx with an empty (or all-whitespace) body */
    SC_CHECK_ERROR_EVENT,            /* an error object inside a 2xx body or stream */
    SC_CHECK__COUNT
} sc_contract_check;

#define SC_CHECK_BIT(c) (UINT32_C(1) << (c))

#define SC_CONTRACT_FATAL_DEFAULT                                                                  \
    (SC_CHECK_BIT(SC_CHECK_INVALID_JSON) | SC_CHECK_BIT(SC_CHECK_WRONG_OBJECT) |                   \
     SC_CHECK_BIT(SC_CHECK_MISSING_CHOICES) | SC_CHECK_BIT(SC_CHECK_MISSING_CONTENT) |             \
     SC_CHECK_BIT(SC_CHECK_MISSING_DONE) | SC_CHECK_BIT(SC_CHECK_WRONG_CHUNK_OBJECT) |             \
     SC_CHECK_BIT(SC_CHECK_MISSING_OUTPUT_TEXT) | SC_CHECK_BIT(SC_CHECK_WRONG_STATUS) |            \
     SC_CHECK_BIT(SC_CHECK_MISSING_TERMINAL_EVENT) | SC_CHECK_BIT(SC_CHECK_HTML_INSTEAD_OF_JSON) | \
     SC_CHECK_BIT(SC_CHECK_REDIRECT) | SC_CHECK_BIT(SC_CHECK_EMPTY_BODY) |                         \
     SC_CHECK_BIT(SC_CHECK_ERROR_EVENT))

/* Pinned snake_case name ("invalid_json", ...), or NULL when out of range. Static storage. */
const char *sc_contract_check_name(sc_contract_check c);
/* Exact, case-sensitive. 0 and *out set, or -EINVAL. */
int sc_contract_check_parse(const char *p, size_t len, sc_contract_check *out);

typedef enum { SC_CONTRACT_API_CHAT = 0, SC_CONTRACT_API_RESPONSES } sc_contract_api;

#define SC_CONTRACT_ID_LEN     128
#define SC_CONTRACT_MODEL_LEN  128
#define SC_CONTRACT_CODE_LEN   48
#define SC_CONTRACT_FINISH_MAX 4
#define SC_CONTRACT_FINISH_LEN 32

typedef struct sc_contract_result {
    uint32_t failed;            /* SC_CHECK_BIT set */
    sc_error_class error_class; /* error carried inside a 2xx (error event, failed/incomplete
                                 * response, cut stream); SC_ERROR_CLASS_NONE otherwise */
    char error_code[SC_CONTRACT_CODE_LEN]; /* its code token, "" when none/not a token */
    bool usage_present;
    int64_t input_tokens, output_tokens, total_tokens; /* -1 when absent or invalid */
    char response_id[SC_CONTRACT_ID_LEN];              /* "" when absent or not a token */
    char response_model[SC_CONTRACT_MODEL_LEN];        /* "" when absent or not a token */
    char finish_reasons[SC_CONTRACT_FINISH_MAX][SC_CONTRACT_FINISH_LEN]; /* distinct tokens */
    uint8_t n_finish;
    sc_shape_names fields;  /* top-level names (chat stream: union over chunks; Responses
                             * stream: of the terminal event's response object) */
    bool content_seen;      /* non-empty content/refusal arrived */
    bool refusal;           /* ...and some of it was a refusal */
    uint64_t content_chars; /* Unicode code points of content + refusal text, never the text */
    bool terminated;        /* streams: [DONE] or a terminal event arrived */
    uint32_t events;        /* streams: events processed */
} sc_contract_result;

void sc_contract_result_init(sc_contract_result *r);

/* Checks a complete non-streaming body. requested_model may be NULL (no substitution check).
 * Returns 0 with *out filled, or -EINVAL (out NULL, or body NULL with len > 0). */
int sc_contract_check_body(sc_contract_api api, const char *body, size_t len,
                           const char *requested_model, sc_contract_result *out);

bool sc_contract_model_matches(const char *requested, const char *response);

/* The lowest-numbered check set in failed & mask, or -1 when none. */
int sc_contract_first_check(uint32_t failed, uint32_t mask);

/* ---- Building blocks for contract_stream.c (trees it parsed itself; r is the accumulating
 * result). Not meant for other callers. ------------------------------------------------------ */

/* Counts code points of a non-empty string member and marks content_seen; returns true if any. */
bool sc_contract_count_text(sc_contract_result *r, const cJSON *s, bool is_refusal);
void sc_contract_note_model(sc_contract_result *r, const cJSON *obj, const char *requested);
void sc_contract_note_id(sc_contract_result *r, const cJSON *obj);
void sc_contract_note_finish(sc_contract_result *r, const cJSON *finish_reason);
/* usage: the "usage" member (may be NULL/null: missing_usage is then NOT set, the caller decides).
 */
void sc_contract_note_usage(sc_contract_result *r, const cJSON *usage, sc_contract_api api);
/* An OpenAI error object ({"code","type",...}) -> error_event, error_class, error_code. */
void sc_contract_note_error(sc_contract_result *r, const cJSON *err, sc_error_class dflt);
/* Full checks of a Responses "response" object (non-stream body or terminal stream event).
 * count_text: add output text to content_chars (false for streams, which count the deltas). */
void sc_contract_check_response(sc_contract_result *r, const cJSON *resp, const char *requested,
                                bool count_text);
void sc_contract_collect_names(sc_shape_names *names, const cJSON *obj);
/* Parses exactly (p, len) (no NUL needed; trailing non-whitespace fails). NULL on failure;
 * otherwise the caller owns the tree (cJSON_Delete). */
cJSON *sc_contract_parse(const char *p, size_t len);

#endif
