"""Worker processes for one kind of runtime (js or jq), used by one thread at a time each.

A caller takes an idle worker (or starts one, up to the pool's size; past it, it waits), sends its
request and waits for the answer until its deadline. A worker that answers late is killed; one
that passed a limit, died or cannot be made pristine is stopped; either way a new one starts when
next needed, so no runtime that misbehaved is reused. Callers block: they run on worker threads,
never on the event loop.
"""

from __future__ import annotations

import logging
import os
import select
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from podium.sandbox.wire import HEAD_SIZE, Status, frame_length, write_frame

log = logging.getLogger(__name__)

START_TIMEOUT_S = 30.0


class WorkerGone(Exception):
    """The worker did not answer in time, or ended without answering (`unsent`: before it was
    given the request, so it was not the request's doing)."""

    def __init__(self, message: str, *, late: bool, unsent: bool = False) -> None:
        super().__init__(message)
        self.late = late
        self.unsent = unsent


class Busy(Exception):
    """No worker became free within the time the caller could wait."""


# Workers are started from one thread that lives as long as the process: a worker asks the kernel
# to kill it when the thread that started it ends (PR_SET_PDEATHSIG), and the threads that
# evaluate scripts come and go with their executors.
_spawner = ThreadPoolExecutor(1, thread_name_prefix="podium-sandbox-spawner")


def _spawn(kind: str, niceness: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "podium.sandbox.worker", kind, str(niceness)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, close_fds=True)


class Worker:
    def __init__(self, kind: str, niceness: int) -> None:
        self.kind = kind
        self.process = _spawner.submit(_spawn, kind, niceness).result()
        assert self.process.stdin is not None and self.process.stdout is not None
        self._requests = self.process.stdin.fileno()
        self._replies = self.process.stdout.fileno()
        self._poller = select.poll()
        self._poller.register(self._replies, select.POLLIN)
        try:
            status, text = self._answer(time.monotonic() + START_TIMEOUT_S)
            if status != Status.READY:
                raise WorkerGone(f"the {kind} sandbox did not start: {text}", late=False)
        except BaseException:
            self.stop()
            raise

    def call(self, request: bytes, timeout_s: float) -> tuple[Status, str]:
        deadline = time.monotonic() + timeout_s
        try:
            write_frame(self._requests, request)
        except OSError as exc:
            raise WorkerGone(f"its worker ended: {exc}", late=False, unsent=True) from exc
        return self._answer(deadline)

    def _answer(self, deadline: float) -> tuple[Status, str]:
        head = self._read(HEAD_SIZE, deadline)
        body = self._read(frame_length(head), deadline)
        return Status(body[:1]), body[1:].decode("utf-8", "surrogatepass")

    def _read(self, size: int, deadline: float) -> bytes:
        chunks: list[bytes] = []
        poller = self._poller
        while size:
            left = deadline - time.monotonic()
            if left <= 0 or not poller.poll(left * 1000):
                raise WorkerGone("its worker did not answer in time", late=True)
            chunk = os.read(self._replies, min(size, 1 << 20))
            if not chunk:
                raise WorkerGone(f"its worker ended: {self._exit_status()}", late=False)
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def _exit_status(self) -> str:
        try:
            code = self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return "still running"
        return f"signal {-code}" if code < 0 else f"exit code {code}"

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


class Pool:
    def __init__(self, kind: str, size: int, niceness: int) -> None:
        self.kind = kind
        self.size = size
        self.niceness = niceness
        self._idle: list[Worker] = []
        self._running = 0  # idle, busy and starting
        self._starting = 0  # spares being started in the background
        self._changed = threading.Condition()

    def call(self, request: bytes, timeout_s: float, *, wait_s: float | None = None) -> tuple[Status, str]:
        """The worker's answer; `WorkerGone` if it was late or died (it is then replaced). A worker
        found dead before it was given the request is replaced and the request sent again."""
        try:
            return self._call_once(request, timeout_s, wait_s)
        except WorkerGone as exc:
            if not exc.unsent:
                raise
        return self._call_once(request, timeout_s, wait_s)

    def _call_once(self, request: bytes, timeout_s: float, wait_s: float | None) -> tuple[Status, str]:
        worker = self._take(wait_s)
        healthy = False
        try:
            status, text = worker.call(request, timeout_s)
            healthy = status in (Status.VALUE, Status.ERROR)  # LIMIT, LATE, TAINTED: stopped
            return status, text
        finally:
            self._give_back(worker, healthy)

    def _take(self, wait_s: float | None) -> Worker:
        """An idle worker, or a new one below the pool's size; past it, wait up to `wait_s` (or as
        long as it takes) for one to be given back."""
        with self._changed:
            # A spare on its way is sooner than a new worker: wait for it rather than start another.
            if not self._changed.wait_for(lambda: self._idle or (self._running < self.size and not self._starting),
                                          wait_s):
                raise Busy(f"no {self.kind} worker was free within {wait_s:g} s")
            if self._idle:
                return self._idle.pop()
            self._running += 1
        try:
            return Worker(self.kind, self.niceness)
        except BaseException:
            self._give_back(None, False)
            raise

    def _give_back(self, worker: Worker | None, healthy: bool) -> None:
        if worker is not None and not healthy:
            log.info("sandbox worker replaced", extra={"action": "sandbox_worker_replaced", "kind": self.kind})
            worker.stop()
        with self._changed:
            if worker is not None and healthy:
                self._idle.append(worker)
            else:
                self._running -= 1
            self._changed.notify()
        if worker is not None and not healthy:
            self._start_spare()

    def _start_spare(self) -> None:
        """Start a worker in the background, so the next caller does not wait for one to start."""
        with self._changed:
            if self._running >= self.size:
                return
            self._running += 1
            self._starting += 1
        threading.Thread(target=self._add_spare, name="podium-sandbox-spare", daemon=True).start()

    def _add_spare(self) -> None:
        try:
            worker: Worker | None = Worker(self.kind, self.niceness)
        except BaseException:
            worker = None
        with self._changed:
            self._starting -= 1
            if worker is not None:
                self._idle.append(worker)
            else:
                self._running -= 1
            self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            idle, self._idle = self._idle, []
            self._running -= len(idle)
        for worker in idle:
            worker.stop()
