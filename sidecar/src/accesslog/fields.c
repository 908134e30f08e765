/* fields.c - owns: field/reason/unit name tables and the shared decode-and-validate step
 * (escapes into the bounded scratch, numbers, timestamps, request line, query removal). */
#include "accesslog/fields.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#define BIT SC_ACCESSLOG_BIT

static const char *const field_names[SC_ACCESSLOG_FIELD__COUNT] = {
    "time",          "method",         "path",
    "request",       "status",         "duration",
    "request_id",    "traceparent",    "upstream_status",
    "upstream_addr", "retry_count",    "fallback_reason",
    "model",         "input_tokens",   "output_tokens",
    "usage_present", "host",           "server_addr",
    "server_port",   "response_flags",
};

static const char *const reason_names[SC_ACCESSLOG_REASON__COUNT] = {
    "ok",         "empty",        "not_json",        "not_object",       "bad_json",
    "truncated",  "too_deep",     "layout_mismatch", "bad_request_line", "bad_timestamp",
    "bad_status", "bad_duration", "bad_value",       "value_too_long",   "missing_required",
};

static const char *const unit_names[SC_ACCESSLOG_DURATION__COUNT] = {"s", "ms", "us", "ns"};

static int lookup(const char *const *names, int count, const char *p, size_t n)
{
    for (int i = 0; i < count; i++)
        if (strlen(names[i]) == n && (n == 0 || memcmp(p, names[i], n) == 0))
            return i;
    return -1;
}

const char *sc_accesslog_field_name(sc_accesslog_field id)
{
    return (unsigned)id < SC_ACCESSLOG_FIELD__COUNT ? field_names[id] : NULL;
}

int sc_accesslog_field_parse(const char *p, size_t n, sc_accesslog_field *out)
{
    int i = lookup(field_names, SC_ACCESSLOG_FIELD__COUNT, p, n);
    if (i < 0)
        return -EINVAL;
    *out = (sc_accesslog_field)i;
    return 0;
}

const char *sc_accesslog_reason_name(sc_accesslog_reason r)
{
    return (unsigned)r < SC_ACCESSLOG_REASON__COUNT ? reason_names[r] : NULL;
}

const char *sc_accesslog_duration_unit_name(sc_accesslog_duration_unit u)
{
    return (unsigned)u < SC_ACCESSLOG_DURATION__COUNT ? unit_names[u] : NULL;
}

int sc_accesslog_duration_unit_parse(const char *p, size_t n, sc_accesslog_duration_unit *out)
{
    int i = lookup(unit_names, SC_ACCESSLOG_DURATION__COUNT, p, n);
    if (i < 0)
        return -EINVAL;
    *out = (sc_accesslog_duration_unit)i;
    return 0;
}

void sc_accesslog_fields_begin(sc_accesslog_fields *f, uint32_t mapped)
{
    /* Everything before the scratch bytes; the scratch is overwritten as needed. */
    memset(f, 0, offsetof(sc_accesslog_fields, scratch));
    f->mapped = mapped;
    f->bad_field = -1;
}

static int is_unset(const char *p, size_t n)
{
    return n == 0 || (n == 1 && p[0] == '-');
}

void sc_accesslog_fields_set(sc_accesslog_fields *f, sc_accesslog_field id, const char *p, size_t n,
                             sc_accesslog_enc enc)
{
    if ((unsigned)id >= SC_ACCESSLOG_FIELD__COUNT || (f->present & BIT(id)) || is_unset(p, n))
        return;
    f->present |= BIT(id);
    f->v[id] = (sc_accesslog_str){p, n};
    f->enc[id] = (uint8_t)enc;
}

int sc_accesslog_fields_fail(sc_accesslog_fields *f, sc_accesslog_reason r)
{
    f->reason = r;
    return -EBADMSG;
}

static int fail_field(sc_accesslog_fields *f, sc_accesslog_reason r, sc_accesslog_field id)
{
    f->bad_field = (int)id;
    return sc_accesslog_fields_fail(f, r);
}

