/* observer.c - owns: sc_observer's lifecycle, the per-batch line loop (parse, record, count), the
 * ring of seqs whose spans are in the span queue and the acknowledgements it allows, the
 * backpressure state, and the periodic self-metrics. Design notes are in observer.h. */
#include "accesslog/observer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "accesslog/layout.h"
#include "accesslog/line_record.h"

#define MAX_BATCH   512
#define MAX_RESERVE 64

struct sc_observer {
    const sc_env *env;
    sc_tail *tail;
    sc_recorder *recorder;
    sc_instrument *inst[SC_METRIC__COUNT];

    /* Seqs of this source's spans still in the span queue, oldest first. */
    uint64_t *ring;
    size_t cap, head, len;
    uint64_t last_seq;  /* highest line seq handled */
    uint64_t acked_seq; /* highest seq acknowledged to the tailer */
    uint64_t ack_limit; /* never acknowledge past this (set by a failed export while draining) */

    size_t batch, reserve; /* backpressure thresholds (observer.h) */
    int soft, hard;        /* paused by our own count / by the queue's on_full */
    int tail_paused;       /* what the tailer was last told */
    int started, stopped, closing;
    int logged_ring, logged_lost;

    uv_timer_t timer; /* self-metrics */
    uint32_t stats_ms;
    unsigned open; /* the timer and the tailer, until their close callbacks */
    sc_tail_stats reported;
    sc_observer_stats st;
    void (*closed)(void *arg);
    void *closed_arg;

    sc_accesslog_layout layout;
    sc_accesslog_fields fields;
};

/* ---- acknowledgement ------------------------------------------------------------------------- */

static void ack_tail(sc_observer *o)
{
    uint64_t to = o->len > 0 ? o->ring[o->head] - 1 : o->last_seq;
    if (to > o->ack_limit)
        to = o->ack_limit;
    if (to <= o->acked_seq || o->closing)
        return;
    o->acked_seq = to;
    (void)sc_tail_ack(o->tail, to);
}

static void ring_push(sc_observer *o, uint64_t seq)
{
    if (o->len == o->cap) { /* cannot happen: the queue holds at most cap spans */
        if (!o->logged_ring)
            sc_log_error(o->env->log, "access log: ack ring full; acknowledging early",
                         SC_F_UINT("capacity", o->cap));
        o->logged_ring = 1;
        return;
    }
    o->ring[(o->head + o->len) % o->cap] = seq;
    o->len++;
}

/* ---- backpressure ---------------------------------------------------------------------------- */

static void set_paused_gauge(sc_observer *o)
{
    (void)sc_metrics_set(o->inst[SC_METRIC_ACCESSLOG_PAUSED], o->st.paused ? 1.0 : 0.0, NULL, 0);
}

static void apply_pause(sc_observer *o)
{
    if (o->closing)
        return;
    if (!o->soft && o->cap - o->len < o->batch + o->reserve)
        o->soft = 1;
    else if (o->soft && o->len <= o->cap / 2)
        o->soft = 0;
    int want = o->soft || o->hard;
    if (want != o->st.paused) {
        o->st.paused = want;
        set_paused_gauge(o);
        sc_log_debug(o->env->log, want ? "access log: paused (span queue)" : "access log: resumed",
                     SC_F_UINT("spans_in_queue", o->len));
    }
    want = want || o->stopped;
    if (want == o->tail_paused)
        return;
    o->tail_paused = want;
    if (want)
        sc_tail_pause(o->tail);
    else
        sc_tail_resume(o->tail); /* may deliver lines right away (re-enters on_lines) */
}

void sc_observer_on_full(void *arg)
{
    sc_observer *o = arg;
    o->hard = 1;
    apply_pause(o);
}

void sc_observer_on_drained(void *arg)
{
    sc_observer *o = arg;
    o->hard = 0;
    apply_pause(o);
}

void sc_observer_on_ack(void *arg, sc_source source, uint64_t seq, int accepted)
{
    sc_observer *o = arg;
    if (source != SC_SOURCE_ACCESS_LOG || o->closing)
        return;
    uint64_t popped = 0, first = 0;
    while (o->len > 0 && o->ring[o->head] <= seq) {
        if (popped++ == 0)
            first = o->ring[o->head];
        o->head = (o->head + 1) % o->cap;
        o->len--;
    }
    if (accepted) {
        o->logged_lost = 0;
    } else if (popped > 0 && o->stopped) {
        if (first - 1 < o->ack_limit) /* cut off by the shutdown: read again next time */
            o->ack_limit = first - 1;
    } else if (popped > 0) {
        o->st.lost += popped;
        if (!o->logged_lost)
            sc_log_warn(o->env->log,
                        "access log: the exporter gave up on spans; their lines are acknowledged",
                        SC_F_UINT("spans", popped), SC_F_UINT("lost_total", o->st.lost));
        o->logged_lost = 1;
    }
    ack_tail(o);
    apply_pause(o);
}

