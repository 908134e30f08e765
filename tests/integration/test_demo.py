"""test_demo.py - owns: proving the README's run command (deploy/demo/run.sh) does what the README
says, on the binary under test (DEMO_BINARY skips the script's install and build steps, which the
test command has already done): it exits 0 by itself, its live view shows canary outcomes,
retries and fallback decisions from the drill with scheduled faults and the access-log counts
beside them, the access log it followed was read exactly (every line the demo gateway wrote, one
rotation), and every file it lists exists and holds what it says. No key may leak (the script
itself scans; this test checks that scan passed through the exit code and scans again)."""
import glob
import json
import os
import re
import subprocess

from lib.harness import Runner, check, free_port, parse_args

args = parse_args()
runner = Runner()
SECONDS = 16


def run_demo():
    out = os.path.join(args.work_dir, "demo")
    env = dict(os.environ, DEMO_BINARY=args.binary, DEMO_SECONDS=str(SECONDS), DEMO_OUT=out,
               DEMO_HEALTH_PORT=str(free_port()))
    p = subprocess.run(["bash", os.path.join(args.source_dir, "deploy", "demo", "run.sh")],
                       cwd=args.source_dir, env=env, capture_output=True, text=True,
                       timeout=SECONDS + 60, stdin=subprocess.DEVNULL)
    return p, out


def demo_runs_and_shows_every_capability():
    p, out = run_demo()
    check(p.returncode == 0, f"demo exit {p.returncode}\n{p.stdout[-3000:]}\n{p.stderr[-2000:]}")
    view = p.stdout
    check(re.search(r"canary\s+chat\s+PASS", view), "a passing happy-path canary is shown")
    check(re.search(r"canary\s+invalid-credential\s+(PASS|FAIL)\s+expected auth_error", view),
          "the invalid-credential drill is shown")
    check(re.search(r"retries [1-9]", view), "the scheduled faults cause visible retries")
    check("fallback failed_closed" in view, "fail-closed decisions are shown")
    check(re.search(r"fallback (allowed|used)", view), "an allowed or used fallback is shown")
    check("telemetry      spans" in view, "exporter counts are shown")
    check("rotating the API key file" in view and "api key        reloaded" in view,
          "the key rotation is shown and picked up")
    check("summary: up" in view and "comet-sidecar exited with code 0" in view, "summary")

    # The access log: everything the gateway wrote was read, across its one rename rotation.
    with open(os.path.join(out, "gateway.out")) as f:
        gw = json.loads(f.read().strip().splitlines()[-1])
    last = [l for l in view.splitlines() if re.search(r"\d  access log ", l)][-1]
    m = re.search(r"(\d+) lines \((\d+) malformed\) \| (\d+) spans \| rotations (\d+)", last)
    check(m, last)
    lines, malformed, spans, rotations = map(int, m.groups())
    check(gw["rotations"] == 1 and rotations == 1, f"{gw} / {last}")
    check(lines == gw["written"] and malformed == 0 and spans == lines, f"{gw} / {last}")

    # The files the summary lists.
    for name in ("view.txt", "sidecar.log", "telemetry.jsonl", "evidence.jsonl", "upstream.log",
                 "packet/support-packet.md", "gateway-access.log", "gateway-access.log.1"):
        check(os.path.exists(os.path.join(out, name)), f"{name} missing")
        check(os.path.join(out, name.split(".1")[0]) in view, f"{name} not listed")
    kinds = {"spans": 0, "metrics": 0}
    with open(os.path.join(out, "telemetry.jsonl")) as f:
        for line in f:
            req = json.loads(line)
            kinds["spans" if "resourceSpans" in req else "metrics"] += 1
    check(kinds["spans"] > 0 and kinds["metrics"] > 0, kinds)
    with open(os.path.join(out, "evidence.jsonl")) as f:
        runs = [json.loads(l) for l in f if l.strip()]
    check(len(runs) >= 5 and {r["probe"] for r in runs} >= {"chat", "invalid-credential"}, runs[:2])
    with open(os.path.join(out, "api-key")) as f:
        key = f.read().strip()
    for path in glob.glob(os.path.join(out, "**", "*"), recursive=True):
        if os.path.isfile(path) and not path.endswith("api-key"):
            with open(path, "rb") as f:
                check(key.encode() not in f.read(), f"key leaked into {path}")


runner.run(demo_runs_and_shows_every_capability)
runner.finish()
