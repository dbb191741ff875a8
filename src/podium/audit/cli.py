"""The CLI's own entries in the audit trail: who is the OS user (`cli:<user>`), from the host's
name, with no HTTP status.

A command whose change is one unit of work writes its entry in that unit, so both commit together:

    async with store.unit() as s:
        ...  # the change
        await insert_entry(s, cli_entry("keys revoke", [key_id]))

`audited_command` does the same for a command that changes through a service: its entry rides the
first unit of work the command commits (`podium.store.pending`), or, if none commits, is written
alone once the command ends (`refused` if it raised). `record_cli` writes an entry in a unit of its
own, for a command that has no unit to share.
"""

from __future__ import annotations

import getpass
import os
import socket
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from podium.ids import new_id
from podium.model.audit import AuditEntry, Outcome
from podium.store.audit import insert_entry
from podium.store.pending import PENDING, Pending
from podium.store.port import Store


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return str(os.getuid())


def cli_entry(action: str, targets: Sequence[str] = (), outcome: Outcome = Outcome.APPLIED) -> AuditEntry:
    """The entry of a CLI command, e.g. `cli_entry("secrets set", ["NAME"])`."""
    return AuditEntry(id=new_id(), at=time.time_ns() // 1_000_000, key_id=None, who=f"cli:{os_user()}",
                      action=f"cli: {action}", path="", targets=tuple(targets), status=None, outcome=outcome,
                      address=socket.gethostname())


async def record_cli(store: Store, action: str, targets: Sequence[str] = (),
                     outcome: Outcome = Outcome.APPLIED) -> AuditEntry:
    """Record a CLI command in a unit of work of its own; returns the entry written."""
    entry = cli_entry(action, targets, outcome)
    async with store.unit() as s:
        await insert_entry(s, entry)
    return entry


class _CommandPending(Pending):
    def __init__(self, action: str, targets: Sequence[str]) -> None:
        super().__init__()
        self.action = action
        self.targets.extend(targets)

    def draft(self) -> AuditEntry | None:
        return cli_entry(self.action, self.targets)


@asynccontextmanager
async def audited_command(store: Store, action: str, targets: Sequence[str] = ()) -> AsyncIterator[None]:
    """Run a command's change with its entry in the change's own transaction (see the module's
    docstring); the change's service may name more targets (`pending.note_targets`)."""
    pending = _CommandPending(action, targets)
    token = PENDING.set(pending)
    refused = False
    try:
        yield
    except BaseException:
        refused = True
        raise
    finally:
        PENDING.reset(token)  # before any unit of our own: it must not carry the entry as applied
        if pending.entry is None:  # no unit of the command committed it
            await record_cli(store, action, pending.targets, Outcome.REFUSED if refused else Outcome.APPLIED)
