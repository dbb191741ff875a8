"""The dashboard: what ran in a window of time and what is stuck now, for the operator's landing
page. The aggregates come from the store (`store.dashboard`), the queues from `Queues.overview` (the
queues page's own reading, with the last poll of each queue that the engine keeps); the judgements
(which queue is stuck, which type's failure rate jumped) are pure functions of those, with `now`
given, so that they are tested without a server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podium.errors import BadRequest
from podium.service.clock import Clock
from podium.service.queues import Queues
from podium.store import Store
from podium.store.dashboard import (
    Bucket,
    ScheduleMisses,
    TypeDurations,
    TypeFailures,
    durations_by_type,
    finished_buckets,
    outcomes_by_type,
    schedule_misses,
    status_counts,
    workflow_types,
)

#: A failure rate "jumped" when both windows hold at least this many finished executions of the
#: type (fewer, and one failure swings the rate by tens of points) ...
MIN_FINISHED = 5
#: ... and the window's rate is this many points above the window before's, and at least twice it.
JUMP = 0.2
TOP = 5  # rows in the slowest and the most-failing lists


@dataclass(frozen=True, slots=True)
class Window:
    """A window the dashboard looks back over, cut into `buckets` slices for the charts."""

    name: str
    ms: int
    bucket_ms: int

    @property
    def buckets(self) -> int:
        return self.ms // self.bucket_ms


WINDOWS = {w.name: w for w in (Window("1h", 3_600_000, 300_000), Window("24h", 86_400_000, 3_600_000),
                               Window("7d", 604_800_000, 21_600_000))}
DEFAULT_WINDOW = "24h"


def window_of(text: str | None) -> Window:
    """The window a `window` parameter names (the default when absent); an unknown one is refused."""
    found = WINDOWS.get(text or DEFAULT_WINDOW)
    if found is None:
        raise BadRequest(f"window must be one of {', '.join(WINDOWS)}, not {text!r}")
    return found


@dataclass(frozen=True, slots=True)
class Overview:
    window: Window
    now: int
    since: int  # the window's start, to the second (the executions list's `since` filter takes seconds)
    statuses: dict[str, int]
    buckets: list[Bucket]  # one per slice of the window, empty slices included
    durations: list[TypeDurations]
    failures: list[TypeFailures]
    queues: list[dict[str, Any]]
    stuck: list[dict[str, Any]]
    jumps: list[TypeFailures]
    schedules: list[ScheduleMisses]

    @property
    def slowest(self) -> list[TypeDurations]:
        return sorted(self.durations, key=lambda d: (-d.p95_ms, d.workflow_type))[:TOP]

    @property
    def most_failing(self) -> list[TypeFailures]:
        failing = [f for f in self.failures if f.failed]
        return sorted(failing, key=lambda f: (-f.failed, -f.rate, f.workflow_type))[:TOP]

    @property
    def warnings(self) -> int:
        return len(self.stuck) + len(self.jumps) + len(self.schedules)


async def overview(store: Store, clock: Clock, queues: Queues, window: Window, stuck_after_ms: int) -> Overview:
    now = clock.now()
    since = (now - window.ms) // 1000 * 1000
    async with store.searcher() as s:
        statuses = await status_counts(s, since)
        buckets = await finished_buckets(s, since, window.bucket_ms)
        failures = await outcomes_by_type(s, await workflow_types(s), since, since - window.ms)
        durations = await durations_by_type(s, since, {f.workflow_type: f.completed for f in failures if f.completed})
        schedules = await schedule_misses(s, since, now - stuck_after_ms)
    depths = await queues.overview()
    return Overview(window, now, since, statuses, every_bucket(buckets, window.buckets), durations,
                    [f for f in failures if f.finished], depths, stuck_queues(depths, now, stuck_after_ms),
                    jumped(failures), schedules)


def every_bucket(found: list[Bucket], count: int) -> list[Bucket]:
    """The store's non-empty slices with the empty ones filled in, oldest first (a slice past the
    end, from an execution that ended after `now` was read, joins the last)."""
    by_index: dict[int, Bucket] = {}
    for b in found:
        i = min(b.index, count - 1)
        held = by_index.get(i)
        by_index[i] = Bucket(i, b.finished + (held.finished if held else 0), b.failed + (held.failed if held else 0))
    return [by_index.get(i, Bucket(i, 0, 0)) for i in range(count)]


def stuck_queues(queues: list[dict[str, Any]], now: int, after_ms: int) -> list[dict[str, Any]]:
    """Queues whose work waits with nobody asking: tasks waiting longer than `after_ms` and no poll
    in that time (or never). A queue polled a moment ago is not stuck, however old its tasks: its
    workers are busy, which the depth shows."""
    stuck = []
    for q in queues:
        polled = max((p["lastPollTime"] for p in q["pollers"] if p.get("lastPollTime")), default=None)
        waited = q["oldestAgeMs"] or 0
        if q["depth"] and waited >= after_ms and (polled is None or now - polled >= after_ms):
            stuck.append(q | {"lastPollTime": polled})
    return stuck


def jumped(failures: list[TypeFailures]) -> list[TypeFailures]:
    """Types whose failure rate rose by JUMP or more and at least doubled against the window before,
    both windows holding MIN_FINISHED or more finished executions."""
    return [f for f in failures if f.finished >= MIN_FINISHED and f.before_finished >= MIN_FINISHED
            and f.rate - f.before_rate >= JUMP and f.rate >= 2 * f.before_rate]
