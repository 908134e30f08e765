/* tree.c - owns: dotted-path lookups in the schema and in the merged cJSON tree (get, put with
 * intermediate sections created on the way, get-or-create of map/array containers). */
#include "config/schema.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const sc_config_key *sc_config_find_key(const sc_config_schema *s, const char *path,
                                        size_t path_len)
{
    for (size_t i = 0; i < s->n_keys; i++) {
        const sc_config_key *k = &s->keys[i];
        if (strlen(k->path) == path_len && memcmp(k->path, path, path_len) == 0)
            return k;
    }
    return NULL;
}

int sc_config_is_group(const sc_config_schema *s, const char *path, size_t path_len)
{
    if (path_len == 0)
        return 1;
    for (size_t i = 0; i < s->n_keys; i++) {
        const char *p = s->keys[i].path;
        if (strlen(p) > path_len && memcmp(p, path, path_len) == 0 && p[path_len] == '.')
            return 1;
    }
    return 0;
}

static cJSON *child_n(const cJSON *obj, const char *name, size_t len)
{
    if (!cJSON_IsObject(obj))
        return NULL;
    for (cJSON *c = obj->child; c != NULL; c = c->next)
        if (c->string != NULL && strlen(c->string) == len && memcmp(c->string, name, len) == 0)
            return c;
    return NULL;
}

cJSON *sc_config_tree_get(const cJSON *obj, const char *path)
{
    const cJSON *cur = obj;
    const char *p = path;
    for (;;) {
        const char *dot = strchr(p, '.');
        cur = child_n(cur, p, dot ? (size_t)(dot - p) : strlen(p));
        if (cur == NULL || dot == NULL)
            return (cJSON *)cur;
        p = dot + 1;
    }
}

/* Puts item under name[0..len) in parent, replacing `old` (the first child of that name) when
 * given. Takes ownership of item. */
static int set_child(cJSON *parent, const cJSON *old, const char *name, size_t len, cJSON *item)
{
    char *seg = strndup(name, len);
    int ok = seg != NULL && (old ? cJSON_ReplaceItemInObjectCaseSensitive(parent, seg, item)
                                 : cJSON_AddItemToObject(parent, seg, item));
    free(seg);
    if (!ok)
        cJSON_Delete(item);
    return ok ? 0 : -ENOMEM;
}

int sc_config_tree_put(cJSON *obj, const char *path, cJSON *item, sc_config_error *err,
                       const char *display)
{
    cJSON *cur = obj;
    const char *p = path;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        cJSON *child = child_n(cur, p, len);
        if (dot == NULL) {
            if (set_child(cur, child, p, len, item) == 0)
                return 0;
            sc_config_errorf(err, "out of memory");
            return -ENOMEM;
        }
        if (child == NULL || cJSON_IsNull(child)) { /* null means absent, as in decoding */
            cJSON *section = cJSON_CreateObject();
            if (section == NULL || set_child(cur, child, p, len, section) != 0) {
                cJSON_Delete(item);
                sc_config_errorf(err, "out of memory");
                return -ENOMEM;
            }
            child = section;
        } else if (!cJSON_IsObject(child)) {
            char got[160];
            sc_config_format_got(NULL, child, got, sizeof got);
            sc_config_errorf(err, "\"%s%.*s\": expected an object, %s", display, (int)(dot - path),
                             path, got);
            cJSON_Delete(item);
            return -EINVAL;
        }
        cur = child;
        p = dot + 1;
    }
}

cJSON *sc_config_tree_container(cJSON *obj, const char *path, int array, sc_config_error *err,
                                const char *display)
{
    cJSON *c = sc_config_tree_get(obj, path);
    if (c != NULL && !cJSON_IsNull(c)) {
        if (array ? cJSON_IsArray(c) : cJSON_IsObject(c))
            return c;
        char got[160];
        sc_config_format_got(NULL, c, got, sizeof got);
        sc_config_errorf(err, "\"%s%s\": expected %s, %s", display, path,
                         array ? "an array of objects" : "an object", got);
        return NULL;
    }
    c = array ? cJSON_CreateArray() : cJSON_CreateObject();
    if (c == NULL) {
        sc_config_errorf(err, "out of memory");
        return NULL;
    }
    if (sc_config_tree_put(obj, path, c, err, display) != 0)
        return NULL;
    return c;
}
