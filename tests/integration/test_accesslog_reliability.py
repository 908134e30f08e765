"""Reliability of the access-log observer end to end (the real binary, exporting to the receiver
that decodes with the official OTLP code). A writer process (accesslog_writer.py) appends
numbered lines at a steady rate; every assertion is on the SET of line numbers the collector
received:

- rename rotation every second under a steady write rate: every line exactly once;
- copy-and-truncate every second (writing paused during copy + truncate): every line exactly once;
- SIGKILL in the middle of a large file, then a restart: nothing lost (duplicates allowed and
  reported);
- SIGTERM in the middle, then a restart: nothing lost and nothing repeated;
- the collector refusing connections for 10 s while lines keep arriving: nothing lost, nothing
  repeated, reading paused meanwhile;
- a 1 MiB line, invalid UTF-8, binary garbage, an empty file and a file truncated while being
  read: counted or handled, the lines around them delivered, no crash.
Bounded: the whole file runs in well under three minutes on two cores."""
import json
import os
import random
import signal
import sys
import time

from lib.harness import Proc, Runner, check, check_fds_stable, parse_args, time_scale

args = parse_args()
sys.path.insert(0, os.path.join(args.source_dir, "tests", "otlp_receiver"))
import client as otlp  # noqa: E402
from accesslog_support import counter_total, last_points, sidecar  # noqa: E402
from accesslog_writer import line  # noqa: E402

runner = Runner()
otlp.install()
WRITER = os.path.join(args.source_dir, "tests", "integration", "accesslog_writer.py")


def numbers(rx):
    """Line numbers of every exported access-log span (with repeats)."""
    out = []
    for sp in rx.spans():
        for kv in sp.get("attributes", []):
            if kv["key"] == "gateway.upstream.request_id":
                v = kv["value"].get("stringValue", "")
                if v.startswith("n-"):
                    out.append(int(v[2:]))
    return out


def accepted_spans(rx):
    return rx.stats()["accepted"]["spans"]


def wait_numbers(rx, want, timeout):
    """Long-polls until every number in `want` was received; returns numbers(rx)."""
    end = time.monotonic() + timeout * time_scale()
    while True:
        if accepted_spans(rx) >= len(want):
            got = numbers(rx)
            if want <= set(got):
                return got
        left = end - time.monotonic()
        if left <= 0:
            got = numbers(rx)
            missing = sorted(want - set(got))
            raise AssertionError(f"{len(missing)} lines never arrived, first {missing[:10]}")
        seen = rx.stats()["by_signal"]["traces"]["requests"]
        try:
            rx.wait(requests=seen + 1, signal="traces", timeout=min(left, 3.0))
        except TimeoutError:
            pass


def config(path, **extra):
    al = {"path": path, "start_position": "beginning",
          "checkpoint_path": path + ".checkpoint", "rotate_wait": "1s",
          "checkpoint_interval": "200ms"}
    al.update(extra)
    return al


def start(name, rx, al, exporter=None, log_level="info"):
    return sidecar(runner, args.binary, args.work_dir, name, al, endpoint=rx.endpoint,
                   exporter=exporter, log_level=log_level)


def writer(path, count, rate, rotate="none", first=1):
    return runner.track(Proc([sys.executable, WRITER, "--path", path, "--count", str(count),
                              "--rate", str(rate), "--rotate", rotate, "--first", str(first)]))


def wait_writer(w, timeout=60):
    out = json.loads(w.wait_line("stdout", lambda l: l.startswith("{"), timeout=timeout))
    check(w.wait_exit(5) == 0)
    return out


def stop(sc):
    sc.p.send_signal(signal.SIGTERM)
    check(sc.wait_exit(30) == 0, "sidecar did not exit cleanly")


def exactly_once(got, n):
    dups = len(got) - len(set(got))
    check(set(got) == set(range(1, n + 1)), "wrong set")
    check(dups == 0, f"{dups} lines exported twice")


