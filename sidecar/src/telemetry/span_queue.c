/* span_queue.c - owns: the slot ring, FIFO bookkeeping, per-source acknowledgement state and the
 * watermark transitions of sc_span_queue. */
#include "telemetry/span_queue.h"

#include <errno.h>
#include <stdlib.h>

/* Per-source acknowledgement state. `cur` is the newest seq seen released, possibly with more of
 * its spans still queued; `done` is the newest seq known complete but not yet reported. */
typedef struct ack_state {
    uint8_t have_cur, cur_ok, have_done, done_ok;
    uint64_t cur_seq, done_seq;
} ack_state;

struct sc_span_queue {
    sc_span *slots;
    size_t cap, low;
    size_t head;      /* oldest occupied slot (in flight first, then pending) */
    size_t n_flight;  /* slots head .. head+n_flight */
    size_t n_pending; /* the next n_pending slots */
    int reserved;     /* the slot after the pending ones is being filled */
    int congested;
    sc_span_queue_opts opts;
    sc_span_queue_stats stats;
    ack_state ack[SC_SOURCE__COUNT];
};

int sc_span_queue_new(sc_span_queue **out, const sc_span_queue_opts *opts)
{
    static const sc_span_queue_opts defaults = {0};
    sc_span_queue *q = NULL;
    if (opts == NULL)
        opts = &defaults;
    size_t cap = opts->capacity ? opts->capacity : SC_SPAN_QUEUE_DEFAULT_CAPACITY;
    size_t low = opts->low_watermark ? opts->low_watermark : cap / 2;
    *out = NULL;
    if (low >= cap)
        return -EINVAL;
    q = calloc(1, sizeof *q);
    if (q == NULL)
        return -ENOMEM;
    /* One calloc for all slots: large enough to be mmap'd, so untouched slots stay unbacked. */
    q->slots = calloc(cap, sizeof *q->slots);
    if (q->slots == NULL) {
        free(q);
        return -ENOMEM;
    }
    q->cap = cap;
    q->low = low;
    q->opts = *opts;
    *out = q;
    return 0;
}

void sc_span_queue_free(sc_span_queue *q)
{
    if (q == NULL)
        return;
    free(q->slots);
    free(q);
}

static size_t occupied(const sc_span_queue *q)
{
    return q->n_flight + q->n_pending;
}

static sc_span *slot_at(const sc_span_queue *q, size_t from_head)
{
    return &q->slots[(q->head + from_head) % q->cap];
}

sc_span *sc_span_queue_reserve(sc_span_queue *q)
{
    if (q->reserved)
        return NULL;
    if (occupied(q) == q->cap) {
        q->stats.rejected_full++;
        return NULL;
    }
    sc_span *s = slot_at(q, occupied(q));
    sc_span_reset(s);
    q->reserved = 1;
    return s;
}

void sc_span_queue_commit(sc_span_queue *q)
{
    if (!q->reserved)
        return;
    q->reserved = 0;
    q->n_pending++;
    q->stats.committed++;
    if (occupied(q) == q->cap && !q->congested) {
        q->congested = 1;
        if (q->opts.on_full)
            q->opts.on_full(q->opts.arg);
    }
}

void sc_span_queue_cancel(sc_span_queue *q)
{
    q->reserved = 0;
}

size_t sc_span_queue_peek(sc_span_queue *q, size_t max, sc_span **first, size_t *n_first,
                          sc_span **second, size_t *n_second)
{
    size_t n = max < q->n_pending ? max : q->n_pending;
    size_t start = (q->head + q->n_flight) % q->cap;
    size_t run1 = n < q->cap - start ? n : q->cap - start;
    *first = run1 ? &q->slots[start] : NULL;
    *n_first = run1;
    *second = n > run1 ? &q->slots[0] : NULL;
    *n_second = n - run1;
    return n;
}

