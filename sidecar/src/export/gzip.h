/* gzip.h - owns: gzip-compressing an export payload into a bounded sc_buf (zlib deflate with the
 * gzip wrapper, as OTLP/HTTP's Content-Encoding: gzip expects). */
#ifndef SC_EXPORT_GZIP_H
#define SC_EXPORT_GZIP_H

#include <stddef.h>

#include "core/buf.h"

/* Appends the gzip stream of (in, n) to out. level: 1 (fast) .. 9, or -1 for zlib's default.
 * Returns 0, -ENOBUFS when out's cap is reached, -ENOMEM, or -EIO for a zlib failure. */
int sc_gzip_compress(const void *in, size_t n, int level, sc_buf *out);

#endif
