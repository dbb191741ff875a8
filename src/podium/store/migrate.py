"""Numbered schema migrations: `migrations/<dialect>/NNNN_name.sql`, applied in order, recorded in
`schema_migrations`. A server refuses to run against a schema newer than it knows."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from functools import cache
from importlib import resources

from podium.errors import StoreError

MIGRATIONS_SQLITE = "sqlite"
MIGRATIONS_POSTGRES = "postgres"

_LEDGER = ("CREATE TABLE IF NOT EXISTS schema_migrations "
           "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


class SchemaTooNew(StoreError):
    pass


class Migrations:
    def __init__(self, items: list[Migration], fresh: str | None = None) -> None:
        self.items = sorted(items, key=lambda m: m.version)
        self.fresh = fresh  # the whole schema at `latest`, for an empty database

    @property
    def latest(self) -> int:
        return self.items[-1].version if self.items else 0

    def current_sqlite(self, conn: sqlite3.Connection) -> int:
        conn.execute(_LEDGER)
        row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        return int(row[0] or 0)

    def apply_sqlite(self, conn: sqlite3.Connection) -> list[int]:
        current = self.current_sqlite(conn)
        if current > self.latest:
            raise SchemaTooNew(f"database schema version {current} is newer than this Podium ({self.latest})")
        if current == 0 and self.fresh is not None and not _has_tables(conn):
            return self._create_fresh(conn)
        applied = []
        for m in self.items:
            if m.version <= current:
                continue
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in split_sql(m.sql):
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                             (m.version, m.name, int(time.time() * 1000)))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            applied.append(m.version)
        return applied


    def _create_fresh(self, conn: sqlite3.Connection) -> list[int]:
        assert self.fresh is not None
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in split_sql(self.fresh):
                conn.execute(statement)
            now = int(time.time() * 1000)
            conn.executemany("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                             [(m.version, m.name, now) for m in self.items])
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return [m.version for m in self.items]


def _has_tables(conn: sqlite3.Connection) -> bool:
    row = conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' "
                       "AND name NOT IN ('schema_migrations')").fetchone()
    return bool(row[0])


def split_sql(script: str) -> list[str]:
    """Statements of a migration file: split at semicolons, but for those of a function's body,
    quoted between `$$` (the only semicolons inside our statements)."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    statements, current = [], ""
    for n, part in enumerate("\n".join(lines).split("$$")):
        if n % 2:  # inside $$ ... $$
            current += f"$${part}$$"
            continue
        first, *rest = part.split(";")
        if rest:
            statements.append(current + first)
            *whole, current = rest
            statements += whole
        else:
            current += first
    return [s.strip() for s in [*statements, current] if s.strip()]


@cache
def migrations(dialect: str) -> Migrations:
    """The numbered migrations of a dialect, plus its `schema.sql` for fresh databases."""
    folder = resources.files("podium.store") / "migrations" / dialect
    items, fresh = [], None
    for entry in folder.iterdir():
        if entry.name == "schema.sql":
            fresh = entry.read_text()
        elif entry.name.endswith(".sql"):
            number, _, rest = entry.name.partition("_")
            items.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text()))
    return Migrations(items, fresh)
