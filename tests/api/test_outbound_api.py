"""Every outbound call of the real app obeys the outbound policy (docs/security.md): an HTTP task, a REMOTE
task's member call and a status webhook to a refused address fail at once with a reason naming the rule,
and nothing reaches the target (a real server on loopback). BBS callbacks and TANGO members have theirs
in tests/bbs/test_callbacks.py and tests/tango/test_outbound.py. Also: the HTTP task's response body
limit (max_payload_bytes)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from podium.app import create_app
from podium.settings import Settings
from tests.api.helpers import eventually, register_workflow, start, wait_status
from tests.loopback import serve

DENY_LOOPBACK = {"http_denied_hosts": ["127.0.0.0/8"]}
DENIED_REASON = "outbound call to 127.0.0.1 refused: 127.0.0.1 matches http_denied_hosts entry 127.0.0.0/8"
BIG = 200_000

MakeApp = Callable[..., Awaitable[httpx.AsyncClient]]


class Target:
    """A loopback server that records every request path it receives."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.port = int(base.rsplit(":", 1)[1])
        self.seen: list[str] = []


@pytest.fixture
def target() -> Iterator[Target]:
    found: list[Target] = []

    async def any_path(request: Request) -> Response:
        found[0].seen.append(request.url.path)
        if request.url.path == "/big":
            return PlainTextResponse("x" * BIG)
        return PlainTextResponse("started")

    app = Starlette(routes=[Route("/{path:path}", any_path, methods=["GET", "POST"])])
    with serve(app) as base:
        found.append(Target(base))
        yield found[0]


@pytest.fixture
async def make_app(db_url: str, target: Target) -> AsyncIterator[MakeApp]:
    """`await make_app(**settings)`: a client of the real app with these settings, its loops running.
    (It depends on `target` so that the app stops before the target does.)"""
    async with contextlib.AsyncExitStack() as stack:

        async def make(**settings: Any) -> httpx.AsyncClient:
            app = create_app(Settings(database_url=db_url, **settings))
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app)
            return await stack.enter_async_context(httpx.AsyncClient(transport=transport, base_url="http://podium"))

        yield make


def http_task(uri: str) -> dict[str, Any]:
    return {"name": "call", "taskReferenceName": "call", "type": "HTTP",
            "inputParameters": {"http_request": {"uri": uri, "method": "GET"}}}


async def failed_task(client: httpx.AsyncClient, name: str, task: dict[str, Any]) -> dict[str, Any]:
    await register_workflow(client, name, [task])
    done = await wait_status(client, await start(client, name), "FAILED", timeout=5)
    [only] = done["tasks"]
    return dict(only)


@pytest.mark.parametrize(("settings", "host", "reason"), [
    (DENY_LOOPBACK, "127.0.0.1", DENIED_REASON),
    ({}, "0.0.0.0", "outbound call to 0.0.0.0 refused: unspecified address (always refused)"),
    ({"outbound_policy": "strict"}, "127.0.0.1",
     "outbound call to 127.0.0.1 refused: loopback address (outbound_policy = strict)"),
], ids=["denied", "unspecified", "strict"])
async def test_an_http_task_to_a_refused_address_fails_terminally(
        make_app: MakeApp, target: Target, settings: dict[str, Any], host: str, reason: str) -> None:
    client = await make_app(**settings)
    await client.post("/api/metadata/taskdefs", json=[{"name": "call", "retryCount": 2, "retryDelaySeconds": 0}])
    task = await failed_task(client, "refused_http", http_task(f"http://{host}:{target.port}/x"))
    assert task["status"] == "FAILED_WITH_TERMINAL_ERROR"  # never retried
    assert task["reasonForIncompletion"] == reason
    assert task["outputData"] == {}
    assert target.seen == []


async def test_a_remote_task_to_a_refused_member_fails_with_the_rule(make_app: MakeApp, target: Target) -> None:
    client = await make_app(**DENY_LOOPBACK)
    task = await failed_task(client, "refused_remote", {
        "name": "train", "taskReferenceName": "train", "type": "REMOTE",
        "inputParameters": {"url": target.base, "heartbeat": {"mode": "push"}}})
    assert task["status"] == "FAILED"  # as an unreachable member: the task definition's retries apply
    assert task["reasonForIncompletion"] == f"{target.base}/start: {DENIED_REASON}"
    assert target.seen == []


async def test_a_status_webhook_to_a_refused_address_is_not_sent(
        make_app: MakeApp, target: Target, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "podium")
    client = await make_app(status_webhook_url=f"{target.base}/hook", **DENY_LOOPBACK)
    await register_workflow(client, "listened", [{"name": "n", "taskReferenceName": "n", "type": "NOOP"}],
                            workflowStatusListenerEnabled=True)
    await wait_status(client, await start(client, "listened"), "COMPLETED")

    async def refusals() -> list[logging.LogRecord]:
        return [r for r in caplog.records if getattr(r, "action", None) == "outbox_refused"]

    record = (await eventually(refusals, timeout=5))[0]
    assert record.error == DENIED_REASON  # type: ignore[attr-defined]
    assert record.destination == f"{target.base}/hook"  # type: ignore[attr-defined]
    assert target.seen == []


async def test_an_http_response_over_max_payload_bytes_fails_the_task_and_is_not_stored(
        make_app: MakeApp, target: Target) -> None:
    client = await make_app(max_payload_bytes=64 * 1024)
    task = await failed_task(client, "big_http", http_task(f"{target.base}/big"))
    assert task["status"] == "FAILED_WITH_TERMINAL_ERROR"
    assert task["reasonForIncompletion"] == "HTTP response body larger than 65536 bytes (max_payload_bytes)"
    assert task["outputData"] == {}
    assert target.seen == ["/big"]
