/* contract_stream.c - owns: the per-event state of a streamed chat or Responses answer and the
 * end-of-stream judgement (see contract_stream.h). */
#include "canary/contract_stream.h"

#include <errno.h>
#include <string.h>

#include "canary/token.h"

static void fail(sc_contract_result *r, sc_contract_check c)
{
    r->failed |= SC_CHECK_BIT(c);
}

static const char *member_str(const cJSON *obj, const char *key)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(j) && j->valuestring != NULL && j->valuestring[0] ? j->valuestring : NULL;
}

static const char *requested(const sc_contract_stream *s)
{
    return s->requested[0] ? s->requested : NULL;
}

int sc_contract_stream_init(sc_contract_stream *s, sc_contract_api api, const char *requested_model,
                            bool expect_usage)
{
    if (s == NULL || (api != SC_CONTRACT_API_CHAT && api != SC_CONTRACT_API_RESPONSES))
        return -EINVAL;
    memset(s, 0, sizeof *s);
    sc_contract_result_init(&s->res);
    s->api = api;
    s->expect_usage = expect_usage;
    if (requested_model != NULL) {
        size_t n = strlen(requested_model);
        if (n >= sizeof s->requested)
            return -EINVAL;
        memcpy(s->requested, requested_model, n + 1);
    }
    return 0;
}

/* ---- Chat ----------------------------------------------------------------------------------- */

static void chat_choices(sc_contract_stream *s, const cJSON *choices)
{
    sc_contract_result *r = &s->res;
    if (!cJSON_IsArray(choices)) {
        fail(r, SC_CHECK_MISSING_CHOICES);
        return;
    }
    for (const cJSON *c = choices->child; c != NULL; c = c->next) {
        s->saw_choices = true;
        const cJSON *delta = cJSON_GetObjectItemCaseSensitive(c, "delta");
        sc_contract_count_text(r, cJSON_GetObjectItemCaseSensitive(delta, "content"), false);
        sc_contract_count_text(r, cJSON_GetObjectItemCaseSensitive(delta, "refusal"), true);
        const cJSON *finish = cJSON_GetObjectItemCaseSensitive(c, "finish_reason");
        if (cJSON_IsString(finish) && finish->valuestring[0] != '\0') {
            s->saw_finish = true;
            sc_contract_note_finish(r, finish);
        }
    }
}

static void chat_event(sc_contract_stream *s, const char *data, size_t len, unsigned *flags)
{
    sc_contract_result *r = &s->res;
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
        r->terminated = true;
        *flags |= SC_CONTRACT_EV_TERMINAL;
        return;
    }
    cJSON *root = sc_contract_parse(data, len);
    if (!cJSON_IsObject(root)) {
        fail(r, SC_CHECK_INVALID_JSON);
        goto out;
    }
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (cJSON_IsObject(err)) {
        sc_contract_note_error(r, err, SC_ERROR_CLASS_UPSTREAM_ERROR);
        r->terminated = true;
        *flags |= SC_CONTRACT_EV_TERMINAL;
        goto out;
    }
    sc_contract_collect_names(&r->fields, root);
    const char *object = member_str(root, "object");
    if (object == NULL || strcmp(object, "chat.completion.chunk") != 0)
        fail(r, SC_CHECK_WRONG_CHUNK_OBJECT);
    if (member_str(root, "id") != NULL) {
        s->saw_id = true;
        sc_contract_note_id(r, root);
    }
    if (member_str(root, "model") != NULL) {
        s->saw_model = true;
        sc_contract_note_model(r, root, requested(s));
    }
    chat_choices(s, cJSON_GetObjectItemCaseSensitive(root, "choices"));
    sc_contract_note_usage(r, cJSON_GetObjectItemCaseSensitive(root, "usage"),
                           SC_CONTRACT_API_CHAT);
out:
    cJSON_Delete(root);
}

/* ---- Responses ------------------------------------------------------------------------------ */

/* id and model of an in-progress response, so a cut stream still names them; no checks. */
static void early_tokens(sc_contract_result *r, const cJSON *resp)
{
    const char *id = member_str(resp, "id"), *model = member_str(resp, "model");
    if (id != NULL && r->response_id[0] == '\0')
        sc_token_copy(r->response_id, sizeof r->response_id, id, strlen(id), SC_TOKEN_NAME);
    if (model != NULL && r->response_model[0] == '\0')
        sc_token_copy(r->response_model, sizeof r->response_model, model, strlen(model),
                      SC_TOKEN_MODEL);
}

