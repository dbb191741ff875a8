"""What the Conductor routes document in `/openapi.json`: the answers they give, no others.

Every `/api` router documents `ERRORS` (Conductor's error body, for each status a route of the
dialect can answer); a route whose success is not a JSON body says so with `TEXT` (the bare id or
value as `text/plain`), `EMPTY` (Conductor's void endpoints: 200 with an empty body) or
`NO_CONTENT` (204), and `MAYBE_NONE` adds the 204 of a route that answers JSON or nothing.
FastAPI's own 422 is never answered (validation errors are Conductor's 400s): `openapi.install`
drops it, and adds `ConductorError` to the document's schemas as `ErrorResponse`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from starlette.responses import PlainTextResponse, Response


class FieldErrorBody(BaseModel):
    path: str
    message: str
    invalidValue: Any = None


class ConductorError(BaseModel):
    """Conductor's error body (ErrorResponse.java); nulls are left out."""

    model_config = ConfigDict(extra="allow", title="ErrorResponse")

    status: int
    message: str
    instance: str | None = None
    retryable: bool
    validationErrors: list[FieldErrorBody] | None = None


def _error(description: str) -> dict[str, Any]:
    # The schema by reference, not `model=`: FastAPI would document a model under the route's own
    # media type (text/plain on TEXT routes), where errors are always JSON. `openapi.install` adds it.
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}


ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error("Bad input: malformed or unkeepable JSON, a wrong type, an invalid value or parameter"),
    404: _error("No such workflow, task, definition or schedule"),
    409: _error("The state of what is named forbids the request"),
    413: _error("The request body, or a payload it carries, is over the configured limit"),
    500: _error("An unexpected failure; nothing was applied"),
    503: _error("The database is unavailable; retryable"),
}

TEXT: dict[str, Any] = {"response_class": PlainTextResponse}
EMPTY: dict[str, Any] = {"response_class": Response, "responses": {200: {"description": "Done (an empty body)"}}}
NO_CONTENT: dict[str, Any] = {"response_class": Response, "status_code": 204,
                              "responses": {204: {"description": "Done (no content)"}}}
MAYBE_NONE: dict[str, Any] = {"responses": {204: {"description": "Nothing to return"}}}
