#!/usr/bin/env python3
"""test_mock_upstream.py - owns: end-to-end checks of tests/mock_upstream/server.py (every
endpoint, every fault, the control API, schedule, CLI refusals and clean shutdown).

Run with --binary B --source-dir S --work-dir W; --binary is ignored. 28 s watchdog.
"""

import argparse
import http.client
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time

KEY1 = "sk-mock-test-key-1"
KEY2 = "sk-mock-test-key-2"
WRONG = "sk-wrong-key-abcdefgh"
SECRET_TEXT = "PROMPT-TEXT-THAT-MUST-NOT-BE-LOGGED"
CHAT = "/v1/chat/completions"
RESP = "/v1/responses"
PROCS = []
RESULTS = {"passed": 0, "failed": 0}


def check(cond, what, detail=""):
    if cond:
        RESULTS["passed"] += 1
    else:
        RESULTS["failed"] += 1
        print("FAIL: %s %s" % (what, detail), flush=True)
    return cond


def kill_all():
    for p in PROCS:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=5)


def watchdog():
    print("FAIL: watchdog expired (test exceeded its time bound)", flush=True)
    kill_all()
    os._exit(2)


# -- server process ----------------------------------------------------------------------------

def start(args, work_dir, tag):
    server = os.path.join(ARGS.source_dir, "tests", "mock_upstream", "server.py")
    err = open(os.path.join(work_dir, "mock-%s.stderr" % tag), "w")
    p = subprocess.Popen([sys.executable, server] + args, stdout=subprocess.PIPE, stderr=err)
    PROCS.append(p)
    return p


