/* test_canary_contract.c - tests for canary/contract and canary/shape: non-streaming bodies shaped
 * like tests/mock_upstream/bodies.py answers and its faults (no_usage, shape_change,
 * model_substituted, invalid_json, empty_200, html_404), check names, the model rule, shape
 * drift, and every prefix of real bodies (streams: test_canary_contract_stream.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "canary/contract.h"
#include "canary/contract_stream.h"
#include "harness.h"

#define BIT(c) SC_CHECK_BIT(SC_CHECK_##c)

/* ---- Bodies -----------------------------------------------------------------------------------
 */

#define CHAT_USAGE                                                                                 \
    "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":1,\"total_tokens\":13,"                 \
    "\"prompt_tokens_details\":{\"cached_tokens\":0,\"audio_tokens\":0},"                          \
    "\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_tokens\":0,"                    \
    "\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}"

static const char chat_ok[] =
    "{\"id\":\"chatcmpl-abc123def456abc123def456abc12\",\"object\":\"chat.completion\","
    "\"created\":1763800000,\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,"
    "\"message\":{\"role\":\"assistant\",\"content\":\"ok\",\"refusal\":null,\"annotations\":[]},"
    "\"logprobs\":null,\"finish_reason\":\"stop\"}],\"service_tier\":\"default\","
    "\"system_fingerprint\":\"fp_0123456789\"," CHAT_USAGE "}";

/* no_usage fault: the same without usage. */
static const char chat_no_usage[] =
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1763800000,"
    "\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
    "\"assistant\",\"content\":\"ok\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":"
    "\"stop\"}],\"service_tier\":\"default\",\"system_fingerprint\":\"fp_0123456789\"}";

/* shape_change fault: system_fingerprint and created dropped, a new field added. */
static const char chat_shape_change[] =
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-mini-2024-07-18\","
    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"ok\"},"
    "\"finish_reason\":\"stop\"}],\"service_tier\":\"default\"," CHAT_USAGE
    ",\"mock_unexpected_field\":{\"note\":\"shape_change fault\"}}";

/* model_substituted fault. */
static const char chat_substituted[] =
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1,\"model\":"
    "\"gpt-3.5-turbo-0125\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
    "\"content\":\"ok\"},\"finish_reason\":\"stop\"}]," CHAT_USAGE "}";

static const char html_404[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>404 Not Found"
    "</title></head>\n<body><h1>404 Not Found</h1></body></html>\n";

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

static const char resp_ok[] = RESP_OBJ("completed", MSG_ITEM, RESP_USAGE);
static const char resp_no_usage[] = RESP_OBJ("completed", MSG_ITEM, "\"usage\":null");
static const char resp_no_text[] = RESP_OBJ("completed", "", RESP_USAGE);

/* Checks a body copied into an exact-size heap buffer (no NUL after it: ASan sees over-reads). */
static void check_body(sc_contract_api api, const char *body, size_t len, const char *model,
                       sc_contract_result *r)
{
    char *copy = malloc(len ? len : 1);
    memcpy(copy, body, len);
    CHECK_EQ(sc_contract_check_body(api, copy, len, model, r), 0);
    free(copy);
}

static uint32_t chat_failed(const char *body, const char *model)
{
    sc_contract_result r;
    check_body(SC_CONTRACT_API_CHAT, body, strlen(body), model, &r);
    return r.failed;
}

static uint32_t resp_failed(const char *body, sc_contract_result *r)
{
    check_body(SC_CONTRACT_API_RESPONSES, body, strlen(body), "gpt-4.1-mini", r);
    return r->failed;
}

/* ---- Non-streaming chat --------------------------------------------------------------------- */

static void chat_passes(void)
{
    sc_contract_result r;
    check_body(SC_CONTRACT_API_CHAT, chat_ok, strlen(chat_ok), "gpt-4o-mini", &r);
    CHECK_EQ(r.failed, 0);
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_NONE);
    CHECK(r.usage_present);
    CHECK_EQ(r.input_tokens, 12);
    CHECK_EQ(r.output_tokens, 1);
    CHECK_EQ(r.total_tokens, 13);
    CHECK_STR(r.response_id, "chatcmpl-abc123def456abc123def456abc12");
    CHECK_STR(r.response_model, "gpt-4o-mini-2024-07-18");
    CHECK_EQ(r.n_finish, 1);
    CHECK_STR(r.finish_reasons[0], "stop");
    CHECK(r.content_seen && !r.refusal);
    CHECK_EQ(r.content_chars, 2);
    CHECK(sc_shape_names_has(&r.fields, "system_fingerprint"));
    CHECK(sc_shape_names_has(&r.fields, "usage"));
    CHECK(!sc_shape_names_has(&r.fields, "message")); /* top level only */
    CHECK_EQ(r.fields.n, 8);
    /* Whitespace around the JSON is fine. */
    CHECK_EQ(chat_failed("\r\n {\"id\":\"c\",\"object\":\"chat.completion\",\"model\":\"m\","
                         "\"choices\":[{\"message\":{\"content\":\"hi\"},\"finish_reason\":"
                         "\"stop\"}]," CHAT_USAGE "}\n ",
                         "m"),
             0);
}