/* ---- lines ----------------------------------------------------------------------------------- */

static void count_malformed(sc_observer *o, sc_accesslog_reason reason)
{
    const char *name = sc_accesslog_reason_name(reason);
    sc_attr a = SC_ATTR_STR(SC_ATTR_ERROR_TYPE, name ? name : SC_VALUE_OTHER);
    (void)sc_metrics_add(o->inst[SC_METRIC_ACCESSLOG_LINES_MALFORMED], 1, &a, 1);
    o->st.malformed++;
}

static void record_line(sc_observer *o, const sc_tail_line *line, uint64_t now_ns)
{
    sc_line_record lr;
    sc_line_record_build(&o->layout.routes, &o->fields, line->seq, now_ns, &lr);
    uint64_t before = sc_recorder_get_stats(o->recorder).spans_recorded;
    int rc = sc_recorder_attempt(o->recorder, &lr.rec);
    if (rc == SC_RECORDER_SAMPLED_OUT)
        o->st.sampled_out++;
    else if (rc == -ENOBUFS)
        o->st.span_drops++;
    if (sc_recorder_get_stats(o->recorder).spans_recorded != before) {
        o->st.spans++;
        ring_push(o, line->seq);
    }
}

static void on_lines(void *arg, const sc_tail_line *lines, size_t n)
{
    sc_observer *o = arg;
    uint64_t parsed = 0;
    uint64_t now_ns = sc_clock_wall_ns(o->env->clock);
    for (size_t i = 0; i < n; i++) {
        const sc_tail_line *l = &lines[i];
        o->last_seq = l->seq;
        if (sc_accesslog_layout_parse(&o->layout, l->p, l->len, &o->fields) != 0) {
            count_malformed(o, o->fields.reason);
            continue;
        }
        parsed++;
        record_line(o, l, now_ns);
    }
    o->st.lines += n;
    o->st.parsed += parsed;
    (void)sc_metrics_add(o->inst[SC_METRIC_ACCESSLOG_LINES_READ], (int64_t)n, NULL, 0);
    if (parsed > 0)
        (void)sc_metrics_add(o->inst[SC_METRIC_ACCESSLOG_LINES_PARSED], (int64_t)parsed, NULL, 0);
    ack_tail(o);
    apply_pause(o);
}

/* ---- self-metrics ---------------------------------------------------------------------------- */

static void add_delta(sc_instrument *inst, uint64_t now, uint64_t *was)
{
    if (now > *was)
        (void)sc_metrics_add(inst, (int64_t)(now - *was), NULL, 0);
    *was = now;
}

static void report(sc_observer *o)
{
    sc_tail_stats t;
    sc_tail_get_stats(o->tail, &t);
    add_delta(o->inst[SC_METRIC_ACCESSLOG_LINES_TOO_LONG], t.too_long, &o->reported.too_long);
    add_delta(o->inst[SC_METRIC_ACCESSLOG_ROTATIONS], t.rotations, &o->reported.rotations);
    add_delta(o->inst[SC_METRIC_ACCESSLOG_TRUNCATIONS], t.truncations, &o->reported.truncations);
    add_delta(o->inst[SC_METRIC_ACCESSLOG_CHECKPOINT_FAILURES], t.checkpoint_failures,
              &o->reported.checkpoint_failures);
    (void)sc_metrics_set(o->inst[SC_METRIC_ACCESSLOG_LAG], (double)t.lag_bytes, NULL, 0);
    set_paused_gauge(o);
}

