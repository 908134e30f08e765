/* fuzz_otel_env.c - libFuzzer target: OTEL_RESOURCE_ATTRIBUTES and OTEL_EXPORTER_OTLP_HEADERS
 * parsing. Directly (sc_otel_env_parse_list, sc_otel_env_percent_decode), with the promises their
 * header makes: a malformed list produces no callback, keys are non-empty, n + 2 scratch bytes
 * always suffice, decoding never grows the text. Then as the daemon reads them: the value is set
 * as one of the variables and the whole configuration is loaded (OTel variables are warned about
 * and ignored when invalid, so the load must succeed) and the Resource is built from it.
 *
 * Input: byte 0 picks the variable; the rest is its value (cut at the first NUL, as an
 * environment string would be). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/otel_env.h"
#include "core/rng.h"
#include "telemetry/resource.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const vars[] = {"OTEL_RESOURCE_ATTRIBUTES", "OTEL_EXPORTER_OTLP_HEADERS",
                                   "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                                   "OTEL_EXPORTER_OTLP_METRICS_HEADERS"};

typedef struct one_var {
    const char *name;
    const char *value;
} one_var;

static const char *fake_getenv(void *ctx, const char *name)
{
    const one_var *v = ctx;
    return strcmp(name, v->name) == 0 ? v->value : NULL;
}

static int count_pair(void *ctx, const char *key, size_t key_len, const char *value,
                      size_t value_len)
{
    if (key_len == 0 || strlen(key) != key_len || strlen(value) != value_len)
        abort(); /* non-empty, NUL-terminated, no NUL inside (%00 is refused) */
    ++*(size_t *)ctx;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *name = vars[data[0] % (sizeof vars / sizeof vars[0])];
    size_t n = strnlen((const char *)data + 1, size - 1);
    char *value = malloc(n + 1);
    char *scratch = malloc(n + 2);
    if (value == NULL || scratch == NULL)
        abort();
    memcpy(value, data + 1, n);
    value[n] = '\0';

    size_t out_len = 0, pairs = 0;
    int rc = sc_otel_env_percent_decode(value, n, NULL, 0, &out_len);
    if (rc == 0 && out_len > n)
        abort();
    rc = sc_otel_env_percent_decode(value, n, scratch, n + 1, &out_len);
    if (rc == 0 && (out_len > n || scratch[out_len] != '\0'))
        abort();

    sc_otel_env_error err = {0};
    rc = sc_otel_env_parse_list(value, n, scratch, n + 2, count_pair, &pairs, &err);
    if (rc != 0 && (pairs != 0 || rc != -EINVAL || err.reason == NULL || err.entry == 0))
        abort(); /* rejected whole, with a reason; never -ENOBUFS with n + 2 bytes */

    /* As the daemon reads the variable. */
    one_var env = {name, value};
    sc_config_sources src = {.getenv = fake_getenv, .getenv_ctx = &env};
    sc_config c;
    sc_config_error cerr;
    if (sc_config_load(&src, &c, &cerr) != 0)
        abort(); /* invalid OTel variables are ignored, never fatal */
    sc_rng rng;
    sc_rng_init_seeded(&rng, 1);
    sc_resource *res = NULL;
    if (sc_resource_new(&res, &c, fake_getenv, &env, &rng, NULL) != 0)
        abort();
    if (sc_resource_get(res, "service.name") == NULL)
        abort();
    sc_resource_free(res);
    sc_config_free(&c);
    free(scratch);
    free(value);
    return 0;
}
