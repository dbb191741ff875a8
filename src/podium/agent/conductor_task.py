"""One COMMAND task on this agent, as the podium.worker SDK hands it over: run its command, stream the
output to the task's log, watch for cancellation, and say how it ended.

    exit 0 ─────────────────────────────────────────▶ returns the output: COMPLETED (the SDK reports it)
    non-zero exit, timeout ─────────────────────────▶ FAILED with its output            ┐ reported
    invalid input, no executable, bad cwd ──────────▶ FAILED_WITH_TERMINAL_ERROR         ┘ here
    task over on the server (cancelled, terminated) ─▶ process group killed; nothing left to report
    halted by the agent's shutdown ─────────────────▶ process group killed; waits for the SDK to hand it back

The SDK fails a task only through an exception: without output, and with the traceback in the task's
log. So a failure is reported here (`POST /api/tasks`, with its output) and the run then returns:
the SDK's COMPLETED that follows reaches a task already finished, which the server ignores. Should
that report not get through, the run raises instead (`NonRetryableError` for a terminal failure),
and the SDK reports the failure with its reason alone.

While the command runs, its workflow's status is watched too: PAUSED on the server stops the process
group (SIGSTOP), RUNNING again continues it (SIGCONT). This is how a suspended process, which pauses
its workflow, also stops on the host. A stopped group can still be killed (the kill sends SIGCONT
after its SIGTERM). The task's own `timeoutSeconds` keeps counting wall time while it is stopped.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from typing import Any

from podium.agent import command, process
from podium.agent.client import ServerClient, retrying
from podium.agent.command import Outcome, OutputTail
from podium.agent.errors import InvalidCommand, LaunchError, ServerProblem, Unreachable
from podium.agent.logship import LogShipper
from podium.worker import NonRetryableError, Task
from podium.worker.model import Result, Status

logger = logging.getLogger(__name__)

LIVE = frozenset({"IN_PROGRESS", "SCHEDULED"})  # any other status: the task is over on the server
GROUP_STOPPED = {"PAUSED": True, "RUNNING": False}  # by the workflow's status; any other leaves it as it is
NOTE = "[podium agent]"


def stop_group(stopped: bool, workflow_status: str | None) -> bool:
    """Whether the command's process group should be stopped, now that its workflow is `workflow_status`
    (None: the server has no such workflow)."""
    return GROUP_STOPPED.get(workflow_status or "", stopped)


class CommandFailed(Exception):
    """The command failed and the agent could not report it with its output: the SDK reports it."""


@dataclass(frozen=True)
class RunSettings:
    worker_id: str
    kill_grace: float = process.DEFAULT_KILL_GRACE
    watch_interval: float = 1.0
    log_interval: float = 0.5
    report_deadline: float = 30.0
    capture_bytes: int = command.CAPTURE_BYTES


@dataclass(frozen=True)
class Ending:
    outcome: Outcome
    finished_as: str | None = None  # the task's status on the server, when it was over there first
    halted: bool = False  # killed by the agent's shutdown

    @property
    def note(self) -> str:
        """The last line of the task's log."""
        if self.finished_as is not None:
            return f"the task is {self.finished_as} on the server: process group killed"
        if self.halted:
            return "the agent is shutting down: process group killed, the task goes back to the queue"
        return self.outcome.reason or "exit code 0"


