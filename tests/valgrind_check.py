#!/usr/bin/env python3
"""valgrind_check.py - owns: the verdict of tests/run.sh's valgrind pass. Reads every memcheck log
the integration harness wrote (one per process, vg.<pid>.log in the directory given) and fails if
any reports an error, a definitely lost block, or a descriptor the process opened itself still
open at a complete exit (inherited ones, 0-2 and the log file, are not its to close). A process
the test killed with SIGKILL leaves a log without a summary: the errors it reported before dying
still count; its leak and descriptor checks never ran, so it is listed.

Usage: valgrind_check.py LOG_DIR   (prints one line per problem, then a summary; exit 1 on any)"""
import glob
import os
import re
import sys

ERRORS = re.compile(r"ERROR SUMMARY: (\d+) errors")
DEFINITE = re.compile(r"definitely lost: ([\d,]+) bytes")
# After "FILE DESCRIPTORS: N open at exit." each descriptor opens with "Open ..." and is followed
# either by "<inherited from parent>" (the log file itself, 0-2) or by the stack that opened it.
FD_OPEN = re.compile(r"^==\d+== (Open .*)$")
COMMAND = re.compile(r"^==\d+== Command: (.*)$", re.M)
# Memcheck prints each error as it happens, opening with one of these headlines.
HEADLINE = re.compile(r"^==\d+== (Invalid (read|write|free)|Conditional jump|Use of uninitialised|"
                      r"Syscall param|Mismatched free|Source and destination overlap|"
                      r"Argument .* of function)", re.M)


def check_log(path):
    text = open(path, errors="replace").read()
    cmd = COMMAND.search(text)
    who = f"{os.path.basename(path)} ({cmd.group(1)[:120] if cmd else '?'})"
    problems = []
    summary = ERRORS.search(text)
    if summary is None:
        n = len(HEADLINE.findall(text))
        if n:
            problems.append(f"{who}: {n} error(s) before the process was killed")
        return problems, f"{who} was killed before its leak check"
    if int(summary.group(1)):
        problems.append(f"{who}: {summary.group(1)} error(s)")
    lost = DEFINITE.search(text)
    if lost and lost.group(1) != "0":
        problems.append(f"{who}: {lost.group(1)} bytes definitely lost")
    leaked = leaked_fds(text)
    status = read_status(path)
    if leaked and status is not None and (status >= 128 or status < 0):
        return problems, f"{who} exited {status} without cleanup (a forced exit); fds not checked"
    if leaked:
        problems.append(f"{who}: descriptor(s) opened and never closed: {'; '.join(leaked)}")
    return problems, None


def read_status(log_path):
    """The exit status the harness noted for this process (vg.<pid>.status), if any."""
    try:
        with open(log_path[: -len(".log")] + ".status") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def leaked_fds(text):
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        m = FD_OPEN.match(line)
        if not m:
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if "<inherited from parent>" not in nxt:
            out.append(m.group(1))
    return out


def main():
    if len(sys.argv) != 2:
        print(__doc__.split("Usage: ")[1], file=sys.stderr)
        return 2
    logs = sorted(glob.glob(os.path.join(sys.argv[1], "vg.*.log")))
    problems, killed = [], []
    for path in logs:
        p, k = check_log(path)
        problems += p
        if k:
            killed.append(k)
    for p in problems:
        print(f"valgrind: {p}")
    for k in killed:
        print(f"valgrind: note: {k}")
    print(f"valgrind: {len(logs)} process logs, {len(killed)} unchecked at exit, {len(problems)} problems")
    if not logs:
        print("valgrind: no logs at all: the harness did not run anything under memcheck")
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
