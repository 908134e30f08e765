#!/usr/bin/env python3
"""test_prometheus_e2e.py - owns: the end-to-end proof of dashboards and alerts with Debian's
real Prometheus server.

The sidecar runs canary probes against the mock upstream, which injects faults, and follows an
access log the test writes (nginx llm_json lines: successes, a retry, a fallback, missing usage, a
malformed and a too-long line, one rename rotation); it exports OTLP to the official-decoder
receiver. `prometheus` (127.0.0.1:free_port, temporary TSDB, 1 s scrape and evaluation interval)
scrapes the sidecar's GET /metrics and evaluates the alert rules. Then, through its HTTP API:
- CometSidecarCredentialDrillNotFailingClosed fires for the invalid-credential drill (the mock
  accepts any key on chat) and CometSidecarCanaryFailing fires for the probe whose requests get
  503s, and for no other probe;
- quiet alerts stay inactive: CometSidecarCanaryAuthError (the configured key works) and
  CometSidecarContractDrift (model substitution is injected, shape drift is not);
- every query of every dashboard panel returns a non-empty result, with the Grafana variables
  set to the pod's namespace and name (and the namespace variable's own query lists it), except
  the panels listed in NO_DATA_IN_A_SHORT_RUN, each with its reason, which must then really
  have no data.
The rules Prometheus loads are a DERIVED COPY of dashboards/alerts/comet-sidecar-rules.yml in
which only `for:` is shortened to 1s (a test cannot wait 5-15 minutes); every expression, label
and range window is the shipped one, and the test checks that.
Usage: python3 test_prometheus_e2e.py --binary B --source-dir S --work-dir W
"""
import json
import os
import re
import shutil
import sys
import time
import urllib.parse

import yaml

from lib.harness import Proc, Runner, check, free_port, http_get, parse_args, start_mock_upstream

args = parse_args()
runner = Runner()
SRC = args.source_dir
sys.path.insert(0, os.path.join(SRC, "tests", "otlp_receiver"))
import client as otlp  # noqa: E402

RULES = os.path.join(SRC, "dashboards", "alerts", "comet-sidecar-rules.yml")
DASH = os.path.join(SRC, "dashboards", "comet-sidecar.json")
KEY = "sk-test-prometheus-e2e-0123456789abcdef"
NAMESPACE, POD = "e2e-ns", "llm-gateway-e2e-0"
RATE_INTERVAL = "20s"
WAIT_S = 90
# Panel queries that cannot return data in a short healthy run, and why. The test asserts that
# they really return nothing (so the list cannot hide a broken query that should have data).
NO_DATA_IN_A_SHORT_RUN = {
    "Dropped telemetry": "sidecar_telemetry_dropped_total is created by the first dropped span "
                         "or data point; a healthy run drops nothing",
}
PROMETHEUS = shutil.which("prometheus")
if PROMETHEUS is None:
    print("FAIL prometheus not found: install Debian's prometheus package "
          "(deploy/install-deps.sh --test)", flush=True)
    print("0 passed, 1 failed")
    sys.exit(1)


def derived_rules(path):
    """The shipped rules with every `for:` shortened to 1s; nothing else changes."""
    with open(RULES) as f:
        shipped = yaml.safe_load(f)
    test_copy = json.loads(json.dumps(shipped))
    for g in test_copy["groups"]:
        for r in g["rules"]:
            if "for" in r:
                r["for"] = "1s"
    for g_s, g_t in zip(shipped["groups"], test_copy["groups"]):
        for r_s, r_t in zip(g_s["rules"], g_t["rules"]):
            check({k: v for k, v in r_s.items() if k != "for"}
                  == {k: v for k, v in r_t.items() if k != "for"}, r_s.get("alert"))
    with open(path, "w") as f:
        yaml.safe_dump(test_copy, f, sort_keys=False)
    return [r["alert"] for g in shipped["groups"] for r in g["rules"] if "alert" in r]


def probe(name, interval="1s", **kw):
    return dict({"name": name, "endpoint": "chat", "interval": interval, "jitter": "0%",
                 "timeout": "5s"}, **kw)


def sidecar_config(work, base, health_port, log):
    return {
        "service": {"name": "llm-gateway", "environment": "e2e"},
        "health": {"endpoint": f"127.0.0.1:{health_port}"},
        "shutdown": {"deadline": "5s"},
        "cometapi": {"base_url": base, "timeout": "5s"},
        "exporter": {"batch": {"schedule_delay": "200ms"}, "metrics_interval": "1s"},
        "evidence": {"path": os.path.join(work, "evidence.jsonl")},
        "access_log": {"path": log, "format": "nginx_json", "start_position": "beginning",
                       "checkpoint_path": os.path.join(work, "checkpoint"),
                       "max_line_bytes": "1KiB", "rotate_wait": "100ms"},
        "probes": [
            probe("chat"),
            probe("chat-stream", stream=True, include_usage=True),
            probe("responses", endpoint="responses"),
            probe("invalid-credential", credential="invalid", expect="auth_error"),
            probe("unknown-model", interval="2s", model="comet-sidecar-nonexistent-model",
                  expect="model_not_found"),
            # Every request of this probe gets a 503: a failing happy path.
            probe("failing-chat", model="mock-fault-server_error-503",
                  retry={"max_attempts": 2, "base_backoff": "10ms", "max_backoff": "20ms"}),
        ],
    }


