#!/usr/bin/env bash
# bench_accesslog.sh - builds a Release tree (build/bench), generates a deterministic gateway access
# log (1,000,000 llm_json lines of about 400 bytes, and the same traffic as nginx text) and replays
# each through the sidecar (start_position beginning) to a loopback OTLP sink; prints lines per
# second, CPU seconds per million lines and peak RSS, then idle CPU and RSS while following a quiet
# file. Not part of ctest. Generated files are kept in build/bench/accesslog for the next run.
# Usage: tests/bench/bench_accesslog.sh [lines=1000000] [idle_seconds=20]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir="$root/build/bench"
cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DSC_WERROR=ON >/dev/null
cmake --build "$dir" -j"$(nproc)" --target comet-sidecar -- --no-print-directory >/dev/null
echo "== bench_accesslog ($(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//'))"
python3 "$root/tests/bench/bench_accesslog_run.py" --binary "$dir/sidecar/comet-sidecar" \
    --work "$dir/accesslog" --lines "${1:-1000000}" --idle-seconds "${2:-20}"
