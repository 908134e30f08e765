/* fuzz_config.c - libFuzzer target: the whole configuration load (sc_config_load) from the three
 * outside sources - config file text, environment variables and --set arguments - including the
 * schema-driven decode, the cross-key relations and the access-log layout compile; then the
 * effective-config writer and sc_config_free on every successful load. The unit parsers
 * (sc_config_parse_duration / _size / _uint) get each --set value too.
 *
 * Input: "<config file JSON>\0<NAME=value lines>\0<path=value --set lines>". A missing section
 * is absent (an empty first section means no file). The environment is the given lines only:
 * nothing is read from the process. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accesslog/layout.h"
#include "config/config.h"
#include "config/schema.h"
#include "core/buf.h"

#define MAX_SETS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The environment section, its lines NUL-terminated in place. */
typedef struct fake_env {
    const char *lines;
    size_t len;
} fake_env;

static const char *fake_getenv(void *ctx, const char *name)
{
    const fake_env *e = ctx;
    size_t nl = strlen(name);
    for (const char *line = e->lines; line < e->lines + e->len; line += strlen(line) + 1) {
        if (strncmp(line, name, nl) == 0 && line[nl] == '=')
            return line + nl + 1;
    }
    return NULL;
}

static void check_units(const char *arg)
{
    const char *eq = strchr(arg, '=');
    const char *v = eq ? eq + 1 : arg;
    uint64_t out;
    (void)sc_config_parse_duration(v, &out);
    (void)sc_config_parse_size(v, &out);
    (void)sc_config_parse_uint(v, &out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* One NUL-terminated copy; the sections are cut in it. */
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *file_end = memchr(text, '\0', size + 1);
    size_t file_len = (size_t)(file_end - text);
    char *env = file_end < text + size ? file_end + 1 : NULL;
    char *sets_text = env ? env + strlen(env) + 1 : NULL;
    if (sets_text != NULL && sets_text > text + size)
        sets_text = NULL;

    fake_env fenv = {env, env ? strlen(env) : 0};
    for (size_t i = 0; i < fenv.len; i++) {
        if (env[i] == '\n')
            env[i] = '\0';
    }

    const char *sets[MAX_SETS];
    size_t n_sets = 0;
    for (char *s = sets_text; s != NULL && *s != '\0' && n_sets < MAX_SETS;) {
        char *nl = strchr(s, '\n');
        if (nl != NULL)
            *nl = '\0';
        check_units(s);
        sets[n_sets++] = s;
        s = nl ? nl + 1 : NULL;
    }

    /* The file section is handed over by length only: it need not be NUL-terminated. */
    char *file = NULL;
    if (file_len > 0 && (file = malloc(file_len)) != NULL)
        memcpy(file, text, file_len);
    sc_config_sources src = {.text = file,
                             .text_len = file_len,
                             .getenv = env ? fake_getenv : NULL,
                             .getenv_ctx = &fenv,
                             .sets = sets,
                             .n_sets = n_sets};
    sc_config c;
    sc_config_error err;
    int rc = sc_config_load(&src, &c, &err);
    if (rc == 0) {
        sc_buf out;
        sc_buf_init(&out, 1u << 20);
        (void)sc_config_write_effective(&c, &out);
        sc_buf_free(&out);
        /* The load compiled the layout already: it must compile again, the observer relies on it.
         */
        sc_accesslog_layout *layout = malloc(sizeof *layout);
        char lerr[256];
        if (layout != NULL &&
            sc_accesslog_layout_compile(&c.access_log, layout, lerr, sizeof lerr) != 0)
            abort();
        free(layout);
        sc_config_free(&c);
    } else if (strnlen(err.msg, sizeof err.msg) == 0 ||
               strnlen(err.msg, sizeof err.msg) == sizeof err.msg) {
        abort(); /* every failure has one terminated message */
    }
    free(file);
    free(text);
    return 0;
}
