"""Small helpers shared by the benchmark's modules: the clock, percentiles, ports, the log line."""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import sys
import time
import urllib.parse


def now() -> float:
    """CLOCK_MONOTONIC: comparable across the processes of this machine."""
    return time.monotonic()


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def is_postgres(database_url: str | None) -> bool:
    return database_url is not None and database_url.startswith(("postgres", "postgresql"))


def pg_database(database_url: str) -> str | None:
    """The database name of a postgresql:// URL, whose backends' CPU is then measured."""
    if not is_postgres(database_url):
        return None
    return urllib.parse.urlsplit(database_url).path.lstrip("/") or None


def use_uvloop(enabled: bool) -> None:
    if enabled:
        with contextlib.suppress(ImportError):
            import uvloop

            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)
