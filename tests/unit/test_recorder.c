/* test_recorder.c - tests for telemetry/recorder and telemetry/record: the exact spans (names,
 * kinds, ids, parents, status, attributes, events, tracestate) and metric series each record
 * produces, sampling, queue-full drops, and that no high-cardinality value reaches a metric. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/rng.h"
#include "harness.h"
#include "telemetry/recorder.h"

#define T0  1795375401000000000ull
#define MS  1000000ull
#define SEC 1000000000ull

#define S(lit) ((sc_attr_str){(lit), sizeof(lit) - 1})

typedef struct fx {
    sc_clock_fake clk;
    sc_rng rng;
    sc_log *log;
    FILE *log_file;
    sc_env env;
    sc_span_queue *q;
    sc_metrics *m;
    sc_instrument *inst[SC_METRIC__COUNT];
    sc_recorder *r;
    const sc_metrics_snapshot *snap;
} fx;

static int setup(fx *f, size_t cap, double ratio, uint64_t seed)
{
    memset(f, 0, sizeof *f);
    sc_clock_fake_init(&f->clk, T0);
    sc_rng_init_seeded(&f->rng, seed);
    f->log_file = tmpfile();
    if (f->log_file == NULL ||
        sc_log_new(&f->log, fileno(f->log_file), SC_LOG_INFO, &f->clk.base) != 0)
        return -1;
    f->env = (sc_env){.loop = NULL, .log = f->log, .clock = &f->clk.base, .rng = &f->rng};
    sc_span_queue_opts qo = {.capacity = cap};
    sc_metrics_opts mo = {.clock = &f->clk.base};
    sc_recorder_opts ro = {.span_sampling_ratio = ratio};
    if (sc_span_queue_new(&f->q, &qo) != 0 || sc_metrics_new(&f->m, &mo) != 0 ||
        sc_metrics_register_schema(f->m, f->inst) != 0)
        return -1;
    return sc_recorder_new(&f->r, &f->env, f->q, f->inst, &ro);
}

static void teardown(fx *f)
{
    if (f->snap)
        sc_metrics_snapshot_release(f->m);
    sc_recorder_free(f->r);
    sc_metrics_free(f->m);
    sc_span_queue_free(f->q);
    sc_log_free(f->log);
    if (f->log_file)
        fclose(f->log_file);
}

/* ---- Span helpers ---------------------------------------------------------------------------- */

static sc_span *pending(sc_span_queue *q, size_t i)
{
    sc_span *a, *b;
    size_t na, nb;
    if (sc_span_queue_peek(q, SIZE_MAX, &a, &na, &b, &nb) <= i)
        return NULL;
    return i < na ? &a[i] : &b[i - na];
}

static void drain(sc_span_queue *q)
{
    sc_span_queue_release(q, sc_span_queue_take(q, sc_span_queue_pending(q)), 1);
}

/* The attribute `key` of span s (or of its event ev when ev >= 0), rendered as text ("" when
 * absent): strings as is, ints in decimal, bools true/false, string arrays "[a,b]". */
static const char *attr_text(const sc_span *s, int ev, const char *key)
{
    static char bufs[8][512];
    static int next;
    char *out = bufs[next++ % 8];
    const sc_span_attr *tab = ev < 0 ? s->attrs : &s->event_attrs[s->events[ev].first_attr];
    size_t n = ev < 0 ? s->n_attrs : s->events[ev].n_attrs;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        sc_attr a;
        sc_attr_str items[SC_SPAN_ARRAY_MAX];
        sc_span_attr_get(s, &tab[i], &a, items);
        if (strcmp(a.key, key) != 0)
            continue;
        if (a.type == SC_ATTR_STRING)
            snprintf(out, 512, "%.*s", (int)a.v.s.len, a.v.s.ptr);
        else if (a.type == SC_ATTR_INT)
            snprintf(out, 512, "%lld", (long long)a.v.i);
        else if (a.type == SC_ATTR_BOOL)
            snprintf(out, 512, "%s", a.v.b ? "true" : "false");
        else if (a.type == SC_ATTR_DOUBLE)
            snprintf(out, 512, "%.6f", a.v.d);
        else {
            size_t o = (size_t)snprintf(out, 512, "[");
            for (size_t k = 0; k < a.v.arr.n; k++)
                o += (size_t)snprintf(out + o, 512 - o, "%s%.*s", k ? "," : "",
                                      (int)a.v.arr.items[k].len, a.v.arr.items[k].ptr);
            snprintf(out + o, 512 - o, "]");
        }
        return out;
    }
    return out;
}

#define SATTR(s, k) attr_text((s), -1, (k))

/* Checks span attributes against "k=v;k=v" (an empty v: the attribute is absent). */
static void span_has(const sc_span *s, const char *spec, int line)
{
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *save = NULL, *kv = strtok_r(buf, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(kv, '=');
        if (eq == NULL)
            continue;
        *eq = '\0';
        const char *got = SATTR(s, kv);
        if (strcmp(got, eq + 1) != 0) {
            char msg[1024];
            snprintf(msg, sizeof msg, "span attribute %s = \"%s\", want \"%s\"", kv, got, eq + 1);
            sc_test_fail(__FILE__, line, msg);
        }
    }
}
#define SPAN_HAS(s, spec) span_has((s), (spec), __LINE__)

static const char *span_name(const sc_span *s)
{
    static char buf[SC_SPAN_NAME_MAX + 1];
    snprintf(buf, sizeof buf, "%.*s", (int)s->name.len, s->arena + s->name.off);
    return buf;
}

static const char *trace_state(const sc_span *s)
{
    static char buf[SC_SPAN_TRACE_STATE_MAX + 1];
    snprintf(buf, sizeof buf, "%.*s", (int)s->trace_state.len, s->arena + s->trace_state.off);
    return buf;
}

/* ---- Metric helpers -------------------------------------------------------------------------- */

static const sc_metrics_snapshot *collect(fx *f)
{
    if (f->snap)
        sc_metrics_snapshot_release(f->m);
    f->snap = NULL;
    if (sc_metrics_collect(f->m, &f->snap) != 0)
        f->snap = NULL;
    return f->snap;
}

static const sc_metric_data *metric(const sc_metrics_snapshot *snap, const char *name)
{
    for (size_t i = 0; snap && i < snap->n_metrics; i++)
        if (strcmp(snap->metrics[i].name, name) == 0)
            return &snap->metrics[i];
    return NULL;
}

