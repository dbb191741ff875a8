"""The current request's audit entry, waiting for the unit of work that carries it.

The audit middleware (`podium.audit.middleware`) puts a `Pending` in the context for each request
that may change state. Both adapters' `unit()` call `carry(session)` just before their transaction
(SQLite: savepoint) ends: the first unit of the request that gets there writes the entry, in that
same transaction, so a change never commits without its entry and a unit that rolls back takes its
entry with it (`dropped`). A request that committed nothing has its entry written alone once it
has answered.

Only the request's own task carries its entry: a task started during the request (which inherits
the context, and so this `Pending`) never does, so a background loop cannot write it into its own
transaction; and an entry is written at most once (`entry` is set before the first await).
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar

from podium.model.audit import AuditEntry
from podium.store.audit import insert_entry
from podium.store.session import Session


class Pending:
    """A request's audit entry, before it is written. The audit middleware's subclass drafts it."""

    __slots__ = ("entry", "owner", "status", "targets")

    def __init__(self) -> None:
        #: The task serving the request; None once the entry may no longer be carried.
        self.owner: asyncio.Task[object] | None = asyncio.current_task()
        #: The entry as a unit of work wrote it (None: not written, or rolled back).
        self.entry: AuditEntry | None = None
        #: Ids the handler named besides the path parameters (a started workflow, a bulk call's ids).
        self.targets: list[str] = []
        #: The status a handler reports for a call it refused but answers 200 (the UI's pages).
        self.status: int | None = None

    def draft(self) -> AuditEntry | None:
        """The entry to write now, as the change's; None when the call is not audited."""
        return None


PENDING: ContextVar[Pending | None] = ContextVar("podium_audit_pending", default=None)


def awaiting() -> bool:
    """Whether the current request may still have its entry written by the unit running now
    (which must then keep its statements in one transaction with it)."""
    pending = PENDING.get()
    return pending is not None and pending.owner is asyncio.current_task() and pending.entry is None


async def carry(s: Session) -> Pending | None:
    """Write the current request's entry in this unit's transaction, if it is due; returns the
    `Pending` it wrote, for `dropped` should the transaction not commit."""
    pending = PENDING.get()
    if pending is None or pending.owner is None or pending.entry is not None:
        return None
    if pending.owner is not asyncio.current_task():
        return None
    entry = pending.draft()
    if entry is None:
        pending.owner = None  # not audited: later units look no further
        return None
    pending.entry = entry
    try:
        await insert_entry(s, entry)
    except BaseException:
        pending.entry = None
        raise
    return pending


def dropped(pending: Pending | None) -> None:
    """The transaction that carried the entry did not commit: it is not written."""
    if pending is not None:
        pending.entry = None


def note_targets(*ids: str) -> None:
    """Name more ids the current call is about (a new id, the ids in a bulk call's body); they go
    into its entry if noted before the entry is written."""
    pending = PENDING.get()
    if pending is not None and pending.owner is asyncio.current_task():
        pending.targets.extend(ids)


def note_refused(status: int) -> None:
    """The current call was refused with this status though it answers 200 (a UI page showing the
    error); its entry records the refusal."""
    pending = PENDING.get()
    if pending is not None and pending.owner is asyncio.current_task():
        pending.status = status
