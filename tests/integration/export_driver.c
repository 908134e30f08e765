/* export_driver.c - owns: a test-only program that drives the real exporter end to end for the
 * integration tests (tests/integration/test_export_*.py): it wires loop, env, HTTP client, span
 * queue, metrics registry, resource and exporter from configuration (export_fixture), produces
 * spans (and one counter add plus one histogram record per span) at a given rate, waits until
 * every span has an outcome or a deadline passes, flushes, and prints one JSON object with what
 * it produced and the exporter's stats on stdout. Logs go to stderr (JSON lines).
 *
 *   export_driver [--config FILE] [--set key=value]... [--spans N] [--rate PER_S]
 *                 [--duration-ms MS] [--name NAME] [--deadline-ms MS] [--flush-ms MS]
 *                 [--log-level LEVEL]
 *
 * --spans N produces N spans (at --rate per second; 0 = all at once); --duration-ms instead
 * produces at --rate for that long. Exit status 0 unless set-up failed (2). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/jsonw.h"
#include "export/exporter.h"
#include "export_fixture.h"

#define MAX_SETS 64
#define TICK_MS  10

typedef struct driver {
    uv_loop_t loop;
    sc_export_fixture f;
    uv_timer_t tick, deadline;
    const char *name;
    long spans;  /* -1: use duration */
    double rate; /* spans per second; 0: all at once */
    uint64_t duration_ms, deadline_ms, flush_ms;
    uint64_t t0;
    int64_t next_seq;
    int producing, flushing, timed_out, all_delivered, flushed, closed;
    sc_exporter_stats stats;
    int healthy;
    const char *health_reason;
} driver;

static void record_metrics(driver *d, int64_t seq)
{
    const sc_attr a[] = {SC_ATTR_STR("gateway.source", "canary"),
                         SC_ATTR_STR("gateway.outcome", seq % 5 == 0 ? "fail" : "pass")};
    sc_metrics_add(d->f.inst[SC_METRIC_GATEWAY_REQUESTS], 1, a, 2);
    const sc_attr h[] = {SC_ATTR_STR("http.request.method", "POST")};
    sc_metrics_record(d->f.inst[SC_METRIC_HTTP_CLIENT_REQUEST_DURATION],
                      0.001 * (double)(seq % 1000 + 1), h, 1);
}

static void produce_one(driver *d)
{
    int64_t seq = d->next_seq++;
    sc_export_fixture_span(&d->f, d->name, seq); /* a full queue is counted inside */
    record_metrics(d, seq);
}

/* Every produced span has an outcome: delivered, rejected, failed, or refused by the queue. */
static int all_accounted(const driver *d)
{
    sc_exporter_stats s;
    sc_exporter_get_stats(d->f.exp, &s);
    uint64_t done = s.traces.exported + s.traces.rejected + s.traces.failed;
    return !sc_exporter_traces_enabled(d->f.exp) || done >= d->f.produced;
}

static void print_signal(sc_buf *b, const char *name, const sc_exporter_signal_stats *s)
{
    static const char *const reasons[SC_EXPORT_DROP__COUNT] = {
        "queue_full", "export_failed", "non_retryable", "retry_exhausted", "shutdown"};
    sc_jsonw_raw(b, ",\"");
    sc_jsonw_raw(b, name);
    sc_jsonw_raw(b, "\":{\"exported\":");
    sc_jsonw_u64(b, s->exported);
    sc_jsonw_raw(b, ",\"rejected\":");
    sc_jsonw_u64(b, s->rejected);
    sc_jsonw_raw(b, ",\"failed\":");
    sc_jsonw_u64(b, s->failed);
    sc_jsonw_raw(b, ",\"payloads\":");
    sc_jsonw_u64(b, s->payloads);
    sc_jsonw_raw(b, ",\"requests\":");
    sc_jsonw_u64(b, s->requests);
    sc_jsonw_raw(b, ",\"retries\":");
    sc_jsonw_u64(b, s->retries);
    sc_jsonw_raw(b, ",\"dropped\":{");
    for (int i = 0; i < SC_EXPORT_DROP__COUNT; i++) {
        if (i > 0)
            sc_jsonw_raw(b, ",");
        sc_jsonw_cstr(b, reasons[i]);
        sc_jsonw_raw(b, ":");
        sc_jsonw_u64(b, s->dropped[i]);
    }
    sc_jsonw_raw(b, "}}");
}

static void print_result(driver *d)
{
    sc_buf b;
    sc_buf_init(&b, 1 << 16);
    sc_jsonw_raw(&b, "{\"produced\":");
    sc_jsonw_u64(&b, d->f.produced + d->f.queue_full);
    sc_jsonw_raw(&b, ",\"committed\":");
    sc_jsonw_u64(&b, d->f.produced);
    sc_jsonw_raw(&b, ",\"queue_full\":");
    sc_jsonw_u64(&b, d->f.queue_full);
    sc_jsonw_raw(&b, ",\"all_delivered\":");
    sc_jsonw_raw(&b, d->all_delivered ? "true" : "false");
    sc_jsonw_raw(&b, ",\"timed_out\":");
    sc_jsonw_raw(&b, d->timed_out ? "true" : "false");
    sc_jsonw_raw(&b, ",\"healthy_at_end\":");
    sc_jsonw_raw(&b, d->healthy ? "true" : "false");
    sc_jsonw_raw(&b, ",\"health_reason\":");
    sc_jsonw_cstr(&b, d->health_reason);
    print_signal(&b, "traces", &d->stats.traces);
    print_signal(&b, "metrics", &d->stats.metrics);
    sc_jsonw_raw(&b, "}\n");
    fwrite(b.data, 1, b.len, stdout);
    fflush(stdout);
    sc_buf_free(&b);
}

