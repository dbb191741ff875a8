"""PostgreSQL for tests: a migrated template database, built once per run and cloned per test
(`CREATE DATABASE ... TEMPLATE`), or, for the many tests that take the `db_url` or `store` fixture,
one clone per xdist worker put back into the template's state after each test (`borrow`/`give_back`).
The server is found at PODIUM_TEST_POSTGRES_URL (default: the local one, trust auth). When it cannot
be reached its tests are skipped, but under CI=true they fail.
PODIUM_TEST_BACKENDS=sqlite runs only the SQLite half locally."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

ADMIN_URL = os.environ.get("PODIUM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TEMPLATE = f"podium_template_{os.getpid()}"


def backends() -> list[str]:
    wanted = os.environ.get("PODIUM_TEST_BACKENDS", "sqlite,postgresql")
    return [b.strip() for b in wanted.split(",") if b.strip()]


def database_url(name: str) -> str:
    parts = urlsplit(ADMIN_URL)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _admin() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(ADMIN_URL, timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL is not reachable at {ADMIN_URL}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


_template_built = False


async def _ensure_template() -> None:
    global _template_built
    if _template_built:
        return
    from podium.store.postgres import PostgresStore

    admin = await _admin()
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{TEMPLATE}"')
    finally:
        await admin.close()
    store = PostgresStore(database_url(TEMPLATE), pool_size=1)
    await store.open()
    try:
        await store.migrate()
    finally:
        await store.close()
    _template_built = True


async def fresh_database() -> str:
    """A new database cloned from the migrated template; returns its name."""
    await _ensure_template()
    name = f"podium_t_{uuid.uuid4().hex[:12]}"
    admin = await _admin()
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    finally:
        await admin.close()
    return name


async def drop_database(name: str) -> None:
    if _kept is not None and _kept_for == name:
        await _on_reset_loop(_forget_kept())
    admin = await _admin()
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def template_built() -> bool:
    return _template_built


async def drop_template() -> None:
    if _template_built:
        await drop_database(TEMPLATE)
    if _reused is not None:
        await drop_database(_reused.name)


# --- one database per worker, reset between tests ------------------------------------------------
#
# A clone costs PostgreSQL a copy of the whole template (catalogs included) and a drop. Instead each
# worker keeps one clone and, after a test, gives it back to the template's state: every other session
# on it ends, every table written to (one whose heap has any page; a table never written to has none,
# as in the template) and every seeded one is truncated (fresh empty files, as in a new clone), the
# rows the migrations seeded go back in their order, and every sequence gets the template's value again. When anything
# but rows differs from the template (the schema's fingerprint: tables, columns, constraints, indexes,
# sequences, functions, triggers, types, views, extensions, database settings), or a prepared transaction,
# a large object or another database setting is left over, the clone is dropped and a new one made.

_SCHEMAS = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%' " \
           "AND n.nspname NOT LIKE 'pg_temp%%'"
_FINGERPRINT = [
    f"""SELECT n.nspname, c.relname, c.relkind, c.relpersistence, c.reloptions::text
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_SCHEMAS} ORDER BY 1, 2""",
    f"""SELECT n.nspname, c.relname, a.attname, a.attnum, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE {_SCHEMAS} AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, 2, 4""",
    f"""SELECT n.nspname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
        JOIN pg_namespace n ON n.oid = c.connamespace WHERE {_SCHEMAS} ORDER BY 1, 2, 3""",
    f"""SELECT n.nspname, c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_SCHEMAS} ORDER BY 1, 2""",
    f"""SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), md5(p.prosrc) FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {_SCHEMAS} ORDER BY 1, 2, 3""",
    f"""SELECT n.nspname, c.relname, t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_SCHEMAS} AND NOT t.tgisinternal ORDER BY 1, 2, 3""",
    f"""SELECT n.nspname, t.typname, t.typtype FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE {_SCHEMAS} ORDER BY 1, 2""",
    f"""SELECT n.nspname, c.relname, pg_get_viewdef(c.oid) FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_SCHEMAS} AND c.relkind IN ('v', 'm') ORDER BY 1, 2""",
    f"SELECT n.nspname, n.nspacl::text FROM pg_namespace n WHERE {_SCHEMAS} ORDER BY 1",
    "SELECT extname, extversion FROM pg_extension ORDER BY 1",
    "SELECT c.relname, r.rulename FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class "
    f"JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_SCHEMAS} ORDER BY 1, 2",
    "SELECT setdatabase, setrole, setconfig::text FROM pg_db_role_setting "
    "WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY 1, 2",
    "SELECT count(*) FROM pg_largeobject_metadata",
    "SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()",
    "SELECT count(*) FROM pg_publication",
    "SELECT count(*) FROM pg_policy",
]


async def _fingerprint(conn: asyncpg.Connection) -> str:
    digest = hashlib.sha256()
    for query in _FINGERPRINT:
        for row in await conn.fetch(query):
            digest.update(repr(tuple(row)).encode())
        digest.update(b"|")
    return digest.hexdigest()


@dataclass
class _Snapshot:
    """What a reset restores, read from the template once."""

    fingerprint: str
    tables: list[str]  # quoted, schema-qualified
    seeds: dict[str, tuple[list[str], list[tuple[object, ...]]]]  # table -> (columns, rows in heap order)
    sequences: dict[str, tuple[int, bool]]  # quoted name -> (last_value, is_called)


_snapshot: _Snapshot | None = None


async def _take_snapshot() -> _Snapshot:
    conn = await asyncpg.connect(database_url(TEMPLATE), timeout=10)
    try:
        fingerprint = await _fingerprint(conn)
        tables = [r["name"] for r in await conn.fetch(
            f"""SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE {_SCHEMAS} AND c.relkind IN ('r', 'p') ORDER BY 1""")]
        seeds: dict[str, tuple[list[str], list[tuple[object, ...]]]] = {}
        for table in tables:
            columns = [r["name"] for r in await conn.fetch(  # generated columns compute themselves again
                "SELECT quote_ident(attname) AS name FROM pg_attribute WHERE attrelid = $1::regclass "
                "AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum", table)]
            rows = await conn.fetch(f"SELECT {', '.join(columns)} FROM {table} ORDER BY ctid")
            if rows:
                seeds[table] = (list(rows[0].keys()), [tuple(r) for r in rows])
        sequences = {}
        for r in await conn.fetch(
                f"""SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name FROM pg_class c
                    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_SCHEMAS} AND c.relkind = 'S'"""):
            state = await conn.fetchrow(f"SELECT last_value, is_called FROM {r['name']}")
            sequences[r["name"]] = (state["last_value"], state["is_called"])
        return _Snapshot(fingerprint, tables, seeds, sequences)
    finally:
        await conn.close()


@dataclass
class _Reused:
    name: str
    lent: bool = False


_reused: _Reused | None = None


async def borrow() -> str:
    """A database in the template's state for one test: this worker's reused clone (a fresh clone
    when the last test left it in use)."""
    global _reused, _snapshot
    await _ensure_template()
    if _snapshot is None:
        _snapshot = await _take_snapshot()
    if _reused is None or _reused.lent:  # the worker's first test: its clone is kept at give-back
        return await fresh_database()
    _reused.lent = True
    return _reused.name


async def give_back(name: str) -> None:
    """After the test: put the worker's clone back into the template's state (or keep a new clone
    in its place when that cannot be proven); any other database is dropped."""
    global _reused
    if _reused is not None and name == _reused.name:
        if await _reset(name):
            _reused.lent = False
            return
        await drop_database(name)
        _reused = None
    elif _reused is None:
        if await _reset(name):
            _reused = _Reused(name)
            return
        await drop_database(name)
    else:
        await drop_database(name)
        return
    _reused = _Reused(await fresh_database())


# The reset runs on a connection kept from one test to the next, on a loop of its own (each test has
# its own loop, and a connection belongs to the loop that made it): a new connection for every reset
# cost PostgreSQL a backend and its catalog caches (a reset: 45 ms of its CPU and 15 of ours, against
# 12 and 6 on a kept one), in each of about 1,500 tests.
T = TypeVar("T")
_loop: asyncio.AbstractEventLoop | None = None
_kept: asyncpg.Connection | None = None
_kept_for = ""  # the database `_kept` is connected to


def _on_reset_loop(work: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
    global _loop
    if _loop is None:
        _loop = asyncio.new_event_loop()
        threading.Thread(target=_loop.run_forever, name="pg-reset", daemon=True).start()
    return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, _loop))


async def _reset(name: str) -> bool:
    """Truncate every table of `name`, put the seed rows and sequence values back; False when the
    database is not provably the template's again."""
    return await _on_reset_loop(_reset_here(name))


