"""Server CPU per request of one route: keep-alive connections on asyncio streams (a client far
cheaper than the server, so the server is the one busy), each sending the same request and reading
its answer, counted from /proc/<pid>/stat (user + system) over the run.

    python bench/request_cost.py --port 8080 --pid <server pid> [--path /health] [--requests 30000]

Compare a route against a bare ASGI app on the same uvicorn (`--bare PORT` serves one that answers
every request with a small JSON body) to see what Podium adds to a request.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import uvloop
from podium_bench.observe import cpu_seconds


async def _connection(port: int, request: bytes, n: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for _ in range(n):
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            if length:
                await reader.readexactly(length)
    finally:
        writer.close()


async def measure(port: int, pid: int, path: str, requests: int, connections: int) -> tuple[float, float]:
    """(requests per second, server CPU microseconds per request)."""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    await asyncio.gather(*(_connection(port, request, 10) for _ in range(connections)))  # warm
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    await asyncio.gather(*(_connection(port, request, requests // connections) for _ in range(connections)))
    cpu1, t1 = cpu_seconds(pid), time.monotonic()
    return requests / (t1 - t0), (cpu1 - cpu0) / requests * 1e6


def bare(port: int) -> None:
    import uvicorn

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": b'{"healthy":true}'})

    uvicorn.run(app, host="127.0.0.1", port=port, loop="uvloop", http="httptools", log_level="warning",
                access_log=False)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int)
    p.add_argument("--pid", type=int, help="the server's process id")
    p.add_argument("--path", default="/health")
    p.add_argument("--requests", type=int, default=30_000)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--bare", type=int, metavar="PORT", help="serve the bare ASGI app on PORT instead")
    args = p.parse_args()
    if args.bare:
        bare(args.bare)
        return
    if args.port is None or args.pid is None:
        p.error("--port and --pid are needed")
    rate, cpu = uvloop.run(measure(args.port, args.pid, args.path, args.requests, args.connections))
    print(f"{args.path}: {rate:.0f} requests/s, server CPU {cpu:.0f} µs a request")


if __name__ == "__main__":
    main()
