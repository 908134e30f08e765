"""canary_support.py - owns: running tests/integration/canary_driver (the canary engine over a
config, built by tests/CMakeLists.txt and found through SC_CANARY_DRIVER) and reading what it
printed, plus the checks every canary test repeats (ids on the wire, no key anywhere).

Not a test itself (the name does not start with test_)."""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.harness import check, command, mock_control, time_scale  # noqa: E402

HEX32 = re.compile(r"^[0-9a-f]{32}$")
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-01$")


def driver_path(binary):
    path = os.environ.get("SC_CANARY_DRIVER")
    if not path:  # run by hand: next to the tests of the same build
        path = os.path.join(os.path.dirname(os.path.dirname(binary)), "tests", "canary_driver")
    check(os.path.exists(path), f"canary_driver not found at {path}")
    return path


class Run:
    """The parsed output of one driver run."""

    def __init__(self, proc, stdout, stderr):
        self.rc = proc.returncode
        self.stdout = stdout
        self.stderr = stderr
        self.results, self.spans, self.metrics = {}, [], []
        self.done = self.stats = None
        self.result_list = []
        for line in stdout.decode().splitlines():
            obj = json.loads(line)
            kind = obj.pop("type")
            if kind == "result":
                self.results[obj["probe"]] = obj
                self.result_list.append(obj)
            elif kind == "span":
                self.spans.append(obj)
            elif kind == "metric":
                self.metrics.append(obj)
            elif kind == "done":
                self.done = obj
            elif kind == "stats":
                self.stats = obj
        self.logs = [json.loads(l) for l in stderr.decode().splitlines() if l.strip()]

    def metric_sum(self, name, **attrs):
        total = 0
        for m in self.metrics:
            if m["name"] == name and all(m["attrs"].get(k) == v for k, v in attrs.items()):
                total += m["value"]
        return total

    def run_span(self, trace_id):
        for s in self.spans:
            if s["trace_id"] == trace_id and s["parent_span_id"] == "":
                return s
        return None

    def attempt_spans(self, trace_id):
        return [s for s in self.spans if s["trace_id"] == trace_id and s["parent_span_id"]]


def run_driver(binary, work_dir, tag, config, env=None, args=(), timeout=40):
    cfg_path = os.path.join(work_dir, f"{tag}.json")
    with open(cfg_path, "w") as f:
        json.dump(config, f)
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("COMETAPI_", "OTEL_"))}
    full_env.update(env or {})
    argv = [driver_path(binary), "--config", cfg_path] + list(args)
    p = subprocess.run(command(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env,
                       cwd=work_dir, timeout=timeout * time_scale())
    for name, data in (("stdout", p.stdout), ("stderr", p.stderr)):
        with open(os.path.join(work_dir, f"{tag}.{name}"), "wb") as f:
            f.write(data)
    return Run(p, p.stdout, p.stderr)


def run_packet(binary, work_dir, tag, config, env, evidence, out, since=None):
    cfg_path = os.path.join(work_dir, f"{tag}.json")
    with open(cfg_path, "w") as f:
        json.dump(config, f)
    argv = [driver_path(binary), "support-packet", "--config", cfg_path, "--evidence", evidence,
            "--out", out]
    if since:
        argv += ["--since", since]
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("COMETAPI_", "OTEL_"))}
    full_env.update(env)
    return subprocess.run(command(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=full_env, cwd=work_dir, timeout=20 * time_scale())


def mock_requests(base_url):
    return mock_control(base_url, "/__mock/requests")


def clear_mock(base_url):
    mock_control(base_url, "/__mock/requests", method="DELETE")
    mock_control(base_url, "/__mock/faults", method="DELETE")


def evidence_lines(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def check_wire_ids(run, requests, evidence=None):
    """Every request carried a fresh 32-hex X-Request-ID and a traceparent whose trace id is a
    run span's and whose parent id is the attempt span of that request."""
    ids = set()
    attempt_by_span = {s["span_id"]: s for s in run.spans if s["parent_span_id"]}
    for r in requests:
        rid = r["headers"].get("x-request-id")
        tp = r["headers"].get("traceparent")
        check(rid is not None and HEX32.match(rid), f"X-Request-ID {rid!r}")
        check(rid not in ids, f"X-Request-ID reused: {rid}")
        ids.add(rid)
        m = TRACEPARENT.match(tp or "")
        check(m is not None, f"traceparent {tp!r}")
        trace, span = m.group(1), m.group(2)
        check(run.run_span(trace) is not None, f"traceparent trace {trace} has no run span")
        att = attempt_by_span.get(span)
        check(att is not None and att["trace_id"] == trace, f"no attempt span {span}")
        check(att["parent_span_id"] == run.run_span(trace)["span_id"], "attempt not a child")
    for res in run.result_list:
        check(res["request_id"] in ids, f"result request id {res['request_id']} not on the wire")
    return ids


def check_no_key(key, *blobs):
    needle = key.encode()
    for i, b in enumerate(blobs):
        if isinstance(b, str):
            b = b.encode()
        check(needle not in b, f"the API key appears in output #{i}")


def read_tree(path):
    out = b""
    for root, _dirs, files in os.walk(path):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                out += f.read()
    return out