def wait_listening(p, timeout=10.0):
    deadline = time.monotonic() + timeout
    buf = b""
    while time.monotonic() < deadline and b"\n" not in buf:
        r, _, _ = select.select([p.stdout], [], [], 0.1)
        if r:
            chunk = os.read(p.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
    return buf.decode(errors="replace")


class Client:
    def __init__(self, hostport):
        self.host, port = hostport.rsplit(":", 1)
        self.port = int(port)

    def req(self, method, path, body=None, headers=None, key=KEY1, timeout=5.0):
        """Returns (status, headers{lower: value}, bytes, complete)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        h = {"Content-Type": "application/json"} if body is not None else {}
        if key:
            h["Authorization"] = "Bearer " + key
        h.update(headers or {})
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            try:
                return r.status, hdrs, r.read(), True
            except http.client.IncompleteRead as e:
                return r.status, hdrs, e.partial, False
        finally:
            conn.close()

    def jreq(self, method, path, body=None, **kw):
        st, h, b, complete = self.req(method, path, body, **kw)
        try:
            obj = json.loads(b) if b else None
        except ValueError:
            obj = None
        return st, h, obj, b, complete


def chat_body(model="gpt-4o-mini", **extra):
    b = {"model": model, "messages": [{"role": "user", "content": SECRET_TEXT}]}
    b.update(extra)
    return b


def resp_body(model="gpt-4o-mini", **extra):
    b = {"model": model, "input": SECRET_TEXT}
    b.update(extra)
    return b


def sse(raw):
    """Returns a list of (event, data) from an SSE body."""
    out = []
    for block in raw.decode().split("\n\n"):
        if not block.strip():
            continue
        ev, data = None, []
        for line in block.split("\n"):
            if line.startswith("event: "):
                ev = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        out.append((ev, "\n".join(data)))
    return out


def err_of(obj):
    return obj.get("error", {}) if isinstance(obj, dict) else {}


# -- endpoint checks ---------------------------------------------------------------------------

def test_basics(c):
    st, h, obj, _, _ = c.jreq("GET", "/__mock/health", key=None)
    check(st == 200 and obj["status"] == "ok" and obj["name"] == "t1", "health", obj)
    st, h, obj, _, _ = c.jreq("GET", "/v1/models")
    check(st == 200 and obj["object"] == "list", "models list", st)
    check([m["id"] for m in obj["data"]] == ["gpt-4o-mini", "gpt-4o", "gpt-4.1-mini"],
          "default models", obj)
    check(re.fullmatch(r"req_[0-9a-f]{32}", h.get("x-request-id", "")), "x-request-id", h)
    st, _, obj, _, _ = c.jreq("GET", "/v1/models/gpt-4o")
    check(st == 200 and obj["id"] == "gpt-4o" and obj["object"] == "model", "model get", obj)
    st, _, obj, _, _ = c.jreq("GET", "/v1/models/nope")
    check(st == 404 and err_of(obj).get("code") == "model_not_found", "model get 404", obj)
    st, h, _, b, _ = c.jreq("GET", "/nope/v2")
    check(st == 404 and h["content-type"].startswith("text/html") and b"<html" in b,
          "unknown path html 404", h)
    check("x-request-id" in h, "x-request-id on html 404")
    st, h, _, _, _ = c.jreq("GET", "/", key=None)
    check(st == 301 and h.get("location", "").startswith("https://"), "GET / redirect", h)
    check(c.jreq("GET", CHAT)[0] == 405, "wrong method 405")


def test_chat(c):
    st, h, obj, _, _ = c.jreq("POST", CHAT, chat_body())
    check(st == 200, "chat 200", st)
    check(obj["object"] == "chat.completion" and obj["id"].startswith("chatcmpl-"), "chat ids")
    check(obj["model"] == "gpt-4o-mini-2024-07-18", "dated model", obj["model"])
    check(isinstance(obj["created"], int) and obj["system_fingerprint"].startswith("fp_"),
          "chat created/fingerprint")
    ch = obj["choices"][0]
    check(ch["message"] == {"role": "assistant", "content": "ok", "refusal": None,
                            "annotations": []} and ch["finish_reason"] == "stop",
          "chat choice", ch)
    u = obj["usage"]
    check(u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"] and
          u["completion_tokens"] > 0, "chat usage", u)

    st, h, raw, complete = c.req("POST", CHAT, chat_body(stream=True))[0:4]
    ev = sse(raw)
    check(st == 200 and complete and h["content-type"].startswith("text/event-stream"),
          "chat stream headers", h)
    check(h.get("transfer-encoding") == "chunked", "chat stream chunked", h)
    check(ev[-1] == (None, "[DONE]"), "chat stream ends with DONE", ev[-1:])
    chunks = [json.loads(d) for _, d in ev[:-1]]
    check(all(x["object"] == "chat.completion.chunk" for x in chunks), "chunk objects")
    check(chunks[0]["choices"][0]["delta"].get("role") == "assistant", "role delta first")
    text = "".join(x["choices"][0]["delta"].get("content", "") for x in chunks)
    check(text == "ok", "content deltas", text)
    check(chunks[-1]["choices"][0]["finish_reason"] == "stop", "finish chunk")
    check(all("usage" not in x for x in chunks), "no usage without include_usage")

    st, _, raw, complete = c.req("POST", CHAT, chat_body(
        stream=True, stream_options={"include_usage": True}))[0:4]
    ev = sse(raw)
    last = json.loads(ev[-2][1])
    check(ev[-1][1] == "[DONE]" and last["choices"] == [] and last["usage"]["total_tokens"] > 0,
          "usage chunk with include_usage", last)
    check(all(json.loads(d).get("usage", 0) is None for _, d in ev[:-2]),
          "usage null on other chunks")


def test_responses(c):
    st, _, obj, _, _ = c.jreq("POST", RESP, resp_body(model="gpt-4o"))
    check(st == 200 and obj["object"] == "response" and obj["id"].startswith("resp_"),
          "responses 200", obj)
    check(obj["status"] == "completed" and obj["model"] == "gpt-4o-2024-08-06",
          "responses status/model", obj.get("model"))
    out = obj["output"][0]
    check(out["type"] == "message" and out["role"] == "assistant" and
          out["content"][0] == {"type": "output_text", "text": "ok", "annotations": [],
                                "logprobs": []}, "responses output", out)
    u = obj["usage"]
    check(u["total_tokens"] == u["input_tokens"] + u["output_tokens"], "responses usage", u)

    st, h, raw, complete = c.req("POST", RESP, resp_body(stream=True))[0:4]
    ev = sse(raw)
    names = [e for e, _ in ev]
    check(st == 200 and complete and names[0] == "response.created" and
          names[-1] == "response.completed", "responses stream order", names)
    check("response.output_text.delta" in names and "[DONE]" not in raw.decode(),
          "responses deltas, no DONE", names)
    datas = [json.loads(d) for _, d in ev]
    check(all(d["type"] == n for d, n in zip(datas, names)), "event type matches data.type")
    check([d["sequence_number"] for d in datas] == list(range(len(datas))), "sequence numbers")
    delta = "".join(d["delta"] for d in datas if d["type"] == "response.output_text.delta")
    check(delta == "ok" and datas[-1]["response"]["usage"]["total_tokens"] > 0,
          "responses stream text+usage")


def test_errors(c):
    st, _, obj, raw, _ = c.jreq("POST", CHAT, chat_body(), key=None)
    check(st == 401 and err_of(obj).get("code") == "invalid_api_key", "missing key 401", obj)
    st, _, obj, raw, _ = c.jreq("POST", CHAT, chat_body(), key=WRONG)
    e = err_of(obj)
    check(st == 401 and e.get("code") == "invalid_api_key" and
          e.get("type") == "invalid_request_error", "wrong key 401", obj)
    check(WRONG.encode() not in raw and "Incorrect API key provided" in e.get("message", ""),
          "wrong key masked in 401", raw)
    check(c.jreq("POST", CHAT, chat_body(), key=KEY2)[0] == 200, "second key accepted")
    st, _, obj, _, _ = c.jreq("POST", CHAT, chat_body(model="gpt-9"))
    check(st == 404 and err_of(obj).get("code") == "model_not_found", "unknown model 404", obj)
    st, _, obj, _, _ = c.jreq("POST", CHAT, b"{not json")
    check(st == 400 and err_of(obj).get("type") == "invalid_request_error", "bad json 400", obj)
    st, _, obj, _, _ = c.jreq("POST", CHAT, {"model": "gpt-4o"})
    check(st == 400 and err_of(obj).get("param") == "messages", "missing messages 400", obj)
    st, _, obj, _, _ = c.jreq("POST", RESP, {"model": "gpt-4o"})
    check(st == 400 and err_of(obj).get("param") == "input", "missing input 400", obj)


# -- faults ------------------------------------------------------------------------------------

def fault(c, spec, path=CHAT, body=None, **kw):
    b = body if body is not None else (chat_body() if path == CHAT else resp_body())
    return c.jreq("POST", path, b, headers={"X-Mock-Fault": spec}, **kw)


def test_error_faults(c):
    st, h, obj, _, _ = fault(c, "status;status=503;retry_after=7")
    check(st == 503 and h.get("retry-after") == "7" and err_of(obj).get("type"),
          "status fault", (st, h))
    check(fault(c, "status=418")[0] == 418, "status primary value")
    st, h, obj, _, _ = fault(c, "rate_limit")
    e = err_of(obj)
    check(st == 429 and h.get("retry-after") == "1" and e.get("code") == "rate_limit_exceeded"
          and e.get("type") == "requests", "rate_limit", (st, h, obj))
    st, h, obj, _, _ = fault(c, "insufficient_quota")
    e = err_of(obj)
    check(st == 429 and e.get("code") == "insufficient_quota" and
          e.get("type") == "insufficient_quota" and "retry-after" not in h,
          "insufficient_quota", obj)
    for code in (500, 502, 503, 504, 524):
        st, h, obj, _, _ = fault(c, "server_error;status=%d" % code)
        check(st == code and err_of(obj).get("type") == "server_error", "server_error %d" % code)
    st, h, _, raw, _ = fault(c, "server_error;status=524;body=text")
    check(st == 524 and raw == b"error code: 524", "server_error text body", raw)
    st, h, obj, _, _ = fault(c, "server_error;status=404")
    check(st == 400 and err_of(obj).get("type") == "mock_error", "server_error rejects 4xx", st)
    st, _, obj, _, _ = fault(c, "invalid_request_500")
    e = err_of(obj)
    check(st == 500 and e.get("code") == "invalid_request" and
          "(request id: " in e.get("message", ""), "invalid_request_500", obj)
    st, _, obj, _, _ = fault(c, "request_id_in_message;rid=20251122abcdef123456")
    check(st == 500 and "(request id: 20251122abcdef123456)" in err_of(obj).get("message", ""),
          "request_id_in_message fixed", obj)
    st, _, obj, _, _ = fault(c, "request_id_in_message;status=503")
    check(st == 503 and re.search(r"\(request id: \d{8}[0-9a-f]{12}\)",
                                  err_of(obj).get("message", "")), "request_id generated", obj)
    st, h, _, raw, _ = fault(c, "html_404")
    check(st == 404 and h["content-type"].startswith("text/html"), "html_404 fault", h)
    st, h, _, _, _ = fault(c, "redirect")
    check(st == 302 and h.get("location") == "/__mock/redirected", "redirect fault", h)
    st, h, _, _, _ = fault(c, "redirect;status=307;location=/elsewhere")
    check(st == 307 and h.get("location") == "/elsewhere", "redirect params", h)
    st, h, _, raw, _ = fault(c, "empty_200")
    check(st == 200 and raw == b"" and h.get("content-length") == "0", "empty_200", h)
    st, _, obj, _, _ = fault(c, "no_such_fault")
    check(st == 400 and err_of(obj).get("type") == "mock_error", "unknown fault 400", obj)
    # Replacement faults answer before the auth check, like a failing gateway in front.
    st, _, _, _, _ = fault(c, "server_error;status=503", key=WRONG)
    check(st == 503, "replace fault precedes auth", st)


def test_modifier_faults(c):
    t0 = time.monotonic()
    st, _, obj, _, _ = fault(c, "delay;ms=300")
    check(st == 200 and time.monotonic() - t0 >= 0.29 and obj["choices"], "delay", st)
    st, _, obj, raw, _ = fault(c, "invalid_json")
    check(st == 200 and obj is None and raw.startswith(b"{"), "invalid_json", raw[:40])
    st, _, _, raw, _ = fault(c, "invalid_json", body=chat_body(stream=True))
    bad = 0
    for _, d in sse(raw):
        try:
            json.loads(d) if d != "[DONE]" else None
        except ValueError:
            bad += 1
    check(st == 200 and bad == 1, "invalid_json stream", bad)
    st, _, obj, _, _ = fault(c, "no_usage")
    check(st == 200 and "usage" not in obj, "no_usage chat", obj.keys())
    st, _, _, raw, _ = fault(c, "no_usage", body=chat_body(
        stream=True, stream_options={"include_usage": True}))
    ev = sse(raw)
    check(ev[-1][1] == "[DONE]" and all(json.loads(d)["choices"] for _, d in ev[:-1]),
          "no_usage stream has no usage chunk")
    st, _, obj, _, _ = fault(c, "no_usage", path=RESP)
    check(st == 200 and obj["usage"] is None, "no_usage responses", obj.get("usage"))
    st, _, obj, _, _ = fault(c, "shape_change")
    check(st == 200 and "mock_unexpected_field" in obj and "system_fingerprint" not in obj and
          "created" not in obj, "shape_change", list(obj))
    st, _, obj, _, _ = fault(c, "shape_change", path=RESP)
    check(st == 200 and "created_at" not in obj and "mock_unexpected_field" in obj,
          "shape_change responses", list(obj))
    st, _, obj, _, _ = fault(c, "model_substituted")
    check(st == 200 and obj["model"] not in ("gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
          "model_substituted", obj["model"])
    st, _, obj, _, _ = fault(c, "model_substituted;model=gpt-4o", path=RESP)
    check(st == 200 and obj["model"] == "gpt-4o", "model_substituted param", obj["model"])
    check(fault(c, "accept_any_key", key=WRONG)[0] == 200, "accept_any_key takes wrong key")
    check(fault(c, "no_usage", key=WRONG)[0] == 401, "modifier faults keep auth")


def test_stream_cut(c):
    st, _, _, raw, complete = fault(c, "stream_cut;after=2", body=chat_body(stream=True))
    ev = sse(raw)
    check(st == 200 and not complete and len(ev) == 2 and b"[DONE]" not in raw,
          "stream_cut chat", (complete, len(ev)))
    st, _, _, raw, complete = fault(c, "stream_cut;after=3", path=RESP,
                                    body=resp_body(stream=True))
    names = [e for e, _ in sse(raw)]
    check(not complete and len(names) == 3 and "response.completed" not in names,
          "stream_cut responses", names)
    st, _, _, raw, complete = fault(c, "stream_cut;rst=1;after=1", body=chat_body(stream=True))
    check(not complete and b"[DONE]" not in raw, "stream_cut rst", complete)
    try:
        st, _, obj, raw, complete = fault(c, "stream_cut")
        check(not complete and obj is None, "stream_cut non-stream truncated", complete)
    except (ConnectionError, http.client.HTTPException) as e:
        check(False, "stream_cut non-stream", e)


def test_hang(c):
    result = {}

    def hang_client():
        t0 = time.monotonic()
        try:
            fault(c, "hang", timeout=1.5)
            result["outcome"] = "answered"
        except (socket.timeout, TimeoutError):
            result["outcome"] = "timeout"
        result["secs"] = time.monotonic() - t0

    th = threading.Thread(target=hang_client)
    th.start()
    time.sleep(0.2)  # let the hanging request reach the server before measuring the other one
    t0 = time.monotonic()
    st, _, _, _, _ = c.jreq("POST", CHAT, chat_body(), timeout=1.0)
    check(st == 200 and time.monotonic() - t0 < 1.0, "hang does not block others", st)
    check(th.is_alive(), "hang still pending while other request served")
    th.join(5)
    check(result.get("outcome") == "timeout" and result.get("secs", 0) >= 1.4, "hang", result)
    found = None
    for _ in range(40):  # bounded poll: the server notices the client left within ~0.1 s
        reqs = c.jreq("GET", "/__mock/requests", key=None)[2]
        hangs = [r for r in reqs if (r.get("fault") or {}).get("name") == "hang"]
        if hangs and hangs[-1].get("outcome"):
            found = hangs[-1]
            break
        time.sleep(0.05)
    check(found and found["outcome"] == "client_gone" and found["status"] is None,
          "hang recorded as client_gone", found)
    try:
        fault(c, "hang;max_ms=200", timeout=3)
        check(False, "hang max_ms closes without answer")
    except (http.client.RemoteDisconnected, ConnectionError):
        check(True, "hang max_ms")


def test_model_name_faults(c):
    st, _, _, _, _ = c.jreq("POST", CHAT, chat_body(model="mock-fault-status-503"))
    check(st == 503, "model fault status-503", st)
    st, h, obj, _, _ = c.jreq("POST", RESP, resp_body(model="mock-fault-rate_limit"))
    check(st == 429 and err_of(obj).get("code") == "rate_limit_exceeded", "model rate_limit", st)
    st, _, obj, _, _ = c.jreq("POST", CHAT, chat_body(model="mock-fault-no_usage"))
    check(st == 200 and "usage" not in obj and obj["model"] == "mock-fault-no_usage",
          "model modifier fault", obj)
    st, _, obj, _, _ = c.jreq("POST", CHAT, chat_body(model="mock-fault-bogus"))
    check(st == 400 and err_of(obj).get("type") == "mock_error", "model unknown fault", st)


def test_queue(c):
    q = {"faults": [{"fault": "status", "status": 503, "times": 2, "path": CHAT},
                    {"fault": "rate_limit", "path": RESP, "retry_after": 3}]}
    st, _, obj, _, _ = c.jreq("POST", "/__mock/faults", q, key=None)
    check(st == 200 and obj["queued"] == 2, "queue post", obj)
    st, _, _, _, _ = fault(c, "empty_200")
    check(st == 200, "header beats queue", st)
    codes = [c.jreq("POST", CHAT, chat_body())[0] for _ in range(3)]
    check(codes == [503, 503, 200], "queue times=2 consumed in order", codes)
    st, h, _, _, _ = c.jreq("POST", RESP, resp_body())
    check(st == 429 and h.get("retry-after") == "3", "queue path filter", (st, h))
    check(c.jreq("POST", RESP, resp_body())[0] == 200, "queue drained")
    c.jreq("POST", "/__mock/faults", {"faults": [{"fault": "server_error"}]}, key=None)
    st, _, obj, _, _ = c.jreq("GET", "/__mock/faults", key=None)
    check(len(obj["faults"]) == 1, "queue list", obj)
    st, _, obj, _, _ = c.jreq("DELETE", "/__mock/faults", key=None)
    check(obj == {"cleared": 1} and c.jreq("POST", CHAT, chat_body())[0] == 200, "queue clear")
    st, _, obj, _, _ = c.jreq("POST", "/__mock/faults", {"faults": [{"fault": "nope"}]},
                              key=None)
    check(st == 400, "queue rejects unknown fault", st)


def test_request_log(c):
    c.jreq("POST", CHAT, chat_body(), key=WRONG)
    c.jreq("POST", CHAT, chat_body(stream=True, stream_options={"include_usage": True}),
           headers={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                    "X-Request-ID": "client-rid-1", "User-Agent": "probe/1"})
    st, h, reqs, raw, _ = c.jreq("GET", "/__mock/requests", key=None)
    check(st == 200 and isinstance(reqs, list) and len(reqs) > 20, "requests list", st)
    for secret in (KEY1, KEY2, WRONG, SECRET_TEXT):
        check(secret.encode() not in raw, "request log never holds %s" % secret[:6])
    last = reqs[-1]
    check(last["headers"].get("traceparent", "").startswith("00-0af7") and
          last["headers"].get("x-request-id") == "client-rid-1" and
          last["headers"].get("user-agent") == "probe/1", "logged headers", last["headers"])
    check(last["body"] == {"model": "gpt-4o-mini", "stream": True,
                           "stream_options": {"include_usage": True}, "messages_count": 1},
          "logged body fields", last["body"])
    check(last["status"] == 200 and last["auth_present"] and last["auth_matched"] is True,
          "logged status/auth", last)
    check(reqs[-2]["auth_matched"] is False and reqs[-2]["status"] == 401, "logged wrong key")
    check(any((r.get("fault") or {}).get("name") == "rate_limit" for r in reqs),
          "logged fault")
    check(not any(r["path"].startswith("/__mock/") for r in reqs), "control calls not logged")
    st, _, obj, _, _ = c.jreq("DELETE", "/__mock/requests", key=None)
    check(st == 200 and obj["cleared"] > 0 and c.jreq("GET", "/__mock/requests", key=None)[2]
          == [], "requests clear")


def test_keepalive_and_http10(c):
    conn = http.client.HTTPConnection(c.host, c.port, timeout=5)
    hdr = {"Authorization": "Bearer " + KEY1, "Content-Type": "application/json"}
    conn.request("POST", CHAT, json.dumps(chat_body()), hdr)
    r1 = conn.getresponse()
    r1.read()
    sock1 = conn.sock
    conn.request("POST", CHAT, json.dumps(chat_body(stream=True)), hdr)
    r2 = conn.getresponse()
    body2 = r2.read()
    check(r1.status == 200 and r2.status == 200 and sock1 is not None and conn.sock is sock1,
          "keep-alive reuses connection")
    conn.request("GET", "/v1/models", headers=hdr)
    check(conn.getresponse().status == 200 and b"[DONE]" in body2, "keep-alive after stream")
    conn.close()
    s = socket.create_connection((c.host, c.port), timeout=5)
    body = json.dumps(chat_body(stream=True)).encode()
    s.sendall(b"POST %s HTTP/1.0\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s"
              % (CHAT.encode(), KEY1.encode(), len(body), body))
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    check(b"chunked" not in head.lower() and rest.rstrip().endswith(b"data: [DONE]"),
          "HTTP/1.0 stream framed by close", head)


def test_exact_and_schedule(work_dir):
    sched = os.path.join(work_dir, "schedule.json")
    with open(sched, "w") as f:
        json.dump({"rules": [
            {"path": CHAT, "every": 3, "fault": "server_error", "status": 503},
            {"path": RESP, "period_s": 3600, "window_s": 3600, "fault": "rate_limit"},
            {"path": "/v1/models", "from_s": 3600, "fault": "server_error"}]}, f)
    p = start(["--port", "0", "--exact-model", "--models", "alpha,beta", "--schedule", sched,
               "--name", "t2"], work_dir, "t2")
    line = wait_listening(p)
    if not check(line.startswith('{"listening":"127.0.0.1:'), "second server up", line):
        return
    c = Client(json.loads(line)["listening"])
    st, _, obj, _, _ = c.jreq("GET", "/v1/models", key=None)
    check(st == 200 and [m["id"] for m in obj["data"]] == ["alpha", "beta"],
          "--models + inactive window", obj)
    codes = []
    for _ in range(6):
        st, _, obj, _, _ = c.jreq("POST", CHAT, chat_body(model="alpha"), key=None)
        codes.append(st)
        if st == 200:
            check(obj["model"] == "alpha", "--exact-model echo", obj["model"])
    check(codes == [200, 200, 503, 200, 200, 503], "schedule every=3", codes)
    check(c.jreq("POST", RESP, resp_body(model="beta"), key=None)[0] == 429, "schedule window")
    check(c.jreq("POST", CHAT, chat_body(model="gpt-4o-mini"), key=None)[0] == 404,
          "configured models only")
    p.send_signal(signal.SIGINT)
    try:
        check(p.wait(timeout=5) == 0, "SIGINT exits 0")
    except subprocess.TimeoutExpired:
        check(False, "SIGINT exits")


def test_cli_refusals(work_dir):
    bad = os.path.join(work_dir, "bad-schedule.json")
    with open(bad, "w") as f:
        f.write('{"rules":[{"fault":"nope"}]}')
    for what, args in (("non-local host refused", ["--host", "0.0.0.0"]),
                       ("bad schedule refused", ["--schedule", bad])):
        p = start(["--port", "0"] + args, work_dir, "refuse")
        try:
            check(p.wait(timeout=5) == 2, what)
        except subprocess.TimeoutExpired:
            check(False, what + " (timed out)")


def test_shutdown_with_hang(p, c):
    def hang():
        try:
            fault(c, "hang", timeout=10)
        except (OSError, http.client.HTTPException):  # cut off by the shutdown: the point
            pass

    t = threading.Thread(target=hang, daemon=True)
    t.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=5)
        check(rc == 0 and time.monotonic() - t0 < 3, "SIGTERM exits 0 despite hang", rc)
    except subprocess.TimeoutExpired:
        check(False, "SIGTERM with hang in flight")
    t.join(5)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary")
    ap.add_argument("--source-dir", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    ap.add_argument("--work-dir", default="/tmp/test_mock_upstream")
    ARGS = ap.parse_args()
    os.makedirs(ARGS.work_dir, exist_ok=True)
    timer = threading.Timer(28.0, watchdog)
    timer.daemon = True
    timer.start()
    try:
        port_file = os.path.join(ARGS.work_dir, "mock.port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        p = start(["--host", "127.0.0.1", "--port", "0", "--api-key", KEY1, "--api-key", KEY2,
                   "--port-file", port_file, "--name", "t1"], ARGS.work_dir, "t1")
        line = wait_listening(p)
        m = re.fullmatch(r'\{"listening":"127\.0\.0\.1:(\d+)"\}\n', line)
        if check(m, "listening line", repr(line)):
            with open(port_file) as f:
                check(f.read().strip() == m.group(1), "port file")
            c = Client("127.0.0.1:" + m.group(1))
            for fn in (test_basics, test_chat, test_responses, test_errors, test_error_faults,
                       test_modifier_faults, test_stream_cut, test_hang, test_model_name_faults,
                       test_queue, test_request_log, test_keepalive_and_http10):
                try:
                    fn(c)
                except Exception as e:  # one broken group must not hide the others
                    check(False, fn.__name__, "raised %r" % e)
            test_shutdown_with_hang(p, c)
        test_exact_and_schedule(ARGS.work_dir)
        test_cli_refusals(ARGS.work_dir)
    finally:
        kill_all()
        timer.cancel()
    print("%d passed, %d failed" % (RESULTS["passed"], RESULTS["failed"]), flush=True)
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
