/* linebuf.c - owns: the line splitting state machine (carry, too-long skipping, CR stripping,
 * the empty-line swallow after a flush). See linebuf.h for the contract. */
#include "accesslog/linebuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE_LIMIT (64u * 1024 * 1024)

int sc_linebuf_init(sc_linebuf *lb, size_t max_line)
{
    memset(lb, 0, sizeof *lb);
    if (max_line == 0 || max_line > MAX_LINE_LIMIT)
        return -EINVAL;
    lb->carry = malloc(max_line + 1);
    if (lb->carry == NULL)
        return -ENOMEM;
    lb->max_line = max_line;
    return 0;
}

void sc_linebuf_free(sc_linebuf *lb)
{
    free(lb->carry);
    lb->carry = NULL;
    lb->carry_len = 0;
}

void sc_linebuf_reset(sc_linebuf *lb)
{
    lb->carry_len = 0;
    lb->skipping = 0;
    lb->after_flush = 0;
}

void sc_linebuf_skip_partial(sc_linebuf *lb)
{
    lb->carry_len = 0;
    lb->skipping = 1;
}

/* Applies the per-line rules (CR, length, swallow) and calls the sink. */
static int emit(sc_linebuf *lb, const char *p, size_t len, uint64_t end_off, sc_linebuf_sink sink,
                void *arg)
{
    int after_flush = lb->after_flush;
    lb->after_flush = 0;
    if (len > 0 && p[len - 1] == '\r')
        len--;
    if (len > lb->max_line) {
        lb->too_long++;
        return 0;
    }
    if (after_flush && len == 0)
        return 0;
    return sink(arg, p, len, end_off, 0);
}

/* The first LF of a block ends the held line (or the skipped one). */
static int finish_carry(sc_linebuf *lb, const char *p, size_t n, uint64_t end_off,
                        sc_linebuf_sink sink, void *arg)
{
    if (lb->skipping) {
        lb->skipping = 0;
        lb->after_flush = 0;
        return 0;
    }
    if (lb->carry_len + n > lb->max_line + 1) {
        lb->too_long++;
        lb->carry_len = 0;
        lb->after_flush = 0;
        return 0;
    }
    memcpy(lb->carry + lb->carry_len, p, n);
    size_t len = lb->carry_len + n;
    /* The slice stays valid: the carry is only written again by hold, after the caller is done. */
    lb->carry_len = 0;
    return emit(lb, lb->carry, len, end_off, sink, arg);
}

size_t sc_linebuf_feed(sc_linebuf *lb, const char *p, size_t n, uint64_t off, sc_linebuf_sink sink,
                       void *arg, int *stopped)
{
    size_t pos = 0;
    *stopped = 0;
    while (pos < n) {
        const char *nl = memchr(p + pos, '\n', n - pos);
        if (nl == NULL)
            break;
        size_t end = (size_t)(nl - p);
        uint64_t end_off = off + end + 1;
        int stop;
        if (lb->carry_len > 0 || lb->skipping)
            stop = finish_carry(lb, p + pos, end - pos, end_off, sink, arg);
        else
            stop = emit(lb, p + pos, end - pos, end_off, sink, arg);
        pos = end + 1;
        if (stop) {
            *stopped = 1;
            break;
        }
    }
    return pos;
}

void sc_linebuf_hold(sc_linebuf *lb, const char *p, size_t n, uint64_t off)
{
    if (n == 0)
        return;
    lb->carry_end = off + n;
    if (lb->skipping)
        return;
    if (lb->carry_len + n > lb->max_line + 1) {
        lb->too_long++;
        lb->carry_len = 0;
        lb->skipping = 1;
        return;
    }
    memcpy(lb->carry + lb->carry_len, p, n);
    lb->carry_len += n;
}

int sc_linebuf_flush(sc_linebuf *lb, sc_linebuf_sink sink, void *arg)
{
    if (lb->skipping || lb->carry_len == 0)
        return 0;
    size_t len = lb->carry_len;
    lb->carry_len = 0;
    lb->after_flush = 1;
    if (lb->carry[len - 1] == '\r')
        len--;
    if (len == 0)
        return 0;
    if (len > lb->max_line) {
        lb->too_long++;
        return 0;
    }
    sink(arg, lb->carry, len, lb->carry_end, 1);
    return 1;
}
