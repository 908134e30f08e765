/* fuzz_nginx_format.c - libFuzzer target: the nginx `log_format` compiler and the matchers it
 * builds, plus lines against the formats the project ships.
 *
 * Input: byte 0 is the mode. Modes 0-2 (escape=default/json/none): the rest is
 * "<format or log_format directive>\0<line>"; the format is compiled and, if it compiles, the
 * line is parsed with it. Mode 3: the rest is a line parsed with each shipped format (nginx's
 * combined, the upstreamlog text format of deploy/examples/sidecar-nginx-text.json and the
 * llm_json directive of deploy/examples/nginx.conf). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accesslog/nginx_format.h"

/* deploy/examples/sidecar-nginx-text.json access_log.nginx_log_format. */
#define UPSTREAMLOG_DIRECTIVE                                                                      \
    "log_format upstreamlog '$remote_addr - $remote_user [$time_local] \"$request\" $status "      \
    "$body_bytes_sent \"$http_referer\" \"$http_user_agent\" rt=$request_time "                    \
    "us=\"$upstream_status\" ua=\"$upstream_addr\" rid=\"$http_x_request_id\" "                    \
    "tp=\"$http_traceparent\"';"

/* deploy/examples/nginx.conf, pasted as written there (continuation lines included). */
#define LLM_JSON_DIRECTIVE                                                                         \
    "log_format llm_json escape=json\n"                                                            \
    "        '{'\n"                                                                                \
    "            '\"time\":\"$time_iso8601\",'\n"                                                  \
    "            '\"request_id\":\"$llm_request_id\",'\n"                                          \
    "            '\"traceparent\":\"$http_traceparent\",'\n"                                       \
    "            '\"method\":\"$request_method\",'\n"                                              \
    "            '\"uri\":\"$request_uri\",'\n"                                                    \
    "            '\"status\":$status,'\n"                                                          \
    "            '\"request_time\":$request_time,'\n"                                              \
    "            '\"upstream_status\":\"$upstream_status\",'\n"                                    \
    "            '\"upstream_addr\":\"$upstream_addr\",'\n"                                        \
    "            '\"upstream_response_time\":\"$upstream_response_time\",'\n"                      \
    "            '\"host\":\"$host\",'\n"                                                          \
    "            '\"server_addr\":\"$server_addr\",'\n"                                            \
    "            '\"server_port\":$server_port,'\n"                                                \
    "            '\"llm_model\":\"$upstream_http_x_llm_model\",'\n"                                \
    "            '\"llm_input_tokens\":\"$upstream_http_x_llm_input_tokens\",'\n"                  \
    "            '\"llm_output_tokens\":\"$upstream_http_x_llm_output_tokens\",'\n"                \
    "            '\"llm_retry_count\":\"$upstream_http_x_llm_retry_count\",'\n"                    \
    "            '\"llm_fallback_reason\":\"$upstream_http_x_llm_fallback_reason\"'\n"             \
    "        '}';"

enum { N_SHIPPED = 3 };
static sc_nginx_format shipped[N_SHIPPED]; /* compiled once, read-only afterwards */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *const text[N_SHIPPED] = {SC_NGINX_FORMAT_COMBINED, UPSTREAMLOG_DIRECTIVE,
                                                LLM_JSON_DIRECTIVE};
    for (int i = 0; i < N_SHIPPED; i++) {
        sc_accesslog_error err;
        if (sc_nginx_format_compile(text[i], strlen(text[i]), SC_NGINX_ESCAPE_DEFAULT, &shipped[i],
                                    &err) != 0)
            abort();
    }
    return 0;
}

static void parse_and_check(const sc_nginx_format *f, const char *line, size_t len)
{
    sc_accesslog_fields out;
    memset(&out, 0xA5, sizeof out); /* stands in for the previous line's leftovers */
    int rc = sc_nginx_format_parse(f, line, len, &out);
    if ((rc == 0) != (out.reason == SC_ACCESSLOG_OK))
        abort();
    for (int i = 0; rc == 0 && i < SC_ACCESSLOG_FIELD__COUNT; i++) {
        volatile char sink = 0; /* every decoded byte must be readable */
        for (size_t k = 0; sc_accesslog_has(&out, (sc_accesslog_field)i) && k < out.v[i].n; k++)
            sink ^= out.v[i].p[k];
        (void)sink;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned mode = data[0] % 4;
    const char *rest = (const char *)data + 1;
    size_t n = size - 1;
    if (mode == 3) {
        for (int i = 0; i < N_SHIPPED; i++)
            parse_and_check(&shipped[i], rest, n);
        return 0;
    }
    const char *sep = memchr(rest, '\0', n);
    size_t fmt_len = sep ? (size_t)(sep - rest) : n;
    /* Heap copies of exact size, so ASan sees a read past either end. */
    char *fmt = malloc(fmt_len ? fmt_len : 1);
    if (fmt == NULL)
        return 0;
    memcpy(fmt, rest, fmt_len);
    sc_nginx_format *f = malloc(sizeof *f);
    sc_accesslog_error err = {0};
    int rc = f ? sc_nginx_format_compile(fmt, fmt_len, (sc_nginx_escape)mode, f, &err) : -ENOMEM;
    if ((rc == -EINVAL || rc == -E2BIG) && (err.msg == NULL || err.pos > fmt_len))
        abort(); /* an error names what and where, inside the text */
    if (rc == 0 && sep) {
        size_t line_len = n - fmt_len - 1;
        char *line = malloc(line_len ? line_len : 1);
        if (line != NULL) {
            memcpy(line, sep + 1, line_len);
            parse_and_check(f, line, line_len);
            free(line);
        }
    }
    free(f);
    free(fmt);
    return 0;
}
