/* test_telemetry_metrics.c - tests for telemetry/metrics: series identity, cardinality overflow,
 * temporality, gauges, histograms, allocation behaviour and collection snapshots. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "harness.h"
#include "telemetry/metrics.h"

#define T0  1795375401000000000ull
#define SEC 1000000000ull

/* Counting allocator that can be told to fail. */
typedef struct counting {
    size_t allocs, frees;
    int fail;
} counting;

static void *c_alloc(void *ctx, size_t size)
{
    counting *c = ctx;
    if (c->fail)
        return NULL;
    c->allocs++;
    return malloc(size);
}

static void c_free(void *ctx, void *p)
{
    ((counting *)ctx)->frees++;
    free(p);
}

typedef struct fixture {
    sc_clock_fake clk;
    counting cnt;
    sc_metrics_allocator al;
    sc_metrics *m;
} fixture;

static int setup(fixture *f, sc_temporality t, size_t limit)
{
    memset(f, 0, sizeof *f);
    sc_clock_fake_init(&f->clk, T0);
    f->al = (sc_metrics_allocator){c_alloc, c_free, &f->cnt};
    sc_metrics_opts o = {
        .clock = &f->clk.base, .temporality = t, .cardinality_limit = limit, .allocator = &f->al};
    return sc_metrics_new(&f->m, &o);
}

static void teardown(fixture *f)
{
    sc_metrics_free(f->m);
    CHECK_EQ(f->cnt.allocs, f->cnt.frees); /* nothing leaked */
}

static const sc_metric_def counter_def = {"test.requests",        "{request}", "d",
                                          SC_METRIC_KIND_COUNTER, NULL,        0};
static const double bounds3[] = {1, 2, 5};
static const sc_metric_def hist_def = {"test.duration",          "s",     "d",
                                       SC_METRIC_KIND_HISTOGRAM, bounds3, 3};
static const sc_metric_def gauge_def = {"test.last", "s", "d", SC_METRIC_KIND_GAUGE, NULL, 0};

static const sc_metric_data *find_metric(const sc_metrics_snapshot *s, const char *name)
{
    for (size_t i = 0; i < s->n_metrics; i++)
        if (strcmp(s->metrics[i].name, name) == 0)
            return &s->metrics[i];
    return NULL;
}

/* The point whose attribute `key` has string value `val` (or the first point when key NULL). */
static const sc_metric_point *find_point(const sc_metric_data *md, const char *key, const char *val)
{
    for (size_t i = 0; md && i < md->n_points; i++) {
        const sc_metric_point *p = &md->points[i];
        if (key == NULL)
            return p;
        for (size_t k = 0; k < p->n_attrs; k++)
            if (strcmp(p->attrs[k].key, key) == 0 && p->attrs[k].type == SC_ATTR_STRING &&
                p->attrs[k].v.s.len == strlen(val) &&
                memcmp(p->attrs[k].v.s.ptr, val, strlen(val)) == 0)
                return p;
    }
    return NULL;
}

