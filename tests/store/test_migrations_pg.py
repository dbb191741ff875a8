"""PostgreSQL migrations: the fresh schema equals the stepwise one, two servers migrating at once
take turns (the advisory lock), and a schema newer than the code is refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from podium.store.migrate import MIGRATIONS_POSTGRES, Migrations, SchemaTooNew, migrations
from podium.store.postgres import PostgresStore, _apply
from tests import pg

pytestmark = pytest.mark.skipif("postgresql" not in pg.backends(), reason="PostgreSQL tests not selected")


@pytest.fixture
async def empty_url() -> AsyncIterator[str]:
    name = f"podium_m_{id(object()):x}"
    admin = await pg._admin()
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield pg.database_url(name)
    finally:
        await pg.drop_database(name)


async def _schema(url: str) -> list[Any]:
    conn = await asyncpg.connect(url)
    try:
        columns = await conn.fetch(
            "SELECT table_name, column_name, data_type, column_default, is_nullable FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name <> 'schema_migrations' ORDER BY table_name, column_name")
        indexes = await conn.fetch("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
                                   "ORDER BY indexname")
        return [tuple(r) for r in columns] + [tuple(r) for r in indexes]
    finally:
        await conn.close()


async def test_fresh_schema_equals_all_migrations(empty_url: str) -> None:
    found = migrations(MIGRATIONS_POSTGRES)
    fresh_db = await pg.fresh_database()  # the template was built from the fresh schema
    try:
        conn = await asyncpg.connect(empty_url)
        try:
            assert await _apply(conn, Migrations(found.items)) == [m.version for m in found.items]
        finally:
            await conn.close()
        assert await _schema(empty_url) == await _schema(pg.database_url(fresh_db))
    finally:
        await pg.drop_database(fresh_db)


async def test_two_servers_migrating_at_once_take_turns(empty_url: str) -> None:
    stores = [PostgresStore(empty_url, pool_size=2) for _ in range(3)]
    for store in stores:
        await store.open()
    try:
        applied = await asyncio.gather(*(store.migrate() for store in stores))
        versions = [m.version for m in migrations(MIGRATIONS_POSTGRES).items]
        assert sorted(applied, key=len) == [[], [], versions]  # one migrates, the others find it done
        assert await stores[0].schema_version() == versions[-1]
    finally:
        for store in stores:
            await store.close()


async def test_a_newer_schema_is_refused(empty_url: str) -> None:
    store = PostgresStore(empty_url, pool_size=1)
    await store.open()
    try:
        await store.migrate()
        async with store.unit() as s:
            await s.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                            (999, "from_the_future", 0))
        with pytest.raises(SchemaTooNew):
            await store.migrate()
    finally:
        await store.close()
