/* run.c - owns: one canary run: its attempts, retry waits, the fallback decision and fallback
 * attempt, the attempt and run records, the evidence line and the result handed to the engine. */
#include "canary/run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canary/fallback.h"
#include "telemetry/record.h"

#define S(cstr) ((sc_attr_str){(cstr), (cstr) != NULL ? strlen(cstr) : 0})

static uint64_t mono_ms(const sc_canary_engine *e)
{
    return sc_clock_mono_ns(e->env->clock) / 1000000ull;
}

static const char *current_key(const sc_canary_engine *e)
{
    if (e->deps.api_key != NULL)
        return e->deps.api_key(e->deps.api_key_arg);
    return e->cfg->cometapi.api_key;
}

static uint32_t fatal_checks(const sc_probe *p)
{
    uint32_t f = SC_CONTRACT_FATAL_DEFAULT;
    if (p->cfg->require_usage)
        f |= SC_CHECK_BIT(SC_CHECK_MISSING_USAGE);
    return f;
}

static const char *fallback_model(const sc_probe *p)
{
    return p->cfg->fallback.target.model ? p->cfg->fallback.target.model : p->model;
}

/* A fallback target names another base URL, another model, or both. */
static bool has_fallback_target(const sc_probe *p)
{
    return p->cfg->fallback.target.base_url != NULL || p->cfg->fallback.target.model != NULL;
}

static const char *fallback_base(const sc_canary_engine *e, const sc_probe *p)
{
    return p->cfg->fallback.target.base_url ? p->cfg->fallback.target.base_url
                                            : e->cfg->cometapi.base_url;
}

static void on_attempt_done(sc_canary_attempt *a, void *arg);

static int start_attempt(sc_canary_run *run)
{
    sc_canary_probe_state *ps = run->ps;
    sc_canary_engine *e = ps->engine;
    const sc_probe *p = &ps->probe;
    sc_span_context span;
    int rc = sc_recorder_begin_attempt(e->deps.recorder, &run->ctx, &span);
    if (rc < 0)
        return rc;
    sc_canary_attempt_opts o = {
        .probe = p,
        .base_url = run->in_fallback ? fallback_base(e, p) : e->cfg->cometapi.base_url,
        .model = run->in_fallback ? fallback_model(p) : p->model,
        .api_key = current_key(e),
        .timeout_ms = (uint32_t)p->cfg->timeout_ms,
        .connect_timeout_ms = (uint32_t)e->cfg->cometapi.connect_timeout_ms,
        .max_response_bytes = e->cfg->cometapi.max_response_bytes,
        .ca_file = e->cfg->cometapi.ca_file,
        .span = span,
        .fatal_checks = fatal_checks(p),
    };
    rc = sc_canary_attempt_start(&run->att, e->env, e->deps.http, &o, on_attempt_done, run);
    if (rc < 0)
        return rc;
    if (!run->in_fallback)
        sc_retry_budget_record_request(&ps->budget, mono_ms(e));
    e->stats.attempts++;
    return 0;
}

int sc_canary_run_start(sc_canary_probe_state *ps)
{
    sc_canary_engine *e = ps->engine;
    if (ps->run != NULL)
        return -EBUSY;
    sc_canary_run *run = calloc(1, sizeof *run);
    if (run == NULL)
        return -ENOMEM;
    run->ps = ps;
    sc_canary_attempt_init(&run->att);
    run->fallback_class = SC_ERROR_CLASS_NONE;
    run->start_ns = sc_clock_wall_ns(e->env->clock);
    run->start_mono_ms = mono_ms(e);
    int rc = sc_recorder_begin_run(e->deps.recorder, &run->ctx);
    if (rc == 0)
        rc = start_attempt(run);
    if (rc < 0) {
        sc_canary_attempt_release(&run->att);
        free(run);
        return rc;
    }
    ps->run = run;
    return 0;
}

/* ---- records --------------------------------------------------------------------------------- */

