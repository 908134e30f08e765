/* test_canary_contract_stream.c - tests for canary/contract_stream fed through canary/sse, with
 * streams written the way tests/mock_upstream writes them (chat chunks with and without
 * include_usage, Responses events) and its stream faults (stream_cut, invalid_json, no_usage,
 * model_substituted), plus error, failed and incomplete terminal events. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "canary/contract_stream.h"
#include "canary/sse.h"
#include "harness.h"

#define BIT(c) SC_CHECK_BIT(SC_CHECK_##c)

#define CHAT_USAGE                                                                                 \
    "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":1,\"total_tokens\":13,"                 \
    "\"prompt_tokens_details\":{\"cached_tokens\":0,\"audio_tokens\":0},"                          \
    "\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_tokens\":0,"                    \
    "\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}"

#define RESP_USAGE                                                                                 \
    "\"usage\":{\"input_tokens\":9,\"input_tokens_details\":{\"cached_tokens\":0},"                \
    "\"output_tokens\":1,\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":10}"

#define RESP_OBJ(status, output, usage)                                                            \
    "{\"id\":\"resp_0123abcd\",\"object\":\"response\",\"created_at\":1763800000,\"status\":"      \
    "\"" status "\",\"error\":null,\"incomplete_details\":null,\"instructions\":null,"             \
    "\"max_output_tokens\":null,\"model\":\"gpt-4.1-mini-2025-04-14\",\"output\":[" output "],"    \
    "\"parallel_tool_calls\":true,\"store\":true,\"temperature\":1.0,\"text\":{\"format\":"        \
    "{\"type\":\"text\"}},\"tool_choice\":\"auto\",\"tools\":[],\"top_p\":1.0," usage              \
    ",\"user\":null,\"metadata\":{}}"

#define MSG_ITEM                                                                                   \
    "{\"id\":\"msg_01\",\"type\":\"message\",\"status\":\"completed\",\"role\":\"assistant\","     \
    "\"content\":[{\"type\":\"output_text\",\"text\":\"ok\",\"annotations\":[],\"logprobs\":[]}]}"

/* ---- Streams ----------------------------------------------------------------------------------
 */

#define CHUNK(delta, finish, extra)                                                                \
    "{\"id\":\"chatcmpl-s1\",\"object\":\"chat.completion.chunk\",\"created\":1763800000,"         \
    "\"model\":\"gpt-4o-mini-2024-07-18\",\"service_tier\":\"default\",\"system_fingerprint\":"    \
    "\"fp_1\",\"choices\":[{\"index\":0,\"delta\":" delta                                          \
    ",\"logprobs\":null,\"finish_reason\":" finish "}]" extra "}"

static const char *const chat_stream_usage[] = {
    NULL,
    CHUNK("{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}", "null", ",\"usage\":null"),
    NULL,
    CHUNK("{\"content\":\"o\"}", "null", ",\"usage\":null"),
    NULL,
    CHUNK("{\"content\":\"k\"}", "null", ",\"usage\":null"),
    NULL,
    CHUNK("{}", "\"stop\"", ",\"usage\":null"),
    NULL,
    "{\"id\":\"chatcmpl-s1\",\"object\":\"chat.completion.chunk\",\"created\":1763800000,"
    "\"model\":\"gpt-4o-mini-2024-07-18\",\"service_tier\":\"default\",\"system_fingerprint\":"
    "\"fp_1\",\"choices\":[]," CHAT_USAGE "}",
    NULL,
    "[DONE]",
};

/* Without include_usage: no usage field at all, no usage chunk. */
static const char *const chat_stream_plain[] = {
    NULL, CHUNK("{\"role\":\"assistant\",\"content\":\"\"}", "null", ""),
    NULL, CHUNK("{\"content\":\"ok\"}", "null", ""),
    NULL, CHUNK("{}", "\"stop\"", ""),
    NULL, "[DONE]",
};

typedef struct feed_ctx {
    sc_contract_stream cs;
    int flags[32];
    int n;
} feed_ctx;

