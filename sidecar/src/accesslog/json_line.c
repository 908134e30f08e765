/* json_line.c - owns: mapping compilation (key paths -> a small trie of key segments), the
 * single-pass validating JSON scanner that extracts only mapped values, and the presets. */
#include "accesslog/json_line.h"

#include <errno.h>
#include <string.h>

#define NONE 0xFF
#define BIT  SC_ACCESSLOG_BIT

/* ---- Presets ---------------------------------------------------------------------------------
 * nginx: the llm_json log_format of deploy/examples/nginx.conf (escape=json). "time" is
 *   $time_iso8601 written when the request ends; "request_time" is seconds with ms resolution.
 * caddy: Caddy v2's default JSON access log ("handled request" entries of http.log.access):
 *   "ts" is float epoch seconds at log time, "duration" float seconds, "status" an integer (0 when
 *   no response was written), the request under "request" with Go-canonical header names whose
 *   values are arrays. Caddy logs no upstream attempts; the X-Llm-* response headers are the
 *   optional contract of deploy/examples/nginx.conf as a Caddy upstream would send them.
 * envoy: Envoy has no JSON default (its default is text); this is the dictionary Istio installs
 *   for meshConfig.accessLogEncoding=JSON: START_TIME (request start, RFC 3339 ms),
 *   "duration" in ms, "response_code", "response_flags", "upstream_host". Envoy >= 1.18 writes
 *   typed values (numbers, null); older ones strings: both parse. "traceparent" and
 *   "upstream_request_attempt_count" are common additions (%REQ(TRACEPARENT)%,
 *   %UPSTREAM_REQUEST_ATTEMPT_COUNT%) and simply stay absent when not configured. */
static const sc_json_line_spec preset_nginx = {
    .keys =
        {
            [SC_ACCESSLOG_FIELD_TIME] = "time",
            [SC_ACCESSLOG_FIELD_REQUEST_ID] = "request_id",
            [SC_ACCESSLOG_FIELD_TRACEPARENT] = "traceparent",
            [SC_ACCESSLOG_FIELD_METHOD] = "method",
            [SC_ACCESSLOG_FIELD_PATH] = "uri",
            [SC_ACCESSLOG_FIELD_STATUS] = "status",
            [SC_ACCESSLOG_FIELD_DURATION] = "request_time",
            [SC_ACCESSLOG_FIELD_UPSTREAM_STATUS] = "upstream_status",
            [SC_ACCESSLOG_FIELD_UPSTREAM_ADDR] = "upstream_addr",
            [SC_ACCESSLOG_FIELD_HOST] = "host",
            [SC_ACCESSLOG_FIELD_SERVER_ADDR] = "server_addr",
            [SC_ACCESSLOG_FIELD_SERVER_PORT] = "server_port",
            [SC_ACCESSLOG_FIELD_MODEL] = "llm_model",
            [SC_ACCESSLOG_FIELD_INPUT_TOKENS] = "llm_input_tokens",
            [SC_ACCESSLOG_FIELD_OUTPUT_TOKENS] = "llm_output_tokens",
            [SC_ACCESSLOG_FIELD_RETRY_COUNT] = "llm_retry_count",
            [SC_ACCESSLOG_FIELD_FALLBACK_REASON] = "llm_fallback_reason",
        },
    .time_format = SC_TIMESTAMP_RFC3339,
    .duration_unit = SC_ACCESSLOG_DURATION_S,
};

static const sc_json_line_spec preset_caddy = {
    .keys =
        {
            [SC_ACCESSLOG_FIELD_TIME] = "ts",
            [SC_ACCESSLOG_FIELD_METHOD] = "request.method",
            [SC_ACCESSLOG_FIELD_PATH] = "request.uri",
            [SC_ACCESSLOG_FIELD_HOST] = "request.host",
            [SC_ACCESSLOG_FIELD_REQUEST_ID] = "request.headers.X-Request-Id",
            [SC_ACCESSLOG_FIELD_TRACEPARENT] = "request.headers.Traceparent",
            [SC_ACCESSLOG_FIELD_STATUS] = "status",
            [SC_ACCESSLOG_FIELD_DURATION] = "duration",
            [SC_ACCESSLOG_FIELD_MODEL] = "resp_headers.X-Llm-Model",
            [SC_ACCESSLOG_FIELD_INPUT_TOKENS] = "resp_headers.X-Llm-Input-Tokens",
            [SC_ACCESSLOG_FIELD_OUTPUT_TOKENS] = "resp_headers.X-Llm-Output-Tokens",
            [SC_ACCESSLOG_FIELD_RETRY_COUNT] = "resp_headers.X-Llm-Retry-Count",
            [SC_ACCESSLOG_FIELD_FALLBACK_REASON] = "resp_headers.X-Llm-Fallback-Reason",
        },
    .time_format = SC_TIMESTAMP_EPOCH_S,
    .duration_unit = SC_ACCESSLOG_DURATION_S,
};

