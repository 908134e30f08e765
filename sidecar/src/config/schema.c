/* schema.c - owns: the sc_config key table (one row per key: path, type, field, default, range or
 * values, flags, environment variable, help), the value validators it uses and the cross-key
 * relations checked after decoding. */
#include "config/schema.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "accesslog/layout.h"
#include "canary/probe_config.h"
#include "config/probe_keys.h"

_Static_assert(sizeof(sc_config_exporter) == sizeof(int), "enum fields are stored as int");
_Static_assert(sizeof(sc_config_otlp_protocol) == sizeof(int), "enum fields are stored as int");
_Static_assert(sizeof(sc_config_compression) == sizeof(int), "enum fields are stored as int");
_Static_assert(sizeof(sc_config_temporality) == sizeof(int), "enum fields are stored as int");
_Static_assert(sizeof(sc_log_level) == sizeof(int), "enum fields are stored as int");
_Static_assert(sizeof(sc_config_access_log_format) == sizeof(int), "enum fields are stored as int");
_Static_assert(sizeof(sc_config_start_position) == sizeof(int), "enum fields are stored as int");

#define SEC_MS  1000
#define MIN_MS  (60 * SEC_MS)
#define HOUR_MS (60 * MIN_MS)
#define KIB     1024
#define MIB     (1024 * 1024)

static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const exporters[] = {"otlp", "console", "file", "none", NULL};
static const char *const protocols[] = {"http/protobuf", "http/json", NULL};
static const char *const compressions[] = {"none", "gzip", NULL};
static const char *const temporalities[] = {"cumulative", "delta", "lowmemory", NULL};
static const char *const start_positions[] = {"end", "beginning", NULL};
static const char *const time_marks[] = {"end", "start", NULL};
static const char *const retry_counts[] = {"retries", "attempts", NULL};

static int has_ctl_or_space(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s == 0x7f)
            return 1;
    return 0;
}

int sc_config_check_url(const char *v, char *why, size_t cap)
{
    size_t skip = strncasecmp(v, "http://", 7) == 0    ? 7
                  : strncasecmp(v, "https://", 8) == 0 ? 8
                                                       : 0;
    if (skip == 0 || v[skip] == '\0' || v[skip] == '/' || has_ctl_or_space(v)) {
        snprintf(why, cap, "expected an http:// or https:// URL with a host");
        return -EINVAL;
    }
    return 0;
}

static int check_hostport(const char *v, char *why, size_t cap)
{
    char host[256];
    uint16_t port;
    if (sc_config_split_hostport(v, host, sizeof host, &port) != 0) {
        snprintf(why, cap,
                 "expected host:port with a port from 1 to 65535 ([v6addr]:port for IPv6)");
        return -EINVAL;
    }
    return 0;
}

/* A bearer token: no whitespace or control characters (they would corrupt the header). */
static int check_token(const char *v, char *why, size_t cap)
{
    if (has_ctl_or_space(v)) {
        snprintf(why, cap, "expected an API key without whitespace or control characters");
        return -EINVAL;
    }
    return 0;
}

/* RFC 9110 token characters. */
static int check_header_name(const char *v, char *why, size_t cap)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    for (const char *p = v; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c != '\0' && strchr(extra, c) != NULL))) {
            snprintf(why, cap, "expected an HTTP header name (letters, digits and %s)", extra);
            return -EINVAL;
        }
    }
    return 0;
}

static int check_header_value(const char *v, char *why, size_t cap)
{
    for (const char *p = v; *p; p++) {
        if ((unsigned char)*p < 0x20 && *p != '\t') {
            snprintf(why, cap, "expected a header value without control characters");
            return -EINVAL;
        }
    }
    return 0;
}

int sc_config_split_hostport(const char *s, char *host, size_t host_cap, uint16_t *port)
{
    const char *h = s, *colon;
    size_t hl;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (rb == NULL || rb[1] != ':' || rb == s + 1)
            return -EINVAL;
        h = s + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
        if (memchr(h, ':', hl) == NULL) /* brackets are for IPv6 only */
            return -EINVAL;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL || colon == s || memchr(s, ':', (size_t)(colon - s)) != NULL)
            return -EINVAL; /* an unbracketed IPv6 address is ambiguous */
        hl = (size_t)(colon - s);
    }
    for (size_t i = 0; i < hl; i++)
        if ((unsigned char)h[i] <= 0x20 || h[i] == '/' || h[i] == '[' || h[i] == ']')
            return -EINVAL;
    const char *p = colon + 1;
    unsigned long v = 0;
    if (*p == '\0' || strlen(p) > 5)
        return -EINVAL;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v < 1 || v > 65535 || hl >= host_cap)
        return -EINVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (uint16_t)v;
    return 0;
}

