"""A unit's plain writes, held and sent together on PostgreSQL (`store.batched`): what may be held,
how a batch is spelled, and that a unit reads what it wrote and loses everything when a held write
fails. The contract part runs on both backends (SQLite holds nothing: the same results)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from podium.errors import StoreError
from podium.model.enums import TaskStatus
from podium.model.records import QueueEntry
from podium.store import Store
from podium.store.batched import Batch, Write, combined, holdable
from podium.store.executions import get_execution, insert_execution, update_execution
from podium.store.postgres import PgSession
from podium.store.queue import enqueue, queue_size
from podium.store.tasks import claim_tasks, get_task, insert_tasks, load_live_tasks, load_tasks, update_tasks
from tests.store.test_contract import execution, task


@pytest.mark.parametrize(("sql", "held"), [
    ("INSERT INTO tasks (task_id, seq) VALUES (?, ?)", Write("tasks", may_wait=False, insert=True)),
    ("UPDATE executions SET task_seq = ? WHERE workflow_id = ?", Write("executions", may_wait=True)),
    ("INSERT INTO queue (task_id) VALUES (?) ON CONFLICT (task_id) DO UPDATE SET priority = excluded.priority",
     Write("queue", may_wait=True, insert=True)),
    ("INSERT INTO audit_targets (target, at, audit_id) VALUES (?, ?, ?)",
     Write("audit_targets", may_wait=False, insert=True)),
    ("DELETE FROM queue WHERE task_id = ?", None),  # a delete is sent at once
    ("INSERT INTO tasks (task_id) SELECT ? WHERE NOT EXISTS (SELECT 1 FROM tasks)", None),  # reads
    ("UPDATE tasks SET status = ? WHERE task_id = ? RETURNING seq", None),  # reads back
    ("INSERT INTO timers (kind, key) VALUES (?, ?)", None),  # not a table of the hot path
    ("SELECT 1", None),
])
def test_what_may_be_held(sql: str, held: Write | None) -> None:
    assert holdable(sql) == held


def test_a_batch_is_one_statement_with_its_placeholders_numbered_in_order() -> None:
    statements = ("INSERT INTO tasks (a, b) VALUES (?, ?)", "UPDATE executions SET c = ? WHERE workflow_id = ?")
    assert combined(statements) == (
        "WITH w0 AS (INSERT INTO tasks (a, b) VALUES ($1, $2)), "
        "w1 AS (UPDATE executions SET c = $3 WHERE workflow_id = $4) SELECT 1")


def test_a_batch_takes_one_write_a_table_and_one_that_may_wait() -> None:
    batch = Batch()
    tasks, queue, executions = Write("tasks", False), Write("queue", True), Write("executions", True)
    batch.add(queue, True, "q", (1,))
    assert batch.takes(tasks, False)
    batch.add(tasks, False, "t", (2, 3))
    assert not batch.takes(tasks, False)  # a second write to a table could touch the first's row
    assert not batch.takes(executions, True)  # two that may wait, in an order PostgreSQL chooses
    assert batch.takes(executions, False)  # an execution the unit holds locked waits for no one
    assert batch.take() == (("q", "t"), [1, 2, 3])
    assert not batch and batch.takes(executions, True)


def test_a_batch_takes_writes_of_different_rows_of_one_table_by_their_keys() -> None:
    batch = Batch()
    update, insert = Write("tasks", True), Write("tasks", False, insert=True)
    batch.add(update, True, "u1", (1, "a"), "a")
    assert batch.takes(update, False, "b")  # another row, by its key
    assert not batch.takes(update, False, "a")  # the same row twice: which wins is not set
    assert batch.takes(insert, False, "c") and not batch.takes(insert, False, "a")
    assert not batch.takes(insert, False)  # a write that names no row could touch any
    batch.add(update, False, "u2", (2, "b"), "b")
    assert not batch.takes(update, True, "c")  # a second one that may wait
    batch.add(insert, False, "i1", (4,), "c")
    assert not batch.takes(insert, False, "d")  # a second new row: ids are generated in no set order
    batch.take()
    batch.add(insert, False, "i", (3,))
    assert not batch.takes(update, False, "d")  # the table is taken whole


async def test_postgres_sends_a_follow_claim_ahead_of_the_held_writes_and_its_task_with_them(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """update-v2 on PostgreSQL: the finished task and the execution wait; the claim of the next
    task goes ahead of them (it need not see them), and the claimed task's row goes with them."""
    if store.dialect != "postgresql":
        pytest.skip("SQLite runs statements in process: nothing to send")
    async with store.unit() as s:
        await insert_execution(s, execution("hw5"))
        await insert_tasks(s, [task("hw5-a", "hw5", status=TaskStatus.IN_PROGRESS), task("hw5-b", "hw5", ref="b")])
        await enqueue(s, [QueueEntry("hw5-b", "hw5", "t", 0, 0)])
    sent: list[str] = []
    call = PgSession._call

    async def counted(self: PgSession, method: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        sent.append(args[0] if args else method.__name__)
        return await call(self, method, *args)

    monkeypatch.setattr(PgSession, "_call", counted)
    async with store.unit() as s:
        ex = await get_execution(s, "hw5", lock=True)
        assert ex is not None
        [done] = [t for t in await load_live_tasks(s, "hw5") if t.task_id == "hw5-a"]
        done.status, ex.task_seq = TaskStatus.COMPLETED, 3
        await enqueue(s, [QueueEntry("hw5-c", "hw5", "u", 0, 0)])  # the next step, as persist writes it
        await insert_tasks(s, [task("hw5-c", "hw5", ref="c", seq=3)])
        await update_tasks(s, [done])
        await update_execution(s, ex)
        [claimed] = await claim_tasks(s, "t", 1, 1)
        claimed.status = TaskStatus.IN_PROGRESS
        await update_tasks(s, [claimed])
    # the lock read, the live read, the claim, and every write together: none of them waits but
    # the queue entry's upsert (the finished task's execution is locked; the claimed task's queue
    # entry is this unit's)
    assert len(sent) == 4, sent
    assert sent[2].startswith("WITH taken AS (DELETE FROM queue")
    assert sent[3].startswith("WITH w0 AS (INSERT INTO queue") and sent[3].count("UPDATE tasks") == 2
    assert "INSERT INTO tasks" in sent[3] and "UPDATE executions" in sent[3]
    async with store.reader() as s:
        assert sorted((t.task_id, t.status) for t in await load_tasks(s, "hw5")) == [
            ("hw5-a", TaskStatus.COMPLETED), ("hw5-b", TaskStatus.IN_PROGRESS), ("hw5-c", TaskStatus.SCHEDULED)]
        assert await queue_size(s, "u") == 1


async def test_a_claim_takes_a_task_its_own_unit_queued_onto_the_same_queue(store: Store) -> None:
    """update-v2 hands out the next step when it is of the finished one's type: on PostgreSQL
    the held entry goes before the claim, which otherwise goes ahead of the held writes."""
    async with store.unit() as s:
        await insert_execution(s, execution("hw6"))
    async with store.unit() as s:
        await get_execution(s, "hw6", lock=True)
        await enqueue(s, [QueueEntry("hw6-a", "hw6", "same", 0, 0)])
        await insert_tasks(s, [task("hw6-a", "hw6")])
        assert [t.task_id for t in await claim_tasks(s, "other", 1, 1)] == []
        assert [t.task_id for t in await claim_tasks(s, "same", 1, 1)] == ["hw6-a"]


async def test_a_claimed_task_that_its_unit_changed_is_read_as_changed(store: Store) -> None:
    async with store.unit() as s:
        await insert_execution(s, execution("hw7"))
        await insert_tasks(s, [task("hw7-a", "hw7")])
        await enqueue(s, [QueueEntry("hw7-a", "hw7", "q7", 0, 0)])
    async with store.unit() as s:
        [queued] = await load_live_tasks(s, "hw7")
        queued.input = {"changed": True}
        await update_tasks(s, [queued])  # held on PostgreSQL
        [claimed] = await claim_tasks(s, "q7", 1, 1)
        assert claimed.input == {"changed": True}


async def test_a_unit_reads_what_it_wrote_before_it_commits(store: Store) -> None:
    async with store.unit() as s:
        await insert_execution(s, execution("hw1"))
        await insert_tasks(s, [task("hw1-a", "hw1")])
        await enqueue(s, [QueueEntry("hw1-a", "hw1", "t", 0, 0)])
        assert [t.task_id for t in await load_live_tasks(s, "hw1")] == ["hw1-a"]
        assert await queue_size(s, "t") == 1
        ex = await get_execution(s, "hw1", lock=True)
        assert ex is not None
        ex.task_seq = 5
        await update_execution(s, ex)
        done = await get_task(s, "hw1-a")
        assert done is not None
        done.status = TaskStatus.COMPLETED
        await update_tasks(s, [done])
    async with store.reader() as s:
        stored = await get_execution(s, "hw1")
        stored_task = await get_task(s, "hw1-a")
    assert stored is not None and stored.task_seq == 5
    assert stored_task is not None and stored_task.status == TaskStatus.COMPLETED


async def test_a_held_write_that_fails_fails_its_unit_and_keeps_nothing_of_it(store: Store) -> None:
    async with store.unit() as s:
        await insert_execution(s, execution("hw2"))
        await insert_tasks(s, [task("hw2-a", "hw2")])
    with pytest.raises(StoreError):
        async with store.unit() as s:
            ex = await get_execution(s, "hw2", lock=True)
            assert ex is not None
            ex.task_seq = 9
            await update_execution(s, ex)
            await enqueue(s, [QueueEntry("hw2-b", "hw2", "t", 0, 0)])
            await insert_tasks(s, [task("hw2-a", "hw2", ref="b")])  # the same task id: refused
    async with store.reader() as s:
        ex = await get_execution(s, "hw2")
        assert ex is not None and ex.task_seq == 0
        assert await queue_size(s, "t") == 0
        assert [t.ref_name for t in await load_live_tasks(s, "hw2")] == ["a"]


async def test_postgres_sends_a_units_plain_writes_in_one_round_trip(store: Store,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    if store.dialect != "postgresql":
        pytest.skip("SQLite runs statements in process: nothing to send")
    sent: list[str] = []
    call = PgSession._call

    async def counted(self: PgSession, method: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        sent.append(args[0])
        return await call(self, method, *args)

    monkeypatch.setattr(PgSession, "_call", counted)
    async with store.unit() as s:
        await insert_execution(s, execution("hw3"))
        await insert_tasks(s, [task("hw3-a", "hw3")])
        await enqueue(s, [QueueEntry("hw3-a", "hw3", "t", 0, 0)])
    assert len(sent) == 1 and sent[0].startswith("WITH w0 AS (INSERT INTO executions")
    sent.clear()
    async with store.unit() as s:
        ex = await get_execution(s, "hw3", lock=True)
        assert ex is not None
        ex.task_seq = 2
        await update_execution(s, ex)
        await insert_tasks(s, [task("hw3-b", "hw3", ref="b"), task("hw3-c", "hw3", ref="c")])  # many rows: sent
    assert len(sent) == 3 and sent[0].startswith("SELECT") and sent[0].endswith("FOR UPDATE")
    # held, sent before the many; a locked unit's update of its execution counts a revision (store.pg_unit)
    assert sent[1] == "UPDATE executions SET revision = revision + 1, task_seq = $1 WHERE workflow_id = $2"
    assert sent[2].startswith("INSERT INTO tasks")


async def test_postgres_gives_a_units_connection_back_without_a_reset_round_trip(store: Store) -> None:
    """asyncpg's default reset (`pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`) was one
    more round trip for every unit; Podium leaves no session state on a pooled connection."""
    if store.dialect != "postgresql":
        pytest.skip("SQLite has no connection pool")
    pool = store.pool  # type: ignore[attr-defined]
    sent: list[str] = []
    async with pool.acquire() as conn:  # the pool opens connections as they are needed: one, now
        conn.add_query_logger(lambda record: sent.append(record.query))
    assert sent == []  # given back: nothing sent
    async with store.unit() as s:
        assert await get_execution(s, "none", lock=True) is None
    assert len(sent) == 3 and (sent[0], sent[2]) == ("BEGIN;", "COMMIT;"), sent
    sent.clear()
    with pytest.raises(RuntimeError):
        async with store.unit() as s:
            await get_execution(s, "none", lock=True)
            raise RuntimeError("the unit fails")
    assert (sent[0], sent[-1]) == ("BEGIN;", "ROLLBACK;"), sent  # a failed unit still rolls back
    async with pool.acquire() as conn:
        assert not conn.is_in_transaction()


async def test_postgres_sends_a_unit_of_held_writes_alone_without_begin_and_commit(store: Store) -> None:
    """A transaction begins with a unit's first round trip: a unit that has only held writes sends
    them as its one statement (a transaction of its own); a unit with nothing to send sends nothing;
    a unit whose one statement fails keeps nothing of it."""
    if store.dialect != "postgresql":
        pytest.skip("SQLite has no round trips")
    sent: list[str] = []
    async with store.pool.acquire() as conn:  # type: ignore[attr-defined]
        conn.add_query_logger(lambda record: sent.append(record.query))
    async with store.unit() as s:
        await insert_execution(s, execution("hw5"))
        await insert_tasks(s, [task("hw5-a", "hw5")])
    assert len(sent) == 1 and sent[0].startswith("WITH w0 AS (INSERT INTO executions"), sent
    sent.clear()
    async with store.unit():
        pass
    assert sent == []
    with pytest.raises(StoreError):
        async with store.unit() as s:
            await insert_execution(s, execution("hw6"))
            await insert_tasks(s, [task("hw5-a", "hw6")])  # a task id that is taken: the statement fails
    assert len(sent) == 1 and sent[0].startswith("WITH w0 AS (INSERT INTO executions"), sent
    async with store.reader() as s:
        assert await get_execution(s, "hw6") is None
        assert await get_execution(s, "hw5") is not None
