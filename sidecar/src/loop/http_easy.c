/* http_easy.c - owns: the per-request libcurl options (see http_easy.h for the shared policy) and
 * the mapping of a finished transfer's CURLcode to sc_http_error. */
#include "loop/http_easy.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#define METHOD_MAX 16u

static int valid_token(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= METHOD_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] >= 'A' && s[i] <= 'Z') && !(s[i] >= 'a' && s[i] <= 'z'))
            return 0;
    return 1;
}

/* Validates what libcurl would otherwise pass to the wire unchecked. */
int sc_http_easy_validate(const sc_http_request_opts *o)
{
    if (o->url == NULL || o->on_done == NULL || (o->body == NULL && o->body_len > 0))
        return -EINVAL;
    if (o->method != NULL && !valid_token(o->method))
        return -EINVAL;
    for (size_t i = 0; i < o->n_headers; i++) {
        const char *h = o->headers[i];
        if (h == NULL || strpbrk(h, "\r\n") != NULL || strchr(h, ':') == NULL || h[0] == ':')
            return -EINVAL;
    }
    for (size_t i = 0; i < o->n_capture; i++)
        if (o->capture_headers[i] == NULL || o->capture_headers[i][0] == '\0')
            return -EINVAL;
    return 0;
}

static int add_headers(struct curl_slist **hdrs, const sc_http_request_opts *o)
{
    int has_expect = 0;
    for (size_t i = 0; i < o->n_headers; i++) {
        struct curl_slist *l = curl_slist_append(*hdrs, o->headers[i]);
        if (l == NULL)
            return -ENOMEM;
        *hdrs = l;
        if (strncasecmp(o->headers[i], "expect:", 7) == 0)
            has_expect = 1;
    }
    if (!has_expect) {
        /* No "Expect: 100-continue" round trip before bodies: collectors and CometAPI read
         * the body straight away, and the wait would only add latency. */
        struct curl_slist *l = curl_slist_append(*hdrs, "Expect:");
        if (l == NULL)
            return -ENOMEM;
        *hdrs = l;
    }
    return 0;
}

static int to_errno(CURLcode cc)
{
    return cc == CURLE_OK ? 0 : cc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;
}

#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (cc == CURLE_OK)                                                                        \
            cc = curl_easy_setopt(e, (opt), (val));                                                \
    } while (0)

static int set_method(CURL *e, const sc_http_request_opts *o)
{
    CURLcode cc = CURLE_OK;
    const char *m = o->method != NULL ? o->method : "GET";
    int has_body = o->body_len > 0;
    if (strcmp(m, "GET") == 0 && !has_body) {
        SET(CURLOPT_HTTPGET, 1L);
    } else if (strcmp(m, "HEAD") == 0) {
        if (has_body)
            return -EINVAL;
        SET(CURLOPT_NOBODY, 1L);
    } else {
        if (has_body || strcmp(m, "POST") == 0) {
            SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
            if (has_body && o->body_borrowed)
                SET(CURLOPT_POSTFIELDS, o->body);
            else
                SET(CURLOPT_COPYPOSTFIELDS, has_body ? o->body : "");
        }
        if (strcmp(m, "POST") != 0)
            SET(CURLOPT_CUSTOMREQUEST, m);
    }
    return to_errno(cc);
}

static int set_common(CURL *e, const sc_http_request_opts *o, const sc_http_easy_cfg *cfg,
                      struct curl_slist *hdrs)
{
    CURLcode cc = CURLE_OK;
    SET(CURLOPT_URL, o->url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SET(CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->connect_timeout_ms);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cfg->max_body);
    SET(CURLOPT_USERAGENT, cfg->user_agent);
    SET(CURLOPT_HTTPHEADER, hdrs);
    SET(CURLOPT_ERRORBUFFER, cfg->errbuf);
    SET(CURLOPT_WRITEFUNCTION, cfg->on_write);
    SET(CURLOPT_WRITEDATA, cfg->userdata);
    SET(CURLOPT_HEADERFUNCTION, cfg->on_header);
    SET(CURLOPT_HEADERDATA, cfg->userdata);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    if (o->ca_file != NULL)
        SET(CURLOPT_CAINFO, o->ca_file);
    if (o->client_cert != NULL)
        SET(CURLOPT_SSLCERT, o->client_cert);
    if (o->client_key != NULL)
        SET(CURLOPT_SSLKEY, o->client_key);
    return to_errno(cc);
}

int sc_http_easy_configure(CURL *easy, const sc_http_request_opts *o, const sc_http_easy_cfg *cfg,
                           struct curl_slist **hdrs)
{
    int rc;
    *hdrs = NULL;
    if ((rc = add_headers(hdrs, o)) != 0 || (rc = set_common(easy, o, cfg, *hdrs)) != 0)
        return rc;
    return set_method(easy, o);
}

#undef SET

sc_http_error sc_http_easy_error(CURLcode rc, sc_http_easy_abort why)
{
    switch (rc) {
    case CURLE_OK:
        return SC_HTTP_OK;
    case CURLE_OPERATION_TIMEDOUT:
        return SC_HTTP_ERR_TIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return SC_HTTP_ERR_DNS;
    case CURLE_COULDNT_CONNECT:
        return SC_HTTP_ERR_CONNECT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
        return SC_HTTP_ERR_TLS;
    case CURLE_SEND_ERROR:
        return SC_HTTP_ERR_SEND;
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return SC_HTTP_ERR_RECV;
    case CURLE_FILESIZE_EXCEEDED: /* Content-Length already beyond CURLOPT_MAXFILESIZE */
        return SC_HTTP_ERR_TOO_LARGE;
    case CURLE_WRITE_ERROR:
        if (why == SC_HTTP_EASY_ABORT_BODY_CAP || why == SC_HTTP_EASY_ABORT_HEADER_CAP)
            return SC_HTTP_ERR_TOO_LARGE;
        if (why == SC_HTTP_EASY_ABORT_DATA_CB)
            return SC_HTTP_ERR_ABORTED;
        return SC_HTTP_ERR_OTHER;
    default:
        return SC_HTTP_ERR_OTHER;
    }
}
