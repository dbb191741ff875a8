#!/usr/bin/env python
"""TNC-O process search at scale: `GET /api/processes` over a store of --processes (100,000)
processes on a fresh SQLite file, every filter of the lifecycle spec alone and the spec's
combinations (d.3 scenarios 6-13), with the SQLite query plan of each.

    .venv/bin/python bench/processes.py                          # one run: fill the store, then measure
    .venv/bin/python bench/processes.py --runs 3 --json out.json # three fresh stores, medians
    .venv/bin/python bench/processes.py --keep /tmp/p.db         # fill once, measure that file again later
    PYTHONPATH=/tmp/snap/src .venv/bin/python bench/processes.py # another copy of the code (bench and servers)

Filling the store (the HTTP API would take too long for 100,000 processes):
  1. A server on a fresh file creates the schema. The bench registers a task definition and one
     workflow definition per intent type (named like it: one SIMPLE task) and posts one intent of
     each type, so that each definition has its snapshot and a real execution row to copy.
  2. With the server stopped, the finished processes (Completed, Failed, Cancelled: all but
     --live-pct) are written with sqlite3 in large transactions: rows made by the store's own
     `execution_row` from `Execution` records shaped like the real ones (the intent body is the
     input), the four search attributes of each, and their full-text entries, written with the
     store's own indexer primitives.
  3. A server on that file takes the live processes as real intents (Pending: a task waiting in the
     queue), and a worker polls two thirds of those tasks (In Progress).
Data: --assemblies (2,000) assemblies, named `Assembly-00042-core` and the like, 10 of them
`...-edge`, 8 `BasicTestAssembly-...`, 8 `basicOther-...`, 8 `MyBasic-...`; 20 descriptor types;
7 intent types; creation times spread over 30 days; about 50 processes per assembly.

Measuring: each query is sent over HTTP (one keep-alive connection, bench/run.py's raw client), in
rounds (every query once per round, so that other load on the machine hits all of them alike),
after --warmup rounds; p50 / p95 / max per query and the number of results. Broad filters are sent
with `limit=100` (a user listing a broad set pages it); the selective ones also without a limit.
"SQL p50" is `podium.store.tnco.search` alone (its counts and its query, rows decoded), in this
process, on the server's file. The plan is `EXPLAIN QUERY PLAN` of the very SQL that function
builds for the query (and of the counts it runs first to choose it); a plan that reads `executions`
or `search_attrs` without an index is flagged. One run takes 2-3 minutes with the defaults (all
100,000 processes in one answer, a heavy query, take 5-6 s each time).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import random
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import orjson
from starlette.datastructures import QueryParams

from podium.api.tnco.routes import filters
from podium.model.enums import WorkflowStatus
from podium.model.records import Execution
from podium.service.tnco import INTENTS
from podium.store import tnco
from podium.store.rows import EXECUTION_COLUMNS, execution_row
from podium.store.search import executions_to_index
from podium.store.sqlite import SqliteSession, SqliteStore

sys.path.insert(0, str(Path(__file__).resolve().parent))
# bench/podium_bench, beside this file: bench/run.py's package
from podium_bench.client import RawConnection
from podium_bench.observe import machine_info
from podium_bench.provenance import package_versions
from podium_bench.util import free_port, percentile

TARGET_P95_MS = 100.0
DAY_MS = 86_400_000
TASK = "tnco_bench_step"
INTENT_TYPES = tuple(INTENTS.values())
INTENT_WEIGHTS = {"CreateAssembly": 8, "ChangeAssemblyState": 25, "DeleteAssembly": 6, "HealAssembly": 20,
                  "ScaleOutAssembly": 14, "ScaleInAssembly": 12, "UpgradeAssembly": 15}
#: Finished processes: (status, reason, weight); the live ones (--live-pct) come on top.
FINISHED = ((WorkflowStatus.COMPLETED, None, 85.0),
            (WorkflowStatus.FAILED, "Task step (tnco_bench_step) failed: resource manager answered 500", 6.0),
            (WorkflowStatus.TIMED_OUT, "Workflow timed out after 3600 seconds", 1.0),
            (WorkflowStatus.TERMINATED, "Cancelled by the operator", 5.0))
ROLES = ("core", "access", "transport", "ran", "mec")
KINDS = ("vcpe", "vfw", "vrouter", "sdwan", "upf", "amf", "smf", "ims", "dns", "lb")


@dataclass(frozen=True)
class Assembly:
    id: str
    name: str
    type: str


def assemblies(seed: int, n: int) -> list[Assembly]:
    rng = random.Random(seed)
    types = [f"assembly::t_{kind}::{major}.0" for kind in KINDS for major in (1, 2)]
    return [Assembly(str(uuid.UUID(int=rng.getrandbits(128), version=4)), assembly_name(i), rng.choice(types))
            for i in range(n)]


def assembly_name(i: int) -> str:
    special = {3: "BasicTestAssembly-{i:05d}", 5: "basicOther-{i:05d}", 9: "MyBasic-{i:05d}"}.get(i % 250)
    if special:
        return special.format(i=i)
    return f"Assembly-{i:05d}-{'edge' if i % 200 == 7 else ROLES[i % len(ROLES)]}"


def intent_body(a: Assembly, intent_type: str, rng: random.Random) -> dict[str, Any]:
    body: dict[str, Any] = {"assemblyId": a.id, "assemblyName": a.name, "descriptorName": a.type}
    if intent_type in ("CreateAssembly", "UpgradeAssembly"):
        body["properties"] = {"resourceManager": "brent", "deploymentLocation": f"dc-{rng.randrange(12)}",
                              "flavor": rng.choice(("small", "medium", "large"))}
    if intent_type in ("CreateAssembly", "ChangeAssemblyState"):
        body["intendedState"] = rng.choice(("Active", "Inactive")) if intent_type != "CreateAssembly" else "Active"
    if intent_type in ("ScaleOutAssembly", "ScaleInAssembly"):
        body["clusterName"] = f"workers-{rng.randrange(3)}"
    if intent_type == "HealAssembly":
        body["brokenComponentName"] = f"vnfc-{rng.randrange(8)}"
    return body


def uuid7(ms: int, rng: random.Random) -> str:
    """An id in Podium's layout (podium.ids) for a past creation time."""
    value = (ms & (2**48 - 1)) << 80 | 0x7 << 76 | rng.getrandbits(12) << 64 | 0x2 << 62 | rng.getrandbits(62)
    return str(uuid.UUID(int=value))


