/* engine.c - owns: the canary engine's lifecycle, probe states and scheduling (ticks, the
 * concurrency limit, overlap skips, --once accounting); one run is run.c's. */
#include "canary/engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canary/run.h"

#define FIRST_RUN_MAX_MS 1000u /* first scheduled run: a random delay below this */
#define BUDGET_BUCKETS   10u

/* The pure part: nothing here needs cleanup. */
static int probe_resolve(sc_canary_engine *e, size_t i)
{
    sc_canary_probe_state *ps = &e->probes[i];
    ps->engine = e;
    int rc = sc_probe_resolve(e->cfg, i, &ps->probe);
    if (rc < 0)
        return rc;
    const sc_config_probe *c = ps->probe.cfg;
    rc = sc_retry_budget_init(&ps->budget, c->retry.budget.window_ms, BUDGET_BUCKETS,
                              (uint32_t)c->retry.budget.percent,
                              (uint32_t)c->retry.budget.min_retries);
    if (rc < 0)
        return rc;
    sc_shape_baseline_init(&ps->shape);
    const char *base = e->cfg->cometapi.base_url;
    if (base == NULL ||
        sc_canary_url_parts(base, &ps->url_scheme, ps->server_address, sizeof ps->server_address,
                            &ps->server_port) < 0 ||
        sc_canary_route_template(ps->probe.method, base, ps->probe.route, ps->route_template,
                                 sizeof ps->route_template) < 0)
        return -EINVAL;
    snprintf(ps->route, sizeof ps->route, "%s", ps->route_template + strlen(ps->probe.method) + 1);
    return 0;
}

static int check_deps(const sc_canary_deps *d)
{
    if (d == NULL || d->env == NULL || d->env->loop == NULL || d->env->log == NULL ||
        d->env->clock == NULL || d->env->rng == NULL || d->cfg == NULL || d->http == NULL ||
        d->recorder == NULL)
        return -EINVAL;
    return 0;
}

static void free_engine(sc_canary_engine *e)
{
    sc_buf_free(&e->line);
    free(e->evidence_path);
    free(e->probes);
    free(e);
}

static int open_evidence(sc_canary_engine *e, const char *override)
{
    const sc_config *c = e->cfg;
    const char *path = override ? override : c->evidence.path;
    if (!c->evidence.enabled || path == NULL)
        return 0;
    if ((e->evidence_path = strdup(path)) == NULL)
        return -ENOMEM;
    size_t pending = c->evidence.max_pending > 0 ? (size_t)c->evidence.max_pending : 1024;
    int rc = sc_evidence_writer_new(&e->evidence, e->env, e->evidence_path, pending);
    if (rc == 0)
        sc_evidence_writer_count_failures(e->evidence, e->deps.evidence_failures);
    return rc;
}

int sc_canary_engine_new(sc_canary_engine **out, const sc_canary_deps *deps)
{
    *out = NULL;
    int rc = check_deps(deps);
    if (rc < 0)
        return rc;
    sc_canary_engine *e = calloc(1, sizeof *e);
    if (e == NULL)
        return -ENOMEM;
    e->deps = *deps;
    e->deps.evidence_path = NULL; /* the copy is e->evidence_path */
    e->env = deps->env;
    e->cfg = deps->cfg;
    int max = deps->cfg->canary.max_concurrent_runs;
    e->max_concurrent = max > 0 ? (unsigned)max : 4;
    sc_buf_init(&e->line, SC_EVIDENCE_LINE_MAX);
    e->n_probes = deps->cfg->n_probes;
    if (e->n_probes > 0 && (e->probes = calloc(e->n_probes, sizeof *e->probes)) == NULL)
        rc = -ENOMEM;
    for (size_t i = 0; rc == 0 && i < e->n_probes; i++)
        rc = probe_resolve(e, i);
    if (rc == 0)
        rc = open_evidence(e, deps->evidence_path); /* the first handle: nothing fails after it */
    if (rc < 0) {
        free_engine(e);
        return rc;
    }
    for (size_t i = 0; i < e->n_probes; i++) {
        sc_canary_probe_state *ps = &e->probes[i];
        uv_timer_init(e->env->loop, &ps->tick);
        uv_timer_init(e->env->loop, &ps->backoff);
        ps->tick.data = ps->backoff.data = ps;
    }
    uv_timer_init(e->env->loop, &e->kick);
    e->kick.data = e;
    *out = e;
    return 0;
}

unsigned sc_canary_engine_in_flight(const sc_canary_engine *e)
{
    return e->in_flight;
}

