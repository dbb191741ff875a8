"""Fixtures for the TANGO tests (shared spec/tango.md, scenarios a.4; wire contract docs/tango.md).

`make_leader(mode, **settings)` is the real app in process on each backend (`db_url`), on the real
clock (the engine calls members over real HTTP), with a short heartbeat period (`PERIOD`);
`leader` is one in the heartbeat mode given by `mode` ("poll" and "push"). `stubs(*names)` serves
one stub member per name on loopback (member.py).

In push mode the default `tango_heartbeat_misses` is generous (`PUSH_MISSES` periods): a test about
something else need not pump heartbeats, and a stage only loses its heartbeat in the tests that ask
for it with `tango_heartbeat_misses=3`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from podium.app import create_app
from podium.settings import Settings
from tests.tango.leader import Leader
from tests.tango.member import StubMember
from tests.tango.waits import PERIOD

MODES = ["poll", "push"]
PUSH_MISSES = 50  # 10 s of silence before a pushed heartbeat is lost

LeaderFactory = Callable[..., Awaitable[Leader]]
Stubs = Callable[..., list[StubMember]]


def leader_settings(db_url: str, mode: str, **settings: Any) -> Settings:
    defaults: dict[str, Any] = {
        "tango_heartbeat_mode": mode,
        "tango_heartbeat_period_s": PERIOD,
        "tango_heartbeat_misses": 3 if mode == "poll" else PUSH_MISSES,
    }
    return Settings(database_url=db_url, **(defaults | settings))


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def stubs() -> Iterator[Stubs]:
    """`stubs("bms", "autonn")`: stub members serving on loopback until the test ends."""
    made: list[StubMember] = []

    def make(*names: str) -> list[StubMember]:
        members = [StubMember(name).start() for name in names]
        made.extend(members)
        return members

    yield make
    for member in made:
        member.kill()


@pytest.fixture
async def make_leader(db_url: str, stubs: Stubs) -> AsyncIterator[LeaderFactory]:
    """`await make_leader(mode, **settings)`: the app with these Settings, its lifespan running.
    (It depends on `stubs` so that the app stops before the members do.)"""
    async with contextlib.AsyncExitStack() as stack:

        async def make(mode: str, **settings: Any) -> Leader:
            app = create_app(leader_settings(db_url, mode, **settings))
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app)
            client = await stack.enter_async_context(httpx.AsyncClient(transport=transport, base_url="http://podium"))
            return Leader(client)

        yield make


@pytest.fixture
async def leader(make_leader: LeaderFactory, mode: str) -> Leader:
    return await make_leader(mode)
