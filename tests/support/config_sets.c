/* config_sets.c - owns: the heap sc_config behind config_sets.h. */
#include "config_sets.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "config/config.h"

int sc_test_config_load(struct sc_config **out, const char *file, const char *const *sets,
                        size_t n_sets, char *err, size_t err_cap)
{
    sc_config_error ce = {{0}};
    *out = NULL;
    sc_config *c = calloc(1, sizeof *c);
    if (c == NULL)
        return -ENOMEM;
    const sc_config_sources src = {.file = file, .sets = sets, .n_sets = n_sets};
    int rc = sc_config_load(&src, c, &ce);
    if (rc != 0) {
        if (err != NULL && err_cap > 0)
            snprintf(err, err_cap, "%s", ce.msg);
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void sc_test_config_free(struct sc_config *c)
{
    if (c == NULL)
        return;
    sc_config_free(c);
    free(c);
}

const char *sc_test_config_no_env(void *ctx, const char *name)
{
    (void)ctx;
    (void)name;
    return NULL;
}

int sc_test_config_queue_size(const struct sc_config *c)
{
    return c->exporter.batch.max_queue_size;
}
