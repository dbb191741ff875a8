"""A session: one connection's view of the database, inside a unit of work or a read.

The SQL lives with the aggregate it is about, as functions over a session: `definitions`,
`executions`, `tasks`, `queue`, `timers`, `search`, `repair` and `polls` here, and one module per
dialect's own tables (`events`, `bbs`, `tango`, `sigma`, `tnco`, `schedules`). Statements use `?`
placeholders; an adapter may rewrite them.

`Session` is the seam between the two adapters (SQLite, PostgreSQL): the four primitives that run
statements, plus the few intentions whose SQL or timing differs between the databases (claiming
queue entries, row and named locks, full-text entries, marking executions started, wildcards).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from podium.model.records import Task

if TYPE_CHECKING:
    from podium.store.claim_at_once import Figures


class StaleRead(Exception):
    """An optimistic unit read an execution that another unit moved before its writes went: it
    wrote nothing, and goes again, locked (PostgreSQL; see `store.pg_unit`)."""


class Session(ABC):
    #: Called, in order, once the unit's transaction has committed (never if it rolls back): for a
    #: cache that must not believe in a write before it is durable.
    committed: list[Callable[[], None]]
    #: Called once it is known that the unit will not commit (it failed, or its commit did).
    abandoned: list[Callable[[], None]]
    #: The full-text table's key column (SQLite's FTS5 calls it rowid).
    fts_key = "rowid"
    #: Appended to the inner SELECT of a claim: PostgreSQL skips rows another process is claiming.
    skip_locked = ""
    #: Whether `claim_at_once` can claim (PostgreSQL).
    claims_at_once = False
    #: The statement that records when executions' work started (see `mark_started`).
    MARK_STARTED = "UPDATE executions SET started_time = ? WHERE workflow_id = ? AND started_time = 0"

    # --- what differs between the databases ----------------------------------------------------

    @abstractmethod
    async def claim_queue(self, queue_name: str, now: int, limit: int) -> list[str]:
        """Take up to `limit` visible entries off a queue, in claim order; return their task ids."""

    async def claim_rows(self, queue_name: str, now: int, limit: int, fields: str) -> list[Sequence[Any]]:
        """Take up to `limit` visible entries off a queue and read their tasks' `fields` (a SELECT
        list of `tasks`), in claim order. (PostgreSQL does both in one statement.)"""
        ids = await self.claim_queue(queue_name, now, limit)
        order = {task_id: i for i, task_id in enumerate(ids)}
        return sorted(await task_rows(self, fields, ids), key=lambda row: order[row[0]])

    async def claim_at_once(self, queue_name: str, now: int, limit: int, worker_id: str | None,
                            figures: Figures, observed: tuple[str, ...]) -> list[Sequence[Any]] | None:
        """A claim whose tasks' new state the database computes (`store.claim_at_once`): the claimed
        tasks' rows (`TASK_FIELDS`) as written, in claim order; None when it took nothing because a
        task at the head of the queue needs the claim done here (or there is no such statement: SQLite)."""
        return None

    async def locked_live(self, workflow_id: str, refs: Sequence[str]) -> list[Sequence[Any]] | None:
        """The execution's row (`EXECUTION_FIELDS`), locked, then the rows (`TASK_FIELDS`) of its live
        tasks and of every settled attempt of `refs`, read once the lock is held: one round trip
        (PostgreSQL); none if the execution is not there. None: no such statement here (SQLite),
        the caller reads with two."""
        return None

    async def mark_started(self, workflow_ids: Sequence[str], now: int) -> None:
        """The executions whose first task was just claimed started their work. (PostgreSQL does
        this after the claim commits: see PgSession.)"""
        await self.executemany(self.MARK_STARTED, [(now, w) for w in workflow_ids])

    async def write_index(self, entries: Sequence[tuple[int, str]]) -> None:
        """Full-text entries keyed by the executions' integer row ids; marks them indexed."""
        await self.executemany("INSERT OR REPLACE INTO executions_fts (rowid, body) VALUES (?, ?)", entries)
        await self.executemany("UPDATE executions SET indexed = 1 WHERE row_id = ?", [(e[0],) for e in entries])

    def wildcard(self, column: str, pattern: str) -> tuple[str, str]:
        """SQL (and its parameter) for `column` matching `pattern` case-sensitively, where `*` is
        any run of characters and nothing else is special. SQLite: GLOB, `?` and `[` bracketed."""
        return f"{column} GLOB ?", re.sub(r"([?\[])", r"[\1]", pattern)

    def lock_clause(self, sql: str, lock: bool) -> str:
        """Row locking for `SELECT ... FOR UPDATE`; SQLite's single writer needs none."""
        return sql

    def read_first(self) -> None:  # noqa: B027 - only PostgreSQL locks rows
        """This unit may read its execution without the lock, and write only if it did not move
        meanwhile (else `StaleRead`): for a unit whose execution is rarely moved by another at once."""

    def locked_execution(self, workflow_id: str) -> None:  # noqa: B027 - only PostgreSQL locks rows
        """This unit holds the execution's row locked (`SELECT ... FOR UPDATE`) until it ends."""

    def tasks_read(self, tasks: Sequence[Task]) -> None:  # noqa: B027 - only PostgreSQL holds writes
        """Tasks this unit read (PostgreSQL: those not SCHEDULED no claim can take, so whoever
        writes them holds their execution's lock)."""

    async def lock_name(self, name: str) -> None:  # noqa: B027 - nothing to do for a single writer
        """Hold a lock on `name` until the transaction ends (units that take it take turns)."""

    def run_committed(self) -> None:
        """The store calls this after the commit that made the unit durable."""
        for callback in self.committed:
            callback()

    def run_abandoned(self) -> None:
        """The store calls this when the unit rolled back, or its commit failed."""
        callbacks, self.abandoned = self.abandoned, []
        for callback in callbacks:
            callback()

    # --- the four primitives -------------------------------------------------------------------

    @abstractmethod
    async def execute(self, sql: str, params: Sequence[Any]) -> None: ...

    @abstractmethod
    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    @abstractmethod
    async def fetchone(self, sql: str, params: Sequence[Any]) -> Sequence[Any] | None: ...

    @abstractmethod
    async def fetchall(self, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]: ...


async def task_rows(s: Session, fields: str, task_ids: Sequence[str]) -> list[Sequence[Any]]:
    """The `fields` (a SELECT list of `tasks`) of these tasks, in no set order."""
    if not task_ids:
        return []
    return await s.fetchall(f"SELECT {fields} FROM tasks WHERE task_id IN ({', '.join('?' * len(task_ids))})",
                            task_ids)
