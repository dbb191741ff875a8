"""One command as a subprocess in its own process group, driven by asyncio.

The process is started with `start_new_session`, so it leads a new process group and everything it
starts stays in that group: `kill()`, `pause()` and `resume()` signal the whole group. When the
leader exits, whatever it left running in the group is killed too (a container's teardown does the
same), so no stray grandchild keeps the output pipes open.

Output is read as lines, handed to `on_line` as they come, and the last `capture_bytes` of each
stream are kept for the result. `on_chunk` sees the raw bytes as read, for a caller that keeps its
own exact copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import signal
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from podium.agent.errors import LaunchError

logger = logging.getLogger(__name__)

DEFAULT_KILL_GRACE = 10.0
DEFAULT_CAPTURE_BYTES = 64 * 1024
MAX_LINE_BYTES = 64 * 1024
_READ_CHUNK = 64 * 1024
_POLL_S = 0.02
_DRAIN_S = 5.0  # after the group is gone, how long to wait for the pipes to close


class Stream(enum.StrEnum):
    STDOUT = "stdout"
    STDERR = "stderr"


LineSink = Callable[[Stream, str], None]
ChunkSink = Callable[[Stream, bytes], None]


@dataclass(frozen=True)
class Command:
    """What to run: `env` is the whole environment (None inherits the agent's)."""

    path: str
    args: Sequence[str] = ()
    dir: str | None = None
    env: Mapping[str, str] | None = None


@dataclass(frozen=True)
class ProcessResult:
    exit_code: int  # negative: killed by that signal number (asyncio's convention)
    stdout: str
    stderr: str
    timed_out: bool = False
    killed: bool = False


class _Tail:
    """The last `limit` bytes of a stream, kept as whole lines."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.lines: deque[str] = deque()
        self.size = 0

    def add(self, line: str) -> None:
        self.lines.append(line)
        self.size += len(line) + 1
        while self.size > self.limit and self.lines:
            self.size -= len(self.lines.popleft()) + 1

    def text(self) -> str:
        return "\n".join(self.lines)


class Process:
    """A started command. Use `start()` then `wait()`, or the `run()` helper below."""

    def __init__(self, command: Command, *, on_line: LineSink | None = None, on_chunk: ChunkSink | None = None,
                 kill_grace: float = DEFAULT_KILL_GRACE, capture_bytes: int = DEFAULT_CAPTURE_BYTES) -> None:
        self.command = command
        self.on_line = on_line
        self.on_chunk = on_chunk
        self.kill_grace = kill_grace
        self._tails = {Stream.STDOUT: _Tail(capture_bytes), Stream.STDERR: _Tail(capture_bytes)}
        self._proc: asyncio.subprocess.Process | None = None
        self._readers: list[asyncio.Task[None]] = []
        self._killing: asyncio.Task[None] | None = None
        self._killed = False
        self._finished = False

    @property
    def pid(self) -> int:
        return self._started.pid

    @property
    def _started(self) -> asyncio.subprocess.Process:
        if self._proc is None:
            raise RuntimeError("the process is not started")
        return self._proc

    async def start(self) -> None:
        command = self.command
        try:
            self._proc = await asyncio.create_subprocess_exec(
                command.path, *command.args, cwd=command.dir or None, env=command.env,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, start_new_session=True)
        except (OSError, ValueError) as exc:
            raise _launch_error(command, exc) from exc
        proc = self._proc
        assert proc.stdout is not None and proc.stderr is not None
        self._readers = [asyncio.create_task(self._pump(proc.stdout, Stream.STDOUT)),
                         asyncio.create_task(self._pump(proc.stderr, Stream.STDERR))]
        logger.debug("process started", extra={"action": "process_start", "pid": proc.pid, "path": command.path})

    async def wait(self, timeout: float | None = None) -> ProcessResult:
        """Wait for the leader to exit; past `timeout` seconds kill the group and report `timed_out`."""
        timed_out = False
        try:
            async with asyncio.timeout(timeout):
                await self._exited()
        except TimeoutError:
            timed_out = True
            await self.kill()
        code = await self._exited()
        await self._finish()
        return ProcessResult(code, self._tails[Stream.STDOUT].text(), self._tails[Stream.STDERR].text(),
                             timed_out=timed_out, killed=self._killed)

    async def _exited(self) -> int:
        """The leader's exit code. (asyncio's own `wait()` also waits for the pipes to close, which a
        grandchild holding them open would put off.)"""
        proc = self._started
        if proc.returncode is None:
            await _until_exit(proc)
        while proc.returncode is None:  # the child watcher reaps it a moment after the pidfd says so
            await asyncio.sleep(0.002)
        return proc.returncode

    async def kill(self) -> None:
        """SIGTERM to the group, SIGKILL after `kill_grace` seconds if anything is left. Idempotent."""
        if self._finished:
            return
        if self._killing is None:
            self._killing = asyncio.create_task(self._terminate())
        await asyncio.shield(self._killing)

    def pause(self) -> None:
        """SIGSTOP to the group; nothing once a kill has begun, so a pause never undoes its SIGCONT."""
        if not self._killed:
            self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    async def _terminate(self) -> None:
        self._killed = True
        self._signal(signal.SIGTERM)
        self._signal(signal.SIGCONT)  # a paused group only acts on the TERM once it runs again
        logger.debug("process terminated", extra={"action": "process_term", "pid": self.pid})
        if await self._gone_within(self.kill_grace):
            return
        self._signal(signal.SIGKILL)
        logger.info("process killed after grace", extra={"action": "process_kill", "pid": self.pid,
                                                         "grace_s": self.kill_grace})
        await self._gone_within(_DRAIN_S)

    async def _gone_within(self, seconds: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not self._gone():
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(_POLL_S)
        return True

    def _gone(self) -> bool:
        return self._started.returncode is not None and not group_alive(self.pid)

    async def _finish(self) -> None:
        """The leader has exited: kill what it left in the group, then read the pipes to their end."""
        if group_alive(self.pid):
            self._signal(signal.SIGKILL)
            await self._gone_within(_DRAIN_S)
        _, pending = await asyncio.wait(self._readers, timeout=_DRAIN_S)
        for task in pending:  # something outside the group holds a pipe open
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        self._finished = True
        if not pending:  # the pipes are closed: let asyncio's transport finish too
            await self._started.wait()
        else:  # stop reading them: their file descriptors are closed now, not when collected
            for reader in (self._started.stdout, self._started.stderr):
                transport = getattr(reader, "_transport", None)  # asyncio gives the reader no close()
                if transport is not None:
                    transport.close()

    def _signal(self, sig: signal.Signals) -> None:
        if self._finished:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    async def _pump(self, reader: asyncio.StreamReader, stream: Stream) -> None:
        pending = b""
        while chunk := await reader.read(_READ_CHUNK):
            self._hand_chunk(stream, chunk)
            *lines, pending = (pending + chunk).split(b"\n")
            for raw in lines:
                self._emit(stream, raw)
            while len(pending) > MAX_LINE_BYTES:  # a very long line comes out in pieces
                self._emit(stream, pending[:MAX_LINE_BYTES])
                pending = pending[MAX_LINE_BYTES:]
        if pending:
            self._emit(stream, pending)

    def _hand_chunk(self, stream: Stream, chunk: bytes) -> None:
        if self.on_chunk is None:
            return
        try:
            self.on_chunk(stream, chunk)
        except Exception:
            logger.exception("output callback failed", extra={"action": "process_output_error"})

    def _emit(self, stream: Stream, raw: bytes) -> None:
        line = raw.decode("utf-8", errors="replace").removesuffix("\r")
        self._tails[stream].add(line)
        if self.on_line is None:
            return
        try:
            self.on_line(stream, line)
        except Exception:
            logger.exception("output callback failed", extra={"action": "process_output_error"})


async def _until_exit(proc: asyncio.subprocess.Process) -> None:
    """Return once the process has exited: its pidfd turns readable (Linux), or by polling elsewhere."""
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        while proc.returncode is None:
            await asyncio.sleep(_POLL_S)
        return
    loop = asyncio.get_running_loop()
    exited: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not exited.done():
            exited.set_result(None)

    loop.add_reader(fd, readable)
    try:
        await exited
    finally:
        loop.remove_reader(fd)
        os.close(fd)


async def run(command: Command, *, timeout: float | None = None, on_line: LineSink | None = None,
              kill_grace: float = DEFAULT_KILL_GRACE, capture_bytes: int = DEFAULT_CAPTURE_BYTES) -> ProcessResult:
    """Start `command` and wait for it. Cancelling the caller kills the process group first."""
    process = Process(command, on_line=on_line, kill_grace=kill_grace, capture_bytes=capture_bytes)
    await process.start()
    try:
        return await process.wait(timeout)
    except asyncio.CancelledError:
        await _kill_and_reap(process)
        raise


async def _kill_and_reap(process: Process) -> None:
    await process.kill()
    await process.wait()


def group_alive(pgid: int) -> bool:
    """True while a live process (not a zombie) is in the group.

    Orphans are reparented to init, and an init that does not reap leaves zombies behind; they
    still count for `killpg(pgid, 0)`, so on Linux the group's members are looked up in /proc.
    """
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    return any(_live_member(entry, pgid) for entry in proc.iterdir() if entry.name.isdigit())


def _live_member(entry: Path, pgid: int) -> bool:
    try:
        stat = (entry / "stat").read_text()
    except OSError:
        return False
    fields = stat[stat.rfind(")") + 2:].split()  # state ppid pgrp ...
    return len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X")


def _launch_error(command: Command, exc: OSError | ValueError) -> LaunchError:
    if isinstance(exc, OSError) and command.dir and exc.filename == command.dir:
        return LaunchError(f"cannot use directory {command.dir!r}: {exc.strerror}")
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return LaunchError(f"cannot run {command.path!r}: {reason}")