static void chat_faults(void)
{
    CHECK_EQ(chat_failed(chat_no_usage, "gpt-4o-mini"), BIT(MISSING_USAGE));
    CHECK_EQ(chat_failed(chat_substituted, "gpt-4o-mini"), BIT(MODEL_SUBSTITUTED));
    CHECK_EQ(chat_failed(chat_substituted, NULL), 0); /* no requested model: no check */
    /* invalid_json fault: the first half of a good body. Only that check is reported. */
    char half[sizeof chat_ok];
    memcpy(half, chat_ok, sizeof chat_ok / 2);
    half[sizeof chat_ok / 2] = '\0';
    CHECK_EQ(chat_failed(half, "gpt-4o-mini"), BIT(INVALID_JSON));
    CHECK_EQ(chat_failed("", "gpt-4o-mini"), BIT(EMPTY_BODY)); /* empty_200 */
    CHECK_EQ(chat_failed(" \r\n", "gpt-4o-mini"), BIT(EMPTY_BODY));
    CHECK_EQ(chat_failed(html_404, "gpt-4o-mini"), BIT(HTML_INSTEAD_OF_JSON));
    CHECK_EQ(chat_failed("[1,2]", NULL), BIT(INVALID_JSON));
    CHECK_EQ(chat_failed("\"ok\"", NULL), BIT(INVALID_JSON));
    CHECK_EQ(chat_failed("{\"id\":\"x\"} trailing", NULL), BIT(INVALID_JSON));
    CHECK_EQ(chat_failed("{\"id\":\"x\"}{}", NULL), BIT(INVALID_JSON));
    /* shape_change is not a per-body failure: the caller compares shapes (see shape_drift). */
    CHECK_EQ(chat_failed(chat_shape_change, "gpt-4o-mini"), 0);
}

#define CHAT(fields) "{" fields "}"
#define GOOD_CHOICES "\"choices\":[{\"message\":{\"content\":\"ok\"},\"finish_reason\":\"stop\"}]"

