"""The load: child processes whose coroutines are pollers (batch poll + update-v2) and starters."""

from __future__ import annotations

import argparse
import asyncio
import collections
import multiprocessing as mp
import resource
from array import array
from typing import TYPE_CHECKING, Any

import orjson

from .client import Connection, connector, sniffio_shim
from .observe import proc_cpu
from .util import now, use_uvloop

if TYPE_CHECKING:
    from .servers import Servers


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
        # a closed loop's tokens: a start takes one, a final step's completion gives it back
        self.gate: asyncio.Semaphore | None = None


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
                if stats.gate is not None:
                    stats.gate.release()
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
    in_flight: int = 0,
) -> None:
    """Starts up to `count` workflows for at most `seconds`, `concurrency` calls in flight (one
    connection each); paced at `rate`/s unless rate is 0. With `in_flight`, a closed loop: at most
    that many workflows started and not yet completed (their final step's worker gives a token back)."""
    nxt = 0
    t0 = now()
    until = t0 + seconds
    url, body = start_call(workflow, by_name)
    gate = stats.gate = asyncio.Semaphore(in_flight) if in_flight > 0 else None

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
                if gate is not None:
                    await gate.acquire()
                t = now()
                status, payload = await conn.request("POST", url, body)
                stats.requests["start"] += 1
                if status != 200:
                    stats.errors[f"start {status}"] += 1
                    if gate is not None:
                        gate.release()
                    continue
                stats.start_times.append(t)
                if track:
                    stats.started[payload.decode()] = t
        finally:
            await conn.aclose()

    await asyncio.gather(*(lane() for _ in range(concurrency)))


def spawn_pollers(spec: dict[str, Any], connect: Any, stats: Stats) -> list[asyncio.Task[None]]:
    """One task per poller of the spec's (type, count, final?) entries, each on its own connection."""
    work = []
    for i, (task_type, k, final) in enumerate(spec.get("pollers", [])):
        for j in range(k):
            wid = f"bench-{spec['slot']}-{i}-{j}"
            args = (task_type, wid, spec["batch"], spec["poll_timeout_ms"], stats, final, spec["track"])
            work.append(asyncio.create_task(poller(connect(), *args)))
    return work


def spawn_starter(spec: dict[str, Any], connect: Any, stats: Stats) -> asyncio.Task[None] | None:
    start = spec.get("starter")
    if not start:
        return None
    return asyncio.create_task(
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
            start.get("in_flight", 0),
        )
    )


async def _child(spec: dict[str, Any], pipe: Any, go: Any, stop: Any, progress: Any) -> dict[str, Any]:
    stats = Stats()
    slot = spec["slot"]
    connect = connector(spec["client"], spec["base_urls"], spec["headers"])
    pipe.send("ready")
    await asyncio.get_running_loop().run_in_executor(None, go.wait)
    t_go = now()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    work = spawn_pollers(spec, connect, stats)
    starter_task = spawn_starter(spec, connect, stats)
    if starter_task is not None:
        work.append(starter_task)
    deadline = t_go + spec["max_seconds"]

    def report() -> None:
        # three slots per process: final-step completions, workflows started, starter finished
        progress[3 * slot] = stats.final_count
        progress[3 * slot + 1] = len(stats.start_times)
        progress[3 * slot + 2] = 1 if starter_task is None or starter_task.done() else 0

    while not stop.is_set() and now() < deadline:
        report()
        if not spec.get("pollers") and starter_task is not None and starter_task.done():
            break
        await asyncio.sleep(0.01)
    report()
    await settle(work, stats)
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    return child_result(slot, t_go, stats, cpu_s)


async def settle(work: list[asyncio.Task[None]], stats: Stats) -> None:
    """Cancel the pollers and starters; count what failed other than by the cancel."""
    for w in work:
        w.cancel()
    outcomes = await asyncio.gather(*work, return_exceptions=True)
    for o in outcomes:
        if isinstance(o, BaseException) and not isinstance(o, asyncio.CancelledError):
            stats.errors[f"exception {type(o).__name__}: {o}"] += 1


def child_result(slot: int, t_go: float, stats: Stats, cpu_s: float) -> dict[str, Any]:
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
        "cpu_s": cpu_s,
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
            p = ctx.Process(target=child_main, args=(spec, child, self.go, self.stop, self.progress), daemon=True)
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


def load_specs(
    args: argparse.Namespace,
    server: Servers,
    pollers: list[tuple[str, int, bool]],
    starter_spec: dict[str, Any] | None,
    track: bool,
    max_seconds: float,
) -> list[dict[str, Any]]:
    """Spread pollers (type, count, final?) and an optional starter over --procs processes. Within a
    process, connections go round-robin over the servers' URLs, each process from another one; every
    request sends the servers' `headers` (the token, with --auth keys)."""
    procs = max(1, args.procs)
    base_urls = server.urls
    specs = []
    shares = {t: split(k, procs) for t, k, _ in pollers}
    for i in range(procs):
        mine = [(t, shares[t][i], final) for t, _, final in pollers if shares[t][i] > 0]
        spec: dict[str, Any] = {
            "base_urls": base_urls[i % len(base_urls) :] + base_urls[: i % len(base_urls)],
            "headers": server.headers,
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
                spec["starter"] = dict(starter_spec, count=count, concurrency=conc, rate=starter_spec["rate"] / procs)
                if starter_spec.get("in_flight"):
                    spec["starter"]["in_flight"] = max(1, split(starter_spec["in_flight"], procs)[i])
        specs.append(spec)
    return specs
