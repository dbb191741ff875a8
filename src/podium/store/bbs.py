"""SQL for the BBS dialect, over a session's primitives: BBS task rows, cell presence, offers
(reservations on the task queue) and the task event log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from podium.model.bbs import BbsTask, State
from podium.model.records import Execution
from podium.store.rows import EXECUTION_COLUMNS, dumps, execution_from, loads
from podium.store.session import Session

_COLS = ("task_guid, domain, state, cell_id, created_at, updated_at, first_completed_at, failed, failure_reason, "
         "result, rejection_count, rejection_reason, definition")
#: The row's marks, typed for an `INSERT ... SELECT` (PostgreSQL would take an untyped one for text).
_MARKS = ", ".join("CAST(? AS BIGINT)" if i in (4, 5, 6, 7, 10) else "?" for i in range(13))


def _row(t: BbsTask) -> tuple[Any, ...]:
    return (t.task_guid, t.domain, t.state.value, t.cell_id, t.created_at, t.updated_at, t.first_completed_at,
            int(t.failed), t.failure_reason, t.result, t.rejection_count, t.rejection_reason, dumps(t.definition))


def _task(r: Sequence[Any]) -> BbsTask:
    return BbsTask(task_guid=r[0], domain=r[1], state=State(r[2]), cell_id=r[3], created_at=r[4], updated_at=r[5],
                   first_completed_at=r[6], failed=bool(r[7]), failure_reason=r[8], result=r[9],
                   rejection_count=r[10], rejection_reason=r[11], definition=loads(r[12]))


# --- tasks ---------------------------------------------------------------------------------------


async def get(s: Session, guid: str) -> BbsTask | None:
    row = await s.fetchone(f"SELECT {_COLS} FROM bbs_tasks WHERE task_guid = ?", (guid,))
    return _task(row) if row else None


_BOTH = ", ".join([*(f"e.{c}" for c in EXECUTION_COLUMNS), *(f"b.{c}" for c in _COLS.split(", "))])
_SPLIT = len(EXECUTION_COLUMNS)


async def get_with_execution(s: Session, guid: str) -> tuple[Execution | None, BbsTask] | None:
    """The task and its execution, in one statement while both exist, both rows locked (on
    PostgreSQL a call that waited for the lock then reads both as the call before it left them; a
    lock on the execution alone would leave it the task's row as it was when it began to wait).
    A task without an execution is read alone, unlocked."""
    row = await s.fetchone(s.lock_clause(
        f"SELECT {_BOTH} FROM executions e JOIN bbs_tasks b ON b.task_guid = e.workflow_id "
        "WHERE e.workflow_id = ?", True), (guid,))
    if row is not None:
        return execution_from(tuple(row[:_SPLIT])), _task(row[_SPLIT:])
    task = await get(s, guid)
    return None if task is None else (None, task)


async def get_many(s: Session, guids: Sequence[str]) -> list[BbsTask]:
    if not guids:
        return []
    marks = ", ".join("?" * len(guids))
    return [_task(r) for r in await s.fetchall(f"SELECT {_COLS} FROM bbs_tasks WHERE task_guid IN ({marks})",
                                               tuple(guids))]


async def insert_new(s: Session, task: BbsTask) -> bool:
    """Insert the row of a new task: False (nothing written) if the guid names a task or an
    execution already. A concurrent insert of the same guid waits for the first to end (its unique
    index), so two desires of one guid take turns."""
    row = await s.fetchone(
        f"INSERT INTO bbs_tasks ({_COLS}) SELECT {_MARKS} WHERE NOT EXISTS "
        "(SELECT 1 FROM executions WHERE workflow_id = ?) ON CONFLICT (task_guid) DO NOTHING RETURNING task_guid",
        (*_row(task), task.task_guid))
    return row is not None


async def save(s: Session, task: BbsTask) -> None:
    row = _row(task)
    sets = ", ".join(f"{c} = ?" for c in _COLS.split(", ")[1:])
    await s.execute(f"UPDATE bbs_tasks SET {sets} WHERE task_guid = ?", (*row[1:], row[0]))


async def listing(s: Session, domain: str, cell_id: str) -> list[BbsTask]:
    conditions, params = [], []
    for column, value in (("domain", domain), ("cell_id", cell_id)):
        if value:
            conditions.append(f"{column} = ?")
            params.append(value)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return [_task(r) for r in await s.fetchall(f"SELECT {_COLS} FROM bbs_tasks{where} ORDER BY created_at, task_guid",
                                               params)]


async def guids_where(s: Session, state: State, column: str, before: int) -> list[str]:
    """Tasks in `state` whose time `column` is strictly before `before` (convergence)."""
    assert column in ("created_at", "updated_at", "first_completed_at")
    rows = await s.fetchall(f"SELECT task_guid FROM bbs_tasks WHERE state = ? AND {column} < ? ORDER BY {column}",
                            (state.value, before))
    return [r[0] for r in rows]


async def running_off_cells(s: Session, now: int) -> list[str]:
    """Running tasks whose cell is not present."""
    rows = await s.fetchall(
        "SELECT task_guid FROM bbs_tasks WHERE state = ? AND cell_id NOT IN "
        "(SELECT cell_id FROM bbs_cells WHERE expires_at > ?)", (State.RUNNING.value, now))
    return [r[0] for r in rows]


async def count_by_state(s: Session) -> dict[str, int]:
    rows = await s.fetchall("SELECT state, COUNT(*) FROM bbs_tasks GROUP BY state", ())
    return {r[0]: r[1] for r in rows}


# --- offers --------------------------------------------------------------------------------------


async def reserve(s: Session, queue_name: str, now: int, until: int, limit: int) -> list[str]:
    """Hide up to `limit` visible entries of a queue until `until`; their task ids, in claim order."""
    rows = await s.fetchall(
        "UPDATE queue SET visible_at = ? WHERE task_id IN (SELECT task_id FROM queue WHERE queue_name = ? "
        f"AND visible_at <= ? ORDER BY priority DESC, visible_at, task_id LIMIT ?{s.skip_locked}) "
        "RETURNING task_id, priority, visible_at", (until, queue_name, now, limit))
    return [r[0] for r in sorted(rows, key=lambda r: (-r[1], r[2], r[0]))]


# --- cells ---------------------------------------------------------------------------------------


async def touch_cell(s: Session, cell_id: str, expires_at: int) -> bool:
    """Make a cell present until `expires_at` (never shortening it); True if it was not present.
    A present cell (the usual case) costs one statement."""
    if await s.fetchone("UPDATE bbs_cells SET expires_at = CASE WHEN ? > expires_at THEN ? ELSE expires_at END "
                        "WHERE cell_id = ? RETURNING cell_id", (expires_at, expires_at, cell_id)):
        return False
    await s.execute("INSERT INTO bbs_cells (cell_id, expires_at) VALUES (?, ?) ON CONFLICT (cell_id) DO UPDATE "
                    "SET expires_at = CASE WHEN excluded.expires_at > bbs_cells.expires_at "
                    "THEN excluded.expires_at ELSE bbs_cells.expires_at END", (cell_id, expires_at))
    return True


async def present_cells(s: Session, now: int) -> list[tuple[str, int]]:
    rows = await s.fetchall("SELECT cell_id, expires_at FROM bbs_cells WHERE expires_at > ? ORDER BY cell_id", (now,))
    return [(r[0], r[1]) for r in rows]


async def drop_absent_cells(s: Session, now: int) -> list[str]:
    rows = await s.fetchall("DELETE FROM bbs_cells WHERE expires_at <= ? RETURNING cell_id", (now,))
    return sorted(r[0] for r in rows)


async def next_cell_expiry(s: Session) -> int | None:
    row = await s.fetchone("SELECT MIN(expires_at) FROM bbs_cells", ())
    return row[0] if row else None


# --- events --------------------------------------------------------------------------------------


async def add_event(s: Session, kind: str, body: dict[str, Any], now: int) -> None:
    await s.execute("INSERT INTO bbs_events (created_at, kind, body) VALUES (?, ?, ?)", (now, kind, dumps(body)))


async def last_event_seq(s: Session) -> int:
    row = await s.fetchone("SELECT MAX(seq) FROM bbs_events", ())
    return int(row[0]) if row and row[0] is not None else 0


async def events_after(s: Session, seq: int, limit: int) -> list[tuple[int, int, str, str]]:
    """Events after `seq`: (seq, created_at, kind, body as JSON text)."""
    rows = await s.fetchall("SELECT seq, created_at, kind, body FROM bbs_events WHERE seq > ? ORDER BY seq LIMIT ?",
                            (seq, limit))
    return [(r[0], r[1], r[2], r[3]) for r in rows]


async def prune_events(s: Session, before: int) -> None:
    await s.execute("DELETE FROM bbs_events WHERE created_at < ?", (before,))


# --- timers of the dialect (not of one execution) ---------------------------------------------------


async def arm_timer_by(s: Session, kind: str, key: str, due_at: int) -> None:
    """The timer is due by `due_at` at the latest (created if missing, never moved later)."""
    await s.execute("INSERT INTO timers (kind, key, workflow_id, due_at) VALUES (?, ?, '', ?) "
                    "ON CONFLICT (kind, key) DO UPDATE SET due_at = CASE WHEN excluded.due_at < timers.due_at "
                    "THEN excluded.due_at ELSE timers.due_at END", (kind, key, due_at))
