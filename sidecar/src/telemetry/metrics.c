/* metrics.c - owns: the registry, instruments, the per-instrument series table (open addressing
 * over a creation-ordered list), cardinality overflow, aggregation, and collection snapshots. */
#include "telemetry/metrics.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct series {
    uint64_t hash;
    sc_attr *attrs; /* canonical deep copy inside this allocation */
    size_t n_attrs;
    uint64_t start_ns; /* creation time: the cumulative start */
    int updated;       /* measured since the last collection */
    int64_t ival;      /* COUNTER, UPDOWN_COUNTER */
    double dval;       /* GAUGE */
    uint64_t count;    /* HISTOGRAM ... */
    double sum, min, max;
    uint64_t buckets[]; /* n_bounds + 1 */
} series;

struct sc_instrument {
    sc_metrics *m;
    const char *name, *unit, *desc; /* inside this allocation */
    const double *bounds;
    size_t n_bounds;
    sc_metric_kind kind;
    int delta;     /* unreported series are forgotten; counters/histograms report changes */
    series **list; /* creation order, overflow series included */
    size_t n, cap;
    uint32_t *index; /* open addressing over regular series: list position + 1, 0 = empty */
    size_t index_cap;
    series *overflow;
    int overflow_logged;
};

struct sc_metrics {
    sc_metrics_opts opts;
    sc_metrics_allocator al;
    size_t limit;
    uint64_t last_collect_ns; /* creation time until the first collection */
    sc_instrument **insts;
    size_t n_insts, insts_cap;
    sc_metrics_stats stats;
    /* Snapshot storage, reused across collections. */
    int snap_busy;
    sc_metrics_snapshot snap;
    sc_metric_data *snap_metrics;
    sc_metric_point *snap_points;
    uint64_t *snap_buckets;
    size_t snap_metrics_cap, snap_points_cap, snap_buckets_cap;
};

static void *std_alloc(void *ctx, size_t size)
{
    (void)ctx;
    return malloc(size);
}

static void std_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static void *xalloc(sc_metrics *m, size_t size)
{
    return m->al.alloc(m->al.ctx, size);
}

static void xfree(sc_metrics *m, void *p)
{
    if (p != NULL)
        m->al.free(m->al.ctx, p);
}

/* Ensures *buf holds `need` elements; contents are preserved. Allocation, never on a hot path. */
static int reserve(sc_metrics *m, void **buf, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 4;
    while (ncap < need)
        ncap *= 2;
    void *nb = xalloc(m, ncap * elem);
    if (nb == NULL)
        return -ENOMEM;
    if (*buf != NULL) {
        memcpy(nb, *buf, *cap * elem);
        xfree(m, *buf);
    }
    *buf = nb;
    *cap = ncap;
    return 0;
}

int sc_metrics_new(sc_metrics **out, const sc_metrics_opts *opts)
{
    *out = NULL;
    if (opts == NULL || opts->clock == NULL || opts->temporality > SC_TEMPORALITY_CUMULATIVE ||
        opts->cardinality_limit == 1)
        return -EINVAL;
    sc_metrics_allocator al = {std_alloc, std_free, NULL};
    if (opts->allocator != NULL)
        al = *opts->allocator;
    sc_metrics *m = al.alloc(al.ctx, sizeof *m);
    if (m == NULL)
        return -ENOMEM;
    memset(m, 0, sizeof *m);
    m->opts = *opts;
    m->al = al;
    m->opts.allocator = &m->al;
    if (m->opts.temporality == SC_TEMPORALITY_UNSPECIFIED)
        m->opts.temporality = SC_TEMPORALITY_CUMULATIVE;
    m->limit =
        opts->cardinality_limit ? opts->cardinality_limit : SC_METRICS_DEFAULT_CARDINALITY_LIMIT;
    m->last_collect_ns = sc_clock_wall_ns(opts->clock);
    *out = m;
    return 0;
}

static void instrument_free(sc_metrics *m, sc_instrument *inst)
{
    for (size_t i = 0; i < inst->n; i++)
        xfree(m, inst->list[i]);
    xfree(m, inst->list);
    xfree(m, inst->index);
    xfree(m, inst);
}