static const sc_json_line_spec preset_envoy = {
    .keys =
        {
            [SC_ACCESSLOG_FIELD_TIME] = "start_time",
            [SC_ACCESSLOG_FIELD_METHOD] = "method",
            [SC_ACCESSLOG_FIELD_PATH] = "path",
            [SC_ACCESSLOG_FIELD_STATUS] = "response_code",
            [SC_ACCESSLOG_FIELD_RESPONSE_FLAGS] = "response_flags",
            [SC_ACCESSLOG_FIELD_DURATION] = "duration",
            [SC_ACCESSLOG_FIELD_REQUEST_ID] = "request_id",
            [SC_ACCESSLOG_FIELD_TRACEPARENT] = "traceparent",
            [SC_ACCESSLOG_FIELD_HOST] = "authority",
            [SC_ACCESSLOG_FIELD_UPSTREAM_ADDR] = "upstream_host",
            [SC_ACCESSLOG_FIELD_RETRY_COUNT] = "upstream_request_attempt_count",
        },
    .time_format = SC_TIMESTAMP_RFC3339,
    .duration_unit = SC_ACCESSLOG_DURATION_MS,
    .time_is_start = 1,
    .retry_count_is_attempts = 1,
};

const sc_json_line_spec *sc_json_line_preset(const char *name, size_t n)
{
    static const struct {
        const char *name;
        const sc_json_line_spec *spec;
    } presets[] = {{"nginx", &preset_nginx}, {"caddy", &preset_caddy}, {"envoy", &preset_envoy}};
    for (size_t i = 0; name != NULL && i < sizeof presets / sizeof presets[0]; i++)
        if (strlen(presets[i].name) == n && memcmp(presets[i].name, name, n) == 0)
            return presets[i].spec;
    return NULL;
}

/* ---- Compile --------------------------------------------------------------------------------- */

static int set_err(sc_accesslog_error *err, int rc, const char *msg, size_t pos, int field)
{
    if (err != NULL)
        *err = (sc_accesslog_error){msg, pos, field};
    return rc;
}

static int key_is(const sc_json_line_mapping *m, int c, const char *k, size_t n)
{
    return m->nodes[c].key_len == n && memcmp(m->keys + m->nodes[c].key_off, k, n) == 0;
}

static int find_child(const sc_json_line_mapping *m, int node, const char *k, size_t n)
{
    for (int c = m->nodes[node].first_child; c != NONE; c = m->nodes[c].next)
        if (key_is(m, c, k, n))
            return c;
    return -1;
}

static int add_child(sc_json_line_mapping *m, int node, const char *k, size_t n)
{
    if (m->n_nodes >= SC_JSON_LINE_MAX_NODES || m->key_used + n > SC_JSON_LINE_KEY_BYTES)
        return -E2BIG;
    int c = m->n_nodes++;
    memcpy(m->keys + m->key_used, k, n);
    m->nodes[c] = (sc_json_line_node){m->key_used, (uint8_t)n, -1, NONE, NONE};
    m->key_used = (uint16_t)(m->key_used + n);
    /* Append, so children are matched in spec order. */
    uint8_t *link = &m->nodes[node].first_child;
    while (*link != NONE)
        link = &m->nodes[*link].next;
    *link = (uint8_t)c;
    return c;
}

