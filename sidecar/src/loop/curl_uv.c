/* curl_uv.c - owns: the multi handle, its uv_timer_t, one uv_poll_t per socket libcurl asks us to
 * watch, and the list of attached transfers.
 *
 * Modelled on curl's docs/examples/multi-uv.c, with its gaps closed: allocation and
 * uv_poll_init_socket are checked, a negative poll status becomes CURL_CSELECT_ERR, finished
 * transfers are drained after every socket_action (also when none is running any more), the
 * multi handle is cleaned up before the timer is closed, and poll handles are freed only in
 * their close callbacks. */
#include "loop/curl_uv.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

typedef struct sock_ctx sock_ctx;
struct sock_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
    sc_curl_uv *cu;
    sock_ctx *prev, *next;
};

struct sc_curl_uv {
    const sc_env *env;
    CURLM *multi;
    uv_timer_t timer;
    sock_ctx *socks;        /* watched sockets (not yet closing) */
    sc_curl_uv_xfer *xfers; /* attached transfers */
    unsigned n_xfers;
    unsigned long seq;     /* attachments so far */
    unsigned open_handles; /* timer + poll handles whose close callback has not run */
    unsigned depth;        /* > 0 while inside curl_multi_socket_action / draining */
    int closing;
    int close_deferred; /* close was asked for from inside a done callback */
    void (*closed)(void *arg);
    void *closed_arg;
};

static void maybe_free(sc_curl_uv *cu)
{
    if (!cu->closing || cu->open_handles > 0)
        return;
    void (*closed)(void *) = cu->closed;
    void *arg = cu->closed_arg;
    free(cu);
    if (closed != NULL)
        closed(arg);
}

static void sock_closed(uv_handle_t *h)
{
    sock_ctx *s = h->data;
    sc_curl_uv *cu = s->cu;
    free(s);
    cu->open_handles--;
    maybe_free(cu);
}

static void sock_close(sock_ctx *s)
{
    sc_curl_uv *cu = s->cu;
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        cu->socks = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, sock_closed);
}

static void xfer_unlink(sc_curl_uv *cu, sc_curl_uv_xfer *x)
{
    if (x->prev != NULL)
        x->prev->next = x->next;
    else
        cu->xfers = x->next;
    if (x->next != NULL)
        x->next->prev = x->prev;
    x->prev = x->next = NULL;
    cu->n_xfers--;
}

/* Detaches and reports one transfer. The done callback may add or remove other transfers. */
static void xfer_finish(sc_curl_uv *cu, sc_curl_uv_xfer *x, CURLcode result)
{
    CURL *easy = x->easy;
    xfer_unlink(cu, x);
    curl_multi_remove_handle(cu->multi, easy);
    x->easy = NULL;
    x->done(x, result);
}

static void drain(sc_curl_uv *cu)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(cu->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        /* msg dies with curl_multi_remove_handle: copy what we need first. */
        CURLcode result = msg->data.result;
        char *priv = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        if (priv == NULL) {
            sc_log_error(cu->env->log, "curl transfer finished without owner");
            curl_multi_remove_handle(cu->multi, msg->easy_handle);
            continue;
        }
        xfer_finish(cu, (sc_curl_uv_xfer *)(void *)priv, result);
    }
}

/* After a callback of ours returned -1, libcurl fails the whole multi handle ("dead" until every
 * transfer is removed), so every attached transfer is reported failed now. Transfers that done
 * callbacks attach meanwhile (the handle revives once empty) are left alone. */
static void fail_all(sc_curl_uv *cu, CURLcode result)
{
    unsigned long cutoff = cu->seq;
    for (;;) {
        sc_curl_uv_xfer *x = cu->xfers;
        while (x != NULL && x->seq > cutoff)
            x = x->next;
        if (x == NULL)
            return;
        xfer_finish(cu, x, result); /* may add or remove others: rescan */
    }
}

static void do_close(sc_curl_uv *cu);

static void drive(sc_curl_uv *cu, curl_socket_t fd, int flags)
{
    int running = 0;
    cu->depth++;
    CURLMcode mc = curl_multi_socket_action(cu->multi, fd, flags, &running);
    drain(cu); /* always: the last transfers finish exactly when running drops to 0 */
    if (mc == CURLM_BAD_SOCKET) {
        sc_log_debug(cu->env->log, "curl socket_action on unknown socket", SC_F_INT("fd", fd));
    } else if (mc != CURLM_OK) {
        sc_log_error(cu->env->log, "curl socket_action failed, failing all transfers",
                     SC_F_STR("error", curl_multi_strerror(mc)),
                     SC_F_UINT("transfers", cu->n_xfers));
        fail_all(cu, CURLE_ABORTED_BY_CALLBACK);
    }
    cu->depth--;
    if (cu->depth == 0 && cu->close_deferred) {
        cu->close_deferred = 0;
        do_close(cu);
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    sock_ctx *s = h->data;
    int flags = 0;
    if (status < 0) {
        flags = CURL_CSELECT_ERR;
    } else {
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    drive(s->cu, s->fd, flags);
}

static void on_timer(uv_timer_t *t)
{
    sc_curl_uv *cu = t->data;
    drive(cu, CURL_SOCKET_TIMEOUT, 0);
}

static sock_ctx *sock_open(sc_curl_uv *cu, curl_socket_t fd)
{
    sock_ctx *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    int rc = uv_poll_init_socket(cu->env->loop, &s->poll, fd);
    if (rc != 0) {
        sc_log_error(cu->env->log, "uv_poll_init_socket failed", SC_F_INT("fd", fd),
                     SC_F_STR("error", uv_strerror(rc)));
        free(s);
        return NULL;
    }
    s->poll.data = s;
    s->fd = fd;
    s->cu = cu;
    s->next = cu->socks;
    if (cu->socks != NULL)
        cu->socks->prev = s;
    cu->socks = s;
    cu->open_handles++;
    return s;
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    sc_curl_uv *cu = userp;
    sock_ctx *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) {
            curl_multi_assign(cu->multi, fd, NULL);
            sock_close(s);
        }
        return 0;
    }
    if (cu->closing)
        return 0;
    if (s == NULL) {
        s = sock_open(cu, fd);
        if (s == NULL)
            return -1; /* libcurl then fails the multi handle; drive() reports it */
        curl_multi_assign(cu->multi, fd, s);
    }
    int events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        events |= UV_WRITABLE;
    int rc = uv_poll_start(&s->poll, events, on_poll);
    if (rc != 0) {
        sc_log_error(cu->env->log, "uv_poll_start failed", SC_F_INT("fd", fd),
                     SC_F_STR("error", uv_strerror(rc)));
        return -1;
    }
    return 0;
}

