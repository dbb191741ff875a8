"""The store contract runs against every backend; PostgreSQL joins in with its adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from podium.store import Store, open_store

BACKENDS = ["sqlite"]


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path}/store.db")
    await opened.open()
    await opened.migrate()
    try:
        yield opened
    finally:
        await opened.close()