static void counter_sums_per_set_whatever_the_order(void)
{
    fixture f;
    sc_instrument *c;
    REQUIRE(setup(&f, SC_TEMPORALITY_CUMULATIVE, 0) == 0);
    REQUIRE(sc_metrics_instrument(f.m, &counter_def, &c) == 0);
    sc_attr ab[] = {SC_ATTR_STR("a", "1"), SC_ATTR_STR("b", "x")};
    sc_attr ba[] = {SC_ATTR_STR("b", "x"), SC_ATTR_STR("a", "1")};
    sc_attr other[] = {SC_ATTR_STR("a", "2"), SC_ATTR_STR("b", "x")};
    CHECK_EQ(sc_metrics_add(c, 2, ab, 2), 0);
    CHECK_EQ(sc_metrics_add(c, 3, ba, 2), 0);
    CHECK_EQ(sc_metrics_add(c, 5, other, 2), 0);
    CHECK_EQ(sc_metrics_add(c, 1, NULL, 0), 0); /* the empty set is a series too */
    CHECK_EQ(sc_metrics_add(c, -1, ab, 2), -EINVAL);
    CHECK_EQ(sc_metrics_record(c, 1.0, ab, 2), -EINVAL); /* wrong kind */
    CHECK_EQ(sc_metrics_series_count(c), 3);
    CHECK_EQ(sc_metrics_get_stats(f.m).dropped_measurements, 2);

    const sc_metrics_snapshot *s;
    REQUIRE(sc_metrics_collect(f.m, &s) == 0);
    const sc_metric_data *md = find_metric(s, "test.requests");
    REQUIRE(md != NULL);
    CHECK_EQ(md->kind, SC_METRIC_KIND_COUNTER);
    CHECK_EQ(md->is_monotonic, 1);
    CHECK_EQ(md->temporality, SC_TEMPORALITY_CUMULATIVE);
    CHECK_STR(md->unit, "{request}");
    REQUIRE(md->n_points == 3);
    const sc_metric_point *p = find_point(md, "a", "1");
    REQUIRE(p != NULL);
    CHECK_EQ(p->as_int, 5);
    CHECK_EQ(p->n_attrs, 2);
    CHECK_STR(p->attrs[0].key, "a"); /* canonical order */
    CHECK_EQ(find_point(md, "a", "2")->as_int, 5);
    CHECK_EQ(md->points[2].n_attrs, 0);
    CHECK_EQ(md->points[2].as_int, 1);
    CHECK_EQ(sc_metrics_collect(f.m, &s), -EBUSY);
    sc_metrics_snapshot_release(f.m);
    teardown(&f);
}

static void cardinality_limit_overflows_and_keeps_totals(void)
{
    fixture f;
    sc_instrument *c;
    REQUIRE(setup(&f, SC_TEMPORALITY_CUMULATIVE, 3) == 0);
    REQUIRE(sc_metrics_instrument(f.m, &counter_def, &c) == 0);
    static char vals[10][4];
    int64_t total = 0;
    for (int i = 0; i < 10; i++) {
        snprintf(vals[i], sizeof vals[i], "v%d", i);
        sc_attr a = SC_ATTR_STR("route", vals[i]);
        CHECK_EQ(sc_metrics_add(c, i + 1, &a, 1), 0);
        total += i + 1;
    }
    sc_attr first = SC_ATTR_STR("route", "v0"); /* an existing series still takes measurements */
    CHECK_EQ(sc_metrics_add(c, 100, &first, 1), 0);
    total += 100;
    CHECK_EQ(sc_metrics_series_count(c), 3); /* limit - 1 regular + overflow */
    CHECK_EQ(sc_metrics_get_stats(f.m).overflow_measurements, 8);

    const sc_metrics_snapshot *s;
    REQUIRE(sc_metrics_collect(f.m, &s) == 0);
    const sc_metric_data *md = find_metric(s, "test.requests");
    REQUIRE(md != NULL && md->n_points == 3);
    int64_t sum = 0;
    int overflow_points = 0;
    for (size_t i = 0; i < md->n_points; i++) {
        const sc_metric_point *p = &md->points[i];
        sum += p->as_int;
        if (p->n_attrs == 1 && strcmp(p->attrs[0].key, "otel.metric.overflow") == 0) {
            overflow_points++;
            CHECK(p->attrs[0].type == SC_ATTR_BOOL && p->attrs[0].v.b == 1);
            CHECK_EQ(p->as_int, 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10);
        }
    }
    CHECK_EQ(overflow_points, 1);
    CHECK_EQ(sum, total);
    CHECK_EQ(find_point(md, "route", "v0")->as_int, 101);
    sc_metrics_snapshot_release(f.m);
    teardown(&f);
}

static void cumulative_start_time_is_fixed(void)
{
    fixture f;
    sc_instrument *c;
    REQUIRE(setup(&f, SC_TEMPORALITY_UNSPECIFIED, 0) == 0); /* defaults to cumulative */
    REQUIRE(sc_metrics_instrument(f.m, &counter_def, &c) == 0);
    sc_clock_fake_advance(&f.clk, 5 * SEC);
    sc_metrics_add(c, 1, NULL, 0);
    const sc_metrics_snapshot *s;
    for (int round = 1; round <= 3; round++) {
        sc_clock_fake_advance(&f.clk, 10 * SEC);
        REQUIRE(sc_metrics_collect(f.m, &s) == 0);
        REQUIRE(s->n_metrics == 1 && s->metrics[0].n_points == 1);
        const sc_metric_point *p = &s->metrics[0].points[0];
        CHECK_EQ(p->start_ns, T0 + 5 * SEC);
        CHECK_EQ(p->time_ns, T0 + 5 * SEC + (uint64_t)round * 10 * SEC);
        CHECK_EQ(p->as_int, 1); /* reported every time, unchanged */
        sc_metrics_snapshot_release(f.m);
    }
    teardown(&f);
}

