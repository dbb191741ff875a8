"""In-process wake-ups for long polls and the timer loop: a waiter sleeps until notified or timed out.

Between server processes (PostgreSQL) the store adds LISTEN/NOTIFY on top; within one process this
is all it takes, and nothing polls on a fixed interval.

A waiter either watches a channel (every notification wakes it) or is a claimant: a worker's long
poll, which wakes to claim from a queue. A notification that says how many tasks it queued wakes
that many claimants, the longest waiting first, not all of them: with eight pollers waiting on a
queue, one new task woke eight claims of which seven found nothing. A claimant that was woken but
leaves without claiming (its request cancelled) hands the wake-up to the next one. A notification
from another server process says no count: there, every claimant wakes.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable


class Waker:
    def __init__(self) -> None:
        # watchers and claimants of each channel, in the order they began waiting (dicts as ordered sets)
        self._waiters: defaultdict[str, dict[asyncio.Future[None], None]] = defaultdict(dict)
        self._claimants: defaultdict[str, dict[asyncio.Future[None], None]] = defaultdict(dict)
        self._generations: dict[str, int] = {}  # only of channels a loop asked about
        #: Sends each notification to the other server processes too (PostgreSQL's NOTIFY).
        self.broadcast: Callable[[str], None] | None = None

    def generation(self, channel: str) -> int:
        """A count of the channel's notifications: a loop reads it before looking for work, then
        passes it to `wait`, so a notification while it worked is not lost."""
        return self._generations.setdefault(channel, 0)

    async def wait(self, channel: str, timeout: float, *, since: int | None = None, claimant: bool = False) -> bool:
        """True if notified (or notified since generation `since`), False on timeout. A claimant is
        woken only by a notification with a claim left for it (see the module's docstring)."""
        if since is not None and self._generations.get(channel, since) != since:
            return True
        if timeout <= 0:
            return False
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        book = self._claimants if claimant else self._waiters
        book[channel][fut] = None
        try:
            async with asyncio.timeout(timeout):  # not wait_for: on Python 3.11 it returns, swallowing a
                await fut  # cancellation, when the notification lands with it (a loop then never stops)
            return True
        except TimeoutError:
            return False
        except asyncio.CancelledError:
            if claimant and fut.done() and not fut.cancelled():  # woken, but will not claim: the next will
                self._wake_claimants(channel, 1)  # (this one is done: it is passed over)
            raise
        finally:
            waiting = book[channel]
            waiting.pop(fut, None)
            if not waiting:
                del book[channel]

    def notify(self, channel: str, claims: int | None = None) -> None:
        """Wake the channel's watchers, and `claims` of its claimants (None: all of them)."""
        if self.broadcast is not None:
            self.broadcast(channel)  # another process hears the channel only: its claimants all wake
        self.notify_here(channel, claims)

    def notify_here(self, channel: str, claims: int | None = None) -> None:
        """Wake this process's waiters only (a notification that came from another process)."""
        if channel in self._generations:
            self._generations[channel] += 1
        for fut in self._waiters.get(channel, ()):
            if not fut.done():
                fut.set_result(None)
        self._wake_claimants(channel, claims)

    def _wake_claimants(self, channel: str, claims: int | None) -> None:
        left = claims
        for fut in self._claimants.get(channel, ()):
            if left is not None and left <= 0:
                return
            if not fut.done():
                fut.set_result(None)
                left = None if left is None else left - 1

    def has_waiters(self, channel: str) -> bool:
        return bool(self._waiters.get(channel) or self._claimants.get(channel))