# --- filling the store ------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """What the real execution of one intent type tells: its definition version and snapshot."""

    version: int
    def_hash: str


def finished(assembly_list: list[Assembly], templates: dict[str, Template], n: int, now: int,
             seed: int) -> Iterator[tuple[Execution, dict[str, str]]]:
    """n finished processes, oldest first, created over the 30 days up to 7 hours before `now`."""
    rng = random.Random(seed + 1)
    statuses, weights = [(s, r) for s, r, _ in FINISHED], [w for *_, w in FINISHED]
    intents, intent_weights = list(INTENT_WEIGHTS), list(INTENT_WEIGHTS.values())
    for create in sorted(rng.randrange(now - 30 * DAY_MS, now - 7 * 3_600_000) for _ in range(n)):
        (status, reason), = rng.choices(statuses, weights)
        intent_type, = rng.choices(intents, intent_weights)
        a = rng.choice(assembly_list)
        never_started = status == WorkflowStatus.TERMINATED and rng.random() < 0.3
        started = 0 if never_started else create + rng.randrange(5, 2_000)
        end = (started or create) + min(int(rng.lognormvariate(math.log(60_000), 1.2)), 6 * 3_600_000)
        t = templates[intent_type]
        ex = Execution(workflow_id=uuid7(create, rng), workflow_type=intent_type, version=t.version, status=status,
                       def_hash=t.def_hash, create_time=create, update_time=end, end_time=end, started_time=started,
                       task_seq=1, input=intent_body(a, intent_type, rng), reason=reason,
                       created_by=f"intent:{intent_type}")
        yield ex, {"assemblyId": a.id, "assemblyName": a.name, "assemblyType": a.type, "intentType": intent_type}


