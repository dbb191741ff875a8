"""Execution rows: write, read, find, delete and archive them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from podium.model.records import Execution, Task
from podium.store.rows import (
    EXECUTION_COLUMNS,
    EXECUTION_FIELDS,
    changed_columns,
    execution_from,
    execution_row,
    loads,
    task_from,
)
from podium.store.session import Session
from podium.store.tasks import load_live_tasks

_EX_MARKS = ", ".join("?" * len(EXECUTION_COLUMNS))
_TASKS_OF = "SELECT task_id FROM tasks WHERE workflow_id = ?"


async def insert_execution(s: Session, ex: Execution) -> None:
    ex.loaded = execution_row(ex)
    await s.execute(f"INSERT INTO executions ({EXECUTION_FIELDS}) VALUES ({_EX_MARKS})", ex.loaded)


async def update_execution(s: Session, ex: Execution, *, reindex: bool = False) -> None:
    """Writes only the columns that changed since the row was read (SQLite then leaves the
    indexes on the others alone)."""
    row = execution_row(ex)
    changed = changed_columns(EXECUTION_COLUMNS, row, ex.loaded)
    sets = [f"{EXECUTION_COLUMNS[i]} = ?" for i in changed] + (["indexed = 0"] if reindex else [])
    if sets:
        await s.execute(f"UPDATE executions SET {', '.join(sets)} WHERE workflow_id = ?",
                        (*(row[i] for i in changed), row[0]))
    ex.loaded = row


async def get_execution(s: Session, workflow_id: str, *, lock: bool = False) -> Execution | None:
    row = await s.fetchone(s.lock_clause(
        f"SELECT {EXECUTION_FIELDS} FROM executions WHERE workflow_id = ?", lock), (workflow_id,))
    if row is None:
        return None
    if lock:
        s.locked_execution(workflow_id)
    return execution_from(row)


async def locked_with_live_tasks(s: Session, workflow_id: str, refs: Sequence[str]
                                 ) -> tuple[Execution | None, list[Task]]:
    """The execution, locked, with its live tasks and every settled attempt of `refs` (as
    `get_execution(lock=True)` then `load_live_tasks`; one round trip on PostgreSQL)."""
    rows = await s.locked_live(workflow_id, refs)
    if rows is None:
        ex = await get_execution(s, workflow_id, lock=True)
        return ex, await load_live_tasks(s, workflow_id, refs) if ex is not None else []
    if not rows:
        return None, []
    s.locked_execution(workflow_id)
    width = len(EXECUTION_COLUMNS)
    tasks = [task_from(row[width:]) for row in rows[1:]]
    s.tasks_read(tasks)
    return execution_from(rows[0][:width]), tasks


async def delete_execution(s: Session, workflow_id: str) -> None:
    await s.execute(f"DELETE FROM queue WHERE task_id IN ({_TASKS_OF})", (workflow_id,))
    await s.execute("DELETE FROM timers WHERE kind = 'workflow' AND key = ?", (workflow_id,))
    await s.execute(f"DELETE FROM executions_fts WHERE {s.fts_key} = "
                    "(SELECT row_id FROM executions WHERE workflow_id = ?)", (workflow_id,))
    await s.execute(
        "DELETE FROM task_logs WHERE task_id IN (SELECT task_id FROM tasks WHERE workflow_id = ?)",
        (workflow_id,))
    await s.execute("DELETE FROM tasks WHERE workflow_id = ?", (workflow_id,))
    await s.execute("DELETE FROM bbs_tasks WHERE task_guid = ?", (workflow_id,))  # a dialect's view of it
    await s.execute("DELETE FROM search_attrs WHERE workflow_id = ?", (workflow_id,))
    await s.execute("DELETE FROM executions WHERE workflow_id = ?", (workflow_id,))


async def find_by_idempotency_key(s: Session, key: str) -> Execution | None:
    row = await s.fetchone(
        f"SELECT {EXECUTION_FIELDS} FROM executions WHERE idempotency_key = ? ORDER BY create_time DESC LIMIT 1",
        (key,))
    return execution_from(row) if row else None


async def running_ids(s: Session, name: str, version: int | None, start: int, end: int) -> list[str]:
    sql = "SELECT workflow_id FROM executions WHERE workflow_type = ? AND status IN ('RUNNING', 'PAUSED')"
    params: list[Any] = [name]
    if version is not None:
        sql += " AND version = ?"
        params.append(version)
    if start > 0 and end > 0:
        sql += " AND create_time BETWEEN ? AND ?"
        params += [start, end]
    return [r[0] for r in await s.fetchall(sql + " ORDER BY create_time", params)]


async def by_correlation(s: Session, name: str, correlation_id: str, include_closed: bool) -> list[Execution]:
    sql = f"SELECT {EXECUTION_FIELDS} FROM executions WHERE workflow_type = ? AND correlation_id = ?"
    if not include_closed:
        sql += " AND status IN ('RUNNING', 'PAUSED')"
    rows = await s.fetchall(sql + " ORDER BY create_time", (name, correlation_id))
    return [execution_from(r) for r in rows]


async def archive_execution(s: Session, workflow_id: str, body: str) -> None:
    await s.execute(
        "INSERT INTO archived_executions (workflow_id, body) VALUES (?, ?) "
        "ON CONFLICT (workflow_id) DO UPDATE SET body = excluded.body", (workflow_id, body))


async def get_archived(s: Session, workflow_id: str) -> dict[str, Any] | None:
    row = await s.fetchone("SELECT body FROM archived_executions WHERE workflow_id = ?", (workflow_id,))
    return loads(row[0]) if row else None
