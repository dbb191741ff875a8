#!/usr/bin/env python
"""Diego BBS dialect benchmark: desire rate, cell throughput, completion callbacks, dispatch latency
and memory of one fresh `podium server` process (temp SQLite file, or --database-url), on each wire:
upstream's protobuf messages and their JSON mapping, side by side (a fresh server per wire and run).

    .venv/bin/python bench/bbs.py                            # defaults: 5000 tasks, 8 cells, 1 client process
    .venv/bin/python bench/bbs.py --wire protobuf            # one wire only
    .venv/bin/python bench/bbs.py --runs 3 --json out.json   # three runs per wire (fresh server each), medians
    .venv/bin/python bench/bbs.py --database-url postgresql://postgres@127.0.0.1:5432/fresh_db --wire json

Phases, in order (docs/bbs.md is the contract; bench/README.md says what is measured):
  idle      idle RSS; then one cell parked in an offers long poll, one task desired, time from the
            desire being sent to the offer arriving (sequential samples)
  desire    desire.r2 of --tasks tasks in domain "bench", --desirers calls in flight
  cells     --cells cells loop offers(count 10) -> start -> complete each, until the backlog is gone
  callback  --callback-tasks tasks with completion_callback_url at a local receiver (uvicorn +
            Starlette, child process): complete -> Resolving -> callback -> deleted
Load runs in --procs child processes; every cell / desirer coroutine has its own keep-alive
connection (--client httpx: httpx.AsyncClient; raw: bench/run.py's minimal HTTP/1.1 client).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import multiprocessing as mp
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
# bench/podium_bench, beside this file: bench/run.py's package
from podium_bench.client import connector
from podium_bench.observe import machine_cpu, machine_info, postgres_delta, postgres_procs, proc_cpu, proc_status
from podium_bench.provenance import source_info
from podium_bench.util import free_port, is_postgres, percentile, use_uvloop

from podium.model.diego import codec
from podium.model.diego.routes import MESSAGES

DEFINITION = {"rootfs": "docker:///busybox", "action": {"run": {"path": "true"}}}
now = time.monotonic  # CLOCK_MONOTONIC: comparable across the processes of this machine
WIRES = ("json", "protobuf")
PROTOBUF = "application/x-protobuf"


def pcts(values: list[float]) -> dict[str, float | None]:
    return {f"p{p}_ms": None if not values else round(percentile(values, p) or 0.0, 3) for p in (50, 99)}


# --- client side (in the --procs child processes) ---------------------------------------------


class Out:
    """What one client process saw."""

    def __init__(self) -> None:
        self.errors: collections.Counter[str] = collections.Counter()
        self.start_ms: list[float] = []
        self.complete_ms: list[float] = []
        self.done: list[float] = []  # monotonic time of each successful complete
        self.started: list[str] = []  # guids whose start answered should_start=true
        self.completed: dict[str, float] = {}  # guid -> time its complete returned
        self.requests = 0


async def call(conn: Any, route: str, body: dict[str, Any], out: Out, wire: str) -> dict[str, Any]:
    """POST a BBS route on `wire`; the answer as the JSON shape (a protobuf answer decoded)."""
    out.requests += 1
    if wire == "protobuf":
        request, response = MESSAGES[route]
        status, payload = await conn.request("POST", route, codec.from_dict(body, request).SerializeToString(),
                                             content_type=PROTOBUF)
        answer = codec.to_dict(response.FromString(payload)) if status == 200 else {}
    else:
        status, payload = await conn.request("POST", route, orjson.dumps(body))
        answer = orjson.loads(payload) if status == 200 else {}
    if status != 200:
        answer = {"error": {"type": f"HTTP {status}"}}
    if "error" in answer:
        out.errors[f"{route} {answer['error'].get('type')}"] += 1
    return answer


async def desirer(conn: Any, guids: list[str], domain: str, definition: dict[str, Any], out: Out,
                  wire: str) -> None:
    while guids:
        guid = guids.pop()
        body = {"task_guid": guid, "domain": domain, "task_definition": definition}
        await call(conn, "/v1/tasks/desire.r2", body, out, wire)


async def cell(conn: Any, cell_id: str, domain: str, deadline: float, out: Out, wire: str) -> None:
    while now() < deadline:
        offer = {"domain": domain, "cell_id": cell_id, "count": 10, "timeout_ms": 1000}
        tasks = (await call(conn, "/v1/tasks/offers", offer, out, wire)).get("tasks")
        if not tasks:
            return  # nothing Pending for a whole long poll: the backlog is gone
        for task in tasks:
            guid, t0 = task["task_guid"], now()
            started = await call(conn, "/v1/tasks/start", {"task_guid": guid, "cell_id": cell_id}, out, wire)
            t1 = now()
            out.start_ms.append((t1 - t0) * 1000)
            if not started.get("should_start"):
                out.errors["start: should_start false"] += 1
                continue
            out.started.append(guid)
            done = {"task_guid": guid, "cell_id": cell_id, "failed": False, "failure_reason": "", "result": "ok"}
            answer = await call(conn, "/v1/tasks/complete", done, out, wire)
            t2 = now()
            out.complete_ms.append((t2 - t1) * 1000)
            if "error" not in answer:
                out.done.append(t2)
                out.completed[guid] = t2


def job(spec: dict[str, Any]) -> dict[str, Any]:
    """One client process's share of a phase, from spec["at"] (monotonic) on."""
    use_uvloop(True)

    async def go() -> Out:
        out, connect = Out(), connector(spec["client"], spec["url"])
        conns = [connect() for _ in range(spec["lanes"])]
        await asyncio.sleep(max(0.0, spec["at"] - now()))
        if spec["kind"] == "desire":
            work = [desirer(c, spec["guids"], spec["domain"], spec["definition"], out, spec["wire"]) for c in conns]
        else:
            work = [cell(c, f"cell-{spec['slot']}-{i}", spec["domain"], spec["at"] + 300, out, spec["wire"])
                    for i, c in enumerate(conns)]
        await asyncio.gather(*work)
        await asyncio.gather(*(c.aclose() for c in conns))
        return out

    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    out = asyncio.run(go()) if spec["lanes"] else Out()
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    return vars(out) | {"cpu_s": ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime, "end": now()}


