/* fuzz_sse.c - libFuzzer target: the incremental SSE parser (canary/sse.h), differentially. The
 * same stream is fed once whole, once cut at split points taken from the input and (when short)
 * once byte by byte; all three must dispatch the same events (type, data, id), stop at the same
 * place when the callback cancels, and agree on the stats, the retry value and what sc_sse_finish
 * reports. A split bug shows up as a difference, not only as a crash.
 *
 * Input: byte 0: max_event_bytes selector; byte 1: the callback cancels at that event (0: never);
 * byte 2: number of split points k (0..15); then k 16-bit split offsets; then the stream. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "canary/sse.h"
#include "core/buf.h"

#define MAX_SPLITS     15
#define BYTEWISE_LIMIT 2048
#define TRANSCRIPT_MAX (8u << 20)

/* Everything one run dispatched, serialised, so two runs compare with memcmp. */
typedef struct transcript {
    sc_buf events;
    unsigned seen;
    unsigned cancel_at; /* 1-based event number whose callback returns non-zero; 0 never */
} transcript;

static int on_event(const sc_sse_event *ev, void *arg)
{
    transcript *t = arg;
    const struct {
        const char *p;
        size_t n;
    } parts[3] = {{ev->type, ev->type_len}, {ev->data, ev->data_len}, {ev->id, ev->id_len}};
    for (int i = 0; i < 3; i++) {
        if (parts[i].p == NULL || parts[i].p[parts[i].n] != '\0')
            abort(); /* documented: NUL-terminated, lengths authoritative */
        uint64_t n = parts[i].n;
        if (sc_buf_append(&t->events, &n, sizeof n) != 0 ||
            sc_buf_append(&t->events, parts[i].p, parts[i].n) != 0)
            abort();
    }
    return ++t->seen == t->cancel_at;
}

typedef struct outcome {
    int last_rc;
    int finish_rc;
    int64_t retry_ms;
    sc_sse_stats stats;
} outcome;

/* Feeds s[0..n) in pieces ending at cuts[0..ncuts) (ascending, each <= n), then the rest. */
static void run(const char *s, size_t n, const size_t *cuts, size_t ncuts, size_t max_event,
                unsigned cancel_at, transcript *t, outcome *o)
{
    sc_sse p;
    sc_buf_init(&t->events, TRANSCRIPT_MAX);
    t->seen = 0;
    t->cancel_at = cancel_at;
    if (sc_sse_init(&p, max_event, on_event, t) != 0)
        abort();
    size_t at = 0;
    o->last_rc = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        int rc = sc_sse_feed(&p, s + at, end - at);
        if (rc != 0 && rc != -ECANCELED)
            abort(); /* no other error is possible with valid arguments and memory */
        if (o->last_rc != 0 && rc != o->last_rc)
            abort(); /* errors are sticky */
        o->last_rc = rc;
        at = end;
    }
    sc_sse_get_stats(&p, &o->stats);
    o->retry_ms = sc_sse_retry_ms(&p);
    o->finish_rc = sc_sse_finish(&p);
    sc_sse_free(&p);
}

static void same(const transcript *a, const outcome *oa, const transcript *b, const outcome *ob)
{
    if (a->events.len != b->events.len ||
        (a->events.len > 0 && memcmp(a->events.data, b->events.data, a->events.len) != 0))
        abort();
    if (a->seen != b->seen || oa->last_rc != ob->last_rc || oa->retry_ms != ob->retry_ms ||
        oa->stats.events != ob->stats.events || oa->stats.oversize != ob->stats.oversize)
        abort();
    /* After a cancel the rest of the stream was never parsed, so what finish saw may differ
     * with where the last piece ended; without one it must not. */
    if (oa->last_rc == 0 && oa->finish_rc != ob->finish_rc)
        abort();
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    /* Small caps exercise the oversize path; the last one is the canary's order of magnitude. */
    static const size_t caps[] = {1, 2, 7, 16, 64, 1024, 1u << 20};
    size_t max_event = caps[data[0] % (sizeof caps / sizeof caps[0])];
    unsigned cancel_at = data[1] % 8;
    size_t k = data[2] % (MAX_SPLITS + 1);
    size_t hdr = 3 + 2 * k;
    if (size < hdr)
        return 0;
    const char *s = (const char *)data + hdr;
    size_t n = size - hdr;
    size_t cuts[MAX_SPLITS];
    for (size_t i = 0; i < k; i++)
        cuts[i] = n ? ((size_t)data[3 + 2 * i] << 8 | data[4 + 2 * i]) % (n + 1) : 0;
    qsort(cuts, k, sizeof cuts[0], cmp_size);

    transcript whole, split;
    outcome o_whole, o_split;
    run(s, n, NULL, 0, max_event, cancel_at, &whole, &o_whole);
    run(s, n, cuts, k, max_event, cancel_at, &split, &o_split);
    same(&whole, &o_whole, &split, &o_split);
    sc_buf_free(&split.events);
    if (n <= BYTEWISE_LIMIT) {
        size_t *every = malloc((n ? n : 1) * sizeof *every);
        if (every == NULL)
            abort();
        for (size_t i = 0; i < n; i++)
            every[i] = i;
        transcript bytewise;
        outcome o_bytewise;
        run(s, n, every, n, max_event, cancel_at, &bytewise, &o_bytewise);
        same(&whole, &o_whole, &bytewise, &o_bytewise);
        sc_buf_free(&bytewise.events);
        free(every);
    }
    if (o_whole.last_rc == 0 && o_whole.stats.bytes != n)
        abort();
    sc_buf_free(&whole.events);
    return 0;
}
