#!/usr/bin/env python
"""Podium end-to-end benchmark: throughput, dispatch latency and memory of one server over HTTP.

    python bench/run.py                      # fresh server on a temp SQLite file, default sizes
    python bench/run.py --json out.json      # also write every number as JSON
    python bench/run.py --runs 3             # three full runs (fresh server each), medians reported
    python bench/run.py --server-url http://127.0.0.1:8080 --server-pid 1234   # an already running server
    python bench/run.py --database-url postgresql://postgres@127.0.0.1/db --servers 2   # 2 servers, one database

Phases (each bounded in time and count; see bench/README.md for what is measured exactly):

  idle      memory of the idle server, then dispatch latency on the idle server: one worker is
            parked in a long poll, a 1-task workflow is started, the time from the start call
            returning to the worker holding the task is recorded; sequential samples.
  simple    a backlog of 1-task workflows is started (start rate is reported too), then N
            pollers (batch poll + update-v2) drain it; completions are counted over a fixed
            window after a warm-up.
  chain     a starter sustains starts of 3-step workflows (3 sequential SIMPLE tasks of 3 types)
            while pollers work all three types; workflows/s = completed / (last completion - first
            start). The dispatch-latency probe runs at the same time ("under load").

The load (pollers, starters) runs in --procs child processes, each an asyncio loop in which every
worker coroutine holds one keep-alive connection (--client raw: a minimal HTTP/1.1 client on
asyncio streams; --client httpx: httpx.AsyncClient). The main process orchestrates, samples the
server's memory, CPU and I/O from /proc, measures the CPU of the clients and of everything else on
the machine, and runs the latency probe. Loopback only.

With --servers N (PostgreSQL only), N server processes share the database: the load's connections
go to them round-robin, the probe parks its worker on the last and starts on the first, and the
servers' memory, CPU and I/O are summed (per-server figures in the JSON). With PostgreSQL, the CPU
and disk writes of its processes on this machine are reported too.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import itertools
import json
import math
import multiprocessing as mp
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import types
import urllib.parse
import uuid
from array import array
from pathlib import Path
from typing import Any

import httpx
import orjson

JSON_HEADERS = {"content-type": "application/json"}
CLK_TCK = os.sysconf("SC_CLK_TCK")

TARGETS = {
    "sqlite": {"tasks_per_s": 2000.0, "workflows_per_s": 500.0},
    "postgresql": {"tasks_per_s": 1000.0, "workflows_per_s": 300.0},
}
LATENCY_TARGET = {"p50_ms": 3.0, "p99_ms": 15.0}
MEMORY_TARGET = {"idle_mb": 150.0, "load_mb": 300.0}


# --------------------------------------------------------------------------------------------
# small helpers


def now() -> float:
    """CLOCK_MONOTONIC: comparable across the processes of this machine."""
    return time.monotonic()


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM of a process, in kB."""
    out: dict[str, int] = {}
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0])
    return out


def proc_cpu(pid: int) -> float | None:
    """User + system CPU seconds of a process (and its threads)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_io(pid: int) -> dict[str, int]:
    """/proc/<pid>/io: wchar (bytes passed to write-type calls), write_bytes (to the disk), syscw."""
    out: dict[str, int] = {}
    with contextlib.suppress(OSError), open(f"/proc/{pid}/io") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("wchar", "write_bytes", "syscw", "rchar", "syscr"):
                out[key] = int(value)
    return out


def is_postgres(database_url: str | None) -> bool:
    return database_url is not None and database_url.startswith(("postgres", "postgresql"))


# "postgres: 15/main: <user> <database> <host>(<port>) <state>": a client backend's title
PG_BACKEND = re.compile(rb"^postgres: (?:[^:]*: )?\S+ (\S+) (?:\[local\]|\S+\(\d+\))")


def postgres_procs(database: str) -> dict[int, tuple[str, float, int]]:
    """PostgreSQL's processes on this machine: pid -> (kind, CPU seconds, bytes written to disk).
    kind is "backend" for a backend of `database`, "shared" for the postmaster and its helpers
    (WAL writer, checkpointer, ...), "other" for other databases' backends (someone else's)."""
    out: dict[int, tuple[str, float, int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() != "postgres":
                    continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                title = f.read().rstrip(b"\0")
        except OSError:
            continue
        m = PG_BACKEND.match(title)
        kind = "shared" if m is None else ("backend" if m[1] == database.encode() else "other")
        out[pid] = (kind, proc_cpu(pid) or 0.0, proc_io(pid).get("write_bytes", 0))
    return out


def postgres_delta(a: dict[int, tuple[str, float, int]], b: dict[int, tuple[str, float, int]]) -> dict[str, float]:
    """CPU seconds and disk bytes of PostgreSQL's processes between two snapshots, by kind (processes
    that started in between count from zero; those that ended in between are lost)."""
    out = {"backend": 0.0, "shared": 0.0, "other": 0.0, "write_bytes": 0.0}
    for pid, (kind, cpu, wrote) in b.items():
        _, cpu0, wrote0 = a.get(pid, (kind, 0.0, 0))
        out[kind] += cpu - cpu0
        if kind != "other":
            out["write_bytes"] += wrote - wrote0
    return out


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    total = sum(parts[:8])
    return total - idle, total


def machine_info() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def server_env(args: argparse.Namespace) -> dict[str, str]:
    """The started server's environment: --src puts another copy of the package first on the path."""
    env = dict(os.environ)
    if getattr(args, "src", None):
        env["PYTHONPATH"] = os.pathsep.join(p for p in (args.src, env.get("PYTHONPATH")) if p)
    return env


def source_info(args: argparse.Namespace | None = None) -> dict[str, Any]:
    """What was measured: where `podium` is imported from, the commit, uncommitted changes under
    src/, and key package versions."""
    repo = Path(__file__).resolve().parent.parent
    out: dict[str, Any] = {}
    with contextlib.suppress(Exception):
        out["podium_imported_from"] = subprocess.run(
            [sys.executable, "-c", "import podium, os; print(os.path.dirname(podium.__file__))"],
            env=server_env(args) if args else None,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
    if args is not None and getattr(args, "src", None):
        out["src"] = args.src
        marker = Path(args.src).parent / "COMMIT"  # written by whoever exported the snapshot, if anyone
        if marker.exists():
            out["commit"] = marker.read_text().strip()
        return out | {"versions": package_versions()}
    with contextlib.suppress(Exception):

        def git(*a: str) -> str:
            return subprocess.run(["git", *a], cwd=repo, capture_output=True, text=True, timeout=10).stdout

        out["commit"] = git("rev-parse", "HEAD").strip()
        out["uncommitted_src"] = [ln[3:] for ln in git("status", "--porcelain", "--", "src").splitlines()]
        if out["uncommitted_src"]:
            import hashlib

            out["src_diff_sha1"] = hashlib.sha1(git("diff", "HEAD", "--", "src").encode()).hexdigest()[:12]
    out["versions"] = package_versions()
    return out


def package_versions() -> dict[str, str]:
    import importlib.metadata
    import sqlite3

    versions = {}
    for pkg in (
        "podium",
        "fastapi",
        "starlette",
        "uvicorn",
        "uvloop",
        "httptools",
        "pydantic",
        "orjson",
        "httpx",
    ):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[pkg] = importlib.metadata.version(pkg)
    versions["sqlite"] = sqlite3.sqlite_version
    return versions


def make_client(base_url: str, connections: int) -> httpx.AsyncClient:
    limits = httpx.Limits(
        max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=120
    )
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=httpx.Timeout(30.0))


def use_uvloop(enabled: bool) -> None:
    if enabled:
        with contextlib.suppress(ImportError):
            import uvloop

            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


# --------------------------------------------------------------------------------------------
# definitions


