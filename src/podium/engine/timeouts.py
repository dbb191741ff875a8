"""Task and workflow timeouts (Conductor's DeciderService check* rules), as deadlines.

Each live task has at most one durable timer, due at its earliest deadline. When it fires the
service asks `expired_rule`; a heartbeat that moved a deadline simply re-arms the timer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from podium.model.definitions import TaskDef, WorkflowDef
from podium.model.enums import TaskStatus, TaskTimeoutPolicy, WorkflowTimeoutPolicy
from podium.model.records import TASK_TIMER, WORKFLOW_TIMER, Execution, Task

__all__ = ["TASK_TIMER", "WORKFLOW_TIMER", "Rule", "expired_rule", "next_deadline", "workflow_deadline"]


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    deadline: int
    policy: TaskTimeoutPolicy  # what happens when it fires
    reason: str


def _rules(task: Task, tdef: TaskDef | None) -> Iterator[Rule]:
    delay_ms = task.start_delay_seconds * 1000
    callback_ms = task.callback_after_seconds * 1000
    policy = tdef.timeout_policy if tdef else TaskTimeoutPolicy.TIME_OUT_WF
    if tdef and tdef.total_timeout_seconds > 0 and task.first_scheduled_time:
        yield Rule(
            "total", task.first_scheduled_time + tdef.total_timeout_seconds * 1000, policy,
            f"Task total timeout of {tdef.total_timeout_seconds}s exceeded",
        )
    if tdef and tdef.timeout_seconds > 0 and task.start_time:
        yield Rule(
            "timeout", task.start_time + delay_ms + tdef.timeout_seconds * 1000, policy,
            f"Task timed out after {tdef.timeout_seconds} seconds. Timeout configured as "
            f"{tdef.timeout_seconds} seconds. Timeout policy configured to {policy.value}",
        )
    if task.status == TaskStatus.SCHEDULED and tdef and (tdef.poll_timeout_seconds or 0) > 0:
        yield Rule(
            "poll", task.scheduled_time + delay_ms + (tdef.poll_timeout_seconds or 0) * 1000 + callback_ms, policy,
            f"Task poll timed out after {tdef.poll_timeout_seconds} seconds. Poll timeout policy configured to "
            f"{policy.value}",
        )
    if task.status == TaskStatus.IN_PROGRESS and task.response_timeout_seconds > 0 and not _async_complete(task):
        yield Rule(
            "response", task.update_time + (task.response_timeout_seconds * 1000) + callback_ms,
            TaskTimeoutPolicy.RETRY,
            f"responseTimeout: {task.response_timeout_seconds} exceeded for the taskId: {task.task_id} "
            f"with Task Definition: {task.task_def_name}",
        )
    beat = task.extra.get(HEARTBEAT)
    if task.status == TaskStatus.IN_PROGRESS and task.extra.get(HELD) and beat and beat.get("mode") == "push":
        misses, period = int(beat.get("misses") or 0), int(beat.get("periodMs") or 0)
        if misses > 0 and period > 0:  # a pushed task's member reports every period; silence ends it
            yield Rule("heartbeat", task.update_time + misses * period, TaskTimeoutPolicy.RETRY, HEARTBEAT_LOST)


HEARTBEAT = "heartbeat"  # in a task's `extra`: how a REMOTE task's member shows it is alive
HEARTBEAT_LOST = "heartbeat lost"
HELD = "held"  # in a task's `extra`: a system task that runs on (a child workflow) past its claim
WAKE_AT = "waitUntil"  # in a task's `extra`: when a timed WAIT completes


def _async_complete(task: Task) -> bool:
    return bool(task.workflow_task.get("asyncComplete") or task.extra.get(HELD))


def next_deadline(task: Task, tdef: TaskDef | None, now: int) -> int | None:
    """When the task's timer should next fire; None when no rule applies (or only spent alerts)."""
    if task.status.terminal:
        return None
    due = [r.deadline for r in _rules(task, tdef) if not (r.deadline <= now and r.policy == "ALERT_ONLY")]
    if WAKE_AT in task.extra:
        due.append(int(task.extra[WAKE_AT]))
    return min(due) if due else None


def expired_rule(task: Task, tdef: TaskDef | None, now: int) -> Rule | None:
    """The first rule (in Conductor's order) whose deadline has passed; one that acts wins over an
    alert-only one (Conductor runs every check: the response timeout applies regardless of the
    policy, and an expired alert must not hide it, nor re-arm the timer at a past deadline)."""
    if task.status.terminal:
        return None
    expired = [rule for rule in _rules(task, tdef) if now >= rule.deadline]
    acting = [rule for rule in expired if rule.policy != TaskTimeoutPolicy.ALERT_ONLY]
    chosen = acting or expired
    return chosen[0] if chosen else None


def workflow_deadline(execution: Execution, wdef: WorkflowDef) -> int | None:
    if wdef.timeout_seconds <= 0 or wdef.timeout_policy != WorkflowTimeoutPolicy.TIME_OUT_WF:
        return None
    start = execution.last_retried_time or execution.create_time
    return start + wdef.timeout_seconds * 1000
