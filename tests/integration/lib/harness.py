"""Shared pieces for integration tests: argument parsing, a tiny test runner that ends with the
"N passed, N failed" line, processes that are always killed, and bounded waits (no sleeps used
for synchronisation: we block on the process's own output or on a socket, with a deadline)."""
import argparse
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
import urllib.request

SOURCE_DIR = None


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--source-dir", required=True)
    p.add_argument("--work-dir", required=True)
    a = p.parse_args()
    global SOURCE_DIR
    SOURCE_DIR = a.source_dir
    shutil.rmtree(a.work_dir, ignore_errors=True)
    os.makedirs(a.work_dir, exist_ok=True)
    return a


class Runner:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.cleanups = []
        self.procs = []

    def run(self, fn, *args):
        name = fn.__name__
        try:
            fn(*args)
            self.passed += 1
            print(f"ok   {name}", flush=True)
        except Exception:
            self.failed += 1
            print(f"FAIL {name}\n{traceback.format_exc()}", flush=True)
            for p in self.procs:  # the evidence: what each process of this test said last
                tail = (p.raw["stderr"][-3000:]).decode("utf-8", "replace")
                print(f"--- stderr tail of {' '.join(p.argv[:2])}:\n{tail}", flush=True)
        finally:
            self.procs = []
            while self.cleanups:
                try:
                    self.cleanups.pop()()
                except Exception:
                    pass

    def track(self, proc):
        """Kills proc when the current test ends, and shows its stderr if the test fails."""
        self.cleanups.append(proc.kill)
        self.procs.append(proc)
        return proc

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        sys.exit(0 if self.failed == 0 else 1)


class Proc:
    """A child process whose stdout/stderr lines can be awaited with a deadline."""

    def __init__(self, argv, env=None, cwd=None):
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        self.argv = argv
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=full_env, cwd=cwd)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.p.stdout, selectors.EVENT_READ, "stdout")
        self.sel.register(self.p.stderr, selectors.EVENT_READ, "stderr")
        self.partial = {"stdout": b"", "stderr": b""}
        self.lines = {"stdout": [], "stderr": []}
        self.raw = {"stdout": b"", "stderr": b""}
        self.open_streams = 2

    def _pump(self, timeout):
        if self.open_streams == 0:
            return False
        events = self.sel.select(timeout)
        for key, _ in events:
            data = os.read(key.fileobj.fileno(), 65536)
            name = key.data
            if not data:
                self.sel.unregister(key.fileobj)
                self.open_streams -= 1
                if self.partial[name]:
                    self.lines[name].append(self.partial[name].decode("utf-8", "replace"))
                    self.partial[name] = b""
                continue
            self.raw[name] += data
            buf = self.partial[name] + data
            *complete, self.partial[name] = buf.split(b"\n")
            self.lines[name].extend(c.decode("utf-8", "replace") for c in complete)
        return True

    def wait_line(self, stream, predicate, timeout=10.0, start=0):
        """Returns the first line (index >= start) of `stream` satisfying predicate."""
        deadline = time.monotonic() + timeout
        idx = start
        while True:
            lines = self.lines[stream]
            while idx < len(lines):
                if predicate(lines[idx]):
                    return lines[idx]
                idx += 1
            left = deadline - time.monotonic()
            if left <= 0 or not self._pump(left):
                if idx < len(self.lines[stream]):
                    continue
                raise AssertionError(f"timed out waiting for a {stream} line from {self.argv[0]}; "
                                     f"last lines: {self.lines[stream][-5:]}")

    def wait_log(self, msg, timeout=10.0, start=0, **fields):
        def match(line):
            try:
                obj = json.loads(line)
            except ValueError:
                return False
            return obj.get("msg") == msg and all(obj.get(k) == v for k, v in fields.items())
        return json.loads(self.wait_line("stderr", match, timeout, start))

    def wait_exit(self, timeout=15.0):
        deadline = time.monotonic() + timeout
        while self.open_streams and time.monotonic() < deadline:
            self._pump(max(0.0, deadline - time.monotonic()))
        return self.p.wait(timeout=max(0.1, deadline - time.monotonic()))

    def json_logs(self):
        out = []
        for line in self.lines["stderr"]:
            if line.strip():
                out.append(json.loads(line))  # every stderr line must be JSON
        return out

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(timeout=10)


def http_get(url, timeout=5.0):
    """Returns (status, body) without raising on HTTP errors."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_mock_upstream(runner, work_dir, keys=("sk-test-integration-0123456789abcdef",), extra=()):
    """Starts tests/mock_upstream/server.py; returns (proc, base_url_with_v1)."""
    argv = [sys.executable, os.path.join(SOURCE_DIR, "tests", "mock_upstream", "server.py"),
            "--host", "127.0.0.1", "--port", "0"]
    for k in keys:
        argv += ["--api-key", k]
    argv += list(extra)
    proc = Proc(argv)
    runner.track(proc)
    line = proc.wait_line("stdout", lambda l: "listening" in l, timeout=15)
    addr = json.loads(line)["listening"]
    return proc, f"http://{addr}/v1"


def mock_control(base_url, path, payload=None, method=None):
    root = base_url.rsplit("/v1", 1)[0]
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(root + path, data=data, method=method or ("POST" if data else "GET"),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        body = r.read()
        return json.loads(body) if body else None


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)
    return path


def check(cond, msg=""):
    if not cond:
        raise AssertionError(msg)
