/* codec.c - owns: the schema's value types: parsing --set/environment text, validating and decoding
 * JSON values into struct fields, encoding fields back to JSON (secrets redacted), freeing them,
 * and the wording of "expected ..., got ..." messages. */
#include "config/schema.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAP_MAX_ENTRIES 64
#define REDACTED        "[REDACTED]"

void sc_config_errorf(sc_config_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

static void appendf(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void appendf(char *out, size_t cap, const char *fmt, ...)
{
    size_t n = strlen(out);
    if (n + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + n, cap - n, fmt, ap);
    va_end(ap);
}

void sc_config_format_got(const sc_config_key *k, const cJSON *v, char *out, size_t cap)
{
    char q[128];
    int secret = k != NULL && (k->flags & SC_CK_SECRET);
    if (cJSON_IsString(v) && secret) {
        snprintf(out, cap, "got " REDACTED);
    } else if (cJSON_IsString(v)) {
        sc_config_quote(v->valuestring, q, sizeof q);
        snprintf(out, cap, "got %s", q);
    } else if (cJSON_IsNumber(v) && secret) {
        snprintf(out, cap, "got a number");
    } else if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (isfinite(d) && d == floor(d) && fabs(d) < 9e15)
            snprintf(out, cap, "got %lld", (long long)d);
        else
            snprintf(out, cap, "got %g", d);
    } else if (cJSON_IsBool(v)) {
        snprintf(out, cap, "got %s", cJSON_IsTrue(v) ? "true" : "false");
    } else if (cJSON_IsObject(v)) {
        snprintf(out, cap, "got an object");
    } else if (cJSON_IsArray(v)) {
        snprintf(out, cap, "got an array");
    } else {
        snprintf(out, cap, "got null");
    }
}

static void expect(const sc_config_key *k, int otel, char *out, size_t cap)
{
    char lo[32], hi[32];
    out[0] = '\0';
    switch (k->type) {
    case SC_CT_STRING:
        appendf(out, cap, "expected a non-empty string");
        break;
    case SC_CT_BOOL:
        appendf(out, cap, "expected true or false");
        break;
    case SC_CT_INT:
        appendf(out, cap, "expected an integer from %lld to %lld", (long long)k->min,
                (long long)k->max);
        break;
    case SC_CT_DURATION:
        if (otel) {
            appendf(out, cap, "expected integer milliseconds from %lld to %lld", (long long)k->min,
                    (long long)k->max);
            break;
        }
        sc_config_format_duration((uint64_t)k->min, lo, sizeof lo);
        sc_config_format_duration((uint64_t)k->max, hi, sizeof hi);
        appendf(out, cap,
                "expected a duration such as \"250ms\", \"5s\" or \"1m\" (or integer "
                "milliseconds) from %s to %s",
                lo, hi);
        break;
    case SC_CT_SIZE:
        sc_config_format_size((uint64_t)k->min, lo, sizeof lo);
        sc_config_format_size((uint64_t)k->max, hi, sizeof hi);
        appendf(out, cap,
                "expected a size such as \"64KiB\" or \"1MiB\" (or integer bytes) from %s to %s",
                lo, hi);
        break;
    case SC_CT_ENUM:
        appendf(out, cap, "expected one of ");
        for (size_t i = 0; k->values[i] != NULL; i++)
            appendf(out, cap, "%s%s", i ? ", " : "", k->values[i]);
        break;
    case SC_CT_MAP:
        appendf(out, cap, "expected an object of string values");
        break;
    case SC_CT_ARRAY:
        appendf(out, cap, "expected an array of objects");
        break;
    }
}

static int json_int(const cJSON *v, int64_t *out)
{
    if (!cJSON_IsNumber(v))
        return -EINVAL;
    double d = v->valuedouble;
    if (!isfinite(d) || d != floor(d) || fabs(d) > 9007199254740992.0)
        return -EINVAL;
    *out = (int64_t)d;
    return 0;
}

/* Durations and sizes: a non-negative JSON integer, or a string with a unit. */
static int json_amount(const sc_config_key *k, const cJSON *v, uint64_t *out)
{
    int64_t i;
    if (cJSON_IsString(v))
        return k->type == SC_CT_DURATION ? sc_config_parse_duration(v->valuestring, out)
                                         : sc_config_parse_size(v->valuestring, out);
    if (json_int(v, &i) != 0 || i < 0)
        return -EINVAL;
    *out = (uint64_t)i;
    return 0;
}

static int enum_index(const sc_config_key *k, const cJSON *v)
{
    if (!cJSON_IsString(v))
        return -1;
    for (int i = 0; k->values[i] != NULL; i++)
        if (strcmp(v->valuestring, k->values[i]) == 0)
            return i;
    return -1;
}

static int store_string(const sc_config_key *k, const char *s, char **dst)
{
    char *copy = strdup(s);
    if (copy == NULL)
        return -ENOMEM;
    if (k->flags & SC_CK_STRIP_SLASH) {
        size_t n = strlen(copy);
        while (n > 0 && copy[n - 1] == '/')
            copy[--n] = '\0';
    }
    free(*dst);
    *dst = copy;
    return 0;
}

static int decode_string(const sc_config_key *k, const cJSON *v, void *dst, char *why, size_t cap)
{
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
        expect(k, 0, why, cap);
        return -EINVAL;
    }
    if (k->check != NULL && k->check(v->valuestring, why, cap) != 0)
        return -EINVAL;
    return dst ? store_string(k, v->valuestring, dst) : 0;
}

