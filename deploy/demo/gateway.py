"""gateway.py - owns: the demo's stand-in for an application's LLM gateway access log. Appends
nginx `llm_json` lines (deploy/examples/nginx.conf) at a steady rate with a realistic mix: routes,
upstream retries ("503, 200"), a fallback group ("503, 503 : 200"), rate limits, auth errors,
missing usage, and a traceparent on some lines; rotates the file once by rename, as logrotate
does. Deterministic (seeded). Stdlib only; this is a load generator, so it sleeps."""
import argparse
import json
import os
import random
import time

MIX = [  # (weight, method, uri, status, upstream_status, usage, model)
    (50, "POST", "/v1/chat/completions", 200, "200", True, "gpt-4o-mini"),
    (10, "POST", "/v1/chat/completions?stream=true", 200, "200", True, "gpt-4o-mini"),
    (10, "POST", "/v1/responses", 200, "200", True, "gpt-4o"),
    (6, "POST", "/v1/chat/completions", 200, "503, 200", True, "gpt-4o-mini"),
    (3, "POST", "/v1/chat/completions", 200, "503, 503 : 200", True, "gpt-4o-mini"),
    (5, "POST", "/v1/chat/completions", 429, "429", False, "gpt-4o-mini"),
    (3, "POST", "/v1/chat/completions", 401, "401", False, "gpt-4o-mini"),
    (4, "POST", "/v1/chat/completions", 200, "200", False, "gpt-4o-mini"),
    (5, "GET", "/v1/models", 200, "200", False, ""),
    (4, "POST", "/v1/embeddings", 200, "200", True, "text-embedding-3-small"),
]


def line(rng, i):
    w = rng.choices(MIX, weights=[m[0] for m in MIX])[0]
    _, method, uri, status, upstream, usage, model = w
    tp = ""
    if rng.random() < 0.3:
        tp = "00-%032x-%016x-01" % (rng.getrandbits(128) or 1, rng.getrandbits(64) or 1)
    rec = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        "request_id": "%032x" % rng.getrandbits(128), "traceparent": tp, "method": method,
        "uri": uri, "status": status, "request_time": round(rng.uniform(0.05, 1.8), 3),
        "upstream_status": upstream, "upstream_addr": "10.0.0.7:443", "upstream_response_time": "0.1",
        "host": "llm-gateway.shop.svc", "server_addr": "10.0.1.4", "server_port": 8080,
        "llm_model": model, "llm_input_tokens": str(rng.randint(8, 900)) if usage else "",
        "llm_output_tokens": str(rng.randint(1, 400)) if usage else "", "llm_retry_count": "",
        "llm_fallback_reason": "",
    }
    return (json.dumps(rec, separators=(",", ":")) + "\n").encode()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--path", required=True)
    p.add_argument("--rate", type=float, default=8.0, help="lines per second")
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--rotate-after", type=float, default=12.0)
    a = p.parse_args()
    rng = random.Random(42)
    fd = os.open(a.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    start = time.monotonic()
    i = rotated = 0
    while time.monotonic() - start < a.seconds:
        os.write(fd, line(rng, i))
        i += 1
        if not rotated and time.monotonic() - start >= a.rotate_after:
            os.rename(a.path, a.path + ".1")  # logrotate "create", then the gateway reopens
            os.close(fd)
            fd = os.open(a.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            rotated = 1
        time.sleep(1.0 / a.rate)
    os.close(fd)
    print(json.dumps({"written": i, "rotations": rotated}))


if __name__ == "__main__":
    main()
