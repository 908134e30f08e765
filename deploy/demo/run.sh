#!/usr/bin/env bash
# The README's run command: installs what is missing, builds, and runs comet-sidecar for a short,
# fixed time on an embedded default: a local stand-in for CometAPI (tests/mock_upstream, on
# 127.0.0.1) and file/console output instead of a collector. No key and no collector needed.
# It prints the sidecar's live view while it runs, then a summary and the files it wrote.
# Ctrl-C stops it early (the sidecar still shuts down cleanly).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
duration=${DEMO_SECONDS:-25}
out=${DEMO_OUT:-"$root/out/demo"}
health_port=${DEMO_HEALTH_PORT:-13133}

# DEMO_BINARY (the test suite's): run that build as it is instead of installing and building.
if [[ -n "${DEMO_BINARY:-}" ]]; then
  bin=$DEMO_BINARY
else
  bash deploy/install-deps.sh
  cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSC_BUILD_TESTS=ON >/dev/null
  cmake --build build/release -j"$(nproc)" --target comet-sidecar -- --no-print-directory >/dev/null
  bin="$root/build/release/sidecar/comet-sidecar"
fi

rm -rf "$out" && mkdir -p "$out"
umask 077
# Two demo keys: the stand-in accepts both, so the mid-run key rotation keeps working.
key1="demo-key-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
key2="demo-key-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$key1" >"$out/api-key"

mock_pid="" sidecar_pid="" gateway_pid=""
cleanup() {
  [[ -n "$sidecar_pid" ]] && kill -TERM "$sidecar_pid" 2>/dev/null && wait "$sidecar_pid" 2>/dev/null
  [[ -n "$mock_pid" ]] && kill -TERM "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null
  [[ -n "$gateway_pid" ]] && kill -TERM "$gateway_pid" 2>/dev/null && wait "$gateway_pid" 2>/dev/null
  return 0
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted, stopping"; stop_requested=1' INT TERM
stop_requested=0

python3 tests/mock_upstream/server.py --host 127.0.0.1 --port 0 --api-key "$key1" --api-key "$key2" \
  --schedule deploy/demo/faults.json --port-file "$out/upstream.port" >"$out/upstream.out" 2>"$out/upstream.log" &
mock_pid=$!
for _ in $(seq 100); do [[ -s "$out/upstream.port" ]] && break; sleep 0.1; done
[[ -s "$out/upstream.port" ]] || { echo "demo: the stand-in upstream did not start; see $out/upstream.log" >&2; exit 1; }
upstream="http://127.0.0.1:$(cat "$out/upstream.port")/v1"

echo "comet-sidecar demo: ${duration}s against a local stand-in for CometAPI at $upstream"
echo "-------------------------------------------------------------------------------"
: >"$out/view.txt" && : >"$out/gateway-access.log"
# The application's gateway, writing its access log (rotated once by rename mid-run).
python3 deploy/demo/gateway.py --path "$out/gateway-access.log" --seconds "$duration" \
  --rotate-after $((duration / 2)) >"$out/gateway.out" 2>&1 &
gateway_pid=$!
COMETAPI_API_KEY_FILE="$out/api-key" COMETAPI_BASE_URL="$upstream" OTEL_SERVICE_NAME=comet-sidecar-demo \
  "$bin" --config deploy/demo/config.json --set exporter.file.path="$out/telemetry.jsonl" \
  --evidence "$out/evidence.jsonl" --set access_log.path="$out/gateway-access.log" \
  --set access_log.checkpoint_path="$out/access-log.checkpoint" \
  --set health.endpoint="127.0.0.1:$health_port" >"$out/view.txt" 2>"$out/sidecar.log" &
sidecar_pid=$!
tail -n +1 -f "$out/view.txt" --pid "$sidecar_pid" &
tail_pid=$!

health=http://127.0.0.1:$health_port
t=0
while ((t < duration)) && ((stop_requested == 0)) && kill -0 "$sidecar_pid" 2>/dev/null; do
  sleep 1 || true
  t=$((t + 1))
  case $t in
    3) echo "$(date -u +%T)  demo           curl /healthz -> $(curl -s -o /dev/null -w '%{http_code}' $health/healthz), /readyz -> $(curl -s -o /dev/null -w '%{http_code}' $health/readyz)" ;;
    6) echo "$(date -u +%T)  demo           rotating the API key file (as a Kubernetes Secret update would)"
       printf '%s\n' "$key2" >"$out/api-key.new" && mv "$out/api-key.new" "$out/api-key" ;;
  esac
done

# The gateway stops by itself after the same time: let the sidecar read its last lines (bounded)
# before the shutdown, so the summary counts every line it wrote.
if ((stop_requested == 0)); then
  wait "$gateway_pid" 2>/dev/null || true
  gateway_pid=""
  written=$(sed -n 's/.*"written": *\([0-9]*\).*/\1/p' "$out/gateway.out" 2>/dev/null)
  for _ in $(seq 50); do
    read_lines=$(curl -s "$health/metrics" | awk '/^sidecar_accesslog_lines_read_total/ {n += $NF} END {print n + 0}')
    [[ -z "$written" || "${read_lines%.*}" -ge "$written" ]] && break
    sleep 0.1
  done
fi
echo "$(date -u +%T)  demo           sending SIGTERM"
kill -TERM "$sidecar_pid" 2>/dev/null || true
code=0
wait "$sidecar_pid" || code=$?
sidecar_pid=""
wait "$tail_pid" 2>/dev/null || true
echo "-------------------------------------------------------------------------------"
if [[ -n "$gateway_pid" ]]; then
  kill "$gateway_pid" 2>/dev/null || true
  wait "$gateway_pid" 2>/dev/null || true
  gateway_pid=""
fi
echo "comet-sidecar exited with code $code"
"$bin" support-packet --evidence "$out/evidence.jsonl" --out "$out/packet" --config deploy/demo/config.json \
  --set exporter.file.path="$out/telemetry.jsonl" >/dev/null 2>>"$out/sidecar.log" || true
echo "files written:"
echo "  $out/view.txt       the live view above"
echo "  $out/sidecar.log    the sidecar's JSON log lines (stderr)"
echo "  $out/telemetry.jsonl  spans and metrics as OTLP/JSON, one export request per line"
echo "                       ($(grep -c resourceSpans "$out/telemetry.jsonl" 2>/dev/null || echo 0) trace and $(grep -c resourceMetrics "$out/telemetry.jsonl" 2>/dev/null || echo 0) metric export requests)"
echo "  $out/evidence.jsonl   one sanitized evidence line per canary run ($(grep -c . "$out/evidence.jsonl" 2>/dev/null || echo 0) runs)"
echo "  $out/packet/support-packet.md   the support packet built from that evidence"
echo "  $out/gateway-access.log(.1)  the gateway access log the sidecar followed (rotated once)"
echo "  $out/upstream.log   the stand-in upstream's log"
grep -rq "$key1\|$key2" "$out/sidecar.log" "$out/view.txt" "$out/telemetry.jsonl" "$out/evidence.jsonl" "$out/packet" && { echo "demo: an API key leaked into the output!" >&2; exit 1; }
exit "$code"
