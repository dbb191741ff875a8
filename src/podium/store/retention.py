"""Retention: finding finished executions past their time, and deleting them with everything that
hangs off them, a bounded batch per call (see `podium.service.retention`).

A sub-workflow is never a candidate while its parent execution still exists: it goes in a later
batch than its parent, so a parent never points at a missing child and a running parent's
finished children stay.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from podium.store.rows import EXECUTION_FIELDS, TASK_FIELDS
from podium.store.session import Session

FINISHED = ("COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED")
_FINISHED = ", ".join(f"'{s}'" for s in FINISHED)
_NO_PARENT = ("(e.parent_workflow_id IS NULL OR NOT EXISTS "
              "(SELECT 1 FROM executions p WHERE p.workflow_id = e.parent_workflow_id))")


def _expired_where(cutoff: int, workflow_type: str | None, exclude: Sequence[str]) -> tuple[str, list[Any]]:
    """Finished executions that ended before `cutoff`, of one type or of every type not in `exclude`.
    The end-time index is walked in order and the walk stops at the batch's size: `end_time > 0`
    keeps it off the running ones, and `status || ''` keeps the planner from taking the status
    index instead (SQLite did: every batch then sorted every finished execution, 85 ms per batch at
    200,000 executions, holding the one writer)."""
    sql = f"e.end_time > 0 AND e.end_time < ? AND e.status || '' IN ({_FINISHED}) AND {_NO_PARENT}"
    params: list[Any] = [cutoff]
    if workflow_type is not None:
        sql += " AND e.workflow_type = ?"
        params.append(workflow_type)
    elif exclude:
        sql += f" AND e.workflow_type NOT IN ({', '.join('?' * len(exclude))})"
        params += list(exclude)
    return sql, params


async def claim_expired(s: Session, cutoff: int, limit: int, *, workflow_type: str | None = None,
                        exclude: Sequence[str] = ()) -> list[str]:
    """Up to `limit` expired executions, oldest end first, locked for this transaction
    (PostgreSQL: rows another process holds are skipped, so two pruners never take the same one)."""
    where, params = _expired_where(cutoff, workflow_type, exclude)
    sql = f"SELECT e.workflow_id FROM executions e WHERE {where} ORDER BY e.end_time LIMIT ?"
    if s.skip_locked:
        sql += " FOR UPDATE OF e SKIP LOCKED"
    return [r[0] for r in await s.fetchall(sql, (*params, limit))]


async def count_expired(s: Session, cutoff: int, *, workflow_type: str | None = None,
                        exclude: Sequence[str] = ()) -> int:
    """Expired executions, sub-workflows included (a dry run's count: they go after their parents)."""
    where, params = _expired_where(cutoff, workflow_type, exclude)
    where = where.replace(f" AND {_NO_PARENT}", "")
    row = await s.fetchone(f"SELECT COUNT(*) FROM executions e WHERE {where}", params)
    return int(row[0]) if row else 0


async def load_for_archive(s: Session, ids: Sequence[str]) -> tuple[list[Sequence[Any]], list[Sequence[Any]]]:
    """The execution rows and their tasks' rows (in order), as stored."""
    marks = ", ".join("?" * len(ids))
    executions = await s.fetchall(f"SELECT {EXECUTION_FIELDS} FROM executions WHERE workflow_id IN ({marks})", ids)
    tasks = await s.fetchall(
        f"SELECT {TASK_FIELDS} FROM tasks WHERE workflow_id IN ({marks}) ORDER BY workflow_id, seq", ids)
    return executions, tasks


async def delete_executions(s: Session, ids: Sequence[str]) -> None:
    """Each execution with its queue entries, timers, full-text entry, task logs, tasks, search
    attributes and a dialect's view of it (a BBS task keyed by its id)."""
    if not ids:
        return
    marks = ", ".join("?" * len(ids))
    tasks_of = f"SELECT task_id FROM tasks WHERE workflow_id IN ({marks})"
    rows_of = f"SELECT row_id FROM executions WHERE workflow_id IN ({marks})"
    for sql in (
        f"DELETE FROM queue WHERE workflow_id IN ({marks})",
        f"DELETE FROM timers WHERE workflow_id IN ({marks})",
        f"DELETE FROM executions_fts WHERE {s.fts_key} IN ({rows_of})",
        f"DELETE FROM task_logs WHERE task_id IN ({tasks_of})",
        f"DELETE FROM tasks WHERE workflow_id IN ({marks})",
        f"DELETE FROM search_attrs WHERE workflow_id IN ({marks})",
        f"DELETE FROM bbs_tasks WHERE task_guid IN ({marks})",
        f"DELETE FROM executions WHERE workflow_id IN ({marks})",
    ):
        await s.execute(sql, ids)


# --- the other tables, each by its own time column -------------------------------------------------

#: table: (key column, time column) of the rows kept for a time of their own.
SIDE_TABLES = {
    "task_logs": ("id", "created_time"),
    "schedule_runs": ("execution_id", "execution_time"),
    "event_executions": ("id", "created"),
}


async def delete_older(s: Session, table: str, before: int, limit: int) -> int:
    """Up to `limit` rows of `table` (a `SIDE_TABLES` name) older than `before`; how many went."""
    key, time_column = SIDE_TABLES[table]
    pick = f"SELECT {key} FROM {table} WHERE {time_column} < ? LIMIT ?"
    if s.skip_locked:
        pick += " FOR UPDATE SKIP LOCKED"
    rows = await s.fetchall(f"DELETE FROM {table} WHERE {key} IN ({pick}) RETURNING {key}", (before, limit))
    return len(rows)
