"""What happens to a task from the outside: a worker claims it, reports on it, or its timer fires."""

from __future__ import annotations

import logging
from typing import Any

from podium.engine import limits, timeouts
from podium.engine.decider import decide
from podium.engine.flow import end_workflow
from podium.engine.schemas import output_problem
from podium.engine.state import Dequeue, SetTimer
from podium.engine.turn import Turn
from podium.model.definitions import TaskDef
from podium.model.enums import TaskStatus, TaskTimeoutPolicy, WorkflowStatus
from podium.model.records import Task

log = logging.getLogger(__name__)


def claim(task: Task, worker_id: str | None, tdef: TaskDef | None, now: int) -> SetTimer | None:
    """SCHEDULED -> IN_PROGRESS on poll; returns the task's re-armed timer (its response timeout)."""
    task.status = TaskStatus.IN_PROGRESS
    task.start_time = task.start_time or now
    task.worker_id = worker_id
    task.poll_count += 1
    task.callback_after_seconds = 0
    task.update_time = now
    due = timeouts.next_deadline(task, tdef, now)
    return SetTimer(timeouts.TASK_TIMER, task.task_id, due) if due is not None else None


def apply_result(
    turn: Turn, task: Task, status: TaskStatus, *, output: dict[str, Any] | None,
    reason: str | None, worker_id: str | None, callback_after_seconds: int,
) -> None:
    """A worker's TaskResult. IN_PROGRESS hands the task back to the queue after the callback delay."""
    task.output = output or {}
    task.reason = reason
    task.worker_id = worker_id or task.worker_id
    task.callback_after_seconds = max(callback_after_seconds, 0)
    task.update_time = turn.now
    turn.state.touch(task)
    if status == TaskStatus.IN_PROGRESS:
        task.status = TaskStatus.SCHEDULED
        turn.enqueue(task, task.callback_after_seconds * 1000)
        turn.arm_timer(task)
    elif status == TaskStatus.COMPLETED and (problem := output_problem(turn.ctx, turn.task_def_of(task),
                                                                        task.output)) is not None:
        turn.end_task(task, TaskStatus.FAILED_WITH_TERMINAL_ERROR, problem)
    else:
        turn.end_task(task, status)
    decide(turn)


def hold(turn: Turn, task: Task, output: dict[str, Any], sub_workflow_id: str | None) -> None:
    reported = task.output.get("status") if task.task_type == "REMOTE" else None
    # A member may report (`running`) while its start call's answer is on its way here: the report is
    # the newer word, and the answer must not take it back.
    task.output = output if reported is None else output | {"status": reported}
    if sub_workflow_id:
        task.sub_workflow_id = sub_workflow_id
    task.extra[timeouts.HELD] = True
    task.update_time = turn.now
    turn.state.touch(task)
    turn.arm_timer(task)


def refuse_payload(turn: Turn, task: Task) -> None:
    """The unit of work found a payload of this task over the size limit (a running task's update
    or hold, an input no end has checked yet): the task fails without it, and the rest follows."""
    if task.status.terminal:  # ended (and checked) already: only the payload goes
        limits.drop_oversized(task, turn.ctx.max_payload_bytes)
        turn.state.touch(task)
        return
    turn.end_task(task, TaskStatus.FAILED_WITH_TERMINAL_ERROR)
    decide(turn)


def extend_lease(task: Task, now: int) -> None:
    task.update_time = now


def on_task_timer(turn: Turn, task: Task) -> None:
    """The task's deadline passed (or moved): time it out per its policy, or re-arm."""
    if task.status.terminal:
        return
    if turn.now >= task.extra.get(timeouts.WAKE_AT, turn.now + 1):  # a timed WAIT is over
        turn.end_task(task, TaskStatus.COMPLETED)
        decide(turn)
        return
    tdef = turn.task_def_of(task)
    rule = timeouts.expired_rule(task, tdef, turn.now)
    if rule is None or rule.policy == TaskTimeoutPolicy.ALERT_ONLY:
        if rule is not None:
            log.warning("task timeout (alert only)", extra={"action": "task_timeout_alert",
                                                            "task_id": task.task_id, "rule": rule.name})
        turn.arm_timer(task)
        return
    turn.end_task(task, TaskStatus.TIMED_OUT, rule.reason)
    if rule.policy == TaskTimeoutPolicy.TIME_OUT_WF:
        task.executed = True
        end_workflow(turn, WorkflowStatus.TIMED_OUT, rule.reason, failed_task=task, run_failure_workflow=True)
        return
    decide(turn)


def on_workflow_timer(turn: Turn) -> None:
    ex = turn.execution
    if ex.status.terminal:
        return
    wdef = turn.state.definition.wdef
    due = timeouts.workflow_deadline(ex, wdef)
    if due is None:
        return
    if turn.now < due:
        turn.state.emit(SetTimer(timeouts.WORKFLOW_TIMER, ex.workflow_id, due))
        return
    reason = (f"Workflow timed out after {wdef.timeout_seconds} seconds. Timeout configured as "
              f"{wdef.timeout_seconds} seconds. Timeout policy configured to {wdef.timeout_policy.value}")
    end_workflow(turn, WorkflowStatus.TIMED_OUT, reason, run_failure_workflow=True)


# --- moves of standalone tasks (one task per execution, driven by a dialect such as the BBS) -------


def take(turn: Turn, task: Task, worker_id: str, tdef: TaskDef | None) -> None:
    """A worker takes this very task (not whichever a poll finds): off its queue, IN_PROGRESS."""
    turn.state.emit(Dequeue(task.task_id))
    timer = claim(task, worker_id, tdef, turn.now)
    if timer is not None:
        turn.state.emit(timer)
    turn.state.touch(task)


def hand_back(turn: Turn, task: Task) -> None:
    """The task goes back to its queue, visible now (a worker that took it gives it up)."""
    if task.status == TaskStatus.IN_PROGRESS:
        task.status = TaskStatus.SCHEDULED
        turn.arm_timer(task)
    task.update_time = turn.now
    turn.state.touch(task)
    turn.enqueue(task)


def finish(turn: Turn, task: Task, status: TaskStatus, *, reason: str | None = None,
           output: dict[str, Any] | None = None) -> None:
    """End the task and its execution with it, the execution keeping the task's own reason."""
    if output is not None:
        task.output = output
    turn.end_task(task, status, reason)
    workflow_status = WorkflowStatus.COMPLETED if status == TaskStatus.COMPLETED else WorkflowStatus.FAILED
    if workflow_status == WorkflowStatus.COMPLETED:
        decide(turn)
    else:
        end_workflow(turn, workflow_status, reason, failed_task=task)
