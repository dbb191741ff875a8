"""PostgreSQL for tests: a migrated template database, built once per run and cloned per test
(`CREATE DATABASE ... TEMPLATE`). The server is found at PODIUM_TEST_POSTGRES_URL (default: the
local one, trust auth). When it cannot be reached its tests are skipped, but under CI=true they fail.
PODIUM_TEST_BACKENDS=sqlite runs only the SQLite half locally."""

from __future__ import annotations

import os
import uuid
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
