"""What a browser page of another site can no longer do through the API (issue 16, items 4 and 5), in
each dialect through the real ASGI app: every POST, PUT, PATCH and DELETE answers 415 to a body that
is not declared JSON and 403 to a foreign Origin, each in the dialect's own error shape, before it
changes anything; and every answer carries the security headers.

The rules are checked before any store access, so these tests run on SQLite only."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from podium.app import create_app
from podium.model.diego.cells_pb2 import CellsResponse
from podium.model.diego.error_pb2 import Error
from podium.model.diego.task_requests_pb2 import TaskLifecycleResponse
from podium.settings import Settings
from tests.api.helpers import API, assert_error, register_workflow, simple, start, status

CHANGES = ("POST", "PUT", "PATCH", "DELETE")
TRUSTED = "https://podium.example.com"
TEXT = {"Content-Type": "text/plain"}
JSON = {"Content-Type": "application/json"}
FOREIGN = {"Content-Type": "application/json", "Origin": "http://evil.example"}


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    made = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'podium.db'}", trusted_origins=[TRUSTED],
                               max_payload_bytes=64 * 1024))
    async with made.router.lifespan_context(made):
        yield made


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://podium") as c:
        yield c


def state_changing_routes(app: FastAPI) -> list[tuple[str, str, str]]:
    """(method, a path that matches the route, dialect) of every documented state-changing route."""
    found = []
    for route in app.routes:
        if isinstance(route, APIRoute) and route.include_in_schema:
            dialect = next((t for t in route.tags if t in ("bbs", "tango", "tnco", "sigma")), "conductor")
            path = re.sub(r"\{[^}]+\}", "x", route.path)
            found += [(method, path, dialect) for method in sorted(route.methods) if method in CHANGES]
    return found


def assert_shape(response: httpx.Response, status: int, dialect: str, path: str) -> str:
    """The refusal is in the dialect's own error shape; returns its message."""
    assert response.status_code == status, (path, response.status_code, response.text)
    body: dict[str, Any] = response.json()
    if dialect == "conductor":
        return assert_error(response, status)["message"]
    if dialect == "bbs":
        assert set(body) - {"should_start"} == {"error"} and body["error"]["type"] == "InvalidRequest", body
        return str(body["error"]["message"])
    if dialect == "tango":
        assert body["status"] == status and set(body) == {"status", "message"}, body
        return str(body["message"])
    if dialect == "tnco":
        assert body["details"] == {} and body["url"] == path.split("?")[0], body
        return str(body["localizedMessage"])
    assert dialect == "sigma"
    assert body["id"] == {403: "forbidden", 415: "unsupported_media_type"}[status], body
    return str(body["message"])


async def test_every_state_changing_route_of_every_dialect_refuses_text_plain(app: FastAPI,
                                                                              client: httpx.AsyncClient) -> None:
    routes = state_changing_routes(app)
    assert {d for _, _, d in routes} == {"conductor", "bbs", "tango", "tnco", "sigma"}
    assert len(routes) > 60
    for method, path, dialect in routes:
        response = await client.request(method, path, content=b'{"name": "x"}', headers=TEXT)
        message = assert_shape(response, 415, dialect, path)
        assert "Content-Type 'text/plain' is not supported" in message, (path, message)


async def test_every_state_changing_route_of_every_dialect_refuses_a_foreign_origin(
        app: FastAPI, client: httpx.AsyncClient) -> None:
    for method, path, dialect in state_changing_routes(app):
        response = await client.request(method, path, content=b"{}", headers=FOREIGN)
        assert "another site" in assert_shape(response, 403, dialect, path), path


async def test_a_cross_site_request_starts_nothing(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "cross", [simple("cross_task")])
    body = b'{"name": "cross", "input": {}}'
    refused = [
        await client.post(f"{API}/workflow", content=body, headers=TEXT),  # the worker lane
        await client.post(f"{API}/workflow/cross", content=b"{}", headers=TEXT),
        await client.post(f"{API}/workflow", content=b"name=cross", headers={
            "Content-Type": "application/x-www-form-urlencoded"}),  # a form post
        await client.post(f"{API}/workflow", content=body, headers={"Content-Type": "multipart/form-data; boundary=b"}),
        await client.post(f"{API}/workflow", content=body),  # a fetch with a Blob body: no Content-Type
        await client.post(f"{API}/workflow", content=body, headers=FOREIGN),
        await client.post(f"{API}/workflow", content=body, headers={**JSON, "Origin": "null"}),  # a sandboxed frame
    ]
    assert [r.status_code for r in refused] == [415, 415, 415, 415, 415, 403, 403]
    found = (await client.get(f"{API}/workflow/search", params={"query": "workflowType IN (cross)"})).json()
    assert found["totalHits"] == 0


async def test_a_cross_site_form_cannot_act_on_an_execution(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "held", [simple("held_task")])
    workflow_id = await start(client, "held", {})
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert (await client.post(f"{API}/workflow/{workflow_id}/restart", content=b"", headers=form)).status_code == 415
    assert (await client.put(f"{API}/workflow/{workflow_id}/pause", headers={"Origin": "http://evil.example"})
            ).status_code == 403
    assert (await client.delete(f"{API}/workflow/{workflow_id}", headers={"Origin": "http://evil.example"})
            ).status_code == 403
    assert await status(client, workflow_id) == "RUNNING"


