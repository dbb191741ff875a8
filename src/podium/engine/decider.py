"""The decider: given an execution's live tasks, settle the finished ones and schedule what follows.

Event-driven and O(live tasks): only tasks that are not yet `executed` are looked at, so a long
history costs nothing. Operators that finish inside the pass are settled in the same call, so a
chain of them completes within the request that triggered it.
"""

from __future__ import annotations

import logging
from typing import Any

from podium.engine import limits
from podium.engine import retry as retry_policy
from podium.engine.inputs import evaluate
from podium.engine.notices import workflow_notice
from podium.engine.operators import operator_for
from podium.engine.state import ClearTimer, StartFailureWorkflow, WorkflowEnded
from podium.engine.timeouts import WORKFLOW_TIMER
from podium.engine.turn import Turn
from podium.model.definitions import WorkflowTask
from podium.model.enums import TaskStatus, WorkflowStatus
from podium.model.records import Task, ref_suffix

log = logging.getLogger(__name__)

_FAILED_STATUSES = (TaskStatus.FAILED, TaskStatus.FAILED_WITH_TERMINAL_ERROR)


def schedule(turn: Turn, wt: WorkflowTask, *, previous: Task | None = None, delay_ms: int = 0,
             suffix: str = "") -> None:
    """Schedule `wt`; `suffix` names the loop iterations it runs in (a retry keeps its own)."""
    if previous is not None:
        suffix = ref_suffix(previous.ref_name)
    elif wt.task_reference_name in turn.execution.skipped_refs:
        schedule_after(turn, wt.task_reference_name + suffix)  # skipped ahead of time through the API
        return
    operator_for(wt.type or "SIMPLE").schedule(turn, wt, previous=previous, delay_ms=delay_ms, suffix=suffix)


def schedule_after(turn: Turn, ref_name: str) -> None:
    """Schedule whatever follows `ref_name`: its next sibling, or what its container says."""
    definition = turn.state.definition
    following = definition.next_sibling(ref_name)
    if following is not None:
        schedule(turn, following, suffix=ref_suffix(ref_name))
        return
    container = definition.container_of(ref_name)
    if container is not None:
        last = turn.state.latest(ref_name)
        if last is not None:
            operator_for(container.type).branch_done(turn, container, last)


def decide(turn: Turn) -> None:
    ex = turn.execution
    if ex.status.terminal or ex.status == WorkflowStatus.PAUSED:
        return
    if ex.task_seq == 0:
        first = turn.state.definition.first()
        if first is not None:
            schedule(turn, first)
    progressed = True
    while progressed and not ex.status.terminal:
        progressed = False
        for task in turn.state.live_tasks():
            if task.live and task.status.terminal:
                settle(turn, task)
                progressed = True
                if ex.status.terminal:
                    return
        if not progressed and turn.state.definition.has_waiters:
            progressed = _evaluate_waiting(turn)
    if not ex.status.terminal and not turn.state.live_tasks():
        complete_workflow(turn)


def _evaluate_waiting(turn: Turn) -> bool:
    """Let the tasks that wait on others (JOIN, a loop ending its iteration) look again once
    nothing else moves; True if one of them finished or scheduled something."""
    seq = turn.execution.task_seq
    finished = False
    for task in turn.state.live_tasks():
        wt = turn.state.definition.get(task.ref_name)  # a task made at run time (a forked branch) never waits
        if wt is None or task.status.terminal:
            continue
        operator = operator_for(wt.type or "SIMPLE")
        if operator.waits:
            operator.check(turn, task, wt)
            finished |= task.status.terminal
    return finished or turn.execution.task_seq != seq


