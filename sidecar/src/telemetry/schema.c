/* schema.c - owns: the name tables behind schema.h and the metric definition table. */
#include "telemetry/schema.h"

#include <errno.h>
#include <string.h>

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static const char *const source_names[SC_SOURCE__COUNT] = {
    [SC_SOURCE_CANARY] = "canary",
    [SC_SOURCE_ACCESS_LOG] = "access_log",
};

static const char *const status_class_names[SC_STATUS_CLASS__COUNT] = {
    "1xx", "2xx", "3xx", "4xx", "5xx", "network_error",
};

static const char *const error_class_names[SC_ERROR_CLASS__COUNT] = {
    "none",         "auth_error",     "invalid_request",  "model_not_found",
    "rate_limited", "quota_exceeded", "policy_rejection", "upstream_error",
    "timeout",      "network_error",  "parse_error",      "stream_interrupted",
};

static const char *const fallback_names[SC_FALLBACK__COUNT] = {
    "not_needed",
    "allowed",
    "used",
    "failed_closed",
};

static const char *const http_methods[] = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
};

static const char *const fallback_reasons[] = {
    SC_FALLBACK_REASON_NONE, "rate_limited",    "quota_exceeded",     "upstream_error", "timeout",
    "network_error",         "model_not_found", "stream_interrupted",
};

static const char *const gen_ai_operations[] = {"chat", "text_completion", "embeddings"};

static int slice_eq(const char *p, size_t len, const char *s)
{
    return s != NULL && strlen(s) == len && (len == 0 || memcmp(p, s, len) == 0);
}

/* Index of (p, len) in names[0..n), or -1. NULL entries never match. */
static int lookup(const char *const *names, size_t n, const char *p, size_t len)
{
    if (p == NULL && len > 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (slice_eq(p, len, names[i]))
            return (int)i;
    return -1;
}

static const char *name_at(const char *const *names, size_t n, int v)
{
    return v >= 0 && (size_t)v < n ? names[v] : NULL;
}

const char *sc_schema_source_name(sc_source s)
{
    return name_at(source_names, COUNT_OF(source_names), (int)s);
}

int sc_schema_source_parse(const char *p, size_t len, sc_source *out)
{
    int i = lookup(source_names, COUNT_OF(source_names), p, len);
    if (i < 0)
        return -EINVAL;
    *out = (sc_source)i;
    return 0;
}

const char *sc_schema_status_class_name(sc_status_class c)
{
    return name_at(status_class_names, COUNT_OF(status_class_names), (int)c);
}

int sc_schema_status_class_parse(const char *p, size_t len, sc_status_class *out)
{
    int i = lookup(status_class_names, COUNT_OF(status_class_names), p, len);
    if (i < 0)
        return -EINVAL;
    *out = (sc_status_class)i;
    return 0;
}

const char *sc_schema_error_class_name(sc_error_class c)
{
    return name_at(error_class_names, COUNT_OF(error_class_names), (int)c);
}

int sc_schema_error_class_parse(const char *p, size_t len, sc_error_class *out)
{
    int i = lookup(error_class_names, COUNT_OF(error_class_names), p, len);
    if (i < 0)
        return -EINVAL;
    *out = (sc_error_class)i;
    return 0;
}

const char *sc_schema_fallback_decision_name(sc_fallback_decision d)
{
    return name_at(fallback_names, COUNT_OF(fallback_names), (int)d);
}

int sc_schema_fallback_decision_parse(const char *p, size_t len, sc_fallback_decision *out)
{
    int i = lookup(fallback_names, COUNT_OF(fallback_names), p, len);
    if (i < 0)
        return -EINVAL;
    *out = (sc_fallback_decision)i;
    return 0;
}

sc_status_class sc_schema_status_class(int status)
{
    if (status < 100 || status > 599)
        return SC_STATUS_CLASS_NETWORK_ERROR;
    return (sc_status_class)(SC_STATUS_CLASS_1XX + (status / 100 - 1));
}

const char *sc_schema_http_method(const char *p, size_t len)
{
    int i = lookup(http_methods, COUNT_OF(http_methods), p, len);
    return i < 0 ? SC_HTTP_METHOD_OTHER : http_methods[i];
}

const char *sc_schema_fallback_reason(const char *p, size_t len)
{
    int i = lookup(fallback_reasons, COUNT_OF(fallback_reasons), p, len);
    return i < 0 ? SC_FALLBACK_REASON_OTHER : fallback_reasons[i];
}

const char *sc_schema_gen_ai_operation(const char *p, size_t len)
{
    int i = lookup(gen_ai_operations, COUNT_OF(gen_ai_operations), p, len);
    return i < 0 ? SC_VALUE_OTHER : gen_ai_operations[i];
}

const char *const *sc_schema_http_methods(size_t *n)
{
    *n = COUNT_OF(http_methods);
    return http_methods;
}

const char *const *sc_schema_fallback_reasons(size_t *n)
{
    *n = COUNT_OF(fallback_reasons);
    return fallback_reasons;
}

const char *const *sc_schema_gen_ai_operations(size_t *n)
{
    *n = COUNT_OF(gen_ai_operations);
    return gen_ai_operations;
}

/* ---- Metric table ---------------------------------------------------------------------------- */

/* HTTP semconv advised boundaries for http.{client,server}.request.duration. */
static const double http_duration_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                              0.5,   0.75, 1,     2.5,  5,     7.5, 10};
/* GenAI semconv advised boundaries for gen_ai.client.operation.duration and (same list)
 * gen_ai.client.operation.time_to_first_chunk. */
