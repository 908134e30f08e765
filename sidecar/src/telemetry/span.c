/* span.c - owns: filling an sc_span in place (arena, limits, overwrite rules), span ids, and the
 * W3C traceparent parser/formatter. No allocation anywhere in this file. */
#include "telemetry/span.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

_Static_assert(sizeof(sc_span) <= 2048, "a queued span should stay within 2 KiB");
_Static_assert(SC_SPAN_ARENA_SIZE <= UINT16_MAX, "arena offsets are 16-bit");
_Static_assert(SC_SPAN_MAX_EVENT_ATTRS <= UINT8_MAX, "event attr indices are 8-bit");

#define KEY_MAX 255

void sc_span_reset(sc_span *span)
{
    memset(span, 0, offsetof(sc_span, attrs));
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static int random_id(sc_rng *rng, uint8_t *out, size_t n)
{
    do {
        int rc = sc_rng_fill(rng, out, n);
        if (rc < 0)
            return rc;
    } while (all_zero(out, n));
    return 0;
}

int sc_span_new_ids(sc_span *span, sc_rng *rng, const sc_span_context *parent)
{
    int rc;
    if (parent != NULL) {
        memcpy(span->trace_id, parent->trace_id, sizeof span->trace_id);
        memcpy(span->parent_span_id, parent->span_id, sizeof span->parent_span_id);
        span->trace_flags = parent->trace_flags;
        span->has_parent = 1;
    } else {
        if ((rc = random_id(rng, span->trace_id, sizeof span->trace_id)) < 0)
            return rc;
        memset(span->parent_span_id, 0, sizeof span->parent_span_id);
        span->trace_flags = SC_TRACE_FLAG_SAMPLED;
        span->has_parent = 0;
    }
    return random_id(rng, span->span_id, sizeof span->span_id);
}

/* ---- Arena ----------------------------------------------------------------------------------- */

static size_t arena_free(const sc_span *span)
{
    return SC_SPAN_ARENA_SIZE - span->arena_used;
}

/* Appends len bytes (plus a NUL when nul) and returns the reference (len excludes the NUL).
 * Callers check room first with arena_free. */
static sc_span_ref arena_put(sc_span *span, const char *p, size_t len, int nul)
{
    sc_span_ref r = {span->arena_used, (uint16_t)len};
    if (len)
        memcpy(span->arena + span->arena_used, p, len);
    if (nul)
        span->arena[span->arena_used + len] = '\0';
    span->arena_used = (uint16_t)(span->arena_used + len + (nul ? 1 : 0));
    return r;
}

static int put_bounded(sc_span *span, const char *p, size_t len, size_t max, sc_span_ref *out)
{
    len = p ? sc_attr_utf8_prefix(p, len, max) : 0;
    if (len > arena_free(span))
        return -ENOBUFS;
    *out = arena_put(span, p, len, 0);
    return 0;
}

int sc_span_set_name(sc_span *span, const char *p, size_t len)
{
    return put_bounded(span, p, len, SC_SPAN_NAME_MAX, &span->name);
}

/* W3C tracestate is a comma-separated list; cutting inside a member would corrupt it, so keep
 * the longest prefix of whole members that fits. */
static size_t trace_state_prefix(const char *p, size_t len)
{
    if (len <= SC_SPAN_TRACE_STATE_MAX)
        return len;
    size_t cut = 0;
    for (size_t i = 0; i <= SC_SPAN_TRACE_STATE_MAX; i++)
        if (p[i] == ',')
            cut = i;
    while (cut > 0 && (p[cut - 1] == ' ' || p[cut - 1] == '\t'))
        cut--;
    return cut;
}

static int put_trace_state(sc_span *span, const char *p, size_t len, sc_span_ref *out)
{
    len = p ? trace_state_prefix(p, len) : 0;
    if (len > arena_free(span))
        return -ENOBUFS;
    *out = arena_put(span, p, len, 0);
    return 0;
}

int sc_span_set_trace_state(sc_span *span, const char *p, size_t len)
{
    return put_trace_state(span, p, len, &span->trace_state);
}

void sc_span_set_status(sc_span *span, sc_span_status status, const char *msg, size_t msg_len)
{
    if (status == SC_SPAN_STATUS_UNSET || span->status == SC_SPAN_STATUS_OK)
        return;
    span->status = (uint8_t)status;
    span->status_message = (sc_span_ref){0, 0};
    if (status == SC_SPAN_STATUS_ERROR && msg != NULL)
        (void)put_bounded(span, msg, msg_len, SC_SPAN_STATUS_MSG_MAX, &span->status_message);
}

/* ---- Attributes ------------------------------------------------------------------------------ */

static size_t array_items(const sc_attr *a)
{
    return a->v.arr.n < SC_SPAN_ARRAY_MAX ? a->v.arr.n : SC_SPAN_ARRAY_MAX;
}

/* Arena bytes the value of `a` needs. */
static size_t value_size(const sc_attr *a)
{
    if (a->type == SC_ATTR_STRING)
        return sc_attr_utf8_prefix(a->v.s.ptr, a->v.s.len, SC_SPAN_ATTR_VALUE_MAX);
    if (a->type != SC_ATTR_STRING_ARRAY)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < array_items(a); i++) {
        const sc_attr_str *it = &a->v.arr.items[i];
        n += 2 + sc_attr_utf8_prefix(it->ptr, it->len, SC_SPAN_ATTR_VALUE_MAX);
    }
    return n;
}