/* access_log.span_sampling_ratio: a decimal from 0 to 1 ("0.25", "1e-3"). */
static int parse_ratio(const char *v, double *out)
{
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end != '\0' || !(d >= 0.0 && d <= 1.0))
        return -EINVAL;
    *out = d;
    return 0;
}

static int check_ratio(const char *v, char *why, size_t cap)
{
    double d;
    if (parse_ratio(v, &d) != 0) {
        snprintf(why, cap, "expected a number from 0 to 1 (as a string, e.g. \"0.25\")");
        return -EINVAL;
    }
    return 0;
}

static int check_field_name(const char *v, char *why, size_t cap)
{
    sc_accesslog_field f;
    if (sc_accesslog_field_parse(v, strlen(v), &f) == 0)
        return 0;
    size_t n = (size_t)snprintf(why, cap, "expected a field name:");
    for (int i = 0; i < SC_ACCESSLOG_FIELD__COUNT && n < cap; i++)
        n += (size_t)snprintf(why + n, cap - n, " %s",
                              sc_accesslog_field_name((sc_accesslog_field)i));
    return -EINVAL;
}

/* The access_log section compiles (log_format, key paths, route templates), so a mistake there
 * is a configuration error that names its key. */
static int access_log_relations(sc_config *c, sc_config_error *err)
{
    sc_config_access_log *a = &c->access_log;
    if (parse_ratio(a->span_sampling_ratio_text, &a->span_sampling_ratio) != 0) {
        sc_config_errorf(err, "\"access_log.span_sampling_ratio\": expected a number from 0 to 1");
        return -EINVAL;
    }
    sc_accesslog_layout *l = malloc(sizeof *l);
    if (l == NULL) {
        sc_config_errorf(err, "out of memory");
        return -ENOMEM;
    }
    int rc = sc_accesslog_layout_compile(a, l, err->msg, sizeof err->msg);
    free(l);
    return rc < 0 ? -EINVAL : 0;
}

/* Checks that span keys, then resolves the per-signal OTLP protocols, which inherit the general
 * one when unset (so readers never see SC_OTLP_PROTOCOL_UNSET). */
static int relations(void *obj, const char *display, sc_config_error *err)
{
    sc_config *c = obj;
    (void)display;
    if (c->exporter.batch.max_export_batch_size > c->exporter.batch.max_queue_size) {
        sc_config_errorf(err,
                         "\"exporter.batch.max_export_batch_size\": must not exceed "
                         "exporter.batch.max_queue_size (%d), got %d",
                         c->exporter.batch.max_queue_size, c->exporter.batch.max_export_batch_size);
        return -EINVAL;
    }
    if (c->cometapi.api_key != NULL && c->cometapi.api_key_file != NULL) {
        sc_config_errorf(err, "\"cometapi.api_key\" and \"cometapi.api_key_file\" are both set; "
                              "use only one");
        return -EINVAL;
    }
    if ((c->exporter.traces == SC_EXPORTER_FILE || c->exporter.metrics == SC_EXPORTER_FILE) &&
        c->exporter.file.path == NULL) {
        sc_config_errorf(err, "\"exporter.file.path\": required when exporter.traces or "
                              "exporter.metrics is \"file\"");
        return -EINVAL;
    }
    if (access_log_relations(c, err) != 0)
        return -EINVAL;
    if (sc_probe_config_check_all(c->probes, c->n_probes, err) != 0)
        return -EINVAL;
    if (c->exporter.otlp.traces_protocol == SC_OTLP_PROTOCOL_UNSET)
        c->exporter.otlp.traces_protocol = c->exporter.otlp.protocol;
    if (c->exporter.otlp.metrics_protocol == SC_OTLP_PROTOCOL_UNSET)
        c->exporter.otlp.metrics_protocol = c->exporter.otlp.protocol;
    if (c->exporter.otlp.traces_compression == SC_COMPRESSION_UNSET)
        c->exporter.otlp.traces_compression = c->exporter.otlp.compression;
    if (c->exporter.otlp.metrics_compression == SC_COMPRESSION_UNSET)
        c->exporter.otlp.metrics_compression = c->exporter.otlp.compression;
    return 0;
}

