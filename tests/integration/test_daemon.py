"""The binary as a user runs it: health endpoints, upstream checks through the internal HTTP
client against a real local server (ok, timeout, oversize body, rejected key), key-file rotation,
--once exit codes, concurrent requests (ok, timed out, oversize) through one client, SIGTERM drain with its deadline, a second signal, and a taken port."""
import json
import os
import signal
import socket
import time

from lib.harness import (Proc, Runner, check, check_fds_stable, free_port, http_get, mock_control,
                         parse_args, start_mock_upstream, write_json)

KEY = "sk-test-integration-0123456789abcdef"
KEY2 = "sk-test-rotated-fedcba9876543210"

args = parse_args()
runner = Runner()


def start_sidecar(name, base_url, overrides=None, env=None, extra_args=()):
    port = free_port()
    cfg = {"health": {"endpoint": f"127.0.0.1:{port}"}, "shutdown": {"deadline": "5s"},
           "cometapi": {"base_url": base_url, "timeout": "3s", "key_file_check_interval": "200ms"},
           # These tests are about the process; test_telemetry_e2e covers exporting.
           "exporter": {"traces": "none", "metrics": "none"}}
    for path, value in (overrides or {}).items():
        node = cfg
        *parents, leaf = path.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    conf = write_json(os.path.join(args.work_dir, f"{name}.json"), cfg)
    full_env = {"COMETAPI_API_KEY": KEY}
    full_env.update(env or {})
    proc = Proc([args.binary, "--config", conf, *extra_args], env=full_env)
    runner.track(proc)
    return proc, f"http://127.0.0.1:{port}"


def assert_no_secret(proc):
    for stream in ("stdout", "stderr"):
        for k in (KEY, KEY2):
            check(k.encode() not in proc.raw[stream], f"key leaked on {stream}")


def health_and_sigterm():
    _, base = start_mock_upstream(runner, args.work_dir, keys=(KEY,))
    sc, health = start_sidecar("health", base)
    sc.wait_log("started")
    status, body = http_get(health + "/healthz")
    check(status == 200 and body == b"ok\n", f"/healthz {status} {body!r}")
    status, body = http_get(health + "/readyz")
    check(status == 200, f"/readyz {status} {body!r}")
    check(http_get(health + "/nope")[0] == 404)
    done = sc.wait_log("upstream check finished")
    check(done["ok"] is True and done["http_status"] == 200, done)
    check(done["upstream_request_id"] != "", "the upstream's x-request-id is recorded")
    t0 = time.monotonic()
    sc.p.send_signal(signal.SIGTERM)
    code = sc.wait_exit(10)
    took = time.monotonic() - t0
    check(code == 0, f"exit code {code}")
    check(took < 2.0, f"an idle sidecar stops promptly after SIGTERM (took {took:.2f}s)")
    logs = sc.json_logs()  # raises if any stderr line is not JSON
    check(any(l["msg"] == "stopped" for l in logs))
    check(all({"time", "level", "msg"} <= set(l) for l in logs))
    assert_no_secret(sc)


def drain_deadline_and_readiness():
    _, base = start_mock_upstream(runner, args.work_dir, keys=(KEY,))
    mock_control(base, "/__mock/faults", {"faults": [{"fault": "hang", "path": "/v1/models"}]})
    sc, health = start_sidecar("drain", base, {"shutdown.deadline": "1500ms", "cometapi.timeout": "60s"})
    sc.wait_log("started")
    sc.p.send_signal(signal.SIGTERM)
    sc.wait_log("shutting down")
    t0 = time.monotonic()
    status, body = http_get(health + "/readyz")
    check(status == 503, f"/readyz while draining: {status} {body!r}")
    check(http_get(health + "/healthz")[0] == 200, "/healthz still answers while draining")
    code = sc.wait_exit(10)
    took = time.monotonic() - t0
    check(code == 0, f"exit code {code}")
    check(0.8 < took < 4.0, f"stopped at the 1.5 s deadline, took {took:.2f}s")
    sc.wait_log("shutdown deadline reached; cancelling what is still in flight")


