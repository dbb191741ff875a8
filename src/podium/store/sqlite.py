"""The SQLite adapter: one writer connection driven from the event loop, WAL, short transactions.

Statements run synchronously on the loop thread: a SQLite statement on a hot path takes
microseconds, far less than a hop to a thread would. Units of work are serialised by an
asyncio lock (SQLite has one writer anyway). Long reads (search) use a separate reader connection
in a worker thread so they never hold up the writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from podium.errors import OUT_OF_RANGE, UNSTORABLE_TEXT, BadRequest, PodiumError, StoreError, StoreUnavailable
from podium.store.migrate import MIGRATIONS_SQLITE, migrations
from podium.store.pending import carry, dropped
from podium.store.port import Store
from podium.store.session import Session

QUIET_TURNS = 2  # turns of the event loop with no unit joining after which a group commit is made
MAX_TURNS = 48  # turns a group commit stays open at most (issue 18: 2 -> 48 took 320 to 500 chains/s)
MAX_OPEN_S = 0.010  # and seconds (under load a batch of about 18 units is committed every 6 ms)
WAL_RESET_FRAMES = 4096  # about 16 MiB of log before it is rewound


def _checkpoint(conn: sqlite3.Connection, pragma: str) -> tuple[int, int, int]:
    """(busy, frames in the log, frames copied) of a `PRAGMA wal_checkpoint(MODE)`."""
    with _translated():
        row = conn.execute(pragma).fetchone()
    return int(row[0]), int(row[1]), int(row[2])


def sqlite_path(url: str) -> str:
    """`sqlite:///relative.db`, `sqlite:////abs/path.db`, `sqlite://:memory:` -> a path."""
    rest = url.split("://", 1)[1] if "://" in url else url
    if rest.startswith("/"):
        rest = rest[1:]
    return rest or ":memory:"


def _connect(path: str, *, checkpoints: bool = True) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    if not checkpoints:  # the writer: checkpoints (and their fsyncs) run in the background instead
        conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA cache_size = -65536")
    conn.execute("PRAGMA journal_size_limit = 67108864")  # the WAL file shrinks back to 64 MiB
    return conn


class SqliteSession(Session):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.committed = []
        self.abandoned = []

    # The four primitives translate driver errors with a plain try (they run for every statement).

    async def execute(self, sql: str, params: Sequence[Any]) -> None:
        try:
            self.conn.execute(sql, params)
        except (sqlite3.Error, *_UNBINDABLE) as exc:
            raise store_error(exc) from exc

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            try:
                self.conn.executemany(sql, rows)
            except (sqlite3.Error, *_UNBINDABLE) as exc:
                raise store_error(exc) from exc

    async def fetchone(self, sql: str, params: Sequence[Any]) -> Sequence[Any] | None:
        try:
            row: Sequence[Any] | None = self.conn.execute(sql, params).fetchone()
        except (sqlite3.Error, *_UNBINDABLE) as exc:
            raise store_error(exc) from exc
        return row

    async def fetchall(self, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except (sqlite3.Error, *_UNBINDABLE) as exc:
            raise store_error(exc) from exc

    async def claim_queue(self, queue_name: str, now: int, limit: int) -> list[str]:
        rows = await self.fetchall(
            "DELETE FROM queue WHERE task_id IN (SELECT task_id FROM queue WHERE queue_name = ? AND visible_at <= ? "
            "ORDER BY priority DESC, visible_at, task_id LIMIT ?) RETURNING task_id, priority, visible_at",
            (queue_name, now, limit))
        return [r[0] for r in sorted(rows, key=lambda r: (-r[1], r[2], r[0]))]


class _ThreadSession(SqliteSession):
    """Reads on the reader connection, run in a worker thread. Each statement holds `busy`: a
    cancelled read goes on in its thread, and nothing else may use the connection meanwhile."""

    def __init__(self, conn: sqlite3.Connection, busy: threading.Lock) -> None:
        super().__init__(conn)
        self.busy = busy

    async def fetchone(self, sql: str, params: Sequence[Any]) -> Sequence[Any] | None:
        return await asyncio.to_thread(self._fetchone, sql, params)

    async def fetchall(self, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
        return await asyncio.to_thread(self._fetchall, sql, params)

    def _fetchone(self, sql: str, params: Sequence[Any]) -> Sequence[Any] | None:
        with self.busy, _translated():
            row: Sequence[Any] | None = self.conn.execute(sql, params).fetchone()
            return row

    def _fetchall(self, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
        with self.busy, _translated():
            return self.conn.execute(sql, params).fetchall()


# What the driver raises, besides sqlite3.Error, for an argument no column can hold.
_UNBINDABLE = (OverflowError, UnicodeEncodeError)


def store_error(exc: Exception) -> PodiumError:
    """A driver error as Podium's: a busy database is retryable (503); an argument no column can
    hold (an integer beyond 64 bits, a lone surrogate) is the client's, a 400 that does not quote
    the driver; anything else a 500."""
    if isinstance(exc, OverflowError):
        return BadRequest(OUT_OF_RANGE)
    if isinstance(exc, UnicodeEncodeError):
        return BadRequest(UNSTORABLE_TEXT)
    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
        return StoreUnavailable(f"database is busy: {exc}")
    return StoreError(f"database error: {exc}")


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    """Driver errors become StoreError at the boundary (for the statements outside a session)."""
    try:
        yield
    except (sqlite3.Error, *_UNBINDABLE) as exc:
        raise store_error(exc) from exc


class SqliteStore(Store):
    dialect = "sqlite"

    def __init__(self, url: str) -> None:
        self.path = sqlite_path(url)
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()
        self._commit_waiting = False
        self._reader_lock = asyncio.Lock()
        self._reader_busy = threading.Lock()  # held by whatever thread is using the reader connection
        self._batch: asyncio.Future[None] | None = None  # the open group-commit transaction
        self._batch_units = 0  # units that have joined a batch (a count that only grows)
        self._batch_deadline = 0.0  # when the open batch is committed at the latest (time.monotonic)

    async def open(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        memory = self.path == ":memory:"
        self._writer = _connect(self.path, checkpoints=memory)
        self._reader = _connect(self.path) if not memory else self._writer

    async def close(self) -> None:
        if self._batch is not None:
            with contextlib.suppress(StoreError):
                await asyncio.shield(self._batch)
        await asyncio.to_thread(self._reader_busy.acquire)  # a cancelled read or checkpoint may still run
        try:
            for conn in {id(c): c for c in (self._reader, self._writer) if c is not None}.values():
                conn.close()
            self._writer = self._reader = None
        finally:
            self._reader_busy.release()

    def _on_reader(self, sql: str) -> tuple[int, int, int] | None:
        """A statement on the reader connection (from a worker thread), holding it; for a
        checkpoint, its (busy, frames in the log, frames copied). None once the store is closed."""
        with self._reader_busy:
            if self._reader is None:
                return None
            if sql.startswith("PRAGMA wal_checkpoint"):
                return _checkpoint(self._reader, sql)
            if sql == "BEGIN" and self._reader.in_transaction:  # left open by a failed COMMIT
                with contextlib.suppress(sqlite3.Error):
                    self._reader.execute("ROLLBACK")
            with _translated():
                self._reader.execute(sql)
            return None

    @property
    def writer(self) -> sqlite3.Connection:
        if self._writer is None:
            raise StoreUnavailable("the store is not open")
        return self._writer

    async def checkpoint(self) -> None:
        """Copy the WAL into the database file off the event loop (PASSIVE: writers go on), and
        when the log has grown past `WAL_RESET_FRAMES`, rewind it between two units of work.

        Under steady writes a PASSIVE checkpoint never catches up with the newest frames, and
        SQLite only rewinds the log after a complete one; so the rewind holds the write lock for
        the moment it takes to copy the few frames PASSIVE left and truncate the file.
        """
        if self._reader is None or self._reader is self._writer:
            return
        async with self._reader_lock:
            passive = await asyncio.to_thread(self._on_reader, "PRAGMA wal_checkpoint(PASSIVE)")
            if passive is None or passive[1] < WAL_RESET_FRAMES:
                return
            async with self._lock:
                self._commit_open_batch()  # its commit callback would wait for this lock
                await asyncio.to_thread(self._on_reader, "PRAGMA wal_checkpoint(TRUNCATE)")

    async def migrate(self) -> list[int]:
        """Apply pending migrations; returns the versions applied."""
        return migrations(MIGRATIONS_SQLITE).apply_sqlite(self.writer)

    async def schema_version(self) -> int:
        return migrations(MIGRATIONS_SQLITE).current_sqlite(self.writer)

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Session]:
        """One unit of work, in its own savepoint of the shared transaction (group commit).

        Every unit that runs in the same turn of the event loop joins one transaction, committed
        right after; each caller resumes only once that commit is done, so an answer never
        promises what is not on disk. A failing unit rolls back to its savepoint alone.
        """
        carried = None
        try:
            async with self._lock:
                conn = self.writer
                batch = self._batch or self._open_batch(conn)
                self._batch_units += 1
                conn.execute("SAVEPOINT unit")
                try:
                    session = SqliteSession(conn)
                    yield session
                    carried = await carry(session)  # the request's audit entry, with its change
                except BaseException:
                    conn.execute("ROLLBACK TO unit")
                    conn.execute("RELEASE unit")
                    session.run_abandoned()
                    raise
                conn.execute("RELEASE unit")
        finally:
            if self._commit_waiting:  # the commit waited for this unit to leave the transaction
                self._commit_waiting = False
                asyncio.get_running_loop().call_soon(self._commit_batch, QUIET_TURNS, MAX_TURNS)
        try:
            await asyncio.shield(batch)
        except StoreError:
            dropped(carried)
            session.run_abandoned()
            raise
        session.run_committed()

    def _open_batch(self, conn: sqlite3.Connection) -> asyncio.Future[None]:
        with _translated():
            conn.execute("BEGIN IMMEDIATE")
        loop = asyncio.get_running_loop()
        self._batch = loop.create_future()
        self._batch_deadline = time.monotonic() + MAX_OPEN_S
        loop.call_soon(self._commit_batch)
        return self._batch

    def _commit_batch(self, quiet: int = 0, turns: int = 0, units: int = 0) -> None:
        """Commit once the batch has gone QUIET_TURNS turns of the event loop without a unit
        joining (or has been open for MAX_TURNS turns or MAX_OPEN_S), and no unit is inside the
        transaction. `quiet`, `turns` and `units` carry the count from one turn to the next.

        A commit writes each page its batch dirtied once, however many units dirtied it, so
        under load the batch stays open while units keep joining it (about 18 units a commit in
        the peer benchmark, against 1.6 when every batch was closed after two turns); on an idle
        server it is committed after QUIET_TURNS empty turns (microseconds)."""
        if self._batch_units > units:
            quiet = 0
        if quiet < QUIET_TURNS and turns < MAX_TURNS and time.monotonic() < self._batch_deadline:
            asyncio.get_running_loop().call_soon(self._commit_batch, quiet + 1, turns + 1, self._batch_units)
        elif self._lock.locked():
            self._commit_waiting = True  # the unit inside calls again as it leaves (no busy wait)
        else:
            self._commit_open_batch()

    def _commit_open_batch(self) -> None:
        batch, self._batch = self._batch, None
        if batch is None:
            return
        began = time.perf_counter()
        try:
            with _translated():
                self.writer.execute("COMMIT")
        except StoreError as exc:
            if self.writer.in_transaction:
                self.writer.execute("ROLLBACK")
            batch.set_exception(exc)
        else:
            if self.on_commit is not None:
                self.on_commit(time.perf_counter() - began)
            batch.set_result(None)

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Session]:
        """Point reads: microseconds each, so they run on the writer connection in the loop
        (after any pending group commit, so they never see what might yet be rolled back)."""
        if self._batch is not None:
            with contextlib.suppress(StoreError):
                await asyncio.shield(self._batch)
        yield SqliteSession(self.writer)

    @asynccontextmanager
    async def searcher(self) -> AsyncIterator[Session]:
        """Scans (search, listings) on the reader connection in a worker thread, in one read
        transaction: a count and the page it goes with see the same snapshot."""
        if self._reader is self._writer or self._reader is None:
            yield SqliteSession(self.writer)
            return
        async with self._reader_lock:
            reader = self._reader
            await asyncio.to_thread(self._on_reader, "BEGIN")
            try:
                yield _ThreadSession(reader, self._reader_busy)
            finally:
                with contextlib.suppress(StoreError):
                    await asyncio.to_thread(self._on_reader, "COMMIT")
