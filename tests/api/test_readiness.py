"""`GET /ready` through the app in process, with its background loops: 200 when the database
answers, the schema is current and the loops tick; 503 naming the check that failed otherwise (a
loop that stops ticking, an old schema). Also served by an engine-only process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from podium.app import create_app
from podium.loops import indexer
from podium.settings import Settings
from tests.waits import eventually


@asynccontextmanager
async def _serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                                  base_url="http://podium") as client:
        yield client


@pytest.fixture
async def ready_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with _serve(create_app(Settings(database_url=f"sqlite:///{tmp_path}/podium.db"))) as client:
        yield client


async def test_ready_when_all_is_well(ready_client: httpx.AsyncClient) -> None:
    answer = await ready_client.get("/ready")
    assert answer.status_code == 200
    assert answer.json() == {"ready": True, "failed": [],
                             "checks": {"database": "ok", "schema": "ok", "loops": "ok"}}
    assert (await ready_client.get("/health")).json()["healthy"] is True


async def test_a_loop_that_stops_ticking_makes_it_unready(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stuck = asyncio.Event()

    async def hang(x: Any) -> None:  # the indexer's work never returns: its loop stops ticking
        stuck.set()
        await asyncio.Event().wait()

    monkeypatch.setattr(indexer, "index_pending", hang)
    async with _serve(create_app(Settings(database_url=f"sqlite:///{tmp_path}/podium.db"))) as client:
        assert (await client.get("/ready")).status_code == 200
        await asyncio.wait_for(stuck.wait(), 5)

        async def unready() -> dict[str, Any] | None:
            answer = await client.get("/ready")
            return dict(answer.json()) if answer.status_code == 503 else None

        body = await eventually(unready, "the stuck indexer to make /ready 503", timeout=20)
        assert body["failed"] == ["loops"], body
        assert body["checks"]["loops"].startswith("not ticking: indexer ("), body
        assert body["checks"]["database"] == "ok" and body["checks"]["schema"] == "ok"


async def test_an_old_schema_makes_it_unready(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/podium.db"))
    async with _serve(app) as client:
        async def old() -> int:
            return 1

        monkeypatch.setattr(app.state.store, "schema_version", old)
        answer = await client.get("/ready")
        assert answer.status_code == 503
        assert answer.json()["failed"] == ["schema"]
        assert answer.json()["checks"]["schema"].startswith("version 1, this server needs ")


async def test_an_engine_only_process_serves_ready_and_metrics(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/podium.db", role="engine")
    async with _serve(create_app(settings)) as client:
        assert (await client.get("/ready")).status_code == 200
        scraped = await client.get("/metrics")
        assert scraped.status_code == 200 and "podium_database_up 1.0" in scraped.text
        assert (await client.get("/api/workflow/x")).status_code == 404  # no API there
