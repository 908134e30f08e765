/* test_readme_config.c - the README documents every configuration key the schema knows, with its
 * environment variables, so the documentation cannot drift from the code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "harness.h"

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void every_key_and_variable_is_documented(void)
{
    char *readme = read_file(SC_SOURCE_DIR "/README.md");
    REQUIRE(readme != NULL);
    sc_buf ref;
    sc_buf_init(&ref, 1 << 20);
    REQUIRE(sc_config_write_reference(&ref) == 0);
    int keys = 0;
    /* Reference lines look like "path (type, default X, env A B, secret)". */
    for (char *line = strtok(ref.data, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (line[0] == ' ')
            continue;
        char key[160];
        char needle[170];
        if (sscanf(line, "%159s", key) != 1)
            continue;
        keys++;
        snprintf(needle, sizeof needle, "| `%s` |", key);
        if (strstr(readme, needle) == NULL) {
            fprintf(stderr, "  README lacks a row for %s\n", key);
            CHECK(0);
        }
        const char *env = strstr(line, "env ");
        if (env == NULL)
            continue;
        char vars[256];
        snprintf(vars, sizeof vars, "%s", env + 4);
        vars[strcspn(vars, ",)")] = '\0';
        for (char *save = NULL, *v = strtok_r(vars, " ", &save); v;
             v = strtok_r(NULL, " ", &save)) {
            snprintf(needle, sizeof needle, "`%s`", v);
            if (strstr(readme, needle) == NULL) {
                fprintf(stderr, "  README lacks the variable %s\n", v);
                CHECK(0);
            }
        }
    }
    CHECK(keys > 30);
    sc_buf_free(&ref);
}

int main(void)
{
    RUN(every_key_and_variable_is_documented);
    return sc_test_summary();
}
