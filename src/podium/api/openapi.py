"""The app's `/openapi.json`, made to say what the routes answer.

FastAPI adds a 422 (and its HTTPValidationError schema) to every route with parameters; Podium
never answers 422 (Conductor's validation errors are 400s, each dialect has its own), so both are
dropped. Each dialect documents its own errors on its routers (`api.conductor.docs`, and the
`responses=` of the BBS, TANGO, SIGMA and TNC-O routers). Every state-changing operation may also
answer 403 and 415 (`api.media`: a page of another site, a body that is not JSON), in the shape of
its 400; BBS, whose 400s are HTTP 200, documents its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

_UNUSED_SCHEMAS = ("HTTPValidationError", "ValidationError")
_CHANGES = ("post", "put", "patch", "delete")
REFUSALS = {"403": "Refused: a browser page of another site sent it (its Origin is not this server's)",
            "415": "Refused: the body is not declared JSON (Content-Type application/json)"}


def install(app: FastAPI, models: Sequence[type[BaseModel]] = ()) -> None:
    """`models`: schemas that routes name by reference (`#/components/schemas/<title>`)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes)
            for item in schema.get("paths", {}).values():
                for method, operation in item.items():
                    operation.get("responses", {}).pop("422", None)
                    if method in _CHANGES:
                        _document_refusals(operation.get("responses", {}))
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            for name in _UNUSED_SCHEMAS:
                schemas.pop(name, None)
            for model in models:
                found = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(found.pop("$defs", {}))
                schemas[found["title"]] = found
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document_refusals(responses: dict[str, Any]) -> None:
    shape = responses.get("400", {}).get("content")
    if shape is None:
        return
    for status, text in REFUSALS.items():
        responses.setdefault(status, {"description": text, "content": shape})