static void delta_reports_changes_only_and_resets(void)
{
    fixture f;
    sc_instrument *c, *h, *g;
    REQUIRE(setup(&f, SC_TEMPORALITY_DELTA, 0) == 0);
    REQUIRE(sc_metrics_instrument(f.m, &counter_def, &c) == 0);
    REQUIRE(sc_metrics_instrument(f.m, &hist_def, &h) == 0);
    REQUIRE(sc_metrics_instrument(f.m, &gauge_def, &g) == 0);
    sc_attr x = SC_ATTR_STR("k", "x"), y = SC_ATTR_STR("k", "y");
    sc_metrics_add(c, 4, &x, 1);
    sc_metrics_add(c, 1, &y, 1);
    sc_metrics_record(h, 0.5, NULL, 0);
    sc_metrics_record(h, 4.0, NULL, 0);
    sc_metrics_set(g, 7.0, NULL, 0);
    sc_clock_fake_advance(&f.clk, 10 * SEC);

    const sc_metrics_snapshot *s;
    REQUIRE(sc_metrics_collect(f.m, &s) == 0);
    CHECK_EQ(s->n_metrics, 3);
    CHECK_EQ(s->n_points, 4);
    const sc_metric_data *mc = find_metric(s, "test.requests");
    REQUIRE(mc != NULL);
    CHECK_EQ(mc->temporality, SC_TEMPORALITY_DELTA);
    CHECK_EQ(find_point(mc, "k", "x")->as_int, 4);
    CHECK_EQ(find_point(mc, "k", "x")->start_ns, T0);
    const sc_metric_data *mh = find_metric(s, "test.duration");
    REQUIRE(mh != NULL && mh->n_points == 1);
    CHECK_EQ(mh->points[0].count, 2);
    CHECK(mh->points[0].min == 0.5 && mh->points[0].max == 4.0);
    CHECK_EQ(find_metric(s, "test.last")->temporality, SC_TEMPORALITY_UNSPECIFIED);
    sc_metrics_snapshot_release(f.m);

    /* Interval 2: only x changes; the histogram sees one small value. */
    sc_metrics_add(c, 2, &x, 1);
    sc_metrics_record(h, 1.5, NULL, 0);
    sc_clock_fake_advance(&f.clk, 10 * SEC);
    REQUIRE(sc_metrics_collect(f.m, &s) == 0);
    mc = find_metric(s, "test.requests");
    REQUIRE(mc != NULL && mc->n_points == 1); /* y had nothing new */
    CHECK_EQ(mc->points[0].as_int, 2);
    CHECK_EQ(mc->points[0].start_ns, T0 + 10 * SEC); /* previous collection */
    CHECK_EQ(mc->points[0].time_ns, T0 + 20 * SEC);
    mh = find_metric(s, "test.duration");
    REQUIRE(mh != NULL);
    CHECK_EQ(mh->points[0].count, 1);
    CHECK(mh->points[0].sum == 1.5);
    CHECK(mh->points[0].min == 1.5 && mh->points[0].max == 1.5); /* min/max reset */
    CHECK_EQ(mh->points[0].bucket_counts[0], 0);
    CHECK_EQ(mh->points[0].bucket_counts[1], 1);
    CHECK(find_metric(s, "test.last") == NULL); /* gauge not set this interval */
    CHECK_EQ(sc_metrics_series_count(c), 1);    /* y was forgotten */
    sc_metrics_snapshot_release(f.m);

    /* Interval 3: nothing at all -> an empty snapshot, and every series forgotten. */
    REQUIRE(sc_metrics_collect(f.m, &s) == 0);
    CHECK_EQ(s->n_metrics, 0);
    CHECK_EQ(s->n_points, 0);
    sc_metrics_snapshot_release(f.m);
    CHECK_EQ(sc_metrics_series_count(c), 0);
    sc_metrics_add(c, 9, &y, 1); /* a forgotten series comes back fresh */
    REQUIRE(sc_metrics_collect(f.m, &s) == 0);
    CHECK_EQ(find_point(find_metric(s, "test.requests"), "k", "y")->as_int, 9);
    sc_metrics_snapshot_release(f.m);
    teardown(&f);
}

