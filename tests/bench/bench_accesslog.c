/* bench_accesslog.c - throughput of the access-log parsers on one synthetic line each, single
 * core. Not part of the build or of ctest; run by hand:
 *
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Isidecar/src tests/bench/bench_accesslog.c \
 *      sidecar/src/accesslog/{derive,fields,json_line,nginx_format,timestamp}.c \
 *      sidecar/src/telemetry/schema.c -o /tmp/bench_accesslog
 *   /tmp/bench_accesslog
 *
 * Prints lines per CPU-second for: the nginx JSON preset (a 400-byte llm_json line), the same
 * plus sc_derive, the combined layout, and the Caddy preset. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "accesslog/derive.h"
#include "accesslog/json_line.h"
#include "accesslog/nginx_format.h"

static const char nginx_line[] =
    "{\"time\":\"2026-11-22T20:05:54+00:00\",\"request_id\":\"dfef6deeac8c10b673a9b4c3280024f9\","
    "\"traceparent\":\"\",\"method\":\"POST\",\"uri\":\"/v1/chat/completions\",\"status\":200,"
    "\"request_time\":1.234,\"upstream_status\":\"503, 200\",\"upstream_addr\":\"10.0.0.1:443, "
    "10.0.0.2:443\",\"upstream_response_time\":\"0.010, 1.220\",\"host\":\"llm-gw\","
    "\"server_addr\":\"10.1.0.5\",\"server_port\":8080,\"llm_model\":\"gpt-4o-mini\","
    "\"llm_input_tokens\":\"12\",\"llm_output_tokens\":\"345\"}";

static const char combined_line[] =
    "10.1.2.3 - - [22/Nov/2026:20:05:54 +0000] \"POST /v1/chat/completions HTTP/1.1\" 200 1532 "
    "\"-\" \"OpenAI/Python 1.54.0\"";

static const char caddy_line[] =
    "{\"level\":\"info\",\"ts\":1795377971.924615,\"logger\":\"http.log.access.log0\",\"msg\":"
    "\"handled request\",\"request\":{\"remote_ip\":\"127.0.0.1\",\"remote_port\":\"50176\","
    "\"proto\":\"HTTP/1.1\",\"method\":\"POST\",\"host\":\"127.0.0.1:18090\",\"uri\":\"/v1/chat/"
    "completions\",\"headers\":{\"User-Agent\":[\"curl/7.88.1\"],\"Accept\":[\"*/*\"],"
    "\"Traceparent\":[\"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\"],\"X-Request-"
    "Id\":[\"req-caddy-1\"]}},\"user_id\":\"\",\"duration\":0.001983499,\"size\":32,\"status\":200,"
    "\"resp_headers\":{\"X-Llm-Model\":[\"gpt-4o-mini\"],\"Content-Type\":[\"application/json\"]}}";

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static sc_accesslog_fields f;
static sc_derive_routes routes;

typedef int (*parse_fn)(const void *m, const char *line, size_t len, sc_accesslog_fields *out);

static int json_parse(const void *m, const char *line, size_t len, sc_accesslog_fields *out)
{
    return sc_json_line_parse(m, line, len, out);
}

static int nginx_parse(const void *m, const char *line, size_t len, sc_accesslog_fields *out)
{
    return sc_nginx_format_parse(m, line, len, out);
}

static void run(const char *name, parse_fn fn, const void *m, const char *line, int derive)
{
    size_t len = strlen(line);
    const long n = 2000000;
    sc_derive_result r;
    long ok = 0;
    double t0 = cpu_now();
    for (long i = 0; i < n; i++) {
        ok += fn(m, line, len, &f) == 0;
        if (derive)
            sc_derive(&routes, &f, &r);
    }
    double dt = cpu_now() - t0;
    printf("%-28s %4zu B  %10.0f lines/CPU-s  %6.1f MB/s  (%ld ok)\n", name, len, n / dt,
           n * (double)len / dt / 1e6, ok);
}

int main(void)
{
    static sc_json_line_mapping nginx_map, caddy_map;
    static sc_nginx_format combined;
    size_t nr;
    const sc_derive_route_spec *specs = sc_derive_default_routes(&nr);
    if (sc_derive_routes_compile(specs, nr, &routes, NULL) ||
        sc_json_line_mapping_compile(sc_json_line_preset("nginx", 5), &nginx_map, NULL) ||
        sc_json_line_mapping_compile(sc_json_line_preset("caddy", 5), &caddy_map, NULL) ||
        sc_nginx_format_compile(SC_NGINX_FORMAT_COMBINED, strlen(SC_NGINX_FORMAT_COMBINED), 0,
                                &combined, NULL))
        return 1;
    run("json nginx preset", json_parse, &nginx_map, nginx_line, 0);
    run("json nginx preset + derive", json_parse, &nginx_map, nginx_line, 1);
    run("nginx combined layout", nginx_parse, &combined, combined_line, 0);
    run("json caddy preset", json_parse, &caddy_map, caddy_line, 0);
    return 0;
}
