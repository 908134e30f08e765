#!/usr/bin/env python3
"""test_schema_check_lib.py - owns: proving schema_check.check_export_against_schema (the library
other integration tests call on real exports) accepts a conforming export and reports each kind
of violation, using hand-made decoded objects in the receiver's toObject form. No sidecar.
Usage: python3 test_schema_check_lib.py --binary B --source-dir S --work-dir W (--binary unused)
"""
import copy
import json
import os

from lib.harness import Runner, check, parse_args
from schema_check import SchemaViolation, check_export_against_schema, schema_problems

args = parse_args()
runner = Runner()
DOC = os.path.join(args.source_dir, "dashboards", "telemetry-schema.md")
HTTP_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]
TOKEN_BOUNDS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
                16777216, 67108864]


def val(v):
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, list):
        return {"arrayValue": {"values": [val(x) for x in v]}}
    return {"stringValue": v}


def kvs(d):
    return [{"key": k, "value": val(v)} for k, v in d.items()]


RESOURCE = {"attributes": kvs({"service.name": "comet-sidecar", "service.version": "0.1.0",
                               "k8s.pod.name": "shop-1", "team": "payments"})}
T = "1795375401000000000"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def span(name, kind, attrs, span_id, parent=None, events=None, trace_state=None):
    s = {"traceId": TRACE, "spanId": span_id, "name": name, "kind": kind,
         "startTimeUnixNano": T, "endTimeUnixNano": T, "attributes": kvs(attrs)}
    if parent:
        s["parentSpanId"] = parent
    if events:
        s["events"] = events
    if trace_state is not None:
        s["traceState"] = trace_state
    return s


def good_traces():
    run = span("chat gpt-4o-mini", 3, {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini", "gateway.source": "canary",
        "gateway.probe": "chat-basic", "gateway.outcome": "pass", "gateway.error_class": "none",
        "gateway.probe.expected": "none", "gateway.retry.count": 1,
        "gateway.fallback.decision": "not_needed", "gateway.usage.present": True,
        "gateway.stream": True, "gen_ai.response.time_to_first_chunk": 0.15,
        "gateway.contract.failed_checks": ["usage_consistent"],
        "gen_ai.response.id": "chatcmpl-123"},
        "00f067aa0ba902b7",
        events=[{"timeUnixNano": T, "name": "gateway.shape_drift",
                 "attributes": kvs({"gateway.shape.added": ["choices[].logprobs"]})}])
    attempt = span("POST /v1/chat/completions", 3, {
        "http.request.method": "POST", "url.template": "/v1/chat/completions",
        "http.response.status_code": 429, "error.type": "429", "gateway.source": "canary",
        "gateway.status_class": "4xx", "gateway.error_class": "rate_limited",
        "gateway.fallback.decision": "not_needed", "gateway.usage.present": False,
        "gateway.stream": True, "server.address": "api.cometapi.com", "server.port": 443,
        "url.scheme": "https", "gateway.probe": "chat-basic",
        "gateway.upstream.request_id": "req-abc"},
        "1111111111111111", parent="00f067aa0ba902b7")
    line = span("HTTP /v1/x", 2, {
        "http.request.method": "_OTHER", "http.request.method_original": "PROPFIND",
        "http.route": "/v1/x", "http.response.status_code": 200, "gateway.source": "access_log",
        "gateway.status_class": "2xx", "gateway.error_class": "none",
        "gateway.fallback.decision": "not_needed", "gateway.usage.present": True,
        "gateway.stream": False},
        "2222222222222222", parent="3333333333333333",
        trace_state="ot=rv:c1d2e3f4a5b6c7;th:c")
    return [{"resourceSpans": [{"resource": copy.deepcopy(RESOURCE), "scopeSpans": [
        {"scope": {"name": "comet-sidecar"}, "spans": [run, attempt, line]}]}]}]


def point(attrs, **fields):
    p = {"attributes": kvs(attrs), "startTimeUnixNano": T, "timeUnixNano": T}
    p.update(fields)
    return p


def hist_point(attrs, bounds, count=1, total=0.5):
    return point(attrs, count=str(count), sum=total, bucketCounts=["0"] * (len(bounds) + 1),
                 explicitBounds=bounds)


