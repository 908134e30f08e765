/* test_canary_engine_config.c - tests for the "probes" configuration (config/schema.c rows,
 * canary/probe_config): defaults, resolution (model, prompt, route, policies, jitter), and the
 * validation errors with their full key paths. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "canary/probe_config.h"
#include "harness.h"

static char tmpdir[64];

static int load(const char *json, const char *const *sets, size_t n_sets, sc_config *c,
                sc_config_error *err)
{
    char path[128];
    sc_config_sources src = {.sets = sets, .n_sets = n_sets};
    if (json != NULL) {
        snprintf(path, sizeof path, "%s/c.json", tmpdir);
        FILE *f = fopen(path, "w");
        if (f == NULL)
            return -EIO;
        fputs(json, f);
        fclose(f);
        src.file = path;
    }
    return sc_config_load(&src, c, err);
}

static void expect_error(const char *json, const char *msg)
{
    sc_config c;
    sc_config_error err;
    CHECK_EQ(load(json, NULL, 0, &c, &err), -EINVAL);
    if (strcmp(err.msg, msg) != 0)
        fprintf(stderr, "  got: %s\n", err.msg);
    CHECK_STR(err.msg, msg);
}

static void defaults_and_resolution(void)
{
    sc_config c;
    sc_config_error err;
    REQUIRE(load("{\"cometapi\":{\"model\":\"gpt-4.1-mini\"},\"probes\":[{\"name\":\"p1\"},"
                 "{\"name\":\"p2\",\"endpoint\":\"responses\",\"stream\":true,\"model\":\"m-2\","
                 "\"expect\":\"auth_error\",\"fallback\":{\"allow\":\"none\"}},"
                 "{\"name\":\"p3\",\"endpoint\":\"models\",\"enabled\":false,\"jitter\":\"2s\"}]}",
                 NULL, 0, &c, &err) == 0);
    REQUIRE(c.n_probes == 3);
    const sc_config_probe *p = &c.probes[0];
    CHECK(p->enabled);
    CHECK_EQ(p->endpoint, SC_PROBE_CHAT);
    CHECK(!p->stream);
    CHECK(p->model == NULL && p->prompt == NULL && p->route_name == NULL);
    CHECK_EQ(p->max_tokens, 16);
    CHECK(p->include_usage && !p->require_usage);
    CHECK_EQ(p->body, SC_PROBE_BODY_VALID);
    CHECK_EQ(p->interval_ms, 60000);
    CHECK_STR(p->jitter, "10%");
    CHECK_EQ(p->timeout_ms, 20000);
    CHECK_EQ(p->credential, SC_PROBE_CRED_CONFIGURED);
    CHECK_EQ(p->expect, 0);
    CHECK_EQ(p->retry.max_attempts, 3);
    CHECK_EQ(p->retry.base_backoff_ms, 500);
    CHECK_EQ(p->retry.max_backoff_ms, 5000);
    CHECK_EQ(p->retry.deadline_ms, 60000);
    CHECK_EQ(p->retry.retry_after_cap_ms, 10000);
    CHECK_EQ(p->retry.budget.percent, 10);
    CHECK_EQ(p->retry.budget.window_ms, 600000);
    CHECK_EQ(p->retry.budget.min_retries, 4);
    CHECK(p->fallback.allow == NULL && p->fallback.target.base_url == NULL);
    CHECK_EQ(c.canary.max_concurrent_runs, 4);
    CHECK(c.evidence.enabled);
    CHECK_STR(c.evidence.path, "comet-sidecar-evidence.jsonl");
    CHECK_EQ(c.evidence.max_pending, 1024);

    sc_probe r;
    REQUIRE(sc_probe_resolve(&c, 0, &r) == 0);
    CHECK_STR(r.model, "gpt-4.1-mini"); /* cometapi.model */
    CHECK_STR(r.prompt, SC_PROBE_DEFAULT_PROMPT);
    CHECK_STR(r.route, "/chat/completions");
    CHECK_STR(r.method, "POST");
    CHECK_STR(r.surface, "chat_completions");
    CHECK_STR(r.route_name, "p1");
    CHECK_EQ(r.expect, SC_ERROR_CLASS_NONE);
    CHECK_EQ(r.retry.max_attempts, 3);
    CHECK_EQ(r.retry.attempt_timeout_ms, 20000);
    CHECK(r.jitter_fraction > 0.0999 && r.jitter_fraction < 0.1001 && r.jitter_ms == 0);
    sc_fallback_policy def;
    sc_fallback_policy_default(&def);
    CHECK_EQ(r.fallback.allow, def.allow);

    REQUIRE(sc_probe_resolve(&c, 1, &r) == 0);
    CHECK_STR(r.model, "m-2");
    CHECK_STR(r.route, "/responses");
    CHECK_STR(r.surface, "responses");
    CHECK_EQ(r.api, SC_CONTRACT_API_RESPONSES);
    CHECK_EQ(r.expect, SC_ERROR_CLASS_AUTH_ERROR);
    CHECK_EQ(r.fallback.allow, 0); /* "none" */

    REQUIRE(sc_probe_resolve(&c, 2, &r) == 0);
    CHECK(r.model == NULL);
    CHECK_STR(r.method, "GET");
    CHECK_STR(r.route, "/models");
    CHECK_EQ(r.jitter_ms, 2000);
    CHECK_EQ(sc_probe_resolve(&c, 3, &r), -EINVAL);

    sc_buf b;
    sc_buf_init(&b, 1 << 20);
    REQUIRE(sc_config_write_effective(&c, &b) == 0);
    CHECK(strstr(b.data, "\"name\": \"p2\"") != NULL);
    CHECK(strstr(b.data, "\"expect\": \"auth_error\"") != NULL);
    sc_buf_free(&b);
    sc_config_free(&c);
}