static void chat_each_check(void)
{
    const char *m = "gpt-4o";
    CHECK_EQ(chat_failed(CHAT("\"object\":\"chat.completion\",\"model\":\"gpt-4o\"," GOOD_CHOICES
                              "," CHAT_USAGE),
                         m),
             BIT(MISSING_ID));
    CHECK_EQ(
        chat_failed(
            CHAT("\"id\":\"\",\"object\":\"chat.completion\",\"model\":\"gpt-4o\"," GOOD_CHOICES
                 "," CHAT_USAGE),
            m),
        BIT(MISSING_ID));
    CHECK_EQ(
        chat_failed(
            CHAT("\"id\":\"c\",\"object\":\"text_completion\",\"model\":\"gpt-4o\"," GOOD_CHOICES
                 "," CHAT_USAGE),
            m),
        BIT(WRONG_OBJECT));
    CHECK_EQ(
        chat_failed(
            CHAT("\"id\":\"c\",\"object\":\"chat.completion\"," GOOD_CHOICES "," CHAT_USAGE), m),
        BIT(MISSING_MODEL));
    CHECK_EQ(chat_failed(CHAT("\"id\":\"c\",\"object\":\"chat.completion\",\"model\":\"gpt-4o\","
                              "\"choices\":[]," CHAT_USAGE),
                         m),
             BIT(MISSING_CHOICES));
    CHECK_EQ(chat_failed(CHAT("\"id\":\"c\",\"object\":\"chat.completion\",\"model\":\"gpt-4o\","
                              "\"choices\":{}," CHAT_USAGE),
                         m),
             BIT(MISSING_CHOICES));
    CHECK_EQ(chat_failed(CHAT("\"id\":\"c\",\"object\":\"chat.completion\",\"model\":\"gpt-4o\","
                              "\"choices\":[{\"message\":{\"content\":null,\"refusal\":null},"
                              "\"finish_reason\":\"stop\"}]," CHAT_USAGE),
                         m),
             BIT(MISSING_CONTENT));
    CHECK_EQ(chat_failed(CHAT("\"id\":\"c\",\"object\":\"chat.completion\",\"model\":\"gpt-4o\","
                              "\"choices\":[{\"message\":{\"content\":\"\"},"
                              "\"finish_reason\":\"length\"}]," CHAT_USAGE),
                         m),
             BIT(MISSING_CONTENT)); /* an empty answer to a canary prompt fails */
    CHECK_EQ(chat_failed(CHAT("\"id\":\"c\",\"object\":\"chat.completion\",\"model\":\"gpt-4o\","
                              "\"choices\":[{\"message\":{\"content\":\"ok\"},"
                              "\"finish_reason\":null}]," CHAT_USAGE),
                         m),
             BIT(MISSING_FINISH_REASON));

    sc_contract_result r;
    const char *refusal =
        CHAT("\"id\":\"c\",\"object\":\"chat.completion\",\"model\":\"gpt-4o\","
             "\"choices\":[{\"message\":{\"content\":null,\"refusal\":"
             "\"I can\xE2\x80\x99t help\"},\"finish_reason\":\"stop\"}]," CHAT_USAGE);
    check_body(SC_CONTRACT_API_CHAT, refusal, strlen(refusal), m, &r);
    CHECK_EQ(r.failed, 0);
    CHECK(r.refusal && r.content_seen);
    CHECK_EQ(r.content_chars, 12); /* code points, not bytes */
}

static void chat_usage_rules(void)
{
#define WITH_USAGE(u)                                                                              \
    CHAT("\"id\":\"c\",\"object\":\"chat.completion\",\"model\":\"gpt-4o\"," GOOD_CHOICES          \
         ",\"usage\":" u)
    const char *m = "gpt-4o";
    CHECK_EQ(chat_failed(WITH_USAGE("null"), m), BIT(MISSING_USAGE));
    CHECK_EQ(chat_failed(WITH_USAGE("{\"prompt_tokens\":\"12\",\"completion_tokens\":1}"), m),
             BIT(USAGE_NOT_INTEGER));
    CHECK_EQ(chat_failed(WITH_USAGE("{\"prompt_tokens\":1.5,\"completion_tokens\":1}"), m),
             BIT(USAGE_NOT_INTEGER));
    CHECK_EQ(chat_failed(WITH_USAGE("{\"prompt_tokens\":-1,\"completion_tokens\":1}"), m),
             BIT(USAGE_NOT_INTEGER));
    CHECK_EQ(chat_failed(WITH_USAGE("{\"completion_tokens\":1}"), m), BIT(USAGE_NOT_INTEGER));
    CHECK_EQ(chat_failed(WITH_USAGE("{\"prompt_tokens\":1,\"completion_tokens\":1,"
                                    "\"total_tokens\":\"2\"}"),
                         m),
             BIT(USAGE_NOT_INTEGER));
    CHECK_EQ(chat_failed(WITH_USAGE("{\"prompt_tokens\":1e400,\"completion_tokens\":1}"), m),
             BIT(USAGE_NOT_INTEGER));
    sc_contract_result r;
    const char *no_total = WITH_USAGE("{\"prompt_tokens\":3,\"completion_tokens\":4}");
    check_body(SC_CONTRACT_API_CHAT, no_total, strlen(no_total), m, &r);
    CHECK_EQ(r.failed, 0);
    CHECK_EQ(r.total_tokens, 7);
#undef WITH_USAGE
}