static void record_attempt(sc_canary_run *run, const sc_canary_attempt *a, sc_fallback_decision fb,
                           const char *fb_reason)
{
    sc_canary_probe_state *ps = run->ps;
    sc_canary_engine *e = ps->engine;
    const sc_probe *p = &ps->probe;
    bool genai = p->cfg->endpoint != SC_PROBE_MODELS;
    char host[256], route[SC_CANARY_URL_MAX + 16];
    const char *scheme = ps->url_scheme;
    int port = ps->server_port;
    const char *route_p = ps->route;
    const char *host_p = ps->server_address;
    if (run->in_fallback) {
        const char *base = fallback_base(e, p);
        host_p = sc_canary_url_parts(base, &scheme, host, sizeof host, &port) == 0 ? host : "";
        int n = sc_canary_route_template(p->method, base, p->route, route, sizeof route);
        route_p = n > 0 ? route + strlen(p->method) + 1 : "";
    }
    sc_attempt_record r;
    sc_record_attempt_init(&r);
    r.source = SC_SOURCE_CANARY;
    r.kind = SC_SPAN_KIND_CLIENT;
    r.source_seq = ++e->seq;
    r.span = a->span;
    r.has_span = 1;
    r.parent = run->ctx;
    r.has_parent = 1;
    r.method = S(p->method);
    r.route = S(route_p);
    r.status_code = a->status > 0 && a->status < 1000 ? (int)a->status : 0;
    r.url_scheme = S(scheme);
    r.server_address = S(host_p);
    r.server_port = port;
    r.resend_count = run->in_fallback ? 0 : run->attempts - 1;
    r.error_class = a->cls.error_class;
    r.fallback = fb;
    r.fallback_reason = fb == SC_FALLBACK_NOT_NEEDED ? (sc_attr_str){NULL, 0} : S(fb_reason);
    if (genai) {
        r.operation = S(p->operation);
        r.request_model = S(run->in_fallback ? fallback_model(p) : p->model);
    }
    if (a->contract_checked) {
        const sc_contract_result *c = &a->contract;
        r.response_model = S(c->response_model);
        r.response_id = S(c->response_id);
        for (size_t i = 0; i < c->n_finish && i < SC_RECORD_MAX_FINISH_REASONS; i++)
            r.finish_reasons[r.n_finish_reasons++] = S(c->finish_reasons[i]);
        r.usage_present = c->usage_present;
        r.input_tokens = c->input_tokens;
        r.output_tokens = c->output_tokens;
    }
    r.stream = p->cfg->stream;
    r.content_before_cut = a->cls.content_seen;
    r.start_ns = a->start_ns;
    r.end_ns = a->end_ns >= a->start_ns ? a->end_ns : a->start_ns;
    if (a->first_content_ns >= a->start_ns && a->first_content_ns > 0)
        r.first_chunk_ns = a->first_content_ns - a->start_ns;
    r.probe = S(p->name);
    r.upstream_request_id = S(a->cls.request_id);
    (void)sc_recorder_attempt(e->deps.recorder, &r);
}

/* The failed contract checks of the final primary answer, plus the check behind a parse_error
 * the contract never saw (an HTML 404, a redirect) and shape_drift. */
static size_t violations(const sc_canary_run *run, const char **out, size_t cap)
{
    uint32_t bits = run->final_checked ? run->final_contract.failed : 0;
    if (run->final_cls.error_class == SC_ERROR_CLASS_PARSE_ERROR && run->final_cls.check >= 0 &&
        run->final_cls.check < SC_CHECK__COUNT)
        bits |= SC_CHECK_BIT(run->final_cls.check);
    if (run->drift)
        bits |= SC_CHECK_BIT(SC_CHECK_SHAPE_DRIFT);
    size_t n = 0;
    for (int c = 0; c < SC_CHECK__COUNT && n < cap; c++)
        if (bits & SC_CHECK_BIT(c))
            out[n++] = sc_contract_check_name((sc_contract_check)c);
    return n;
}

