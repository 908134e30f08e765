/* prom_accum.c - owns: the accumulated metrics (one block per series: point, buckets and a deep
 * copy of its attributes), the per-metric hash index, and the snapshot-shaped view. */
#include "export/prom_accum.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct series {
    uint64_t hash;
    sc_metric_point pt; /* attrs and bucket_counts point into this block */
} series;

typedef struct metric {
    char *name, *unit, *desc; /* one allocation, name first */
    sc_metric_kind kind;
    double *bounds;
    size_t n_bounds;
    series **list;
    size_t n, cap;
    size_t *index; /* open addressing over list positions + 1; 0 is empty */
    size_t index_cap;
    series *overflow;
    int overflow_logged;
    sc_metric_point *view;
    size_t view_cap;
} metric;

struct sc_prom_accum {
    metric *metrics;
    size_t n, cap;
    size_t limit;
    sc_log *log;
    sc_prom_accum_stats stats;
    sc_metric_data *view;
    sc_metrics_snapshot snap;
    uint64_t time_ns; /* latest collection merged */
};

static const uint8_t identity[SC_ATTR_SET_MAX] = {0, 1, 2,  3,  4,  5,  6,  7,
                                                  8, 9, 10, 11, 12, 13, 14, 15};
static const sc_attr overflow_attr = {
    .key = SC_ATTR_OTEL_METRIC_OVERFLOW, .type = SC_ATTR_BOOL, .v.b = 1};

int sc_prom_accum_new(sc_prom_accum **out, size_t series_limit, sc_log *log)
{
    *out = NULL;
    if (series_limit == 1)
        return -EINVAL;
    sc_prom_accum *a = calloc(1, sizeof *a);
    if (a == NULL)
        return -ENOMEM;
    a->limit = series_limit ? series_limit : SC_METRICS_DEFAULT_CARDINALITY_LIMIT;
    a->log = log;
    *out = a;
    return 0;
}

static void metric_free(metric *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->list[i]);
    free(m->list);
    free(m->index);
    free(m->name);
    free(m->bounds);
    free(m->view);
}

void sc_prom_accum_free(sc_prom_accum *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n; i++)
        metric_free(&a->metrics[i]);
    free(a->metrics);
    free(a->view);
    free(a);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 8;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (q == NULL)
        return -ENOMEM;
    *p = q;
    *cap = n;
    return 0;
}

/* The stored metric for md, created on first sight; NULL when md does not match it (kind or
 * buckets changed) or memory ran out (*err = -ENOMEM). */
static metric *metric_for(sc_prom_accum *a, const sc_metric_data *md, int *err)
{
    for (size_t i = 0; i < a->n; i++) {
        metric *m = &a->metrics[i];
        if (strcmp(m->name, md->name) != 0)
            continue;
        if (m->kind != md->kind || m->n_bounds != md->n_bounds ||
            (m->n_bounds && memcmp(m->bounds, md->bounds, m->n_bounds * sizeof(double)) != 0))
            return NULL;
        return m;
    }
    *err = -ENOMEM;
    if (grow((void **)&a->metrics, &a->cap, a->n + 1, sizeof *a->metrics) < 0)
        return NULL;
    const char *unit = md->unit ? md->unit : "", *desc = md->description ? md->description : "";
    size_t ln = strlen(md->name) + 1, lu = strlen(unit) + 1, ld = strlen(desc) + 1;
    metric m = {.kind = md->kind, .n_bounds = md->n_bounds};
    m.name = malloc(ln + lu + ld);
    if (md->n_bounds)
        m.bounds = malloc(md->n_bounds * sizeof(double));
    if (m.name == NULL || (md->n_bounds && m.bounds == NULL)) {
        free(m.name);
        free(m.bounds);
        return NULL;
    }
    m.unit = m.name + ln;
    m.desc = m.unit + lu;
    memcpy(m.name, md->name, ln);
    memcpy(m.unit, unit, lu);
    memcpy(m.desc, desc, ld);
    if (md->n_bounds)
        memcpy(m.bounds, md->bounds, md->n_bounds * sizeof(double));
    a->metrics[a->n] = m;
    *err = 0;
    return &a->metrics[a->n++];
}