class Names:
    """Per-run names, so that runs against a long-lived server never see each other's queues."""

    def __init__(self, suffix: str) -> None:
        self.simple_task = f"bench_simple_{suffix}"
        self.simple_wf = f"bench_simple_wf_{suffix}"
        self.steps = [f"bench_step{i}_{suffix}" for i in (1, 2, 3)]
        self.chain_wf = f"bench_chain_wf_{suffix}"
        self.probe_task = f"bench_probe_{suffix}"
        self.probe_wf = f"bench_probe_wf_{suffix}"


def task_def(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "retryCount": 0,
        "timeoutSeconds": 0,
        "responseTimeoutSeconds": 3600,
        "timeoutPolicy": "TIME_OUT_WF",
        "ownerEmail": "bench@example.com",
    }


def workflow_defs(n: Names) -> list[dict[str, Any]]:
    def one(wf: str, task: str) -> dict[str, Any]:
        return {
            "name": wf,
            "version": 1,
            "schemaVersion": 2,
            "ownerEmail": "bench@example.com",
            "tasks": [
                {
                    "name": task,
                    "taskReferenceName": "t",
                    "type": "SIMPLE",
                    "inputParameters": {"n": "${workflow.input.n}"},
                }
            ],
        }

    chain = {
        "name": n.chain_wf,
        "version": 1,
        "schemaVersion": 2,
        "ownerEmail": "bench@example.com",
        "tasks": [
            {
                "name": n.steps[0],
                "taskReferenceName": "s1",
                "type": "SIMPLE",
                "inputParameters": {"n": "${workflow.input.n}"},
            },
            {
                "name": n.steps[1],
                "taskReferenceName": "s2",
                "type": "SIMPLE",
                "inputParameters": {"v": "${s1.output.v}"},
            },
            {
                "name": n.steps[2],
                "taskReferenceName": "s3",
                "type": "SIMPLE",
                "inputParameters": {"v": "${s2.output.v}"},
            },
        ],
        "outputParameters": {"v": "${s3.output.v}"},
    }
    return [one(n.simple_wf, n.simple_task), one(n.probe_wf, n.probe_task), chain]


async def register(base_url: str, n: Names) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as c:
        names = [n.simple_task, n.probe_task, *n.steps]
        r = await c.post("/api/metadata/taskdefs", json=[task_def(x) for x in names])
        r.raise_for_status()
        for wf in workflow_defs(n):
            r = await c.post("/api/metadata/workflow", params={"overwrite": "true"}, json=wf)
            r.raise_for_status()


# --------------------------------------------------------------------------------------------
# HTTP clients: one keep-alive connection per worker coroutine


class RawConnection:
    """A minimal HTTP/1.1 keep-alive client over asyncio streams: what a lean worker SDK costs.

    It sends a request and reads the response (Content-Length or chunked), nothing else; about
    10x less client CPU per request than httpx, so that the client does not mask the server."""

    def __init__(self, base_url: str) -> None:
        rest = base_url.split("://", 1)[1].rstrip("/")
        self.hostport = rest
        host, _, port = rest.rpartition(":")
        self.host, self.port = host or rest, int(port or 80)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            sock = self.writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.hostport}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        try:
            self.writer.write(head.encode() + b"\r\n" + (body or b""))
            status, payload, close = await self._response()
        except BaseException:
            await self.aclose()
            raise
        if close:
            await self.aclose()
        return status, payload

    async def _response(self) -> tuple[int, bytes, bool]:
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head[:-4].split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, chunked, close = None, False, False
        for line in lines[1:]:
            key, _, value = line.partition(b":")
            key = key.strip().lower()
            if key == b"content-length":
                length = int(value)
            elif key == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif key == b"connection":
                close = value.strip().lower() == b"close"
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                data = await self.reader.readexactly(size + 2)
                if size == 0:
                    while data != b"\r\n":  # trailers
                        data = await self.reader.readuntil(b"\r\n")
                    break
                parts.append(data[:-2])
            return status, b"".join(parts), close
        if length is not None:
            return status, await self.reader.readexactly(length), close
        if status in (204, 304) or status < 200:
            return status, b"", close
        return status, await self.reader.read(), True

    async def aclose(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None


class HttpxConnection:
    """The same interface over httpx.AsyncClient (its own pool of one keep-alive connection: a shared
    pool costs more CPU per request as concurrency grows)."""

    def __init__(self, base_url: str) -> None:
        self.client = make_client(base_url, 1)

    async def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        r = await self.client.request(
            method, path, content=body, headers=JSON_HEADERS if body is not None else None
        )
        return r.status_code, r.content

    async def aclose(self) -> None:
        await self.client.aclose()


def sniffio_shim() -> bool:
    """httpcore calls `import sniffio` on every request; without sniffio installed (anyio 4.x no longer
    pulls it in) each call is a failed import that searches sys.path, ~1 ms per request. Stand in
    for it (asyncio only) so httpx measures httpx. Returns True if the shim was needed."""
    try:
        import sniffio  # noqa: F401
    except ImportError:
        shim = types.ModuleType("sniffio")

        class AsyncLibraryNotFoundError(RuntimeError):
            pass

        shim.AsyncLibraryNotFoundError = AsyncLibraryNotFoundError  # type: ignore[attr-defined]
        shim.current_async_library = lambda: "asyncio"  # type: ignore[attr-defined]
        sys.modules["sniffio"] = shim
        return True
    return False


Connection = RawConnection | HttpxConnection


def connector(kind: str, base_urls: str | list[str]) -> Any:
    """A factory of connections. Given several servers' URLs, each new connection goes to the next
    one in turn, so that the pollers and the start lanes spread round-robin over the servers."""
    urls = itertools.cycle([base_urls] if isinstance(base_urls, str) else base_urls)
    cls = HttpxConnection if kind == "httpx" else RawConnection
    return lambda: cls(next(urls))


# --------------------------------------------------------------------------------------------
# load processes: pollers and starters


class Stats:
    def __init__(self) -> None:
        self.done: dict[str, array] = collections.defaultdict(lambda: array("d"))
        self.wf_done: dict[str, float] = {}
        self.started: dict[str, float] = {}
        self.start_times = array("d")
        self.requests: collections.Counter[str] = collections.Counter()
        self.errors: collections.Counter[str] = collections.Counter()
        self.tasks_polled = 0
        self.final_count = 0


async def poller(
    conn: Connection,
    task_type: str,
    worker_id: str,
    batch: int,
    timeout_ms: int,
    stats: Stats,
    final: bool,
    track: bool,
) -> None:
    """An efficient Conductor worker: batch long poll; complete with update-v2, which hands back the
    next task of the same type; poll again only when nothing is held."""
    poll_url = f"/api/tasks/poll/batch/{task_type}?workerid={worker_id}&count={batch}&timeout={timeout_ms}"
    held: collections.deque[dict[str, Any]] = collections.deque()
    done = stats.done[task_type]
    try:
        while True:
            if not held:
                status, payload = await conn.request("GET", poll_url)
                stats.requests["poll"] += 1
                if status != 200:
                    stats.errors[f"poll {status}"] += 1
                    await asyncio.sleep(0.05)
                    continue
                got = orjson.loads(payload)
                stats.tasks_polled += len(got)
                if not got:
                    stats.requests["empty_poll"] += 1
                held.extend(got)
                continue
            task = held.popleft()
            body = orjson.dumps(
                {
                    "workflowInstanceId": task["workflowInstanceId"],
                    "taskId": task["taskId"],
                    "status": "COMPLETED",
                    "workerId": worker_id,
                    "outputData": {"v": 1},
                }
            )
            status, payload = await conn.request("POST", "/api/tasks/update-v2", body)
            t = now()
            stats.requests["update_v2"] += 1
            if status == 200:
                held.append(orjson.loads(payload))
            elif status != 204:
                stats.errors[f"update-v2 {status}"] += 1
                continue
            done.append(t)
            if final:
                stats.final_count += 1
                if track:
                    stats.wf_done[task["workflowInstanceId"]] = t
    finally:
        await conn.aclose()


def start_call(workflow: str, by_name: bool) -> tuple[str, bytes]:
    """The SDK's `start_workflow(StartWorkflowRequest)` (POST /api/workflow), or
    `start_workflow_by_name` (POST /api/workflow/{name}, the input as the body)."""
    if by_name:
        return f"/api/workflow/{workflow}", b'{"n": 1}'
    return "/api/workflow", orjson.dumps({"name": workflow, "version": 1, "input": {"n": 1}})


async def starter(
    connect: Any,
    workflow: str,
    count: int,
    rate: float,
    concurrency: int,
    seconds: float,
    stats: Stats,
    track: bool,
    by_name: bool = False,
) -> None:
    """Starts up to `count` workflows for at most `seconds`, `concurrency` calls in flight (one
    connection each); paced at `rate`/s unless rate is 0."""
    nxt = 0
    t0 = now()
    until = t0 + seconds
    url, body = start_call(workflow, by_name)

    async def lane() -> None:
        nonlocal nxt
        conn = connect()
        try:
            while nxt < count and now() < until:
                k = nxt
                nxt += 1
                if rate > 0:
                    delay = t0 + k / rate - now()
                    if delay > 0:
                        await asyncio.sleep(delay)
                t = now()
                status, payload = await conn.request("POST", url, body)
                stats.requests["start"] += 1
                if status != 200:
                    stats.errors[f"start {status}"] += 1
                    continue
                stats.start_times.append(t)
                if track:
                    stats.started[payload.decode()] = t
        finally:
            await conn.aclose()

    await asyncio.gather(*(lane() for _ in range(concurrency)))


async def _child(spec: dict[str, Any], pipe: Any, go: Any, stop: Any, progress: Any) -> dict[str, Any]:
    stats = Stats()
    pollers = spec.get("pollers", [])
    start = spec.get("starter")
    slot = spec["slot"]
    connect = connector(spec["client"], spec["base_urls"])
    pipe.send("ready")
    await asyncio.get_running_loop().run_in_executor(None, go.wait)
    t_go = now()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    work: list[asyncio.Task[None]] = []
    for i, (task_type, k, final) in enumerate(pollers):
        for j in range(k):
            wid = f"bench-{slot}-{i}-{j}"
            work.append(
                asyncio.create_task(
                    poller(
                        connect(),
                        task_type,
                        wid,
                        spec["batch"],
                        spec["poll_timeout_ms"],
                        stats,
                        final,
                        spec["track"],
                    )
                )
            )
    starter_task = None
    if start:
        starter_task = asyncio.create_task(
            starter(
                connect,
                start["workflow"],
                start["count"],
                start["rate"],
                start["concurrency"],
                start["seconds"],
                stats,
                spec["track"],
                start.get("by_name", False),
            )
        )
        work.append(starter_task)
    deadline = t_go + spec["max_seconds"]

    def report() -> None:
        # three slots per process: final-step completions, workflows started, starter finished
        progress[3 * slot] = stats.final_count
        progress[3 * slot + 1] = len(stats.start_times)
        progress[3 * slot + 2] = 1 if starter_task is None or starter_task.done() else 0

    while not stop.is_set() and now() < deadline:
        report()
        if not pollers and starter_task is not None and starter_task.done():
            break
        await asyncio.sleep(0.01)
    report()
    for w in work:
        w.cancel()
    outcomes = await asyncio.gather(*work, return_exceptions=True)
    for o in outcomes:
        if isinstance(o, BaseException) and not isinstance(o, asyncio.CancelledError):
            stats.errors[f"exception {type(o).__name__}: {o}"] += 1
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "slot": slot,
        "t_go": t_go,
        "done": {k: v.tolist() for k, v in stats.done.items()},
        "wf_done": stats.wf_done,
        "started": stats.started,
        "start_times": stats.start_times.tolist(),
        "requests": dict(stats.requests),
        "errors": dict(stats.errors),
        "tasks_polled": stats.tasks_polled,
        "cpu_s": (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime),
    }


