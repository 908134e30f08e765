/* batch.c - owns: the batch processor's timer and prepare handles, the FIFO ring of in-flight
 * payload records, and batch sizing (halving until the encoded request fits). */
#include "export/batch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* One payload's spans, in the order they were taken from the queue. */
typedef struct record {
    uint32_t token;
    size_t n;
    int done, accepted;
} record;

struct sc_batch {
    const sc_env *env;
    sc_batch_opts o;
    uv_timer_t timer;
    uv_prepare_t prepare;
    record *ring; /* o.max_concurrent entries */
    unsigned head, count;
    uint32_t next_token;
    int started, draining, stopped, closing, closes_left;
    uint64_t last_export_ns;
    /* The buffer requests are encoded into, kept between exports: the sender hands an emptied
     * allocation back for each payload it takes (otlp_http.h), so encoding writes in place. */
    sc_buf payload;
    void (*closed)(void *arg);
    void *closed_arg;
};

static int too_big(int rc)
{
    return rc == -ENOBUFS || rc == -EMSGSIZE || rc == -E2BIG;
}

static record *push(sc_batch *b, size_t n)
{
    record *r = &b->ring[(b->head + b->count) % b->o.max_concurrent];
    b->count++;
    *r = (record){.token = b->next_token++, .n = n};
    return r;
}

/* Releases finished records from the oldest on, so the queue's FIFO release matches. */
static void release_done(sc_batch *b)
{
    while (b->count > 0 && b->ring[b->head].done) {
        record r = b->ring[b->head];
        b->head = (b->head + 1) % b->o.max_concurrent;
        b->count--;
        sc_span_queue_release(b->o.queue, r.n, r.accepted);
    }
}

/* Spans that will never be sent: counted now, released in FIFO turn. */
static void drop_taken(sc_batch *b, record *r, sc_export_drop_reason reason, const char *etype)
{
    r->done = 1;
    r->accepted = 0;
    b->o.ops.dropped(b->o.ops.arg, r->n, reason, etype);
}

/* Encodes the oldest pending spans, halving the count while the request is too big. Returns the
 * span count encoded into *payload, or 0 with *rc set (n_fail spans to drop). */
static size_t encode_some(sc_batch *b, size_t n, sc_buf *payload, int *rc, size_t *n_fail)
{
    for (;;) {
        sc_span *first, *second;
        size_t n_first, n_second;
        sc_span_queue_peek(b->o.queue, n, &first, &n_first, &second, &n_second);
        const sc_span_batch spans = {first, n_first, second, n_second};
        sc_buf_reset(payload);
        payload->max = b->o.max_request_bytes;
        *rc = b->o.ops.encode(b->o.ops.arg, &spans, payload);
        if (*rc == 0 && payload->len > 0)
            return n;
        sc_buf_reset(payload);
        if (*rc == 0)
            *rc = -ENODATA; /* never send an empty envelope */
        if (!too_big(*rc) || n == 1) {
            *n_fail = n;
            return 0;
        }
        n /= 2;
    }
}

static void export_one(sc_batch *b, size_t pending)
{
    sc_buf *payload = &b->payload;
    int rc = 0;
    size_t n_fail = 0;
    size_t n =
        encode_some(b, pending < b->o.max_batch ? pending : b->o.max_batch, payload, &rc, &n_fail);
    b->last_export_ns = sc_clock_mono_ns(b->env->clock);
    if (n == 0) {
        sc_span_queue_take(b->o.queue, n_fail);
        drop_taken(b, push(b, n_fail), SC_EXPORT_DROP_EXPORT_FAILED,
                   too_big(rc) ? "too_large" : "encode");
        release_done(b);
        return;
    }
    sc_span_queue_take(b->o.queue, n);
    record *r = push(b, n);
    uint32_t token = r->token;
    rc = b->o.ops.send(b->o.ops.arg, payload, n, token); /* takes the bytes; payload is kept */
    if (rc != 0) {
        r->done = 1; /* counted by the owner */
        release_done(b);
    }
}

/* Starts exports while a slot is free and there is something worth sending: a full batch, or
 * anything at all on a timer tick or while draining. */