static void chat_error_in_200(void)
{
    sc_contract_result r;
    const char *b = "{\"error\":{\"message\":\"Rate limit reached for gpt-4o\",\"type\":"
                    "\"requests\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}";
    check_body(SC_CONTRACT_API_CHAT, b, strlen(b), "gpt-4o", &r);
    CHECK_EQ(r.failed, BIT(ERROR_EVENT));
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_RATE_LIMITED);
    CHECK_STR(r.error_code, "rate_limit_exceeded");
    /* A code that is not a token is not kept. */
    b = "{\"error\":{\"message\":\"m\",\"code\":\"has space <b>\"}}";
    check_body(SC_CONTRACT_API_CHAT, b, strlen(b), "gpt-4o", &r);
    CHECK_STR(r.error_code, "");
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_UPSTREAM_ERROR);
}

static void tokens_are_filtered(void)
{
    sc_contract_result r;
    const char *b = CHAT("\"id\":\"chatcmpl-1 <script>\",\"object\":\"chat.completion\","
                         "\"model\":\"gpt-4o\\nX\"," GOOD_CHOICES "," CHAT_USAGE);
    check_body(SC_CONTRACT_API_CHAT, b, strlen(b), NULL, &r);
    CHECK_EQ(r.failed, 0); /* present, but not kept */
    CHECK_STR(r.response_id, "");
    CHECK_STR(r.response_model, "");
    char longid[400];
    int n = snprintf(longid, sizeof longid, "{\"id\":\"%0200d\",\"model\":\"m\"}", 7);
    check_body(SC_CONTRACT_API_CHAT, longid, (size_t)n, NULL, &r);
    CHECK_STR(r.response_id, "");
}

/* ---- Non-streaming Responses ------------------------------------------------------------------
 */

static void responses_body(void)
{
    sc_contract_result r;
    CHECK_EQ(resp_failed(resp_ok, &r), 0);
    CHECK_EQ(r.input_tokens, 9);
    CHECK_EQ(r.output_tokens, 1);
    CHECK_EQ(r.total_tokens, 10);
    CHECK_STR(r.response_id, "resp_0123abcd");
    CHECK_STR(r.response_model, "gpt-4.1-mini-2025-04-14");
    CHECK_EQ(r.content_chars, 2);
    CHECK(sc_shape_names_has(&r.fields, "created_at"));
    CHECK_EQ(resp_failed(resp_no_usage, &r), BIT(MISSING_USAGE));
    CHECK(!r.usage_present);
    CHECK_EQ(resp_failed(resp_no_text, &r), BIT(MISSING_OUTPUT_TEXT));
    CHECK_EQ(resp_failed(RESP_OBJ("completed",
                                  "{\"type\":\"message\",\"content\":[{\"type\":\"output_text\","
                                  "\"text\":\"\"}]}",
                                  RESP_USAGE),
                         &r),
             BIT(MISSING_OUTPUT_TEXT));
    /* A reasoning item first, the message after it. */
    CHECK_EQ(resp_failed(RESP_OBJ("completed", "{\"type\":\"reasoning\",\"summary\":[]}," MSG_ITEM,
                                  RESP_USAGE),
                         &r),
             0);
    CHECK_EQ(resp_failed(RESP_OBJ("completed",
                                  "{\"type\":\"message\",\"content\":[{\"type\":\"refusal\","
                                  "\"refusal\":\"no\"}]}",
                                  RESP_USAGE),
                         &r),
             0);
    CHECK(r.refusal);
    CHECK_EQ(resp_failed(RESP_OBJ("completed", MSG_ITEM,
                                  "\"usage\":{\"input_tokens\":1,\"output_tokens\":null}"),
                         &r),
             BIT(USAGE_NOT_INTEGER));
    const char *chat_as_resp = chat_ok;
    check_body(SC_CONTRACT_API_RESPONSES, chat_as_resp, strlen(chat_as_resp), NULL, &r);
    CHECK(r.failed & BIT(WRONG_OBJECT));
    CHECK(r.failed & BIT(WRONG_STATUS));
}

