"""The deploy gate as a pipeline step runs it: `comet-sidecar --config deploy/examples/drill.json
--once` against the mock upstream. It passes against a healthy upstream and fails (exit 1, the
table says why) when the configured key is rejected, when the invalid credential is accepted, and
when the streaming probe is cut. Then the support packet, and a scan of every byte the process
wrote (stdout, stderr, evidence, exported telemetry, the packet) for the key."""
import os
import shutil

from lib.harness import Proc, Runner, check, parse_args, start_mock_upstream

args = parse_args()
runner = Runner()
KEY = "sk-test-deploy-gate-0123456789abcdefXYZ"
DRILL = os.path.join(args.source_dir, "deploy", "examples", "drill.json")


def gate(name, base, key=KEY, extra=()):
    work = os.path.join(args.work_dir, name)
    os.makedirs(work, exist_ok=True)
    p = runner.track(Proc([args.binary, "--config", DRILL, "--once",
                           "--evidence", os.path.join(work, "evidence.jsonl"),
                           "--set", "exporter.traces=file", "--set", "exporter.metrics=file",
                           "--set", "exporter.file.path=" + os.path.join(work, "telemetry.jsonl"),
                           *extra],
                          env={"COMETAPI_BASE_URL": base, "COMETAPI_API_KEY": key,
                               "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}, cwd=work))
    code = p.wait_exit(60)
    table = {}
    for line in p.lines["stdout"]:
        cols = line.split()
        if len(cols) >= 7 and cols[0] != "PROBE" and not line.startswith("deploy gate"):
            table[cols[0]] = (cols[2], line)
    verdict = [l for l in p.lines["stdout"] if l.startswith("deploy gate:")]
    return code, table, verdict, p, work


def no_key_anywhere(p, work, key=KEY):
    check(key.encode() not in p.raw["stdout"] + p.raw["stderr"], "key in stdout/stderr")
    for root, _, files in os.walk(work):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                check(key.encode() not in fh.read(), f"key in {f}")


def healthy_upstream_passes():
    _, base = start_mock_upstream(runner, args.work_dir, keys=(KEY,))
    code, table, verdict, p, work = gate("healthy", base)
    check(code == 0, (code, p.lines["stdout"]))
    check(len(table) == 6 and all(line.endswith("PASS") for _, line in table.values()), table)
    check(verdict and "PASS (6 of 6" in verdict[0], verdict)
    with open(os.path.join(work, "evidence.jsonl")) as f:
        evidence = [l for l in f if l.strip()]
    check(len(evidence) == 6, len(evidence))
    # The support packet for the incident hand-off, from the same evidence.
    out = os.path.join(work, "packet")
    pk = runner.track(Proc([args.binary, "support-packet", "--evidence",
                            os.path.join(work, "evidence.jsonl"), "--since", "1h", "--out", out,
                            "--config", DRILL], env={"COMETAPI_API_KEY": KEY}))
    check(pk.wait_exit(20) == 0, pk.lines["stderr"][-3:])
    with open(os.path.join(out, "support-packet.md")) as f:
        md = f.read()
    for probe in ("chat-stream", "invalid-credential", "unknown-model"):
        check(probe in md, probe)
    check("[REDACTED]" in md, "the effective configuration is in it, redacted")
    no_key_anywhere(p, work)
    no_key_anywhere(pk, out)


def rejected_key_fails():
    _, base = start_mock_upstream(runner, args.work_dir, keys=(KEY,))
    wrong = "sk-test-wrong-key-000000000000000000"
    code, table, verdict, p, work = gate("rejected", base, key=wrong)
    check(code == 1, code)
    check(table["chat"][0] == "auth_error" and "FAIL" in table["chat"][1], table["chat"])
    check(table["invalid-credential"][1].endswith("PASS"), table["invalid-credential"])
    check(verdict and verdict[0].startswith("deploy gate: FAIL"), verdict)
    no_key_anywhere(p, work, key=wrong)


def accepted_invalid_credential_fails():
    _, base = start_mock_upstream(runner, args.work_dir, keys=())  # accepts any key
    code, table, verdict, p, work = gate("accepted", base)
    check(code == 1, code)
    row = table["invalid-credential"]
    check(row[0] == "success" and "FAIL" in row[1], row)
    check(table["chat"][1].endswith("PASS"), table["chat"])


def cut_stream_fails():
    _, base = start_mock_upstream(runner, args.work_dir, keys=(KEY,))
    code, table, verdict, p, work = gate("cut", base, extra=("--set", "probes.1.model=mock-fault-stream_cut"))
    check(code == 1, code)
    row = table["chat-stream"]
    check(row[0] == "stream_interrupted" and "FAIL" in row[1], row)
    check(table["chat"][1].endswith("PASS"), table["chat"])


def no_channel_unknown_model_fails_closed():
    """CometAPI's family of gateways answers an unknown model with 503 "no available channel"
    and code model_not_found: the drill must see model_not_found, unretried, failed closed."""
    _, base = start_mock_upstream(runner, args.work_dir, keys=(KEY,),
                                  extra=("--unknown-model", "no_channel"))
    code, table, verdict, p, work = gate("no-channel", base)
    check(code == 0, (code, p.lines["stdout"]))
    observed, line = table["unknown-model"]
    check(observed == "model_not_found" and line.endswith("PASS"), line)
    check(" 503 " in line and " 0 failed_closed " in line, line)


for t in (healthy_upstream_passes, rejected_key_fails, accepted_invalid_credential_fails,
          cut_stream_fails, no_channel_unknown_model_fails_closed):
    runner.run(t)
runner.finish()
