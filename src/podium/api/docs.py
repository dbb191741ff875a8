"""OpenAPI helpers for the dialects whose routes read their request themselves (BBS, TANGO, SIGMA,
TNC-O): the JSON body a route reads and the answers it gives, so that `/openapi.json` says what
each route takes and answers (and a fuzzer can try it)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

JsonSchema = dict[str, Any]
STRING: JsonSchema = {"type": "string"}
INTEGER: JsonSchema = {"type": "integer"}
BOOLEAN: JsonSchema = {"type": "boolean"}
OBJECT: JsonSchema = {"type": "object"}


def array(items: JsonSchema) -> JsonSchema:
    return {"type": "array", "items": items}


def body_schema(properties: dict[str, JsonSchema] | None = None, *, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """`openapi_extra` for a route that reads a JSON object with these properties."""
    schema: JsonSchema = {"type": "object", "properties": properties or {}}
    if required:
        schema["required"] = list(required)
    return {"requestBody": {"required": bool(required), "content": {"application/json": {"schema": schema}}}}


def answers(error_model: type, errors: dict[int, str], *, success: dict[int, str] | None = None,
            body: JsonSchema = OBJECT, empty: tuple[int, ...] = ()) -> dict[str, Any]:
    """Route keyword arguments documenting `success` (status: description, with a JSON `body`),
    `empty` (statuses answered with no body) and `errors` (status: description, each `error_model`)."""
    responses: dict[int | str, dict[str, Any]] = {
        status: {"description": text, "content": {"application/json": {"schema": body}}}
        for status, text in (success or {200: "Done"}).items()}
    responses |= {status: {"description": "Done (no content)"} for status in empty}
    responses |= {status: {"model": error_model, "description": text} for status, text in errors.items()}
    return {"response_class": Response, "responses": responses}


def query(*names: str) -> dict[str, Any]:
    """`openapi_extra` for a route that reads these optional text query parameters itself."""
    return {"parameters": [{"name": name, "in": "query", "required": False, "schema": STRING} for name in names]}
