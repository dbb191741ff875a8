"""The decider and lifecycle commands, pure: no store, no clock but the `now` given."""

from __future__ import annotations

import re

import pytest

from podium.engine import lifecycle
from podium.engine.state import ClearTimer, Dequeue, Enqueue, SetTimer, StartFailureWorkflow
from podium.engine.task_updates import apply_result, claim, on_task_timer, on_workflow_timer
from podium.errors import Conflict, NotFound
from podium.model.definitions import TaskDef
from podium.model.enums import TaskStatus, WorkflowStatus
from tests.unit.engine_support import FakeContext, new_state, turn, workflow


def finish(state, ctx, ref, status=TaskStatus.COMPLETED, now=2000, **kw):
    task = state.latest(ref)
    claim(task, "w", ctx.task_def(task.task_def_name), now)
    apply_result(turn(state, ctx, now), task, status, output=kw.get("output", {"ref": ref}),
                 reason=kw.get("reason"), worker_id="w", callback_after_seconds=kw.get("callback", 0))
    return task


def test_start_schedules_the_first_task_only() -> None:
    state, ctx = new_state(workflow("a", "b")), FakeContext()
    lifecycle.start(turn(state, ctx))
    assert [t.ref_name for t in state.tasks.values()] == ["a"]
    assert state.effects[0] == Enqueue("id1", "work", 0, 1000)


def test_a_chain_runs_in_order_and_completes_with_the_last_output() -> None:
    state, ctx = new_state(workflow("a", "b", "c")), FakeContext()
    lifecycle.start(turn(state, ctx))
    for ref in ("a", "b", "c"):
        finish(state, ctx, ref)
    assert state.execution.status == WorkflowStatus.COMPLETED
    assert state.execution.output == {"ref": "c"}
    assert all(t.executed for t in state.tasks.values())


def test_inputs_and_output_parameters_are_expressions() -> None:
    wdef = workflow("a", "b", outputParameters={"sum": "${b.output.v}", "in": "${workflow.input.x}"})
    wdef.tasks[1].input_parameters = {"prev": "${a.output.v}", "lit": "x-${workflow.input.x}"}
    state, ctx = new_state(wdef, {"x": 3}), FakeContext()
    lifecycle.start(turn(state, ctx))
    finish(state, ctx, "a", output={"v": 10})
    assert state.latest("b").input == {"prev": 10, "lit": "x-3"}
    finish(state, ctx, "b", output={"v": 11})
    assert state.execution.output == {"sum": 11, "in": 3}


def test_a_failure_without_a_task_definition_fails_the_workflow_at_once() -> None:
    state, ctx = new_state(workflow("a", "b")), FakeContext()
    lifecycle.start(turn(state, ctx))
    task = finish(state, ctx, "a", TaskStatus.FAILED, reason="boom")
    ex = state.execution
    assert ex.status == WorkflowStatus.FAILED
    assert ex.reason == f"Task {task.task_id} failed with status: FAILED and reason: 'boom'"
    assert ex.failed_ref_names == ["a"]


def test_a_failure_is_retried_after_the_delay_with_the_same_input() -> None:
    ctx = FakeContext({"work": TaskDef(name="work", retry_count=2, retry_delay_seconds=5)})
    state = new_state(workflow("a"), {"x": 1})
    state.definition.wdef.tasks[0].input_parameters = {"x": "${workflow.input.x}"}
    lifecycle.start(turn(state, ctx))
    first = finish(state, ctx, "a", TaskStatus.FAILED, now=3000)
    second = state.latest("a")
    assert second.retry_count == 1 and second.retried_task_id == first.task_id
    assert first.retried and first.executed
    assert second.input == {"x": 1}
    assert Enqueue(second.task_id, "work", 0, 8000) in state.effects


