#!/usr/bin/env bash
# The README's test command. Installs what is missing, builds twice (warnings as errors; and
# ASan+UBSan), runs every unit and integration test against both builds, and ends with one
# summary line. Exit status is non-zero if anything failed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

bash deploy/install-deps.sh --test
if [[ -f tests/otlp_receiver/install.sh ]]; then
  bash tests/otlp_receiver/install.sh
fi
bash tests/k8s_validate/install.sh

jobs=$(nproc)
build() {
  local dir=$1; shift
  cmake -S . -B "$dir" -DSC_WERROR=ON -DSC_BUILD_TESTS=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs" -- --no-print-directory >/dev/null
}
build build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo
build build/asan -DCMAKE_BUILD_TYPE=Debug -DSC_SANITIZE=ON

passed=0 failed=0
run_suite() {
  local dir=$1 log
  log=$(mktemp)
  echo "== ctest: $dir" >&2
  if ctest --test-dir "$dir" --output-on-failure -j"$jobs" --timeout 600 2>&1 | tee "$log"; then :; fi
  local line
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1 || true)
  if [[ -z "$line" ]]; then
    failed=$((failed + 1))
  else
    local f t
    f=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
    t=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")
    passed=$((passed + t - f))
    failed=$((failed + f))
  fi
  rm -f "$log"
}
run_suite build/release
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 run_suite build/asan

echo "summary: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
