"""`Worker`: task functions registered by decorator, one `Runner` each, and a graceful shutdown.

Shutdown (SIGTERM, SIGINT or `stop()`): polling stops; tasks under way get `shutdown_grace_s` to
finish and be reported; those still running then are handed back to the server (IN_PROGRESS with no
callback delay, so another worker gets them at once) and coroutines among them are cancelled. A
second signal ends the grace at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Callable
from typing import Any, TypeVar

from podium.worker.client import Client
from podium.worker.runner import Runner, TaskSpec

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_SERVER_URL = "http://127.0.0.1:8080"
SIGNALS = (signal.SIGTERM, signal.SIGINT)


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Worker:
    def __init__(self, server_url: str = DEFAULT_SERVER_URL, worker_id: str | None = None,
                 domain: str | None = None, *, shutdown_grace_s: float = 25.0) -> None:
        self.server_url = server_url
        self.worker_id = worker_id or default_worker_id()
        self.domain = domain
        self.shutdown_grace_s = shutdown_grace_s
        self.specs: dict[str, TaskSpec] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._hurry: asyncio.Event | None = None
        self._stop_requested = self._hurry_requested = False

    def task(self, task_type: str, *, concurrency: int = 1, domain: str | None = None,
             poll_timeout_ms: int = 1000, lease_extend: bool = True) -> Callable[[F], F]:
        """Register the decorated function (sync or async) as the worker of `task_type`; the
        function itself is returned unchanged."""
        def register(func: F) -> F:
            self.register(TaskSpec(task_type, func, concurrency=concurrency, domain=domain,
                                   poll_timeout_ms=poll_timeout_ms, lease_extend=lease_extend))
            return func

        return register

    def register(self, spec: TaskSpec) -> None:
        if spec.task_type in self.specs:
            raise ValueError(f"a function is already registered for task type {spec.task_type!r}")
        self.specs[spec.task_type] = spec

    # --- running ------------------------------------------------------------------------------

    def run(self) -> None:
        """Serve until SIGTERM or SIGINT (or `stop()`), then shut down gracefully and return."""
        asyncio.run(self._serve_with_signals())

    async def _serve_with_signals(self) -> None:
        loop = asyncio.get_running_loop()
        installed = []
        for sig in SIGNALS:
            with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):  # not the main thread
                loop.add_signal_handler(sig, self._on_signal)
                installed.append(sig)
        try:
            await self.serve()
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    def stop(self, *, immediately: bool = False) -> None:
        """Ask `serve()` to shut down gracefully; callable from any thread, and again with
        `immediately=True` to end the grace at once (as a second SIGTERM or SIGINT does)."""
        self._stop_requested = True
        self._hurry_requested = self._hurry_requested or immediately
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._signal_events)

    def _on_signal(self) -> None:
        self.stop(immediately=self._stop_requested)

    def _signal_events(self) -> None:
        if self._stop is not None and self._stop_requested:
            self._stop.set()
        if self._hurry is not None and self._hurry_requested:
            self._hurry.set()

    async def serve(self) -> None:
        """Poll and run tasks until `stop()`; returns once every task was reported or handed back."""
        if not self.specs:
            raise ValueError("no task functions are registered on this worker")
        self._loop = asyncio.get_running_loop()
        self._stop, self._hurry = asyncio.Event(), asyncio.Event()
        self._signal_events()  # stop() may have come first
        client = Client(self.server_url, self.worker_id)
        runners = [Runner(spec, client, self.domain) for spec in self.specs.values()]
        polls = [asyncio.create_task(r.poll_loop(), name=f"podium-poll-{r.spec.task_type}") for r in runners]
        log.info(f"worker {self.worker_id} serving {', '.join(self.specs)} at {self.server_url}",
                 extra={"action": "worker_started", "worker_id": self.worker_id, "task_types": list(self.specs)})
        try:
            await self._stop.wait()
        finally:
            try:
                await self._shut_down(runners, polls)
            finally:
                await client.aclose()
                self._loop = self._stop = self._hurry = None
                self._stop_requested = self._hurry_requested = False

    async def _shut_down(self, runners: list[Runner], polls: list[asyncio.Task[None]]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.shutdown_grace_s
        busy = sum(len(r.in_flight) for r in runners)
        log.info(f"worker stopping, {busy} task(s) under way", extra={"action": "worker_stopping", "busy": busy})
        for runner in runners:
            runner.stop()
        await asyncio.wait(polls)  # a long poll under way ends within its timeout; its tasks are handed back
        works = [w for r in runners for w in r.in_flight]
        if works:
            await self._wait_unless_hurried(works, deadline - loop.time())
        for runner in runners:
            runner.abandon()
        left = [w for r in runners for w in r.in_flight]
        if left:
            await asyncio.wait(left)
        log.info("worker stopped", extra={"action": "worker_stopped", "handed_back": len(left)})

    async def _wait_unless_hurried(self, works: list[asyncio.Task[None]], timeout: float) -> None:
        """Wait for `works` to end, at most `timeout` seconds, less if a second stop comes."""
        assert self._hurry is not None
        hurry = asyncio.ensure_future(self._hurry.wait())
        ended = asyncio.ensure_future(asyncio.wait(works))  # cancelling this wait leaves the works alone
        try:
            await asyncio.wait([ended, hurry], timeout=max(timeout, 0), return_when=asyncio.FIRST_COMPLETED)
        finally:
            hurry.cancel()
            ended.cancel()
