/* schema.h - owns: the configuration schema types and the generic, schema-driven machinery the
 * config module is built from (also used by tests with their own schemas).
 *
 * A schema is a table with one row per key. The row drives everything: the type codec used to
 * validate and decode the JSON value into the struct (at `offset`), typing of --set and environment
 * text, the default, the "did you mean" suggestions, redaction of secrets in output and the key
 * reference. Adding a key is adding a row (and a struct field).
 *
 * Internal to config/ except for the generic entry points at the end. */
#ifndef SC_CONFIG_SCHEMA_H
#define SC_CONFIG_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "config/config.h"

typedef enum {
    SC_CT_STRING,   /* char *; non-empty */
    SC_CT_BOOL,     /* bool */
    SC_CT_INT,      /* int in [min, max] */
    SC_CT_DURATION, /* uint64_t ms: "250ms", "5s", "1m30s", "1h" or integer ms; [min, max] ms */
    SC_CT_SIZE,     /* size_t bytes: "64KiB", "1MiB" or integer bytes; [min, max] */
    SC_CT_ENUM,     /* int index into values; -1 when unset (no default) */
    SC_CT_MAP,      /* sc_config_map of string -> string */
    SC_CT_ARRAY     /* array of objects decoded with `sub`; pointer at offset, size_t count at
                       count_offset; at most `max` elements */
} sc_config_type;

enum {
    SC_CK_SECRET = 1u << 0,      /* value (map: every value) is "[REDACTED]" in output and errors */
    SC_CK_REQUIRED = 1u << 1,    /* no default; absence is an error */
    SC_CK_STRIP_SLASH = 1u << 2, /* trailing '/' removed after decoding */
    /* Its environment variable is an OTel exporter list ("otlp,console"): the sidecar has one
     * exporter per signal, so the first entry is used and more are warned about. */
    SC_CK_ENV_EXPORTER_LIST = 1u << 3
};

/* Value validator for strings and map values: returns 0, or -EINVAL with an "expected ..."
 * phrase in why (the caller appends what it got). */
typedef int (*sc_config_check_fn)(const char *value, char *why, size_t cap);

/* The sc_config_check_fn for URL keys: http:// or https:// with a host, no spaces or controls. */
int sc_config_check_url(const char *v, char *why, size_t cap);
/* Map entry name validator: returns 0, or -EINVAL with an "expected ..." phrase in why. */
typedef int (*sc_config_check_name_fn)(const char *name, char *why, size_t cap);

typedef struct sc_config_schema sc_config_schema;

typedef struct sc_config_key {
    const char *path; /* dotted, relative to the schema's root object */
    sc_config_type type;
    size_t offset;
    const char *def; /* default as --set text; NULL: unset / empty */
    int64_t min, max;
    const char *const *values; /* enum values, NULL-terminated */
    unsigned flags;
    const char *env; /* environment variable; OTEL_* follow the OTel spec (warn and ignore) */
    sc_config_check_fn check;
    sc_config_check_name_fn check_name;
    const sc_config_schema *sub; /* SC_CT_ARRAY element schema */
    size_t count_offset;         /* SC_CT_ARRAY */
    const char *help;
} sc_config_key;

struct sc_config_schema {
    const sc_config_key *keys;
    size_t n_keys;
    size_t size; /* sizeof the struct decoded into */
    /* Cross-key checks after decoding; `display` prefixes paths ("probes[2]."). Optional. */
    int (*relations)(void *obj, const char *display, sc_config_error *err);
};

/* The sc_config table (schema.c). */
const sc_config_schema *sc_config_schema_root(void);

/* --- generic entry points (config.c, decode.c) ---
 * The sc_config_load / _free / _write_effective contracts for any schema: `out`/`obj` point to a
 * struct of s->size bytes that the schema's offsets describe. */
int sc_config_load_schema(const sc_config_schema *s, const sc_config_sources *src, void *out,
                          sc_config_error *err);
void sc_config_free_schema(const sc_config_schema *s, void *obj);
int sc_config_write_schema(const sc_config_schema *s, const void *obj, sc_buf *out);

/* --- internal to config/ --- */
void sc_config_errorf(sc_config_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* units.c */
int sc_config_parse_uint(const char *s, uint64_t *out); /* decimal digits only */
int sc_config_parse_duration(const char *s, uint64_t *ms);
int sc_config_parse_size(const char *s, uint64_t *bytes);
void sc_config_format_duration(uint64_t ms, char *out, size_t cap);
void sc_config_format_size(uint64_t bytes, char *out, size_t cap);
void sc_config_quote(const char *s, char *out, size_t cap); /* "text", escaped and truncated */

/* codec.c */
void sc_config_format_got(const sc_config_key *k, const cJSON *v, char *out, size_t cap);
int sc_config_codec_from_text(const sc_config_key *k, const char *text, int otel, cJSON **out,
                              char *why, size_t cap);
int sc_config_codec_decode(const sc_config_key *k, const cJSON *v, void *dst, char *why, size_t cap,
                           const cJSON **bad, const char **bad_name);
cJSON *sc_config_codec_encode(const sc_config_key *k, const void *src);
void sc_config_codec_free(const sc_config_key *k, void *dst);
const char *sc_config_type_name(sc_config_type t);

/* tree.c */
const sc_config_key *sc_config_find_key(const sc_config_schema *s, const char *path,
                                        size_t path_len);
int sc_config_is_group(const sc_config_schema *s, const char *path, size_t path_len);
cJSON *sc_config_tree_get(const cJSON *obj, const char *path);
int sc_config_tree_put(cJSON *obj, const char *path, cJSON *item, sc_config_error *err,
                       const char *display);
cJSON *sc_config_tree_container(cJSON *obj, const char *path, int array, sc_config_error *err,
                                const char *display);

/* suggest.c */
int sc_config_edit_distance(const char *a, size_t an, const char *b, size_t bn);
int sc_config_suggest(const sc_config_schema *s, const char *full, size_t parent_len, char *out,
                      size_t cap);
void sc_config_unknown_key(const sc_config_schema *s, const char *display, const char *full,
                           size_t parent_len, sc_config_error *err, const char *prefix);

/* decode.c */
int sc_config_decode_object(const sc_config_schema *s, const cJSON *obj, void *base,
                            const char *display, sc_config_error *err);
cJSON *sc_config_encode_object(const sc_config_schema *s, const void *base);
void sc_config_wipe_tree(cJSON *v); /* every string in v, its siblings and children */

/* layers.c */
int sc_config_layer_file(const char *path, cJSON **out, sc_config_error *err);
/* Parses the content of a config file (name is only used in messages). Pure over (text, len). */
int sc_config_layer_text(const char *name, const char *text, size_t len, cJSON **out,
                         sc_config_error *err);
int sc_config_layer_env(const sc_config_schema *s, cJSON *tree, const sc_config_sources *src,
                        sc_config_error *err);
int sc_config_layer_set(const sc_config_schema *s, cJSON *tree, const char *arg,
                        sc_config_error *err);

#endif
