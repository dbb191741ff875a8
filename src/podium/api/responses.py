"""Fast responses shared by the dialects: JSON through orjson, plain text, empty bodies."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class Json(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def text(value: str | int, status_code: int = 200) -> Response:
    return Response(str(value), status_code=status_code, media_type="text/plain")


def empty(status_code: int = 200) -> Response:
    return Response(b"", status_code=status_code)
