/* canary_driver.c - owns: a test-only program that runs the canary engine over a config file the
 * way the daemon will (key source, HTTP client, span queue, metrics, recorder, engine) and prints
 * what happened as JSON lines on stdout, for tests/integration/test_canary_*.py:
 *   {"type":"result",...}   one per run (sc_canary_result)
 *   {"type":"done","passed":N,"failed":N}   --once: the engine's done callback
 *   {"type":"span",...}     every span the recorder queued (name, ids, kind, status, attributes,
 *                           events)
 *   {"type":"metric",...}   every metric point (counters: value; histograms: count; gauges: value)
 *   {"type":"stats",...}    engine statistics after close
 * Logs (JSON) go to stderr with the key registered as a secret.
 *
 *   canary_driver --config F [--set K=V]... [--evidence PATH] [--scheduled MS]
 *   canary_driver support-packet --config F [--set K=V]... --evidence PATH --out DIR [--since S]
 * --scheduled MS: scheduled mode for MS milliseconds, then stop, drain and close. Exit status: 0
 * when every run passed, 1 otherwise, 2 on a usage/config error, 3 on a runtime error. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "canary/engine.h"
#include "canary/support_packet.h"
#include "config/keyfile.h"
#include "core/jsonw.h"
#include "telemetry/recorder.h"

#define MAX_SETS 32

typedef struct driver {
    uv_loop_t loop;
    sc_env env;
    sc_rng rng;
    sc_log *log;
    sc_config cfg;
    sc_keyfile *keys;
    sc_http_client *http;
    sc_span_queue *q;
    sc_metrics *m;
    sc_instrument *inst[SC_METRIC__COUNT];
    sc_recorder *rec;
    sc_canary_engine *eng;
    uv_timer_t stop_timer, watchdog;
    unsigned passed, failed;
    int stopping; /* 1: stop requested, waiting for runs; 2: engine closing */
    int scheduled_exit;
    int exit_code;
    sc_canary_stats stats; /* taken when the engine starts closing */
} driver;

static void out_line(sc_buf *b)
{
    sc_buf_append_str(b, "\n");
    fwrite(b->data, 1, b->len, stdout);
    fflush(stdout);
    sc_buf_reset(b);
}

static void kv_str(sc_buf *b, const char *k, const char *v, int first)
{
    sc_buf_append_str(b, first ? "\"" : ",\"");
    sc_buf_append_str(b, k);
    sc_buf_append_str(b, "\":");
    sc_jsonw_cstr(b, v);
}

static void kv_num(sc_buf *b, const char *k, double v)
{
    sc_buf_append_str(b, ",\"");
    sc_buf_append_str(b, k);
    sc_buf_append_str(b, "\":");
    if (v > -9e15 && v < 9e15 && v == (double)(int64_t)v)
        sc_jsonw_i64(b, (int64_t)v);
    else
        sc_jsonw_double(b, v);
}

static void kv_u64(sc_buf *b, const char *k, uint64_t v)
{
    sc_buf_append_str(b, ",\"");
    sc_buf_append_str(b, k);
    sc_buf_append_str(b, "\":");
    sc_jsonw_u64(b, v);
}

static void kv_list(sc_buf *b, const char *k, const char *const *v, size_t n)
{
    sc_buf_append_str(b, ",\"");
    sc_buf_append_str(b, k);
    sc_buf_append_str(b, "\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            sc_buf_append_str(b, ",");
        sc_jsonw_cstr(b, v[i]);
    }
    sc_buf_append_str(b, "]");
}

static void engine_closed(void *arg);

static void shutdown_engine(driver *d)
{
    if (d->eng != NULL && d->stopping != 2) {
        d->stopping = 2;
        d->stats = sc_canary_engine_get_stats(d->eng);
        sc_canary_engine_close(d->eng, engine_closed, d);
    }
}

