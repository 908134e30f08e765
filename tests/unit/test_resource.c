/* test_resource.c - tests for telemetry/resource: service.name precedence, percent-decoded
 * OTEL_RESOURCE_ATTRIBUTES (through the real config layer), Kubernetes downward-API variables,
 * explicit entries winning, defaults, attribute order and the UUID v4 instance id. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "harness.h"
#include "telemetry/resource.h"
#include "version.h"

/* A fake environment: NULL-terminated "NAME=value" list. */
static const char *fake_getenv(void *ctx, const char *name)
{
    const char *const *env = ctx;
    size_t n = strlen(name);
    for (; *env != NULL; env++)
        if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
            return *env + n + 1;
    return NULL;
}

/* Loads the config from `env` alone and builds the resource from the same environment. */
static sc_resource *build(const char *const *env, sc_config *cfg, uint64_t seed)
{
    sc_config_error err;
    sc_config_sources src = {.getenv = fake_getenv, .getenv_ctx = (void *)env};
    if (sc_config_load(&src, cfg, &err) != 0) {
        fprintf(stderr, "config: %s\n", err.msg);
        return NULL;
    }
    sc_rng rng;
    sc_rng_init_seeded(&rng, seed);
    sc_resource *r = NULL;
    int rc = sc_resource_new(&r, cfg, fake_getenv, (void *)env, &rng, NULL);
    CHECK_EQ(rc, 0);
    return r;
}

static int is_uuid_v4(const char *s)
{
    if (s == NULL || strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i])) {
            return 0;
        }
    }
    return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

static void defaults_when_nothing_is_configured(void)
{
    static const char *const env[] = {NULL};
    sc_config cfg;
    sc_resource *r = build(env, &cfg, 1);
    REQUIRE(r != NULL);
    CHECK_STR(sc_resource_get(r, "service.name"), "unknown_service:comet-sidecar");
    CHECK_STR(sc_resource_get(r, "service.version"), SC_VERSION);
    CHECK_STR(sc_resource_get(r, "deployment.environment.name"), "production");
    CHECK_STR(sc_resource_get(r, "telemetry.sdk.name"), "comet-sidecar");
    CHECK_STR(sc_resource_get(r, "telemetry.sdk.language"), "c");
    CHECK_STR(sc_resource_get(r, "telemetry.sdk.version"), SC_VERSION);
    CHECK(is_uuid_v4(sc_resource_get(r, "service.instance.id")));
    CHECK(sc_resource_get(r, "k8s.pod.name") == NULL);
    CHECK(sc_resource_get(r, "nope") == NULL);

    /* Order: service.name first, then the sidecar's own keys; every value a string. */
    const sc_attr *a;
    size_t n = sc_resource_attrs(r, &a);
    CHECK_EQ(n, 7);
    static const char *const order[] = {"service.name",         "service.version",
                                        "service.instance.id",  "deployment.environment.name",
                                        "telemetry.sdk.name",   "telemetry.sdk.language",
                                        "telemetry.sdk.version"};
    for (size_t i = 0; i < n && i < 7; i++) {
        CHECK_STR(a[i].key, order[i]);
        CHECK_EQ(a[i].type, SC_ATTR_STRING);
        CHECK_EQ(a[i].v.s.len, strlen(a[i].v.s.ptr));
    }
    sc_resource_free(r);
    sc_config_free(&cfg);
}

static void otel_service_name_wins_over_resource_attributes(void)
{
    static const char *const env[] = {
        "OTEL_SERVICE_NAME=checkout",
        "OTEL_RESOURCE_ATTRIBUTES=service.name=from-attrs,team=payments", NULL};
    sc_config cfg;
    sc_resource *r = build(env, &cfg, 1);
    REQUIRE(r != NULL);
    CHECK_STR(sc_resource_get(r, "service.name"), "checkout");
    CHECK_STR(sc_resource_get(r, "team"), "payments");
    const sc_attr *a;
    size_t n = sc_resource_attrs(r, &a);
    size_t names = 0;
    for (size_t i = 0; i < n; i++)
        names += strcmp(a[i].key, "service.name") == 0;
    CHECK_EQ(names, 1); /* the losing value is not emitted a second time */
    sc_resource_free(r);
    sc_config_free(&cfg);
}

static void service_name_from_percent_decoded_resource_attributes(void)
{
    static const char *const env[] = {
        "OTEL_RESOURCE_ATTRIBUTES=service.name=my%20svc, note = a%2Cb%3Dc ,empty=", NULL};
    sc_config cfg;
    sc_resource *r = build(env, &cfg, 1);
    REQUIRE(r != NULL);
    CHECK_STR(sc_resource_get(r, "service.name"), "my svc");
    CHECK_STR(sc_resource_get(r, "note"), "a,b=c");
    CHECK_STR(sc_resource_get(r, "empty"), "");
    /* Extra entries follow the sidecar's own keys, in config order. */
    const sc_attr *a;
    size_t n = sc_resource_attrs(r, &a);
    REQUIRE(n == 9);
    CHECK_STR(a[0].key, "service.name");
    CHECK_STR(a[7].key, "note");
    CHECK_STR(a[8].key, "empty");
    sc_resource_free(r);
    sc_config_free(&cfg);
}

