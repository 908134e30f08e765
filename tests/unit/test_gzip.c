/* test_gzip.c - tests for export/gzip: output inflates back, and the cap is honoured. */
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

int main(void)
{
    RUN(round_trips);
    RUN(cap_is_an_error);
    return sc_test_summary();
}
