"""bodies.py - owns: the JSON shapes the mock upstream answers with (chat completions,
Responses API, model list, OpenAI-style errors) and the SSE event sequences for streams.

Pure functions: no I/O, no shared state. Shapes follow the public OpenAI API reference as
of 2025; CometAPI passes these through. Anything CometAPI-specific is marked as such.
"""

import json
import os
import time

# Real OpenAI answers with the dated snapshot a floating alias resolved to.
DATED_MODELS = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "gpt-3.5-turbo": "gpt-3.5-turbo-0125",
    "gpt-4-turbo": "gpt-4-turbo-2024-04-09",
    "o3-mini": "o3-mini-2025-01-31",
}
SUBSTITUTE_MODEL = "gpt-3.5-turbo-0125"


def _compact(obj):
    return json.dumps(obj, separators=(",", ":"))


def rand_hex(n):
    return os.urandom((n + 1) // 2).hex()[:n]


def new_request_id():
    return "req_" + rand_hex(32)


def comet_request_id():
    # CometAPI-style id as it appears inside error messages: date + 12 hex chars.
    return time.strftime("%Y%m%d", time.gmtime()) + rand_hex(12)


def response_model(requested, exact):
    if exact:
        return requested
    return DATED_MODELS.get(requested, requested)


def approx_tokens(text):
    return max(1, (len(text) + 3) // 4)


def prompt_tokens_for(body):
    """Deterministic rough count; message text is read here but never stored or logged."""
    total = 0
    msgs = body.get("messages")
    if isinstance(msgs, list):
        for m in msgs:
            total += 4
            c = m.get("content") if isinstance(m, dict) else None
            if isinstance(c, str):
                total += approx_tokens(c)
            elif isinstance(c, list):
                for part in c:
                    if isinstance(part, dict) and isinstance(part.get("text"), str):
                        total += approx_tokens(part["text"])
        return total + 3
    inp = body.get("input")
    if isinstance(inp, str):
        return approx_tokens(inp) + 4
    if isinstance(inp, list):
        return prompt_tokens_for({"messages": inp})
    return 1


def split_content(content, pieces):
    if not content:
        return [""]
    pieces = max(1, min(pieces, len(content)))
    step = -(-len(content) // pieces)
    return [content[i:i + step] for i in range(0, len(content), step)]


# ---- errors -------------------------------------------------------------------------------

def error_body(message, etype, code=None, param=None):
    return {"error": {"message": message, "type": etype, "param": param, "code": code}}


def mask_key(key):
    # Like OpenAI: enough to recognise the key, never enough to use it.
    if len(key) >= 16:
        return key[:3] + "*" * 4 + key[-2:]
    return "sk-****"


def invalid_key_body(key):
    if key is None:
        msg = ("You didn't provide an API key. You need to provide your API key in an "
               "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
    else:
        msg = "Incorrect API key provided: %s. You can find your API key in your dashboard." % (
            mask_key(key))
    return error_body(msg, "invalid_request_error", "invalid_api_key")


def model_not_found_body(model):
    return error_body("The model `%s` does not exist or you do not have access to it." % model,
                      "invalid_request_error", "model_not_found", "model")


def no_channel_body(model, request_id):
    """A one-api/new-api style gateway (CometAPI's family): an unknown model is a 503 'no
    available channel' with code model_not_found, the request id inside the message."""
    return error_body("No available channel for model %s under group default (request id: %s)"
                      % (model, request_id), "comet_api_error", "model_not_found")


def type_for_status(status):
    if status == 401:
        return "authentication_error"
    if status == 403:
        return "permission_error"
    if status == 429:
        return "requests"
    if status >= 500:
        return "server_error"
    return "invalid_request_error"


SERVER_ERROR_MESSAGES = {
    500: "The server had an error while processing your request. Sorry about that!",
    502: "Bad gateway.",
    503: "The engine is currently overloaded, please try again later.",
    504: "Gateway timeout.",
    524: "A timeout occurred.",
}

HTML_404 = (b"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            b"<title>404 Not Found</title></head>\n<body><h1>404 Not Found</h1>"
            b"<p>The page you are looking for does not exist.</p></body></html>\n")


def cloudflare_html(status):
    return ("<!DOCTYPE html>\n<html><head><title>%d: upstream error</title></head>"
            "<body><h1>Error %d</h1><p>cloudflare</p></body></html>\n" % (status, status)).encode()


# ---- chat completions ---------------------------------------------------------------------

class Opts:
    """Per-request answer options derived from config + fault (plain attributes)."""

    def __init__(self, model, content="ok", pieces=2, include_usage=True, shape_change=False):
        self.model = model
        self.content = content
        self.pieces = pieces
        self.include_usage = include_usage
        self.shape_change = shape_change
        self.fingerprint = "fp_" + rand_hex(10)
        self.created = int(time.time())


def _reshape(obj, opts, drop):
    if opts.shape_change:
        for k in drop:
            obj.pop(k, None)
        obj["mock_unexpected_field"] = {"note": "shape_change fault"}
    return obj


def chat_usage(body, opts):
    pt = prompt_tokens_for(body)
    ct = approx_tokens(opts.content)
    return {"prompt_tokens": pt, "completion_tokens": ct, "total_tokens": pt + ct,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0,
                                          "rejected_prediction_tokens": 0}}


def chat_completion(body, opts):
    obj = {
        "id": "chatcmpl-" + rand_hex(29),
        "object": "chat.completion",
        "created": opts.created,
        "model": opts.model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": opts.content, "refusal": None,
                        "annotations": []},
            "logprobs": None,
            "finish_reason": "stop",
        }],
        "service_tier": "default",
        "system_fingerprint": opts.fingerprint,
    }
    if opts.include_usage:
        obj["usage"] = chat_usage(body, opts)
    return _reshape(obj, opts, ("system_fingerprint", "created"))


