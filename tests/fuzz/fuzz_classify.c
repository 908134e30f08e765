/* fuzz_classify.c - libFuzzer target: the canary's error-body classifier. An OpenAI-style error
 * body ({"error":{"message","type","param","code"}}, or HTML, or anything) is classified with a
 * status, transport outcome and Content-Type taken from the input (sc_classify_attempt); the same
 * bytes go through sc_classify_request_id_from_message (as a message) and, split at the first
 * NUL, sc_classify_error_code (as code and type).
 *
 * Input: byte 0: status (see below); byte 1: transport outcome; byte 2: Content-Type; rest: body.
 * Every kept string must be "" or a token of its charset: free text never survives. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "canary/classify.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    static const long statuses[] = {200, 301, 400, 401, 402, 403, 404, 408, 409, 413, 422, 429,
                                    451, 499, 500, 502, 503, 504, 524, 0,   100, 600, 999, -1};
    static const char *const types[] = {
        NULL, "application/json", "text/html; charset=utf-8", "text/event-stream", "TEXT/HTML", ""};
    long status = statuses[data[0] % (sizeof statuses / sizeof statuses[0])];
    sc_http_error transport = (sc_http_error)(data[1] % (SC_HTTP_ERR_OTHER + 1));
    const char *content_type = types[data[2] % (sizeof types / sizeof types[0])];
    const char *body = (const char *)data + 3;
    size_t len = size - 3;

    sc_classify_input in = {.transport = transport,
                            .status = status,
                            .content_type = content_type,
                            .body = len > 0 ? body : NULL,
                            .body_len = len};
    sc_classify_result r;
    sc_classify_attempt(&in, &r);
    if ((unsigned)r.error_class >= SC_ERROR_CLASS__COUNT ||
        (unsigned)r.status_class >= SC_STATUS_CLASS__COUNT || r.check >= SC_CHECK__COUNT)
        abort();
    if (r.retryable != sc_classify_retryable(r.error_class, r.content_seen))
        abort();
    fuzz_check_token(r.error_code, sizeof r.error_code, SC_TOKEN_NAME);
    fuzz_check_token(r.error_type, sizeof r.error_type, SC_TOKEN_NAME);
    fuzz_check_token(r.request_id, sizeof r.request_id, SC_TOKEN_RID);

    char rid[SC_CLASSIFY_RID_LEN];
    int rc = sc_classify_request_id_from_message(body, len, rid, sizeof rid);
    if (rc == 0) {
        size_t n = strnlen(rid, sizeof rid);
        if (n < 6 || n > 64 || !sc_token_valid(rid, n, SC_TOKEN_RID) || !memmem(body, len, rid, n))
            abort(); /* only a token that is really in the message */
    } else if (rc != -ENOENT || rid[0] != '\0') {
        abort();
    }

    /* code\0type: NUL-terminated copies, as the classifier passes cJSON strings. */
    char *text = malloc(len + 2);
    if (text == NULL)
        return 0;
    memcpy(text, body, len);
    text[len] = text[len + 1] = '\0';
    const char *type = text + strlen(text) + 1;
    if (type > text + len)
        type = NULL;
    sc_error_class c = sc_classify_error_code(text, type, SC_ERROR_CLASS_UPSTREAM_ERROR);
    if ((unsigned)c >= SC_ERROR_CLASS__COUNT)
        abort();
    free(text);
    return 0;
}