def child_main(spec: dict[str, Any], conn: Any, go: Any, stop: Any, progress: Any) -> None:
    use_uvloop(spec["uvloop"])
    if spec["client"] == "httpx" and spec["sniffio_shim"]:
        sniffio_shim()
    try:
        result = asyncio.run(_child(spec, conn, go, stop, progress))
    except BaseException as exc:  # report, never hang the parent
        result = {"slot": spec["slot"], "fatal": repr(exc)}
    conn.send(result)
    conn.close()


class Load:
    """A set of child processes running one phase's pollers and starters."""

    def __init__(self, specs: list[dict[str, Any]]) -> None:
        ctx = mp.get_context("spawn")
        self.go = ctx.Event()
        self.stop = ctx.Event()
        self.progress = ctx.Array("q", 3 * len(specs), lock=False)
        self.pipes = []
        self.procs = []
        for i, spec in enumerate(specs):
            spec["slot"] = i
            parent, child = ctx.Pipe()
            p = ctx.Process(
                target=child_main, args=(spec, child, self.go, self.stop, self.progress), daemon=True
            )
            p.start()
            self.pipes.append(parent)
            self.procs.append(p)

    async def ready(self, timeout: float = 60) -> None:
        loop = asyncio.get_running_loop()
        for pipe in self.pipes:
            ok = await loop.run_in_executor(None, pipe.poll, timeout)
            if not ok:
                raise RuntimeError("a load process did not start")
            msg = pipe.recv()
            if msg != "ready":
                raise RuntimeError(f"a load process failed: {msg}")

    def start(self) -> float:
        self.go.set()
        return now()

    def final_count(self) -> int:
        """Tasks of the final step completed, over all processes."""
        return sum(self.progress[0::3])

    def started_count(self) -> int:
        return sum(self.progress[1::3])

    def starters_done(self) -> bool:
        return all(self.progress[2::3])

    def cpu(self) -> float:
        return sum(proc_cpu(p.pid) or 0.0 for p in self.procs)

    async def finish(self, timeout: float = 30) -> list[dict[str, Any]]:
        self.stop.set()
        loop = asyncio.get_running_loop()
        results = []
        for pipe in self.pipes:
            ok = await loop.run_in_executor(None, pipe.poll, timeout)
            results.append(pipe.recv() if ok else {"fatal": "no result"})
        for p in self.procs:
            p.join(5)
            if p.is_alive():
                p.kill()
        for r in results:
            if "fatal" in r:
                raise RuntimeError(f"load process failed: {r['fatal']}")
        return results


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def merge_counters(results: list[dict[str, Any]], key: str) -> dict[str, int]:
    out: collections.Counter[str] = collections.Counter()
    for r in results:
        out.update(r[key])
    return dict(out)


# --------------------------------------------------------------------------------------------
# observation of the server: memory and CPU


