/* engine.h - owns: the canary engine: runs every configured probe (config "probes", resolved by
 * canary/probe_config.h) on its schedule or once, each run being one GenAI operation with HTTP
 * attempts, retries (canary/retry_policy.h), a fallback decision and optional fallback request
 * (canary/fallback.h), contract and shape-drift checks; records every attempt and run through the
 * recorder (spans and metrics), appends one evidence line per run (canary/evidence.h) and
 * reports each run to its owner (on_result: the deploy-gate table, the live view).
 *
 * Scheduling: in scheduled mode every enabled probe first runs after a random delay below
 * min(1 s, interval), then every interval +/- jitter (fixed rate: the next tick is armed when a
 * tick fires). A probe never overlaps itself: a tick while its run is still in flight (or still
 * waiting for a slot) is skipped and counted. At most canary.max_concurrent_runs runs are in
 * flight; a due probe waits for a slot (in the order they became due).
 *
 * A run: attempt 1 to cometapi.base_url; a failure is retried per the probe's retry policy (the
 * probe's retry budget, Retry-After up to its cap, the deadline), waiting on a timer. When the
 * final class is allow-listed the fallback is "allowed"; with fallback.target.base_url set the
 * engine then sends ONE fallback attempt (no retries: a fallback that retries multiplies load
 * during the outage it covers) to the target with the target model, and the run's decision is
 * "used" with the fallback's own result reported separately (the run's outcome and error class
 * stay those of the primary route, which is what the probe checks). Otherwise failed_closed.
 * Pass: a probe expecting success passes when the primary route succeeded; a drill passes per
 * sc_fallback_drill_check (exactly the expected class, no retries, no fallback).
 * Telemetry per run: one run span ("chat {model}") whose children are the attempt spans; each
 * attempt sends its own span context as traceparent and a fresh X-Request-ID (32 hex). The run
 * record lists the failed contract checks of the final primary answer (each counted in
 * gateway.contract.violations; missing_usage among them) and, on a successful answer whose
 * top-level field names differ from the probe's accepted shape, shape_drift with the added and
 * missing names; the new shape is then accepted (first run: accepted silently).
 *
 * Secrets: the key (api_key(), fetched per attempt so a rotated key file is picked up) only goes
 * into the Authorization header; it is never logged, recorded or written to evidence. Prompts
 * and completions are never stored.
 *
 * Lifecycle: new -> start | run_once -> stop (optional: no new runs, in-flight runs finish) ->
 * close (cancels what is still in flight, records nothing for cancelled runs, writes the queued
 * evidence lines, closes every handle) -> closed(arg). Close the engine before the HTTP client.
 * Everything passed in deps must outlive the close callback. Loop-thread only. */
#ifndef SC_CANARY_ENGINE_H
#define SC_CANARY_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "canary/evidence.h"
#include "config/config.h"
#include "core/env.h"
#include "loop/http_client.h"
#include "telemetry/recorder.h"
#include "telemetry/record.h"
#include "telemetry/schema.h"

typedef struct sc_canary_engine sc_canary_engine;

/* One finished run. Every pointer is valid only during the on_result callback. */
typedef struct sc_canary_result {
    const char *probe;
    const char *endpoint; /* "chat" | "responses" | "models" */
    const char *model;    /* requested model; NULL for models */
    bool stream;
    const char *expected;     /* "success" or an error class name */
    const char *observed;     /* "success" or the final error class of the primary route */
    int passed;               /* 1: met its expectation */
    const char *verdict;      /* "pass", or why not: "wrong_class", "retried", "fallback" */
    unsigned attempts;        /* primary attempts sent */
    unsigned retries;         /* attempts - 1 */
    const char *retry_reason; /* why the last primary attempt was not retried ("none" after a
                                 success): a retry_policy reason name */
    sc_fallback_decision fallback;
    const char *fallback_reason;   /* "none" or the class behind the decision */
    const char *fallback_observed; /* NULL unless a fallback request was sent */
    long http_status;              /* final primary attempt; 0 = none */
    const char *status_class;      /* "2xx", ..., "network_error" */
    double elapsed_s;              /* run start to end */
    double ttfc_s;                 /* time to first content chunk from run start; -1 = none */
    int usage_present;
    const char *trace_id_hex;        /* the run span's trace id (32 hex) */
    const char *test_id;             /* evidence test_id (UUID) */
    const char *request_id;          /* our X-Request-ID of the final primary attempt */
    const char *upstream_request_id; /* "" when none */
    const char *const *violations;   /* contract check names */
    size_t n_violations;
    const char *const *shape_added; /* field names */
    size_t n_shape_added;
    const char *const *shape_missing;
    size_t n_shape_missing;
    uint64_t started_unix_ns, completed_unix_ns;
} sc_canary_result;

