"""Scenarios 31-35 of spec/bbs.md b.6 (behaviour b.4): convergence, one pass at a time through
`app.state.bbs.converge()` with the fake clock, and the convergence loop's schedule (35)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from podium.service.bbs import cells as cells_service
from tests.bbs.conftest import (
    CELL_DISAPPEARED,
    NOT_STARTED,
    SETTLE,
    Bbs,
    Callbacks,
    Factory,
    completion,
)

BY_HAND = {"bbs_converge_interval_s": 1_000_000.0}  # the loop stays out of the way: the tests run the passes


async def test_s31_pending_tasks_expire_and_the_rest_are_offered_again(make_bbs: Factory) -> None:
    bbs = await make_bbs(bbs_expire_pending_s=30, bbs_kick_s=10, **BY_HAND)
    await bbs.desire("t1")
    t1 = await bbs.task("t1")
    bbs.at(21)
    await bbs.desire("t2")
    await bbs.desire("t3")
    # decision 5: an offered task is reserved to that cell for the kick duration
    assert await bbs.offers("cell-a") == ["t1", "t2", "t3"]
    assert await bbs.offers("cell-b") == []

    bbs.at(31.001)  # t1 is 31 s old, t2 and t3 10 s: their reservations have lapsed
    await bbs.converge()
    assert await bbs.task("t1") == completion(t1, bbs.now_ns(), failed=True, failure_reason=NOT_STARTED, result="")
    assert [(await bbs.task(g))["state"] for g in ("t2", "t3")] == ["Pending", "Pending"]
    # "kick pending" = offered again; the expired task never is
    assert await bbs.offers("cell-b") == ["t2", "t3"]
    bbs.at(42.002)
    assert await bbs.offers("cell-c") == ["t2", "t3"]


async def test_s32_running_tasks_of_a_lost_cell_fail(make_bbs: Factory) -> None:
    bbs = await make_bbs(bbs_cell_ttl_s=30, **BY_HAND)
    lost = await bbs.given("Running", "t1", cell="non-existent-cell")
    kept = await bbs.given("Running", "t2", cell="existingCellID")
    await bbs.heartbeat("existingCellID", 3600)
    bbs.advance(31)
    assert await bbs.cells() == ["existingCellID"]
    await bbs.converge()
    now = bbs.now_ns()
    # b.4 step 3 keeps the cell id
    assert await bbs.task("t1") == {**lost, "state": "Completed", "failed": True, "failure_reason": CELL_DISAPPEARED,
                                    "result": "", "first_completed_at": now, "updated_at": now}
    assert await bbs.task("t2") == kept


async def test_s32_with_no_cell_present_every_running_task_fails(make_bbs: Factory) -> None:
    bbs = await make_bbs(bbs_cell_ttl_s=30, **BY_HAND)
    await bbs.given("Running", "t1", cell="c1")
    await bbs.given("Running", "t2", cell="c2")
    bbs.advance(31)
    assert await bbs.cells() == []  # upstream: the cell listing answers ResourceNotFound
    await bbs.converge()
    for guid in ("t1", "t2"):
        task = await bbs.task(guid)
        assert (task["state"], task["failed"], task["failure_reason"]) == ("Completed", True, CELL_DISAPPEARED)


async def test_s33_completed_tasks_expire_or_are_kicked(make_bbs: Factory, callbacks: Callbacks) -> None:
    """With T the last pass (3601 s): t1 completes at T-3601 s, t2 at T-11 s, t3 at T-1.5 s. t2 and t3 are
    completed by convergence (pending expiry), whose callbacks are not submitted at once (b.4 step 6 note);
    t3 at T-1.5 s rather than T-1 s, so that the pass completing it finds t2 not yet older than the kick."""
    bbs = await make_bbs(bbs_kick_s=10, bbs_expire_completed_s=3600, bbs_expire_pending_s=5, **BY_HAND)
    async with bbs.events() as events:
        await bbs.given("Completed", "t1")
        bbs.at(3584)
        await bbs.desire("t2", completion_callback_url=callbacks.url("t2"))
        bbs.at(3590)
        await bbs.converge()
        bbs.at(3594)
        await bbs.desire("t3", completion_callback_url=callbacks.url("t3"))
        bbs.at(3599.5)
        await bbs.converge()
        t3 = await bbs.task("t3")
        assert [(await bbs.task(g))["state"] for g in ("t1", "t2", "t3")] == ["Completed"] * 3
        assert callbacks.received == []

        since = await events.mark()
        bbs.at(3601)
        await bbs.converge()
        await bbs.missing("t1")
        (removed,) = await events.of("t1", 1, since)
        assert removed.kind == "task_removed"
        (post,) = await callbacks.wait_posts("t2", 1)
        assert post.json()["task_guid"] == "t2"
        await bbs.wait_gone("t2")
        await asyncio.sleep(SETTLE)
        assert await bbs.task("t3") == t3
        assert callbacks.posts("t3") == []


async def resolving_after_failed_callbacks(bbs: Bbs, callbacks: Callbacks, guid: str, *statuses: int
                                           ) -> dict[str, Any]:
    """A task left Resolving by a callback target that answered 503 three times (b.5 step 5)."""
    await bbs.given("Running", guid, cell="cell-1", completion_callback_url=callbacks.url(guid, *statuses))
    await bbs.complete(guid, "cell-1")
    await callbacks.wait_posts(guid, 3)
    task: dict[str, Any] = await bbs.wait_state(guid, "Resolving")
    return task


async def test_s34_resolving_tasks_are_demoted_after_the_kick(make_bbs: Factory, callbacks: Callbacks) -> None:
    bbs = await make_bbs(bbs_kick_s=10, **BY_HAND)
    async with bbs.events() as events:
        t1 = await resolving_after_failed_callbacks(bbs, callbacks, "t1", 503, 503, 503, 200)
        bbs.at(10)
        t2 = await resolving_after_failed_callbacks(bbs, callbacks, "t2", 503)
        bbs.at(11)  # t1 Resolving since now-11 s, t2 since now-1 s
        since = await events.mark()
        await bbs.converge()
        history = await events.of("t1", 3, since)
        assert [e.states for e in history] == [("Resolving", "Completed"), ("Completed", "Resolving"),
                                               ("Resolving", None)]
        assert history[0].data["after"] == {**t1, "state": "Completed"}  # updated_at unchanged
        await bbs.wait_gone("t1")
        assert len(callbacks.posts("t1")) == 4  # submitted for callback in the same pass
        await asyncio.sleep(SETTLE)
        assert await bbs.task("t2") == t2
        assert len(callbacks.posts("t2")) == 3


async def test_s34_an_expired_resolving_task_is_demoted_then_deleted(make_bbs: Factory,
                                                                     callbacks: Callbacks) -> None:
    bbs = await make_bbs(bbs_kick_s=10, bbs_expire_completed_s=60, **BY_HAND)
    async with bbs.events() as events:
        await resolving_after_failed_callbacks(bbs, callbacks, "t1", 503)
        since = await events.mark()  # before the clock moves: what it sets off counts too
        bbs.at(61)
        await bbs.converge()
        await bbs.missing("t1")
        history = await events.of("t1", 2, since)
        assert [(e.kind, e.states) for e in history] == [("task_changed", ("Resolving", "Completed")),
                                                         ("task_removed", ("Completed", None))]
        await asyncio.sleep(SETTLE)
        assert len(callbacks.posts("t1")) == 3  # deleted (step 5) before any kick (step 6)


async def test_s35_convergence_runs_every_interval(make_bbs: Factory) -> None:
    bbs = await make_bbs(bbs_converge_interval_s=30, bbs_expire_pending_s=10)
    await bbs.desire("t1")
    bbs.at(11)
    await asyncio.sleep(SETTLE)
    assert (await bbs.task("t1"))["state"] == "Pending"  # expired, but no pass is due yet
    bbs.at(30)
    assert (await bbs.wait_state("t1", "Completed"))["failure_reason"] == NOT_STARTED

    await bbs.desire("t2")
    bbs.at(41)
    await asyncio.sleep(SETTLE)
    assert (await bbs.task("t2"))["state"] == "Pending"
    bbs.at(60)
    assert (await bbs.wait_state("t2", "Completed"))["failure_reason"] == NOT_STARTED


async def test_s35_convergence_runs_when_a_cell_disappears(make_bbs: Factory) -> None:
    bbs = await make_bbs(bbs_converge_interval_s=1000, bbs_cell_ttl_s=30)
    await bbs.given("Running", "t1", cell="lost-cell")
    kept = await bbs.given("Running", "t2", cell="kept-cell")
    await bbs.heartbeat("kept-cell", 3600)
    bbs.at(31)  # lost-cell is gone; the next timed pass is ~1000 s away
    t1 = await bbs.wait_state("t1", "Completed")
    assert (t1["failed"], t1["failure_reason"], t1["updated_at"]) == (True, CELL_DISAPPEARED, bbs.now_ns())
    assert await bbs.task("t2") == kept


async def _event_kinds(bbs: Bbs) -> list[str]:
    async with bbs.app.state.store.reader() as s:
        return [row[0] for row in await s.fetchall("SELECT kind FROM bbs_events ORDER BY seq", ())]


async def test_the_event_log_keeps_bbs_event_retention_s(make_bbs: Factory) -> None:
    """Retention (issue 17): a convergence pass deletes the task events older than the setting."""
    bbs = await make_bbs(bbs_event_retention_s=60, **BY_HAND)
    await bbs.desire("old")
    bbs.at(45)
    await bbs.desire("new")
    bbs.at(61)  # "old"'s event is 61 s old, "new"'s 16 s
    await bbs.converge()
    assert await _event_kinds(bbs) == ["task_created"]
    assert (await bbs.task("old"))["state"] == "Pending"  # the task itself is not an event: kept
    bbs.at(106)
    await bbs.converge()
    assert await _event_kinds(bbs) == []


async def _expiry(bbs: Bbs, cell: str) -> int:
    """When the cell's presence lapses, in ms of the server's clock, as stored (the protobuf answer of
    cells/list.r1 does not say)."""
    async with bbs.app.state.store.reader() as s:
        row = await s.fetchone("SELECT expires_at FROM bbs_cells WHERE cell_id = ?", (cell,))
    assert row is not None, f"{cell} was never present"
    return int(row[0])


async def test_a_call_keeps_its_cell_present_for_the_ttl_and_writes_only_past_the_margin(make_bbs: Factory) -> None:
    """A call naming a cell makes it present for the TTL from the call; a busy cell's calls write its
    presence only once a fiftieth of the TTL has gone by since the last write (which made it present
    that much longer); a heartbeat's own TTL is written as it is, and never shortened by a call."""
    bbs = await make_bbs(bbs_cell_ttl_s=30, **BY_HAND)
    ttl, margin = 30_000, 600
    assert await bbs.offers("busy") == []
    first = bbs.clock.now()
    assert await _expiry(bbs, "busy") == first + ttl + margin
    for step in (100, 250, 249):  # within the margin: nothing written, present past each call's TTL
        bbs.clock.advance(step)
        assert await bbs.offers("busy") == []
        assert await _expiry(bbs, "busy") == first + ttl + margin >= bbs.clock.now() + ttl
    bbs.clock.advance(2)  # past it: written again, a margin ahead
    assert await bbs.offers("busy") == []
    assert await _expiry(bbs, "busy") == bbs.clock.now() + ttl + margin
    await bbs.heartbeat("busy", 3600)
    long = bbs.clock.now() + 3_600_000
    assert await _expiry(bbs, "busy") == long
    bbs.clock.advance(5_000)
    assert await bbs.offers("busy") == [] and await _expiry(bbs, "busy") == long


async def test_the_presences_remembered_are_bounded(make_bbs: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past KNOWN_CELLS presences the server forgets (a lapsed one first): a forgotten cell's next
    call writes its presence again, and every cell stays present all along."""
    monkeypatch.setattr(cells_service, "KNOWN_CELLS", 4)
    bbs = await make_bbs(bbs_cell_ttl_s=30, **BY_HAND)
    remembered = bbs.app.state.bbs.cells._present_until
    for k in range(10):
        assert await bbs.offers(f"cell-{k}") == []
        assert len(bbs.app.state.bbs.cells._present_until) <= 4
    assert await bbs.cells() == sorted(f"cell-{k}" for k in range(10))
    assert remembered is not bbs.app.state.bbs.cells._present_until  # forgotten, not grown
    before = await _expiry(bbs, "cell-0")
    bbs.clock.advance(100)
    assert await bbs.offers("cell-0") == [] and await _expiry(bbs, "cell-0") == bbs.clock.now() + 30_600 > before