/* ---- Escapes ------------------------------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int hex4(const char *p, const char *end)
{
    if (end - p < 4)
        return -1;
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return -1;
        v = v << 4 | h;
    }
    return v;
}

static size_t put_utf8(char *d, unsigned cp)
{
    if (cp < 0x80) {
        d[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (char)(0xC0 | cp >> 6);
        d[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (char)(0xE0 | cp >> 12);
        d[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        d[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    d[0] = (char)(0xF0 | cp >> 18);
    d[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    d[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    d[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* One \u escape at s (pointing at 'u'), pairing surrogates; lone ones become U+FFFD. */
static size_t json_u_escape(const char **sp, const char *end, char *d)
{
    const char *s = *sp;
    int cp = hex4(s + 1, end);
    if (cp < 0) { /* not a valid escape: keep it verbatim */
        d[0] = '\\';
        return 1;
    }
    s += 5;
    if (cp >= 0xD800 && cp <= 0xDBFF && end - s >= 6 && s[0] == '\\' && s[1] == 'u') {
        int lo = hex4(s + 2, end);
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            s += 6;
        }
    }
    if (cp >= 0xD800 && cp <= 0xDFFF)
        cp = 0xFFFD;
    *sp = s;
    return put_utf8(d, (unsigned)cp);
}

/* Decoded output is never longer than the input: every escape shrinks or keeps its length. */
size_t sc_accesslog_json_unescape(const char *s, size_t n, char *d)
{
    const char *end = s + n;
    char *o = d;
    while (s < end) {
        if (*s != '\\' || end - s < 2) {
            *o++ = *s++;
            continue;
        }
        char c = s[1], r;
        switch (c) {
        case '"':
            r = '"';
            break;
        case '\\':
            r = '\\';
            break;
        case '/':
            r = '/';
            break;
        case 'b':
            r = '\b';
            break;
        case 'f':
            r = '\f';
            break;
        case 'n':
            r = '\n';
            break;
        case 'r':
            r = '\r';
            break;
        case 't':
            r = '\t';
            break;
        case 'u': {
            const char *u = s + 1;
            size_t k = json_u_escape(&u, end, o);
            o += k;
            s = u == s + 1 ? s + 1 : u; /* invalid escape: emitted '\\', continue after it */
            continue;
        }
        default:
            r = 0;
            break;
        }
        if (r == 0) {
            *o++ = *s++;
            continue;
        }
        *o++ = r;
        s += 2;
    }
    return (size_t)(o - d);
}

static size_t nginx_unescape(const char *s, size_t n, char *d)
{
    const char *end = s + n;
    char *o = d;
    while (s < end) {
        int hi, lo;
        if (s[0] == '\\' && end - s >= 4 && s[1] == 'x' && (hi = hexval(s[2])) >= 0 &&
            (lo = hexval(s[3])) >= 0) {
            *o++ = (char)(hi << 4 | lo);
            s += 4;
        } else {
            *o++ = *s++;
        }
    }
    return (size_t)(o - d);
}

static int decode_one(sc_accesslog_fields *f, int id)
{
    sc_accesslog_str *v = &f->v[id];
    if (f->enc[id] == SC_ACCESSLOG_ENC_RAW || memchr(v->p, '\\', v->n) == NULL)
        return 0;
    if (v->n > sizeof f->scratch - f->scratch_used)
        return fail_field(f, SC_ACCESSLOG_VALUE_TOO_LONG, (sc_accesslog_field)id);
    char *d = f->scratch + f->scratch_used;
    size_t k = f->enc[id] == SC_ACCESSLOG_ENC_JSON ? sc_accesslog_json_unescape(v->p, v->n, d)
                                                   : nginx_unescape(v->p, v->n, d);
    f->scratch_used += k;
    *v = (sc_accesslog_str){d, k};
    if (is_unset(d, k))
        f->present &= ~BIT(id);
    return 0;
}

/* ---- Typed values -------------------------------------------------------------------------- */

/* Non-negative decimal integer (no sign, no fraction) of at most 19 digits, <= max. */
static int parse_uint(const char *p, size_t n, uint64_t max, uint64_t *out)
{
    if (n == 0 || n > 19)
        return -EINVAL;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned char)p[i] - '0';
        if (d > 9)
            return -EINVAL;
        v = v * 10 + d;
    }
    if (v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

static int ieq(const char *p, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    if (k != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i] >= 'A' && p[i] <= 'Z' ? (char)(p[i] + 32) : p[i];
        if (c != lit[i])
            return 0;
    }
    return 1;
}

