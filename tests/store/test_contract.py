"""What every Store adapter must do (the services rely on each of these)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from podium.errors import OUT_OF_RANGE, UNSTORABLE_TEXT, BadRequest, StoreError
from podium.model.enums import TaskStatus, WorkflowStatus
from podium.model.records import Execution, QueueEntry, Task, TaskLog, Timer
from podium.store import Store
from podium.store.definitions import get_workflow_def, put_workflow_def
from podium.store.executions import delete_execution, get_execution, insert_execution, update_execution
from podium.store.queue import enqueue, next_visible, queue_size, queue_sizes
from podium.store.schemas import delete_schemas, get_schema, latest_version, list_schemas, put_schema
from podium.store.search import INDEXED_FIELD_CHARS, INDEXED_PAYLOAD_CHARS, executions_to_index, skip_index
from podium.store.tasks import (
    add_logs,
    claim_tasks,
    find_pending_by_ref,
    get_logs,
    get_task,
    insert_tasks,
    load_live_tasks,
    load_tasks,
    load_tasks_by_ref,
)
from podium.store.timers import due_timers, next_timer_due, set_timers, take_timer


def execution(wid: str = "w1", **kw: object) -> Execution:
    base = dict(workflow_id=wid, workflow_type="flow", version=1, status=WorkflowStatus.RUNNING,
                def_hash="h", create_time=1000, update_time=1000)
    base.update(kw)
    return Execution(**base)  # type: ignore[arg-type]


def task(tid: str, wid: str = "w1", ref: str = "a", retry: int = 0, seq: int = 1, **kw: object) -> Task:
    base = dict(task_id=tid, workflow_id=wid, workflow_type="flow", seq=seq, ref_name=ref, task_type="t",
                task_def_name="t", status=TaskStatus.SCHEDULED, scheduled_time=1000, update_time=1000,
                retry_count=retry)
    base.update(kw)
    return Task(**base)  # type: ignore[arg-type]


async def test_execution_round_trip_keeps_every_field(store: Store) -> None:
    ex = execution(correlation_id="c", priority=7, input={"a": [1, {"b": None}]}, variables={"v": 1},
                   task_to_domain={"*": "d"}, failed_ref_names=["x"], reason="why", last_retried_time=5)
    async with store.unit() as s:
        await insert_execution(s, ex)
    async with store.reader() as s:
        assert await get_execution(s, "w1") == ex


async def test_task_round_trip_and_live_set(store: Store) -> None:
    t1 = task("t1", input={"x": 1}, workflow_task={"name": "t"})
    t2 = task("t2", ref="b", seq=2, executed=True, status=TaskStatus.COMPLETED)
    async with store.unit() as s:
        await insert_execution(s, execution())
        await insert_tasks(s, [t1, t2])
    async with store.reader() as s:
        assert await get_task(s, "t1") == t1
        assert [t.task_id for t in await load_live_tasks(s, "w1")] == ["t1"]
        assert [t.task_id for t in await load_tasks(s, "w1")] == ["t1", "t2"]
        assert [t.task_id for t in await load_tasks_by_ref(s, "w1", ["b"])] == ["t2"]


async def test_same_ref_and_attempt_cannot_be_scheduled_twice(store: Store) -> None:
    async with store.unit() as s:
        await insert_tasks(s, [task("t1")])
    with pytest.raises(StoreError):
        async with store.unit() as s:
            await insert_tasks(s, [task("t2")])
    async with store.reader() as s:
        assert await get_task(s, "t2") is None


async def test_a_failed_unit_leaves_nothing_behind(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.unit() as s:
            await insert_execution(s, execution())
            raise RuntimeError("boom")
    async with store.reader() as s:
        assert await get_execution(s, "w1") is None


async def test_claim_follows_priority_then_visibility_and_takes_each_entry_once(store: Store) -> None:
    entries = [QueueEntry("low", "w", "q", 0, 100), QueueEntry("high", "w", "q", 9, 200),
               QueueEntry("later", "w", "q", 9, 5000), QueueEntry("other", "w", "q2", 0, 100)]
    async with store.unit() as s:
        await enqueue(s, entries)
    async with store.unit() as s:
        assert await s.claim_queue("q", 1000, 10) == ["high", "low"]
    async with store.unit() as s:
        assert await s.claim_queue("q", 1000, 10) == []
        assert await s.claim_queue("q", 6000, 10) == ["later"]
    async with store.reader() as s:
        assert await queue_sizes(s) == {"q2": 1}


async def test_a_claim_reads_the_tasks_it_takes_in_claim_order(store: Store) -> None:
    async with store.unit() as s:
        await insert_tasks(s, [task("low", seq=1), task("high", seq=2, ref="b"), task("later", seq=3, ref="c")])
        await enqueue(s, [QueueEntry("low", "w1", "q", 0, 100), QueueEntry("high", "w1", "q", 9, 200),
                          QueueEntry("later", "w1", "q", 9, 5000), QueueEntry("gone", "w1", "q", 5, 100)])
    async with store.unit() as s:  # an entry whose task is gone is taken, and reads nothing
        assert [t.task_id for t in await claim_tasks(s, "q", 1000, 10)] == ["high", "low"]
    async with store.unit() as s:
        assert await claim_tasks(s, "q", 1000, 10) == []
        [later] = await claim_tasks(s, "q", 6000, 10)
        assert later.task_id == "later" and later.ref_name == "c" and later.status == TaskStatus.SCHEDULED
    async with store.reader() as s:
        assert await queue_sizes(s) == {}


async def test_the_live_tasks_read_with_the_settled_attempts_of_some_references(store: Store) -> None:
    async with store.unit() as s:
        await insert_tasks(s, [task("a0", ref="a", executed=True, status=TaskStatus.FAILED),
                               task("a1", ref="a", retry=1, seq=2),
                               task("b0", ref="b", seq=3, executed=True, status=TaskStatus.COMPLETED),
                               task("c0", ref="c", seq=4, executed=True, status=TaskStatus.COMPLETED),
                               task("d0", ref="d", seq=5)])
    async with store.reader() as s:
        assert sorted(t.task_id for t in await load_live_tasks(s, "w1")) == ["a1", "d0"]
        assert sorted(t.task_id for t in await load_live_tasks(s, "w1", ("a", "b"))) == ["a0", "a1", "b0", "d0"]


async def test_enqueue_is_an_upsert(store: Store) -> None:
    async with store.unit() as s:
        await enqueue(s, [QueueEntry("t", "w", "q", 0, 100)])
        await enqueue(s, [QueueEntry("t", "w", "q", 0, 900)])
    async with store.reader() as s:
        assert await queue_size(s, "q") == 1
        assert await next_visible(s, "q") == 900


async def test_a_timer_fires_once_and_not_after_being_rearmed(store: Store) -> None:
    async with store.unit() as s:
        await set_timers(s, [Timer("workflow", "w1", "w1", 100), Timer("workflow", "w2", "w2", 200)])
    async with store.reader() as s:
        due = await due_timers(s, 150, 10)
    assert due == [Timer("workflow", "w1", "w1", 100)]
    async with store.unit() as s:
        await set_timers(s, [Timer("workflow", "w1", "w1", 500)])  # re-armed meanwhile
        assert not await take_timer(s, due[0])
        assert await take_timer(s, Timer("workflow", "w2", "w2", 200))
        assert not await take_timer(s, Timer("workflow", "w2", "w2", 200))
    async with store.reader() as s:
        assert await next_timer_due(s) == 500


async def test_a_task_timer_lives_on_its_row_and_fires_once(store: Store) -> None:
    async with store.unit() as s:
        await insert_tasks(s, [task("t1", due_at=300), task("t2", ref="b", seq=2)])
        await set_timers(s, [Timer("workflow", "w1", "w1", 900)])
    async with store.reader() as s:
        assert await due_timers(s, 1000, 10) == [Timer("task", "t1", "w1", 300), Timer("workflow", "w1", "w1", 900)]
        assert await next_timer_due(s) == 300
    async with store.unit() as s:
        assert not await take_timer(s, Timer("task", "t1", "w1", 299))  # moved since it was read
        assert await take_timer(s, Timer("task", "t1", "w1", 300))
        assert not await take_timer(s, Timer("task", "t1", "w1", 300))
    async with store.reader() as s:
        assert (await get_task(s, "t1")).due_at is None  # type: ignore[union-attr]
        assert await due_timers(s, 1000, 10) == [Timer("workflow", "w1", "w1", 900)]


async def test_delete_execution_removes_everything_of_it(store: Store) -> None:
    async with store.unit() as s:
        await insert_execution(s, execution())
        await insert_tasks(s, [task("t1")])
        await enqueue(s, [QueueEntry("t1", "w1", "q", 0, 0)])
        await set_timers(s, [Timer("workflow", "w1", "w1", 0)])
        await add_logs(s, [TaskLog("t1", "hello", 1)])
        await s.write_index(await executions_to_index(s, 10))
    async with store.unit() as s:
        await delete_execution(s, "w1")
    async with store.reader() as s:
        assert await get_execution(s, "w1") is None
        assert await get_task(s, "t1") is None
        assert await queue_sizes(s) == {}
        assert await due_timers(s, 10**12, 10) == []
        assert await get_logs(s, "t1") == []


async def test_full_text_entries_are_written_once_until_marked_again(store: Store) -> None:
    async with store.unit() as s:
        await insert_execution(s, execution(input={"city": "Lisbon"}))
        pending = await executions_to_index(s, 10)
        assert len(pending) == 1 and "Lisbon" in pending[0][1]
        await s.write_index(pending)
        assert await executions_to_index(s, 10) == []
        await update_execution(s, execution(output={"city": "Porto"}), reindex=True)
        assert "Porto" in (await executions_to_index(s, 10))[0][1]


async def test_one_unit_at_a_time_takes_full_text_entries(store: Store) -> None:
    """A second indexer (a free-text search indexes first) waits for the one in flight instead of
    skipping its rows: here the first rolls back, and the second must still find the entry due."""
    async with store.unit() as s:
        await insert_execution(s, execution(input={"city": "Lisbon"}))
    taken = asyncio.Event()

    async def first() -> None:
        with contextlib.suppress(RuntimeError):
            async with store.unit() as s:
                assert len(await executions_to_index(s, 10)) == 1
                taken.set()
                await asyncio.sleep(0.2)
                raise RuntimeError("this indexer fails before writing")

    async def second() -> list[tuple[int, str]]:
        await taken.wait()
        async with store.unit() as s:
            return await executions_to_index(s, 10)

    _, due = await asyncio.gather(first(), second())
    assert len(due) == 1 and "Lisbon" in due[0][1]


async def test_full_text_entries_are_capped_and_a_skipped_one_waits_for_a_change(store: Store) -> None:
    words = " ".join(f"w{i}" for i in range(INDEXED_PAYLOAD_CHARS))  # far past the cap
    async with store.unit() as s:
        await insert_execution(s, execution(input={"text": words}, correlation_id="c" * 5000))
        await insert_execution(s, execution("w2", input={"city": "Lisbon"}))
        (row_id, text), (_, other) = await executions_to_index(s, 10)
        assert len(text) < 2 * INDEXED_PAYLOAD_CHARS + INDEXED_FIELD_CHARS + 100
        assert text.split()[-1].rstrip('"') in words.split()  # no word cut in two
        assert "Lisbon" in other
        assert await skip_index(s, row_id) == "w1"
        assert [e[1] for e in await executions_to_index(s, 10)] == [other]
        await update_execution(s, execution(output={"city": "Porto"}), reindex=True)  # changed: due again
        assert len(await executions_to_index(s, 10)) == 2


async def test_definitions_upsert_and_latest_version(store: Store) -> None:
    async with store.unit() as s:
        await put_workflow_def(s, "f", 1, {"name": "f", "version": 1}, 10)
        await put_workflow_def(s, "f", 2, {"name": "f", "version": 2}, 20)
        await put_workflow_def(s, "f", 1, {"name": "f", "version": 1, "description": "x"}, 30)
    async with store.reader() as s:
        latest = await get_workflow_def(s, "f", None)
        first = await get_workflow_def(s, "f", 1)
    assert latest is not None and latest[0]["version"] == 2
    assert first == ({"name": "f", "version": 1, "description": "x"}, 10, 30)


async def test_schemas_by_name_and_version(store: Store) -> None:
    async with store.unit() as s:
        await put_schema(s, "s", 1, {"name": "s", "version": 1}, 10)
        await put_schema(s, "s", 2, {"name": "s", "version": 2}, 20)
        await put_schema(s, "s", 1, {"name": "s", "version": 1, "data": {}}, 30)
        await put_schema(s, "t", 1, {"name": "t", "version": 1}, 40)
    async with store.reader() as s:
        assert await latest_version(s, "s") == 2 and await latest_version(s, "none") is None
        assert await get_schema(s, "s", 1) == ({"name": "s", "version": 1, "data": {}}, 10, 30)
        assert (await get_schema(s, "s", None) or ({},))[0]["version"] == 2
        assert [(b["name"], b["version"]) for b, _, _ in await list_schemas(s)] == [("s", 1), ("s", 2), ("t", 1)]
    async with store.unit() as s:
        assert await delete_schemas(s, "s", 2) == 1
        assert await delete_schemas(s, "s", None) == 1
        assert await delete_schemas(s, "s", None) == 0
    async with store.reader() as s:
        assert [b["name"] for b, _, _ in await list_schemas(s)] == ["t"]


async def test_pending_by_ref_matches_loop_iterations_not_lookalikes(store: Store) -> None:
    async with store.unit() as s:
        await insert_tasks(s, [task("x", ref="a_b", seq=1), task("y", ref="a__2", seq=2)])
    async with store.reader() as s:
        found = await find_pending_by_ref(s, "w1", "a")
    assert found is not None and found.task_id == "y"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("priority", 2**63, OUT_OF_RANGE),
    ("version", -(2**63) - 1, OUT_OF_RANGE),
    ("correlation_id", "\ud800", UNSTORABLE_TEXT),
])
async def test_a_value_no_column_can_hold_is_a_bad_request_that_does_not_quote_the_driver(
        store: Store, field: str, value: object, message: str) -> None:
    """Translated at the store boundary (the API refuses these earlier; this is the layer below)."""
    with pytest.raises(BadRequest) as caught:
        async with store.unit() as s:
            await insert_execution(s, execution(**{field: value}))
    assert caught.value.message == message
    assert isinstance(caught.value.__cause__, Exception)  # the driver's error, kept for the logs
    async with store.reader() as s:
        assert await get_execution(s, "w1") is None


def test_a_store_error_tells_clients_nothing_of_the_driver() -> None:
    error = StoreError("database error: relation \"executions\" does not exist")
    assert "relation" not in error.public_message and error.status == 500
