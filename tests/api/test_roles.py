"""Server roles: `api` serves the API and does no background work, `engine` does the background
work and serves no API; together, on one PostgreSQL database, they run workflows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import pytest

from podium.app import create_app
from podium.settings import Settings
from tests import pg
from tests.api.helpers import eventually, register_workflow, wait_status


@asynccontextmanager
async def _app(url: str, role: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=url, role=role))  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://x") as c:
        c.podium = app  # type: ignore[attr-defined]
        yield c


async def test_an_engine_serves_no_api(db_url: str) -> None:
    async with _app(db_url, "engine") as engine:
        assert (await engine.get("/health")).status_code == 200
        assert (await engine.get("/api/metadata/workflow")).status_code == 404


@pytest.mark.skipif("postgresql" not in pg.backends(), reason="PostgreSQL tests not selected")
async def test_api_and_engine_processes_share_the_work() -> None:
    name = await pg.fresh_database()
    url = pg.database_url(name)
    flow: list[dict[str, Any]] = [
        {"name": "wait", "taskReferenceName": "w", "type": "WAIT", "inputParameters": {"duration": "1s"}},
        {"name": "noop", "taskReferenceName": "n", "type": "NOOP"}]
    try:
        async with AsyncExitStack() as stack:
            api = await stack.enter_async_context(_app(url, "api"))
            await register_workflow(api, "timed", flow)
            wid = (await api.post("/api/workflow", json={"name": "timed"})).text
            await asyncio.sleep(1.5)
            assert (await api.get(f"/api/workflow/{wid}")).json()["status"] == "RUNNING"  # nobody fires timers
            await stack.enter_async_context(_app(url, "engine"))
            assert (await wait_status(api, wid, "COMPLETED", timeout=5))["tasks"][1]["status"] == "COMPLETED"
    finally:
        await pg.drop_database(name)


@pytest.mark.skipif("postgresql" not in pg.backends(), reason="PostgreSQL tests not selected")
async def test_two_processes_see_each_others_definitions_and_work() -> None:
    name = await pg.fresh_database()
    url = pg.database_url(name)
    try:
        async with _app(url, "all") as one, _app(url, "all") as two:
            await one.post("/api/metadata/taskdefs", json=[{"name": "shared", "retryCount": 1,
                                                            "retryDelaySeconds": 0}])
            await register_workflow(one, "across", [{"name": "shared", "taskReferenceName": "s"}])

            async def seen() -> bool:  # the other process reloads its cache on the notification
                return bool(two.podium.state.services.metadata.task_def("shared"))  # type: ignore[attr-defined]

            await eventually(seen, timeout=5)
            polling = asyncio.create_task(two.get("/api/tasks/poll/batch/shared", params={"timeout": 3000}))
            await asyncio.sleep(0.2)
            wid = (await one.post("/api/workflow", json={"name": "across"})).text
            [task] = (await polling).json()  # queued through one, handed out by two
            await two.post("/api/tasks", json={"workflowInstanceId": wid, "taskId": task["taskId"],
                                               "status": "FAILED", "reasonForIncompletion": "no"})
            body = (await one.get(f"/api/workflow/{wid}")).json()  # two retried, as the shared definition says
            assert body["status"] == "RUNNING" and [t["retryCount"] for t in body["tasks"]] == [0, 1]
    finally:
        await pg.drop_database(name)
