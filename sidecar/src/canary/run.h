/* run.h - owns: the engine's internal types (engine, per-probe state, one run) shared by
 * engine.c (scheduling, lifecycle) and run.c (one run: attempts, retries, fallback, records,
 * evidence, result). Internal to canary/engine: nothing outside those two files includes it.
 *
 * Ownership: the engine owns its probe states (an array, with their timers); a probe state owns
 * at most one run (heap, freed when it finishes or is cancelled). */
#ifndef SC_CANARY_RUN_H
#define SC_CANARY_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "canary/attempt.h"
#include "canary/engine.h"
#include "canary/probe_config.h"
#include "canary/retry_policy.h"
#include "canary/shape.h"

#define SC_RUN_MAX_ATTEMPTS 11 /* retry.max_attempts (<= 10) + one fallback */

typedef struct sc_canary_run sc_canary_run;

typedef struct sc_canary_probe_state {
    sc_canary_engine *engine;
    sc_probe probe;
    sc_shape_baseline shape;
    sc_retry_budget budget;
    uv_timer_t tick;    /* next run */
    uv_timer_t backoff; /* the run's wait before a retry or the fallback */
    sc_canary_run *run; /* in flight; NULL otherwise */
    bool waiting;       /* due, waiting for a concurrency slot */
    uint64_t wait_seq;  /* order in which waiting probes became due */
    char server_address[256];
    int server_port;
    const char *url_scheme;
    char route[SC_CANARY_URL_MAX];               /* url.template: path of base_url + route */
    char route_template[SC_CANARY_URL_MAX + 16]; /* evidence: "POST /v1/..." */
} sc_canary_probe_state;

typedef enum { ENGINE_IDLE, ENGINE_SCHEDULED, ENGINE_ONCE, ENGINE_STOPPED } engine_mode;

struct sc_canary_engine {
    sc_canary_deps deps;
    const sc_env *env;
    const sc_config *cfg;
    sc_canary_probe_state *probes;
    size_t n_probes;
    engine_mode mode;
    bool stopped, closing;
    unsigned in_flight;
    unsigned max_concurrent;
    uint64_t seq;      /* canary source_seq, non-decreasing in call order */
    uint64_t wait_seq; /* next waiting order */
    sc_evidence_writer *evidence;
    char *evidence_path;
    sc_buf line;     /* reused evidence line buffer */
    uv_timer_t kick; /* deferred notifications (--once done after stop) */
    unsigned pending_closes;
    /* --once */
    void (*once_done)(void *arg, unsigned passed, unsigned failed);
    void *once_arg;
    unsigned once_total, once_passed, once_failed;
    bool once_reported;
    void (*closed)(void *);
    void *closed_arg;
    sc_canary_stats stats;
};

/* One timeline entry (evidence) per attempt sent. */
typedef struct sc_run_step {
    bool fallback;
    uint64_t start_ns, end_ns;
    long status;
    sc_status_class status_class;
    sc_error_class error_class;
    bool content_before_cut; /* stream_interrupted: content had arrived before the cut */
    const char *decision;    /* retry_policy reason name, "none" or "fallback" */
    char request_id[SC_CANARY_REQUEST_ID_LEN + 1];
    char upstream_rid[SC_CLASSIFY_RID_LEN];
} sc_run_step;

struct sc_canary_run {
    sc_canary_probe_state *ps;
    sc_canary_attempt att;
    sc_span_context ctx;
    uint64_t start_ns;      /* wall, first attempt */
    uint64_t start_mono_ms; /* for the retry policy */
    unsigned attempts;      /* primary attempts sent */
    sc_retry_reason last_reason;
    bool last_retried; /* the last primary decision was to retry */
    bool in_fallback;
    sc_run_step steps[SC_RUN_MAX_ATTEMPTS];
    unsigned n_steps;
    /* the final primary attempt */
    sc_classify_result final_cls;
    sc_contract_result final_contract;
    bool final_checked;
    long final_status;
    uint64_t final_first_content_ns;
    char final_request_id[SC_CANARY_REQUEST_ID_LEN + 1];
    sc_fallback_decision fallback;
    const char *fallback_reason;
    bool fallback_sent;
    sc_error_class fallback_class;
    uint64_t end_ns;
    sc_shape_names drift_added, drift_missing;
    bool drift;
};

/* run.c: starts a run of ps (ps->run must be NULL). 0 or a negative errno (nothing started). */
int sc_canary_run_start(sc_canary_probe_state *ps);
/* run.c: cancels ps's run: the attempt in flight (its done() frees the run) or the wait. */
void sc_canary_run_cancel(sc_canary_probe_state *ps);
/* engine.c: a run of ps ended (run.c has set ps->run to NULL and frees the run afterwards);
 * res is NULL when the run was cancelled (nothing recorded). Calls the owner's on_result. */
void sc_canary_engine_run_ended(sc_canary_engine *e, sc_canary_probe_state *ps,
                                const sc_canary_result *res);

#endif
