/* recorder_internal.h - owns: the recorder's internal types, shared by its two files and by no
 * one else:
 *   recorder.c          public API, setup, normalising a record (facts), spans and sampling
 *   recorder_metrics.c  the metric measurements of a record and their attribute sets
 * Loop-thread only, as the recorder is. */
#ifndef SC_TELEMETRY_RECORDER_INTERNAL_H
#define SC_TELEMETRY_RECORDER_INTERNAL_H

#include <string.h>
#include <strings.h>

#include "telemetry/recorder.h"

struct sc_recorder {
    const sc_env *env;
    sc_span_queue *queue;
    sc_instrument *inst[SC_METRIC__COUNT];
    int sampling;              /* ratio < 1: plain-success access-log spans are sampled */
    int spans_disabled;        /* traces not exported: metrics only */
    uint64_t threshold;        /* OTel rejection threshold T: keep when R >= T (56-bit) */
    char th[SC_RECORD_TH_LEN]; /* T as the tracestate "th" value */
    int full_episode;          /* a drop was logged and no span has been queued since */
    sc_recorder_stats stats;
};

/* What one GenAI operation contributes to the gen_ai.* span attributes and metrics, shared by
 * attempt and run records. */
typedef struct genai {
    sc_source source;
    const char *operation; /* normalised; NULL: not a GenAI operation */
    sc_attr_str provider, request_model, response_model, server_address;
    int server_port;
    sc_attr_str error_type; /* normalised; empty: no error */
    const sc_attr_str *finish_reasons;
    size_t n_finish_reasons;
    int64_t input_tokens, output_tokens;
    int stream;
    uint64_t duration_ns, first_chunk_ns;
} genai;

/* Normalised values of an attempt, computed once for its span and its metrics. */
typedef struct facts {
    const char *source;
    const char *method;
    const char *route_key; /* url.template (CLIENT) or http.route (SERVER) */
    sc_attr_str error_type;
    int failed;
    genai g;
} facts;

/* A bounded attribute list on the stack. */
typedef struct alist {
    sc_attr a[SC_SPAN_MAX_ATTRS];
    size_t n;
} alist;

static inline void add(alist *l, sc_attr a)
{
    if (l->n < SC_SPAN_MAX_ATTRS)
        l->a[l->n++] = a;
}

static inline void add_str(alist *l, const char *key, sc_attr_str v)
{
    add(l, SC_ATTR_STRN(key, v.ptr, v.len));
}

static inline void add_opt_str(alist *l, const char *key, sc_attr_str v)
{
    if (v.len > 0)
        add_str(l, key, v);
}

static inline double seconds(uint64_t ns)
{
    return (double)ns / 1e9;
}

/* url.scheme: "http" or "https" (any case); anything else is left out. */
static inline sc_attr_str scheme_of(sc_attr_str s)
{
    if (s.len == 4 && strncasecmp(s.ptr, "http", 4) == 0)
        return (sc_attr_str){"http", 4};
    if (s.len == 5 && strncasecmp(s.ptr, "https", 5) == 0)
        return (sc_attr_str){"https", 5};
    return (sc_attr_str){NULL, 0};
}

/* The attempt's metrics (gateway.*, http.*.request.duration, and the GenAI operation's unless it
 * is a canary attempt): recorded before its span, so a full queue never loses them. */
void sc_recorder_attempt_metrics(sc_recorder *r, const sc_attempt_record *rec, const facts *f);

/* The run's metrics: gateway.canary.*, contract violations and the GenAI operation's. */
void sc_recorder_run_metrics(sc_recorder *r, const sc_run_record *rec, const genai *g);

/* Adds 1 to the counter `id` with the attributes of l (sidecar.telemetry.dropped). */
void sc_recorder_count(sc_recorder *r, sc_metric_id id, const alist *l);

#endif