static void on_closed(void *arg)
{
    driver *d = arg;
    d->closed = 1;
    print_result(d);
}

static void on_flushed(void *arg, int all_delivered)
{
    driver *d = arg;
    d->flushed = 1;
    d->all_delivered = all_delivered;
    d->healthy = sc_exporter_healthy(d->f.exp, &d->health_reason);
    uv_close((uv_handle_t *)&d->tick, NULL);
    uv_close((uv_handle_t *)&d->deadline, NULL);
    /* As of the flush: the fixture frees the exporter on close (spans still queued after a
     * timed-out flush are counted as shutdown drops there, not here). */
    sc_exporter_get_stats(d->f.exp, &d->stats);
    sc_export_fixture_close(&d->f, on_closed, d);
}

static void start_flush(driver *d)
{
    if (d->flushing)
        return;
    d->flushing = 1;
    uv_timer_stop(&d->tick);
    if (sc_exporter_flush(d->f.exp, d->flush_ms, on_flushed, d) != 0)
        on_flushed(d, 0);
}

static void on_tick(uv_timer_t *t)
{
    driver *d = t->data;
    uint64_t elapsed = uv_now(&d->loop) - d->t0;
    if (d->producing) {
        int64_t due = d->rate > 0 ? (int64_t)((double)elapsed * d->rate / 1000.0) + 1 : INT64_MAX;
        int64_t limit = d->spans >= 0 ? d->spans : INT64_MAX;
        if (d->spans < 0 && elapsed >= d->duration_ms)
            limit = d->next_seq;
        while (d->next_seq < due && d->next_seq < limit)
            produce_one(d);
        if (d->next_seq >= limit)
            d->producing = 0;
    }
    if (!d->producing && all_accounted(d))
        start_flush(d);
}

static void on_deadline(uv_timer_t *t)
{
    driver *d = t->data;
    d->timed_out = 1;
    start_flush(d);
}

static int parse_args(driver *d, int argc, char **argv, const char **file, const char **sets,
                      size_t *n_sets, sc_log_level *level)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            return -EINVAL;
        i++;
        if (strcmp(a, "--set") == 0 && *n_sets < MAX_SETS)
            sets[(*n_sets)++] = v;
        else if (strcmp(a, "--config") == 0)
            *file = v;
        else if (strcmp(a, "--spans") == 0)
            d->spans = strtol(v, NULL, 10);
        else if (strcmp(a, "--rate") == 0)
            d->rate = strtod(v, NULL);
        else if (strcmp(a, "--duration-ms") == 0)
            d->duration_ms = strtoull(v, NULL, 10);
        else if (strcmp(a, "--name") == 0)
            d->name = v;
        else if (strcmp(a, "--deadline-ms") == 0)
            d->deadline_ms = strtoull(v, NULL, 10);
        else if (strcmp(a, "--flush-ms") == 0)
            d->flush_ms = strtoull(v, NULL, 10);
        else if (strcmp(a, "--log-level") == 0 && sc_log_level_parse(v, level) == 0)
            continue;
        else
            return -EINVAL;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static driver d;
    const char *sets[MAX_SETS], *file = NULL;
    size_t n_sets = 0;
    sc_log_level level = SC_LOG_WARN;
    char err[512] = "";
    d.spans = -1;
    d.name = "export-driver-op";
    d.deadline_ms = 60000;
    d.flush_ms = 10000;
    if (parse_args(&d, argc, argv, &file, sets, &n_sets, &level) != 0) {
        fprintf(stderr, "usage: see the comment at the top of export_driver.c\n");
        return 2;
    }
    if (uv_loop_init(&d.loop) != 0)
        return 2;
    int rc =
        sc_export_fixture_init(&d.f, &d.loop, file, sets, n_sets, NULL, level, err, sizeof err);
    if (rc == 0)
        rc = sc_exporter_start(d.f.exp);
    if (rc != 0) {
        fprintf(stderr, "{\"msg\":\"export driver setup failed\",\"error\":\"%s\"}\n", err);
        sc_export_fixture_close(&d.f, NULL, NULL);
        uv_run(&d.loop, UV_RUN_DEFAULT);
        uv_loop_close(&d.loop);
        return 2;
    }
    uv_timer_init(&d.loop, &d.tick);
    uv_timer_init(&d.loop, &d.deadline);
    d.tick.data = d.deadline.data = &d;
    d.t0 = uv_now(&d.loop);
    d.producing = 1;
    uv_timer_start(&d.tick, on_tick, 0, TICK_MS);
    uv_timer_start(&d.deadline, on_deadline, d.deadline_ms, 0);
    uv_run(&d.loop, UV_RUN_DEFAULT);
    rc = uv_loop_close(&d.loop);
    return d.closed && rc == 0 ? 0 : 1;
}
