"""The HTTP system task: one outbound call described by the task input, turned into a task outcome.

The request is ``inputParameters.http_request`` or, in the newer form, the same keys at the top level
of the input: ``uri`` (required, http or https), ``method`` (GET, POST, PUT, DELETE, OPTIONS, HEAD,
PATCH; default GET), ``headers``, ``body``, ``accept`` and ``contentType`` (default
application/json), ``connectionTimeOut`` and ``readTimeOut`` (ms, default 3000). ``vipAddress`` and
``appName`` are ignored. A string body is sent as is; a form content type with an object body is
form-encoded; any other body is JSON-encoded.

    outcome                                       status                        output / reason
    a 2xx response                                COMPLETED                     {"response": ...}
    any other response (3xx included)             FAILED                        {"response": ...}, the body
    no response: refused, DNS, timeout, reset     FAILED                        {}, what happened
    a body over max_payload_bytes                 FAILED                        {}, the limit
    a request that cannot be made: bad input,     FAILED_WITH_TERMINAL_ERROR    {}, why
    or a call the outbound policy refuses

``response`` is ``{statusCode, reasonPhrase, headers: {name: [values]}, body}``, the body JSON-parsed
when it parses, else text, ``None`` when empty.

The client (podium.outbound) judges every address it connects to by the outbound policy. Redirects
are never followed: a 3xx is an ordinary non-2xx response (the task fails with the ``location``
header in its output).

The response body is read as it arrives and no further than ``max_payload_bytes``: a larger one
fails the task and nothing of it is kept.
"""

from __future__ import annotations

import json
import math
import re
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from podium.errors import OutboundRefused
from podium.model.enums import TaskStatus

METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH"})
DEFAULT_TIMEOUT_MS = 3000
REASON_LIMIT = 1000
_JSON = "application/json"
_FORM = "application/x-www-form-urlencoded"
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")


class BadHttpRequest(ValueError):
    """The task input does not describe a request that can be made; retrying will not help."""


@dataclass(frozen=True, slots=True)
class HttpRequest:
    uri: str
    method: str
    headers: tuple[tuple[str, str], ...]
    body: Any
    accept: str
    content_type: str
    connect_timeout_s: float
    read_timeout_s: float

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def all_headers(self) -> list[tuple[str, str]]:
        """The given headers, plus Content-Type and Accept from ``contentType``/``accept`` if missing."""
        defaults = [("Content-Type", self.content_type), ("Accept", self.accept)]
        return list(self.headers) + [(k, v) for k, v in defaults if self.header(k) is None]

    def content(self) -> bytes | None:
        content_type = self.header("Content-Type") or self.content_type
        return encode_body(self.body, content_type)


@dataclass(frozen=True, slots=True)
class HttpOutcome:
    status: TaskStatus
    output: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None


def parse_request(task_input: dict[str, Any]) -> HttpRequest:
    spec = _request_spec(task_input)
    return HttpRequest(
        uri=_uri(spec.get("uri")),
        method=_method(spec.get("method")),
        headers=_headers(spec.get("headers")),
        body=spec.get("body"),
        accept=_text(spec, "accept", _JSON),
        content_type=_text(spec, "contentType", _JSON),
        connect_timeout_s=_timeout_s(spec, "connectionTimeOut"),
        read_timeout_s=_timeout_s(spec, "readTimeOut"),
    )


def _request_spec(task_input: dict[str, Any]) -> dict[str, Any]:
    """``http_request`` wins when present (Conductor's order); otherwise the input itself."""
    nested = task_input.get("http_request")
    if nested is None:
        return task_input
    if not isinstance(nested, dict):
        raise BadHttpRequest(f"http_request must be an object, got {_kind(nested)}")
    return nested


