/* curl_uv.h - owns: one libcurl multi handle driven by the libuv loop (multi-socket API).
 *
 * libcurl tells us which sockets to watch (one uv_poll_t per socket, attached with
 * curl_multi_assign) and when to call it back (one uv_timer_t); we hand every readiness event
 * and timer expiry back with curl_multi_socket_action and then drain curl_multi_info_read.
 * Finished transfers are removed from the multi handle and reported through their transfer's
 * done callback. Nothing here blocks the loop: DNS uses curl's own asynchronous resolver.
 *
 * A transfer is an sc_curl_uv_xfer the caller embeds in its own per-request struct (recover the
 * owner with container_of). curl_uv owns CURLOPT_PRIVATE of every easy handle it is given.
 *
 * Loop-thread only. None of these functions may be called from inside a libcurl callback
 * (write, header, ...): libcurl forbids re-entering the multi handle from there. */
#ifndef SC_LOOP_CURL_UV_H
#define SC_LOOP_CURL_UV_H

#include <curl/curl.h>

#include "core/env.h"

typedef struct sc_curl_uv sc_curl_uv;
typedef struct sc_curl_uv_xfer sc_curl_uv_xfer;

/* Called once per transfer, from a loop callback, after the easy handle has been removed from
 * the multi handle. The easy handle still belongs to the caller (getinfo, then cleanup). */
typedef void (*sc_curl_uv_done_cb)(sc_curl_uv_xfer *x, CURLcode result);

/* Embedded by the caller; the fields are curl_uv's and only valid while attached. */
struct sc_curl_uv_xfer {
    CURL *easy;
    sc_curl_uv_done_cb done;
    sc_curl_uv_xfer *prev, *next;
    unsigned long seq; /* order of attachment */
};

/* Creates the multi handle and its timer on env->loop. `env` must outlive the object. */
int sc_curl_uv_new(sc_curl_uv **out, const sc_env *env);

/* The multi handle, for curl_multi_setopt of limits (never for the socket/timer options). */
CURLM *sc_curl_uv_multi(sc_curl_uv *cu);

/* Attaches `easy` (still owned by the caller) to the multi handle. On 0, `done` runs exactly
 * once later unless sc_curl_uv_remove is called first; on error it never runs.
 * Returns 0, -EINVAL, -ESHUTDOWN (closing), -ENOMEM, -EDEADLK (called from inside a libcurl
 * callback) or -EAGAIN (the multi handle is still failing its transfers after a callback error). */
int sc_curl_uv_add(sc_curl_uv *cu, sc_curl_uv_xfer *x, CURL *easy, sc_curl_uv_done_cb done);

/* Detaches a transfer that has not finished; its done callback will not run. Accepts a
 * transfer that already finished (no-op). */
void sc_curl_uv_remove(sc_curl_uv *cu, sc_curl_uv_xfer *x);

/* Number of attached transfers. */
unsigned sc_curl_uv_count(const sc_curl_uv *cu);

/* Cleans up the multi handle (transfers still attached are removed first and their done runs
 * with CURLE_ABORTED_BY_CALLBACK before this returns), closes every poll handle and the timer,
 * and frees the object once libuv has closed them all; then `closed(arg)` runs (may be NULL). */
void sc_curl_uv_close(sc_curl_uv *cu, void (*closed)(void *arg), void *arg);

#endif
