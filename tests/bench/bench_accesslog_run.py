"""bench_accesslog_run.py - owns: measuring every figure of the access-log performance bar in one
run, and checking each against its target. Called by bench_accesslog.sh.

- floor: `cat FILE > /dev/null` (CPU of cat, from wait4), the I/O floor, on the same file.
- replays (json uncompressed, json gzip, nginx text): the sidecar reads a generated log from its
  start (start_position beginning) and exports every line as a span to a loopback OTLP/HTTP sink;
  measured until the checkpoint reaches the end of the file (every line parsed, recorded,
  exported, accepted and acknowledged): CPU seconds of the sidecar process, all threads
  (/proc/PID/stat utime + stime), lines per CPU-second, peak RSS (VmHWM) and the peaks of RssAnon
  (memory the process owns) and RssFile (mapped files, mostly shared libraries) sampled every
  50 ms, bytes on the wire per span.
- allocations: a replay under the alloc_count.c LD_PRELOAD shim; heap allocations counted from
  the moment a quarter of the file is acknowledged to the end (steady state), per line.
- freshness: lines written at a steady rate (default 2,000/s) with default batch settings; the
  sink notes when each line's span (found by its request id) was accepted; p50/p99 of accepted
  minus written (both CLOCK_MONOTONIC).
- idle: following a quiet file (canaries on their default 60 s interval) for --idle-seconds
  (default 60): CPU share of one core, RSS (anon and file) at the end."""
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
TARGETS = {"json": 250_000, "gzip": 120_000}  # lines per CPU-second
STEADY_TAIL_S = 3
RSS_MAX_MIB, IDLE_RSS_MAX_MIB, IDLE_CPU_MAX, TEXT_WITHIN, FRESH_P99_MAX = 10, 4, 0.1, 0.20, 1.0
FRESH_LINE = ('{"time":"%s","request_id":"fr-%09d","traceparent":"","method":"POST",'
              '"uri":"/v1/chat/completions","status":200,"request_time":0.812,'
              '"upstream_status":"200","upstream_addr":"10.0.1.7:443",'
              '"upstream_response_time":"0.810","host":"llm-gw","server_addr":"10.1.0.5",'
              '"server_port":8080,"llm_model":"gpt-4o-mini-2024-07-18","llm_input_tokens":"812",'
              '"llm_output_tokens":"97","llm_retry_count":"","llm_fallback_reason":""}\n')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime: every thread of the process


