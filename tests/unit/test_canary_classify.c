/* test_canary_classify.c - tests for canary/classify: transport errors, every status/code rule
 * (CometAPI's 500 + invalid_request, 524, HTML 404, redirects), retryability, request ids (and
 * that nothing but the id leaves an error message). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "canary/classify.h"
#include "canary/contract.h"
#include "harness.h"

static sc_classify_result classify_full(sc_http_error tr, long status, const char *ctype,
                                        const char *body, const char *rid_header,
                                        const sc_contract_result *contract)
{
    sc_classify_input in = {
        .transport = tr,
        .status = status,
        .content_type = ctype,
        .body = NULL,
        .body_len = body ? strlen(body) : 0,
        .request_id_header = rid_header,
        .contract = contract,
    };
    char *copy = NULL;
    if (body != NULL) { /* exact-size copy, no NUL: ASan catches over-reads */
        copy = malloc(in.body_len ? in.body_len : 1);
        memcpy(copy, body, in.body_len);
        in.body = copy;
    }
    sc_classify_result out;
    sc_classify_attempt(&in, &out);
    free(copy);
    return out;
}

static sc_classify_result classify(long status, const char *ctype, const char *body)
{
    return classify_full(SC_HTTP_OK, status, ctype, body, NULL, NULL);
}

static sc_error_class cls(long status, const char *body)
{
    return classify(status, "application/json", body).error_class;
}

#define ERR(type, code)                                                                            \
    "{\"error\":{\"message\":\"m\",\"type\":" type ",\"param\":null,\"code\":" code "}}"

static void transport_errors(void)
{
    sc_classify_result r = classify_full(SC_HTTP_ERR_TIMEOUT, 0, NULL, NULL, NULL, NULL);
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_TIMEOUT);
    CHECK_EQ(r.status_class, SC_STATUS_CLASS_NETWORK_ERROR);
    CHECK(r.retryable);
    const sc_http_error net[] = {SC_HTTP_ERR_DNS,      SC_HTTP_ERR_CONNECT, SC_HTTP_ERR_TLS,
                                 SC_HTTP_ERR_SEND,     SC_HTTP_ERR_RECV,    SC_HTTP_ERR_OTHER,
                                 SC_HTTP_ERR_CANCELLED};
    for (size_t i = 0; i < sizeof net / sizeof net[0]; i++) {
        r = classify_full(net[i], 0, NULL, NULL, NULL, NULL);
        CHECK_EQ(r.error_class, SC_ERROR_CLASS_NETWORK_ERROR);
        CHECK(r.retryable);
    }
    r = classify_full(SC_HTTP_ERR_TOO_LARGE, 200, "application/json", NULL, NULL, NULL);
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_PARSE_ERROR);
    CHECK_EQ(r.status_class, SC_STATUS_CLASS_2XX);
    CHECK(!r.retryable);
    /* A stream that stalled after the headers: timeout, with the status kept. */
    r = classify_full(SC_HTTP_ERR_TIMEOUT, 200, "text/event-stream", NULL, NULL, NULL);
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_TIMEOUT);
    CHECK_EQ(r.status_class, SC_STATUS_CLASS_2XX);
}

