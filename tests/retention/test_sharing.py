"""Several pruners on one database (two server processes, or a server and `podium prune`) delete
each execution once and never deadlock; the API keeps serving while the server's loop prunes."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from podium.app import create_app
from podium.retention.policy import Policy
from podium.retention.pruner import Pruner
from podium.service.clock import FakeClock, SystemClock
from podium.settings import Settings
from podium.store import open_store
from tests.api.helpers import chain, run_task, start, wait_status
from tests.retention.seed import NOW, add, execution_ids, orphans


async def test_two_pruners_on_one_database_delete_each_execution_once(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("several processes share a PostgreSQL database; SQLite has one server process")
    stores = [open_store(db_url), open_store(db_url)]
    for store in stores:
        await store.open()
    try:
        await stores[0].migrate()
        await asyncio.gather(*(add(stores[0], f"w{i}", tasks=2) for i in range(120)))
        await add(stores[0], "recent", ended_days_ago=1)
        pruners = [Pruner(store, FakeClock(NOW), Policy(days=30, batch=7), pause_s=0) for store in stores]
        results = await asyncio.wait_for(asyncio.gather(*(p.run_once() for p in pruners)), 60)
        assert sum(r["executions"] for r in results) == 120  # each counted by the one that deleted it
        assert await execution_ids(stores[0]) == {"recent"}
        assert await orphans(stores[0]) == {}
    finally:
        for store in stores:
            await store.close()


async def test_the_server_loop_prunes_while_the_api_keeps_serving(db_url: str) -> None:
    seeding = open_store(db_url)
    await seeding.open()
    await seeding.migrate()
    now = SystemClock().now()
    for i in range(300):
        await add(seeding, f"old{i}", now=now, tasks=1)
    await seeding.close()
    app = create_app(Settings(database_url=db_url, retention_interval_s=0.1, retention_batch=5))
    async with app.router.lifespan_context(app):
        store = app.state.store
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://podium") as client:
            await chain(client, "served", "s1", "s2")
            started = time.monotonic()
            done: list[str] = []
            while await execution_ids(store) - set(done) and time.monotonic() - started < 120:
                wid = await start(client, "served")
                await run_task(client, "s1")
                await run_task(client, "s2")
                await wait_status(client, wid, "COMPLETED")
                done.append(wid)
            assert await execution_ids(store) == set(done)  # every old one gone, every served one kept
            assert len(done) >= 3  # served while the loop deleted 60 batches
            assert await orphans(store) == {}
