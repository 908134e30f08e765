/* test_accesslog_alloc.c - proves the access-log hot path (compile once, then parse + derive per
 * line) performs no heap allocation, by counting every allocation the process makes.
 *
 * Normal builds interpose malloc/calloc/realloc (glibc's documented "replacing malloc": the
 * executable's definitions win, and forward to __libc_*). Under AddressSanitizer the allocator
 * belongs to ASan, so the count comes from its malloc hook instead. Either way the test first
 * checks that the counter sees an allocation it makes itself, so it cannot pass vacuously.
 * Under valgrind (whose preload replaces malloc everywhere, ours included) nothing can be
 * counted: the test says so and checks behaviour only. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accesslog/derive.h"
#include "accesslog/json_line.h"
#include "accesslog/nginx_format.h"
#include "harness.h"

/* The one mutable global: an allocator hook for this test (see STYLE.md). */
static volatile unsigned long n_allocs;

#if defined(__SANITIZE_ADDRESS__)
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));
static void on_malloc(const volatile void *p, size_t n)
{
    (void)p;
    (void)n;
    n_allocs++;
}
static void on_free(const volatile void *p)
{
    (void)p;
}
static void install_counter(void)
{
    __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}
#else
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);

void *malloc(size_t n)
{
    n_allocs++;
    return __libc_malloc(n);
}
void *calloc(size_t n, size_t size)
{
    n_allocs++;
    return __libc_calloc(n, size);
}
void *realloc(void *p, size_t n)
{
    n_allocs++;
    return __libc_realloc(p, n);
}
void free(void *p)
{
    __libc_free(p);
}
static void install_counter(void)
{
}
#endif

static const char *const json_lines[] = {
    /* nginx preset, with escapes (scratch), fallback lists and tokens */
    "{\"time\":\"2026-11-22T20:05:54+00:00\",\"request_id\":\"r\",\"traceparent\":\"\",\"method\":"
    "\"POST\",\"uri\":\"/v1/chat/completions?x=\\\"1\\\"\",\"status\":200,\"request_time\":0.011,"
    "\"upstream_status\":\"503, 503 : 200\",\"upstream_addr\":\"a:1, b:1 : c:1\",\"host\":\"h\","
    "\"server_port\":18080,\"llm_model\":\"m\\u00e9\",\"llm_input_tokens\":\"12\","
    "\"llm_output_tokens\":\"34\",\"llm_fallback_reason\":\"upstream_error\"}",
    "{\"method\":\"GET\",\"uri\":\"\\/v1\\/files\\/"
    "a\\\"b\",\"status\":404,\"upstream_status\":\"404\"}",
    "{\"method\":\"GET\",\"uri\":\"/v1/models\",\"status\":\"OK\"}", /* bad_status */
    "{\"method\":\"GET\",\"uri\":\"/v1/models\",\"status\":200",     /* truncated */
    "[1,2,3]",
    "not json at all",
    "",
};

static const char *const caddy_line =
    "{\"level\":\"info\",\"ts\":1795377971.924615,\"logger\":\"http.log.access.log0\",\"msg\":"
    "\"handled request\",\"request\":{\"remote_ip\":\"127.0.0.1\",\"method\":\"POST\",\"host\":"
    "\"h:1\",\"uri\":\"/v1/chat/completions\",\"headers\":{\"Traceparent\":[\"00-4bf92f3577b34da6a3"
    "ce929d0e0e4736-00f067aa0ba902b7-01\"],\"Authorization\":[]}},\"duration\":0.001983499,"
    "\"status\":200,\"resp_headers\":{\"X-Llm-Model\":[\"gpt\"]}}";

static const char *const envoy_line =
    "{\"start_time\":\"2022-12-15T03:49:38.504Z\",\"method\":\"GET\",\"path\":\"/\","
    "\"response_code\":503,\"response_flags\":\"UH\",\"duration\":0,\"upstream_host\":null}";

