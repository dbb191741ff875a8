"""The Store port: what the services need from a database, named by intention.

A `Store` hands out sessions: `store.unit()` is one transaction (a unit of work) and
`store.reader()` a read-only session. Both adapters (SQLite, PostgreSQL) share the SQL of
`podium.store.session`; they differ only in the seam below it (connections, placeholders,
claiming, wake-ups, error mapping, migrations).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from podium.store.session import Session


class Store(ABC):
    #: "sqlite" or "postgresql": the query compiler's placeholder style follows it.
    dialect: str
    #: Told how long each commit took, in seconds (the metrics' `podium_db_commit_seconds`).
    on_commit: Callable[[float], None] | None = None

    @abstractmethod
    async def open(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def migrate(self) -> list[int]:
        """Bring the schema up to date; returns the migration versions applied."""

    @abstractmethod
    async def schema_version(self) -> int: ...

    @abstractmethod
    def unit(self) -> AbstractAsyncContextManager[Session]:
        """One transaction; committed when the block exits normally, rolled back otherwise."""

    @abstractmethod
    def reader(self) -> AbstractAsyncContextManager[Session]:
        """A session for reads outside any unit of work."""

    async def checkpoint(self) -> None:  # noqa: B027 - a default that does nothing, on purpose
        """Periodic housekeeping of the storage engine, if it needs any (SQLite's WAL does)."""

    def searcher(self) -> AbstractAsyncContextManager[Session]:
        """A session for long reads (search, listings); by default the reader."""
        return self.reader()

    def snapshot(self) -> AbstractAsyncContextManager[Session]:
        """Point reads that must agree with each other (an execution and its tasks); by default the
        reader, which already sees one state between commits (SQLite: one connection, in the loop)."""
        return self.reader()