size_t sc_canary_engine_probe_count(const sc_canary_engine *e)
{
    return e->n_probes;
}

sc_canary_stats sc_canary_engine_get_stats(const sc_canary_engine *e)
{
    sc_canary_stats s = e->stats;
    if (e->evidence != NULL)
        s.evidence = sc_evidence_writer_get_stats(e->evidence);
    return s;
}

/* ---- scheduling ------------------------------------------------------------------------------ */

static void maybe_report_once(sc_canary_engine *e);

static void start_failed(sc_canary_engine *e, sc_canary_probe_state *ps, int rc)
{
    e->stats.start_failed++;
    sc_log_warn(e->env->log, "canary run could not start", SC_F_STR("probe", ps->probe.name),
                SC_F_ERR("error", rc));
    if (e->mode == ENGINE_ONCE) {
        e->once_failed++;
        maybe_report_once(e);
    }
}

static void launch(sc_canary_engine *e, sc_canary_probe_state *ps)
{
    int rc = sc_canary_run_start(ps);
    if (rc < 0) {
        start_failed(e, ps, rc);
        return;
    }
    e->in_flight++;
    e->stats.runs++;
}

/* Starts waiting probes, oldest first, while there is room. */
static void start_waiting(sc_canary_engine *e)
{
    while (!e->stopped && e->in_flight < e->max_concurrent) {
        sc_canary_probe_state *next = NULL;
        for (size_t i = 0; i < e->n_probes; i++) {
            sc_canary_probe_state *ps = &e->probes[i];
            if (ps->waiting && (next == NULL || ps->wait_seq < next->wait_seq))
                next = ps;
        }
        if (next == NULL)
            return;
        next->waiting = false;
        launch(e, next);
    }
}

static void due(sc_canary_engine *e, sc_canary_probe_state *ps)
{
    if (e->stopped)
        return;
    if (ps->run != NULL || ps->waiting) {
        e->stats.skipped_overlap++;
        sc_log_warn(e->env->log,
                    "canary run skipped: its previous run is still in flight or waiting for a slot",
                    SC_F_STR("probe", ps->probe.name),
                    SC_F_UINT("skipped_total", e->stats.skipped_overlap));
        return;
    }
    ps->waiting = true;
    ps->wait_seq = e->wait_seq++;
    start_waiting(e);
}

static void on_tick(uv_timer_t *t)
{
    sc_canary_probe_state *ps = t->data;
    sc_canary_engine *e = ps->engine;
    if (e->mode == ENGINE_SCHEDULED && !e->stopped)
        uv_timer_start(&ps->tick, on_tick,
                       sc_probe_next_delay_ms(&ps->probe, sc_rng_unit(e->env->rng)), 0);
    due(e, ps);
}

int sc_canary_engine_start(sc_canary_engine *e)
{
    if (e->stopped || e->closing)
        return -ESHUTDOWN;
    if (e->mode != ENGINE_IDLE)
        return -EBUSY;
    e->mode = ENGINE_SCHEDULED;
    unsigned enabled = 0;
    for (size_t i = 0; i < e->n_probes; i++) {
        sc_canary_probe_state *ps = &e->probes[i];
        if (!ps->probe.cfg->enabled)
            continue;
        uint64_t cap = ps->probe.cfg->interval_ms < FIRST_RUN_MAX_MS ? ps->probe.cfg->interval_ms
                                                                     : FIRST_RUN_MAX_MS;
        uv_timer_start(&ps->tick, on_tick, (uint64_t)(sc_rng_unit(e->env->rng) * (double)cap), 0);
        enabled++;
    }
    sc_log_info(e->env->log, "canary engine started", SC_F_UINT("probes", e->n_probes),
                SC_F_UINT("enabled", enabled), SC_F_UINT("max_concurrent_runs", e->max_concurrent),
                SC_F_STR("evidence", e->evidence_path ? e->evidence_path : "disabled"));
    return 0;
}

int sc_canary_engine_run_once(sc_canary_engine *e,
                              void (*done)(void *arg, unsigned passed, unsigned failed), void *arg)
{
    if (e->stopped || e->closing)
        return -ESHUTDOWN;
    if (e->mode != ENGINE_IDLE)
        return -EBUSY;
    unsigned enabled = 0;
    for (size_t i = 0; i < e->n_probes; i++)
        enabled += e->probes[i].probe.cfg->enabled ? 1 : 0;
    if (enabled == 0)
        return -ENOENT;
    e->mode = ENGINE_ONCE;
    e->once_done = done;
    e->once_arg = arg;
    e->once_total = enabled;
    /* Zero-delay ticks: every start (and any start failure) happens in a loop callback. */
    for (size_t i = 0; i < e->n_probes; i++)
        if (e->probes[i].probe.cfg->enabled)
            uv_timer_start(&e->probes[i].tick, on_tick, 0, 0);
    return 0;
}

