"""Wake-ups between server processes on one PostgreSQL database, as `NOTIFY podium '<origin>
<channel> <channel> ...'` (each channel percent-encoded: a task type's name may hold a space), and
knowing whether anyone else is there to hear them.

A wake-up matters only to another server process: this one's own waiters are woken in process.
A server alone on its database (the usual deployment) would pay a pooled connection and a round
trip per flush for nobody, so each server's listener says it is there (`__here__`) as soon as it
listens and every `HERE_EVERY_S` after, and a server sends wake-ups only while it has heard another
origin within `PEER_TTL_S`. A server that joins is heard within milliseconds of its LISTEN, and is
answered with a `__here__` of each server that had not heard it yet; what was notified in those
milliseconds is found by the waits' own periodic look (at least every second).
Invalidations (`always`: definitions, secrets) are sent whether or not anyone was heard: a server
that has not spoken yet must still drop its caches.

A server's `__here__` also says that it counts executions' revisions (`__revisions__`, migration
21): a worker's update may read its execution without the lock only while every server on the
database counts them (`store.pg_unit`), so a server that has heard one that does not (an older
version, during a rolling upgrade) reads locked until that one has been silent for `PEER_TTL_S`,
and so does a server that has listened for less than `ANSWERED_S` (the others have not answered
its first `__here__` yet).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Collection
from urllib.parse import quote, unquote

from podium.errors import StoreError
from podium.store.port import Store

NOTIFY_CHANNEL = "podium"
HERE = "__here__"
REVISIONS = "__revisions__"  # with HERE: this server counts executions' revisions
HERE_EVERY_S = 5.0
PEER_TTL_S = 3 * HERE_EVERY_S  # three missed `__here__`s: the other server is gone
MAX_PAYLOAD = 7900  # NOTIFY's payload limit is 8000 bytes
ANSWERED_S = 1.0  # after its LISTEN, a server has heard every other's answer (they come within milliseconds)


class Broadcaster:
    """Local notifications are sent batched per turn of the event loop; notifications from other
    processes are handed to `deliver`."""

    def __init__(self, store: Store, unavailable: tuple[type[BaseException], ...] = ()) -> None:
        self.store = store
        self.origin = f"{os.getpid()}-{id(self):x}"
        self.deliver: Callable[[str], None] | None = None
        self.always: Collection[str] = ()  # channels sent even with no other server heard
        self._unavailable = unavailable
        self._pending: set[str] = set()
        self._flushing: asyncio.Task[None] | None = None
        self._heard_until = 0.0  # time.monotonic() until which another server counts as present
        self._heard: dict[str, float] = {}  # other origins, when last heard (time.monotonic())
        self._answering: set[asyncio.Task[None]] = set()
        self._listening_since: float | None = None  # time.monotonic() of the listener's LISTEN
        self._uncounted_until = 0.0  # until when a server that counts no revisions counts as present

    def listening(self, listens: bool) -> None:
        """The listener's LISTEN began (True) or its connection was lost (False)."""
        self._listening_since = time.monotonic() if listens else None

    @property
    def revisions_counted(self) -> bool:
        """Whether every server on the database counts executions' revisions, as far as this one knows."""
        now = time.monotonic()
        return (self._listening_since is not None and now - self._listening_since >= ANSWERED_S
                and now >= self._uncounted_until)

    @property
    def alone(self) -> bool:
        """No other server process heard within PEER_TTL_S."""
        return time.monotonic() >= self._heard_until

    def send(self, channel: str) -> None:
        if self.alone and channel not in self.always:
            return
        self._pending.add(channel)
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # gather what this turn of the loop notifies
        while self._pending:  # what was sent while a NOTIFY was on its way goes in the next round
            channels, self._pending = sorted(self._pending), set()
            await self._notify(self.payloads(channels))

    async def _notify(self, payloads: list[str]) -> None:
        for payload in payloads:
            with contextlib.suppress(StoreError, *self._unavailable):
                async with self.store.reader() as s:
                    await s.execute("SELECT pg_notify(?, ?)", (NOTIFY_CHANNEL, payload))

    def payloads(self, channels: list[str]) -> list[str]:
        words = [quote(channel, safe=":/") for channel in channels]
        return [" ".join([self.origin, *words[start:start + 100]])[:MAX_PAYLOAD]
                for start in range(0, len(words), 100)]

    def here(self) -> str:
        """The payload that tells the other servers this one listens (and counts revisions)."""
        return f"{self.origin} {HERE} {REVISIONS}"

    def received(self, payload: str) -> None:
        origin, *channels = payload.split(" ")
        if origin == self.origin:
            return
        now = time.monotonic()
        if now - self._heard.get(origin, -PEER_TTL_S) >= PEER_TTL_S:  # a server just started: it hears of
            self._heard = {o: t for o, t in self._heard.items() if now - t < PEER_TTL_S}  # this one at once
            answer = asyncio.get_running_loop().create_task(self._notify([self.here()]))
            self._answering.add(answer)  # held until done: the loop keeps only a weak reference
            answer.add_done_callback(self._answering.discard)
        self._heard[origin] = now
        self._heard_until = now + PEER_TTL_S
        if HERE in channels and REVISIONS not in channels:
            self._uncounted_until = now + PEER_TTL_S
        if self.deliver is not None:
            for channel in channels:
                if channel not in (HERE, REVISIONS):
                    self.deliver(unquote(channel))

