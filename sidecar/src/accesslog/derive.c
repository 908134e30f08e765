/* derive.c - owns: the default route table, template compile/match, the status -> error class
 * table, nginx upstream list summaries and the fields -> schema values step. */
#include "accesslog/derive.h"

#include <errno.h>
#include <string.h>

#define NO_OP UINT16_MAX

static const sc_derive_route_spec default_routes[] = {
    {"/v1/chat/completions", "chat", 1},   {"/v1/completions", "text_completion", 1},
    {"/v1/responses", "chat", 1},          {"/v1/responses/{id}", NULL, 0},
    {"/v1/embeddings", "embeddings", 1},   {"/v1/models", NULL, 0},
    {"/v1/models/{model}", NULL, 1},       {"/v1/images/generations", NULL, 1},
    {"/v1/audio/transcriptions", NULL, 1}, {"/v1/audio/speech", NULL, 1},
    {"/v1/moderations", NULL, 1},          {"/v1/files", NULL, 0},
    {"/v1/files/{id}", NULL, 0},           {"/v1/batches", NULL, 0},
    {"/v1/batches/{id}", NULL, 0},
};

const sc_derive_route_spec *sc_derive_default_routes(size_t *n)
{
    *n = sizeof default_routes / sizeof default_routes[0];
    return default_routes;
}

/* ---- Templates ------------------------------------------------------------------------------- */

static int set_err(sc_accesslog_error *err, int rc, const char *msg, size_t pos, int idx)
{
    if (err != NULL)
        *err = (sc_accesslog_error){msg, pos, idx};
    return rc;
}

/* Copies s with its NUL into the text area; the offset, or -1 when full. */
static int put_text(sc_derive_routes *out, const char *s)
{
    size_t n = strlen(s) + 1;
    if (out->text_used + n > sizeof out->text)
        return -1;
    memcpy(out->text + out->text_used, s, n);
    int off = out->text_used;
    out->text_used = (uint16_t)(out->text_used + n);
    return off;
}

static int compile_one(sc_derive_routes *out, const sc_derive_route_spec *sp, int idx,
                       sc_accesslog_error *err)
{
    const char *t = sp->tmpl;
    if (t == NULL || t[0] != '/')
        return set_err(err, -EINVAL, "template must start with '/'", 0, idx);
    sc_derive_route *r = &out->r[out->n];
    int off = put_text(out, t);
    int op = sp->operation != NULL ? put_text(out, sp->operation) : NO_OP;
    if (off < 0 || op < 0)
        return set_err(err, -E2BIG, "templates too long", 0, idx);
    *r = (sc_derive_route){(uint16_t)off, (uint16_t)op, 0, (uint8_t)(sp->model_404 != 0), {0}, {0}};
    size_t len = strlen(t), i = 1;
    if (len > 1 && t[len - 1] == '/')
        len--; /* "/v1/models/" == "/v1/models" */
    while (i < len) {
        size_t s = i;
        while (i < len && t[i] != '/')
            i++;
        size_t n = i - s;
        if (n == 0)
            return set_err(err, -EINVAL, "empty segment", s, idx);
        int param = t[s] == '{';
        for (size_t k = s; k < i; k++) {
            char c = t[k];
            int brace_ok = param && ((k == s && c == '{') || (k == i - 1 && c == '}'));
            if (c == '?' || c == '#' || c == '*' || ((c == '{' || c == '}') && !brace_ok))
                return set_err(err, -EINVAL, "bad character in template", k, idx);
        }
        if (param && (n < 3 || t[i - 1] != '}'))
            return set_err(err, -EINVAL, "a parameter is a whole {name} segment", s, idx);
        if (r->n_seg == SC_DERIVE_MAX_SEGMENTS || n > UINT8_MAX)
            return set_err(err, -E2BIG, "template too long", s, idx);
        r->seg_off[r->n_seg] = (uint16_t)(off + s);
        r->seg_len[r->n_seg++] = param ? 0 : (uint8_t)n;
        i++;
    }
    out->n++;
    return 0;
}

