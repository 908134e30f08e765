/* test_export_stats.c - tests for export/export_stats: counters and self-metrics per outcome
 * (success, partial success, failure by reason, producers' queue_full), and the readiness
 * ("wedged") rule driven by a fake clock. */
#include <string.h>

#include "core/clock.h"
#include "export/export_stats.h"
#include "harness.h"

#define MS 1000000ull

typedef struct fx {
    sc_clock_fake clock;
    sc_metrics *m;
    sc_instrument *inst[SC_METRIC__COUNT];
    sc_export_stats s;
} fx;

static int fx_init(fx *f)
{
    memset(f, 0, sizeof *f);
    sc_clock_fake_init(&f->clock, 1700000000ull * 1000000000ull);
    const sc_metrics_opts mo = {.clock = &f->clock.base};
    if (sc_metrics_new(&f->m, &mo) != 0 || sc_metrics_register_schema(f->m, f->inst) != 0)
        return -1;
    return sc_export_stats_init(&f->s, &f->clock.base, f->m, f->inst);
}

static const sc_attr *attr_of(const sc_metric_point *p, const char *key)
{
    for (size_t i = 0; i < p->n_attrs; i++)
        if (strcmp(p->attrs[i].key, key) == 0)
            return &p->attrs[i];
    return NULL;
}

static int str_is(const sc_attr *a, const char *v)
{
    return a != NULL && a->type == SC_ATTR_STRING && a->v.s.len == strlen(v) &&
           memcmp(a->v.s.ptr, v, a->v.s.len) == 0;
}

/* The sum point of metric `name` whose error.type is `etype` (NULL: without error.type). */
static const sc_metric_point *find(const sc_metrics_snapshot *snap, const char *name,
                                   const char *etype)
{
    for (size_t i = 0; i < snap->n_metrics; i++) {
        const sc_metric_data *md = &snap->metrics[i];
        if (strcmp(md->name, name) != 0)
            continue;
        for (size_t j = 0; j < md->n_points; j++) {
            const sc_attr *et = attr_of(&md->points[j], "error.type");
            if ((etype == NULL && et == NULL) || (etype != NULL && str_is(et, etype)))
                return &md->points[j];
        }
    }
    return NULL;
}

static int64_t sum_point(const sc_metrics_snapshot *snap, const char *name, const char *etype)
{
    const sc_metric_point *p = find(snap, name, etype);
    return p != NULL ? p->as_int : -1;
}

static uint64_t hist_count(const sc_metrics_snapshot *snap, const char *name)
{
    uint64_t n = 0;
    for (size_t i = 0; i < snap->n_metrics; i++)
        if (strcmp(snap->metrics[i].name, name) == 0)
            for (size_t j = 0; j < snap->metrics[i].n_points; j++)
                n += snap->metrics[i].points[j].count;
    return n;
}

static void test_outcomes_counted(void)
{
    fx f;
    REQUIRE(fx_init(&f) == 0);
    sc_export_stats_set_identity(&f.s, SC_EXPORT_TRACES, "otlp_http_span_exporter", "col.example",
                                 4318);
    const sc_export_result ok = {.delivered = 1, .attempts = 1, .http_status = 200};
    const sc_export_result partial = {
        .delivered = 1, .rejected = 3, .attempts = 2, .http_status = 200};
    const sc_export_result bad = {.delivered = 0,
                                  .reason = SC_EXPORT_DROP_NON_RETRYABLE,
                                  .error_type = "400",
                                  .attempts = 1,
                                  .http_status = 400};
    const sc_export_result exhausted = {.delivered = 0,
                                        .reason = SC_EXPORT_DROP_RETRY_EXHAUSTED,
                                        .error_type = "503",
                                        .attempts = 4,
                                        .http_status = 503};
    CHECK_EQ(sc_export_stats_result(&f.s, SC_EXPORT_TRACES, 10, &ok), 1);
    CHECK_EQ(sc_export_stats_result(&f.s, SC_EXPORT_TRACES, 10, &partial), 0);
    CHECK_EQ(sc_export_stats_result(&f.s, SC_EXPORT_TRACES, 5, &bad), 0);
    CHECK_EQ(sc_export_stats_result(&f.s, SC_EXPORT_METRICS, 7, &exhausted), 0);
    sc_export_stats_lost(&f.s, SC_EXPORT_TRACES, 4, SC_EXPORT_DROP_QUEUE_FULL, NULL);
    sc_export_stats_queue(&f.s, 12, 64);
    sc_export_stats_note(&f.s, SC_EXPORT_TRACES, 6, SC_EXPORT_DROP_QUEUE_FULL); /* no metric */

    const sc_exporter_signal_stats *t = &f.s.sig[SC_EXPORT_TRACES].st;
    CHECK_EQ(t->exported, 17);
    CHECK_EQ(t->rejected, 3);
    CHECK_EQ(t->failed, 5);
    CHECK_EQ(t->dropped[SC_EXPORT_DROP_NON_RETRYABLE], 5);
    CHECK_EQ(t->dropped[SC_EXPORT_DROP_QUEUE_FULL], 10);
    CHECK_EQ(t->payloads, 3);
    CHECK_EQ(t->requests, 4);
    CHECK_EQ(t->retries, 1);
    const sc_exporter_signal_stats *m = &f.s.sig[SC_EXPORT_METRICS].st;
    CHECK_EQ(m->failed, 7);
    CHECK_EQ(m->dropped[SC_EXPORT_DROP_RETRY_EXHAUSTED], 7);
    CHECK_EQ(m->retries, 3);

    const sc_metrics_snapshot *snap;
    REQUIRE(sc_metrics_collect(f.m, &snap) == 0);
    CHECK_EQ(sum_point(snap, "otel.sdk.exporter.span.exported", NULL), 17);
    CHECK_EQ(sum_point(snap, "otel.sdk.exporter.span.exported", "rejected"), 3);
    CHECK_EQ(sum_point(snap, "otel.sdk.exporter.span.exported", "400"), 5);
    CHECK_EQ(sum_point(snap, "otel.sdk.exporter.metric_data_point.exported", "503"), 7);
    CHECK_EQ(sum_point(snap, "sidecar.telemetry.dropped", "non_retryable"), 5);
    CHECK_EQ(sum_point(snap, "sidecar.telemetry.dropped", "retry_exhausted"), 7);
    CHECK_EQ(sum_point(snap, "sidecar.telemetry.dropped", "queue_full"), 4);
    /* queue_full items never reached an exporter: not in the exported counter. */
    CHECK_EQ(sum_point(snap, "otel.sdk.exporter.span.exported", "queue_full"), -1);
    CHECK_EQ(sum_point(snap, "otel.sdk.processor.span.queue.size", NULL), 12);
    CHECK_EQ(sum_point(snap, "otel.sdk.processor.span.queue.capacity", NULL), 64);
    CHECK_EQ(hist_count(snap, "otel.sdk.exporter.operation.duration"), 4);
    /* Identity attributes as the schema document pins them. */
    const sc_metric_point *p = find(snap, "otel.sdk.exporter.span.exported", "400");
    REQUIRE(p != NULL);
    CHECK(str_is(attr_of(p, "otel.component.type"), "otlp_http_span_exporter"));
    CHECK(str_is(attr_of(p, "otel.component.name"), "otlp_http_span_exporter/0"));
    CHECK(str_is(attr_of(p, "server.address"), "col.example"));
    CHECK(attr_of(p, "server.port") != NULL && attr_of(p, "server.port")->v.i == 4318);
    CHECK_EQ(p->n_attrs, 5);
    p = find(snap, "otel.sdk.exporter.metric_data_point.exported", "503");
    REQUIRE(p != NULL);
    CHECK_EQ(p->n_attrs, 1); /* no identity set for metrics here */
    p = find(snap, "otel.sdk.processor.span.queue.size", NULL);
    REQUIRE(p != NULL);
    CHECK(str_is(attr_of(p, "otel.component.type"), "batching_span_processor"));
    CHECK(str_is(attr_of(p, "otel.component.name"), "batching_span_processor/0"));
    p = find(snap, "sidecar.telemetry.dropped", "queue_full");
    REQUIRE(p != NULL);
    CHECK_EQ(p->n_attrs, 1);
    sc_metrics_snapshot_release(f.m);
    sc_metrics_free(f.m);
}

