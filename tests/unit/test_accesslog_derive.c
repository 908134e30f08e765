/* test_accesslog_derive.c - tests for accesslog/derive: route templates and the "_OTHER"
 * fallback, the status -> error class table (with Envoy flags), nginx upstream lists -> retries
 * and fallback decisions, explicit fields, usage presence. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "accesslog/derive.h"
#include "accesslog/json_line.h"
#include "accesslog/nginx_format.h"
#include "harness.h"

#define F(x) SC_ACCESSLOG_FIELD_##x

static sc_derive_routes routes;
static sc_accesslog_fields fl;
static sc_derive_result res;

static void load_defaults(void)
{
    size_t n;
    const sc_derive_route_spec *d = sc_derive_default_routes(&n);
    sc_accesslog_error err;
    if (sc_derive_routes_compile(d, n, &routes, &err) != 0)
        sc_test_fail(__FILE__, __LINE__, err.msg);
}

static const char *route_of(const char *path)
{
    int i = sc_derive_route_match(&routes, path, strlen(path));
    if (i < 0)
        return SC_DERIVE_ROUTE_OTHER;
    return routes.text + routes.r[i].tmpl_off; /* what sc_derive() reports as the route */
}

/* ---- Templates ---------------------------------------------------------------------------------
 */

static void default_templates_match(void)
{
    load_defaults();
    struct {
        const char *path, *route;
    } cases[] = {
        {"/v1/chat/completions", "/v1/chat/completions"},
        {"/v1/chat/completions/", "/v1/chat/completions"}, /* trailing slash tolerated */
        {"/v1/completions", "/v1/completions"},
        {"/v1/responses", "/v1/responses"},
        {"/v1/responses/resp_67ccd2bed1ec8190", "/v1/responses/{id}"},
        {"/v1/embeddings", "/v1/embeddings"},
        {"/v1/models", "/v1/models"},
        {"/v1/models/", "/v1/models"},
        {"/v1/models/gpt-4o-mini", "/v1/models/{model}"},
        {"/v1/models/gpt-4o-mini/", "/v1/models/{model}"},
        {"/v1/images/generations", "/v1/images/generations"},
        {"/v1/audio/transcriptions", "/v1/audio/transcriptions"},
        {"/v1/audio/speech", "/v1/audio/speech"},
        {"/v1/moderations", "/v1/moderations"},
        {"/v1/files", "/v1/files"},
        {"/v1/files/file-abc123", "/v1/files/{id}"},
        {"/v1/files/a\"b", "/v1/files/{id}"},
        {"/v1/batches", "/v1/batches"},
        {"/v1/batches/batch_abc", "/v1/batches/{id}"},
        /* Never the raw path: */
        {"/v1/files/", "/v1/files"},
        {"/v1/files//", SC_DERIVE_ROUTE_OTHER},
        {"/v1/files/a/b", SC_DERIVE_ROUTE_OTHER},
        {"/v1/files/a/content", SC_DERIVE_ROUTE_OTHER},
        {"/v1/models/meta-llama/Llama-3-8B", SC_DERIVE_ROUTE_OTHER},
        {"/v1/chat", SC_DERIVE_ROUTE_OTHER},
        {"/v1/chat/completions/x", SC_DERIVE_ROUTE_OTHER},
        {"/V1/models", SC_DERIVE_ROUTE_OTHER},
        {"/dead/v1/chat/completions", SC_DERIVE_ROUTE_OTHER},
        {"//v1/models", SC_DERIVE_ROUTE_OTHER},
        {"/v1/models?x=1", SC_DERIVE_ROUTE_OTHER}, /* callers pass the path only */
        {"v1/models", SC_DERIVE_ROUTE_OTHER},
        {"/", SC_DERIVE_ROUTE_OTHER},
        {"*", SC_DERIVE_ROUTE_OTHER},
        {"", SC_DERIVE_ROUTE_OTHER},
        {"/v1/chat%2Fcompletions", SC_DERIVE_ROUTE_OTHER},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = route_of(cases[i].path);
        if (strcmp(got, cases[i].route) != 0) {
            char m[300];
            snprintf(m, sizeof m, "%s -> %s, want %s", cases[i].path, got, cases[i].route);
            sc_test_fail(__FILE__, __LINE__, m);
        }
    }
    CHECK_EQ(sc_derive_route_match(NULL, "/v1/models", 10), -1);
}

