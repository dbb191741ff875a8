"""Small helpers shared by the API-tier tests: register, start, poll, complete, wait, check errors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

API = "/api"


# --- checks ------------------------------------------------------------------------------------


def assert_error(
    response: httpx.Response, status: int, message: str | None = None, *, contains: str | None = None
) -> dict[str, Any]:
    """The response is a Conductor error body with this status (and exact message, if given)."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict), body
    assert body["status"] == status, body
    assert isinstance(body["message"], str) and body["message"], body
    assert body.get("retryable") is False, body
    assert "Traceback" not in response.text, response.text
    if message is not None:
        assert body["message"] == message, body["message"]
    if contains is not None:
        assert contains in body["message"], body["message"]
    return body


def assert_validation(response: httpx.Response) -> list[dict[str, Any]]:
    """A 400 with Conductor's validation message; returns its validationErrors."""
    body = assert_error(response, 400, "Validation failed, check below errors for detail.")
    errors = body["validationErrors"]
    assert isinstance(errors, list) and errors, body
    for entry in errors:
        assert set(entry) <= {"path", "message", "invalidValue"}, entry
        assert entry["message"], entry
    return list(errors)


def assert_no_bare_500(response: httpx.Response) -> None:
    assert response.status_code != 500 or response.headers.get("content-type", "").startswith(
        "application/json"
    ), response.text
    assert "Traceback" not in response.text, response.text
    assert response.status_code < 500, (response.status_code, response.text)


# --- definitions --------------------------------------------------------------------------------


async def register_task_defs(client: httpx.AsyncClient, *defs: dict[str, Any]) -> None:
    response = await client.post(f"{API}/metadata/taskdefs", json=list(defs))
    assert response.status_code == 200, response.text


async def register_workflow(
    client: httpx.AsyncClient, name: str, tasks: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    body = {"name": name, "version": extra.pop("version", 1), "tasks": tasks, **extra}
    response = await client.post(f"{API}/metadata/workflow", json=body, params={"overwrite": "true"})
    assert response.status_code == 200, response.text
    return body


def simple(name: str, ref: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"name": name, "taskReferenceName": ref or name, "type": "SIMPLE", **extra}


async def chain(
    client: httpx.AsyncClient,
    name: str,
    *task_names: str,
    task_def: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Register one task def per distinct name (retryCount 0 unless task_def says otherwise) and a
    workflow running them in order, each task's ref equal to its name."""
    await register_task_defs(
        client, *({"name": t, "retryCount": 0, **(task_def or {})} for t in dict.fromkeys(task_names))
    )
    return await register_workflow(client, name, [simple(t) for t in task_names], **extra)


# --- executions ---------------------------------------------------------------------------------


async def start(
    client: httpx.AsyncClient, name: str, input: dict[str, Any] | None = None, **extra: Any
) -> str:
    body = {"name": name, "input": input if input is not None else {}, **extra}
    response = await client.post(f"{API}/workflow", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def workflow(client: httpx.AsyncClient, workflow_id: str, include_tasks: bool = True) -> dict[str, Any]:
    response = await client.get(
        f"{API}/workflow/{workflow_id}", params={"includeTasks": str(include_tasks).lower()}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def status(client: httpx.AsyncClient, workflow_id: str) -> str:
    return str((await workflow(client, workflow_id, include_tasks=False))["status"])


async def poll(
    client: httpx.AsyncClient,
    task_type: str,
    *,
    worker: str = "worker-1",
    domain: str | None = None,
    count: int = 1,
    timeout: int = 0,
) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"workerid": worker, "count": count, "timeout": timeout}
    if domain is not None:
        params["domain"] = domain
    response = await client.get(f"{API}/tasks/poll/batch/{task_type}", params=params)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


async def poll_one(client: httpx.AsyncClient, task_type: str, **kwargs: Any) -> dict[str, Any]:
    found = await poll(client, task_type, **kwargs)
    assert len(found) == 1, found
    return found[0]


async def update(
    client: httpx.AsyncClient,
    task: dict[str, Any],
    status: str = "COMPLETED",
    output: dict[str, Any] | None = None,
    **extra: Any,
) -> httpx.Response:
    body = {
        "workflowInstanceId": task["workflowInstanceId"],
        "taskId": task["taskId"],
        "status": status,
        "outputData": output or {},
        **extra,
    }
    response = await client.post(f"{API}/tasks", json=body)
    assert response.status_code == 200, response.text
    return response


async def run_task(
    client: httpx.AsyncClient,
    task_type: str,
    status: str = "COMPLETED",
    output: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Poll one task of the type and report it."""
    task = await poll_one(client, task_type)
    await update(client, task, status, output, **extra)
    return task


async def eventually(
    check: Callable[[], Awaitable[Any]], timeout: float = 10.0, interval: float = 0.01
) -> Any:
    """Await `check()` until it returns something truthy (returned), or fail after `timeout` real seconds.
    Ten by default, as `wait_status`: background work (an event condition in a sandbox worker at nice
    +10, behind the suite's other processes) took over 2 s on a busy machine; a passing check returns
    as soon as it holds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


async def wait_status(
    client: httpx.AsyncClient, workflow_id: str, wanted: str, timeout: float = 10.0
) -> dict[str, Any]:
    """The execution once it has `wanted` status. Work done in the background (a script run off the
    start path, on a sandbox process started for it) can take seconds on a loaded 2-core machine:
    the wait returns as soon as the status is there, the timeout only bounds a failing test."""
    async def check() -> dict[str, Any] | None:
        body = await workflow(client, workflow_id)
        return body if body["status"] == wanted else None

    result: dict[str, Any] = await eventually(check, timeout)
    return result


async def wait_task(
    client: httpx.AsyncClient,
    workflow_id: str,
    predicate: Callable[[list[dict[str, Any]]], Any],
    timeout: float = 2.0,
) -> dict[str, Any]:
    """Wait until `predicate(tasks)` holds for the workflow's tasks; returns the workflow."""

    async def check() -> dict[str, Any] | None:
        body = await workflow(client, workflow_id)
        return body if predicate(body["tasks"]) else None

    result: dict[str, Any] = await eventually(check, timeout)
    return result


def by_ref(body: dict[str, Any], ref: str) -> list[dict[str, Any]]:
    return [t for t in body["tasks"] if t["referenceTaskName"] == ref]


async def reading_first(client: httpx.AsyncClient) -> None:
    """On PostgreSQL, wait until the app's store knows that every server on its database counts
    executions' revisions (`store.broadcast`): its workers' updates then read without the lock."""
    store = client._transport.app.state.store  # type: ignore[attr-defined]
    broadcaster = getattr(store, "broadcaster", None)
    async def counted() -> bool:
        return bool(broadcaster.revisions_counted)

    if broadcaster is not None:
        await eventually(counted, timeout=5)