static void render(const sc_attr *a, char *out, size_t cap)
{
    if (a->type == SC_ATTR_STRING)
        snprintf(out, cap, "%s=%.*s", a->key, (int)a->v.s.len, a->v.s.ptr);
    else if (a->type == SC_ATTR_INT)
        snprintf(out, cap, "%s=%lld", a->key, (long long)a->v.i);
    else if (a->type == SC_ATTR_BOOL)
        snprintf(out, cap, "%s=%s", a->key, a->v.b ? "true" : "false");
    else
        snprintf(out, cap, "%s=?", a->key);
}

/* The point of `name` whose attribute set is exactly `spec` ("k=v;k=v", any order). */
static const sc_metric_point *point(const sc_metrics_snapshot *snap, const char *name,
                                    const char *spec)
{
    const sc_metric_data *md = metric(snap, name);
    size_t want = spec[0] ? 1 : 0;
    for (const char *p = spec; *p; p++)
        want += *p == ';';
    for (size_t i = 0; md && i < md->n_points; i++) {
        const sc_metric_point *pt = &md->points[i];
        size_t found = 0;
        if (pt->n_attrs != want)
            continue;
        for (size_t k = 0; k < pt->n_attrs; k++) {
            char kv[512];
            render(&pt->attrs[k], kv, sizeof kv);
            size_t len = strlen(kv);
            for (const char *p = spec; *p;) {
                const char *end = strchr(p, ';');
                size_t plen = end ? (size_t)(end - p) : strlen(p);
                if (plen == len && memcmp(p, kv, len) == 0)
                    found++;
                p += plen + (end ? 1 : 0);
            }
        }
        if (found == want)
            return pt;
    }
    return NULL;
}

/* point(), failing the test at `line` when there is none (then a zeroed point is returned, so
 * the caller's value checks fail rather than crash). */
static const sc_metric_point *need_point(const sc_metrics_snapshot *snap, const char *name,
                                         const char *spec, int line)
{
    static const sc_metric_point none;
    const sc_metric_point *p = point(snap, name, spec);
    if (p == NULL) {
        char msg[1024];
        snprintf(msg, sizeof msg, "no %s point {%s}", name, spec);
        sc_test_fail(__FILE__, line, msg);
        return &none;
    }
    return p;
}
#define POINT(snap, name, spec) need_point((snap), (name), (spec), __LINE__)

static size_t n_points(const sc_metrics_snapshot *snap, const char *name)
{
    const sc_metric_data *md = metric(snap, name);
    return md ? md->n_points : 0;
}

/* ---- Records --------------------------------------------------------------------------------- */

static sc_attempt_record canary_attempt(const sc_span_context *run, const sc_span_context *self)
{
    sc_attempt_record a;
    sc_record_attempt_init(&a);
    a.source = SC_SOURCE_CANARY;
    a.kind = SC_SPAN_KIND_CLIENT;
    a.source_seq = 7;
    a.span = *self;
    a.has_span = 1;
    a.parent = *run;
    a.has_parent = 1;
    a.method = S("POST");
    a.route = S("/v1/chat/completions");
    a.status_code = 200;
    a.url_scheme = S("https");
    a.server_address = S("api.cometapi.com");
    a.server_port = 443;
    a.operation = S("chat");
    a.request_model = S("gpt-4o-mini");
    a.response_model = S("gpt-4o-mini-2024-07-18");
    a.response_id = S("chatcmpl-SECRET1");
    a.finish_reasons[0] = S("stop");
    a.n_finish_reasons = 1;
    a.usage_present = 1;
    a.input_tokens = 12;
    a.output_tokens = 34;
    a.stream = 1;
    a.start_ns = T0;
    a.end_ns = T0 + 420 * MS;
    a.first_chunk_ns = 150 * MS;
    a.probe = S("chat-basic");
    a.upstream_request_id = S("req-SECRET2");
    return a;
}

static sc_attempt_record access_line(int status)
{
    sc_attempt_record a;
    sc_record_attempt_init(&a);
    a.source = SC_SOURCE_ACCESS_LOG;
    a.kind = SC_SPAN_KIND_SERVER;
    a.source_seq = 100;
    a.method = S("POST");
    a.route = S("/v1/chat/completions");
    a.status_code = status;
    a.url_scheme = S("http");
    a.operation = S("chat");
    a.request_model = S("gpt-4o");
    a.usage_present = 1;
    a.input_tokens = 5;
    a.output_tokens = 6;
    a.start_ns = T0;
    a.end_ns = T0 + 80 * MS;
    a.response_id = S("chatcmpl-SECRET3");
    a.upstream_request_id = S("req-SECRET4");
    return a;
}

/* ---- Tests ----------------------------------------------------------------------------------- */

