/* http_request.c - owns: the request-head grammar (RFC 9112 section 2-5, the subset a GET/HEAD
 * server needs) as a cursor over (ptr, len).
 *
 * Every step checks the cursor against the end before reading, and offsets are indices rather
 * than pointers, so a NULL buffer with len 0 and any byte sequence are both safe to feed. Each
 * step returns 0 (done), MORE (ran out of bytes while still valid) or a negative errno. */
#include "health/http_request.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#define MORE 1

typedef struct parser {
    const unsigned char *s;
    size_t n; /* bytes we may look at: min(len, max_head) */
    size_t i; /* cursor */
    sc_http_request *out;
} parser;

/* tchar from RFC 9110 5.6.2: the characters allowed in a method or a field name. */
static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Visible ASCII and obs-text: anything but controls, space and DEL. */
static int is_target_char(unsigned char c)
{
    return c > 0x20 && c != 0x7f;
}

/* field-value: VCHAR, obs-text, SP and HTAB (RFC 9110 5.5); no other controls, no bare CR. */
static int is_value_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int ieq(const unsigned char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (alen != blen)
        return 0;
    for (size_t k = 0; k < alen; k++) {
        unsigned char x = a[k], y = (unsigned char)b[k];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return 1;
}

static const char *at(const parser *p, size_t off)
{
    return (const char *)p->s + off;
}

/* CRLF or a bare LF. */
static int eol(parser *p)
{
    if (p->i >= p->n)
        return MORE;
    if (p->s[p->i] == '\n') {
        p->i++;
        return 0;
    }
    if (p->s[p->i] != '\r')
        return -EBADMSG;
    if (p->i + 1 >= p->n)
        return MORE;
    if (p->s[p->i + 1] != '\n')
        return -EBADMSG;
    p->i += 2;
    return 0;
}

/* Consumes a run of characters accepted by `ok`, which must be non-empty and end at `stop`. */
static int run_until(parser *p, int (*ok)(unsigned char), unsigned char stop, size_t *start)
{
    *start = p->i;
    while (p->i < p->n && ok(p->s[p->i]))
        p->i++;
    if (p->i >= p->n)
        return MORE;
    if (p->i == *start || p->s[p->i] != stop)
        return -EBADMSG;
    p->i++;
    return 0;
}

static int request_line(parser *p)
{
    static const char proto[] = "HTTP/1.";
    sc_http_request *r = p->out;
    size_t start;
    int rc;

    if ((rc = run_until(p, is_tchar, ' ', &start)) != 0)
        return rc;
    r->method_len = p->i - 1 - start;
    r->method = at(p, start);
    if ((rc = run_until(p, is_target_char, ' ', &start)) != 0)
        return rc;
    r->target_len = p->i - 1 - start;
    r->target = at(p, start);
    for (size_t k = 0; k < sizeof proto - 1; k++, p->i++) {
        if (p->i >= p->n)
            return MORE;
        if (p->s[p->i] != (unsigned char)proto[k])
            return -EBADMSG;
    }
    if (p->i >= p->n)
        return MORE;
    if (p->s[p->i] != '0' && p->s[p->i] != '1')
        return -EBADMSG;
    r->version_minor = (unsigned)(p->s[p->i] - '0');
    p->i++;
    return eol(p);
}

static int parse_content_length(const unsigned char *v, size_t len, uint64_t *out)
{
    uint64_t x = 0;
    if (len == 0)
        return -EBADMSG;
    for (size_t k = 0; k < len; k++) {
        if (v[k] < '0' || v[k] > '9')
            return -EBADMSG;
        unsigned d = (unsigned)(v[k] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return -EBADMSG;
        x = x * 10 + d;
    }
    *out = x;
    return 0;
}

static int record_header(parser *p, size_t name, size_t name_len, size_t val, size_t val_len)
{
    sc_http_request *r = p->out;
    const unsigned char *nm = p->s + name;

    if (ieq(nm, name_len, "content-length")) {
        if (r->content_length != NULL)
            return -EBADMSG; /* conflicting lengths are a request-smuggling vector */
        if (parse_content_length(p->s + val, val_len, &r->content_length_value) != 0)
            return -EBADMSG;
        r->content_length = at(p, val);
        r->content_length_len = val_len;
    } else if (ieq(nm, name_len, "host")) {
        if (r->host != NULL)
            return -EBADMSG; /* RFC 9112 3.2: more than one Host gets a 400 */
        r->host = at(p, val);
        r->host_len = val_len;
    } else if (ieq(nm, name_len, "transfer-encoding")) {
        if (r->transfer_encoding == NULL) {
            r->transfer_encoding = at(p, val);
            r->transfer_encoding_len = val_len;
        }
    } else if (ieq(nm, name_len, "connection")) {
        if (r->connection == NULL) {
            r->connection = at(p, val);
            r->connection_len = val_len;
        }
    }
    return 0;
}

/* name ":" OWS value OWS eol. A leading space (obs-fold) or a space before the colon fails the
 * name's token run, which is what RFC 9112 5.1/5.2 ask a server to reject. */
static int header_line(parser *p)
{
    size_t name, val, val_end;
    int rc;

    if (p->out->header_count >= SC_HTTP_MAX_HEADERS)
        return -E2BIG;
    if ((rc = run_until(p, is_tchar, ':', &name)) != 0)
        return rc;
    size_t name_len = p->i - 1 - name;
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t'))
        p->i++;
    val = val_end = p->i;
    while (p->i < p->n && is_value_char(p->s[p->i])) {
        if (p->s[p->i] != ' ' && p->s[p->i] != '\t')
            val_end = p->i + 1;
        p->i++;
    }
    if ((rc = eol(p)) != 0)
        return rc;
    p->out->header_count++;
    return record_header(p, name, name_len, val, val_end - val);
}

static int has_prefix_ci(const char *s, size_t len, const char *prefix)
{
    size_t plen = strlen(prefix);
    return len >= plen && ieq((const unsigned char *)s, plen, prefix);
}

/* Splits the target into path and query; absolute-form loses its scheme and authority. */
static void split_target(sc_http_request *r)
{
    const char *t = r->target;
    size_t len = r->target_len, k = 0;

    if (has_prefix_ci(t, len, "http://") || has_prefix_ci(t, len, "https://")) {
        k = (t[4] == ':') ? 7 : 8;
        while (k < len && t[k] != '/' && t[k] != '?')
            k++;
    }
    size_t path = k;
    while (k < len && t[k] != '?')
        k++;
    r->path = t + path;
    r->path_len = k - path;
    if (r->path_len == 0) {
        r->path = "/";
        r->path_len = 1;
    }
    if (k < len) {
        r->query = t + k + 1;
        r->query_len = len - k - 1;
    }
}

static int parse_head(parser *p)
{
    int rc = request_line(p);
    if (rc != 0)
        return rc;
    for (;;) {
        if (p->i >= p->n)
            return MORE;
        if (p->s[p->i] == '\r' || p->s[p->i] == '\n')
            return eol(p);
        if ((rc = header_line(p)) != 0)
            return rc;
    }
}

int sc_http_request_parse(const char *buf, size_t len, size_t max_head, sc_http_request *out)
{
    if (out == NULL)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    if (buf == NULL && len > 0)
        return -EINVAL;
    if (max_head > INT_MAX)
        max_head = INT_MAX;

    parser p = {.s = (const unsigned char *)buf, .n = len < max_head ? len : max_head, .out = out};
    int rc = parse_head(&p);
    if (rc != 0) {
        memset(out, 0, sizeof *out);
        return rc == MORE ? (len >= max_head ? -E2BIG : 0) : rc;
    }
    split_target(out);
    return (int)p.i;
}
