"""Gauges read from the database at scrape time: queue depth and age (one query for all queues),
each dialect's objects by state, and whether the database answered.

A scrape first `refresh`es (at most once a second, shared by scrapes that come together, bounded
by a timeout), then the registry's `collect` yields what the last refresh read. When the database
does not answer, `podium_database_up` is 0 and the database families have no samples: nothing
stale is shown as current. Every server process on one database shows the same values.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from podium.logs import failed
from podium.store.port import Store
from podium.store.session import Session

log = logging.getLogger(__name__)

CACHE_S = 1.0
TIMEOUT_S = 1.0
_QUEUES = "SELECT queue_name, COUNT(*), MIN(visible_at) FROM queue GROUP BY queue_name"
_BY_STATE = {
    "podium_bbs_tasks": ("BBS tasks by state", "state", "SELECT state, COUNT(*) FROM bbs_tasks GROUP BY state"),
    "podium_sigma_processes": ("SIGMA processes by the state the operator last asked for (control)", "state",
                               "SELECT control, COUNT(*) FROM sigma_processes GROUP BY control"),
    "podium_tango_projects": ("TANGO projects by the status of their latest run's workflow (NONE: never run)",
                              "status", "SELECT COALESCE(e.status, 'NONE'), COUNT(*) FROM tango_projects p "
                              "LEFT JOIN executions e ON e.workflow_id = p.workflow_id GROUP BY 1"),
    "podium_schedules": ("Schedules by state", "state",
                         "SELECT CASE WHEN paused <> 0 THEN 'paused' ELSE 'active' END, COUNT(*) FROM schedules "
                         "GROUP BY 1"),
}


@dataclass
class Reading:
    """One refresh's values: queues as (task type, domain) -> (depth, oldest visible-at in ms)."""

    queues: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    by_state: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    at_ms: int = 0


class DatabaseGauges(Collector):
    def __init__(self, store: Store, now_ms: Callable[[], int],
                 pollers: Callable[[], dict[str, int]] | None = None) -> None:
        self.store = store
        self.now_ms = now_ms
        self.pollers = pollers  # task type -> workers seen polling in the last window
        self.reading: Reading | None = None  # None: the last refresh failed
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        async with self._lock:  # scrapes that come together share one read
            if time.monotonic() - self._read_at < CACHE_S:
                return
            try:
                self.reading = await asyncio.wait_for(self._read(), TIMEOUT_S)
            except Exception as exc:  # the database is down or slow: say so, show nothing stale
                failed(log, "metrics could not read the database", exc, action="metrics_db_error")
                self.reading = None
            self._read_at = time.monotonic()

    async def _read(self) -> Reading:
        reading = Reading(at_ms=self.now_ms())
        async with self.store.reader() as s:
            for name, depth, oldest in await s.fetchall(_QUEUES, ()):
                domain, _, task_type = name.rpartition(":")
                reading.queues[(task_type, domain)] = (int(depth), int(oldest))
            for family, (_, _, sql) in _BY_STATE.items():
                reading.by_state[family] = await _counts(s, sql)
        return reading

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("podium_database_up", "1 when the database answered the last scrape's queries")
        up.add_metric([], 0 if self.reading is None else 1)
        yield up
        if self.pollers is not None:
            pollers = GaugeMetricFamily("podium_pollers", "Workers seen polling in the last minute",
                                        labels=["task_type"])
            for task_type, count in sorted(self.pollers().items()):
                pollers.add_metric([task_type], count)
            yield pollers
        yield from self._database_families(self.reading)

    def _database_families(self, reading: Reading | None) -> Iterator[Metric]:
        depth = GaugeMetricFamily("podium_queue_depth", "Tasks waiting in a queue", labels=["task_type", "domain"])
        age = GaugeMetricFamily("podium_queue_oldest_age_seconds", "How long the oldest visible entry has waited",
                                labels=["task_type", "domain"])
        families = {name: GaugeMetricFamily(name, text, labels=[label])
                    for name, (text, label, _) in _BY_STATE.items()}
        if reading is not None:
            for (task_type, domain), (count, oldest) in sorted(reading.queues.items()):
                depth.add_metric([task_type, domain], count)
                age.add_metric([task_type, domain], max(reading.at_ms - oldest, 0) / 1000)
            for name, rows in reading.by_state.items():
                for value, count in rows:
                    families[name].add_metric([value], count)
        yield depth
        yield age
        yield from families.values()


async def _counts(s: Session, sql: str) -> list[tuple[str, int]]:
    return [(str(value), int(count)) for value, count in await s.fetchall(sql, ())]
