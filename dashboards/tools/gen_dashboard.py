#!/usr/bin/env python3
"""Writes dashboards/comet-sidecar.json, the Grafana dashboard for comet-sidecar, from the panel
list below (one place to read every query). tests/integration/test_dashboards.py fails when the
committed JSON is not what this script writes, parses every query with promtool and checks every
metric and label name against what the sidecar's /metrics really renders.

    python3 dashboards/tools/gen_dashboard.py          # rewrite the JSON
    python3 dashboards/tools/gen_dashboard.py --check  # exit 1 if it is out of date

Queries work on metrics scraped from the sidecar's GET /metrics and on the same metrics exported
over OTLP through an OpenTelemetry Collector's prometheus exporter: both give the same names, and
both give every sample job and instance labels that match the target_info series of the same
sidecar. The namespace/pod variables come from target_info's k8s_* labels (set from the
K8S_* downward-API variables), joined with `and on (job, instance)`.
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "dashboards" / "comet-sidecar.json"

DS = {"type": "prometheus", "uid": "${datasource}"}
RI = "$__rate_interval"
# Restricts a vector to the sidecars picked by the namespace and pod variables.
SEL = ('and on (job, instance) target_info{telemetry_sdk_name="comet-sidecar", '
       'k8s_namespace_name=~"$namespace", k8s_pod_name=~"$pod"}')


def rate(metric, by, matchers="", scale=""):
    m = f"{metric}{{{matchers}}}" if matchers else metric
    return f"{scale}sum by ({by}) (rate({m}[{RI}]) {SEL})"


def ratio(num_metric, num_m, den_metric, den_m, by):
    return f"{rate(num_metric, by, num_m)}\n/\n{rate(den_metric, by, den_m)}"


def quantiles(metric, by, matchers="", legend=""):
    m = f"{metric}_bucket{{{matchers}}}" if matchers else f"{metric}_bucket"
    return [(f"histogram_quantile({q}, sum by (le, {by}) (rate({m}[{RI}]) {SEL}))",
             f"p{int(q * 100)} {legend}".strip()) for q in (0.5, 0.95, 0.99)]


def gauge(metric, by, matchers="", agg="max"):
    m = f"{metric}{{{matchers}}}" if matchers else metric
    return f"{agg} by ({by}) ({m} {SEL})"


PROBE = 'gateway_probe=~"$probe"'
ROUTE = 'http_route=~"$route"'

# (row title, [(panel title, description, unit, [(expr, legend)], width)])
ROWS = [
    ("Canary", [
        ("Canary runs by outcome",
         "Runs per minute of each probe, by outcome (pass: the run met its expectation).",
         "short",
         [(rate("gateway_canary_runs_total", "gateway_probe, gateway_outcome", PROBE, "60 * "),
           "{{gateway_probe}} {{gateway_outcome}}")], 12),
        ("Canary pass ratio",
         "Share of runs that met their expectation (a drill passes when it gets the error "
         "class it expects).",
         "percentunit",
         [(ratio("gateway_canary_runs_total", f'{PROBE}, gateway_outcome="pass"',
                 "gateway_canary_runs_total", PROBE, "gateway_probe"), "{{gateway_probe}}")], 12),
        ("Canary failures by error class",
         "Failed runs per minute by the class of the final attempt (none on a drill means the "
         "invalid key was accepted).",
         "short",
         [(rate("gateway_canary_runs_total", "gateway_probe, gateway_error_class",
                f'{PROBE}, gateway_outcome="fail"', "60 * "),
           "{{gateway_probe}} {{gateway_error_class}}")], 12),
        ("Time since last successful run",
         "Seconds since the newest successful run of each probe on any selected sidecar "
         "(alert CometSidecarCanaryStale at 30 minutes).",
         "s",
         [(f"time() - {gauge('gateway_canary_last_success_seconds', 'gateway_probe', PROBE)}",
           "{{gateway_probe}}")], 12),
    ]),
    ("Traffic", [
        ("Requests by status class",
         "Requests per second seen by each source (canary attempts, access-log lines).",
         "reqps",
         [(rate("gateway_requests_total", "gateway_source, gateway_status_class", ROUTE),
           "{{gateway_source}} {{gateway_status_class}}")], 12),
        ("Errors by class",
         "Failed requests per second by classified cause.",
         "reqps",
         [(rate("gateway_requests_total", "gateway_source, gateway_error_class",
                f'{ROUTE}, gateway_error_class!="none"'),
           "{{gateway_source}} {{gateway_error_class}}")], 12),
        ("Fallbacks by reason",
         "Fallback decisions (allowed or used) per second, by the failure class that triggered "
         "them.",
         "reqps",
         [(rate("gateway_fallbacks_total",
                "gateway_source, gateway_fallback_decision, gateway_fallback_reason"),
           "{{gateway_source}} {{gateway_fallback_decision}} {{gateway_fallback_reason}}")], 12),
        ("Fallback ratio",
         "Fallbacks per request (alert CometSidecarFallbackRateHigh above 5%).",
         "percentunit",
         [(ratio("gateway_fallbacks_total", "", "gateway_requests_total", "", "gateway_source"),
           "{{gateway_source}}")], 12),
        ("Responses without usage",
         "Share of successful responses that carried no token usage, by route (alert "
         "CometSidecarMissingUsageRateHigh above 5%).",
         "percentunit",
         [(ratio("gateway_usage_missing_total", ROUTE, "gateway_requests_total",
                 f'{ROUTE}, gateway_error_class="none"', "gateway_source, http_route"),
           "{{gateway_source}} {{http_route}}")], 12),
        ("Retry ratio",
         "Attempts that were retries of an earlier attempt, per request.",
         "percentunit",
         [(ratio("gateway_retries_total", ROUTE, "gateway_requests_total", ROUTE,
                 "gateway_source, http_route"), "{{gateway_source}} {{http_route}}")], 12),
    ]),
    ("Latency", [
        ("GenAI operation duration",
         "Whole GenAI operations (a canary run with its retries, an access-log request).",
         "s",
         quantiles("gen_ai_client_operation_duration_seconds", "gateway_source",
                   legend="{{gateway_source}}"), 12),
        ("Time to first token",
         "Streaming operations: time until the first chunk arrived.",
         "s",
         quantiles("gen_ai_client_operation_time_to_first_chunk_seconds", "gateway_source",
                   legend="{{gateway_source}}"), 12),
        ("Gateway request duration by route (access log)",
         "Requests the application's gateway logged (http.server.request.duration).",
         "s",
         quantiles("http_server_request_duration_seconds", "http_route", ROUTE,
                   legend="{{http_route}}"), 12),
        ("Canary attempt duration by route",
         "Each HTTP attempt of the canary (http.client.request.duration).",
         "s",
         quantiles("http_client_request_duration_seconds", "url_template",
                   'url_template=~"$route"', legend="{{url_template}}"), 12),
        ("Tokens per second",
         "Input and output tokens reported by responses.",
         "short",
         [(rate("gen_ai_client_token_usage_sum", "gateway_source, gen_ai_token_type"),
           "{{gateway_source}} {{gen_ai_token_type}}")], 24),
    ]),
    ("Contract", [
        ("Contract violations by check",
         "Responses that broke an API contract check, per minute (shape_drift: the JSON shape "
         "left the probe's baseline).",
         "short",
         [(rate("gateway_contract_violations_total", "gateway_probe, gateway_contract_check",
                PROBE, "60 * "), "{{gateway_probe}} {{gateway_contract_check}}")], 24),
    ]),
    ("Sidecar health", [
        ("Export results",
         "Spans and metric data points whose export finished, per second; a series with an "
         "error_type failed.",
         "short",
         [(rate("otel_sdk_exporter_span_exported_total", "otel_component_name, error_type"),
           "spans {{otel_component_name}} {{error_type}}"),
          (rate("otel_sdk_exporter_metric_data_point_exported_total",
                "otel_component_name, error_type"),
           "points {{otel_component_name}} {{error_type}}")], 12),
        ("Dropped telemetry",
         "Spans dropped before export, per second, by reason.",
         "short",
         [(rate("sidecar_telemetry_dropped_total", "pod, instance, error_type"),
           "{{pod}} {{instance}} {{error_type}}")], 12),
        ("Span queue fill",
         "Spans waiting in the batch processor's queue as a share of its capacity "
         "(exporter.batch.max_queue_size).",
         "percentunit",
         [(f"{gauge('otel_sdk_processor_span_queue_size', 'pod, instance')}\n/\n"
           f"{gauge('otel_sdk_processor_span_queue_capacity', 'pod, instance')}",
           "{{pod}} {{instance}}")], 12),
        ("Export duration p95",
         "Duration of export requests by exporter.",
         "s",
         [(f"histogram_quantile(0.95, sum by (le, otel_component_name) "
           f"(rate(otel_sdk_exporter_operation_duration_seconds_bucket[{RI}]) {SEL}))",
           "{{otel_component_name}}")], 12),
        ("Access-log lag",
         "Bytes between the read position and the end of the access log.",
         "bytes",
         [(gauge("sidecar_accesslog_lag_bytes", "pod, instance"), "{{pod}} {{instance}}")], 8),
        ("Access-log reading paused",
         "1 while reading is paused for backpressure (the span queue is full).",
         "short",
         [(gauge("sidecar_accesslog_paused_ratio", "pod, instance"), "{{pod}} {{instance}}")], 8),
        ("Access-log lines",
         "Lines per second read, parsed into records, and skipped as too long.",
         "short",
         [(rate("sidecar_accesslog_lines_read_total", "pod, instance"), "read {{pod}}"),
          (rate("sidecar_accesslog_lines_parsed_total", "pod, instance"), "parsed {{pod}}"),
          (rate("sidecar_accesslog_lines_too_long_total", "pod, instance"),
           "too long {{pod}}")], 8),
        ("Malformed lines by reason",
         "Access-log lines that could not be parsed, per second.",
         "short",
         [(rate("sidecar_accesslog_lines_malformed_total", "error_type"), "{{error_type}}")], 12),
        ("Rotations and truncations",
         "Access-log rotations and truncations detected, per hour.",
         "short",
         [(rate("sidecar_accesslog_rotations_total", "pod, instance", scale="3600 * "),
           "rotations {{pod}}"),
          (rate("sidecar_accesslog_truncations_total", "pod, instance", scale="3600 * "),
           "truncations {{pod}}")], 12),
    ]),
]


def variable(name, label, query, include_all=True):
    v = {
        "name": name, "label": label, "type": "query", "datasource": DS,
        "query": {"query": query, "refId": f"{name}-query", "qryType": 1},
        "definition": query, "refresh": 2, "sort": 1,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "options": [], "hide": 0, "regex": "", "skipUrlSync": False,
    }
    if include_all:
        v.update({"includeAll": True, "multi": True, "allValue": ".*"})
    return v


def templating():
    sdk = 'telemetry_sdk_name="comet-sidecar"'
    return {"list": [
        {"name": "datasource", "label": "Data source", "type": "datasource",
         "query": "prometheus", "current": {}, "hide": 0, "options": [], "refresh": 1,
         "regex": "", "skipUrlSync": False},
        variable("namespace", "Namespace",
                 f"label_values(target_info{{{sdk}}}, k8s_namespace_name)"),
        variable("pod", "Pod",
                 f'label_values(target_info{{{sdk}, k8s_namespace_name=~"$namespace"}}, '
                 f"k8s_pod_name)"),
        variable("probe", "Probe", "label_values(gateway_canary_runs_total, gateway_probe)"),
        variable("route", "Route", "label_values(gateway_requests_total, http_route)"),
    ]}


def panel(pid, title, desc, unit, queries, x, y, w):
    return {
        "id": pid, "type": "timeseries", "title": title, "description": desc, "datasource": DS,
        "gridPos": {"h": 8, "w": w, "x": x, "y": y},
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "min": 0,
                "custom": {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10,
                           "showPoints": "never", "spanNulls": False},
            },
            "overrides": [],
        },
        "options": {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
        "targets": [{"datasource": DS, "expr": expr, "legendFormat": legend, "range": True,
                     "refId": chr(ord("A") + i)} for i, (expr, legend) in enumerate(queries)],
    }


def dashboard():
    panels, pid, y = [], 1, 0
    for row_title, row_panels in ROWS:
        panels.append({"id": pid, "type": "row", "title": row_title, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        pid, y, x = pid + 1, y + 1, 0
        for title, desc, unit, queries, w in row_panels:
            if x + w > 24:
                x, y = 0, y + 8
            panels.append(panel(pid, title, desc, unit, queries, x, y, w))
            pid, x = pid + 1, x + w
        y += 8
    return {
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard"}]},
        "description": "CometAPI canaries, gateway traffic seen in the access log, and the "
                       "sidecar's own health (comet-sidecar, OpenTelemetry metrics in "
                       "Prometheus).",
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "links": [],
        "panels": panels,
        "refresh": "1m",
        "schemaVersion": 39,
        "tags": ["comet-sidecar", "cometapi", "opentelemetry"],
        "templating": templating(),
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": "comet-sidecar",
        "uid": "comet-sidecar",
        "version": 1,
    }


def render():
    return json.dumps(dashboard(), indent=2) + "\n"


def main(argv):
    want = render()
    if "--check" in argv:
        if not OUT.exists() or OUT.read_text() != want:
            print(f"{OUT} is out of date: run {pathlib.Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(want)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
