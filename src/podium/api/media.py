"""What a state-changing API request must look like to be served: a JSON body, from a client that
is not a browser page of another site.

A browser lets any page send some requests to any server without asking it first (no CORS
preflight): a form post, or a `fetch` whose Content-Type is `text/plain`,
`application/x-www-form-urlencoded` or `multipart/form-data`, or that has none (a Blob body). The
page cannot read the answer, but the request is served. So every POST, PUT, PATCH and DELETE of
every dialect (each route reads its request through `check`):

- **Content-Type.** A body must be declared JSON: `application/json` (any parameters, such as
  `charset=utf-8`) or `application/<something>+json`; the BBS routes also take
  `application/x-protobuf`, as upstream's clients send. Any other Content-Type is refused with 415,
  even on an empty body (a cross-site form post has one); a body with no Content-Type is refused
  too. A request with neither a body nor a Content-Type passes: a route that reads nothing (the
  JavaScript SDK sends none there).
- **Origin.** Browsers send `Origin` on every cross-origin POST, PUT, PATCH and DELETE (`null`
  from a sandboxed frame or a data: URL); the SDKs, `podium worker` and `podium agent` never send
  it. A request whose Origin is not the server's own (`web.origin`) nor a `trusted_origins` entry
  is refused with 403.

Each dialect renders both refusals in its own error shape. The check reads the request's headers
and nothing else: the worker lane pays one dict of them and a few lookups (about 1-2 us).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from podium.errors import PodiumError
from podium.web import origin

CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PROTOBUF = b"application/x-protobuf"


class UnsupportedMediaType(PodiumError):
    """A state-changing request whose body is not declared JSON (415)."""

    status = 415


class ForeignOrigin(PodiumError):
    """A state-changing request a browser sent from a page of another origin (403)."""

    status = 403


def is_json(content_type: bytes) -> bool:
    kind = _main(content_type)
    return kind == b"application/json" or (kind.startswith(b"application/") and kind.endswith(b"+json"))


def check(scope: Mapping[str, Any], *, protobuf: bool = False) -> None:
    """Raise `ForeignOrigin` or `UnsupportedMediaType` for a request the rules above refuse."""
    if scope["method"] not in CHANGES:
        return
    headers = dict(scope["headers"])
    sent_from = headers.get(b"origin")
    if sent_from is not None:
        _check_origin(scope, sent_from.decode("latin-1"))
    kind = headers.get(b"content-type")
    if kind is None:
        if headers.get(b"content-length", b"0").strip() not in (b"0", b"") or b"transfer-encoding" in headers:
            raise UnsupportedMediaType(_wanted("A request body without a Content-Type", protobuf))
        return
    if kind == b"application/json" or is_json(kind) or (protobuf and _main(kind) == PROTOBUF):
        return
    raise UnsupportedMediaType(_wanted(f"Content-Type {kind.decode('latin-1')!r} is not supported", protobuf))


def _main(content_type: bytes) -> bytes:
    """The media type without its parameters, lowercase."""
    return content_type.split(b";", 1)[0].strip().lower()


def _wanted(what: str, protobuf: bool) -> str:
    return f"{what}: send the body as application/json" + (" or application/x-protobuf" if protobuf else "")


def _check_origin(scope: Mapping[str, Any], sent_from: str) -> None:
    if origin.is_ours(scope, sent_from, _trusted(scope)):
        return
    raise ForeignOrigin(f"Request refused: it comes from a page of another site (Origin {sent_from}), and "
                        f"browser pages of other sites may not change anything here")


def _trusted(scope: Mapping[str, Any]) -> Collection[str]:
    app = scope.get("app")
    settings = getattr(getattr(app, "state", None), "settings", None)
    found: Collection[str] = getattr(settings, "trusted_origins", ())
    return found
