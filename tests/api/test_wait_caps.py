"""Every wait a client can ask for is capped (issue 13, item 6): `waitForSeconds` of
`/workflow/execute` and `timeoutMillis` of `/tasks/.../signal/sync` are cut to
`podium.service.execute.MAX_WAIT_S` (lowered here), and the answer says the wait ran out; the batch
poll refuses more than 5 s and BBS offers are cut to 60 s (tested with their dialects)."""

from __future__ import annotations

import time

import httpx
import pytest

from podium.service import execute
from tests.api.helpers import chain, register_workflow, simple, wait_task

CAP_S = 0.3


@pytest.fixture(autouse=True)
def short_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(execute, "MAX_WAIT_S", CAP_S)


async def test_execute_waits_at_most_the_cap(client: httpx.AsyncClient) -> None:
    await chain(client, "slow", "never_polled")
    began = time.monotonic()
    response = await client.post("/api/workflow/execute/slow/1", json={},
                                 params={"waitForSeconds": str(10**12)})
    assert response.status_code == 200, response.text
    assert response.json()["signalTimeout"] is True
    assert response.json()["targetWorkflowStatus"] == "RUNNING"
    assert time.monotonic() - began < CAP_S + 2


async def test_signal_sync_waits_at_most_the_cap(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "gate", [{"name": "wait", "taskReferenceName": "w", "type": "WAIT"},
                                             simple("never_polled")])
    wid = (await client.post("/api/workflow", json={"name": "gate"})).text
    await wait_task(client, wid, lambda ts: ts and ts[0]["status"] == "IN_PROGRESS")
    began = time.monotonic()
    response = await client.post(f"/api/tasks/{wid}/COMPLETED/signal/sync", json={},
                                 params={"timeoutMillis": str(10**15)})
    assert response.status_code == 200, response.text
    assert response.json()["signalTimeout"] is True
    assert time.monotonic() - began < CAP_S + 2