def receiver_main(port: int) -> None:
    """The completion callbacks' receiver: records when each task's callback arrived, answers 200."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    arrivals: dict[str, list[float]] = collections.defaultdict(list)

    async def hook(request: Any) -> Response:
        arrivals[(await request.json())["task_guid"]].append(now())
        return Response(status_code=200)

    async def seen(request: Any) -> Response:
        return JSONResponse(arrivals)

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"]), Route("/seen", seen)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# --- the orchestrating process ----------------------------------------------------------------


class Run:
    """One fresh server process and the four measurements against it."""

    def __init__(self, args: argparse.Namespace, workdir: Path, pool: ProcessPoolExecutor, receiver: Any,
                 wire: str) -> None:
        self.args, self.pool, self.receiver_pid, self.port = args, pool, receiver[0], free_port()
        self.wire = wire
        self.receiver_url, self.url = receiver[1], f"http://127.0.0.1:{self.port}"
        self.errors: collections.Counter[str] = collections.Counter()
        db = args.database_url or f"sqlite:///{workdir}/podium.db"
        self.database = db.rsplit("/", 1)[1].split("?")[0] if is_postgres(db) else None
        profile = ["-m", "cProfile", "-o", args.cprofile] if args.cprofile else []
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [args.src, os.environ.get("PYTHONPATH")])))
        self.log_path = workdir / "server.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, *profile, "-m", "podium.cli", "server", "--host", "127.0.0.1", "--port", str(self.port),
             "--database-url", db, "--log-level", "warning"], stdout=self.log, stderr=subprocess.STDOUT,
            cwd=workdir, env=env)
        self.api = httpx.AsyncClient(base_url=self.url, timeout=60)

    async def ready(self) -> None:
        for _ in range(600):
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_path.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if (await self.api.get("/health")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
        raise RuntimeError("server did not start")

    async def stop(self) -> None:
        await self.api.aclose()
        self.proc.send_signal(signal.SIGINT)  # uvicorn re-raises the signal it stopped on: SIGINT lets cProfile write
        self.proc.wait(120)
        self.log.close()

    async def post(self, route: str, body: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = (await self.api.post(route, json=body)).json()
        return answer

    def mark(self) -> dict[str, Any]:
        """CPU counters now: the server, PostgreSQL (if used), the callback receiver, this process."""
        return {"t": now(), "server": proc_cpu(self.proc.pid) or 0.0, "machine": machine_cpu(),
                "pg": postgres_procs(self.database) if self.database else None,
                "receiver": proc_cpu(self.receiver_pid) or 0.0, "main": time.process_time()}

    def window(self, a: dict[str, Any], b: dict[str, Any], n: int, load_s: float, busy_s: float) -> dict[str, Any]:
        """CPU between two marks, per task and in % of one core over `busy_s` (the part of the window
        with work in it); clients = load processes + receiver + this process; other = the rest."""
        server, pg = b["server"] - a["server"], 0.0
        clients = load_s + b["receiver"] - a["receiver"] + b["main"] - a["main"]
        if a["pg"] is not None:
            d = postgres_delta(a["pg"], b["pg"])
            pg = d["backend"] + d["shared"]
        out = {}
        for who, cpu in (("server", server), ("clients", clients), *((("postgres", pg),) if a["pg"] else ())):
            out[f"{who}_cpu_ms_per_task"] = round(1000 * cpu / n, 3)
            out[f"{who}_pct_of_core"] = round(100 * cpu / busy_s, 1)
        ncpu = os.cpu_count() or 1
        machine = (b["machine"][0] - a["machine"][0]) / max(1, b["machine"][1] - a["machine"][1]) * ncpu
        out["other_pct_of_core"] = round(max(0.0, 100 * (machine - (server + clients + pg) / (b["t"] - a["t"]))), 1)
        return out

    async def load(self, kind: str, domain: str, lanes: int, guids: list[str] | None = None,
                   definition: Any = None) -> tuple[list[dict[str, Any]], float]:
        """A phase's desirers or cells, spread over the --procs pool and all starting at one moment;
        their results and that moment."""
        procs, at = self.args.procs, now() + 0.3
        specs = [{"kind": kind, "slot": i, "url": self.url, "client": self.args.client, "domain": domain,
                  "wire": self.wire,
                  "definition": definition, "lanes": lanes // procs + (i < lanes % procs), "at": at,
                  "guids": (guids or [])[i::procs]} for i in range(procs)]
        loop = asyncio.get_running_loop()
        results = await asyncio.gather(*(loop.run_in_executor(self.pool, job, s) for s in specs))
        for x in results:
            self.errors.update(x["errors"])
        return list(results), at

    async def desire(self, domain: str, guids: list[str], definition: dict[str, Any]) -> dict[str, Any]:
        a = self.mark()
        res, at = await self.load("desire", domain, self.args.desirers, guids, definition)
        busy = max(x["end"] for x in res) - at
        return self.window(a, self.mark(), len(guids), sum(x["cpu_s"] for x in res), busy) | {
            "per_s": round(len(guids) / busy, 1), "requests_per_s": round(sum(x["requests"] for x in res) / busy, 1)}

    async def latency(self) -> dict[str, Any]:
        """Dispatch latency on the idle server: one cell parked in an offers long poll, one task
        desired; from the desire being sent (and from its answer) to the offer arriving."""
        connect, sink, send, ret = connector(self.args.client, self.url), Out(), [], []
        parked, boss = connect(), connect()
        offer = {"domain": "probe", "cell_id": "probe-cell", "count": 1, "timeout_ms": 5000}

        async def timed_offer() -> tuple[dict[str, Any], float]:
            return await call(parked, "/v1/tasks/offers", offer, sink, self.wire), now()

        for i in range(self.args.latency_samples + 1):  # the first round only opens the connections
            poll = asyncio.ensure_future(timed_offer())
            await asyncio.sleep(0.005)  # let the long poll park
            guid = f"probe-{uuid.uuid4().hex}"
            body, t_send = {"task_guid": guid, "domain": "probe", "task_definition": DEFINITION}, now()
            await call(boss, "/v1/tasks/desire.r2", body, sink, self.wire)
            t_ret = now()
            got, t_got = await poll
            if i and got.get("tasks"):
                send.append((t_got - t_send) * 1000)
                ret.append((t_got - t_ret) * 1000)
            await call(parked, "/v1/tasks/start", {"task_guid": guid, "cell_id": "probe-cell"}, sink, self.wire)
            await call(parked, "/v1/tasks/complete", {"task_guid": guid, "cell_id": "probe-cell", "result": "ok"}, sink,
                       self.wire)
        await asyncio.gather(parked.aclose(), boss.aclose())
        self.errors.update(sink.errors)
        return pcts(send) | {f"from_answer_{k}": v for k, v in pcts(ret).items()} | {"samples": len(send)}

    async def go(self) -> dict[str, Any]:
        args, tag = self.args, uuid.uuid4().hex[:8]
        r: dict[str, Any] = {}
        await self.ready()
        await asyncio.sleep(1.0)
        r["idle_rss_mb"] = round(proc_status(self.proc.pid)["VmRSS"] / 1024, 1)
        r["dispatch"] = await self.latency()

        # 1-2. desire a backlog, then the cells drain it
        guids = [f"bench-{tag}-{i}" for i in range(args.tasks)]
        r["desire"] = await self.desire("bench", guids, DEFINITION)
        a = self.mark()
        res, at = await self.load("cells", "bench", args.cells)
        done = sorted(t for x in res for t in x["done"])
        counted = [t for t in done if t >= at + args.warmup]
        r["cells"] = self.window(a, self.mark(), args.tasks, sum(x["cpu_s"] for x in res), done[-1] - at) | {
            "per_s": round(len(counted) / (done[-1] - at - args.warmup), 1) if len(counted) > 1 else None,
            "per_s_whole_drain": round(len(done) / (done[-1] - at), 1),
            "requests_per_s": round(sum(x["requests"] for x in res) / (done[-1] - at), 1),
            "start": pcts([v for x in res for v in x["start_ms"]]),
            "complete": pcts([v for x in res for v in x["complete_ms"]])}
        started = [g for x in res for g in x["started"]]
        listed = (await self.post("/v1/tasks/list.r3", {"domain": "bench"}))["tasks"]
        r["verify"] = {"desired": args.tasks, "should_start_true": len(started),
                       "started_twice": len(started) - len(set(started)),
                       "never_started": len(set(guids) - set(started)),
                       "completed_ok": len(done), "listed": len(listed),
                       "listed_completed_ok": sum(t["state"] == "Completed" and not t["failed"] and t["result"] == "ok"
                                                  for t in listed)}

        # 3. completion callbacks: complete -> Resolving -> callback -> deleted
        cb = [f"cb-{tag}-{i}" for i in range(args.callback_tasks)]
        r["callback_desire"] = await self.desire("bench-cb", cb, dict(DEFINITION,
                                                                      completion_callback_url=f"{self.receiver_url}/hook"))
        a = self.mark()
        res, at = await self.load("cells", "bench-cb", args.cells)
        completed = {g: t for x in res for g, t in x["completed"].items()}
        async with httpx.AsyncClient(base_url=self.receiver_url) as rc:
            for _ in range(300):  # until every completed task's callback has arrived (30 s at most)
                seen = {g: v for g, v in (await rc.get("/seen")).json().items() if g.startswith(f"cb-{tag}-")}
                if len(seen) >= len(completed):
                    break
                await asyncio.sleep(0.1)
        for _ in range(100):  # until they are deleted (10 s at most)
            left = (await self.post("/v1/tasks/list.r3", {"domain": "bench-cb"}))["tasks"]
            if not left:
                break
            await asyncio.sleep(0.1)
        last = max((max(v) for v in seen.values()), default=at + 1)
        r["callback"] = self.window(a, self.mark(), len(cb), sum(x["cpu_s"] for x in res), last - at) | pcts(
            [(seen[g][0] - t) * 1000 for g, t in completed.items() if g in seen]) | {
            "per_s": round(len(seen) / (last - at), 1), "tasks": len(cb), "completed_ok": len(completed),
            "callbacks": len(seen), "callbacks_twice": sum(len(v) > 1 for v in seen.values()), "left_after": len(left)}
        st = proc_status(self.proc.pid)
        return r | {"peak_rss_mb": round(st["VmHWM"] / 1024, 1), "rss_after_mb": round(st["VmRSS"] / 1024, 1),
                    "server_cpu_ms_per_task": round(r["desire"]["server_cpu_ms_per_task"]
                                                    + r["cells"]["server_cpu_ms_per_task"], 3),
                    "errors": dict(self.errors)}


def flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        out |= flat(v, f"{prefix}{k}.") if isinstance(v, dict) and k != "errors" else {prefix + k: v}
    return out


def wait_quiet(seconds: float, pct: float) -> float:
    """Wait up to `seconds` for the machine's load (% of one core, over 1 s) to fall under `pct`."""
    until = now() + seconds
    while True:
        b0, t0 = machine_cpu()
        time.sleep(1)
        b1, t1 = machine_cpu()
        busy = 100 * (b1 - b0) / max(1, t1 - t0) * (os.cpu_count() or 1)
        if busy < pct or now() > until:
            return round(busy, 1)