static int on_timer_update(CURLM *multi, long timeout_ms, void *userp)
{
    sc_curl_uv *cu = userp;
    if (timeout_ms < 0)
        return uv_timer_stop(&cu->timer) == 0 ? 0 : -1;
    /* 0 would mean "call socket_action now", i.e. from inside libcurl: defer one tick instead. */
    if (timeout_ms == 0)
        timeout_ms = 1;
    return uv_timer_start(&cu->timer, on_timer, (uint64_t)timeout_ms, 0) == 0 ? 0 : -1;
}

int sc_curl_uv_new(sc_curl_uv **out, const sc_env *env)
{
    int rc = 0;
    *out = NULL;
    sc_curl_uv *cu = calloc(1, sizeof *cu);
    if (cu == NULL)
        return -ENOMEM;
    cu->env = env;
    cu->multi = curl_multi_init();
    if (cu->multi == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    if (curl_multi_setopt(cu->multi, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK ||
        curl_multi_setopt(cu->multi, CURLMOPT_SOCKETDATA, cu) != CURLM_OK ||
        curl_multi_setopt(cu->multi, CURLMOPT_TIMERFUNCTION, on_timer_update) != CURLM_OK ||
        curl_multi_setopt(cu->multi, CURLMOPT_TIMERDATA, cu) != CURLM_OK) {
        rc = -EINVAL;
        goto out;
    }
    rc = uv_timer_init(env->loop, &cu->timer);
    if (rc != 0)
        goto out;
    cu->timer.data = cu;
    cu->open_handles = 1;
    *out = cu;
    return 0;
out:
    if (cu->multi != NULL)
        curl_multi_cleanup(cu->multi);
    free(cu);
    return rc;
}

CURLM *sc_curl_uv_multi(sc_curl_uv *cu)
{
    return cu->multi;
}

unsigned sc_curl_uv_count(const sc_curl_uv *cu)
{
    return cu->n_xfers;
}

int sc_curl_uv_add(sc_curl_uv *cu, sc_curl_uv_xfer *x, CURL *easy, sc_curl_uv_done_cb done)
{
    if (easy == NULL || done == NULL)
        return -EINVAL;
    if (cu->closing || cu->close_deferred)
        return -ESHUTDOWN;
    if (curl_easy_setopt(easy, CURLOPT_PRIVATE, (void *)x) != CURLE_OK)
        return -EINVAL;
    CURLMcode mc = curl_multi_add_handle(cu->multi, easy);
    if (mc != CURLM_OK) {
        sc_log_warn(cu->env->log, "curl_multi_add_handle failed",
                    SC_F_STR("error", curl_multi_strerror(mc)));
        switch (mc) {
        case CURLM_OUT_OF_MEMORY:
            return -ENOMEM;
        case CURLM_RECURSIVE_API_CALL: /* from inside a libcurl callback */
            return -EDEADLK;
        case CURLM_ABORTED_BY_CALLBACK: /* still failing the previous transfers */
            return -EAGAIN;
        default:
            return -EINVAL;
        }
    }
    x->easy = easy;
    x->done = done;
    x->seq = ++cu->seq;
    x->prev = NULL;
    x->next = cu->xfers;
    if (cu->xfers != NULL)
        cu->xfers->prev = x;
    cu->xfers = x;
    cu->n_xfers++;
    return 0;
}

void sc_curl_uv_remove(sc_curl_uv *cu, sc_curl_uv_xfer *x)
{
    if (x->easy == NULL)
        return;
    CURL *easy = x->easy;
    xfer_unlink(cu, x);
    x->easy = NULL;
    curl_multi_remove_handle(cu->multi, easy);
}

static void timer_closed(uv_handle_t *h)
{
    sc_curl_uv *cu = h->data;
    cu->open_handles--;
    maybe_free(cu);
}

static void do_close(sc_curl_uv *cu)
{
    cu->closing = 1; /* before fail_all: done callbacks cannot add new transfers */
    fail_all(cu, CURLE_ABORTED_BY_CALLBACK);
    /* Cleanup first: it may still call our socket callback (cached connections being closed)
     * and our timer callback, which must find their handles alive. */
    curl_multi_cleanup(cu->multi);
    cu->multi = NULL;
    while (cu->socks != NULL)
        sock_close(cu->socks);
    uv_close((uv_handle_t *)&cu->timer, timer_closed);
}

void sc_curl_uv_close(sc_curl_uv *cu, void (*closed)(void *arg), void *arg)
{
    if (cu == NULL || cu->closing || cu->close_deferred)
        return;
    cu->closed = closed;
    cu->closed_arg = arg;
    if (cu->depth > 0) {
        cu->close_deferred = 1; /* we are inside drain(); finish there */
        return;
    }
    do_close(cu);
}
