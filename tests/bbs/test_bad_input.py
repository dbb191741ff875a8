"""Bad input on every BBS route (spec/bbs.md b.1, docs/bbs.md): malformed bodies, invalid or unknown guids,
empty or over-long cell ids, wrong types, invalid TaskDefinitions. Every answer is HTTP 200 with an error in
its body and never a traceback (checked by `Bbs.call`), and no stored task or present cell changes: list.r3
and the cell list are compared before and after each call.

Each test runs on both wires; a case whose body protobuf cannot carry (a value of the wrong type) is JSON's
only, and so is JSON that cannot be kept. Protobuf's own bad input is `test_bad_protobuf.py`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests import hostile
from tests.bbs.conftest import (
    ALL_ROUTES,
    BAD_REQUEST,
    BY_GUID,
    CANCEL,
    CELLS,
    COMPLETE,
    DELETE,
    DESIRE,
    FAIL,
    HEARTBEAT,
    LIST,
    NOT_FOUND,
    OFFERS,
    REJECT,
    RESOLVING,
    START,
    Bbs,
    complete_body,
    desire_body,
    error_of,
    task_def,
)

LONG_CELL = "c" * 256  # cell_id is VARCHAR(255) upstream
GUID_FIELD = "Invalid field: task_guid"
CELL_FIELD = "Invalid field: cell_id"


@dataclass(frozen=True)
class Case:
    label: str
    body: Any
    kind: str = "InvalidRequest"
    message: str | None = None  # None: any message
    raw: bytes | None = None  # sent instead of `body` when given


MALFORMED = [
    Case("not JSON", None, message=BAD_REQUEST, raw=b"{not json"),
    Case("a JSON array", None, message=BAD_REQUEST, raw=b'[{"task_guid": "t-pending"}]'),
    Case("a JSON string", None, message=BAD_REQUEST, raw=b'"t-pending"'),
]


def by_guid_cases() -> list[Case]:
    """TaskByGuid, Cancel, Resolving, Delete: task_guid must be non-empty, with no pattern (b.1), so
    `a/b` is looked up and not found."""
    return [
        Case("empty guid", {"task_guid": ""}, message=GUID_FIELD),
        Case("guid a/b", {"task_guid": "a/b"}, "ResourceNotFound", NOT_FOUND),
        Case("unknown guid", {"task_guid": "nope"}, "ResourceNotFound", NOT_FOUND),
        Case("guid is a number", {"task_guid": 5}),
    ]


def reason_cases(field: str, empty_message: str) -> list[Case]:
    """FailTask and RejectTask."""

    def body(guid: Any, reason: Any = "r") -> dict[str, Any]:
        return {"task_guid": guid, field: reason}

    return [
        Case("guid a/b", body("a/b"), message=GUID_FIELD),
        Case("unknown guid", body("nope"), "ResourceNotFound", NOT_FOUND),
        Case("empty reason", body("t-running", ""), message=empty_message),
        Case("reason is a number", body("t-running", 5)),
    ]


def cell_cases(body: Any, empty_message: str | None = None) -> list[Case]:
    """Routes naming a cell: `body(cell_id)` targets a task the call would change if it were accepted.
    Upstream validates an empty cell id on StartTask and CompleteTask only (b.1): the extension routes
    may word it their own way."""
    return [
        Case("empty cell", body(""), message=empty_message),
        Case("256-character cell", body(LONG_CELL)),
        Case("cell is a number", body(7)),
    ]


CASES: dict[str, list[Case]] = {
    LIST: [Case("domain is a number", {"domain": 5})],
    BY_GUID: by_guid_cases(),
    DESIRE: [
        Case("guid a/b", desire_body("a/b"), message=GUID_FIELD),
        Case("empty guid", desire_body(""), message=GUID_FIELD),
        Case("existing guid", desire_body("t-running", "other"), "ResourceExists"),
        Case("no task_definition", {"task_guid": "t-new", "domain": "d"}, message="Invalid field: task_definition"),
        Case("task_definition is a string", {"task_guid": "t-new", "domain": "d", "task_definition": "sh"}),
    ],
    START: [
        Case("guid a/b", {"task_guid": "a/b", "cell_id": "cell-1"}, message=GUID_FIELD),
        Case("unknown guid", {"task_guid": "nope", "cell_id": "cell-1"}, "ResourceNotFound", NOT_FOUND),
        Case("guid and cell", {"task_guid": "a/b", "cell_id": ""}, message=f"{GUID_FIELD}, {CELL_FIELD}"),
        *cell_cases(lambda cell: {"task_guid": "t-pending", "cell_id": cell}, CELL_FIELD),
    ],
    COMPLETE: [
        Case("guid a/b", complete_body("a/b", "cell-1"), message=GUID_FIELD),
        Case("unknown guid", complete_body("nope", "cell-1"), "ResourceNotFound", NOT_FOUND),
        Case("failed is text", {**complete_body("t-running", "cell-1"), "failed": "yes"}),
        *cell_cases(lambda cell: complete_body("t-running", cell, result="r"), CELL_FIELD),
    ],
    FAIL: reason_cases("failure_reason", "Invalid field: failure_reason"),
    # upstream's quirk: an empty rejection_reason is reported as failure_reason
    REJECT: reason_cases("rejection_reason", "Invalid field: failure_reason"),
    CANCEL: by_guid_cases(),
    RESOLVING: by_guid_cases(),
    DELETE: by_guid_cases(),
    OFFERS: [
        Case("count is text", {"domain": "d", "cell_id": "cell-1", "count": "many", "timeout_ms": 0}),
        *cell_cases(lambda cell: {"domain": "d", "cell_id": cell, "count": 10, "timeout_ms": 0}),
    ],
    HEARTBEAT: [
        Case("ttl is text", {"cell_id": "cell-2", "ttl_seconds": "long"}),
        *cell_cases(lambda cell: {"cell_id": cell, "ttl_seconds": 30}),
    ],
    CELLS: [],
}


async def seed(bbs: Bbs) -> None:
    """One task in each state; cell-1 present."""
    await bbs.given("Pending", "t-pending")
    await bbs.given("Running", "t-running", cell="cell-1")
    await bbs.given("Completed", "t-completed", cell="cell-1")
    await bbs.given("Resolving", "t-resolving", cell="cell-1")
    bbs.advance(1)  # a write by a bad call would show in updated_at


async def stored(bbs: Bbs) -> tuple[list[dict[str, Any]], list[str]]:
    return await bbs.snapshot(), await bbs.cells()


async def assert_refused(bbs: Bbs, route: str, case: Case) -> None:
    if case.raw is None and not bbs.encodes(route, case.body):
        return  # a wrong type: protobuf cannot say it
    body = await bbs.call(route, case.body, raw=case.raw)
    error = error_of(body)
    assert error is not None and error["type"] == case.kind, (route, case.label, body)
    if case.message is not None:
        assert error["message"] == case.message, (route, case.label, error)


@pytest.mark.parametrize("route", ALL_ROUTES)
async def test_bad_input_is_refused_and_changes_nothing(bbs: Bbs, route: str) -> None:
    await seed(bbs)
    before = await stored(bbs)
    assert before[1] == ["cell-1"]
    for case in [*MALFORMED, *CASES[route]]:
        await assert_refused(bbs, route, case)
        assert await stored(bbs) == before, f"{route} with {case.label} changed what is stored"
    if route == OFFERS:  # nor was anything reserved to a cell
        assert await bbs.offers("cell-1") == ["t-pending"]


# --- TaskDefinition validation (b.1) -----------------------------------------------------------------------
#
# Messages as upstream's TaskDefinition.Validate builds them: cloudfoundry/bbs models/task.go (each failed rule
# appends ErrInvalidField{"<field>"}, "Invalid field: <field>", models/errors.go; joined with ", " by
# ValidationError, models/validator.go). A missing action appends ErrInvalidActionType, whose message is
# "invalid action type" (models/actions.go). image_username without image_password names image_password, and
# the reverse names image_username. The annotation limit is maximumAnnotationLength = 10 * 1024 (models/models.go).

ANNOTATION_LIMIT = 10 * 1024

INVALID_DEFINITIONS: list[tuple[str, dict[str, Any], str]] = [
    ("rootfs without a scheme", task_def(rootfs="busybox"), "Invalid field: rootfs"),
    ("empty rootfs", task_def(rootfs=""), "Invalid field: rootfs"),
    ("no action", {"rootfs": "docker:///busybox"}, "invalid action type"),
    ("negative memory_mb", task_def(memory_mb=-1), "Invalid field: memory_mb"),
    ("negative disk_mb", task_def(disk_mb=-1), "Invalid field: disk_mb"),
    ("negative max_pids", task_def(max_pids=-1), "Invalid field: max_pids"),
    ("log rate below -1", task_def(log_rate_limit={"bytes_per_second": -2}), "Invalid field: log_rate_limit"),
    ("annotation over 10 KiB", task_def(annotation="x" * (ANNOTATION_LIMIT + 1)), "Invalid field: annotation"),
    ("username without password", task_def(image_username="u"), "Invalid field: image_password"),
    ("password without username", task_def(image_password="p"), "Invalid field: image_username"),
    ("several at once", task_def(rootfs="busybox", memory_mb=-1, annotation="x" * (ANNOTATION_LIMIT + 1)),
     "Invalid field: rootfs, Invalid field: memory_mb, Invalid field: annotation"),
]


async def test_invalid_task_definitions_are_refused(bbs: Bbs) -> None:
    await seed(bbs)
    before = await stored(bbs)
    for label, definition, message in INVALID_DEFINITIONS:
        body = {"task_guid": "t-new", "domain": "d", "task_definition": definition}
        await assert_refused(bbs, DESIRE, Case(label, body, message=message))
    await assert_refused(bbs, DESIRE, Case("request and definition", desire_body("a/b", "", rootfs="busybox"),
                                           message=f"{GUID_FIELD}, Invalid field: domain, Invalid field: rootfs"))
    assert await stored(bbs) == before


async def test_definitions_at_the_limits_are_accepted(bbs: Bbs) -> None:
    at_limits = task_def(memory_mb=0, disk_mb=0, max_pids=0, log_rate_limit={"bytes_per_second": -1},
                         annotation="x" * ANNOTATION_LIMIT, image_username="u", image_password="p")
    await bbs.ok(DESIRE, {"task_guid": "t-new", "domain": "d", "task_definition": at_limits})
    assert (await bbs.task("t-new"))["task_definition"] == bbs.as_stored(at_limits)


# --- JSON the BBS cannot keep (issue 13) -------------------------------------------------------------------
#
# Integers past 64 bits, a number past a double, nesting past 128 levels, NUL characters and lone surrogates,
# in the fields a route reads or in one it does not: InvalidRequest in an HTTP 200, like a body upstream
# cannot decode; malformed bodies keep upstream's message. Nothing stored changes, no cell is reserved.

HOSTILE_BASE = {"task_guid": "t-pending", "cell_id": "cell-1", "domain": "d", "failure_reason": "r",
                "rejection_reason": "r", "count": 1, "timeout_ms": 0, "ttl_seconds": 30}


@pytest.mark.parametrize("wire", ["json"])
@pytest.mark.parametrize("route", ALL_ROUTES)
async def test_json_that_cannot_be_kept_is_refused_and_changes_nothing(bbs: Bbs, route: str) -> None:
    await seed(bbs)
    before = await stored(bbs)
    for label, raw in hostile.bodies(HOSTILE_BASE, "task_guid", "cell_id"):
        malformed = label in dict(hostile.MALFORMED)
        await assert_refused(bbs, route, Case(label, None, message=BAD_REQUEST if malformed else None, raw=raw))
        assert await stored(bbs) == before, f"{route} with {label} changed what is stored"
    if route == OFFERS:
        assert await bbs.offers("cell-1") == ["t-pending"]


@pytest.mark.parametrize("wire", ["json"])
async def test_a_desired_definition_that_cannot_be_kept_is_refused(bbs: Bbs) -> None:
    await seed(bbs)
    before = await stored(bbs)
    for label, value in hostile.VALUES:
        raw = hostile.with_value({"task_guid": "t-new", "domain": "d"}, "task_definition",
                                 b'{"rootfs": "docker:///busybox", "action": {"run": {"path": "true"}}, "annotation": '
                                 + value + b"}")
        await assert_refused(bbs, DESIRE, Case(label, None, raw=raw))
    assert await stored(bbs) == before
