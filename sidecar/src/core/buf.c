/* buf.c - owns: sc_buf growth (doubling, clamped to the cap). */
#include "core/buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void sc_buf_init(sc_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

int sc_buf_reserve(sc_buf *b, size_t n)
{
    if (n > b->max || b->len > b->max - n)
        return -ENOBUFS;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (cap > b->max + 1)
            cap = b->max + 1;
        char *d = realloc(b->data, cap);
        if (d == NULL)
            return -ENOMEM;
        b->data = d;
        b->cap = cap;
    }
    return 0;
}

int sc_buf_append(sc_buf *b, const void *p, size_t n)
{
    int rc = sc_buf_reserve(b, n);
    if (rc != 0)
        return rc;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int sc_buf_append_str(sc_buf *b, const char *s)
{
    return sc_buf_append(b, s, strlen(s));
}

void sc_buf_reset(sc_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

void sc_buf_free(sc_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}
