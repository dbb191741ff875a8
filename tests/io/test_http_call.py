"""The HTTP system task's call logic against a real HTTP server on loopback (uvicorn in a thread), through
the shared outbound client (podium.outbound; its policy has its own tests in tests/unit/test_outbound_policy.py
and tests/io/test_outbound_transport.py)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from podium.model.enums import TaskStatus
from podium.outbound import OutboundPolicy
from podium.outbound.transport import new_client
from podium.systasks.http import HttpOutcome, call, parse_request
from tests.loopback import closed_port, serve

ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH"]


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, list[str]]
    body: bytes


@dataclass
class Server:
    base: str
    seen: list[Seen] = field(default_factory=list)


def _headers_of(request: Request) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in request.headers.raw:
        grouped.setdefault(name.decode().lower(), []).append(value.decode())
    return grouped


def _app(seen: list[Seen]) -> Starlette:
    async def echo(request: Request) -> Response:
        body = await request.body()
        seen.append(Seen(request.method, request.url.path, _headers_of(request), body))
        return JSONResponse({"method": request.method, "headers": _headers_of(request), "body": body.decode()})

    async def json_doc(request: Request) -> Response:
        return JSONResponse({"greeting": "hello", "n": 1})

    async def text(request: Request) -> Response:
        return PlainTextResponse(request.query_params.get("text", "hello, world"))

    async def multi(request: Request) -> Response:
        response = PlainTextResponse("ok")
        response.headers.append("X-Multi", "one")
        response.headers.append("X-Multi", "two")
        return response

    async def status(request: Request) -> Response:
        code = int(request.path_params["code"])
        return PlainTextResponse(request.query_params.get("body", ""), status_code=code)

    async def slow(request: Request) -> Response:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not await request.is_disconnected():
            await asyncio.sleep(0.02)
        return PlainTextResponse("late")

    async def cookie(request: Request) -> Response:
        response = PlainTextResponse("set")
        response.set_cookie("session", "secret-of-workflow-a")
        return response

    async def redirect(request: Request) -> Response:
        return RedirectResponse("/json", status_code=302)

    async def sized(request: Request) -> Response:
        return PlainTextResponse("x" * int(request.path_params["size"]))

    async def endless(request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(10_000):  # 640 MB if the reader never stopped
                if await request.is_disconnected():
                    return
                yield b"y" * 65536

        return StreamingResponse(chunks(), media_type="text/plain")

    return Starlette(routes=[
        Route("/echo", echo, methods=ALL_METHODS),
        Route("/json", json_doc),
        Route("/text", text),
        Route("/multi", multi),
        Route("/status/{code}", status),
        Route("/slow", slow),
        Route("/redirect", redirect),
        Route("/cookie", cookie),
        Route("/sized/{size}", sized),
        Route("/endless", endless),
    ])


@pytest.fixture(scope="module")
def http_server() -> Iterator[Server]:
    """One uvicorn server for the module, on its own thread and event loop, on an OS-chosen port."""
    seen: list[Seen] = []
    with serve(_app(seen)) as base:
        yield Server(base, seen)


@pytest.fixture
def server(http_server: Server) -> Server:
    http_server.seen.clear()
    return http_server


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with new_client(OutboundPolicy()) as c:
        yield c


MAX_BODY = 10 * 1024 * 1024


async def run(task_input: dict[str, Any], client: httpx.AsyncClient, max_body: int = MAX_BODY) -> HttpOutcome:
    return await call(task_input, client, max_body)


# --- responses ------------------------------------------------------------------------------------

async def test_get_parses_a_json_body(server: Server, client: httpx.AsyncClient) -> None:
    outcome = await run({"uri": f"{server.base}/json", "method": "GET"}, client)
    assert outcome.status == TaskStatus.COMPLETED
    assert outcome.reason is None
    response = outcome.output["response"]
    assert response["statusCode"] == 200
    assert response["reasonPhrase"] == "OK"
    assert response["body"] == {"greeting": "hello", "n": 1}
    assert response["headers"]["content-type"] == ["application/json"]


async def test_post_sends_a_json_body_with_default_headers(server: Server, client: httpx.AsyncClient) -> None:
    body = {"name": "Ada", "tags": ["x", "é"], "n": 3, "ok": True, "none": None}
    outcome = await run({"uri": f"{server.base}/echo", "method": "post", "body": body,
                         "headers": {"X-Trace": "abc", "X-Count": 2}}, client)
    assert outcome.status == TaskStatus.COMPLETED
    [seen] = server.seen
    assert seen.method == "POST"
    assert seen.headers["content-type"] == ["application/json"]
    assert seen.headers["accept"] == ["application/json"]
    assert seen.headers["x-trace"] == ["abc"]
    assert seen.headers["x-count"] == ["2"]
    assert json.loads(seen.body) == body
    assert outcome.output["response"]["body"]["method"] == "POST"


async def test_a_string_body_is_sent_as_is(server: Server, client: httpx.AsyncClient) -> None:
    await run({"uri": f"{server.base}/echo", "method": "PUT", "body": '{"already": "encoded"}'}, client)
    assert server.seen[0].body == b'{"already": "encoded"}'


async def test_given_headers_win_over_content_type_and_accept(server: Server, client: httpx.AsyncClient) -> None:
    await run({"uri": f"{server.base}/echo", "method": "POST", "body": "plain words",
               "contentType": "application/json", "accept": "application/json",
               "headers": {"content-TYPE": "text/plain", "ACCEPT": "text/html"}}, client)
    [seen] = server.seen
    assert seen.headers["content-type"] == ["text/plain"]
    assert seen.headers["accept"] == ["text/html"]
    assert seen.body == b"plain words"


async def test_content_type_and_accept_come_from_the_input(server: Server, client: httpx.AsyncClient) -> None:
    await run({"uri": f"{server.base}/echo", "method": "POST", "body": [1, 2],
               "contentType": "application/vnd.api+json", "accept": "text/csv"}, client)
    [seen] = server.seen
    assert seen.headers["content-type"] == ["application/vnd.api+json"]
    assert seen.headers["accept"] == ["text/csv"]
    assert seen.body == b"[1,2]"


async def test_form_encoding(server: Server, client: httpx.AsyncClient) -> None:
    body = {"a": "1 2", "b": ["x", "y"], "c": True, "d": 4.5}
    outcome = await run({"uri": f"{server.base}/echo", "method": "POST", "body": body,
                         "contentType": "application/x-www-form-urlencoded"}, client)
    assert outcome.status == TaskStatus.COMPLETED
    [seen] = server.seen
    assert seen.headers["content-type"] == ["application/x-www-form-urlencoded"]
    assert seen.body == b"a=1+2&b=x&b=y&c=true&d=4.5"


async def test_a_text_body_stays_text(server: Server, client: httpx.AsyncClient) -> None:
    outcome = await run({"uri": f"{server.base}/text"}, client)
    assert outcome.status == TaskStatus.COMPLETED
    assert outcome.output["response"]["body"] == "hello, world"


@pytest.mark.parametrize(("text", "expected"), [("NaN", "NaN"), ("Infinity", "Infinity"), ("42", 42),
                                                ('"quoted"', "quoted"), ("[1, 2", "[1, 2")])
async def test_body_is_json_only_when_it_parses_as_strict_json(
        server: Server, client: httpx.AsyncClient, text: str, expected: Any) -> None:
    outcome = await run({"uri": f"{server.base}/text?text={text}"}, client)
    assert outcome.output["response"]["body"] == expected


async def test_repeated_response_headers_are_grouped(server: Server, client: httpx.AsyncClient) -> None:
    outcome = await run({"uri": f"{server.base}/multi"}, client)
    assert outcome.output["response"]["headers"]["x-multi"] == ["one", "two"]


async def test_request_headers_may_repeat(server: Server, client: httpx.AsyncClient) -> None:
    await run({"uri": f"{server.base}/echo", "headers": {"X-Tag": ["a", "b"]}}, client)
    assert server.seen[0].headers["x-tag"] == ["a", "b"]


@pytest.mark.parametrize("method", [m.lower() for m in ALL_METHODS])
async def test_every_method_case_insensitive(server: Server, client: httpx.AsyncClient, method: str) -> None:
    outcome = await run({"uri": f"{server.base}/echo", "method": method}, client)
    assert outcome.status == TaskStatus.COMPLETED
    assert server.seen[0].method == method.upper()
    if method == "head":
        assert outcome.output["response"]["body"] is None


async def test_a_500_fails_with_the_body_as_reason(server: Server, client: httpx.AsyncClient) -> None:
    outcome = await run({"uri": f"{server.base}/status/500?body=database+on+fire"}, client)
    assert outcome.status == TaskStatus.FAILED
    assert outcome.reason == "database on fire"
    response = outcome.output["response"]
    assert (response["statusCode"], response["reasonPhrase"]) == (500, "Internal Server Error")
    assert response["body"] == "database on fire"


async def test_a_404_with_an_empty_body_fails_with_the_status_line(server: Server, client: httpx.AsyncClient) -> None:
    outcome = await run({"uri": f"{server.base}/status/404"}, client)
    assert outcome.status == TaskStatus.FAILED
    assert outcome.reason == "HTTP 404 Not Found"
    assert outcome.output["response"]["statusCode"] == 404
    assert outcome.output["response"]["body"] is None


async def test_a_long_error_body_is_truncated_in_the_reason(server: Server, client: httpx.AsyncClient) -> None:
    outcome = await run({"uri": f"{server.base}/status/503?body={'x' * 5000}"}, client)
    assert outcome.reason == "x" * 1000
    assert outcome.output["response"]["body"] == "x" * 5000


async def test_any_2xx_completes(server: Server, client: httpx.AsyncClient) -> None:
    outcome = await run({"uri": f"{server.base}/status/204"}, client)
    assert outcome.status == TaskStatus.COMPLETED
    assert outcome.output["response"]["body"] is None


async def test_redirects_are_not_followed(server: Server, client: httpx.AsyncClient) -> None:
    outcome = await run({"uri": f"{server.base}/redirect"}, client)
    assert outcome.status == TaskStatus.FAILED
    response = outcome.output["response"]
    assert response["statusCode"] == 302
    assert response["headers"]["location"] == ["/json"]


@pytest.mark.parametrize("form", ["http_request", "top_level"])
async def test_both_input_forms(server: Server, client: httpx.AsyncClient, form: str) -> None:
    request = {"uri": f"{server.base}/echo", "method": "PATCH", "body": {"k": "v"}, "vipAddress": "ignored"}
    task_input = {"http_request": request} if form == "http_request" else request
    outcome = await run(task_input, client)
    assert outcome.status == TaskStatus.COMPLETED
    assert (server.seen[0].method, server.seen[0].body) == ("PATCH", b'{"k":"v"}')


async def test_cookies_do_not_travel_between_tasks(server: Server, client: httpx.AsyncClient) -> None:
    first = await run({"uri": f"{server.base}/cookie"}, client)
    assert first.output["response"]["headers"]["set-cookie"][0].startswith("session=secret-of-workflow-a")
    await run({"uri": f"{server.base}/echo"}, client)
    assert "cookie" not in server.seen[0].headers


# --- failures without a response ------------------------------------------------------------------

async def test_a_slow_endpoint_times_out(server: Server, client: httpx.AsyncClient) -> None:
    started = time.monotonic()
    outcome = await run({"uri": f"{server.base}/slow", "readTimeOut": 200}, client)
    assert time.monotonic() - started < 2
    assert outcome.status == TaskStatus.FAILED
    assert outcome.reason == f"Read timed out after 200 ms calling GET {server.base}/slow"
    assert outcome.output == {}


async def test_connection_refused(client: httpx.AsyncClient) -> None:
    uri = f"http://127.0.0.1:{closed_port()}/x"
    outcome = await run({"uri": uri, "connectionTimeOut": 1000}, client)
    assert outcome.status == TaskStatus.FAILED
    assert outcome.reason == f"Failed to connect to {uri}: connection refused"
    assert outcome.output == {}


async def test_an_unresolvable_host(client: httpx.AsyncClient) -> None:
    outcome = await run({"uri": "http://no-such-host.invalid/x", "connectionTimeOut": 2000}, client)
    assert outcome.status == TaskStatus.FAILED
    assert outcome.reason is not None
    assert outcome.reason.startswith("Failed to connect to http://no-such-host.invalid/x: ")
    assert outcome.output == {}


# --- requests that cannot be made -----------------------------------------------------------------

BAD_REQUESTS: list[tuple[dict[str, Any], str]] = [
    ({}, "needs a uri"),
    ({"uri": ""}, "needs a uri"),
    ({"uri": 42}, "needs a uri"),
    ({"uri": "ftp://example.com/file"}, "must be an absolute http:// or https:// URL"),
    ({"uri": "/relative/path"}, "must be an absolute http:// or https:// URL"),
    ({"uri": "http://"}, "Invalid uri"),
    ({"uri": "http://[::1/"}, "Invalid uri"),
    ({"uri": "{base}/echo", "method": "FETCH"}, "Unsupported HTTP method 'FETCH'"),
    ({"uri": "{base}/echo", "method": 7}, "Unsupported HTTP method 7"),
    ({"uri": "{base}/echo", "connectionTimeOut": "soon"}, "connectionTimeOut must be a number of milliseconds"),
    ({"uri": "{base}/echo", "readTimeOut": True}, "readTimeOut must be a number of milliseconds"),
    ({"uri": "{base}/echo", "readTimeOut": [1]}, "readTimeOut must be a number of milliseconds"),
    ({"uri": "{base}/echo", "readTimeOut": -5}, "readTimeOut must be a positive number"),
    ({"uri": "{base}/echo", "readTimeOut": "NaN"}, "readTimeOut must be a positive number"),
    ({"uri": "{base}/echo", "headers": ["X-A: 1"]}, "headers must be an object, got an array"),
    ({"uri": "{base}/echo", "headers": "X-A: 1"}, "headers must be an object, got a string"),
    ({"uri": "{base}/echo", "headers": {"X-A": {"nested": 1}}}, "Header 'X-A' must be a string"),
    ({"uri": "{base}/echo", "headers": {"bad name": "x"}}, "Invalid header name 'bad name'"),
    ({"uri": "{base}/echo", "headers": {"X-A": "a\r\nX-Injected: 1"}}, "control or non-ASCII"),
    ({"uri": "{base}/echo", "headers": {"X-A": "café"}}, "control or non-ASCII"),
    ({"uri": "{base}/echo", "accept": 5}, "accept must be a string"),
    ({"uri": "{base}/echo", "method": "POST", "body": [1], "contentType": "application/x-www-form-urlencoded"},
     "must be an object or a string, got an array"),
    ({"http_request": "GET /echo"}, "http_request must be an object, got a string"),
    ({"uri": "{base}/echo", "method": "POST", "body": {"x": float("nan")}}, "cannot be sent as JSON"),
    ({"uri": "{base}/echo", "headers": {1: "x"}}, "Invalid header name 1"),
]


@pytest.mark.parametrize(("task_input", "fragment"), BAD_REQUESTS)
async def test_bad_requests_fail_terminally(
        server: Server, client: httpx.AsyncClient, task_input: dict[str, Any], fragment: str) -> None:
    if isinstance(task_input.get("uri"), str):
        task_input = task_input | {"uri": task_input["uri"].replace("{base}", server.base)}
    outcome = await run(task_input, client)
    assert outcome.status == TaskStatus.FAILED_WITH_TERMINAL_ERROR
    assert outcome.reason is not None
    assert fragment in outcome.reason
    assert outcome.output == {}
    assert server.seen == []


def test_parse_request_defaults_and_numeric_strings() -> None:
    request = parse_request({"uri": "https://example.com/a?b=1", "connectionTimeOut": "250", "readTimeOut": 1500})
    assert request.method == "GET"
    assert (request.accept, request.content_type) == ("application/json", "application/json")
    assert (request.connect_timeout_s, request.read_timeout_s) == (0.25, 1.5)
    assert parse_request({"uri": "http://example.com/"}).read_timeout_s == 3.0
    assert request.body is None and request.content() is None


# --- the outbound policy and the body limit --------------------------------------------------------

async def test_a_refused_host_is_never_called(server: Server) -> None:
    async with new_client(OutboundPolicy(denied=["127.0.0.0/8"])) as refusing:
        outcome = await run({"uri": f"{server.base}/echo"}, refusing)
    assert outcome.status == TaskStatus.FAILED_WITH_TERMINAL_ERROR
    assert outcome.reason == (
        "outbound call to 127.0.0.1 refused: 127.0.0.1 matches http_denied_hosts entry 127.0.0.0/8")
    assert outcome.output == {}
    assert server.seen == []
    async with new_client(OutboundPolicy(allowed=["127.0.0.1"])) as allowing:
        allowed = await run({"uri": f"{server.base}/echo"}, allowing)
    assert allowed.status == TaskStatus.COMPLETED


async def test_a_body_up_to_the_limit_is_kept(server: Server, client: httpx.AsyncClient) -> None:
    outcome = await run({"uri": f"{server.base}/sized/1000"}, client, max_body=1000)
    assert outcome.status == TaskStatus.COMPLETED
    assert outcome.output["response"]["body"] == "x" * 1000


@pytest.mark.parametrize("path", ["/sized/1001", "/endless"])
async def test_a_body_over_the_limit_fails_the_task_and_is_not_kept(
        server: Server, client: httpx.AsyncClient, path: str) -> None:
    started = time.monotonic()
    outcome = await run({"uri": f"{server.base}{path}"}, client, max_body=1000)
    assert time.monotonic() - started < 5  # the endless body was not read to its end
    assert outcome.status == TaskStatus.FAILED_WITH_TERMINAL_ERROR
    assert outcome.reason == "HTTP response body larger than 1000 bytes (max_payload_bytes)"
    assert outcome.output == {}
