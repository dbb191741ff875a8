"""An optimistic unit (`store.pg_unit`, PostgreSQL): it reads its execution without the lock and
writes in one statement that checks the execution's revision. Alone, its writes land in two round
trips, without BEGIN and COMMIT; when another unit moved the execution after its read (before its
writes went, or while they waited for that unit's lock), it writes nothing and says so
(`StaleRead`); a unit that must send something else first takes the lock then, if the execution
is still as read. A server reads without the lock only once it knows that every server on its database counts
revisions (`store.broadcast`); one that has heard an older server reads locked. On SQLite a unit
reads as it always does: the same results."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from podium.model.enums import TaskStatus
from podium.model.records import QueueEntry
from podium.store import Store
from podium.store.claim_at_once import Figures
from podium.store.executions import get_execution, insert_execution, locked_with_live_tasks, update_execution
from podium.store.queue import dequeue, enqueue, queue_size
from podium.store.session import Session, StaleRead
from podium.store.tasks import get_task, insert_tasks, update_tasks
from tests.store.test_contract import execution, task
from tests.waits import eventually


async def _seed(store: Store) -> None:
    if store.dialect == "postgresql":  # a server reads without the lock once it knows all others count revisions
        await eventually(lambda: store.broadcaster.revisions_counted, "the store to hear that all count revisions",  # type: ignore[attr-defined]
                         timeout=5)
    async with store.unit() as s:
        await insert_execution(s, execution("o1", task_seq=1))
        await insert_tasks(s, [task("o1-a", "o1", status=TaskStatus.IN_PROGRESS, worker_id="w")])


async def _complete_and_schedule(s: Session, step: str) -> None:
    """A worker's update as the engine writes it: its task ended, the next one queued, the execution moved."""
    ex, tasks = await locked_with_live_tasks(s, "o1", [])
    assert ex is not None and [t.task_id for t in tasks] == ["o1-a"]
    [done] = tasks
    done.status, done.executed = TaskStatus.COMPLETED, True
    await enqueue(s, [QueueEntry(f"o1-{step}", "o1", "t", 0, 0)])
    await update_tasks(s, [done])
    await insert_tasks(s, [task(f"o1-{step}", "o1", ref=step, seq=2)])
    ex.task_seq += 1
    await update_execution(s, ex)


async def _moved_elsewhere(store: Store, *, worker_id: str | None = None, task_seq: int | None = None) -> None:
    """Another unit, locked, moves execution o1: its task's worker, or its counter."""
    async with store.unit() as other:
        ex = await get_execution(other, "o1", lock=True)
        assert ex is not None
        if worker_id is not None:
            await update_tasks(other, [task("o1-a", "o1", status=TaskStatus.IN_PROGRESS, worker_id=worker_id)])
        if task_seq is not None:
            ex.task_seq = task_seq
            await update_execution(other, ex)


@pytest.fixture
async def sent(store: Store) -> AsyncIterator[list[str]]:
    """What the pool's one connection sends (PostgreSQL)."""
    queries: list[str] = []
    if store.dialect == "postgresql":
        async with store.pool.acquire() as conn:  # type: ignore[attr-defined]
            conn.add_query_logger(lambda record: queries.append(record.query))
    yield queries


async def _revision(store: Store) -> int:
    async with store.pool.acquire() as conn:  # type: ignore[attr-defined]
        return int(await conn.fetchval("SELECT revision FROM executions WHERE workflow_id = 'o1'"))


async def test_alone_its_writes_land_in_two_round_trips(store: Store, sent: list[str]) -> None:
    await _seed(store)
    sent.clear()
    async with store.unit() as s:
        s.read_first()
        await _complete_and_schedule(s, "b")
    unit = list(sent)
    async with store.reader() as s:
        ex = await get_execution(s, "o1")
        assert ex is not None and ex.task_seq == 2
        assert (await get_task(s, "o1-a")).status == TaskStatus.COMPLETED  # type: ignore[union-attr]
        assert (await get_task(s, "o1-b")) is not None
        assert await queue_size(s, "t") == 1
    if store.dialect == "postgresql":
        assert len(unit) == 2 and "BEGIN;" not in unit and "COMMIT;" not in unit, unit
        assert unit[1].startswith("WITH v AS (UPDATE executions SET revision = revision + 1, task_seq")
        assert await _revision(store) == 1


async def test_a_unit_that_moved_the_execution_after_the_read_makes_it_write_nothing(store: Store) -> None:
    if store.dialect != "postgresql":
        pytest.skip("SQLite units take turns: none reads without the lock")
    await _seed(store)
    with pytest.raises(StaleRead):
        async with store.unit() as s:
            s.read_first()
            ex, _ = await locked_with_live_tasks(s, "o1", [])
            await _moved_elsewhere(store, worker_id="w2")  # only a task, locked: the revision counts it
            assert ex is not None
            ex.task_seq = 7
            await update_execution(s, ex)
            await insert_tasks(s, [task("o1-x", "o1", ref="x", seq=2)])
    async with store.reader() as s:
        ex = await get_execution(s, "o1")
        assert ex is not None and ex.task_seq == 1
        assert await get_task(s, "o1-x") is None
        assert (await get_task(s, "o1-a")).worker_id == "w2"  # type: ignore[union-attr]


