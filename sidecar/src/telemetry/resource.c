/* resource.c - owns: building the OTel Resource from config and environment (precedence rules in
 * resource.h) and the storage of its attributes (one sc_attr array; keys and values copied). */
#include "telemetry/resource.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "version.h"

#define SDK_LANGUAGE "c"

struct sc_resource {
    sc_attr *attrs; /* keys and values are heap copies owned here, NUL-terminated */
    size_t n, cap;
};

static const sc_attr *find(const sc_resource *r, const char *key)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->attrs[i].key, key) == 0)
            return &r->attrs[i];
    return NULL;
}

/* Adds key=value unless key is already there (callers add in precedence order). NULL value:
 * nothing to add. */
static int add(sc_resource *r, const char *key, const char *value)
{
    if (value == NULL || key == NULL || key[0] == '\0' || find(r, key) != NULL)
        return 0;
    if (r->n == r->cap)
        return -ENOMEM; /* sized up front; cannot happen */
    char *k = strdup(key);
    char *v = strdup(value);
    if (k == NULL || v == NULL) {
        free(k);
        free(v);
        return -ENOMEM;
    }
    r->attrs[r->n++] = SC_ATTR_STR(k, v);
    return 0;
}

static const char *map_get(const sc_config *cfg, const char *key)
{
    if (cfg == NULL)
        return NULL;
    for (size_t i = 0; i < cfg->resource.attributes.n; i++)
        if (strcmp(cfg->resource.attributes.items[i].key, key) == 0)
            return cfg->resource.attributes.items[i].value;
    return NULL;
}

static const char *env_get(sc_config_getenv_fn getenv, void *ctx, const char *name)
{
    const char *v = getenv ? getenv(ctx, name) : NULL;
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static const char *service_name(const sc_config *cfg)
{
    if (cfg != NULL && cfg->service.name != NULL && cfg->service.name[0] != '\0')
        return cfg->service.name;
    const char *v = map_get(cfg, "service.name");
    return v != NULL && v[0] != '\0' ? v : SC_RESOURCE_DEFAULT_SERVICE_NAME;
}

/* The sidecar's own keys: an explicit resource.attributes entry replaces the value. */
static int add_own(sc_resource *r, const sc_config *cfg, sc_config_getenv_fn getenv, void *ctx,
                   sc_rng *rng)
{
    char uuid[37];
    const char *instance = map_get(cfg, "service.instance.id");
    if (instance == NULL) {
        int rc = rng != NULL ? sc_rng_uuid_v4(rng, uuid) : -EINVAL;
        if (rc != 0)
            return rc;
        instance = uuid;
    }
    const struct {
        const char *key, *value;
    } own[] = {
        {"service.version", SC_VERSION},
        {"service.instance.id", instance},
        {"deployment.environment.name", cfg ? cfg->service.environment : NULL},
        {"telemetry.sdk.name", SC_NAME},
        {"telemetry.sdk.language", SDK_LANGUAGE},
        {"telemetry.sdk.version", SC_VERSION},
        {"k8s.pod.name", env_get(getenv, ctx, SC_RESOURCE_ENV_POD_NAME)},
        {"k8s.namespace.name", env_get(getenv, ctx, SC_RESOURCE_ENV_NAMESPACE_NAME)},
        {"k8s.node.name", env_get(getenv, ctx, SC_RESOURCE_ENV_NODE_NAME)},
        {"k8s.container.name", env_get(getenv, ctx, SC_RESOURCE_ENV_CONTAINER_NAME)},
        {"k8s.pod.uid", env_get(getenv, ctx, SC_RESOURCE_ENV_POD_UID)},
    };
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        const char *explicit_value = map_get(cfg, own[i].key);
        int rc = add(r, own[i].key, explicit_value ? explicit_value : own[i].value);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int sc_resource_new(sc_resource **out, const sc_config *cfg, sc_config_getenv_fn getenv,
                    void *getenv_ctx, sc_rng *rng, sc_log *log)
{
    *out = NULL;
    int rc = -ENOMEM;
    sc_resource *r = calloc(1, sizeof *r);
    if (r == NULL)
        return -ENOMEM;
    r->cap = 16 + (cfg ? cfg->resource.attributes.n : 0);
    r->attrs = calloc(r->cap, sizeof *r->attrs);
    if (r->attrs == NULL)
        goto out;
    if ((rc = add(r, "service.name", service_name(cfg))) != 0 ||
        (rc = add_own(r, cfg, getenv, getenv_ctx, rng)) != 0)
        goto out;
    for (size_t i = 0; cfg != NULL && i < cfg->resource.attributes.n; i++) {
        const sc_config_kv *kv = &cfg->resource.attributes.items[i];
        if ((rc = add(r, kv->key, kv->value)) != 0)
            goto out;
    }
    if (log != NULL)
        sc_log_info(log, "resource", SC_F_STR("service.name", sc_resource_get(r, "service.name")),
                    SC_F_STR("service.instance.id", sc_resource_get(r, "service.instance.id")),
                    SC_F_UINT("attributes", r->n));
    *out = r;
    r = NULL;
out:
    sc_resource_free(r);
    return rc;
}

void sc_resource_free(sc_resource *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free((char *)r->attrs[i].key);
        free((char *)r->attrs[i].v.s.ptr);
    }
    free(r->attrs);
    free(r);
}

size_t sc_resource_attrs(const sc_resource *r, const sc_attr **out)
{
    *out = r->attrs;
    return r->n;
}

const char *sc_resource_get(const sc_resource *r, const char *key)
{
    const sc_attr *a = find(r, key);
    return a ? a->v.s.ptr : NULL;
}
