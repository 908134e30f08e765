"""accesslog_support.py - owns: what the access-log integration tests share: starting the sidecar
with an access_log section and an OTLP endpoint, starting real nginx and Caddy (Debian packages)
as the current user on loopback ports with every path in the work dir, plain HTTP requests, and
reading spans/metric points back from the receiver. Stdlib only.

Readiness waits poll a TCP connect (bounded, 20 ms apart): nginx and Caddy print nothing on their
own output when they start listening."""
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

from lib.harness import Proc, free_port, write_json

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def sidecar(runner, binary, work_dir, name, access_log, endpoint=None, exporter=None, env=None,
            log_level="info"):
    """Starts the sidecar following access_log (the config section); returns the Proc."""
    cfg = {"health": {"endpoint": f"127.0.0.1:{free_port()}"}, "shutdown": {"deadline": "10s"},
           # No canary traffic worth the name: the upstream check fails fast against port 1.
           "cometapi": {"base_url": "http://127.0.0.1:1/v1", "timeout": "1s"},
           "exporter": {"batch": {"schedule_delay": "200ms"}, "metrics_interval": "500ms"},
           "access_log": access_log, "log": {"level": log_level}}
    if exporter:
        cfg["exporter"].update(exporter)
    conf = write_json(os.path.join(work_dir, f"{name}.json"), cfg)
    full = {"COMETAPI_API_KEY": "sk-test-accesslog-0123456789abcdef"}
    if endpoint:
        full["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
    full.update(env or {})
    return runner.track(Proc([binary, "--config", conf], env=full))


def wait_port(port, timeout=15.0, proc=None):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if proc is not None and proc.p.poll() is not None:
                raise AssertionError(f"{proc.argv[0]} exited with {proc.p.returncode}")
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing listens on 127.0.0.1:{port}")
            time.sleep(0.02)


def request(url, method="GET", body=None, headers=None, timeout=10.0):
    """Returns (status, body bytes); HTTP errors are answers, not exceptions."""
    data = json.dumps(body).encode() if body is not None else None
    h = {"Content-Type": "application/json"} if data else {}
    h.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with OPENER.open(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def example_nginx_pieces(source_dir):
    """The llm_json log_format directive and the request-id map, verbatim from
    deploy/examples/nginx.conf."""
    with open(os.path.join(source_dir, "deploy", "examples", "nginx.conf")) as f:
        text = f.read()
    log_format = re.search(r"log_format llm_json[\s\S]*?';", text).group(0)
    request_map = re.search(r"map \$http_x_request_id \$llm_request_id \{[\s\S]*?\}", text).group(0)
    return log_format, request_map


class Nginx:
    """nginx -p DIR -c DIR/nginx.conf -g 'daemon off;' in front of a primary and a backup
    upstream (proxy_next_upstream retries POSTs on 502/503/429 and timeouts), with an error_page
    hand-over to a fallback location when both fail."""

    def __init__(self, runner, work_dir, name, primary, backup, log_format, log_name,
                 http_extra=""):
        self.dir = os.path.join(work_dir, name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(os.path.join(self.dir, "tmp"))
        self.port = free_port()
        self.access_log = os.path.join(self.dir, "access.log")
        d = self.dir
        conf = f"""
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log notice;
events {{ worker_connections 128; }}
http {{
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    access_log off;
    {http_extra}
    {log_format}

    # max_fails=0: a failure must not take the primary out of rotation, or the next request
    # would skip it and the tests could not know which upstream a request reaches first.
    upstream llm {{
        server 127.0.0.1:{primary} max_fails=0;
        server 127.0.0.1:{backup} max_fails=0 backup;
    }}
    upstream llm_fallback {{
        server 127.0.0.1:{backup} max_fails=0;
    }}
    server {{
        listen 127.0.0.1:{self.port};
        access_log {self.access_log} {log_name};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_buffering off;
        proxy_read_timeout 1s;
        location /v1/ {{
            proxy_pass http://llm;
            proxy_next_upstream error timeout http_502 http_503 http_429 non_idempotent;
            proxy_next_upstream_tries 2;
            proxy_intercept_errors on;
            error_page 502 503 504 = @llm_fallback;
        }}
        location @llm_fallback {{
            proxy_pass http://llm_fallback;
            proxy_next_upstream off;
        }}
    }}
}}
"""
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.proc = runner.track(Proc(["nginx", "-p", self.dir, "-c", self.conf, "-e",
                                       os.path.join(self.dir, "error.log"), "-g", "daemon off;"]))
        # SIGKILL of the master (the generic cleanup) would orphan its worker, which keeps the
        # port and the log open: ask for nginx's fast shutdown first, which stops the worker too.
        runner.cleanups.append(self.stop)
        wait_port(self.port, proc=self.proc)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        if self.proc.p.poll() is None:
            self.proc.p.terminate()
            try:
                self.proc.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def lines(self):
        with open(self.access_log, encoding="utf-8") as f:
            return [l.rstrip("\n") for l in f if l.strip()]


class Caddy:
    """caddy run with a Caddyfile: admin off, plain HTTP on loopback, reverse_proxy to one
    upstream, its default JSON access log to a file."""

    def __init__(self, runner, work_dir, name, upstream):
        self.dir = os.path.join(work_dir, name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.port = free_port()
        self.access_log = os.path.join(self.dir, "access.log")
        caddyfile = f"""{{
    admin off
    auto_https off
    storage file_system {self.dir}/data
}}
http://127.0.0.1:{self.port} {{
    log {{
        output file {self.access_log}
        format json
    }}
    reverse_proxy 127.0.0.1:{upstream}
}}
"""
        path = os.path.join(self.dir, "Caddyfile")
        with open(path, "w") as f:
            f.write(caddyfile)
        env = {"HOME": self.dir, "XDG_DATA_HOME": os.path.join(self.dir, "xdg-data"),
               "XDG_CONFIG_HOME": os.path.join(self.dir, "xdg-config")}
        self.proc = runner.track(Proc(["caddy", "run", "--config", path, "--adapter", "caddyfile"],
                                      env=env))
        wait_port(self.port, proc=self.proc)
        self.url = f"http://127.0.0.1:{self.port}"

    def lines(self):
        with open(self.access_log, encoding="utf-8") as f:
            return [l.rstrip("\n") for l in f if l.strip()]


def port_of(base_url):
    return int(base_url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])


def access_log_spans(rx, otlp):
    out = []
    for sp in rx.spans():
        a = otlp.attrs(sp.get("attributes"))
        if a.get("gateway.source") == "access_log":
            out.append((sp, a))
    return out


def last_points(rx, name, **match):
    """The newest data point of every series of `name` (cumulative metrics) whose attributes
    include `match`, as (attrs, point) pairs."""
    import client as otlp  # the receiver's helper, on sys.path in every test
    series = {}
    for m, p in rx.data_points():
        if m["name"] != name:
            continue
        a = otlp.attrs(p.get("attributes"))
        if any(a.get(k) != v for k, v in match.items()):
            continue
        key = json.dumps(a, sort_keys=True)
        if key not in series or int(p["timeUnixNano"]) >= int(series[key][1]["timeUnixNano"]):
            series[key] = (a, p)
    return list(series.values())


def counter_total(rx, name, **match):
    return sum(int(p.get("asInt", 0)) for _, p in last_points(rx, name, **match))


def wait_spans(rx, otlp, n, timeout=20.0):
    """Long-polls the receiver until it holds >= n access-log spans (bounded)."""
    end = time.monotonic() + timeout
    while len(access_log_spans(rx, otlp)) < n:
        left = end - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{len(access_log_spans(rx, otlp))} access-log spans, want {n}")
        seen = rx.stats()["by_signal"]["traces"]["requests"]
        try:
            rx.wait(requests=seen + 1, signal="traces", timeout=min(left, 5.0))
        except TimeoutError:
            pass


def string_values(rx):
    """Every string attribute value in the exported spans and metric points."""
    out = []
    for sp in rx.spans():
        out += [kv["value"]["stringValue"] for kv in sp.get("attributes", [])
                if "stringValue" in kv.get("value", {})]
        out.append(sp["name"])
    for _, p in rx.data_points():
        out += [kv["value"]["stringValue"] for kv in p.get("attributes", [])
                if "stringValue" in kv.get("value", {})]
    return out
