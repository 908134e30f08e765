/* classify.c - owns: the attempt classification rules of classify.h and the error-body reader
 * behind them (codes/types kept as tokens; messages only searched, never copied). */
#include "canary/classify.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "canary/token.h"

#define RID_MIN 6
#define RID_MAX 64

typedef struct err_info {
    char code[SC_CLASSIFY_TOKEN_LEN];
    char type[SC_CLASSIFY_TOKEN_LEN];
    char rid[SC_CLASSIFY_RID_LEN]; /* from the message */
    bool model_missing;            /* the message says the model does not exist */
} err_info;

static bool eq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static bool either(const err_info *e, const char *v)
{
    return eq(e->code, v) || eq(e->type, v);
}

static bool policy_code(const char *code, const char *type)
{
    static const char *const codes[] = {"content_filter", "content_policy_violation",
                                        "moderation_blocked", "image_content_policy_violation",
                                        "policy_violation"};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (eq(code, codes[i]) || eq(type, codes[i]))
            return true;
    return false;
}

sc_error_class sc_classify_error_code(const char *code, const char *type, sc_error_class dflt)
{
    if (eq(code, "insufficient_quota") || eq(type, "insufficient_quota"))
        return SC_ERROR_CLASS_QUOTA_EXCEEDED;
    if (eq(code, "rate_limit_exceeded") || eq(type, "requests") || eq(type, "tokens"))
        return SC_ERROR_CLASS_RATE_LIMITED;
    if (policy_code(code, type))
        return SC_ERROR_CLASS_POLICY_REJECTION;
    if (eq(code, "model_not_found"))
        return SC_ERROR_CLASS_MODEL_NOT_FOUND;
    if (eq(code, "invalid_api_key") || eq(type, "authentication_error"))
        return SC_ERROR_CLASS_AUTH_ERROR;
    if (eq(code, "server_error"))
        return SC_ERROR_CLASS_UPSTREAM_ERROR;
    if (code != NULL && strncmp(code, "invalid_", 8) == 0)
        return SC_ERROR_CLASS_INVALID_REQUEST;
    return dflt;
}

bool sc_classify_retryable(sc_error_class c, bool content_seen)
{
    switch (c) {
    case SC_ERROR_CLASS_RATE_LIMITED:
    case SC_ERROR_CLASS_UPSTREAM_ERROR:
    case SC_ERROR_CLASS_TIMEOUT:
    case SC_ERROR_CLASS_NETWORK_ERROR:
        return true;
    case SC_ERROR_CLASS_STREAM_INTERRUPTED:
        return !content_seen;
    default:
        return false;
    }
}

static bool rid_byte(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

int sc_classify_request_id_from_message(const char *msg, size_t len, char *out, size_t cap)
{
    static const char key[] = "request id";
    const size_t klen = sizeof key - 1;
    if (out == NULL || cap == 0 || (msg == NULL && len > 0))
        return -EINVAL;
    out[0] = '\0';
    for (size_t i = 0; i + klen <= len; i++) {
        if (strncasecmp(msg + i, key, klen) != 0)
            continue;
        size_t j = i + klen;
        if (j < len && msg[j] == ':')
            j++;
        while (j < len && msg[j] == ' ')
            j++;
        size_t start = j;
        while (j < len && rid_byte(msg[j]))
            j++;
        size_t n = j - start;
        if (n >= RID_MIN && n <= RID_MAX && n < cap) {
            memcpy(out, msg + start, n);
            out[n] = '\0';
            return 0;
        }
    }
    return -ENOENT;
}

/* Case-insensitive substring search over a NUL-terminated haystack. */
static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return false;
}

static void token_of(char *dst, size_t cap, const cJSON *j)
{
    if (cJSON_IsString(j) && j->valuestring != NULL) {
        sc_token_copy(dst, cap, j->valuestring, strlen(j->valuestring), SC_TOKEN_NAME);
    } else if (cJSON_IsNumber(j) && isfinite(j->valuedouble) && fabs(j->valuedouble) < 1e15 &&
               floor(j->valuedouble) == j->valuedouble) {
        snprintf(dst, cap, "%lld", (long long)j->valuedouble); /* gateways that use numbers */
    }
}

