"""Durable timers of both kinds: an execution's (table `timers`) and a task's own (its row's
`due_at`)."""

from __future__ import annotations

from collections.abc import Sequence

from podium.model.records import TASK_TIMER, Timer
from podium.store.session import Session


async def set_timers(s: Session, timers: Sequence[Timer]) -> None:
    await s.executemany(
        "INSERT INTO timers (kind, key, workflow_id, due_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (kind, key) DO UPDATE SET due_at = excluded.due_at",
        [(t.kind, t.key, t.workflow_id, t.due_at) for t in timers])


async def clear_timers(s: Session, keys: Sequence[tuple[str, str]]) -> None:
    await s.executemany("DELETE FROM timers WHERE kind = ? AND key = ?", keys)


async def task_timer_keys(s: Session, workflow_id: str) -> set[str]:
    rows = await s.fetchall("SELECT task_id FROM tasks WHERE workflow_id = ? AND due_at IS NOT NULL",
                            (workflow_id,))
    return {r[0] for r in rows}


async def due_timers(s: Session, now: int, limit: int) -> list[Timer]:
    """Due timers of both kinds: execution timers (table `timers`) and tasks' own (`due_at`)."""
    rows = await s.fetchall(
        "SELECT * FROM (SELECT kind, key, workflow_id, due_at FROM timers WHERE due_at <= ? "
        "UNION ALL SELECT 'task', task_id, workflow_id, due_at FROM tasks WHERE due_at <= ?) AS due "
        "ORDER BY due_at LIMIT ?", (now, now, limit))
    return [Timer(*r) for r in rows]


async def take_timer(s: Session, timer: Timer) -> bool:
    """Remove a due timer unless it was re-armed meanwhile; True if this caller owns the firing."""
    if timer.kind == TASK_TIMER:
        sql = "UPDATE tasks SET due_at = NULL WHERE task_id = ? AND due_at = ? RETURNING task_id"
        return bool(await s.fetchall(sql, (timer.key, timer.due_at)))
    rows = await s.fetchall("DELETE FROM timers WHERE kind = ? AND key = ? AND due_at = ? RETURNING key",
                            (timer.kind, timer.key, timer.due_at))
    return bool(rows)


async def next_timer_due(s: Session) -> int | None:
    row = await s.fetchone("SELECT MIN(d) FROM (SELECT MIN(due_at) AS d FROM timers "
                           "UNION ALL SELECT MIN(due_at) FROM tasks WHERE due_at IS NOT NULL) AS due", ())
    return row[0] if row else None
