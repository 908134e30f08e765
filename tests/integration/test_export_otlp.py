#!/usr/bin/env python3
"""test_export_otlp.py - owns: end-to-end checks of the exporter against the OTLP test receiver,
which decodes with the OFFICIAL generated code (tests/otlp_receiver): encodings decode with no
unknown fields and carry what was produced (http/protobuf, +gzip, http/json); 503 + Retry-After
is waited out and nothing is duplicated; 400 is dropped, counted and never retried; partial
success is counted as rejected; the file exporter writes one OTLP/JSON request per line that the
receiver also decodes. The spans come from tests/integration/export_driver.c.

Usage: python3 test_export_otlp.py --binary B --source-dir S --work-dir W --driver D
"""
import datetime
import json
import os
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_support as es  # noqa: E402
from lib.harness import Runner  # noqa: E402
from schema_check import schema_problems  # noqa: E402

ARGS = es.parse_args()
import client as otlp  # noqa: E402  (path set up by parse_args)

SPANS = 25


def receiver(name):
    return otlp.Receiver(os.path.join(ARGS.work_dir, name))


def ts(iso):
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def common_sets(rx, *more):
    return ["exporter.otlp.endpoint=" + rx.endpoint, "exporter.batch.max_export_batch_size=10",
            "exporter.batch.schedule_delay=100ms", "service.name=export-it"] + list(more)


def metric_points(rx, name):
    """Data points of `name` in the LAST metrics request the receiver accepted."""
    last = rx.metrics()[-1]
    pts = []
    for rm in last.get("resourceMetrics", []):
        for sm in rm.get("scopeMetrics", []):
            for m in sm.get("metrics", []):
                if m["name"] == name:
                    for kind in ("sum", "gauge", "histogram"):
                        pts += (m.get(kind) or {}).get("dataPoints", [])
    return pts


def check_spans_match_driver(rx, name, n):
    spans = rx.spans()
    es.check(len(spans) == n, "span count", len(spans))
    seqs = []
    for sp in spans:
        es.check(sp["name"] == name, "span name", sp["name"])
        es.check(sp.get("kind") == 1, "span kind INTERNAL", sp.get("kind"))
        a = otlp.attrs(sp.get("attributes"))
        seqs.append(a["test.seq"])
        es.check(a["test.tag"] == "t%d" % (a["test.seq"] % 7), "test.tag", a)
        es.check(len(sp["traceId"]) == 32 and len(sp["spanId"]) == 16, "ids", sp)
        es.check(int(sp["endTimeUnixNano"]) > int(sp["startTimeUnixNano"]), "times", sp)
    es.check(sorted(seqs) == list(range(n)), "every span exactly once", sorted(seqs))


