"""Bad protobuf on every BBS route (issue 20): truncated or garbage bytes, JSON declared as protobuf and
protobuf declared as JSON, unknown fields, a message of another route, NUL characters, an oversized body, a
foreign page. Each gets upstream's error on the request's wire, never a 500 or a traceback, and nothing stored
changes (list.r3 and the cell list compared before and after). Unknown fields are ignored, as protobuf does."""

from __future__ import annotations

import json
from typing import Any

import pytest

from podium.model.diego import task_requests_pb2 as R
from tests.bbs.conftest import (
    ALL_ROUTES,
    BAD_REQUEST,
    CANCEL,
    COMPLETE,
    DESIRE,
    LIST,
    PROTOBUF,
    START,
    Bbs,
    Factory,
    assert_error,
    decode,
    desire_body,
    encode,
)
from tests.bbs.test_bad_input import seed, stored

pytestmark = pytest.mark.parametrize("wire", ["protobuf"])

#: A valid body per route, aimed at a task the call would change if it were accepted.
VALID: dict[str, dict[str, Any]] = {
    "/v1/tasks/list.r3": {"domain": "d"},
    "/v1/tasks/get_by_task_guid.r3": {"task_guid": "t-pending"},
    "/v1/tasks/desire.r2": desire_body("t-new"),
    "/v1/tasks/start": {"task_guid": "t-pending", "cell_id": "cell-2"},
    "/v1/tasks/complete": {"task_guid": "t-running", "cell_id": "cell-1", "result": "r"},
    "/v1/tasks/fail": {"task_guid": "t-running", "failure_reason": "r"},
    "/v1/tasks/reject": {"task_guid": "t-running", "rejection_reason": "r"},
    "/v1/tasks/cancel": {"task_guid": "t-running"},
    "/v1/tasks/resolving": {"task_guid": "t-completed"},
    "/v1/tasks/delete": {"task_guid": "t-resolving"},
    "/v1/tasks/offers": {"domain": "d", "cell_id": "cell-2", "count": 10, "timeout_ms": 0},
    "/v1/cells/heartbeat": {"cell_id": "cell-2", "ttl_seconds": 30},
    "/v1/cells/list.r1": {},
}

GARBAGE = [
    ("garbage", b"\xff\xff\xff\xff\xff"),
    ("an unterminated varint", b"\x08\x80\x80\x80"),
    ("a field number 0", b"\x02\x01x"),
    ("a length past the end", b"\x0a\x7fabc"),
    ("an unmatched end group", b"\x0c"),
    ("invalid UTF-8 in a string", b"\x0a\x02\xc3\x28"),
]


async def raw_call(bbs: Bbs, route: str, content: bytes, kind: str = PROTOBUF, **headers: str) -> tuple[int, Any]:
    response = await bbs.client.post(route, content=content, headers={"Content-Type": kind, **headers})
    assert b"Traceback" not in response.content
    answered = response.headers.get("content-type", "")
    if answered.startswith(PROTOBUF):
        return response.status_code, decode(route, response.content)
    assert answered.startswith("application/json"), (route, response.headers)
    return response.status_code, response.json()


async def refused(bbs: Bbs, route: str, content: bytes, message: str | None = BAD_REQUEST) -> None:
    status, body = await raw_call(bbs, route, content)
    assert status == 200, (route, status, body)
    assert_error(body, "InvalidRequest", message)


@pytest.mark.parametrize("route", ALL_ROUTES)
async def test_bytes_that_do_not_decode_are_refused_and_change_nothing(bbs: Bbs, route: str) -> None:
    await seed(bbs)
    before = await stored(bbs)
    valid = encode(route, VALID[route])
    cases = [*GARBAGE, ("JSON declared as protobuf", json.dumps(VALID[route] or {"x": 1}).encode())]
    if valid:
        cases.append(("truncated", valid[:-1]))
    for label, content in cases:
        if route == "/v1/cells/list.r1" and label in ("invalid UTF-8 in a string", "a field number 0"):
            continue  # upstream reads no body there; protobuf's parser of an empty message lets these pass
        try:
            await refused(bbs, route, content)
        except AssertionError as exc:
            raise AssertionError(f"{route} with {label}: {exc}") from None
        assert await stored(bbs) == before, f"{route} with {label} changed what is stored"
    if route == "/v1/tasks/offers":  # nor was anything reserved to a cell
        assert await bbs.offers("cell-1") == ["t-pending"]


