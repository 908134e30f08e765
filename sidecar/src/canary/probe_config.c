/* probe_config.c - owns: validation of the "probes" configuration and resolving a configured probe
 * into the values the canary engine runs with. */
#include "canary/probe_config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canary/token.h"
#include "config/schema.h"

const char *const sc_probe_config_expect_values[] = {
    "success",      "auth_error",     "invalid_request",  "model_not_found",
    "rate_limited", "quota_exceeded", "policy_rejection", "upstream_error",
    "timeout",      "network_error",  "parse_error",      "stream_interrupted",
    NULL,
};
_Static_assert(sizeof sc_probe_config_expect_values / sizeof sc_probe_config_expect_values[0] ==
                   SC_ERROR_CLASS__COUNT + 1,
               "one expect value per error class, plus the NULL");

#define ALLOW_MAX 16

int sc_probe_config_check_name(const char *v, char *why, size_t cap)
{
    size_t n = strlen(v);
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '.' || c == '-';
        if (!ok)
            n = 0;
    }
    if (n == 0 || n > SC_PROBE_NAME_MAX) {
        snprintf(why, cap, "expected a name of 1 to %d letters, digits, '_', '.' or '-'",
                 SC_PROBE_NAME_MAX);
        return -EINVAL;
    }
    return 0;
}

int sc_probe_config_check_model(const char *v, char *why, size_t cap)
{
    size_t n = strlen(v);
    if (n >= SC_CONTRACT_MODEL_LEN || !sc_token_valid(v, n, SC_TOKEN_MODEL)) {
        snprintf(why, cap, "expected a model name of letters, digits and _.:-/@+ (at most %d)",
                 SC_CONTRACT_MODEL_LEN - 1);
        return -EINVAL;
    }
    return 0;
}

int sc_probe_parse_jitter(const char *s, double *fraction, uint64_t *ms)
{
    size_t n = strlen(s);
    *fraction = 0;
    *ms = 0;
    if (n > 0 && (s[n - 1] == '%' || strchr(s, '.') != NULL)) {
        char *end;
        double v = strtod(s, &end);
        int pct = s[n - 1] == '%';
        if (end != s + n - (pct ? 1 : 0) || end == s || !isfinite(v) || s[0] == '-' ||
            s[0] == '+' || s[0] == ' ')
            return -EINVAL;
        if (pct)
            v /= 100.0;
        if (v < 0 || v > 0.5)
            return -EINVAL;
        *fraction = v;
        return 0;
    }
    return sc_config_parse_duration(s, ms) == 0 ? 0 : -EINVAL;
}

int sc_probe_config_check_jitter(const char *v, char *why, size_t cap)
{
    double f;
    uint64_t ms;
    if (sc_probe_parse_jitter(v, &f, &ms) != 0) {
        snprintf(why, cap,
                 "expected a share of the interval (\"10%%\" or 0.1, at most 50%%) or a "
                 "duration such as \"5s\"");
        return -EINVAL;
    }
    return 0;
}

/* Walks "a, b,c": calls fn for each trimmed item; stops at the first nonzero return. */
static int each_item(const char *s, int (*fn)(const char *p, size_t len, size_t idx, void *arg),
                     void *arg)
{
    size_t idx = 0;
    for (const char *p = s;; idx++) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        int rc = fn(a, (size_t)(b - a), idx, arg);
        if (rc != 0)
            return rc;
        if (comma == NULL)
            return 0;
        p = comma + 1;
    }
}

static int item_syntax(const char *p, size_t len, size_t idx, void *arg)
{
    (void)idx;
    (void)arg;
    return sc_token_valid(p, len, SC_TOKEN_NAME) ? 0 : -EINVAL;
}

int sc_probe_config_check_allow_syntax(const char *v, char *why, size_t cap)
{
    if (strcmp(v, "none") == 0)
        return 0;
    if (each_item(v, item_syntax, NULL) != 0) {
        snprintf(why, cap,
                 "expected \"none\" or comma-separated error class names such as "
                 "\"timeout,upstream_error\"");
        return -EINVAL;
    }
    return 0;
}

