/* fallback.c - owns: the allow-list, the always-failed-closed set and drill verdicts. */
#include "canary/fallback.h"

#include <errno.h>
#include <string.h>

#define BIT(c) (UINT32_C(1) << (c))

static const uint32_t always_closed =
    BIT(SC_ERROR_CLASS_AUTH_ERROR) | BIT(SC_ERROR_CLASS_INVALID_REQUEST) |
    BIT(SC_ERROR_CLASS_MODEL_NOT_FOUND) | BIT(SC_ERROR_CLASS_POLICY_REJECTION) |
    BIT(SC_ERROR_CLASS_PARSE_ERROR) | BIT(SC_ERROR_CLASS_QUOTA_EXCEEDED);

bool sc_fallback_class_allowable(sc_error_class c)
{
    return c > SC_ERROR_CLASS_NONE && c < SC_ERROR_CLASS__COUNT && !(always_closed & BIT(c));
}

void sc_fallback_policy_default(sc_fallback_policy *p)
{
    p->allow = BIT(SC_ERROR_CLASS_TIMEOUT) | BIT(SC_ERROR_CLASS_UPSTREAM_ERROR) |
               BIT(SC_ERROR_CLASS_RATE_LIMITED) | BIT(SC_ERROR_CLASS_STREAM_INTERRUPTED);
}

int sc_fallback_policy_init(sc_fallback_policy *p, const sc_error_class *allow, size_t n,
                            size_t *bad)
{
    if (p == NULL || (allow == NULL && n > 0))
        return -EINVAL;
    uint32_t mask = 0;
    for (size_t i = 0; i < n; i++) {
        if (!sc_fallback_class_allowable(allow[i])) {
            if (bad != NULL)
                *bad = i;
            return -EINVAL;
        }
        mask |= BIT(allow[i]);
    }
    p->allow = mask;
    return 0;
}

static const char *reason_of(sc_error_class c)
{
    const char *name = sc_schema_error_class_name(c);
    return name ? sc_schema_fallback_reason(name, strlen(name)) : SC_FALLBACK_REASON_OTHER;
}

sc_fallback_result sc_fallback_decide(const sc_fallback_policy *p, sc_error_class final_class,
                                      bool content_seen)
{
    if (final_class == SC_ERROR_CLASS_NONE)
        return (sc_fallback_result){SC_FALLBACK_NOT_NEEDED, SC_FALLBACK_REASON_NONE};
    bool allowed = sc_fallback_class_allowable(final_class) && (p->allow & BIT(final_class)) &&
                   !(final_class == SC_ERROR_CLASS_STREAM_INTERRUPTED && content_seen);
    return (sc_fallback_result){allowed ? SC_FALLBACK_ALLOWED : SC_FALLBACK_FAILED_CLOSED,
                                reason_of(final_class)};
}

static const char *const verdict_names[SC_DRILL__COUNT] = {
    [SC_DRILL_PASS] = "pass",
    [SC_DRILL_WRONG_CLASS] = "wrong_class",
    [SC_DRILL_RETRIED] = "retried",
    [SC_DRILL_FALLBACK] = "fallback",
};

const char *sc_drill_verdict_name(sc_drill_verdict v)
{
    return (unsigned)v < SC_DRILL__COUNT ? verdict_names[v] : NULL;
}

sc_drill_verdict sc_fallback_drill_check(sc_error_class expected, const sc_drill_outcome *o)
{
    if (o->final_class != expected)
        return SC_DRILL_WRONG_CLASS;
    if (expected == SC_ERROR_CLASS_NONE)
        return SC_DRILL_PASS;
    if (o->retries > 0)
        return SC_DRILL_RETRIED;
    if (o->fallback == SC_FALLBACK_ALLOWED || o->fallback == SC_FALLBACK_USED)
        return SC_DRILL_FALLBACK;
    return SC_DRILL_PASS;
}
