/* test_accesslog_linebuf.c - tests for accesslog/linebuf: splitting, offsets, carry across blocks,
 * CR stripping, too-long skipping, partial flush and the empty-line swallow, early stop. */
#include <errno.h>
#include <string.h>

#include "accesslog/linebuf.h"
#include "core/buf.h"
#include "harness.h"

typedef struct got {
    sc_buf text; /* "line|end_off|partial\n" per line */
    int n;
    int stop_after;
} got;

static int sink(void *arg, const char *p, size_t len, uint64_t end_off, int partial)
{
    got *g = arg;
    char tail[64];
    sc_buf_append(&g->text, p, len);
    snprintf(tail, sizeof tail, "|%llu%s\n", (unsigned long long)end_off, partial ? "|p" : "");
    sc_buf_append_str(&g->text, tail);
    g->n++;
    return g->stop_after > 0 && g->n == g->stop_after;
}

/* Feeds one block the way the tailer does: feed until done, then hold the rest. */
static void block(sc_linebuf *lb, got *g, const char *s, uint64_t off)
{
    size_t n = strlen(s), pos = 0;
    int stopped = 1;
    while (stopped) {
        pos += sc_linebuf_feed(lb, s + pos, n - pos, off + pos, sink, g, &stopped);
    }
    sc_linebuf_hold(lb, s + pos, n - pos, off + pos);
}

static const char *text(got *g)
{
    return g->text.data ? g->text.data : "";
}

static void splits_lines_across_blocks_with_offsets(void)
{
    sc_linebuf lb;
    got g = {0};
    sc_buf_init(&g.text, 4096);
    REQUIRE(sc_linebuf_init(&lb, 100) == 0);
    block(&lb, &g, "ab\ncd", 0);
    CHECK_EQ(sc_linebuf_pending(&lb), 2);
    block(&lb, &g, "e\nf\n", 5);
    block(&lb, &g, "g", 9);
    block(&lb, &g, "h", 10);
    block(&lb, &g, "i\n\n", 11);
    CHECK_STR(text(&g), "ab|3\ncde|7\nf|9\nghi|13\n|14\n");
    CHECK_EQ(lb.too_long, 0);
    sc_linebuf_free(&lb);
    sc_buf_free(&g.text);
}

static void strips_one_cr_even_split_from_its_lf(void)
{
    sc_linebuf lb;
    got g = {0};
    sc_buf_init(&g.text, 4096);
    REQUIRE(sc_linebuf_init(&lb, 100) == 0);
    block(&lb, &g, "a\r\nb\r", 0);
    block(&lb, &g, "\n\r\r\n", 5);
    CHECK_STR(text(&g), "a|3\nb|6\n\r|9\n");
    sc_linebuf_free(&lb);
    sc_buf_free(&g.text);
}

static void skips_too_long_lines_inside_and_across_blocks(void)
{
    sc_linebuf lb;
    got g = {0};
    sc_buf_init(&g.text, 4096);
    REQUIRE(sc_linebuf_init(&lb, 4) == 0);
    block(&lb, &g, "1234\n12345\n1234\r\nok\n", 0);
    CHECK_EQ(lb.too_long, 1);
    block(&lb, &g, "123", 20);
    block(&lb, &g, "45", 23); /* 5 bytes may still be 4 + CR */
    CHECK_EQ(lb.too_long, 1);
    CHECK_EQ(sc_linebuf_pending(&lb), 5);
    block(&lb, &g, "6789", 25); /* too long now: skipping */
    CHECK_EQ(lb.too_long, 2);
    CHECK_EQ(sc_linebuf_pending(&lb), 0);
    block(&lb, &g, "0\nyes\n", 29);
    CHECK_EQ(lb.too_long, 2); /* counted once per line */
    CHECK_STR(text(&g), "1234|5\n1234|17\nok|20\nyes|35\n");
    sc_linebuf_free(&lb);
    sc_buf_free(&g.text);
}

static void flush_emits_partial_and_swallows_the_bare_newline(void)
{
    sc_linebuf lb;
    got g = {0};
    sc_buf_init(&g.text, 4096);
    REQUIRE(sc_linebuf_init(&lb, 100) == 0);
    block(&lb, &g, "abc\r", 0);
    CHECK_EQ(sc_linebuf_flush(&lb, sink, &g), 1);
    CHECK_EQ(sc_linebuf_flush(&lb, sink, &g), 0); /* nothing held any more */
    block(&lb, &g, "\n", 4);                      /* the writer finishes the line: no blank */
    block(&lb, &g, "\n", 5);                      /* a real empty line is kept */
    block(&lb, &g, "de", 6);
    CHECK_EQ(sc_linebuf_flush(&lb, sink, &g), 1);
    block(&lb, &g, "f\n", 8); /* the rest of a flushed line is a line of its own */
    CHECK_STR(text(&g), "abc|4|p\n|6\nde|8|p\nf|10\n");
    sc_linebuf_free(&lb);
    sc_buf_free(&g.text);
}

static void stop_resumes_where_it_left_off(void)
{
    sc_linebuf lb;
    got g = {.stop_after = 2};
    sc_buf_init(&g.text, 4096);
    REQUIRE(sc_linebuf_init(&lb, 100) == 0);
    const char *s = "1\n2\n3\n4";
    int stopped;
    size_t used = sc_linebuf_feed(&lb, s, 7, 0, sink, &g, &stopped);
    CHECK_EQ(used, 4);
    CHECK_EQ(stopped, 1);
    g.stop_after = 0;
    used += sc_linebuf_feed(&lb, s + used, 7 - used, used, sink, &g, &stopped);
    CHECK_EQ(used, 6);
    CHECK_EQ(stopped, 0);
    CHECK_STR(text(&g), "1|2\n2|4\n3|6\n");
    sc_linebuf_free(&lb);
    sc_buf_free(&g.text);
}

static void skip_partial_and_binary_bytes(void)
{
    sc_linebuf lb;
    got g = {0};
    sc_buf_init(&g.text, 4096);
    REQUIRE(sc_linebuf_init(&lb, 100) == 0);
    sc_linebuf_skip_partial(&lb);
    block(&lb, &g, "ail\nnext\n", 100);
    CHECK_EQ(lb.too_long, 0);
    CHECK_STR(text(&g), "next|109\n");
    sc_buf_reset(&g.text);
    const char bin[] = {'\0', '\xff', '\n', '\x01', '\0', '\0', '\n'};
    int stopped;
    CHECK_EQ(sc_linebuf_feed(&lb, bin, sizeof bin, 0, sink, &g, &stopped), 7);
    CHECK_EQ(g.text.len, 2 + 3 + 3 + 3);
    CHECK(memcmp(g.text.data, "\0\xff|3\n\x01\0\0|7\n", 11) == 0);
    sc_linebuf_free(&lb);
    CHECK_EQ(sc_linebuf_init(&lb, 0), -EINVAL);
    sc_buf_free(&g.text);
}

int main(void)
{
    RUN(splits_lines_across_blocks_with_offsets);
    RUN(strips_one_cr_even_split_from_its_lf);
    RUN(skips_too_long_lines_inside_and_across_blocks);
    RUN(flush_emits_partial_and_swallows_the_bare_newline);
    RUN(stop_resumes_where_it_left_off);
    RUN(skip_partial_and_binary_bytes);
    return sc_test_summary();
}
