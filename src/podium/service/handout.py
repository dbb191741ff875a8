"""Tasks as their workers receive them (poll, batch poll, update-v2's next task): the one moment a
task's `${workflow.secrets.NAME}` placeholders become values. Nothing here is stored: the task's
row keeps the placeholders, and only the answer to the worker carries the values.

A task whose secrets cannot be put in (one is not set, or this server cannot decrypt it) is not
handed out: it fails (`FAILED`, so its task definition's retries apply, leaving time to set the
secret) with a reason that names the secret, and the worker gets the other tasks of its poll.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from podium.errors import PodiumError
from podium.model.definitions import TaskResult
from podium.model.enums import TaskStatus
from podium.model.records import Task
from podium.model.wire import task_json
from podium.service.secrets import UNREVEALABLE, Secrets, reveal_task
from podium.tracing.ids import task_traceparent

log = logging.getLogger(__name__)

Fail = Callable[[TaskResult], Awaitable[Any]]


async def hand_out(tasks: list[Task], secrets: Secrets | None, fail: Fail, *, traced: bool = False
                   ) -> list[dict[str, Any]]:
    """The tasks in Conductor's shape, secrets put in; those that cannot have theirs are failed.
    When tracing is on, each carries its span as a W3C `traceparent` (a field conductor-python
    does not read; podium.worker continues the trace from it)."""
    answers = []
    for task in tasks:
        try:
            shown, _ = await reveal_task(secrets, task)
        except UNREVEALABLE as exc:
            await _fail(task, exc.message, fail)
            continue
        answer = task_json(shown)
        if traced:
            answer["traceparent"] = task_traceparent(task.task_id, task.workflow_id, task.extra)
        answers.append(answer)
    return answers


async def _fail(task: Task, reason: str, fail: Fail) -> None:
    log.warning("task not handed out: %s", reason, extra={"action": "secret_unavailable", "task_id": task.task_id,
                                                           "workflow_id": task.workflow_id})
    try:
        await fail(TaskResult(workflow_instance_id=task.workflow_id, task_id=task.task_id, status=TaskStatus.FAILED,
                              reason_for_incompletion=reason, worker_id=task.worker_id))
    except PodiumError as exc:  # the workflow was removed or ended meanwhile: nothing left to fail
        log.info("task could not be failed", extra={"action": "secret_fail_dropped", "task_id": task.task_id,
                                                    "reason": str(exc)})
