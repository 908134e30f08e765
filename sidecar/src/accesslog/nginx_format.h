/* nginx_format.h - owns: compiling an nginx `log_format` once into a matcher for that exact line
 * layout, and parsing lines with it into sc_accesslog_fields.
 *
 * Input to compile is either the format string itself (as nginx sees it after joining its quoted
 * parts, e.g. SC_NGINX_FORMAT_COMBINED) or a whole pasted directive:
 *     log_format llm escape=json '{"t":"$time_iso8601",' '"s":$status}';
 * A format is a sequence of literals and variables ($name or ${name}). At parse time each literal
 * must match exactly, and a variable's value runs up to the first place the WHOLE next literal
 * matches, with these refinements, because nginx escapes what it writes:
 *   - escape=default writes '"', '\\' and bytes outside 0x20..0x7E as \xHH, escape=json writes
 *     JSON escapes: a backslash always starts an escape, so the escaped byte never ends a value
 *     (a quoted variable ends at its closing quote even when the value had quotes);
 *   - $upstream_* lists keep their ", " and " : " separators ("503, 502 : 200");
 *   - $time_local keeps its inner space; an unquoted $request keeps "METHOD TARGET HTTP/x".
 * Values are unescaped afterwards (\xHH for default, JSON escapes for json, nothing for none).
 * A JSON layout (escape=json, '{"k":"$v",...}') is just another layout.
 *
 * Variables with a meaning here (others are matched and ignored):
 *   time:            $msec > $time_iso8601 > $time_local (best precision wins; "-" falls through)
 *   method, path:    $request_method; $request_uri > $uri > $document_uri; or split from $request
 *   status:          $status             duration:    $request_time (seconds)
 *   request_id:      $http_x_request_id > $request_id          traceparent: $http_traceparent
 *   upstream lists:  $upstream_status, $upstream_addr ($upstream_response_time etc. ignored)
 *   host:            $host > $http_host  server: $server_addr, $server_port
 *   LLM headers:     $upstream_http_x_llm_model, _input_tokens, _output_tokens, _retry_count,
 *                    _fallback_reason, _usage (see deploy/examples/nginx.conf)
 * Time is parsed with SC_TIMESTAMP_AUTO, which tells the three nginx time forms apart.
 * Parsing allocates nothing, keeps per-line state on the stack (about 2 KiB) and is linear in the
 * line length. */
#ifndef SC_ACCESSLOG_NGINX_FORMAT_H
#define SC_ACCESSLOG_NGINX_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "accesslog/fields.h"

/* nginx's built-in "combined" format. */
#define SC_NGINX_FORMAT_COMBINED                                                                   \
    "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent "             \
    "\"$http_referer\" \"$http_user_agent\""

#define SC_NGINX_FORMAT_MAX_TOKENS 128  /* literals + variables */
#define SC_NGINX_FORMAT_TEXT_BYTES 4096 /* joined literal text */

typedef enum {
    SC_NGINX_ESCAPE_DEFAULT = 0, /* escape=default */
    SC_NGINX_ESCAPE_JSON,        /* escape=json */
    SC_NGINX_ESCAPE_NONE         /* escape=none */
} sc_nginx_escape;

typedef struct sc_nginx_format_token {
    uint16_t off; /* literal: text in sc_nginx_format.text */
    uint16_t len; /* literal length; 0 for a variable */
    int8_t field; /* variable: sc_accesslog_field it feeds, or -1 */
    uint8_t kind; /* variable: value-scanning rule */
    uint8_t rank; /* variable: precedence within its field, lower wins */
    uint8_t slot; /* variable with a field: index into cand_* */
} sc_nginx_format_token;

/* A compiled format: self-contained, embeddable, copyable, read-only while parsing. Fields are
 * private. */
typedef struct sc_nginx_format {
    sc_accesslog_formats fmt;
    sc_accesslog_enc enc;
    uint32_t mapped;
    uint16_t n_tokens;
    uint16_t text_used;
    uint16_t n_cand;
    uint8_t cand_token[SC_NGINX_FORMAT_MAX_TOKENS]; /* variable tokens ordered by field, rank */
    sc_nginx_format_token tokens[SC_NGINX_FORMAT_MAX_TOKENS];
    char text[SC_NGINX_FORMAT_TEXT_BYTES];
} sc_nginx_format;

/* Compiles text (format or directive; the directive's escape= overrides `escape`).
 * 0, or -EINVAL / -E2BIG with *err (if non-NULL): message and byte offset into text. Errors:
 * empty format, bad variable name, unterminated ${, two variables with no literal between them,
 * an unterminated quoted part in a directive, an odd number of '"' in the layout (a quote that
 * is never closed), a required field (status, method, path) no variable provides, and limits. */
int sc_nginx_format_compile(const char *text, size_t n, sc_nginx_escape escape,
                            sc_nginx_format *out, sc_accesslog_error *err);

/* Parses one line (a trailing "\n" or "\r\n" is ignored). 0 with *out filled, or -EBADMSG with
 * out->reason set (EMPTY, LAYOUT_MISMATCH, BAD_REQUEST_LINE, BAD_* or MISSING_REQUIRED). */
int sc_nginx_format_parse(const sc_nginx_format *f, const char *line, size_t len,
                          sc_accesslog_fields *out);

#endif
