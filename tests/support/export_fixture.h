/* export_fixture.h - owns: a complete export setup for tests and the export test driver: env
 * (system clock, seeded rng, a logger), configuration from --set strings, the shared HTTP
 * client, span queue (capacity exporter.batch.max_queue_size), metrics registry with the schema
 * instruments, resource, and the exporter, wired the way the daemon wires them. */
#ifndef SC_TEST_EXPORT_FIXTURE_H
#define SC_TEST_EXPORT_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/env.h"
#include "export/exporter.h"
#include "loop/http_client.h"
#include "telemetry/metrics.h"
#include "telemetry/span_queue.h"

typedef struct sc_export_fixture {
    sc_log *log;
    sc_rng rng;
    sc_env env;
    struct sc_config *cfg;
    sc_http_client *http;
    sc_span_queue *queue;
    sc_metrics *metrics;
    sc_instrument *inst[SC_METRIC__COUNT];
    sc_resource *resource;
    sc_exporter *exp;
    uint64_t produced;   /* spans committed */
    uint64_t queue_full; /* spans refused by a full queue (and counted with count_drop) */
    sc_span_queue_stats final_queue; /* taken at close, after the exporter is gone */
    size_t final_queue_size;
    int closing;
    void (*closed)(void *arg);
    void *closed_arg;
} sc_export_fixture;

/* Builds everything on `loop` (log to stderr at `level`). config_file may be NULL; sets are
 * "key=value" overrides; tuning may be NULL. 0, or a negative errno with a message in err. On
 * error the caller still calls sc_export_fixture_close and runs the loop. */
int sc_export_fixture_init(sc_export_fixture *f, uv_loop_t *loop, const char *config_file,
                           const char *const *sets, size_t n_sets, const sc_exporter_tuning *t,
                           sc_log_level level, char *err, size_t err_cap);

/* Commits one INTERNAL span named `name` with attributes test.seq = seq (int) and test.tag =
 * "t<seq % 7>" (string). 0, or -ENOBUFS when the queue is full (then counted as queue_full). */
int sc_export_fixture_span(sc_export_fixture *f, const char *name, int64_t seq);

/* Closes the exporter, then the HTTP client, then frees the rest and calls closed(arg) (may be
 * NULL). Run the loop until it has. */
void sc_export_fixture_close(sc_export_fixture *f, void (*closed)(void *arg), void *arg);

#endif
