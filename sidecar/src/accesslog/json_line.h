/* json_line.h - owns: parsing one JSON-lines access-log record into sc_accesslog_fields through a
 * field mapping compiled once from config (or a preset).
 *
 * A spec names, for each logical field, the key path in the object: "status", or a dotted path
 * into nested objects ("request.headers.Traceparent"). Write "\." for a dot that is part of a key
 * and "\\" for a backslash. A mapped value may be a string, a number, true/false (taken as text),
 * null (= absent) or an array whose first element is one of those (Caddy logs header values as
 * arrays of strings); mapped keys under arrays are not reachable. Key matching is exact and
 * case-sensitive (Caddy writes Go-canonical header names: "X-Request-Id", "Traceparent").
 *
 * The parser is a single pass over the line: it validates JSON syntax (strings, escapes, numbers,
 * literals, nesting up to SC_JSON_LINE_MAX_DEPTH) while skipping everything unmapped, records
 * slices of mapped values and then runs sc_accesslog_fields_finish(). No allocation, no tree,
 * no recursion beyond the depth limit; time is linear in the line length. Raw control bytes in
 * strings are syntax errors; bytes >= 0x80 are passed through unvalidated (nginx escape=json does
 * not escape them, and one odd byte in a user agent must not drop the record).
 * The first occurrence of a duplicated key wins.
 *
 * Presets ("nginx", "caddy", "envoy") are documented in json_line.c next to their tables. */
#ifndef SC_ACCESSLOG_JSON_LINE_H
#define SC_ACCESSLOG_JSON_LINE_H

#include <stddef.h>
#include <stdint.h>

#include "accesslog/fields.h"

#define SC_JSON_LINE_MAX_DEPTH 32   /* object/array nesting of a whole line */
#define SC_JSON_LINE_MAX_NODES 64   /* distinct key-path segments of one mapping, incl. root */
#define SC_JSON_LINE_KEY_BYTES 1024 /* their total length */
#define SC_JSON_LINE_MAX_KEY   255  /* one segment */

/* What config provides. Strings are only read during compile. */
typedef struct sc_json_line_spec {
    const char *keys[SC_ACCESSLOG_FIELD__COUNT]; /* key path per field; NULL or "" = unmapped */
    sc_timestamp_format time_format;
    sc_accesslog_duration_unit duration_unit;
    int time_is_start;           /* TIME is the request start, not the log write */
    int retry_count_is_attempts; /* RETRY_COUNT holds attempts: retries = value - 1 */
    uint32_t required;           /* SC_ACCESSLOG_BIT mask; 0 = SC_ACCESSLOG_REQUIRED_DEFAULT */
} sc_json_line_spec;

typedef struct sc_json_line_node {
    uint16_t key_off;
    uint8_t key_len;
    int8_t field;        /* sc_accesslog_field, or -1 for an inner object */
    uint8_t first_child; /* node index, or 0xFF */
    uint8_t next;        /* next sibling, or 0xFF */
} sc_json_line_node;

/* A compiled mapping: self-contained (no pointers into the spec), embeddable, copyable, and
 * read-only while parsing, so several parsers may share one. Fields are private. */
typedef struct sc_json_line_mapping {
    sc_accesslog_formats fmt;
    uint32_t mapped;
    uint16_t n_nodes;
    uint16_t key_used;
    sc_json_line_node nodes[SC_JSON_LINE_MAX_NODES];
    char keys[SC_JSON_LINE_KEY_BYTES];
} sc_json_line_mapping;

/* Builds *out from spec. 0, or -EINVAL with *err (if non-NULL) saying which field and where in
 * its key path: empty segment, bad escape, a path that is both a value and an object, two fields
 * on one path, a required field that is not mapped (REQUEST counts for METHOD and PATH), or
 * -E2BIG past the node/key limits. *out is unusable after an error. */
int sc_json_line_mapping_compile(const sc_json_line_spec *spec, sc_json_line_mapping *out,
                                 sc_accesslog_error *err);

/* Built-in specs: "nginx" (deploy/examples/nginx.conf llm_json), "caddy" (Caddy v2 default JSON
 * access log), "envoy" (Istio's default JSON access-log dictionary for Envoy). Static storage;
 * NULL for an unknown name. A config may copy one and override keys. */
const sc_json_line_spec *sc_json_line_preset(const char *name, size_t n);

/* Parses one line (without or with its trailing "\n"/"\r\n"). 0 with *out filled, or -EBADMSG
 * with out->reason set. Slices in *out point into line or out->scratch. */
int sc_json_line_parse(const sc_json_line_mapping *m, const char *line, size_t len,
                       sc_accesslog_fields *out);

#endif
