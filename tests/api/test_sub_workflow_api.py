"""SUB_WORKFLOW and START_WORKFLOW through the API, with the server's system-task runner."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import by_ref, poll_one, register_workflow, simple, update, wait_status, wait_task, workflow


def _sub(ref: str = "child", **param: Any) -> dict[str, Any]:
    return {"name": "sub", "taskReferenceName": ref, "type": "SUB_WORKFLOW",
            "inputParameters": {"v": "${workflow.input.v}"}, "subWorkflowParam": param}


async def _register_child(client: httpx.AsyncClient) -> None:
    work = simple("child_work", "cw", inputParameters={"v": "${workflow.input.v}"})
    await register_workflow(client, "child_flow", [work], outputParameters={"doubled": "${cw.output.doubled}"})


async def test_parent_waits_for_its_child_and_takes_its_output(client: httpx.AsyncClient) -> None:
    await _register_child(client)
    await register_workflow(client, "parent_flow", [_sub(name="child_flow", version=1)],
                            outputParameters={"result": "${child.output.doubled}"})
    wid = (await client.post("/api/workflow", json={"name": "parent_flow", "input": {"v": 21},
                                                    "correlationId": "corr-1"})).text
    parent = await wait_task(client, wid, lambda ts: ts and ts[0].get("subWorkflowId"))
    task = parent["tasks"][0]
    assert task["status"] == "IN_PROGRESS" and task["taskType"] == "SUB_WORKFLOW"
    assert task["inputData"]["subWorkflowName"] == "child_flow" and task["inputData"]["workflowInput"] == {"v": 21}
    child_id = task["subWorkflowId"]
    assert task["outputData"] == {"subWorkflowId": child_id}
    child = await workflow(client, child_id)
    assert child["parentWorkflowId"] == wid and child["parentWorkflowTaskId"] == task["taskId"]
    assert child["correlationId"] == "corr-1" and child["input"] == {"v": 21}
    work = await poll_one(client, "child_work", timeout=3000)
    await update(client, work, "COMPLETED", {"doubled": 42})
    done = await wait_status(client, wid, "COMPLETED")
    assert done["output"] == {"result": 42}
    assert done["tasks"][0]["outputData"] == {"doubled": 42, "subWorkflowId": child_id}


async def test_inline_child_definition_and_sync_child(client: httpx.AsyncClient) -> None:
    inline = {"name": "inline_child", "tasks": [
        {"name": "vars", "taskReferenceName": "vars", "type": "SET_VARIABLE",
         "inputParameters": {"got": "${workflow.input.v}"}}],
        "outputParameters": {"got": "${workflow.input.v}", "vars": "${workflow.variables.got}"}}
    sub = _sub(name="inline_child", workflowDefinition=inline)
    sub["inputParameters"] = {"v": "child-${workflow.input.v}"}
    await register_workflow(client, "parent_inline", [sub])
    wid = (await client.post("/api/workflow", json={"name": "parent_inline", "input": {"v": "x"}})).text
    done = await wait_status(client, wid, "COMPLETED")
    assert done["tasks"][0]["outputData"]["got"] == "child-x"  # the child's own input, not the parent's
    assert done["tasks"][0]["outputData"]["vars"] == "child-x"


async def test_child_failure_fails_the_parent_and_retry_resumes_the_child(client: httpx.AsyncClient) -> None:
    await client.post("/api/metadata/taskdefs", json=[{"name": "child_work", "retryCount": 0}])
    await _register_child(client)
    await register_workflow(client, "parent_retry", [_sub(name="child_flow")])
    wid = (await client.post("/api/workflow", json={"name": "parent_retry", "input": {"v": 1}})).text
    work = await poll_one(client, "child_work", timeout=3000)
    await update(client, work, "FAILED", reasonForIncompletion="disk full")
    failed = await wait_status(client, wid, "FAILED")
    child_id = failed["tasks"][0]["subWorkflowId"]
    assert failed["tasks"][0]["status"] == "FAILED"
    assert failed["tasks"][0]["reasonForIncompletion"].startswith(f"Sub workflow {child_id} failure reason:")
    assert "disk full" in failed["reasonForIncompletion"]
    response = await client.post(f"/api/workflow/{wid}/retry", params={"resumeSubworkflowTasks": "true"})
    assert response.status_code == 204
    running = await workflow(client, wid)
    assert running["status"] == "RUNNING" and len(running["tasks"]) == 1
    assert running["tasks"][0]["status"] == "IN_PROGRESS" and running["tasks"][0]["subWorkflowId"] == child_id
    assert (await workflow(client, child_id))["status"] == "RUNNING"
    work = await poll_one(client, "child_work", timeout=3000)
    await update(client, work, "COMPLETED", {"doubled": 2})
    done = await wait_status(client, wid, "COMPLETED")
    assert done["tasks"][0]["subWorkflowId"] == child_id


async def test_retry_without_resume_starts_a_new_child(client: httpx.AsyncClient) -> None:
    await client.post("/api/metadata/taskdefs", json=[{"name": "child_work", "retryCount": 0}])
    await _register_child(client)
    await register_workflow(client, "parent_new_child", [_sub(name="child_flow")])
    wid = (await client.post("/api/workflow", json={"name": "parent_new_child", "input": {"v": 1}})).text
    await update(client, await poll_one(client, "child_work", timeout=3000), "FAILED")
    first = (await wait_status(client, wid, "FAILED"))["tasks"][0]["subWorkflowId"]
    assert (await client.post(f"/api/workflow/{wid}/retry")).status_code == 204
    again = await wait_task(client, wid, lambda ts: len(ts) == 2 and ts[1].get("subWorkflowId"))
    assert again["tasks"][1]["subWorkflowId"] != first and again["tasks"][1]["retryCount"] == 1


async def test_retrying_the_child_alone_reopens_the_parent(client: httpx.AsyncClient) -> None:
    await client.post("/api/metadata/taskdefs", json=[{"name": "child_work", "retryCount": 0}])
    await _register_child(client)
    await register_workflow(client, "parent_reopen", [_sub(name="child_flow")])
    wid = (await client.post("/api/workflow", json={"name": "parent_reopen", "input": {"v": 1}})).text
    await update(client, await poll_one(client, "child_work", timeout=3000), "FAILED")
    child_id = (await wait_status(client, wid, "FAILED"))["tasks"][0]["subWorkflowId"]
    assert (await client.post(f"/api/workflow/{child_id}/retry")).status_code == 204
    reopened = await wait_status(client, wid, "RUNNING")
    assert reopened["tasks"][0]["status"] == "IN_PROGRESS"
    await update(client, await poll_one(client, "child_work", timeout=3000), "COMPLETED", {"doubled": 5})
    assert (await wait_status(client, wid, "COMPLETED"))["output"]["doubled"] == 5


async def test_terminating_the_parent_terminates_the_child(client: httpx.AsyncClient) -> None:
    await _register_child(client)
    await register_workflow(client, "parent_stop", [_sub(name="child_flow")])
    wid = (await client.post("/api/workflow", json={"name": "parent_stop", "input": {"v": 1}})).text
    child_id = (await wait_task(client, wid, lambda ts: ts[0].get("subWorkflowId")))["tasks"][0]["subWorkflowId"]
    assert (await client.delete(f"/api/workflow/{wid}", params={"reason": "enough"})).status_code == 200
    child = await wait_status(client, child_id, "TERMINATED")
    assert child["reasonForIncompletion"] == "Parent workflow has been terminated with status TERMINATED"
    # and a child terminated by itself cancels its task, which fails the parent
    other = (await client.post("/api/workflow", json={"name": "parent_stop", "input": {"v": 2}})).text
    kid = (await wait_task(client, other, lambda ts: ts[0].get("subWorkflowId")))["tasks"][0]["subWorkflowId"]
    await client.delete(f"/api/workflow/{kid}", params={"reason": "by hand"})
    parent = await wait_task(client, other, lambda ts: ts[0]["status"] == "CANCELED")
    assert parent["status"] in ("FAILED", "TERMINATED")


async def test_unknown_child_fails_the_task(client: httpx.AsyncClient) -> None:
    await client.post("/api/metadata/taskdefs", json=[{"name": "sub", "retryCount": 0}])
    await register_workflow(client, "parent_unknown", [_sub(name="child_flow")])
    await client.delete("/api/metadata/workflow/child_flow/1")
    wid = (await client.post("/api/workflow", json={"name": "parent_unknown", "input": {"v": 1}})).text
    failed = await wait_status(client, wid, "FAILED")
    assert "No such workflow defined" in failed["tasks"][0]["reasonForIncompletion"]


async def test_start_workflow_is_fire_and_forget(client: httpx.AsyncClient) -> None:
    await _register_child(client)
    await register_workflow(client, "starter", [
        {"name": "start", "taskReferenceName": "s", "type": "START_WORKFLOW",
         "inputParameters": {"startWorkflow": {"name": "child_flow", "input": {"v": "${workflow.input.v}"}}}}])
    wid = (await client.post("/api/workflow", json={"name": "starter", "input": {"v": 3},
                                                    "correlationId": "c9"})).text
    done = await wait_status(client, wid, "COMPLETED")
    started = by_ref(done, "s")[0]["outputData"]["workflowId"]
    child = await workflow(client, started)
    assert child["status"] == "RUNNING" and child["correlationId"] == "c9" and child.get("parentWorkflowId") is None