size_t sc_span_queue_take(sc_span_queue *q, size_t n)
{
    if (n > q->n_pending)
        n = q->n_pending;
    q->n_pending -= n;
    q->n_flight += n;
    return n;
}

/* Moves the current seq into the completed-but-unreported state. */
static void ack_complete_cur(ack_state *a)
{
    a->done_ok = (uint8_t)(a->have_done ? (a->done_ok && a->cur_ok) : a->cur_ok);
    a->done_seq = a->cur_seq;
    a->have_done = 1;
    a->have_cur = 0;
}

/* Folds one released span into its source's acknowledgement state. Seqs are non-decreasing per
 * source, so a span with a new seq completes the previous one. */
static void ack_note(ack_state *a, uint64_t seq, int ok)
{
    if (a->have_cur && seq != a->cur_seq)
        ack_complete_cur(a);
    if (!a->have_cur) {
        a->have_cur = 1;
        a->cur_seq = seq;
        a->cur_ok = (uint8_t)ok;
    } else {
        a->cur_ok = (uint8_t)(a->cur_ok && ok);
    }
}

/* The current seq of `src` is complete unless the next queued span of that source shares it.
 * The scan stops at that source's first remaining span, which is normally close to the head. */
static int cur_complete(const sc_span_queue *q, sc_source src, uint64_t seq)
{
    for (size_t i = 0; i < occupied(q); i++) {
        const sc_span *s = slot_at(q, i);
        if (s->source == src)
            return s->source_seq != seq;
    }
    return 1;
}

typedef struct ack_report {
    sc_source source;
    uint64_t seq;
    int ok;
} ack_report;

size_t sc_span_queue_release(sc_span_queue *q, size_t n, int accepted)
{
    ack_report reports[SC_SOURCE__COUNT];
    size_t n_reports = 0;
    if (n > q->n_flight)
        n = q->n_flight;
    for (size_t i = 0; i < n; i++) {
        const sc_span *s = slot_at(q, i);
        if (s->source != SC_SOURCE_NONE && s->source < SC_SOURCE__COUNT)
            ack_note(&q->ack[s->source], s->source_seq, accepted);
    }
    q->head = (q->head + n) % q->cap;
    q->n_flight -= n;
    if (accepted)
        q->stats.released_ok += n;
    else
        q->stats.released_failed += n;

    for (int src = SC_SOURCE_NONE + 1; src < SC_SOURCE__COUNT; src++) {
        ack_state *a = &q->ack[src];
        if (a->have_cur && cur_complete(q, (sc_source)src, a->cur_seq))
            ack_complete_cur(a);
        if (a->have_done) {
            reports[n_reports++] = (ack_report){(sc_source)src, a->done_seq, a->done_ok};
            a->have_done = 0;
        }
    }
    int drained = q->congested && occupied(q) <= q->low;
    if (drained)
        q->congested = 0;

    /* Callbacks last, so they see (and may change) a consistent queue. */
    for (size_t i = 0; i < n_reports && q->opts.on_ack; i++)
        q->opts.on_ack(q->opts.arg, reports[i].source, reports[i].seq, reports[i].ok);
    if (drained && q->opts.on_drained)
        q->opts.on_drained(q->opts.arg);
    return n;
}

size_t sc_span_queue_capacity(const sc_span_queue *q)
{
    return q->cap;
}

size_t sc_span_queue_size(const sc_span_queue *q)
{
    return occupied(q);
}

size_t sc_span_queue_pending(const sc_span_queue *q)
{
    return q->n_pending;
}

size_t sc_span_queue_in_flight(const sc_span_queue *q)
{
    return q->n_flight;
}

size_t sc_span_queue_free_slots(const sc_span_queue *q)
{
    return q->cap - occupied(q) - (q->reserved ? 1 : 0);
}

int sc_span_queue_congested(const sc_span_queue *q)
{
    return q->congested;
}

sc_span_queue_stats sc_span_queue_get_stats(const sc_span_queue *q)
{
    return q->stats;
}
