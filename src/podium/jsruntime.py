"""The one embedded V8 (mini-racer) of the process, shared by registration checks and the engine.

mini-racer does not survive several contexts in one process, nor creating many in turn, and a
context built on the server's event-loop thread binds to that loop; so one context is built once,
on a thread of its own, every use takes the lock, and it is closed at exit.
"""

from __future__ import annotations

import atexit
import functools
import threading
from typing import Any

from py_mini_racer import MiniRacer

_lock = threading.Lock()


@functools.cache
def _context() -> MiniRacer:
    built: list[MiniRacer] = []
    thread = threading.Thread(target=lambda: built.append(MiniRacer()), daemon=True)
    thread.start()
    thread.join()
    context = built[0]
    # An evaluation cut off by its time limit still owes V8 a callback; closing the context
    # before the interpreter tears down settles it (left open, the exit hangs or segfaults).
    atexit.register(context.close)
    return context


def run(code: str, *, timeout_s: float, max_memory: int | None = None) -> Any:
    """Evaluate `code` in the shared context; mini-racer's exceptions pass through."""
    with _lock:
        return _context().eval(code, timeout_sec=timeout_s, max_memory=max_memory)
