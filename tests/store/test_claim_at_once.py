"""A claim in one statement (`store.claim_at_once`, PostgreSQL): each claimed task as the claim
done in Python leaves it (`engine.task_updates.claim`: status, times, worker, poll count, callback
delay, and its timer at `timeouts.next_deadline`), over the deadline rules a plain task can meet;
a queue whose head holds a task outside the plain case is left as it was, for the claim done in
Python; on SQLite there is no such statement."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import orjson
import pytest

from podium.engine import task_updates
from podium.model.definitions import TaskDef
from podium.model.enums import TaskStatus
from podium.model.records import QueueEntry, Task
from podium.store import Store
from podium.store.claim_at_once import FIRST_KEYS, Figures
from podium.store.executions import get_execution, insert_execution
from podium.store.queue import enqueue, queue_size
from podium.store.rows import TASK_FIELDS, task_from, task_row
from podium.store.tasks import get_task, insert_tasks
from tests.store.test_contract import execution, task

NOW = 5_000_000


def _tdef(**kw: Any) -> TaskDef:
    return TaskDef.model_validate({"name": "t", **kw})


#: Task shapes a claim meets: a first claim, a claim after a callback (started before, polled before,
#: a callback delay to reset), a start delay, a response timeout, a first scheduled time.
SHAPES: list[dict[str, Any]] = [
    {},
    {"response_timeout_seconds": 30},
    {"start_time": 4_000_000, "poll_count": 3, "callback_after_seconds": 20, "response_timeout_seconds": 10},
    {"start_delay_seconds": 7, "first_scheduled_time": 4_900_000, "response_timeout_seconds": 600},
    {"first_scheduled_time": 1_000, "start_time": 2_000, "poll_count": 1, "correlation_id": 'q"u\\o'},
    {"workflow_type": 'we"ird\\name', "input": {"nested": {"poll_count": 99}}, "reason": "x"},
    {"workflow_type": 'a","poll_count":5,"x', "poll_count": 2, "response_timeout_seconds": 1},
]
#: Registered definitions: none; timeouts that act; alert-only ones whose deadlines are past or not.
DEFINITIONS: list[TaskDef | None] = [
    None,
    _tdef(timeoutSeconds=60, responseTimeoutSeconds=30),
    _tdef(totalTimeoutSeconds=100, timeoutSeconds=3600, responseTimeoutSeconds=5),
    _tdef(totalTimeoutSeconds=100, timeoutSeconds=1, timeoutPolicy="ALERT_ONLY", responseTimeoutSeconds=5),
    _tdef(totalTimeoutSeconds=100_000, timeoutSeconds=1_000_000, timeoutPolicy="ALERT_ONLY",
          responseTimeoutSeconds=5),
]


async def _seed(store: Store, tasks: list[Task]) -> None:
    async with store.unit() as s:
        await insert_execution(s, execution())
        await insert_tasks(s, tasks)
        await enqueue(s, [QueueEntry(t.task_id, t.workflow_id, "t", 0, 1000 + n) for n, t in enumerate(tasks)])


async def _claim(store: Store, tdef: TaskDef | None, limit: int, observed: tuple[str, ...] = ()) -> list[Task] | None:
    async with store.unit() as s:
        rows = await s.claim_at_once("t", NOW, limit, "worker-1", Figures.of("t", tdef), observed)
    return None if rows is None else [task_from(row) for row in rows]


def _as_python_claims(expected: Task, tdef: TaskDef | None) -> Task:
    """The task read before the claim, claimed here as `Tasks._claim_in` does in Python."""
    timer = task_updates.claim(expected, "worker-1", tdef, NOW)
    expected.due_at = timer.due_at if timer is not None else None
    return expected


@pytest.mark.parametrize("tdef", DEFINITIONS, ids=["none", "acting", "total-past", "alert-past", "alert-ahead"])
async def test_each_claimed_task_is_as_the_claim_in_python_leaves_it(store: Store, tdef: TaskDef | None) -> None:
    if store.dialect != "postgresql":
        async with store.unit() as s:
            assert await s.claim_at_once("t", NOW, 1, "w", Figures.of("t", tdef), ()) is None
        return
    shapes = [task(f"t{n}", ref=f"r{n}", seq=n + 1, **shape) for n, shape in enumerate(SHAPES)]
    for shape in shapes:
        assert shape.workflow_task == {} and not shape.extra
    await _seed(store, shapes)
    async with store.reader() as s:
        stored = [await get_task(s, t.task_id) for t in shapes]
    claimed = await _claim(store, tdef, len(shapes))
    assert claimed is not None
    assert [t.task_id for t in claimed] == [t.task_id for t in shapes]  # claim order: age
    for got, before in zip(claimed, stored, strict=True):
        assert before is not None
        expected = _as_python_claims(before, tdef)
        assert task_row(got) == task_row(expected), _differences(got, expected)
    async with store.reader() as s:
        assert await queue_size(s, "t") == 0
        assert [await get_task(s, t.task_id) for t in shapes] == claimed  # as written


def _differences(got: Task, expected: Task) -> dict[str, tuple[Any, Any]]:
    """Field by field, for the failure's message."""
    names = [*TASK_FIELDS.split(", "), "poll_count", "callback_after_seconds", "workflow_type", "correlation_id"]
    return {n: (getattr(got, n, None), getattr(expected, n, None)) for n in names
            if n not in ("input", "output", "state", "loop_ref", "fork")
            and getattr(got, n, None) != getattr(expected, n, None)}


