"""Fixtures for the Diego BBS Tasks API tests (shared spec/bbs.md, scenarios b.6; wire contract docs/bbs.md).

`bbs` is the real app in process on each backend (`db_url`) and on each wire (`wire`: upstream's protobuf
messages or their JSON mapping), with a FakeClock and an httpx client; `make_bbs(**settings)` builds one with
other settings (or parametrize `bbs` indirectly with a dict). Every BBS answer is HTTP 200 with a body on the
request's wire, so `Bbs.call` checks that envelope and returns the body as the JSON shape (a protobuf answer
decoded, its zero-valued scalars filled in as JSON shows them), and `error_of` reads the error in it.
`Bbs.events()` (or the `events` fixture) follows the SSE event stream (protobuf events by default, JSON
ones asked for on the JSON wire) by calling the ASGI app directly: httpx's ASGITransport buffers a whole
response, so it cannot follow a stream. `callbacks` is a real HTTP server on loopback that records
completion callbacks and answers scripted statuses.
"""

from __future__ import annotations

import asyncio
import base64
import codecs
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message

from podium.app import create_app
from podium.model.diego import codec, task_pb2
from podium.model.diego.routes import EVENTS as EVENT_MESSAGES
from podium.model.diego.routes import MESSAGES
from podium.service.clock import FakeClock
from podium.settings import Settings
from tests import waits
from tests.loopback import serve

T = TypeVar("T")

DEADLINE = 5.0  # real seconds to wait for background work (callbacks, the convergence loop, events)
SETTLE = 0.3  # real seconds given to background work that must NOT happen, before checking it did not

LIST = "/v1/tasks/list.r3"
BY_GUID = "/v1/tasks/get_by_task_guid.r3"
DESIRE = "/v1/tasks/desire.r2"
START = "/v1/tasks/start"
COMPLETE = "/v1/tasks/complete"
FAIL = "/v1/tasks/fail"
REJECT = "/v1/tasks/reject"
CANCEL = "/v1/tasks/cancel"
RESOLVING = "/v1/tasks/resolving"
DELETE = "/v1/tasks/delete"
OFFERS = "/v1/tasks/offers"
HEARTBEAT = "/v1/cells/heartbeat"
CELLS = "/v1/cells/list.r1"
EVENTS = "/v1/events/tasks.r1"

TASK_ROUTES = [LIST, BY_GUID, DESIRE, START, COMPLETE, FAIL, REJECT, CANCEL, RESOLVING, DELETE]
ALL_ROUTES = [*TASK_ROUTES, OFFERS, HEARTBEAT, CELLS]

NOT_FOUND = "the requested resource could not be found"
BAD_REQUEST = "the request received is invalid"
CANCELLED = "task was cancelled"
NOT_STARTED = "not started within time limit"
CELL_DISAPPEARED = "cell disappeared before completion"
MARKER = "marker-"  # guid prefix of the tasks that mark a place in the event stream

WIRES = ["json", "protobuf"]
PROTOBUF = "application/x-protobuf"


# --- bodies and checks --------------------------------------------------------------------------------


def task_def(**overrides: Any) -> dict[str, Any]:
    """A valid TaskDefinition; keyword arguments replace or add fields."""
    return {"rootfs": "docker:///busybox", "action": {"run": {"path": "sh", "args": ["-c", "true"]}}, **overrides}


def desire_body(guid: str, domain: str = "d", **definition: Any) -> dict[str, Any]:
    return {"task_guid": guid, "domain": domain, "task_definition": task_def(**definition)}


def complete_body(guid: str, cell: str, *, failed: bool = False, reason: str = "", result: str = "") -> dict[str, Any]:
    return {"task_guid": guid, "cell_id": cell, "failed": failed, "failure_reason": reason, "result": result}


def error_of(body: dict[str, Any]) -> dict[str, Any] | None:
    """The `{type, message}` error of a BBS answer, or None when it succeeded."""
    error = body.get("error")
    if error is None:
        return None
    assert isinstance(error, dict) and isinstance(error.get("type"), str), body
    assert isinstance(error.get("message"), str), body
    return error


def assert_error(body: dict[str, Any], kind: str, message: str | None = None, *contains: str) -> dict[str, Any]:
    """The answer failed with this error type (and exact message, and these parts of it, if given)."""
    error = error_of(body)
    assert error is not None, f"expected {kind}, got success: {body}"
    assert error["type"] == kind, error
    if message is not None:
        assert error["message"] == message, error
    for part in contains:
        assert part in error["message"], error
    return error