static const char *const combined_lines[] = {
    "127.0.0.1 - - [22/Nov/2026:20:05:56 +0000] \"GET /v1/files/a\\x22b?x=\\xFF HTTP/1.1\" 200 32 "
    "\"-\" \"ua \\x22q\\x22\"",
    "127.0.0.1 - - [22/Nov/2026:20:05:57 +0000] \"\\x16\\x03\\x01\" 400 157 \"-\" \"-\"",
    "garbage",
};

static unsigned long hot_path_allocations(void)
{
    static sc_json_line_mapping maps[3];
    static sc_nginx_format nf;
    static sc_derive_routes routes;
    static sc_accesslog_fields f;
    sc_derive_result r;
    size_t nr;
    const sc_derive_route_spec *specs = sc_derive_default_routes(&nr);

    unsigned long before = n_allocs;
    /* Compiling allocates nothing either. */
    if (sc_derive_routes_compile(specs, nr, &routes, NULL) != 0 ||
        sc_json_line_mapping_compile(sc_json_line_preset("nginx", 5), &maps[0], NULL) != 0 ||
        sc_json_line_mapping_compile(sc_json_line_preset("caddy", 5), &maps[1], NULL) != 0 ||
        sc_json_line_mapping_compile(sc_json_line_preset("envoy", 5), &maps[2], NULL) != 0 ||
        sc_nginx_format_compile(SC_NGINX_FORMAT_COMBINED, strlen(SC_NGINX_FORMAT_COMBINED), 0, &nf,
                                NULL) != 0)
        return (unsigned long)-1;
    int ok = 0;
    for (int rep = 0; rep < 100; rep++) {
        for (size_t i = 0; i < sizeof json_lines / sizeof json_lines[0]; i++)
            if (sc_json_line_parse(&maps[0], json_lines[i], strlen(json_lines[i]), &f) == 0) {
                sc_derive(&routes, &f, &r);
                ok++;
            }
        if (sc_json_line_parse(&maps[1], caddy_line, strlen(caddy_line), &f) == 0) {
            sc_derive(&routes, &f, &r);
            ok++;
        }
        if (sc_json_line_parse(&maps[2], envoy_line, strlen(envoy_line), &f) == 0) {
            sc_derive(&routes, &f, &r);
            ok++;
        }
        for (size_t i = 0; i < sizeof combined_lines / sizeof combined_lines[0]; i++)
            if (sc_nginx_format_parse(&nf, combined_lines[i], strlen(combined_lines[i]), &f) == 0) {
                sc_derive(&routes, &f, &r);
                ok++;
            }
    }
    unsigned long used = n_allocs - before;
    /* 2 nginx + caddy + envoy + 1 combined parse per round. */
    return ok == 100 * 5 ? used : (unsigned long)-2;
}

static int under_valgrind(void)
{
    const char *pre = getenv("LD_PRELOAD");
    return pre != NULL && strstr(pre, "vgpreload") != NULL;
}

/* 1 when the counter observes an allocation made through malloc. */
static int counter_works(void)
{
    install_counter();
    void *(*volatile alloc)(size_t) = malloc;
    unsigned long before = n_allocs;
    void *p = alloc(64);
    free(p);
    return p != NULL && n_allocs > before;
}

static void counter_sees_allocations(void)
{
    if (under_valgrind()) {
        fprintf(stderr, "  note: valgrind replaced malloc; allocations cannot be counted\n");
        return;
    }
    CHECK(counter_works());
}

static void parsing_and_deriving_never_allocate(void)
{
    install_counter();
    unsigned long used = hot_path_allocations();
    CHECK(used != (unsigned long)-1 && used != (unsigned long)-2); /* compiled, parsed */
    if (counter_works())
        CHECK_EQ(used, 0);
    else
        CHECK(under_valgrind());
}

int main(void)
{
    RUN(counter_sees_allocations);
    RUN(parsing_and_deriving_never_allocate);
    return sc_test_summary();
}