static const double gen_ai_duration_bounds[] = {0.01, 0.02, 0.04, 0.08,  0.16,  0.32,  0.64,
                                                1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92};
static const double gen_ai_token_bounds[] = {
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864};

#define COUNTER(id, n, u, d)      [id] = {n, u, d, SC_METRIC_KIND_COUNTER, NULL, 0}
#define UPDOWN(id, n, u, d)       [id] = {n, u, d, SC_METRIC_KIND_UPDOWN_COUNTER, NULL, 0}
#define GAUGE(id, n, u, d)        [id] = {n, u, d, SC_METRIC_KIND_GAUGE, NULL, 0}
#define HISTOGRAM(id, n, u, d, b) [id] = {n, u, d, SC_METRIC_KIND_HISTOGRAM, b, COUNT_OF(b)}

static const sc_metric_def metric_defs[SC_METRIC__COUNT] = {
    COUNTER(SC_METRIC_GATEWAY_REQUESTS, "gateway.requests", "{request}",
            "Requests observed through the gateway, by source and outcome."),
    COUNTER(SC_METRIC_GATEWAY_RETRIES, "gateway.retries", "{retry}",
            "Request attempts that were retries of an earlier attempt."),
    COUNTER(SC_METRIC_GATEWAY_FALLBACKS, "gateway.fallbacks", "{fallback}",
            "Fallback decisions taken for gateway requests."),
    COUNTER(SC_METRIC_GATEWAY_USAGE_MISSING, "gateway.usage.missing", "{response}",
            "Successful responses that carried no token usage."),
    COUNTER(SC_METRIC_GATEWAY_CANARY_RUNS, "gateway.canary.runs", "{run}",
            "Canary runs completed, by outcome."),
    GAUGE(SC_METRIC_GATEWAY_CANARY_LAST_SUCCESS, "gateway.canary.last_success", "s",
          "Unix time in seconds of the last successful canary run."),
    GAUGE(SC_METRIC_GATEWAY_CANARY_INTERVAL, "gateway.canary.interval", "s",
          "Configured interval between runs of a canary probe."),
    COUNTER(SC_METRIC_GATEWAY_CONTRACT_VIOLATIONS, "gateway.contract.violations", "{violation}",
            "Responses that broke an API contract check."),
    HISTOGRAM(SC_METRIC_HTTP_CLIENT_REQUEST_DURATION, "http.client.request.duration", "s",
              "Duration of HTTP client requests.", http_duration_bounds),
    HISTOGRAM(SC_METRIC_HTTP_SERVER_REQUEST_DURATION, "http.server.request.duration", "s",
              "Duration of HTTP server requests.", http_duration_bounds),
    HISTOGRAM(SC_METRIC_GEN_AI_CLIENT_OPERATION_DURATION, "gen_ai.client.operation.duration", "s",
              "GenAI operation duration.", gen_ai_duration_bounds),
    HISTOGRAM(SC_METRIC_GEN_AI_CLIENT_TIME_TO_FIRST_CHUNK,
              "gen_ai.client.operation.time_to_first_chunk", "s",
              "Time to receive the first chunk of a streaming response.", gen_ai_duration_bounds),
    HISTOGRAM(SC_METRIC_GEN_AI_CLIENT_TOKEN_USAGE, "gen_ai.client.token.usage", "{token}",
              "Number of input and output tokens used.", gen_ai_token_bounds),
    COUNTER(SC_METRIC_OTEL_SDK_EXPORTER_SPAN_EXPORTED, "otel.sdk.exporter.span.exported", "{span}",
            "The number of spans for which the export has finished, either successful or failed."),
    COUNTER(SC_METRIC_OTEL_SDK_EXPORTER_METRIC_DATA_POINT_EXPORTED,
            "otel.sdk.exporter.metric_data_point.exported", "{data_point}",
            "The number of metric data points for which the export has finished, either "
            "successful or failed."),
    UPDOWN(SC_METRIC_OTEL_SDK_PROCESSOR_SPAN_QUEUE_SIZE, "otel.sdk.processor.span.queue.size",
           "{span}", "The number of spans in the queue of the span processor."),
    UPDOWN(SC_METRIC_OTEL_SDK_PROCESSOR_SPAN_QUEUE_CAPACITY,
           "otel.sdk.processor.span.queue.capacity", "{span}",
           "The maximum number of spans the queue of the span processor can hold."),
    HISTOGRAM(SC_METRIC_OTEL_SDK_EXPORTER_OPERATION_DURATION,
              "otel.sdk.exporter.operation.duration", "s",
              "The duration of exporting a batch of telemetry records.", http_duration_bounds),
    COUNTER(SC_METRIC_ACCESSLOG_LINES_READ, "sidecar.accesslog.lines.read", "{line}",
            "Access-log lines read."),
    COUNTER(SC_METRIC_ACCESSLOG_LINES_PARSED, "sidecar.accesslog.lines.parsed", "{line}",
            "Access-log lines parsed into records."),
    COUNTER(SC_METRIC_ACCESSLOG_LINES_MALFORMED, "sidecar.accesslog.lines.malformed", "{line}",
            "Access-log lines that could not be parsed, by reason (error.type)."),
    COUNTER(SC_METRIC_ACCESSLOG_LINES_TOO_LONG, "sidecar.accesslog.lines.too_long", "{line}",
            "Access-log lines longer than the line limit, skipped."),
    GAUGE(SC_METRIC_ACCESSLOG_LAG, "sidecar.accesslog.lag", "By",
          "Bytes between the read position and the end of the access log."),
    COUNTER(SC_METRIC_ACCESSLOG_ROTATIONS, "sidecar.accesslog.rotations", "{rotation}",
            "Access-log rotations detected."),
    COUNTER(SC_METRIC_ACCESSLOG_TRUNCATIONS, "sidecar.accesslog.truncations", "{truncation}",
            "Access-log truncations detected."),
    GAUGE(SC_METRIC_ACCESSLOG_PAUSED, "sidecar.accesslog.paused", "1",
          "1 while access-log reading is paused for backpressure, else 0."),
    COUNTER(SC_METRIC_TELEMETRY_DROPPED, "sidecar.telemetry.dropped", "{item}",
            "Telemetry items dropped before export, by reason (error.type)."),
    COUNTER(SC_METRIC_ACCESSLOG_CHECKPOINT_FAILURES, "sidecar.accesslog.checkpoint.failures",
            "{write}", "Access-log checkpoint writes that failed (disk full, read-only, ...)."),
    COUNTER(SC_METRIC_EVIDENCE_FAILURES, "sidecar.evidence.failures", "{line}",
            "Evidence lines not written: an open or write error, or the write queue full."),
};

const sc_metric_def *sc_schema_metric(sc_metric_id id)
{
    if ((int)id < 0 || id >= SC_METRIC__COUNT)
        return NULL;
    return &metric_defs[id];
}
