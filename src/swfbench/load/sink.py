"""A loopback sink for send-path benchmarks: answers every HTTP request with
`{"cancelRequested": false}`, keep-alive, as fast as one asyncio loop can.

    python -m swfbench.load.sink --port 8500

It is not SWF: it checks nothing, so a benchmark against it measures the sender alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

BODY = b'{"cancelRequested":false}'
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"
    b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY
)


class SinkProtocol(asyncio.Protocol):
    """Parses just enough HTTP/1.1 (headers, Content-Length) to answer pipelined requests."""

    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        answers = 0
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = self.buffer[:end].lower()
            length = 0
            marker = head.find(b"content-length:")
            if marker >= 0:
                line_end = head.find(b"\r\n", marker)
                length = int(head[marker + 15 : line_end if line_end >= 0 else None])
            total = end + 4 + length
            if len(self.buffer) < total:
                break
            self.buffer = self.buffer[total:]
            answers += 1
        if answers and self.transport is not None:
            self.transport.write(RESPONSE * answers)


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    server = await loop.create_server(SinkProtocol, sock=sock, backlog=4096)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--processes", type=int, default=1, help="processes sharing the port")
    args = parser.parse_args()
    for _ in range(args.processes - 1):
        if os.fork() == 0:
            break
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port))


@contextlib.contextmanager
def running_sink(port: int, processes: int = 1) -> Iterator[str]:
    """Run the sink as a child process for the block; yield its URL."""
    child = subprocess.Popen(
        [sys.executable, "-m", "swfbench.load.sink", "--port", str(port),
         "--processes", str(processes)],
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield url
    finally:
        os.killpg(child.pid, signal.SIGTERM)
        child.wait(timeout=10)


if __name__ == "__main__":
    main()