typedef struct allow_ctx {
    sc_error_class *out;
    size_t cap, n;
    size_t bad_index;
    sc_error_class bad_class;
} allow_ctx;

static int item_class(const char *p, size_t len, size_t idx, void *arg)
{
    allow_ctx *a = arg;
    sc_error_class c;
    a->bad_index = idx;
    a->bad_class = SC_ERROR_CLASS__COUNT;
    if (sc_schema_error_class_parse(p, len, &c) != 0 || c == SC_ERROR_CLASS_NONE)
        return -EINVAL;
    a->bad_class = c;
    if (!sc_fallback_class_allowable(c) || a->n >= a->cap)
        return -EINVAL;
    a->out[a->n++] = c;
    return 0;
}

int sc_probe_parse_allow(const char *s, sc_error_class *out, size_t cap, size_t *n,
                         size_t *bad_index, sc_error_class *bad_class)
{
    allow_ctx a = {.out = out, .cap = cap};
    *n = 0;
    if (strcmp(s, "none") == 0)
        return 0;
    if (each_item(s, item_class, &a) != 0) {
        *bad_index = a.bad_index;
        *bad_class = a.bad_class;
        return -EINVAL;
    }
    *n = a.n;
    return 0;
}

static void policy_of(const sc_config_probe *p, sc_retry_policy *r)
{
    *r = (sc_retry_policy){
        .max_attempts = (uint32_t)p->retry.max_attempts,
        .attempt_timeout_ms = (uint32_t)p->timeout_ms,
        .deadline_ms = (uint32_t)p->retry.deadline_ms,
        .backoff_base_ms = (uint32_t)p->retry.base_backoff_ms,
        .backoff_cap_ms = (uint32_t)p->retry.max_backoff_ms,
        .retry_after_cap_ms = (uint32_t)p->retry.retry_after_cap_ms,
    };
}

static int check_allow(const sc_config_probe *p, const char *display, sc_config_error *err)
{
    sc_error_class list[ALLOW_MAX];
    size_t n, bad;
    sc_error_class cls;
    if (p->fallback.allow == NULL ||
        sc_probe_parse_allow(p->fallback.allow, list, ALLOW_MAX, &n, &bad, &cls) == 0)
        return 0;
    if (cls == SC_ERROR_CLASS__COUNT)
        sc_config_errorf(err,
                         "\"%sfallback.allow[%zu]\": expected an error class name (timeout, "
                         "upstream_error, rate_limited, stream_interrupted, network_error)",
                         display, bad);
    else if (!sc_fallback_class_allowable(cls))
        sc_config_errorf(err,
                         "\"%sfallback.allow[%zu]\": %s always fails closed (a fallback would "
                         "hide a broken or refused request) and cannot be allow-listed",
                         display, bad, sc_schema_error_class_name(cls));
    else
        sc_config_errorf(err, "\"%sfallback.allow\": at most %d classes", display, ALLOW_MAX);
    return -EINVAL;
}

static int check_policy(const sc_config_probe *p, const char *display, sc_config_error *err)
{
    if (p->retry.max_backoff_ms < p->retry.base_backoff_ms) {
        sc_config_errorf(err, "\"%sretry.max_backoff\": must be at least retry.base_backoff",
                         display);
        return -EINVAL;
    }
    if (p->retry.deadline_ms < p->timeout_ms) {
        sc_config_errorf(err, "\"%sretry.deadline\": must be at least timeout (one attempt)",
                         display);
        return -EINVAL;
    }
    sc_retry_policy r;
    policy_of(p, &r);
    if (sc_retry_policy_validate(&r) != 0) {
        sc_config_errorf(err, "\"%sretry\": inconsistent retry settings", display);
        return -EINVAL;
    }
    return 0;
}

