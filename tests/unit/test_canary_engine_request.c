/* test_canary_engine_request.c - tests for canary/request (the synthetic bodies, header lines per
 * credential mode, the malformed drill body, wiping the key, route templates and URL parts, UUIDs)
 * and the GET /models body check of canary/attempt. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "canary/attempt.h"
#include "canary/request.h"
#include "harness.h"

#define KEY "sk-unit-test-key-0123456789"
#define RID "0123456789abcdef0123456789abcdef"
#define TP  "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

typedef struct fx {
    sc_config_probe cfg;
    sc_probe probe;
    sc_canary_request req;
    sc_canary_request_params p;
} fx;

static void setup(fx *f, sc_config_probe_endpoint ep, bool stream)
{
    memset(f, 0, sizeof *f);
    f->cfg = (sc_config_probe){.name = "p",
                               .enabled = true,
                               .endpoint = ep,
                               .stream = stream,
                               .max_tokens = 16,
                               .include_usage = true,
                               .interval_ms = 60000,
                               .timeout_ms = 1000};
    sc_config cfg = {.probes = &f->cfg, .n_probes = 1};
    cfg.cometapi.model = "gpt-4o-mini";
    sc_probe_resolve(&cfg, 0, &f->probe);
    f->p = (sc_canary_request_params){.probe = &f->probe,
                                      .base_url = "https://api.example.test/v1",
                                      .model = f->probe.model,
                                      .api_key = KEY,
                                      .invalid_key = SC_CANARY_INVALID_KEY_PREFIX "abc",
                                      .request_id = RID,
                                      .traceparent = TP};
}

/* CHECK_STR through a function: long literals inside the macro trip -Wformat-truncation. */
static __attribute__((noinline)) void same(const char *got, const char *want)
{
    CHECK_STR(got, want);
}

static int has_header(const sc_canary_request *r, const char *line)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcmp(r->headers[i], line) == 0)
            return 1;
    return 0;
}

