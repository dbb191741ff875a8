"""`/api/workflow` and `/api/workflow/bulk` (spec 1.2, 1.3, 1.9): every documented error path with
its status and message, the SDK's parameter quirks, and the control operations end to end."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import httpx
from helpers import (
    assert_error,
    assert_validation,
    by_ref,
    chain,
    eventually,
    poll,
    poll_one,
    register_task_defs,
    register_workflow,
    run_task,
    simple,
    start,
    status,
    update,
    workflow,
)

if TYPE_CHECKING:
    from conftest import Clocked

W = "/api/workflow"


async def failed_workflow(client: httpx.AsyncClient, name: str = "fails") -> str:
    """A workflow a -> b whose `a` failed for good (no retries): FAILED."""
    await chain(client, name, "a", "b")
    wid = await start(client, name)
    await run_task(client, "a", "FAILED", reasonForIncompletion="boom")
    assert await status(client, wid) == "FAILED"
    return wid


async def completed_workflow(client: httpx.AsyncClient, name: str = "done", **extra: Any) -> str:
    """A COMPLETED workflow of one task whose type (`<name>_task`) no other workflow uses."""
    await chain(client, name, f"{name}_task", **extra)
    wid = await start(client, name)
    await run_task(client, f"{name}_task", output={"r": 1})
    assert await status(client, wid) == "COMPLETED"
    return wid


# --- start ----------------------------------------------------------------------------------------


async def test_start_returns_plain_id_and_get_shape(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    response = await client.post(
        W,
        json={"name": "wf", "input": {"k": "v"}, "correlationId": "c-1", "priority": 7},
        headers={"Accept": "text/plain"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    wid = response.text
    assert len(wid) == 36 and '"' not in wid
    body = await workflow(client, wid)
    assert body["workflowId"] == wid and body["status"] == "RUNNING"
    assert body["input"] == {"k": "v"} and body["correlationId"] == "c-1" and body["priority"] == 7
    assert body["workflowName"] == "wf" and body["workflowVersion"] == 1
    assert body["startTime"] == body["createTime"] and body["workflowDefinition"]["name"] == "wf"
    assert [t["referenceTaskName"] for t in body["tasks"]] == ["a"]
    assert body["tasks"][0]["status"] == "SCHEDULED" and body["tasks"][0]["workflowPriority"] == 7
    assert "endTime" not in body or body["endTime"] == 0
    without = await workflow(client, wid, include_tasks=False)
    assert without["tasks"] == []


async def test_start_unknown_definition_is_404(client: httpx.AsyncClient) -> None:
    assert_error(
        await client.post(W, json={"name": "nope", "input": {}}),
        404,
        "No such workflow defined. name=nope, version=null",
    )
    assert_error(
        await client.post(W, json={"name": "nope", "version": 3, "input": {}}),
        404,
        "No such workflow defined. name=nope, version=3",
    )
    await chain(client, "wf", "a")
    assert_error(
        await client.post(W, json={"name": "wf", "version": 2, "input": {}}),
        404,
        "No such workflow defined. name=wf, version=2",
    )


async def test_start_without_name_is_400(client: httpx.AsyncClient) -> None:
    errors = assert_validation(await client.post(W, json={"input": {}}))
    assert any(e["message"] == "Workflow name cannot be null or empty" for e in errors)


async def test_start_with_null_input_is_400(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    assert_error(await client.post(W, json={"name": "wf", "input": None}), 400,
                 "NULL input passed when starting workflow")
    assert (await client.post(W, json={"name": "wf"})).status_code == 200  # absent input is {}


async def test_start_priority_out_of_range_is_400(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    for priority, message in (
        (100, "priority: 100 should be maximum 99"),
        (-1, "priority: -1 should be minimum 0"),
    ):
        errors = assert_validation(
            await client.post(W, json={"name": "wf", "input": {}, "priority": priority})
        )
        assert any(message in e["message"] for e in errors), errors
    for priority in (0, 99):
        assert (
            await client.post(W, json={"name": "wf", "input": {}, "priority": priority})
        ).status_code == 200


async def test_start_picks_latest_or_pinned_version(client: httpx.AsyncClient) -> None:
    await register_task_defs(client, {"name": "a", "retryCount": 0}, {"name": "b", "retryCount": 0})
    await register_workflow(client, "wf", [simple("a")], version=1)
    await register_workflow(client, "wf", [simple("b")], version=2)
    latest = await workflow(client, await start(client, "wf"))
    pinned = await workflow(client, await start(client, "wf", version=1))
    assert latest["workflowVersion"] == 2 and latest["tasks"][0]["taskType"] == "b"
    assert pinned["workflowVersion"] == 1 and pinned["tasks"][0]["taskType"] == "a"


async def test_start_with_embedded_definition(client: httpx.AsyncClient) -> None:
    definition = {
        "name": "adhoc",
        "version": 1,
        "tasks": [simple("a")],
        "outputParameters": {"x": "${a.output.x}"},
    }
    wid = await start(client, "adhoc", workflowDef=definition, input={"n": 1})
    await run_task(client, "a", output={"x": 5})
    body = await workflow(client, wid)
    assert body["status"] == "COMPLETED" and body["output"] == {"x": 5}
    assert_error(await client.get("/api/metadata/workflow/adhoc"), 404)  # not registered by starting


async def test_start_with_invalid_embedded_definition_is_400(client: httpx.AsyncClient) -> None:
    errors = assert_validation(
        await client.post(
            W, json={"name": "adhoc", "input": {}, "workflowDef": {"name": "adhoc", "tasks": []}}
        )
    )
    assert any(e["message"] == "WorkflowTask list cannot be empty" for e in errors)


async def test_start_by_name(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    response = await client.post(
        f"{W}/wf", json={"k": 1}, params={"correlationId": "c9", "priority": "3", "version": ""}
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    body = await workflow(client, response.text)
    assert body["input"] == {"k": 1} and body["correlationId"] == "c9" and body["priority"] == 3
    assert_error(
        await client.post(f"{W}/nope", json={}), 404, "No such workflow found by name: nope, version: null"
    )
    assert_error(
        await client.post(f"{W}/wf", json={}, params={"version": 4}),
        404,
        "No such workflow found by name: wf, version: 4",
    )
    errors = assert_validation(await client.post(f"{W}/wf", json={}, params={"priority": 200}))
    assert "priority: 200 should be maximum 99" in errors[0]["message"]


async def test_idempotency_key_fail(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    first = await start(client, "wf", idempotencyKey="k1", idempotencyStrategy="FAIL")
    response = await client.post(
        W, json={"name": "wf", "input": {}, "idempotencyKey": "k1", "idempotencyStrategy": "FAIL"}
    )
    assert_error(response, 409, contains=first)
    other = await start(client, "wf", idempotencyKey="k2", idempotencyStrategy="FAIL")
    assert other != first
    await run_task(client, "a")
    await run_task(client, "a")
    assert_error(await client.post(W, json={"name": "wf", "input": {}, "idempotencyKey": "k1"}), 409)


async def test_idempotency_key_return_existing(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    first = await start(client, "wf", idempotencyKey="k", idempotencyStrategy="RETURN_EXISTING")
    again = await start(client, "wf", idempotencyKey="k", idempotencyStrategy="RETURN_EXISTING")
    assert again == first
    await run_task(client, "a")
    assert await start(client, "wf", idempotencyKey="k", idempotencyStrategy="RETURN_EXISTING") == first
    assert (
        len((await client.get(f"{W}/search", params={"query": "workflowType = wf"})).json()["results"]) == 1
    )


async def test_idempotency_key_fail_on_running(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    first = await start(client, "wf", idempotencyKey="k", idempotencyStrategy="FAIL_ON_RUNNING")
    assert_error(
        await client.post(
            W,
            json={"name": "wf", "input": {}, "idempotencyKey": "k", "idempotencyStrategy": "FAIL_ON_RUNNING"},
        ),
        409,
        contains=first,
    )
    await run_task(client, "a")
    second = await start(client, "wf", idempotencyKey="k", idempotencyStrategy="FAIL_ON_RUNNING")
    assert second != first


# --- reading --------------------------------------------------------------------------------------


async def test_get_unknown_is_404(client: httpx.AsyncClient) -> None:
    assert_error(await client.get(f"{W}/missing-id"), 404, "No such workflow found by id: missing-id")
    assert_error(await client.get(f"{W}/missing-id/status"), 404, "No such workflow found by id: missing-id")
    assert_error(await client.get(f"{W}/missing-id/tasks"), 404, "No such workflow found by id: missing-id")


async def test_status_endpoint(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a", outputParameters={"out": "${a.output.v}"}, variables={"var": 1})
    wid = await start(client, "wf", correlationId="corr")
    assert (await client.get(f"{W}/{wid}/status")).json() == {
        "workflowId": wid,
        "correlationId": "corr",
        "status": "RUNNING",
    }
    await run_task(client, "a", output={"v": 42})
    body = (
        await client.get(f"{W}/{wid}/status", params={"includeOutput": "True", "includeVariables": "True"})
    ).json()
    assert body == {
        "workflowId": wid,
        "correlationId": "corr",
        "status": "COMPLETED",
        "output": {"out": 42},
        "variables": {"var": 1},
    }
    only_output = (await client.get(f"{W}/{wid}/status", params={"includeOutput": "true"})).json()
    assert "output" in only_output and "variables" not in only_output


async def test_tasks_page_and_status_filter(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a", "b", "c", "d")
    wid = await start(client, "wf")
    for name in ("a", "b", "c"):
        await run_task(client, name)
    page = (await client.get(f"{W}/{wid}/tasks")).json()
    assert page["totalHits"] == 4 and [t["referenceTaskName"] for t in page["results"]] == [
        "a",
        "b",
        "c",
        "d",
    ]
    page = (await client.get(f"{W}/{wid}/tasks", params={"start": 1, "count": 2})).json()
    assert page["totalHits"] == 4 and [t["referenceTaskName"] for t in page["results"]] == ["b", "c"]
    page = (await client.get(f"{W}/{wid}/tasks", params={"status": "scheduled"})).json()
    assert page["totalHits"] == 1 and page["results"][0]["referenceTaskName"] == "d"
    page = (
        await client.get(f"{W}/{wid}/tasks", params=[("status", "COMPLETED"), ("status", "Scheduled")])
    ).json()
    assert page["totalHits"] == 4
    page = (await client.get(f"{W}/{wid}/tasks", params={"start": 10})).json()
    assert page == {"totalHits": 4, "results": []}


async def test_correlated_get_and_post(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    done = await start(client, "wf", correlationId="c1")
    await run_task(client, "a")
    running = await start(client, "wf", correlationId="c1")
    other = await start(client, "wf", correlationId="c2")

    found = (await client.get(f"{W}/wf/correlated/c1")).json()
    assert [w["workflowId"] for w in found] == [running]
    assert found[0]["tasks"] == []  # includeTasks defaults to false
    found = (
        await client.get(f"{W}/wf/correlated/c1", params={"includeClosed": "True", "includeTasks": "True"})
    ).json()
    assert sorted(w["workflowId"] for w in found) == sorted([done, running])
    assert all(w["tasks"] for w in found)
    assert (await client.get(f"{W}/other/correlated/c1")).json() == []

    many = (
        await client.post(
            f"{W}/wf/correlated",
            json=["c1", "c2", "c3"],
            params={"includeClosed": "False", "includeTasks": "False"},
        )
    ).json()
    assert set(many) == {"c1", "c2", "c3"}
    assert [w["workflowId"] for w in many["c1"]] == [running]
    assert [w["workflowId"] for w in many["c2"]] == [other]
    assert many["c3"] == []


async def test_running_list(client: httpx.AsyncClient) -> None:
    await register_task_defs(client, {"name": "a", "retryCount": 0})
    await register_workflow(client, "wf", [simple("a")], version=1)
    await register_workflow(client, "wf", [simple("a")], version=2)
    v1 = [await start(client, "wf", version=1) for _ in range(2)]
    v2 = await start(client, "wf", version=2)
    assert sorted((await client.get(f"{W}/running/wf")).json()) == sorted(v1)  # version defaults to 1
    assert (await client.get(f"{W}/running/wf", params={"version": 2})).json() == [v2]
    await client.delete(f"{W}/{v1[0]}")
    assert (await client.get(f"{W}/running/wf")).json() == [v1[1]]
    assert (await client.get(f"{W}/running/none")).json() == []


# --- pause / resume -------------------------------------------------------------------------------


async def test_pause_resume(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a", "b")
    wid = await start(client, "wf")
    response = await client.put(f"{W}/{wid}/pause", json={})
    assert response.status_code == 200 and response.content == b""
    assert await status(client, wid) == "PAUSED"
    assert (await client.put(f"{W}/{wid}/pause")).status_code == 200  # idempotent
    assert await status(client, wid) == "PAUSED"
    # an already-queued task can still be polled and completed, but nothing new is scheduled
    await run_task(client, "a")
    body = await workflow(client, wid)
    assert body["status"] == "PAUSED" and [t["referenceTaskName"] for t in body["tasks"]] == ["a"]
    assert (await client.put(f"{W}/{wid}/resume", json={})).status_code == 200
    body = await workflow(client, wid)
    assert body["status"] == "RUNNING" and [t["referenceTaskName"] for t in body["tasks"]] == ["a", "b"]
    assert body["lastRetriedTime"] > 0


async def test_resume_not_paused_is_409(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    wid = await start(client, "wf")
    assert_error(
        await client.put(f"{W}/{wid}/resume"),
        409,
        f"The workflow {wid} is not PAUSED so cannot resume. Current status is RUNNING",
    )


async def test_pause_terminal_is_409(client: httpx.AsyncClient) -> None:
    wid = await completed_workflow(client)
    assert_error(
        await client.put(f"{W}/{wid}/pause"), 409, f"Workflow {wid} has ended, status cannot be updated."
    )
    assert_error(
        await client.put(f"{W}/{wid}/resume"),
        409,
        f"The workflow {wid} is not PAUSED so cannot resume. Current status is COMPLETED",
    )


async def test_pause_resume_unknown_is_404(client: httpx.AsyncClient) -> None:
    assert_error(await client.put(f"{W}/nope/pause"), 404, "No such workflow found by id: nope")
    assert_error(await client.put(f"{W}/nope/resume"), 404, "No such workflow found by id: nope")


# --- terminate ------------------------------------------------------------------------------------


async def test_terminate_running(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    wid = await start(client, "wf")
    response = await client.request(
        "DELETE", f"{W}/{wid}", json={}, params={"reason": "stop it", "triggerFailureWorkflow": "False"}
    )
    assert response.status_code == 200 and response.content == b""
    body = await workflow(client, wid)
    assert body["status"] == "TERMINATED" and body["reasonForIncompletion"] == "stop it"
    assert body["tasks"][0]["status"] == "CANCELED" and body["endTime"] > 0
    assert await poll(client, "a") == []  # its queue entry is gone


async def test_terminate_completed_is_409_and_terminated_is_noop(client: httpx.AsyncClient) -> None:
    wid = await completed_workflow(client)
    assert_error(await client.delete(f"{W}/{wid}"), 409, "Cannot terminate a COMPLETED workflow.")
    await register_workflow(client, "other", [simple("a")])
    other = await start(client, "other")
    assert (await client.delete(f"{W}/{other}", params={"reason": "first"})).status_code == 200
    assert (await client.delete(f"{W}/{other}", params={"reason": "second"})).status_code == 200
    body = await workflow(client, other)
    assert body["status"] == "TERMINATED" and body["reasonForIncompletion"] == "first"
    assert_error(await client.delete(f"{W}/nope"), 404, "No such workflow found by id: nope")


async def test_terminate_failed_becomes_terminated_without_failure_workflow(
    client: httpx.AsyncClient,
) -> None:
    await register_workflow(client, "on_fail", [simple("handler")])
    await chain(client, "wf", "a", failureWorkflow="on_fail")
    wid = await start(client, "wf")
    assert (await client.delete(f"{W}/{wid}", params={"reason": "api"})).status_code == 200
    body = await workflow(client, wid)
    assert body["status"] == "TERMINATED" and "conductor.failure_workflow" not in body["output"]
    assert (await client.get(f"{W}/running/on_fail")).json() == []

    wid = await failed_workflow(client)
    assert (await client.delete(f"{W}/{wid}")).status_code == 200
    assert await status(client, wid) == "TERMINATED"


# --- remove ---------------------------------------------------------------------------------------


async def test_remove_running_with_archive_is_400(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    wid = await start(client, "wf")
    assert_error(
        await client.request("DELETE", f"{W}/{wid}/remove", json={}),
        400,
        f"Cannot archive workflow: {wid} with status: RUNNING",
    )
    assert_error(
        await client.delete(f"{W}/{wid}/remove", params={"archiveWorkflow": "True"}),
        400,
        f"Cannot archive workflow: {wid} with status: RUNNING",
    )
    assert await status(client, wid) == "RUNNING"
    assert_error(await client.delete(f"{W}/nope/remove"), 404, "No such workflow found by id: nope")


async def test_remove_with_archive_keeps_it_readable(client: httpx.AsyncClient) -> None:
    wid = await completed_workflow(client)
    before = await workflow(client, wid)
    response = await client.request("DELETE", f"{W}/{wid}/remove", json={})
    assert response.status_code == 200 and response.content == b""
    after = await workflow(client, wid)
    assert after["status"] == "COMPLETED" and after["workflowId"] == wid
    assert [t["taskId"] for t in after["tasks"]] == [t["taskId"] for t in before["tasks"]]


async def test_remove_without_archive_is_gone(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    wid = await start(client, "wf")
    task = (await workflow(client, wid))["tasks"][0]
    assert (await client.delete(f"{W}/{wid}/remove", params={"archiveWorkflow": "False"})).status_code == 200
    assert_error(await client.get(f"{W}/{wid}"), 404, f"No such workflow found by id: {wid}")
    assert_error(await client.get(f"/api/tasks/{task['taskId']}"), 404)
    assert await poll(client, "a") == []


async def test_terminate_remove(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    archived = await start(client, "wf")
    gone = await start(client, "wf")
    assert (
        await client.delete(f"{W}/{archived}/terminate-remove", params={"reason": "bye"})
    ).status_code == 200
    body = await workflow(client, archived)
    assert body["status"] == "TERMINATED" and body["reasonForIncompletion"] == "bye"
    response = await client.delete(f"{W}/{gone}/terminate-remove", params={"archiveWorkflow": "false"})
    assert response.status_code == 200
    assert_error(await client.get(f"{W}/{gone}"), 404)
    assert_error(await client.delete(f"{W}/nope/terminate-remove"), 404, "No such workflow found by id: nope")
    done = await completed_workflow(client, "done2")
    assert_error(
        await client.delete(f"{W}/{done}/terminate-remove"), 409, "Cannot terminate a COMPLETED workflow."
    )
    assert await status(client, done) == "COMPLETED"


# --- skip -----------------------------------------------------------------------------------------


async def test_skip_future_task_jumps_over_it(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a", "b", "c")
    wid = await start(client, "wf")
    response = await client.put(
        f"{W}/{wid}/skiptask/b", params={"skipTaskRequest": "{'taskInput': None}"}, json={}
    )
    assert response.status_code == 200 and response.content == b""
    await run_task(client, "a")
    assert await poll(client, "b") == []
    body = await workflow(client, wid)
    assert [(t["referenceTaskName"], t["status"]) for t in body["tasks"]] == [
        ("a", "COMPLETED"),
        ("b", "SKIPPED"),
        ("c", "SCHEDULED"),
    ]
    await run_task(client, "c")
    assert await status(client, wid) == "COMPLETED"


async def test_skip_with_output_feeds_later_tasks(client: httpx.AsyncClient) -> None:
    await register_task_defs(client, {"name": "a", "retryCount": 0}, {"name": "b", "retryCount": 0})
    await register_workflow(
        client,
        "wf",
        [simple("a"), simple("b"), simple("a", "a2", inputParameters={"fromB": "${b.output.v}"})],
    )
    wid = await start(client, "wf")
    assert (
        await client.put(f"{W}/{wid}/skiptask/b", json={"taskOutput": {"v": "skipped!"}})
    ).status_code == 200
    await run_task(client, "a")
    a2 = await poll_one(client, "a")
    assert a2["referenceTaskName"] == "a2" and a2["inputData"] == {"fromB": "skipped!"}


async def test_skip_errors(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a", "b")
    wid = await start(client, "wf")
    assert_error(
        await client.put(f"{W}/{wid}/skiptask/zz"),
        409,
        "The task referenced by zz does not exist in the WorkflowDefinition wf",
    )
    assert_error(
        await client.put(f"{W}/{wid}/skiptask/a"),
        409,
        "The task referenced by a has already been processed, cannot be skipped",
    )
    await client.put(f"{W}/{wid}/pause")
    assert_error(
        await client.put(f"{W}/{wid}/skiptask/b"),
        409,
        f"The workflow {wid} is not running so the task referenced by b cannot be skipped",
    )
    await client.delete(f"{W}/{wid}")
    assert_error(
        await client.put(f"{W}/{wid}/skiptask/b"),
        409,
        f"The workflow {wid} is not running so the task referenced by b cannot be skipped",
    )
    assert_error(await client.put(f"{W}/nope/skiptask/b"), 404, "No such workflow found by id: nope")


# --- rerun ----------------------------------------------------------------------------------------


async def test_rerun_errors(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    wid = await start(client, "wf")
    assert_error(
        await client.post(f"{W}/{wid}/rerun", json={}),
        409,
        f"Workflow: {wid} is not in terminal state, unable to rerun.",
    )
    await client.delete(f"{W}/{wid}")
    assert_error(
        await client.post(f"{W}/{wid}/rerun", json={"reRunFromTaskId": "ghost"}), 400, "Task ghost not found"
    )
    assert_error(await client.post(f"{W}/nope/rerun", json={}), 404, "No such workflow found by id: nope")


async def test_rerun_whole_workflow(client: httpx.AsyncClient) -> None:
    wid = await failed_workflow(client)
    old = await workflow(client, wid)
    response = await client.post(
        f"{W}/{wid}/rerun",
        json={"reRunFromWorkflowId": wid, "workflowInput": {"n": 2}, "correlationId": "again"},
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert response.text == wid
    body = await workflow(client, wid)
    assert body["status"] == "RUNNING" and body["input"] == {"n": 2} and body["correlationId"] == "again"
    assert [t["referenceTaskName"] for t in body["tasks"]] == ["a"]
    assert body["tasks"][0]["taskId"] != old["tasks"][0]["taskId"]
    assert "reasonForIncompletion" not in body and body["failedReferenceTaskNames"] == []
    await run_task(client, "a")
    await run_task(client, "b")
    assert await status(client, wid) == "COMPLETED"


async def test_rerun_from_task(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a", "b", "c")
    wid = await start(client, "wf")
    await run_task(client, "a", output={"x": 1})
    await run_task(client, "b", output={"y": 2})
    await run_task(client, "c", "FAILED")
    body = await workflow(client, wid)
    assert body["status"] == "FAILED"
    a, b = by_ref(body, "a")[0], by_ref(body, "b")[0]
    response = await client.post(
        f"{W}/{wid}/rerun", json={"reRunFromTaskId": b["taskId"], "taskInput": {"override": True}}
    )
    assert response.status_code == 200 and response.text == wid
    body = await workflow(client, wid)
    assert body["status"] == "RUNNING"
    assert [t["referenceTaskName"] for t in body["tasks"]] == ["a", "b"]
    assert body["tasks"][0]["taskId"] == a["taskId"] and body["tasks"][0]["status"] == "COMPLETED"
    again = await poll_one(client, "b")
    assert again["inputData"] == {"override": True}
    await update(client, again)
    await run_task(client, "c")
    assert await status(client, wid) == "COMPLETED"


# --- restart --------------------------------------------------------------------------------------


async def test_restart(client: httpx.AsyncClient) -> None:
    wid = await completed_workflow(client)
    first_task = (await workflow(client, wid))["tasks"][0]["taskId"]
    response = await client.post(f"{W}/{wid}/restart", params={"useLatestDefinitions": "False"}, json={})
    assert response.status_code == 204 and response.content == b""
    body = await workflow(client, wid)
    assert body["status"] == "RUNNING" and body["output"] == {}
    assert [t["status"] for t in body["tasks"]] == ["SCHEDULED"] and body["tasks"][0]["taskId"] != first_task
    assert_error(
        await client.post(f"{W}/{wid}/restart"),
        409,
        f"Workflow: {wid} is not in terminal state, unable to restart.",
    )
    assert_error(await client.post(f"{W}/nope/restart"), 404, "No such workflow found by id: nope")


async def test_restart_with_latest_definitions(client: httpx.AsyncClient) -> None:
    await register_task_defs(client, {"name": "a", "retryCount": 0}, {"name": "b", "retryCount": 0})
    await register_workflow(client, "wf", [simple("a")], version=1)
    wid = await start(client, "wf")
    await client.delete(f"{W}/{wid}")
    await register_workflow(client, "wf", [simple("b")], version=2)
    assert (await client.post(f"{W}/{wid}/restart")).status_code == 204
    assert (await workflow(client, wid))["tasks"][0]["taskType"] == "a"
    await client.delete(f"{W}/{wid}")
    assert (
        await client.post(f"{W}/{wid}/restart", params={"useLatestDefinitions": "True"})
    ).status_code == 204
    body = await workflow(client, wid)
    assert body["workflowVersion"] == 2 and body["tasks"][0]["taskType"] == "b"


async def test_restart_non_restartable_completed_is_404(client: httpx.AsyncClient) -> None:
    wid = await completed_workflow(client, restartable=False)
    assert_error(await client.post(f"{W}/{wid}/restart"), 404, f"Workflow: {wid} is non-restartable")
    assert await status(client, wid) == "COMPLETED"


# --- retry ----------------------------------------------------------------------------------------


async def test_retry_failed_workflow(client: httpx.AsyncClient) -> None:
    wid = await failed_workflow(client)
    old = (await workflow(client, wid))["tasks"][0]
    response = await client.post(
        f"{W}/{wid}/retry",
        params={"resumeSubworkflowTasks": "False", "retryIfRetriedByParent": "True"},
        json={},
    )
    assert response.status_code == 204 and response.content == b""
    body = await workflow(client, wid)
    assert body["status"] == "RUNNING" and "reasonForIncompletion" not in body
    assert [(t["referenceTaskName"], t["retryCount"], t["status"]) for t in body["tasks"]] == [
        ("a", 0, "FAILED"),
        ("a", 1, "SCHEDULED"),
    ]
    assert body["tasks"][0]["retried"] is True and body["tasks"][1]["retriedTaskId"] == old["taskId"]
    await run_task(client, "a")
    await run_task(client, "b")
    assert await status(client, wid) == "COMPLETED"


async def test_retry_errors(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    wid = await start(client, "wf")
    assert_error(await client.post(f"{W}/{wid}/retry"), 404, "Workflow is still running.  status=RUNNING")
    await client.put(f"{W}/{wid}/pause")
    assert_error(await client.post(f"{W}/{wid}/retry"), 404, "Workflow is still running.  status=PAUSED")
    done = await completed_workflow(client, "done")
    assert_error(
        await client.post(f"{W}/{done}/retry"),
        409,
        "There are no retryable tasks! Use restart if you want to attempt entire workflow execution again.",
    )
    assert_error(await client.post(f"{W}/nope/retry"), 404, "No such workflow found by id: nope")


async def test_retry_terminated_workflow(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    wid = await start(client, "wf")
    await client.delete(f"{W}/{wid}")
    assert (await client.post(f"{W}/{wid}/retry")).status_code == 204
    body = await workflow(client, wid)
    assert body["status"] == "RUNNING" and [t["status"] for t in body["tasks"]] == ["CANCELED", "SCHEDULED"]


# --- reset callbacks, decide ----------------------------------------------------------------------


async def test_reset_callbacks(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    wid = await start(client, "wf")
    task = await poll_one(client, "a")
    await update(client, task, "IN_PROGRESS", callbackAfterSeconds=3600)
    assert await poll(client, "a") == []  # postponed by an hour
    response = await client.post(f"{W}/{wid}/resetcallbacks", json={})
    assert response.status_code == 204 and response.content == b""
    again = await poll_one(client, "a")
    assert (
        again["taskId"] == task["taskId"] and again["pollCount"] == 2 and again["callbackAfterSeconds"] == 0
    )
    await update(client, again)
    assert_error(
        await client.post(f"{W}/{wid}/resetcallbacks"),
        409,
        "Workflow is in terminal state. Status = COMPLETED",
    )
    assert_error(await client.post(f"{W}/nope/resetcallbacks"), 404, "No such workflow found by id: nope")


async def test_decide(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    wid = await start(client, "wf")
    response = await client.put(f"{W}/decide/{wid}", json={})
    assert response.status_code == 200 and response.content == b""
    body = await workflow(client, wid)
    assert body["status"] == "RUNNING" and len(body["tasks"]) == 1  # deciding again changes nothing
    assert_error(await client.put(f"{W}/decide/nope"), 404, "No such workflow found by id: nope")


# --- bulk -----------------------------------------------------------------------------------------


BULK = [
    ("PUT", "pause"),
    ("PUT", "resume"),
    ("POST", "restart"),
    ("POST", "retry"),
    ("POST", "terminate"),
    ("DELETE", "remove"),
    ("DELETE", "terminate-remove"),
    ("POST", "search"),
]


async def test_bulk_limits(client: httpx.AsyncClient) -> None:
    too_many = [f"id-{i}" for i in range(1001)]
    for method, path in BULK:
        response = await client.request(method, f"{W}/bulk/{path}", json=too_many)
        assert_error(response, 400, "Cannot process more than 1000 workflows. Please use multiple requests.")
        assert_error(
            await client.request(method, f"{W}/bulk/{path}", json=[]), 400, "WorkflowIds list cannot be null."
        )


async def test_bulk_exactly_1000_is_accepted(client: httpx.AsyncClient) -> None:
    ids = [f"id-{i}" for i in range(1000)]
    body = (await client.put(f"{W}/bulk/pause", json=ids)).json()
    assert body["bulkSuccessfulResults"] == [] and len(body["bulkErrorResults"]) == 1000


async def test_bulk_pause_resume_terminate_per_id_errors(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    one, two = await start(client, "wf"), await start(client, "wf")
    done = await completed_workflow(client, "done")

    body = (await client.put(f"{W}/bulk/pause", json=[one, two, "nope", done])).json()
    assert body["bulkSuccessfulResults"] == [one, two]
    assert body["bulkErrorResults"] == {
        "nope": "No such workflow found by id: nope",
        done: f"Workflow {done} has ended, status cannot be updated.",
    }
    body = (await client.put(f"{W}/bulk/resume", json=[one, done])).json()
    assert body["bulkSuccessfulResults"] == [one]
    assert body["bulkErrorResults"] == {
        done: f"The workflow {done} is not PAUSED so cannot resume. Current status is COMPLETED"
    }
    body = (
        await client.post(
            f"{W}/bulk/terminate",
            json=[one, done],
            params={"reason": "bulk", "triggerFailureWorkflow": "False"},
        )
    ).json()
    assert body == {
        "bulkErrorResults": {done: "Cannot terminate a COMPLETED workflow."},
        "bulkSuccessfulResults": [one],
    }
    assert (await workflow(client, one))["reasonForIncompletion"] == "bulk"
    assert await status(client, two) == "PAUSED"


async def test_bulk_retry_restart_remove_search(client: httpx.AsyncClient) -> None:
    failed = await failed_workflow(client)
    await register_workflow(client, "run", [simple("b")])
    running = await start(client, "run")

    body = (await client.post(f"{W}/bulk/retry", json=[failed, running])).json()
    assert body["bulkSuccessfulResults"] == [failed]
    assert body["bulkErrorResults"] == {running: "Workflow is still running.  status=RUNNING"}

    body = (
        await client.post(
            f"{W}/bulk/restart", json=[running, "nope"], params={"useLatestDefinitions": "True"}
        )
    ).json()
    assert body["bulkSuccessfulResults"] == []
    assert (
        body["bulkErrorResults"][running]
        == f"Workflow: {running} is not in terminal state, unable to restart."
    )

    body = (
        await client.post(
            f"{W}/bulk/search", json=[failed, running, "nope"], params={"includeTasks": "False"}
        )
    ).json()
    assert [w["workflowId"] for w in body["bulkSuccessfulResults"]] == [failed, running]
    assert all(w["tasks"] == [] for w in body["bulkSuccessfulResults"])
    assert body["bulkErrorResults"] == {"nope": "No such workflow found by id: nope"}

    body = (await client.request("DELETE", f"{W}/bulk/remove", json=[running])).json()
    assert body["bulkErrorResults"] == {running: f"Cannot archive workflow: {running} with status: RUNNING"}
    body = (
        await client.request(
            "DELETE",
            f"{W}/bulk/terminate-remove",
            json=[running, "nope"],
            params={"archiveWorkflow": "False", "reason": "x"},
        )
    ).json()
    assert body["bulkSuccessfulResults"] == [running] and list(body["bulkErrorResults"]) == ["nope"]
    assert_error(await client.get(f"{W}/{running}"), 404)


# --- search ---------------------------------------------------------------------------------------


async def _search_fixture(clocked: Clocked) -> dict[str, str]:
    """Five executions, created one second apart, in a known state."""
    client = clocked.client
    await register_task_defs(client, {"name": "a", "retryCount": 0})
    await register_workflow(client, "orders", [simple("a")])
    await register_workflow(client, "billing", [simple("a")])
    ids: dict[str, str] = {}
    plan = [
        ("o1", "orders", "alice", "c-1"),
        ("o2", "orders", "bob", "c-2"),
        ("b1", "billing", "alice", "c-3"),
        ("o3", "orders", "carol", "c-4"),
        ("b2", "billing", "dave", "c-5"),
    ]
    for key, name, customer, corr in plan:
        ids[key] = await start(client, name, {"customer": customer}, correlationId=corr)
        clocked.clock.advance(1000)
    # o1 completes, b1 is terminated; the rest keep running
    task = next(t for t in await poll(client, "a", count=10) if t["workflowInstanceId"] == ids["o1"])
    await update(client, task)
    await client.delete(f"{W}/{ids['b1']}")
    return ids


async def _hits(client: httpx.AsyncClient, path: str = "search", **params: Any) -> list[str]:
    response = await client.get(f"{W}/{path}", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["totalHits"] >= len(body["results"])
    return [r["workflowId"] for r in body["results"]]


async def test_search_query_grammar(clocked: Clocked) -> None:
    ids = await _search_fixture(clocked)
    client = clocked.client

    async def found(query: str) -> set[str]:
        return {k for k, v in ids.items() if v in await _hits(client, query=query)}

    assert await found("workflowType = orders") == {"o1", "o2", "o3"}
    assert await found("workflowType != orders") == {"b1", "b2"}
    assert await found("status = RUNNING") == {"o2", "o3", "b2"}
    assert await found("status IN (COMPLETED,TERMINATED)") == {"o1", "b1"}
    assert await found("workflowType = orders AND status = RUNNING") == {"o2", "o3"}
    assert await found("status = COMPLETED OR status = TERMINATED") == {"o1", "b1"}
    assert await found("workflowType = billing AND (status = TERMINATED OR correlationId = c-5)") == {
        "b1",
        "b2",
    }
    assert await found("(workflowType = billing AND status = TERMINATED) OR correlationId = c-2") == {
        "b1",
        "o2",
    }
    start_o3 = (await workflow(client, ids["o3"], include_tasks=False))["startTime"]
    assert await found(f"startTime > {start_o3}") == {"b2"}
    assert await found(f"startTime < {start_o3}") == {"o1", "o2", "b1"}
    assert await found(f"startTime > {start_o3 - 1001} AND startTime < {start_o3 + 1}") == {"b1", "o3"}
    assert await found("correlationId = 'c-1'") == {"o1"}
    assert await found(f'workflowId = "{ids["b2"]}"') == {"b2"}


async def test_search_free_text_sort_and_paging(clocked: Clocked) -> None:
    ids = await _search_fixture(clocked)
    client = clocked.client
    order = ["o1", "o2", "b1", "o3", "b2"]

    alice = await _hits(client, freeText="alice")
    assert sorted(alice) == sorted([ids["o1"], ids["b1"]])
    assert sorted(await _hits(client, freeText="alice", query="workflowType = orders")) == [ids["o1"]]
    assert len(await _hits(client, freeText="*")) == 5
    assert await _hits(client, freeText="nobody-has-this") == []

    asc = await _hits(client, sort="startTime:ASC")
    assert asc == [ids[k] for k in order]
    assert await _hits(client) == [ids[k] for k in reversed(order)]  # newest first by default
    assert await _hits(client, sort="startTime:DESC") == [ids[k] for k in reversed(order)]
    by_type = await _hits(client, sort="workflowType:ASC|startTime:DESC")
    assert by_type == [ids[k] for k in ("b2", "b1", "o3", "o2", "o1")]

    response = (
        await client.get(f"{W}/search", params={"start": 1, "size": 2, "sort": "startTime:ASC"})
    ).json()
    assert response["totalHits"] == 5 and [r["workflowId"] for r in response["results"]] == [
        ids["o2"],
        ids["b1"],
    ]
    response = (
        await client.get(f"{W}/search", params={"start": 4, "size": 10, "sort": "startTime:ASC"})
    ).json()
    assert response["totalHits"] == 5 and [r["workflowId"] for r in response["results"]] == [ids["b2"]]


async def test_search_summary_and_v2_shapes(clocked: Clocked) -> None:
    ids = await _search_fixture(clocked)
    client = clocked.client
    summary = (await client.get(f"{W}/search", params={"query": f"workflowId = {ids['o1']}"})).json()[
        "results"
    ][0]
    assert (
        summary["workflowType"] == "orders" and summary["status"] == "COMPLETED" and summary["version"] == 1
    )
    assert summary["startTime"].endswith("Z") and "T" in summary["startTime"]
    assert isinstance(summary["input"], str) and "alice" in summary["input"]
    assert summary["failedReferenceTaskNames"] == "" and summary["parentWorkflowId"] == ""
    full = (await client.get(f"{W}/search-v2", params={"query": f"workflowId = {ids['o1']}"})).json()
    assert full["totalHits"] == 1
    wf = full["results"][0]
    assert (
        wf["workflowId"] == ids["o1"] and wf["input"] == {"customer": "alice"} and wf["status"] == "COMPLETED"
    )
    assert isinstance(wf["startTime"], int) and wf.get("tasks", []) == []
    assert sorted(await _hits(client, "search-v2", query="status = RUNNING")) == sorted(
        [ids["o2"], ids["o3"], ids["b2"]]
    )


async def test_search_errors(client: httpx.AsyncClient) -> None:
    body = assert_error(await client.get(f"{W}/search", params={"size": 5001}), 400)
    assert "5000" in body["message"]
    assert_error(await client.get(f"{W}/search-v2", params={"size": "5001"}), 400)
    assert (await client.get(f"{W}/search", params={"size": 5000})).status_code == 200
    body = assert_error(await client.get(f"{W}/search", params={"query": "nosuchfield = 1"}), 400)
    assert "nosuchfield" in body["message"]
    body = assert_error(
        await client.get(f"{W}/search", params={"query": "status = RUNNING AND bogus IN (a,b)"}), 400
    )
    assert "bogus" in body["message"]
    body = assert_error(await client.get(f"{W}/search", params={"sort": "bogus:ASC"}), 400)
    assert "bogus" in body["message"]
    assert_error(await client.get(f"{W}/search", params={"query": "status = "}), 400)
    assert_error(await client.get(f"{W}/search", params={"query": "(status = RUNNING"}), 400)
    assert_error(await client.get(f"{W}/search", params={"query": "startTime > yesterday"}), 400)
    assert_error(await client.get(f"{W}/search", params={"start": "x"}), 400)


async def test_search_with_empty_parameters_from_the_sdk(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    wid = await start(client, "wf")
    for path in ("search", "search-v2"):
        response = await client.get(
            f"{W}/{path}?queryId=&start=&size=&freeText=&query=&sort=",
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 200, response.text
        assert [r["workflowId"] for r in response.json()["results"]] == [wid]
    response = await client.get(f"{W}/search?start=0&size=15&sort=startTime:DESC&freeText=*&query=")
    assert response.json()["totalHits"] == 1


# --- SDK quirks -----------------------------------------------------------------------------------


async def test_booleans_in_any_case(client: httpx.AsyncClient) -> None:
    wid = await completed_workflow(client)
    for value in ("True", "true", "TRUE"):
        assert (await workflow(client, wid))["tasks"]
        body = (await client.get(f"{W}/{wid}", params={"includeTasks": value})).json()
        assert body["tasks"]
    for value in ("False", "false"):
        assert (await client.get(f"{W}/{wid}", params={"includeTasks": value})).json()["tasks"] == []
    assert (await client.get(f"{W}/{wid}", params={"includeTasks": "None"})).json()["tasks"]  # absent
    body = assert_error(await client.get(f"{W}/{wid}", params={"includeTasks": "maybe"}), 400)
    assert "includeTasks" in body["message"]


async def test_execute_with_none_wait_until_task_ref(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    params = {
        "waitUntilTaskRef": "None",
        "requestId": "",
        "waitForSeconds": "5",
        "consistency": "SYNCHRONOUS",
    }
    call = asyncio.create_task(
        client.post(f"{W}/execute/wf/1", params=params, json={"name": "ignored", "input": {"k": 1}})
    )
    task = (await eventually(lambda: poll(client, "a")))[0]
    began = time.monotonic()
    await update(client, task, output={"done": True})
    response = await call
    assert time.monotonic() - began < 2  # answered when the workflow ended, not at waitForSeconds
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "COMPLETED" and body["input"] == {"k": 1} and body["output"] == {"done": True}
    assert body["workflowId"] == task["workflowInstanceId"]


async def test_get_with_json_content_type_and_delete_with_body(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    wid = await start(client, "wf")
    headers = {"Content-Type": "application/json"}
    assert (await client.get(f"{W}/{wid}", headers=headers)).status_code == 200
    assert (await client.get(f"{W}/running/wf", headers=headers)).json() == [wid]
    assert (await client.request("DELETE", f"{W}/{wid}", json={}, params={"reason": "x"})).status_code == 200
    assert (
        await client.request("DELETE", f"{W}/{wid}/remove", json={}, params={"archiveWorkflow": "True"})
    ).status_code == 200