static void canary_attempt_span_and_metrics(void)
{
    fx f;
    REQUIRE(setup(&f, 16, 1.0, 1) == 0);
    sc_span_context run, self;
    REQUIRE(sc_recorder_begin_run(f.r, &run) == 0);
    REQUIRE(sc_recorder_begin_attempt(f.r, &run, &self) == 0);
    CHECK(memcmp(self.trace_id, run.trace_id, 16) == 0);
    CHECK(memcmp(self.span_id, run.span_id, 8) != 0);
    sc_attempt_record a = canary_attempt(&run, &self);
    CHECK_EQ(sc_recorder_attempt(f.r, &a), 0);

    sc_span *s = pending(f.q, 0);
    REQUIRE(s != NULL);
    CHECK_STR(span_name(s), "POST /v1/chat/completions");
    CHECK_EQ(s->kind, SC_SPAN_KIND_CLIENT);
    CHECK(memcmp(s->trace_id, run.trace_id, 16) == 0);
    CHECK(memcmp(s->span_id, self.span_id, 8) == 0);
    CHECK(s->has_parent && !s->parent_is_remote);
    CHECK(memcmp(s->parent_span_id, run.span_id, 8) == 0);
    CHECK_EQ(s->status, SC_SPAN_STATUS_UNSET);
    CHECK_EQ(s->start_ns, T0);
    CHECK_EQ(s->end_ns, T0 + 420 * MS);
    CHECK_EQ(s->source, SC_SOURCE_CANARY);
    CHECK_EQ(s->source_seq, 7);
    CHECK_STR(trace_state(s), "");
    CHECK_EQ(s->dropped_attributes_count, 0);
    SPAN_HAS(s, "http.request.method=POST;url.template=/v1/chat/completions;http.route=;"
                "http.response.status_code=200;error.type=;http.request.resend_count=;"
                "gateway.source=canary;gateway.status_class=2xx;gateway.error_class=none;"
                "gateway.fallback.decision=not_needed;gateway.fallback.reason=;"
                "gateway.usage.present=true;gateway.stream=true;gateway.probe=chat-basic;"
                "server.address=api.cometapi.com;server.port=443;url.scheme=https;"
                "gen_ai.operation.name=chat;gen_ai.provider.name=openai;"
                "gen_ai.request.model=gpt-4o-mini;gen_ai.response.model=gpt-4o-mini-2024-07-18;"
                "gen_ai.usage.input_tokens=12;gen_ai.usage.output_tokens=34;"
                "gen_ai.response.finish_reasons=[stop];"
                "gen_ai.response.time_to_first_chunk=0.150000;"
                "gen_ai.response.id=chatcmpl-SECRET1;gateway.upstream.request_id=req-SECRET2");

    /* The traceparent the canary sends names the attempt span. */
    char tp[SC_TRACEPARENT_LEN + 1];
    uint8_t tid[16], pid[8], fl;
    CHECK_EQ(sc_record_traceparent(&self, tp), SC_TRACEPARENT_LEN);
    CHECK_EQ(sc_traceparent_parse(tp, strlen(tp), tid, pid, &fl), 0);
    CHECK(memcmp(tid, s->trace_id, 16) == 0 && memcmp(pid, s->span_id, 8) == 0);
    CHECK_EQ(fl, SC_TRACE_FLAG_SAMPLED);

    const sc_metrics_snapshot *snap = collect(&f);
    REQUIRE(snap != NULL);
    const sc_metric_point *p =
        point(snap, "gateway.requests",
              "gateway.source=canary;http.route=/v1/chat/completions;http.request.method=POST;"
              "gateway.status_class=2xx;gateway.error_class=none");
    REQUIRE(p != NULL);
    CHECK_EQ(p->as_int, 1);
    p = POINT(snap, "http.client.request.duration",
              "http.request.method=POST;server.address=api.cometapi.com;server.port=443;"
              "url.scheme=https;url.template=/v1/chat/completions;http.response.status_code=200");
    CHECK_EQ(p->count, 1);
    CHECK(fabs(p->sum - 0.42) < 1e-9);
    /* The run, not the attempt, records the GenAI operation; nothing else was measured. */
    CHECK(metric(snap, "gen_ai.client.operation.duration") == NULL);
    CHECK(metric(snap, "gen_ai.client.token.usage") == NULL);
    CHECK(metric(snap, "http.server.request.duration") == NULL);
    CHECK(metric(snap, "gateway.retries") == NULL);
    CHECK(metric(snap, "gateway.usage.missing") == NULL);
    CHECK(metric(snap, "gateway.fallbacks") == NULL);
    CHECK_EQ(snap->n_metrics, 2);
    teardown(&f);
}

