/* attr.c - owns: attribute validation, UTF-8-safe truncation and attribute-set canonicalisation,
 * hashing and deep copies. Pure functions; the only memory touched is the caller's. */
#include "telemetry/attr.h"

#include <errno.h>
#include <math.h>

int sc_attr_valid(const sc_attr *a)
{
    if (a == NULL || a->key == NULL || a->key[0] == '\0')
        return 0;
    switch (a->type) {
    case SC_ATTR_STRING:
        return a->v.s.ptr != NULL || a->v.s.len == 0;
    case SC_ATTR_INT:
    case SC_ATTR_DOUBLE:
    case SC_ATTR_BOOL:
        return 1;
    case SC_ATTR_STRING_ARRAY:
        if (a->v.arr.items == NULL)
            return a->v.arr.n == 0;
        for (size_t i = 0; i < a->v.arr.n; i++)
            if (a->v.arr.items[i].ptr == NULL && a->v.arr.items[i].len > 0)
                return 0;
        return 1;
    }
    return 0;
}

size_t sc_attr_utf8_prefix(const char *p, size_t len, size_t max)
{
    if (len <= max)
        return len;
    /* Cutting at `max` is safe unless p[max] continues a multi-byte sequence; then back up to
     * that sequence's lead byte (at most 3 steps in valid UTF-8; invalid input is cut as is). */
    size_t i = max;
    for (int steps = 0; i > 0 && steps < 3 && ((unsigned char)p[i] & 0xC0) == 0x80; steps++)
        i--;
    if (((unsigned char)p[i] & 0xC0) == 0x80)
        return max;
    return i;
}