static int map_entry_ok(const sc_config_key *k, const cJSON *v, const cJSON *e, char *why,
                        size_t cap, const cJSON **bad)
{
    *bad = NULL;
    if (e->string[0] == '\0') {
        snprintf(why, cap, "entry names must not be empty");
        return -EINVAL;
    }
    for (const cJSON *p = v->child; p != e; p = p->next) {
        if (strcmp(p->string, e->string) == 0) {
            snprintf(why, cap, "duplicate key");
            return -EINVAL;
        }
    }
    if (k->check_name != NULL && k->check_name(e->string, why, cap) != 0)
        return -EINVAL;
    *bad = e;
    if (!cJSON_IsString(e)) {
        snprintf(why, cap, "expected a string");
        return -EINVAL;
    }
    if (k->check != NULL && k->check(e->valuestring, why, cap) != 0)
        return -EINVAL;
    *bad = NULL;
    return 0;
}

static int decode_map(const sc_config_key *k, const cJSON *v, void *dst, char *why, size_t cap,
                      const cJSON **bad, const char **bad_name)
{
    sc_config_map *m = dst;
    if (!cJSON_IsObject(v)) {
        expect(k, 0, why, cap);
        *bad = v;
        return -EINVAL;
    }
    int n = cJSON_GetArraySize(v);
    if (n > MAP_MAX_ENTRIES) {
        snprintf(why, cap, "expected at most %d entries, got %d", MAP_MAX_ENTRIES, n);
        *bad = NULL;
        return -EINVAL;
    }
    for (const cJSON *e = v->child; e != NULL; e = e->next) {
        if (map_entry_ok(k, v, e, why, cap, bad) != 0) {
            *bad_name = e->string;
            return -EINVAL;
        }
    }
    if (m == NULL || n == 0)
        return 0;
    sc_config_codec_free(k, m);
    if ((m->items = calloc((size_t)n, sizeof *m->items)) == NULL)
        return -ENOMEM;
    for (const cJSON *e = v->child; e != NULL; e = e->next, m->n++) {
        m->items[m->n].key = strdup(e->string);
        m->items[m->n].value = strdup(e->valuestring);
        if (m->items[m->n].key == NULL || m->items[m->n].value == NULL) {
            m->n++; /* so the partial entry is freed */
            return -ENOMEM;
        }
    }
    return 0;
}

static int decode_scalar(const sc_config_key *k, const cJSON *v, void *dst)
{
    int64_t i;
    uint64_t u;
    switch (k->type) {
    case SC_CT_BOOL:
        if (!cJSON_IsBool(v))
            return -EINVAL;
        if (dst)
            *(bool *)dst = cJSON_IsTrue(v);
        return 0;
    case SC_CT_INT:
        if (json_int(v, &i) != 0 || i < k->min || i > k->max)
            return -EINVAL;
        if (dst)
            *(int *)dst = (int)i;
        return 0;
    case SC_CT_DURATION:
    case SC_CT_SIZE:
        if (json_amount(k, v, &u) != 0 || u < (uint64_t)k->min || u > (uint64_t)k->max)
            return -EINVAL;
        if (dst && k->type == SC_CT_DURATION)
            *(uint64_t *)dst = u;
        else if (dst)
            *(size_t *)dst = (size_t)u;
        return 0;
    case SC_CT_ENUM:
        if ((i = enum_index(k, v)) < 0)
            return -EINVAL;
        if (dst)
            *(int *)dst = (int)i;
        return 0;
    default:
        return -EINVAL;
    }
}

int sc_config_codec_decode(const sc_config_key *k, const cJSON *v, void *dst, char *why, size_t cap,
                           const cJSON **bad, const char **bad_name)
{
    const cJSON *b_dummy;
    const char *n_dummy;
    if (bad == NULL)
        bad = &b_dummy;
    if (bad_name == NULL)
        bad_name = &n_dummy;
    *bad = v;
    *bad_name = NULL;
    why[0] = '\0';
    if (k->type == SC_CT_MAP)
        return decode_map(k, v, dst, why, cap, bad, bad_name);
    if (k->type == SC_CT_STRING)
        return decode_string(k, v, dst, why, cap);
    if (decode_scalar(k, v, dst) != 0) {
        expect(k, 0, why, cap);
        return -EINVAL;
    }
    return 0;
}

