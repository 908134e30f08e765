/* http_request.h - owns: parsing one HTTP/1.x request head (request line + header fields + the
 * blank line) out of a byte range. Pure: no allocation, no I/O, no state between calls, so the
 * server re-parses its whole input buffer after every read and a fuzzer can call it on anything.
 *
 * Strict where a health endpoint can afford to be: token characters in the method and header
 * names, no control characters or spaces in the target, exactly one SP between request-line parts,
 * only HTTP/1.0 and HTTP/1.1, no whitespace before a header colon, no obsolete line folding, at
 * most SC_HTTP_MAX_HEADERS fields. Line ends are CRLF, a bare LF is accepted too (RFC 9112 2.2);
 * a CR not followed by LF is malformed. Malformed bytes are reported as soon as they are seen,
 * even before the head is complete, so garbage is rejected without waiting for a timeout. */
#ifndef SC_HEALTH_HTTP_REQUEST_H
#define SC_HEALTH_HTTP_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#define SC_HTTP_MAX_HEADERS 64

/* Every slice points into the caller's buffer and is valid while that buffer is. A header slice
 * is NULL (length 0) when the header is absent; values have surrounding whitespace trimmed. */
typedef struct sc_http_request {
    const char *method;
    size_t method_len;
    const char *target; /* the request-target exactly as sent */
    size_t target_len;
    /* The path of the target, without the query. For an absolute-form target
     * ("http://host:port/p?q") the scheme and authority are dropped, and an empty path is "/". */
    const char *path;
    size_t path_len;
    const char *query; /* after '?', possibly empty; NULL when the target has no '?' */
    size_t query_len;
    unsigned version_minor; /* 0 or 1 (HTTP/1.0, HTTP/1.1) */
    unsigned header_count;
    const char *content_length; /* 1*DIGIT, checked; a repeated Content-Length is malformed */
    size_t content_length_len;
    uint64_t content_length_value; /* parsed value when content_length != NULL */
    const char *transfer_encoding; /* first occurrence */
    size_t transfer_encoding_len;
    const char *connection; /* first occurrence */
    size_t connection_len;
    const char *host; /* a repeated Host is malformed */
    size_t host_len;
} sc_http_request;

/* Parses the head at the start of buf[0..len). `buf` is borrowed (may be NULL when len is 0);
 * `out` is always overwritten and only meaningful when the result is > 0.
 * Returns:
 *   > 0       the head is complete and is that many bytes long (blank line included); bytes after
 *             it (a body, a pipelined request) are not looked at;
 *   0         valid so far, more bytes are needed;
 *   -EBADMSG  malformed;
 *   -E2BIG    the head would be longer than max_head bytes (also: more than SC_HTTP_MAX_HEADERS
 *             fields). Only the first max_head bytes are examined; max_head above INT_MAX is
 *             treated as INT_MAX so the length always fits the return type;
 *   -EINVAL   buf is NULL with len > 0, or out is NULL. */
int sc_http_request_parse(const char *buf, size_t len, size_t max_head, sc_http_request *out);

#endif
