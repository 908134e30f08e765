/* config.h - owns: sc_config, the daemon's validated configuration, and loading it from four layers
 * (later wins): built-in defaults -> JSON config file -> environment variables -> --set overrides.
 *
 * The layers are merged into one JSON tree and decoded in one schema-driven pass (config/schema.h),
 * so every error names the full key path. Loading either fills a complete, valid sc_config or
 * fails with -EINVAL and one message in sc_config_error; the app maps that to exit code 2.
 *
 * Ownership: sc_config_load fills caller storage; every string, map and array in it is owned by the
 * config until sc_config_free. The sources are only read during the call. */
#ifndef SC_CONFIG_CONFIG_H
#define SC_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/log.h"

typedef struct sc_config_error {
    char msg[512];
} sc_config_error;

/* getenv-like lookup; returns NULL when the variable is unset. Injectable so tests never touch the
 * process environment. */
typedef const char *(*sc_config_getenv_fn)(void *ctx, const char *name);

typedef struct sc_config_sources {
    const char *file; /* JSON config file; NULL: none */
    /* The same file's content already in memory (text[0..text_len), no NUL needed), used only
     * when file is NULL: lets a fuzzer drive the whole load without writing files. */
    const char *text;
    size_t text_len;
    sc_config_getenv_fn getenv; /* NULL: no environment layer */
    void *getenv_ctx;
    const char *const *sets; /* "path.to.key=value" overrides, applied in order */
    size_t n_sets;
    sc_log *log; /* warnings (ignored OTEL_* values); may be NULL */
} sc_config_sources;

/* A string -> string map (resource attributes, OTLP headers), in insertion order. */
typedef struct sc_config_kv {
    char *key;
    char *value;
} sc_config_kv;

typedef struct sc_config_map {
    sc_config_kv *items;
    size_t n;
} sc_config_map;

/* Enum fields hold the index of their value in the schema's value list; -1 means unset. */
typedef enum {
    SC_EXPORTER_OTLP,
    SC_EXPORTER_CONSOLE,
    SC_EXPORTER_FILE,
    SC_EXPORTER_NONE
} sc_config_exporter;

typedef enum {
    SC_OTLP_PROTOCOL_UNSET = -1, /* only before per-signal protocols inherit the general one */
    SC_OTLP_HTTP_PROTOBUF,
    SC_OTLP_HTTP_JSON
} sc_config_otlp_protocol;

typedef enum {
    SC_COMPRESSION_UNSET = -1, /* only before per-signal compression inherits the general one */
    SC_COMPRESSION_NONE,
    SC_COMPRESSION_GZIP
} sc_config_compression;

typedef enum {
    SC_CONFIG_TEMPORALITY_CUMULATIVE,
    SC_CONFIG_TEMPORALITY_DELTA,
    SC_CONFIG_TEMPORALITY_LOWMEMORY
} sc_config_temporality;

/* access_log.format */
typedef enum {
    SC_ACCESS_LOG_NGINX_JSON, /* deploy/examples/nginx.conf llm_json (JSON-lines preset "nginx") */
    SC_ACCESS_LOG_CADDY,      /* Caddy v2 default JSON access log */
    SC_ACCESS_LOG_ENVOY,      /* Envoy/Istio JSON access log */
    SC_ACCESS_LOG_JSON,       /* any JSON lines: access_log.json_fields maps the keys */
    SC_ACCESS_LOG_NGINX       /* nginx text: access_log.nginx_log_format */
} sc_config_access_log_format;

typedef enum { SC_ACCESS_LOG_START_END, SC_ACCESS_LOG_START_BEGINNING } sc_config_start_position;

/* One access_log.routes entry: a route template tried before the built-in ones. */
typedef struct sc_config_route {
    char *template;
    int operation;               /* index into "chat", "text_completion", "embeddings"; -1 unset */
    bool model_not_found_on_404; /* a 404 on this route means the model does not exist */
} sc_config_route;

