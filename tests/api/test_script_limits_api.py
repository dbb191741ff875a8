"""A runaway script fails its task with a clear reason within its limit, and the server keeps
answering other requests meanwhile."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.api.helpers import register_workflow, workflow

RUNAWAY = {
    "loops forever": ("while (true) {}", "JSTimeoutException"),
    "allocates without bound": ("var a = []; while (true) { a.push(new Array(1e6).fill(7)); }", "JSOOMException"),
}


@pytest.mark.parametrize("case", sorted(RUNAWAY))
async def test_a_runaway_script_fails_its_task_and_the_server_keeps_serving(client: httpx.AsyncClient,
                                                                           case: str) -> None:
    script, error = RUNAWAY[case]
    await register_workflow(client, "runaway", [
        {"name": "spin", "taskReferenceName": "spin", "type": "INLINE",
         "inputParameters": {"evaluatorType": "javascript", "expression": script}}])
    started = time.monotonic()
    start = asyncio.create_task(client.post("/api/workflow", json={"name": "runaway"}))
    await asyncio.sleep(0.2)
    if case == "loops forever":  # still spinning: other requests are answered meanwhile
        assert not start.done()
        other = await client.get("/api/metadata/workflow/runaway")
        assert other.status_code == 200 and not start.done()
    wid = (await start).text
    assert time.monotonic() - started < 10
    wf = await workflow(client, wid)
    task = wf["tasks"][0]
    assert wf["status"] == "FAILED" and task["status"] == "FAILED"
    assert error in task["reasonForIncompletion"] and error in task["outputData"]["error"]
