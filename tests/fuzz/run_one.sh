#!/usr/bin/env bash
# Runs one fuzz target: run_one.sh BINARY NAME SECONDS FUZZ_SRC_DIR WORK_DIR
#   1. replays every file in FUZZ_SRC_DIR/crashes/NAME/ as a plain input (regressions);
#   2. fuzzes a COPY of FUZZ_SRC_DIR/corpus/NAME/ in WORK_DIR/corpus for SECONDS (new inputs and
#      crash artifacts go to WORK_DIR, never into the repository), with NAME.dict if there is one;
#   3. prints one summary line: runs, execs/s, cov, ft, and the verdict.
# Exit status: 0, or non-zero when a replay failed or libFuzzer found a crash, leak or timeout.
# Shared by the fuzz.<name> ctest tests and tests/fuzz/run.sh, so both fuzz the same way.
set -uo pipefail
bin=$1 name=$2 seconds=$3 src=$4 work=$5

# Longest input per target: enough for the biggest realistic seed, small enough to stay fast.
case $name in
  timestamp | retry_after) max_len=256 ;;
  otel_env | otlp_response) max_len=2048 ;;
  json_line | nginx_format | classify | http_request) max_len=8192 ;;
  checkpoint) max_len=12288 ;;
  config | contract | sse) max_len=16384 ;;
  *) max_len=4096 ;;
esac

rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
if [[ -d "$src/corpus/$name" ]]; then
  cp "$src/corpus/$name"/* "$work/corpus/" 2>/dev/null || true
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
common=(-timeout=10 -rss_limit_mb=2048 -max_len="$max_len")

verdict=ok
if [[ -d "$src/crashes/$name" ]] && compgen -G "$src/crashes/$name/*" >/dev/null; then
  if ! "$bin" "${common[@]}" "$src/crashes/$name"/* >"$work/replay.log" 2>&1; then
    verdict="REPLAY FAILED"
    tail -40 "$work/replay.log" >&2
  fi
fi

dict=()
[[ -f "$src/$name.dict" ]] && dict=(-dict="$src/$name.dict")
rc=0
if [[ $verdict == ok ]]; then
  "$bin" "${common[@]}" "${dict[@]}" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/fuzz.log" 2>&1 || rc=$?
  if ((rc != 0)); then
    if grep -q "ERROR: LeakSanitizer" "$work/fuzz.log"; then verdict=LEAK
    elif grep -q "ERROR: libFuzzer: timeout" "$work/fuzz.log"; then verdict=TIMEOUT
    elif grep -q "out-of-memory" "$work/fuzz.log"; then verdict=OOM
    else verdict=CRASH; fi
    grep -E "ERROR|SUMMARY|Test unit written|^    #[0-9]+ " "$work/fuzz.log" | head -40 >&2
  fi
fi

stat() { sed -nE "s/^stat::$1: *([0-9]+).*/\1/p" "$work/fuzz.log" 2>/dev/null | tail -1; }
last=$(grep -E '^#[0-9]+.*cov: ' "$work/fuzz.log" 2>/dev/null | tail -1)
cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
printf '%-14s runs=%-10s execs/s=%-7s cov=%-6s ft=%-6s corpus=%-5s %s\n' "$name" \
  "$(stat number_of_executed_units)" "$(stat average_exec_per_sec)" "${cov:-?}" "${ft:-?}" \
  "$(ls "$work/corpus" | wc -l)" "$verdict"
[[ $verdict == ok ]]
