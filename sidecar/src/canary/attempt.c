/* attempt.c - owns: one canary HTTP attempt from request to classified outcome. */
#include "canary/attempt.h"

#include <errno.h>
#include <string.h>

#include "loop/retry_after.h"
#include "telemetry/record.h"

static const char *const capture[] = {"x-request-id", "request-id", "retry-after", "content-type"};

void sc_canary_attempt_init(sc_canary_attempt *a)
{
    memset(a, 0, sizeof *a);
    a->retry_after_ms = -1;
}

bool sc_canary_attempt_in_flight(const sc_canary_attempt *a)
{
    return a->in_flight;
}

void sc_canary_attempt_release(sc_canary_attempt *a)
{
    sc_sse_free(&a->sse);
    memset(&a->sse, 0, sizeof a->sse);
    sc_buf_free(&a->head);
}

void sc_canary_check_models_body(const char *body, size_t len, sc_contract_result *r)
{
    sc_contract_result_init(r);
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t'))
        i++;
    if (i == len) {
        r->failed |= SC_CHECK_BIT(SC_CHECK_EMPTY_BODY);
        return;
    }
    cJSON *root = sc_contract_parse(body, len);
    if (root == NULL || !cJSON_IsObject(root)) {
        r->failed |= SC_CHECK_BIT(SC_CHECK_INVALID_JSON);
        cJSON_Delete(root);
        return;
    }
    sc_contract_collect_names(&r->fields, root);
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, "object");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    if (!cJSON_IsString(obj) || strcmp(obj->valuestring, "list") != 0 || !cJSON_IsArray(data))
        r->failed |= SC_CHECK_BIT(SC_CHECK_WRONG_OBJECT);
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (cJSON_IsObject(err))
        sc_contract_note_error(r, err, SC_ERROR_CLASS_UPSTREAM_ERROR);
    cJSON_Delete(root);
}

static int on_event(const sc_sse_event *ev, void *arg)
{
    sc_canary_attempt *a = arg;
    int f = sc_contract_stream_event(&a->cs, ev->type, ev->type_len, ev->data, ev->data_len);
    if (f > 0 && (f & SC_CONTRACT_EV_FIRST_CONTENT) && a->first_content_ns == 0)
        a->first_content_ns = sc_clock_wall_ns(a->env->clock);
    return 0;
}

static int on_data(const char *p, size_t len, void *arg)
{
    sc_canary_attempt *a = arg;
    if (a->head.len < SC_CANARY_ERROR_BODY_MAX) {
        size_t room = SC_CANARY_ERROR_BODY_MAX - a->head.len;
        (void)sc_buf_append(&a->head, p, len < room ? len : room);
    }
    int rc = sc_sse_feed(&a->sse, p, len);
    return rc == -ENOMEM ? 1 : 0; /* other errors are sticky in the parser and judged at the end */
}

static void check_answer(sc_canary_attempt *a, const sc_http_response *res)
{
    bool ok2xx = res->status >= 200 && res->status < 300;
    if (a->streaming) {
        sc_sse_finish(&a->sse);
        if (!ok2xx)
            return;
        a->contract = *sc_contract_stream_finish(&a->cs);
        sc_sse_stats st;
        sc_sse_get_stats(&a->sse, &st);
        if (st.oversize > 0) /* a dropped event may have been the terminal one */
            a->contract.failed |= SC_CHECK_BIT(SC_CHECK_INVALID_JSON);
        a->contract_checked = true;
        return;
    }
    if (!ok2xx || res->error != SC_HTTP_OK)
        return;
    if (a->models)
        sc_canary_check_models_body(res->body, res->body_len, &a->contract);
    else
        sc_contract_check_body(a->api, res->body, res->body_len, a->model[0] ? a->model : NULL,
                               &a->contract);
    a->contract_checked = true;
}