@pytest.mark.parametrize(("status", "expected"), [
    (TaskStatus.FAILED_WITH_TERMINAL_ERROR, WorkflowStatus.FAILED),
    (TaskStatus.CANCELED, WorkflowStatus.TERMINATED),
])
def test_terminal_errors_are_never_retried(status: TaskStatus, expected: WorkflowStatus) -> None:
    ctx = FakeContext({"work": TaskDef(name="work", retry_count=5)})
    state = new_state(workflow("a"))
    lifecycle.start(turn(state, ctx))
    finish(state, ctx, "a", status)
    assert state.execution.status == expected
    assert len(state.tasks) == 1


def test_optional_failure_continues_as_completed_with_errors() -> None:
    state, ctx = new_state(workflow("a", "b")), FakeContext()
    state.definition.wdef.tasks[0].optional = True
    lifecycle.start(turn(state, ctx))
    finish(state, ctx, "a", TaskStatus.FAILED)
    assert state.latest("a").status == TaskStatus.COMPLETED_WITH_ERRORS
    finish(state, ctx, "b")
    assert state.execution.status == WorkflowStatus.COMPLETED
    assert state.execution.failed_ref_names == ["a"]


def test_permissive_failure_continues_then_fails_the_workflow() -> None:
    state, ctx = new_state(workflow("a", "b", failureWorkflow="cleanup")), FakeContext()
    state.definition.wdef.tasks[0].permissive = True
    lifecycle.start(turn(state, ctx))
    finish(state, ctx, "a", TaskStatus.FAILED)
    assert state.execution.status == WorkflowStatus.RUNNING
    finish(state, ctx, "b")
    assert state.execution.status == WorkflowStatus.FAILED
    assert any(isinstance(e, StartFailureWorkflow) for e in state.effects)


def test_in_progress_update_requeues_after_the_callback() -> None:
    state, ctx = new_state(workflow("a")), FakeContext()
    lifecycle.start(turn(state, ctx))
    task = finish(state, ctx, "a", TaskStatus.IN_PROGRESS, now=2000, callback=7)
    assert task.status == TaskStatus.SCHEDULED and task.poll_count == 1
    assert Enqueue(task.task_id, "work", 0, 9000) in state.effects


def test_response_timeout_times_out_and_retries() -> None:
    ctx = FakeContext({"work": TaskDef(name="work", retry_count=1, retry_delay_seconds=0,
                                       response_timeout_seconds=10)})
    state = new_state(workflow("a"))
    lifecycle.start(turn(state, ctx))
    task = state.latest("a")
    timer = claim(task, "w", ctx.task_def("work"), 2000)
    assert timer == SetTimer("task", task.task_id, 12000)
    on_task_timer(turn(state, ctx, 11999), task)
    assert task.status == TaskStatus.IN_PROGRESS
    on_task_timer(turn(state, ctx, 12000), task)
    assert task.status == TaskStatus.TIMED_OUT and "responseTimeout: 10" in (task.reason or "")
    assert state.latest("a").retry_count == 1


def test_task_timeout_with_time_out_wf_ends_the_workflow() -> None:
    tdef = TaskDef(name="work", retry_count=3, timeout_seconds=30, response_timeout_seconds=30)
    state, ctx = new_state(workflow("a")), FakeContext({"work": tdef})
    lifecycle.start(turn(state, ctx))
    task = state.latest("a")
    claim(task, "w", tdef, 1000)
    on_task_timer(turn(state, ctx, 31000), task)
    assert state.execution.status == WorkflowStatus.TIMED_OUT
    assert len(state.tasks) == 1


def test_workflow_timeout_fires_and_pause_does_not_stop_it() -> None:
    state, ctx = new_state(workflow("a", timeoutSeconds=5, timeoutPolicy="TIME_OUT_WF")), FakeContext()
    lifecycle.start(turn(state, ctx))
    assert SetTimer("workflow", "wf", 5000) in state.effects
    lifecycle.pause(turn(state, ctx))
    on_workflow_timer(turn(state, ctx, 5000))
    assert state.execution.status == WorkflowStatus.TIMED_OUT
    assert state.latest("a").status == TaskStatus.CANCELED
    assert ClearTimer("workflow", "wf") in state.effects


