/* probe_config.h - owns: what a configured canary probe (config.h sc_config_probe) means: the
 * validators and cross-key checks behind the "probes" schema rows (config/schema.c), and
 * resolving a probe into what the engine runs (model and prompt defaults, route, retry and
 * fallback policies, the jitter of its schedule).
 *
 * Validation errors name the full path ("probes[2].fallback.allow[0]") the way the config module
 * does. fallback.allow is a comma-separated list of error class names (one string, so it is set
 * the same way from a file, --set and the environment); "none" means nothing is allowed, unset
 * means the default list of canary/fallback.h. Listing a class that always fails closed
 * (auth_error, invalid_request, model_not_found, policy_rejection, parse_error, quota_exceeded)
 * is an error.
 *
 * Pure functions; resolved probes point into the config they were resolved from (it must
 * outlive them). */
#ifndef SC_CANARY_PROBE_CONFIG_H
#define SC_CANARY_PROBE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "canary/contract.h"
#include "canary/fallback.h"
#include "canary/retry_policy.h"
#include "config/config.h"
#include "telemetry/schema.h"

#define SC_PROBE_CONFIG_MAX 32 /* probes per config */
#define SC_PROBE_NAME_MAX   64 /* bytes, NUL excluded */

/* The built-in synthetic fixture: a short question with a one-word answer. Never a production
 * prompt. */
#define SC_PROBE_DEFAULT_PROMPT "Reply with the single word: ok"

/* Values of probes[].expect, in sc_error_class order: "success" (SC_ERROR_CLASS_NONE), then every
 * error class name. NULL-terminated. */
extern const char *const sc_probe_config_expect_values[];

/* Schema value checks (sc_config_check_fn): 0, or -EINVAL with an "expected ..." phrase. */
int sc_probe_config_check_name(const char *v, char *why, size_t cap);
int sc_probe_config_check_model(const char *v, char *why, size_t cap);
int sc_probe_config_check_jitter(const char *v, char *why, size_t cap);
int sc_probe_config_check_allow_syntax(const char *v, char *why, size_t cap);

/* Cross-key checks of one element (schema relations; obj is an sc_config_probe, display the
 * element prefix "probes[2]."). 0 or -EINVAL with err set. */
int sc_probe_config_relations(void *obj, const char *display, sc_config_error *err);

/* Checks across elements (unique names). 0 or -EINVAL with err set. */
int sc_probe_config_check_all(const sc_config_probe *p, size_t n, sc_config_error *err);

/* Parses a jitter value: "N%" or a decimal fraction with a '.' (0 to 0.5) sets *fraction (and
 * *ms = 0); otherwise a config duration sets *ms (and *fraction = 0). 0 or -EINVAL. */
int sc_probe_parse_jitter(const char *s, double *fraction, uint64_t *ms);

/* Parses fallback.allow into classes (at most cap). On a name that is not an error class, or
 * one that always fails closed, returns -EINVAL with *bad_index set (0-based position in the
 * list) and *bad_class set to the class (SC_ERROR_CLASS__COUNT when the name is unknown). */
int sc_probe_parse_allow(const char *s, sc_error_class *out, size_t cap, size_t *n,
                         size_t *bad_index, sc_error_class *bad_class);

/* A probe as the engine runs it. */
typedef struct sc_probe {
    const sc_config_probe *cfg;
    const char *name;
    const char *model;      /* requested model (chat, responses); NULL for models */
    const char *prompt;     /* fixture text; never logged */
    const char *route;      /* appended to base_url: "/chat/completions", ... */
    const char *method;     /* "POST" or "GET" */
    const char *surface;    /* evidence api_surface: chat_completions | responses | models */
    const char *operation;  /* gen_ai.operation.name for the run record */
    const char *route_name; /* evidence gateway_route_name */
    sc_contract_api api;
    sc_error_class expect;
    sc_retry_policy retry;
    sc_fallback_policy fallback;
    double jitter_fraction;
    uint64_t jitter_ms;
} sc_probe;

/* Resolves probe i of cfg. 0 or -EINVAL (index out of range, or a value the schema should have
 * refused). */
int sc_probe_resolve(const sc_config *cfg, size_t i, sc_probe *out);

/* Delay until the next run: interval +/- jitter, from a uniform draw in [0, 1). At least 1 ms. */
uint64_t sc_probe_next_delay_ms(const sc_probe *p, double unit_random);

/* "success" for SC_ERROR_CLASS_NONE, else the class name. Static storage. */
const char *sc_probe_outcome_name(sc_error_class c);

#endif
