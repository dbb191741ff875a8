"""A TNC-O client for the tests: send intents, read processes, and move a process through its
states by working its workflow's tasks through Conductor's API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from podium.service.clock import FakeClock
from tests.api.helpers import API, poll, register_task_defs, register_workflow, simple, update

INTENT_TYPES = ("CreateAssembly", "ChangeAssemblyState", "DeleteAssembly", "HealAssembly", "ScaleOutAssembly",
                "ScaleInAssembly", "UpgradeAssembly")
ERROR_KEYS = {"details", "localizedMessage", "url"}


def step(intent_type: str) -> str:
    return f"{intent_type.lower()}_step"


def ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


@dataclass
class Lifecycle:
    client: httpx.AsyncClient
    clock: FakeClock

    async def register(self, intent_type: str) -> None:
        """The intent type's workflow: two worker tasks (`<type>_step`, `<type>_finish`)."""
        name = step(intent_type)
        await register_task_defs(self.client, {"name": name, "retryCount": 0},
                                 {"name": name + "_finish", "retryCount": 0})
        await register_workflow(self.client, intent_type, [simple(name), simple(name + "_finish")])

    async def intent(self, name: str, **body: Any) -> str:
        response = await self.client.post(f"/api/intent/{name}", json=body)
        assert response.status_code == 201, response.text
        location = response.headers["Location"]
        assert location.startswith("/api/processes/")
        return location.removeprefix("/api/processes/")

    async def process(self, process_id: str, **params: Any) -> dict[str, Any]:
        response = await self.client.get(f"/api/processes/{process_id}", params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def search(self, **params: Any) -> list[dict[str, Any]]:
        response = await self.client.get("/api/processes", params=params)
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()
        assert isinstance(found, list)
        return found

    async def ids(self, **params: Any) -> list[str]:
        return [p["id"] for p in await self.search(**params)]

    async def error(self, status: int, url: str, **params: Any) -> dict[str, Any]:
        response = await self.client.get(url, params=params)
        assert response.status_code == status, response.text
        body: dict[str, Any] = response.json()
        assert set(body) == ERROR_KEYS, body
        assert body["url"] == url and body["localizedMessage"]
        return body

    # --- moving a process: its workflow's tasks ---------------------------------------------

    async def begin(self, process_id: str) -> None:
        """Pending -> In Progress: a worker takes the process's first task."""
        intent_type = (await self.process(process_id))["intentType"]
        await self._take(step(intent_type), process_id)

    async def finish(self, process_id: str, status: str = "COMPLETED") -> None:
        """In Progress -> Completed (or Failed, with status FAILED): the first task ends, then the second."""
        intent_type = (await self.process(process_id))["intentType"]
        task = await self._take(step(intent_type), process_id, already=True)
        await update(self.client, task, status, reasonForIncompletion="the driver gave up" if status != "COMPLETED"
                     else None)
        if status == "COMPLETED":
            await update(self.client, await self._take(step(intent_type) + "_finish", process_id), "COMPLETED")

    async def cancel(self, process_id: str) -> None:
        response = await self.client.delete(f"{API}/workflow/{process_id}", params={"reason": "cancelled by operator"})
        assert response.status_code == 200, response.text

    async def run(self, name: str, *, outcome: str = "COMPLETED", minutes: tuple[int, int] = (1, 1),
                  **body: Any) -> str:
        """An intent's process taken `minutes[0]` after now and ended `minutes[1]` after that."""
        process_id = await self.intent(name, **body)
        self.clock.advance(minutes[0] * 60_000)
        await self.begin(process_id)
        self.clock.advance(minutes[1] * 60_000)
        if outcome == "CANCELLED":
            await self.cancel(process_id)
        else:
            await self.finish(process_id, outcome)
        return process_id

    async def _take(self, task_type: str, process_id: str, *, already: bool = False) -> dict[str, Any]:
        if already:
            response = await self.client.get(f"{API}/workflow/{process_id}")
            tasks = [t for t in response.json()["tasks"] if t["taskDefName"] == task_type]
            assert tasks and tasks[-1]["status"] == "IN_PROGRESS", tasks
            return dict(tasks[-1])
        found = await poll(self.client, task_type, count=1)
        assert found and found[0]["workflowInstanceId"] == process_id, (process_id, found)
        return found[0]