def second_signal_exits_at_once():
    _, base = start_mock_upstream(runner, args.work_dir, keys=(KEY,))
    mock_control(base, "/__mock/faults", {"faults": [{"fault": "hang", "path": "/v1/models"}]})
    sc, _ = start_sidecar("second", base, {"shutdown.deadline": "60s", "cometapi.timeout": "60s"})
    sc.wait_log("started")
    sc.p.send_signal(signal.SIGTERM)
    sc.wait_log("shutting down")
    t0 = time.monotonic()
    sc.p.send_signal(signal.SIGTERM)
    code = sc.wait_exit(10)
    check(code == 128 + signal.SIGTERM, f"exit code {code}")
    check(time.monotonic() - t0 < 2.0, "second signal exits at once")


def timeout_is_classified():
    _, base = start_mock_upstream(runner, args.work_dir, keys=(KEY,))
    mock_control(base, "/__mock/faults", {"faults": [{"fault": "delay", "ms": 5000, "path": "/v1/models"}]})
    sc, _ = start_sidecar("timeout", base, {"cometapi.timeout": "400ms"})
    done = sc.wait_log("upstream check finished")
    check(done["ok"] is False and done["error_class"] == "timeout", done)
    check(done["duration_s"] < 2.0, done)
    sc.p.send_signal(signal.SIGTERM)
    check(sc.wait_exit(10) == 0)


def oversize_body_is_an_error():
    models = ",".join(f"gpt-4o-mini-variant-{i:03d}" for i in range(60))  # a /models list > 1 KiB
    _, base = start_mock_upstream(runner, args.work_dir, keys=(KEY,), extra=("--models", models))
    sc, _ = start_sidecar("oversize", base, {"cometapi.max_response_bytes": "1KiB"})
    done = sc.wait_log("upstream check finished")
    check(done["ok"] is False and done["error_class"] == "parse_error", done)
    sc.p.send_signal(signal.SIGTERM)
    check(sc.wait_exit(10) == 0, "an oversize body never crashes the sidecar")


def key_file_rotation_without_restart():
    _, base = start_mock_upstream(runner, args.work_dir, keys=(KEY, KEY2))
    key_dir = os.path.join(args.work_dir, "secret")
    os.makedirs(key_dir, exist_ok=True)
    key_file = os.path.join(key_dir, "api-key")
    with open(key_file, "w") as f:
        f.write(KEY + "\n")
    os.chmod(key_file, 0o600)
    sc, _ = start_sidecar("rotation", base, env={"COMETAPI_API_KEY": "", "COMETAPI_API_KEY_FILE": key_file})
    first = sc.wait_log("upstream check finished")
    check(first["ok"] is True, first)
    fds_start = sc.open_fds()
    n = len(sc.lines["stderr"])
    tmp = key_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(KEY2 + "\n")
    os.chmod(tmp, 0o600)
    os.rename(tmp, key_file)
    sc.wait_log("api key reloaded", start=n)
    again = sc.wait_log("upstream check finished", start=n)
    check(again["ok"] is True, again)
    reqs = mock_control(base, "/__mock/requests")
    check(reqs[-1].get("auth_matched") is True, reqs[-1])
    # A key the upstream rejects proves the new key really is what is sent.
    n = len(sc.lines["stderr"])
    with open(tmp, "w") as f:
        f.write("sk-test-not-accepted-000000000000\n")
    os.chmod(tmp, 0o600)
    os.rename(tmp, key_file)
    bad = sc.wait_log("upstream check finished", start=n)
    check(bad["ok"] is False and bad["http_status"] == 401, bad)
    # More swaps, the way kubelet does them: every one re-opens and re-watches, none may leak.
    for i in range(5):
        n = len(sc.lines["stderr"])
        with open(tmp, "w") as f:
            f.write((KEY if i % 2 else KEY2) + "\n")
        os.chmod(tmp, 0o600)
        os.rename(tmp, key_file)
        sc.wait_log("api key reloaded", start=n)
        sc.wait_log("upstream check finished", start=n)  # nothing in flight at the count
    # One kept-alive connection to the upstream may be pooled.
    before, after = check_fds_stable(sc, fds_start, spare_sockets=1)
    print(f"  fds after the first check {before}, after 7 key swaps {after}", flush=True)
    sc.p.send_signal(signal.SIGTERM)
    check(sc.wait_exit(10) == 0)
    assert_no_secret(sc)
    check(b"sk-test-not-accepted" not in sc.raw["stderr"])


