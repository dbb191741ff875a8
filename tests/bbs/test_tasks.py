"""Scenarios 1-26 and 37 of spec/bbs.md b.6: the task operations through the JSON API (docs/bbs.md), on
both backends, with a fake clock; and the Conductor view of a BBS task (decision 6)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.bbs.conftest import (
    ALL_ROUTES,
    BAD_REQUEST,
    BY_GUID,
    CANCEL,
    CANCELLED,
    COMPLETE,
    DELETE,
    DESIRE,
    FAIL,
    NOT_FOUND,
    REJECT,
    RESOLVING,
    START,
    Bbs,
    EventStream,
    Factory,
    assert_error,
    complete_body,
    completion,
    desire_body,
    error_of,
    guids,
    task_def,
    transition,
)

TERMINAL = ["Completed", "Resolving"]


# --- desire, list, get ------------------------------------------------------------------------------


async def test_s01_desire_creates_a_pending_task(bbs: Bbs, events: EventStream) -> None:
    bbs.advance(5)
    await bbs.desire("t1", "d", annotation="hello")
    task = await bbs.task("t1")
    assert task["domain"] == "d" and task["state"] == "Pending"
    assert task["created_at"] == task["updated_at"] == bbs.now_ns()
    assert task["first_completed_at"] == 0 and task["rejection_count"] == 0 and task["cell_id"] == ""
    assert task["task_definition"] == task_def(annotation="hello")
    (created,) = await events.of("t1", 1)
    assert created.kind == "task_created" and created.data == {"task": task}


async def test_s02_duplicate_desire_is_refused_and_writes_nothing(bbs: Bbs) -> None:
    await bbs.desire("t1")
    before = await bbs.snapshot()
    bbs.advance(1)
    await bbs.fails(DESIRE, desire_body("t1", "other", rootfs="docker:///other"), "ResourceExists")
    assert await bbs.snapshot() == before


async def test_s03_invalid_desire_names_each_field(bbs: Bbs) -> None:
    body = await bbs.fails(DESIRE, desire_body("a/b", ""), "InvalidRequest",
                           None, "Invalid field: task_guid", "Invalid field: domain")
    # joined by ", " in upstream's order (models/task_requests.go: task_guid, then domain)
    assert error_of(body) == {"type": "InvalidRequest", "message": "Invalid field: task_guid, Invalid field: domain"}
    assert await bbs.tasks() == []


async def test_s04_list_filters_by_domain_and_cell(bbs: Bbs) -> None:
    assert await bbs.tasks() == []
    await bbs.given("Pending", "a-guid", domain="A")
    await bbs.given("Running", "b-guid", domain="b-domain", cell="b-cell")
    assert guids(await bbs.tasks()) == ["a-guid", "b-guid"]
    assert guids(await bbs.tasks(domain="b-domain")) == ["b-guid"]
    assert guids(await bbs.tasks(cell_id="b-cell")) == ["b-guid"]
    assert guids(await bbs.tasks(domain="b-domain", cell_id="b-cell")) == ["b-guid"]
    assert guids(await bbs.tasks(domain="A", cell_id="b-cell")) == []
    assert guids(await bbs.tasks(domain="nope")) == []


async def test_s05_get_missing_task(bbs: Bbs) -> None:
    await bbs.missing("nope")


# --- start ------------------------------------------------------------------------------------------


async def test_s06_start(bbs: Bbs, events: EventStream) -> None:
    await bbs.desire("t1")
    pending = await bbs.task("t1")
    bbs.advance(1)
    assert await bbs.start("t1", "cell-1") is True
    running = await bbs.task("t1")
    assert running == {**pending, "state": "Running", "cell_id": "cell-1", "updated_at": bbs.now_ns()}
    changed = (await events.of("t1", 2))[1]
    assert changed.kind == "task_changed" and changed.data == {"before": pending, "after": running}


async def test_s07_start_again_on_the_same_cell_changes_nothing(bbs: Bbs, events: EventStream) -> None:
    running = await bbs.given("Running", "t1", cell="cell-1")
    since = await events.mark()
    bbs.advance(1)
    body = await bbs.ok(START, {"task_guid": "t1", "cell_id": "cell-1"})
    assert body["should_start"] is False
    assert await bbs.task("t1") == running
    assert await events.quiet(since) == []


async def test_s08_start_on_another_cell(bbs: Bbs) -> None:
    running = await bbs.given("Running", "t1", cell="cell-1")
    bbs.advance(1)
    body = await bbs.fails(START, {"task_guid": "t1", "cell_id": "cell-2"}, "InvalidStateTransition",
                           transition("Running", "Running"))
    assert body["should_start"] is False
    assert await bbs.task("t1") == running


@pytest.mark.parametrize("state", TERMINAL)
async def test_s09_start_a_finished_task(bbs: Bbs, state: str) -> None:
    before = await bbs.given(state, "t1", cell="cell-1")
    bbs.advance(1)
    body = await bbs.fails(START, {"task_guid": "t1", "cell_id": "cell-1"}, "InvalidStateTransition",
                           transition(state, "Running"))
    assert body["should_start"] is False
    assert await bbs.task("t1") == before


async def test_s10_start_missing_task_or_bad_cell(bbs: Bbs) -> None:
    await bbs.desire("t1")
    pending = await bbs.task("t1")
    bbs.advance(1)
    body = await bbs.fails(START, {"task_guid": "invalid-guid", "cell_id": "c"}, "ResourceNotFound", NOT_FOUND)
    assert body["should_start"] is False
    await bbs.fails(START, {"task_guid": "t1", "cell_id": ""}, "InvalidRequest", "Invalid field: cell_id")
    await bbs.fails(START, {"task_guid": "t1", "cell_id": "c" * 256}, "InvalidRequest")
    assert await bbs.task("t1") == pending
    assert await bbs.start("t1", "c" * 255) is True  # cell_id is VARCHAR(255) upstream: 255 fits


async def test_s11_start_race_has_exactly_one_winner(bbs: Bbs) -> None:
    contested = [f"t{i}" for i in range(5)]
    for guid in contested:
        await bbs.desire(guid)
    attempts = [(guid, cell) for guid in contested for cell in ("cell-1", "cell-2")]
    answers = await asyncio.gather(*(bbs.call(START, {"task_guid": g, "cell_id": c}) for g, c in attempts))
    for guid in contested:
        mine = [(cell, body) for (g, cell), body in zip(attempts, answers, strict=True) if g == guid]
        winners = [cell for cell, body in mine if error_of(body) is None and body["should_start"] is True]
        assert len(winners) == 1, mine
        (loser,) = [body for cell, body in mine if cell not in winners]
        assert loser["should_start"] is False
        assert_error(loser, "InvalidStateTransition", transition("Running", "Running"))
        task = await bbs.task(guid)
        assert (task["state"], task["cell_id"]) == ("Running", winners[0])


# --- complete ---------------------------------------------------------------------------------------


async def test_s12_complete(bbs: Bbs) -> None:
    running = await bbs.given("Running", "t1", cell="the-cell")
    others = [await bbs.given("Pending", "t2"), await bbs.given("Running", "t3", cell="the-cell")]
    bbs.advance(1)
    await bbs.complete("t1", "the-cell", failed=True, reason="it blew up", result="i am the result")
    assert await bbs.task("t1") == completion(running, bbs.now_ns(), failed=True, failure_reason="it blew up",
                                              result="i am the result")
    assert [await bbs.task("t2"), await bbs.task("t3")] == others


async def test_a_result_over_the_payload_limit_fails_the_task_and_is_not_kept(make_bbs: Factory) -> None:
    # Through HTTP a result cannot pass the limit (the body limit is the same setting); the service
    # is held to it all the same (issue 13, item 4).
    bbs = await make_bbs(max_payload_bytes=4096)
    await bbs.given("Running", "big", cell="cell-1")
    await bbs.app.state.bbs.tasks.complete("big", "cell-1", False, "", "r" * 5000)
    task = await bbs.task("big")
    assert task["state"] == "Completed" and task["failed"] is True and task["result"] == ""
    assert "permissible limit: 4096 bytes (max_payload_bytes)" in task["failure_reason"]


async def test_s13_complete_from_a_different_cell(bbs: Bbs) -> None:
    running = await bbs.given("Running", "t1", cell="the-cell")
    bbs.advance(1)
    await bbs.fails(COMPLETE, complete_body("t1", "a-different-cell", result="r"), "RunningOnDifferentCell",
                    "Running on cell the-cell not a-different-cell")
    assert await bbs.task("t1") == running


async def test_s14_complete_a_task_that_is_not_running(bbs: Bbs) -> None:
    pending = await bbs.given("Pending", "plain")
    # Pending with a matching cell id: a task rejected while Running keeps its cell (b.3 RejectTask)
    await bbs.given("Running", "rejected", cell="cell-1")
    await bbs.reject("rejected", "no room")
    rejected = await bbs.task("rejected")
    assert (rejected["state"], rejected["cell_id"]) == ("Pending", "cell-1")
    bbs.advance(1)
    for before in (pending, rejected):
        await bbs.fails(COMPLETE, complete_body(before["task_guid"], "cell-1"), "InvalidStateTransition",
                        transition("Pending", "Completed"))
        assert await bbs.task(before["task_guid"]) == before

    await bbs.given("Running", "twice", cell="cell-1")
    await bbs.complete("twice", "cell-1", result="first")
    completed = await bbs.task("twice")
    bbs.advance(1)
    again = complete_body("twice", "cell-1", failed=True, reason="invalid state transition")
    await bbs.fails(COMPLETE, again, "InvalidStateTransition", transition("Completed", "Completed"))
    assert await bbs.task("twice") == completed

    await bbs.fails(COMPLETE, complete_body("nope", "cell-1"), "ResourceNotFound", NOT_FOUND)


TRUNCATED = "x" * 1013 + "(truncated)"


@pytest.mark.parametrize(("length", "stored"), [(1023, "x" * 1023), (1024, TRUNCATED), (2048, TRUNCATED)])
async def test_s15_reasons_are_truncated_to_1024_characters(bbs: Bbs, length: int, stored: str) -> None:
    assert len(TRUNCATED) == 1024
    reason = "x" * length
    await bbs.given("Running", "completed", cell="cell-1")
    await bbs.complete("completed", "cell-1", failed=True, reason=reason)
    await bbs.given("Running", "failed", cell="cell-1")
    await bbs.fail("failed", reason)
    await bbs.given("Pending", "rejected")
    await bbs.reject("rejected", reason)
    expected = {("completed", "failure_reason"), ("failed", "failure_reason"), ("rejected", "rejection_reason")}
    listed = {t["task_guid"]: t for t in await bbs.tasks()}
    for guid, key in expected:
        assert (await bbs.task(guid))[key] == stored, (guid, key)
        assert listed[guid][key] == stored, (guid, key)


# --- fail, cancel -----------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["Pending", "Running"])
async def test_s16_fail(bbs: Bbs, state: str) -> None:
    before = await bbs.given(state, "t1", cell="cell-1")
    bbs.advance(1)
    await bbs.fail("t1", "reason")
    assert await bbs.task("t1") == completion(before, bbs.now_ns(), failed=True, failure_reason="reason", result="")


@pytest.mark.parametrize("state", TERMINAL)
async def test_s16_fail_a_finished_task(bbs: Bbs, state: str) -> None:
    before = await bbs.given(state, "t1")
    bbs.advance(1)
    await bbs.fails(FAIL, {"task_guid": "t1", "failure_reason": "reason"}, "InvalidStateTransition",
                    transition(state, "Completed"))
    assert await bbs.task("t1") == before


async def test_s16_fail_missing_task_or_without_reason(bbs: Bbs) -> None:
    pending = await bbs.given("Pending", "t1")
    await bbs.fails(FAIL, {"task_guid": "nope", "failure_reason": "reason"}, "ResourceNotFound", NOT_FOUND)
    await bbs.fails(FAIL, {"task_guid": "t1", "failure_reason": ""}, "InvalidRequest", "Invalid field: failure_reason")
    assert await bbs.task("t1") == pending


def cancelled(before: dict[str, Any], now_ns: int) -> dict[str, Any]:
    return completion(before, now_ns, failed=True, failure_reason=CANCELLED, result="")


async def test_s17_cancel_a_pending_task(bbs: Bbs, events: EventStream) -> None:
    before = await bbs.given("Pending", "t1")
    since = await events.mark()
    bbs.advance(1)
    await bbs.cancel("t1")
    after = await bbs.task("t1")
    assert after == cancelled(before, bbs.now_ns())
    # Podium calls no rep: a cell learns of a cancel from the change (and from its own next call).
    # This change concerns no cell.
    (changed,) = await events.of("t1", 1, since)
    assert changed.data == {"before": before, "after": after} and before["cell_id"] == ""


async def test_s18_cancel_a_running_task(bbs: Bbs, events: EventStream) -> None:
    before = await bbs.given("Running", "t1", cell="the-cell")
    since = await events.mark()
    bbs.advance(1)
    await bbs.cancel("t1")  # err is nil: nothing is called on the cell, so nothing can fail
    after = await bbs.task("t1")
    assert after == cancelled(before, bbs.now_ns())
    # the cancel reaches the-cell: the change names it, and its next report is refused
    (changed,) = await events.of("t1", 1, since)
    assert changed.data == {"before": before, "after": after} and before["cell_id"] == "the-cell"
    await bbs.fails(COMPLETE, complete_body("t1", "the-cell"), "InvalidStateTransition",
                    transition("Completed", "Completed"))
    assert await bbs.task("t1") == after


@pytest.mark.parametrize("state", TERMINAL)
async def test_s19_cancel_a_finished_task(bbs: Bbs, state: str) -> None:
    before = await bbs.given(state, "t1")
    bbs.advance(1)
    await bbs.fails(CANCEL, {"task_guid": "t1"}, "InvalidStateTransition", transition(state, "Completed"))
    assert await bbs.task("t1") == before


async def test_s19_cancel_a_missing_task(bbs: Bbs) -> None:
    await bbs.fails(CANCEL, {"task_guid": "nope"}, "ResourceNotFound", NOT_FOUND)


# --- reject -----------------------------------------------------------------------------------------


async def test_s20_reject_below_the_limit(make_bbs: Factory) -> None:
    bbs = await make_bbs(bbs_max_task_retries=1)
    async with bbs.events() as events:
        before = await bbs.given("Pending", "t1")
        since = await events.mark()
        bbs.advance(1)
        await bbs.reject("t1", "some rejection reason")
        after = await bbs.task("t1")
        assert after == {**before, "rejection_count": 1, "rejection_reason": "some rejection reason",
                         "updated_at": bbs.now_ns()}
        (changed,) = await events.of("t1", 1, since)
        assert changed.kind == "task_changed" and changed.data == {"before": before, "after": after}


async def test_s21_reject_while_running_keeps_the_cell(make_bbs: Factory) -> None:
    bbs = await make_bbs(bbs_max_task_retries=1)
    before = await bbs.given("Running", "t1", cell="cell-1")
    bbs.advance(1)
    await bbs.reject("t1", "some rejection reason")
    assert await bbs.task("t1") == {**before, "state": "Pending", "cell_id": "cell-1", "rejection_count": 1,
                                    "rejection_reason": "some rejection reason", "updated_at": bbs.now_ns()}


async def test_s22_reject_with_a_zero_limit_fails_the_task(make_bbs: Factory) -> None:
    bbs = await make_bbs(bbs_max_task_retries=0)
    await bbs.given("Pending", "t1")
    bbs.advance(1)
    await bbs.reject("t1", "some failure reason")
    task = await bbs.task("t1")
    assert (task["state"], task["failed"], task["failure_reason"]) == ("Completed", True, "some failure reason")
    assert (task["rejection_count"], task["rejection_reason"]) == (1, "some failure reason")
    assert task["first_completed_at"] == task["updated_at"] == bbs.now_ns()


async def test_s23_reject_at_the_limit_fails_the_task(make_bbs: Factory) -> None:
    bbs = await make_bbs(bbs_max_task_retries=1)
    await bbs.given("Pending", "t1")
    await bbs.reject("t1", "first rejection reason")
    assert (await bbs.task("t1"))["state"] == "Pending"
    bbs.advance(1)
    await bbs.reject("t1", "second rejection reason")
    task = await bbs.task("t1")
    assert (task["state"], task["failed"], task["rejection_count"]) == ("Completed", True, 2)
    assert task["failure_reason"] == "second rejection reason"


@pytest.mark.parametrize("state", TERMINAL)
async def test_s24_reject_a_finished_task(make_bbs: Factory, state: str) -> None:
    bbs = await make_bbs(bbs_max_task_retries=5)
    before = await bbs.given(state, "t1")
    bbs.advance(1)
    await bbs.fails(REJECT, {"task_guid": "t1", "rejection_reason": "r"}, "InvalidRequest", BAD_REQUEST)
    assert await bbs.task("t1") == before


async def test_s24_reject_missing_task_or_without_reason(make_bbs: Factory) -> None:
    bbs = await make_bbs(bbs_max_task_retries=5)
    pending = await bbs.given("Pending", "t1")
    await bbs.fails(REJECT, {"task_guid": "nope", "rejection_reason": "r"}, "ResourceNotFound", NOT_FOUND)
    # upstream's quirk: an empty rejection_reason is reported as failure_reason
    await bbs.fails(REJECT, {"task_guid": "t1", "rejection_reason": ""}, "InvalidRequest",
                    "Invalid field: failure_reason")
    assert await bbs.task("t1") == pending


async def test_s24_reject_a_finished_task_at_the_limit(make_bbs: Factory) -> None:
    """b.3 edge case: once rejection_count >= max_task_retries, FailTask answers instead."""
    bbs = await make_bbs(bbs_max_task_retries=0)
    before = await bbs.given("Completed", "t1")
    bbs.advance(1)
    await bbs.fails(REJECT, {"task_guid": "t1", "rejection_reason": "r"}, "InvalidStateTransition",
                    transition("Completed", "Completed"))
    task = await bbs.task("t1")
    assert (task["state"], task["failed"], task["failure_reason"]) == ("Completed", False, "")
    assert task["updated_at"] == before["updated_at"]


# --- resolving, delete ------------------------------------------------------------------------------


async def test_s25_resolving(bbs: Bbs) -> None:
    completed = await bbs.given("Completed", "t1")
    bbs.advance(1)
    await bbs.resolving("t1")
    assert await bbs.task("t1") == {**completed, "state": "Resolving", "updated_at": bbs.now_ns()}


@pytest.mark.parametrize("state", ["Pending", "Running", "Resolving"])
async def test_s25_resolving_from_another_state(bbs: Bbs, state: str) -> None:
    before = await bbs.given(state, "t1")
    bbs.advance(1)
    await bbs.fails(RESOLVING, {"task_guid": "t1"}, "InvalidStateTransition", transition(state, "Resolving"))
    assert await bbs.task("t1") == before
    await bbs.fails(RESOLVING, {"task_guid": "nope"}, "ResourceNotFound", NOT_FOUND)


async def test_s26_delete(bbs: Bbs, events: EventStream) -> None:
    resolving = await bbs.given("Resolving", "t1")
    since = await events.mark()
    await bbs.delete("t1")
    await bbs.missing("t1")
    (removed,) = await events.of("t1", 1, since)
    assert removed.kind == "task_removed" and removed.data == {"task": resolving}


@pytest.mark.parametrize("state", ["Pending", "Running", "Completed"])
async def test_s26_delete_a_task_that_is_not_resolving(bbs: Bbs, state: str) -> None:
    before = await bbs.given(state, "t1")
    # the message names the target Resolving, not Deleted
    await bbs.fails(DELETE, {"task_guid": "t1"}, "InvalidStateTransition", transition(state, "Resolving"))
    assert await bbs.task("t1") == before
    await bbs.fails(DELETE, {"task_guid": "nope"}, "ResourceNotFound", NOT_FOUND)


# --- the HTTP envelope ------------------------------------------------------------------------------


async def test_s37_every_route_answers_200_on_the_request_wire(bbs: Bbs) -> None:
    """HTTP 200 whatever happens, with a body on the request's wire (checked by `call`); a body that does not
    decode (here JSON that is not, which protobuf cannot decode either) is upstream's InvalidRequest."""
    await bbs.desire("t1")
    failing = {
        BY_GUID: {"task_guid": "nope"}, DESIRE: desire_body("t1"), START: {"task_guid": "nope", "cell_id": "c"},
        COMPLETE: complete_body("nope", "c"), FAIL: {"task_guid": "nope", "failure_reason": "r"},
        REJECT: {"task_guid": "nope", "rejection_reason": "r"}, CANCEL: {"task_guid": "nope"},
        RESOLVING: {"task_guid": "nope"}, DELETE: {"task_guid": "nope"},
    }
    for route, body in failing.items():
        assert error_of(await bbs.call(route, body)) is not None, route
    for route in ALL_ROUTES:
        await bbs.fails(route, None, "InvalidRequest", BAD_REQUEST, raw=b"{not json")


