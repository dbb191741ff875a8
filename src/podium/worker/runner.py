"""One task type's loop: long-poll for as many tasks as there are free slots, run each, report.

    poll(count = free slots) ──▶ work: run ─▶ report with update-v2 ─▶ next task? ─▶ run ...
                                   │                                      └─ none: slot freed
                                   └─ cancelled after the shutdown grace: hand the task back

A slot stays taken from the claim to the report, so no more than `concurrency` tasks of the type run
in this worker; the next task update-v2 returns takes the slot its predecessor leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from podium.worker import jobs, lease
from podium.worker.client import MAX_LONG_POLL_MS, Backoff, Client, is_transient
from podium.worker.mapping import Binding, handed_back, raised, returned
from podium.worker.model import Result, Task
from podium.worker.tasklog import start_collecting
from podium.worker.tracing import task_span

log = logging.getLogger(__name__)

DELIVERY_TRIES = 5
CLEANUP_S = 10.0  # a cancelled coroutine may take this long to clean up before its task is handed back
LOGS_PER_RESULT = 10  # the server keeps this many log lines of one result; the rest go ahead one by one


@dataclass(frozen=True)
class TaskSpec:
    """A registered task function and how to run it."""

    task_type: str
    func: Callable[..., Any]
    concurrency: int = 1
    domain: str | None = None
    poll_timeout_ms: int = 1000
    lease_extend: bool = True

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {self.concurrency}")
        if not 0 <= self.poll_timeout_ms <= MAX_LONG_POLL_MS:
            raise ValueError(f"poll_timeout_ms must be between 0 and {MAX_LONG_POLL_MS}")

    @property
    def is_async(self) -> bool:
        method = type(self.func).__call__  # a callable object's own `async def __call__`
        return inspect.iscoroutinefunction(self.func) or inspect.iscoroutinefunction(method)


@dataclass
class _Slot:
    running: bool = False  # the function runs (it may be cancelled); else it is being reported on


class Runner:
    def __init__(self, spec: TaskSpec, client: Client, domain: str | None) -> None:
        self.spec = spec
        self.client = client
        self.domain = spec.domain or domain
        self.binding = Binding(spec.func)
        self.is_async = spec.is_async
        self.stopping = False
        self._slots: dict[asyncio.Task[None], _Slot] = {}
        self._freed = asyncio.Event()
        self._stop = asyncio.Event()

    @property
    def in_flight(self) -> list[asyncio.Task[None]]:
        return list(self._slots)

    def stop(self) -> None:
        """Poll no more (a poll under way still returns; what it brings is handed back)."""
        self.stopping = True
        self._stop.set()

    def abandon(self) -> None:
        """Cancel the functions still running: their tasks are handed back to the server."""
        for work, slot in self._slots.items():
            if slot.running:
                work.cancel()

    # --- polling ------------------------------------------------------------------------------

    async def poll_loop(self) -> None:
        backoff = Backoff()
        while not self.stopping:
            free = self.spec.concurrency - len(self._slots)
            if free <= 0:
                await self._until(self._freed, None)
                continue
            try:
                found = await self.client.poll(self.spec.task_type, self.domain, free, self.spec.poll_timeout_ms)
            except Exception as exc:
                delay = backoff.next()
                log.warning(f"poll failed, again in {delay:.1f} s: {exc!r}",
                            extra={"action": "poll_error", "task_type": self.spec.task_type})
                await self._until(self._stop, delay)
                continue
            backoff.reset()
            for raw in found:
                self._begin(raw)

    async def _until(self, event: asyncio.Event, timeout: float | None) -> None:
        self._freed.clear()
        waits = {asyncio.ensure_future(event.wait()), asyncio.ensure_future(self._stop.wait())}
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()

    def _begin(self, raw: dict[str, Any]) -> None:
        slot = _Slot()
        work = asyncio.create_task(self._work(raw, slot), name=f"podium-task-{raw.get('taskId')}")
        self._slots[work] = slot
        work.add_done_callback(self._release)

    def _release(self, work: asyncio.Task[None]) -> None:
        self._slots.pop(work, None)
        self._freed.set()
        if not work.cancelled() and work.exception() is not None:
            log.error("task work failed", exc_info=work.exception(), extra={"action": "work_error"})

    # --- one slot's work ----------------------------------------------------------------------

    async def _work(self, raw: dict[str, Any] | None, slot: _Slot) -> None:
        while raw is not None:
            task = Task.from_json(raw)
            log.debug("task claimed", extra={"action": "task_claimed", "task_id": task.task_id,
                                             "task_type": task.task_type})
            if self.stopping:
                await self._deliver(handed_back(task, [], self.client.worker_id), want_next=False)
                return
            slot.running = True
            with task_span(task, self.client.worker_id) as finish:
                result = await self._execute(task)
                finish(result)
            slot.running = False
            raw = await self._deliver(result, want_next=not self.stopping)

    async def _execute(self, task: Task) -> Result:
        lines = start_collecting()
        try:
            args, kwargs = self.binding.bind(task)
            job = jobs.start(self.spec.func, self.is_async, args, kwargs, f"podium-task-{task.task_id}")
        except Exception as exc:  # an input that does not fit (a dataclass missing a field)
            return raised(task, exc, lines)
        every = lease.interval(task, self.spec.lease_extend)
        beat = asyncio.create_task(lease.keep_leased(self.client, task, every)) if every else None
        try:
            value = await job
            if inspect.isawaitable(value):  # a plain function that returned a coroutine
                value = await value
        except asyncio.CancelledError as exc:
            current = asyncio.current_task()
            if current is None or not current.cancelling():  # the function itself raised it
                return raised(task, exc, lines)
            job.cancel()
            await asyncio.wait({job}, timeout=CLEANUP_S)  # its `finally` blocks run before the hand-back
            log.info("task handed back", extra={"action": "task_handed_back", "task_id": task.task_id})
            await self._deliver(handed_back(task, lines, self.client.worker_id), want_next=False)
            raise
        except Exception as exc:
            return raised(task, exc, lines)
        finally:
            if beat is not None:
                beat.cancel()
        return returned(task, value, lines)

    # --- reporting ----------------------------------------------------------------------------

    async def _deliver(self, result: Result, *, want_next: bool) -> dict[str, Any] | None:
        """Report on a task, trying again on network errors; returns the next task (update-v2)."""
        result = await self._spill_logs(result)
        backoff = Backoff()
        for attempt in range(1, DELIVERY_TRIES + 1):
            try:
                following = await self._send(result, want_next)
            except Exception as exc:
                if not is_transient(exc) or attempt == DELIVERY_TRIES:
                    log.error(f"result not delivered: {exc!r}", extra={
                        "action": "result_lost", "task_id": result.task_id, "status": result.status.value})
                    return None
                delay = backoff.next()
                log.warning(f"result delivery failed, again in {delay:.1f} s: {exc!r}", extra={
                    "action": "result_retry", "task_id": result.task_id, "attempt": attempt})
                await asyncio.sleep(delay)
                continue
            log.debug("task reported", extra={"action": "task_reported", "task_id": result.task_id,
                                               "status": result.status.value})
            return following
        return None

    async def _send(self, result: Result, want_next: bool) -> dict[str, Any] | None:
        if want_next:
            return await self.client.update_v2(result)
        await self.client.update(result)
        return None

    async def _spill_logs(self, result: Result) -> Result:
        if len(result.logs) <= LOGS_PER_RESULT:
            return result
        ahead, kept = result.logs[:-LOGS_PER_RESULT], result.logs[-LOGS_PER_RESULT:]
        for line in ahead:
            with contextlib.suppress(Exception):
                await self.client.add_log(result.task_id, line.text)
        return Result(result.task_id, result.workflow_id, result.status, result.output, result.reason,
                      result.callback_after_seconds, kept, result.extend_lease)