int sc_derive_routes_compile(const sc_derive_route_spec *specs, size_t n, sc_derive_routes *out,
                             sc_accesslog_error *err)
{
    if (out == NULL || (specs == NULL && n > 0))
        return set_err(err, -EINVAL, "no templates", 0, -1);
    out->n = 0;
    out->text_used = 0;
    if (n > SC_DERIVE_MAX_ROUTES)
        return set_err(err, -E2BIG, "too many templates", 0, SC_DERIVE_MAX_ROUTES);
    for (size_t i = 0; i < n; i++) {
        int rc = compile_one(out, &specs[i], (int)i, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int route_matches(const sc_derive_routes *routes, const sc_derive_route *r, const char *p,
                         const char *end)
{
    for (unsigned s = 0; s < r->n_seg; s++) {
        if (p == end || *p != '/')
            return 0;
        const char *seg = ++p;
        while (p < end && *p != '/')
            p++;
        size_t n = (size_t)(p - seg);
        if (n == 0)
            return 0;
        if (r->seg_len[s] != 0 &&
            (n != r->seg_len[s] || memcmp(seg, routes->text + r->seg_off[s], n) != 0))
            return 0;
    }
    return p == end || (end - p == 1 && *p == '/');
}

int sc_derive_route_match(const sc_derive_routes *routes, const char *path, size_t n)
{
    if (routes == NULL || path == NULL || n == 0 || path[0] != '/')
        return -1;
    for (unsigned i = 0; i < routes->n; i++)
        if (route_matches(routes, &routes->r[i], path, path + n))
            return (int)i;
    return -1;
}

/* ---- Error class ----------------------------------------------------------------------------- */

static sc_error_class status_class_of(int status, int model_404)
{
    if (status < 100 || status > 599)
        return SC_ERROR_CLASS_NETWORK_ERROR;
    if (status < 400)
        return SC_ERROR_CLASS_NONE;
    switch (status) {
    case 401:
    case 403:
        return SC_ERROR_CLASS_AUTH_ERROR;
    case 402:
        return SC_ERROR_CLASS_QUOTA_EXCEEDED;
    case 404:
        return model_404 ? SC_ERROR_CLASS_MODEL_NOT_FOUND : SC_ERROR_CLASS_INVALID_REQUEST;
    case 408:
    case 504:
        return SC_ERROR_CLASS_TIMEOUT;
    case 429:
        return SC_ERROR_CLASS_RATE_LIMITED;
    case 451:
        return SC_ERROR_CLASS_POLICY_REJECTION;
    case 499:
        return SC_ERROR_CLASS_STREAM_INTERRUPTED;
    default:
        return status < 500 ? SC_ERROR_CLASS_INVALID_REQUEST : SC_ERROR_CLASS_UPSTREAM_ERROR;
    }
}

static const struct {
    const char *flag;
    sc_error_class cls;
} envoy_flags[] = {
    {"UT", SC_ERROR_CLASS_TIMEOUT},        {"SI", SC_ERROR_CLASS_TIMEOUT},
    {"UF", SC_ERROR_CLASS_NETWORK_ERROR},  {"UC", SC_ERROR_CLASS_NETWORK_ERROR},
    {"UR", SC_ERROR_CLASS_NETWORK_ERROR},  {"LR", SC_ERROR_CLASS_NETWORK_ERROR},
    {"UH", SC_ERROR_CLASS_UPSTREAM_ERROR}, {"UO", SC_ERROR_CLASS_UPSTREAM_ERROR},
    {"RL", SC_ERROR_CLASS_RATE_LIMITED},   {"DC", SC_ERROR_CLASS_STREAM_INTERRUPTED},
    {"UAEX", SC_ERROR_CLASS_AUTH_ERROR},   {"NR", SC_ERROR_CLASS_INVALID_REQUEST},
};

/* First flag of a comma-separated list that the table knows, or -1. */
static int flags_class(const char *p, size_t n)
{
    const char *end = p + n;
    while (p < end) {
        const char *f = p;
        while (p < end && *p != ',')
            p++;
        for (size_t i = 0; i < sizeof envoy_flags / sizeof envoy_flags[0]; i++)
            if (strlen(envoy_flags[i].flag) == (size_t)(p - f) &&
                memcmp(f, envoy_flags[i].flag, (size_t)(p - f)) == 0)
                return (int)envoy_flags[i].cls;
        p++;
    }
    return -1;
}

sc_error_class sc_derive_error_class(int status, int route_model_404, const char *flags,
                                     size_t flags_len)
{
    sc_error_class c = status_class_of(status, route_model_404);
    if (c != SC_ERROR_CLASS_NONE && flags != NULL && flags_len > 0) {
        int fc = flags_class(flags, flags_len);
        if (fc >= 0)
            c = (sc_error_class)fc;
    }
    return c;
}

/* ---- Upstream lists -------------------------------------------------------------------------- */

/* Next entry of an nginx upstream list at *pp: the entry in (*e, *en); *sep is ',' or ':' for the
 * separator that FOLLOWS it (0 at the end). -1 on a malformed list. */
static int next_entry(const char **pp, const char *end, const char **e, size_t *en, char *sep)
{
    const char *p = *pp, *s = p;
    while (p < end && !(*p == ' ' || *p == ','))
        p++;
    *e = s;
    *en = (size_t)(p - s);
    if (*en == 0)
        return -1;
    if (p == end) {
        *sep = 0;
    } else if (end - p >= 2 && p[0] == ',' && p[1] == ' ') {
        *sep = ',';
        p += 2;
    } else if (end - p >= 3 && p[0] == ' ' && p[1] == ':' && p[2] == ' ') {
        *sep = ':';
        p += 3;
    } else {
        return -1;
    }
    if (*sep && p == end)
        return -1;
    *pp = p;
    return 0;
}

static int entry_status(const char *e, size_t n)
{
    if (n == 1 && e[0] == '-')
        return 0;
    if (n != 3)
        return -1;
    int v = 0;
    for (size_t i = 0; i < 3; i++) {
        if ((unsigned)(e[i] - '0') > 9)
            return -1;
        v = v * 10 + (e[i] - '0');
    }
    return v >= 100 ? v : -1;
}

static int failed(int status)
{
    return status == 0 || status >= 400;
}

int sc_derive_upstreams_parse(const char *status, size_t sn, sc_derive_upstreams *out)
{
    *out = (sc_derive_upstreams){0, 1, -1, 0, 0, 0};
    if (status == NULL || sn == 0)
        return -EINVAL;
    const char *p = status, *end = status + sn;
    int group_failed = 0;
    while (p < end) {
        const char *e;
        size_t en;
        char sep;
        if (next_entry(&p, end, &e, &en, &sep) < 0)
            return -EINVAL;
        int st = entry_status(e, en);
        if (st < 0)
            return -EINVAL;
        out->attempts++;
        out->final_status = st;
        /* Inside a group nginx only moves on after a failure; a group's last attempt decides. */
        int this_failed = sep == ',' || failed(st);
        if (this_failed && out->first_failed_status < 0 && sep != 0)
            out->first_failed_status = st;
        if (sep == ':') {
            out->groups++;
            group_failed |= this_failed;
        }
        if (sep == 0)
            out->final_failed = failed(st);
    }
    out->fallback = group_failed;
    return 0;
}

/* ---- Fields -> schema values ----------------------------------------------------------------- */

static const char *reason_of(sc_error_class c)
{
    const char *name = sc_schema_error_class_name(c);
    return sc_schema_fallback_reason(name, name != NULL ? strlen(name) : 0);
}

/* A class the schema allows as a fallback reason (not "_OTHER", not "none"). */
static int eligible(sc_error_class c)
{
    const char *r = reason_of(c);
    return strcmp(r, SC_FALLBACK_REASON_OTHER) != 0 && strcmp(r, SC_FALLBACK_REASON_NONE) != 0;
}

static void derive_fallback(const sc_accesslog_fields *f, const sc_derive_upstreams *u,
                            int have_upstreams, int model_404, sc_derive_result *out)
{
    const sc_accesslog_str *v = f->v;
    if (sc_accesslog_has(f, SC_ACCESSLOG_FIELD_FALLBACK_REASON)) {
        const sc_accesslog_str *r = &v[SC_ACCESSLOG_FIELD_FALLBACK_REASON];
        out->fallback_known = 1;
        out->fallback_reason = sc_schema_fallback_reason(r->p, r->n);
        out->fallback_decision = strcmp(out->fallback_reason, SC_FALLBACK_REASON_NONE) == 0
                                     ? SC_FALLBACK_NOT_NEEDED
                                     : SC_FALLBACK_USED;
        return;
    }
    if (!have_upstreams)
        return;
    out->fallback_known = 1;
    if (u->fallback) {
        out->fallback_decision = SC_FALLBACK_USED;
        out->fallback_reason = reason_of(status_class_of(u->first_failed_status, model_404));
        return;
    }
    sc_error_class final = status_class_of(u->final_status, model_404);
    if (u->final_failed && eligible(final)) {
        out->fallback_decision = SC_FALLBACK_FAILED_CLOSED;
        out->fallback_reason = reason_of(final);
    }
}

static sc_derive_usage usage_of(const sc_accesslog_fields *f)
{
    const uint32_t usage_fields = SC_ACCESSLOG_BIT(SC_ACCESSLOG_FIELD_USAGE_PRESENT) |
                                  SC_ACCESSLOG_BIT(SC_ACCESSLOG_FIELD_INPUT_TOKENS) |
                                  SC_ACCESSLOG_BIT(SC_ACCESSLOG_FIELD_OUTPUT_TOKENS);
    if (sc_accesslog_has(f, SC_ACCESSLOG_FIELD_USAGE_PRESENT))
        return f->usage_present ? SC_DERIVE_USAGE_PRESENT : SC_DERIVE_USAGE_ABSENT;
    if (f->present & usage_fields)
        return SC_DERIVE_USAGE_PRESENT;
    return f->mapped & usage_fields ? SC_DERIVE_USAGE_ABSENT : SC_DERIVE_USAGE_UNKNOWN;
}

void sc_derive(const sc_derive_routes *routes, const sc_accesslog_fields *f, sc_derive_result *out)
{
    const sc_accesslog_str *v = f->v;
    *out = (sc_derive_result){SC_DERIVE_ROUTE_OTHER,
                              NULL,
                              SC_HTTP_METHOD_OTHER,
                              SC_STATUS_CLASS_NETWORK_ERROR,
                              SC_ERROR_CLASS_NETWORK_ERROR,
                              0,
                              0,
                              0,
                              SC_FALLBACK_NOT_NEEDED,
                              SC_FALLBACK_REASON_NONE,
                              SC_DERIVE_USAGE_UNKNOWN};
    int model_404 = 0;
    if (sc_accesslog_has(f, SC_ACCESSLOG_FIELD_PATH)) {
        const sc_accesslog_str *p = &v[SC_ACCESSLOG_FIELD_PATH];
        int i = sc_derive_route_match(routes, p->p, p->n);
        if (i >= 0) {
            const sc_derive_route *r = &routes->r[i];
            out->route = routes->text + r->tmpl_off;
            out->operation = r->op_off != NO_OP ? routes->text + r->op_off : NULL;
            model_404 = r->model_404;
        }
    }
    if (sc_accesslog_has(f, SC_ACCESSLOG_FIELD_METHOD))
        out->method =
            sc_schema_http_method(v[SC_ACCESSLOG_FIELD_METHOD].p, v[SC_ACCESSLOG_FIELD_METHOD].n);
    int status = sc_accesslog_has(f, SC_ACCESSLOG_FIELD_STATUS) ? f->status : 0;
    const sc_accesslog_str *flags = &v[SC_ACCESSLOG_FIELD_RESPONSE_FLAGS];
    int has_flags = sc_accesslog_has(f, SC_ACCESSLOG_FIELD_RESPONSE_FLAGS);
    out->status_class = sc_schema_status_class(status);
    out->error_class = sc_derive_error_class(status, model_404, has_flags ? flags->p : NULL,
                                             has_flags ? flags->n : 0);

    sc_derive_upstreams u = {0};
    const sc_accesslog_str *us = &v[SC_ACCESSLOG_FIELD_UPSTREAM_STATUS];
    int have_upstreams = sc_accesslog_has(f, SC_ACCESSLOG_FIELD_UPSTREAM_STATUS) &&
                         sc_derive_upstreams_parse(us->p, us->n, &u) == 0;
    if (sc_accesslog_has(f, SC_ACCESSLOG_FIELD_RETRY_COUNT)) {
        out->retry_known = 1;
        out->retry_count = f->retry_count;
    } else if (have_upstreams) {
        out->retry_known = 1;
        out->retry_count = u.attempts - 1;
    }
    derive_fallback(f, &u, have_upstreams, model_404, out);
    out->usage = usage_of(f);
}
