"""Lease extension: a task that runs longer than half its response timeout is kept alive with an
`extendLease` update every half of that timeout, so the server does not time it out."""

from __future__ import annotations

import asyncio
import logging

from podium.worker.client import Client
from podium.worker.model import Task, lease_extension

log = logging.getLogger(__name__)


def interval(task: Task, enabled: bool) -> float | None:
    """Seconds between heartbeats for this task; None when it needs none."""
    if not enabled or task.response_timeout_seconds <= 0:
        return None
    return task.response_timeout_seconds / 2


async def keep_leased(client: Client, task: Task, every_s: float) -> None:
    """Runs until cancelled (when the task's function returns)."""
    while True:
        await asyncio.sleep(every_s)
        try:
            await client.update(lease_extension(task))
        except Exception as exc:  # the next beat tries again
            log.warning(f"lease extension failed: {exc!r}", extra={"action": "lease_extend_error",
                                                                   "task_id": task.task_id})
        else:
            log.debug("lease extended", extra={"action": "lease_extended", "task_id": task.task_id})
