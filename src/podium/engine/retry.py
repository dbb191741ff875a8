"""Whether a failed task attempt is retried, and after how long (Conductor's DeciderService.retry)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from podium.model.definitions import TaskDef, WorkflowTask
from podium.model.enums import RetryLogic, TaskStatus
from podium.model.records import Task

INT_MAX = 2**31 - 1

# Control-flow tasks are never retried automatically.
BUILT_IN = frozenset({"DECISION", "SWITCH", "FORK", "FORK_JOIN", "JOIN", "EXCLUSIVE_JOIN", "DO_WHILE"})


@dataclass(frozen=True, slots=True)
class RetryDecision:
    delay_ms: int


def allowed_retries(wt: WorkflowTask | None, tdef: TaskDef | None) -> int:
    """Conductor quirk kept: with no task definition at all there are no retries."""
    if tdef is None:
        return 0
    if wt is not None and wt.retry_count is not None:
        return wt.retry_count
    return tdef.retry_count


def retry_delay_seconds(tdef: TaskDef, attempt: int) -> int:
    base = tdef.retry_delay_seconds
    if tdef.retry_logic == RetryLogic.LINEAR_BACKOFF:
        delay = base * tdef.backoff_scale_factor * (attempt + 1)
    elif tdef.retry_logic == RetryLogic.EXPONENTIAL_BACKOFF:
        delay = base * 2**attempt
    else:
        delay = base
    delay = min(delay, INT_MAX)
    if tdef.max_retry_delay_seconds > 0:
        delay = min(delay, tdef.max_retry_delay_seconds)
    return int(delay)


def get_retry_decision(
    task: Task, wt: WorkflowTask | None, tdef: TaskDef | None, now: int, rng: random.Random | None = None
) -> RetryDecision | None:
    """None when the attempt must not be retried; otherwise the delay before the next attempt."""
    if not task.status.retriable or task.task_type in BUILT_IN:
        return None
    if task.retry_count >= allowed_retries(wt, tdef):
        return None
    assert tdef is not None  # allowed_retries() is 0 without one
    if tdef.total_timeout_seconds > 0 and now - task.first_scheduled_time >= tdef.total_timeout_seconds * 1000:
        return None
    delay_ms = retry_delay_seconds(tdef, task.retry_count) * 1000
    if tdef.backoff_jitter_ms > 0:
        delay_ms += (rng or random).randint(0, tdef.backoff_jitter_ms)
    return RetryDecision(delay_ms)


def workflow_status_for(task_status: TaskStatus) -> str:
    """The workflow status when a task fails for good."""
    if task_status == TaskStatus.CANCELED:
        return "TERMINATED"
    if task_status == TaskStatus.TIMED_OUT:
        return "TIMED_OUT"
    return "FAILED"
