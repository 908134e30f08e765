#!/usr/bin/env python3
"""test_canary_faults.py - owns: the canary engine's handling of upstream failures, driven by the
mock upstream's faults (model names mock-fault-NAME, the scripted queue, a schedule): retries and
their reasons, Retry-After honoured, the retry budget, fallback allowed / used against a second
mock / failed closed, stream cuts before and after content, contract violations (invalid JSON,
missing usage, model substitution, HTML 404, redirects), shape drift with field names, overlap
skips in scheduled mode, a request id read from an error message, a wrong key; plus the ids on
the wire and that the key never appears in any output."""
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from canary_support import (check_no_key, check_wire_ids, clear_mock, evidence_lines,  # noqa: E402
                            mock_requests, run_driver)
from lib.harness import Runner, check, mock_control, parse_args, start_mock_upstream  # noqa: E402

KEY = "sk-faults-test-key-9a8b7c6d5e4f30211203948576abcdef"
ARGS = parse_args()
R = Runner()
FAST = {"base_backoff": "1ms", "max_backoff": "5ms"}


def env_for(base, key=KEY):
    return {"COMETAPI_BASE_URL": base, "COMETAPI_API_KEY": key}


def probe(name, model, **kw):
    p = {"name": name, "model": model, "retry": dict(FAST)}
    for k, v in kw.items():
        if k == "retry":
            p["retry"].update(v)
        else:
            p[k] = v
    return p


def workdir(tag):
    d = os.path.join(ARGS.work_dir, tag)
    os.makedirs(d, exist_ok=True)
    return d


def config(probes, work, **extra):
    cfg = {"canary": {"max_concurrent_runs": 32},
           "evidence": {"path": os.path.join(work, "evidence.jsonl")}, "probes": probes}
    cfg.update(extra)
    return cfg


