/* contract_stream.h - owns: the contract of a STREAMED answer, accumulated event by event (the
 * caller feeds each SSE event the sse.h parser dispatches) and judged at end of stream.
 *
 * Chat (data-only events): "[DONE]" terminates; every other event must be JSON with object
 * "chat.completion.chunk" (wrong_chunk_object) and a choices array (the usage chunk's is empty);
 * content and refusal deltas are counted, never stored; finish_reason, id and model are taken
 * from the chunks (every chunk's model is checked for substitution); usage comes from a chunk
 * whose usage is an object (the final choices:[] chunk when stream_options.include_usage was
 * sent) and is required only when expect_usage. A chunk {"error":{...}} is an error event and
 * ends the stream (class from its code, default upstream_error).
 *
 * Responses ("event:" name + JSON data with the same "type"): response.output_text.delta and
 * response.refusal.delta carry content; response.completed, response.failed and
 * response.incomplete are terminal and their data.response gets the full checks of
 * sc_contract_check_response (failed -> its error code's class, default upstream_error;
 * incomplete -> policy_rejection for content_filter, else parse_error); an "error" event is
 * terminal too (class from its code, default upstream_error). Ids and model are noted from
 * response.created too, so a cut stream still reports them.
 *
 * End of stream without [DONE] / a terminal event: missing_done / missing_terminal_event and
 * error class stream_interrupted, with content_seen telling whether content had arrived; the
 * content/finish/usage checks are then not judged (the cut is the failure). Events after the
 * terminal one are counted and ignored. Invalid JSON in one event flags invalid_json and the
 * stream goes on. Plain value type, no allocation beyond cJSON's transient parse trees. */
#ifndef SC_CANARY_CONTRACT_STREAM_H
#define SC_CANARY_CONTRACT_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "canary/contract.h"

/* Flags returned by sc_contract_stream_event. */
#define SC_CONTRACT_EV_CONTENT       1u  /* the event carried content (text or refusal) */
#define SC_CONTRACT_EV_FIRST_CONTENT 2u  /* ... for the first time: stamp time to first token */
#define SC_CONTRACT_EV_TERMINAL      4u  /* [DONE] or a terminal event */
#define SC_CONTRACT_EV_VIOLATION     8u  /* the event failed a check */
#define SC_CONTRACT_EV_IGNORED       16u /* arrived after the terminal event */

typedef struct sc_contract_stream {
    sc_contract_result res;
    sc_contract_api api;
    char requested[SC_CONTRACT_MODEL_LEN]; /* "" = no substitution check */
    bool expect_usage;
    bool saw_choices, saw_finish, saw_id, saw_model, finished;
    uint32_t ignored; /* events after the terminal one */
} sc_contract_stream;

/* requested_model may be NULL; it is copied (a longer one than the buffer is -EINVAL).
 * expect_usage: chat only (Responses always carries usage in its terminal event). */
int sc_contract_stream_init(sc_contract_stream *s, sc_contract_api api, const char *requested_model,
                            bool expect_usage);

/* One dispatched SSE event: its type (NULL/"message" when it had no "event:" field) and data.
 * Returns SC_CONTRACT_EV_* flags (>= 0), or -EINVAL. */
int sc_contract_stream_event(sc_contract_stream *s, const char *type, size_t type_len,
                             const char *data, size_t data_len);

/* End of stream: applies the end-of-stream checks (idempotent) and returns the result, which
 * stays valid as long as s. */
const sc_contract_result *sc_contract_stream_finish(sc_contract_stream *s);

#endif