@pytest.mark.parametrize("route", ALL_ROUTES)
async def test_protobuf_declared_as_json_is_refused_in_json(bbs: Bbs, route: str) -> None:
    await seed(bbs)
    before = await stored(bbs)
    content = encode(route, VALID[route]) or b"\x08\x01"
    status, body = await raw_call(bbs, route, content, kind="application/json")
    assert status == 200
    assert_error(body, "InvalidRequest", BAD_REQUEST)
    assert await stored(bbs) == before


async def test_unknown_fields_are_ignored(bbs: Bbs) -> None:
    await bbs.given("Pending", "t1")
    unknown = b"\xf8\x06\x2a" + b"\x82\x07\x03abc"  # field 111 varint 42, field 112 bytes "abc"
    request = R.StartTaskRequest(task_guid="t1", cell_id="cell-1").SerializeToString()
    status, body = await raw_call(bbs, START, unknown + request + unknown)
    assert (status, body) == (200, {"should_start": True})
    assert (await bbs.task("t1"))["state"] == "Running"


async def test_a_message_of_another_route_is_refused(bbs: Bbs) -> None:
    await seed(bbs)
    before = await stored(bbs)
    # a DesireTaskRequest's definition (field 1) read as StartTaskRequest's task_guid: not a guid
    await refused(bbs, START, encode(DESIRE, desire_body("t-pending")), "Invalid field: task_guid")
    # a StartTaskRequest's guid (field 1) read as DesireTaskRequest's definition: not a message
    await refused(bbs, DESIRE, encode(START, {"task_guid": "t-pending", "cell_id": "cell-1"}))
    # a TaskLifecycleResponse's error read as CompleteTaskRequest's guid, its type as the cell
    error = R.TaskLifecycleResponse(error={"type": "InvalidRequest", "message": "m"}).SerializeToString()
    await refused(bbs, COMPLETE, error, None)
    assert await stored(bbs) == before


async def test_validation_speaks_protobuf_too(bbs: Bbs) -> None:
    await bbs.given("Pending", "t1")
    await refused(bbs, START, b"", "Invalid field: task_guid, Invalid field: cell_id")
    await refused(bbs, CANCEL, b"", "Invalid field: task_guid")
    await refused(bbs, DESIRE, encode(DESIRE, {"task_guid": "t2", "domain": "d"}), "Invalid field: task_definition")
    await refused(bbs, DESIRE, encode(DESIRE, {"task_guid": "t2", "domain": "d", "task_definition": {}}),
                  "Invalid field: rootfs, invalid action type")


async def test_a_nul_character_is_refused_and_changes_nothing(bbs: Bbs) -> None:
    await seed(bbs)
    before = await stored(bbs)
    await refused(bbs, DESIRE, encode(DESIRE, desire_body("t-new", annotation="a\x00b")), None)
    await refused(bbs, COMPLETE, encode(COMPLETE, {"task_guid": "t-running", "cell_id": "cell-1", "result": "\x00"}),
                  None)
    assert await stored(bbs) == before


@pytest.mark.parametrize("route", [LIST, DESIRE, START, "/v1/cells/list.r1"])
async def test_an_oversized_body_is_refused_on_its_wire(make_bbs: Factory, route: str) -> None:
    bbs = await make_bbs(max_payload_bytes=4096)
    await seed(bbs)
    before = await stored(bbs)
    content = encode(DESIRE, desire_body("t-new", annotation="x" * 5000))
    status, body = await raw_call(bbs, route, content)
    assert status == 413
    assert_error(body, "InvalidRequest", None, "4096")
    assert await stored(bbs) == before


async def test_a_foreign_page_is_refused_on_its_wire(bbs: Bbs) -> None:
    await bbs.given("Pending", "t1")
    content = encode(START, {"task_guid": "t1", "cell_id": "cell-1"})
    status, body = await raw_call(bbs, START, content, Origin="https://elsewhere.example")
    assert status == 403
    assert body["should_start"] is False
    assert_error(body, "InvalidRequest")
    assert (await bbs.task("t1"))["state"] == "Pending"
