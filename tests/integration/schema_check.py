"""schema_check.py - owns: checking what the sidecar exported (as decoded by the OTLP test receiver)
against the documented schema, dashboards/telemetry-schema.md. Stdlib only.

Usage from an integration test (source_dir = repository root):

    sys.path.insert(0, os.path.join(source_dir, "tests", "integration"))
    from schema_check import check_export_against_schema, SchemaViolation

    summary = check_export_against_schema(rx.traces(), rx.metrics(),
                                          os.path.join(source_dir, "dashboards",
                                                       "telemetry-schema.md"))

`decoded_traces_lines` / `decoded_metrics_lines` are the receiver's traces.jsonl / metrics.jsonl
lines (ExportTraceServiceRequest / ExportMetricsServiceRequest as generated `toObject` with longs
as strings, enums as numbers, hex ids), either parsed (dicts) or raw JSON strings.

Checked, for every metric: the name is documented; unit, instrument kind (Sum monotonic or not,
Gauge, Histogram) and description match; histogram bounds equal the documented buckets; every
data point's attribute keys are documented for that metric (or the lone otel.metric.overflow
series), "always" keys are present, value types match and enumerated/pattern values are valid;
a span-only (high-cardinality) key such as gateway.upstream.request_id on a metric is reported as
forbidden. For every span: name and kind match a documented span (name pattern rendered from the
span's own attributes), its attributes and events are documented for that span with valid values,
and its traceState matches the documented pattern. Resource attributes in the service.*, k8s.*
and deployment.* namespaces must be documented, and service.name must be present.

Returns a summary dict ({"spans", "metrics", "data_points", "span_types"}); raises
SchemaViolation (an AssertionError) listing EVERY problem found. `schema_problems(...)` returns
the list instead of raising.
"""

import json
import re

KIND_NUMBERS = {"INTERNAL": 1, "SERVER": 2, "CLIENT": 3, "PRODUCER": 4, "CONSUMER": 5}
VALUE_FIELDS = {"string": "stringValue", "int": "intValue", "double": "doubleValue",
                "bool": "boolValue", "string[]": "arrayValue"}
RESOURCE_NAMESPACES = ("service.", "k8s.", "deployment.")
OVERFLOW_KEY = "otel.metric.overflow"


class SchemaViolation(AssertionError):
    pass


# ---- Parsing the document ----------------------------------------------------------------------

def _cells(line):
    parts = re.split(r"(?<!\\)\|", line.strip())[1:-1]
    out = []
    for p in parts:
        c = p.strip().replace("\\|", "|")
        if len(c) >= 2 and c[0] == "`" and c[-1] == "`":
            c = c[1:-1]
        out.append(c)
    return out


def _tables(text):
    """{section title: [header, rows...]} for each "## " section's (single) table."""
    tables, section, in_code, current = {}, None, False, None
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code:
            continue
        if line.startswith("## "):
            section, current = line[3:].strip(), None
            continue
        if not line.startswith("|"):
            current = None
            continue
        if re.match(r"^\|\s*-{3,}", line):
            continue
        if current is None:
            current = tables.setdefault(section, [])
            if current:
                raise ValueError("section %r has more than one table" % section)
            current.append(_cells(line))
        else:
            current.append(_cells(line))
    return tables


def _rows(tables, section, header):
    t = tables.get(section)
    if not t:
        raise ValueError("schema document: no table under '## %s'" % section)
    if t[0] != header:
        raise ValueError("schema document: '## %s' header is %r, expected %r" % (section, t[0], header))
    return [dict(zip(header, r)) for r in t[1:]]


