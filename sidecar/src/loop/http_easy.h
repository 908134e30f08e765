/* http_easy.h - owns: turning one sc_http_request_opts into a configured libcurl easy handle
 * (validation against header injection, header list, method and body, timeouts, TLS, limits),
 * and a finished transfer's CURLcode into an sc_http_error.
 *
 * The policy every request shares lives here in one place: HTTP/1.1, http/https only, redirects
 * not followed, no signals, TLS peer and host verification on, no "Expect: 100-continue". */
#ifndef SC_LOOP_HTTP_EASY_H
#define SC_LOOP_HTTP_EASY_H

#include <curl/curl.h>

#include "loop/http_client.h"

typedef struct sc_http_easy_cfg {
    const char *user_agent;
    uint32_t timeout_ms, connect_timeout_ms; /* resolved: defaults already applied */
    size_t max_body;                         /* also given to curl as CURLOPT_MAXFILESIZE */
    curl_write_callback on_write, on_header;
    void *userdata; /* passed to both callbacks */
    char *errbuf;   /* CURL_ERROR_SIZE bytes, owned by the caller, alive as long as the handle */
} sc_http_easy_cfg;

/* Returns 0 or -EINVAL: missing url/on_done, body pointer missing, method not a token, a header
 * line without ':' or with CR/LF, an empty capture name. Pure; nothing is allocated. */
int sc_http_easy_validate(const sc_http_request_opts *o);

/* Configures `easy` for an already validated `o`. Everything is copied (libcurl copies strings
 * and the body unless o->body_borrowed) except the header list, returned in *hdrs: the caller frees
 * it with curl_slist_free_all after curl_easy_cleanup, also when this fails. Returns 0, -EINVAL,
 * -ENOMEM.
 */
int sc_http_easy_configure(CURL *easy, const sc_http_request_opts *o, const sc_http_easy_cfg *cfg,
                           struct curl_slist **hdrs);

/* Why the client's data callbacks stopped a transfer: CURLE_WRITE_ERROR alone does not say. */
typedef enum {
    SC_HTTP_EASY_ABORT_NONE,
    SC_HTTP_EASY_ABORT_BODY_CAP,
    SC_HTTP_EASY_ABORT_HEADER_CAP,
    SC_HTTP_EASY_ABORT_DATA_CB,
    SC_HTTP_EASY_ABORT_NOMEM
} sc_http_easy_abort;

/* The sc_http_error for a transfer that ended with rc (why: the callbacks' abort reason). */
sc_http_error sc_http_easy_error(CURLcode rc, sc_http_easy_abort why);

#endif
