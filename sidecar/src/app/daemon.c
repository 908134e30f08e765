/* daemon.c - owns: module wiring, readiness, the shutdown state machine and signal handling. */
#include "app/daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accesslog/observer.h"
#include "app/cli.h"
#include "app/gate.h"
#include "app/pipeline.h"
#include "app/upstream_check.h"
#include "app/view.h"
#include "canary/engine.h"
#include "config/keyfile.h"
#include "core/env.h"
#include "health/health_server.h"
#include "loop/http_client.h"
#include "version.h"

typedef enum { RUNNING, DRAINING, CLOSING } daemon_state;

typedef struct sidecar {
    uv_loop_t loop;
    sc_env env;
    sc_rng rng;
    sc_view view;
    const sc_config *cfg;
    sc_keyfile *keys;
    sc_http_client *http;
    sc_health *health;
    sc_pipeline *pipeline;
    sc_observer *access_log;  /* NULL unless access_log.path is set */
    sc_canary_engine *canary; /* NULL when no probe is configured */
    const char *evidence_path;
    sc_gate gate; /* --once: the deploy-gate table */
    int flushing;
    uv_signal_t sigterm;
    uv_signal_t sigint;
    uv_timer_t deadline;
    uv_timer_t view_tick; /* live view: telemetry figures every few seconds */
    daemon_state state;
    int once;
    int exit_code;
    unsigned checks_in_flight;
    unsigned checks_ok;
    unsigned checks_failed;
    unsigned key_reloads;
    unsigned pending_closes;
    sc_health_stats health_stats; /* taken at close, for the summary */
    uint64_t started_mono_ns;
    uint64_t drain_started_mono_ns;
} sidecar;

static void begin_shutdown(sidecar *d, const char *why);
static void maybe_finish_drain(sidecar *d);
static void on_module_closed(void *arg);

/* ---- health -------------------------------------------------------------------------------- */

static int handle_healthz(void *arg, const sc_health_request *req, sc_buf *body, const char **ct)
{
    (void)arg;
    (void)req;
    *ct = "text/plain; charset=utf-8";
    sc_buf_append_str(body, "ok\n");
    return 200;
}

/* Ready means: configuration loaded and every module started (true once we are RUNNING), and not
 * shutting down, so Kubernetes stops routing to a pod that is draining. */
static int handle_readyz(void *arg, const sc_health_request *req, sc_buf *body, const char **ct)
{
    sidecar *d = arg;
    (void)req;
    *ct = "text/plain; charset=utf-8";
    if (d->state != RUNNING) {
        sc_buf_append_str(body, "not ready: shutting down\n");
        return 503;
    }
    const char *why = NULL;
    if (d->pipeline != NULL && !sc_pipeline_healthy(d->pipeline, &why)) {
        sc_buf_append_str(body, "not ready: ");
        sc_buf_append_str(body, why != NULL ? why : "telemetry export is wedged");
        sc_buf_append_str(body, "\n");
        return 503;
    }
    sc_buf_append_str(body, "ready\n");
    return 200;
}

/* ---- upstream check ------------------------------------------------------------------------ */

static void on_check_done(const sc_upcheck_result *r, void *arg)
{
    sidecar *d = arg;
    d->checks_in_flight--;
    if (r->ok)
        d->checks_ok++;
    else
        d->checks_failed++;
    const char *err = sc_schema_error_class_name(r->error_class);
    SC_LOG_AT(d->env.log, r->ok ? SC_LOG_INFO : SC_LOG_WARN, "upstream check finished",
              SC_F_BOOL("ok", r->ok), SC_F_INT("http_status", r->status),
              SC_F_STR("error_class", err), SC_F_DBL("duration_s", r->total_s),
              SC_F_STR("upstream_request_id", r->request_id), SC_F_END);
    sc_view_event(&d->view, "upstream", "GET /models  %s  status %ld  %.0f ms  %s",
                  r->ok ? "OK  " : "FAIL", r->status, r->total_s * 1000.0, r->ok ? "" : err);
    if (d->once && d->checks_in_flight == 0 && d->state == RUNNING) {
        d->exit_code = d->checks_failed ? SC_EXIT_CHECK_FAILED : SC_EXIT_OK;
        begin_shutdown(d, "once: checks finished");
        return;
    }
    maybe_finish_drain(d);
}

