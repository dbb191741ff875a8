"""How many SQL statements and commits the hot paths cost, on both backends (issue 18): a simple
task (its one-task workflow's start, its share of a batch poll, its update), a three-step workflow,
and a BBS task's life. The budgets are the counts of the code as it stands; a change that adds a
statement to a hot path fails here, and one that removes statements lowers the budget with it.

Statements are counted where the code issues them: the session's four primitives (`execute`,
`executemany` (one round trip however many rows), `fetchone`, `fetchall`), through which every
statement of a unit goes (an `executemany` with no rows is none); and units of work, each one
transaction on PostgreSQL (BEGIN and COMMIT around its statements, not counted as statements), one
savepoint of a group commit on SQLite (several units share a commit under load). On PostgreSQL the
round trips are counted too: a unit's plain writes wait and go together (`store.batched`).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from podium.service import tasks as tasks_service
from podium.store import postgres
from podium.store.definitions import get_snapshot
from podium.store.postgres import PgSession
from podium.store.session import Session
from podium.store.sqlite import SqliteSession
from tests.api.helpers import reading_first, register_task_defs, register_workflow, simple, wait_status

PRIMITIVES = ("execute", "executemany", "fetchone", "fetchall")
CLAIM_AT_ONCE = "claim at once: DELETE FROM queue WHERE task_id IN (SELECT"  # store.claim_at_once
MARK_STARTED = "mark started (after the unit): UPDATE executions SET started_time"
N = 20  # executions per measurement; counts are per execution (or per task), rounded up


@dataclass
class Counts:
    statements: int = 0
    units: int = 0
    round_trips: int = 0  # PostgreSQL: each statement or batch of held writes sent (BEGIN, COMMIT not counted)
    transactions: int = 0  # PostgreSQL: the units that sent BEGIN (and COMMIT): two round trips more each
    by_sql: dict[str, int] = field(default_factory=dict)


_counting: ContextVar[Counts | None] = ContextVar("counting", default=None)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch, client: httpx.AsyncClient) -> Callable[[], Any]:
    """`with counting() as counts:` counts the statements and units of work that the requests made
    inside the block cause (the app runs in the test's own task: background loops, started
    before, are not counted)."""

    def wrap(name: str, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        @functools.wraps(method)
        async def counted(self: Session, sql: str, *args: Any) -> Any:
            counts = _counting.get()
            if counts is not None and (name != "executemany" or args[0]):  # no rows: no statement
                counts.statements += 1
                counts.by_sql[sql[:70]] = counts.by_sql.get(sql[:70], 0) + 1
            return await method(self, sql, *args)
        return counted

    for cls in (SqliteSession, PgSession):
        for name in PRIMITIVES:
            monkeypatch.setattr(cls, name, wrap(name, getattr(cls, name)))
    monkeypatch.setattr(PgSession, "fetch_ahead", wrap("fetch_ahead", PgSession.fetch_ahead))  # a claim's read
    at_once = PgSession.claim_at_once

    async def counted_claim(self: PgSession, *args: Any) -> Any:
        _tally(CLAIM_AT_ONCE)  # its round trip is counted by `_call`
        return await at_once(self, *args)

    monkeypatch.setattr(PgSession, "claim_at_once", counted_claim)
    sent = PgSession._call

    async def counted_call(self: PgSession, method: Callable[..., Awaitable[Any]], *args: Any,
                           begin: bool = True) -> Any:
        counts = _counting.get()
        if counts is not None:
            counts.round_trips += 1
            if begin and self.transaction is not None and not self.begun:
                counts.transactions += 1
        return await sent(self, method, *args, begin=begin)

    monkeypatch.setattr(PgSession, "_call", counted_call)
    mark = postgres._mark_started

    async def counted_mark(conn: Any, started: list[tuple[int, str]]) -> None:  # after the unit, on its connection
        _tally(MARK_STARTED, round_trip=True)
        await mark(conn, started)

    monkeypatch.setattr(postgres, "_mark_started", counted_mark)
    store_class = type(client._transport.app.state.store)  # type: ignore[attr-defined]
    unit = store_class.unit

    def counted_unit(self: Any) -> Any:
        counts = _counting.get()
        if counts is not None:
            counts.units += 1
        return unit(self)

    monkeypatch.setattr(store_class, "unit", counted_unit)

    @contextmanager
    def block() -> Iterator[Counts]:
        counts = Counts()
        token = _counting.set(counts)
        try:
            yield counts
        finally:
            _counting.reset(token)

    return block


def _tally(name: str, *, round_trip: bool = False) -> None:
    """One statement counted under `name` (and its round trip, where `_call` does not see it)."""
    counts = _counting.get()
    if counts is not None:
        counts.statements += 1
        counts.round_trips += round_trip
        counts.by_sql[name] = counts.by_sql.get(name, 0) + 1


def per(total: int, n: int) -> float:
    return round(total / n, 2)


async def _poll_all(client: httpx.AsyncClient, task_type: str, n: int) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    while len(got) < n:
        r = await client.get(f"/api/tasks/poll/batch/{task_type}", params={"count": n - len(got), "timeout": 1000})
        assert r.status_code == 200, r.text
        got += r.json()
    return got


async def _next_millisecond() -> None:
    """Lets the clock's millisecond pass: a task claimed in the millisecond it was written keeps
    its update time, so its row changes in fewer columns than the others', and `update_tasks`
    writes it with a statement of its own (one more, by chance of timing)."""
    await asyncio.sleep(0.002)


async def _update_v2(client: httpx.AsyncClient, task: dict[str, Any]) -> None:
    r = await client.post("/api/tasks/update-v2", json={
        "workflowInstanceId": task["workflowInstanceId"], "taskId": task["taskId"], "status": "COMPLETED",
        "outputData": {"ok": True}})
    assert r.status_code < 300, r.text


async def test_a_simple_task_and_a_three_step_workflow(client: httpx.AsyncClient, counting: Any,
                                                       db_url: str) -> None:
    await register_task_defs(client, *({"name": f"sb_{k}", "retryCount": 0} for k in range(3)))
    await register_workflow(client, "sb_one", [simple("sb_0", "s0")])
    await register_workflow(client, "sb_three", [simple(f"sb_{k}", f"s{k}") for k in range(3)])
    backend = db_url.split(":")[0]
    await reading_first(client)

    with counting() as starts:
        ids = [(await client.post("/api/workflow", json={"name": "sb_one", "input": {"n": i}})).text for i in range(N)]
    await _next_millisecond()
    with counting() as polls:
        tasks = await _poll_all(client, "sb_0", N)
    with counting() as updates:
        for task in tasks:
            await _update_v2(client, task)
    for wid in ids:
        await wait_status(client, wid, "COMPLETED")
    simple_task = {
        "start": (per(starts.statements, N), per(starts.units, N), per(starts.round_trips, N)),
        "poll": (per(polls.statements, N), per(polls.units, N), per(polls.round_trips, N)),
        "update": (per(updates.statements, N), per(updates.units, N), per(updates.round_trips, N)),
    }

    with counting() as chain:
        ids = [(await client.post("/api/workflow", json={"name": "sb_three", "input": {}})).text for _ in range(N)]
        for k in range(3):
            await _next_millisecond()
            for task in await _poll_all(client, f"sb_{k}", N):
                await _update_v2(client, task)
    for wid in ids:
        await wait_status(client, wid, "COMPLETED")
    three_step = (per(chain.statements, N), per(chain.units, N), per(chain.round_trips, N))

    budget = BUDGETS[backend]
    assert simple_task["start"][0] <= budget["start"], (simple_task, starts.by_sql)
    assert simple_task["poll"][0] <= budget["poll"], (simple_task, polls.by_sql)
    assert simple_task["update"][0] <= budget["update"], (simple_task, updates.by_sql)
    assert three_step[0] <= budget["three_step"], (three_step, chain.by_sql)
    assert three_step[1] <= budget["three_step_units"], three_step
    if backend == "postgresql":  # a plain write waits to go with the unit's next (store.batched)
        assert simple_task["start"][2] <= budget["start_trips"], simple_task
        assert simple_task["update"][2] <= budget["update_trips"], simple_task
        assert three_step[2] <= budget["three_step_trips"], three_step
        # and with each unit's BEGIN and COMMIT: a claim alone, or an optimistic update, has none
        whole = {name: per(counts.round_trips + 2 * counts.transactions, N)
                 for name, counts in (("poll", polls), ("update", updates), ("three_step", chain))}
        assert whole["poll"] <= budget["poll_all_trips"], whole
        assert whole["update"] <= budget["update_all_trips"], whole
        assert whole["three_step"] <= budget["three_step_all_trips"], whole


def claims(counts: Counts) -> int:
    """The claims among the statements counted (PostgreSQL reads the claimed tasks in the same one)."""
    return sum(n for sql, n in counts.by_sql.items() if "DELETE FROM queue WHERE task_id IN (SELECT" in sql)


async def test_a_scheduled_task_goes_to_the_longest_waiting_poller_with_no_claim(
        client: httpx.AsyncClient, counting: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Four long polls wait on a queue; a start schedules one task: the start's own unit claims it
    for the poller that has waited longest, which answers with it. No poller claims again (before
    hand-offs one woke to claim; before that, all four did, three of them finding nothing)."""
    monkeypatch.setattr(tasks_service, "FALLBACK_POLL_S", 60.0)  # no look-again before the 5 s timeout
    await register_task_defs(client, {"name": "sb_wake", "retryCount": 0})
    await register_workflow(client, "sb_wake", [simple("sb_wake", "w")])
    waker = client._transport.app.state.services.executions.waker  # type: ignore[attr-defined]
    with counting() as polls:
        pollers = []
        for k in range(4):
            pollers.append(asyncio.create_task(client.get(
                "/api/tasks/poll/batch/sb_wake", params={"count": 1, "timeout": 5000, "workerid": f"w{k}"})))
            while waker.claimants("sb_wake") < k + 1:  # it finds the queue empty and waits (in this order)
                assert not any(poller.done() for poller in pollers)
                await asyncio.sleep(0.01)
        before = claims(polls)
        r = await client.post("/api/workflow", json={"name": "sb_wake", "input": {}})
        assert r.status_code == 200, r.text
        done, waiting = await asyncio.wait(pollers, return_when=asyncio.FIRST_COMPLETED)
        await asyncio.sleep(0.1)  # a woken poller would have claimed by now
        claimed_after = claims(polls) - before
    for poller in waiting:
        poller.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)
    assert done == {pollers[0]}
    [task] = pollers[0].result().json()
    assert task["workerId"] == "w0" and task["status"] == "IN_PROGRESS" and task["pollCount"] == 1
    assert claimed_after == 0, polls.by_sql
    stored = (await client.get(f"/api/tasks/{task['taskId']}")).json()
    assert stored["status"] == "IN_PROGRESS" and stored["workerId"] == "w0" and stored["startTime"] > 0
    assert (await client.get("/api/tasks/queue/sizes", params={"taskType": "sb_wake"})).json() == {"sb_wake": 0}


