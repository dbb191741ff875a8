"""The system-task runner: claims the server's own tasks (HTTP, SUB_WORKFLOW, START_WORKFLOW,
EVENT) from their queues, runs each with its handler, and reports the result as a worker would.

One loop per task type; each keeps up to `concurrency` tasks running at once and sleeps on the
queue's wake-up channel when there is nothing to claim. A handler that raises fails its task (with
the error as the reason); a result that cannot be reported (the workflow was removed) is dropped,
and a crash in between leaves the task to its lease, after which it is claimed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from podium.errors import PodiumError
from podium.loops import failed
from podium.model.definitions import TaskResult
from podium.model.enums import TaskStatus
from podium.model.records import Task
from podium.service.tasks import Tasks

log = logging.getLogger(__name__)

WORKER_ID = "podium-system"
IDLE_WAIT_S = 1.0


@dataclass(frozen=True)
class Report:
    status: TaskStatus
    output: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    #: The task runs on past the handler (a child workflow, asyncComplete): stays IN_PROGRESS.
    hold: bool = False
    sub_workflow_id: str | None = None


Handler = Callable[[Task], Awaitable[Report]]


class Runner:
    def __init__(self, tasks: Tasks, handlers: Mapping[str, Handler], *, concurrency: int = 32) -> None:
        self.tasks = tasks
        self.handlers = dict(handlers)
        self.concurrency = concurrency

    async def run(self) -> None:
        await asyncio.gather(*(self._serve(name, handler) for name, handler in self.handlers.items()))

    async def _serve(self, task_type: str, handler: Handler) -> None:
        running: set[asyncio.Task[None]] = set()
        try:
            while True:
                free = self.concurrency - len(running)
                if free <= 0:
                    await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    continue
                seen = self.tasks.x.waker.generation(task_type)
                try:
                    claimed = await self.tasks.claim(task_type, WORKER_ID, free)
                except Exception as exc:  # a broken store must not end the loop
                    failed(log, "system task claim failed", exc, action="systask_claim_error", task_type=task_type)
                    claimed = []
                if not claimed:
                    await self.tasks.x.waker.wait(task_type, IDLE_WAIT_S, since=seen)
                    continue
                for task in claimed:
                    job = asyncio.create_task(self._run_one(task, handler))
                    running.add(job)
                    job.add_done_callback(running.discard)
        finally:
            for job in running:
                job.cancel()
            for job in list(running):
                with contextlib.suppress(asyncio.CancelledError):
                    await job

    async def _run_one(self, task: Task, handler: Handler) -> None:
        try:
            report = await handler(task)
        except Exception as exc:
            log.exception("system task failed", extra={"action": "systask_error", "task_id": task.task_id})
            report = Report(TaskStatus.FAILED, reason=f"{type(exc).__name__}: {exc}")
        try:
            if report.hold:
                await self.tasks.hold(task, report.output, report.sub_workflow_id)
            else:
                await self.tasks.update(TaskResult(
                    workflow_instance_id=task.workflow_id, task_id=task.task_id, status=report.status,
                    output_data=report.output, reason_for_incompletion=report.reason, worker_id=WORKER_ID))
        except PodiumError as exc:  # the workflow is gone, or the task was ended meanwhile
            log.info("system task result dropped", extra={"action": "systask_dropped", "task_id": task.task_id,
                                                          "reason": str(exc)})
