#!/usr/bin/env bash
# bench_encode.sh - builds a Release tree (build/bench) and runs the encoder benchmark.
# Usage: tests/bench/bench_encode.sh [batches=20] [encodes_per_batch=20]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir="$root/build/bench"
cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DSC_WERROR=ON >/dev/null
cmake --build "$dir" -j"$(nproc)" --target bench_encode -- --no-print-directory >/dev/null
echo "== bench_encode ($(uname -m), $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//'))"
"$dir/tests/bench/bench_encode" "$@"
