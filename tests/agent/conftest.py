"""Fixtures for the BBS cell tests: a real `podium server` process per module, a small BBS client,
and cells run in the test's event loop (stopped and drained at teardown), on each BBS wire (`wire`:
protobuf, as a Diego cell speaks, and JSON)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import pytest

from podium.agent.bbs import Cell, CellConfig
from podium.agent.client import WIRES
from tests.agent.helpers import eventually
from tests.conftest import ServerProcess


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def sh(script: str, **fields: Any) -> dict[str, Any]:
    return {"run": {"path": "sh", "args": ["-c", script], **fields}}


@dataclass
class Bbs:
    """The BBS and Conductor routes a test needs, against one server."""

    http: httpx.AsyncClient
    domain: str = field(default_factory=lambda: unique("domain"))

    async def call(self, route: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(route, json=body)
        assert response.status_code == 200, f"{route}: HTTP {response.status_code} {response.text[:200]}"
        answer: dict[str, Any] = response.json()
        return answer

    async def desire(self, action: dict[str, Any], **definition: Any) -> str:
        guid = unique("task")
        body = {"task_guid": guid, "domain": self.domain,
                "task_definition": {"rootfs": "docker:///busybox", "action": action, **definition}}
        answer = await self.call("/v1/tasks/desire.r2", body)
        assert "error" not in answer, answer
        return guid

    async def task(self, guid: str) -> dict[str, Any]:
        answer = await self.call("/v1/tasks/get_by_task_guid.r3", {"task_guid": guid})
        assert "error" not in answer, answer
        task: dict[str, Any] = answer["task"]
        return task

    async def on_cell(self, cell_id: str) -> list[dict[str, Any]]:
        tasks: list[dict[str, Any]] = (await self.call("/v1/tasks/list.r3", {"cell_id": cell_id}))["tasks"]
        return tasks

    async def until(self, guid: str, state: str, timeout: float = 60) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            task = await self.task(guid)
            return task if task["state"] == state else None
        found: dict[str, Any] = await eventually(probe, f"task {guid} to be {state}", timeout=timeout, interval=0.05)
        return found

    async def log(self, guid: str) -> list[str]:
        """Every line of the task's Conductor log."""
        execution = (await self.http.get(f"/api/workflow/{guid}", params={"includeTasks": "true"})).json()
        response = await self.http.get(f"/api/tasks/{execution['tasks'][0]['taskId']}/log")
        entries = response.json() if response.status_code == 200 else []
        return [line for entry in entries for line in entry["log"].split("\n")]

    async def log_entries(self, guid: str) -> int:
        execution = (await self.http.get(f"/api/workflow/{guid}", params={"includeTasks": "true"})).json()
        response = await self.http.get(f"/api/tasks/{execution['tasks'][0]['taskId']}/log")
        return len(response.json()) if response.status_code == 200 else 0


@pytest.fixture(scope="module")
def bbs_server(module_server: ServerProcess) -> ServerProcess:
    return module_server


@pytest.fixture
async def bbs(bbs_server: ServerProcess) -> AsyncIterator[Bbs]:
    async with httpx.AsyncClient(base_url=bbs_server.url, timeout=30) as http:
        yield Bbs(http)


CellFactory = Callable[..., Cell]


@pytest.fixture(params=WIRES)
def wire(request: pytest.FixtureRequest) -> str:
    """The wire the agent speaks to the server (`podium agent --wire`)."""
    return str(request.param)


@pytest.fixture
async def cells(bbs: Bbs, wire: str) -> AsyncIterator[CellFactory]:
    """`cells(**config)` starts a cell on `bbs`'s server, in this loop; all are stopped at the end."""
    running: list[tuple[Cell, asyncio.Task[None]]] = []

    def start(**overrides: Any) -> Cell:
        config = CellConfig(server=str(bbs.http.base_url), cell_id=unique("cell"), domain=bbs.domain, kill_grace=5,
                            watch_interval=0.2, poll_timeout_ms=5000, wire=wire)
        cell = Cell(replace(config, **overrides))
        running.append((cell, asyncio.create_task(cell.run())))
        return cell

    yield start
    for cell, task in running:
        if not task.done():
            cell.stop()
            cell.stop()
    await asyncio.wait_for(asyncio.gather(*(task for _, task in running)), 60)