static void canary_retry_then_run(void)
{
    fx f;
    REQUIRE(setup(&f, 16, 1.0, 2) == 0);
    sc_span_context run, s1, s2;
    REQUIRE(sc_recorder_begin_run(f.r, &run) == 0);
    REQUIRE(sc_recorder_begin_attempt(f.r, &run, &s1) == 0);
    REQUIRE(sc_recorder_begin_attempt(f.r, &run, &s2) == 0);

    sc_attempt_record a1 = canary_attempt(&run, &s1);
    a1.status_code = 429;
    a1.error_class = SC_ERROR_CLASS_RATE_LIMITED;
    a1.error_type = S("429");
    a1.usage_present = 0;
    a1.input_tokens = a1.output_tokens = SC_RECORD_TOKENS_UNKNOWN;
    a1.n_finish_reasons = 0;
    a1.first_chunk_ns = 0;
    a1.end_ns = T0 + 30 * MS;
    sc_attempt_record a2 = canary_attempt(&run, &s2);
    a2.resend_count = 1;
    a2.start_ns = T0 + 1 * SEC;
    a2.end_ns = T0 + 1 * SEC + 500 * MS;
    CHECK_EQ(sc_recorder_attempt(f.r, &a1), 0);
    CHECK_EQ(sc_recorder_attempt(f.r, &a2), 0);

    sc_run_record rr;
    sc_record_run_init(&rr);
    rr.source_seq = 7;
    rr.ctx = run;
    rr.probe = S("chat-basic");
    rr.passed = 1;
    rr.retries = 1;
    rr.operation = S("chat");
    rr.request_model = S("gpt-4o-mini");
    rr.response_model = S("gpt-4o-mini-2024-07-18");
    rr.response_id = S("chatcmpl-SECRET1");
    rr.usage_present = 1;
    rr.input_tokens = 12;
    rr.output_tokens = 34;
    rr.stream = 1;
    rr.first_chunk_ns = 1150 * MS;
    rr.server_address = S("api.cometapi.com");
    rr.server_port = 443;
    rr.start_ns = T0;
    rr.end_ns = T0 + 2 * SEC;
    rr.violations[0] = S("usage_consistent");
    rr.n_violations = 1;
    rr.drift_added[0] = S("choices[].logprobs");
    rr.drift_added[1] = S("service_tier");
    rr.n_drift_added = 2;
    CHECK_EQ(sc_recorder_run(f.r, &rr), 0);
    REQUIRE(sc_span_queue_pending(f.q) == 3);

    sc_span *first = pending(f.q, 0), *second = pending(f.q, 1), *rs = pending(f.q, 2);
    CHECK_EQ(first->status, SC_SPAN_STATUS_ERROR);
    SPAN_HAS(first, "error.type=429;gateway.error_class=rate_limited;gateway.status_class=4xx;"
                    "gen_ai.usage.input_tokens=");
    SPAN_HAS(second, "http.request.resend_count=1");
    CHECK_EQ(second->status, SC_SPAN_STATUS_UNSET);

    CHECK_STR(span_name(rs), "chat gpt-4o-mini");
    CHECK_EQ(rs->kind, SC_SPAN_KIND_CLIENT);
    CHECK(!rs->has_parent);
    CHECK(memcmp(rs->trace_id, run.trace_id, 16) == 0 && memcmp(rs->span_id, run.span_id, 8) == 0);
    CHECK(memcmp(first->parent_span_id, rs->span_id, 8) == 0);
    CHECK(memcmp(second->parent_span_id, rs->span_id, 8) == 0);
    CHECK_EQ(rs->status, SC_SPAN_STATUS_UNSET);
    CHECK_EQ(rs->end_ns - rs->start_ns, 2 * SEC);
    CHECK_EQ(rs->source, SC_SOURCE_CANARY);
    CHECK_EQ(rs->dropped_attributes_count, 0);
    SPAN_HAS(rs, "gateway.outcome=pass;gateway.probe=chat-basic;gateway.probe.expected=none;"
                 "gateway.retry.count=1;gateway.error_class=none;error.type=;"
                 "gen_ai.operation.name=chat;gen_ai.provider.name=openai;"
                 "gen_ai.usage.output_tokens=34;"
                 "gateway.contract.failed_checks=[usage_consistent];"
                 "gen_ai.response.id=chatcmpl-SECRET1");
    REQUIRE(rs->n_events == 1);
    CHECK_EQ(rs->events[0].time_ns, T0 + 2 * SEC);
    CHECK(rs->events[0].name.len == strlen("gateway.shape_drift") &&
          memcmp(rs->arena + rs->events[0].name.off, "gateway.shape_drift",
                 rs->events[0].name.len) == 0);
    CHECK_STR(attr_text(rs, 0, "gateway.shape.added"), "[choices[].logprobs,service_tier]");
    CHECK_STR(attr_text(rs, 0, "gateway.shape.missing"), "");

    const sc_metrics_snapshot *snap = collect(&f);
    REQUIRE(snap != NULL);
    const char *route = "gateway.source=canary;http.route=/v1/chat/completions;";
    char spec[512];
    snprintf(spec, sizeof spec,
             "%shttp.request.method=POST;gateway.status_class=4xx;"
             "gateway.error_class=rate_limited",
             route);
    CHECK(point(snap, "gateway.requests", spec) != NULL);
    snprintf(spec, sizeof spec, "%shttp.request.resend_count=1", route);
    const sc_metric_point *p = POINT(snap, "gateway.retries", spec);
    CHECK_EQ(p->as_int, 1);
    CHECK_EQ(n_points(snap, "gateway.retries"), 1);
    p = POINT(snap, "http.client.request.duration",
              "http.request.method=POST;server.address=api.cometapi.com;server.port=443;"
              "url.scheme=https;url.template=/v1/chat/completions;http.response.status_code=429;"
              "error.type=429");
    CHECK_EQ(p->count, 1);

    p = POINT(snap, "gateway.canary.runs",
              "gateway.probe=chat-basic;gateway.outcome=pass;gateway.error_class=none");
    CHECK_EQ(p->as_int, 1);
    p = POINT(snap, "gateway.canary.last_success", "gateway.probe=chat-basic");
    CHECK(fabs(p->as_double - (double)(T0 + 2 * SEC) / 1e9) < 1e-3);
    p = POINT(snap, "gateway.contract.violations",
              "gateway.probe=chat-basic;gateway.contract.check=usage_consistent");
    CHECK_EQ(p->as_int, 1);

    const char *g = "gen_ai.operation.name=chat;gen_ai.provider.name=openai;gateway.source=canary;"
                    "gen_ai.request.model=gpt-4o-mini;gen_ai.response.model=gpt-4o-mini-2024-07-18;"
                    "server.address=api.cometapi.com;server.port=443";
    p = POINT(snap, "gen_ai.client.operation.duration", g);
    CHECK_EQ(p->count, 1);
    CHECK(fabs(p->sum - 2.0) < 1e-9); /* the whole operation, retries included */
    p = POINT(snap, "gen_ai.client.operation.time_to_first_chunk", g);
    CHECK(fabs(p->sum - 1.15) < 1e-9);
    snprintf(spec, sizeof spec, "%s;gen_ai.token.type=input", g);
    p = POINT(snap, "gen_ai.client.token.usage", spec);
    CHECK(p->count == 1 && p->sum == 12);
    snprintf(spec, sizeof spec, "%s;gen_ai.token.type=output", g);
    p = POINT(snap, "gen_ai.client.token.usage", spec);
    CHECK(p->count == 1 && p->sum == 34);
    CHECK_EQ(n_points(snap, "gen_ai.client.token.usage"), 2);
    teardown(&f);
}

static void canary_run_failure(void)
{
    fx f;
    REQUIRE(setup(&f, 16, 1.0, 3) == 0);
    sc_run_record rr;
    sc_record_run_init(&rr);
    REQUIRE(sc_recorder_begin_run(f.r, &rr.ctx) == 0);
    rr.probe = S("chat-basic");
    rr.passed = 0;
    rr.error_class = SC_ERROR_CLASS_TIMEOUT;
    rr.operation = S("chat");
    rr.start_ns = T0;
    rr.end_ns = T0 + 30 * SEC;
    rr.fallback = SC_FALLBACK_FAILED_CLOSED;
    rr.fallback_reason = S("timeout");
    CHECK_EQ(sc_recorder_run(f.r, &rr), 0);
    sc_span *s = pending(f.q, 0);
    REQUIRE(s != NULL);
    CHECK_STR(span_name(s), "chat"); /* no model known: the operation alone */
    CHECK_EQ(s->status, SC_SPAN_STATUS_ERROR);
    SPAN_HAS(s, "error.type=timeout;gateway.outcome=fail;"
                "gateway.fallback.decision=failed_closed;gateway.fallback.reason=timeout;"
                "gen_ai.request.model=");
    CHECK_EQ(s->n_events, 0);

    /* A probe that expects an error and gets it passes, and its span is not an error. */
    sc_run_record neg = rr;
    REQUIRE(sc_recorder_begin_run(f.r, &neg.ctx) == 0);
    neg.probe = S("bad-key");
    neg.passed = 1;
    neg.expected = SC_ERROR_CLASS_AUTH_ERROR;
    neg.error_class = SC_ERROR_CLASS_AUTH_ERROR;
    neg.error_type = S("401");
    neg.fallback = SC_FALLBACK_NOT_NEEDED;
    CHECK_EQ(sc_recorder_run(f.r, &neg), 0);
    s = pending(f.q, 1);
    REQUIRE(s != NULL);
    CHECK_EQ(s->status, SC_SPAN_STATUS_UNSET);
    SPAN_HAS(s, "error.type=401;gateway.probe.expected=auth_error");

    const sc_metrics_snapshot *snap = collect(&f);
    REQUIRE(snap != NULL);
    CHECK(point(snap, "gateway.canary.runs",
                "gateway.probe=chat-basic;gateway.outcome=fail;gateway.error_class=timeout") !=
          NULL);
    CHECK(point(snap, "gateway.canary.runs",
                "gateway.probe=bad-key;gateway.outcome=pass;gateway.error_class=auth_error") !=
          NULL);
    CHECK(point(snap, "gateway.canary.last_success", "gateway.probe=chat-basic") == NULL);
    CHECK(point(snap, "gateway.canary.last_success", "gateway.probe=bad-key") != NULL);
    CHECK(point(snap, "gen_ai.client.operation.duration",
                "gen_ai.operation.name=chat;gen_ai.provider.name=openai;gateway.source=canary;"
                "error.type=timeout") != NULL);
    CHECK(metric(snap, "gen_ai.client.token.usage") == NULL); /* no usage known */
    CHECK(metric(snap, "gen_ai.client.operation.time_to_first_chunk") == NULL);
    CHECK(metric(snap, "gateway.fallbacks") == NULL); /* run fallback fields are span-only */
    teardown(&f);
}

