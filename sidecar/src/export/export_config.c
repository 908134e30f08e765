/* export_config.c - owns: the mapping from exporter.* configuration keys to sc_export_config and
 * the URL and header-line builders. */
#include "export/export_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "telemetry/schema.h"
#include "version.h"

int sc_export_config_url(const char *endpoint, const char *signal_endpoint, int metrics, char **out)
{
    *out = NULL;
    if (signal_endpoint != NULL) {
        *out = strdup(signal_endpoint);
        return *out != NULL ? 0 : -ENOMEM;
    }
    if (endpoint == NULL)
        return -EINVAL;
    const char *path = metrics ? "/v1/metrics" : "/v1/traces";
    size_t n = strlen(endpoint);
    while (n > 0 && endpoint[n - 1] == '/')
        n--;
    size_t total = n + strlen(path) + 1;
    char *u = malloc(total);
    if (u == NULL)
        return -ENOMEM;
    memcpy(u, endpoint, n);
    memcpy(u + n, path, strlen(path) + 1);
    *out = u;
    return 0;
}

static int has_crlf(const char *s)
{
    return s == NULL || strpbrk(s, "\r\n") != NULL;
}

static int ours(const char *name)
{
    return strcasecmp(name, "content-type") == 0 || strcasecmp(name, "content-encoding") == 0;
}

static int in_map(const sc_config_map *m, const char *name)
{
    for (size_t i = 0; m != NULL && i < m->n; i++)
        if (strcasecmp(m->items[i].key, name) == 0)
            return 1;
    return 0;
}

/* "Name: value". A header with an empty value is left out: libcurl would read "Name:" as
 * "remove this header", and the HTTP client accepts no other spelling. */
static int push_line(char **lines, size_t *n, const char *name, const char *value)
{
    if (has_crlf(name) || has_crlf(value) || name[0] == '\0' || strchr(name, ':') != NULL)
        return -EINVAL;
    if (value[0] == '\0')
        return 0;
    size_t len = strlen(name) + strlen(value) + 3;
    char *l = malloc(len);
    if (l == NULL)
        return -ENOMEM;
    snprintf(l, len, "%s: %s", name, value);
    lines[(*n)++] = l;
    return 0;
}

int sc_export_config_headers(const sc_config_map *general, const sc_config_map *per_signal,
                             int json, int gzip, const char *user_agent, char ***out, size_t *n)
{
    int rc = 0;
    size_t cap = (general ? general->n : 0) + (per_signal ? per_signal->n : 0) + 3, k = 0;
    char **lines = calloc(cap, sizeof *lines);
    *out = NULL;
    *n = 0;
    if (lines == NULL)
        return -ENOMEM;
    for (size_t i = 0; general != NULL && i < general->n && rc == 0; i++) {
        const sc_config_kv *kv = &general->items[i];
        if (!ours(kv->key) && !in_map(per_signal, kv->key))
            rc = push_line(lines, &k, kv->key, kv->value);
    }
    for (size_t i = 0; per_signal != NULL && i < per_signal->n && rc == 0; i++) {
        const sc_config_kv *kv = &per_signal->items[i];
        if (!ours(kv->key))
            rc = push_line(lines, &k, kv->key, kv->value);
    }
    if (rc == 0 && user_agent != NULL && !in_map(general, "user-agent") &&
        !in_map(per_signal, "user-agent"))
        rc = push_line(lines, &k, "User-Agent", user_agent);
    if (rc == 0)
        rc = push_line(lines, &k, "Content-Type",
                       json ? "application/json" : "application/x-protobuf");
    if (rc == 0 && gzip)
        rc = push_line(lines, &k, "Content-Encoding", "gzip");
    if (rc != 0) {
        sc_export_config_free_headers(lines, k);
        return rc;
    }
    *out = lines;
    *n = k;
    return 0;
}