def good_metrics():
    requests = {"name": "gateway.requests", "unit": "{request}",
                "description": "Requests observed through the gateway, by source and outcome.",
                "sum": {"aggregationTemporality": 2, "isMonotonic": True, "dataPoints": [
                    point({"gateway.source": "canary", "http.route": "/v1/chat/completions",
                           "http.request.method": "POST", "gateway.status_class": "4xx",
                           "gateway.error_class": "rate_limited"}, asInt="3"),
                    point({OVERFLOW: True}, asInt="9")]}}
    client = {"name": "http.client.request.duration", "unit": "s",
              "histogram": {"aggregationTemporality": 2, "dataPoints": [hist_point(
                  {"http.request.method": "POST", "server.address": "api.cometapi.com",
                   "server.port": 443, "url.scheme": "https",
                   "url.template": "/v1/chat/completions", "http.response.status_code": 429,
                   "error.type": "429"}, HTTP_BOUNDS)]}}
    tokens = {"name": "gen_ai.client.token.usage", "unit": "{token}",
              "histogram": {"aggregationTemporality": 2, "dataPoints": [hist_point(
                  {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                   "gateway.source": "access_log", "gen_ai.token.type": "input",
                   "gen_ai.request.model": "gpt-4o"}, TOKEN_BOUNDS, total=12.0)]}}
    last = {"name": "gateway.canary.last_success", "unit": "s",
            "gauge": {"dataPoints": [point({"gateway.probe": "chat-basic"}, asDouble=1795375401.5)]}}
    queue = {"name": "otel.sdk.processor.span.queue.size", "unit": "{span}",
             "sum": {"aggregationTemporality": 2, "dataPoints": [point(
                 {"otel.component.type": "batching_span_processor",
                  "otel.component.name": "batching_span_processor/0"}, asInt="4")]}}
    dropped = {"name": "sidecar.telemetry.dropped", "unit": "{item}",
               "sum": {"aggregationTemporality": 2, "isMonotonic": True, "dataPoints": [
                   point({"error.type": "queue_full"}, asInt="1")]}}
    lines = {"name": "sidecar.accesslog.lines.read", "unit": "{line}",
             "sum": {"aggregationTemporality": 2, "isMonotonic": True,
                     "dataPoints": [point({}, asInt="10")]}}
    return [{"resourceMetrics": [{"resource": copy.deepcopy(RESOURCE), "scopeMetrics": [
        {"scope": {"name": "comet-sidecar"},
         "metrics": [requests, client, tokens, last, queue, dropped, lines]}]}]}]


OVERFLOW = "otel.metric.overflow"


