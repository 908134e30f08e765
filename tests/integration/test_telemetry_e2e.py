"""The daemon's telemetry end to end: its upstream checks become spans and metrics, exported over
OTLP/HTTP (protobuf, protobuf+gzip, JSON) to a receiver that decodes with the OFFICIAL generated
code, and every exported name and value is checked against dashboards/telemetry-schema.md. Also:
resource attributes from OTEL_* and the Kubernetes downward-API variables, the traceparent the
upstream saw joining the exported span, the file exporter, and the flush on SIGTERM."""
import json
import os
import signal
import sys

from lib.harness import Proc, Runner, check, free_port, mock_control, parse_args, start_mock_upstream, write_json

args = parse_args()
sys.path.insert(0, os.path.join(args.source_dir, "tests", "otlp_receiver"))
import client as otlp  # noqa: E402
from schema_check import check_export_against_schema  # noqa: E402

runner = Runner()
KEY = "sk-test-telemetry-e2e-0123456789abcdef"
DOC = os.path.join(args.source_dir, "dashboards", "telemetry-schema.md")
otlp.install()


def sidecar(name, base_url, env, exporter=None):
    cfg = {"health": {"endpoint": f"127.0.0.1:{free_port()}"}, "shutdown": {"deadline": "5s"},
           "cometapi": {"base_url": base_url, "timeout": "3s"},
           "exporter": {"batch": {"schedule_delay": "200ms"}, "metrics_interval": "500ms"}}
    if exporter:
        cfg["exporter"].update(exporter)
    conf = write_json(os.path.join(args.work_dir, f"{name}.json"), cfg)
    full = {"COMETAPI_API_KEY": KEY, "OTEL_SERVICE_NAME": "checkout-llm-gateway",
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=staging,team=payments%20sre",
            "K8S_POD_NAME": "checkout-7d9f", "K8S_NAMESPACE_NAME": "shop",
            "K8S_NODE_NAME": "node-a", "K8S_CONTAINER_NAME": "comet-sidecar"}
    full.update(env)
    return runner.track(Proc([args.binary, "--config", conf], env=full))


def resource_attrs(request):
    rs = (request.get("resourceSpans") or request.get("resourceMetrics"))[0]
    return otlp.attrs(rs["resource"]["attributes"])


def export_round(name, protocol, compression):
    _, base = start_mock_upstream(runner, args.work_dir, keys=(KEY,))
    out = os.path.join(args.work_dir, name)
    with otlp.Receiver(out) as rx:
        sc = sidecar(name, base, {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{rx.port}",
                                  "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
                                  "OTEL_EXPORTER_OTLP_COMPRESSION": compression})
        sc.wait_log("upstream check finished")
        rx.wait(accepted=1, signal="traces", timeout=15)
        rx.wait(accepted=1, signal="metrics", timeout=15)
        sc.p.send_signal(signal.SIGTERM)
        check(sc.wait_exit(15) == 0)
        drained = sc.wait_log("drained")
        check(drained["all_delivered"] is True, drained)
        reqs = rx.requests()
        check(reqs and all(r.get("status") == 200 for r in reqs), [r.get("status") for r in reqs])
        check(rx.unknown_fields() == [], rx.unknown_fields())
        want_ct = "application/json" if protocol == "http/json" else "application/x-protobuf"
        check(all(r.get("content_type", "").startswith(want_ct) for r in reqs), reqs[0])
        if compression == "gzip":
            check(all(r.get("content_encoding") == "gzip" for r in reqs), reqs[0])
        check(all(r.get("user_agent", "").startswith("comet-sidecar/") for r in reqs), reqs[0])
        summary = check_export_against_schema(rx.traces(), rx.metrics(), DOC)
        res = resource_attrs(rx.traces()[0])
        check(res["service.name"] == "checkout-llm-gateway", res)
        check(res["team"] == "payments sre" and res["deployment.environment.name"] == "staging", res)
        check(res["k8s.pod.name"] == "checkout-7d9f" and res["k8s.namespace.name"] == "shop", res)
        check(res["k8s.node.name"] == "node-a" and res["k8s.container.name"] == "comet-sidecar", res)
        check(res.get("service.version") and res.get("service.instance.id"), res)
        spans = rx.spans()
        check(any(s["name"] == "GET /v1/models" for s in spans), [s["name"] for s in spans])
        span = next(s for s in spans if s["name"] == "GET /v1/models")
        sa = otlp.attrs(span["attributes"])
        check(span["kind"] == 3 and sa["url.template"] == "/v1/models", (span["kind"], sa))
        check(sa["gateway.source"] == "canary" and sa["http.response.status_code"] == 200, sa)
        check(sa["gateway.upstream.request_id"].startswith("req_"), sa)
        seen = mock_control(base, "/__mock/requests")
        models = [r for r in seen if r["path"] == "/v1/models"]
        check(models and models[0]["headers"].get("traceparent", "").split("-")[1] == span["traceId"],
              (models[:1], span["traceId"]))
        check(models[0]["headers"].get("x-request-id"), models[0])
        names = {m["name"] for m, _ in rx.data_points()}
        for must in ("gateway.requests", "http.client.request.duration", "otel.sdk.exporter.span.exported"):
            check(must in names, (must, sorted(names)))
        check(summary, summary)
        for stream in ("stdout", "stderr"):
            check(KEY.encode() not in sc.raw[stream], "key leaked")


def protobuf_export():
    export_round("proto", "http/protobuf", "none")


def protobuf_gzip_export():
    export_round("gzip", "http/protobuf", "gzip")


def json_export():
    export_round("json", "http/json", "none")


def file_exporter_lines_decode_officially():
    _, base = start_mock_upstream(runner, args.work_dir, keys=(KEY,))
    path = os.path.join(args.work_dir, "telemetry.jsonl")
    sc = sidecar("file", base, {}, {"traces": "file", "metrics": "file", "file": {"path": path}})
    sc.wait_log("upstream check finished")
    sc.p.send_signal(signal.SIGTERM)
    check(sc.wait_exit(15) == 0)
    with open(path) as f:
        lines = [json.loads(l) for l in f if l.strip()]
    traces = [l for l in lines if "resourceSpans" in l]
    metrics = [l for l in lines if "resourceMetrics" in l]
    check(traces and metrics, (len(traces), len(metrics)))
    check_export_against_schema(traces, metrics, DOC)
    # The same lines, posted as OTLP/JSON, decode with the official code.
    with otlp.Receiver(os.path.join(args.work_dir, "file-rx")) as rx:
        import urllib.request
        for body, path_ in ((traces[0], "/v1/traces"), (metrics[0], "/v1/metrics")):
            req = urllib.request.Request(f"http://127.0.0.1:{rx.port}{path_}", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=5) as r:
                check(r.status == 200)
        check(rx.unknown_fields() == [], rx.unknown_fields())


for t in (protobuf_export, protobuf_gzip_export, json_export, file_exporter_lines_decode_officially):
    runner.run(t)
runner.finish()
