"""The Celery part of a peer round: Redis as broker and result backend, worker processes, and the
closed-loop driver (bench/celery_peer/), all run with the peer venv's Python; CPU from /proc."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import redis

from .observe import machine_cpu, proc_cpu
from .util import log, now

CELERY_SIDE = Path(__file__).resolve().parents[1] / "celery_peer"  # tasks.py and driver.py


def pids_named(comm: str) -> list[int]:
    """Processes whose /proc/<pid>/comm is `comm` (redis-server runs as a system service)."""
    out = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/comm") as f:
                    if f.read().strip() == comm:
                        out.append(int(entry.name))
            except OSError:
                continue
    return out


def children_map() -> dict[int, list[int]]:
    """ppid -> pids, over every process of the machine."""
    out: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            out.setdefault(ppid, []).append(int(entry.name))
    return out


def tree_cpu(roots: list[int]) -> float:
    """CPU seconds of `roots` and all their descendants (a prefork pool's children count too)."""
    kids = children_map()
    todo, total = list(roots), 0.0
    while todo:
        pid = todo.pop()
        total += proc_cpu(pid) or 0.0
        todo.extend(kids.get(pid, []))
    return total


def flush(url: str) -> None:
    """Empty the peer's Redis database (never db 0, checked by the command line)."""
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


class CeleryPart:
    """One round's Celery: --peer-workers worker processes and a driver, on a flushed Redis db."""

    def __init__(self, args: argparse.Namespace, python: Path, workdir: Path) -> None:
        self.args, self.python, self.workdir = args, python, workdir
        self.env = dict(os.environ, PEER_REDIS_URL=args.peer_redis, PYTHONPATH=str(CELERY_SIDE))
        self.workers: list[subprocess.Popen[bytes]] = []
        self.broker = pids_named("redis-server")

    def start_workers(self) -> None:
        a = self.args
        for i in range(a.peer_workers):
            cmd = [
                str(self.python),
                "-m",
                "celery",
                "-A",
                "tasks",
                "worker",
                "--pool",
                a.peer_pool,
                "--concurrency",
                str(a.peer_concurrency),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                "WARNING",
                "--hostname",
                f"peer{i + 1}@%h",
            ]
            with open(self.workdir / f"worker{i + 1}.log", "wb") as out:
                self.workers.append(
                    subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=CELERY_SIDE, env=self.env)
                )

    def stop_workers(self) -> None:
        for w in self.workers:
            w.terminate()
        for w in self.workers:
            try:
                w.wait(15)
            except subprocess.TimeoutExpired:
                w.kill()
                w.wait(5)

    def driver_cmd(self) -> list[str]:
        a = self.args
        return [
            str(self.python),
            str(CELERY_SIDE / "driver.py"),
            "--workers",
            str(a.peer_workers),
            "--in-flight",
            str(a.peer_in_flight),
            "--warmup",
            str(a.peer_warmup),
            "--window",
            str(a.peer_window),
            "--latency-samples",
            str(a.peer_latency_samples),
        ]

    def mark(self, driver: int) -> dict[str, Any]:
        return {
            "t": now(),
            "server": tree_cpu([w.pid for w in self.workers]),
            "client": proc_cpu(driver) or 0.0,
            "broker": sum(proc_cpu(pid) or 0.0 for pid in self.broker),
            "main": proc_cpu(os.getpid()) or 0.0,
            "machine": machine_cpu(),
        }

    async def drive(self) -> dict[str, Any]:
        """Run the driver; take the /proc readings when it says the window starts and ends."""
        proc = await asyncio.create_subprocess_exec(
            *self.driver_cmd(), stdout=asyncio.subprocess.PIPE, cwd=CELERY_SIDE, env=self.env
        )
        assert proc.stdout is not None
        events: dict[str, Any] = {}
        marks: dict[str, dict[str, Any]] = {}
        async for line in proc.stdout:
            msg = json.loads(line)
            event = msg.pop("event")
            if event in ("window_start", "window_end"):
                marks[event] = self.mark(proc.pid)
            events[event] = msg
        if await proc.wait() != 0 or "result" not in events:
            raise RuntimeError(f"the Celery driver failed (exit {proc.returncode}); logs in {self.workdir}")
        return {"events": events, "marks": marks}

    async def run(self) -> dict[str, Any]:
        flush(self.args.peer_redis)
        self.start_workers()
        try:
            got = await self.drive()
        finally:
            self.stop_workers()
            flush(self.args.peer_redis)
        events, marks = got["events"], got["marks"]
        closed = events["result"]
        cpu = cpu_report(marks["window_start"], marks["window_end"])
        return {
            "workers": events["ready"]["workers"],
            "pool": self.args.peer_pool,
            "concurrency": self.args.peer_concurrency,
            "broker_pids": self.broker,
            **closed,
            "cpu": cpu,
            "cpu_ms_per_chain": per_chain(cpu, closed["completed_in_window"]),
            "idle_dispatch": events["latency"],
        }


def cpu_report(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """CPU seconds of each part over the window, and what else ran on the machine (% of a core)."""
    dt = b["t"] - a["t"]
    out: dict[str, Any] = {"seconds": round(dt, 3)}
    ours = 0.0
    for part in ("server", "client", "broker", "main"):
        used = b[part] - a[part]
        out[f"{part}_cpu_s"] = round(used, 3)
        out[f"{part}_pct_of_core"] = round(100 * used / dt, 1)
        ours += used
    busy = (b["machine"][0] - a["machine"][0]) / max(1, b["machine"][1] - a["machine"][1])
    out["machine_busy_pct"] = round(100 * busy, 1)
    out["other_pct_of_core"] = round(max(0.0, 100 * busy * (os.cpu_count() or 1) - 100 * ours / dt), 1)
    return out


def per_chain(cpu: dict[str, Any], chains: int) -> dict[str, float | None]:
    """CPU milliseconds per chain of each part: server (the workers), database (none: Redis is the
    broker and result backend both), client (the driver), broker (redis-server)."""

    def ms(key: str) -> float | None:
        return round(1000 * cpu[key] / chains, 3) if chains and key in cpu else None

    return {"server": ms("server_cpu_s"), "database": None, "client": ms("client_cpu_s"), "broker": ms("broker_cpu_s")}


async def celery_part(args: argparse.Namespace, python: Path, index: int) -> dict[str, Any]:
    log(
        f"round {index}: Celery ({args.peer_workers} x {args.peer_pool} -c {args.peer_concurrency}, "
        f"{args.peer_in_flight} chains in flight)"
    )
    workdir = Path(tempfile.mkdtemp(prefix="podium-bench-celery-"))
    out = await CeleryPart(args, python, workdir).run()
    return out | {"workdir": str(workdir)}
