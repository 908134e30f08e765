/* tail.h - owns: sc_tail, the access-log FILE FOLLOWER: bytes of a file that is appended to,
 * rotated, truncated, deleted and recreated become complete lines with stable positions, at least
 * once, with a checkpoint that survives restarts.
 *
 * Truth and hints. inotify (uv_fs_event on the path's directory, and on the resolved file's
 * directory when the path is a symlink into another one) is only a hint that something may have
 * changed. The truth is fstat on the open descriptors and stat on the path, taken by a "probe"
 * that runs on every hint AND on a reconcile timer, so a missed or overflowed event (or a
 * filesystem without inotify: overlay, NFS, FUSE) delays lines but never loses them:
 *   - the open file shrank, or the bytes just before our offset (or its first bytes) changed:
 *     truncated -> look for a copy (below), then restart at offset 0;
 *   - the path now names another inode (symlinks are resolved at every probe): rotated -> open
 *     the new file, keep the old one open and read it to its end first;
 *   - a file's link count is 0: deleted -> read it to its end, then close it.
 * A rotated file stays open until it is read to its end and (unless deleted or a copy) has not
 * grown for rotate_wait_ms (writers such as nginx keep writing to the renamed file until they are
 * told to reopen). Lines are delivered oldest file first; the one exception is an unfinished last
 * line of a rotated file, which is delivered (flagged PARTIAL) when that file is dropped.
 *
 * Copy-and-truncate (logrotate copytruncate): when the followed file is truncated, the probe looks
 * among the rotated siblings (rotated_glob) for a file whose first bytes and whose bytes just
 * before our offset match what we read: that is the copy, and we read it from our offset to its
 * end before restarting the truncated file at 0. WHAT IT CAN STILL LOSE: lines the writer appends
 * after the copy was taken and before the truncation are in neither file - no tailer can see them
 * (logrotate's own documentation says so). Also lost: the rest of the file when no copy matches
 * (compressed at once, renamed outside rotated_glob, or more than max_files files open); a
 * partial last line held at the moment of a truncation without copy.
 *
 * Nothing blocks the loop: every filesystem call that can wait on a disk (open, stat, fstat,
 * pread for hashes, glob, realpath, reads) runs on the libuv threadpool - reads with uv_fs_read,
 * the rest in one uv_queue_work "probe" per check. At most ONE such operation per tailer is in
 * flight, which also makes the state simple: the set of open files only changes on the loop
 * thread between operations, so a descriptor is never closed under a running read. Inline on the
 * loop: close() of a read-only descriptor (no I/O) and inotify_add_watch on a directory the last
 * probe just resolved (hot in the dentry cache).
 *
 * Lines: LF-terminated, one CR before the LF stripped. Read in read_block blocks and split with
 * memchr; lines are slices of the read buffer (no copy, no malloc per line), valid only during
 * on_lines. A partial last line is held until its LF arrives, or emitted (flags PARTIAL) after
 * partial_flush_ms without new bytes; bytes written later up to the next LF then form a new line
 * (see linebuf.h). Lines longer than max_line are skipped to their LF and counted (too_long).
 *
 * Start position: a file present at start with no usable checkpoint is read from its beginning or
 * from its end (at the start of its last, possibly unfinished, line) per `start`. Files that
 * appear later (created, rotated in, or the path missing at start) are read from offset 0: all of
 * their contents were written after we started.
 *
 * At least once. Every line carries seq (per tailer, +1 per line across files and rotations).
 * The consumer calls sc_tail_ack(t, seq) once everything made from lines <= seq was accepted
 * downstream; the tailer maps that to (file identity, offset) and checkpoints it. Lines are
 * tracked per on_lines batch (one ring entry per batch, max_pending entries): the checkpoint
 * advances to the end of the last batch ALL of whose lines are acknowledged, so after a crash up
 * to one batch more than strictly necessary is read again (duplicates, never losses). When the
 * ring is full, delivery stops (and with it reading) until acks arrive. After a clean stop
 * (everything delivered acknowledged, sc_tail_close with final_checkpoint) nothing is repeated.
 *
 * Checkpoint at start (see checkpoint.h for the identity): if the path's file is the checkpointed
 * one (same dev+ino and matching hashes; or, with a different inode, a full 256-byte head and the
 * bytes before the offset matching - the device number of overlay filesystems changes across
 * mounts), resume at the offset. Otherwise look among the rotated siblings for it (same inode, or
 * a copy with matching hashes); if found, read it from the offset to its end, then the path's file
 * from 0. If it is nowhere, the path's file is read from 0: it was created after the checkpointed
 * file went away (rotation, delete+recreate, or inode reuse: same dev+ino, different hashes), and
 * a file created after the acknowledged one has had none of its lines acknowledged. A checkpoint
 * for another path, or a corrupt one, is ignored (logged) and `start` applies.
 * Known limits: if the file was rotated MORE than once while we were stopped, only the
 * checkpointed file and the path's file are read (the ones in between are not); a file rewritten
 * in place (not appended to) looks truncated and is read again from 0.
 *
 * Backpressure: sc_tail_pause stops delivery (mid-batch) and reading; the file is the buffer.
 *
 * Loop-thread only. on_lines may call sc_tail_ack, _pause, _resume, _get_stats and _close (after
 * _close no further lines are delivered); it must not free anything the tailer owns. */