static void on_result(const sc_canary_result *r, void *arg)
{
    driver *d = arg;
    sc_buf b;
    sc_buf_init(&b, 1 << 16);
    sc_buf_append_str(&b, "{");
    kv_str(&b, "type", "result", 1);
    kv_str(&b, "probe", r->probe, 0);
    kv_str(&b, "endpoint", r->endpoint, 0);
    kv_str(&b, "model", r->model, 0);
    kv_num(&b, "stream", r->stream);
    kv_str(&b, "expected", r->expected, 0);
    kv_str(&b, "observed", r->observed, 0);
    kv_num(&b, "passed", r->passed);
    kv_str(&b, "verdict", r->verdict, 0);
    kv_num(&b, "attempts", r->attempts);
    kv_num(&b, "retries", r->retries);
    kv_str(&b, "retry_reason", r->retry_reason, 0);
    kv_str(&b, "fallback", sc_schema_fallback_decision_name(r->fallback), 0);
    kv_str(&b, "fallback_reason", r->fallback_reason, 0);
    kv_str(&b, "fallback_observed", r->fallback_observed, 0);
    kv_num(&b, "http_status", (double)r->http_status);
    kv_str(&b, "status_class", r->status_class, 0);
    kv_num(&b, "elapsed_s", r->elapsed_s);
    kv_num(&b, "ttfc_s", r->ttfc_s);
    kv_num(&b, "usage_present", r->usage_present);
    kv_str(&b, "trace_id", r->trace_id_hex, 0);
    kv_str(&b, "test_id", r->test_id, 0);
    kv_str(&b, "request_id", r->request_id, 0);
    kv_str(&b, "upstream_request_id", r->upstream_request_id, 0);
    kv_u64(&b, "started_unix_ns", r->started_unix_ns);
    kv_u64(&b, "completed_unix_ns", r->completed_unix_ns);
    kv_list(&b, "violations", r->violations, r->n_violations);
    kv_list(&b, "shape_added", r->shape_added, r->n_shape_added);
    kv_list(&b, "shape_missing", r->shape_missing, r->n_shape_missing);
    sc_buf_append_str(&b, "}");
    out_line(&b);
    sc_buf_free(&b);
    if (r->passed)
        d->passed++;
    else
        d->failed++;
    if (d->stopping == 1 && sc_canary_engine_in_flight(d->eng) == 0)
        shutdown_engine(d);
}

static void on_once_done(void *arg, unsigned passed, unsigned failed)
{
    driver *d = arg;
    sc_buf b;
    sc_buf_init(&b, 4096);
    sc_buf_append_str(&b, "{");
    kv_str(&b, "type", "done", 1);
    kv_num(&b, "passed", passed);
    kv_num(&b, "failed", failed);
    sc_buf_append_str(&b, "}");
    out_line(&b);
    sc_buf_free(&b);
    d->exit_code = failed > 0 ? 1 : 0;
    shutdown_engine(d);
}

/* ---- dumps ----------------------------------------------------------------------------------- */

static void hex(sc_buf *b, const uint8_t *p, size_t n)
{
    static const char h[] = "0123456789abcdef";
    char s[3] = {0};
    for (size_t i = 0; i < n; i++) {
        s[0] = h[p[i] >> 4];
        s[1] = h[p[i] & 15];
        sc_buf_append_str(b, s);
    }
}

static void attr_value(sc_buf *b, const sc_attr *a)
{
    switch (a->type) {
    case SC_ATTR_STRING:
        sc_jsonw_str(b, a->v.s.ptr, a->v.s.len);
        break;
    case SC_ATTR_INT:
        sc_jsonw_i64(b, a->v.i);
        break;
    case SC_ATTR_DOUBLE:
        sc_jsonw_double(b, a->v.d);
        break;
    case SC_ATTR_BOOL:
        sc_buf_append_str(b, a->v.b ? "true" : "false");
        break;
    case SC_ATTR_STRING_ARRAY:
        sc_buf_append_str(b, "[");
        for (size_t i = 0; i < a->v.arr.n; i++) {
            if (i)
                sc_buf_append_str(b, ",");
            sc_jsonw_str(b, a->v.arr.items[i].ptr, a->v.arr.items[i].len);
        }
        sc_buf_append_str(b, "]");
        break;
    }
}

static void span_attrs(sc_buf *b, const sc_span *s, const sc_span_attr *tab, size_t n)
{
    sc_buf_append_str(b, "{");
    for (size_t i = 0; i < n; i++) {
        sc_attr a;
        sc_attr_str items[SC_SPAN_ARRAY_MAX];
        sc_span_attr_get(s, &tab[i], &a, items);
        if (i)
            sc_buf_append_str(b, ",");
        sc_jsonw_cstr(b, a.key);
        sc_buf_append_str(b, ":");
        attr_value(b, &a);
    }
    sc_buf_append_str(b, "}");
}

