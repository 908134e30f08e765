"""bench_accesslog_run.py - owns: measuring the sidecar replaying a generated access log
(start_position beginning) to a loopback OTLP sink: wall time until the checkpoint reaches the end
of the file (every line parsed, recorded, exported, accepted and acknowledged), CPU seconds of
the sidecar process (/proc/PID/stat utime + stime), its peak RSS (VmHWM), what the sink received;
then idle CPU and RSS while following a quiet file. Called by bench_accesslog.sh."""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TEXT_FORMAT = ("log_format bench '$remote_addr - $remote_user [$time_local] \"$request\" "
               "$status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" "
               "rt=$request_time us=\"$upstream_status\" ua=\"$upstream_addr\" "
               "tp=\"$http_traceparent\"';")
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def checkpoint_offset(path):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("offset "):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def start_sink():
    p = subprocess.Popen([sys.executable, os.path.join(HERE, "otlp_sink.py")],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    addr = json.loads(p.stdout.readline())["listening"]
    return p, "http://" + addr


def stop_sink(p):
    p.send_signal(signal.SIGTERM)
    out = json.loads(p.stdout.readline())
    p.wait(timeout=10)
    return out


def start_sidecar(binary, work, name, sink_url, access_log):
    cfg = {"health": {"endpoint": f"127.0.0.1:{free_port()}"}, "log": {"level": "warn"},
           "cometapi": {"base_url": "http://127.0.0.1:1/v1", "timeout": "1s"},
           "exporter": {"metrics_interval": "10s", "batch": {"schedule_delay": "100ms"}},
           "access_log": access_log}
    conf = os.path.join(work, name + ".json")
    with open(conf, "w") as f:
        json.dump(cfg, f)
    env = dict(os.environ, COMETAPI_API_KEY="sk-bench-0123456789abcdef",
               OTEL_EXPORTER_OTLP_ENDPOINT=sink_url)
    err = open(os.path.join(work, name + ".stderr"), "w")
    return subprocess.Popen([binary, "--config", conf], env=env, stdout=subprocess.DEVNULL,
                            stderr=err)


def replay(binary, work, name, log, lines, fmt):
    cp = os.path.join(work, name + ".checkpoint")
    if os.path.exists(cp):
        os.remove(cp)
    size = os.path.getsize(log)
    al = {"path": log, "start_position": "beginning", "checkpoint_path": cp,
          "checkpoint_interval": "100ms"}
    if fmt == "text":
        al.update(format="nginx", nginx_log_format=TEXT_FORMAT)
    sink, url = start_sink()
    t0 = time.monotonic()
    sc = start_sidecar(binary, work, name, url, al)
    while checkpoint_offset(cp) < size:
        if sc.poll() is not None:
            raise SystemExit(f"sidecar exited with {sc.returncode}; see {work}/{name}.stderr")
        time.sleep(0.05)
    wall = time.monotonic() - t0
    cpu = cpu_seconds(sc.pid)
    hwm = status_kib(sc.pid, "VmHWM")
    sc.send_signal(signal.SIGTERM)
    sc.wait(timeout=30)
    got = stop_sink(sink)
    spans_bytes = got["bytes"].get("/v1/traces", 0)
    print(f"{name:5s} {lines:,} lines, {size / 1e6:.0f} MB: {wall:.2f} s wall, "
          f"{lines / wall:,.0f} lines/s, {cpu:.2f} CPU s ({cpu * 1e6 / lines:.2f} CPU s per "
          f"million lines), peak RSS {hwm / 1024:.1f} MiB; sink: "
          f"{got['requests'].get('/v1/traces', 0)} trace requests, {spans_bytes / 1e6:.0f} MB",
          flush=True)


def idle(binary, work, seconds):
    quiet = os.path.join(work, "quiet.log")
    with open(quiet, "w") as f:
        f.write('{"method":"GET","uri":"/v1/models","status":200}\n')
    sink, url = start_sink()
    sc = start_sidecar(binary, work, "idle", url, {"path": quiet})
    time.sleep(2)  # let start-up (first probe, first export) finish before measuring
    c0 = cpu_seconds(sc.pid)
    time.sleep(seconds)
    c1 = cpu_seconds(sc.pid)
    rss = status_kib(sc.pid, "VmRSS")
    hwm = status_kib(sc.pid, "VmHWM")
    sc.send_signal(signal.SIGTERM)
    sc.wait(timeout=30)
    stop_sink(sink)
    print(f"idle  following a quiet file for {seconds} s: {c1 - c0:.2f} CPU s "
          f"({(c1 - c0) / seconds * 100:.2f}% of a core), RSS {rss / 1024:.1f} MiB "
          f"(peak {hwm / 1024:.1f} MiB)", flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--idle-seconds", type=int, default=20)
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    for fmt in ("json", "text"):
        log = os.path.join(a.work, f"access-{fmt}-{a.lines}.log")
        if not os.path.exists(log):
            subprocess.run([sys.executable, os.path.join(HERE, "accesslog_gen.py"), "--out", log,
                            "--lines", str(a.lines), "--format", fmt], check=True)
        replay(a.binary, a.work, fmt, log, a.lines, fmt)
    idle(a.binary, a.work, a.idle_seconds)


if __name__ == "__main__":
    main()