def check_metrics_match_driver(rx, n):
    reqs = metric_points(rx, "gateway.requests")
    total = sum(int(p["asInt"]) for p in reqs)
    es.check(total == n, "gateway.requests sum", total, reqs)
    fails = [p for p in reqs if otlp.attrs(p.get("attributes")).get("gateway.outcome") == "fail"]
    es.check(sum(int(p["asInt"]) for p in fails) == (n + 4) // 5, "fail outcome count", fails)
    hist = metric_points(rx, "http.client.request.duration")
    es.check(sum(int(p["count"]) for p in hist) == n, "histogram count", hist)
    exported = metric_points(rx, "otel.sdk.exporter.span.exported")
    ok = [p for p in exported if "error.type" not in otlp.attrs(p.get("attributes"))]
    es.check(sum(int(p["asInt"]) for p in ok) == n, "self-metric span.exported", exported)
    cap = metric_points(rx, "otel.sdk.processor.span.queue.capacity")
    es.check(cap and int(cap[0]["asInt"]) == 2048, "queue capacity observed", cap)
    # The exporter's own metrics follow the documented schema (the driver's gateway.* test
    # measurements do not try to, so only those are checked).
    doc = os.path.join(ARGS.source_dir, "dashboards", "telemetry-schema.md")
    own = [p for p in schema_problems([], rx.metrics(), doc)
           if "otel.sdk." in p or "sidecar.telemetry." in p]
    es.check(own == [], "self-metrics match the schema document", *own[:10])
    a = otlp.attrs(exported[0].get("attributes"))
    es.check(a.get("otel.component.name", "").endswith("_span_exporter/0")
             and a.get("server.address") == "127.0.0.1" and a.get("server.port") == rx.port,
             "exporter identity", a)


def run_protocol(label, protocol, compression):
    name = "integ-op-" + label
    with receiver(label) as rx:
        d = es.DriverRun(ARGS.driver, common_sets(
            rx, "exporter.otlp.protocol=" + protocol,
            "exporter.otlp.compression=" + compression), spans=SPANS, name=name)
        res = d.run()
        es.check(res["traces"]["exported"] == SPANS and res["all_delivered"], "driver", res)
        es.check(rx.unknown_fields() == [], "unknown fields", rx.unknown_fields())
        reqs = rx.requests()
        es.check(reqs and all(r["status"] == 200 and not r.get("error") for r in reqs),
                 "all accepted", reqs)
        want_ct = "application/json" if protocol == "http/json" else "application/x-protobuf"
        for r in reqs:
            es.check(r["content_type"] == want_ct, "content type", r)
            es.check((r.get("content_encoding") == "gzip") == (compression == "gzip"),
                     "content encoding", r)
            es.check(r["user_agent"].startswith("comet-sidecar/"), "user agent", r)
            es.check(r["path"] in ("/v1/traces", "/v1/metrics"), "path", r)
            if r["format"] == "protobuf":
                es.check(r.get("reencode_identical") is True, "canonical protobuf", r)
        es.check(sum(1 for r in reqs if r["signal"] == "traces") == 3, "batches of 10,10,5",
                 [r["items"] for r in reqs])
        check_spans_match_driver(rx, name, SPANS)
        res_attrs = otlp.attrs(rx.traces()[0]["resourceSpans"][0]["resource"]["attributes"])
        es.check(res_attrs.get("service.name") == "export-it", "resource", res_attrs)
        check_metrics_match_driver(rx, SPANS)


def test_a_protobuf():
    run_protocol("protobuf", "http/protobuf", "none")


def test_a_protobuf_gzip():
    run_protocol("gzip", "http/protobuf", "gzip")


def test_a_json():
    run_protocol("json", "http/json", "none")


def test_b_503_retry_after_then_200():
    with receiver("retry_after") as rx:
        rx.control(mode="status", status=503, retry_after="2", times=3)
        d = es.DriverRun(ARGS.driver, common_sets(rx, "exporter.metrics=none"), spans=10,
                         flush_ms=20000)
        res = d.run()
        reqs = [r for r in rx.requests() if r["signal"] == "traces"]
        es.check([r["status"] for r in reqs] == [503, 503, 503, 200], "statuses", reqs)
        es.check(all(r["retry_after"] == "2" for r in reqs[:3]), "retry-after sent", reqs)
        times = [ts(r["time"]) for r in reqs]
        gaps = [b - a for a, b in zip(times, times[1:])]
        es.check(all(g >= 1.95 for g in gaps), "Retry-After honoured", gaps)
        es.check(all(g < 4.0 for g in gaps), "and not much more", gaps)
        spans = rx.spans()
        seqs = sorted(otlp.attrs(s["attributes"])["test.seq"] for s in spans)
        es.check(seqs == list(range(10)), "delivered exactly once", seqs)
        t = res["traces"]
        es.check(t["exported"] == 10 and t["retries"] == 3 and t["requests"] == 4
                 and t["failed"] == 0 and res["all_delivered"], "driver stats", res)


def test_c_400_dropped_not_retried():
    with receiver("bad_request") as rx:
        rx.control(mode="status", status=400, times=3)
        d = es.DriverRun(ARGS.driver, common_sets(
            rx, "exporter.metrics=none", "exporter.batch.max_export_batch_size=5"), spans=15)
        res = d.run()
        reqs = rx.requests()
        es.check(len(reqs) == 3 and all(r["status"] == 400 for r in reqs),
                 "exactly one request per batch", reqs)
        t = res["traces"]
        es.check(t["dropped"]["non_retryable"] == 15 and t["exported"] == 0
                 and t["retries"] == 0 and t["failed"] == 15, "counted", res)
        refused = d.log_lines("otlp export refused; payload dropped, not retried")
        es.check(len(refused) == 1, "logged once, not per batch", refused)
        es.check(refused[0].get("error_type") == "400", "cause logged", refused)


def test_e_partial_success_counted_as_rejected():
    with receiver("partial") as rx:
        rx.control(mode="partial_success", rejected=3, message="span too old", times=1)
        d = es.DriverRun(ARGS.driver, common_sets(rx, "exporter.metrics=none"), spans=10)
        res = d.run()
        t = res["traces"]
        es.check(t["exported"] == 7 and t["rejected"] == 3 and t["requests"] == 1
                 and t["retries"] == 0 and t["failed"] == 0, "rejected counted", res)
        es.check(len(rx.requests()) == 1, "never retried", rx.requests())
        warn = d.log_lines("otlp export partially rejected by the receiver")
        es.check(len(warn) == 1 and warn[0].get("error_message") == "span too old"
                 and warn[0].get("rejected") == 3, "logged with the message", warn)


def post(url, body, content_type):
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": content_type})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=10) as r:
        return r.status


def test_f_file_exporter_lines():
    path = os.path.join(ARGS.work_dir, "export.jsonl")
    d = es.DriverRun(ARGS.driver, [
        "exporter.traces=file", "exporter.metrics=file", "exporter.file.path=" + path,
        "exporter.batch.max_export_batch_size=5"], spans=12, name="file-op")
    res = d.run()
    es.check(res["traces"]["exported"] == 12 and res["all_delivered"], "driver", res)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    es.check(text.endswith("\n") and "\n\n" not in text, "line framing", text[-200:])
    lines = text.splitlines()
    objs = [json.loads(line) for line in lines]  # every line is one JSON document
    traces = [(line, o) for line, o in zip(lines, objs) if "resourceSpans" in o]
    metrics = [(line, o) for line, o in zip(lines, objs) if "resourceMetrics" in o]
    es.check(len(traces) + len(metrics) == len(lines), "only export requests", objs)
    n = sum(len(ss.get("spans", [])) for _, o in traces for rs in o["resourceSpans"]
            for ss in rs.get("scopeSpans", []))
    es.check(n == 12 and len(traces) == 3, "spans in 5+5+2", n, len(traces))
    es.check(len(metrics) >= 1, "final metric collection written", len(metrics))
    with receiver("file_lines") as rx:
        es.check(post(rx.endpoint + "/v1/traces", traces[0][0].encode(), "application/json")
                 == 200, "trace line accepted")
        es.check(post(rx.endpoint + "/v1/metrics", metrics[-1][0].encode(), "application/json")
                 == 200, "metric line accepted")
        es.check(rx.unknown_fields() == [], "unknown fields", rx.unknown_fields())
        es.check(len(rx.spans()) == 5, "decoded officially", rx.spans())
        es.check(all(s["name"] == "file-op" for s in rx.spans()), "names", rx.spans())
        es.check(len(rx.data_points()) > 0, "metric points decoded", rx.metrics())


def main():
    otlp.install()
    r = Runner()
    for t in (test_a_protobuf, test_a_protobuf_gzip, test_a_json, test_b_503_retry_after_then_200,
              test_c_400_dropped_not_retried, test_e_partial_success_counted_as_rejected,
              test_f_file_exporter_lines):
        r.run(t)
    r.finish()


if __name__ == "__main__":
    main()
