#!/usr/bin/env python
"""Web UI pages on a store of --executions (100,000) executions: the time each page takes to answer
over HTTP (server-rendered HTML, as a browser asks for it), p50 / p95 / max.

    .venv/bin/python bench/ui.py                        # fill a fresh store (bench/processes.py's way), measure
    .venv/bin/python bench/ui.py --keep /tmp/p.db       # fill once and keep it, or reuse that file

The store is filled by bench/processes.py's `fill` (lifecycle intents: executions of seven workflow
types with search attributes, most finished, 3 % live with tasks waiting or taken). Pages measured:
the dashboard (each window: 1 h, 24 h, 7 d), the executions list (no filter, by workflow type, by
status, by free text, by a search attribute, sorted by end time), one execution, the definitions,
one definition, the queues, the processes (SIGMA and schedules), the lifecycle processes, the BBS
tasks. Target (issue 8): every page under
200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import processes as fill_kit  # bench/processes.py, beside this file
from podium_bench.client import RawConnection  # bench/podium_bench, beside this file

TARGET_MS = 200.0


def pages(path: Path) -> list[tuple[str, str]]:
    """(name, path and query) of every page measured, with ids and values read from the store."""
    with sqlite3.connect(path) as db:
        one = db.execute("SELECT workflow_id FROM executions WHERE status = 'COMPLETED' LIMIT 1").fetchone()[0]
        live = db.execute("SELECT workflow_id FROM executions WHERE status = 'RUNNING' LIMIT 1").fetchone()[0]
        name = db.execute("SELECT value FROM search_attrs WHERE name = 'assemblyName' LIMIT 1").fetchone()[0]
    return [
        ("dashboard, last 24 h", "/ui/dashboard"),
        ("dashboard, last 7 d", "/ui/dashboard?window=7d"),
        ("dashboard, last 1 h", "/ui/dashboard?window=1h"),
        ("executions, newest 50", "/ui/executions"),
        ("executions by type", "/ui/executions?workflowType=HealAssembly"),
        ("executions failed or timed out", "/ui/executions?status=FAILED&status=TIMED_OUT"),
        ("executions by search attribute", f"/ui/executions?query=attr.assemblyName%20%3D%20%27{name}%27"),
        ("executions by free text", f"/ui/executions?freeText={name}"),
        ("executions sorted by end time", "/ui/executions?sort=endTime%3ADESC&size=200"),
        ("executions, page 100", "/ui/executions?start=5000&size=50"),
        ("one execution (finished)", f"/ui/executions/{one}"),
        ("one execution (running)", f"/ui/executions/{live}"),
        ("definitions", "/ui/definitions"),
        ("one definition", "/ui/definitions/HealAssembly"),
        ("queues", "/ui/queues"),
        ("processes and schedules", "/ui/processes"),
        ("lifecycle processes", "/ui/lifecycle"),
        ("lifecycle by name pattern", "/ui/lifecycle?assemblyName=Assembly-001*"),
        ("BBS tasks", "/ui/bbs"),
    ]


async def measure(url: str, measured: list[tuple[str, str]], warmup: int, repeat: int) -> dict[str, dict[str, Any]]:
    conn = RawConnection(url)
    times: dict[str, list[float]] = {name: [] for name, _ in measured}
    sizes: dict[str, int] = {}
    try:
        for i in range(warmup + repeat):
            for name, target in measured:
                t0 = time.perf_counter()
                status, body = await conn.request("GET", target)
                took = (time.perf_counter() - t0) * 1000
                if status != 200:
                    raise RuntimeError(f"{target} answered {status}: {body[:300]!r}")
                sizes[name] = len(body)
                if i >= warmup:
                    times[name].append(took)
    finally:
        await conn.aclose()
    out = {}
    for name, target in measured:
        ms = sorted(times[name])
        out[name] = {"path": target, "p50_ms": round(ms[len(ms) // 2], 1),
                     "p95_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.95))], 1), "max_ms": round(ms[-1], 1),
                     "kb": round(sizes[name] / 1024, 1)}
    return out


async def amain(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="podium-ui-") as tmp:
        workdir = Path(tmp)
        path = Path(args.keep) if args.keep else workdir / "podium.db"
        if not path.exists():
            fill_args = argparse.Namespace(processes=args.executions, assemblies=2_000, live_pct=3.0, seed=42)
            print(f"filling {path} with {args.executions:,} executions", flush=True)
            print(json.dumps(await fill_kit.fill(path, workdir, fill_args)), flush=True)
        server = fill_kit.Server(path, workdir, "server")
        try:
            await server.ready()
            await asyncio.sleep(2)
            found = await measure(server.url, pages(path), args.warmup, args.repeat)
        finally:
            server.stop()
    print(f"\nWeb UI pages, {args.executions:,} executions, SQLite; {args.repeat} timed requests each")
    print(f"{'page':40} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'KB':>7}  < {TARGET_MS:g} ms")
    for name, row in found.items():
        verdict = "met" if row["p95_ms"] < TARGET_MS else "NOT MET"
        print(f"{name:40} {row['p50_ms']:8} {row['p95_ms']:8} {row['max_ms']:8} {row['kb']:7}  {verdict}")
    if args.json:
        Path(args.json).write_text(json.dumps({"executions": args.executions, "pages": found}, indent=2))
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--executions", type=int, default=100_000, help="executions in the store")
    p.add_argument("--repeat", type=int, default=30, help="timed requests per page")
    p.add_argument("--warmup", type=int, default=3, help="untimed rounds first")
    p.add_argument("--keep", metavar="FILE", help="the SQLite file to fill (kept), or to reuse if it exists")
    p.add_argument("--json", help="write every figure to this file")
    return asyncio.run(amain(p.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
