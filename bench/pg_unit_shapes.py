"""Two shapes of a worker's update on PostgreSQL, the same writes in both, by Podium's own store
code, measured one unit after another on one pooled connection (issue 18, item 4): what each costs
the client (the server process) and PostgreSQL in CPU, and how long it takes.

- `locked`: BEGIN; the execution locked and its live tasks read (`podium_locked_live`); the writes
  held (the task completed, the next task and its queue entry, the execution's counter); the next
  task of the type claimed and started in Python (`claim_rows`, `task_updates.claim`, its update
  held); COMMIT. Five round trips: a worker's update-v2 before `read_first`, and now whenever an
  update cannot go optimistically (an older server on the database, an execution updated by two
  units at once lately).
- `optimistic` (`Session.read_first`, `store/pg_unit.py`): the execution and its live tasks read
  without a lock or a transaction (`podium_live`), then the same writes, checked against the
  execution's revision, and the claim computed by the database (`store/claim_at_once.py`), in one
  statement. Two round trips.

A fresh database with Podium's schema, filled (through the store) with one execution and one task
in progress per unit to run, and as many queued tasks to claim; rounds alternate the shapes. CPU
is user + system from /proc: the client's own, and the PostgreSQL backend's of the connection.

    python bench/pg_unit_shapes.py [--admin-url postgresql://postgres@127.0.0.1:5432/postgres] [--rounds 6]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

import asyncpg
import uvloop
from podium_bench.observe import cpu_seconds

from podium.engine import task_updates
from podium.model.enums import TaskStatus, WorkflowStatus
from podium.model.records import Execution, QueueEntry, Task
from podium.store.claim_at_once import Figures
from podium.store.executions import insert_execution, locked_with_live_tasks, update_execution
from podium.store.postgres import PostgresStore
from podium.store.queue import enqueue
from podium.store.session import Session
from podium.store.tasks import claim_tasks, insert_tasks, update_tasks

OUTPUT = {"result": "done", "attempt": 0, "note": "x" * 80}
NOW = 5_000_000_000_000  # every queued task is visible


def _execution(wid: str) -> Execution:
    return Execution(workflow_id=wid, workflow_type="bench", version=1, status=WorkflowStatus.RUNNING,
                     def_hash="h", create_time=1000, update_time=1000, task_seq=1, input={"in": 1})


def _task(tid: str, wid: str, ref: str, task_type: str, status: TaskStatus, seq: int = 1) -> Task:
    return Task(task_id=tid, workflow_id=wid, workflow_type="bench", seq=seq, ref_name=ref, task_type=task_type,
                task_def_name=task_type, status=status, scheduled_time=1000, update_time=1000,
                response_timeout_seconds=3600, input={"n": 1},
                worker_id="w" if status == TaskStatus.IN_PROGRESS else None,
                workflow_task={"name": task_type, "taskReferenceName": ref, "type": "SIMPLE",
                               "inputParameters": {"n": "${workflow.input.in}"}})


async def fill(store: PostgresStore, units: int) -> list[tuple[str, str]]:
    """`units` executions, each with one task in progress (to complete), and as many queued tasks
    of type `bench_one` (to claim); the (execution, task) pairs to complete."""
    pairs = [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(units)]
    queued = [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(units)]
    for start in range(0, units, 500):
        async with store.unit() as s:
            for wid, _ in pairs[start:start + 500] + queued[start:start + 500]:
                await insert_execution(s, _execution(wid))
            await insert_tasks(s, [_task(tid, wid, "one", "bench_one", TaskStatus.IN_PROGRESS)
                                   for wid, tid in pairs[start:start + 500]])
            await insert_tasks(s, [_task(tid, wid, "one", "bench_one", TaskStatus.SCHEDULED)
                                   for wid, tid in queued[start:start + 500]])
            await enqueue(s, [QueueEntry(tid, wid, "bench_one", 0, 1000) for wid, tid in queued[start:start + 500]])
    async with store.pool.acquire() as conn:
        await conn.execute("ANALYZE")
    return pairs


async def _writes(s: Session, wid: str, tid: str) -> None:
    """The update's own writes: the task completed, the next one scheduled and queued, the execution moved."""
    ex, live = await locked_with_live_tasks(s, wid, ["one"])
    assert ex is not None
    [done] = [t for t in live if t.task_id == tid]
    done.status, done.executed, done.output, done.end_time = TaskStatus.COMPLETED, True, OUTPUT, NOW
    following = _task(str(uuid.uuid4()), wid, "two", "bench_two", TaskStatus.SCHEDULED, seq=2)
    await enqueue(s, [QueueEntry(following.task_id, wid, "bench_two", 0, NOW)])
    await update_tasks(s, [done])
    await insert_tasks(s, [following])
    ex.task_seq += 1
    ex.update_time = NOW
    await update_execution(s, ex)


