#!/usr/bin/env python3
"""test_otlp_receiver.py - owns: proving the OTLP test receiver works, without the sidecar.

Builds OTLP requests by hand-encoding protobuf bytes (and JSON), sends them to the receiver, and
checks what the official generated decoder made of them, plus every fault mode of the control API.
Usage: python3 test_otlp_receiver.py --binary B --source-dir S --work-dir W   (--binary is ignored)
"""

import argparse
import email.utils
import gzip
import http.client
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import traceback

# ---- protobuf wire helpers (hand-written on purpose: independent of any project or npm code) ----


def varint(n):
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(no, wt):
    return varint(no << 3 | wt)


def f_varint(no, n):
    return key(no, 0) + varint(n)


def f_len(no, b):
    return key(no, 2) + varint(len(b)) + b


def f_str(no, s):
    return f_len(no, s.encode())


def f_fixed64(no, n):
    return key(no, 1) + struct.pack("<Q", n)


def f_sfixed64(no, n):
    return key(no, 1) + struct.pack("<q", n)


def f_double(no, x):
    return key(no, 1) + struct.pack("<d", x)


def read_wire(buf):
    """-> list of (field, wire_type, value); value is int for varint/fixed, bytes for len."""
    out, pos = [], 0
    while pos < len(buf):
        tag, pos = _read_varint(buf, pos)
        no, wt = tag >> 3, tag & 7
        if wt == 0:
            v, pos = _read_varint(buf, pos)
        elif wt == 1:
            v, pos = struct.unpack_from("<Q", buf, pos)[0], pos + 8
        elif wt == 5:
            v, pos = struct.unpack_from("<I", buf, pos)[0], pos + 4
        elif wt == 2:
            n, pos = _read_varint(buf, pos)
            v, pos = bytes(buf[pos:pos + n]), pos + n
            if pos > len(buf):
                raise ValueError("truncated")
        else:
            raise ValueError("wire type %d" % wt)
        out.append((no, wt, v))
    return out


def _read_varint(buf, pos):
    shift = n = 0
    while True:
        b = buf[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, pos


# ---- OTLP messages (field numbers from opentelemetry-proto) ----

TRACE_ID = bytes(range(1, 17))
SPAN_ID = bytes(range(0xA1, 0xA9))
T0 = 1_700_000_000_123_456_789
T1 = T0 + 250_000_000


def kv_str(k, v):  # KeyValue{key=1, value=2: AnyValue{string_value=1}}
    return f_str(1, k) + f_len(2, f_str(1, v))


def kv_int(k, v):  # AnyValue{int_value=3}
    return f_str(1, k) + f_len(2, f_varint(3, v))


def resource():  # Resource{attributes=1}
    return f_len(1, kv_str("service.name", "receiver-test"))


def span_bytes(extra=b""):
    # Span{trace_id=1, span_id=2, name=5, kind=6, start=7, end=8, attributes=9, status=15{code=3}}
    return (f_len(1, TRACE_ID) + f_len(2, SPAN_ID) + f_str(5, "chat canary") + f_varint(6, 3)
            + f_fixed64(7, T0) + f_fixed64(8, T1) + f_len(9, kv_int("http.response.status_code", 200))
            + f_len(15, f_varint(3, 1)) + extra)


def trace_request(span=None):
    # ExportTraceServiceRequest{resource_spans=1: ResourceSpans{resource=1, scope_spans=2}}
    scope = f_len(1, f_str(1, "comet-sidecar") + f_str(2, "0.1.0"))  # ScopeSpans.scope
    scope_spans = scope + f_len(2, span if span is not None else span_bytes())
    return f_len(1, f_len(1, resource()) + f_len(2, scope_spans))


def metrics_request():
    # NumberDataPoint{start=2, time=3, as_int=6 (sfixed64), attributes=7}
    point = f_fixed64(2, T0) + f_fixed64(3, T1) + f_sfixed64(6, 42) + f_len(7, kv_str("outcome", "ok"))
    sum_ = f_len(1, point) + f_varint(2, 2) + f_varint(3, 1)  # Sum{data_points, temporality=2, monotonic}
    metric = f_str(1, "sidecar.canary.requests") + f_str(3, "{request}") + f_len(7, sum_)
    scope_metrics = f_len(1, f_str(1, "comet-sidecar")) + f_len(2, metric)
    return f_len(1, f_len(1, resource()) + f_len(2, scope_metrics))


def trace_json(extra_span=None):
    span = {"traceId": TRACE_ID.hex().upper(), "spanId": SPAN_ID.hex(), "name": "chat canary", "kind": 3,
            "startTimeUnixNano": str(T0), "endTimeUnixNano": str(T1),
            "attributes": [{"key": "http.response.status_code", "value": {"intValue": "200"}}],
            "status": {"code": 1}}
    span.update(extra_span or {})
    return {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "receiver-test"}}]},
        "scopeSpans": [{"scope": {"name": "comet-sidecar", "version": "0.1.0"}, "spans": [span]}]}]}