class Log:
    """The gateway stand-in: appends nginx llm_json lines, as nginx writes them."""

    def __init__(self, path):
        self.path, self.n = path, 0

    def line(self, status=200, upstream="200", tokens=True):
        self.n += 1
        t = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
        tok = ('"llm_input_tokens":"5","llm_output_tokens":"7"' if tokens
               else '"llm_input_tokens":"","llm_output_tokens":""')
        return (f'{{"time":"{t}","request_id":"e2e-{self.n}","traceparent":"","method":"POST",'
                f'"uri":"/v1/chat/completions","status":{status},"request_time":0.0{self.n % 90 + 10},'
                f'"upstream_status":"{upstream}","upstream_addr":"","host":"llm-gateway",'
                f'"llm_model":"gpt-4o-mini",{tok}}}\n')

    def write(self, text):
        with open(self.path, "a") as f:
            f.write(text)

    def batch(self):
        self.write(self.line() + self.line() + self.line(upstream="503, 200")
                   + self.line(upstream="503 : 200") + self.line(tokens=False)
                   + self.line(status=502, upstream="502, 502"))


def drain(procs, seconds):
    end = time.monotonic() + seconds
    for p in procs:
        p._pump(max(0.0, (end - time.monotonic()) / 2))


def api(port, path, **params):
    url = f"http://127.0.0.1:{port}{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params, doseq=True)
    status, body = http_get(url, timeout=10)
    check(status == 200, (url, status, body[:500]))
    out = json.loads(body)
    check(out.get("status") == "success", out)
    return out["data"]


def substitute(expr):
    expr = expr.replace("$__rate_interval", RATE_INTERVAL)
    values = {"namespace": NAMESPACE, "pod": POD, "probe": ".*", "route": ".*"}
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: values[m.group(1)], expr)


def panel_queries():
    with open(DASH) as f:
        dash = json.load(f)
    return [(p["title"], t["refId"], substitute(t["expr"]))
            for p in dash["panels"] for t in p.get("targets", [])]