async def test_json_in_any_spelling_and_bodyless_requests_pass(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "spelled", [simple("spelled_task")])
    body = b'{"name": "spelled", "input": {}}'
    for kind in ("application/json; charset=utf-8", "APPLICATION/JSON", "application/merge-patch+json"):
        response = await client.post(f"{API}/workflow", content=body, headers={"Content-Type": kind})
        assert response.status_code == 200, (kind, response.text)
    workflow_id = response.text
    assert (await client.put(f"{API}/workflow/{workflow_id}/pause")).status_code == 200  # no body, no type
    assert await status(client, workflow_id) == "PAUSED"
    for origin in ("http://podium", "http://PODIUM:80", TRUSTED):  # our own pages, and a trusted one
        for action in ("resume", "pause"):
            answer = await client.put(f"{API}/workflow/{workflow_id}/{action}", headers={**JSON, "Origin": origin})
            assert answer.status_code == 200, (origin, answer.text)


async def test_a_task_log_is_json_as_conductor_python_sends_it(client: httpx.AsyncClient) -> None:
    await register_workflow(client, "logged", [simple("logged_task")])
    await start(client, "logged", {})
    [task] = (await client.get(f"{API}/tasks/poll/batch/logged_task", params={"count": 1})).json()
    log = f"{API}/tasks/{task['taskId']}/log"
    assert (await client.post(log, content=b"copied 3 files", headers=JSON)).status_code == 200
    assert (await client.post(log, content=b"from a page", headers=TEXT)).status_code == 415
    assert [e["log"] for e in (await client.get(log)).json()] == ["copied 3 files"]


async def test_bbs_takes_protobuf_as_upstream_does(client: httpx.AsyncClient) -> None:
    """A protobuf body is not refused for its type: it is decoded as the route's upstream message, and a
    body that does not decode gets upstream's answer to it, in protobuf (issue 20)."""
    answer = await client.post("/v1/tasks/desire.r2", content=b"\x0a\x03abc",
                               headers={"Content-Type": "application/x-protobuf"})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/x-protobuf"
    lifecycle = TaskLifecycleResponse.FromString(answer.content)
    assert (lifecycle.error.type, lifecycle.error.message) == (Error.InvalidRequest, "the request received is invalid")
    cells = await client.post("/v1/cells/list.r1", headers={"Content-Type": "application/x-protobuf"})
    assert cells.status_code == 200 and CellsResponse.FromString(cells.content) == CellsResponse()


async def test_every_answer_carries_the_security_headers(client: httpx.AsyncClient) -> None:
    answers = [
        await client.get(f"{API}/metadata/workflow"),
        await client.get(f"{API}/tasks/poll/batch/nothing", params={"timeout": 1}),  # the worker lane
        await client.post(f"{API}/workflow", content=b"x", headers=TEXT),
        await client.get(f"{API}/no/such/route"),
        await client.post(f"{API}/workflow", content=b"x" * (65 * 1024), headers=JSON),  # the body limit's 413
        await client.post("/v1/cells/list.r1", json={}),
        await client.get("/processes"),
        await client.get("/ui/executions"),
        await client.get("/ui/static/podium.js"),
        await client.get("/health"),
        await client.get("/openapi.json"),
    ]
    for answer in answers:
        headers = answer.headers
        where = (str(answer.request.url), answer.status_code)
        assert headers["x-frame-options"] == "DENY", where
        assert headers["x-content-type-options"] == "nosniff", where
        assert headers["referrer-policy"] == "same-origin", where
        policy = headers["content-security-policy"]
        assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy, where
        assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0], where
    assert answers[4].status_code == 413


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/docs/oauth2-redirect"])
async def test_the_docs_pages_have_a_policy_that_lets_them_run(client: httpx.AsyncClient, path: str) -> None:
    answer = await client.get(path)
    assert answer.status_code == 200 and answer.headers["x-frame-options"] == "DENY"
    policy = answer.headers["content-security-policy"]
    script_src = policy.split("script-src")[1].split(";")[0]
    assert "https://cdn.jsdelivr.net" in script_src and "'unsafe-inline'" not in script_src
    for inline in re.findall(r"<script>(.*?)</script>", answer.text, re.S):  # each inline script, by its hash
        digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in script_src
    assert "frame-ancestors 'none'" in policy


async def test_the_api_document_lists_the_refusals(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for route, methods in [(f"{API}/workflow", "post"), (f"{API}/tasks", "post"), ("/v1/tasks/desire.r2", "post"),
                           ("/api/container_start", "post"), ("/processes", "post"), ("/api/intent/{name}", "post"),
                           ("/processes/{process_id}", "delete")]:
        responses = paths[route][methods]["responses"]
        assert {"403", "415"} <= set(responses), route
    assert "415" not in paths[f"{API}/metadata/workflow"]["get"]["responses"]