TABLE = [  # (key of flat(run), label, unit)
    ("desire.per_s", "Desire rate (desire.r2 requests)", "/s"),
    ("cells.per_s", "Cell throughput (after warm-up)", "/s"),
    ("cells.requests_per_s", "  requests during the drain (offers, start, complete)", "/s"),
    ("cells.start.p50_ms", "  StartTask p50", "ms"), ("cells.start.p99_ms", "  StartTask p99", "ms"),
    ("cells.complete.p50_ms", "  CompleteTask p50", "ms"), ("cells.complete.p99_ms", "  CompleteTask p99", "ms"),
    ("callback.per_s", "Callback path: drain -> callback -> deleted", "/s"),
    ("callback.p50_ms", "  CompleteTask answered -> callback arrives p50", "ms"),
    ("callback.p99_ms", "  CompleteTask answered -> callback arrives p99", "ms"),
    ("dispatch.p50_ms", "Dispatch latency, idle (desire sent -> offer) p50", "ms"),
    ("dispatch.p99_ms", "Dispatch latency, idle (desire sent -> offer) p99", "ms"),
    ("idle_rss_mb", "Server RSS idle", "MB"), ("peak_rss_mb", "Server RSS peak (VmHWM)", "MB"),
    ("server_cpu_ms_per_task", "Server CPU per task (desire + offer/start/complete)", "ms"),
    ("desire.server_cpu_ms_per_task", "  per desire", "ms"),
    ("cells.server_cpu_ms_per_task", "  per offer/10 + start + complete", "ms"),
    ("callback.server_cpu_ms_per_task", "Server CPU per callback-path task (excl. desire)", "ms"),
    ("desire.server_pct_of_core", "Server CPU during desire", "% core"),
    ("cells.server_pct_of_core", "Server CPU during drain", "% core"),
    ("cells.clients_pct_of_core", "Client CPU during drain", "% core"),
    ("cells.clients_cpu_ms_per_task", "Client CPU per drained task", "ms"),
    ("desire.postgres_cpu_ms_per_task", "PostgreSQL CPU per desire", "ms"),
    ("cells.postgres_cpu_ms_per_task", "PostgreSQL CPU per drained task", "ms"),
    ("cells.other_pct_of_core", "Other processes' CPU during drain", "% core"),
]


