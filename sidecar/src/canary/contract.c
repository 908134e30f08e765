/* contract.c - owns: check names, the non-streaming chat and Responses contract, model matching,
 * and the per-field helpers the stream accumulator shares. Reads cJSON trees only; stores only
 * tokens and counts (see contract.h). */
#include "canary/contract.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "canary/classify.h"
#include "canary/token.h"

static const char *const check_names[SC_CHECK__COUNT] = {
    [SC_CHECK_INVALID_JSON] = "invalid_json",
    [SC_CHECK_MISSING_ID] = "missing_id",
    [SC_CHECK_WRONG_OBJECT] = "wrong_object",
    [SC_CHECK_MISSING_CHOICES] = "missing_choices",
    [SC_CHECK_MISSING_CONTENT] = "missing_content",
    [SC_CHECK_MISSING_FINISH_REASON] = "missing_finish_reason",
    [SC_CHECK_MISSING_MODEL] = "missing_model",
    [SC_CHECK_MISSING_USAGE] = "missing_usage",
    [SC_CHECK_USAGE_NOT_INTEGER] = "usage_not_integer",
    [SC_CHECK_MODEL_SUBSTITUTED] = "model_substituted",
    [SC_CHECK_SHAPE_DRIFT] = "shape_drift",
    [SC_CHECK_MISSING_DONE] = "missing_done",
    [SC_CHECK_WRONG_CHUNK_OBJECT] = "wrong_chunk_object",
    [SC_CHECK_MISSING_OUTPUT_TEXT] = "missing_output_text",
    [SC_CHECK_WRONG_STATUS] = "wrong_status",
    [SC_CHECK_MISSING_TERMINAL_EVENT] = "missing_terminal_event",
    [SC_CHECK_HTML_INSTEAD_OF_JSON] = "html_instead_of_json",
    [SC_CHECK_REDIRECT] = "redirect",
    [SC_CHECK_EMPTY_BODY] = "empty_body",
    [SC_CHECK_ERROR_EVENT] = "error_event",
};

const char *sc_contract_check_name(sc_contract_check c)
{
    return (unsigned)c < SC_CHECK__COUNT ? check_names[c] : NULL;
}

int sc_contract_check_parse(const char *p, size_t len, sc_contract_check *out)
{
    if (p == NULL)
        return -EINVAL;
    for (int i = 0; i < SC_CHECK__COUNT; i++) {
        if (strlen(check_names[i]) == len && memcmp(check_names[i], p, len) == 0) {
            *out = (sc_contract_check)i;
            return 0;
        }
    }
    return -EINVAL;
}

int sc_contract_first_check(uint32_t failed, uint32_t mask)
{
    for (int i = 0; i < SC_CHECK__COUNT; i++)
        if (failed & mask & SC_CHECK_BIT(i))
            return i;
    return -1;
}

void sc_contract_result_init(sc_contract_result *r)
{
    memset(r, 0, sizeof *r);
    r->error_class = SC_ERROR_CLASS_NONE;
    r->input_tokens = r->output_tokens = r->total_tokens = -1;
}

static void fail(sc_contract_result *r, sc_contract_check c)
{
    r->failed |= SC_CHECK_BIT(c);
}

/* ---- Model matching ------------------------------------------------------------------------- */

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static int num2(const char *s)
{
    return (s[0] - '0') * 10 + (s[1] - '0');
}

