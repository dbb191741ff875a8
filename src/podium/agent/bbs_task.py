"""One offered BBS task on this cell: start it, run its action, watch for cancellation, report.

    offered ── start ──> should_start? ── no/error ──> dropped (as Diego's rep does)
                              │ yes
                              ├─ unsupported action or command cannot start ──> reject
                              ├─ gone, or no longer Running on this cell ──> process group killed, not completed
                              ├─ cell shutting down past its grace ──> killed, completed failed
                              └─ action finished ──> complete {failed, failure_reason, result}
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from podium.agent.actions import Outcome, TaskPlan, parse_task, run_task
from podium.agent.client import ServerClient, retrying
from podium.agent.errors import BbsError, InvalidAction, LaunchError, ServerProblem, Unreachable, UnsupportedAction
from podium.agent.logship import LogShipper

logger = logging.getLogger(__name__)

SHUTDOWN_REASON = "cell shut down before completion"


@dataclass(frozen=True)
class TaskSettings:
    cell_id: str
    kill_grace: float = 10.0
    watch_interval: float = 1.0
    claim_deadline: float = 20.0  # an offer is reserved for the kick duration (30 s by default)
    report_deadline: float = 300.0
    log_interval: float = 0.5


@dataclass(frozen=True)
class Reject:
    reason: str


class TaskRun:
    def __init__(self, client: ServerClient, settings: TaskSettings, task: dict[str, Any],
                 abort: asyncio.Event) -> None:
        self.client = client
        self.settings = settings
        self.guid = str(task.get("task_guid", ""))
        self.definition = task.get("task_definition") or {}
        self.abort = abort

    @property
    def _log(self) -> dict[str, Any]:
        return {"task_guid": self.guid, "cell_id": self.settings.cell_id}

    async def run(self) -> None:
        if not await self._claim():
            return
        try:
            plan = parse_task(self.definition)
        except UnsupportedAction as exc:
            await self._report(Reject(str(exc)))
            return
        except InvalidAction as exc:
            await self._report(Outcome(True, str(exc)))
            return
        async with LogShipper(self.client, self.guid, interval=self.settings.log_interval) as shipper:
            outcome = await self._execute(plan, shipper)
        if outcome is not None:
            await self._report(outcome)

    async def _claim(self) -> bool:
        """StartTask. An answer of should_start=false after a lost answer means the lost start won."""
        lost_answer = False

        async def start() -> bool:
            nonlocal lost_answer
            try:
                return await self.client.start(self.guid, self.settings.cell_id)
            except Unreachable:
                lost_answer = True
                raise

        try:
            should_start = await retrying(start, what="start", deadline_s=self.settings.claim_deadline)
        except ServerProblem as exc:
            logger.info("task not started", extra={"action": "task_start_refused", **self._log, "error": str(exc)})
            return False
        if not should_start and not lost_answer:
            logger.info("task already started", extra={"action": "task_already_started", **self._log})
        else:
            logger.info("task started", extra={"action": "task_start", **self._log})
        return should_start or lost_answer

    async def _execute(self, plan: TaskPlan, shipper: LogShipper) -> Outcome | Reject | None:
        runner = asyncio.create_task(run_task(plan, sink=shipper.add, kill_grace=self.settings.kill_grace))
        watcher = asyncio.create_task(self._watch())
        aborted = asyncio.create_task(self.abort.wait())
        try:
            done, _ = await asyncio.wait({runner, watcher, aborted}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await _cancel(watcher, aborted, runner)
        if runner in done:
            outcome = self._outcome(runner)
            if isinstance(outcome, Reject):
                shipper.add(outcome.reason)
            return outcome
        if watcher in done:
            logger.info("task gone, process group killed", extra={"action": "task_cancelled", **self._log,
                                                                  "reason": watcher.result()})
            return None
        logger.info("task stopped by shutdown", extra={"action": "task_aborted", **self._log})
        return Outcome(True, SHUTDOWN_REASON)

    def _outcome(self, runner: asyncio.Task[Outcome]) -> Outcome | Reject:
        try:
            return runner.result()
        except LaunchError as exc:
            return Reject(str(exc))
        except Exception as exc:  # a bug here must not take the cell down
            logger.exception("task run failed", extra={"action": "task_error", **self._log})
            return Outcome(True, f"agent error: {exc}")

    async def _watch(self) -> str:
        """Return (with why) once the task is gone or no longer Running on this cell."""
        while True:
            await asyncio.sleep(self.settings.watch_interval)
            try:
                task = await self.client.task(self.guid)
            except BbsError as exc:
                if exc.type == "ResourceNotFound":
                    return "the task is gone"
                continue
            except Unreachable:
                continue
            state, cell = task.get("state"), task.get("cell_id")
            if state != "Running" or cell != self.settings.cell_id:
                return f"the task is {state} on cell {cell!r}"

    async def _report(self, outcome: Outcome | Reject) -> None:
        if isinstance(outcome, Reject):
            await self._send("reject", lambda: self.client.reject(self.guid, outcome.reason), reason=outcome.reason)
            return
        await self._send("complete", lambda: self.client.complete(
            self.guid, self.settings.cell_id, failed=outcome.failed, failure_reason=outcome.failure_reason,
            result=outcome.result), failed=outcome.failed, reason=outcome.failure_reason)

    async def _send(self, what: str, call: Callable[[], Awaitable[None]], **fields: Any) -> None:
        try:
            await retrying(call, what=what, deadline_s=self.settings.report_deadline)
        except ServerProblem as exc:
            logger.warning(f"{what} refused", extra={"action": f"task_{what}_error", **self._log, "error": str(exc)})
            return
        logger.info(f"{what} sent", extra={"action": f"task_{what}", **self._log, **fields})


async def _cancel(*tasks: asyncio.Task[Any]) -> None:
    """Cancel what is still running and wait for it to clean up (a run kills its process group)."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