static void run_upstream_check(sidecar *d, const char *why)
{
    const sc_config *c = d->cfg;
    sc_upcheck_opts o = {
        .base_url = c->cometapi.base_url,
        .api_key = sc_keyfile_key(d->keys),
        .timeout_ms = (uint32_t)c->cometapi.timeout_ms,
        .connect_timeout_ms = (uint32_t)c->cometapi.connect_timeout_ms,
        .ca_file = c->cometapi.ca_file,
        .recorder = d->pipeline != NULL ? sc_pipeline_recorder(d->pipeline) : NULL,
    };
    int rc = sc_upcheck_start(&d->env, d->http, &o, on_check_done, d);
    if (rc < 0) {
        d->checks_failed++;
        sc_log_warn(d->env.log, "upstream check not started", SC_F_STR("reason", why),
                    SC_F_ERR("error", rc));
        return;
    }
    d->checks_in_flight++;
    sc_log_debug(d->env.log, "upstream check started", SC_F_STR("reason", why));
}

static void on_key_error(sc_keyfile *kf, const char *msg, void *arg)
{
    sidecar *d = arg;
    (void)kf;
    sc_view_event(&d->view, "api key", "re-read failed, keeping the previous key: %s", msg);
}

static void on_key_change(sc_keyfile *kf, void *arg)
{
    (void)kf;
    sidecar *d = arg;
    d->key_reloads++;
    sc_log_set_secret(d->env.log, 0, sc_keyfile_key(d->keys));
    sc_log_info(d->env.log, "api key reloaded",
                SC_F_UINT("generation", sc_keyfile_generation(d->keys)));
    sc_view_event(&d->view, "api key", "reloaded from file (generation %llu); verifying it",
                  (unsigned long long)sc_keyfile_generation(d->keys));
    if (d->state == RUNNING)
        run_upstream_check(d, "key rotated");
}

/* ---- canaries ------------------------------------------------------------------------------ */

static const char *current_key(void *arg)
{
    sidecar *d = arg;
    return sc_keyfile_key(d->keys);
}

static unsigned canaries_in_flight(const sidecar *d)
{
    return d->canary != NULL ? sc_canary_engine_in_flight(d->canary) : 0;
}

static void on_canary_result(const sc_canary_result *r, void *arg)
{
    sidecar *d = arg;
    if (d->once)
        sc_gate_add(&d->gate, r);
    char fb[80] = "";
    if (r->fallback_observed != NULL)
        snprintf(fb, sizeof fb, "  fallback used (%s): %s", r->fallback_reason,
                 r->fallback_observed);
    else if (r->fallback != SC_FALLBACK_NOT_NEEDED)
        snprintf(fb, sizeof fb, "  fallback %s (%s)", sc_schema_fallback_decision_name(r->fallback),
                 r->fallback_reason);
    sc_view_event(&d->view, "canary", "%-20s %s  expected %-15s observed %-18s retries %u%s",
                  r->probe, r->passed ? "PASS" : "FAIL", r->expected, r->observed, r->retries, fb);
    maybe_finish_drain(d);
}

static void on_once_done(void *arg, unsigned passed, unsigned failed)
{
    sidecar *d = arg;
    sc_log_info(d->env.log, "once: probes finished", SC_F_UINT("passed", passed),
                SC_F_UINT("failed", failed));
    d->exit_code = failed > 0 || passed == 0 ? SC_EXIT_CHECK_FAILED : SC_EXIT_OK;
    begin_shutdown(d, "once: probes finished");
}