static void responses_status(void)
{
    sc_contract_result r;
    CHECK_EQ(resp_failed(RESP_OBJ("incomplete", MSG_ITEM, "\"usage\":null"), &r),
             BIT(WRONG_STATUS));
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_PARSE_ERROR); /* no incomplete_details: truncated */

    const char *incomplete_filter =
        "{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"incomplete\",\"model\":"
        "\"gpt-4.1-mini\",\"incomplete_details\":{\"reason\":\"content_filter\"},\"output\":[]}";
    CHECK_EQ(resp_failed(incomplete_filter, &r), BIT(WRONG_STATUS));
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_POLICY_REJECTION);
    CHECK_STR(r.finish_reasons[0], "content_filter");

    const char *failed =
        "{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"failed\",\"model\":"
        "\"gpt-4.1-mini\",\"error\":{\"code\":\"server_error\",\"message\":\"The model failed "
        "while answering: secret prompt text\"},\"output\":[]}";
    CHECK_EQ(resp_failed(failed, &r), BIT(WRONG_STATUS) | BIT(ERROR_EVENT));
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_UPSTREAM_ERROR);
    CHECK_STR(r.error_code, "server_error");

    const char *failed_rl =
        "{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"failed\",\"model\":"
        "\"gpt-4.1-mini\",\"error\":{\"code\":\"rate_limit_exceeded\",\"message\":\"m\"}}";
    resp_failed(failed_rl, &r);
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_RATE_LIMITED);

    CHECK_EQ(resp_failed(RESP_OBJ("in_progress", "", "\"usage\":null"), &r), BIT(WRONG_STATUS));
    CHECK_EQ(r.error_class, SC_ERROR_CLASS_NONE);
}

/* ---- Model rule ---------------------------------------------------------------------------------
 */

static void model_matching(void)
{
    CHECK(sc_contract_model_matches("gpt-4o-mini", "gpt-4o-mini"));
    CHECK(sc_contract_model_matches("gpt-4o-mini", "gpt-4o-mini-2024-07-18"));
    CHECK(sc_contract_model_matches("gpt-3.5-turbo", "gpt-3.5-turbo-0125"));
    CHECK(sc_contract_model_matches("o3-mini", "o3-mini-2025-01-31"));
    CHECK(sc_contract_model_matches("claude-3-5-sonnet", "claude-3-5-sonnet-20240620"));
    CHECK(!sc_contract_model_matches("gpt-4o-mini", "gpt-3.5-turbo-0125"));
    CHECK(!sc_contract_model_matches("gpt-4o", "gpt-4o-mini"));
    CHECK(!sc_contract_model_matches("gpt-4o", "gpt-4o-mini-2024-07-18"));
    CHECK(!sc_contract_model_matches("gpt-4o-mini", "openai/gpt-4o-mini")); /* no prefixes */
    CHECK(!sc_contract_model_matches("gpt-4o-mini", "GPT-4o-mini"));
    CHECK(!sc_contract_model_matches("gpt-4o-mini-2024-07-18", "gpt-4o-mini"));
    CHECK(!sc_contract_model_matches("gpt-4o-mini-2024-07-18", "gpt-4o-mini-2024-08-06"));
    CHECK(!sc_contract_model_matches("gpt-4o", "gpt-4o-2024-13-01")); /* month 13 */
    CHECK(!sc_contract_model_matches("gpt-4o", "gpt-4o-2024-07-00"));
    CHECK(!sc_contract_model_matches("gpt-4o", "gpt-4o-1999-07-18"));
    CHECK(!sc_contract_model_matches("gpt-4o", "gpt-4o-2024-07-18-x"));
    CHECK(!sc_contract_model_matches("gpt-4o", "gpt-4o-2024_07_18"));
    CHECK(!sc_contract_model_matches("gpt-4o", "gpt-4o-12345"));
    CHECK(!sc_contract_model_matches("gpt-4o", "gpt-4o-"));
    CHECK(!sc_contract_model_matches("", "gpt-4o"));
    CHECK(!sc_contract_model_matches(NULL, "gpt-4o"));
    CHECK(!sc_contract_model_matches("gpt-4o", NULL));
}

