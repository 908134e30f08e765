/* evidence.h - owns: the canary evidence trail: the format of the ONE JSON line written per run
 * (sc_evidence_format, pure) and the appender that writes those lines to the evidence file
 * without blocking the loop (sc_evidence_writer).
 *
 * A line holds identifiers, classes, counts and times only: never a prompt, a completion, an
 * error message or a credential (redaction_status says so). Every string it carries comes from
 * the configuration (validated names) or from charset-filtered tokens (canary/token.h).
 *
 * Line format (keys in this order; times are UTC RFC 3339 with milliseconds):
 *   evidence_version (1), test_id (UUID v4), probe, environment, started_at, completed_at,
 *   api_surface (chat_completions | responses | models), verified_upstream_route_template
 *   ("POST /v1/chat/completions": method + the path of base_url + route), gateway_route_name,
 *   model (null for models), stream, status_code_class (1xx..5xx | network_error), http_status
 *   (null when none), error_class ("none" on success), retry_count, fallback_decision,
 *   fallback_reason, fallback_result (null unless a fallback target was exercised: "success" or
 *   its error class), usage_present, elapsed_time_bucket, request_id (our X-Request-ID of the
 *   final attempt), upstream_request_id (null when none), trace_id, redaction_status,
 *   operator_result (pass | fail), expected ("success" or a class), contract_violations [names],
 *   shape_added [names], shape_missing [names], attempts [{attempt (1-based), target (primary |
 *   fallback), started_at, completed_at, status_code_class, http_status, error_class,
 *   retry_decision (a retry_policy reason name; "none" after a success, "fallback" for the
 *   fallback attempt), request_id, upstream_request_id}].
 *
 * Elapsed buckets (run start to end, retries and fallback included), lower bound inclusive:
 *   "<1s" [0, 1s), "1-2s" [1s, 2s), "2-5s" [2s, 5s), "5-10s" [5s, 10s), ">10s" [10s, ...).
 *
 * Writer: lines are copied into a bounded FIFO (max_pending lines); one uv_fs_write at a time
 * runs on libuv's threadpool against a descriptor opened O_WRONLY|O_APPEND|O_CREAT (0640), so
 * concurrent writers (two sidecars) never interleave inside a line. A full queue drops the new
 * line (counted, logged once per episode). A failed open or write (disk full, read-only file
 * system, permissions, ...) drops that line, is counted, and is logged once per cause (errno)
 * until a write succeeds again ("evidence writes recovered"); the descriptor is reopened for the
 * next line. A line cut short by a failure is ended by a newline before the next one, so readers
 * can skip it. Loop-thread only. */
#ifndef SC_CANARY_EVIDENCE_H
#define SC_CANARY_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/env.h"
#include "telemetry/metrics.h"

#define SC_EVIDENCE_VERSION   1
#define SC_EVIDENCE_REDACTION "prompt_response_and_credential_not_logged"
#define SC_EVIDENCE_LINE_MAX  (64u * 1024u) /* one formatted line, newline included */

typedef struct sc_evidence_attempt {
    unsigned attempt;   /* 1-based, in the order sent */
    const char *target; /* "primary" | "fallback" */
    uint64_t started_ns, completed_ns;
    const char *status_class; /* sc_schema_status_class_name */
    long http_status;         /* 0 = none */
    const char *error_class;  /* sc_schema_error_class_name ("none") */
    const char *retry_decision;
    const char *request_id;          /* our X-Request-ID */
    const char *upstream_request_id; /* NULL or "" = none */
    bool content_before_cut;         /* written only when error_class is stream_interrupted */
} sc_evidence_attempt;

typedef struct sc_evidence_run {
    const char *test_id, *probe, *environment;
    uint64_t started_ns, completed_ns;
    const char *api_surface, *route_template, *route_name;
    const char *model; /* NULL = none */
    bool stream;
    const char *status_class;
    long http_status;
    const char *error_class;
    unsigned retry_count;
    const char *fallback_decision, *fallback_reason;
    const char *fallback_result; /* NULL = no fallback request */
    bool usage_present;
    const char *request_id, *upstream_request_id, *trace_id;
    bool passed;
    const char *expected;
    const char *const *violations;
    size_t n_violations;
    const char *const *shape_added;
    size_t n_shape_added;
    const char *const *shape_missing;
    size_t n_shape_missing;
    const sc_evidence_attempt *attempts;
    size_t n_attempts;
} sc_evidence_run;

/* "<1s", "1-2s", "2-5s", "5-10s" or ">10s". Static storage. */
const char *sc_evidence_elapsed_bucket(uint64_t elapsed_ns);

/* Appends one line (ending in '\n') to out. 0, -EINVAL (NULL required string), or -ENOBUFS /
 * -ENOMEM from out (then out is rolled back to its previous length). Pure. */
int sc_evidence_format(const sc_evidence_run *r, sc_buf *out);

typedef struct sc_evidence_writer sc_evidence_writer;

typedef struct sc_evidence_stats {
    uint64_t written;      /* lines fully written */
    uint64_t dropped_full; /* refused: queue full */
    uint64_t failed;       /* lost to an open/write error */
    uint64_t bytes;
    int last_error; /* negative errno of the latest failure, 0 after a success */
} sc_evidence_stats;

/* path is copied; max_pending >= 1. env (loop, log) must outlive the writer. Nothing is opened
 * until the first line. 0, -EINVAL or -ENOMEM. */
int sc_evidence_writer_new(sc_evidence_writer **out, const sc_env *env, const char *path,
                           size_t max_pending);

/* Queues a copy of (line, len); len must be >= 1 and end in '\n'. 0, -ENOBUFS (queue full:
 * dropped and counted), -EINVAL, -ESHUTDOWN (closing) or -ENOMEM. */
int sc_evidence_writer_append(sc_evidence_writer *w, const char *line, size_t len);

/* Every line lost from now on (open/write error, queue full) also adds 1 to inst, a counter
 * without attributes (sidecar.evidence.failures), so operators see it, not only the log. NULL:
 * stop. inst must outlive the writer. */
void sc_evidence_writer_count_failures(sc_evidence_writer *w, sc_instrument *inst);

size_t sc_evidence_writer_pending(const sc_evidence_writer *w); /* queued, in flight included */
sc_evidence_stats sc_evidence_writer_get_stats(const sc_evidence_writer *w);

/* Refuses new lines, writes what is queued, closes the file, frees the writer and then calls
 * closed(arg) from the loop (never from inside this call; closed may be NULL). Accepts NULL. */
void sc_evidence_writer_close(sc_evidence_writer *w, void (*closed)(void *arg), void *arg);

#endif
