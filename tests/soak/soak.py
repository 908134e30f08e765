#!/usr/bin/env python3
"""soak.py - owns: the bounded soak run (see soak.sh): the real binary for N minutes following an
access log written at a steady rate, with canary probes every second against the mock upstream,
exporting to a loopback OTLP sink. Samples VmRSS and the open descriptors of the sidecar every few
seconds; after the warm-up, RSS must stay within a tolerance and descriptors must not grow; no
warn/error log line may appear (nothing is injected). Prints the figures and one JSON summary
line; exits 1 when a limit is broken. Stdlib only."""
import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
from lib import harness  # noqa: E402
from lib.harness import Proc, Runner, free_port, http_get, start_mock_upstream, write_json  # noqa

KEY = "sk-soak-test-key-0123456789abcdef0123"


class Sink(BaseHTTPRequestHandler):
    """Accepts every OTLP/HTTP export: 200 with an empty Export*ServiceResponse (zero bytes)."""
    protocol_version = "HTTP/1.1"
    counts = {"requests": 0, "bytes": 0}
    lock = threading.Lock()

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(n)
        with Sink.lock:
            Sink.counts["requests"] += 1
            Sink.counts["bytes"] += n
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def sample(pid):
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", default=os.path.join(SRC, "build", "release", "sidecar", "comet-sidecar"))
    p.add_argument("--work-dir", default=os.path.join(SRC, "build", "soak"))
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--warmup-s", type=float, default=None, help="default: 60 s, or 1/5 of a short run")
    p.add_argument("--rate", type=float, default=200.0, help="access-log lines per second")
    p.add_argument("--sample-s", type=float, default=5.0)
    p.add_argument("--rss-tolerance-kib", type=int, default=2048,
                   help="largest allowed RSS growth after the warm-up (end and max vs start)")
    a = p.parse_args()
    harness.SOURCE_DIR = SRC
    os.makedirs(a.work_dir, exist_ok=True)
    total_s = a.minutes * 60.0
    warmup = a.warmup_s if a.warmup_s is not None else min(60.0, total_s / 5.0)

    sink = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    runner = Runner()
    _mock, base = start_mock_upstream(runner, a.work_dir, keys=(KEY,))
    log_path = os.path.join(a.work_dir, "access.log")
    for f in (log_path, log_path + ".checkpoint", os.path.join(a.work_dir, "evidence.jsonl")):
        if os.path.exists(f):
            os.unlink(f)
    open(log_path, "w").close()
    health = f"127.0.0.1:{free_port()}"
    probe = {"interval": "1s", "jitter": "0%", "timeout": "5s", "retry": {"deadline": "5s"}}
    cfg = {"health": {"endpoint": health}, "shutdown": {"deadline": "10s"},
           "cometapi": {"base_url": base, "timeout": "5s"},
           "exporter": {"otlp": {"endpoint": f"http://127.0.0.1:{sink.server_address[1]}"},
                        "batch": {"schedule_delay": "500ms"}, "metrics_interval": "5s"},
           "evidence": {"path": os.path.join(a.work_dir, "evidence.jsonl")},
           "probes": [dict(probe, name="chat"), dict(probe, name="chat-stream", stream=True)],
           "access_log": {"path": log_path, "checkpoint_path": log_path + ".checkpoint",
                          "start_position": "beginning"}}
    conf = write_json(os.path.join(a.work_dir, "soak.json"), cfg)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "COMETAPI_"))}
    env["COMETAPI_API_KEY"] = KEY
    sc = runner.track(Proc([a.binary, "--config", conf], env=env))
    sc.wait_log("started", timeout=15)
    writer = runner.track(Proc([sys.executable,
                                os.path.join(SRC, "tests", "integration", "accesslog_writer.py"),
                                "--path", log_path, "--count", str(int(a.rate * total_s)),
                                "--rate", str(a.rate)]))
    t0 = time.monotonic()
    samples = []  # (t, rss_kib, fds) after the warm-up
    health_ms = 0.0
    while time.monotonic() - t0 < total_s:
        sc._pump(min(a.sample_s, max(0.01, total_s - (time.monotonic() - t0))))
        if sc.p.poll() is not None:
            break
        t = time.monotonic() - t0
        if t >= warmup and (not samples or t - samples[-1][0] >= a.sample_s):
            rss, fds = sample(sc.p.pid)
            samples.append((t, rss, fds))
            h0 = time.monotonic()
            status, _ = http_get(f"http://{health}/healthz", timeout=5)
            health_ms = max(health_ms, (time.monotonic() - h0) * 1000.0)
            if status != 200:
                print(f"/healthz answered {status} at {t:.0f} s", flush=True)
    alive = sc.p.poll() is None
    if alive:
        sc.p.send_signal(signal.SIGTERM)
    code = sc.wait_exit(30)
    writer.kill()
    logs = sc.json_logs()
    bad = [l for l in logs if l.get("level") in ("warn", "error")]
    with open(os.path.join(a.work_dir, "evidence.jsonl")) as f:
        runs = [json.loads(l) for l in f if l.strip()]
    failed_runs = [r for r in runs if r.get("operator_result") != "pass"]
    problems = []
    if not alive:
        problems.append(f"the sidecar died during the soak (exit {code})")
    elif code != 0:
        problems.append(f"exit code {code} after SIGTERM")
    if len(samples) < 2:
        problems.append("fewer than two samples after the warm-up")
        samples = samples or [(0, 0, 0)]
    rss = [s[1] for s in samples]
    fds = [s[2] for s in samples]
    if rss[-1] - rss[0] > a.rss_tolerance_kib:
        problems.append(f"RSS grew {rss[-1] - rss[0]} KiB (tolerance {a.rss_tolerance_kib})")
    if max(rss) - rss[0] > a.rss_tolerance_kib:
        problems.append(f"RSS peaked {max(rss) - rss[0]} KiB above the start")
    if fds[-1] > fds[0] or max(fds) > fds[0] + 4:
        problems.append(f"descriptors grew: start {fds[0]}, end {fds[-1]}, max {max(fds)}")
    if bad:
        problems.append(f"{len(bad)} warn/error log lines, first: {bad[:3]}")
    if failed_runs:
        problems.append(f"{len(failed_runs)} canary runs failed, first: {failed_runs[:1]}")
    summary = {"minutes": a.minutes, "warmup_s": warmup, "rate": a.rate,
               "rss_kib": {"start": rss[0], "end": rss[-1], "max": max(rss)},
               "fds": {"start": fds[0], "end": fds[-1], "max": max(fds)},
               "samples": len(samples), "warn_error_logs": len(bad), "canary_runs": len(runs),
               "canary_failed": len(failed_runs), "export_requests": Sink.counts["requests"],
               "export_bytes": Sink.counts["bytes"], "healthz_max_ms": round(health_ms, 1),
               "exit_code": code, "ok": not problems}
    print(f"soak {a.minutes:g} min at {a.rate:g} lines/s, canaries every 1 s, warm-up {warmup:g} s")
    print(f"  RSS KiB  start {rss[0]}  end {rss[-1]}  max {max(rss)}  "
          f"(tolerance +{a.rss_tolerance_kib})")
    print(f"  fds      start {fds[0]}  end {fds[-1]}  max {max(fds)}")
    print(f"  warn/error log lines {len(bad)}; canary runs {len(runs)} ({len(failed_runs)} failed); "
          f"exports {Sink.counts['requests']}; /healthz max {health_ms:.1f} ms")
    for pr in problems:
        print("  PROBLEM: " + pr)
    print(json.dumps(summary), flush=True)
    for c in runner.cleanups:
        c()
    sink.shutdown()
    sys.exit(0 if not problems else 1)


if __name__ == "__main__":
    main()
