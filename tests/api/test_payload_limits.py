"""No payload over `max_payload_bytes` is stored, whoever produced it (issue 13, item 4): an INLINE
script returning 50 MB once grew the database by 158 MB. Over the limit, the task fails
(FAILED_WITH_TERMINAL_ERROR, as Conductor fails a task whose payload passes its maximum) with a
reason naming the limit, without the payload; an execution fails or is refused the same way.

The limit is 64 KiB here; the request body limit is the same setting, so what passes it is made
larger by the server: results of scripts and jq, inputs and outputs that combine other payloads,
and numbers that a worker writes short (`1e15`) and JSON writes out in full."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from podium.app import create_app
from podium.settings import Settings
from podium.store import events as event_store
from tests.api.helpers import (
    chain,
    eventually,
    poll,
    poll_one,
    register_task_defs,
    register_workflow,
    simple,
    start,
    wait_status,
    workflow,
)
from tests.loopback import serve

LIMIT = 64 * 1024
SETTING = "max_payload_bytes"
BIG = LIMIT * 5 // 8  # one payload this large fits; two together do not


@dataclass
class Small:
    client: httpx.AsyncClient
    app: FastAPI


@pytest.fixture
async def small(db_url: str) -> AsyncIterator[Small]:
    app = create_app(Settings(database_url=db_url, max_payload_bytes=LIMIT))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://podium") as c:
            yield Small(c, app)


def inline(ref: str, expression: str, **inputs: Any) -> dict[str, Any]:
    return {"name": ref, "taskReferenceName": ref, "type": "INLINE",
            "inputParameters": {"evaluatorType": "javascript", "expression": expression, **inputs}}


def assert_refused(task: dict[str, Any], what: str = "output") -> None:
    assert task["status"] == "FAILED_WITH_TERMINAL_ERROR", task
    reason = task["reasonForIncompletion"]
    assert f"The {what} payload size: " in reason and f"permissible limit: {LIMIT} bytes ({SETTING})" in reason
    assert task["outputData" if what == "output" else "inputData"] == {}


async def assert_small(client: httpx.AsyncClient, workflow_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/workflow/{workflow_id}", params={"includeTasks": "true"})
    assert response.status_code == 200 and len(response.content) < LIMIT, len(response.content)
    body: dict[str, Any] = response.json()
    return body


# --- results the server computes ------------------------------------------------------------------


async def test_an_inline_result_over_the_limit_fails_its_task(small: Small) -> None:
    client = small.client
    await register_task_defs(client, {"name": "after", "retryCount": 0})
    await register_workflow(client, "huge_inline", [inline("big", f"'x'.repeat({LIMIT + 1})"), simple("after")])
    wid = await start(client, "huge_inline")
    done = await wait_status(client, wid, "FAILED")
    assert_refused(done["tasks"][0])
    assert [t["referenceTaskName"] for t in done["tasks"]] == ["big"]  # nothing followed from it
    assert "max_payload_bytes" in done["reasonForIncompletion"]
    await assert_small(client, wid)
    await register_workflow(client, "fine_inline", [inline("ok", f"'x'.repeat({LIMIT // 2})")])
    assert (await wait_status(client, await start(client, "fine_inline"), "COMPLETED"))["tasks"][0][
        "outputData"]["result"] == "x" * (LIMIT // 2)


async def test_a_jq_result_over_the_limit_fails_its_task(small: Small) -> None:
    client = small.client
    await register_workflow(client, "huge_jq", [
        {"name": "jq", "taskReferenceName": "jq", "type": "JSON_JQ_TRANSFORM",
         "inputParameters": {"queryExpression": f"[range(0; {LIMIT // 4})]"}}])
    done = await wait_status(client, await start(client, "huge_jq"), "FAILED")
    assert_refused(done["tasks"][0])


async def test_an_input_over_the_limit_fails_the_task_before_any_worker_sees_it(small: Small) -> None:
    client = small.client
    await register_task_defs(client, {"name": "consumer", "retryCount": 3})
    await register_workflow(client, "combined", [
        inline("a", f"'a'.repeat({BIG})"), inline("b", f"'b'.repeat({BIG})"),
        simple("consumer") | {"inputParameters": {"a": "${a.output.result}", "b": "${b.output.result}"}}])
    wid = await start(client, "combined")
    done = await wait_status(client, wid, "FAILED")
    assert_refused(done["tasks"][2], "input")
    assert len(done["tasks"]) == 3  # a terminal error: not retried
    assert await poll(client, "consumer") == []


async def test_a_workflow_output_over_the_limit_fails_the_workflow(small: Small) -> None:
    client = small.client
    await register_workflow(client, "big_out", [inline("a", f"'a'.repeat({BIG})"), inline("b", f"'b'.repeat({BIG})")],
                            outputParameters={"a": "${a.output.result}", "b": "${b.output.result}"})
    done = await wait_status(client, await start(client, "big_out"), "FAILED")
    assert done["output"] == {}
    assert done["reasonForIncompletion"].startswith("The output payload size: ")
    assert f"of workflow: {done['workflowId']}" in done["reasonForIncompletion"]
    assert [t["status"] for t in done["tasks"]] == ["COMPLETED", "COMPLETED"]


async def test_a_child_workflow_output_over_the_limit_fails_child_and_parent(small: Small) -> None:
    client = small.client
    await register_workflow(client, "child", [inline("a", f"'a'.repeat({BIG})"), inline("b", f"'b'.repeat({BIG})")],
                            outputParameters={"a": "${a.output.result}", "b": "${b.output.result}"})
    await register_workflow(client, "parent", [{"name": "child", "taskReferenceName": "child",
                                                "type": "SUB_WORKFLOW", "subWorkflowParam": {"name": "child"}}])
    parent = await wait_status(client, await start(client, "parent"), "FAILED", timeout=10)
    task = parent["tasks"][0]
    assert task["status"] == "FAILED" and "permissible limit" in task["reasonForIncompletion"]
    assert task["outputData"] == {"subWorkflowId": task["subWorkflowId"]}


async def test_set_variable_keeps_to_the_limit(small: Small) -> None:
    client = small.client
    await register_workflow(client, "vars", [
        inline("a", f"'a'.repeat({BIG})"), inline("b", f"'b'.repeat({BIG})"),
        {"name": "set", "taskReferenceName": "set", "type": "SET_VARIABLE",
         "inputParameters": {"a": "${a.output.result}", "b": "${b.output.result}"}}])
    done = await wait_status(client, await start(client, "vars"), "FAILED")
    assert done["variables"] == {}
    assert done["tasks"][2]["status"] == "FAILED_WITH_TERMINAL_ERROR"


# --- what workers and callers send ------------------------------------------------------------------


def short_numbers(body: dict[str, Any], key: str, body_bytes: int) -> str:
    """`body` as JSON with `key` holding about `body_bytes` of numbers that are stored about 3.6 times
    as large: 1e15 is four characters on the wire and eighteen in the stored JSON (1000000000000000.0)."""
    numbers = "[" + ", ".join(["1e15"] * (body_bytes // 6)) + "]"
    return json.dumps(body | {key: {"n": "NUMBERS"}}).replace('"NUMBERS"', numbers)


async def post_raw(client: httpx.AsyncClient, path: str, raw: str) -> httpx.Response:
    assert len(raw) < LIMIT  # within the request limit: the body is accepted
    return await client.post(path, content=raw.encode(), headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("path", ["/api/tasks", "/api/tasks/update-v2"])
async def test_a_worker_output_over_the_limit_fails_the_task(small: Small, path: str) -> None:
    client = small.client
    await chain(client, "work", "w", "next")
    wid = await start(client, "work")
    task = await poll_one(client, "w")
    raw = short_numbers({"workflowInstanceId": wid, "taskId": task["taskId"], "status": "COMPLETED"},
                        "outputData", LIMIT // 2)
    response = await post_raw(client, path, raw)
    assert response.status_code in (200, 204), response.text
    done = await workflow(client, wid)
    assert done["status"] == "FAILED"
    assert_refused(done["tasks"][0])
    assert await poll(client, "next") == []
    await assert_small(client, wid)


async def test_an_in_progress_update_over_the_limit_fails_the_task(small: Small) -> None:
    client = small.client
    await chain(client, "work", "w")
    wid = await start(client, "work")
    task = await poll_one(client, "w")
    raw = short_numbers({"workflowInstanceId": wid, "taskId": task["taskId"], "status": "IN_PROGRESS",
                         "callbackAfterSeconds": 0}, "outputData", LIMIT // 2)
    assert (await post_raw(client, "/api/tasks", raw)).status_code == 200
    done = await workflow(client, wid)
    assert done["status"] == "FAILED"
    assert_refused(done["tasks"][0])
    assert await poll(client, "w") == []  # off its queue


async def test_a_start_over_the_limit_is_refused_with_413(small: Small) -> None:
    client = small.client
    await chain(client, "work", "w")
    response = await post_raw(client, "/api/workflow", short_numbers({"name": "work"}, "input", LIMIT // 2))
    assert response.status_code == 413, response.text
    assert f"permissible limit: {LIMIT} bytes ({SETTING})" in response.json()["message"]
    found = (await client.get("/api/workflow/search", params={"query": "workflowType = work"})).json()
    assert found["totalHits"] == 0


async def test_an_http_response_over_the_limit_fails_the_task(small: Small) -> None:
    from starlette.responses import PlainTextResponse

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await PlainTextResponse("z" * (LIMIT * 2))(scope, receive, send)

    client = small.client
    with serve(app) as url:
        await register_workflow(client, "fetch", [
            {"name": "http", "taskReferenceName": "http", "type": "HTTP",
             "inputParameters": {"http_request": {"uri": f"{url}/big", "method": "GET"}}}])
        done = await wait_status(client, await start(client, "fetch"), "FAILED", timeout=10)
    assert done["tasks"][0]["status"] == "FAILED_WITH_TERMINAL_ERROR"
    assert "(max_payload_bytes)" in done["tasks"][0]["reasonForIncompletion"]  # the limit named
    await assert_small(client, done["workflowId"])


# --- events ----------------------------------------------------------------------------------------


async def test_an_event_over_the_limit_is_not_published(small: Small) -> None:
    client = small.client
    await register_workflow(client, "announcer", [
        inline("a", f"'a'.repeat({BIG})"), inline("b", f"'b'.repeat({BIG})"),
        {"name": "announce", "taskReferenceName": "announce", "type": "EVENT", "sink": "conductor:big",
         "inputParameters": {"a": "${a.output.result}", "b": "${b.output.result}"}}])
    done = await wait_status(client, await start(client, "announcer"), "FAILED")
    assert done["tasks"][2]["status"] == "FAILED_WITH_TERMINAL_ERROR"
    async with small.app.state.store.reader() as s:
        assert await event_store.queue_sizes(s) == {}


async def test_an_event_action_cannot_grow_variables_past_the_limit(small: Small) -> None:
    client = small.client
    await register_workflow(client, "holder", [{"name": "wait", "taskReferenceName": "w", "type": "WAIT"}])
    await register_workflow(client, "sender", [
        {"name": "send", "taskReferenceName": "send", "type": "EVENT", "sink": "conductor:grow",
         "inputParameters": {"target": "${workflow.input.target}", "chunk": "${workflow.input.chunk}"}}])
    await client.post("/api/event", json={
        "name": "grower", "event": "conductor:grow", "active": True, "actions": [
            {"action": "update_workflow_variables",
             "update_workflow_variables": {"workflowId": "${target}", "variables": {"log": ["${chunk}"]},
                                           "appendArray": True}}]})
    target = await start(client, "holder")
    for _ in range(5):  # the fifth would take the variables past the limit
        await start(client, "sender", {"target": target, "chunk": "c" * (LIMIT // 4 - 100)})

    async def failed() -> list[dict[str, Any]]:
        return list((await client.get("/api/event/executions", params={"status": "FAILED"})).json())

    refused = (await eventually(failed, timeout=5))[0]
    assert "permissible limit" in refused["output"]["error"]
    held = await workflow(client, target)
    assert held["status"] == "RUNNING" and len(held["variables"]["log"]) == 4


async def test_a_failure_workflow_gets_a_summary_when_the_failed_one_is_too_large(small: Small) -> None:
    client = small.client
    await register_workflow(client, "cleanup", [{"name": "noop", "taskReferenceName": "n", "type": "NOOP"}])
    await register_task_defs(client, {"name": "boom", "retryCount": 0})
    await register_workflow(client, "fails", [
        inline("a", f"'a'.repeat({BIG})"), inline("b", f"'b'.repeat({BIG})"), simple("boom")],
        failureWorkflow="cleanup")
    wid = await start(client, "fails")
    task = await poll_one(client, "boom", timeout=5_000)  # the scripts before it may run off the start path
    await client.post("/api/tasks", json={"workflowInstanceId": wid, "taskId": task["taskId"], "status": "FAILED"})
    failed = await wait_status(client, wid, "FAILED")
    cleanup_id = failed["output"]["conductor.failure_workflow"]
    cleanup = await wait_status(client, cleanup_id, "COMPLETED")
    summary = cleanup["input"]["failedWorkflow"]
    assert summary["workflowId"] == wid and "input" not in summary
    assert [t["referenceTaskName"] for t in summary["tasks"]] == ["a", "b", "boom"]
    assert all("outputData" not in t for t in summary["tasks"])
