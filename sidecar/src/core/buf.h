/* buf.h - owns: sc_buf, a growable byte buffer with a hard cap fixed at init (curl's dynbuf idea).
 *
 * Every buffer that grows with outside input is an sc_buf, so "how big can this get" always has
 * one answer. Appending past the cap fails with -ENOBUFS and leaves the contents unchanged. */
#ifndef SC_CORE_BUF_H
#define SC_CORE_BUF_H

#include <stddef.h>

typedef struct sc_buf {
    char *data; /* NUL-terminated after every successful append; NULL until the first one */
    size_t len;
    size_t cap; /* allocated bytes */
    size_t max; /* hard limit on len */
} sc_buf;

void sc_buf_init(sc_buf *b, size_t max);

/* Returns 0, -ENOBUFS when len + n would pass max, or -ENOMEM. */
int sc_buf_append(sc_buf *b, const void *p, size_t n);
int sc_buf_append_str(sc_buf *b, const char *s);

/* Makes room for n more bytes (and the NUL) with at most one reallocation, so a writer that knows
 * its size can fill data + len directly. len and the contents are unchanged. Returns 0, -ENOBUFS
 * when len + n would pass max, or -ENOMEM. */
int sc_buf_reserve(sc_buf *b, size_t n);

/* Empties the buffer, keeping its allocation for reuse. */
void sc_buf_reset(sc_buf *b);

/* Frees the allocation; the buffer may be reused after sc_buf_init. Accepts a zeroed buffer. */
void sc_buf_free(sc_buf *b);

#endif