/* Adds one key path; errors carry the byte position inside the path. */
static int add_path(sc_json_line_mapping *m, int field, const char *path, sc_accesslog_error *err)
{
    char seg[SC_JSON_LINE_MAX_KEY];
    size_t i = 0, len = strlen(path);
    int node = 0;
    while (i <= len) {
        size_t n = 0, seg_start = i;
        for (; i < len && path[i] != '.'; i++) {
            char c = path[i];
            if (c == '\\') {
                if (i + 1 >= len || (path[i + 1] != '.' && path[i + 1] != '\\'))
                    return set_err(err, -EINVAL, "bad escape in key path", i, field);
                c = path[++i];
            }
            if (n == sizeof seg)
                return set_err(err, -E2BIG, "key too long", seg_start, field);
            seg[n++] = c;
        }
        if (n == 0)
            return set_err(err, -EINVAL, "empty key in key path", seg_start, field);
        if (m->nodes[node].field >= 0)
            return set_err(err, -EINVAL, "key path runs through another field's value", seg_start,
                           field);
        int c = find_child(m, node, seg, n);
        if (c < 0 && (c = add_child(m, node, seg, n)) < 0)
            return set_err(err, c, "mapping too large", seg_start, field);
        node = c;
        i++; /* past the '.' (or the end) */
    }
    if (m->nodes[node].field >= 0)
        return set_err(err, -EINVAL, "two fields map to the same key path", 0, field);
    if (m->nodes[node].first_child != NONE)
        return set_err(err, -EINVAL, "key path is an object holding other fields", 0, field);
    m->nodes[node].field = (int8_t)field;
    return 0;
}

int sc_json_line_mapping_compile(const sc_json_line_spec *spec, sc_json_line_mapping *out,
                                 sc_accesslog_error *err)
{
    if (spec == NULL || out == NULL || (unsigned)spec->time_format >= SC_TIMESTAMP__COUNT ||
        (unsigned)spec->duration_unit >= SC_ACCESSLOG_DURATION__COUNT)
        return set_err(err, -EINVAL, "invalid spec", 0, -1);
    memset(out, 0, offsetof(sc_json_line_mapping, keys));
    out->n_nodes = 1;
    out->nodes[0] = (sc_json_line_node){0, 0, -1, NONE, NONE};
    for (int f = 0; f < SC_ACCESSLOG_FIELD__COUNT; f++) {
        if (spec->keys[f] == NULL || spec->keys[f][0] == '\0')
            continue;
        int rc = add_path(out, f, spec->keys[f], err);
        if (rc < 0)
            return rc;
        out->mapped |= BIT(f);
    }
    uint32_t all = (1u << SC_ACCESSLOG_FIELD__COUNT) - 1;
    uint32_t required = spec->required ? spec->required & all : SC_ACCESSLOG_REQUIRED_DEFAULT;
    uint32_t have = out->mapped;
    if (have & BIT(SC_ACCESSLOG_FIELD_REQUEST))
        have |= BIT(SC_ACCESSLOG_FIELD_METHOD) | BIT(SC_ACCESSLOG_FIELD_PATH);
    for (int f = 0; f < SC_ACCESSLOG_FIELD__COUNT; f++)
        if ((required & BIT(f)) && !(have & BIT(f)))
            return set_err(err, -EINVAL, "required field is not mapped", 0, f);
    out->fmt = (sc_accesslog_formats){spec->time_format, spec->duration_unit, spec->time_is_start,
                                      spec->retry_count_is_attempts, required};
    return 0;
}

/* ---- Scanner --------------------------------------------------------------------------------
 * Every function starts at the current byte, advances s->p past what it consumed and returns
 * SC_ACCESSLOG_OK or the reason the line is malformed. Running out of bytes where JSON needs
 * more is TRUNCATED; anything else that breaks the grammar is BAD_JSON. */

typedef struct scan {
    const char *p;
    const char *end;
    const sc_json_line_mapping *m;
    sc_accesslog_fields *f;
    /* The sibling after the last matched member, tried first: a gateway writes its keys in one
     * order, and children are kept in spec order, which usually follows the log's. */
    int hint_parent, hint;
    char key[SC_JSON_LINE_MAX_KEY * 6]; /* an escaped key long enough to match, decoded */
} scan;

typedef sc_accesslog_reason rsn;

/* 1: ends a string run (quote, backslash, control byte). */
static const unsigned char str_stop[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,         1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, ['"'] = 1, ['\\'] = 1,
};

