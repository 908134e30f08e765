/* request.c - owns: the canary request's URL, header lines and synthetic JSON body. */
#include "canary/request.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/jsonw.h"

static int has_crlf(const char *s)
{
    return s != NULL && strpbrk(s, "\r\n") != NULL;
}

static int body_chat(sc_buf *b, const sc_probe *p, const char *model)
{
    int rc = sc_buf_append_str(b, "{\"model\":");
    rc = rc ? rc : sc_jsonw_cstr(b, model);
    rc = rc ? rc : sc_buf_append_str(b, ",\"messages\":[{\"role\":\"user\",\"content\":");
    rc = rc ? rc : sc_jsonw_cstr(b, p->prompt);
    rc = rc ? rc : sc_buf_append_str(b, "}]");
    if (p->cfg->max_tokens > 0) {
        rc = rc ? rc : sc_buf_append_str(b, ",\"max_tokens\":");
        rc = rc ? rc : sc_jsonw_i64(b, p->cfg->max_tokens);
    }
    rc = rc ? rc : sc_buf_append_str(b, ",\"temperature\":0");
    if (p->cfg->stream) {
        rc = rc ? rc : sc_buf_append_str(b, ",\"stream\":true");
        if (p->cfg->include_usage)
            rc = rc ? rc : sc_buf_append_str(b, ",\"stream_options\":{\"include_usage\":true}");
    }
    return rc;
}

static int body_responses(sc_buf *b, const sc_probe *p, const char *model)
{
    int rc = sc_buf_append_str(b, "{\"model\":");
    rc = rc ? rc : sc_jsonw_cstr(b, model);
    rc = rc ? rc : sc_buf_append_str(b, ",\"input\":");
    rc = rc ? rc : sc_jsonw_cstr(b, p->prompt);
    if (p->cfg->max_tokens > 0) {
        rc = rc ? rc : sc_buf_append_str(b, ",\"max_output_tokens\":");
        rc = rc ? rc : sc_jsonw_i64(b, p->cfg->max_tokens);
    }
    rc = rc ? rc : sc_buf_append_str(b, ",\"temperature\":0");
    if (p->cfg->stream)
        rc = rc ? rc : sc_buf_append_str(b, ",\"stream\":true");
    return rc;
}

static int build_body(const sc_canary_request_params *p, sc_buf *b)
{
    const sc_probe *pr = p->probe;
    if (pr->cfg->endpoint == SC_PROBE_MODELS)
        return 0;
    if (p->model == NULL)
        return -EINVAL;
    int rc = pr->cfg->endpoint == SC_PROBE_CHAT ? body_chat(b, pr, p->model)
                                                : body_responses(b, pr, p->model);
    /* Malformed: stop before the closing brace. */
    if (rc == 0 && pr->cfg->body != SC_PROBE_BODY_MALFORMED)
        rc = sc_buf_append_str(b, "}");
    return rc;
}

static int auth_line(const sc_canary_request_params *p, char *out, size_t cap, int *present)
{
    const char *key = NULL;
    *present = 0;
    if (p->probe->cfg->credential == SC_PROBE_CRED_CONFIGURED)
        key = p->api_key;
    else if (p->probe->cfg->credential == SC_PROBE_CRED_INVALID)
        key = p->invalid_key;
    if (key == NULL || key[0] == '\0')
        return p->probe->cfg->credential == SC_PROBE_CRED_INVALID ? -EINVAL : 0;
    if (has_crlf(key))
        return -EINVAL;
    int n = snprintf(out, cap, "Authorization: Bearer %s", key);
    if (n < 0 || (size_t)n >= cap)
        return -ENAMETOOLONG;
    *present = 1;
    return 0;
}

