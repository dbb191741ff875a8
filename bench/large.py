"""Large workflows: does one decide pass cost the same when an execution holds thousands of tasks?

Three measurements against a real server on a fresh SQLite file:

1. **fork**: a FORK_JOIN_DYNAMIC of N worker branches (default 1,000). Workers poll in batches
   and complete every branch; the latency of each completion (`POST /api/tasks`) is compared
   between the first and the last 10 % of branches.
2. **loop**: a DO_WHILE of N iterations (default 10,000) whose body is one worker task; each
   iteration is one poll and one completion; completion latency is compared between the first and
   the last 10 % of iterations.
3. **sync loop**: a DO_WHILE of N iterations whose body is a NOOP, with a JavaScript loop
   condition: the whole loop runs inside the start request; its time per iteration is reported.

    .venv/bin/python bench/large.py                    # defaults: --branches 1000 --iterations 10000
    .venv/bin/python bench/large.py --json out.json
    .venv/bin/python bench/large.py --phases fork      # only the fork (server CPU per completion too)

Numbers vary with the machine; compare runs on one machine only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from podium_bench.observe import proc_cpu  # bench/podium_bench, beside this file


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, workdir: Path, src: str | None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        if src:
            env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
        self.log = open(workdir / "server.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "podium.cli", "server", "--port", str(self.port), "--log-level", "warning",
             "--database-url", f"sqlite:///{workdir}/podium.db"], stdout=self.log, stderr=subprocess.STDOUT,
            cwd=workdir, env=env)

    async def ready(self, client: httpx.AsyncClient) -> None:
        for _ in range(300):
            try:
                if (await client.get(f"{self.url}/health")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(15)
        self.log.close()


def spread(latencies: list[float]) -> dict[str, float]:
    """Median completion latency (ms) of the first and the last tenth, and their ratio."""
    tenth = max(len(latencies) // 10, 1)
    first, last = statistics.median(latencies[:tenth]), statistics.median(latencies[-tenth:])
    return {"first_tenth_ms": round(first * 1000, 3), "last_tenth_ms": round(last * 1000, 3),
            "ratio": round(last / first, 2)}


async def complete(client: httpx.AsyncClient, api: str, task: dict[str, Any]) -> float:
    began = time.perf_counter()
    response = await client.post(f"{api}/tasks", json={
        "workflowInstanceId": task["workflowInstanceId"], "taskId": task["taskId"], "status": "COMPLETED",
        "outputData": {"n": 1}})
    response.raise_for_status()
    return time.perf_counter() - began


def cpu_s(pid: int) -> float:
    return proc_cpu(pid) or 0.0


async def fork(client: httpx.AsyncClient, api: str, branches: int, pid: int) -> dict[str, Any]:
    await client.post(f"{api}/metadata/workflow", params={"overwrite": "true"}, json={
        "name": "large_fork", "tasks": [
            {"name": "fan", "taskReferenceName": "fan", "type": "FORK_JOIN_DYNAMIC",
             "inputParameters": {"forkTaskName": "large_branch", "forkTaskInputs": "${workflow.input.items}"}},
            {"name": "join", "taskReferenceName": "join", "type": "JOIN"}]})
    began = time.perf_counter()
    wid = (await client.post(f"{api}/workflow", json={"name": "large_fork",
                                                      "input": {"items": list(range(branches))}})).text
    started = time.perf_counter() - began
    latencies: list[float] = []
    tenth = max(branches // 10, 1)
    polled = (await client.get(f"{api}/tasks/poll/batch/large_branch", params={"count": branches})).json()
    cpu_before = cpu_s(pid)  # every branch is taken: from here on the server only completes
    for task in polled:
        latencies.append(await complete(client, api, task))
        if len(latencies) == tenth:
            first_cpu = (cpu_s(pid) - cpu_before) / tenth
    status = await wait_done(client, api, wid)
    return {"branches": branches, "status": status, "start_s": round(started, 3),
            "total_s": round(time.perf_counter() - began, 2), "completion": spread(latencies),
            "server_cpu_ms_first_tenth": round(first_cpu * 1000, 3)}


async def loop(client: httpx.AsyncClient, api: str, iterations: int) -> dict[str, Any]:
    await client.post(f"{api}/metadata/workflow", params={"overwrite": "true"}, json={
        "name": "large_loop", "tasks": [{"name": "loop", "taskReferenceName": "loop", "type": "DO_WHILE",
                                         "loopCondition": f"$.loop['iteration'] < {iterations}",
                                         "loopOver": [{"name": "large_step", "taskReferenceName": "step"}]}]})
    began = time.perf_counter()
    wid = (await client.post(f"{api}/workflow", json={"name": "large_loop", "input": {}})).text
    latencies: list[float] = []
    while len(latencies) < iterations:
        polled = (await client.get(f"{api}/tasks/poll/batch/large_step", params={"count": 1, "timeout": 1000})).json()
        for task in polled:
            latencies.append(await complete(client, api, task))
    status = await wait_done(client, api, wid)
    return {"iterations": iterations, "status": status, "total_s": round(time.perf_counter() - began, 2),
            "completion": spread(latencies)}


async def sync_loop(client: httpx.AsyncClient, api: str, iterations: int) -> dict[str, Any]:
    await client.post(f"{api}/metadata/workflow", params={"overwrite": "true"}, json={
        "name": "large_sync_loop", "tasks": [{"name": "loop", "taskReferenceName": "loop", "type": "DO_WHILE",
                                              "loopCondition": f"$.loop['iteration'] < {iterations}",
                                              "loopOver": [{"name": "noop", "taskReferenceName": "beat",
                                                            "type": "NOOP"}]}]})
    began = time.perf_counter()
    wid = (await client.post(f"{api}/workflow", json={"name": "large_sync_loop", "input": {}})).text
    took = time.perf_counter() - began
    status = await wait_done(client, api, wid)
    return {"iterations": iterations, "status": status, "start_request_s": round(took, 2),
            "per_iteration_ms": round(took / iterations * 1000, 3)}


async def wait_done(client: httpx.AsyncClient, api: str, wid: str) -> str:
    for _ in range(600):
        body = (await client.get(f"{api}/workflow/{wid}", params={"includeTasks": "false"})).json()
        if body["status"] not in ("RUNNING", "PAUSED"):
            return str(body["status"])
        await asyncio.sleep(0.1)
    return "RUNNING"


async def main(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as workdir:
        server = Server(Path(workdir), args.src)
        try:
            async with httpx.AsyncClient(timeout=600) as client:
                await server.ready(client)
                api = f"{server.url}/api"
                pid = server.proc.pid
                phases = {"fork": lambda: fork(client, api, args.branches, pid),
                          "loop": lambda: loop(client, api, args.iterations),
                          "sync_loop": lambda: sync_loop(client, api, args.iterations)}
                return {name: await phases[name]() for name in args.phases.split(",")}
        finally:
            server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--branches", type=int, default=1000)
    parser.add_argument("--iterations", type=int, default=10_000)
    parser.add_argument("--phases", default="fork,loop,sync_loop", help="which, comma-separated")
    parser.add_argument("--src", help="put this copy of the package first on the server's PYTHONPATH")
    parser.add_argument("--json", help="also write the results to this file")
    options = parser.parse_args()
    results = asyncio.run(main(options))
    print(json.dumps(results, indent=2))
    if options.json:
        Path(options.json).write_text(json.dumps(results, indent=2))
