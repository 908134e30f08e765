#!/usr/bin/env python3
"""test_dashboards.py - owns: proving the Grafana dashboard and the alert rules use names the
sidecar really exports, in valid PromQL.

The reference page is COMPUTED: every metric of dashboards/telemetry-schema.md, with every
attribute its "Metric attributes" table lists, is recorded once into a real registry and rendered
by the real renderer (export/prom_text, through `test_prom_text --render-stdin`, built with the
unit tests). Then:
- the page passes `promtool check metrics` and has one family per schema metric (+ target_info);
- dashboards/README.md's Prometheus names table matches the page;
- dashboards/comet-sidecar.json is what dashboards/tools/gen_dashboard.py writes;
- every dashboard query (panels and variables) parses (promtool check rules on a generated
  rules file holding each as a recording rule, Grafana variables substituted);
- every metric name in the dashboard, the rules and the promtool test series exists on the page,
  every label matched on a metric is one of that metric's labels (or a target label Prometheus
  adds), and every grouping label exists somewhere.
promtool is required (deploy/install-deps.sh --test installs Debian's prometheus package): the
test FAILS without it.
Usage: python3 test_dashboards.py --binary B --source-dir S --work-dir W
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys

from lib.harness import Runner, check, parse_args
from promql_names import Names, parse_page, parse_series
from schema_check import Schema

args = parse_args()
runner = Runner()
SRC = args.source_dir
DOC = os.path.join(SRC, "dashboards", "telemetry-schema.md")
DASH = os.path.join(SRC, "dashboards", "comet-sidecar.json")
RULES = os.path.join(SRC, "dashboards", "alerts", "comet-sidecar-rules.yml")
TESTS = sorted(glob.glob(os.path.join(SRC, "dashboards", "alerts", "tests", "*.yml")))
README = os.path.join(SRC, "dashboards", "README.md")
TIMEOUT = 60
# Labels Prometheus (or Kubernetes service discovery) adds to every scraped sample, or that a
# Collector's prometheus exporter adds (job, instance); plus le on histogram buckets.
TARGET_LABELS = {"job", "instance", "namespace", "pod", "container", "endpoint", "service"}
# Series Prometheus itself writes for every target (only target labels).
SCRAPE_SERIES = {"up"}
GRAFANA_VARS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}

PROMTOOL = shutil.which("promtool")
if PROMTOOL is None:
    print("FAIL promtool not found: install Debian's prometheus package "
          "(deploy/install-deps.sh --test)", flush=True)
    print("0 passed, 1 failed")
    sys.exit(1)


def find_render_tool():
    d = os.path.dirname(os.path.abspath(args.binary))
    while d != os.path.dirname(d):
        if os.path.exists(os.path.join(d, "CMakeCache.txt")):
            exe = os.path.join(d, "tests", "test_prom_text")
            check(os.access(exe, os.X_OK), f"{exe} not built")
            return exe
        d = os.path.dirname(d)
    raise AssertionError(f"no CMake build directory above {args.binary}")


def sample_value(schema, key):
    kind, allowed = schema.allowed_values(key)
    if kind == "enum" and allowed:
        return sorted(allowed)[0]
    return {"http.route": "/v1/chat/completions", "url.template": "/v1/chat/completions",
            "server.port": "443", "http.response.status_code": "200",
            "http.request.resend_count": "1", "gateway.probe": "smoke",
            "otel.component.name": "otlp_http_span_exporter/0",
            "gateway.contract.check": "shape_drift", "error.type": "timeout"}.get(key, "x")


def render_page():
    schema = Schema(DOC)
    lines = []
    for metric in schema.metrics:
        attrs = schema.metric_attrs.get(metric, {})
        lines.append(" ".join([metric] + [f"{k}={sample_value(schema, k)}" for k in attrs]))
    p = subprocess.run([find_render_tool(), "--render-stdin"], input="\n".join(lines) + "\n",
                       capture_output=True, text=True, timeout=TIMEOUT)
    check(p.returncode == 0, p.stderr)
    with open(os.path.join(args.work_dir, "schema-page.prom"), "w") as f:
        f.write(p.stdout)
    return schema, p.stdout


SCHEMA, PAGE = render_page()
FAMILIES, SAMPLES = parse_page(PAGE)
METRIC_FAMILIES = {k: v for k, v in FAMILIES.items() if k != "target_info"}
ALL_LABELS = set().union(*SAMPLES.values())


def substitute(expr):
    for k, v in GRAFANA_VARS.items():
        expr = expr.replace(k, v)
    return re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", ".*", expr)


def dashboard_exprs():
    with open(DASH) as f:
        dash = json.load(f)
    out = []
    for p in dash["panels"]:
        for t in p.get("targets", []):
            out.append((f"panel '{p['title']}' {t['refId']}", substitute(t["expr"])))
    for v in dash["templating"]["list"]:
        if v["type"] != "query":
            continue
        m = re.match(r"^label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\)$", v["definition"])
        check(m is not None, v["definition"])
        out.append((f"variable {v['name']}", substitute(m.group(1))))
        check(any(m.group(2) in labels for labels in SAMPLES.values()),
              f"variable {v['name']}: no metric has label {m.group(2)}")
    return out


def rule_exprs():
    """(name, expr, label names used by $labels.x in annotations) of every rule."""
    with open(RULES) as f:
        text = f.read()
    out = []
    for block in re.split(r"\n      - (?=alert:|record:)", text)[1:]:
        name = re.match(r"(?:alert|record): (\S+)", block).group(1)
        m = re.search(r"expr: \|\n((?:          .*\n|\n)+)", block)
        expr = m.group(1) if m else re.search(r"expr: (.*)\n", block).group(1)
        used = set(re.findall(r"\$labels\.([A-Za-z_][A-Za-z0-9_]*)", block))
        out.append((name, expr, used))
    check(out, "no rules found")
    return out


def check_names(where, expr, problems):
    n = Names(expr)
    if not any(metric for metric, _ in n.selectors):
        problems.append(f"{where}: no metric found in {expr!r}")
    for metric, labels in n.selectors:
        if metric is None:
            continue
        if metric in SCRAPE_SERIES:
            if labels - TARGET_LABELS:
                problems.append(f"{where}: {metric} has no label(s) {sorted(labels - TARGET_LABELS)}")
            continue
        if metric not in SAMPLES:
            problems.append(f"{where}: metric {metric} is not on the page")
            continue
        extra = labels - SAMPLES[metric] - TARGET_LABELS
        if extra:
            problems.append(f"{where}: {metric} has no label(s) {sorted(extra)}")
    unknown = n.grouping - ALL_LABELS - TARGET_LABELS - {"le"}
    if unknown:
        problems.append(f"{where}: grouping label(s) {sorted(unknown)} exist on no metric")
    return n


def page_passes_promtool_and_has_every_schema_metric():
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=PAGE, capture_output=True,
                       text=True, timeout=TIMEOUT)
    check(p.returncode == 0 and p.stdout.strip() == "" and p.stderr.strip() == "",
          f"promtool check metrics: rc={p.returncode}\n{p.stdout}{p.stderr}")
    check(FAMILIES.get("target_info") == "gauge", "no target_info")
    check(len(METRIC_FAMILIES) == len(SCHEMA.metrics), sorted(METRIC_FAMILIES))
    for fam, typ in METRIC_FAMILIES.items():
        if typ == "histogram":
            for suffix in ("_bucket", "_sum", "_count"):
                check(fam + suffix in SAMPLES, fam + suffix)
            check("le" in SAMPLES[fam + "_bucket"], fam)
        else:
            check(fam in SAMPLES, fam)
    for name, labels in SAMPLES.items():
        if name != "target_info":  # the resource only, as the spec requires
            check({"otel_scope_name", "otel_scope_version"} <= labels, (name, labels))
    for k in ("k8s_namespace_name", "k8s_pod_name", "service_instance_id", "telemetry_sdk_name"):
        check(k in SAMPLES["target_info"], k)


def readme_names_table_matches_the_page():
    with open(README) as f:
        text = f.read()
    section = text.split("## Prometheus names", 1)[1].split("\n## ", 1)[0]
    rows = [[c.strip().strip("`") for c in ln.strip().strip("|").split("|")]
            for ln in section.splitlines() if ln.startswith("| ") and "---" not in ln]
    header, rows = rows[0], rows[1:]
    check(header[:3] == ["OTLP metric", "Prometheus name", "Type"], header)
    documented = {r[1]: r[2] for r in rows}
    check(documented == METRIC_FAMILIES, f"README table {documented} != page {METRIC_FAMILIES}")
    check(sorted(r[0] for r in rows) == sorted(SCHEMA.metrics), [r[0] for r in rows])


def dashboard_is_generated():
    p = subprocess.run([sys.executable, os.path.join(SRC, "dashboards", "tools",
                                                     "gen_dashboard.py"), "--check"],
                       capture_output=True, text=True, timeout=TIMEOUT)
    check(p.returncode == 0, p.stderr)
    with open(DASH) as f:
        dash = json.load(f)
    check(dash["schemaVersion"] >= 39, dash["schemaVersion"])
    names = {v["name"]: v for v in dash["templating"]["list"]}
    check(names["datasource"]["type"] == "datasource" and
          names["datasource"]["query"] == "prometheus")
    check({"namespace", "pod", "probe", "route"} <= set(names), sorted(names))
    for p in dash["panels"]:
        if p["type"] != "row":
            check(p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"])
            check(p["targets"], p["title"])


def every_dashboard_query_parses():
    exprs = dashboard_exprs()
    path = os.path.join(args.work_dir, "dashboard-exprs.yml")
    with open(path, "w") as f:
        f.write("groups:\n  - name: dashboard\n    rules:\n")
        for i, (_, expr) in enumerate(exprs):
            f.write(f"      - record: dashboard:query_{i}\n        expr: {json.dumps(expr)}\n")
    p = subprocess.run([PROMTOOL, "check", "rules", path], capture_output=True, text=True,
                       timeout=TIMEOUT)
    check(p.returncode == 0, f"{p.stdout}{p.stderr}")
    check(f"SUCCESS: {len(exprs)} rules found" in p.stdout, p.stdout)


def dashboard_names_exist():
    problems = []
    for where, expr in dashboard_exprs():
        check_names(where, expr, problems)
    check(not problems, "\n".join(problems))


def rule_names_exist():
    problems = []
    for name, expr, used in rule_exprs():
        n = check_names(f"rule {name}", expr, problems)
        unknown = used - ALL_LABELS - TARGET_LABELS - n.introduced
        if unknown:
            problems.append(f"rule {name}: annotations use unknown label(s) {sorted(unknown)}")
    check(not problems, "\n".join(problems))


def test_series_are_what_the_sidecar_exports():
    check(TESTS, "no promtool tests")
    problems = []
    for path in TESTS:
        with open(path) as f:
            text = f.read()
        for s in re.findall(r"series: '([^']*)'", text):
            metric, labels = parse_series(s)
            if metric in SCRAPE_SERIES:
                if set(labels) - TARGET_LABELS:
                    problems.append(f"{os.path.basename(path)}: {s} has non-target labels")
                continue
            if metric not in SAMPLES:
                problems.append(f"{os.path.basename(path)}: {metric} is not on the page")
                continue
            extra = set(labels) - SAMPLES[metric] - TARGET_LABELS
            if extra:
                problems.append(f"{os.path.basename(path)}: {metric} has no {sorted(extra)}")
            if not {"otel_scope_name", "job", "instance"} <= set(labels):
                problems.append(f"{os.path.basename(path)}: {s} lacks scrape/scope labels")
    check(not problems, "\n".join(problems))


def the_name_checker_catches_mistakes():
    """The checks above pass only if they can fail: feed them known-bad expressions."""
    problems = []
    check_names("bad", 'sum by (gateway_probe) (rate(gateway_canary_runs[5m]))', problems)
    check_names("bad", 'rate(gateway_requests_total{gateway_probe="x"}[5m])', problems)
    check_names("bad", 'sum by (gateway_prob) (rate(gateway_requests_total[5m]))', problems)
    check_names("ok", 'histogram_quantile(0.9, sum by (le) (rate('
                      'gen_ai_client_token_usage_bucket{gen_ai_token_type="input"}[5m])))',
                problems)
    check(len(problems) == 3, problems)


for t in (page_passes_promtool_and_has_every_schema_metric, readme_names_table_matches_the_page,
          dashboard_is_generated, every_dashboard_query_parses, dashboard_names_exist,
          rule_names_exist, test_series_are_what_the_sidecar_exports,
          the_name_checker_catches_mistakes):
    runner.run(t)
runner.finish()
