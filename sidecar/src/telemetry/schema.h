/* schema.h - owns: the PINNED telemetry schema. Dashboards and alerts match these exact strings,
 * so every attribute key, enumerated value, metric name, unit, kind and bucket boundary the sidecar
 * emits is defined here and nowhere else. Changing one is a breaking change for users.
 *
 * OTel semantic-convention names (http.*, url.*, server.*, error.type, gen_ai.*, otel.*) follow
 * the published conventions; the gateway.* and sidecar.* namespaces are this project's own.
 * Everything here is constant data or a pure function: no state, no allocation. Returned strings
 * have static storage duration. */
#ifndef SC_TELEMETRY_SCHEMA_H
#define SC_TELEMETRY_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

/* ---- Attribute keys: OTel semantic conventions ------------------------------------------- */
#define SC_ATTR_HTTP_REQUEST_METHOD        "http.request.method"
#define SC_ATTR_HTTP_ROUTE                 "http.route"
#define SC_ATTR_URL_TEMPLATE               "url.template"
#define SC_ATTR_HTTP_RESPONSE_STATUS_CODE  "http.response.status_code"
#define SC_ATTR_ERROR_TYPE                 "error.type"
#define SC_ATTR_HTTP_REQUEST_RESEND_COUNT  "http.request.resend_count"
#define SC_ATTR_SERVER_ADDRESS             "server.address"
#define SC_ATTR_SERVER_PORT                "server.port"
#define SC_ATTR_URL_SCHEME                 "url.scheme"
#define SC_ATTR_GEN_AI_OPERATION_NAME      "gen_ai.operation.name"
#define SC_ATTR_GEN_AI_PROVIDER_NAME       "gen_ai.provider.name"
#define SC_ATTR_GEN_AI_REQUEST_MODEL       "gen_ai.request.model"
#define SC_ATTR_GEN_AI_RESPONSE_MODEL      "gen_ai.response.model"
#define SC_ATTR_GEN_AI_RESPONSE_ID         "gen_ai.response.id"
#define SC_ATTR_GEN_AI_RESPONSE_FINISH     "gen_ai.response.finish_reasons" /* string[] */
#define SC_ATTR_GEN_AI_USAGE_INPUT_TOKENS  "gen_ai.usage.input_tokens"
#define SC_ATTR_GEN_AI_USAGE_OUTPUT_TOKENS "gen_ai.usage.output_tokens"
#define SC_ATTR_GEN_AI_TOKEN_TYPE          "gen_ai.token.type"
#define SC_ATTR_OTEL_METRIC_OVERFLOW       "otel.metric.overflow" /* bool, only on overflow */
#define SC_ATTR_HTTP_REQUEST_METHOD_ORIGINAL                                                       \
    "http.request.method_original" /* when method is _OTHER */
#define SC_ATTR_GEN_AI_RESPONSE_TTFC "gen_ai.response.time_to_first_chunk" /* double, s */
#define SC_ATTR_OTEL_COMPONENT_TYPE  "otel.component.type"                 /* SC_OTEL_COMPONENT_* */
#define SC_ATTR_OTEL_COMPONENT_NAME  "otel.component.name"                 /* "{type}/{index}" */