static size_t name_list(const sc_shape_names *s, const char **out, size_t cap)
{
    size_t n = 0;
    for (; n < s->n && n < cap; n++)
        out[n] = s->name[n];
    return n;
}

/* Compares a successful answer's top-level names with the probe's accepted shape, then accepts
 * them (first answer: accepted without drift). */
static void check_shape(sc_canary_run *run)
{
    sc_canary_probe_state *ps = run->ps;
    const sc_contract_result *c = &run->final_contract;
    if (!run->final_checked || run->final_cls.error_class != SC_ERROR_CLASS_NONE ||
        c->fields.n == 0)
        return;
    run->drift = sc_shape_compare(&ps->shape, &c->fields, &run->drift_added, &run->drift_missing);
    sc_shape_accept(&ps->shape, &c->fields);
}

static void record_run(sc_canary_run *run, bool passed, const char **viol, size_t n_viol,
                       const char **added, size_t n_added, const char **missing, size_t n_missing)
{
    sc_canary_probe_state *ps = run->ps;
    const sc_probe *p = &ps->probe;
    const sc_contract_result *c = &run->final_contract;
    sc_run_record r;
    sc_record_run_init(&r);
    r.source_seq = ++ps->engine->seq;
    r.ctx = run->ctx;
    r.probe = S(p->name);
    r.passed = passed;
    r.expected = p->expect;
    r.error_class = run->final_cls.error_class;
    r.retries = run->attempts - 1;
    r.fallback = run->fallback;
    r.fallback_reason = S(run->fallback_reason);
    r.operation = S(p->operation);
    r.request_model = S(p->model);
    if (run->final_checked) {
        r.response_model = S(c->response_model);
        r.response_id = S(c->response_id);
        for (size_t i = 0; i < c->n_finish && i < SC_RECORD_MAX_FINISH_REASONS; i++)
            r.finish_reasons[r.n_finish_reasons++] = S(c->finish_reasons[i]);
        r.usage_present = c->usage_present;
        r.input_tokens = c->input_tokens;
        r.output_tokens = c->output_tokens;
    }
    r.stream = p->cfg->stream;
    if (run->final_first_content_ns > run->start_ns)
        r.first_chunk_ns = run->final_first_content_ns - run->start_ns;
    r.server_address = S(ps->server_address);
    r.server_port = ps->server_port;
    r.start_ns = run->start_ns;
    r.end_ns = run->end_ns;
    r.interval_ms = p->cfg->interval_ms;
    for (size_t i = 0; i < n_viol && i < SC_RECORD_MAX_VIOLATIONS; i++)
        r.violations[r.n_violations++] = S(viol[i]);
    for (size_t i = 0; i < n_added && i < SC_RECORD_MAX_DRIFT_FIELDS; i++)
        r.drift_added[r.n_drift_added++] = S(added[i]);
    for (size_t i = 0; i < n_missing && i < SC_RECORD_MAX_DRIFT_FIELDS; i++)
        r.drift_missing[r.n_drift_missing++] = S(missing[i]);
    (void)sc_recorder_run(ps->engine->deps.recorder, &r);
}

/* ---- evidence and result --------------------------------------------------------------------- */

