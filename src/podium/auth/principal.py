"""The caller of a request, as the guard found it: a key's id, name and role, or anonymous.

The guard middleware puts the principal in the ASGI scope under `SCOPE_KEY`; everything after it
(routes, the audit trail, the UI) reads it with `principal_of(scope)`. With `auth = off` every
caller is `ANONYMOUS`, who may do everything (the embedded, loopback-only default).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

SCOPE_KEY = "podium.principal"


class Role(StrEnum):
    ADMIN = "admin"  # everything, keys and secrets included
    OPERATOR = "operator"  # definitions, executions, schedules, processes, queues
    WORKER = "worker"  # poll, update, log and ack tasks; BBS cells; TANGO members; read task definitions
    VIEWER = "viewer"  # read only


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str | None  # None: anonymous (auth off)
    name: str
    role: Role


ANONYMOUS = Principal(None, "anonymous", Role.ADMIN)


def principal_of(scope: Mapping[str, Any]) -> Principal:
    found = scope.get(SCOPE_KEY)
    return found if isinstance(found, Principal) else ANONYMOUS
