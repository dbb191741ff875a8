"""A worker's update reads its execution as its definition says, even when this server remembers
another definition for it (`Executions.locked_state`): the memory only says which settled tasks to
read along with the lock; the execution's own definition hash decides."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from podium.service import executions as executions_service
from podium.store.executions import get_execution
from tests.api.helpers import poll_one, register_task_defs, register_workflow, simple, start, update, wait_status


def _app(client: httpx.AsyncClient) -> FastAPI:
    return client._transport.app  # type: ignore[attr-defined,no-any-return]


async def test_an_update_follows_the_executions_definition_not_the_one_remembered(
        client: httpx.AsyncClient) -> None:
    x = _app(client).state.services.executions
    await register_task_defs(client, {"name": "ls_a", "retryCount": 0}, {"name": "ls_b", "retryCount": 0})
    await register_workflow(client, "ls", [simple("ls_a", "a")])
    wid = await start(client, "ls")
    await update(client, await poll_one(client, "ls_a"))
    await wait_status(client, wid, "COMPLETED")
    async with x.store.reader() as s:
        first = await get_execution(s, wid)
    await register_workflow(client, "ls", [simple("ls_a", "a"), simple("ls_b", "b", inputParameters={
        "v": "${a.output.v}"})], version=2)
    response = await client.post(f"/api/workflow/{wid}/restart", params={"useLatestDefinitions": "true"})
    assert response.status_code < 300, response.text
    assert first is not None and x._def_hashes[wid] != first.def_hash
    x._def_hashes[wid] = first.def_hash  # as a server that last moved it before the restart remembers
    await update(client, await poll_one(client, "ls_a"), output={"v": 7})
    b = await poll_one(client, "ls_b")  # version 2's next task, its input from `a` as version 2 refers to it
    assert b["inputData"] == {"v": 7}
    await update(client, b)
    await wait_status(client, wid, "COMPLETED")


async def test_the_definitions_remembered_are_bounded(client: httpx.AsyncClient,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executions_service, "KNOWN_DEFINITIONS", 2)
    x = _app(client).state.services.executions
    await register_task_defs(client, {"name": "lb_a", "retryCount": 0})
    await register_workflow(client, "lb", [simple("lb_a", "a")])
    ids = [await start(client, "lb") for _ in range(3)]
    assert list(x._def_hashes) == ids[1:]  # the oldest forgotten
    for n in range(2):  # the oldest first: one forgotten (read in two statements), then one known
        task = await poll_one(client, "lb_a")
        assert task["workflowInstanceId"] == ids[n]
        await update(client, task)
        await wait_status(client, ids[n], "COMPLETED")
        assert list(x._def_hashes) == ids[n + 1:]  # an execution that ended is forgotten
