"""Heartbeats: each background loop stamps its own at every round, and readiness (`GET /ready`)
asks which loops have not ticked within their period (plus grace), that is, which are stuck or dead.

A loop that waits for a notification still wakes at least once per period, so a quiet server's
loops keep ticking."""

from __future__ import annotations

import time
from collections.abc import Callable

Beat = Callable[[], None]


def no_beat() -> None:
    """The beat of a loop that nobody watches (tests that run a loop alone)."""


def grace(period_s: float) -> float:
    """How long after its last tick a loop with this period counts as stuck: generous, so that a
    round slowed by load (a long checkpoint, a busy database) does not take a server out of its
    load balancer just when it is busiest."""
    return 3 * period_s + 5.0


class Heartbeats:
    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self.now = now
        self.periods: dict[str, float] = {}
        self.last: dict[str, float] = {}

    def beat(self, name: str, period_s: float) -> Beat:
        """Watch the loop `name`, which ticks at least every `period_s`; returns its stamp."""
        self.periods[name] = period_s
        self.last[name] = self.now()

        def stamp() -> None:
            self.last[name] = self.now()

        return stamp

    def late(self) -> dict[str, float]:
        """The loops that have not ticked within their period and grace: name -> seconds since."""
        now = self.now()
        return {name: round(now - self.last[name], 3) for name, period in self.periods.items()
                if now - self.last[name] > grace(period)}