static void custom_templates_order_and_errors(void)
{
    sc_derive_route_spec specs[] = {
        {"/v1/models/special", "special_op", 0},
        {"/v1/models/{model}", NULL, 1},
        {"/", NULL, 0},
        {"/openai/deployments/{deployment}/chat/completions/", "chat", 1},
    };
    sc_derive_routes r;
    sc_accesslog_error err;
    REQUIRE(sc_derive_routes_compile(specs, 4, &r, &err) == 0);
    CHECK_EQ(sc_derive_route_match(&r, "/v1/models/special", 18), 0); /* first match wins */
    CHECK_EQ(sc_derive_route_match(&r, "/v1/models/x", 12), 1);
    CHECK_EQ(sc_derive_route_match(&r, "/", 1), 2);
    const char *az = "/openai/deployments/gpt4o-prod/chat/completions";
    CHECK_EQ(sc_derive_route_match(&r, az, strlen(az)), 3);

    struct {
        const char *tmpl;
        size_t pos;
    } bad[] = {{"v1/x", 0}, {"/a//b", 3}, {"/a/{x", 3},   {"/a/{}", 3},    {"/a/x{y}", 4},
               {"/a?b", 2}, {"/a/*", 3},  {"/a/{x}y", 5}, {"/a/{x/y}", 3}, {NULL, 0}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sc_derive_route_spec s = {bad[i].tmpl, NULL, 0};
        err = (sc_accesslog_error){0};
        CHECK_EQ(sc_derive_routes_compile(&s, 1, &r, &err), -EINVAL);
        CHECK_EQ(err.field, 0);
        if (err.pos != bad[i].pos) {
            char m[200];
            snprintf(m, sizeof m, "%s: pos %zu, want %zu (%s)", bad[i].tmpl ? bad[i].tmpl : "NULL",
                     err.pos, bad[i].pos, err.msg);
            sc_test_fail(__FILE__, __LINE__, m);
        }
    }
    sc_derive_route_spec many[SC_DERIVE_MAX_ROUTES + 1];
    for (size_t i = 0; i <= SC_DERIVE_MAX_ROUTES; i++)
        many[i] = (sc_derive_route_spec){"/x", NULL, 0};
    CHECK_EQ(sc_derive_routes_compile(many, SC_DERIVE_MAX_ROUTES + 1, &r, &err), -E2BIG);
    CHECK_EQ(sc_derive_routes_compile(many, SC_DERIVE_MAX_ROUTES, &r, &err), 0);
    sc_derive_route_spec deep = {"/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q", NULL, 0};
    CHECK_EQ(sc_derive_routes_compile(&deep, 1, &r, &err), -E2BIG);
    CHECK_EQ(sc_derive_routes_compile(NULL, 0, &r, &err), 0);
    CHECK_EQ(r.n, 0);
}

/* ---- Error classes ----------------------------------------------------------------------------
 */

static void status_to_error_class_table(void)
{
    struct {
        int status, model_404;
        sc_error_class want;
    } rows[] = {
        {0, 0, SC_ERROR_CLASS_NETWORK_ERROR},
        {99, 0, SC_ERROR_CLASS_NETWORK_ERROR},
        {600, 0, SC_ERROR_CLASS_NETWORK_ERROR},
        {101, 0, SC_ERROR_CLASS_NONE},
        {200, 0, SC_ERROR_CLASS_NONE},
        {204, 0, SC_ERROR_CLASS_NONE},
        {304, 0, SC_ERROR_CLASS_NONE},
        {400, 0, SC_ERROR_CLASS_INVALID_REQUEST},
        {401, 0, SC_ERROR_CLASS_AUTH_ERROR},
        {402, 0, SC_ERROR_CLASS_QUOTA_EXCEEDED},
        {403, 0, SC_ERROR_CLASS_AUTH_ERROR},
        {404, 1, SC_ERROR_CLASS_MODEL_NOT_FOUND},
        {404, 0, SC_ERROR_CLASS_INVALID_REQUEST},
        {408, 0, SC_ERROR_CLASS_TIMEOUT},
        {409, 0, SC_ERROR_CLASS_INVALID_REQUEST},
        {413, 0, SC_ERROR_CLASS_INVALID_REQUEST},
        {422, 0, SC_ERROR_CLASS_INVALID_REQUEST},
        {429, 0, SC_ERROR_CLASS_RATE_LIMITED},
        {451, 0, SC_ERROR_CLASS_POLICY_REJECTION},
        {499, 0, SC_ERROR_CLASS_STREAM_INTERRUPTED},
        {500, 0, SC_ERROR_CLASS_UPSTREAM_ERROR},
        {502, 0, SC_ERROR_CLASS_UPSTREAM_ERROR},
        {503, 0, SC_ERROR_CLASS_UPSTREAM_ERROR},
        {504, 0, SC_ERROR_CLASS_TIMEOUT},
        {529, 0, SC_ERROR_CLASS_UPSTREAM_ERROR},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        sc_error_class got = sc_derive_error_class(rows[i].status, rows[i].model_404, NULL, 0);
        if (got != rows[i].want) {
            char m[200];
            snprintf(m, sizeof m, "status %d -> %s, want %s", rows[i].status,
                     sc_schema_error_class_name(got), sc_schema_error_class_name(rows[i].want));
            sc_test_fail(__FILE__, __LINE__, m);
        }
    }
}

