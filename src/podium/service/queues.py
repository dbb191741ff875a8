"""The task queues as operators see them: depths, oldest entries, who polls them, what waits in
them; and putting back tasks that lost their queue entry."""

from __future__ import annotations

from typing import Any

from podium.model.records import QueueEntry, queue_name
from podium.model.wire import task_json
from podium.service.context import PollTracker
from podium.service.executions import Executions
from podium.store.queue import enqueue, queue_overview, queue_size, queue_sizes, scheduled_without_queue_entry
from podium.store.tasks import pending_of_type


class Queues:
    def __init__(self, executions: Executions, polls: PollTracker) -> None:
        self.x = executions
        self.polls = polls

    async def sizes(self) -> dict[str, int]:
        async with self.x.store.searcher() as s:
            return await queue_sizes(s)

    async def size(self, task_type: str, domain: str | None) -> int:
        async with self.x.store.reader() as s:
            return await queue_size(s, queue_name(task_type, domain))

    async def overview(self) -> list[dict[str, Any]]:
        """Each queue (task type and domain) with its depth, the age of its oldest visible entry,
        and the workers that polled it last; queues that are empty but polled are listed too."""
        now = self.x.clock.now()
        async with self.x.store.searcher() as s:
            overview = await queue_overview(s)
        found: dict[str, dict[str, Any]] = {
            name: {"depth": depth, "oldestAgeMs": max(now - oldest, 0), "pollers": []}
            for name, depth, oldest in overview}
        for p in self.polls.all():
            entry = found.setdefault(p.queue_name, {"depth": 0, "oldestAgeMs": None, "pollers": []})
            entry["pollers"].append({"workerId": p.worker_id, "lastPollTime": p.last_poll_time})
        listed: list[dict[str, Any]] = []
        for name in sorted(found):
            domain, _, task_type = name.rpartition(":")
            listed.append({"queueName": name, "taskType": task_type, "domain": domain or None} | found[name])
        return listed

    def poll_data(self, task_type: str | None = None) -> list[dict[str, Any]]:
        found = self.polls.all()
        if task_type is not None:
            found = [p for p in found if p.queue_name.split(":")[-1] == task_type]
        return [{k: v for k, v in {"queueName": p.queue_name, "domain": p.domain, "workerId": p.worker_id,
                                   "lastPollTime": p.last_poll_time}.items() if v is not None} for p in found]

    async def requeue(self, task_type: str) -> int:
        """Put back every SCHEDULED task of the type that lost its queue entry (repair)."""
        now = self.x.clock.now()
        async with self.x.store.unit() as s:
            lost = await scheduled_without_queue_entry(s, task_type)
            await enqueue(s, [QueueEntry(t.task_id, t.workflow_id, t.queue_name, t.workflow_priority, now)
                             for t in lost])
        for name in {t.queue_name for t in lost}:
            self.x.waker.notify(name)
        return len(lost)

    async def pending(self, task_type: str, start: int, count: int) -> list[dict[str, Any]]:
        async with self.x.store.searcher() as s:
            return [task_json(t) for t in await pending_of_type(s, task_type, start, count)]

