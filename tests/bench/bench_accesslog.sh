#!/usr/bin/env bash
# bench_accesslog.sh - builds a Release tree (build-bench, or $SC_BENCH_DIR), generates a
# deterministic gateway access log (1,000,000 llm_json lines of about 400 bytes, and the same
# traffic as nginx text) and prints, in one run, every figure of the access-log performance bar
# with its target: lines per CPU-second (all threads) for JSON with OTLP/HTTP protobuf
# uncompressed and with gzip and for nginx text, peak RSS split into RssAnon and RssFile, heap
# allocations per line in steady state (LD_PRELOAD counter, alloc_count.c), freshness p50/p99 at
# 2,000 lines/s with default batch settings, idle CPU and RSS, the core count and the
# `cat FILE > /dev/null` floor. Not part of ctest. Generated files are kept in
# $dir/accesslog for the next run. See tests/bench/README.md for the figures.
# Usage: tests/bench/bench_accesslog.sh [lines=1000000] [idle_seconds=60] [fresh_seconds=20]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir="${SC_BENCH_DIR:-$root/build-bench}"
cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DSC_WERROR=ON >/dev/null
cmake --build "$dir" -j"$(nproc)" --target comet-sidecar -- --no-print-directory >/dev/null
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -shared -fPIC \
    "$root/tests/bench/alloc_count.c" -o "$dir/alloc_count.so"
echo "== bench_accesslog ($(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//'); $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'))"
python3 "$root/tests/bench/bench_accesslog_run.py" --binary "$dir/sidecar/comet-sidecar" \
    --work "$dir/accesslog" --alloc-shim "$dir/alloc_count.so" --lines "${1:-1000000}" \
    --idle-seconds "${2:-60}" --fresh-seconds "${3:-20}"