/* {"error":{...}}, {"error":"text"} or a bare {"code","type","message"} object. */
static void read_error_body(const char *body, size_t len, err_info *e)
{
    memset(e, 0, sizeof *e);
    cJSON *root = sc_contract_parse(body, len);
    if (!cJSON_IsObject(root))
        goto out;
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
    const cJSON *src = cJSON_IsObject(err) ? err : root;
    token_of(e->code, sizeof e->code, cJSON_GetObjectItemCaseSensitive(src, "code"));
    token_of(e->type, sizeof e->type, cJSON_GetObjectItemCaseSensitive(src, "type"));
    const cJSON *m = cJSON_IsString(err) ? err : cJSON_GetObjectItemCaseSensitive(src, "message");
    if (cJSON_IsString(m) && m->valuestring != NULL) {
        const char *msg = m->valuestring;
        e->model_missing = contains_ci(msg, "model") &&
                           (contains_ci(msg, "does not exist") || contains_ci(msg, "not found"));
        sc_classify_request_id_from_message(msg, strlen(msg), e->rid, sizeof e->rid);
    }
out:
    cJSON_Delete(root);
}

static const char *skip_space(const char *p, size_t *len)
{
    while (*len > 0 && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
        p++;
        (*len)--;
    }
    return p;
}

static bool looks_html(const sc_classify_input *in)
{
    if (in->content_type != NULL) {
        size_t n = strlen(in->content_type);
        const char *ct = skip_space(in->content_type, &n);
        if (n >= 9 && strncasecmp(ct, "text/html", 9) == 0)
            return true;
    }
    size_t n = in->body != NULL ? in->body_len : 0;
    const char *b = n ? skip_space(in->body, &n) : NULL;
    return n > 0 && b[0] == '<';
}

static sc_error_class parse_error(sc_classify_result *out, int check)
{
    out->check = check;
    return SC_ERROR_CLASS_PARSE_ERROR;
}

static sc_error_class by_success(const sc_classify_input *in, sc_classify_result *out)
{
    const sc_contract_result *c = in->contract;
    uint32_t fatal = in->fatal_checks ? in->fatal_checks : SC_CONTRACT_FATAL_DEFAULT;
    if (looks_html(in) || (c != NULL && (c->failed & SC_CHECK_BIT(SC_CHECK_HTML_INSTEAD_OF_JSON))))
        return parse_error(out, SC_CHECK_HTML_INSTEAD_OF_JSON);
    if (c == NULL)
        return SC_ERROR_CLASS_NONE;
    out->content_seen = c->content_seen;
    if (c->error_class != SC_ERROR_CLASS_NONE) {
        out->check = sc_contract_first_check(c->failed, fatal);
        return c->error_class;
    }
    int check = sc_contract_first_check(c->failed, fatal);
    return check >= 0 ? parse_error(out, check) : SC_ERROR_CLASS_NONE;
}

static sc_error_class by_client_error(long status, const err_info *e, bool html)
{
    bool policy = policy_code(e->code, e->type);
    switch (status) {
    case 401:
        return SC_ERROR_CLASS_AUTH_ERROR;
    case 402:
        return SC_ERROR_CLASS_QUOTA_EXCEEDED;
    case 403:
        return policy ? SC_ERROR_CLASS_POLICY_REJECTION : SC_ERROR_CLASS_AUTH_ERROR;
    case 404:
        if (html)
            return SC_ERROR_CLASS_PARSE_ERROR;
        return eq(e->code, "model_not_found") || e->model_missing ? SC_ERROR_CLASS_MODEL_NOT_FOUND
                                                                  : SC_ERROR_CLASS_INVALID_REQUEST;
    case 408:
        return SC_ERROR_CLASS_TIMEOUT;
    case 429:
        return either(e, "insufficient_quota") ? SC_ERROR_CLASS_QUOTA_EXCEEDED
                                               : SC_ERROR_CLASS_RATE_LIMITED;
    default:
        break;
    }
    if (policy)
        return SC_ERROR_CLASS_POLICY_REJECTION;
    if (either(e, "insufficient_quota"))
        return SC_ERROR_CLASS_QUOTA_EXCEEDED;
    if (eq(e->code, "model_not_found"))
        return SC_ERROR_CLASS_MODEL_NOT_FOUND;
    return SC_ERROR_CLASS_INVALID_REQUEST;
}