# --- the Conductor view (decision 6) ----------------------------------------------------------------


async def execution(bbs: Bbs, guid: str) -> dict[str, Any]:
    response = await bbs.client.get(f"/api/workflow/{guid}", params={"includeTasks": "true"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["workflowId"] == guid and body["workflowName"] == "bbs_task", body
    return body


async def test_a_bbs_task_is_a_conductor_execution(bbs: Bbs) -> None:
    await bbs.desire("t1", "my-domain")
    body = await execution(bbs, "t1")
    (task,) = body["tasks"]
    assert (body["status"], task["taskType"], task["status"]) == ("RUNNING", "my-domain", "SCHEDULED")

    await bbs.start("t1", "cell-7")
    body = await execution(bbs, "t1")
    (task,) = body["tasks"]
    assert (body["status"], task["status"], task["workerId"]) == ("RUNNING", "IN_PROGRESS", "cell-7")

    await bbs.complete("t1", "cell-7", result="r")
    assert (await execution(bbs, "t1"))["status"] == "COMPLETED"


async def test_failed_and_cancelled_bbs_tasks_end_their_executions(bbs: Bbs) -> None:
    await bbs.given("Running", "failed", cell="cell-1")
    await bbs.complete("failed", "cell-1", failed=True, reason="it blew up")
    await bbs.given("Running", "failed-by-call", cell="cell-1")
    await bbs.fail("failed-by-call", "reason")
    await bbs.given("Running", "cancelled-running", cell="cell-1")
    await bbs.cancel("cancelled-running")
    await bbs.given("Pending", "cancelled-pending")
    await bbs.cancel("cancelled-pending")
    found = {guid: (await execution(bbs, guid))["status"]
             for guid in ("failed", "failed-by-call", "cancelled-running", "cancelled-pending")}
    assert found == {"failed": "FAILED", "failed-by-call": "FAILED", "cancelled-running": "TERMINATED",
                     "cancelled-pending": "TERMINATED"}