static void gauge_keeps_last_value_and_updown_stays_cumulative(void)
{
    fixture f;
    sc_instrument *g, *u;
    static const sc_metric_def updown = {"test.queue", "{span}", "", SC_METRIC_KIND_UPDOWN_COUNTER,
                                         NULL,         0};
    REQUIRE(setup(&f, SC_TEMPORALITY_DELTA, 0) == 0);
    REQUIRE(sc_metrics_instrument(f.m, &gauge_def, &g) == 0);
    REQUIRE(sc_metrics_instrument(f.m, &updown, &u) == 0);
    sc_metrics_set(g, 1.0, NULL, 0);
    sc_metrics_set(g, 3.5, NULL, 0);
    CHECK_EQ(sc_metrics_set(g, NAN, NULL, 0), -EINVAL);
    sc_metrics_add(u, 5, NULL, 0);
    sc_metrics_add(u, -2, NULL, 0);
    const sc_metrics_snapshot *s;
    REQUIRE(sc_metrics_collect(f.m, &s) == 0);
    const sc_metric_data *mg = find_metric(s, "test.last");
    REQUIRE(mg != NULL && mg->n_points == 1);
    CHECK(mg->points[0].as_double == 3.5);
    CHECK_EQ(mg->points[0].start_ns, 0);
    const sc_metric_data *mu = find_metric(s, "test.queue");
    REQUIRE(mu != NULL);
    CHECK_EQ(mu->points[0].as_int, 3);
    CHECK_EQ(mu->is_monotonic, 0);
    CHECK_EQ(mu->temporality, SC_TEMPORALITY_CUMULATIVE);
    sc_metrics_snapshot_release(f.m);
    sc_metrics_observe(u, 42, NULL, 0);
    REQUIRE(sc_metrics_collect(f.m, &s) == 0);
    mu = find_metric(s, "test.queue");
    REQUIRE(mu != NULL);
    CHECK_EQ(mu->points[0].as_int, 42);
    CHECK_EQ(mu->points[0].start_ns, T0);
    sc_metrics_snapshot_release(f.m);
    REQUIRE(sc_metrics_collect(f.m, &s) == 0); /* no updates: still reported (cumulative) */
    CHECK(find_metric(s, "test.queue") != NULL);
    sc_metrics_snapshot_release(f.m);
    teardown(&f);
}

static void histogram_buckets_are_upper_inclusive(void)
{
    fixture f;
    sc_instrument *h;
    REQUIRE(setup(&f, SC_TEMPORALITY_CUMULATIVE, 0) == 0);
    REQUIRE(sc_metrics_instrument(f.m, &hist_def, &h) == 0);
    const double vals[] = {-3, 0, 1, 1.0000001, 2, 4.9, 5, 5.5, 1e9};
    double sum = 0;
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        CHECK_EQ(sc_metrics_record(h, vals[i], NULL, 0), 0);
        sum += vals[i];
    }
    CHECK_EQ(sc_metrics_record(h, INFINITY, NULL, 0), -EINVAL);
    CHECK_EQ(sc_metrics_record(h, NAN, NULL, 0), -EINVAL);
    const sc_metrics_snapshot *s;
    REQUIRE(sc_metrics_collect(f.m, &s) == 0);
    const sc_metric_data *md = find_metric(s, "test.duration");
    REQUIRE(md != NULL && md->n_points == 1);
    CHECK_EQ(md->n_bounds, 3);
    CHECK(md->bounds[2] == 5);
    const sc_metric_point *p = &md->points[0];
    /* (-inf,1] (1,2] (2,5] (5,+inf) */
    CHECK_EQ(p->bucket_counts[0], 3);
    CHECK_EQ(p->bucket_counts[1], 2);
    CHECK_EQ(p->bucket_counts[2], 2);
    CHECK_EQ(p->bucket_counts[3], 2);
    uint64_t total = 0;
    for (size_t i = 0; i <= md->n_bounds; i++)
        total += p->bucket_counts[i];
    CHECK_EQ(total, p->count);
    CHECK_EQ(p->count, 9);
    CHECK(p->sum == sum);
    CHECK(p->min == -3 && p->max == 1e9);
    sc_metrics_snapshot_release(f.m);
    teardown(&f);
}