def failures_retries_and_fallbacks():
    _m, base = start_mock_upstream(R, ARGS.work_dir, keys=(KEY,))
    _m2, base2 = start_mock_upstream(R, ARGS.work_dir, keys=(KEY,), extra=("--name", "fallback"))
    work = workdir("faults")
    probes = [probe(f"s{st}", f"mock-fault-server_error-{st}") for st in (500, 502, 503, 504, 524)]
    probes += [
        probe("s503-fb", "mock-fault-server_error-503",
              fallback={"target": {"base_url": base2, "model": "gpt-4o-mini"}}),
        probe("quota", "mock-fault-insufficient_quota"),
        probe("inv500", "mock-fault-invalid_request_500"),
        probe("timeout", "mock-fault-delay-1500", timeout="400ms",
              retry={"max_attempts": 2, "deadline": "5s"}),
        probe("cut-early", "mock-fault-stream_cut-1", stream=True),
        probe("cut-late", "mock-fault-stream_cut-2", stream=True),
        probe("badjson", "mock-fault-invalid_json"),
        probe("nousage", "mock-fault-no_usage"),
        probe("nousage-required", "mock-fault-no_usage", require_usage=True),
        probe("subst", "mock-fault-model_substituted"),
        probe("html404", "mock-fault-html_404"),
        probe("redirect", "mock-fault-redirect"),
        probe("budget", "mock-fault-server_error-503",
              retry={"budget": {"percent": 0, "min_retries": 0}}),
    ]
    run = run_driver(ARGS.binary, work, "faults", config(probes, work), env_for(base))
    check(run.rc == 1, f"exit {run.rc}: {run.stderr[-1500:]!r}")
    res = run.results
    check(len(res) == len(probes), f"{len(res)} results")

    for st in (500, 502, 503, 504, 524):
        r = res[f"s{st}"]
        check(r["observed"] == "upstream_error" and r["http_status"] == st, f"s{st}: {r}")
        check(r["retries"] == 2 and r["retry_reason"] == "max_attempts", f"s{st} retries")
        check(r["fallback"] == "allowed" and r["fallback_reason"] == "upstream_error", f"s{st} fb")
        check(r["fallback_observed"] is None and r["passed"] == 0, f"s{st}")
    fb = res["s503-fb"]
    check(fb["fallback"] == "used" and fb["fallback_observed"] == "success", f"fallback: {fb}")
    check(fb["observed"] == "upstream_error" and fb["passed"] == 0, "primary result kept")
    reqs2 = mock_requests(base2)
    check(len(reqs2) == 1 and reqs2[0]["body"]["model"] == "gpt-4o-mini", f"fallback reqs {reqs2}")
    check(reqs2[0]["headers"]["traceparent"][3:35] == fb["trace_id"], "fallback in the run trace")
    fb_spans = run.attempt_spans(fb["trace_id"])
    check(len(fb_spans) == 4, f"{len(fb_spans)} attempt spans")
    used = [s for s in fb_spans if s["attrs"]["gateway.fallback.decision"] == "used"]
    check(len(used) == 1 and used[0]["attrs"]["server.port"] == int(base2.split(":")[2][:-3]),
          "fallback attempt span")
    check(run.metric_sum("gateway.fallbacks", **{"gateway.fallback.decision": "used"}) == 1,
          "fallbacks used counted")
    check(run.metric_sum("gateway.retries") >= 12, "retries counted")

    for name, cls in (("quota", "quota_exceeded"), ("inv500", "invalid_request")):
        r = res[name]
        check(r["observed"] == cls and r["retries"] == 0, f"{name}: {r}")
        check(r["retry_reason"] == "not_retryable" and r["fallback"] == "failed_closed", name)
    check(res["inv500"]["http_status"] == 500, "CometAPI's 500 invalid_request")

    t = res["timeout"]
    check(t["observed"] == "timeout" and t["retries"] == 1 and t["http_status"] == 0, f"{t}")
    check(t["status_class"] == "network_error" and t["fallback"] == "allowed", f"{t}")

    e, late = res["cut-early"], res["cut-late"]
    check(e["observed"] == "stream_interrupted" and e["retries"] == 2, f"cut-early {e}")
    check(e["fallback"] == "allowed" and e["fallback_reason"] == "stream_interrupted", "early fb")
    check(late["observed"] == "stream_interrupted" and late["retries"] == 0, f"cut-late {late}")
    check(late["retry_reason"] == "not_retryable" and late["fallback"] == "failed_closed", "late")
    # Whether content had arrived before the cut is recorded on every cut attempt's span and in
    # the evidence timeline (it is why one cut is retried and the other is not).
    for r, seen in ((e, False), (late, True)):
        spans = run.attempt_spans(r["trace_id"])
        check(len(spans) == r["retries"] + 1, f"{len(spans)} attempt spans")
        check(all(s["attrs"].get("gateway.stream.content_before_cut") is seen for s in spans),
              f"content_before_cut on the spans: {[s['attrs'] for s in spans]}")
    with open(os.path.join(work, "evidence.jsonl")) as f:
        ev = {j["probe"]: j for j in map(json.loads, f)}
    for name, seen in (("cut-early", False), ("cut-late", True)):
        steps = ev[name]["attempts"]
        check(all(a["content_before_cut"] is seen for a in steps), f"{name} evidence: {steps}")
    check(all("content_before_cut" not in a for a in ev["s503"]["attempts"]), "only on cuts")

    bj = res["badjson"]
    check(bj["observed"] == "parse_error" and "invalid_json" in bj["violations"], f"{bj}")
    check(bj["passed"] == 0 and bj["retries"] == 0, "badjson")
    nu = res["nousage"]
    check(nu["passed"] == 1 and nu["usage_present"] == 0, f"nousage {nu}")
    check(nu["violations"] == ["missing_usage"], f"nousage violations {nu['violations']}")
    check(run.metric_sum("gateway.usage.missing") == 1, "usage missing counted once")
    check(run.metric_sum("gateway.contract.violations", **{"gateway.probe": "nousage",
                                                            "gateway.contract.check":
                                                            "missing_usage"}) == 1,
          "violation counted")
    nr = res["nousage-required"]
    check(nr["passed"] == 0 and nr["observed"] == "parse_error", f"require_usage {nr}")
    sb = res["subst"]
    check(sb["passed"] == 1 and "model_substituted" in sb["violations"], f"subst {sb}")
    span = run.run_span(sb["trace_id"])
    check("model_substituted" in span["attrs"]["gateway.contract.failed_checks"], "span checks")
    check(span["attrs"]["gen_ai.response.model"] == "gpt-3.5-turbo-0125", "response model")
    for name, chk in (("html404", "html_instead_of_json"), ("redirect", "redirect")):
        r = res[name]
        check(r["observed"] == "parse_error" and r["passed"] == 0, f"{name}: {r}")
        check(chk in r["violations"] and r["retries"] == 0, f"{name}: {r['violations']}")
    b = res["budget"]
    check(b["retries"] == 0 and b["retry_reason"] == "budget_exhausted", f"budget {b}")

    reqs = mock_requests(base)
    check(not any(r["path"] == "/__mock/redirected" for r in reqs), "a redirect was followed")
    check_wire_ids(run, reqs + reqs2)
    ev = {l["probe"]: l for l in evidence_lines(os.path.join(work, "evidence.jsonl"))}
    check(len(ev) == len(probes), f"{len(ev)} evidence lines")
    tl = ev["s503-fb"]["attempts"]
    check([a["retry_decision"] for a in tl] ==
          ["retrying", "retrying", "max_attempts", "fallback"], f"timeline {tl}")
    check([a["target"] for a in tl] == ["primary"] * 3 + ["fallback"], "targets")
    check(ev["s503-fb"]["fallback_result"] == "success", "evidence fallback result")
    check(ev["budget"]["attempts"][0]["retry_decision"] == "budget_exhausted", "budget reason")
    check(ev["timeout"]["attempts"][0]["http_status"] is None, "no status on a timeout")
    check_no_key(KEY, run.stdout, run.stderr, open(os.path.join(work, "evidence.jsonl")).read())


