"""accesslog_writer.py - owns: a gateway stand-in for the reliability tests: appends numbered
llm_json access-log lines ("request_id": "n-<i>") at a steady rate, one write(2) per line on an
O_APPEND descriptor (as nginx does), and rotates the file while it writes:

  --rotate rename        rename PATH -> PATH.<k>, then reopen PATH (logrotate "create" + the
                         gateway's reopen; lines written in between land in the renamed file)
  --rotate copytruncate  copy PATH -> PATH.<k>, then truncate PATH to 0, with writing paused
                         during copy + truncate (so no line falls in logrotate's documented gap)

Prints one JSON line at the end: {"written": N, "rotations": K}. Stdlib only; sleeping is fine
here - this is a load generator, not a test's synchronisation."""
import argparse
import json
import os
import shutil
import time


def line(i):
    t = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    return (f'{{"time":"{t}","request_id":"n-{i}","traceparent":"","method":"POST",'
            f'"uri":"/v1/chat/completions","status":200,"request_time":0.012,'
            f'"upstream_status":"200","llm_input_tokens":"5","llm_output_tokens":"7"}}\n').encode()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--path", required=True)
    p.add_argument("--first", type=int, default=1)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--rate", type=float, default=200.0, help="lines per second")
    p.add_argument("--rotate", choices=("none", "rename", "copytruncate"), default="none")
    p.add_argument("--every", type=float, default=1.0, help="seconds between rotations")
    a = p.parse_args()

    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
    fd = os.open(a.path, flags, 0o644)
    start = time.monotonic()
    next_rotation = start + a.every
    rotations = 0
    for n, i in enumerate(range(a.first, a.first + a.count)):
        due = start + n / a.rate
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        if a.rotate != "none" and time.monotonic() >= next_rotation:
            rotations += 1
            rotated = f"{a.path}.{rotations}"
            if a.rotate == "rename":
                os.rename(a.path, rotated)
                os.write(fd, line(i))  # the gateway has not reopened yet: goes to the old file
                i = None
                os.close(fd)
                fd = os.open(a.path, flags, 0o644)
            else:
                shutil.copyfile(a.path, rotated)
                os.truncate(a.path, 0)
            next_rotation += a.every
        if i is not None:
            os.write(fd, line(i))
    os.close(fd)
    print(json.dumps({"written": a.count, "rotations": rotations}), flush=True)


if __name__ == "__main__":
    main()
