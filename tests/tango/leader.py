"""The leader under test (docs/tango.md): Podium's ASGI app in process, driven through its TANGO endpoints.

`Leader` holds an httpx client on the app and one helper per endpoint, for one project (`PROJECT` of
`USER` unless given). Members are real HTTP servers (member.py); what a member would send to the
leader (`GET /status_report?...`) the test sends with `await leader.report(container, status)`,
since the app has no port of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tests.tango.member import StubMember
from tests.tango.waits import DEADLINE, PERIOD, eventually

USER = "u1"
PROJECT = "7"
ALIVE = ("started", "running")


def assert_tango_error(response: httpx.Response, status: int) -> dict[str, Any]:
    """An error answer of a TANGO endpoint: this HTTP status and a `{"status", "message"}` JSON body."""
    assert response.status_code == status, (response.request.url, response.status_code, response.text)
    assert "Traceback" not in response.text, response.text
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict) and body.get("status") == status, body
    assert isinstance(body.get("message"), str) and body["message"], body
    return body


def stage_tasks(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    """The REMOTE tasks of a project's workflow (one per attempt of a stage), in order."""
    return [t for t in workflow.get("tasks", []) if t.get("taskType") == "REMOTE"]


@dataclass
class Leader:
    client: httpx.AsyncClient
    user: str = USER
    project: str = PROJECT

    def ids(self, **overrides: Any) -> dict[str, Any]:
        return {"user_id": self.user, "project_id": self.project, **overrides}

    # --- registry -----------------------------------------------------------------------------

    async def register(self, container_id: str, url: str, **extra: Any) -> None:
        response = await self.client.put(f"/api/containers/{container_id}", json={"url": url, **extra})
        assert response.status_code < 300, (response.status_code, response.text)

    async def register_all(self, *members: StubMember, **extra: Any) -> None:
        for member in members:
            await self.register(member.name, member.url, **extra)

    async def containers(self) -> list[dict[str, Any]]:
        response = await self.client.get("/api/containers")
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()
        return found

    # --- projects -----------------------------------------------------------------------------

    async def set_workflow(self, *stages: str, project_type: str = "auto") -> dict[str, Any]:
        body = self.ids(workflow=list(stages), project_type=project_type)
        response = await self.client.post("/api/set_workflow", json=body)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        assert found.get("status") == 200, found
        return found

    async def container_start(self, container: str, **overrides: Any) -> httpx.Response:
        return await self.client.post("/api/container_start", json=self.ids(container_id=container, **overrides))

    async def start(self, container: str) -> str:
        """Start the stage; returns the id of the project's workflow."""
        response = await self.container_start(container)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body.get("status") == 200 and isinstance(body.get("response"), str), body
        return str(body["response"])

    async def container_stop(self, container: str) -> httpx.Response:
        return await self.client.post("/api/container_stop", json=self.ids(container_id=container))

    async def status(self) -> tuple[str, str]:
        """(container, container_status) from `POST /api/status_request`."""
        response = await self.client.post("/api/status_request", json=self.ids())
        assert response.status_code == 200, response.text
        body = response.json()
        return body["container"], body["container_status"]

    async def result(self) -> dict[str, Any]:
        """`POST /api/status_result`: the stored state, without asking any member."""
        response = await self.client.post("/api/status_result", json=self.ids())
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    async def stored(self) -> tuple[str, str]:
        body = await self.result()
        return body["container"], body["container_status"]

    async def wait_status(self, container: str, *statuses: str, timeout: float = DEADLINE) -> str:
        """Until `/api/status_request` shows (container, one of statuses); returns that status."""

        async def check() -> str | None:
            found = await self.status()
            return found[1] if found[0] == container and found[1] in statuses else None

        return await eventually(check, f"project at ({container}, {'|'.join(statuses)})", timeout)

    # --- reports ------------------------------------------------------------------------------

    async def report(self, container: str, status: str, **overrides: Any) -> httpx.Response:
        """What member `container` sends: `GET /status_report?container_id&user_id&project_id&status`."""
        params = self.ids(container_id=container, status=status, **overrides)
        return await self.client.get("/status_report", params=params)

    async def report_ok(self, container: str, status: str) -> None:
        response = await self.report(container, status)
        assert response.status_code == 200, (container, status, response.status_code, response.text)
        assert response.json() == {"status": 200}, response.text

    @contextlib.asynccontextmanager
    async def heartbeats(self, container: str, every: float = PERIOD / 2) -> AsyncIterator[None]:
        """Report `running` for `container` every `every` seconds during the block (push mode)."""

        async def pump() -> None:
            while True:
                await self.report(container, "running")
                await asyncio.sleep(every)

        task = asyncio.create_task(pump())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # --- the project's workflow ---------------------------------------------------------------

    async def workflow(self, workflow_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/api/workflow/{workflow_id}", params={"includeTasks": "true"})
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    async def wait_stage_tasks(self, workflow_id: str, check: Callable[[list[dict[str, Any]]], bool], what: str,
                               timeout: float = DEADLINE) -> list[dict[str, Any]]:
        """Until the workflow's REMOTE tasks pass `check`; returns them."""

        async def probe() -> list[dict[str, Any]] | None:
            tasks = stage_tasks(await self.workflow(workflow_id))
            return tasks if check(tasks) else None

        return await eventually(probe, what, timeout)

    async def wait_stage_running(self, workflow_id: str) -> dict[str, Any]:
        """Until the latest attempt is IN_PROGRESS (its start or resume call was answered)."""
        tasks = await self.wait_stage_tasks(
            workflow_id, lambda ts: bool(ts) and ts[-1]["status"] == "IN_PROGRESS", "a stage IN_PROGRESS")
        return tasks[-1]