def metrics_json():
    point = {"startTimeUnixNano": str(T0), "timeUnixNano": str(T1), "asDouble": 1.5, "flags": 0,
             "attributes": [{"key": "outcome", "value": {"stringValue": "ok"}}]}
    metric = {"name": "sidecar.canary.latency", "unit": "s",
              "sum": {"dataPoints": [point], "aggregationTemporality": 1, "isMonotonic": False}}
    return {"resourceMetrics": [{"scopeMetrics": [{"metrics": [metric]}]}]}


# ---- tiny harness ----

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def eq(a, b, what):
    if a != b:
        raise AssertionError("%s: got %r, want %r" % (what, a, b))


class Ctx:
    def __init__(self, rx, otlp, work):
        self.rx, self.otlp, self.work = rx, otlp, work

    def post(self, path, body, ctype="application/x-protobuf", headers=None, gz=False):
        if gz:
            body = gzip.compress(body)
        h = {"Content-Type": ctype, "User-Agent": "receiver-test/1"}
        if gz:
            h["Content-Encoding"] = "gzip"
        h.update(headers or {})
        c = http.client.HTTPConnection("127.0.0.1", self.rx.port, timeout=10)
        try:
            c.request("POST", path, body=body, headers=h)
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def last_request(self):
        return self.rx.requests()[-1]


def only_span(ctx):
    spans = ctx.rx.spans()
    check(spans, "no span decoded")
    return spans[-1]


def check_span(sp):
    eq(sp["traceId"], TRACE_ID.hex(), "traceId")
    eq(sp["spanId"], SPAN_ID.hex(), "spanId")
    eq(sp["name"], "chat canary", "name")
    eq(sp["kind"], 3, "kind")
    eq(sp["startTimeUnixNano"], str(T0), "start")
    eq(sp["endTimeUnixNano"], str(T1), "end")
    eq(sp["attributes"], [{"key": "http.response.status_code", "value": {"intValue": "200"}}], "attrs")
    eq(sp["status"], {"code": 1}, "status")


@test
def trace_protobuf(ctx):
    st, h, body = ctx.post("/v1/traces", trace_request(), headers={"X-Test-Id": "t1"})
    eq(st, 200, "status")
    eq(h.get("content-type"), "application/x-protobuf", "response content-type")
    eq(body, b"", "empty ExportTraceServiceResponse")
    check_span(only_span(ctx))
    t = ctx.rx.traces()[-1]
    rs = t["resourceSpans"][0]
    eq(ctx.otlp.attrs(rs["resource"]["attributes"]), {"service.name": "receiver-test"}, "resource")
    eq(rs["scopeSpans"][0]["scope"], {"name": "comet-sidecar", "version": "0.1.0"}, "scope")
    r = ctx.last_request()
    eq((r["format"], r["unknown_fields"], r["reencode_identical"]), ("protobuf", [], True), "record")
    eq((r["headers"], r["user_agent"], r["items"]["spans"]), ({"x-test-id": "t1"}, "receiver-test/1", 1), "meta")


@test
def trace_protobuf_gzip(ctx):
    raw = trace_request()
    st, _, _ = ctx.post("/v1/traces", raw, gz=True)
    eq(st, 200, "status")
    check_span(only_span(ctx))
    r = ctx.last_request()
    eq((r["content_encoding"], r["decoded_bytes"]), ("gzip", len(raw)), "gzip record")
    check(r["body_bytes"] != len(raw), "body_bytes is the compressed size")


@test
def trace_json_and_gzip(ctx):
    for gz in (False, True):
        st, h, body = ctx.post("/v1/traces", json.dumps(trace_json()).encode(), "application/json", gz=gz)
        eq(st, 200, "status")
        eq(h.get("content-type"), "application/json", "response content-type")
        eq(json.loads(body), {}, "empty JSON response")
        check_span(only_span(ctx))
        r = ctx.last_request()
        eq((r["format"], r["unknown_fields"], r["json_warnings"]), ("json", [], []), "record")