def status_kib(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
                out[key] = int(rest.split()[0])
    return out


def mib(kib):
    return kib / 1024


def checkpoint_offset(path):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("offset "):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def start_sink(mark=None):
    cmd = [sys.executable, os.path.join(HERE, "otlp_sink.py")] + (["--mark", mark] if mark else [])
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    addr = json.loads(p.stdout.readline())["listening"]
    return p, "http://" + addr


def stop_sink(p):
    p.send_signal(signal.SIGTERM)
    out = json.loads(p.stdout.readline())
    p.wait(timeout=10)
    return out


def start_sidecar(binary, work, name, sink_url, access_log, exporter=None, env_extra=None):
    cfg = {"health": {"endpoint": f"127.0.0.1:{free_port()}"}, "log": {"level": "warn"},
           "cometapi": {"base_url": "http://127.0.0.1:1/v1", "timeout": "1s"},
           "exporter": exporter if exporter is not None else {},
           "access_log": access_log}
    conf = os.path.join(work, name + ".json")
    with open(conf, "w") as f:
        json.dump(cfg, f)
    env = dict(os.environ, COMETAPI_API_KEY="sk-bench-0123456789abcdef",
               OTEL_EXPORTER_OTLP_ENDPOINT=sink_url, **(env_extra or {}))
    err = open(os.path.join(work, name + ".stderr"), "w")
    return subprocess.Popen([binary, "--config", conf], env=env, stdout=subprocess.DEVNULL,
                            stderr=err)


def stop_sidecar(sc):
    sc.send_signal(signal.SIGTERM)
    sc.wait(timeout=60)


def wait_checkpoint(sc, cp, target, work, name, on_sample=None):
    while True:
        off = checkpoint_offset(cp)
        if on_sample:
            on_sample(off)
        if off >= target:
            return
        if sc.poll() is not None:
            raise SystemExit(f"sidecar exited with {sc.returncode}; see {work}/{name}.stderr")
        time.sleep(0.05)


def access_log_cfg(log, cp, fmt):
    al = {"path": log, "start_position": "beginning", "checkpoint_path": cp,
          "checkpoint_interval": "100ms"}
    if fmt == "text":
        al.update(format="nginx", nginx_log_format=TEXT_FORMAT)
    return al


def replay_exporter(compression):
    ex = {"metrics_interval": "10s", "batch": {"schedule_delay": "100ms"}}
    if compression:
        ex["otlp"] = {"compression": compression}
    return ex


def replay(binary, work, name, log, lines, fmt, compression=None):
    """Replays log to the sink; returns the figures (see the module comment)."""
    cp = os.path.join(work, name + ".checkpoint")
    if os.path.exists(cp):
        os.remove(cp)
    size = os.path.getsize(log)
    sink, url = start_sink()
    t0 = time.monotonic()
    sc = start_sidecar(binary, work, name, url, access_log_cfg(log, cp, fmt),
                       replay_exporter(compression))
    peak = {"RssAnon": 0, "RssFile": 0}

    def sample(_off):
        st = status_kib(sc.pid)
        for k in peak:
            peak[k] = max(peak[k], st.get(k, 0))

    wait_checkpoint(sc, cp, size, work, name, sample)
    wall = time.monotonic() - t0
    cpu = cpu_seconds(sc.pid)
    st = status_kib(sc.pid)
    stop_sidecar(sc)
    got = stop_sink(sink)
    r = {"name": name, "lines": lines, "size": size, "wall": wall, "cpu": cpu,
         "lps": lines / cpu, "hwm": st["VmHWM"], "anon": peak["RssAnon"],
         "file": peak["RssFile"], "requests": got["requests"].get("/v1/traces", 0),
         "wire": got["bytes"].get("/v1/traces", 0)}
    print(f"{name:5s} {lines:,} lines, {size / 1e6:.0f} MB: {cpu:.2f} CPU s = "
          f"{r['lps']:,.0f} lines per CPU-second ({cpu * 1e6 / lines:.2f} CPU s per million "
          f"lines; {wall:.2f} s wall, {lines / wall:,.0f} lines/s); peak RSS {mib(r['hwm']):.1f} "
          f"MiB (peaks sampled: RssAnon {mib(r['anon']):.1f} MiB, RssFile {mib(r['file']):.1f} "
          f"MiB); sink: {r['requests']} trace requests, {r['wire'] / lines:.1f} bytes/span on "
          f"the wire", flush=True)
    return r


def count_lines(path, start, end):
    with open(path, "rb") as f:
        f.seek(start)
        return f.read(end - start).count(b"\n")


def read_counter(path):
    try:
        with open(path, "rb") as f:
            return int.from_bytes(f.read(8), "little")
    except OSError:
        return 0


def allocations(binary, work, log, shim):
    """Heap allocations per line in steady state (from a quarter of the file to its end)."""
    name, cp, counter = "alloc", os.path.join(work, "alloc.checkpoint"), os.path.join(work, "alloc.count")
    for p in (cp, counter):
        if os.path.exists(p):
            os.remove(p)
    size = os.path.getsize(log)
    sink, url = start_sink()
    sc = start_sidecar(binary, work, name, url, access_log_cfg(log, cp, "json"),
                       replay_exporter(None),
                       {"LD_PRELOAD": shim, "SC_ALLOC_COUNT_FILE": counter})
    first = {}

    def sample(off):
        if not first and off >= size // 4:
            first.update(off=off, n=read_counter(counter))

    wait_checkpoint(sc, cp, size, work, name, sample)
    n_end, off_end = read_counter(counter), checkpoint_offset(cp)
    stop_sidecar(sc)
    got = stop_sink(sink)
    lines = count_lines(log, first["off"], off_end)
    allocs = n_end - first["n"]
    reqs = got["requests"].get("/v1/traces", 0)
    total_lines = count_lines(log, 0, size)
    per_req = allocs / (reqs * lines / total_lines) if reqs else float("nan")
    r = {"allocs": allocs, "lines": lines, "per_line": allocs / lines if lines else float("nan"),
         "per_request": per_req}
    print(f"alloc {allocs:,} heap allocations over {lines:,} lines in steady state (from 25% of "
          f"the file to its end): {r['per_line']:.4f} per line, about {per_req:.0f} per export "
          f"request (pro rata over {reqs} trace requests)", flush=True)
    return r


def percentile(sorted_vals, q):
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, max(0, round(q * (len(sorted_vals) - 1))))
    return sorted_vals[k]