async def test_writes_that_waited_for_the_units_lock_find_the_execution_moved(store: Store) -> None:
    """The check waits for the lock the other unit holds, then finds the revision it counted."""
    if store.dialect != "postgresql":
        pytest.skip("SQLite units take turns: none reads without the lock")
    await _seed(store)
    holding, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with store.unit() as s:
            ex = await get_execution(s, "o1", lock=True)
            assert ex is not None
            holding.set()
            await release.wait()
            ex.task_seq = 5
            await update_execution(s, ex)

    async def optimist() -> None:
        async with store.unit() as s:
            s.read_first()
            await holding.wait()
            await _complete_and_schedule(s, "b")
            asyncio.get_running_loop().call_later(0.2, release.set)  # the check is waiting by then

    held = asyncio.create_task(holder())
    with pytest.raises(StaleRead):
        await optimist()
    await held
    async with store.reader() as s:
        ex = await get_execution(s, "o1")
        assert ex is not None and ex.task_seq == 5
        assert await get_task(s, "o1-b") is None
        assert await queue_size(s, "t") == 0
        assert (await get_task(s, "o1-a")).status == TaskStatus.IN_PROGRESS  # type: ignore[union-attr]


async def test_a_unit_that_sends_something_else_first_takes_the_lock_where_nothing_moved(
        store: Store, sent: list[str]) -> None:
    await _seed(store)
    sent.clear()
    async with store.unit() as s:
        s.read_first()
        ex, _ = await locked_with_live_tasks(s, "o1", [])
        await dequeue(s, ["o1-a"])  # a DELETE goes at once: the unit begins, locked
        assert ex is not None
        ex.task_seq = 3
        await update_execution(s, ex)
    unit = list(sent)
    async with store.reader() as s:
        assert (await get_execution(s, "o1")).task_seq == 3  # type: ignore[union-attr]
    if store.dialect == "postgresql":
        assert unit[1] == "BEGIN;" and unit[2].endswith("FOR UPDATE") and unit[-1] == "COMMIT;", unit
        assert await _revision(store) == 1


async def test_a_unit_that_sends_something_else_first_after_the_execution_moved_goes_again(store: Store) -> None:
    if store.dialect != "postgresql":
        pytest.skip("SQLite units take turns: none reads without the lock")
    await _seed(store)
    with pytest.raises(StaleRead):
        async with store.unit() as s:
            s.read_first()
            await locked_with_live_tasks(s, "o1", [])
            await _moved_elsewhere(store, task_seq=9)
            await dequeue(s, ["o1-a"])
    async with store.reader() as s:
        assert (await get_execution(s, "o1")).task_seq == 9  # type: ignore[union-attr]


async def test_a_locked_unit_that_writes_counts_a_revision_and_one_that_only_reads_does_not(store: Store) -> None:
    if store.dialect != "postgresql":
        pytest.skip("only PostgreSQL counts revisions")
    await _seed(store)
    async with store.unit() as s:
        assert await get_execution(s, "o1", lock=True) is not None
    assert await _revision(store) == 0
    async with store.unit() as s:
        assert await get_execution(s, "o1", lock=True) is not None
        await update_tasks(s, [task("o1-a", "o1", status=TaskStatus.IN_PROGRESS, worker_id="w3")])
    assert await _revision(store) == 1
    async with store.unit() as s:
        ex = await get_execution(s, "o1", lock=True)
        assert ex is not None
        ex.task_seq = 4
        await update_execution(s, ex)
        await update_tasks(s, [task("o1-a", "o1", status=TaskStatus.IN_PROGRESS, worker_id="w4")])
    assert await _revision(store) == 2  # one a unit



async def test_a_store_that_heard_a_server_counting_no_revisions_reads_locked(store: Store, sent: list[str]) -> None:
    """During a rolling upgrade an older server moves executions without counting revisions."""
    if store.dialect != "postgresql":
        pytest.skip("only PostgreSQL counts revisions")
    await _seed(store)
    store.broadcaster.received("an-older-server __here__")  # type: ignore[attr-defined]
    sent.clear()
    async with store.unit() as s:
        s.read_first()
        await _complete_and_schedule(s, "b")
    assert sent[0] == "BEGIN;" and sent[-1] == "COMMIT;", sent
    store.broadcaster.received("a-newer-server __here__ __revisions__")  # type: ignore[attr-defined]
    assert not store.broadcaster.revisions_counted  # type: ignore[attr-defined]


async def _queue_other(store: Store, **odd: object) -> None:
    """Another execution's task waiting on queue `t`, for the optimistic unit's worker to claim next."""
    async with store.unit() as s:
        await insert_execution(s, execution("o2"))
        await insert_tasks(s, [task("o2-a", "o2", **odd)])  # type: ignore[arg-type]
        await enqueue(s, [QueueEntry("o2-a", "o2", "t", 0, 0)])


