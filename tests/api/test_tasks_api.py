"""`/api/tasks` (spec 1.4, 4.6): polls (long polls included), updates, logs, queues; then the engine's
task-level semantics seen through the API with a fake clock (retries, timeouts, callbacks, limits,
priorities, domains, inputs)."""

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
    poll,
    poll_one,
    register_task_defs,
    register_workflow,
    run_task,
    simple,
    start,
    status,
    update,
    wait_status,
    wait_task,
    workflow,
)

if TYPE_CHECKING:
    from conftest import Clocked

T = "/api/tasks"


# --- poll -----------------------------------------------------------------------------------------


async def test_poll_when_empty(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{T}/poll/nothing", params={"workerid": "w"})
    assert response.status_code == 204 and response.content == b""
    response = await client.get(f"{T}/poll/batch/nothing", params={"workerid": "w", "count": 5, "timeout": 0})
    assert response.status_code == 200 and response.json() == []
    response = await client.get(f"{T}/poll/batch/nothing")  # all defaults
    assert response.status_code == 200 and response.json() == []


async def test_poll_timeout_over_5000_is_400(client: httpx.AsyncClient) -> None:
    assert_error(
        await client.get(f"{T}/poll/batch/a", params={"timeout": 5001}),
        400,
        "Long Poll Timeout value cannot be more than 5 seconds",
    )
    await chain(client, "wf", "a")
    await start(client, "wf")
    response = await client.get(
        f"{T}/poll/batch/a",
        params={"timeout": 5000, "count": 1},
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200 and len(response.json()) == 1  # 5000 itself is allowed


async def test_poll_single_returns_task_in_progress(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    wid = await start(client, "wf", {"n": 1}, correlationId="c")
    response = await client.get(f"{T}/poll/a", params={"workerid": "w-7", "domain": ""})
    assert response.status_code == 200
    task = response.json()
    assert task["status"] == "IN_PROGRESS" and task["workflowInstanceId"] == wid and task["workerId"] == "w-7"
    assert task["pollCount"] == 1 and task["startTime"] >= task["scheduledTime"] > 0
    assert (
        task["taskDefName"] == "a" and task["responseTimeoutSeconds"] == 3600 and task["correlationId"] == "c"
    )
    assert (await client.get(f"{T}/poll/a")).status_code == 204  # delivered once
    stored = (await client.get(f"{T}/{task['taskId']}")).json()
    assert stored["status"] == "IN_PROGRESS" and stored["workerId"] == "w-7"


async def test_batch_poll_count(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    ids = {await start(client, "wf") for _ in range(5)}
    first = await poll(client, "a", count=3)
    rest = await poll(client, "a", count=10)
    assert len(first) == 3 and len(rest) == 2
    assert {t["workflowInstanceId"] for t in first + rest} == ids


async def test_long_poll_is_woken_by_a_start(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    began = time.monotonic()
    waiting = asyncio.create_task(client.get(f"{T}/poll/batch/a", params={"workerid": "w", "timeout": 2000}))
    await asyncio.sleep(0.1)
    wid = await start(client, "wf")
    response = await waiting
    elapsed = time.monotonic() - began
    assert response.status_code == 200
    assert [t["workflowInstanceId"] for t in response.json()] == [wid]
    assert elapsed < 1.0, elapsed  # woken by the enqueue, well before the 2 s timeout


async def test_long_poll_times_out_empty(client: httpx.AsyncClient) -> None:
    began = time.monotonic()
    response = await client.get(f"{T}/poll/batch/a", params={"workerid": "w", "timeout": 300})
    elapsed = time.monotonic() - began
    assert response.status_code == 200 and response.json() == []
    assert 0.25 <= elapsed < 2.0, elapsed


async def test_long_poll_ignores_other_queues(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "b")
    began = time.monotonic()
    waiting = asyncio.create_task(client.get(f"{T}/poll/batch/a", params={"timeout": 400}))
    await asyncio.sleep(0.05)
    await start(client, "wf")
    assert (await waiting).json() == []
    assert time.monotonic() - began >= 0.35
    assert len(await poll(client, "b")) == 1


# --- update ---------------------------------------------------------------------------------------


async def test_update_missing_ids_is_400(client: httpx.AsyncClient) -> None:
    errors = assert_validation(await client.post(T, json={"status": "COMPLETED"}))
    assert {(e["path"], e["message"]) for e in errors} == {
        ("updateTask.taskResult.workflowInstanceId", "Workflow Id cannot be null or empty"),
        ("updateTask.taskResult.taskId", "Task ID cannot be null or empty"),
    }
    errors = assert_validation(await client.post(T, json={"workflowInstanceId": "w", "taskId": ""}))
    assert [e["message"] for e in errors] == ["Task ID cannot be null or empty"]
    assert_validation(await client.post(f"{T}/update-v2", json={}))


async def test_update_unknown_workflow_or_task_is_404(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    wid = await start(client, "wf")
    assert_error(
        await client.post(T, json={"workflowInstanceId": "nope", "taskId": "t", "status": "COMPLETED"}),
        404,
        "No such workflow found by id: nope",
    )
    assert_error(
        await client.post(T, json={"workflowInstanceId": wid, "taskId": "ghost", "status": "COMPLETED"}),
        404,
        "No such task found by id: ghost",
    )
    assert_error(
        await client.post(
            f"{T}/update-v2", json={"workflowInstanceId": wid, "taskId": "ghost", "status": "COMPLETED"}
        ),
        404,
        "No such task found by id: ghost",
    )
    # a task of another workflow is not found through this one
    other = await start(client, "wf")
    foreign = next(t for t in (await workflow(client, other))["tasks"])
    assert_error(
        await client.post(
            T, json={"workflowInstanceId": wid, "taskId": foreign["taskId"], "status": "COMPLETED"}
        ),
        404,
    )


async def test_update_returns_task_id_as_text(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a", outputParameters={"v": "${a.output.v}"})
    wid = await start(client, "wf")
    task = await poll_one(client, "a")
    response = await client.post(
        T,
        json={
            "workflowInstanceId": wid,
            "taskId": task["taskId"],
            "status": "COMPLETED",
            "outputData": {"v": 3},
            "workerId": "w",
            "logs": [{"log": "did it", "createdTime": 1_700_000_000}],
            "extendLease": False,
        },
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert response.text == task["taskId"]
    body = await workflow(client, wid)
    assert body["status"] == "COMPLETED" and body["output"] == {"v": 3}
    logs = (await client.get(f"{T}/{task['taskId']}/log")).json()
    assert [(entry["log"], entry["createdTime"]) for entry in logs] == [("did it", 1_700_000_000_000)]


async def test_update_of_terminal_task_is_silent_200(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a", "b")
    wid = await start(client, "wf")
    task = await poll_one(client, "a")
    await update(client, task, output={"first": True})
    response = await client.post(
        T,
        json={
            "workflowInstanceId": wid,
            "taskId": task["taskId"],
            "status": "FAILED",
            "outputData": {"second": True},
        },
    )
    assert response.status_code == 200
    stored = (await client.get(f"{T}/{task['taskId']}")).json()
    assert stored["status"] == "COMPLETED" and stored["outputData"] == {"first": True}
    # a task of a terminal workflow, too
    await client.delete(f"/api/workflow/{wid}")
    b = by_ref(await workflow(client, wid), "b")[0]
    response = await client.post(
        T, json={"workflowInstanceId": wid, "taskId": b["taskId"], "status": "COMPLETED"}
    )
    assert response.status_code == 200
    assert (await client.get(f"{T}/{b['taskId']}")).json()["status"] == "CANCELED"
    assert await status(client, wid) == "TERMINATED"


async def test_update_with_unsettable_status_is_400(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    wid = await start(client, "wf")
    task = await poll_one(client, "a")
    for bad in ("SCHEDULED", "SKIPPED", "NOT_A_STATUS"):
        response = await client.post(
            T, json={"workflowInstanceId": wid, "taskId": task["taskId"], "status": bad}
        )
        assert_error(response, 400)
    assert (await client.get(f"{T}/{task['taskId']}")).json()["status"] == "IN_PROGRESS"


async def test_update_v2_returns_next_task_or_204(client: httpx.AsyncClient) -> None:
    await register_task_defs(client, {"name": "a", "retryCount": 0}, {"name": "b", "retryCount": 0})
    await register_workflow(client, "wf", [simple("a", "a1"), simple("a", "a2"), simple("b")])
    wid = await start(client, "wf")
    first = await poll_one(client, "a", worker="w1")
    response = await client.post(
        f"{T}/update-v2",
        json={"workflowInstanceId": wid, "taskId": first["taskId"], "status": "COMPLETED", "workerId": "w1"},
    )
    assert response.status_code == 200
    second = response.json()
    assert (
        second["referenceTaskName"] == "a2"
        and second["status"] == "IN_PROGRESS"
        and second["workerId"] == "w1"
    )
    # an IN_PROGRESS report answers 204 and hands nothing out
    response = await client.post(
        f"{T}/update-v2",
        json={
            "workflowInstanceId": wid,
            "taskId": second["taskId"],
            "status": "IN_PROGRESS",
            "callbackAfterSeconds": 0,
        },
    )
    assert response.status_code == 204 and response.content == b""
    again = await poll_one(client, "a")
    assert again["taskId"] == second["taskId"]
    # the next task is of another type: 204, and it waits in its own queue
    response = await client.post(
        f"{T}/update-v2", json={"workflowInstanceId": wid, "taskId": again["taskId"], "status": "COMPLETED"}
    )
    assert response.status_code == 204 and response.content == b""
    assert (await poll_one(client, "b"))["referenceTaskName"] == "b"


async def test_update_by_reference_name(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a", "b", outputParameters={"x": "${a.output.x}", "y": "${b.output.y}"})
    wid = await start(client, "wf")
    task = (await workflow(client, wid))["tasks"][0]
    response = await client.post(f"{T}/{wid}/a/COMPLETED", json={"x": 1}, params={"workerid": "w"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert response.text == task["taskId"]
    assert (await client.get(f"{T}/{task['taskId']}")).json()["outputData"] == {"x": 1}
    # no pending task with that ref: empty 200
    response = await client.post(f"{T}/{wid}/a/COMPLETED", json={})
    assert response.status_code == 200 and response.content == b""
    response = await client.post(f"{T}/{wid}/b/completed/sync", json={"y": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["workflowId"] == wid and body["status"] == "COMPLETED" and body["output"] == {"x": 1, "y": 2}
    assert [t["status"] for t in body["tasks"]] == ["COMPLETED", "COMPLETED"]
    assert_error(
        await client.post(f"{T}/{wid}/b/COMPLETED/sync", json={}),
        404,
        f"Found no running task b of workflow {wid} to update",
    )
    assert_error(
        await client.post(f"{T}/nope/b/COMPLETED", json={}), 404, "No such workflow found by id: nope"
    )
    assert_error(await client.post(f"{T}/nope/b/COMPLETED/sync", json={}), 404)
    body = assert_error(await client.post(f"{T}/{wid}/b/BOGUS", json={}), 400)
    assert "BOGUS" in body["message"]


async def test_update_by_reference_name_failed(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    wid = await start(client, "wf")
    assert (await client.post(f"{T}/{wid}/a/FAILED", json={"why": "no"})).status_code == 200
    body = await workflow(client, wid)
    assert body["status"] == "FAILED" and body["failedReferenceTaskNames"] == ["a"]


# --- task reads and logs --------------------------------------------------------------------------


async def test_get_task_404(client: httpx.AsyncClient) -> None:
    assert_error(await client.get(f"{T}/missing"), 404, "Task not found for taskId: missing")


async def test_task_logs(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    await start(client, "wf")
    task = await poll_one(client, "a")
    tid = task["taskId"]
    response = await client.get(f"{T}/{tid}/log")
    assert response.status_code == 204 and response.content == b""
    for text in ('hello \\"x\\', "second line"):
        response = await client.post(
            f"{T}/{tid}/log", content=text.encode(), headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 200 and response.content == b""
    logs = (await client.get(f"{T}/{tid}/log")).json()
    assert [entry["log"] for entry in logs] == ['hello \\"x\\', "second line"]
    assert all(entry["taskId"] == tid and entry["createdTime"] > 0 for entry in logs)


# --- queues and poll data -------------------------------------------------------------------------


async def test_queue_sizes(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    await register_workflow(client, "wf2", [simple("b")])
    for _ in range(3):
        await start(client, "wf")
    await start(client, "wf2")
    sizes = (
        await client.get(
            f"{T}/queue/sizes", params=[("taskType", "a"), ("taskType", "b"), ("taskType", "zzz")]
        )
    ).json()
    assert sizes == {"a": 3, "b": 1, "zzz": 0}
    assert (await client.get(f"{T}/queue/size", params={"taskType": "a"})).json() == 3
    assert (await client.get(f"{T}/queue/size", params={"taskType": "a", "domain": "d"})).json() == 0
    everything = (await client.get(f"{T}/queue/all")).json()
    assert everything["a"] == 3 and everything["b"] == 1
    assert list(everything) == sorted(everything)
    verbose = (await client.get(f"{T}/queue/all/verbose")).json()
    assert sum(shard["size"] for shard in verbose["a"].values()) == 3
    await poll(client, "a", count=2)
    assert (await client.get(f"{T}/queue/size", params={"taskType": "a"})).json() == 1


async def test_poll_data(client: httpx.AsyncClient) -> None:
    await poll(client, "a", worker="w1")
    await poll(client, "a", worker="w2", domain="d1")
    await poll(client, "b", worker="w3")
    found = (await client.get(f"{T}/queue/polldata", params={"taskType": "a"})).json()
    assert sorted((p["queueName"], p.get("domain"), p["workerId"]) for p in found) == [
        ("a", None, "w1"),
        ("d1:a", "d1", "w2"),
    ]
    assert all(isinstance(p["lastPollTime"], int) and p["lastPollTime"] > 0 for p in found)
    everything = (await client.get(f"{T}/queue/polldata/all")).json()
    assert {p["queueName"] for p in everything} == {"a", "d1:a", "b"}


async def test_queue_overview_has_depth_age_and_pollers(client: httpx.AsyncClient) -> None:
    """Podium's own `GET /api/tasks/queue/overview` (what `podium queues` and the UI show)."""
    await chain(client, "wf", "a")
    for _ in range(2):
        await start(client, "wf")
    await poll(client, "b", worker="w9")
    found = {q["queueName"]: q for q in (await client.get(f"{T}/queue/overview")).json()}
    assert found["a"]["depth"] == 2 and found["a"]["oldestAgeMs"] >= 0 and found["a"]["pollers"] == []
    assert found["b"]["depth"] == 0 and [p["workerId"] for p in found["b"]["pollers"]] == ["w9"]
    assert found["b"]["taskType"] == "b" and found["b"]["domain"] is None


async def test_requeue_returns_a_count_as_text(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    await start(client, "wf")
    response = await client.post(f"{T}/queue/requeue/a", json={})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert response.text == "0"  # nothing lost, nothing re-pushed
    assert (await client.get(f"{T}/queue/size", params={"taskType": "a"})).json() == 1


async def test_admin_pending_tasks(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    for _ in range(3):
        await start(client, "wf")
    found = (await client.get("/api/admin/task/a", params={"start": 0, "count": 2})).json()
    assert len(found) == 2 and all(t["taskType"] == "a" for t in found)


# --- task search ----------------------------------------------------------------------------------


async def test_task_search(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a", "b")
    wid = await start(client, "wf")
    await run_task(client, "a", output={"k": "needle"})
    other = await start(client, "wf")
    result = (await client.get(f"{T}/search", params={"query": "taskType = a"})).json()
    assert result["totalHits"] == 2
    summary = next(r for r in result["results"] if r["workflowId"] == wid)
    assert (
        summary["status"] == "COMPLETED"
        and summary["taskType"] == "a"
        and summary["output"] == '{"k":"needle"}'
    )
    assert summary["scheduledTime"].endswith("Z")
    result = (
        await client.get(f"{T}/search", params={"query": f"taskType = a AND workflowId = {other}"})
    ).json()
    assert result["totalHits"] == 1 and result["results"][0]["status"] == "SCHEDULED"
    result = (
        await client.get(
            f"{T}/search",
            params={"query": "status IN (SCHEDULED, COMPLETED)", "sort": "scheduledTime:ASC", "size": 2},
        )
    ).json()
    assert result["totalHits"] == 3 and len(result["results"]) == 2
    full = (await client.get(f"{T}/search-v2", params={"query": "taskType = b"})).json()
    assert full["totalHits"] == 1 and full["results"][0]["inputData"] == {} and "taskId" in full["results"][0]
    body = assert_error(await client.get(f"{T}/search", params={"query": "color = red"}), 400)
    assert "color" in body["message"]
    assert_error(await client.get(f"{T}/search", params={"size": 5001}), 400)
    result = (await client.get(f"{T}/search?start=&size=&sort=&freeText=&query=")).json()
    assert result["totalHits"] == 3


# --- engine semantics with a fake clock -------------------------------------------------------------


async def _assert_not_before(clocked: Clocked, task_type: str, delay_ms: int) -> dict[str, Any]:
    """Nothing is pollable until `delay_ms` from now; then exactly one task is."""
    client = clocked.client
    assert await poll(client, task_type) == []
    if delay_ms > 1:
        clocked.clock.advance(delay_ms - 1)
        assert await poll(client, task_type) == []
    clocked.clock.advance(1 if delay_ms >= 1 else 0)
    return await poll_one(client, task_type)


async def _retry_delays(clocked: Clocked, task_def: dict[str, Any], attempts: int) -> list[int]:
    """Fail the task `attempts` times; measure (with the clock) when each retry became pollable."""
    client = clocked.client
    await chain(client, "wf", "a", task_def=task_def)
    wid = await start(client, "wf")
    task = await poll_one(client, "a")
    delays = []
    for _ in range(attempts):
        await update(client, task, "FAILED", reasonForIncompletion="try again")
        waited = 0
        while True:
            found = await poll(client, "a")
            if found:
                task = found[0]
                break
            clocked.clock.advance(1000)
            waited += 1000
            assert waited <= 600_000
        delays.append(waited)
    assert await status(client, wid) == "RUNNING"
    return delays


async def test_retry_fixed(clocked: Clocked) -> None:
    client = clocked.client
    await chain(client, "wf", "a", task_def={"retryCount": 2, "retryDelaySeconds": 10, "retryLogic": "FIXED"})
    wid = await start(client, "wf")
    task = await poll_one(client, "a")
    await update(client, task, "FAILED", reasonForIncompletion="first")
    second = await _assert_not_before(clocked, "a", 10_000)
    assert second["retryCount"] == 1 and second["retriedTaskId"] == task["taskId"]
    assert second["inputData"] == task["inputData"]
    await update(client, second, "FAILED")
    third = await _assert_not_before(clocked, "a", 10_000)
    assert third["retryCount"] == 2
    await update(client, third, "FAILED", reasonForIncompletion="last")
    body = await workflow(client, wid)
    assert body["status"] == "FAILED"
    assert [(t["retryCount"], t["status"], t["retried"]) for t in body["tasks"]] == [
        (0, "FAILED", True),
        (1, "FAILED", True),
        (2, "FAILED", False),
    ]
    assert (
        body["reasonForIncompletion"]
        == f"Task {third['taskId']} failed with status: FAILED and reason: 'last'"
    )
    assert body["failedReferenceTaskNames"] == ["a"] and body["failedTaskNames"] == ["a"]


async def test_retry_linear_backoff(clocked: Clocked) -> None:
    delays = await _retry_delays(
        clocked,
        {"retryCount": 3, "retryDelaySeconds": 2, "backoffScaleFactor": 3, "retryLogic": "LINEAR_BACKOFF"},
        3,
    )
    assert delays == [6_000, 12_000, 18_000]


async def test_retry_exponential_backoff(clocked: Clocked) -> None:
    delays = await _retry_delays(
        clocked, {"retryCount": 4, "retryDelaySeconds": 2, "retryLogic": "EXPONENTIAL_BACKOFF"}, 4
    )
    assert delays == [2_000, 4_000, 8_000, 16_000]


async def test_retry_delay_capped_by_max_retry_delay(clocked: Clocked) -> None:
    delays = await _retry_delays(
        clocked,
        {
            "retryCount": 4,
            "retryDelaySeconds": 2,
            "maxRetryDelaySeconds": 5,
            "retryLogic": "EXPONENTIAL_BACKOFF",
        },
        4,
    )
    assert delays == [2_000, 4_000, 5_000, 5_000]


async def test_retry_exact_boundary(clocked: Clocked) -> None:
    client = clocked.client
    await chain(
        client,
        "wf",
        "a",
        task_def={"retryCount": 1, "retryDelaySeconds": 3, "retryLogic": "EXPONENTIAL_BACKOFF"},
    )
    await start(client, "wf")
    await update(client, await poll_one(client, "a"), "FAILED")
    retried = await _assert_not_before(clocked, "a", 3_000)
    assert retried["retryCount"] == 1 and retried["startDelayInSeconds"] == 3


async def test_failed_with_terminal_error_is_not_retried(clocked: Clocked) -> None:
    client = clocked.client
    await chain(client, "wf", "a", task_def={"retryCount": 3, "retryDelaySeconds": 0})
    wid = await start(client, "wf")
    await update(
        client, await poll_one(client, "a"), "FAILED_WITH_TERMINAL_ERROR", reasonForIncompletion="fatal"
    )
    body = await workflow(client, wid)
    assert body["status"] == "FAILED" and len(body["tasks"]) == 1


async def test_workflow_task_retry_count_overrides_task_def(clocked: Clocked) -> None:
    client = clocked.client
    await register_task_defs(client, {"name": "a", "retryCount": 5, "retryDelaySeconds": 0})
    await register_workflow(client, "wf", [simple("a", retryCount=0)])
    wid = await start(client, "wf")
    await update(client, await poll_one(client, "a"), "FAILED")
    assert await status(client, wid) == "FAILED"


async def test_no_task_def_means_no_retries(clocked: Clocked) -> None:
    client = clocked.client
    await register_workflow(client, "wf", [simple("undefined_type")])
    wid = await start(client, "wf")
    task = await poll_one(client, "undefined_type")
    assert task["responseTimeoutSeconds"] == 3600
    await update(client, task, "FAILED")
    assert await status(client, wid) == "FAILED"


async def test_optional_task_failure_completes_with_errors(clocked: Clocked) -> None:
    client = clocked.client
    await register_task_defs(client, {"name": "a", "retryCount": 0}, {"name": "b", "retryCount": 0})
    await register_workflow(client, "wf", [simple("a", optional=True), simple("b")])
    wid = await start(client, "wf")
    await update(client, await poll_one(client, "a"), "FAILED", reasonForIncompletion="meh")
    body = await workflow(client, wid)
    assert body["status"] == "RUNNING"
    assert [(t["referenceTaskName"], t["status"]) for t in body["tasks"]] == [
        ("a", "COMPLETED_WITH_ERRORS"),
        ("b", "SCHEDULED"),
    ]
    await run_task(client, "b")
    body = await workflow(client, wid)
    assert body["status"] == "COMPLETED" and "a" in body["failedReferenceTaskNames"]


async def test_optional_task_is_retried_first(clocked: Clocked) -> None:
    client = clocked.client
    await register_task_defs(client, {"name": "a", "retryCount": 1, "retryDelaySeconds": 0})
    await register_workflow(client, "wf", [simple("a", optional=True)])
    wid = await start(client, "wf")
    await update(client, await poll_one(client, "a"), "FAILED")
    retried = await poll_one(client, "a")
    assert retried["retryCount"] == 1
    await update(client, retried, "FAILED")
    body = await workflow(client, wid)
    assert body["status"] == "COMPLETED"
    assert [t["status"] for t in body["tasks"]] == ["FAILED", "COMPLETED_WITH_ERRORS"]


async def test_permissive_task_failure_continues_then_fails(clocked: Clocked) -> None:
    client = clocked.client
    await register_task_defs(client, {"name": "a", "retryCount": 0}, {"name": "b", "retryCount": 0})
    await register_workflow(client, "wf", [simple("a", permissive=True), simple("b")])
    wid = await start(client, "wf")
    await update(client, await poll_one(client, "a"), "FAILED", reasonForIncompletion="soft")
    body = await workflow(client, wid)
    assert body["status"] == "RUNNING" and by_ref(body, "a")[0]["status"] == "FAILED"
    await run_task(client, "b", output={"b": 1})
    body = await workflow(client, wid)
    assert body["status"] == "FAILED" and "a" in body["reasonForIncompletion"]
    assert body["failedReferenceTaskNames"] == ["a"]
    assert by_ref(body, "b")[0]["status"] == "COMPLETED"


async def test_failure_workflow_started_with_documented_input(clocked: Clocked) -> None:
    client = clocked.client
    await register_task_defs(client, {"name": "a", "retryCount": 0}, {"name": "handler", "retryCount": 0})
    await register_workflow(client, "on_fail", [simple("handler")])
    await register_workflow(client, "main", [simple("a")], failureWorkflow="on_fail")
    wid = await start(client, "main", {"order": 7}, correlationId="corr-1", taskToDomain={"other": "x"})
    task = await poll_one(client, "a")
    await update(client, task, "FAILED", reasonForIncompletion="card declined")
    failed = await workflow(client, wid)
    assert failed["status"] == "FAILED"
    child_id = failed["output"]["conductor.failure_workflow"]
    child = await workflow(client, child_id)
    assert child["workflowName"] == "on_fail" and child["status"] == "RUNNING"
    assert child["correlationId"] == "corr-1" and child["taskToDomain"] == {"other": "x"}
    data = child["input"]
    assert data["order"] == 7 and data["workflowId"] == wid and data["failureStatus"] == "FAILED"
    assert data["failureTaskId"] == task["taskId"]
    assert data["reason"] == failed["reasonForIncompletion"] and "card declined" in data["reason"]
    assert data["failedWorkflow"]["workflowId"] == wid
    assert [t["taskId"] for t in data["failedWorkflow"]["tasks"]] == [task["taskId"]]
    assert (await poll_one(client, "handler"))["workflowInstanceId"] == child_id


async def test_failure_workflow_name_from_input_and_missing_definition(clocked: Clocked) -> None:
    client = clocked.client
    await register_task_defs(client, {"name": "a", "retryCount": 0}, {"name": "handler", "retryCount": 0})
    await register_workflow(client, "on_fail", [simple("handler")])
    await register_workflow(client, "main", [simple("a")], failureWorkflow="${workflow.input.fw}")
    wid = await start(client, "main", {"fw": "on_fail"})
    await update(client, await poll_one(client, "a"), "FAILED")
    child = (await workflow(client, wid))["output"]["conductor.failure_workflow"]
    assert (await workflow(client, child))["workflowName"] == "on_fail"

    wid = await start(client, "main", {"fw": "does_not_exist"})
    await update(client, await poll_one(client, "a"), "FAILED")
    body = await workflow(client, wid)
    assert body["status"] == "FAILED"
    assert "does_not_exist" in body["output"]["conductor.failure_workflow"]


async def test_response_timeout_times_out_then_retries(clocked: Clocked) -> None:
    client = clocked.client
    await chain(
        client, "wf", "a", task_def={"retryCount": 1, "retryDelaySeconds": 0, "responseTimeoutSeconds": 5}
    )
    wid = await start(client, "wf")
    task = await poll_one(client, "a")
    assert task["responseTimeoutSeconds"] == 5
    clocked.clock.advance(5_000)
    body = await wait_task(client, wid, lambda tasks: len(tasks) == 2)
    first, second = body["tasks"]
    assert first["status"] == "TIMED_OUT" and first["reasonForIncompletion"].startswith("responseTimeout: 5")
    assert second["status"] == "SCHEDULED" and second["retryCount"] == 1
    assert body["status"] == "RUNNING"
    # the worker that lost the lease reports late: ignored
    response = await client.post(
        T, json={"workflowInstanceId": wid, "taskId": task["taskId"], "status": "COMPLETED"}
    )
    assert response.status_code == 200
    assert (await client.get(f"{T}/{task['taskId']}")).json()["status"] == "TIMED_OUT"
    # the second attempt times out too, with no retries left: the workflow is TIMED_OUT
    await poll_one(client, "a")
    clocked.clock.advance(5_000)
    body = await wait_status(client, wid, "TIMED_OUT")
    assert [t["status"] for t in body["tasks"]] == ["TIMED_OUT", "TIMED_OUT"]


async def test_extend_lease_keeps_the_task_alive(clocked: Clocked) -> None:
    client = clocked.client
    await chain(client, "wf", "a", task_def={"retryCount": 0, "responseTimeoutSeconds": 5})
    wid = await start(client, "wf")
    task = await poll_one(client, "a")
    for _ in range(3):
        clocked.clock.advance(4_000)
        response = await client.post(
            T,
            json={
                "workflowInstanceId": wid,
                "taskId": task["taskId"],
                "status": "IN_PROGRESS",
                "extendLease": True,
            },
        )
        assert response.status_code == 200
    await asyncio.sleep(0.05)
    stored = (await client.get(f"{T}/{task['taskId']}")).json()
    assert stored["status"] == "IN_PROGRESS"  # 12 s after the poll, 4 s after the last heartbeat
    assert await poll(client, "a") == []  # a heartbeat does not hand the task back to the queue
    clocked.clock.advance(5_000)
    body = await wait_status(client, wid, "TIMED_OUT")
    assert body["tasks"][0]["status"] == "TIMED_OUT"


async def test_poll_timeout(clocked: Clocked) -> None:
    client = clocked.client
    await chain(
        client,
        "wf",
        "a",
        task_def={"retryCount": 1, "retryDelaySeconds": 0, "pollTimeoutSeconds": 3, "timeoutPolicy": "RETRY"},
    )
    wid = await start(client, "wf")
    clocked.clock.advance(3_000)
    body = await wait_task(client, wid, lambda tasks: len(tasks) == 2)
    assert (
        body["tasks"][0]["status"] == "TIMED_OUT"
        and "poll timed out" in body["tasks"][0]["reasonForIncompletion"]
    )
    assert body["tasks"][1]["status"] == "SCHEDULED"
    # polled in time, the next attempt is not timed out
    task = await poll_one(client, "a")
    clocked.clock.advance(10_000)
    await asyncio.sleep(0.05)
    assert (await client.get(f"{T}/{task['taskId']}")).json()["status"] == "IN_PROGRESS"


async def test_poll_timeout_default_policy_times_out_workflow(clocked: Clocked) -> None:
    client = clocked.client
    await chain(client, "wf", "a", task_def={"retryCount": 3, "pollTimeoutSeconds": 2})
    wid = await start(client, "wf")
    clocked.clock.advance(2_000)
    body = await wait_status(client, wid, "TIMED_OUT")
    assert [t["status"] for t in body["tasks"]] == ["TIMED_OUT"]


async def test_task_timeout_retry_policy(clocked: Clocked) -> None:
    client = clocked.client
    await chain(
        client,
        "wf",
        "a",
        task_def={
            "retryCount": 1,
            "retryDelaySeconds": 0,
            "timeoutSeconds": 10,
            "responseTimeoutSeconds": 10,
            "timeoutPolicy": "RETRY",
        },
    )
    wid = await start(client, "wf")
    await poll_one(client, "a")
    clocked.clock.advance(10_000)
    body = await wait_task(client, wid, lambda tasks: len(tasks) == 2)
    first = body["tasks"][0]
    assert first["status"] == "TIMED_OUT" and first["reasonForIncompletion"].startswith(
        "Task timed out after 10"
    )
    assert body["tasks"][1]["status"] == "SCHEDULED" and body["status"] == "RUNNING"


async def test_task_timeout_time_out_wf_policy(clocked: Clocked) -> None:
    client = clocked.client
    await chain(
        client,
        "wf",
        "a",
        "b",
        task_def={
            "retryCount": 3,
            "timeoutSeconds": 10,
            "responseTimeoutSeconds": 10,
            "timeoutPolicy": "TIME_OUT_WF",
        },
    )
    wid = await start(client, "wf")
    await poll_one(client, "a")
    clocked.clock.advance(10_000)
    body = await wait_status(client, wid, "TIMED_OUT")
    assert [t["status"] for t in body["tasks"]] == ["TIMED_OUT"]
    assert body["reasonForIncompletion"].startswith("Task timed out after 10 seconds")


async def test_task_timeout_clock_starts_at_first_poll(clocked: Clocked) -> None:
    client = clocked.client
    await chain(
        client,
        "wf",
        "a",
        task_def={
            "retryCount": 0,
            "timeoutSeconds": 10,
            "responseTimeoutSeconds": 10,
            "timeoutPolicy": "TIME_OUT_WF",
        },
    )
    wid = await start(client, "wf")
    clocked.clock.advance(60_000)  # waiting in the queue does not count
    await poll_one(client, "a")
    clocked.clock.advance(9_000)
    await asyncio.sleep(0.05)
    assert await status(client, wid) == "RUNNING"
    clocked.clock.advance(1_000)
    await wait_status(client, wid, "TIMED_OUT")


async def test_task_timeout_alert_only_policy(clocked: Clocked) -> None:
    client = clocked.client
    await chain(
        client,
        "wf",
        "a",
        task_def={
            "retryCount": 0,
            "timeoutSeconds": 10,
            "responseTimeoutSeconds": 10,
            "timeoutPolicy": "ALERT_ONLY",
        },
    )
    wid = await start(client, "wf")
    task = await poll_one(client, "a")
    clocked.clock.advance(6_000)
    await client.post(
        T,
        json={
            "workflowInstanceId": wid,
            "taskId": task["taskId"],
            "status": "IN_PROGRESS",
            "extendLease": True,
        },
    )
    clocked.clock.advance(5_000)  # past timeoutSeconds; the lease still holds
    await asyncio.sleep(0.1)
    assert (await client.get(f"{T}/{task['taskId']}")).json()["status"] == "IN_PROGRESS"
    assert await status(client, wid) == "RUNNING"
    await update(client, task)
    assert await status(client, wid) == "COMPLETED"


async def test_response_timeout_applies_even_with_alert_only(clocked: Clocked) -> None:
    client = clocked.client
    await chain(
        client,
        "wf",
        "a",
        task_def={
            "retryCount": 1,
            "retryDelaySeconds": 0,
            "timeoutSeconds": 10,
            "responseTimeoutSeconds": 10,
            "timeoutPolicy": "ALERT_ONLY",
        },
    )
    wid = await start(client, "wf")
    await poll_one(client, "a")
    clocked.clock.advance(10_000)
    body = await wait_task(client, wid, lambda tasks: len(tasks) == 2)
    assert body["tasks"][0]["status"] == "TIMED_OUT"
    assert body["tasks"][0]["reasonForIncompletion"].startswith("responseTimeout: 10")


async def test_workflow_timeout_time_out_wf(clocked: Clocked) -> None:
    client = clocked.client
    await chain(client, "wf", "a", timeoutSeconds=30, timeoutPolicy="TIME_OUT_WF")
    wid = await start(client, "wf")
    clocked.clock.advance(29_000)
    await asyncio.sleep(0.05)
    assert await status(client, wid) == "RUNNING"
    clocked.clock.advance(1_000)
    body = await wait_status(client, wid, "TIMED_OUT")
    assert body["tasks"][0]["status"] == "CANCELED"
    assert body["reasonForIncompletion"].startswith("Workflow timed out after 30 seconds")
    assert await poll(client, "a") == []


async def test_workflow_timeout_alert_only(clocked: Clocked) -> None:
    client = clocked.client
    await chain(client, "wf", "a", timeoutSeconds=30, timeoutPolicy="ALERT_ONLY")
    wid = await start(client, "wf")
    clocked.clock.advance(60_000)
    await asyncio.sleep(0.1)
    assert await status(client, wid) == "RUNNING"
    await run_task(client, "a")
    assert await status(client, wid) == "COMPLETED"


async def test_workflow_timeout_starts_failure_workflow(clocked: Clocked) -> None:
    client = clocked.client
    await register_task_defs(client, {"name": "a", "retryCount": 0}, {"name": "handler", "retryCount": 0})
    await register_workflow(client, "on_fail", [simple("handler")])
    await register_workflow(
        client, "wf", [simple("a")], timeoutSeconds=5, timeoutPolicy="TIME_OUT_WF", failureWorkflow="on_fail"
    )
    wid = await start(client, "wf")
    clocked.clock.advance(5_000)
    body = await wait_status(client, wid, "TIMED_OUT")
    child = await workflow(client, body["output"]["conductor.failure_workflow"])
    assert child["input"]["failureStatus"] == "TIMED_OUT" and child["input"]["workflowId"] == wid


async def test_callback_after_seconds(clocked: Clocked) -> None:
    client = clocked.client
    await chain(client, "wf", "a")
    wid = await start(client, "wf")
    task = await poll_one(client, "a")
    await update(client, task, "IN_PROGRESS", output={"progress": 50}, callbackAfterSeconds=30)
    stored = (await client.get(f"{T}/{task['taskId']}")).json()
    assert stored["status"] == "SCHEDULED" and stored["callbackAfterSeconds"] == 30
    assert stored["outputData"] == {"progress": 50}
    again = await _assert_not_before(clocked, "a", 30_000)
    assert (
        again["taskId"] == task["taskId"] and again["pollCount"] == 2 and again["callbackAfterSeconds"] == 0
    )
    assert again["status"] == "IN_PROGRESS"
    await update(client, again)
    assert await status(client, wid) == "COMPLETED"


async def test_concurrent_exec_limit(clocked: Clocked) -> None:
    client = clocked.client
    await chain(client, "wf", "a", task_def={"concurrentExecLimit": 2})
    for _ in range(3):
        await start(client, "wf")
    running = await poll(client, "a", count=5)
    assert len(running) == 2
    assert await poll(client, "a", count=5) == []
    clocked.clock.advance(120_000)
    assert await poll(client, "a", count=5) == []  # time alone does not free a slot
    await update(client, running[0])
    third = await poll(client, "a", count=5)
    assert len(third) == 1 and third[0]["taskId"] not in {t["taskId"] for t in running}


async def test_rate_limit_per_frequency(clocked: Clocked) -> None:
    client = clocked.client
    await chain(client, "wf", "a", task_def={"rateLimitPerFrequency": 2, "rateLimitFrequencyInSeconds": 10})
    for _ in range(3):
        await start(client, "wf")
    first = await poll(client, "a", count=5)
    assert len(first) == 2
    for task in first:
        await update(client, task)  # finishing does not free the window
    assert await poll(client, "a", count=5) == []
    clocked.clock.advance(5_000)
    assert await poll(client, "a", count=5) == []
    clocked.clock.advance(5_001)
    assert len(await poll(client, "a", count=5)) == 1


async def test_priority_orders_the_queue(clocked: Clocked) -> None:
    client = clocked.client
    await chain(client, "wf", "a")
    by_priority = {p: await start(client, "wf", priority=p) for p in (10, 99, 0, 50)}
    order = [(await poll_one(client, "a"))["workflowInstanceId"] for _ in range(4)]
    assert order == [by_priority[p] for p in (99, 50, 10, 0)]


async def test_a_batch_poll_answers_in_priority_order(clocked: Clocked) -> None:
    client = clocked.client
    await chain(client, "wf", "a")
    by_priority = {p: await start(client, "wf", priority=p) for p in (10, 99, 0, 50)}
    batch = await poll(client, "a", count=4)
    assert [t["workflowInstanceId"] for t in batch] == [by_priority[p] for p in (99, 50, 10, 0)]


async def test_task_to_domain_with_fail_over(clocked: Clocked) -> None:
    client = clocked.client
    await chain(client, "wf", "a")
    mapping = {"a": "d1,d2,NO_DOMAIN"}
    # nobody polls d1 or d2: the last entry wins, NO_DOMAIN = the plain queue
    plain = await start(client, "wf", taskToDomain=mapping)
    assert (await workflow(client, plain))["tasks"][0].get("domain") is None
    assert (await poll_one(client, "a"))["workflowInstanceId"] == plain
    # a worker polls d2: the first active domain of the list wins
    await poll(client, "a", domain="d2", worker="w-d2")
    routed = await start(client, "wf", taskToDomain=mapping)
    assert (await workflow(client, routed))["tasks"][0]["domain"] == "d2"
    assert await poll(client, "a") == []  # not visible without the domain
    assert (await client.get(f"{T}/queue/size", params={"taskType": "a", "domain": "d2"})).json() == 1
    task = await poll_one(client, "a", domain="d2")
    assert task["workflowInstanceId"] == routed and task["domain"] == "d2"
    # d2's worker has been quiet for more than 10 s: back to the fallback
    clocked.clock.advance(10_001)
    later = await start(client, "wf", taskToDomain=mapping)
    assert (await workflow(client, later))["tasks"][0].get("domain") is None


async def test_task_to_domain_wildcard_and_last_domain(clocked: Clocked) -> None:
    client = clocked.client
    await chain(client, "wf", "a")
    wid = await start(client, "wf", taskToDomain={"*": "only"})
    assert (await workflow(client, wid))["tasks"][0]["domain"] == "only"
    assert await poll(client, "a") == []
    assert (await poll_one(client, "a", domain="only"))["workflowInstanceId"] == wid
    wid = await start(client, "wf", taskToDomain={"*": "x", "a": "specific"})
    assert (await workflow(client, wid))["tasks"][0]["domain"] == "specific"


async def test_input_template_and_expressions(clocked: Clocked) -> None:
    client = clocked.client
    await register_task_defs(
        client,
        {"name": "a", "retryCount": 0},
        {"name": "b", "retryCount": 0, "inputTemplate": {"k": "default", "extra": [1, 2]}},
    )
    await register_workflow(
        client,
        "wf",
        [
            simple("a", inputParameters={"n": "${workflow.input.n}"}),
            simple(
                "b",
                inputParameters={
                    "k": "${workflow.input.k}",
                    "first": "${a.output.items[0].id}",
                    "oks": "${a.output.items[?(@.ok == true)].id}",
                    "text": "id-${a.output.items[1].id} of ${workflow.input.n}",
                    "nested": {"list": ["${a.output.items[1].id}", "lit"], "whole": "${a.output.meta}"},
                    "missing": "${a.output.nope}",
                    "corr": "${workflow.correlationId}",
                    "wfid": "${workflow.workflowId}",
                    "status": "${a.status}",
                    "escaped": "$${not.resolved}",
                },
            ),
        ],
        inputTemplate={"n": 0, "region": "eu"},
        outputParameters={
            "sum": "${b.output.sum}",
            "ids": "${a.output.items[*].id}",
            "region": "${workflow.input.region}",
        },
    )
    wid = await start(client, "wf", {"n": 3}, correlationId="cc")
    body = await workflow(client, wid)
    assert body["input"] == {"n": 3, "region": "eu"}  # inputTemplate fills absent keys only
    a = await poll_one(client, "a")
    assert a["inputData"] == {"n": 3}
    await update(
        client,
        a,
        output={
            "items": [{"id": 1, "ok": True}, {"id": 2, "ok": False}, {"id": 3, "ok": True}],
            "meta": {"m": 1},
        },
    )
    b = await poll_one(client, "b")
    data = b["inputData"]
    assert data["k"] == "default"  # resolved to null, then filled from the TaskDef inputTemplate
    assert data["extra"] == [1, 2]
    assert data["first"] == 1
    assert data["oks"] == [1, 3]
    assert data["text"] == "id-2 of 3"
    assert data["nested"] == {"list": [2, "lit"], "whole": {"m": 1}}
    assert data.get("missing") is None
    assert data["corr"] == "cc" and data["wfid"] == wid and data["status"] == "COMPLETED"
    assert data["escaped"] == "${not.resolved}"
    await update(client, b, output={"sum": 6})
    body = await workflow(client, wid)
    assert body["status"] == "COMPLETED"
    assert body["output"] == {"sum": 6, "ids": [1, 2, 3], "region": "eu"}


async def test_given_input_wins_over_task_input_template(clocked: Clocked) -> None:
    client = clocked.client
    await register_task_defs(client, {"name": "b", "retryCount": 0, "inputTemplate": {"k": "default"}})
    await register_workflow(client, "wf", [simple("b", inputParameters={"k": "${workflow.input.k}"})])
    await start(client, "wf", {"k": "given"})
    assert (await poll_one(client, "b"))["inputData"] == {"k": "given"}


async def test_workflow_output_defaults_to_last_task_output(clocked: Clocked) -> None:
    client = clocked.client
    await chain(client, "wf", "a", "b")
    wid = await start(client, "wf")
    await run_task(client, "a", output={"from": "a"})
    await run_task(client, "b", output={"from": "b"})
    assert (await workflow(client, wid))["output"] == {"from": "b"}


async def test_start_delay(clocked: Clocked) -> None:
    client = clocked.client
    await register_task_defs(client, {"name": "a", "retryCount": 0})
    await register_workflow(client, "wf", [simple("a", startDelay=20)])
    await start(client, "wf")
    task = await _assert_not_before(clocked, "a", 20_000)
    assert task["startDelayInSeconds"] == 20


async def test_long_poll_with_fake_clock_returns_after_real_timeout(clocked: Clocked) -> None:
    began = time.monotonic()
    response = await clocked.client.get(f"{T}/poll/batch/a", params={"timeout": 200})
    assert response.json() == [] and time.monotonic() - began >= 0.15