static void broken_streams(void)
{
    sc_contract_result c;
    sc_contract_result_init(&c);
    /* stream_cut: the connection broke after a 200; nothing had arrived -> retryable. */
    sc_classify_result r =
        classify_full(SC_HTTP_ERR_RECV, 200, "text/event-stream", NULL, NULL, &c);
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_STREAM_INTERRUPTED);
    CHECK(r.retryable && !r.content_seen);
    c.content_seen = true;
    r = classify_full(SC_HTTP_ERR_RECV, 200, "text/event-stream", NULL, NULL, &c);
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_STREAM_INTERRUPTED);
    CHECK(!r.retryable && r.content_seen);
    /* Clean close without [DONE]: the contract says interrupted. */
    c.failed = SC_CHECK_BIT(SC_CHECK_MISSING_DONE);
    c.error_class = SC_ERROR_CLASS_STREAM_INTERRUPTED;
    c.content_seen = false;
    r = classify_full(SC_HTTP_OK, 200, "text/event-stream", NULL, NULL, &c);
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_STREAM_INTERRUPTED);
    CHECK_EQ(r.check, SC_CHECK_MISSING_DONE);
    CHECK(r.retryable);
    /* Non-streaming stream_cut (half a body, then FIN or RST). */
    r = classify_full(SC_HTTP_ERR_RECV, 200, "application/json", "{\"id\":", NULL, NULL);
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_STREAM_INTERRUPTED);
    /* The engine aborted the body because the contract failed mid-stream. */
    sc_contract_result_init(&c);
    c.failed = SC_CHECK_BIT(SC_CHECK_WRONG_CHUNK_OBJECT);
    r = classify_full(SC_HTTP_ERR_ABORTED, 200, "text/event-stream", NULL, NULL, &c);
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_PARSE_ERROR);
    CHECK_EQ(r.check, SC_CHECK_WRONG_CHUNK_OBJECT);
    /* An error body cut short is still classified by status. */
    r = classify_full(SC_HTTP_ERR_RECV, 503, "application/json", "{\"error\":{\"mes", NULL, NULL);
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_UPSTREAM_ERROR);
}

static void success_and_contract(void)
{
    sc_contract_result c;
    const char *ok = "{\"id\":\"c\",\"object\":\"chat.completion\",\"model\":\"m\",\"choices\":[{"
                     "\"message\":{\"content\":\"ok\"},\"finish_reason\":\"stop\"}],\"usage\":{"
                     "\"prompt_tokens\":1,\"completion_tokens\":1}}";
    sc_contract_check_body(SC_CONTRACT_API_CHAT, ok, strlen(ok), "m", &c);
    sc_classify_result r = classify_full(SC_HTTP_OK, 200, "application/json", ok, NULL, &c);
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_NONE);
    CHECK_EQ(r.status_class, SC_STATUS_CLASS_2XX);
    CHECK_EQ(r.check, -1);
    CHECK(!r.retryable);
    /* Soft violations do not fail the attempt... */
    c.failed = SC_CHECK_BIT(SC_CHECK_MISSING_USAGE) | SC_CHECK_BIT(SC_CHECK_MODEL_SUBSTITUTED);
    r = classify_full(SC_HTTP_OK, 200, "application/json", ok, NULL, &c);
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_NONE);
    /* ... unless the caller makes them fatal. */
    sc_classify_input in = {.transport = SC_HTTP_OK,
                            .status = 200,
                            .contract = &c,
                            .fatal_checks = SC_CHECK_BIT(SC_CHECK_MODEL_SUBSTITUTED)};
    sc_classify_attempt(&in, &r);
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_PARSE_ERROR);
    CHECK_EQ(r.check, SC_CHECK_MODEL_SUBSTITUTED);
    /* invalid_json and empty_200 are contract failures. */
    sc_contract_check_body(SC_CONTRACT_API_CHAT, "{\"id\":", 6, "m", &c);
    r = classify_full(SC_HTTP_OK, 200, "application/json", "{\"id\":", NULL, &c);
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_PARSE_ERROR);
    CHECK_EQ(r.check, SC_CHECK_INVALID_JSON);
    sc_contract_check_body(SC_CONTRACT_API_CHAT, "", 0, "m", &c);
    r = classify_full(SC_HTTP_OK, 200, "application/json", "", NULL, &c);
    CHECK_EQ(r.check, SC_CHECK_EMPTY_BODY);
    /* 200 text/html: CometAPI's answer to a wrong path. */
    r = classify(200, "text/html; charset=utf-8", "<!DOCTYPE html><html></html>");
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_PARSE_ERROR);
    CHECK_EQ(r.check, SC_CHECK_HTML_INSTEAD_OF_JSON);
    r = classify(200, "application/json", "  <html>");
    CHECK_EQ(r.check, SC_CHECK_HTML_INSTEAD_OF_JSON);
    /* An error event inside the 200 carries its own class. */
    sc_contract_result_init(&c);
    c.failed = SC_CHECK_BIT(SC_CHECK_ERROR_EVENT);
    c.error_class = SC_ERROR_CLASS_RATE_LIMITED;
    r = classify_full(SC_HTTP_OK, 200, "text/event-stream", NULL, NULL, &c);
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_RATE_LIMITED);
    CHECK(r.retryable);
}