static int start_canaries(sidecar *d)
{
    if (d->cfg->n_probes == 0)
        return 0;
    sc_canary_deps deps = {
        .env = &d->env,
        .cfg = d->cfg,
        .http = d->http,
        .recorder = sc_pipeline_recorder(d->pipeline),
        .api_key = current_key,
        .api_key_arg = d,
        .evidence_path = d->evidence_path,
        .evidence_failures = sc_pipeline_instrument(d->pipeline, SC_METRIC_EVIDENCE_FAILURES),
        .on_result = on_canary_result,
        .arg = d,
    };
    int rc = sc_canary_engine_new(&d->canary, &deps);
    if (rc < 0)
        sc_log_error(d->env.log, "could not start the canary engine", SC_F_ERR("error", rc));
    return rc;
}

/* ---- live view ----------------------------------------------------------------------------- */

static void view_telemetry(sidecar *d)
{
    if (d->pipeline == NULL)
        return;
    sc_exporter_stats ex;
    sc_recorder_stats rs;
    sc_pipeline_get_stats(d->pipeline, &ex, &rs);
    sc_view_telemetry(&d->view, &ex, &rs);
}

/* ---- access log ---------------------------------------------------------------------------- */

/* Created after the pipeline (it records into it); the span queue pauses it when full and
 * acknowledges its lines as their spans are exported. */
static int start_access_log(sidecar *d)
{
    const sc_config *c = d->cfg;
    if (c->access_log.path == NULL)
        return 0;
    sc_instrument *inst[SC_METRIC__COUNT];
    for (int id = 0; id < SC_METRIC__COUNT; id++)
        inst[id] = sc_pipeline_instrument(d->pipeline, (sc_metric_id)id);
    sc_observer_opts oo = {
        .cfg = &c->access_log,
        .recorder = sc_pipeline_recorder(d->pipeline),
        .instruments = inst,
        .queue_capacity = (size_t)c->exporter.batch.max_queue_size,
    };
    char err[512];
    int rc = sc_observer_new(&d->access_log, &d->env, &oo, err, sizeof err);
    if (rc < 0) {
        sc_log_error(d->env.log, "could not start the access-log observer",
                     SC_F_STR("error", err[0] ? err : ""), SC_F_ERR("errno", rc));
        return rc;
    }
    sc_pipeline_source_hooks hooks = {
        .on_full = sc_observer_on_full,
        .on_drained = sc_observer_on_drained,
        .on_ack = sc_observer_on_ack,
        .arg = d->access_log,
    };
    sc_pipeline_set_source_hooks(d->pipeline, &hooks);
    return sc_observer_start(d->access_log);
}

/* Draining: no new lines; the spans already queued are flushed and acknowledged. */
static void stop_access_log(sidecar *d)
{
    if (d->access_log != NULL)
        sc_observer_stop(d->access_log);
}

/* Before the pipeline closes: its close releases the spans it could not deliver as not accepted,
 * and those lines must not reach the final checkpoint. */
static void close_access_log(sidecar *d)
{
    if (d->access_log == NULL)
        return;
    if (d->pipeline != NULL)
        sc_pipeline_set_source_hooks(d->pipeline, &(sc_pipeline_source_hooks){0});
    d->pending_closes++;
    sc_observer_close(d->access_log, on_module_closed, d);
    d->access_log = NULL;
}

static void view_access_log(sidecar *d)
{
    if (d->access_log == NULL)
        return;
    sc_observer_stats s;
    sc_observer_get_stats(d->access_log, &s);
    sc_view_access_log(&d->view, &s);
}

static void on_view_tick(uv_timer_t *t)
{
    view_telemetry(t->data);
    view_access_log(t->data);
}

/* ---- shutdown ------------------------------------------------------------------------------ */

static void on_module_closed(void *arg)
{
    sidecar *d = arg;
    d->pending_closes--;
}

static void on_handle_closed(uv_handle_t *h)
{
    on_module_closed(h->data);
}

/* Every module is closed asynchronously; the loop ends when the last close callback has run.
 * Modules that never got created (startup failed half-way) are skipped. */
