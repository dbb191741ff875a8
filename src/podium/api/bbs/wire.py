"""The BBS routes' two wires: protobuf, as upstream's Go `bbs.Client` and every Diego component speak
it (`Content-Type: application/x-protobuf`, upstream's request and response messages), and the JSON
mapping of the same messages. A request is answered on the wire it came on.

A protobuf request is decoded into the JSON shape the route reads, so both wires share one
validation; the answer is encoded from the JSON shape into the route's response message. The event
stream is protobuf by default, as upstream sends it (each event's data is the base64 of the
protobuf event), and JSON for a reader that asks for it with `Accept: application/json`.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Scope

from podium.api import jsonbody
from podium.model.bbs import BbsError, ErrorType, bad_request
from podium.model.diego import codec
from podium.model.diego.routes import EVENTS, MESSAGES
from podium.model.diego.task_requests_pb2 import TaskLifecycleResponse

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


def is_protobuf(scope: Scope) -> bool:
    """The request's body is declared protobuf."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bool(value.split(b";", 1)[0].strip().lower() == PROTOBUF.encode())
    return False


def wants_json_events(scope: Scope) -> bool:
    """The event stream's reader asked for JSON events."""
    return any(name == b"accept" and JSON.encode() in value.lower() for name, value in scope["headers"])


def decode(path: str, raw: bytes) -> dict[str, Any]:
    """A protobuf request body as the JSON object the route reads; `InvalidRequest` "the request
    received is invalid" when it does not decode as the route's request message."""
    kind = MESSAGES[path][0]
    message = kind()
    try:
        message.ParseFromString(raw)
    except Exception:  # DecodeError, or a recursion limit: upstream's ErrBadRequest either way
        raise bad_request() from None
    data = codec.to_dict(message)
    if b"\x00" in raw and _has_nul(data):  # as JSON refuses it: PostgreSQL's text cannot hold one
        raise BbsError(ErrorType.INVALID_REQUEST, jsonbody.HAS_NUL)
    return data


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def render(path: str, body: dict[str, Any], *, protobuf: bool, status: int = 200) -> Response:
    """A route's answer on the request's wire."""
    if not protobuf:
        return Response(orjson.dumps(body), status_code=status, media_type=JSON)
    kind = MESSAGES[path][1] if path in MESSAGES else TaskLifecycleResponse
    return Response(codec.from_dict(body, kind).SerializeToString(), status_code=status, media_type=PROTOBUF)


def too_large(scope: Scope, message: str) -> tuple[bytes, bytes]:
    """The body limit's refusal of a BBS request (HTTP 413): an InvalidRequest saying what the limit
    is, on the request's wire."""
    error = {"error": BbsError(ErrorType.INVALID_REQUEST, message).to_wire()}
    if is_protobuf(scope):
        kind = MESSAGES.get(scope["path"], (None, TaskLifecycleResponse))[1]
        return PROTOBUF.encode(), codec.from_dict(error, kind).SerializeToString()
    return JSON.encode(), orjson.dumps(error)


def event_data(kind: str, body: str, *, json: bool) -> str:
    """An event's SSE `data`: its JSON, or the base64 of its protobuf message."""
    if json:
        return body
    message = codec.from_dict(orjson.loads(body), EVENTS[kind])
    return base64.b64encode(message.SerializeToString()).decode()
