"""WAIT, HUMAN, signals, execute stopping at blocking tasks, and HTTP tasks against a loopback server."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.api.helpers import register_workflow, wait_status, wait_task, workflow
from tests.conftest import Clocked
from tests.loopback import closed_port, serve

# --- WAIT and HUMAN ------------------------------------------------------------------------------


async def test_wait_with_a_duration_completes_when_its_time_comes(clocked: Clocked) -> None:
    client, clock = clocked.client, clocked.clock
    await register_workflow(client, "timed_wait", [
        {"name": "wait", "taskReferenceName": "w", "type": "WAIT", "inputParameters": {"duration": "1 minute"}},
        {"name": "noop", "taskReferenceName": "n", "type": "NOOP"}])
    wid = (await client.post("/api/workflow", json={"name": "timed_wait"})).text
    assert (await workflow(client, wid))["tasks"][0]["status"] == "IN_PROGRESS"
    clock.advance(59_000)
    await asyncio.sleep(0.05)
    assert (await workflow(client, wid))["status"] == "RUNNING"
    clock.advance(1_000)
    done = await wait_status(client, wid, "COMPLETED")
    assert [t["status"] for t in done["tasks"]] == ["COMPLETED", "COMPLETED"]


async def test_wait_refuses_bad_times_at_registration_and_at_run_time(client: httpx.AsyncClient) -> None:
    both = {"name": "wait", "taskReferenceName": "w", "type": "WAIT",
            "inputParameters": {"duration": "1s", "until": "2030-01-01 00:00"}}
    response = await client.post("/api/metadata/workflow", json={"name": "both_wait", "tasks": [both]})
    assert response.status_code == 400 and "only one input" in response.text
    await register_workflow(client, "bad_wait", [{"name": "wait", "taskReferenceName": "w", "type": "WAIT",
                                                  "inputParameters": {"duration": "${workflow.input.d}"}}])
    wid = (await client.post("/api/workflow", json={"name": "bad_wait", "input": {"d": "soon"}})).text
    wf = await workflow(client, wid)
    assert wf["status"] == "FAILED" and wf["tasks"][0]["status"] == "FAILED_WITH_TERMINAL_ERROR"
    assert wf["tasks"][0]["reasonForIncompletion"] == "Unable to parse duration: soon"


async def test_signal_completes_the_open_wait_even_in_a_sub_workflow(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "needs_human", [
        {"name": "approve", "taskReferenceName": "approve", "type": "HUMAN"},
        {"name": "wait", "taskReferenceName": "w", "type": "WAIT"}],
        outputParameters={"approved": "${approve.output.ok}", "note": "${w.output.note}"})
    await register_workflow(client, "outer", [{"name": "sub", "taskReferenceName": "sub", "type": "SUB_WORKFLOW",
                                               "subWorkflowParam": {"name": "needs_human"}}])
    wid = (await client.post("/api/workflow", json={"name": "outer"})).text
    await wait_task(client, wid, lambda ts: ts[0].get("subWorkflowId"))
    sync = await client.post(f"/api/tasks/{wid}/COMPLETED/signal/sync", json={"ok": True},
                             params={"returnStrategy": "BLOCKING_TASK", "timeoutMillis": 3000})
    assert sync.status_code == 200, sync.text
    answer = sync.json()
    assert answer["responseType"] == "BLOCKING_TASK" and answer["referenceTaskName"] == "w"
    assert answer["taskType"] == "WAIT" and answer["status"] == "IN_PROGRESS"
    response = await client.post(f"/api/tasks/{wid}/COMPLETED/signal", json={"note": "fine"})
    assert response.status_code == 200 and response.text == ""
    done = await wait_status(client, wid, "COMPLETED")
    assert done["tasks"][0]["outputData"]["approved"] is True and done["tasks"][0]["outputData"]["note"] == "fine"
    nothing = await client.post(f"/api/tasks/{wid}/COMPLETED/signal/sync", json={})
    assert nothing.status_code == 404
    assert nothing.json()["message"] == f"Found no blocked task in workflow {wid} to signal"
    assert (await client.post("/api/tasks/nope/COMPLETED/signal", json={})).status_code == 404


async def test_execute_stops_at_the_blocking_task(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "exec_wait", [
        {"name": "noop", "taskReferenceName": "n", "type": "NOOP"},
        {"name": "wait", "taskReferenceName": "w", "type": "WAIT"}])
    for strategy, expected in (("TARGET_WORKFLOW", "TARGET_WORKFLOW"), ("BLOCKING_TASK", "BLOCKING_TASK"),
                               ("BLOCKING_WORKFLOW", "BLOCKING_WORKFLOW"),
                               ("BLOCKING_TASK_INPUT", "BLOCKING_TASK_INPUT")):
        response = await client.post("/api/workflow/execute/exec_wait/1", json={},
                                     params={"returnStrategy": strategy, "waitForSeconds": 5})
        answer = response.json()
        assert response.status_code == 200 and answer["responseType"] == expected, answer
        assert answer["signalTimeout"] is False and answer["targetWorkflowStatus"] == "RUNNING"
        if strategy.startswith("BLOCKING_TASK"):
            assert answer["referenceTaskName"] == "w"
        else:
            assert [t["referenceTaskName"] for t in answer["tasks"]] == ["n", "w"]
    bad = await client.post("/api/workflow/execute/exec_wait/1", json={}, params={"returnStrategy": "NOPE"})
    assert bad.status_code == 400


# --- HTTP --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def target() -> Iterator[tuple[str, Counter[str]]]:
    calls: Counter[str] = Counter()

    async def ok(request: Request) -> Response:
        calls["ok"] += 1
        return JSONResponse({"hello": request.query_params.get("who", "world")})

    async def flaky(request: Request) -> Response:
        key = request.path_params["key"]
        calls[key] += 1
        if calls[key] <= 2:
            return PlainTextResponse("try again", status_code=500)
        return JSONResponse({"attempt": calls[key]})

    async def slow(request: Request) -> Response:
        calls["slow"] += 1
        await asyncio.sleep(2)
        return PlainTextResponse("late")

    app = Starlette(routes=[Route("/ok", ok), Route("/flaky/{key}", flaky), Route("/slow", slow)])
    with serve(app) as base:
        yield base, calls


def _http(uri: str, **extra: Any) -> dict[str, Any]:
    return {"name": "call", "taskReferenceName": "call", "type": "HTTP",
            "inputParameters": {"http_request": {"uri": uri, "method": "GET", **extra}}}


async def test_http_task_puts_the_response_in_its_output(client: httpx.AsyncClient,
                                                        target: tuple[str, Counter[str]]) -> None:
    base, _ = target
    await register_workflow(client, "http_ok", [_http(base + "/ok?who=${workflow.input.who}")],
                            outputParameters={"said": "${call.output.response.body.hello}"})
    wid = (await client.post("/api/workflow", json={"name": "http_ok", "input": {"who": "podium"}})).text
    done = await wait_status(client, wid, "COMPLETED")
    response = done["tasks"][0]["outputData"]["response"]
    assert response["statusCode"] == 200 and response["body"] == {"hello": "podium"}
    assert done["output"] == {"said": "podium"}
    assert done["tasks"][0]["taskType"] == "HTTP" and done["tasks"][0]["workerId"] == "podium-system"


async def test_http_500_is_retried_as_its_task_definition_says(client: httpx.AsyncClient,
                                                               target: tuple[str, Counter[str]]) -> None:
    base, calls = target
    await client.post("/api/metadata/taskdefs", json=[{"name": "call", "retryCount": 2, "retryDelaySeconds": 0}])
    key = uuid.uuid4().hex  # the server's counts outlive one test (it serves the module)
    await register_workflow(client, "http_flaky", [_http(base + f"/flaky/{key}")])
    wid = (await client.post("/api/workflow", json={"name": "http_flaky"})).text
    done = await wait_status(client, wid, "COMPLETED", timeout=5)
    assert [t["status"] for t in done["tasks"]] == ["FAILED", "FAILED", "COMPLETED"]
    assert done["tasks"][0]["reasonForIncompletion"] == "try again"
    assert done["tasks"][0]["outputData"]["response"]["statusCode"] == 500
    assert calls[key] == 3


async def test_http_refused_or_slow_fails_after_its_retries(client: httpx.AsyncClient,
                                                           target: tuple[str, Counter[str]]) -> None:
    base, _ = target
    await client.post("/api/metadata/taskdefs", json=[{"name": "call", "retryCount": 1, "retryDelaySeconds": 0}])
    await register_workflow(client, "http_refused", [_http(f"http://127.0.0.1:{closed_port()}/x")])
    wid = (await client.post("/api/workflow", json={"name": "http_refused"})).text
    failed = await wait_status(client, wid, "FAILED", timeout=5)
    assert [t["status"] for t in failed["tasks"]] == ["FAILED", "FAILED"]
    assert "refused" in failed["tasks"][0]["reasonForIncompletion"].lower()
    await register_workflow(client, "http_slow", [_http(base + "/slow", readTimeOut=200)])
    wid = (await client.post("/api/workflow", json={"name": "http_slow"})).text
    failed = await wait_status(client, wid, "FAILED", timeout=5)
    assert len(failed["tasks"]) == 2 and "timed out" in failed["tasks"][0]["reasonForIncompletion"].lower()