def chat_stream_events(body, opts, want_usage):
    """Yields (event_name_or_None, data_str). Usage chunk only if the client asked for it."""
    cid = "chatcmpl-" + rand_hex(29)

    def chunk(delta, finish, with_usage_field):
        obj = {"id": cid, "object": "chat.completion.chunk", "created": opts.created,
               "model": opts.model, "service_tier": "default",
               "system_fingerprint": opts.fingerprint,
               "choices": [{"index": 0, "delta": delta, "logprobs": None,
                            "finish_reason": finish}]}
        if with_usage_field:
            obj["usage"] = None
        return _compact(_reshape(obj, opts, ("system_fingerprint", "created")))

    usage = want_usage and opts.include_usage
    yield None, chunk({"role": "assistant", "content": "", "refusal": None}, None, usage)
    for piece in split_content(opts.content, opts.pieces):
        yield None, chunk({"content": piece}, None, usage)
    yield None, chunk({}, "stop", usage)
    if usage:
        last = {"id": cid, "object": "chat.completion.chunk", "created": opts.created,
                "model": opts.model, "service_tier": "default",
                "system_fingerprint": opts.fingerprint, "choices": [],
                "usage": chat_usage(body, opts)}
        yield None, _compact(_reshape(last, opts, ("system_fingerprint", "created")))
    yield None, "[DONE]"


# ---- Responses API --------------------------------------------------------------------------

def _response_usage(body, opts):
    it = prompt_tokens_for(body)
    ot = approx_tokens(opts.content)
    return {"input_tokens": it, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": ot, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": it + ot}


def _message_item(msg_id, text, status):
    content = [] if text is None else [{"type": "output_text", "text": text,
                                        "annotations": [], "logprobs": []}]
    return {"id": msg_id, "type": "message", "status": status, "role": "assistant",
            "content": content}


def response_object(body, opts, resp_id, msg_id, status, with_output):
    obj = {
        "id": resp_id,
        "object": "response",
        "created_at": opts.created,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": opts.model,
        "output": [_message_item(msg_id, opts.content, "completed")] if with_output else [],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": None,
        "user": None,
        "metadata": {},
    }
    if with_output and opts.include_usage:
        obj["usage"] = _response_usage(body, opts)
    return _reshape(obj, opts, ("created_at",))


def response_completed(body, opts):
    return response_object(body, opts, "resp_" + rand_hex(48), "msg_" + rand_hex(48),
                           "completed", True)


def responses_stream_events(body, opts, end="completed"):
    """Yields (event_name, data_str); every payload carries type and sequence_number.
    The Responses API ends with response.completed; there is no [DONE] sentinel. end="failed"
    (no output, response.failed with an error), "incomplete" (the text, then
    response.incomplete for max_output_tokens) or "error" (a bare error event, as for a
    server-side failure mid-stream) end it the other ways the API documents."""
    rid, mid = "resp_" + rand_hex(48), "msg_" + rand_hex(48)
    seq = [0]

    def ev(etype, **fields):
        payload = {"type": etype, "sequence_number": seq[0]}
        payload.update(fields)
        seq[0] += 1
        return etype, _compact(payload)

    yield ev("response.created",
             response=response_object(body, opts, rid, mid, "in_progress", False))
    yield ev("response.in_progress",
             response=response_object(body, opts, rid, mid, "in_progress", False))
    if end == "failed":
        failed = response_object(body, opts, rid, mid, "failed", False)
        failed["error"] = {"code": "server_error",
                           "message": "The model failed to generate a response."}
        yield ev("response.failed", response=failed)
        return
    if end == "error":
        yield ev("error", code="server_error", message="The server had an error while "
                 "processing your request.", param=None)
        return
    yield ev("response.output_item.added", output_index=0,
             item=_message_item(mid, None, "in_progress"))
    part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    yield ev("response.content_part.added", item_id=mid, output_index=0, content_index=0,
             part=part)
    for piece in split_content(opts.content, opts.pieces):
        yield ev("response.output_text.delta", item_id=mid, output_index=0, content_index=0,
                 delta=piece, logprobs=[])
    yield ev("response.output_text.done", item_id=mid, output_index=0, content_index=0,
             text=opts.content, logprobs=[])
    done_part = dict(part, text=opts.content)
    yield ev("response.content_part.done", item_id=mid, output_index=0, content_index=0,
             part=done_part)
    yield ev("response.output_item.done", output_index=0,
             item=_message_item(mid, opts.content, "completed"))
    if end == "incomplete":
        cut = response_object(body, opts, rid, mid, "incomplete", True)
        cut["incomplete_details"] = {"reason": "max_output_tokens"}
        yield ev("response.incomplete", response=cut)
        return
    yield ev("response.completed",
             response=response_object(body, opts, rid, mid, "completed", True))


# ---- models -------------------------------------------------------------------------------

def model_object(mid):
    return {"id": mid, "object": "model", "created": 1721172741, "owned_by": "system"}


def model_list(models):
    return {"object": "list", "data": [model_object(m) for m in models]}
