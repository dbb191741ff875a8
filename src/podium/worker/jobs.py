"""Starting a task function: a coroutine function as a task on the loop, a plain function on a
thread of its own (a daemon: one that outlives a worker's shutdown does not hold up the exit)."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Awaitable, Callable
from typing import Any


def start(func: Callable[..., Any], is_async: bool, args: list[Any], kwargs: dict[str, Any],
          name: str) -> asyncio.Future[Any]:
    """Run `func(*args, **kwargs)` in a copy of the current context; cancelling the returned future
    cancels a coroutine, and only abandons a thread (threads cannot be stopped)."""
    if is_async:
        coroutine: Awaitable[Any] = func(*args, **kwargs)
        return asyncio.ensure_future(coroutine)
    return _in_thread(func, args, kwargs, name)


def _in_thread(func: Callable[..., Any], args: list[Any], kwargs: dict[str, Any], name: str) -> asyncio.Future[Any]:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    context = contextvars.copy_context()

    def settle(value: Any, exc: BaseException | None) -> None:
        if future.done():  # cancelled: nobody waits for it any more
            return
        if exc is None:
            future.set_result(value)
        else:
            future.set_exception(exc)

    def target() -> None:
        try:
            value, exc = context.run(func, *args, **kwargs), None
        except Exception as error:
            value, exc = None, error
        except BaseException as error:  # SystemExit and the like must not reach the event loop as such
            value, exc = None, RuntimeError(f"{type(error).__name__}: {error}")
        with contextlib.suppress(RuntimeError):  # the loop is closed: the worker is gone
            loop.call_soon_threadsafe(settle, value, exc)

    threading.Thread(target=target, name=name, daemon=True).start()
    return future
