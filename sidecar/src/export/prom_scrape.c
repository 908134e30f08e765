/* prom_scrape.c - owns: the scrape sequence (collect or view, render, release), the failure
 * answers and their rate-limited logs. */
#include "export/prom_scrape.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "version.h"
#include "export/otlp_proto.h"
#include "export/prom_text.h"

struct sc_prom_scrape {
    const sc_env *env;
    sc_prom_scrape_opts o;
    sc_prom_accum *accum; /* DELTA only */
    sc_prom_scrape_stats stats;
    uint64_t last_log_ms; /* mono, of the last failure log */
    int logged;
};

int sc_prom_scrape_new(sc_prom_scrape **out, const sc_env *env, const sc_prom_scrape_opts *o)
{
    *out = NULL;
    if (env == NULL || o == NULL || o->metrics == NULL || o->series_limit == 1)
        return -EINVAL;
    sc_prom_scrape *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -ENOMEM;
    s->env = env;
    s->o = *o;
    if (o->temporality == SC_TEMPORALITY_DELTA) {
        int rc = sc_prom_accum_new(&s->accum, o->series_limit, env->log);
        if (rc != 0) {
            free(s);
            return rc;
        }
    }
    *out = s;
    return 0;
}

void sc_prom_scrape_free(sc_prom_scrape *s)
{
    if (s == NULL)
        return;
    sc_prom_accum_free(s->accum);
    free(s);
}

int sc_prom_scrape_feed(sc_prom_scrape *s, const sc_metrics_snapshot *snap)
{
    if (s->accum == NULL || snap == NULL)
        return 0;
    return sc_prom_accum_merge(s->accum, snap);
}

static int render_snapshot(sc_prom_scrape *s, const sc_metrics_snapshot *snap, sc_buf *out)
{
    const sc_attr *res = NULL;
    size_t n_res = s->o.resource ? sc_resource_attrs(s->o.resource, &res) : 0;
    sc_prom_text_opts to = {
        .resource = res,
        .n_resource = n_res,
        .scope_name = SC_OTLP_SCOPE_NAME,
        .scope_version = SC_VERSION,
    };
    sc_prom_text_stats st;
    int rc = sc_prom_text_render(snap, &to, out, &st);
    s->stats.dropped_metrics += st.dropped_metrics;
    s->stats.dropped_labels += st.dropped_labels;
    if (rc == 0)
        s->stats.last_samples = st.samples;
    return rc;
}

/* Collects (the scrape's own collection: CUMULATIVE, or DELTA without a reader). */
static int collect(sc_prom_scrape *s, const sc_metrics_snapshot **snap)
{
    if (s->o.before_collect != NULL)
        s->o.before_collect(s->o.before_collect_arg);
    return sc_metrics_collect(s->o.metrics, snap);
}

static int render(sc_prom_scrape *s, sc_buf *out)
{
    const sc_metrics_snapshot *snap = NULL;
    int rc;
    if (s->accum == NULL) {
        rc = collect(s, &snap);
        if (rc != 0)
            return rc;
        rc = render_snapshot(s, snap, out);
        sc_metrics_snapshot_release(s->o.metrics);
        return rc;
    }
    if (!s->o.fed_by_reader) {
        rc = collect(s, &snap);
        if (rc != 0)
            return rc;
        rc = sc_prom_accum_merge(s->accum, snap);
        sc_metrics_snapshot_release(s->o.metrics);
        if (rc != 0)
            return rc;
    }
    rc = sc_prom_accum_view(s->accum, &snap);
    return rc ? rc : render_snapshot(s, snap, out);
}

static void log_failure(sc_prom_scrape *s, int rc, size_t cap)
{
    uint64_t now = sc_clock_mono_ns(s->env->clock) / 1000000u;
    if (s->logged && now - s->last_log_ms < SC_PROM_SCRAPE_LOG_INTERVAL_MS)
        return;
    s->logged = 1;
    s->last_log_ms = now;
    sc_log_warn(s->env->log, "prometheus scrape failed", SC_F_ERR("error", rc),
                SC_F_UINT("max_bytes", cap), SC_F_UINT("too_large", s->stats.failed_too_large),
                SC_F_UINT("busy", s->stats.failed_busy),
                SC_F_UINT("no_memory", s->stats.failed_nomem));
}

int sc_prom_scrape_render(sc_prom_scrape *s, sc_buf *out)
{
    size_t start = out->len;
    int rc = render(s, out);
    if (rc == 0) {
        s->stats.scrapes++;
        s->stats.last_bytes = out->len - start;
        return 0;
    }
    if (out->len > start) { /* never leave a partial page behind */
        out->len = start;
        if (out->data != NULL)
            out->data[start] = '\0';
    }
    if (rc == -ENOBUFS)
        s->stats.failed_too_large++;
    else if (rc == -EBUSY)
        s->stats.failed_busy++;
    else
        s->stats.failed_nomem++;
    log_failure(s, rc, out->max);
    return rc;
}

int sc_prom_scrape_handler(void *arg, const sc_health_request *req, sc_buf *body,
                           const char **content_type)
{
    char msg[160];
    (void)req;
    int rc = sc_prom_scrape_render(arg, body);
    if (rc == 0) {
        *content_type = SC_PROM_TEXT_CONTENT_TYPE;
        return 200;
    }
    if (rc == -ENOBUFS)
        snprintf(msg, sizeof msg, "metrics page larger than the %zu-byte response limit\n",
                 body->max);
    else if (rc == -EBUSY)
        snprintf(msg, sizeof msg, "metrics collection in progress; retry\n");
    else
        snprintf(msg, sizeof msg, "metrics page failed: %s\n", sc_log_strerror(rc));
    sc_buf_reset(body);
    sc_buf_append_str(body, msg);
    return rc == -EBUSY ? 503 : 500;
}

void sc_prom_scrape_get_stats(const sc_prom_scrape *s, sc_prom_scrape_stats *out)
{
    *out = s->stats;
    if (s->accum != NULL)
        out->accum = sc_prom_accum_get_stats(s->accum);
}