static void on_timer(uv_timer_t *h)
{
    report(h->data);
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

static int tail_new(sc_observer *o, const sc_config_access_log *c, uint32_t reconcile_ms)
{
    sc_tail_opts to = {
        .path = c->path,
        .rotated_glob = c->rotated_glob,
        .checkpoint_path = c->checkpoint_path,
        .start = c->start_position == SC_ACCESS_LOG_START_BEGINNING ? SC_TAIL_START_BEGINNING
                                                                    : SC_TAIL_START_END,
        .no_inotify = c->no_inotify,
        .poll_interval_ms = (uint32_t)c->poll_interval_ms,
        .reconcile_interval_ms = reconcile_ms,
        .rotate_wait_ms = (uint32_t)c->rotate_wait_ms,
        .partial_flush_ms = (uint32_t)c->partial_flush_ms,
        .checkpoint_interval_ms = (uint32_t)c->checkpoint_interval_ms,
        .max_line = c->max_line_bytes,
        .max_batch = o->batch,
        .on_lines = on_lines,
        .arg = o,
    };
    return sc_tail_new(&o->tail, o->env, &to);
}

static int check_opts(const sc_env *env, const sc_observer_opts *opts)
{
    if (env == NULL || opts == NULL || opts->cfg == NULL || opts->cfg->path == NULL ||
        opts->recorder == NULL || opts->instruments == NULL || opts->queue_capacity == 0)
        return -EINVAL;
    for (int id = SC_METRIC_ACCESSLOG_LINES_READ; id <= SC_METRIC_ACCESSLOG_PAUSED; id++)
        if (opts->instruments[id] == NULL)
            return -EINVAL;
    return 0;
}

int sc_observer_new(sc_observer **out, const sc_env *env, const sc_observer_opts *opts, char *err,
                    size_t err_cap)
{
    *out = NULL;
    if (err_cap > 0)
        err[0] = '\0';
    if (check_opts(env, opts) != 0)
        return -EINVAL;
    sc_observer *o = calloc(1, sizeof *o);
    if (o == NULL)
        return -ENOMEM;
    o->env = env;
    o->recorder = opts->recorder;
    memcpy(o->inst, opts->instruments, sizeof o->inst);
    o->cap = opts->queue_capacity;
    o->batch = o->cap / 4 < MAX_BATCH ? (o->cap / 4 ? o->cap / 4 : 1) : MAX_BATCH;
    o->reserve = o->cap / 8 < MAX_RESERVE ? o->cap / 8 : MAX_RESERVE;
    o->ack_limit = UINT64_MAX;
    o->stats_ms = opts->stats_interval_ms ? opts->stats_interval_ms : SC_OBSERVER_DEFAULT_STATS_MS;
    int rc = sc_accesslog_layout_compile(opts->cfg, &o->layout, err, err_cap);
    if (rc != 0) {
        free(o);
        return -EINVAL;
    }
    o->ring = calloc(o->cap, sizeof *o->ring);
    if (o->ring == NULL || (rc = tail_new(o, opts->cfg, opts->reconcile_interval_ms)) != 0) {
        free(o->ring);
        free(o);
        return rc ? rc : -ENOMEM;
    }
    uv_timer_init(env->loop, &o->timer);
    o->timer.data = o;
    o->open = 2;
    *out = o;
    return 0;
}

int sc_observer_start(sc_observer *o)
{
    if (o->started || o->closing)
        return -EALREADY;
    int rc = sc_tail_start(o->tail);
    if (rc != 0)
        return rc;
    o->started = 1;
    /* Every series exists from the start, so a rate() over a fresh counter is 0, not absent. */
    static const sc_metric_id counters[] = {
        SC_METRIC_ACCESSLOG_LINES_READ,     SC_METRIC_ACCESSLOG_LINES_PARSED,
        SC_METRIC_ACCESSLOG_LINES_TOO_LONG, SC_METRIC_ACCESSLOG_ROTATIONS,
        SC_METRIC_ACCESSLOG_TRUNCATIONS,    SC_METRIC_ACCESSLOG_CHECKPOINT_FAILURES};
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        (void)sc_metrics_add(o->inst[counters[i]], 0, NULL, 0);
    set_paused_gauge(o);
    return uv_timer_start(&o->timer, on_timer, o->stats_ms, o->stats_ms);
}

void sc_observer_stop(sc_observer *o)
{
    if (o->stopped || o->closing)
        return;
    o->stopped = 1;
    o->tail_paused = 1;
    sc_tail_pause(o->tail);
    report(o);
    sc_log_info(o->env->log, "access log: stopped reading; waiting for queued spans",
                SC_F_UINT("spans_in_queue", o->len), SC_F_UINT("last_seq", o->last_seq),
                SC_F_UINT("acked_seq", o->acked_seq));
}

void sc_observer_get_stats(const sc_observer *o, sc_observer_stats *out)
{
    *out = o->st;
    out->acked_seq = o->acked_seq;
    out->in_queue = o->len;
    out->stopped = o->stopped;
    sc_tail_get_stats(o->tail, &out->tail);
}

static void part_closed(sc_observer *o)
{
    if (--o->open > 0)
        return;
    void (*cb)(void *) = o->closed;
    void *arg = o->closed_arg;
    free(o->ring);
    free(o);
    if (cb != NULL)
        cb(arg);
}

static void timer_closed(uv_handle_t *h)
{
    part_closed(h->data);
}

static void tail_closed(void *arg)
{
    part_closed(arg);
}

void sc_observer_close(sc_observer *o, void (*cb)(void *arg), void *arg)
{
    if (o == NULL || o->closing)
        return;
    o->closing = 1;
    o->closed = cb;
    o->closed_arg = arg;
    sc_log_info(o->env->log, "access log: closing", SC_F_UINT("lines", o->st.lines),
                SC_F_UINT("malformed", o->st.malformed), SC_F_UINT("acked_seq", o->acked_seq),
                SC_F_UINT("spans_lost", o->st.lost));
    uv_close((uv_handle_t *)&o->timer, timer_closed);
    sc_tail_close(o->tail, 1, tail_closed, o);
}