async def _forget_kept() -> None:
    global _kept
    if _kept is not None:
        kept, _kept = _kept, None
        try:
            await kept.close(timeout=5)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError):
            kept.terminate()


async def _reset_here(name: str) -> bool:
    assert _snapshot is not None
    for fresh in (False, True):  # a kept connection found broken (terminated by a test) is made again
        conn = await _connection(name)
        if conn is None:
            return False
        try:
            return await _restore(conn, _snapshot)
        except (asyncpg.PostgresConnectionError, asyncpg.AdminShutdownError, asyncpg.InterfaceError, OSError):
            await _forget_kept()
            if fresh:
                return False
        except asyncpg.PostgresError:
            await _forget_kept()
            return False
    return False


async def _connection(name: str) -> asyncpg.Connection | None:
    global _kept, _kept_for
    if _kept is not None and (_kept.is_closed() or _kept_for != name):
        await _forget_kept()
    if _kept is None:
        try:
            _kept, _kept_for = await asyncpg.connect(database_url(name), timeout=10), name
        except (TimeoutError, OSError, asyncpg.PostgresError):
            return None
    return _kept


async def _restore(conn: asyncpg.Connection, snapshot: _Snapshot) -> bool:
    await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    if await _fingerprint(conn) != snapshot.fingerprint:
        return False
    written = [r["t"] for r in await conn.fetch(  # a table never written to still has no file pages
        "SELECT t FROM unnest($1::text[]) AS t WHERE pg_relation_size(t::regclass) > 0", snapshot.tables)]
    async with conn.transaction():
        dirty = sorted({*written, *snapshot.seeds})
        if dirty:
            await conn.execute(f"TRUNCATE {', '.join(dirty)}")
        for table, (columns, rows) in snapshot.seeds.items():
            schema, _, relation = table.partition(".")
            await conn.copy_records_to_table(relation.strip('"'), schema_name=schema.strip('"'),
                                             columns=columns, records=rows)
        for sequence, (value, called) in snapshot.sequences.items():
            await conn.execute("SELECT setval($1::regclass, $2, $3)", sequence, value, called)
    return True
