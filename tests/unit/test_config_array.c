/* test_config_array.c - tests for the schema machinery's arrays of objects (config/schema.h),
 * with a test-only schema shaped like the canary probes: decoding, per-element defaults and
 * required keys, the hard max count, element paths in errors, --set with index segments, redacted
 * output and freeing. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/schema.h"
#include "harness.h"

typedef struct probe {
    char *model;
    uint64_t interval_ms;
    bool stream;
    char *token; /* secret */
} probe;

typedef struct tcfg {
    char *name;
    probe *probes;
    size_t n_probes;
} tcfg;

static int probe_relations(void *obj, const char *display, sc_config_error *err)
{
    probe *p = obj;
    if (p->stream && p->interval_ms < 2000) {
        sc_config_errorf(err, "\"%sinterval\": streaming probes need at least 2s", display);
        return -EINVAL;
    }
    return 0;
}

static const sc_config_key probe_keys[] = {
    {.path = "model",
     .type = SC_CT_STRING,
     .offset = offsetof(probe, model),
     .flags = SC_CK_REQUIRED},
    {.path = "interval",
     .type = SC_CT_DURATION,
     .offset = offsetof(probe, interval_ms),
     .def = "30s",
     .min = 1000,
     .max = 3600000},
    {.path = "stream", .type = SC_CT_BOOL, .offset = offsetof(probe, stream), .def = "false"},
    {.path = "auth.token",
     .type = SC_CT_STRING,
     .offset = offsetof(probe, token),
     .flags = SC_CK_SECRET},
};
static const sc_config_schema probe_schema = {probe_keys, 4, sizeof(probe), probe_relations};

static const sc_config_key t_keys[] = {
    {.path = "name", .type = SC_CT_STRING, .offset = offsetof(tcfg, name), .def = "t"},
    {.path = "probes",
     .type = SC_CT_ARRAY,
     .offset = offsetof(tcfg, probes),
     .count_offset = offsetof(tcfg, n_probes),
     .sub = &probe_schema,
     .max = 3},
};
static const sc_config_schema t_schema = {t_keys, 2, sizeof(tcfg), NULL};

static char tmpdir[64];

static int load(const char *json, const char *const *sets, size_t n_sets, tcfg *c,
                sc_config_error *err)
{
    char path[128];
    sc_config_sources src = {.sets = sets, .n_sets = n_sets};
    if (json != NULL) {
        snprintf(path, sizeof path, "%s/t.json", tmpdir);
        FILE *f = fopen(path, "w");
        if (f == NULL)
            return -EIO;
        fputs(json, f);
        fclose(f);
        src.file = path;
    }
    return sc_config_load_schema(&t_schema, &src, c, err);
}

static void expect_error(const char *json, const char *set, const char *msg)
{
    tcfg c;
    sc_config_error err;
    CHECK_EQ(load(json, set ? &set : NULL, set ? 1 : 0, &c, &err), -EINVAL);
    CHECK_STR(err.msg, msg);
    CHECK(c.probes == NULL && c.n_probes == 0 && c.name == NULL);
}

static void arrays_decode_with_element_defaults(void)
{
    tcfg c;
    sc_config_error err;
    const char *json = "{\"probes\": [{\"model\": \"gpt-4o-mini\"},"
                       " {\"model\": \"m2\", \"interval\": \"5s\", \"stream\": true,"
                       "  \"auth\": {\"token\": \"tok-secret-1\"}}]}";
    REQUIRE(load(json, NULL, 0, &c, &err) == 0);
    CHECK_STR(c.name, "t");
    REQUIRE(c.n_probes == 2);
    CHECK_STR(c.probes[0].model, "gpt-4o-mini");
    CHECK_EQ(c.probes[0].interval_ms, 30000);
    CHECK_EQ(c.probes[0].stream, 0);
    CHECK(c.probes[0].token == NULL);
    CHECK_STR(c.probes[1].model, "m2");
    CHECK_EQ(c.probes[1].interval_ms, 5000);
    CHECK_EQ(c.probes[1].stream, 1);
    CHECK_STR(c.probes[1].token, "tok-secret-1");

    sc_buf b;
    sc_buf_init(&b, 4096);
    REQUIRE(sc_config_write_schema(&t_schema, &c, &b) == 0);
    CHECK(strstr(b.data, "tok-secret-1") == NULL);
    CHECK(strstr(b.data, "\"token\": \"[REDACTED]\"") != NULL);
    CHECK(strstr(b.data, "\"probes\": [\n    {\n      \"model\": \"gpt-4o-mini\",\n") != NULL);
    sc_buf_free(&b);
    sc_config_free_schema(&t_schema, &c);
    CHECK(c.probes == NULL && c.n_probes == 0);

    REQUIRE(load("{\"probes\": []}", NULL, 0, &c, &err) == 0);
    CHECK_EQ(c.n_probes, 0);
    sc_buf_init(&b, 4096);
    REQUIRE(sc_config_write_schema(&t_schema, &c, &b) == 0);
    CHECK(strstr(b.data, "\"probes\": []") != NULL);
    sc_buf_free(&b);
    sc_config_free_schema(&t_schema, &c);
}

