/* bench_encode.c - owns: the encoder benchmark (not a ctest test; run tests/bench/bench_encode.sh).
 *
 * Fills realistic spans (canary CLIENT spans and access-log SERVER spans, ~16 attributes each:
 * gen_ai.*, http.*, server.*, gateway.*) into a real span queue in batches of 512, then encodes
 * each batch repeatedly and prints:
 *   - spans encoded per second per core (process CPU time, single thread), protobuf and JSON;
 *   - bytes per span on the wire: protobuf, protobuf+gzip (levels 1 and 6), OTLP/JSON;
 *   - heap allocations per span in steady state (malloc/calloc/realloc counted by interposing
 *     them in this binary; the target is zero).
 * The counters are this program's only globals: a measuring tool, not part of the daemon. Under
 * AddressSanitizer (which owns malloc) counting is disabled and reported as such. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "export/gzip.h"
#include "export/otlp_json.h"
#include "export/otlp_proto.h"
#include "telemetry/resource.h"
#include "telemetry/schema.h"
#include "telemetry/span_queue.h"

#define BATCH 512

/* ---- allocation counting --------------------------------------------------------------------- */

static unsigned long long n_allocs;

#if defined(__SANITIZE_ADDRESS__)
#define COUNTING 0
#else
#define COUNTING 1
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);

void *malloc(size_t size)
{
    n_allocs++;
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    n_allocs++;
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    n_allocs++;
    return __libc_realloc(p, size);
}
#endif

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- realistic spans ------------------------------------------------------------------------- */

static const char *const MODELS[] = {"gpt-4o-mini", "claude-3-5-haiku-20241022", "gpt-4.1",
                                     "gemini-2.0-flash"};
static const sc_attr_str FINISH[] = {{"stop", 4}};

static void canary_span(sc_span *s, sc_rng *rng, uint64_t t, int i)
{
    const char *model = MODELS[i % 4];
    char name[64], resp_id[40] = "chatcmpl-";
    snprintf(name, sizeof name, "chat %s", model);
    sc_rng_hex(rng, resp_id + 9, 24);
    sc_span_new_ids(s, rng, NULL);
    sc_span_set_name(s, name, strlen(name));
    s->kind = SC_SPAN_KIND_CLIENT;
    sc_attr a[] = {
        SC_ATTR_STR(SC_ATTR_GEN_AI_OPERATION_NAME, "chat"),
        SC_ATTR_STR(SC_ATTR_GEN_AI_PROVIDER_NAME, "openai"),
        SC_ATTR_STR(SC_ATTR_GEN_AI_REQUEST_MODEL, model),
        SC_ATTR_STR(SC_ATTR_GEN_AI_RESPONSE_MODEL, model),
        SC_ATTR_STR(SC_ATTR_GEN_AI_RESPONSE_ID, resp_id),
        SC_ATTR_STRARR(SC_ATTR_GEN_AI_RESPONSE_FINISH, FINISH, 1),
        SC_ATTR_INT(SC_ATTR_GEN_AI_USAGE_INPUT_TOKENS, 24 + i % 7),
        SC_ATTR_INT(SC_ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, 5 + i % 11),
        SC_ATTR_STR(SC_ATTR_HTTP_REQUEST_METHOD, "POST"),
        SC_ATTR_INT(SC_ATTR_HTTP_RESPONSE_STATUS_CODE, 200),
        SC_ATTR_STR(SC_ATTR_SERVER_ADDRESS, "api.cometapi.com"),
        SC_ATTR_INT(SC_ATTR_SERVER_PORT, 443),
        SC_ATTR_STR(SC_ATTR_GATEWAY_SOURCE, "canary"),
        SC_ATTR_STR(SC_ATTR_GATEWAY_STATUS_CLASS, "2xx"),
        SC_ATTR_STR(SC_ATTR_GATEWAY_OUTCOME, SC_OUTCOME_PASS),
        SC_ATTR_BOOL(SC_ATTR_GATEWAY_STREAM, 1),
        SC_ATTR_BOOL(SC_ATTR_GATEWAY_USAGE_PRESENT, 1),
    };
    sc_span_set_attrs(s, a, SC_ATTR_COUNT(a));
    sc_span_add_event(s, "gen_ai.first_chunk", 18, t + 180000000, NULL, 0);
    s->start_ns = t;
    s->end_ns = t + 950000000;
    s->source = SC_SOURCE_CANARY;
}

