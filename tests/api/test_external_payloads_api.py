"""External payload storage (issue 15, item 8): Podium has none yet, so a request that names an
external payload path is refused with a clear 400 instead of running without its payload, and the
storage-location routes say which setting does not exist yet."""

from __future__ import annotations

import httpx
import pytest

from tests.api.helpers import (
    API,
    assert_error,
    assert_validation,
    poll_one,
    register_workflow,
    simple,
    start,
    wait_status,
    workflow,
)


async def test_a_start_naming_an_external_input_path_is_refused_and_nothing_starts(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "ext_in", [simple("ext_task")])
    before = (await client.get(f"{API}/workflow/running/ext_in")).json()
    for body in ({"name": "ext_in", "externalInputPayloadStoragePath": "input/wf.json"},
                 {"name": "ext_in", "input": {"a": 1}, "externalInputPayloadStoragePath": "input/wf.json"}):
        response = await client.post(f"{API}/workflow", json=body)
        assert_error(response, 400, contains="externalInputPayloadStoragePath")
        assert "external payload storage" in response.json()["message"]
    assert (await client.get(f"{API}/workflow/running/ext_in")).json() == before


async def test_a_task_result_naming_an_external_output_path_is_refused_and_the_task_unchanged(
        client: httpx.AsyncClient) -> None:
    await register_workflow(client, "ext_out", [simple("ext_out_task")])
    workflow_id = await start(client, "ext_out")
    task = await poll_one(client, "ext_out_task")
    response = await client.post(f"{API}/tasks", json={
        "workflowInstanceId": workflow_id, "taskId": task["taskId"], "status": "COMPLETED",
        "externalOutputPayloadStoragePath": "output/task.json"})
    [error] = assert_validation(response)
    assert error["path"].endswith("externalOutputPayloadStoragePath") and "external payload storage" in error["message"]
    [held] = (await workflow(client, workflow_id))["tasks"]
    assert held["status"] == "IN_PROGRESS"


async def test_a_start_workflow_task_naming_an_external_input_path_fails_with_the_reason(
        client: httpx.AsyncClient) -> None:
    await register_workflow(client, "ext_child", [simple("ext_child_task")])
    await register_workflow(client, "ext_parent", [{
        "name": "start", "taskReferenceName": "start", "type": "START_WORKFLOW",
        "inputParameters": {"startWorkflow": {"name": "ext_child", "externalInputPayloadStoragePath": "x.json"}}}])
    workflow_id = await start(client, "ext_parent")
    done = await wait_status(client, workflow_id, "FAILED", timeout=10)
    assert "externalInputPayloadStoragePath" in done["tasks"][0]["reasonForIncompletion"]
    assert (await client.get(f"{API}/workflow/running/ext_child")).json() == []


@pytest.mark.parametrize("path", ["/workflow/externalstoragelocation", "/tasks/externalstoragelocation"])
async def test_the_storage_location_routes_name_the_missing_setting(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(f"{API}{path}", params={"path": "x.json", "operation": "WRITE",
                                                        "payloadType": "WORKFLOW_INPUT"})
    assert_error(response, 400, contains="external payload storage")
    assert "setting" in response.json()["message"]
