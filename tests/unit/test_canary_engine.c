/* test_canary_engine.c - tests for canary/engine against the in-process test HTTP server
 * (tests/support): --once accounting, the headers every attempt sends (X-Request-ID, traceparent
 * of the attempt span in the run's trace, Authorization per credential mode), retries with the
 * policy's reasons, the fallback attempt and the evidence timeline, the retry budget, Retry-After
 * over its cap, scheduled mode (overlap skips, the concurrency limit), stop letting in-flight runs
 * finish, close cancelling them, API misuse, and that the key never reaches logs or evidence. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "canary/engine.h"
#include "harness.h"
#include "telemetry/recorder.h"
#include "test_http_server.h"

#define KEY       "sk-engine-unit-key-0123456789abcdef"
#define MAX_RES   16
#define MAX_SETS  40
#define RESULT_SZ 256

typedef struct got {
    char probe[64], observed[40], retry_reason[40], fallback_observed[40], trace[33], rid[33];
    int passed;
    unsigned retries;
    sc_fallback_decision fallback;
    char fallback_reason[40];
} got;

typedef struct fx {
    uv_loop_t loop;
    sc_rng rng;
    sc_log *log;
    FILE *log_file;
    sc_env env;
    sc_test_http_server *srv;
    sc_http_client *http;
    sc_span_queue *q;
    sc_metrics *m;
    sc_instrument *inst[SC_METRIC__COUNT];
    sc_recorder *rec;
    sc_config cfg;
    sc_canary_engine *eng;
    char evidence[64];
    uv_timer_t watchdog, timer;
    int expired, closed, done_calls, timer_action;
    unsigned done_passed, done_failed;
    got res[MAX_RES];
    size_t n_res;
} fx;

static const char *key_of(void *arg)
{
    (void)arg;
    return KEY;
}

static void on_result(const sc_canary_result *r, void *arg)
{
    fx *f = arg;
    CHECK(sc_canary_engine_in_flight(f->eng) < 64);
    if (f->n_res == MAX_RES)
        return;
    got *g = &f->res[f->n_res++];
    snprintf(g->probe, sizeof g->probe, "%s", r->probe);
    snprintf(g->observed, sizeof g->observed, "%s", r->observed);
    snprintf(g->retry_reason, sizeof g->retry_reason, "%s", r->retry_reason);
    snprintf(g->fallback_observed, sizeof g->fallback_observed, "%s",
             r->fallback_observed ? r->fallback_observed : "");
    snprintf(g->fallback_reason, sizeof g->fallback_reason, "%s", r->fallback_reason);
    snprintf(g->trace, sizeof g->trace, "%s", r->trace_id_hex);
    snprintf(g->rid, sizeof g->rid, "%s", r->request_id);
    g->passed = r->passed;
    g->retries = r->retries;
    g->fallback = r->fallback;
}

static void on_watchdog(uv_timer_t *t)
{
    fx *f = t->data;
    CHECK(!"watchdog expired");
    f->expired = 1;
}

/* sets: "--set" style overrides; base is the path on the test server for cometapi.base_url. */
static int setup(fx *f, const char *base, const char *const *sets, size_t n_sets)
{
    memset(f, 0, sizeof *f);
    uv_loop_init(&f->loop);
    sc_rng_init_seeded(&f->rng, 42);
    f->log_file = tmpfile();
    sc_log_new(&f->log, fileno(f->log_file), SC_LOG_DEBUG, sc_clock_system());
    f->env = (sc_env){.loop = &f->loop, .log = f->log, .clock = sc_clock_system(), .rng = &f->rng};
    uv_timer_init(&f->loop, &f->watchdog);
    uv_timer_init(&f->loop, &f->timer);
    f->watchdog.data = f->timer.data = f;
    uv_timer_start(&f->watchdog, on_watchdog, 20000, 0);
    if (sc_test_http_server_start(&f->srv, &f->loop) != 0)
        return -1;
    char url[256], set_url[300], set_ev[128];
    sc_test_http_server_url(f->srv, base, url, sizeof url);
    snprintf(set_url, sizeof set_url, "cometapi.base_url=%s", url);
    snprintf(f->evidence, sizeof f->evidence, "/tmp/sc-test-engine-ev-XXXXXX");
    close(mkstemp(f->evidence));
    snprintf(set_ev, sizeof set_ev, "evidence.path=%s", f->evidence);
    const char *all[MAX_SETS] = {set_url, set_ev, "cometapi.api_key=" KEY};
    static char subst[MAX_SETS][300];
    size_t n = 3;
    for (size_t i = 0; i < n_sets && n < MAX_SETS; i++) {
        const char *at = strstr(sets[i], "@SERVER@"); /* the test server's root URL */
        if (at == NULL) {
            all[n++] = sets[i];
            continue;
        }
        snprintf(subst[i], sizeof subst[i], "%.*shttp://127.0.0.1:%d%s", (int)(at - sets[i]),
                 sets[i], sc_test_http_server_port(f->srv), at + 8);
        all[n++] = subst[i];
    }
    sc_config_error err;
    sc_config_sources src = {.sets = all, .n_sets = n};
    if (sc_config_load(&src, &f->cfg, &err) != 0) {
        fprintf(stderr, "config: %s\n", err.msg);
        return -1;
    }
    sc_span_queue_opts qo = {.capacity = 256};
    sc_metrics_opts mo = {.clock = f->env.clock};
    if (sc_http_client_new(&f->http, &f->env, NULL) != 0 || sc_span_queue_new(&f->q, &qo) != 0 ||
        sc_metrics_new(&f->m, &mo) != 0 || sc_metrics_register_schema(f->m, f->inst) != 0 ||
        sc_recorder_new(&f->rec, &f->env, f->q, f->inst, NULL) != 0)
        return -1;
    sc_canary_deps d = {.env = &f->env,
                        .cfg = &f->cfg,
                        .http = f->http,
                        .recorder = f->rec,
                        .api_key = key_of,
                        .on_result = on_result,
                        .arg = f};
    return sc_canary_engine_new(&f->eng, &d);
}

