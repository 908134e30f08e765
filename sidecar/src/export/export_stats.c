/* export_stats.c - owns: counter updates, self-metric recording and the wedge rule. */
#include "export/export_stats.h"

#include <stdio.h>
#include <string.h>

#define NS_PER_MS 1000000ull

static const sc_metric_id own[] = {
    SC_METRIC_OTEL_SDK_EXPORTER_SPAN_EXPORTED,
    SC_METRIC_OTEL_SDK_EXPORTER_METRIC_DATA_POINT_EXPORTED,
    SC_METRIC_OTEL_SDK_PROCESSOR_SPAN_QUEUE_SIZE,
    SC_METRIC_OTEL_SDK_PROCESSOR_SPAN_QUEUE_CAPACITY,
    SC_METRIC_OTEL_SDK_EXPORTER_OPERATION_DURATION,
    SC_METRIC_TELEMETRY_DROPPED,
};

int sc_export_stats_init(sc_export_stats *s, const sc_clock *clock, sc_metrics *m,
                         sc_instrument *const *instruments)
{
    memset(s, 0, sizeof *s);
    s->clock = clock;
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        sc_metric_id id = own[i];
        if (instruments != NULL) {
            s->inst[id] = instruments[id];
        } else if (m != NULL) {
            int rc = sc_metrics_instrument(m, sc_schema_metric(id), &s->inst[id]);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

void sc_export_stats_set_window(sc_export_stats *s, sc_export_signal sig, uint64_t window_ms)
{
    s->sig[sig].window_ns = window_ms * NS_PER_MS;
}

void sc_export_stats_set_identity(sc_export_stats *s, sc_export_signal sig,
                                  const char *component_type, const char *server_address,
                                  int server_port)
{
    sc_export_signal_state *g = &s->sig[sig];
    g->component_type = component_type;
    if (component_type != NULL)
        snprintf(g->component_name, sizeof g->component_name, "%s/0", component_type);
    g->server_address = server_address;
    g->server_port = server_port;
}

/* otel.component.* and server.* of a signal's exporter: up to 4 attributes into a. */
static size_t identity(const sc_export_signal_state *g, sc_attr *a)
{
    size_t n = 0;
    if (g->component_type != NULL) {
        a[n++] = SC_ATTR_STR(SC_ATTR_OTEL_COMPONENT_TYPE, g->component_type);
        a[n++] = SC_ATTR_STR(SC_ATTR_OTEL_COMPONENT_NAME, g->component_name);
    }
    if (g->server_address != NULL) {
        a[n++] = SC_ATTR_STR(SC_ATTR_SERVER_ADDRESS, g->server_address);
        a[n++] = SC_ATTR_INT(SC_ATTR_SERVER_PORT, g->server_port);
    }
    return n;
}

static sc_metric_id exported_id(sc_export_signal sig)
{
    return sig == SC_EXPORT_TRACES ? SC_METRIC_OTEL_SDK_EXPORTER_SPAN_EXPORTED
                                   : SC_METRIC_OTEL_SDK_EXPORTER_METRIC_DATA_POINT_EXPORTED;
}

/* A counter add with error.type (NULL: none) and, for a signal's exported counter, identity. */
static void add(sc_export_stats *s, const sc_export_signal_state *g, sc_metric_id id, uint64_t n,
                const char *error_type)
{
    sc_attr a[5];
    size_t k = g != NULL ? identity(g, a) : 0;
    if (s->inst[id] == NULL || n == 0)
        return;
    if (error_type != NULL)
        a[k++] = SC_ATTR_STR(SC_ATTR_ERROR_TYPE, error_type);
    sc_metrics_add(s->inst[id], (int64_t)n, a, k);
}

void sc_export_stats_attempt(sc_export_stats *s, sc_export_signal sig, int ok)
{
    sc_export_signal_state *g = &s->sig[sig];
    uint64_t now = sc_clock_mono_ns(s->clock);
    if (ok) {
        g->failing_since_ns = 0;
        g->st.last_success_ns = sc_clock_wall_ns(s->clock);
        return;
    }
    if (g->failing_since_ns == 0)
        g->failing_since_ns = now ? now : 1;
    g->last_failure_ns = now;
}

void sc_export_stats_note(sc_export_stats *s, sc_export_signal sig, uint64_t n,
                          sc_export_drop_reason reason)
{
    sc_exporter_signal_stats *st = &s->sig[sig].st;
    if ((unsigned)reason >= SC_EXPORT_DROP__COUNT)
        return;
    st->dropped[reason] += n;
    if (reason != SC_EXPORT_DROP_QUEUE_FULL)
        st->failed += n;
}

void sc_export_stats_lost(sc_export_stats *s, sc_export_signal sig, uint64_t n,
                          sc_export_drop_reason reason, const char *error_type)
{
    if ((unsigned)reason >= SC_EXPORT_DROP__COUNT || n == 0)
        return;
    sc_export_stats_note(s, sig, n, reason);
    if (error_type != NULL)
        add(s, &s->sig[sig], exported_id(sig), n, error_type);
    add(s, NULL, SC_METRIC_TELEMETRY_DROPPED, n, sc_export_drop_reason_name(reason));
}

static void record_duration(sc_export_stats *s, const sc_export_signal_state *g,
                            const sc_export_result *r)
{
    sc_instrument *h = s->inst[SC_METRIC_OTEL_SDK_EXPORTER_OPERATION_DURATION];
    sc_attr a[6];
    size_t n = identity(g, a);
    if (h == NULL)
        return;
    if (!r->delivered)
        a[n++] = SC_ATTR_STR(SC_ATTR_ERROR_TYPE, r->error_type != NULL ? r->error_type : "_OTHER");
    if (r->http_status != 0)
        a[n++] = SC_ATTR_INT(SC_ATTR_HTTP_RESPONSE_STATUS_CODE, r->http_status);
    sc_metrics_record(h, r->duration_s >= 0 ? r->duration_s : 0, a, n);
}

int sc_export_stats_result(sc_export_stats *s, sc_export_signal sig, uint64_t n,
                           const sc_export_result *r)
{
    sc_exporter_signal_stats *st = &s->sig[sig].st;
    st->payloads++;
    st->requests += r->attempts;
    st->retries += r->attempts > 1 ? r->attempts - 1 : 0;
    record_duration(s, &s->sig[sig], r);
    if (!r->delivered) {
        sc_export_stats_lost(s, sig, n, r->reason,
                             r->error_type != NULL ? r->error_type : "_OTHER");
        return 0;
    }
    uint64_t rejected = r->rejected > 0 ? (uint64_t)r->rejected : 0;
    if (rejected > n)
        rejected = n;
    st->exported += n - rejected;
    st->rejected += rejected;
    add(s, &s->sig[sig], exported_id(sig), n - rejected, NULL);
    add(s, &s->sig[sig], exported_id(sig), rejected, "rejected");
    return rejected == 0;
}

void sc_export_stats_queue(sc_export_stats *s, size_t size, size_t capacity)
{
    sc_instrument *qs = s->inst[SC_METRIC_OTEL_SDK_PROCESSOR_SPAN_QUEUE_SIZE];
    sc_instrument *qc = s->inst[SC_METRIC_OTEL_SDK_PROCESSOR_SPAN_QUEUE_CAPACITY];
    const sc_attr a[] = {
        SC_ATTR_STR(SC_ATTR_OTEL_COMPONENT_TYPE, SC_OTEL_COMPONENT_BATCHING_SPAN_PROCESSOR),
        SC_ATTR_STR(SC_ATTR_OTEL_COMPONENT_NAME, SC_OTEL_COMPONENT_BATCHING_SPAN_PROCESSOR "/0"),
    };
    if (qs != NULL)
        sc_metrics_observe(qs, (int64_t)size, a, 2);
    if (qc != NULL)
        sc_metrics_observe(qc, (int64_t)capacity, a, 2);
}

const char *sc_export_stats_wedged(const sc_export_stats *s, sc_export_signal sig)
{
    const sc_export_signal_state *g = &s->sig[sig];
    uint64_t now = sc_clock_mono_ns(s->clock);
    if (g->failing_since_ns == 0 || now - g->failing_since_ns <= g->window_ns ||
        now - g->last_failure_ns >= g->window_ns)
        return NULL;
    return sig == SC_EXPORT_TRACES
               ? "traces: exports failing for longer than 3 x (schedule_delay + export_timeout)"
               : "metrics: exports failing for longer than 3 x (metrics_interval + "
                 "metrics_timeout)";
}