def metric_named(m, name):
    for mm in m[0]["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]:
        if mm["name"] == name:
            return mm
    raise KeyError(name)


def spans_of(t):
    return t[0]["resourceSpans"][0]["scopeSpans"][0]["spans"]


def set_attr(obj, key, value):
    obj["attributes"] = [kv for kv in obj["attributes"] if kv["key"] != key]
    if value is not None:
        obj["attributes"].append({"key": key, "value": val(value)})


def expect_problem(traces, metrics, *needles):
    problems, _ = schema_problems(traces, metrics, DOC)
    text = "\n".join(problems)
    for n in needles:
        check(n in text, f"expected a problem mentioning {n!r}; got:\n{text}")
    try:
        check_export_against_schema(traces, metrics, DOC)
    except SchemaViolation as e:
        check(needles[0] in str(e), str(e))
    else:
        raise AssertionError("check_export_against_schema accepted a violating export")
    return problems


def conforming_export_passes():
    summary = check_export_against_schema(good_traces(), good_metrics(), DOC)
    check(summary["spans"] == 3 and summary["metrics"] == 7, summary)
    check(summary["data_points"] == 8, summary)
    check(summary["span_types"] == {"canary.run": 1, "canary.attempt": 1,
                                    "accesslog.request": 1}, summary)
    # Raw JSON lines (as read from traces.jsonl) work too.
    raw_t = [json.dumps(x) for x in good_traces()]
    raw_m = [json.dumps(x) + "\n" for x in good_metrics()]
    check(check_export_against_schema(raw_t, raw_m, DOC)["spans"] == 3)
    check(check_export_against_schema([], [], DOC)["spans"] == 0)


def request_id_on_a_metric_is_forbidden():
    m = good_metrics()
    p = metric_named(m, "gateway.requests")["sum"]["dataPoints"][0]
    set_attr(p, "gateway.upstream.request_id", "req-123")
    set_attr(p, "gen_ai.response.id", "chatcmpl-1")
    expect_problem(good_traces(), m, "gateway.upstream.request_id is a forbidden metric attribute",
                   "gen_ai.response.id is a forbidden metric attribute")


def metric_shape_violations():
    m = good_metrics()
    metric_named(m, "gateway.requests")["unit"] = "1"
    metric_named(m, "gateway.requests")["sum"]["isMonotonic"] = False
    metric_named(m, "http.client.request.duration")["histogram"]["dataPoints"][0][
        "explicitBounds"] = [0.1, 1]
    metric_named(m, "gateway.canary.last_success")["description"] = "something else"
    m[0]["resourceMetrics"][0]["scopeMetrics"][0]["metrics"].append(
        {"name": "gateway.latency", "unit": "s", "gauge": {"dataPoints": []}})
    expect_problem(good_traces(), m, "unit '1', documented '{request}'",
                   "exported as updowncounter, documented as counter",
                   "bounds [0.1, 1.0]", "description 'something else'",
                   "metric gateway.latency is not documented")


def metric_attribute_violations():
    m = good_metrics()
    p = metric_named(m, "gateway.requests")["sum"]["dataPoints"][0]
    set_attr(p, "gateway.status_class", "6xx")      # not in the value set
    set_attr(p, "gateway.error_class", None)        # required, missing
    set_attr(p, "server.address", "x")              # a metric key, not for this metric
    q = metric_named(m, "http.client.request.duration")["histogram"]["dataPoints"][0]
    set_attr(q, "http.response.status_code", "429")  # wrong type: string for int
    set_attr(q, "error.type", "Connection refused")  # not a low-cardinality identifier
    o = metric_named(m, "gateway.requests")["sum"]["dataPoints"][1]
    set_attr(o, OVERFLOW, False)
    expect_problem(good_traces(), m, "gateway.status_class='6xx' is not in the documented value set",
                   "required attribute gateway.error_class is missing",
                   "attribute server.address is not documented for it",
                   "http.response.status_code has stringValue, documented type int",
                   "error.type='Connection refused' does not match",
                   "otel.metric.overflow must be true")


def span_violations():
    t = good_traces()
    run, attempt, line = spans_of(t)
    set_attr(run, "gateway.outcome", "maybe")
    set_attr(run, "gateway.probe", None)
    set_attr(attempt, "http.route", "/v1/chat/completions")  # SERVER key on a client span
    set_attr(attempt, "user.prompt", "hello")                # undocumented
    line["traceState"] = "ot=th:zz"
    run["events"].append({"timeUnixNano": T, "name": "gateway.surprise", "attributes": []})
    expect_problem(t, good_metrics(), "gateway.outcome='maybe'",
                   "required attribute gateway.probe is missing",
                   "attribute http.route is not documented for it",
                   "attribute user.prompt is not documented",
                   "traceState 'ot=th:zz' does not match",
                   "event gateway.surprise: not documented for this span")


def unknown_span_and_resource():
    t = good_traces()
    run, attempt, line = spans_of(t)
    attempt["name"] = "POST /v1/chat/completions?x=1"   # a raw target, not the template
    line["kind"] = 3                                     # an access-log span must be SERVER
    t[0]["resourceSpans"][0]["resource"]["attributes"] = kvs({"k8s.cluster.uid": "u"})
    expect_problem(t, good_metrics(), "name and kind match no documented span",
                   "resource attribute k8s.cluster.uid is not documented",
                   "resource has no service.name")


def all_problems_are_reported_at_once():
    t, m = good_traces(), good_metrics()
    spans_of(t)[0]["name"] = "nope"
    metric_named(m, "gateway.requests")["unit"] = "x"
    problems, _ = schema_problems(t, m, DOC)
    check(len(problems) == 2, problems)


def document_parses_completely():
    from schema_check import Schema
    s = Schema(DOC)
    check(len(s.metrics) == 29, sorted(s.metrics))
    check(s.metrics["gen_ai.client.token.usage"]["buckets"] == [float(x) for x in TOKEN_BOUNDS])
    check(s.allowed_values("gateway.probe.expected")[1] == s.value_sets["gateway.error_class"])
    check(s.allowed_values("error.type")[1].fullmatch("_OTHER"))
    check(s.allowed_values("error.type")[1].fullmatch("429"))
    check(not s.allowed_values("error.type")[1].fullmatch("Timeout"))
    check(set(s.spans) == {"canary.run", "canary.attempt", "accesslog.request"}, s.spans)
    # Every span-only key of high cardinality is rejected on metrics by construction.
    check("metric" not in s.attrs["gateway.upstream.request_id"]["where"])
    # A copy of the document with a broken header is refused loudly.
    bad = os.path.join(args.work_dir, "bad.md")
    with open(DOC, encoding="utf-8") as f, open(bad, "w", encoding="utf-8") as g:
        g.write(f.read().replace("| Metric | Instrument | Unit |", "| Metric | Kind | Unit |"))
    try:
        Schema(bad)
    except ValueError as e:
        check("Metrics" in str(e), str(e))
    else:
        raise AssertionError("a renamed column was accepted")


for t in (conforming_export_passes, request_id_on_a_metric_is_forbidden, metric_shape_violations,
          metric_attribute_violations, span_violations, unknown_span_and_resource,
          all_problems_are_reported_at_once, document_parses_completely):
    runner.run(t)
runner.finish()
