/* test_gzip.c - tests for export/gzip: output inflates back, the cap is honoured, and a reused
 * deflate state gives the bytes a fresh one does. */
#include <errno.h>
#include <string.h>
#include <zlib.h>

#include "export/gzip.h"
#include "harness.h"

static void round_trips(void)
{
    static char in[100000];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (char)("spans and metrics "[i % 18]);
    sc_buf out;
    sc_buf_init(&out, 1 << 20);
    REQUIRE(sc_gzip_compress(in, sizeof in, 1, &out) == 0);
    CHECK(out.len < sizeof in / 10);
    CHECK((unsigned char)out.data[0] == 0x1f && (unsigned char)out.data[1] == 0x8b);
    static char back[sizeof in];
    z_stream zs = {0};
    REQUIRE(inflateInit2(&zs, 15 + 16) == Z_OK);
    zs.next_in = (Bytef *)out.data;
    zs.avail_in = (uInt)out.len;
    zs.next_out = (Bytef *)back;
    zs.avail_out = sizeof back;
    CHECK_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
    CHECK_EQ(zs.total_out, sizeof in);
    inflateEnd(&zs);
    CHECK(memcmp(in, back, sizeof in) == 0);
    sc_buf_free(&out);
}

static void cap_is_an_error(void)
{
    static unsigned char noise[50000];
    unsigned x = 1;
    for (size_t i = 0; i < sizeof noise; i++) {
        x = x * 1103515245u + 12345u;
        noise[i] = (unsigned char)(x >> 16);
    }
    sc_buf out;
    sc_buf_init(&out, 1000);
    CHECK_EQ(sc_gzip_compress(noise, sizeof noise, 6, &out), -ENOBUFS);
    CHECK(out.len <= 1000);
    sc_buf_free(&out);
}

/* A state kept across payloads (deflateReset) gives the same bytes as a fresh one, whether out
 * has room for deflate's worst case (one pass in place) or only for the result (chunks), and
 * across a level change. */
static void reused_state_gives_the_same_bytes(void)
{
    static char in[60000];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (char)("resource spans scope "[(i * 7) % 21] + (i % 97 == 0));
    sc_gzip z;
    sc_gzip_init(&z);
    const size_t lens[] = {sizeof in, 1, 5000, sizeof in, 0};
    const int levels[] = {1, 1, 6, 1, 1};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        sc_buf fresh, reused;
        sc_buf_init(&fresh, 1 << 20);
        REQUIRE(sc_gzip_compress(in, lens[k], levels[k], &fresh) == 0);
        /* a cap the worst-case bound does not fit, the result does: the chunked path */
        sc_buf_init(&reused, k % 2 ? fresh.len : 1 << 20);
        CHECK_EQ(sc_gzip_deflate(&z, in, lens[k], levels[k], &reused), 0);
        CHECK_EQ(reused.len, fresh.len);
        CHECK(reused.len == fresh.len && memcmp(reused.data, fresh.data, fresh.len) == 0);
        sc_buf_free(&fresh);
        sc_buf_free(&reused);
    }
    sc_gzip_free(&z);
    sc_gzip_free(&z); /* a freed state may be freed again */
}

int main(void)
{
    RUN(round_trips);
    RUN(cap_is_an_error);
    RUN(reused_state_gives_the_same_bytes);
    return sc_test_summary();
}