/* ---- Attribute keys: project namespace ----------------------------------------------------- */
#define SC_ATTR_GATEWAY_SOURCE            "gateway.source"       /* SC_SOURCE_NAME_* */
#define SC_ATTR_GATEWAY_STATUS_CLASS      "gateway.status_class" /* sc_schema_status_class_name */
#define SC_ATTR_GATEWAY_ERROR_CLASS       "gateway.error_class"  /* sc_schema_error_class_name */
#define SC_ATTR_GATEWAY_FALLBACK_DECISION "gateway.fallback.decision"
#define SC_ATTR_GATEWAY_FALLBACK_REASON   "gateway.fallback.reason" /* sc_schema_fallback_reason */
#define SC_ATTR_GATEWAY_USAGE_PRESENT     "gateway.usage.present"   /* bool */
#define SC_ATTR_GATEWAY_PROBE             "gateway.probe"
#define SC_ATTR_GATEWAY_OUTCOME           "gateway.outcome" /* SC_OUTCOME_* */
#define SC_ATTR_GATEWAY_STREAM            "gateway.stream"  /* bool */
#define SC_ATTR_GATEWAY_CONTRACT_CHECK    "gateway.contract.check"
/* Span-only keys (never on a metric: unbounded or list-valued). */
#define SC_ATTR_GATEWAY_UPSTREAM_REQUEST_ID    "gateway.upstream.request_id"
#define SC_ATTR_GATEWAY_RETRY_COUNT            "gateway.retry.count"    /* int, run span */
#define SC_ATTR_GATEWAY_PROBE_EXPECTED         "gateway.probe.expected" /* error class name */
#define SC_ATTR_GATEWAY_CONTRACT_FAILED_CHECKS "gateway.contract.failed_checks" /* string[] */
/* bool, on an attempt that ended stream_interrupted: content had arrived before the cut (such a
 * stream is neither retried nor a fallback trigger, since the caller already showed output). */
#define SC_ATTR_GATEWAY_STREAM_CONTENT_BEFORE_CUT "gateway.stream.content_before_cut"
#define SC_ATTR_GATEWAY_SHAPE_ADDED               "gateway.shape.added" /* string[], field names */
#define SC_ATTR_GATEWAY_SHAPE_MISSING             "gateway.shape.missing" /* string[], field names */

/* ---- Span event names ------------------------------------------------------------------------ */
#define SC_EVENT_GATEWAY_SHAPE_DRIFT "gateway.shape_drift"

/* ---- Enumerated values ----------------------------------------------------------------------- */
#define SC_OUTCOME_PASS          "pass"
#define SC_OUTCOME_FAIL          "fail"
#define SC_TOKEN_TYPE_INPUT      "input"
#define SC_TOKEN_TYPE_OUTPUT     "output"
#define SC_HTTP_METHOD_OTHER     "_OTHER"
#define SC_FALLBACK_REASON_NONE  "none"
#define SC_FALLBACK_REASON_OTHER "_OTHER"
#define SC_VALUE_OTHER           "_OTHER" /* any bounded value set's "something else" */
/* gen_ai.provider.name: CometAPI is OpenAI-compatible, and the OpenAI semconv says "openai". */
#define SC_GEN_AI_PROVIDER_OPENAI "openai"
/* otel.component.type well-known values (semconv) for the SDK self-metrics. */
#define SC_OTEL_COMPONENT_BATCHING_SPAN_PROCESSOR        "batching_span_processor"
#define SC_OTEL_COMPONENT_OTLP_HTTP_SPAN_EXPORTER        "otlp_http_span_exporter"
#define SC_OTEL_COMPONENT_OTLP_HTTP_JSON_SPAN_EXPORTER   "otlp_http_json_span_exporter"
#define SC_OTEL_COMPONENT_OTLP_HTTP_METRIC_EXPORTER      "otlp_http_metric_exporter"
#define SC_OTEL_COMPONENT_OTLP_HTTP_JSON_METRIC_EXPORTER "otlp_http_json_metric_exporter"
#define SC_OTEL_COMPONENT_PERIODIC_METRIC_READER         "periodic_metric_reader"
/* The file and console exporters have no semconv value (the attribute is an open enum). */
#define SC_OTEL_COMPONENT_FILE_SPAN_EXPORTER      "file_span_exporter"
#define SC_OTEL_COMPONENT_FILE_METRIC_EXPORTER    "file_metric_exporter"
#define SC_OTEL_COMPONENT_CONSOLE_SPAN_EXPORTER   "console_span_exporter"
#define SC_OTEL_COMPONENT_CONSOLE_METRIC_EXPORTER "console_metric_exporter"
/* error.type values on sidecar.telemetry.dropped: why telemetry was lost. queue_full is the
 * OTel SDK's own name (otel.sdk.processor.span.processed); the others are the exporter's. */