/* One row per key. Defaults are written as --set text and parsed by the row's own codec. */
#define F(field) .offset = offsetof(sc_config, field)
#define STR(p, f, ...)                                                                             \
    {                                                                                              \
        .path = p, .type = SC_CT_STRING, F(f), __VA_ARGS__                                         \
    }
#define BOOL(p, f, ...)                                                                            \
    {                                                                                              \
        .path = p, .type = SC_CT_BOOL, F(f), __VA_ARGS__                                           \
    }
#define INT(p, f, ...)                                                                             \
    {                                                                                              \
        .path = p, .type = SC_CT_INT, F(f), __VA_ARGS__                                            \
    }
#define DUR(p, f, ...)                                                                             \
    {                                                                                              \
        .path = p, .type = SC_CT_DURATION, F(f), __VA_ARGS__                                       \
    }
#define SIZE(p, f, ...)                                                                            \
    {                                                                                              \
        .path = p, .type = SC_CT_SIZE, F(f), __VA_ARGS__                                           \
    }
#define ENUM(p, f, v, ...)                                                                         \
    {                                                                                              \
        .path = p, .type = SC_CT_ENUM, F(f), .values = v, __VA_ARGS__                              \
    }
#define MAP(p, f, ...)                                                                             \
    {                                                                                              \
        .path = p, .type = SC_CT_MAP, F(f), __VA_ARGS__                                            \
    }
#define HDRS .check_name = check_header_name, .check = check_header_value, .flags = SC_CK_SECRET

#define RF(field) .offset = offsetof(sc_config_route, field)
static const sc_config_key route_keys[] = {
    {.path = "template",
     .type = SC_CT_STRING,
     RF(template),
     .flags = SC_CK_REQUIRED,
     .help = "route template, e.g. /openai/deployments/{deployment}/chat/completions"},
    {.path = "operation",
     .type = SC_CT_ENUM,
     RF(operation),
     .values = sc_accesslog_layout_operations,
     .help = "gen_ai.operation.name of requests on this route; unset: not a GenAI operation"},
    {.path = "model_not_found_on_404",
     .type = SC_CT_BOOL,
     RF(model_not_found_on_404),
     .def = "false",
     .help = "a 404 here means the model does not exist (model_not_found)"},
};
static const sc_config_schema route_schema = {route_keys, sizeof route_keys / sizeof route_keys[0],
                                              sizeof(sc_config_route), NULL};