static void set_and_allow_list(void)
{
    sc_config c;
    sc_config_error err;
    const char *sets[] = {"probes.0.name=x", "probes.0.fallback.allow=timeout, network_error",
                          "probes.0.fallback.target.base_url=http://127.0.0.1:9/v1/",
                          "probes.0.fallback.target.model=gpt-4o"};
    REQUIRE(load(NULL, sets, 4, &c, &err) == 0);
    sc_probe r;
    REQUIRE(sc_probe_resolve(&c, 0, &r) == 0);
    CHECK_EQ(r.fallback.allow,
             (1u << SC_ERROR_CLASS_TIMEOUT) | (1u << SC_ERROR_CLASS_NETWORK_ERROR));
    CHECK_STR(c.probes[0].fallback.target.base_url, "http://127.0.0.1:9/v1");
    sc_config_free(&c);

    sc_error_class list[4];
    size_t n, bad;
    sc_error_class cls;
    CHECK_EQ(sc_probe_parse_allow("rate_limited,stream_interrupted", list, 4, &n, &bad, &cls), 0);
    CHECK_EQ(n, 2);
    CHECK_EQ(list[1], SC_ERROR_CLASS_STREAM_INTERRUPTED);
    CHECK_EQ(sc_probe_parse_allow("timeout,bogus", list, 4, &n, &bad, &cls), -EINVAL);
    CHECK_EQ(bad, 1);
    CHECK_EQ(cls, SC_ERROR_CLASS__COUNT);
    CHECK_EQ(sc_probe_parse_allow("timeout, quota_exceeded", list, 4, &n, &bad, &cls), -EINVAL);
    CHECK_EQ(bad, 1);
    CHECK_EQ(cls, SC_ERROR_CLASS_QUOTA_EXCEEDED);
    CHECK_EQ(sc_probe_parse_allow("none", list, 4, &n, &bad, &cls), 0);
    CHECK_EQ(n, 0);
    CHECK_EQ(sc_probe_parse_allow("timeout,none", list, 4, &n, &bad, &cls), -EINVAL);
}

