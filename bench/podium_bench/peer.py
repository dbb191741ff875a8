"""The peer phase (`--phases peer`): Podium against Celery + Redis on the same machine, in one run.

Each round runs, one after the other, Podium on a fresh SQLite file, Celery, and (with
--peer-postgres) Podium on a fresh PostgreSQL database: the same three-step chain, the same number
in flight, the same warm-up and window. The report gives chains/s per round and the ratio
Podium / Celery, medians, the CPU per chain of each part (server, database, client, broker) from
/proc, and the idle dispatch latency (send -> a waiting worker holds the task) of each.
"""

from __future__ import annotations

import argparse
import statistics
import urllib.parse
from pathlib import Path
from typing import Any

import asyncpg

from .closed import podium_part
from .observe import wait_quiet
from .peer_celery import celery_part
from .peer_env import ensure_venv, peer_versions
from .util import log

PARTS = ("podium_sqlite", "celery", "podium_postgresql")
LABELS = {"podium_sqlite": "Podium SQLite", "celery": "Celery+Redis", "podium_postgresql": "Podium PostgreSQL"}
CPU_PARTS = ("server", "database", "client", "broker")


def database_url(admin_url: str, name: str) -> str:
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(admin_url)._replace(path=f"/{name}"))


async def pg_admin(admin_url: str, sql: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def postgres_part(args: argparse.Namespace, index: int) -> dict[str, Any]:
    """Podium on a database created for this round, dropped after it."""
    name = f"podium_bench_peer_{index}"
    await pg_admin(args.peer_postgres, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await pg_admin(args.peer_postgres, f"CREATE DATABASE {name}")
    try:
        return await podium_part(args, database_url(args.peer_postgres, name), index)
    finally:
        await pg_admin(args.peer_postgres, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def one_round(args: argparse.Namespace, python: Path, index: int) -> dict[str, Any]:
    out: dict[str, Any] = {"round": index}
    runners = {
        "podium_sqlite": lambda: podium_part(args, None, index),
        "celery": lambda: celery_part(args, python, index),
        "podium_postgresql": lambda: postgres_part(args, index),
    }
    for part in parts(args):
        out[f"{part}_background_pct_of_core_before"] = await wait_quiet(args)
        out[part] = await runners[part]()
        log(f"round {index}: {LABELS[part]} {out[part]['chains_per_s']} chains/s")
    out |= ratios(out)
    return out


def parts(args: argparse.Namespace) -> list[str]:
    return [p for p in PARTS if (p != "podium_postgresql" or args.peer_postgres)
            and (p != "celery" or not args.peer_no_celery)]


def ratios(rnd: dict[str, Any]) -> dict[str, float]:
    celery = rnd.get("celery", {}).get("chains_per_s")
    out = {}
    for part in ("podium_sqlite", "podium_postgresql"):
        if part in rnd and celery:
            out[f"ratio_{part.removeprefix('podium_')}"] = round(rnd[part]["chains_per_s"] / celery, 3)
    return out


def median(values: list[Any]) -> float | None:
    nums = [v for v in values if isinstance(v, int | float)]
    return round(statistics.median(nums), 3) if nums else None


def summarize(rounds: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    """Medians over the rounds: rate, ratios, CPU ms per chain of each part, idle dispatch."""
    out: dict[str, Any] = {}
    for key in ("ratio_sqlite", "ratio_postgresql"):
        if any(key in r for r in rounds):
            out[key] = median([r.get(key) for r in rounds])
    for part in names:
        got = [r[part] for r in rounds]
        out[part] = {
            "chains_per_s": median([g["chains_per_s"] for g in got]),
            "cpu_ms_per_chain": {c: median([g["cpu_ms_per_chain"][c] for g in got]) for c in CPU_PARTS},
            "idle_dispatch_p50_ms": median([g["idle_dispatch"]["from_send_p50_ms"] for g in got]),
            "idle_dispatch_p99_ms": median([g["idle_dispatch"]["from_send_p99_ms"] for g in got]),
            "other_pct_of_core": median([g["cpu"].get("other_pct_of_core") for g in got]),
            "wal_kb_per_chain": median([g.get("wal_kb_per_chain") for g in got]),
        }
    return out


def shown(v: float | None, unit: str = "") -> str:
    return "n/a" if v is None else f"{v:,.1f}{unit}" if abs(v) >= 10 else f"{v:.2f}{unit}"


def print_rounds(rounds: list[dict[str, Any]], names: list[str], summary: dict[str, Any]) -> None:
    ratio_keys = [k for k in ("ratio_sqlite", "ratio_postgresql") if k in summary]
    head = f"{'round':8}" + "".join(f"{LABELS[p]:>20}" for p in names) + "".join(f"{k:>18}" for k in ratio_keys)
    print(head + "\n" + "-" * len(head))
    for r in rounds:
        print(
            f"{r['round']:<8}"
            + "".join(f"{shown(r[p]['chains_per_s'], '/s'):>20}" for p in names)
            + "".join(f"{shown(r.get(k), 'x'):>18}" for k in ratio_keys)
        )
    print(
        f"{'median':8}"
        + "".join(f"{shown(summary[p]['chains_per_s'], '/s'):>20}" for p in names)
        + "".join(f"{shown(summary[k], 'x'):>18}" for k in ratio_keys)
    )


def print_costs(names: list[str], summary: dict[str, Any]) -> None:
    print()
    head = f"{'CPU ms per chain (median)':28}" + "".join(f"{c:>10}" for c in (*CPU_PARTS, "total"))
    head += f"{'idle p50':>11}{'idle p99':>11}{'other':>9}"
    print(head + "\n" + "-" * len(head))
    for p in names:
        s = summary[p]
        costs = [s["cpu_ms_per_chain"][c] for c in CPU_PARTS]
        total = sum(c for c in costs if c is not None)
        print(
            f"{LABELS[p]:28}"
            + "".join(f"{shown(c):>10}" for c in (*costs, total))
            + f"{shown(s['idle_dispatch_p50_ms'], ' ms'):>11}{shown(s['idle_dispatch_p99_ms'], ' ms'):>11}"
            + f"{shown(s['other_pct_of_core'], '%'):>9}"
        )
    print(
        "idle = dispatch latency on an idle system, send -> a waiting worker holds the task; "
        "other = other processes' CPU during the window, % of a core"
    )


async def peer_main(args: argparse.Namespace) -> dict[str, Any]:
    """Every round, then the table; returns the JSON's `peer` block."""
    python = ensure_venv(Path(args.peer_venv), args.peer_requirement)
    names = parts(args)
    rounds = [await one_round(args, python, i) for i in range(1, args.rounds + 1)]
    summary = summarize(rounds, names)
    print()
    print(
        f"Peer: {args.rounds} round(s), {args.peer_in_flight} three-step chains in flight, "
        f"{args.peer_warmup:g} s warm-up + {args.peer_window:g} s window"
    )
    print_rounds(rounds, names, summary)
    print_costs(names, summary)
    return {"parts": names, "versions": peer_versions(python), "summary": summary, "rounds": rounds}