def transition(source: str, target: str) -> str:
    return f"Cannot transition from {source} to {target}"


def guids(tasks: list[dict[str, Any]]) -> list[str]:
    return sorted(t["task_guid"] for t in tasks)


def completion(before: dict[str, Any], now_ns: int, **fields: Any) -> dict[str, Any]:
    """`before` as CompleteTask, FailTask or CancelTask leave it at `now_ns` (b.3): Completed, the cell
    cleared, both completion times set; `fields` gives failed, failure_reason, result."""
    done = {"state": "Completed", "cell_id": "", "first_completed_at": now_ns, "updated_at": now_ns}
    return {**before, **done, **fields}


async def eventually(check: Callable[[], Awaitable[T | None]], what: str, timeout: float = DEADLINE) -> T:
    """`tests.waits.eventually` with this suite's deadline."""
    found: T = await waits.eventually(check, what, timeout)
    return found


# --- the app ------------------------------------------------------------------------------------------


@dataclass
class Bbs:
    """The app under test, its client and its clock, with one helper per BBS call."""

    app: FastAPI
    client: httpx.AsyncClient
    clock: FakeClock
    t0_ms: int = 0
    wire: str = "json"
    _markers: int = 0

    @property
    def protobuf(self) -> bool:
        return self.wire == "protobuf"

    def encodes(self, route: str, body: Any) -> bool:
        """`body` can be sent on this wire (protobuf cannot carry a value of the wrong type)."""
        if not self.protobuf:
            return True
        try:
            encode(route, body)
        except (codec.WrongType, AttributeError):
            return False
        return True

    def as_stored(self, definition: dict[str, Any]) -> dict[str, Any]:
        """A TaskDefinition as this wire gives it back: protobuf drops zero values and unknown keys."""
        if not self.protobuf:
            return definition
        return codec.to_dict(codec.from_dict(definition, task_pb2.TaskDefinition, strict=True))

    def now_ns(self) -> int:
        return self.clock.now() * 1_000_000

    def advance(self, seconds: float) -> None:
        self.clock.advance(round(seconds * 1000))

    def at(self, seconds: float) -> None:
        """Move the clock to `seconds` after the app started (never backwards)."""
        target = self.t0_ms + round(seconds * 1000)
        assert target >= self.clock.now(), "the clock only moves forward"
        self.clock.advance(target - self.clock.now())

    async def converge(self) -> None:
        """One full convergence pass (spec b.4), now."""
        await self.app.state.bbs.converge()

    # envelope

    async def post(self, route: str, body: Any = None, *, raw: bytes | None = None) -> httpx.Response:
        """POST `body` on this wire (or the `raw` bytes, declared as this wire): the answer is HTTP 200 with a
        body on the same wire, never a traceback."""
        if self.protobuf:
            content, kind = (raw if raw is not None else encode(route, body)), PROTOBUF
        else:
            content, kind = (raw if raw is not None else json.dumps(body).encode()), "application/json"
        response = await self.client.post(route, content=content, headers={"Content-Type": kind})
        assert response.status_code == 200, (route, response.status_code, response.text)
        assert response.headers.get("content-type", "").startswith(kind), (route, response.headers)
        assert b"Traceback" not in response.content, response.text
        return response

    async def call(self, route: str, body: Any = None, *, raw: bytes | None = None) -> dict[str, Any]:
        """The answer of a route (HTTP 200 checked) as a JSON object, success or not."""
        response = await self.post(route, body, raw=raw)
        found = decode(route, response.content) if self.protobuf else response.json()
        assert isinstance(found, dict), (route, found)
        return found

    async def ok(self, route: str, body: Any) -> dict[str, Any]:
        found = await self.call(route, body)
        assert error_of(found) is None, (route, body, found)
        return found

    async def fails(self, route: str, body: Any, kind: str, message: str | None = None, *contains: str,
                    raw: bytes | None = None) -> dict[str, Any]:
        found = await self.call(route, body, raw=raw)
        assert_error(found, kind, message, *contains)
        return found

    # reads

    async def task(self, guid: str) -> dict[str, Any]:
        task: dict[str, Any] = (await self.ok(BY_GUID, {"task_guid": guid}))["task"]
        assert task["task_guid"] == guid, task
        return task

    async def tasks(self, **filters: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = (await self.ok(LIST, filters)).get("tasks", [])
        return found

    async def snapshot(self) -> list[dict[str, Any]]:
        """Every stored task, in guid order."""
        return sorted(await self.tasks(), key=lambda t: str(t["task_guid"]))

    async def missing(self, guid: str) -> None:
        await self.fails(BY_GUID, {"task_guid": guid}, "ResourceNotFound", NOT_FOUND)

    async def wait_gone(self, guid: str) -> None:
        """Until the task is deleted (by background work)."""

        async def gone() -> bool:
            error = error_of(await self.call(BY_GUID, {"task_guid": guid}))
            return error is not None and error["type"] == "ResourceNotFound"

        await eventually(gone, f"deletion of {guid}")

    async def wait_state(self, guid: str, state: str) -> dict[str, Any]:
        """Until the task is in `state` (by background work); returns it."""

        async def reached() -> dict[str, Any] | None:
            task = await self.task(guid)
            return task if task["state"] == state else None

        return await eventually(reached, f"{guid} {state}")

    async def cells(self) -> list[str]:
        return sorted(c["cell_id"] for c in (await self.ok(CELLS, {})).get("cells", []))

    async def offers(self, cell: str, domain: str = "d", count: int = 10) -> list[str]:
        """Guids of the Pending tasks offered to `cell` (no long poll)."""
        body = {"domain": domain, "cell_id": cell, "count": count, "timeout_ms": 0}
        return guids((await self.ok(OFFERS, body)).get("tasks", []))

    # operations

    async def desire(self, guid: str, domain: str = "d", **definition: Any) -> None:
        await self.ok(DESIRE, desire_body(guid, domain, **definition))

    async def start(self, guid: str, cell: str = "cell-1") -> bool:
        return bool((await self.ok(START, {"task_guid": guid, "cell_id": cell}))["should_start"])

    async def complete(self, guid: str, cell: str = "cell-1", *, failed: bool = False, reason: str = "",
                       result: str = "") -> None:
        await self.ok(COMPLETE, complete_body(guid, cell, failed=failed, reason=reason, result=result))

    async def fail(self, guid: str, reason: str) -> None:
        await self.ok(FAIL, {"task_guid": guid, "failure_reason": reason})

    async def reject(self, guid: str, reason: str) -> None:
        await self.ok(REJECT, {"task_guid": guid, "rejection_reason": reason})

    async def cancel(self, guid: str) -> None:
        await self.ok(CANCEL, {"task_guid": guid})

    async def resolving(self, guid: str) -> None:
        await self.ok(RESOLVING, {"task_guid": guid})

    async def delete(self, guid: str) -> None:
        await self.ok(DELETE, {"task_guid": guid})

    async def heartbeat(self, cell: str, ttl_seconds: float) -> None:
        await self.ok(HEARTBEAT, {"cell_id": cell, "ttl_seconds": ttl_seconds})

    async def given(self, state: str, guid: str, *, cell: str = "cell-1", domain: str = "d",
                    **definition: Any) -> dict[str, Any]:
        """A task brought to `state` through the API (Running on `cell`); returns it as stored."""
        await self.desire(guid, domain, **definition)
        if state != "Pending":
            assert await self.start(guid, cell)
        if state in ("Completed", "Resolving"):
            await self.complete(guid, cell)
        if state == "Resolving":
            await self.resolving(guid)
        task = await self.task(guid)
        assert task["state"] == state, task
        return task

    @contextlib.asynccontextmanager
    async def events(self) -> AsyncIterator[EventStream]:
        """The task event stream, live (a probe task's life was seen on it) and empty."""
        stream = EventStream(self)
        await stream.open()
        try:
            yield stream
        finally:
            await stream.close()

    async def marker(self) -> str:
        """Desire a new task in domain `marker`; returns its guid."""
        self._markers += 1
        guid = f"{MARKER}{self._markers}"
        await self.desire(guid, domain="marker")
        return guid


def encode(route: str, body: Any) -> bytes:
    """A request body (the JSON shape) as the route's upstream protobuf message."""
    return codec.from_dict(body or {}, MESSAGES[route][0], strict=True).SerializeToString()


def decode(route: str, content: bytes) -> dict[str, Any]:
    """A protobuf answer as the JSON shape: the route's response message, zero-valued scalars filled in."""
    return codec.to_dict(MESSAGES[route][1].FromString(content), defaults=True)


Factory = Callable[..., Awaitable[Bbs]]


@pytest.fixture(params=WIRES)
def wire(request: pytest.FixtureRequest) -> str:
    """Every BBS test runs on both wires: upstream's protobuf messages, and their JSON mapping."""
    return str(request.param)


@pytest.fixture
async def make_bbs(db_url: str, wire: str) -> AsyncIterator[Factory]:
    """`await make_bbs(**settings)`: the app with these Settings (bbs_max_task_retries, bbs_kick_s, ...)."""
    async with contextlib.AsyncExitStack() as stack:

        async def make(**settings: Any) -> Bbs:
            clock = FakeClock()
            app = create_app(Settings(database_url=db_url, **settings), clock=clock)
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app)
            client = await stack.enter_async_context(httpx.AsyncClient(transport=transport, base_url="http://podium"))
            return Bbs(app, client, clock, t0_ms=clock.now(), wire=wire)

        yield make


