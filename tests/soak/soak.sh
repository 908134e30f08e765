#!/usr/bin/env bash
# soak.sh - the bounded soak (not part of CI): tests/soak/soak.sh [--minutes N] [soak.py options]
# Runs build/release/comet-sidecar (built if missing) for N minutes (default 10) at a steady
# access-log rate with canaries every second; prints RSS start/end/max after the warm-up, the
# descriptor counts and the warn/error log lines; exits non-zero if RSS grows beyond the tolerance,
# descriptors grow, a log line is warn/error or the sidecar dies. See soak.py.
set -euo pipefail
src="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$src/build/release/sidecar/comet-sidecar"
if [ ! -x "$bin" ]; then
    cmake -S "$src" -B "$src/build/release" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$src/build/release" -j2 --target comet-sidecar >/dev/null
fi
exec nice -n 10 python3 "$src/tests/soak/soak.py" --binary "$bin" "$@"