static void redirects_and_odd_statuses(void)
{
    const long st[] = {301, 302, 307, 308};
    for (size_t i = 0; i < 4; i++) {
        sc_classify_result r = classify(st[i], "text/html; charset=utf-8", "<html>Found</html>");
        CHECK_EQ(r.error_class, SC_ERROR_CLASS_PARSE_ERROR);
        CHECK_EQ(r.check, SC_CHECK_REDIRECT);
        CHECK_EQ(r.status_class, SC_STATUS_CLASS_3XX);
        CHECK(!r.retryable);
    }
    CHECK_EQ(cls(101, NULL), SC_ERROR_CLASS_PARSE_ERROR);
    CHECK_EQ(cls(700, NULL), SC_ERROR_CLASS_PARSE_ERROR);
    CHECK_EQ(classify(700, NULL, NULL).status_class, SC_STATUS_CLASS_NETWORK_ERROR);
}

static void auth_and_policy(void)
{
    const char *invalid_key =
        "{\"error\":{\"message\":\"Incorrect API key provided: sk-****ab. You can find your API "
        "key in your dashboard.\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":"
        "\"invalid_api_key\"}}";
    sc_classify_result r = classify(401, "application/json", invalid_key);
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_AUTH_ERROR);
    CHECK_STR(r.error_code, "invalid_api_key");
    CHECK_STR(r.error_type, "invalid_request_error");
    CHECK(!r.retryable);
    CHECK_EQ(cls(401, "not json at all"), SC_ERROR_CLASS_AUTH_ERROR);
    CHECK_EQ(cls(403, ERR("\"permission_error\"", "null")), SC_ERROR_CLASS_AUTH_ERROR);
    CHECK_EQ(cls(403, ERR("\"invalid_request_error\"", "\"moderation_blocked\"")),
             SC_ERROR_CLASS_POLICY_REJECTION);
    CHECK_EQ(cls(400, ERR("\"invalid_request_error\"", "\"content_policy_violation\"")),
             SC_ERROR_CLASS_POLICY_REJECTION);
    CHECK_EQ(cls(400, ERR("\"invalid_request_error\"", "\"content_filter\"")),
             SC_ERROR_CLASS_POLICY_REJECTION);
    CHECK_EQ(cls(400, ERR("\"invalid_request_error\"", "null")), SC_ERROR_CLASS_INVALID_REQUEST);
    CHECK_EQ(cls(422, ERR("\"invalid_request_error\"", "null")), SC_ERROR_CLASS_INVALID_REQUEST);
    CHECK_EQ(cls(422, ERR("\"content_filter\"", "null")), SC_ERROR_CLASS_POLICY_REJECTION);
    CHECK_EQ(cls(405, ERR("\"invalid_request_error\"", "null")), SC_ERROR_CLASS_INVALID_REQUEST);
    CHECK_EQ(cls(413, NULL), SC_ERROR_CLASS_INVALID_REQUEST);
    CHECK_EQ(cls(402, NULL), SC_ERROR_CLASS_QUOTA_EXCEEDED);
    CHECK_EQ(cls(400, ERR("\"insufficient_quota\"", "null")), SC_ERROR_CLASS_QUOTA_EXCEEDED);
}