def bulk_insert(path: Path, rows: Iterator[tuple[Execution, dict[str, str]]], batch: int = 20_000) -> int:
    """Rows and search attributes in transactions of `batch` executions; full-text entries left due."""
    insert_ex = f"INSERT INTO executions ({', '.join(EXECUTION_COLUMNS)}, indexed) " \
                f"VALUES ({', '.join('?' * len(EXECUTION_COLUMNS))}, 0)"
    insert_attr = "INSERT INTO search_attrs (workflow_id, name, value) VALUES (?, ?, ?)"
    conn, done = sqlite3.connect(path, isolation_level=None), 0
    conn.execute("PRAGMA synchronous = OFF")
    while chunk := list(itertools.islice(rows, batch)):
        conn.execute("BEGIN")
        conn.executemany(insert_ex, [execution_row(ex) for ex, _ in chunk])
        conn.executemany(insert_attr, [(ex.workflow_id, k, v) for ex, attrs in chunk for k, v in attrs.items()])
        conn.execute("COMMIT")
        done += len(chunk)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return done


async def write_fts(path: Path) -> int:
    """The full-text entries of every execution still due, as the server's indexer writes them."""
    store, done = SqliteStore(f"sqlite:///{path}"), 0
    await store.open()
    try:
        while True:
            async with store.unit() as s:
                entries = await executions_to_index(s, 10_000)
                await s.write_index(entries)
            done += len(entries)
            if not entries:
                return done
    finally:
        await store.close()


class Server:
    """A `podium server` process on the SQLite file `path`."""

    def __init__(self, path: Path, workdir: Path, name: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"{name}.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "podium.cli", "server", "--host", "127.0.0.1", "--port", str(self.port),
                 "--database-url", f"sqlite:///{path}", "--log-level", "warning"],
                stdout=log, stderr=subprocess.STDOUT, cwd=workdir)

    async def ready(self) -> None:
        async with httpx.AsyncClient(timeout=2) as c:
            for _ in range(600):
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited with {self.proc.returncode}:\n"
                                       f"{self.log_path.read_text()[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await c.get(f"{self.url}/health")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


async def register(api: httpx.AsyncClient) -> None:
    task = {"name": TASK, "retryCount": 0, "timeoutSeconds": 0, "responseTimeoutSeconds": 86_400,
            "ownerEmail": "bench@example.com"}
    (await api.post("/api/metadata/taskdefs", json=[task])).raise_for_status()
    for intent_type in INTENT_TYPES:
        wdef = {"name": intent_type, "version": 1, "schemaVersion": 2, "ownerEmail": "bench@example.com",
                "tasks": [{"name": TASK, "taskReferenceName": "step", "type": "SIMPLE",
                           "inputParameters": {"assembly": "${workflow.input.assemblyName}"}}]}
        (await api.post("/api/metadata/workflow", params={"overwrite": "true"}, json=wdef)).raise_for_status()


async def intents(url: str, bodies: list[tuple[str, dict[str, Any]]], lanes: int = 8) -> None:
    """Post intents, `lanes` in flight; each must answer 201."""
    names = {t: n for n, t in INTENTS.items()}
    queue = list(reversed(bodies))

    async def lane() -> None:
        conn = RawConnection(url)
        while queue:
            intent_type, body = queue.pop()
            status, payload = await conn.request("POST", f"/api/intent/{names[intent_type]}", orjson.dumps(body))
            if status != 201:
                raise RuntimeError(f"intent {intent_type} answered {status}: {payload[:300]!r}")
        await conn.aclose()

    await asyncio.gather(*(lane() for _ in range(lanes)))