async def amain(args: argparse.Namespace) -> int:
    ctx, port = mp.get_context("spawn"), free_port()
    wires = WIRES if args.wire == "both" else (args.wire,)
    runs: dict[str, list[dict[str, Any]]] = {wire: [] for wire in wires}
    receiver = ctx.Process(target=receiver_main, args=(port,), daemon=True)
    receiver.start()
    with ProcessPoolExecutor(args.procs, mp_context=ctx) as pool:
        list(pool.map(time.sleep, [0.5] * args.procs))  # start the client processes before measuring
        for i in range(args.runs):
            for wire in wires:  # alternated, so that a drift of the machine touches both alike
                quiet = wait_quiet(args.wait_quiet, args.quiet_pct)
                with tempfile.TemporaryDirectory() as tmp:
                    run = Run(args, Path(tmp), pool, (receiver.pid, f"http://127.0.0.1:{port}"), wire)
                    try:
                        runs[wire].append(await run.go() | {"other_load_before_pct_of_core": quiet,
                                                             "load_average": os.getloadavg()})
                    finally:
                        await run.stop()
                last = runs[wire][-1]
                print(f"run {i + 1} ({wire}): {last['verify']}; callbacks {last['callback']['callbacks']}/"
                      f"{args.callback_tasks}, left {last['callback']['left_after']}; errors {last['errors'] or 'none'}"
                      f"; load average {last['load_average'][0]:.2f}", file=sys.stderr, flush=True)
    receiver.terminate()
    summaries = {wire: summarize(found) for wire, found in runs.items()}
    dialect = "postgresql" if is_postgres(args.database_url) else "sqlite"
    print(f"Podium BBS benchmark: {dialect}, {args.tasks} tasks, {args.cells} cells, {args.desirers} desirers, "
          f"{args.procs} client process(es), {args.client} client, {'median of ' if args.runs > 1 else ''}"
          f"{args.runs} run(s) per wire")
    print(f"  {'':60} " + " ".join(f"{wire:>10}" for wire in wires))
    for key, label, unit in (row for row in TABLE if any(row[0] in s for s in summaries.values())):
        cells = " ".join(_figure(summaries[wire].get(key)) for wire in wires)
        print(f"  {label:60} {cells} {unit}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"machine": machine_info(), "source": source_info(args), "argv": sys.argv, "config": vars(args),
             "dialect": dialect, "summary": summaries, "runs": runs}, indent=2))
    return 0


