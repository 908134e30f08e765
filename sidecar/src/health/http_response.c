/* http_response.c - owns: formatting the health listener's response heads (see the header). */
#include "health/http_response.h"

#include <stdio.h>
#include <string.h>

static const char *reason(int status)
{
    static const struct {
        int status;
        const char *text;
    } reasons[] = {{200, "OK"},
                   {202, "Accepted"},
                   {400, "Bad Request"},
                   {404, "Not Found"},
                   {405, "Method Not Allowed"},
                   {413, "Content Too Large"},
                   {429, "Too Many Requests"},
                   {431, "Request Header Fields Too Large"},
                   {500, "Internal Server Error"},
                   {503, "Service Unavailable"}};
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (reasons[i].status == status)
            return reasons[i].text;
    return ""; /* the reason phrase may be empty (RFC 9112 4) */
}

int sc_http_response_head(sc_buf *b, int status, const char *ctype, size_t body_len, int allow)
{
    char line[160];
    int rc;
    snprintf(line, sizeof line, "HTTP/1.1 %d %s\r\nContent-Type: ", status, reason(status));
    if ((rc = sc_buf_append_str(b, line)) != 0 || (rc = sc_buf_append_str(b, ctype)) != 0)
        return rc;
    snprintf(line, sizeof line, "\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n", body_len,
             allow ? "Allow: GET, HEAD\r\n" : "");
    return sc_buf_append_str(b, line);
}

int sc_http_response_content_type_ok(const char *ctype)
{
    size_t len = strlen(ctype);
    if (len == 0 || len > SC_HTTP_RESPONSE_CTYPE_MAX)
        return 0;
    for (; *ctype != '\0'; ctype++) {
        unsigned char ch = (unsigned char)*ctype;
        if (ch < 0x20 || ch == 0x7f)
            return 0;
    }
    return 1;
}