class CommandRun:
    def __init__(self, client: ServerClient, settings: RunSettings, task: Task) -> None:
        self.client = client
        self.settings = settings
        self.task = task
        self.halted = False
        self._process: process.Process | None = None
        self._settled = asyncio.Event()  # ended, or killed by a halt and waiting to be handed back

    @property
    def _log(self) -> dict[str, Any]:
        return {"task_id": self.task.task_id, "workflow_id": self.task.workflow_id}

    async def halt(self) -> None:
        """The agent shuts down: kill the process group (SIGTERM, SIGKILL after the grace), and return
        once the run has shipped its log and waits to be handed back (or has ended)."""
        self.halted = True
        if self._process is not None:
            await self._process.kill()
        await self._settled.wait()

    async def run(self) -> dict[str, Any]:
        try:
            return await self._run()
        finally:
            self._settled.set()

    async def _run(self) -> dict[str, Any]:
        async with LogShipper(self.client, self.task.task_id, task_id=self.task.task_id,
                              interval=self.settings.log_interval) as shipper:
            ending = await self._execute(shipper)
            shipper.add(f"{NOTE} {ending.note}")
        outcome = ending.outcome
        if ending.finished_as is not None:
            logger.info("task over on the server, process group killed",
                        extra={"action": "command_cancelled", **self._log, "status": ending.finished_as})
            return outcome.output
        if ending.halted:
            self._settled.set()
            await _handed_back_by_the_sdk()
        logger.info("command ended", extra={"action": "command_end", **self._log, "failed": outcome.failed,
                                            "reason": outcome.reason})
        if outcome.failed:
            await self._report_failure(outcome)
        return outcome.output

    async def _execute(self, shipper: LogShipper) -> Ending:
        try:
            spec = command.parse_input(self.task.input)
        except InvalidCommand as exc:
            return Ending(command.cannot_run(str(exc)))
        tails = {process.Stream.STDOUT: OutputTail(self.settings.capture_bytes),
                 process.Stream.STDERR: OutputTail(self.settings.capture_bytes)}
        proc = process.Process(command.to_command(spec, os.environ), on_line=lambda _stream, line: shipper.add(line),
                               on_chunk=lambda stream, chunk: tails[stream].add(chunk),
                               kill_grace=self.settings.kill_grace, capture_bytes=0)
        try:
            await proc.start()
        except LaunchError as exc:
            return Ending(command.cannot_run(command.launch_failure(spec, exc)))
        self._process = proc
        logger.info("command started", extra={"action": "command_start", **self._log, "pid": proc.pid})
        if self.halted:
            await proc.kill()
        result, finished_as = await self._supervise(proc, spec.timeout, shipper)
        outcome = command.outcome(spec, result, tails[process.Stream.STDOUT], tails[process.Stream.STDERR])
        return Ending(outcome, finished_as, halted=self.halted and result.killed)

    async def _supervise(self, proc: process.Process, timeout: float | None,
                         shipper: LogShipper) -> tuple[process.ProcessResult, str | None]:
        """Wait for the command, killing it at its timeout or once the task is over on the server.
        Cancelled (by the SDK), it kills the process group and waits for it before going on."""
        exited = asyncio.create_task(proc.wait(timeout))
        watcher = asyncio.create_task(self._watch(proc, shipper))
        try:
            await asyncio.wait({exited, watcher}, return_when=asyncio.FIRST_COMPLETED)
            finished_as = None
            if not exited.done():
                finished_as = watcher.result()
                await proc.kill()
            return await exited, finished_as
        finally:
            watcher.cancel()
            if not exited.done():
                await proc.kill()
                await asyncio.gather(exited, return_exceptions=True)

    async def _watch(self, proc: process.Process, shipper: LogShipper) -> str:
        """Return the task's status once it is over on the server (GONE when the server has no such task);
        meanwhile keep the process group stopped while the workflow is PAUSED."""
        stopped = False
        while True:
            await asyncio.sleep(self.settings.watch_interval)
            try:
                status = await self.client.task_status(self.task.task_id)
                if status not in LIVE:
                    return status or "GONE"
                workflow_status = await self.client.workflow_status(self.task.workflow_id)
            except Unreachable:
                continue  # a network failure is neither a cancellation nor a pause
            stopped = self._follow(proc, shipper, stopped, workflow_status)

    def _follow(self, proc: process.Process, shipper: LogShipper, stopped: bool, workflow_status: str | None) -> bool:
        """Stop or continue the process group when the workflow's status says so; return whether it is stopped."""
        wanted = stop_group(stopped, workflow_status)
        if wanted == stopped or self.halted:  # a halt's kill continues the group itself
            return stopped
        if wanted:
            proc.pause()
            shipper.add(f"{NOTE} workflow paused: process group stopped (SIGSTOP)")
            logger.info("workflow paused, process group stopped", extra={"action": "command_paused", **self._log})
        else:
            proc.resume()
            shipper.add(f"{NOTE} workflow running again: process group continued (SIGCONT)")
            logger.info("workflow running again, process group continued",
                        extra={"action": "command_resumed", **self._log})
        return wanted

    async def _report_failure(self, outcome: Outcome) -> None:
        status = Status.FAILED_WITH_TERMINAL_ERROR if outcome.terminal else Status.FAILED
        report = Result(self.task.task_id, self.task.workflow_id, status, output=outcome.output, reason=outcome.reason)
        body = report.to_json(self.settings.worker_id)
        try:
            await retrying(lambda: self.client.update_task(body), what="update_task",
                           deadline_s=self.settings.report_deadline)
        except ServerProblem as exc:
            logger.warning("failure not reported with its output", extra={"action": "command_report_error",
                                                                         **self._log, "error": str(exc)})
            raise (NonRetryableError if outcome.terminal else CommandFailed)(outcome.reason) from None


async def _handed_back_by_the_sdk() -> None:
    """Wait to be cancelled: once every halted command is gone, the agent ends the worker's grace,
    and the SDK cancels this call and hands the task back (IN_PROGRESS, no callback delay)."""
    await asyncio.get_running_loop().create_future()
