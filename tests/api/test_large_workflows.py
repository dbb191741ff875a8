"""Large executions complete: a dynamic fork of 1,000 branches and a loop of 10,000 iterations.
(How fast, and that a pass does not slow down as the history grows, is measured by bench/large.py.)"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.api.helpers import poll, register_workflow, update, wait_status


async def test_a_dynamic_fork_of_a_thousand_branches(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "wide", [
        {"name": "fan", "taskReferenceName": "fan", "type": "FORK_JOIN_DYNAMIC",
         "inputParameters": {"forkTaskName": "wide_branch", "forkTaskInputs": "${workflow.input.items}"}},
        {"name": "join", "taskReferenceName": "join", "type": "JOIN"}],
        outputParameters={"last": "${join.output._wide_branch_999.n}", "first": "${join.output._wide_branch_0.n}"})
    wid = (await client.post("/api/workflow", json={"name": "wide", "input": {"items": list(range(1000))}})).text
    done = 0
    while done < 1000:
        batch = await poll(client, "wide_branch", count=100, timeout=1000)
        await asyncio.gather(*(update(client, task, "COMPLETED", {"n": task["inputData"]["input"]})
                               for task in batch))  # as a hundred workers would: concurrent completions
        done += len(batch)
    finished = await wait_status(client, wid, "COMPLETED", timeout=10)
    assert finished["output"] == {"first": 0, "last": 999}
    assert len(finished["tasks"]) == 1002


# Its 10,000 loop conditions are evaluated one after the other in a sandbox worker; at the default
# niceness (10) the worker waits its turn behind every other process of a busy machine (the whole
# suite: 480 s instead of 16), which is not what this test is about.
@pytest.mark.settings(script_niceness=0)
async def test_a_loop_of_ten_thousand_iterations(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "long", [
        {"name": "loop", "taskReferenceName": "loop", "type": "DO_WHILE", "inputParameters": {"keepLastN": 3},
         "loopCondition": "$.loop['iteration'] < 10000",
         "loopOver": [{"name": "noop", "taskReferenceName": "beat", "type": "NOOP"}]}],
        outputParameters={"iterations": "${loop.output.iteration}", "kept": "${loop.output}"})
    wid = (await client.post("/api/workflow", json={"name": "long"})).text
    finished = await wait_status(client, wid, "COMPLETED", timeout=30)
    assert finished["output"]["iterations"] == 10_000
    assert set(finished["output"]["kept"]) == {"9998", "9999", "10000", "iteration"}
    assert [t["referenceTaskName"] for t in finished["tasks"]] == ["loop", "beat__9998", "beat__9999", "beat__10000"]
