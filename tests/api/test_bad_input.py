"""Bad input (ARCHITECTURE "Reliability model", spec 1.0, decisions 1 and 6): every malformed, mistyped,
unknown, oversized or hostile request gets a 4xx in Conductor's error shape, never a bare 500 or a
traceback, and nothing stored before it is changed by it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from helpers import (
    assert_error,
    chain,
    poll,
    poll_one,
    register_workflow,
    run_task,
    simple,
    start,
    workflow,
)

from podium.app import create_app
from podium.settings import Settings
from tests import hostile

JSON = {"Content-Type": "application/json"}


@dataclass
class Seeded:
    workflow_id: str
    task_id: str  # the scheduled task `b`
    snapshot: dict[str, Any]


async def _snapshot(client: httpx.AsyncClient, workflow_id: str) -> dict[str, Any]:
    reads = {
        "workflow": f"/api/workflow/{workflow_id}",
        "workflow_def": "/api/metadata/workflow/wf",
        "all_workflow_defs": "/api/metadata/workflow",
        "task_def": "/api/metadata/taskdefs/a",
        "all_task_defs": "/api/metadata/taskdefs",
        "search": "/api/workflow/search?query=workflowType%20%3D%20wf",
        "task_search": "/api/tasks/search?query=workflowId%20%3D%20" + workflow_id,
        "queues": "/api/tasks/queue/all",
    }
    found = {}
    for key, path in reads.items():
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text)
        found[key] = response.json()
    return found


async def seed(client: httpx.AsyncClient) -> Seeded:
    """A definition pair and a running execution: `a` completed, `b` scheduled."""
    await chain(client, "wf", "a", "b", description="keep me", outputParameters={"x": "${a.output.x}"})
    wid = await start(client, "wf", {"order": 1}, correlationId="seed")
    await run_task(client, "a", output={"x": 42})
    body = await workflow(client, wid)
    task_id = body["tasks"][1]["taskId"]
    return Seeded(wid, task_id, await _snapshot(client, wid))


async def assert_unchanged(client: httpx.AsyncClient, seeded: Seeded, case: str = "") -> None:
    assert await _snapshot(client, seeded.workflow_id) == seeded.snapshot, f"changed by {case}"


async def assert_still_works(client: httpx.AsyncClient, seeded: Seeded) -> None:
    """Nothing stored was changed, and the execution still runs to its end."""
    await assert_unchanged(client, seeded)
    task = await poll_one(client, "b")
    assert task["taskId"] == seeded.task_id
    result = {"workflowInstanceId": seeded.workflow_id, "taskId": task["taskId"], "status": "COMPLETED"}
    assert (await client.post("/api/tasks", json=result)).status_code == 200
    body = await workflow(client, seeded.workflow_id)
    assert body["status"] == "COMPLETED" and body["output"] == {"x": 42}


def assert_4xx(response: httpx.Response, status: int | None = None, case: str = "") -> dict[str, Any]:
    """A client error in the error shape; never a 5xx, never a traceback."""
    assert 400 <= response.status_code < 500, (case, response.status_code, response.text)
    assert status is None or response.status_code == status, (case, response.status_code, response.text)
    return assert_error(response, response.status_code)


# --- malformed JSON, wrong types ------------------------------------------------------------------

WRONG = "{wid}"  # replaced by the seeded workflow id
TASK = "{tid}"  # replaced by the seeded task id

BAD_BODIES: list[tuple[str, str, str, bytes | None, Any, int]] = [
    # (case id, method, path, raw body, JSON body, expected status)
    ("start-malformed", "POST", "/api/workflow", b"{not json", None, 400),
    ("start-truncated", "POST", "/api/workflow", b'{"name": "wf", "input": {', None, 400),
    ("start-empty-body", "POST", "/api/workflow", b"", None, 400),
    ("start-invalid-utf8", "POST", "/api/workflow", b'{"name": "wf", "input": {"x": "\xff\xfe"}}', None, 400),
    (
        "start-deep-nesting",
        "POST",
        "/api/workflow",
        b'{"name": "wf", "input": {"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}",
        None,
        400,
    ),
    ("start-body-is-list", "POST", "/api/workflow", None, ["wf"], 400),
    ("start-input-is-list", "POST", "/api/workflow", None, {"name": "wf", "input": [1, 2]}, 400),
    (
        "start-priority-is-text",
        "POST",
        "/api/workflow",
        None,
        {"name": "wf", "input": {}, "priority": "high"},
        400,
    ),
    ("start-name-is-object", "POST", "/api/workflow", None, {"name": {"x": 1}, "input": {}}, 400),
    (
        "start-domain-not-text",
        "POST",
        "/api/workflow",
        None,
        {"name": "wf", "input": {}, "taskToDomain": {"a": 5}},
        400,
    ),
    (
        "start-bad-idempotency-strategy",
        "POST",
        "/api/workflow",
        None,
        {"name": "wf", "input": {}, "idempotencyKey": "k", "idempotencyStrategy": "SOMETIMES"},
        400,
    ),
    ("start-by-name-huge-int", "POST", "/api/workflow/wf", None, {"n": 2**70}, 400),
    ("start-huge-version", "POST", "/api/workflow", None, {"name": "wf", "version": 2**70, "input": {}}, 400),
    ("start-by-name-malformed", "POST", "/api/workflow/wf", b"{", None, 400),
    ("start-by-name-list", "POST", "/api/workflow/wf", None, [1, 2], 400),
    ("def-malformed", "POST", "/api/metadata/workflow", b'{"name": "wf", "tasks": [', None, 400),
    (
        "def-overwrite-malformed",
        "POST",
        "/api/metadata/workflow?overwrite=true",
        b'{"name": "wf",',
        None,
        400,
    ),
    (
        "def-tasks-is-object",
        "POST",
        "/api/metadata/workflow?overwrite=true",
        None,
        {"name": "wf", "tasks": {"a": 1}},
        400,
    ),
    (
        "def-version-is-float-text",
        "POST",
        "/api/metadata/workflow?overwrite=true",
        None,
        {"name": "wf", "version": "1.5", "tasks": [simple("a")]},
        400,
    ),
    (
        "def-type-is-number",
        "POST",
        "/api/metadata/workflow?overwrite=true",
        None,
        {"name": "wf", "tasks": [{"name": "a", "taskReferenceName": "a", "type": 5}]},
        400,
    ),
    (
        "def-huge-version",
        "POST",
        "/api/metadata/workflow",
        None,
        {"name": "wf", "version": 2**70, "tasks": [simple("a")]},
        400,
    ),
    (
        "def-bulk-is-object",
        "PUT",
        "/api/metadata/workflow",
        None,
        {"name": "wf", "tasks": [simple("a")]},
        400,
    ),
    (
        "def-bulk-one-invalid",
        "PUT",
        "/api/metadata/workflow",
        None,
        [{"name": "wf", "tasks": [simple("a")], "description": "changed"}, {"name": "", "tasks": []}],
        400,
    ),
    ("taskdefs-is-object", "POST", "/api/metadata/taskdefs", None, {"name": "a", "retryCount": 9}, 400),
    ("taskdefs-malformed", "POST", "/api/metadata/taskdefs", b"[{]", None, 400),
    (
        "taskdefs-retry-is-text",
        "POST",
        "/api/metadata/taskdefs",
        None,
        [{"name": "a", "retryCount": "three"}],
        400,
    ),
    ("taskdefs-huge-int", "POST", "/api/metadata/taskdefs", None, [{"name": "a", "retryCount": 2**70}], 400),
    ("taskdef-put-is-list", "PUT", "/api/metadata/taskdefs", None, [{"name": "a"}], 400),
    (
        "taskdef-put-invalid",
        "PUT",
        "/api/metadata/taskdefs",
        None,
        {"name": "a", "responseTimeoutSeconds": 0},
        400,
    ),
    ("update-malformed", "POST", "/api/tasks", b"{'single': 'quotes'}", None, 400),
    ("update-ids-wrong-type", "POST", "/api/tasks", None, {"workflowInstanceId": 5, "taskId": ["x"]}, 400),
    (
        "update-output-is-text",
        "POST",
        "/api/tasks",
        None,
        {"workflowInstanceId": WRONG, "taskId": TASK, "status": "COMPLETED", "outputData": "done"},
        400,
    ),
    (
        "update-unknown-status",
        "POST",
        "/api/tasks",
        None,
        {"workflowInstanceId": WRONG, "taskId": TASK, "status": "DONE"},
        400,
    ),
    ("update-v2-malformed", "POST", "/api/tasks/update-v2", b"[", None, 400),
    ("update-by-ref-list", "POST", f"/api/tasks/{WRONG}/b/COMPLETED", None, ["x"], 400),
    ("update-by-ref-bad-status", "POST", f"/api/tasks/{WRONG}/b/FINISHED", None, {}, 400),
    ("rerun-malformed", "POST", f"/api/workflow/{WRONG}/rerun", b"{", None, 400),
    ("rerun-input-is-list", "POST", f"/api/workflow/{WRONG}/rerun", None, {"workflowInput": [1]}, 400),
    ("bulk-malformed", "PUT", "/api/workflow/bulk/pause", b"not json", None, 400),
    ("bulk-is-object", "POST", "/api/workflow/bulk/terminate", None, {"ids": [WRONG]}, 400),
    ("bulk-ids-not-text", "POST", "/api/workflow/bulk/terminate", None, [1, 2], 400),
    ("correlated-is-text", "POST", "/api/workflow/wf/correlated", None, "seed", 400),
]


def _fill(value: Any, seeded: Seeded) -> Any:
    if isinstance(value, str):
        return value.replace(WRONG, seeded.workflow_id).replace(TASK, seeded.task_id)
    if isinstance(value, list):
        return [_fill(v, seeded) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, seeded) for k, v in value.items()}
    return value


async def _bad_bodies(
    client: httpx.AsyncClient, cases: list[tuple[str, str, str, bytes | None, Any, int]]
) -> None:
    seeded = await seed(client)
    for case, method, path, raw, body, expected in cases:
        kwargs: dict[str, Any] = (
            {"content": raw, "headers": JSON} if raw is not None else {"json": _fill(body, seeded)}
        )
        assert_4xx(await client.request(method, _fill(path, seeded), **kwargs), expected, case)
        await assert_unchanged(client, seeded, case)
    await assert_still_works(client, seeded)


async def test_bad_bodies_on_starts(client: httpx.AsyncClient) -> None:
    await _bad_bodies(client, [c for c in BAD_BODIES if c[0].startswith("start")])


async def test_bad_bodies_on_definitions(client: httpx.AsyncClient) -> None:
    await _bad_bodies(client, [c for c in BAD_BODIES if c[0].startswith(("def", "taskdef"))])


async def test_bad_bodies_on_tasks_and_control(client: httpx.AsyncClient) -> None:
    await _bad_bodies(client, [c for c in BAD_BODIES if not c[0].startswith(("start", "def", "taskdef"))])


async def test_validation_errors_name_the_field(client: httpx.AsyncClient) -> None:
    body = assert_4xx(
        await client.post("/api/workflow", json={"name": "wf", "input": {}, "priority": "high"}), 400
    )
    assert [e["path"] for e in body["validationErrors"]] == ["body.priority"]
    for path in ("/api/workflow", "/api/workflow/wf", "/api/tasks", "/api/metadata/workflow"):
        body = assert_4xx(await client.post(path, content=b"{oops", headers=JSON), 400)
        assert body["message"].startswith("Malformed JSON in request body"), body


# --- query strings and path parameters ------------------------------------------------------------

BAD_QUERIES: list[tuple[str, str, str, int]] = [
    ("search-start-text", "GET", "/api/workflow/search?start=abc", 400),
    ("search-size-float", "GET", "/api/workflow/search?size=1e3", 400),
    ("search-size-over-max", "GET", "/api/workflow/search?size=5001", 400),
    ("search-start-negative", "GET", "/api/workflow/search?start=-1", 400),
    ("search-start-huge", "GET", f"/api/workflow/search?start={2**70}", 400),
    ("search-unknown-field", "GET", "/api/workflow/search?query=colour%20%3D%20red", 400),
    ("search-bad-sort-direction", "GET", "/api/workflow/search?sort=startTime:SIDEWAYS", 400),
    (
        "search-deep-parens",
        "GET",
        "/api/workflow/search?query=" + "(" * 200 + "status%20%3D%20RUNNING" + ")" * 200,
        400,
    ),
    (
        "search-too-many-conditions",
        "GET",
        "/api/workflow/search?query=" + "%20AND%20".join(["status%20%3D%20RUNNING"] * 1500),
        400,
    ),
    ("search-time-not-number", "GET", "/api/workflow/search?query=startTime%20%3E%20yesterday", 400),
    ("search-unterminated-string", "GET", "/api/workflow/search?query=status%20%3D%20%27RUN", 400),
    ("metadata-version-text", "GET", "/api/metadata/workflow/wf?version=latest", 400),
    ("metadata-delete-version-text", "DELETE", "/api/metadata/workflow/wf/one", 400),
    ("get-include-tasks-not-bool", "GET", f"/api/workflow/{WRONG}?includeTasks=maybe", 400),
    ("poll-count-text", "GET", "/api/tasks/poll/batch/b?count=all", 400),
    ("poll-timeout-text", "GET", "/api/tasks/poll/batch/b?timeout=soon", 400),
    ("poll-timeout-too-long", "GET", "/api/tasks/poll/batch/b?timeout=60000", 400),
    ("tasks-page-start-text", "GET", f"/api/workflow/{WRONG}/tasks?start=x", 400),
    ("running-version-text", "GET", "/api/workflow/running/wf?version=v1", 400),
    ("remove-archive-not-bool", "DELETE", f"/api/workflow/{WRONG}/remove?archiveWorkflow=perhaps", 400),
    ("restart-flag-not-bool", "POST", f"/api/workflow/{WRONG}/restart?useLatestDefinitions=2", 400),
]


async def test_bad_query_or_path_parameters(client: httpx.AsyncClient) -> None:
    seeded = await seed(client)
    for case, method, path, expected in BAD_QUERIES:
        assert_4xx(await client.request(method, _fill(path, seeded), headers=JSON), expected, case)
        await assert_unchanged(client, seeded, case)
    await assert_still_works(client, seeded)


async def test_unknown_search_field_is_named(client: httpx.AsyncClient) -> None:
    body = assert_4xx(await client.get("/api/workflow/search", params={"query": "colour = red"}), 400)
    assert "colour" in body["message"]


# --- unknown ids ------------------------------------------------------------------------------------

UNKNOWN_IDS: list[tuple[str, str, str, Any, str]] = [
    ("get-workflow", "GET", "/api/workflow/ghost", None, "No such workflow found by id: ghost"),
    ("terminate", "DELETE", "/api/workflow/ghost", {}, "No such workflow found by id: ghost"),
    ("remove", "DELETE", "/api/workflow/ghost/remove", {}, "No such workflow found by id: ghost"),
    ("pause", "PUT", "/api/workflow/ghost/pause", {}, "No such workflow found by id: ghost"),
    ("resume", "PUT", "/api/workflow/ghost/resume", {}, "No such workflow found by id: ghost"),
    ("skip", "PUT", "/api/workflow/ghost/skiptask/b", {}, "No such workflow found by id: ghost"),
    ("rerun", "POST", "/api/workflow/ghost/rerun", {}, "No such workflow found by id: ghost"),
    ("restart", "POST", "/api/workflow/ghost/restart", {}, "No such workflow found by id: ghost"),
    ("retry", "POST", "/api/workflow/ghost/retry", {}, "No such workflow found by id: ghost"),
    (
        "resetcallbacks",
        "POST",
        "/api/workflow/ghost/resetcallbacks",
        {},
        "No such workflow found by id: ghost",
    ),
    ("decide", "PUT", "/api/workflow/decide/ghost", {}, "No such workflow found by id: ghost"),
    ("status", "GET", "/api/workflow/ghost/status", None, "No such workflow found by id: ghost"),
    ("get-task", "GET", "/api/tasks/ghost", None, "Task not found for taskId: ghost"),
    (
        "update-task-workflow",
        "POST",
        "/api/tasks",
        {"workflowInstanceId": "ghost", "taskId": TASK, "status": "COMPLETED"},
        "No such workflow found by id: ghost",
    ),
    (
        "update-task-task",
        "POST",
        "/api/tasks",
        {"workflowInstanceId": WRONG, "taskId": "ghost", "status": "COMPLETED"},
        "No such task found by id: ghost",
    ),
    (
        "workflow-def",
        "GET",
        "/api/metadata/workflow/ghost",
        None,
        "No such workflow found by name: ghost, version: null",
    ),
    (
        "delete-workflow-def",
        "DELETE",
        "/api/metadata/workflow/ghost/1",
        {},
        "No such workflow definition: ghost version: 1",
    ),
    ("task-def", "GET", "/api/metadata/taskdefs/ghost", None, "No such taskType found by name: ghost"),
    ("delete-task-def", "DELETE", "/api/metadata/taskdefs/ghost", {}, "No such task definition"),
    ("put-task-def", "PUT", "/api/metadata/taskdefs", {"name": "ghost"}, "No such task by name ghost"),
    (
        "start-by-name",
        "POST",
        "/api/workflow/ghost",
        {},
        "No such workflow found by name: ghost, version: null",
    ),
]


async def test_unknown_ids_are_404(client: httpx.AsyncClient) -> None:
    seeded = await seed(client)
    for case, method, path, body, message in UNKNOWN_IDS:
        kwargs = {"json": _fill(body, seeded)} if body is not None else {"headers": JSON}
        response = await client.request(method, path, **kwargs)
        assert response.status_code == 404, (case, response.text)
        assert_error(response, 404, message)
        await assert_unchanged(client, seeded, case)
    await assert_still_works(client, seeded)


# --- SQL in query strings and path ids --------------------------------------------------------------

SQL = "' OR '1'='1"
DROP = "'; DROP TABLE executions; --"


async def test_sql_in_search_query_is_rejected(client: httpx.AsyncClient) -> None:
    seeded = await seed(client)
    for path in (
        "/api/workflow/search",
        "/api/workflow/search-v2",
        "/api/tasks/search",
        "/api/tasks/search-v2",
    ):
        for query in (
            "status = 'x'; DROP TABLE executions --",
            "status = 'x' OR 1=1",
            "workflowType = wf; DELETE FROM tasks",
            "status = RUNNING) OR (1=1",
            "workflowId = x UNION SELECT * FROM executions",
        ):
            assert_4xx(await client.get(path, params={"query": query}), 400)
        assert_4xx(await client.get(path, params={"sort": "startTime; DROP TABLE executions"}), 400)
        assert_4xx(await client.get(path, params={"sort": "(SELECT 1):ASC"}), 400)
    await assert_still_works(client, seeded)


async def test_sql_in_quoted_values_and_free_text_is_just_text(client: httpx.AsyncClient) -> None:
    seeded = await seed(client)
    for query in (
        "workflowType = 'wf'' OR ''1''=''1'",
        f'correlationId = "{DROP}"',
        "workflowId IN ('a', 'b'') OR 1=1 --')",
    ):
        response = await client.get("/api/workflow/search", params={"query": query})
        assert response.status_code == 200, response.text
        assert response.json() == {"totalHits": 0, "results": []}
    for text in (DROP, SQL, 'seed" OR "1"="1', "NEAR(a b)", "a* OR b*", "-seed", "^seed"):
        response = await client.get("/api/workflow/search", params={"freeText": text})
        assert response.status_code == 200, (text, response.text)
        assert response.json()["totalHits"] <= 1
    found = (await client.get("/api/workflow/search", params={"freeText": "seed"})).json()
    assert [r["workflowId"] for r in found["results"]] == [seeded.workflow_id]
    await assert_still_works(client, seeded)


async def test_sql_in_path_ids(client: httpx.AsyncClient) -> None:
    seeded = await seed(client)
    for hostile_id in (DROP, SQL, "x%27%20OR%20%271%27%3D%271", "..%2F..%2Fetc%2Fpasswd", "%00"):
        await _hostile_id(client, seeded, hostile_id)
        await assert_unchanged(client, seeded, hostile_id)
    await assert_still_works(client, seeded)


async def _hostile_id(client: httpx.AsyncClient, seeded: Seeded, hostile: str) -> None:
    for method, path in (
        ("GET", f"/api/workflow/{hostile}"),
        ("DELETE", f"/api/workflow/{hostile}"),
        ("DELETE", f"/api/workflow/{hostile}/remove?archiveWorkflow=false"),
        ("PUT", f"/api/workflow/{hostile}/pause"),
        ("GET", f"/api/tasks/{hostile}"),
        ("GET", f"/api/metadata/workflow/{hostile}"),
        ("DELETE", f"/api/metadata/taskdefs/{hostile}"),
        ("GET", f"/api/workflow/{hostile}/tasks"),
        ("POST", f"/api/tasks/{hostile}/b/COMPLETED"),
    ):
        response = await client.request(method, path, json={} if method != "GET" else None)
        assert_4xx(response, case=f"{method} {path}")
    response = await client.put(
        "/api/workflow/bulk/pause", json=[hostile, f"{seeded.workflow_id}' OR '1'='1"]
    )
    assert response.status_code == 200
    assert response.json()["bulkSuccessfulResults"] == [] and len(response.json()["bulkErrorResults"]) == 2
    for log in (DROP, SQL):  # stored as text (or 404 where an encoded '/' leaves no route; PostgreSQL
        # text cannot hold the NUL of %00, which it refuses with a 400)
        response = await client.post(f"/api/tasks/{hostile}/log", content=log.encode(), headers=JSON)
        expected = 400 if hostile == "%00" and response.status_code == 400 else 404
        assert response.status_code == 200 or assert_4xx(response, expected)


# --- routes and methods -----------------------------------------------------------------------------


async def test_unknown_routes_are_404_in_error_shape(client: httpx.AsyncClient) -> None:
    for path in (
        "/api/nope",
        "/nope",
        "/api/workflow/a/b/c/d/e",
        "/api/metadata/unknown/x/y",
        "/api/tasks/a/b/c/d/e/f",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert_error(response, 404)


async def test_wrong_methods_are_405_in_error_shape(client: httpx.AsyncClient) -> None:
    seeded = await seed(client)
    for method, path in (
        ("PATCH", "/api/workflow"),
        ("PUT", "/api/tasks/poll/batch/a"),
        ("DELETE", "/api/metadata/taskdefs"),
        ("GET", "/api/workflow/bulk/pause"),
        ("POST", "/api/tasks/queue/all"),
        ("PUT", "/api/metadata/workflow/names"),
    ):
        response = await client.request(method, path, headers=JSON)
        assert response.status_code == 405, (method, path, response.text)
        assert_error(response, 405)
        await assert_unchanged(client, seeded, f"{method} {path}")
    await assert_still_works(client, seeded)


# --- oversized bodies -------------------------------------------------------------------------------

LIMIT = 4096


@pytest.fixture
async def small(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """Like `client`, with a request body limit of 4 KiB."""
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/small.db", max_payload_bytes=LIMIT))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://podium") as c:
            yield c


def assert_413(response: httpx.Response) -> None:
    body = assert_error(response, 413)
    assert str(LIMIT) in body["message"]


async def test_oversized_start_is_413_and_nothing_is_started(small: httpx.AsyncClient) -> None:
    seeded = await seed(small)
    assert_413(await small.post("/api/workflow", json={"name": "wf", "input": {"blob": "x" * LIMIT}}))
    assert_413(await small.post("/api/workflow/wf", json={"blob": "x" * LIMIT}))
    await assert_still_works(small, seeded)


async def test_oversized_task_output_is_413_and_task_unchanged(small: httpx.AsyncClient) -> None:
    seeded = await seed(small)
    task = await poll_one(small, "b")
    before = (await small.get(f"/api/tasks/{task['taskId']}")).json()
    result = {
        "workflowInstanceId": seeded.workflow_id,
        "taskId": task["taskId"],
        "status": "COMPLETED",
        "outputData": {"blob": "x" * LIMIT},
    }
    assert_413(await small.post("/api/tasks", json=result))
    assert_413(await small.post("/api/tasks/update-v2", json=result))
    assert (await small.get(f"/api/tasks/{task['taskId']}")).json() == before
    assert (await workflow(small, seeded.workflow_id))["status"] == "RUNNING"
    result["outputData"] = {"blob": "small"}
    assert (await small.post("/api/tasks", json=result)).status_code == 200
    assert (await workflow(small, seeded.workflow_id))["status"] == "COMPLETED"


async def test_oversized_definition_and_log_are_413(small: httpx.AsyncClient) -> None:
    seeded = await seed(small)
    big_def = {"name": "wf", "description": "x" * LIMIT, "tasks": [simple("a")]}
    assert_413(await small.post("/api/metadata/workflow", json=big_def, params={"overwrite": "true"}))
    assert_413(await small.post("/api/metadata/taskdefs", json=[{"name": "a", "description": "x" * LIMIT}]))
    assert_413(await small.post(f"/api/tasks/{seeded.task_id}/log", content=b"x" * (LIMIT + 1)))
    assert (await small.get(f"/api/tasks/{seeded.task_id}/log")).status_code == 204
    await assert_still_works(small, seeded)


async def test_oversized_chunked_body_is_413(small: httpx.AsyncClient) -> None:
    seeded = await seed(small)

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "wf", "input": {"blob": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}}'

    response = await small.post("/api/workflow", content=chunks(), headers=JSON)
    assert "content-length" not in response.request.headers
    assert_413(response)
    await assert_still_works(small, seeded)


async def test_body_at_the_limit_is_accepted(small: httpx.AsyncClient) -> None:
    await register_workflow(small, "tiny", [simple("t")])
    prefix, suffix = b'{"name": "tiny", "input": {"blob": "', b'"}}'
    body = prefix + b"x" * (LIMIT - len(prefix) - len(suffix)) + suffix
    assert len(body) == LIMIT
    response = await small.post("/api/workflow", content=body, headers=JSON)
    assert response.status_code == 200, response.text
    assert_413(await small.post("/api/workflow", content=body + b" ", headers=JSON))
    assert len(await poll(small, "t")) == 1


# --- JSON that cannot be kept, text that cannot be stored (issue 13) ---------------------------------------
#
# JSON allows integers past 64 bits, numbers past a double, nesting 1,024 levels deep, NUL characters and
# lone surrogates; none can be stored and answered back. Each is a 400 in Conductor's shape wherever it
# appears, on the worker lane (`POST /api/workflow`, `/api/workflow/{name}`, `/api/tasks`, `update-v2`) as
# on the FastAPI routes, and the database's words never reach the client.

LEAKS = ("database", "asyncpg", "sqlite", "query argument", "codec", "Traceback")


def assert_refused(response: httpx.Response, case: str) -> dict[str, Any]:
    body = assert_4xx(response, 400, case)
    assert not any(word in response.text for word in LEAKS), (case, response.text)
    return body


def _routes(seeded: Seeded) -> list[tuple[str, str, dict[str, Any], str]]:
    """(method, path, a body the route accepts, the field that carries a payload)."""
    result = {"workflowInstanceId": seeded.workflow_id, "taskId": seeded.task_id, "status": "COMPLETED"}
    test_def = {"name": "wf", "tasks": [simple("a")]}
    return [
        ("POST", "/api/workflow", {"name": "wf", "input": {}}, "input"),
        ("POST", "/api/workflow", {"name": "wf", "input": {}}, "version"),
        ("POST", "/api/workflow/wf", {}, "x"),
        ("POST", "/api/workflow/test", {"name": "wf", "workflowDef": test_def, "input": {}}, "input"),
        ("POST", "/api/workflow/execute/wf/1", {"name": "wf", "input": {}}, "input"),
        ("POST", "/api/tasks", {**result, "outputData": {}}, "outputData"),
        ("POST", "/api/tasks/update-v2", {**result, "outputData": {}}, "outputData"),
        ("POST", f"/api/tasks/{seeded.workflow_id}/b/COMPLETED", {}, "x"),
        ("POST", "/api/metadata/workflow?overwrite=true", {"name": "wf", "tasks": [simple("a")]}, "description"),
        ("POST", "/api/scheduler/schedules", {"name": "s", "cronExpression": "0 0 * * * ?",
                                               "startWorkflowRequest": {"name": "wf"}}, "scheduleStartTime"),
    ]


async def test_json_that_cannot_be_kept_is_400_on_every_route(client: httpx.AsyncClient) -> None:
    seeded = await seed(client)
    for method, path, base, field in _routes(seeded):
        cases = [(label, raw) for label, raw in hostile.bodies(base, field)
                 if not label.startswith("nested 2000")]  # orjson's own limit: covered by start-deep-nesting
        cases += [(f"nested {n} levels in {field}", hostile.with_value(base, field, hostile.nested(n)))
                  for n in (129, 255, 1024)]
        for label, raw in cases:
            assert_refused(await client.request(method, path, content=raw, headers=JSON), f"{path}: {label}")
        await assert_unchanged(client, seeded, path)
    await assert_still_works(client, seeded)


async def test_json_nested_to_the_limit_is_accepted_and_read_back(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "deep", [simple("t")])
    limit = b'{"x": ' + hostile.nested(127) + b"}"  # 128 levels with the input object itself
    response = await client.post("/api/workflow/deep", content=limit, headers=JSON)
    assert response.status_code == 200, response.text
    assert (await workflow(client, response.text))["input"] == {"x": orjson.loads(hostile.nested(127))}


NAMES = [("lone surrogate", b'"\\ud800"'), ("low surrogate first", b'"\\udc00\\ud800"'), ("NUL", b'"a\\u0000"')]


async def test_names_that_cannot_be_stored_are_400(client: httpx.AsyncClient) -> None:
    seeded = await seed(client)
    for label, name in NAMES:
        definition = hostile.with_value({"tasks": [simple("a")]}, "name", name)
        task_def = hostile.with_value({"retryCount": 1}, "name", name)
        for method, path, raw in (("POST", "/api/metadata/workflow", definition),
                                  ("PUT", "/api/metadata/workflow", b"[" + definition + b"]"),
                                  ("POST", "/api/metadata/workflow/validate", definition),
                                  ("POST", "/api/metadata/taskdefs", b"[" + task_def + b"]"),
                                  ("PUT", "/api/metadata/taskdefs", task_def),
                                  ("POST", "/api/workflow", hostile.with_value({}, "name", name))):
            assert_refused(await client.request(method, path, content=raw, headers=JSON), f"{path}: {label}")
        await assert_unchanged(client, seeded, label)
    for method, path in (("POST", "/api/workflow/wf?correlationId=a%00"), ("DELETE", "/api/workflow/x%00"),
                         ("DELETE", f"/api/workflow/{seeded.workflow_id}?reason=a%00"),
                         ("GET", "/api/workflow/search?freeText=a%00")):
        assert_refused(await client.request(method, path, json={}), f"{method} {path}")
    await assert_still_works(client, seeded)


async def test_static_paths_the_file_system_cannot_look_up_are_404(client: httpx.AsyncClient) -> None:
    for path in ("/ui/static/%00", "/ui/static/a%00b.js", "/ui/static/" + "a" * 5000):
        assert_error(await client.get(path), 404)
    assert (await client.get("/ui/static/%00")).json()["message"].startswith("No static resource")


CRON_NEVER = "0 0 0 30 2 ?"  # February 30th


async def test_cron_the_server_cannot_evaluate_is_400(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "wf", [simple("a")])
    schedule = {"name": "s", "cronExpression": "0 0 * * * ?", "startWorkflowRequest": {"name": "wf"}}
    assert (await client.post("/api/scheduler/schedules", json=schedule)).status_code == 200
    before = (await client.get("/api/scheduler/schedules")).json()
    previews = [{"cronExpression": CRON_NEVER}, {"cronExpression": "0 0 0 31 4 ?"},
                {"cronExpression": "0 0 * * * ?", "scheduleStartTime": str(2**62)},
                {"cronExpression": "0 0 * * * ?", "scheduleStartTime": str(-(2**62))},
                {"cronExpression": "0 0 * * * ?", "scheduleStartTime": "253402300800000"},
                {"cronExpression": "0 0 * * * ?", "scheduleEndTime": str(2**62)},
                {"cronExpression": "0 0 * * * ?", "scheduleStartTime": str(2**64)}]
    for params in previews:
        assert_refused(await client.get("/api/scheduler/nextFewSchedules", params=params), str(params))
    saves = [{**schedule, "cronExpression": CRON_NEVER}, {**schedule, "name": "t", "cronExpression": CRON_NEVER},
             {**schedule, "scheduleStartTime": 2**62}, {**schedule, "scheduleEndTime": 2**62},
             {**schedule, "name": "u", "scheduleStartTime": 2**63}]
    for body in saves:
        assert_refused(await client.post("/api/scheduler/schedules", json=body), str(body))
    assert (await client.get("/api/scheduler/schedules")).json() == before
    late = await client.get("/api/scheduler/nextFewSchedules",
                            params={"cronExpression": "0 0 0 1 1 ?", "scheduleStartTime": "253402300799999"})
    assert late.status_code == 200 and late.json() == [], late.text  # no fire left before year 10000
