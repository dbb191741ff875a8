"""The BBS cell: pull offers for a domain, run what it wins, keep its presence alive.

Three small loops share one `ServerClient`:

    heartbeat   POST /v1/cells/heartbeat every ttl/3
    offers      long-poll POST /v1/tasks/offers for as many tasks as there are free slots
    one TaskRun per offered task (bbs_task.py): start, run, watch, complete or reject

`stop()` (SIGTERM) stops taking offers and lets running tasks finish for `shutdown_grace` seconds;
then, or at a second `stop()`, the rest are killed and completed as failed. The cell never crashes
on a server error: calls are retried with backoff, and errors are logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from podium.agent.bbs_task import TaskRun, TaskSettings
from podium.agent.client import Backoff, ServerClient, retrying
from podium.agent.errors import ServerProblem

logger = logging.getLogger(__name__)

T = TypeVar("T")

ORPHAN_REASON = "cell restarted before completion"
_REPORT_S = 30.0  # once aborted, how long tasks still get to report before the cell exits anyway


@dataclass(frozen=True)
class CellConfig:
    server: str
    cell_id: str
    domain: str
    concurrency: int = 1
    ttl: int = 30
    kill_grace: float = 10.0
    shutdown_grace: float = 60.0
    poll_timeout_ms: int = 20_000
    watch_interval: float = 1.0
    wire: str = "protobuf"  # the BBS wire: upstream's protobuf, or JSON

    def task_settings(self) -> TaskSettings:
        return TaskSettings(self.cell_id, kill_grace=self.kill_grace, watch_interval=self.watch_interval)


class Cell:
    def __init__(self, config: CellConfig, client: ServerClient | None = None) -> None:
        self.config = config
        self.client = client or ServerClient(config.server, wire=config.wire)
        self.running: dict[str, asyncio.Task[None]] = {}
        self._stopping = asyncio.Event()
        self._abort = asyncio.Event()
        self._slot_freed = asyncio.Event()
        self._backoff = Backoff()

    def stop(self) -> None:
        """First call: take no more offers, let running tasks finish. Second call: kill them now."""
        if self._stopping.is_set():
            logger.warning("stopping now", extra={"action": "cell_abort", "running": len(self.running)})
            self._abort.set()
            return
        logger.info("stopping: no more offers", extra={"action": "cell_stop", "running": len(self.running)})
        self._stopping.set()

    async def run(self) -> None:
        """Serve until `stop()`, then drain. Closes the client."""
        logger.info("cell started", extra={"action": "cell_start", "cell_id": self.config.cell_id,
                                           "domain": self.config.domain, "concurrency": self.config.concurrency})
        background = [asyncio.create_task(self._heartbeat_loop()), asyncio.create_task(self._complete_orphans())]
        try:
            await self._offer_loop()
            await self._drain()
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await self.client.close()
        logger.info("cell stopped", extra={"action": "cell_exit", "cell_id": self.config.cell_id})

    async def _heartbeat_loop(self) -> None:
        interval = max(self.config.ttl / 3, 0.1)
        while True:
            try:
                await self.client.heartbeat(self.config.cell_id, self.config.ttl)
                await asyncio.sleep(interval)
            except ServerProblem as exc:
                logger.warning("heartbeat failed", extra={"action": "heartbeat_error", "error": str(exc)})
                await asyncio.sleep(min(interval, 1.0))

    async def _complete_orphans(self) -> None:
        """Tasks Running on this cell id that it is not running belong to a previous run of it: fail them."""
        try:
            tasks = await retrying(lambda: self.client.tasks_on_cell(self.config.cell_id), what="list")
        except ServerProblem as exc:
            logger.warning("could not list this cell's tasks", extra={"action": "orphans_error", "error": str(exc)})
            return
        for task in tasks:
            guid = str(task.get("task_guid"))
            if task.get("state") == "Running" and task.get("cell_id") == self.config.cell_id \
                    and guid not in self.running:
                await self._complete_orphan(guid)

    async def _complete_orphan(self, guid: str) -> None:
        try:
            await self.client.complete(guid, self.config.cell_id, failed=True, failure_reason=ORPHAN_REASON,
                                       result="")
        except ServerProblem as exc:
            logger.warning("orphan not completed", extra={"action": "orphan_error", "task_guid": guid,
                                                          "error": str(exc)})
            return
        logger.info("orphaned task failed", extra={"action": "orphan_failed", "task_guid": guid})

    async def _offer_loop(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            free = self.config.concurrency - len(self.running)
            if free <= 0:
                self._slot_freed.clear()
                await self._until_stopped(self._slot_freed.wait())
                continue
            try:
                offers = await self._until_stopped(self.client.offers(
                    self.config.domain, self.config.cell_id, free, self.config.poll_timeout_ms))
            except ServerProblem as exc:
                delay = self._backoff.delay(failures)
                failures += 1
                logger.warning("offers failed", extra={"action": "offers_error", "error": str(exc),
                                                       "delay_s": round(delay, 2)})
                await self._until_stopped(asyncio.sleep(delay))
                continue
            failures = 0
            for task in (offers or [])[:free]:
                self._launch(task)

    def _launch(self, task: dict[str, Any]) -> None:
        guid = str(task.get("task_guid", ""))
        if not guid or guid in self.running:
            return
        logger.debug("task offered", extra={"action": "task_offered", "task_guid": guid})
        run = TaskRun(self.client, self.config.task_settings(), task, self._abort)
        self.running[guid] = asyncio.create_task(run.run(), name=f"bbs-task-{guid}")
        self.running[guid].add_done_callback(lambda done: self._finished(guid, done))

    def _finished(self, guid: str, done: asyncio.Task[None]) -> None:
        self.running.pop(guid, None)
        self._slot_freed.set()
        if not done.cancelled() and done.exception() is not None:
            logger.error("task run crashed", exc_info=done.exception(),
                         extra={"action": "task_crash", "task_guid": guid})

    async def _drain(self) -> None:
        if self.running:
            logger.info("waiting for running tasks", extra={"action": "cell_drain", "running": len(self.running),
                                                            "grace_s": self.config.shutdown_grace})
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.config.shutdown_grace):
                while self.running and not self._abort.is_set():
                    self._slot_freed.clear()
                    await _first(self._slot_freed.wait(), self._abort)
        self._abort.set()  # what is still running is killed and completed as failed
        if self.running:
            _, late = await asyncio.wait(list(self.running.values()), timeout=self.config.kill_grace + _REPORT_S)
            for task in late:  # still starting, or reporting to a server that does not answer
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def _until_stopped(self, work: Awaitable[T]) -> T | None:
        return await _first(work, self._stopping)


async def _first(work: Awaitable[T], event: asyncio.Event) -> T | None:
    """`work`'s result, or None (and `work` cancelled) if `event` is set first."""
    job = asyncio.ensure_future(work)
    waiter = asyncio.create_task(event.wait())
    try:
        await asyncio.wait({job, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        if not job.done():
            job.cancel()
        await asyncio.gather(job, waiter, return_exceptions=True)
    return job.result() if not job.cancelled() else None
