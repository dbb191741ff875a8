#!/usr/bin/env python
"""What the audit trail costs per call, measured in process (no HTTP, no client):

- `middleware`: the audit middleware around an ASGI app that only routes (as the worker lane
  does, leaving the route in the scope) and answers, for a worker call (`POST /api/tasks`, not
  audited) and a read (`GET /api/workflow/{workflow_id}`), against the bare app;
- `unit`: one unit of work that writes one small row, on SQLite, with no request around it, inside
  a worker call's context (the hook looks and finds it is not audited), and inside an audited
  call's (the entry is written in the same transaction);
- `start`: workflow starts (`POST /api/workflow`, audited) through the real app in process, on
  SQLite, 16 at a time, with the audit trail and with it switched off (`may_be_audited` patched).

    python bench/audit.py                 # about 20 s
    python bench/audit.py --calls 200000 --units 20000 --starts 4000

Every figure is CPU time of this process (best of several rounds), so other load on the machine
disturbs it less than wall time would.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from podium.app import create_app
from podium.audit import middleware
from podium.audit.middleware import AuditMiddleware
from podium.ids import new_id
from podium.model.audit import AuditEntry, Outcome
from podium.service.clock import SystemClock
from podium.settings import Settings
from podium.store.pending import PENDING, Pending
from podium.store.sqlite import SqliteStore

ROUTES = {"/api/tasks": Route("/api/tasks", lambda r: None, methods=["POST"]),
          "/api/workflow/x": Route("/api/workflow/{workflow_id}", lambda r: None, methods=["GET"]),
          "/api/tasks/x/log": Route("/api/tasks/{task_id}/log", lambda r: None, methods=["POST"])}
START = {"type": "http.response.start", "status": 200, "headers": []}
BODY = {"type": "http.response.body", "body": b"ok"}


async def routed(scope: Scope, receive: Receive, send: Send) -> None:
    scope["route"] = ROUTES[scope["path"]]
    scope["path_params"] = {}
    await send(START)
    await send(BODY)


async def receive() -> Message:
    return {"type": "http.request", "body": b""}


async def send(message: Message) -> None:
    return None


async def per_call(app: Callable[[Scope, Receive, Send], Awaitable[None]], method: str, path: str,
                   calls: int) -> float:
    """CPU microseconds per call (best of three rounds)."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for _ in range(calls):
            await app({"type": "http", "method": method, "path": path, "headers": [],
                       "client": ("127.0.0.1", 1)}, receive, send)
        best = min(best, (time.process_time() - started) / calls * 1e6)
    return best


def entry() -> AuditEntry:
    return AuditEntry(new_id(), 0, None, "anonymous", "PUT /api/workflow/{workflow_id}/pause",
                      "/api/workflow/x/pause", ("x",), 200, Outcome.APPLIED, "127.0.0.1")


class Drafted(Pending):
    __slots__ = ("audited",)

    def __init__(self, audited: bool) -> None:
        super().__init__()
        self.audited = audited

    def draft(self) -> AuditEntry | None:
        return entry() if self.audited else None


async def per_unit(store: SqliteStore, units: int, audited: bool | None) -> float:
    token = PENDING.set(None)
    try:
        started = time.process_time()
        for n in range(units):
            if audited is not None:
                PENDING.set(Drafted(audited))  # a fresh request each time
            async with store.unit() as s:
                await s.execute("INSERT INTO kv (k, v) VALUES (?, ?)", (n, "v"))
        return (time.process_time() - started) / units * 1e6
    finally:
        PENDING.reset(token)


async def per_start(starts: int, audit: bool) -> float:
    """CPU microseconds per workflow start through the app, 16 at a time."""
    saved = middleware.may_be_audited
    if not audit:
        middleware.may_be_audited = lambda method, path, worker_calls=False: False
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = create_app(Settings(database_url=f"sqlite:///{Path(tmp) / 'starts.db'}"), loops=False)
            async with app.router.lifespan_context(app), httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
                await client.post("/api/metadata/taskdefs", json=[{"name": "t", "retryCount": 0}])
                await client.post("/api/metadata/workflow", json={"name": "w", "version": 1, "tasks": [
                    {"name": "t", "taskReferenceName": "t", "type": "SIMPLE"}]})
                started = time.process_time()
                for _ in range(starts // 16):
                    answers = await asyncio.gather(*(client.post("/api/workflow", json={"name": "w", "input": {}})
                                                     for _ in range(16)))
                    assert all(a.status_code == 200 for a in answers)
                return (time.process_time() - started) / (starts // 16 * 16) * 1e6
    finally:
        middleware.may_be_audited = saved


async def main(calls: int, units: int, starts: int) -> None:
    audited = AuditMiddleware(routed, clock=SystemClock())
    for method, path, what in (("POST", "/api/tasks", "worker call POST /api/tasks"),
                               ("GET", "/api/workflow/x", "read GET /api/workflow/{id}"),
                               ("POST", "/api/tasks/x/log", "worker call POST /api/tasks/{task_id}/log")):
        bare, wrapped = await per_call(routed, method, path, calls), await per_call(audited, method, path, calls)
        print(f"middleware, {what}: bare {bare:.2f} us, audited app {wrapped:.2f} us, +{wrapped - bare:.2f} us/call")
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(f"sqlite:///{Path(tmp) / 'bench.db'}")
        await store.open()
        await store.migrate()
        store.writer.execute("CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)")
        kinds = {"no request": None, "worker call (not audited)": False, "audited call (entry written)": True}
        results = dict.fromkeys(kinds, float("inf"))
        for _ in range(5):  # rounds, interleaved: best of each
            for name, audited in kinds.items():
                store.writer.execute("DELETE FROM kv")
                results[name] = min(results[name], await per_unit(store, units // 5, audited))
        await store.close()
    base = results["no request"]
    for name, took in results.items():
        print(f"unit of work, {name}: {took:.1f} us (+{took - base:.1f} us)")
    best = {True: float("inf"), False: float("inf")}
    for _ in range(3):
        for audit in (False, True):
            best[audit] = min(best[audit], await per_start(starts, audit))
    print(f"start, through the app: audit off {best[False]:.0f} us, on {best[True]:.0f} us "
          f"(+{best[True] - best[False]:.0f} us, {(best[True] / best[False] - 1) * 100:+.1f} %)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--starts", type=int, default=2_000)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.units, args.starts))
