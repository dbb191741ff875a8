"""The audit trail in the store: a request's pending entry goes into the first unit of work of its
own task that commits, once, in that unit's transaction; a unit that rolls back takes it with it;
no other task ever carries it. Rows are searched by target and trimmed by age."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from podium.ids import new_id
from podium.model.audit import AuditEntry, Outcome
from podium.store import Store
from podium.store.audit import delete_entries_before, entries_about, insert_entry, search_entries, settle_entry
from podium.store.executions import get_execution, insert_execution
from podium.store.pending import PENDING, Pending, carry, note_targets
from tests.store.test_contract import execution


def entry(at: int = 1000, targets: tuple[str, ...] = ("w1",), **kw: object) -> AuditEntry:
    base = dict(id=new_id(), at=at, key_id="k1", who="ops", action="PUT /api/workflow/{workflow_id}/pause",
                path="/api/workflow/w1/pause", targets=targets, status=200, outcome=Outcome.APPLIED,
                address="10.0.0.1")
    base.update(kw)
    return AuditEntry(**base)  # type: ignore[arg-type]


class Drafted(Pending):
    """A request's pending entry: audited (its entry names `w1`) or not."""

    __slots__ = ("audited",)

    def __init__(self, audited: bool = True) -> None:
        super().__init__()
        self.audited = audited

    def draft(self) -> AuditEntry | None:
        return entry(targets=("w1", *self.targets)) if self.audited else None


@contextmanager
def requested(audited: bool = True) -> Iterator[Pending]:
    """A request's pending entry in the current context, as the audit middleware sets it (in the
    task that serves the request)."""
    found = Drafted(audited)
    token = PENDING.set(found)
    try:
        yield found
    finally:
        PENDING.reset(token)


async def _all(store: Store) -> list[AuditEntry]:
    async with store.reader() as s:
        return (await search_entries(s, "", (), 0, 100))[1]


async def test_an_entry_round_trips_and_is_found_by_each_target(store: Store) -> None:
    written = entry(targets=("w1", "w2"), key_id=None, status=None)
    async with store.unit() as s:
        await insert_entry(s, written)
    assert await _all(store) == [written]
    async with store.reader() as s:
        assert await entries_about(s, "w2", 10) == [written]
        assert await entries_about(s, "w3", 10) == []


async def test_the_first_unit_carries_the_entry_with_its_change_and_only_once(store: Store) -> None:
    with requested() as pending:
        async with store.unit() as s:
            await insert_execution(s, execution("w1"))
            note_targets("new-id")
        async with store.unit() as s:
            await insert_execution(s, execution("w2"))
    found = await _all(store)
    assert len(found) == 1 and found[0] == pending.entry
    assert found[0].targets == ("w1", "new-id")


async def test_a_unit_that_rolls_back_takes_the_entry_with_it(store: Store) -> None:
    with requested() as pending:
        with pytest.raises(RuntimeError):
            async with store.unit() as s:
                await insert_execution(s, execution("w1"))
                raise RuntimeError("refused")
        assert pending.entry is None
        async with store.reader() as s:
            assert await get_execution(s, "w1") is None
        assert await _all(store) == []
        async with store.unit() as s:  # the next unit that commits carries it
            await insert_execution(s, execution("w2"))
    assert pending.entry is not None and await _all(store) == [pending.entry]


async def test_a_task_started_during_the_request_never_carries_its_entry(store: Store) -> None:
    async def background() -> None:  # inherits the context, and so the pending entry
        async with store.unit() as s:
            await insert_execution(s, execution("bg"))

    with requested() as pending:
        await asyncio.create_task(background())
    assert await _all(store) == []
    assert pending.entry is None


async def test_a_call_that_is_not_audited_writes_nothing(store: Store) -> None:
    with requested(audited=False):
        async with store.unit() as s:
            await insert_execution(s, execution("w1"))
            assert await carry(s) is None
    assert await _all(store) == []


async def test_old_entries_are_deleted_in_batches(store: Store) -> None:
    async with store.unit() as s:
        for at in (100, 200, 300, 400):
            await insert_entry(s, entry(at=at, targets=(f"w{at}",)))
    async with store.unit() as s:
        assert await delete_entries_before(s, 350, 2) == 2
    async with store.unit() as s:
        assert await delete_entries_before(s, 350, 2) == 1
    assert [e.at for e in await _all(store)] == [400]
    async with store.reader() as s:
        assert await entries_about(s, "w100", 10) == []
        assert [r[0] for r in await s.fetchall("SELECT target FROM audit_targets", ())] == ["w400"]


async def test_an_entry_is_settled_by_its_key(store: Store) -> None:
    written = entry()
    async with store.unit() as s:
        await insert_entry(s, written)
        await settle_entry(s, written, 404, Outcome.REFUSED)
    (found,) = await _all(store)
    assert (found.status, found.outcome) == (404, Outcome.REFUSED)