static int text_to_json(const sc_config_key *k, const char *text, int otel, cJSON **out)
{
    uint64_t u;
    char lower[64];
    switch (k->type) {
    case SC_CT_STRING:
        *out = cJSON_CreateString(text);
        break;
    case SC_CT_BOOL:
        if (strcasecmp(text, "true") != 0 && strcasecmp(text, "false") != 0)
            return -EINVAL;
        *out = cJSON_CreateBool(strcasecmp(text, "true") == 0);
        break;
    case SC_CT_INT:
        if (sc_config_parse_uint(text + (text[0] == '-'), &u) != 0 || u > INT64_MAX)
            return -EINVAL;
        *out = cJSON_CreateNumber(text[0] == '-' ? -(double)u : (double)u);
        break;
    case SC_CT_DURATION:
        if (otel ? sc_config_parse_uint(text, &u) != 0 : sc_config_parse_duration(text, &u) != 0)
            return -EINVAL;
        *out = cJSON_CreateNumber((double)u);
        break;
    case SC_CT_SIZE:
        if (sc_config_parse_size(text, &u) != 0)
            return -EINVAL;
        *out = cJSON_CreateNumber((double)u);
        break;
    case SC_CT_ENUM: /* OTel: enum values are case-insensitive */
        if (!otel || strlen(text) >= sizeof lower) {
            *out = cJSON_CreateString(text);
            break;
        }
        for (size_t i = 0; (lower[i] = (char)tolower((unsigned char)text[i])) != '\0'; i++)
            ;
        *out = cJSON_CreateString(lower);
        break;
    default:
        return -EINVAL;
    }
    return *out ? 0 : -ENOMEM;
}

int sc_config_codec_from_text(const sc_config_key *k, const char *text, int otel, cJSON **out,
                              char *why, size_t cap)
{
    char got[128];
    cJSON *v = NULL;
    int rc = text_to_json(k, text, otel, &v);
    if (rc == 0)
        rc = sc_config_codec_decode(k, v, NULL, why, cap, NULL, NULL);
    if (rc == -ENOMEM) {
        cJSON_Delete(v);
        return rc;
    }
    if (rc != 0) {
        cJSON_Delete(v);
        if (k->type != SC_CT_STRING || why[0] == '\0')
            expect(k, otel, why, cap);
        if (k->flags & SC_CK_SECRET)
            snprintf(got, sizeof got, REDACTED);
        else
            sc_config_quote(text, got, sizeof got);
        appendf(why, cap, ", got %s", got);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

cJSON *sc_config_codec_encode(const sc_config_key *k, const void *src)
{
    char tmp[32];
    switch (k->type) {
    case SC_CT_STRING: {
        const char *s = *(char *const *)src;
        if (s == NULL)
            return cJSON_CreateNull();
        return cJSON_CreateString((k->flags & SC_CK_SECRET) ? REDACTED : s);
    }
    case SC_CT_BOOL:
        return cJSON_CreateBool(*(const bool *)src);
    case SC_CT_INT:
        return cJSON_CreateNumber(*(const int *)src);
    case SC_CT_DURATION:
        /* A duration key without a default is 0 while unset (a per-signal timeout inheriting the
         * general one); null says so and loads back as absent. */
        if (*(const uint64_t *)src == 0 && k->def == NULL)
            return cJSON_CreateNull();
        sc_config_format_duration(*(const uint64_t *)src, tmp, sizeof tmp);
        return cJSON_CreateString(tmp);
    case SC_CT_SIZE: {
        size_t n = *(const size_t *)src;
        sc_config_format_size(n, tmp, sizeof tmp);
        if (tmp[strlen(tmp) - 2] == 'i') /* an exact KiB/MiB/GiB multiple reads better */
            return cJSON_CreateString(tmp);
        return cJSON_CreateNumber((double)n);
    }
    case SC_CT_ENUM: {
        int i = *(const int *)src;
        return i < 0 ? cJSON_CreateNull() : cJSON_CreateString(k->values[i]);
    }
    case SC_CT_MAP: {
        const sc_config_map *m = src;
        cJSON *o = cJSON_CreateObject();
        for (size_t i = 0; o != NULL && i < m->n; i++) {
            const char *val = (k->flags & SC_CK_SECRET) ? REDACTED : m->items[i].value;
            if (cJSON_AddStringToObject(o, m->items[i].key, val) == NULL) {
                cJSON_Delete(o);
                return NULL;
            }
        }
        return o;
    }
    default:
        return NULL;
    }
}

static void wipe_free(char *s, int secret)
{
    if (s != NULL && secret)
        explicit_bzero(s, strlen(s));
    free(s);
}

void sc_config_codec_free(const sc_config_key *k, void *dst)
{
    int secret = (k->flags & SC_CK_SECRET) != 0;
    if (k->type == SC_CT_STRING) {
        char **s = dst;
        wipe_free(*s, secret);
        *s = NULL;
    } else if (k->type == SC_CT_MAP) {
        sc_config_map *m = dst;
        for (size_t i = 0; i < m->n; i++) {
            free(m->items[i].key);
            wipe_free(m->items[i].value, secret);
        }
        free(m->items);
        m->items = NULL;
        m->n = 0;
    }
}

const char *sc_config_type_name(sc_config_type t)
{
    static const char *const names[] = {"string", "bool", "int",         "duration",
                                        "size",   "enum", "map<string>", "array"};
    return (size_t)t < sizeof names / sizeof names[0] ? names[t] : "?";
}