class Observer:
    """Samples the servers' VmRSS every 50 ms and remembers the peak of their sum per phase. With
    several server processes, memory, CPU and I/O are their sums; `per_server` gives one figure each.
    `database` names the PostgreSQL database whose backends are counted, if any."""

    def __init__(self, pids: list[int], database: str | None = None) -> None:
        self.pids = pids
        self.database = database
        self.phase = "startup"
        self.peak_kb: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.pids:
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(0.05)

    def sample(self) -> dict[str, int]:
        """VmRSS / VmHWM summed over the servers (kB); empty if one of them cannot be read."""
        each = [proc_status(pid) for pid in self.pids]
        st = {k: sum(e[k] for e in each) for k in ("VmRSS", "VmHWM") if each and all(k in e for e in each)}
        rss = st.get("VmRSS")
        if rss is not None:
            self.peak_kb[self.phase] = max(self.peak_kb.get(self.phase, 0), rss)
        return st

    def rss_mb(self) -> float | None:
        st = self.sample()
        return st["VmRSS"] / 1024 if "VmRSS" in st else None

    def hwm_mb(self) -> float | None:
        st = self.sample()
        return st["VmHWM"] / 1024 if "VmHWM" in st else None

    def per_server(self, key: str) -> list[float | None] | None:
        """VmRSS or VmHWM of each server in MB, with several servers (None with one)."""
        if len(self.pids) < 2:
            return None
        return [round(v / 1024, 1) if (v := proc_status(pid).get(key)) is not None else None for pid in self.pids]

    def cpus(self) -> list[float | None]:
        return [proc_cpu(pid) for pid in self.pids]

    def cpu(self) -> float | None:
        cpus = [c for c in self.cpus() if c is not None]
        return sum(cpus) if cpus and len(cpus) == len(self.pids) else None

    def io(self) -> dict[str, int]:
        each = [proc_io(pid) for pid in self.pids]
        return {k: sum(e[k] for e in each) for k in (each[0] if each else {}) if all(k in e for e in each)}

    def postgres(self) -> dict[int, tuple[str, float, int]] | None:
        return postgres_procs(self.database) if self.database else None

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class CpuWindow:
    """CPU used by the server(s), PostgreSQL, the load processes, this process and the machine over a
    window."""

    def __init__(self, obs: Observer, load: Load) -> None:
        self.obs, self.load = obs, load

    def mark(self) -> dict[str, Any]:
        return {
            "t": now(),
            "server": self.obs.cpu(),
            "servers": self.obs.cpus() if len(self.obs.pids) > 1 else None,
            "postgres": self.obs.postgres(),
            "clients": self.load.cpu(),
            "main": time.process_time(),
            "machine": machine_cpu(),
            "io": self.obs.io(),
        }

    @staticmethod
    def report(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        dt = b["t"] - a["t"]
        busy = (b["machine"][0] - a["machine"][0]) / max(1, b["machine"][1] - a["machine"][1])
        clients = 100 * (b["clients"] - a["clients"]) / dt
        main = 100 * (b["main"] - a["main"]) / dt
        out = {
            "seconds": round(dt, 3),
            "clients_pct_of_core": round(clients, 1),
            "main_pct_of_core": round(main, 1),
            "machine_busy_pct": round(100 * busy, 1),
            "server_cpu_s": None,
            "clients_cpu_s": round(b["clients"] - a["clients"], 3),
        }
        ours = clients + main
        if a["postgres"] is not None and b["postgres"] is not None:
            out.update(CpuWindow.postgres_report(postgres_delta(a["postgres"], b["postgres"]), dt))
            ours += out["postgres_pct_of_core"]
        if a["server"] is not None and b["server"] is not None:
            server = 100 * (b["server"] - a["server"]) / dt
            out["server_pct_of_core"] = round(server, 1)
            out["server_cpu_s"] = round(b["server"] - a["server"], 3)
            if a["servers"] and b["servers"] and None not in a["servers"] + b["servers"]:
                out["server_pct_of_core_per_server"] = [
                    round(100 * (y - x) / dt, 1) for x, y in zip(a["servers"], b["servers"], strict=True)
                ]
            ours += server
            # whatever else ran on the machine meanwhile (other people's tests, ...), in % of one core
            out["other_pct_of_core"] = round(max(0.0, 100 * busy * (os.cpu_count() or 1) - ours), 1)
        if a["io"] and b["io"]:
            # bytes the server wrote (WAL frames, checkpoints) and write-type syscalls (incl. sends)
            out["server_io"] = {k: b["io"][k] - a["io"][k] for k in a["io"] if k in b["io"]}
        return out

    @staticmethod
    def postgres_report(d: dict[str, float], dt: float) -> dict[str, Any]:
        """PostgreSQL's share: our database's backends plus the shared processes (WAL writer, ...);
        other databases' backends are left to "other"."""
        return {
            "postgres_cpu_s": round(d["backend"] + d["shared"], 3),
            "postgres_pct_of_core": round(100 * (d["backend"] + d["shared"]) / dt, 1),
            "postgres_backends_pct_of_core": round(100 * d["backend"] / dt, 1),
            "postgres_shared_pct_of_core": round(100 * d["shared"] / dt, 1),
            "postgres_write_bytes": int(d["write_bytes"]),
        }


# --------------------------------------------------------------------------------------------
# the dispatch-latency probe


async def probe(
    connect: Any,
    n: Names,
    samples: int,
    gap: float,
    keep_going: Any,
    period: float = 0.0,
    by_name: bool = False,
) -> dict[str, Any]:
    """One worker parked in a long poll; start a 1-task workflow; time until the worker holds it.
    A sample starts at most every `period` seconds (so that the probe adds little load).

    `ret` is measured from the start call returning (the task is scheduled and committed by then),
    `send` from the start call being sent (an upper bound that includes the start itself)."""
    ret: list[float] = []
    send: list[float] = []
    misses = 0
    t_iter = now()
    poll_url = f"/api/tasks/poll/batch/{n.probe_task}?workerid=probe&count=1&timeout=5000"
    start_url, start_body = start_call(n.probe_wf, by_name)
    worker, boss = connect(), connect()

    async def timed_poll() -> tuple[list[dict[str, Any]], float]:
        status, payload = await worker.request("GET", poll_url)
        t = now()
        return (orjson.loads(payload) if status == 200 else []), t

    try:
        for i in range(samples + 1):  # the first round only opens the connections
            if not keep_going():
                break
            if period > 0 and i > 0:
                await asyncio.sleep(max(0.0, t_iter + period - now()))
            t_iter = now()
            polling = asyncio.create_task(timed_poll())
            await asyncio.sleep(gap)  # let the poll reach the server and park
            t_send = now()
            status, _ = await boss.request("POST", start_url, start_body)
            t_ret = now()
            got, t_got = await polling
            if status != 200 or not got:
                misses += 1
                continue
            if i > 0:
                ret.append((t_got - t_ret) * 1000)
                send.append((t_got - t_send) * 1000)
            task = got[0]
            await worker.request(
                "POST",
                "/api/tasks",
                orjson.dumps(
                    {
                        "workflowInstanceId": task["workflowInstanceId"],
                        "taskId": task["taskId"],
                        "status": "COMPLETED",
                        "workerId": "probe",
                        "outputData": {},
                    }
                ),
            )
    finally:
        await worker.aclose()
        await boss.aclose()
    return summarize_latency(ret, send, misses)


def summarize_latency(ret: list[float], send: list[float], misses: int) -> dict[str, Any]:
    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 3)

    return {
        "samples": len(ret),
        "misses": misses,
        "p50_ms": r(percentile(ret, 50)),
        "p90_ms": r(percentile(ret, 90)),
        "p99_ms": r(percentile(ret, 99)),
        "max_ms": r(max(ret) if ret else None),
        "min_ms": r(min(ret) if ret else None),
        "from_send_p50_ms": r(percentile(send, 50)),
        "from_send_p99_ms": r(percentile(send, 99)),
    }


# --------------------------------------------------------------------------------------------
# the server process


class Server:
    """One server process (or the --server-url one). With --servers N, `index` tells them apart: own
    port, log file and profile files."""

    def __init__(
        self, args: argparse.Namespace, workdir: Path, run_index: int = 0, index: int = 0, taken: tuple[int, ...] = ()
    ) -> None:
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None
        self.pid: int | None = args.server_pid
        self.profiler: subprocess.Popen[bytes] | None = None
        self.run_index = run_index
        self.suffix = f"-server{index + 1}" if args.servers > 1 else ""
        if args.server_url:
            self.url = args.server_url.rstrip("/")
            self.database_url = args.database_url or "(external server)"
            return
        self.port = free_port()
        while self.port in taken:
            self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = args.database_url or f"sqlite:///{workdir}/podium.db"
        self.log_path = workdir / f"server{self.suffix}.log"
        cmd = [
            sys.executable,
            "-m",
            "podium.cli",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--database-url",
            self.database_url,
            "--log-level",
            args.server_log_level,
        ]
        self.cmd = cmd
        env = server_env(args)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, env=env)
        self.pid = self.proc.pid

    async def wait_healthy(self, timeout: float = 60) -> None:
        deadline = now() + timeout
        async with httpx.AsyncClient(timeout=2) as c:
            while now() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(
                        f"server exited with {self.proc.returncode}; see {self.log_path}:\n"
                        + self.log_path.read_text()[-3000:]
                    )
                with contextlib.suppress(httpx.HTTPError):
                    r = await c.get(f"{self.url}/health")
                    if r.status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"server at {self.url} did not become healthy in {timeout:.0f} s")

    def start_profile(self, name: str) -> None:
        """py-spy on the server while a phase runs, if --profile was given."""
        if self.pid is None or not self.args.profile:
            return
        out = Path(self.args.profile) / f"run{self.run_index}-{name}{self.suffix}.txt"
        out.parent.mkdir(parents=True, exist_ok=True)
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        self.profiler = subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(self.pid),
                "--rate",
                str(self.args.profile_rate),
                "--nonblocking",
                "--format",
                "raw",
                "--output",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop_profile(self) -> None:
        if self.profiler is not None:
            self.profiler.send_signal(signal.SIGINT)
            try:
                self.profiler.wait(30)
            except subprocess.TimeoutExpired:
                self.profiler.kill()
            self.profiler = None

    def stop(self) -> None:
        self.stop_profile()
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


