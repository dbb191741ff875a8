"""The payload size limit in the pure engine, and its cost: a payload measured by the engine is
not encoded again by the store."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from podium.engine import lifecycle
from podium.engine.limits import task_fits
from podium.engine.task_updates import apply_result, claim, refuse_payload
from podium.model import payloads
from podium.model.definitions import WorkflowDef
from podium.model.enums import TaskStatus, WorkflowStatus
from podium.model.records import Task
from podium.store.rows import execution_row, task_row
from tests.unit.engine_support import FakeContext, new_state, turn

LIMIT = 1000


def flow(*refs: str, **extra: Any) -> WorkflowDef:
    return WorkflowDef.model_validate({
        "name": "flow", "tasks": [{"name": "work", "taskReferenceName": r} for r in refs], **extra})


@pytest.fixture
def encodings(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every payload encoding made through `podium.model.payloads`."""
    made: list[Any] = []

    def dumps(value: Any) -> bytes:
        made.append(value)
        return orjson.dumps(value)

    monkeypatch.setattr(payloads, "orjson", SimpleNamespace(dumps=dumps))
    return made


def running(state: Any, ctx: FakeContext, ref: str = "a") -> Task:
    lifecycle.start(turn(state, ctx))
    task = state.latest(ref)
    claim(task, "w", None, 1000)
    return task


def test_a_worker_result_over_the_limit_fails_the_task_without_it() -> None:
    state, ctx = new_state(flow("a", "b")), FakeContext(max_payload_bytes=LIMIT)
    task = running(state, ctx)
    apply_result(turn(state, ctx), task, TaskStatus.COMPLETED, output={"blob": "x" * LIMIT}, reason=None,
                 worker_id="w", callback_after_seconds=0)
    assert task.status == TaskStatus.FAILED_WITH_TERMINAL_ERROR and task.output == {}
    assert task.reason == (f"The output payload size: {LIMIT + 11} of task: {task.task_id} in workflow: wf is "
                           f"greater than the permissible limit: {LIMIT} bytes (max_payload_bytes)")
    assert state.execution.status == WorkflowStatus.FAILED and state.latest("b") is None


def test_an_optional_task_over_the_limit_lets_the_workflow_go_on() -> None:
    wdef = WorkflowDef.model_validate({"name": "flow", "tasks": [
        {"name": "work", "taskReferenceName": "a", "optional": True}, {"name": "work", "taskReferenceName": "b"}]})
    state, ctx = new_state(wdef), FakeContext(max_payload_bytes=LIMIT)
    task = running(state, ctx)
    apply_result(turn(state, ctx), task, TaskStatus.COMPLETED, output={"blob": "x" * LIMIT}, reason=None,
                 worker_id="w", callback_after_seconds=0)
    assert task.status == TaskStatus.COMPLETED_WITH_ERRORS and state.latest("b") is not None


def test_a_canceled_task_stays_canceled_without_its_payload() -> None:
    state, ctx = new_state(flow("a")), FakeContext(max_payload_bytes=LIMIT)
    task = running(state, ctx)
    task.output = {"partial": "x" * LIMIT}
    lifecycle.terminate(turn(state, ctx), "stop")
    assert task.status == TaskStatus.CANCELED and task.output == {}
    assert state.execution.status == WorkflowStatus.TERMINATED


def test_a_running_task_over_the_limit_is_failed_by_the_unit_of_work() -> None:
    state, ctx = new_state(flow("a", "b")), FakeContext(max_payload_bytes=LIMIT)
    task = running(state, ctx)
    apply_result(turn(state, ctx), task, TaskStatus.IN_PROGRESS, output={"blob": "x" * LIMIT}, reason=None,
                 worker_id="w", callback_after_seconds=0)
    assert task.status == TaskStatus.SCHEDULED and not task_fits(task, LIMIT)
    refuse_payload(turn(state, ctx), task)
    assert task.status == TaskStatus.FAILED_WITH_TERMINAL_ERROR and task.output == {}
    assert state.execution.status == WorkflowStatus.FAILED


def test_a_workflow_output_over_the_limit_fails_a_workflow_that_would_complete() -> None:
    wdef = flow("a", outputParameters={"one": "${a.output}", "two": "${a.output}"})
    state, ctx = new_state(wdef), FakeContext(max_payload_bytes=LIMIT)
    task = running(state, ctx)
    apply_result(turn(state, ctx), task, TaskStatus.COMPLETED, output={"blob": "x" * (LIMIT - 20)}, reason=None,
                 worker_id="w", callback_after_seconds=0)
    assert task.status == TaskStatus.COMPLETED
    ex = state.execution
    assert ex.status == WorkflowStatus.FAILED and ex.output == {}
    assert ex.reason is not None and ex.reason.startswith("The output payload size: ")


def test_what_the_engine_measured_the_store_writes_without_encoding_it_again(encodings: list[Any]) -> None:
    state, ctx = new_state(flow("a")), FakeContext(max_payload_bytes=LIMIT)
    task = running(state, ctx)
    encodings.clear()
    output = {"answer": 42}
    apply_result(turn(state, ctx), task, TaskStatus.COMPLETED, output=output, reason=None, worker_id="w",
                 callback_after_seconds=0)
    measured = len(encodings)
    assert output in encodings  # measured when the task ended
    row = task_row(task)
    assert len(encodings) == measured  # and written as measured
    assert row[17] == '{"answer":42}'
    ex_row = execution_row(state.execution)
    assert ex_row[15] == '{"answer":42}'  # the workflow's output, measured when it ended
    assert sum(1 for value in encodings if value is state.execution.output) == 1


def test_a_payload_replaced_or_grown_after_it_was_measured_is_encoded_again() -> None:
    task = Task(task_id="t", workflow_id="wf", workflow_type="flow", seq=1, ref_name="a", task_type="work",
                task_def_name="work", status=TaskStatus.COMPLETED, scheduled_time=0, update_time=0,
                output={"a": 1})
    assert task_row(task)[17] == '{"a":1}'
    task.output = {"a": 2}
    assert task_row(task)[17] == '{"a":2}'
    task.output["b"] = 3  # an entry added in place is noticed too
    assert task_row(task)[17] == '{"a":2,"b":3}'
