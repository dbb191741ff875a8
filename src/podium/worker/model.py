"""What a worker function sees and returns: the claimed `Task`, `InProgress`, `NonRetryableError`,
and the `Result` the worker sends back (Conductor's TaskResult)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Status(enum.StrEnum):
    """The statuses a worker may report."""

    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    FAILED_WITH_TERMINAL_ERROR = "FAILED_WITH_TERMINAL_ERROR"


class NonRetryableError(Exception):
    """Raise it from a task function to fail the task for good (FAILED_WITH_TERMINAL_ERROR): the
    task definition's retries are skipped."""


@dataclass(frozen=True, slots=True)
class InProgress:
    """Return it from a task function to say "not done yet": the task goes back to the queue and is
    handed to a worker again after `callback_after_seconds`, with `poll_count` one higher."""

    callback_after_seconds: int = 0
    output: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Task:
    """The task a worker claimed, as the server sent it (`raw` holds every field of its JSON)."""

    task_id: str
    workflow_id: str
    task_type: str
    input: dict[str, Any]
    retry_count: int
    poll_count: int
    response_timeout_seconds: int
    raw: dict[str, Any]

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Task:
        return cls(task_id=str(raw["taskId"]), workflow_id=str(raw["workflowInstanceId"]),
                   task_type=str(raw.get("taskType") or raw.get("taskDefName") or ""),
                   input=dict(raw.get("inputData") or {}), retry_count=int(raw.get("retryCount") or 0),
                   poll_count=int(raw.get("pollCount") or 0),
                   response_timeout_seconds=int(raw.get("responseTimeoutSeconds") or 0), raw=raw)


@dataclass(frozen=True, slots=True)
class LogLine:
    text: str
    created_ms: int


@dataclass(frozen=True, slots=True)
class Result:
    """A report on one task, sent with `POST /api/tasks` or `/api/tasks/update-v2`."""

    task_id: str
    workflow_id: str
    status: Status
    output: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    callback_after_seconds: int = 0
    logs: tuple[LogLine, ...] = ()
    extend_lease: bool = False

    def to_json(self, worker_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "workflowInstanceId": self.workflow_id, "taskId": self.task_id, "status": self.status.value,
            "outputData": self.output, "callbackAfterSeconds": self.callback_after_seconds,
            "workerId": worker_id, "logs": [{"log": line.text, "createdTime": line.created_ms} for line in self.logs],
            "extendLease": self.extend_lease,
        }
        if self.reason is not None:
            body["reasonForIncompletion"] = self.reason
        return body


def lease_extension(task: Task) -> Result:
    """A heartbeat: the task is still being worked on (only its lease is refreshed)."""
    return Result(task.task_id, task.workflow_id, Status.IN_PROGRESS, extend_lease=True)