class Servers:
    """The server processes of a run: one, or --servers N sharing one PostgreSQL database. The load
    spreads over `urls`; registration, verification and the idle readings use the first."""

    def __init__(self, args: argparse.Namespace, workdir: Path, run_index: int) -> None:
        self.members: list[Server] = []
        for i in range(args.servers):
            taken = tuple(m.port for m in self.members)
            self.members.append(Server(args, workdir, run_index, i, taken))
        self.url = self.members[0].url
        self.urls = [m.url for m in self.members]
        self.database_url = self.members[0].database_url
        self.pids = [m.pid for m in self.members if m.pid is not None]

    async def wait_healthy(self) -> None:
        await asyncio.gather(*(m.wait_healthy() for m in self.members))

    def start_profile(self, name: str) -> None:
        for m in self.members:
            m.start_profile(name)

    def stop_profile(self) -> None:
        for m in self.members:
            m.stop_profile()

    def stop(self) -> None:
        for m in self.members:
            m.stop()


# --------------------------------------------------------------------------------------------
# phases


def load_specs(
    args: argparse.Namespace,
    base_urls: list[str],
    pollers: list[tuple[str, int, bool]],
    starter_spec: dict[str, Any] | None,
    track: bool,
    max_seconds: float,
) -> list[dict[str, Any]]:
    """Spread pollers (type, count, final?) and an optional starter over --procs processes. Within a
    process, connections go round-robin over the servers' `base_urls`, each process from another one."""
    procs = max(1, args.procs)
    specs = []
    shares = {t: split(k, procs) for t, k, _ in pollers}
    for i in range(procs):
        mine = [(t, shares[t][i], final) for t, _, final in pollers if shares[t][i] > 0]
        spec: dict[str, Any] = {
            "base_urls": base_urls[i % len(base_urls) :] + base_urls[: i % len(base_urls)],
            "pollers": mine,
            "batch": args.batch,
            "poll_timeout_ms": args.poll_timeout_ms,
            "track": track,
            "max_seconds": max_seconds,
            "uvloop": not args.no_uvloop,
            "client": args.client,
            "sniffio_shim": not args.no_sniffio_shim,
        }
        if starter_spec is not None:
            count = split(starter_spec["count"], procs)[i]
            conc = max(1, split(starter_spec["concurrency"], procs)[i])
            if count:
                spec["starter"] = dict(
                    starter_spec, count=count, concurrency=conc, rate=starter_spec["rate"] / procs
                )
        specs.append(spec)
    return specs


def probe_urls(server: Servers) -> list[str]:
    """The latency probe's worker parks on the last server and the start goes to the first: with
    several servers, the task crosses processes (PostgreSQL NOTIFY); with one, nothing changes."""
    return [server.urls[-1], server.urls[0]]


async def phase_idle(args: argparse.Namespace, server: Servers, obs: Observer, n: Names) -> dict[str, Any]:
    obs.phase = "idle"
    await asyncio.sleep(args.idle_settle)
    idle_rss = obs.rss_mb()
    idle_each = obs.per_server("VmRSS")
    connect = connector(args.client, probe_urls(server))
    lat = await probe(
        connect, n, args.latency_samples, args.probe_gap_ms / 1000, lambda: True, by_name=args.start_by_name
    )
    return {"rss_mb": idle_rss, "latency": lat} | ({"rss_mb_per_server": idle_each} if idle_each else {})


async def run_starter_only(
    args: argparse.Namespace, server: Servers, obs: Observer, workflow: str, count: int, seconds: float
) -> dict[str, Any]:
    """Start `count` workflows (or as many as fit in `seconds`) as fast as the starters can."""
    specs = load_specs(
        args,
        server.urls,
        [],
        {
            "workflow": workflow,
            "count": count,
            "rate": 0,
            "concurrency": args.start_concurrency,
            "seconds": seconds,
            "by_name": args.start_by_name,
        },
        False,
        seconds + 30,
    )
    load = Load(specs)
    await load.ready()
    cpu = CpuWindow(obs, load)
    c0 = cpu.mark()
    load.start()
    while not all(not p.is_alive() or load.pipes[i].poll() for i, p in enumerate(load.procs)):
        await asyncio.sleep(0.05)
    c1 = cpu.mark()
    results = await load.finish()
    starts = [t for r in results for t in r["start_times"]]
    out: dict[str, Any] = {
        "workflows": len(starts),
        "errors": merge_counters(results, "errors"),
        "cpu": cpu.report(c0, c1),
    }
    if len(starts) > 1:
        span = max(starts) - min(starts)
        out["seconds"] = round(span, 3)
        out["starts_per_s"] = round(len(starts) / span, 1) if span > 0 else None
        out.update(per_op_cpu(out["cpu"], len(starts)))
    return out


def per_op_cpu(cpu: dict[str, Any], ops: int) -> dict[str, Any]:
    """CPU milliseconds per operation, server and clients: a figure that other load on the machine
    disturbs much less than a rate does."""
    if not ops:
        return {}
    out = {"client_cpu_ms_per_op": round(1000 * cpu["clients_cpu_s"] / ops, 3)}
    if cpu.get("server_cpu_s"):
        out["server_cpu_ms_per_op"] = round(1000 * cpu["server_cpu_s"] / ops, 3)
        # what one fully busy core would do at this cost per operation (the server is one process;
        # with several, this is per core of their summed CPU)
        out["one_core_ceiling_per_s"] = round(ops / cpu["server_cpu_s"], 1)
    if cpu.get("postgres_cpu_s") is not None:
        out["postgres_cpu_ms_per_op"] = round(1000 * cpu["postgres_cpu_s"] / ops, 3)
        out["postgres_disk_kb_per_op"] = round(cpu["postgres_write_bytes"] / 1024 / ops, 1)
    io = cpu.get("server_io") or {}
    if "write_bytes" in io:
        out["server_disk_kb_per_op"] = round(io["write_bytes"] / 1024 / ops, 1)
    if "syscw" in io:
        out["server_write_syscalls_per_op"] = round(io["syscw"] / ops, 1)
    return out


