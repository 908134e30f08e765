/* decode.c - owns: the single validation and decoding pass over the merged tree (unknown and
 * duplicate keys, defaults, per-key codecs, arrays of sub-objects, cross-key relations), and the
 * reverse walks: freeing a decoded struct, encoding it back to JSON, wiping the tree's strings. */
#include "config/schema.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_members(const sc_config_schema *s, const cJSON *obj, const char *prefix,
                         const char *display, sc_config_error *err)
{
    char full[256], got[160];
    for (const cJSON *m = obj->child; m != NULL; m = m->next) {
        for (const cJSON *p = obj->child; p != m; p = p->next) {
            if (strcmp(p->string, m->string) == 0) {
                sc_config_errorf(err, "\"%s%s%s%s\": duplicate key", display, prefix,
                                 *prefix ? "." : "", m->string);
                return -EINVAL;
            }
        }
        int n = snprintf(full, sizeof full, "%s%s%s", prefix, *prefix ? "." : "", m->string);
        int plain = n > 0 && (size_t)n < sizeof full && m->string[0] != '\0' &&
                    strchr(m->string, '.') == NULL;
        if (plain && sc_config_find_key(s, full, (size_t)n))
            continue; /* decoded by its row */
        if (plain && sc_config_is_group(s, full, (size_t)n)) {
            if (cJSON_IsNull(m))
                continue;
            if (!cJSON_IsObject(m)) {
                sc_config_format_got(NULL, m, got, sizeof got);
                sc_config_errorf(err, "\"%s%s\": expected an object, %s", display, full, got);
                return -EINVAL;
            }
            int rc = check_members(s, m, full, display, err);
            if (rc != 0)
                return rc;
            continue;
        }
        sc_config_unknown_key(s, display, full, strlen(prefix), err, "");
        return -EINVAL;
    }
    return 0;
}