static void close_everything(sidecar *d)
{
    if (d->state == CLOSING)
        return;
    d->state = CLOSING;
    close_access_log(d);
    if (d->health != NULL) {
        sc_health_get_stats(d->health, &d->health_stats);
        d->pending_closes++;
        sc_health_close(d->health, on_module_closed, d);
    }
    if (d->canary != NULL) { /* before the HTTP client: it cancels its requests */
        d->pending_closes++;
        sc_canary_engine_close(d->canary, on_module_closed, d);
    }
    if (d->pipeline != NULL) {
        d->pending_closes++;
        sc_pipeline_close(d->pipeline, on_module_closed, d);
    }
    if (d->http != NULL) {
        d->pending_closes++;
        sc_http_client_close(d->http, on_module_closed, d);
    }
    if (d->keys != NULL) {
        d->pending_closes++;
        sc_keyfile_close(d->keys, on_module_closed, d);
    }
    uv_handle_t *own[] = {(uv_handle_t *)&d->sigterm, (uv_handle_t *)&d->sigint,
                          (uv_handle_t *)&d->deadline, (uv_handle_t *)&d->view_tick};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        d->pending_closes++;
        uv_close(own[i], on_handle_closed);
    }
}

static void on_flushed(void *arg, int all_delivered)
{
    sidecar *d = arg;
    double took = (double)(sc_clock_mono_ns(d->env.clock) - d->drain_started_mono_ns) / 1e9;
    SC_LOG_AT(d->env.log, all_delivered ? SC_LOG_INFO : SC_LOG_WARN, "drained",
              SC_F_DBL("duration_s", took), SC_F_BOOL("all_delivered", all_delivered), SC_F_END);
    sc_view_event(&d->view, "shutdown", "drained in %.0f ms%s", took * 1000.0,
                  all_delivered ? "" : " (some telemetry was not delivered)");
    view_telemetry(d);
    view_access_log(d);
    close_everything(d);
}

/* Draining has two steps: wait for the work already started (checks in flight), then flush the
 * telemetry it produced. The deadline timer bounds both. */
static void maybe_finish_drain(sidecar *d)
{
    if (d->state != DRAINING || d->checks_in_flight > 0 || canaries_in_flight(d) > 0 || d->flushing)
        return;
    uint64_t spent_ms = (sc_clock_mono_ns(d->env.clock) - d->drain_started_mono_ns) / 1000000u;
    uint64_t deadline_ms = d->cfg->shutdown.deadline_ms;
    uint64_t left_ms = spent_ms < deadline_ms ? deadline_ms - spent_ms : 1;
    if (d->pipeline == NULL || sc_pipeline_flush(d->pipeline, left_ms, on_flushed, d) < 0) {
        on_flushed(d, d->pipeline == NULL);
        return;
    }
    d->flushing = 1;
}

static void on_deadline(uv_timer_t *t)
{
    sidecar *d = t->data;
    sc_log_warn(d->env.log, "shutdown deadline reached; cancelling what is still in flight",
                SC_F_UINT("deadline_ms", d->cfg->shutdown.deadline_ms),
                SC_F_UINT("checks_in_flight", d->checks_in_flight),
                SC_F_UINT("canaries_in_flight", canaries_in_flight(d)));
    sc_view_event(&d->view, "shutdown", "deadline reached, cancelling %u in flight",
                  d->checks_in_flight + canaries_in_flight(d));
    close_everything(d);
}

static void begin_shutdown(sidecar *d, const char *why)
{
    if (d->state != RUNNING)
        return;
    d->state = DRAINING;
    stop_access_log(d);
    d->drain_started_mono_ns = sc_clock_mono_ns(d->env.clock);
    sc_log_info(d->env.log, "shutting down", SC_F_STR("reason", why),
                SC_F_UINT("deadline_ms", d->cfg->shutdown.deadline_ms));
    sc_view_event(&d->view, "shutdown", "%s; draining (deadline %llu ms)", why,
                  (unsigned long long)d->cfg->shutdown.deadline_ms);
    uv_timer_start(&d->deadline, on_deadline, d->cfg->shutdown.deadline_ms, 0);
    if (d->canary != NULL)
        sc_canary_engine_stop(d->canary); /* runs in flight finish; no new ones */
    maybe_finish_drain(d);
}