static int parse_bool(const char *p, size_t n, int *out)
{
    if (ieq(p, n, "true") || ieq(p, n, "1") || ieq(p, n, "yes")) {
        *out = 1;
        return 0;
    }
    if (ieq(p, n, "false") || ieq(p, n, "0") || ieq(p, n, "no")) {
        *out = 0;
        return 0;
    }
    return -EINVAL;
}

/* Drops an absolute-form prefix ("https://host") and everything from '?' or '#'. */
static sc_accesslog_str path_only(sc_accesslog_str v)
{
    const char *p = v.p, *end = v.p + v.n;
    size_t scheme = v.n >= 7 && ieq(p, 7, "http://")    ? 7
                    : v.n >= 8 && ieq(p, 8, "https://") ? 8
                                                        : 0;
    if (scheme) {
        const char *s = p + scheme;
        while (s < end && *s != '/' && *s != '?' && *s != '#')
            s++;
        if (s == end || *s != '/')
            return (sc_accesslog_str){"/", 1};
        p = s;
    }
    const char *q = p;
    while (q < end && *q != '?' && *q != '#')
        q++;
    return (sc_accesslog_str){p, (size_t)(q - p)};
}

/* "METHOD TARGET[ PROTO]" -> method and target, when the layout gave no separate ones. */
static int split_request(sc_accesslog_fields *f)
{
    sc_accesslog_str r = f->v[SC_ACCESSLOG_FIELD_REQUEST];
    const char *sp = memchr(r.p, ' ', r.n);
    if (sp == NULL || sp == r.p)
        return -1;
    const char *t = sp + 1, *end = r.p + r.n;
    const char *t_end = memchr(t, ' ', (size_t)(end - t));
    if (t_end == NULL)
        t_end = end;
    if (t_end == t)
        return -1;
    if (!(f->present & BIT(SC_ACCESSLOG_FIELD_METHOD)))
        sc_accesslog_fields_set(f, SC_ACCESSLOG_FIELD_METHOD, r.p, (size_t)(sp - r.p), 0);
    if (!(f->present & BIT(SC_ACCESSLOG_FIELD_PATH)))
        sc_accesslog_fields_set(f, SC_ACCESSLOG_FIELD_PATH, t, (size_t)(t_end - t), 0);
    return 0;
}

static const int unit_digits[SC_ACCESSLOG_DURATION__COUNT] = {9, 6, 3, 0};

static int finish_numbers(sc_accesslog_fields *f, const sc_accesslog_formats *fmt)
{
    const sc_accesslog_str *v = f->v;
    uint64_t u;
    if (f->present & BIT(SC_ACCESSLOG_FIELD_TIME)) {
        const sc_accesslog_str *t = &v[SC_ACCESSLOG_FIELD_TIME];
        if (sc_timestamp_parse(fmt->time_format, t->p, t->n, &f->time_unix_ns) < 0)
            return fail_field(f, SC_ACCESSLOG_BAD_TIMESTAMP, SC_ACCESSLOG_FIELD_TIME);
    }
    if (f->present & BIT(SC_ACCESSLOG_FIELD_STATUS)) {
        const sc_accesslog_str *s = &v[SC_ACCESSLOG_FIELD_STATUS];
        if (s->n > 3 || parse_uint(s->p, s->n, 999, &u) < 0)
            return fail_field(f, SC_ACCESSLOG_BAD_STATUS, SC_ACCESSLOG_FIELD_STATUS);
        f->status = (int)u;
    }
    if (f->present & BIT(SC_ACCESSLOG_FIELD_DURATION)) {
        const sc_accesslog_str *d = &v[SC_ACCESSLOG_FIELD_DURATION];
        int64_t ns;
        unsigned unit = (unsigned)fmt->duration_unit < SC_ACCESSLOG_DURATION__COUNT
                            ? (unsigned)fmt->duration_unit
                            : 0;
        if (sc_timestamp_decimal(d->p, d->n, unit_digits[unit], &ns) < 0 || ns < 0)
            return fail_field(f, SC_ACCESSLOG_BAD_DURATION, SC_ACCESSLOG_FIELD_DURATION);
        f->duration_ns = (uint64_t)ns;
        f->duration_s = (double)ns / 1e9;
    }
    return 0;
}