static int to_contract(const sc_sse_event *ev, void *arg)
{
    feed_ctx *c = arg;
    int f = sc_contract_stream_event(&c->cs, ev->type, ev->type_len, ev->data, ev->data_len);
    if (c->n < 32)
        c->flags[c->n++] = f;
    return 0;
}

/* Writes the first `keep` (name, data) pairs as the mock writes them ("event: N\n" when named,
 * "data: D\n\n"), parses them with the SSE parser one byte per feed and runs the contract. */
static const sc_contract_result *run_stream(feed_ctx *c, sc_contract_api api, const char *const *ev,
                                            size_t n_pairs, size_t keep, const char *model,
                                            bool expect_usage)
{
    static char text[16384];
    size_t len = 0;
    for (size_t i = 0; i < n_pairs && i < keep; i++) {
        if (ev[2 * i] != NULL)
            len += (size_t)snprintf(text + len, sizeof text - len, "event: %s\n", ev[2 * i]);
        len += (size_t)snprintf(text + len, sizeof text - len, "data: %s\n\n", ev[2 * i + 1]);
    }
    memset(c, 0, sizeof *c);
    CHECK_EQ(sc_contract_stream_init(&c->cs, api, model, expect_usage), 0);
    sc_sse p;
    CHECK_EQ(sc_sse_init(&p, 8192, to_contract, c), 0);
    for (size_t i = 0; i < len; i++)
        CHECK_EQ(sc_sse_feed(&p, text + i, 1), 0);
    CHECK_EQ(sc_sse_finish(&p), 0);
    sc_sse_free(&p);
    return sc_contract_stream_finish(&c->cs);
}

#define PAIRS(a) (sizeof(a) / sizeof(a[0]) / 2)

static void chat_stream_ok(void)
{
    feed_ctx c;
    const sc_contract_result *r = run_stream(&c, SC_CONTRACT_API_CHAT, chat_stream_usage,
                                             PAIRS(chat_stream_usage), 99, "gpt-4o-mini", true);
    CHECK_EQ(r->failed, 0);
    CHECK_EQ(r->error_class, SC_ERROR_CLASS_NONE);
    CHECK(r->terminated && r->content_seen);
    CHECK_EQ(r->content_chars, 2);
    CHECK(r->usage_present);
    CHECK_EQ(r->input_tokens, 12);
    CHECK_EQ(r->output_tokens, 1);
    CHECK_STR(r->response_id, "chatcmpl-s1");
    CHECK_STR(r->response_model, "gpt-4o-mini-2024-07-18");
    CHECK_STR(r->finish_reasons[0], "stop");
    CHECK_EQ(r->events, 6);
    CHECK(sc_shape_names_has(&r->fields, "usage"));
    REQUIRE(c.n == 6);
    CHECK_EQ(c.flags[0], 0); /* role chunk: empty content is not content */
    CHECK_EQ(c.flags[1], SC_CONTRACT_EV_CONTENT | SC_CONTRACT_EV_FIRST_CONTENT);
    CHECK_EQ(c.flags[2], SC_CONTRACT_EV_CONTENT);
    CHECK_EQ(c.flags[3], 0);
    CHECK_EQ(c.flags[5], SC_CONTRACT_EV_TERMINAL);
    /* Events after [DONE] are ignored. */
    CHECK_EQ(sc_contract_stream_event(&c.cs, NULL, 0, "{}", 2), SC_CONTRACT_EV_IGNORED);
    CHECK_EQ(c.cs.res.failed, 0);

    r = run_stream(&c, SC_CONTRACT_API_CHAT, chat_stream_plain, PAIRS(chat_stream_plain), 99,
                   "gpt-4o-mini", false);
    CHECK_EQ(r->failed, 0);
    CHECK(!r->usage_present);
}