static void ws(scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/* At the opening quote: the string body in (*b, *n); *esc set when it holds escapes. */
static rsn string(scan *s, const char **b, size_t *n, int *esc)
{
    const char *p = s->p + 1, *end = s->end;
    *esc = 0;
    for (;;) {
        while (p < end && !str_stop[(unsigned char)*p])
            p++;
        if (p == end)
            return SC_ACCESSLOG_TRUNCATED;
        if (*p == '"')
            break;
        if (*p != '\\')
            return SC_ACCESSLOG_BAD_JSON; /* raw control byte */
        *esc = 1;
        if (end - p < 2)
            return SC_ACCESSLOG_TRUNCATED;
        char c = p[1];
        if (c == 'u') {
            for (int i = 2; i < 6; i++) {
                if (p + i >= end)
                    return SC_ACCESSLOG_TRUNCATED;
                if (!is_hex(p[i]))
                    return SC_ACCESSLOG_BAD_JSON;
            }
            p += 6;
        } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' ||
                   c == 'r' || c == 't') {
            p += 2;
        } else {
            return SC_ACCESSLOG_BAD_JSON;
        }
    }
    *b = s->p + 1;
    *n = (size_t)(p - *b);
    s->p = p + 1;
    return SC_ACCESSLOG_OK;
}

static int digit(const scan *s, const char *p)
{
    return p < s->end && (unsigned)(*p - '0') <= 9;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static rsn number(scan *s)
{
    const char *p = s->p;
    if (*p == '-')
        p++;
    if (p == s->end)
        return SC_ACCESSLOG_TRUNCATED;
    if (*p == '0')
        p++;
    else if (digit(s, p))
        while (digit(s, p))
            p++;
    else
        return SC_ACCESSLOG_BAD_JSON;
    if (p < s->end && *p == '.') {
        if (!digit(s, ++p))
            return p == s->end ? SC_ACCESSLOG_TRUNCATED : SC_ACCESSLOG_BAD_JSON;
        while (digit(s, p))
            p++;
    }
    if (p < s->end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < s->end && (*p == '+' || *p == '-'))
            p++;
        if (!digit(s, p))
            return p == s->end ? SC_ACCESSLOG_TRUNCATED : SC_ACCESSLOG_BAD_JSON;
        while (digit(s, p))
            p++;
    }
    s->p = p;
    return SC_ACCESSLOG_OK;
}

static rsn literal(scan *s)
{
    const char *lit = *s->p == 't' ? "true" : *s->p == 'f' ? "false" : "null";
    size_t n = strlen(lit), avail = (size_t)(s->end - s->p);
    size_t k = avail < n ? avail : n;
    if (memcmp(s->p, lit, k) != 0)
        return SC_ACCESSLOG_BAD_JSON;
    if (k < n)
        return SC_ACCESSLOG_TRUNCATED;
    s->p += n;
    return SC_ACCESSLOG_OK;
}

static rsn value(scan *s, int node, int depth);

/* After a member or element: ',' (more follow) or the closing byte. *more says which. */
static rsn separator(scan *s, char close, int *more)
{
    ws(s);
    if (s->p == s->end)
        return SC_ACCESSLOG_TRUNCATED;
    if (*s->p == ',') {
        s->p++;
        *more = 1;
        return SC_ACCESSLOG_OK;
    }
    if (*s->p == close) {
        s->p++;
        *more = 0;
        return SC_ACCESSLOG_OK;
    }
    return SC_ACCESSLOG_BAD_JSON;
}

/* The child of `node` whose key is this member's key, or -1. */
static int member_node(scan *s, int node, const char *k, size_t n, int esc)
{
    if (node < 0 || s->m->nodes[node].first_child == NONE)
        return -1;
    if (esc) {
        if (n > sizeof s->key)
            return -1;
        n = sc_accesslog_json_unescape(k, n, s->key);
        k = s->key;
    }
    const sc_json_line_mapping *m = s->m;
    int c = s->hint_parent == node && s->hint != NONE && key_is(m, s->hint, k, n)
                ? s->hint
                : find_child(m, node, k, n);
    if (c >= 0) {
        s->hint_parent = node;
        s->hint = m->nodes[c].next;
    }
    return c;
}