static void recording_into_existing_series_allocates_nothing(void)
{
    fixture f;
    sc_instrument *c, *h;
    REQUIRE(setup(&f, SC_TEMPORALITY_CUMULATIVE, 2) == 0);
    REQUIRE(sc_metrics_instrument(f.m, &counter_def, &c) == 0);
    REQUIRE(sc_metrics_instrument(f.m, &hist_def, &h) == 0);
    sc_attr a[] = {SC_ATTR_STR("a", "1"), SC_ATTR_INT("b", 2)};
    sc_attr b[] = {SC_ATTR_INT("b", 2), SC_ATTR_STR("a", "1")};
    sc_attr n1 = SC_ATTR_STR("new", "1"), n2 = SC_ATTR_STR("new", "2");
    REQUIRE(sc_metrics_add(c, 1, a, 2) == 0);
    REQUIRE(sc_metrics_record(h, 1, a, 2) == 0);
    REQUIRE(sc_metrics_add(c, 1, &n1, 1) == 0); /* creates the overflow series */
    size_t before = f.cnt.allocs;
    for (int i = 0; i < 1000; i++) {
        sc_metrics_add(c, 1, (i & 1) ? a : b, 2);
        sc_metrics_record(h, i, b, 2);
        sc_metrics_add(c, 1, &n2, 1); /* overflow */
    }
    CHECK_EQ(f.cnt.allocs, before);

    /* Out of memory: a new series is dropped and counted, existing ones keep working, and a
     * collection that cannot get its buffers fails without losing anything. */
    sc_attr fresh = SC_ATTR_STR("z", "z");
    f.cnt.fail = 1;
    CHECK_EQ(sc_metrics_record(h, 1, &fresh, 1), -ENOMEM);
    CHECK_EQ(sc_metrics_add(c, 1, a, 2), 0);
    const sc_metrics_snapshot *s;
    CHECK_EQ(sc_metrics_collect(f.m, &s), -ENOMEM);
    f.cnt.fail = 0;
    CHECK_EQ(sc_metrics_get_stats(f.m).dropped_measurements, 1);
    REQUIRE(sc_metrics_collect(f.m, &s) == 0);
    CHECK_EQ(find_point(find_metric(s, "test.requests"), "a", "1")->as_int, 1002);
    CHECK_EQ(find_metric(s, "test.duration")->points[0].count, 1001);
    sc_metrics_snapshot_release(f.m);
    teardown(&f);
}

static void instrument_validation(void)
{
    fixture f;
    sc_instrument *i;
    REQUIRE(setup(&f, SC_TEMPORALITY_CUMULATIVE, 0) == 0);
    static const double bad_bounds[] = {1, 1};
    sc_metric_def d = counter_def;
    d.name = "1bad";
    CHECK_EQ(sc_metrics_instrument(f.m, &d, &i), -EINVAL);
    d.name = "bad name";
    CHECK_EQ(sc_metrics_instrument(f.m, &d, &i), -EINVAL);
    d = hist_def;
    d.bounds = bad_bounds;
    d.n_bounds = 2;
    CHECK_EQ(sc_metrics_instrument(f.m, &d, &i), -EINVAL);
    REQUIRE(sc_metrics_instrument(f.m, &counter_def, &i) == 0);
    d = counter_def;
    d.name = "TEST.Requests";
    CHECK_EQ(sc_metrics_instrument(f.m, &d, &i), -EEXIST);
    sc_metrics_opts bad = {.clock = NULL};
    sc_metrics *m2 = NULL;
    CHECK_EQ(sc_metrics_new(&m2, &bad), -EINVAL);
    teardown(&f);
}

