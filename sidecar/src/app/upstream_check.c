/* upstream_check.c - owns: building, classifying and recording the GET /models check. */
#include "app/upstream_check.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canary/classify.h"

#define PROBE_NAME "upstream_check"

typedef struct check {
    const sc_env *env;
    sc_recorder *recorder;
    sc_upcheck_cb cb;
    void *arg;
    sc_span_context span;
    int has_span;
    uint64_t start_ns;
    char route[256]; /* base path + "/models": the url.template */
    char scheme[8];
    char host[256];
    int port;
} check;

/* Splits base_url into the parts the telemetry needs. The path keeps its /v1 prefix, so the
 * template reads as the upstream sees it: "/v1/models". */
static int parse_base(check *c, const char *base_url)
{
    CURLU *u = curl_url();
    if (u == NULL)
        return -ENOMEM;
    int rc = -EINVAL;
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
    if (curl_url_set(u, CURLUPART_URL, base_url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
        size_t plen = strlen(path);
        while (plen > 0 && path[plen - 1] == '/')
            plen--;
        snprintf(c->scheme, sizeof c->scheme, "%s", scheme);
        snprintf(c->host, sizeof c->host, "%s", host);
        c->port = atoi(port);
        snprintf(c->route, sizeof c->route, "%.*s/models", (int)plen, path);
        rc = 0;
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_url_cleanup(u);
    return rc;
}

static sc_attr_str str(const char *s)
{
    return (sc_attr_str){s, s != NULL ? strlen(s) : 0};
}

static void record(check *c, const sc_http_response *res, const sc_classify_result *cls)
{
    if (c->recorder == NULL)
        return;
    sc_attempt_record rec;
    sc_record_attempt_init(&rec);
    rec.source = SC_SOURCE_CANARY;
    rec.kind = SC_SPAN_KIND_CLIENT;
    rec.span = c->span;
    rec.has_span = c->has_span;
    rec.method = str("GET");
    rec.route = str(c->route);
    rec.status_code = (int)res->status;
    rec.url_scheme = str(c->scheme);
    rec.server_address = str(c->host);
    rec.server_port = c->port;
    rec.error_class = cls->error_class;
    if (res->error != SC_HTTP_OK)
        rec.error_type = str(sc_http_error_name(res->error));
    rec.fallback = SC_FALLBACK_NOT_NEEDED;
    rec.probe = str(PROBE_NAME);
    rec.upstream_request_id = str(cls->request_id);
    rec.start_ns = c->start_ns;
    rec.end_ns = c->start_ns + (uint64_t)(res->timings.total_s * 1e9);
    sc_recorder_attempt(c->recorder, &rec);
}

static void on_done(const sc_http_response *res, void *arg)
{
    check *c = arg;
    sc_classify_input in = {
        .transport = res->error,
        .status = res->status,
        .content_type = sc_http_response_header(res, "content-type"),
        .body = res->body,
        .body_len = res->body_len,
        .request_id_header = sc_http_response_header(res, "x-request-id"),
    };
    sc_classify_result cls;
    sc_classify_attempt(&in, &cls);
    record(c, res, &cls);
    sc_upcheck_result r = {
        .ok = cls.error_class == SC_ERROR_CLASS_NONE,
        .status = res->status,
        .status_class = cls.status_class,
        .error_class = cls.error_class,
        .total_s = res->timings.total_s,
    };
    snprintf(r.request_id, sizeof r.request_id, "%s", cls.request_id);
    c->cb(&r, c->arg);
    free(c);
}

int sc_upcheck_start(const sc_env *env, sc_http_client *http, const sc_upcheck_opts *opts,
                     sc_upcheck_cb cb, void *arg)
{
    check *c = calloc(1, sizeof *c);
    if (c == NULL)
        return -ENOMEM;
    *c = (check){.env = env, .recorder = opts->recorder, .cb = cb, .arg = arg};
    int rc = parse_base(c, opts->base_url);
    char url[2048], auth[1024], rid[64], tp[80];
    if (rc == 0 && snprintf(url, sizeof url, "%s/models", opts->base_url) >= (int)sizeof url)
        rc = -ENAMETOOLONG;
    if (rc == 0 && opts->api_key != NULL &&
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", opts->api_key) >= (int)sizeof auth)
        rc = -ENAMETOOLONG;
    if (rc < 0) {
        free(c);
        return rc;
    }
    const char *headers[4] = {"Accept: application/json"};
    size_t n = 1;
    char hex[33];
    sc_rng_hex(env->rng, hex, 32);
    snprintf(rid, sizeof rid, "X-Request-ID: %s", hex);
    headers[n++] = rid;
    if (c->recorder != NULL && sc_recorder_begin_run(c->recorder, &c->span) == 0) {
        c->has_span = 1;
        char value[SC_TRACEPARENT_LEN + 1];
        sc_record_traceparent(&c->span, value);
        snprintf(tp, sizeof tp, "traceparent: %s", value);
        headers[n++] = tp;
    }
    if (opts->api_key != NULL)
        headers[n++] = auth;
    static const char *const capture[] = {"x-request-id", "content-type"};
    sc_http_request_opts req = {
        .method = "GET",
        .url = url,
        .headers = headers,
        .n_headers = n,
        .timeout_ms = opts->timeout_ms,
        .connect_timeout_ms = opts->connect_timeout_ms,
        .max_response_bytes = 0, /* the client default: cometapi.max_response_bytes */
        .capture_headers = capture,
        .n_capture = 2,
        .ca_file = opts->ca_file,
        .on_done = on_done,
        .arg = c,
    };
    c->start_ns = sc_clock_wall_ns(env->clock);
    rc = sc_http_client_start_request(http, &req, NULL);
    explicit_bzero(auth, sizeof auth);
    if (rc < 0)
        free(c);
    return rc;
}