static void on_signal(uv_signal_t *s, int signum)
{
    sidecar *d = s->data;
    if (d->state != RUNNING) {
        /* Second signal: the operator wants out now. Nothing is flushed. */
        static const char msg[] = "{\"level\":\"warn\",\"msg\":\"second signal: exiting now\"}\n";
        ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)ignored;
        _exit(SC_EXIT_SIGNAL_BASE + signum);
    }
    begin_shutdown(d, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* ---- startup ------------------------------------------------------------------------------- */

static int start_modules(sidecar *d)
{
    const sc_config *c = d->cfg;
    sc_keyfile_options ko = {
        .key = c->cometapi.api_key,
        .path = c->cometapi.api_key_file,
        .check_interval_ms = c->cometapi.key_file_check_interval_ms,
        .on_change = on_key_change,
        .on_error = on_key_error,
        .arg = d,
    };
    sc_config_error err;
    int rc = sc_keyfile_new(&d->keys, &d->env, &ko, &err);
    if (rc < 0) {
        /* A key file we cannot use is a configuration error, like any other bad key. */
        sc_log_error(d->env.log, "invalid configuration", SC_F_STR("error", err.msg));
        d->exit_code = SC_EXIT_CONFIG;
        return rc;
    }
    if ((rc = sc_keyfile_start(d->keys)) < 0)
        return rc;
    sc_log_set_secret(d->env.log, 0, sc_keyfile_key(d->keys));
    sc_http_client_opts ho = {
        .max_in_flight = 256,
        .default_timeout_ms = (uint32_t)c->cometapi.timeout_ms,
        .default_connect_timeout_ms = (uint32_t)c->cometapi.connect_timeout_ms,
        .default_max_response_bytes = c->cometapi.max_response_bytes,
        .user_agent = SC_NAME "/" SC_VERSION,
        .max_host_connections = 8,
    };
    if ((rc = sc_http_client_new(&d->http, &d->env, &ho)) < 0)
        return rc;
    const char *what = "";
    if ((rc = sc_pipeline_new(&d->pipeline, &d->env, c, d->http, &what)) < 0 ||
        (rc = sc_pipeline_start(d->pipeline)) < 0) {
        sc_log_error(d->env.log, "could not start the telemetry pipeline", SC_F_STR("part", what),
                     SC_F_ERR("error", rc));
        return rc;
    }
    if ((rc = start_access_log(d)) < 0)
        return rc;
    if ((rc = start_canaries(d)) < 0)
        return rc;
    char host[256];
    sc_health_opts hopts = {
        .host = host,
        .max_request_bytes = c->health.max_request_bytes,
        .request_timeout_ms = (uint32_t)c->health.request_timeout_ms,
        .max_connections = (unsigned)c->health.max_connections,
        .max_response_bytes = 4u << 20,
    };
    if ((rc = sc_config_split_hostport(c->health.endpoint, host, sizeof host, &hopts.port)) < 0)
        return rc;
    if ((rc = sc_health_new(&d->health, &d->env, &hopts)) < 0)
        return rc;
    sc_health_route(d->health, "/healthz", handle_healthz, d);
    sc_health_route(d->health, "/readyz", handle_readyz, d);
    sc_health_route(d->health, SC_PROM_SCRAPE_PATH, sc_prom_scrape_handler,
                    sc_pipeline_scrape(d->pipeline));
    return sc_health_start(d->health);
}

static int setup(sidecar *d, const sc_config *cfg, sc_log *log, int once)
{
    d->cfg = cfg;
    d->once = once;
    d->exit_code = SC_EXIT_OK;
    sc_rng_init_system(&d->rng);
    int rc = uv_loop_init(&d->loop);
    if (rc < 0)
        return rc;
    d->env = (sc_env){.loop = &d->loop, .log = log, .clock = sc_clock_system(), .rng = &d->rng};
    sc_view_init(&d->view, stdout, cfg->console.view, d->env.clock);
    d->started_mono_ns = sc_clock_mono_ns(d->env.clock);
    uv_signal_init(&d->loop, &d->sigterm);
    uv_signal_init(&d->loop, &d->sigint);
    uv_timer_init(&d->loop, &d->deadline);
    uv_timer_init(&d->loop, &d->view_tick);
    d->sigterm.data = d->sigint.data = d->deadline.data = d->view_tick.data = d;
    if (cfg->console.view)
        uv_timer_start(&d->view_tick, on_view_tick, 5000, 5000);
    uv_signal_start(&d->sigterm, on_signal, SIGTERM);
    uv_signal_start(&d->sigint, on_signal, SIGINT);
    return start_modules(d);
}

static void print_summary(sidecar *d)
{
    double up = (double)(sc_clock_mono_ns(d->env.clock) - d->started_mono_ns) / 1e9;
    const sc_health_stats hs = d->health_stats;
    sc_log_info(d->env.log, "stopped", SC_F_INT("exit_code", d->exit_code),
                SC_F_DBL("uptime_s", up), SC_F_UINT("upstream_checks_ok", d->checks_ok),
                SC_F_UINT("upstream_checks_failed", d->checks_failed),
                SC_F_UINT("key_reloads", d->key_reloads),
                SC_F_UINT("health_requests", hs.requests));
    sc_view_text(&d->view,
                 "\nsummary: up %.1f s | upstream checks %u ok, %u failed | key reloads %u | "
                 "health requests %llu | exit %d\n",
                 up, d->checks_ok, d->checks_failed, d->key_reloads,
                 (unsigned long long)hs.requests, d->exit_code);
}

/* --once runs the probes when there are any, else the upstream check is the gate. */
static void start_work(sidecar *d)
{
    int rc = 0;
    if (d->canary != NULL) {
        rc = d->once ? sc_canary_engine_run_once(d->canary, on_once_done, d)
                     : sc_canary_engine_start(d->canary);
        if (rc < 0)
            sc_log_error(d->env.log, "canary engine did not start", SC_F_ERR("error", rc));
    }
    if (!d->once || d->canary == NULL)
        run_upstream_check(d, d->once ? "once" : "startup");
    if (d->once && (rc < 0 || (d->canary == NULL && d->checks_in_flight == 0))) {
        d->exit_code = SC_EXIT_CHECK_FAILED;
        begin_shutdown(d, "once: nothing could run");
    }
}

int sc_daemon_run(const sc_config *cfg, sc_log *log, int once, const char *evidence_path)
{
    sidecar *d = calloc(1, sizeof *d);
    if (d == NULL)
        return SC_EXIT_RUNTIME;
    d->evidence_path = evidence_path;
    int rc = setup(d, cfg, log, once);
    if (rc < 0 && d->env.loop == NULL) {
        sc_log_error(log, "could not create the event loop", SC_F_ERR("error", rc));
        free(d);
        return SC_EXIT_RUNTIME;
    }
    if (rc < 0) {
        if (d->exit_code == SC_EXIT_OK) {
            sc_log_error(log, "could not start", SC_F_ERR("error", rc));
            d->exit_code = SC_EXIT_RUNTIME;
        }
        d->state = RUNNING;
        begin_shutdown(d, "startup failed");
    } else {
        sc_log_info(log, "started", SC_F_STR("version", SC_VERSION),
                    SC_F_STR("health", cfg->health.endpoint),
                    SC_F_INT("health_port", sc_health_port(d->health)),
                    SC_F_STR("upstream", cfg->cometapi.base_url), SC_F_BOOL("once", once));
        sc_view_event(&d->view, "started", "%s %s  health http://%s  upstream %s", SC_NAME,
                      SC_VERSION, cfg->health.endpoint, cfg->cometapi.base_url);
        start_work(d);
    }
    uv_run(&d->loop, UV_RUN_DEFAULT);
    if (once && d->gate.n + d->gate.overflow > 0)
        sc_gate_print(&d->gate, stdout);
    print_summary(d);
    int exit_code = d->exit_code;
    rc = uv_loop_close(&d->loop);
    if (rc != 0) {
        sc_log_error(log, "loop closed with handles still open", SC_F_ERR("error", rc));
        if (exit_code == SC_EXIT_OK)
            exit_code = SC_EXIT_RUNTIME;
    }
    free(d);
    return exit_code;
}