static sc_error_class by_status(const sc_classify_input *in, sc_classify_result *out)
{
    long st = in->status;
    if (st >= 200 && st < 300)
        return by_success(in, out);
    if (st >= 300 && st < 400)
        return parse_error(out, SC_CHECK_REDIRECT);
    if (st < 400 || st >= 600)
        return parse_error(out, -1);

    err_info e;
    read_error_body(in->body, in->body ? in->body_len : 0, &e);
    memcpy(out->error_code, e.code, sizeof out->error_code);
    memcpy(out->error_type, e.type, sizeof out->error_type);
    if (out->request_id[0] == '\0')
        memcpy(out->request_id, e.rid, sizeof out->request_id);
    if (st >= 500) {
        /* OpenAI-compatible gateways of the one-api family answer "no channel serves this model"
         * with a 503 whose code is model_not_found: retrying or falling back cannot fix the name.
         */
        if (eq(e.code, "model_not_found"))
            return SC_ERROR_CLASS_MODEL_NOT_FOUND;
        return st == 500 && eq(e.code, "invalid_request") ? SC_ERROR_CLASS_INVALID_REQUEST
                                                          : SC_ERROR_CLASS_UPSTREAM_ERROR;
    }
    bool html = st == 404 && looks_html(in);
    if (html)
        out->check = SC_CHECK_HTML_INSTEAD_OF_JSON;
    return by_client_error(st, &e, html);
}

static sc_error_class by_transport(const sc_classify_input *in, sc_classify_result *out)
{
    const sc_contract_result *c = in->contract;
    bool started = in->status >= 200 && in->status < 300;
    switch (in->transport) {
    case SC_HTTP_ERR_TIMEOUT:
        return SC_ERROR_CLASS_TIMEOUT;
    case SC_HTTP_ERR_TOO_LARGE:
        return parse_error(out, -1);
    case SC_HTTP_ERR_ABORTED:
        if (c != NULL && c->error_class != SC_ERROR_CLASS_NONE)
            return c->error_class;
        return parse_error(out, c != NULL ? sc_contract_first_check(c->failed, UINT32_MAX) : -1);
    case SC_HTTP_ERR_RECV:
        if (started)
            return SC_ERROR_CLASS_STREAM_INTERRUPTED;
        if (in->status >= 400 && in->status < 600)
            return by_status(in, out);
        return SC_ERROR_CLASS_NETWORK_ERROR;
    default:
        return SC_ERROR_CLASS_NETWORK_ERROR;
    }
}

void sc_classify_attempt(const sc_classify_input *in, sc_classify_result *out)
{
    memset(out, 0, sizeof *out);
    out->check = -1;
    out->status_class =
        sc_schema_status_class(in->status > 0 && in->status < 1000 ? (int)in->status : 0);
    if (in->request_id_header != NULL)
        sc_token_copy(out->request_id, sizeof out->request_id, in->request_id_header,
                      strlen(in->request_id_header), SC_TOKEN_NAME);
    if (in->contract != NULL)
        out->content_seen = in->contract->content_seen;
    if (in->transport != SC_HTTP_OK)
        out->error_class = by_transport(in, out);
    else
        out->error_class = by_status(in, out);
    out->retryable = sc_classify_retryable(out->error_class, out->content_seen);
}
