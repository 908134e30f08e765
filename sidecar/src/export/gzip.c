/* gzip.c - owns: the deflate loop and the reusable deflate state. */
#include "export/gzip.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

void sc_gzip_init(sc_gzip *z)
{
    memset(z, 0, sizeof *z);
}

void sc_gzip_free(sc_gzip *z)
{
    if (z->ready)
        deflateEnd(&z->zs);
    sc_gzip_init(z);
}

static int setup(sc_gzip *z, int level)
{
    if (z->ready && z->level == level)
        return deflateReset(&z->zs) == Z_OK ? 0 : -EIO;
    sc_gzip_free(z);
    /* windowBits 15 + 16 selects the gzip wrapper; memLevel 8 is zlib's default. */
    if (deflateInit2(&z->zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    z->ready = 1;
    z->level = level;
    return 0;
}

/* Straight into out's spare room when deflate's worst case fits the cap: one pass, no copy. */
static int deflate_in_place(z_stream *zs, sc_buf *out)
{
    uLong bound = deflateBound(zs, zs->avail_in);
    if (sc_buf_reserve(out, bound) != 0)
        return 1; /* not possible: take the chunked path */
    zs->next_out = (Bytef *)out->data + out->len;
    zs->avail_out = (uInt)bound;
    if (deflate(zs, Z_FINISH) != Z_STREAM_END)
        return -EIO;
    out->len += bound - zs->avail_out;
    out->data[out->len] = '\0';
    return 0;
}

static int deflate_chunked(z_stream *zs, sc_buf *out)
{
    unsigned char chunk[16384];
    int rc = 0, zrc;
    do {
        zs->next_out = chunk;
        zs->avail_out = sizeof chunk;
        zrc = deflate(zs, Z_FINISH);
        if (zrc == Z_STREAM_ERROR)
            return -EIO;
        rc = sc_buf_append(out, chunk, sizeof chunk - zs->avail_out);
    } while (rc == 0 && zrc != Z_STREAM_END);
    return rc;
}

int sc_gzip_deflate(sc_gzip *z, const void *in, size_t n, int level, sc_buf *out)
{
    int rc = setup(z, level);
    if (rc != 0)
        return rc;
    z->zs.next_in = (Bytef *)(uintptr_t)in;
    z->zs.avail_in = (uInt)n;
    rc = deflate_in_place(&z->zs, out);
    return rc == 1 ? deflate_chunked(&z->zs, out) : rc;
}

int sc_gzip_compress(const void *in, size_t n, int level, sc_buf *out)
{
    sc_gzip z;
    sc_gzip_init(&z);
    int rc = sc_gzip_deflate(&z, in, n, level, out);
    sc_gzip_free(&z);
    return rc;
}