@test
def metrics_protobuf_and_json(ctx):
    st, _, _ = ctx.post("/v1/metrics", metrics_request())
    eq(st, 200, "status")
    m, p = ctx.rx.data_points()[-1]
    eq((m["name"], m["unit"]), ("sidecar.canary.requests", "{request}"), "metric")
    eq((m["sum"]["aggregationTemporality"], m["sum"]["isMonotonic"]), (2, True), "sum")
    eq((p["asInt"], p["startTimeUnixNano"], p["timeUnixNano"]), ("42", str(T0), str(T1)), "point")
    eq(ctx.otlp.attrs(p["attributes"]), {"outcome": "ok"}, "point attrs")
    eq(ctx.last_request()["items"]["data_points"], 1, "items")
    st, _, _ = ctx.post("/v1/metrics", json.dumps(metrics_json()).encode(), "application/json")
    eq(st, 200, "json status")
    m, p = ctx.rx.data_points()[-1]
    eq((m["name"], p["asDouble"], p["timeUnixNano"]), ("sidecar.canary.latency", 1.5, str(T1)), "json point")
    eq(m["sum"]["aggregationTemporality"], 1, "json temporality")
    body = json.dumps(trace_json({"startTimeUnixNano": 12345, "kind": "SPAN_KIND_CLIENT"})).encode()
    eq(ctx.post("/v1/traces", body, "application/json")[0], 200, "int64 as safe JSON number")
    eq((only_span(ctx)["startTimeUnixNano"], only_span(ctx)["kind"]), ("12345", 3), "number/enum name")
    eq(len(ctx.last_request()["json_warnings"]), 1, "enum given as a name is a warning")


@test
def unknown_field_protobuf(ctx):
    st, _, _ = ctx.post("/v1/traces", trace_request(span_bytes(extra=f_varint(99, 7))))
    eq(st, 200, "unknown fields are accepted (and recorded)")
    u = ctx.last_request()["unknown_fields"]
    eq(len(u), 1, "one unknown field")
    eq((u[0]["type"], u[0]["field"], u[0]["wire_type"]), ("opentelemetry.proto.trace.v1.Span", 99, 0), "hit")
    eq(u[0]["path"], ".resourceSpans[0].scopeSpans[0].spans[0]", "path")
    check_span(only_span(ctx))  # the declared fields still decode
    # A field newer than the pinned protos (Span.flags = 16) is unknown to them as well.
    ctx.post("/v1/traces", trace_request(span_bytes(extra=key(16, 5) + struct.pack("<I", 0x301))))
    eq([x["field"] for x in ctx.last_request()["unknown_fields"]], [16], "Span.flags is unknown at 0.52.1")


@test
def unknown_field_json(ctx):
    body = json.dumps(trace_json({"trace_id": "00", "bogus": 1})).encode()
    st, _, _ = ctx.post("/v1/traces", body, "application/json")
    eq(st, 200, "status")
    keys = sorted(u["key"] for u in ctx.last_request()["unknown_fields"])
    eq(keys, ["bogus", "trace_id"], "snake_case and unknown keys are unknown fields")


@test
def undecodable_bodies(ctx):
    n_before = len(ctx.rx.traces())
    cases = [
        ("garbage protobuf", b"\xff\xff\xff\xff\x0f\x01", "application/x-protobuf", {}),
        ("truncated protobuf", trace_request()[:-3], "application/x-protobuf", {}),
        ("wire type mismatch", f_varint(1, 5), "application/x-protobuf", {}),
        ("bad gzip", b"not gzip", "application/x-protobuf", {"Content-Encoding": "gzip"}),
        ("bad json", b"{\"resourceSpans\": [", "application/json", {}),
        ("json wrong type", json.dumps(trace_json({"name": 5})).encode(), "application/json", {}),
        ("json int64 past 2^53", json.dumps(trace_json({"endTimeUnixNano": T1})).encode(), "application/json", {}),
        ("json base64 id", json.dumps(trace_json({"spanId": "oaKjpKWmp6g="})).encode(), "application/json", {}),
    ]
    for what, body, ctype, hdrs in cases:
        st, h, resp = ctx.post("/v1/traces", body, ctype, headers=hdrs)
        eq(st, 400, what)
        r = ctx.last_request()
        eq(r["status"], 400, what + " recorded status")
        check(r.get("error"), what + " recorded error")
        if ctype == "application/x-protobuf":  # google.rpc.Status{code=3 INVALID_ARGUMENT}
            eq(read_wire(resp)[0][:3:2], (1, 3), what + " Status.code")
    eq(len(ctx.rx.traces()), n_before, "rejected bodies are not written to traces.jsonl")
    eq(ctx.post("/v1/traces", b"x", "text/plain")[0], 415, "content-type")
    eq(ctx.post("/v1/nope", b"", "application/x-protobuf")[0], 404, "path")
    c = http.client.HTTPConnection("127.0.0.1", ctx.rx.port, timeout=5)
    c.request("GET", "/v1/traces")
    eq(c.getresponse().status, 405, "GET")
    c.close()


