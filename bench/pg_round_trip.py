"""What a PostgreSQL round trip and a pooled connection cost the client (the server process), in
CPU microseconds: asyncpg's pool acquire + release (with Podium's no-op reset), and a `SELECT 1`
through the pool's connection proxy and through the connection itself. Rounds alternate the two
ways of sending; the figures are `time.process_time()` (user + system) per operation.

    python bench/pg_round_trip.py [--url postgresql://postgres@127.0.0.1:5432/postgres] [--rounds 6]
"""

from __future__ import annotations

import argparse
import statistics
import time

import asyncpg
import uvloop


async def _kept_as_is(conn: asyncpg.Connection) -> None:
    """Podium's pool reset (`store.postgres`): nothing beyond what asyncpg does itself."""


async def measure(url: str, rounds: int, n: int) -> dict[str, list[float]]:
    pool = await asyncpg.create_pool(url, min_size=0, max_size=10, reset=_kept_as_is)
    got: dict[str, list[float]] = {"acquire + release": [], "SELECT 1 via the proxy": [], "SELECT 1 direct": []}
    try:
        for _ in range(100):  # warm: the connection opened, the statement prepared
            async with pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
        for _ in range(rounds):
            began = time.process_time()
            for _ in range(n):
                async with pool.acquire():
                    pass
            got["acquire + release"].append((time.process_time() - began) / n * 1e6)
            async with pool.acquire() as proxy:
                direct = proxy._con  # the connection behind asyncpg's proxy (a private name: a benchmark only)
                for name, conn in (("SELECT 1 via the proxy", proxy), ("SELECT 1 direct", direct)):
                    began = time.process_time()
                    for _ in range(n):
                        await conn.fetchval("SELECT 1")
                    got[name].append((time.process_time() - began) / n * 1e6)
    finally:
        await pool.close()
    return got


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("-n", type=int, default=3000, help="operations per round and kind")
    args = p.parse_args()
    got = uvloop.run(measure(args.url, args.rounds, args.n))
    for name, values in got.items():
        print(f"{name:24} median {statistics.median(values):6.1f} us of client CPU "
              f"(rounds: {', '.join(f'{v:.1f}' for v in values)})")


if __name__ == "__main__":
    main()
