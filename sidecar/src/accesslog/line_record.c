/* line_record.c - owns: one parsed access-log line -> sc_attempt_record (see line_record.h). */
#include "accesslog/line_record.h"

#include <string.h>

#include "telemetry/span.h"

#define METHOD_MAX 32

/* Length of the UTF-8 sequence starting at p[0..n) (1..4), or 0 when it is invalid: overlong
 * forms, surrogates and code points above U+10FFFF are rejected (RFC 3629). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len;
    unsigned min, cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, min = 0x80, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, min = 0x800, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, min = 0x10000, cp = c & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || (cp >= 0x80 && cp < 0xA0))
        return 0;
    return len;
}

int sc_line_record_safe_text(const char *p, size_t n, size_t max)
{
    const unsigned char *s = (const unsigned char *)p;
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n;) {
        if (s[i] < 0x20 || s[i] == 0x7F)
            return 0;
        size_t k = utf8_len(s + i, n - i);
        if (k == 0)
            return 0;
        i += k;
    }
    return 1;
}

static sc_attr_str take(const sc_accesslog_fields *f, sc_accesslog_field id, size_t max)
{
    if (!sc_accesslog_has(f, id) || !sc_line_record_safe_text(f->v[id].p, f->v[id].n, max))
        return (sc_attr_str){NULL, 0};
    return (sc_attr_str){f->v[id].p, f->v[id].n};
}

static int is_token(sc_attr_str s)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              (c != '\0' && strchr(extra, c) != NULL)))
            return 0;
    }
    return s.len > 0;
}

static int host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_' || c == ':';
}

/* "name", "name:port", "[v6]" or "[v6]:port" -> address and port (0 when not given). */
static void split_host(sc_attr_str h, sc_attr_str *addr, int *port)
{
    const char *p = h.ptr, *end = h.ptr + h.len, *colon = NULL;
    *addr = (sc_attr_str){NULL, 0};
    *port = 0;
    if (h.len == 0)
        return;
    if (p[0] == '[') {
        const char *rb = memchr(p, ']', h.len);
        if (rb == NULL || rb == p + 1)
            return;
        *addr = (sc_attr_str){p + 1, (size_t)(rb - p - 1)};
        colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
    } else {
        const char *c = memchr(p, ':', h.len);
        if (c != NULL && memchr(c + 1, ':', (size_t)(end - c - 1)) != NULL)
            c = NULL; /* an unbracketed IPv6 address: no port */
        *addr = (sc_attr_str){p, c ? (size_t)(c - p) : h.len};
        colon = c;
    }
    for (size_t i = 0; i < addr->len; i++)
        if (!host_char(addr->ptr[i]))
            *addr = (sc_attr_str){NULL, 0};
    if (addr->len == 0 || colon == NULL)
        return;
    int v = 0;
    for (const char *q = colon + 1; q < end && v <= 65535; q++) {
        if (*q < '0' || *q > '9')
            return;
        v = v * 10 + (*q - '0');
    }
    *port = v >= 1 && v <= 65535 ? v : 0;
}

static void timing(const sc_accesslog_fields *f, uint64_t now_ns, sc_attempt_record *r)
{
    uint64_t dur = sc_accesslog_has(f, SC_ACCESSLOG_FIELD_DURATION) ? f->duration_ns : 0;
    if (!sc_accesslog_has(f, SC_ACCESSLOG_FIELD_TIME)) {
        r->end_ns = now_ns;
        r->start_ns = now_ns >= dur ? now_ns - dur : 0;
        return;
    }
    uint64_t t = (uint64_t)f->time_unix_ns;
    if (f->time_is_start) {
        r->start_ns = t;
        r->end_ns = UINT64_MAX - t >= dur ? t + dur : UINT64_MAX;
    } else {
        r->end_ns = t;
        r->start_ns = t >= dur ? t - dur : 0;
    }
}

