"""REMOTE tasks, started: call the member's start URL (or its retry URL on a retry). A member
that cannot be reached or refuses fails the attempt with the reason; one that accepts leaves the
task IN_PROGRESS (held) until it reports, and in poll mode the server starts asking it."""

from __future__ import annotations

from podium.model.enums import TaskStatus
from podium.model.records import Task
from podium.service.remote import Remote, params_of
from podium.systasks import members
from podium.systasks.members import MemberError, status_of
from podium.systasks.runner import Report

TB_INTERVAL_MS = "1000"  # TANGO's start parameter: the member's reporting interval


class RemoteTask:
    def __init__(self, remote: Remote) -> None:
        self.remote = remote

    async def __call__(self, task: Task) -> Report:
        try:
            base = await self.remote.base_url(task.input)
        except LookupError as exc:
            return Report(TaskStatus.FAILED_WITH_TERMINAL_ERROR, reason=str(exc))
        retry_path = task.input.get("retryPath")
        retrying = task.retry_count > 0 and isinstance(retry_path, str) and bool(retry_path)
        path = str(retry_path) if retrying else str(task.input.get("startPath") or "start")
        params = params_of(task) | ({} if retrying else {"tb_interval": TB_INTERVAL_MS})
        await self.remote.arm_poll(task)  # before the call: a member may answer its first poll at once
        try:
            answer = await members.call(self.remote.client, base, path, params)
        except MemberError as exc:
            return Report(TaskStatus.FAILED, reason=str(exc))
        status = status_of(answer) or "started"
        output = {"url": base, "status": status, "response": answer}
        if status == "completed":
            return Report(TaskStatus.COMPLETED, output=output)
        if status in ("failed", "stopped"):
            return Report(TaskStatus.FAILED, output=output, reason=f"{path}: member answered '{answer}'")
        return Report(TaskStatus.IN_PROGRESS, output=output, hold=True)
