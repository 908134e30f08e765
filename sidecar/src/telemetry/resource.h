/* resource.h - owns: sc_resource, the OpenTelemetry Resource every export carries (who is
 * reporting: service, instance, SDK, Kubernetes pod). Built once at startup, immutable after.
 *
 * Attributes and their precedence (first match wins for each key):
 * - service.name: config service.name (the config layer fills it from OTEL_SERVICE_NAME), else a
 *   service.name entry of resource.attributes (config entries + OTEL_RESOURCE_ATTRIBUTES, already
 *   percent-decoded and merged by the config layer), else "unknown_service:comet-sidecar".
 * - every other key: an explicit resource.attributes entry, else the sidecar's own value:
 *     service.version             SC_VERSION
 *     service.instance.id         a random UUID v4 (from the rng), new for every process
 *     deployment.environment.name config service.environment
 *     telemetry.sdk.name          "comet-sidecar" (the name "opentelemetry" is reserved for the
 *                                 official SDKs)
 *     telemetry.sdk.language      "c" (no well-known value applies; semconv allows a custom one)
 *     telemetry.sdk.version       SC_VERSION
 *     k8s.pod.name        from $K8S_POD_NAME        (downward API: metadata.name)
 *     k8s.namespace.name  from $K8S_NAMESPACE_NAME  (downward API: metadata.namespace)
 *     k8s.node.name       from $K8S_NODE_NAME       (downward API: spec.nodeName)
 *     k8s.container.name  from $K8S_CONTAINER_NAME  (set literally in the container spec)
 *     k8s.pod.uid         from $K8S_POD_UID         (downward API: metadata.uid)
 *   An unset or empty K8S_* variable adds nothing.
 * Attribute order: service.name, the sidecar's own keys above (in that order), then the remaining
 * resource.attributes entries in config order. Every value is a string. */
#ifndef SC_TELEMETRY_RESOURCE_H
#define SC_TELEMETRY_RESOURCE_H

#include <stddef.h>

#include "config/config.h"
#include "core/log.h"
#include "core/rng.h"
#include "telemetry/attr.h"

#define SC_RESOURCE_ENV_POD_NAME       "K8S_POD_NAME"
#define SC_RESOURCE_ENV_NAMESPACE_NAME "K8S_NAMESPACE_NAME"
#define SC_RESOURCE_ENV_NODE_NAME      "K8S_NODE_NAME"
#define SC_RESOURCE_ENV_CONTAINER_NAME "K8S_CONTAINER_NAME"
#define SC_RESOURCE_ENV_POD_UID        "K8S_POD_UID"

#define SC_RESOURCE_DEFAULT_SERVICE_NAME "unknown_service:comet-sidecar"

typedef struct sc_resource sc_resource; /* opaque; immutable after build */

/* Builds the resource. cfg (may be NULL: no configured values), getenv (may be NULL: no K8S_*
 * variables) and getenv_ctx are only read during the call; every string is copied. rng draws the
 * instance id (only when resource.attributes does not give one). log (may be NULL) gets one
 * info line naming service.name and service.instance.id. 0, -ENOMEM, or the rng's errno. */
int sc_resource_new(sc_resource **out, const sc_config *cfg, sc_config_getenv_fn getenv,
                    void *getenv_ctx, sc_rng *rng, sc_log *log);
void sc_resource_free(sc_resource *r); /* accepts NULL */

/* The attributes, in the order above; *out is owned by r and valid until sc_resource_free. */
size_t sc_resource_attrs(const sc_resource *r, const sc_attr **out);

/* The string value of `key`, or NULL if absent. Owned by r. */
const char *sc_resource_get(const sc_resource *r, const char *key);

#endif