static void test_instruments_optional(void)
{
    sc_clock_fake clock;
    sc_export_stats s;
    sc_clock_fake_init(&clock, 1);
    REQUIRE(sc_export_stats_init(&s, &clock.base, NULL, NULL) == 0);
    const sc_export_result ok = {.delivered = 1, .attempts = 1};
    CHECK_EQ(sc_export_stats_result(&s, SC_EXPORT_TRACES, 2, &ok), 1);
    CHECK_EQ(s.sig[SC_EXPORT_TRACES].st.exported, 2);
}

static void test_wedged_rule(void)
{
    fx f;
    REQUIRE(fx_init(&f) == 0);
    sc_export_stats_set_window(&f.s, SC_EXPORT_TRACES, 1000); /* W = 1 s */
    sc_export_stats_set_window(&f.s, SC_EXPORT_METRICS, 1000);
    CHECK(sc_export_stats_wedged(&f.s, SC_EXPORT_TRACES) == NULL); /* fresh */

    /* Failing for less than W: transient. */
    sc_export_stats_attempt(&f.s, SC_EXPORT_TRACES, 0);
    sc_clock_fake_advance(&f.clock, 600 * MS);
    sc_export_stats_attempt(&f.s, SC_EXPORT_TRACES, 0);
    CHECK(sc_export_stats_wedged(&f.s, SC_EXPORT_TRACES) == NULL);
    /* Still failing past W, latest failure recent: wedged. */
    sc_clock_fake_advance(&f.clock, 600 * MS);
    sc_export_stats_attempt(&f.s, SC_EXPORT_TRACES, 0);
    CHECK(sc_export_stats_wedged(&f.s, SC_EXPORT_TRACES) != NULL);
    CHECK(sc_export_stats_wedged(&f.s, SC_EXPORT_METRICS) == NULL); /* per signal */
    /* One success heals at once. */
    sc_export_stats_attempt(&f.s, SC_EXPORT_TRACES, 1);
    CHECK(sc_export_stats_wedged(&f.s, SC_EXPORT_TRACES) == NULL);
    CHECK(f.s.sig[SC_EXPORT_TRACES].st.last_success_ns != 0);

    /* A failure episode followed by silence (no data to send) heals after W. */
    sc_export_stats_attempt(&f.s, SC_EXPORT_METRICS, 0);
    sc_clock_fake_advance(&f.clock, 900 * MS);
    sc_export_stats_attempt(&f.s, SC_EXPORT_METRICS, 0);
    sc_clock_fake_advance(&f.clock, 200 * MS);
    CHECK(sc_export_stats_wedged(&f.s, SC_EXPORT_METRICS) != NULL);
    sc_clock_fake_advance(&f.clock, 1000 * MS);
    CHECK(sc_export_stats_wedged(&f.s, SC_EXPORT_METRICS) == NULL);
    sc_metrics_free(f.m);
}

int main(void)
{
    RUN(test_outcomes_counted);
    RUN(test_instruments_optional);
    RUN(test_wedged_rule);
    return sc_test_summary();
}