async def test_a_task_whose_claims_are_limited_is_queued_and_claimed_as_before(
        client: httpx.AsyncClient, counting: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A concurrency limit is counted at claim time: its tasks are never claimed as they are
    scheduled; the waiting poller is woken, finds the task queued and claims it (once)."""
    monkeypatch.setattr(tasks_service, "FALLBACK_POLL_S", 60.0)
    await register_task_defs(client, {"name": "sb_limited", "retryCount": 0, "concurrentExecLimit": 1})
    await register_workflow(client, "sb_limited", [simple("sb_limited", "w")])
    waker = client._transport.app.state.services.executions.waker  # type: ignore[attr-defined]
    with counting() as polls:
        poller = asyncio.create_task(client.get("/api/tasks/poll/batch/sb_limited",
                                                params={"count": 1, "timeout": 5000, "workerid": "w0"}))
        while waker.claimants("sb_limited") < 1:
            await asyncio.sleep(0.01)
        r = await client.post("/api/workflow", json={"name": "sb_limited", "input": {}})
        assert r.status_code == 200, r.text
        [task] = (await asyncio.wait_for(poller, 5)).json()
        assert claims(polls) == 1, polls.by_sql
    assert task["workerId"] == "w0" and task["status"] == "IN_PROGRESS"


async def test_a_poll_reads_its_queue_before_it_claims(
        client: httpx.AsyncClient, counting: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A poll of an empty queue, and one woken for a task that another claim took first (under
    load, mostly a worker's update-v2), find the queue empty with a read, not a claim, and wait
    (again): a task scheduled then is handed to the poll."""
    monkeypatch.setattr(tasks_service, "FALLBACK_POLL_S", 60.0)
    await register_task_defs(client, {"name": "sb_reread", "retryCount": 0})
    await register_workflow(client, "sb_reread", [simple("sb_reread", "w")])
    waker = client._transport.app.state.services.executions.waker  # type: ignore[attr-defined]

    def reads(counts: Counts) -> int:
        return sum(n for sql, n in counts.by_sql.items() if sql.startswith("SELECT 1 FROM queue"))

    with counting() as polls:
        poller = asyncio.create_task(client.get("/api/tasks/poll/batch/sb_reread",
                                                params={"count": 1, "timeout": 5000, "workerid": "w0"}))
        while waker.claimants("sb_reread") < 1:
            await asyncio.sleep(0.01)
        waker.notify("sb_reread")  # as the commit of a task that another claim has taken
        while reads(polls) < 2 or waker.claimants("sb_reread") < 1:
            assert not poller.done()
            await asyncio.sleep(0.01)
        assert claims(polls) == 0, polls.by_sql
        r = await client.post("/api/workflow", json={"name": "sb_reread", "input": {}})
        assert r.status_code == 200, r.text
        [task] = (await asyncio.wait_for(poller, 5)).json()
        assert claims(polls) == 0, polls.by_sql
    assert task["workerId"] == "w0" and task["status"] == "IN_PROGRESS"


async def test_a_bbs_task(client: httpx.AsyncClient, counting: Any, db_url: str) -> None:
    """Desired, started by a cell, completed, resolved and deleted: a BBS task's whole life."""
    async def ok(route: str, body: dict[str, Any]) -> None:
        r = await client.post(route, json=body)
        assert r.status_code == 200 and not r.json().get("error"), r.text

    await ok("/v1/cells/heartbeat", {"cell_id": "cell-1", "ttl_seconds": 3600})
    definition = {"rootfs": "docker:///busybox", "action": {"run": {"path": "sh", "args": ["-c", "true"]}}}
    with counting() as life:
        for i in range(N):
            guid = f"sb-{i}"
            await ok("/v1/tasks/desire.r2", {"task_guid": guid, "domain": "d", "task_definition": definition})
            await ok("/v1/tasks/start", {"task_guid": guid, "cell_id": "cell-1"})
            await ok("/v1/tasks/complete", {"task_guid": guid, "cell_id": "cell-1", "failed": False,
                                            "failure_reason": "", "result": "ok"})
            await ok("/v1/tasks/resolving", {"task_guid": guid})
            await ok("/v1/tasks/delete", {"task_guid": guid})
    per_task = (per(life.statements, N), per(life.units, N), per(life.round_trips, N))
    budget = BUDGETS[db_url.split(":")[0]]
    assert per_task[0] <= budget["bbs_task"], (per_task, life.by_sql)
    assert per_task[2] <= budget.get("bbs_task_trips", per_task[2]), per_task  # PostgreSQL's round trips


#: Measured at the commit that added this test; rounded up by a quarter of a statement, since the
#: PostgreSQL notifications of a request are sometimes sent with the next one's. A change that
#: removes statements lowers these with it.
BUDGETS: dict[str, dict[str, float]] = {
    # three steps: +0.1 (SQLite), +0.05 (PostgreSQL) since a poll reads its queue before it claims;
    # a BBS task 36.25 before a call finding its cell present for the TTL wrote nothing (2026-12-07)
    "sqlite": {"start": 5.25, "poll": 0.25, "update": 5.25, "three_step": 24.85, "three_step_units": 4.25,
               "bbs_task": 34.25},
    # without wake-up NOTIFYs since a server alone on its database sends none (store.broadcast);
    # an update 5.25 and three steps 24.55 before an update locked and read in one (2026-12-07)
    # an update 4.25 and three steps 21.8 before it read optimistically and claimed at once (2026-12-07)
    "postgresql": {"start": 5.25, "poll": 0.25, "update": 3.25, "three_step": 18.65, "three_step_units": 4.25,
                   "bbs_task": 34.25,
                   # round trips, BEGIN and COMMIT not counted: 5.1, 5, 24.55 and 34 before writes were held;
                   # three steps 15.55 before a claim read its tasks in the same statement (2026-12-07);
                   # an update 4.25 and three steps 15.5 before an update locked and read in one; an update
                   # 3 and three steps 10.55 before it read optimistically and claimed with its writes
                   "start_trips": 1.25, "update_trips": 2.25, "three_step_trips": 7.65, "bbs_task_trips": 25.25,
                   # with BEGIN and COMMIT: a poll 0.25, an update 5 and three steps 16.95 before a claim went
                   # alone (claim_at_once) and an update read optimistically (pg_unit) (2026-12-07)
                   "poll_all_trips": 0.35, "update_all_trips": 2.25, "three_step_all_trips": 7.75},
    # PostgreSQL counts the mark of a start after its claim's unit (`_mark_started`) since a claim at once
    # records it itself where it need not wait: three steps 18.45 statements and 7.55 round trips before
    # (batch polls of 20 here: one mark a poll; the peer loop's polls of 1-8 made one every chain)
}


async def test_a_snapshot_is_believed_stored_only_once_its_unit_committed(client: httpx.AsyncClient) -> None:
    """A start writes its definition's snapshot only while none is known to be stored; a unit that
    rolled back stores nothing, so the next start writes it again."""
    await register_workflow(client, "sb_snap", [simple("sb_snap", "s")])
    state = client._transport.app.state  # type: ignore[attr-defined]
    store, meta = state.store, state.services.metadata

    class Abandon(Exception):
        pass

    with pytest.raises(Abandon):
        async with store.unit() as s:
            found = await meta.registered(s, "sb_snap", None)
            raise Abandon
    async with store.reader() as s:
        assert await get_snapshot(s, found.def_hash) is None  # rolled back with its unit
    async with store.unit() as s:
        again = await meta.registered(s, "sb_snap", None)
    assert again.def_hash == found.def_hash
    async with store.reader() as s:
        assert await get_snapshot(s, found.def_hash) is not None
