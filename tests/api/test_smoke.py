from __future__ import annotations

import httpx


async def test_three_step_workflow_completes(client: httpx.AsyncClient) -> None:
    await client.post("/api/metadata/taskdefs", json=[{"name": "step", "retryCount": 0}])
    wf = {"name": "chain", "tasks": [
        {"name": "step", "taskReferenceName": "a", "inputParameters": {"n": "${workflow.input.n}"}},
        {"name": "step", "taskReferenceName": "b", "inputParameters": {"n": "${a.output.n}"}},
        {"name": "step", "taskReferenceName": "c", "inputParameters": {"n": "${b.output.n}"}}],
        "outputParameters": {"n": "${c.output.n}"}}
    assert (await client.post("/api/metadata/workflow", json=wf)).status_code == 200
    wid = (await client.post("/api/workflow", json={"name": "chain", "input": {"n": 1}})).text
    polled = (await client.get("/api/tasks/poll/batch/step", params={"workerid": "w"})).json()
    task = polled[0]
    while task:
        response = await client.post("/api/tasks/update-v2", json={
            "workflowInstanceId": wid, "taskId": task["taskId"], "status": "COMPLETED",
            "outputData": {"n": task["inputData"]["n"] + 1}})
        task = response.json() if response.status_code == 200 else None
    body = (await client.get(f"/api/workflow/{wid}")).json()
    assert body["status"] == "COMPLETED"
    assert body["output"] == {"n": 4}
    assert [t["referenceTaskName"] for t in body["tasks"]] == ["a", "b", "c"]