static bool month_day(const char *mm, const char *dd)
{
    int m = num2(mm), d = num2(dd);
    return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

/* "-YYYY-MM-DD", "-YYYYMMDD" or "-MMDD" (years 20xx), and nothing after it. */
static bool date_suffix(const char *s)
{
    size_t n = strlen(s);
    if (n < 5 || s[0] != '-')
        return false;
    s++;
    n--;
    if (n == 4)
        return digits(s, 4) && month_day(s, s + 2);
    if (n == 8)
        return digits(s, 8) && s[0] == '2' && s[1] == '0' && month_day(s + 4, s + 6);
    if (n == 10)
        return digits(s, 4) && s[0] == '2' && s[1] == '0' && s[4] == '-' && s[7] == '-' &&
               digits(s + 5, 2) && digits(s + 8, 2) && month_day(s + 5, s + 8);
    return false;
}

bool sc_contract_model_matches(const char *requested, const char *response)
{
    if (requested == NULL || response == NULL || requested[0] == '\0')
        return false;
    size_t n = strlen(requested);
    if (strncmp(requested, response, n) != 0)
        return false;
    return response[n] == '\0' || date_suffix(response + n);
}

/* ---- Field helpers -------------------------------------------------------------------------- */

static const char *str_of(const cJSON *j)
{
    return cJSON_IsString(j) && j->valuestring != NULL ? j->valuestring : NULL;
}

static const char *member_str(const cJSON *obj, const char *key)
{
    return str_of(cJSON_GetObjectItemCaseSensitive(obj, key));
}

static bool nonempty(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* A JSON number that is a non-negative integer exactly representable in a double. */
static bool integral(const cJSON *j, int64_t *out)
{
    if (!cJSON_IsNumber(j))
        return false;
    double v = j->valuedouble;
    if (!isfinite(v) || v < 0 || v > 9007199254740992.0 || floor(v) != v)
        return false;
    *out = (int64_t)v;
    return true;
}

static uint64_t code_points(const char *s)
{
    uint64_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

bool sc_contract_count_text(sc_contract_result *r, const cJSON *s, bool is_refusal)
{
    const char *t = str_of(s);
    if (!nonempty(t))
        return false;
    r->content_chars += code_points(t);
    r->content_seen = true;
    if (is_refusal)
        r->refusal = true;
    return true;
}

void sc_contract_note_model(sc_contract_result *r, const cJSON *obj, const char *requested)
{
    const char *m = member_str(obj, "model");
    if (!nonempty(m)) {
        fail(r, SC_CHECK_MISSING_MODEL);
        return;
    }
    if (r->response_model[0] == '\0')
        sc_token_copy(r->response_model, sizeof r->response_model, m, strlen(m), SC_TOKEN_MODEL);
    if (requested != NULL && !sc_contract_model_matches(requested, m))
        fail(r, SC_CHECK_MODEL_SUBSTITUTED);
}

void sc_contract_note_id(sc_contract_result *r, const cJSON *obj)
{
    const char *id = member_str(obj, "id");
    if (!nonempty(id)) {
        fail(r, SC_CHECK_MISSING_ID);
        return;
    }
    if (r->response_id[0] == '\0')
        sc_token_copy(r->response_id, sizeof r->response_id, id, strlen(id), SC_TOKEN_NAME);
}

void sc_contract_note_finish(sc_contract_result *r, const cJSON *finish_reason)
{
    const char *f = str_of(finish_reason);
    if (!nonempty(f))
        return;
    for (size_t i = 0; i < r->n_finish; i++)
        if (strcmp(r->finish_reasons[i], f) == 0)
            return;
    if (r->n_finish < SC_CONTRACT_FINISH_MAX &&
        sc_token_copy(r->finish_reasons[r->n_finish], SC_CONTRACT_FINISH_LEN, f, strlen(f),
                      SC_TOKEN_NAME) == 0)
        r->n_finish++;
}

void sc_contract_note_usage(sc_contract_result *r, const cJSON *usage, sc_contract_api api)
{
    if (!cJSON_IsObject(usage))
        return;
    const char *in_key = api == SC_CONTRACT_API_CHAT ? "prompt_tokens" : "input_tokens";
    const char *out_key = api == SC_CONTRACT_API_CHAT ? "completion_tokens" : "output_tokens";
    int64_t in = 0, out = 0, total = 0;
    r->usage_present = true;
    bool ok = integral(cJSON_GetObjectItemCaseSensitive(usage, in_key), &in);
    ok = integral(cJSON_GetObjectItemCaseSensitive(usage, out_key), &out) && ok;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(usage, "total_tokens");
    bool total_ok = t == NULL || cJSON_IsNull(t) ? true : integral(t, &total);
    if (!ok || !total_ok) {
        fail(r, SC_CHECK_USAGE_NOT_INTEGER);
        return;
    }
    r->input_tokens = in;
    r->output_tokens = out;
    r->total_tokens = t != NULL && !cJSON_IsNull(t) ? total : in + out;
}

void sc_contract_note_error(sc_contract_result *r, const cJSON *err, sc_error_class dflt)
{
    const char *code = NULL, *type = NULL;
    if (cJSON_IsObject(err)) {
        code = member_str(err, "code");
        type = member_str(err, "type");
    }
    fail(r, SC_CHECK_ERROR_EVENT);
    r->error_class = sc_classify_error_code(code, type, dflt);
    if (code != NULL)
        sc_token_copy(r->error_code, sizeof r->error_code, code, strlen(code), SC_TOKEN_NAME);
}

void sc_contract_collect_names(sc_shape_names *names, const cJSON *obj)
{
    for (const cJSON *c = obj ? obj->child : NULL; c != NULL; c = c->next)
        if (c->string != NULL)
            sc_shape_names_add(names, c->string, strlen(c->string));
}

/* ---- Non-streaming chat --------------------------------------------------------------------- */

static void check_chat(sc_contract_result *r, const cJSON *root, const char *requested)
{
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (cJSON_IsObject(err) && choices == NULL) {
        /* Some gateways answer 200 with an error body. */
        sc_contract_note_error(r, err, SC_ERROR_CLASS_UPSTREAM_ERROR);
        return;
    }
    sc_contract_note_id(r, root);
    const char *object = member_str(root, "object");
    if (object == NULL || strcmp(object, "chat.completion") != 0)
        fail(r, SC_CHECK_WRONG_OBJECT);
    sc_contract_note_model(r, root, requested);

    const cJSON *first = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
    if (!cJSON_IsObject(first)) {
        fail(r, SC_CHECK_MISSING_CHOICES);
    } else {
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(first, "message");
        bool text = sc_contract_count_text(r, cJSON_GetObjectItemCaseSensitive(msg, "content"), 0);
        bool ref = sc_contract_count_text(r, cJSON_GetObjectItemCaseSensitive(msg, "refusal"), 1);
        if (!text && !ref)
            fail(r, SC_CHECK_MISSING_CONTENT);
        if (!nonempty(member_str(first, "finish_reason")))
            fail(r, SC_CHECK_MISSING_FINISH_REASON);
        for (const cJSON *c = choices->child; c != NULL; c = c->next)
            sc_contract_note_finish(r, cJSON_GetObjectItemCaseSensitive(c, "finish_reason"));
    }

    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
    if (!cJSON_IsObject(usage))
        fail(r, SC_CHECK_MISSING_USAGE);
    sc_contract_note_usage(r, usage, SC_CONTRACT_API_CHAT);
}

/* ---- Responses API -------------------------------------------------------------------------- */

/* Walks output[].content[] of message items; counts only when r_count is not NULL. */
static bool output_text(const cJSON *resp, sc_contract_result *r_count)
{
    bool found = false;
    const cJSON *output = cJSON_GetObjectItemCaseSensitive(resp, "output");
    for (const cJSON *item = cJSON_IsArray(output) ? output->child : NULL; item != NULL;
         item = item->next) {
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(item, "content");
        for (const cJSON *part = cJSON_IsArray(content) ? content->child : NULL; part != NULL;
             part = part->next) {
            const char *type = member_str(part, "type");
            bool refusal = type != NULL && strcmp(type, "refusal") == 0;
            if (type == NULL || (!refusal && strcmp(type, "output_text") != 0))
                continue;
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, refusal ? "refusal" : "text");
            if (!nonempty(str_of(t)))
                continue;
            found = true;
            if (r_count != NULL)
                sc_contract_count_text(r_count, t, refusal);
        }
    }
    return found;
}

/* failed -> the error's class (default upstream_error); incomplete -> policy_rejection when the
 * content filter cut it, else parse_error: the probe got a truncated answer (max_output_tokens),
 * which no retry fixes. Other non-completed states are wrong_status only. */
static void response_status(sc_contract_result *r, const cJSON *resp, const char *status)
{
    if (strcmp(status, "failed") == 0) {
        sc_contract_note_error(r, cJSON_GetObjectItemCaseSensitive(resp, "error"),
                               SC_ERROR_CLASS_UPSTREAM_ERROR);
    } else if (strcmp(status, "incomplete") == 0) {
        const cJSON *det = cJSON_GetObjectItemCaseSensitive(resp, "incomplete_details");
        const char *reason = member_str(det, "reason");
        bool filtered = reason != NULL && strcmp(reason, "content_filter") == 0;
        r->error_class = filtered ? SC_ERROR_CLASS_POLICY_REJECTION : SC_ERROR_CLASS_PARSE_ERROR;
        sc_contract_note_finish(r, cJSON_GetObjectItemCaseSensitive(det, "reason"));
    }
}

void sc_contract_check_response(sc_contract_result *r, const cJSON *resp, const char *requested,
                                bool count_text)
{
    if (!cJSON_IsObject(resp)) {
        fail(r, SC_CHECK_WRONG_OBJECT);
        return;
    }
    sc_contract_collect_names(&r->fields, resp);
    sc_contract_note_id(r, resp);
    const char *object = member_str(resp, "object");
    if (object == NULL || strcmp(object, "response") != 0)
        fail(r, SC_CHECK_WRONG_OBJECT);
    sc_contract_note_model(r, resp, requested);

    const char *status = member_str(resp, "status");
    if (status == NULL || strcmp(status, "completed") != 0) {
        fail(r, SC_CHECK_WRONG_STATUS);
        if (status != NULL)
            response_status(r, resp, status);
        return; /* output and usage of an unfinished response are not judged */
    }
    if (!output_text(resp, count_text ? r : NULL))
        fail(r, SC_CHECK_MISSING_OUTPUT_TEXT);
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(resp, "usage");
    if (!cJSON_IsObject(usage))
        fail(r, SC_CHECK_MISSING_USAGE);
    sc_contract_note_usage(r, usage, SC_CONTRACT_API_RESPONSES);
}

/* ---- Entry point ---------------------------------------------------------------------------- */

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

cJSON *sc_contract_parse(const char *p, size_t len)
{
    if (p == NULL || len == 0)
        return NULL;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(p, len, &end, 0);
    if (root == NULL)
        return NULL;
    /* cJSON stops after the first value; anything but whitespace after it is not JSON. */
    for (size_t i = end != NULL ? (size_t)(end - p) : len; i < len; i++) {
        if (!is_space(p[i])) {
            cJSON_Delete(root);
            return NULL;
        }
    }
    return root;
}

int sc_contract_check_body(sc_contract_api api, const char *body, size_t len,
                           const char *requested_model, sc_contract_result *out)
{
    if (out == NULL || (body == NULL && len > 0))
        return -EINVAL;
    sc_contract_result_init(out);
    size_t i = 0;
    while (i < len && is_space(body[i]))
        i++;
    if (i == len) {
        fail(out, SC_CHECK_EMPTY_BODY);
        return 0;
    }
    if (body[i] == '<') {
        fail(out, SC_CHECK_HTML_INSTEAD_OF_JSON);
        return 0;
    }
    cJSON *root = sc_contract_parse(body + i, len - i);
    if (!cJSON_IsObject(root)) {
        fail(out, SC_CHECK_INVALID_JSON);
        cJSON_Delete(root);
        return 0;
    }
    if (api == SC_CONTRACT_API_CHAT) {
        sc_contract_collect_names(&out->fields, root);
        check_chat(out, root, requested_model);
    } else if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "error")) &&
               cJSON_GetObjectItemCaseSensitive(root, "object") == NULL) {
        sc_contract_collect_names(&out->fields, root);
        sc_contract_note_error(out, cJSON_GetObjectItemCaseSensitive(root, "error"),
                               SC_ERROR_CLASS_UPSTREAM_ERROR);
    } else {
        sc_contract_check_response(out, root, requested_model, true);
    }
    cJSON_Delete(root);
    return 0;
}
