"""Two `podium server` processes on one PostgreSQL database hear of each other's work: a caller
waiting on one server for an execution that the other server moves on is answered when it ends, a
long poll on one server gets a task the other scheduled, and a definition change is announced once,
not echoed back and forth (each reload announced again made the two reload without end)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests import pg
from tests.conftest import ServerProcess, start_server

pytestmark = pytest.mark.skipif("postgresql" not in pg.backends(), reason="PostgreSQL tests not selected")

WAIT_S = 30  # what the callers allow; the answers must come long before


@dataclass
class Pair:
    first: httpx.AsyncClient
    second: httpx.AsyncClient
    url: str


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[Pair]:
    name = await pg.fresh_database()
    url = pg.database_url(name)
    started = await asyncio.gather(
        *(asyncio.to_thread(start_server, tmp_path / "unused.db", tmp_path / f"server{n}.log", database_url=url)
          for n in range(2)), return_exceptions=True)
    servers = [s for s in started if isinstance(s, ServerProcess)]
    clients = [httpx.AsyncClient(base_url=f"{s.url}/api", timeout=WAIT_S + 10) for s in servers]
    try:
        for failure in started:
            if isinstance(failure, BaseException):
                raise failure
        first, second = clients
        response = await first.post("/metadata/taskdefs", json=[{"name": "tw_a", "retryCount": 0}])
        assert response.status_code < 300, response.text
        response = await first.post("/metadata/workflow", json={
            "name": "tw", "version": 1, "schemaVersion": 2, "ownerEmail": "t@example.com",
            "tasks": [{"name": "tw_a", "taskReferenceName": "a", "type": "SIMPLE"}]})
        assert response.status_code < 300, response.text
        yield Pair(first, second, url)
    finally:
        for client in clients:
            await client.aclose()
        for server in servers:
            server.stop()
        await pg.drop_database(name)


async def poll(client: httpx.AsyncClient, timeout_ms: int) -> dict[str, Any] | None:
    response = await client.get("/tasks/poll/batch/tw_a", params={"workerid": "w", "timeout": timeout_ms})
    assert response.status_code == 200, response.text
    return response.json()[0] if response.json() else None


async def test_a_caller_waiting_on_one_server_is_answered_when_the_other_ends_the_execution(
        pair: Pair) -> None:
    first, second = pair.first, pair.second
    call = asyncio.create_task(first.post("/workflow/execute/tw/1", params={"waitForSeconds": WAIT_S},
                                          json={"name": "tw", "input": {"k": 1}}))
    task = None
    while task is None:
        assert not call.done(), call.result().text
        task = await poll(second, 1000)
    began = time.monotonic()
    response = await second.post("/tasks", json={"workflowInstanceId": task["workflowInstanceId"],
                                                 "taskId": task["taskId"], "status": "COMPLETED",
                                                 "outputData": {"done": True}})
    assert response.status_code < 300, response.text
    answer = await call
    assert time.monotonic() - began < WAIT_S / 3  # when the workflow ended, not at waitForSeconds
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "COMPLETED" and answer.json()["output"] == {"done": True}


async def test_a_long_poll_on_one_server_gets_a_task_the_other_scheduled(
        pair: Pair) -> None:
    first, second = pair.first, pair.second
    waiting = asyncio.create_task(poll(second, 5000))  # the longest a poll may wait
    await asyncio.sleep(0.5)  # the poll waits on its server
    began = time.monotonic()
    response = await first.post("/workflow/tw", json={"n": 1})
    assert response.status_code == 200, response.text
    task = await waiting
    assert task is not None and task["workflowInstanceId"] == response.text
    assert time.monotonic() - began < 5


async def test_a_definition_change_is_announced_once_and_not_echoed(pair: Pair) -> None:
    heard: list[str] = []
    listener = await asyncpg.connect(pair.url)
    try:
        await listener.add_listener("podium", lambda *args: heard.append(str(args[3])))
        await asyncio.sleep(0.5)  # what the fixture's registrations announced has come and gone
        heard.clear()
        response = await pair.second.post("/metadata/taskdefs", json=[{"name": "tw_b", "retryCount": 1}])
        assert response.status_code < 300, response.text
        await asyncio.sleep(2)  # the other server reloads; an echo would come back within milliseconds
        announced = [p for p in heard if "__metadata__" in p.split(" ")[1:]]
        assert len(announced) == 1, heard
        assert (await pair.first.get("/metadata/taskdefs/tw_b")).json()["retryCount"] == 1
    finally:
        await listener.close()