def end_to_end():
    work = args.work_dir
    with open(os.path.join(work, "schedule.json"), "w") as f:
        json.dump({"rules": [
            {"path": "/v1/chat/completions", "fault": "accept_any_key"},
            {"path": "/v1/responses", "fault": "model_substituted"},
        ]}, f)
    _, base = start_mock_upstream(runner, work, keys=(KEY,),
                                  extra=("--schedule", os.path.join(work, "schedule.json")))
    otlp.install()
    rx = otlp.Receiver(os.path.join(work, "otlp")).__enter__()
    runner.cleanups.append(rx.stop)

    log = Log(os.path.join(work, "llm_access.log"))
    log.batch()
    log.write("this is not json\n" + '{"x":"' + "y" * 2000 + '"}\n')
    health = free_port()
    cfg = os.path.join(work, "sidecar.json")
    with open(cfg, "w") as f:
        json.dump(sidecar_config(work, base, health, log.path), f)
    sc = runner.track(Proc([args.binary, "--config", cfg], env={
        "COMETAPI_API_KEY": KEY, "OTEL_EXPORTER_OTLP_ENDPOINT": rx.endpoint,
        "K8S_NAMESPACE_NAME": NAMESPACE, "K8S_POD_NAME": POD, "K8S_NODE_NAME": "node-1",
        "K8S_CONTAINER_NAME": "comet-sidecar", "K8S_POD_UID": "0b7e7d5c-0000-4000-8000-000000000001"},
        cwd=work))
    sc.wait_log("started", timeout=20)

    rules = os.path.join(work, "rules-test.yml")
    alerts = derived_rules(rules)
    prom_port = free_port()
    with open(os.path.join(work, "prometheus.yml"), "w") as f:
        yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [rules],
            "scrape_configs": [{"job_name": "comet-sidecar", "scrape_interval": "1s",
                                "static_configs": [{"targets": [f"127.0.0.1:{health}"]}]}],
        }, f)
    prom = runner.track(Proc([PROMETHEUS, "--config.file=" + os.path.join(work, "prometheus.yml"),
                              "--storage.tsdb.path=" + os.path.join(work, "tsdb"),
                              f"--web.listen-address=127.0.0.1:{prom_port}",
                              "--storage.tsdb.retention.time=1h", "--log.level=info"]))
    prom.wait_line("stderr", lambda l: "Server is ready to receive web requests" in l, timeout=60)
    rule_groups = api(prom_port, "/api/v1/rules")["groups"]
    loaded = sorted(r["name"] for g in rule_groups for r in g["rules"] if r["type"] == "alerting")
    check(loaded == sorted(alerts), (loaded, alerts))

    # Wait (bounded) for the expected alerts, feeding the access log meanwhile; one rotation.
    want = {("CometSidecarCredentialDrillNotFailingClosed", "invalid-credential"),
            ("CometSidecarCanaryFailing", "failing-chat")}
    deadline = time.monotonic() + WAIT_S
    firing, rotated, seen_rotation = set(), False, []
    while time.monotonic() < deadline:
        log.batch()
        if not rotated and time.monotonic() > deadline - WAIT_S + 5:
            # Rename rotation without a moment in which the path is missing: the old file gets
            # its rotated name by a hard link and a new file replaces the path in one rename.
            # (A gap between the two is seen by the tailer as "missing, then appeared", which it
            # does not count as a rotation.)
            fresh = log.path + ".new"
            with open(fresh, "w") as f:
                f.write(log.line())
            os.link(log.path, log.path + ".1")
            os.rename(fresh, log.path)
            rotated = True
        active = api(prom_port, "/api/v1/alerts")["alerts"]
        firing = {(a["labels"]["alertname"], a["labels"].get("gateway_probe")) for a in active
                  if a["state"] == "firing"}
        seen_rotation = rotated and api(prom_port, "/api/v1/query",
                                        query="sidecar_accesslog_rotations_total > 0")["result"]
        if want <= firing and seen_rotation:
            break
        # Prometheus has no long-poll API for alert state, so this polls it (bounded by
        # WAIT_S). Between polls the children's stderr pipes are drained, so neither blocks on a
        # full pipe; that also spaces the polls by about one evaluation interval.
        drain((sc, prom), 1.0)
    check(want <= firing, f"expected {want} firing, got {firing}")
    check(seen_rotation, "the sidecar's rotation counter never reached Prometheus: "
          + str([l for l in sc.lines["stderr"] if '"tail: ' in l][-5:]))
    # The credential drill fired because the invalid key was accepted (error class none).
    drill = [a for a in active if a["labels"]["alertname"] ==
             "CometSidecarCredentialDrillNotFailingClosed"]
    check(drill and all(a["labels"]["gateway_error_class"] == "none" for a in drill), drill)
    bad = [f for f in firing if f[0] == "CometSidecarCanaryFailing" and f[1] != "failing-chat"]
    check(not bad, f"healthy probes alerted: {bad}")
    for quiet in ("CometSidecarCanaryAuthError", "CometSidecarContractDrift"):
        check(not [a for a in active if a["labels"]["alertname"] == quiet],
              f"{quiet} is active: {active}")
    rule_state = {r["name"]: r["state"] for g in api(prom_port, "/api/v1/rules")["groups"]
                  for r in g["rules"] if r["type"] == "alerting"}
    check(rule_state["CometSidecarCanaryAuthError"] == "inactive", rule_state)
    check(rule_state["CometSidecarContractDrift"] == "inactive", rule_state)
    print(f"     firing: {sorted(firing)}", flush=True)

    # Every dashboard panel query returns data (or is documented not to, and really has none).
    results, evidence = {}, []
    for title, ref, expr in panel_queries():
        data = api(prom_port, "/api/v1/query", query=expr)
        results[(title, ref)] = len(data["result"])
        evidence.append({"panel": title, "refId": ref, "query": expr, "result": data["result"]})
    with open(os.path.join(work, "panel-results.json"), "w") as f:
        json.dump(evidence, f, indent=1)  # what each panel would show, for a human to read
    empty = sorted({t for (t, _), n in results.items() if n == 0})
    check(empty == sorted(NO_DATA_IN_A_SHORT_RUN), f"panels without data: {empty}")
    for title in NO_DATA_IN_A_SHORT_RUN:
        check(not [k for k, n in results.items() if k[0] == title and n], title)
    print(f"     {len(results)} panel queries, {len(results) - len(empty)} with data; "
          f"empty by design: {empty}", flush=True)
    ns = api(prom_port, "/api/v1/label/k8s_namespace_name/values",
             **{"match[]": 'target_info{telemetry_sdk_name="comet-sidecar"}'})
    check(ns == [NAMESPACE], ns)
    pods = api(prom_port, "/api/v1/label/k8s_pod_name/values",
               **{"match[]": f'target_info{{telemetry_sdk_name="comet-sidecar", '
                             f'k8s_namespace_name=~"{NAMESPACE}"}}'})
    check(pods == [POD], pods)
    up = api(prom_port, "/api/v1/query", query='up{job="comet-sidecar"}')["result"]
    check(up and up[0]["value"][1] == "1", up)


runner.run(end_to_end)
runner.finish()
