"""What the engine may ask of the world, answered from memory: task definitions, worker activity
(poll data, flushed to the store in the background), the environment, and fresh ids."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from podium.events.support import KAFKA_NOT_CONFIGURED
from podium.ids import new_id
from podium.model.definitions import SchemaDef, TaskDef
from podium.model.records import PollData
from podium.sandbox import Sandbox
from podium.service.metadata import Metadata

POLLER_WINDOW_MS = 60_000  # `pollers` counts the workers seen polling in this window
_MAX_WORKERS = 10_000  # workers remembered past which the ones outside the window are forgotten


class PollTracker:
    """Last poll per queue: kept in memory on the hot path, written to the store in batches."""

    def __init__(self) -> None:
        self._latest: dict[str, PollData] = {}
        self._dirty: set[str] = set()
        self._workers: dict[tuple[str, str | None, str | None], int] = {}  # (queue, domain, worker) -> last poll

    def record(self, queue_name: str, domain: str | None, worker_id: str | None, now: int) -> None:
        self._latest[queue_name] = PollData(queue_name, domain, worker_id, now)
        self._dirty.add(queue_name)
        self._workers[(queue_name, domain, worker_id)] = now

    def pollers(self, since: int) -> dict[str, int]:
        """Workers (by id) that polled each task type since `since`; forgets the older ones."""
        self._workers = {k: t for k, t in self._workers.items() if t >= since}
        counts: dict[str, set[str | None]] = {}
        for queue, domain, worker in self._workers:
            task_type = queue[len(domain) + 1:] if domain else queue
            counts.setdefault(task_type, set()).add(worker)
        return {task_type: len(workers) for task_type, workers in counts.items()}

    def last_poll_time(self, queue_name: str) -> int | None:
        found = self._latest.get(queue_name)
        return found.last_poll_time if found else None

    def latest(self, queue_name: str) -> PollData | None:
        return self._latest.get(queue_name)

    def load(self, entries: list[PollData]) -> None:
        for entry in entries:
            held = self._latest.get(entry.queue_name)
            if held is None or held.last_poll_time < entry.last_poll_time:
                self._latest[entry.queue_name] = entry

    def take_dirty(self) -> list[PollData]:
        if len(self._workers) > _MAX_WORKERS:  # when nothing asks for `pollers` (metrics off, no scrapes)
            self.pollers(max(self._workers.values()) - POLLER_WINDOW_MS)
        dirty = [self._latest[q] for q in self._dirty]
        self._dirty.clear()
        return dirty

    def all(self) -> list[PollData]:
        return sorted(self._latest.values(), key=lambda p: p.queue_name)


class Context:
    def __init__(self, metadata: Metadata, polls: PollTracker, env: Mapping[str, str], sandbox: Sandbox, *,
                 task_notices: bool = False, status_webhook: str | None = None,
                 max_payload_bytes: int = 10 * 1024 * 1024, kafka_unavailable: str = KAFKA_NOT_CONFIGURED) -> None:
        self._metadata = metadata
        self.sandbox = sandbox
        self._polls = polls
        self._env = env
        self._task_notices = task_notices
        self.status_webhook = status_webhook
        self._max_payload_bytes = max_payload_bytes
        self._kafka_unavailable = kafka_unavailable

    def task_def(self, name: str) -> TaskDef | None:
        return self._metadata.task_def(name)

    def last_poll_time(self, queue_name: str) -> int | None:
        return self._polls.last_poll_time(queue_name)

    @property
    def env(self) -> Mapping[str, str]:
        return self._env

    def new_id(self) -> str:
        return new_id()

    @property
    def scripts(self) -> Sandbox:
        return self.sandbox

    def for_step(self) -> Context:
        """This context with a sandbox whose scripts share one time limit (one engine step)."""
        step = copy.copy(self)
        step.sandbox = self.sandbox.budgeted()
        return step

    @property
    def max_payload_bytes(self) -> int:
        return self._max_payload_bytes

    @property
    def kafka_unavailable(self) -> str:
        return self._kafka_unavailable

    def task_notices(self, task_def_name: str) -> bool:
        if not self._task_notices:
            return False
        tdef = self._metadata.task_def(task_def_name)
        return tdef is None or tdef.task_status_listener_enabled

    def schema_violations(self, ref: SchemaDef, value: Any) -> list[str]:
        return [str(v) for v in self._metadata.schemas.violations(ref, value)]