def wrong_key_and_retry_after():
    _m, base = start_mock_upstream(R, ARGS.work_dir, keys=(KEY,))
    work = workdir("wrongkey")
    wrong = "sk-wrong-key-0000000000000000000000000000"
    run = run_driver(ARGS.binary, work, "wrongkey", config([probe("chat", "gpt-4o-mini")], work),
                     env_for(base, wrong))
    r = run.results["chat"]
    check(r["observed"] == "auth_error" and r["http_status"] == 401, f"wrong key: {r}")
    check(r["retries"] == 0 and r["fallback"] == "failed_closed", f"wrong key: {r}")
    check(len(mock_requests(base)) == 1, "auth errors are not retried")
    check_no_key(wrong, run.stdout, run.stderr, open(os.path.join(work, "evidence.jsonl")).read())

    clear_mock(base)
    mock_control(base, "/__mock/faults", {"faults": [
        {"fault": "rate_limit", "retry_after": 1, "times": 1, "path": "/v1/chat/completions"}]})
    work = workdir("retryafter")
    p = probe("chat", "gpt-4o-mini", retry={"base_backoff": "1ms", "max_backoff": "1ms"})
    run = run_driver(ARGS.binary, work, "ra", config([p], work), env_for(base))
    r = run.results["chat"]
    check(r["passed"] == 1 and r["retries"] == 1 and r["observed"] == "success", f"429: {r}")
    reqs = mock_requests(base)
    check([q["status"] for q in reqs] == [429, 200], f"statuses {[q['status'] for q in reqs]}")
    waited = reqs[1]["time"] - reqs[0]["time"]
    check(waited >= 0.95, f"Retry-After: 1 honoured (waited {waited:.3f} s)")
    tl = evidence_lines(os.path.join(work, "evidence.jsonl"))[0]["attempts"]
    check(tl[0]["error_class"] == "rate_limited" and tl[0]["retry_decision"] == "retrying", tl)
    check(tl[1]["error_class"] == "none", "second attempt succeeded")
    check_wire_ids(run, reqs)


