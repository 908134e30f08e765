"""The access-log observer against REAL gateways: nginx (Debian package) in front of two mock
upstreams (a primary and a backup; proxy_next_upstream really retries POSTs on 502/503/429 and
timeouts; an error_page hands a request both failed to a fallback location) writing the llm_json
log_format of deploy/examples/nginx.conf, then the same with a text log_format parsed through
access_log.format=nginx; and Caddy (Debian package) in front of a mock with its default JSON
access log. Traffic is driven with urllib (chat completions, streaming, responses, models, an
unknown route, query strings, traceparents, injected faults); the sidecar exports to the receiver
that decodes with the official OTLP code. Checked: one span per request with the right route,
status, error class, retry count (against the real $upstream_status nginx wrote), fallback,
traceparent join; metrics counts per route and status class; no raw path or query string
anywhere; everything against dashboards/telemetry-schema.md."""
import json
import os
import signal
import sys

from lib.harness import (Runner, check, command, mock_control, parse_args, start_mock_upstream,
                         time_scale)

args = parse_args()
sys.path.insert(0, os.path.join(args.source_dir, "tests", "otlp_receiver"))
import client as otlp  # noqa: E402
from accesslog_support import (Caddy, Nginx, access_log_spans, counter_total,  # noqa: E402
                               example_nginx_pieces, last_points, port_of, request, sidecar,
                               string_values, wait_spans)
from schema_check import check_export_against_schema  # noqa: E402

runner = Runner()
DOC = os.path.join(args.source_dir, "dashboards", "telemetry-schema.md")
otlp.install()

CHAT = "/v1/chat/completions"
TP = {  # traceparents the "application" sends
    "t1": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "t2": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "t3": "00-11111111111111112222222222222222-3333333333333333-00",
}
SECRETS = ("sk-in-query", "api-version", "file-abc", "debug", "?", "/content")

# Each case: id, method, path (as sent), body, faults queued on the primary / backup mock, and
# what the span must say: route (None: unmatched), final status, retries, fallback decision.
CASES = [
    ("ok-1", "POST", CHAT, {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
     [], [], dict(route=CHAT, status=200, retries=0, fallback="not_needed", tp="t1")),
    ("retry-503", "POST", CHAT, {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "a"}]},
     [{"fault": "status", "status": 503}], [], dict(route=CHAT, status=200, retries=1, fallback="not_needed")),
    ("retry-429", "POST", CHAT + "?api-version=2024-06-01&key=sk-in-query",
     {"model": "gpt-4o", "messages": [{"role": "user", "content": "b"}]},
     [{"fault": "rate_limit", "retry_after": 1}], [], dict(route=CHAT, status=200, retries=1,
                                                          fallback="not_needed", tp="t2")),
    ("responses", "POST", "/v1/responses", {"model": "gpt-4o-mini", "input": "hello"},
     [], [], dict(route="/v1/responses", status=200, retries=0, fallback="not_needed")),
    ("models", "GET", "/v1/models", None, [], [],
     dict(route="/v1/models", status=200, retries=0, fallback="not_needed")),
    ("fallback", "POST", CHAT, {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "c"}]},
     [{"fault": "status", "status": 503}], [{"fault": "status", "status": 503}],
     dict(route=CHAT, status=200, retries=2, fallback="used", reason="upstream_error", tp="t3")),
    ("bad-request", "POST", CHAT, {"model": "gpt-4o-mini"},
     [], [], dict(route=CHAT, status=400, retries=0, fallback="not_needed",
                  error_class="invalid_request")),
    ("unknown-route", "GET", "/v1/files/file-abc/content?debug=1", None, [], [],
     dict(route=None, status=404, retries=0, fallback="not_needed")),
    ("timeout-retry", "POST", CHAT, {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "d"}]},
     [{"fault": "hang", "max_ms": 3000}], [], dict(route=CHAT, status=200, retries=1,
                                                   fallback="not_needed")),
    ("server-500", "POST", CHAT, {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "e"}]},
     [{"fault": "server_error", "status": 500}], [],
     dict(route=CHAT, status=500, retries=0, fallback="failed_closed", reason="upstream_error",
          error_class="upstream_error")),
    ("stream", "POST", CHAT, {"model": "gpt-4o-mini", "stream": True,
                              "messages": [{"role": "user", "content": "f"}]},
     [], [], dict(route=CHAT, status=200, retries=0, fallback="not_needed")),
] + [(f"bulk-{i}", "POST", CHAT, {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "g"}]},
      [], [], dict(route=CHAT, status=200, retries=0, fallback="not_needed")) for i in range(20)]


def drive(gw_url, primary, backup, cases):
    for cid, method, path, body, fa, fb, _ in cases:
        for base, faults in ((primary, fa), (backup, fb)):
            if faults:
                mock_control(base, "/__mock/faults", {"faults": faults})
        headers = {"X-Request-Id": f"req-{cid}"}
        tp = cases_by_id[cid][6].get("tp")
        if tp:
            headers["traceparent"] = TP[tp]
        status, _ = request(gw_url + path, method, body, headers)
        want = cases_by_id[cid][6]["status"]
        check(status == want, (cid, status, want))
    for base in (primary, backup):  # every queued fault was consumed by a real attempt
        check(mock_control(base, "/__mock/faults") in ([], {"faults": []}),
              mock_control(base, "/__mock/faults"))


