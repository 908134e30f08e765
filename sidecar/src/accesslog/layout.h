/* layout.h - owns: turning the access_log configuration section into what the observer runs per
 * line - a compiled line parser (a JSON-lines mapping or an nginx log_format matcher) and the
 * route-template set - and the one parse call that dispatches on it.
 *
 * Compiling is pure (no I/O, no allocation) and is done twice: by the configuration load, so a bad
 * log_format, key path or route template is a configuration error (exit 2, --check-config) that
 * names the key, and by the observer when it starts.
 *
 * How the keys combine:
 *   format nginx_json | caddy | envoy  a built-in JSON-lines spec (json_line.h presets);
 *                                      json_fields entries replace single keys of it;
 *   format json                        json_fields is the whole mapping (method/path or request,
 *                                      and status, must be mapped);
 *   format nginx                       nginx_log_format (a format string or a pasted log_format
 *                                      directive; default: nginx's "combined");
 *   time_format, duration_unit, time_marks, retry_count_counts override the JSON spec's values
 *   (unset: the preset's, or auto / seconds / end / retries for json);
 *   routes are tried first, in order, then the built-in OpenAI-compatible templates. */
#ifndef SC_ACCESSLOG_LAYOUT_H
#define SC_ACCESSLOG_LAYOUT_H

#include <stddef.h>

#include "accesslog/derive.h"
#include "accesslog/fields.h"
#include "accesslog/json_line.h"
#include "accesslog/nginx_format.h"
#include "config/config.h"

/* Built-in route templates plus user ones must fit SC_DERIVE_MAX_ROUTES. */
#define SC_ACCESSLOG_LAYOUT_MAX_USER_ROUTES 48

typedef struct sc_accesslog_layout {
    int is_nginx; /* 1: nginx text matcher; 0: JSON-lines mapping */
    sc_json_line_mapping json;
    sc_nginx_format nginx;
    sc_derive_routes routes;
} sc_accesslog_layout;

/* Compiles c into *out. 0, or -EINVAL / -E2BIG with a message in err[0..cap) that starts with the
 * quoted key it is about ("\"access_log.nginx_log_format\": unterminated ${ at byte 12"). */
int sc_accesslog_layout_compile(const sc_config_access_log *c, sc_accesslog_layout *out, char *err,
                                size_t cap);

/* Parses one line (no allocation): sc_json_line_parse or sc_nginx_format_parse. */
int sc_accesslog_layout_parse(const sc_accesslog_layout *l, const char *line, size_t len,
                              sc_accesslog_fields *out);

/* Config spellings, for the schema's value lists (NULL-terminated, static). */
extern const char *const sc_accesslog_layout_formats[];
extern const char *const sc_accesslog_layout_time_formats[];
extern const char *const sc_accesslog_layout_duration_units[];
extern const char *const sc_accesslog_layout_operations[];

#endif
