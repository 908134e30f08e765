"""export_support.py - owns: what the test_export_*.py integration tests share: their arguments
(the harness's three plus --driver, the export_driver program), running that driver, and
reading its JSON stats and JSON-lines logs. Stdlib only."""
import argparse
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--source-dir", required=True)
    p.add_argument("--work-dir", required=True)
    p.add_argument("--driver", required=True, help="path of the export_driver test program")
    a = p.parse_args()
    shutil.rmtree(a.work_dir, ignore_errors=True)
    os.makedirs(a.work_dir, exist_ok=True)
    sys.path.insert(0, os.path.join(a.source_dir, "tests", "otlp_receiver"))
    sys.path.insert(0, os.path.join(a.source_dir, "tests", "integration"))
    global command, time_scale
    from lib.harness import command, time_scale
    return a


class DriverRun:
    """One export_driver process: start() then finish(), or run() for both."""

    def __init__(self, driver, sets, spans=None, rate=0, duration_ms=None, name="integ-op",
                 deadline_ms=30000, flush_ms=10000, log_level="warn"):
        self.argv = [driver, "--name", name, "--rate", str(rate), "--deadline-ms",
                     str(deadline_ms), "--flush-ms", str(flush_ms), "--log-level", log_level]
        if spans is not None:
            self.argv += ["--spans", str(spans)]
        if duration_ms is not None:
            self.argv += ["--duration-ms", str(duration_ms)]
        for s in sets:
            self.argv += ["--set", s]
        self.timeout = ((deadline_ms + flush_ms) / 1000.0 + 20) * time_scale()
        self.proc = None
        self.result = None
        self.logs = []

    def start(self):
        self.proc = subprocess.Popen(command(self.argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        return self

    def finish(self):
        try:
            out, err = self.proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            raise AssertionError("export_driver did not finish in %.0f s; stderr tail: %s"
                                 % (self.timeout, err[-2000:]))
        if self.proc.returncode != 0:
            raise AssertionError("export_driver exited %d; stderr: %s"
                                 % (self.proc.returncode, err[-4000:]))
        self.logs = [json.loads(line) for line in err.splitlines() if line.strip()]
        lines = [line for line in out.splitlines() if line.strip()]
        self.result = json.loads(lines[-1])
        return self.result

    def run(self):
        self.start()
        return self.finish()

    def log_lines(self, msg):
        return [entry for entry in self.logs if entry.get("msg") == msg]


def check(cond, what, *context):
    if not cond:
        raise AssertionError(what + "".join("\n  " + str(c) for c in context))
