/* tail_internal.h - owns: the tailer's internal types, shared by its four files and by no one
 * else:
 *   tail.c       public API, lifecycle, the pump (which one operation runs next), applying
 *                probe results (rotation, truncation, path state), reaping drained files
 *   tail_file.c  one open file: reads, the hash window, line delivery in batches, the ack ring
 *   tail_probe.c the threadpool side: stat/fstat/open/pread/glob/realpath, checkpoint decision
 *   tail_watch.c inotify watches and the reconcile/poll timer
 * Every field is loop-thread only, except a tail_probe between submit and completion, which
 * belongs to the threadpool (the loop thread does not touch it then). */
#ifndef SC_ACCESSLOG_TAIL_INTERNAL_H
#define SC_ACCESSLOG_TAIL_INTERNAL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "accesslog/checkpoint.h"
#include "accesslog/linebuf.h"
#include "accesslog/tail.h"

#define TAIL_WIN SC_CHECKPOINT_HASH_BYTES

#define sc_tail_container_of(ptr, type, member)                                                    \
    ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

typedef struct tail_file {
    struct tail_file *prev, *next;
    int fd;
    uint64_t dev, ino;
    uint64_t size; /* last fstat, raised by reads that went further */
    uint64_t nlink;
    uint64_t read_pos;     /* next byte to read */
    uint64_t changed_ms;   /* rotation seen or last growth (rotate_wait counts from here) */
    uint64_t data_ms;      /* last bytes read (partial_flush_ms counts from here) */
    uint8_t win[TAIL_WIN]; /* the bytes just before read_pos */
    uint32_t win_len;
    uint64_t head_hash; /* of the first head_len bytes */
    uint32_t head_len;
    sc_linebuf lb;
    char *name;              /* the name it was opened under, for logs */
    unsigned at_path : 1;    /* the followed path names this file */
    unsigned is_copy : 1;    /* a copy found after copy-and-truncate: drop once drained */
    unsigned maybe_more : 1; /* a hint (event, full read) says there may be more to read */
    unsigned stalled : 1;    /* a read failed: wait for the next reconcile tick */
    unsigned recheck : 1;    /* truncation seen while a block was pending: probe again after */
    unsigned read_warned : 1;
} tail_file;

/* The read block being delivered (delivery can stop mid-block: pause, ring full). */
typedef struct tail_block {
    tail_file *f; /* NULL: nothing pending */
    size_t len, pos;
    uint64_t off;          /* file offset of buf[0] */
    uint8_t win[TAIL_WIN]; /* the file bytes just before off */
    uint32_t win_len;
} tail_block;

typedef struct tail_pending {
    uint64_t seq; /* last seq of the batch */
    sc_checkpoint_rec rec;
} tail_pending;

/* ---- probe (threadpool) --------------------------------------------------------------------- */

typedef enum {
    PATH_MISSING,
    PATH_NOT_REGULAR,
    PATH_ERROR,
    PATH_KNOWN,    /* names an open file: in[path_known] */
    PATH_OPENED,   /* a new file, opened: the last entry of nw[] */
    PATH_DEFERRED, /* a new file, not opened: max_files reached */
} tail_path_state;

typedef enum {
    CP_OFF,        /* no checkpoint configured */
    CP_ABSENT,     /* none stored yet */
    CP_BAD,        /* unreadable or corrupt */
    CP_OTHER_PATH, /* written for another path */
    CP_RESUMED,    /* the path's file is the checkpointed one */
    CP_SIBLING,    /* found among the rotated siblings (renamed or copied) */
    CP_GONE,       /* nowhere: the path's file is newer, read from 0 */
} tail_cp_state;

typedef struct probe_in {
    tail_file *f; /* identity only: never dereferenced off the loop thread */
    int fd;
    uint64_t dev, ino, read_pos;
    uint8_t win[TAIL_WIN];
    uint32_t win_len;
    uint64_t head_hash;
    uint32_t head_len;
    int at_path;
} probe_in;

typedef struct probe_out {
    int err; /* fstat failed */
    uint64_t size, nlink;
    int truncated; /* shrank below read_pos, or the bytes before it / the head changed */
    uint64_t head_hash;
    uint32_t head_len;
} probe_out;

typedef struct probe_new {
    int fd;
    uint64_t dev, ino, size, nlink, read_pos;
    uint8_t win[TAIL_WIN];
    uint32_t win_len;
    uint64_t head_hash;
    uint32_t head_len;
    int at_path, is_copy, skip_partial;
    int copy_of; /* index in in[] of the truncated file this copies, or -1 */
    char name[PATH_MAX];
} probe_new;

