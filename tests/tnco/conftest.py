"""Fixtures for the TNC-O tests (shared spec/lifecycle.md, scenarios d.3; wire contract
docs/lifecycle.md): the real app in process on each backend, on a fake clock that starts on
2018-08-08 at 15:00 (+01:00), the spec's example day; time moves only when a test moves it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest

from podium.app import create_app
from podium.service.clock import FakeClock
from podium.settings import Settings
from tests.tnco.lifecycle import INTENT_TYPES, Lifecycle

DAY_START = int(datetime.fromisoformat("2018-08-08T15:00:00+01:00").timestamp() * 1000)


@pytest.fixture
async def tnco(db_url: str) -> AsyncIterator[Lifecycle]:
    clock = FakeClock(DAY_START)
    app = create_app(Settings(database_url=db_url), clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://podium") as client:
            lifecycle = Lifecycle(client, clock)
            for intent_type in INTENT_TYPES:
                await lifecycle.register(intent_type)
            yield lifecycle
