"""Records API and UI calls in the audit trail: a pure ASGI middleware, outside the worker lane.

Each request that may change state gets a pending entry in its context (`podium.store.pending`);
whether the call is audited at all is decided once it is routed (`policy.audited`, by the route
template that FastAPI, or the worker lane, leaves in `scope["route"]`). The first unit of work of
an audited call writes the entry in its own transaction, with the route's usual status as a
provisional one and the outcome `applied`. Once the call has answered:

- an entry written with its change keeps it, its status corrected if the answer was another;
- a call that committed nothing (refused with a 4xx, or a UI page that reported an error) has its
  entry written alone, `refused` when the status is 400 or more, else `applied`.

Most calls that are not audited are seen to be so from their method and path alone
(`policy.may_be_audited`: reads, and the worker calls on literal paths, the hot ones) and pass
straight through; the rest pay for an object, a context variable and a wrapped `send` until they
are routed. None does any database work (costs: `bench/audit.py`).
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import os
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from podium.audit.policy import audited, may_be_audited
from podium.auth.principal import principal_of
from podium.logs import failed
from podium.model.audit import AuditEntry, Outcome
from podium.service.clock import Clock
from podium.store.audit import insert_entry, settle_entry
from podium.store.pending import PENDING, Pending
from podium.store.port import Store

log = logging.getLogger(__name__)

_sequence = itertools.count()
_process = os.urandom(6).hex()  # this process's part of every entry id it makes


def _new_process() -> None:
    global _process
    _process = os.urandom(6).hex()


os.register_at_fork(after_in_child=_new_process)


def entry_id() -> str:
    """An entry's id: unique between processes (a random part each) and in order within one (a
    sequence); an entry's key is (at, id). A UUID costs several times as much (a system call for
    its random bits each time), and this is on every audited call."""
    return f"{_process}-{next(_sequence):012x}"


def _route_path(scope: Scope) -> str:
    """The path the routes see (without the root path, as Starlette matches)."""
    path: str = scope["path"]
    root = scope.get("root_path")
    return path[len(root):] if root and path.startswith(root) else path


class RequestEntry(Pending):
    """The pending entry of one request: drafted from its scope once it is routed."""

    __slots__ = ("answered", "at", "scope", "worker_calls")

    def __init__(self, scope: Scope, at: int, worker_calls: bool) -> None:
        super().__init__()
        self.scope = scope
        self.at = at
        self.worker_calls = worker_calls
        self.answered = 500  # what the client gets if the app fails before answering

    def audited(self) -> bool:
        template = getattr(self.scope.get("route"), "path", None)
        return isinstance(template, str) and audited(self.scope["method"], template, worker_calls=self.worker_calls)

    def draft(self) -> AuditEntry | None:
        if not self.audited():
            return None
        scope = self.scope
        route, method = scope["route"], scope["method"]
        principal = principal_of(scope)
        params: dict[str, Any] = scope.get("path_params") or {}
        targets = tuple(dict.fromkeys([*(str(v) for v in params.values()), *self.targets]))
        client = scope.get("client")
        return AuditEntry(id=entry_id(), at=self.at, key_id=principal.key_id, who=principal.name,
                          action=f"{method} {route.path}", path=scope["path"], targets=targets,
                          status=getattr(route, "status_code", None) or 200, outcome=Outcome.APPLIED,
                          address=str(client[0]) if client else "")


class AuditMiddleware:
    def __init__(self, app: ASGIApp, *, clock: Clock, worker_calls: bool = False) -> None:
        self.app = app
        self.clock = clock
        self.worker_calls = worker_calls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not may_be_audited(scope["method"], _route_path(scope),
                                                         worker_calls=self.worker_calls):
            await self.app(scope, receive, send)
            return
        pending = RequestEntry(scope, self.clock.now(), self.worker_calls)

        async def sent(message: Message) -> None:
            if message["type"] == "http.response.start":
                pending.answered = message["status"]
            await send(message)

        failure: Exception | None = None
        token = PENDING.set(pending)
        try:
            await self.app(scope, receive, sent)
        except Exception as exc:  # recorded as the 500 the client gets, then raised on
            failure = exc
        finally:
            PENDING.reset(token)
            pending.owner = None  # no unit may carry the entry any more
        if pending.entry is not None or pending.audited():
            await settle(pending)
        if failure is not None:
            raise failure


async def settle(pending: RequestEntry) -> None:
    """Once the call has answered: correct the status of the entry written with its change, or
    write the entry of a call that committed nothing."""
    status = pending.status or pending.answered
    written = pending.entry
    if written is not None and written.status == status:
        return
    entry = written or pending.draft()
    store: Store | None = getattr(getattr(pending.scope.get("app"), "state", None), "store", None)
    if entry is None or store is None:
        return
    outcome = Outcome.APPLIED if written is not None or status < 400 else Outcome.REFUSED
    try:
        async with store.unit() as s:
            if written is not None:
                await settle_entry(s, written, status, outcome)
            else:
                await insert_entry(s, dataclasses.replace(entry, status=status, outcome=outcome))
    except Exception as exc:
        failed(log, "audit entry not written", exc, action="audit_error", audit_action=entry.action,
               path=entry.path, status=status)