static void validation_errors_name_the_path(void)
{
    expect_error("{\"probes\":[{\"name\":\"a\",\"endpoint\":\"embeddings\"}]}",
                 "\"probes[0].endpoint\": expected one of chat, responses, models, got "
                 "\"embeddings\"");
    expect_error("{\"probes\":[{\"name\":\"a\"},{\"name\":\"b\",\"expect\":\"auth_eror\"}]}",
                 "\"probes[1].expect\": expected one of success, auth_error, invalid_request, "
                 "model_not_found, rate_limited, quota_exceeded, policy_rejection, upstream_error, "
                 "timeout, network_error, parse_error, stream_interrupted, got \"auth_eror\"");
    expect_error("{\"probes\":[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"c\",\"fallback\":"
                 "{\"allow\":\"auth_error,timeout\"}}]}",
                 "\"probes[2].fallback.allow[0]\": auth_error always fails closed (a fallback "
                 "would hide a broken or refused request) and cannot be allow-listed");
    expect_error("{\"probes\":[{\"name\":\"a\",\"fallback\":{\"allow\":\"timeout,outage\"}}]}",
                 "\"probes[0].fallback.allow[1]\": expected an error class name (timeout, "
                 "upstream_error, rate_limited, stream_interrupted, network_error)");
    expect_error("{\"probes\":[{\"name\":\"a\",\"fallback\":{\"allow\":\"timeout;x\"}}]}",
                 "\"probes[0].fallback.allow\": expected \"none\" or comma-separated error class "
                 "names such as \"timeout,upstream_error\", got \"timeout;x\"");
    expect_error("{\"probes\":[{\"name\":\"a\"},{\"name\":\"a\"}]}",
                 "\"probes[1].name\": \"a\" is already the name of probes[0]");
    expect_error("{\"probes\":[{\"name\":\"a b\"}]}",
                 "\"probes[0].name\": expected a name of 1 to 64 letters, digits, '_', '.' or "
                 "'-', got \"a b\"");
    expect_error("{\"probes\":[{\"endpoint\":\"chat\"}]}", "\"probes[0].name\": required");
    expect_error("{\"probes\":[{\"name\":\"a\",\"endpoint\":\"models\",\"stream\":true}]}",
                 "\"probes[0].stream\": the models endpoint does not stream");
    expect_error("{\"probes\":[{\"name\":\"a\",\"endpoint\":\"models\",\"body\":\"malformed\"}]}",
                 "\"probes[0].body\": the models endpoint (GET) sends no body");
    expect_error("{\"probes\":[{\"name\":\"a\",\"jitter\":\"lots\"}]}",
                 "\"probes[0].jitter\": expected a share of the interval (\"10%\" or 0.1, at most "
                 "50%) or a duration such as \"5s\", got \"lots\"");
    expect_error("{\"probes\":[{\"name\":\"a\",\"jitter\":\"0.7\"}]}",
                 "\"probes[0].jitter\": expected a share of the interval (\"10%\" or 0.1, at most "
                 "50%) or a duration such as \"5s\", got \"0.7\"");
    expect_error("{\"probes\":[{\"name\":\"a\",\"interval\":\"10s\",\"jitter\":\"6s\"}]}",
                 "\"probes[0].jitter\": must be at most half the interval");
    expect_error("{\"probes\":[{\"name\":\"a\",\"timeout\":\"30s\",\"retry\":{\"deadline\":"
                 "\"10s\"}}]}",
                 "\"probes[0].retry.deadline\": must be at least timeout (one attempt)");
    expect_error("{\"probes\":[{\"name\":\"a\",\"retry\":{\"base_backoff\":\"2s\","
                 "\"max_backoff\":\"1s\"}}]}",
                 "\"probes[0].retry.max_backoff\": must be at least retry.base_backoff");
    expect_error("{\"probes\":[{\"name\":\"a\",\"retry\":{\"max_attempts\":0}}]}",
                 "\"probes[0].retry.max_attempts\": expected an integer from 1 to 10, got 0");
    expect_error("{\"probes\":[{\"name\":\"a\",\"model\":\"bad model\"}]}",
                 "\"probes[0].model\": expected a model name of letters, digits and _.:-/@+ (at "
                 "most 127), got \"bad model\"");
    expect_error("{\"probes\":[{\"name\":\"a\",\"fallback\":{\"target\":{\"base_url\":"
                 "\"ftp://x\"}}}]}",
                 "\"probes[0].fallback.target.base_url\": expected an http:// or https:// URL "
                 "with a host, got \"ftp://x\"");
    expect_error("{\"probes\":[{\"name\":\"a\",\"retyr\":{}}]}",
                 "unknown key \"probes[0].retyr\" (did you mean \"probes[0].retry\"?)");
    expect_error("{\"canary\":{\"max_concurrent_runs\":0}}",
                 "\"canary.max_concurrent_runs\": expected an integer from 1 to 64, got 0");
}

