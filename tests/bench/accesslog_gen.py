"""accesslog_gen.py - owns: writing a deterministic gateway access log for the access-log
benchmark: N lines (default 1,000,000) in the llm_json format of deploy/examples/nginx.conf
(about 400 bytes a line) or as nginx text (combined plus request time, upstream status and
traceparent), with a realistic mix: mostly chat completions, some responses, embeddings, models,
files and unknown routes; 2xx mostly, then 429, 5xx, 4xx and 499; retries ("503, 200"),
fallbacks ("503, 503 : 200"), half the requests with a traceparent, token usage on successes.

Usage: python3 accesslog_gen.py --out FILE [--lines N] [--format json|text] [--seed S]"""
import argparse
import random
import time

ROUTES = [  # (weight, method, path template)
    (60, "POST", "/v1/chat/completions"),
    (15, "POST", "/v1/responses"),
    (10, "POST", "/v1/embeddings"),
    (5, "GET", "/v1/models"),
    (3, "GET", "/v1/files/file-{id}"),
    (2, "POST", "/v1/completions"),
    (5, "GET", "/internal/healthcheck/{id}"),
]
STATUSES = [  # (weight, final status, upstream_status list)
    (880, 200, "200"),
    (40, 200, "503, 200"),
    (15, 200, "502, 503, 200"),
    (10, 200, "503, 503 : 200"),
    (20, 429, "429, 429"),
    (10, 503, "503, 503 : 503"),
    (8, 500, "500"),
    (10, 400, "400"),
    (5, 401, "401"),
    (2, 499, "200"),
]
MODELS = ["gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06", "gpt-4.1-mini", "claude-3-5-sonnet",
          "text-embedding-3-small"]
AGENTS = ["OpenAI/Python 1.54.0", "OpenAI/NodeJS 4.67.3", "langchain/0.3.7", "curl/8.5.0"]


def pick(rnd, table):
    total = sum(t[0] for t in table)
    x = rnd.uniform(0, total)
    for t in table:
        x -= t[0]
        if x <= 0:
            return t
    return table[-1]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--format", choices=("json", "text"), default="json")
    p.add_argument("--seed", type=int, default=42)
    a = p.parse_args()
    rnd = random.Random(a.seed)
    t0 = 1795377971  # 2026-11-22T20:06:11Z
    months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
    with open(a.out, "w", buffering=1 << 20) as f:
        for i in range(a.lines):
            _, method, tmpl = pick(rnd, ROUTES)
            _, status, ups = pick(rnd, STATUSES)
            path = tmpl.replace("{id}", "%08x" % rnd.getrandbits(32))
            if rnd.random() < 0.1:
                path += "?api-version=2024-06-01"
            ts = t0 + i // 500
            tm = time.gmtime(ts)
            rt = rnd.uniform(0.05, 4.0) if status == 200 else rnd.uniform(0.001, 0.5)
            tp = ("00-%032x-%016x-01" % (rnd.getrandbits(128), rnd.getrandbits(64))
                  if rnd.random() < 0.5 else "")
            ok = status == 200 and method == "POST"
            model = rnd.choice(MODELS) if ok else ""
            tin = str(rnd.randint(5, 4000)) if ok else ""
            tout = str(rnd.randint(1, 1500)) if ok else ""
            attempts = len(ups.replace(" : ", ", ").split(", "))
            addrs = ", ".join("10.0.%d.%d:443" % (rnd.randint(0, 3), rnd.randint(2, 250))
                              for _ in range(attempts))
            if a.format == "json":
                f.write('{"time":"%s","request_id":"%032x","traceparent":"%s","method":"%s",'
                        '"uri":"%s","status":%d,"request_time":%.3f,"upstream_status":"%s",'
                        '"upstream_addr":"%s","upstream_response_time":"%.3f","host":"llm-gw",'
                        '"server_addr":"10.1.0.5","server_port":8080,"llm_model":"%s",'
                        '"llm_input_tokens":"%s","llm_output_tokens":"%s","llm_retry_count":"",'
                        '"llm_fallback_reason":""}\n'
                        % (time.strftime("%Y-%m-%dT%H:%M:%S+00:00", tm), rnd.getrandbits(128),
                           tp, method, path, status, rt, ups, addrs, rt, model, tin, tout))
            else:
                f.write('10.2.%d.%d - - [%02d/%s/%d:%02d:%02d:%02d +0000] "%s %s HTTP/1.1" %d %d '
                        '"-" "%s" rt=%.3f us="%s" ua="%s" tp="%s"\n'
                        % (rnd.randint(0, 255), rnd.randint(1, 254), tm.tm_mday,
                           months[tm.tm_mon - 1], tm.tm_year, tm.tm_hour, tm.tm_min, tm.tm_sec,
                           method, path, status, rnd.randint(100, 20000), rnd.choice(AGENTS), rt,
                           ups, addrs, tp or "-"))


if __name__ == "__main__":
    main()
