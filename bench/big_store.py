#!/usr/bin/env python
"""A big store (issue 18, item 7): start rate and dispatch of a server on a store holding
--executions finished executions (default 1,000,000) against the same on an empty store.

    .venv/bin/python bench/big_store.py                                   # SQLite, 1,000,000, 4 rounds
    .venv/bin/python bench/big_store.py --keep /tmp/big.db                # keep the filled file; reuse it next time
    .venv/bin/python bench/big_store.py --executions 200000 \\
        --database-url postgresql://postgres@127.0.0.1:5432/podium_big    # PostgreSQL: the database must not exist

Steps: (1) the full store: the finished executions are written straight into it (each with three
tasks, three task logs, a search attribute and a full-text entry, ended 40 days ago:
`podium_bench/seed.py`, shared with bench/retention.py; on PostgreSQL then ANALYZE, as autovacuum
would have done as they accumulated). SQLite: a temp file, or `--keep PATH` (a file that already
holds them is reused, one holding fewer is topped up). PostgreSQL: the database of --database-url,
created here with `createdb` and dropped at the end (`--keep-database` keeps it, and reuses it next
time). (2) --rounds rounds alternate empty, full, empty, full, ... so that the machine's noise hits
both sides; each round starts its own `podium server` (its retention loop off, so that nothing
deletes the seeded rows) on a fresh empty store (a new SQLite file; a new database
`<name>_empty_<round>`, dropped after the round) or on the full one, and runs bench/run.py's
phases `idle` and `chain` against it: dispatch latency on the idle server (a worker parked in a
long poll, a 1-task workflow started: the start call sent -> the worker holds the task), then the
three-step chain phase (starts/s with --start-concurrency calls in flight, chains/s completed,
dispatch latency under that load measured the same way, server CPU per chain).

Output: one line per round, then the median of each figure over the empty and over the full rounds
and the ratio full / empty of those medians (target: within 20 %, i.e. rates >= 0.8, latencies and
CPU <= 1.2), with the load average at each round's start (other work on the machine moves the rates;
server CPU per chain moves much less). The rounds on the full store add their own workflows to it
(a few thousand each), which `--keep` carries over to the next run.

Time on the 2-core machine: seeding 1,000,000 takes about 2 minutes on SQLite (a 2.5 GB file) and
4 on PostgreSQL; each round about 30 s. Before seeding and before each round the script waits while
/tmp/QUIET exists (the shared machine's signal that something else needs it quiet).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from podium_bench.seed import seed, seeded, start_server  # noqa: E402

# (key in a round's figures, label, True if higher is better)
FIGURES = [
    ("starts_per_s", "starts/s", True),
    ("chains_per_s", "chains/s", True),
    ("idle_p50_ms", "idle dispatch p50 ms", False),
    ("idle_p99_ms", "idle dispatch p99 ms", False),
    ("load_p50_ms", "dispatch under load p50 ms", False),
    ("load_p99_ms", "dispatch under load p99 ms", False),
    ("server_ms_per_chain", "server CPU ms/chain", False),
    ("postgres_ms_per_chain", "PostgreSQL CPU ms/chain", False),
]


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--executions", type=int, default=1_000_000, help="finished executions in the full store")
    p.add_argument("--database-url", help="postgresql://.../NAME: a database this script creates (and drops)")
    p.add_argument("--keep", help="SQLite: the full store's file, kept after the run and reused when already filled")
    p.add_argument("--keep-database", action="store_true",
                   help="PostgreSQL: keep the full database after the run, and reuse it when it exists")
    p.add_argument("--rounds", type=int, default=4, help="rounds, alternating empty and full (empty first)")
    p.add_argument("--chain-seconds", type=float, default=10.0, help="the chain phase's start window, each round")
    p.add_argument("--latency-samples", type=int, default=300, help="idle dispatch samples, each round")
    p.add_argument("--start-concurrency", type=int, default=4, help="start calls in flight in the chain phase")
    p.add_argument("--json", help="write every figure here")
    return p.parse_args()


def wait_quiet_flag() -> None:
    """The shared machine's convention: nothing heavy starts while /tmp/QUIET exists."""
    while os.path.exists("/tmp/QUIET"):
        time.sleep(10)