static const sc_config_key keys[] = {
    STR("service.name", service.name, .env = "OTEL_SERVICE_NAME",
        .help = "service.name resource attribute"),
    STR("service.environment", service.environment, .def = "production",
        .help = "deployment.environment.name resource attribute"),
    MAP("resource.attributes", resource.attributes, .env = "OTEL_RESOURCE_ATTRIBUTES",
        .help = "extra resource attributes; environment entries override file entries"),
    BOOL("sdk.disabled", sdk.disabled, .def = "false", .env = "OTEL_SDK_DISABLED",
         .help = "disable all telemetry export"),
    ENUM("log.level", log.level, log_levels, .def = "info", .help = "minimum log level"),
    STR("health.endpoint", health.endpoint, .def = "127.0.0.1:13133", .check = check_hostport,
        .help = "health server listen address (host:port)"),
    SIZE("health.max_request_bytes", health.max_request_bytes, .def = "8192", .min = 1 * KIB,
         .max = 1 * MIB, .help = "largest accepted health request"),
    DUR("health.request_timeout", health.request_timeout_ms, .def = "5s", .min = 100,
        .max = 10 * MIN_MS, .help = "time allowed to read a health request"),
    INT("health.max_connections", health.max_connections, .def = "64", .min = 1, .max = 4096,
        .help = "concurrent health connections"),
    DUR("shutdown.deadline", shutdown.deadline_ms, .def = "5s", .min = 100, .max = 10 * MIN_MS,
        .help = "time allowed for a graceful shutdown (final flush)"),
    STR("cometapi.base_url", cometapi.base_url, .def = "https://api.cometapi.com/v1",
        .check = sc_config_check_url, .flags = SC_CK_STRIP_SLASH, .env = "COMETAPI_BASE_URL",
        .help = "CometAPI base URL including /v1"),
    STR("cometapi.api_key", cometapi.api_key, .check = check_token, .flags = SC_CK_SECRET,
        .env = "COMETAPI_API_KEY", .help = "CometAPI key (prefer api_key_file)"),
    STR("cometapi.api_key_file", cometapi.api_key_file, .env = "COMETAPI_API_KEY_FILE",
        .help = "file holding the key (a mounted Secret); re-read when it changes"),
    DUR("cometapi.key_file_check_interval", cometapi.key_file_check_interval_ms, .def = "10s",
        .min = 100, .max = HOUR_MS, .help = "period of the key file re-check"),
    STR("cometapi.model", cometapi.model, .def = "gpt-4o-mini", .env = "COMETAPI_MODEL",
        .help = "default model for canary requests"),
    STR("cometapi.ca_file", cometapi.ca_file, .help = "CA bundle for CometAPI TLS"),
    DUR("cometapi.connect_timeout", cometapi.connect_timeout_ms, .def = "5s", .min = 100,
        .max = 5 * MIN_MS, .help = "connect timeout"),
    DUR("cometapi.timeout", cometapi.timeout_ms, .def = "30s", .min = 100, .max = 10 * MIN_MS,
        .help = "whole-request timeout"),
    SIZE("cometapi.max_response_bytes", cometapi.max_response_bytes, .def = "1MiB", .min = 1 * KIB,
         .max = 64 * MIB, .help = "largest accepted response body"),
    ENUM("exporter.traces", exporter.traces, exporters, .def = "otlp",
         .env = "OTEL_TRACES_EXPORTER", .flags = SC_CK_ENV_EXPORTER_LIST, .help = "trace exporter"),
    ENUM("exporter.metrics", exporter.metrics, exporters, .def = "otlp",
         .env = "OTEL_METRICS_EXPORTER", .flags = SC_CK_ENV_EXPORTER_LIST,
         .help = "metric exporter"),
    STR("exporter.file.path", exporter.file.path, .help = "OTLP/JSON lines file for \"file\""),
    STR("exporter.otlp.endpoint", exporter.otlp.endpoint, .def = "http://localhost:4318",
        .check = sc_config_check_url, .flags = SC_CK_STRIP_SLASH,
        .env = "OTEL_EXPORTER_OTLP_ENDPOINT",
        .help = "OTLP/HTTP base URL; /v1/traces and /v1/metrics are appended"),
    STR("exporter.otlp.traces_endpoint", exporter.otlp.traces_endpoint,
        .check = sc_config_check_url, .env = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        .help = "full traces URL, used as given"),
    STR("exporter.otlp.metrics_endpoint", exporter.otlp.metrics_endpoint,
        .check = sc_config_check_url, .env = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        .help = "full metrics URL, used as given"),
    ENUM("exporter.otlp.protocol", exporter.otlp.protocol, protocols, .def = "http/protobuf",
         .env = "OTEL_EXPORTER_OTLP_PROTOCOL", .help = "OTLP encoding"),
    ENUM("exporter.otlp.traces_protocol", exporter.otlp.traces_protocol, protocols,
         .env = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", .help = "traces encoding; default: protocol"),
    ENUM("exporter.otlp.metrics_protocol", exporter.otlp.metrics_protocol, protocols,
         .env = "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
         .help = "metrics encoding; default: protocol"),
    MAP("exporter.otlp.headers", exporter.otlp.headers, HDRS, .env = "OTEL_EXPORTER_OTLP_HEADERS",
        .help = "headers sent with every export (secret)"),
    MAP("exporter.otlp.traces_headers", exporter.otlp.traces_headers, HDRS,
        .env = "OTEL_EXPORTER_OTLP_TRACES_HEADERS", .help = "extra headers for traces (secret)"),
    MAP("exporter.otlp.metrics_headers", exporter.otlp.metrics_headers, HDRS,
        .env = "OTEL_EXPORTER_OTLP_METRICS_HEADERS", .help = "extra headers for metrics (secret)"),
    ENUM("exporter.otlp.compression", exporter.otlp.compression, compressions, .def = "none",
         .env = "OTEL_EXPORTER_OTLP_COMPRESSION", .help = "request body compression"),
    ENUM("exporter.otlp.traces_compression", exporter.otlp.traces_compression, compressions,
         .env = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
         .help = "traces body compression; default: compression"),
    ENUM("exporter.otlp.metrics_compression", exporter.otlp.metrics_compression, compressions,
         .env = "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
         .help = "metrics body compression; default: compression"),
    DUR("exporter.otlp.timeout", exporter.otlp.timeout_ms, .def = "10s", .min = 1,
        .max = 10 * MIN_MS, .env = "OTEL_EXPORTER_OTLP_TIMEOUT", .help = "per-export timeout"),
    DUR("exporter.otlp.traces_timeout", exporter.otlp.traces_timeout_ms, .min = 1,
        .max = 10 * MIN_MS, .env = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        .help = "per-export timeout for traces; default: timeout"),
    DUR("exporter.otlp.metrics_timeout", exporter.otlp.metrics_timeout_ms, .min = 1,
        .max = 10 * MIN_MS, .env = "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
        .help = "per-export timeout for metrics; default: timeout"),
    STR("exporter.otlp.certificate", exporter.otlp.certificate,
        .env = "OTEL_EXPORTER_OTLP_CERTIFICATE", .help = "CA bundle for the collector's TLS"),
    STR("exporter.otlp.client_key", exporter.otlp.client_key,
        .env = "OTEL_EXPORTER_OTLP_CLIENT_KEY", .help = "mTLS client private key file"),
    STR("exporter.otlp.client_certificate", exporter.otlp.client_certificate,
        .env = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", .help = "mTLS client certificate file"),
    STR("exporter.otlp.traces_certificate", exporter.otlp.traces_certificate,
        .env = "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
        .help = "CA bundle for traces; default: certificate"),
    STR("exporter.otlp.traces_client_key", exporter.otlp.traces_client_key,
        .env = "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
        .help = "mTLS client key for traces; default: client_key"),
    STR("exporter.otlp.traces_client_certificate", exporter.otlp.traces_client_certificate,
        .env = "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
        .help = "mTLS client certificate for traces; default: client_certificate"),
    STR("exporter.otlp.metrics_certificate", exporter.otlp.metrics_certificate,
        .env = "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE",
        .help = "CA bundle for metrics; default: certificate"),
    STR("exporter.otlp.metrics_client_key", exporter.otlp.metrics_client_key,
        .env = "OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY",
        .help = "mTLS client key for metrics; default: client_key"),
    STR("exporter.otlp.metrics_client_certificate", exporter.otlp.metrics_client_certificate,
        .env = "OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE",
        .help = "mTLS client certificate for metrics; default: client_certificate"),
    ENUM("exporter.otlp.metrics_temporality", exporter.otlp.metrics_temporality, temporalities,
         .def = "cumulative", .env = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
         .help = "aggregation temporality preference"),
    DUR("exporter.batch.schedule_delay", exporter.batch.schedule_delay_ms, .def = "5s", .min = 1,
        .max = HOUR_MS, .env = "OTEL_BSP_SCHEDULE_DELAY", .help = "delay between span exports"),
    DUR("exporter.batch.export_timeout", exporter.batch.export_timeout_ms, .def = "30s", .min = 1,
        .max = 10 * MIN_MS, .env = "OTEL_BSP_EXPORT_TIMEOUT", .help = "span export timeout"),
    INT("exporter.batch.max_queue_size", exporter.batch.max_queue_size, .def = "2048", .min = 1,
        .max = 1 << 20, .env = "OTEL_BSP_MAX_QUEUE_SIZE", .help = "spans buffered before drops"),
    INT("exporter.batch.max_export_batch_size", exporter.batch.max_export_batch_size, .def = "512",
        .min = 1, .max = 1 << 20, .env = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
        .help = "spans per export; at most max_queue_size"),
    DUR("exporter.metrics_interval", exporter.metrics_interval_ms, .def = "60s", .min = 100,
        .max = 24 * HOUR_MS, .env = "OTEL_METRIC_EXPORT_INTERVAL", .help = "metric export period"),
    DUR("exporter.metrics_timeout", exporter.metrics_timeout_ms, .def = "30s", .min = 1,
        .max = 10 * MIN_MS, .env = "OTEL_METRIC_EXPORT_TIMEOUT", .help = "metric export timeout"),
    BOOL("console.view", console.view, .def = "false",
         .help = "human-readable live view on stdout"),
    STR("access_log.path", access_log.path,
        .help =
            "gateway access log to follow (may be a symlink); unset: no access-log observation"),
    ENUM("access_log.format", access_log.format, sc_accesslog_layout_formats, .def = "nginx_json",
         .help = "line layout: nginx_json (llm_json of deploy/examples/nginx.conf), caddy, envoy, "
                 "json (json_fields), nginx (nginx_log_format)"),
    STR("access_log.nginx_log_format", access_log.nginx_log_format,
        .help = "format nginx: the log_format string or the pasted directive; unset: combined"),
    MAP("access_log.json_fields", access_log.json_fields, .check_name = check_field_name,
        .help = "JSON formats: field -> dotted key path (\\. for a dot in a key)"),
    ENUM("access_log.time_format", access_log.time_format, sc_accesslog_layout_time_formats,
         .help = "JSON formats: how the time value is written; unset: the format's own"),
    ENUM("access_log.duration_unit", access_log.duration_unit, sc_accesslog_layout_duration_units,
         .help = "JSON formats: unit of the duration value; unset: the format's own"),
    ENUM("access_log.time_marks", access_log.time_marks, time_marks,
         .help = "JSON formats: the time value is the request's end or start"),
    ENUM("access_log.retry_count_counts", access_log.retry_count_counts, retry_counts,
         .help = "JSON formats: the retry_count value counts retries or attempts"),
    ENUM("access_log.start_position", access_log.start_position, start_positions, .def = "end",
         .help = "where to start in a file found at startup without a checkpoint"),
    STR("access_log.checkpoint_path", access_log.checkpoint_path,
        .help = "file keeping the acknowledged position across restarts; unset: none"),
    STR("access_log.rotated_glob", access_log.rotated_glob,
        .help = "glob(3) of rotated files; unset: <file>.* and <file>-* beside the file"),
    SIZE("access_log.max_line_bytes", access_log.max_line_bytes, .def = "32KiB", .min = 1 * KIB,
         .max = 16 * MIB, .help = "longer lines are skipped and counted"),
    DUR("access_log.poll_interval", access_log.poll_interval_ms, .def = "250ms", .min = 10,
        .max = MIN_MS, .help = "check period without inotify"),
    DUR("access_log.rotate_wait", access_log.rotate_wait_ms, .def = "5s", .min = 1,
        .max = 10 * MIN_MS, .help = "keep reading a rotated file this long after it went quiet"),
    DUR("access_log.partial_flush", access_log.partial_flush_ms, .def = "5s", .min = 10,
        .max = HOUR_MS, .help = "emit a last line without its newline after this idle time"),
    DUR("access_log.checkpoint_interval", access_log.checkpoint_interval_ms, .def = "1s", .min = 10,
        .max = 10 * MIN_MS, .help = "at most one checkpoint write per interval"),
    BOOL("access_log.no_inotify", access_log.no_inotify, .def = "false",
         .help = "poll only (overlay, NFS and FUSE mounts may not deliver inotify events)"),
    {.path = "access_log.routes",
     .type = SC_CT_ARRAY,
     F(access_log.routes),
     .count_offset = offsetof(sc_config, access_log.n_routes),
     .sub = &route_schema,
     .max = SC_ACCESSLOG_LAYOUT_MAX_USER_ROUTES,
     .help = "route templates tried before the built-in OpenAI-compatible ones"},
    STR("access_log.span_sampling_ratio", access_log.span_sampling_ratio_text, .def = "1",
        .check = check_ratio,
        .help = "share of plain-success access-log spans kept (errors, retries, fallbacks and "
                "missing usage are always kept); metrics are never sampled"),
    INT("canary.max_concurrent_runs", canary.max_concurrent_runs, .def = "4", .min = 1, .max = 64,
        .help = "probe runs in flight at once; due runs wait for a slot"),
    BOOL("evidence.enabled", evidence.enabled, .def = "true",
         .help = "write one evidence line per canary run"),
    STR("evidence.path", evidence.path, .def = "comet-sidecar-evidence.jsonl",
        .help = "evidence JSON-lines file (appended; relative to the working directory)"),
    INT("evidence.max_pending", evidence.max_pending, .def = "1024", .min = 1, .max = 65536,
        .help = "evidence lines queued for writing before new ones are dropped"),
    {.path = "probes",
     .type = SC_CT_ARRAY,
     F(probes),
     .count_offset = offsetof(sc_config, n_probes),
     .sub = &sc_config_probe_schema,
     .max = SC_PROBE_CONFIG_MAX,
     .help = "canary probes (see probes[].*)"},
};

static const sc_config_schema root = {
    .keys = keys,
    .n_keys = sizeof keys / sizeof keys[0],
    .size = sizeof(sc_config),
    .relations = relations,
};

const sc_config_schema *sc_config_schema_root(void)
{
    return &root;
}
