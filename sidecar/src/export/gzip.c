/* gzip.c - owns: the deflate loop. */
#include "export/gzip.h"

#include <errno.h>
#include <stdint.h>
#include <zlib.h>

int sc_gzip_compress(const void *in, size_t n, int level, sc_buf *out)
{
    z_stream zs = {0};
    /* windowBits 15 + 16 selects the gzip wrapper; memLevel 8 is zlib's default. */
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    int rc = 0;
    unsigned char chunk[16384];
    int zrc;
    do {
        zs.next_out = chunk;
        zs.avail_out = sizeof chunk;
        zrc = deflate(&zs, Z_FINISH);
        if (zrc == Z_STREAM_ERROR) {
            rc = -EIO;
            break;
        }
        rc = sc_buf_append(out, chunk, sizeof chunk - zs.avail_out);
    } while (rc == 0 && zrc != Z_STREAM_END);
    deflateEnd(&zs);
    return rc;
}