static void not_found(void)
{
    const char *mnf = "{\"error\":{\"message\":\"The model `gpt-9` does not exist or you do not "
                      "have access to it.\",\"type\":\"invalid_request_error\",\"param\":\"model\","
                      "\"code\":\"model_not_found\"}}";
    CHECK_EQ(cls(404, mnf), SC_ERROR_CLASS_MODEL_NOT_FOUND);
    /* No code, but the message says so. */
    CHECK_EQ(cls(404, "{\"error\":{\"message\":\"The model `x` does not exist\",\"code\":null}}"),
             SC_ERROR_CLASS_MODEL_NOT_FOUND);
    CHECK_EQ(cls(404, "{\"error\":{\"message\":\"Model x not found\"}}"),
             SC_ERROR_CLASS_MODEL_NOT_FOUND);
    /* A JSON 404 about something else: the probe is misconfigured. */
    CHECK_EQ(cls(404, "{\"error\":{\"message\":\"Invalid URL (POST /v1/chat/completion)\","
                      "\"type\":\"invalid_request_error\",\"code\":null}}"),
             SC_ERROR_CLASS_INVALID_REQUEST);
    CHECK_EQ(cls(400, mnf), SC_ERROR_CLASS_MODEL_NOT_FOUND);
    /* html_404 fault: a page, not an API answer. */
    sc_classify_result r = classify(404, "text/html; charset=utf-8",
                                    "<!DOCTYPE html>\n<html><title>404 Not Found</title></html>");
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_PARSE_ERROR);
    CHECK_EQ(r.check, SC_CHECK_HTML_INSTEAD_OF_JSON);
    CHECK_EQ(r.status_class, SC_STATUS_CLASS_4XX);
    r = classify(404, NULL, "<html>");
    CHECK_EQ(r.check, SC_CHECK_HTML_INSTEAD_OF_JSON);
}

static void limits_and_timeouts(void)
{
    const char *rl = "{\"error\":{\"message\":\"Rate limit reached for requests per min (RPM): "
                     "Limit 3, Used 3, Requested 1. Please try again in 1s.\",\"type\":"
                     "\"requests\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}";
    sc_classify_result r = classify(429, "application/json", rl);
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_RATE_LIMITED);
    CHECK(r.retryable);
    const char *quota = "{\"error\":{\"message\":\"You exceeded your current quota, please check "
                        "your plan and billing details.\",\"type\":\"insufficient_quota\","
                        "\"param\":null,\"code\":\"insufficient_quota\"}}";
    r = classify(429, "application/json", quota);
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_QUOTA_EXCEEDED);
    CHECK(!r.retryable);
    CHECK_EQ(cls(429, ERR("\"insufficient_quota\"", "null")), SC_ERROR_CLASS_QUOTA_EXCEEDED);
    CHECK_EQ(cls(429, ERR("\"x\"", "\"insufficient_quota\"")), SC_ERROR_CLASS_QUOTA_EXCEEDED);
    CHECK_EQ(cls(429, NULL), SC_ERROR_CLASS_RATE_LIMITED);
    r = classify(408, NULL, NULL);
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_TIMEOUT);
    CHECK(r.retryable);
}

