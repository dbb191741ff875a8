#!/usr/bin/env python
"""Retention under load (issue 17): `podium prune` deletes --prune-executions finished executions
(each with three tasks, three task logs, a search attribute and a full-text entry) while the
three-step workload of bench/run.py runs against a server on the same database.

    .venv/bin/python bench/retention.py --prune-executions 50000                  # SQLite, temp file
    .venv/bin/python bench/retention.py --prune-executions 50000 \\
        --database-url postgresql://postgres@127.0.0.1:5432/podium_bench_ret       # a fresh database

Steps: (1) the schema, then the finished executions written straight into the database (the
store's own row functions, large transactions; on PostgreSQL then ANALYZE, which autovacuum would
have done as they accumulated: without statistics its planner deletes a batch's tasks with a
sequential scan of the whole table), ended 40 days ago; (2) a `podium server` on it
(its own retention loop off: PODIUM_RETENTION_DAYS=0, so only the prune deletes); (3) the chain
phase of bench/run.py without pruning ("before"); (4) the same phase with `podium prune
--older-than 30d` started beside it ("pruning"); the prune's own rate is its executions (and rows:
executions + tasks + logs + attributes + index entries) over its wall time; (5) the chain phase
again on the pruned store ("after"). Dispatch p99 under load and workflows/s of "pruning" are
compared with the mean of "before" and "after" (target: within 20 %). While the prune runs, chain
windows of --chain-seconds follow one another until it ends; the pruning figures are the median of
the windows it overlapped from start to end. With --max-windows, a prune that outlasts them is
stopped there (a paced prune of 1,000,000 executions takes the better part of an hour), and its
rate is what it deleted by then over its time. The load average is printed: on a busy
machine the three phases differ by the noise as much as by the pruning.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from podium_bench.seed import ROWS_PER_EXECUTION, seed, seeded, start_server  # noqa: E402


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--prune-executions", type=int, default=50_000, help="finished executions to delete")
    p.add_argument("--database-url", help="a fresh PostgreSQL database (default: SQLite in a temp dir)")
    p.add_argument("--chain-seconds", type=float, default=20.0, help="each chain phase's start window")
    p.add_argument("--max-windows", type=int, default=60,
                   help="chain windows run while the prune deletes (each --chain-seconds long); a prune still "
                        "running after them is stopped, and its rate is what it deleted by then")
    p.add_argument("--duty", type=float, default=0.2, help="the prune's --duty (its share of the time deleting)")
    p.add_argument("--batch", type=int, default=500, help="the prune's executions per transaction")
    p.add_argument("--json", help="write the results here")
    return p.parse_args()


def chain_phase(server: str, pid: int, seconds: float, out: Path) -> dict[str, Any]:
    subprocess.run([sys.executable, str(HERE / "run.py"), "--server-url", server, "--server-pid", str(pid),
                    "--phases", "chain", "--chain-seconds", str(seconds), "--json", str(out)],
                   check=True, stdout=subprocess.DEVNULL)
    data = json.loads(out.read_text())
    run = data["runs"][0] if "runs" in data else data
    chain = run["chain"]
    return {"workflows_per_s": chain["workflows_per_s"], "dispatch_p99_ms": chain["latency_under_load"]["p99_ms"],
            "dispatch_p50_ms": chain["latency_under_load"]["p50_ms"], "completed": chain["workflows_completed"]}


def main() -> int:
    args = parse()
    workdir = Path(tempfile.mkdtemp(prefix="podium-retention-"))
    url = args.database_url or f"sqlite:///{workdir}/podium.db"
    n = args.prune_executions
    took = asyncio.run(seed(url, n))
    print(f"seeded {n} finished executions in {took:.1f} s", flush=True)
    proc, server = start_server(url, workdir)
    result: dict[str, Any] = {"executions": n, "database": url.split(":")[0], "load_before": os.getloadavg()}
    try:
        result["before"] = chain_phase(server, proc.pid, args.chain_seconds, workdir / "before.json")
        print("before", result["before"], flush=True)
        prune_started = time.monotonic()
        prune = subprocess.Popen([sys.executable, "-m", "podium.cli", "prune", "--older-than", "30d", "--batch",
                                  str(args.batch), "--duty", str(args.duty), "--database-url", url],
                                 stdout=subprocess.PIPE,
                                 stderr=(workdir / "prune.err").open("w"), text=True)
        windows = []
        while prune.poll() is None and len(windows) < args.max_windows:
            window = chain_phase(server, proc.pid, args.chain_seconds, workdir / f"pruning-{len(windows)}.json")
            window["prune_still_running_at_end"] = prune.poll() is None
            windows.append(window)
            print("pruning", len(windows), window, flush=True)
        if prune.poll() is None:  # --max-windows reached: stop it, and count what it deleted
            prune.terminate()
            prune.wait(60)
            took = time.monotonic() - prune_started
            deleted = n - asyncio.run(seeded(url))
            result["prune"] = {"executions": deleted, "seconds": round(took, 1), "finished": False}
        else:
            output, _ = prune.communicate(timeout=60)
            found = re.search(r"deleted (\d+) executions in ([\d.]+) s", output)
            if not found:
                raise RuntimeError(f"prune said: {output} {(workdir / 'prune.err').read_text()[-3000:]}")
            deleted, took = int(found.group(1)), float(found.group(2))
            result["prune"] = {"executions": deleted, "seconds": took, "finished": True}
        result["prune"] |= {"executions_per_s": round(deleted / took),
                            "rows_per_s": round(deleted * ROWS_PER_EXECUTION / took), "duty": args.duty}
        # only the windows the prune overlapped from start to end
        overlapped = [w for w in windows if w["prune_still_running_at_end"]] or windows[:1]
        result["pruning_windows"] = windows
        result["pruning"] = {key: statistics.median(w[key] for w in overlapped)
                             for key in ("workflows_per_s", "dispatch_p99_ms", "dispatch_p50_ms")}
        result["pruning"]["windows"] = len(overlapped)
        print("pruning (median of the overlapped windows)", result["pruning"], result["prune"], flush=True)
        result["after"] = chain_phase(server, proc.pid, args.chain_seconds, workdir / "after.json")
        print("after", result["after"], flush=True)
    finally:
        proc.terminate()
        proc.wait(30)
    result["load_after"] = os.getloadavg()
    for key in ("workflows_per_s", "dispatch_p99_ms"):
        baseline = (result["before"][key] + result["after"][key]) / 2
        result[f"{key}_pruning_vs_unpruned"] = round(result["pruning"][key] / baseline, 2)
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