static void accesslog_joins_app_trace(void)
{
    fx f;
    REQUIRE(setup(&f, 16, 1.0, 4) == 0);
    const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    sc_attempt_record a = access_line(200);
    REQUIRE(sc_traceparent_parse(tp, strlen(tp), a.parent.trace_id, a.parent.span_id,
                                 &a.parent.trace_flags) == 0);
    a.has_parent = 1;
    a.parent_is_remote = 1;
    a.stream = 1;
    a.first_chunk_ns = 20 * MS;
    CHECK_EQ(sc_recorder_attempt(f.r, &a), 0);
    sc_span *s = pending(f.q, 0);
    REQUIRE(s != NULL);
    CHECK_STR(span_name(s), "POST /v1/chat/completions");
    CHECK_EQ(s->kind, SC_SPAN_KIND_SERVER);
    CHECK(memcmp(s->trace_id, a.parent.trace_id, 16) == 0);
    CHECK(memcmp(s->parent_span_id, a.parent.span_id, 8) == 0);
    CHECK(memcmp(s->span_id, a.parent.span_id, 8) != 0);
    CHECK(s->has_parent && s->parent_is_remote);
    CHECK_EQ(s->trace_flags, 1);
    CHECK_EQ(s->source, SC_SOURCE_ACCESS_LOG);
    CHECK_EQ(s->source_seq, 100);
    SPAN_HAS(s, "http.route=/v1/chat/completions;url.template=;gateway.source=access_log;"
                "gateway.probe=");

    /* Without a traceparent the line starts its own trace. */
    sc_attempt_record b = access_line(200);
    CHECK_EQ(sc_recorder_attempt(f.r, &b), 0);
    s = pending(f.q, 1);
    REQUIRE(s != NULL);
    CHECK(!s->has_parent);
    CHECK(memcmp(s->trace_id, a.parent.trace_id, 16) != 0);

    const sc_metrics_snapshot *snap = collect(&f);
    REQUIRE(snap != NULL);
    const sc_metric_point *p =
        point(snap, "http.server.request.duration",
              "http.request.method=POST;url.scheme=http;http.route=/v1/chat/completions;"
              "http.response.status_code=200");
    REQUIRE(p != NULL);
    CHECK_EQ(p->count, 2);
    CHECK(metric(snap, "http.client.request.duration") == NULL);
    const char *g = "gen_ai.operation.name=chat;gen_ai.provider.name=openai;"
                    "gateway.source=access_log;gen_ai.request.model=gpt-4o";
    p = POINT(snap, "gen_ai.client.operation.duration", g);
    CHECK_EQ(p->count, 2);
    p = POINT(snap, "gen_ai.client.operation.time_to_first_chunk", g);
    CHECK_EQ(p->count, 1); /* streaming line only */
    CHECK_EQ(n_points(snap, "gen_ai.client.token.usage"), 2);
    p = POINT(snap, "gateway.requests",
              "gateway.source=access_log;http.route=/v1/chat/completions;http.request.method=POST;"
              "gateway.status_class=2xx;gateway.error_class=none");
    CHECK_EQ(p->as_int, 2);
    teardown(&f);
}

static void normalisation_and_conditional_metrics(void)
{
    fx f;
    REQUIRE(setup(&f, 16, 1.0, 5) == 0);
    sc_attempt_record a = access_line(0);
    a.method = S("PROPFIND");
    a.route = S("/x");
    a.operation = (sc_attr_str){NULL, 0};
    a.error_type = S("Connection refused: 10.0.0.1");
    a.error_class = SC_ERROR_CLASS_NETWORK_ERROR;
    a.url_scheme = S("HTTPS");
    a.usage_present = 0;
    CHECK_EQ(sc_recorder_attempt(f.r, &a), 0);
    sc_span *s = pending(f.q, 0);
    REQUIRE(s != NULL);
    CHECK_STR(span_name(s), "HTTP /x");
    SPAN_HAS(s, "http.request.method=_OTHER;http.request.method_original=PROPFIND;"
                "error.type=_OTHER;url.scheme=https;gateway.status_class=network_error;"
                "http.response.status_code=;gen_ai.operation.name=");
    CHECK_EQ(s->status, SC_SPAN_STATUS_ERROR);

    sc_attempt_record b = access_line(504);
    b.error_class = SC_ERROR_CLASS_TIMEOUT; /* no error_type: the class names it */
    b.fallback = SC_FALLBACK_USED;
    b.fallback_reason = S("timeout");
    b.operation = S("weird_op");
    b.provider = S("Open AI!");
    CHECK_EQ(sc_recorder_attempt(f.r, &b), 0);
    s = pending(f.q, 1);
    REQUIRE(s != NULL);
    SPAN_HAS(s, "error.type=timeout;gateway.fallback.reason=timeout;"
                "gen_ai.operation.name=_OTHER;gen_ai.provider.name=_OTHER");

    sc_attempt_record c = access_line(200);
    c.fallback = SC_FALLBACK_ALLOWED;
    c.fallback_reason = S("because");
    c.usage_present = 0;
    c.input_tokens = c.output_tokens = SC_RECORD_TOKENS_UNKNOWN;
    CHECK_EQ(sc_recorder_attempt(f.r, &c), 0);
    sc_attempt_record d = access_line(200); /* failed_closed is not a fallback taken */
    d.fallback = SC_FALLBACK_FAILED_CLOSED;
    d.fallback_reason = S("rate_limited");
    CHECK_EQ(sc_recorder_attempt(f.r, &d), 0);
    sc_attempt_record e = access_line(200); /* not a GenAI operation: usage not expected */
    e.operation = (sc_attr_str){NULL, 0};
    e.usage_present = 0;
    e.route = S("/v1/models");
    e.method = S("GET");
    CHECK_EQ(sc_recorder_attempt(f.r, &e), 0);

    const sc_metrics_snapshot *snap = collect(&f);
    REQUIRE(snap != NULL);
    CHECK(point(snap, "http.server.request.duration",
                "http.request.method=_OTHER;url.scheme=https;http.route=/x;error.type=_OTHER") !=
          NULL);
    CHECK(point(snap, "gateway.requests",
                "gateway.source=access_log;http.route=/x;http.request.method=_OTHER;"
                "gateway.status_class=network_error;gateway.error_class=network_error") != NULL);
    CHECK(point(snap, "gateway.fallbacks",
                "gateway.source=access_log;gateway.fallback.decision=used;"
                "gateway.fallback.reason=timeout") != NULL);
    CHECK(point(snap, "gateway.fallbacks",
                "gateway.source=access_log;gateway.fallback.decision=allowed;"
                "gateway.fallback.reason=_OTHER") != NULL);
    CHECK_EQ(n_points(snap, "gateway.fallbacks"), 2);
    const sc_metric_point *p = POINT(snap, "gateway.usage.missing",
                                     "gateway.source=access_log;http.route=/v1/chat/completions");
    CHECK_EQ(p->as_int, 1); /* only c: a failed line and a non-GenAI route do not count */
    CHECK_EQ(n_points(snap, "gateway.usage.missing"), 1);
    CHECK(point(snap, "gen_ai.client.operation.duration",
                "gen_ai.operation.name=_OTHER;gen_ai.provider.name=_OTHER;"
                "gateway.source=access_log;gen_ai.request.model=gpt-4o;error.type=timeout") !=
          NULL);
    teardown(&f);
}