static void dump_span(const sc_span *s)
{
    sc_buf b;
    sc_buf_init(&b, 1 << 16);
    sc_buf_append_str(&b, "{\"type\":\"span\",\"name\":");
    sc_attr_str name = sc_span_str(s, s->name);
    sc_jsonw_str(&b, name.ptr, name.len);
    sc_buf_append_str(&b, ",\"trace_id\":\"");
    hex(&b, s->trace_id, 16);
    sc_buf_append_str(&b, "\",\"span_id\":\"");
    hex(&b, s->span_id, 8);
    sc_buf_append_str(&b, "\",\"parent_span_id\":\"");
    if (s->has_parent)
        hex(&b, s->parent_span_id, 8);
    sc_buf_append_str(&b, "\"");
    kv_num(&b, "kind", s->kind);
    kv_num(&b, "status", s->status);
    kv_u64(&b, "start_ns", s->start_ns);
    kv_u64(&b, "end_ns", s->end_ns);
    sc_buf_append_str(&b, ",\"attrs\":");
    span_attrs(&b, s, s->attrs, s->n_attrs);
    sc_buf_append_str(&b, ",\"events\":[");
    for (size_t i = 0; i < s->n_events; i++) {
        const sc_span_event *ev = &s->events[i];
        sc_attr_str en = sc_span_str(s, ev->name);
        if (i)
            sc_buf_append_str(&b, ",");
        sc_buf_append_str(&b, "{\"name\":");
        sc_jsonw_str(&b, en.ptr, en.len);
        sc_buf_append_str(&b, ",\"attrs\":");
        span_attrs(&b, s, &s->event_attrs[ev->first_attr], ev->n_attrs);
        sc_buf_append_str(&b, "}");
    }
    sc_buf_append_str(&b, "]}");
    out_line(&b);
    sc_buf_free(&b);
}

static void dump_spans(driver *d)
{
    sc_span *a, *c;
    size_t na, nc;
    sc_span_queue_peek(d->q, SIZE_MAX, &a, &na, &c, &nc);
    for (size_t i = 0; i < na; i++)
        dump_span(&a[i]);
    for (size_t i = 0; i < nc; i++)
        dump_span(&c[i]);
}

static void dump_metrics(driver *d)
{
    const sc_metrics_snapshot *snap;
    if (sc_metrics_collect(d->m, &snap) != 0)
        return;
    for (size_t i = 0; i < snap->n_metrics; i++) {
        const sc_metric_data *md = &snap->metrics[i];
        for (size_t j = 0; j < md->n_points; j++) {
            const sc_metric_point *pt = &md->points[j];
            sc_buf b;
            sc_buf_init(&b, 1 << 16);
            sc_buf_append_str(&b, "{");
            kv_str(&b, "type", "metric", 1);
            kv_str(&b, "name", md->name, 0);
            double v = md->kind == SC_METRIC_KIND_HISTOGRAM ? (double)pt->count
                       : md->kind == SC_METRIC_KIND_GAUGE   ? pt->as_double
                                                            : (double)pt->as_int;
            kv_num(&b, "value", v);
            sc_buf_append_str(&b, ",\"attrs\":{");
            for (size_t k = 0; k < pt->n_attrs; k++) {
                if (k)
                    sc_buf_append_str(&b, ",");
                sc_jsonw_cstr(&b, pt->attrs[k].key);
                sc_buf_append_str(&b, ":");
                attr_value(&b, &pt->attrs[k]);
            }
            sc_buf_append_str(&b, "}}");
            out_line(&b);
            sc_buf_free(&b);
        }
    }
    sc_metrics_snapshot_release(d->m);
}

