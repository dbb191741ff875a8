"""Workers that tests run with `podium worker tests.worker.apps:worker` in a process of their own.

With WORKER_APP_HOLD set to a path, each task holds until that file exists; an async task that is
cancelled meanwhile creates WORKER_APP_CANCELLED (when set) on its way out. With WORKER_APP_STARTED
set to a path, each task appends its id to that file as it starts (the server shows a task
IN_PROGRESS from its claim on, before the worker has it in hand).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from podium.worker import Task, Worker, log

SYNC_TASK = "worker_app_sync"
ASYNC_TASK = "worker_app_async"
HOLD_LIMIT_S = 600

worker = Worker()
not_a_worker = object()
empty = Worker()


def _started(task: Task) -> None:
    log(f"{'async' if task.task_type == ASYNC_TASK else 'sync'} task started by {worker.worker_id}")
    marker = os.environ.get("WORKER_APP_STARTED")
    if marker:
        with open(marker, "a") as started:
            started.write(task.task_id + "\n")


def _released() -> bool:
    hold = os.environ.get("WORKER_APP_HOLD")
    return hold is None or Path(hold).exists()


@worker.task(SYNC_TASK)
def hold_sync(task: Task) -> dict[str, Any]:
    _started(task)
    deadline = time.monotonic() + HOLD_LIMIT_S
    while not _released() and time.monotonic() < deadline:
        time.sleep(0.05)
    return {"worker": worker.worker_id, "pollCount": task.poll_count}


@worker.task(ASYNC_TASK)
async def hold_async(task: Task) -> dict[str, Any]:
    _started(task)
    try:
        deadline = time.monotonic() + HOLD_LIMIT_S
        while not _released() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    except asyncio.CancelledError:
        marker = os.environ.get("WORKER_APP_CANCELLED")
        if marker:
            Path(marker).write_text(task.task_id)
        raise
    return {"worker": worker.worker_id, "pollCount": task.poll_count}