#define SC_DROP_REASON_QUEUE_FULL      "queue_full"      /* span queue full: producer dropped it */
#define SC_DROP_REASON_EXPORT_FAILED   "export_failed"   /* could not be encoded, written or sent */
#define SC_DROP_REASON_NON_RETRYABLE   "non_retryable"   /* refused for good (400, 401, 413, ...) */
#define SC_DROP_REASON_RETRY_EXHAUSTED "retry_exhausted" /* retryable failures past the budget */
#define SC_DROP_REASON_SHUTDOWN        "shutdown" /* still pending at the shutdown deadline */

/* Where a record came from: gateway.source, and the span queue's per-source acknowledgement tag.
 * SC_SOURCE_NONE marks the sidecar's own spans (never acknowledged). */
typedef enum {
    SC_SOURCE_NONE = 0,
    SC_SOURCE_CANARY,
    SC_SOURCE_ACCESS_LOG,
    SC_SOURCE__COUNT
} sc_source;

typedef enum {
    SC_STATUS_CLASS_1XX = 0,
    SC_STATUS_CLASS_2XX,
    SC_STATUS_CLASS_3XX,
    SC_STATUS_CLASS_4XX,
    SC_STATUS_CLASS_5XX,
    SC_STATUS_CLASS_NETWORK_ERROR, /* no valid HTTP status was received */
    SC_STATUS_CLASS__COUNT
} sc_status_class;

typedef enum {
    SC_ERROR_CLASS_NONE = 0,
    SC_ERROR_CLASS_AUTH_ERROR,
    SC_ERROR_CLASS_INVALID_REQUEST,
    SC_ERROR_CLASS_MODEL_NOT_FOUND,
    SC_ERROR_CLASS_RATE_LIMITED,
    SC_ERROR_CLASS_QUOTA_EXCEEDED,
    SC_ERROR_CLASS_POLICY_REJECTION,
    SC_ERROR_CLASS_UPSTREAM_ERROR,
    SC_ERROR_CLASS_TIMEOUT,
    SC_ERROR_CLASS_NETWORK_ERROR,
    SC_ERROR_CLASS_PARSE_ERROR,
    SC_ERROR_CLASS_STREAM_INTERRUPTED,
    SC_ERROR_CLASS__COUNT
} sc_error_class;

typedef enum {
    SC_FALLBACK_NOT_NEEDED = 0,
    SC_FALLBACK_ALLOWED,
    SC_FALLBACK_USED,
    SC_FALLBACK_FAILED_CLOSED,
    SC_FALLBACK__COUNT
} sc_fallback_decision;

/* Names return the pinned string, or NULL for an out-of-range value (SC_SOURCE_NONE included).
 * Parsers are pure, exact and case-sensitive over (p, len) (config values are written in the
 * pinned spelling): 0 and *out set, or -EINVAL with *out untouched. */
const char *sc_schema_source_name(sc_source s);
int sc_schema_source_parse(const char *p, size_t len, sc_source *out);
const char *sc_schema_status_class_name(sc_status_class c);
int sc_schema_status_class_parse(const char *p, size_t len, sc_status_class *out);
const char *sc_schema_error_class_name(sc_error_class c);
int sc_schema_error_class_parse(const char *p, size_t len, sc_error_class *out);
const char *sc_schema_fallback_decision_name(sc_fallback_decision d);
int sc_schema_fallback_decision_parse(const char *p, size_t len, sc_fallback_decision *out);

/* HTTP status -> class. 100..599 map to their class; anything else (0 for "no response",
 * negatives, >= 600) is SC_STATUS_CLASS_NETWORK_ERROR. */
sc_status_class sc_schema_status_class(int status);

/* http.request.method per HTTP semconv: one of GET HEAD POST PUT DELETE CONNECT OPTIONS TRACE
 * PATCH, matched exactly (methods are case-sensitive), else "_OTHER". Bounded cardinality. */
const char *sc_schema_http_method(const char *p, size_t len);

/* gateway.fallback.reason: "none", an allow-listed reason (the error classes that may trigger a
 * fallback: rate_limited quota_exceeded upstream_error timeout network_error model_not_found
 * stream_interrupted), or "_OTHER" for anything else, so the value set stays bounded. */
const char *sc_schema_fallback_reason(const char *p, size_t len);

