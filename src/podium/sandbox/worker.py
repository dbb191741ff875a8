"""A sandbox worker: `python -m podium.sandbox.worker js|jq`.

It answers one request at a time on its standard input and output (`podium.sandbox.wire`), and
holds one runtime: a V8 context locked down by `lockdown.js` (js), or the jq library (jq). The
server kills it when an answer is late, and replaces it after any `LIMIT`, `LATE` or `TAINTED`
answer, so a runtime that ran past a limit is never used again. It dies with the server
(PR_SET_PDEATHSIG), ignores the terminal's Ctrl-C (the server decides when it ends), and runs at a
lower CPU priority than the server, so a script spinning to its limit does not starve the server's
event loop on a machine with few cores.
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import resource
import signal
import sys
import time
from importlib import resources
from typing import Any

from podium.sandbox.wire import Status, read_frame, write_frame

Reply = tuple[Status, str]

_PR_SET_PDEATHSIG = 1
_MB = 1024 * 1024

# The script runs in a function of its own (its `var`s stay there), with `$` its bindings; the
# outer function turns its value into JSON with the frozen JSON.stringify the script cannot shadow.
_WRAPPER = ("(function () { var __r = (function () { var $ = %s; return eval(%s); })(); "
            "return __r === undefined ? 'null' : JSON.stringify(__r); })()")
_COMPILE = "JSON.stringify((function (s) { try { new Function(s); return ''; } catch (e) { return String(e); } })(%s))"


def _seconds(limit: float) -> str:
    return f"{limit:g} s"


class JavaScript:
    def __init__(self) -> None:
        from py_mini_racer import MiniRacer

        self.context = MiniRacer()
        self.context.eval(resources.files("podium.sandbox").joinpath("lockdown.js").read_text())

    def handle(self, header: dict[str, Any], body: bytes) -> Reply:
        from py_mini_racer import JSOOMException, JSTimeoutException

        limit, memory = float(header["time"]), int(header["memory"])
        if header["op"] == "compile":
            code = _COMPILE % body.decode()
        else:
            code = _WRAPPER % (body.decode(), json.dumps(header["script"]))
        started = time.monotonic()
        try:
            value = self.context.eval(code, timeout_sec=limit, max_memory=memory)
            # Promise reactions run before the next evaluation: this one waits for them (within
            # what is left of the limit), then clears what the script left on the global object.
            left = max(limit - (time.monotonic() - started), 0.05)
            clean = self.context.eval("__podium_reset()", timeout_sec=left, max_memory=memory)
        except JSTimeoutException:
            return Status.LATE, (f"JSTimeoutException: the script ran past its time limit of "
                                  f"{_seconds(float(header.get('limit', limit)))}")
        except JSOOMException:
            return Status.LIMIT, f"JSOOMException: the script used more than its memory limit of {memory // _MB} MB"
        except Exception as exc:  # mini-racer's own tree: parse and evaluation errors
            return Status.ERROR, f"{type(exc).__name__}: {exc}"
        if not isinstance(value, str):
            return Status.ERROR, "the script's value cannot be expressed as JSON"
        return (Status.VALUE if clean is True else Status.TAINTED), value


@functools.lru_cache(maxsize=256)
def _program(query: str) -> Any:
    import jq

    return jq.compile(query)


def _address_space() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


class Jq:
    """jq has no limits of its own: memory is bounded by the process's address space (set anew for
    each request, above what the process and its document already take), time by the server,
    which kills the worker when the answer is late."""

    def __init__(self) -> None:
        import jq  # noqa: F401  (loaded before the first request, outside its memory limit)

    def handle(self, header: dict[str, Any], body: bytes) -> Reply:
        memory = int(header["memory"])
        try:
            program = _program(header["query"])
        except ValueError as exc:
            return Status.ERROR, str(exc)
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (_address_space() + memory + 4 * len(body), hard))
        try:
            values = program.input_text(body.decode()).all()
            text = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
        except MemoryError:
            return Status.LIMIT, f"the jq program used more than its memory limit of {memory // _MB} MB"
        except ValueError as exc:
            return Status.ERROR, str(exc)
        finally:
            resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
        if len(text) > memory:
            return Status.LIMIT, f"the jq program's output is larger than its memory limit of {memory // _MB} MB"
        return Status.VALUE, text


_RUNTIMES: dict[str, type[JavaScript] | type[Jq]] = {"js": JavaScript, "jq": Jq}


def serve(kind: str, requests: int, replies: int) -> None:
    runtime = _RUNTIMES[kind]()
    write_frame(replies, Status.READY.value)
    while (frame := read_frame(requests)) is not None:
        line, _, body = frame.partition(b"\n")
        status, text = runtime.handle(json.loads(line), body)
        write_frame(replies, status.value + text.encode("utf-8", "surrogatepass"))
        if status in (Status.LIMIT, Status.LATE, Status.TAINTED):
            return


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.nice(int(sys.argv[2]))  # a spinning script yields the CPU to the server's event loop
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the server died before the line above took effect
        return
    replies = os.dup(1)
    os.dup2(2, 1)  # a stray print must not corrupt the replies
    serve(sys.argv[1], 0, replies)


if __name__ == "__main__":
    main()
