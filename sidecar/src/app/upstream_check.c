/* upstream_check.c - owns: building and completing the GET /models check. */
#include "app/upstream_check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct check {
    sc_upcheck_cb cb;
    void *arg;
} check;

static void on_done(const sc_http_response *res, void *arg)
{
    check *c = arg;
    sc_upcheck_result r;
    memset(&r, 0, sizeof r);
    r.status = res->status;
    r.error = res->error;
    r.ok = res->error == SC_HTTP_OK && res->status >= 200 && res->status < 300;
    r.total_s = res->timings.total_s;
    r.first_byte_s = res->timings.first_byte_s;
    const char *rid = sc_http_response_header(res, "x-request-id");
    if (rid != NULL)
        snprintf(r.request_id, sizeof r.request_id, "%s", rid);
    c->cb(&r, c->arg);
    free(c);
}

int sc_upcheck_start(sc_http_client *http, const sc_upcheck_opts *opts, sc_upcheck_cb cb, void *arg)
{
    char url[2048];
    if (snprintf(url, sizeof url, "%s/models", opts->base_url) >= (int)sizeof url)
        return -ENAMETOOLONG;
    char auth[1024];
    const char *headers[2] = {"Accept: application/json", NULL};
    size_t n_headers = 1;
    if (opts->api_key != NULL) {
        if (snprintf(auth, sizeof auth, "Authorization: Bearer %s", opts->api_key) >=
            (int)sizeof auth)
            return -ENAMETOOLONG;
        headers[n_headers++] = auth;
    }
    static const char *const capture[] = {"x-request-id"};
    check *c = malloc(sizeof *c);
    if (c == NULL)
        return -ENOMEM;
    c->cb = cb;
    c->arg = arg;
    sc_http_request_opts req = {
        .method = "GET",
        .url = url,
        .headers = headers,
        .n_headers = n_headers,
        .timeout_ms = opts->timeout_ms,
        .connect_timeout_ms = opts->connect_timeout_ms,
        .max_response_bytes = 0, /* the client default: cometapi.max_response_bytes */
        .capture_headers = capture,
        .n_capture = 1,
        .ca_file = opts->ca_file,
        .on_done = on_done,
        .arg = c,
    };
    int rc = sc_http_client_start_request(http, &req, NULL);
    explicit_bzero(auth, sizeof auth);
    if (rc < 0)
        free(c);
    return rc;
}