void sc_metrics_free(sc_metrics *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n_insts; i++)
        instrument_free(m, m->insts[i]);
    xfree(m, m->insts);
    xfree(m, m->snap_metrics);
    xfree(m, m->snap_points);
    xfree(m, m->snap_buckets);
    m->al.free(m->al.ctx, m);
}

/* ---- Instruments ----------------------------------------------------------------------------- */

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* OTel API instrument name syntax. */
static int valid_name(const char *s)
{
    if (s == NULL || !is_alpha(s[0]) || strlen(s) > 255)
        return 0;
    for (const char *p = s + 1; *p; p++)
        if (!is_alpha(*p) && !(*p >= '0' && *p <= '9') && !strchr("_.-/", *p))
            return 0;
    return 1;
}

static int valid_def(const sc_metric_def *d)
{
    if (!valid_name(d->name) || d->unit == NULL || strlen(d->unit) > 63)
        return 0;
    for (const char *p = d->unit; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            return 0;
    if (d->kind < SC_METRIC_KIND_COUNTER || d->kind > SC_METRIC_KIND_HISTOGRAM)
        return 0;
    if (d->kind != SC_METRIC_KIND_HISTOGRAM)
        return 1;
    if (d->n_bounds > SC_METRICS_MAX_BOUNDS || (d->n_bounds > 0 && d->bounds == NULL))
        return 0;
    for (size_t i = 0; i < d->n_bounds; i++)
        if (!isfinite(d->bounds[i]) || (i > 0 && !(d->bounds[i] > d->bounds[i - 1])))
            return 0;
    return 1;
}

static char *copy_str(char **cursor, const char *s)
{
    size_t len = strlen(s) + 1;
    char *dst = memcpy(*cursor, s, len);
    *cursor += len;
    return dst;
}

int sc_metrics_instrument(sc_metrics *m, const sc_metric_def *def, sc_instrument **out)
{
    *out = NULL;
    if (def == NULL || !valid_def(def))
        return -EINVAL;
    for (size_t i = 0; i < m->n_insts; i++)
        if (strcasecmp(m->insts[i]->name, def->name) == 0) /* OTel names are case-insensitive */
            return -EEXIST;
    const char *desc = def->description ? def->description : "";
    size_t n_bounds = def->kind == SC_METRIC_KIND_HISTOGRAM ? def->n_bounds : 0;
    size_t size = sizeof(sc_instrument) + n_bounds * sizeof(double) + strlen(def->name) +
                  strlen(def->unit) + strlen(desc) + 3;
    if (reserve(m, (void **)&m->insts, &m->insts_cap, m->n_insts + 1, sizeof *m->insts) < 0)
        return -ENOMEM;
    sc_instrument *inst = xalloc(m, size);
    if (inst == NULL)
        return -ENOMEM;
    memset(inst, 0, sizeof *inst);
    double *bounds = (double *)(inst + 1);
    if (n_bounds)
        memcpy(bounds, def->bounds, n_bounds * sizeof(double));
    char *cursor = (char *)(bounds + n_bounds);
    inst->m = m;
    inst->name = copy_str(&cursor, def->name);
    inst->unit = copy_str(&cursor, def->unit);
    inst->desc = copy_str(&cursor, desc);
    inst->bounds = bounds;
    inst->n_bounds = n_bounds;
    inst->kind = def->kind;
    inst->delta =
        m->opts.temporality == SC_TEMPORALITY_DELTA && def->kind != SC_METRIC_KIND_UPDOWN_COUNTER;
    m->insts[m->n_insts++] = inst;
    *out = inst;
    return 0;
}

int sc_metrics_register_schema(sc_metrics *m, sc_instrument *out[SC_METRIC__COUNT])
{
    for (int id = 0; id < SC_METRIC__COUNT; id++) {
        int rc = sc_metrics_instrument(m, sc_schema_metric((sc_metric_id)id), &out[id]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- Series lookup --------------------------------------------------------------------------- */

static int series_matches(const series *s, const sc_attr_set *set)
{
    if (s->n_attrs != set->n)
        return 0;
    for (size_t k = 0; k < set->n; k++)
        if (!sc_attr_equal(&s->attrs[k], &set->attrs[set->order[k]]))
            return 0;
    return 1;
}

static series *index_find(const sc_instrument *inst, const sc_attr_set *set)
{
    if (inst->index_cap == 0)
        return NULL;
    size_t mask = inst->index_cap - 1;
    for (size_t i = set->hash & mask;; i = (i + 1) & mask) {
        uint32_t v = inst->index[i];
        if (v == 0)
            return NULL;
        series *s = inst->list[v - 1];
        if (s->hash == set->hash && series_matches(s, set))
            return s;
    }
}

static void index_put(sc_instrument *inst, size_t pos)
{
    size_t mask = inst->index_cap - 1;
    size_t i = inst->list[pos]->hash & mask;
    while (inst->index[i] != 0)
        i = (i + 1) & mask;
    inst->index[i] = (uint32_t)(pos + 1);
}

/* Rebuilds the index from the list (after growth or eviction); the overflow series is not
 * indexed: it is found through inst->overflow. */
static void index_rebuild(sc_instrument *inst)
{
    if (inst->index_cap == 0)
        return;
    memset(inst->index, 0, inst->index_cap * sizeof *inst->index);
    for (size_t pos = 0; pos < inst->n; pos++)
        if (inst->list[pos] != inst->overflow)
            index_put(inst, pos);
}

/* Room for one more series in the list and (load <= 1/2) in the index. */
static int make_room(sc_instrument *inst)
{
    sc_metrics *m = inst->m;
    if (reserve(m, (void **)&inst->list, &inst->cap, inst->n + 1, sizeof *inst->list) < 0)
        return -ENOMEM;
    if ((inst->n + 1) * 2 <= inst->index_cap)
        return 0;
    size_t ncap = inst->index_cap ? inst->index_cap * 2 : 8;
    uint32_t *nidx = xalloc(m, ncap * sizeof *nidx);
    if (nidx == NULL)
        return -ENOMEM;
    xfree(m, inst->index);
    inst->index = nidx;
    inst->index_cap = ncap;
    index_rebuild(inst);
    return 0;
}

static series *series_new(sc_instrument *inst, const sc_attr *attrs, const uint8_t *order, size_t n,
                          uint64_t hash)
{
    sc_metrics *m = inst->m;
    size_t head = sizeof(series) + (inst->n_bounds + 1) * sizeof(uint64_t);
    if (make_room(inst) < 0)
        return NULL;
    series *s = xalloc(m, head + sc_attr_set_copy_size(attrs, order, n));
    if (s == NULL)
        return NULL;
    memset(s, 0, head);
    s->hash = hash;
    s->attrs = sc_attr_set_copy(attrs, order, n, (char *)s + head);
    s->n_attrs = n;
    s->start_ns = sc_clock_wall_ns(m->opts.clock);
    s->min = INFINITY;
    s->max = -INFINITY;
    inst->list[inst->n++] = s;
    return s;
}

static series *overflow_series(sc_instrument *inst)
{
    sc_metrics *m = inst->m;
    if (inst->overflow == NULL) {
        static const sc_attr flag = {
            .key = SC_ATTR_OTEL_METRIC_OVERFLOW, .type = SC_ATTR_BOOL, .v.b = 1};
        static const uint8_t order0[1] = {0};
        inst->overflow = series_new(inst, &flag, order0, 1, 0);
        if (inst->overflow == NULL)
            return NULL;
    }
    m->stats.overflow_measurements++;
    if (!inst->overflow_logged) {
        inst->overflow_logged = 1;
        sc_log_warn(m->opts.log, "metric cardinality limit reached; new attribute sets overflow",
                    SC_F_STR("metric", inst->name), SC_F_UINT("limit", m->limit));
    }
    return inst->overflow;
}

/* The series for this measurement, found with no allocation when it exists. */
static int lookup_set(sc_instrument *inst, sc_metric_kind kind, const sc_attr_set *set,
                      series **out)
{
    if (inst == NULL || inst->kind != kind)
        return -EINVAL;
    series *s = index_find(inst, set);
    if (s == NULL) {
        size_t regular = inst->n - (inst->overflow ? 1 : 0);
        s = regular + 1 >= inst->m->limit
                ? overflow_series(inst)
                : series_new(inst, set->attrs, set->order, set->n, set->hash);
        if (s == NULL)
            return -ENOMEM;
        if (s != inst->overflow)
            index_put(inst, inst->n - 1);
    }
    s->updated = 1;
    *out = s;
    return 0;
}

static int lookup(sc_instrument *inst, sc_metric_kind kind, const sc_attr *attrs, size_t n,
                  series **out)
{
    sc_attr_set set;
    if (inst == NULL || inst->kind != kind || (n > 0 && attrs == NULL))
        return -EINVAL;
    int rc = sc_attr_set_prepare(&set, attrs, n);
    return rc < 0 ? rc : lookup_set(inst, kind, &set, out);
}

static int dropped(sc_instrument *inst, int rc)
{
    if (inst != NULL)
        inst->m->stats.dropped_measurements++;
    return rc;
}

int sc_metrics_add(sc_instrument *inst, int64_t delta, const sc_attr *attrs, size_t n)
{
    series *s;
    sc_metric_kind kind = inst ? inst->kind : SC_METRIC_KIND_COUNTER;
    if (kind == SC_METRIC_KIND_COUNTER && delta < 0)
        return dropped(inst, -EINVAL);
    if (kind != SC_METRIC_KIND_COUNTER && kind != SC_METRIC_KIND_UPDOWN_COUNTER)
        return dropped(inst, -EINVAL);
    int rc = lookup(inst, kind, attrs, n, &s);
    if (rc < 0)
        return dropped(inst, rc);
    s->ival += delta;
    return 0;
}

int sc_metrics_observe(sc_instrument *inst, int64_t value, const sc_attr *attrs, size_t n)
{
    series *s;
    int rc = lookup(inst, SC_METRIC_KIND_UPDOWN_COUNTER, attrs, n, &s);
    if (rc < 0)
        return dropped(inst, rc);
    s->ival = value;
    return 0;
}

int sc_metrics_set(sc_instrument *inst, double value, const sc_attr *attrs, size_t n)
{
    series *s;
    if (isnan(value))
        return dropped(inst, -EINVAL);
    int rc = lookup(inst, SC_METRIC_KIND_GAUGE, attrs, n, &s);
    if (rc < 0)
        return dropped(inst, rc);
    s->dval = value;
    return 0;
}

/* Bucket i holds (bounds[i-1], bounds[i]]: the first bound >= v. */
static size_t bucket_of(const double *bounds, size_t n, double v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v <= bounds[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static void record(sc_instrument *inst, double value, series *s)
{
    s->buckets[bucket_of(inst->bounds, inst->n_bounds, value)]++;
    s->count++;
    s->sum += value;
    if (value < s->min)
        s->min = value;
    if (value > s->max)
        s->max = value;
}

int sc_metrics_record(sc_instrument *inst, double value, const sc_attr *attrs, size_t n)
{
    series *s;
    int rc = isfinite(value) ? lookup(inst, SC_METRIC_KIND_HISTOGRAM, attrs, n, &s) : -EINVAL;
    if (rc < 0)
        return dropped(inst, rc);
    record(inst, value, s);
    return 0;
}

int sc_metrics_record_set(sc_instrument *inst, double value, const sc_attr_set *set)
{
    series *s;
    int rc = isfinite(value) ? lookup_set(inst, SC_METRIC_KIND_HISTOGRAM, set, &s) : -EINVAL;
    if (rc < 0)
        return dropped(inst, rc);
    record(inst, value, s);
    return 0;
}

/* ---- Collection ------------------------------------------------------------------------------ */

static int reported(const sc_instrument *inst, const series *s)
{
    return !inst->delta || s->updated;
}

static void fill_point(const sc_instrument *inst, series *s, sc_metric_point *p, uint64_t *buckets,
                       uint64_t start_ns, uint64_t now)
{
    memset(p, 0, sizeof *p);
    p->attrs = s->attrs;
    p->n_attrs = s->n_attrs;
    p->time_ns = now;
    p->start_ns = inst->kind == SC_METRIC_KIND_GAUGE ? 0 : inst->delta ? start_ns : s->start_ns;
    p->as_int = s->ival;
    p->as_double = s->dval;
    if (inst->kind == SC_METRIC_KIND_HISTOGRAM) {
        p->count = s->count;
        p->sum = s->sum;
        p->min = s->min;
        p->max = s->max;
        memcpy(buckets, s->buckets, (inst->n_bounds + 1) * sizeof *buckets);
        p->bucket_counts = buckets;
    }
    s->updated = 0;
    if (!inst->delta)
        return;
    /* Delta: the next interval starts from zero (min/max too). */
    s->ival = 0;
    s->count = 0;
    s->sum = 0;
    s->min = INFINITY;
    s->max = -INFINITY;
    memset(s->buckets, 0, (inst->n_bounds + 1) * sizeof *s->buckets);
}

/* Delta: series with nothing to report are forgotten, freeing cardinality. */
static void evict_idle(sc_instrument *inst)
{
    size_t w = 0;
    for (size_t r = 0; r < inst->n; r++) {
        series *s = inst->list[r];
        if (reported(inst, s)) {
            inst->list[w++] = s;
            continue;
        }
        if (s == inst->overflow)
            inst->overflow = NULL;
        xfree(inst->m, s);
    }
    if (w != inst->n) {
        inst->n = w;
        index_rebuild(inst);
    }
}

int sc_metrics_collect(sc_metrics *m, const sc_metrics_snapshot **out)
{
    size_t n_metrics = 0, n_points = 0, n_buckets = 0;
    if (m->snap_busy)
        return -EBUSY;
    uint64_t now = sc_clock_wall_ns(m->opts.clock);
    for (size_t i = 0; i < m->n_insts; i++) {
        sc_instrument *inst = m->insts[i];
        size_t np = 0;
        for (size_t k = 0; k < inst->n; k++)
            np += reported(inst, inst->list[k]);
        n_metrics += np > 0;
        n_points += np;
        if (inst->kind == SC_METRIC_KIND_HISTOGRAM)
            n_buckets += np * (inst->n_bounds + 1);
    }
    if (reserve(m, (void **)&m->snap_metrics, &m->snap_metrics_cap, n_metrics,
                sizeof *m->snap_metrics) < 0 ||
        reserve(m, (void **)&m->snap_points, &m->snap_points_cap, n_points,
                sizeof *m->snap_points) < 0 ||
        reserve(m, (void **)&m->snap_buckets, &m->snap_buckets_cap, n_buckets,
                sizeof *m->snap_buckets) < 0)
        return -ENOMEM;

    sc_metric_data *md = m->snap_metrics;
    sc_metric_point *pt = m->snap_points;
    uint64_t *bk = m->snap_buckets;
    for (size_t i = 0; i < m->n_insts; i++) {
        sc_instrument *inst = m->insts[i];
        if (inst->delta)
            evict_idle(inst);
        if (inst->n == 0)
            continue;
        *md = (sc_metric_data){
            .name = inst->name,
            .unit = inst->unit,
            .description = inst->desc,
            .kind = inst->kind,
            .is_monotonic = inst->kind == SC_METRIC_KIND_COUNTER,
            .temporality = inst->kind == SC_METRIC_KIND_GAUGE ? SC_TEMPORALITY_UNSPECIFIED
                           : inst->delta                      ? SC_TEMPORALITY_DELTA
                                                              : SC_TEMPORALITY_CUMULATIVE,
            .bounds = inst->n_bounds ? inst->bounds : NULL,
            .n_bounds = inst->n_bounds,
            .points = pt,
            .n_points = inst->n,
        };
        for (size_t k = 0; k < inst->n; k++, pt++) {
            fill_point(inst, inst->list[k], pt, bk, m->last_collect_ns, now);
            if (inst->kind == SC_METRIC_KIND_HISTOGRAM)
                bk += inst->n_bounds + 1;
        }
        md++;
    }
    m->snap = (sc_metrics_snapshot){m->snap_metrics, n_metrics, n_points, now};
    m->last_collect_ns = now;
    m->snap_busy = 1;
    *out = &m->snap;
    return 0;
}

void sc_metrics_snapshot_release(sc_metrics *m)
{
    m->snap_busy = 0;
}

sc_metrics_stats sc_metrics_get_stats(const sc_metrics *m)
{
    return m->stats;
}

size_t sc_metrics_series_count(const sc_instrument *inst)
{
    return inst->n;
}
