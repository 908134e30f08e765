/* otlp_http.h - owns: the OTLP/HTTP client side of ONE signal (traces or metrics): request
 * building (URL, headers, gzip), delivery of encoded payloads with retries (backoff.h policy),
 * per-payload retry budgets, partial-success decoding, and rate-limited failure logs.
 *
 * A fixed number of payload slots is set at creation: that is the cap on payloads in flight
 * (sending or waiting to retry) for the signal, and all the memory it holds is those payloads.
 * Each payload keeps its encoded bytes until its outcome, so a retry re-sends the same bytes.
 * A slot keeps its buffer (emptied) and, with gzip, its deflate state (~256 KiB, set up on first
 * use) for its next payload, so steady-state sending allocates none of them per request.
 *
 * Lifetime of a payload: sc_otlp_http_send -> attempt -> (retryable failure -> wait -> attempt)*
 * -> done(result) exactly once, always from a loop callback (never from inside send, abort or
 * close). Outcomes: delivered (2xx, maybe with partial-success `rejected`), or dropped with
 * reason NON_RETRYABLE (any other status, TLS and other permanent errors), RETRY_EXHAUSTED (the
 * next wait would pass the payload's budget), SHUTDOWN (past the deadline set by
 * sc_otlp_http_set_deadline, or aborted) or EXPORT_FAILED (the request could not be built).
 *
 * Never logged: header values, URLs, payload bytes. Loop-thread only. */
#ifndef SC_EXPORT_OTLP_HTTP_H
#define SC_EXPORT_OTLP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/env.h"
#include "export/backoff.h"
#include "export/result.h"
#include "loop/http_client.h"

#define SC_OTLP_MAX_REQUEST_BYTES  (64u * 1024u * 1024u) /* before compression */
#define SC_OTLP_MAX_RESPONSE_BYTES (4u * 1024u * 1024u)

typedef struct sc_otlp_http sc_otlp_http;

typedef struct sc_otlp_http_opts {
    sc_export_signal signal;
    int json;                    /* 1: application/json (OTLP/JSON); 0: application/x-protobuf */
    int gzip;                    /* Content-Encoding: gzip */
    const char *url;             /* full URL (export_config.h); copied */
    const char *const *headers;  /* complete "Name: value" lines (export_config.h) */
    size_t n_headers;            /* copied */
    uint32_t attempt_timeout_ms; /* per request (exporter.otlp.timeout) */
    uint64_t budget_ms; /* per payload, from the first attempt; attempts are cut to fit it */
    const char *ca_file, *client_cert, *client_key; /* NULL: unset; copied */
    sc_backoff_policy backoff;
    unsigned slots; /* payloads in flight at once, >= 1 */
    /* Optional: told the class of every attempt (1 success, 0 failure), for health tracking. */
    void (*on_attempt)(void *arg, int ok);
    void *attempt_arg;
} sc_otlp_http_opts;

/* `env` and `http` must outlive the sender; opts is copied. 0, -EINVAL or -ENOMEM. */
int sc_otlp_http_new(sc_otlp_http **out, const sc_env *env, sc_http_client *http,
                     const sc_otlp_http_opts *opts);

/* Takes ownership of payload's bytes in every case. The sc_buf is left empty (len 0, same max)
 * but may hold an allocation handed back for reuse (a slot's previous buffer): the caller reuses
 * or frees it. Compresses if configured and starts the first attempt. n_items is only used in
 * logs. Returns 0 (done runs once, later), -EBUSY (no free slot), -ENOBUFS / -ENOMEM / -EIO
 * (compression), -EINVAL (the client refused the request as built), -ESHUTDOWN (closing); on an
 * error done never runs. An empty payload is -EINVAL: an empty envelope is never sent. */
int sc_otlp_http_send(sc_otlp_http *h, sc_buf *payload, uint64_t n_items, sc_export_done_cb done,
                      void *arg);

unsigned sc_otlp_http_in_flight(const sc_otlp_http *h); /* busy slots */
unsigned sc_otlp_http_slots(const sc_otlp_http *h);

/* From now on no wait may end after deadline_ms (uv_now scale): a payload whose next retry
 * would is dropped with SHUTDOWN, and attempts are cut to end by it. 0 clears it. */
void sc_otlp_http_set_deadline(sc_otlp_http *h, uint64_t deadline_ms);

/* Ends every payload now: requests are cancelled, waits cut short; each done runs later with
 * reason SHUTDOWN. New sends are still accepted. */
void sc_otlp_http_abort(sc_otlp_http *h);

/* Aborts everything, waits for every done callback, closes the timers, frees the sender, then
 * closed(arg) (may be NULL). Never calls back from inside this function. Accepts NULL. */
void sc_otlp_http_close(sc_otlp_http *h, void (*closed)(void *arg), void *arg);

#endif