static int finish_optional(sc_accesslog_fields *f, const sc_accesslog_formats *fmt)
{
    const sc_accesslog_str *v = f->v;
    uint64_t u;
    if (f->present & BIT(SC_ACCESSLOG_FIELD_RETRY_COUNT)) {
        const sc_accesslog_str *r = &v[SC_ACCESSLOG_FIELD_RETRY_COUNT];
        if (parse_uint(r->p, r->n, 1000000, &u) < 0)
            return fail_field(f, SC_ACCESSLOG_BAD_VALUE, SC_ACCESSLOG_FIELD_RETRY_COUNT);
        f->retry_count = (uint32_t)(fmt->retry_count_is_attempts ? (u > 0 ? u - 1 : 0) : u);
    }
    static const sc_accesslog_field tokens[2] = {SC_ACCESSLOG_FIELD_INPUT_TOKENS,
                                                 SC_ACCESSLOG_FIELD_OUTPUT_TOKENS};
    for (int i = 0; i < 2; i++) {
        if (!(f->present & BIT(tokens[i])))
            continue;
        if (parse_uint(v[tokens[i]].p, v[tokens[i]].n, (uint64_t)1 << 53, &u) < 0)
            return fail_field(f, SC_ACCESSLOG_BAD_VALUE, tokens[i]);
        *(i == 0 ? &f->input_tokens : &f->output_tokens) = u;
    }
    if (f->present & BIT(SC_ACCESSLOG_FIELD_USAGE_PRESENT)) {
        const sc_accesslog_str *b = &v[SC_ACCESSLOG_FIELD_USAGE_PRESENT];
        if (parse_bool(b->p, b->n, &f->usage_present) < 0)
            return fail_field(f, SC_ACCESSLOG_BAD_VALUE, SC_ACCESSLOG_FIELD_USAGE_PRESENT);
    }
    if (f->present & BIT(SC_ACCESSLOG_FIELD_SERVER_PORT)) {
        const sc_accesslog_str *p = &v[SC_ACCESSLOG_FIELD_SERVER_PORT];
        if (parse_uint(p->p, p->n, 65535, &u) < 0 || u == 0)
            return fail_field(f, SC_ACCESSLOG_BAD_VALUE, SC_ACCESSLOG_FIELD_SERVER_PORT);
        f->server_port = (uint16_t)u;
    }
    return 0;
}

int sc_accesslog_fields_finish(sc_accesslog_fields *f, const sc_accesslog_formats *fmt)
{
    for (int id = 0; id < SC_ACCESSLOG_FIELD__COUNT; id++)
        if ((f->present & BIT(id)) && decode_one(f, id) < 0)
            return -EBADMSG;
    uint32_t need_line = BIT(SC_ACCESSLOG_FIELD_METHOD) | BIT(SC_ACCESSLOG_FIELD_PATH);
    if ((f->present & BIT(SC_ACCESSLOG_FIELD_REQUEST)) && (f->present & need_line) != need_line &&
        split_request(f) < 0)
        return fail_field(f, SC_ACCESSLOG_BAD_REQUEST_LINE, SC_ACCESSLOG_FIELD_REQUEST);
    if (f->present & BIT(SC_ACCESSLOG_FIELD_PATH)) {
        f->v[SC_ACCESSLOG_FIELD_PATH] = path_only(f->v[SC_ACCESSLOG_FIELD_PATH]);
        if (f->v[SC_ACCESSLOG_FIELD_PATH].n == 0)
            f->present &= ~BIT(SC_ACCESSLOG_FIELD_PATH);
    }
    uint32_t required = fmt->required ? fmt->required : SC_ACCESSLOG_REQUIRED_DEFAULT;
    uint32_t missing = required & ~f->present;
    if (missing) {
        int id = 0;
        while (!(missing & BIT(id)))
            id++;
        return fail_field(f, SC_ACCESSLOG_MISSING_REQUIRED, (sc_accesslog_field)id);
    }
    int rc = finish_numbers(f, fmt);
    if (rc == 0)
        rc = finish_optional(f, fmt);
    if (rc == 0)
        f->time_is_start = fmt->time_is_start;
    return rc;
}
