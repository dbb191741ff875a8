"""Sync operators through the API: the whole chain completes within the start request."""

from __future__ import annotations

import httpx


async def test_sync_chain_completes_within_the_start_call(client: httpx.AsyncClient) -> None:
    definition = {"name": "sync_flow", "tasks": [
        {"name": "noop", "taskReferenceName": "n", "type": "NOOP"},
        {"name": "vars", "taskReferenceName": "v", "type": "SET_VARIABLE",
         "inputParameters": {"total": "${workflow.input.a}"}},
        {"name": "stop", "taskReferenceName": "t", "type": "TERMINATE",
         "inputParameters": {"terminationStatus": "COMPLETED",
                             "workflowOutput": {"total": "${workflow.variables.total}"}}},
        {"name": "never", "taskReferenceName": "never"}]}
    response = await client.post("/api/metadata/workflow", json=definition)
    assert response.status_code == 200, response.text
    wid = (await client.post("/api/workflow", json={"name": "sync_flow", "input": {"a": 7}})).text
    workflow = (await client.get(f"/api/workflow/{wid}")).json()
    assert workflow["status"] == "COMPLETED"
    assert workflow["output"] == {"total": 7}
    assert workflow["variables"] == {"total": 7}
    assert [(t["referenceTaskName"], t["taskType"], t["status"]) for t in workflow["tasks"]] == [
        ("n", "NOOP", "COMPLETED"), ("v", "SET_VARIABLE", "COMPLETED"), ("t", "TERMINATE", "COMPLETED")]
    assert (await client.get("/api/tasks/queue/all")).json() == {}


async def test_terminate_cannot_be_optional(client: httpx.AsyncClient) -> None:
    definition = {"name": "bad_terminate", "tasks": [
        {"name": "stop", "taskReferenceName": "t", "type": "TERMINATE", "optional": True,
         "inputParameters": {"terminationStatus": "COMPLETED"}}]}
    response = await client.post("/api/metadata/workflow", json=definition)
    assert response.status_code == 400


async def test_switch_branches_through_the_api(client: httpx.AsyncClient) -> None:
    definition = {"name": "switch_flow", "tasks": [
        {"name": "route", "taskReferenceName": "route", "type": "SWITCH", "evaluatorType": "javascript",
         "expression": "$.amount > 100 ? 'big' : 'small'", "inputParameters": {"amount": "${workflow.input.amount}"},
         "decisionCases": {"big": [{"name": "big_job", "taskReferenceName": "big"}],
                           "small": [{"name": "noop", "taskReferenceName": "small", "type": "NOOP"}]}},
        {"name": "noop", "taskReferenceName": "end", "type": "NOOP"}],
        "outputParameters": {"case": "${route.output.selectedCase}"}}
    assert (await client.post("/api/metadata/workflow", json=definition)).status_code == 200
    small = (await client.post("/api/workflow", json={"name": "switch_flow", "input": {"amount": 5}})).text
    done = (await client.get(f"/api/workflow/{small}")).json()
    assert done["status"] == "COMPLETED" and done["output"] == {"case": "small"}
    big = (await client.post("/api/workflow", json={"name": "switch_flow", "input": {"amount": 500}})).text
    task = (await client.get("/api/tasks/poll/batch/big_job")).json()[0]
    await client.post("/api/tasks", json={"workflowInstanceId": big, "taskId": task["taskId"],
                                          "status": "COMPLETED"})
    finished = (await client.get(f"/api/workflow/{big}")).json()
    assert finished["status"] == "COMPLETED" and finished["output"] == {"case": "big"}
    assert [t["referenceTaskName"] for t in finished["tasks"]] == ["route", "big", "end"]
