"""In-process wake-ups for long polls and the timer loop: a waiter sleeps until notified or timed out.

Between server processes (PostgreSQL) the store adds LISTEN/NOTIFY on top; within one process this
is all it takes, and nothing polls on a fixed interval.

A waiter either watches a channel (every notification wakes it) or is a claimant: a worker's long
poll, which wakes to claim from a queue. A notification that says how many tasks it queued wakes
that many claimants, the longest waiting first, not all of them: with eight pollers waiting on a
queue, one new task woke eight claims of which seven found nothing. A claimant that was woken but
leaves without claiming (its request cancelled) hands the wake-up to the next one. A notification
from another server process says no count: there, every claimant wakes (carrying the count there
too was measured slower with two servers: docs/benchmarks.md, "Two servers").

A unit of work that schedules a task while a claimant waits on its queue may hand the task to it
directly (`take`): the task is claimed in that unit's own transaction instead of being queued,
and the claimant receives it once the unit commits (`Claimant.hand`), or is woken to claim
afresh if it does not (`Claimant.let_go`). A claimant being handed tasks is off the list: no
notification wakes it, no other unit takes it, and its timeout waits for the unit to end.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from typing import TypeVar

from podium.model.records import Task

K = TypeVar("K")
V = TypeVar("V")

HELD_S = 30.0  # how long a claimant whose timeout passed waits at most for the unit handing it tasks


class Claimant:
    """A worker's long poll on one queue: who it is and how many tasks it takes at once."""

    __slots__ = ("future", "held", "room", "taken", "timer", "worker_id")

    def __init__(self, worker_id: str | None, room: int, future: asyncio.Future[list[Task]]) -> None:
        self.worker_id = worker_id
        self.room = room
        self.future = future
        self.held = False  # taken by a unit, which hands it tasks or lets it go when it ends
        self.taken: list[Task] = []
        self.timer: asyncio.TimerHandle | None = None  # its timeout, then how long it waits for a unit

    def expire(self) -> None:
        """Its time is up: it claims once more and returns; one being handed tasks waits for the
        unit to end instead (at most HELD_S more)."""
        if self.held:
            self.timer = asyncio.get_running_loop().call_later(HELD_S, self.let_go)
        elif not self.future.done():
            self.future.set_result([])

    def hand(self) -> None:
        """The unit that took it committed: the claimant has its tasks."""
        if not self.future.done():
            self.future.set_result(self.taken)

    def let_go(self) -> None:
        """The unit that took it did not commit: the claimant claims again."""
        self.taken = []
        if not self.future.done():
            self.future.set_result([])


class Waker:
    def __init__(self) -> None:
        # watchers and claimants of each channel, in the order they began waiting (dicts as ordered sets)
        self._waiters: defaultdict[str, dict[asyncio.Future[None], None]] = defaultdict(dict)
        self._claimants: defaultdict[str, dict[asyncio.Future[list[Task]], Claimant]] = defaultdict(dict)
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
        self._waiters[channel][fut] = None
        try:
            async with asyncio.timeout(timeout):  # not wait_for: on Python 3.11 it returns, swallowing a
                await fut  # cancellation, when the notification lands with it (a loop then never stops)
            return True
        except TimeoutError:
            return False
        finally:
            self._forget(self._waiters, channel, fut)

    async def wait_to_claim(self, channel: str, timeout: float, *, since: int | None = None,
                            worker_id: str | None = None, room: int = 1) -> list[Task]:
        """Wait as a claimant (see the module's docstring): the tasks a unit handed it, claimed for
        it already; or none, when it was notified (since `since`), woken, or timed out, and should
        claim again."""
        if since is not None and self._generations.get(channel, since) != since:
            return []
        if timeout <= 0:
            return []
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[list[Task]] = loop.create_future()
        claimant = Claimant(worker_id, room, fut)
        self._claimants[channel][fut] = claimant
        claimant.timer = loop.call_later(timeout, claimant.expire)  # not a cancellation: a unit may hand it tasks
        try:
            return await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled() and not claimant.held:  # woken, but will not claim:
                self._wake_claimants(channel, 1)  # the next will (this one is done: it is passed over)
            raise  # (one cancelled while being handed tasks leaves them to their response timeout)
        finally:
            claimant.timer.cancel()
            self._forget(self._claimants, channel, fut)

    def take(self, channel: str) -> Claimant | None:
        """The longest waiting claimant of the channel that nothing has woken or taken, taken off
        the list for a unit to hand tasks to (`Claimant.taken`); the unit must hand it or let it go."""
        for claimant in self._claimants.get(channel, {}).values():
            if not claimant.future.done() and not claimant.held:
                claimant.held = True
                self._forget(self._claimants, channel, claimant.future)
                return claimant
        return None

    @staticmethod
    def _forget(book: defaultdict[str, dict[K, V]], channel: str, key: K) -> None:
        waiting = book.get(channel)
        if waiting is not None:
            waiting.pop(key, None)
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
                fut.set_result([])
                left = None if left is None else left - 1

    def claimants(self, channel: str) -> int:
        """How many claimants wait on the channel (woken ones that have not claimed yet included)."""
        return len(self._claimants.get(channel, ()))

    def has_waiters(self, channel: str) -> bool:
        return bool(self._waiters.get(channel) or self._claimants.get(channel))
