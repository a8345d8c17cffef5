"""What idle connections cost the engine, and where its connection bound refuses them.

    .venv/bin/python benchmarks/engine_idle_connections.py [--connections 4000] [--more 200]

Starts the embedded engine (its default limits), opens --connections connections that each
make one call and then stay open and idle, and reports the engine's RSS, threads and file
descriptors before and after, with the cost per connection (the engine with no client is the
baseline). Then opens --more connections and counts how many were served (200) and how many
refused (503, past the bound). Needs a descriptor limit above the connections opened.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys

from swfbench.embedded import HOST, EmbeddedServer

REQUEST = b"GET /swfbench/clock HTTP/1.1\r\nHost: engine\r\n\r\n"


def status(pid: int) -> tuple[float, int, int]:
    """RSS in MB, threads and descriptors of a process (Linux /proc)."""
    fields = {}
    with open(f"/proc/{pid}/status") as text:
        for line in text:
            key, value = line.split(":", 1)
            fields[key] = value.split()
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return int(fields["VmRSS"][0]) / 1024, int(fields["Threads"][0]), fds


def call(port: int) -> tuple[socket.socket, int]:
    """Open a connection, make one call on it, and return it with the answer's status."""
    sock = socket.create_connection((HOST, port), timeout=60)
    sock.sendall(REQUEST)
    head = sock.recv(65536)
    return sock, int(head.split(b" ", 2)[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=4000)
    parser.add_argument("--more", type=int, default=200)
    args = parser.parse_args(argv)
    with EmbeddedServer() as server:
        assert server.process is not None
        pid = server.process.pid
        rss0, threads0, fds0 = status(pid)
        held = []
        for _ in range(args.connections):
            sock, code = call(server.port)
            if code != 200:
                print(f"connection {len(held) + 1} answered {code}", file=sys.stderr)
                return 1
            held.append(sock)
        rss1, threads1, fds1 = status(pid)
        codes: dict[int, int] = {}
        for _ in range(args.more):
            sock, code = call(server.port)
            codes[code] = codes.get(code, 0) + 1
            held.append(sock)
        for sock in held:
            sock.close()
    print(f"engine alone: RSS {rss0:.1f} MB, {threads0} threads, {fds0} descriptors")
    print(
        f"{args.connections:,} idle connections: RSS {rss1:.1f} MB, {threads1:,} threads, "
        f"{fds1:,} descriptors; {(rss1 - rss0) * 1024 / args.connections:.1f} KB each"
    )
    answered = ", ".join(f"{n} answered {code}" for code, n in sorted(codes.items()))
    print(f"{args.more} more: {answered}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
