"""otlp_sink.py - owns: a fast loopback OTLP/HTTP sink for benchmarks: accepts POSTs on any
path with HTTP/1.1 keep-alive, reads the body (Content-Length), answers 200 with an empty
protobuf body, and counts requests and bytes per path. No decoding: the official-decoder
receiver (tests/otlp_receiver) is for correctness, this is for throughput.

Prints {"listening": "127.0.0.1:PORT"} on start; on SIGTERM (or stdin EOF) prints
{"requests": {...}, "bytes": {...}} and exits.

--mark REGEX (for the freshness figure): every uncompressed body is searched for REGEX and the
first time (time.monotonic(), comparable across processes) each match was accepted is added to
the output as {"marks": {match: t}}."""
import argparse
import asyncio
import json
import re
import signal
import sys
import time

REPLY = (b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n"
         b"Content-Length: 0\r\n\r\n")
requests, nbytes, marks = {}, {}, {}
mark_re = None


async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1] if len(lines[0].split(" ")) > 1 else "?"
            length = 0
            for h in lines[1:]:
                if h.lower().startswith("content-length:"):
                    length = int(h.split(":", 1)[1])
            body = await reader.readexactly(length) if length else b""
            if mark_re is not None:
                now = time.monotonic()
                for m in mark_re.findall(body):
                    marks.setdefault(m.decode("latin-1"), now)
            requests[path] = requests.get(path, 0) + 1
            nbytes[path] = nbytes.get(path, 0) + length
            writer.write(REPLY)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0, limit=1 << 20)
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({"listening": f"127.0.0.1:{port}"}), flush=True)
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, lambda: done.done() or done.set_result(None))
    try:  # stdin EOF (the parent died) ends the sink too, when stdin is a pipe
        loop.add_reader(sys.stdin.fileno(),
                        lambda: sys.stdin.buffer.read1(4096) or done.done() or done.set_result(None))
    except (OSError, ValueError):
        pass
    await done
    server.close()
    out = {"requests": requests, "bytes": nbytes}
    if mark_re is not None:
        out["marks"] = marks
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--mark")
    mark = ap.parse_args().mark
    mark_re = re.compile(mark.encode()) if mark else None
    asyncio.run(main())
