/* fuzz_contract.c - libFuzzer target: the response contract checker. Non-streaming chat and
 * Responses bodies (sc_contract_check_body), GET /models bodies (sc_canary_check_models_body),
 * and streamed answers the way the canary reads them: the SSE parser feeding
 * sc_contract_stream_event, judged by sc_contract_stream_finish. Every result must keep only
 * tokens (fuzz_check.h), and a 2xx result is then classified as the attempt would be.
 *
 * Input: byte 0: bits 0-2 pick the check (chat body, responses body, models body, chat stream,
 * chat stream expecting usage, responses stream); bit 3: no requested model (no substitution
 * check). The rest is the body or the stream. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "canary/attempt.h"
#include "canary/classify.h"
#include "canary/contract.h"
#include "canary/contract_stream.h"
#include "canary/sse.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_event(const sc_sse_event *ev, void *arg)
{
    int f = sc_contract_stream_event(arg, ev->type, ev->type_len, ev->data, ev->data_len);
    if (f < 0)
        abort(); /* only bad arguments fail */
    return 0;
}

static void check_stream(sc_contract_api api, bool expect_usage, const char *model,
                         const char *body, size_t len, sc_contract_result *out)
{
    sc_contract_stream cs;
    sc_sse sse;
    if (sc_contract_stream_init(&cs, api, model, expect_usage) != 0 ||
        sc_sse_init(&sse, SC_CANARY_SSE_EVENT_MAX, on_event, &cs) != 0)
        abort();
    (void)sc_sse_feed(&sse, body, len);
    (void)sc_sse_finish(&sse);
    sc_sse_free(&sse);
    const sc_contract_result *r = sc_contract_stream_finish(&cs);
    if (sc_contract_stream_finish(&cs) != r)
        abort();
    *out = *r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned mode = data[0] & 7;
    const char *model = (data[0] & 8) ? NULL : "gpt-4o-mini";
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    sc_contract_result r;
    sc_contract_result_init(&r);
    switch (mode) {
    case 0:
    case 1:
        if (sc_contract_check_body(mode == 0 ? SC_CONTRACT_API_CHAT : SC_CONTRACT_API_RESPONSES,
                                   body, len, model, &r) != 0)
            abort();
        break;
    case 2:
        sc_canary_check_models_body(body, len, &r);
        break;
    case 3:
    case 4:
        check_stream(SC_CONTRACT_API_CHAT, mode == 4, model, body, len, &r);
        break;
    default:
        check_stream(SC_CONTRACT_API_RESPONSES, false, model, body, len, &r);
        break;
    }
    fuzz_check_contract_result(&r);

    /* What the attempt makes of it: a 200 with this contract outcome. */
    sc_classify_input in = {.transport = SC_HTTP_OK,
                            .status = 200,
                            .content_type = mode >= 3 ? "text/event-stream" : "application/json",
                            .contract = &r};
    sc_classify_result c;
    sc_classify_attempt(&in, &c);
    if (c.status_class != SC_STATUS_CLASS_2XX || (unsigned)c.error_class >= SC_ERROR_CLASS__COUNT)
        abort();
    if (c.error_class == SC_ERROR_CLASS_NONE && c.check != -1)
        abort(); /* a check is named only behind a failure */
    return 0;
}