static int str_eq(sc_attr_str a, sc_attr_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static uint64_t double_bits(double d)
{
    uint64_t u;
    if (d == 0.0)
        d = 0.0; /* -0.0 and 0.0 are one value */
    if (isnan(d))
        d = NAN; /* one canonical NaN */
    memcpy(&u, &d, sizeof u);
    return u;
}

int sc_attr_equal(const sc_attr *a, const sc_attr *b)
{
    if (a->type != b->type || strcmp(a->key, b->key) != 0)
        return 0;
    switch (a->type) {
    case SC_ATTR_STRING:
        return str_eq(a->v.s, b->v.s);
    case SC_ATTR_INT:
        return a->v.i == b->v.i;
    case SC_ATTR_DOUBLE:
        return double_bits(a->v.d) == double_bits(b->v.d);
    case SC_ATTR_BOOL:
        return !a->v.b == !b->v.b;
    case SC_ATTR_STRING_ARRAY:
        if (a->v.arr.n != b->v.arr.n)
            return 0;
        for (size_t i = 0; i < a->v.arr.n; i++)
            if (!str_eq(a->v.arr.items[i], b->v.arr.items[i]))
                return 0;
        return 1;
    }
    return 0;
}

int sc_attr_set_canonical(const sc_attr *attrs, size_t n, uint8_t order[SC_ATTR_SET_MAX],
                          size_t *n_out)
{
    if (n > SC_ATTR_SET_MAX)
        return -E2BIG;
    /* Stable insertion sort: equal keys keep call order, so the last one is the newest. */
    for (size_t i = 0; i < n; i++) {
        if (!sc_attr_valid(&attrs[i]))
            return -EINVAL;
        size_t j = i;
        while (j > 0 && strcmp(attrs[order[j - 1]].key, attrs[i].key) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = (uint8_t)i;
    }
    size_t w = 0;
    for (size_t r = 0; r < n; r++) {
        if (r + 1 < n && strcmp(attrs[order[r]].key, attrs[order[r + 1]].key) == 0)
            continue; /* a later duplicate wins */
        order[w++] = order[r];
    }
    *n_out = w;
    return 0;
}

/* Eight bytes at a time (multiply and fold), then a splitmix64 finaliser so the low bits (used
 * to index tables) are well mixed. Byte-at-a-time FNV-1a was 9% of a replay's instructions: a
 * metric update hashes ~8 keys and values. Lengths are mixed in by the callers (a key hashes its
 * NUL, a string its length), so a zero-padded tail cannot make two inputs meet. */
static uint64_t mix(uint64_t h, uint64_t v)
{
    h = (h ^ v) * 0x9e3779b97f4a7c15u;
    return h ^ (h >> 29);
}

static uint64_t hash_bytes(uint64_t h, const void *p, size_t len)
{
    const unsigned char *b = p;
    uint64_t w;
    for (; len >= 8; b += 8, len -= 8) {
        memcpy(&w, b, 8);
        h = mix(h, w);
    }
    if (len > 0) {
        w = 0;
        memcpy(&w, b, len);
        h = mix(h, w);
    }
    return h;
}

static uint64_t hash_str(uint64_t h, sc_attr_str s)
{
    h = mix(h, s.len); /* the length keeps ("ab","c") apart from ("a","bc") */
    return s.len ? hash_bytes(h, s.ptr, s.len) : h;
}

/* The hash of one attribute (key, type, value). A set's hash folds these in canonical order, so
 * a set one attribute larger than a prepared one costs a fold, not a rehash (sc_attr_set_extend).
 */
static uint64_t attr_hash(const sc_attr *a)
{
    uint64_t h = hash_bytes(0xcbf29ce484222325u, a->key, strlen(a->key) + 1);
    h = mix(h, (uint64_t)a->type);
    switch (a->type) {
    case SC_ATTR_STRING:
        return hash_str(h, a->v.s);
    case SC_ATTR_INT:
        return mix(h, (uint64_t)a->v.i);
    case SC_ATTR_DOUBLE:
        return mix(h, double_bits(a->v.d));
    case SC_ATTR_BOOL:
        return mix(h, (uint64_t) !!a->v.b);
    case SC_ATTR_STRING_ARRAY:
        h = mix(h, a->v.arr.n);
        for (size_t i = 0; i < a->v.arr.n; i++)
            h = hash_str(h, a->v.arr.items[i]);
        return h;
    }
    return h;
}

static uint64_t fold(const uint64_t *part, size_t n)
{
    uint64_t h = 0x84222325cbf29ce4u;
    for (size_t k = 0; k < n; k++)
        h = mix(h, part[k]);
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9u;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebu;
    return h ^ (h >> 31);
}

uint64_t sc_attr_set_hash(const sc_attr *attrs, const uint8_t *order, size_t n)
{
    uint64_t part[SC_ATTR_SET_MAX];
    n = n < SC_ATTR_SET_MAX ? n : SC_ATTR_SET_MAX;
    for (size_t k = 0; k < n; k++)
        part[k] = attr_hash(&attrs[order[k]]);
    return fold(part, n);
}

int sc_attr_set_prepare(sc_attr_set *set, const sc_attr *attrs, size_t n)
{
    int rc = sc_attr_set_canonical(attrs, n, set->order, &set->n);
    if (rc < 0)
        return rc;
    set->attrs = attrs;
    for (size_t k = 0; k < set->n; k++)
        set->part[k] = attr_hash(&attrs[set->order[k]]);
    set->hash = fold(set->part, set->n);
    return 0;
}

int sc_attr_set_extend(sc_attr_set *set, const sc_attr_set *base, size_t extra)
{
    const sc_attr *a = &base->attrs[extra];
    if (extra >= SC_ATTR_SET_MAX || !sc_attr_valid(a))
        return -EINVAL;
    size_t at = 0; /* the extra's place in key order */
    int cmp = 1;
    while (at < base->n && (cmp = strcmp(base->attrs[base->order[at]].key, a->key)) < 0)
        at++;
    int replace = at < base->n && cmp == 0; /* the extra is later, so it wins */
    if (!replace && base->n >= SC_ATTR_SET_MAX)
        return -E2BIG;
    size_t tail = at + (size_t)replace;
    set->attrs = base->attrs;
    memcpy(set->order, base->order, at);
    memcpy(set->part, base->part, at * sizeof *set->part);
    set->order[at] = (uint8_t)extra;
    set->part[at] = attr_hash(a);
    memcpy(set->order + at + 1, base->order + tail, base->n - tail);
    memcpy(set->part + at + 1, base->part + tail, (base->n - tail) * sizeof *set->part);
    set->n = base->n - (size_t)replace + 1;
    set->hash = fold(set->part, set->n);
    return 0;
}

static size_t items_of(const sc_attr *a)
{
    return a->type == SC_ATTR_STRING_ARRAY ? a->v.arr.n : 0;
}

size_t sc_attr_set_copy_size(const sc_attr *attrs, const uint8_t *order, size_t n)
{
    size_t size = n * sizeof(sc_attr);
    for (size_t k = 0; k < n; k++) {
        const sc_attr *a = &attrs[order[k]];
        size += strlen(a->key) + 1;
        if (a->type == SC_ATTR_STRING)
            size += a->v.s.len + 1;
        size += items_of(a) * sizeof(sc_attr_str);
        for (size_t i = 0; i < items_of(a); i++)
            size += a->v.arr.items[i].len + 1;
    }
    return size;
}

static sc_attr_str copy_bytes(char **cursor, const char *p, size_t len)
{
    char *dst = *cursor;
    if (len)
        memcpy(dst, p, len);
    dst[len] = '\0';
    *cursor += len + 1;
    return (sc_attr_str){dst, len};
}

sc_attr *sc_attr_set_copy(const sc_attr *attrs, const uint8_t *order, size_t n, void *block)
{
    sc_attr *out = block;
    sc_attr_str *items = (sc_attr_str *)(out + n);
    size_t total_items = 0;
    for (size_t k = 0; k < n; k++)
        total_items += items_of(&attrs[order[k]]);
    char *bytes = (char *)(items + total_items);
    for (size_t k = 0; k < n; k++) {
        const sc_attr *a = &attrs[order[k]];
        out[k] = *a;
        out[k].key = copy_bytes(&bytes, a->key, strlen(a->key)).ptr;
        if (a->type == SC_ATTR_STRING) {
            out[k].v.s = copy_bytes(&bytes, a->v.s.ptr, a->v.s.len);
        } else if (a->type == SC_ATTR_BOOL) {
            out[k].v.b = !!a->v.b;
        } else if (a->type == SC_ATTR_STRING_ARRAY) {
            out[k].v.arr.items = items;
            for (size_t i = 0; i < a->v.arr.n; i++)
                *items++ = copy_bytes(&bytes, a->v.arr.items[i].ptr, a->v.arr.items[i].len);
        }
    }
    return out;
}