def freshness(binary, work, rate, seconds):
    """Time from a line being written to its span being accepted by the sink, default batch
    settings, for the lines written during `seconds` at `rate` lines per second. The writer keeps
    the rate for STEADY_TAIL_S more seconds, so the measured lines leave in full batches as they
    would in steady state, not in the end-of-stream flush (which waits for schedule_delay)."""
    log = os.path.join(work, "fresh.log")
    cp = os.path.join(work, "fresh.checkpoint")
    for p in (log, cp):
        if os.path.exists(p):
            os.remove(p)
    open(log, "w").close()
    sink, url = start_sink(mark=r"fr-\d{9}")
    sc = start_sidecar(binary, work, "fresh", url, access_log_cfg(log, cp, "json"), {})
    time.sleep(1.5)  # start-up: the file is open and followed
    written = {}
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    n_measured = int(rate * seconds)
    n_total = int(rate * (seconds + STEADY_TAIL_S))
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    t0 = time.monotonic()
    n = 0
    while n < n_total:  # every 5 ms, the lines due by now
        due = min(n_total, int((time.monotonic() - t0) * rate))
        if due > n:
            os.write(fd, "".join(FRESH_LINE % (stamp, i) for i in range(n, due)).encode())
            now = time.monotonic()
            for i in range(n, due):
                written[f"fr-{i:09d}"] = now
            n = due
        time.sleep(0.005)
    os.close(fd)
    wait_checkpoint(sc, cp, os.path.getsize(log), work, "fresh")
    stop_sidecar(sc)
    marks = stop_sink(sink).get("marks", {})
    measured = [f"fr-{i:09d}" for i in range(n_measured)]
    lat = sorted(marks[k] - written[k] for k in measured if k in marks)
    r = {"p50": percentile(lat, 0.50), "p99": percentile(lat, 0.99), "seen": len(lat),
         "sent": n_measured}
    print(f"fresh {rate:,} lines/s for {seconds} s, default batch settings: line written -> span "
          f"accepted p50 {r['p50'] * 1000:.0f} ms, p99 {r['p99'] * 1000:.0f} ms, max "
          f"{(lat[-1] if lat else float('nan')) * 1000:.0f} ms ({len(lat):,} of {n_measured:,} "
          f"spans seen; the rate is kept {STEADY_TAIL_S} s past the window)", flush=True)
    return r


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
    st = status_kib(sc.pid)
    stop_sidecar(sc)
    stop_sink(sink)
    r = {"cpu_pct": (c1 - c0) / seconds * 100, "rss": st["VmRSS"], "anon": st["RssAnon"],
         "file": st["RssFile"], "hwm": st["VmHWM"]}
    print(f"idle  following a quiet file for {seconds} s (canaries every 60 s): {c1 - c0:.2f} CPU "
          f"s ({r['cpu_pct']:.3f}% of a core), RSS {mib(r['rss']):.1f} MiB (RssAnon "
          f"{mib(r['anon']):.1f} MiB, RssFile {mib(r['file']):.1f} MiB; peak "
          f"{mib(r['hwm']):.1f} MiB)", flush=True)
    return r


def cat_floor(log, lines):
    """CPU seconds of `cat log > /dev/null` (second of two runs: page cache warm, as for the
    sidecar's replays)."""
    cpu = 0.0
    for _ in range(2):
        with open(os.devnull, "w") as null:
            p = subprocess.Popen(["cat", log], stdout=null)
            _, status, ru = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
        cpu = ru.ru_utime + ru.ru_stime
    lps = lines / cpu if cpu > 0 else float("inf")
    print(f"floor cat {os.path.basename(log)} > /dev/null: {cpu:.3f} CPU s = {lps:,.0f} lines "
          f"per CPU-second (the I/O floor)", flush=True)
    return {"cpu": cpu, "lps": lps}


def verdict(ok):
    return "MET" if ok else "NOT MET"