static void kubernetes_downward_api_variables(void)
{
    static const char *const env[] = {"K8S_POD_NAME=checkout-7d9f-abcde",
                                      "K8S_NAMESPACE_NAME=shop",
                                      "K8S_NODE_NAME=",
                                      "K8S_CONTAINER_NAME=comet-sidecar",
                                      "K8S_POD_UID=1f0c-77aa",
                                      "OTEL_RESOURCE_ATTRIBUTES=k8s.namespace.name=explicit",
                                      NULL};
    sc_config cfg;
    sc_resource *r = build(env, &cfg, 1);
    REQUIRE(r != NULL);
    CHECK_STR(sc_resource_get(r, "k8s.pod.name"), "checkout-7d9f-abcde");
    CHECK_STR(sc_resource_get(r, "k8s.namespace.name"), "explicit"); /* explicit entry wins */
    CHECK(sc_resource_get(r, "k8s.node.name") == NULL);              /* empty: not set */
    CHECK_STR(sc_resource_get(r, "k8s.container.name"), "comet-sidecar");
    CHECK_STR(sc_resource_get(r, "k8s.pod.uid"), "1f0c-77aa");
    sc_resource_free(r);
    sc_config_free(&cfg);
}

static void explicit_entries_replace_own_values(void)
{
    static const char *const env[] = {
        "OTEL_RESOURCE_ATTRIBUTES=service.instance.id=fixed-id,service.version=9.9,"
        "deployment.environment.name=staging",
        NULL};
    sc_config_error err;
    sc_config cfg;
    sc_config_sources src = {.getenv = fake_getenv, .getenv_ctx = (void *)env};
    REQUIRE(sc_config_load(&src, &cfg, &err) == 0);
    sc_resource *r = NULL;
    /* No rng: the given instance id means none is drawn. */
    REQUIRE(sc_resource_new(&r, &cfg, fake_getenv, (void *)env, NULL, NULL) == 0);
    CHECK_STR(sc_resource_get(r, "service.instance.id"), "fixed-id");
    CHECK_STR(sc_resource_get(r, "service.version"), "9.9");
    CHECK_STR(sc_resource_get(r, "deployment.environment.name"), "staging");
    const sc_attr *a;
    CHECK_EQ(sc_resource_attrs(r, &a), 7); /* replaced in place, not appended */
    sc_resource_free(r);
    /* Without a given id an rng is required. */
    sc_config_free(&cfg);
    CHECK_EQ(sc_resource_new(&r, NULL, NULL, NULL, NULL, NULL), -EINVAL);
    CHECK(r == NULL);
}

static void instance_id_is_a_uuid_v4_from_the_rng(void)
{
    char ids[3][37];
    for (int i = 0; i < 3; i++) {
        sc_rng rng;
        sc_rng_init_seeded(&rng, i < 2 ? 42 : 43);
        sc_resource *r = NULL;
        REQUIRE(sc_resource_new(&r, NULL, NULL, NULL, &rng, NULL) == 0);
        const char *id = sc_resource_get(r, "service.instance.id");
        CHECK(is_uuid_v4(id));
        snprintf(ids[i], sizeof ids[i], "%s", id ? id : "");
        CHECK_STR(sc_resource_get(r, "service.name"), SC_RESOURCE_DEFAULT_SERVICE_NAME);
        sc_resource_free(r);
    }
    CHECK_STR(ids[0], ids[1]);          /* the rng is the only source */
    CHECK(strcmp(ids[0], ids[2]) != 0); /* and it is used */
    for (int k = 0; k < 200; k++) {     /* version and variant bits on many draws */
        sc_rng rng;
        sc_rng_init_seeded(&rng, (uint64_t)k * 7919u);
        sc_resource *r = NULL;
        REQUIRE(sc_resource_new(&r, NULL, NULL, NULL, &rng, NULL) == 0);
        CHECK(is_uuid_v4(sc_resource_get(r, "service.instance.id")));
        sc_resource_free(r);
    }
    sc_resource_free(NULL);
}

static void logs_one_line_naming_the_service(void)
{
    FILE *f = tmpfile();
    REQUIRE(f != NULL);
    sc_clock_fake clk;
    sc_clock_fake_init(&clk, 1700000000000000000ull);
    sc_log *log = NULL;
    REQUIRE(sc_log_new(&log, fileno(f), SC_LOG_INFO, &clk.base) == 0);
    sc_rng rng;
    sc_rng_init_seeded(&rng, 5);
    sc_resource *r = NULL;
    REQUIRE(sc_resource_new(&r, NULL, NULL, NULL, &rng, log) == 0);
    char line[1024] = "";
    rewind(f);
    CHECK(fgets(line, sizeof line, f) != NULL);
    CHECK(strstr(line, "\"msg\":\"resource\"") != NULL);
    CHECK(strstr(line, "\"service.name\":\"unknown_service:comet-sidecar\"") != NULL);
    CHECK(strstr(line, sc_resource_get(r, "service.instance.id")) != NULL);
    sc_resource_free(r);
    sc_log_free(log);
    fclose(f);
}

int main(void)
{
    RUN(defaults_when_nothing_is_configured);
    RUN(otel_service_name_wins_over_resource_attributes);
    RUN(service_name_from_percent_decoded_resource_attributes);
    RUN(kubernetes_downward_api_variables);
    RUN(explicit_entries_replace_own_values);
    RUN(instance_id_is_a_uuid_v4_from_the_rng);
    RUN(logs_one_line_naming_the_service);
    return sc_test_summary();
}