static void write_evidence(sc_canary_run *run, const sc_canary_result *res)
{
    sc_canary_engine *e = run->ps->engine;
    if (e->evidence == NULL)
        return;
    sc_evidence_attempt steps[SC_RUN_MAX_ATTEMPTS];
    unsigned primary = 0;
    for (unsigned i = 0; i < run->n_steps; i++) {
        const sc_run_step *s = &run->steps[i];
        steps[i] = (sc_evidence_attempt){
            .attempt = s->fallback ? i + 1 : ++primary,
            .target = s->fallback ? "fallback" : "primary",
            .started_ns = s->start_ns,
            .completed_ns = s->end_ns,
            .status_class = sc_schema_status_class_name(s->status_class),
            .http_status = s->status,
            .error_class = sc_schema_error_class_name(s->error_class),
            .retry_decision = s->decision,
            .content_before_cut = s->content_before_cut,
            .request_id = s->request_id,
            .upstream_request_id = s->upstream_rid,
        };
    }
    const sc_probe *p = &run->ps->probe;
    sc_evidence_run ev = {
        .test_id = res->test_id,
        .probe = p->name,
        .environment = e->cfg->service.environment,
        .started_ns = run->start_ns,
        .completed_ns = run->end_ns,
        .api_surface = p->surface,
        .route_template = run->ps->route_template,
        .route_name = p->route_name,
        .model = p->model,
        .stream = p->cfg->stream,
        .status_class = res->status_class,
        .http_status = res->http_status,
        .error_class = sc_schema_error_class_name(run->final_cls.error_class),
        .retry_count = res->retries,
        .fallback_decision = sc_schema_fallback_decision_name(run->fallback),
        .fallback_reason = run->fallback_reason,
        .fallback_result = res->fallback_observed,
        .usage_present = res->usage_present,
        .request_id = res->request_id,
        .upstream_request_id = res->upstream_request_id,
        .trace_id = res->trace_id_hex,
        .passed = res->passed,
        .expected = res->expected,
        .violations = res->violations,
        .n_violations = res->n_violations,
        .shape_added = res->shape_added,
        .n_shape_added = res->n_shape_added,
        .shape_missing = res->shape_missing,
        .n_shape_missing = res->n_shape_missing,
        .attempts = steps,
        .n_attempts = run->n_steps,
    };
    sc_buf_reset(&e->line);
    int rc = sc_evidence_format(&ev, &e->line);
    if (rc == 0)
        rc = sc_evidence_writer_append(e->evidence, e->line.data, e->line.len);
    if (rc < 0 && rc != -ENOBUFS) /* a full queue is counted and logged by the writer */
        sc_log_warn(e->env->log, "evidence line not queued", SC_F_STR("probe", p->name),
                    SC_F_ERR("error", rc));
}

static void log_result(const sc_canary_engine *e, const sc_canary_result *r)
{
    SC_LOG_AT(e->env->log, r->passed ? SC_LOG_INFO : SC_LOG_WARN, "canary run finished",
              SC_F_STR("probe", r->probe), SC_F_STR("outcome", r->passed ? "pass" : "fail"),
              SC_F_STR("expected", r->expected), SC_F_STR("observed", r->observed),
              SC_F_STR("verdict", r->verdict), SC_F_UINT("retries", r->retries),
              SC_F_STR("retry_reason", r->retry_reason),
              SC_F_STR("fallback", sc_schema_fallback_decision_name(r->fallback)),
              SC_F_INT("http_status", r->http_status), SC_F_DBL("elapsed_s", r->elapsed_s),
              SC_F_STR("trace_id", r->trace_id_hex), SC_F_STR("request_id", r->request_id),
              SC_F_STR("upstream_request_id", r->upstream_request_id), SC_F_END);
}