typedef struct sc_config_access_log {
    char *path; /* NULL: no access-log observation */
    sc_config_access_log_format format;
    char *nginx_log_format;    /* format = nginx: a log_format string or a pasted directive */
    sc_config_map json_fields; /* logical field -> dotted key path (json; overrides a preset) */
    int time_format;           /* sc_timestamp_format; -1: the format's own */
    int duration_unit;         /* sc_accesslog_duration_unit; -1: the format's own */
    int time_marks;            /* 0 end, 1 start; -1: the format's own */
    int retry_count_counts;    /* 0 retries, 1 attempts; -1: the format's own */
    sc_config_start_position start_position;
    char *checkpoint_path; /* NULL: no checkpoint (a restart follows start_position) */
    char *rotated_glob;    /* NULL: "<file>.*" and "<file>-*" next to the file */
    size_t max_line_bytes;
    uint64_t poll_interval_ms;
    uint64_t rotate_wait_ms;
    uint64_t partial_flush_ms;
    uint64_t checkpoint_interval_ms;
    bool no_inotify;
    sc_config_route *routes;
    size_t n_routes;
    char *span_sampling_ratio_text; /* as configured; parsed into span_sampling_ratio */
    double span_sampling_ratio;     /* 0..1; filled by the load */
} sc_config_access_log;
/* Canary probes (config key "probes": an array of objects; canary/probe_config.h resolves them).
 * Enum fields hold the index of their value in the schema's value list. */
typedef enum { SC_PROBE_CHAT, SC_PROBE_RESPONSES, SC_PROBE_MODELS } sc_config_probe_endpoint;
typedef enum { SC_PROBE_BODY_VALID, SC_PROBE_BODY_MALFORMED } sc_config_probe_body;
typedef enum {
    SC_PROBE_CRED_CONFIGURED,
    SC_PROBE_CRED_INVALID,
    SC_PROBE_CRED_MISSING
} sc_config_probe_credential;

typedef struct sc_config_probe {
    char *name; /* required; [A-Za-z0-9_.-], at most 64 bytes; unique */
    bool enabled;
    sc_config_probe_endpoint endpoint;
    bool stream;
    char *model;        /* NULL: cometapi.model */
    char *prompt;       /* NULL: the built-in synthetic prompt */
    int max_tokens;     /* max_tokens (chat) / max_output_tokens (responses); 0: not sent */
    bool include_usage; /* chat streams: stream_options.include_usage */
    bool require_usage; /* a success without usage fails the run */
    sc_config_probe_body body;
    uint64_t interval_ms;
    char *jitter;        /* "10%", "0.1" (a fraction of interval) or a duration; NULL: none */
    uint64_t timeout_ms; /* per attempt */
    sc_config_probe_credential credential;
    int expect; /* sc_error_class (telemetry/schema.h): 0 = success, else the class expected */
    char *route_name; /* evidence gateway_route_name; NULL: the probe name */
    struct {
        int max_attempts;
        uint64_t base_backoff_ms;
        uint64_t max_backoff_ms;
        uint64_t deadline_ms;
        uint64_t retry_after_cap_ms;
        struct {
            int percent;
            uint64_t window_ms;
            int min_retries;
        } budget;
    } retry;
    struct {
        char *allow; /* comma-separated error classes; NULL: the default list; "none": empty */
        struct {
            char *base_url; /* NULL: no fallback request is made (the decision is still taken) */
            char *model;    /* NULL: the probe's model */
        } target;
    } fallback;
} sc_config_probe;