static void server_errors(void)
{
    /* CometAPI's non-retryable 500. */
    const char *inv500 = "{\"error\":{\"message\":\"invalid request (request id: "
                         "20251122abcdef123456)\",\"type\":\"comet_api_error\",\"param\":null,"
                         "\"code\":\"invalid_request\"}}";
    sc_classify_result r = classify(500, "application/json", inv500);
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_INVALID_REQUEST);
    CHECK(!r.retryable);
    CHECK_STR(r.request_id, "20251122abcdef123456");
    CHECK_STR(r.error_type, "comet_api_error");
    /* The same code on a 502 is an upstream error. */
    CHECK_EQ(cls(502, inv500), SC_ERROR_CLASS_UPSTREAM_ERROR);
    const long st[] = {500, 502, 503, 504, 524, 501, 599};
    for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
        r = classify(st[i], "application/json", ERR("\"server_error\"", "null"));
        CHECK_EQ(r.error_class, SC_ERROR_CLASS_UPSTREAM_ERROR);
        CHECK(r.retryable);
        CHECK_EQ(r.status_class, SC_STATUS_CLASS_5XX);
    }
    /* Cloudflare's text and HTML bodies for 52x. */
    CHECK_EQ(classify(524, "text/plain; charset=UTF-8", "error code: 524").error_class,
             SC_ERROR_CLASS_UPSTREAM_ERROR);
    r = classify(502, "text/html; charset=UTF-8", "<!DOCTYPE html><html>Error 502</html>");
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_UPSTREAM_ERROR);
    CHECK_EQ(r.check, -1);
    /* one-api/new-api "no available channel": 503 + model_not_found is model_not_found. */
    r = classify(503, "application/json",
                 "{\"error\":{\"code\":\"model_not_found\",\"message\":\"No available channel for "
                 "model gpt-5 under group default (distributor) (request id: "
                 "20251128223112878876944RINyIMpQ)\",\"type\":\"new_api_error\"}}");
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_MODEL_NOT_FOUND);
    CHECK(!r.retryable);
    CHECK_STR(r.error_code, "model_not_found");
    CHECK_STR(r.request_id, "20251128223112878876944RINyIMpQ");
    /* Numeric codes some gateways send. */
    r = classify(500, "application/json", "{\"error\":{\"code\":500,\"message\":\"x\"}}");
    CHECK_STR(r.error_code, "500");
}

static void request_ids(void)
{
    /* The header wins over the message. */
    sc_classify_result r = classify_full(
        SC_HTTP_OK, 500, "application/json",
        "{\"error\":{\"message\":\"upstream error: do request failed (request id: "
        "20251122abcdef123456)\",\"type\":\"comet_api_error\",\"code\":\"do_request_failed\"}}",
        "req_0123456789abcdef0123456789abcdef", NULL);
    CHECK_STR(r.request_id, "req_0123456789abcdef0123456789abcdef");
    CHECK_STR(r.error_code, "do_request_failed");
    /* A header that is not a token is dropped; the message's id is used. */
    r = classify_full(SC_HTTP_OK, 500, "application/json",
                      "{\"error\":{\"message\":\"x (request id: 20251122abcdef123456)\"}}",
                      "bad value; with spaces", NULL);
    CHECK_STR(r.request_id, "20251122abcdef123456");

    char out[80];
    const char *m = "secret prompt echoed: tell me a joke (Request ID:   abc-DEF_123) and more";
    CHECK_EQ(sc_classify_request_id_from_message(m, strlen(m), out, sizeof out), 0);
    CHECK_STR(out, "abc-DEF_123"); /* only the token, nothing of the message */
    m = "request id 20251122abcdef123456";
    CHECK_EQ(sc_classify_request_id_from_message(m, strlen(m), out, sizeof out), 0);
    CHECK_STR(out, "20251122abcdef123456");
    m = "request id: short";
    CHECK_EQ(sc_classify_request_id_from_message(m, strlen(m), out, sizeof out), -ENOENT);
    CHECK_STR(out, "");
    char long_id[128];
    int n = snprintf(long_id, sizeof long_id, "(request id: %065d)", 1); /* 65 chars: too long */
    CHECK_EQ(sc_classify_request_id_from_message(long_id, (size_t)n, out, sizeof out), -ENOENT);
    n = snprintf(long_id, sizeof long_id, "(request id: %064d)", 1);
    CHECK_EQ(sc_classify_request_id_from_message(long_id, (size_t)n, out, sizeof out), 0);
    CHECK_EQ(strlen(out), 64);
    m = "request id: has/slash";
    CHECK_EQ(sc_classify_request_id_from_message(m, strlen(m), out, sizeof out), -ENOENT);
    m = "no id here";
    CHECK_EQ(sc_classify_request_id_from_message(m, strlen(m), out, sizeof out), -ENOENT);
    m = "request id: abcdef";
    CHECK_EQ(sc_classify_request_id_from_message(m, strlen(m) - 1, out, sizeof out), -ENOENT);
    CHECK_EQ(sc_classify_request_id_from_message(m, strlen(m), out, 4), -ENOENT); /* cap */
    CHECK_EQ(sc_classify_request_id_from_message(NULL, 3, out, sizeof out), -EINVAL);
    /* Every prefix of a message: exact-size copies for ASan. */
    m = "do request failed (request id: 20251122abcdef123456)";
    for (size_t k = 0; k <= strlen(m); k++) {
        char *copy = malloc(k ? k : 1);
        memcpy(copy, m, k);
        int rc = sc_classify_request_id_from_message(copy, k, out, sizeof out);
        CHECK(rc == 0 || rc == -ENOENT);
        free(copy);
    }
}