static void on_done(const sc_http_response *res, void *arg)
{
    sc_canary_attempt *a = arg;
    a->req = NULL;
    a->in_flight = false;
    a->end_ns = sc_clock_wall_ns(a->env->clock);
    a->transport = res->error;
    a->status = res->status;
    if (res->error != SC_HTTP_ERR_CANCELLED) {
        check_answer(a, res);
        const char *rid = sc_http_response_header(res, "x-request-id");
        if (rid == NULL)
            rid = sc_http_response_header(res, "request-id");
        sc_classify_input in = {
            .transport = res->error,
            .status = res->status,
            .content_type = sc_http_response_header(res, "content-type"),
            .body = a->streaming ? a->head.data : res->body,
            .body_len = a->streaming ? a->head.len : res->body_len,
            .request_id_header = rid,
            .contract = a->contract_checked ? &a->contract : NULL,
            .fatal_checks = a->fatal_checks,
        };
        sc_classify_attempt(&in, &a->cls);
        const char *ra = sc_http_response_header(res, "retry-after");
        uint64_t ms;
        if (ra != NULL && sc_retry_after_parse(ra, strlen(ra), a->end_ns / 1000000000ull, &ms) == 0)
            a->retry_after_ms = ms > INT64_MAX ? INT64_MAX : (int64_t)ms;
    }
    a->done(a, a->arg);
}

static int prepare(sc_canary_attempt *a, const sc_env *env, const sc_canary_attempt_opts *o)
{
    sc_canary_attempt_release(a);
    sc_canary_attempt_init(a);
    a->env = env;
    a->span = o->span;
    a->streaming = o->probe->cfg->stream;
    a->models = o->probe->cfg->endpoint == SC_PROBE_MODELS;
    a->api = o->probe->api;
    a->fatal_checks = o->fatal_checks;
    sc_contract_result_init(&a->contract);
    if (o->model != NULL && strlen(o->model) >= sizeof a->model)
        return -EINVAL;
    if (o->model != NULL)
        strcpy(a->model, o->model);
    int rc = sc_rng_hex(env->rng, a->request_id, SC_CANARY_REQUEST_ID_LEN);
    if (rc < 0 || !a->streaming)
        return rc;
    sc_buf_init(&a->head, SC_CANARY_ERROR_BODY_MAX);
    bool usage = o->probe->cfg->include_usage || o->probe->cfg->require_usage;
    rc = sc_sse_init(&a->sse, SC_CANARY_SSE_EVENT_MAX, on_event, a);
    if (rc == 0)
        rc = sc_contract_stream_init(&a->cs, a->api, o->model, usage);
    return rc;
}

int sc_canary_attempt_start(sc_canary_attempt *a, const sc_env *env, sc_http_client *http,
                            const sc_canary_attempt_opts *o, sc_canary_attempt_cb done, void *arg)
{
    if (a == NULL || env == NULL || http == NULL || o == NULL || o->probe == NULL || done == NULL ||
        a->in_flight)
        return -EINVAL;
    int rc = prepare(a, env, o);
    if (rc < 0)
        return rc;
    char tp[SC_TRACEPARENT_LEN + 1], fake[64];
    sc_record_traceparent(&o->span, tp);
    memcpy(fake, SC_CANARY_INVALID_KEY_PREFIX, sizeof SC_CANARY_INVALID_KEY_PREFIX);
    if ((rc = sc_rng_hex(env->rng, fake + strlen(fake), 32)) < 0)
        return rc;
    sc_canary_request req;
    memset(&req, 0, sizeof req);
    sc_canary_request_params p = {
        .probe = o->probe,
        .base_url = o->base_url,
        .model = o->model,
        .api_key = o->api_key,
        .invalid_key = fake,
        .request_id = a->request_id,
        .traceparent = tp,
    };
    if ((rc = sc_canary_request_build(&p, &req)) < 0)
        return rc;
    a->done = done;
    a->arg = arg;
    a->start_ns = sc_clock_wall_ns(env->clock);
    sc_http_request_opts ho = {
        .method = o->probe->method,
        .url = req.url,
        .headers = req.headers,
        .n_headers = req.n_headers,
        .body = req.body.data,
        .body_len = req.body.len,
        .timeout_ms = o->timeout_ms,
        .connect_timeout_ms = o->connect_timeout_ms,
        .max_response_bytes = o->max_response_bytes,
        .capture_headers = capture,
        .n_capture = sizeof capture / sizeof capture[0],
        .ca_file = o->ca_file,
        .on_data = a->streaming ? on_data : NULL,
        .on_done = on_done,
        .arg = a,
    };
    rc = sc_http_client_start_request(http, &ho, &a->req);
    sc_canary_request_wipe(&req);
    if (rc < 0)
        return rc;
    a->in_flight = true;
    return 0;
}

void sc_canary_attempt_cancel(sc_canary_attempt *a)
{
    if (a != NULL && a->in_flight && a->req != NULL)
        sc_http_request_cancel(a->req);
}