static void chat_stream_faults(void)
{
    feed_ctx c;
    /* no_usage with include_usage asked for. */
    const sc_contract_result *r = run_stream(&c, SC_CONTRACT_API_CHAT, chat_stream_plain,
                                             PAIRS(chat_stream_plain), 99, "gpt-4o-mini", true);
    CHECK_EQ(r->failed, BIT(MISSING_USAGE));
    /* stream_cut after 1 event: interrupted before content. */
    r = run_stream(&c, SC_CONTRACT_API_CHAT, chat_stream_usage, PAIRS(chat_stream_usage), 1,
                   "gpt-4o-mini", true);
    CHECK_EQ(r->failed, BIT(MISSING_DONE));
    CHECK_EQ(r->error_class, SC_ERROR_CLASS_STREAM_INTERRUPTED);
    CHECK(!r->content_seen);
    /* ... after 3: content had arrived. */
    r = run_stream(&c, SC_CONTRACT_API_CHAT, chat_stream_usage, PAIRS(chat_stream_usage), 3,
                   "gpt-4o-mini", true);
    CHECK_EQ(r->failed, BIT(MISSING_DONE));
    CHECK(r->content_seen);
    /* model_substituted. */
    r = run_stream(&c, SC_CONTRACT_API_CHAT, chat_stream_usage, PAIRS(chat_stream_usage), 99,
                   "gpt-4.1", true);
    CHECK_EQ(r->failed, BIT(MODEL_SUBSTITUTED));

    /* invalid_json: the second event truncated; the stream goes on. */
    const char *const bad_json[] = {
        NULL, chat_stream_usage[1], NULL, "{\"id\":\"chatcmpl-s1\",\"object\":\"chat.comp",
        NULL, chat_stream_usage[5], NULL, chat_stream_usage[7],
        NULL, chat_stream_usage[9], NULL, "[DONE]"};
    r = run_stream(&c, SC_CONTRACT_API_CHAT, bad_json, PAIRS(bad_json), 99, "gpt-4o-mini", true);
    CHECK_EQ(r->failed, BIT(INVALID_JSON));
    CHECK_EQ(c.flags[1], SC_CONTRACT_EV_VIOLATION);

    /* Wrong chunk object, no finish reason, no content, no id/model. */
    const char *const odd[] = {
        NULL, "{\"object\":\"chat.completion\",\"choices\":[{\"delta\":{\"content\":\"\"}}]}", NULL,
        "[DONE]"};
    r = run_stream(&c, SC_CONTRACT_API_CHAT, odd, PAIRS(odd), 99, "gpt-4o-mini", false);
    CHECK_EQ(r->failed, BIT(WRONG_CHUNK_OBJECT) | BIT(MISSING_ID) | BIT(MISSING_MODEL) |
                            BIT(MISSING_FINISH_REASON) | BIT(MISSING_CONTENT));
    const char *const only_done[] = {NULL, "[DONE]"};
    r = run_stream(&c, SC_CONTRACT_API_CHAT, only_done, 1, 99, NULL, false);
    CHECK(r->failed & BIT(MISSING_CHOICES));

    /* An error chunk mid-stream ends it with the error's class. */
    const char *const err[] = {
        NULL, chat_stream_usage[1], NULL,
        "{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\",\"code\":"
        "\"insufficient_quota\"}}"};
    r = run_stream(&c, SC_CONTRACT_API_CHAT, err, PAIRS(err), 99, "gpt-4o-mini", true);
    CHECK_EQ(r->failed, BIT(ERROR_EVENT));
    CHECK_EQ(r->error_class, SC_ERROR_CLASS_QUOTA_EXCEEDED);
    CHECK_EQ(c.flags[1], SC_CONTRACT_EV_TERMINAL | SC_CONTRACT_EV_VIOLATION);
}

#define RESP_EVENT(type, rest) "{\"type\":\"" type "\",\"sequence_number\":0" rest "}"

