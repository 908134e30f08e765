/* span_queue.h - owns: sc_span_queue, the bounded FIFO of finished spans between the recorder
 * (producer) and the batch exporter (consumer). Spans are filled IN PLACE in preallocated slots
 * and encoded straight from them: nothing is copied and nothing is allocated after init.
 *
 * Slot life cycle, all in FIFO order:
 *     free --reserve--> reserved --commit--> pending --take--> in flight --release--> free
 *                          \--cancel--> free
 * - reserve/commit are synchronous (at most ONE reservation outstanding): reserve returns NULL
 *   when no slot is free; the caller counts that drop (sidecar.telemetry.dropped, queue_full).
 * - The exporter peeks pending spans as up to two contiguous runs (the ring may wrap), takes
 *   them (now in flight; their slots are never reused until released), encodes, sends, then
 *   releases the OLDEST n in-flight spans. Several batches may be in flight; releases are FIFO.
 *
 * Acknowledgement (at-least-once checkpointing): each span carries (source, source_seq); seqs
 * must be non-decreasing per source in commit order, and one seq may cover several spans (all
 * committed before the next seq). After a release, on_ack(source, seq) reports, per source, the
 * highest seq ALL of whose committed spans are now released (never a seq whose spans are split
 * across a later batch). SC_SOURCE_NONE spans are never acknowledged.
 *
 * Backpressure: on_full fires when a commit makes the queue full (no free slot); on_drained fires
 * when, after on_full, releases bring the occupied count down to low_watermark or below. Each
 * fires once per transition. Callbacks run synchronously at the END of commit/release, after the
 * queue's state is updated, so they may query, reserve/commit, take or release (never free).
 *
 * Loop-thread only (no locking). */
#ifndef SC_TELEMETRY_SPAN_QUEUE_H
#define SC_TELEMETRY_SPAN_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "telemetry/schema.h"
#include "telemetry/span.h"

#define SC_SPAN_QUEUE_DEFAULT_CAPACITY 2048 /* OTEL_BSP_MAX_QUEUE_SIZE default */

typedef struct sc_span_queue sc_span_queue;

typedef struct sc_span_queue_opts {
    size_t capacity;      /* slots; 0 means SC_SPAN_QUEUE_DEFAULT_CAPACITY */
    size_t low_watermark; /* < capacity; 0 means capacity / 2 */
    /* Optional callbacks (NULL: not called); `arg` is passed back. */
    void (*on_full)(void *arg);
    void (*on_drained)(void *arg);
    /* accepted: 1 if every span of the acknowledged seqs (since the last ack for this source)
     * was released with accepted = 1. */
    void (*on_ack)(void *arg, sc_source source, uint64_t seq, int accepted);
    void *arg;
} sc_span_queue_opts;

typedef struct sc_span_queue_stats {
    uint64_t committed;       /* spans ever committed */
    uint64_t rejected_full;   /* reserve calls that returned NULL */
    uint64_t released_ok;     /* released with accepted = 1 */
    uint64_t released_failed; /* released with accepted = 0 */
} sc_span_queue_stats;

/* Allocates the queue and its slots (calloc: pages are only touched when a slot is first used).
 * `opts` is copied (NULL: all defaults). 0, -EINVAL (low_watermark >= capacity) or -ENOMEM. */
int sc_span_queue_new(sc_span_queue **out, const sc_span_queue_opts *opts);
void sc_span_queue_free(sc_span_queue *q); /* accepts NULL; spans in flight are discarded */

/* A reset slot to fill in place, or NULL when full (counted in stats.rejected_full) or when a
 * reservation is already outstanding (a caller bug; also NULL). */
sc_span *sc_span_queue_reserve(sc_span_queue *q);
void sc_span_queue_commit(sc_span_queue *q); /* the reserved span becomes pending */
void sc_span_queue_cancel(sc_span_queue *q); /* the reserved slot is returned unused */

/* Up to `max` pending (committed, not taken) spans, oldest first, as one or two contiguous runs:
 * first[0..*n_first) then second[0..*n_second) (*n_second is 0 unless the ring wrapped; unused
 * run pointers are set to NULL). Returns *n_first + *n_second. Does not change the queue. */
size_t sc_span_queue_peek(sc_span_queue *q, size_t max, sc_span **first, size_t *n_first,
                          sc_span **second, size_t *n_second);

/* Marks the oldest n pending spans in flight (n <= pending). Returns how many were taken. */
size_t sc_span_queue_take(sc_span_queue *q, size_t n);

/* Frees the oldest n in-flight spans (n <= in flight) after their export finished; `accepted`
 * says whether the receiver took them. Fires on_ack and possibly on_drained. Returns how many
 * were released. */
size_t sc_span_queue_release(sc_span_queue *q, size_t n, int accepted);

size_t sc_span_queue_capacity(const sc_span_queue *q);
size_t sc_span_queue_size(const sc_span_queue *q); /* occupied: pending + in flight */
size_t sc_span_queue_pending(const sc_span_queue *q);
size_t sc_span_queue_in_flight(const sc_span_queue *q);
size_t sc_span_queue_free_slots(const sc_span_queue *q); /* capacity - size - reserved */
int sc_span_queue_congested(const sc_span_queue *q);     /* 1 between on_full and on_drained */
sc_span_queue_stats sc_span_queue_get_stats(const sc_span_queue *q);

#endif
