#!/usr/bin/env python3
"""server.py - owns: the mock OpenAI-compatible upstream (a stand-in for CometAPI): CLI,
HTTP serving, routing, auth, fault application and the /__mock control API.

Python 3 stdlib only. Response shapes live in bodies.py, fault parsing/queue/log in faults.py.
Never stores or prints API keys or message contents.
"""

import argparse
import hmac
import json
import os
import select
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bodies  # noqa: E402
import faults  # noqa: E402

MAX_BODY = 8 << 20
LOGGED_HEADERS = ("x-request-id", "traceparent", "tracestate", "user-agent", "content-type",
                  "x-mock-fault")
LOGGED_BODY_FIELDS = ("model", "stream", "stream_options", "max_tokens",
                      "max_completion_tokens", "max_output_tokens")
ENDPOINTS = {"/v1/models": "GET", "/v1/chat/completions": "POST", "/v1/responses": "POST"}


class Cut(Exception):
    """Raised to abandon a response mid-way: the connection is closed with no more bytes."""


def _json_bytes(obj):
    # OpenAI pretty-prints non-streaming bodies; clients must not depend on layout.
    return json.dumps(obj, indent=2).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-cometapi/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are dropped after this, like real servers

    # -- plumbing ------------------------------------------------------------------------------
    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        if self.server.cfg.verbose:
            sys.stderr.write("mock-upstream: %s - %s\n" % (self.address_string(), fmt % args))

    def handle_one_request(self):
        # One handler instance serves every request of a keep-alive connection.
        self.req_id, self._entry, self._status = None, None, None
        super().handle_one_request()

    def send_response(self, code, message=None):
        super().send_response(code, message)
        self.req_id = self.req_id or bodies.new_request_id()
        self.send_header("x-request-id", self.req_id)
        self.send_header("x-mock-upstream", self.server.cfg.name)
        self._status = code
        if self._entry is not None:
            self.server.state.update(self._entry, status=code)

    def _send(self, status, payload, ctype="application/json", headers=None):
        data = _json_bytes(payload) if isinstance(payload, (dict, list)) else payload
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status, body, headers=None):
        self._send(status, body, headers=headers)

    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = bytearray()
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                if len(out) + size > MAX_BODY:
                    raise ValueError("body too large")
                out += self.rfile.read(size)
                self.rfile.readline(1024)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(length) if length > 0 else b""

    def _auth(self):
        """Returns (present, key_or_None, matched); matched is None when no keys configured."""
        raw = self.headers.get("Authorization")
        key = None
        if raw and raw[:7].lower() == "bearer ":
            key = raw[7:].strip()
        keys = self.server.cfg.api_keys
        if not keys:
            return raw is not None, key, None
        matched = key is not None and any(
            hmac.compare_digest(key.encode(), k.encode()) for k in keys)
        return raw is not None, key, matched

    def _cut(self, rst):
        self.close_connection = True
        if rst:
            # SO_LINGER 0 turns close() into a TCP RST, like a proxy killing the connection.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        raise Cut()

    def _sleep(self, ms):
        if ms > 0:
            self.server.state.stopping.wait(ms / 1000.0)

    # -- entry points ------------------------------------------------------------------------
    def do_GET(self):
        self._dispatch()

    do_POST = do_DELETE = do_PUT = do_PATCH = do_GET

    def _dispatch(self):
        self.req_id = bodies.new_request_id()
        self._entry = None
        self._status = None
        self._chunked = False
        t0 = time.monotonic()
        path = urlsplit(self.path).path
        try:
            try:
                raw = self._read_body()
            except ValueError:
                self.close_connection = True
                self._error(413, bodies.error_body("Request body too large or malformed.",
                                                   "invalid_request_error"))
                return
            if path.startswith("/__mock/") and path != "/__mock/redirected":
                self._control(path, raw)
                return
            self._entry = self.server.state.record(self._new_entry(path, raw))
            outcome = self._route(path, raw)
        except Cut:
            outcome = "cut"
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            outcome = "client_gone"
        except Exception:  # a mock bug must be loud, not a silently dropped connection
            traceback.print_exc(file=sys.stderr)
            self.close_connection = True
            outcome = "mock_bug"
            if self._status is None:
                self._error(500, bodies.error_body("mock: internal error (see its stderr)",
                                                   "mock_error", "mock_bug"))
        if self._entry is not None:
            self.server.state.update(self._entry, outcome=outcome or "complete",
                                     duration_ms=round((time.monotonic() - t0) * 1000, 1))

    def _new_entry(self, path, raw):
        present, _key, matched = self._auth()
        auth_hdr = self.headers.get("Authorization") or ""
        entry = {
            "time": time.time(),
            "time_iso": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "method": self.command,
            "path": path,
            "status": None,
            "fault": None,
            "response_request_id": self.req_id,
            "headers": {h: self.headers.get(h) for h in LOGGED_HEADERS
                        if self.headers.get(h) is not None},
            "auth_present": present,
            "auth_scheme": auth_hdr.split(" ", 1)[0] if auth_hdr else None,
            "auth_matched": matched,
            "body_bytes": len(raw),
            "body": None,
        }
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            entry["body"] = {k: parsed[k] for k in LOGGED_BODY_FIELDS if k in parsed}
            if isinstance(parsed.get("messages"), list):
                entry["body"]["messages_count"] = len(parsed["messages"])
        return entry

    # -- /v1 routing ---------------------------------------------------------------------------
    def _route(self, path, raw):
        cfg = self.server.cfg
        if path == "/":
            self._send(301, b"<html><body>Moved</body></html>\n", "text/html; charset=utf-8",
                       {"Location": cfg.docs_url})
            return None
        if path == "/__mock/redirected":
            self._send(200, b"<html><body>redirect target</body></html>\n",
                       "text/html; charset=utf-8")
            return None
        model_id = None
        if path.startswith("/v1/models/") and len(path) > len("/v1/models/"):
            model_id, want = path[len("/v1/models/"):], "GET"
        elif path in ENDPOINTS:
            want = ENDPOINTS[path]
        else:
            self._send(404, bodies.HTML_404, "text/html; charset=utf-8")
            return None
        if self.command != want:
            self._error(405, bodies.error_body(
                "Invalid method for URL (%s %s)" % (self.command, path), "invalid_request_error"))
            return None

        body, bad_json = None, False
        if want == "POST":
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                bad_json = True
        model = body.get("model") if isinstance(body, dict) else model_id
        try:
            fault = self.server.state.select(self.headers.get("X-Mock-Fault"), path, model)
        except faults.FaultError as e:
            self._error(400, bodies.error_body("mock: %s" % e, "mock_error", "mock_bad_fault"))
            return None
        if fault is not None:
            self.server.state.update(self._entry, fault=fault.describe())
            self._sleep(fault.int("ms", 1000 if fault.name == "delay" else 0))
            if fault.kind == "replace":
                return self._replace(fault)

        _present, key, matched = self._auth()
        if matched is False and not (fault and fault.name == "accept_any_key"):
            self._error(401, bodies.invalid_key_body(key))
            return None
        if want == "GET":
            return self._models(model_id)
        err = self._validate(path, body, bad_json)
        if err:
            self._error(400, err)
            return None
        if not self._known_model(body["model"]):
            if self.server.cfg.unknown_model == "no_channel":
                self._error(503, bodies.no_channel_body(body["model"], bodies.comet_request_id()))
            else:
                self._error(404, bodies.model_not_found_body(body["model"]))
            return None
        return self._answer(path, body, fault)

    def _validate(self, path, body, bad_json):
        if bad_json or not isinstance(body, dict):
            return bodies.error_body(
                "We could not parse the JSON body of your request. (HINT: This likely means "
                "you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
                "payload.)", "invalid_request_error")
        if not isinstance(body.get("model"), str) or not body["model"]:
            return bodies.error_body("you must provide a model parameter",
                                     "invalid_request_error", None, "model")
        field = "messages" if path == "/v1/chat/completions" else "input"
        val = body.get(field)
        if val is None or (field == "messages" and (not isinstance(val, list) or not val)):
            return bodies.error_body("Missing required parameter: '%s'." % field,
                                     "invalid_request_error", "missing_required_parameter",
                                     field)
        return None

    def _known_model(self, model):
        cfg = self.server.cfg
        return (model in cfg.models or model.startswith(faults.MODEL_PREFIX)
                or model in {bodies.DATED_MODELS.get(m) for m in cfg.models})

    def _models(self, model_id):
        models = self.server.cfg.models
        if model_id is None:
            self._send(200, bodies.model_list(models))
        elif self._known_model(model_id) and not model_id.startswith(faults.MODEL_PREFIX):
            self._send(200, bodies.model_object(model_id))
        else:
            self._error(404, bodies.model_not_found_body(model_id))
        return None

    # -- faults that answer instead of the upstream ----------------------------------------
    def _replace(self, fault):
        name = fault.name
        if name == "hang":
            return self._hang(fault)
        if name == "html_404":
            self._send(404, bodies.HTML_404, "text/html; charset=utf-8")
        elif name == "empty_200":
            self._send(200, b"", "application/json")
        elif name == "redirect":
            self._send(fault.int("status", 302), b"<html><body>Found</body></html>\n",
                       "text/html; charset=utf-8",
                       {"Location": fault.str("location", "/__mock/redirected")})
        elif name == "rate_limit":
            ra = fault.int("retry_after", 1)
            self._error(429, bodies.error_body(fault.str(
                "message", "Rate limit reached for requests per min (RPM): Limit 3, Used 3, "
                "Requested 1. Please try again in %ds." % ra), "requests", "rate_limit_exceeded"),
                {"Retry-After": ra, "x-ratelimit-limit-requests": 3,
                 "x-ratelimit-remaining-requests": 0, "x-ratelimit-reset-requests": "%ds" % ra})
        elif name == "insufficient_quota":
            self._error(429, bodies.error_body(
                "You exceeded your current quota, please check your plan and billing details.",
                "insufficient_quota", "insufficient_quota"))
        elif name == "invalid_request_500":
            # CometAPI answers some malformed requests with a 500 that must not be retried.
            self._error(500, bodies.error_body(
                "invalid request (request id: %s)" % bodies.comet_request_id(),
                fault.str("type", "comet_api_error"), "invalid_request"))
        elif name == "request_id_in_message":
            st = fault.int("status", 500)
            rid = fault.str("rid", None) or bodies.comet_request_id()
            self._error(st, bodies.error_body(
                "upstream error: do request failed (request id: %s)" % rid,
                fault.str("type", "comet_api_error"), fault.str("code", "do_request_failed")))
        else:  # status, server_error
            self._status_fault(fault)
        return None

    def _status_fault(self, fault):
        st = fault.int("status", 500)
        headers = {}
        if "retry_after" in fault.params:
            headers["Retry-After"] = fault.int("retry_after", 1)
        kind = fault.str("body", "json")
        if kind == "text":  # what Cloudflare shows API clients for 52x
            self._send(st, b"error code: %d" % st, "text/plain; charset=UTF-8", headers)
            return
        if kind == "html":
            self._send(st, bodies.cloudflare_html(st), "text/html; charset=UTF-8", headers)
            return
        msg = bodies.SERVER_ERROR_MESSAGES.get(st, "mock status %d" % st)
        self._error(st, bodies.error_body(fault.str("message", msg),
                                          fault.str("type", bodies.type_for_status(st)),
                                          fault.params.get("code")), headers)

    def _hang(self, fault):
        """Never answer: wait until the client goes away, the server stops or max_ms passes."""
        conn, stop = self.connection, self.server.state.stopping
        deadline = None
        if "max_ms" in fault.params:
            deadline = time.monotonic() + fault.int("max_ms", 0) / 1000.0
        self.close_connection = True
        while not stop.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                return "hang_timeout"
            try:
                readable, _, _ = select.select([conn], [], [], 0.1)
                if readable and not conn.recv(4096):
                    return "client_gone"
            except (OSError, ValueError):
                return "client_gone"
        return "server_stopping"

    # -- normal answers (possibly modified) ----------------------------------------------------
    def _answer(self, path, body, fault):
        cfg = self.server.cfg
        fname = fault.name if fault else None
        model = bodies.response_model(body["model"], cfg.exact_model)
        if fname == "model_substituted":
            model = fault.str("model", bodies.SUBSTITUTE_MODEL)
        opts = bodies.Opts(model, cfg.content, cfg.stream_chunks,
                           include_usage=fname != "no_usage", shape_change=fname == "shape_change")
        chat = path == "/v1/chat/completions"
        if body.get("stream") is True:
            if chat:
                so = body.get("stream_options")
                want_usage = isinstance(so, dict) and so.get("include_usage") is True
                events = bodies.chat_stream_events(body, opts, want_usage)
            else:
                end = fname[len("responses_"):] if fname and fname.startswith("responses_") \
                    else "completed"
                events = bodies.responses_stream_events(body, opts, end)
            return self._stream(events, fault)
        obj = bodies.chat_completion(body, opts) if chat else bodies.response_completed(body, opts)
        data = _json_bytes(obj)
        if fname == "invalid_json":
            self._send(200, data[:len(data) // 2])
        elif fname == "stream_cut":
            # Non-streaming: promise the full length, deliver part of it, close.
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:len(data) // 2])
            self._cut(fault.int("rst", 0) == 1)
        else:
            self._send(200, data)
        return None

    def _write_raw(self, data):
        if self._chunked:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            self.wfile.write(data)
        self.wfile.flush()

    def _stream(self, events, fault):
        fname = fault.name if fault else None
        cut_after = fault.int("after", 1) if fname == "stream_cut" else None
        chunk_ms = fault.int("chunk_ms", 0) if fault else 0
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        if self.request_version == "HTTP/1.1":
            self.send_header("Transfer-Encoding", "chunked")
            self._chunked = True
        else:
            self.close_connection = True
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        sent = 0
        for name, data in events:
            if cut_after is not None and sent >= cut_after:
                self._cut(fault.int("rst", 0) == 1)
            if fname == "invalid_json" and sent == 1:
                data = data[:len(data) // 2]
            if sent and chunk_ms:
                self._sleep(chunk_ms)
            text = ("event: %s\n" % name if name else "") + "data: %s\n\n" % data
            self._write_raw(text.encode())
            sent += 1
        if self._chunked:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        return None

    # -- control API ------------------------------------------------------------------------
    def _control(self, path, raw):
        state, m = self.server.state, self.command
        if path == "/__mock/health" and m == "GET":
            self._send(200, {"status": "ok", "name": self.server.cfg.name,
                             "uptime_s": round(time.monotonic() - state.started, 3)})
        elif path == "/__mock/requests" and m == "GET":
            reqs, dropped = state.snapshot()
            self._send(200, reqs, headers={"x-mock-requests-dropped": dropped})
        elif path == "/__mock/requests" and m == "DELETE":
            self._send(200, {"cleared": state.clear_requests()})
        elif path == "/__mock/faults" and m == "GET":
            self._send(200, {"faults": state.list_queue()})
        elif path == "/__mock/faults" and m == "DELETE":
            self._send(200, {"cleared": state.clear_queue()})
        elif path == "/__mock/faults" and m == "POST":
            try:
                obj = json.loads(raw)
                entries = obj.get("faults") if isinstance(obj, dict) and "faults" in obj else obj
                if isinstance(entries, dict):
                    entries = [entries]
                if not isinstance(entries, list):
                    raise faults.FaultError("want {\"faults\": [...]}")
                self._send(200, {"queued": state.enqueue(entries)})
            except (ValueError, faults.FaultError) as e:
                self._error(400, bodies.error_body("mock: %s" % e, "mock_error", "mock_bad_fault"))
        else:
            self._error(404, bodies.error_body("mock: no control endpoint %s %s" % (m, path),
                                               "mock_error"))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, socket.timeout, TimeoutError)):
            return
        super().handle_error(request, client_address)


class Server6(Server):
    address_family = socket.AF_INET6


LOCAL_HOSTS = {"127.0.0.1": "127.0.0.1", "localhost": "127.0.0.1", "::1": "::1"}


def parse_args(argv):
    p = argparse.ArgumentParser(description="Mock OpenAI-compatible upstream (CometAPI stand-in)"
                                " with fault injection.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--allow-nonlocal", action="store_true",
                   help="allow binding a non-loopback address")
    p.add_argument("--api-key", dest="api_keys", action="append", default=[],
                   help="accepted bearer key (repeatable); none given = no auth check")
    p.add_argument("--models", default="gpt-4o-mini,gpt-4o,gpt-4.1-mini")
    p.add_argument("--exact-model", action="store_true",
                   help="echo the requested model instead of the dated snapshot name")
    p.add_argument("--port-file")
    p.add_argument("--name", default="mock-upstream")
    p.add_argument("--schedule", help="JSON file with fault rules applied without a controller")
    p.add_argument("--docs-url", default="https://apidoc.cometapi.com/",
                   help="where GET / redirects")
    p.add_argument("--unknown-model", choices=("openai", "no_channel"), default="openai",
                   help="answer to an unknown model: OpenAI's 404, or a one-api/new-api style 503")
    p.add_argument("--content", default="ok", help="assistant text of every answer")
    p.add_argument("--stream-chunks", type=int, default=2, help="content deltas per stream")
    p.add_argument("--max-logged-requests", type=int, default=5000)
    p.add_argument("--verbose", action="store_true", help="log each request to stderr")
    a = p.parse_args(argv)
    a.models = [m.strip() for m in a.models.split(",") if m.strip()]
    if a.host not in LOCAL_HOSTS and not a.allow_nonlocal:
        p.error("refusing to bind %s: only loopback unless --allow-nonlocal" % a.host)
    a.host = LOCAL_HOSTS.get(a.host, a.host)
    if a.max_logged_requests < 1 or a.stream_chunks < 1:
        p.error("--max-logged-requests and --stream-chunks must be >= 1")
    return a


def write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def main(argv=None):
    cfg = parse_args(sys.argv[1:] if argv is None else argv)
    rules = []
    if cfg.schedule:
        try:
            with open(cfg.schedule) as f:
                rules = faults.load_schedule(f.read())
        except (OSError, ValueError) as e:
            sys.stderr.write("mock-upstream: bad --schedule %s: %s\n" % (cfg.schedule, e))
            return 2
    cls = Server6 if ":" in cfg.host else Server
    srv = cls((cfg.host, cfg.port), Handler)
    srv.cfg = cfg
    srv.state = faults.State(cfg.max_logged_requests, rules)
    host, port = srv.server_address[:2]
    shown = "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)

    def on_signal(_signum, _frame):
        srv.state.stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    runner = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    runner.start()
    if cfg.port_file:
        write_port_file(cfg.port_file, port)
    sys.stdout.write(json.dumps({"listening": shown}, separators=(",", ":")) + "\n")
    sys.stdout.flush()
    while not srv.state.stopping.wait(0.2):
        pass
    srv.shutdown()
    srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
