"""The command line and configuration as a user meets them: --help, --version, --check-config
with redaction, and every configuration error path exiting 2 with a message naming the key."""
import json
import os
import stat

from lib.harness import Proc, Runner, check, parse_args, write_json

args = parse_args()
runner = Runner()
KEY = "sk-test-checkconfig-0123456789abcdef"


def run(argv, env=None, timeout=10):
    p = Proc([args.binary, *argv], env=env)
    runner.track(p)
    code = p.wait_exit(timeout)
    return code, p


def error_of(p):
    logs = p.json_logs()
    errs = [l for l in logs if l["level"] == "error"]
    check(errs, f"an error line is logged: {p.lines['stderr']}")
    return errs[-1].get("error", "")


def help_documents_flags_and_exit_codes():
    code, p = run(["--help"])
    check(code == 0)
    out = "\n".join(p.lines["stdout"])
    for flag in ("--config", "--set", "--check-config", "--once", "--log-level", "--version", "--help"):
        check(flag in out, f"{flag} documented")
    for code_line in ("  0 ", "  1 ", "  2 ", "  3 ", "128+N"):
        check(code_line in out, f"exit code {code_line.strip()} documented")


def version_prints():
    code, p = run(["--version"])
    check(code == 0 and p.lines["stdout"][0].startswith("comet-sidecar "), p.lines["stdout"])


def misspelled_key_names_it():
    conf = write_json(os.path.join(args.work_dir, "typo.json"), {"cometapi": {"base_ulr": "http://x/v1"}})
    code, p = run(["--check-config", "--config", conf])
    check(code == 2, f"exit {code}")
    err = error_of(p)
    check("cometapi.base_ulr" in err and "cometapi.base_url" in err, err)


def wrong_type_names_path_and_value():
    conf = write_json(os.path.join(args.work_dir, "type.json"), {"health": {"max_connections": "many"}})
    code, p = run(["--check-config", "--config", conf])
    err = error_of(p)
    check(code == 2 and "health.max_connections" in err and "many" in err, err)


def missing_file():
    code, p = run(["--check-config", "--config", os.path.join(args.work_dir, "absent.json")])
    err = error_of(p)
    check(code == 2 and "absent.json" in err, err)


def invalid_json_has_position():
    path = os.path.join(args.work_dir, "broken.json")
    with open(path, "w") as f:
        f.write('{\n  "log": {\n    "level": "info",,\n  }\n}\n')
    code, p = run(["--check-config", "--config", path])
    err = error_of(p)
    check(code == 2 and "line 3" in err, err)


def unreadable_key_file():
    path = os.path.join(args.work_dir, "key-unreadable")
    code, p = run(["--check-config"], env={"COMETAPI_API_KEY_FILE": path})
    err = error_of(p)
    check(code == 2 and path in err, err)


def writable_key_file_refused():
    path = os.path.join(args.work_dir, "key-open")
    with open(path, "w") as f:
        f.write(KEY)
    os.chmod(path, 0o666)
    code, p = run(["--check-config"], env={"COMETAPI_API_KEY_FILE": path})
    err = error_of(p)
    check(code == 2 and "writable" in err, err)
    check(KEY.encode() not in p.raw["stderr"] + p.raw["stdout"])


def bad_set_flags():
    for bad, needle in (("log.level", "expected"), ("nope.key=1", "nope.key"),
                        ("health.max_connections=lots", "health.max_connections")):
        code, p = run(["--check-config", "--set", bad])
        err = error_of(p)
        check(code == 2 and needle in err, f"--set {bad}: {err}")


def unknown_flag():
    code, p = run(["--frobnicate"])
    check(code == 2 and "--frobnicate" in error_of(p))


def check_config_prints_effective_and_redacts():
    conf = write_json(os.path.join(args.work_dir, "ok.json"), {"log": {"level": "warn"}})
    env = {"COMETAPI_API_KEY": KEY, "OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=hdr-secret-value-123",
           "OTEL_SERVICE_NAME": "checkout-gateway"}
    code, p = run(["--check-config", "--config", conf, "--set", "shutdown.deadline=7s"], env=env)
    check(code == 0, f"exit {code}: {p.lines['stderr']}")
    out = b"".join([p.raw["stdout"], p.raw["stderr"]])
    check(KEY.encode() not in out and b"hdr-secret-value-123" not in out, "secrets redacted")
    eff = json.loads(p.raw["stdout"])
    check(eff["service"]["name"] == "checkout-gateway", eff["service"])
    check(eff["log"]["level"] == "warn", eff["log"])
    check(eff["cometapi"]["api_key"] == "[REDACTED]", eff["cometapi"])
    check("7" in json.dumps(eff["shutdown"]), eff["shutdown"])


for t in (help_documents_flags_and_exit_codes, version_prints, misspelled_key_names_it,
          wrong_type_names_path_and_value, missing_file, invalid_json_has_position,
          unreadable_key_file, writable_key_file_refused, bad_set_flags, unknown_flag,
          check_config_prints_effective_and_redacts):
    runner.run(t)
runner.finish()