/* Records `n` plain-success access-log lines; returns how many spans were kept and checks each
 * kept span's tracestate against the threshold. */
static size_t record_plain(fx *f, size_t n, uint64_t *digest)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        sc_attempt_record a = access_line(200);
        a.source_seq = i;
        int rc = sc_recorder_attempt(f->r, &a);
        CHECK(rc == 0 || rc == SC_RECORDER_SAMPLED_OUT);
        if (rc != 0)
            continue;
        kept++;
        *digest = *digest * 31 + i;
        sc_span *s = pending(f->q, 0);
        unsigned long long rv = 0;
        char th[8] = "";
        const char *ts = trace_state(s);
        CHECK(strlen(ts) == strlen("ot=rv:00000000000000;th:c"));
        CHECK(sscanf(ts, "ot=rv:%14llx;th:%7s", &rv, th) == 2);
        CHECK_STR(th, "c");
        CHECK(rv >= 0xc0000000000000ull && rv < (1ull << 56));
        drain(f->q);
    }
    return kept;
}

static void sampling_keeps_errors_and_a_share_of_successes(void)
{
    fx f, g;
    REQUIRE(setup(&f, 64, 0.25, 42) == 0);
    uint64_t d1 = 0, d2 = 0;
    size_t kept = record_plain(&f, 4000, &d1);
    CHECK(kept >= 880 && kept <= 1120);

    /* Every non-plain-success line is kept, marked as sampled with probability 1. */
    sc_attempt_record v[5];
    for (int i = 0; i < 5; i++)
        v[i] = access_line(200);
    v[0].status_code = 500;
    v[0].error_class = SC_ERROR_CLASS_UPSTREAM_ERROR;
    v[1].resend_count = 2;
    v[2].fallback = SC_FALLBACK_USED;
    v[3].usage_present = 0;
    v[4].force_sample = 1;
    for (int i = 0; i < 5; i++) {
        for (int rep = 0; rep < 20; rep++)
            CHECK_EQ(sc_recorder_attempt(f.r, &v[i]), 0);
        sc_span *s = pending(f.q, 0);
        REQUIRE(s != NULL);
        CHECK_STR(trace_state(s), "ot=th:0");
        drain(f.q);
    }
    /* Canary spans are never sampled and carry no tracestate. */
    sc_span_context run, self;
    REQUIRE(sc_recorder_begin_run(f.r, &run) == 0);
    REQUIRE(sc_recorder_begin_attempt(f.r, &run, &self) == 0);
    sc_attempt_record ca = canary_attempt(&run, &self);
    CHECK_EQ(sc_recorder_attempt(f.r, &ca), 0);
    CHECK_STR(trace_state(pending(f.q, 0)), "");
    drain(f.q);

    sc_recorder_stats st = sc_recorder_get_stats(f.r);
    CHECK_EQ(st.spans_sampled_out, 4000 - kept);
    CHECK_EQ(st.spans_recorded, kept + 100 + 1);
    /* Metrics are never sampled. */
    const sc_metrics_snapshot *snap = collect(&f);
    REQUIRE(snap != NULL);
    const sc_metric_point *p =
        point(snap, "gateway.requests",
              "gateway.source=access_log;http.route=/v1/chat/completions;http.request.method=POST;"
              "gateway.status_class=2xx;gateway.error_class=none");
    REQUIRE(p != NULL);
    CHECK_EQ(p->as_int, 4000 + 80);

    /* Same seed, same decisions. */
    REQUIRE(setup(&g, 64, 0.25, 42) == 0);
    CHECK_EQ(record_plain(&g, 4000, &d2), kept);
    CHECK_EQ(d1, d2);
    teardown(&g);
    teardown(&f);

    /* Ratio 0 keeps no plain success; ratio 1 keeps all without tracestate. */
    REQUIRE(setup(&f, 8, 0.0, 7) == 0);
    sc_attempt_record a = access_line(200);
    for (int i = 0; i < 100; i++)
        CHECK_EQ(sc_recorder_attempt(f.r, &a), SC_RECORDER_SAMPLED_OUT);
    a.status_code = 503;
    a.error_class = SC_ERROR_CLASS_UPSTREAM_ERROR;
    CHECK_EQ(sc_recorder_attempt(f.r, &a), 0);
    CHECK_STR(trace_state(pending(f.q, 0)), "ot=th:0");
    teardown(&f);
}