static void schema_instruments_register(void)
{
    fixture f;
    sc_instrument *all[SC_METRIC__COUNT];
    REQUIRE(setup(&f, SC_TEMPORALITY_CUMULATIVE, 0) == 0);
    REQUIRE(sc_metrics_register_schema(f.m, all) == 0);
    sc_attr a = SC_ATTR_STR(SC_ATTR_GEN_AI_TOKEN_TYPE, SC_TOKEN_TYPE_INPUT);
    CHECK_EQ(sc_metrics_record(all[SC_METRIC_GEN_AI_CLIENT_TOKEN_USAGE], 300, &a, 1), 0);
    const sc_metrics_snapshot *s;
    REQUIRE(sc_metrics_collect(f.m, &s) == 0);
    REQUIRE(s->n_metrics == 1); /* empty instruments are not reported */
    CHECK_STR(s->metrics[0].name, "gen_ai.client.token.usage");
    CHECK_EQ(s->metrics[0].n_bounds, 14);
    CHECK_EQ(s->metrics[0].points[0].bucket_counts[5], 1); /* (256, 1024] */
    sc_metrics_snapshot_release(f.m);
    teardown(&f);
}

/* A set prepared once and extended by one attribute (sc_attr_set_extend) is the set the plain
 * call builds from the same attributes: same order and hash, so both find the same series; the
 * extra attribute wins over a base one with its key, in any position of key order. */
static void prepared_sets_match_plain_calls(void)
{
    fixture f;
    sc_instrument *h;
    REQUIRE(setup(&f, SC_TEMPORALITY_CUMULATIVE, 0) == 0);
    REQUIRE(sc_metrics_instrument(f.m, &hist_def, &h) == 0);
    sc_attr a[5] = {SC_ATTR_STR("m.model", "gpt"), SC_ATTR_INT("k.port", 443),
                    SC_ATTR_STR("z.source", "access_log"), SC_ATTR_BOOL("b.stream", 1)};
    const sc_attr extras[] = {SC_ATTR_STR("a.first", "x"), SC_ATTR_STR("n.middle", "y"),
                              SC_ATTR_STR("zz.last", "z"), SC_ATTR_INT("k.port", 80)};
    sc_attr_set base, set, plain;
    REQUIRE(sc_attr_set_prepare(&base, a, 4) == 0);
    CHECK_EQ(sc_metrics_record_set(h, 1.0, &base), 0);
    CHECK_EQ(sc_metrics_record(h, 1.0, a, 4), 0); /* the same series */
    for (size_t i = 0; i < SC_ATTR_COUNT(extras); i++) {
        a[4] = extras[i];
        REQUIRE(sc_attr_set_extend(&set, &base, 4) == 0);
        REQUIRE(sc_attr_set_prepare(&plain, a, 5) == 0);
        CHECK_EQ(set.n, plain.n);
        CHECK_EQ(memcmp(set.order, plain.order, plain.n), 0);
        CHECK(set.hash == plain.hash);
        CHECK(set.hash == sc_attr_set_hash(a, plain.order, plain.n));
        CHECK_EQ(sc_metrics_record_set(h, 1.0, &set), 0);
        CHECK_EQ(sc_metrics_record(h, 1.0, a, 5), 0);
    }
    CHECK_EQ(sc_metrics_series_count(h), 1 + SC_ATTR_COUNT(extras));
    a[4] = (sc_attr){.key = "", .type = SC_ATTR_STRING};
    CHECK_EQ(sc_attr_set_extend(&set, &base, 4), -EINVAL);
    const sc_metrics_snapshot *snap;
    REQUIRE(sc_metrics_collect(f.m, &snap) == 0);
    for (size_t i = 0; i < snap->metrics[0].n_points; i++)
        CHECK_EQ(snap->metrics[0].points[i].count, 2); /* every set hit twice, once each way */
    sc_metrics_snapshot_release(f.m);
    teardown(&f);
}

int main(void)
{
    RUN(counter_sums_per_set_whatever_the_order);
    RUN(cardinality_limit_overflows_and_keeps_totals);
    RUN(cumulative_start_time_is_fixed);
    RUN(delta_reports_changes_only_and_resets);
    RUN(gauge_keeps_last_value_and_updown_stays_cumulative);
    RUN(histogram_buckets_are_upper_inclusive);
    RUN(recording_into_existing_series_allocates_nothing);
    RUN(instrument_validation);
    RUN(schema_instruments_register);
    RUN(prepared_sets_match_plain_calls);
    return sc_test_summary();
}
