"""A task's output lines, shipped to its Conductor task log in batches.

`add()` only buffers (it is called for every line, from the process's reader). A background loop
posts what has gathered every `interval` seconds, or sooner when a batch is full, as one text body
of lines joined by newlines. The Conductor task id is given (a COMMAND task) or, for a BBS task,
looked up on the first flush. When the server cannot be reached the batch is retried a few times
and then dropped: a log never holds a task up.
A buffer over `max_buffer_bytes` drops lines and says so in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from types import TracebackType

from podium.agent.client import Backoff, ServerClient, retrying
from podium.agent.errors import ServerProblem, Unreachable

logger = logging.getLogger(__name__)

_BACKOFF = Backoff(first=0.2, cap=2.0)
_RETRY_S = 5.0


class LogShipper:
    def __init__(self, client: ServerClient, task_guid: str, *, task_id: str | None = None, interval: float = 0.5,
                 batch_bytes: int = 64 * 1024, max_buffer_bytes: int = 4 * 1024 * 1024) -> None:
        self.client = client
        self.task_guid = task_guid
        self.interval = interval
        self.batch_bytes = batch_bytes
        self.max_buffer_bytes = max_buffer_bytes
        self._lines: deque[str] = deque()
        self._size = 0
        self._dropped = 0
        self._task_id = task_id
        self._no_task_id = False
        self._wake = asyncio.Event()
        self._closing = False
        self._loop: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LogShipper:
        self._loop = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    def add(self, line: str) -> None:
        if self._size + len(line) + 1 > self.max_buffer_bytes:
            self._dropped += 1
            return
        self._lines.append(line)
        self._size += len(line) + 1
        if self._size >= self.batch_bytes:
            self._wake.set()

    async def close(self) -> None:
        """Stop the loop and post what is left."""
        self._closing = True
        self._wake.set()
        if self._loop is not None:
            await self._loop
            self._loop = None
        await self.flush()

    async def flush(self) -> None:
        while self._lines or self._dropped:
            await self._post(self._take())

    async def _run(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            self._wake.clear()
            await self.flush()

    def _take(self) -> str:
        batch: list[str] = []
        size = 0
        while self._lines and (not batch or size + len(self._lines[0]) + 1 <= self.batch_bytes):
            line = self._lines.popleft()
            batch.append(line)
            size += len(line) + 1
        self._size -= size
        if self._dropped and not self._lines:
            batch.append(f"[podium agent: {self._dropped} lines dropped, the log buffer was full]")
            self._dropped = 0
        return "\n".join(batch)

    async def _post(self, text: str) -> None:
        task_id = await self._resolve()
        if task_id is None:
            return
        try:
            await retrying(lambda: self.client.add_log(task_id, text), what="add_log", deadline_s=_RETRY_S,
                           backoff=_BACKOFF)
        except ServerProblem as exc:
            logger.warning("task log lines dropped", extra={"action": "log_dropped", "task_guid": self.task_guid,
                                                            "error": str(exc)})

    async def _resolve(self) -> str | None:
        if self._task_id is None and not self._no_task_id:
            try:
                self._task_id = await retrying(self._lookup, what="log_task_id", deadline_s=_RETRY_S,
                                               backoff=_BACKOFF)
            except ServerProblem as exc:
                self._no_task_id = True
                logger.warning("no task log for this task", extra={"action": "log_unavailable",
                                                                  "task_guid": self.task_guid, "error": str(exc)})
        return self._task_id

    async def _lookup(self) -> str:
        found = await self.client.log_task_id(self.task_guid)
        if found is None:
            raise Unreachable(f"execution {self.task_guid} has no task yet")
        return found