static void on_closed(void *arg)
{
    fx *f = arg;
    f->closed++;
    f->eng = NULL;
}

static void run_until(fx *f, int *flag)
{
    while (!*flag && !f->expired)
        uv_run(&f->loop, UV_RUN_ONCE);
}

static char *slurp(const char *path)
{
    static char buf[1 << 17];
    FILE *fp = fopen(path, "r");
    size_t n = fp ? fread(buf, 1, sizeof buf - 1, fp) : 0;
    if (fp)
        fclose(fp);
    buf[n] = '\0';
    return buf;
}

static void teardown(fx *f)
{
    if (f->eng != NULL) {
        sc_canary_engine_close(f->eng, on_closed, f);
        run_until(f, &f->closed);
    }
    /* The key appears nowhere: not in the log, not in the evidence. */
    CHECK(strstr(slurp(f->evidence), KEY) == NULL);
    fflush(f->log_file);
    rewind(f->log_file);
    static char logbuf[1 << 17];
    size_t n = fread(logbuf, 1, sizeof logbuf - 1, f->log_file);
    logbuf[n] = '\0';
    CHECK(strstr(logbuf, KEY) == NULL);
    sc_http_client_close(f->http, NULL, NULL);
    sc_test_http_server_close(f->srv);
    uv_close((uv_handle_t *)&f->watchdog, NULL);
    uv_close((uv_handle_t *)&f->timer, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    sc_test_http_server_free(f->srv);
    sc_recorder_free(f->rec);
    sc_metrics_free(f->m);
    sc_span_queue_free(f->q);
    sc_config_free(&f->cfg);
    sc_test_close_loop(&f->loop);
    sc_log_free(f->log);
    fclose(f->log_file);
    unlink(f->evidence);
}

static void on_done(void *arg, unsigned passed, unsigned failed)
{
    fx *f = arg;
    f->done_calls++;
    f->done_passed = passed;
    f->done_failed = failed;
}

static const got *result_of(const fx *f, const char *probe)
{
    for (size_t i = 0; i < f->n_res; i++)
        if (strcmp(f->res[i].probe, probe) == 0)
            return &f->res[i];
    return NULL;
}

static int is_hex(const char *s, size_t n)
{
    if (s == NULL || strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void once_sends_ids_and_credentials(void)
{
    fx f;
    const char *sets[] = {
        "probes.0.name=echo",          "probes.0.expect=parse_error", "probes.1.name=off",
        "probes.1.enabled=false",      "probes.2.name=nokey",         "probes.2.credential=missing",
        "probes.2.expect=parse_error", "probes.3.name=fake",          "probes.3.credential=invalid",
        "probes.3.expect=parse_error",
    };
    REQUIRE(setup(&f, "/echo?x=", sets, 10) == 0);
    CHECK_EQ(sc_canary_engine_probe_count(f.eng), 4);
    REQUIRE(sc_canary_engine_run_once(f.eng, on_done, &f) == 0);
    CHECK_EQ(f.done_calls, 0); /* never from inside run_once */
    CHECK_EQ(sc_canary_engine_run_once(f.eng, on_done, &f), -EBUSY);
    run_until(&f, &f.done_calls);
    CHECK_EQ(f.done_calls, 1);
    CHECK_EQ(f.done_passed, 3);
    CHECK_EQ(f.done_failed, 0);
    CHECK_EQ(f.n_res, 3);
    CHECK(result_of(&f, "off") == NULL);
    REQUIRE(sc_test_http_server_n_requests(f.srv) == 3);
    for (size_t i = 0; i < 3; i++) {
        const sc_test_http_req *r = sc_test_http_server_request(f.srv, i);
        CHECK_STR(r->method, "POST");
        CHECK_STR(r->path, "/echo?x=/chat/completions");
        const char *rid = sc_test_http_req_header(r, "x-request-id");
        const char *tp = sc_test_http_req_header(r, "traceparent");
        const char *auth = sc_test_http_req_header(r, "authorization");
        CHECK(is_hex(rid, 32));
        REQUIRE(tp != NULL && strlen(tp) == 55);
        const got *g = NULL;
        for (size_t k = 0; k < f.n_res; k++)
            if (rid != NULL && strcmp(f.res[k].rid, rid) == 0)
                g = &f.res[k];
        REQUIRE(g != NULL);
        CHECK(strncmp(tp + 3, g->trace, 32) == 0); /* the attempt span is in the run's trace */
        if (strcmp(g->probe, "echo") == 0)
            CHECK_STR(auth, "Bearer " KEY);
        else if (strcmp(g->probe, "nokey") == 0)
            CHECK(auth == NULL);
        else
            CHECK(auth != NULL && strncmp(auth, "Bearer sk-comet-sidecar-invalid-", 32) == 0);
        CHECK_STR(g->observed, "parse_error");
        CHECK_EQ(g->fallback, SC_FALLBACK_FAILED_CLOSED);
    }
    /* Spans: a run span and an attempt span (its child) per run. */
    CHECK_EQ(sc_span_queue_pending(f.q), 6);
    teardown(&f);
    /* teardown closed the engine, which flushed the evidence: one line per run. */
}

static void evidence_has_one_line_per_run(void)
{
    fx f;
    const char *sets[] = {"probes.0.name=a", "probes.1.name=b"};
    REQUIRE(setup(&f, "/status/404", sets, 2) == 0);
    REQUIRE(sc_canary_engine_run_once(f.eng, on_done, &f) == 0);
    run_until(&f, &f.done_calls);
    CHECK_EQ(f.done_failed, 2);
    sc_canary_engine_close(f.eng, on_closed, &f);
    run_until(&f, &f.closed);
    const char *ev = slurp(f.evidence);
    CHECK_EQ(count_lines(ev), 2);
    CHECK(strstr(ev, "\"probe\":\"a\"") != NULL && strstr(ev, "\"probe\":\"b\"") != NULL);
    CHECK(strstr(ev, "\"error_class\":\"invalid_request\"") != NULL);
    CHECK(strstr(ev, "\"operator_result\":\"fail\"") != NULL);
    teardown(&f);
}

static void retries_then_fallback_and_budget(void)
{
    fx f;
    /* The fallback target: the same server's /echo (a 200 that is not a chat completion). */
    const char *sets[] = {"probes.0.name=r",
                          "probes.0.retry.max_attempts=3",
                          "probes.0.retry.base_backoff=1ms",
                          "probes.0.retry.max_backoff=2ms",
                          "probes.0.fallback.target.base_url=@SERVER@/echo?fb=",
                          "probes.1.name=b",
                          "probes.1.retry.budget.percent=0",
                          "probes.1.retry.budget.min_retries=0"};
    REQUIRE(setup(&f, "/status/502", sets, 8) == 0);
    REQUIRE(sc_canary_engine_run_once(f.eng, on_done, &f) == 0);
    run_until(&f, &f.done_calls);
    const got *r = result_of(&f, "r");
    REQUIRE(r != NULL);
    CHECK_STR(r->observed, "upstream_error");
    CHECK_EQ(r->retries, 2);
    CHECK_STR(r->retry_reason, "max_attempts");
    CHECK_EQ(r->fallback, SC_FALLBACK_USED);
    CHECK_STR(r->fallback_reason, "upstream_error");
    CHECK_STR(r->fallback_observed, "parse_error");
    CHECK_EQ(r->passed, 0); /* the primary route failed; the fallback result is reported apart */
    const got *b = result_of(&f, "b");
    REQUIRE(b != NULL);
    CHECK_EQ(b->retries, 0);
    CHECK_STR(b->retry_reason, "budget_exhausted");
    CHECK_EQ(b->fallback, SC_FALLBACK_ALLOWED);
    CHECK_STR(b->fallback_observed, "");
    CHECK_EQ(sc_test_http_server_n_requests(f.srv), 5); /* 3 + fallback for r, 1 for b */
    sc_canary_engine_close(f.eng, on_closed, &f);
    run_until(&f, &f.closed);
    const char *evtxt = slurp(f.evidence);
    const char *line = strstr(evtxt, "\"probe\":\"r\"");
    REQUIRE(line != NULL);
    CHECK(strstr(line, "\"retry_decision\":\"retrying\"") != NULL);
    CHECK(strstr(line, "\"retry_decision\":\"max_attempts\"") != NULL);
    CHECK(strstr(line, "\"target\":\"fallback\"") != NULL);
    CHECK(strstr(line, "\"retry_decision\":\"fallback\"") != NULL);
    CHECK(strstr(line, "\"fallback_decision\":\"used\"") != NULL);
    CHECK(strstr(line, "\"fallback_result\":\"parse_error\"") != NULL);
    teardown(&f);
}

static void retry_after_over_the_cap(void)
{
    fx f;
    const char *sets[] = {"probes.0.name=ra", "probes.0.retry.retry_after_cap=500ms"};
    REQUIRE(setup(&f, "/status/429", sets, 2) == 0); /* 429 with Retry-After: 2 */
    REQUIRE(sc_canary_engine_run_once(f.eng, on_done, &f) == 0);
    run_until(&f, &f.done_calls);
    const got *r = result_of(&f, "ra");
    REQUIRE(r != NULL);
    CHECK_STR(r->observed, "rate_limited");
    CHECK_EQ(r->retries, 0);
    CHECK_STR(r->retry_reason, "retry_after_too_long");
    CHECK_EQ(r->fallback, SC_FALLBACK_ALLOWED);
    teardown(&f);
}

static void on_timer_check(uv_timer_t *t)
{
    fx *f = t->data;
    f->timer_action = 1;
}

static void scheduled_skips_overlaps_and_limits_concurrency(void)
{
    fx f;
    const char *sets[] = {"canary.max_concurrent_runs=1",
                          "probes.0.name=a",
                          "probes.0.interval=1s",
                          "probes.0.jitter=0%",
                          "probes.1.name=b",
                          "probes.1.interval=1s",
                          "probes.1.jitter=0%"};
    REQUIRE(setup(&f, "/hang?x=", sets, 7) == 0);
    REQUIRE(sc_canary_engine_start(f.eng) == 0);
    CHECK_EQ(sc_canary_engine_start(f.eng), -EBUSY);
    CHECK_EQ(sc_canary_engine_run_once(f.eng, on_done, &f), -EBUSY);
    uv_timer_start(&f.timer, on_timer_check, 2300, 0);
    run_until(&f, &f.timer_action);
    CHECK_EQ(sc_canary_engine_in_flight(f.eng), 1);     /* the limit */
    CHECK_EQ(sc_test_http_server_n_requests(f.srv), 1); /* b waits for a slot */
    sc_canary_stats st = sc_canary_engine_get_stats(f.eng);
    CHECK(st.skipped_overlap >= 2); /* a running, b waiting */
    CHECK_EQ(st.runs, 1);
    sc_canary_engine_stop(f.eng);
    CHECK_EQ(sc_canary_engine_in_flight(f.eng), 1); /* stop does not cancel */
    CHECK_EQ(f.n_res, 0);
    sc_canary_engine_close(f.eng, on_closed, &f);
    CHECK_EQ(f.closed, 0);
    run_until(&f, &f.closed);
    CHECK_EQ(f.n_res, 0); /* a cancelled run is not reported or recorded */
    CHECK_EQ(count_lines(slurp(f.evidence)), 0);
    teardown(&f);
}

static void on_timer_stop(uv_timer_t *t)
{
    fx *f = t->data;
    sc_canary_engine_stop(f->eng);
}

static void stop_lets_in_flight_runs_finish(void)
{
    fx f;
    const char *sets[] = {"probes.0.name=s", "probes.0.retry.max_attempts=2",
                          "probes.0.retry.base_backoff=200ms", "probes.0.retry.max_backoff=200ms"};
    REQUIRE(setup(&f, "/status/502", sets, 4) == 0);
    REQUIRE(sc_canary_engine_run_once(f.eng, on_done, &f) == 0);
    uv_timer_start(&f.timer, on_timer_stop, 5, 0);
    run_until(&f, &f.done_calls);
    CHECK_EQ(f.done_calls, 1);
    CHECK_EQ(f.done_passed, 0);
    CHECK_EQ(f.done_failed, 1);
    REQUIRE(f.n_res == 1);
    CHECK_EQ(f.res[0].retries, 1); /* the retry after stop still happened */
    CHECK_STR(f.res[0].retry_reason, "max_attempts");
    teardown(&f);
}

static void on_timer_close(uv_timer_t *t)
{
    fx *f = t->data;
    sc_canary_engine_close(f->eng, on_closed, f);
    CHECK_EQ(f->done_calls, 0);
}

static void close_cancels_and_still_reports_once(void)
{
    fx f;
    const char *sets[] = {"probes.0.name=h"};
    REQUIRE(setup(&f, "/hang?x=", sets, 1) == 0);
    REQUIRE(sc_canary_engine_run_once(f.eng, on_done, &f) == 0);
    uv_timer_start(&f.timer, on_timer_close, 50, 0);
    run_until(&f, &f.closed);
    CHECK_EQ(f.done_calls, 1);
    CHECK_EQ(f.done_failed, 1);
    CHECK_EQ(f.n_res, 0);
    teardown(&f);
}

static void misuse(void)
{
    fx f;
    REQUIRE(setup(&f, "/ok?x=", NULL, 0) == 0);
    CHECK_EQ(sc_canary_engine_run_once(f.eng, on_done, &f), -ENOENT);
    sc_canary_engine *e2;
    sc_canary_deps bad = {.env = &f.env, .cfg = &f.cfg, .recorder = f.rec};
    CHECK_EQ(sc_canary_engine_new(&e2, &bad), -EINVAL);
    CHECK(e2 == NULL);
    CHECK_EQ(sc_canary_engine_start(f.eng), 0); /* no probes: an idle engine */
    sc_canary_engine_stop(f.eng);
    sc_canary_engine_stop(f.eng);
    CHECK_EQ(sc_canary_engine_start(f.eng), -ESHUTDOWN);
    sc_canary_engine_close(NULL, NULL, NULL);
    teardown(&f);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    RUN(once_sends_ids_and_credentials);
    RUN(evidence_has_one_line_per_run);
    RUN(retries_then_fallback_and_budget);
    RUN(retry_after_over_the_cap);
    RUN(scheduled_skips_overlaps_and_limits_concurrency);
    RUN(stop_lets_in_flight_runs_finish);
    RUN(close_cancels_and_still_reports_once);
    RUN(misuse);
    curl_global_cleanup();
    return sc_test_summary();
}
