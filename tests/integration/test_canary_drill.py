#!/usr/bin/env python3
"""test_canary_drill.py - owns: the runbook drill (deploy/examples/drill.json) run by the canary
engine (tests/integration/canary_driver) against the mock upstream with only COMETAPI_BASE_URL,
COMETAPI_API_KEY and OTEL_EXPORTER_OTLP_ENDPOINT set: every probe meets its expectation, ids and
traceparent on the wire match the spans, evidence lines land in the default relative path, the
support packet is written, the invalid-credential drill fails when the upstream accepts any key,
and the key never appears in any output."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from canary_support import (check_no_key, check_wire_ids, clear_mock, evidence_lines,  # noqa: E402
                            mock_requests, read_tree, run_driver, run_packet)
from lib.harness import Runner, check, mock_control, parse_args, start_mock_upstream  # noqa: E402

KEY = "sk-drill-test-key-5f0c8a1b2d3e4f60718293a4b5c6d7e8"
ARGS = parse_args()
R = Runner()


def load_drill():
    import json
    with open(os.path.join(ARGS.source_dir, "deploy", "examples", "drill.json")) as f:
        return json.load(f)


def env_for(base):
    return {"COMETAPI_BASE_URL": base, "COMETAPI_API_KEY": KEY,
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}


def drill_passes_and_leaves_evidence():
    _mock, base = start_mock_upstream(R, ARGS.work_dir, keys=(KEY,))
    work = os.path.join(ARGS.work_dir, "drill")
    os.makedirs(work, exist_ok=True)
    run = run_driver(ARGS.binary, work, "drill", load_drill(), env_for(base))
    check(run.rc == 0, f"exit {run.rc}: {run.stderr[-2000:]!r}")
    check(run.done == {"passed": 6, "failed": 0}, f"done {run.done}")
    res = run.results
    for name in ("chat", "chat-stream", "responses"):
        r = res[name]
        check(r["passed"] == 1 and r["observed"] == "success", f"{name}: {r}")
        check(r["usage_present"] == 1, f"{name}: usage")
        check(r["fallback"] == "not_needed", f"{name}: fallback {r['fallback']}")
    check(res["chat-stream"]["ttfc_s"] > 0, "stream time to first content")
    check(res["chat"]["ttfc_s"] == -1, "no ttfc for a buffered answer")
    for name, cls in (("invalid-credential", "auth_error"), ("unknown-model", "model_not_found"),
                      ("malformed-body", "invalid_request")):
        r = res[name]
        check(r["passed"] == 1 and r["observed"] == cls and r["expected"] == cls, f"{name}: {r}")
        check(r["retries"] == 0 and r["fallback"] == "failed_closed", f"{name}: {r}")
        check(r["fallback_reason"] == cls, f"{name}: reason {r['fallback_reason']}")

    reqs = mock_requests(base)
    check(len(reqs) == 6, f"{len(reqs)} requests")
    check_wire_ids(run, reqs)
    by_rid = {r["headers"]["x-request-id"]: r for r in reqs}
    inv = by_rid[res["invalid-credential"]["request_id"]]
    check(inv["auth_present"] and inv["auth_matched"] is False, "invalid key was sent")
    check(by_rid[res["chat"]["request_id"]]["auth_matched"] is True, "configured key was sent")
    stream_req = by_rid[res["chat-stream"]["request_id"]]
    check(stream_req["body"]["stream"] is True and
          stream_req["body"]["stream_options"] == {"include_usage": True}, "stream_options")
    check(stream_req["body"]["max_tokens"] == 16, "max_tokens")
    check(by_rid[res["responses"]["request_id"]]["path"] == "/v1/responses", "responses path")
    check(by_rid[res["malformed-body"]["request_id"]]["status"] == 400, "malformed -> 400")
    # The upstream request id the mock returned is on the attempt span and in the result.
    for r in run.result_list:
        up = by_rid[r["request_id"]]["response_request_id"]
        check(r["upstream_request_id"] == up, f"{r['probe']}: upstream id")
        atts = run.attempt_spans(r["trace_id"])
        check(len(atts) == 1 and atts[0]["attrs"]["gateway.upstream.request_id"] == up,
              "span upstream id")
    check(len(run.spans) == 12, f"{len(run.spans)} spans")
    check(run.run_span(res["chat"]["trace_id"])["name"] == "chat gpt-4o-mini", "run span name")

    ev_path = os.path.join(work, "comet-sidecar-evidence.jsonl")  # the default, relative to cwd
    ev = evidence_lines(ev_path)
    check(len(ev) == 6, f"{len(ev)} evidence lines")
    for line in ev:
        r = res[line["probe"]]
        check(line["environment"] == "drill", "environment")
        check(line["trace_id"] == r["trace_id"] and line["request_id"] == r["request_id"], "ids")
        check(line["redaction_status"] == "prompt_response_and_credential_not_logged", "redaction")
        check(line["operator_result"] == "pass", f"{line['probe']} operator_result")
        check(line["verified_upstream_route_template"] in
              ("POST /v1/chat/completions", "POST /v1/responses"), "route template")
        check(line["attempts"][0]["request_id"] == r["request_id"], "timeline")
    check(ev[0]["elapsed_time_bucket"] == "<1s", "bucket")

    out = os.path.join(work, "packet")
    p = run_packet(ARGS.binary, work, "packet", load_drill(), env_for(base), ev_path, out,
                   since="1h")
    check(p.returncode == 0, f"packet exit {p.returncode}: {p.stderr!r}")
    packet = read_tree(out)
    md = open(os.path.join(out, "support-packet.md")).read()
    for name in res:
        check(f"| {name} |" in md, f"packet lacks {name}")
    check("included: 6" in md, "packet count")
    check_no_key(KEY, run.stdout, run.stderr, open(ev_path, "rb").read(), packet, p.stdout,
                 p.stderr)
    check(b"Reply with the single word" not in packet + run.stdout + run.stderr,
          "the prompt leaked")


def invalid_credential_drill_fails_when_any_key_works():
    _mock, base = start_mock_upstream(R, ARGS.work_dir, keys=(KEY,))
    work = os.path.join(ARGS.work_dir, "anykey")
    os.makedirs(work, exist_ok=True)
    clear_mock(base)
    mock_control(base, "/__mock/faults", {"faults": [{"fault": "accept_any_key", "times": -1}]})
    run = run_driver(ARGS.binary, work, "anykey", load_drill(), env_for(base))
    check(run.rc == 1, f"exit {run.rc}")
    r = run.results["invalid-credential"]
    check(r["passed"] == 0 and r["observed"] == "success" and r["verdict"] == "wrong_class",
          f"invalid-credential: {r}")
    check(run.results["chat"]["passed"] == 1, "chat still passes")
    check(run.done["failed"] >= 1, f"done {run.done}")
    warn = [l for l in run.logs if l.get("msg") == "canary run finished" and
            l.get("probe") == "invalid-credential"]
    check(warn and warn[0]["level"] == "warn" and warn[0]["outcome"] == "fail", "failure logged")
    check_no_key(KEY, run.stdout, run.stderr)


R.run(drill_passes_and_leaves_evidence)
R.run(invalid_credential_drill_fails_when_any_key_works)
R.finish()
