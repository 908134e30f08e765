/* attr.h - owns: typed attributes (key + string/int/double/bool/string-array value) and the
 * attribute-SET operations the metrics SDK needs (canonical order, hash, equality, deep copy).
 *
 * An sc_attr never owns memory: the key is a NUL-terminated string (usually a schema.h constant)
 * and string values are (ptr, len) slices, so a list is built on the stack with no allocation:
 *
 *     sc_attr a[] = {SC_ATTR_STR(SC_ATTR_GEN_AI_OPERATION_NAME, "chat"),
 *                    SC_ATTR_INT(SC_ATTR_HTTP_RESPONSE_STATUS_CODE, 200)};
 *     sc_metrics_add(requests, 1, a, SC_ATTR_COUNT(a));
 *
 * Whoever stores attributes (a span, a metric series) copies what it keeps; the caller's memory
 * need only live for the duration of the call. Readers (exporters) get sc_attr values back, the
 * same type, so one encoder function handles span, event and metric-point attributes. */
#ifndef SC_TELEMETRY_ATTR_H
#define SC_TELEMETRY_ATTR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A borrowed byte slice; not NUL-terminated unless stated. ptr may be NULL when len is 0. */
typedef struct sc_attr_str {
    const char *ptr;
    size_t len;
} sc_attr_str;

/* Values match the OTLP AnyValue oneof the encoder emits. */
typedef enum {
    SC_ATTR_STRING = 1,  /* v.s */
    SC_ATTR_INT,         /* v.i   (AnyValue.int_value) */
    SC_ATTR_DOUBLE,      /* v.d   (AnyValue.double_value) */
    SC_ATTR_BOOL,        /* v.b   0 or 1 (AnyValue.bool_value) */
    SC_ATTR_STRING_ARRAY /* v.arr (AnyValue.array_value of string values) */
} sc_attr_type;

typedef struct sc_attr {
    const char *key; /* NUL-terminated, non-empty */
    sc_attr_type type;
    union {
        sc_attr_str s;
        int64_t i;
        double d;
        int b;
        struct {
            const sc_attr_str *items;
            size_t n;
        } arr;
    } v;
} sc_attr;

/* Stack builders (compound literals; the values are borrowed). */
#define SC_ATTR_STR(k, cstr)                                                                       \
    ((sc_attr){.key = (k), .type = SC_ATTR_STRING, .v.s = {(cstr), strlen(cstr)}})
#define SC_ATTR_STRN(k, p, n)                                                                      \
    ((sc_attr){.key = (k), .type = SC_ATTR_STRING, .v.s = {(p), (size_t)(n)}})
#define SC_ATTR_INT(k, x)  ((sc_attr){.key = (k), .type = SC_ATTR_INT, .v.i = (int64_t)(x)})
#define SC_ATTR_DBL(k, x)  ((sc_attr){.key = (k), .type = SC_ATTR_DOUBLE, .v.d = (double)(x)})
#define SC_ATTR_BOOL(k, x) ((sc_attr){.key = (k), .type = SC_ATTR_BOOL, .v.b = !!(x)})
#define SC_ATTR_STRARR(k, it, cnt)                                                                 \
    ((sc_attr){.key = (k), .type = SC_ATTR_STRING_ARRAY, .v.arr = {(it), (size_t)(cnt)}})
#define SC_ATTR_COUNT(arr) (sizeof(arr) / sizeof((arr)[0]))

/* Largest attribute set a metric measurement may carry (bounded so canonicalisation runs on a
 * stack array with no allocation). */
#define SC_ATTR_SET_MAX 16

/* 1 if the attribute is well-formed: non-empty key, known type, slices non-NULL when len > 0. */
int sc_attr_valid(const sc_attr *a);

/* Longest prefix of (p, len) that is at most `max` bytes and does not split a UTF-8 sequence.
 * Used for the OTel attribute value length limit (truncate, never drop). */
size_t sc_attr_utf8_prefix(const char *p, size_t len, size_t max);

/* 1 when a and b have the same key, type and value (doubles compare by value with -0.0 == 0.0;
 * NaN equals NaN so a set containing one can still be found again). */
int sc_attr_equal(const sc_attr *a, const sc_attr *b);

/* Canonical order of an attribute set: fills order[0..*n_out) with indices into attrs sorted by
 * key (bytewise), keeping only the LAST occurrence of a duplicate key (later values win, as in the
 * OTel API). Pure, no allocation. -EINVAL if an attribute is invalid, -E2BIG if n >
 * SC_ATTR_SET_MAX. */
int sc_attr_set_canonical(const sc_attr *attrs, size_t n, uint8_t order[SC_ATTR_SET_MAX],
                          size_t *n_out);

/* 64-bit hash of the canonical set (attrs visited through order[0..n)). Equal sets hash equal
 * whatever the order or duplicates the caller passed. */
uint64_t sc_attr_set_hash(const sc_attr *attrs, const uint8_t *order, size_t n);

/* A canonical set ready for metric lookups, so measurements whose sets overlap share one sort
 * and hash: order[0..n) indexes attrs (borrowed, must outlive the set) as sc_attr_set_canonical
 * gives it, hash is sc_attr_set_hash of that, and part[k] the hash of attribute order[k], which
 * sc_attr_set_extend reuses. */
typedef struct sc_attr_set {
    const sc_attr *attrs;
    size_t n;
    uint64_t hash;
    uint8_t order[SC_ATTR_SET_MAX];
    uint64_t part[SC_ATTR_SET_MAX];
} sc_attr_set;

/* Canonicalises and hashes attrs[0..n) into set. 0, or sc_attr_set_canonical's errors. */
int sc_attr_set_prepare(sc_attr_set *set, const sc_attr *attrs, size_t n);

/* set = base plus base->attrs[extra] (an index base's order does not use), with no re-sort or
 * rehash of base: the same set, order and hash sc_attr_set_prepare gives for base's attributes
 * followed by the extra one (which wins over a base attribute with its key). set may not alias
 * base. 0; -EINVAL (invalid attribute or index >= SC_ATTR_SET_MAX), -E2BIG. */
int sc_attr_set_extend(sc_attr_set *set, const sc_attr_set *base, size_t extra);

/* Bytes needed to deep-copy the canonical set with sc_attr_set_copy. */
size_t sc_attr_set_copy_size(const sc_attr *attrs, const uint8_t *order, size_t n);

/* Deep-copies the canonical set into `block` (sc_attr_set_copy_size bytes, aligned for sc_attr):
 * n sc_attr first, then array item slices, then keys and string bytes (each NUL-terminated).
 * Returns the copied array (== block). The copy refers only to memory inside block. */
sc_attr *sc_attr_set_copy(const sc_attr *attrs, const uint8_t *order, size_t n, void *block);

#endif