static void access_log_span(sc_span *s, sc_rng *rng, uint64_t t, int i)
{
    const char *model = MODELS[(i / 2) % 4];
    sc_span_new_ids(s, rng, NULL);
    sc_span_set_name(s, "POST /v1/chat/completions", 25);
    s->kind = SC_SPAN_KIND_SERVER;
    int status = i % 17 == 0 ? 429 : 200;
    sc_attr a[] = {
        SC_ATTR_STR(SC_ATTR_HTTP_REQUEST_METHOD, "POST"),
        SC_ATTR_STR(SC_ATTR_HTTP_ROUTE, "/v1/chat/completions"),
        SC_ATTR_INT(SC_ATTR_HTTP_RESPONSE_STATUS_CODE, status),
        SC_ATTR_STR(SC_ATTR_URL_SCHEME, "https"),
        SC_ATTR_STR(SC_ATTR_SERVER_ADDRESS, "gateway.internal"),
        SC_ATTR_INT(SC_ATTR_SERVER_PORT, 8443),
        SC_ATTR_STR(SC_ATTR_GEN_AI_OPERATION_NAME, "chat"),
        SC_ATTR_STR(SC_ATTR_GEN_AI_REQUEST_MODEL, model),
        SC_ATTR_STR(SC_ATTR_GEN_AI_RESPONSE_MODEL, model),
        SC_ATTR_INT(SC_ATTR_GEN_AI_USAGE_INPUT_TOKENS, 812 + i % 97),
        SC_ATTR_INT(SC_ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, 143 + i % 31),
        SC_ATTR_STR(SC_ATTR_GATEWAY_SOURCE, "access_log"),
        SC_ATTR_STR(SC_ATTR_GATEWAY_STATUS_CLASS, status == 200 ? "2xx" : "4xx"),
        SC_ATTR_STR(SC_ATTR_GATEWAY_ERROR_CLASS, status == 200 ? "none" : "rate_limited"),
        SC_ATTR_STR(SC_ATTR_GATEWAY_FALLBACK_DECISION, "not_needed"),
        SC_ATTR_BOOL(SC_ATTR_GATEWAY_USAGE_PRESENT, 1),
    };
    sc_span_set_attrs(s, a, SC_ATTR_COUNT(a));
    if (status != 200) {
        sc_attr e = SC_ATTR_STR(SC_ATTR_ERROR_TYPE, "429");
        sc_span_set_attr(s, &e);
        sc_span_set_status(s, SC_SPAN_STATUS_ERROR, "rate limited", 12);
    }
    s->start_ns = t;
    s->end_ns = t + 1200000000;
    s->source = SC_SOURCE_ACCESS_LOG;
}

static int fill_batch(sc_span_queue *q, sc_rng *rng, uint64_t *t, int *seq, sc_span_batch *b)
{
    for (int i = 0; i < BATCH; i++) {
        sc_span *s = sc_span_queue_reserve(q);
        if (s == NULL)
            return -ENOBUFS;
        if (*seq % 2)
            access_log_span(s, rng, *t, *seq);
        else
            canary_span(s, rng, *t, *seq);
        s->source_seq = (uint64_t)++ * seq;
        *t += 1000000;
        sc_span_queue_commit(q);
    }
    sc_span *first, *second;
    size_t n = sc_span_queue_peek(q, BATCH, &first, &b->n_first, &second, &b->n_second);
    b->first = first;
    b->second = second;
    return n == BATCH && sc_span_queue_take(q, n) == n ? 0 : -EIO;
}

/* ---- measurements ---------------------------------------------------------------------------- */

typedef int (*encode_fn)(const sc_resource *, const sc_span_batch *, sc_buf *);

typedef struct result {
    double bytes;  /* summed over batches: the request size of each */
    double allocs; /* summed over every measured encode */
} result;

/* Encodes `b` reps times into a warm buffer: CPU time, size, allocations. */
static int measure(encode_fn fn, const sc_resource *res, const sc_span_batch *b, sc_buf *out,
                   int reps, result *r, double *cpu)
{
    sc_buf_reset(out);
    int rc = fn(res, b, out); /* warm-up: the buffer reaches its size */
    if (rc != 0)
        return rc;
    unsigned long long a0 = n_allocs;
    double t0 = cpu_seconds();
    for (int k = 0; k < reps && rc == 0; k++) {
        sc_buf_reset(out);
        rc = fn(res, b, out);
    }
    *cpu += cpu_seconds() - t0;
    r->allocs += (double)(n_allocs - a0);
    r->bytes += (double)out->len;
    return rc;
}

static const char *fake_getenv(void *ctx, const char *name)
{
    const char *const *env = ctx;
    size_t n = strlen(name);
    for (; *env != NULL; env++)
        if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
            return *env + n + 1;
    return NULL;
}