static void finish(sc_canary_run *run)
{
    sc_canary_probe_state *ps = run->ps;
    sc_canary_engine *e = ps->engine;
    const sc_probe *p = &ps->probe;
    run->end_ns = run->n_steps > 0 ? run->steps[run->n_steps - 1].end_ns : run->start_ns;
    if (run->end_ns < run->start_ns)
        run->end_ns = run->start_ns;
    check_shape(run);
    sc_error_class final = run->final_cls.error_class;
    sc_drill_outcome o = {final, run->attempts - 1, run->fallback};
    sc_drill_verdict v = sc_fallback_drill_check(p->expect, &o);
    bool passed = v == SC_DRILL_PASS;
    const char *viol[SC_RECORD_MAX_VIOLATIONS], *added[SC_RECORD_MAX_DRIFT_FIELDS],
        *missing[SC_RECORD_MAX_DRIFT_FIELDS];
    size_t nv = violations(run, viol, SC_RECORD_MAX_VIOLATIONS);
    size_t na = run->drift ? name_list(&run->drift_added, added, SC_RECORD_MAX_DRIFT_FIELDS) : 0;
    size_t nm =
        run->drift ? name_list(&run->drift_missing, missing, SC_RECORD_MAX_DRIFT_FIELDS) : 0;
    record_run(run, passed, viol, nv, added, na, missing, nm);

    char trace[33], test_id[37] = "";
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        trace[2 * i] = hex[run->ctx.trace_id[i] >> 4];
        trace[2 * i + 1] = hex[run->ctx.trace_id[i] & 15];
    }
    trace[32] = '\0';
    (void)sc_rng_uuid_v4(e->env->rng, test_id);
    const char *endpoints[] = {"chat", "responses", "models"};
    sc_canary_result res = {
        .probe = p->name,
        .endpoint = endpoints[p->cfg->endpoint],
        .model = p->model,
        .stream = p->cfg->stream,
        .expected = sc_probe_outcome_name(p->expect),
        .observed = sc_probe_outcome_name(final),
        .passed = passed,
        .verdict = sc_drill_verdict_name(v),
        .attempts = run->attempts,
        .retries = run->attempts - 1,
        .retry_reason =
            final == SC_ERROR_CLASS_NONE ? "none" : sc_retry_reason_name(run->last_reason),
        .fallback = run->fallback,
        .fallback_reason = run->fallback_reason,
        .fallback_observed = run->fallback_sent ? sc_probe_outcome_name(run->fallback_class) : NULL,
        .http_status = run->final_status,
        .status_class = sc_schema_status_class_name(run->final_cls.status_class),
        .elapsed_s = (double)(run->end_ns - run->start_ns) / 1e9,
        .ttfc_s = run->final_first_content_ns > run->start_ns
                      ? (double)(run->final_first_content_ns - run->start_ns) / 1e9
                      : -1.0,
        .usage_present = run->final_checked && run->final_contract.usage_present,
        .trace_id_hex = trace,
        .test_id = test_id,
        .request_id = run->final_request_id,
        .upstream_request_id = run->final_cls.request_id,
        .violations = viol,
        .n_violations = nv,
        .shape_added = added,
        .n_shape_added = na,
        .shape_missing = missing,
        .n_shape_missing = nm,
        .started_unix_ns = run->start_ns,
        .completed_unix_ns = run->end_ns,
    };
    write_evidence(run, &res);
    log_result(e, &res);
    ps->run = NULL;
    sc_canary_engine_run_ended(e, ps, &res);
    sc_canary_attempt_release(&run->att);
    free(run);
}

/* ---- attempt outcomes ------------------------------------------------------------------------ */

static void on_backoff(uv_timer_t *t)
{
    sc_canary_probe_state *ps = t->data;
    sc_canary_run *run = ps->run;
    if (run == NULL)
        return;
    int rc = start_attempt(run);
    if (rc < 0) {
        sc_log_warn(ps->engine->env->log, "canary attempt could not start; ending the run",
                    SC_F_STR("probe", ps->probe.name),
                    SC_F_STR("attempt", run->in_fallback ? "fallback" : "retry"),
                    SC_F_ERR("error", rc));
        finish(run);
    }
}

static void wait_then_attempt(sc_canary_run *run, uint64_t delay_ms)
{
    if (uv_timer_start(&run->ps->backoff, on_backoff, delay_ms, 0) < 0)
        finish(run);
}

static void note_final(sc_canary_run *run, const sc_canary_attempt *a)
{
    run->final_cls = a->cls;
    run->final_contract = a->contract;
    run->final_checked = a->contract_checked;
    run->final_status = a->status;
    run->final_first_content_ns = a->first_content_ns;
    memcpy(run->final_request_id, a->request_id, sizeof run->final_request_id);
}

