/* test_telemetry_span_queue.c - tests for telemetry/span_queue: FIFO order, full, wraparound,
 * in-flight protection, watermarks and per-source acknowledgements. */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "telemetry/span_queue.h"

typedef struct events {
    int full, drained;
    int n_acks;
    sc_source ack_source[16];
    uint64_t ack_seq[16];
    int ack_ok[16];
} events;

static void on_full(void *arg)
{
    ((events *)arg)->full++;
}

static void on_drained(void *arg)
{
    ((events *)arg)->drained++;
}

static void on_ack(void *arg, sc_source source, uint64_t seq, int accepted)
{
    events *e = arg;
    if (e->n_acks < 16) {
        e->ack_source[e->n_acks] = source;
        e->ack_seq[e->n_acks] = seq;
        e->ack_ok[e->n_acks] = accepted;
    }
    e->n_acks++;
}

static sc_span_queue *make(size_t cap, size_t low, events *e)
{
    memset(e, 0, sizeof *e);
    sc_span_queue_opts o = {.capacity = cap,
                            .low_watermark = low,
                            .on_full = on_full,
                            .on_drained = on_drained,
                            .on_ack = on_ack,
                            .arg = e};
    sc_span_queue *q = NULL;
    if (sc_span_queue_new(&q, &o) != 0)
        return NULL;
    return q;
}

/* Commits one span tagged (source, seq) whose start_ns is `tag`. */
static int push(sc_span_queue *q, sc_source source, uint64_t seq, uint64_t tag)
{
    sc_span *s = sc_span_queue_reserve(q);
    if (s == NULL)
        return -ENOBUFS;
    s->source = (uint8_t)source;
    s->source_seq = seq;
    s->start_ns = tag;
    sc_span_queue_commit(q);
    return 0;
}

static void queue_rejects_bad_opts(void)
{
    sc_span_queue *q = (sc_span_queue *)1;
    sc_span_queue_opts o = {.capacity = 4, .low_watermark = 4};
    CHECK_EQ(sc_span_queue_new(&q, &o), -EINVAL);
    CHECK(q == NULL);
    sc_span_queue_opts d = {0};
    REQUIRE(sc_span_queue_new(&q, &d) == 0);
    CHECK_EQ(sc_span_queue_capacity(q), SC_SPAN_QUEUE_DEFAULT_CAPACITY);
    sc_span_queue_free(q);
    sc_span_queue_free(NULL);
}

static void queue_fifo_full_and_counts(void)
{
    events e;
    sc_span_queue *q = make(4, 1, &e);
    REQUIRE(q != NULL);
    for (uint64_t i = 0; i < 4; i++)
        CHECK_EQ(push(q, SC_SOURCE_NONE, 0, 100 + i), 0);
    CHECK_EQ(sc_span_queue_size(q), 4);
    CHECK_EQ(sc_span_queue_free_slots(q), 0);
    CHECK(sc_span_queue_reserve(q) == NULL);
    CHECK(sc_span_queue_reserve(q) == NULL);
    CHECK_EQ(sc_span_queue_get_stats(q).rejected_full, 2);

    sc_span *a, *b;
    size_t na, nb;
    CHECK_EQ(sc_span_queue_peek(q, 3, &a, &na, &b, &nb), 3);
    CHECK_EQ(na, 3);
    CHECK_EQ(nb, 0);
    CHECK(b == NULL);
    CHECK_EQ(a[0].start_ns, 100);
    CHECK_EQ(a[2].start_ns, 102);
    CHECK_EQ(sc_span_queue_take(q, 3), 3);
    CHECK_EQ(sc_span_queue_in_flight(q), 3);
    CHECK_EQ(sc_span_queue_pending(q), 1);
    CHECK_EQ(sc_span_queue_peek(q, 10, &a, &na, &b, &nb), 1);
    CHECK_EQ(a[0].start_ns, 103);
    CHECK_EQ(sc_span_queue_release(q, 2, 1), 2);
    CHECK_EQ(sc_span_queue_size(q), 2);
    CHECK_EQ(sc_span_queue_release(q, 5, 0), 1); /* only one more was in flight */
    sc_span_queue_stats st = sc_span_queue_get_stats(q);
    CHECK_EQ(st.committed, 4);
    CHECK_EQ(st.released_ok, 2);
    CHECK_EQ(st.released_failed, 1);

    /* One reservation at a time; cancel gives the slot back. */
    sc_span *r = sc_span_queue_reserve(q);
    REQUIRE(r != NULL);
    CHECK(sc_span_queue_reserve(q) == NULL);
    CHECK_EQ(sc_span_queue_free_slots(q), 2);
    sc_span_queue_cancel(q);
    CHECK_EQ(sc_span_queue_free_slots(q), 3);
    CHECK_EQ(sc_span_queue_size(q), 1);
    sc_span_queue_free(q);
}