static void chat_bodies(void)
{
    fx f;
    setup(&f, SC_PROBE_CHAT, false);
    REQUIRE(sc_canary_request_build(&f.p, &f.req) == 0);
    CHECK_STR(f.req.url, "https://api.example.test/v1/chat/completions");
    same(f.req.body.data, "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\","
                          "\"content\":\"Reply with the single word: ok\"}],"
                          "\"max_tokens\":16,\"temperature\":0}");
    CHECK_EQ(f.req.n_headers, 5);
    CHECK(has_header(&f.req, "Content-Type: application/json"));
    CHECK(has_header(&f.req, "Accept: application/json"));
    CHECK(has_header(&f.req, "Authorization: Bearer " KEY));
    CHECK(has_header(&f.req, "X-Request-ID: " RID));
    CHECK(has_header(&f.req, "traceparent: " TP));
    sc_canary_request_wipe(&f.req);
    CHECK(f.req.auth[0] == '\0' && memchr(f.req.auth, 's', sizeof f.req.auth) == NULL);
    CHECK(f.req.body.data == NULL);

    setup(&f, SC_PROBE_CHAT, true);
    f.cfg.max_tokens = 0;
    f.cfg.prompt = "say \"ok\"";
    f.probe.prompt = f.cfg.prompt;
    REQUIRE(sc_canary_request_build(&f.p, &f.req) == 0);
    same(f.req.body.data, "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\","
                          "\"content\":\"say \\\"ok\\\"\"}],\"temperature\":0,"
                          "\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
    CHECK(has_header(&f.req, "Accept: text/event-stream"));
    sc_canary_request_wipe(&f.req);

    f.cfg.include_usage = false;
    REQUIRE(sc_canary_request_build(&f.p, &f.req) == 0);
    CHECK(strstr(f.req.body.data, "stream_options") == NULL);
    sc_canary_request_wipe(&f.req);
}

static void responses_and_models(void)
{
    fx f;
    setup(&f, SC_PROBE_RESPONSES, true);
    REQUIRE(sc_canary_request_build(&f.p, &f.req) == 0);
    CHECK_STR(f.req.url, "https://api.example.test/v1/responses");
    same(f.req.body.data, "{\"model\":\"gpt-4o-mini\",\"input\":\"Reply with the single "
                          "word: ok\",\"max_output_tokens\":16,\"temperature\":0,"
                          "\"stream\":true}");
    sc_canary_request_wipe(&f.req);

    setup(&f, SC_PROBE_MODELS, false);
    f.p.model = NULL;
    REQUIRE(sc_canary_request_build(&f.p, &f.req) == 0);
    CHECK_STR(f.req.url, "https://api.example.test/v1/models");
    CHECK_EQ(f.req.body.len, 0);
    CHECK(!has_header(&f.req, "Content-Type: application/json"));
    CHECK_EQ(f.req.n_headers, 4);
    sc_canary_request_wipe(&f.req);
}

static void malformed_body_is_broken_json(void)
{
    fx f;
    setup(&f, SC_PROBE_CHAT, false);
    f.cfg.body = SC_PROBE_BODY_MALFORMED;
    REQUIRE(sc_canary_request_build(&f.p, &f.req) == 0);
    CHECK(f.req.body.len > 10);
    CHECK(f.req.body.data[f.req.body.len - 1] != '}');
    cJSON *j = cJSON_ParseWithLength(f.req.body.data, f.req.body.len);
    CHECK(j == NULL);
    cJSON_Delete(j);
    sc_canary_request_wipe(&f.req);
}

static void credential_modes(void)
{
    fx f;
    setup(&f, SC_PROBE_CHAT, false);
    f.cfg.credential = SC_PROBE_CRED_INVALID;
    REQUIRE(sc_canary_request_build(&f.p, &f.req) == 0);
    CHECK(has_header(&f.req, "Authorization: Bearer sk-comet-sidecar-invalid-abc"));
    for (size_t i = 0; i < f.req.n_headers; i++)
        CHECK(strstr(f.req.headers[i], KEY) == NULL);
    sc_canary_request_wipe(&f.req);

    f.cfg.credential = SC_PROBE_CRED_MISSING;
    REQUIRE(sc_canary_request_build(&f.p, &f.req) == 0);
    for (size_t i = 0; i < f.req.n_headers; i++)
        CHECK(strncmp(f.req.headers[i], "Authorization", 13) != 0);
    CHECK_EQ(f.req.n_headers, 4);
    sc_canary_request_wipe(&f.req);

    f.cfg.credential = SC_PROBE_CRED_CONFIGURED; /* no key known: no header, the 401 says why */
    f.p.api_key = NULL;
    REQUIRE(sc_canary_request_build(&f.p, &f.req) == 0);
    CHECK_EQ(f.req.n_headers, 4);
    sc_canary_request_wipe(&f.req);

    f.p.api_key = "sk-bad\r\nX-Evil: 1";
    CHECK_EQ(sc_canary_request_build(&f.p, &f.req), -EINVAL);
    f.p.api_key = KEY;
    f.p.request_id = "a\nb";
    CHECK_EQ(sc_canary_request_build(&f.p, &f.req), -EINVAL);
}

static void route_template_and_url_parts(void)
{
    char out[128];
    CHECK_EQ(sc_canary_route_template("POST", "https://api.cometapi.com/v1", "/chat/completions",
                                      out, sizeof out),
             (int)strlen("POST /v1/chat/completions"));
    CHECK_STR(out, "POST /v1/chat/completions");
    sc_canary_route_template("GET", "http://h:8080", "/models", out, sizeof out);
    CHECK_STR(out, "GET /models");
    sc_canary_route_template("POST", "http://h/proxy/v1?tenant=a", "/responses", out, sizeof out);
    CHECK_STR(out, "POST /proxy/v1/responses");
    CHECK_EQ(sc_canary_route_template("POST", "ftp://h/v1", "/x", out, sizeof out), -EINVAL);
    CHECK_EQ(sc_canary_route_template("POST", "http://h/v1", "/x", out, 8), -ENAMETOOLONG);

    const char *scheme;
    char host[64];
    int port;
    CHECK_EQ(sc_canary_url_parts("https://api.cometapi.com/v1", &scheme, host, sizeof host, &port),
             0);
    CHECK_STR(scheme, "https");
    CHECK_STR(host, "api.cometapi.com");
    CHECK_EQ(port, 443);
    CHECK_EQ(sc_canary_url_parts("http://127.0.0.1:4010/v1", &scheme, host, sizeof host, &port), 0);
    CHECK_STR(host, "127.0.0.1");
    CHECK_EQ(port, 4010);
    CHECK_EQ(sc_canary_url_parts("http://[::1]:99/v1", &scheme, host, sizeof host, &port), 0);
    CHECK_STR(host, "::1");
    CHECK_EQ(port, 99);
    CHECK_EQ(sc_canary_url_parts("http://user:pw@h.example/v1", &scheme, host, sizeof host, &port),
             0);
    CHECK_STR(host, "h.example"); /* userinfo is never kept */
    CHECK_EQ(port, 80);
    CHECK_EQ(sc_canary_url_parts("http://h:99999/", &scheme, host, sizeof host, &port), -EINVAL);
    CHECK_EQ(sc_canary_url_parts("http:///v1", &scheme, host, sizeof host, &port), -EINVAL);
}

static void uuid_v4(void)
{
    sc_rng rng;
    sc_rng_init_seeded(&rng, 7);
    char a[37], b[37];
    REQUIRE(sc_rng_uuid_v4(&rng, a) == 0);
    REQUIRE(sc_rng_uuid_v4(&rng, b) == 0);
    CHECK_EQ(strlen(a), 36);
    CHECK(a[8] == '-' && a[13] == '-' && a[18] == '-' && a[23] == '-');
    CHECK(a[14] == '4');
    CHECK(strchr("89ab", a[19]) != NULL);
    CHECK(strcmp(a, b) != 0);
}

static void models_body_check(void)
{
    sc_contract_result r;
    const char *ok = "{\"object\":\"list\",\"data\":[{\"id\":\"gpt-4o-mini\"}]}";
    sc_canary_check_models_body(ok, strlen(ok), &r);
    CHECK_EQ(r.failed, 0);
    CHECK(sc_shape_names_has(&r.fields, "object") && sc_shape_names_has(&r.fields, "data"));
    const char *wrong = "{\"object\":\"model\",\"id\":\"x\"}";
    sc_canary_check_models_body(wrong, strlen(wrong), &r);
    CHECK_EQ(r.failed, SC_CHECK_BIT(SC_CHECK_WRONG_OBJECT));
    sc_canary_check_models_body("  \n", 3, &r);
    CHECK_EQ(r.failed, SC_CHECK_BIT(SC_CHECK_EMPTY_BODY));
    sc_canary_check_models_body("{\"object\":", 10, &r);
    CHECK_EQ(r.failed, SC_CHECK_BIT(SC_CHECK_INVALID_JSON));
}

int main(void)
{
    RUN(chat_bodies);
    RUN(responses_and_models);
    RUN(malformed_body_is_broken_json);
    RUN(credential_modes);
    RUN(route_template_and_url_parts);
    RUN(uuid_v4);
    RUN(models_body_check);
    return sc_test_summary();
}
