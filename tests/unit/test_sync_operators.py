"""Operators that finish inside the decide pass: NOOP, SET_VARIABLE, TERMINATE."""

from __future__ import annotations

from typing import Any

from podium.engine import lifecycle
from podium.engine.state import StartFailureWorkflow
from podium.engine.task_updates import apply_result, claim
from podium.model.definitions import WorkflowDef
from podium.model.enums import TaskStatus, WorkflowStatus
from tests.unit.engine_support import FakeContext, new_state, turn


def flow(*tasks: dict[str, Any], **extra: Any) -> WorkflowDef:
    return WorkflowDef.model_validate({"name": "flow", "tasks": list(tasks), **extra})


def sync(kind: str, ref: str, **inputs: Any) -> dict[str, Any]:
    return {"name": ref, "taskReferenceName": ref, "type": kind, "inputParameters": inputs}


def worker(ref: str, **inputs: Any) -> dict[str, Any]:
    return {"name": "work", "taskReferenceName": ref, "inputParameters": inputs}


def test_a_chain_of_sync_tasks_completes_within_the_start() -> None:
    state = new_state(flow(sync("NOOP", "n"), sync("SET_VARIABLE", "v", count="${workflow.input.n}"),
                           sync("NOOP", "m"), outputParameters={"count": "${workflow.variables.count}"}),
                      {"n": 3})
    lifecycle.start(turn(state, FakeContext()))
    assert state.execution.status == WorkflowStatus.COMPLETED
    assert state.execution.variables == {"count": 3}
    assert state.execution.output == {"count": 3}
    assert [t.status for t in sorted(state.tasks.values(), key=lambda t: t.seq)] == [TaskStatus.COMPLETED] * 3


def test_set_variable_feeds_the_next_worker_task() -> None:
    state = new_state(flow(sync("SET_VARIABLE", "v", city="Lisbon"), worker("w", at="${workflow.variables.city}")))
    lifecycle.start(turn(state, FakeContext()))
    assert state.latest("w").input == {"at": "Lisbon"}
    assert state.execution.status == WorkflowStatus.RUNNING


def test_set_variable_over_the_limit_fails_and_changes_nothing() -> None:
    state = new_state(flow(sync("SET_VARIABLE", "v", blob="x" * 300_000)), variables={"kept": 1})
    lifecycle.start(turn(state, FakeContext()))
    task = state.latest("v")
    assert task.status == TaskStatus.FAILED_WITH_TERMINAL_ERROR
    assert "permissible limit" in (task.reason or "")
    assert state.execution.variables == {"kept": 1}
    assert state.execution.status == WorkflowStatus.FAILED


def test_terminate_completed_ends_with_its_output_and_skips_the_rest() -> None:
    state = new_state(flow(sync("TERMINATE", "t", terminationStatus="COMPLETED", workflowOutput={"done": True}),
                           worker("never")))
    lifecycle.start(turn(state, FakeContext()))
    assert state.execution.status == WorkflowStatus.COMPLETED
    assert state.execution.output == {"done": True}
    assert state.latest("never") is None


def test_terminate_failed_after_a_worker_runs_the_failure_workflow() -> None:
    state = new_state(flow(worker("w"), sync("TERMINATE", "t", terminationStatus="FAILED",
                                               terminationReason="${w.output.why}", workflowOutput="nope"),
                           failureWorkflow="cleanup"))
    ctx = FakeContext()
    lifecycle.start(turn(state, ctx))
    task = state.latest("w")
    claim(task, "me", None, 1500)
    apply_result(turn(state, ctx, 2000), task, TaskStatus.COMPLETED, output={"why": "bad input"}, reason=None,
                 worker_id="me", callback_after_seconds=0)
    ex = state.execution
    assert ex.status == WorkflowStatus.FAILED and ex.reason == "bad input"
    assert ex.output == {"output": "nope"}
    assert any(isinstance(e, StartFailureWorkflow) for e in state.effects)
    assert all(t.executed for t in state.tasks.values())
