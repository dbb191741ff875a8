"""Operator commands on a whole execution: start, pause, resume, terminate, retry, restart, rerun,
skip, reset callbacks. Messages and status codes follow Conductor OSS (see spec 1.2 and 2.1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from podium.engine import rerun, timeouts
from podium.engine.decider import decide
from podium.engine.flow import end_workflow, schedule
from podium.engine.inputs import task_input
from podium.engine.notices import workflow_notice
from podium.engine.state import ClearTimer, Dequeue, SetTimer
from podium.engine.turn import Turn
from podium.errors import BadRequest, Conflict, NotFound
from podium.model.enums import TaskStatus, WorkflowStatus
from podium.model.records import Task

RETRYABLE = (TaskStatus.FAILED, TaskStatus.FAILED_WITH_TERMINAL_ERROR, TaskStatus.TIMED_OUT,
             TaskStatus.CANCELED)


def start(turn: Turn, event: str = "STARTED") -> None:
    """Begin (or, after a reset, begin again: `event` RESTARTED or RERAN)."""
    workflow_notice(turn, event)
    _arm_workflow_timer(turn)
    decide(turn)


def _arm_workflow_timer(turn: Turn) -> None:
    due = timeouts.workflow_deadline(turn.execution, turn.state.definition.wdef)
    if due is not None:
        turn.state.emit(SetTimer(timeouts.WORKFLOW_TIMER, turn.execution.workflow_id, due))


def _reopen(turn: Turn) -> None:
    ex = turn.execution
    ex.status = WorkflowStatus.RUNNING
    ex.reason = None
    ex.end_time = 0
    ex.update_time = turn.now
    turn.state.touch_execution()


def pause(turn: Turn) -> None:
    ex = turn.execution
    if ex.status.terminal:
        raise Conflict(f"Workflow {ex.workflow_id} has ended, status cannot be updated.")
    if ex.status != WorkflowStatus.PAUSED:
        ex.status = WorkflowStatus.PAUSED
        ex.update_time = turn.now
        turn.state.touch_execution()
        workflow_notice(turn, "PAUSED")


def resume(turn: Turn) -> None:
    ex = turn.execution
    if ex.status != WorkflowStatus.PAUSED:
        raise Conflict(f"The workflow {ex.workflow_id} is not PAUSED so cannot resume. "
                       f"Current status is {ex.status.value}")
    ex.last_retried_time = turn.now
    _reopen(turn)
    workflow_notice(turn, "RESUMED")
    _arm_workflow_timer(turn)
    decide(turn)


def terminate(turn: Turn, reason: str | None) -> None:
    ex = turn.execution
    if ex.status == WorkflowStatus.COMPLETED:
        raise Conflict("Cannot terminate a COMPLETED workflow.")
    if ex.status == WorkflowStatus.TERMINATED:
        return
    end_workflow(turn, WorkflowStatus.TERMINATED, reason)


def retry(turn: Turn, resume: Callable[[Task], bool] | None = None) -> list[str]:
    """Retry the failed tasks (needs every task of the execution loaded). A failed SUB_WORKFLOW
    task that `resume` accepts keeps its child workflow and runs on with it (the caller retries
    the child, whose id is returned) instead of starting a new one."""
    ex = turn.execution
    if not ex.status.terminal:
        raise NotFound(f"Workflow is still running.  status={ex.status.value}")
    if not turn.state.tasks:
        raise Conflict("Workflow has not started yet")
    failed = [t for t in turn.state.latest_by_ref() if t.status in RETRYABLE and not t.retried]
    if not failed and ex.status != WorkflowStatus.TIMED_OUT:
        raise Conflict("There are no retryable tasks! Use restart if you want to attempt entire workflow "
                       "execution again.")
    ex.last_retried_time = turn.now
    _reopen(turn)
    workflow_notice(turn, "RETRIED")
    resumed: list[str] = []
    for old in sorted(failed, key=lambda t: t.seq):
        if resume is not None and old.sub_workflow_id and old.task_type == "SUB_WORKFLOW" and resume(old):
            resume_child_task(turn, old)
            resumed.append(old.sub_workflow_id)
        else:
            _retry_task(turn, old)
    _arm_workflow_timer(turn)
    decide(turn)
    return resumed


def resume_child_task(turn: Turn, task: Task) -> None:
    """A SUB_WORKFLOW task whose child runs again: IN_PROGRESS again, following the same child."""
    task.status = TaskStatus.IN_PROGRESS
    turn.state.reopen(task)
    task.end_time = 0
    task.reason = None
    task.update_time = turn.now
    task.extra[timeouts.HELD] = True
    turn.state.touch(task)
    turn.arm_timer(task)


def child_reopened(turn: Turn, task: Task) -> None:
    """The child of `task` was retried by itself: its task (and the parent, if it had ended)
    follow it again, unless the task has been retried with a new child meanwhile."""
    if not task.status.terminal or task.status.successful or turn.state.latest(task.ref_name) is not task:
        return
    if turn.execution.status.terminal:
        retry(turn, resume=lambda t: t is task)
    else:
        resume_child_task(turn, task)


def _retry_task(turn: Turn, old: Task) -> None:
    wt = turn.state.definition.task_of(old)
    old.retried = True
    old.executed = True
    turn.state.touch(old)
    before = set(turn.state.tasks)
    schedule(turn, wt, previous=old)
    for task_id in set(turn.state.tasks) - before:
        fresh = turn.state.tasks[task_id]
        # inputs are resolved again (what they read may have changed); what the operator put
        # there itself (a JOIN's joinOn) stays
        fresh.input = fresh.input | task_input(turn.state, wt.input_parameters, turn.task_def(wt),
                                               task_id=task_id, env=turn.ctx.env)


def reset(turn: Turn) -> None:
    """Forget every task (restart, whole rerun): needs every task loaded."""
    ex = turn.execution
    for task in list(turn.state.tasks.values()):
        turn.state.emit(Dequeue(task.task_id))
        turn.state.emit(ClearTimer(timeouts.TASK_TIMER, task.task_id))
        turn.state.drop_task(task)
    ex.task_seq = 0
    ex.create_time = turn.now
    ex.last_retried_time = 0
    ex.output = {}
    ex.failed_ref_names.clear()
    ex.failed_task_names.clear()
    ex.permissive_failures.clear()
    ex.skipped_refs.clear()
    _reopen(turn)


def check_restartable(turn: Turn) -> None:
    ex = turn.execution
    if not ex.status.terminal:
        raise Conflict(f"Workflow: {ex.workflow_id} is not in terminal state, unable to restart.")
    if ex.status == WorkflowStatus.COMPLETED and not turn.state.definition.wdef.restartable:
        raise NotFound(f"Workflow: {ex.workflow_id} is non-restartable")


def check_rerunnable(turn: Turn) -> None:
    ex = turn.execution
    if not ex.status.terminal:
        raise Conflict(f"Workflow: {ex.workflow_id} is not in terminal state, unable to rerun.")


def rerun_from_task(turn: Turn, task_id: str, task_input_override: dict[str, Any] | None) -> None:
    """Re-run one task and everything after it in the flow (see `engine.rerun`; needs every task
    loaded)."""
    target = turn.state.tasks.get(task_id)
    if target is None:
        raise BadRequest(f"Task {task_id} not found")
    ex = turn.execution
    ex.failed_ref_names.clear()
    ex.failed_task_names.clear()
    ex.permissive_failures.clear()
    _reopen(turn)
    rerun.rerun_from(turn, target, task_input_override)
    workflow_notice(turn, "RERAN")
    _arm_workflow_timer(turn)
    decide(turn)


def skip(turn: Turn, ref_name: str, task_input_data: dict[str, Any] | None,
         task_output: dict[str, Any] | None) -> None:
    ex = turn.execution
    if ex.status != WorkflowStatus.RUNNING:
        raise Conflict(f"The workflow {ex.workflow_id} is not running so the task referenced by {ref_name} "
                       "cannot be skipped")
    wt = turn.state.definition.get(ref_name)
    if wt is None:
        raise Conflict(f"The task referenced by {ref_name} does not exist in the WorkflowDefinition "
                       f"{ex.workflow_type}")
    if turn.state.latest(ref_name) is not None:
        raise Conflict(f"The task referenced by {ref_name} has already been processed, cannot be skipped")
    task = turn.create_task(wt, task_type=wt.name if wt.type == "SIMPLE" else wt.type,
                            status=TaskStatus.SKIPPED, input_override=task_input_data or {})
    task.output = task_output or {}
    task.executed = True
    task.end_time = turn.now
    ex.skipped_refs.append(ref_name)
    turn.state.touch_execution()
    decide(turn)


def reset_callbacks(turn: Turn) -> None:
    ex = turn.execution
    if ex.status.terminal:
        raise Conflict(f"Workflow is in terminal state. Status = {ex.status.value}")
    for task in turn.state.live_tasks():
        if task.status == TaskStatus.SCHEDULED and task.callback_after_seconds > 0:
            task.callback_after_seconds = 0
            turn.state.touch(task)
            turn.enqueue(task)


def update_variables(turn: Turn, variables: dict[str, Any], append_array: bool = False) -> None:
    """Merge into the workflow's variables (an event handler's update_workflow_variables); with
    `append_array`, a list value is appended to an existing list instead of replacing it."""
    current = dict(turn.execution.variables)  # replaced, not changed in place (see model.payloads)
    for key, value in variables.items():
        held = current.get(key)
        if append_array and isinstance(held, list):
            current[key] = [*held, *(value if isinstance(value, list) else [value])]
        else:
            current[key] = value
    turn.execution.variables = current
    turn.state.touch_execution()
    decide(turn)