static void pump(sc_batch *b, int tick)
{
    while (b->started && !b->stopped && !b->closing && b->count < b->o.max_concurrent) {
        size_t pending = sc_span_queue_pending(b->o.queue);
        if (pending == 0 || (!tick && !b->draining && pending < b->o.max_batch))
            return;
        export_one(b, pending);
    }
}

static void on_tick(uv_timer_t *t)
{
    pump(container_of(t, sc_batch, timer), 1);
}

static void on_prepare(uv_prepare_t *p)
{
    pump(container_of(p, sc_batch, prepare), 0);
}

void sc_batch_complete(sc_batch *b, uint32_t token, int accepted)
{
    for (unsigned i = 0; i < b->count; i++) {
        record *r = &b->ring[(b->head + i) % b->o.max_concurrent];
        if (r->token == token && !r->done) {
            r->done = 1;
            r->accepted = accepted;
            break;
        }
    }
    release_done(b);
    pump(b, 0);
}

int sc_batch_start(sc_batch *b)
{
    int rc;
    if (b->started)
        return 0;
    if ((rc = uv_timer_start(&b->timer, on_tick, b->o.schedule_delay_ms, b->o.schedule_delay_ms)) !=
            0 ||
        (rc = uv_prepare_start(&b->prepare, on_prepare)) != 0)
        return rc;
    b->started = 1;
    return 0;
}

void sc_batch_drain(sc_batch *b)
{
    b->draining = 1;
    b->started = 1; /* a flush without start still drains; completions keep pumping */
    uv_timer_stop(&b->timer);
    pump(b, 1);
}

void sc_batch_stop(sc_batch *b)
{
    b->stopped = 1;
    uv_timer_stop(&b->timer);
    uv_prepare_stop(&b->prepare);
}

unsigned sc_batch_in_flight(const sc_batch *b)
{
    return b->count;
}

size_t sc_batch_drop_pending(sc_batch *b, sc_export_drop_reason reason)
{
    release_done(b);
    size_t n = sc_span_queue_pending(b->o.queue);
    if (n == 0 || b->count > 0)
        return 0;
    sc_span_queue_take(b->o.queue, n);
    drop_taken(b, push(b, n), reason, sc_export_drop_reason_name(reason));
    release_done(b);
    return n;
}

uint64_t sc_batch_last_export_ns(const sc_batch *b)
{
    return b->last_export_ns;
}

static void on_closed(uv_handle_t *h)
{
    sc_batch *b = h->data;
    if (--b->closes_left > 0)
        return;
    void (*closed)(void *) = b->closed;
    void *arg = b->closed_arg;
    sc_buf_free(&b->payload);
    free(b->ring);
    free(b);
    if (closed != NULL)
        closed(arg);
}

void sc_batch_close(sc_batch *b, void (*closed)(void *arg), void *arg)
{
    if (b == NULL || b->closing)
        return;
    sc_batch_stop(b);
    b->closing = 1;
    b->closed = closed;
    b->closed_arg = arg;
    /* Anything still recorded cannot complete any more: give the spans back as not accepted. */
    for (unsigned i = 0; i < b->count; i++)
        b->ring[(b->head + i) % b->o.max_concurrent].done = 1;
    release_done(b);
    b->closes_left = 2;
    uv_close((uv_handle_t *)&b->timer, on_closed);
    uv_close((uv_handle_t *)&b->prepare, on_closed);
}

int sc_batch_new(sc_batch **out, const sc_env *env, const sc_batch_opts *o)
{
    *out = NULL;
    if (env == NULL || o == NULL || o->queue == NULL || o->max_batch == 0 ||
        o->schedule_delay_ms == 0 || o->max_concurrent == 0 || o->max_request_bytes == 0 ||
        o->ops.encode == NULL || o->ops.send == NULL || o->ops.dropped == NULL)
        return -EINVAL;
    sc_batch *b = calloc(1, sizeof *b);
    if (b == NULL)
        return -ENOMEM;
    b->ring = calloc(o->max_concurrent, sizeof *b->ring);
    if (b->ring == NULL) {
        free(b);
        return -ENOMEM;
    }
    b->env = env;
    b->o = *o;
    b->next_token = 1;
    sc_buf_init(&b->payload, o->max_request_bytes);
    uv_timer_init(env->loop, &b->timer);
    uv_prepare_init(env->loop, &b->prepare);
    b->timer.data = b;
    b->prepare.data = b;
    *out = b;
    return 0;
}