static void put_value(sc_span *span, sc_span_attr *dst, const sc_attr *a)
{
    dst->type = (uint8_t)a->type;
    dst->n_items = 0;
    switch (a->type) {
    case SC_ATTR_STRING:
        dst->v.s = arena_put(span, a->v.s.ptr, value_size(a), 0);
        break;
    case SC_ATTR_INT:
        dst->v.i = a->v.i;
        break;
    case SC_ATTR_DOUBLE:
        dst->v.d = a->v.d;
        break;
    case SC_ATTR_BOOL:
        dst->v.b = !!a->v.b;
        break;
    case SC_ATTR_STRING_ARRAY: {
        uint16_t start = span->arena_used;
        for (size_t i = 0; i < array_items(a); i++) {
            const sc_attr_str *it = &a->v.arr.items[i];
            size_t len = sc_attr_utf8_prefix(it->ptr, it->len, SC_SPAN_ATTR_VALUE_MAX);
            unsigned char hdr[2] = {(unsigned char)(len & 0xff), (unsigned char)(len >> 8)};
            arena_put(span, (const char *)hdr, 2, 0);
            arena_put(span, it->ptr, len, 0);
        }
        dst->n_items = (uint8_t)array_items(a);
        dst->v.s = (sc_span_ref){start, (uint16_t)(span->arena_used - start)};
        break;
    }
    }
}

static sc_span_attr *find_key(sc_span *span, sc_span_attr *tab, size_t n, const char *key,
                              size_t key_len)
{
    for (size_t i = 0; i < n; i++)
        if (tab[i].key.len == key_len && memcmp(span->arena + tab[i].key.off, key, key_len) == 0)
            return &tab[i];
    return NULL;
}

/* Stores `a` into tab[0..*n) (cap entries): overwrite on an existing key, else append. 0 or the
 * negative errno of the drop; the caller counts drops. */
static int store_attr(sc_span *span, sc_span_attr *tab, uint8_t *n, size_t cap, const sc_attr *a)
{
    if (!sc_attr_valid(a) || strlen(a->key) > KEY_MAX)
        return -EINVAL;
    size_t key_len = strlen(a->key);
    sc_span_attr *dst = find_key(span, tab, *n, a->key, key_len);
    size_t need = value_size(a) + (dst ? 0 : key_len + 1);
    if (dst == NULL && *n >= cap)
        return -ENOSPC;
    if (need > arena_free(span))
        return -ENOBUFS;
    if (dst == NULL) {
        dst = &tab[(*n)++];
        memset(dst, 0, sizeof *dst);
        dst->key = arena_put(span, a->key, key_len, 1);
    }
    put_value(span, dst, a);
    return 0;
}

int sc_span_set_attr(sc_span *span, const sc_attr *attr)
{
    int rc = store_attr(span, span->attrs, &span->n_attrs, SC_SPAN_MAX_ATTRS, attr);
    if (rc < 0)
        span->dropped_attributes_count++;
    return rc;
}

size_t sc_span_set_attrs(sc_span *span, const sc_attr *attrs, size_t n)
{
    size_t dropped = 0;
    for (size_t i = 0; i < n; i++)
        dropped += sc_span_set_attr(span, &attrs[i]) < 0;
    return dropped;
}

void sc_span_attr_get(const sc_span *span, const sc_span_attr *stored, sc_attr *out,
                      sc_attr_str items[SC_SPAN_ARRAY_MAX])
{
    memset(out, 0, sizeof *out);
    out->key = span->arena + stored->key.off;
    out->type = (sc_attr_type)stored->type;
    switch (out->type) {
    case SC_ATTR_STRING:
        out->v.s = sc_span_str(span, stored->v.s);
        break;
    case SC_ATTR_INT:
        out->v.i = stored->v.i;
        break;
    case SC_ATTR_DOUBLE:
        out->v.d = stored->v.d;
        break;
    case SC_ATTR_BOOL:
        out->v.b = (int)stored->v.b;
        break;
    case SC_ATTR_STRING_ARRAY: {
        const unsigned char *p = (const unsigned char *)span->arena + stored->v.s.off;
        for (size_t i = 0; i < stored->n_items; i++) {
            size_t len = (size_t)p[0] | ((size_t)p[1] << 8);
            items[i] = (sc_attr_str){(const char *)p + 2, len};
            p += 2 + len;
        }
        out->v.arr.items = items;
        out->v.arr.n = stored->n_items;
        break;
    }
    }
}