def once_exit_codes():
    _, base = start_mock_upstream(runner, args.work_dir, keys=(KEY,))
    sc, _ = start_sidecar("once-ok", base, extra_args=["--once"])
    check(sc.wait_exit(15) == 0, "--once with a healthy upstream exits 0")
    sc, _ = start_sidecar("once-bad", base, env={"COMETAPI_API_KEY": "sk-test-wrong-key-0000000000"},
                          extra_args=["--once"])
    check(sc.wait_exit(15) == 1, "--once with a rejected key exits 1")


def concurrent_requests_through_the_client():
    """Several requests in flight at once through the one internal HTTP client of the running
    daemon: three answers that take 600 ms, one past its timeout and one body over the size cap,
    all started together by --once. Each is classified on its own, and the mock saw them
    overlap."""
    models = ",".join(f"gpt-4o-mini-variant-{i:03d}" for i in range(60))  # a /models list > 1 KiB
    _, base = start_mock_upstream(runner, args.work_dir, keys=(KEY,), extra=("--models", models))
    probes = [{"name": f"ok-{c}", "model": "mock-fault-delay-600"} for c in "abc"]
    probes += [{"name": "slow", "model": "mock-fault-delay-5000", "timeout": "400ms",
                "retry": {"max_attempts": 1}},
               {"name": "big", "endpoint": "models", "expect": "parse_error"}]
    sc, _ = start_sidecar("concurrent", base,
                          {"cometapi.max_response_bytes": "1KiB", "canary.max_concurrent_runs": 8,
                           "evidence.enabled": False, "probes": probes},
                          extra_args=["--once"])
    t0 = time.monotonic()
    code = sc.wait_exit(20)
    took = time.monotonic() - t0
    table = sc.raw["stdout"].decode()
    check(code == 1, f"exit {code} (the timed-out probe fails the gate):\n{table}")
    rows = {l.split()[0]: l.split() for l in table.splitlines()[1:] if not l.startswith("deploy")}
    for name in ("ok-a", "ok-b", "ok-c"):
        check(rows[name][2] == "success" and rows[name][-1] == "PASS", f"{name}:\n{table}")
    check(rows["slow"][2] == "timeout" and rows["slow"][3] == "-", f"slow:\n{table}")
    check(rows["big"][2] == "parse_error" and rows["big"][-1] == "PASS", f"big:\n{table}")
    chat = [q for q in mock_control(base, "/__mock/requests") if q["path"] == "/v1/chat/completions"]
    check(len(chat) == 4, f"{len(chat)} chat requests")
    spans = [(q["time"], q["time"] + (q.get("duration_ms") or 0) / 1000) for q in chat]
    overlap = max(sum(1 for a, b in spans if a <= t < b) for t, _ in spans)
    check(overlap >= 3, f"at most {overlap} requests in flight at once: {spans}")
    print(f"  {len(chat)} chat requests, {overlap} in flight at once; --once took {took:.2f} s",
          flush=True)
    assert_no_secret(sc)


def taken_port_exits_3():
    _, base = start_mock_upstream(runner, args.work_dir, keys=(KEY,))
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    runner.cleanups.append(s.close)
    port = s.getsockname()[1]
    sc, _ = start_sidecar("port", base, extra_args=["--set", f"health.endpoint=127.0.0.1:{port}"])
    check(sc.wait_exit(10) == 3, "a taken health port is a startup failure (exit 3)")
    err = sc.wait_log("could not start")
    check("address already in use" in err["error"], err)


for t in (health_and_sigterm, drain_deadline_and_readiness, second_signal_exits_at_once,
          timeout_is_classified, oversize_body_is_an_error, key_file_rotation_without_restart,
          once_exit_codes, concurrent_requests_through_the_client, taken_port_exits_3):
    runner.run(t)
runner.finish()
