"""One entry of the audit trail: who made a state-changing call, what, about which ids, when, from
where, and how it ended."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    APPLIED = "applied"  # the change committed (the entry went in with it), or the call answered < 400
    REFUSED = "refused"  # nothing was written and the call was refused (an answer >= 400, a UI error)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: str  # unique; (at, id) is the key
    at: int  # epoch ms
    key_id: str | None  # None: anonymous, or the CLI
    who: str  # the key's name, "anonymous", or "cli:<OS user>"
    action: str  # "PUT /api/workflow/{workflow_id}/pause", "cli: secrets set"
    path: str  # the path called ("" for the CLI)
    targets: tuple[str, ...]  # the path parameters' values, then any id the call noted
    status: int | None  # the HTTP status; None for the CLI
    outcome: Outcome
    address: str  # the client's address; the host name for the CLI

    @property
    def call(self) -> str:
        """The call as made: "PUT /api/workflow/abc/pause" (or the CLI's action)."""
        return f"{self.action.split(' ', 1)[0]} {self.path}" if self.path else self.action

    def to_wire(self) -> dict[str, Any]:
        return {"id": self.id, "time": self.at, "keyId": self.key_id, "who": self.who, "action": self.action,
                "path": self.path, "targets": list(self.targets), "status": self.status,
                "outcome": self.outcome.value, "address": self.address}