/* ---- Names and shape drift ------------------------------------------------------------------- */

static void check_names(void)
{
    static const char *const want[] = {"invalid_json",         "missing_id",
                                       "wrong_object",         "missing_choices",
                                       "missing_content",      "missing_finish_reason",
                                       "missing_model",        "missing_usage",
                                       "usage_not_integer",    "model_substituted",
                                       "shape_drift",          "missing_done",
                                       "wrong_chunk_object",   "missing_output_text",
                                       "wrong_status",         "missing_terminal_event",
                                       "html_instead_of_json", "redirect",
                                       "empty_body",           "error_event"};
    CHECK_EQ(sizeof want / sizeof want[0], SC_CHECK__COUNT);
    for (int i = 0; i < SC_CHECK__COUNT; i++) {
        CHECK_STR(sc_contract_check_name((sc_contract_check)i), want[i]);
        sc_contract_check c;
        CHECK_EQ(sc_contract_check_parse(want[i], strlen(want[i]), &c), 0);
        CHECK_EQ(c, i);
    }
    sc_contract_check c;
    CHECK(sc_contract_check_name(SC_CHECK__COUNT) == NULL);
    CHECK_EQ(sc_contract_check_parse("Redirect", 8, &c), -EINVAL);
    CHECK_EQ(sc_contract_check_parse("redirec", 7, &c), -EINVAL);
    CHECK_EQ(sc_contract_first_check(BIT(MISSING_USAGE) | BIT(REDIRECT), UINT32_MAX),
             SC_CHECK_MISSING_USAGE);
    CHECK_EQ(sc_contract_first_check(BIT(MISSING_USAGE), SC_CONTRACT_FATAL_DEFAULT), -1);
}

static void shape_drift(void)
{
    sc_contract_result good, changed;
    check_body(SC_CONTRACT_API_CHAT, chat_ok, strlen(chat_ok), NULL, &good);
    check_body(SC_CONTRACT_API_CHAT, chat_shape_change, strlen(chat_shape_change), NULL, &changed);
    sc_shape_baseline b;
    sc_shape_names added, missing;
    sc_shape_baseline_init(&b);
    CHECK(!sc_shape_compare(&b, &good.fields, &added, &missing)); /* no baseline yet */
    sc_shape_accept(&b, &good.fields);
    CHECK(!sc_shape_compare(&b, &good.fields, &added, &missing));
    CHECK(sc_shape_compare(&b, &changed.fields, &added, &missing));
    CHECK_EQ(added.n, 1);
    CHECK_STR(added.name[0], "mock_unexpected_field");
    CHECK_EQ(missing.n, 2);
    CHECK_STR(missing.name[0], "created");
    CHECK_STR(missing.name[1], "system_fingerprint");
    CHECK(sc_shape_compare(&b, &changed.fields, NULL, NULL));
    sc_shape_accept(&b, &changed.fields); /* the caller accepts the new shape */
    CHECK(!sc_shape_compare(&b, &changed.fields, &added, &missing));
    CHECK_EQ(added.n + missing.n, 0);
}