static int same_attrs(const series *s, const sc_attr *attrs, size_t n)
{
    if (s->pt.n_attrs != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!sc_attr_equal(&s->pt.attrs[i], &attrs[i]))
            return 0;
    return 1;
}

static series *find(const metric *m, uint64_t h, const sc_attr *attrs, size_t n)
{
    if (m->index_cap == 0)
        return NULL;
    for (size_t i = h & (m->index_cap - 1);; i = (i + 1) & (m->index_cap - 1)) {
        size_t pos = m->index[i];
        if (pos == 0)
            return NULL;
        series *s = m->list[pos - 1];
        if (s->hash == h && same_attrs(s, attrs, n))
            return s;
    }
}

static void index_put(metric *m, size_t pos)
{
    size_t i = m->list[pos]->hash & (m->index_cap - 1);
    while (m->index[i] != 0)
        i = (i + 1) & (m->index_cap - 1);
    m->index[i] = pos + 1;
}

/* Keeps the index at most half full. */
static int index_reserve(metric *m, size_t n)
{
    if (n * 2 <= m->index_cap)
        return 0;
    size_t cap = m->index_cap ? m->index_cap * 2 : 16;
    while (n * 2 > cap)
        cap *= 2;
    size_t *idx = calloc(cap, sizeof *idx);
    if (idx == NULL)
        return -ENOMEM;
    free(m->index);
    m->index = idx;
    m->index_cap = cap;
    for (size_t i = 0; i < m->n; i++)
        index_put(m, i);
    return 0;
}

static series *series_new(metric *m, uint64_t h, const sc_attr *attrs, size_t n)
{
    size_t head = sizeof(series) +
                  (m->kind == SC_METRIC_KIND_HISTOGRAM ? (m->n_bounds + 1) * sizeof(uint64_t) : 0);
    head = (head + _Alignof(sc_attr) - 1) / _Alignof(sc_attr) * _Alignof(sc_attr);
    if (grow((void **)&m->list, &m->cap, m->n + 1, sizeof *m->list) < 0 ||
        index_reserve(m, m->n + 1) < 0)
        return NULL;
    series *s = calloc(1, head + sc_attr_set_copy_size(attrs, identity, n));
    if (s == NULL)
        return NULL;
    s->hash = h;
    s->pt.attrs = sc_attr_set_copy(attrs, identity, n, (char *)s + head);
    s->pt.n_attrs = n;
    s->pt.min = INFINITY;
    s->pt.max = -INFINITY;
    if (m->kind == SC_METRIC_KIND_HISTOGRAM)
        s->pt.bucket_counts = (const uint64_t *)(s + 1);
    m->list[m->n] = s;
    index_put(m, m->n++);
    return s;
}

static series *overflow_series(sc_prom_accum *a, metric *m)
{
    a->stats.overflow_points++;
    if (!m->overflow_logged) {
        m->overflow_logged = 1;
        sc_log_warn(a->log,
                    "prometheus view: series limit reached; new attribute sets go to "
                    "the otel.metric.overflow series",
                    SC_F_STR("metric", m->name), SC_F_UINT("limit", a->limit));
    }
    if (m->overflow == NULL) {
        uint64_t h = sc_attr_set_hash(&overflow_attr, identity, 1);
        m->overflow = find(m, h, &overflow_attr, 1);
        if (m->overflow == NULL)
            m->overflow = series_new(m, h, &overflow_attr, 1);
    }
    return m->overflow;
}

static void merge_point(metric *m, series *s, const sc_metric_point *p, int delta)
{
    sc_metric_point *q = &s->pt;
    uint64_t *buckets = (uint64_t *)(s + 1);
    if (q->start_ns == 0 || (p->start_ns != 0 && p->start_ns < q->start_ns))
        q->start_ns = p->start_ns;
    q->time_ns = p->time_ns;
    switch (m->kind) {
    case SC_METRIC_KIND_COUNTER:
        q->as_int = delta ? q->as_int + p->as_int : p->as_int;
        return;
    case SC_METRIC_KIND_UPDOWN_COUNTER:
        q->as_int = p->as_int;
        return;
    case SC_METRIC_KIND_GAUGE:
        q->as_double = p->as_double;
        return;
    case SC_METRIC_KIND_HISTOGRAM:
        break;
    }
    if (!delta) {
        q->count = q->sum = 0;
        q->min = INFINITY;
        q->max = -INFINITY;
        memset(buckets, 0, (m->n_bounds + 1) * sizeof *buckets);
    }
    q->count += p->count;
    q->sum += p->sum;
    if (p->count > 0 && p->min < q->min)
        q->min = p->min;
    if (p->count > 0 && p->max > q->max)
        q->max = p->max;
    for (size_t i = 0; p->bucket_counts != NULL && i <= m->n_bounds; i++)
        buckets[i] += p->bucket_counts[i];
}