/* Durations are milliseconds (uint64_t *_ms), sizes are bytes (size_t). Unset strings are NULL. */
typedef struct sc_config {
    struct {
        char *name;        /* service.name; NULL: the telemetry module picks its default */
        char *environment; /* deployment.environment */
    } service;
    struct {
        sc_config_map attributes; /* config entries, then OTEL_RESOURCE_ATTRIBUTES over them */
    } resource;
    struct {
        bool disabled;
    } sdk;
    struct {
        sc_log_level level;
    } log;
    struct {
        char *endpoint; /* host:port, validated (sc_config_split_hostport) */
        size_t max_request_bytes;
        uint64_t request_timeout_ms;
        int max_connections;
    } health;
    struct {
        uint64_t deadline_ms;
    } shutdown;
    struct {
        char *base_url;     /* http(s)://..., includes /v1, no trailing slash */
        char *api_key;      /* secret; at most one of api_key and api_key_file is set */
        char *api_key_file; /* read by config/keyfile.h */
        uint64_t key_file_check_interval_ms;
        char *model;
        char *ca_file;
        uint64_t connect_timeout_ms;
        uint64_t timeout_ms;
        size_t max_response_bytes;
    } cometapi;
    struct {
        sc_config_exporter traces;
        sc_config_exporter metrics;
        struct {
            char *path; /* OTLP/JSON lines; required when an exporter is "file" */
        } file;
        struct sc_config_otlp {
            char *endpoint;         /* base URL, no trailing slash; /v1/<signal> is appended */
            char *traces_endpoint;  /* used as given; NULL: endpoint + "/v1/traces" */
            char *metrics_endpoint; /* used as given; NULL: endpoint + "/v1/metrics" */
            sc_config_otlp_protocol protocol;
            sc_config_otlp_protocol traces_protocol;  /* resolved: never UNSET after load */
            sc_config_otlp_protocol metrics_protocol; /* resolved: never UNSET after load */
            sc_config_map headers;                    /* values are secret */
            sc_config_map traces_headers;             /* sent in addition to headers */
            sc_config_map metrics_headers;
            sc_config_compression compression;
            sc_config_compression traces_compression;  /* resolved: never UNSET after load */
            sc_config_compression metrics_compression; /* resolved: never UNSET after load */
            uint64_t timeout_ms;
            uint64_t traces_timeout_ms;  /* 0: timeout_ms */
            uint64_t metrics_timeout_ms; /* 0: timeout_ms */
            char *certificate;
            char *client_key;
            char *client_certificate;
            /* Per-signal TLS files; NULL: the general one. */
            char *traces_certificate, *traces_client_key, *traces_client_certificate;
            char *metrics_certificate, *metrics_client_key, *metrics_client_certificate;
            sc_config_temporality metrics_temporality;
        } otlp;
        struct {
            uint64_t schedule_delay_ms;
            uint64_t export_timeout_ms;
            int max_queue_size;
            int max_export_batch_size; /* <= max_queue_size */
        } batch;
        uint64_t metrics_interval_ms;
        uint64_t metrics_timeout_ms;
    } exporter;
    struct {
        bool view;
    } console;
    sc_config_access_log access_log;
    struct {
        int max_concurrent_runs;
    } canary;
    struct {
        bool enabled;
        char *path;      /* JSON lines, appended; relative paths are relative to the cwd */
        int max_pending; /* lines queued for writing before new ones are dropped */
    } evidence;
    sc_config_probe *probes;
    size_t n_probes;
} sc_config;

/* Loads and validates. On error returns -EINVAL (or -ENOMEM), sets err->msg and leaves *out
 * zeroed; on success the caller owns *out and frees it with sc_config_free. */
int sc_config_load(const sc_config_sources *src, sc_config *out, sc_config_error *err);

/* Frees everything the config owns (secrets are wiped first) and zeroes it. Accepts NULL. */
void sc_config_free(sc_config *c);

/* Appends the effective configuration as pretty JSON, every secret replaced by "[REDACTED]".
 * Returns 0 or -ENOBUFS/-ENOMEM from `out`. */
int sc_config_write_effective(const sc_config *c, sc_buf *out);

/* Appends a plain-text reference of every key: path, type, default, environment variable, help. */
int sc_config_write_reference(sc_buf *out);

/* A sc_config_getenv_fn over the real process environment (ctx unused). */
const char *sc_config_process_getenv(void *ctx, const char *name);

/* Splits "host:port" or "[v6]:port" (brackets removed from host). Returns 0 or -EINVAL. Pure. */
int sc_config_split_hostport(const char *s, char *host, size_t host_cap, uint16_t *port);

#endif
