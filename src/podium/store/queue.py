"""The task queue: enqueue and dequeue entries, and read its depths. Claiming is the adapters' own
(`Session.claim_queue`)."""

from __future__ import annotations

from collections.abc import Sequence

from podium.model.records import QueueEntry, Task
from podium.store.rows import TASK_FIELDS, task_from
from podium.store.session import Session

_TASKS_OF = "SELECT task_id FROM tasks WHERE workflow_id = ?"


async def enqueue(s: Session, entries: Sequence[QueueEntry]) -> None:
    await s.executemany(
        "INSERT INTO queue (task_id, queue_name, priority, visible_at, workflow_id) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (task_id) DO UPDATE SET queue_name = excluded.queue_name, "
        "priority = excluded.priority, visible_at = excluded.visible_at",
        [(e.task_id, e.queue_name, e.priority, e.visible_at, e.workflow_id) for e in entries])


async def dequeue(s: Session, task_ids: Sequence[str]) -> None:
    await s.executemany("DELETE FROM queue WHERE task_id = ?", [(i,) for i in task_ids])


async def queue_sizes(s: Session) -> dict[str, int]:
    rows = await s.fetchall("SELECT queue_name, COUNT(*) FROM queue GROUP BY queue_name ORDER BY queue_name",
                            ())
    return {r[0]: r[1] for r in rows}


async def queue_overview(s: Session) -> list[tuple[str, int, int]]:
    """Every queue with entries: (name, depth, the oldest entry's visible time)."""
    rows = await s.fetchall(
        "SELECT queue_name, COUNT(*), MIN(visible_at) FROM queue GROUP BY queue_name ORDER BY queue_name", ())
    return [(r[0], r[1], r[2]) for r in rows]


async def queue_size(s: Session, queue_name: str) -> int:
    row = await s.fetchone("SELECT COUNT(*) FROM queue WHERE queue_name = ?", (queue_name,))
    return row[0] if row else 0


async def has_visible(s: Session, queue_name: str, now: int) -> bool:
    """Whether a claim of the queue would find an entry (one index probe, no write)."""
    return await s.fetchone("SELECT 1 FROM queue WHERE queue_name = ? AND visible_at <= ? LIMIT 1",
                            (queue_name, now)) is not None


async def next_visible(s: Session, queue_name: str) -> int | None:
    row = await s.fetchone("SELECT MIN(visible_at) FROM queue WHERE queue_name = ?", (queue_name,))
    return row[0] if row else None


async def scheduled_without_queue_entry(s: Session, task_type: str) -> list[Task]:
    # The `status IN (...)` term is the partial index's own condition (tasks_pending_by_type), written
    # out so that both planners use the index.
    rows = await s.fetchall(
        f"SELECT {TASK_FIELDS} FROM tasks WHERE task_type = ? AND status IN ('SCHEDULED', 'IN_PROGRESS') "
        "AND status = 'SCHEDULED' AND task_id NOT IN (SELECT task_id FROM queue)", (task_type,))
    return [task_from(r) for r in rows]


async def queued_task_ids(s: Session, workflow_id: str) -> set[str]:
    rows = await s.fetchall(f"SELECT task_id FROM queue WHERE task_id IN ({_TASKS_OF})", (workflow_id,))
    return {r[0] for r in rows}


async def visible_times(s: Session, workflow_id: str) -> dict[str, int]:
    """When each queued task of the execution becomes claimable (its entry's `visible_at`), by task id."""
    rows = await s.fetchall(f"SELECT task_id, visible_at FROM queue WHERE task_id IN ({_TASKS_OF})", (workflow_id,))
    return {r[0]: r[1] for r in rows}