class Schema:
    def __init__(self, doc_path):
        with open(doc_path, encoding="utf-8") as f:
            t = _tables(f.read())
        self.attrs = {}
        for r in _rows(t, "Attributes", ["Key", "Type", "Where", "Values", "Cardinality", "Description"]):
            self.attrs[r["Key"]] = {
                "type": r["Type"],
                "where": {w.strip() for w in r["Where"].split(",")},
                "values": r["Values"],
                "cardinality": r["Cardinality"],
            }
        self.value_sets = {}
        for r in _rows(t, "Value sets", ["Key", "Value", "Meaning"]):
            self.value_sets.setdefault(r["Key"], set()).add(r["Value"])
        self.metrics = {}
        for r in _rows(t, "Metrics", ["Metric", "Instrument", "Unit", "Buckets", "Description"]):
            b = [float(x) for x in r["Buckets"].split(",") if x.strip()]
            self.metrics[r["Metric"]] = {"instrument": r["Instrument"], "unit": r["Unit"],
                                         "buckets": b, "description": r["Description"]}
        self.metric_attrs = {m: {} for m in self.metrics}
        for r in _rows(t, "Metric attributes", ["Metric", "Attribute", "Presence", "Condition"]):
            self.metric_attrs.setdefault(r["Metric"], {})[r["Attribute"]] = r["Presence"]
        self.spans = {}
        for r in _rows(t, "Spans", ["Span", "Name", "Kind", "Parent", "Source"]):
            self.spans[r["Span"]] = {"name": r["Name"], "kind": KIND_NUMBERS[r["Kind"]],
                                     "source": r["Source"]}
        self.span_attrs = {s: {} for s in self.spans}
        for r in _rows(t, "Span attributes", ["Span", "Attribute", "Presence", "Condition"]):
            self.span_attrs.setdefault(r["Span"], {})[r["Attribute"]] = r["Presence"]
        self.events = {}
        for r in _rows(t, "Span events", ["Event", "Span", "Attribute", "Presence", "Condition"]):
            ev = self.events.setdefault(r["Event"], {"spans": set(), "attrs": {}})
            ev["spans"].add(r["Span"])
            ev["attrs"][r["Attribute"]] = r["Presence"]
        fields = {r["Field"]: r["Pattern"] for r in _rows(t, "Sampling", ["Field", "Pattern"])}
        self.trace_state = re.compile(fields["traceState"])
        self.resource = {r["Key"] for r in _rows(t, "Resource attributes", ["Key", "Source", "Example"])}

    def allowed_values(self, key):
        """("enum", set) | ("pattern", regex) | ("any", None) for a documented key."""
        v = self.attrs[key]["values"]
        if v == "enum":
            return "enum", self.value_sets.get(key, set())
        if v.startswith("enum "):
            return "enum", self.value_sets.get(v[5:].strip(), set())
        m = re.match(r"^pattern `(.*)`$", v)
        if m:
            return "pattern", re.compile(m.group(1))
        return "any", None


# ---- Checking ----------------------------------------------------------------------------------

def _parse_lines(lines):
    out = []
    for ln in lines or []:
        if isinstance(ln, (bytes, str)):
            ln = ln.strip()
            if not ln:
                continue
            ln = json.loads(ln)
        out.append(ln)
    return out


def _plain(value):
    """An OTLP AnyValue (toObject form) -> (field name, python value)."""
    if not value:
        return None, None
    field = next(iter(value))
    v = value[field]
    if field == "intValue":
        v = int(v)
    elif field == "arrayValue":
        v = [_plain(x)[1] for x in (v or {}).get("values", [])]
    return field, v


def _check_value(schema, where, key, value, problems):
    a = schema.attrs[key]
    field, v = _plain(value)
    want = VALUE_FIELDS.get(a["type"])
    if field != want:
        problems.append("%s: %s has %s, documented type %s" % (where, key, field, a["type"]))
        return
    kind, allowed = schema.allowed_values(key)
    items = v if a["type"] == "string[]" else [v]
    for item in items:
        if kind == "enum" and item not in allowed:
            problems.append("%s: %s=%r is not in the documented value set %s"
                            % (where, key, item, sorted(allowed)))
        elif kind == "pattern" and not (isinstance(item, str) and allowed.fullmatch(item)):
            problems.append("%s: %s=%r does not match %s" % (where, key, item, allowed.pattern))


def _check_attrs(schema, where, attrs, allowed, scope, problems):
    """attrs: OTLP KeyValue list; allowed: {key: presence}; scope: span | metric | event."""
    seen = {}
    for kv in attrs or []:
        seen[kv.get("key")] = kv.get("value")
    for key, value in seen.items():
        doc = schema.attrs.get(key)
        if doc is None:
            problems.append("%s: attribute %s is not documented" % (where, key))
            continue
        if scope not in doc["where"] or (scope == "metric" and doc["cardinality"] == "high"):
            problems.append("%s: %s is a forbidden %s attribute (documented for %s only, "
                            "cardinality %s)" % (where, key, scope, ", ".join(sorted(doc["where"])),
                                                 doc["cardinality"]))
            continue
        if key not in allowed:
            problems.append("%s: attribute %s is not documented for it" % (where, key))
            continue
        _check_value(schema, where, key, value, problems)
    for key, presence in allowed.items():
        if presence == "always" and key not in seen:
            problems.append("%s: required attribute %s is missing" % (where, key))


def _check_resource(schema, where, resource, problems):
    keys = {kv.get("key") for kv in (resource or {}).get("attributes", [])}
    for k in keys:
        if k and k.startswith(RESOURCE_NAMESPACES) and k not in schema.resource:
            problems.append("%s: resource attribute %s is not documented" % (where, k))
    if "service.name" not in keys:
        problems.append("%s: resource has no service.name" % where)


def _metric_kind(m):
    if "sum" in m:
        return "counter" if (m["sum"] or {}).get("isMonotonic") else "updowncounter"
    for k in ("gauge", "histogram", "exponentialHistogram", "summary"):
        if k in m:
            return k
    return None