class Postgres:
    """createdb / dropdb for the databases of a postgresql:// URL's server."""

    def __init__(self, url: str) -> None:
        self.parts = urllib.parse.urlsplit(url)
        self.name = self.parts.path.lstrip("/")
        if not self.name:
            raise SystemExit("--database-url needs a database name: postgresql://user@host:port/NAME")

    def url(self, name: str) -> str:
        return urllib.parse.urlunsplit(self.parts._replace(path=f"/{name}"))

    def _client_args(self) -> list[str]:
        out = ["-h", self.parts.hostname or "127.0.0.1", "-p", str(self.parts.port or 5432)]
        return out + (["-U", self.parts.username] if self.parts.username else [])

    def exists(self, name: str) -> bool:
        found = subprocess.run(["psql", *self._client_args(), "-d", "postgres", "-tAc",
                                f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
                               check=True, capture_output=True, text=True)
        return found.stdout.strip() == "1"

    def create(self, name: str) -> None:
        subprocess.run(["createdb", *self._client_args(), name], check=True)

    def drop(self, name: str) -> None:
        subprocess.run(["dropdb", *self._client_args(), "--if-exists", name], check=True)


def fill(args: argparse.Namespace, workdir: Path, pg: Postgres | None) -> tuple[str, dict[str, Any]]:
    """The full store's URL, filled with --executions seeded executions (reused when already there)."""
    if pg:
        url = pg.url(pg.name)
        if pg.exists(pg.name) and not args.keep_database:
            raise SystemExit(f"database {pg.name} exists: pass a fresh name, or --keep-database to reuse it")
        created = not pg.exists(pg.name)
        if created:
            pg.create(pg.name)
    else:
        path = Path(args.keep).resolve() if args.keep else workdir / "full.db"
        url = f"sqlite:///{path}"
    try:
        have = asyncio.run(seeded(url))
        info: dict[str, Any] = {"already_there": have}
        if have < args.executions:
            wait_quiet_flag()
            print(f"seeding {args.executions - have} finished executions ({have} already there) ...", flush=True)
            info["seed_seconds"] = round(asyncio.run(seed(url, args.executions, first=have)), 1)
            print(f"seeded in {info['seed_seconds']} s", flush=True)
        info["executions"] = asyncio.run(seeded(url))
    except BaseException:
        if pg and created and not args.keep_database:  # only the database made here
            pg.drop(pg.name)
        raise
    return url, info


def run_round(args: argparse.Namespace, url: str, kind: str, index: int, workdir: Path) -> dict[str, Any]:
    """One server on `url`, bench/run.py's idle and chain phases against it."""
    wait_quiet_flag()
    rdir = workdir / f"round{index}-{kind}"
    rdir.mkdir()
    load = os.getloadavg()
    t0 = time.monotonic()
    proc, server = start_server(url, rdir)
    ready_s = time.monotonic() - t0
    out_json = rdir / "run.json"
    try:
        subprocess.run([sys.executable, str(HERE / "run.py"), "--server-url", server, "--server-pid", str(proc.pid),
                        "--database-url", url, "--phases", "idle,chain", "--chain-seconds", str(args.chain_seconds),
                        "--latency-samples", str(args.latency_samples),
                        "--start-concurrency", str(args.start_concurrency), "--json", str(out_json)],
                       check=True, stdout=subprocess.DEVNULL, stderr=(rdir / "run.err").open("w"))
    finally:
        proc.terminate()
        proc.wait(60)
    data = json.loads(out_json.read_text())
    run = data["runs"][0] if "runs" in data else data
    idle, chain = run["idle"]["latency"], run["chain"]
    under_load = chain["latency_under_load"]
    return {
        "round": index,
        "store": kind,
        "load_avg_1_5": [round(load[0], 2), round(load[1], 2)],
        "server_ready_s": round(ready_s, 2),
        "starts_per_s": chain.get("starts_per_s"),
        "chains_per_s": chain.get("workflows_per_s"),
        # from the start call being sent to the worker holding the task (issue 18's measure): on an idle
        # server the parked poll is answered before the start call's own answer arrives, so the
        # "from the answer" figure is about zero there
        "idle_p50_ms": idle["from_send_p50_ms"],
        "idle_p99_ms": idle["from_send_p99_ms"],
        "load_p50_ms": under_load["from_send_p50_ms"],
        "load_p99_ms": under_load["from_send_p99_ms"],
        "server_ms_per_chain": chain.get("server_cpu_ms_per_op"),
        "postgres_ms_per_chain": chain.get("postgres_cpu_ms_per_op"),
        "chains_completed": chain["workflows_completed"],
        "all_completed": chain["all_completed"],
        "errors": chain["errors"],
        "other_pct_of_core": chain["cpu"].get("other_pct_of_core"),
    }


def summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, _, higher_better in FIGURES:
        med = {}
        for kind in ("empty", "full"):
            values = [r[key] for r in rounds if r["store"] == kind and r[key] is not None]
            med[kind] = statistics.median(values) if values else None
        if med["empty"] and med["full"] is not None:
            ratio = med["full"] / med["empty"]
            within = ratio >= 0.8 if higher_better else ratio <= 1.2
            out[key] = {**med, "full_over_empty": round(ratio, 3), "within_20_pct": within}
    return out


def print_round(r: dict[str, Any]) -> None:
    figures = "  ".join(f"{label} {r[key]}" for key, label, _ in FIGURES if r[key] is not None)
    print(f"round {r['round']} {r['store']:5}  load {r['load_avg_1_5'][0]:.2f}  ready {r['server_ready_s']} s  "
          f"{figures}  (completed {r['chains_completed']}, errors {r['errors'] or 0})", flush=True)


def main() -> int:
    args = parse()
    if args.database_url and not args.database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("--database-url must be postgresql://... (SQLite: a temp file, or --keep PATH)")
    pg = Postgres(args.database_url) if args.database_url else None
    workdir = Path(tempfile.mkdtemp(prefix="podium-bigstore-"))
    try:
        full_url, fill_info = fill(args, workdir, pg)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    result: dict[str, Any] = {"database": "postgresql" if pg else "sqlite", "requested": args.executions,
                              "full_store": fill_info, "rounds": [], "workdir": str(workdir)}
    try:
        for i in range(args.rounds):
            kind = "empty" if i % 2 == 0 else "full"
            if kind == "full":
                url = full_url
            elif pg:
                pg.create(f"{pg.name}_empty_{i}")
                url = pg.url(f"{pg.name}_empty_{i}")
            else:
                url = f"sqlite:///{workdir}/empty-{i}.db"
            try:
                r = run_round(args, url, kind, i, workdir)
            finally:
                if kind == "empty" and pg:
                    pg.drop(f"{pg.name}_empty_{i}")
                elif kind == "empty":
                    for f in workdir.glob(f"empty-{i}.db*"):
                        f.unlink()
            result["rounds"].append(r)
            print_round(r)
    finally:
        result["summary"] = summary(result["rounds"])
        result["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
        if pg and not args.keep_database:
            pg.drop(pg.name)
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2))
    print("\nmedians (empty -> full, ratio full/empty; target within 20 %):")
    for key, label, _ in FIGURES:
        s = result["summary"].get(key)
        if s:
            print(f"  {label:28} {s['empty']:>9} -> {s['full']:>9}   {s['full_over_empty']:.2f}"
                  f"  {'ok' if s['within_20_pct'] else 'NOT within 20 %'}")
    print(f"load average at the end {result['load_avg_end']}")
    if not args.keep and not pg:  # the filled file; the rounds' logs stay
        for f in workdir.glob("full.db*"):
            f.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
