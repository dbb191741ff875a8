"""Task rows and their logs: write them, load them (live, by reference, by loop iteration), find
and count them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from podium.model.records import Task, TaskLog
from podium.store.rows import TASK_COLUMNS, TASK_FIELDS, changed_columns, task_from, task_row
from podium.store.session import Session, task_rows

_TASK_MARKS = ", ".join("?" * len(TASK_COLUMNS))


async def insert_tasks(s: Session, tasks: Iterable[Task]) -> None:
    rows = []
    for task in tasks:
        task.loaded = task_row(task)
        rows.append(task.loaded)
    await s.executemany(f"INSERT INTO tasks ({TASK_FIELDS}) VALUES ({_TASK_MARKS})", rows)


async def update_tasks(s: Session, tasks: Iterable[Task]) -> None:
    """Writes only the columns that changed since each row was read, one statement per shape."""
    by_shape: dict[tuple[int, ...], list[tuple[Any, ...]]] = {}
    for task in tasks:
        row = task_row(task)
        changed = changed_columns(TASK_COLUMNS, row, task.loaded)
        if changed:
            by_shape.setdefault(changed, []).append((*(row[i] for i in changed), row[0]))
        task.loaded = row
    for changed, rows in by_shape.items():
        sets = ", ".join(f"{TASK_COLUMNS[i]} = ?" for i in changed)
        await s.executemany(f"UPDATE tasks SET {sets} WHERE task_id = ?", rows)


async def delete_tasks(s: Session, task_ids: Sequence[str]) -> None:
    await s.executemany("DELETE FROM task_logs WHERE task_id = ?", [(i,) for i in task_ids])
    await s.executemany("DELETE FROM tasks WHERE task_id = ?", [(i,) for i in task_ids])


async def delete_tasks_by_ref(s: Session, workflow_id: str, ref_names: Sequence[str]) -> None:
    if ref_names:
        which = f"workflow_id = ? AND ref_name IN ({', '.join('?' * len(ref_names))}) AND executed = 1"
        await s.execute(f"DELETE FROM task_logs WHERE task_id IN (SELECT task_id FROM tasks WHERE {which})",
                        (workflow_id, *ref_names))
        await s.execute(f"DELETE FROM tasks WHERE {which}", (workflow_id, *ref_names))


async def get_task(s: Session, task_id: str, *, lock: bool = False) -> Task | None:
    row = await s.fetchone(s.lock_clause(f"SELECT {TASK_FIELDS} FROM tasks WHERE task_id = ?", lock),
                           (task_id,))
    return task_from(row) if row else None


async def get_tasks(s: Session, task_ids: Sequence[str]) -> list[Task]:
    return [task_from(r) for r in await task_rows(s, TASK_FIELDS, task_ids)]


async def claim_tasks(s: Session, queue_name: str, now: int, limit: int) -> list[Task]:
    """Take up to `limit` visible entries off a queue; their tasks, in claim order."""
    return [task_from(r) for r in await s.claim_rows(queue_name, now, limit, TASK_FIELDS)]


async def load_tasks(s: Session, workflow_id: str) -> list[Task]:
    rows = await s.fetchall(f"SELECT {TASK_FIELDS} FROM tasks WHERE workflow_id = ? ORDER BY seq",
                            (workflow_id,))
    return [task_from(r) for r in rows]


async def load_live_tasks(s: Session, workflow_id: str, refs: Sequence[str] = ()) -> list[Task]:
    """The live tasks, and every settled attempt of the given reference names, in one statement
    (the live attempts of those are among the live tasks already)."""
    sql = f"SELECT {TASK_FIELDS} FROM tasks WHERE workflow_id = ? AND executed = 0"
    if refs:
        sql += (f" UNION ALL SELECT {TASK_FIELDS} FROM tasks WHERE workflow_id = ? "
                f"AND ref_name IN ({', '.join('?' * len(refs))}) AND executed = 1")
        params: tuple[Any, ...] = (workflow_id, workflow_id, *refs)
    else:
        params = (workflow_id,)
    tasks = [task_from(r) for r in await s.fetchall(sql, params)]
    s.tasks_read(tasks)
    return tasks


#: The live tasks of dynamic forks: the rows of the `tasks_forked` index, in its own terms (so that a
#: query on them reads the index alone); `_OPEN` narrows them to those not finished.
_FORKED = "workflow_id = ? AND executed = 0 AND fork IS NOT NULL"
_OPEN = "status IN ('SCHEDULED', 'IN_PROGRESS')"
_STATUS, _FORK = TASK_COLUMNS.index("status"), TASK_COLUMNS.index("fork")


async def load_live_tasks_around(s: Session, workflow_id: str, task_id: str) -> tuple[list[Task], dict[str, int]]:
    """The live tasks but the open tasks of dynamic forks other than `task_id`, and how many of
    those each fork has: a completion in a fork of 1,000 branches reads one branch and a count from
    an index, not 1,000 rows. The execution's lock keeps both reads in step (a claim, which does
    not take it, only moves a task from SCHEDULED to IN_PROGRESS)."""
    rows = await s.fetchall(
        f"SELECT {TASK_FIELDS} FROM tasks WHERE workflow_id = ? AND executed = 0 AND fork IS NULL "
        f"UNION ALL SELECT {TASK_FIELDS} FROM tasks WHERE {_FORKED} AND NOT {_OPEN} "
        f"UNION ALL SELECT {TASK_FIELDS} FROM tasks WHERE task_id = ? AND {_FORKED} AND {_OPEN}",
        (workflow_id, workflow_id, task_id, workflow_id))
    counts = await s.fetchall(f"SELECT fork, COUNT(*) FROM tasks WHERE {_FORKED} AND {_OPEN} GROUP BY fork",
                              (workflow_id,))
    unread = {fork: int(n) for fork, n in counts}
    for row in rows:
        if row[0] == task_id and row[_FORK] is not None and row[_STATUS] in ("SCHEDULED", "IN_PROGRESS"):
            unread[row[_FORK]] -= 1  # counted, but read
    return [task_from(r) for r in rows], {fork: n for fork, n in unread.items() if n}


async def load_tasks_by_ref(s: Session, workflow_id: str, refs: Sequence[str]) -> list[Task]:
    """Every attempt of the given reference names (and of their loop iterations)."""
    if not refs:
        return []
    marks = ", ".join("?" * len(refs))
    rows = await s.fetchall(
        f"SELECT {TASK_FIELDS} FROM tasks WHERE workflow_id = ? AND ref_name IN ({marks})",
        (workflow_id, *refs))
    return [task_from(r) for r in rows]


async def load_latest_iterations(s: Session, workflow_id: str, loop_refs: Sequence[str]) -> list[Task]:
    """The latest task of each step inside a loop (`step` finds `step__7`), one index probe each."""
    one = f"SELECT * FROM (SELECT {TASK_FIELDS} FROM tasks WHERE workflow_id = ? AND loop_ref = ? " \
          "ORDER BY seq DESC LIMIT 1) AS latest"
    found: list[Task] = []
    for start in range(0, len(loop_refs), 200):  # SQLite allows 500 terms in a compound SELECT
        chunk = loop_refs[start:start + 200]
        params = [p for ref in chunk for p in (workflow_id, ref)]
        found += [task_from(r) for r in await s.fetchall(" UNION ALL ".join([one] * len(chunk)), params)]
    return found


async def load_tasks_since(s: Session, workflow_id: str, seq: int) -> list[Task]:
    rows = await s.fetchall(f"SELECT {TASK_FIELDS} FROM tasks WHERE workflow_id = ? AND seq > ? ORDER BY seq",
                            (workflow_id, seq))
    return [task_from(r) for r in rows]


async def find_pending_by_ref(s: Session, workflow_id: str, ref_name: str) -> Task | None:
    row = await s.fetchone(
        f"SELECT {TASK_FIELDS} FROM tasks WHERE workflow_id = ? AND status IN ('SCHEDULED', 'IN_PROGRESS') "
        "AND (ref_name = ? OR ref_name LIKE ? ESCAPE '\\') ORDER BY seq LIMIT 1",
        (workflow_id, ref_name, ref_name.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")
         + "\\_\\_%"))
    return task_from(row) if row else None


async def pending_of_type(s: Session, task_type: str, offset: int, limit: int) -> list[Task]:
    rows = await s.fetchall(
        f"SELECT {TASK_FIELDS} FROM tasks WHERE task_type = ? AND status IN ('SCHEDULED', 'IN_PROGRESS') "
        "ORDER BY scheduled_time LIMIT ? OFFSET ?", (task_type, limit, offset))
    return [task_from(r) for r in rows]


# The tasks a definition's claim limits count (`podium.service.claim_limits`): counted on every
# claim, listed when explaining why a task waits, so both read the same rows.
_IN_PROGRESS_OF = "task_def_name = ? AND status = 'IN_PROGRESS'"
# `start_time > 0` is the partial index tasks_started's condition, written out so that both planners use it.
_STARTED_SINCE = "task_def_name = ? AND start_time >= ? AND start_time > 0"


async def count_in_progress(s: Session, task_def_name: str) -> int:
    row = await s.fetchone(f"SELECT COUNT(*) FROM tasks WHERE {_IN_PROGRESS_OF}", (task_def_name,))
    return row[0] if row else 0


async def in_progress_ids(s: Session, task_def_name: str) -> list[str]:
    """The tasks `count_in_progress` counts, the longest running first."""
    rows = await s.fetchall(f"SELECT task_id FROM tasks WHERE {_IN_PROGRESS_OF} ORDER BY start_time, task_id",
                            (task_def_name,))
    return [r[0] for r in rows]


async def count_started_since(s: Session, task_def_name: str, since: int) -> int:
    """Tasks of this definition started at `since` or later."""
    row = await s.fetchone(f"SELECT COUNT(*) FROM tasks WHERE {_STARTED_SINCE}", (task_def_name, since))
    return row[0] if row else 0


async def start_times_since(s: Session, task_def_name: str, since: int) -> list[int]:
    """The start times `count_started_since` counts, oldest first."""
    rows = await s.fetchall(f"SELECT start_time FROM tasks WHERE {_STARTED_SINCE} ORDER BY start_time",
                            (task_def_name, since))
    return [r[0] for r in rows]


async def add_logs(s: Session, logs: Sequence[TaskLog]) -> None:
    await s.executemany("INSERT INTO task_logs (task_id, log, created_time) VALUES (?, ?, ?)",
                        [(entry.task_id, entry.log, entry.created_time) for entry in logs])


async def get_logs(s: Session, task_id: str) -> list[TaskLog]:
    rows = await s.fetchall("SELECT task_id, log, created_time FROM task_logs WHERE task_id = ? ORDER BY id",
                            (task_id,))
    return [TaskLog(*r) for r in rows]