def _check_metric(schema, m, problems):
    name = m.get("name", "")
    where = "metric %s" % name
    doc = schema.metrics.get(name)
    if doc is None:
        problems.append("%s is not documented" % where)
        return 0
    if m.get("unit", "") != doc["unit"]:
        problems.append("%s: unit %r, documented %r" % (where, m.get("unit", ""), doc["unit"]))
    if m.get("description") and m["description"] != doc["description"]:
        problems.append("%s: description %r, documented %r" % (where, m["description"],
                                                               doc["description"]))
    kind = _metric_kind(m)
    if kind != doc["instrument"]:
        problems.append("%s: exported as %s, documented as %s" % (where, kind, doc["instrument"]))
    points = []
    for k in ("sum", "gauge", "histogram"):
        points += (m.get(k) or {}).get("dataPoints", [])
    for i, p in enumerate(points):
        pw = "%s point %d" % (where, i)
        if kind == "histogram":
            bounds = [float(b) for b in p.get("explicitBounds", [])]
            if bounds != doc["buckets"]:
                problems.append("%s: bounds %s, documented %s" % (pw, bounds, doc["buckets"]))
            if len(p.get("bucketCounts", [])) not in (0, len(bounds) + 1):
                problems.append("%s: %d bucket counts for %d bounds"
                                % (pw, len(p["bucketCounts"]), len(bounds)))
        attrs = p.get("attributes", [])
        if [kv.get("key") for kv in attrs] == [OVERFLOW_KEY]:
            if _plain(attrs[0].get("value")) != ("boolValue", True):
                problems.append("%s: %s must be true" % (pw, OVERFLOW_KEY))
            continue
        _check_attrs(schema, pw, attrs, schema.metric_attrs.get(name, {}), "metric", problems)
    return len(points)


def _render_name(pattern, attrs):
    def sub(mo):
        key = mo.group(1)
        _, v = _plain(attrs.get(key))
        if v is None:
            return ""
        if key == "http.request.method" and v == "_OTHER":
            return "HTTP"
        return str(v)
    return re.sub(r"\{([^}]+)\}", sub, pattern).strip()


def _span_type(schema, span):
    attrs = {kv.get("key"): kv.get("value") for kv in span.get("attributes", [])}
    for sid, d in schema.spans.items():
        if d["kind"] == span.get("kind") and _render_name(d["name"], attrs) == span.get("name"):
            return sid
    return None


def _check_span(schema, span, problems):
    where = "span %r (kind %s, id %s)" % (span.get("name"), span.get("kind"), span.get("spanId"))
    sid = _span_type(schema, span)
    if sid is None:
        problems.append("%s: name and kind match no documented span" % where)
        return None
    where = "%s [%s]" % (where, sid)
    _check_attrs(schema, where, span.get("attributes"), schema.span_attrs.get(sid, {}), "span",
                 problems)
    for ev in span.get("events", []) or []:
        doc = schema.events.get(ev.get("name"))
        ew = "%s event %s" % (where, ev.get("name"))
        if doc is None or sid not in doc["spans"]:
            problems.append("%s: not documented for this span" % ew)
            continue
        _check_attrs(schema, ew, ev.get("attributes"), doc["attrs"], "event", problems)
    ts = span.get("traceState", "") or ""
    if not schema.trace_state.fullmatch(ts):
        problems.append("%s: traceState %r does not match %s" % (where, ts,
                                                                 schema.trace_state.pattern))
    return sid


def schema_problems(decoded_traces_lines, decoded_metrics_lines, doc_path):
    """(problems, summary): every schema problem found, and what was checked."""
    schema = Schema(doc_path)
    problems = []
    summary = {"spans": 0, "metrics": 0, "data_points": 0, "span_types": {}}
    for n, req in enumerate(_parse_lines(decoded_traces_lines)):
        for rs in req.get("resourceSpans", []) or []:
            _check_resource(schema, "traces line %d" % n, rs.get("resource"), problems)
            for ss in rs.get("scopeSpans", []) or []:
                for span in ss.get("spans", []) or []:
                    sid = _check_span(schema, span, problems)
                    summary["spans"] += 1
                    if sid:
                        summary["span_types"][sid] = summary["span_types"].get(sid, 0) + 1
    for n, req in enumerate(_parse_lines(decoded_metrics_lines)):
        for rm in req.get("resourceMetrics", []) or []:
            _check_resource(schema, "metrics line %d" % n, rm.get("resource"), problems)
            for sm in rm.get("scopeMetrics", []) or []:
                for m in sm.get("metrics", []) or []:
                    summary["metrics"] += 1
                    summary["data_points"] += _check_metric(schema, m, problems)
    return problems, summary


def check_export_against_schema(decoded_traces_lines, decoded_metrics_lines, doc_path):
    """Raises SchemaViolation listing every problem; returns the summary when there is none."""
    problems, summary = schema_problems(decoded_traces_lines, decoded_metrics_lines, doc_path)
    if problems:
        raise SchemaViolation("%d schema problem(s):\n  %s" % (len(problems), "\n  ".join(problems)))
    return summary