#ifndef SC_ACCESSLOG_TAIL_H
#define SC_ACCESSLOG_TAIL_H

#include <stddef.h>
#include <stdint.h>

#include "core/env.h"

#define SC_TAIL_DEFAULT_READ_BLOCK       (64u * 1024)
#define SC_TAIL_DEFAULT_MAX_LINE         (32u * 1024)
#define SC_TAIL_DEFAULT_MAX_BATCH        512
#define SC_TAIL_DEFAULT_MAX_PENDING      1024
#define SC_TAIL_DEFAULT_MAX_FILES        8
#define SC_TAIL_DEFAULT_RECONCILE_MS     1000
#define SC_TAIL_DEFAULT_POLL_MS          250
#define SC_TAIL_DEFAULT_ROTATE_WAIT_MS   5000
#define SC_TAIL_DEFAULT_PARTIAL_FLUSH_MS 5000
#define SC_TAIL_DEFAULT_CHECKPOINT_MS    1000

typedef struct sc_tail sc_tail; /* opaque */

typedef enum { SC_TAIL_START_END = 0, SC_TAIL_START_BEGINNING } sc_tail_start_pos;

#define SC_TAIL_LINE_PARTIAL 1u /* emitted by the idle timeout, without its LF */

typedef struct sc_tail_line {
    const char *p; /* no LF, no trailing CR; NOT NUL-terminated; valid during on_lines only */
    size_t len;
    uint64_t seq; /* >= 1, +1 per line */
    uint64_t dev; /* identity of the file the line came from */
    uint64_t ino;
    uint64_t end_off; /* offset in that file just past the line */
    unsigned flags;   /* SC_TAIL_LINE_* */
} sc_tail_line;

/* lines[0..n) (n >= 1) are valid during the call only. */
typedef void (*sc_tail_lines_fn)(void *arg, const sc_tail_line *lines, size_t n);