/* ---- Events and links ------------------------------------------------------------------------ */

int sc_span_add_event(sc_span *span, const char *name, size_t name_len, uint64_t time_ns,
                      const sc_attr *attrs, size_t n_attrs)
{
    if (span->n_events >= SC_SPAN_MAX_EVENTS) {
        span->dropped_events_count++;
        return -ENOSPC;
    }
    sc_span_event ev = {.time_ns = time_ns, .first_attr = span->n_event_attrs};
    if (put_bounded(span, name, name_len, SC_SPAN_NAME_MAX, &ev.name) < 0) {
        span->dropped_events_count++;
        return -ENOBUFS;
    }
    for (size_t i = 0; i < n_attrs; i++) {
        sc_span_attr *tab = &span->event_attrs[ev.first_attr];
        size_t cap = SC_SPAN_MAX_EVENT_ATTRS - ev.first_attr;
        if (store_attr(span, tab, &ev.n_attrs, cap, &attrs[i]) < 0)
            ev.dropped_attributes_count++;
    }
    span->n_event_attrs = (uint8_t)(span->n_event_attrs + ev.n_attrs);
    span->events[span->n_events++] = ev;
    return 0;
}

int sc_span_add_link(sc_span *span, const sc_span_context *ctx, const char *trace_state,
                     size_t trace_state_len)
{
    if (span->n_links >= SC_SPAN_MAX_LINKS) {
        span->dropped_links_count++;
        return -ENOSPC;
    }
    sc_span_link *l = &span->links[span->n_links];
    memset(l, 0, sizeof *l);
    if (put_trace_state(span, trace_state, trace_state_len, &l->trace_state) < 0) {
        span->dropped_links_count++;
        return -ENOBUFS;
    }
    memcpy(l->trace_id, ctx->trace_id, sizeof l->trace_id);
    memcpy(l->span_id, ctx->span_id, sizeof l->span_id);
    l->trace_flags = ctx->trace_flags;
    span->n_links++;
    return 0;
}

/* ---- W3C traceparent ------------------------------------------------------------------------- */

/* Digit values plus one (0: not a lower-case hex digit; upper case is invalid in traceparent).
 * A table, not two range tests: random ids mispredict a digit-or-letter branch half the time,
 * and an access log parses one traceparent per line. */
static const uint8_t hex_plus_one[256] = {
    ['0'] = 1, ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
    ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

static int unhex(const char *p, uint8_t *out, size_t n)
{
    unsigned bad = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned hi = hex_plus_one[(unsigned char)p[2 * i]];
        unsigned lo = hex_plus_one[(unsigned char)p[2 * i + 1]];
        bad |= (hi == 0) | (lo == 0);
        out[i] = (uint8_t)((hi - 1) << 4 | (lo - 1));
    }
    return bad ? -EINVAL : 0;
}

int sc_traceparent_parse(const char *p, size_t len, uint8_t trace_id[16], uint8_t parent_id[8],
                         uint8_t *flags)
{
    uint8_t version, tid[16], pid[8], fl;
    if (p == NULL || len < SC_TRACEPARENT_LEN)
        return -EINVAL;
    if (unhex(p, &version, 1) < 0 || version == 0xff)
        return -EINVAL;
    if (p[2] != '-' || p[35] != '-' || p[52] != '-')
        return -EINVAL;
    if (version == 0 && len != SC_TRACEPARENT_LEN)
        return -EINVAL;
    if (len > SC_TRACEPARENT_LEN && p[SC_TRACEPARENT_LEN] != '-')
        return -EINVAL;
    if (unhex(p + 3, tid, 16) < 0 || unhex(p + 36, pid, 8) < 0 || unhex(p + 53, &fl, 1) < 0)
        return -EINVAL;
    if (all_zero(tid, sizeof tid) || all_zero(pid, sizeof pid))
        return -EINVAL;
    memcpy(trace_id, tid, sizeof tid);
    memcpy(parent_id, pid, sizeof pid);
    *flags = fl;
    return 0;
}

static char *hex(char *out, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        *out++ = digits[p[i] >> 4];
        *out++ = digits[p[i] & 0xf];
    }
    return out;
}

int sc_traceparent_format(const sc_span *span, char out[SC_TRACEPARENT_LEN + 1])
{
    char *o = out;
    *o++ = '0';
    *o++ = '0';
    *o++ = '-';
    o = hex(o, span->trace_id, 16);
    *o++ = '-';
    o = hex(o, span->span_id, 8);
    *o++ = '-';
    o = hex(o, &span->trace_flags, 1);
    *o = '\0';
    return SC_TRACEPARENT_LEN;
}