static void envoy_flags_refine_failures(void)
{
#define EC(st, fl) sc_derive_error_class(st, 0, fl, strlen(fl))
    CHECK_EQ(EC(504, "UT"), SC_ERROR_CLASS_TIMEOUT);
    CHECK_EQ(EC(503, "UF"), SC_ERROR_CLASS_NETWORK_ERROR);
    CHECK_EQ(EC(503, "UF,URX"), SC_ERROR_CLASS_NETWORK_ERROR);
    CHECK_EQ(EC(503, "URX,UT"), SC_ERROR_CLASS_TIMEOUT); /* first KNOWN flag */
    CHECK_EQ(EC(503, "UH"), SC_ERROR_CLASS_UPSTREAM_ERROR);
    CHECK_EQ(EC(429, "RL"), SC_ERROR_CLASS_RATE_LIMITED);
    CHECK_EQ(EC(0, "DC"), SC_ERROR_CLASS_STREAM_INTERRUPTED);
    CHECK_EQ(EC(403, "UAEX"), SC_ERROR_CLASS_AUTH_ERROR);
    CHECK_EQ(EC(404, "NR"), SC_ERROR_CLASS_INVALID_REQUEST);
    CHECK_EQ(EC(503, "XYZ"), SC_ERROR_CLASS_UPSTREAM_ERROR);
    CHECK_EQ(EC(503, "U"), SC_ERROR_CLASS_UPSTREAM_ERROR);
    CHECK_EQ(EC(200, "UT"), SC_ERROR_CLASS_NONE); /* flags never turn a success into an error */
#undef EC
}

/* ---- Upstream lists -----------------------------------------------------------------------------
 */

