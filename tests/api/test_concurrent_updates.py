"""Workers' updates of one execution at once (the branches of a fork) all land. On PostgreSQL an
update reads its execution without the lock and writes only if no other unit moved it meanwhile
(`store.pg_unit`); here every update reads before any writes, so all but the first find the
execution moved (`StaleRead`), write nothing, and are done again locked: each result lands once,
and the join sees them all."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from podium.service import tasks as tasks_service
from podium.store.pg_unit import PgUnit
from podium.store.session import StaleRead
from tests.api.helpers import reading_first, register_task_defs, register_workflow, simple, wait_status

BRANCHES = 6


@pytest.mark.settings(database_pool_size=BRANCHES + 4)  # each update holds a connection until all have read
async def test_updates_of_one_execution_at_once_all_land(client: httpx.AsyncClient, db_url: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    await register_task_defs(client, {"name": "cu_branch", "retryCount": 0})
    refs = [f"b{k}" for k in range(BRANCHES)]
    await register_workflow(client, "cu_fork", [
        {"name": "fork", "taskReferenceName": "fork", "type": "FORK_JOIN",
         "forkTasks": [[simple("cu_branch", ref)] for ref in refs]},
        {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": refs}])
    arrived, everyone = 0, asyncio.Event()
    checked = PgUnit._send_checked

    async def after_every_read(self: PgUnit, *args: Any) -> Any:
        nonlocal arrived
        arrived += 1
        if arrived >= BRANCHES:
            everyone.set()
        await asyncio.wait_for(everyone.wait(), 5)
        return await checked(self, *args)

    monkeypatch.setattr(PgUnit, "_send_checked", after_every_read)
    stale = 0
    once = tasks_service.Tasks._update_once

    async def counted(self: Any, *args: Any, **kw: Any) -> Any:
        nonlocal stale
        try:
            return await once(self, *args, **kw)
        except StaleRead:
            stale += 1
            raise

    monkeypatch.setattr(tasks_service.Tasks, "_update_once", counted)
    await reading_first(client)
    wid = (await client.post("/api/workflow", json={"name": "cu_fork", "input": {}})).text
    polled = (await client.get("/api/tasks/poll/batch/cu_branch", params={"count": BRANCHES})).json()
    assert sorted(t["referenceTaskName"] for t in polled) == refs

    async def complete(task: dict[str, Any]) -> httpx.Response:
        return await client.post("/api/tasks/update-v2", json={
            "workflowInstanceId": wid, "taskId": task["taskId"], "status": "COMPLETED",
            "outputData": {"from": task["referenceTaskName"]}})

    answers = await asyncio.gather(*(complete(task) for task in polled))
    assert all(r.status_code in (200, 204) for r in answers), [r.text for r in answers]  # 204: no next task
    await wait_status(client, wid, "COMPLETED")
    wf = (await client.get(f"/api/workflow/{wid}")).json()
    join = next(t for t in wf["tasks"] if t["referenceTaskName"] == "join")
    assert join["outputData"] == {ref: {"from": ref} for ref in refs}
    assert sorted(t["referenceTaskName"] for t in wf["tasks"] if t["taskType"] == "cu_branch") == refs  # once each
    if db_url.startswith("postgresql"):
        assert arrived == BRANCHES and stale == BRANCHES - 1
