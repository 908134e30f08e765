/* fuzz_http_request.c - libFuzzer target: the health endpoint's HTTP/1.x request-head parser
 * (sc_http_request_parse), incrementally as the server runs it: the server re-parses its buffer
 * after every read, so every prefix of a complete head must read as "more needed" (or the same
 * error), a complete head must parse to the same length with any bytes after it, and every slice
 * must lie inside the buffer.
 *
 * Input: byte 0 picks max_head; the rest is what the client sent. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "health/http_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const char *buf, size_t len, const char *p, size_t n)
{
    if (p == NULL ? n != 0 : (p < buf || p + n > buf + len))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const size_t max_heads[] = {8192, 64, 1024, 16, 1u << 20, SIZE_MAX};
    size_t max_head = max_heads[data[0] % (sizeof max_heads / sizeof max_heads[0])];
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;

    sc_http_request r;
    int rc = sc_http_request_parse(buf, len, max_head, &r);
    if (rc != 0 && rc != -EBADMSG && rc != -E2BIG && rc <= 0)
        abort();
    if (rc > 0) {
        size_t head = (size_t)rc;
        if (head > len || head > max_head)
            abort();
        inside(buf, head, r.method, r.method_len);
        inside(buf, head, r.target, r.target_len);
        if (!(r.path_len == 1 && r.path[0] == '/')) /* the documented "/" of an empty path */
            inside(buf, head, r.path, r.path_len);
        inside(buf, head, r.query, r.query_len);
        inside(buf, head, r.content_length, r.content_length_len);
        inside(buf, head, r.transfer_encoding, r.transfer_encoding_len);
        inside(buf, head, r.connection, r.connection_len);
        inside(buf, head, r.host, r.host_len);
        if (r.method_len == 0 || r.version_minor > 1 || r.header_count > SC_HTTP_MAX_HEADERS)
            abort();
        /* The head alone parses to the same length. */
        sc_http_request again;
        if (sc_http_request_parse(buf, head, max_head, &again) != rc)
            abort();
    }
    /* A few prefixes, at offsets taken from the input: each is "more needed" up to the end of a
     * complete head; an error seen in a prefix is the answer for the whole buffer too. */
    for (size_t i = 0; i < 4 && i < len; i++) {
        size_t cut = (size_t)(unsigned char)buf[i] * 7 % (len + 1);
        sc_http_request pr;
        int prc = sc_http_request_parse(buf, cut, max_head, &pr);
        if (rc > 0 && (cut < (size_t)rc ? prc != 0 : prc != rc))
            abort();
        if (prc < 0 && rc != prc)
            abort();
    }
    return 0;
}