class RidHandler(BaseHTTPRequestHandler):
    """An upstream without x-request-id whose error message carries the request id."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"error": {"message": "upstream error: do request failed (request id: "
                                                "20251122abcdef123456)", "type": "comet_api_error",
                                     "code": "do_request_failed"}}).encode()
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def request_id_from_error_message():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), RidHandler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    R.cleanups.append(srv.shutdown)
    base = "http://127.0.0.1:%d/v1" % srv.server_address[1]
    work = workdir("rid")
    p = probe("chat", "gpt-4o-mini", retry={"max_attempts": 1})
    run = run_driver(ARGS.binary, work, "rid", config([p], work), env_for(base))
    r = run.results["chat"]
    check(r["observed"] == "upstream_error" and r["upstream_request_id"] == "20251122abcdef123456",
          f"rid: {r}")
    att = run.attempt_spans(r["trace_id"])[0]
    check(att["attrs"]["gateway.upstream.request_id"] == "20251122abcdef123456", "span rid")
    ev = evidence_lines(os.path.join(work, "evidence.jsonl"))[0]
    check(ev["upstream_request_id"] == "20251122abcdef123456", "evidence rid")
    check(b"do request failed" not in run.stdout + run.stderr, "error message text leaked")


def shape_drift_and_overlap_in_scheduled_mode():
    sched = os.path.join(ARGS.work_dir, "schedule.json")
    with open(sched, "w") as f:
        json.dump({"rules": [{"path": "/v1/chat/completions", "every": 2,
                              "fault": "shape_change"}]}, f)
    _m, base = start_mock_upstream(R, ARGS.work_dir, keys=(KEY,), extra=("--schedule", sched))
    work = workdir("sched")
    probes = [probe("shape", "gpt-4o-mini", interval="1s", jitter="0%"),
              probe("slow", "mock-fault-delay-1800", interval="1s", jitter="0%", timeout="5s")]
    run = run_driver(ARGS.binary, work, "sched", config(probes, work),
                     env_for(base), args=("--scheduled", "2300"))
    check(run.rc in (0, 1), f"exit {run.rc}: {run.stderr[-1500:]!r}")
    shapes = [r for r in run.result_list if r["probe"] == "shape"]
    check(len(shapes) >= 2, f"{len(shapes)} shape runs")
    check(shapes[0]["violations"] == [], "the first answer is the baseline")
    drift = [r for r in shapes if "shape_drift" in r["violations"]]
    check(len(drift) >= 1, f"no drift in {shapes}")
    d = drift[0]
    check(d["passed"] == 1, "drift is a violation, not a failure")
    check(d["shape_added"] == ["mock_unexpected_field"], f"added {d['shape_added']}")
    check(d["shape_missing"] == ["created", "system_fingerprint"], f"missing {d['shape_missing']}")
    ev = [e for e in run.run_span(d["trace_id"])["events"] if e["name"] == "gateway.shape_drift"]
    check(len(ev) == 1 and ev[0]["attrs"]["gateway.shape.added"] == ["mock_unexpected_field"],
          f"event {ev}")
    check(run.metric_sum("gateway.contract.violations",
                         **{"gateway.contract.check": "shape_drift"}) >= 1, "drift counted")
    check(run.stats["skipped_overlap"] >= 1, f"stats {run.stats}")
    check(any(l.get("msg", "").startswith("canary run skipped") and l.get("probe") == "slow"
              for l in run.logs), "overlap skip logged")
    slow = [r for r in run.result_list if r["probe"] == "slow"]
    check(len(slow) >= 1 and all(r["passed"] == 1 for r in slow), "in-flight runs finished")
    check_no_key(KEY, run.stdout, run.stderr)


def responses_streams_end_every_documented_way():
    """Streamed /v1/responses against the mock: a healthy stream passes on response.completed;
    response.failed and a bare error event are upstream errors (retried, fallback allowed);
    response.incomplete is a contract failure (failed closed); a cut before any text is
    stream_interrupted and retried."""
    _m, base = start_mock_upstream(R, ARGS.work_dir, keys=(KEY,))
    work = workdir("responses")
    probes = [
        probe("resp", "gpt-4o-mini", endpoint="responses", stream=True),
        probe("resp-failed", "mock-fault-responses_failed", endpoint="responses", stream=True),
        probe("resp-error", "mock-fault-responses_error", endpoint="responses", stream=True),
        probe("resp-incomplete", "mock-fault-responses_incomplete", endpoint="responses",
              stream=True),
        probe("resp-cut", "mock-fault-stream_cut-3", endpoint="responses", stream=True),
    ]
    run = run_driver(ARGS.binary, work, "responses", config(probes, work), env_for(base))
    check(run.rc == 1, f"exit {run.rc}: {run.stderr[-1500:]!r}")
    res = run.results
    ok = res["resp"]
    check(ok["passed"] == 1 and ok["observed"] == "success" and ok["usage_present"] == 1, f"{ok}")
    check(ok["ttfc_s"] > 0 and ok["violations"] == [], f"{ok}")
    span = run.run_span(ok["trace_id"])
    check(span["attrs"]["gateway.stream"] is True, "stream attribute")
    check([s["name"] for s in run.attempt_spans(ok["trace_id"])] == ["POST /v1/responses"],
          "attempt span name")
    for name in ("resp-failed", "resp-error"):
        r = res[name]
        check(r["observed"] == "upstream_error" and r["retries"] == 2, f"{name}: {r}")
        check(r["fallback"] == "allowed" and r["passed"] == 0, f"{name}: {r}")
    check("wrong_status" in res["resp-failed"]["violations"], f"{res['resp-failed']}")
    inc = res["resp-incomplete"]
    check(inc["observed"] == "parse_error" and inc["retries"] == 0, f"{inc}")
    check(inc["fallback"] == "failed_closed" and "wrong_status" in inc["violations"], f"{inc}")
    cut = res["resp-cut"]
    check(cut["observed"] == "stream_interrupted" and cut["retries"] == 2, f"{cut}")
    check("missing_terminal_event" in cut["violations"], f"{cut}")
    reqs = [q for q in mock_control(base, "/__mock/requests") if q["path"] == "/v1/responses"]
    check(all(q["body"].get("stream") is True for q in reqs), "every request asked for a stream")
    check_no_key(KEY, run.stdout, run.stderr)


R.run(failures_retries_and_fallbacks)
R.run(responses_streams_end_every_documented_way)
R.run(wrong_key_and_retry_after)
R.run(request_id_from_error_message)
R.run(shape_drift_and_overlap_in_scheduled_mode)
R.finish()
