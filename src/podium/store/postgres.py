"""The PostgreSQL adapter: asyncpg with a connection pool; many server processes share one database.

Every unit of work is one transaction on a pooled connection. An execution's row is locked
(`SELECT ... FOR UPDATE`) by every unit that changes it, so units on one execution take turns
across processes; a worker's update may instead read it unlocked and write in one statement whose
first part locks it where it is still as read (`store.pg_unit`). Claims take queue rows with
`FOR UPDATE SKIP LOCKED`, so two servers never hand out one task. Lock order is execution -> queue
-> tasks everywhere (a claim takes queue -> tasks), so units cannot deadlock one another. Wake-ups
travel between processes as `NOTIFY podium` (see `Broadcaster`); waits also look again at least
every second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import lru_cache, partial
from typing import Any

import asyncpg
from asyncpg.transaction import Transaction

from podium.errors import StoreUnavailable
from podium.logs import failed
from podium.model.enums import TaskStatus
from podium.model.records import Task
from podium.store import broadcast, claim_at_once
from podium.store.broadcast import NOTIFY_CHANNEL, Broadcaster
from podium.store.claim_at_once import Figures
from podium.store.migrate import MIGRATIONS_POSTGRES, Migrations, SchemaTooNew, migrations, split_sql
from podium.store.pending import awaiting, carry, dropped
from podium.store.pg_unit import UNAVAILABLE, PgUnit, numbered, store_error
from podium.store.port import Store
from podium.store.rows import EXECUTION_COLUMNS, TASK_COLUMNS
from podium.store.session import Session, task_rows

log = logging.getLogger(__name__)

MIGRATION_LOCK = 7_346_001  # pg_advisory_lock key: one migrator at a time
#: The execution locked and its live tasks read after, by migration 20's function: the first row
#: holds the execution's fields (and NULLs), the others a task's (after NULLs).
_LOCKED_LIVE = (f"SELECT {', '.join(f'(ex).{c}' for c in EXECUTION_COLUMNS)}, "
                f"{', '.join(f'(task).{c}' for c in TASK_COLUMNS)} FROM podium_locked_live(?, ?)")
#: The same rows read without the lock (an optimistic unit: `store.pg_unit`), by migration 21's
#: function, each with the execution's revision last (NULL on a task's row).
_LIVE = (f"SELECT {', '.join(f'(ex).{c}' for c in EXECUTION_COLUMNS)}, "
         f"{', '.join(f'(task).{c}' for c in TASK_COLUMNS)}, (ex).revision FROM podium_live($1, $2)")


@lru_cache(maxsize=16)
def _claim_sql(fields: str) -> str:
    """The claim of `PgSession.claim_rows`: the queue entries taken, and `fields` of their tasks."""
    qualified = ", ".join(f"t.{name.strip()}" for name in fields.split(","))
    return ("WITH taken AS (DELETE FROM queue WHERE task_id IN (SELECT task_id FROM queue WHERE queue_name = ? "
            "AND visible_at <= ? ORDER BY priority DESC, visible_at, task_id LIMIT ? FOR UPDATE SKIP LOCKED) "
            f"RETURNING task_id, priority, visible_at) SELECT {qualified} FROM taken JOIN tasks t "
            "ON t.task_id = taken.task_id ORDER BY taken.priority DESC, taken.visible_at, taken.task_id")


_WORKFLOW_ID = TASK_COLUMNS.index("workflow_id")


def _has_nul(params: Sequence[Any]) -> bool:
    return any(isinstance(p, str) and "\x00" in p for p in params)


class PgSession(PgUnit, Session):
    fts_key = "row_id"
    skip_locked = " FOR UPDATE SKIP LOCKED"
    claims_at_once = True

    def __init__(self, conn: asyncpg.Connection, transaction: Transaction | None = None) -> None:
        super().__init__(conn, transaction)
        self.committed = []
        self.abandoned = []
        self.started: list[tuple[int, str]] = []  # (time, execution id): marked once the unit commits
        self.marked: set[str] = set()  # executions whose start a claim at once recorded

    def locked_execution(self, workflow_id: str) -> None:
        self.locked.add(workflow_id)

    def tasks_read(self, tasks: Sequence[Task]) -> None:
        self.unqueued.update((t.task_id, t.workflow_id) for t in tasks if t.status != TaskStatus.SCHEDULED)

    async def mark_started(self, workflow_ids: Sequence[str], now: int) -> None:
        """Recorded after the claim commits (`PgStore.unit`), outside its transaction: inside, it
        would wait for an execution's row lock while holding the claimed queue and task rows, which
        a unit holding that execution may be waiting for (a deadlock). A claim at once records it
        itself where it can take the row without waiting (`claim_at_once`): those are left out."""
        self.started += [(now, w) for w in workflow_ids if w not in self.marked]

    def wildcard(self, column: str, pattern: str) -> tuple[str, str]:
        escaped = re.sub(r"([\\%_])", r"\\\1", pattern).replace("*", "%")
        return f"{column} LIKE ? ESCAPE '\\'", escaped

    async def execute(self, sql: str, params: Sequence[Any]) -> None:
        self.wrote = True
        if not await self._held(sql, params):
            await self.call(self.conn.execute, numbered(sql), *params)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.wrote = self.wrote or bool(rows)
        if len(rows) > 1 or (rows and not await self._held(sql, rows[0])):
            await self.call(self.conn.executemany, numbered(sql), rows)

    async def fetchone(self, sql: str, params: Sequence[Any]) -> Sequence[Any] | None:
        if _has_nul(params):
            return None  # no stored text holds a NUL character: nothing can match
        row = await self.call(self.conn.fetchrow, numbered(sql), *params)
        return tuple(row) if row is not None else None

    async def fetchall(self, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
        if _has_nul(params):
            return []  # no stored text holds a NUL character: nothing can match
        return [tuple(r) for r in await self.call(self.conn.fetch, numbered(sql), *params)]

    def lock_clause(self, sql: str, lock: bool) -> str:
        return f"{sql} FOR UPDATE" if lock else sql

    async def lock_name(self, name: str) -> None:
        await self.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (name,))

    async def claim_queue(self, queue_name: str, now: int, limit: int) -> list[str]:
        rows = await self.fetchall(
            "DELETE FROM queue WHERE task_id IN (SELECT task_id FROM queue WHERE queue_name = ? "
            "AND visible_at <= ? ORDER BY priority DESC, visible_at, task_id LIMIT ? FOR UPDATE SKIP LOCKED) "
            "RETURNING task_id, priority, visible_at",
            (queue_name, now, limit))
        return [r[0] for r in sorted(rows, key=lambda r: (-r[1], r[2], r[0]))]

    async def claim_rows(self, queue_name: str, now: int, limit: int, fields: str) -> list[Sequence[Any]]:
        """One round trip: the entries taken, and their tasks read, by one statement. Its read sees
        the tasks as the statement began, which is as fresh as a read after it: a unit that changes a
        queued task takes the task's queue row first (`Executions.persist`), and this one skips it.

        It goes ahead of the unit's held writes, which then go with the claimed tasks' own (one
        round trip less for update-v2), unless they queue a task onto this queue (update-v2 hands
        out the next step when it is of the same type) or may change any task; a task taken that a
        held write changes is read again once they are sent. Every entry this unit removes, it
        removes at once (a DELETE is never held), so none of those can be taken here."""
        if queue_name in self.queued or (self.batch is not None and "tasks" in self.batch.tables):
            await self.send()
        rows = await self.fetch_ahead(_claim_sql(fields), (queue_name, now, limit))
        held = self.batch.rows.get("tasks", ()) if self.batch is not None else ()
        if stale := [row[0] for row in rows if row[0] in held]:  # a task this unit changed: read as written
            await self.send()
            fresh = {row[0]: row for row in await task_rows(self, fields, stale)}
            rows = [fresh.get(row[0], row) for row in rows]
        self.claimed.update(row[0] for row in rows)
        return rows

    async def claim_at_once(self, queue_name: str, now: int, limit: int, worker_id: str | None,
                            figures: Figures, observed: tuple[str, ...]) -> list[Sequence[Any]] | None:
        """One statement. As a unit's first, with nothing held, it is the unit's transaction: no
        BEGIN and no COMMIT (a poll's claim is one round trip); the unit then writes nothing more
        but what it holds, which goes alone at its end (`finish`). After an optimistic unit's
        writes (`send_last`), it is a unit of its own in the same way."""
        values = claim_at_once.params(queue_name, now, worker_id, figures, observed)
        if self.sends_checked() and queue_name not in self.queued:  # the writes, checked, and the claim: one
            rows = await self._send_checked(partial(claim_at_once.statement, limit), values)
            if rows is not None:
                return self._taken(rows, 1)
        await self.send_last()  # what is held may queue a task here, or change one it takes
        if self.transaction is not None and not self.begun and not awaiting():
            self.transaction = None
        return self._taken(await self._call(self.conn.fetch, claim_at_once.statement(limit), *values), 0)

    def _taken(self, rows: Sequence[Any], skip: int) -> list[Sequence[Any]] | None:
        """The tasks a claim at once took, from its rows (after `skip` columns); None if it could not."""
        if rows and rows[0][skip] is False:
            return None
        got = [tuple(row)[skip + 1:] for row in rows if row[skip + 1] is not None]
        taken: list[Sequence[Any]] = [row[:-1] for row in got]  # the last column: its start recorded
        self.claimed.update(row[0] for row in taken)
        self.marked.update(row[_WORKFLOW_ID] for row in got if row[-1])
        return taken

    async def locked_live(self, workflow_id: str, refs: Sequence[str]) -> list[Sequence[Any]] | None:
        if not self.reads_unlocked():
            return await self.fetchall(_LOCKED_LIVE, (workflow_id, list(refs)))
        # an optimistic unit: no BEGIN, no lock (`store.pg_unit`)
        rows = [tuple(r) for r in await self._call(self.conn.fetch, _LIVE, workflow_id, list(refs), begin=False)]
        execution = [row for row in rows if row[-1] is not None]
        if not execution:
            return []
        self.read_at(workflow_id, execution[0][-1])
        return [execution[0][:-1], *(row[:-1] for row in rows if row[-1] is None)]

    async def fetch_ahead(self, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
        """A read sent ahead of the held writes (for one that need not see them)."""
        if _has_nul(params):
            return []
        return [tuple(r) for r in await self._call(self.conn.fetch, numbered(sql), *params)]

    async def write_index(self, entries: Sequence[tuple[int, str]]) -> None:
        await self.executemany(
            "INSERT INTO executions_fts (row_id, body) VALUES (?, to_tsvector('simple', ?)) "
            "ON CONFLICT (row_id) DO UPDATE SET body = excluded.body", entries)
        await self.executemany("UPDATE executions SET indexed = 1 WHERE row_id = ?", [(e[0],) for e in entries])


class PostgresStore(Store):
    dialect = "postgresql"

    def __init__(self, url: str, *, pool_size: int = 10, statement_cache: int = 100) -> None:
        self.url = url
        self.pool_size = pool_size
        self.statement_cache = statement_cache
        self._pool: asyncpg.Pool | None = None
        self._listener: asyncpg.Connection | None = None
        self._listening: asyncio.Task[None] | None = None
        self.broadcaster = Broadcaster(self, UNAVAILABLE)

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StoreUnavailable("the store is not open")
        return self._pool

    async def open(self) -> None:
        try:
            self._pool = await asyncpg.create_pool(self.url, min_size=0, max_size=self.pool_size,
                                                   command_timeout=60, reset=_kept_as_is,
                                                   statement_cache_size=self.statement_cache)
        except (asyncpg.PostgresError, *UNAVAILABLE) as exc:
            raise store_error(exc) from exc
        self._listening = asyncio.get_running_loop().create_task(self._listen())

    async def close(self) -> None:
        if self._listening is not None:
            self._listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listening
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def _listen(self) -> None:
        """Keep one connection LISTENing; after a loss, connect again (waits still poll meanwhile)."""
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.url)
                await conn.add_listener(NOTIFY_CHANNEL, lambda *args: self.broadcaster.received(str(args[3])))
                self.broadcaster.listening(True)
                said = -broadcast.HERE_EVERY_S
                while not conn.is_closed():
                    if time.monotonic() - said >= broadcast.HERE_EVERY_S:  # the other servers hear this one listens
                        await conn.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, self.broadcaster.here())
                        said = time.monotonic()
                    await asyncio.sleep(1)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("LISTEN connection lost; retrying", extra={"action": "listen_error", "error": str(exc)})
            finally:
                self.broadcaster.listening(False)
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.close()
            await asyncio.sleep(1)

    # --- schema --------------------------------------------------------------------------------

    async def migrate(self) -> list[int]:
        """Apply pending migrations under an advisory lock: servers starting together take turns.
        The lock is the session's, on a connection of its own that is closed after: a pooled one
        would keep the lock if the unlock never ran (pooled connections are not reset)."""
        found = migrations(MIGRATIONS_POSTGRES)
        try:
            conn = await asyncpg.connect(self.url)
            try:
                await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
                return await _apply(conn, found)
            finally:
                await conn.close()
        except (asyncpg.PostgresError, *UNAVAILABLE) as exc:
            raise store_error(exc) from exc

    async def schema_version(self) -> int:
        async with self.pool.acquire() as conn:
            return await _current(conn)

    # --- sessions ------------------------------------------------------------------------------

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Session]:
        carried = None
        try:
            async with self.pool.acquire() as conn:
                session = PgSession(conn, conn.transaction())
                session.may_read_first = self.broadcaster.revisions_counted
                try:
                    yield session
                    carried = await carry(session)  # the request's audit entry, with its change
                    began = time.perf_counter()
                    wrote = await session.finish()
                except BaseException:
                    session.run_abandoned()
                    await session.abandon()
                    raise
                if wrote and self.on_commit is not None:
                    self.on_commit(time.perf_counter() - began)
                session.run_committed()
                if session.started:  # holds no other lock now: waiting for the row is safe
                    await _mark_started(conn, session.started)
        except (asyncpg.PostgresError, *UNAVAILABLE) as exc:
            dropped(carried)
            raise store_error(exc) from exc
        except BaseException:
            dropped(carried)
            raise

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Session]:
        try:
            async with self.pool.acquire() as conn:
                yield PgSession(conn)
        except (asyncpg.PostgresError, *UNAVAILABLE) as exc:
            raise store_error(exc) from exc

    def snapshot(self) -> AbstractAsyncContextManager[Session]:
        """Reads in one snapshot: outside a transaction, an execution read before a commit and its
        tasks read after it would disagree."""
        return self.searcher()

    @asynccontextmanager
    async def searcher(self) -> AsyncIterator[Session]:
        """Scans in one read-only snapshot: a count and the page it goes with agree."""
        try:
            async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
                yield PgSession(conn)
        except (asyncpg.PostgresError, *UNAVAILABLE) as exc:
            raise store_error(exc) from exc


async def _kept_as_is(conn: asyncpg.Connection) -> None:
    """What a pooled connection needs when it goes back to the pool: nothing more than asyncpg
    does before calling this (roll back a transaction left open, forget listeners). Its default
    also sends `pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` (one more round trip
    for every unit, and work for PostgreSQL), undoing session state that Podium never leaves on a
    pooled connection: its advisory locks are the transaction's (`pg_advisory_xact_lock`), it
    sets no session settings, opens no cursor outside a transaction, and LISTENs on a connection
    of its own; the migration's session lock is taken on a connection of its own too."""


async def _mark_started(conn: asyncpg.Connection, started: list[tuple[int, str]]) -> None:
    """Record started executions after their claim committed. A failure is logged, not raised: the
    claim stands, and the execution's next unit records the start from its task (`persist`)."""
    try:
        await conn.executemany(numbered(Session.MARK_STARTED), started)
    except (asyncpg.PostgresError, *UNAVAILABLE) as exc:
        failed(log, "started_time not recorded", store_error(exc), action="mark_started_error")


_LEDGER = ("CREATE TABLE IF NOT EXISTS schema_migrations "
           "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)")


async def _current(conn: asyncpg.Connection) -> int:
    await conn.execute(_LEDGER)
    return int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))


async def _apply(conn: asyncpg.Connection, found: Migrations) -> list[int]:
    import time

    current = await _current(conn)
    if current > found.latest:
        raise SchemaTooNew(f"database schema version {current} is newer than this Podium ({found.latest})")
    now = int(time.time() * 1000)
    tables = await conn.fetchval("SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() "
                                 "AND tablename <> 'schema_migrations'")
    if current == 0 and found.fresh is not None and not tables:
        async with conn.transaction():
            for statement in split_sql(found.fresh):
                await conn.execute(statement)
            await conn.executemany("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                                   [(m.version, m.name, now) for m in found.items])
        return [m.version for m in found.items]
    applied = []
    for m in found.items:
        if m.version <= current:
            continue
        async with conn.transaction():
            for statement in split_sql(m.sql):
                await conn.execute(statement)
            await conn.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                               m.version, m.name, now)
        applied.append(m.version)
    return applied