/* Nothing from the message but the id may reach the result. */
static void message_never_kept(void)
{
    const char *body = "{\"error\":{\"message\":\"SECRETPROMPT (request id: 20251122abcdef123456)"
                       "\",\"type\":\"SECRET PROMPT\",\"code\":\"<script>\"}}";
    sc_classify_result r = classify(500, "application/json", body);
    CHECK(memmem(&r, sizeof r, "SECRET", 6) == NULL);
    CHECK_STR(r.error_type, "");
    CHECK_STR(r.error_code, "");
    CHECK_STR(r.request_id, "20251122abcdef123456");
}

static void code_mapping(void)
{
    CHECK_EQ(sc_classify_error_code(NULL, NULL, SC_ERROR_CLASS_UPSTREAM_ERROR),
             SC_ERROR_CLASS_UPSTREAM_ERROR);
    CHECK_EQ(sc_classify_error_code("insufficient_quota", NULL, 0), SC_ERROR_CLASS_QUOTA_EXCEEDED);
    CHECK_EQ(sc_classify_error_code(NULL, "tokens", 0), SC_ERROR_CLASS_RATE_LIMITED);
    CHECK_EQ(sc_classify_error_code("content_filter", NULL, 0), SC_ERROR_CLASS_POLICY_REJECTION);
    CHECK_EQ(sc_classify_error_code("model_not_found", NULL, 0), SC_ERROR_CLASS_MODEL_NOT_FOUND);
    CHECK_EQ(sc_classify_error_code("invalid_api_key", NULL, 0), SC_ERROR_CLASS_AUTH_ERROR);
    CHECK_EQ(sc_classify_error_code("invalid_prompt", NULL, 0), SC_ERROR_CLASS_INVALID_REQUEST);
    CHECK_EQ(sc_classify_error_code("server_error", NULL, 0), SC_ERROR_CLASS_UPSTREAM_ERROR);
    CHECK(!sc_classify_retryable(SC_ERROR_CLASS_NONE, false));
    CHECK(!sc_classify_retryable(SC_ERROR_CLASS_PARSE_ERROR, false));
    CHECK(sc_classify_retryable(SC_ERROR_CLASS_STREAM_INTERRUPTED, false));
    CHECK(!sc_classify_retryable(SC_ERROR_CLASS_STREAM_INTERRUPTED, true));
    CHECK(sc_classify_retryable(SC_ERROR_CLASS_NETWORK_ERROR, true));
}

int main(void)
{
    RUN(transport_errors);
    RUN(broken_streams);
    RUN(success_and_contract);
    RUN(redirects_and_odd_statuses);
    RUN(auth_and_policy);
    RUN(not_found);
    RUN(limits_and_timeouts);
    RUN(server_errors);
    RUN(request_ids);
    RUN(message_never_kept);
    RUN(code_mapping);
    return sc_test_summary();
}