async def start_tasks(url: str, n: int) -> int:
    """Poll n of the live processes' tasks (oldest first): those processes are then In Progress."""
    got = 0
    async with httpx.AsyncClient(base_url=url, timeout=30) as api:
        while got < n:
            r = await api.get(f"/api/tasks/poll/batch/{TASK}", params={"count": min(100, n - got), "timeout": 200})
            polled = r.json() if r.status_code == 200 else []
            if not polled:
                break
            got += len(polled)
    return got


def read_templates(path: Path) -> dict[str, Template]:
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT workflow_type, version, def_hash FROM executions").fetchall()
    conn.close()
    return {t: Template(v, h) for t, v, h in rows}


async def fill(path: Path, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The three steps of the module docstring; what was written and how long each step took."""
    rng, t0 = random.Random(args.seed + 2), time.monotonic()
    found = assemblies(args.seed, args.assemblies)
    intent_types, weights = list(INTENT_WEIGHTS), list(INTENT_WEIGHTS.values())
    server = Server(path, workdir, "server-schema")
    try:
        await server.ready()
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as api:
            await register(api)
        await intents(server.url, [(t, intent_body(rng.choice(found), t, rng)) for t in INTENT_TYPES], lanes=1)
    finally:
        server.stop()
    live = max(len(INTENT_TYPES), round(args.processes * args.live_pct / 100))
    now = int(time.time() * 1000)
    bulk = bulk_insert(path, finished(found, read_templates(path), args.processes - live, now, args.seed))
    t1 = time.monotonic()
    fts = await write_fts(path)
    t2 = time.monotonic()
    server = Server(path, workdir, "server-live")
    try:
        await server.ready()
        more = live - len(INTENT_TYPES)
        await intents(server.url, [(t, intent_body(rng.choice(found), t, rng))
                                   for t in rng.choices(intent_types, weights, k=more)])
        started = await start_tasks(server.url, round(live * 2 / 3))
    finally:
        server.stop()
    return {"finished_rows": bulk, "live_intents": live, "in_progress": started, "fts_entries": fts,
            "bulk_s": round(t1 - t0, 1), "fts_s": round(t2 - t1, 1), "live_s": round(time.monotonic() - t2, 1)}


# --- the queries ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """One row of the table: a filter, sent with `limit` (None: the filter's own), and also without
    any limit when `unlimited` is "rounds" (in every round) or "heavy" (--heavy-repeat times)."""

    name: str
    params: dict[str, str]
    limit: int | None = 100
    unlimited: str = "rounds"  # rounds, heavy or no

    def variants(self) -> list[tuple[str, str]]:
        out = []
        if self.limit is not None:
            out.append(("limited", qs(self.params | {"limit": str(self.limit)})))
        if self.unlimited != "no":
            out.append(("all", qs(self.params)))
        return out


def qs(params: dict[str, str]) -> str:
    return urlencode(params, quote_via=quote)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def queries(path: Path, args: argparse.Namespace) -> list[Query]:
    """The spec's filters, with values taken from the data (assembly 42, the 4th descriptor type, a
    3-hour window in the middle of the 30 days)."""
    found = assemblies(args.seed, args.assemblies)
    a = found[42]
    conn = sqlite3.connect(path)
    first, = conn.execute("SELECT MIN(create_time) FROM executions").fetchone()
    conn.close()
    window = (first + 15 * DAY_MS) // 3_600_000 * 3_600_000
    return [
        Query("assemblyId", {"assemblyId": a.id}),
        Query("assemblyName exact", {"assemblyName": a.name}),
        Query("assemblyName prefix `BasicTest*`", {"assemblyName": "BasicTest*"}),
        Query("assemblyName infix `*edge*`", {"assemblyName": "*edge*"}),
        Query("assemblyName broad prefix `Assembly-001*`", {"assemblyName": "Assembly-001*"}, unlimited="heavy"),
        Query("assemblyType", {"assemblyType": a.type}, unlimited="heavy"),
        Query("assemblyType with `*` (matches nothing)", {"assemblyType": "assembly::t_vcpe::*"}, unlimited="no"),
        Query("processStatuses=Failed", {"processStatuses": "Failed"}, unlimited="heavy"),
        Query("processStatuses=Completed,Failed", {"processStatuses": "Completed,Failed"}, unlimited="no"),
        Query("processStatuses=In Progress", {"processStatuses": "In Progress"}, unlimited="heavy"),
        Query("intentTypes=CreateAssembly,DeleteAssembly", {"intentTypes": "CreateAssembly,DeleteAssembly"},
              unlimited="no"),
        Query("startDateTime + endDateTime (3 h)", {"startDateTime": iso(window),
                                                    "endDateTime": iso(window + 3 * 3_600_000)}),
        Query("name `*edge*` + Completed,Failed + Heal,Upgrade",
              {"assemblyName": "*edge*", "processStatuses": "Completed,Failed",
               "intentTypes": "HealAssembly,UpgradeAssembly"}),
        Query("name `Assembly-00*` + Failed + ChangeAssemblyState",
              {"assemblyName": "Assembly-00*", "processStatuses": "Failed", "intentTypes": "ChangeAssemblyState"}),
        Query("no filter (limit=10; all: 100k objects)", {}, limit=10, unlimited="heavy"),
    ]


# --- measuring --------------------------------------------------------------------------------


@dataclass
class Samples:
    ms: list[float] = field(default_factory=list)
    results: int | None = None
    errors: int = 0

    def summary(self) -> dict[str, Any]:
        def p(q: float) -> float | None:
            value = percentile(self.ms, q)
            return None if value is None else round(value, 2)

        return {"results": self.results, "n": len(self.ms), "p50_ms": p(50), "p95_ms": p(95),
                "max_ms": round(max(self.ms), 2) if self.ms else None, "errors": self.errors}


async def timed(conn: RawConnection, query: str, samples: Samples, keep: bool) -> None:
    t0 = time.perf_counter()
    status, payload = await conn.request("GET", f"/api/processes?{query}" if query else "/api/processes")
    took = (time.perf_counter() - t0) * 1000
    if status != 200:
        samples.errors += 1
        return
    samples.results = len(orjson.loads(payload))
    if keep:
        samples.ms.append(took)


async def measure(url: str, qs_list: list[Query], args: argparse.Namespace) -> dict[tuple[str, str], Samples]:
    out: dict[tuple[str, str], Samples] = {}
    rounds = [(q.name, kind, s) for q in qs_list for kind, s in q.variants()
              if kind == "limited" or q.unlimited == "rounds"]
    heavy = [(q.name, "all", qs(q.params)) for q in qs_list if q.unlimited == "heavy"]
    conn = RawConnection(url)
    for i in range(args.warmup + args.repeat):
        for name, kind, query in rounds:
            await timed(conn, query, out.setdefault((name, kind), Samples()), keep=i >= args.warmup)
    for name, kind, query in heavy:
        for i in range(1 + args.heavy_repeat):
            await timed(conn, query, out.setdefault((name, kind), Samples()), keep=i >= 1)
    await conn.aclose()
    return out


class PlanSession(SqliteSession):
    """Records the query plan of every statement the store sends. The search itself (fetchall) is
    not run; the counts it runs first to choose its plan (fetchone) are, since they decide it."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__(conn)
        self.plans: list[tuple[str, list[str]]] = []
        self.counts: list[tuple[str, list[str]]] = []

    def _plan(self, sql: str, params: Sequence[Any]) -> tuple[str, list[str]]:
        rows = self.conn.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
        return sql, [plan_line(rows, r) for r in rows]

    async def fetchone(self, sql: str, params: Sequence[Any]) -> Sequence[Any] | None:
        self.counts.append(self._plan(sql, params))
        return await super().fetchone(sql, params)

    async def fetchall(self, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
        self.plans.append(self._plan(sql, params))
        return []


def plan_line(rows: list[Any], row: Any) -> str:
    """One EXPLAIN QUERY PLAN row, indented under its parent."""
    depth, parent = 0, row[1]
    by_id = {r[0]: r for r in rows}
    while parent in by_id:
        depth, parent = depth + 1, by_id[parent][1]
    return "  " * depth + str(row[3])


#: A plan line reading a whole table without an index (`a`: search_attrs in the store's EXISTS checks).
UNINDEXED = re.compile(r"^\s*SCAN (executions|search_attrs|a)\s*$")


async def plans(path: Path, qs_list: list[Query]) -> dict[tuple[str, str], dict[str, Any]]:
    conn = sqlite3.connect(path)
    out = {}
    for q in qs_list:
        for kind, query in q.variants():
            session = PlanSession(conn)
            await tnco.search(session, filters(QueryParams(query)))
            sql, lines = session.plans[0]
            counts = [line for _, count in session.counts for line in count]
            out[(q.name, kind)] = {"sql": sql, "plan": lines, "count_sql": [c for c, _ in session.counts],
                                   "count_plans": counts,
                                   "unindexed_scan": any(UNINDEXED.match(line) for line in lines + counts)}
    conn.close()
    return out


async def store_times(path: Path, qs_list: list[Query], repeat: int) -> dict[tuple[str, str], float]:
    """p50 of `podium.store.tnco.search` alone (SQL and row decoding), on the store's reader."""
    store, out = SqliteStore(f"sqlite:///{path}"), {}
    await store.open()
    try:
        for q in qs_list:
            for kind, query in q.variants():
                if kind == "all" and q.unlimited != "rounds":
                    continue
                f, ms = filters(QueryParams(query)), []
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    async with store.searcher() as s:
                        await tnco.search(s, f)
                    ms.append((time.perf_counter() - t0) * 1000)
                out[(q.name, kind)] = round(statistics.median(ms), 2)
    finally:
        await store.close()
    return out


async def one_run(args: argparse.Namespace, index: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="podium-processes-") as tmp:
        workdir = Path(tmp)
        path = Path(args.keep) if args.keep else workdir / "podium.db"
        filled: dict[str, Any] = {"reused": str(path)}
        if not (args.keep and path.exists()):
            log(f"run {index + 1}: filling {path} with {args.processes:,} processes")
            filled = await fill(path, workdir, args)
            log(f"run {index + 1}: filled {filled}")
        qs_list = queries(path, args)
        server = Server(path, workdir, "server")
        try:
            await server.ready()
            await asyncio.sleep(args.settle)
            log(f"run {index + 1}: measuring over HTTP")
            samples = await measure(server.url, qs_list, args)
            sql_ms = await store_times(path, qs_list, max(5, args.repeat // 2))
        finally:
            server.stop()
        planned = await plans(path, qs_list)
        counts = count_statuses(path)
    rows = {}
    for q in qs_list:
        for kind, query in q.variants():
            key = (q.name, kind)
            got = samples[key].summary() if key in samples else {}
            rows[f"{q.name} | {kind}"] = got | {"query": query, "sql_p50_ms": sql_ms.get(key),
                                                "heavy": kind == "all" and q.unlimited == "heavy"} | planned[key]
    return {"fill": filled, "statuses": counts, "queries": rows}


def count_statuses(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    out = {name: conn.execute(f"SELECT COUNT(*) FROM executions WHERE {sql}").fetchone()[0]
           for name, sql in tnco.STATUSES.items()}
    conn.close()
    return out


# --- report -----------------------------------------------------------------------------------


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def medians(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key, first in runs[0]["queries"].items():
        row = dict(first)
        for metric in ("p50_ms", "p95_ms", "max_ms", "sql_p50_ms"):
            values = [r["queries"][key].get(metric) for r in runs if r["queries"][key].get(metric) is not None]
            row[metric] = round(statistics.median(values), 2) if values else None
        row["unindexed_scan"] = any(r["queries"][key]["unindexed_scan"] for r in runs)
        out[key] = row
    return out


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"


def print_report(summary: dict[str, dict[str, Any]], args: argparse.Namespace, statuses: dict[str, int]) -> None:
    print(f"TNC-O process search: {args.processes:,} processes, {args.assemblies:,} assemblies, SQLite; "
          f"{args.repeat} timed requests per query ({args.heavy_repeat} for the heavy ones), "
          f"{'median of ' if args.runs > 1 else ''}{args.runs} run(s); statuses {statuses}")
    print(f"{'query':52} {'variant':8} {'results':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'SQL p50':>8}  "
          f"p95 < {TARGET_P95_MS:.0f} ms")
    for key, row in summary.items():
        name, kind = key.split(" | ")
        verdict = "-" if row["p95_ms"] is None else ("met" if row["p95_ms"] < TARGET_P95_MS else "NOT MET")
        if row["heavy"]:
            verdict += " (no limit, every match in one answer)"
        if row["unindexed_scan"]:
            verdict += "  UNINDEXED SCAN"
        print(f"{name:52} {kind:8} {fmt(row['results']):>8} {fmt(row['p50_ms']):>8} {fmt(row['p95_ms']):>8} "
              f"{fmt(row['max_ms']):>8} {fmt(row['sql_p50_ms']):>8}  {verdict}")
    print("\nQuery plans (EXPLAIN QUERY PLAN of the SQL podium.store.tnco.search builds):")
    for key, row in summary.items():
        print(f"- {key}: ?{row['query']}")
        for line in row["plan"]:
            print(f"    {line}")
        for line in row["count_plans"]:
            print(f"    (count first) {line.strip()}")


def source() -> dict[str, Any]:
    """Where `podium` came from (PYTHONPATH puts a snapshot first, for the servers too) and versions."""
    import podium

    return {"podium_imported_from": str(Path(podium.__file__).parent), "versions": package_versions()}


async def amain(args: argparse.Namespace) -> int:
    runs = []
    for i in range(args.runs):
        runs.append(await one_run(args, i))
    summary = medians(runs)
    print_report(summary, args, runs[-1]["statuses"])
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"machine": machine_info(), "source": source(), "argv": sys.argv, "config": vars(args),
             "summary": summary, "runs": runs}, indent=2))
    bad = [k for k, r in summary.items() if r["unindexed_scan"]]
    if bad:
        log(f"unindexed scans: {bad}")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--processes", type=int, default=100_000, help="processes in the store")
    p.add_argument("--assemblies", type=int, default=2_000, help="assemblies the processes work on")
    p.add_argument("--live-pct", type=float, default=3.0,
                   help="%% of processes that are live (started through the API: 1/3 Pending, 2/3 In Progress)")
    p.add_argument("--seed", type=int, default=42, help="seed of the data")
    p.add_argument("--repeat", type=int, default=50, help="timed requests per query")
    p.add_argument("--warmup", type=int, default=5, help="untimed rounds first")
    p.add_argument("--heavy-repeat", type=int, default=3,
                   help="timed requests of each heavy query (thousands of results, no limit)")
    p.add_argument("--settle", type=float, default=2.0, help="seconds between the server's start and measuring")
    p.add_argument("--runs", type=int, default=1, help="runs, each on a freshly filled store; medians are printed")
    p.add_argument("--keep", metavar="FILE", help="the SQLite file to fill (kept), or to reuse if it exists")
    p.add_argument("--json", help="write every figure and plan to this file")
    args = p.parse_args()
    if args.keep and args.runs > 1:
        p.error("--keep measures one file: use --runs 1")
    return asyncio.run(amain(args))


if __name__ == "__main__":
    sys.exit(main())