int sc_probe_config_relations(void *obj, const char *display, sc_config_error *err)
{
    const sc_config_probe *p = obj;
    if (p->endpoint == SC_PROBE_MODELS && p->stream) {
        sc_config_errorf(err, "\"%sstream\": the models endpoint does not stream", display);
        return -EINVAL;
    }
    if (p->endpoint == SC_PROBE_MODELS && p->body == SC_PROBE_BODY_MALFORMED) {
        sc_config_errorf(err, "\"%sbody\": the models endpoint (GET) sends no body", display);
        return -EINVAL;
    }
    double f;
    uint64_t ms;
    if (p->jitter != NULL && sc_probe_parse_jitter(p->jitter, &f, &ms) == 0 &&
        ms > p->interval_ms / 2) {
        sc_config_errorf(err, "\"%sjitter\": must be at most half the interval", display);
        return -EINVAL;
    }
    if (check_policy(p, display, err) != 0)
        return -EINVAL;
    return check_allow(p, display, err);
}

int sc_probe_config_check_all(const sc_config_probe *p, size_t n, sc_config_error *err)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(p[i].name, p[j].name) == 0) {
                sc_config_errorf(err,
                                 "\"probes[%zu].name\": \"%s\" is already the name of "
                                 "probes[%zu]",
                                 i, p[i].name, j);
                return -EINVAL;
            }
        }
    }
    return 0;
}

static const struct {
    const char *route, *method, *surface, *operation;
    sc_contract_api api;
} endpoints[] = {
    [SC_PROBE_CHAT] = {"/chat/completions", "POST", "chat_completions", "chat",
                       SC_CONTRACT_API_CHAT},
    [SC_PROBE_RESPONSES] = {"/responses", "POST", "responses", "chat", SC_CONTRACT_API_RESPONSES},
    /* Not a GenAI operation; the recorder maps an unknown operation to "_OTHER". */
    [SC_PROBE_MODELS] = {"/models", "GET", "models", "models", SC_CONTRACT_API_CHAT},
};

int sc_probe_resolve(const sc_config *cfg, size_t i, sc_probe *out)
{
    memset(out, 0, sizeof *out);
    if (cfg == NULL || i >= cfg->n_probes)
        return -EINVAL;
    const sc_config_probe *p = &cfg->probes[i];
    if ((unsigned)p->endpoint > SC_PROBE_MODELS || p->expect < 0 ||
        p->expect >= SC_ERROR_CLASS__COUNT)
        return -EINVAL;
    out->cfg = p;
    out->name = p->name;
    out->route = endpoints[p->endpoint].route;
    out->method = endpoints[p->endpoint].method;
    out->surface = endpoints[p->endpoint].surface;
    out->operation = endpoints[p->endpoint].operation;
    out->api = endpoints[p->endpoint].api;
    out->model = p->endpoint == SC_PROBE_MODELS ? NULL : p->model ? p->model : cfg->cometapi.model;
    out->prompt = p->prompt ? p->prompt : SC_PROBE_DEFAULT_PROMPT;
    out->route_name = p->route_name ? p->route_name : p->name;
    out->expect = (sc_error_class)p->expect;
    policy_of(p, &out->retry);
    if (sc_retry_policy_validate(&out->retry) != 0)
        return -EINVAL;
    if (p->jitter != NULL &&
        sc_probe_parse_jitter(p->jitter, &out->jitter_fraction, &out->jitter_ms) != 0)
        return -EINVAL;
    if (p->fallback.allow == NULL) {
        sc_fallback_policy_default(&out->fallback);
        return 0;
    }
    sc_error_class list[ALLOW_MAX];
    size_t n, bad;
    sc_error_class cls;
    if (sc_probe_parse_allow(p->fallback.allow, list, ALLOW_MAX, &n, &bad, &cls) != 0)
        return -EINVAL;
    return sc_fallback_policy_init(&out->fallback, list, n, NULL);
}

uint64_t sc_probe_next_delay_ms(const sc_probe *p, double unit_random)
{
    uint64_t interval = p->cfg->interval_ms;
    double j = p->jitter_ms ? (double)p->jitter_ms : p->jitter_fraction * (double)interval;
    if (j > (double)interval / 2)
        j = (double)interval / 2;
    double d = (double)interval + (2.0 * unit_random - 1.0) * j;
    return d < 1.0 ? 1 : (uint64_t)d;
}

const char *sc_probe_outcome_name(sc_error_class c)
{
    return c == SC_ERROR_CLASS_NONE ? "success" : sc_schema_error_class_name(c);
}
