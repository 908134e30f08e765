"""drill_support.py - owns: what the fault drills (test_fault_drills*.py) share: starting the
sidecar with an access log, canary probes and an OTLP endpoint, the numbered-line writer, reading
back which lines / canary spans the receiver holds (parsed once, by request id), exact waits on
the receiver's own counters, final counter values, and /proc figures of a process. Stdlib only;
not a test itself."""
import json
import os
import signal
import sys
import time

from lib.harness import Proc, check, free_port, write_json

HERE = os.path.dirname(os.path.abspath(__file__))
WRITER = os.path.join(HERE, "accesslog_writer.py")
KEY = "sk-drill-test-key-0123456789abcdef0123"
KEYS = [KEY]  # every key a drill gives a sidecar (a rotation drill adds its new one)
STARTED = []  # every sidecar a drill started, for the secret scan at the end


def sidecar(runner, binary, work_dir, name, endpoint, base_url, access_log=None, probes=(),
            exporter=None, extra=None, env=None, log_level="info"):
    """Starts the real binary; returns (proc, health_base_url). Secrets through the environment."""
    health = f"127.0.0.1:{free_port()}"
    cfg = {"health": {"endpoint": health}, "shutdown": {"deadline": "20s"},
           "cometapi": {"base_url": base_url, "timeout": "5s"},
           "exporter": {"otlp": {"endpoint": endpoint},
                        "batch": {"schedule_delay": "200ms", "export_timeout": "120s"},
                        "metrics_interval": "1s", "metrics_timeout": "120s"},
           "evidence": {"path": os.path.join(work_dir, f"{name}.evidence.jsonl")},
           "probes": list(probes), "log": {"level": log_level}}
    if access_log is not None:
        cfg["access_log"] = access_log
    for k, v in (exporter or {}).items():
        if isinstance(v, dict):
            cfg["exporter"].setdefault(k, {}).update(v)
        else:
            cfg["exporter"][k] = v
    for k, v in (extra or {}).items():
        cfg.setdefault(k, {}).update(v)
    conf = write_json(os.path.join(work_dir, f"{name}.json"), cfg)
    full = {"COMETAPI_API_KEY": KEY}
    full.update(env or {})
    proc = runner.track(Proc([binary, "--config", conf], env=full))
    STARTED.append(proc)
    return proc, f"http://{health}"


def check_no_key_anywhere(work_dir):
    """No key in any output of the drills: every byte each sidecar wrote to stdout and stderr,
    and every file left under work_dir (evidence, checkpoints, configs, the receiver's decoded
    exports). The key files themselves (api-key*) hold a key by design and are skipped."""
    keys = [k.encode() for k in KEYS]
    check(len(STARTED) > 0, "no sidecar was started")
    for proc in STARTED:
        for stream in ("stdout", "stderr"):
            check(not any(k in proc.raw[stream] for k in keys), f"a key on a sidecar's {stream}")
    scanned = 0
    for d, _dirs, files in os.walk(work_dir):
        for f in files:
            if f.startswith("api-key"):
                continue
            path = os.path.join(d, f)
            try:
                with open(path, "rb") as fh:
                    data = fh.read()
            except OSError:
                continue  # a FIFO, or removed meanwhile
            scanned += 1
            check(not any(k in data for k in keys), f"a key in {path}")
    check(scanned > 0, f"no file under {work_dir}")
    return scanned


def probe(name, interval="1s", **kw):
    p = {"name": name, "interval": interval, "jitter": "0%", "timeout": "2s",
         "retry": {"max_attempts": 1, "deadline": "2s"}}
    p.update(kw)
    return p


def access_log_config(path, **extra):
    al = {"path": path, "start_position": "beginning", "checkpoint_path": path + ".checkpoint",
          "checkpoint_interval": "200ms"}
    al.update(extra)
    return al


def writer(runner, path, count, rate, first=1):
    return runner.track(Proc([sys.executable, WRITER, "--path", path, "--count", str(count),
                              "--rate", str(rate), "--first", str(first)]))


def wait_writer(w, timeout):
    out = json.loads(w.wait_line("stdout", lambda l: l.startswith("{"), timeout=timeout))
    check(w.wait_exit(5) == 0, "writer failed")
    return out


def stop(sc, timeout=40):
    sc.p.send_signal(signal.SIGTERM)
    code = sc.wait_exit(timeout)
    check(code == 0, f"sidecar exit code {code} after SIGTERM")


def attr_map(sp):
    out = {}
    for kv in sp.get("attributes", []):
        v = kv.get("value") or {}
        out[kv["key"]] = int(v["intValue"]) if "intValue" in v else next(iter(v.values()), None)
    return out


class Seen:
    """One parse of the receiver's spans: access-log line numbers (with repeats) and canary
    spans."""

    def __init__(self, rx):
        self.lines, self.canary = [], []
        for sp in rx.spans():
            a = attr_map(sp)
            if a.get("gateway.source") == "access_log":
                rid = a.get("gateway.upstream.request_id", "")
                if isinstance(rid, str) and rid.startswith("n-"):
                    self.lines.append(int(rid[2:]))
            elif a.get("gateway.source") == "canary":
                self.canary.append(sp)

    def duplicates(self):
        return len(self.lines) - len(set(self.lines))


def wait_accepted_spans(rx, n, timeout):
    """Long-polls until the receiver accepted >= n spans in total (its own counter)."""
    end = time.monotonic() + timeout
    while True:
        got = rx.stats()["accepted"]["spans"]
        if got >= n:
            return got
        left = end - time.monotonic()
        if left <= 0:
            raise AssertionError(f"receiver accepted {got} spans, want >= {n}")
        seen = rx.stats()["by_signal"]["traces"]["requests"]
        try:
            rx.wait(requests=seen + 1, signal="traces", timeout=min(left, 5.0))
        except TimeoutError:
            pass


def wait_lines(rx, n_lines, timeout):
    """Waits until every line 1..n_lines is among the received spans; returns a Seen."""
    want = set(range(1, n_lines + 1))
    end = time.monotonic() + timeout
    floor = n_lines
    while True:
        wait_accepted_spans(rx, floor, max(0.1, end - time.monotonic()))
        seen = Seen(rx)
        missing = want - set(seen.lines)
        if not missing:
            return seen
        if time.monotonic() > end:
            raise AssertionError(f"{len(missing)} lines never arrived, first {sorted(missing)[:10]}")
        floor = rx.stats()["accepted"]["spans"] + 1


def totals(rx, name, **match):
    """Sum over series of the newest cumulative point of counter `name` matching `match`."""
    series = {}
    for m, p in rx.data_points():
        if m["name"] != name:
            continue
        a = attr_map(p)
        if any(a.get(k) != v for k, v in match.items()):
            continue
        key = json.dumps(a, sort_keys=True)
        if key not in series or int(p["timeUnixNano"]) >= int(series[key]["timeUnixNano"]):
            series[key] = p
    return sum(int(p.get("asInt", 0)) for p in series.values())


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def sockets(pid):
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return n


def logs_with(sc, msg):
    return [l for l in sc.json_logs() if l.get("msg") == msg]