def _uri(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadHttpRequest("HTTP task needs a uri (a non-empty string)")
    try:
        url = httpx.URL(value.strip())
    except httpx.InvalidURL as exc:
        raise BadHttpRequest(f"Invalid uri {value!r}: {exc}") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise BadHttpRequest(f"Invalid uri {value!r}: must be an absolute http:// or https:// URL")
    return str(url)


def _method(value: Any) -> str:
    if value is None:
        return "GET"
    method = value.upper() if isinstance(value, str) else None
    if method not in METHODS:
        raise BadHttpRequest(f"Unsupported HTTP method {value!r}; use one of {', '.join(sorted(METHODS))}")
    return method


def _headers(value: Any) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise BadHttpRequest(f"headers must be an object, got {_kind(value)}")
    return tuple((_header_name(k), _header_value(k, v))
                 for k, values in value.items()
                 for v in (values if isinstance(values, list) else [values]) if v is not None)


def _header_name(name: Any) -> str:
    if not isinstance(name, str) or not _TOKEN.fullmatch(name):
        raise BadHttpRequest(f"Invalid header name {name!r}")
    return name


def _header_value(name: str, value: Any) -> str:
    if isinstance(value, dict | list):
        raise BadHttpRequest(f"Header {name!r} must be a string, number or boolean, got {_kind(value)}")
    text = _scalar_text(value)
    if not _HEADER_VALUE.fullmatch(text):
        raise BadHttpRequest(f"Header {name!r} has a value with control or non-ASCII characters")
    return text


def _text(spec: dict[str, Any], key: str, default: str) -> str:
    value = spec.get(key)
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        raise BadHttpRequest(f"{key} must be a string, got {_kind(value)}")
    return value


def _timeout_s(spec: dict[str, Any], key: str) -> float:
    value = spec.get(key)
    if value is None:
        return DEFAULT_TIMEOUT_MS / 1000
    try:
        if isinstance(value, bool):
            raise ValueError
        ms = float(value)
    except (TypeError, ValueError):
        raise BadHttpRequest(f"{key} must be a number of milliseconds, got {value!r}") from None
    if not math.isfinite(ms) or ms <= 0:
        raise BadHttpRequest(f"{key} must be a positive number of milliseconds, got {value!r}")
    return ms / 1000


def encode_body(body: Any, content_type: str) -> bytes | None:
    if body is None:
        return None
    if isinstance(body, str):
        return body.encode()
    if content_type.split(";", 1)[0].strip().lower() != _FORM:
        return _json(body).encode()
    if not isinstance(body, dict):
        raise BadHttpRequest(f"A {_FORM} body must be an object or a string, got {_kind(body)}")
    pairs = [(k, _form_value(v)) for k, values in body.items()
             for v in (values if isinstance(values, list) else [values])]
    return urlencode(pairs).encode()


def _form_value(value: Any) -> str:
    return _json(value) if isinstance(value, dict | list) else _scalar_text(value)


def _json(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise BadHttpRequest(f"The body cannot be sent as JSON: {exc}") from exc


def _scalar_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _kind(value: Any) -> str:
    kinds = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number",
             float: "a number", type(None): "null"}
    return kinds.get(type(value), type(value).__name__)


async def call(task_input: dict[str, Any], client: httpx.AsyncClient, max_body_bytes: int) -> HttpOutcome:
    """Make the call the task input describes. Never raises for bad input, a refused call or network
    trouble."""
    try:
        request = parse_request(task_input)
        outgoing = _build(client, request)
    except BadHttpRequest as exc:
        return HttpOutcome(TaskStatus.FAILED_WITH_TERMINAL_ERROR, reason=str(exc))
    try:
        response = await client.send(outgoing, follow_redirects=False, stream=True)
        try:
            body = await read_body(response, max_body_bytes)
        finally:
            await response.aclose()
    except OutboundRefused as exc:
        return HttpOutcome(TaskStatus.FAILED_WITH_TERMINAL_ERROR, reason=exc.message)
    except httpx.HTTPError as exc:
        return HttpOutcome(TaskStatus.FAILED, reason=_describe_failure(exc, request))
    if body is None:
        # Terminal, as every payload over the limit is (podium.engine.limits): a retry would fetch it again.
        return HttpOutcome(TaskStatus.FAILED_WITH_TERMINAL_ERROR,
                           reason=f"HTTP response body larger than {max_body_bytes} bytes (max_payload_bytes)")
    return outcome_of(response, body)


async def read_body(response: httpx.Response, limit: int) -> bytes | None:
    """The (decoded) body of a streamed response, or None as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _build(client: httpx.AsyncClient, request: HttpRequest) -> httpx.Request:
    timeout = httpx.Timeout(connect=request.connect_timeout_s, read=request.read_timeout_s,
                            write=request.read_timeout_s, pool=request.connect_timeout_s)
    try:
        return client.build_request(request.method, request.uri, headers=request.all_headers(),
                                    content=request.content(), timeout=timeout)
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise BadHttpRequest(f"Cannot build the request for {request.uri}: {exc}") from exc


_FAILURES: tuple[tuple[type[httpx.HTTPError], str], ...] = (
    (httpx.ConnectTimeout, "Connect timed out after {connect_ms} ms calling {uri}"),
    (httpx.ReadTimeout, "Read timed out after {read_ms} ms calling {method} {uri}"),
    (httpx.WriteTimeout, "Write timed out after {read_ms} ms calling {method} {uri}"),
    (httpx.PoolTimeout, "No free connection for {uri} within {connect_ms} ms"),
    (httpx.ConnectError, "Failed to connect to {uri}: {cause}"),
    (httpx.HTTPError, "HTTP call {method} {uri} failed: {cause}"),
)


def _describe_failure(exc: httpx.HTTPError, request: HttpRequest) -> str:
    template = next(t for kind, t in _FAILURES if isinstance(exc, kind))
    return template.format(uri=request.uri, method=request.method, cause=_cause(exc),
                           connect_ms=round(request.connect_timeout_s * 1000),
                           read_ms=round(request.read_timeout_s * 1000))


def _cause(exc: BaseException) -> str:
    """The most telling reason in the exception chain (httpx wraps httpcore wraps the OS error)."""
    seen: BaseException | None = exc
    for _ in range(16):
        if seen is None:
            break
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, socket.gaierror):
            return f"cannot resolve the host name ({seen.strerror})"
        if isinstance(seen, ConnectionResetError):
            return "connection reset by peer"
        if isinstance(seen, ssl.SSLError):
            return f"TLS error ({seen.reason or seen})"
        seen = seen.__cause__ or seen.__context__
    return str(exc) or type(exc).__name__


def outcome_of(response: httpx.Response, body: bytes) -> HttpOutcome:
    """A 2xx completes the task; any other status fails it, with the body as the reason."""
    text = body.decode(response.encoding or "utf-8", errors="replace")
    output = {"response": {
        "statusCode": response.status_code,
        "reasonPhrase": response.reason_phrase or httpx.codes.get_reason_phrase(response.status_code),
        "headers": _response_headers(response),
        "body": _response_body(text),
    }}
    if response.is_success:
        return HttpOutcome(TaskStatus.COMPLETED, output)
    text = text.strip()
    reason = text[:REASON_LIMIT] or f"HTTP {response.status_code} {output['response']['reasonPhrase']}"
    return HttpOutcome(TaskStatus.FAILED, output, reason)


def _response_headers(response: httpx.Response) -> dict[str, list[str]]:
    """``{name: [values]}``, names spelled as first sent, repeated headers merged case-insensitively."""
    grouped: dict[str, list[str]] = {}
    spelling: dict[str, str] = {}
    for raw_name, raw_value in response.headers.raw:
        name = raw_name.decode("latin-1")
        key = spelling.setdefault(name.lower(), name)
        grouped.setdefault(key, []).append(raw_value.decode("latin-1"))
    return grouped


def _response_body(text: str) -> Any:
    if not text:
        return None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        return text


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