typedef struct sc_tail_opts {
    const char *path; /* followed path (may be a symlink); copied; required */
    /* Where rotated siblings live, as a glob(3) pattern (braces allowed). Without a '/', it is
     * relative to the directory of the RESOLVED file. NULL: "<resolved>.*" and "<resolved>-*"
     * (access.log.1, access.log.2.gz, access.log-20250101). Copied. */
    const char *rotated_glob;
    /* NULL: no checkpoint (sc_tail_ack still frees the ring). Copied. */
    const char *checkpoint_path;
    sc_tail_start_pos start;         /* for a file present at start with no usable checkpoint */
    int no_inotify;                  /* 1: poll only (reconcile every poll_interval_ms) */
    uint32_t poll_interval_ms;       /* probe period without inotify; 0: default */
    uint32_t reconcile_interval_ms;  /* probe period with inotify; 0: default */
    uint32_t rotate_wait_ms;         /* keep a drained rotated file open this long; 0: default */
    uint32_t partial_flush_ms;       /* 0: default; UINT32_MAX: never flush partial lines */
    uint32_t checkpoint_interval_ms; /* at most one checkpoint write per interval; 0: default */
    size_t read_block;               /* bytes per read (4 KiB..16 MiB); 0: default */
    size_t max_line;                 /* 0: default */
    size_t max_batch;                /* lines per on_lines call; 0: default */
    size_t max_pending;              /* unacknowledged batches; 0: default */
    size_t max_files;                /* open files incl. rotated ones being drained (2..64) */
    int auto_ack;                    /* 1: a batch counts as acknowledged when on_lines returns */
    sc_tail_lines_fn on_lines;       /* required */
    void *arg;
} sc_tail_opts;

typedef struct sc_tail_stats {
    uint64_t lines;           /* delivered */
    uint64_t bytes;           /* read from files */
    uint64_t too_long;        /* lines skipped: longer than max_line */
    uint64_t partial_flushed; /* partial lines emitted by the idle timeout */
    uint64_t rotations;       /* the path switched to another file while one was open */
    uint64_t truncations;
    uint64_t copy_recoveries; /* truncations whose unread rest was read from the copy */
    uint64_t files_opened;
    uint64_t files_closed;
    uint64_t read_errors;
    uint64_t probes;         /* checks run (stat of the path, fstat of the open files) */
    uint64_t ack_ring_full;  /* times delivery stopped: max_pending batches unacknowledged */
    uint64_t files_deferred; /* checks that found a new file while max_files were open */
    uint64_t checkpoint_writes;
    uint64_t checkpoint_failures;
    uint64_t lag_bytes; /* bytes in open files not yet delivered (as of the last probe/read) */
    uint64_t last_seq;  /* highest seq delivered */
    uint64_t acked_seq; /* highest seq acknowledged */
    uint64_t pending;   /* unacknowledged batches in the ring */
    uint32_t open_files;
    int paused;           /* sc_tail_pause in effect */
    int waiting_for_acks; /* the ring is full: delivery stopped until acks arrive */
    int reading;          /* a read is in flight */
    int inotify;          /* inotify watches are active (else polling) */
} sc_tail_stats;

/* Validates and copies opts (NULL: -EINVAL), allocates every buffer (read block, batch array,
 * ring, per-probe state). Nothing is opened until sc_tail_start. 0, -EINVAL or -ENOMEM. */
int sc_tail_new(sc_tail **out, const sc_env *env, const sc_tail_opts *opts);

/* Loads the checkpoint and opens the file (asynchronously), starts watching. 0, -EALREADY, or a
 * negative errno from libuv. A missing file is not an error: it is waited for (logged once). */
int sc_tail_start(sc_tail *t);

/* Stop / restart delivery and reading. Idempotent. Probes continue, so stats stay current. */
void sc_tail_pause(sc_tail *t);
void sc_tail_resume(sc_tail *t);

/* Everything made from lines with seq <= `seq` was accepted downstream. Acks may come in any
 * grouping but never go backwards (an older seq is a no-op). 0, or -EINVAL (seq not delivered). */
int sc_tail_ack(sc_tail *t, uint64_t seq);

void sc_tail_get_stats(const sc_tail *t, sc_tail_stats *out);

/* Stops everything, waits for the operation in flight, closes the files, then (with
 * final_checkpoint) stores the acknowledged position at once, frees the tailer and calls cb(arg)
 * from a loop callback. Without final_checkpoint the last periodic checkpoint stays (as after a
 * crash). NULL t: nothing happens and cb is not called. */
void sc_tail_close(sc_tail *t, int final_checkpoint, void (*cb)(void *arg), void *arg);

#endif
