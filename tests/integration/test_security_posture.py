"""The security posture the README's SECURITY section promises, checked against the real binary:
TLS verification is on for CometAPI and for the collector (a self-signed local server is refused
without its CA and accepted with cometapi.ca_file / exporter.otlp.certificate); only http:// and
https:// URLs are accepted; the health listener binds to loopback unless told otherwise; a
group- or world-writable key file is refused with a clear message; no secret reaches the /metrics
page, the logs or stdout.

The TLS servers are Python's ssl module over a certificate made by the openssl command (Debian's
openssl package, pulled in by ca-certificates) for IP 127.0.0.1, in the work dir."""
import http.server
import json
import os
import signal
import ssl
import subprocess
import threading

from lib.harness import (Proc, Runner, check, free_port, http_get, parse_args, time_scale,
                         write_json)

args = parse_args()
runner = Runner()
KEY = "sk-test-security-0123456789abcdefQRS"
HEADER_SECRET = "collector-token-5f3e9a0c1b7d"


def make_cert():
    cert = os.path.join(args.work_dir, "cert.pem")
    key = os.path.join(args.work_dir, "key.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], capture_output=True, timeout=60)
    check(p.returncode == 0, p.stderr.decode()[-500:])
    return cert, key


class TLSServer(http.server.ThreadingHTTPServer):
    """HTTPS on 127.0.0.1: GET /v1/models answers like CometAPI, POST /v1/traces|metrics like a
    collector (an empty protobuf response is a full success). Counts refused handshakes."""

    daemon_threads = True

    def __init__(self, cert, key):
        super().__init__(("127.0.0.1", 0), Handler)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.cond = threading.Condition()
        self.failed_handshakes = 0
        self.paths = []
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def get_request(self):
        sock, addr = self.socket.accept()
        sock.settimeout(5)
        try:
            return self.ctx.wrap_socket(sock, server_side=True), addr
        except OSError:
            sock.close()
            self.note(failed=True)
            raise

    def note(self, path=None, failed=False):
        with self.cond:
            if failed:
                self.failed_handshakes += 1
            else:
                self.paths.append(path)
            self.cond.notify_all()

    def wait_for(self, pred, timeout):
        with self.cond:
            ok = self.cond.wait_for(lambda: pred(self), timeout * time_scale())
        check(ok, f"timed out: handshakes refused {self.failed_handshakes}, requests {self.paths}")

    @property
    def url(self):
        return f"https://127.0.0.1:{self.server_address[1]}"


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, ctype, body):
        self.server.note(self.command + " " + self.path)
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.reply("application/json", b'{"object":"list","data":[{"id":"gpt-4o-mini"}]}')

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.reply("application/x-protobuf", b"")


def sidecar(name, upstream, collector, sets=(), env=None):
    port = free_port()
    # Request timeouts stretch with SC_TIME_SCALE: under memcheck a TLS handshake alone can take
    # seconds, and these checks are about verification, not speed.
    scale = time_scale()
    cfg = {"health": {"endpoint": f"127.0.0.1:{port}"}, "shutdown": {"deadline": "5s"},
           "cometapi": {"base_url": upstream + "/v1", "timeout": f"{int(3000 * scale)}ms"},
           "exporter": {"traces": "none", "metrics": "otlp", "metrics_interval": "300ms",
                        "otlp": {"endpoint": collector, "timeout": f"{int(2000 * scale)}ms",
                                 "headers": {"authorization": "Bearer " + HEADER_SECRET}}}}
    conf = write_json(os.path.join(args.work_dir, f"{name}.json"), cfg)
    argv = [args.binary, "--config", conf]
    for s in sets:
        argv += ["--set", s]
    full = {"COMETAPI_API_KEY": KEY}
    full.update(env or {})
    return runner.track(Proc(argv, env=full)), f"http://127.0.0.1:{port}"


def stop(sc):
    sc.p.send_signal(signal.SIGTERM)
    check(sc.wait_exit(15) == 0, "clean exit")


def no_secret(*blobs):
    for b in blobs:
        for s in (KEY, HEADER_SECRET):
            check(s.encode() not in b, f"a secret ({s[:8]}...) appears in the output")


