"""FORK_JOIN and JOIN through the API."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import register_workflow, simple


async def _complete(client: httpx.AsyncClient, task_type: str, output: dict[str, Any] | None = None) -> dict[str, Any]:
    polled = (await client.get(f"/api/tasks/poll/batch/{task_type}")).json()
    assert polled, f"nothing to poll for {task_type}"
    task = polled[0]
    response = await client.post("/api/tasks", json={
        "workflowInstanceId": task["workflowInstanceId"], "taskId": task["taskId"], "status": "COMPLETED",
        "outputData": output or {}})
    assert response.status_code == 200, response.text
    return dict(task)


def _fork(*branches: list[dict[str, Any]], join_on: list[str]) -> list[dict[str, Any]]:
    return [{"name": "fork", "taskReferenceName": "fork", "type": "FORK_JOIN", "forkTasks": list(branches)},
            {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": join_on}]


async def _workflow(client: httpx.AsyncClient, wid: str) -> dict[str, Any]:
    return dict((await client.get(f"/api/workflow/{wid}")).json())


async def test_fork_runs_branches_in_parallel_and_join_collects_outputs(client: httpx.AsyncClient) -> None:
    tasks = [*_fork([simple("fa", "a1"), simple("fa2", "a2")], [simple("fb", "b1")], join_on=["a2", "b1"]),
             simple("after", "after", inputParameters={"a": "${join.output.a2.v}", "b": "${b1.output.v}"})]
    await register_workflow(client, "fork_flow", tasks)
    wid = (await client.post("/api/workflow", json={"name": "fork_flow"})).text
    wf = await _workflow(client, wid)
    assert [(t["referenceTaskName"], t["taskType"], t["status"]) for t in wf["tasks"]] == [
        ("fork", "FORK", "COMPLETED"), ("a1", "fa", "SCHEDULED"), ("b1", "fb", "SCHEDULED"),
        ("join", "JOIN", "IN_PROGRESS")]
    assert wf["tasks"][3]["inputData"] == {"joinOn": ["a2", "b1"]}
    await _complete(client, "fb", {"v": "B"})
    await _complete(client, "fa", {"v": "A1"})
    assert (await _workflow(client, wid))["tasks"][3]["status"] == "IN_PROGRESS"
    await _complete(client, "fa2", {"v": "A"})
    wf = await _workflow(client, wid)
    join = next(t for t in wf["tasks"] if t["referenceTaskName"] == "join")
    assert join["status"] == "COMPLETED"
    assert join["outputData"] == {"a2": {"v": "A"}, "b1": {"v": "B"}}
    after = await _complete(client, "after")
    assert after["inputData"] == {"a": "A", "b": "B"}
    assert (await _workflow(client, wid))["status"] == "COMPLETED"


async def test_join_of_sync_branches_completes_within_the_start_call(client: httpx.AsyncClient) -> None:
    noop = {"name": "noop", "type": "NOOP"}
    tasks = _fork([{**noop, "taskReferenceName": "x"}], [{**noop, "taskReferenceName": "y"}], join_on=["x", "y"])
    await register_workflow(client, "sync_fork", tasks)
    wid = (await client.post("/api/workflow", json={"name": "sync_fork"})).text
    wf = await _workflow(client, wid)
    assert wf["status"] == "COMPLETED", wf
    assert [t["status"] for t in wf["tasks"]] == ["COMPLETED"] * 4


async def test_a_failed_branch_fails_the_workflow_and_retry_resumes_the_join(client: httpx.AsyncClient) -> None:
    await client.post("/api/metadata/taskdefs", json=[{"name": "fbad", "retryCount": 0}])
    tasks = _fork([simple("fok", "ok")], [simple("fbad", "bad")], join_on=["ok", "bad"])
    await register_workflow(client, "fork_fail", tasks)
    wid = (await client.post("/api/workflow", json={"name": "fork_fail"})).text
    await _complete(client, "fok", {"v": 1})
    task = (await client.get("/api/tasks/poll/batch/fbad")).json()[0]
    await client.post("/api/tasks", json={"workflowInstanceId": wid, "taskId": task["taskId"], "status": "FAILED",
                                          "reasonForIncompletion": "boom"})
    wf = await _workflow(client, wid)
    assert wf["status"] == "FAILED"
    assert {t["referenceTaskName"]: t["status"] for t in wf["tasks"]}["join"] == "CANCELED"
    assert (await client.post(f"/api/workflow/{wid}/retry")).status_code == 204
    await _complete(client, "fbad", {"v": 2})
    wf = await _workflow(client, wid)
    assert wf["status"] == "COMPLETED", wf
    joins = [t for t in wf["tasks"] if t["referenceTaskName"] == "join"]
    assert joins[-1]["status"] == "COMPLETED"
    assert joins[-1]["outputData"] == {"ok": {"v": 1}, "bad": {"v": 2}}


async def test_optional_branch_failure_completes_the_join_with_errors(client: httpx.AsyncClient) -> None:
    await client.post("/api/metadata/taskdefs", json=[{"name": "fopt", "retryCount": 0}])
    tasks = _fork([simple("fopt", "opt", optional=True)], [simple("fok2", "ok")], join_on=["opt", "ok"])
    await register_workflow(client, "fork_optional", tasks)
    wid = (await client.post("/api/workflow", json={"name": "fork_optional"})).text
    task = (await client.get("/api/tasks/poll/batch/fopt")).json()[0]
    await client.post("/api/tasks", json={"workflowInstanceId": wid, "taskId": task["taskId"], "status": "FAILED"})
    await _complete(client, "fok2")
    wf = await _workflow(client, wid)
    assert wf["status"] == "COMPLETED"
    assert {t["referenceTaskName"]: t["status"] for t in wf["tasks"]}["join"] == "COMPLETED_WITH_ERRORS"


async def test_terminate_and_pause_in_a_fork(client: httpx.AsyncClient) -> None:
    tasks = _fork([simple("fp1", "p1")], [simple("fp2", "p2")], join_on=["p1", "p2"])
    await register_workflow(client, "fork_pause", tasks)
    wid = (await client.post("/api/workflow", json={"name": "fork_pause"})).text
    assert (await client.put(f"/api/workflow/{wid}/pause")).status_code == 200
    await _complete(client, "fp1")
    await _complete(client, "fp2")
    assert (await _workflow(client, wid))["status"] == "PAUSED"
    assert (await client.put(f"/api/workflow/{wid}/resume")).status_code == 200
    assert (await _workflow(client, wid))["status"] == "COMPLETED"
    other = (await client.post("/api/workflow", json={"name": "fork_pause"})).text
    assert (await client.delete(f"/api/workflow/{other}", params={"reason": "stop"})).status_code == 200
    wf = await _workflow(client, other)
    assert wf["status"] == "TERMINATED"
    assert {t["status"] for t in wf["tasks"][1:]} == {"CANCELED"}
