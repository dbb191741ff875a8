"""Status listeners: workflow and task notices to a webhook (with retries) and to the built-in
event queue, where event handlers can act on them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from podium.app import create_app
from podium.settings import Settings
from tests.api.helpers import eventually, poll_one, register_workflow, update, wait_status
from tests.loopback import serve


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []
    refused = {"left": 1}

    async def hook(request: Request) -> Response:
        if refused["left"]:
            refused["left"] -= 1
            return JSONResponse({"error": "not yet"}, status_code=503)
        received.append(await request.json())
        return JSONResponse({})

    with serve(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as base:
        yield f"{base}/hook", received


@pytest.fixture
async def listening(tmp_path: Path, webhook: tuple[str, list[dict[str, Any]]]) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/podium.db", status_webhook_url=webhook[0],
                        task_status_listener=True)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://x") as c:
        yield c


async def test_workflow_and_task_notices_reach_the_webhook_after_a_retry(
        listening: httpx.AsyncClient, webhook: tuple[str, list[dict[str, Any]]]) -> None:
    client, (_, received) = listening, webhook
    await register_workflow(client, "listened", [{"name": "job", "taskReferenceName": "job"}],
                            workflowStatusListenerEnabled=True)
    wid = (await client.post("/api/workflow", json={"name": "listened"})).text
    await client.put(f"/api/workflow/{wid}/pause")
    await client.put(f"/api/workflow/{wid}/resume")
    await update(client, await poll_one(client, "job"), "COMPLETED", {"x": 1})
    await wait_status(client, wid, "COMPLETED")

    def events(kind: str) -> list[str]:
        key = "workflowId" if kind == "workflow" else "taskId"
        return [n["event"] for n in received if n.get(key) and ("taskType" in n) == (kind == "task")]

    async def all_delivered() -> bool:  # the first was refused once, so it comes last
        return sorted(events("workflow")) == ["COMPLETED", "PAUSED", "RESUMED", "STARTED"] and \
            sorted(events("task")) == ["COMPLETED", "IN_PROGRESS", "SCHEDULED"]

    try:
        await eventually(all_delivered, timeout=8)
    except AssertionError:
        raise AssertionError(received) from None
    last = next(n for n in received if n["event"] == "COMPLETED" and "taskType" not in n)
    assert last["workflowId"] == wid and last["workflowType"] == "listened" and last["status"] == "COMPLETED"


async def test_an_event_handler_can_act_on_status_notices(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "watched", [{"name": "noop", "taskReferenceName": "n", "type": "NOOP"}],
                            workflowStatusListenerEnabled=True)
    await register_workflow(client, "cleanup", [{"name": "noop", "taskReferenceName": "n", "type": "NOOP"}],
                            outputParameters={"after": "${workflow.input.after}"})
    await client.post("/api/event", json={
        "name": "on_done", "event": "conductor:workflow_status", "active": True,
        "condition": "$.event == 'COMPLETED' && $.workflowType == 'watched'",
        "actions": [{"action": "start_workflow",
                     "start_workflow": {"name": "cleanup", "input": {"after": "${workflowId}"}}}]})
    wid = (await client.post("/api/workflow", json={"name": "watched"})).text

    async def started() -> list[dict[str, Any]]:
        found = (await client.get("/api/event/executions", params={"name": "on_done", "status": "COMPLETED"})).json()
        return list(found)

    execution = (await eventually(started))[0]
    cleanup = await wait_status(client, execution["output"]["workflowId"], "COMPLETED")
    assert cleanup["output"] == {"after": wid}
