"""DO_WHILE through the API: conditions, items, iterations' reference names, nesting, keepLastN."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import register_workflow, simple


async def _wf(client: httpx.AsyncClient, wid: str) -> dict[str, Any]:
    return dict((await client.get(f"/api/workflow/{wid}")).json())


async def _complete(client: httpx.AsyncClient, task_type: str, output: dict[str, Any]) -> dict[str, Any]:
    polled = (await client.get(f"/api/tasks/poll/batch/{task_type}")).json()
    assert polled, f"nothing to poll for {task_type}"
    task = polled[0]
    await client.post("/api/tasks", json={"workflowInstanceId": task["workflowInstanceId"], "taskId": task["taskId"],
                                          "status": "COMPLETED", "outputData": output})
    return dict(task)


def _loop(condition: str | None, body: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    spec = {"name": "loop", "taskReferenceName": "loop", "type": "DO_WHILE", "loopOver": body, **extra}
    if condition is not None:
        spec["loopCondition"] = condition
    return spec


async def test_worker_loop_runs_while_the_condition_holds(client: httpx.AsyncClient) -> None:
    body = [simple("step", "step", inputParameters={"prev": "${step.output.n}", "i": "${loop.output.iteration}"}),
            {"name": "noop", "taskReferenceName": "tick", "type": "NOOP"}]
    await register_workflow(client, "loop_worker", [
        _loop("$.step['n'] < 3", body), simple("after", "after", inputParameters={"last": "${step.output.n}"})])
    wid = (await client.post("/api/workflow", json={"name": "loop_worker"})).text
    seen = []
    for n in (1, 2, 3):
        task = await _complete(client, "step", {"n": n})
        seen.append((task["referenceTaskName"], task["iteration"], task["inputData"]))
    assert seen == [("step__1", 1, {"prev": None, "i": 1}), ("step__2", 2, {"prev": 1, "i": 2}),
                    ("step__3", 3, {"prev": 2, "i": 3})]
    after = await _complete(client, "after", {})
    assert after["inputData"] == {"last": 3}
    wf = await _wf(client, wid)
    assert wf["status"] == "COMPLETED"
    loop = wf["tasks"][0]
    assert loop["status"] == "COMPLETED" and loop["iteration"] == 3
    assert loop["outputData"] == {"iteration": 3, "1": {"step": {"n": 1}, "tick": {}},
                                  "2": {"step": {"n": 2}, "tick": {}}, "3": {"step": {"n": 3}, "tick": {}}}
    assert [t["referenceTaskName"] for t in wf["tasks"]] == [
        "loop", "step__1", "tick__1", "step__2", "tick__2", "step__3", "tick__3", "after"]


async def test_sync_loop_over_items_completes_within_the_start_call(client: httpx.AsyncClient) -> None:
    body = [{"name": "sq", "taskReferenceName": "sq", "type": "INLINE",
             "inputParameters": {"evaluatorType": "javascript", "expression": "$.x * $.x",
                                 "x": "${loop.output.loopItem}"}}]
    await register_workflow(client, "loop_items", [_loop(None, body, items="${workflow.input.xs}")],
                            outputParameters={"loop": "${loop.output}"})
    wid = (await client.post("/api/workflow", json={"name": "loop_items", "input": {"xs": [2, 3, 4]}})).text
    wf = await _wf(client, wid)
    assert wf["status"] == "COMPLETED", wf.get("reasonForIncompletion")
    assert wf["output"]["loop"] == {"iteration": 3, "loopIndex": 2, "loopItem": 4, "1": {"sq": {"result": 4}},
                                    "2": {"sq": {"result": 9}}, "3": {"sq": {"result": 16}}}
    empty = (await client.post("/api/workflow", json={"name": "loop_items", "input": {"xs": []}})).text
    assert (await _wf(client, empty))["output"]["loop"] == {"iteration": 0}


async def test_nested_loops_name_tasks_by_both_iterations(client: httpx.AsyncClient) -> None:
    inner = _loop("$.inner['iteration'] < 2", [{"name": "noop", "taskReferenceName": "leaf", "type": "NOOP"}])
    inner["name"] = inner["taskReferenceName"] = "inner"
    await register_workflow(client, "loop_nested", [_loop("$.loop['iteration'] < 2", [inner])])
    wid = (await client.post("/api/workflow", json={"name": "loop_nested"})).text
    wf = await _wf(client, wid)
    assert wf["status"] == "COMPLETED", [(t["referenceTaskName"], t["status"], t["iteration"], t["outputData"])
                                         for t in wf["tasks"]]
    assert [t["referenceTaskName"] for t in wf["tasks"]] == [
        "loop", "inner__1", "leaf__1__1", "leaf__1__2", "inner__2", "leaf__2__1", "leaf__2__2"]
    assert wf["tasks"][0]["outputData"]["2"]["inner"]["iteration"] == 2


async def test_keep_last_n_prunes_old_iterations(client: httpx.AsyncClient) -> None:
    body = [{"name": "noop", "taskReferenceName": "beat", "type": "NOOP"}]
    await register_workflow(client, "loop_keep", [_loop("$.loop['iteration'] < 5", body,
                                                        inputParameters={"keepLastN": 2})])
    wid = (await client.post("/api/workflow", json={"name": "loop_keep"})).text
    wf = await _wf(client, wid)
    assert wf["status"] == "COMPLETED"
    assert [t["referenceTaskName"] for t in wf["tasks"]] == ["loop", "beat__4", "beat__5"]
    assert set(wf["tasks"][0]["outputData"]) == {"iteration", "4", "5"}


async def test_condition_errors_and_inner_failures(client: httpx.AsyncClient) -> None:
    body = [{"name": "noop", "taskReferenceName": "n", "type": "NOOP"}]
    await register_workflow(client, "loop_bad_condition", [_loop("$.nope.deeper > 1", body)])
    wid = (await client.post("/api/workflow", json={"name": "loop_bad_condition"})).text
    wf = await _wf(client, wid)
    assert wf["status"] == "FAILED"
    assert wf["tasks"][0]["status"] == "FAILED_WITH_TERMINAL_ERROR"
    assert "loopCondition" in wf["tasks"][0]["reasonForIncompletion"]

    await client.post("/api/metadata/taskdefs", json=[{"name": "loopy", "retryCount": 0}])
    await register_workflow(client, "loop_retry", [_loop("$.loop['iteration'] < 3", [simple("loopy", "w")])])
    wid = (await client.post("/api/workflow", json={"name": "loop_retry"})).text
    await _complete(client, "loopy", {"ok": 1})
    task = (await client.get("/api/tasks/poll/batch/loopy")).json()[0]
    assert task["referenceTaskName"] == "w__2"
    await client.post("/api/tasks", json={"workflowInstanceId": wid, "taskId": task["taskId"], "status": "FAILED"})
    wf = await _wf(client, wid)
    assert wf["status"] == "FAILED" and wf["tasks"][0]["status"] == "CANCELED"
    assert (await client.post(f"/api/workflow/{wid}/retry")).status_code == 204
    again = await _complete(client, "loopy", {"ok": 2})
    assert again["referenceTaskName"] == "w__2" and again["retryCount"] == 1
    last = await _complete(client, "loopy", {"ok": 3})
    assert last["referenceTaskName"] == "w__3"
    wf = await _wf(client, wid)
    assert wf["status"] == "COMPLETED", wf.get("reasonForIncompletion")
    loop = [t for t in wf["tasks"] if t["referenceTaskName"] == "loop"][-1]
    assert loop["outputData"] == {"iteration": 3, "1": {"w": {"ok": 1}}, "2": {"w": {"ok": 2}}, "3": {"w": {"ok": 3}}}