typedef struct tail_probe {
    uv_work_t work;
    sc_tail *t;
    /* inputs */
    int first;   /* start-up: checkpoint decision and start position */
    size_t room; /* files that may still be opened */
    size_t nin;
    probe_in *in;
    /* outputs */
    probe_out *out;
    tail_path_state path_state;
    int path_err;
    size_t path_known;
    probe_new nw[2];
    size_t nnew;
    int have_resolved;
    char resolved[PATH_MAX];
    tail_cp_state cp_state;
    int cp_err;
    uint64_t cp_offset;
    char *scratch; /* read_block bytes, for finding the last line start */
} tail_probe;

/* ---- watch ----------------------------------------------------------------------------------- */

typedef struct tail_watch {
    uv_fs_event_t ev[2]; /* [0] the path's directory, [1] the resolved file's (when different) */
    char *dir[2];
    int on[2];
    uv_timer_t timer; /* reconcile (with inotify) / poll (without) */
    int warned;
} tail_watch;

struct sc_tail {
    const sc_env *env;
    sc_tail_opts opts; /* strings point at the copies below */
    char *path, *glob, *cp_path;
    char *path_dir;  /* dirname of path (watched) */
    char *path_base; /* basename of path, for matching events */
    char *res_base;  /* basename of the resolved file */
    tail_file *head, *tail_end;
    size_t nfiles;
    char *buf; /* read_block bytes */
    tail_block block;
    uv_fs_t read_req;
    tail_file *read_file; /* the read in flight is for this file */
    sc_tail_line *lines;  /* max_batch */
    size_t nlines;
    tail_file *batch_file;
    tail_pending *ring; /* max_pending */
    size_t ring_head, ring_len;
    uint64_t seq, acked_seq;
    sc_checkpoint_rec acked;
    sc_checkpoint_writer *cpw;
    tail_probe *probe;
    tail_watch watch;
    uv_timer_t idle;
    unsigned handles_open;
    int started, first_done, closing, finishing, final_cp, paused;
    int reading, probing, probe_wanted, pumping, repump;
    int idle_due;     /* the partial-line timer fired: flush idle partial lines */
    int ring_blocked; /* delivery is stopped by a full ring (counted once per episode) */
    int logged_missing, logged_notreg, logged_full, logged_error, logged_ring;
    sc_tail_stats stats;
    void (*closed)(void *arg);
    void *closed_arg;
};

/* tail.c */
void sc_tail_pump(sc_tail *t);
void sc_tail_probe_done(sc_tail *t, tail_probe *p, int status);
void sc_tail_fs_event(sc_tail *t, const char *name, int events);
void sc_tail_reconcile(sc_tail *t);
void sc_tail_handle_closed(sc_tail *t);

/* tail_file.c */
/* Makes a file from a probe result (takes its fd) and links it before `before` (NULL: at the
 * end). 0 or -ENOMEM (then the fd is closed). */
int sc_tail_file_add(sc_tail *t, probe_new *nw, tail_file *before, tail_file **out);
void sc_tail_file_close(sc_tail *t, tail_file *f); /* unlinks, closes the fd, frees */
int sc_tail_read_submit(sc_tail *t, tail_file *f);
void sc_tail_deliver(sc_tail *t);                    /* the pending block, as far as allowed */
int sc_tail_flush_partial(sc_tail *t, tail_file *f); /* 1 if a partial line was delivered */
int sc_tail_can_emit(const sc_tail *t);

/* tail_probe.c */
int sc_tail_probe_alloc(sc_tail *t);
void sc_tail_probe_free(sc_tail *t);
int sc_tail_probe_submit(sc_tail *t);      /* 0: in flight; sc_tail_probe_done follows */
void sc_tail_probe_discard(tail_probe *p); /* closes fds a probe opened but nobody took */

/* tail_watch.c */
void sc_tail_watch_init(sc_tail *t);
void sc_tail_watch_start(sc_tail *t);
void sc_tail_watch_retarget(sc_tail *t, const char *resolved); /* NULL: path not resolvable */
void sc_tail_watch_tick(sc_tail *t); /* retries watches that could not start */
void sc_tail_watch_close(sc_tail *t);
int sc_tail_watch_active(const sc_tail *t);

#endif
