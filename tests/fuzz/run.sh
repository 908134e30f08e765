#!/usr/bin/env bash
# Fuzzes every libFuzzer target for a while:
#   tests/fuzz/run.sh [--seconds N] [--jobs J] [--build DIR]
# Builds (if needed) with clang and SC_FUZZ=ON into DIR (default build/fuzz), then runs every
# target for N seconds (default 600), J targets at a time (default 1), each over a COPY of its
# seed corpus in DIR/tests/fuzz/work/<target> (new inputs and crash artifacts stay there, never
# in the repository). Prints one line per target (runs, execs/s, cov, ft, verdict) and exits
# non-zero if any target crashed, leaked, timed out or failed a crash replay.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
seconds=600 jobs=1 build=build/fuzz
while (($#)); do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    -h | --help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--seconds N] [--jobs J] [--build DIR]" >&2; exit 2 ;;
  esac
done
cd "$root"
[[ $build == /* ]] || build=$root/$build

if [[ ! -f $build/CMakeCache.txt ]]; then
  CC=clang cmake -S . -B "$build" -DSC_FUZZ=ON -DSC_BUILD_TESTS=OFF -DSC_WERROR=ON >/dev/null
fi
nice -n 10 cmake --build "$build" -j"$jobs" -- --no-print-directory >/dev/null

targets=()
for src in tests/fuzz/fuzz_*.c; do
  name=$(basename "$src" .c)
  targets+=("${name#fuzz_}")
done
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

running=0
for t in "${targets[@]}"; do
  (nice -n 10 bash tests/fuzz/run_one.sh "$build/tests/fuzz/fuzz_$t" "$t" "$seconds" \
     "$root/tests/fuzz" "$build/tests/fuzz/work/$t" >"$results/$t.out" 2>"$results/$t.err"
   echo $? >"$results/$t.rc") &
  running=$((running + 1))
  if ((running >= jobs)); then
    wait -n || true
    running=$((running - 1))
  fi
done
wait || true

failed=0
for t in "${targets[@]}"; do
  cat "$results/$t.out"
  if [[ $(cat "$results/$t.rc" 2>/dev/null || echo 1) != 0 ]]; then
    failed=$((failed + 1))
    sed 's/^/    /' "$results/$t.err" | head -20
    echo "    log: $build/tests/fuzz/work/$t/fuzz.log, artifacts: $build/tests/fuzz/work/$t/artifacts/"
  fi
done
echo "fuzz: ${#targets[@]} targets, $failed failed, ${seconds}s each"
((failed == 0))
