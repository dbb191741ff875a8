"""Completion callbacks (upstream `taskworkpool/taskcallback.go`): claim the task by moving it to
Resolving, POST its result to `completion_callback_url`, and delete it once the URL answered.

A callback to send is a durable timer (`bbs_callback`), so it survives a restart; the POSTs run on
a bounded pool of workers, off the timer loop. A callback that cannot be delivered leaves the task
Resolving; convergence demotes it after the kick duration and a later pass sends it again. A URL the
outbound policy refuses is such a failed delivery, logged with the rule (`bbs_callback_refused`)."""

from __future__ import annotations

import asyncio
import logging

import httpx

from podium.errors import OutboundRefused
from podium.model.bbs import BbsError, BbsTask, State
from podium.model.records import Timer
from podium.service.bbs.changes import Change, after_commit
from podium.service.bbs.tasks import BbsTasks
from podium.service.executions import Executions
from podium.store import bbs as store
from podium.store.executions import get_execution
from podium.store.timers import take_timer

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
RETRY_STATUSES = (503, 504)
TIMEOUT_S = 10.0


class Callbacks:
    def __init__(self, x: Executions, tasks: BbsTasks, client: httpx.AsyncClient, workers: int) -> None:
        self.x = x
        self.tasks = tasks
        self.client = client
        self._slots = asyncio.Semaphore(max(workers, 1))
        self._running: set[asyncio.Task[None]] = set()

    async def on_timer(self, timer: Timer) -> None:
        """A callback is due: claim the task (Completed -> Resolving); only the claimant POSTs."""
        async with self.x.store.unit() as s:
            execution = await get_execution(s, timer.key, lock=True)  # every unit locks the execution first
            if not await take_timer(s, timer):
                return
            task = await store.get(s, timer.key)
            if task is None or not task.callback_url or task.state != State.COMPLETED:
                return  # gone, or someone else resolves it: no HTTP call
            c = Change(self.x, s, execution, task, task.copy())
            await self.tasks.start_resolving(c)
        after_commit(self.x, c)
        job = asyncio.create_task(self._deliver(task))
        self._running.add(job)
        job.add_done_callback(self._running.discard)

    async def _deliver(self, task: BbsTask) -> None:
        async with self._slots:
            for attempt in range(1, MAX_ATTEMPTS + 1):
                try:
                    response = await self.client.post(task.callback_url, json=task.callback_body(), timeout=TIMEOUT_S)
                except OutboundRefused as exc:  # as a failed delivery: convergence tries again later
                    log.warning("callback refused", extra={"action": "bbs_callback_refused",
                                                           "task_guid": task.task_guid, "error": exc.message})
                    return
                except httpx.TimeoutException:
                    continue
                except httpx.HTTPError as exc:  # not worth retrying now: convergence will
                    log.warning("callback failed", extra={"action": "bbs_callback_error", "task_guid": task.task_guid,
                                                          "error": f"{type(exc).__name__}: {exc}"})
                    return
                if response.status_code not in RETRY_STATUSES:
                    await self._resolved(task.task_guid)
                    return
                log.info("callback answered retry", extra={"action": "bbs_callback_retry",
                                                           "task_guid": task.task_guid, "attempt": attempt,
                                                           "status": response.status_code})
            log.warning("callback-failed", extra={"action": "bbs_callback_failed", "task_guid": task.task_guid})

    async def _resolved(self, guid: str) -> None:
        try:
            await self.tasks.delete(guid)
        except BbsError as exc:
            log.warning("callback: delete failed", extra={"action": "bbs_callback_delete_failed", "task_guid": guid,
                                                          "error": exc.message})

    async def close(self) -> None:
        for job in list(self._running):
            job.cancel()
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
