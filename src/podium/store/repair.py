"""What the repair loop looks for: work that a crash or a lost wake-up left without its queue entry,
timer or next step."""

from __future__ import annotations

from podium.model.records import Task
from podium.store.rows import TASK_FIELDS, task_from
from podium.store.session import Session


async def scheduled_tasks_missing_from_queue(s: Session, older_than: int, limit: int) -> list[Task]:
    rows = await s.fetchall(
        f"SELECT {TASK_FIELDS} FROM tasks WHERE executed = 0 AND status = 'SCHEDULED' AND update_time < ? "
        "AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.task_id = tasks.task_id) LIMIT ?", (older_than, limit))
    return [task_from(r) for r in rows]


async def running_tasks_without_timer(s: Session, older_than: int, limit: int) -> list[Task]:
    rows = await s.fetchall(
        f"SELECT {TASK_FIELDS} FROM tasks WHERE executed = 0 AND status = 'IN_PROGRESS' AND update_time < ? "
        "AND due_at IS NULL LIMIT ?", (older_than, limit))
    return [task_from(r) for r in rows]


async def running_without_live_tasks(s: Session, older_than: int, limit: int) -> list[str]:
    rows = await s.fetchall(
        "SELECT workflow_id FROM executions e WHERE status = 'RUNNING' AND update_time < ? AND NOT EXISTS "
        "(SELECT 1 FROM tasks t WHERE t.workflow_id = e.workflow_id AND t.executed = 0) LIMIT ?",
        (older_than, limit))
    return [r[0] for r in rows]
