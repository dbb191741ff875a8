"""FORK_JOIN_DYNAMIC through the API: every input form, its errors, and the JOIN after it."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import register_workflow


def _dyn(**extra: Any) -> list[dict[str, Any]]:
    return [{"name": "dyn", "taskReferenceName": "dyn", "type": "FORK_JOIN_DYNAMIC", **extra},
            {"name": "join", "taskReferenceName": "join", "type": "JOIN"}]


async def _start(client: httpx.AsyncClient, name: str, data: dict[str, Any]) -> dict[str, Any]:
    wid = (await client.post("/api/workflow", json={"name": name, "input": data})).text
    return dict((await client.get(f"/api/workflow/{wid}")).json())


async def _finish_all(client: httpx.AsyncClient, task_type: str, count: int) -> list[dict[str, Any]]:
    polled = (await client.get(f"/api/tasks/poll/batch/{task_type}", params={"count": count})).json()
    assert len(polled) == count, polled
    for task in polled:
        await client.post("/api/tasks", json={"workflowInstanceId": task["workflowInstanceId"],
                                              "taskId": task["taskId"], "status": "COMPLETED",
                                              "outputData": {"seen": task["inputData"]}})
    return list(polled)


async def test_modern_form_forks_one_task_per_input(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "dyn_modern", _dyn(inputParameters={
        "forkTaskName": "crunch", "forkTaskInputs": "${workflow.input.items}"}))
    wf = await _start(client, "dyn_modern", {"items": [{"n": 1}, {"n": 2}, 3]})
    assert [(t["referenceTaskName"], t["taskType"], t["status"]) for t in wf["tasks"]] == [
        ("dyn", "FORK", "COMPLETED"), ("_crunch_0", "crunch", "SCHEDULED"), ("_crunch_1", "crunch", "SCHEDULED"),
        ("_crunch_2", "crunch", "SCHEDULED"), ("join", "JOIN", "IN_PROGRESS")]
    assert wf["tasks"][0]["inputData"]["forkedTasks"] == ["_crunch_0", "_crunch_1", "_crunch_2"]
    assert wf["tasks"][4]["inputData"] == {"joinOn": ["_crunch_0", "_crunch_1", "_crunch_2"]}
    polled = await _finish_all(client, "crunch", 3)
    assert [t["inputData"] for t in polled] == [{"n": 1, "__index": 0}, {"n": 2, "__index": 1},
                                                 {"input": 3, "__index": 2}]
    done = (await client.get(f"/api/workflow/{wf['workflowId']}")).json()
    assert done["status"] == "COMPLETED"
    assert done["tasks"][-1]["outputData"]["_crunch_2"] == {"seen": {"input": 3, "__index": 2}}


async def test_classic_form_with_system_and_worker_tasks(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "dyn_classic", _dyn(
        dynamicForkTasksParam="tasks", dynamicForkTasksInputParamName="inputs",
        inputParameters={"tasks": "${workflow.input.tasks}", "inputs": "${workflow.input.inputs}"}))
    tasks = [{"name": "w", "taskReferenceName": "w1"},
             {"name": "calc", "taskReferenceName": "calc", "type": "INLINE",
              "inputParameters": {"evaluatorType": "javascript", "expression": "$.x * 2"}}]
    wf = await _start(client, "dyn_classic", {"tasks": tasks, "inputs": {"w1": {"a": 1}, "calc": {"x": 21}}})
    by_ref = {t["referenceTaskName"]: t for t in wf["tasks"]}
    assert by_ref["calc"]["status"] == "COMPLETED" and by_ref["calc"]["outputData"] == {"result": 42}
    assert by_ref["w1"]["inputData"] == {"a": 1}
    await _finish_all(client, "w", 1)
    done = (await client.get(f"/api/workflow/{wf['workflowId']}")).json()
    assert done["status"] == "COMPLETED"
    assert done["tasks"][-1]["outputData"] == {"w1": {"seen": {"a": 1}}, "calc": {"result": 42}}


async def test_legacy_form(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "dyn_legacy", _dyn(
        dynamicForkJoinTasksParam="plan", inputParameters={"plan": "${workflow.input.plan}"}))
    plan = {"dynamicTasks": [{"taskName": "lw", "referenceName": "l1", "input": {"k": 1}},
                             {"taskName": "lw", "referenceName": "l2", "input": {"k": 2}}]}
    wf = await _start(client, "dyn_legacy", {"plan": plan})
    assert [t["referenceTaskName"] for t in wf["tasks"]] == ["dyn", "l1", "l2", "join"]
    await _finish_all(client, "lw", 2)
    assert (await client.get(f"/api/workflow/{wf['workflowId']}")).json()["status"] == "COMPLETED"


async def test_empty_fork_completes_the_join_at_once(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "dyn_empty", _dyn(inputParameters={"forkTaskName": "x", "forkTaskInputs": []}))
    wf = await _start(client, "dyn_empty", {})
    assert wf["status"] == "COMPLETED"
    assert wf["tasks"][-1]["inputData"] == {"joinOn": []}


async def test_bad_plans_fail_the_workflow_with_a_reason(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "dyn_bad", _dyn(
        dynamicForkTasksParam="tasks", dynamicForkTasksInputParamName="inputs",
        inputParameters={"tasks": "${workflow.input.tasks}", "inputs": "${workflow.input.inputs}"}))
    not_a_map = await _start(client, "dyn_bad", {"tasks": [], "inputs": [1]})
    assert not_a_map["status"] == "FAILED"
    assert "Input to the dynamically forked tasks is not a map" in not_a_map["reasonForIncompletion"]
    duplicate = await _start(client, "dyn_bad", {"tasks": [{"name": "a", "taskReferenceName": "same"},
                                                           {"name": "b", "taskReferenceName": "same"}],
                                                 "inputs": {}})
    assert duplicate["status"] == "FAILED"
    assert "duplicate task reference name(s) same" in duplicate["reasonForIncompletion"]
    container = await _start(client, "dyn_bad", {"tasks": [{"name": "l", "taskReferenceName": "l",
                                                            "type": "DO_WHILE"}], "inputs": {}})
    assert container["status"] == "FAILED" and "SUB_WORKFLOW" in container["reasonForIncompletion"]


async def test_a_branch_that_fails_is_retried_and_retry_of_the_workflow_resumes(client: httpx.AsyncClient) -> None:
    await client.post("/api/metadata/taskdefs", json=[{"name": "flaky", "retryCount": 1, "retryDelaySeconds": 0}])
    await register_workflow(client, "dyn_retry", _dyn(inputParameters={
        "forkTaskName": "flaky", "forkTaskInputs": [{"i": 0}, {"i": 1}]}))
    wf = await _start(client, "dyn_retry", {})
    wid = wf["workflowId"]
    for _ in range(2):  # the first branch fails twice: once retried, then the workflow fails
        task = next(t for t in (await client.get("/api/tasks/poll/batch/flaky", params={"count": 2})).json()
                    if t["referenceTaskName"] == "_flaky_0")
        await client.post("/api/tasks", json={"workflowInstanceId": wid, "taskId": task["taskId"],
                                              "status": "FAILED", "reasonForIncompletion": "nope"})
    failed = (await client.get(f"/api/workflow/{wid}")).json()
    assert failed["status"] == "FAILED"
    assert [t["retryCount"] for t in failed["tasks"] if t["referenceTaskName"] == "_flaky_0"] == [0, 1]
    assert (await client.post(f"/api/workflow/{wid}/retry")).status_code == 204
    polled = (await client.get("/api/tasks/poll/batch/flaky", params={"count": 5})).json()
    assert sorted(t["referenceTaskName"] for t in polled) == ["_flaky_0", "_flaky_1"]
    for task in polled:
        await client.post("/api/tasks", json={"workflowInstanceId": wid, "taskId": task["taskId"],
                                              "status": "COMPLETED", "outputData": {"ok": task["referenceTaskName"]}})
    done = (await client.get(f"/api/workflow/{wid}")).json()
    assert done["status"] == "COMPLETED", done["reasonForIncompletion"]
    join = [t for t in done["tasks"] if t["referenceTaskName"] == "join"][-1]
    assert join["outputData"] == {"_flaky_0": {"ok": "_flaky_0"}, "_flaky_1": {"ok": "_flaky_1"}}