@test
def status_mode_retry_after(ctx):
    ctx.rx.control(mode="status", status=503, retry_after="2", times=3)
    got = []
    for _ in range(4):
        st, h, body = ctx.post("/v1/traces", trace_request())
        got.append((st, h.get("retry-after")))
        if st == 503:
            eq(read_wire(body)[0][:3:2], (1, 14), "Status.code UNAVAILABLE")
    eq(got, [(503, "2"), (503, "2"), (503, "2"), (200, None)], "3 x 503 then 200")
    recs = ctx.rx.requests()[-4:]
    eq([r["status"] for r in recs], [503, 503, 503, 200], "recorded statuses")
    eq([r.get("out_line") is not None for r in recs], [False, False, False, True], "only 200 written")
    ctx.rx.control(mode="status", status=429, retry_after_http_date_s=30, times=1)
    st, h, _ = ctx.post("/v1/metrics", metrics_request())
    eq(st, 429, "429")
    delta = email.utils.parsedate_to_datetime(h["retry-after"]).timestamp() - time.time()
    check(20 < delta <= 31, "Retry-After HTTP-date ~30 s ahead, got %r" % h["retry-after"])
    eq(ctx.post("/v1/metrics", metrics_request())[0], 200, "back to normal")


def decode_partial(body):
    ps = read_wire(body)
    eq([f[:2] for f in ps], [(1, 2)], "Export*ServiceResponse{partial_success=1}")
    return {no: v for no, _, v in read_wire(ps[0][2])}


@test
def partial_success(ctx):
    ctx.rx.control(mode="partial_success", rejected=2, message="two spans dropped", times=1)
    st, _, body = ctx.post("/v1/traces", trace_request())
    eq(st, 200, "status")
    eq(decode_partial(body), {1: 2, 2: b"two spans dropped"}, "rejected_spans / error_message")
    if shutil.which("protoc"):
        p = subprocess.run(["protoc", "--decode_raw"], input=body, capture_output=True, timeout=10)
        eq(p.returncode, 0, "protoc --decode_raw")
        check(b"1: 2" in p.stdout and b'2: "two spans dropped"' in p.stdout, p.stdout.decode())
    ctx.rx.control(mode="partial_success", rejected=5)
    st, _, body = ctx.post("/v1/metrics", metrics_request())
    eq(decode_partial(body), {1: 5}, "rejected_data_points")
    st, _, body = ctx.post("/v1/metrics", json.dumps(metrics_json()).encode(), "application/json")
    eq(json.loads(body), {"partialSuccess": {"rejectedDataPoints": "5"}}, "JSON partial success")
    ctx.rx.control(mode="normal")
    eq(ctx.post("/v1/metrics", metrics_request())[2], b"", "normal again")


@test
def down_reset_and_up(ctx):
    ctx.rx.control(mode="down")
    try:
        st = ctx.post("/v1/traces", trace_request())[0]
        raise AssertionError("request succeeded while down: %d" % st)
    except (ConnectionError, http.client.HTTPException, OSError):
        pass
    eq(ctx.last_request().get("reset"), True, "reset recorded")
    eq(ctx.rx.stats()["mode"]["mode"], "down", "control API still answers")
    ctx.rx.control(mode="up")
    eq(ctx.post("/v1/traces", trace_request())[0], 200, "up again")


@test
def down_refuse_comes_back(ctx):
    ctx.rx.control(mode="down", how="refuse", for_ms=400)
    s = socket.socket()
    s.settimeout(2)
    try:
        err = s.connect_ex(("127.0.0.1", ctx.rx.port))
    finally:
        s.close()
    check(err != 0, "connect should be refused while down")
    # Bounded wait for the listener to come back by itself.
    stats = None
    deadline = time.monotonic() + 5
    while stats is None and time.monotonic() < deadline:
        try:
            stats = ctx.rx.stats()
        except OSError:
            time.sleep(0.05)
    check(stats is not None, "listener did not come back")
    eq(ctx.post("/v1/traces", trace_request())[0], 200, "exports work again")


@test
def delay_mode(ctx):
    ctx.rx.control(mode="delay", ms=300, times=1)
    t = time.monotonic()
    eq(ctx.post("/v1/traces", trace_request())[0], 200, "delayed status")
    check(time.monotonic() - t >= 0.29, "response was not delayed")
    t = time.monotonic()
    ctx.post("/v1/traces", trace_request())
    check(time.monotonic() - t < 0.25, "delay should apply once")