@pytest.fixture
async def bbs(make_bbs: Factory, request: pytest.FixtureRequest) -> Bbs:
    """The app with default settings, or with the settings dict given by indirect parametrization."""
    return await make_bbs(**getattr(request, "param", {}))


@pytest.fixture
async def events(bbs: Bbs) -> AsyncIterator[EventStream]:
    async with bbs.events() as stream:
        yield stream


# --- the event stream ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    kind: str
    data: dict[str, Any]
    id: str | None

    @property
    def guid(self) -> str:
        task = self.data.get("after") or self.data.get("task") or {}
        return str(task.get("task_guid", ""))

    @property
    def states(self) -> tuple[str | None, str | None]:
        """(state before, state after): None before a creation and after a removal."""
        if self.kind == "task_changed":
            return self.data["before"]["state"], self.data["after"]["state"]
        if self.kind == "task_created":
            return None, self.data["task"]["state"]
        return self.data["task"]["state"], None


class EventStream:
    """`GET /v1/events/tasks.r1` called on the ASGI app in this event loop; every event received is
    appended to `events`, in order."""

    def __init__(self, bbs: Bbs) -> None:
        self.bbs = bbs
        # protobuf events unless JSON is asked for, as upstream's Go client reads them
        self.accept = b"text/event-stream" if bbs.protobuf else b"application/json"
        self.events: list[Event] = []
        self.status = 0
        self.headers: dict[str, str] = {}
        self._text = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._requested = False
        self._started = asyncio.Event()
        self._grown = asyncio.Event()
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        scope = {
            "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": EVENTS, "raw_path": EVENTS.encode(), "root_path": "",
            "query_string": b"", "headers": [(b"host", b"podium"), (b"accept", self.accept)],
            "client": ("127.0.0.1", 50000), "server": ("podium", 80), "extensions": {},
        }
        self._task = asyncio.create_task(self.bbs.app(scope, self._receive, self._send))
        deadline = time.monotonic() + DEADLINE
        while not self._started.is_set():
            if self._task.done():
                self._task.result()
                raise AssertionError("the event stream ended before it answered")
            assert time.monotonic() < deadline, "the event stream did not answer"
            await asyncio.sleep(0.01)
        assert self.status == 200, self.status
        assert self.headers.get("content-type", "").startswith("text/event-stream"), self.headers
        await self._sync()

    async def close(self) -> None:
        self._closing.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self._task, DEADLINE)
        except TimeoutError:
            raise AssertionError("the event stream did not end when the client went away") from None

    async def _sync(self) -> None:
        """Run probe tasks through their whole life until one's removal shows: from then on the stream
        sees every change. The probes' events are dropped."""
        for attempt in range(1, 6):
            guid = f"probe-{attempt}"
            await self.bbs.desire(guid, domain="probe")
            for step in (self.bbs.cancel, self.bbs.resolving, self.bbs.delete):
                await step(guid)
            with contextlib.suppress(AssertionError):
                await self.of(guid, 4, timeout=1.0)  # created, cancelled, resolving, removed
                self.events.clear()
                return
        raise AssertionError("the event stream never showed a probe task's removal")

    async def mark(self) -> int:
        """A position in `events` after everything done so far has shown (events arrive asynchronously, so
        a new marker task's creation is awaited): pass it as `since` to look only at what comes after."""
        return await self._after_marker()

    async def wait(self, check: Callable[[list[Event]], T | None], what: str, timeout: float = DEADLINE) -> T:
        """Until `check(events)` is truthy (returned), or fail after `timeout` real seconds."""
        deadline = time.monotonic() + timeout
        while True:
            found = check(self.events)
            if found:
                return found
            if self._task is not None and self._task.done():
                self._task.result()
                raise AssertionError(f"the event stream ended while waiting for {what}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = [(e.kind, e.guid, e.states) for e in self.events]
                raise AssertionError(f"{what}: not seen within {timeout}s; events: {seen}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._grown.wait(), remaining)

    async def of(self, guid: str, count: int, since: int = 0, timeout: float = DEADLINE) -> list[Event]:
        """The events about `guid` after `since`, once there are at least `count` of them."""

        def enough(events: list[Event]) -> list[Event] | None:
            mine = [e for e in events[since:] if e.guid == guid]
            return mine if len(mine) >= count else None

        return await self.wait(enough, f"{count} events of {guid}", timeout)

    async def quiet(self, since: int = 0, guid: str | None = None) -> list[Event]:
        """The events after `since` (about `guid`, if given; never about markers) that came before a new marker
        task's creation: an empty list shows nothing was emitted in between."""
        at = await self._after_marker()
        found = [e for e in self.events[since:at - 1] if not e.guid.startswith(MARKER)]
        return [e for e in found if guid is None or e.guid == guid]

    async def _after_marker(self) -> int:
        """Desire a marker task; returns the position just after its creation event."""
        marker = await self.bbs.marker()
        return await self.wait(lambda events: next((i + 1 for i, e in enumerate(events) if e.guid == marker), None),
                               f"creation of {marker}")

    async def _receive(self) -> Message:
        if not self._requested:
            self._requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self._closing.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}
            self._started.set()
        elif message["type"] == "http.response.body":
            self._feed(self._decoder.decode(message.get("body", b"")))

    def _feed(self, text: str) -> None:
        self._text = (self._text + text).replace("\r\n", "\n")
        grew = False
        while "\n\n" in self._text:
            block, self._text = self._text.split("\n\n", 1)
            event = _parse_event(block, protobuf=self.bbs.protobuf)
            if event is not None:
                self.events.append(event)
                grew = True
        if grew:
            self._grown.set()
            self._grown = asyncio.Event()


def _parse_event(block: str, *, protobuf: bool) -> Event | None:
    """One SSE event block (`id:`, `event:`, `data:` lines; `:` comments and blocks without data skipped);
    the data is JSON, or the base64 of the protobuf event (decoded to the JSON shape)."""
    fields: dict[str, list[str]] = {}
    for line in block.split("\n"):
        if not line or line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        fields.setdefault(name, []).append(value.removeprefix(" "))
    if "data" not in fields:
        return None
    kind = fields.get("event", ["message"])[-1]
    text = "\n".join(fields["data"])
    if protobuf:
        message = EVENT_MESSAGES[kind].FromString(base64.b64decode(text, validate=True))
        data = codec.to_dict(message, defaults=True)
    else:
        data = json.loads(text)
    assert isinstance(data, dict), data
    return Event(kind, data, fields.get("id", [None])[-1])


# --- completion callback targets ----------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    name: str
    method: str
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Callbacks:
    """A real HTTP server on loopback: `url(name, *statuses)` is a callback URL whose n-th request is
    answered with the n-th status (the last one repeats; 200 when none is given)."""

    base: str = ""
    script: dict[str, list[int]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    def url(self, name: str, *statuses: int) -> str:
        self.script[name] = list(statuses) or [200]
        return f"{self.base}/cb/{name}"

    def posts(self, name: str) -> list[Received]:
        return [r for r in self.received if r.name == name]

    async def wait_posts(self, name: str, count: int) -> list[Received]:
        async def enough() -> list[Received] | None:
            found = self.posts(name)
            return found if len(found) >= count else None

        return await eventually(enough, f"{count} callback requests to {name}")

    def app(self) -> Starlette:
        async def answer(request: Request) -> Response:
            name = request.path_params["name"]
            body = await request.body()
            self.received.append(Received(name, request.method, request.headers.get("content-type", ""), body))
            statuses = self.script.get(name, [200])
            return Response(status_code=statuses[min(len(self.posts(name)), len(statuses)) - 1])

        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        return Starlette(routes=[Route("/cb/{name}", answer, methods=methods)])


@pytest.fixture
def callbacks() -> Iterator[Callbacks]:
    recorder = Callbacks()
    with serve(recorder.app()) as base:
        recorder.base = base
        yield recorder