static const char *const resp_stream[] = {
    "response.created",
    RESP_EVENT("response.created", ",\"response\":" RESP_OBJ("in_progress", "", "\"usage\":null")),
    "response.in_progress",
    RESP_EVENT("response.in_progress",
               ",\"response\":" RESP_OBJ("in_progress", "", "\"usage\":null")),
    "response.output_item.added",
    RESP_EVENT("response.output_item.added",
               ",\"output_index\":0,\"item\":{\"id\":\"msg_01\",\"type\":\"message\",\"status\":"
               "\"in_progress\",\"role\":\"assistant\",\"content\":[]}"),
    "response.content_part.added",
    RESP_EVENT("response.content_part.added",
               ",\"item_id\":\"msg_01\",\"output_index\":0,\"content_index\":0,\"part\":{\"type\":"
               "\"output_text\",\"text\":\"\"}"),
    "response.output_text.delta",
    RESP_EVENT("response.output_text.delta",
               ",\"item_id\":\"msg_01\",\"delta\":\"o\",\"logprobs\":[]"),
    "response.output_text.delta",
    RESP_EVENT("response.output_text.delta",
               ",\"item_id\":\"msg_01\",\"delta\":\"k\",\"logprobs\":[]"),
    "response.output_text.done",
    RESP_EVENT("response.output_text.done", ",\"item_id\":\"msg_01\",\"text\":\"ok\""),
    "response.output_item.done",
    RESP_EVENT("response.output_item.done", ",\"output_index\":0,\"item\":" MSG_ITEM),
    "response.completed",
    RESP_EVENT("response.completed", ",\"response\":" RESP_OBJ("completed", MSG_ITEM, RESP_USAGE)),
};

static void responses_stream_ok(void)
{
    feed_ctx c;
    const sc_contract_result *r = run_stream(&c, SC_CONTRACT_API_RESPONSES, resp_stream,
                                             PAIRS(resp_stream), 99, "gpt-4.1-mini", false);
    CHECK_EQ(r->failed, 0);
    CHECK(r->terminated);
    CHECK_EQ(r->content_chars, 2); /* the deltas; the completed object's text is not recounted */
    CHECK_EQ(r->input_tokens, 9);
    CHECK_EQ(r->output_tokens, 1);
    CHECK_STR(r->response_id, "resp_0123abcd");
    CHECK(sc_shape_names_has(&r->fields, "created_at"));
    CHECK(!sc_shape_names_has(&r->fields, "sequence_number")); /* the response's names */
    REQUIRE(c.n == 9);
    CHECK_EQ(c.flags[4], SC_CONTRACT_EV_CONTENT | SC_CONTRACT_EV_FIRST_CONTENT);
    CHECK_EQ(c.flags[5], SC_CONTRACT_EV_CONTENT);
    CHECK_EQ(c.flags[8], SC_CONTRACT_EV_TERMINAL);
}