def rotation_run(name, mode):
    n = 1200
    path = os.path.join(args.work_dir, name, "access.log")
    os.makedirs(os.path.dirname(path))
    open(path, "w").close()
    with otlp.Receiver(os.path.join(args.work_dir, name + "-rx")) as rx:
        sc = start(name, rx, config(path))
        sc.wait_log("tail: following file")
        fds_start = sc.open_fds()
        w = writer(path, n, 200, mode)
        res = wait_writer(w)
        check(res["rotations"] >= 4, res)
        got = wait_numbers(rx, set(range(1, n + 1)), 30)
        # Every rotated file is drained and closed; the exporter pools at most two connections
        # per signal.
        before, after = check_fds_stable(sc, fds_start, spare_sockets=4)
        stop(sc)
        exactly_once(numbers(rx), n)
        check(len(got) >= n)
        logs = sc.json_logs()
        if mode == "rename":
            check(counter_total(rx, "sidecar.accesslog.rotations") >= 4)
        else:
            check(counter_total(rx, "sidecar.accesslog.truncations") >= 4)
            check(sum(1 for l in logs if l["msg"].startswith("tail: file truncated; reading its "
                                                            "rest from the copy")) >= 1)
        print(f"  {mode}: {n} lines, {res['rotations']} rotations, exactly once; "
              f"fds {before} -> {after}", flush=True)


def rename_rotation_every_second():
    rotation_run("rename", "rename")


def copytruncate_every_second():
    rotation_run("copytruncate", "copytruncate")


def prewrite(path, n):
    with open(path, "wb") as f:
        for i in range(1, n + 1):
            f.write(line(i))


def restart_run(name, n, sig, stop_after):
    path = os.path.join(args.work_dir, name, "access.log")
    os.makedirs(os.path.dirname(path))
    prewrite(path, n)
    with otlp.Receiver(os.path.join(args.work_dir, name + "-rx")) as rx:
        # A slow collector (each export answered after 100 ms), so the stop lands mid-file.
        rx.control(mode="delay", ms=100)
        sc = start(name, rx, config(path))
        end = time.monotonic() + 30 * time_scale()
        while accepted_spans(rx) < stop_after and time.monotonic() < end:
            try:
                rx.wait(requests=rx.stats()["by_signal"]["traces"]["requests"] + 1,
                        signal="traces", timeout=3)
            except TimeoutError:
                pass
        before = len(numbers(rx))
        check(0 < before < n, f"stopped at {before} of {n}: not in the middle")
        if sig == signal.SIGKILL:
            sc.kill()
        else:
            stop(sc)
        at_stop = len(numbers(rx))
        rx.control(mode="normal")
        sc2 = start(name + "-2", rx, config(path))
        got = wait_numbers(rx, set(range(1, n + 1)), 60)
        stop(sc2)
        got = numbers(rx)
        dups = len(got) - len(set(got))
        check(set(got) == set(range(1, n + 1)))
        print(f"  {name}: stopped after {at_stop} of {n} lines; after the restart every line "
              f"arrived, {dups} duplicates", flush=True)
        return dups


def sigkill_in_a_large_file_loses_nothing():
    restart_run("sigkill", 40000, signal.SIGKILL, 12000)


def sigterm_then_restart_is_exactly_once():
    dups = restart_run("sigterm", 20000, signal.SIGTERM, 6000)
    check(dups == 0, f"{dups} lines repeated after a clean stop")


