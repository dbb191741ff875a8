"""In-process wake-ups for long polls and the timer loop: a waiter sleeps until notified or timed out.

Between server processes (PostgreSQL) the store adds LISTEN/NOTIFY on top; within one process this
is all it takes, and nothing polls on a fixed interval.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable


class Waker:
    def __init__(self) -> None:
        self._waiters: defaultdict[str, set[asyncio.Future[None]]] = defaultdict(set)
        self._generations: dict[str, int] = {}  # only of channels a loop asked about
        #: Sends each notification to the other server processes too (PostgreSQL's NOTIFY).
        self.broadcast: Callable[[str], None] | None = None

    def generation(self, channel: str) -> int:
        """A count of the channel's notifications: a loop reads it before looking for work, then
        passes it to `wait`, so a notification while it worked is not lost."""
        return self._generations.setdefault(channel, 0)

    async def wait(self, channel: str, timeout: float, *, since: int | None = None) -> bool:
        """True if notified (or notified since generation `since`), False on timeout."""
        if since is not None and self._generations.get(channel, since) != since:
            return True
        if timeout <= 0:
            return False
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters = self._waiters[channel]
        waiters.add(fut)
        try:
            async with asyncio.timeout(timeout):  # not wait_for: on Python 3.11 it returns, swallowing a
                await fut  # cancellation, when the notification lands with it (a loop then never stops)
            return True
        except TimeoutError:
            return False
        finally:
            waiters.discard(fut)
            if not waiters:
                self._waiters.pop(channel, None)

    def notify(self, channel: str) -> None:
        if self.broadcast is not None:
            self.broadcast(channel)
        self.notify_here(channel)

    def notify_here(self, channel: str) -> None:
        """Wake this process's waiters only (a notification that came from another process)."""
        if channel in self._generations:
            self._generations[channel] += 1
        for fut in self._waiters.get(channel, ()):
            if not fut.done():
                fut.set_result(None)

    def has_waiters(self, channel: str) -> bool:
        return bool(self._waiters.get(channel))