async def locked(store: PostgresStore, wid: str, tid: str) -> None:
    async with store.unit() as s:
        await _writes(s, wid, tid)
        claimed = await claim_tasks(s, "bench_one", NOW, 1)
        for task in claimed:
            timer = task_updates.claim(task, "w", None, NOW)
            task.due_at = timer.due_at if timer is not None else None
        await update_tasks(s, claimed)
    assert claimed, "nothing claimed"


async def optimistic(store: PostgresStore, wid: str, tid: str) -> None:
    async with store.unit() as s:
        s.read_first()
        await _writes(s, wid, tid)
        claimed = await s.claim_at_once("bench_one", NOW, 1, "w", Figures("bench_one"), ())
    assert claimed, "nothing claimed (or the claim could not go at once)"


async def opened(url: str) -> PostgresStore:
    """The store on `url`, migrated, once it may read without the lock (its listener has heard that
    every server counts revisions)."""
    store = PostgresStore(url, pool_size=1)
    await store.migrate()
    await store.open()
    while not store.broadcaster.revisions_counted:
        await asyncio.sleep(0.05)
    return store


async def run(admin_url: str, rounds: int, units: int) -> dict[str, dict[str, list[float]]]:
    name = f"podium_bench_shapes_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    shapes = {"locked": locked, "optimistic": optimistic}
    got: dict[str, dict[str, list[float]]] = {s: {"client_us": [], "postgres_us": [], "wall_us": []} for s in shapes}
    try:
        store = await opened(url)
        try:
            pairs = await fill(store, 2 * rounds * len(shapes) * units + 2 * len(shapes))  # some batches go again
            for shape in shapes.values():  # warm: statements prepared, plans made
                for wid, tid in (pairs.pop(), pairs.pop()):
                    await shape(store, wid, tid)
            for r in range(rounds):
                for label in (("locked", "optimistic") if r % 2 == 0 else ("optimistic", "locked")):
                    while True:  # the pool replaces its connection every 50,000 statements: that batch goes again
                        batch, pairs = pairs[:units], pairs[units:]
                        async with store.pool.acquire() as conn:
                            backend = await conn.fetchval("SELECT pg_backend_pid()")
                        c0, p0, t0 = time.process_time(), cpu_seconds(backend), time.perf_counter()
                        for wid, tid in batch:
                            await shapes[label](store, wid, tid)
                        c1, t1 = time.process_time(), time.perf_counter()
                        try:
                            p1 = cpu_seconds(backend)
                        except RuntimeError:
                            continue
                        break
                    got[label]["client_us"].append((c1 - c0) / units * 1e6)
                    got[label]["postgres_us"].append((p1 - p0) / units * 1e6)
                    got[label]["wall_us"].append((t1 - t0) / units * 1e6)
        finally:
            await store.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return got


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--units", type=int, default=2000, help="units per round and shape")
    args = p.parse_args()
    got = uvloop.run(run(args.admin_url, args.rounds, args.units))
    for shape, figures in got.items():
        print(shape + ": " + "; ".join(
            f"{k} median {statistics.median(v):.0f} (rounds {', '.join(f'{x:.0f}' for x in v)})"
            for k, v in figures.items()))


if __name__ == "__main__":
    main()
