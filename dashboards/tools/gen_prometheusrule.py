#!/usr/bin/env python3
"""Writes dashboards/alerts/prometheusrule.yaml (a monitoring.coreos.com/v1 PrometheusRule for the
Prometheus Operator / kube-prometheus-stack) from dashboards/alerts/comet-sidecar-rules.yml, so
the two always carry the same groups. tests/integration/test_alerts.py fails when the committed
file is not what this script writes.

    python3 dashboards/tools/gen_prometheusrule.py          # rewrite the file
    python3 dashboards/tools/gen_prometheusrule.py --check  # exit 1 if it is out of date
"""
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
RULES = ROOT / "dashboards" / "alerts" / "comet-sidecar-rules.yml"
OUT = ROOT / "dashboards" / "alerts" / "prometheusrule.yaml"

HEADER = """\
# Generated from dashboards/alerts/comet-sidecar-rules.yml by
# dashboards/tools/gen_prometheusrule.py: edit the rules file and re-run the script.
#
# kube-prometheus-stack only loads PrometheusRules that match its ruleSelector; by default that
# is the label release=<the Helm release name of kube-prometheus-stack>. Change the release label
# below if your release is not called kube-prometheus-stack (or set
# prometheus.prometheusSpec.ruleSelectorNilUsesHelmValues=false to load every PrometheusRule).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: comet-sidecar
  labels:
    app.kubernetes.io/name: comet-sidecar
    app.kubernetes.io/component: alerting-rules
    release: kube-prometheus-stack
spec:
"""


def rules_groups(text):
    """The rules file from its top-level `groups:` line on (leading comments dropped)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("groups:"):
            return lines[i:]
    raise SystemExit(f"{RULES}: no top-level 'groups:' line")


def render(text):
    body = "".join(("  " + line if line else "") + "\n" for line in rules_groups(text))
    return HEADER + body


def spec_groups(prometheusrule_text):
    """The inverse: the spec's groups as a plain rules file (for promtool check rules)."""
    lines = prometheusrule_text.splitlines()
    start = lines.index("spec:") + 1
    out = []
    for line in lines[start:]:
        if line and not line.startswith("  "):
            break
        out.append(line[2:])
    return "\n".join(out) + "\n"


def main(argv):
    want = render(RULES.read_text())
    if "--check" in argv:
        if OUT.read_text() != want:
            print(f"{OUT} is out of date: run {pathlib.Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(want)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