@test
def stats_and_wait(ctx):
    s0 = ctx.rx.stats()
    ctx.rx.control(mode="status", status=500, times=1)
    ctx.post("/v1/metrics", metrics_request())
    ctx.post("/v1/metrics", metrics_request())
    s = ctx.rx.wait(requests=s0["by_signal"]["metrics"]["requests"] + 2, signal="metrics", timeout=5)
    eq(s["by_status"]["500"] - s0["by_status"].get("500", 0), 1, "500 counted")
    eq(s["decoded"]["data_points"] - s0["decoded"]["data_points"], 2, "decoded points")
    eq(s["accepted"]["data_points"] - s0["accepted"]["data_points"], 1, "accepted points")
    check(s["unknown_field_hits"] >= 4 and s["decode_errors"] >= 7, "unknown/decode error counters")
    try:
        ctx.rx.wait(accepted=10**6, timeout=0.3)
        raise AssertionError("wait should time out")
    except TimeoutError:
        pass


@test
def schema_selftest(ctx):
    # Every declared field of every reachable type walks clean; undeclared ones are found.
    p = subprocess.run(["node", os.path.join(ctx.otlp.HERE, "selftest.js")], capture_output=True,
                       text=True, timeout=30)
    eq(p.returncode, 0, "selftest.js:\n" + p.stdout + p.stderr)


@test
def large_body_with_expect_continue(ctx):
    body = json.dumps(trace_json({"name": "x" * (3 << 20)})).encode()
    st, _, _ = ctx.post("/v1/traces", body, "application/json", headers={"Expect": "100-continue"})
    eq(st, 200, "3 MiB JSON")
    eq(len(only_span(ctx)["name"]), 3 << 20, "name length")


@test
def stdin_eof_stops_receiver(ctx):
    p = subprocess.Popen(["node", os.path.join(ctx.otlp.HERE, "receiver.js"), "--port", "0", "--out",
                          os.path.join(ctx.work, "eof"), "--exit-on-stdin-eof"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        check(b"listening" in p.stdout.readline(), "listening line")
        p.stdin.close()
        eq(p.wait(timeout=5), 0, "exit status after stdin EOF")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()


@test
def install_offline_and_failure(ctx):
    env = dict(os.environ, npm_config_offline="true", npm_config_registry="http://127.0.0.1:9/")
    sh = os.path.join(ctx.otlp.HERE, "install.sh")
    p = subprocess.run(["bash", sh], env=env, capture_output=True, text=True, timeout=60)
    eq(p.returncode, 0, "install.sh offline after install: " + p.stderr)
    check("up to date" in p.stdout, p.stdout)
    d = os.path.join(ctx.work, "install-fail")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    shutil.copy(sh, d)
    shutil.copy(os.path.join(ctx.otlp.HERE, "package-lock.json"), d)
    with open(os.path.join(d, "package.json"), "w") as f:  # out of sync with the lock file
        json.dump({"name": "x", "private": True, "dependencies": {"@opentelemetry/otlp-transformer": "0.52.0"}}, f)
    p = subprocess.run(["bash", os.path.join(d, "install.sh")], env=env, capture_output=True, text=True,
                       timeout=60)
    check(p.returncode != 0 and "ERROR: npm ci failed" in p.stderr, "install.sh must fail loudly")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary")  # unused: this test needs no sidecar
    ap.add_argument("--source-dir", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    ap.add_argument("--work-dir", default="/tmp/test_otlp_receiver")
    a = ap.parse_args()
    work = os.path.abspath(a.work_dir)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    sys.path.insert(0, os.path.join(os.path.abspath(a.source_dir), "tests", "otlp_receiver"))
    import client as otlp

    class Deadline(BaseException):  # not an Exception: it must escape the per-test handler
        pass

    def on_alarm(*_):
        raise Deadline("test_otlp_receiver exceeded 55 s")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(55)
    passed = failed = 0
    rx = None
    try:
        print(otlp.install().strip())
        rx = otlp.Receiver(os.path.join(work, "rx")).start()
        print("receiver at", rx.endpoint)
        ctx = Ctx(rx, otlp, work)
        for fn in TESTS:
            t = time.monotonic()
            try:
                fn(ctx)
                passed += 1
                print("PASS %s (%.2fs)" % (fn.__name__, time.monotonic() - t))
            except Exception:
                failed += 1
                print("FAIL %s\n%s" % (fn.__name__, traceback.format_exc()))
    except BaseException:
        failed += 1
        print("FAIL setup/timeout\n%s" % traceback.format_exc())
    finally:
        signal.alarm(0)
        if rx is not None:
            rx.stop()
    if passed + failed == 0:
        failed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