static void array_errors_name_the_element(void)
{
    expect_error("{\"probes\": [{\"model\": \"a\"}, {\"interval\": \"5s\"}]}", NULL,
                 "\"probes[1].model\": required");
    expect_error("{\"probes\": [{\"model\": \"a\", \"modle\": \"b\"}]}", NULL,
                 "unknown key \"probes[0].modle\" (did you mean \"probes[0].model\"?)");
    expect_error("{\"probes\": [{\"model\": \"a\", \"interval\": \"100ms\"}]}", NULL,
                 "\"probes[0].interval\": expected a duration such as \"250ms\", \"5s\" or \"1m\" "
                 "(or integer milliseconds) from 1s to 1h, got \"100ms\"");
    expect_error("{\"probes\": [{\"model\": \"a\", \"auth\": {\"tokn\": \"x\"}}]}", NULL,
                 "unknown key \"probes[0].auth.tokn\" (did you mean \"probes[0].auth.token\"?)");
    expect_error("{\"probes\": [{\"model\": \"a\", \"stream\": true, \"interval\": 1000}]}", NULL,
                 "\"probes[0].interval\": streaming probes need at least 2s");
    expect_error("{\"probes\": [{\"model\": \"a\"}, {\"model\": \"b\"}, {\"model\": \"c\"},"
                 " {\"model\": \"d\"}]}",
                 NULL, "\"probes\": at most 3 entries allowed, got 4");
    expect_error("{\"probes\": {\"model\": \"a\"}}", NULL,
                 "\"probes\": expected an array of objects, got an object");
    expect_error("{\"probes\": [\"a\"]}", NULL, "\"probes[0]\": expected an object, got \"a\"");
    expect_error("{\"probe\": []}", NULL, "unknown key \"probe\" (did you mean \"probes\"?)");
}

static void set_uses_index_segments(void)
{
    tcfg c;
    sc_config_error err;
    const char *sets[] = {"probes.0.model=x", "probes.1.model=y", "probes.0.interval=2s",
                          "probes.1.auth.token=tok-set", "probes.0.model=z"};
    REQUIRE(load(NULL, sets, 5, &c, &err) == 0);
    REQUIRE(c.n_probes == 2);
    CHECK_STR(c.probes[0].model, "z");
    CHECK_EQ(c.probes[0].interval_ms, 2000);
    CHECK_STR(c.probes[1].model, "y");
    CHECK_STR(c.probes[1].token, "tok-set");
    sc_config_free_schema(&t_schema, &c);

    /* --set edits elements that came from the file */
    REQUIRE(load("{\"probes\": [{\"model\": \"f\"}]}", sets + 2, 1, &c, &err) == 0);
    REQUIRE(c.n_probes == 1);
    CHECK_STR(c.probes[0].model, "f");
    CHECK_EQ(c.probes[0].interval_ms, 2000);
    sc_config_free_schema(&t_schema, &c);

    expect_error(NULL, "probes.1.model=x",
                 "--set \"probes.1.model\": index 1 is out of range: \"probes\" has 0 entries "
                 "(use 0 to add one)");
    expect_error(NULL, "probes.0.modl=x",
                 "--set \"probes.0.modl\": unknown key \"probes[0].modl\" (did you mean "
                 "\"probes[0].model\"?)");
    expect_error(NULL, "probes.0.interval=soon",
                 "--set \"probes.0.interval\": expected a duration such as \"250ms\", \"5s\" or "
                 "\"1m\" (or integer milliseconds) from 1s to 1h, got \"soon\"");
    expect_error(NULL, "probes=x",
                 "--set \"probes\": \"probes\" is an array; set element keys as "
                 "probes.<index>.<key>=value");
    expect_error(NULL, "probes.x.model=a",
                 "--set \"probes.x.model\": \"probes\" is an array; set element keys as "
                 "probes.<index>.<key>=value");
    expect_error(NULL, "probes.0=a", "--set \"probes.0\": expected probes.<index>.<key>=value");
    expect_error(NULL, "probes.0.interval=5s", "\"probes[0].model\": required");
    expect_error("{\"probes\": 5}", "probes.0.model=a",
                 "\"probes\": expected an array of objects, got 5");
    const char *four[] = {"probes.0.model=a", "probes.1.model=b", "probes.2.model=c",
                          "probes.3.model=d"};
    CHECK_EQ(load(NULL, four, 4, &c, &err), -EINVAL);
    CHECK_STR(err.msg, "--set \"probes.3.model\": \"probes\": at most 3 entries allowed");
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sc-test-array-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return 1;
    RUN(arrays_decode_with_element_defaults);
    RUN(array_errors_name_the_element);
    RUN(set_uses_index_segments);
    char p[128];
    snprintf(p, sizeof p, "%s/t.json", tmpdir);
    unlink(p);
    rmdir(tmpdir);
    return sc_test_summary();
}
