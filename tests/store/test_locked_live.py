"""A worker's update locks its execution and reads its tasks in one go (`locked_with_live_tasks`;
one round trip on PostgreSQL, by migration 20's function): the same execution and tasks as the
lock and the read made one after the other, and, when it had to wait for the lock, the tasks as
the unit that held it left them (its read takes its snapshot once the lock is held)."""

from __future__ import annotations

import asyncio

from podium.model.enums import TaskStatus, WorkflowStatus
from podium.store import Store
from podium.store.executions import get_execution, insert_execution, locked_with_live_tasks
from podium.store.migrate import split_sql
from podium.store.tasks import insert_tasks, load_live_tasks, update_tasks
from tests.store.test_contract import execution, task


async def _seed(store: Store) -> None:
    async with store.unit() as s:
        await insert_execution(s, execution("w1", input={"k": 1}, task_seq=3))
        await insert_tasks(s, [task("t1", ref="a", status=TaskStatus.COMPLETED, executed=True, output={"v": 1}),
                               task("t2", ref="b", seq=2, status=TaskStatus.IN_PROGRESS),
                               task("t3", ref="c", seq=3, status=TaskStatus.COMPLETED, executed=True)])


async def test_the_execution_and_its_tasks_as_two_reads_would_find_them(store: Store) -> None:
    await _seed(store)
    async with store.unit() as s:
        ex, tasks = await locked_with_live_tasks(s, "w1", ["a"])
    async with store.unit() as s:
        assert ex == await get_execution(s, "w1", lock=True)
        assert sorted(t.task_id for t in tasks) == sorted(t.task_id for t in await load_live_tasks(s, "w1", ["a"]))
    assert ex is not None and ex.input == {"k": 1} and ex.status == WorkflowStatus.RUNNING
    assert {t.task_id: t.output for t in tasks} == {"t1": {"v": 1}, "t2": {}}  # the live one, and `a` settled
    async with store.unit() as s:
        assert await locked_with_live_tasks(s, "nope", ["a"]) == (None, [])


async def test_a_read_that_waited_for_the_lock_sees_what_its_holder_wrote(store: Store) -> None:
    """Only PostgreSQL has a lock to wait for; on SQLite units take turns, with the same result."""
    await _seed(store)
    holding, read = asyncio.Event(), None

    async def holder() -> None:
        async with store.unit() as s:
            ex = await get_execution(s, "w1", lock=True)
            assert ex is not None
            holding.set()
            await asyncio.sleep(0.3)  # the other unit waits for the lock meanwhile
            await update_tasks(s, [task("t2", ref="b", seq=2, status=TaskStatus.COMPLETED, executed=True)])
            await insert_tasks(s, [task("t4", ref="d", seq=4)])

    async def reader() -> None:
        nonlocal read
        await holding.wait()
        async with store.unit() as s:
            read = await locked_with_live_tasks(s, "w1", [])

    await asyncio.gather(holder(), reader())
    assert read is not None
    assert [t.task_id for t in read[1]] == ["t4"]  # t2 settled by the holder, t4 added by it


def test_a_functions_body_is_one_statement_of_a_migration() -> None:
    script = ("-- a note; with a semicolon\nCREATE TABLE a (x INT);\n"
              "CREATE FUNCTION f() RETURNS INT LANGUAGE plpgsql AS $$\nBEGIN\n  PERFORM 1; RETURN 1;\nEND $$;\n"
              "DROP INDEX b;")
    assert split_sql(script) == ["CREATE TABLE a (x INT)",
                                 "CREATE FUNCTION f() RETURNS INT LANGUAGE plpgsql AS $$\nBEGIN\n  PERFORM 1; "
                                 "RETURN 1;\nEND $$", "DROP INDEX b"]