async def phase_simple(args: argparse.Namespace, server: Servers, obs: Observer, n: Names) -> dict[str, Any]:
    # 1. the backlog, started by the load processes as fast as they can
    obs.phase = "prefill"
    server.start_profile("prefill")
    prefill = await run_starter_only(args, server, obs, n.simple_wf, args.backlog, args.prefill_seconds)
    server.stop_profile()
    backlog = prefill["workflows"]

    # 2. drain it: count completions over a fixed window after a warm-up
    obs.phase = "simple"
    specs = load_specs(
        args, server.urls, [(n.simple_task, args.pollers, True)], None, False, args.warmup + args.duration + 10
    )
    load = Load(specs)
    await load.ready()
    cpu = CpuWindow(obs, load)
    t0 = load.start()
    w0 = t0 + args.warmup
    w1 = w0 + args.duration
    await asyncio.sleep(max(0.0, w0 - now()))
    server.start_profile("simple")
    c0 = cpu.mark()
    await asyncio.sleep(max(0.0, w1 - now()))
    c1 = cpu.mark()
    server.stop_profile()
    results = await load.finish()
    done = sorted(t for r in results for t in r["done"].get(n.simple_task, []))
    in_window = [t for t in done if w0 <= t < w1]
    # if the backlog ran dry inside the window, measure up to the last completion only
    exhausted = bool(done) and len(done) >= backlog - args.pollers * args.batch and done[-1] < w1 - 0.2
    end = done[-1] if exhausted else w1
    seconds = max(1e-9, end - w0)
    report = cpu.report(c0, c1)
    return {
        "prefill": prefill,
        "backlog": backlog,
        "completed_total": len(done),
        "completed_in_window": len(in_window),
        "window_s": round(seconds, 3),
        "warmup_s": args.warmup,
        "backlog_exhausted": exhausted,
        "tasks_per_s": round(len(in_window) / seconds, 1),
        "requests": merge_counters(results, "requests"),
        "errors": merge_counters(results, "errors"),
        "cpu": report,
        **(per_op_cpu(report, len(in_window)) if not exhausted else {}),
        "rss_peak_mb": round(obs.peak_kb.get("simple", 0) / 1024, 1),
    }