/* gzip of the last protobuf request: adds CPU time and compressed size. */
static int gzip_one(const sc_buf *in, int level, sc_buf *gz, double *cpu, double *bytes)
{
    sc_buf_reset(gz);
    double t0 = cpu_seconds();
    int rc = sc_gzip_compress(in->data, in->len, level, gz);
    *cpu += cpu_seconds() - t0;
    *bytes += (double)gz->len;
    return rc;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 20; /* batches */
    int reps = argc > 2 ? atoi(argv[2]) : 20;   /* encodes per batch */
    if (rounds < 1 || reps < 1) {
        fprintf(stderr, "usage: %s [batches=20] [encodes_per_batch=20]\n", argv[0]);
        return 2;
    }
    static const char *const env[] = {"K8S_POD_NAME=checkout-7d9f8c6b5-x2x4q",
                                      "K8S_NAMESPACE_NAME=shop", "K8S_NODE_NAME=gke-pool-1-abcd",
                                      "K8S_CONTAINER_NAME=comet-sidecar", NULL};
    sc_rng rng;
    sc_rng_init_seeded(&rng, 1);
    sc_resource *res = NULL;
    sc_span_queue *q = NULL;
    /* 2000 slots: batches of 512 wrap around the ring now and then, as in the daemon. */
    sc_span_queue_opts qo = {.capacity = 2000};
    if (sc_resource_new(&res, NULL, fake_getenv, (void *)env, &rng, NULL) != 0 ||
        sc_span_queue_new(&q, &qo) != 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    sc_buf pb, js, gz;
    sc_buf_init(&pb, 64u << 20);
    sc_buf_init(&js, 64u << 20);
    sc_buf_init(&gz, 64u << 20);
    result rp = {0}, rj = {0};
    double cpu_p = 0, cpu_j = 0, cpu_g1 = 0, cpu_g6 = 0, gz1 = 0, gz6 = 0;
    uint64_t t = 1700000000000000000ull;
    int seq = 0, wrapped = 0, rc = 0;
    for (int r = 0; r < rounds && rc == 0; r++) {
        sc_span_batch b;
        rc = fill_batch(q, &rng, &t, &seq, &b);
        wrapped += rc == 0 && b.n_second > 0;
        if (rc == 0)
            rc = measure(sc_otlp_proto_encode_traces, res, &b, &pb, reps, &rp, &cpu_p);
        if (rc == 0)
            rc = measure(sc_otlp_json_encode_traces, res, &b, &js, reps, &rj, &cpu_j);
        if (rc == 0)
            rc = gzip_one(&pb, 1, &gz, &cpu_g1, &gz1);
        if (rc == 0)
            rc = gzip_one(&pb, 6, &gz, &cpu_g6, &gz6);
        sc_span_queue_release(q, BATCH, 1);
    }
    if (rc != 0) {
        fprintf(stderr, "benchmark failed: %s\n", strerror(-rc));
        return 1;
    }
    double batches = rounds, encoded = (double)rounds * reps * BATCH, spans = batches * BATCH;
    printf("batches: %d x %d spans (%d wrapped the ring), %d encodes each\n", rounds, BATCH,
           wrapped, reps);
    printf("protobuf encode: %.0f spans/s per core (%.2f us/span)\n", encoded / cpu_p,
           cpu_p / encoded * 1e6);
    printf("otlp/json encode: %.0f spans/s per core (%.2f us/span)\n", encoded / cpu_j,
           cpu_j / encoded * 1e6);
    printf("gzip level 1: %.0f spans/s per core; level 6: %.0f spans/s per core\n", spans / cpu_g1,
           spans / cpu_g6);
    printf("bytes/span protobuf: %.1f\n", rp.bytes / batches / BATCH);
    printf("bytes/span protobuf+gzip level 1: %.1f\n", gz1 / spans);
    printf("bytes/span protobuf+gzip level 6: %.1f\n", gz6 / spans);
    printf("bytes/span otlp/json: %.1f\n", rj.bytes / batches / BATCH);
    if (COUNTING) {
        printf("heap allocations/span (steady state) protobuf: %.4f\n", rp.allocs / encoded);
        printf("heap allocations/span (steady state) otlp/json: %.4f\n", rj.allocs / encoded);
        /* Shows the counter works: setup, queue slots and first-use buffer growth. */
        printf("heap allocations in the whole run: %llu\n", n_allocs);
    } else {
        printf("heap allocations/span: not counted (AddressSanitizer owns malloc)\n");
    }
    sc_buf_free(&pb);
    sc_buf_free(&js);
    sc_buf_free(&gz);
    sc_span_queue_free(q);
    sc_resource_free(res);
    return 0;
}
