/* linebuf.h - owns: cutting a byte stream into lines. Pure: no I/O, no clock, one allocation (the
 * carry buffer) at init and none afterwards.
 *
 * Bytes arrive in blocks (whatever one read returned). A line is everything up to an LF; the LF
 * and one CR before it are not part of the line. Lines that lie wholly inside a block are handed
 * out as slices of that block (no copy); only the one line that straddles two blocks is copied,
 * into the carry buffer, whose size is fixed at init (max_line + 1 for a CR).
 *
 * Too long: a line longer than max_line bytes (CR excluded) is skipped up to its LF and counted in
 * too_long, whether it sits inside one block or spans many; memory never grows.
 *
 * Partial lines: bytes after the last LF are held (sc_linebuf_hold) until their LF arrives. A
 * caller that decides the writer will never finish the line calls sc_linebuf_flush, which hands
 * the held bytes out as a "partial" line. Bytes that arrive afterwards start a NEW line: a line
 * written in two parts with a long pause in between is delivered as two records (the second one
 * usually fails to parse and is counted by the parser). The one exception: if the very next
 * thing after a flush is an empty line (the writer only had the LF or CRLF left to write), that
 * empty line is swallowed instead of being delivered as a spurious blank record.
 *
 * Offsets: the caller says at which stream offset each block starts; every line carries the
 * offset just past its LF (for a flushed partial line: just past its last byte). */
#ifndef SC_ACCESSLOG_LINEBUF_H
#define SC_ACCESSLOG_LINEBUF_H

#include <stddef.h>
#include <stdint.h>

/* Receives one line: p[0..len) (not NUL-terminated; valid until the next sc_linebuf_hold,
 * sc_linebuf_flush or sc_linebuf_reset on the same linebuf, or until the caller's block goes
 * away, whichever is first). partial is 1 for a line emitted by sc_linebuf_flush. A nonzero
 * return stops sc_linebuf_feed after this line. */
typedef int (*sc_linebuf_sink)(void *arg, const char *p, size_t len, uint64_t end_off, int partial);

/* Embeddable; fields are read-only for callers except too_long, which a caller may reset after
 * harvesting it. */
typedef struct sc_linebuf {
    char *carry;        /* max_line + 1 bytes */
    size_t carry_len;   /* bytes of the held partial line */
    size_t max_line;    /* longest line delivered, CR and LF excluded */
    uint64_t carry_end; /* stream offset just past the held bytes */
    int skipping;       /* discarding the rest of a too-long line up to its LF */
    int after_flush;    /* a partial line was just flushed: swallow an immediately empty line */
    uint64_t too_long;  /* lines skipped because longer than max_line */
} sc_linebuf;

/* 0, -EINVAL (max_line 0 or absurdly large) or -ENOMEM. */
int sc_linebuf_init(sc_linebuf *lb, size_t max_line);
void sc_linebuf_free(sc_linebuf *lb); /* accepts a zeroed linebuf */

/* Forgets the held partial line and any skipping state (the stream restarts, e.g. truncation). */
void sc_linebuf_reset(sc_linebuf *lb);

/* The stream begins in the middle of a line (e.g. started at the end of a file whose last line is
 * still being written): discard up to the next LF without counting it as too long. */
void sc_linebuf_skip_partial(sc_linebuf *lb);

/* Emits every complete line of p[0..n) (n bytes starting at stream offset off) to sink, the held
 * partial line first. Returns the bytes consumed: up to and including the last LF handled. When
 * the sink stops it early, *stopped is 1 and the caller feeds the rest again later; otherwise
 * p[returned..n) contains no LF and the caller passes it to sc_linebuf_hold once it no longer
 * needs the slices it was given (holding may overwrite the carry buffer a slice points into). */
size_t sc_linebuf_feed(sc_linebuf *lb, const char *p, size_t n, uint64_t off, sc_linebuf_sink sink,
                       void *arg, int *stopped);

/* Holds p[0..n) (no LF in it; starting at stream offset off) as the partial last line, or
 * discards it if the line has become too long (counted once per line). */
void sc_linebuf_hold(sc_linebuf *lb, const char *p, size_t n, uint64_t off);

/* Emits the held partial line (CR stripped) as a partial line. Returns 1 if a line was emitted,
 * 0 if there was nothing to emit (nothing held, a too-long line being skipped, or only a CR). */
int sc_linebuf_flush(sc_linebuf *lb, sc_linebuf_sink sink, void *arg);

/* Bytes of the partial line held (0 when none). */
static inline size_t sc_linebuf_pending(const sc_linebuf *lb)
{
    return lb->carry_len;
}

#endif
