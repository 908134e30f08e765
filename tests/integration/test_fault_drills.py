"""Fault drills against the collector (issue 7), the real binary end to end, exporting to the
receiver that decodes with the official OTLP code; every assertion is exact:

- the collector refuses connections for 60 s while 2,000 access-log lines/s arrive and a canary
  runs every second: every line arrives exactly once (the file is the buffer: reading pauses),
  every counter increment arrives (final cumulative values = lines written, runs made), and the
  canary spans that found the queue full are exactly the sidecar's own
  sidecar.telemetry.dropped{error.type=queue_full}; nothing else is dropped;
- the collector answers 503 with Retry-After: 5 for 20 s, then 200: every retry waited the 5 s
  (the sidecar's own retry_in_ms, and the number of 503s the receiver saw), nothing lost or
  repeated.
The other drills (upstream hang, SIGKILL, full or read-only disk, key rotation) are in
test_fault_drills_local.py. Bounded: about 2.5 minutes on two cores (ctest TIMEOUT 600)."""
import os
import sys
import threading
import time

from lib.harness import Runner, check, parse_args, start_mock_upstream

args = parse_args()
sys.path.insert(0, os.path.join(args.source_dir, "tests", "otlp_receiver"))
import client as otlp  # noqa: E402
import drill_support as ds  # noqa: E402

runner = Runner()
otlp.install()


def log_path(name):
    path = os.path.join(args.work_dir, name, "access.log")
    os.makedirs(os.path.dirname(path))
    open(path, "w").close()
    return path


def check_canary_accounting(rx, seen, what):
    """Canary spans produced (one per run, one per attempt: the final counters) = received +
    dropped as queue_full (the sidecar's own counter); nothing else dropped."""
    runs = ds.totals(rx, "gateway.canary.runs")
    attempts = ds.totals(rx, "gateway.requests", **{"gateway.source": "canary"})
    qfull = ds.totals(rx, "sidecar.telemetry.dropped", **{"error.type": "queue_full"})
    other = ds.totals(rx, "sidecar.telemetry.dropped") - qfull
    ids = [sp["spanId"] for sp in seen.canary]
    check(len(ids) == len(set(ids)), f"{what}: a canary span arrived twice")
    check(runs > 0 and attempts >= runs, f"{what}: runs {runs}, attempts {attempts}")
    check(len(ids) + qfull == runs + attempts,
          f"{what}: canary spans received {len(ids)} + queue_full {qfull} != produced "
          f"{runs + attempts}")
    check(other == 0, f"{what}: {other} items dropped for another reason")
    return runs, attempts, qfull, len(ids)


def collector_down_60s_at_2000_lines_per_second():
    rate, before_s, outage_s, after_s = 2000, 5, 60, 5
    n = rate * (before_s + outage_s + after_s)
    path = log_path("outage")
    _m, base = start_mock_upstream(runner, args.work_dir, keys=(ds.KEY,))
    with otlp.Receiver(os.path.join(args.work_dir, "outage-rx")) as rx:
        sc, _ = ds.sidecar(runner, args.binary, args.work_dir, "outage", rx.endpoint, base,
                           access_log=ds.access_log_config(path),
                           probes=[ds.probe("canary")])
        sc.wait_log("tail: following file", timeout=15)
        w = ds.writer(runner, path, n, rate)
        rx.wait(accepted=1, signal="traces", timeout=15)
        t_down = time.monotonic()
        rx.control(mode="down", how="refuse", for_ms=outage_s * 1000)
        res = ds.wait_writer(w, before_s + outage_s + after_s + 60)
        check(res["written"] == n)
        seen = ds.wait_lines(rx, n, 120)
        caught_up = time.monotonic() - t_down
        ds.stop(sc)
        seen = ds.Seen(rx)  # again: the final flush may have added canary spans
        check(set(seen.lines) == set(range(1, n + 1)), "wrong set of lines")
        check(seen.duplicates() == 0, f"{seen.duplicates()} lines exported twice")
        check(ds.totals(rx, "gateway.requests", **{"gateway.source": "access_log"}) == n,
              "gateway.requests{access_log} != lines written")
        check(ds.totals(rx, "sidecar.accesslog.lines.read") == n, "lines.read != lines written")
        runs, attempts, qfull, got = check_canary_accounting(rx, seen, "outage")
        evidence = open(os.path.join(args.work_dir, "outage.evidence.jsonl")).read().splitlines()
        check(len(evidence) == runs, f"{len(evidence)} evidence lines for {runs} runs")
        paused = [p.get("asDouble") for m, p in rx.data_points()
                  if m["name"] == "sidecar.accesslog.paused"]
        check(1 in paused and paused[-1] == 0, f"reading never paused / did not resume: {paused}")
        check(rx.unknown_fields() == [], rx.unknown_fields()[:3])
        print(f"  outage: {n} lines exactly once (caught up {caught_up:.0f} s after the outage "
              f"began); {runs} canary runs, {got} canary spans delivered + {qfull} queue_full = "
              f"{runs + attempts} produced", flush=True)