static sc_run_step *add_step(sc_canary_run *run, const sc_canary_attempt *a)
{
    sc_run_step *s = &run->steps[run->n_steps++];
    s->fallback = run->in_fallback;
    s->start_ns = a->start_ns;
    s->end_ns = a->end_ns;
    s->status = a->status;
    s->status_class = a->cls.status_class;
    s->error_class = a->cls.error_class;
    s->content_before_cut = a->cls.content_seen;
    memcpy(s->request_id, a->request_id, sizeof s->request_id);
    memcpy(s->upstream_rid, a->cls.request_id, sizeof s->upstream_rid);
    return s;
}

static void primary_done(sc_canary_run *run, const sc_canary_attempt *a, sc_run_step *s)
{
    sc_canary_probe_state *ps = run->ps;
    sc_canary_engine *e = ps->engine;
    run->attempts++;
    note_final(run, a);
    if (a->cls.error_class == SC_ERROR_CLASS_NONE) {
        s->decision = "none";
        run->fallback = SC_FALLBACK_NOT_NEEDED;
        run->fallback_reason = SC_FALLBACK_REASON_NONE;
        record_attempt(run, a, SC_FALLBACK_NOT_NEEDED, NULL);
        finish(run);
        return;
    }
    sc_retry_input in = {
        .attempts = run->attempts,
        .retryable = a->cls.retryable,
        .now_ms = mono_ms(e),
        .run_start_ms = run->start_mono_ms,
        .retry_after_ms = a->retry_after_ms,
        .random = sc_rng_u64(e->env->rng),
    };
    sc_retry_decision d = sc_retry_decide(&ps->probe.retry, &ps->budget, &in);
    s->decision = sc_retry_reason_name(d.reason);
    run->last_reason = d.reason;
    if (d.retry) {
        e->stats.retries++;
        record_attempt(run, a, SC_FALLBACK_NOT_NEEDED, NULL);
        wait_then_attempt(run, d.delay_ms);
        return;
    }
    sc_fallback_result fr =
        sc_fallback_decide(&ps->probe.fallback, a->cls.error_class, a->cls.content_seen);
    run->fallback = fr.decision;
    /* The class itself (evidence, results); the recorder bounds it for telemetry. */
    run->fallback_reason = sc_schema_error_class_name(a->cls.error_class);
    record_attempt(run, a, fr.decision, run->fallback_reason);
    if (fr.decision == SC_FALLBACK_ALLOWED && has_fallback_target(&ps->probe)) {
        run->in_fallback = true;
        run->fallback = SC_FALLBACK_USED;
        wait_then_attempt(run, 0);
        return;
    }
    finish(run);
}

static void on_attempt_done(sc_canary_attempt *a, void *arg)
{
    sc_canary_run *run = arg;
    sc_canary_probe_state *ps = run->ps;
    /* Shutdown: nothing is recorded, not even an attempt that completed as close began. */
    if (a->transport == SC_HTTP_ERR_CANCELLED || ps->engine->closing) {
        ps->run = NULL;
        sc_canary_engine_run_ended(ps->engine, ps, NULL);
        sc_canary_attempt_release(&run->att);
        free(run);
        return;
    }
    sc_run_step *s = add_step(run, a);
    if (!run->in_fallback) {
        primary_done(run, a, s);
        return;
    }
    s->decision = "fallback";
    run->fallback_sent = true;
    run->fallback_class = a->cls.error_class;
    ps->engine->stats.fallbacks_used++;
    record_attempt(run, a, SC_FALLBACK_USED, run->fallback_reason);
    finish(run);
}

void sc_canary_run_cancel(sc_canary_probe_state *ps)
{
    sc_canary_run *run = ps->run;
    if (run == NULL)
        return;
    if (sc_canary_attempt_in_flight(&run->att)) {
        sc_canary_attempt_cancel(&run->att); /* on_attempt_done frees it */
        return;
    }
    uv_timer_stop(&ps->backoff);
    ps->run = NULL;
    sc_canary_engine_run_ended(ps->engine, ps, NULL);
    sc_canary_attempt_release(&run->att);
    free(run);
}
