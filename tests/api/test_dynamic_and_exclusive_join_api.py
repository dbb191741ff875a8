"""DYNAMIC and EXCLUSIVE_JOIN through the API."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import register_workflow, wait_status


async def _wf(client: httpx.AsyncClient, wid: str) -> dict[str, Any]:
    return dict((await client.get(f"/api/workflow/{wid}")).json())


DYNAMIC = {"name": "dyn", "taskReferenceName": "dyn", "type": "DYNAMIC", "dynamicTaskNameParam": "which",
           "inputParameters": {"which": "${workflow.input.which}", "x": "${workflow.input.x}",
                               "evaluatorType": "javascript", "expression": "$.x + 1"}}


async def test_dynamic_runs_the_named_worker_or_system_task(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "dyn_task", [DYNAMIC], outputParameters={"out": "${dyn.output}"})
    wid = (await client.post("/api/workflow", json={"name": "dyn_task", "input": {"which": "resize", "x": 1}})).text
    wf = await _wf(client, wid)
    assert [(t["referenceTaskName"], t["taskType"], t["taskDefName"]) for t in wf["tasks"]] == [
        ("dyn", "resize", "resize")]
    task = (await client.get("/api/tasks/poll/batch/resize")).json()[0]
    await client.post("/api/tasks", json={"workflowInstanceId": wid, "taskId": task["taskId"], "status": "COMPLETED",
                                          "outputData": {"done": True}})
    assert (await _wf(client, wid))["output"] == {"out": {"done": True}}
    inline = (await client.post("/api/workflow", json={"name": "dyn_task", "input": {"which": "INLINE", "x": 41}})).text
    wf = await wait_status(client, inline, "COMPLETED", timeout=10)  # a script slowed by load finishes later
    assert wf["output"] == {"out": {"result": 42}}


async def test_dynamic_without_a_name_fails_the_workflow(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "dyn_none", [DYNAMIC])
    wid = (await client.post("/api/workflow", json={"name": "dyn_none", "input": {}})).text
    wf = await _wf(client, wid)
    assert wf["status"] == "FAILED"
    assert "Cannot map a dynamic task based on the parameter and input" in wf["reasonForIncompletion"]


def _exclusive(default: list[str] | None = None) -> list[dict[str, Any]]:
    return [
        {"name": "route", "taskReferenceName": "route", "type": "SWITCH", "evaluatorType": "value-param",
         "expression": "case", "inputParameters": {"case": "${workflow.input.case}"},
         "decisionCases": {"a": [{"name": "ta", "taskReferenceName": "ta"}],
                           "b": [{"name": "tb", "taskReferenceName": "tb"}]},
         "defaultCase": [{"name": "td", "taskReferenceName": "td"}]},
        {"name": "xj", "taskReferenceName": "xj", "type": "EXCLUSIVE_JOIN", "joinOn": ["ta", "tb"],
         "defaultExclusiveJoinTask": default or []}]


async def test_exclusive_join_takes_the_branch_that_ran(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "xjoin", _exclusive(["td"]), outputParameters={"out": "${xj.output}"})
    for case, task_type in (("b", "tb"), ("zzz", "td")):
        wid = (await client.post("/api/workflow", json={"name": "xjoin", "input": {"case": case}})).text
        task = (await client.get(f"/api/tasks/poll/batch/{task_type}")).json()[0]
        await client.post("/api/tasks", json={"workflowInstanceId": wid, "taskId": task["taskId"],
                                              "status": "COMPLETED", "outputData": {"from": task_type}})
        wf = await _wf(client, wid)
        assert wf["status"] == "COMPLETED" and wf["output"] == {"out": {"from": task_type}}


async def test_exclusive_join_fails_with_its_branch(client: httpx.AsyncClient) -> None:
    await client.post("/api/metadata/taskdefs", json=[{"name": "ta", "retryCount": 0}])
    tasks = _exclusive()
    tasks[0]["decisionCases"]["a"][0]["permissive"] = True
    await register_workflow(client, "xjoin_fail", tasks)
    wid = (await client.post("/api/workflow", json={"name": "xjoin_fail", "input": {"case": "a"}})).text
    task = (await client.get("/api/tasks/poll/batch/ta")).json()[0]
    await client.post("/api/tasks", json={"workflowInstanceId": wid, "taskId": task["taskId"], "status": "FAILED",
                                          "reasonForIncompletion": "bad input"})
    wf = await _wf(client, wid)
    xj = wf["tasks"][-1]
    assert xj["referenceTaskName"] == "xj" and xj["status"] == "FAILED" and xj["reasonForIncompletion"] == "bad input"
    assert wf["status"] == "FAILED"