static void sampling_threshold_encoding(void)
{
    char th[SC_RECORD_TH_LEN];
    CHECK_EQ(sc_record_sampling_threshold(0.25, th), 0xc0000000000000ull);
    CHECK_STR(th, "c");
    CHECK_EQ(sc_record_sampling_threshold(0.5, th), 0x80000000000000ull);
    CHECK_STR(th, "8");
    CHECK_EQ(sc_record_sampling_threshold(1.0, th), 0);
    CHECK_STR(th, "0");
    CHECK_EQ(sc_record_sampling_threshold(0.0, th), 1ull << 56);
    CHECK_STR(th, "");
    uint64_t t = sc_record_sampling_threshold(0.1, th);
    CHECK(t > 0xe6666666666600ull && t < 0xe6666666666700ull);
    CHECK_EQ(strtoull(th, NULL, 16) << (4 * (14 - strlen(th))), t);
    CHECK(sc_record_sampling_threshold(1e-30, th) == (1ull << 56) - 1);
}

static size_t count_log_lines(FILE *fp, const char *needle)
{
    char line[4096];
    size_t n = 0;
    fflush(fp);
    rewind(fp);
    while (fgets(line, sizeof line, fp))
        n += strstr(line, needle) != NULL;
    return n;
}

static void queue_full_drops_and_counts(void)
{
    fx f;
    REQUIRE(setup(&f, 2, 1.0, 8) == 0);
    sc_attempt_record a = access_line(200);
    CHECK_EQ(sc_recorder_attempt(f.r, &a), 0);
    CHECK_EQ(sc_recorder_attempt(f.r, &a), 0);
    CHECK_EQ(sc_recorder_attempt(f.r, &a), -ENOBUFS);
    CHECK_EQ(sc_recorder_attempt(f.r, &a), -ENOBUFS);
    sc_run_record rr;
    sc_record_run_init(&rr);
    REQUIRE(sc_recorder_begin_run(f.r, &rr.ctx) == 0);
    rr.probe = S("p");
    rr.operation = S("chat");
    rr.passed = 1;
    CHECK_EQ(sc_recorder_run(f.r, &rr), -ENOBUFS);
    CHECK_EQ(count_log_lines(f.log_file, "span queue full"), 1); /* once per episode */

    const sc_metrics_snapshot *snap = collect(&f);
    REQUIRE(snap != NULL);
    const sc_metric_point *p = POINT(snap, "sidecar.telemetry.dropped", "error.type=queue_full");
    CHECK_EQ(p->as_int, 3);
    p = POINT(snap, "gateway.requests",
              "gateway.source=access_log;http.route=/v1/chat/completions;http.request.method=POST;"
              "gateway.status_class=2xx;gateway.error_class=none");
    CHECK_EQ(p->as_int, 4); /* metrics survive a full queue */
    CHECK(point(snap, "gateway.canary.runs",
                "gateway.probe=p;gateway.outcome=pass;gateway.error_class=none") != NULL);
    sc_recorder_stats st = sc_recorder_get_stats(f.r);
    CHECK_EQ(st.spans_dropped, 3);
    CHECK_EQ(st.spans_recorded, 2);

    drain(f.q);
    CHECK_EQ(sc_recorder_attempt(f.r, &a), 0);
    CHECK_EQ(sc_recorder_attempt(f.r, &a), 0);
    CHECK_EQ(sc_recorder_attempt(f.r, &a), -ENOBUFS);
    CHECK_EQ(count_log_lines(f.log_file, "span queue full"), 2); /* a new episode */
    teardown(&f);
}

static void no_high_cardinality_on_metrics(void)
{
    fx f;
    REQUIRE(setup(&f, 64, 1.0, 9) == 0);
    sc_span_context run, self;
    REQUIRE(sc_recorder_begin_run(f.r, &run) == 0);
    REQUIRE(sc_recorder_begin_attempt(f.r, &run, &self) == 0);
    sc_attempt_record a = canary_attempt(&run, &self);
    a.method = S("SECRETMETHOD");
    CHECK_EQ(sc_recorder_attempt(f.r, &a), 0);
    sc_attempt_record b = access_line(500);
    b.error_class = SC_ERROR_CLASS_UPSTREAM_ERROR;
    b.resend_count = 1;
    b.fallback = SC_FALLBACK_USED;
    CHECK_EQ(sc_recorder_attempt(f.r, &b), 0);
    sc_run_record rr;
    sc_record_run_init(&rr);
    rr.ctx = run;
    rr.probe = S("chat-basic");
    rr.operation = S("chat");
    rr.response_id = S("chatcmpl-SECRET5");
    rr.input_tokens = 77777;
    rr.violations[0] = S("id_present");
    rr.n_violations = 1;
    rr.drift_missing[0] = S("SECRETFIELD");
    rr.n_drift_missing = 1;
    rr.end_ns = 1;
    CHECK_EQ(sc_recorder_run(f.r, &rr), 0);

    static const char *const span_only[] = {"gateway.upstream.request_id",
                                            "gen_ai.response.id",
                                            "gen_ai.usage.input_tokens",
                                            "gen_ai.usage.output_tokens",
                                            "http.request.method_original",
                                            "gateway.shape.added",
                                            "gateway.shape.missing",
                                            "gateway.contract.failed_checks",
                                            "gateway.probe.expected",
                                            "gen_ai.response.finish_reasons",
                                            "gen_ai.response.time_to_first_chunk",
                                            "gateway.upstream.request_id",
                                            "gateway.retry.count"};
    const sc_metrics_snapshot *snap = collect(&f);
    REQUIRE(snap != NULL);
    CHECK(snap->n_points > 10);
    for (size_t i = 0; i < snap->n_metrics; i++) {
        const sc_metric_data *md = &snap->metrics[i];
        for (size_t k = 0; k < md->n_points; k++) {
            for (size_t j = 0; j < md->points[k].n_attrs; j++) {
                const sc_attr *at = &md->points[k].attrs[j];
                char kv[512];
                render(at, kv, sizeof kv);
                CHECK(strstr(kv, "SECRET") == NULL);
                CHECK(strstr(kv, "77777") == NULL);
                for (size_t x = 0; x < sizeof span_only / sizeof *span_only; x++)
                    CHECK(strcmp(at->key, span_only[x]) != 0);
                CHECK(md->points[k].n_attrs <= 8);
            }
        }
    }
    teardown(&f);
}

