"""`GET /api/workflow/{id}/explain` (issue 19, item 14): each blocker the engine knows, set up for
real on both backends, and checked against what the engine then does (a claim refused until the
time the answer names, and granted from then on)."""

from __future__ import annotations

from typing import Any

import httpx
from helpers import (
    assert_error,
    by_ref,
    chain,
    poll,
    poll_one,
    register_task_defs,
    register_workflow,
    simple,
    start,
    update,
    wait_status,
    wait_task,
    workflow,
)

from tests.conftest import Clocked


async def explain(client: httpx.AsyncClient, workflow_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/workflow/{workflow_id}/explain")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["workflowId"] == workflow_id and isinstance(body["message"], str) and body["message"]
    for blocker in body["blockers"]:
        assert isinstance(blocker["message"], str) and blocker["message"], blocker
    return body


def kinds(body: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(b["kind"], b.get("referenceTaskName")) for b in body["blockers"]]


def only(body: dict[str, Any], kind: str) -> dict[str, Any]:
    found = [b for b in body["blockers"] if b["kind"] == kind]
    assert len(found) == 1, body
    return found[0]


# --- queued tasks --------------------------------------------------------------------------------


async def test_no_worker_ever_polled_the_task_type_or_its_domain(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    wid = await start(client, "wf", taskToDomain={"a": "blue"})
    await poll(client, "a")  # polls the queue without a domain: not the task's
    body = await explain(client, wid)
    assert body["status"] == "RUNNING" and body["moving"] is False
    blocker = only(body, "NO_POLLER")
    assert kinds(body) == [("NO_POLLER", "a")]
    assert blocker["queueName"] == "blue:a" and blocker["domain"] == "blue" and blocker["lastPollTime"] is None
    assert blocker["taskId"] == (await workflow(client, wid))["tasks"][0]["taskId"]
    assert "a in domain blue" in blocker["message"]
    await poll_one(client, "a", domain="blue")  # what the answer asked for moves it
    assert (await explain(client, wid))["blockers"] == []


async def test_no_worker_has_polled_since_the_last_poll(clocked: Clocked) -> None:
    client, clock = clocked.client, clocked.clock
    await chain(client, "wf", "a")
    first, second = await start(client, "wf"), await start(client, "wf")
    polled_at = clock.now()
    claimed = await poll_one(client, "a", worker="w-9")
    assert claimed["workflowInstanceId"] == first
    body = await explain(client, second)  # a worker polls this queue: it will be claimed
    assert body["blockers"] == [] and body["moving"] is True
    clock.advance(11_000)
    body = await explain(client, second)
    blocker = only(body, "NO_POLLER")
    assert blocker["lastPollTime"] == polled_at and blocker["workerId"] == "w-9" and body["moving"] is False
    assert (await explain(client, first))["blockers"] == []  # running: nothing blocks it


async def test_concurrency_limit_held_names_its_holders(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "c", task_def={"concurrentExecLimit": 1})
    first, second = await start(client, "wf"), await start(client, "wf")
    held = await poll(client, "c", count=2)
    assert [t["workflowInstanceId"] for t in held] == [first]
    body = await explain(client, second)
    blocker = only(body, "CONCURRENCY_LIMIT")
    assert kinds(body) == [("CONCURRENCY_LIMIT", "c")]
    assert blocker["limit"] == 1 and blocker["holders"] == [held[0]["taskId"]] and body["moving"] is False
    await update(client, held[0])  # the holder ends: the slot is free
    assert (await explain(client, second))["blockers"] == []
    assert [t["workflowInstanceId"] for t in await poll(client, "c")] == [second]


async def test_rate_limit_names_when_its_window_reopens(clocked: Clocked) -> None:
    client, clock = clocked.client, clocked.clock
    await chain(client, "wf", "r", task_def={"rateLimitPerFrequency": 1, "rateLimitFrequencyInSeconds": 60})
    await start(client, "wf")
    second = await start(client, "wf")
    started_at = clock.now()
    await update(client, await poll_one(client, "r"))
    body = await explain(client, second)
    blocker = only(body, "RATE_LIMIT")
    assert blocker["until"] == started_at + 60_001 and blocker["limit"] == 1 and blocker["windowSeconds"] == 60
    clock.advance(blocker["until"] - clock.now() - 1)
    assert await poll(client, "r") == []  # the engine agrees: not a millisecond before
    assert "RATE_LIMIT" in [k for k, _ in kinds(await explain(client, second))]
    clock.advance(1)
    assert "RATE_LIMIT" not in [k for k, _ in kinds(await explain(client, second))]
    assert [t["workflowInstanceId"] for t in await poll(client, "r")] == [second]


async def test_retry_delay_and_callback_are_timers(clocked: Clocked) -> None:
    client, clock = clocked.client, clocked.clock
    await chain(client, "wf", "t", task_def={"retryCount": 1, "retryDelaySeconds": 30})
    wid = await start(client, "wf")
    await update(client, await poll_one(client, "t"), "FAILED")
    failed_at = clock.now()
    blocker = only(await explain(client, wid), "TIMER")
    assert blocker["cause"] == "RETRY_DELAY" and blocker["until"] == failed_at + 30_000
    clock.advance(29_999)
    assert await poll(client, "t") == []
    clock.advance(1)
    retried = await poll_one(client, "t")
    await update(client, retried, "IN_PROGRESS", callbackAfterSeconds=20)
    blocker = only(await explain(client, wid), "TIMER")
    assert blocker["cause"] == "CALLBACK" and blocker["until"] == clock.now() + 20_000
    assert blocker["taskId"] == retried["taskId"]


async def test_a_timed_wait_is_a_timer(clocked: Clocked) -> None:
    client, clock = clocked.client, clocked.clock
    await register_workflow(client, "timed", [
        {"name": "wait", "taskReferenceName": "w", "type": "WAIT", "inputParameters": {"duration": "1 minute"}}])
    wid = await start(client, "timed")
    body = await explain(client, wid)
    blocker = only(body, "TIMER")
    assert blocker["cause"] == "WAIT" and blocker["until"] == clock.now() + 60_000 and body["moving"] is False
    clock.advance(60_000)
    await wait_status(client, wid, "COMPLETED")


# --- waiting on something else -------------------------------------------------------------------


async def test_wait_and_human_wait_on_a_signal(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "signals", [
        {"name": "fork", "taskReferenceName": "f", "type": "FORK_JOIN", "forkTasks": [
            [{"name": "human", "taskReferenceName": "h", "type": "HUMAN"}],
            [{"name": "wait", "taskReferenceName": "w", "type": "WAIT"}]]},
        {"name": "join", "taskReferenceName": "j", "type": "JOIN", "joinOn": ["h", "w"]}])
    wid = await start(client, "signals")
    body = await explain(client, wid)
    signals = {b["referenceTaskName"]: b for b in body["blockers"] if b["kind"] == "SIGNAL"}
    assert signals["h"]["waitingFor"] == "HUMAN" and signals["w"]["waitingFor"] == "WAIT"
    assert body["moving"] is False
    join = only(body, "JOIN")
    assert [b["referenceTaskName"] for b in join["waitingOn"]] == ["h", "w"]
    response = await client.post(f"/api/tasks/{wid}/h/COMPLETED", json={"ok": True})
    assert response.status_code == 200, response.text
    body = await explain(client, wid)
    assert sorted(kinds(body)) == [("JOIN", "j"), ("SIGNAL", "w")]
    assert [(b["referenceTaskName"], b["status"]) for b in only(body, "JOIN")["waitingOn"]] == [("w", "IN_PROGRESS")]


async def test_join_lists_the_branches_not_yet_done(client: httpx.AsyncClient) -> None:
    await register_task_defs(client, {"name": "a", "retryCount": 0}, {"name": "b", "retryCount": 0},
                             {"name": "b2", "retryCount": 0})
    await register_workflow(client, "forked", [
        {"name": "fork", "taskReferenceName": "f", "type": "FORK_JOIN",
         "forkTasks": [[simple("a")], [simple("b"), simple("b2")]]},
        {"name": "join", "taskReferenceName": "j", "type": "JOIN", "joinOn": ["a", "b2"]}])
    wid = await start(client, "forked")
    await update(client, await poll_one(client, "a"))
    body = await explain(client, wid)
    wf = await workflow(client, wid)
    join = only(body, "JOIN")
    assert join["taskId"] == by_ref(wf, "j")[0]["taskId"]
    assert join["waitingOn"] == [{"referenceTaskName": "b2", "taskId": None, "status": "NOT_SCHEDULED"}]
    assert ("NO_POLLER", "b") in kinds(body)
    await update(client, await poll_one(client, "b"))
    join = only(await explain(client, wid), "JOIN")
    b2 = by_ref(await workflow(client, wid), "b2")[0]
    assert join["waitingOn"] == [{"referenceTaskName": "b2", "taskId": b2["taskId"], "status": "SCHEDULED"}]


async def test_sub_workflow_waits_on_its_child_and_a_paused_parent_is_named(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "child", [{"name": "human", "taskReferenceName": "h", "type": "HUMAN"}])
    await register_workflow(client, "parent", [{"name": "sub", "taskReferenceName": "s", "type": "SUB_WORKFLOW",
                                                "subWorkflowParam": {"name": "child"}}])
    wid = await start(client, "parent")
    wf = await wait_task(client, wid, lambda tasks: tasks and tasks[0].get("subWorkflowId"))
    child = wf["tasks"][0]["subWorkflowId"]
    blocker = only(await explain(client, wid), "SUB_WORKFLOW")
    assert blocker["subWorkflowId"] == child and blocker["subWorkflowStatus"] == "RUNNING"
    assert kinds(await explain(client, child)) == [("SIGNAL", "h")]
    assert (await client.put(f"/api/workflow/{child}/pause")).status_code == 200
    blocker = only(await explain(client, wid), "SUB_WORKFLOW")
    assert blocker["subWorkflowStatus"] == "PAUSED" and "PAUSED" in blocker["message"]
    assert (await client.put(f"/api/workflow/{wid}/pause")).status_code == 200
    paused = [b for b in (await explain(client, child))["blockers"] if b["kind"] == "PAUSED"]
    assert [b["workflowId"] for b in paused] == [child, wid]  # itself, then its parent
    assert "taskId" not in paused[0]


# --- the execution itself ------------------------------------------------------------------------


async def test_paused_execution(client: httpx.AsyncClient) -> None:
    await chain(client, "wf", "a")
    wid = await start(client, "wf")
    assert (await client.put(f"/api/workflow/{wid}/pause")).status_code == 200
    body = await explain(client, wid)
    assert body["status"] == "PAUSED" and body["moving"] is False and "paused" in body["message"]
    assert kinds(body) == [("PAUSED", None), ("NO_POLLER", "a")]
    assert only(body, "PAUSED")["workflowId"] == wid
    assert (await client.put(f"/api/workflow/{wid}/resume")).status_code == 200
    assert kinds(await explain(client, wid)) == [("NO_POLLER", "a")]


async def test_an_ended_execution_has_nothing_blocking(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "quick", [{"name": "noop", "taskReferenceName": "n", "type": "NOOP"}])
    wid = await start(client, "quick")
    await wait_status(client, wid, "COMPLETED")
    body = await explain(client, wid)
    assert body["status"] == "COMPLETED" and body["moving"] is False and body["blockers"] == []
    assert "ended COMPLETED" in body["message"] and "nothing" in body["message"]
    await chain(client, "wf", "a")
    stopped = await start(client, "wf")
    assert (await client.delete(f"/api/workflow/{stopped}", params={"reason": "enough"})).status_code == 200
    body = await explain(client, stopped)
    assert body["status"] == "TERMINATED" and body["blockers"] == []


async def test_an_archived_execution_is_explained_as_ended(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "quick", [{"name": "noop", "taskReferenceName": "n", "type": "NOOP"}])
    wid = await start(client, "quick")
    await wait_status(client, wid, "COMPLETED")
    assert (await client.delete(f"/api/workflow/{wid}/remove")).status_code == 200
    body = await explain(client, wid)
    assert body["status"] == "COMPLETED" and body["blockers"] == []


async def test_unknown_execution_is_404_in_conductor_shape(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/workflow/nope/explain"), 404, "No such workflow found by id: nope")
