"""client.py - owns: starting/stopping the OTLP test receiver and reading what it decoded (stdlib only).

Usage from a test (source_dir = repository root):

    sys.path.insert(0, os.path.join(source_dir, "tests", "otlp_receiver"))
    import client as otlp

    otlp.install()                              # npm ci when needed; raises InstallError on failure
    with otlp.Receiver(out_dir) as rx:          # starts node receiver.js; waits <= start_timeout s
        rx.endpoint                             # "http://127.0.0.1:PORT" (add /v1/traces, /v1/metrics)
        rx.control(mode="status", status=503, retry_after="2", times=3)   # see README.md for modes
        rx.wait(accepted=1, signal="traces", timeout=10)   # long-poll; raises TimeoutError; -> stats
        rx.stats()                              # GET /__stats
        rx.traces(), rx.metrics(), rx.logs()    # decoded requests the receiver answered 2xx
        rx.requests()                           # one metadata record per export request
        rx.spans(), rx.data_points()            # flattened from traces() / metrics()
        rx.unknown_fields()                     # all unknown-field hits; a test asserts this is []
    # leaving the block (or rx.stop()) terminates the process, and kills it if it lingers.

The receiver exits by itself when this process dies (it watches its stdin pipe).
"""

import json
import os
import select
import subprocess
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
# Loopback only: never let an http_proxy variable route these requests elsewhere.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class InstallError(RuntimeError):
    pass


def install(timeout=300):
    """Runs install.sh (npm ci when node_modules is missing or stale). Returns its output."""
    p = subprocess.run(["bash", os.path.join(HERE, "install.sh")], capture_output=True,
                       text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise InstallError("install.sh failed (%d):\n%s%s" % (p.returncode, p.stdout, p.stderr))
    return p.stdout


def _read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class Receiver:
    def __init__(self, out_dir, node="node", start_timeout=15.0, extra_args=()):
        self.out_dir = os.path.abspath(out_dir)
        self.node = node
        self.start_timeout = start_timeout
        self.extra_args = list(extra_args)
        self.proc = None
        self.port = None
        self.endpoint = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        os.makedirs(self.out_dir, exist_ok=True)
        self._stderr = open(os.path.join(self.out_dir, "receiver.stderr"), "wb")
        cmd = [self.node, os.path.join(HERE, "receiver.js"), "--port", "0", "--out", self.out_dir,
               "--exit-on-stdin-eof"] + self.extra_args
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr)
        try:
            line = self._read_line(self.start_timeout)
            addr = json.loads(line)["listening"]
        except Exception as e:
            self.stop()
            raise RuntimeError("receiver did not start: %s; stderr in %s" % (e, self._stderr.name))
        self.port = int(addr.rsplit(":", 1)[1])
        self.endpoint = "http://" + addr
        return self

    def _read_line(self, timeout):
        deadline = time.monotonic() + timeout
        buf = b""
        fd = self.proc.stdout.fileno()
        while not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no listening line within %.1f s" % timeout)
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    raise RuntimeError("receiver exited with %s" % self.proc.wait(timeout=5))
                buf += chunk
        return buf.decode()

    def stop(self):
        """Terminates the receiver (SIGTERM, then SIGKILL after 3 s). Safe to call twice."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=3)
            for f in (self.proc.stdin, self.proc.stdout):
                if f:
                    f.close()
            self.proc = None
        if getattr(self, "_stderr", None):
            self._stderr.close()
            self._stderr = None

    def _http(self, method, path, body=None, timeout=10.0):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.endpoint + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with _OPENER.open(req, timeout=timeout) as r:
            return json.loads(r.read())

    def control(self, **mode):
        """POST /__control with the keyword arguments as the JSON body; returns the reply."""
        return self._http("POST", "/__control", mode)

    def stats(self):
        return self._http("GET", "/__stats")

    def wait(self, requests=None, accepted=None, signal="any", timeout=10.0):
        """Blocks until the receiver has seen >= requests export requests (any outcome) and/or
        answered >= accepted of them with 2xx, for signal (traces|metrics|logs|any). Returns stats."""
        q = "signal=%s&timeout_ms=%d" % (signal, int(timeout * 1000))
        if requests is not None:
            q += "&requests=%d" % requests
        if accepted is not None:
            q += "&accepted=%d" % accepted
        r = self._http("GET", "/__wait?" + q, timeout=timeout + 5)
        if not r["ok"]:
            raise TimeoutError("receiver wait(%s) timed out; stats: %s" % (q, json.dumps(r["stats"])))
        return r["stats"]

    def _file(self, name):
        return _read_jsonl(os.path.join(self.out_dir, name + ".jsonl"))

    def requests(self):
        return self._file("requests")

    def traces(self):
        return self._file("traces")

    def metrics(self):
        return self._file("metrics")

    def logs(self):
        return self._file("logs")

    def spans(self):
        return [sp for t in self.traces() for rs in t.get("resourceSpans", [])
                for ss in rs.get("scopeSpans", []) for sp in ss.get("spans", [])]

    def data_points(self):
        """(metric, point) pairs for every data point of every metric type."""
        out = []
        for m in (m for t in self.metrics() for rm in t.get("resourceMetrics", [])
                  for sm in rm.get("scopeMetrics", []) for m in sm.get("metrics", [])):
            for kind in ("gauge", "sum", "histogram", "exponentialHistogram", "summary"):
                for p in (m.get(kind) or {}).get("dataPoints", []):
                    out.append((m, p))
        return out

    def unknown_fields(self):
        return [u for r in self.requests() for u in r.get("unknown_fields", [])]


def attrs(kvs):
    """OTLP attribute list -> {key: python value} (intValue strings become int)."""
    out = {}
    for kv in kvs or []:
        v = kv.get("value") or {}
        if "intValue" in v:
            out[kv["key"]] = int(v["intValue"])
        elif v:
            out[kv["key"]] = next(iter(v.values()))
        else:
            out[kv["key"]] = None
    return out
