"""The CLI's own entries in the audit trail: who is the OS user (`cli:<user>`), from the host's
name, with no HTTP status.

A command whose change is one unit of work writes its entry in that unit, so both commit together:

    async with store.unit() as s:
        ...  # the change
        await insert_entry(s, cli_entry("keys revoke", [key_id]))

`record_cli` writes an entry in a unit of its own, for a command that has no unit to share.
"""

from __future__ import annotations

import getpass
import os
import socket
import time
from collections.abc import Sequence

from podium.ids import new_id
from podium.model.audit import AuditEntry, Outcome
from podium.store.audit import insert_entry
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
