/* file_exporter.h - owns: the "file" and "console" exporters' writer: OTLP/JSON export requests
 * appended ONE PER LINE (like the Collector's file exporter) to a file opened with O_APPEND, or to
 * an inherited descriptor (stdout for "console").
 *
 * Writes go through uv_fs_write on libuv's threadpool, so a slow disk or a blocked stdout pipe
 * never stalls the loop. One write is in progress at a time; up to max_queued more lines wait
 * behind it; a line beyond that is refused (-ENOBUFS) and the caller counts the drop. Memory is
 * therefore bounded by (1 + max_queued) encoded requests.
 *
 * Each accepted line completes once through its done callback (always from a loop callback):
 * delivered when fully written, else dropped (EXPORT_FAILED with error.type = the libuv error
 * name, e.g. "ENOSPC"; SHUTDOWN for lines still queued at close). Loop-thread only. */
#ifndef SC_EXPORT_FILE_EXPORTER_H
#define SC_EXPORT_FILE_EXPORTER_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/env.h"
#include "export/result.h"

#define SC_FILE_EXPORTER_DEFAULT_QUEUE 4

typedef struct sc_file_exporter sc_file_exporter;

typedef struct sc_file_exporter_opts {
    const char *path;    /* opened O_WRONLY|O_APPEND|O_CREAT (0644); NULL: write to fd */
    int fd;              /* with path == NULL: an open descriptor (1 for stdout); not closed */
    unsigned max_queued; /* lines waiting behind the one being written; 0: the default */
} sc_file_exporter_opts;

/* Opens the file synchronously (a start-up step, so a bad path fails start-up with its errno).
 * `env` must outlive the writer. 0, -EINVAL, -ENOMEM or the open error (-ENOENT, -EACCES...). */
int sc_file_exporter_new(sc_file_exporter **out, const sc_env *env,
                         const sc_file_exporter_opts *opts);

/* Queues one export request (OTLP/JSON, no newline inside) as a line; takes ownership of the
 * bytes in every case (the sc_buf is left empty). 0: done runs once, later. -ENOBUFS: queue full;
 * -EINVAL: empty or containing a newline; -ESHUTDOWN: closing; -ENOMEM. done never runs on an
 * error. */
int sc_file_exporter_write(sc_file_exporter *fx, sc_buf *request, sc_export_done_cb done,
                           void *arg);

unsigned sc_file_exporter_pending(const sc_file_exporter *fx); /* in progress + queued */

/* Lets the write in progress finish (a threadpool write cannot be interrupted), completes the
 * queued lines with SHUTDOWN, closes the file if it opened it, frees, then closed(arg) (may be
 * NULL). Never calls back from inside this function. Accepts NULL. */
void sc_file_exporter_close(sc_file_exporter *fx, void (*closed)(void *arg), void *arg);

#endif