static void invalid_records_record_nothing(void)
{
    fx f;
    REQUIRE(setup(&f, 8, 1.0, 10) == 0);
    sc_attempt_record a = access_line(200);
    a.source = SC_SOURCE_NONE;
    CHECK_EQ(sc_recorder_attempt(f.r, &a), -EINVAL);
    a = access_line(200);
    a.kind = SC_SPAN_KIND_INTERNAL;
    CHECK_EQ(sc_recorder_attempt(f.r, &a), -EINVAL);
    a = access_line(200);
    a.start_ns = a.end_ns + 1;
    CHECK_EQ(sc_recorder_attempt(f.r, &a), -EINVAL);
    sc_span_context run, other, self;
    REQUIRE(sc_recorder_begin_run(f.r, &run) == 0);
    REQUIRE(sc_recorder_begin_run(f.r, &other) == 0);
    REQUIRE(sc_recorder_begin_attempt(f.r, &other, &self) == 0);
    a = canary_attempt(&run, &self); /* own ids from another trace than its parent */
    CHECK_EQ(sc_recorder_attempt(f.r, &a), -EINVAL);

    sc_run_record rr;
    sc_record_run_init(&rr);
    rr.operation = S("chat");
    CHECK_EQ(sc_recorder_run(f.r, &rr), -EINVAL); /* zero ids */
    rr.ctx = run;
    rr.operation = (sc_attr_str){NULL, 0};
    CHECK_EQ(sc_recorder_run(f.r, &rr), -EINVAL);

    CHECK_EQ(sc_span_queue_pending(f.q), 0);
    const sc_metrics_snapshot *snap = collect(&f);
    REQUIRE(snap != NULL);
    CHECK_EQ(snap->n_points, 0);
    CHECK_EQ(sc_recorder_get_stats(f.r).records_invalid, 6);
    teardown(&f);
}

static void recorder_new_validates(void)
{
    fx f;
    REQUIRE(setup(&f, 8, 1.0, 11) == 0);
    sc_recorder *r = (sc_recorder *)&f; /* must be reset to NULL on failure */
    sc_recorder_opts bad = {.span_sampling_ratio = 1.5};
    CHECK_EQ(sc_recorder_new(&r, &f.env, f.q, f.inst, &bad), -EINVAL);
    CHECK(r == NULL);
    bad.span_sampling_ratio = NAN;
    CHECK_EQ(sc_recorder_new(&r, &f.env, f.q, f.inst, &bad), -EINVAL);
    bad.span_sampling_ratio = -0.1;
    CHECK_EQ(sc_recorder_new(&r, &f.env, f.q, f.inst, &bad), -EINVAL);
    sc_instrument *missing[SC_METRIC__COUNT];
    memcpy(missing, f.inst, sizeof missing);
    missing[SC_METRIC_GATEWAY_RETRIES] = NULL;
    CHECK_EQ(sc_recorder_new(&r, &f.env, f.q, missing, NULL), -EINVAL);
    CHECK_EQ(sc_recorder_new(&r, &f.env, NULL, f.inst, NULL), -EINVAL);
    CHECK_EQ(sc_recorder_new(&r, &f.env, f.q, f.inst, NULL), 0); /* NULL opts: ratio 1 */
    sc_recorder_free(r);
    sc_recorder_free(NULL);
    teardown(&f);
}

static void record_helpers(void)
{
    sc_attr_str v = sc_record_error_type(S("429"), SC_ERROR_CLASS_RATE_LIMITED);
    CHECK(v.len == 3 && memcmp(v.ptr, "429", 3) == 0);
    v = sc_record_error_type(S("tls_handshake"), SC_ERROR_CLASS_NETWORK_ERROR);
    CHECK(v.len == 13);
    v = sc_record_error_type(S("600"), SC_ERROR_CLASS_NONE);
    CHECK(v.len == 6 && memcmp(v.ptr, "_OTHER", 6) == 0);
    v = sc_record_error_type(S("Timeout"), SC_ERROR_CLASS_NONE);
    CHECK(v.len == 6 && memcmp(v.ptr, "_OTHER", 6) == 0);
    v = sc_record_error_type((sc_attr_str){NULL, 0}, SC_ERROR_CLASS_PARSE_ERROR);
    CHECK(v.len == 11 && memcmp(v.ptr, "parse_error", 11) == 0);
    v = sc_record_error_type((sc_attr_str){NULL, 0}, SC_ERROR_CLASS_NONE);
    CHECK(v.len == 0);
    v = sc_record_bounded_token(S("chat-basic.v2_EU"));
    CHECK(v.len == 16);
    v = sc_record_bounded_token(S("has space"));
    CHECK(v.len == 6 && memcmp(v.ptr, "_OTHER", 6) == 0);
    v = sc_record_bounded_token((sc_attr_str){NULL, 0});
    CHECK(v.len == 6);

    sc_attempt_record a;
    sc_record_attempt_init(&a);
    CHECK_EQ(a.input_tokens, -1);
    CHECK_EQ(a.output_tokens, -1);
    a.status_code = 200;
    CHECK(sc_record_attempt_plain_success(&a)); /* no operation: usage not expected */
    a.operation = S("chat");
    CHECK(!sc_record_attempt_plain_success(&a));
    CHECK(sc_record_attempt_usage_missing(&a));
    a.usage_present = 1;
    CHECK(sc_record_attempt_plain_success(&a));
    a.error_type = S("stream_interrupted"); /* a 200 can still fail */
    CHECK(sc_record_attempt_failed(&a));
    CHECK(!sc_record_attempt_plain_success(&a));
    sc_run_record rr;
    sc_record_run_init(&rr);
    CHECK_EQ(rr.input_tokens, -1);
    CHECK_EQ(rr.n_violations, 0);
}

int main(void)
{
    RUN(canary_attempt_span_and_metrics);
    RUN(canary_retry_then_run);
    RUN(canary_run_failure);
    RUN(accesslog_joins_app_trace);
    RUN(normalisation_and_conditional_metrics);
    RUN(sampling_keeps_errors_and_a_share_of_successes);
    RUN(sampling_threshold_encoding);
    RUN(queue_full_drops_and_counts);
    RUN(no_high_cardinality_on_metrics);
    RUN(invalid_records_record_nothing);
    RUN(recorder_new_validates);
    RUN(record_helpers);
    return sc_test_summary();
}
