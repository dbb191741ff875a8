"""The store contract runs against every backend; PostgreSQL joins in with its adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from podium.store import Store, open_store
from tests import pg
from tests.pg import backends


@pytest.fixture(params=backends())
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    name = await pg.borrow() if request.param == "postgresql" else None
    opened = open_store(pg.database_url(name) if name else f"sqlite:///{tmp_path}/store.db")
    await opened.open()
    await opened.migrate()
    try:
        yield opened
    finally:
        await opened.close()
        if name:
            await pg.give_back(name)
