"""The decider: given an execution's live tasks, settle the finished ones and schedule what follows.

Event-driven and O(live tasks): only tasks that are not yet `executed` are looked at, so a long
history costs nothing. Operators that finish inside the pass are settled in the same call, so a
chain of them completes within the request that triggered it.
"""

from __future__ import annotations

from podium.engine import retry as retry_policy
from podium.engine.flow import end_workflow, mark_executed, schedule, schedule_after
from podium.engine.turn import Turn
from podium.model.enums import TaskStatus, WorkflowStatus
from podium.model.records import Task

_FAILED_STATUSES = (TaskStatus.FAILED, TaskStatus.FAILED_WITH_TERMINAL_ERROR)


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
        for task in turn.state.read_live_tasks():  # the unread ones are open: nothing to settle
            if task.live and task.status.terminal:
                settle(turn, task)
                progressed = True
                if ex.status.terminal:
                    return
        if not progressed and turn.state.definition.has_waiters:
            progressed = _evaluate_waiting(turn)
    if not ex.status.terminal and not turn.state.any_live():
        complete_workflow(turn)


def _evaluate_waiting(turn: Turn) -> bool:
    """Let the tasks that wait on others (JOIN, a loop ending its iteration) look again once
    nothing else moves; True if one of them finished or scheduled something."""
    seq = turn.execution.task_seq
    finished = False
    for task in turn.state.read_live_tasks():  # the unread ones were made at run time: never waiters
        wt = turn.state.definition.get(task.ref_name)  # a task made at run time (a forked branch) never waits
        if wt is None or task.status.terminal:
            continue
        operator = turn.operator_for(wt.type or "SIMPLE")
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
        mark_executed(turn, task)
        if task.status == TaskStatus.SKIPPED:
            schedule_after(turn, task.ref_name)
        else:
            turn.operator_for(wt.type or "SIMPLE").follow(turn, task, wt)
        return
    tdef = turn.task_def(wt, task.task_def_name)
    decision = retry_policy.get_retry_decision(task, wt, tdef, turn.now)
    if decision is not None:
        task.retried = True
        mark_executed(turn, task)
        schedule(turn, wt, previous=task, delay_ms=decision.delay_ms)
    elif wt.optional:
        task.status = TaskStatus.COMPLETED_WITH_ERRORS
        mark_executed(turn, task)
        schedule_after(turn, task.ref_name)
    elif wt.permissive:
        mark_executed(turn, task)
        if task.ref_name not in turn.execution.permissive_failures:
            turn.execution.permissive_failures.append(task.ref_name)
        schedule_after(turn, task.ref_name)
    else:
        fail_workflow(turn, task)



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