/* gen_ai.operation.name: one of chat, text_completion, embeddings (matched exactly), else
 * "_OTHER". Both /v1/chat/completions and /v1/responses are "chat" (the OpenAI semconv tells
 * them apart with openai.api.type, which the route already gives). */
const char *sc_schema_gen_ai_operation(const char *p, size_t len);

/* The allow-lists behind sc_schema_http_method, sc_schema_fallback_reason and
 * sc_schema_gen_ai_operation ("_OTHER" not included), so tests and docs can enumerate them. */
const char *const *sc_schema_http_methods(size_t *n);
const char *const *sc_schema_fallback_reasons(size_t *n);
const char *const *sc_schema_gen_ai_operations(size_t *n);

/* ---- Metrics --------------------------------------------------------------------------------- */

/* Instrument kinds, mapped to OTLP data: COUNTER -> Sum(monotonic, int), UPDOWN_COUNTER ->
 * Sum(non-monotonic, int), GAUGE -> Gauge(double), HISTOGRAM -> Histogram(explicit buckets). */
typedef enum {
    SC_METRIC_KIND_COUNTER = 1,
    SC_METRIC_KIND_UPDOWN_COUNTER,
    SC_METRIC_KIND_GAUGE,
    SC_METRIC_KIND_HISTOGRAM
} sc_metric_kind;

typedef struct sc_metric_def {
    const char *name;
    const char *unit; /* UCUM, as in semconv ("s", "By", "{request}") */
    const char *description;
    sc_metric_kind kind;
    const double *bounds; /* histograms only: strictly increasing explicit bucket boundaries */
    size_t n_bounds;
} sc_metric_def;

typedef enum {
    SC_METRIC_GATEWAY_REQUESTS = 0,
    SC_METRIC_GATEWAY_RETRIES,
    SC_METRIC_GATEWAY_FALLBACKS,
    SC_METRIC_GATEWAY_USAGE_MISSING,
    SC_METRIC_GATEWAY_CANARY_RUNS,
    SC_METRIC_GATEWAY_CANARY_LAST_SUCCESS,
    SC_METRIC_GATEWAY_CANARY_INTERVAL,
    SC_METRIC_GATEWAY_CONTRACT_VIOLATIONS,
    SC_METRIC_HTTP_CLIENT_REQUEST_DURATION,
    SC_METRIC_HTTP_SERVER_REQUEST_DURATION,
    SC_METRIC_GEN_AI_CLIENT_OPERATION_DURATION,
    SC_METRIC_GEN_AI_CLIENT_TIME_TO_FIRST_CHUNK,
    SC_METRIC_GEN_AI_CLIENT_TOKEN_USAGE,
    SC_METRIC_OTEL_SDK_EXPORTER_SPAN_EXPORTED,
    SC_METRIC_OTEL_SDK_EXPORTER_METRIC_DATA_POINT_EXPORTED,
    SC_METRIC_OTEL_SDK_PROCESSOR_SPAN_QUEUE_SIZE,
    SC_METRIC_OTEL_SDK_PROCESSOR_SPAN_QUEUE_CAPACITY,
    SC_METRIC_OTEL_SDK_EXPORTER_OPERATION_DURATION,
    SC_METRIC_ACCESSLOG_LINES_READ,
    SC_METRIC_ACCESSLOG_LINES_PARSED,
    SC_METRIC_ACCESSLOG_LINES_MALFORMED, /* by error.type = reason */
    SC_METRIC_ACCESSLOG_LINES_TOO_LONG,
    SC_METRIC_ACCESSLOG_LAG,
    SC_METRIC_ACCESSLOG_ROTATIONS,
    SC_METRIC_ACCESSLOG_TRUNCATIONS,
    SC_METRIC_ACCESSLOG_PAUSED,
    SC_METRIC_TELEMETRY_DROPPED, /* by error.type = SC_DROP_REASON_* */
    SC_METRIC_ACCESSLOG_CHECKPOINT_FAILURES,
    SC_METRIC_EVIDENCE_FAILURES,
    SC_METRIC__COUNT
} sc_metric_id;

/* The definition of one schema metric (static storage), or NULL when id is out of range. */
const sc_metric_def *sc_schema_metric(sc_metric_id id);

#endif
