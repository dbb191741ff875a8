"""Reading a BBS request body and rendering an answer, on the request's wire (`wire`: protobuf or
JSON): every answer is HTTP 200, a failure is an `error` in the body (upstream
`handlers/handlers.go`); but a request that is neither JSON nor protobuf, or that a browser sent
from another site (`media.check`), is refused before it is read with HTTP 415 or 403 and the same
`error`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from podium.api import jsonbody, media
from podium.api.bbs import wire
from podium.errors import PodiumError
from podium.model.bbs import BbsError, ErrorType, bad_request, invalid, invalid_field, valid_guid
from podium.store.pending import note_refused

log = logging.getLogger(__name__)

#: The HTTP status the audit trail records for a refused call, by the BBS error's type.
REFUSED_AS = {ErrorType.INVALID_REQUEST: 400, ErrorType.RESOURCE_NOT_FOUND: 404, ErrorType.RESOURCE_EXISTS: 409,
              ErrorType.INVALID_STATE_TRANSITION: 409, ErrorType.RUNNING_ON_DIFFERENT_CELL: 409}


class Fields:
    """The request's JSON object (or its protobuf message, decoded into that shape), read field by
    field with protobuf's types: an absent field is its zero value, a field of the wrong type makes
    the whole request undecodable."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.errors: list[str] = []

    def text(self, name: str) -> str:
        return str(self._typed(name, str, ""))

    def flag(self, name: str) -> bool:
        return bool(self._typed(name, bool, False))

    def number(self, name: str, default: int) -> int:
        value = self.data.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad_request()
        return int(value)

    def obj(self, name: str) -> dict[str, Any] | None:
        value = self.data.get(name)
        if value is not None and not isinstance(value, dict):
            raise bad_request()
        return value

    def _typed(self, name: str, kind: type, zero: Any) -> Any:
        value = self.data.get(name)
        if value is None:
            return zero
        if not isinstance(value, kind):
            raise bad_request()
        return value

    # --- upstream's Validate() -----------------------------------------------------------------

    def guid(self, *, pattern: bool = True) -> str:
        guid = self.text("task_guid")
        if not (valid_guid(guid) if pattern else guid):
            self.errors.append("task_guid")
        return guid

    def required(self, name: str, *, reported_as: str | None = None) -> str:
        value = self.text(name)
        if not value:
            self.errors.append(reported_as or name)
        return value

    def check(self, more: Sequence[str] = ()) -> None:
        """Refuse the request if a rule failed: the fields noted so far, then `more` (messages)."""
        errors = [invalid_field(name) for name in self.errors] + list(more)
        if errors:
            raise invalid(errors)


async def fields(request: Request, protobuf: bool) -> Fields:
    try:
        raw = await request.body()
    except Exception as exc:  # the body cannot be read
        raise BbsError(ErrorType.UNKNOWN_ERROR, str(exc) or "the request body could not be read") from exc
    if protobuf:
        return Fields(wire.decode(request.scope["path"], raw))
    try:
        data = jsonbody.loads(raw) if raw.strip() else {}
    except jsonbody.BadJson as exc:  # upstream's words for a body it cannot decode; ours for one it cannot keep
        raise (bad_request() if exc.malformed else BbsError(ErrorType.INVALID_REQUEST, exc.message)) from None
    if not isinstance(data, dict):
        raise bad_request()
    return Fields(data)


async def handle(request: Request, operation: Callable[[Fields], Awaitable[dict[str, Any]]],
                 on_error: dict[str, Any] | None = None) -> Response:
    """Run one route: its answer, or its error in the body, with HTTP 200 (but a refusal)."""
    path, protobuf = request.scope["path"], wire.is_protobuf(request.scope)
    try:
        media.check(request.scope, protobuf=True)
    except (media.UnsupportedMediaType, media.ForeignOrigin) as exc:
        refused = BbsError(ErrorType.INVALID_REQUEST, exc.message)
        return wire.render(path, {**(on_error or {}), "error": refused.to_wire()}, protobuf=protobuf,
                           status=exc.status)
    try:
        return wire.render(path, await operation(await fields(request, protobuf)), protobuf=protobuf)
    except BbsError as exc:
        error = exc
    except PodiumError as exc:
        error = BbsError(ErrorType.UNKNOWN_ERROR, exc.public_message)
    except Exception:
        log.exception("BBS request failed", extra={"action": "bbs_request_error", "path": request.url.path})
        error = BbsError(ErrorType.UNKNOWN_ERROR, "the request could not be handled")
    note_refused(REFUSED_AS.get(error.type, 500))  # answered 200, as upstream does; the audit trail says why
    return wire.render(path, {**(on_error or {}), "error": error.to_wire()}, protobuf=protobuf)