/* At '{'. node: mapping node of this object, or -1 when nothing inside is wanted. */
static rsn object(scan *s, int node, int depth)
{
    if (depth > SC_JSON_LINE_MAX_DEPTH)
        return SC_ACCESSLOG_TOO_DEEP;
    s->p++;
    ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return SC_ACCESSLOG_OK;
    }
    for (int more = 1; more;) {
        ws(s);
        if (s->p == s->end)
            return SC_ACCESSLOG_TRUNCATED;
        if (*s->p != '"')
            return SC_ACCESSLOG_BAD_JSON;
        const char *k;
        size_t n;
        int esc;
        rsn r = string(s, &k, &n, &esc);
        if (r != SC_ACCESSLOG_OK)
            return r;
        int child = member_node(s, node, k, n, esc);
        ws(s);
        if (s->p == s->end)
            return SC_ACCESSLOG_TRUNCATED;
        if (*s->p != ':')
            return SC_ACCESSLOG_BAD_JSON;
        s->p++;
        if ((r = value(s, child, depth)) != SC_ACCESSLOG_OK ||
            (r = separator(s, '}', &more)) != SC_ACCESSLOG_OK)
            return r;
    }
    return SC_ACCESSLOG_OK;
}

/* At '['. A mapped leaf takes its first scalar element; everything else is skipped. */
static rsn array(scan *s, int node, int depth)
{
    if (depth > SC_JSON_LINE_MAX_DEPTH)
        return SC_ACCESSLOG_TOO_DEEP;
    s->p++;
    ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return SC_ACCESSLOG_OK;
    }
    int leaf = node >= 0 && s->m->nodes[node].field >= 0 ? node : -1;
    for (int more = 1; more; leaf = -1) {
        rsn r = value(s, leaf, depth);
        if (r != SC_ACCESSLOG_OK || (r = separator(s, ']', &more)) != SC_ACCESSLOG_OK)
            return r;
    }
    return SC_ACCESSLOG_OK;
}

/* Any value (after optional whitespace). node: mapping node the value sits at, or -1. */
static rsn value(scan *s, int node, int depth)
{
    ws(s);
    if (s->p == s->end)
        return SC_ACCESSLOG_TRUNCATED;
    int field = node >= 0 ? s->m->nodes[node].field : -1;
    const char *start = s->p;
    rsn r;
    switch (*s->p) {
    case '{':
        return object(s, field < 0 ? node : -1, depth + 1);
    case '[':
        return array(s, node, depth + 1);
    case '"': {
        const char *b;
        size_t n;
        int esc;
        r = string(s, &b, &n, &esc);
        if (r == SC_ACCESSLOG_OK && field >= 0)
            sc_accesslog_fields_set(s->f, (sc_accesslog_field)field, b, n,
                                    esc ? SC_ACCESSLOG_ENC_JSON : SC_ACCESSLOG_ENC_RAW);
        return r;
    }
    case 't':
    case 'f':
    case 'n':
        r = literal(s);
        break;
    default:
        r = number(s);
        break;
    }
    if (r == SC_ACCESSLOG_OK && field >= 0 && *start != 'n')
        sc_accesslog_fields_set(s->f, (sc_accesslog_field)field, start, (size_t)(s->p - start),
                                SC_ACCESSLOG_ENC_RAW);
    return r;
}

static int only_ws_left(scan *s)
{
    ws(s);
    return s->p == s->end;
}

int sc_json_line_parse(const sc_json_line_mapping *m, const char *line, size_t len,
                       sc_accesslog_fields *out)
{
    sc_accesslog_fields_begin(out, m->mapped);
    scan s;
    s.p = line;
    s.end = line + len;
    s.m = m;
    s.f = out;
    s.hint_parent = -1;
    s.hint = NONE;
    ws(&s);
    if (s.p == s.end)
        return sc_accesslog_fields_fail(out, SC_ACCESSLOG_EMPTY);
    if (*s.p != '{') {
        /* Tell "valid JSON, wrong type" from "not JSON at all" for the malformed counter. */
        int valid = value(&s, -1, 0) == SC_ACCESSLOG_OK && only_ws_left(&s);
        sc_accesslog_fields_begin(out, m->mapped);
        return sc_accesslog_fields_fail(out,
                                        valid ? SC_ACCESSLOG_NOT_OBJECT : SC_ACCESSLOG_NOT_JSON);
    }
    rsn r = object(&s, 0, 1);
    if (r == SC_ACCESSLOG_OK && !only_ws_left(&s))
        r = SC_ACCESSLOG_BAD_JSON;
    if (r != SC_ACCESSLOG_OK)
        return sc_accesslog_fields_fail(out, r);
    return sc_accesslog_fields_finish(out, &m->fmt);
}
