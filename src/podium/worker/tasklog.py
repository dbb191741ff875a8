"""`log("text")`: a log line for the task running in the current context, sent with its result.

Each task runs in its own context (a copy made when it starts, passed on to its thread for a sync
function), so lines never reach another task's log.
"""

from __future__ import annotations

import contextvars
import logging
import time

from podium.worker.model import LogLine

_logger = logging.getLogger(__name__)
_lines: contextvars.ContextVar[list[LogLine]] = contextvars.ContextVar("podium_worker_task_log")


def log(text: str) -> None:
    """Add a line to the running task's log (shown at `GET /api/tasks/{taskId}/log`). Outside a
    task it goes to the `podium.worker.tasklog` logger instead."""
    lines = _lines.get(None)
    if lines is None:
        _logger.info(text, extra={"action": "log_outside_task"})
        return
    lines.append(LogLine(str(text), time.time_ns() // 1_000_000))


def start_collecting() -> list[LogLine]:
    """Call inside the task's own context; the returned list fills as the task logs."""
    lines: list[LogLine] = []
    _lines.set(lines)
    return lines
