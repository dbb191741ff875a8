"""Wake-ups between server processes on one PostgreSQL database (`podium.store.broadcast`): a
server alone sends none, one that hears another does, invalidations always go out, and a server
that stops being heard is left alone again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest

from podium.store import broadcast
from podium.store.broadcast import HERE, NOTIFY_CHANNEL
from podium.store.postgres import PostgresStore
from tests import pg

pytestmark = pytest.mark.skipif("postgresql" not in pg.backends(), reason="PostgreSQL tests not selected")


@pytest.fixture
async def url() -> AsyncIterator[str]:
    name = await pg.fresh_database()  # skips when PostgreSQL is unreachable; fails under CI=true
    try:
        yield pg.database_url(name)
    finally:
        await pg.drop_database(name)


async def opened(url: str) -> PostgresStore:
    store = PostgresStore(url, pool_size=2)
    await store.open()
    return store


async def until(check: Callable[[], bool], within_s: float = 10.0) -> None:
    async with asyncio.timeout(within_s):
        while not check():
            await asyncio.sleep(0.01)


async def test_a_server_alone_sends_no_wake_ups_but_always_sends_invalidations(url: str) -> None:
    heard: list[str] = []
    listener = await asyncpg.connect(url)  # listens, as a server would, but never says it is there
    await listener.add_listener(NOTIFY_CHANNEL, lambda *args: heard.append(str(args[3])))
    store = await opened(url)
    try:
        store.broadcaster.always = ("__metadata__",)
        await until(lambda: any(HERE in p.split(" ") for p in heard))  # its listener is up and said so
        assert store.broadcaster.alone
        store.broadcaster.send("queue_a")
        store.broadcaster.send("__metadata__")
        await until(lambda: any("__metadata__" in p for p in heard))
        await asyncio.sleep(0.1)
        assert not any("queue_a" in p for p in heard), heard
    finally:
        await store.close()
        await listener.close()


async def test_two_servers_hear_each_other_and_pass_wake_ups(url: str) -> None:
    first, second = await opened(url), await opened(url)
    woken: list[str] = []
    second.broadcaster.deliver = woken.append
    try:
        await until(lambda: not first.broadcaster.alone and not second.broadcaster.alone)
        first.broadcaster.send("queue_b")
        first.broadcaster.send("a domain:a type named 100% = odd")  # a name may hold a space (words split on it)
        await until(lambda: "queue_b" in woken and "a domain:a type named 100% = odd" in woken)
        assert HERE not in woken  # presence is not a channel
    finally:
        await first.close()
        await second.close()


async def test_servers_that_all_count_revisions_know_it_and_one_that_does_not_is_heard(url: str) -> None:
    """A worker's update reads without the lock only while every server counts revisions (`pg_unit`)."""
    first, second = await opened(url), await opened(url)
    older = await asyncpg.connect(url)
    try:
        await until(lambda: first.broadcaster.revisions_counted and second.broadcaster.revisions_counted)
        await older.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, f"older-server {HERE}")  # as before 21
        await until(lambda: not first.broadcaster.revisions_counted and not second.broadcaster.revisions_counted)
    finally:
        await older.close()
        await first.close()
        await second.close()


async def test_a_server_no_longer_heard_is_left_alone(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(broadcast, "PEER_TTL_S", 0.5)
    first, second = await opened(url), await opened(url)
    try:
        await until(lambda: not first.broadcaster.alone)
        await second.close()
        await until(lambda: first.broadcaster.alone, within_s=5)
    finally:
        await first.close()


async def test_a_server_that_joins_hears_of_the_others_at_once(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not at the others' next periodic `__here__`: each answers a server it had not heard."""
    monkeypatch.setattr(broadcast, "HERE_EVERY_S", 600.0)
    first = await opened(url)
    try:
        await asyncio.sleep(0.5)  # its one `__here__` is said and gone
        second = await opened(url)
        try:
            await until(lambda: not second.broadcaster.alone and not first.broadcaster.alone)
        finally:
            await second.close()
    finally:
        await first.close()
