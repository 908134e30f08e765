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

# Under SC_VALGRIND=1 (tests/run.sh's third pass) every program of ours that a test starts runs
# under memcheck, each process logging to its own file in SC_VALGRIND_LOG_DIR; tests/valgrind_check.py
# gives the verdict from those logs, so a process a test kills still counts. Waits are stretched
# by SC_TIME_SCALE (memcheck runs code 10-50 times slower); assertions are not.
OUR_PROGRAMS = {"comet-sidecar", "export_driver", "canary_driver"}
VALGRIND_EXIT = 97


def time_scale():
    try:
        return max(1.0, float(os.environ.get("SC_TIME_SCALE", "1")))
    except ValueError:
        return 1.0


def under_valgrind():
    return os.environ.get("SC_VALGRIND") == "1"


def command(argv):
    """argv, prefixed with memcheck when SC_VALGRIND=1 and argv[0] is one of our programs."""
    argv = list(argv)
    if not under_valgrind() or os.path.basename(argv[0]) not in OUR_PROGRAMS:
        return argv
    log_dir = os.environ.get("SC_VALGRIND_LOG_DIR") or os.path.join("/tmp", "sc-valgrind")
    os.makedirs(log_dir, exist_ok=True)
    return ["valgrind", "--tool=memcheck", f"--error-exitcode={VALGRIND_EXIT}", "--leak-check=full",
            "--show-leak-kinds=definite", "--errors-for-leak-kinds=definite", "--track-fds=yes",
            "--num-callers=30", f"--log-file={os.path.join(log_dir, 'vg.%p.log')}"] + argv


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
        self.cleanups.append(proc.stop)
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
        self.p = subprocess.Popen(command(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
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
        deadline = time.monotonic() + timeout * time_scale()
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
        deadline = time.monotonic() + timeout * time_scale()
        while self.open_streams and time.monotonic() < deadline:
            self._pump(max(0.0, deadline - time.monotonic()))
        code = self.p.wait(timeout=max(0.1, deadline - time.monotonic()))
        self._note_status()
        return code

    def _note_status(self):
        """Under memcheck, leaves the exit status next to the process's log: a forced exit (128+N
        after a second signal) skips cleanup by design, so its open descriptors are not leaks."""
        log_dir = os.environ.get("SC_VALGRIND_LOG_DIR")
        if under_valgrind() and log_dir and self.p.returncode is not None \
                and os.path.basename(self.argv[0]) in OUR_PROGRAMS:
            with open(os.path.join(log_dir, f"vg.{self.p.pid}.status"), "w") as f:
                f.write(f"{self.p.returncode}\n")

    def json_logs(self):
        out = []
        for line in self.lines["stderr"]:
            if line.strip():
                out.append(json.loads(line))  # every stderr line must be JSON
        return out

    def stop(self):
        """The end-of-test cleanup. Under memcheck a clean stop comes first so the leak check
        runs; SIGKILL only if it hangs."""
        if self.p.poll() is None and under_valgrind():
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(timeout=10)
        self._note_status()

    def open_fds(self):
        """The process's open descriptors (fd -> target), from /proc; valgrind's own (>= 1024
        under memcheck) are left out."""
        d = f"/proc/{self.p.pid}/fd"
        out = {}
        for name in os.listdir(d):
            if int(name) >= 1024:
                continue
            try:
                out[int(name)] = os.readlink(os.path.join(d, name))
            except OSError:
                pass  # closed between listdir and readlink
        return out


def check_fds_stable(proc, before, spare_sockets=0, settle=5.0):
    """Fails if a long-running process keeps more descriptors than it had at `before` (from
    Proc.open_fds()): files, pipes, eventfds and watches must be exactly as many; sockets may grow
    by spare_sockets (kept-alive client connections the process is allowed to pool).

    The process's threadpool opens files for a moment (the checkpoint writer fsyncs the directory,
    a rotation probe opens the rotated copy), so one sample can catch a descriptor in flight. A
    leak is there in every sample; so the process is sampled until it is within bounds or
    `settle` seconds (scaled) have passed, and the last sample is reported."""
    def split(fds):
        socks = sorted(t for t in fds.values() if t.startswith("socket:"))
        other = sorted(t for t in fds.values() if not t.startswith("socket:"))
        return socks, other
    s0, o0 = split(before)
    deadline = time.monotonic() + settle * time_scale()
    while True:
        after = proc.open_fds()
        s1, o1 = split(after)
        within = len(o1) <= len(o0) and len(s1) <= len(s0) + spare_sockets
        if within or time.monotonic() >= deadline:
            break
        time.sleep(0.05)  # polling /proc under a deadline: nothing to block on
    check(len(o1) <= len(o0), f"descriptors grew from {len(o0)} to {len(o1)}: {o0} -> {o1}")
    check(len(s1) <= len(s0) + spare_sockets,
          f"sockets grew from {len(s0)} to {len(s1)} (allowed +{spare_sockets})")
    return len(before), len(after)


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
