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

from podium.engine.scripting import ScriptError
from podium.sandbox.pool import Pool, WorkerGone
from podium.sandbox.wire import Status

__all__ = ["Limits", "Sandbox", "ScriptError", "shared"]

T = TypeVar("T")
MB = 1024 * 1024
GRACE_S = 1.0  # a JavaScript worker enforces its time limit itself; it is killed this much later


@dataclass(frozen=True, slots=True)
class Limits:
    time_s: float = 2.0
    memory_bytes: int = 64 * MB
    workers: int = 2  # per runtime (JavaScript, jq): evaluations that run at once


class Sandbox:
    def __init__(self, limits: Limits | None = None, *, deadline: float | None = None) -> None:
        self.limits = limits or Limits()
        self._deadline = deadline

    def budgeted(self) -> Sandbox:
        """This sandbox for one engine step: all the scripts the step evaluates share one time
        limit, so a step that forks many runaway scripts holds its unit of work no longer than one."""
        return Sandbox(self.limits, deadline=time.monotonic() + self.limits.time_s)

    async def off_loop(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)`, which may evaluate scripts, on the sandbox's own threads: a caller that
        waits for a busy worker never holds a thread of the loop's default executor (SQLite reads
        and everything else that uses `asyncio.to_thread` go on meanwhile)."""
        return await asyncio.get_running_loop().run_in_executor(_threads, functools.partial(function, *args))

    def javascript(self, script: str, bindings: Any) -> Any:
        """The value of `script` (an expression or statements, its completion value) with `$` bound
        to `bindings`; `ScriptError` if it does not compile, throws, passes a limit or returns no
        JSON value."""
        text = self._call("js", {"op": "eval", "script": script}, _encode(bindings))
        return _decode(text)

    def jq(self, query: str, document: Any) -> list[Any]:
        """Every value the jq program `query` gives for `document`; `ScriptError` otherwise."""
        text = self._call("jq", {"op": "jq", "query": query}, _encode(document))
        values = _decode(text)
        return values if isinstance(values, list) else [values]

    def syntax_error(self, source: str) -> str | None:
        """V8's syntax error for `source` as a function body (nothing runs), or None if it parses;
        a check that passes a limit (an enormous script) gives the limit's reason."""
        try:
            text = self._call("js", {"op": "compile"}, _encode(source), pool="js-syntax")
        except ScriptError as exc:
            return str(exc)
        return str(_decode(text)) or None

    def _call(self, kind: str, header: dict[str, Any], body: bytes, *, pool: str | None = None) -> str:
        _refuse_on_event_loop()
        limits = self.limits
        seconds = limits.time_s
        if self._deadline is not None:
            seconds = min(seconds, self._deadline - time.monotonic())
            if seconds <= 0:
                raise ScriptError(f"the scripts of this step ran past their time limit of {limits.time_s:g} s")
        header |= {"time": seconds, "limit": limits.time_s, "memory": limits.memory_bytes}
        request = json.dumps(header).encode() + b"\n" + body
        timeout = seconds + (GRACE_S if kind == "js" else 0.0)
        try:
            status, text = _pool(pool or kind, kind, limits.workers).call(request, timeout)
        except WorkerGone as exc:
            raise ScriptError(_gone_reason(kind, limits, exc)) from exc
        if status not in (Status.VALUE, Status.TAINTED):
            raise ScriptError(text)
        return text


def _gone_reason(kind: str, limits: Limits, exc: WorkerGone) -> str:
    seconds, megabytes = f"{limits.time_s:g} s", limits.memory_bytes // MB
    if kind == "js":
        if exc.late:
            return f"JSTimeoutException: the script ran past its time limit of {seconds} (its runtime was stopped)"
        return f"JSOOMException: the script's runtime ended, past its memory limit of {megabytes} MB? ({exc})"
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


def _pool(name: str, kind: str, size: int) -> Pool:
    """The process's pool `name` of `kind` workers. Syntax checks have a pool of their own, so a
    registration never waits behind scripts that run to their limit."""
    with _pools_lock:
        pool = _pools.get(name)
        if pool is None:
            pool = _pools[name] = Pool(kind, size)
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
