/* fuzz_json_line.c - libFuzzer target: one JSON-lines access-log record through each compiled
 * layout (the nginx, caddy and envoy presets via sc_accesslog_layout_compile, plus a custom nested
 * mapping with an escaped dot, epoch-ms time and microsecond durations), then sc_derive on every
 * line that parses, and sc_derive_upstreams_parse on the raw bytes.
 *
 * Input: byte 0 picks the layout (and the upstream-list check), the rest is the line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accesslog/derive.h"
#include "accesslog/json_line.h"
#include "accesslog/layout.h"

enum { N_LAYOUTS = 4 };

/* Compiled once; read-only while parsing, so every run sees the same state. */
static sc_accesslog_layout layouts[N_LAYOUTS];

static void compile_preset(sc_accesslog_layout *out, sc_config_access_log_format format)
{
    sc_config_access_log c = {.format = format,
                              .time_format = -1,
                              .duration_unit = -1,
                              .time_marks = -1,
                              .retry_count_counts = -1};
    char err[256];
    if (sc_accesslog_layout_compile(&c, out, err, sizeof err) != 0)
        abort();
}

/* A custom layout: fields nested two deep, a key containing a dot, an array on the way. */
static void compile_custom(sc_accesslog_layout *out)
{
    static sc_config_kv fields[] = {
        {"time", "meta.ts_ms"},
        {"request", "http.request\\.line"},
        {"status", "http.code"},
        {"duration", "http.micros"},
        {"usage_present", "llm.usage"},
        {"model", "llm.model"},
        {"input_tokens", "llm.tokens.in"},
        {"output_tokens", "llm.tokens.out"},
        {"request_id", "hdr.X-Request-Id"},
        {"upstream_status", "up.status"},
        {"retry_count", "up.tries"},
        {"fallback_reason", "up.fallback"},
        {"server_port", "srv.port"},
    };
    sc_config_access_log c = {.format = SC_ACCESS_LOG_JSON,
                              .json_fields = {fields, sizeof fields / sizeof fields[0]},
                              .time_format = SC_TIMESTAMP_EPOCH_MS,
                              .duration_unit = SC_ACCESSLOG_DURATION_US,
                              .time_marks = 1,
                              .retry_count_counts = 1};
    char err[256];
    if (sc_accesslog_layout_compile(&c, out, err, sizeof err) != 0)
        abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    compile_preset(&layouts[0], SC_ACCESS_LOG_NGINX_JSON);
    compile_preset(&layouts[1], SC_ACCESS_LOG_CADDY);
    compile_preset(&layouts[2], SC_ACCESS_LOG_ENVOY);
    compile_custom(&layouts[3]);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const sc_accesslog_layout *l = &layouts[data[0] % N_LAYOUTS];
    const char *line = (const char *)data + 1;
    size_t len = size - 1;

    /* The tailer reuses one struct line after line; a fixed fill stands in for the previous
     * line's leftovers, so a result that was not reset shows up the same way every run. */
    sc_accesslog_fields f;
    memset(&f, 0xA5, sizeof f);
    if (sc_accesslog_layout_parse(l, line, len, &f) == 0) {
        if (f.reason != SC_ACCESSLOG_OK)
            abort();
        for (int i = 0; i < SC_ACCESSLOG_FIELD__COUNT; i++) {
            /* A decoded value lies inside the line or the scratch area: touch every byte. */
            volatile char sink = 0;
            for (size_t k = 0; sc_accesslog_has(&f, (sc_accesslog_field)i) && k < f.v[i].n; k++)
                sink ^= f.v[i].p[k];
            (void)sink;
        }
        sc_derive_result r;
        sc_derive(&l->routes, &f, &r);
        if (r.route == NULL || r.method == NULL)
            abort();
    } else if (f.reason == SC_ACCESSLOG_OK) {
        abort(); /* a rejected line always says why */
    }

    sc_derive_upstreams u;
    (void)sc_derive_upstreams_parse(line, len, &u);
    return 0;
}