def tls_verified_by_default_and_ca_options_work():
    cert, key = make_cert()
    api, col = TLSServer(cert, key), TLSServer(cert, key)
    runner.cleanups += [api.shutdown, col.shutdown]
    # Without the CA: both handshakes fail verification, nothing is sent to either server.
    sc, _ = sidecar("tls-noca", api.url, col.url)
    done = sc.wait_log("upstream check finished")
    check(done["ok"] is False and done["http_status"] == 0, done)
    check(done["error_class"] == "network_error", done)
    api.wait_for(lambda s: s.failed_handshakes >= 1, 10)
    col.wait_for(lambda s: s.failed_handshakes >= 1, 10)
    stop(sc)
    check(api.paths == [] and col.paths == [], f"a request got through: {api.paths} {col.paths}")
    no_secret(sc.raw["stdout"], sc.raw["stderr"])
    # With the CA bundle options, the same servers are trusted.
    sc, _ = sidecar("tls-ca", api.url, col.url,
                    sets=[f"cometapi.ca_file={cert}", f"exporter.otlp.certificate={cert}"])
    done = sc.wait_log("upstream check finished")
    check(done["ok"] is True and done["http_status"] == 200, done)
    col.wait_for(lambda s: "POST /v1/metrics" in s.paths, 15)
    stop(sc)
    check("GET /v1/models" in api.paths, api.paths)
    # OTEL_EXPORTER_OTLP_CERTIFICATE is the same option from the environment.
    before = len(col.paths)
    sc, _ = sidecar("tls-env", api.url, col.url, sets=[f"cometapi.ca_file={cert}"],
                    env={"OTEL_EXPORTER_OTLP_CERTIFICATE": cert})
    col.wait_for(lambda s: "POST /v1/metrics" in s.paths[before:], 15)
    stop(sc)
    no_secret(sc.raw["stdout"], sc.raw["stderr"])


def check_config(*sets, env=None):
    argv = [args.binary, "--check-config"]
    for s in sets:
        argv += ["--set", s]
    p = runner.track(Proc(argv, env=env if env is not None else {"COMETAPI_API_KEY": KEY}))
    return p.wait_exit(15), p


def error_of(p):
    errs = [l for l in p.json_logs() if l["level"] == "error"]
    check(errs, p.lines["stderr"])
    return errs[-1].get("error", "")


def only_http_and_https_urls():
    for k in ("cometapi.base_url", "exporter.otlp.endpoint", "exporter.otlp.traces_endpoint",
              "exporter.otlp.metrics_endpoint"):
        for bad in ("ftp://127.0.0.1/v1", "file:///etc/passwd", "gopher://127.0.0.1:70",
                    "127.0.0.1:4318"):
            code, p = check_config(f"{k}={bad}")
            err = error_of(p)
            check(code == 2 and k in err and "http" in err, f"{k}={bad}: {code} {err}")
    code, p = check_config("cometapi.base_url=https://127.0.0.1:1/v1",
                           "exporter.otlp.endpoint=http://127.0.0.1:4318")
    check(code == 0, p.lines["stderr"])


def health_binds_loopback_by_default():
    code, p = check_config()
    check(code == 0, p.lines["stderr"])
    eff = json.loads("\n".join(p.lines["stdout"]))
    check(eff["health"]["endpoint"] == "127.0.0.1:13133", eff["health"])
    # A running sidecar listens only where the config says: its socket is on 127.0.0.1.
    port = free_port()
    sc = runner.track(Proc([args.binary, "--set", f"health.endpoint=127.0.0.1:{port}",
                            "--set", "cometapi.base_url=http://127.0.0.1:1/v1",
                            "--set", "exporter.traces=none", "--set", "exporter.metrics=none"],
                           env={"COMETAPI_API_KEY": KEY}))
    sc.wait_log("started")
    listening = []
    with open("/proc/net/tcp") as f:
        for row in f.read().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            if state == "0A" and int(local.split(":")[1], 16) == port:
                listening.append(local.split(":")[0])
    check(listening == ["0100007F"], f"listeners on port {port}: {listening}")
    stop(sc)


def writable_key_files_refused():
    for mode, what in ((0o620, "group"), (0o602, "world"), (0o666, "group")):
        path = os.path.join(args.work_dir, f"key-{mode:o}")
        with open(path, "w") as f:
            f.write(KEY + "\n")
        os.chmod(path, mode)
        code, p = check_config(env={"COMETAPI_API_KEY_FILE": path})
        err = error_of(p)
        check(code == 2 and "writable" in err and path in err, f"mode {mode:o}: {err}")
        no_secret(p.raw["stdout"], p.raw["stderr"])
    path = os.path.join(args.work_dir, "key-600")
    with open(path, "w") as f:
        f.write(KEY + "\n")
    os.chmod(path, 0o600)
    code, p = check_config(env={"COMETAPI_API_KEY_FILE": path})
    check(code == 0, p.lines["stderr"])
    no_secret(p.raw["stdout"], p.raw["stderr"])


def metrics_page_has_no_secret():
    sc, health = sidecar("metrics-page", "http://127.0.0.1:1", "http://127.0.0.1:1",
                         sets=["exporter.metrics=none", "log.level=debug"])
    sc.wait_log("upstream check finished")
    status, page = http_get(health + "/metrics")
    check(status == 200 and b"# TYPE" in page, (status, page[:200]))
    no_secret(page)
    stop(sc)
    no_secret(sc.raw["stdout"], sc.raw["stderr"])


for t in (tls_verified_by_default_and_ca_options_work, only_http_and_https_urls,
          health_binds_loopback_by_default, writable_key_files_refused,
          metrics_page_has_no_secret):
    runner.run(t)
runner.finish()