cases_by_id = {c[0]: c for c in CASES}


def upstream_attempts(value):
    """Attempts in an nginx $upstream_status list ("503, 503 : 200" -> 3)."""
    return len([s for s in value.replace(" : ", ", ").split(", ") if s])


def check_spans(rx, cases, want_ids=True):
    spans = access_log_spans(rx, otlp)
    check(len(spans) == len(cases), (len(spans), len(cases)))
    by_id = {a.get("gateway.upstream.request_id"): (sp, a) for sp, a in spans}
    for cid, method, path, body, _, _, want in cases:
        key = f"req-{cid}" if want_ids else None
        if key not in by_id:
            raise AssertionError(f"no span for {cid}: {sorted(by_id)}")
        sp, a = by_id[key]
        name = f"{method} {want['route']}" if want["route"] else method
        check(sp["name"] == name and sp["kind"] == 2, (cid, sp["name"], sp["kind"]))
        check(a.get("http.route") == want["route"], (cid, a))
        check(a["http.response.status_code"] == want["status"], (cid, a))
        check(a.get("http.request.resend_count", 0) == want["retries"], (cid, a))
        check(a["gateway.fallback.decision"] == want["fallback"], (cid, a))
        if "reason" in want:
            check(a["gateway.fallback.reason"] == want["reason"], (cid, a))
        if "error_class" in want:
            check(a["gateway.error_class"] == want["error_class"], (cid, a))
            check(a["error.type"] == str(want["status"]), (cid, a))
            check(sp.get("status", {}).get("code") == 2, (cid, sp.get("status")))
        elif want["status"] < 400:
            check(a["gateway.error_class"] == "none" and "error.type" not in a, (cid, a))
        if want.get("tp"):
            _, trace, parent, _ = TP[want["tp"]].split("-")
            check(sp["traceId"] == trace and sp["parentSpanId"] == parent, (cid, sp))
        else:
            check(not sp.get("parentSpanId"), (cid, sp.get("parentSpanId")))
        dur = (int(sp["endTimeUnixNano"]) - int(sp["startTimeUnixNano"])) / 1e9
        check(0 <= dur < 5, (cid, dur))
    return by_id


def check_no_raw_paths(rx):
    values = string_values(rx)
    check(any(v == CHAT for v in values), "no route exported at all?")
    for v in values:
        for secret in SECRETS:
            check(secret not in v, f"{secret!r} reached telemetry in {v!r}")


def check_metrics(rx, cases):
    by = {}
    for _, _, _, _, _, _, want in cases:
        cls = f"{want['status'] // 100}xx"
        by[(want["route"], cls)] = by.get((want["route"], cls), 0) + 1
    for (route, cls), n in by.items():
        match = {"gateway.source": "access_log", "gateway.status_class": cls}
        total = sum(int(p.get("asInt", 0)) for a, p in last_points(rx, "gateway.requests", **match)
                    if a.get("http.route") == route)
        check(total == n, ("gateway.requests", route, cls, total, n))
    retried = sum(1 for c in cases if c[6]["retries"] > 0)
    check(counter_total(rx, "gateway.retries", **{"gateway.source": "access_log"}) == retried)
    check(counter_total(rx, "gateway.fallbacks", **{"gateway.source": "access_log"}) ==
          sum(1 for c in cases if c[6]["fallback"] == "used"))
    check(counter_total(rx, "sidecar.accesslog.lines.read") == len(cases))
    check(counter_total(rx, "sidecar.accesslog.lines.parsed") == len(cases))


def run_nginx(name, log_format, log_name, access_log):
    _, primary = start_mock_upstream(runner, args.work_dir, keys=(), extra=("--name", "primary"))
    _, backup = start_mock_upstream(runner, args.work_dir, keys=(), extra=("--name", "backup"))
    _, request_map = example_nginx_pieces(args.source_dir)
    gw = Nginx(runner, args.work_dir, name, port_of(primary), port_of(backup), log_format,
               log_name, http_extra=request_map)
    with otlp.Receiver(os.path.join(args.work_dir, f"{name}-rx")) as rx:
        access_log = dict(access_log, path=gw.access_log, start_position="beginning",
                          checkpoint_path=os.path.join(args.work_dir, f"{name}.checkpoint"))
        sc = sidecar(runner, args.binary, args.work_dir, name, access_log, endpoint=rx.endpoint)
        drive(gw.url, primary, backup, CASES)
        lines = gw.lines()
        check(len(lines) == len(CASES), (len(lines), len(CASES)))
        wait_spans(rx, otlp, len(CASES))
        sc.p.send_signal(signal.SIGTERM)
        check(sc.wait_exit(20) == 0)
        check(rx.unknown_fields() == [], rx.unknown_fields())
        by_id = check_spans(rx, CASES)
        return gw, lines, by_id, rx


