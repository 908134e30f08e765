/* export_fixture.c - owns: the fixture's creation order and its two-step close. */
#include "export_fixture.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config_sets.h"
#include "telemetry/resource.h"
#include "telemetry/span.h"

int sc_export_fixture_init(sc_export_fixture *f, uv_loop_t *loop, const char *config_file,
                           const char *const *sets, size_t n_sets, const sc_exporter_tuning *t,
                           sc_log_level level, char *err, size_t err_cap)
{
    int rc;
    memset(f, 0, sizeof *f);
    if ((rc = sc_log_new(&f->log, 2, level, sc_clock_system())) != 0)
        return rc;
    sc_rng_init_seeded(&f->rng, 0x5eed);
    f->env = (sc_env){.loop = loop, .log = f->log, .clock = sc_clock_system(), .rng = &f->rng};
    if ((rc = sc_test_config_load(&f->cfg, config_file, sets, n_sets, err, err_cap)) != 0)
        return rc;
    const sc_span_queue_opts qo = {.capacity = (size_t)sc_test_config_queue_size(f->cfg)};
    const sc_metrics_opts mo = {.clock = sc_clock_system(), .log = f->log};
    const sc_http_client_opts ho = {.max_in_flight = 16};
    if ((rc = sc_span_queue_new(&f->queue, &qo)) != 0 ||
        (rc = sc_metrics_new(&f->metrics, &mo)) != 0 ||
        (rc = sc_metrics_register_schema(f->metrics, f->inst)) != 0 ||
        (rc = sc_resource_new(&f->resource, f->cfg, sc_test_config_no_env, NULL, &f->rng,
                              f->log)) != 0 ||
        (rc = sc_http_client_new(&f->http, &f->env, &ho)) != 0) {
        snprintf(err, err_cap, "fixture setup failed: %s", sc_log_strerror(rc));
        return rc;
    }
    const sc_exporter_deps d = {
        .env = &f->env,
        .cfg = f->cfg,
        .http = f->http,
        .resource = f->resource,
        .spans = f->queue,
        .metrics = f->metrics,
        .instruments = f->inst,
        .tuning = t,
    };
    if ((rc = sc_exporter_new(&f->exp, &d)) != 0) {
        snprintf(err, err_cap, "sc_exporter_new: %s", sc_log_strerror(rc));
        return rc;
    }
    return 0;
}

int sc_export_fixture_span(sc_export_fixture *f, const char *name, int64_t seq)
{
    sc_span *s = sc_span_queue_reserve(f->queue);
    if (s == NULL) {
        f->queue_full++;
        sc_exporter_count_drop(f->exp, SC_EXPORT_DROP_QUEUE_FULL, 1);
        return -ENOBUFS;
    }
    char tag[8];
    snprintf(tag, sizeof tag, "t%d", (int)(seq % 7));
    sc_span_new_ids(s, &f->rng, NULL);
    sc_span_set_name(s, name, strlen(name));
    s->kind = SC_SPAN_KIND_INTERNAL;
    s->end_ns = sc_clock_wall_ns(f->env.clock);
    s->start_ns = s->end_ns - 1000000;
    const sc_attr a[] = {SC_ATTR_INT("test.seq", seq), SC_ATTR_STR("test.tag", tag)};
    sc_span_set_attrs(s, a, 2);
    sc_span_queue_commit(f->queue);
    f->produced++;
    return 0;
}

static void finish(sc_export_fixture *f)
{
    if (f->queue != NULL) {
        f->final_queue = sc_span_queue_get_stats(f->queue);
        f->final_queue_size = sc_span_queue_size(f->queue);
    }
    sc_resource_free(f->resource);
    sc_metrics_free(f->metrics);
    sc_span_queue_free(f->queue);
    sc_test_config_free(f->cfg);
    sc_log_free(f->log);
    f->resource = NULL;
    f->metrics = NULL;
    f->queue = NULL;
    f->cfg = NULL;
    f->log = NULL;
    if (f->closed != NULL)
        f->closed(f->closed_arg);
}

static void on_http_closed(void *arg)
{
    finish(arg);
}

static void on_exporter_closed(void *arg)
{
    sc_export_fixture *f = arg;
    f->exp = NULL;
    if (f->http != NULL) {
        sc_http_client_close(f->http, on_http_closed, f);
        f->http = NULL;
        return;
    }
    finish(f);
}

void sc_export_fixture_close(sc_export_fixture *f, void (*closed)(void *arg), void *arg)
{
    if (f->closing)
        return;
    f->closing = 1;
    f->closed = closed;
    f->closed_arg = arg;
    if (f->exp != NULL) {
        sc_exporter_close(f->exp, on_exporter_closed, f);
        return;
    }
    on_exporter_closed(f); /* setup failed before the exporter existed */
}
