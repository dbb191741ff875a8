"""The HTTP system task's call logic against a real HTTP server on loopback (uvicorn in a thread)."""

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
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from podium.model.enums import TaskStatus
from podium.settings import Settings
from podium.systasks.http import HostPolicy, HttpOutcome, call, new_client, parse_request
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

    return Starlette(routes=[
        Route("/echo", echo, methods=ALL_METHODS),
        Route("/json", json_doc),
        Route("/text", text),
        Route("/multi", multi),
        Route("/status/{code}", status),
        Route("/slow", slow),
        Route("/redirect", redirect),
        Route("/cookie", cookie),
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
    async with new_client() as c:
        yield c


OPEN = HostPolicy()


async def run(task_input: dict[str, Any], client: httpx.AsyncClient, policy: HostPolicy = OPEN) -> HttpOutcome:
    return await call(task_input, client, policy)


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


# --- host policy ----------------------------------------------------------------------------------

def test_an_empty_policy_allows_every_host() -> None:
    assert HostPolicy().check("http://anything.example/") is None
    assert HostPolicy([], []).check("https://10.0.0.1:8443/x") is None


def test_allowed_hosts_are_globs_matched_on_the_host_only() -> None:
    policy = HostPolicy(allowed=["*.example.com", "localhost"])
    assert policy.check("https://api.example.com/v1") is None
    assert policy.check("https://a.b.example.com/v1") is None
    assert policy.check("http://localhost:8080/x") is None
    assert policy.check("https://example.com/") == (
        "HTTP task may not call host 'example.com': it is not in http_allowed_hosts")
    assert policy.check("https://evil.com/?next=api.example.com") is not None
    assert policy.check("https://api.example.com@evil.com/") is not None


def test_denied_hosts_are_refused() -> None:
    policy = HostPolicy(denied=["evil.com", "169.254.*"])
    assert policy.check("https://evil.com/x") == (
        "HTTP task may not call host 'evil.com': it is denied by configuration (http_denied_hosts)")
    assert policy.check("http://169.254.169.254/latest/meta-data") is not None
    assert policy.check("https://good.com/") is None


def test_the_policy_comes_from_settings() -> None:
    settings = Settings(http_allowed_hosts=["*.example.com"], http_denied_hosts=["admin.example.com"])
    policy = HostPolicy.from_settings(settings)
    assert policy.check("https://api.example.com/") is None
    assert policy.check("https://admin.example.com/") is not None
    assert policy.check("https://other.org/") is not None


def test_denied_wins_over_allowed() -> None:
    policy = HostPolicy(allowed=["*.example.com"], denied=["admin.example.com"])
    assert policy.check("https://api.example.com/") is None
    reason = policy.check("https://admin.example.com/")
    assert reason is not None and "denied by configuration" in reason


def test_matching_is_case_insensitive_both_ways() -> None:
    policy = HostPolicy(allowed=["*.Example.COM"], denied=["EVIL.com"])
    assert policy.check("https://API.EXAMPLE.com/") is None
    assert policy.check("https://Evil.Com/") is not None


@pytest.mark.parametrize("uri", ["http://127.1/", "http://2130706433/", "http://0x7f.0.0.1/",
                                 "http://127.0.0.1./", "http://[::ffff:127.0.0.1]/", "http://LOCALHOST./"])
def test_other_spellings_of_a_denied_host_are_refused(uri: str) -> None:
    assert HostPolicy(denied=["127.0.0.1", "localhost"]).check(uri) is not None


def test_ipv6_literals_and_international_names() -> None:
    assert HostPolicy(denied=["[::1]"]).check("http://[0:0::1]:8080/") is not None
    assert HostPolicy(denied=["::1"]).check("http://[::1]/") is not None
    assert HostPolicy(denied=["xn--bcher-kva.de"]).check("http://bücher.de/") is not None
    assert HostPolicy(denied=["bücher.de"]).check("http://xn--bcher-kva.de/") is not None


async def test_a_refused_host_is_never_called(server: Server, client: httpx.AsyncClient) -> None:
    outcome = await run({"uri": f"{server.base}/echo"}, client, HostPolicy(denied=["127.0.0.*"]))
    assert outcome.status == TaskStatus.FAILED_WITH_TERMINAL_ERROR
    assert outcome.reason == (
        "HTTP task may not call host '127.0.0.1': it is denied by configuration (http_denied_hosts)")
    assert outcome.output == {}
    assert server.seen == []
    allowed = await run({"uri": f"{server.base}/echo"}, client, HostPolicy(allowed=["127.0.0.1"]))
    assert allowed.status == TaskStatus.COMPLETED