def nginx_llm_json():
    log_format, _ = example_nginx_pieces(args.source_dir)
    gw, lines, by_id, rx = run_nginx("nginx-json", log_format, "llm_json", {"format": "nginx_json"})
    # The retry counts came from what nginx really wrote.
    for line in lines:
        obj = json.loads(line)
        sp, a = by_id[obj["request_id"]]
        check(a.get("http.request.resend_count", 0) == upstream_attempts(obj["upstream_status"]) - 1,
              (obj["request_id"], obj["upstream_status"], a))
    check(any(" : " in json.loads(l)["upstream_status"] for l in lines), "no fallback happened")
    check_no_raw_paths(rx)
    check_metrics(rx, CASES)
    check_export_against_schema(rx.traces(), rx.metrics(), DOC)


TEXT_FORMAT = ("log_format gw_text '$remote_addr - $remote_user [$time_local] \"$request\" "
               "$status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" "
               "rt=$request_time us=\"$upstream_status\" ua=\"$upstream_addr\" "
               "rid=\"$http_x_request_id\" tp=\"$http_traceparent\"';")


def nginx_text_format():
    gw, lines, by_id, rx = run_nginx("nginx-text", TEXT_FORMAT, "gw_text",
                                     {"format": "nginx", "nginx_log_format": TEXT_FORMAT})
    for line in lines:
        us = line.split(' us="', 1)[1].split('"', 1)[0]
        rid = line.split(' rid="', 1)[1].split('"', 1)[0]
        sp, a = by_id[rid]
        check(a.get("http.request.resend_count", 0) == upstream_attempts(us) - 1, (rid, us, a))
        # The text layout carries no usage: never counted as missing.
    check(counter_total(rx, "gateway.usage.missing", **{"gateway.source": "access_log"}) == 0)
    check_no_raw_paths(rx)
    check_metrics(rx, CASES)
    check_export_against_schema(rx.traces(), rx.metrics(), DOC)


CADDY_CASES = [c for c in CASES if c[0] in ("ok-1", "responses", "models", "unknown-route",
                                            "bad-request", "stream")] + [
    ("caddy-503", "POST", CHAT, {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]},
     [{"fault": "status", "status": 503}], [],
     dict(route=CHAT, status=503, retries=0, fallback="not_needed", error_class="upstream_error",
          tp="t2")),
    ("caddy-429", "POST", CHAT + "?api-version=1", {"model": "gpt-4o-mini",
                                                    "messages": [{"role": "user", "content": "y"}]},
     [{"fault": "rate_limit"}], [],
     dict(route=CHAT, status=429, retries=0, fallback="not_needed", error_class="rate_limited")),
]


def caddy_json():
    _, up = start_mock_upstream(runner, args.work_dir, keys=(), extra=("--name", "caddy-up"))
    gw = Caddy(runner, args.work_dir, "caddy", port_of(up))
    with otlp.Receiver(os.path.join(args.work_dir, "caddy-rx")) as rx:
        access_log = {"path": gw.access_log, "format": "caddy", "start_position": "beginning"}
        sc = sidecar(runner, args.binary, args.work_dir, "caddy", access_log, endpoint=rx.endpoint)
        global cases_by_id
        saved, cases_by_id = cases_by_id, {c[0]: c for c in CADDY_CASES}
        try:
            drive(gw.url, up, up, CADDY_CASES)
        finally:
            cases_by_id = saved
        check(len(gw.lines()) >= len(CADDY_CASES), len(gw.lines()))
        wait_spans(rx, otlp, len(CADDY_CASES))
        sc.p.send_signal(signal.SIGTERM)
        check(sc.wait_exit(20) == 0)
        check(rx.unknown_fields() == [], rx.unknown_fields())
        check_spans(rx, CADDY_CASES)
        check_no_raw_paths(rx)
        check(counter_total(rx, "sidecar.accesslog.lines.malformed") == 0)
        check_export_against_schema(rx.traces(), rx.metrics(), DOC)


def example_configs_are_valid():
    """deploy/examples/sidecar-*.json pass --check-config (with a key file standing in for the
    mounted Secret), and the example nginx log_format and the nginx-text config's format agree
    with what the runs above used."""
    import glob
    import subprocess
    key = os.path.join(args.work_dir, "api-key")
    with open(key, "w") as f:
        f.write("sk-test-example-0123456789abcdef\n")
    os.chmod(key, 0o600)
    examples = sorted(glob.glob(os.path.join(args.source_dir, "deploy", "examples", "sidecar-*.json")))
    check(len(examples) >= 4, examples)
    for path in examples:
        p = subprocess.run(command([args.binary, "--check-config", "--config", path, "--set",
                                    f"cometapi.api_key_file={key}"]), capture_output=True,
                           text=True, timeout=10 * time_scale())
        check(p.returncode == 0, (path, p.stderr[-500:]))
        eff = json.loads(p.stdout)
        check(eff["access_log"]["path"], path)


for t in (nginx_llm_json, nginx_text_format, caddy_json, example_configs_are_valid):
    runner.run(t)
runner.finish()
