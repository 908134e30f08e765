/* gzip.h - owns: gzip-compressing an export payload into a bounded sc_buf (zlib deflate with the
 * gzip wrapper, as OTLP/HTTP's Content-Encoding: gzip expects), and a deflate state that can be
 * kept across payloads.
 *
 * deflateInit2 allocates five blocks (state, window, hash chains, pending buffer) and deflateEnd
 * frees them; a sender that compresses every request keeps one sc_gzip per payload slot and
 * deflateReset()s it instead, so steady-state compression allocates nothing. */
#ifndef SC_EXPORT_GZIP_H
#define SC_EXPORT_GZIP_H

#include <stddef.h>
#include <zlib.h>

#include "core/buf.h"

typedef struct sc_gzip {
    z_stream zs;
    int ready; /* zs is set up, for `level` */
    int level;
} sc_gzip;

/* An empty state (nothing allocated until the first sc_gzip_deflate). */
void sc_gzip_init(sc_gzip *z);

/* Appends the gzip stream of (in, n) to out, reusing z's deflate state (set up on first use or
 * when level changes). level: 1 (fast) .. 9, or -1 for zlib's default. out grows at most once
 * when its cap allows deflate's worst case. Returns 0, -ENOBUFS when out's cap is reached,
 * -ENOMEM, or -EIO for a zlib failure; on failure out's length may have grown (callers reset it).
 */
int sc_gzip_deflate(sc_gzip *z, const void *in, size_t n, int level, sc_buf *out);

/* Frees z's deflate state; z may be used again after sc_gzip_init. Accepts an unused state. */
void sc_gzip_free(sc_gzip *z);

/* One-shot sc_gzip_deflate with a temporary state. */
int sc_gzip_compress(const void *in, size_t n, int level, sc_buf *out);

#endif
