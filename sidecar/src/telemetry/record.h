/* record.h - owns: the record types sources fill (sc_attempt_record, sc_run_record) and the pure
 * rules that classify a record (failed, plain success, error.type, bounded metric values).
 *
 * Sources (the canary engine, the access-log observer) only fill records; the recorder
 * (recorder.h) turns them into spans and metric updates per dashboards/telemetry-schema.md.
 * Records are plain structs, usually on the source's stack. Every sc_attr_str is BORROWED: it
 * must stay valid for the duration of the sc_recorder_* call and is never kept after it. Start
 * from sc_record_attempt_init / sc_record_run_init (zero plus "unknown" token counts).
 *
 * Strings are raw as the source saw them except where stated: the recorder normalises method,
 * operation, error.type, fallback reason, probe and contract check names to bounded value sets.
 * Never put a prompt, a completion, an API key or a raw URL path into a record. */
#ifndef SC_TELEMETRY_RECORD_H
#define SC_TELEMETRY_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "telemetry/attr.h"
#include "telemetry/schema.h"
#include "telemetry/span.h"

#define SC_RECORD_MAX_FINISH_REASONS 4
#define SC_RECORD_MAX_VIOLATIONS     8
#define SC_RECORD_MAX_DRIFT_FIELDS   16
#define SC_RECORD_TOKENS_UNKNOWN     (-1)

/* One HTTP attempt: a canary request (kind CLIENT) or one access-log line (kind SERVER). */
typedef struct sc_attempt_record {
    /* Origin and at-least-once acknowledgement: the span carries (source, source_seq) into the
     * span queue; seqs must be non-decreasing per source in call order (span_queue.h). */
    sc_source source;  /* SC_SOURCE_CANARY or SC_SOURCE_ACCESS_LOG */
    sc_span_kind kind; /* SC_SPAN_KIND_CLIENT (canary) or SC_SPAN_KIND_SERVER (access log) */
    uint64_t source_seq;

    /* Trace context. span: this attempt's own ids when has_span (from sc_recorder_begin_attempt,
     * so the canary can send its traceparent before the attempt ends); else the recorder draws
     * them. parent: the span this attempt is a child of when has_parent: for the canary the run
     * context from sc_recorder_begin_run (local), for the access log the traceparent the app sent
     * (parent_is_remote = 1), so the line's span joins the application's trace. */
    sc_span_context span;
    int has_span;
    sc_span_context parent;
    int has_parent;
    int parent_is_remote;

    /* HTTP */
    sc_attr_str method;     /* raw request method; normalised with sc_schema_http_method */
    sc_attr_str route;      /* route TEMPLATE ("/v1/chat/completions"), never a raw path: the
                               span's url.template (CLIENT) or http.route (SERVER) */
    int status_code;        /* HTTP response status; 0 = none received */
    sc_attr_str url_scheme; /* "https"; empty = unknown */
    sc_attr_str server_address;
    int server_port;       /* 0 = unknown */
    uint32_t resend_count; /* http.request.resend_count: 0 on the first try, n on the n-th retry */

    /* Outcome. The attempt FAILED when error_type is non-empty or error_class is not NONE. */
    sc_error_class error_class;
    sc_attr_str error_type; /* "429", "timeout", ...: the status code string or a low-cardinality
                               lower-case error name; empty = derive from error_class */
    sc_fallback_decision fallback;
    sc_attr_str fallback_reason; /* why, when fallback != NOT_NEEDED (an error class name) */

    /* GenAI. operation empty = not a GenAI operation (e.g. GET /v1/models): no gen_ai.* output. */
    sc_attr_str operation; /* gen_ai.operation.name: "chat" (chat completions and responses),
                              "text_completion", "embeddings" */
    sc_attr_str provider;  /* gen_ai.provider.name; empty = "openai" (CometAPI is OpenAI-
                              compatible). Another semconv value must be added to the schema
                              document's value set first; non-identifiers become "_OTHER" */
    sc_attr_str request_model;
    sc_attr_str response_model;
    sc_attr_str response_id; /* span attribute only */
    sc_attr_str finish_reasons[SC_RECORD_MAX_FINISH_REASONS];
    size_t n_finish_reasons;
    int usage_present;     /* the response carried a usage object */
    int usage_unknown;     /* the source cannot tell (an access-log layout without usage
                              fields): never counted as missing usage */
    int64_t input_tokens;  /* SC_RECORD_TOKENS_UNKNOWN (-1) = unknown */
    int64_t output_tokens; /* SC_RECORD_TOKENS_UNKNOWN (-1) = unknown */
    int stream;
    int content_before_cut; /* error_class stream_interrupted: content had arrived */

    /* Timing: unix nanoseconds; first_chunk_ns is the time to the first streamed chunk measured
     * from start_ns (0 = none). */
    uint64_t start_ns, end_ns;
    uint64_t first_chunk_ns;

    sc_attr_str probe;               /* canary: the probe's configured name */
    sc_attr_str upstream_request_id; /* the upstream's x-request-id: span attribute ONLY */

    /* Sampling input beyond what the fields above imply: 1 keeps the span whatever the ratio
     * (a source-side reason, e.g. a debug flag). See sc_record_attempt_plain_success. */
    int force_sample;
} sc_attempt_record;

