/* config_sets.h - owns: loading a heap sc_config from --set style strings (and an optional JSON
 * file, no environment layer) for tests and test tools such as export_driver. */
#ifndef SC_TEST_CONFIG_SETS_H
#define SC_TEST_CONFIG_SETS_H

#include <stddef.h>

struct sc_config;

/* Loads defaults + the optional JSON file + sets (no environment layer). On error returns
 * -EINVAL/-ENOMEM and copies the config error message into err. *out is freed with
 * sc_test_config_free. */
int sc_test_config_load(struct sc_config **out, const char *file, const char *const *sets,
                        size_t n_sets, char *err, size_t err_cap);
void sc_test_config_free(struct sc_config *c); /* accepts NULL */

/* exporter.batch.max_queue_size: the span queue capacity the daemon would use. */
int sc_test_config_queue_size(const struct sc_config *c);

/* A getenv that never finds anything (for sc_resource_new and friends). */
const char *sc_test_config_no_env(void *ctx, const char *name);

#endif