static void queue_wraps_and_never_reuses_in_flight_slots(void)
{
    events e;
    sc_span_queue *q = make(4, 1, &e);
    REQUIRE(q != NULL);
    for (uint64_t i = 0; i < 3; i++)
        push(q, SC_SOURCE_NONE, 0, i);
    sc_span_queue_take(q, 2);
    sc_span_queue_release(q, 2, 1); /* head is now slot 2 */
    for (uint64_t i = 3; i < 6; i++)
        CHECK_EQ(push(q, SC_SOURCE_NONE, 0, i), 0); /* slots 3, 0, 1 */
    CHECK_EQ(push(q, SC_SOURCE_NONE, 0, 99), -ENOBUFS);

    sc_span *a, *b;
    size_t na, nb;
    CHECK_EQ(sc_span_queue_peek(q, 4, &a, &na, &b, &nb), 4);
    REQUIRE(na == 2 && nb == 2);
    CHECK_EQ(a[0].start_ns, 2);
    CHECK_EQ(a[1].start_ns, 3);
    CHECK_EQ(b[0].start_ns, 4);
    CHECK_EQ(b[1].start_ns, 5);
    CHECK(b + 1 < a); /* the second run really is the ring's start */

    /* Everything in flight: no slot may be handed out, whatever is released later. */
    sc_span_queue_take(q, 4);
    CHECK(sc_span_queue_reserve(q) == NULL);
    sc_span_queue_release(q, 1, 1);
    sc_span *s = sc_span_queue_reserve(q);
    REQUIRE(s != NULL);
    CHECK(s == a);              /* exactly the one released slot */
    CHECK_EQ(s->start_ns, 0);   /* reset on reserve */
    CHECK_EQ(b[1].start_ns, 5); /* in-flight spans untouched */
    sc_span_queue_cancel(q);
    sc_span_queue_free(q);
}

static void queue_watermarks_fire_once_per_transition(void)
{
    events e;
    sc_span_queue *q = make(4, 1, &e);
    REQUIRE(q != NULL);
    for (int i = 0; i < 4; i++)
        push(q, SC_SOURCE_NONE, 0, 0);
    CHECK_EQ(e.full, 1);
    CHECK(sc_span_queue_congested(q));
    push(q, SC_SOURCE_NONE, 0, 0); /* rejected: no second on_full */
    CHECK_EQ(e.full, 1);
    sc_span_queue_take(q, 4);
    sc_span_queue_release(q, 2, 1); /* size 2 > low 1 */
    CHECK_EQ(e.drained, 0);
    push(q, SC_SOURCE_NONE, 0, 0);
    push(q, SC_SOURCE_NONE, 0, 0); /* full again while still congested: no new on_full */
    CHECK_EQ(e.full, 1);
    sc_span_queue_release(q, 2, 1); /* size 2 */
    sc_span_queue_take(q, 2);
    sc_span_queue_release(q, 1, 1); /* size 1 <= low */
    CHECK_EQ(e.drained, 1);
    CHECK(!sc_span_queue_congested(q));
    sc_span_queue_release(q, 1, 1);
    CHECK_EQ(e.drained, 1);
    for (int i = 0; i < 4; i++)
        push(q, SC_SOURCE_NONE, 0, 0);
    CHECK_EQ(e.full, 2); /* a new transition */
    sc_span_queue_free(q);
}

static void queue_acks_highest_complete_seq_per_source(void)
{
    events e;
    sc_span_queue *q = make(16, 0, &e);
    REQUIRE(q != NULL);
    /* access_log lines 1, 2, 2 (two spans for line 2), 3; canary run 10; one internal span. */
    push(q, SC_SOURCE_ACCESS_LOG, 1, 0);
    push(q, SC_SOURCE_CANARY, 10, 0);
    push(q, SC_SOURCE_ACCESS_LOG, 2, 0);
    push(q, SC_SOURCE_NONE, 0, 0);
    push(q, SC_SOURCE_ACCESS_LOG, 2, 0);
    push(q, SC_SOURCE_ACCESS_LOG, 3, 0);

    sc_span_queue_take(q, 3); /* lines 1, 2(first half), run 10 */
    sc_span_queue_release(q, 3, 1);
    REQUIRE(e.n_acks == 2);
    CHECK_EQ(e.ack_source[0], SC_SOURCE_CANARY);
    CHECK_EQ(e.ack_seq[0], 10);
    CHECK_EQ(e.ack_source[1], SC_SOURCE_ACCESS_LOG);
    CHECK_EQ(e.ack_seq[1], 1); /* not 2: its second span is still queued */
    CHECK_EQ(e.ack_ok[1], 1);

    sc_span_queue_take(q, 2); /* internal, line 2 (second half) */
    sc_span_queue_release(q, 2, 0);
    REQUIRE(e.n_acks == 3);
    CHECK_EQ(e.ack_source[2], SC_SOURCE_ACCESS_LOG);
    CHECK_EQ(e.ack_seq[2], 2);
    CHECK_EQ(e.ack_ok[2], 0); /* half of line 2 was not accepted */

    sc_span_queue_take(q, 1);
    sc_span_queue_release(q, 1, 1);
    REQUIRE(e.n_acks == 4);
    CHECK_EQ(e.ack_seq[3], 3);
    CHECK_EQ(e.ack_ok[3], 1);
    sc_span_queue_release(q, 1, 1); /* nothing in flight: no ack */
    CHECK_EQ(e.n_acks, 4);
    sc_span_queue_free(q);
}

int main(void)
{
    RUN(queue_rejects_bad_opts);
    RUN(queue_fifo_full_and_counts);
    RUN(queue_wraps_and_never_reuses_in_flight_slots);
    RUN(queue_watermarks_fire_once_per_transition);
    RUN(queue_acks_highest_complete_seq_per_source);
    return sc_test_summary();
}
