"""Conductor COMMAND mode: a podium.worker `Worker` serving one task type, each task a `CommandRun`.

    Worker (podium.worker): poll, lease extension, update-v2 ──▶ CommandAgent.run_task(task)
                                                                   └─ CommandRun (conductor_task.py)

Shutdown (`stop()`, SIGTERM): the worker stops polling and running commands get `shutdown_grace`
seconds to finish, reported as usual. Then, or at a second `stop()`, the agent kills the process
groups still running, and only once they are gone ends the worker's grace, so the SDK hands their
tasks back (IN_PROGRESS, no callback delay: another agent runs them at once). The worker's own grace
is set longer than the agent's by the time a kill can take, so the SDK never hands back a task whose
command is still dying.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from podium.agent.client import ServerClient
from podium.agent.conductor_task import CommandRun, RunSettings
from podium.worker import Task, Worker

logger = logging.getLogger(__name__)

DEFAULT_TASK_TYPE = "COMMAND"
_KILL_MARGIN_S = 15.0  # beyond the kill grace: SIGKILL, the group's end and the pipes' drain
_DRAIN_S = 30.0  # after the worker stopped, how long runs still get to wind down


@dataclass(frozen=True)
class CommandConfig:
    server: str
    task_type: str = DEFAULT_TASK_TYPE
    domain: str | None = None
    worker_id: str | None = None
    concurrency: int = 1
    kill_grace: float = 10.0
    shutdown_grace: float = 60.0
    watch_interval: float = 1.0


class CommandAgent:
    def __init__(self, config: CommandConfig, client: ServerClient | None = None) -> None:
        self.config = config
        self.client = client or ServerClient(config.server)
        self.worker = Worker(config.server, config.worker_id, config.domain or None,
                             shutdown_grace_s=config.shutdown_grace + config.kill_grace + _KILL_MARGIN_S)
        self.worker.task(config.task_type, concurrency=config.concurrency)(self.run_task)
        self.settings = RunSettings(self.worker.worker_id, kill_grace=config.kill_grace,
                                    watch_interval=config.watch_interval)
        self.runs: dict[asyncio.Task[Any], CommandRun] = {}
        self._stopping = False
        self._abort = asyncio.Event()
        self._reaper: asyncio.Task[None] | None = None

    def stop(self) -> None:
        """First call: poll no more, let running commands finish. Second call: kill them now."""
        if self._stopping:
            logger.warning("stopping now", extra={"action": "agent_abort", "running": len(self.runs)})
            self._abort.set()
            return
        logger.info("stopping: no more tasks", extra={"action": "agent_stop", "running": len(self.runs)})
        self._stopping = True
        self.worker.stop()
        self._reaper = asyncio.create_task(self._reap())

    async def run(self) -> None:
        """Serve until `stop()`, then drain. Closes the client."""
        try:
            await self.worker.serve()
        finally:
            if self._reaper is not None:
                self._reaper.cancel()
                await asyncio.gather(self._reaper, return_exceptions=True)
            if self.runs:  # cancelled by the SDK: let them finish their cleanup
                await asyncio.wait(list(self.runs), timeout=_DRAIN_S)
            await self.client.close()

    async def run_task(self, task: Task) -> dict[str, Any]:
        """The worker function: run the task's command (see conductor_task.py)."""
        me = asyncio.current_task()
        assert me is not None
        run = CommandRun(self.client, self.settings, task)
        self.runs[me] = run
        try:
            return await run.run()
        finally:
            del self.runs[me]

    async def _reap(self) -> None:
        """Past the shutdown grace (or at a second stop), kill what still runs, then let the worker
        hand those tasks back."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.config.shutdown_grace):
                await self._abort.wait()
        runs = list(self.runs.values())
        if runs:
            logger.info("killing the commands still running", extra={"action": "agent_halt", "running": len(runs)})
            await asyncio.gather(*(run.halt() for run in runs))
        self.worker.stop(immediately=True)