static void shape_names_bounded(void)
{
    sc_shape_names a, b;
    sc_shape_names_init(&a);
    sc_shape_names_init(&b);
    char name[16];
    /* 40 names in opposite orders: both keep the same 32 smallest. */
    for (int i = 0; i < 40; i++) {
        int n = snprintf(name, sizeof name, "f%02d", i);
        CHECK(sc_shape_names_add(&a, name, (size_t)n) >= 0);
        n = snprintf(name, sizeof name, "f%02d", 39 - i);
        CHECK(sc_shape_names_add(&b, name, (size_t)n) >= 0);
    }
    CHECK_EQ(a.n, SC_SHAPE_MAX_NAMES);
    CHECK(a.truncated && b.truncated);
    CHECK(memcmp(a.name, b.name, sizeof a.name) == 0);
    CHECK_STR(a.name[31], "f31");
    /* Sanitised and cut; duplicates after sanitising collapse. */
    sc_shape_names_init(&a);
    CHECK_EQ(sc_shape_names_add(&a, "we\"ird key", 10), 1);
    CHECK_STR(a.name[0], "we_ird_key");
    CHECK_EQ(sc_shape_names_add(&a, "we ird:key", 10), 0);
    char longname[100];
    memset(longname, 'k', sizeof longname);
    CHECK_EQ(sc_shape_names_add(&a, longname, sizeof longname), 1);
    CHECK_EQ(strlen(a.name[0]), SC_SHAPE_NAME_LEN - 1);
    CHECK_EQ(sc_shape_names_add(&a, "", 0), -EINVAL);
    sc_shape_names c;
    sc_shape_names_init(&c);
    sc_shape_names_merge(&c, &a);
    CHECK_EQ(c.n, a.n);
    CHECK(sc_shape_names_has(&c, "we_ird_key"));
    sc_shape_names_merge(&c, &b); /* 34 names: truncation carries over */
    CHECK(c.truncated);
    CHECK_EQ(c.n, SC_SHAPE_MAX_NAMES);
}

/* Every prefix of real bodies and of garbage must be handled without over-reads (ASan). */
static void prefixes_are_safe(void)
{
    const char *bodies[] = {chat_ok, resp_ok, html_404, "{\"a\":\"\\u12",
                            "{\"error\":{\"code\":1}}"};
    for (size_t b = 0; b < sizeof bodies / sizeof bodies[0]; b++) {
        size_t n = strlen(bodies[b]);
        for (size_t k = 0; k <= n; k++) {
            sc_contract_result r;
            check_body(SC_CONTRACT_API_CHAT, bodies[b], k, "gpt-4o-mini", &r);
            check_body(SC_CONTRACT_API_RESPONSES, bodies[b], k, "gpt-4o-mini", &r);
            sc_contract_stream s;
            sc_contract_stream_init(&s, b & 1 ? SC_CONTRACT_API_RESPONSES : SC_CONTRACT_API_CHAT,
                                    NULL, true);
            char *copy = malloc(k ? k : 1);
            memcpy(copy, bodies[b], k);
            CHECK(sc_contract_stream_event(&s, "response.completed", 18, copy, k) >= 0);
            free(copy);
            sc_contract_stream_finish(&s);
        }
    }
}

int main(void)
{
    RUN(chat_passes);
    RUN(chat_faults);
    RUN(chat_each_check);
    RUN(chat_usage_rules);
    RUN(chat_error_in_200);
    RUN(tokens_are_filtered);
    RUN(responses_body);
    RUN(responses_status);
    RUN(model_matching);
    RUN(check_names);
    RUN(shape_drift);
    RUN(shape_names_bounded);
    RUN(prefixes_are_safe);
    return sc_test_summary();
}
