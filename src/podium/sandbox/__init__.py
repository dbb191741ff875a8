"""The script sandbox: JavaScript (embedded V8) and jq, evaluated in worker processes, never in the
server's own.

Each evaluation has a time and a memory limit; past either, it fails with a reason that names the
limit, and the worker that ran it is replaced (`pool`). Every JavaScript evaluation starts from the
same pristine globals (`lockdown.js`): no workflow sees what another left behind. Evaluating blocks
the calling thread, so it is refused on a thread that runs an event loop.

The worker processes are shared by every `Sandbox` of the process (the server's, the tests' many
apps); each `Sandbox` brings its own limits.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

from podium.engine.scripting import ScriptError, TooSlow
from podium.sandbox.pool import Busy, Pool, WorkerGone
from podium.sandbox.wire import Status

__all__ = ["MB", "Limits", "Sandbox", "ScriptError", "TooSlow", "shared"]

T = TypeVar("T")
MB = 1024 * 1024
SYNTAX_POOL = "js-syntax"  # one worker of its own: a registration never waits behind running scripts
NICENESS = 10  # the workers' default scheduling priority (Limits.niceness)
GRACE_S = 1.0  # a JavaScript worker enforces its time limit itself; it is killed this much later


@dataclass(frozen=True, slots=True)
class Limits:
    time_s: float = 2.0
    memory_bytes: int = 64 * MB
    workers: int = 2  # per runtime (JavaScript, jq) and use (in a unit of work, in the background)
    #: How long a quick evaluation (inside a unit of work, which holds its execution and, on
    #: SQLite, the database's one writer) may take before it is handed on (`TooSlow`).
    quick_s: float = 0.25
    #: The workers' scheduling priority (nice): a spinning script yields the CPU to the server.
    niceness: int = NICENESS


class Sandbox:
    def __init__(self, limits: Limits | None = None, *, deadline: float | None = None, use: str = "") -> None:
        self.limits = limits or Limits()
        self._deadline = deadline
        self._use = use  # names the pools: work in units and work in the background never share workers

    def budgeted(self) -> Sandbox:
        """This sandbox for one engine step: its quick evaluations share one time limit, past which
        the rest are handed on (`TooSlow`), so a step that forks many runaway scripts holds its unit
        of work no longer than one limit. (A loop condition is not quick: each has its own limit.)"""
        return Sandbox(self.limits, deadline=time.monotonic() + self.limits.time_s, use=self._use)

    def background(self) -> Sandbox:
        """This sandbox for work outside any unit (scripts handed on, event conditions): workers of
        its own, so runaway scripts there never keep a unit of work waiting for a worker."""
        return Sandbox(self.limits, use="background-")

    async def off_loop(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`function(*args, **kwargs)`, which may evaluate scripts, on the sandbox's own threads: a
        caller that waits for a busy worker never holds a thread of the loop's default executor
        (SQLite reads and everything else that uses `asyncio.to_thread` go on meanwhile)."""
        call = functools.partial(function, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(_threads, call)

    def javascript(self, script: str, bindings: Any, *, quick: bool = False) -> Any:
        """The value of `script` (an expression or statements, its completion value) with `$` bound
        to `bindings`; `ScriptError` if it does not compile, throws, passes a limit or returns no
        JSON value; with `quick`, `TooSlow` past the quick budget."""
        text = self._call("js", {"op": "eval", "script": script}, _encode(bindings), quick=quick)
        return _decode(text)

    def jq(self, query: str, document: Any, *, quick: bool = False) -> list[Any]:
        """Every value the jq program `query` gives for `document`; `ScriptError` otherwise (and
        `TooSlow` as for `javascript`)."""
        text = self._call("jq", {"op": "jq", "query": query}, _encode(document), quick=quick)
        values = _decode(text)
        return values if isinstance(values, list) else [values]

    def syntax_error(self, source: str) -> str | None:
        """V8's syntax error for `source` as a function body (nothing runs), or None if it parses;
        a check that passes a limit (an enormous script) gives the limit's reason."""
        try:
            text = self._call("js", {"op": "compile"}, _encode(source), pool=SYNTAX_POOL)
        except ScriptError as exc:
            return str(exc)
        return str(_decode(text)) or None

    def _call(self, kind: str, header: dict[str, Any], body: bytes, *, pool: str | None = None,
              quick: bool = False) -> str:
        _refuse_on_event_loop()
        limits = self.limits
        seconds = self._seconds(quick)
        header |= {"time": seconds, "limit": limits.time_s, "memory": limits.memory_bytes}
        request = json.dumps(header).encode() + b"\n" + body
        timeout = seconds + (min(GRACE_S, seconds) if kind == "js" else 0.0)
        try:
            size = 1 if pool == SYNTAX_POOL else limits.workers
            status, text = _pool(pool or self._use + kind, kind, size, limits.niceness).call(
                request, timeout, wait_s=seconds if quick else None)
        except Busy as exc:
            raise TooSlow("every worker is busy") from exc
        except WorkerGone as exc:
            if quick and exc.late and seconds < limits.time_s:
                raise TooSlow(str(exc)) from exc
            raise ScriptError(_gone_reason(kind, limits, exc)) from exc
        if quick and status == Status.LATE and seconds < limits.time_s:
            raise TooSlow(text)
        if status not in (Status.VALUE, Status.TAINTED):
            raise ScriptError(text)
        return text

    def _seconds(self, quick: bool) -> float:
        """How long this evaluation may run: the limit; a quick one, no longer than the quick budget
        and what is left of its step's."""
        if not quick:
            return self.limits.time_s
        seconds = min(self.limits.time_s, self.limits.quick_s)
        if self._deadline is not None:
            seconds = min(seconds, self._deadline - time.monotonic())
            if seconds <= 0:
                raise TooSlow("the step's quick evaluations have used its time limit")
        return seconds


def _gone_reason(kind: str, limits: Limits, exc: WorkerGone) -> str:
    seconds, megabytes = f"{limits.time_s:g} s", limits.memory_bytes // MB
    if kind == "js":
        if exc.late:
            return f"JSTimeoutException: the script ran past its time limit of {seconds} (its runtime was stopped)"
        return (f"JSOOMException: the script's runtime ended before it answered, most likely past its memory "
                f"limit of {megabytes} MB ({exc})")
    if exc.late:
        return f"the jq program ran past its time limit of {seconds} (it was stopped)"
    return f"the jq program used more than its memory limit of {megabytes} MB ({exc})"


def _refuse_on_event_loop() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError("scripts are never evaluated on the event loop: run this on a worker thread")


def _encode(value: Any) -> bytes:
    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS)
    except (orjson.JSONEncodeError, TypeError):  # integers past 64 bits, lone surrogates
        return json.dumps(value, default=str).encode()


def _decode(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # NaN and Infinity from jq, lone surrogates
        return json.loads(text)


_threads = ThreadPoolExecutor(32, thread_name_prefix="podium-script")
_pools: dict[str, Pool] = {}
_pools_lock = threading.Lock()


def _pool(name: str, kind: str, size: int, niceness: int) -> Pool:
    """The process's pool `name` of `kind` workers at `niceness`. Syntax checks have a pool of their
    own, so a registration never waits behind scripts that run to their limit."""
    key = f"{name}@{niceness}"
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = Pool(kind, size, niceness)
        pool.size = max(pool.size, size)
        return pool


@atexit.register
def _close_pools() -> None:
    for pool in _pools.values():
        pool.close()


_shared = Sandbox()


def shared() -> Sandbox:
    """A sandbox with the default limits, for checks that do not run a script (syntax)."""
    return _shared
