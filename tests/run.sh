#!/usr/bin/env bash
# The README's test command. Installs what is missing, builds twice (warnings as errors; and
# ASan+UBSan), runs every unit and integration test against both builds, fuzzes every libFuzzer
# target briefly (a third, clang build: tests/fuzz), then the integration
# tests of the release build again with every program of ours under valgrind memcheck, and ends
# with one summary line. Exit status is non-zero if anything failed.
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
# libFuzzer targets (clang; only tests/fuzz, the unit tests are the two builds above): each
# fuzz.<target> test replays tests/fuzz/crashes/<target>/ and fuzzes its seed corpus briefly.
CC=clang build build/fuzz -DSC_FUZZ=ON -DSC_BUILD_TESTS=OFF

passed=0 failed=0
run_suite() {
  local dir=$1 log
  shift
  log=$(mktemp)
  echo "== ctest: $dir $*" >&2
  if ctest --test-dir "$dir" --output-on-failure -j"$jobs" --timeout 900 "$@" 2>&1 | tee "$log"; then :; fi
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
run_suite build/fuzz


# Valgrind pass: only the integration tests that start our programs (the sidecar, export_driver,
# canary_driver). Left out, by name, because they start none of them: test_alerts (promtool),
# test_dashboards (promtool and a unit-test binary), test_mock_upstream, test_otlp_receiver,
# test_schema_check_lib (Python only). The verdict is memcheck's own, from every process's log
# (tests/valgrind_check.py), counted as one more test.
vg_logs="$root/build/release/valgrind-logs"
rm -rf "$vg_logs"
SC_VALGRIND=1 SC_VALGRIND_LOG_DIR="$vg_logs" SC_TIME_SCALE=${SC_TIME_SCALE:-8} \
  run_suite build/release -R '^integration\.' \
  -E '^integration\.(test_alerts|test_dashboards|test_mock_upstream|test_otlp_receiver|test_schema_check_lib)$'
echo "== valgrind logs: $vg_logs" >&2
if python3 tests/valgrind_check.py "$vg_logs"; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi

echo "summary: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