def collector_503_retry_after_for_20s():
    rate, total_s, window_s, ra = 200, 30, 20, 5
    n = rate * total_s
    path = log_path("throttle")
    _m, base = start_mock_upstream(runner, args.work_dir, keys=(ds.KEY,))
    with otlp.Receiver(os.path.join(args.work_dir, "throttle-rx")) as rx:
        sc, _ = ds.sidecar(runner, args.binary, args.work_dir, "throttle", rx.endpoint, base,
                           access_log=ds.access_log_config(path), probes=[ds.probe("canary")],
                           log_level="debug")
        sc.wait_log("tail: following file", timeout=15)
        w = ds.writer(runner, path, n, rate)
        rx.wait(accepted=1, signal="traces", timeout=15)
        first_seq = rx.stats()["requests"]
        rx.control(mode="status", status=503, retry_after=str(ra), for_ms=window_s * 1000)
        ds.wait_writer(w, total_s + 30)
        ds.wait_lines(rx, n, 90)
        ds.stop(sc)
        seen = ds.Seen(rx)
        check(set(seen.lines) == set(range(1, n + 1)) and seen.duplicates() == 0,
              f"lines: {len(set(seen.lines))} distinct of {n}, {seen.duplicates()} repeated")
        runs, attempts, qfull, got = check_canary_accounting(rx, seen, "503")
        check(qfull == 0, f"{qfull} canary spans dropped: the default queue holds 20 s of this")
        check(ds.totals(rx, "gateway.requests", **{"gateway.source": "access_log"}) == n)
        reqs = [r for r in rx.requests() if r["seq"] > first_seq]
        thr = [r for r in reqs if r["status"] == 503]
        check(all(r["retry_after"] == str(ra) for r in thr), "503 without Retry-After")
        # At most two exports per signal are in flight, each retried no sooner than Retry-After:
        # per signal at most 2 * (window / ra + 1) answers of 503 (+1 for one crossing the edge).
        limit = 2 * (window_s // ra + 1) + 1
        for sig in ("traces", "metrics"):
            k = sum(1 for r in thr if r["signal"] == sig)
            check(1 <= k <= limit, f"{sig}: {k} requests answered 503 in {window_s} s (limit "
                  f"{limit}): Retry-After not honoured")
        waits = [l for l in sc.json_logs()
                 if l.get("msg") == "otlp export throttled; retrying after Retry-After"]
        check(waits and all(l["retry_in_ms"] == ra * 1000 for l in waits),
              f"retry waits {[l.get('retry_in_ms') for l in waits][:10]}")
        plain = [l for l in sc.json_logs() if l.get("msg") == "otlp export failed; retrying"]
        check(plain == [], f"retries not driven by Retry-After: {plain[:2]}")
        print(f"  503: {len(thr)} answers of 503 over {window_s} s, every retry waited {ra} s; "
              f"{n} lines exactly once; {got} canary spans, none lost", flush=True)


def no_key_in_any_output():
    n = ds.check_no_key_anywhere(args.work_dir)
    print(f"  no key in the output of {len(ds.STARTED)} sidecars or in {n} files", flush=True)


for t in (collector_down_60s_at_2000_lines_per_second, collector_503_retry_after_for_20s,
          no_key_in_any_output):
    runner.run(t)
runner.finish()