static int merge_metric(sc_prom_accum *a, const sc_metric_data *md)
{
    int rc = 0;
    metric *m = metric_for(a, md, &rc);
    if (m == NULL) {
        a->stats.dropped_points += md->n_points;
        return rc;
    }
    int delta = md->temporality == SC_TEMPORALITY_DELTA &&
                (md->kind == SC_METRIC_KIND_COUNTER || md->kind == SC_METRIC_KIND_HISTOGRAM);
    for (size_t k = 0; k < md->n_points; k++) {
        const sc_metric_point *p = &md->points[k];
        if (p->n_attrs > SC_ATTR_SET_MAX) {
            a->stats.dropped_points++;
            continue;
        }
        uint64_t h = sc_attr_set_hash(p->attrs, identity, p->n_attrs);
        series *s = find(m, h, p->attrs, p->n_attrs);
        if (s == NULL)
            s = m->n + 1 < a->limit ? series_new(m, h, p->attrs, p->n_attrs)
                                    : overflow_series(a, m);
        if (s == NULL) {
            a->stats.dropped_points++;
            rc = -ENOMEM;
            continue;
        }
        merge_point(m, s, p, delta);
    }
    return rc;
}

int sc_prom_accum_merge(sc_prom_accum *a, const sc_metrics_snapshot *snap)
{
    int rc = 0;
    for (size_t i = 0; snap != NULL && i < snap->n_metrics; i++) {
        int r = merge_metric(a, &snap->metrics[i]);
        if (r != 0)
            rc = r;
    }
    if (snap != NULL && snap->time_ns > a->time_ns)
        a->time_ns = snap->time_ns;
    a->stats.merges++;
    return rc;
}

int sc_prom_accum_view(sc_prom_accum *a, const sc_metrics_snapshot **out)
{
    size_t cap = 0, n = 0, points = 0;
    sc_metric_data *view = a->view;
    if (a->n > 0) {
        /* The view array is sized to a->n; reallocate exactly when metrics were added. */
        view = realloc(a->view, a->n * sizeof *view);
        if (view == NULL)
            return -ENOMEM;
        a->view = view;
    }
    for (size_t i = 0; i < a->n; i++) {
        metric *m = &a->metrics[i];
        if (m->n == 0)
            continue;
        cap = m->view_cap;
        if (grow((void **)&m->view, &cap, m->n, sizeof *m->view) < 0)
            return -ENOMEM;
        m->view_cap = cap;
        for (size_t k = 0; k < m->n; k++)
            m->view[k] = m->list[k]->pt;
        view[n++] = (sc_metric_data){
            .name = m->name,
            .unit = m->unit,
            .description = m->desc,
            .kind = m->kind,
            .is_monotonic = m->kind == SC_METRIC_KIND_COUNTER,
            .temporality = m->kind == SC_METRIC_KIND_GAUGE ? SC_TEMPORALITY_UNSPECIFIED
                                                           : SC_TEMPORALITY_CUMULATIVE,
            .bounds = m->bounds,
            .n_bounds = m->n_bounds,
            .points = m->view,
            .n_points = m->n,
        };
        points += m->n;
    }
    a->snap = (sc_metrics_snapshot){view, n, points, a->time_ns};
    *out = &a->snap;
    return 0;
}

sc_prom_accum_stats sc_prom_accum_get_stats(const sc_prom_accum *a)
{
    sc_prom_accum_stats st = a->stats;
    st.series = 0;
    for (size_t i = 0; i < a->n; i++)
        st.series += a->metrics[i].n;
    return st;
}
