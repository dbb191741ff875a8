"""A/B of two commits on the peer phase's Podium part: snapshots of both, run alternately.

    python bench/ab.py BASE [NEW] [--pairs 4] [--postgres] [-- extra bench/run.py options]

BASE and NEW are commits (NEW defaults to the working tree as it is). Each is exported with `git
archive` into a temp dir, and `bench/run.py --phases peer --peer-no-celery --src <snapshot>` runs
A, B, A, B, ... (`--pairs` of each, the order of each pair swapped every time so neither side
always runs first). The report gives each run's chains/s, server (and PostgreSQL) CPU per chain and
idle dispatch p50 (and with --postgres the WAL PostgreSQL wrote per chain, a count of its work that
moves with the code and hardly with the machine), then the medians and the ratio B / A. With
--postgres it also gives the chains/s of each round's SQLite part (the peer phase runs it too):
when the change leaves the SQLite path alone, a B/A away from 1 there is the machine drifting, not
the change.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def snapshot(commit: str | None, into: Path) -> Path:
    """The `src` tree of a commit (None: the working tree) under `into`."""
    into.mkdir(parents=True)
    if commit is None:
        subprocess.run(["cp", "-r", str(ROOT / "src"), str(into)], check=True)
    else:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "src"], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into / "src"


def one(src: Path, postgres: bool, extra: list[str], out: Path) -> dict[str, float]:
    cmd = [sys.executable, str(ROOT / "bench" / "run.py"), "--phases", "peer", "--rounds", "1",
           "--peer-no-celery", "--src", str(src), "--json", str(out), *extra]
    if postgres:
        cmd.append("--peer-postgres")
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    summary = json.loads(out.read_text())["peer"]["summary"]
    part = summary["podium_postgresql" if postgres else "podium_sqlite"]
    cpu = part["cpu_ms_per_chain"]
    got = {"chains_per_s": part["chains_per_s"], "server_ms": cpu["server"],
           "database_ms": cpu["database"] or 0.0, "idle_p50_ms": part["idle_dispatch_p50_ms"]}
    if postgres:
        # PostgreSQL's WAL a chain: a count of its work that the machine's noise hardly moves
        got["wal_kb_per_chain"] = part.get("wal_kb_per_chain") or 0.0
        # the round's SQLite part ran too: beside a change that leaves SQLite alone, a drift check
        got["sqlite_chains_per_s"] = summary["podium_sqlite"]["chains_per_s"]
    return got


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("base")
    p.add_argument("new", nargs="?")
    p.add_argument("--pairs", type=int, default=4)
    p.add_argument("--postgres", action="store_true", help="measure Podium on PostgreSQL (the default admin URL)")
    args, extra = p.parse_known_args()
    extra = [e for e in extra if e != "--"]
    with tempfile.TemporaryDirectory(prefix="podium-ab-") as tmp:
        sides = {"A": snapshot(args.base, Path(tmp) / "a"), "B": snapshot(args.new, Path(tmp) / "b")}
        runs: dict[str, list[dict[str, float]]] = {"A": [], "B": []}
        for i in range(args.pairs):
            for side in ("AB" if i % 2 == 0 else "BA"):
                got = one(sides[side], args.postgres, extra, Path(tmp) / "out.json")
                runs[side].append(got)
                print(f"{side} {got}", flush=True)
    keys = ("chains_per_s", "server_ms", "database_ms", "idle_p50_ms")
    keys += ("sqlite_chains_per_s",) if args.postgres else ()
    med = {side: {k: statistics.median(r[k] for r in got) for k in keys} for side, got in runs.items()}
    print(f"A = {args.base}, B = {args.new or 'working tree'}, {args.pairs} runs each, medians:")
    for k in keys:
        a, b = med["A"][k], med["B"][k]
        print(f"  {k:14} A {a:9.2f}   B {b:9.2f}   B/A {b / a if a else float('nan'):.3f}")


if __name__ == "__main__":
    main()