void sc_export_config_free_headers(char **lines, size_t n)
{
    if (lines == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
}

static sc_export_sink sink_of(const sc_config *c, sc_config_exporter x)
{
    if (c->sdk.disabled)
        return SC_EXPORT_SINK_NONE;
    switch (x) {
    case SC_EXPORTER_OTLP:
        return SC_EXPORT_SINK_OTLP;
    case SC_EXPORTER_FILE:
        return SC_EXPORT_SINK_FILE;
    case SC_EXPORTER_CONSOLE:
        return SC_EXPORT_SINK_CONSOLE;
    default:
        return SC_EXPORT_SINK_NONE;
    }
}

/* A per-signal setting, or the general one when the signal has none (OTLP exporter spec). */
static const char *or_general(const char *per_signal, const char *general)
{
    return per_signal != NULL ? per_signal : general;
}

/* otel.component.type of the signal's exporter: every exporter's self-metrics carry one. */
static const char *component_type(const sc_export_lane_config *l, int metrics)
{
    switch (l->sink) {
    case SC_EXPORT_SINK_OTLP:
        if (metrics)
            return l->json ? SC_OTEL_COMPONENT_OTLP_HTTP_JSON_METRIC_EXPORTER
                           : SC_OTEL_COMPONENT_OTLP_HTTP_METRIC_EXPORTER;
        return l->json ? SC_OTEL_COMPONENT_OTLP_HTTP_JSON_SPAN_EXPORTER
                       : SC_OTEL_COMPONENT_OTLP_HTTP_SPAN_EXPORTER;
    case SC_EXPORT_SINK_FILE:
        return metrics ? SC_OTEL_COMPONENT_FILE_METRIC_EXPORTER
                       : SC_OTEL_COMPONENT_FILE_SPAN_EXPORTER;
    case SC_EXPORT_SINK_CONSOLE:
        return metrics ? SC_OTEL_COMPONENT_CONSOLE_METRIC_EXPORTER
                       : SC_OTEL_COMPONENT_CONSOLE_SPAN_EXPORTER;
    default:
        return NULL;
    }
}

static int lane_from(sc_export_lane_config *l, const sc_config *c, int metrics)
{
    int rc;
    l->sink = sink_of(c, metrics ? c->exporter.metrics : c->exporter.traces);
    sc_config_otlp_protocol proto =
        metrics ? c->exporter.otlp.metrics_protocol : c->exporter.otlp.traces_protocol;
    l->json = l->sink != SC_EXPORT_SINK_OTLP || proto == SC_OTLP_HTTP_JSON;
    const struct sc_config_otlp *o = &c->exporter.otlp;
    l->gzip = (metrics ? o->metrics_compression : o->traces_compression) == SC_COMPRESSION_GZIP;
    uint64_t timeout = metrics ? o->metrics_timeout_ms : o->traces_timeout_ms;
    l->attempt_timeout_ms = (uint32_t)(timeout != 0 ? timeout : o->timeout_ms);
    l->budget_ms = metrics ? c->exporter.metrics_timeout_ms : c->exporter.batch.export_timeout_ms;
    uint64_t period =
        metrics ? c->exporter.metrics_interval_ms : c->exporter.batch.schedule_delay_ms;
    l->window_ms = 3 * (period + l->budget_ms);
    l->ca_file =
        or_general(metrics ? o->metrics_certificate : o->traces_certificate, o->certificate);
    l->client_cert =
        or_general(metrics ? o->metrics_client_certificate : o->traces_client_certificate,
                   o->client_certificate);
    l->client_key =
        or_general(metrics ? o->metrics_client_key : o->traces_client_key, o->client_key);
    l->component_type = component_type(l, metrics);
    if (l->sink != SC_EXPORT_SINK_OTLP)
        return 0;
    rc = sc_export_config_url(c->exporter.otlp.endpoint,
                              metrics ? c->exporter.otlp.metrics_endpoint
                                      : c->exporter.otlp.traces_endpoint,
                              metrics, &l->url);
    if (rc != 0 || (rc = sc_export_config_server(l->url, &l->server_address, &l->server_port)) != 0)
        return rc;
    return sc_export_config_headers(
        &c->exporter.otlp.headers,
        metrics ? &c->exporter.otlp.metrics_headers : &c->exporter.otlp.traces_headers, l->json,
        l->gzip, SC_NAME "/" SC_VERSION, &l->headers, &l->n_headers);
}

int sc_export_config_from(sc_export_config *out, const sc_config *cfg)
{
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = lane_from(&out->traces, cfg, 0)) != 0 ||
        (rc = lane_from(&out->metrics, cfg, 1)) != 0) {
        sc_export_config_free(out);
        return rc;
    }
    out->file_path = cfg->exporter.file.path;
    out->max_batch = (size_t)cfg->exporter.batch.max_export_batch_size;
    out->schedule_delay_ms = cfg->exporter.batch.schedule_delay_ms;
    out->metrics_interval_ms = cfg->exporter.metrics_interval_ms;
    return 0;
}

static void lane_free(sc_export_lane_config *l)
{
    free(l->url);
    free(l->server_address);
    l->server_address = NULL;
    sc_export_config_free_headers(l->headers, l->n_headers);
    l->url = NULL;
    l->headers = NULL;
    l->n_headers = 0;
}

void sc_export_config_free(sc_export_config *c)
{
    lane_free(&c->traces);
    lane_free(&c->metrics);
}

int sc_export_config_server(const char *url, char **host, int *port)
{
    char *h = NULL, *p = NULL;
    int rc = -EINVAL;
    *host = NULL;
    *port = 0;
    CURLU *u = curl_url();
    if (u == NULL)
        return -ENOMEM;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto out;
    size_t n = strlen(h);
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        memmove(h, h + 1, n - 2);
        h[n - 2] = '\0';
    }
    *host = strdup(h);
    *port = atoi(p);
    rc = *host != NULL ? 0 : -ENOMEM;
out:
    curl_free(h);
    curl_free(p);
    curl_url_cleanup(u);
    return rc;
}
