"""Scenario 36 of spec/bbs.md b.6: the task event stream `GET /v1/events/tasks.r1` (Server-Sent Events,
decision 8). Most tests read it in process (conftest `EventStream`); one reads it over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from typing import Any

import httpx

from podium.app import create_app
from podium.model.diego import codec
from podium.model.diego.routes import EVENTS as EVENT_MESSAGES
from podium.settings import Settings
from tests.bbs.conftest import (
    DEADLINE,
    DESIRE,
    EVENTS,
    START,
    Bbs,
    Event,
    EventStream,
    Factory,
    desire_body,
    error_of,
)
from tests.loopback import serve


def summary(stream: list[Event]) -> list[tuple[str, str, tuple[str | None, str | None]]]:
    return [(e.kind, e.guid, e.states) for e in stream]


async def test_s36_each_operation_emits_its_event(bbs: Bbs, events: EventStream) -> None:
    since = await events.mark()
    await bbs.desire("t1")
    await bbs.start("t1", "cell-1")
    assert await bbs.start("t1", "cell-1") is False  # idempotent: no event
    await bbs.fails(START, {"task_guid": "t1", "cell_id": "cell-2"}, "InvalidStateTransition")  # failed: no event
    await bbs.complete("t1", "cell-1", result="r")
    await bbs.resolving("t1")
    await bbs.delete("t1")
    await bbs.desire("t2")
    await bbs.fail("t2", "reason")
    await bbs.given("Running", "t3", cell="cell-1")
    await bbs.cancel("t3")
    await bbs.desire("t4")
    await bbs.reject("t4", "no room")
    t4 = await bbs.task("t4")

    seen = await events.quiet(since)
    assert summary(seen) == [
        ("task_created", "t1", (None, "Pending")),
        ("task_changed", "t1", ("Pending", "Running")),
        ("task_changed", "t1", ("Running", "Completed")),
        ("task_changed", "t1", ("Completed", "Resolving")),
        ("task_removed", "t1", ("Resolving", None)),
        ("task_created", "t2", (None, "Pending")),
        ("task_changed", "t2", ("Pending", "Completed")),
        ("task_created", "t3", (None, "Pending")),
        ("task_changed", "t3", ("Pending", "Running")),
        ("task_changed", "t3", ("Running", "Completed")),
        ("task_created", "t4", (None, "Pending")),
        ("task_changed", "t4", ("Pending", "Pending")),
    ]
    rejected = seen[-1].data
    assert (rejected["before"]["rejection_count"], rejected["after"]) == (0, t4)
    ids = [int(e.id or "") for e in seen]
    assert ids == sorted(set(ids)), ids


async def test_s36_changed_carries_before_and_after(bbs: Bbs, events: EventStream) -> None:
    pending = await bbs.given("Pending", "t1")
    since = await events.mark()
    bbs.advance(1)
    await bbs.start("t1", "cell-1")
    (changed,) = await events.of("t1", 1, since)
    assert changed.kind == "task_changed"
    assert changed.data == {"before": pending, "after": await bbs.task("t1")}


async def test_s36_convergence_emits_changes_and_removals(make_bbs: Factory) -> None:
    bbs = await make_bbs(bbs_expire_pending_s=30, bbs_expire_completed_s=120, bbs_converge_interval_s=1_000_000.0)
    async with bbs.events() as events:
        completed = await bbs.given("Completed", "old")
        pending = await bbs.given("Pending", "waiting")
        since = await events.mark()
        bbs.at(121)
        await bbs.converge()
        seen = await events.quiet(since)
        # b.4: step 1 (expire pending) comes before step 5 (delete expired completed)
        assert summary(seen) == [("task_changed", "waiting", ("Pending", "Completed")),
                                 ("task_removed", "old", ("Completed", None))]
        assert seen[0].data["before"] == pending
        assert seen[1].data == {"task": completed}


async def _read_events(response: httpx.Response, into: asyncio.Queue[tuple[str, dict[str, Any]]],
                       protobuf: bool) -> None:
    kind, data = "message", ""
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            kind = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data += line.removeprefix("data:").strip()
        elif not line and data:
            if protobuf:  # as upstream's Go client reads it: the base64 of the event's protobuf message
                decoded = codec.to_dict(EVENT_MESSAGES[kind].FromString(base64.b64decode(data, validate=True)))
                await into.put((kind, decoded))
            else:
                await into.put((kind, json.loads(data)))
            kind, data = "message", ""


async def test_s36_the_stream_over_real_http(db_url: str, wire: str) -> None:
    """The real server (uvicorn, with the app's lifespan) streams events as they happen, not at the end:
    protobuf events to a reader that asks for nothing in particular (as the Go client, which POSTs an empty
    body), JSON ones to a reader that asks for them."""
    protobuf = wire == "protobuf"
    method, accept = ("POST", {}) if protobuf else ("GET", {"Accept": "application/json"})
    app = create_app(Settings(database_url=db_url))
    with serve(app, lifespan=True) as base:
        async with (
            httpx.AsyncClient(base_url=base, timeout=DEADLINE) as client,
            client.stream(method, EVENTS, headers=accept) as response,
        ):
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            received: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
            reader = asyncio.create_task(_read_events(response, received, protobuf))
            try:
                # the subscription may trail the headers a little: desire until a creation shows
                for attempt in range(1, 6):
                    answer = await client.post(DESIRE, json=desire_body(f"http-{attempt}"))
                    assert answer.status_code == 200 and error_of(answer.json()) is None, answer.text
                    with contextlib.suppress(TimeoutError):
                        kind, data = await asyncio.wait_for(received.get(), 1.0)
                        assert (kind, data["task"]["state"]) == ("task_created", "Pending")
                        break
                else:
                    raise AssertionError("no event came over HTTP")
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                    await reader
