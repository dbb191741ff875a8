"""Records API and UI calls in the audit trail: a pure ASGI middleware, outside the worker lane.

Each request that may change state gets a `Pending` entry in its context (`podium.store.pending`);
whether the call is audited at all is decided once it is routed (`policy.audited`, by the route
template that FastAPI, or the worker lane, leaves in `scope["route"]`). The first unit of work of
an audited call writes the entry in its own transaction, with the route's usual status as a
provisional one and the outcome `applied`. Once the call has answered:

- an entry written with its change keeps it, its status corrected if the answer was another;
- a call that committed nothing (refused with a 4xx, or a UI page that reported an error) has its
  entry written alone, `refused` when the status is 400 or more, else `applied`.

A call that is not audited costs a context variable, a wrapped `send` and two dictionary lookups,
and no database work.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from podium.audit.policy import audited
from podium.auth.principal import principal_of
from podium.ids import new_id
from podium.logs import failed
from podium.model.audit import AuditEntry, Outcome
from podium.service.clock import Clock
from podium.store.audit import insert_entry, settle_entry
from podium.store.pending import PENDING, Pending
from podium.store.port import Store

log = logging.getLogger(__name__)

UNAUDITED_METHODS = frozenset({"HEAD", "OPTIONS"})


class AuditMiddleware:
    def __init__(self, app: ASGIApp, *, clock: Clock, worker_calls: bool = False) -> None:
        self.app = app
        self.clock = clock
        self.worker_calls = worker_calls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in UNAUDITED_METHODS:
            await self.app(scope, receive, send)
            return
        at = self.clock.now()
        pending = Pending(lambda p: self.draft(scope, p, at))
        status = 500  # what the client gets if the app fails before answering

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
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
        await self.settle(scope, pending, at, status)
        if failure is not None:
            raise failure

    def draft(self, scope: Scope, pending: Pending, at: int) -> AuditEntry | None:
        """The call's entry as written with its change; None when the call is not audited."""
        route = scope.get("route")
        template = getattr(route, "path", None)
        method = scope["method"]
        if not isinstance(template, str) or not audited(method, template, worker_calls=self.worker_calls):
            return None
        principal = principal_of(scope)
        params: dict[str, Any] = scope.get("path_params") or {}
        targets = tuple(dict.fromkeys([*(str(v) for v in params.values()), *pending.targets]))
        client = scope.get("client")
        return AuditEntry(id=new_id(), at=at, key_id=principal.key_id, who=principal.name,
                          action=f"{method} {template}", path=scope["path"], targets=targets,
                          status=getattr(route, "status_code", None) or 200, outcome=Outcome.APPLIED,
                          address=str(client[0]) if client else "")

    async def settle(self, scope: Scope, pending: Pending, at: int, answered: int) -> None:
        """Once the call has answered: correct the status of the entry written with its change, or
        write the entry of a call that committed nothing."""
        status = pending.status or answered
        written = pending.entry
        if written is not None and written.status == status:
            return
        entry = written or self.draft(scope, pending, at)
        store = _store(scope)
        if entry is None or store is None:
            return
        outcome = Outcome.APPLIED if written is not None or status < 400 else Outcome.REFUSED
        try:
            async with store.unit() as s:
                if written is not None:
                    await settle_entry(s, written.id, status, outcome)
                else:
                    await insert_entry(s, dataclasses.replace(entry, status=status, outcome=outcome))
        except Exception as exc:
            failed(log, "audit entry not written", exc, action="audit_error", audit_action=entry.action,
                   path=entry.path, status=status)


def _store(scope: Scope) -> Store | None:
    app = scope.get("app")
    found = getattr(getattr(app, "state", None), "store", None)
    return found if isinstance(found, Store) else None
