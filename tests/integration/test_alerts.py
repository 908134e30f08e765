#!/usr/bin/env python3
"""test_alerts.py - owns: proving the alert rules load and behave: `promtool check rules` on the
rules file and on the PrometheusRule's spec.groups, the PrometheusRule generated from the rules
file, `promtool test rules` on dashboards/alerts/tests/*.yml, and every alert covered by a case
where it fires and a case where it stays silent, with severity, summary, description and runbook.
promtool is required (deploy/install-deps.sh --test installs Debian's prometheus package): the
test FAILS without it. Every promtool run is bounded in time.
Usage: python3 test_alerts.py --binary B --source-dir S --work-dir W (--binary unused)
"""
import glob
import os
import re
import shutil
import subprocess
import sys

from lib.harness import Runner, check, parse_args

args = parse_args()
runner = Runner()
SRC = args.source_dir
ALERTS = os.path.join(SRC, "dashboards", "alerts")
RULES = os.path.join(ALERTS, "comet-sidecar-rules.yml")
PROMRULE = os.path.join(ALERTS, "prometheusrule.yaml")
TESTS = sorted(glob.glob(os.path.join(ALERTS, "tests", "*.yml")))
GEN = os.path.join(SRC, "dashboards", "tools", "gen_prometheusrule.py")
TIMEOUT = 120

PROMTOOL = shutil.which("promtool")
if PROMTOOL is None:
    print("FAIL promtool not found: install Debian's prometheus package "
          "(deploy/install-deps.sh --test)", flush=True)
    print("0 passed, 1 failed")
    sys.exit(1)

sys.path.insert(0, os.path.dirname(GEN))
import gen_prometheusrule  # noqa: E402


def promtool(*argv):
    return subprocess.run([PROMTOOL, *argv], capture_output=True, text=True, timeout=TIMEOUT)


def alerts():
    """{name: rule text block} of the rules file."""
    with open(RULES) as f:
        text = f.read()
    blocks = re.split(r"\n      - (?=alert:)", text)[1:]
    return {re.match(r"alert: (\S+)", b).group(1): b for b in blocks}


def rules_file_is_valid():
    p = promtool("check", "rules", RULES)
    check(p.returncode == 0, p.stdout + p.stderr)
    check(f"SUCCESS: {len(alerts())} rules found" in p.stdout, p.stdout)


def prometheusrule_is_generated_and_valid():
    p = subprocess.run([sys.executable, GEN, "--check"], capture_output=True, text=True,
                       timeout=TIMEOUT)
    check(p.returncode == 0, p.stderr)
    with open(PROMRULE) as f:
        text = f.read()
    for line in ("apiVersion: monitoring.coreos.com/v1", "kind: PrometheusRule",
                 "  name: comet-sidecar", "spec:", "  groups:"):
        check(line in text.splitlines(), line)
    spec = os.path.join(args.work_dir, "prometheusrule-spec.yml")
    groups = gen_prometheusrule.spec_groups(text)
    with open(spec, "w") as f:
        f.write(groups)
    with open(RULES) as f:
        check(groups.splitlines() == gen_prometheusrule.rules_groups(f.read()),
              "spec.groups differ from the rules file")
    p = promtool("check", "rules", spec)
    check(p.returncode == 0, p.stdout + p.stderr)
    check(f"SUCCESS: {len(alerts())} rules found" in p.stdout, p.stdout)


def every_alert_is_documented():
    for name, block in alerts().items():
        sev = re.search(r"\n\s+severity: (\S+)", block)
        check(sev and sev.group(1) in ("critical", "warning", "info"), f"{name}: severity")
        for key in ("summary", "description", "runbook"):
            m = re.search(rf"\n\s+{key}: \"(.+)\"", block)
            check(m and len(m.group(1)) > 20, f"{name}: {key} missing or too short")
        runbook = re.search(r"\n\s+runbook: \"(.+)\"", block).group(1)
        check("Dashboard 'comet-sidecar'" in runbook, f"{name}: runbook names no panel")


def promtool_unit_tests_pass():
    check(TESTS, "no promtool unit tests")
    p = promtool("test", "rules", *TESTS)
    check(p.returncode == 0, p.stdout + p.stderr)
    check(p.stdout.count("SUCCESS") == len(TESTS), p.stdout)


def every_alert_fires_and_stays_silent_in_tests():
    fires, silent = set(), set()
    for path in TESTS:
        with open(path) as f:
            text = f.read()
        check("../comet-sidecar-rules.yml" in text, f"{path} does not load the rules file")
        for case in re.split(r"\n\s+- eval_time: ", text)[1:]:
            name = re.search(r"alertname: (\S+)", case).group(1)
            if re.search(r"exp_alerts: \[\]", case):
                silent.add(name)
            elif re.search(r"exp_alerts:\n\s+- exp_labels:", case):
                fires.add(name)
    names = set(alerts())
    check(names - fires == set(), f"alerts never shown firing: {sorted(names - fires)}")
    check(names - silent == set(), f"alerts never shown silent: {sorted(names - silent)}")
    check((fires | silent) <= names, f"tests name unknown alerts: {sorted((fires | silent) - names)}")


def a_broken_rule_is_caught():
    """The promtool runs above pass only if they can fail: a typo'd expression and a wrong
    expectation must both be reported."""
    bad_rules = os.path.join(args.work_dir, "bad-rules.yml")
    with open(RULES) as f:
        text = f.read()
    with open(bad_rules, "w") as f:
        f.write(text.replace("sum by (namespace, job, gateway_probe) (increase(",
                             "sum by (namespace, job, gateway_probe) (increase((", 1))
    p = promtool("check", "rules", bad_rules)
    check(p.returncode != 0, p.stdout)
    # The canary tests against a rules file whose drill alert never fires.
    test_dir = os.path.join(args.work_dir, "tests")
    os.makedirs(test_dir, exist_ok=True)
    drill = 'gateway_probe=~"invalid[-_]credential.*", gateway_outcome="fail"'
    check(text.count(drill) == 3, "the drill alert's selector changed: update this test")
    with open(os.path.join(args.work_dir, "comet-sidecar-rules.yml"), "w") as f:
        f.write(text.replace(drill, drill.replace('"fail"', '"nope"')))
    with open(os.path.join(ALERTS, "tests", "canary.yml")) as f, \
            open(os.path.join(test_dir, "t.yml"), "w") as g:
        g.write(f.read())
    p = promtool("test", "rules", os.path.join(test_dir, "t.yml"))
    check(p.returncode != 0 and "CometSidecarCredentialDrillNotFailingClosed" in p.stderr,
          p.stdout + p.stderr)


for t in (rules_file_is_valid, prometheusrule_is_generated_and_valid, every_alert_is_documented,
          promtool_unit_tests_pass, every_alert_fires_and_stays_silent_in_tests,
          a_broken_rule_is_caught):
    runner.run(t)
runner.finish()