static void upstream_lists(void)
{
    sc_derive_upstreams u;
#define UP(s) sc_derive_upstreams_parse(s, strlen(s), &u)
    REQUIRE(UP("200") == 0);
    CHECK_EQ(u.attempts, 1);
    CHECK_EQ(u.groups, 1);
    CHECK_EQ(u.first_failed_status, -1);
    CHECK_EQ(u.final_status, 200);
    CHECK_EQ(u.final_failed, 0);
    CHECK_EQ(u.fallback, 0);

    REQUIRE(UP("503, 502, 200") == 0); /* two retries across replicas */
    CHECK_EQ(u.attempts, 3);
    CHECK_EQ(u.first_failed_status, 503);
    CHECK_EQ(u.fallback, 0);
    CHECK_EQ(u.final_failed, 0);

    REQUIRE(UP("503, 200 : 200") == 0); /* success, then an internal redirect (X-Accel) */
    CHECK_EQ(u.attempts, 3);
    CHECK_EQ(u.groups, 2);
    CHECK_EQ(u.first_failed_status, 503);
    CHECK_EQ(u.fallback, 0);

    REQUIRE(UP("503, 503 : 200") == 0); /* real nginx: error_page 503 = @llm_fallback */
    CHECK_EQ(u.fallback, 1);
    CHECK_EQ(u.first_failed_status, 503);

    REQUIRE(UP("-, 200") == 0);
    CHECK_EQ(u.first_failed_status, 0);
    REQUIRE(UP("504 : 502") == 0);
    CHECK_EQ(u.fallback, 1);
    CHECK_EQ(u.final_failed, 1);
    CHECK_EQ(u.final_status, 502);
    REQUIRE(UP("-") == 0);
    CHECK_EQ(u.final_failed, 1);

    const char *bad[] = {"",   "abc",      "503,200", "503, ",  "5033", "200 :200",
                         "99", "200  200", ", 200",   "200 : ", "2x0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ(UP(bad[i]), -EINVAL);
#undef UP
}

/* ---- Fields -> schema values -------------------------------------------------------------------
 */

static const sc_derive_result *derive_json(const char *preset, const char *line)
{
    static sc_json_line_mapping m;
    if (sc_json_line_mapping_compile(sc_json_line_preset(preset, strlen(preset)), &m, NULL) != 0 ||
        sc_json_line_parse(&m, line, strlen(line), &fl) != 0) {
        sc_test_fail(__FILE__, __LINE__, line);
        memset(&res, 0, sizeof res);
        return &res;
    }
    sc_derive(&routes, &fl, &res);
    return &res;
}

/* An nginx-preset line with the given pieces. */
static const sc_derive_result *nginx_line(const char *method, const char *uri, int status,
                                          const char *upstream_status, const char *extra)
{
    static char line[1024];
    snprintf(line, sizeof line,
             "{\"method\":\"%s\",\"uri\":\"%s\",\"status\":%d,\"upstream_status\":\"%s\"%s%s}",
             method, uri, status, upstream_status, extra[0] ? "," : "", extra);
    return derive_json("nginx", line);
}

#define CHECK_FB(r, decision, reason)                                                              \
    do {                                                                                           \
        CHECK_EQ((r)->fallback_known, 1);                                                          \
        CHECK_STR(sc_schema_fallback_decision_name((r)->fallback_decision), decision);             \
        CHECK_STR((r)->fallback_reason, reason);                                                   \
    } while (0)

static void derive_from_real_nginx_lines(void)
{
    load_defaults();
    const sc_derive_result *r = derive_json(
        "nginx",
        "{\"time\":\"2026-11-22T20:05:54+00:00\",\"request_id\":"
        "\"dfef6deeac8c10b673a9b4c3280024f9\","
        "\"traceparent\":\"\",\"method\":\"POST\",\"uri\":\"/v1/chat/completions?api-version=2024-"
        "02-01&user=alice\",\"status\":200,\"request_time\":0.011,\"upstream_status\":\"503, 503 : "
        "200\",\"upstream_addr\":\"127.0.0.1:18082, 127.0.0.1:18081 : 127.0.0.1:18083\",\"upstream_"
        "response_time\":\"0.003, 0.004 : "
        "0.004\",\"host\":\"127.0.0.1\",\"server_addr\":\"127.0.0.1"
        "\",\"server_port\":18080,\"llm_model\":\"gpt-4o-mini-2024-07-18\",\"llm_input_tokens\":"
        "\"12"
        "\",\"llm_output_tokens\":\"34\",\"llm_retry_count\":\"\",\"llm_fallback_reason\":\"\"}");
    CHECK_STR(r->route, "/v1/chat/completions");
    CHECK_STR(r->operation, "chat");
    CHECK_STR(r->method, "POST");
    CHECK_EQ(r->status_class, SC_STATUS_CLASS_2XX);
    CHECK_EQ(r->error_class, SC_ERROR_CLASS_NONE);
    CHECK_EQ(r->retry_known, 1);
    CHECK_EQ(r->retry_count, 2);
    CHECK_FB(r, "used", "upstream_error");
    CHECK_EQ(r->usage, SC_DERIVE_USAGE_PRESENT);

    /* "429 : 200" (real): the fallback location served it after a rate limit. */
    r = nginx_line("POST", "/v1/embeddings", 200, "429 : 200", "");
    CHECK_STR(r->route, "/v1/embeddings");
    CHECK_STR(r->operation, "embeddings");
    CHECK_EQ(r->retry_count, 1);
    CHECK_FB(r, "used", "rate_limited");
    CHECK_EQ(r->usage, SC_DERIVE_USAGE_ABSENT); /* the layout has token fields, none sent */

    /* "504, 504 : 200" (real): timeouts on both replicas, then the fallback. */
    r = nginx_line("POST", "/v1/responses", 200, "504, 504 : 200", "");
    CHECK_EQ(r->retry_count, 2);
    CHECK_FB(r, "used", "timeout");

    /* "502, 200" (real: connect refused on the first replica) is a retry, not a fallback. */
    r = nginx_line("POST", "/v1/chat/completions", 200, "502, 200", "");
    CHECK_EQ(r->retry_count, 1);
    CHECK_FB(r, "not_needed", "none");

    /* Everything failed, no fallback location: failed closed on the final class. */
    r = nginx_line("POST", "/v1/chat/completions", 503, "502, 503", "");
    CHECK_EQ(r->retry_count, 1);
    CHECK_EQ(r->error_class, SC_ERROR_CLASS_UPSTREAM_ERROR);
    CHECK_FB(r, "failed_closed", "upstream_error");
    r = nginx_line("POST", "/v1/chat/completions", 502, "504 : 502", "");
    CHECK_FB(r, "used", "timeout");
    r = nginx_line("POST", "/v1/chat/completions", 502, "-, 502", "");
    CHECK_FB(r, "failed_closed", "upstream_error");
    r = nginx_line("POST", "/v1/chat/completions", 200, "- : 200", "");
    CHECK_FB(r, "used", "network_error");

    /* Client errors never fail "closed": no fallback would help. */
    r = nginx_line("POST", "/v1/chat/completions", 400, "400", "");
    CHECK_EQ(r->error_class, SC_ERROR_CLASS_INVALID_REQUEST);
    CHECK_FB(r, "not_needed", "none");
    r = nginx_line("POST", "/v1/chat/completions", 401, "401", "");
    CHECK_EQ(r->error_class, SC_ERROR_CLASS_AUTH_ERROR);
    CHECK_FB(r, "not_needed", "none");

    /* 404: model_not_found on model routes, invalid_request elsewhere (and on "_OTHER"). */
    r = nginx_line("GET", "/v1/models/nonexistent-model", 404, "404", "");
    CHECK_STR(r->route, "/v1/models/{model}");
    CHECK_EQ(r->error_class, SC_ERROR_CLASS_MODEL_NOT_FOUND);
    r = nginx_line("GET", "/v1/files/file-x", 404, "404", "");
    CHECK_EQ(r->error_class, SC_ERROR_CLASS_INVALID_REQUEST);
    CHECK_EQ(r->status_class, SC_STATUS_CLASS_4XX);
    r = nginx_line("GET", "/admin/secret-path?token=abc", 404, "404", "");
    CHECK_STR(r->route, SC_DERIVE_ROUTE_OTHER);
    CHECK(r->operation == NULL);
    CHECK_EQ(r->error_class, SC_ERROR_CLASS_INVALID_REQUEST);
}

static void explicit_fields_win(void)
{
    load_defaults();
    const sc_derive_result *r = nginx_line("POST", "/v1/chat/completions", 200, "503, 200",
                                           "\"llm_retry_count\":\"4\",\"llm_fallback_reason\":"
                                           "\"rate_limited\"");
    CHECK_EQ(r->retry_count, 4);
    CHECK_FB(r, "used", "rate_limited");
    r = nginx_line("POST", "/v1/chat/completions", 200, "503 : 200",
                   "\"llm_fallback_reason\":\"none\"");
    CHECK_FB(r, "not_needed", "none");
    r = nginx_line("POST", "/v1/chat/completions", 200, "200",
                   "\"llm_fallback_reason\":\"provider said no\"");
    CHECK_FB(r, "used", SC_FALLBACK_REASON_OTHER); /* never free text */
    /* Envoy: attempts count; no upstream list -> fallback unknown. */
    r = derive_json("envoy", "{\"start_time\":\"2026-11-22T19:23:21.042Z\",\"method\":\"POST\","
                             "\"path\":\"/v1/chat/completions\",\"response_code\":503,"
                             "\"response_flags\":\"UF,URX\",\"duration\":12,"
                             "\"upstream_request_attempt_count\":3}");
    CHECK_EQ(r->retry_known, 1);
    CHECK_EQ(r->retry_count, 2);
    CHECK_EQ(r->fallback_known, 0);
    CHECK_EQ(r->error_class, SC_ERROR_CLASS_NETWORK_ERROR);
    CHECK_EQ(r->usage, SC_DERIVE_USAGE_UNKNOWN);
    /* Caddy: no retry information at all; status 0 is a network error. */
    r = derive_json("caddy", "{\"ts\":1795377980.5,\"request\":{\"method\":\"POST\",\"uri\":"
                             "\"/v1/responses\"},\"duration\":30.0,\"status\":0}");
    CHECK_EQ(r->retry_known, 0);
    CHECK_EQ(r->status_class, SC_STATUS_CLASS_NETWORK_ERROR);
    CHECK_EQ(r->error_class, SC_ERROR_CLASS_NETWORK_ERROR);
    CHECK_EQ(r->usage, SC_DERIVE_USAGE_ABSENT);
    /* An unparsable upstream list is no evidence. */
    r = nginx_line("POST", "/v1/chat/completions", 200, "garbage", "");
    CHECK_EQ(r->retry_known, 0);
    CHECK_EQ(r->fallback_known, 0);
}

static void usage_and_method(void)
{
    load_defaults();
    sc_json_line_spec spec = {0};
    spec.keys[F(METHOD)] = "m";
    spec.keys[F(PATH)] = "p";
    spec.keys[F(STATUS)] = "s";
    spec.keys[F(USAGE_PRESENT)] = "u";
    spec.keys[F(OUTPUT_TOKENS)] = "o";
    sc_json_line_mapping m;
    REQUIRE(sc_json_line_mapping_compile(&spec, &m, NULL) == 0);
    struct {
        const char *line;
        sc_derive_usage want;
        const char *method;
    } cases[] = {
        {"{\"m\":\"POST\",\"p\":\"/v1/chat/completions\",\"s\":200,\"u\":true}",
         SC_DERIVE_USAGE_PRESENT, "POST"},
        {"{\"m\":\"POST\",\"p\":\"/v1/chat/completions\",\"s\":200,\"u\":\"no\",\"o\":5}",
         SC_DERIVE_USAGE_ABSENT, "POST"}, /* the explicit flag wins */
        {"{\"m\":\"GET\",\"p\":\"/v1/models\",\"s\":200,\"o\":\"0\"}", SC_DERIVE_USAGE_PRESENT,
         "GET"},
        {"{\"m\":\"get\",\"p\":\"/v1/models\",\"s\":200}", SC_DERIVE_USAGE_ABSENT, "_OTHER"},
        {"{\"m\":\"BREW\",\"p\":\"/v1/models\",\"s\":200}", SC_DERIVE_USAGE_ABSENT, "_OTHER"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        REQUIRE(sc_json_line_parse(&m, cases[i].line, strlen(cases[i].line), &fl) == 0);
        sc_derive(&routes, &fl, &res);
        CHECK_EQ(res.usage, cases[i].want);
        CHECK_STR(res.method, cases[i].method);
    }
    /* combined carries no usage at all: unknown, never "missing". */
    sc_nginx_format nf;
    REQUIRE(sc_nginx_format_compile(SC_NGINX_FORMAT_COMBINED, strlen(SC_NGINX_FORMAT_COMBINED), 0,
                                    &nf, NULL) == 0);
    const char *line = "10.0.0.1 - - [22/Nov/2026:20:05:54 +0000] \"POST /v1/chat/completions?"
                       "stream=true HTTP/1.1\" 200 5 \"-\" \"-\"";
    REQUIRE(sc_nginx_format_parse(&nf, line, strlen(line), &fl) == 0);
    sc_derive(&routes, &fl, &res);
    CHECK_EQ(res.usage, SC_DERIVE_USAGE_UNKNOWN);
    CHECK_STR(res.route, "/v1/chat/completions");
    CHECK_EQ(res.retry_known, 0);
    CHECK_EQ(res.fallback_known, 0);
    /* No routes at all: everything is "_OTHER". */
    sc_derive(NULL, &fl, &res);
    CHECK_STR(res.route, SC_DERIVE_ROUTE_OTHER);
}

int main(void)
{
    RUN(default_templates_match);
    RUN(custom_templates_order_and_errors);
    RUN(status_to_error_class_table);
    RUN(envoy_flags_refine_failures);
    RUN(upstream_lists);
    RUN(derive_from_real_nginx_lines);
    RUN(explicit_fields_win);
    RUN(usage_and_method);
    return sc_test_summary();
}