static void report_once(sc_canary_engine *e)
{
    if (e->once_reported || e->once_done == NULL)
        return;
    e->once_reported = true;
    e->once_done(e->once_arg, e->once_passed, e->once_failed);
}

static void on_kick(uv_timer_t *t)
{
    report_once(t->data);
}

static void maybe_report_once(sc_canary_engine *e)
{
    if (e->mode == ENGINE_ONCE && e->once_passed + e->once_failed >= e->once_total &&
        e->in_flight == 0)
        report_once(e);
}

void sc_canary_engine_stop(sc_canary_engine *e)
{
    if (e == NULL || e->stopped)
        return;
    e->stopped = true;
    for (size_t i = 0; i < e->n_probes; i++) {
        sc_canary_probe_state *ps = &e->probes[i];
        uv_timer_stop(&ps->tick);
        ps->waiting = false;
    }
    if (e->mode == ENGINE_ONCE) {
        /* Probes that never started did not meet their expectation. */
        unsigned started = (unsigned)e->stats.runs + (unsigned)e->stats.start_failed;
        if (started < e->once_total)
            e->once_failed += e->once_total - started;
        if (e->in_flight == 0 && !e->closing)
            uv_timer_start(&e->kick, on_kick, 0, 0);
    }
}

static void finish_close(sc_canary_engine *e);

void sc_canary_engine_run_ended(sc_canary_engine *e, sc_canary_probe_state *ps,
                                const sc_canary_result *res)
{
    (void)ps;
    e->in_flight--;
    if (res == NULL) {
        e->stats.cancelled++;
        if (e->mode == ENGINE_ONCE)
            e->once_failed++;
    } else {
        if (res->passed)
            e->stats.passed++;
        else
            e->stats.failed++;
        if (e->mode == ENGINE_ONCE) {
            if (res->passed)
                e->once_passed++;
            else
                e->once_failed++;
        }
        if (e->deps.on_result != NULL)
            e->deps.on_result(res, e->deps.arg);
    }
    if (e->closing) {
        finish_close(e);
        return;
    }
    start_waiting(e);
    maybe_report_once(e);
}

/* ---- close ----------------------------------------------------------------------------------- */

static void closed_one(sc_canary_engine *e)
{
    if (--e->pending_closes > 0)
        return;
    if (e->mode == ENGINE_ONCE)
        report_once(e); /* owed since run_once returned 0; cancelled runs count as failed */
    void (*cb)(void *) = e->closed;
    void *arg = e->closed_arg;
    free_engine(e);
    if (cb != NULL)
        cb(arg);
}

static void on_probe_handle_closed(uv_handle_t *h)
{
    sc_canary_probe_state *ps = h->data;
    closed_one(ps->engine);
}

static void on_kick_closed(uv_handle_t *h)
{
    closed_one(h->data);
}

static void on_evidence_closed(void *arg)
{
    sc_canary_engine *e = arg;
    e->evidence = NULL;
    closed_one(e);
}

/* Once no run is left: every handle and the evidence writer (which writes what is queued first);
 * the last close callback frees the engine. */
static void finish_close(sc_canary_engine *e)
{
    if (e->in_flight > 0 || e->pending_closes > 0)
        return;
    e->pending_closes = 1 + 2 * (unsigned)e->n_probes + (e->evidence != NULL ? 1 : 0);
    for (size_t i = 0; i < e->n_probes; i++) {
        uv_close((uv_handle_t *)&e->probes[i].tick, on_probe_handle_closed);
        uv_close((uv_handle_t *)&e->probes[i].backoff, on_probe_handle_closed);
    }
    uv_close((uv_handle_t *)&e->kick, on_kick_closed);
    if (e->evidence != NULL)
        sc_evidence_writer_close(e->evidence, on_evidence_closed, e);
}

void sc_canary_engine_close(sc_canary_engine *e, void (*closed)(void *), void *arg)
{
    if (e == NULL || e->closing)
        return;
    sc_canary_engine_stop(e);
    uv_timer_stop(&e->kick);
    e->closing = true;
    e->closed = closed;
    e->closed_arg = arg;
    for (size_t i = 0; i < e->n_probes; i++)
        sc_canary_run_cancel(&e->probes[i]);
    finish_close(e);
}