typedef struct sc_canary_deps {
    const sc_env *env;
    const sc_config *cfg; /* probes, cometapi.*, evidence.*, canary.*, service.environment */
    sc_http_client *http;
    sc_recorder *recorder;
    /* The current API key (NULL: none), asked per attempt; the pointer is used only during the
     * call that asked. NULL function: cfg->cometapi.api_key. */
    const char *(*api_key)(void *arg);
    void *api_key_arg;
    /* Evidence file; NULL: cfg->evidence.path (the CLI's --evidence goes here). Copied. */
    const char *evidence_path;
    /* Counter of evidence lines lost (sidecar.evidence.failures); may be NULL. */
    sc_instrument *evidence_failures;
    /* Each finished run (after its evidence line is queued); may be NULL. in_flight already
     * excludes the run, so a draining owner can check sc_canary_engine_in_flight() == 0 here. */
    void (*on_result)(const sc_canary_result *r, void *arg);
    void *arg;
} sc_canary_deps;

typedef struct sc_canary_stats {
    uint64_t runs, passed, failed;
    uint64_t attempts, retries, fallbacks_used;
    uint64_t skipped_overlap; /* ticks while the probe's previous run was in flight / waiting */
    uint64_t start_failed;    /* runs that could not start (counted as failed in --once) */
    uint64_t cancelled;       /* runs cancelled by close (not recorded) */
    sc_evidence_stats evidence;
} sc_canary_stats;

/* Resolves the probes and creates (not opens) the evidence writer. deps is copied. 0, -EINVAL
 * (missing dependency, unresolvable probe) or -ENOMEM. After 0, sc_canary_engine_close must be
 * called (handles are initialised). */
int sc_canary_engine_new(sc_canary_engine **out, const sc_canary_deps *deps);

/* Scheduled mode. 0, -EBUSY (already started or in --once mode) or -ESHUTDOWN (stopped). */
int sc_canary_engine_start(sc_canary_engine *e);

/* Every enabled probe once (concurrently, up to canary.max_concurrent_runs). done runs once,
 * later, after the last of them (passed + failed = enabled probes; a run that could not start is
 * failed). 0, -ENOENT (no enabled probe: done is never called), -EBUSY or -ESHUTDOWN. */
int sc_canary_engine_run_once(sc_canary_engine *e,
                              void (*done)(void *arg, unsigned passed, unsigned failed), void *arg);

/* No new runs (ticks stop, waiting probes are dropped and, in --once mode, count as failed);
 * runs in flight finish, retries included. Idempotent. */
void sc_canary_engine_stop(sc_canary_engine *e);

unsigned sc_canary_engine_in_flight(const sc_canary_engine *e);
size_t sc_canary_engine_probe_count(const sc_canary_engine *e); /* configured, enabled or not */
sc_canary_stats sc_canary_engine_get_stats(const sc_canary_engine *e);

/* Stops, cancels runs in flight (not recorded; a pending --once done() still runs, before
 * closed), flushes queued evidence, closes every handle and frees the engine; then closed(arg)
 * (may be NULL). Never calls back from inside this call. Accepts NULL. */
void sc_canary_engine_close(sc_canary_engine *e, void (*closed)(void *), void *arg);

#endif