def collector_outage_loses_nothing():
    n = 1500
    path = os.path.join(args.work_dir, "outage", "access.log")
    os.makedirs(os.path.dirname(path))
    open(path, "w").close()
    with otlp.Receiver(os.path.join(args.work_dir, "outage-rx")) as rx:
        # A small queue so the outage really fills it and reading pauses.
        sc = start("outage", rx, config(path),
                   exporter={"batch": {"schedule_delay": "200ms", "max_queue_size": 256,
                                       "max_export_batch_size": 64, "export_timeout": "60s"}},
                   log_level="debug")
        sc.wait_log("tail: following file")
        w = writer(path, n, 100)
        wait_numbers(rx, set(range(1, 50)), 15)
        rx.control(mode="down", how="refuse", for_ms=10000)
        wait_writer(w, 30)
        got = wait_numbers(rx, set(range(1, n + 1)), 45)
        stop(sc)
        exactly_once(numbers(rx), n)
        check(len(got) >= n)
        msgs = [l["msg"] for l in sc.json_logs()]
        check("access log: paused (span queue)" in msgs, "reading never paused")
        last = max(i for i, m in enumerate(msgs) if m == "access log: paused (span queue)")
        check("access log: resumed" in msgs[last:], "reading never resumed")
        paused = [p.get("asDouble") for m, p in rx.data_points()
                  if m["name"] == "sidecar.accesslog.paused"]
        check(paused and paused[-1] == 0, paused)
        lag = [p.get("asDouble") for m, p in rx.data_points() if m["name"] == "sidecar.accesslog.lag"]
        print(f"  outage: reading paused, lag peaked at {max(lag):.0f} bytes; {n} lines exactly "
              "once", flush=True)


def odd_inputs_are_counted_not_fatal():
    path = os.path.join(args.work_dir, "odd", "access.log")
    os.makedirs(os.path.dirname(path))
    open(path, "w").close()  # an empty file to start with
    with otlp.Receiver(os.path.join(args.work_dir, "odd-rx")) as rx:
        sc = start("odd", rx, config(path))
        sc.wait_log("tail: following file")
        rnd = random.Random(7)
        with open(path, "ab") as f:
            f.write(line(1))
            f.write(b'{"pad":"' + b"x" * (1 << 20) + b'"}\n')  # 1 MiB: too long
            f.write(line(2))
            f.write(line(3).replace(b'"llm_input_tokens"', b'"llm_model":"gpt-\xff\xfe\xc3(",'
                                                             b'"llm_input_tokens"'))
            f.write(rnd.randbytes(64 * 1024))  # binary garbage
            f.write(b"\n")
            f.write(line(4))
        wait_numbers(rx, {1, 2, 3, 4}, 15)
        # A file truncated while it is being read: a burst, cut at once.
        with open(path, "ab") as f:
            for i in range(1000, 21000):
                f.write(line(i))
        os.truncate(path, 0)
        with open(path, "ab") as f:
            f.write(line(5))
        wait_numbers(rx, {5}, 15)
        check(sc.p.poll() is None, "the sidecar died")
        stop(sc)
        check(counter_total(rx, "sidecar.accesslog.lines.too_long") >= 1)
        check(counter_total(rx, "sidecar.accesslog.lines.malformed") >= 1)
        check(counter_total(rx, "sidecar.accesslog.truncations") >= 1)
        check(rx.unknown_fields() == [], rx.unknown_fields())
        span3 = [sp for sp in rx.spans() if any(
            kv["key"] == "gateway.upstream.request_id" and kv["value"].get("stringValue") == "n-3"
            for kv in sp.get("attributes", []))]
        check(len(span3) == 1)
        check(not any(kv["key"] == "gen_ai.response.model" for kv in span3[0]["attributes"]),
              "invalid UTF-8 reached a span")
        reasons = {a.get("error.type") for a, _ in last_points(rx, "sidecar.accesslog.lines.malformed")}
        print(f"  odd inputs: malformed reasons {sorted(r for r in reasons if r)}", flush=True)


for t in (rename_rotation_every_second, copytruncate_every_second,
          sigkill_in_a_large_file_loses_nothing, sigterm_then_restart_is_exactly_once,
          collector_outage_loses_nothing, odd_inputs_are_counted_not_fatal):
    runner.run(t)
runner.finish()
