/* http_response.h - owns: the health listener's HTTP/1.1 response head, as pure functions (the
 * counterpart of http_request.h): status line with its reason phrase, Content-Type,
 * Content-Length, Connection: close and, for 405, Allow. */
#ifndef SC_HEALTH_HTTP_RESPONSE_H
#define SC_HEALTH_HTTP_RESPONSE_H

#include <stddef.h>

#include "core/buf.h"

/* A head never exceeds this when its content type passed sc_http_response_content_type_ok. */
#define SC_HTTP_RESPONSE_HEAD_MAX  512
#define SC_HTTP_RESPONSE_CTYPE_MAX 200

/* Appends the head (ending in the blank line) to b. allow adds "Allow: GET, HEAD". 0 or the
 * sc_buf error (-ENOBUFS when b is full). */
int sc_http_response_head(sc_buf *b, int status, const char *ctype, size_t body_len, int allow);

/* True when ctype may go into a head: non-empty, at most SC_HTTP_RESPONSE_CTYPE_MAX bytes, no
 * control characters (CR/LF would let a handler inject header lines). */
int sc_http_response_content_type_ok(const char *ctype);

#endif
