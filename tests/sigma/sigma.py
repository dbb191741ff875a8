"""A SIGMA client for the tests: create processes, operate them, read them; and a fake-clock tick
that waits (in real time, generously) for the timer loop to act."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx

from podium.service.clock import FakeClock
from tests.api.helpers import register_task_defs, register_workflow, simple

WORK = "sigma_work"  # the worker task of the workflow `worked`
ERROR_KEYS = {"id", "message"}


@dataclass
class Sigma:
    client: httpx.AsyncClient
    clock: FakeClock

    async def workflows(self) -> None:
        """`worked`: one worker task; `instant`: ends at once (a SET_VARIABLE task)."""
        await register_task_defs(self.client, {"name": WORK, "retryCount": 0})
        await register_workflow(self.client, "worked", [simple(WORK)])
        await register_workflow(self.client, "instant", [
            {"name": "note", "taskReferenceName": "note", "type": "SET_VARIABLE", "inputParameters": {"ran": True}}])

    async def create(self, **body: Any) -> dict[str, Any]:
        response = await self.client.post("/processes", json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()["processes"][0]
        assert response.headers["Location"] == f"/processes/{created['id']}"
        return created

    async def get(self, process_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/processes/{process_id}")
        assert response.status_code == 200, response.text
        body = response.json()
        assert list(body) == ["processes"] and len(body["processes"]) == 1
        found: dict[str, Any] = body["processes"][0]
        return found

    async def state(self, process_id: str) -> str:
        return str((await self.get(process_id))["state"])

    async def operate(self, process_id: str, operation: str, result: str = "OK") -> dict[str, Any]:
        response = await self.client.put(f"/processes/{process_id}", json={"operation": operation})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert body["result"] == result, body
        assert set(body) == {"result", "message", "processes"} and body["message"]
        return body

    async def error(self, response: httpx.Response, status: int, error_id: str) -> str:
        assert response.status_code == status, response.text
        body = response.json()
        assert set(body) == ERROR_KEYS and body["id"] == error_id, body
        return str(body["message"])

    async def tick(self, process_id: str, ms: int, *, runs: int | None = None, missed: int | None = None,
                   ) -> dict[str, Any]:
        """Move the clock by `ms`, then wait until the process shows `runs` runs (and `missed` skips)."""
        self.clock.advance(ms)
        found: dict[str, Any] = {}
        for _ in range(300):
            found = await self.get(process_id)
            if (runs is None or found["run_count"] >= runs) and (missed is None or found["missed_runs"] >= missed):
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.05)  # anything more the tick would (wrongly) do has time to show
        return await self.get(process_id)

    async def run_status(self, workflow_id: str) -> str:
        response = await self.client.get(f"/api/workflow/{workflow_id}", params={"includeTasks": "false"})
        assert response.status_code == 200, response.text
        return str(response.json()["status"])