async def phase_chain(args: argparse.Namespace, server: Servers, obs: Observer, n: Names) -> dict[str, Any]:
    obs.phase = "chain"
    pollers = [
        (n.steps[0], args.pollers, False),
        (n.steps[1], args.pollers, False),
        (n.steps[2], args.pollers, True),
    ]
    starter_spec = {
        "workflow": n.chain_wf,
        "count": args.workflows,
        "rate": args.start_rate,
        "concurrency": args.start_concurrency,
        "seconds": args.chain_seconds,
        "by_name": args.start_by_name,
    }
    max_seconds = args.chain_seconds + args.drain_timeout
    specs = load_specs(args, server.urls, pollers, starter_spec, True, max_seconds + 5)
    load = Load(specs)
    await load.ready()
    cpu = CpuWindow(obs, load)
    c0 = cpu.mark()
    t0 = load.start()
    deadline = t0 + max_seconds

    finished = False

    def running() -> bool:
        return not finished and now() < deadline

    probe_task = asyncio.create_task(
        probe(
            connector(args.client, probe_urls(server)),
            n,
            args.load_latency_samples,
            args.load_probe_gap_ms / 1000,
            running,
            args.load_probe_period_ms / 1000,
            args.start_by_name,
        )
    )
    # the starters stop after --workflows or --chain-seconds; then the workers drain what is left:
    # over when every started workflow has completed, when completions stop moving for
    # --idle-stop seconds after the starts (something is stuck), or at the deadline
    last_count, last_move = -1, now()
    while running():
        await asyncio.sleep(0.01)
        count = load.final_count()
        if count != last_count:
            last_count, last_move = count, now()
        if load.starters_done():
            if count >= load.started_count():
                break
            if now() - last_move > args.idle_stop:
                log(f"chain: no completion for {args.idle_stop:g} s, {count} of {load.started_count()} done")
                break
    finished = True
    c1 = cpu.mark()
    latency = await probe_task
    results = await load.finish()
    started: dict[str, float] = {}
    finished: dict[str, float] = {}
    for r in results:
        started.update(r["started"])
        finished.update(r["wf_done"])
    completed = [wid for wid in started if wid in finished]
    report = cpu.report(c0, c1)
    out: dict[str, Any] = {
        "workflows_started": len(started),
        "workflows_completed": len(completed),
        "all_completed": len(completed) == len(started),
        "start_rate_target": args.start_rate,
        "requests": merge_counters(results, "requests"),
        "errors": merge_counters(results, "errors"),
        "cpu": report,
        "latency_under_load": latency,
        "rss_peak_mb": round(obs.peak_kb.get("chain", 0) / 1024, 1),
    }
    if completed:
        first = min(started.values())
        last = max(finished[w] for w in completed)
        last_start = max(started.values())
        e2e = [(finished[w] - started[w]) * 1000 for w in completed]
        out.update(
            {
                "seconds": round(last - first, 3),
                "workflows_per_s": round(len(completed) / (last - first), 1),
                "starts_per_s": round(len(started) / max(1e-9, last_start - first), 1),
                "e2e_p50_ms": round(percentile(e2e, 50) or 0, 1),
                "e2e_p99_ms": round(percentile(e2e, 99) or 0, 1),
                **per_op_cpu(report, len(completed)),
            }
        )
    out["verified"] = await verify(server.url, completed[:: max(1, len(completed) // 20)][:20])
    return out


async def verify(base_url: str, ids: list[str]) -> dict[str, Any]:
    """Ask the server whether a sample of the workflows the workers finished are COMPLETED."""
    statuses: collections.Counter[str] = collections.Counter()
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as c:
        for wid in ids:
            r = await c.get(f"/api/workflow/{wid}", params={"includeTasks": "false"})
            statuses[
                r.json().get("status", f"HTTP {r.status_code}")
                if r.status_code == 200
                else f"HTTP {r.status_code}"
            ] += 1
    return {"sampled": len(ids), "statuses": dict(statuses)}


async def background_load(seconds: float = 1.0) -> float:
    """CPU used by the whole machine over `seconds`, in % of one core."""
    a = machine_cpu()
    await asyncio.sleep(seconds)
    b = machine_cpu()
    return round(100 * (os.cpu_count() or 1) * (b[0] - a[0]) / max(1, b[1] - a[1]), 1)


async def wait_quiet(args: argparse.Namespace) -> float:
    load = await background_load()
    deadline = now() + args.wait_quiet
    while load > args.quiet_pct and now() < deadline:
        log(f"machine busy with other work ({load:.0f}% of a core), waiting")
        load = await background_load(2.0)
    if load > args.quiet_pct:
        log(
            f"warning: other processes use {load:.0f}% of a core; "
            "results will be lower than on a quiet machine"
        )
    return load


def pg_database(database_url: str) -> str | None:
    """The database name of a postgresql:// URL, whose backends' CPU is then measured."""
    if not is_postgres(database_url):
        return None
    return urllib.parse.urlsplit(database_url).path.lstrip("/") or None


async def one_run(args: argparse.Namespace, index: int) -> dict[str, Any]:
    background = await wait_quiet(args)
    t_start = now()
    workdir = Path(tempfile.mkdtemp(prefix="podium-bench-"))
    source = source_info(args)  # the code the server is about to import (others may be editing it)
    server = Servers(args, workdir, index)
    obs = Observer(server.pids, pg_database(server.database_url))
    names = Names(uuid.uuid4().hex[:6])
    result: dict[str, Any] = {
        "run": index,
        "server_url": server.url,
        **({"server_urls": server.urls} if args.servers > 1 else {}),
        "database_url": server.database_url,
        "source": source,
        "background_pct_of_core_before": background,
    }
    phases = set(args.phases.split(","))
    try:
        await server.wait_healthy()
        obs.start()
        result["startup_rss_mb"] = obs.rss_mb()
        await register(server.url, names)
        if "idle" in phases:
            log(f"run {index}: idle latency ({args.latency_samples} samples)")
            result["idle"] = await phase_idle(args, server, obs, names)
        if "simple" in phases:
            log(
                f"run {index}: simple tasks (backlog {args.backlog}, {args.pollers} pollers, "
                f"{args.warmup:g}+{args.duration:g} s)"
            )
            result["simple"] = await phase_simple(args, server, obs, names)
        if "chain" in phases:
            log(f"run {index}: three-step workflows ({args.workflows}, {args.pollers} pollers per type)")
            server.start_profile("chain")
            result["chain"] = await phase_chain(args, server, obs, names)
            server.stop_profile()
        obs.phase = "after"
        await asyncio.sleep(args.idle_settle)
        result["after_load_rss_mb"] = obs.rss_mb()
        result["peak_rss_mb"] = obs.hwm_mb()  # VmHWM: the peak over the server's whole life
        result["phase_peak_rss_mb"] = {k: round(v / 1024, 1) for k, v in obs.peak_kb.items()}
        if args.servers > 1:  # the figures above are sums over the servers
            result["per_server"] = {
                "after_load_rss_mb": obs.per_server("VmRSS"),
                "peak_rss_mb": obs.per_server("VmHWM"),
            }
    finally:
        await obs.stop()
        server.stop()
        result["seconds"] = round(now() - t_start, 1)
        if args.keep:
            result["workdir"] = str(workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return result


# --------------------------------------------------------------------------------------------
# reporting


def get(d: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


METRICS = [
    # key path, label, unit, target, direction
    ("simple.tasks_per_s", "Simple tasks completed end to end", "/s", "tasks_per_s", ">="),
    ("chain.workflows_per_s", "Three-step workflows completed", "/s", "workflows_per_s", ">="),
    ("idle.latency.p50_ms", "Dispatch latency, idle, p50", "ms", LATENCY_TARGET["p50_ms"], "<="),
    ("idle.latency.p99_ms", "Dispatch latency, idle, p99", "ms", LATENCY_TARGET["p99_ms"], "<="),
    ("chain.latency_under_load.p50_ms", "Dispatch latency, under load (chain), p50", "ms", None, ""),
    ("chain.latency_under_load.p99_ms", "Dispatch latency, under load (chain), p99", "ms", None, ""),
    ("idle.rss_mb", "Server memory, idle (VmRSS)", "MB", MEMORY_TARGET["idle_mb"], "<="),
    ("peak_rss_mb", "Server memory, peak under load (VmHWM)", "MB", MEMORY_TARGET["load_mb"], "<="),
    ("simple.prefill.starts_per_s", "Workflow starts (1-task, backlog fill)", "/s", None, ""),
    ("chain.starts_per_s", "Workflow starts (3-step, while workers run)", "/s", None, ""),
    ("chain.e2e_p50_ms", "Three-step workflow start->done, p50", "ms", None, ""),
    ("chain.e2e_p99_ms", "Three-step workflow start->done, p99", "ms", None, ""),
    ("simple.cpu.server_pct_of_core", "Server CPU during simple window", "% core", None, ""),
    ("simple.cpu.clients_pct_of_core", "Client CPU during simple window", "% core", None, ""),
    ("chain.cpu.server_pct_of_core", "Server CPU during chain phase", "% core", None, ""),
    ("chain.cpu.clients_pct_of_core", "Client CPU during chain phase", "% core", None, ""),
    ("simple.cpu.other_pct_of_core", "Other processes' CPU, simple window", "% core", None, ""),
    ("chain.cpu.other_pct_of_core", "Other processes' CPU, chain phase", "% core", None, ""),
    ("simple.server_cpu_ms_per_op", "Server CPU per simple task", "ms", None, ""),
    ("simple.one_core_ceiling_per_s", "  -> tasks/s if the server had a whole core", "/s", None, ""),
    ("simple.client_cpu_ms_per_op", "Client CPU per simple task", "ms", None, ""),
    ("simple.prefill.server_cpu_ms_per_op", "Server CPU per workflow start", "ms", None, ""),
    ("chain.server_cpu_ms_per_op", "Server CPU per three-step workflow", "ms", None, ""),
    ("chain.one_core_ceiling_per_s", "  -> workflows/s if the server had a whole core", "/s", None, ""),
    ("chain.client_cpu_ms_per_op", "Client CPU per three-step workflow", "ms", None, ""),
    ("simple.server_disk_kb_per_op", "Server disk writes per simple task", "KB", None, ""),
    ("simple.prefill.server_disk_kb_per_op", "Server disk writes per workflow start", "KB", None, ""),
]


PG_METRICS = [  # with PostgreSQL: its processes' CPU (our database's backends + WAL writer etc.)
    ("simple.cpu.postgres_pct_of_core", "PostgreSQL CPU during simple window", "% core", None, ""),
    ("chain.cpu.postgres_pct_of_core", "PostgreSQL CPU during chain phase", "% core", None, ""),
    ("simple.postgres_cpu_ms_per_op", "PostgreSQL CPU per simple task", "ms", None, ""),
    ("chain.postgres_cpu_ms_per_op", "PostgreSQL CPU per three-step workflow", "ms", None, ""),
    ("simple.postgres_disk_kb_per_op", "PostgreSQL disk writes per simple task", "KB", None, ""),
]


def median_of(runs: list[dict[str, Any]], metrics: list[tuple[Any, ...]] = METRICS) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, *_ in metrics:
        values = [v for v in (get(r, path) for r in runs) if isinstance(v, int | float)]
        if values:
            out[path] = round(statistics.median(values), 3)
    return out


def verdicts(
    summary: dict[str, Any], dialect: str, metrics: list[tuple[Any, ...]] = METRICS
) -> list[dict[str, Any]]:
    rows = []
    for path, label, unit, target, direction in metrics:
        value = summary.get(path)
        if isinstance(target, str):
            target = TARGETS[dialect][target]
        met = None
        if target is not None and value is not None:
            met = value >= target if direction == ">=" else value <= target
        rows.append(
            {
                "metric": path,
                "label": label,
                "unit": unit,
                "value": value,
                "target": None if target is None else f"{direction} {target:g}",
                "met": met,
            }
        )
    return rows


def print_table(rows: list[dict[str, Any]], runs: int) -> None:
    head = f"{'metric':50} {'median of ' + str(runs) if runs > 1 else 'value':>14} {'target':>10}  result"
    print(head)
    print("-" * len(head))
    for r in rows:
        v = r["value"]
        shown = "n/a" if v is None else (f"{v:,.1f}" if abs(v) >= 100 else f"{v:.2f}")
        met = "" if r["met"] is None else ("met" if r["met"] else "NOT MET")
        print(f"{r['label']:50} {shown + ' ' + r['unit']:>14} {r['target'] or '':>10}  {met}")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


AREAS = [  # (label, substrings of a py-spy frame "function (file:line)"), first match wins
    ("SQLite (C library, in the store's execute/commit calls)", ("store/sqlite.py",)),
    ("uvicorn: HTTP parsing and socket writes", ("uvicorn/", "httptools")),
    ("FastAPI / Starlette routing and dependencies", ("fastapi/", "starlette/")),
    ("pydantic (request bodies, models)", ("pydantic",)),
    (
        "Podium Python (engine, service, store rows, wire)",
        ("service/", "engine/", "store/", "model/", "api/"),
    ),
    ("asyncio / event loop / other", ("",)),
]


def _area(frame: str) -> str:
    return next(label for label, keys in AREAS if any(k in frame for k in keys))


def summarize_profile(path: Path, top: int = 25) -> str:
    """From py-spy's raw (collapsed) output of the server: self time by area, then the functions
    with the most inclusive time (line numbers folded). Idle worker threads are left out."""
    areas: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    self_t: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or "Thread._bootstrap" in stack:
            continue
        k = int(count)
        frames = [f.strip() for f in stack.split(";") if f.strip()]
        if not frames:
            continue
        total += k
        areas[_area(frames[-1])] += k
        self_t[re.sub(r":\d+\)$", ")", frames[-1])] += k
        for f in {re.sub(r":\d+\)$", ")", f) for f in frames}:
            incl[f] += k
    if not total:
        return f"{path.name}: no samples"
    lines = [f"{path.name}: {total} samples of the server's busy main thread", "  self time by area:"]
    lines += [f"    {100 * c / total:5.1f}%  {a}" for a, c in areas.most_common()]
    lines.append("  self time, top functions:")
    lines += [f"    {100 * c / total:5.1f}%  {f}" for f, c in self_t.most_common(top // 2)]
    lines.append("  inclusive time, Podium functions:")
    podium = [(f, c) for f, c in incl.most_common() if _area(f).startswith(("Podium", "SQLite"))]
    lines += [f"    {100 * c / total:5.1f}%  {f}" for f, c in podium[:top]]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Podium end-to-end benchmark (see bench/README.md).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    s = p.add_argument_group("server")
    s.add_argument("--server-url", help="use this already running server instead of starting one")
    s.add_argument("--server-pid", type=int, help="pid of --server-url's process, for memory and CPU figures")
    s.add_argument(
        "--database-url",
        help="database of the started server [default: fresh SQLite file in a "
        "temp dir]; with --server-url only used to pick the targets",
    )
    s.add_argument(
        "--src",
        help="put this directory first on the started server's PYTHONPATH (e.g. a snapshot of a commit made "
        "with `git archive HEAD src | tar -x -C DIR`, then --src DIR/src); a file COMMIT next to it names it",
    )
    s.add_argument("--server-log-level", default="warning", help="log level of the started server")
    s.add_argument(
        "--servers",
        type=int,
        default=1,
        help="start this many server processes on the one --database-url (PostgreSQL only); the load "
        "spreads round-robin over them, and their memory, CPU and I/O are summed",
    )
    w = p.add_argument_group("load")
    w.add_argument("--procs", type=int, default=1, help="client processes running the pollers and starters")
    w.add_argument("--pollers", type=int, default=8, help="concurrent pollers per task type (over all procs)")
    w.add_argument("--batch", type=int, default=8, help="count of each batch poll")
    w.add_argument("--poll-timeout-ms", type=int, default=1000, help="long-poll timeout of the pollers")
    w.add_argument("--start-concurrency", type=int, default=4, help="start calls in flight (over all procs)")
    w.add_argument(
        "--start-by-name",
        action="store_true",
        help="start with POST /api/workflow/{name} (start_workflow_by_name) instead of POST /api/workflow",
    )
    w.add_argument("--no-uvloop", action="store_true", help="plain asyncio loop in the client processes")
    w.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="HTTP client of the workers: a minimal keep-alive HTTP/1.1 client on asyncio streams, "
        "or httpx.AsyncClient (several times more client CPU per request)",
    )
    w.add_argument(
        "--no-sniffio-shim",
        action="store_true",
        help="with --client httpx, do not stand in for a missing sniffio (see bench/README.md)",
    )
    m = p.add_argument_group("sizes (every phase stops by itself)")
    m.add_argument(
        "--phases", default="idle,simple,chain", help="comma-separated subset of idle,simple,chain"
    )
    m.add_argument(
        "--backlog",
        type=int,
        default=30000,
        help="1-task workflows started before the simple phase (at most)",
    )
    m.add_argument(
        "--prefill-seconds",
        type=float,
        default=20.0,
        help="stop filling the backlog after this long even if --backlog is not reached",
    )
    m.add_argument("--warmup", type=float, default=2.0, help="seconds of the simple phase not counted")
    m.add_argument("--duration", type=float, default=6.0, help="measured window of the simple phase, seconds")
    m.add_argument(
        "--workflows",
        type=int,
        default=20000,
        help="three-step workflows started in the chain phase (at most)",
    )
    m.add_argument(
        "--chain-seconds",
        type=float,
        default=10.0,
        help="stop starting three-step workflows after this long even if --workflows is not reached",
    )
    m.add_argument(
        "--drain-timeout",
        type=float,
        default=30.0,
        help="after the starts stop, wait at most this long for the started workflows to finish",
    )
    m.add_argument(
        "--idle-stop",
        type=float,
        default=3.0,
        help="end the chain phase when no workflow has completed for this long after the starts",
    )
    m.add_argument(
        "--start-rate",
        type=float,
        default=0.0,
        help="target start rate of the chain phase, workflows/s (0 = as fast as the starter can)",
    )
    m.add_argument("--latency-samples", type=int, default=300, help="sequential samples of idle latency")
    m.add_argument("--load-latency-samples", type=int, default=400, help="at most this many under load")
    m.add_argument(
        "--probe-gap-ms",
        type=float,
        default=5.0,
        help="wait between parking the probe worker and starting the workflow (idle)",
    )
    m.add_argument("--load-probe-gap-ms", type=float, default=15.0, help="the same, under load")
    m.add_argument(
        "--load-probe-period-ms",
        type=float,
        default=50.0,
        help="under load, start a latency sample at most this often (each is a 1-task workflow of its own)",
    )
    m.add_argument("--idle-settle", type=float, default=1.0, help="seconds of quiet before an idle reading")
    m.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        help="before each run, wait up to this many seconds for other load on the machine to fall "
        "under --quiet-pct (the machine may be shared)",
    )
    m.add_argument(
        "--quiet-pct", type=float, default=20.0, help="other load counted as quiet, %% of one core"
    )
    m.add_argument("--runs", type=int, default=1, help="full runs (fresh server each); medians are reported")
    o = p.add_argument_group("output")
    o.add_argument("--json", help="write all results to this file")
    o.add_argument(
        "--profile",
        metavar="DIR",
        help="record the server with py-spy (raw collapsed stacks) during the backlog fill, the simple "
        "window and the chain phase into DIR/run<N>-<phase>.txt, and print a summary; "
        "slows the server a little",
    )
    o.add_argument("--profile-rate", type=int, default=200, help="py-spy samples per second")
    o.add_argument("--keep", action="store_true", help="keep the temp dir (database, server log)")
    args = p.parse_args(argv)
    if args.servers < 1:
        p.error("--servers must be at least 1")
    if args.servers > 1 and args.server_url:
        p.error("--servers N starts N servers itself; it cannot be combined with --server-url")
    if args.servers > 1 and not is_postgres(args.database_url):
        p.error(
            "--servers N > 1 needs --database-url postgresql://...: SQLite has one writer, so several "
            "server processes cannot share a SQLite file"
        )
    return args


async def amain(args: argparse.Namespace) -> int:
    runs = []
    for i in range(1, args.runs + 1):
        r = await one_run(args, i)
        runs.append(r)
        log(f"run {i} done in {r['seconds']} s")
    dialect = "postgresql" if is_postgres(args.database_url) else "sqlite"
    metrics = METRICS + (PG_METRICS if dialect == "postgresql" else [])
    summary = median_of(runs, metrics)
    rows = verdicts(summary, dialect, metrics)
    print()
    servers = f", {args.servers} server processes (figures summed)" if args.servers > 1 else ""
    print(
        f"Podium benchmark: {args.runs} run(s), {args.procs} client process(es), {args.pollers} pollers per "
        f"type, batch {args.batch}, {dialect}{servers}"
    )
    print_table(rows, args.runs)
    for r in runs:
        errs = {**(get(r, "simple.errors") or {}), **(get(r, "chain.errors") or {})}
        flags = []
        if get(r, "simple.backlog_exhausted"):
            flags.append("backlog ran dry inside the window (raise --backlog)")
        if get(r, "chain.all_completed") is False:
            flags.append(
                f"chain: only {get(r, 'chain.workflows_completed')} of {get(r, 'chain.workflows_started')} "
                "workflows completed before the phase ended"
            )
        if (get(r, "background_pct_of_core_before") or 0) > args.quiet_pct:
            flags.append(f"other load before the run: {r['background_pct_of_core_before']}% of a core")
        if errs:
            flags.append(f"errors {errs}")
        if flags:
            print(f"run {r['run']}: " + "; ".join(flags))
    if args.profile:
        for f in sorted(Path(args.profile).glob("*.txt")):
            print()
            print(summarize_profile(f))
    out = {
        "machine": machine_info(),
        "source": runs[0].get("source") if runs else source_info(args),
        "argv": sys.argv,
        "config": vars(args),
        "dialect": dialect,
        "summary": summary,
        "table": rows,
        "runs": runs,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
        log(f"wrote {args.json}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    use_uvloop(not args.no_uvloop)
    args.sniffio_shim_applied = args.client == "httpx" and not args.no_sniffio_shim and sniffio_shim()
    return asyncio.run(amain(args))


if __name__ == "__main__":
    sys.exit(main())
