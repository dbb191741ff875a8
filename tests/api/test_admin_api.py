"""Queue admin, admin repairs, environment, external storage and the mocked test run."""

from __future__ import annotations

import httpx
from helpers import assert_error

from tests.conftest import Clocked


async def _flow(client: httpx.AsyncClient) -> None:
    await client.post("/api/metadata/taskdefs", json=[{"name": "adm", "retryCount": 1, "retryDelaySeconds": 0}])
    await client.post("/api/metadata/workflow", json={"name": "adm_flow", "tasks": [
        {"name": "adm", "taskReferenceName": "first"}, {"name": "adm", "taskReferenceName": "second",
                                                         "inputParameters": {"x": "${first.output.x}"}}],
        "outputParameters": {"x": "${second.output.x}", "y": "${second.output.y}"}})


async def test_workflow_test_runs_from_mocks_without_real_workers(client: httpx.AsyncClient) -> None:
    await _flow(client)
    response = await client.post("/api/workflow/test", json={
        "name": "adm_flow", "input": {},
        "taskRefToMockOutput": {"first": [{"status": "FAILED", "output": {}}, {"status": "COMPLETED",
                                                                           "output": {"x": 1}}],
                                "second": [{"status": "COMPLETED", "output": {"x": 2, "y": 3}}]}})
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["status"] == "COMPLETED" and run["output"] == {"x": 2, "y": 3}
    assert [(t["referenceTaskName"], t["status"]) for t in run["tasks"]] == [
        ("first", "FAILED"), ("first", "COMPLETED"), ("second", "COMPLETED")]
    assert run["tasks"][-1]["inputData"] == {"x": 1}
    assert run["taskToDomain"]["*"].startswith("test-")
    assert (await client.get("/api/tasks/poll/batch/adm")).json() == []  # nothing for real workers


async def test_workflow_test_stops_where_no_mock_answers(client: httpx.AsyncClient) -> None:
    await _flow(client)
    run = (await client.post("/api/workflow/test", json={
        "name": "adm_flow", "taskRefToMockOutput": {"first": [{"output": {"x": 1}}]}})).json()
    assert run["status"] == "RUNNING"
    assert [t["status"] for t in run["tasks"]] == ["COMPLETED", "SCHEDULED"]


async def test_queue_update_merges_the_payload_into_the_output(client: httpx.AsyncClient) -> None:
    await _flow(client)
    wid = (await client.post("/api/workflow", json={"name": "adm_flow", "input": {}})).text
    first = (await client.get("/api/tasks/poll/batch/adm")).json()[0]
    await client.post("/api/tasks", json={"workflowInstanceId": wid, "taskId": first["taskId"],
                                          "status": "IN_PROGRESS", "outputData": {"kept": True}})
    assert (await client.post(f"/api/queue/update/{wid}/first/COMPLETED", json={"x": 5})).status_code == 200
    workflow = (await client.get(f"/api/workflow/{wid}")).json()
    assert workflow["tasks"][0]["outputData"] == {"kept": True, "x": 5}
    second = workflow["tasks"][1]
    assert second["inputData"] == {"x": 5}
    response = await client.post(f"/api/queue/update/{wid}/task/{second['taskId']}/completed",
                                 json={"x": 6, "y": 7})
    assert response.status_code == 200
    assert (await client.get(f"/api/workflow/{wid}")).json()["output"] == {"x": 6, "y": 7}
    assert_error(await client.post(f"/api/queue/update/{wid}/task/nope/COMPLETED", json={}), 404)
    assert_error(await client.post(f"/api/queue/update/{wid}/first/DONE", json={}), 400)
    assert (await client.get("/api/queue/")).json() == {"COMPLETED": "conductor_COMPLETED",
                                                        "FAILED": "conductor_FAILED"}


async def test_verify_and_repair_and_sweep(clocked: Clocked) -> None:
    client = clocked.client
    await _flow(client)
    wid = (await client.post("/api/workflow", json={"name": "adm_flow", "input": {}})).text
    assert (await client.post(f"/api/admin/consistency/verifyAndRepair/{wid}")).text == "false"
    app = client._transport.app  # type: ignore[attr-defined]
    async with app.state.store.unit() as s:
        await s.execute("DELETE FROM queue", ())
    assert (await client.post(f"/api/admin/consistency/verifyAndRepair/{wid}")).text == "true"
    assert len((await client.get("/api/tasks/poll/batch/adm")).json()) == 1
    assert (await client.post(f"/api/admin/sweep/requeue/{wid}")).text == f"true.{wid}"
    assert_error(await client.post("/api/admin/sweep/requeue/nope"), 404)
    assert_error(await client.post("/api/admin/consistency/verifyAndRepair/nope"), 404)


async def test_environment_and_external_storage(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/environment")).json() == []
    assert_error(await client.get("/api/environment/NOPE"), 404)
    assert_error(await client.get("/api/workflow/externalstoragelocation",
                                  params={"path": "x", "operation": "WRITE", "payloadType": "WORKFLOW_INPUT"}), 400)


async def test_workflow_test_drives_sub_workflows_with_their_own_mocks(client: httpx.AsyncClient) -> None:
    await client.post("/api/metadata/workflow", json={
        "name": "adm_child", "tasks": [{"name": "adm_leaf", "taskReferenceName": "leaf"}],
        "outputParameters": {"leaf": "${leaf.output.v}"}})
    await client.post("/api/metadata/workflow", json={
        "name": "adm_parent", "tasks": [
            {"name": "sub", "taskReferenceName": "kid", "type": "SUB_WORKFLOW",
             "subWorkflowParam": {"name": "adm_child"}},
            {"name": "sub", "taskReferenceName": "mocked_kid", "type": "SUB_WORKFLOW",
             "subWorkflowParam": {"name": "adm_child"}},
            {"name": "adm_last", "taskReferenceName": "last", "inputParameters": {"from": "${kid.output.leaf}"}}],
        "outputParameters": {"kid": "${kid.output.leaf}", "mocked": "${mocked_kid.output.v}",
                             "last": "${last.input.from}"}})
    run = (await client.post("/api/workflow/test", json={
        "name": "adm_parent", "input": {},
        "taskRefToMockOutput": {"mocked_kid": [{"output": {"v": "from mock"}}], "last": [{"output": {}}]},
        "subWorkflowTestRequest": {"kid": {"name": "adm_child",
                                           "taskRefToMockOutput": {"leaf": [{"output": {"v": "leaf!"}}]}}}})).json()
    assert run["status"] == "COMPLETED", run
    assert run["output"] == {"kid": "leaf!", "mocked": "from mock", "last": "leaf!"}
    child = (await client.get(f"/api/workflow/{run['tasks'][0]['subWorkflowId']}")).json()
    assert child["status"] == "COMPLETED" and child["taskToDomain"] == run["taskToDomain"]
