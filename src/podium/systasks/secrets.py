"""Secrets in the system tasks that call out of Podium (HTTP, REMOTE): the call is made with the
values put in, and what comes back is stored with them taken out again.

The handler gets a copy of the task whose input holds the values; the task's row keeps the
placeholders. The report the handler gives (its output, its reason) has every occurrence of a value
replaced by the secret's placeholder, so an error that quotes the URL, or a response that echoes a
header, does not store the value. A secret that is not set, or that this server cannot decrypt,
fails the task (`FAILED`, retried as its definition says) with a reason naming it, and nothing is
called. System tasks that do not call out (SUB_WORKFLOW, EVENT, scripts) are not wrapped: their
input goes on into stored records (a child's input, an event's payload, a script's output) and keeps
its placeholders.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from podium.model.enums import TaskStatus
from podium.model.records import Task
from podium.service.secrets import UNREVEALABLE, Secrets, reveal_task
from podium.systasks.runner import Handler, Report

log = logging.getLogger(__name__)


class WithSecrets:
    def __init__(self, handler: Handler, secrets: Secrets) -> None:
        self.handler = handler
        self.secrets = secrets

    async def __call__(self, task: Task) -> Report:
        try:
            shown, revealed = await reveal_task(self.secrets, task)
        except UNREVEALABLE as exc:
            return Report(TaskStatus.FAILED, reason=exc.message)
        if not revealed.values:
            return await self.handler(task)
        try:
            report = await self.handler(shown)
        except Exception as exc:  # the runner would log the error's text, which may quote a value
            reason = revealed.redact(f"{type(exc).__name__}: {exc}")
            log.warning("system task failed: %s", reason, extra={"action": "systask_error", "task_id": task.task_id})
            return Report(TaskStatus.FAILED, reason=reason)
        return replace(report, output=revealed.redact(report.output), reason=revealed.redact(report.reason))