static void dump_stats(driver *d, const sc_canary_stats *s)
{
    sc_buf b;
    sc_buf_init(&b, 4096);
    sc_buf_append_str(&b, "{");
    kv_str(&b, "type", "stats", 1);
    kv_num(&b, "runs", (double)s->runs);
    kv_num(&b, "passed", (double)s->passed);
    kv_num(&b, "failed", (double)s->failed);
    kv_num(&b, "attempts", (double)s->attempts);
    kv_num(&b, "retries", (double)s->retries);
    kv_num(&b, "fallbacks_used", (double)s->fallbacks_used);
    kv_num(&b, "skipped_overlap", (double)s->skipped_overlap);
    kv_num(&b, "start_failed", (double)s->start_failed);
    kv_num(&b, "cancelled", (double)s->cancelled);
    kv_num(&b, "evidence_written", (double)s->evidence.written);
    kv_num(&b, "evidence_failed", (double)s->evidence.failed);
    kv_num(&b, "evidence_dropped", (double)s->evidence.dropped_full);
    sc_buf_append_str(&b, "}");
    out_line(&b);
    sc_buf_free(&b);
    (void)d;
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

static void noop_closed(uv_handle_t *h)
{
    (void)h;
}

static void engine_closed(void *arg)
{
    driver *d = arg;
    d->eng = NULL;
    dump_stats(d, &d->stats);
    dump_spans(d);
    dump_metrics(d);
    if (d->scheduled_exit)
        d->exit_code = d->failed > 0 ? 1 : 0;
    sc_keyfile_close(d->keys, NULL, NULL);
    d->keys = NULL;
    sc_http_client_close(d->http, NULL, NULL);
    d->http = NULL;
    uv_close((uv_handle_t *)&d->stop_timer, noop_closed);
    uv_close((uv_handle_t *)&d->watchdog, noop_closed);
}

static void on_stop_timer(uv_timer_t *t)
{
    driver *d = t->data;
    d->stopping = 1;
    sc_canary_engine_stop(d->eng);
    if (sc_canary_engine_in_flight(d->eng) == 0)
        shutdown_engine(d);
}

static void on_watchdog(uv_timer_t *t)
{
    (void)t;
    fprintf(stderr, "{\"level\":\"error\",\"msg\":\"canary_driver watchdog expired\"}\n");
    _exit(3);
}

static const char *key_of(void *arg)
{
    driver *d = arg;
    return d->keys ? sc_keyfile_key(d->keys) : NULL;
}

typedef struct args {
    const char *config, *evidence, *out, *since;
    const char *sets[MAX_SETS];
    size_t n_sets;
    long scheduled_ms;
    int packet;
} args;

static int parse_args(int argc, char **argv, args *a)
{
    memset(a, 0, sizeof *a);
    int i = 1;
    if (argc > 1 && strcmp(argv[1], "support-packet") == 0) {
        a->packet = 1;
        i = 2;
    }
    for (; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            return -EINVAL;
        if (strcmp(argv[i], "--config") == 0)
            a->config = v;
        else if (strcmp(argv[i], "--evidence") == 0)
            a->evidence = v;
        else if (strcmp(argv[i], "--out") == 0)
            a->out = v;
        else if (strcmp(argv[i], "--since") == 0)
            a->since = v;
        else if (strcmp(argv[i], "--scheduled") == 0)
            a->scheduled_ms = atol(v);
        else if (strcmp(argv[i], "--set") == 0 && a->n_sets < MAX_SETS)
            a->sets[a->n_sets++] = v;
        else
            return -EINVAL;
        i++;
    }
    return a->config != NULL ? 0 : -EINVAL;
}

static int load_config(driver *d, const args *a)
{
    sc_config_error err;
    sc_config_sources src = {.file = a->config,
                             .getenv = sc_config_process_getenv,
                             .sets = a->sets,
                             .n_sets = a->n_sets,
                             .log = d->log};
    if (sc_config_load(&src, &d->cfg, &err) < 0) {
        sc_log_error(d->log, "invalid configuration", SC_F_STR("error", err.msg));
        return -EINVAL;
    }
    return 0;
}

static int support_packet(driver *d, const args *a)
{
    char err[512];
    uint64_t since = 0;
    if (a->since != NULL &&
        sc_support_packet_parse_since(a->since, sc_clock_wall_ns(d->env.clock), &since) < 0) {
        sc_log_error(d->log, "invalid --since", SC_F_STR("value", a->since));
        return 2;
    }
    const char *path = a->evidence ? a->evidence : d->cfg.evidence.path;
    if (a->out == NULL ||
        sc_support_packet_write(path, since, a->out, &d->cfg, err, sizeof err) < 0) {
        sc_log_error(d->log, "support packet failed", SC_F_STR("error", a->out ? err : "--out"));
        return 3;
    }
    sc_log_info(d->log, "support packet written", SC_F_STR("dir", a->out));
    return 0;
}

static int setup(driver *d, const args *a)
{
    sc_config_error err;
    sc_keyfile_options ko = {.key = d->cfg.cometapi.api_key, .path = d->cfg.cometapi.api_key_file};
    if (sc_keyfile_new(&d->keys, &d->env, &ko, &err) < 0) {
        sc_log_error(d->log, "invalid configuration", SC_F_STR("error", err.msg));
        return -EINVAL;
    }
    sc_log_set_secret(d->log, 0, sc_keyfile_key(d->keys));
    sc_http_client_opts ho = {.default_timeout_ms = (uint32_t)d->cfg.cometapi.timeout_ms,
                              .default_max_response_bytes = d->cfg.cometapi.max_response_bytes};
    sc_span_queue_opts qo = {.capacity = 4096};
    sc_metrics_opts mo = {.clock = d->env.clock, .log = d->log};
    int rc = sc_http_client_new(&d->http, &d->env, &ho);
    if (rc == 0)
        rc = sc_span_queue_new(&d->q, &qo);
    if (rc == 0)
        rc = sc_metrics_new(&d->m, &mo);
    if (rc == 0)
        rc = sc_metrics_register_schema(d->m, d->inst);
    if (rc == 0)
        rc = sc_recorder_new(&d->rec, &d->env, d->q, d->inst, NULL);
    sc_canary_deps deps = {
        .env = &d->env,
        .cfg = &d->cfg,
        .http = d->http,
        .recorder = d->rec,
        .api_key = key_of,
        .api_key_arg = d,
        .evidence_path = a->evidence,
        .on_result = on_result,
        .arg = d,
    };
    if (rc == 0)
        rc = sc_canary_engine_new(&d->eng, &deps);
    return rc;
}

int main(int argc, char **argv)
{
    static driver dd;
    driver *d = &dd;
    args a;
    if (parse_args(argc, argv, &a) < 0) {
        fprintf(stderr, "usage: canary_driver [support-packet] --config F [--set K=V]... "
                        "[--evidence P] [--scheduled MS] [--out DIR] [--since S]\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    sc_rng_init_system(&d->rng);
    uv_loop_init(&d->loop);
    sc_log_new(&d->log, STDERR_FILENO, SC_LOG_INFO, sc_clock_system());
    d->env = (sc_env){.loop = &d->loop, .log = d->log, .clock = sc_clock_system(), .rng = &d->rng};
    int code = 2;
    if (load_config(d, &a) < 0) {
        uv_loop_close(&d->loop);
        goto out;
    }
    if (a.packet) {
        code = support_packet(d, &a);
        uv_loop_close(&d->loop);
        goto out;
    }
    uv_timer_init(&d->loop, &d->stop_timer);
    uv_timer_init(&d->loop, &d->watchdog);
    d->stop_timer.data = d->watchdog.data = d;
    uv_timer_start(&d->watchdog, on_watchdog, 55000, 0);
    code = 3;
    if (setup(d, &a) < 0) {
        sc_log_error(d->log, "driver setup failed");
        _exit(3); /* a test helper: no orderly teardown of half a setup */
    }
    int rc;
    if (a.scheduled_ms > 0) {
        d->scheduled_exit = 1;
        rc = sc_canary_engine_start(d->eng);
        uv_timer_start(&d->stop_timer, on_stop_timer, (uint64_t)a.scheduled_ms, 0);
    } else {
        rc = sc_canary_engine_run_once(d->eng, on_once_done, d);
    }
    if (rc < 0) {
        sc_log_error(d->log, "engine did not start", SC_F_ERR("error", rc));
        shutdown_engine(d);
    }
    uv_run(&d->loop, UV_RUN_DEFAULT);
    code = rc < 0 ? 3 : d->exit_code;
    if (uv_loop_close(&d->loop) != 0) {
        sc_log_error(d->log, "loop closed with handles open");
        code = 3;
    }
    sc_recorder_free(d->rec);
    sc_metrics_free(d->m);
    sc_span_queue_free(d->q);
out:
    sc_config_free(&d->cfg);
    sc_log_free(d->log);
    curl_global_cleanup();
    return code;
}
