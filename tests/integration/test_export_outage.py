#!/usr/bin/env python3
"""test_export_outage.py - owns: the exporter riding out a 30-second collector outage under steady
load (the receiver stops listening: connection refused). Two drivers run at once against two
receivers: one whose span queue holds the whole outage (everything must arrive after recovery,
exactly once), one whose queue is smaller than the load (the overflow must be counted exactly:
produced = delivered + dropped as queue_full, and every span that got into the queue arrives).

Usage: python3 test_export_outage.py --binary B --source-dir S --work-dir W --driver D
"""
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_support as es  # noqa: E402
from lib.harness import Runner  # noqa: E402

ARGS = es.parse_args()
import client as otlp  # noqa: E402

RATE = 40            # spans per second
DURATION_MS = 34000  # production time; the outage starts after the first accepted batch
OUTAGE_MS = 30000


def sets(rx, queue):
    return ["exporter.otlp.endpoint=" + rx.endpoint, "exporter.metrics=none",
            "exporter.batch.max_queue_size=%d" % queue, "exporter.batch.max_export_batch_size=50",
            "exporter.batch.schedule_delay=200ms",
            # A payload may keep retrying for longer than the outage.
            "exporter.batch.export_timeout=60s", "exporter.otlp.timeout=5s"]


def check_run(name, rx, d, expect_drops):
    res = d.finish()
    t = res["traces"]
    es.check(not res["timed_out"], name + ": finished in time", res)
    es.check(res["produced"] == t["exported"] + res["queue_full"], name + ": exact accounting", res)
    es.check(t["failed"] == 0 and t["rejected"] == 0, name + ": nothing lost after the queue", res)
    es.check(t["retries"] > 0, name + ": retried through the outage", res)
    if expect_drops:
        es.check(res["queue_full"] > 0, name + ": the queue overflowed", res)
        es.check(t["dropped"]["queue_full"] == res["queue_full"], name + ": overflow counted", res)
    else:
        es.check(res["queue_full"] == 0, name + ": the queue held the outage", res)
    seqs = [otlp.attrs(s["attributes"])["test.seq"] for s in rx.spans()]
    es.check(len(seqs) == len(set(seqs)), name + ": no duplicates", len(seqs), len(set(seqs)))
    es.check(len(seqs) == t["exported"], name + ": receiver saw every delivered span",
             len(seqs), t["exported"])
    refused = [r for r in rx.requests() if r["status"] != 200]
    es.check(refused == [], name + ": nothing accepted twice or half", refused[:3])
    return res


def test_d_outage_with_steady_load():
    with otlp.Receiver(os.path.join(ARGS.work_dir, "big")) as big, \
            otlp.Receiver(os.path.join(ARGS.work_dir, "small")) as small:
        runs = {
            "big": (big, es.DriverRun(ARGS.driver, sets(big, 2048), rate=RATE,
                                      duration_ms=DURATION_MS, deadline_ms=75000,
                                      flush_ms=10000, name="outage-big")),
            "small": (small, es.DriverRun(ARGS.driver, sets(small, 400), rate=RATE,
                                          duration_ms=DURATION_MS, deadline_ms=75000,
                                          flush_ms=10000, name="outage-small")),
        }
        for rx, d in runs.values():
            d.start()

        def outage(rx):
            rx.wait(accepted=1, signal="traces", timeout=10)
            rx.control(mode="down", how="refuse", for_ms=OUTAGE_MS)

        threads = [threading.Thread(target=outage, args=(rx,)) for rx, _ in runs.values()]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=20)
        big_res = check_run("big queue", big, runs["big"][1], expect_drops=False)
        small_res = check_run("small queue", small, runs["small"][1], expect_drops=True)
        # ~30 s of load at 40/s cannot fit 400 slots: most of the outage's spans were refused.
        es.check(small_res["queue_full"] > RATE * OUTAGE_MS / 1000 - 400 - 200,
                 "overflow size plausible", small_res)
        es.check(big_res["traces"]["exported"] == big_res["produced"], "big: all delivered",
                 big_res)


def main():
    otlp.install()
    r = Runner()
    r.run(test_d_outage_with_steady_load)
    r.finish()


if __name__ == "__main__":
    main()