static void responses_stream_faults(void)
{
    feed_ctx c;
    /* stream_cut after the first delta: no terminal event; the id is known from created. */
    const sc_contract_result *r = run_stream(&c, SC_CONTRACT_API_RESPONSES, resp_stream,
                                             PAIRS(resp_stream), 5, "gpt-4.1-mini", false);
    CHECK_EQ(r->failed, BIT(MISSING_TERMINAL_EVENT));
    CHECK_EQ(r->error_class, SC_ERROR_CLASS_STREAM_INTERRUPTED);
    CHECK(r->content_seen);
    CHECK_STR(r->response_id, "resp_0123abcd");
    CHECK_STR(r->response_model, "gpt-4.1-mini-2025-04-14");

    const char *const failed[] = {
        "response.created", resp_stream[1], "response.failed",
        RESP_EVENT("response.failed", ",\"response\":{\"id\":\"resp_1\",\"object\":\"response\","
                                      "\"status\":\"failed\",\"model\":\"gpt-4.1-mini\",\"error\":"
                                      "{\"code\":\"server_error\",\"message\":\"x\"}}")};
    r = run_stream(&c, SC_CONTRACT_API_RESPONSES, failed, PAIRS(failed), 99, "gpt-4.1-mini", false);
    CHECK_EQ(r->failed, BIT(WRONG_STATUS) | BIT(ERROR_EVENT));
    CHECK_EQ(r->error_class, SC_ERROR_CLASS_UPSTREAM_ERROR);

    const char *const incomplete[] = {
        "response.incomplete",
        RESP_EVENT("response.incomplete",
                   ",\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"status\":"
                   "\"incomplete\",\"model\":\"gpt-4.1-mini\",\"incomplete_details\":{\"reason\":"
                   "\"max_output_tokens\"}}")};
    r = run_stream(&c, SC_CONTRACT_API_RESPONSES, incomplete, 1, 99, "gpt-4.1-mini", false);
    CHECK_EQ(r->failed, BIT(WRONG_STATUS));
    CHECK_EQ(r->error_class, SC_ERROR_CLASS_PARSE_ERROR);
    CHECK_STR(r->finish_reasons[0], "max_output_tokens");

    const char *const error[] = {
        "error", "{\"type\":\"error\",\"code\":\"rate_limit_exceeded\",\"message\":\"slow down\","
                 "\"param\":null,\"sequence_number\":3}"};
    r = run_stream(&c, SC_CONTRACT_API_RESPONSES, error, 1, 99, "gpt-4.1-mini", false);
    CHECK_EQ(r->failed, BIT(ERROR_EVENT));
    CHECK_EQ(r->error_class, SC_ERROR_CLASS_RATE_LIMITED);
    CHECK(r->terminated);

    /* Event name and payload type disagree; a payload without type; invalid JSON. */
    const char *const odd[] = {"response.output_text.delta",
                               RESP_EVENT("response.refusal.delta", ",\"delta\":\"no\""),
                               NULL,
                               "{\"sequence_number\":1}",
                               "response.output_text.delta",
                               "{\"type\":\"response.output_text.delta\",\"delta\":",
                               "response.completed",
                               resp_stream[17]};
    r = run_stream(&c, SC_CONTRACT_API_RESPONSES, odd, PAIRS(odd), 99, "gpt-4.1-mini", false);
    CHECK_EQ(r->failed, BIT(WRONG_CHUNK_OBJECT) | BIT(INVALID_JSON));
    CHECK(r->refusal);

    /* Substituted model in the completed response. */
    r = run_stream(&c, SC_CONTRACT_API_RESPONSES, resp_stream, PAIRS(resp_stream), 99, "gpt-4o",
                   false);
    CHECK_EQ(r->failed, BIT(MODEL_SUBSTITUTED));
}

static void stream_args(void)
{
    sc_contract_stream s;
    char longmodel[300];
    memset(longmodel, 'm', sizeof longmodel - 1);
    longmodel[sizeof longmodel - 1] = '\0';
    CHECK_EQ(sc_contract_stream_init(&s, SC_CONTRACT_API_CHAT, longmodel, false), -EINVAL);
    CHECK_EQ(sc_contract_stream_init(&s, (sc_contract_api)7, NULL, false), -EINVAL);
    REQUIRE(sc_contract_stream_init(&s, SC_CONTRACT_API_CHAT, NULL, false) == 0);
    CHECK_EQ(sc_contract_stream_event(&s, NULL, 0, NULL, 4), -EINVAL);
    CHECK_EQ(sc_contract_stream_event(&s, NULL, 0, NULL, 0), SC_CONTRACT_EV_VIOLATION);
    const sc_contract_result *r = sc_contract_stream_finish(&s);
    CHECK_EQ(r->failed, BIT(INVALID_JSON) | BIT(MISSING_DONE));
    CHECK(sc_contract_stream_finish(&s) == r); /* idempotent */
    CHECK_EQ(r->failed, BIT(INVALID_JSON) | BIT(MISSING_DONE));
    sc_contract_result out;
    CHECK_EQ(sc_contract_check_body(SC_CONTRACT_API_CHAT, NULL, 3, NULL, &out), -EINVAL);
    CHECK_EQ(sc_contract_check_body(SC_CONTRACT_API_CHAT, "{}", 2, NULL, NULL), -EINVAL);
}

int main(void)
{
    RUN(chat_stream_ok);
    RUN(chat_stream_faults);
    RUN(responses_stream_ok);
    RUN(responses_stream_faults);
    RUN(stream_args);
    return sc_test_summary();
}
