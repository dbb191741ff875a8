"""Podium's part of a peer round: a fresh server, the idle dispatch probe, then a closed loop of
three-step workflows (`--peer-in-flight` started and not finished at all times), counted over the
same warm-up and window as the Celery part."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from .definitions import Names, register
from .load import Load, load_specs, merge_counters
from .observe import CpuWindow, Observer, per_op_cpu
from .phases import chain_pollers, phase_idle
from .servers import Servers
from .util import is_postgres, log, now, pg_database

FOREVER = 10**9  # the closed loop's start count: the window ends it, not a count


def closed_starter(args: argparse.Namespace, n: Names) -> dict[str, Any]:
    """Start lanes (--start-concurrency) that hold --peer-in-flight tokens: a start takes one, the
    third step's completion gives it back."""
    return {
        "workflow": n.chain_wf,
        "count": FOREVER,
        "rate": 0,
        "concurrency": args.start_concurrency,
        "seconds": args.peer_warmup + args.peer_window + 5,
        "by_name": args.start_by_name,
        "in_flight": args.peer_in_flight,
    }


async def phase_closed(args: argparse.Namespace, server: Servers, obs: Observer, n: Names) -> dict[str, Any]:
    obs.phase = "closed"
    seconds = args.peer_warmup + args.peer_window
    specs = load_specs(args, server, chain_pollers(args, n), closed_starter(args, n), False, seconds + 10)
    load = Load(specs)
    await load.ready()
    cpu = CpuWindow(obs, load)
    w0 = load.start() + args.peer_warmup
    w1 = w0 + args.peer_window
    wal = await asyncpg.connect(server.database_url) if is_postgres(server.database_url) else None
    try:
        await asyncio.sleep(max(0.0, w0 - now()))
        c0, l0 = cpu.mark(), await _wal_position(wal)
        backend = "postgresql" if wal is not None else "sqlite"
        server.start_profile(f"closed-{backend}")  # --profile, --perf: the measured window only
        await asyncio.sleep(max(0.0, w1 - now()))
        c1, l1 = cpu.mark(), await _wal_position(wal)
    finally:
        if wal is not None:
            await wal.close()
    server.stop_profile()
    results = await load.finish()
    done = [t for r in results for t in r["done"].get(n.steps[2], []) if w0 <= t < w1]
    report = cpu.report(c0, c1)
    return {
        "in_flight": args.peer_in_flight,
        "completed_in_window": len(done),
        "window_s": report["seconds"],
        "chains_per_s": round(len(done) / report["seconds"], 1),
        "started": sum(len(r["start_times"]) for r in results),
        "requests": merge_counters(results, "requests"),
        "errors": merge_counters(results, "errors"),
        "cpu": report,
        "cpu_ms_per_chain": per_chain(report, len(done)),
        **per_op_cpu(report, len(done)),
        "rss_peak_mb": round(obs.peak_kb.get("closed", 0) / 1024, 1),
        # PostgreSQL's WAL written in the window (the whole cluster's; nothing else runs on it), a
        # count of the database's work that the machine's noise does not move as it moves CPU time
        "wal_kb_per_chain": round((l1 - l0) / 1024 / len(done), 2) if l0 is not None and l1 is not None and done
        else None,
    }


async def _wal_position(conn: asyncpg.Connection | None) -> int | None:
    """PostgreSQL's WAL insert position in bytes (`pg_current_wal_insert_lsn`, exact at the moment
    it is read); None for SQLite."""
    if conn is None:
        return None
    return int(await conn.fetchval("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')"))


def per_chain(cpu: dict[str, Any], chains: int) -> dict[str, float | None]:
    """CPU milliseconds per workflow of each part: server, database (PostgreSQL's processes; with
    SQLite the database is inside the server), client (the load process), broker (none)."""

    def ms(key: str) -> float | None:
        value = cpu.get(key)
        return round(1000 * value / chains, 3) if chains and value is not None else None

    return {
        "server": ms("server_cpu_s"),
        "database": ms("postgres_cpu_s"),
        "client": ms("clients_cpu_s"),
        "broker": None,
    }


def part_args(args: argparse.Namespace, database_url: str | None) -> argparse.Namespace:
    """The options of one Podium part: one started server on `database_url` (None: a temp SQLite
    file), the idle probe sized by --peer-latency-samples."""
    return argparse.Namespace(
        **(
            vars(args)
            | {
                "database_url": database_url,
                "servers": 1,
                "server_url": None,
                "server_pid": None,
                "latency_samples": args.peer_latency_samples,
            }
        )
    )


async def podium_part(args: argparse.Namespace, database_url: str | None, index: int) -> dict[str, Any]:
    a = part_args(args, database_url)
    log(f"round {index}: Podium on {database_url or 'SQLite'} ({a.peer_in_flight} workflows in flight)")
    workdir = Path(tempfile.mkdtemp(prefix="podium-bench-peer-"))
    server = Servers(a, workdir, index)
    obs = Observer(server.pids, pg_database(server.database_url))
    try:
        await server.wait_healthy()
        obs.start()
        names = Names(uuid.uuid4().hex[:6])
        await register(server.url, names, server.headers)
        idle = await phase_idle(a, server, obs, names)
        closed = await phase_closed(a, server, obs, names)
    finally:
        await obs.stop()
        server.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return {
        "database_url": server.database_url,
        **closed,
        "idle_dispatch": idle["latency"],
        "idle_rss_mb": idle["rss_mb"],
    }