def summarize(runs: list[dict[str, Any]]) -> dict[str, float]:
    flats = [flat(r) for r in runs]
    return {k: statistics.median(vs) for k in flats[0]
            if (vs := [f[k] for f in flats if isinstance(f.get(k), int | float)])}


def _figure(value: float | None) -> str:
    return f"{'-':>10}" if value is None else f"{value:>10,.{1 if abs(value) >= 100 else 2}f}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", help="database of the server [default: a fresh SQLite file in a temp dir]")
    p.add_argument("--src", help="put this directory first on the server's PYTHONPATH (a snapshot of a commit)")
    p.add_argument("--tasks", type=int, default=5000, help="backlog desired, then drained by the cells")
    p.add_argument("--desirers", type=int, default=8, help="desire.r2 calls in flight")
    p.add_argument("--cells", type=int, default=8, help="simulated cells")
    p.add_argument("--callback-tasks", type=int, default=1000, help="tasks of the callback phase")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds of the drain left out of its rate")
    p.add_argument("--latency-samples", type=int, default=200, help="sequential dispatch-latency samples")
    p.add_argument("--procs", type=int, default=1, help="client processes the desirers and cells are spread over")
    p.add_argument("--wire", choices=(*WIRES, "both"), default="both",
                   help="the BBS wire: upstream's protobuf messages, their JSON mapping, or both side by side")
    p.add_argument("--client", choices=("httpx", "raw"), default="httpx",
                   help="httpx.AsyncClient, or bench/run.py's minimal HTTP/1.1 client (less client CPU)")
    p.add_argument("--runs", type=int, default=1, help="runs, each on a fresh server; medians are printed")
    p.add_argument("--wait-quiet", type=float, default=0.0, help="before each run, wait up to this many seconds "
                   "for the machine's load to fall under --quiet-pct")
    p.add_argument("--quiet-pct", type=float, default=20.0, help="load counted as quiet, %% of one core")
    p.add_argument("--cprofile", metavar="FILE", help="run the server under cProfile, stats to FILE (slow)")
    p.add_argument("--json", help="write every figure to this file")
    args = p.parse_args()
    if (args.runs > 1 or args.wire == "both") and is_postgres(args.database_url):
        p.error("--runs > 1 or --wire both would reuse one PostgreSQL database: run once per fresh database")
    if min(args.tasks, args.callback_tasks, args.cells, args.desirers) < 1:
        p.error("--tasks, --callback-tasks, --cells and --desirers must be at least 1 (figures are per task)")
    return asyncio.run(amain(args))


if __name__ == "__main__":
    sys.exit(main())
