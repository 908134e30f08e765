/* layout.c - owns: compiling the access_log configuration into a line parser and route set, and
 * wording compile errors with the configuration key they concern. */
#include "accesslog/layout.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Indexed like sc_config_access_log_format, sc_timestamp_format, sc_accesslog_duration_unit and
 * sc_config_route.operation (tests check the first three against the parsers' own names). */
const char *const sc_accesslog_layout_formats[] = {"nginx_json", "caddy", "envoy",
                                                   "json",       "nginx", NULL};
const char *const sc_accesslog_layout_time_formats[] = {
    "auto", "rfc3339", "nginx_time_local", "epoch_s", "epoch_ms", "epoch_us", "epoch_ns", NULL};
const char *const sc_accesslog_layout_duration_units[] = {"s", "ms", "us", "ns", NULL};
const char *const sc_accesslog_layout_operations[] = {"chat", "text_completion", "embeddings",
                                                      NULL};

static const char *const preset_of[] = {
    [SC_ACCESS_LOG_NGINX_JSON] = "nginx",
    [SC_ACCESS_LOG_CADDY] = "caddy",
    [SC_ACCESS_LOG_ENVOY] = "envoy",
};

static int fail(char *err, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t cap, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return rc;
}

/* The JSON spec: the preset (or an empty one for "json"), then the entries and overrides. */
static int json_spec(const sc_config_access_log *c, sc_json_line_spec *spec, char *err, size_t cap)
{
    if (c->format == SC_ACCESS_LOG_JSON) {
        *spec = (sc_json_line_spec){.time_format = SC_TIMESTAMP_AUTO,
                                    .duration_unit = SC_ACCESSLOG_DURATION_S};
    } else {
        const char *name = preset_of[c->format];
        *spec = *sc_json_line_preset(name, strlen(name));
    }
    for (size_t i = 0; i < c->json_fields.n; i++) {
        const sc_config_kv *kv = &c->json_fields.items[i];
        sc_accesslog_field f;
        if (sc_accesslog_field_parse(kv->key, strlen(kv->key), &f) != 0)
            return fail(err, cap, -EINVAL, "\"access_log.json_fields.%s\": not a field name",
                        kv->key);
        spec->keys[f] = kv->value;
    }
    if (c->time_format >= 0)
        spec->time_format = (sc_timestamp_format)c->time_format;
    if (c->duration_unit >= 0)
        spec->duration_unit = (sc_accesslog_duration_unit)c->duration_unit;
    if (c->time_marks >= 0)
        spec->time_is_start = c->time_marks == 1;
    if (c->retry_count_counts >= 0)
        spec->retry_count_is_attempts = c->retry_count_counts == 1;
    return 0;
}

static int compile_json(const sc_config_access_log *c, sc_accesslog_layout *out, char *err,
                        size_t cap)
{
    sc_json_line_spec spec;
    sc_accesslog_error e = {0};
    int rc = json_spec(c, &spec, err, cap);
    if (rc != 0)
        return rc;
    rc = sc_json_line_mapping_compile(&spec, &out->json, &e);
    if (rc == 0)
        return 0;
    const char *field = e.field >= 0 ? sc_accesslog_field_name((sc_accesslog_field)e.field) : NULL;
    if (field == NULL)
        return fail(err, cap, rc, "\"access_log.json_fields\": %s", e.msg);
    if (spec.keys[e.field] == NULL || spec.keys[e.field][0] == '\0')
        return fail(err, cap, rc,
                    "\"access_log.json_fields\": %s: %s (map it with "
                    "access_log.json_fields.%s, or use the request line: request)",
                    e.msg, field, field);
    return fail(err, cap, rc, "\"access_log.json_fields.%s\": %s at byte %zu of \"%s\"", field,
                e.msg, e.pos, spec.keys[e.field]);
}

static int compile_nginx(const sc_config_access_log *c, sc_accesslog_layout *out, char *err,
                         size_t cap)
{
    static const char *const settings[] = {"json_fields", "time_format", "duration_unit",
                                           "time_marks", "retry_count_counts"};
    const int set[] = {c->json_fields.n > 0, c->time_format >= 0, c->duration_unit >= 0,
                       c->time_marks >= 0, c->retry_count_counts >= 0};
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
        if (set[i])
            return fail(err, cap, -EINVAL,
                        "\"access_log.%s\": only for JSON formats; format nginx takes its layout "
                        "from access_log.nginx_log_format",
                        settings[i]);
    const char *text = c->nginx_log_format ? c->nginx_log_format : SC_NGINX_FORMAT_COMBINED;
    sc_accesslog_error e = {0};
    int rc = sc_nginx_format_compile(text, strlen(text), SC_NGINX_ESCAPE_DEFAULT, &out->nginx, &e);
    if (rc == 0)
        return 0;
    const char *field = e.field >= 0 ? sc_accesslog_field_name((sc_accesslog_field)e.field) : NULL;
    if (field != NULL)
        return fail(err, cap, rc, "\"access_log.nginx_log_format\": %s (%s)", e.msg, field);
    return fail(err, cap, rc, "\"access_log.nginx_log_format\": %s at byte %zu", e.msg, e.pos);
}

static int compile_routes(const sc_config_access_log *c, sc_accesslog_layout *out, char *err,
                          size_t cap)
{
    sc_derive_route_spec specs[SC_DERIVE_MAX_ROUTES];
    size_t n_def, n = 0;
    const sc_derive_route_spec *def = sc_derive_default_routes(&n_def);
    if (c->n_routes > SC_ACCESSLOG_LAYOUT_MAX_USER_ROUTES ||
        c->n_routes + n_def > SC_DERIVE_MAX_ROUTES)
        return fail(err, cap, -E2BIG, "\"access_log.routes\": at most %d entries",
                    SC_ACCESSLOG_LAYOUT_MAX_USER_ROUTES);
    for (size_t i = 0; i < c->n_routes; i++) {
        const sc_config_route *r = &c->routes[i];
        specs[n++] = (sc_derive_route_spec){
            .tmpl = r->template,
            .operation = r->operation >= 0 ? sc_accesslog_layout_operations[r->operation] : NULL,
            .model_404 = r->model_not_found_on_404,
        };
    }
    for (size_t i = 0; i < n_def; i++)
        specs[n++] = def[i];
    sc_accesslog_error e = {0};
    int rc = sc_derive_routes_compile(specs, n, &out->routes, &e);
    if (rc == 0)
        return 0;
    if (e.field >= 0 && (size_t)e.field < c->n_routes)
        return fail(err, cap, rc, "\"access_log.routes[%d].template\": %s at byte %zu", e.field,
                    e.msg, e.pos);
    return fail(err, cap, rc, "\"access_log.routes\": %s", e.msg);
}

int sc_accesslog_layout_compile(const sc_config_access_log *c, sc_accesslog_layout *out, char *err,
                                size_t cap)
{
    if ((unsigned)c->format > SC_ACCESS_LOG_NGINX)
        return fail(err, cap, -EINVAL, "\"access_log.format\": unknown format");
    out->is_nginx = c->format == SC_ACCESS_LOG_NGINX;
    if (!out->is_nginx && c->nginx_log_format != NULL)
        return fail(err, cap, -EINVAL,
                    "\"access_log.nginx_log_format\": only for format nginx (the format is %s)",
                    sc_accesslog_layout_formats[c->format]);
    int rc = out->is_nginx ? compile_nginx(c, out, err, cap) : compile_json(c, out, err, cap);
    if (rc == 0)
        rc = compile_routes(c, out, err, cap);
    return rc;
}

int sc_accesslog_layout_parse(const sc_accesslog_layout *l, const char *line, size_t len,
                              sc_accesslog_fields *out)
{
    return l->is_nginx ? sc_nginx_format_parse(&l->nginx, line, len, out)
                       : sc_json_line_parse(&l->json, line, len, out);
}