def summary(floor, js, gz, tx, al, fr, idl):
    text_ratio = tx["lps"] / js["lps"]
    rows = [
        (f"JSON, OTLP/HTTP protobuf uncompressed: {js['lps']:,.0f} lines per CPU-s "
         f"(target >= {TARGETS['json']:,})", js["lps"] >= TARGETS["json"]),
        (f"JSON, gzip: {gz['lps']:,.0f} lines per CPU-s (target >= {TARGETS['gzip']:,})",
         gz["lps"] >= TARGETS["gzip"]),
        (f"peak RSS during the JSON run: {mib(js['hwm']):.1f} MiB (RssAnon peak "
         f"{mib(js['anon']):.1f} MiB + RssFile peak {mib(js['file']):.1f} MiB; target < "
         f"{RSS_MAX_MIB} MiB)", mib(js["hwm"]) < RSS_MAX_MIB),
        (f"nginx text: {tx['lps']:,.0f} lines per CPU-s = {text_ratio:.2f} x the JSON figure "
         f"(target: not more than {TEXT_WITHIN:.0%} below it)", text_ratio >= 1 - TEXT_WITHIN),
        (f"idle CPU: {idl['cpu_pct']:.3f}% of a core (target < {IDLE_CPU_MAX}%)",
         idl["cpu_pct"] < IDLE_CPU_MAX),
        (f"idle RSS: {mib(idl['rss']):.1f} MiB (RssAnon {mib(idl['anon']):.1f} MiB + RssFile "
         f"{mib(idl['file']):.1f} MiB; target < {IDLE_RSS_MAX_MIB} MiB)",
         mib(idl["rss"]) < IDLE_RSS_MAX_MIB),
        (f"heap allocations per line in steady state: {al['per_line']:.4f} (target 0; about "
         f"{al['per_request']:.0f} per export request)", al["allocs"] == 0),
        (f"freshness at 2,000 lines/s: p50 {fr['p50'] * 1000:.0f} ms, p99 "
         f"{fr['p99'] * 1000:.0f} ms (target p99 < {FRESH_P99_MAX:.0f} s)",
         fr["p99"] < FRESH_P99_MAX and fr["seen"] == fr["sent"]),
    ]
    print(f"== summary ({os.cpu_count()} cores; I/O floor `cat FILE > /dev/null` "
          f"{floor['lps']:,.0f} lines per CPU-s: JSON replay costs {floor['lps'] / js['lps']:.0f} x "
          f"the floor)")
    for text, ok in rows:
        print(f"  [{verdict(ok):7s}] {text}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--alloc-shim", required=True)
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--alloc-lines", type=int, default=200_000)
    p.add_argument("--idle-seconds", type=int, default=60)
    p.add_argument("--fresh-rate", type=int, default=2000)
    p.add_argument("--fresh-seconds", type=int, default=20)
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    logs = {}
    for fmt in ("json", "text"):
        logs[fmt] = os.path.join(a.work, f"access-{fmt}-{a.lines}.log")
        if not os.path.exists(logs[fmt]):
            subprocess.run([sys.executable, os.path.join(HERE, "accesslog_gen.py"), "--out",
                            logs[fmt], "--lines", str(a.lines), "--format", fmt], check=True)
    alloc_log = os.path.join(a.work, f"access-json-{a.alloc_lines}.log")
    if not os.path.exists(alloc_log):
        subprocess.run([sys.executable, os.path.join(HERE, "accesslog_gen.py"), "--out",
                        alloc_log, "--lines", str(a.alloc_lines), "--format", "json"], check=True)
    floor = cat_floor(logs["json"], a.lines)
    js = replay(a.binary, a.work, "json", logs["json"], a.lines, "json")
    gz = replay(a.binary, a.work, "gzip", logs["json"], a.lines, "json", compression="gzip")
    tx = replay(a.binary, a.work, "text", logs["text"], a.lines, "text")
    al = allocations(a.binary, a.work, alloc_log, a.alloc_shim)
    fr = freshness(a.binary, a.work, a.fresh_rate, a.fresh_seconds)
    idl = idle(a.binary, a.work, a.idle_seconds)
    summary(floor, js, gz, tx, al, fr, idl)


if __name__ == "__main__":
    main()