static int decode_array(const sc_config_key *k, const cJSON *v, char *base, const char *display,
                        sc_config_error *err)
{
    char got[160], sub[256];
    if (v == NULL || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsArray(v)) {
        sc_config_format_got(NULL, v, got, sizeof got);
        sc_config_errorf(err, "\"%s%s\": expected an array of objects, %s", display, k->path, got);
        return -EINVAL;
    }
    int n = cJSON_GetArraySize(v);
    if (n > k->max) {
        sc_config_errorf(err, "\"%s%s\": at most %lld entries allowed, got %d", display, k->path,
                         (long long)k->max, n);
        return -EINVAL;
    }
    if (n == 0)
        return 0;
    char *items = calloc((size_t)n, k->sub->size);
    if (items == NULL) {
        sc_config_errorf(err, "out of memory");
        return -ENOMEM;
    }
    /* Stored first so a failure below frees the partially decoded elements. */
    memcpy(base + k->offset, &items, sizeof items);
    *(size_t *)(base + k->count_offset) = (size_t)n;
    int i = 0;
    for (const cJSON *e = v->child; e != NULL; e = e->next, i++) {
        snprintf(sub, sizeof sub, "%s%s[%d].", display, k->path, i);
        if (!cJSON_IsObject(e)) {
            sc_config_format_got(NULL, e, got, sizeof got);
            sc_config_errorf(err, "\"%s%s[%d]\": expected an object, %s", display, k->path, i, got);
            return -EINVAL;
        }
        int rc = sc_config_decode_object(k->sub, e, items + (size_t)i * k->sub->size, sub, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int decode_value(const sc_config_key *k, const cJSON *v, void *dst, const char *display,
                        sc_config_error *err)
{
    char why[320], got[160] = "";
    const cJSON *bad;
    const char *bad_name;
    int rc = sc_config_codec_decode(k, v, dst, why, sizeof why, &bad, &bad_name);
    if (rc == -ENOMEM) {
        sc_config_errorf(err, "out of memory");
    } else if (rc != 0) {
        if (bad != NULL)
            sc_config_format_got(k, bad, got, sizeof got);
        sc_config_errorf(err, "\"%s%s%s%s\": %s%s%s", display, k->path, bad_name ? "." : "",
                         bad_name ? bad_name : "", why, bad ? ", " : "", got);
    }
    return rc;
}

static int decode_key(const sc_config_key *k, const cJSON *obj, char *base, const char *display,
                      sc_config_error *err)
{
    char why[320];
    void *dst = base + k->offset;
    const cJSON *v = obj ? sc_config_tree_get(obj, k->path) : NULL;
    if (k->type == SC_CT_ARRAY)
        return decode_array(k, v, base, display, err);
    if (v != NULL && !cJSON_IsNull(v))
        return decode_value(k, v, dst, display, err);
    if (k->flags & SC_CK_REQUIRED) {
        sc_config_errorf(err, "\"%s%s\": required", display, k->path);
        return -EINVAL;
    }
    if (k->type == SC_CT_ENUM)
        *(int *)dst = -1;
    if (k->def == NULL)
        return 0;
    cJSON *dv = NULL;
    int rc = sc_config_codec_from_text(k, k->def, 0, &dv, why, sizeof why);
    if (rc == 0)
        rc = decode_value(k, dv, dst, display, err);
    else /* a bug in the table; the default-config unit test catches it */
        sc_config_errorf(err, "\"%s%s\": invalid built-in default: %s", display, k->path, why);
    cJSON_Delete(dv);
    return rc;
}

int sc_config_decode_object(const sc_config_schema *s, const cJSON *obj, void *base,
                            const char *display, sc_config_error *err)
{
    int rc = obj ? check_members(s, obj, "", display, err) : 0;
    for (size_t i = 0; rc == 0 && i < s->n_keys; i++)
        rc = decode_key(&s->keys[i], obj, base, display, err);
    if (rc == 0 && s->relations != NULL)
        rc = s->relations(base, display, err);
    return rc;
}

void sc_config_free_schema(const sc_config_schema *s, void *obj)
{
    char *base = obj;
    if (obj == NULL)
        return;
    for (size_t i = 0; i < s->n_keys; i++) {
        const sc_config_key *k = &s->keys[i];
        if (k->type != SC_CT_ARRAY) {
            sc_config_codec_free(k, base + k->offset);
            continue;
        }
        char *items;
        size_t *count = (size_t *)(base + k->count_offset);
        memcpy(&items, base + k->offset, sizeof items);
        for (size_t j = 0; items != NULL && j < *count; j++)
            sc_config_free_schema(k->sub, items + j * k->sub->size);
        free(items);
        items = NULL;
        memcpy(base + k->offset, &items, sizeof items);
        *count = 0;
    }
}

static cJSON *encode_array(const sc_config_key *k, const char *base)
{
    char *items;
    size_t count = *(const size_t *)(base + k->count_offset);
    memcpy(&items, base + k->offset, sizeof items);
    cJSON *a = cJSON_CreateArray();
    for (size_t j = 0; a != NULL && j < count; j++) {
        cJSON *e = sc_config_encode_object(k->sub, items + j * k->sub->size);
        if (e == NULL || !cJSON_AddItemToArray(a, e)) {
            cJSON_Delete(e);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

cJSON *sc_config_encode_object(const sc_config_schema *s, const void *base)
{
    sc_config_error err;
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; o != NULL && i < s->n_keys; i++) {
        const sc_config_key *k = &s->keys[i];
        cJSON *v = k->type == SC_CT_ARRAY
                       ? encode_array(k, base)
                       : sc_config_codec_encode(k, (const char *)base + k->offset);
        if (v == NULL || sc_config_tree_put(o, k->path, v, &err, "") != 0) {
            cJSON_Delete(o);
            return NULL;
        }
    }
    return o;
}

void sc_config_wipe_tree(cJSON *v)
{
    for (; v != NULL; v = v->next) {
        if (cJSON_IsString(v) && v->valuestring != NULL)
            explicit_bzero(v->valuestring, strlen(v->valuestring));
        sc_config_wipe_tree(v->child);
    }
}