/* One canary run: one GenAI operation (possibly several attempts, retries, a fallback). Its
 * span is the GenAI CLIENT span "{gen_ai.operation.name} {gen_ai.request.model}"; the attempt
 * spans are its children. */
typedef struct sc_run_record {
    uint64_t source_seq; /* canary seq, >= the seqs of its attempts */
    sc_span_context ctx; /* the run span's own ids, from sc_recorder_begin_run (required) */

    sc_attr_str probe;
    int passed;                 /* gateway.outcome: pass / fail */
    sc_error_class expected;    /* the error class the probe expects (NONE = expects success) */
    sc_error_class error_class; /* final error class (NONE when the operation succeeded) */
    sc_attr_str error_type;     /* final error.type; empty = derive from error_class */
    uint32_t retries;           /* attempts after the first */
    sc_fallback_decision fallback;
    sc_attr_str fallback_reason;

    /* GenAI, as for an attempt (the final attempt's response values). operation is required. */
    sc_attr_str operation;
    sc_attr_str provider;
    sc_attr_str request_model;
    sc_attr_str response_model;
    sc_attr_str response_id;
    sc_attr_str finish_reasons[SC_RECORD_MAX_FINISH_REASONS];
    size_t n_finish_reasons;
    int usage_present;
    int64_t input_tokens, output_tokens; /* -1 = unknown */
    int stream;
    uint64_t first_chunk_ns; /* from start_ns; 0 = none */
    sc_attr_str server_address;
    int server_port;

    uint64_t start_ns, end_ns; /* unix nanoseconds */
    uint64_t interval_ms;      /* the probe's configured interval (alerts count it); 0 = none */

    /* Contract checks that failed (their names; each is counted in gateway.contract.violations). */
    sc_attr_str violations[SC_RECORD_MAX_VIOLATIONS];
    size_t n_violations;

    /* Response shape drift: JSON field NAMES (paths) that appeared or disappeared, never values.
     * Any non-empty list adds a gateway.shape_drift event to the run span. */
    sc_attr_str drift_added[SC_RECORD_MAX_DRIFT_FIELDS];
    size_t n_drift_added;
    sc_attr_str drift_missing[SC_RECORD_MAX_DRIFT_FIELDS];
    size_t n_drift_missing;
} sc_run_record;

/* Zeroes the record and sets the token counts to unknown. */
void sc_record_attempt_init(sc_attempt_record *rec);
void sc_record_run_init(sc_run_record *rec);

/* 1 when the attempt failed: error_type non-empty or error_class != NONE. */
int sc_record_attempt_failed(const sc_attempt_record *rec);

/* 1 when a successful GenAI response (2xx, not failed, operation set) lacks usage (and the source
 * could tell: not usage_unknown). */
int sc_record_attempt_usage_missing(const sc_attempt_record *rec);

/* 1 for a "plain success": not failed, first try (resend_count 0), no fallback decision other
 * than NOT_NEEDED, usage not missing, and not force_sample. Only plain-success access-log lines
 * are subject to span sampling; everything else is always kept. */
int sc_record_attempt_plain_success(const sc_attempt_record *rec);

/* The bounded error.type value for a failure: `given` when it is a 3-digit status (100..599) or
 * a low-cardinality identifier ([a-z][a-z0-9_.]{0,63}); "_OTHER" for any other non-empty value;
 * the error class name when `given` is empty (NULL for SC_ERROR_CLASS_NONE: no error). The
 * result points into `given` or static storage. */
sc_attr_str sc_record_error_type(sc_attr_str given, sc_error_class cls);

/* `s` when it is a low-cardinality identifier ([a-z][a-z0-9_.]{0,63}), else "_OTHER" (used for
 * gen_ai.provider.name). */
sc_attr_str sc_record_identifier(sc_attr_str s);

/* `s` when it is a bounded token ([A-Za-z0-9_.-]{1,64}), else "_OTHER" (probe and contract
 * check names on metrics). */
sc_attr_str sc_record_bounded_token(sc_attr_str s);

/* OTel probability sampling: the rejection threshold T for keeping a share `ratio` (0..1) of
 * spans, keep when a 56-bit random value R >= T (T = round((1 - ratio) * 2^56); ratio <= 0 gives
 * 2^56, which nothing reaches). th receives T as the tracestate "th" value (14 hex digits,
 * trailing zeros removed; "0" keeps everything); it is left empty when ratio <= 0. */
#define SC_RECORD_TH_LEN 16
uint64_t sc_record_sampling_threshold(double ratio, char th[SC_RECORD_TH_LEN]);

/* Writes the W3C traceparent "00-<trace>-<span>-<flags>" of ctx and a NUL; returns
 * SC_TRACEPARENT_LEN. For the canary's outgoing request (the attempt's own context). */
int sc_record_traceparent(const sc_span_context *ctx, char out[SC_TRACEPARENT_LEN + 1]);

#endif