static void expect_values_follow_the_error_classes(void)
{
    CHECK_STR(sc_probe_config_expect_values[0], "success");
    for (int i = 1; i < SC_ERROR_CLASS__COUNT; i++)
        CHECK_STR(sc_probe_config_expect_values[i], sc_schema_error_class_name((sc_error_class)i));
    CHECK(sc_probe_config_expect_values[SC_ERROR_CLASS__COUNT] == NULL);
    CHECK_STR(sc_probe_outcome_name(SC_ERROR_CLASS_NONE), "success");
    CHECK_STR(sc_probe_outcome_name(SC_ERROR_CLASS_TIMEOUT), "timeout");
}

static void jitter_and_next_delay(void)
{
    double f;
    uint64_t ms;
    CHECK_EQ(sc_probe_parse_jitter("10%", &f, &ms), 0);
    CHECK(f > 0.0999 && f < 0.1001 && ms == 0);
    CHECK_EQ(sc_probe_parse_jitter("0.25", &f, &ms), 0);
    CHECK(f > 0.2499 && f < 0.2501);
    CHECK_EQ(sc_probe_parse_jitter("0%", &f, &ms), 0);
    CHECK(f == 0.0);
    CHECK_EQ(sc_probe_parse_jitter("1m30s", &f, &ms), 0);
    CHECK_EQ(ms, 90000);
    CHECK_EQ(sc_probe_parse_jitter("51%", &f, &ms), -EINVAL);
    CHECK_EQ(sc_probe_parse_jitter("-0.1", &f, &ms), -EINVAL);
    CHECK_EQ(sc_probe_parse_jitter("%", &f, &ms), -EINVAL);
    CHECK_EQ(sc_probe_parse_jitter("0.1x", &f, &ms), -EINVAL);

    sc_config_probe cp = {.interval_ms = 10000};
    sc_probe p = {.cfg = &cp, .jitter_fraction = 0.1};
    CHECK_EQ(sc_probe_next_delay_ms(&p, 0.0), 9000);
    CHECK_EQ(sc_probe_next_delay_ms(&p, 0.5), 10000);
    CHECK(sc_probe_next_delay_ms(&p, 0.999999) <= 11000);
    p.jitter_fraction = 0;
    p.jitter_ms = 2000;
    CHECK_EQ(sc_probe_next_delay_ms(&p, 0.0), 8000);
    p.jitter_ms = 0;
    CHECK_EQ(sc_probe_next_delay_ms(&p, 0.0), 10000);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sc-test-probecfg-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return 1;
    RUN(defaults_and_resolution);
    RUN(set_and_allow_list);
    RUN(validation_errors_name_the_path);
    RUN(expect_values_follow_the_error_classes);
    RUN(jitter_and_next_delay);
    char p[128];
    snprintf(p, sizeof p, "%s/c.json", tmpdir);
    unlink(p);
    rmdir(tmpdir);
    return sc_test_summary();
}