async def _claim(s: Session) -> list[object] | None:
    return await s.claim_at_once("t", 5_000, 1, "w", Figures("t"), ())


async def test_its_writes_and_the_workers_next_claim_go_in_one_statement(store: Store, sent: list[str]) -> None:
    if store.dialect != "postgresql":
        pytest.skip("no such statement on SQLite")
    await _seed(store)
    await _queue_other(store)
    sent.clear()
    async with store.unit() as s:
        s.read_first()
        ex, [done] = await locked_with_live_tasks(s, "o1", [])
        assert ex is not None
        done.status, done.executed, ex.task_seq = TaskStatus.COMPLETED, True, 2
        await update_tasks(s, [done])
        await update_execution(s, ex)
        claimed = await _claim(s)
    unit = list(sent)
    assert claimed is not None and [row[0] for row in claimed] == ["o2-a"]  # type: ignore[index]
    assert len(unit) == 2 and unit[1].startswith("WITH v AS (UPDATE executions") and "picked AS" in unit[1], unit
    async with store.reader() as s:
        assert (await get_task(s, "o1-a")).status == TaskStatus.COMPLETED  # type: ignore[union-attr]
        assert (await get_task(s, "o2-a")).status == TaskStatus.IN_PROGRESS  # type: ignore[union-attr]
        assert await queue_size(s, "t") == 0


async def test_a_stale_unit_claims_nothing_with_its_writes(store: Store) -> None:
    if store.dialect != "postgresql":
        pytest.skip("no such statement on SQLite")
    await _seed(store)
    await _queue_other(store)
    with pytest.raises(StaleRead):
        async with store.unit() as s:
            s.read_first()
            _ex, [done] = await locked_with_live_tasks(s, "o1", [])
            await _moved_elsewhere(store, worker_id="w9")
            done.status, done.executed = TaskStatus.COMPLETED, True
            await update_tasks(s, [done])
            await _claim(s)
    async with store.reader() as s:
        assert (await get_task(s, "o1-a")).worker_id == "w9"  # type: ignore[union-attr]
        assert (await get_task(s, "o2-a")).status == TaskStatus.SCHEDULED  # type: ignore[union-attr]
        assert await queue_size(s, "t") == 1


async def test_writes_that_went_leave_a_claim_that_cannot_go_at_once_to_its_own_transaction(store: Store) -> None:
    """The head of the queue needs the claim done in Python: the writes went, checked; the claim
    that follows is a transaction of its own."""
    if store.dialect != "postgresql":
        pytest.skip("no such statement on SQLite")
    await _seed(store)
    await _queue_other(store, extra={"waitUntil": 1})
    async with store.unit() as s:
        s.read_first()
        _ex, [done] = await locked_with_live_tasks(s, "o1", [])
        done.status, done.executed = TaskStatus.COMPLETED, True
        await update_tasks(s, [done])
        assert await _claim(s) is None
        rows = await s.claim_rows("t", 5_000, 1, "task_id, status")
        assert [tuple(row) for row in rows] == [("o2-a", "SCHEDULED")]
        await update_tasks(s, [task("o2-a", "o2", status=TaskStatus.IN_PROGRESS, extra={"waitUntil": 1})])
    async with store.reader() as s:
        assert (await get_task(s, "o1-a")).status == TaskStatus.COMPLETED  # type: ignore[union-attr]
        assert (await get_task(s, "o2-a")).status == TaskStatus.IN_PROGRESS  # type: ignore[union-attr]
        assert await queue_size(s, "t") == 0


async def test_a_claim_with_its_writes_leaves_the_start_of_their_own_execution_to_after_the_commit(
        store: Store, sent: list[str]) -> None:
    """The claim in the checked statement takes a task of the execution the writes change (a fork's
    sibling, say): that execution's row is `v`'s to update, and a statement may not update a row
    twice, so its start is recorded after the commit, as a claim done in Python records it."""
    if store.dialect != "postgresql":
        pytest.skip("no such statement on SQLite")
    await _seed(store)
    async with store.unit() as s:
        await insert_tasks(s, [task("o1-b", "o1", ref="b", seq=2)])
        await enqueue(s, [QueueEntry("o1-b", "o1", "t", 0, 0)])
    sent.clear()
    async with store.unit() as s:
        s.read_first()
        ex, live = await locked_with_live_tasks(s, "o1", [])
        assert ex is not None and ex.started_time == 0
        [done] = [t for t in live if t.task_id == "o1-a"]
        done.status, done.executed = TaskStatus.COMPLETED, True
        await update_tasks(s, [done])
        claimed = await _claim(s)
        assert claimed is not None and [row[0] for row in claimed] == ["o1-b"]  # type: ignore[index]
        await s.mark_started(["o1"], 5_000)
        assert s.started == [(5_000, "o1")]  # type: ignore[attr-defined]
    # the read; the writes and the claim in one; the start, after the commit
    assert len(sent) == 3 and "marked AS" in sent[1] and sent[2].startswith("UPDATE executions SET started_time"), sent
    async with store.reader() as s:
        assert (await get_execution(s, "o1")).started_time == 5_000  # type: ignore[union-attr]
