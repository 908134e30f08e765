/* checkpoint.h - owns: the tailer's saved position: its identity record, the on-disk format,
 * the FNV-1a hash that fingerprints file contents, the atomic store, and the asynchronous,
 * coalesced, rate-limited writer.
 *
 * Identity. (st_dev, st_ino) alone is not enough: inode numbers are reused as soon as a file is
 * deleted, and two files may well start with the same first line. So a record also carries the
 * FNV-1a hash of the (up to SC_CHECKPOINT_HASH_BYTES) bytes just BEFORE the saved offset, and of
 * the file's first (up to SC_CHECKPOINT_HASH_BYTES) bytes. A file "is" the checkpointed one when
 * its dev+ino match, it is at least `offset` bytes long and both hashes match its contents; a
 * sibling whose hashes match but whose inode differs is a COPY of it (copy-and-truncate).
 *
 * Format: a small text file, one "key value" per line, ending with a hash of everything before
 * it (a torn or hand-edited file is refused, not half-believed). The followed path ("subject")
 * is stored so a checkpoint written for another path is never applied to this one.
 *
 * Durability: sc_checkpoint_store writes "<file>.tmp" in the same directory, fsyncs it, renames
 * it over <file> and fsyncs the directory: after a crash the file holds the old or the new
 * record, never a mix. The writer runs that on the libuv threadpool as ONE uv_queue_work (rather
 * than a chain of six uv_fs_* requests: same threads, one completion to handle); one write in
 * flight; the newest record wins; at most one write per min_interval_ms (the first write and the
 * final one at close are not delayed). */
#ifndef SC_ACCESSLOG_CHECKPOINT_H
#define SC_ACCESSLOG_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "core/env.h"

#define SC_CHECKPOINT_HASH_BYTES 256
#define SC_CHECKPOINT_FNV_INIT   0xcbf29ce484222325ull
#define SC_CHECKPOINT_MAX_BYTES  8192 /* an encoded record never exceeds this */
#define SC_CHECKPOINT_PATH_MAX   4096 /* longest subject, NUL included */

typedef struct sc_checkpoint_rec {
    uint64_t dev, ino;
    uint64_t offset;    /* resume here: everything before it was acknowledged */
    uint64_t hash;      /* FNV-1a of the hash_len bytes ending at offset */
    uint32_t hash_len;  /* min(offset, SC_CHECKPOINT_HASH_BYTES) */
    uint64_t head_hash; /* FNV-1a of the file's first head_len bytes */
    uint32_t head_len;  /* 0..SC_CHECKPOINT_HASH_BYTES (0: not known) */
} sc_checkpoint_rec;

/* 64-bit FNV-1a, streaming: start with SC_CHECKPOINT_FNV_INIT, feed pieces in order. */
uint64_t sc_checkpoint_fnv1a(uint64_t h, const void *p, size_t n);

/* Encodes rec for `subject` (NUL-terminated, no LF) into out[0..cap). Returns the length, or
 * -EINVAL (bad subject or hash_len/head_len) or -ENOBUFS. */
int sc_checkpoint_encode(const sc_checkpoint_rec *rec, const char *subject, char *out, size_t cap);

/* Decodes p[0..len); the subject is copied NUL-terminated into subject[0..subject_cap).
 * 0 or -EINVAL (malformed, wrong version, bad sum, subject does not fit). */
int sc_checkpoint_decode(const char *p, size_t len, sc_checkpoint_rec *out, char *subject,
                         size_t subject_cap);

/* BLOCKING (threadpool or before the loop runs). Reads and decodes `file`.
 * 0, -ENOENT (no checkpoint yet), -EINVAL (corrupt), or another negative errno. */
int sc_checkpoint_load(const char *file, sc_checkpoint_rec *out, char *subject, size_t subject_cap);

/* BLOCKING. Atomically replaces `file` with data[0..len) (tmp + fsync + rename + fsync dir).
 * 0 or a negative errno (the old file is then untouched; the tmp file is removed). */
int sc_checkpoint_store(const char *file, const char *data, size_t len);

typedef struct sc_checkpoint_writer sc_checkpoint_writer;

typedef struct sc_checkpoint_writer_stats {
    uint64_t writes;   /* records durably stored */
    uint64_t failures; /* store attempts that failed (retried with the newest record) */
} sc_checkpoint_writer_stats;

/* `file` and `subject` are copied; `env` must outlive the writer. min_interval_ms 0 means 1000.
 * 0, -EINVAL (empty file name, subject too long or containing LF) or -ENOMEM. */
int sc_checkpoint_writer_new(sc_checkpoint_writer **out, const sc_env *env, const char *file,
                             const char *subject, uint32_t min_interval_ms);

/* Records the newest state (copied). It is stored within min_interval_ms of the previous write;
 * records set meanwhile are coalesced (only the newest is written). */
void sc_checkpoint_writer_set(sc_checkpoint_writer *w, const sc_checkpoint_rec *rec);

void sc_checkpoint_writer_get_stats(const sc_checkpoint_writer *w, sc_checkpoint_writer_stats *out);

/* Waits for the write in flight, then, if final_write and a record is still unwritten, stores it
 * at once; then frees the writer and calls cb(arg) (from a loop callback, never from inside this
 * call). NULL w: nothing happens and cb is not called. */
void sc_checkpoint_writer_close(sc_checkpoint_writer *w, int final_write, void (*cb)(void *arg),
                                void *arg);

#endif
