/* fallback.h - owns: the per-run fallback decision (would the application's fallback to another
 * model/provider be allowed for this failure?) and the drill expectation check.
 *
 * Decision: not_needed on success; allowed, with reason = the final error class name, when that
 * class is on the allow-list; failed_closed otherwise. Default allow-list: timeout,
 * upstream_error, rate_limited, stream_interrupted. network_error may be added by config.
 * stream_interrupted is allowed only if no content had arrived (after partial output a fallback
 * would repeat or contradict what the user already saw), else failed_closed.
 *
 * Always failed_closed, whatever the configuration says: auth_error, invalid_request,
 * model_not_found, policy_rejection, parse_error, quota_exceeded. These are not outages another
 * route fixes but a broken or refused request (a fallback would hide a revoked key, a retired
 * model, an exhausted account or a policy decision), so config may not override them: listing
 * one is a configuration error (-EINVAL from sc_fallback_policy_init; config validation can ask
 * sc_fallback_class_allowable first to name the offending value).
 *
 * The reason attribute (gateway.fallback.reason) goes through sc_schema_fallback_reason, so it
 * stays within the schema's bounded set ("none", allow-listed names, "_OTHER").
 *
 * Drills: a probe expecting an error class passes only when it failed with exactly that class,
 * with zero retries and no fallback (neither allowed nor used). An invalid-credential probe that
 * was retried or triggered a fallback fails. A probe expecting SC_ERROR_CLASS_NONE is an ordinary
 * probe: it passes when the run succeeded (retries and fallbacks are not judged). */
#ifndef SC_CANARY_FALLBACK_H
#define SC_CANARY_FALLBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "telemetry/schema.h"

typedef struct sc_fallback_policy {
    uint32_t allow; /* bit (1u << sc_error_class) per allowed class */
} sc_fallback_policy;

/* False for none and the always-failed-closed classes (and out-of-range values). */
bool sc_fallback_class_allowable(sc_error_class c);

void sc_fallback_policy_default(sc_fallback_policy *p);

/* allow[0..n) replaces the default list (n == 0: nothing is allowed). Returns 0, or -EINVAL
 * when an entry is not allowable; then *bad (if not NULL) is its index and p is unchanged. */
int sc_fallback_policy_init(sc_fallback_policy *p, const sc_error_class *allow, size_t n,
                            size_t *bad);

typedef struct sc_fallback_result {
    sc_fallback_decision decision;
    const char *reason; /* static storage: "none", a class name, or "_OTHER" */
} sc_fallback_result;

sc_fallback_result sc_fallback_decide(const sc_fallback_policy *p, sc_error_class final_class,
                                      bool content_seen);

typedef enum {
    SC_DRILL_PASS = 0,
    SC_DRILL_WRONG_CLASS, /* ended with another class (or succeeded) */
    SC_DRILL_RETRIED,     /* right class, but retries were made */
    SC_DRILL_FALLBACK,    /* right class, no retries, but a fallback was allowed or used */
    SC_DRILL__COUNT
} sc_drill_verdict;

/* "pass", "wrong_class", "retried", "fallback"; NULL when out of range. */
const char *sc_drill_verdict_name(sc_drill_verdict v);

typedef struct sc_drill_outcome {
    sc_error_class final_class;
    uint32_t retries;
    sc_fallback_decision fallback;
} sc_drill_outcome;

sc_drill_verdict sc_fallback_drill_check(sc_error_class expected, const sc_drill_outcome *o);

#endif