@pytest.mark.parametrize("odd", [
    {"extra": {"waitUntil": NOW + 10}},
    {"workflow_task": {"name": "t", "asyncComplete": True}},
    {"workflow_task": {"name": "t", "taskDefinition": {"name": "t", "timeoutSeconds": 5}}},
    {"task_def_name": "other"},
], ids=["extra", "async-complete", "embedded-definition", "another-definition"])
async def test_a_task_outside_the_plain_case_at_the_head_leaves_the_queue_to_the_claim_in_python(
        store: Store, odd: dict[str, Any]) -> None:
    if store.dialect != "postgresql":
        pytest.skip("no such statement on SQLite")
    await _seed(store, [task("t1", ref="a", **odd), task("t2", ref="b", seq=2)])
    assert await _claim(store, None, 2) is None
    assert await _claim(store, None, 2) is None  # nothing was taken: the same head again
    async with store.reader() as s:
        assert await queue_size(s, "t") == 2
        for tid in ("t1", "t2"):
            assert (await get_task(s, tid)).status == TaskStatus.SCHEDULED  # type: ignore[union-attr]


async def test_a_state_text_that_does_not_start_as_written_leaves_the_queue_to_the_claim_in_python(
        store: Store) -> None:
    if store.dialect != "postgresql":
        pytest.skip("no such statement on SQLite")
    await _seed(store, [task("t1")])
    for odd in ('{"poll_count":1}', '{"workflow_type":"flow","poll_count":x,"first_scheduled_time":0}', "{}"):
        async with store.pool.acquire() as conn:  # type: ignore[attr-defined]
            await conn.execute("UPDATE tasks SET state = $1 WHERE task_id = 't1'", odd)
        assert await _claim(store, None, 1) is None
    async with store.reader() as s:
        assert await queue_size(s, "t") == 1


async def test_a_workflow_type_a_dialect_follows_is_left_to_the_claim_in_python(store: Store) -> None:
    if store.dialect != "postgresql":
        pytest.skip("no such statement on SQLite")
    await _seed(store, [task("t1", workflow_type="bbs-task")])
    assert await _claim(store, None, 1, observed=("bbs-task",)) is None
    claimed = await _claim(store, None, 1, observed=("another",))
    assert claimed is not None and [t.task_id for t in claimed] == ["t1"]


async def test_an_entry_whose_task_is_not_scheduled_goes_and_is_not_handed_out(store: Store) -> None:
    if store.dialect != "postgresql":
        pytest.skip("no such statement on SQLite")
    await _seed(store, [task("t1", status=TaskStatus.CANCELED, executed=True), task("t2", ref="b", seq=2)])
    claimed = await _claim(store, None, 5)
    assert claimed is not None and [t.task_id for t in claimed] == ["t2"]
    async with store.reader() as s:
        assert await queue_size(s, "t") == 0
        assert (await get_task(s, "t1")).status == TaskStatus.CANCELED  # type: ignore[union-attr]


def test_the_state_text_of_any_task_starts_as_the_statement_reads_it() -> None:
    """The statement reads its figures at the start of `state` as `task_row` writes it: the workflow
    type, then `FIRST_KEYS`, each with an integer."""
    keys = ",".join(f'"{key}":(-?[0-9]+)' for key in FIRST_KEYS)
    pattern = re.compile(r'\{"workflow_type":("(?:[^"\\]|\\.)*"),' + keys + ",")
    for shape in [*SHAPES, {"extra": {"held": True}, "workflow_task": {"name": "x", "asyncComplete": True}}]:
        state = task_row(task("t", **shape))[TASK_FIELDS.split(", ").index("state")]
        found = pattern.match(state)
        assert found is not None, state
        assert found.group(1) == orjson.dumps(shape.get("workflow_type", "flow")).decode()
        assert int(found.group(2)) == shape.get("poll_count", 0)
        assert int(found.group(6)) == shape.get("response_timeout_seconds", 0)


async def test_it_records_when_each_executions_work_started_where_it_need_not_wait(store: Store) -> None:
    """A claimed task's execution gets its `started_time` in the claim's own statement; one whose
    row another transaction holds is not waited for (the claim holds queue and task rows that its
    holder may be waiting for) but left to the mark after the claim commits; a start already
    recorded stays as it was."""
    if store.dialect != "postgresql":
        pytest.skip("no such statement on SQLite")
    async with store.unit() as s:
        for wid, started in (("w1", 0), ("w2", 0), ("w3", 500)):
            await insert_execution(s, execution(wid, started_time=started))
        await insert_tasks(s, [task(f"t{n}", f"w{n}") for n in (1, 2, 3)])
        await enqueue(s, [QueueEntry(f"t{n}", f"w{n}", "t", 0, 1000 + n) for n in (1, 2, 3)])
    async with store.pool.acquire() as holder:  # type: ignore[attr-defined]
        held = holder.transaction()
        await held.start()
        await holder.execute("SELECT 1 FROM executions WHERE workflow_id = 'w2' FOR UPDATE")
        async with store.unit() as s:
            try:
                rows = await asyncio.wait_for(s.claim_at_once("t", NOW, 3, "w", Figures("t"), ()), 5)
            finally:
                await held.rollback()  # the mark after the commit may wait for the row: it holds nothing else
            assert rows is not None and [row[0] for row in rows] == ["t1", "t2", "t3"]
            await s.mark_started(["w1", "w2", "w3"], NOW)  # as `Tasks._claim_in` does for starts it does not know
            assert s.started == [(NOW, "w2"), (NOW, "w3")]  # type: ignore[attr-defined]
    async with store.reader() as s:
        assert [(await get_execution(s, w)).started_time for w in ("w1", "w2", "w3")] == [NOW, NOW, 500]  # type: ignore[union-attr]