static bool is_terminal_response(const char *t)
{
    return strcmp(t, "response.completed") == 0 || strcmp(t, "response.failed") == 0 ||
           strcmp(t, "response.incomplete") == 0;
}

static void responses_event(sc_contract_stream *s, const char *type, size_t type_len,
                            const char *data, size_t len, unsigned *flags)
{
    sc_contract_result *r = &s->res;
    cJSON *root = sc_contract_parse(data, len);
    const char *t = cJSON_IsObject(root) ? member_str(root, "type") : NULL;
    if (!cJSON_IsObject(root)) {
        fail(r, SC_CHECK_INVALID_JSON);
        goto out;
    }
    bool named = type != NULL && !(type_len == 7 && memcmp(type, "message", 7) == 0);
    if (t == NULL || (named && (strlen(t) != type_len || memcmp(t, type, type_len) != 0)))
        fail(r, SC_CHECK_WRONG_CHUNK_OBJECT);
    if (t == NULL)
        goto out;
    const cJSON *resp = cJSON_GetObjectItemCaseSensitive(root, "response");
    if (strcmp(t, "response.output_text.delta") == 0) {
        sc_contract_count_text(r, cJSON_GetObjectItemCaseSensitive(root, "delta"), false);
    } else if (strcmp(t, "response.refusal.delta") == 0) {
        sc_contract_count_text(r, cJSON_GetObjectItemCaseSensitive(root, "delta"), true);
    } else if (strcmp(t, "response.created") == 0 || strcmp(t, "response.in_progress") == 0) {
        early_tokens(r, resp);
    } else if (is_terminal_response(t)) {
        sc_contract_check_response(r, resp, requested(s), false);
        r->terminated = true;
        *flags |= SC_CONTRACT_EV_TERMINAL;
    } else if (strcmp(t, "error") == 0) {
        const cJSON *nested = cJSON_GetObjectItemCaseSensitive(root, "error");
        sc_contract_note_error(r, cJSON_IsObject(nested) ? nested : root,
                               SC_ERROR_CLASS_UPSTREAM_ERROR);
        r->terminated = true;
        *flags |= SC_CONTRACT_EV_TERMINAL;
    }
out:
    cJSON_Delete(root);
}

int sc_contract_stream_event(sc_contract_stream *s, const char *type, size_t type_len,
                             const char *data, size_t data_len)
{
    if (s == NULL || (data == NULL && data_len > 0) || (type == NULL && type_len > 0))
        return -EINVAL;
    sc_contract_result *r = &s->res;
    if (r->terminated || s->finished) {
        s->ignored++;
        return SC_CONTRACT_EV_IGNORED;
    }
    if (data == NULL)
        data = "";
    r->events++;
    unsigned flags = 0;
    uint32_t failed_before = r->failed;
    uint64_t chars_before = r->content_chars;
    if (s->api == SC_CONTRACT_API_CHAT)
        chat_event(s, data, data_len, &flags);
    else
        responses_event(s, type, type_len, data, data_len, &flags);
    if (r->content_chars > chars_before)
        flags |= SC_CONTRACT_EV_CONTENT | (chars_before == 0 ? SC_CONTRACT_EV_FIRST_CONTENT : 0);
    if (r->failed != failed_before)
        flags |= SC_CONTRACT_EV_VIOLATION;
    return (int)flags;
}

const sc_contract_result *sc_contract_stream_finish(sc_contract_stream *s)
{
    sc_contract_result *r = &s->res;
    if (s->finished)
        return r;
    s->finished = true;
    if (!r->terminated) {
        fail(r, s->api == SC_CONTRACT_API_CHAT ? SC_CHECK_MISSING_DONE
                                               : SC_CHECK_MISSING_TERMINAL_EVENT);
        r->error_class = SC_ERROR_CLASS_STREAM_INTERRUPTED;
        return r;
    }
    if (s->api != SC_CONTRACT_API_CHAT || (r->failed & SC_CHECK_BIT(SC_CHECK_ERROR_EVENT)))
        return r; /* Responses: judged on the terminal event; an error explains itself */
    if (!s->saw_id)
        fail(r, SC_CHECK_MISSING_ID);
    if (!s->saw_model)
        fail(r, SC_CHECK_MISSING_MODEL);
    if (!s->saw_choices)
        fail(r, SC_CHECK_MISSING_CHOICES);
    if (!s->saw_finish)
        fail(r, SC_CHECK_MISSING_FINISH_REASON);
    if (!r->content_seen)
        fail(r, SC_CHECK_MISSING_CONTENT);
    if (s->expect_usage && !r->usage_present)
        fail(r, SC_CHECK_MISSING_USAGE);
    return r;
}