def settle(turn: Turn, task: Task) -> None:
    """Apply the consequences of a terminal task exactly once."""
    if task.status in _FAILED_STATUSES:
        _record_failure(turn, task)
    wt = turn.state.definition.task_of(task)
    if task.status.successful:
        _mark_executed(turn, task)
        if task.status == TaskStatus.SKIPPED:
            schedule_after(turn, task.ref_name)
        else:
            operator_for(wt.type or "SIMPLE").follow(turn, task, wt)
        return
    tdef = turn.task_def(wt, task.task_def_name)
    decision = retry_policy.get_retry_decision(task, wt, tdef, turn.now)
    if decision is not None:
        task.retried = True
        _mark_executed(turn, task)
        schedule(turn, wt, previous=task, delay_ms=decision.delay_ms)
    elif wt.optional:
        task.status = TaskStatus.COMPLETED_WITH_ERRORS
        _mark_executed(turn, task)
        schedule_after(turn, task.ref_name)
    elif wt.permissive:
        _mark_executed(turn, task)
        if task.ref_name not in turn.execution.permissive_failures:
            turn.execution.permissive_failures.append(task.ref_name)
        schedule_after(turn, task.ref_name)
    else:
        fail_workflow(turn, task)


def _mark_executed(turn: Turn, task: Task) -> None:
    task.executed = True
    turn.state.touch(task)


def _record_failure(turn: Turn, task: Task) -> None:
    ex = turn.execution
    if task.ref_name not in ex.failed_ref_names:
        ex.failed_ref_names.append(task.ref_name)
    if task.task_def_name not in ex.failed_task_names:
        ex.failed_task_names.append(task.task_def_name)
    turn.state.touch_execution()


def fail_workflow(turn: Turn, task: Task) -> None:
    status = WorkflowStatus(retry_policy.workflow_status_for(task.status))
    reason = f"Task {task.task_id} failed with status: {status.value} and reason: '{task.reason}'"
    end_workflow(turn, status, reason, failed_task=task, run_failure_workflow=True)


def complete_workflow(turn: Turn) -> None:
    ex = turn.execution
    if ex.permissive_failures:
        reason = "Permissive task(s) failed: " + ", ".join(ex.permissive_failures)
        end_workflow(turn, WorkflowStatus.FAILED, reason, run_failure_workflow=True)
        return
    end_workflow(turn, WorkflowStatus.COMPLETED, None)


def end_workflow(
    turn: Turn, status: WorkflowStatus, reason: str | None, *, failed_task: Task | None = None,
    run_failure_workflow: bool = False, output: dict[str, Any] | None = None,
) -> None:
    """Every way an execution ends: cancel what still runs, compute the output, tell the world."""
    ex, now = turn.execution, turn.now
    for task in turn.state.live_tasks():
        if not task.status.terminal:
            turn.end_task(task, TaskStatus.CANCELED)
        _mark_executed(turn, task)
    ex.output = output if output is not None else workflow_output(turn)
    refused = limits.drop_oversized_output(ex, turn.ctx.max_payload_bytes)
    if refused is not None:  # an output that cannot be kept: the workflow does not succeed
        run_failure_workflow = run_failure_workflow or status == WorkflowStatus.COMPLETED
        status = WorkflowStatus.FAILED if status == WorkflowStatus.COMPLETED else status
        reason = f"{reason}; {refused}" if reason else refused
    ex.status = status
    ex.reason = reason
    ex.end_time = now
    ex.update_time = now
    turn.state.touch_execution()
    turn.state.emit(ClearTimer(WORKFLOW_TIMER, ex.workflow_id))
    failure_wf = turn.state.definition.wdef.failure_workflow
    if run_failure_workflow and failure_wf and status != WorkflowStatus.COMPLETED:
        turn.state.emit(StartFailureWorkflow(
            name=failure_wf, version=turn.state.definition.wdef.failure_workflow_version,
            reason=reason or "", failure_status=status.value,
            failed_task_id=failed_task.task_id if failed_task else None,
        ))
    turn.state.emit(WorkflowEnded(ex.workflow_id, status.value))
    workflow_notice(turn, status.value)
    log.debug("workflow ended", extra={"action": "workflow_ended", "workflow_id": ex.workflow_id,
                                        "status": status.value})


def workflow_output(turn: Turn) -> dict[str, Any]:
    params = turn.state.definition.wdef.output_parameters
    if params:
        value = evaluate(turn.state, params, env=turn.ctx.env)
        return value if isinstance(value, dict) else {}
    tasks = [t for t in turn.state.tasks.values() if t.status.terminal]
    if not tasks:
        return {}
    return dict(max(tasks, key=lambda t: t.seq).output)
