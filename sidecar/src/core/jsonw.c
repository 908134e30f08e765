/* jsonw.c - owns: JSON string escaping with UTF-8 validation. */
#include "core/jsonw.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if the bytes are not valid UTF-8. */
static size_t utf8_seq_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if ((c & 0xe0) == 0xc0) {
        len = 2;
        cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3;
        cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

int sc_jsonw_str(sc_buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    int rc = sc_buf_append(b, "\"", 1);
    size_t run = 0; /* start of the pending run of bytes that need no escaping */
    for (size_t i = 0; rc == 0 && i < n;) {
        unsigned char c = p[i];
        const char *esc = NULL;
        char ubuf[8];
        size_t seq = 1;
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c < 0x20 || c == 0x7f) {
            snprintf(ubuf, sizeof ubuf, "\\u%04x", c);
            esc = ubuf;
        } else if (c >= 0x80) {
            seq = utf8_seq_len(p + i, n - i);
            if (seq == 0) {
                esc = "\\ufffd";
                seq = 1;
            }
        }
        if (esc == NULL) {
            i += seq;
            continue;
        }
        rc = sc_buf_append(b, s + run, i - run);
        if (rc == 0)
            rc = sc_buf_append_str(b, esc);
        i += seq;
        run = i;
    }
    if (rc == 0)
        rc = sc_buf_append(b, s + run, n - run);
    if (rc == 0)
        rc = sc_buf_append(b, "\"", 1);
    return rc;
}

int sc_jsonw_cstr(sc_buf *b, const char *s)
{
    return s ? sc_jsonw_str(b, s, strlen(s)) : sc_buf_append_str(b, "null");
}

int sc_jsonw_i64(sc_buf *b, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRId64, v);
    return sc_buf_append(b, tmp, (size_t)n);
}

int sc_jsonw_u64(sc_buf *b, uint64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRIu64, v);
    return sc_buf_append(b, tmp, (size_t)n);
}

int sc_jsonw_double(sc_buf *b, double v)
{
    if (!isfinite(v))
        return sc_buf_append_str(b, "null");
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%.17g", v);
    /* Shorter form when it round-trips, so 0.25 prints as 0.25 and not 0.25000000000000000. */
    for (int prec = 1; prec < 17; prec++) {
        char t2[32];
        int m = snprintf(t2, sizeof t2, "%.*g", prec, v);
        if (strtod(t2, NULL) == v) {
            memcpy(tmp, t2, (size_t)m + 1);
            n = m;
            break;
        }
    }
    return sc_buf_append(b, tmp, (size_t)n);
}

int sc_jsonw_raw(sc_buf *b, const char *s)
{
    return sc_buf_append_str(b, s);
}
