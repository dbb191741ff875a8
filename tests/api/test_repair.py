"""The repair sweep puts stranded work back on its way (the state is broken on purpose here)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from podium.service.repair import GRACE_MS, repair
from tests.conftest import Clocked


async def _setup(clocked: Clocked) -> str:
    c = clocked.client
    await c.post("/api/metadata/workflow", json={"name": "r", "tasks": [
        {"name": "rt", "taskReferenceName": "a"}, {"name": "rt", "taskReferenceName": "b"}]})
    return (await c.post("/api/workflow", json={"name": "r", "input": {}})).text


def _app(client: httpx.AsyncClient) -> FastAPI:
    return client._transport.app  # type: ignore[attr-defined,no-any-return]


async def test_a_scheduled_task_that_lost_its_queue_entry_is_requeued(clocked: Clocked) -> None:
    wid = await _setup(clocked)
    app = _app(clocked.client)
    x = app.state.services.executions
    async with x.store.unit() as s:
        await s.execute("DELETE FROM queue", ())
    assert (await clocked.client.get("/api/tasks/poll/batch/rt")).json() == []
    clocked.clock.advance(GRACE_MS + 1)
    assert (await repair(x)).requeued == 1
    polled = (await clocked.client.get("/api/tasks/poll/batch/rt")).json()
    assert [t["workflowInstanceId"] for t in polled] == [wid]


async def test_a_running_workflow_with_nothing_live_is_decided_again(clocked: Clocked) -> None:
    wid = await _setup(clocked)
    c = clocked.client
    task = (await c.get("/api/tasks/poll/batch/rt")).json()[0]
    await c.post("/api/tasks", json={"workflowInstanceId": wid, "taskId": task["taskId"], "status": "COMPLETED"})
    x = _app(c).state.services.executions
    async with x.store.unit() as s:  # lose task b entirely, as if its creation had been dropped
        await s.execute("DELETE FROM tasks WHERE ref_name = 'b'", ())
        await s.execute("DELETE FROM queue", ())
    clocked.clock.advance(GRACE_MS + 1)
    assert (await repair(x)).redecided == 1
    polled = (await c.get("/api/tasks/poll/batch/rt")).json()
    assert [t["referenceTaskName"] for t in polled] == ["b"]
    await c.post("/api/tasks", json={"workflowInstanceId": wid, "taskId": polled[0]["taskId"],
                                     "status": "COMPLETED"})
    assert (await c.get(f"/api/workflow/{wid}")).json()["status"] == "COMPLETED"


async def test_nothing_to_repair_in_normal_operation(clocked: Clocked) -> None:
    await _setup(clocked)
    clocked.clock.advance(GRACE_MS + 1)
    found = await repair(_app(clocked.client).state.services.executions)
    assert (found.requeued, found.rearmed, found.redecided) == (0, 0, 0)