def test_pause_holds_the_next_task_until_resume() -> None:
    state, ctx = new_state(workflow("a", "b")), FakeContext()
    lifecycle.start(turn(state, ctx))
    lifecycle.pause(turn(state, ctx))
    finish(state, ctx, "a")
    assert state.latest("b") is None
    lifecycle.resume(turn(state, ctx, 5000))
    assert state.latest("b") is not None
    assert state.execution.last_retried_time == 5000


def test_terminate_cancels_and_refuses_completed() -> None:
    state, ctx = new_state(workflow("a")), FakeContext()
    lifecycle.start(turn(state, ctx))
    lifecycle.terminate(turn(state, ctx), "stop")
    assert state.execution.status == WorkflowStatus.TERMINATED
    assert state.latest("a").status == TaskStatus.CANCELED
    assert Dequeue(state.latest("a").task_id) in state.effects
    lifecycle.terminate(turn(state, ctx), "again")  # already terminated: no-op
    done = new_state(workflow("a"))
    lifecycle.start(turn(done, ctx))
    finish(done, ctx, "a")
    with pytest.raises(Conflict, match=re.escape("Cannot terminate a COMPLETED workflow.")):
        lifecycle.terminate(turn(done, ctx), None)


def test_retry_reschedules_the_failed_task_and_continues() -> None:
    state, ctx = new_state(workflow("a", "b")), FakeContext()
    lifecycle.start(turn(state, ctx))
    with pytest.raises(NotFound, match=re.escape("Workflow is still running.  status=RUNNING")):
        lifecycle.retry(turn(state, ctx))
    finish(state, ctx, "a", TaskStatus.FAILED)
    lifecycle.retry(turn(state, ctx, 9000))
    assert state.execution.status == WorkflowStatus.RUNNING
    assert state.latest("a").retry_count == 1
    finish(state, ctx, "a")
    finish(state, ctx, "b")
    assert state.execution.status == WorkflowStatus.COMPLETED


def test_skip_ahead_jumps_over_the_task() -> None:
    state, ctx = new_state(workflow("a", "b", "c")), FakeContext()
    lifecycle.start(turn(state, ctx))
    lifecycle.skip(turn(state, ctx), "b", None, {"skipped": True})
    finish(state, ctx, "a")
    assert state.latest("b").status == TaskStatus.SKIPPED
    assert state.latest("c").status == TaskStatus.SCHEDULED
    with pytest.raises(Conflict, match="already been processed"):
        lifecycle.skip(turn(state, ctx), "a", None, None)


def test_restart_and_rerun_from_a_task() -> None:
    state, ctx = new_state(workflow("a", "b")), FakeContext()
    lifecycle.start(turn(state, ctx))
    finish(state, ctx, "a")
    finish(state, ctx, "b")
    a_id = state.latest("a").task_id
    lifecycle.rerun_from_task(turn(state, ctx), a_id, {"again": 1})
    assert state.latest("a").status == TaskStatus.SCHEDULED and state.latest("a").input == {"again": 1}
    assert state.latest("b") is None
    finish(state, ctx, "a")
    finish(state, ctx, "b")
    lifecycle.check_restartable(turn(state, ctx))
    lifecycle.reset(turn(state, ctx))
    lifecycle.start(turn(state, ctx))
    assert [t.ref_name for t in state.tasks.values()] == ["a"]


def test_domains_prefer_an_active_worker_then_the_last_entry() -> None:
    ctx = FakeContext(polls={"d2:work": 990})
    state = new_state(workflow("a"), task_to_domain={"work": "d1,d2,d3"})
    lifecycle.start(turn(state, ctx))
    assert state.latest("a").domain == "d2"
    idle = new_state(workflow("a"), task_to_domain={"*": "d1,NO_DOMAIN"})
    lifecycle.start(turn(idle, FakeContext()))
    assert idle.latest("a").domain is None
