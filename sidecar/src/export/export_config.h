/* export_config.h - owns: turning the exporter.* part of sc_config into the exporter's own
 * settings (which sink per signal, encoding, URL, request header lines, timeouts, budgets and
 * readiness windows), and the pure builders behind it (URL, header merging).
 *
 * Everything the exporter reads from the configuration goes through here, so the rest of the
 * exporter is plain settings and this mapping is tested on its own.
 *
 * Ownership: sc_export_config_from fills caller storage; url and headers are owned by it until
 * sc_export_config_free; the file path and TLS paths are borrowed from the sc_config, which must
 * outlive the settings. */
#ifndef SC_EXPORT_EXPORT_CONFIG_H
#define SC_EXPORT_EXPORT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

typedef enum {
    SC_EXPORT_SINK_NONE = 0,
    SC_EXPORT_SINK_OTLP,
    SC_EXPORT_SINK_FILE,
    SC_EXPORT_SINK_CONSOLE
} sc_export_sink;

typedef struct sc_export_lane_config {
    sc_export_sink sink; /* NONE when the signal is off or sdk.disabled */
    int json;            /* OTLP/JSON (http/json, and always for file/console) */
    int gzip;
    char *url;      /* OTLP only */
    char **headers; /* OTLP only: complete "Name: value" lines */
    size_t n_headers;
    uint32_t attempt_timeout_ms; /* exporter.otlp.timeout */
    uint64_t budget_ms;          /* a payload's whole retry budget (the signal's export timeout) */
    const char *ca_file, *client_cert, *client_key;
    uint64_t window_ms; /* readiness: 3 x (period + export timeout) */
    /* Self-metric identity: otel.component.type (a schema.h SC_OTEL_COMPONENT_* value; NULL
     * when the signal is off), and server.address / server.port of the URL (OTLP only). */
    const char *component_type;
    char *server_address;
    int server_port;
} sc_export_lane_config;

typedef struct sc_export_config {
    sc_export_lane_config traces, metrics;
    const char *file_path;
    size_t max_batch;
    uint64_t schedule_delay_ms;
    uint64_t metrics_interval_ms;
} sc_export_config;

/* 0, -EINVAL (an OTLP signal without an endpoint; a header with CR/LF) or -ENOMEM; on error
 * nothing is left allocated. */
int sc_export_config_from(sc_export_config *out, const sc_config *cfg);
void sc_export_config_free(sc_export_config *c); /* accepts a zeroed struct */

/* The signal's URL: signal_endpoint as given when set, else endpoint + "/v1/traces" or
 * "/v1/metrics" (exactly one '/' between them). *out is malloc'd. 0, -EINVAL, -ENOMEM. */
int sc_export_config_url(const char *endpoint, const char *signal_endpoint, int metrics,
                         char **out);

/* The request header lines: general headers, then per-signal ones (a per-signal header replaces
 * a general one of the same name, case-insensitively); then User-Agent unless one was
 * configured; then always our Content-Type and, with gzip, Content-Encoding (configured headers
 * of those two names are ignored: they describe our body). Headers with an empty value are left
 * out (libcurl cannot send them). *lines: malloc'd array of malloc'd strings, freed with
 * sc_export_config_free_headers. 0, -EINVAL (CR/LF, empty or ':' in a name) or -ENOMEM. */
int sc_export_config_headers(const sc_config_map *general, const sc_config_map *per_signal,
                             int json, int gzip, const char *user_agent, char ***lines, size_t *n);
void sc_export_config_free_headers(char **lines, size_t n); /* accepts NULL */

/* server.address (IPv6 without brackets) and server.port of an http(s) URL, the scheme's
 * default port when none is given. *host is malloc'd. 0, -EINVAL or -ENOMEM. */
int sc_export_config_server(const char *url, char **host, int *port);

#endif