static int build_headers(const sc_canary_request_params *p, sc_canary_request *r)
{
    int post = strcmp(p->probe->method, "POST") == 0;
    if (post)
        r->headers[r->n_headers++] = "Content-Type: application/json";
    snprintf(r->accept, sizeof r->accept, "Accept: %s",
             p->probe->cfg->stream ? "text/event-stream" : "application/json");
    r->headers[r->n_headers++] = r->accept;
    int present, rc = auth_line(p, r->auth, sizeof r->auth, &present);
    if (rc != 0)
        return rc;
    if (present)
        r->headers[r->n_headers++] = r->auth;
    int n1 = snprintf(r->xrid, sizeof r->xrid, "X-Request-ID: %s", p->request_id);
    int n2 = snprintf(r->tp, sizeof r->tp, "traceparent: %s", p->traceparent);
    if (n1 < 0 || (size_t)n1 >= sizeof r->xrid || n2 < 0 || (size_t)n2 >= sizeof r->tp)
        return -EINVAL;
    r->headers[r->n_headers++] = r->xrid;
    r->headers[r->n_headers++] = r->tp;
    return 0;
}

int sc_canary_request_build(const sc_canary_request_params *p, sc_canary_request *out)
{
    if (p == NULL || out == NULL || p->probe == NULL || p->base_url == NULL ||
        p->request_id == NULL || p->traceparent == NULL || has_crlf(p->request_id) ||
        has_crlf(p->traceparent))
        return -EINVAL;
    out->n_headers = 0;
    sc_buf_init(&out->body, SC_CANARY_BODY_MAX);
    int n = snprintf(out->url, sizeof out->url, "%s%s", p->base_url, p->probe->route);
    int rc = n < 0 || (size_t)n >= sizeof out->url ? -ENAMETOOLONG : 0;
    if (rc == 0)
        rc = build_headers(p, out);
    if (rc == 0)
        rc = build_body(p, &out->body);
    if (rc != 0)
        sc_canary_request_wipe(out);
    return rc;
}

void sc_canary_request_wipe(sc_canary_request *r)
{
    if (r == NULL)
        return;
    explicit_bzero(r->auth, sizeof r->auth);
    sc_buf_free(&r->body);
    r->n_headers = 0;
}

/* The authority of an http(s) URL: [start, end) after "scheme://". */
static int authority(const char *url, const char **scheme, const char **start, const char **end)
{
    if (strncasecmp(url, "https://", 8) == 0) {
        *scheme = "https";
        *start = url + 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        *scheme = "http";
        *start = url + 7;
    } else {
        return -EINVAL;
    }
    *end = *start + strcspn(*start, "/?#");
    return *end > *start ? 0 : -EINVAL;
}

int sc_canary_route_template(const char *method, const char *base_url, const char *route, char *out,
                             size_t cap)
{
    const char *scheme, *a, *e;
    if (method == NULL || route == NULL || authority(base_url, &scheme, &a, &e) != 0)
        return -EINVAL;
    size_t path_len = strcspn(e, "?#");
    int n = snprintf(out, cap, "%s %.*s%s", method, (int)path_len, e, route);
    if (n < 0 || (size_t)n >= cap)
        return -ENAMETOOLONG;
    return n;
}

int sc_canary_url_parts(const char *base_url, const char **scheme, char *host, size_t host_cap,
                        int *port)
{
    const char *a, *e;
    if (base_url == NULL || authority(base_url, scheme, &a, &e) != 0)
        return -EINVAL;
    const char *at = memchr(a, '@', (size_t)(e - a)); /* never keep userinfo */
    if (at != NULL)
        a = at + 1;
    const char *hs = a, *he, *colon = NULL;
    if (*a == '[') {
        he = memchr(a, ']', (size_t)(e - a));
        if (he == NULL)
            return -EINVAL;
        hs = a + 1;
        colon = he + 1 < e && he[1] == ':' ? he + 1 : NULL;
    } else {
        colon = memchr(a, ':', (size_t)(e - a));
        he = colon ? colon : e;
    }
    if (he <= hs || (size_t)(he - hs) >= host_cap)
        return -EINVAL;
    memcpy(host, hs, (size_t)(he - hs));
    host[he - hs] = '\0';
    *port = strcmp(*scheme, "https") == 0 ? 443 : 80;
    if (colon != NULL) {
        int v = 0;
        const char *p = colon + 1;
        if (p == e)
            return -EINVAL;
        for (; p < e; p++) {
            if (*p < '0' || *p > '9' || (v = v * 10 + (*p - '0')) > 65535)
                return -EINVAL;
        }
        *port = v;
    }
    return 0;
}