static void outcome(const sc_accesslog_fields *f, sc_line_record *out)
{
    const sc_derive_result *d = &out->derived;
    sc_attempt_record *r = &out->rec;
    int st = sc_accesslog_has(f, SC_ACCESSLOG_FIELD_STATUS) ? f->status : 0;
    r->status_code = st;
    r->error_class = d->error_class;
    if (d->error_class != SC_ERROR_CLASS_NONE && st >= 100 && st <= 599) {
        out->status_text[0] = (char)('0' + st / 100);
        out->status_text[1] = (char)('0' + st / 10 % 10);
        out->status_text[2] = (char)('0' + st % 10);
        out->status_text[3] = '\0';
        r->error_type = (sc_attr_str){out->status_text, 3};
    }
    r->resend_count = d->retry_known ? d->retry_count : 0;
    if (d->fallback_known && d->fallback_decision != SC_FALLBACK_NOT_NEEDED) {
        r->fallback = d->fallback_decision;
        r->fallback_reason = (sc_attr_str){d->fallback_reason, strlen(d->fallback_reason)};
    }
}

static void genai(const sc_accesslog_fields *f, sc_line_record *out)
{
    const sc_derive_result *d = &out->derived;
    sc_attempt_record *r = &out->rec;
    if (d->operation != NULL)
        r->operation = (sc_attr_str){d->operation, strlen(d->operation)};
    r->response_model = take(f, SC_ACCESSLOG_FIELD_MODEL, SC_LINE_RECORD_MAX_TEXT);
    r->usage_present = d->usage == SC_DERIVE_USAGE_PRESENT;
    r->usage_unknown = d->usage == SC_DERIVE_USAGE_UNKNOWN;
    if (sc_accesslog_has(f, SC_ACCESSLOG_FIELD_INPUT_TOKENS) && f->input_tokens <= INT64_MAX)
        r->input_tokens = (int64_t)f->input_tokens;
    if (sc_accesslog_has(f, SC_ACCESSLOG_FIELD_OUTPUT_TOKENS) && f->output_tokens <= INT64_MAX)
        r->output_tokens = (int64_t)f->output_tokens;
}

static void parent(const sc_accesslog_fields *f, sc_attempt_record *r)
{
    if (!sc_accesslog_has(f, SC_ACCESSLOG_FIELD_TRACEPARENT))
        return;
    const sc_accesslog_str *tp = &f->v[SC_ACCESSLOG_FIELD_TRACEPARENT];
    if (sc_traceparent_parse(tp->p, tp->n, r->parent.trace_id, r->parent.span_id,
                             &r->parent.trace_flags) == 0) {
        r->has_parent = 1;
        r->parent_is_remote = 1;
    }
}

void sc_line_record_build(const sc_derive_routes *routes, const sc_accesslog_fields *f,
                          uint64_t seq, uint64_t now_ns, sc_line_record *out)
{
    sc_attempt_record *r = &out->rec;
    sc_record_attempt_init(r);
    out->status_text[0] = '\0';
    sc_derive(routes, f, &out->derived);
    r->source = SC_SOURCE_ACCESS_LOG;
    r->kind = SC_SPAN_KIND_SERVER;
    r->source_seq = seq;
    sc_attr_str m = take(f, SC_ACCESSLOG_FIELD_METHOD, METHOD_MAX);
    if (is_token(m))
        r->method = m;
    if (strcmp(out->derived.route, SC_DERIVE_ROUTE_OTHER) != 0)
        r->route = (sc_attr_str){out->derived.route, strlen(out->derived.route)};
    outcome(f, out);
    genai(f, out);
    split_host(take(f, SC_ACCESSLOG_FIELD_HOST, SC_LINE_RECORD_MAX_TEXT), &r->server_address,
               &r->server_port);
    if (r->server_address.len > 0 && r->server_port == 0 &&
        sc_accesslog_has(f, SC_ACCESSLOG_FIELD_SERVER_PORT))
        r->server_port = f->server_port;
    r->upstream_request_id = take(f, SC_ACCESSLOG_FIELD_REQUEST_ID, SC_LINE_RECORD_MAX_TEXT);
    timing(f, now_ns, r);
    parent(f, r);
}
