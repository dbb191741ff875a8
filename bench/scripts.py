"""Script-heavy workflows end to end: INLINE (JavaScript) and JSON_JQ_TRANSFORM (jq).

Each workflow is three tasks of one kind with data flowing between them; every task is a system
task that runs inside the start call, so a start is a whole workflow. `--concurrency` callers start
workflows as fast as the server answers for `--seconds` (after `--warmup`); the rate is completed
workflows per second, and the CPU per workflow counts the server and its sandbox processes.

    python bench/scripts.py                              # the tree on the path, fresh SQLite
    python bench/scripts.py --src /tmp/snap/src          # a snapshot of another commit
    python bench/scripts.py --runs 3 --json out.json     # medians of three runs (a fresh server each)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
# bench/podium_bench, beside this file: bench/run.py's package
from podium_bench.observe import CLK_TCK, machine_info, proc_cpu
from podium_bench.provenance import source_info
from podium_bench.servers import Server


def _previous(i: int) -> str:
    return "${workflow.input.n}" if i == 0 else f"${{s{i - 1}.output.result}}"


KINDS = {
    "inline": lambda i: {"type": "INLINE", "inputParameters": {
        "evaluatorType": "javascript", "n": _previous(i),
        "expression": "(function () { var t = 0; for (var k = 0; k < 10; k++) t += k; return $.n * 2 + t; })()"}},
    "jq": lambda i: {"type": "JSON_JQ_TRANSFORM", "inputParameters": {
        "n": _previous(i), "queryExpression": ".n * 2 + ([range(10)] | add)"}},
}


def definition(name: str, kind: str) -> dict[str, Any]:
    tasks = [{"name": f"s{i}", "taskReferenceName": f"s{i}", **KINDS[kind](i)} for i in range(3)]
    return {"name": name, "version": 1, "tasks": tasks, "schemaVersion": 2,
            "outputParameters": {"result": "${s2.output.result}"}}


def family_cpu(pid: int) -> float:
    """CPU seconds of the server and its live children (the sandbox workers)."""
    total = proc_cpu(pid) or 0.0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


async def hammer(url: str, name: str, seconds: float, concurrency: int) -> tuple[int, list[str]]:
    done, ids, deadline = 0, [], time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        async def caller() -> None:
            nonlocal done
            while time.monotonic() < deadline:
                response = await client.post("/api/workflow", json={"name": name, "input": {"n": done}})
                response.raise_for_status()
                done += 1
                if len(ids) < 20:
                    ids.append(response.text)

        await asyncio.gather(*(caller() for _ in range(concurrency)))
    return done, ids


async def measure(args: argparse.Namespace, url: str, pid: int, kind: str) -> dict[str, Any]:
    name = f"bench_{kind}_{uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        (await client.post("/api/metadata/workflow", json=definition(name, kind))).raise_for_status()
    await hammer(url, name, args.warmup, args.concurrency)
    cpu, began = family_cpu(pid), time.monotonic()
    done, ids = await hammer(url, name, args.seconds, args.concurrency)
    elapsed, cpu = time.monotonic() - began, family_cpu(pid) - cpu
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        statuses = {(await client.get(f"/api/workflow/{wid}")).json()["status"] for wid in ids}
    return {"workflows_per_s": done / elapsed, "evaluations_per_s": 3 * done / elapsed,
            "server_cpu_ms_per_workflow": 1000 * cpu / max(done, 1), "statuses": sorted(statuses)}


async def one_run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        options = argparse.Namespace(server_pid=None, server_url=None, servers=1, database_url=args.database_url,
                                     server_log_level="warning", src=args.src)
        server = Server(options, Path(tmp))
        try:
            await server.wait_healthy()
            assert server.pid is not None
            return {kind: await measure(args, server.url, server.pid, kind) for kind in args.kinds}
        finally:
            if server.proc is not None:
                server.proc.terminate()
                server.proc.wait(15)


async def amain(args: argparse.Namespace) -> int:
    runs = [await one_run(args) for _ in range(args.runs)]
    summary = {kind: {key: statistics.median(run[kind][key] for run in runs)
                      for key in ("workflows_per_s", "evaluations_per_s", "server_cpu_ms_per_workflow")}
               for kind in args.kinds}
    print(f"script-heavy workflows ({args.concurrency} callers, {args.seconds:g} s, "
          f"{'median of ' if args.runs > 1 else ''}{args.runs} run(s)); "
          f"commit {source_info(args).get('commit', '?')[:9]}")
    for kind, row in summary.items():
        print(f"  {kind:7} {row['workflows_per_s']:8.1f} workflows/s  {row['evaluations_per_s']:8.1f} evaluations/s  "
              f"{row['server_cpu_ms_per_workflow']:6.2f} ms CPU per workflow  {runs[-1][kind]['statuses']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine_info(), "source": source_info(args),
                                               "config": vars(args), "summary": summary, "runs": runs}, indent=2))
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", help="database of the server [default: a fresh SQLite file in a temp dir]")
    p.add_argument("--src", help="put this directory first on the server's PYTHONPATH (a snapshot of a commit)")
    p.add_argument("--kinds", nargs="+", default=sorted(KINDS), choices=sorted(KINDS))
    p.add_argument("--concurrency", type=int, default=8, help="start calls in flight")
    p.add_argument("--seconds", type=float, default=10, help="measured window per kind")
    p.add_argument("--warmup", type=float, default=2, help="unmeasured seconds before the window")
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--json", help="write the results here")
    return asyncio.run(amain(p.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
