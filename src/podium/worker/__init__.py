"""Write Podium task workers in Python: decorate functions, run them with `podium worker`.

    from podium.worker import Worker, Task, NonRetryableError, InProgress, log

    worker = Worker("http://127.0.0.1:8080")

    @worker.task("resize", concurrency=4)
    def resize(width: int, height: int = 10) -> dict:
        log(f"resizing to {width}x{height}")
        return {"size": width * height}

See docs/worker.md.
"""

from __future__ import annotations

from podium.worker.model import InProgress, NonRetryableError, Task
from podium.worker.tasklog import log
from podium.worker.worker import Worker

__all__ = ["InProgress", "NonRetryableError", "Task", "Worker", "log"]
