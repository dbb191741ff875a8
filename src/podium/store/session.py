"""The SQL both adapters share. Statements use `?` placeholders; an adapter may rewrite them.

Every method is one intention (`claim_queue`, `due_timers`, `load_live_tasks` ...). Adapters
implement only the four primitives at the bottom of `Session`.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from podium.model.records import TASK_TIMER, Execution, PollData, QueueEntry, Task, TaskLog, Timer
from podium.store.rows import (
    EXECUTION_COLUMNS,
    TASK_COLUMNS,
    changed_columns,
    dumps,
    execution_from,
    execution_row,
    loads,
    task_from,
    task_row,
)

_EX_COLS = ", ".join(EXECUTION_COLUMNS)
_TASK_COLS = ", ".join(TASK_COLUMNS)
_EX_MARKS = ", ".join("?" * len(EXECUTION_COLUMNS))
_TASKS_OF = "SELECT task_id FROM tasks WHERE workflow_id = ?"
_TASK_MARKS = ", ".join("?" * len(TASK_COLUMNS))
#: What one execution's full-text entry holds at most: its id and type, its correlation id cut to
#: INDEXED_FIELD_CHARS, and the first INDEXED_PAYLOAD_CHARS characters of its input's JSON and of its
#: output's. Beyond that a huge payload would make an entry PostgreSQL refuses (a tsvector holds at
#: most 1 MB) or one that every search pays for; a payload is never read whole to be indexed either.
INDEXED_FIELD_CHARS = 1024
INDEXED_PAYLOAD_CHARS = 32 * 1024
_LAST_WORD = re.compile(r"\w+$")


def searchable(parts: Sequence[str]) -> str:
    """An execution's full-text entry from [workflow id, correlation id, type, input JSON, output
    JSON] as read (payloads already cut): a payload cut at the cap loses the word cut in two."""
    kept = [p for p in parts[:-2] if p]
    for payload in parts[-2:]:
        if len(payload) >= INDEXED_PAYLOAD_CHARS:
            payload = _LAST_WORD.sub("", payload)
        if payload:
            kept.append(payload)
    return " ".join(kept)


class Session(ABC):
    #: The full-text table's key column (SQLite's FTS5 calls it rowid).
    fts_key = "rowid"
    #: Appended to the inner SELECT of a claim: PostgreSQL skips rows another process is claiming.
    skip_locked = ""

    def wildcard(self, column: str, pattern: str) -> tuple[str, str]:
        """SQL (and its parameter) for `column` matching `pattern` case-sensitively, where `*` is
        any run of characters and nothing else is special. SQLite: GLOB, `?` and `[` bracketed."""
        return f"{column} GLOB ?", re.sub(r"([?\[])", r"[\1]", pattern)

    # --- definitions ---------------------------------------------------------------------------

    async def get_workflow_def(self, name: str, version: int | None) -> tuple[dict[str, Any], int, int] | None:
        if version is None:
            row = await self.fetchone(
                "SELECT body, create_time, update_time FROM workflow_defs WHERE name = ? "
                "ORDER BY version DESC LIMIT 1", (name,))
        else:
            row = await self.fetchone(
                "SELECT body, create_time, update_time FROM workflow_defs WHERE name = ? AND version = ?",
                (name, version))
        return (loads(row[0]), row[1], row[2] or 0) if row else None

    async def list_workflow_defs(self, name: str | None = None) -> list[tuple[dict[str, Any], int, int]]:
        sql = "SELECT body, create_time, update_time FROM workflow_defs"
        params: tuple[Any, ...] = ()
        if name is not None:
            sql, params = sql + " WHERE name = ?", (name,)
        rows = await self.fetchall(sql + " ORDER BY name, version", params)
        return [(loads(r[0]), r[1], r[2] or 0) for r in rows]

    async def workflow_def_exists(self, name: str, version: int) -> bool:
        row = await self.fetchone("SELECT 1 FROM workflow_defs WHERE name = ? AND version = ?", (name, version))
        return row is not None

    async def put_workflow_def(self, name: str, version: int, body: dict[str, Any], now: int) -> None:
        await self.execute(
            "INSERT INTO workflow_defs (name, version, body, create_time, update_time) VALUES (?, ?, ?, ?, NULL) "
            "ON CONFLICT (name, version) DO UPDATE SET body = excluded.body, update_time = ?",
            (name, version, dumps(body), now, now))

    async def delete_workflow_def(self, name: str, version: int) -> bool:
        rows = await self.fetchall(
            "DELETE FROM workflow_defs WHERE name = ? AND version = ? RETURNING name", (name, version))
        return bool(rows)

    async def get_task_def(self, name: str) -> tuple[dict[str, Any], int, int] | None:
        row = await self.fetchone("SELECT body, create_time, update_time FROM task_defs WHERE name = ?", (name,))
        return (loads(row[0]), row[1], row[2] or 0) if row else None

    async def list_task_defs(self) -> list[tuple[dict[str, Any], int, int]]:
        rows = await self.fetchall("SELECT body, create_time, update_time FROM task_defs ORDER BY name", ())
        return [(loads(r[0]), r[1], r[2] or 0) for r in rows]

    async def put_task_def(self, name: str, body: dict[str, Any], now: int) -> None:
        await self.execute(
            "INSERT INTO task_defs (name, body, create_time, update_time) VALUES (?, ?, ?, NULL) "
            "ON CONFLICT (name) DO UPDATE SET body = excluded.body, update_time = ?",
            (name, dumps(body), now, now))

    async def delete_task_def(self, name: str) -> bool:
        return bool(await self.fetchall("DELETE FROM task_defs WHERE name = ? RETURNING name", (name,)))

    async def put_snapshot(self, def_hash: str, body: str) -> None:
        await self.execute("INSERT INTO def_snapshots (hash, body) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING",
                           (def_hash, body))

    async def get_snapshot(self, def_hash: str) -> str | None:
        row = await self.fetchone("SELECT body FROM def_snapshots WHERE hash = ?", (def_hash,))
        return row[0] if row else None

    # --- executions ----------------------------------------------------------------------------

    async def insert_execution(self, ex: Execution) -> None:
        ex.loaded = execution_row(ex)
        await self.execute(f"INSERT INTO executions ({_EX_COLS}) VALUES ({_EX_MARKS})", ex.loaded)

    async def update_execution(self, ex: Execution, *, reindex: bool = False) -> None:
        """Writes only the columns that changed since the row was read (SQLite then leaves the
        indexes on the others alone)."""
        row = execution_row(ex)
        changed = changed_columns(EXECUTION_COLUMNS, row, ex.loaded)
        sets = [f"{EXECUTION_COLUMNS[i]} = ?" for i in changed] + (["indexed = 0"] if reindex else [])
        if sets:
            await self.execute(f"UPDATE executions SET {', '.join(sets)} WHERE workflow_id = ?",
                               (*(row[i] for i in changed), row[0]))
        ex.loaded = row

    async def get_execution(self, workflow_id: str, *, lock: bool = False) -> Execution | None:
        row = await self.fetchone(self.lock_clause(
            f"SELECT {_EX_COLS} FROM executions WHERE workflow_id = ?", lock), (workflow_id,))
        return execution_from(row) if row else None

    async def delete_execution(self, workflow_id: str) -> None:
        await self.execute(f"DELETE FROM queue WHERE task_id IN ({_TASKS_OF})", (workflow_id,))
        await self.execute("DELETE FROM timers WHERE kind = 'workflow' AND key = ?", (workflow_id,))
        await self.execute(f"DELETE FROM executions_fts WHERE {self.fts_key} = "
                           "(SELECT row_id FROM executions WHERE workflow_id = ?)", (workflow_id,))
        await self.execute(
            "DELETE FROM task_logs WHERE task_id IN (SELECT task_id FROM tasks WHERE workflow_id = ?)",
            (workflow_id,))
        await self.execute("DELETE FROM tasks WHERE workflow_id = ?", (workflow_id,))
        await self.execute("DELETE FROM bbs_tasks WHERE task_guid = ?", (workflow_id,))  # a dialect's view of it
        await self.execute("DELETE FROM search_attrs WHERE workflow_id = ?", (workflow_id,))
        await self.execute("DELETE FROM executions WHERE workflow_id = ?", (workflow_id,))

    async def set_search_attrs(self, workflow_id: str, attrs: Mapping[str, str]) -> None:
        await self.executemany(
            "INSERT INTO search_attrs (workflow_id, name, value) VALUES (?, ?, ?) "
            "ON CONFLICT (workflow_id, name) DO UPDATE SET value = excluded.value",
            [(workflow_id, name, value) for name, value in attrs.items()])

    async def search_attrs_of(self, workflow_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """Each execution's search attributes (executions without any are left out)."""
        found: dict[str, dict[str, str]] = {}
        for chunk in range(0, len(workflow_ids), 500):
            ids = workflow_ids[chunk:chunk + 500]
            rows = await self.fetchall(
                f"SELECT workflow_id, name, value FROM search_attrs WHERE workflow_id IN ({', '.join('?' * len(ids))})",
                ids)
            for wid, name, value in rows:
                found.setdefault(wid, {})[name] = value
        return found

    async def find_by_idempotency_key(self, key: str) -> Execution | None:
        row = await self.fetchone(
            f"SELECT {_EX_COLS} FROM executions WHERE idempotency_key = ? ORDER BY create_time DESC LIMIT 1",
            (key,))
        return execution_from(row) if row else None

    async def running_ids(self, name: str, version: int | None, start: int, end: int) -> list[str]:
        sql = "SELECT workflow_id FROM executions WHERE workflow_type = ? AND status IN ('RUNNING', 'PAUSED')"
        params: list[Any] = [name]
        if version is not None:
            sql += " AND version = ?"
            params.append(version)
        if start > 0 and end > 0:
            sql += " AND create_time BETWEEN ? AND ?"
            params += [start, end]
        return [r[0] for r in await self.fetchall(sql + " ORDER BY create_time", params)]

    async def by_correlation(self, name: str, correlation_id: str, include_closed: bool) -> list[Execution]:
        sql = f"SELECT {_EX_COLS} FROM executions WHERE workflow_type = ? AND correlation_id = ?"
        if not include_closed:
            sql += " AND status IN ('RUNNING', 'PAUSED')"
        rows = await self.fetchall(sql + " ORDER BY create_time", (name, correlation_id))
        return [execution_from(r) for r in rows]

    async def search_executions(self, where: str, params: Sequence[Any], order: str, offset: int,
                                limit: int) -> tuple[int, list[Execution]]:
        clause = f" WHERE {where}" if where else ""
        total = await self.fetchone(f"SELECT COUNT(*) FROM executions{clause}", params)
        rows = await self.fetchall(
            f"SELECT {_EX_COLS} FROM executions{clause} ORDER BY {order} LIMIT ? OFFSET ?",
            (*params, limit, offset))
        return (total[0] if total else 0), [execution_from(r) for r in rows]

    async def executions_to_index(self, limit: int) -> list[tuple[int, str]]:
        """Executions whose full-text entry is due: (row id, the text to index; see `searchable`)."""
        rows = await self.fetchall(  # locked till the entries are written: a change waits, then re-flags
            "SELECT row_id, workflow_id, substr(correlation_id, 1, ?), workflow_type, substr(input, 1, ?), "
            f"substr(output, 1, ?) FROM executions WHERE indexed = 0 ORDER BY row_id LIMIT ?{self.skip_locked}",
            (INDEXED_FIELD_CHARS, INDEXED_PAYLOAD_CHARS, INDEXED_PAYLOAD_CHARS, limit))
        return [(r[0], searchable([str(v) if v and v != "{}" else "" for v in r[1:]])) for r in rows]

    async def write_index(self, entries: Sequence[tuple[int, str]]) -> None:
        """Full-text entries keyed by the executions' integer row ids; marks them indexed."""
        await self.executemany("INSERT OR REPLACE INTO executions_fts (rowid, body) VALUES (?, ?)", entries)
        await self.executemany("UPDATE executions SET indexed = 1 WHERE row_id = ?", [(e[0],) for e in entries])

    async def skip_index(self, row_id: int) -> str | None:
        """Leave an execution out of the full-text index until it changes again (`indexed = 2`: its
        entry could not be written); returns its workflow id."""
        rows = await self.fetchall("UPDATE executions SET indexed = 2 WHERE row_id = ? AND indexed = 0 "
                                   "RETURNING workflow_id", (row_id,))
        return str(rows[0][0]) if rows else None

    async def archive(self, workflow_id: str, body: str) -> None:
        await self.execute(
            "INSERT INTO archived_executions (workflow_id, body) VALUES (?, ?) "
            "ON CONFLICT (workflow_id) DO UPDATE SET body = excluded.body", (workflow_id, body))

    async def get_archived(self, workflow_id: str) -> dict[str, Any] | None:
        row = await self.fetchone("SELECT body FROM archived_executions WHERE workflow_id = ?", (workflow_id,))
        return loads(row[0]) if row else None

    # --- tasks ---------------------------------------------------------------------------------

    async def insert_tasks(self, tasks: Iterable[Task]) -> None:
        rows = []
        for task in tasks:
            task.loaded = task_row(task)
            rows.append(task.loaded)
        await self.executemany(f"INSERT INTO tasks ({_TASK_COLS}) VALUES ({_TASK_MARKS})", rows)

    async def update_tasks(self, tasks: Iterable[Task]) -> None:
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
            await self.executemany(f"UPDATE tasks SET {sets} WHERE task_id = ?", rows)

    async def delete_tasks(self, task_ids: Sequence[str]) -> None:
        await self.executemany("DELETE FROM task_logs WHERE task_id = ?", [(i,) for i in task_ids])
        await self.executemany("DELETE FROM tasks WHERE task_id = ?", [(i,) for i in task_ids])

    async def delete_tasks_by_ref(self, workflow_id: str, ref_names: Sequence[str]) -> None:
        if ref_names:
            which = f"workflow_id = ? AND ref_name IN ({', '.join('?' * len(ref_names))}) AND executed = 1"
            await self.execute(f"DELETE FROM task_logs WHERE task_id IN (SELECT task_id FROM tasks WHERE {which})",
                               (workflow_id, *ref_names))
            await self.execute(f"DELETE FROM tasks WHERE {which}", (workflow_id, *ref_names))

    async def get_task(self, task_id: str, *, lock: bool = False) -> Task | None:
        row = await self.fetchone(self.lock_clause(f"SELECT {_TASK_COLS} FROM tasks WHERE task_id = ?", lock),
                                  (task_id,))
        return task_from(row) if row else None

    async def get_tasks(self, task_ids: Sequence[str]) -> list[Task]:
        if not task_ids:
            return []
        marks = ", ".join("?" * len(task_ids))
        rows = await self.fetchall(f"SELECT {_TASK_COLS} FROM tasks WHERE task_id IN ({marks})", task_ids)
        return [task_from(r) for r in rows]

    async def load_tasks(self, workflow_id: str) -> list[Task]:
        rows = await self.fetchall(f"SELECT {_TASK_COLS} FROM tasks WHERE workflow_id = ? ORDER BY seq",
                                   (workflow_id,))
        return [task_from(r) for r in rows]

    async def load_live_tasks(self, workflow_id: str) -> list[Task]:
        rows = await self.fetchall(
            f"SELECT {_TASK_COLS} FROM tasks WHERE workflow_id = ? AND executed = 0", (workflow_id,))
        return [task_from(r) for r in rows]

    async def load_tasks_by_ref(self, workflow_id: str, refs: Sequence[str]) -> list[Task]:
        """Every attempt of the given reference names (and of their loop iterations)."""
        if not refs:
            return []
        marks = ", ".join("?" * len(refs))
        rows = await self.fetchall(
            f"SELECT {_TASK_COLS} FROM tasks WHERE workflow_id = ? AND ref_name IN ({marks})",
            (workflow_id, *refs))
        return [task_from(r) for r in rows]

    async def load_latest_iterations(self, workflow_id: str, loop_refs: Sequence[str]) -> list[Task]:
        """The latest task of each step inside a loop (`step` finds `step__7`), one index probe each."""
        one = f"SELECT * FROM (SELECT {_TASK_COLS} FROM tasks WHERE workflow_id = ? AND loop_ref = ? " \
              "ORDER BY seq DESC LIMIT 1) AS latest"
        found: list[Task] = []
        for start in range(0, len(loop_refs), 200):  # SQLite allows 500 terms in a compound SELECT
            chunk = loop_refs[start:start + 200]
            params = [p for ref in chunk for p in (workflow_id, ref)]
            found += [task_from(r) for r in await self.fetchall(" UNION ALL ".join([one] * len(chunk)), params)]
        return found

    async def load_tasks_since(self, workflow_id: str, seq: int) -> list[Task]:
        rows = await self.fetchall(f"SELECT {_TASK_COLS} FROM tasks WHERE workflow_id = ? AND seq > ? ORDER BY seq",
                                   (workflow_id, seq))
        return [task_from(r) for r in rows]

    async def find_pending_by_ref(self, workflow_id: str, ref_name: str) -> Task | None:
        row = await self.fetchone(
            f"SELECT {_TASK_COLS} FROM tasks WHERE workflow_id = ? AND status IN ('SCHEDULED', 'IN_PROGRESS') "
            "AND (ref_name = ? OR ref_name LIKE ? ESCAPE '\\') ORDER BY seq LIMIT 1",
            (workflow_id, ref_name, ref_name.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")
             + "\\_\\_%"))
        return task_from(row) if row else None

    async def search_tasks(self, where: str, params: Sequence[Any], order: str, offset: int,
                           limit: int) -> tuple[int, list[Task]]:
        clause = f" WHERE {where}" if where else ""
        total = await self.fetchone(f"SELECT COUNT(*) FROM tasks{clause}", params)
        rows = await self.fetchall(f"SELECT {_TASK_COLS} FROM tasks{clause} ORDER BY {order} LIMIT ? OFFSET ?",
                                   (*params, limit, offset))
        return (total[0] if total else 0), [task_from(r) for r in rows]

    async def pending_of_type(self, task_type: str, offset: int, limit: int) -> list[Task]:
        rows = await self.fetchall(
            f"SELECT {_TASK_COLS} FROM tasks WHERE task_type = ? AND status IN ('SCHEDULED', 'IN_PROGRESS') "
            "ORDER BY scheduled_time LIMIT ? OFFSET ?", (task_type, limit, offset))
        return [task_from(r) for r in rows]

    async def count_in_progress(self, task_def_name: str) -> int:
        row = await self.fetchone(
            "SELECT COUNT(*) FROM tasks WHERE task_def_name = ? AND status = 'IN_PROGRESS'", (task_def_name,))
        return row[0] if row else 0

    async def count_started_since(self, task_def_name: str, since: int) -> int:
        row = await self.fetchone("SELECT COUNT(*) FROM tasks WHERE task_def_name = ? AND start_time >= ?",
                                  (task_def_name, since))
        return row[0] if row else 0

    # --- queues --------------------------------------------------------------------------------

    async def enqueue(self, entries: Sequence[QueueEntry]) -> None:
        await self.executemany(
            "INSERT INTO queue (task_id, queue_name, priority, visible_at, workflow_id) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (task_id) DO UPDATE SET queue_name = excluded.queue_name, "
            "priority = excluded.priority, visible_at = excluded.visible_at",
            [(e.task_id, e.queue_name, e.priority, e.visible_at, e.workflow_id) for e in entries])

    #: The statement that records when executions' work started (see `mark_started`).
    MARK_STARTED = "UPDATE executions SET started_time = ? WHERE workflow_id = ? AND started_time = 0"

    async def mark_started(self, workflow_ids: Sequence[str], now: int) -> None:
        """The executions whose first task was just claimed started their work. (PostgreSQL does
        this after the claim commits: see PgSession.)"""
        await self.executemany(self.MARK_STARTED, [(now, w) for w in workflow_ids])

    async def dequeue(self, task_ids: Sequence[str]) -> None:
        await self.executemany("DELETE FROM queue WHERE task_id = ?", [(i,) for i in task_ids])

    @abstractmethod
    async def claim_queue(self, queue_name: str, now: int, limit: int) -> list[str]:
        """Take up to `limit` visible entries off a queue, in claim order; return their task ids."""

    async def queue_sizes(self) -> dict[str, int]:
        rows = await self.fetchall("SELECT queue_name, COUNT(*) FROM queue GROUP BY queue_name ORDER BY queue_name",
                                   ())
        return {r[0]: r[1] for r in rows}

    async def queue_overview(self) -> list[tuple[str, int, int]]:
        """Every queue with entries: (name, depth, the oldest entry's visible time)."""
        rows = await self.fetchall(
            "SELECT queue_name, COUNT(*), MIN(visible_at) FROM queue GROUP BY queue_name ORDER BY queue_name", ())
        return [(r[0], r[1], r[2]) for r in rows]

    async def queue_size(self, queue_name: str) -> int:
        row = await self.fetchone("SELECT COUNT(*) FROM queue WHERE queue_name = ?", (queue_name,))
        return row[0] if row else 0

    async def next_visible(self, queue_name: str) -> int | None:
        row = await self.fetchone("SELECT MIN(visible_at) FROM queue WHERE queue_name = ?", (queue_name,))
        return row[0] if row else None

    async def scheduled_without_queue_entry(self, task_type: str) -> list[Task]:
        rows = await self.fetchall(
            f"SELECT {_TASK_COLS} FROM tasks WHERE task_type = ? AND status = 'SCHEDULED' "
            "AND task_id NOT IN (SELECT task_id FROM queue)", (task_type,))
        return [task_from(r) for r in rows]

    # --- repair (the safety net) --------------------------------------------------------------

    async def scheduled_tasks_missing_from_queue(self, older_than: int, limit: int) -> list[Task]:
        rows = await self.fetchall(
            f"SELECT {_TASK_COLS} FROM tasks WHERE executed = 0 AND status = 'SCHEDULED' AND update_time < ? "
            "AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.task_id = tasks.task_id) LIMIT ?", (older_than, limit))
        return [task_from(r) for r in rows]

    async def running_tasks_without_timer(self, older_than: int, limit: int) -> list[Task]:
        rows = await self.fetchall(
            f"SELECT {_TASK_COLS} FROM tasks WHERE executed = 0 AND status = 'IN_PROGRESS' AND update_time < ? "
            "AND due_at IS NULL LIMIT ?", (older_than, limit))
        return [task_from(r) for r in rows]

    async def running_without_live_tasks(self, older_than: int, limit: int) -> list[str]:
        rows = await self.fetchall(
            "SELECT workflow_id FROM executions e WHERE status = 'RUNNING' AND update_time < ? AND NOT EXISTS "
            "(SELECT 1 FROM tasks t WHERE t.workflow_id = e.workflow_id AND t.executed = 0) LIMIT ?",
            (older_than, limit))
        return [r[0] for r in rows]

    # --- timers --------------------------------------------------------------------------------

    async def set_timers(self, timers: Sequence[Timer]) -> None:
        await self.executemany(
            "INSERT INTO timers (kind, key, workflow_id, due_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (kind, key) DO UPDATE SET due_at = excluded.due_at",
            [(t.kind, t.key, t.workflow_id, t.due_at) for t in timers])

    async def clear_timers(self, keys: Sequence[tuple[str, str]]) -> None:
        await self.executemany("DELETE FROM timers WHERE kind = ? AND key = ?", keys)

    async def queued_task_ids(self, workflow_id: str) -> set[str]:
        rows = await self.fetchall(f"SELECT task_id FROM queue WHERE task_id IN ({_TASKS_OF})", (workflow_id,))
        return {r[0] for r in rows}

    async def task_timer_keys(self, workflow_id: str) -> set[str]:
        rows = await self.fetchall("SELECT task_id FROM tasks WHERE workflow_id = ? AND due_at IS NOT NULL",
                                   (workflow_id,))
        return {r[0] for r in rows}

    async def due_timers(self, now: int, limit: int) -> list[Timer]:
        """Due timers of both kinds: execution timers (table `timers`) and tasks' own (`due_at`)."""
        rows = await self.fetchall(
            "SELECT * FROM (SELECT kind, key, workflow_id, due_at FROM timers WHERE due_at <= ? "
            "UNION ALL SELECT 'task', task_id, workflow_id, due_at FROM tasks WHERE due_at <= ?) AS due "
            "ORDER BY due_at LIMIT ?", (now, now, limit))
        return [Timer(*r) for r in rows]

    async def take_timer(self, timer: Timer) -> bool:
        """Remove a due timer unless it was re-armed meanwhile; True if this caller owns the firing."""
        if timer.kind == TASK_TIMER:
            sql = "UPDATE tasks SET due_at = NULL WHERE task_id = ? AND due_at = ? RETURNING task_id"
            return bool(await self.fetchall(sql, (timer.key, timer.due_at)))
        rows = await self.fetchall("DELETE FROM timers WHERE kind = ? AND key = ? AND due_at = ? RETURNING key",
                                   (timer.kind, timer.key, timer.due_at))
        return bool(rows)

    async def next_timer_due(self) -> int | None:
        row = await self.fetchone("SELECT MIN(d) FROM (SELECT MIN(due_at) AS d FROM timers "
                                  "UNION ALL SELECT MIN(due_at) FROM tasks WHERE due_at IS NOT NULL) AS due", ())
        return row[0] if row else None

    # --- poll data and logs --------------------------------------------------------------------

    async def save_poll_data(self, entries: Sequence[PollData]) -> None:
        await self.executemany(
            "INSERT INTO poll_data (queue_name, domain, worker_id, last_poll_time) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (queue_name, domain) DO UPDATE SET worker_id = excluded.worker_id, "
            "last_poll_time = excluded.last_poll_time",
            [(p.queue_name, p.domain or "", p.worker_id, p.last_poll_time) for p in entries])

    async def list_poll_data(self) -> list[PollData]:
        rows = await self.fetchall("SELECT queue_name, domain, worker_id, last_poll_time FROM poll_data", ())
        return [PollData(r[0], r[1] or None, r[2], r[3]) for r in rows]

    async def add_logs(self, logs: Sequence[TaskLog]) -> None:
        await self.executemany("INSERT INTO task_logs (task_id, log, created_time) VALUES (?, ?, ?)",
                               [(entry.task_id, entry.log, entry.created_time) for entry in logs])

    async def get_logs(self, task_id: str) -> list[TaskLog]:
        rows = await self.fetchall("SELECT task_id, log, created_time FROM task_logs WHERE task_id = ? ORDER BY id",
                                   (task_id,))
        return [TaskLog(*r) for r in rows]

    # --- the seam ------------------------------------------------------------------------------

    def lock_clause(self, sql: str, lock: bool) -> str:
        """Row locking for `SELECT ... FOR UPDATE`; SQLite's single writer needs none."""
        return sql

    async def lock_name(self, name: str) -> None:  # noqa: B027 - nothing to do for a single writer
        """Hold a lock on `name` until the transaction ends (units that take it take turns)."""

    @abstractmethod
    async def execute(self, sql: str, params: Sequence[Any]) -> None: ...

    @abstractmethod
    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    @abstractmethod
    async def fetchone(self, sql: str, params: Sequence[Any]) -> Sequence[Any] | None: ...

    @abstractmethod
    async def fetchall(self, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]: ...
